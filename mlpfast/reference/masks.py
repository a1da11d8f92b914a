"""Reference counter-based randomness (raw kernels): inverted dropout's mask and the
shuffle of csrc/dropout.pxd in NumPy uint64 arithmetic (which wraps, as C's does)."""
import numpy as np

_M1, _M2, _GOLDEN = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), \
    np.uint64(0x9E3779B97F4A7C15)


def splitmix64(x):
    """splitmix64 of a uint64 array or scalar."""
    with np.errstate(over="ignore"):
        x = np.asarray(x, dtype=np.uint64) + _GOLDEN
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def dropout(out, x, rate, seed, n_threads):
    """out = x ⊙ keep / (1 − rate), keep_k = u(seed, k) >= rate for k = i·m + j."""
    u = _uniform(seed, np.arange(x.size, dtype=np.uint64))
    scale = x.dtype.type(1.0 / (1.0 - rate))
    out[...] = np.where(u.reshape(x.shape) >= rate, x * scale, 0)


def _uniform(seed, k):
    """u(seed, k) = (splitmix64(seed + k) >> 11) · 2⁻⁵³ for a uint64 array k."""
    with np.errstate(over="ignore"):
        k = np.uint64(seed) + k
    return (splitmix64(k) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def permutation(order, seed, n_threads):
    """order = a permutation of 0..n-1: Fisher-Yates from the last place down, place i
    swapped with j = ⌊u(seed, i)·(i + 1)⌋ (the draws at once, the swaps in turn)."""
    n = order.shape[0]
    i = np.arange(n, dtype=np.uint64)
    j = (_uniform(seed, i) * (i + np.uint64(1)).astype(np.float64)).astype(np.int64)
    j = np.minimum(j, np.arange(n)).tolist()           # as the native clamp (never taken)
    out = list(range(n))
    for place in range(n - 1, 0, -1):
        other = j[place]
        out[place], out[other] = out[other], out[place]
    order[...] = out
