# The half-split (data-parallel) step, on one thread or two.
#
# On two threads a step of enough work splits in two ways (_half_steps): each
# thread runs half the batch through forward, loss and δ recurrence; then each
# computes a band of every layer's dW rows over the whole batch, its share of
# the bias gradients, and updates the parameters of its band.  A thread's band
# of dW is the band it updates, so no partial gradient crosses between cores;
# what crosses is half of each layer's input and δ, which the band's product
# reads, and the band of weights the other thread updated, which the forward pass
# reads.  Threads that split each product instead exchange activations at every
# layer, which costs more here than the work they share.  Each element of dW is
# the one fold of linalg.pxd, so the bits stay those of one thread.
# A band starts as soon as the other half's δ of its layer is written (each
# thread posts its δ layer by layer), the last layer first; the two barriers left,
# before the update and after it, are two posted counters, one line each way.
# One thread runs both halves, in the same order, with the same bits.
from cython cimport floating
from libc.math cimport isfinite
from libc.stdint cimport int64_t, uint64_t

from activations cimport activation_backward_rows
from dropout cimport dropout_rows, splitmix64
from finite cimport all_finite, flag_set
from linalg cimport bias_grad_cols, input_grad_core, weight_grad_core
from losses cimport (mean_squared_error_rows, mean_squared_error_total,
                     sigmoid_binary_cross_entropy_rows, sigmoid_binary_cross_entropy_total,
                     softmax_cross_entropy_rows, softmax_cross_entropy_total)
from pace cimport _now
from step cimport (DIVERGED, DONE, LOSS_BCE, LOSS_CE, NO_MEMORY, Layer, Optim, _forward_rows,
                   _gather_batch, _layer_input, _prefetch_rows, _update)

cdef extern from *:
    """
    static inline void mlpf_barrier(void) {
    #ifdef _OPENMP
    #pragma omp barrier
    #endif
    }
    """
    void barrier "mlpf_barrier"() noexcept nogil    # of the enclosing OpenMP region

cdef extern from *:
    """
    #ifndef MLPF_POSTS
    #define MLPF_POSTS
    #include <sched.h>
    #include "team.h"
    /* How far a thread's passes of a run have come, on a cache line of its own
     * (its neighbours are read all step long). */
    typedef struct { char before[64]; long n; char after[64]; } mlpf_posts;
    static inline void mlpf_post(mlpf_posts *p, long n)
    {
        __atomic_store_n(&p->n, n, __ATOMIC_RELEASE);
    }
    /* Until p has come to n: spin (the wait is a part of one pass), and yield the
     * core once it has lasted long enough to mean the other thread is not running. */
    static inline void mlpf_await(const mlpf_posts *p, long n)
    {
        for (long i = 0; __atomic_load_n(&p->n, __ATOMIC_ACQUIRE) < n; i++) {
            mlpf_pause();
            if (i >= 100000) sched_yield();
        }
    }
    /* The two threads' barrier: post the meetings this thread has come to, wait
     * for the other's (one line each way, where an OpenMP barrier moves more). */
    static inline void mlpf_meet(mlpf_posts *mine, const mlpf_posts *other)
    {
        const long n = mine->n + 1;                /* only this thread writes mine */
        mlpf_post(mine, n);
        mlpf_await(other, n);
    }
    #endif
    """
    ctypedef struct mlpf_posts:
        long n
    void _post "mlpf_post"(mlpf_posts* p, long n) noexcept nogil
    void _await "mlpf_await"(const mlpf_posts* p, long n) noexcept nogil
    void _meet "mlpf_meet"(mlpf_posts* mine, const mlpf_posts* other) noexcept nogil


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
    mlpf_posts posted[2]         # per thread: the δ its passes of the run have written
    mlpf_posts met[2]            # per thread: the meetings (barriers) it has come to


cdef inline void _share(Py_ssize_t n, int t, Py_ssize_t unit, Py_ssize_t* lo,
                        Py_ssize_t* hi) noexcept nogil:
    """Half t of [0, n), cut at a multiple of unit (a cache line of elements)."""
    cdef Py_ssize_t cut = min(n, ((n + 1) // 2 + unit - 1) // unit * unit)
    lo[0] = 0 if t == 0 else cut
    hi[0] = cut if t == 0 else n


cdef inline Py_ssize_t _batch_rows(Halves* s, Py_ssize_t start) noexcept nogil:
    """Rows of the batch at start: s.batch, or what is left of the epoch."""
    return s.batch if s.n - start > s.batch else s.n - start


cdef inline void _half_rows(Py_ssize_t rows, int t, Py_ssize_t* r0,
                            Py_ssize_t* r1) noexcept nogil:
    """Half t [r0, r1) of a batch's rows: [0, h) or [h, rows), h = ⌈rows/2⌉."""
    cdef Py_ssize_t h = (rows + 1) // 2
    r0[0] = 0 if t == 0 else h
    r1[0] = h if t == 0 else rows


cdef inline int _half_pass(Halves* s, int t, Py_ssize_t rows, const int64_t* order,
                           uint64_t seed0, bint claim, mlpf_posts* post, long base,
                           floating* _dtype) noexcept nogil:
    """Half t of a batch (rows [0, h) or [h, rows), h = ⌈rows/2⌉): gather, forward, loss
    rows and δ rows; the gradients are left to _band_grads.  claim: the other thread
    read this half's A and δ in the last step's _band_grads, so the forward products
    take their lines back for writing meanwhile (_forward_rows).  post (unless NULL):
    base + j once the δ of the last j layers are written (all of A before them), for
    the other thread's bands (_band_grads); base + n_layers at the end, whatever
    happened.  Returns 0, or -1 (memory)."""
    cdef int rc = _half_pass_rows(s, t, rows, order, seed0, claim, post, base, _dtype)
    if post != NULL:
        _post(post, base + s.n_layers)
    return rc


cdef inline int _half_pass_rows(Halves* s, int t, Py_ssize_t rows, const int64_t* order,
                                uint64_t seed0, bint claim, mlpf_posts* post, long base,
                                floating* _dtype) noexcept nogil:
    """_half_pass but its last post."""
    cdef Layer* L = s.L
    cdef int l, nl = s.n_layers, rc = 0
    cdef Layer* last = &L[nl - 1]
    cdef Layer* p
    cdef Py_ssize_t r0, r1, nr
    cdef Py_ssize_t m = last.n_out
    cdef double inv_n = 1.0 / rows
    cdef floating* d_out = <floating*>(last.delta if last.kind == 0 else last.dA)
    _half_rows(rows, t, &r0, &r1)
    nr = r1 - r0
    if nr == 0:
        return 0
    _gather_batch(r0, nr, s.m0, <floating*>s.Xb, <const floating*>s.X, s.Tb, s.T,
                  s.t_width, s.loss_kind, order, 1)
    if _forward_rows(L, nl, r0, nr, <floating*>s.Xb + r0 * s.m0, s.rate, seed0, 1,
                     claim) != 0:
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
        if post != NULL:
            _post(post, base + nl - l)
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


cdef inline int _band_grads(Halves* s, int t, Py_ssize_t rows, bint own_w,
                            const mlpf_posts* other, long base,
                            floating* _dtype) noexcept nogil:
    """Band t of every layer's dW = Xᵀ δ + l2 W over the whole batch, and half t of each
    layer's db columns, the last layer first; sets s.nonfinite when one of them is a
    NaN or inf.  Each layer's band waits for the other half's δ of that layer: until
    other (the other thread's posts, _half_pass) reaches base + n_layers - l, unless
    other is NULL (both halves passed here).  So a thread whose pass ended first
    starts on the layers the other has done instead of waiting for its whole pass.
    own_w: the other thread read the band of W in its pass, so take it back for the
    update meanwhile (weight_grad_core).  Returns 0, or -1 (memory)."""
    cdef Py_ssize_t unit = 64 // sizeof(floating), k0, k1, c0, c1
    cdef int l, rc = 0
    cdef Layer* L = s.L
    cdef const floating* inp
    for l in range(s.n_layers - 1, -1, -1):
        if other != NULL:
            _await(other, base + s.n_layers - l)
        _band(&L[l], t, &k0, &k1)
        inp = _layer_input(L, l, <floating*>s.Xb, s.rate)
        if k1 > k0:
            rc |= weight_grad_core(rows, k1 - k0, L[l].n_out,
                                   <floating*>L[l].dW + k0 * L[l].n_out, NULL, inp + k0,
                                   <floating*>L[l].W + k0 * L[l].n_out,
                                   <floating*>L[l].delta, s.l2, &s.nonfinite, 1, L[l].n_in,
                                   own_w)
        _columns(&L[l], t, unit, &c0, &c1)
        if c1 > c0:
            bias_grad_cols(<floating*>L[l].db, <floating*>L[l].delta, L[l].n_out, rows, c0, c1)
            if not all_finite(<floating*>L[l].db + c0, c1 - c0):
                flag_set(&s.nonfinite)
    return rc


cdef inline void _prefetch_half(Halves* s, int t, Py_ssize_t start,
                                floating* _dtype) noexcept nogil:
    """Ask for the rows of X that _half_pass will gather for half t of the batch at
    start (the rows come from anywhere in X; asked for during the barrier and the
    update, they arrive before the next pass)."""
    cdef Py_ssize_t r0, r1
    _half_rows(_batch_rows(s, start), t, &r0, &r1)
    if r1 > r0:
        _prefetch_rows(r1 - r0, s.m0, <const floating*>s.X, s.order + start + r0)


cdef inline void _meet_if(mlpf_posts* mine, const mlpf_posts* other) noexcept nogil:
    """The two threads' barrier, on mine and other (s.met); none when mine is NULL (one
    thread)."""
    if mine != NULL:
        _meet(mine, other)


cdef inline bint _join(Halves* s, int rc, mlpf_posts* mine,
                       const mlpf_posts* other) noexcept nogil:
    """The barrier after a phase (_meet_if), where rc is this thread's outcome of it (0,
    or -1: memory): True when either thread ran out of memory."""
    if rc != 0:
        flag_set(&s.no_memory)
    _meet_if(mine, other)
    return s.no_memory != 0


cdef inline void _half_steps(Halves* s, int t, int nt, floating* _dtype) noexcept nogil:
    """Thread t of nt (1 or 2) runs its halves of s.count steps from batch s.start:
    both passes, then both bands of gradients (each layer's once the other half's δ
    of it is written), a barrier, then both bands' updates and a barrier."""
    cdef int k, l, status = DONE, u
    cdef long done = 0, step
    cdef Py_ssize_t start, rows, unit = 64 // sizeof(floating), lo, hi, off
    cdef Layer* L = s.L
    cdef double loss, total = s.total
    cdef int rc
    cdef mlpf_posts* mine = NULL         # δ posted (_half_pass, _band_grads)
    cdef mlpf_posts* other = NULL
    cdef mlpf_posts* met = NULL          # barriers (_meet_if)
    cdef mlpf_posts* other_met = NULL
    if nt > 1:
        mine, other = &s.posted[t], &s.posted[1 - t]
        met, other_met = &s.met[t], &s.met[1 - t]
        _post(mine, 0)
        _post(met, 0)
        barrier()              # both here: no old posts (and time steps, not a wake-up)
    for k in range(s.count):
        start = s.start + k * s.batch
        rows = _batch_rows(s, start)
        step = s.steps + k
        if t == 0:
            s.nonfinite = 0                     # nobody reads it before the next barrier
            if k == s.warm:
                s.began = _now()
        rc, u = 0, t
        while u < 2:                           # seed as training.dropout_seeds
            rc |= _half_pass(s, u, rows, s.order + start,
                             s.epoch_seed + <uint64_t>(step * s.n_layers), nt > 1, mine,
                             k * s.n_layers, _dtype)
            u += nt
        u = t
        while u < 2:
            rc |= _band_grads(s, u, rows, nt > 1, other, k * s.n_layers, _dtype)
            if start + s.batch < s.n:          # the next batch's half u, while we wait
                _prefetch_half(s, u, start + s.batch, _dtype)
            u += nt
        if _join(s, rc, met, other_met):
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
        _meet_if(met, other_met)               # the next forward reads both shares
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
