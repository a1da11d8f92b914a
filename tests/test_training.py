"""fit's API: reproducibility, history, optimisers continuing or starting fresh,
schedules, validation, early stopping, callbacks, Ctrl-C, bad input, memory.  The
engine against the Python layer path is test_engine.py."""
import signal

import numpy as np
import pytest

import mlpfast
from conftest import HALVES_SIZES, assert_same_arrays, fit_data, twin_nets
from mlpfast.optimizers import OPTIMIZERS


def test_seeded_fit_is_reproducible_and_seeds_differ():
    X, y = fit_data()
    runs = []
    for seed in (1, 1, 2):
        net = mlpfast.MLP([7, 8, 3], seed=seed)
        runs.append(net.fit(X, y, epochs=2).loss)
    assert runs[0] == runs[1] and runs[0] != runs[2]


def test_history_counts_iterations_and_epochs():
    X, y = fit_data(n=100)
    net = mlpfast.MLP([7, 8, 3], seed=0)
    h = net.fit(X, y, epochs=4, batch_size=32)
    assert h.epochs == 4 and h.n_iter == [4] * 4 and h.iterations == 16
    h = net.fit(X, y, epochs=2, batch_size=100)       # full batch
    assert h.n_iter == [1, 1]
    h = net.fit(X, y, epochs=1, batch_size=1)         # stochastic
    assert h.n_iter == [100]
    assert net.optimizer.t == 16 + 2 + 100            # the same optimiser continued


def test_second_fit_continues_and_a_new_optimizer_starts_fresh():
    X, y = fit_data()
    net = mlpfast.MLP([7, 8, 3], seed=0)
    net.fit(X, y, epochs=1, optimizer="adam")
    first = net.optimizer
    net.fit(X, y, epochs=1, optimizer="adam")
    assert net.optimizer is first and first.t == 2 * 7      # ceil(203 / 32) = 7
    net.fit(X, y, epochs=1, optimizer=mlpfast.optimizers.Momentum(learning_rate=0.01))
    assert net.optimizer is not first and net.optimizer.t == 7


def test_training_reduces_loss_with_every_optimizer():
    X, y = fit_data()
    for name in OPTIMIZERS:
        net = mlpfast.MLP([7, 16, 3], seed=0)
        h = net.fit(X, y, epochs=15, optimizer=name,
                    learning_rate=0.05 if name in ("sgd", "adagrad") else 0.01)
        assert h.loss[-1] < 0.8 * h.loss[0], (name, h.loss)


def test_validation_and_early_stopping_restore_best_weights():
    X, y = fit_data(n=300)
    net = mlpfast.MLP([7, 64, 3], seed=0)
    Xv, yv = X[:60], (y[:60] + 1) % 3         # a validation set that gets worse
    best = []
    h = net.fit(X[60:], y[60:], epochs=50, learning_rate=1e-2, validation_data=(Xv, yv),
                early_stopping=True, patience=3,
                callbacks=[lambda n, e, logs: best.append([p.copy() for p in n.params])])
    assert h.stopped_early and h.epochs < 50
    assert len(h.val_loss) == len(h.val_score) == h.epochs
    assert h.best_epoch == int(np.argmin(h.val_loss))
    assert_same_arrays(net.params, best[h.best_epoch])


def test_early_stopping_waits_patience_epochs_for_an_improvement_beyond_tol():
    # the validation loss cannot fall by tol = 10: epoch 0 is the best, the run stops
    # after 3 more epochs and restores epoch 0's weights
    X, y = fit_data(n=300)
    net = mlpfast.MLP([7, 16, 3], seed=0)
    saved = []
    h = net.fit(X[60:], y[60:], epochs=20, learning_rate=0.1, validation_data=(X[:60], y[:60]),
                early_stopping=True, patience=3, tol=10.0,
                callbacks=[lambda n, e, logs: saved.append([p.copy() for p in n.params])])
    assert min(h.val_loss[1:]) < h.val_loss[0]                   # it did improve, by < tol
    assert h.stopped_early and h.epochs == 4 and h.best_epoch == 0
    assert_same_arrays(net.params, saved[0])


def test_validation_fraction_split():
    X, y = fit_data(n=200)
    h = mlpfast.MLP([7, 8, 3], seed=0).fit(X, y, epochs=2, validation_fraction=0.25,
                                            batch_size=150)
    assert len(h.val_loss) == 2 and h.n_iter == [1, 1]


def test_validation_fraction_is_a_random_subset_in_x_order():
    # round(0.25 · 203) = 51 rows drawn with the network's generator; both parts keep
    # X's order: the same run as passing that split as validation_data
    X, y = fit_data()
    a, b = twin_nets(layer_sizes=[7, 8, 3], activation="relu")
    state = a.rng.bit_generator.state
    options = dict(epochs=3, batch_size=16, shuffle=False, optimizer="sgd", learning_rate=0.1)
    h1 = a.fit(X, y, validation_fraction=0.25, **options)
    rng = np.random.default_rng()
    rng.bit_generator.state = state
    perm = rng.permutation(len(X))
    val, train = np.sort(perm[:51]), np.sort(perm[51:])
    h2 = b.fit(X[train], y[train], validation_data=(X[val], y[val]), **options)
    assert h1.val_loss == h2.val_loss and h1.loss == h2.loss
    assert_same_arrays(a.params, b.params)


def test_callback_can_stop_training():
    X, y = fit_data()
    h = mlpfast.MLP([7, 8, 3], seed=0).fit(X, y, epochs=10,
                                            callbacks=[lambda net, epoch, logs: epoch == 2])
    assert h.epochs == 3


@pytest.mark.parametrize("engine", [True, False])
@pytest.mark.parametrize("sizes", [[7, 8, 3], HALVES_SIZES], ids=["one-team", "halves"])
def test_ctrl_c_stops_cleanly_after_the_current_step(engine, sizes, threads):
    X, y = fit_data(n=2000, m=sizes[0])
    net = mlpfast.MLP(sizes, seed=0)

    def press_ctrl_c(net, epoch, logs):
        if epoch == 1:
            signal.raise_signal(signal.SIGINT)

    threads(2)
    h = net.fit(X, y, epochs=10, callbacks=[press_ctrl_c], engine=engine)
    assert h.interrupted
    if engine:      # looks every few steps, from the first: stops inside epoch 2
        assert h.epochs == 3 and h.n_iter[-1] < h.n_iter[0]
        # whose loss is the mean over the rows it trained, not over all 2000 rows
        # (which would make it n_iter[-1] · 32 / 2000 of that)
        assert h.loss[-1] > 0.5 * h.loss[-2]
    else:           # looks before every step: stops before epoch 2's first
        assert h.epochs == 2
    assert all(np.isfinite(p).all() for p in net.params)


@pytest.mark.parametrize("schedule,expected", [
    ("constant", [0.1, 0.1, 0.1, 0.1]),
    (mlpfast.schedules.StepDecay(step_size=2, factor=0.5), [0.1, 0.1, 0.05, 0.05]),
    (mlpfast.schedules.ExponentialDecay(rate=0.5), [0.1, 0.05, 0.025, 0.0125]),
    (mlpfast.schedules.InverseScaling(power=1.0), [0.1, 0.05, 0.1 / 3, 0.025]),
])
def test_learning_rate_schedules(schedule, expected):
    X, y = fit_data()
    h = mlpfast.MLP([7, 8, 3], seed=0).fit(X, y, epochs=4, optimizer="sgd",
                                            learning_rate=0.1, lr_schedule=schedule)
    np.testing.assert_allclose(h.learning_rate, expected, rtol=1e-12)


def test_reduce_on_plateau_lowers_the_rate():
    X, y = fit_data()
    h = mlpfast.MLP([7, 8, 3], seed=0).fit(
        X, (y + np.arange(len(y))) % 3, epochs=12, optimizer="sgd", learning_rate=1e-6,
        lr_schedule=mlpfast.schedules.ReduceOnPlateau(factor=0.5, patience=2, tol=1.0))
    assert h.learning_rate[0] == 1e-6 and h.learning_rate[-1] < 1e-6


def test_reduce_on_plateau_stops_at_min_lr():
    X, y = fit_data()
    schedule = mlpfast.schedules.ReduceOnPlateau(factor=0.5, patience=1, tol=1.0, min_lr=4e-7)
    h = mlpfast.MLP([7, 8, 3], seed=0).fit(X, y, epochs=6, optimizer="sgd",
                                            learning_rate=1e-6, lr_schedule=schedule)
    assert h.learning_rate == [1e-6, 1e-6, 5e-7, 4e-7, 4e-7, 4e-7]


def test_reduce_on_plateau_watches_the_validation_loss():
    # the training loss keeps falling while the loss on mislabelled validation rows
    # rises: watching the latter, the rate halves every 2 epochs
    X, y = fit_data(n=300)
    schedule = mlpfast.schedules.ReduceOnPlateau(factor=0.5, patience=2, tol=1e-4)
    h = mlpfast.MLP([7, 16, 3], seed=0).fit(
        X[60:], y[60:], epochs=7, optimizer="sgd", learning_rate=0.05, lr_schedule=schedule,
        validation_data=(X[:60], (y[:60] + 1) % 3))
    assert all(b < a - 1e-4 for a, b in zip(h.loss, h.loss[1:]))
    assert all(b > a for a, b in zip(h.val_loss, h.val_loss[1:]))
    assert h.learning_rate == [0.05, 0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125]


BAD_FIT = [
    (dict(X=[[1, 2]]), ValueError, "X must have 7 columns"),
    (dict(X=np.full((5, 7), np.nan)), ValueError, "X must be finite"),
    (dict(X=np.full((10, 7), 1e300)), ValueError, r"X holds values beyond float32's range"),
    (dict(X=np.empty((0, 7))), ValueError, "X must have at least one row"),
    (dict(X=[["a"] * 7]), TypeError, "X must hold real numbers"),
    (dict(X=np.zeros(7)), ValueError, "X must be 2-D"),
    (dict(y=[0, 1]), ValueError, "y must have one row per sample"),
    (dict(y=[5] * 10), ValueError, "y holds class 5"),
    (dict(y=[-1] * 10), ValueError, "y holds class -1"),
    (dict(y=[0.5] * 10), ValueError, "integer class indices"),
    (dict(y=np.array([0] * 9 + [3])), ValueError, "y holds class 3"),    # int64: one pass
    (dict(y=np.array([-2] + [0] * 9)), ValueError, "y holds class -2"),
    (dict(y=np.array([0] * 9 + [3], np.int32)), ValueError, "y holds class 3"),
    (dict(y=np.array([0] * 19 + [3])[::-1][::2]), ValueError, "y holds class 3"),  # strided
    (dict(epochs=0), ValueError, "epochs must be a positive int"),
    (dict(batch_size=0), ValueError, "batch_size must be a positive int"),
    (dict(learning_rate=0.0), ValueError, "learning_rate must be a finite number"),
    (dict(learning_rate=-1), ValueError, "learning_rate"),
    (dict(optimizer="lbfgs"), ValueError, "optimizer must be one of"),
    (dict(lr_schedule="cosine"), ValueError, "lr_schedule must be"),
    (dict(validation_fraction=1.5), ValueError, "validation_fraction must be"),
    (dict(validation_fraction=0), ValueError, r"validation_fraction must be a number in \(0, 1\)"),
    (dict(y=3), ValueError, "y must hold one value or row per sample, got a scalar"),
    (dict(y=np.zeros(10) + 1j), TypeError, "y must hold real numbers"),
    (dict(tol="x"), TypeError, "tol must be a real number"),
    (dict(tol=float("nan")), ValueError, "tol must be a finite number"),
    (dict(tol=-5), ValueError, "tol must be a finite number"),
    (dict(validation_data=5), TypeError, r"validation_data must be a pair \(X, y\)"),
    (dict(validation_data=(np.zeros((4, 7)),)), TypeError, "validation_data must be a pair"),
    (dict(validation_data=(np.zeros((4, 7)), [0, 1])), ValueError,
     r"validation_data\[1\] \(y\) against validation_data\[0\] \(X\): y must have one row"),
    (dict(validation_data=(np.zeros((4, 7)), np.zeros(4, int)), validation_fraction=0.2),
     ValueError, "validation_data or validation_fraction, not both"),
]


@pytest.mark.parametrize("change,error,match", BAD_FIT)
def test_fit_bad_input(change, error, match):
    args = dict(X=np.zeros((10, 7)), y=np.zeros(10, int))
    args.update(change)
    net = mlpfast.MLP([7, 4, 3], seed=0)
    with pytest.raises(error, match=match):
        net.fit(args.pop("X"), args.pop("y"), **args)


BAD_NET = [
    (dict(layer_sizes=[3]), ValueError, "layer_sizes must list at least two"),
    (dict(layer_sizes=[3, 0, 2]), ValueError, r"layer_sizes\[1\] must be a positive int"),
    (dict(layer_sizes=[3, True, 2]), ValueError, r"layer_sizes\[1\] must be a positive int"),
    (dict(layer_sizes=[3, 2.0, 2]), ValueError, r"layer_sizes\[1\] must be a positive int"),
    (dict(activation="swishy"), ValueError, "unknown activation 'swishy'"),
    (dict(activation=["relu", "tanh"]), ValueError, "one per hidden layer"),
    (dict(loss="hinge"), ValueError, "loss must be one of"),
    (dict(dtype="float16"), ValueError, "dtype must be 'float32' or 'float64'"),
    (dict(init="orthogonal"), ValueError, "init must be 'auto' or one of"),
    (dict(l2=-1.0), ValueError, "l2 must be"),
    (dict(backend="cuda"), ValueError, "backend must be"),
    (dict(layer_sizes=5), ValueError, "layer_sizes must list at least two"),
    (dict(layer_sizes=[2 ** 62, 2]), MemoryError, r"layer_sizes \[4611686018427387904, 2\]"),
    (dict(activation=5), TypeError, "activation must be a name or a list of names"),
    (dict(activation=None), TypeError, "activation must be a name or a list of names"),
    (dict(activation=[None]), TypeError, "activation must be a name or a list of names"),
    (dict(seed=-1), ValueError, "seed must be None, an int >= 0"),
    (dict(seed="abc"), TypeError, "seed must be None, an int >= 0"),
    (dict(seed=1.5), TypeError, "seed must be None, an int >= 0"),
    (dict(seed=True), TypeError, "seed must be None, an int >= 0"),
    (dict(dtype=None), ValueError, "dtype must be 'float32' or 'float64'"),
    (dict(dtype=[1, 2]), ValueError, "dtype must be 'float32' or 'float64'"),
]


@pytest.mark.parametrize("change,error,match", BAD_NET)
def test_constructor_bad_input(change, error, match):
    args = dict(layer_sizes=[3, 4, 2])
    args.update(change)
    with pytest.raises(error, match=match):
        mlpfast.MLP(**args)


def test_a_seed_may_be_an_int_or_numpy_s_seed_objects():
    nets = [mlpfast.MLP([3, 4, 2], seed=s) for s in (7, np.int64(7),
                                                      np.random.SeedSequence(7), [7])]
    for net in nets[1:]:
        assert_same_arrays(nets[0].params, net.params)
    assert type(nets[1].seed) is int


@pytest.mark.parametrize("engine", [True, False])
def test_one_optimizer_trains_networks_of_different_sizes_in_turn(engine):
    """An Optimizer object passed to two networks holds the state of the last one it
    trained: the other starts fresh on it.  Its state, of the wrong size, once went to
    the update kernels unchecked (a crash); so did state replaced by hand."""
    X, y = fit_data(n=40)
    opt = mlpfast.optimizers.Adam(learning_rate=1e-2)
    big, small = mlpfast.MLP([7, 300, 3], seed=0), mlpfast.MLP([7, 5, 3], seed=0)
    big.fit(X, y, epochs=1, optimizer=opt, engine=engine)
    small.fit(X, y, epochs=1, optimizer=opt, engine=engine)
    assert [s["r"].shape for s in opt.state] == [p.shape for p in small.params]
    before = [p.copy() for p in big.params]
    big.fit(X, y, epochs=1, optimizer=opt, engine=engine)   # opt is big.optimizer again
    assert opt.t == 2 and [s["r"].shape for s in opt.state] == [p.shape for p in big.params]
    assert all(np.isfinite(p).all() for p in big.params)
    assert any(not np.array_equal(a, b) for a, b in zip(before, big.params))
    opt.state[0]["s"] = np.zeros(3, np.float32)             # by hand, the wrong size
    big.fit(X, y, epochs=1, optimizer=opt, engine=engine)
    assert opt.t == 2 and opt.fits(big.params)


def test_optimizer_settings_are_checked_whenever_they_are_set():
    opt = mlpfast.optimizers.Adam()
    for name, bad, error in [("beta1", 5.0, ValueError), ("eps", -1.0, ValueError),
                             ("learning_rate", float("nan"), ValueError),
                             ("weight_decay", "x", TypeError), ("t", 2 ** 70, ValueError),
                             ("t", -1, ValueError), ("t", 1.5, TypeError)]:
        with pytest.raises(error, match=name):
            setattr(opt, name, bad)
    opt.beta1, opt.t = 0.5, np.int64(3)
    assert (opt.beta1, opt.t, type(opt.t)) == (0.5, 3, int)


@pytest.mark.parametrize("engine", [True, False])
def test_a_batch_larger_than_the_data_is_one_batch(engine):
    """batch_size = 2**63 once overflowed the engine's Py_ssize_t."""
    X, y = fit_data(n=40)
    nets = [mlpfast.MLP([7, 8, 3], seed=0) for _ in range(2)]
    for net, batch in zip(nets, (2 ** 63, 40)):
        h = net.fit(X, y, epochs=2, batch_size=batch, engine=engine)
        assert h.n_iter == [1, 1]
    assert_same_arrays(nets[0].params, nets[1].params)


def test_a_network_runs_one_fit_or_layer_pass_at_a_time():
    """Another thread's fit, forward or backward on a network that is training raises
    rather than write the buffers the engine writes without the GIL (that was heap
    corruption); the training thread itself may use the network in a callback."""
    import threading
    X, y = fit_data(n=40)
    net = mlpfast.MLP([7, 8, 3], seed=0)
    seen = []

    def from_another_thread(call):
        def run():
            try:
                call()
                seen.append("ran")
            except RuntimeError as exc:
                seen.append(str(exc))
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()

    def callback(n, epoch, logs):
        from_another_thread(lambda: n.forward(X))
        from_another_thread(lambda: n.fit(X, y, epochs=1))
        from_another_thread(lambda: n.loss_and_grads(X, y))
        seen.append(n.score(X, y))                     # this thread: allowed
        n.forward(X[:3])
    net.fit(X, y, epochs=1, callbacks=[callback])
    assert all("busy in another thread" in s for s in seen[:3]), seen
    assert 0 <= seen[3] <= 1
    from_another_thread(lambda: net.forward(X))        # after the fit: free again
    assert seen[4] == "ran"


def test_inputs_in_any_layout_are_converted():
    X, y = fit_data(n=40)
    net = mlpfast.MLP([7, 8, 3], seed=0)
    expected = net.predict(X)
    for variant in (X.tolist(), np.asfortranarray(X), X.astype(np.float16),
                    np.repeat(X, 2, axis=0)[::2], (X * 4).astype(np.int64) / 4):
        np.testing.assert_array_equal(net.predict(variant)[:5], net.predict(np.asarray(
            variant, dtype=np.float64))[:5])
    one_hot = np.eye(3)[y]
    assert net.score(X, one_hot) == net.score(X, y)
    assert net.predict(X).shape == expected.shape


def test_predict_is_thread_safe():
    # concurrent callers of threaded products: one has the hand-off team, the
    # others run alone (csrc/team.h)
    from concurrent.futures import ThreadPoolExecutor
    X = np.random.default_rng(0).standard_normal((300, 300)).astype(np.float32)
    net = mlpfast.MLP([300, 517, 3], seed=0)
    batches = [X, X[:1], X[:100]]
    expected = [net.predict_proba(x) for x in batches]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: net.predict_proba(batches[i % 3]), range(48)))
    for i, r in enumerate(results):
        np.testing.assert_array_equal(r, expected[i % 3])


def test_fit_makes_no_copy_of_a_ready_X():
    from mlpfast._validation import as_features
    X = np.zeros((10, 7), np.float32)
    assert as_features(X, 7, np.dtype(np.float32)) is X


@pytest.mark.parametrize("validation_fraction", [None, 0.1])
@pytest.mark.parametrize("engine", [True, False])
def test_fit_holds_x_plus_row_indices_and_the_network_s_buffers(engine, validation_fraction):
    """fit's peak memory is X plus O(parameters + batch × width) (issue 4), besides the
    epochs' order of the rows (8 bytes a row, one array for all epochs) and, with a
    validation_fraction, two more index arrays of the training rows, a copy of the
    held-out rows and their outputs: no copy of X (25.6 MB) or of its training rows,
    no second order.  tracemalloc sees NumPy's buffers; the bound allows 8 times the
    parameters and a batch's activations of every layer, 4 float64 arrays of the
    held-out outputs, and 64 KiB of Python objects."""
    import tracemalloc
    n, batch, sizes = 100_000, 256, [64, 16, 3]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], n)
    net = mlpfast.MLP(sizes, seed=0)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        net.fit(X, y, epochs=2, batch_size=batch, optimizer="adam", engine=engine,
                validation_fraction=validation_fraction)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    network = 8 * (sum(p.nbytes for p in net.params) + batch * sum(sizes) * X.itemsize)
    if validation_fraction is None:
        rows = 8 * n                                       # the order
    else:                                                  # + the training rows' indices
        n_val = round(validation_fraction * n)
        rows = (24 * n + validation_fraction * (X.nbytes + y.nbytes)
                + 4 * n_val * sizes[-1] * 8)
    assert peak <= rows + network + 65536


def test_verbose_prints_a_line_per_epoch_without_tqdm(monkeypatch, capsys):
    import builtins
    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError("no tqdm here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    X, y = fit_data(n=50)
    mlpfast.MLP([7, 4, 3], seed=0).fit(X, y, epochs=3, verbose=True)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("epoch 1/3")
    assert "loss=" in lines[0] and "samples_per_s=" in lines[0]


@pytest.mark.parametrize("engine", [True, False])
def test_one_sgd_step_is_theta_minus_lr_times_the_gradient(engine):
    X, y = fit_data(n=20)
    net = mlpfast.MLP([7, 5, 3], dtype="float64", l2=0.01, seed=0)
    before = [p.copy() for p in net.params]
    _, grads = net.loss_and_grads(X, y)
    net.fit(X, y, epochs=1, batch_size=20, optimizer="sgd", learning_rate=0.5, shuffle=False,
            engine=engine)
    expected = [b - 0.5 * g for b, g in zip(before, [
        np.concatenate([dW.ravel() for dW, _ in grads]),
        np.concatenate([db for _, db in grads])])]
    for p, e in zip(net.params, expected):
        np.testing.assert_allclose(p, e, rtol=1e-14, atol=1e-15)


def test_fit_takes_a_memmap_as_it_is(tmp_path):
    """An ndarray subclass backed by a file (large data sets) trains like the array."""
    X, y = fit_data(n=64)
    mm = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32,
                                   shape=X.shape)
    mm[:] = X
    a, b = twin_nets(layer_sizes=[7, 9, 3], activation="relu")
    a.fit(mm, y, epochs=2, batch_size=16)
    b.fit(X.astype(np.float32), y, epochs=2, batch_size=16)
    assert_same_arrays(a.params, b.params)


def test_large_predict_releases_the_gil(threads):
    # _inference.Forward runs calls of 2^20 multiply-adds or more without the GIL, so
    # another Python thread keeps counting through them (holding it, the counter
    # got 2.5k-5k increments a call; releasing it, 90k-200k)
    import sys
    import threading
    X = np.random.default_rng(0).standard_normal((4000, 300)).astype(np.float32)
    net = mlpfast.MLP([300, 517, 3], seed=0)
    count, stop = [0], threading.Event()

    def counter():
        while not stop.is_set():
            count[0] += 1

    interval = sys.getswitchinterval()
    worker = threading.Thread(target=counter)
    try:
        sys.setswitchinterval(1e-4)             # else the GIL passes for 5 ms between calls
        threads(1)
        net.predict(X)
        worker.start()
        while count[0] == 0:
            pass
        counts = []
        for _ in range(3):
            c0 = count[0]
            net.predict(X)                      # ~620M multiply-adds: tens of ms
            counts.append(count[0] - c0)
    finally:
        stop.set()
        if worker.is_alive():
            worker.join()
        sys.setswitchinterval(interval)
    assert max(counts) > 30000, counts
