"""Training: epochs of mini-batch updates, validation, early stopping, schedules.

An *iteration* is one update on one batch; an *epoch* is ceil(N / batch_size)
iterations over a permutation of the samples drawn from the network's
generator.  An epoch runs either in the native engine (``mlpfast._engine``,
the whole epoch with the GIL released) or in the Python layer path below; both
call the same kernels in the same order and agree bitwise.
"""
import functools
import math
import signal
import threading
import time

import numpy as np

from . import _backend, optimizers as _optimizers, schedules as _schedules
from ._kernel_checks import _scalar
from ._threads import get_num_threads
from ._validation import fraction, positive_int
from .reference.masks import splitmix64

try:    # the C function under signal.signal, without its enum conversions (12 us a fit)
    from _signal import signal as _set_handler
except ImportError:  # pragma: no cover - other interpreters
    _set_handler = signal.signal


class TrainingDiverged(FloatingPointError):
    """The training loss or gradient became NaN or inf; the parameters are those
    before that step (checked before every update)."""


class History:
    """Per-epoch records of a ``fit``: loss (mean training loss), val_loss,
    val_score, learning_rate, n_iter (iterations per epoch), seconds; plus
    ``iterations`` (total), ``stopped_early``, ``interrupted``, ``best_epoch``."""

    def __init__(self):
        self.loss, self.val_loss, self.val_score = [], [], []
        self.learning_rate, self.n_iter, self.seconds = [], [], []
        self.stopped_early = self.interrupted = False
        self.best_epoch = None

    @property
    def iterations(self):
        return sum(self.n_iter)

    @property
    def epochs(self):
        return len(self.loss)

    def __repr__(self):
        return (f"History(epochs={self.epochs}, loss={self.loss[-1:]}, "
                f"val_loss={self.val_loss[-1:]}, stopped_early={self.stopped_early})")


class _Interrupt:
    """Turns Ctrl-C into a flag checked between batches, so a step is never cut in half."""

    def __init__(self):
        self.requested = False
        self._old = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = _set_handler(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        self.requested = True

    def __exit__(self, *exc):
        if self._old is not None:
            _set_handler(signal.SIGINT, self._old)


def dropout_seeds(epoch_seed, step, n_layers):
    """The dropout seed of each layer for `step` of an epoch (the engine computes the same)."""
    base = epoch_seed + step * n_layers
    return [int(splitmix64(base + l)) for l in range(n_layers)]


def _python_epoch(net, X, T, order, batch_size, lr, optimizer, n_threads, interrupt,
                  epoch_seed):
    """One epoch in the Python layer path; returns (Σ_batches J·rows, iterations)."""
    total, steps = 0.0, 0
    for start in range(0, len(order), batch_size):
        if interrupt.requested:
            break
        idx = order[start:start + batch_size]
        masks = dropout_seeds(epoch_seed, steps, len(net.layers)) if net.dropout else None
        net._forward(np.take(X, idx, axis=0), n_threads, masks)
        loss = net._output_delta(T[idx], n_threads)
        if math.isfinite(loss):
            net._backpropagate(n_threads, masks)
        if not (math.isfinite(loss) and all(np.isfinite(g).all() for g in net.grads)):
            raise TrainingDiverged(f"training diverged at iteration {optimizer.t + 1}: the "
                                   "loss or the gradient became NaN or inf; parameters are "
                                   "those before it")
        optimizer.step(net.kernels, net.params, net.grads, lr, n_threads)
        total += loss * len(idx)
        steps += 1
    return total, steps


def _split(net, X, T, validation_data, validation_fraction):
    """(train, Xv, Tv): the rows of X that train, in X's order (None: all of them), and
    the validation data (None, None: none).  The training rows stay in X, gathered by
    index each batch, so X is not copied; the held-out rows are."""
    if validation_data is not None:
        if validation_fraction is not None:
            raise ValueError("give validation_data or validation_fraction, not both")
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            raise TypeError("validation_data must be a pair (X, y), got "
                            f"{type(validation_data).__name__}")
        Xv, yv = validation_data
        Xv = net._X(Xv, "validation_data[0]")
        try:
            return None, Xv, net.loss.targets(yv, Xv.shape[0], net.n_outputs, net.dtype)
        except (TypeError, ValueError) as exc:      # its messages say y and X
            raise type(exc)(f"validation_data[1] (y) against validation_data[0] (X): "
                            f"{exc}") from None
    if not validation_fraction:
        return None, None, None
    n_val = max(1, int(round(validation_fraction * X.shape[0])))
    if n_val >= X.shape[0]:
        raise ValueError("validation_fraction leaves no training samples")
    perm = net.rng.permutation(X.shape[0])
    val, train = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    return train, X[val], T[val]


def _validate(net, Xv, Tv):
    out = net._output(Xv)
    d_out, scratch = np.empty_like(out), np.empty_like(out)
    loss = net.loss(net.kernels, d_out, scratch, out, Tv, get_num_threads())
    return loss, net.loss.score(net.loss.predict(out), Tv)


def _shuffle(net, order):
    """order (int64, n) = an epoch's permutation of the n rows by the permutation kernel,
    seeded by a draw from the network's generator (numpy's Generator.permutation took
    about 15 ns a row, 30 µs of a 2 048-row epoch; the native kernel about 5).  It
    overwrites order (the kernel starts from 0..n-1 itself), so one array serves every
    epoch of a fit: a new one each epoch held two orders at once (16 bytes a row)."""
    # raw, as the losses call theirs: order is ours and the seed a uint64 draw
    net.kernels.permutation.raw(order, int(net.rng.bit_generator.random_raw()), 1)


def _progress(verbose, epochs):
    if not verbose:
        return None
    try:
        from tqdm.auto import tqdm
        return tqdm(total=epochs, unit="epoch")
    except ImportError:
        return None


def _exclusive(fit):
    """fit with the network held (network._Exclusive)."""
    @functools.wraps(fit)
    def held(net, *args, **kwargs):
        with net._exclusive:
            return fit(net, *args, **kwargs)
    return held


@_exclusive
def fit(net, X, y, epochs=10, batch_size=32, optimizer="adam", learning_rate=1e-3,
        shuffle=True, validation_data=None, validation_fraction=None, early_stopping=False,
        patience=10, tol=1e-4, lr_schedule=None, callbacks=(), verbose=False, engine=None):
    """Train `net` on (X, y); returns a History.

    optimizer: a name of DESIGN §5 (with ``learning_rate``) or an
    ``mlpfast.optimizers.Optimizer``; the network keeps it, and its state,
    between calls unless a different one is passed.  validation_fraction: that
    share of X's rows (rounded, at least one), drawn with the network's generator,
    is held out; both parts keep X's order.  early_stopping watches
    the validation loss (validation_data, or a validation_fraction of X,
    0.1 by default) and restores the best weights after `patience` epochs
    without an improvement larger than `tol`.  callbacks: callables
    ``cb(net, epoch, logs)``; one returning True stops training.  engine:
    None (native engine when the backend is native), True or False.
    """
    epochs = positive_int(epochs, "epochs")
    batch_size = positive_int(batch_size, "batch_size")
    patience = positive_int(patience, "patience")
    tol = _scalar("tol", tol, low=0.0)
    X = net._X(X)
    T = net.loss.targets(y, X.shape[0], net.n_outputs, net.dtype)
    if validation_fraction is not None:
        validation_fraction = fraction(validation_fraction, "validation_fraction",
                                       allow_zero=False)
    elif early_stopping and validation_data is None:
        validation_fraction = 0.1
    train, Xv, Tv = _split(net, X, T, validation_data, validation_fraction)
    opt = _optimizers.get(optimizer, learning_rate)
    same = (opt is net.optimizer if isinstance(optimizer, _optimizers.Optimizer)
            else net.optimizer is not None and opt.config() == net.optimizer.config())
    if not same:            # a different optimiser starts fresh; the same one continues
        opt.reset(net.params)
        net.optimizer = opt
    opt = net.optimizer
    schedule = _schedules.get(lr_schedule)
    native = net.kernels is _backend.native
    if engine and not native:
        raise ValueError("engine=True needs the native backend")
    run_epoch = _python_epoch
    if native and engine is not False:
        from ._engine import run_epoch
    history, bar = History(), _progress(verbose, epochs)
    n = X.shape[0] if train is None else len(train)      # the training rows
    order = np.arange(n, dtype=np.int64)    # each epoch's order of them (positions in train)
    rows_of = (order if train is None       # ... as rows of X: X's order unless shuffled
               else np.empty(n, np.int64) if shuffle else train)
    best, best_loss, waited = None, math.inf, 0
    with _Interrupt() as interrupt:
        for epoch in range(epochs):
            lr = _scalar("learning rate from lr_schedule", schedule(epoch, opt.learning_rate,
                                                                    history), low=0.0, low_open=True)
            if shuffle:
                _shuffle(net, order)
                if train is not None:
                    np.take(train, order, out=rows_of)
            epoch_seed = int(net.rng.integers(0, 2 ** 63)) if net.dropout else 0
            t0 = time.perf_counter()
            total, steps = run_epoch(net, X, T, rows_of, min(batch_size, n), lr, opt,
                                     get_num_threads(), interrupt, epoch_seed)
            seconds = time.perf_counter() - t0
            if steps == 0:
                history.interrupted = True
                break
            rows = min(n, steps * batch_size)
            history.loss.append(total / rows)
            history.learning_rate.append(lr)
            history.n_iter.append(steps)
            history.seconds.append(seconds)
            logs = {"loss": history.loss[-1], "lr": lr, "samples_per_s": rows / seconds}
            if Xv is not None:
                val_loss, val_score = _validate(net, Xv, Tv)
                history.val_loss.append(val_loss)
                history.val_score.append(val_score)
                logs.update(val_loss=val_loss, val_score=val_score)
            _report(bar, verbose, epoch, epochs, logs)
            if interrupt.requested:
                history.interrupted = True
                break
            if early_stopping:
                if history.val_loss[-1] < best_loss - tol:
                    best_loss, waited, history.best_epoch = history.val_loss[-1], 0, epoch
                    best = [p.copy() for p in net.params]
                else:
                    waited += 1
                    if waited >= patience:
                        history.stopped_early = True
                        break
            if any(cb(net, epoch, logs) is True for cb in callbacks):
                break
    if bar is not None:
        bar.close()
    if early_stopping and best is not None:
        for p, b in zip(net.params, best):
            p[...] = b
    net.history = history
    return history


def _report(bar, verbose, epoch, epochs, logs):
    if not verbose:
        return
    text = " ".join(f"{k}={v:.4g}" for k, v in logs.items())
    if bar is not None:
        bar.set_postfix_str(text)
        bar.update(1)
    else:
        print(f"epoch {epoch + 1}/{epochs} {text}", flush=True)
