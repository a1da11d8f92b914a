"""Losses: native vs reference (parity matrix), vs hand-computed values, vs an
independent oracle (PyTorch, when installed), the reference's dZ vs central
differences, extreme logits, thread invariance and argument checks."""
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from conftest import (DTYPES, SHAPES_2D, THREADS, THREADS_BITWISE, as64, assert_close,
                      random_array, tolerance)

LOSSES = ("softmax_cross_entropy", "mean_squared_error", "sigmoid_binary_cross_entropy")


def make_inputs(rng, name, shape, dtype):
    """(Z, target) for a loss: logits in [-4, 4) (MSE: values in [-1, 1)) and labels,
    real targets or soft 0..1 targets."""
    N, C = shape
    if name == "softmax_cross_entropy":
        return random_array(rng, shape, dtype, -4, 4), rng.integers(0, C, N)
    if name == "mean_squared_error":
        return random_array(rng, shape, dtype), random_array(rng, shape, dtype)
    return random_array(rng, shape, dtype, -4, 4), random_array(rng, shape, dtype, 0, 1)


def run(backend, name, Z, target, n_threads=1):
    """Call the loss `name` of `backend`; return (J, P or None, dZ)."""
    dZ = np.full_like(Z, np.nan)
    if name == "mean_squared_error":
        return backend.mean_squared_error(dZ, Z, target, n_threads=n_threads), None, dZ
    P = np.full_like(Z, np.nan)
    return getattr(backend, name)(dZ, P, Z, target, n_threads=n_threads), P, dZ


def assert_loss_close(J, expected, dtype, k=1, scale=1.0):
    """J is a Python float for both dtypes: the table's tolerance for dtype, without a cast."""
    assert isinstance(J, float)
    tol = tolerance(dtype, k)
    assert_allclose(J, expected, rtol=tol["rtol"], atol=tol["atol"] * scale, err_msg="J")


def ref_target(target):
    return target if target.dtype.kind == "i" else as64(target)[0]


# ---------------------------------------------------------------- parity matrix

@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("shape", SHAPES_2D, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", LOSSES)
def test_parity(nat, ref, rng, name, dtype, shape, n_threads):
    Z, target = make_inputs(rng, name, shape, dtype)
    J, P, dZ = run(nat, name, Z, target, n_threads)
    J64, P64, dZ64 = run(ref, name, as64(Z)[0], ref_target(target))
    N, C = shape
    assert_loss_close(J, J64, dtype, k=N * C)
    assert_close(dZ, dZ64, dtype, scale=1.0 / N, err_msg="dZ")   # |dZ| <= max|Z - Y|/N
    if P is not None:
        assert_close(P, P64, dtype, err_msg="P")


# ---------------------------------------------------------------- hand-computed values

def sigmoid(z):
    return 1 / (1 + math.exp(-z))


HAND = [
    # (name, Z, target, J, P, dZ)
    ("softmax_cross_entropy", [[0.0, 0.0]], [0], math.log(2), [[0.5, 0.5]], [[-0.5, 0.5]]),
    ("softmax_cross_entropy", [[0.0, 0.0], [0.0, math.log(3)]], [0, 1],
     (math.log(2) + math.log(4 / 3)) / 2, [[0.5, 0.5], [0.25, 0.75]],
     [[-0.25, 0.25], [0.125, -0.125]]),
    ("softmax_cross_entropy", [[3.0]], [0], 0.0, [[1.0]], [[0.0]]),
    # DESIGN §8: one neuron, y = 1.4, t = 0.8: L = ½(y - t)² = 0.18, ∂L/∂y = 0.6
    ("mean_squared_error", [[1.4]], [[0.8]], 0.18, None, [[0.6]]),
    ("mean_squared_error", [[1.0, 2.0], [0.0, 0.0]], [[0.0, 0.0], [3.0, 4.0]], 7.5, None,
     [[0.5, 1.0], [-1.5, -2.0]]),
    ("sigmoid_binary_cross_entropy", [[0.0]], [[1.0]], math.log(2), [[0.5]], [[-0.5]]),
    ("sigmoid_binary_cross_entropy", [[2.0, -3.0]], [[0.0, 1.0]],
     math.log(1 + math.exp(2)) + math.log(1 + math.exp(3)), [[sigmoid(2), sigmoid(-3)]],
     [[sigmoid(2), sigmoid(-3) - 1]]),
]


@pytest.mark.parametrize("backend", ["nat", "ref"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("case", HAND, ids=lambda c: c[0])
def test_hand_computed(request, backend, dtype, case):
    be = request.getfixturevalue(backend)
    name, Z, target, J_expected, P_expected, dZ_expected = case
    Z = np.array(Z, dtype=dtype)
    target = np.array(target, dtype=np.int64 if name == "softmax_cross_entropy" else dtype)
    J, P, dZ = run(be, name, Z, target)
    assert_loss_close(J, J_expected, dtype)
    assert_close(dZ, np.array(dZ_expected), dtype)
    if P is not None:
        assert_close(P, np.array(P_expected), dtype)


# ---------------------------------------------------------------- independent oracle

@pytest.mark.parametrize("name", LOSSES)
def test_against_torch(nat, rng, name):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    Z, target = make_inputs(rng, name, (13, 5), np.float64)
    J, P, dZ = run(nat, name, Z, target)
    z = torch.tensor(Z, requires_grad=True)
    t = torch.tensor(target)
    if name == "softmax_cross_entropy":
        loss, p = F.cross_entropy(z, t), torch.softmax(z, dim=1)
    elif name == "mean_squared_error":
        loss, p = F.mse_loss(z, t, reduction="sum") / (2 * Z.shape[0]), None
    else:
        loss, p = F.binary_cross_entropy_with_logits(z, t, reduction="sum") / Z.shape[0], torch.sigmoid(z)
    loss.backward()
    assert_loss_close(J, loss.item(), np.float64, k=Z.size)
    assert_close(dZ, z.grad.numpy(), np.float64)
    if p is not None:
        assert_close(P, p.detach().numpy(), np.float64)


@pytest.mark.parametrize("name", LOSSES)
def test_reference_gradient_central_differences(ref, rng, name):
    Z, target = make_inputs(rng, name, (3, 4), np.float64)
    _, _, dZ = run(ref, name, Z, target)
    assert np.abs(dZ).max() > 1e-3, "the gradient must not be all zero"
    h, numeric = 1e-6, np.empty_like(Z)
    for idx in np.ndindex(Z.shape):
        Zp, Zm = Z.copy(), Z.copy()
        Zp[idx] += h
        Zm[idx] -= h
        numeric[idx] = (run(ref, name, Zp, target)[0] - run(ref, name, Zm, target)[0]) / (2 * h)
    assert_allclose(dZ, numeric, rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------- extreme logits

def extremes(dtype):
    return [1e4, 1e30, float(np.finfo(dtype).max)]


@pytest.mark.parametrize("backend", ["nat", "ref"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("v", [0, 1, 2], ids=["1e4", "1e30", "max"])
def test_softmax_extreme_logits(request, backend, dtype, v):
    be = request.getfixturevalue(backend)
    v = extremes(dtype)[v]
    Z = np.array([[v, -v, 0], [-v, -v, -v], [v, v, -v], [0, v, -v], [v, -v, 0]], dtype=dtype)
    labels = np.array([0, 1, 2, 1, 1])
    J, P, dZ = run(be, "softmax_cross_entropy", Z, labels)
    assert math.isfinite(J) and J > 0
    assert np.isfinite(P).all() and np.isfinite(dZ).all()
    assert ((P >= 0) & (P <= 1)).all()
    assert_allclose(P.sum(axis=1), 1, rtol=1e-6)
    assert_allclose(P, [[1, 0, 0], [1 / 3] * 3, [0.5, 0.5, 0], [0, 1, 0], [1, 0, 0]], rtol=1e-6)
    assert_allclose(dZ, (P - np.eye(3)[labels]) / 5, rtol=1e-6)
    # row losses: 0, log 3, 2v + log 2, 0, 2v, whose mean saturates below inf
    expected = min((math.log(3) + 4 * v + math.log(2)) / 5, np.finfo(np.float64).max)
    assert J == pytest.approx(expected, rel=1e-6)


def test_softmax_large_logits_exact_loss(nat, ref):
    for be in (nat, ref):
        for dtype in DTYPES:
            Z = np.array([[1e4, -1e4]], dtype=dtype)
            assert run(be, "softmax_cross_entropy", Z, np.array([1]))[0] == 2e4
            assert run(be, "softmax_cross_entropy", Z, np.array([0]))[0] == 0


@pytest.mark.parametrize("backend", ["nat", "ref"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("v", [0, 1, 2], ids=["1e4", "1e30", "max"])
def test_binary_cross_entropy_extreme_logits(request, backend, dtype, v):
    be = request.getfixturevalue(backend)
    v = extremes(dtype)[v]
    Z = np.array([[v, -v, v, -v, 0]], dtype=dtype)
    Y = np.array([[1, 0, 0, 1, 1]], dtype=dtype)
    J, P, dZ = run(be, "sigmoid_binary_cross_entropy", Z, Y)
    assert math.isfinite(J)
    assert np.isfinite(P).all() and np.isfinite(dZ).all()
    assert_allclose(P, [[1, 0, 1, 0, 0.5]], rtol=1e-6)
    assert_allclose(dZ, [[0, 0, 1, -1, -0.5]], rtol=1e-6)
    # element losses: 0, 0, v, v, log 2 (saturating below inf for float64's max)
    assert J == pytest.approx(min(2 * v + math.log(2), np.finfo(np.float64).max), rel=1e-6)


def test_mean_squared_error_large_values(nat, ref):
    """MSE accumulates in double: float32 differences never overflow the loss."""
    Z = np.array([[1e18, -1e18]], dtype=np.float32)
    Y = np.zeros_like(Z)
    for be in (nat, ref):
        J, _, dZ = run(be, "mean_squared_error", Z, Y)
        assert J == pytest.approx(float(Z[0, 0]) ** 2, rel=1e-12)
        assert_allclose(dZ, Z)


def test_mean_squared_error_differences_are_exact(nat, ref):
    """z - y of two float32 values is formed in double, where it is exact: 1 - 2⁻³⁰
    rounds to 1 in float32, and J = (1 - 2⁻³⁰)²/2 would then read 1/2."""
    Z = np.array([[1.0]], dtype=np.float32)
    Y = np.array([[2.0 ** -30]], dtype=np.float32)
    for be in (nat, ref):
        J, _, _ = run(be, "mean_squared_error", Z, Y)
        assert J == (1 - 2.0 ** -30) ** 2 / 2


# ---------------------------------------------------------------- threads

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", LOSSES)
def test_bitwise_thread_invariance(nat, rng, name, dtype):
    Z, target = make_inputs(rng, name, (300, 257), dtype)
    J1, P1, dZ1 = run(nat, name, Z, target, 1)
    for n_threads in THREADS_BITWISE[1:]:
        J, P, dZ = run(nat, name, Z, target, n_threads)
        assert J == J1
        assert_array_equal(dZ, dZ1)
        if P is not None:
            assert_array_equal(P, P1)


# ---------------------------------------------------------------- argument checks

def _bad_calls():
    f4, f8 = np.float32, np.float64
    Z = np.zeros((4, 3), f8)
    out = lambda dtype=f8, shape=(4, 3): np.zeros(shape, dtype)   # noqa: E731
    lab = np.array([0, 1, 2, 0])
    ce = "softmax_cross_entropy"
    bce = "sigmoid_binary_cross_entropy"
    return [
        (ce, (out(), out(), Z, np.array([0, 1, 3, 0])), ValueError, "labels"),
        (ce, (out(), out(), Z, np.array([0, -1, 2, 0])), ValueError, "labels"),
        (ce, (out(), out(), Z, lab.astype(np.int32)), TypeError, "labels"),
        (ce, (out(), out(), Z, lab.astype(f8)), TypeError, "labels"),
        (ce, (out(), out(), Z, lab[:3]), ValueError, "labels"),
        # strided views: the kernel reads N contiguous int64 from the data pointer
        (ce, (out(), out(), Z, np.array([0, 9, 1, 9, 2, 9, 0, 9])[::2]), ValueError,
         "labels must be a contiguous 1-D array"),
        (ce, (out(), out(), Z, lab[::-1]), ValueError, "labels must be a contiguous 1-D array"),
        (ce, (out(), out(), Z, None), TypeError, "labels"),
        (ce, (out(f4), out(), Z, lab), TypeError, "dZ"),
        (ce, (out(), out(f4), Z, lab), TypeError, "P"),
        (ce, (out(), out(shape=(4, 2)), Z, lab), ValueError, "P"),
        (ce, (out(), out(), None, lab), TypeError, "Z"),
        (ce, (out(), out(), np.zeros((4, 6))[:, ::2], lab), ValueError, "Z"),
        (ce, (out(), out(), Z.astype(np.int64), lab), TypeError, "Z"),
        ("mean_squared_error", (out(), Z, out(shape=(4, 2))), ValueError, "Y"),
        ("mean_squared_error", (out(), Z, out(shape=(3, 3))), ValueError, "Y"),
        ("mean_squared_error", (out(), Z, out(f4)), TypeError, "Y"),
        ("mean_squared_error", (out(shape=(3, 4)), Z, out()), ValueError, "dZ"),
        ("mean_squared_error", (None, Z, out()), TypeError, "dZ"),
        ("mean_squared_error", (out(), np.zeros((0, 3)), out()), ValueError, "Z"),
        (bce, (out(), out(), Z, out(shape=(4,))), ValueError, "Y"),
        (bce, (out(), out(), Z, out(f4)), TypeError, "Y"),
        (bce, (out(), out(), Z, np.full((4, 3), 1.5)), ValueError, "Y must hold targets"),
        (bce, (out(), out(), Z, np.full((4, 3), -0.5)), ValueError, "Y must hold targets"),
        (bce, (out(), None, Z, out()), TypeError, "P"),
        (bce, (out()[:, ::-1], out(), Z, out()), ValueError, "dZ"),
    ]


@pytest.mark.parametrize("name, args, exc, match", _bad_calls(),
                         ids=lambda x: x if isinstance(x, str) else "")
def test_bad_arguments(nat, name, args, exc, match):
    with pytest.raises(exc, match=rf"^{match}\b"):   # the message starts with the argument
        getattr(nat, name)(*args, n_threads=1)


@pytest.mark.parametrize("n_threads, exc", [(0, ValueError), (-1, ValueError),
                                             (1.0, TypeError), (None, TypeError)])
@pytest.mark.parametrize("name", LOSSES)
def test_bad_thread_count(nat, rng, name, n_threads, exc):
    Z, target = make_inputs(rng, name, (3, 2), np.float64)
    with pytest.raises(exc, match=r"^n_threads\b"):
        run(nat, name, Z, target, n_threads)


@pytest.mark.parametrize("name", LOSSES)
def test_read_only_inputs(nat, ref, rng, name):
    """Z and the targets are only read: read-only arrays are accepted."""
    Z, target = make_inputs(rng, name, (5, 3), np.float32)
    Z.setflags(write=False)
    target.setflags(write=False)
    J, _, dZ = run(nat, name, Z, target)
    J64, _, dZ64 = run(ref, name, as64(Z)[0], ref_target(target))
    assert_loss_close(J, J64, np.float32, k=Z.size)
    assert_close(dZ, dZ64, np.float32, scale=1.0 / 5)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", LOSSES)
def test_outputs_may_alias_Z(nat, rng, name, dtype):
    # the cores promise that Z may alias P or dZ (each element is read before it
    # is written; the binary loss's vector pass works on local buffers)
    Z, target = make_inputs(rng, name, (300, 257), dtype)
    J, P, dZ = run(nat, name, Z, target, 2)
    raw = getattr(nat, name).raw
    Zd = Z.copy()                                   # dZ is Z
    if name == "mean_squared_error":
        assert raw(Zd, Zd, target, 2) == J
    else:
        P2 = np.empty_like(Z)
        assert raw(Zd, P2, Zd, target, 2) == J
        assert_array_equal(P2, P)
        Zp, dZ2 = Z.copy(), np.empty_like(Z)        # P is Z
        assert raw(dZ2, Zp, Zp, target, 2) == J
        assert_array_equal(Zp, P)
        assert_array_equal(dZ2, dZ)
    assert_array_equal(Zd, dZ)
