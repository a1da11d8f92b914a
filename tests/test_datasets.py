"""Bundled digits (shape, dtype, values, class counts, loads from a zip) and the split."""
import os
import pathlib
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import mlpfast
from mlpfast.datasets import load_digits, train_test_split

# Class sizes of the scikit-learn copy of the UCI digits, digit 0..9.
DIGIT_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


@pytest.fixture(scope="module")
def digits():
    return load_digits(dtype="float64")


@pytest.mark.parametrize("dtype", ["float32", "float64", np.float32, np.dtype("float64")])
def test_digits_shape_dtype(dtype):
    X, y = load_digits(dtype=dtype)
    assert X.shape == (1797, 64) and X.dtype == np.dtype(dtype)
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.flags.c_contiguous and X.flags.writeable


def test_digits_default_dtype_is_float32():
    X, _ = load_digits()
    assert X.dtype == np.float32


def test_digits_values(digits):
    X, y = digits
    assert X.min() == 0 and X.max() == 16
    assert_array_equal(X, np.round(X))                  # integer pixel counts
    assert_array_equal(np.unique(y), np.arange(10))
    counts = np.bincount(y, minlength=10)
    assert counts.sum() == 1797
    assert counts.min() >= 174 and counts.max() <= 183
    assert_array_equal(counts, DIGIT_COUNTS)
    # first image of the file: a zero; known values from the UCI/scikit-learn copy
    assert y[0] == 0 and y[1] == 1
    assert_array_equal(X[0, :8], [0, 0, 5, 13, 9, 1, 0, 0])
    assert X.sum() == 561718                             # whole-file checksum


def test_digits_fresh_arrays_each_call():
    X1, y1 = load_digits()
    X1[0, 0] = 99
    X2, _ = load_digits()
    assert X2[0, 0] == 0


@pytest.mark.parametrize("dtype, exc", [("int32", ValueError), ("float16", ValueError),
                                        ("not-a-dtype", TypeError)])
def test_digits_bad_dtype(dtype, exc):
    with pytest.raises(exc, match="dtype must be 'float32' or 'float64'"):
        load_digits(dtype=dtype)


def test_digits_load_from_zip(tmp_path):
    """The data comes through importlib.resources, so a zipped package works too."""
    pkg = pathlib.Path(mlpfast.__file__).parent
    archive = tmp_path / "mlpfast.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in pkg.rglob("*"):
            if f.suffix in (".py", ".npz", ".txt") and "__pycache__" not in f.parts:
                zf.write(f, pathlib.Path("mlpfast") / f.relative_to(pkg))
    code = ("import mlpfast.datasets as d; X, y = d.load_digits(); "
            "assert 'mlpfast.zip' in d.__file__, d.__file__; print(X.shape, y.sum())")
    env = dict(os.environ, PYTHONPATH=str(archive))
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], env=env,
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"(1797, 64) {sum(k * c for k, c in enumerate(DIGIT_COUNTS))}"


# ------------------------------------------------------------------ split

def test_split_sizes_and_partition(digits):
    X, y = digits
    Xtr, Xte, ytr, yte = train_test_split(X, y)
    assert Xte.shape == (449, 64) and yte.shape == (449,)       # round(1797 / 4)
    assert Xtr.shape == (1348, 64) and ytr.shape == (1348,)
    # the parts are disjoint and together are the data: match rows by content+label
    rows = lambda A, b: sorted(map(tuple, np.column_stack([A, b]).tolist()))
    assert rows(np.vstack([Xtr, Xte]), np.concatenate([ytr, yte])) == rows(X, y)


def test_split_is_stratified(digits):
    X, y = digits
    for frac in (0.25, 0.1, 0.5):
        _, _, ytr, yte = train_test_split(X, y, test_fraction=frac, seed=3)
        counts = np.bincount(y, minlength=10)
        test_counts = np.bincount(yte, minlength=10)
        assert test_counts.sum() == round(1797 * frac)
        assert np.all(np.abs(test_counts - counts * frac) <= 1)
        assert_array_equal(np.bincount(ytr, minlength=10) + test_counts, counts)


def test_split_is_shuffled(digits):
    _, _, _, yte = train_test_split(*digits)
    assert not np.all(np.diff(yte) >= 0)                 # not grouped by class


def test_split_deterministic_for_a_seed(digits):
    a = train_test_split(*digits, seed=5)
    b = train_test_split(*digits, seed=5)
    c = train_test_split(*digits, seed=6)
    for u, v in zip(a, b):
        assert_array_equal(u, v)
    assert not np.array_equal(a[3], c[3])


def test_split_not_stratified():
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10) * 1.5                                    # regression values
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_fraction=0.3, seed=1, stratify=False)
    assert Xte.shape == (3, 2) and Xtr.shape == (7, 2)
    assert_array_equal(Xte[:, 0] / 2 * 1.5, yte)               # rows stay paired
    assert sorted(np.concatenate([ytr, yte]).tolist()) == y.tolist()


def test_split_remainder_ties_go_to_the_earlier_class():
    """53 classes of 1-3 rows, one test row: the 15 classes of 3 rows tie for it
    and the first of them, class 8, gets it.  (An unstable sort of the
    remainders picks another one here: NumPy's default sort of these 53.)"""
    sizes = [int(c) for c in "22111111323223322231331232133311312112221111322123223"]
    y = np.repeat(np.arange(len(sizes)), sizes)
    X = np.arange(len(y)).reshape(-1, 1)
    _, _, _, yte = train_test_split(X, y, test_fraction=0.01)
    assert_array_equal(yte, [8])


def test_split_small_counts_largest_remainder():
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    X = np.arange(8).reshape(8, 1)
    # 8 * 0.05 rounds to 0, raised to the minimum of 1; exact shares 3/8, 3/8, 2/8
    # -> the one row goes to the largest share, the first such class
    _, Xte, _, yte = train_test_split(X, y, test_fraction=0.05)
    assert_array_equal(yte, [0])
    assert Xte[0, 0] in (0, 1, 2)
    # 4 test rows, shares 1.5, 1.5, 1.0 -> floors 1, 1, 1 and the leftover to class 0
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_fraction=0.5)
    assert_array_equal(np.bincount(yte, minlength=3), [2, 1, 1])
    assert_array_equal(np.bincount(ytr, minlength=3), [1, 2, 1])
    assert_array_equal(y[Xte[:, 0]], yte)                       # rows stay paired


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(test_fraction=0), ValueError, "test_fraction must be strictly between 0 and 1"),
    (dict(test_fraction=1.0), ValueError, "test_fraction"),
    (dict(test_fraction="0.2"), TypeError, "test_fraction must be a number"),
    (dict(stratify="yes"), TypeError, "stratify must be True or False"),
])
def test_split_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        train_test_split(np.zeros((4, 2)), np.array([0, 1, 0, 1]), **kwargs)


@pytest.mark.parametrize("X, y, match", [
    (np.zeros((4, 2)), np.zeros(3), "y has 3 entries but X has 4 rows"),
    (np.zeros((4, 2)), np.zeros((4, 1)), "y must be 1-D"),
    (np.zeros((1, 2)), np.zeros(1), "X must have at least 2 rows"),
])
def test_split_bad_shapes(X, y, match):
    with pytest.raises(ValueError, match=match):
        train_test_split(X, y)
