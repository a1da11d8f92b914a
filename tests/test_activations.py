"""Activation kernels: native against the float64 reference, the reference
against central differences, extreme inputs, thread-count bitwise equality,
in-place use, and the argument checks."""
import warnings

import numpy as np
import pytest
from conftest import (DTYPES, SHAPES_2D, THREADS, THREADS_BITWISE, as64, assert_close,
                      random_array)

from mlpfast._kernel_checks import ACTIVATIONS

NAMES = list(ACTIVATIONS)
KINKED = ("relu", "leaky_relu", "prelu")     # f' jumps at z = 0


def make_inputs(rng, shape, dtype, name, low=-4.0, high=4.0):
    """Z uniform in [low, high) (both branches), dA in [-1, 1), γ in [0, 0.5) for prelu."""
    Z = random_array(rng, shape, dtype, low, high)
    dA = random_array(rng, shape, dtype)
    gamma = random_array(rng, shape[1], dtype, 0.0, 0.5) if name == "prelu" else None
    return Z, dA, gamma


def run(backend, name, Z, dA, gamma, n_threads=1):
    """A = f(Z), dZ = dA ⊙ f'(Z) and dγ (prelu) with one backend."""
    A = np.full_like(Z, np.nan)
    backend.activation_forward(A, Z, name, gamma, n_threads=n_threads)
    dZ = np.full_like(Z, np.nan)
    dgamma = None if gamma is None else np.full_like(gamma, np.nan)
    backend.activation_backward(dZ, dA, Z, A, name, gamma, dgamma, n_threads=n_threads)
    return A, dZ, dgamma


# ---------------------------------------------------------------- parity matrix

@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("shape", SHAPES_2D, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", NAMES)
def test_parity(nat, ref, rng, name, dtype, shape, n_threads):
    Z, dA, gamma = make_inputs(rng, shape, dtype, name)
    A, dZ, dgamma = run(nat, name, Z, dA, gamma, n_threads)
    A64, dZ64, dgamma64 = run(ref, name, *as64(Z, dA, gamma))
    assert A64.dtype == np.float64
    assert_close(A, A64, dtype, err_msg=f"{name} forward")
    assert_close(dZ, dZ64, dtype, err_msg=f"{name} backward")
    if name == "prelu":   # a sum of `rows` terms |dA z| ≤ 4
        assert_close(dgamma, dgamma64, dtype, k=shape[0], scale=4.0, err_msg="dgamma")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", NAMES)
def test_reference_computes_in_dtype(ref, rng, name, dtype):
    Z, dA, gamma = make_inputs(rng, (5, 6), dtype, name)
    A, dZ, dgamma = run(ref, name, Z, dA, gamma)
    assert A.dtype == dZ.dtype == dtype
    assert np.isfinite(A).all() and np.isfinite(dZ).all()


# ---------------------------------------------------------------- finite differences

@pytest.mark.parametrize("name", NAMES)
def test_reference_derivative_matches_central_differences(ref, rng, name):
    Z, _, gamma = make_inputs(rng, (40, 25), np.float64, name, -3.0, 3.0)
    if name in KINKED:
        Z = np.where(np.abs(Z) < 1e-2, Z + np.copysign(0.1, Z), Z)

    def f(z):
        out = np.empty_like(z)
        ref.activation_forward(out, z, name, gamma)
        return out

    h = 1e-6
    numeric = (f(Z + h) - f(Z - h)) / (2 * h)
    ones = np.ones_like(Z)
    dgamma = None if gamma is None else np.empty_like(gamma)
    analytic = np.empty_like(Z)
    ref.activation_backward(analytic, ones, Z, f(Z), name, gamma, dgamma)
    assert np.abs(analytic).max() > 0.1, "derivative is (almost) all zero"
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-8)


def test_reference_prelu_dgamma_matches_central_differences(ref, rng):
    Z, dA, gamma = make_inputs(rng, (30, 9), np.float64, "prelu")

    def J(g):
        A = np.empty_like(Z)
        ref.activation_forward(A, Z, "prelu", g)
        return np.sum(dA * A)

    h = 1e-6
    numeric = np.empty_like(gamma)
    for j in range(gamma.size):
        e = np.zeros_like(gamma)
        e[j] = h
        numeric[j] = (J(gamma + e) - J(gamma - e)) / (2 * h)
    _, _, dgamma = run(ref, "prelu", Z, dA, gamma)
    assert np.abs(dgamma).max() > 0.1, "dgamma is (almost) all zero"
    np.testing.assert_allclose(dgamma, numeric, rtol=1e-7, atol=1e-8)


# ---------------------------------------------------------------- extremes

# name: (f(1e4), f(-1e4), f'(1e4), f'(-1e4)), exact in both dtypes
AT_1E4 = {
    "identity": (1e4, -1e4, 1, 1), "sigmoid": (1, 0, 0, 0), "tanh": (1, -1, 0, 0),
    "relu": (1e4, 0, 1, 0), "leaky_relu": (1e4, -100, 1, 0.01), "prelu": (1e4, -2500, 1, 0.25),
    "elu": (1e4, -1, 1, 0), "softplus": (1e4, 0, 1, 0), "swish": (1e4, 0, 1, 0),
    "gelu": (1e4, 0, 1, 0), "gelu_tanh": (1e4, 0, 1, 0),
}

# name: (f(±0), f'(±0)), exact in both dtypes (softplus's log 2 is not checked): at
# the kink DESIGN's f' takes its "else" branch, so relu'(0) = 0 and leaky'(0) = γ
AT_0 = {
    "identity": (0, 1), "sigmoid": (0.5, 0.25), "tanh": (0, 1), "relu": (0, 0),
    "leaky_relu": (0, 0.01), "prelu": (0, 0.25), "elu": (0, 1), "softplus": (None, 0.5),
    "swish": (0, 0.5), "gelu": (0, 0.5), "gelu_tanh": (0, 0.5),
}


def extremes(dtype):
    big = np.finfo(dtype).max
    return np.array([[1e4, -1e4, 1e30, -1e30, big, -big, 0.0, -0.0]], dtype=dtype)


@pytest.mark.parametrize("backend", ["nat", "ref"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", NAMES)
def test_extremes_are_finite_and_exact(request, name, dtype, backend):
    be = request.getfixturevalue(backend)
    Z = extremes(dtype)
    gamma = np.full(Z.shape[1], 0.25, dtype) if name == "prelu" else None
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no overflow / invalid warnings
        A, dZ, dgamma = run(be, name, Z, np.ones_like(Z), gamma)
    assert np.isfinite(A).all(), A
    assert np.isfinite(dZ).all(), dZ
    if dgamma is not None:
        assert np.isfinite(dgamma).all(), dgamma
        np.testing.assert_array_equal(dgamma, np.minimum(Z[0], 0))
    expected = np.array(AT_1E4[name], dtype=dtype)
    np.testing.assert_array_equal([A[0, 0], A[0, 1], dZ[0, 0], dZ[0, 1]], expected)
    f0, d0 = AT_0[name]
    if f0 is not None:
        np.testing.assert_array_equal(A[0, -2:], np.full(2, f0, dtype))
    np.testing.assert_array_equal(dZ[0, -2:], np.full(2, d0, dtype))


def _regions(dtype):
    """One row of ±z around the switches and clamps of vmath.h's forms (see below)."""
    edges = [0.3, 0.35, 0.8814, 1.5, 9.5, 15.0, 19.5, 38.5, 87.0, 88.7, 103.0, 104.0, 120.0,
             708.0, 745.0, 1400.0]
    grid = np.concatenate([np.linspace(e * (1 - 1e-3), e * (1 + 1e-3), 101) for e in edges]
                          + [np.logspace(-40, 0, 400)])
    grid = grid[grid < np.finfo(dtype).max]
    return np.concatenate([grid, -grid]).astype(dtype)[None, :]


@pytest.mark.parametrize("name,ulps", [("tanh", 3), ("sigmoid", 6), ("elu", 6),
                                       ("softplus", 6), ("swish", 6)])
def test_vector_forms_float32_within_their_ulps(nat, ref, name, ulps):
    """The bounds of activations.pxd, in float32 units in the last place of the exact
    value (the float64 reference, exact enough at this width), over the regions
    grid and a fine sweep of [-20, 20], wherever the value is a normal number."""
    sweep = np.linspace(-20, 20, 40001, dtype=np.float32)[None]
    Z = np.concatenate([_regions(np.float32), sweep], axis=1)
    A = np.empty_like(Z)
    nat.activation_forward(A, Z, name)
    exact = np.empty(Z.shape)
    with np.errstate(over="ignore", under="ignore"):
        ref.activation_forward(exact, Z.astype(np.float64), name)
    normal = np.isfinite(exact) & (np.abs(exact) >= np.finfo(np.float32).tiny)
    ulp = np.spacing(np.abs(exact[normal]).astype(np.float32)).astype(np.float64)
    err = np.abs(A[normal] - exact[normal]) / ulp
    assert err.max() <= ulps, (err.max(), Z[normal][err.argmax()])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "elu", "softplus", "gelu"])
def test_vector_forms_across_their_regions(nat, ref, name, dtype):
    """The exp-based forward of sigmoid, tanh, elu, softplus and gelu (vmath.h) on
    both sides of their series/exp switches (|z| = 0.3, 0.35; softplus's log1p
    halves at e^-|z| = √2 - 1, |z| = 0.8814; gelu's Φ at 1.5), near the clamps
    (9.5, 19.5), through gelu's fitted tail to its underflow (15 float, 38.5
    double) and the subnormal tail of e^-|z| (|z| 87-104 float, 708-745 double),
    against the float64 reference; NaN stays NaN, ±inf and ±0 come out exact
    (gelu(-inf) = -inf·Φ(-inf) is NaN, as in the reference)."""
    Z = _regions(dtype)
    A = np.empty_like(Z)
    nat.activation_forward(A, Z, name)
    A64 = np.empty(Z.shape)
    with np.errstate(over="ignore", under="ignore"):
        ref.activation_forward(A64, Z.astype(np.float64), name)
    assert_close(A, A64, dtype, err_msg=name)
    special = np.array([[np.nan, np.inf, -np.inf, 0.0, -0.0]], dtype)
    out = np.empty_like(special)
    nat.activation_forward(out, special, name)
    assert np.isnan(out[0, 0])
    want = {"tanh": [1, -1, 0, -0.0], "sigmoid": [1, 0, 0.5, 0.5],
            "elu": [np.inf, -1, 0, 0], "softplus": [np.inf, 0, np.log(2), np.log(2)],
            "gelu": [np.inf, np.nan, 0, -0.0]}[name]
    np.testing.assert_array_equal(out[0, 1:], np.array(want, dtype))
    signed = ~np.isnan(np.array(want))
    assert list(np.signbit(out[0, 1:])[signed]) == list(np.signbit(np.array(want, dtype))[signed])


# ---------------------------------------------------------------- threads, in place

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", NAMES)
def test_bitwise_equal_across_thread_counts(nat, rng, name, dtype):
    # 400 x 300: enough elements that even the cheapest kinds start 3 threads
    Z, dA, gamma = make_inputs(rng, (400, 300), dtype, name)
    base = run(nat, name, Z, dA, gamma, THREADS_BITWISE[0])
    for n_threads in THREADS_BITWISE[1:]:
        for got, want in zip(run(nat, name, Z, dA, gamma, n_threads), base):
            if want is not None:
                np.testing.assert_array_equal(got, want, err_msg=f"{n_threads} threads")


@pytest.mark.parametrize("backend", ["nat", "ref"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", NAMES)
def test_in_place(request, rng, name, dtype, backend):
    be = request.getfixturevalue(backend)
    Z, dA, gamma = make_inputs(rng, (37, 70), dtype, name)
    A, dZ, dgamma = run(be, name, Z, dA, gamma, 2)
    A_in = Z.copy()                                       # A is Z
    be.activation_forward(A_in, A_in, name, gamma, n_threads=2)
    np.testing.assert_array_equal(A_in, A)
    d = dA.copy()                                         # dZ is dA
    dgamma_in = None if gamma is None else np.empty_like(gamma)
    be.activation_backward(d, d, Z, A, name, gamma, dgamma_in, n_threads=2)
    np.testing.assert_array_equal(d, dZ)
    if gamma is not None:
        np.testing.assert_array_equal(dgamma_in, dgamma)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", [n for n in NAMES if n != "identity"])
def test_gemm_epilogues_use_the_same_cores(nat, rng, name, dtype):
    """linear_forward's fused f and linear_backward's fused f' equal the kernels bitwise."""
    X, W = random_array(rng, (45, 70), dtype), random_array(rng, (70, 33), dtype)
    b = random_array(rng, 33, dtype)
    gamma = random_array(rng, 33, dtype, 0.0, 0.5) if name == "prelu" else None
    Z, A, A2 = (np.empty((45, 33), dtype) for _ in range(3))
    nat.linear_forward(Z, A, X, W, b, name, gamma, n_threads=2)
    nat.activation_forward(A2, Z, name, gamma)
    np.testing.assert_array_equal(A, A2)
    if name == "prelu":
        return                                  # not fused (needs dZ Wᵀ for dγ)
    W2 = random_array(rng, (33, 8), dtype)
    dZ2 = random_array(rng, (45, 8), dtype)
    dW, db = np.empty_like(W2), np.empty(8, dtype)
    dX, dX_id, dX2 = (np.empty((45, 33), dtype) for _ in range(3))
    nat.linear_backward(dW, db, dX, A, W2, dZ2, 0.0, name, Z, A, n_threads=2)
    nat.linear_backward(dW, db, dX_id, A, W2, dZ2, 0.0, "identity", n_threads=2)
    nat.activation_backward(dX2, dX_id, Z, A, name)
    np.testing.assert_array_equal(dX, dX2)


# ---------------------------------------------------------------- argument checks

def _arrays(dtype=np.float64, shape=(4, 3)):
    return np.zeros(shape, dtype), np.zeros(shape, dtype)


BAD_FORWARD = [
    ("unknown name", lambda A, Z: dict(activation="sigmod"), ValueError, "activation"),
    ("name not str", lambda A, Z: dict(activation=3), TypeError, "activation"),
    ("gamma for relu", lambda A, Z: dict(activation="relu", gamma=np.ones(3)), ValueError, "gamma"),
    ("prelu without gamma", lambda A, Z: dict(activation="prelu"), TypeError, "gamma"),
    ("gamma shape", lambda A, Z: dict(activation="prelu", gamma=np.ones(4)), ValueError, "gamma"),
    ("dtype mix", lambda A, Z: dict(A=A.astype(np.float32)), TypeError, "A"),
    ("int dtype", lambda A, Z: dict(Z=Z.astype(np.int64)), TypeError, "Z"),
    ("non-contiguous", lambda A, Z: dict(A=A[:, :2], Z=np.zeros((4, 4))[:, ::2]), ValueError, "Z"),
    ("None", lambda A, Z: dict(Z=None), TypeError, "Z"),
    ("empty", lambda A, Z: dict(A=np.zeros((0, 3)), Z=np.zeros((0, 3))), ValueError, "Z"),
    ("shape mismatch", lambda A, Z: dict(A=np.zeros((4, 2))), ValueError, "A"),
    ("read-only A", lambda A, Z: dict(A=np.broadcast_to(0.0, (4, 3))), ValueError, "A"),
    ("n_threads", lambda A, Z: dict(n_threads=0), ValueError, "n_threads"),
]


@pytest.mark.parametrize("backend", ["nat", "ref"])
@pytest.mark.parametrize("case, change, error, match", BAD_FORWARD, ids=[c[0] for c in BAD_FORWARD])
def test_forward_rejects_bad_input(request, backend, case, change, error, match):
    be = request.getfixturevalue(backend)
    A, Z = _arrays()
    kwargs = dict(A=A, Z=Z, activation="tanh")
    kwargs.update(change(A, Z))
    with pytest.raises(error, match=match):
        be.activation_forward(**kwargs)


BAD_BACKWARD = [
    ("unknown name", dict(activation="Relu6"), ValueError, "activation"),
    ("gamma for tanh", dict(gamma=np.ones(3)), ValueError, "gamma"),
    ("dgamma for tanh", dict(dgamma=np.ones(3)), ValueError, "dgamma"),
    ("prelu without gamma", dict(activation="prelu", dgamma=np.ones(3)), TypeError, "gamma"),
    ("prelu without dgamma", dict(activation="prelu", gamma=np.ones(3)), TypeError, "dgamma"),
    ("dgamma shape", dict(activation="prelu", gamma=np.ones(3), dgamma=np.ones((3, 1))),
     ValueError, "dgamma"),
    ("dgamma length", dict(activation="prelu", gamma=np.ones(3), dgamma=np.ones(4)),
     ValueError, "dgamma"),
    ("dgamma dtype", dict(activation="prelu", gamma=np.ones(3),
                          dgamma=np.ones(3, np.float32)), TypeError, "dgamma"),
    ("dA dtype mix", dict(dA=np.zeros((4, 3), np.float32)), TypeError, "dA"),
    ("A shape", dict(A=np.zeros((3, 4))), ValueError, "A"),
    ("dZ non-contiguous", dict(dZ=np.zeros((3, 4)).T), ValueError, "dZ"),
    ("dA None", dict(dA=None), TypeError, "dA"),
    ("Z empty", dict(Z=np.zeros((4, 0))), ValueError, "Z"),
    ("Z a list", dict(Z=[[0.0] * 3] * 4), TypeError, "Z"),
]


@pytest.mark.parametrize("backend", ["nat", "ref"])
@pytest.mark.parametrize("case, change, error, match", BAD_BACKWARD, ids=[c[0] for c in BAD_BACKWARD])
def test_backward_rejects_bad_input(request, backend, case, change, error, match):
    be = request.getfixturevalue(backend)
    kwargs = dict(dZ=np.zeros((4, 3)), dA=np.zeros((4, 3)), Z=np.zeros((4, 3)),
                  A=np.zeros((4, 3)), activation="tanh")
    kwargs.update(change)
    with pytest.raises(error, match=match):
        be.activation_backward(**kwargs)
