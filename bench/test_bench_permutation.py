"""fit's shuffle: the permutation kernel, native against reference, and NumPy's
Generator.permutation (what fit drew its order with before), at a bench config's
2 048 rows and at MNIST's 60 000.  Each result is checked to be a permutation.

    python -m pytest bench/test_bench_permutation.py --benchmark-only -q
"""
import numpy as np
import pytest

import mlpfast.reference as reference

try:
    import mlpfast.native as native
except ImportError:  # pragma: no cover - a broken build benchmarks nothing native
    native = None

SIZES = [2048, 60000]


@pytest.mark.parametrize("side", ["native", "reference", "numpy"])
@pytest.mark.parametrize("n", SIZES)
def test_permutation(benchmark, n, side):
    benchmark.group = f"permutation n={n}"
    order = np.empty(n, np.int64)
    if side == "numpy":
        rng = np.random.default_rng(0)
        out = benchmark(rng.permutation, n)
    else:
        if side == "native" and native is None:
            pytest.skip("native backend not built")
        kernels = native if side == "native" else reference
        benchmark(kernels.permutation, order, 12345)
        out = order
    np.testing.assert_array_equal(np.sort(out), np.arange(n))
