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
#   hands whole blocks to threads and each block is one plain C loop
#   (optim_blocks.h), built for AVX-512 / AVX2 / baseline and picked at load
#   time; no clone fuses into FMAs (-ffp-contract=off), so all give the same
#   bits.  Every element is updated independently, so results are bitwise
#   identical for any thread count.  A thread is woken
#   only per GRAIN_BLOCKS blocks (smaller arrays run with no OpenMP region):
#   on a shared machine a team's wake-up can cost more than the update.
# * State arrays are read and written in the same pass as θ (one sweep over
#   memory per step), in the order the formulas are written.
# * The sqrt of adagrad, rmsprop and adam vectorises only because setup.py
#   builds with -fno-math-errno (GCC must otherwise keep sqrt's errno side
#   effect, and neither `optimize` attributes nor pragmas lift it).
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport pow, sqrt

cdef extern from "optim_blocks.h":
    void sgd_f32 "mlpf_sgd_block_f32"(Py_ssize_t n, float* theta, const float* g,
                                      float lr) noexcept nogil
    void sgd_f64 "mlpf_sgd_block_f64"(Py_ssize_t n, double* theta, const double* g,
                                      double lr) noexcept nogil
    void momentum_f32 "mlpf_momentum_block_f32"(Py_ssize_t n, float* theta, float* v,
                                                const float* g, float lr, float alpha,
                                                int nesterov) noexcept nogil
    void momentum_f64 "mlpf_momentum_block_f64"(Py_ssize_t n, double* theta, double* v,
                                                const double* g, double lr, double alpha,
                                                int nesterov) noexcept nogil
    void rms_f32 "mlpf_rms_block_f32"(Py_ssize_t n, float* theta, float* r, const float* g,
                                      float lr, float rho, float one_m_rho,
                                      float eps) noexcept nogil
    void rms_f64 "mlpf_rms_block_f64"(Py_ssize_t n, double* theta, double* r, const double* g,
                                      double lr, double rho, double one_m_rho,
                                      double eps) noexcept nogil
    void adam_f32 "mlpf_adam_block_f32"(Py_ssize_t n, float* theta, float* s, float* r,
                                        const float* g, float b1, float one_m_b1, float b2,
                                        float one_m_b2, float step, float rsqrt_c2, float eps,
                                        float decay) noexcept nogil
    void adam_f64 "mlpf_adam_block_f64"(Py_ssize_t n, double* theta, double* s, double* r,
                                        const double* g, double b1, double one_m_b1, double b2,
                                        double one_m_b2, double step, double rsqrt_c2,
                                        double eps, double decay) noexcept nogil

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
    if floating is float:
        sgd_f32(hi - lo, theta + lo, g + lo, lr)
    else:
        sgd_f64(hi - lo, theta + lo, g + lo, lr)


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
    if floating is float:
        momentum_f32(hi - lo, theta + lo, v + lo, g + lo, lr, alpha, nesterov)
    else:
        momentum_f64(hi - lo, theta + lo, v + lo, g + lo, lr, alpha, nesterov)


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
    if floating is float:
        rms_f32(hi - lo, theta + lo, r + lo, g + lo, lr, rho, one_m_rho, eps)
    else:
        rms_f64(hi - lo, theta + lo, r + lo, g + lo, lr, rho, one_m_rho, eps)


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
    if floating is float:
        adam_f32(hi - lo, theta + lo, s + lo, r + lo, g + lo, b1, one_m_b1, b2, one_m_b2,
                 step, rsqrt_c2, eps, decay)
    else:
        adam_f64(hi - lo, theta + lo, s + lo, r + lo, g + lo, b1, one_m_b1, b2, one_m_b2,
                 step, rsqrt_c2, eps, decay)


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
