"""Optimiser updates: native vs reference over three steps (parity matrix),
one step of each against DESIGN §5 worked by hand, AdamW's decay on θ before
the step, thread invariance and argument checks."""
import math

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from mlpfast import optimizers

from conftest import DTYPES, SIZES_1D, THREADS, THREADS_BITWISE, as64, assert_close, random_array

# name: (kernel, state arrays with their initial range, hyper-parameters of DESIGN §5)
OPTIMISERS = {
    "sgd": ("sgd_update", {}, {}),
    "momentum": ("momentum_update", {"v": (-0.1, 0.1)}, {"momentum": 0.9}),
    "nesterov": ("nesterov_update", {"v": (-0.1, 0.1)}, {"momentum": 0.9}),
    "adagrad": ("adagrad_update", {"r": (0.0, 1.0)}, {"eps": 1e-10}),
    "rmsprop": ("rmsprop_update", {"r": (0.0, 1.0)}, {"rho": 0.99, "eps": 1e-8}),
    "adam": ("adam_update", {"s": (-0.1, 0.1), "r": (0.0, 0.1)},
             {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
    "adamw": ("adam_update", {"s": (-0.1, 0.1), "r": (0.0, 0.1)},
              {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.01}),
}


def make_state(rng, name, n, dtype):
    """θ, the state arrays (in the kernel's argument order) and three gradients."""
    _, state, _ = OPTIMISERS[name]
    theta = random_array(rng, n, dtype)
    arrays = [random_array(rng, n, dtype, lo, hi) for lo, hi in state.values()]
    grads = [random_array(rng, n, dtype) for _ in range(3)]
    return theta, arrays, grads


def steps(backend, name, theta, state, grads, lr=0.05, n_threads=1):
    """Run one update per gradient (t = 1, 2, ...) in place."""
    kernel, _, hyper = OPTIMISERS[name]
    for t, g in enumerate(grads, start=1):
        extra = {"t": t} if kernel == "adam_update" else {}
        getattr(backend, kernel)(theta, *state, g, lr, **hyper, **extra, n_threads=n_threads)


# ---------------------------------------------------------------- parity matrix

@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("n", SIZES_1D)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", OPTIMISERS)
def test_parity(nat, ref, rng, name, dtype, n, n_threads):
    theta, state, grads = make_state(rng, name, n, dtype)
    theta64, state64, grads64 = as64(theta), as64(*state), as64(*grads)
    steps(nat, name, theta, state, grads, n_threads=n_threads)
    steps(ref, name, theta64[0], state64, grads64)
    assert_close(theta, theta64[0], dtype, err_msg="theta")
    for key, a, a64 in zip(OPTIMISERS[name][1], state, state64):
        assert_close(a, a64, dtype, err_msg=key)


# ---------------------------------------------------------------- one step by hand

# (kernel, θ, state, g, keyword arguments, θ after, state after), written from DESIGN §5
HAND = {
    "sgd": ("sgd_update", 1.0, [], 0.5, dict(lr=0.1), 0.95, []),
    # v = 0.9·0.2 - 0.1·0.5 = 0.13 ; θ = 1 + 0.13
    "momentum": ("momentum_update", 1.0, [0.2], 0.5, dict(lr=0.1, momentum=0.9), 1.13, [0.13]),
    # v = 0.13 ; θ = 1 + 0.9·0.13 - 0.1·0.5
    "nesterov": ("nesterov_update", 1.0, [0.2], 0.5, dict(lr=0.1, momentum=0.9), 1.067, [0.13]),
    # r = 0.75 + 0.25 = 1 ; θ = 1 - 0.05/(1 + 1e-10)
    "adagrad": ("adagrad_update", 1.0, [0.75], 0.5, dict(lr=0.1, eps=1e-10),
                1 - 0.05 / (1 + 1e-10), [1.0]),
    # r = 0.75·1 + 0.25·4 = 1.75 ; θ = 1 - 0.1·2/(√1.75 + 1e-8)
    "rmsprop": ("rmsprop_update", 1.0, [1.0], 2.0, dict(lr=0.1, rho=0.75, eps=1e-8),
                1 - 0.2 / (math.sqrt(1.75) + 1e-8), [1.75]),
    # t = 1 from zero state: s = 0.05, r = 0.00025, ŝ = 0.5, r̂ = 0.25 ; θ = 1 - 0.1·0.5/(0.5 + δ)
    "adam_t1": ("adam_update", 1.0, [0.0, 0.0], 0.5, dict(lr=0.1, t=1),
                1 - 0.05 / (0.5 + 1e-8), [0.05, 0.00025]),
    # t = 2 after that: s = 0.045 - 0.05 = -0.005, r = 0.00024975 + 0.00025 = 0.00049975,
    # ŝ = -0.005/0.19, r̂ = 0.00049975/0.001999 = 0.25 ; θ = 1 + 0.1·(0.005/0.19)/(0.5 + δ)
    "adam_t2": ("adam_update", 1.0, [0.05, 0.00025], -0.5, dict(lr=0.1, t=2),
                1 + 0.1 * (0.005 / 0.19) / (0.5 + 1e-8), [-0.005, 0.00049975]),
    # AdamW: decay on θ before the step: 2 - 0.1·0.5·2 = 1.9, then the t = 1 step of 0.1·0.5/(0.5 + δ)
    # (decay after the step would give 1.9 - 0.05·1.9 = 1.805)
    "adamw": ("adam_update", 2.0, [0.0, 0.0], 0.5, dict(lr=0.1, t=1, weight_decay=0.5),
              1.9 - 0.05 / (0.5 + 1e-8), [0.05, 0.00025]),
}


@pytest.mark.parametrize("backend", ["nat", "ref"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("case", HAND)
def test_one_step_by_hand(request, backend, dtype, case):
    be = request.getfixturevalue(backend)
    kernel, theta0, state0, g, kwargs, theta1, state1 = HAND[case]
    n = 3   # the same scalars in every element
    theta = np.full(n, theta0, dtype)
    state = [np.full(n, x, dtype) for x in state0]
    getattr(be, kernel)(theta, *state, np.full(n, g, dtype), **kwargs, n_threads=1)
    assert_close(theta, np.full(n, theta1), dtype)
    for a, x in zip(state, state1):
        assert_close(a, np.full(n, x), dtype, scale=abs(x))


# Optimizer class, its state before the step, then θ and state after, for
# θ = 1 (weights) and 2 (biases) and g = 0.5: the HAND values through the classes
# that fit uses, so each class drives its own kernel with its own settings.
CLASS_STEPS = [
    ("SGD", {}, {}, [0.95, 1.95], []),
    ("Momentum", {"momentum": 0.9}, {"v": 0.2}, [1.13, 2.13], [("v", 0.13)]),
    ("Nesterov", {"momentum": 0.9}, {"v": 0.2}, [1.067, 2.067], [("v", 0.13)]),
    # AdamW's default decay 0.01, on the weights only: 1 - 0.1·0.01·1, then the t = 1 step
    ("AdamW", {}, {}, [0.999 - 0.05 / (0.5 + 1e-8), 2 - 0.05 / (0.5 + 1e-8)],
     [("s", 0.05), ("r", 0.00025)]),
]


@pytest.mark.parametrize("backend", ["nat", "ref"])
@pytest.mark.parametrize("name,kwargs,state0,theta1,state1", CLASS_STEPS,
                         ids=[c[0] for c in CLASS_STEPS])
def test_optimizer_classes_step_by_hand(request, backend, name, kwargs, state0, theta1,
                                        state1):
    opt = getattr(optimizers, name)(learning_rate=0.1, **kwargs)
    buffers = [np.full(3, 1.0), np.full(2, 2.0)]
    opt.reset(buffers)
    for slot, value in state0.items():
        for st in opt.state:
            st[slot][...] = value
    opt.step(request.getfixturevalue(backend), buffers, [np.full(3, 0.5), np.full(2, 0.5)],
             0.1, 1)
    for theta, want in zip(buffers, theta1):
        np.testing.assert_allclose(theta, want, rtol=1e-14)
    for slot, want in state1:
        for st in opt.state:
            np.testing.assert_allclose(st[slot], want, rtol=1e-12)
    assert opt.t == 1


@pytest.mark.parametrize("name,kwargs,argument", [
    ("Momentum", {"momentum": 1.0}, "momentum"), ("Nesterov", {"momentum": -0.1}, "momentum"),
    ("RMSprop", {"rho": 1.0}, "rho"), ("Adam", {"beta1": 1.0}, "beta1"),
    ("Adam", {"beta2": 1.0}, "beta2"), ("AdamW", {"weight_decay": -0.1}, "weight_decay"),
    ("Adagrad", {"eps": 0.0}, "eps"), ("SGD", {"learning_rate": 0.0}, "learning_rate")])
def test_optimizer_classes_reject_bad_settings(name, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        getattr(optimizers, name)(**kwargs)


def test_adam_default_hyperparameters(nat):
    """The checked kernel's defaults are DESIGN §5's: β1 0.9, β2 0.999, δ 1e-8, wd 0."""
    theta, s, r = np.ones(1), np.zeros(1), np.zeros(1)
    nat.adam_update(theta, s, r, np.full(1, 0.5), 0.1, t=1)
    assert theta[0] == pytest.approx(1 - 0.05 / (0.5 + 1e-8), rel=1e-15)


# ---------------------------------------------------------------- threads

@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", OPTIMISERS)
def test_bitwise_thread_invariance(nat, rng, name, dtype):
    theta, state, grads = make_state(rng, name, 300007, dtype)   # > 2 grains: 3 threads run
    results = []
    for n_threads in THREADS_BITWISE:
        arrays = [theta.copy()] + [a.copy() for a in state]
        steps(nat, name, arrays[0], arrays[1:], grads, n_threads=n_threads)
        results.append(arrays)
    for arrays in results[1:]:
        for a, a1 in zip(arrays, results[0]):
            assert_array_equal(a, a1)


# ---------------------------------------------------------------- argument checks

def _bad_calls():
    x = lambda dtype=np.float64, n=5: np.zeros(n, dtype)   # noqa: E731
    return [
        ("sgd_update", (x(), x(), 0.0), {}, ValueError, "lr"),
        ("sgd_update", (x(), x(), -0.1), {}, ValueError, "lr"),
        ("sgd_update", (x(), x(), float("nan")), {}, ValueError, "lr"),
        ("sgd_update", (x(), x(), "0.1"), {}, TypeError, "lr"),
        ("sgd_update", (x(), None, 0.1), {}, TypeError, "g"),
        ("sgd_update", (None, x(), 0.1), {}, TypeError, "theta"),
        ("sgd_update", (x(n=10)[::2], x(), 0.1), {}, ValueError, "theta"),
        ("sgd_update", (x(), x(np.float32), 0.1), {}, TypeError, "g"),
        ("sgd_update", (x(), x(n=4), 0.1), {}, ValueError, "g"),
        ("sgd_update", (np.zeros((5, 1)), x(), 0.1), {}, ValueError, "theta"),
        ("sgd_update", (x(n=0), x(n=0), 0.1), {}, ValueError, "theta"),
        ("momentum_update", (x(), x(np.float32), x(), 0.1), {}, TypeError, "v"),
        ("momentum_update", (x(), x(), x(), 0.1), {"momentum": 1.0}, ValueError, "momentum"),
        ("nesterov_update", (x(), x(n=6), x(), 0.1), {}, ValueError, "v"),
        ("nesterov_update", (x(), x(), x(), 0.0), {}, ValueError, "lr"),
        ("adagrad_update", (x(), None, x(), 0.1), {}, TypeError, "r"),
        ("adagrad_update", (x(), x(), x(), 0.1), {"eps": 0.0}, ValueError, "eps"),
        ("rmsprop_update", (x(), x(), x(), 0.1), {"rho": 1.0}, ValueError, "rho"),
        ("rmsprop_update", (x(), x(n=10)[::2], x(), 0.1), {}, ValueError, "r"),
        ("adam_update", (x(), x(), x(), x(), 0.1), {"t": 0}, ValueError, "t"),
        ("adam_update", (x(), x(), x(), x(), 0.1), {"t": 1.0}, ValueError, "t"),
        ("adam_update", (x(), x(), x(), x(), -1.0), {}, ValueError, "lr"),
        ("adam_update", (x(), x(np.float32), x(), x(), 0.1), {}, TypeError, "s"),
        ("adam_update", (x(), x(), x(), x(), 0.1), {"beta2": 1.0}, ValueError, "beta2"),
        ("adam_update", (x(), x(), x(), x(), 0.1), {"weight_decay": -0.1}, ValueError,
         "weight_decay"),
    ]


@pytest.mark.parametrize("kernel, args, kwargs, exc, match", _bad_calls(),
                         ids=lambda x: x if isinstance(x, str) else "")
def test_bad_arguments(nat, kernel, args, kwargs, exc, match):
    before = [a.copy() for a in args if isinstance(a, np.ndarray)]
    with pytest.raises(exc, match=rf"^{match}\b"):   # the message starts with the argument
        getattr(nat, kernel)(*args, **kwargs, n_threads=1)
    for a, b in zip([a for a in args if isinstance(a, np.ndarray)], before):
        assert_array_equal(a, b)           # nothing was touched


@pytest.mark.parametrize("n_threads, exc", [(0, ValueError), (-2, ValueError),
                                             (2.0, TypeError), (True, TypeError)])
@pytest.mark.parametrize("name", OPTIMISERS)
def test_bad_thread_count(nat, rng, name, n_threads, exc):
    theta, state, grads = make_state(rng, name, 4, np.float64)
    with pytest.raises(exc, match=r"^n_threads\b"):
        steps(nat, name, theta, state, grads[:1], n_threads=n_threads)


def test_read_only_gradient(nat):
    g = np.full(4, 0.5)
    g.setflags(write=False)
    theta = np.ones(4)
    nat.sgd_update(theta, g, 0.1)
    assert_close(theta, np.full(4, 0.95), np.float64)
