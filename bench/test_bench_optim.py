"""Optimiser updates, native vs reference, on one 256×256 parameter (65 536 elements).

Inputs are allocated outside the timed call; after timing, one step from fresh
copies of the same inputs is checked against the float64 reference.  Run with
    python -m pytest bench/test_bench_optim.py --benchmark-only -q
"""
import numpy as np
import pytest

import mlpfast
import mlpfast.native as native
import mlpfast.reference as reference

SIZE = 256 * 256
RTOL = {np.float32: 1e-5, np.float64: 1e-12}
BACKENDS = {"native": (native, mlpfast.get_num_threads()), "native-1t": (native, 1),
            "reference": (reference, 1)}
# kernel: (number of state arrays, hyper-parameters in the raw kernel's order after lr)
OPTIMISERS = {
    "sgd_update": (0, ()),
    "momentum_update": (1, (0.9,)),
    "nesterov_update": (1, (0.9,)),
    "adagrad_update": (1, (1e-10,)),
    "rmsprop_update": (1, (0.99, 1e-8)),
    "adam_update": (2, (0.9, 0.999, 1e-8, 10, 0.0)),
}


def inputs(kernel, dtype):
    rng = np.random.default_rng(0)
    n_state, _ = OPTIMISERS[kernel]
    theta = rng.uniform(-1, 1, SIZE).astype(dtype)
    state = [rng.uniform(0, 0.1, SIZE).astype(dtype) for _ in range(n_state)]
    return theta, state, rng.uniform(-1, 1, SIZE).astype(dtype)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: d.__name__)
@pytest.mark.parametrize("kernel", OPTIMISERS)
def test_update(benchmark, kernel, dtype, backend):
    be, n_threads = BACKENDS[backend]
    benchmark.group = kernel
    raw, hyper, lr = getattr(be, kernel).raw, OPTIMISERS[kernel][1], 1e-3
    theta, state, g = inputs(kernel, dtype)
    benchmark(raw, theta, *state, g, lr, *hyper, n_threads)
    assert np.isfinite(theta).all()
    # one step from fresh inputs against the float64 reference on the same values
    theta, state, g = inputs(kernel, dtype)
    theta64, state64, g64 = (theta.astype(np.float64), [a.astype(np.float64) for a in state],
                             g.astype(np.float64))
    raw(theta, *state, g, lr, *hyper, n_threads)
    getattr(reference, kernel).raw(theta64, *state64, g64, lr, *hyper, 1)
    np.testing.assert_allclose(theta, theta64, rtol=RTOL[dtype], atol=RTOL[dtype] / 10)
