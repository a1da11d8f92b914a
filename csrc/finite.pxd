# No NaN or inf in an array: used by the engine (X, the gradients) and by the
# weight-gradient epilogue (linalg.pxd), which checks each tile of dW while it is
# in L1 instead of the engine reading every gradient again.
from cython cimport floating

cdef extern from *:
    """
    #ifndef MLPF_FINITE
    #define MLPF_FINITE
    #include <stddef.h>
    #include <stdint.h>
    #include "clones.h"
    /* 1 if no NaN or inf among x[0:n]: an OR over exponent fields (integer ops only) */
    MLPF_CLONES static int mlpf_all_finite_f32(const float *x, ptrdiff_t n) {
        const uint32_t *w = (const uint32_t *)x; uint32_t bad = 0;
        for (ptrdiff_t i = 0; i < n; i++) bad |= (w[i] & 0x7f800000u) == 0x7f800000u;
        return bad == 0;
    }
    MLPF_CLONES static int mlpf_all_finite_f64(const double *x, ptrdiff_t n) {
        const uint64_t *w = (const uint64_t *)x; uint64_t bad = 0;
        for (ptrdiff_t i = 0; i < n; i++)
            bad |= (w[i] & 0x7ff0000000000000ull) == 0x7ff0000000000000ull;
        return bad == 0;
    }
    #endif
    """
    bint all_finite_f32 "mlpf_all_finite_f32"(const float* x, Py_ssize_t n) noexcept nogil
    bint all_finite_f64 "mlpf_all_finite_f64"(const double* x, Py_ssize_t n) noexcept nogil


cdef inline bint all_finite(const floating* x, Py_ssize_t n) noexcept nogil:
    """No NaN or inf among x[0:n]: an OR over exponent fields, vectorised (AVX-512 /
    AVX2 / baseline clones; a floating-point sum would not be, without -ffast-math)."""
    if floating is float:
        return all_finite_f32(x, n)
    else:
        return all_finite_f64(x, n)


cdef extern from *:
    """
    #ifndef MLPF_FLAG_SET
    #define MLPF_FLAG_SET
    /* *flag = 1, from any thread (relaxed: only ever set, read after the join) */
    static inline void mlpf_flag_set(int *flag) { __atomic_store_n(flag, 1, __ATOMIC_RELAXED); }
    #endif
    """
    void flag_set "mlpf_flag_set"(int* flag) noexcept nogil
