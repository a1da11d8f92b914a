# The linear layer's cores: one GEMM each, with what follows the product fused
# into the GEMM's epilogue, so it runs on each output rectangle while it is hot:
#   forward   Z = X W + b, A = f(Z)               (bias, activation)
#   backward  dW = Xᵀ dZ + l2 W, db = Σ_rows dZ    (decay, bias gradient beside)
#             with Xᵀ dZ = X₀ᵀ dZ₀ + X₁ᵀ dZ₁ over the batch's halves (rows [0, ⌈N/2⌉)
#             and the rest): one fold, whatever the threads (the engine's two
#             threads each take a band of dW's rows, ldx)
#             dX = (dZ Wᵀ) ⊙ f'(prev_Z)            (the δ recurrence's product)
# Every loop writes disjoint outputs, so results do not depend on threads.
from cython cimport floating
from libc.stddef cimport ptrdiff_t

from activations cimport RELU, activation_backward_block, activation_forward_block
from finite cimport all_finite, flag_set
from gemm cimport gemm_core, mlpf_claim, mlpf_epilogue, mlpf_own_lines as own_lines

cdef enum:
    DB_COLS = 128            # columns of db summed per sweep over the rows (stack doubles)


# The epilogues' hottest loops in C, built for AVX-512 / AVX2 / baseline and picked
# at load time (clones.h): adds, compares and selects only, so every clone
# computes the same bits.
cdef extern from *:
    """
    #ifndef MLPF_EPI_KERNELS
    #define MLPF_EPI_KERNELS
    #include <stddef.h>
    #include "clones.h"
    /* Z += b on each row; A = relu(Z) too when A is not NULL (A may be Z).  rows x n,
       stride ld. */
    #define MLPF_DEF_BIAS_RELU(T, S) \\
    MLPF_CLONES static void mlpf_bias_relu_##S(ptrdiff_t rows, ptrdiff_t n, \\
            T *Z, T *A, ptrdiff_t ld, const T *restrict b) { \\
        for (ptrdiff_t i = 0; i < rows; i++) { \\
            T *z = Z + i * ld; \\
            if (A) { \\
                T *a = A + i * ld; \\
                for (ptrdiff_t j = 0; j < n; j++) { T x = z[j] + b[j]; z[j] = x; a[j] = x > 0 ? x : 0; } \\
            } else { \\
                for (ptrdiff_t j = 0; j < n; j++) z[j] += b[j]; \\
            } \\
        } \\
    }
    /* D = G where Z > 0, else 0 (D may be G).  rows x n, strides ldg, ldz, ldd. */
    #define MLPF_DEF_RELU_BACK(T, S) \\
    MLPF_CLONES static void mlpf_relu_backward_##S(ptrdiff_t rows, ptrdiff_t n, \\
            const T *G, ptrdiff_t ldg, const T *restrict Z, ptrdiff_t ldz, T *D, ptrdiff_t ldd) { \\
        for (ptrdiff_t i = 0; i < rows; i++) { \\
            const T *g = G + i * ldg, *z = Z + i * ldz; T *d = D + i * ldd; \\
            for (ptrdiff_t j = 0; j < n; j++) { T y = g[j]; d[j] = z[j] > 0 ? y : 0; } \\
        } \\
    }
    /* acc[j] = Σ_i dZ[i, j] in double, rows in order from 0 + dZ[0, j].  rows >= 1. */
    #define MLPF_DEF_COLSUM(T, S) \\
    MLPF_CLONES static void mlpf_colsum_##S(ptrdiff_t rows, ptrdiff_t n, \\
            const T *restrict dZ, ptrdiff_t ld, double *restrict acc) { \\
        for (ptrdiff_t j = 0; j < n; j++) acc[j] = 0.0 + (double)dZ[j]; \\
        for (ptrdiff_t i = 1; i < rows; i++) { \\
            const T *r = dZ + i * ld; \\
            for (ptrdiff_t j = 0; j < n; j++) acc[j] += (double)r[j]; \\
        } \\
    }
    MLPF_DEF_BIAS_RELU(float, f32)
    MLPF_DEF_BIAS_RELU(double, f64)
    MLPF_DEF_RELU_BACK(float, f32)
    MLPF_DEF_RELU_BACK(double, f64)
    MLPF_DEF_COLSUM(float, f32)
    MLPF_DEF_COLSUM(double, f64)
    #endif
    """
    void bias_relu_f32 "mlpf_bias_relu_f32"(ptrdiff_t rows, ptrdiff_t n, float* Z, float* A,
                                            ptrdiff_t ld, const float* b) noexcept nogil
    void bias_relu_f64 "mlpf_bias_relu_f64"(ptrdiff_t rows, ptrdiff_t n, double* Z, double* A,
                                            ptrdiff_t ld, const double* b) noexcept nogil
    void relu_backward_f32 "mlpf_relu_backward_f32"(ptrdiff_t rows, ptrdiff_t n, const float* G,
                                                    ptrdiff_t ldg, const float* Z, ptrdiff_t ldz,
                                                    float* D, ptrdiff_t ldd) noexcept nogil
    void relu_backward_f64 "mlpf_relu_backward_f64"(ptrdiff_t rows, ptrdiff_t n, const double* G,
                                                    ptrdiff_t ldg, const double* Z, ptrdiff_t ldz,
                                                    double* D, ptrdiff_t ldd) noexcept nogil
    void colsum_f32 "mlpf_colsum_f32"(ptrdiff_t rows, ptrdiff_t n, const float* dZ, ptrdiff_t ld,
                                      double* acc) noexcept nogil
    void colsum_f64 "mlpf_colsum_f64"(ptrdiff_t rows, ptrdiff_t n, const double* dZ, ptrdiff_t ld,
                                      double* acc) noexcept nogil


cdef struct Epilogue:
    # one struct for all three epilogues; unused fields stay NULL / 0
    bint f64
    int kind                 # activation code
    void* out                # the GEMM's output (Z, dW or dX), row stride ld
    ptrdiff_t ld
    void* act                # forward: A (NULL: none)
    const void* vec          # forward: b ; backward dW: NULL
    const void* gamma        # forward prelu γ
    const void* aux          # dW: W ; dX: prev_Z ; db: dZ
    const void* aux2         # dX: prev_A
    void* db                 # dW: db (NULL: none)
    ptrdiff_t n_rows         # dW: rows of dZ (the batch) for db
    double l2
    int* nonfinite           # dW: set to 1 when a NaN or inf is written (NULL: no check)
    bint own_w               # dW: take W's lines for writing, tile by tile (see weight_grad_core)


cdef inline void _forward_tile(Epilogue* e, floating* Z, floating* A, const floating* b,
                               const floating* gamma, ptrdiff_t r0, ptrdiff_t r1,
                               ptrdiff_t c0, ptrdiff_t c1) noexcept nogil:
    """Bias then activation row by row, while the row is in L1 (relu, identity: one
    vectorised pass)."""
    cdef ptrdiff_t i, j, ld = e.ld
    cdef floating* z
    if A == NULL or e.kind == RELU:
        if floating is float:
            bias_relu_f32(r1 - r0, c1 - c0, Z + r0 * ld + c0,
                          NULL if A == NULL else A + r0 * ld + c0, ld, b + c0)
        else:
            bias_relu_f64(r1 - r0, c1 - c0, Z + r0 * ld + c0,
                          NULL if A == NULL else A + r0 * ld + c0, ld, b + c0)
        return
    for i in range(r0, r1):
        z = Z + i * ld
        for j in range(c0, c1):
            z[j] += b[j]
        activation_forward_block(e.kind, 1, c1 - c0, z + c0, ld, A + i * ld + c0, ld,
                                 NULL if gamma == NULL else gamma + c0)


cdef inline void forward_epilogue(void* ctx, ptrdiff_t r0, ptrdiff_t r1,
                                  ptrdiff_t c0, ptrdiff_t c1) noexcept nogil:
    cdef Epilogue* e = <Epilogue*>ctx
    if e.f64:
        _forward_tile(e, <double*>e.out, <double*>e.act, <const double*>e.vec,
                      <const double*>e.gamma, r0, r1, c0, c1)
    else:
        _forward_tile(e, <float*>e.out, <float*>e.act, <const float*>e.vec,
                      <const float*>e.gamma, r0, r1, c0, c1)


cdef inline void bias_grad_cols(floating* db, const floating* dZ, ptrdiff_t ld,
                                ptrdiff_t n_rows, ptrdiff_t c0, ptrdiff_t c1) noexcept nogil:
    """db_j = Σ_i dZ_ij for j in [c0, c1) (overwrite).   dZ (n_rows, ld).
    Each db_j is a double sum over the rows in order (so independent of how the
    columns are split); rows are walked contiguously, DB_COLS columns at a time."""
    cdef double acc[DB_COLS]
    cdef ptrdiff_t j, cb, w
    cb = c0
    while cb < c1:
        w = c1 - cb if c1 - cb < DB_COLS else DB_COLS
        if floating is float:
            colsum_f32(n_rows, w, dZ + cb, ld, acc)
        else:
            colsum_f64(n_rows, w, dZ + cb, ld, acc)
        for j in range(w):
            db[cb + j] = <floating>acc[j]
        cb += w


cdef inline void _weight_grad_tile(Epilogue* e, floating* dW, const floating* W,
                                   floating* db, const floating* dZ, ptrdiff_t r0,
                                   ptrdiff_t r1, ptrdiff_t c0, ptrdiff_t c1) noexcept nogil:
    cdef ptrdiff_t i, j, ld = e.ld
    cdef floating l2 = <floating>e.l2
    if e.l2 != 0:
        for i in range(r0, r1):
            for j in range(c0, c1):
                dW[i * ld + j] += l2 * W[i * ld + j]
    if db != NULL and r0 == 0:   # the rectangles holding row 0 cover each column once
        bias_grad_cols(db, dZ, ld, e.n_rows, c0, c1)
    if e.own_w:
        if c1 - c0 == ld:
            own_lines(<void*>(W + r0 * ld), (r1 - r0) * ld * sizeof(floating))
        else:
            for i in range(r0, r1):
                own_lines(<void*>(W + i * ld + c0), (c1 - c0) * sizeof(floating))
    if e.nonfinite == NULL:
        return
    if c1 - c0 == ld:            # whole rows: one contiguous run, one call (small: 320
        if not all_finite(dW + r0 * ld, (r1 - r0) * ld):    # calls a step took 2% of it)
            flag_set(e.nonfinite)
        return
    for i in range(r0, r1):      # while the rectangle is in L1
        if not all_finite(dW + i * ld + c0, c1 - c0):
            flag_set(e.nonfinite)
            break


cdef inline void weight_grad_epilogue(void* ctx, ptrdiff_t r0, ptrdiff_t r1,
                                      ptrdiff_t c0, ptrdiff_t c1) noexcept nogil:
    cdef Epilogue* e = <Epilogue*>ctx
    if e.f64:
        _weight_grad_tile(e, <double*>e.out, <const double*>e.aux2, <double*>e.db,
                          <const double*>e.aux, r0, r1, c0, c1)
    else:
        _weight_grad_tile(e, <float*>e.out, <const float*>e.aux2, <float*>e.db,
                          <const float*>e.aux, r0, r1, c0, c1)


cdef inline void _input_grad_tile(Epilogue* e, floating* dX, const floating* Zp,
                                  const floating* Ap, ptrdiff_t r0, ptrdiff_t r1,
                                  ptrdiff_t c0, ptrdiff_t c1) noexcept nogil:
    cdef ptrdiff_t ld = e.ld, off = r0 * ld + c0
    if e.kind == RELU:
        if floating is float:
            relu_backward_f32(r1 - r0, c1 - c0, dX + off, ld, Zp + off, ld, dX + off, ld)
        else:
            relu_backward_f64(r1 - r0, c1 - c0, dX + off, ld, Zp + off, ld, dX + off, ld)
        return
    activation_backward_block(e.kind, r1 - r0, c1 - c0, dX + off, ld, Zp + off, ld,
                              Ap + off, ld, dX + off, ld, NULL)


cdef inline void input_grad_epilogue(void* ctx, ptrdiff_t r0, ptrdiff_t r1,
                                     ptrdiff_t c0, ptrdiff_t c1) noexcept nogil:
    cdef Epilogue* e = <Epilogue*>ctx
    if e.f64:
        _input_grad_tile(e, <double*>e.out, <const double*>e.aux, <const double*>e.aux2,
                         r0, r1, c0, c1)
    else:
        _input_grad_tile(e, <float*>e.out, <const float*>e.aux, <const float*>e.aux2,
                         r0, r1, c0, c1)


cdef inline int linear_forward_core(ptrdiff_t N, ptrdiff_t K, ptrdiff_t M, floating* Z,
                                    floating* A, const floating* X, const floating* W,
                                    const floating* b, int kind, const floating* gamma,
                                    int n_threads, bint handoff=False,
                                    const mlpf_claim* claim=NULL) noexcept nogil:
    """Z = X W + b ; A = f(Z) unless A is NULL.   X (N, K), W (K, M), Z, A (N, M).
    handoff: threads from the hand-off team (inference; see team.h).  claim: memory
    the caller writes next, taken for writing meanwhile (gemm.h).
    Returns 0, or -1 when out of memory."""
    cdef Epilogue e
    e.f64 = floating is double
    e.kind = kind
    e.out = Z
    e.ld = M
    e.act = A
    e.vec = b
    e.gamma = gamma
    return gemm_core(False, False, N, M, K, X, K, W, M, Z, M, False, n_threads,
                     forward_epilogue, &e, handoff, 0, claim)


cdef inline int weight_grad_core(ptrdiff_t N, ptrdiff_t K, ptrdiff_t M, floating* dW,
                                 floating* db, const floating* X, const floating* W,
                                 const floating* dZ, double l2, int* nonfinite,
                                 int n_threads, ptrdiff_t ldx=0, bint own_w=False) noexcept nogil:
    """dW = Xᵀ dZ + l2 W ; db = Σ_rows dZ unless db is NULL ; *nonfinite = 1 if dW holds
    a NaN or inf (unless nonfinite is NULL; never reset).   X (N, K) with row stride ldx
    (0: K; a wider X gives a band of dW's rows), W, dW (K, M), dZ (N, M).  Xᵀ dZ is
    summed as its two halves' products (a K-block boundary at ⌈N/2⌉), as the header
    says.  own_w: W is about to be updated here and another core has read it since
    its last update; each tile of W is taken for writing (values unchanged; the
    store of a claim, gemm.h) right after its tile of dW, while the products still
    run, rather than by the update's stores, which would wait for the other core's
    copies.  (Tile by tile rather than spread as a claim: small's dW phase took
    21.1 us a step so and 21.7 spread.)  Returns 0, or -1 when out of memory."""
    cdef Epilogue e
    e.f64 = floating is double
    e.out = dW
    e.ld = M
    e.aux = dZ
    e.aux2 = W
    e.db = db
    e.n_rows = N
    e.l2 = l2
    e.nonfinite = nonfinite
    e.own_w = own_w
    return gemm_core(True, False, K, M, N, X, ldx if ldx > 0 else K, dZ, M, dW, M, False,
                     n_threads, weight_grad_epilogue, &e, False, (N + 1) // 2)


cdef inline int input_grad_core(ptrdiff_t N, ptrdiff_t K, ptrdiff_t M, floating* dX,
                                const floating* W, const floating* dZ, int prev_kind,
                                const floating* prev_Z, const floating* prev_A,
                                int n_threads) noexcept nogil:
    """dX = (dZ Wᵀ) ⊙ f'(prev_Z) (prev_kind 0: no f').   W (K, M), dZ (N, M); dX, prev_Z,
    prev_A (N, K).  Returns 0, or -1 when out of memory."""
    cdef Epilogue e
    e.f64 = floating is double
    e.kind = prev_kind
    e.out = dX
    e.ld = K
    e.aux = prev_Z
    e.aux2 = prev_A
    cdef mlpf_epilogue epi = NULL
    if prev_kind != 0:
        epi = input_grad_epilogue
    return gemm_core(False, True, N, K, M, dZ, M, W, M, dX, K, False, n_threads, epi, &e)


cdef inline int linear_backward_core(ptrdiff_t N, ptrdiff_t K, ptrdiff_t M, floating* dW,
                                     floating* db, floating* dX, const floating* X,
                                     const floating* W, const floating* dZ, double l2,
                                     int prev_kind, const floating* prev_Z,
                                     const floating* prev_A, int* nonfinite,
                                     int n_threads) noexcept nogil:
    """dW = Xᵀ dZ + l2 W ; db = Σ_rows dZ ; dX = (dZ Wᵀ) ⊙ f'(prev_Z) unless dX is NULL;
    nonfinite as weight_grad_core.   X (N, K), W (K, M), dZ (N, M); prev_Z, prev_A
    (N, K).  Returns 0, or -1 (memory)."""
    cdef int rc = weight_grad_core(N, K, M, dW, db, X, W, dZ, l2, nonfinite, n_threads)
    if rc != 0 or dX == NULL:
        return rc
    return input_grad_core(N, K, M, dX, W, dZ, prev_kind, prev_Z, prev_A, n_threads)
