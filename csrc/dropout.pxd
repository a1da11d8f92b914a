# Counter-based randomness: inverted dropout's mask and fit's shuffle.
#
# Design: element k = i·m + j of a batch keeps its value iff u(seed, k) >= rate,
# u = (splitmix64(seed + k) >> 11) · 2⁻⁵³ ∈ [0, 1), and kept values are scaled
# by 1/(1 − rate).  The mask is a pure function of (seed, k): no generator state,
# the same in every thread split and in the NumPy twin, and the backward pass
# regenerates it instead of storing it.  The shuffle (permutation_core) draws
# its swaps from the same u, so its twin draws them alike.
from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int64_t, uint64_t


cdef inline uint64_t splitmix64(uint64_t x) noexcept nogil:
    """A 64-bit mixing function (Steele, Lea, Flood 2014): distinct inputs, independent-looking outputs."""
    x = x + <uint64_t>0x9E3779B97F4A7C15
    x = (x ^ (x >> 30)) * <uint64_t>0xBF58476D1CE4E5B9
    x = (x ^ (x >> 27)) * <uint64_t>0x94D049BB133111EB
    return x ^ (x >> 31)


cdef inline double uniform(uint64_t seed, uint64_t k) noexcept nogil:
    """u(seed, k) = (splitmix64(seed + k) >> 11) · 2⁻⁵³ ∈ [0, 1), exact in double."""
    return <double>(splitmix64(seed + k) >> 11) * (1.0 / 9007199254740992.0)


cdef inline void _dropout_row(Py_ssize_t m, floating* out, const floating* x, double rate,
                              floating scale, uint64_t seed) noexcept nogil:
    """One row; seed already advanced by the row's first element index."""
    cdef Py_ssize_t j
    for j in range(m):
        if uniform(seed, <uint64_t>j) >= rate:
            out[j] = x[j] * scale
        else:
            out[j] = 0


cdef inline void dropout_rows(Py_ssize_t n, Py_ssize_t m, floating* out, const floating* x,
                              double rate, uint64_t seed, int n_threads) noexcept nogil:
    """out = x ⊙ keep / (1 − rate) (overwrite; out may be x).   x, out (n, m) C-contiguous.
    Rows i0.. of a larger batch: pass their pointers and seed + i0·m."""
    cdef Py_ssize_t i
    cdef floating scale = <floating>(1.0 / (1.0 - rate))
    cdef int nt = n_threads if n_threads < n else <int>n
    if nt <= 1:                               # no OpenMP region for one thread
        for i in range(n):
            _dropout_row(m, out + i * m, x + i * m, rate, scale, seed + <uint64_t>(i * m))
        return
    for i in prange(n, schedule='static', num_threads=nt):
        _dropout_row(m, out + i * m, x + i * m, rate, scale, seed + <uint64_t>(i * m))


cdef inline void permutation_core(Py_ssize_t n, int64_t* order, uint64_t seed) noexcept nogil:
    """order = a permutation of 0..n-1: Fisher-Yates from the last place down, place i
    swapped with j = ⌊u(seed, i)·(i + 1)⌋, u as the dropout mask's (a pure function of
    (seed, i), so the NumPy twin draws the same j).  j ≤ i: (i + 1)(1 - u) is at least
    half an ulp of i + 1, so the product never rounds up to it; the clamp below only
    keeps a write inside `order` should that reasoning ever fail (the twin clamps too)."""
    cdef Py_ssize_t i, j
    cdef int64_t tmp
    for i in range(n):
        order[i] = i
    for i in range(n - 1, 0, -1):
        j = <Py_ssize_t>(uniform(seed, <uint64_t>i) * <double>(i + 1))
        if j > i:
            j = i
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp
