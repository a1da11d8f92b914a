"""The linear layer at N = 256, width 256: forward (GEMM + bias + activation in
one pass) and backward (dW, db, dX with f'), native against reference."""
import numpy as np
import pytest

N = K = M = 256


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_forward(benchmark, kernels, rng, n_threads, dtype):
    name, k = kernels
    X = rng.standard_normal((N, K)).astype(dtype)
    W = rng.standard_normal((K, M)).astype(dtype)
    b = rng.standard_normal(M).astype(dtype)
    Z, A = np.empty((N, M), dtype), np.empty((N, M), dtype)
    benchmark.group = f"linear_forward relu {np.dtype(dtype).name}"
    benchmark.extra_info["backend"] = name
    benchmark(k.linear_forward, Z, A, X, W, b, "relu", None, n_threads)
    np.testing.assert_allclose(A, np.maximum(X @ W + b, 0), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_backward(benchmark, kernels, rng, n_threads, dtype):
    name, k = kernels
    prev_Z = rng.standard_normal((N, K)).astype(dtype)
    X = np.maximum(prev_Z, 0)
    W = rng.standard_normal((K, M)).astype(dtype)
    dZ = rng.standard_normal((N, M)).astype(dtype)
    dW, db, dX = np.empty_like(W), np.empty(M, dtype), np.empty_like(X)
    benchmark.group = f"linear_backward relu {np.dtype(dtype).name}"
    benchmark.extra_info["backend"] = name
    benchmark(k.linear_backward, dW, db, dX, X, W, dZ, 0.0, "relu", prev_Z, None, n_threads)
    np.testing.assert_allclose(dW, X.T @ dZ, rtol=1e-3, atol=1e-2)
    np.testing.assert_allclose(dX, (dZ @ W.T) * (prev_Z > 0), rtol=1e-3, atol=1e-2)
