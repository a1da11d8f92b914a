# Declarations of the C GEMM (gemm.h) and a fused front end for it.
from cython cimport floating
from libc.stddef cimport ptrdiff_t

cdef extern from "gemm.h" nogil:
    enum:
        MLPF_SIMD_GENERIC
        MLPF_SIMD_AVX2
        MLPF_SIMD_AVX512
        MLPF_SIMD_COUNT
        MLPF_CLAIM_RUNS
    ctypedef struct mlpf_claim:
        void* p[MLPF_CLAIM_RUNS]
        ptrdiff_t bytes[MLPF_CLAIM_RUNS]
    void mlpf_own_lines(void* p, ptrdiff_t bytes)
    ctypedef void (*mlpf_epilogue)(void* ctx, ptrdiff_t r0, ptrdiff_t r1,
                                   ptrdiff_t c0, ptrdiff_t c1) noexcept nogil
    int mlpf_simd_supported(int path)
    int mlpf_simd_best()
    int mlpf_simd_get()
    int mlpf_simd_set(int path)
    const char* mlpf_simd_name(int path)
    int mlpf_gemm_f32(int trans_a, int trans_b, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                      const float* A, ptrdiff_t lda, const float* B, ptrdiff_t ldb,
                      float* C, ptrdiff_t ldc, int accumulate, ptrdiff_t ks, int n_threads,
                      int handoff, mlpf_epilogue epi, void* ctx, const mlpf_claim* claim)
    int mlpf_gemm_f64(int trans_a, int trans_b, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                      const double* A, ptrdiff_t lda, const double* B, ptrdiff_t ldb,
                      double* C, ptrdiff_t ldc, int accumulate, ptrdiff_t ks, int n_threads,
                      int handoff, mlpf_epilogue epi, void* ctx, const mlpf_claim* claim)


cdef inline int gemm_core(bint trans_a, bint trans_b, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                          const floating* A, ptrdiff_t lda, const floating* B, ptrdiff_t ldb,
                          floating* C, ptrdiff_t ldc, bint accumulate, int n_threads,
                          mlpf_epilogue epi, void* ctx, bint handoff=False,
                          ptrdiff_t ks=0, const mlpf_claim* claim=NULL) noexcept nogil:
    """C (M, N) = op(A) op(B) (+ C); epi(ctx, rectangle) on each finished rectangle of C.
    handoff: threads from the hand-off team (team.h; inference), else OpenMP.  claim:
    memory the caller writes next, to take for writing meanwhile (gemm.h)."""
    if floating is float:
        return mlpf_gemm_f32(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc,
                             accumulate, ks, n_threads, handoff, epi, ctx, claim)
    else:
        return mlpf_gemm_f64(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc,
                             accumulate, ks, n_threads, handoff, epi, ctx, claim)


cdef inline mlpf_claim claim_runs(void* p0, ptrdiff_t bytes0, void* p1=NULL, ptrdiff_t bytes1=0,
                                  void* p2=NULL, ptrdiff_t bytes2=0) noexcept nogil:
    """A claim (gemm.h) of up to three runs of bytes."""
    cdef mlpf_claim c
    c.p[0], c.p[1], c.p[2] = p0, p1, p2
    c.bytes[0], c.bytes[1], c.bytes[2] = bytes0, bytes1, bytes2
    return c


cdef inline list simd_paths():
    """Names of the SIMD paths, indexed by their codes."""
    cdef int p
    names = []
    for p in range(MLPF_SIMD_COUNT):
        names.append(mlpf_simd_name(p).decode())
    return names


cdef inline int force_simd_path(name) except -1:
    """Force the GEMM path by name (None: the best this CPU supports)."""
    paths = simd_paths()
    if name is None:
        mlpf_simd_set(-1)
    elif name not in paths:
        raise ValueError(f"simd path must be one of {paths} or None, got {name!r}")
    elif mlpf_simd_set(paths.index(name)) != 0:
        raise ValueError(f"this CPU cannot run the {name} path")
    return 0
