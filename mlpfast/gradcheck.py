"""Analytic gradients against central finite differences, in float64."""
import numpy as np

from ._kernel_checks import _scalar


def gradcheck(net, X, y, eps=1e-6):
    """‖g_a − g_n‖ / (‖g_a‖ + ‖g_n‖) over all parameters (W, b, prelu γ) of `net` on
    (X, y), with g_n from central differences of step `eps`, on a float64 copy of
    the network.  NaN when both gradients are zero (nothing was checked).

    TypeError/ValueError when `net` is not an MLP, `eps` not a finite number > 0, or
    X, y do not suit `net`."""
    from .network import MLP
    if not isinstance(net, MLP):
        raise TypeError(f"net must be an mlpfast MLP, got {type(net).__name__}")
    eps = _scalar("eps", eps, low=0.0, low_open=True)
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
