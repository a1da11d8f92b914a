"""fit's shuffle: the counter-based permutation kernel in both backends, and its use in fit."""
import math

import numpy as np
import pytest

import mlpfast

SIZES = [0, 1, 2, 3, 7, 13, 16, 64, 97, 1000, 4099]
SEEDS = [0, 1, 12345, 2 ** 63 + 5, 2 ** 64 - 1]


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("seed", SEEDS)
def test_permutation_parity_is_exact_and_a_permutation(nat, ref, n, seed):
    got, want = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    nat.permutation(got, seed)
    ref.permutation(want, seed, n_threads=2)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.sort(got), np.arange(n))


def test_permutation_repeats_for_a_seed_and_differs_across_seeds(nat):
    runs = []
    for seed in (5, 5, 6):
        order = np.empty(500, np.int64)
        nat.permutation(order, seed)
        runs.append(order)
    np.testing.assert_array_equal(runs[0], runs[1])
    assert (runs[0] != runs[2]).any()


def test_permutation_is_uniform_over_small_n(nat):
    # every one of the 4! orders about equally often over 24 000 seeds (chi-square, 23
    # degrees of freedom: 60 is beyond its 0.9999 quantile, about 54)
    counts = {}
    order = np.empty(4, np.int64)
    for seed in range(24000):
        nat.permutation(order, seed)
        key = tuple(order.tolist())
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == math.factorial(4)
    expected = 24000 / 24
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    assert chi2 < 60, chi2


def test_each_row_lands_anywhere_alike(nat):
    # position of row 0 over 20 000 seeds, n = 10: each place about 2 000 times
    n, trials = 10, 20000
    where = np.zeros(n, int)
    order = np.empty(n, np.int64)
    for seed in range(trials):
        nat.permutation(order, seed)
        where[int(np.flatnonzero(order == 0)[0])] += 1
    assert np.abs(where - trials / n).max() < 5 * math.sqrt(trials / n)


@pytest.mark.parametrize("order,seed,error,match", [
    (np.zeros(5, np.int32), 1, TypeError, "order must have dtype int64, got int32"),
    (np.zeros(5, np.float64), 1, TypeError, "order must have dtype int64, got float64"),
    (np.zeros((2, 3), np.int64), 1, ValueError, "order must be 1-D, got 2-D"),
    (np.zeros(10, np.int64)[::2], 1, ValueError, "order must be C-contiguous"),
    ([0, 1, 2], 1, TypeError, "order must be a numpy array"),
    (np.zeros(5, np.int64), -1, ValueError, "seed must be an int"),
    (np.zeros(5, np.int64), 2 ** 64, ValueError, "seed must be an int"),
    (np.zeros(5, np.int64), True, ValueError, "seed must be an int"),
    (np.zeros(5, np.int64), 1.5, ValueError, "seed must be an int"),
])
def test_permutation_bad_input(nat, ref, order, seed, error, match):
    for backend in (nat, ref):
        with pytest.raises(error, match=match):
            backend.permutation(order, seed)


def test_permutation_rejects_a_read_only_order(nat, ref):
    order = np.zeros(5, np.int64)
    order.flags.writeable = False
    for backend in (nat, ref):
        with pytest.raises(ValueError, match="order must be C-contiguous and writeable"):
            backend.permutation(order, 1)


@pytest.mark.parametrize("backend", ["native", "python"])
def test_fit_shuffles_with_the_kernel_seeded_by_the_networks_generator(backend):
    """The epoch's order is the kernel's, seeded by one raw draw of net.rng: training on
    X taken in that order without shuffling gives the same parameters."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((37, 5))
    y = rng.integers(0, 3, 37)
    a = mlpfast.MLP([5, 8, 3], seed=3, backend=backend)
    b = mlpfast.MLP([5, 8, 3], seed=3, backend=backend)
    probe = np.random.default_rng()
    probe.bit_generator.state = a.rng.bit_generator.state
    order = np.empty(37, np.int64)
    a.kernels.permutation(order, int(probe.bit_generator.random_raw()))
    options = dict(epochs=1, batch_size=8, optimizer="sgd", learning_rate=0.1)
    a.fit(X, y, shuffle=True, **options)
    b.fit(X[order], y[order], shuffle=False, **options)
    for p, q in zip(a.params, b.params):
        np.testing.assert_array_equal(p, q)
