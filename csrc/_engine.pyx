"""The training engine: whole epochs in C, the GIL released.

Design
------
For each batch of the shuffled order: gather its rows of X and its targets,
forward through every layer, the loss, the δ recurrence and the optimiser
update of both parameter buffers: the very same nogil cores (linalg.pxd,
activations.pxd, losses.pxd, optim.pxd), called in the very same order as the
Python layer path of mlpfast.training, so the two agree bitwise.  All buffers
are allocated once per call; nothing is allocated per step.  Between batches
the engine looks for Ctrl-C (with the GIL, every few batches) and stops before
the update of a step whose loss or gradient is not finite (the weight gradients
are checked tile by tile in the dW epilogues), leaving the parameters as they
were.

Its pieces live in .pxd files: one step's (step.pxd: the layer and optimiser
structs, gather, forward, a layer's backward, the update), the half-split step
of two threads (halves.pxd) and the choice of one thread or two for its runs
(pace.pxd).  Here: the epoch loops of both steps and their Python entry points.
"""
import numpy as np

cimport numpy as cnp
from cython cimport floating
from cython.parallel cimport parallel, threadid
from openmp cimport omp_get_num_threads
from libc.math cimport isfinite
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport free, malloc

from activations cimport activation_backward_rows
from gemm cimport force_simd_path
from halves cimport Halves, _half_steps_of
from losses cimport (mean_squared_error_core, sigmoid_binary_cross_entropy_core,
                     softmax_cross_entropy_core)
from pace cimport PROBE_WARM, Pace, _now, _pace_record, _pace_threads
from step cimport (DIVERGED, DONE, INTERRUPTED, LOSS_BCE, LOSS_CE, LOSS_MSE, NO_MEMORY,
                   OPT_ADAGRAD, OPT_ADAM, OPT_MOMENTUM, OPT_NESTEROV, OPT_RMSPROP, OPT_SGD,
                   Layer, Optim, _forward_rows, _gather_batch, _layer_backward, _ptr, _step,
                   all_finite_threads)

cdef extern from "Python.h":
    int PyErr_CheckSignals() except -1

cdef extern from *:
    """
    #include "clones.h"
    /* *lo, *hi = min, max of x[0:n], n >= 1: two independent reductions, so that each
     * clone vectorises them (the baseline build alone took 4 us for 4 096 labels) */
    MLPF_CLONES static void mlpf_int64_range(const int64_t *x, ptrdiff_t n, int64_t *lo,
                                             int64_t *hi) {
        int64_t l = x[0], h = x[0];
        for (ptrdiff_t i = 1; i < n; i++) {
            l = x[i] < l ? x[i] : l;
            h = x[i] > h ? x[i] : h;
        }
        *lo = l;
        *hi = h;
    }
    """
    void int64_range "mlpf_int64_range"(const int64_t* x, Py_ssize_t n, int64_t* lo,
                                         int64_t* hi) noexcept nogil

cdef enum:
    SIGNAL_EVERY = 8     # batches between looks for Ctrl-C
    # two threads take a batch half each (_half_steps) for halves of up to this many
    # rows; bigger batches split each product between the threads instead
    HALF_ROWS = 128
    HALF_MACS = 1 << 18  # ... and the forward pass of a batch is this much work (~5 us)

LOSS_CODES = {"cross_entropy": LOSS_CE, "binary_cross_entropy": LOSS_BCE, "mse": LOSS_MSE}
OPT_CODES = {"sgd": OPT_SGD, "momentum": OPT_MOMENTUM, "nesterov": OPT_NESTEROV,
             "adagrad": OPT_ADAGRAD, "rmsprop": OPT_RMSPROP, "adam": OPT_ADAM, "adamw": OPT_ADAM}

PACE_FIELDS = ("batch", "one", "two", "since_one", "since_two", "slow", "use_one", "retry")
assert len(PACE_FIELDS) == sizeof(Pace) // sizeof(double)   # the struct's fields, in order

cdef int forced_threads = 0     # force_threads: 1, 2, 3 (alternate) or 0 (Pace)


cdef int _interrupted(object interrupt) except -1 nogil:
    """1 when the user asked to stop (interrupt.requested); raises on a pending signal
    (Ctrl-C without the handler).  Takes the GIL for the look."""
    with gil:
        PyErr_CheckSignals()
        return 1 if interrupt.requested else 0


cdef int _epoch(Layer* L, int n_layers, const floating* X, Py_ssize_t m0, const void* T,
                Py_ssize_t t_width, int loss_kind, const int64_t* order, Py_ssize_t n,
                Py_ssize_t batch, floating* Xb, void* Tb, floating* P, double* row_loss,
                double l2, double rate, uint64_t epoch_seed, Optim* opt, int n_threads,
                object interrupt, double* total, long* steps) except -1:
    cdef Py_ssize_t start, rows
    cdef int l, nonfinite, status = DONE
    cdef double loss
    cdef uint64_t seed0
    cdef Layer* last = &L[n_layers - 1]
    cdef floating* d_out
    with nogil:
        start = 0
        while start < n:
            if steps[0] % SIGNAL_EVERY == 0 and steps[0] > 0 and _interrupted(interrupt):
                status = INTERRUPTED
                break
            rows = batch if n - start > batch else n - start
            _gather_batch(0, rows, m0, Xb, X, Tb, T, t_width, loss_kind, order + start,
                          n_threads)
            seed0 = epoch_seed + <uint64_t>(steps[0] * n_layers)   # as training.dropout_seeds
            if _forward_rows(L, n_layers, 0, rows, Xb, rate, seed0, n_threads) != 0:
                status = NO_MEMORY
                break
            d_out = <floating*>last.delta if last.kind == 0 else <floating*>last.dA
            if loss_kind == LOSS_CE:         # the loss: ∂J/∂A_L
                loss = softmax_cross_entropy_core(rows, last.n_out, d_out, P,
                                                  <floating*>last.A, <int64_t*>Tb, row_loss,
                                                  n_threads)
            elif loss_kind == LOSS_BCE:
                loss = sigmoid_binary_cross_entropy_core(rows, last.n_out, d_out, P,
                                                         <floating*>last.A, <floating*>Tb,
                                                         row_loss, n_threads)
            else:
                loss = mean_squared_error_core(rows, last.n_out, d_out, <floating*>last.A,
                                               <floating*>Tb, row_loss, n_threads)
            if not isfinite(loss):
                status = DIVERGED
                break
            if last.kind != 0:               # δ_L = ∂J/∂A_L ⊙ f'(Z_L)
                activation_backward_rows(last.kind, rows, last.n_out, d_out,
                                         <floating*>last.Z, <floating*>last.A,
                                         <floating*>last.delta, <floating*>last.gamma,
                                         <floating*>last.dgamma, n_threads)
            nonfinite = 0                    # set by the dW epilogues
            for l in range(n_layers - 1, -1, -1):   # the δ recurrence
                if _layer_backward(L, l, Xb, rows, l2, rate, seed0, &nonfinite,
                                   n_threads) != 0:
                    status = NO_MEMORY
                    break
            if status != DONE:
                break
            if nonfinite or not all_finite_threads(<floating*>opt.grads[1], opt.size[1],
                                                   n_threads):
                status = DIVERGED            # an update would make parameters inf or nan
                break
            _step(opt, opt.t + steps[0] + 1, n_threads, Xb)
            total[0] += loss * rows
            steps[0] += 1
            start += batch
    return status


cdef int _halves_epoch(Halves* s, Pace* pace, object interrupt, double* total,
                       long* steps) except -1:
    """The epoch of s in data-parallel runs of SIGNAL_EVERY steps, each on one thread or
    two as pace chooses, with a look for Ctrl-C between runs."""
    cdef int status = DONE, nt, run = 0
    cdef Py_ssize_t start = 0
    with nogil:
        while start < s.n:
            if steps[0] > 0 and _interrupted(interrupt):
                status = INTERRUPTED
                break
            s.start, s.steps, s.total = start, steps[0], total[0]
            s.count = <int>min(<Py_ssize_t>SIGNAL_EVERY, (s.n - start + s.batch - 1) // s.batch)
            s.warm = 0
            if forced_threads == 0:
                nt = _pace_threads(pace)
                if (nt == 1) != (pace.use_one != 0):
                    s.warm = PROBE_WARM         # the count not chosen: after its data moves
            else:
                nt = forced_threads if forced_threads < 3 else 2 - run % 2
            if nt == 1:                         # both halves here, in the same order
                _half_steps_of(s, 0, 1)
            else:
                with parallel(num_threads=2):
                    _half_steps_of(s, threadid(), omp_get_num_threads())
            if s.done > s.warm and forced_threads == 0:
                _pace_record(pace, nt, (_now() - s.began) / (s.done - s.warm))
            run += 1
            steps[0] += s.done
            total[0] = s.total
            start += s.done * s.batch
            if s.status != DONE:
                status = s.status
                break
    return status


cnp.import_array()


def finite(X, int n_threads=1):
    """True when X, a C-contiguous float32 or float64 ndarray, holds no NaN or inf:
    one vectorised pass with the GIL released, in chunks shared by up to n_threads
    threads (fit checks its whole X each call: 25 MB took 0.9 ms on one core)."""
    cdef cnp.ndarray x = X if isinstance(X, np.ndarray) else None
    if (x is None or not cnp.PyArray_IS_C_CONTIGUOUS(x)
            or cnp.PyArray_TYPE(x) not in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64)):
        raise TypeError("finite: X must be a C-contiguous float32 or float64 ndarray")
    cdef int typenum = cnp.PyArray_TYPE(x)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(x)
    cdef void* p = cnp.PyArray_DATA(x)
    cdef bint ok
    with nogil:
        if typenum == cnp.NPY_FLOAT32:
            ok = all_finite_threads(<const float*>p, n, n_threads)
        else:
            ok = all_finite_threads(<const double*>p, n, n_threads)
    return ok


def label_range(y):
    """(min, max) of y, a non-empty C-contiguous 1-D int64 ndarray, in one pass: fit's
    check of class labels (y.min() and y.max() were 4 of the check's 7.6 us on small's
    4 096 labels, and several times that right after an epoch)."""
    cdef cnp.ndarray a = y if isinstance(y, np.ndarray) else None
    if (a is None or cnp.PyArray_NDIM(a) != 1 or not cnp.PyArray_IS_C_CONTIGUOUS(a)
            or cnp.PyArray_TYPE(a) != cnp.NPY_INT64 or cnp.PyArray_SIZE(a) == 0):
        raise TypeError("label_range: y must be a non-empty C-contiguous 1-D int64 ndarray")
    cdef int64_t lo, hi
    with nogil:
        int64_range(<const int64_t*>cnp.PyArray_DATA(a), cnp.PyArray_SIZE(a), &lo, &hi)
    return lo, hi


def run_epoch(net, X, T, order, Py_ssize_t batch_size, double lr, opt, int n_threads,
              interrupt, uint64_t epoch_seed):
    """One epoch of `net` on the rows `order` of (X, T), in that order; returns
    (Σ J·rows, iterations) and advances opt.t.  Raises TrainingDiverged / MemoryError
    like the Python path."""
    from .training import TrainingDiverged
    cdef int n_layers = len(net.layers), l, status
    cdef Py_ssize_t n = len(order), rows = min(batch_size, n)
    cdef Layer* L = <Layer*>malloc(n_layers * sizeof(Layer))
    cdef Optim o
    cdef Halves h
    cdef double[::1] pace
    cdef double total = 0
    cdef long steps = 0
    if L == NULL:
        raise MemoryError()
    dtype = net.dtype
    work = net._buffer              # the workspaces, kept on the network between fits
    try:
        for l, layer in enumerate(net.layers):
            layer._buffers(rows)
            L[l].n_in, L[l].n_out, L[l].kind = layer.n_in, layer.n_out, layer.code
            L[l].W, L[l].b, L[l].gamma = _ptr(layer._W), _ptr(layer._b), _ptr(layer._gamma)
            L[l].dW, L[l].db, L[l].dgamma = _ptr(layer.dW), _ptr(layer.db), _ptr(layer.dgamma)
            L[l].Z, L[l].A, L[l].delta = _ptr(layer.Z), _ptr(layer.A), _ptr(layer.delta)
            dA = layer._dA if layer.is_prelu else (      # ∂J/∂A_L where the Python path has it
                net._scratch(1) if l == n_layers - 1 and layer.code != 0 else None)
            D = layer._mask_buffer() if net.dropout and l < n_layers - 1 else None
            L[l].dA, L[l].D = _ptr(dA), _ptr(D)
        order = np.ascontiguousarray(order, dtype=np.int64)
        Xb = work("Xb", (rows, X.shape[1]))
        Tb = work("Tb", (rows,) + T.shape[1:], T.dtype)
        P = net._scratch()                 # the loss kernels' scratch, as in the Python path
        row_loss = work("row_loss", (rows,), np.float64)
        if not opt.fits(net.params):    # the kernels write through it unchecked
            opt.reset(net.params)
        o.kind, o.lr, o.t = OPT_CODES[opt.name], lr, opt.t
        hyper = list(opt.hyper().values()) + [0.0, 0.0, 0.0, 0.0]
        o.h1, o.h2, o.h3 = hyper[0], hyper[1], hyper[2]
        o.decay = opt.weight_decay if o.kind == OPT_ADAM else 0.0
        for i in range(2):
            o.params[i], o.grads[i], o.size[i] = (_ptr(net.params[i]), _ptr(net.grads[i]),
                                                  net.params[i].shape[0])
            slots = [opt.state[i][k] for k in opt.slots] + [None, None]
            o.state[i][0], o.state[i][1] = _ptr(slots[0]), _ptr(slots[1])
        t_width = T.shape[1] if T.ndim == 2 else 1      # values per target row
        loss_kind = LOSS_CODES[net.loss.name]
        o.itemsize = dtype.itemsize
        if (n_threads > 1 and rows // 2 <= HALF_ROWS
                and rows * sum(layer.n_in * layer.n_out for layer in net.layers) >= HALF_MACS
                and not any(layer.is_prelu for layer in net.layers)):
            h.L, h.n_layers, h.loss_kind = L, n_layers, loss_kind
            h.X, h.m0, h.T, h.t_width = _ptr(X), X.shape[1], _ptr(T), t_width
            h.n, h.batch, h.order = n, batch_size, <int64_t*>_ptr(order)
            h.Xb, h.Tb, h.P, h.row_loss = _ptr(Xb), _ptr(Tb), _ptr(P), <double*>_ptr(row_loss)
            h.l2, h.rate = net.l2, net.dropout
            h.epoch_seed, h.opt = epoch_seed, &o
            h.nonfinite = h.no_memory = 0
            pace = _pace_state(net, batch_size)
            status = _halves_epoch(&h, <Pace*>&pace[0], interrupt, &total, &steps)
        elif dtype == np.float32:
            status = _epoch[float](L, n_layers, <float*>_ptr(X), X.shape[1], _ptr(T),
                                   t_width, loss_kind, <int64_t*>_ptr(order), n, batch_size,
                                   <float*>_ptr(Xb), _ptr(Tb), <float*>_ptr(P),
                                   <double*>_ptr(row_loss), net.l2, net.dropout, epoch_seed,
                                   &o, n_threads, interrupt, &total, &steps)
        else:
            status = _epoch[double](L, n_layers, <double*>_ptr(X), X.shape[1], _ptr(T),
                                    t_width, loss_kind, <int64_t*>_ptr(order), n, batch_size,
                                    <double*>_ptr(Xb), _ptr(Tb), <double*>_ptr(P),
                                    <double*>_ptr(row_loss), net.l2, net.dropout, epoch_seed,
                                    &o, n_threads, interrupt, &total, &steps)
    finally:
        free(L)
    opt.t += steps
    for layer in net.layers:        # the caches hold the last batch, as in the Python path
        layer._rows = rows
    if status == DIVERGED:
        raise TrainingDiverged(f"training diverged at iteration {opt.t + 1}: the loss or the "
                               "gradient became NaN or inf; parameters are those before it")
    if status == NO_MEMORY:
        raise MemoryError("mlpfast: out of memory in the training engine")
    return total, steps


def _pace_state(net, Py_ssize_t batch_size):
    """The network's Pace (a float64 array of its fields), zeroed for a new batch size."""
    pace = net._work.get("pace")
    if pace is None or pace[0] != batch_size:
        pace = net._work["pace"] = np.zeros(len(PACE_FIELDS))
        pace[0] = batch_size
    return pace


def pace_next(double[::1] state, int threads=0, double step=0.0):
    """Tests: record a run of `threads` threads at `step` seconds a step into the Pace
    fields `state` (PACE_FIELDS; threads=0: nothing to record); return the next run's
    threads."""
    if state.shape[0] != len(PACE_FIELDS):
        raise ValueError(f"pace_next: state must hold {len(PACE_FIELDS)} "
                         f"float64 fields, got {state.shape[0]}")
    if threads:
        _pace_record(<Pace*>&state[0], threads, step)
    return _pace_threads(<Pace*>&state[0])


def force_threads(int n):
    """Tests: run every half-split run on n = 1 or 2 threads, alternate (3: two, then
    one, ...) or let Pace choose (0, the default)."""
    global forced_threads
    if n not in (0, 1, 2, 3):
        raise ValueError(f"force_threads: n must be 0, 1, 2 or 3, got {n}")
    forced_threads = n


def set_simd_path(name):
    """Force this module's GEMM path (see mlpfast.native.set_simd_path)."""
    force_simd_path(name)
