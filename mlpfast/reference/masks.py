"""Reference inverted dropout (raw kernel): the counter-based mask of csrc/dropout.pxd
in NumPy uint64 arithmetic (which wraps, as C's does)."""
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
    with np.errstate(over="ignore"):
        k = np.uint64(seed) + np.arange(x.size, dtype=np.uint64)
    u = (splitmix64(k) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    scale = x.dtype.type(1.0 / (1.0 - rate))
    out[...] = np.where(u.reshape(x.shape) >= rate, x * scale, 0)
