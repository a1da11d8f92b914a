"""GEMM and the linear layer (raw kernels; arguments are checked by
mlpfast._kernel_checks before they reach here).

Design: the cores live in linalg.pxd / gemm.pxd so that the training engine
calls the very same functions; these wrappers only take typed memoryviews
(float32 or float64 through one fused type), release the GIL and turn an
allocation failure into MemoryError.
"""
from cython cimport floating
from libc.stddef cimport ptrdiff_t

from gemm cimport (MLPF_CLAIM_RUNS, claim_runs, force_simd_path, gemm_core, mlpf_claim,
                   mlpf_simd_best, mlpf_simd_get, mlpf_simd_name, mlpf_simd_supported,
                   simd_paths)
from linalg cimport linear_backward_core, linear_forward_core

cdef extern from *:
    """
    #ifdef _OPENMP
    #define MLPF_OPENMP 1
    #else
    #define MLPF_OPENMP 0
    #endif
    #ifndef MLPF_BUILD_FLAGS
    #define MLPF_BUILD_FLAGS ""
    #endif
    #if defined(__clang__)
    #define MLPF_COMPILER "clang " __clang_version__
    #elif defined(__GNUC__)
    #define MLPF_COMPILER "gcc " __VERSION__
    #else
    #define MLPF_COMPILER "unknown"
    #endif
    """
    int MLPF_OPENMP
    const char* MLPF_BUILD_FLAGS
    const char* MLPF_COMPILER


def _check(int rc):
    if rc != 0:
        raise MemoryError("mlpfast: could not allocate the GEMM packing buffers")


def gemm(floating[:, ::1] C not None, const floating[:, ::1] A not None,
         const floating[:, ::1] B not None, bint trans_a, bint trans_b, bint accumulate,
         int n_threads, bint handoff=False, tuple claim=None):
    """C = op(A) op(B) (+ C if accumulate).   op(A) (M, K), op(B) (K, N), C (M, N).
    handoff: threads from the hand-off team, as inference takes them (tests).
    claim: up to three writable byte arrays (unsigned char[::1]) to take for
    writing meanwhile (gemm.h; tests)."""
    cdef ptrdiff_t K = A.shape[0] if trans_a else A.shape[1]
    cdef int rc, r
    cdef unsigned char[::1] run
    cdef mlpf_claim lines = claim_runs(NULL, 0)
    if claim is not None:
        if len(claim) > MLPF_CLAIM_RUNS:
            raise ValueError(f"claim: at most {MLPF_CLAIM_RUNS} arrays, got {len(claim)}")
        for r in range(len(claim)):
            try:
                run = claim[r]
            except (TypeError, ValueError) as err:
                raise TypeError(f"claim[{r}]: expected a writable 1-d contiguous uint8 array "
                                f"({err})") from None
            if run.shape[0] > 0:
                lines.p[r], lines.bytes[r] = &run[0], run.shape[0]
    with nogil:
        rc = gemm_core(trans_a, trans_b, C.shape[0], C.shape[1], K, &A[0, 0], A.shape[1],
                       &B[0, 0], B.shape[1], &C[0, 0], C.shape[1], accumulate, n_threads,
                       NULL, NULL, handoff, 0, NULL if claim is None else &lines)
    _check(rc)


def linear_forward(floating[:, ::1] Z not None, floating[:, ::1] A,
                   const floating[:, ::1] X not None, const floating[:, ::1] W not None,
                   const floating[::1] b not None, int activation,
                   const floating[::1] gamma, int n_threads):
    """Z = X W + b ; A = f(Z) (skipped when A is None).   X (N, K), W (K, M)."""
    cdef floating* a = NULL if A is None else &A[0, 0]
    cdef const floating* g = NULL if gamma is None else &gamma[0]
    cdef int rc
    with nogil:
        rc = linear_forward_core(X.shape[0], X.shape[1], W.shape[1], &Z[0, 0], a, &X[0, 0],
                                 &W[0, 0], &b[0], activation, g, n_threads)
    _check(rc)


def linear_backward(floating[:, ::1] dW not None, floating[::1] db not None,
                    floating[:, ::1] dX, const floating[:, ::1] X not None,
                    const floating[:, ::1] W not None, const floating[:, ::1] dZ not None,
                    double l2, int prev_activation, const floating[:, ::1] prev_Z,
                    const floating[:, ::1] prev_A, int n_threads):
    """dW = Xᵀ dZ + l2 W ; db = Σ_rows dZ ; dX = (dZ Wᵀ) ⊙ f'(prev_Z) (skipped when dX is None)."""
    cdef floating* dx = NULL if dX is None else &dX[0, 0]
    cdef const floating* zp = NULL if prev_Z is None else &prev_Z[0, 0]
    cdef const floating* ap = NULL if prev_A is None else &prev_A[0, 0]
    cdef int rc
    with nogil:
        rc = linear_backward_core(X.shape[0], X.shape[1], W.shape[1], &dW[0, 0], &db[0], dx,
                                  &X[0, 0], &W[0, 0], &dZ[0, 0], l2, prev_activation,
                                  zp, ap, NULL, n_threads)
    _check(rc)


def set_simd_path(name):
    """Force the GEMM path by name (None: the best this CPU supports)."""
    force_simd_path(name)


def build_info():
    return {
        "openmp": bool(MLPF_OPENMP),
        "simd": mlpf_simd_name(mlpf_simd_get()).decode(),
        "simd_best": mlpf_simd_name(mlpf_simd_best()).decode(),
        "simd_supported": [n for p, n in enumerate(simd_paths()) if mlpf_simd_supported(p)],
        "compiler": MLPF_COMPILER.decode(),
        "flags": MLPF_BUILD_FLAGS.decode(),
    }
