"""Shared test fixtures: the tolerance table, the shapes of the parity matrix,
and the two backends.

Parity tests run the native kernel in float32/float64 and the reference in
float64 on the same (rounded) inputs, then compare with ``assert_close``.
"""
import math

import numpy as np
import pytest

import mlpfast
import mlpfast.reference as reference

try:
    import mlpfast.native as native
except ImportError as exc:  # the build is part of the suite: fail, do not skip
    native = None
    NATIVE_ERROR = exc

# The one tolerance table.  atol is per unit of magnitude and is scaled by
# sqrt(k) for results that are length-k sums (GEMM, column sums).
TOLERANCE = {
    np.float32: dict(rtol=1e-5, atol=1e-6),
    np.float64: dict(rtol=1e-12, atol=1e-13),
}

DTYPES = (np.float32, np.float64)
THREADS = (1, 2)
THREADS_BITWISE = (1, 2, 3)

# (rows, cols) for elementwise and row-wise kernels: 1x1, N = 1, primes,
# non-multiples of every vector and block width, a few hundred wide.
SHAPES_2D = [(1, 1), (1, 7), (7, 1), (3, 5), (13, 17), (31, 37), (64, 33), (97, 131), (256, 300)]
# (M, N, K) for GEMM-like kernels.
SHAPES_MNK = [(1, 1, 1), (1, 13, 7), (13, 1, 29), (17, 19, 23), (31, 64, 33),
              (67, 129, 257), (128, 96, 200), (256, 256, 256), (301, 17, 513)]
# lengths for optimiser updates (1-D parameter arrays)
SIZES_1D = [1, 7, 16, 17, 31, 64, 127, 1000, 4099]


def tolerance(dtype, k=1):
    tol = TOLERANCE[np.dtype(dtype).type]
    return dict(rtol=tol["rtol"], atol=tol["atol"] * math.sqrt(k))


def dot_scale(k, rms_a=3 ** -0.5, rms_b=3 ** -0.5):
    """Typical magnitude of a length-k dot product of terms with these rms values
    (default: uniform on [-1, 1]).  Rounding errors of a length-k sum grow like
    u·√k·(magnitude of its partial sums), so this is the `scale` to pass with k."""
    return k ** 0.5 * rms_a * rms_b


def assert_close(actual, expected, dtype, k=1, scale=1.0, err_msg=""):
    """Native result `actual` (dtype) against the float64 reference `expected`.

    atol = base · √k · scale, where `scale` is the magnitude of the values being
    summed (for sums: of the partial sums, see dot_scale); shapes and the dtype
    are checked before values."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    if actual.dtype.kind == "f":
        assert actual.dtype == np.dtype(dtype), (actual.dtype, dtype)
    tol = tolerance(dtype, k)
    np.testing.assert_allclose(actual.astype(np.float64), expected, rtol=tol["rtol"],
                               atol=tol["atol"] * scale, err_msg=err_msg)


def assert_same_arrays(ps, qs):
    """Two lists of arrays (parameters, say) equal element for element, bit for bit."""
    assert len(ps) == len(qs), (len(ps), len(qs))
    for p, q in zip(ps, qs):
        np.testing.assert_array_equal(p, q)


def fit_data(n=203, m=7, classes=3, seed=0):
    """A small classification set for fit: X (n, m) float64 and labels < classes."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, m))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    return X, np.minimum(y, classes - 1)


# 64-512-512-3: big enough that two threads take half a batch each (batch × Σ n_in n_out
# ≥ 2¹⁸ multiply-adds, even for one row; no prelu; halves of ≤ 128 rows)
HALVES_SIZES = [64, 512, 512, 3]


def twin_nets(**kwargs):
    """Two native networks of one configuration (relu and prelu hidden layers)."""
    config = dict(layer_sizes=[7, 13, 11, 3], activation=["relu", "prelu"], seed=4,
                  l2=1e-3, backend="native")
    config.update(kwargs)
    return mlpfast.MLP(**config), mlpfast.MLP(**config)


def random_array(rng, shape, dtype, low=-1.0, high=1.0):
    """Uniform values in [low, high), rounded to dtype (so the float64 reference
    sees exactly the same inputs)."""
    return rng.uniform(low, high, size=shape).astype(dtype)


def as64(*arrays):
    return [None if a is None else np.array(a, dtype=np.float64) for a in arrays]


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(autouse=True)
def engine_threads():
    """The engine's half-split runs on two threads, as tests at two threads mean them,
    rather than on whichever count ran faster a moment before (its Pace, which
    test_training tests by itself); yields force_threads, 0 (Pace) restored after."""
    if native is None:
        yield None
        return
    from mlpfast import _engine
    _engine.force_threads(2)
    yield _engine.force_threads
    _engine.force_threads(0)


@pytest.fixture
def threads():
    """mlpfast.set_num_threads for the test; the count before is restored after."""
    before = mlpfast.get_num_threads()
    yield mlpfast.set_num_threads
    mlpfast.set_num_threads(before)


@pytest.fixture(scope="session")
def nat():
    """The native backend; its absence fails the test (the build is under test)."""
    if native is None:
        pytest.fail(f"the native backend did not import: {NATIVE_ERROR}")
    return native


@pytest.fixture(scope="session")
def ref():
    return reference
