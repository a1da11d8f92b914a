# Activation cores (interface; H2 fills in every kind).
from cython cimport floating

cdef enum:
    IDENTITY = 0
    SIGMOID = 1
    TANH = 2
    RELU = 3
    LEAKY_RELU = 4
    PRELU = 5
    ELU = 6
    SOFTPLUS = 7
    SWISH = 8
    GELU = 9
    GELU_TANH = 10

cdef inline void activation_forward_block(
        int kind, Py_ssize_t rows, Py_ssize_t cols,
        const floating* Z, Py_ssize_t ldz, floating* A, Py_ssize_t lda,
        const floating* gamma) noexcept nogil:
    """A = f(Z) on a rows x cols block (A may be Z).  gamma: the block's first
    column's γ (prelu only, else NULL)."""
    cdef Py_ssize_t i, j
    for i in range(rows):
        for j in range(cols):
            if kind == RELU:
                A[i * lda + j] = Z[i * ldz + j] if Z[i * ldz + j] > 0 else 0
            else:
                A[i * lda + j] = Z[i * ldz + j]


cdef inline void activation_backward_block(
        int kind, Py_ssize_t rows, Py_ssize_t cols,
        const floating* dA, Py_ssize_t ldda, const floating* Z, Py_ssize_t ldz,
        const floating* A, Py_ssize_t lda, floating* dZ, Py_ssize_t lddz,
        const floating* gamma) noexcept nogil:
    """dZ = dA ⊙ f'(Z) on a rows x cols block (dZ may be dA)."""
    cdef Py_ssize_t i, j
    for i in range(rows):
        for j in range(cols):
            if kind == RELU:
                dZ[i * lddz + j] = dA[i * ldda + j] if Z[i * ldz + j] > 0 else 0
            else:
                dZ[i * lddz + j] = dA[i * ldda + j]
