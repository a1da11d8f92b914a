# libm in the array's precision: each helper picks the float (expf, ...) or the
# double function at compile time from the fused type, so float32 data is
# computed in float32 and float64 data in float64.
from cython cimport floating
from libc.math cimport erfc, erfcf, exp, expf, log1p, log1pf


cdef inline floating _exp(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline floating _log1p(floating x) noexcept nogil:
    if floating is float:
        return log1pf(x)
    else:
        return log1p(x)


cdef inline floating _erfc(floating x) noexcept nogil:
    if floating is float:
        return erfcf(x)
    else:
        return erfc(x)

