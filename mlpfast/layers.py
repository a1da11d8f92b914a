"""Dense layers: Z = A_prev W + b, A = f(Z), and the layer's share of the δ recurrence.

Layers call the kernels' raw entry points (``kernel.raw``, normalised
arguments: activation codes, no checks): every array here is a buffer the
network made with the right shape and dtype, and X and y were checked once at
the API, so per-call checks would only cost time.

A layer does not own its parameters: ``W``, ``b`` (and prelu's ``gamma``) are
views into the network's flat parameter buffers, and ``dW``, ``db``,
``dgamma`` views into its flat gradient buffers, so that an optimiser step is
one kernel call per buffer.  Activations and the error signal are cached per
batch size.
"""
import numpy as np

from . import _memory
from ._kernel_checks import ACTIVATIONS, activation_code

PRELU = ACTIVATIONS["prelu"]
CANONICAL = {code: name for name, code in ACTIVATIONS.items()}


def _assign(target, value, name):
    value = np.asarray(value)
    if value.shape != target.shape:
        raise ValueError(f"{name} must have shape {target.shape}, got {value.shape}")
    if not np.issubdtype(value.dtype, np.number) or np.iscomplexobj(value):
        raise TypeError(f"{name} must be real numbers, got dtype {value.dtype}")
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{name} must be finite")
    target[...] = value


class Dense:
    """A fully connected layer of ``n_out`` units with activation ``activation``."""

    def __init__(self, n_in, n_out, activation, dtype):
        self.n_in, self.n_out = n_in, n_out
        self.code = activation_code(activation)
        self.activation = CANONICAL[self.code]
        self.dtype = np.dtype(dtype)
        self._W = self._b = self._gamma = None       # views set by the network
        self.dW = self.db = self.dgamma = None
        self.X = self.Z = self.A = self.delta = None  # caches of the last batch
        self.D = None                                 # A after dropout (training only)
        self._rows = 0

    # ------------------------------------------------------------ parameters
    @property
    def W(self):
        """Weights (n_in, n_out), live; assigning copies the values in."""
        return self._W

    @W.setter
    def W(self, value):
        _assign(self._W, value, "W")

    @property
    def b(self):
        """Biases (n_out,), live; assigning copies the values in."""
        return self._b

    @b.setter
    def b(self, value):
        _assign(self._b, value, "b")

    @property
    def gamma(self):
        """prelu's learned negative slopes (n_out,); None for other activations."""
        return self._gamma

    @gamma.setter
    def gamma(self, value):
        if self._gamma is None:
            raise AttributeError(f"a {self.activation} layer has no gamma")
        _assign(self._gamma, value, "gamma")

    @property
    def is_prelu(self):
        return self.code == PRELU

    # ------------------------------------------------------------ passes
    def _buffers(self, rows):
        if rows != self._rows:
            shape = (rows, self.n_out)
            self.Z = _memory.empty(shape, self.dtype)
            self.A = self.Z if self.code == 0 else _memory.empty(shape, self.dtype)
            self.delta = _memory.empty(shape, self.dtype)
            self._dA = _memory.empty(shape, self.dtype) if self.is_prelu else None
            self.D = None
            self._rows = rows

    def forward(self, kernels, X, n_threads):
        """Z = X W + b ; A = f(Z).   X (N, n_in) -> A (N, n_out)."""
        self._buffers(X.shape[0])
        self.X = X
        kernels.linear_forward.raw(self.Z, None if self.A is self.Z else self.A, X, self._W,
                                   self._b, self.code, self._gamma, n_threads)
        return self.A

    def drop(self, kernels, rate, seed, n_threads):
        """D = A ⊙ keep/(1 − rate), the mask of `seed` (training only); returns D."""
        kernels.dropout.raw(self._mask_buffer(), self.A, rate, seed, n_threads)
        return self.D

    def _mask_buffer(self):
        """D's array for the current batch rows, allocated on first use."""
        if self.D is None:
            self.D = _memory.empty_like(self.Z)
        return self.D

    def backward(self, kernels, prev, l2, n_threads, prev_mask=None):
        """From δ (self.delta): dW = Xᵀδ + l2 W, db = Σ_rows δ, and δ of `prev`:
        (δ Wᵀ) ⊙ f'_prev(Z_prev), written into prev.delta (prev None: first layer).
        prev_mask: (rate, seed) of the dropout applied to prev's output, if any."""
        if prev is None:
            kernels.linear_backward.raw(self.dW, self.db, None, self.X, self._W, self.delta,
                                        l2, 0, None, None, n_threads)
        elif prev.is_prelu:   # dγ needs ∂J/∂A_prev = δ Wᵀ before the product with f'
            kernels.linear_backward.raw(self.dW, self.db, prev._dA, self.X, self._W, self.delta,
                                        l2, 0, None, None, n_threads)
            if prev_mask is not None:
                kernels.dropout.raw(prev._dA, prev._dA, *prev_mask, n_threads)
            kernels.activation_backward.raw(prev.delta, prev._dA, prev.Z, prev.A, prev.code,
                                            prev._gamma, prev.dgamma, n_threads)
        else:
            kernels.linear_backward.raw(self.dW, self.db, prev.delta, self.X, self._W,
                                        self.delta, l2, prev.code,
                                        prev.Z if prev.code else None,
                                        prev.A if prev.code else None, n_threads)
            if prev_mask is not None:
                kernels.dropout.raw(prev.delta, prev.delta, *prev_mask, n_threads)

    def __repr__(self):
        return f"Dense({self.n_in} -> {self.n_out}, {self.activation})"
