"""Activations at N = 256, width 256: forward A = f(Z) and backward dZ = dA ⊙ f'(Z)
(plus dγ for prelu), native against reference, one group per activation,
direction and dtype.  Inputs are made outside the timed call; results are
checked against the float64 reference after timing.

    python -m pytest bench/test_bench_activations.py --benchmark-only -q
"""
import numpy as np
import pytest

import mlpfast
import mlpfast.reference as reference
from mlpfast._kernel_checks import ACTIVATIONS

try:
    import mlpfast.native as native
except ImportError:  # pragma: no cover - a broken build benchmarks nothing native
    native = None

N = M = 256
DTYPES = [np.float32, np.float64]
RTOL = {np.float32: 1e-4, np.float64: 1e-10}


@pytest.fixture(params=["native", "reference"])
def activation_kernels(request):
    """(backend name, kernel namespace)."""
    if request.param == "native":
        if native is None:
            pytest.skip("native backend not built")
        return "native", native
    return "reference", reference


def inputs(dtype, name):
    rng = np.random.default_rng(0)
    Z = rng.uniform(-4, 4, (N, M)).astype(dtype)
    dA = rng.uniform(-1, 1, (N, M)).astype(dtype)
    gamma = np.full(M, 0.25, dtype) if name == "prelu" else None
    return Z, dA, gamma


def expected(name, Z, dA, gamma):
    """(A, dZ, dγ) from the reference in float64."""
    Z64, dA64 = Z.astype(np.float64), dA.astype(np.float64)
    g64 = None if gamma is None else gamma.astype(np.float64)
    A, dZ = np.empty_like(Z64), np.empty_like(Z64)
    dg = None if gamma is None else np.empty_like(g64)
    reference.activation_forward(A, Z64, name, g64)
    reference.activation_backward(dZ, dA64, Z64, A, name, g64, dg)
    return A, dZ, dg


def check(actual, want, dtype):
    np.testing.assert_allclose(actual, want, rtol=RTOL[dtype], atol=RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_forward(benchmark, activation_kernels, name, dtype):
    backend, k = activation_kernels
    Z, dA, gamma = inputs(dtype, name)
    A = np.empty_like(Z)
    n_threads = mlpfast.get_num_threads()
    benchmark.group = f"{name} forward {np.dtype(dtype).name}"
    benchmark.extra_info["backend"] = backend
    benchmark(k.activation_forward, A, Z, name, gamma, n_threads)
    check(A, expected(name, Z, dA, gamma)[0], dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_backward(benchmark, activation_kernels, name, dtype):
    backend, k = activation_kernels
    Z, dA, gamma = inputs(dtype, name)
    A, dZ = np.empty_like(Z), np.empty_like(Z)
    dgamma = None if gamma is None else np.empty_like(gamma)
    k.activation_forward(A, Z, name, gamma)
    n_threads = mlpfast.get_num_threads()
    benchmark.group = f"{name} backward {np.dtype(dtype).name}"
    benchmark.extra_info["backend"] = backend
    benchmark(k.activation_backward, dZ, dA, Z, A, name, gamma, dgamma, n_threads)
    _, dZ_want, dg_want = expected(name, Z, dA, gamma)
    check(dZ, dZ_want, dtype)
    if dgamma is not None:
        check(dgamma, dg_want, dtype)
