# Activation cores: f and f' of every activation on strided blocks, nogil.
#
# Design
# ------
# * One fused `floating` type; each dtype computes in its own precision.
#   sigmoid, tanh, elu, swish, softplus, gelu and gelu_tanh (and the
#   derivatives of swish, softplus, gelu and gelu_tanh) use vmath.h: exp-based
#   forms in C that gcc vectorises (libm calls keep a loop scalar), within 3
#   (tanh) and 6 (sigmoid, elu, softplus, swish) float32 ulp of the exact values
#   (test_activations.py measures it); gelu's Φ from a series
#   near 0 and e^{-z²/2} times a fitted Chebyshev series beyond (within 3e-8
#   float, 8e-15 double, relative).
# * The switch on `kind` sits outside the loops: each kind has its own tight
#   row loop, so gcc vectorises the branch-free ones (relu, leaky, prelu,
#   identity, and the backward of sigmoid, tanh, elu).  gcc keeps -ftrapping-math,
#   so a select feeding float arithmetic is written as max/min patterns or
#   with a 0/1 mask m (x·(m + (1-m)γ)): exact, and branch free.
# * Overflow-safe forms, finite for every finite z (±1e30, ±dtype max):
#   σ(z) from e = exp(-|z|) ≤ 1 as 1/(1+e) or e/(1+e) (so 1-σ is exact too;
#   vmath.h);
#   softplus(z) = max(z,0) + log1p(e); elu via expm1; gelu's Φ(z) from its
#   left tail Φ(-|z|) (no cancellation there; 1 - Φ(-|z|) on the right);
#   gelu_tanh via ½(1+tanh u) = σ(2u), with z clamped at ±1e3 where σ(2u) is
#   already exactly 0 or 1 (keeps z³ and z²·0 from making inf or nan).
# * f' from a = f(z) where that is cheap and accurate (sigmoid a(1-a), tanh
#   (1-a)(1+a), elu a+γ); from z otherwise (softplus σ(z), swish, gelu).
# * Parallel drivers split rows (forward/backward) or column blocks (prelu's
#   dγ, each column summed over all rows in order) statically over threads:
#   every output element is computed by the same code in the same order, so
#   results are bitwise identical for any thread count.  A thread is only
#   started for a grain of elements (32768 for vectorised loops, 2048 for
#   libm ones), so small layers do not pay for a parallel region.
from cython cimport floating
from cython.parallel cimport prange

cdef enum:
    IDENTITY = 0
    SIGMOID = 1
    TANH = 2
    RELU = 3
    LEAKY_RELU = 4
    PRELU = 5
    ELU = 6
    SOFTPLUS = 7
    SWISH = 8
    GELU = 9
    GELU_TANH = 10

# constants of DESIGN §4 (swish's β = 1 is folded into the formulas)
cdef extern from *:
    """
    #ifndef MLPF_ACT_CONSTANTS
    #define MLPF_ACT_CONSTANTS
    #define MLPF_LEAKY_SLOPE 0.01
    #define MLPF_ELU_ALPHA 1.0
    #define MLPF_GELU_C 0.79788456080286535588       /* sqrt(2/pi) */
    #define MLPF_GELU_K 0.044715
    #define MLPF_GELU_TANH_CLAMP 1e3
    #define MLPF_DGAMMA_COLS 64                      /* column block of prelu's dgamma */
    #define MLPF_GRAIN_CHEAP 32768    /* elements per thread, at least: vectorised loops */
    #define MLPF_GRAIN_LIBM 2048      /* ... loops calling exp, tanh, erfc, ... */
    /* x, hidden from constant folding: with -ftrapping-math gcc turns a select
       between known constants back into branches and cannot vectorise them */
    static inline double mlpf_opaque(double x) {
    #if defined(__GNUC__)
        __asm__("" : "+g"(x));
    #endif
        return x;
    }
    #endif
    """
    const double LEAKY_SLOPE "MLPF_LEAKY_SLOPE"
    const double ELU_ALPHA "MLPF_ELU_ALPHA"
    const double GELU_C "MLPF_GELU_C"
    const double GELU_K "MLPF_GELU_K"
    const double GELU_TANH_CLAMP "MLPF_GELU_TANH_CLAMP"
    const Py_ssize_t DGAMMA_COLS "MLPF_DGAMMA_COLS"
    const Py_ssize_t GRAIN_CHEAP "MLPF_GRAIN_CHEAP"
    const Py_ssize_t GRAIN_LIBM "MLPF_GRAIN_LIBM"
    double opaque "mlpf_opaque"(double x) noexcept nogil


cdef extern from "vmath.h":
    void tanh_rows_f32 "mlpf_tanh_rows_f32"(Py_ssize_t rows, Py_ssize_t n, const float* Z,
                                            Py_ssize_t ldz, float* A, Py_ssize_t lda) noexcept nogil
    void tanh_rows_f64 "mlpf_tanh_rows_f64"(Py_ssize_t rows, Py_ssize_t n, const double* Z,
                                            Py_ssize_t ldz, double* A, Py_ssize_t lda) noexcept nogil
    void sigmoid_rows_f32 "mlpf_sigmoid_rows_f32"(Py_ssize_t rows, Py_ssize_t n, const float* Z,
                                                  Py_ssize_t ldz, float* A,
                                                  Py_ssize_t lda) noexcept nogil
    void sigmoid_rows_f64 "mlpf_sigmoid_rows_f64"(Py_ssize_t rows, Py_ssize_t n, const double* Z,
                                                  Py_ssize_t ldz, double* A,
                                                  Py_ssize_t lda) noexcept nogil
    void swish_rows_f32 "mlpf_swish_rows_f32"(Py_ssize_t rows, Py_ssize_t n, const float* Z,
                                              Py_ssize_t ldz, float* A, Py_ssize_t lda) noexcept nogil
    void swish_rows_f64 "mlpf_swish_rows_f64"(Py_ssize_t rows, Py_ssize_t n, const double* Z,
                                              Py_ssize_t ldz, double* A,
                                              Py_ssize_t lda) noexcept nogil
    void softplus_rows_f32 "mlpf_softplus_rows_f32"(Py_ssize_t rows, Py_ssize_t n, const float* Z,
                                                    Py_ssize_t ldz, float* A,
                                                    Py_ssize_t lda) noexcept nogil
    void softplus_rows_f64 "mlpf_softplus_rows_f64"(Py_ssize_t rows, Py_ssize_t n,
                                                    const double* Z, Py_ssize_t ldz, double* A,
                                                    Py_ssize_t lda) noexcept nogil
    void elu_rows_f32 "mlpf_elu_rows_f32"(Py_ssize_t rows, Py_ssize_t n, const float* Z,
                                          Py_ssize_t ldz, float* A, Py_ssize_t lda,
                                          float alpha) noexcept nogil
    void elu_rows_f64 "mlpf_elu_rows_f64"(Py_ssize_t rows, Py_ssize_t n, const double* Z,
                                          Py_ssize_t ldz, double* A, Py_ssize_t lda,
                                          double alpha) noexcept nogil
    void gelu_tanh_rows_f32 "mlpf_gelu_tanh_rows_f32"(
        Py_ssize_t rows, Py_ssize_t n, const float* Z, Py_ssize_t ldz, float* A, Py_ssize_t lda,
        float clamp, float c2, float k) noexcept nogil
    void gelu_tanh_rows_f64 "mlpf_gelu_tanh_rows_f64"(
        Py_ssize_t rows, Py_ssize_t n, const double* Z, Py_ssize_t ldz, double* A,
        Py_ssize_t lda, double clamp, double c2, double k) noexcept nogil
    void gelu_rows_f32 "mlpf_gelu_rows_f32"(Py_ssize_t rows, Py_ssize_t n, const float* Z,
                                            Py_ssize_t ldz, float* A, Py_ssize_t lda) noexcept nogil
    void gelu_rows_f64 "mlpf_gelu_rows_f64"(Py_ssize_t rows, Py_ssize_t n, const double* Z,
                                            Py_ssize_t ldz, double* A,
                                            Py_ssize_t lda) noexcept nogil
    void gelu_back_rows_f32 "mlpf_gelu_back_rows_f32"(
        Py_ssize_t rows, Py_ssize_t n, const float* G, Py_ssize_t ldg, const float* Z,
        Py_ssize_t ldz, float* D, Py_ssize_t ldd) noexcept nogil
    void gelu_back_rows_f64 "mlpf_gelu_back_rows_f64"(
        Py_ssize_t rows, Py_ssize_t n, const double* G, Py_ssize_t ldg, const double* Z,
        Py_ssize_t ldz, double* D, Py_ssize_t ldd) noexcept nogil
    void softplus_back_rows_f32 "mlpf_softplus_back_rows_f32"(
        Py_ssize_t rows, Py_ssize_t n, const float* G, Py_ssize_t ldg, const float* Z,
        Py_ssize_t ldz, float* D, Py_ssize_t ldd) noexcept nogil
    void softplus_back_rows_f64 "mlpf_softplus_back_rows_f64"(
        Py_ssize_t rows, Py_ssize_t n, const double* G, Py_ssize_t ldg, const double* Z,
        Py_ssize_t ldz, double* D, Py_ssize_t ldd) noexcept nogil
    void swish_back_rows_f32 "mlpf_swish_back_rows_f32"(
        Py_ssize_t rows, Py_ssize_t n, const float* G, Py_ssize_t ldg, const float* Z,
        Py_ssize_t ldz, float* D, Py_ssize_t ldd) noexcept nogil
    void swish_back_rows_f64 "mlpf_swish_back_rows_f64"(
        Py_ssize_t rows, Py_ssize_t n, const double* G, Py_ssize_t ldg, const double* Z,
        Py_ssize_t ldz, double* D, Py_ssize_t ldd) noexcept nogil
    void gelu_tanh_back_rows_f32 "mlpf_gelu_tanh_back_rows_f32"(
        Py_ssize_t rows, Py_ssize_t n, const float* G, Py_ssize_t ldg, const float* Z,
        Py_ssize_t ldz, float* D, Py_ssize_t ldd, float clamp, float c2, float k,
        float k3) noexcept nogil
    void gelu_tanh_back_rows_f64 "mlpf_gelu_tanh_back_rows_f64"(
        Py_ssize_t rows, Py_ssize_t n, const double* G, Py_ssize_t ldg, const double* Z,
        Py_ssize_t ldz, double* D, Py_ssize_t ldd, double clamp, double c2, double k,
        double k3) noexcept nogil


# ---------------------------------------------------------------- forward

cdef inline void activation_forward_block(
        int kind, Py_ssize_t rows, Py_ssize_t cols,
        const floating* Z, Py_ssize_t ldz, floating* A, Py_ssize_t lda,
        const floating* gamma) noexcept nogil:
    """A = f(Z) (overwrite; A may be Z).   Z, A (rows, cols) with row strides ldz, lda;
    gamma: the γ of the block's first column (prelu only, else NULL)."""
    cdef Py_ssize_t i, j
    cdef const floating* z
    cdef floating* a
    cdef floating x, e, s, m
    cdef floating alpha = <floating>ELU_ALPHA
    cdef floating T = <floating>GELU_TANH_CLAMP
    if (kind == TANH or kind == SIGMOID or kind == SWISH or kind == SOFTPLUS
            or kind == GELU):                # vmath.h
        if floating is float:
            (tanh_rows_f32 if kind == TANH else sigmoid_rows_f32 if kind == SIGMOID
             else swish_rows_f32 if kind == SWISH else softplus_rows_f32 if kind == SOFTPLUS
             else gelu_rows_f32)(rows, cols, Z, ldz, A, lda)
        else:
            (tanh_rows_f64 if kind == TANH else sigmoid_rows_f64 if kind == SIGMOID
             else swish_rows_f64 if kind == SWISH else softplus_rows_f64 if kind == SOFTPLUS
             else gelu_rows_f64)(rows, cols, Z, ldz, A, lda)
        return
    if kind == ELU:                          # z, or α(e^z - 1) for z ≤ 0
        if floating is float:
            elu_rows_f32(rows, cols, Z, ldz, A, lda, alpha)
        else:
            elu_rows_f64(rows, cols, Z, ldz, A, lda, alpha)
        return
    if kind == GELU_TANH:                    # z σ(2u), 2u = 2√(2/π)(x + 0.044715 x³), x clamped
        if floating is float:
            gelu_tanh_rows_f32(rows, cols, Z, ldz, A, lda, T, <float>(2 * GELU_C),
                               <float>GELU_K)
        else:
            gelu_tanh_rows_f64(rows, cols, Z, ldz, A, lda, T, 2 * GELU_C, GELU_K)
        return
    for i in range(rows):
        z = Z + i * ldz
        a = A + i * lda
        if kind == IDENTITY:
            if a != z:
                for j in range(cols):
                    a[j] = z[j]
        elif kind == RELU:
            for j in range(cols):
                a[j] = z[j] if z[j] > 0 else 0
        elif kind == LEAKY_RELU:
            s = <floating>opaque(LEAKY_SLOPE)
            for j in range(cols):
                x = z[j]
                a[j] = (x if x > 0 else 0) + s * (x if x < 0 else 0)
        elif kind == PRELU:
            for j in range(cols):
                x = z[j]
                m = x > 0
                a[j] = x * (m + (1 - m) * gamma[j])


# ---------------------------------------------------------------- backward

cdef inline void activation_backward_block(
        int kind, Py_ssize_t rows, Py_ssize_t cols,
        const floating* dA, Py_ssize_t ldda, const floating* Z, Py_ssize_t ldz,
        const floating* A, Py_ssize_t lda, floating* dZ, Py_ssize_t lddz,
        const floating* gamma) noexcept nogil:
    """dZ = dA ⊙ f'(Z) (overwrite; dZ may be dA).   dA, Z, A = f(Z), dZ (rows, cols)
    with row strides ldda, ldz, lda, lddz; gamma as in the forward (prelu only)."""
    cdef Py_ssize_t i, j
    cdef const floating* g
    cdef const floating* z
    cdef const floating* a
    cdef floating* d
    cdef floating x, y, m
    cdef floating leak = <floating>LEAKY_SLOPE, alpha = <floating>ELU_ALPHA
    cdef floating T = <floating>GELU_TANH_CLAMP
    cdef floating k3 = <floating>(3 * GELU_K), c2 = <floating>(2 * GELU_C)
    if kind == SWISH or kind == SOFTPLUS or kind == GELU:  # σ(1 + z(1-σ)) ; σ ; Φ + zφ  (vmath.h)
        if floating is float:
            (swish_back_rows_f32 if kind == SWISH else softplus_back_rows_f32
             if kind == SOFTPLUS else gelu_back_rows_f32)(rows, cols, dA, ldda, Z, ldz, dZ, lddz)
        else:
            (swish_back_rows_f64 if kind == SWISH else softplus_back_rows_f64
             if kind == SOFTPLUS else gelu_back_rows_f64)(rows, cols, dA, ldda, Z, ldz, dZ, lddz)
        return
    if kind == GELU_TANH:                    # s(1 + x·2u'·(1-s)), s = σ(2u)  (vmath.h)
        if floating is float:
            gelu_tanh_back_rows_f32(rows, cols, dA, ldda, Z, ldz, dZ, lddz, T, c2,
                                    <float>GELU_K, k3)
        else:
            gelu_tanh_back_rows_f64(rows, cols, dA, ldda, Z, ldz, dZ, lddz, T, c2, GELU_K, k3)
        return
    for i in range(rows):
        g = dA + i * ldda
        z = Z + i * ldz
        a = A + i * lda
        d = dZ + i * lddz
        if kind == IDENTITY:
            if d != g:
                for j in range(cols):
                    d[j] = g[j]
        elif kind == SIGMOID:                       # σ' = a(1-a)
            for j in range(cols):
                d[j] = g[j] * (a[j] * (1 - a[j]))
        elif kind == TANH:                          # 1-a² = (1-a)(1+a)
            for j in range(cols):
                d[j] = g[j] * ((1 - a[j]) * (1 + a[j]))
        elif kind == RELU:
            for j in range(cols):
                y = g[j]
                d[j] = y if z[j] > 0 else 0
        elif kind == LEAKY_RELU:
            for j in range(cols):
                d[j] = g[j] * (1 if z[j] > 0 else leak)
        elif kind == PRELU:
            for j in range(cols):
                m = z[j] > 0
                d[j] = g[j] * (m + (1 - m) * gamma[j])
        elif kind == ELU:                           # γe^z = a + γ for z ≤ 0
            for j in range(cols):
                m = z[j] > 0
                d[j] = g[j] * (m + (1 - m) * (a[j] + alpha))


cdef inline void prelu_dgamma_block(
        Py_ssize_t rows, Py_ssize_t cols, const floating* dA, Py_ssize_t ldda,
        const floating* Z, Py_ssize_t ldz, floating* dgamma) noexcept nogil:
    """dγ_j += Σ_{i: z_ij ≤ 0} dA_ij z_ij (accumulate, rows in order).   dA, Z (rows, cols),
    dgamma (cols,).  dA is ∂J/∂A (before any in-place product with f')."""
    cdef Py_ssize_t i, j
    cdef const floating* g
    cdef const floating* z
    cdef floating x
    for i in range(rows):
        g = dA + i * ldda
        z = Z + i * ldz
        for j in range(cols):
            x = z[j]
            dgamma[j] += g[j] * (x if x <= 0 else 0)


# ---------------------------------------------------------------- parallel drivers

cdef inline int _row_threads(bint cheap, Py_ssize_t n, Py_ssize_t m,
                             int n_threads) noexcept nogil:
    """Threads worth starting for n x m elements: at most n_threads and n, and at
    least a grain of elements each (a parallel region costs microseconds)."""
    cdef Py_ssize_t nt = n * m // (GRAIN_CHEAP if cheap else GRAIN_LIBM)
    if nt > n_threads:
        nt = n_threads
    if nt > n:
        nt = n
    return <int>nt if nt > 1 else 1


cdef inline void activation_forward_rows(
        int kind, Py_ssize_t n, Py_ssize_t m, const floating* Z, floating* A,
        const floating* gamma, int n_threads) noexcept nogil:
    """A = f(Z) (overwrite; A may be Z), rows split statically over threads.
    Z, A (n, m) C-contiguous; gamma (m,) for prelu, else NULL."""
    cdef Py_ssize_t t, r0, r1
    cdef bint cheap = kind == IDENTITY or RELU <= kind <= PRELU
    cdef int nt = _row_threads(cheap, n, m, n_threads)
    if nt <= 1:
        activation_forward_block(kind, n, m, Z, m, A, m, gamma)
        return
    for t in prange(nt, schedule='static', num_threads=nt):
        r0 = n * t // nt
        r1 = n * (t + 1) // nt
        activation_forward_block(kind, r1 - r0, m, Z + r0 * m, m, A + r0 * m, m, gamma)


cdef inline void prelu_dgamma_cols(
        Py_ssize_t n, Py_ssize_t m, const floating* dA, const floating* Z,
        floating* dgamma, int n_threads) noexcept nogil:
    """dγ_j = Σ_{i: z_ij ≤ 0} dA_ij z_ij (overwrite), column blocks split over threads,
    each column summed over all rows in order.   dA, Z (n, m) C-contiguous, dgamma (m,)."""
    cdef Py_ssize_t b, j, c0, c1, nb = (m + DGAMMA_COLS - 1) // DGAMMA_COLS
    cdef int nt = _row_threads(True, nb, n * DGAMMA_COLS, n_threads)
    for j in range(m):
        dgamma[j] = 0
    if nt <= 1:
        prelu_dgamma_block(n, m, dA, m, Z, m, dgamma)
        return
    for b in prange(nb, schedule='static', num_threads=nt):
        c0 = b * DGAMMA_COLS
        c1 = c0 + DGAMMA_COLS if c0 + DGAMMA_COLS < m else m
        prelu_dgamma_block(n, c1 - c0, dA + c0, m, Z + c0, m, dgamma + c0)


cdef inline void activation_backward_rows(
        int kind, Py_ssize_t n, Py_ssize_t m, const floating* dA, const floating* Z,
        const floating* A, floating* dZ, const floating* gamma, floating* dgamma,
        int n_threads) noexcept nogil:
    """dZ = dA ⊙ f'(Z) (overwrite; dZ may be dA), rows split statically over threads;
    prelu with dgamma != NULL: first dγ = Σ_{z≤0} dA z (overwrite).
    dA, Z, A = f(Z), dZ (n, m) C-contiguous; gamma, dgamma (m,) for prelu."""
    cdef Py_ssize_t t, r0, r1
    cdef bint cheap = kind <= ELU           # f' from z or a, no libm call
    cdef int nt = _row_threads(cheap, n, m, n_threads)
    if kind == PRELU and dgamma != NULL:     # before dZ may overwrite dA
        prelu_dgamma_cols(n, m, dA, Z, dgamma, n_threads)
    if nt <= 1:
        activation_backward_block(kind, n, m, dA, m, Z, m, A, m, dZ, m, gamma)
        return
    for t in prange(nt, schedule='static', num_threads=nt):
        r0 = n * t // nt
        r1 = n * (t + 1) // nt
        activation_backward_block(kind, r1 - r0, m, dA + r0 * m, m, Z + r0 * m, m,
                                  A + r0 * m, m, dZ + r0 * m, m, gamma)
