"""Reference activations, plain NumPy (raw kernels: arguments are checked by
mlpfast._kernel_checks before they reach here).

Design: one table, code -> (f(z, γ), f'(z, a, γ)), a line or two of NumPy each,
computed in the array's dtype (so in float64 when given float64) with the same
overflow-safe forms as csrc/activations.pxd: σ from e = exp(-|z|) ≤ 1,
softplus = max(z, 0) + log1p(e), elu through expm1, gelu's Φ(z) = ½erfc(-z/√2)
with the double-precision math.erfc (the erf form, no cancellation in the left
tail), gelu_tanh through ½(1 + tanh u) = σ(2u) with z clamped at ±1e3 (where
σ(2u) is exactly 0 or 1 already).  Outputs are overwritten.
"""
import math

import numpy as np

from .._kernel_checks import ACTIVATIONS

LEAKY_SLOPE = 0.01              # leaky_relu's γ
ELU_ALPHA = 1.0                 # elu's γ
GELU_C = math.sqrt(2 / math.pi)
GELU_K = 0.044715
GELU_TANH_CLAMP = 1e3
_erfc = np.frompyfunc(math.erfc, 1, 1)


def _sigmoid2(z):
    """σ(z) and 1 - σ(z), from e = exp(-|z|) ≤ 1 (no overflow, no cancellation)."""
    e = np.exp(-np.abs(z))
    r = 1 / (1 + e)
    return np.where(z >= 0, r, e * r), np.where(z >= 0, e * r, r)


def _phi_cdf(z):
    """Φ(z) = ½ erfc(-z/√2), elementwise with math.erfc."""
    return (0.5 * _erfc(-z * (1 / math.sqrt(2))).astype(np.float64)).astype(z.dtype)


def _phi_pdf(z):
    """φ(z) = exp(-z²/2)/√(2π); |z| clamped at 1e3 (φ is 0 there) so z² cannot overflow."""
    z = np.clip(z, -1e3, 1e3)
    return np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def _gelu_tanh(z):
    """(z clamped, s = σ(2u), 1 - s) with u = √(2/π)(z + 0.044715 z³)."""
    x = np.clip(z, -GELU_TANH_CLAMP, GELU_TANH_CLAMP)
    return (x,) + _sigmoid2(2 * GELU_C * (x + GELU_K * x * x * x))


def _swish_prime(z):
    s, c = _sigmoid2(z)
    return s * (1 + z * c)          # σ + zσ(1-σ)


def _gelu_tanh_prime(z):
    x, s, c = _gelu_tanh(z)
    return s * (1 + x * (2 * GELU_C * (1 + 3 * GELU_K * x * x)) * c)


# code -> (f(z, γ), f'(z, a, γ)) as in DESIGN §4; a = f(z)
_TABLE = {
    "identity": (lambda z, g: z, lambda z, a, g: 1),
    "sigmoid": (lambda z, g: _sigmoid2(z)[0], lambda z, a, g: a * (1 - a)),
    "tanh": (lambda z, g: np.tanh(z), lambda z, a, g: (1 - a) * (1 + a)),
    "relu": (lambda z, g: np.where(z > 0, z, 0), lambda z, a, g: np.where(z > 0, 1, 0)),
    "leaky_relu": (lambda z, g: np.where(z > 0, z, LEAKY_SLOPE * z),
                   lambda z, a, g: np.where(z > 0, 1, LEAKY_SLOPE)),
    "prelu": (lambda z, g: np.where(z > 0, z, g * z), lambda z, a, g: np.where(z > 0, 1, g)),
    "elu": (lambda z, g: np.where(z > 0, z, ELU_ALPHA * np.expm1(np.minimum(z, 0))),
            lambda z, a, g: np.where(z > 0, 1, a + ELU_ALPHA)),
    "softplus": (lambda z, g: np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))),
                 lambda z, a, g: _sigmoid2(z)[0]),
    "swish": (lambda z, g: z * _sigmoid2(z)[0], lambda z, a, g: _swish_prime(z)),
    "gelu": (lambda z, g: z * _phi_cdf(z), lambda z, a, g: _phi_cdf(z) + z * _phi_pdf(z)),
    "gelu_tanh": (lambda z, g: z * _gelu_tanh(z)[1], lambda z, a, g: _gelu_tanh_prime(z)),
}
FUNCTIONS = {ACTIVATIONS[name]: pair for name, pair in _TABLE.items()}


def activation_forward(A, Z, activation, gamma, n_threads):
    """A = f(Z) (overwrite; A may be Z).   Z, A (N, M); gamma (M,) for prelu, else None."""
    A[...] = FUNCTIONS[activation][0](Z, gamma)


def activation_backward(dZ, dA, Z, A, activation, gamma, dgamma, n_threads):
    """dZ = dA ⊙ f'(Z) (overwrite; dZ may be dA) ; prelu: dγ_j = Σ_{i: z_ij≤0} dA_ij z_ij
    (overwrite).   dA, Z, A = f(Z), dZ (N, M); gamma, dgamma (M,) for prelu, else None."""
    if dgamma is not None:          # before dZ may overwrite dA
        dgamma[...] = np.where(Z <= 0, dA * Z, 0).sum(axis=0)
    dZ[...] = dA * FUNCTIONS[activation][1](Z, A, gamma)
