"""The linear layer: native linear_forward / linear_backward (GEMM with fused
epilogues) against the reference, for every activation, dtype, shape and
thread count; bitwise thread invariance; bad input."""
import numpy as np
import pytest

from conftest import (DTYPES, SHAPES_MNK, THREADS, THREADS_BITWISE, as64, assert_close,
                      dot_scale, random_array)
from mlpfast._kernel_checks import ACTIVATIONS

FUSABLE = [a for a in ACTIVATIONS if a != "prelu"]


def _forward_inputs(rng, N, K, M, dtype, activation):
    X = random_array(rng, (N, K), dtype)
    W = random_array(rng, (K, M), dtype)
    b = random_array(rng, (M,), dtype)
    gamma = random_array(rng, (M,), dtype, 0.0, 0.5) if activation == "prelu" else None
    return X, W, b, gamma


def _forward(kernels, X, W, b, activation, gamma, n_threads):
    N, M = X.shape[0], W.shape[1]
    Z, A = np.empty((N, M), X.dtype), np.empty((N, M), X.dtype)
    kernels.linear_forward(Z, A, X, W, b, activation, gamma, n_threads)
    return Z, A


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N,M,K", SHAPES_MNK[:-1])
@pytest.mark.parametrize("n_threads", THREADS)
def test_linear_forward_parity(nat, ref, rng, activation, dtype, N, M, K, n_threads):
    X, W, b, gamma = _forward_inputs(rng, N, K, M, dtype, activation)
    Z, A = _forward(nat, X, W, b, activation, gamma, n_threads)
    Zr, Ar = _forward(ref, *as64(X, W, b), activation, *as64(gamma), 1)
    assert_close(Z, Zr, dtype, k=K, scale=dot_scale(K) + 1)      # + the bias
    # f is smooth or piecewise linear with slope <= ~1.13, so A's error follows Z's
    assert_close(A, Ar, dtype, k=K, scale=2 * (dot_scale(K) + 1))


@pytest.mark.parametrize("prev_activation", FUSABLE)
@pytest.mark.parametrize("dtype", DTYPES)
# + an output layer of 10 classes: dW (64, 10) as its transpose, δ Wᵀ with K = 10
@pytest.mark.parametrize("N,M,K", SHAPES_MNK[:-1] + [(64, 10, 64)])
@pytest.mark.parametrize("n_threads", THREADS)
def test_linear_backward_parity(nat, ref, rng, prev_activation, dtype, N, M, K, n_threads):
    prev_Z = random_array(rng, (N, K), dtype, -3.0, 3.0)
    X = np.empty_like(prev_Z)   # X = f(prev_Z), as the previous layer left it
    nat.activation_forward(X, prev_Z, prev_activation)
    W = random_array(rng, (K, M), dtype)
    dZ = random_array(rng, (N, M), dtype)
    outs = {}
    for name, kernels, args, nt in (("nat", nat, (X, W, dZ, prev_Z), n_threads),
                                    ("ref", ref, as64(X, W, dZ, prev_Z), 1)):
        x, w, dz, pz = args
        dW, db, dX = np.empty_like(w), np.empty(M, x.dtype), np.empty_like(x)
        kernels.linear_backward(dW, db, dX, x, w, dz, 0.25, prev_activation, pz, None, nt)
        outs[name] = dW, db, dX
    (dW, db, dX), (dWr, dbr, dXr) = outs["nat"], outs["ref"]
    # X = f(prev_Z) for prev_Z in [-3, 3] has rms below 3
    assert_close(dW, dWr, dtype, k=N, scale=dot_scale(N, 3.0) + 0.25)
    assert_close(db, dbr, dtype, k=N, scale=dot_scale(N, 1.0))
    assert_close(dX, dXr, dtype, k=M, scale=2 * dot_scale(M))


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_backward_without_dX_and_identity(nat, ref, rng, dtype):
    X, W = random_array(rng, (9, 5), dtype), random_array(rng, (5, 3), dtype)
    dZ = random_array(rng, (9, 3), dtype)
    dW, db = np.empty_like(W), np.empty(3, dtype)
    nat.linear_backward(dW, db, None, X, W, dZ)
    dWr, dbr = np.empty((5, 3)), np.empty(3)
    ref.linear_backward(dWr, dbr, None, *as64(X, W, dZ))
    assert_close(dW, dWr, dtype, k=9, scale=dot_scale(9))
    assert_close(db, dbr, dtype, k=9, scale=dot_scale(9, 1.0))


def test_forward_without_activation_output_leaves_only_Z(nat, rng):
    X, W, b, _ = _forward_inputs(rng, 4, 3, 2, np.float64, "relu")
    Z = np.empty((4, 2))
    nat.linear_forward(Z, None, X, W, b)
    np.testing.assert_allclose(Z, X @ W + b, rtol=1e-13)


@pytest.mark.parametrize("activation", ["gelu", "sigmoid", "relu"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_bitwise_thread_invariance(nat, rng, activation, dtype):
    N, K, M = 301, 129, 257
    X, W, b, _ = _forward_inputs(rng, N, K, M, dtype, activation)
    dZ = random_array(rng, (N, M), dtype)
    prev_Z = random_array(rng, (N, K), dtype, -3.0, 3.0)
    prev_A = np.empty_like(prev_Z)
    nat.activation_forward(prev_A, prev_Z, activation)
    results = []
    for n_threads in THREADS_BITWISE:
        Z, A = _forward(nat, X, W, b, activation, None, n_threads)
        dW, db, dX = np.empty_like(W), np.empty(M, dtype), np.empty_like(X)
        nat.linear_backward(dW, db, dX, prev_A, W, dZ, 0.1, activation, prev_Z, None, n_threads)
        results.append((Z, A, dW, db, dX))
    for other in results[1:]:
        for a, b_ in zip(results[0], other):
            np.testing.assert_array_equal(a, b_)


BAD_FORWARD = [
    (dict(X=None), TypeError, "X must be a numpy array"),
    (dict(X=np.zeros((3,))), ValueError, "X must be 2-D"),
    (dict(W=np.zeros((4, 2))), ValueError, "W must have 3 rows"),
    (dict(b=np.zeros(3)), ValueError, r"b must have shape \(2,\)"),
    (dict(Z=np.zeros((5, 2))), ValueError, r"Z must have shape \(4, 2\)"),
    (dict(Z=np.zeros((4, 2), np.float32)), TypeError, "Z has dtype float32"),
    (dict(X=np.zeros((4, 3), np.int64)), TypeError, "X must have dtype float32 or float64"),
    (dict(X=np.zeros((3, 4)).T), ValueError, "X must be C-contiguous"),
    (dict(X=np.zeros((0, 3)), Z=np.zeros((0, 2)), A=None), ValueError, "X must not be empty"),
    (dict(activation="nope"), ValueError, "activation: unknown activation 'nope'"),
    (dict(activation="prelu"), TypeError, "gamma must be a numpy array"),
    (dict(gamma=np.ones(2)), ValueError, "gamma is only used by prelu"),
    (dict(n_threads=0), ValueError, "n_threads must be >= 1"),
    (dict(n_threads=1.5), TypeError, "n_threads must be an int"),
]


@pytest.mark.parametrize("change,error,match", BAD_FORWARD)
def test_linear_forward_bad_input(nat, ref, change, error, match):
    args = dict(Z=np.zeros((4, 2)), A=np.zeros((4, 2)), X=np.zeros((4, 3)), W=np.zeros((3, 2)),
                b=np.zeros(2), activation="relu", gamma=None, n_threads=1)
    args.update(change)
    for kernels in (nat, ref):
        with pytest.raises(error, match=match):
            kernels.linear_forward(**args)


def test_read_only_output_is_rejected(nat):
    Z = np.zeros((4, 2))
    Z.flags.writeable = False
    with pytest.raises(ValueError, match="Z is an output and must be writeable"):
        nat.linear_forward(Z, None, np.zeros((4, 3)), np.zeros((3, 2)), np.zeros(2))


def test_prelu_cannot_be_fused_into_backward(nat):
    with pytest.raises(ValueError, match="prev_activation 'prelu' cannot be fused"):
        nat.linear_backward(np.zeros((3, 2)), np.zeros(2), np.zeros((4, 3)), np.zeros((4, 3)),
                            np.zeros((3, 2)), np.zeros((4, 2)), prev_activation="prelu")
