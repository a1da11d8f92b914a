"""Losses as the network sees them: target encoding, the loss kernel, predictions.

Kernels are called raw (no per-call checks): ``targets`` checked y once, and
the other arrays are the network's own buffers.

Each loss takes the output layer's activations ``out`` (N, m_L), computes
J (mean over the batch) and ∂J/∂out through its kernel, and owns its link
function (softmax, sigmoid, identity) for ``predict`` / ``predict_proba``.
"""
import numpy as np

try:    # one native pass over int64 labels when the build is there (validation, not a kernel)
    from ._engine import label_range as _native_label_range
except ImportError:
    _native_label_range = None


def _check_rows(y, n_rows, name="y"):
    if y.shape[0] != n_rows:
        raise ValueError(f"{name} must have one row per sample of X ({n_rows}), got {y.shape[0]}")


def _numeric(y, name="y"):
    try:
        y = np.asarray(y)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} could not be read as an array: {exc}") from None
    if (y.dtype == object or not (np.issubdtype(y.dtype, np.number) or y.dtype == bool)
            or np.iscomplexobj(y)):
        raise TypeError(f"{name} must hold real numbers, got dtype {y.dtype}")
    if y.ndim == 0:
        raise ValueError(f"{name} must hold one value or row per sample, got a scalar")
    if y.size == 0:
        raise ValueError(f"{name} must not be empty")
    if np.issubdtype(y.dtype, np.inexact) and not np.all(np.isfinite(y)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return y


def _columns(y, n_rows, n_out, what):
    """y as an (n_rows, n_out) array: one column per output unit ((N,) allowed for one)."""
    y = _numeric(y)
    _check_rows(y, n_rows)
    y = y.reshape(n_rows, -1) if y.ndim == 1 else y
    if y.ndim != 2 or y.shape[1] != n_out:
        raise ValueError(f"y must have shape ({n_rows}, {n_out}) of {what}, got {np.shape(y)}")
    return y


def _label_range(y):
    """(min, max) of the 1-D labels y: natively in one pass for C-contiguous int64."""
    if _native_label_range is not None and y.dtype == np.int64 and y.flags.c_contiguous:
        return _native_label_range(y)
    return y.min(), y.max()


class Loss:
    name = None

    def targets(self, y, n_rows, n_out, dtype):
        """y as the kernel wants it (checked against n_rows and the output width)."""
        raise NotImplementedError

    def __call__(self, kernels, d_out, scratch, out, targets, n_threads):
        """J ; d_out = ∂J/∂out (overwritten).  scratch: an (N, m_L) buffer."""
        raise NotImplementedError


class CrossEntropy(Loss):
    """Softmax cross-entropy; targets are class indices or one-hot rows."""
    name = "cross_entropy"

    def targets(self, y, n_rows, n_out, dtype):
        if not (type(y) is np.ndarray and y.dtype == np.int64 and y.ndim == 1 and y.size):
            y = _numeric(y)          # int64 labels (N,) need none of its conversions
        _check_rows(y, n_rows)
        if y.ndim == 2 and y.shape[1] == n_out and n_out > 1:
            if not (np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1)):
                raise ValueError("y given as 2-D must be one-hot rows (a single 1 per row)")
            return np.ascontiguousarray(y.argmax(axis=1), dtype=np.int64)
        y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
        if y.ndim != 1:
            raise ValueError(f"y must be class indices (N,) or one-hot rows (N, {n_out}), "
                             f"got shape {y.shape}")
        if y.dtype.kind not in "iub" and not np.all(y == np.round(y)):
            raise ValueError("y must hold integer class indices")
        lo, hi = _label_range(y)
        if lo < 0 or hi >= n_out:
            raise ValueError(f"y holds class {int(lo) if lo < 0 else int(hi)}, "
                             f"but the network has {n_out} output units (classes 0..{n_out - 1})")
        return np.ascontiguousarray(y, dtype=np.int64)

    def __call__(self, kernels, d_out, scratch, out, targets, n_threads):
        return kernels.softmax_cross_entropy.raw(d_out, scratch, out, targets, n_threads)

    def proba(self, kernels, out, n_threads):
        P, scratch = np.empty_like(out), np.empty_like(out)
        kernels.softmax_cross_entropy.raw(scratch, P, out, np.zeros(out.shape[0], np.int64),
                                          n_threads)
        return P

    def predict(self, out):
        return out.argmax(axis=1)

    def score(self, predicted, targets):
        return float(np.mean(predicted == targets))


class BinaryCrossEntropy(Loss):
    """Sigmoid binary cross-entropy; targets 0/1, one column per output unit."""
    name = "binary_cross_entropy"

    def targets(self, y, n_rows, n_out, dtype):
        y = _columns(y, n_rows, n_out, "0/1 labels")
        if not np.all((y == 0) | (y == 1)):
            raise ValueError("y must hold 0/1 labels for binary_cross_entropy")
        return np.ascontiguousarray(y, dtype=dtype)

    def __call__(self, kernels, d_out, scratch, out, targets, n_threads):
        return kernels.sigmoid_binary_cross_entropy.raw(d_out, scratch, out, targets, n_threads)

    def proba(self, kernels, out, n_threads):
        P, scratch = np.empty_like(out), np.empty_like(out)
        kernels.sigmoid_binary_cross_entropy.raw(scratch, P, out, np.zeros_like(out), n_threads)
        return np.column_stack([1 - P[:, 0], P[:, 0]]) if out.shape[1] == 1 else P

    def predict(self, out):
        labels = (out > 0).astype(np.int64)   # σ(z) > 1/2  ⇔  z > 0
        return labels[:, 0] if out.shape[1] == 1 else labels

    def score(self, predicted, targets):
        return float(np.mean(predicted.reshape(targets.shape) == targets))


class MeanSquaredError(Loss):
    """J = (1/2N) Σ ‖y − ŷ‖²; targets real, (N,) or (N, m_L)."""
    name = "mse"

    def targets(self, y, n_rows, n_out, dtype):
        return np.ascontiguousarray(_columns(y, n_rows, n_out, "real targets for mse"),
                                    dtype=dtype)

    def __call__(self, kernels, d_out, scratch, out, targets, n_threads):
        return kernels.mean_squared_error.raw(d_out, out, targets, n_threads)

    def predict(self, out):
        # out is the caller's own fresh array (MLP._output), so a view needs no copy
        return out.reshape(-1) if out.shape[1] == 1 else out

    def score(self, predicted, targets):
        """R², averaged over outputs."""
        predicted = predicted.reshape(targets.shape).astype(np.float64)
        targets = targets.astype(np.float64)
        ss_res = ((targets - predicted) ** 2).sum(axis=0)
        ss_tot = ((targets - targets.mean(axis=0)) ** 2).sum(axis=0)
        safe = np.where(ss_tot > 0, ss_tot, 1.0)
        r2 = np.where(ss_tot > 0, 1 - ss_res / safe, np.where(ss_res == 0, 1.0, 0.0))
        return float(r2.mean())


LOSSES = {cls.name: cls for cls in (CrossEntropy, BinaryCrossEntropy, MeanSquaredError)}


def get(name):
    if not isinstance(name, str) or name not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {name!r}")
    return LOSSES[name]()
