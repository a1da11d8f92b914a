"""Bundled data sets and a seeded, stratified train/test split.

Why: examples, benchmarks and tests need a real classification problem that
works offline and without scikit-learn.  The UCI optical handwritten digits
(1,797 8×8 images, 64 pixel counts in 0..16, labels 0..9) ship inside the
package as ``mlpfast/data/digits.npz`` (about 45 kB; origin and licences in
``mlpfast/data/LICENSE-digits.txt``).  The file is read through
``importlib.resources``, so it also loads from a wheel or a zip install, and
with ``allow_pickle=False``, so loading it can never execute code.
"""
import io
import numbers
from importlib import resources

import numpy as np

__all__ = ["load_digits", "train_test_split"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _read_package_data(name):
    """Bytes of ``mlpfast/data/<name>``, wherever the package is installed."""
    return resources.files("mlpfast").joinpath("data").joinpath(name).read_bytes()


def load_digits(dtype="float32"):
    """The UCI optical handwritten digits.

    Parameters
    ----------
    dtype : "float32" (default) or "float64" (or the NumPy dtypes)
        dtype of the features.  The values are the raw pixel counts 0..16;
        scale them (e.g. ``X / 16``) before training.

    Returns
    -------
    X : ndarray (1797, 64) of ``dtype``, row-major 8×8 images
    y : ndarray (1797,) int64, the digit 0..9 of each row
    """
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be 'float32' or 'float64', got {dtype!r}") from None
    if dt not in _FLOATS:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dt}")
    with np.load(io.BytesIO(_read_package_data("digits.npz")), allow_pickle=False) as z:
        X = z["X"].astype(dt)
        y = z["y"].astype(np.int64)
    return X, y


def _fraction(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"test_fraction must be a number, got {type(value).__name__}")
    if not 0 < value < 1:
        raise ValueError(f"test_fraction must be strictly between 0 and 1, got {value!r}")
    return float(value)


def _test_counts(class_sizes, n_test):
    """Split ``n_test`` over the classes in proportion to their sizes.

    Largest-remainder rounding: every class gets floor(share), and the
    leftover samples go to the classes with the largest fractional shares
    (ties to the earlier class), so the counts add up to ``n_test`` exactly
    and each is within one of its exact share.
    """
    share = class_sizes * (n_test / class_sizes.sum())
    counts = np.floor(share).astype(np.int64)
    leftover = n_test - counts.sum()
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[:leftover]] += 1
    return counts


def train_test_split(X, y, test_fraction=0.25, seed=0, stratify=True):
    """Split rows of (X, y) into a training and a test part, reproducibly.

    Parameters
    ----------
    X : array (n, ...) ; y : array (n,) of labels (or values when not stratified)
    test_fraction : float in (0, 1)
        The test part has round(n · test_fraction) rows, at least 1 and at
        most n − 1.
    seed : int or None
        Seed of ``numpy.random.default_rng``; the same seed gives the same split.
    stratify : bool
        When True, each class of y contributes to the test part in proportion
        to its size (within one sample), so both parts keep the class mix.

    Returns
    -------
    X_train, X_test, y_train, y_test : rows of X and y (copies), each part in
    a random order.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim < 1 or X.shape[0] < 2:
        raise ValueError(f"X must have at least 2 rows to split, got shape {X.shape}")
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} entries but X has {X.shape[0]} rows")
    fraction = _fraction(test_fraction)
    if not isinstance(stratify, (bool, np.bool_)):
        raise TypeError(f"stratify must be True or False, got {stratify!r}")
    n = X.shape[0]
    n_test = min(max(int(round(n * fraction)), 1), n - 1)
    rng = np.random.default_rng(seed)

    if stratify:
        classes, inverse = np.unique(y, return_inverse=True)
        members = [np.flatnonzero(inverse == c) for c in range(len(classes))]
        counts = _test_counts(np.array([len(m) for m in members]), n_test)
        test_parts, train_parts = [], []
        for m, k in zip(members, counts):
            m = rng.permutation(m)
            test_parts.append(m[:k])
            train_parts.append(m[k:])
        test = rng.permutation(np.concatenate(test_parts))
        train = rng.permutation(np.concatenate(train_parts))
    else:
        order = rng.permutation(n)
        test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]
