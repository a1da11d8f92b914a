"""Rosenblatt's perceptron: one threshold unit trained by the perceptron rule.

Why it is here: it is the first model of the course material, and its worked
example (DESIGN §8) must be reproducible exactly, so this is a literal
implementation of DESIGN §6, not a special case of ``MLP``.

    net = x·w − threshold,   o = +1 if net > 0 else −1   (net == 0 gives −1)
    per sample, in order:    w ← w + η(d − o)x,   threshold ← threshold − η(d − o)

The threshold is the weight of a constant input x0 = −1, which is why its
update has the opposite sign.  Samples are processed one at a time because the
rule is sequential (each update changes the next prediction); the loop is over
rows only, each step is a vector operation.  Everything is float64.
"""
import numbers

import numpy as np

__all__ = ["Perceptron"]

# Half-width of the uniform interval the initial weights and threshold come from.
_INIT_SCALE = 0.05


def _check_X(X, n_inputs, arg="X"):
    """X as a C-contiguous float64 (n, n_inputs) array; TypeError/ValueError naming ``arg``."""
    try:
        A = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{arg} must be a numeric 2-D array: {exc}") from None
    if A.dtype == object:  # e.g. a ragged list or one holding None: only real numbers pass
        if not all(isinstance(v, numbers.Real) for v in A.flat):
            raise TypeError(f"{arg} must be numeric, got non-numeric values (dtype object)")
        A = A.astype(np.float64)
    if A.dtype.kind not in "biuf":
        raise TypeError(f"{arg} must be numeric, got dtype {A.dtype}")
    if A.ndim != 2:
        raise ValueError(f"{arg} must be 2-D (samples × inputs), "
                         f"got {A.ndim}-D with shape {A.shape}")
    if A.shape[0] == 0:
        raise ValueError(f"{arg} must not be empty, got shape {A.shape}")
    if A.shape[1] != n_inputs:
        raise ValueError(f"{arg} must have {n_inputs} columns (n_inputs), got {A.shape[1]}")
    A = np.ascontiguousarray(A, dtype=np.float64)
    if not np.isfinite(A).all():
        raise ValueError(f"{arg} must be finite, found NaN or infinity")
    return A


def _check_y(y, n_rows, arg="y"):
    """y as an int64 vector of −1/+1, ``n_rows`` long; TypeError/ValueError naming ``arg``."""
    try:
        t = np.asarray(y)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{arg} must be a 1-D array of -1/+1: {exc}") from None
    if t.dtype.kind not in "iuf":
        raise TypeError(f"{arg} must be numeric (-1 or +1), got dtype {t.dtype}")
    if t.ndim != 1:
        raise ValueError(f"{arg} must be 1-D, got {t.ndim}-D with shape {t.shape}")
    if t.shape[0] != n_rows:
        raise ValueError(f"{arg} has {t.shape[0]} entries but X has {n_rows} rows")
    bad = (t != 1) & (t != -1)
    if bad.any():
        raise ValueError(f"{arg} must hold only -1 and +1 (sgn outputs), "
                         f"found {t[bad][0]!r} at index {int(np.flatnonzero(bad)[0])}")
    return t.astype(np.int64)


def _positive_real(value, arg):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{arg} must be a real number, got {type(value).__name__}")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{arg} must be a finite number > 0, got {value!r}")
    return float(value)


def _positive_int(value, arg):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{arg} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{arg} must be >= 1, got {value}")
    return int(value)


class Perceptron:
    """A single threshold unit with output in {−1, +1}, trained by Rosenblatt's rule.

    Parameters
    ----------
    n_inputs : int >= 1
        Number of inputs (columns of X), not counting the constant −1 input.
    learning_rate : float > 0
        η in the update rule.
    seed : int, numpy Generator or None
        Seed of ``numpy.random.default_rng`` drawing the initial weights and
        threshold, uniformly from [−0.05, 0.05).

    Attributes (after ``fit``)
    --------------------------
    n_epochs_ : int
        Number of passes the last ``fit`` made (the last one error-free when
        it converged).
    converged_ : bool
        Whether the last ``fit`` ended with a pass making no error.
    errors_ : list of int
        The number of errors of each pass of the last ``fit``.
    """

    def __init__(self, n_inputs, learning_rate=0.1, seed=None):
        self.n_inputs = _positive_int(n_inputs, "n_inputs")
        self.learning_rate = _positive_real(learning_rate, "learning_rate")
        rng = np.random.default_rng(seed)
        self._weights = rng.uniform(-_INIT_SCALE, _INIT_SCALE, self.n_inputs)
        self._threshold = float(rng.uniform(-_INIT_SCALE, _INIT_SCALE))

    # -------------------------------------------------------------- parameters

    @property
    def weights(self):
        """The live (n_inputs,) float64 weight vector; assigning copies values in."""
        return self._weights

    @weights.setter
    def weights(self, value):
        if np.ndim(value) != 1 or np.shape(value)[0] != self.n_inputs:
            raise ValueError(f"weights must have shape ({self.n_inputs},), "
                             f"got shape {np.shape(value)}")
        # one row of a matrix: the same dtype/finiteness checks as X, then copy in
        self._weights[...] = _check_X(np.reshape(value, (1, -1)), self.n_inputs, "weights")[0]

    @property
    def threshold(self):
        """The threshold θ (float): net = x·w − θ.  Assignable (a finite real scalar)."""
        return self._threshold

    @threshold.setter
    def threshold(self, value):
        if np.ndim(value) != 0:
            raise ValueError(f"threshold must be a scalar, got shape {np.shape(value)}")
        v = np.asarray(value)
        if v.dtype.kind not in "iuf":
            raise TypeError(f"threshold must be a real number, got {type(value).__name__}")
        if not np.isfinite(v):
            raise ValueError(f"threshold must be finite, got {value!r}")
        self._threshold = float(v)

    # ------------------------------------------------------------------ model

    def decision_function(self, X):
        """net = X·w − threshold per row, float64 (n,)."""
        A = _check_X(X, self.n_inputs)
        return A @ self._weights - self._threshold

    def predict(self, X):
        """sgn output per row: int64 array of −1/+1 (+1 only where net > 0)."""
        return np.where(self.decision_function(X) > 0, 1, -1).astype(np.int64)

    def partial_fit(self, X, y):
        """One pass of the perceptron rule over the rows of X, in order.

        Each misclassified sample updates w ← w + η(d − o)x and
        threshold ← threshold − η(d − o) before the next sample is seen.
        Returns the number of errors (samples with o ≠ d) in this pass.
        """
        A = _check_X(X, self.n_inputs)
        d = _check_y(y, A.shape[0])
        return self._pass(A, d)

    def _pass(self, A, d):
        w, eta, errors = self._weights, self.learning_rate, 0
        for x, target in zip(A, d):
            o = 1 if x @ w - self._threshold > 0 else -1
            if o != target:
                step = eta * (target - o)
                w += step * x
                self._threshold -= step
                errors += 1
        return errors

    def fit(self, X, y, epochs=100):
        """Repeat passes over (X, y), in order, until one makes no error.

        At most ``epochs`` passes; starts from the current weights (so set
        ``weights``/``threshold`` first to reproduce a worked example).
        Sets ``n_epochs_``, ``converged_`` and ``errors_``; returns self.
        """
        A = _check_X(X, self.n_inputs)
        d = _check_y(y, A.shape[0])
        epochs = _positive_int(epochs, "epochs")
        self.errors_ = []
        self.converged_ = False
        for _ in range(epochs):
            self.errors_.append(self._pass(A, d))
            if self.errors_[-1] == 0:
                self.converged_ = True
                break
        self.n_epochs_ = len(self.errors_)
        return self

    def score(self, X, y):
        """Fraction of rows whose prediction equals y (−1/+1)."""
        A = _check_X(X, self.n_inputs)
        d = _check_y(y, A.shape[0])
        return float(np.mean(self.predict(A) == d))

    def __repr__(self):
        return (f"Perceptron(n_inputs={self.n_inputs}, learning_rate={self.learning_rate}, "
                f"weights={np.array2string(self._weights, precision=4)}, "
                f"threshold={self._threshold:.4g})")
