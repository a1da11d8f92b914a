"""Model files: exact round trips, exact resumption, atomic writes, and a
ModelFormatError that says what is wrong for every kind of bad file."""
import copy
import io
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import mlpfast

LOSSES = ("cross_entropy", "binary_cross_entropy", "mse")


@pytest.fixture(autouse=True)
def one_thread(threads):
    """Batches of 8 rows: on a busy machine, starting OpenMP teams for them costs
    far more than the work (results are the same for any thread count)."""
    threads(1)


def _data(loss, n=40, m=5, seed=0):
    """Features and targets suited to `loss`: 3 classes, 0/1, or 2 real outputs."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, m))
    y = {"cross_entropy": rng.integers(0, 3, n),
         "binary_cross_entropy": rng.integers(0, 2, n),
         "mse": rng.normal(size=(n, 2))}[loss]
    return X, y


def _net(loss, dtype="float32", seed=1, activation=("prelu", "tanh")):
    n_out = {"cross_entropy": 3, "binary_cross_entropy": 1, "mse": 2}[loss]
    return mlpfast.MLP([5, 7, 6, n_out], activation=list(activation), loss=loss, dtype=dtype,
                       l2=1e-3, seed=seed)


def _saved(tmp_path, name="model.npz", loss="cross_entropy"):
    net = _net(loss)
    X, y = _data(loss)
    net.fit(X, y, epochs=1)
    path = tmp_path / name
    net.save(path)
    return net, path


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("loss", LOSSES)
def test_round_trip_is_exact(tmp_path, dtype, loss):
    net = _net(loss, dtype)
    X, y = _data(loss)
    net.fit(X, y, epochs=2, batch_size=8)
    net.metadata = {"note": "kept", "classes": ["a", "b"]}
    net.save(tmp_path / "m.npz")
    back = mlpfast.load(tmp_path / "m.npz")
    assert back.config() == net.config()
    assert back.metadata == net.metadata
    assert [p.dtype for p in back.params] == [np.dtype(dtype)] * 2
    for a, b in zip(net.params, back.params):
        np.testing.assert_array_equal(a, b)
    assert net.layers[0].activation == "prelu"
    np.testing.assert_array_equal(back.layers[0].gamma, net.layers[0].gamma)
    assert not np.all(net.layers[0].gamma == 0.25)        # the slopes were trained, then saved
    np.testing.assert_array_equal(back.forward(X), net.forward(X))
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


def test_round_trip_keeps_the_output_activation_and_seed(tmp_path):
    net = mlpfast.MLP([3, 4, 2], output_activation="tanh", loss="mse", seed=5)
    assert net.config()["output_activation"] == "tanh" and net.config()["seed"] == 5
    net.save(tmp_path / "m.npz")
    back = mlpfast.load(tmp_path / "m.npz")
    assert back.config() == net.config() and back.layers[-1].activation == "tanh"
    X = np.random.default_rng(0).uniform(-3, 3, (6, 3)).astype(np.float32)
    np.testing.assert_array_equal(back.forward(X), net.forward(X))
    assert np.abs(back.forward(X)).max() <= 1                 # through tanh


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("optimizer", ["adam", "momentum", "sgd"])
def test_resume_after_load_equals_one_long_fit(tmp_path, dtype, optimizer):
    """fit 2, save, load, fit 2 == fit 4: optimiser state and generator state are saved."""
    X, y = _data("cross_entropy", n=50)
    opts = dict(batch_size=8, optimizer=optimizer, learning_rate=0.01)
    straight = _net("cross_entropy", dtype)
    straight.dropout = 0.0
    straight.fit(X, y, epochs=4, **opts)
    first = _net("cross_entropy", dtype)
    first.fit(X, y, epochs=2, **opts)
    first.save(tmp_path / "half.npz")
    resumed = mlpfast.load(tmp_path / "half.npz")
    assert resumed.optimizer.t == first.optimizer.t == 2 * 7     # ceil(50 / 8) steps an epoch
    resumed.fit(X, y, epochs=2, **opts)
    for a, b in zip(straight.params, resumed.params):
        np.testing.assert_array_equal(a, b)
    assert resumed.rng.bit_generator.state == straight.rng.bit_generator.state


@pytest.mark.parametrize("backend", ["native", "python"])
@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_pickle_and_deepcopy_carry_the_model_file(backend, protocol):
    """An MLP pickles (joblib, multiprocessing) and deep-copies as its model file plus
    the backend asked for; before, both failed ('cannot pickle module')."""
    X, y = _data("cross_entropy", n=50)
    opts = dict(batch_size=8, optimizer="adam", learning_rate=0.01)
    net = mlpfast.MLP([5, 7, 6, 3], activation=["prelu", "tanh"], l2=1e-3, seed=1,
                      backend=backend)
    net.fit(X, y, epochs=2, **opts)
    net.metadata = {"note": "pickled"}
    copies = [pickle.loads(pickle.dumps(net, protocol)), copy.deepcopy(net)]
    net.fit(X, y, epochs=1, **opts)                          # the original goes on
    for other in copies:
        assert other.kernels is net.kernels and other.metadata == {"note": "pickled"}
        assert other.optimizer.t == 2 * 7
        other.fit(X, y, epochs=1, **opts)                    # resumes exactly
        for a, b in zip(net.params, other.params):
            np.testing.assert_array_equal(a, b)
        other.params[0][:] = 0.0                             # its own buffers
    assert net.params[0].any()


def test_load_names_a_bad_backend(tmp_path):
    _, path = _saved(tmp_path)
    assert mlpfast.load(path, backend="python").kernels is mlpfast.reference
    with pytest.raises(ValueError, match="backend must be") as info:
        mlpfast.load(path, backend="cuda")
    assert not isinstance(info.value, mlpfast.ModelFormatError)


def test_resume_with_dropout_uses_saved_generator(tmp_path):
    X, y = _data("mse", n=30)
    nets = [mlpfast.MLP([5, 8, 2], loss="mse", dropout=0.3, seed=4) for _ in range(2)]
    nets[0].fit(X, y, epochs=4, batch_size=4)
    nets[1].fit(X, y, epochs=1, batch_size=4)
    nets[1].save(tmp_path / "d.npz")
    resumed = mlpfast.load(tmp_path / "d.npz")
    resumed.fit(X, y, epochs=3, batch_size=4)
    np.testing.assert_array_equal(nets[0].params[0], resumed.params[0])


def test_save_is_atomic_and_replaces(tmp_path):
    net, path = _saved(tmp_path)
    before = path.read_bytes()
    net.layers[0].b = np.ones(7)
    net.save(path)                                   # replaces the existing file
    assert path.read_bytes() != before
    np.testing.assert_array_equal(mlpfast.load(path).layers[0].b, np.ones(7, np.float32))
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]     # no temporary file left


def test_failed_save_leaves_no_temporary_file(tmp_path, monkeypatch):
    net, path = _saved(tmp_path)
    before = path.read_bytes()

    def fail_midway(f, **arrays):
        f.write(b"PK\x03\x04 partial")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(np, "savez", fail_midway)
    with pytest.raises(OSError, match="No space"):
        net.save(path)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]    # temporary file removed
    assert path.read_bytes() == before                      # the old file is intact
    missing = tmp_path / "no_such_dir" / "m.npz"
    with pytest.raises(FileNotFoundError) as info:
        net.save(missing)
    assert info.value.filename == str(missing)      # the file asked for, not a temporary one


def test_save_writes_beside_the_target_then_renames(tmp_path, monkeypatch):
    """The temporary file lies in the target's folder, whatever the working folder:
    os.replace is atomic only within one file system."""
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(elsewhere)
    renames = []
    real_replace = os.replace

    def spy(src, dst):
        renames.append((os.path.dirname(os.path.abspath(src)), os.fspath(dst)))
        real_replace(src, dst)
    monkeypatch.setattr(os, "replace", spy)
    net = _net("mse")
    net.save(tmp_path / "out" / "m.npz")
    assert renames == [(str(tmp_path / "out"), str(tmp_path / "out" / "m.npz"))]
    assert os.listdir(elsewhere) == []


def _rewrite(path, out, change):
    """Copy the npz at `path` to `out` with `change(dict of arrays)` applied."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    np.savez(out, **arrays)
    return out


def _load_error(path):
    with pytest.raises(mlpfast.ModelFormatError) as info:
        mlpfast.load(path)
    assert isinstance(info.value, ValueError)
    return str(info.value)


def test_bad_files_raise_model_format_error(tmp_path):
    _, good = _saved(tmp_path)
    data = good.read_bytes()

    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    assert "not a readable mlpfast model file" in _load_error(tmp_path / "cut.npz")
    (tmp_path / "cut_end.npz").write_bytes(data[:-10])
    assert "not a readable mlpfast model file" in _load_error(tmp_path / "cut_end.npz")
    (tmp_path / "rand.npz").write_bytes(np.random.default_rng(0).bytes(500))
    assert "not a .npz (zip) archive" in _load_error(tmp_path / "rand.npz")
    (tmp_path / "empty.npz").write_bytes(b"")
    assert "empty file" in _load_error(tmp_path / "empty.npz")

    np.savez(tmp_path / "foreign.npz", X=np.zeros(3), y=np.ones(2))
    assert "lacks 'format'" in _load_error(tmp_path / "foreign.npz")

    newer = _rewrite(good, tmp_path / "v999.npz", lambda a: a.update(version=np.array(999)))
    message = _load_error(newer)
    assert "version 999" in message and "newer" in message
    next_version = mlpfast.io.VERSION + 1                 # the first version it cannot read
    newer = _rewrite(good, tmp_path / "vnext.npz",
                     lambda a: a.update(version=np.array(next_version)))
    assert f"version {next_version}" in _load_error(newer)

    def poison(a):
        a["params_0"] = a["params_0"].copy()
        a["params_0"][3] = np.nan
    assert "params_0 are not finite" in _load_error(_rewrite(good, tmp_path / "nan.npz", poison))

    def squash(a):
        a["params_0"] = a["params_0"][:-1]
    assert "params_0" in _load_error(_rewrite(good, tmp_path / "shape.npz", squash))

    def widen(a):                # float64 parameters for a float32 network
        a["params_0"] = a["params_0"].astype(np.float64)
    assert "params_0" in _load_error(_rewrite(good, tmp_path / "dtype.npz", widen))

    def scalar_state(a):         # would broadcast into the optimiser's state array
        a["state_0_s"] = np.array(0.5, np.float32)
    assert "state_0_s" in _load_error(_rewrite(good, tmp_path / "state.npz", scalar_state))

    def pickled(a):
        a["config"] = np.array([{"evil": 1}], dtype=object)
    message = _load_error(_rewrite(good, tmp_path / "pickle.npz", pickled))
    assert "pickle" in message.lower() or "object" in message.lower()

    def bad_json(a):
        a["config"] = np.array("{not json")
    assert "'config' is not valid JSON" in _load_error(_rewrite(good, tmp_path / "j.npz", bad_json))

    with pytest.raises(FileNotFoundError):
        mlpfast.load(tmp_path / "missing.npz")
    with pytest.raises(mlpfast.ModelFormatError, match="empty file"):
        mlpfast.load(io.BytesIO(b""))


def test_a_file_descriptor_number_is_not_a_path(tmp_path):
    """load(5) opened file descriptor 5 and closed it: another file of the process."""
    import os
    net = mlpfast.MLP([3, 4, 2], seed=0)
    with open(tmp_path / "other.bin", "wb") as other:
        fd = other.fileno()
        with pytest.raises(TypeError, match="path must be a file path"):
            mlpfast.load(fd)
        with pytest.raises(TypeError, match="path must be a file path"):
            net.save(fd)
        os.fstat(fd)                            # still open
        other.write(b"still ours")
    assert (tmp_path / "other.bin").read_bytes() == b"still ours"


def test_load_from_an_open_file(tmp_path):
    net, path = _saved(tmp_path)
    with open(path, "rb") as f:
        back = mlpfast.load(f)
    np.testing.assert_array_equal(back.params[0], net.params[0])
    back = mlpfast.load(io.BytesIO(path.read_bytes()))
    np.testing.assert_array_equal(back.params[1], net.params[1])


def test_load_never_unpickles(tmp_path, monkeypatch):
    """A pickled entry must be refused, not executed."""
    import pickle
    called = []
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: called.append(1))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: called.append(1))
    _, good = _saved(tmp_path)
    path = _rewrite(good, tmp_path / "p.npz",
                    lambda a: a.update(metadata=np.array([object()], dtype=object)))
    _load_error(path)
    assert called == []


def test_file_contents(tmp_path):
    """The file is a plain npz: format tag, version, JSON config, no object arrays."""
    _, path = _saved(tmp_path)
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        assert {"format.npy", "version.npy", "config.npy", "params_0.npy"} <= names
        for name in names:
            header = z.read(name)[:200]
            assert b"'descr': '|O'" not in header
    with np.load(path, allow_pickle=False) as z:
        assert str(z["format"]) == "mlpfast-model" and int(z["version"]) == 1
        assert json.loads(str(z["config"]))["layer_sizes"] == [5, 7, 6, 3]


def _saved_with(tmp_path, optimizer):
    """A file saved after one epoch with `optimizer`, so every state slot is non-zero."""
    net = _net("cross_entropy")
    X, y = _data("cross_entropy")
    net.fit(X, y, epochs=1, batch_size=8, optimizer=optimizer)
    path = tmp_path / f"{optimizer}.npz"
    net.save(path)
    return path


def _set_entry(key, value):
    """A `_rewrite` change filling the state array `key` with `value`."""
    def change(a):
        a[key] = np.full_like(a[key], value)
    return change


@pytest.mark.parametrize("optimizer, key, value, problem", [
    ("adam", "state_0_s", np.nan, "not finite"),
    ("adam", "state_1_r", np.inf, "not finite"),
    ("adam", "state_0_r", -1.0, "negative"),          # Adam's second moment
    ("adamw", "state_1_r", -1e-30, "negative"),
    ("rmsprop", "state_0_r", -1.0, "negative"),
    ("adagrad", "state_1_r", -1.0, "negative"),       # the accumulator of g²
    ("momentum", "state_0_v", -np.inf, "not finite"),
])
def test_bad_optimizer_state_is_refused(tmp_path, optimizer, key, value, problem):
    """Such a state loaded silently, and the next fit made every weight NaN."""
    good = _saved_with(tmp_path, optimizer)
    message = _load_error(_rewrite(good, tmp_path / "bad.npz", _set_entry(key, value)))
    assert f"state {key} is {problem}" in message


@pytest.mark.parametrize("optimizer, key", [("adam", "state_0_s"), ("momentum", "state_1_v")])
def test_negative_first_moments_still_load_and_train(tmp_path, optimizer, key):
    """Only second moments (sums of g²) must be ≥ 0; velocities and means of g may be < 0."""
    good = _saved_with(tmp_path, optimizer)
    net = mlpfast.load(_rewrite(good, tmp_path / "neg.npz", _set_entry(key, -0.5)))
    i, slot = int(key.split("_")[1]), key.split("_")[2]
    np.testing.assert_array_equal(net.optimizer.state[i][slot], -0.5)
    X, y = _data("cross_entropy")
    net.fit(X, y, epochs=1, batch_size=8, optimizer=optimizer)
    assert all(np.isfinite(p).all() for p in net.params)


def test_optimizer_state_of_another_dtype_is_refused(tmp_path):
    """float64 state for a float32 network was cast silently (1e300 would become inf)."""
    good = _saved_with(tmp_path, "adam")

    def widen(a):
        a["state_0_r"] = np.full(a["state_0_r"].shape, 1e300)
    message = _load_error(_rewrite(good, tmp_path / "wide.npz", widen))
    assert "state_0_r" in message and "float32" in message


def _set_json(key, change):
    """A `_rewrite` change applying `change` to the JSON object in entry `key`."""
    def rewrite(a):
        value = json.loads(str(a[key]))
        change(value)
        a[key] = np.array(json.dumps(value))
    return rewrite


@pytest.mark.parametrize("t", [float("inf"), float("nan"), 2 ** 70, 2 ** 62, -1, 1.5, 3.0,
                               "3", None, True])
def test_bad_step_count_is_refused(tmp_path, t):
    """t = Infinity leaked an OverflowError; 2**70, -1 and 1.5 (as 1) loaded."""
    good = _saved_with(tmp_path, "adam")
    path = _rewrite(good, tmp_path / "t.npz", _set_json("optimizer", lambda d: d.update(t=t)))
    message = _load_error(path)
    assert "'optimizer'" in message and "step count" in message and "t must be an int" in message


def test_largest_step_count_loads(tmp_path):
    good = _saved_with(tmp_path, "adam")
    t = 2 ** 62 - 1
    path = _rewrite(good, tmp_path / "t.npz", _set_json("optimizer", lambda d: d.update(t=t)))
    assert mlpfast.load(path).optimizer.t == t


@pytest.mark.parametrize("config, detail", [
    ({"name": "no_such_optimizer"}, "KeyError"),
    ({"name": "adam", "beta1": 5.0}, "beta1"),
    ({"learning_rate": 0.1}, "KeyError"),
    ([1, 2], "'config' object"),
])
def test_bad_optimizer_config_is_refused(tmp_path, config, detail):
    good = _saved_with(tmp_path, "adam")
    path = _rewrite(good, tmp_path / "c.npz",
                    _set_json("optimizer", lambda d: d.update(config=config)))
    message = _load_error(path)
    assert "entry 'optimizer'" in message and detail in message


@pytest.mark.parametrize("state", [2 ** 200, -1, "x"])
def test_bad_generator_state_is_refused(tmp_path, state):
    """A huge or negative PCG64 state leaked an OverflowError."""
    _, good = _saved(tmp_path)
    path = _rewrite(good, tmp_path / "rng.npz",
                    _set_json("rng", lambda d: d["state"].update(state=state)))
    assert "malformed generator state 'rng'" in _load_error(path)


@pytest.mark.parametrize("version", [-1, 0])
def test_unknown_older_version_is_refused(tmp_path, version):
    _, good = _saved(tmp_path)
    path = _rewrite(good, tmp_path / "v.npz", lambda a: a.update(version=np.array(version)))
    message = _load_error(path)
    assert f"version {version} is unknown" in message
