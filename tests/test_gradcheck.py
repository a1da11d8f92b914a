"""gradcheck's arguments: every bad one is a TypeError or ValueError that names it,
never a ZeroDivisionError, a NumPy ufunc error or an AttributeError from inside."""
import numpy as np
import pytest

import mlpfast


def _problem():
    """A float64 tanh network and a batch on which its gradient is far from zero."""
    rng = np.random.default_rng(5)
    net = mlpfast.MLP([3, 4, 2], activation="tanh", loss="mse", dtype="float64", seed=0)
    return net, rng.uniform(-1, 1, (5, 3)), rng.standard_normal((5, 2))


@pytest.mark.parametrize("eps, exc", [
    (0, ValueError),                  # was ZeroDivisionError
    (0.0, ValueError),
    (-1e-6, ValueError),              # was accepted (a step of -eps is the same check)
    (float("nan"), ValueError),       # was accepted, returning NaN
    (float("inf"), ValueError),
    ("x", TypeError),                 # was a numpy UFuncTypeError
    (None, TypeError),
    (True, TypeError),                # a bool is not a step size
    (np.array([1e-6, 1e-6]), TypeError),
])
def test_bad_eps(eps, exc):
    net, X, y = _problem()
    with pytest.raises(exc, match="eps must be a"):
        mlpfast.gradcheck(net, X, y, eps=eps)


@pytest.mark.parametrize("net", [None, "net", mlpfast.Perceptron])
def test_net_must_be_an_mlp(net):
    _, X, y = _problem()
    with pytest.raises(TypeError, match="net must be an mlpfast MLP"):
        mlpfast.gradcheck(net, X, y)       # None was an AttributeError


def test_bad_batch_names_the_argument():
    net, X, y = _problem()
    with pytest.raises(ValueError, match="X must have 3 columns"):
        mlpfast.gradcheck(net, X[:, :2], y)
    with pytest.raises(ValueError, match="X must be finite"):
        mlpfast.gradcheck(net, np.full_like(X, np.nan), y)
    with pytest.raises(ValueError, match="y must have one row per sample of X"):
        mlpfast.gradcheck(net, X, y[:3])
    with pytest.raises(TypeError, match="y must hold real numbers"):
        mlpfast.gradcheck(net, X, "abc")


@pytest.mark.parametrize("eps", [1e-6, np.float32(1e-4), 1])
def test_valid_eps_of_any_real_type(eps):
    """Integers and NumPy scalars are steps too; a small step checks the gradient
    closely (the guard: it is not all zero), a step of 1 (truncation error of
    order eps² f''') finds a clear mismatch."""
    net, X, y = _problem()
    _, grads = net.loss_and_grads(X, y)
    assert max(np.abs(dW).max() for dW, _ in grads) > 1e-2, "gradient is all zero"
    error = mlpfast.gradcheck(net, X, y, eps=eps)
    assert error < 1e-6 if eps < 1e-3 else error > 1e-4
