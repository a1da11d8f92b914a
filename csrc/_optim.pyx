"""Optimiser update kernels (raw: arguments are checked by mlpfast._kernel_checks first).

Design: the cores live in optim.pxd so that the training engine calls the
very same functions; these wrappers take 1-D typed memoryviews (float32 or
float64 through one fused type) and release the GIL.  θ and the state arrays
are updated in place, in one pass.
"""
from cython cimport floating

from optim cimport (adagrad_update_core, adam_update_core, momentum_update_core,
                    nesterov_update_core, rmsprop_update_core, sgd_update_core)


def sgd_update(floating[::1] theta not None, const floating[::1] g not None, double lr,
               int n_threads):
    """θ ← θ - ε g.   θ, g (P,)."""
    with nogil:
        sgd_update_core(theta.shape[0], &theta[0], &g[0], lr, n_threads)


def momentum_update(floating[::1] theta not None, floating[::1] v not None,
                    const floating[::1] g not None, double lr, double momentum, int n_threads):
    """v ← α v - ε g ; θ ← θ + v.   θ, v, g (P,)."""
    with nogil:
        momentum_update_core(theta.shape[0], &theta[0], &v[0], &g[0], lr, momentum, n_threads)


def nesterov_update(floating[::1] theta not None, floating[::1] v not None,
                    const floating[::1] g not None, double lr, double momentum, int n_threads):
    """v ← α v - ε g ; θ ← θ + α v - ε g (with the new v).   θ, v, g (P,)."""
    with nogil:
        nesterov_update_core(theta.shape[0], &theta[0], &v[0], &g[0], lr, momentum, n_threads)


def adagrad_update(floating[::1] theta not None, floating[::1] r not None,
                   const floating[::1] g not None, double lr, double eps, int n_threads):
    """r ← r + g² ; θ ← θ - ε g/(√r + δ).   θ, r, g (P,)."""
    with nogil:
        adagrad_update_core(theta.shape[0], &theta[0], &r[0], &g[0], lr, eps, n_threads)


def rmsprop_update(floating[::1] theta not None, floating[::1] r not None,
                   const floating[::1] g not None, double lr, double rho, double eps,
                   int n_threads):
    """r ← ρ r + (1-ρ) g² ; θ ← θ - ε g/(√r + δ).   θ, r, g (P,)."""
    with nogil:
        rmsprop_update_core(theta.shape[0], &theta[0], &r[0], &g[0], lr, rho, eps, n_threads)


def adam_update(floating[::1] theta not None, floating[::1] s not None,
                floating[::1] r not None, const floating[::1] g not None, double lr,
                double beta1, double beta2, double eps, long t, double weight_decay,
                int n_threads):
    """s ← β1 s + (1-β1) g ; r ← β2 r + (1-β2) g² ; θ ← θ - ε·wd·θ - ε ŝ/(√r̂ + δ),
    ŝ = s/(1-β1^t), r̂ = r/(1-β2^t) (wd > 0: AdamW, decay on θ before the step).
    θ, s, r, g (P,)."""
    with nogil:
        adam_update_core(theta.shape[0], &theta[0], &s[0], &r[0], &g[0], lr, beta1, beta2,
                         eps, t, weight_decay, n_threads)
