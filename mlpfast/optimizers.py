"""Optimisers of DESIGN §5: hyper-parameters, state, and one update kernel call
per parameter buffer.

The network keeps its parameters in two flat buffers, weights and the rest
(biases, prelu slopes), so a step is two kernel calls; only the weights get
AdamW's decoupled decay.  State arrays mirror the buffers and live here, so a
second ``fit`` continues where the first stopped.
"""
import numbers

import numpy as np

from . import _memory
from ._kernel_checks import _scalar

MAX_STEPS = 2 ** 62     # t is a C long in the engine and Adam's bias correction


class _Hyper:
    """A hyper-parameter checked on every assignment, not only by __init__: the update
    kernels run with it unchecked (``.raw``)."""

    def __init__(self, **bounds):
        self.bounds = bounds

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, objtype=None):
        return self if obj is None else obj.__dict__[self.name]

    def __set__(self, obj, value):
        obj.__dict__[self.name] = _scalar(self.name, value, **self.bounds)


class _Steps:
    """The step count t: an int in [0, MAX_STEPS)."""

    def __get__(self, obj, objtype=None):
        return self if obj is None else obj.__dict__["t"]

    def __set__(self, obj, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"t must be an int, got {type(value).__name__}")
        if not 0 <= value < MAX_STEPS:
            raise ValueError(f"t must be an int in [0, 2**62), got {value}")
        obj.__dict__["t"] = int(value)


class Optimizer:
    """Base: ``learning_rate`` and the state of each parameter buffer."""
    name = None
    slots = ()      # names of the state arrays, in the kernel's argument order
    nonnegative = ()    # the slots that hold sums of g² (never < 0)
    learning_rate = _Hyper(low=0.0, low_open=True)
    t = _Steps()

    def __init__(self, learning_rate=1e-3):
        self.learning_rate = learning_rate
        self.state = None
        self.t = 0

    def hyper(self):
        """Hyper-parameters besides the learning rate, as the kernel takes them."""
        return {}

    def config(self):
        return {"name": self.name, "learning_rate": self.learning_rate, **self.hyper()}

    def reset(self, buffers):
        self.state = [{slot: _memory.zeros_like(p) for slot in self.slots} for p in buffers]
        self.t = 0

    def fits(self, buffers):
        """Whether the state is one for these buffers: a C-contiguous array of each one's
        shape and dtype in every slot.  (The kernels write through it unchecked; an
        optimiser that last trained another network, or state replaced by hand, does
        not fit.)"""
        if not isinstance(self.state, list) or len(self.state) != len(buffers):
            return False
        return all(isinstance(state, dict) and all(
            type(a) is np.ndarray and a.shape == p.shape and a.dtype == p.dtype
            and a.flags.c_contiguous and a.flags.writeable
            for a in (state.get(slot) for slot in self.slots))
            for state, p in zip(self.state, buffers))

    def step(self, kernels, buffers, grads, lr, n_threads):
        """One update of every buffer with its gradient (buffers[0] are the weights)."""
        if not self.fits(buffers):
            self.reset(buffers)
        self.t += 1
        for i, (theta, g) in enumerate(zip(buffers, grads)):
            self._update(kernels, theta, self.state[i], g, lr, i == 0, n_threads)

    def _update(self, kernels, theta, state, g, lr, is_weights, n_threads):
        kernel = getattr(kernels, f"{self.name}_update").raw   # validated hyper-parameters
        kernel(theta, *(state[s] for s in self.slots), g, float(lr), *self.hyper().values(),
               n_threads)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """θ ← θ − ε g."""
    name = "sgd"


class Momentum(Optimizer):
    """v ← α v − ε g ; θ ← θ + v."""
    name = "momentum"
    slots = ("v",)

    momentum = _Hyper(low=0.0, high=1.0, high_open=True)

    def __init__(self, learning_rate=1e-3, momentum=0.9):
        super().__init__(learning_rate)
        self.momentum = momentum

    def hyper(self):
        return {"momentum": self.momentum}


class Nesterov(Momentum):
    """v ← α v − ε g ; θ ← θ + α v − ε g."""
    name = "nesterov"


class Adagrad(Optimizer):
    """r ← r + g² ; θ ← θ − ε g / (√r + δ)."""
    name = "adagrad"
    slots = ("r",)
    nonnegative = ("r",)

    eps = _Hyper(low=0.0, low_open=True)

    def __init__(self, learning_rate=1e-3, eps=1e-10):
        super().__init__(learning_rate)
        self.eps = eps

    def hyper(self):
        return {"eps": self.eps}


class RMSprop(Optimizer):
    """r ← ρ r + (1−ρ) g² ; θ ← θ − ε g / (√r + δ)."""
    name = "rmsprop"
    slots = ("r",)
    nonnegative = ("r",)

    rho = _Hyper(low=0.0, high=1.0, high_open=True)
    eps = _Hyper(low=0.0, low_open=True)

    def __init__(self, learning_rate=1e-3, rho=0.99, eps=1e-8):
        super().__init__(learning_rate)
        self.rho, self.eps = rho, eps

    def hyper(self):
        return {"rho": self.rho, "eps": self.eps}


class Adam(Optimizer):
    """Adam with bias correction; ``weight_decay`` > 0 is AdamW's decoupled decay
    (weights only)."""
    name = "adam"
    slots = ("s", "r")
    nonnegative = ("r",)

    beta1 = _Hyper(low=0.0, high=1.0, high_open=True)
    beta2 = _Hyper(low=0.0, high=1.0, high_open=True)
    eps = _Hyper(low=0.0, low_open=True)
    weight_decay = _Hyper(low=0.0)

    def __init__(self, learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
        super().__init__(learning_rate)
        self.beta1, self.beta2, self.eps, self.weight_decay = beta1, beta2, eps, weight_decay

    def hyper(self):
        return {"beta1": self.beta1, "beta2": self.beta2, "eps": self.eps,
                "weight_decay": self.weight_decay}

    def _update(self, kernels, theta, state, g, lr, is_weights, n_threads):
        kernels.adam_update.raw(theta, state["s"], state["r"], g, float(lr), self.beta1,
                                self.beta2, self.eps, self.t,
                                self.weight_decay if is_weights else 0.0, n_threads)


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.01) on the weights."""
    name = "adamw"

    def __init__(self, learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
        super().__init__(learning_rate, beta1, beta2, eps, weight_decay)


OPTIMIZERS = {cls.name: cls for cls in (SGD, Momentum, Nesterov, Adagrad, RMSprop, Adam, AdamW)}


def get(optimizer, learning_rate=None):
    """An optimiser from a name (with learning_rate) or an Optimizer object (as is)."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if not isinstance(optimizer, str) or optimizer.lower() not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)} or an "
                         f"mlpfast.optimizers.Optimizer, got {optimizer!r}")
    cls = OPTIMIZERS[optimizer.lower()]
    return cls() if learning_rate is None else cls(learning_rate=learning_rate)


def from_config(config):
    config = dict(config)
    return OPTIMIZERS[config.pop("name")](**config)
