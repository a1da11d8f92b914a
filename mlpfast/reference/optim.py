"""Reference optimiser updates, plain NumPy (raw kernels: arguments checked by
mlpfast._kernel_checks).  Each updates θ and its state arrays in place.

Design: DESIGN §5 written out term by term, in the arrays' own dtype; no
folding of factors, so these are the formulas the native kernels are held to.
"""
import numpy as np


def sgd_update(theta, g, lr, n_threads):
    """θ ← θ - ε g.   θ, g (P,)."""
    theta -= lr * g


def momentum_update(theta, v, g, lr, momentum, n_threads):
    """v ← α v - ε g ; θ ← θ + v.   θ, v, g (P,)."""
    v[...] = momentum * v - lr * g
    theta += v


def nesterov_update(theta, v, g, lr, momentum, n_threads):
    """v ← α v - ε g ; θ ← θ + α v - ε g (with the new v).   θ, v, g (P,)."""
    v[...] = momentum * v - lr * g
    theta += momentum * v - lr * g


def adagrad_update(theta, r, g, lr, eps, n_threads):
    """r ← r + g² ; θ ← θ - ε g/(√r + δ).   θ, r, g (P,)."""
    r += g * g
    theta -= lr * g / (np.sqrt(r) + eps)


def rmsprop_update(theta, r, g, lr, rho, eps, n_threads):
    """r ← ρ r + (1-ρ) g² ; θ ← θ - ε g/(√r + δ).   θ, r, g (P,)."""
    r[...] = rho * r + (1 - rho) * g * g
    theta -= lr * g / (np.sqrt(r) + eps)


def adam_update(theta, s, r, g, lr, beta1, beta2, eps, t, weight_decay, n_threads):
    """s ← β1 s + (1-β1) g ; r ← β2 r + (1-β2) g² ; θ ← θ - ε·wd·θ - ε ŝ/(√r̂ + δ),
    ŝ = s/(1-β1^t), r̂ = r/(1-β2^t) (wd > 0: AdamW, decay on θ before the step).
    θ, s, r, g (P,)."""
    s[...] = beta1 * s + (1 - beta1) * g
    r[...] = beta2 * r + (1 - beta2) * g * g
    s_hat = s / (1 - beta1 ** t)
    r_hat = r / (1 - beta2 ** t)
    theta -= lr * weight_decay * theta               # decoupled decay, θ before the step
    theta -= lr * s_hat / (np.sqrt(r_hat) + eps)
