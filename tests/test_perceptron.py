"""Perceptron: DESIGN §8's worked example step by step, AND/OR/XOR, input checks."""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from mlpfast.perceptron import Perceptron

# The worked example, inputs written without the constant x0 = −1 (the
# threshold plays W0): W(0) = (0.5, 1, −1, 0), η = 0.1.
EX_X = np.array([[1.0, -2.0, 0.0], [0.0, 1.5, -0.5], [-1.0, 1.0, 0.5]])
EX_Y = np.array([-1, -1, 1])
TOL = dict(rtol=0, atol=1e-12)

BOOL_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
AND_Y = np.array([-1, -1, -1, 1])
OR_Y = np.array([-1, 1, 1, 1])
XOR_Y = np.array([-1, 1, 1, -1])


def augmented(p):
    """W = (threshold, w1, ..., wn), the course's notation."""
    return np.concatenate([[p.threshold], p.weights])


def worked_example_start():
    p = Perceptron(3, learning_rate=0.1, seed=0)
    p.threshold = 0.5
    p.weights = (1, -1, 0)
    return p


def test_worked_example_first_pass_sample_by_sample():
    p = worked_example_start()
    assert_allclose(augmented(p), [0.5, 1, -1, 0], **TOL)
    assert p.partial_fit(EX_X[0:1], EX_Y[0:1]) == 1
    assert_allclose(augmented(p), [0.7, 0.8, -0.6, 0], **TOL)        # W(1)
    assert p.partial_fit(EX_X[1:2], EX_Y[1:2]) == 0
    assert_allclose(augmented(p), [0.7, 0.8, -0.6, 0], **TOL)        # W(2) = W(1)
    assert p.partial_fit(EX_X[2:3], EX_Y[2:3]) == 1
    assert_allclose(augmented(p), [0.5, 0.6, -0.4, 0.1], **TOL)      # W(3)
    # cycling on: passes 2, 3, 4 still err, pass 5 is the first without error
    p.fit(EX_X, EX_Y, epochs=100)
    assert p.converged_ and p.n_epochs_ == 4
    assert_allclose(augmented(p), [0.3, -0.2, 0.3, 0.5], **TOL)


def test_worked_example_fit_converges_on_fifth_pass():
    p = worked_example_start()
    assert p.fit(EX_X, EX_Y, epochs=100) is p
    assert p.converged_ is True
    assert p.n_epochs_ == 5
    assert p.errors_ == [2, 2, 1, 2, 0]
    assert_allclose(augmented(p), [0.3, -0.2, 0.3, 0.5], **TOL)
    assert_array_equal(p.predict(EX_X), EX_Y)
    assert p.score(EX_X, EX_Y) == 1.0


def test_whole_first_pass_equals_w3():
    p = worked_example_start()
    assert p.partial_fit(EX_X, EX_Y) == 2
    assert_allclose(augmented(p), [0.5, 0.6, -0.4, 0.1], **TOL)


def test_epochs_bounds_the_passes():
    p = worked_example_start()
    p.fit(EX_X, EX_Y, epochs=3)
    assert p.n_epochs_ == 3 and p.converged_ is False and p.errors_ == [2, 2, 1]


@pytest.mark.parametrize("w, theta, y", [((0.5, 0.5), 0.75, AND_Y), ((1, 1), 0.5, OR_Y)])
def test_and_or_by_hand(w, theta, y):
    p = Perceptron(2)
    p.weights, p.threshold = w, theta
    assert_array_equal(p.predict(BOOL_X), y)
    assert p.predict(BOOL_X).dtype == np.int64
    assert p.partial_fit(BOOL_X, y) == 0                     # no error: nothing moves
    assert_allclose(p.weights, w, **TOL)
    assert p.threshold == theta


@pytest.mark.parametrize("y", [AND_Y, OR_Y], ids=["AND", "OR"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learns_and_or(y, seed):
    p = Perceptron(2, learning_rate=0.1, seed=seed).fit(BOOL_X, y, epochs=100)
    assert p.converged_ is True
    assert 1 <= p.n_epochs_ <= 100 and p.errors_[-1] == 0
    assert_array_equal(p.predict(BOOL_X), y)


def test_xor_does_not_converge():
    p = Perceptron(2, seed=0).fit(BOOL_X, XOR_Y, epochs=50)
    assert p.converged_ is False
    assert p.n_epochs_ == 50 and min(p.errors_) >= 1
    assert p.score(BOOL_X, XOR_Y) < 1.0


def test_net_zero_gives_minus_one():
    p = Perceptron(2)
    p.weights, p.threshold = (1, 1), 1.0
    assert_array_equal(p.predict([[0.5, 0.5], [0.5, 0.6]]), [-1, 1])


def test_net_zero_is_minus_one_in_training_too():
    # on the boundary (net = 0) the output is −1, so a −1 target there is no error
    p = Perceptron(2, learning_rate=0.5)
    p.weights, p.threshold = (1, 1), 1.0
    p.fit([[0.5, 0.5]], [-1], epochs=3)
    assert p.errors_ == [0] and p.n_epochs_ == 1 and p.converged_
    assert_array_equal(p.weights, [1, 1])
    assert p.threshold == 1.0


def test_seeded_initialisation():
    a, b, c = Perceptron(4, seed=7), Perceptron(4, seed=7), Perceptron(4, seed=8)
    assert_array_equal(a.weights, b.weights)
    assert a.threshold == b.threshold
    assert not np.array_equal(a.weights, c.weights)
    assert a.weights.dtype == np.float64 and a.weights.shape == (4,)
    assert np.all(np.abs(a.weights) <= 0.05) and abs(a.threshold) <= 0.05
    assert np.any(a.weights != 0)


def test_weights_assignment_copies():
    p = Perceptron(3)
    src = np.array([1.0, 2.0, 3.0])
    p.weights = src
    src[0] = 99
    assert_array_equal(p.weights, [1, 2, 3])
    p.threshold = np.float32(0.25)
    assert type(p.threshold) is float and p.threshold == 0.25


@pytest.mark.parametrize("value, exc, match", [
    ((1, 2), ValueError, r"weights must have shape \(3,\)"),
    ([[1, 2, 3]], ValueError, "weights must have shape"),
    (5.0, ValueError, "weights must have shape"),
    (["a", "b", "c"], TypeError, "weights must be numeric"),
    ((1, np.nan, 0), ValueError, "weights must be finite"),
])
def test_bad_weights(value, exc, match):
    p = Perceptron(3)
    before = p.weights.copy()
    with pytest.raises(exc, match=match):
        p.weights = value
    assert_array_equal(p.weights, before)


@pytest.mark.parametrize("value, exc, match", [
    ((1, 2), ValueError, "threshold must be a scalar"),
    ("x", TypeError, "threshold must be a real number"),
    (np.inf, ValueError, "threshold must be finite"),
])
def test_bad_threshold(value, exc, match):
    with pytest.raises(exc, match=match):
        Perceptron(3).threshold = value


@pytest.mark.parametrize("X", [
    [[0, 0], [0, 1], [1, 0], [1, 1]],                                  # list of ints
    BOOL_X.astype(np.float32),
    np.asfortranarray(BOOL_X.astype(np.float64)),
    np.repeat(BOOL_X.astype(np.float64), 2, axis=1)[:, ::2],           # strided view
], ids=["list", "float32", "fortran", "strided"])
def test_accepted_inputs(X):
    p = Perceptron(2)
    p.weights, p.threshold = (0.5, 0.5), 0.75
    assert_array_equal(p.predict(X), AND_Y)
    assert p.partial_fit(X, list(AND_Y)) == 0
    assert p.partial_fit(X, AND_Y.astype(np.float64)) == 0


@pytest.mark.parametrize("X, y, exc, match", [
    ([["a", "b"], ["c", "d"]], [1, -1], TypeError, "X must be numeric"),
    (np.zeros((2, 2), complex), [1, -1], TypeError, "X must be numeric"),
    ([[1, None], [0, 1]], [1, -1], TypeError, "X must be numeric"),
    ([0.0, 1.0], [1, -1], ValueError, "X must be 2-D"),
    (np.zeros((2, 2, 1)), [1, -1], ValueError, "X must be 2-D"),
    (np.zeros((0, 2)), [], ValueError, "X must not be empty"),
    (np.zeros((2, 3)), [1, -1], ValueError, r"X must have 2 columns"),
    ([[np.nan, 0], [0, 1]], [1, -1], ValueError, "X must be finite"),
    ([[np.inf, 0], [0, 1]], [1, -1], ValueError, "X must be finite"),
    (np.zeros((2, 2)), [1, 0], ValueError, "y must hold only -1 and \\+1"),
    (np.zeros((2, 2)), [1, 2], ValueError, "y must hold only"),
    (np.zeros((2, 2)), [1.0, 0.5], ValueError, "y must hold only"),
    (np.zeros((2, 2)), [1, -1, 1], ValueError, "y has 3 entries but X has 2 rows"),
    (np.zeros((2, 2)), [[1], [-1]], ValueError, "y must be 1-D"),
    (np.zeros((2, 2)), ["+", "-"], TypeError, "y must be numeric"),
])
@pytest.mark.parametrize("method", ["partial_fit", "fit"])
def test_bad_training_input(X, y, exc, match, method):
    p = Perceptron(2, seed=0)
    before = p.weights.copy()
    with pytest.raises(exc, match=match):
        getattr(p, method)(X, y)
    assert_array_equal(p.weights, before)


@pytest.mark.parametrize("X, exc, match", [
    ([["a", "b"]], TypeError, "X must be numeric"),
    (np.zeros((3, 1)), ValueError, "X must have 2 columns"),
    (np.zeros(2), ValueError, "X must be 2-D"),
])
def test_bad_predict_input(X, exc, match):
    with pytest.raises(exc, match=match):
        Perceptron(2).predict(X)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(n_inputs=0), ValueError, "n_inputs must be >= 1"),
    (dict(n_inputs=2.0), TypeError, "n_inputs must be an int"),
    (dict(n_inputs=True), TypeError, "n_inputs must be an int"),
    (dict(n_inputs=2, learning_rate=0), ValueError, "learning_rate must be a finite number > 0"),
    (dict(n_inputs=2, learning_rate=-0.1), ValueError, "learning_rate"),
    (dict(n_inputs=2, learning_rate=np.nan), ValueError, "learning_rate"),
    (dict(n_inputs=2, learning_rate="0.1"), TypeError, "learning_rate must be a real number"),
])
def test_bad_constructor_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Perceptron(**kwargs)


@pytest.mark.parametrize("epochs, exc", [(0, ValueError), (-1, ValueError), (2.5, TypeError)])
def test_bad_epochs(epochs, exc):
    with pytest.raises(exc, match="epochs"):
        Perceptron(2).fit(BOOL_X, AND_Y, epochs=epochs)
