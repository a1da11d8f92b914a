"""The kernel contract: one argument check per kernel, shared by both backends.

Both backends export each kernel under the same name and with the same
signature.  The public function is ``bind(name, raw)``: it runs the check of
that name, which raises a TypeError/ValueError naming the offending argument,
and then calls the backend's raw kernel with the normalised arguments (an
activation name becomes its integer code).  A raw kernel therefore never sees
bad input, so nothing can crash the interpreter, and the two backends cannot
drift apart in what they accept.

Conventions: outputs come first and are overwritten; arrays are C-contiguous
float32/float64 of one dtype per call; ``n_threads`` is a positive int.
"""
import functools
import inspect
import math
import numbers

import numpy as np

from ._threads import thread_limit as _thread_limit

# Activation codes, shared with csrc/activations.pxd (keep in sync).
ACTIVATIONS = {
    "identity": 0, "sigmoid": 1, "tanh": 2, "relu": 3, "leaky_relu": 4,
    "prelu": 5, "elu": 6, "softplus": 7, "swish": 8, "gelu": 9, "gelu_tanh": 10,
}
ALIASES = {"silu": "swish", "logistic": "sigmoid", "linear": "identity"}

KERNELS = (
    "gemm", "linear_forward", "linear_backward",
    "activation_forward", "activation_backward", "dropout", "permutation",
    "softmax_cross_entropy", "mean_squared_error", "sigmoid_binary_cross_entropy",
    "sgd_update", "momentum_update", "nesterov_update", "adagrad_update",
    "rmsprop_update", "adam_update",
)

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def activation_code(name, arg="activation"):
    """Integer code of an activation name (aliases allowed); ValueError otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"{arg} must be an activation name (str), got {type(name).__name__}")
    key = ALIASES.get(name.lower(), name.lower())
    if key not in ACTIVATIONS:
        raise ValueError(f"{arg}: unknown activation {name!r}; expected one of "
                         f"{sorted(ACTIVATIONS) + sorted(ALIASES)}")
    return ACTIVATIONS[key]


# ---------------------------------------------------------------- helpers

def _array(name, x, ndim, dtype=None, out=False, optional=False):
    """Check one array argument; return it (or None when optional and absent)."""
    if x is None:
        if optional:
            return None
        raise TypeError(f"{name} must be a numpy array, got None")
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(x).__name__}")
    if x.dtype not in FLOATS:
        raise TypeError(f"{name} must have dtype float32 or float64, got {x.dtype}")
    if dtype is not None and x.dtype != dtype:
        raise TypeError(f"{name} has dtype {x.dtype} but the other arrays are {dtype}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got {x.ndim}-D with shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {x.shape}")
    if not x.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (use np.ascontiguousarray)")
    if out and not x.flags.writeable:
        raise ValueError(f"{name} is an output and must be writeable")
    return x


def _shape(name, x, expected):
    if x is not None and x.shape != tuple(expected):
        raise ValueError(f"{name} must have shape {tuple(expected)}, got {x.shape}")


def _same_view(a, b):
    return (a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
            and a.shape == b.shape and a.strides == b.strides)


def _disjoint(outputs, inputs, may_alias=()):
    """No output array overlaps another argument, except the exact same view for
    the (output, other) name pairs listed in may_alias."""
    outputs = [(n, a) for n, a in outputs if a is not None]
    others = outputs + [(n, a) for n, a in inputs if a is not None]
    for i, (name, out) in enumerate(outputs):
        for other_name, other in others[i + 1:]:
            if np.may_share_memory(out, other) and not (
                    (name, other_name) in may_alias and _same_view(out, other)):
                raise ValueError(f"{name} overlaps {other_name} in memory; pass separate arrays")


def _threads(n_threads):
    """A positive thread count, capped at 1 in a forked child (see mlpfast._threads)."""
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral):
        raise TypeError(f"n_threads must be an int, got {type(n_threads).__name__}")
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    return min(int(n_threads), _thread_limit())


def _scalar(name, value, low=None, high=None, low_open=False, high_open=False):
    """A finite real scalar in [low, high] (open ends where asked)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    bad = not math.isfinite(value)
    if low is not None:
        bad |= value <= low if low_open else value < low
    if high is not None:
        bad |= value >= high if high_open else value > high
    if bad:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low}, "
        hi = "" if high is None else f"{high}" + (")" if high_open else "]")
        raise ValueError(f"{name} must be a finite number {lo or '('}{hi or 'inf)'}, got {value}")
    return value


def _flag(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)


# ---------------------------------------------------------------- linear algebra

def gemm(C, A, B, trans_a=False, trans_b=False, accumulate=False, n_threads=1):
    """C = op(A) op(B) (+ C if accumulate).   op(A) (M, K), op(B) (K, N), C (M, N)."""
    A = _array("A", A, 2)
    dt = A.dtype
    B = _array("B", B, 2, dt)
    C = _array("C", C, 2, dt, out=True)
    trans_a, trans_b = _flag("trans_a", trans_a), _flag("trans_b", trans_b)
    M, K = A.shape[::-1] if trans_a else A.shape
    K2, N = B.shape[::-1] if trans_b else B.shape
    if K2 != K:
        raise ValueError(f"B must have {K} {'columns' if trans_b else 'rows'} to match A, got shape {B.shape}")
    _shape("C", C, (M, N))
    _disjoint([("C", C)], [("A", A), ("B", B)])
    return C, A, B, trans_a, trans_b, _flag("accumulate", accumulate), _threads(n_threads)


def linear_forward(Z, A, X, W, b, activation="identity", gamma=None, n_threads=1):
    """Z = X W + b ; A = f(Z) (skipped when A is None).   X (N, K), W (K, M), Z, A (N, M)."""
    X = _array("X", X, 2)
    dt = X.dtype
    W = _array("W", W, 2, dt)
    N, K = X.shape
    if W.shape[0] != K:
        raise ValueError(f"W must have {K} rows (X has {K} columns), got shape {W.shape}")
    M = W.shape[1]
    b = _array("b", b, 1, dt)
    _shape("b", b, (M,))
    Z = _array("Z", Z, 2, dt, out=True)
    _shape("Z", Z, (N, M))
    A = _array("A", A, 2, dt, out=True, optional=True)
    _shape("A", A, (N, M))
    code = activation_code(activation)
    gamma = _gamma(code, gamma, dt, M, "gamma")
    _disjoint([("Z", Z), ("A", A)], [("X", X), ("W", W), ("b", b), ("gamma", gamma)])
    return Z, A, X, W, b, code, gamma, _threads(n_threads)


def linear_backward(dW, db, dX, X, W, dZ, l2=0.0, prev_activation="identity",
                    prev_Z=None, prev_A=None, n_threads=1):
    """dW = Xᵀ dZ + l2 W ; db = Σ_rows dZ ; dX = (dZ Wᵀ) ⊙ f'(prev_Z) (skipped when dX is None).

    X (N, K), W (K, M), dZ (N, M).  prev_activation is the activation that
    produced X from prev_Z (prev_A is X itself unless given); prelu is not
    fused here because its dgamma needs dZ Wᵀ before the product with f'.
    """
    X = _array("X", X, 2)
    dt = X.dtype
    N, K = X.shape
    W = _array("W", W, 2, dt)
    if W.shape[0] != K:
        raise ValueError(f"W must have {K} rows (X has {K} columns), got shape {W.shape}")
    M = W.shape[1]
    dZ = _array("dZ", dZ, 2, dt)
    _shape("dZ", dZ, (N, M))
    dW = _array("dW", dW, 2, dt, out=True)
    _shape("dW", dW, (K, M))
    db = _array("db", db, 1, dt, out=True)
    _shape("db", db, (M,))
    dX = _array("dX", dX, 2, dt, out=True, optional=True)
    _shape("dX", dX, (N, K))
    code = activation_code(prev_activation, "prev_activation")
    if code == ACTIVATIONS["prelu"]:
        raise ValueError("prev_activation 'prelu' cannot be fused: compute dX with "
                         "prev_activation='identity', then call activation_backward for dgamma")
    if code != 0 and dX is not None:
        prev_Z = _array("prev_Z", prev_Z, 2, dt)
        _shape("prev_Z", prev_Z, (N, K))
        prev_A = X if prev_A is None else _array("prev_A", prev_A, 2, dt)
        _shape("prev_A", prev_A, (N, K))
    else:
        prev_Z = prev_A = None
    l2 = _scalar("l2", l2, low=0.0)
    _disjoint([("dW", dW), ("db", db), ("dX", dX)],
              [("X", X), ("W", W), ("dZ", dZ), ("prev_Z", prev_Z), ("prev_A", prev_A)])
    return dW, db, dX, X, W, dZ, l2, code, prev_Z, prev_A, _threads(n_threads)


# ---------------------------------------------------------------- activations

def _gamma(code, gamma, dt, M, name):
    if code != ACTIVATIONS["prelu"]:
        if gamma is not None:
            raise ValueError(f"{name} is only used by prelu; pass None")
        return None
    gamma = _array(name, gamma, 1, dt)
    _shape(name, gamma, (M,))
    return gamma


def activation_forward(A, Z, activation, gamma=None, n_threads=1):
    """A = f(Z).   Z, A (N, M); gamma (M,) for prelu."""
    Z = _array("Z", Z, 2)
    dt = Z.dtype
    A = _array("A", A, 2, dt, out=True)
    _shape("A", A, Z.shape)
    code = activation_code(activation)
    gamma = _gamma(code, gamma, dt, Z.shape[1], "gamma")
    _disjoint([("A", A)], [("Z", Z), ("gamma", gamma)], may_alias={("A", "Z")})
    return A, Z, code, gamma, _threads(n_threads)


def activation_backward(dZ, dA, Z, A, activation, gamma=None, dgamma=None, n_threads=1):
    """dZ = dA ⊙ f'(Z) (dZ may be dA) ; prelu: dgamma_j = Σ_{i: z_ij≤0} dA_ij z_ij.

    dA, Z, A = f(Z), dZ (N, M); gamma, dgamma (M,) for prelu (dgamma overwritten).
    """
    Z = _array("Z", Z, 2)
    dt = Z.dtype
    for name, x in (("A", A), ("dA", dA)):
        _shape(name, _array(name, x, 2, dt), Z.shape)
    dZ = _array("dZ", dZ, 2, dt, out=True)
    _shape("dZ", dZ, Z.shape)
    code = activation_code(activation)
    gamma = _gamma(code, gamma, dt, Z.shape[1], "gamma")
    if code == ACTIVATIONS["prelu"]:
        dgamma = _array("dgamma", dgamma, 1, dt, out=True)
        _shape("dgamma", dgamma, (Z.shape[1],))
    elif dgamma is not None:
        raise ValueError("dgamma is only used by prelu; pass None")
    _disjoint([("dZ", dZ), ("dgamma", dgamma)],
              [("dA", dA), ("Z", Z), ("A", A), ("gamma", gamma)], may_alias={("dZ", "dA")})
    return dZ, dA, Z, A, code, gamma, dgamma, _threads(n_threads)


def dropout(out, x, rate, seed, n_threads=1):
    """out = x ⊙ keep / (1 − rate), keep_ij = u(seed, i·m + j) ≥ rate with a counter-based
    uniform u (the same mask for the same seed: call again on δ for the backward pass).
    x, out (N, M); out may be x."""
    x = _array("x", x, 2)
    out = _array("out", out, 2, x.dtype, out=True)
    _shape("out", out, x.shape)
    rate = _scalar("rate", rate, 0.0, 1.0, high_open=True)
    _disjoint([("out", out)], [("x", x)], may_alias={("out", "x")})
    return out, x, rate, _seed(seed), _threads(n_threads)


def permutation(order, seed, n_threads=1):
    """order = a permutation of 0, 1, ..., n-1, a pure function of (n, seed): Fisher-Yates
    with swaps drawn from dropout's counter-based uniform (fit's shuffle).  order (n,)
    int64, overwritten; n_threads is accepted for the contract (the swaps are serial)."""
    if not isinstance(order, np.ndarray):
        raise TypeError(f"order must be a numpy array, got {type(order).__name__}")
    if order.dtype != np.int64:                # as _array: a wrong dtype is a TypeError
        raise TypeError(f"order must have dtype int64, got {order.dtype}")
    if order.ndim != 1:
        raise ValueError(f"order must be 1-D, got {order.ndim}-D with shape {order.shape}")
    if not order.flags.c_contiguous or not order.flags.writeable:
        raise ValueError("order must be C-contiguous and writeable")
    return order, _seed(seed), _threads(n_threads)


def _seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2 ** 64:
        raise ValueError(f"seed must be an int in [0, 2**64), got {seed!r}")
    return int(seed)


# ---------------------------------------------------------------- losses

def _loss_io(dZ, Z):
    Z = _array("Z", Z, 2)
    dZ = _array("dZ", dZ, 2, Z.dtype, out=True)
    _shape("dZ", dZ, Z.shape)
    return dZ, Z


def softmax_cross_entropy(dZ, P, Z, labels, n_threads=1):
    """J = -(1/N) Σ_i log softmax(Z)_i,labels_i ; P = softmax(Z) ; dZ = (P - onehot)/N.

    Z, P, dZ (N, C); labels (N,) int64 in [0, C).  Returns J (float).
    """
    dZ, Z = _loss_io(dZ, Z)
    P = _array("P", P, 2, Z.dtype, out=True)
    _shape("P", P, Z.shape)
    if not isinstance(labels, np.ndarray) or labels.dtype != np.int64:
        raise TypeError("labels must be a numpy int64 array of class indices")
    if labels.ndim != 1 or labels.shape[0] != Z.shape[0] or not labels.flags.c_contiguous:
        raise ValueError(f"labels must be a contiguous 1-D array of length {Z.shape[0]}, "
                         f"got shape {labels.shape}")
    lo, hi = labels.min(), labels.max()
    if lo < 0 or hi >= Z.shape[1]:
        raise ValueError(f"labels must lie in [0, {Z.shape[1] - 1}], got values in [{lo}, {hi}]")
    _disjoint([("dZ", dZ), ("P", P)], [("Z", Z), ("labels", labels)])
    return dZ, P, Z, labels, _threads(n_threads)


def mean_squared_error(dZ, Z, Y, n_threads=1):
    """J = (1/(2N)) Σ ‖Z_i - Y_i‖² ; dZ = (Z - Y)/N.   Z, Y, dZ (N, M).  Returns J."""
    dZ, Z = _loss_io(dZ, Z)
    Y = _array("Y", Y, 2, Z.dtype)
    _shape("Y", Y, Z.shape)
    _disjoint([("dZ", dZ)], [("Z", Z), ("Y", Y)])
    return dZ, Z, Y, _threads(n_threads)


def sigmoid_binary_cross_entropy(dZ, P, Z, Y, n_threads=1):
    """J = -(1/N) Σ [Y log σ(Z) + (1-Y) log(1-σ(Z))] ; P = σ(Z) ; dZ = (P - Y)/N.

    Z, P, Y, dZ (N, K); Y in [0, 1].  Returns J.
    """
    dZ, Z = _loss_io(dZ, Z)
    P = _array("P", P, 2, Z.dtype, out=True)
    _shape("P", P, Z.shape)
    Y = _array("Y", Y, 2, Z.dtype)
    _shape("Y", Y, Z.shape)
    if not ((Y >= 0) & (Y <= 1)).all():
        raise ValueError("Y must hold targets in [0, 1]")
    _disjoint([("dZ", dZ), ("P", P)], [("Z", Z), ("Y", Y)])
    return dZ, P, Z, Y, _threads(n_threads)


# ---------------------------------------------------------------- optimisers

def _params(theta, g, *state):
    """theta, g and each (name, array) of optimiser state: 1-D, one dtype, one length."""
    theta = _array("theta", theta, 1, out=True)
    g = _array("g", g, 1, theta.dtype)
    _shape("g", g, theta.shape)
    for name, x in state:
        _shape(name, _array(name, x, 1, theta.dtype, out=True), theta.shape)
    _disjoint([("theta", theta)] + list(state), [("g", g)])
    return theta.dtype


def sgd_update(theta, g, lr, n_threads=1):
    """θ ← θ - lr g   (in place).   θ, g (P,)."""
    _params(theta, g)
    return theta, g, _scalar("lr", lr, low=0.0, low_open=True), _threads(n_threads)


def momentum_update(theta, v, g, lr, momentum=0.9, n_threads=1):
    """v ← α v - lr g ; θ ← θ + v   (in place).   θ, v, g (P,)."""
    _params(theta, g, ("v", v))
    return (theta, v, g, _scalar("lr", lr, low=0.0, low_open=True),
            _scalar("momentum", momentum, 0.0, 1.0, high_open=True), _threads(n_threads))


def nesterov_update(theta, v, g, lr, momentum=0.9, n_threads=1):
    """v ← α v - lr g ; θ ← θ + α v - lr g   (in place).   θ, v, g (P,)."""
    return momentum_update(theta, v, g, lr, momentum, n_threads)


def adagrad_update(theta, r, g, lr, eps=1e-10, n_threads=1):
    """r ← r + g² ; θ ← θ - lr g / (√r + eps)   (in place).   θ, r, g (P,)."""
    _params(theta, g, ("r", r))
    return (theta, r, g, _scalar("lr", lr, low=0.0, low_open=True),
            _scalar("eps", eps, low=0.0, low_open=True), _threads(n_threads))


def rmsprop_update(theta, r, g, lr, rho=0.99, eps=1e-8, n_threads=1):
    """r ← ρ r + (1-ρ) g² ; θ ← θ - lr g / (√r + eps)   (in place).   θ, r, g (P,)."""
    _params(theta, g, ("r", r))
    return (theta, r, g, _scalar("lr", lr, low=0.0, low_open=True),
            _scalar("rho", rho, 0.0, 1.0, high_open=True),
            _scalar("eps", eps, low=0.0, low_open=True), _threads(n_threads))


def adam_update(theta, s, r, g, lr, beta1=0.9, beta2=0.999, eps=1e-8, t=1,
                weight_decay=0.0, n_threads=1):
    """Adam step t (from 1), with AdamW's decoupled decay θ ← θ - lr·wd·θ first.

    s ← β1 s + (1-β1) g ; r ← β2 r + (1-β2) g² ; θ ← θ - lr ŝ/(√r̂ + eps),
    ŝ = s/(1-β1^t), r̂ = r/(1-β2^t).   θ, s, r, g (P,), all in place.
    """
    _params(theta, g, ("s", s), ("r", r))
    if isinstance(t, bool) or not isinstance(t, numbers.Integral) or not 1 <= t < 2 ** 62:
        raise ValueError(f"t must be a step count in [1, 2**62), got {t!r}")
    return (theta, s, r, g, _scalar("lr", lr, low=0.0, low_open=True),
            _scalar("beta1", beta1, 0.0, 1.0, high_open=True),
            _scalar("beta2", beta2, 0.0, 1.0, high_open=True),
            _scalar("eps", eps, low=0.0, low_open=True), int(t),
            _scalar("weight_decay", weight_decay, low=0.0), _threads(n_threads))


# ---------------------------------------------------------------- binding

def bind(name, raw):
    """The public kernel `name`: its check, then `raw(*normalised arguments)`."""
    check = globals()[name]

    @functools.wraps(check)
    def kernel(*args, **kwargs):
        return raw(*check(*args, **kwargs))

    kernel.__signature__ = inspect.signature(check)
    kernel.raw = raw
    return kernel


def bind_all(modules):
    """{name: bound kernel} for every kernel, each raw one taken from the module that has it."""
    def lookup(name):
        for module in modules:
            if hasattr(module, name):
                return getattr(module, name)
        raise ImportError(f"no backend module defines the kernel {name!r}")
    return {name: bind(name, lookup(name)) for name in KERNELS}
