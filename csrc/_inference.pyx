"""Inference: a network's forward pass in one native call (Forward), apart from the
training engine (_engine.pyx); both share step.pxd's Layer."""
import numpy as np

cimport numpy as cnp
from cython cimport floating
from libc.stdint cimport int64_t, uintptr_t
from libc.stdlib cimport free, malloc

cdef extern from "<stdlib.h>" nogil:
    int posix_memalign(void** ptr, size_t alignment, size_t size)

from finite cimport all_finite
from gemm cimport force_simd_path
from linalg cimport linear_forward_core
from step cimport DIVERGED, DONE, NO_MEMORY, Layer, _ptr

cdef enum:
    NOGIL_MACS = 1 << 20  # Forward releases the GIL from this much work (~10 us)
    FORWARD_STACK = 16384  # bytes of Forward's two buffers that live on the stack
    # Forward runs a big batch through the layers a block of rows at a time, with two
    # buffers of about this many bytes: on small's 64-128-128-10, 10 000 rows took
    # 5.96 ms in one block (layer after layer through 5 MB activations) and 3.03-3.11 ms
    # in blocks of 512-4096 rows; mnist's and wide's widths stayed compute-bound (25-30
    # and 138-142 ms, 512 rows or more)
    BLOCK_BYTES = 1 << 20
    BLOCK_MIN_ROWS = 512


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
                or not cnp.PyArray_IS_C_CONTIGUOUS(x) or not cnp.PyArray_ISNOTSWAPPED(x)):
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
        """Z_l = A_{l-1} W_l + b_l, A_l = f(Z_l) in place, ping-ponging two buffers, a
        block of rows at a time (each row's output is its own: the same bits in any
        block); the last layer into out, or into a buffer and its row argmax into out."""
        cdef int l, last = self.n_layers - 1, rc = 0
        cdef Layer* L = self.L
        cdef floating* buf
        cdef floating* cur
        cdef const floating* inp
        cdef char local[FORWARD_STACK + 64]      # small batches: no allocation
        cdef Py_ssize_t r0, rows
        cdef Py_ssize_t block = max(<Py_ssize_t>BLOCK_MIN_ROWS,
                                    BLOCK_BYTES // (self.widest * sizeof(floating)))
        if not all_finite(X, n * self.n_in):
            return DIVERGED
        block = min(block, n)
        # two buffers, each starting on a cache line (see _memory.py)
        cdef Py_ssize_t half = (block * self.widest * sizeof(floating) + 63) // 64 * 64
        cdef bint heap = 2 * half > FORWARD_STACK
        if not heap:
            buf = <floating*>((<uintptr_t>local + 63) & ~(<uintptr_t>63))
        elif posix_memalign(<void**>&buf, 64, 2 * half) != 0:
            return NO_MEMORY
        r0 = 0
        while r0 < n and rc == 0:
            rows = min(block, n - r0)
            inp = X + r0 * self.n_in
            for l in range(self.n_layers):
                if l == last and not argmax:
                    cur = <floating*>out + r0 * self.n_out
                else:
                    cur = <floating*>(<char*>buf + (l % 2) * half)
                rc = linear_forward_core(rows, L[l].n_in, L[l].n_out, cur,
                                         cur if L[l].kind != 0 else NULL, inp,
                                         <floating*>L[l].W, <floating*>L[l].b, L[l].kind,
                                         <floating*>L[l].gamma, n_threads, True)
                if rc != 0:
                    break
                inp = cur
            if rc == 0 and argmax:
                _argmax_rows(rows, self.n_out, inp, <int64_t*>out + r0)
            r0 += rows
        if heap:
            free(buf)
        return NO_MEMORY if rc != 0 else DONE
