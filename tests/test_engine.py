"""The native training engine against the Python layer path, bitwise: every
optimiser and loss, thread counts, the half-split step of two threads and its
pacing, and divergence stopping both paths at the same step."""
import numpy as np
import pytest

import mlpfast
from conftest import HALVES_SIZES, assert_same_arrays, fit_data, twin_nets
from mlpfast.optimizers import OPTIMIZERS


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_engine_and_python_path_agree_bitwise(optimizer, dtype):
    X, y = fit_data()
    engine_net, python_net = twin_nets(dtype=dtype)
    options = dict(epochs=3, batch_size=17, optimizer=optimizer, learning_rate=1e-2)
    h1 = engine_net.fit(X, y, engine=True, **options)
    h2 = python_net.fit(X, y, engine=False, **options)
    assert h1.loss == h2.loss
    assert_same_arrays(engine_net.params, python_net.params)
    assert engine_net.optimizer.t == python_net.optimizer.t == 3 * 12


def test_a_forced_simd_path_reaches_the_engine(nat):
    """set_simd_path forces the engine's copy of the GEMM too: under each path the
    engine and the Python path agree bitwise, and the generic path's sums (no fused
    multiply-add) differ from the best path's."""
    X, y = fit_data()
    options = dict(epochs=2, batch_size=17, optimizer="sgd", learning_rate=1e-2)
    results = {}
    try:
        for name in nat.build_info()["simd_supported"]:
            nat.set_simd_path(name)
            engine_net, python_net = twin_nets(dtype="float64")
            engine_net.fit(X, y, engine=True, **options)
            python_net.fit(X, y, engine=False, **options)
            assert_same_arrays(engine_net.params, python_net.params)
            results[name] = engine_net.params
    finally:
        nat.set_simd_path(None)
    best = nat.build_info()["simd_best"]
    if best != "generic":
        assert not np.array_equal(results["generic"][0], results[best][0])


def test_fits_that_reuse_the_engine_workspaces_agree_with_the_python_path():
    """The engine keeps its batch workspaces on the network between fits: fits of
    other batch sizes, dropout and a smaller X in between must not see stale ones."""
    X, y = fit_data(n=90)
    engine_net, python_net = twin_nets(activation=["tanh", "relu"], dropout=0.3)
    for batch_size, rows in [(17, 90), (64, 90), (17, 90), (5, 11), (64, 90)]:
        options = dict(epochs=1, batch_size=batch_size, optimizer="momentum",
                       learning_rate=1e-2)
        h1 = engine_net.fit(X[:rows], y[:rows], engine=True, **options)
        h2 = python_net.fit(X[:rows], y[:rows], engine=False, **options)
        assert h1.loss == h2.loss
        assert_same_arrays(engine_net.params, python_net.params)


@pytest.mark.parametrize("loss,output,y", [
    ("binary_cross_entropy", None, lambda X: (X[:, :2] > 0).astype(float)),
    ("mse", "tanh", lambda X: np.tanh(X[:, :2])),
])
@pytest.mark.parametrize("sizes", [[7, 9, 2], HALVES_SIZES[:-1] + [2]],
                         ids=["one-team", "halves"])
def test_engine_and_python_path_agree_for_other_losses(loss, output, y, sizes, threads):
    X, _ = fit_data(m=sizes[0])
    a, b = twin_nets(layer_sizes=sizes, activation="sigmoid", output_activation=output,
                  loss=loss)
    threads(2)
    h1 = a.fit(X, y(X), epochs=2, batch_size=10, engine=True)
    h2 = b.fit(X, y(X), epochs=2, batch_size=10, engine=False)
    assert h1.loss == h2.loss
    assert_same_arrays(a.params, b.params)


@pytest.mark.parametrize("m,width,dtype,batch_size", [
    (7, 64, "float32", 128),       # one team, each product on it
    (300, 512, "float32", 128),    # two threads: half a batch each (_half_steps)
    (300, 512, "float32", 320),    # halves of > 128 rows: one team, gathering 320 x 300 x 4 B
])
def test_engine_results_do_not_depend_on_thread_count(m, width, dtype, batch_size, threads):
    X, y = fit_data(n=500, m=m)
    results = []
    for n_threads in (1, 2, 3):
        threads(n_threads)
        net, _ = twin_nets(layer_sizes=[m, width, 3], activation="gelu", dtype=dtype)
        net.fit(X.astype(dtype), y, epochs=2, batch_size=batch_size)
        results.append(net.params)
    for other in results[1:]:
        assert_same_arrays(results[0], other)


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch_size,dropout,n", [(1, 0.0, 13), (2, 0.0, 15), (17, 0.2, 45),
                                                  (255, 0.0, 300)])
def test_engine_on_two_threads_agrees_with_the_python_path(optimizer, dtype, batch_size,
                                                          dropout, n, threads):
    """Two threads take half a batch each: the same bits as the Python path, whose
    weight gradients sum the same two halves.  n rows: a short last batch (of one row
    for batches of 2, whose second half is then empty)."""
    _assert_two_threads_agree_with_python(HALVES_SIZES, ["tanh", "relu"], optimizer, dtype,
                                          batch_size, dropout, n, threads)


def _assert_two_threads_agree_with_python(sizes, activation, optimizer, dtype, batch_size,
                                          dropout, n, threads):
    X, y = fit_data(n=n, m=sizes[0])
    engine_net, python_net = twin_nets(layer_sizes=sizes, activation=activation,
                                    dropout=dropout, dtype=dtype)
    options = dict(epochs=2, batch_size=batch_size, optimizer=optimizer, learning_rate=1e-2)
    threads(2)
    h1 = engine_net.fit(X, y, engine=True, **options)
    threads(1)
    h2 = python_net.fit(X, y, engine=False, **options)
    assert h1.loss == h2.loss
    assert_same_arrays(engine_net.params, python_net.params)


@pytest.mark.parametrize("pace", [3, 0], ids=["alternate", "paced"])
def test_half_split_runs_on_one_thread_or_two_give_the_same_bits(pace, engine_threads,
                                                                threads):
    """Runs of half-split steps go on one thread or two, as the network's Pace chooses
    (alternate: two, one, two, ... within each epoch): the same bits as the Python path
    either way.  Paced, a new network times both counts in its first two runs."""
    X, y = fit_data(n=300, m=HALVES_SIZES[0])
    engine_net, python_net = twin_nets(layer_sizes=HALVES_SIZES, activation="relu")
    options = dict(epochs=2, batch_size=11, optimizer="adam", learning_rate=1e-2)
    threads(2)
    engine_threads(pace)
    h1 = engine_net.fit(X, y, engine=True, **options)      # 28 steps an epoch: 4 runs
    threads(1)
    h2 = python_net.fit(X, y, engine=False, **options)
    assert h1.loss == h2.loss
    assert_same_arrays(engine_net.params, python_net.params)
    fields = engine_net._work["pace"]
    assert fields[0] == 11
    assert (fields[1] > 0 and fields[2] > 0) == (pace == 0)
    threads(2)                                 # another batch size starts afresh
    engine_net.fit(X, y, engine=True, **dict(options, epochs=1, batch_size=40))
    fields = engine_net._work["pace"]
    assert fields[0] == 40               # 8 steps, one run: one thread timed after 4
    assert (fields[1] > 0) == (pace == 0) and fields[2] == 0


def test_pace_keeps_to_the_thread_count_that_ran_faster(nat):
    """Pace's choice from run times (seconds a step): time one thread, then two; keep
    two unless they are TWO_SLOWER (1.25) times slower; give them up after two such
    runs in a row, not one; while on one, retry two after RETRY_TWO runs, twice as
    many after each retry they lose (up to RETRY_MAX); while on two, time one again
    every RETIME_ONE runs."""
    from mlpfast._engine import force_threads, pace_next
    state = np.zeros(8)
    assert pace_next(state) == 1                     # nothing timed: one thread first
    assert pace_next(state, 1, 100e-6) == 2          # then two
    assert pace_next(state, 2, 120e-6) == 2          # slower, but not 1.25 times: keep two
    assert pace_next(state, 2, 170e-6) == 2          # one slow run: a hiccup
    assert pace_next(state, 2, 72e-6) == 2
    assert pace_next(state, 2, 170e-6) == 2
    assert pace_next(state, 2, 126e-6) == 1          # two slow runs in a row: one thread
    for _ in range(15):                              # RETRY_TWO = 16 runs on one
        assert pace_next(state, 1, 100e-6) == 1
    assert pace_next(state, 1, 100e-6) == 2          # then two is timed again
    assert pace_next(state, 2, 160e-6) == 1          # still slower: back to one,
    for _ in range(31):                              # for twice as long
        assert pace_next(state, 1, 100e-6) == 1
    assert pace_next(state, 1, 100e-6) == 2
    assert pace_next(state, 2, 125e-6) == 2          # within 1.25 times: two again
    for _ in range(256 - 2):                         # RETIME_ONE = 256 runs on two
        assert pace_next(state, 2, 68e-6) == 2
    assert pace_next(state, 2, 68e-6) == 1           # then one is timed again:
    assert pace_next(state, 1, 60e-6) == 2           # 68 us is within 1.25 x 60: two
    for _ in range(256 - 1):
        assert pace_next(state, 2, 68e-6) == 2
    assert pace_next(state, 2, 68e-6) == 1
    assert pace_next(state, 1, 50e-6) == 1           # 68 > 1.25 x 50: one
    for _ in range(15):                              # a won retry reset the wait
        assert pace_next(state, 1, 50e-6) == 1
    assert pace_next(state, 1, 50e-6) == 2
    for wait in (32, 64, 64):                        # lost retries: up to RETRY_MAX
        assert pace_next(state, 2, 90e-6) == 1
        for _ in range(wait - 1):
            assert pace_next(state, 1, 50e-6) == 1
        assert pace_next(state, 1, 50e-6) == 2
    with pytest.raises(ValueError, match="8 float64 fields"):
        pace_next(np.zeros(3))
    with pytest.raises(ValueError, match="force_threads: n must be 0, 1, 2 or 3, got 4"):
        force_threads(4)


# enough work for halves too, with odd widths: the two threads' bands of W's rows (67 =
# 34 + 33 inputs) and of the bias columns end off the vector width
ODD_HALVES_SIZES = [67, 521, 439, 3]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("batch_size,dropout,n", [(2, 0.0, 15), (17, 0.2, 45)])
def test_engine_on_two_threads_agrees_with_the_python_path_at_odd_widths(
        optimizer, dtype, batch_size, dropout, n, threads):
    _assert_two_threads_agree_with_python(ODD_HALVES_SIZES, "relu", optimizer, dtype,
                                          batch_size, dropout, n, threads)



@pytest.mark.parametrize("engine", [True, False])
@pytest.mark.parametrize("sizes", [[7, 32, 1], HALVES_SIZES[:-1] + [1]],
                         ids=["one-team", "halves"])
def test_divergence_at_the_first_step_leaves_the_initial_parameters(engine, sizes, threads):
    X, y = fit_data(n=64, m=sizes[0])
    net = mlpfast.MLP(sizes, loss="mse", dtype="float64", seed=0)
    initial = [p.copy() for p in net.params]
    threads(2)
    with pytest.raises(mlpfast.TrainingDiverged, match="iteration 1:"):
        net.fit(X, y * 1e200, epochs=5, batch_size=64, engine=engine)   # (1e200)² = inf
    assert_same_arrays(net.params, initial)


@pytest.mark.parametrize("engine", [True, False])
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("n_in,width,rows", [(3, 4, 8), (300, 256, 128)])
def test_a_gradient_overflowing_with_a_finite_loss_is_divergence(engine, n_threads, n_in, width,
                                                                 rows, threads):
    # W1 = 0 and identity hidden units make the output b2 (a finite loss), while
    # δ1 = δ2 W2ᵀ ~ 1e30 and dW1 = Xᵀ δ1 ~ 1e40 overflow float32.  The dW epilogue
    # checks dW1's tiles; on two threads the engine runs the larger shape as two
    # half batches, and each thread checks the tiles of its band of dW1's rows (the
    # last row is in the second band, the first band's update must wait for it).
    threads(n_threads)
    net = mlpfast.MLP([n_in, width, 1], activation="identity", loss="mse", dtype="float32",
                      seed=0)
    net.layers[0].W, net.layers[0].b = np.zeros((n_in, width)), np.zeros(width)
    net.layers[1].W = np.full((width, 1), 1e30)
    initial = [p.copy() for p in net.params]
    X = np.zeros((rows, n_in))
    X[:, -1] = 1e10                  # only dW1's last row overflows
    with pytest.raises(mlpfast.TrainingDiverged, match="iteration 1:"):
        net.fit(X, np.ones(rows), epochs=1, batch_size=rows, optimizer="sgd", engine=engine)
    assert_same_arrays(net.params, initial)


@pytest.mark.parametrize("n_threads,rows", [(1, 300), (2, 300), (2, 64)])
def test_an_overflowing_bias_gradient_is_divergence(n_threads, rows, threads):
    # X = 0, W1 = 0 and identity hidden units: the output is b2 = 0 (a finite loss for
    # targets 10) and every dW is 0, while db1 = Σ_rows δ2 W2ᵀ = -10 W2 overflows float32
    # in the one unit whose W2 is 1e38.
    # That unit sits past the first 65536 biases: on two threads the check of the bias
    # gradients is shared in chunks of that size for 300 rows (one team: halves > 128
    # rows); 64 rows take half a batch a thread, which check their own columns' db.
    width, unit = 66000, 65999
    net = mlpfast.MLP([2, width, 1], activation="identity", loss="mse", dtype="float32",
                      seed=0)
    net.layers[0].W, net.layers[0].b = np.zeros((2, width)), np.zeros(width)
    W2 = np.zeros((width, 1))
    W2[unit] = 1e38
    net.layers[1].W = W2
    initial = [p.copy() for p in net.params]
    threads(n_threads)
    with pytest.raises(mlpfast.TrainingDiverged, match="iteration 1:"):
        net.fit(np.zeros((rows, 2)), np.full(rows, 10.0), epochs=1, batch_size=rows,
                optimizer="sgd")
    assert_same_arrays(net.params, initial)


@pytest.mark.parametrize("pace", [2, 1], ids=["two", "one"])
@pytest.mark.parametrize("sizes", [[7, 32, 1], HALVES_SIZES[:-1] + [1]],
                         ids=["one-team", "halves"])
def test_later_divergence_stops_both_paths_at_the_same_step(sizes, pace, threads,
                                                             engine_threads):
    """pace: the half split's runs forced onto two threads, or onto one (as Pace may
    choose): either stops at the step whose gradient overflows."""
    X, y = fit_data(n=64, m=sizes[0])
    nets = twin_nets(layer_sizes=sizes, activation="relu", loss="mse", dtype="float32")
    threads(2)
    engine_threads(pace)
    messages = []
    for net, engine in zip(nets, (True, False)):
        with pytest.raises(mlpfast.TrainingDiverged) as info:
            net.fit(X * 100, y * 100.0, epochs=200, batch_size=8, optimizer="sgd",
                    learning_rate=1.0, engine=engine)
        messages.append(net.optimizer.t)
        assert all(np.isfinite(p).all() for p in net.params)
    assert messages[0] == messages[1] > 1
    assert_same_arrays(nets[0].params, nets[1].params)
