# One training step's pieces, shared by the engine's two steps (_engine.pyx's
# step of whole products, halves.pxd's half-split one) and by inference
# (_inference.pyx): the layer and optimiser structs, the batch gather, the
# forward pass over a run of rows, a layer's backward pass and the optimiser's
# update of a share of a buffer.  They call the very same nogil cores
# (linalg.pxd, activations.pxd, losses.pxd, optim.pxd) as the Python layer path
# of mlpfast.training, in the very same order, so the two agree bitwise.
cimport numpy as cnp
from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy

from activations cimport activation_backward_rows
from dropout cimport dropout_rows, splitmix64
from finite cimport all_finite
from gemm cimport claim_runs, mlpf_claim
from linalg cimport linear_backward_core, linear_forward_core
from optim cimport (adagrad_update_core, adam_update_core, momentum_update_core,
                    nesterov_update_core, rmsprop_update_core, sgd_update_core)

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
    DONE = 0             # the outcome of a run of steps, or of an inference call
    DIVERGED = 1
    NO_MEMORY = 2
    INTERRUPTED = 3
    # a team gathers a batch of this many bytes or more: its rows come from
    # anywhere in X (memory, not cache), so a second core's misses overlap
    GATHER_PAR_BYTES = 131072
    FINITE_CHUNK = 65536  # elements a thread checks at a time (teams from 2 chunks)
    # a layer's lines claimed during its forward product at most (_forward_rows):
    # more would leave L2 again before they are written
    CLAIM_BYTES = 262144


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


cdef extern from *:
    """
    static inline void mlpf_prefetch_l2(const void *p) { __builtin_prefetch(p, 0, 2); }
    """
    void prefetch_l2 "mlpf_prefetch_l2"(const void* p) noexcept nogil


cdef inline void _prefetch_rows(Py_ssize_t rows, Py_ssize_t m, const floating* src,
                                const int64_t* idx) noexcept nogil:
    """Ask for the lines of src[idx[i]] (i < rows, m elements a row) ahead of a _gather
    of them: the rows of the next batch, while this step finishes."""
    cdef Py_ssize_t i, j, line = 64 // sizeof(floating)
    cdef const floating* r
    for i in range(rows):
        r = src + idx[i] * m
        j = 0
        while j < m:
            prefetch_l2(r + j)
            j += line
        prefetch_l2(r + m - 1)


cdef inline int _forward_rows(Layer* L, int n_layers, Py_ssize_t r0, Py_ssize_t rows,
                              const floating* X, double rate, uint64_t seed0,
                              int n_threads, bint claim=False) noexcept nogil:
    """Rows [r0, r0 + rows) of the batch through every layer: Z, A and, with dropout,
    D of the hidden layers (row i's mask from layer l's seed + i·n_out, so any split
    of the rows draws the same masks).  X points at row r0.  claim: another core
    read these rows of A, D and δ since this one wrote them (halves.pxd), so each
    layer's product takes them for writing while it runs (gemm.h), up to
    CLAIM_BYTES.  Returns 0, or -1 (memory)."""
    cdef int l
    cdef Py_ssize_t off, size
    cdef const floating* inp = X
    cdef floating* act           # A, or NULL when A is Z (identity)
    cdef bint dropping
    cdef mlpf_claim lines
    cdef mlpf_claim* taking
    for l in range(n_layers):
        off = r0 * L[l].n_out
        size = rows * L[l].n_out * sizeof(floating)
        dropping = rate > 0 and l < n_layers - 1
        act = NULL if L[l].A == L[l].Z else <floating*>L[l].A + off
        taking = NULL
        if claim and 3 * size <= CLAIM_BYTES:
            lines = claim_runs(<floating*>L[l].delta + off, size, act, size,
                               <floating*>L[l].D + off if dropping else NULL, size)
            taking = &lines
        if linear_forward_core(rows, L[l].n_in, L[l].n_out, <floating*>L[l].Z + off, act, inp,
                               <floating*>L[l].W, <floating*>L[l].b, L[l].kind,
                               <floating*>L[l].gamma, n_threads, False, taking) != 0:
            return -1
        inp = <floating*>L[l].A + off
        if dropping:
            dropout_rows(rows, L[l].n_out, <floating*>L[l].D + off, inp, rate,
                         splitmix64(seed0 + l) + <uint64_t>off, n_threads)
            inp = <floating*>L[l].D + off
    return 0


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


cdef inline void* _ptr(object a):
    """Address of an array's data (None: NULL)."""
    if a is None:
        return NULL
    return cnp.PyArray_DATA(<cnp.ndarray>a)
