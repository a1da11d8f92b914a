"""CSV files in, NumPy arrays out: the data side of ``python -m mlpfast``.

Why: the command line trains on and predicts for user files, and a user's
file is where most errors are.  ``read_csv`` therefore stops at the first
problem with one ``CSVError`` that names the file, the row (1-based as a text
editor shows it; the header is row 1) and the column, so it can be fixed
without a debugger.  Only the standard ``csv`` module and NumPy are used.

File format: UTF-8 (a BOM is fine), comma-separated, a header row naming
every column, then at least two data rows; blank lines are skipped.  Every
feature column is numeric; the target column holds numbers or class names.

``Standardizer`` rescales feature columns to mean 0 and standard deviation 1
and converts to and from plain lists, so a model file can store it as JSON.
"""
import csv
import dataclasses
import math
from typing import List, Optional

import numpy as np

from ._validation import as_path

__all__ = ["CSVError", "Table", "read_csv", "Standardizer"]

TARGET_KINDS = ("auto", "classes", "values")


class CSVError(ValueError):
    """A problem with a CSV file; the message names the file, row and column."""


@dataclasses.dataclass
class Table:
    """The contents of a CSV file.

    features      float64 (n, m), the non-target columns in file order
    feature_names their header names (m)
    target        None without a target column; float64 (n,) values for a
                  numeric target; int64 (n,) indices into ``classes`` for a
                  class target
    target_name   the target's header name, or None
    classes       sorted class labels (str, or int for integer classes), or None
    """
    features: np.ndarray
    feature_names: List[str]
    target: Optional[np.ndarray] = None
    target_name: Optional[str] = None
    classes: Optional[list] = None


def _number(text):
    """float(text), or None when text is not a finite number."""
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _is_int(text):
    try:
        int(text)
        return True
    except ValueError:
        return False


def _read_rows(path, delimiter):
    """(header, [(row number, cells)]) from the file; raises CSVError for I/O problems."""
    where = f"{path}"
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter, strict=True)
            rows = []
            for cells in reader:
                if cells and any(c.strip() for c in cells):   # skip blank lines
                    rows.append((reader.line_num, [c.strip() for c in cells]))
    except FileNotFoundError:
        raise CSVError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise CSVError(f"{where}: is a directory, not a CSV file") from None
    except UnicodeDecodeError as exc:
        raise CSVError(f"{where}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except csv.Error as exc:
        raise CSVError(f"{where}, row {reader.line_num}: malformed CSV ({exc})") from None
    except OSError as exc:
        raise CSVError(f"{where}: cannot read ({exc.strerror or exc})") from None
    if not rows:
        raise CSVError(f"{where}: empty file; expected a header row naming the columns, "
                       f"then data rows")
    line, header = rows[0]
    if all(_number(c) is not None for c in header):
        raise CSVError(f"{where}, row {line}: no header row; the first row holds numbers "
                       f"({', '.join(header[:4])}{', ...' if len(header) > 4 else ''}) "
                       f"but must name the columns")
    seen = set()
    for j, name in enumerate(header):
        if not name:
            raise CSVError(f"{where}, row {line}, column {j + 1}: empty column name in the header")
        if name in seen:
            raise CSVError(f"{where}, row {line}, column {name!r}: duplicate column name")
        seen.add(name)
    return header, rows[1:]


def _check_row(where, header, line, cells):
    """Ragged rows and empty cells, reported with the row and the column."""
    if len(cells) != len(header):
        if len(cells) < len(header):
            missing = header[len(cells):]
            detail = (f"missing column {missing[0]!r}" if len(missing) == 1 else
                      f"missing columns {missing[0]!r} to {missing[-1]!r}")
        else:
            detail = f"{len(cells) - len(header)} extra cell(s) after column {header[-1]!r}"
        n_cells = f"{len(cells)} cell{'s' * (len(cells) != 1)}"
        raise CSVError(f"{where}, row {line}: {n_cells} but the header has "
                       f"{len(header)} columns ({detail})")
    for name, cell in zip(header, cells):
        if cell == "":
            raise CSVError(f"{where}, row {line}, column {name!r}: empty cell")


def _parse_target(where, name, cells, lines, kind):
    """(target array, classes) for one column of cell strings."""
    numbers_ = [_number(c) for c in cells]
    if kind == "values":
        for line, cell, v in zip(lines, cells, numbers_):
            if v is None:
                raise CSVError(f"{where}, row {line}, column {name!r}: {cell!r} is not a "
                               f"finite number (target_kind='values')")
        return np.array(numbers_, dtype=np.float64), None
    if kind == "auto" and all(v is not None for v in numbers_) \
            and not all(_is_int(c) for c in cells):
        return np.array(numbers_, dtype=np.float64), None
    if all(_is_int(c) for c in cells):
        labels = [int(c) for c in cells]            # integer classes, numeric order
    else:
        labels = list(cells)                         # class names, string order
    classes = sorted(set(labels))
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[c] for c in labels], dtype=np.int64), classes


def read_csv(path, target=None, *, target_kind="auto", delimiter=","):
    """Read a CSV file with a header row into a ``Table``.

    Parameters
    ----------
    path : str or path-like
    target : str or None
        Name of the target column; every other column is a feature.  None:
        all columns are features (for prediction).
    target_kind : "auto" | "classes" | "values"
        "auto": a column of integer literals (``0``, ``3``, ``-1``) or of any
        non-numeric text is a class target; other numbers (``2.5``, ``1e3``,
        ``3.0``) are a regression target.  "classes"/"values" force it.
    delimiter : str, default ","

    Raises CSVError (a ValueError) naming the file, row and column for:
    a missing or unreadable file, an empty file, a missing header row, a
    ragged row, an empty cell, a non-numeric (or infinite/NaN) feature value,
    an unknown target column, no feature columns, or fewer than 2 data rows.
    """
    if target_kind not in TARGET_KINDS:
        raise ValueError(f"target_kind must be one of {TARGET_KINDS}, got {target_kind!r}")
    if target is not None and not isinstance(target, str):
        raise TypeError(f"target must be a column name (str) or None, got {type(target).__name__}")
    path = as_path(path)
    where = str(path)
    header, data = _read_rows(path, delimiter)
    if target is not None and target not in header:
        raise CSVError(f"{where}: no column {target!r} for the target; the columns are: "
                       + ", ".join(repr(h) for h in header))
    if len(data) < 2:
        raise CSVError(f"{where}: {len(data)} data row(s) after the header; need at least 2")
    t = header.index(target) if target is not None else -1
    feature_cols = [j for j in range(len(header)) if j != t]
    if not feature_cols:
        raise CSVError(f"{where}: no feature columns; the only column is the target {target!r}")
    features = np.empty((len(data), len(feature_cols)), dtype=np.float64)
    for i, (line, cells) in enumerate(data):        # first problem in file order wins
        _check_row(where, header, line, cells)
        for k, j in enumerate(feature_cols):
            v = _number(cells[j])
            if v is None:
                raise CSVError(f"{where}, row {line}, column {header[j]!r}: {cells[j]!r} is "
                               f"not a finite number (feature columns must be numeric)")
            features[i, k] = v

    table = Table(features, [header[j] for j in feature_cols])
    if target is not None:
        lines = [line for line, _ in data]
        table.target, table.classes = _parse_target(
            where, target, [cells[t] for _, cells in data], lines, target_kind)
        table.target_name = target
    return table


def _matrix(X, arg="X"):
    """X as a finite, non-empty, 2-D float array (float32/64 kept, others to float64)."""
    A = np.asarray(X)
    if A.dtype.kind not in "biuf":
        raise TypeError(f"{arg} must be numeric, got dtype {A.dtype}")
    if A.ndim != 2 or A.size == 0:
        raise ValueError(f"{arg} must be a non-empty 2-D array, got shape {A.shape}")
    if A.dtype not in (np.float32, np.float64):
        A = A.astype(np.float64)
    if not np.isfinite(A).all():
        raise ValueError(f"{arg} must be finite, found NaN or infinity")
    return A


def _mean_scale(mean, scale, mean_arg, scale_arg):
    """(mean, scale) as float64 1-D arrays of one length; ValueError naming the
    argument unless the means are finite and the scales finite and > 0."""
    try:
        mean = np.array(mean, dtype=np.float64)
        scale = np.array(scale, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{mean_arg} and {scale_arg} must be lists of numbers") from None
    if mean.ndim != 1 or mean.shape != scale.shape or mean.size == 0:
        raise ValueError(f"{mean_arg} and {scale_arg} must be non-empty lists of one length, "
                         f"got shapes {mean.shape} and {scale.shape}")
    bad = ~np.isfinite(mean)
    if bad.any():
        j = int(np.argmax(bad))
        raise ValueError(f"{mean_arg} must be finite, got {mean[j]} at index {j}")
    bad = ~(np.isfinite(scale) & (scale > 0))
    if bad.any():
        j = int(np.argmax(bad))
        raise ValueError(f"{scale_arg} must be finite and > 0, got {scale[j]} at index {j}")
    return mean, scale


def _finite_result(out, what):
    """`out` unless it overflowed to ±inf (the input was finite, so no NaN can come
    from it): then a ValueError instead of a silent inf."""
    if not np.isfinite(out).all():
        raise ValueError(f"{what} overflows {out.dtype}: values too far from the fitted "
                         "mean, in units of the fitted scale")
    return out


class Standardizer:
    """Per-column standardisation: (X − mean) / scale.

    ``scale`` is the population standard deviation of each column, or 1 for
    a constant column (which then maps to 0, instead of dividing by zero).
    """

    def __init__(self, mean=None, scale=None):
        """Unfitted (both None), or fitted with per-column `mean` (finite) and `scale`
        (finite, > 0), lists or 1-D arrays of one length."""
        if (mean is None) != (scale is None):
            raise ValueError("mean and scale must be given together (or neither), got "
                             f"{'mean' if scale is None else 'scale'} alone")
        self.mean = self.scale = None
        if mean is not None:
            self.mean, self.scale = _mean_scale(mean, scale, "mean", "scale")

    def fit(self, X):
        """Learn mean and scale of each column of X (n, m); returns self.

        ValueError when a column's mean or standard deviation overflows float64
        (values or deviations beyond about 1e154, whose squares overflow): such data
        cannot be standardised without inf somewhere (the variance here, or x − mean
        in ``transform``), so it is refused rather than computed with rescaling."""
        A = _matrix(X).astype(np.float64, copy=False)
        with np.errstate(over="ignore", invalid="ignore"):
            mean = A.mean(axis=0)
            scale = A.std(axis=0)
        bad = ~(np.isfinite(mean) & np.isfinite(scale))
        if bad.any():
            raise ValueError(f"X is too large to standardise: the mean or standard deviation "
                             f"of column {int(np.argmax(bad))} is not finite in float64")
        constant = (np.ptp(A, axis=0) == 0) | (scale == 0)
        scale[constant] = 1.0
        self.mean, self.scale = mean, scale
        return self

    def _check_fitted(self, X, arg="X"):
        if self.mean is None:
            raise RuntimeError("Standardizer is not fitted; call fit(X) first")
        A = _matrix(X, arg)
        if A.shape[1] != self.mean.shape[0]:
            raise ValueError(f"{arg} has {A.shape[1]} columns but the Standardizer was fitted "
                             f"on {self.mean.shape[0]}")
        return A

    def transform(self, X):
        """(X − mean) / scale; float32 input stays float32, other input gives float64."""
        A = self._check_fitted(X)
        with np.errstate(over="ignore"):
            Z = ((A - self.mean) / self.scale).astype(A.dtype, copy=False)
        return _finite_result(Z, "transform(X)")

    def fit_transform(self, X):
        """fit(X), then transform(X)."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z):
        """Z · scale + mean: undoes ``transform`` (e.g. for a regression target)."""
        A = self._check_fitted(Z, "Z")
        with np.errstate(over="ignore"):
            X = (A * self.scale + self.mean).astype(A.dtype, copy=False)
        return _finite_result(X, "inverse_transform(Z)")

    def to_dict(self):
        """{"mean": [...], "scale": [...]} of Python floats, ready for json.dumps."""
        if self.mean is None:
            raise RuntimeError("Standardizer is not fitted; call fit(X) first")
        return {"mean": [float(v) for v in self.mean], "scale": [float(v) for v in self.scale]}

    @classmethod
    def from_dict(cls, d):
        """The inverse of ``to_dict``; ValueError for a malformed dictionary."""
        if not isinstance(d, dict) or set(d) != {"mean", "scale"}:
            raise ValueError("d must be a dict with exactly the keys 'mean' and 'scale', "
                             f"got {sorted(d) if isinstance(d, dict) else type(d).__name__}")
        return cls(*_mean_scale(d["mean"], d["scale"], "d['mean']", "d['scale']"))

    def __eq__(self, other):
        return (isinstance(other, Standardizer) and self.mean is not None
                and other.mean is not None and np.array_equal(self.mean, other.mean)
                and np.array_equal(self.scale, other.scale))

    __hash__ = None
