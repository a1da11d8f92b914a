"""Optimisers of DESIGN §5: hyper-parameters, state, and one update kernel call
per parameter buffer.

The network keeps its parameters in two flat buffers, weights and the rest
(biases, prelu slopes), so a step is two kernel calls; only the weights get
AdamW's decoupled decay.  State arrays mirror the buffers and live here, so a
second ``fit`` continues where the first stopped.
"""
import numpy as np

from . import _memory
from ._kernel_checks import _scalar


class Optimizer:
    """Base: ``learning_rate`` and the state of each parameter buffer."""
    name = None
    slots = ()      # names of the state arrays, in the kernel's argument order

    def __init__(self, learning_rate=1e-3):
        self.learning_rate = _scalar("learning_rate", learning_rate, low=0.0, low_open=True)
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

    def step(self, kernels, buffers, grads, lr, n_threads):
        """One update of every buffer with its gradient (buffers[0] are the weights)."""
        if self.state is None or len(self.state) != len(buffers):
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

    def __init__(self, learning_rate=1e-3, momentum=0.9):
        super().__init__(learning_rate)
        self.momentum = _scalar("momentum", momentum, 0.0, 1.0, high_open=True)

    def hyper(self):
        return {"momentum": self.momentum}


class Nesterov(Momentum):
    """v ← α v − ε g ; θ ← θ + α v − ε g."""
    name = "nesterov"


class Adagrad(Optimizer):
    """r ← r + g² ; θ ← θ − ε g / (√r + δ)."""
    name = "adagrad"
    slots = ("r",)

    def __init__(self, learning_rate=1e-3, eps=1e-10):
        super().__init__(learning_rate)
        self.eps = _scalar("eps", eps, low=0.0, low_open=True)

    def hyper(self):
        return {"eps": self.eps}


class RMSprop(Optimizer):
    """r ← ρ r + (1−ρ) g² ; θ ← θ − ε g / (√r + δ)."""
    name = "rmsprop"
    slots = ("r",)

    def __init__(self, learning_rate=1e-3, rho=0.99, eps=1e-8):
        super().__init__(learning_rate)
        self.rho = _scalar("rho", rho, 0.0, 1.0, high_open=True)
        self.eps = _scalar("eps", eps, low=0.0, low_open=True)

    def hyper(self):
        return {"rho": self.rho, "eps": self.eps}


class Adam(Optimizer):
    """Adam with bias correction; ``weight_decay`` > 0 is AdamW's decoupled decay
    (weights only)."""
    name = "adam"
    slots = ("s", "r")

    def __init__(self, learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
        super().__init__(learning_rate)
        self.beta1 = _scalar("beta1", beta1, 0.0, 1.0, high_open=True)
        self.beta2 = _scalar("beta2", beta2, 0.0, 1.0, high_open=True)
        self.eps = _scalar("eps", eps, low=0.0, low_open=True)
        self.weight_decay = _scalar("weight_decay", weight_decay, low=0.0)

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
