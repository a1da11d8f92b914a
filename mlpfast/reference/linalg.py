"""Reference GEMM and linear layer, plain NumPy (raw kernels: arguments checked by
mlpfast._kernel_checks).  Outputs are overwritten."""
import numpy as np

from .activations import activation_backward, activation_forward


def gemm(C, A, B, trans_a, trans_b, accumulate, n_threads):
    """C = op(A) op(B) (+ C)."""
    product = (A.T if trans_a else A) @ (B.T if trans_b else B)
    C[...] = C + product if accumulate else product


def linear_forward(Z, A, X, W, b, activation, gamma, n_threads):
    """Z = X W + b ; A = f(Z)."""
    Z[...] = X @ W + b
    if A is not None:
        activation_forward(A, Z, activation, gamma, n_threads)


def linear_backward(dW, db, dX, X, W, dZ, l2, prev_activation, prev_Z, prev_A, n_threads):
    """dW = Xᵀ dZ + l2 W ; db = Σ_rows dZ ; dX = (dZ Wᵀ) ⊙ f'(prev_Z)."""
    dW[...] = X.T @ dZ + l2 * W
    db[...] = dZ.sum(axis=0)
    if dX is not None:
        dX[...] = dZ @ W.T
        if prev_activation != 0:
            activation_backward(dX, dX, prev_Z, prev_A, prev_activation, None, None, n_threads)
