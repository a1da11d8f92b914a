"""Inverted dropout: the counter-based mask kernel in both backends, and dropout in fit."""
import numpy as np
import pytest

import mlpfast
from mlpfast.reference.masks import splitmix64
from conftest import (DTYPES, SHAPES_2D, THREADS, THREADS_BITWISE, assert_same_arrays,
                      random_array)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES_2D)
@pytest.mark.parametrize("n_threads", THREADS)
def test_dropout_parity_is_exact(nat, ref, rng, dtype, shape, n_threads):
    # same mask (pure integer arithmetic) and one rounding x·scale in dtype: bitwise equal
    x = random_array(rng, shape, dtype)
    out, expected = np.empty_like(x), np.empty_like(x)
    nat.dropout(out, x, 0.3, 2 ** 63 + 12345, n_threads)
    ref.dropout(expected, x, 0.3, 2 ** 63 + 12345)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.5, 0.9])
def test_dropout_keeps_the_expected_fraction_and_scales(nat, rate):
    x = np.ones((400, 500), np.float64)
    out = np.empty_like(x)
    nat.dropout(out, x, rate, 7)
    kept = out != 0
    assert abs(kept.mean() - (1 - rate)) < 4 * np.sqrt(rate * (1 - rate) / x.size) + 1e-12
    np.testing.assert_array_equal(out[kept], 1 / (1 - rate))
    assert out.mean() == pytest.approx(1.0, abs=0.02)      # E[out] = x


@pytest.mark.parametrize("backend", ["nat", "ref"])
def test_dropout_keeps_an_element_whose_u_equals_the_rate(request, backend):
    """keep iff u >= rate, u = (splitmix64(seed + k) >> 11)·2⁻⁵³ to all 53 bits: with the
    rate set to the u of an element whose lowest bit of u is 1, that element stays
    (u > rate would drop it, and a u of 52 bits would fall just below the rate)."""
    kernels = request.getfixturevalue(backend)
    seed, n = 2 ** 40 + 3, 64
    bits = splitmix64(np.uint64(seed) + np.arange(n, dtype=np.uint64)) >> np.uint64(11)
    k = int(np.flatnonzero(bits & np.uint64(1))[0])
    rate = float(bits[k]) * 2.0 ** -53
    x = np.ones((1, n))
    out = np.empty_like(x)
    kernels.dropout(out, x, rate, seed)
    assert out[0, k] == 1 / (1 - rate)
    below = bits < bits[k]                   # and the others keep or drop by the same rule
    np.testing.assert_array_equal(out[0] == 0, below)


def test_dropout_mask_depends_on_the_seed_and_repeats_for_it(nat):
    x = np.ones((50, 40), np.float32)
    a, b, c = (np.empty_like(x) for _ in range(3))
    nat.dropout(a, x, 0.5, 1)
    nat.dropout(b, x, 0.5, 1)
    nat.dropout(c, x, 0.5, 2)
    np.testing.assert_array_equal(a, b)
    assert (a != c).mean() > 0.3
    nat.dropout(x, x, 0.5, 1)                  # in place
    np.testing.assert_array_equal(x, a)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_bitwise_thread_invariance(nat, rng, dtype):
    x = random_array(rng, (301, 257), dtype)
    outs = []
    for n_threads in THREADS_BITWISE:
        out = np.empty_like(x)
        nat.dropout(out, x, 0.25, 99, n_threads)
        outs.append(out)
    for other in outs[1:]:
        np.testing.assert_array_equal(outs[0], other)


@pytest.mark.parametrize("change,error,match", [
    (dict(rate=1.0), ValueError, "rate must be a finite number"),
    (dict(rate=-0.1), ValueError, "rate must be"),
    (dict(seed=-1), ValueError, r"seed must be an int in \[0, 2\*\*64\)"),
    (dict(seed=2 ** 64), ValueError, "seed must be"),
    (dict(out=np.zeros((3, 3))), ValueError, r"out must have shape \(2, 3\)"),
    (dict(x=np.zeros((2, 3), np.float32)), TypeError, "out has dtype float64"),
])
def test_dropout_bad_input(nat, change, error, match):
    args = dict(out=np.zeros((2, 3)), x=np.zeros((2, 3)), rate=0.5, seed=1)
    args.update(change)
    with pytest.raises(error, match=match):
        nat.dropout(**args)


@pytest.mark.parametrize("activation", ["relu", "prelu", "sigmoid"])
def test_engine_and_python_path_agree_with_dropout(activation):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((150, 6)), rng.integers(0, 3, 150)
    nets = [mlpfast.MLP([6, 20, 12, 3], activation=activation, dropout=0.3, seed=2)
            for _ in range(2)]
    h = [net.fit(X, y, epochs=3, batch_size=32, engine=engine)
         for net, engine in zip(nets, (True, False))]
    assert h[0].loss == h[1].loss
    assert_same_arrays(nets[0].params, nets[1].params)


def test_dropout_acts_in_training_only():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 6)), rng.integers(0, 3, 64)
    plain = mlpfast.MLP([6, 32, 3], seed=2)
    dropped = mlpfast.MLP([6, 32, 3], dropout=0.5, seed=2)
    np.testing.assert_array_equal(plain.predict_proba(X), dropped.predict_proba(X))
    hp = plain.fit(X, y, epochs=2, shuffle=False)
    hd = dropped.fit(X, y, epochs=2, shuffle=False)
    assert hp.loss != hd.loss
    np.testing.assert_array_equal(dropped.predict_proba(X), dropped.predict_proba(X))
