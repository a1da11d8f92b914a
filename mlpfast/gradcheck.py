"""Analytic gradients against central finite differences, in float64."""
import numpy as np


def gradcheck(net, X, y, eps=1e-6):
    """‖g_a − g_n‖ / (‖g_a‖ + ‖g_n‖) over all parameters (W, b, prelu γ) of `net` on
    (X, y), with g_n from central differences of step `eps`, on a float64 copy of
    the network.  NaN when both gradients are zero (nothing was checked)."""
    from .network import MLP
    config = dict(net.config(), dtype="float64")
    twin = MLP(**config, backend=net.backend)
    for p, q in zip(twin.params, net.params):
        p[...] = q
    twin.forward(X)
    twin.backward(y)
    analytic = np.concatenate([g.astype(np.float64) for g in twin.grads])
    theta = np.concatenate(twin.params)
    numeric = np.empty_like(theta)
    offsets = np.cumsum([0] + [p.size for p in twin.params])
    for i in range(theta.size):
        buf = np.searchsorted(offsets, i, side="right") - 1
        p, j = twin.params[buf], i - offsets[buf]
        old = p[j]
        p[j] = old + eps
        twin.forward(X)
        up = twin.backward(y)
        p[j] = old - eps
        twin.forward(X)
        down = twin.backward(y)
        p[j] = old
        numeric[i] = (up - down) / (2 * eps)
    denom = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return float(np.linalg.norm(analytic - numeric) / denom) if denom > 0 else float("nan")
