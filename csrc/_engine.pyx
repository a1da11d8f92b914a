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

On two threads a step of enough work splits in two ways (_half_steps): each
thread runs half the batch through forward, loss and δ recurrence; then each
computes a band of every layer's dW rows over the whole batch, its share of
the bias gradients, and updates the parameters of its band.  A thread's band
of dW is the band it updates, so no partial gradient crosses between cores;
what crosses is half of each layer's input and δ, which the band's product
reads, and the band of weights the other thread updated, which the forward pass
reads.  Threads that split each product instead exchange activations at every
layer, which costs more here than the work they share.  Each element of dW is
the one fold of linalg.pxd, so the bits stay those of one thread.

Those exchanges cost what the cores' distance costs, and on a shared host that
changes while a program runs: on the 2-vCPU VMs this was built on, a cache-line
round trip between the two vCPUs took 50-70 ns in some stretches and 310-340 ns
in others, and small's 2-thread step took 66-87 us in the first and 166-177 us
in the second, against 99-128 us on one thread.  So the runs of steps between
looks for Ctrl-C are timed, and each runs on the thread count that ran the last
ones faster (Pace): the same steps on one thread give the same bits.
"""
import numpy as np

cimport numpy as cnp
from cython cimport floating
from cython.parallel cimport parallel, prange, threadid
from openmp cimport omp_get_num_threads
from libc.math cimport isfinite
from libc.stdint cimport int64_t, uint64_t, uintptr_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

cdef extern from "<stdlib.h>" nogil:
    int posix_memalign(void** ptr, size_t alignment, size_t size)

from activations cimport activation_backward_rows
from dropout cimport dropout_rows, splitmix64
from finite cimport all_finite, flag_set
from gemm cimport force_simd_path
from linalg cimport (bias_grad_cols, input_grad_core, linear_backward_core,
                     linear_forward_core, weight_grad_core)
from losses cimport (mean_squared_error_core, mean_squared_error_rows,
                     mean_squared_error_total, sigmoid_binary_cross_entropy_core,
                     sigmoid_binary_cross_entropy_rows, sigmoid_binary_cross_entropy_total,
                     softmax_cross_entropy_core, softmax_cross_entropy_rows,
                     softmax_cross_entropy_total)
from optim cimport (adagrad_update_core, adam_update_core, momentum_update_core,
                    nesterov_update_core, rmsprop_update_core, sgd_update_core)

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

cdef extern from *:
    """
    static inline void mlpf_barrier(void) {
    #ifdef _OPENMP
    #pragma omp barrier
    #endif
    }
    """
    void barrier "mlpf_barrier"() noexcept nogil    # of the enclosing OpenMP region

cdef enum:
    LOSS_CE = 0
    LOSS_BCE = 1
    LOSS_MSE = 2
    OPT_SGD = 0
    OPT_MOMENTUM = 1
    OPT_NESTEROV = 2
    OPT_ADAGRAD = 3
    OPT_RMSPROP = 4
    OPT_ADAM = 5
    PRELU = 5
    DONE = 0
    DIVERGED = 1
    NO_MEMORY = 2
    INTERRUPTED = 3
    SIGNAL_EVERY = 8     # batches between looks for Ctrl-C
    # two threads take a batch half each (_half_steps) for halves of up to this many
    # rows; bigger batches split each product between the threads instead
    HALF_ROWS = 128
    HALF_MACS = 1 << 18  # ... and the forward pass of a batch is this much work (~5 us)
    # a team gathers a batch of this many bytes or more: its rows come from
    # anywhere in X (memory, not cache), so a second core's misses overlap
    GATHER_PAR_BYTES = 131072
    FINITE_CHUNK = 65536  # elements a thread checks at a time (teams from 2 chunks)
    NOGIL_MACS = 1 << 20  # Forward releases the GIL from this much work (~10 us)
    FORWARD_STACK = 16384  # bytes of Forward's two buffers that live on the stack
    RETRY_TWO = 16       # runs on one thread before two is timed again (Pace), doubled
                         # after each retry that two loses, up to RETRY_MAX
    RETRY_MAX = 64       # (at 1024, small's paced epochs after a far stretch stayed on
                         # one thread for seconds: 0.984x two threads' in near pairs)
    RETIME_ONE = 256     # runs on two threads between timings of one
    PROBE_WARM = 4       # steps of a run on the count not chosen before it is timed

LOSS_CODES = {"cross_entropy": LOSS_CE, "binary_cross_entropy": LOSS_BCE, "mse": LOSS_MSE}
OPT_CODES = {"sgd": OPT_SGD, "momentum": OPT_MOMENTUM, "nesterov": OPT_NESTEROV,
             "adagrad": OPT_ADAGRAD, "rmsprop": OPT_RMSPROP, "adam": OPT_ADAM, "adamw": OPT_ADAM}


cdef struct Layer:
    # a layer's arrays, as void* (a struct cannot hold a fused type)
    Py_ssize_t n_in, n_out
    int kind
    void* W
    void* b
    void* gamma
    void* dW
    void* db
    void* dgamma
    void* Z
    void* A          # == Z for identity layers
    void* delta
    void* dA         # ∂J/∂A scratch: prelu layers and an activated output layer
    void* D          # A after dropout (hidden layers, when training with dropout)


cdef struct Optim:
    int kind
    double lr, h1, h2, h3, decay    # hyper-parameters in the order of each core
    long t                           # steps done before this epoch
    void* state[2][2]                # [buffer][slot]
    void* params[2]
    void* grads[2]
    Py_ssize_t size[2]
    Py_ssize_t itemsize              # of the dtype: 4 or 8


cdef inline void _update(Optim* o, int i, Py_ssize_t lo, Py_ssize_t hi, long t, int n_threads,
                         floating* _dtype) noexcept nogil:
    """Optimizer.step on elements [lo, hi) of buffer i (0: weights, with AdamW's decay;
    1: biases and γ)."""
    cdef floating* p = <floating*>o.params[i] + lo
    cdef floating* g = <floating*>o.grads[i] + lo
    cdef floating* s0 = NULL
    cdef floating* s1 = NULL
    cdef Py_ssize_t n = hi - lo
    if n <= 0:
        return
    if o.state[i][0] != NULL:
        s0 = <floating*>o.state[i][0] + lo
    if o.state[i][1] != NULL:
        s1 = <floating*>o.state[i][1] + lo
    if o.kind == OPT_SGD:
        sgd_update_core(n, p, g, o.lr, n_threads)
    elif o.kind == OPT_MOMENTUM:
        momentum_update_core(n, p, s0, g, o.lr, o.h1, n_threads)
    elif o.kind == OPT_NESTEROV:
        nesterov_update_core(n, p, s0, g, o.lr, o.h1, n_threads)
    elif o.kind == OPT_ADAGRAD:
        adagrad_update_core(n, p, s0, g, o.lr, o.h1, n_threads)
    elif o.kind == OPT_RMSPROP:
        rmsprop_update_core(n, p, s0, g, o.lr, o.h1, o.h2, n_threads)
    else:
        adam_update_core(n, p, s0, s1, g, o.lr, o.h1, o.h2, o.h3, t,
                         o.decay if i == 0 else 0.0, n_threads)


cdef inline void _step(Optim* o, long t, int n_threads, floating* _dtype) noexcept nogil:
    """One update of both buffers (weights first), as Optimizer.step."""
    _update(o, 0, 0, o.size[0], t, n_threads, _dtype)
    _update(o, 1, 0, o.size[1], t, n_threads, _dtype)


cdef inline bint all_finite_threads(const floating* x, Py_ssize_t n,
                                   int n_threads) noexcept nogil:
    """all_finite over chunks shared by up to n_threads threads."""
    cdef Py_ssize_t c, nc = (n + FINITE_CHUNK - 1) // FINITE_CHUNK
    cdef int bad = 0
    if n_threads < 2 or nc < 2:
        return all_finite(x, n)
    for c in prange(nc, schedule='static', num_threads=min(n_threads, nc)):
        bad += not all_finite(x + c * FINITE_CHUNK,
                              FINITE_CHUNK if n - c * FINITE_CHUNK > FINITE_CHUNK
                              else n - c * FINITE_CHUNK)
    return bad == 0


cdef inline void _gather(Py_ssize_t rows, Py_ssize_t m, floating* out, const floating* src,
                         const int64_t* idx, int n_threads) noexcept nogil:
    """out[i] = src[idx[i]] for i < rows.   out (rows, m), src (·, m) C-contiguous.
    A plain loop rather than memcpy: rows of a few dozen bytes cost less than the calls."""
    cdef Py_ssize_t i, j
    cdef floating* o
    cdef const floating* s
    if m * sizeof(floating) >= 1024:
        if n_threads > 1 and rows * m * sizeof(floating) >= GATHER_PAR_BYTES:
            for i in prange(rows, schedule='static', num_threads=n_threads):
                memcpy(out + i * m, src + idx[i] * m, m * sizeof(floating))
            return
        for i in range(rows):
            memcpy(out + i * m, src + idx[i] * m, m * sizeof(floating))
        return
    for i in range(rows):
        o = out + i * m
        s = src + idx[i] * m
        for j in range(m):
            o[j] = s[j]


cdef inline void _gather_batch(Py_ssize_t r0, Py_ssize_t rows, Py_ssize_t m0, floating* Xb,
                               const floating* X, void* Tb, const void* T, Py_ssize_t t_width,
                               int loss_kind, const int64_t* order,
                               int n_threads) noexcept nogil:
    """Rows [r0, r0 + rows) of the batch whose order is `order`: rows of X into Xb
    and of the targets T (labels for LOSS_CE, else rows of t_width values) into Tb."""
    cdef Py_ssize_t i
    _gather(rows, m0, Xb + r0 * m0, X, order + r0, n_threads)
    if loss_kind == LOSS_CE:                   # one label a row
        for i in range(r0, r0 + rows):
            (<int64_t*>Tb)[i] = (<const int64_t*>T)[order[i]]
    else:
        _gather(rows, t_width, <floating*>Tb + r0 * t_width, <const floating*>T, order + r0, 1)


cdef inline int _forward_rows(Layer* L, int n_layers, Py_ssize_t r0, Py_ssize_t rows,
                              const floating* X, double rate, uint64_t seed0,
                              int n_threads) noexcept nogil:
    """Rows [r0, r0 + rows) of the batch through every layer: Z, A and, with dropout,
    D of the hidden layers (row i's mask from layer l's seed + i·n_out, so any split
    of the rows draws the same masks).  X points at row r0.  Returns 0, or -1
    (memory)."""
    cdef int l
    cdef Py_ssize_t off
    cdef const floating* inp = X
    for l in range(n_layers):
        off = r0 * L[l].n_out
        if linear_forward_core(rows, L[l].n_in, L[l].n_out, <floating*>L[l].Z + off,
                               NULL if L[l].A == L[l].Z else <floating*>L[l].A + off, inp,
                               <floating*>L[l].W, <floating*>L[l].b, L[l].kind,
                               <floating*>L[l].gamma, n_threads) != 0:
            return -1
        inp = <floating*>L[l].A + off
        if rate > 0 and l < n_layers - 1:
            dropout_rows(rows, L[l].n_out, <floating*>L[l].D + off, inp, rate,
                         splitmix64(seed0 + l) + <uint64_t>off, n_threads)
            inp = <floating*>L[l].D + off
    return 0


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


cdef inline const floating* _layer_input(Layer* L, int l, const floating* Xb,
                                         double rate) noexcept nogil:
    """What layer l's product reads: the batch Xb for the first layer, else the layer
    before's A, or its D (A after dropout) when training with dropout."""
    if l == 0:
        return Xb
    return <floating*>(L[l - 1].D if rate > 0 else L[l - 1].A)


cdef inline int _layer_backward(Layer* L, int l, floating* Xb, Py_ssize_t rows, double l2,
                                double rate, uint64_t seed0, int* nonfinite,
                                int n_threads) noexcept nogil:
    """As Dense.backward: dW, db of layer l and δ of layer l-1 (with its dropout mask);
    *nonfinite = 1 if dW holds a NaN or inf."""
    cdef const floating* X = _layer_input(L, l, Xb, rate)
    cdef Layer* p
    cdef int rc
    if l == 0:
        return linear_backward_core(rows, L[l].n_in, L[l].n_out, <floating*>L[l].dW,
                                    <floating*>L[l].db, NULL, X, <floating*>L[l].W,
                                    <floating*>L[l].delta, l2, 0, NULL, NULL, nonfinite,
                                    n_threads)
    p = &L[l - 1]
    if p.kind == PRELU:
        rc = linear_backward_core(rows, L[l].n_in, L[l].n_out, <floating*>L[l].dW,
                                  <floating*>L[l].db, <floating*>p.dA, X, <floating*>L[l].W,
                                  <floating*>L[l].delta, l2, 0, NULL, NULL, nonfinite,
                                  n_threads)
        if rate > 0:
            dropout_rows(rows, p.n_out, <floating*>p.dA, <floating*>p.dA, rate,
                         splitmix64(seed0 + (l - 1)), n_threads)
        activation_backward_rows(PRELU, rows, p.n_out, <floating*>p.dA, <floating*>p.Z,
                                 <floating*>p.A, <floating*>p.delta, <floating*>p.gamma,
                                 <floating*>p.dgamma, n_threads)
        return rc
    rc = linear_backward_core(rows, L[l].n_in, L[l].n_out, <floating*>L[l].dW,
                              <floating*>L[l].db, <floating*>p.delta, X, <floating*>L[l].W,
                              <floating*>L[l].delta, l2, p.kind, <floating*>p.Z,
                              <floating*>p.A, nonfinite, n_threads)
    if rate > 0:
        dropout_rows(rows, p.n_out, <floating*>p.delta, <floating*>p.delta, rate,
                     splitmix64(seed0 + (l - 1)), n_threads)
    return rc


cdef inline double _now() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + 1e-9 * ts.tv_nsec


cdef struct Halves:
    # what the two halves of a data-parallel run of steps share (see _half_steps)
    Layer* L
    int n_layers, loss_kind
    const void* X                # the data set: X (n, m0), T (n, t_width) or labels (n,)
    const void* T
    Py_ssize_t m0, t_width, n, batch
    const int64_t* order         # the epoch's order of the rows of X
    void* Xb                     # the gathered batch (batch, m0), its targets, the loss's P
    void* Tb
    void* P
    double* row_loss
    double l2, rate
    uint64_t epoch_seed
    Optim* opt
    int nonfinite                # set by either thread: a gradient holds a NaN or inf
    int no_memory                # set by either thread: a GEMM could not allocate
    Py_ssize_t start             # a run of `count` steps from batch `start`, after `steps`
    long steps
    int count
    int status                   # the run's outcome, its steps done and its loss sum
    long done
    double total
    int warm                     # steps of the run before `began` is stamped
    double began                 # when its step `warm` began, both threads there (Pace)


cdef inline void _share(Py_ssize_t n, int t, Py_ssize_t unit, Py_ssize_t* lo,
                        Py_ssize_t* hi) noexcept nogil:
    """Half t of [0, n), cut at a multiple of unit (a cache line of elements)."""
    cdef Py_ssize_t cut = min(n, ((n + 1) // 2 + unit - 1) // unit * unit)
    lo[0] = 0 if t == 0 else cut
    hi[0] = cut if t == 0 else n


cdef int _half_pass(Halves* s, int t, Py_ssize_t rows, const int64_t* order, uint64_t seed0,
                    floating* _dtype) noexcept nogil:
    """Half t of a batch (rows [0, h) or [h, rows), h = ⌈rows/2⌉): gather, forward, loss
    rows and δ rows; the gradients are left to _band_grads.  Returns 0, or -1 (memory)."""
    cdef Layer* L = s.L
    cdef int l, nl = s.n_layers, rc = 0
    cdef Layer* last = &L[nl - 1]
    cdef Layer* p
    cdef Py_ssize_t h = (rows + 1) // 2
    cdef Py_ssize_t r0 = 0 if t == 0 else h, r1 = h if t == 0 else rows, nr = r1 - r0
    cdef Py_ssize_t m = last.n_out
    cdef double inv_n = 1.0 / rows
    cdef floating* d_out = <floating*>(last.delta if last.kind == 0 else last.dA)
    if nr == 0:
        return 0
    _gather_batch(r0, nr, s.m0, <floating*>s.Xb, <const floating*>s.X, s.Tb, s.T,
                  s.t_width, s.loss_kind, order, 1)
    if _forward_rows(L, nl, r0, nr, <floating*>s.Xb + r0 * s.m0, s.rate, seed0, 1) != 0:
        return -1
    if s.loss_kind == LOSS_CE:                 # the loss: ∂J/∂A_L
        softmax_cross_entropy_rows(r0, r1, m, d_out, <floating*>s.P, <floating*>last.A,
                                   <int64_t*>s.Tb, s.row_loss, inv_n)
    elif s.loss_kind == LOSS_BCE:
        sigmoid_binary_cross_entropy_rows(r0, r1, m, d_out, <floating*>s.P, <floating*>last.A,
                                          <floating*>s.Tb, s.row_loss, inv_n)
    else:
        mean_squared_error_rows(r0, r1, m, d_out, <floating*>last.A, <floating*>s.Tb,
                                s.row_loss, inv_n)
    if last.kind != 0:                         # δ_L = ∂J/∂A_L ⊙ f'(Z_L)
        activation_backward_rows(last.kind, nr, m, d_out + r0 * m, <floating*>last.Z + r0 * m,
                                 <floating*>last.A + r0 * m, <floating*>last.delta + r0 * m,
                                 <floating*>last.gamma, NULL, 1)
    for l in range(nl - 1, 0, -1):             # the δ recurrence
        p = &L[l - 1]
        rc |= input_grad_core(nr, L[l].n_in, L[l].n_out, <floating*>p.delta + r0 * p.n_out,
                              <floating*>L[l].W, <floating*>L[l].delta + r0 * L[l].n_out,
                              p.kind, <floating*>p.Z + r0 * p.n_out,
                              <floating*>p.A + r0 * p.n_out, 1)
        if s.rate > 0:
            dropout_rows(nr, p.n_out, <floating*>p.delta + r0 * p.n_out,
                         <floating*>p.delta + r0 * p.n_out, s.rate,
                         splitmix64(seed0 + (l - 1)) + <uint64_t>(r0 * p.n_out), 1)
    return rc


cdef inline void _band(Layer* L, int t, Py_ssize_t* k0, Py_ssize_t* k1) noexcept nogil:
    """Thread t's band [k0, k1) of the rows of a layer's W (its inputs)."""
    _share(L.n_in, t, 1, k0, k1)


cdef inline void _columns(Layer* L, int t, Py_ssize_t unit, Py_ssize_t* c0,
                          Py_ssize_t* c1) noexcept nogil:
    """Thread t's share [c0, c1) of a layer's output columns (its biases), cut at a
    multiple of unit (a cache line of elements)."""
    _share(L.n_out, t, unit, c0, c1)


cdef int _band_grads(Halves* s, int t, Py_ssize_t rows, floating* _dtype) noexcept nogil:
    """Once both halves have passed: band t of every layer's dW = Xᵀ δ + l2 W over the
    whole batch, and half t of each layer's db columns; sets s.nonfinite when one of
    them is a NaN or inf.  Returns 0, or -1 (memory)."""
    cdef Py_ssize_t unit = 64 // sizeof(floating), k0, k1, c0, c1
    cdef int l, rc = 0
    cdef Layer* L = s.L
    cdef const floating* inp
    for l in range(s.n_layers):
        _band(&L[l], t, &k0, &k1)
        inp = _layer_input(L, l, <floating*>s.Xb, s.rate)
        if k1 > k0:
            rc |= weight_grad_core(rows, k1 - k0, L[l].n_out,
                                   <floating*>L[l].dW + k0 * L[l].n_out, NULL, inp + k0,
                                   <floating*>L[l].W + k0 * L[l].n_out,
                                   <floating*>L[l].delta, s.l2, &s.nonfinite, 1, L[l].n_in)
        _columns(&L[l], t, unit, &c0, &c1)
        if c1 > c0:
            bias_grad_cols(<floating*>L[l].db, <floating*>L[l].delta, L[l].n_out, rows, c0, c1)
            if not all_finite(<floating*>L[l].db + c0, c1 - c0):
                flag_set(&s.nonfinite)
    return rc


cdef void _half_steps(Halves* s, int t, int nt, floating* _dtype) noexcept nogil:
    """Thread t of nt (1 or 2) runs its halves of s.count steps from batch s.start:
    both passes, then both bands of gradients, then both bands' updates, with a
    barrier between."""
    cdef int k, l, status = DONE, u
    cdef long done = 0, step
    cdef Py_ssize_t start, rows, unit = 64 // sizeof(floating), lo, hi, off
    cdef Layer* L = s.L
    cdef double loss, total = s.total
    cdef int rc
    for k in range(s.count):
        start = s.start + k * s.batch
        rows = s.batch if s.n - start > s.batch else s.n - start
        step = s.steps + k
        if t == 0:
            s.nonfinite = 0                     # nobody reads it before the next barrier
            if k == s.warm:
                s.began = _now()
        rc, u = 0, t
        while u < 2:                           # seed as training.dropout_seeds
            rc |= _half_pass(s, u, rows, s.order + start,
                             s.epoch_seed + <uint64_t>(step * s.n_layers), _dtype)
            u += nt
        if rc != 0:
            flag_set(&s.no_memory)
        barrier()
        if s.no_memory:
            status = NO_MEMORY
            break
        if s.loss_kind == LOSS_CE:
            loss = softmax_cross_entropy_total(rows, s.row_loss)
        elif s.loss_kind == LOSS_BCE:
            loss = sigmoid_binary_cross_entropy_total(rows, s.row_loss)
        else:
            loss = mean_squared_error_total(rows, s.row_loss)
        if not isfinite(loss):
            status = DIVERGED
            break
        rc, u = 0, t
        while u < 2:
            rc |= _band_grads(s, u, rows, _dtype)
            u += nt
        if rc != 0:
            flag_set(&s.no_memory)
        barrier()
        if s.no_memory:
            status = NO_MEMORY
            break
        if s.nonfinite:                        # an update would make parameters inf or nan
            status = DIVERGED
            break
        u = t
        while u < 2:                           # the shares whose gradients this thread wrote
            for l in range(s.n_layers):
                _band(&L[l], u, &lo, &hi)
                off = <floating*>L[l].dW - <floating*>s.opt.grads[0]
                _update(s.opt, 0, off + lo * L[l].n_out, off + hi * L[l].n_out,
                        s.opt.t + step + 1, 1, _dtype)
                _columns(&L[l], u, unit, &lo, &hi)
                off = <floating*>L[l].db - <floating*>s.opt.grads[1]
                _update(s.opt, 1, off + lo, off + hi, s.opt.t + step + 1, 1, _dtype)
            u += nt
        barrier()                              # the next forward reads both shares
        total += loss * rows
        done += 1
    if t == 0:
        s.status, s.done, s.total = status, done, total


cdef inline void _half_steps_of(Halves* s, int t, int nt) noexcept nogil:
    """_half_steps in the dtype of the network's parameters."""
    if s.opt.itemsize == sizeof(float):
        _half_steps(s, t, nt, <float*>NULL)
    else:
        _half_steps(s, t, nt, <double*>NULL)


cdef struct Pace:
    # one thread or two for the next run of half-split steps, from how fast each ran
    # the last time it was timed; kept on the network between fits (float64 fields,
    # named in PACE_FIELDS).
    # The count not chosen is timed after PROBE_WARM steps of its run: the first steps
    # on two threads after a while on one move the data (fits of one step each, fit's
    # own tens of us included: small 426, 176, 136, 119 us, then level; mnist 1313
    # falling to 813 over six).
    double batch         # the batch size the times are for (another one starts afresh)
    double one, two      # seconds a step took in the last timed run on 1 / 2 threads (0: none)
    double since_one     # runs on two threads since one was timed
    double since_two     # runs on one thread since two was timed
    double slow          # consecutive runs on two threads slower than one (TWO_SLOWER)
    double use_one       # the choice: 1.0 = one thread
    double retry         # runs on one thread between timings of two (0: RETRY_TWO)


PACE_FIELDS = ("batch", "one", "two", "since_one", "since_two", "slow", "use_one", "retry")
assert len(PACE_FIELDS) == sizeof(Pace) // sizeof(double)   # the struct's fields, in order

cdef int forced_threads = 0     # force_threads: 1, 2, 3 (alternate) or 0 (Pace)
# two threads lose to one when a step on them took this many times one thread's: their
# 4-step timings after a switch read 95-194 us where steady runs took 85 (small, two
# threads, a noisy hour), and a mistaken switch to one thread lasts until a retry
cdef double TWO_SLOWER = 1.25


cdef inline int _pace_threads(const Pace* p) noexcept nogil:
    """Threads for the next run: the choice, or the other count when it has no time yet
    or has not been timed for p.retry (one thread) / RETIME_ONE (two) runs."""
    if p.use_one != 0:
        return 2 if p.two == 0 or p.since_two >= max(p.retry, <double>RETRY_TWO) else 1
    return 1 if p.one == 0 or p.since_one >= RETIME_ONE else 2


cdef inline void _pace_record(Pace* p, int threads, double step) noexcept nogil:
    """A run on `threads` threads took `step` seconds a step: update the choice.  Two
    threads are given up after two runs in a row TWO_SLOWER times slower than one
    thread's last time (one slow run is more often the host's hiccup than a change of
    placement), and taken back when a retry is not; each retry that two lose doubles
    the runs to the next (with another program busy on the second core, a run of 8
    steps on two threads took 95 ms, one thread's 1 ms)."""
    if threads == 1:
        p.one, p.since_one = step, 0
        if p.use_one != 0:
            p.since_two += 1
        else:
            p.use_one = 1.0 if p.two == 0 or p.two > step * TWO_SLOWER else 0.0
            p.slow = 0
        return
    p.two, p.since_two = step, 0
    p.since_one += 1
    if p.use_one != 0:
        if step <= p.one * TWO_SLOWER:
            p.use_one, p.retry = 0.0, RETRY_TWO
        else:
            p.retry = min(2 * max(p.retry, <double>RETRY_TWO), <double>RETRY_MAX)
        return
    p.slow = p.slow + 1 if step > p.one * TWO_SLOWER else 0
    if p.slow >= 2:
        p.use_one, p.slow = 1.0, 0


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
                    barrier()                   # time the steps, not a parked thread's wake-up
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


cdef inline void _argmax_rows(Py_ssize_t n, Py_ssize_t m, const floating* A,
                              int64_t* out) noexcept nogil:
    """out_i = the first j of the largest A_ij (a NaN counts as largest, as in
    numpy.argmax).   A (n, m)."""
    cdef Py_ssize_t i, j, best
    cdef const floating* row
    for i in range(n):
        row = A + i * m
        best = 0
        if row[0] == row[0]:
            for j in range(1, m):
                if row[j] != row[j]:
                    best = j
                    break
                if row[j] > row[best]:
                    best = j
        out[i] = best


cnp.import_array()


cdef void* _ptr(object a):
    """Address of an array's data (None: NULL)."""
    if a is None:
        return NULL
    return cnp.PyArray_DATA(<cnp.ndarray>a)


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
    """One epoch of `net` on (X, T) in the order `order`; returns (Σ J·rows, iterations)
    and advances opt.t.  Raises TrainingDiverged / MemoryError like the Python path."""
    from .training import TrainingDiverged
    cdef int n_layers = len(net.layers), l, status
    cdef Py_ssize_t n = X.shape[0], rows = min(batch_size, n)
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
        if opt.state is None:
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


cdef class Forward:
    """Inference through a network's current parameters in one native call:
    A_L from X, with per-call buffers only (so concurrent calls are safe).

    Built once per network (parameters live in fixed buffers, so the pointers
    stay valid).  ``forward(X, n_threads)`` returns None when X is not already a
    C-contiguous 2-D array of the network's dtype and width, or holds NaN/inf:
    the caller then converts it or raises.  Calls of NOGIL_MACS multiply-adds or
    more release the GIL while they run.  The products take their threads from
    the hand-off team (team.h), so a call after a pause never waits for a parked
    thread, and the GEMM's own thresholds decide which products pay for them."""
    cdef Layer* L
    cdef int n_layers
    cdef Py_ssize_t n_in, n_out, widest, macs_per_row
    cdef int typenum
    cdef object dtype, net

    def __cinit__(self, net):
        cdef int l
        self.n_layers = len(net.layers)
        self.L = <Layer*>malloc(self.n_layers * sizeof(Layer))
        if self.L == NULL:
            raise MemoryError()
        self.net, self.dtype = net, net.dtype       # keeps the parameter buffers alive
        self.typenum = net.dtype.num
        self.n_in, self.n_out, self.widest = net.n_inputs, net.n_outputs, 1
        for l, layer in enumerate(net.layers):
            self.L[l].n_in, self.L[l].n_out, self.L[l].kind = layer.n_in, layer.n_out, layer.code
            self.L[l].W, self.L[l].b = _ptr(layer._W), _ptr(layer._b)
            self.L[l].gamma = _ptr(layer._gamma)
            self.widest = max(self.widest, layer.n_out)
        self.macs_per_row = sum(layer.n_in * layer.n_out for layer in net.layers)

    def __dealloc__(self):
        free(self.L)

    def forward(self, X, int n_threads, bint argmax=False):
        """Output of X on up to n_threads threads, or None.  argmax: instead, each
        row's index of its largest output (int64; the first of equals, and a NaN
        counts as largest, as in numpy.argmax)."""
        # C-API checks: this call's overhead is the point of the class
        if type(X) is not np.ndarray:
            return None
        cdef cnp.ndarray x = <cnp.ndarray>X
        if (cnp.PyArray_TYPE(x) != self.typenum or cnp.PyArray_NDIM(x) != 2
                or not cnp.PyArray_IS_C_CONTIGUOUS(x)):
            return None
        cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(x)
        if dims[1] != self.n_in or dims[0] < 1:
            return None
        cdef cnp.npy_intp shape[2]
        shape[0], shape[1] = dims[0], self.n_out
        if argmax:
            out = cnp.PyArray_EMPTY(1, shape, cnp.NPY_INT64, 0)
        else:
            out = cnp.PyArray_EMPTY(2, shape, self.typenum, 0)
        cdef int rc
        cdef void* xp = cnp.PyArray_DATA(x)
        cdef void* op = cnp.PyArray_DATA(<cnp.ndarray>out)
        if dims[0] * self.macs_per_row < NOGIL_MACS:    # batch-1: the GIL hand-over costs more
            rc = self._dispatch(xp, op, dims[0], n_threads, argmax)
        else:                                           # other Python threads run meanwhile
            with nogil:
                rc = self._dispatch(xp, op, dims[0], n_threads, argmax)
        if rc == NO_MEMORY:
            raise MemoryError("mlpfast: out of memory in forward")
        return out if rc == DONE else None

    cdef int _dispatch(self, const void* X, void* out, Py_ssize_t n, int n_threads,
                       bint argmax) noexcept nogil:
        if self.typenum == cnp.NPY_FLOAT32:
            return self._run[float](<const float*>X, out, n, n_threads, argmax)
        return self._run[double](<const double*>X, out, n, n_threads, argmax)

    cdef int _run(self, const floating* X, void* out, Py_ssize_t n, int n_threads,
                  bint argmax) noexcept nogil:
        """Z_l = A_{l-1} W_l + b_l, A_l = f(Z_l) in place, ping-ponging two buffers;
        the last layer into out, or into a buffer and its row argmax into out."""
        cdef int l, last = self.n_layers - 1, rc = 0
        cdef Layer* L = self.L
        cdef floating* buf
        cdef floating* cur
        cdef const floating* inp = X
        cdef char local[FORWARD_STACK + 64]      # small batches: no allocation
        if not all_finite(X, n * self.n_in):
            return DIVERGED
        # two buffers, each starting on a cache line (see _memory.py)
        cdef Py_ssize_t half = (n * self.widest * sizeof(floating) + 63) // 64 * 64
        cdef bint heap = 2 * half > FORWARD_STACK
        if not heap:
            buf = <floating*>((<uintptr_t>local + 63) & ~(<uintptr_t>63))
        elif posix_memalign(<void**>&buf, 64, 2 * half) != 0:
            return NO_MEMORY
        for l in range(self.n_layers):
            if l == last and not argmax:
                cur = <floating*>out
            else:
                cur = <floating*>(<char*>buf + (l % 2) * half)
            rc = linear_forward_core(n, L[l].n_in, L[l].n_out, cur,
                                     cur if L[l].kind != 0 else NULL, inp, <floating*>L[l].W,
                                     <floating*>L[l].b, L[l].kind, <floating*>L[l].gamma,
                                     n_threads, True)
            if rc != 0:
                break
            inp = cur
        if rc == 0 and argmax:
            _argmax_rows(n, self.n_out, inp, <int64_t*>out)
        if heap:
            free(buf)
        return NO_MEMORY if rc != 0 else DONE
