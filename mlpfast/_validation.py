"""Checks and conversions of user input at the public API (X, sizes, names, paths)."""
import numbers
import os

import numpy as np

from ._threads import get_num_threads

try:    # one native pass when the build is there (validation, not a kernel)
    from ._engine import finite as _native_finite
except ImportError:
    _native_finite = None


def as_features(X, n_features, dtype, name="X"):
    """X as a C-contiguous (N, n_features) array of `dtype`, copied only when needed.

    TypeError for non-numeric data; ValueError for wrong ndim, no rows, wrong
    width, NaN or inf."""
    if type(X) is np.ndarray and X.dtype == dtype and X.flags.c_contiguous:
        arr = X          # (== compares byte order too; subclasses go through asarray)
    else:
        try:
            arr = np.asarray(X)
        except Exception as exc:
            raise ValueError(f"{name} could not be read as an array: {exc}") from None
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                       or arr.dtype == bool) or np.iscomplexobj(arr):
            raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
        with np.errstate(over="ignore"):        # values beyond float32: the check below
            arr = np.ascontiguousarray(arr, dtype=dtype)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples, features), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must have at least one row, got shape {arr.shape}")
    if arr.shape[1] != n_features:
        raise ValueError(f"{name} must have {n_features} columns (features), got {arr.shape[1]}")
    if not all_finite(arr):
        if arr is not X and np.dtype(dtype).itemsize < 8 and all_finite(np.asarray(X)):
            raise ValueError(f"{name} holds values beyond {np.dtype(dtype).name}'s range "
                             f"(±{np.finfo(dtype).max:.3g}), which the network's dtype "
                             "cannot hold")
        raise ValueError(f"{name} must be finite: it holds NaN or inf")
    return arr


def all_finite(arr, chunk=1 << 16):
    """No NaN or inf in a 2-D array: natively in one pass for C-contiguous float32 /
    float64 (about 2x NumPy's isfinite; chunks shared by the kernels' threads), else
    in row blocks of about `chunk` values, so the check needs O(chunk) scratch
    memory, not a boolean copy of X."""
    if (_native_finite is not None and arr.flags.c_contiguous
            and arr.dtype in (np.float32, np.float64)):
        return _native_finite(arr, get_num_threads())
    rows = max(1, chunk // max(1, arr.shape[1]))
    return all(np.isfinite(arr[i:i + rows]).all() for i in range(0, arr.shape[0], rows))


def positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def fraction(value, name, allow_zero=True):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
            (0 <= value if allow_zero else 0 < value) and value < 1):
        raise ValueError(f"{name} must be a number in {'[' if allow_zero else '('}0, 1), "
                         f"got {value!r}")
    return float(value)


def as_path(path, name="path", also=""):
    """os.fspath(path) of a str, bytes or os.PathLike; TypeError naming `name` for anything
    else: open() takes an int as a file descriptor, and would read, then close, whatever
    file of the process has that number.  also: other accepted kinds, for the message."""
    if isinstance(path, (str, bytes, os.PathLike)):
        return os.fspath(path)
    raise TypeError(f"{name} must be a file path (str or os.PathLike){also}, "
                    f"got {type(path).__name__}")
