"""Reference losses, plain NumPy (raw kernels: arguments checked by
mlpfast._kernel_checks).  Each is a mean over the batch (N = rows of Z),
overwrites P and dZ = ∂J/∂Z (already divided by N) and returns J.

Design: straight from DESIGN §3 in the overflow-safe forms (log-softmax with
the row max subtracted, binary CE as logaddexp(0, z) - z y), evaluated in
float64 whatever the arrays' dtype (the native kernels accumulate J in double
too, so a float32 loss such as 2·finfo(float32).max stays finite).  As in the native
kernels, a softmax or binary-CE loss too large for a double (only for float64
logits spread beyond finfo.max) saturates at the largest double; MSE overflows
to inf when a squared difference exceeds the double range.
"""
import numpy as np

_BIG = np.finfo(np.float64).max


def softmax_cross_entropy(dZ, P, Z, labels, n_threads):
    """J = -(1/N) Σ_i log softmax(Z_i)_{y_i} ; P = softmax(Z) ; dZ = (P - onehot)/N.
    Z, P, dZ (N, C), labels (N,).  Overwrites P, dZ."""
    N, rows, Z = Z.shape[0], np.arange(Z.shape[0]), Z.astype(np.float64)
    with np.errstate(over="ignore"):                 # spread > finfo.max: z - m = -inf
        shifted = Z - Z.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        J = -log_p[rows, labels].sum() / N
    P[...] = np.exp(log_p)
    dZ[...] = P
    dZ[rows, labels] -= 1
    dZ /= N
    return float(min(J, _BIG))


def mean_squared_error(dZ, Z, Y, n_threads):
    """J = (1/(2N)) Σ_i ‖Z_i - Y_i‖² ; dZ = (Z - Y)/N.   Z, Y, dZ (N, M).  Overwrites dZ."""
    N = Z.shape[0]
    diff = Z.astype(np.float64) - Y.astype(np.float64)
    dZ[...] = diff / N
    return float((diff ** 2).sum() / (2 * N))


def sigmoid_binary_cross_entropy(dZ, P, Z, Y, n_threads):
    """J = -(1/N) Σ [Y log σ(Z) + (1-Y) log(1-σ(Z))] = (1/N) Σ [log(1 + e^z) - z Y] ;
    P = σ(Z) ; dZ = (P - Y)/N.   Z, Y, P, dZ (N, K).  Overwrites P, dZ."""
    N, Z, Y = Z.shape[0], Z.astype(np.float64), Y.astype(np.float64)
    e = np.exp(-np.abs(Z))                            # σ(z) from e^-|z|: no overflow
    P[...] = np.where(Z >= 0, 1, e) / (1 + e)
    dZ[...] = (P - Y) / N
    with np.errstate(over="ignore"):
        J = (np.logaddexp(0, Z) - Z * Y).sum() / N
    return float(min(J, _BIG))
