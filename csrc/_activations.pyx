"""Activation kernels, forward and backward (raw kernels; arguments are checked by
mlpfast._kernel_checks before they reach here).

Design: the cores and their parallel drivers live in activations.pxd, so the
GEMM epilogues (linalg.pxd) and the training engine call the very same
functions; these wrappers only take typed memoryviews (float32 or float64
through one fused type), pass raw pointers and release the GIL.  `activation`
is the integer code of mlpfast._kernel_checks.ACTIVATIONS.
"""
from cython cimport floating

from activations cimport activation_backward_rows, activation_forward_rows
from dropout cimport dropout_rows, permutation_core
from libc.stdint cimport int64_t, uint64_t


def activation_forward(floating[:, ::1] A not None, const floating[:, ::1] Z not None,
                       int activation, const floating[::1] gamma, int n_threads):
    """A = f(Z) (overwrite; A may be Z).   Z, A (N, M); gamma (M,) for prelu, else None."""
    cdef const floating* g = NULL if gamma is None else &gamma[0]
    with nogil:
        activation_forward_rows(activation, Z.shape[0], Z.shape[1], &Z[0, 0], &A[0, 0],
                                g, n_threads)


def activation_backward(floating[:, ::1] dZ not None, const floating[:, ::1] dA not None,
                        const floating[:, ::1] Z not None, const floating[:, ::1] A not None,
                        int activation, const floating[::1] gamma, floating[::1] dgamma,
                        int n_threads):
    """dZ = dA ⊙ f'(Z) (overwrite; dZ may be dA) ; prelu: dγ_j = Σ_{i: z_ij≤0} dA_ij z_ij
    (overwrite).   dA, Z, A = f(Z), dZ (N, M); gamma, dgamma (M,) for prelu, else None."""
    cdef const floating* g = NULL if gamma is None else &gamma[0]
    cdef floating* dg = NULL if dgamma is None else &dgamma[0]
    with nogil:
        activation_backward_rows(activation, Z.shape[0], Z.shape[1], &dA[0, 0], &Z[0, 0],
                                 &A[0, 0], &dZ[0, 0], g, dg, n_threads)


def dropout(floating[:, ::1] out not None, const floating[:, ::1] x not None, double rate,
            uint64_t seed, int n_threads):
    """out = x ⊙ keep / (1 − rate) with the counter-based mask of dropout.pxd (overwrite)."""
    with nogil:
        dropout_rows(x.shape[0], x.shape[1], &out[0, 0], &x[0, 0], rate, seed, n_threads)


def permutation(int64_t[::1] order not None, uint64_t seed, int n_threads):
    """order = a permutation of 0..n-1 drawn by dropout.pxd's permutation_core
    (sequential: n_threads is the contract's, unused)."""
    if order.shape[0] == 0:
        return
    with nogil:
        permutation_core(order.shape[0], &order[0], seed)
