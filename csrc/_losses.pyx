"""Loss kernels (raw: arguments are checked by mlpfast._kernel_checks first).

Design: the cores live in losses.pxd so that the training engine calls the
very same functions; these wrappers take typed memoryviews (float32 or
float64 through one fused type), allocate the N-double row workspace,
release the GIL and return J as a Python float.  All outputs are overwritten.
"""
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cython cimport floating
from libc.stdint cimport int64_t

from losses cimport (mean_squared_error_core, sigmoid_binary_cross_entropy_core,
                     softmax_cross_entropy_core)


cdef double* _workspace(Py_ssize_t N) except NULL:
    cdef double* w = <double*>PyMem_Malloc(N * sizeof(double))
    if w == NULL:
        raise MemoryError("mlpfast: could not allocate the loss workspace")
    return w


def softmax_cross_entropy(floating[:, ::1] dZ not None, floating[:, ::1] P not None,
                          const floating[:, ::1] Z not None, const int64_t[::1] labels not None,
                          int n_threads):
    """J = -(1/N) Σ_i log softmax(Z_i)_{y_i} ; P = softmax(Z) ; dZ = (P - onehot)/N.
    Z, P, dZ (N, C), labels (N,).  Overwrites P and dZ; returns J."""
    cdef Py_ssize_t N = Z.shape[0]
    cdef double J
    cdef double* w = _workspace(N)
    with nogil:
        J = softmax_cross_entropy_core(N, Z.shape[1], &dZ[0, 0], &P[0, 0], &Z[0, 0],
                                       &labels[0], w, n_threads)
    PyMem_Free(w)
    return J


def mean_squared_error(floating[:, ::1] dZ not None, const floating[:, ::1] Z not None,
                       const floating[:, ::1] Y not None, int n_threads):
    """J = (1/(2N)) Σ_i ‖Z_i - Y_i‖² ; dZ = (Z - Y)/N.   Z, Y, dZ (N, M).
    Overwrites dZ; returns J."""
    cdef Py_ssize_t N = Z.shape[0]
    cdef double J
    cdef double* w = _workspace(N)
    with nogil:
        J = mean_squared_error_core(N, Z.shape[1], &dZ[0, 0], &Z[0, 0], &Y[0, 0], w, n_threads)
    PyMem_Free(w)
    return J


def sigmoid_binary_cross_entropy(floating[:, ::1] dZ not None, floating[:, ::1] P not None,
                                 const floating[:, ::1] Z not None,
                                 const floating[:, ::1] Y not None, int n_threads):
    """J = -(1/N) Σ [Y log σ(Z) + (1-Y) log(1-σ(Z))] ; P = σ(Z) ; dZ = (P - Y)/N.
    Z, Y, P, dZ (N, K).  Overwrites P and dZ; returns J."""
    cdef Py_ssize_t N = Z.shape[0]
    cdef double J
    cdef double* w = _workspace(N)
    with nogil:
        J = sigmoid_binary_cross_entropy_core(N, Z.shape[1], &dZ[0, 0], &P[0, 0], &Z[0, 0],
                                              &Y[0, 0], w, n_threads)
    PyMem_Free(w)
    return J
