"""GEMM benchmarks: native against NumPy's matmul (and the reference backend) at
the three products of an MLP layer, for the configurations below.

    python -m pytest bench/test_bench_gemm.py --benchmark-only -q
    (-k "wide and float32 and t2" for one slice; columns: --benchmark-columns=median,ops)

Each group is one product at one shape; `extra_info["gflops"]` is 2MNK over the
median time.  Inputs are allocated outside the timed call and every result is
checked against float64 after timing.  `native[checked-...]` goes through the
public kernel (argument checks included); `native[raw-...]` calls the compiled
kernel directly.
"""
import numpy as np
import pytest

import mlpfast.reference as reference

try:
    import mlpfast.native as native
except ImportError:  # pragma: no cover - the build is benchmarked, not skipped silently
    native = None

# name: (layer sizes, batch)
CONFIGS = {
    "tiny": ([16, 32, 32, 1], 32),
    "small": ([64, 128, 128, 10], 64),
    "mnist": ([784, 256, 128, 10], 128),
    "wide": ([1024, 2048, 2048, 10], 512),
    "n256": ([256, 256], 256),
}


def _products():
    """(config, op, M, N, K, trans_a, trans_b) for the first layer of each config:
    forward Z = X W, dW = Xᵀ dZ and dX = dZ Wᵀ; then forward on one row."""
    out = []
    for name, (sizes, batch) in CONFIGS.items():
        fan_in, fan_out = sizes[0], sizes[1]
        out += [(name, "forward", batch, fan_out, fan_in, False, False),
                (name, "dW", fan_in, fan_out, batch, True, False),
                (name, "dX", batch, fan_in, fan_out, False, True)]
    # batch-1 inference (the small-M path), after the rest so PRODUCTS[:9] stays put
    out += [(name, "forward1", 1, sizes[1], sizes[0], False, False) for name, (sizes, _)
            in CONFIGS.items()]
    return out


PRODUCTS = _products()
DTYPES = (np.float32, np.float64)
IDS = [f"{c}-{op}-{M}x{N}x{K}" for c, op, M, N, K, _, _ in PRODUCTS]


def _operands(M, N, K, trans_a, trans_b, dtype):
    rng = np.random.default_rng(0)
    A = rng.uniform(-1, 1, (K, M) if trans_a else (M, K)).astype(dtype)
    B = rng.uniform(-1, 1, (N, K) if trans_b else (K, N)).astype(dtype)
    return A, B, np.empty((M, N), dtype)


def _check(C, A, B, trans_a, trans_b):
    A64, B64 = A.astype(np.float64), B.astype(np.float64)
    want = (A64.T if trans_a else A64) @ (B64.T if trans_b else B64)
    K = A.shape[0] if trans_a else A.shape[1]
    rtol, atol = (1e-5, 1e-6) if C.dtype == np.float32 else (1e-12, 1e-13)
    np.testing.assert_allclose(C, want, rtol=rtol, atol=atol * np.sqrt(K))


def _run(benchmark, fn, C, A, B, trans_a, trans_b, M, N, K):
    benchmark(fn)
    if benchmark.stats is not None:      # None under --benchmark-disable (a smoke run)
        benchmark.extra_info["gflops"] = 2.0 * M * N * K / benchmark.stats.stats.median / 1e9
    benchmark.extra_info["shape"] = f"{M}x{N}x{K}"
    _check(C, A, B, trans_a, trans_b)


def _group(benchmark, config, op, M, N, K, dtype):
    """One group per product, shape and dtype (pytest.mark.benchmark cannot take
    a per-parameter group, so the fixture's attribute is set)."""
    benchmark.group = f"gemm {config} {op} {M}x{N}x{K} {np.dtype(dtype).name}"


@pytest.fixture
def nat():
    if native is None:
        pytest.fail("the native backend did not import")
    native.set_simd_path(None)
    return native


@pytest.mark.parametrize("n_threads", [1, 2], ids=["t1", "t2"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("config,op,M,N,K,trans_a,trans_b", PRODUCTS, ids=IDS)
@pytest.mark.parametrize("entry", ["checked", "raw"])
def test_native(benchmark, nat, entry, config, op, M, N, K, trans_a, trans_b, dtype,
                n_threads):
    """The compiled kernel through its checked entry point, and raw: without the
    Python argument checks (what fit() runs)."""
    _group(benchmark, config, op, M, N, K, dtype)
    A, B, C = _operands(M, N, K, trans_a, trans_b, dtype)
    gemm = nat.gemm if entry == "checked" else nat.gemm.raw
    _run(benchmark, lambda: gemm(C, A, B, trans_a, trans_b, False, n_threads),
         C, A, B, trans_a, trans_b, M, N, K)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("config,op,M,N,K,trans_a,trans_b", PRODUCTS, ids=IDS)
def test_numpy(benchmark, config, op, M, N, K, trans_a, trans_b, dtype):
    """NumPy's matmul (its BLAS, with its own threads) on the same operands."""
    _group(benchmark, config, op, M, N, K, dtype)
    A, B, C = _operands(M, N, K, trans_a, trans_b, dtype)
    a, b = (A.T if trans_a else A), (B.T if trans_b else B)
    _run(benchmark, lambda: np.matmul(a, b, out=C), C, A, B, trans_a, trans_b, M, N, K)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("config,op,M,N,K,trans_a,trans_b", PRODUCTS[:9], ids=IDS[:9])
def test_reference(benchmark, config, op, M, N, K, trans_a, trans_b, dtype):
    """The pure-NumPy reference backend (small configs only: it is NumPy plus checks)."""
    _group(benchmark, config, op, M, N, K, dtype)
    A, B, C = _operands(M, N, K, trans_a, trans_b, dtype)
    _run(benchmark, lambda: reference.gemm(C, A, B, trans_a, trans_b, False, 1),
         C, A, B, trans_a, trans_b, M, N, K)
