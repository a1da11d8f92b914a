# Loss cores (DESIGN §3): each is a mean over the batch, returns J and
# overwrites P (the link's output) and dZ = ∂J/∂Z, already divided by N.
#
# Design
# ------
# * One fused `floating` type.  The exponentials come from vmath.h in vector
#   passes (exp within 6 ulp): softmax's row max, exponentials and sum (see
#   softmax_cross_entropy_rows) and the binary loss's σ(z) and log1p(e^-|z|)
#   (see sigmoid_binary_cross_entropy_rows).
# * Each row is handled by one `*_row` function that reads Z, writes P and dZ
#   and returns that row's loss in double (softmax and the binary loss: a
#   block of rows at a time).
#   The cores give each thread a block of rows (`*_rows`), store the row
#   losses in a caller-provided workspace of N doubles, then add them up
#   sequentially in row order: no OpenMP reduction, so J, P and dZ are bitwise
#   identical for any thread count.
# * Overflow: softmax subtracts the row max, the binary loss uses the
#   log-sum-exp form max(z,0) - z y + log1p(e^-|z|) with σ evaluated from
#   e^-|z|, so P and dZ are finite for all finite logits.  The linear parts of
#   the losses (z_y - m, max(z,0) - z y, z - y) are formed in double, where the
#   product and difference of two float32 values are exact.  A float64 loss can
#   exceed the double range only when the logits' spread does (e.g. ±finfo.max):
#   J then saturates at DBL_MAX instead of inf.  MSE is the exception stated in
#   DESIGN: J overflows to inf exactly when some (z - y)² exceeds the double
#   range (float64 inputs with |z - y| > ~1.3e154), and dZ overflows when z - y
#   itself exceeds the dtype (e.g. float32 z = finfo.max, y = -finfo.max).
# * Z may alias P or dZ (each row reads what it needs before writing).
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport log
from libc.float cimport DBL_MAX
from libc.stdint cimport int64_t




cdef extern from "vmath.h":
    float max_lanes_f32 "mlpf_max_lanes_f32"(Py_ssize_t n, const float* Z) noexcept nogil
    double max_lanes_f64 "mlpf_max_lanes_f64"(Py_ssize_t n, const double* Z) noexcept nogil
    double sum_lanes_f32 "mlpf_sum_lanes_f32"(Py_ssize_t n, const float* P) noexcept nogil
    double sum_lanes_f64 "mlpf_sum_lanes_f64"(Py_ssize_t n, const double* P) noexcept nogil
    void expneg_inplace_f32 "mlpf_expneg_inplace_f32"(Py_ssize_t n, float* P) noexcept nogil
    void expneg_inplace_f64 "mlpf_expneg_inplace_f64"(Py_ssize_t n, double* P) noexcept nogil
    void sigmoid_log1p_f32 "mlpf_sigmoid_log1p_f32"(Py_ssize_t n, const float* Z, float* P,
                                                    float* Q) noexcept nogil
    void sigmoid_log1p_f64 "mlpf_sigmoid_log1p_f64"(Py_ssize_t n, const double* Z, double* P,
                                                    double* Q) noexcept nogil


cdef enum:
    BCE_CHUNK = 256     # elements of the binary loss's vector pass (local buffers)


cdef inline int loss_threads(Py_ssize_t N, Py_ssize_t C, int n_threads) noexcept nogil:
    """Threads worth starting for N rows of C values (results never depend on it)."""
    cdef Py_ssize_t work = N * C // 8192
    if work < 1:
        return 1
    if work < n_threads:
        return <int>work
    return n_threads


cdef inline double _mean(Py_ssize_t N, const double* row_loss, double scale,
                         bint saturate) noexcept nogil:
    """scale Σ_i row_loss[i], summed in row order (saturated at DBL_MAX if asked)."""
    cdef Py_ssize_t i
    cdef double total = 0
    for i in range(N):
        total += row_loss[i]
    total *= scale
    return DBL_MAX if saturate and total > DBL_MAX else total


cdef inline void softmax_cross_entropy_rows(
        Py_ssize_t i0, Py_ssize_t i1, Py_ssize_t C, floating* dZ, floating* P,
        const floating* Z, const int64_t* labels, double* row_loss, double inv_n) noexcept nogil:
    """Rows [i0, i1) of softmax_cross_entropy_core (whole-batch arrays; inv_n = 1/N of
    the whole batch), in three passes so that the exponentials of the whole block
    are one vector pass (vmath.h): per row m = max z, z_y - m (in row_loss) and
    P = m - z; then P = e^-P; then per row s = Σ P, P /= s, dZ and the row loss."""
    cdef Py_ssize_t i, j
    cdef floating m, e
    cdef floating* p
    cdef floating* d
    cdef const floating* z
    cdef double s
    cdef floating inv_s
    for i in range(i0, i1):
        z, p = Z + i * C, P + i * C
        if floating is float:
            m = max_lanes_f32(C, z)
        else:
            m = max_lanes_f64(C, z)
        row_loss[i] = <double>z[labels[i]] - <double>m   # ≤ 0, exact in double for float32
        for j in range(C):                     # P may be Z: each element read, then written
            p[j] = m - z[j]
    if floating is float:                      # e^(z - m) ≤ 1
        expneg_inplace_f32((i1 - i0) * C, P + i0 * C)
    else:
        expneg_inplace_f64((i1 - i0) * C, P + i0 * C)
    for i in range(i0, i1):
        p, d = P + i * C, dZ + i * C
        if floating is float:
            s = sum_lanes_f32(C, p)            # the max contributes 1, so s ≥ 1
        else:
            s = sum_lanes_f64(C, p)
        inv_s = <floating>(1.0 / s)
        for j in range(C):
            e = p[j] * inv_s
            p[j] = e
            d[j] = <floating>(e * inv_n)
        d[labels[i]] = <floating>((<double>p[labels[i]] - 1.0) * inv_n)
        row_loss[i] = log(s) - row_loss[i]     # -log s_y = log Σ e^(z-m) - (z_y - m)


cdef inline double softmax_cross_entropy_core(
        Py_ssize_t N, Py_ssize_t C, floating* dZ, floating* P, const floating* Z,
        const int64_t* labels, double* row_loss, int n_threads) noexcept nogil:
    """J = -(1/N) Σ_i log softmax(Z_i)_{y_i} ; P = softmax(Z) ; dZ = (P - onehot(y))/N.
    Z, P, dZ (N, C) row-major, labels (N,) in [0, C), row_loss (N,) workspace.
    Overwrites P, dZ and row_loss; returns J."""
    cdef int t, nt = loss_threads(N, C, n_threads)
    cdef double inv_n = 1.0 / N
    if nt == 1:                                # no OpenMP region for one thread
        softmax_cross_entropy_rows(0, N, C, dZ, P, Z, labels, row_loss, inv_n)
    else:                                      # a block of rows each
        for t in prange(nt, schedule='static', num_threads=nt):
            softmax_cross_entropy_rows(N * t // nt, N * (t + 1) // nt, C, dZ, P, Z, labels,
                                       row_loss, inv_n)
    return softmax_cross_entropy_total(N, row_loss)


cdef inline double softmax_cross_entropy_total(Py_ssize_t N,
                                               const double* row_loss) noexcept nogil:
    """J from the row losses of softmax_cross_entropy_rows: their mean, saturated at DBL_MAX."""
    return _mean(N, row_loss, 1.0 / N, True)


cdef inline double _mse_row(Py_ssize_t M, floating* dZ, const floating* Z, const floating* Y,
                            double inv_n) noexcept nogil:
    cdef Py_ssize_t j
    cdef double d, s = 0
    for j in range(M):
        d = <double>Z[j] - <double>Y[j]        # exact for float32 inputs
        s += d * d
        dZ[j] = <floating>(d * inv_n)
    return s


cdef inline void mean_squared_error_rows(
        Py_ssize_t i0, Py_ssize_t i1, Py_ssize_t M, floating* dZ, const floating* Z,
        const floating* Y, double* row_loss, double inv_n) noexcept nogil:
    """Rows [i0, i1) of mean_squared_error_core (as softmax_cross_entropy_rows)."""
    cdef Py_ssize_t i
    for i in range(i0, i1):
        row_loss[i] = _mse_row(M, dZ + i * M, Z + i * M, Y + i * M, inv_n)


cdef inline double mean_squared_error_core(
        Py_ssize_t N, Py_ssize_t M, floating* dZ, const floating* Z, const floating* Y,
        double* row_loss, int n_threads) noexcept nogil:
    """J = (1/(2N)) Σ_i ‖Z_i - Y_i‖² ; dZ = (Z - Y)/N.
    Z, Y, dZ (N, M) row-major, row_loss (N,) workspace.  Overwrites dZ, row_loss; returns J."""
    cdef int t, nt = loss_threads(N, M, n_threads)
    cdef double inv_n = 1.0 / N
    if nt == 1:                                # no OpenMP region for one thread
        mean_squared_error_rows(0, N, M, dZ, Z, Y, row_loss, inv_n)
    else:                                      # a block of rows each
        for t in prange(nt, schedule='static', num_threads=nt):
            mean_squared_error_rows(N * t // nt, N * (t + 1) // nt, M, dZ, Z, Y, row_loss,
                                    inv_n)
    return mean_squared_error_total(N, row_loss)


cdef inline double mean_squared_error_total(Py_ssize_t N,
                                            const double* row_loss) noexcept nogil:
    """J from the row losses of mean_squared_error_rows: half their mean."""
    return _mean(N, row_loss, 0.5 / N, False)


cdef inline void sigmoid_binary_cross_entropy_rows(
        Py_ssize_t i0, Py_ssize_t i1, Py_ssize_t K, floating* dZ, floating* P,
        const floating* Z, const floating* Y, double* row_loss, double inv_n) noexcept nogil:
    """Rows [i0, i1) of sigmoid_binary_cross_entropy_core (as softmax_cross_entropy_rows):
    σ(z) and log(1 + e^-|z|) of BCE_CHUNK elements at a time in one vector pass
    (vmath.h; into local buffers, so Z may alias P or dZ), then per element the
    loss terms, summed in double row by row, P and dZ."""
    cdef floating sig[BCE_CHUNK]
    cdef floating lg[BCE_CHUNK]
    cdef Py_ssize_t f, j, c, row = i0, col = 0, end = i1 * K
    cdef floating z, y
    cdef double s = 0
    f = i0 * K
    while f < end:
        c = end - f if end - f < BCE_CHUNK else BCE_CHUNK
        if floating is float:
            sigmoid_log1p_f32(c, Z + f, sig, lg)
        else:
            sigmoid_log1p_f64(c, Z + f, sig, lg)
        for j in range(c):
            z, y = Z[f + j], Y[f + j]
            # max(z,0) - z y (exact in double for float32) + log1p(e^-|z|)
            s += ((<double>z if z > 0 else 0.0) - <double>z * <double>y) + <double>lg[j]
            P[f + j] = sig[j]
            dZ[f + j] = <floating>((<double>sig[j] - <double>y) * inv_n)
            col += 1
            if col == K:
                row_loss[row] = s
                row, col, s = row + 1, 0, 0
        f += c


cdef inline double sigmoid_binary_cross_entropy_core(
        Py_ssize_t N, Py_ssize_t K, floating* dZ, floating* P, const floating* Z,
        const floating* Y, double* row_loss, int n_threads) noexcept nogil:
    """J = (1/N) Σ [max(z,0) - z y + log(1 + e^-|z|)] (= binary CE of σ(z)) ; P = σ(Z) ;
    dZ = (P - Y)/N.   Z, Y, P, dZ (N, K) row-major, row_loss (N,) workspace.
    Overwrites P, dZ, row_loss; returns J."""
    cdef int t, nt = loss_threads(N, K, n_threads)
    cdef double inv_n = 1.0 / N
    if nt == 1:                                # no OpenMP region for one thread
        sigmoid_binary_cross_entropy_rows(0, N, K, dZ, P, Z, Y, row_loss, inv_n)
    else:                                      # a block of rows each
        for t in prange(nt, schedule='static', num_threads=nt):
            sigmoid_binary_cross_entropy_rows(N * t // nt, N * (t + 1) // nt, K, dZ, P, Z, Y,
                                              row_loss, inv_n)
    return sigmoid_binary_cross_entropy_total(N, row_loss)


cdef inline double sigmoid_binary_cross_entropy_total(Py_ssize_t N,
                                                      const double* row_loss) noexcept nogil:
    """J from the row losses of sigmoid_binary_cross_entropy_rows: their mean, saturated
    at DBL_MAX."""
    return _mean(N, row_loss, 1.0 / N, True)
