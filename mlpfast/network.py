"""The multilayer perceptron: the forward pass and the δ recurrence (DESIGN §2).

Row-major batches: Z_l = A_{l-1} W_l + b_l, A_l = f_l(Z_l), A_0 = X;
δ_L from the loss (times f_L' when the output layer has an activation), then
dW_l = A_{l-1}ᵀ δ_l (+ λ W_l), db_l = Σ_rows δ_l, δ_{l-1} = (δ_l W_lᵀ) ⊙ f'_{l-1}(Z_{l-1}).
This is the column-vector recurrence δˡ = f'(zˡ) ⊙ (Wˡ⁺¹)ᵀ δˡ⁺¹ with W stored
transposed.  Each product and what follows it is one kernel call.
"""
import numbers
import threading

import numpy as np

from . import _backend, _memory, init as _init, losses as _losses
from ._kernel_checks import _scalar
from ._threads import get_num_threads
from ._validation import as_features, fraction, positive_int
from .layers import Dense

DTYPES = {"float32": np.float32, "float64": np.float64}


def _dtype(dtype):
    try:
        key = dtype if isinstance(dtype, str) or dtype is None else np.dtype(dtype).name
    except (TypeError, ValueError):
        key = None
    if key not in DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return np.dtype(DTYPES[key])


def _seeded(seed):
    """(seed, np.random.default_rng(seed)) for what default_rng takes (None, an int >= 0,
    a sequence of them, a SeedSequence, BitGenerator or Generator; an int kept as a
    Python int), with an error that names seed."""
    if not isinstance(seed, bool):
        try:
            rng = np.random.default_rng(seed)
            return (int(seed) if isinstance(seed, numbers.Integral) else seed), rng
        except (TypeError, ValueError) as exc:
            error = type(exc)
    else:
        error = TypeError
    raise error("seed must be None, an int >= 0 (or a sequence of them) or a numpy "
                f"SeedSequence, BitGenerator or Generator, got {seed!r}")


class _Exclusive:
    """A network's hold, taken (``with net._exclusive:``) around what writes its own
    buffers (fit, forward, backward): a call from another thread meanwhile raises rather
    than write them too, since the native engine runs without the GIL.  The holding
    thread may enter again (a fit's callbacks may call forward or score)."""

    def __init__(self):
        self._lock = threading.RLock()

    def __enter__(self):
        if not self._lock.acquire(blocking=False):
            raise RuntimeError("this network is busy in another thread (fit, forward or "
                               "backward); use one network per thread, or wait for it")
        return self

    def __exit__(self, *exc):
        self._lock.release()


class MLP:
    """A fully connected feed-forward network (see DESIGN §6 for the contract).

    ``layer_sizes`` [m0, ..., mL]; ``activation`` one name or one per hidden
    layer; ``output_activation`` None for identity (the loss owns the link);
    ``loss`` 'cross_entropy' | 'binary_cross_entropy' | 'mse'; ``dropout`` the
    drop rate of hidden activations during ``fit``; ``seed`` drives init,
    shuffling, dropout and validation splits.
    """

    def __init__(self, layer_sizes, activation="relu", output_activation=None,
                 loss="cross_entropy", dtype="float32", init="auto", l2=0.0, dropout=0.0,
                 seed=None, backend=None):
        try:
            sizes = list(layer_sizes) if not isinstance(layer_sizes, (str, bytes)) else None
        except TypeError:
            sizes = None
        if not sizes or len(sizes) < 2:
            raise ValueError("layer_sizes must list at least two sizes [inputs, ..., outputs], "
                             f"got {layer_sizes!r}")
        self.layer_sizes = [positive_int(m, f"layer_sizes[{i}]") for i, m in enumerate(sizes)]
        n_hidden = len(sizes) - 2
        acts = ([activation] * n_hidden if isinstance(activation, str)
                else list(activation) if isinstance(activation, (list, tuple)) else None)
        if acts is None or not all(isinstance(a, str) for a in acts):
            raise TypeError(f"activation must be a name or a list of names (one per hidden "
                            f"layer), got {activation!r}")
        if len(acts) != n_hidden:
            raise ValueError(f"activation must be one name or {n_hidden} names (one per hidden "
                             f"layer), got {len(acts)}")
        acts.append("identity" if output_activation is None else output_activation)
        self.dtype = _dtype(dtype)
        self.loss = _losses.get(loss)
        self.l2 = _scalar("l2", l2, low=0.0)
        self.dropout = fraction(dropout, "dropout")
        self.seed, self.rng = _seeded(seed)
        self.backend = backend
        self.kernels = _backend.get(backend)
        self.layers = tuple(Dense(m_in, m_out, act, self.dtype) for m_in, m_out, act
                            in zip(self.layer_sizes, self.layer_sizes[1:], acts))
        self.init = init
        self._allocate()
        for layer in self.layers:
            layer.W = _init.draw(init, layer.activation, layer is self.layers[-1], self.rng,
                                 layer.n_in, layer.n_out)
            if layer.is_prelu:
                layer.gamma = np.full(layer.n_out, 0.25)
        self.optimizer = None
        self.history = None
        self._inference = None       # the native forward plan, built on first use
        self._work = {}   # work arrays kept across batches and fits, see _buffer
        self._exclusive = _Exclusive()

    # ------------------------------------------------------------ parameters
    def _allocate(self):
        """Two flat buffers (weights; biases and prelu slopes) and their gradients;
        the layers' arrays are views into them.  Tuples behind read-only properties:
        the engine writes through these buffers, so they cannot be swapped."""
        n_w = sum(lay.n_in * lay.n_out for lay in self.layers)
        n_o = sum(lay.n_out * (2 if lay.is_prelu else 1) for lay in self.layers)
        try:
            self._params = (_memory.zeros(n_w, self.dtype), _memory.zeros(n_o, self.dtype))
            self._grads = (_memory.zeros(n_w, self.dtype), _memory.zeros(n_o, self.dtype))
        except (MemoryError, ValueError):           # ValueError: beyond NumPy's sizes
            raise MemoryError(f"layer_sizes {self.layer_sizes} need {n_w + n_o} parameters "
                              f"of {self.dtype.itemsize} bytes, twice (with gradients): "
                              "more than can be allocated") from None
        w = o = 0
        for lay in self.layers:
            size = lay.n_in * lay.n_out
            lay._W = self.params[0][w:w + size].reshape(lay.n_in, lay.n_out)
            lay.dW = self.grads[0][w:w + size].reshape(lay.n_in, lay.n_out)
            lay._b, lay.db = self.params[1][o:o + lay.n_out], self.grads[1][o:o + lay.n_out]
            w, o = w + size, o + lay.n_out
        for lay in self.layers:
            if lay.is_prelu:
                lay._gamma = self.params[1][o:o + lay.n_out]
                lay.dgamma = self.grads[1][o:o + lay.n_out]
                o += lay.n_out

    @property
    def params(self):
        """(weights, biases and prelu slopes): the flat parameter buffers (edit in place)."""
        return self._params

    @property
    def grads(self):
        """The gradient buffers of params, as the last backward or step left them."""
        return self._grads

    @property
    def n_inputs(self):
        return self.layer_sizes[0]

    @property
    def n_outputs(self):
        return self.layer_sizes[-1]

    def _X(self, X, name="X"):
        return as_features(X, self.n_inputs, self.dtype, name)

    # ------------------------------------------------------------ forward and δ recurrence
    def forward(self, X):
        """Output of the last layer (logits for cross-entropy), (N, m_L); caches
        every layer's Z and A for ``backward``."""
        with self._exclusive:
            A = self._forward(self._X(X), get_num_threads())
            self._forward_rows = A.shape[0]
            return A.copy()

    def _forward(self, X, n_threads, masks=None):
        """A_L from A_0 = X; masks: one dropout seed per hidden layer (training)."""
        A = X
        for l, layer in enumerate(self.layers):
            A = layer.forward(self.kernels, A, n_threads)
            if masks is not None and l < len(self.layers) - 1:
                A = layer.drop(self.kernels, self.dropout, masks[l], n_threads)
        return A

    def backward(self, y):
        """After ``forward(X)``: fills every layer's delta, dW (with λW), db (and
        dgamma); returns the loss J + (λ/2) Σ‖W‖² of that batch."""
        with self._exclusive:
            last = self.layers[-1]
            if getattr(self, "_forward_rows", None) != last._rows:
                raise RuntimeError("backward(y) needs a forward(X) first")
            targets = self.loss.targets(y, last._rows, self.n_outputs, self.dtype)
            loss = self._output_delta(targets, get_num_threads())
            self._backpropagate(get_num_threads())
            return loss + self._penalty()

    def _output_delta(self, targets, n_threads):
        """δ_L = ∂J/∂Z_L: the loss kernel gives ∂J/∂A_L, times f_L'(Z_L) unless identity."""
        last = self.layers[-1]
        if last.code == 0:
            return self.loss(self.kernels, last.delta, self._scratch(), last.A, targets,
                             n_threads)
        dA = self._scratch(1)
        loss = self.loss(self.kernels, dA, self._scratch(), last.A, targets, n_threads)
        self.kernels.activation_backward.raw(last.delta, dA, last.Z, last.A, last.code,
                                             last._gamma, last.dgamma, n_threads)
        return loss

    def _backpropagate(self, n_threads, masks=None):
        """The δ recurrence, from the output layer down to the first."""
        for l in range(len(self.layers) - 1, -1, -1):
            prev = self.layers[l - 1] if l > 0 else None
            mask = None if masks is None or prev is None else (self.dropout, masks[l - 1])
            self.layers[l].backward(self.kernels, prev, self.l2, n_threads, mask)

    def _buffer(self, name, shape, dtype=None):
        """The work array `name` of `shape` (dtype: the network's), kept across
        batches and fit calls and reallocated only when the shape or dtype changes."""
        dtype = self.dtype if dtype is None else dtype
        buf = self._work.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._work[name] = _memory.empty(shape, dtype)
        return buf

    def _scratch(self, i=0):
        """Scratch buffer i (N, m_L) for the loss kernels."""
        return self._buffer(("scratch", i), (self.layers[-1]._rows, self.n_outputs))

    def _penalty(self):
        if self.l2 == 0:
            return 0.0
        w = self.params[0].astype(np.float64)
        return 0.5 * self.l2 * float(w @ w)

    def loss_and_grads(self, X, y):
        """(J + (λ/2) Σ‖W‖², [(dW_l, db_l) for each layer]) on the batch (X, y)."""
        with self._exclusive:
            self.forward(X)
            loss = self.backward(y)
            return loss, [(lay.dW.copy(), lay.db.copy()) for lay in self.layers]

    # ------------------------------------------------------------ inference
    def _output(self, X, argmax=False):
        """The last layer's output with buffers of this call only (thread-safe), or
        with argmax (cross-entropy) the predicted classes.  Native: one call for
        the whole network (_inference.Forward, which takes the argmax too), on X as
        it is when it is ready, else converted (or rejected) first."""
        n_threads = get_num_threads()
        if self.kernels is _backend.native:
            if self._inference is None:
                from ._inference import Forward
                self._inference = Forward(self)
            out = self._inference.forward(X, n_threads, argmax)
            if out is None:
                out = self._inference.forward(self._X(X), n_threads, argmax)
            return out
        A = self._X(X)
        for layer in self.layers:
            Z = np.empty((A.shape[0], layer.n_out), self.dtype)
            out = Z if layer.code == 0 else np.empty_like(Z)
            self.kernels.linear_forward.raw(Z, None if out is Z else out, A, layer._W,
                                            layer._b, layer.code, layer._gamma, n_threads)
            A = out
        return self.loss.predict(A) if argmax else A

    def predict(self, X):
        """Class indices (cross_entropy), 0/1 (binary_cross_entropy) or values (mse)."""
        if self.loss.name == "cross_entropy":    # its argmax inside the native call
            return self._output(X, argmax=True)
        return self.loss.predict(self._output(X))

    def predict_proba(self, X):
        """Class probabilities: softmax rows (N, C); binary with one unit (N, 2)."""
        if not hasattr(self.loss, "proba"):
            raise AttributeError("predict_proba needs a classification loss, not mse")
        return self.loss.proba(self.kernels, self._output(X), 1)

    def score(self, X, y):
        """Accuracy for classification, R² (averaged over outputs) for mse."""
        out = self._output(X)
        targets = self.loss.targets(y, out.shape[0], self.n_outputs, self.dtype)
        return self.loss.score(self.loss.predict(out), targets)

    # ------------------------------------------------------------ training and files
    def fit(self, X, y, **options):
        """Train; see mlpfast.training.fit for the options.  Returns a History."""
        from .training import fit
        return fit(self, X, y, **options)

    def save(self, path):
        """Write the network (architecture, parameters, optimiser state) to `path` (.npz)."""
        from .io import save
        save(self, path)

    def __reduce__(self):
        """pickle and copy.deepcopy carry what a model file holds (io.to_bytes: the
        architecture, parameters, optimiser and generator state, metadata; not the
        history), and the backend asked for."""
        from .io import from_bytes, to_bytes
        return from_bytes, (to_bytes(self), self.backend)

    def config(self):
        """The constructor arguments, as plain JSON-able values."""
        acts = [lay.activation for lay in self.layers]
        return {"layer_sizes": self.layer_sizes, "activation": acts[:-1],
                "output_activation": None if acts[-1] == "identity" else acts[-1],
                "loss": self.loss.name, "dtype": self.dtype.name, "init": self.init,
                "l2": self.l2, "dropout": self.dropout,
                "seed": self.seed if isinstance(self.seed, (int, type(None))) else None}

    def __repr__(self):
        return (f"MLP({self.layer_sizes}, activation={[l.activation for l in self.layers[:-1]]}"
                f", loss={self.loss.name!r}, dtype={self.dtype.name!r}, "
                f"backend={_backend.name_of(self.kernels)!r})")
