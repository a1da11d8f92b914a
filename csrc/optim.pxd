# Optimiser cores (DESIGN §5): one in-place pass over a flat parameter θ (P,),
# its gradient g (P,) and the optimiser's state arrays (P,).
#
# Design
# ------
# * One fused `floating` type.  Hyper-parameters arrive in double; the
#   per-call scalar factors (Adam's bias corrections folded into the step
#   size) are computed once in double, then cast to the array's type, and the
#   element updates run in that type.
# * The P elements are cut into blocks of BLOCK; `prange(schedule='static')`
#   hands whole blocks to threads and each block is one plain loop (`*_block`)
#   the compiler can vectorise.  Every element is updated independently, so
#   results are bitwise identical for any thread count.  A thread is woken
#   only per GRAIN_BLOCKS blocks (smaller arrays run with no OpenMP region):
#   on a shared machine a team's wake-up can cost more than the update.
# * State arrays are read and written in the same pass as θ (one sweep over
#   memory per step), in the order the formulas are written.
# * Vectorisation: sgd and momentum vectorise as built.  The sqrt of adagrad,
#   rmsprop and adam stays scalar because GCC must keep sqrt's errno side
#   effect under the default -fmath-errno (neither `optimize` attributes nor
#   pragmas lift it); compiling with -fno-math-errno (setup.py's flags) makes
#   those loops ~3-4x faster in float32 without changing any result.
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport pow, sqrt
from fmath cimport _sqrt

cdef enum:
    BLOCK = 8192
    GRAIN_BLOCKS = 8      # 65 536 elements per thread



cdef inline int optim_threads(Py_ssize_t nblocks, int n_threads) noexcept nogil:
    """Threads worth waking: one per GRAIN_BLOCKS blocks at least (these loops are
    memory-bound, so a team only pays off on arrays well beyond the L1/L2 caches)."""
    cdef Py_ssize_t useful = nblocks // GRAIN_BLOCKS
    if useful < 2:
        return 1
    return <int>useful if useful < n_threads else n_threads


cdef inline void _sgd_block(Py_ssize_t lo, Py_ssize_t hi, floating* theta, const floating* g,
                            floating lr) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(lo, hi):
        theta[i] = theta[i] - lr * g[i]


cdef inline void sgd_update_core(Py_ssize_t n, floating* theta, const floating* g, double lr,
                                 int n_threads) noexcept nogil:
    """θ ← θ - ε g.   θ, g (n,).  θ updated in place."""
    cdef Py_ssize_t b, nb = (n + BLOCK - 1) // BLOCK
    if optim_threads(nb, n_threads) == 1:     # no OpenMP region for one thread
        _sgd_block(0, n, theta, g, <floating>lr)
        return
    for b in prange(nb, schedule='static', num_threads=optim_threads(nb, n_threads)):
        _sgd_block(b * BLOCK, min(n, (b + 1) * BLOCK), theta, g, <floating>lr)


cdef inline void _momentum_block(Py_ssize_t lo, Py_ssize_t hi, floating* theta, floating* v,
                                 const floating* g, floating lr, floating alpha,
                                 bint nesterov) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating step, vi
    if nesterov:
        for i in range(lo, hi):
            step = lr * g[i]
            vi = alpha * v[i] - step
            v[i] = vi
            theta[i] = theta[i] + (alpha * vi - step)
    else:
        for i in range(lo, hi):
            vi = alpha * v[i] - lr * g[i]
            v[i] = vi
            theta[i] = theta[i] + vi


cdef inline void _momentum_core(Py_ssize_t n, floating* theta, floating* v, const floating* g,
                                double lr, double momentum, bint nesterov,
                                int n_threads) noexcept nogil:
    cdef Py_ssize_t b, nb = (n + BLOCK - 1) // BLOCK
    if optim_threads(nb, n_threads) == 1:     # no OpenMP region for one thread
        _momentum_block(0, n, theta, v, g, <floating>lr,
                        <floating>momentum, nesterov)
        return
    for b in prange(nb, schedule='static', num_threads=optim_threads(nb, n_threads)):
        _momentum_block(b * BLOCK, min(n, (b + 1) * BLOCK), theta, v, g, <floating>lr,
                        <floating>momentum, nesterov)


cdef inline void momentum_update_core(Py_ssize_t n, floating* theta, floating* v,
                                      const floating* g, double lr, double momentum,
                                      int n_threads) noexcept nogil:
    """v ← α v - ε g ; θ ← θ + v.   θ, v, g (n,).  θ and v updated in place."""
    _momentum_core(n, theta, v, g, lr, momentum, False, n_threads)


cdef inline void nesterov_update_core(Py_ssize_t n, floating* theta, floating* v,
                                      const floating* g, double lr, double momentum,
                                      int n_threads) noexcept nogil:
    """v ← α v - ε g ; θ ← θ + α v - ε g (with the new v).   θ, v, g (n,).
    θ and v updated in place."""
    _momentum_core(n, theta, v, g, lr, momentum, True, n_threads)


cdef inline void _rms_block(Py_ssize_t lo, Py_ssize_t hi, floating* theta, floating* r,
                            const floating* g, floating lr, floating rho, floating one_m_rho,
                            floating eps) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, ri
    for i in range(lo, hi):
        gi = g[i]
        ri = rho * r[i] + one_m_rho * (gi * gi)
        r[i] = ri
        theta[i] = theta[i] - lr * gi / (_sqrt(ri) + eps)


cdef inline void rmsprop_update_core(Py_ssize_t n, floating* theta, floating* r,
                                     const floating* g, double lr, double rho, double eps,
                                     int n_threads) noexcept nogil:
    """r ← ρ r + (1-ρ) g² ; θ ← θ - ε g/(√r + δ).   θ, r, g (n,).  θ, r updated in place."""
    cdef Py_ssize_t b, nb = (n + BLOCK - 1) // BLOCK
    if optim_threads(nb, n_threads) == 1:     # no OpenMP region for one thread
        _rms_block(0, n, theta, r, g, <floating>lr,
                   <floating>rho, <floating>(1.0 - rho), <floating>eps)
        return
    for b in prange(nb, schedule='static', num_threads=optim_threads(nb, n_threads)):
        _rms_block(b * BLOCK, min(n, (b + 1) * BLOCK), theta, r, g, <floating>lr,
                   <floating>rho, <floating>(1.0 - rho), <floating>eps)


cdef inline void adagrad_update_core(Py_ssize_t n, floating* theta, floating* r,
                                     const floating* g, double lr, double eps,
                                     int n_threads) noexcept nogil:
    """r ← r + g² ; θ ← θ - ε g/(√r + δ).   θ, r, g (n,).  θ, r updated in place.
    (RMSProp's block with ρ = 1 and 1-ρ = 1: 1·r + 1·g² is exactly r + g².)"""
    cdef Py_ssize_t b, nb = (n + BLOCK - 1) // BLOCK
    if optim_threads(nb, n_threads) == 1:     # no OpenMP region for one thread
        _rms_block(0, n, theta, r, g, <floating>lr,
                   <floating>1, <floating>1, <floating>eps)
        return
    for b in prange(nb, schedule='static', num_threads=optim_threads(nb, n_threads)):
        _rms_block(b * BLOCK, min(n, (b + 1) * BLOCK), theta, r, g, <floating>lr,
                   <floating>1, <floating>1, <floating>eps)


cdef inline void _adam_block(Py_ssize_t lo, Py_ssize_t hi, floating* theta, floating* s,
                             floating* r, const floating* g, floating b1, floating one_m_b1,
                             floating b2, floating one_m_b2, floating step, floating rsqrt_c2,
                             floating eps, floating decay) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, si, ri, th
    for i in range(lo, hi):
        gi = g[i]
        si = b1 * s[i] + one_m_b1 * gi
        ri = b2 * r[i] + one_m_b2 * (gi * gi)
        s[i] = si
        r[i] = ri
        th = theta[i]
        theta[i] = (th - decay * th) - step * si / (_sqrt(ri) * rsqrt_c2 + eps)


cdef inline void adam_update_core(Py_ssize_t n, floating* theta, floating* s, floating* r,
                                  const floating* g, double lr, double beta1, double beta2,
                                  double eps, long t, double weight_decay,
                                  int n_threads) noexcept nogil:
    """s ← β1 s + (1-β1) g ; r ← β2 r + (1-β2) g² ; θ ← θ - ε·wd·θ - ε ŝ/(√r̂ + δ),
    ŝ = s/(1-β1^t), r̂ = r/(1-β2^t), the decay (AdamW) taken on θ before the step.
    θ, s, r, g (n,); t ≥ 1.  θ, s, r updated in place."""
    cdef Py_ssize_t b, nb = (n + BLOCK - 1) // BLOCK
    cdef double c1 = 1.0 - pow(beta1, <double>t), c2 = 1.0 - pow(beta2, <double>t)
    # ε ŝ/(√r̂ + δ) = (ε/c1) s / (√r /√c2 + δ)
    cdef floating step = <floating>(lr / c1), rsqrt_c2 = <floating>(1.0 / sqrt(c2))
    if optim_threads(nb, n_threads) == 1:     # no OpenMP region for one thread
        _adam_block(0, n, theta, s, r, g, <floating>beta1,
                    <floating>(1.0 - beta1), <floating>beta2, <floating>(1.0 - beta2),
                    step, rsqrt_c2, <floating>eps, <floating>(lr * weight_decay))
        return
    for b in prange(nb, schedule='static', num_threads=optim_threads(nb, n_threads)):
        _adam_block(b * BLOCK, min(n, (b + 1) * BLOCK), theta, s, r, g, <floating>beta1,
                    <floating>(1.0 - beta1), <floating>beta2, <floating>(1.0 - beta2),
                    step, rsqrt_c2, <floating>eps, <floating>(lr * weight_decay))
