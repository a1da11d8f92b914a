"""The kernel contract (mlpfast/_kernel_checks.py), argument by argument: every float
array argument of every kernel, spoilt in each way the contract forbids, is rejected
by both backends with the same exception and message, which starts with the
argument's name (or, for a shape or dtype mismatch, the name of the argument it
mismatches), before any output is written; and a valid call writes nothing outside
its arrays."""
import inspect

import numpy as np
import pytest

from mlpfast._kernel_checks import KERNELS

SIZES = (3, 5, 7, 7)         # rows, inputs, units (odd, distinct), optimiser length


def _valid(name, dtype, sizes=SIZES):
    """Keyword arguments of one valid call of kernel `name` (outputs zeroed)."""
    rng = np.random.default_rng(0)
    N, K, M, P = sizes

    def r(*shape):
        return rng.standard_normal(shape).astype(dtype)

    def z(*shape):
        return np.zeros(shape, dtype)

    if name == "gemm":
        return dict(C=z(N, M), A=r(K, N), B=r(M, K), trans_a=True, trans_b=True)
    if name == "linear_forward":
        return dict(Z=z(N, M), A=z(N, M), X=r(N, K), W=r(K, M), b=r(M), activation="prelu",
                    gamma=r(M))
    if name == "linear_backward":
        return dict(dW=z(K, M), db=z(M), dX=z(N, K), X=r(N, K), W=r(K, M), dZ=r(N, M),
                    prev_activation="tanh", prev_Z=r(N, K), prev_A=r(N, K))
    if name == "activation_forward":
        return dict(A=z(N, M), Z=r(N, M), activation="prelu", gamma=r(M))
    if name == "activation_backward":
        return dict(dZ=z(N, M), dA=r(N, M), Z=r(N, M), A=r(N, M), activation="prelu",
                    gamma=r(M), dgamma=z(M))
    if name == "dropout":
        return dict(out=z(N, M), x=r(N, M), rate=0.5, seed=3)
    if name == "permutation":                  # no float array: its own checks are below
        return dict(order=np.zeros(P, np.int64), seed=3)
    if name == "softmax_cross_entropy":
        return dict(dZ=z(N, M), P=z(N, M), Z=r(N, M), labels=np.arange(N) % M)
    if name == "mean_squared_error":
        return dict(dZ=z(N, M), Z=r(N, M), Y=r(N, M))
    if name == "sigmoid_binary_cross_entropy":
        return dict(dZ=z(N, M), P=z(N, M), Z=r(N, M), Y=(r(N, M) > 0).astype(dtype))
    state = {"sgd_update": (), "momentum_update": ("v",), "nesterov_update": ("v",),
             "adagrad_update": ("r",), "rmsprop_update": ("r",), "adam_update": ("s", "r")}
    return dict(theta=r(P), g=r(P), lr=0.1, **{s: z(P) for s in state[name]})


def _spoilt(x, how, dtype):
    """x spoilt one way, each of which the contract forbids for a float array."""
    if how == "shape":           # one more along the last axis
        return np.zeros(x.shape[:-1] + (x.shape[-1] + 1,), x.dtype)
    if how == "dtype":           # the other float dtype than the call's
        return x.astype(np.float64 if dtype == np.float32 else np.float32)
    if how == "integers":
        return x.astype(np.int64)
    if how == "strided":         # the same shape, every other element of a wider array
        wide = np.zeros(x.shape[:-1] + (2 * x.shape[-1],), x.dtype)
        return wide[..., ::2]
    if how == "ndim":
        return x[np.newaxis]
    if how == "empty":
        return x[..., :0]
    if how == "readonly":        # (outputs only)
        x = x.copy()
        x.flags.writeable = False
        return x
    raise AssertionError(how)


def _cases():
    """(kernel, argument, spoil) for every float array argument; outputs (the zeroed
    arrays of _valid) also read-only."""
    for name in KERNELS:
        for arg, value in _valid(name, np.float32).items():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                for how in ("shape", "dtype", "integers", "strided", "ndim", "empty"):
                    yield name, arg, how
                if not value.any():
                    yield name, arg, "readonly"


CASES = list(_cases())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,arg,how", CASES, ids=[f"{n}-{a}-{h}" for n, a, h in CASES])
def test_each_spoilt_array_argument_is_rejected_alike(nat, ref, name, arg, how, dtype):
    outcomes = []
    for backend in (nat, ref):
        kwargs = _valid(name, dtype)
        outputs = {k: v.copy() for k, v in kwargs.items()
                   if isinstance(v, np.ndarray) and not v.any()}     # the zeroed ones
        kwargs[arg] = _spoilt(kwargs[arg], how, dtype)
        with pytest.raises((TypeError, ValueError)) as info:
            getattr(backend, name)(**kwargs)
        outcomes.append((info.type, str(info.value)))
        for k, before in outputs.items():       # checked before anything is written
            if k != arg:
                np.testing.assert_array_equal(kwargs[k], before, err_msg=k)
    assert outcomes[0] == outcomes[1]
    named = outcomes[0][1].split()[0].rstrip(":")     # messages start with the argument
    if how in ("shape", "dtype"):   # a mismatch: this argument, or the one it mismatches
        assert named in inspect.signature(getattr(nat, name)).parameters, outcomes[0][1]
    else:
        assert named == arg, outcomes[0][1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", KERNELS)
def test_the_valid_calls_above_are_valid(nat, ref, name, dtype):
    """So that the rejections above come from the one spoilt argument."""
    for backend in (nat, ref):
        getattr(backend, name)(**_valid(name, dtype))


def test_every_float_array_argument_is_covered(nat):
    """The cases above reach every array parameter of every kernel but labels (ints)."""
    for name in KERNELS:
        covered = {arg for n, arg, _ in CASES if n == name}
        arrays = {p for p in inspect.signature(getattr(nat, name)).parameters
                  if p not in ("trans_a", "trans_b", "accumulate", "n_threads", "activation",
                               "prev_activation", "rate", "seed", "lr", "momentum", "eps",
                               "rho", "beta1", "beta2", "t", "weight_decay", "l2", "labels",
                               "order")}
        assert covered == arrays, (name, arrays - covered)


# odd sizes with ragged tails; the second set large enough for every threaded path:
# GEMM's packed path and its team, the cheap activations' grains of 32 768 elements
# (601 x 129 = 77 529), the losses' and dropout's row blocks, optimiser grains of 65 536
BOUNDS_SIZES = [SIZES, (601, 67, 129, 300007)]


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("sizes", BOUNDS_SIZES, ids=["small", "threaded"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", KERNELS)
def test_a_kernel_writes_only_inside_its_arrays(nat, name, dtype, sizes, n_threads):
    """Each array argument lives inside a larger buffer whose margins (a cache line
    and more on each side) hold a marker; after the call every margin is intact."""
    pad = 64 // np.dtype(dtype).itemsize * 3
    kwargs, buffers = _valid(name, dtype, sizes), []
    for arg, value in kwargs.items():
        if isinstance(value, np.ndarray):
            buf = np.full(value.size + 2 * pad, -7.25).astype(value.dtype)   # labels: -7
            view = buf[pad:pad + value.size].reshape(value.shape)
            view[...] = value
            kwargs[arg] = view
            buffers.append((arg, buf, buf[:pad].copy()))
    getattr(nat, name)(n_threads=n_threads, **kwargs)
    for arg, buf, marker in buffers:
        assert (buf[:pad] == marker).all() and (buf[-pad:] == marker).all(), arg
