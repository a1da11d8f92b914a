"""The command line: the digits demo, train and predict on CSV files (the
predictions must be exactly what the saved network gives on the stored
standardisation), --help, and one-line errors with exit status 2."""
import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mlpfast
from mlpfast import cli, csvdata
from mlpfast.cli import main

ROOT = Path(__file__).resolve().parents[1]


def subprocess_env():
    """The environment for `python -m mlpfast` subprocesses.

    OMP_WAIT_POLICY=passive: on an oversubscribed machine (CI runners, shared
    hosts) libgomp's default spin-waiting made 2-thread training 10-50x slower
    than 1 thread; results do not depend on it (kernels are thread-invariant).
    """
    return {**os.environ, "OMP_WAIT_POLICY": "passive"}


def run(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "mlpfast", *args], cwd=ROOT, env=subprocess_env(),
                          capture_output=True, text=True, timeout=timeout)


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    return path


@pytest.fixture
def class_csv(tmp_path):
    """Two features on very different scales; the class name depends on both."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2)) * [1.0, 100.0] + [5.0, -300.0]
    label = np.where((X[:, 0] - 5) + (X[:, 1] + 300) / 100 > 0, "spam", "ham")
    label[X[:, 0] - 5 < -0.8] = "eggs"                   # a third class
    rows = [[f"{a:.6f}", name, f"{b:.4f}"] for (a, b), name in zip(X, label)]
    return write_csv(tmp_path / "train.csv", ["x1", "kind", "x2"], rows), X, label


@pytest.fixture
def value_csv(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(150, 3))
    y = 1000 + 300 * X[:, 0] - 200 * X[:, 1] ** 2 + X[:, 2]
    rows = [[f"{v:.6f}" for v in (*x, t)] for x, t in zip(X, y)]
    return write_csv(tmp_path / "reg.csv", ["a", "b", "c", "price"], rows), X, y


def one_error_line(capsys, argv):
    """Run main(argv) in-process; it must return 2 with one stderr line."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlpfast: error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_demo_reaches_97_percent():
    result = run()
    assert result.returncode == 0, result.stderr
    accuracy = float(re.search(r"test accuracy: ([0-9.]+)", result.stdout).group(1))
    assert accuracy >= 0.97
    rate = float(re.search(r"\(([0-9,]+) samples/s\)", result.stdout).group(1).replace(",", ""))
    assert rate > 0
    for word in ("backend:", "openmp:", "simd:", "threads:", "[64, 256, 128, 10]"):
        assert word in result.stdout


def test_train_predict_classes(tmp_path, class_csv, capsys):
    path, X, label = class_csv
    model = tmp_path / "m.npz"
    assert main(["train", str(path), "--target", "kind", "--layers", "16",
                 "--epochs", "100", "--lr", "0.01", "--batch-size", "16",
                 "--out", str(model), "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "3 classes" in out and f"saved model to {model}" in out
    train_acc = float(re.search(r"training: .*accuracy ([0-9.]+)", out).group(1))
    assert train_acc > 0.9

    net = mlpfast.load(model)
    meta = net.metadata
    assert meta["features"] == ["x1", "x2"] and meta["target"] == "kind"
    assert meta["classes"] == ["eggs", "ham", "spam"] and meta["task"] == "classify"
    scaler = csvdata.Standardizer.from_dict(meta["standardizer"])
    assert abs(scaler.mean[1] + 300) < 30 and abs(scaler.scale[1] - 100) < 20

    # predict on the columns in another order, without the target, with probabilities
    query = write_csv(tmp_path / "q.csv", ["x2", "x1"], [[f"{b:.4f}", f"{a:.6f}"] for a, b in X])
    preds = tmp_path / "p.csv"
    assert main(["predict", str(model), str(query), "--out", str(preds), "--proba"]) == 0
    assert capsys.readouterr().out == f"wrote 120 predictions to {preds}\n"
    with open(preds) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["kind", "p_eggs", "p_ham", "p_spam"]
    features = np.array([[float(f"{a:.6f}"), float(f"{b:.4f}")] for a, b in X])
    expected = net.predict(scaler.transform(features).astype(np.float32))
    assert [r[0] for r in rows[1:]] == [meta["classes"][i] for i in expected]
    proba = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-4)
    np.testing.assert_array_equal(proba.argmax(axis=1), expected)
    # the training file itself (target column present) gives the same classes on stdout
    assert main(["predict", str(model), str(path)]) == 0
    assert capsys.readouterr().out.split() == [r[0] for r in rows]


def test_train_predict_values(tmp_path, value_csv, capsys):
    path, X, y = value_csv
    model = tmp_path / "reg.npz"
    assert main(["train", str(path), "--target", "price", "--layers", "32,32", "--epochs", "80",
                 "--lr", "3e-3", "--out", str(model), "--dtype", "float64",
                 "--early-stopping", "--validation-fraction", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "(values)" in out and "mse" in out
    r2 = float(re.search(r"training: .*R2 ([0-9.-]+)", out).group(1))
    assert r2 > 0.9
    assert re.search(r"validation: loss [0-9.]+, R2 [0-9.-]+ \(30 rows\)", out)

    net = mlpfast.load(model)
    meta = net.metadata
    assert meta["task"] == "regress" and meta["classes"] is None
    assert main(["predict", str(model), str(path)]) == 0
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert rows[0] == ["price"] and len(rows) == 151
    got = np.array([float(r[0]) for r in rows[1:]])
    scaler = csvdata.Standardizer.from_dict(meta["standardizer"])
    target = csvdata.Standardizer.from_dict(meta["target_standardizer"])
    features = csvdata.read_csv(path, target="price").features
    expected = target.inverse_transform(net.predict(scaler.transform(features)).reshape(-1, 1))
    np.testing.assert_array_equal(got, expected[:, 0])       # written with repr: exact
    assert 1 - np.sum((got - y) ** 2) / np.sum((y - y.mean()) ** 2) > 0.9


@pytest.mark.parametrize("command", [[], ["train"], ["predict"], ["info"]])
def test_help_documents_every_option(command, capsys):
    assert main([*command, "--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: mlpfast")
    expected = {"train": ["--target", "--task", "--layers", "--activation", "--loss", "--epochs",
                          "--batch-size", "--optimizer", "--lr", "--l2", "--dropout", "--seed",
                          "--validation-fraction", "--early-stopping", "--dtype", "--out",
                          "--verbose"],
                "predict": ["model", "data", "--out", "--proba"],
                "info": ["build_info"]}.get(command[0] if command else None, ["train", "predict"])
    for option in expected:
        assert option in text


def test_help_in_a_subprocess():
    result = run("train", "--help", timeout=60)
    assert result.returncode == 0 and "--validation-fraction" in result.stdout


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    info = mlpfast.build_info()
    assert f"backend: {info['backend']}\n" in out and f"openmp: {info['openmp']}\n" in out


def test_errors_are_one_line_with_status_2(tmp_path, class_csv, capsys):
    path, X, _ = class_csv
    missing = one_error_line(capsys, ["train", str(tmp_path / "nope.csv"), "--target", "kind"])
    assert "nope.csv: no such file" in missing
    unknown = one_error_line(capsys, ["train", str(path), "--target", "colour"])
    assert "no column 'colour'" in unknown and "'x1', 'kind', 'x2'" in unknown
    bad = write_csv(tmp_path / "bad.csv", ["x1", "kind", "x2"],
                    [["1", "ham", "2"], ["3", "spam", "four"], ["5", "ham", "6"]])
    cell = one_error_line(capsys, ["train", str(bad), "--target", "kind"])
    assert "row 3, column 'x2'" in cell and "'four'" in cell
    assert "--lr" in one_error_line(capsys, ["train", str(path), "--target", "kind", "--lr", "0"])
    assert "--bogus" in one_error_line(capsys, ["train", str(path), "--target", "kind",
                                                "--bogus"])
    assert "--target" in one_error_line(capsys, ["train", str(path)])
    assert "exactly 2 classes" in one_error_line(
        capsys, ["train", str(path), "--target", "kind", "--loss", "binary_cross_entropy"])
    assert "needs a numeric target" in one_error_line(
        capsys, ["train", str(path), "--target", "kind", "--loss", "mse"])
    folder = one_error_line(capsys, ["train", str(path), "--target", "kind",
                                     "--out", str(tmp_path / "no" / "m.npz")])
    assert "its folder does not exist" in folder
    huge = one_error_line(capsys, ["train", str(path), "--target", "kind", "--layers",
                                   "99999999999999"])      # a traceback before
    assert "layer_sizes" in huge and "more than can be allocated" in huge

    model = tmp_path / "m.npz"
    assert main(["train", str(path), "--target", "kind", "--epochs", "1", "--out",
                 str(model)]) == 0
    capsys.readouterr()
    part = write_csv(tmp_path / "part.csv", ["x1"], [["1"], ["2"]])
    assert "missing feature column(s) 'x2'" in one_error_line(
        capsys, ["predict", str(model), str(part)])
    extra = write_csv(tmp_path / "extra.csv", ["x1", "x2", "x3"], [["1", "2", "3"]] * 2)
    assert "unknown column(s) 'x3'" in one_error_line(capsys, ["predict", str(model), str(extra)])
    assert "no such model file" in one_error_line(
        capsys, ["predict", str(tmp_path / "none.npz"), str(path)])
    assert "not an mlpfast model file" in one_error_line(capsys, ["predict", str(path), str(path)])
    assert "required: data" in one_error_line(capsys, ["predict", str(model)])


@pytest.mark.parametrize("option,value", [
    ("--layers", "64,0"), ("--layers", "a"), ("--epochs", "0"), ("--batch-size", "0"),
    ("--lr", "inf"), ("--l2", "-1"), ("--dropout", "1"), ("--validation-fraction", "1")])
def test_a_bad_option_value_is_named_with_the_option(class_csv, capsys, option, value):
    """Rejected by the option's own check, not later by whatever it reaches."""
    path, _, _ = class_csv
    line = one_error_line(capsys, ["train", str(path), "--target", "kind", option, value])
    assert f"argument {option}: " in line and repr(value) in line


def test_options_that_cannot_work_together(tmp_path, class_csv, value_csv, capsys):
    path, _, _ = class_csv
    assert "--early-stopping needs --validation-fraction > 0" in one_error_line(
        capsys, ["train", str(path), "--target", "kind", "--early-stopping",
                 "--validation-fraction", "0"])
    # round(0.001 * 120) = 0 validation rows
    assert "leaves 0 validation and 120 training rows" in one_error_line(
        capsys, ["train", str(path), "--target", "kind", "--validation-fraction", "0.001"])
    values, _, _ = value_csv
    model = tmp_path / "reg.npz"
    assert main(["train", str(values), "--target", "price", "--epochs", "1",
                 "--out", str(model)]) == 0
    capsys.readouterr()
    assert "--proba needs a classification model" in one_error_line(
        capsys, ["predict", str(model), str(values), "--proba"])
    folder = tmp_path / "folder"
    folder.mkdir()
    line = one_error_line(capsys, ["predict", str(model), str(values), "--out", str(folder)])
    assert line == f"mlpfast: error: {folder}: Is a directory"


def test_scaling_is_fitted_on_the_training_rows_of_the_seeded_split(tmp_path, value_csv,
                                                                     capsys):
    """Both standardisations come from the training rows only (the validation rows
    must not leak into them), and --seed moves the split."""
    path, _, _ = value_csv
    table = csvdata.read_csv(path, target="price")
    means = []
    for seed in (0, 1):
        model = tmp_path / f"s{seed}.npz"
        assert main(["train", str(path), "--target", "price", "--epochs", "1", "--seed",
                     str(seed), "--validation-fraction", "0.3", "--out", str(model)]) == 0
        meta = mlpfast.load(model).metadata
        rows, held_out = cli._split(150, 0.3, seed)
        assert len(rows) == 105 and sorted([*rows, *held_out]) == list(range(150))
        scaler = csvdata.Standardizer.from_dict(meta["standardizer"])
        target = csvdata.Standardizer.from_dict(meta["target_standardizer"])
        np.testing.assert_allclose(scaler.mean, table.features[rows].mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(scaler.scale, table.features[rows].std(axis=0), rtol=1e-12)
        np.testing.assert_allclose(target.mean, [table.target[rows].mean()], rtol=1e-12)
        np.testing.assert_allclose(target.scale, [table.target[rows].std()], rtol=1e-12)
        means.append(scaler.mean)
    assert np.abs(means[0] - means[1]).max() > 1e-3
    capsys.readouterr()


def test_early_stopping_reports_the_restored_epoch(tmp_path, capsys):
    """Noisy targets and a large step overfit within a few epochs; the validation
    loss printed is that of the weights kept, not of the last epoch."""
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(150, 3))
    y = 1000 + 300 * X[:, 0] - 200 * X[:, 1] ** 2 + rng.normal(0, 100, 150)
    path = write_csv(tmp_path / "noisy.csv", ["a", "b", "c", "price"],
                     [[f"{v:.6f}" for v in (*x, t)] for x, t in zip(X, y)])
    model = tmp_path / "es.npz"
    assert main(["train", str(path), "--target", "price", "--layers", "64,64", "--lr", "0.01",
                 "--epochs", "300", "--batch-size", "8", "--dtype", "float64",
                 "--early-stopping", "--validation-fraction", "0.3", "--out", str(model)]) == 0
    out = capsys.readouterr().out
    stop = re.search(r"trained (\d+) epochs .*weights of epoch (\d+) restored", out)
    assert stop and int(stop.group(2)) < int(stop.group(1))
    printed = float(re.search(r"validation: loss ([0-9.]+)", out).group(1))
    net = mlpfast.load(model)
    meta = net.metadata
    table = csvdata.read_csv(path, target="price")
    _, held_out = cli._split(150, 0.3, 0)
    Xv = csvdata.Standardizer.from_dict(meta["standardizer"]).transform(table.features[held_out])
    yv = csvdata.Standardizer.from_dict(meta["target_standardizer"]).transform(
        table.target[held_out, None])
    kept, _ = net.loss_and_grads(Xv, yv)
    assert abs(printed - kept) < 1e-4


def test_dropout_reaches_the_network(tmp_path, value_csv, capsys):
    path, _, _ = value_csv
    model = tmp_path / "d.npz"
    assert main(["train", str(path), "--target", "price", "--epochs", "1", "--dropout", "0.25",
                 "--out", str(model)]) == 0
    assert mlpfast.load(model).dropout == 0.25
    capsys.readouterr()


def test_error_in_a_subprocess_has_no_traceback(tmp_path):
    result = run("train", str(tmp_path / "missing.csv"), "--target", "y", timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert result.stderr.startswith("mlpfast: error: ") and "missing.csv" in result.stderr
