"""Loss kernels, native vs reference, at a batch of N = 256 rows of width 256.

Inputs are allocated outside the timed call; each backend's result is checked
against the float64 reference after timing.  Run with
    python -m pytest bench/test_bench_losses.py --benchmark-only -q
"""
import numpy as np
import pytest

import mlpfast
import mlpfast.native as native
import mlpfast.reference as reference

N, WIDTH = 256, 256
LOSSES = ("softmax_cross_entropy", "mean_squared_error", "sigmoid_binary_cross_entropy")
RTOL = {np.float32: 1e-5, np.float64: 1e-12}
BACKENDS = {"native": (native, mlpfast.get_num_threads()), "native-1t": (native, 1),
            "reference": (reference, 1)}


def inputs(name, dtype):
    rng = np.random.default_rng(0)
    Z = rng.uniform(-4, 4, (N, WIDTH)).astype(dtype)
    if name == "softmax_cross_entropy":
        target = rng.integers(0, WIDTH, N)
    else:
        target = rng.uniform(0, 1, (N, WIDTH)).astype(dtype)
    return Z, target


def call(backend, name, Z, target, n_threads):
    dZ, P = np.empty_like(Z), np.empty_like(Z)
    args = (dZ, Z, target) if name == "mean_squared_error" else (dZ, P, Z, target)
    kernel = getattr(backend, name).raw          # the raw kernel: no argument checks timed
    normalised = args + (n_threads,)
    return kernel, normalised, dZ


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", LOSSES)
def test_loss(benchmark, name, dtype, backend):
    be, n_threads = BACKENDS[backend]
    benchmark.group = name
    Z, target = inputs(name, dtype)
    kernel, args, dZ = call(be, name, Z, target, n_threads)
    J = benchmark(kernel, *args)
    Z64 = Z.astype(np.float64)
    t64 = target if target.dtype.kind == "i" else target.astype(np.float64)
    ref_kernel, ref_args, dZ64 = call(reference, name, Z64, t64, 1)
    J64 = ref_kernel(*ref_args)
    assert J == pytest.approx(J64, rel=RTOL[dtype])
    np.testing.assert_allclose(dZ, dZ64, rtol=RTOL[dtype], atol=RTOL[dtype] / N)
