"""The command line: ``python -m mlpfast [train|predict|info]``.

Why: a user with a CSV file should get a trained model and predictions
without writing Python.  Without a subcommand it runs a short demonstration
on the bundled digits and reports accuracy and speed.

Everything a prediction needs besides the network travels in the model file
as ``net.metadata`` (JSON): feature names in training order, the feature
standardisation, the target name, the class names, the task, and for
regression the target's own standardisation (the network learns a target of
mean 0 and standard deviation 1; predictions are mapped back).

Errors a user can fix (a bad file, column, cell or option) print one line,
``mlpfast: error: ...``, to stderr and exit with status 2; no traceback.
"""
import argparse
import contextlib
import csv
import os
import sys
import time

import numpy as np

import mlpfast
from . import csvdata, losses, optimizers
from ._kernel_checks import ACTIVATIONS, ALIASES

PROG = "mlpfast"
TASKS = {"auto": "auto", "classify": "classes", "regress": "values"}


class UsageError(Exception):
    """A problem the user can fix; ``main`` prints it on one line and returns 2."""


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except for flags and options without one."""

    def _get_help_string(self, action):
        if action.default in (None, False, argparse.SUPPRESS):
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting, so that a
    bad option is one line like every other error."""

    def error(self, message):
        raise UsageError(message)


# ------------------------------------------------------------------ demo (no subcommand)
def demo():
    """Train on the bundled digits and print data, network, build, accuracy and speed."""
    from .datasets import load_digits, train_test_split
    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_fraction=0.25, seed=0)
    epochs, batch, lr = 30, 64, 2e-3
    net = mlpfast.MLP([64, 256, 128, 10], activation="relu", seed=0)
    info = mlpfast.build_info()
    print(f"mlpfast {mlpfast.__version__}: digits demo")
    print(f"data:      {len(X)} handwritten digits, 8x8 pixels scaled to [0, 1], 10 classes; "
          f"{len(X_train)} train / {len(X_test)} test")
    print(f"network:   {net.layer_sizes}, relu, softmax cross-entropy, {net.dtype.name}")
    print(f"backend:   {info['backend']} (native: {info['native']}, openmp: {info['openmp']}, "
          f"simd: {info['simd']}, threads: {info['num_threads']})")
    print(f"training:  adam, learning rate {lr}, {epochs} epochs, batch size {batch}")
    t0 = time.perf_counter()
    net.fit(X_train, y_train, epochs=epochs, batch_size=batch, learning_rate=lr)
    seconds = time.perf_counter() - t0
    print(f"test accuracy: {net.score(X_test, y_test):.4f}")
    print(f"training time: {seconds:.2f} s ({len(X_train) * epochs / seconds:,.0f} samples/s)")
    return 0


# ------------------------------------------------------------------ train
def _layers(text):
    """'64,32' -> [64, 32]; '' -> [] (no hidden layer)."""
    try:
        sizes = [int(s) for s in text.split(",")] if text.strip() else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated sizes like 64,32, "
                                         f"got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be >= 1, got {text!r}")
    return sizes


def _checked(cast, ok, what):
    """An argparse type: `cast(text)`, which must satisfy `ok` (described by `what`)."""
    def parse(text):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {cast.__name__} {what}, "
                                             f"got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value
    return parse


POSITIVE_INT = _checked(int, lambda v: v > 0, "> 0")
POSITIVE = _checked(float, lambda v: 0 < v < float("inf"), "> 0")
NON_NEGATIVE = _checked(float, lambda v: 0 <= v < float("inf"), ">= 0")
FRACTION = _checked(float, lambda v: 0 <= v < 1, "in [0, 1)")


def _choose_loss(requested, table):
    """The loss for --loss and the target read from the file."""
    classify = table.classes is not None
    loss = requested if requested != "auto" else ("cross_entropy" if classify else "mse")
    if loss == "mse" and classify:
        raise UsageError(f"--loss mse needs a numeric target; column {table.target_name!r} "
                         "holds classes (use --task regress for integer values)")
    if loss != "mse" and not classify:
        raise UsageError(f"--loss {loss} needs a class target; column {table.target_name!r} "
                         "holds numbers (use --task classify for integer labels)")
    if classify and len(table.classes) != 2 and (loss == "binary_cross_entropy"
                                                 or len(table.classes) < 2):
        raise UsageError(f"--loss {loss} needs {'exactly' if len(table.classes) > 2 else 'at least'}"
                         f" 2 classes; column {table.target_name!r} has {table.classes}")
    return loss


def _split(n, fraction, seed):
    """(train rows, validation rows): a seeded random `fraction` of n rows held out."""
    if not fraction:
        return np.arange(n), None
    n_val = int(round(fraction * n))
    if not 1 <= n_val < n:
        raise UsageError(f"--validation-fraction {fraction:g} of {n} rows leaves "
                         f"{n_val} validation and {n - n_val} training rows; need >= 1 of each")
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def train(args):
    """Read, split, standardise (fitted on the training rows), train, report, save."""
    if args.early_stopping and not args.validation_fraction:
        raise UsageError("--early-stopping needs --validation-fraction > 0")
    if not os.path.isdir(os.path.dirname(os.path.abspath(args.out))):
        raise UsageError(f"--out {args.out}: its folder does not exist")
    table = csvdata.read_csv(args.data, target=args.target, target_kind=TASKS[args.task])
    loss = _choose_loss(args.loss, table)
    classify = table.classes is not None
    train_rows, val_rows = _split(len(table.features), args.validation_fraction, args.seed)
    scaler = csvdata.Standardizer().fit(table.features[train_rows])
    X, y, target_scaler = scaler.transform(table.features), table.target, None
    if not classify:            # learn a standardised target; predict maps it back
        target_scaler = csvdata.Standardizer().fit(y[train_rows, None])
        y = target_scaler.transform(y[:, None])
    n_out = len(table.classes) if loss == "cross_entropy" else 1
    net = mlpfast.MLP([X.shape[1], *args.layers, n_out], activation=args.activation, loss=loss,
                      dtype=args.dtype, l2=args.l2, dropout=args.dropout, seed=args.seed)
    kind = f"{len(table.classes)} classes" if classify else "values"
    print(f"data: {args.data}: {X.shape[0]} rows ({len(train_rows)} training), "
          f"{X.shape[1]} features, target {table.target_name!r} ({kind})")
    print(f"network: {net.layer_sizes}, {args.activation}, {loss}, {net.dtype.name}")
    validation = None if val_rows is None else (X[val_rows], y[val_rows])
    t0 = time.perf_counter()
    history = net.fit(X[train_rows], y[train_rows], epochs=args.epochs,
                      batch_size=args.batch_size, optimizer=args.optimizer,
                      learning_rate=args.lr, validation_data=validation,
                      early_stopping=args.early_stopping, verbose=args.verbose)
    seconds = time.perf_counter() - t0
    metric = "accuracy" if classify else "R2"
    stop = (f"; stopped early, weights of epoch {history.best_epoch + 1} restored"
            if history.stopped_early else "")
    print(f"trained {history.epochs} epoch{'s' * (history.epochs != 1)} in {seconds:.2f} s{stop}")
    print(f"training:   loss {history.loss[-1]:.4f}, {metric} "
          f"{net.score(X[train_rows], y[train_rows]):.4f}")
    if validation is not None:
        best = history.best_epoch if args.early_stopping else None
        val_loss = history.val_loss[-1 if best is None else best]
        print(f"validation: loss {val_loss:.4f}, {metric} {net.score(*validation):.4f} "
              f"({len(val_rows)} rows)")
    net.metadata = {
        "cli": 1, "task": "classify" if classify else "regress",
        "features": table.feature_names, "target": table.target_name,
        "classes": table.classes, "standardizer": scaler.to_dict(),
        "target_standardizer": None if classify else target_scaler.to_dict()}
    net.save(args.out)
    print(f"saved model to {args.out}")
    return 0


# ------------------------------------------------------------------ predict
def _header(path):
    """The stripped header cells, or None when the file cannot be read (read_csv
    then reports the problem properly)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            for cells in csv.reader(f):
                if any(c.strip() for c in cells):
                    return [c.strip() for c in cells]
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return None


def _metadata(net, path):
    meta = getattr(net, "metadata", None) or {}
    needed = {"task", "features", "target", "classes", "standardizer", "target_standardizer"}
    if not isinstance(meta, dict) or not needed <= set(meta):
        raise UsageError(f"{path}: model has no feature names or scaling; it was not written "
                         "by 'python -m mlpfast train'")
    return meta


def predict(args):
    """Load, check the columns by name, standardise, predict, print or write."""
    try:
        net = mlpfast.load(args.model)
    except FileNotFoundError:
        raise UsageError(f"{args.model}: no such model file") from None
    meta = _metadata(net, args.model)
    classify = meta["task"] == "classify"
    if args.proba and not classify:
        raise UsageError("--proba needs a classification model; this one predicts values")
    header = _header(args.data) or []
    target = meta["target"] if meta["target"] in header else None
    features = meta["features"]
    present = [c for c in header if c != target]
    missing = [c for c in features if c not in present] if header else []
    extra = [c for c in present if c not in features]
    if missing:
        raise UsageError(f"{args.data}: missing feature column(s) "
                         f"{', '.join(map(repr, missing))} that the model was trained on")
    if extra:
        raise UsageError(f"{args.data}: unknown column(s) {', '.join(map(repr, extra))}; "
                         f"the model uses {', '.join(map(repr, features))}"
                         f" and target {meta['target']!r}")
    table = csvdata.read_csv(args.data, target=target)
    order = [table.feature_names.index(c) for c in features]
    X = csvdata.Standardizer.from_dict(meta["standardizer"]).transform(table.features[:, order])
    X = X.astype(net.dtype)
    header_out = [meta["target"]]
    if classify:
        classes = meta["classes"]
        values = [classes[i] for i in net.predict(X)]
        rows = [[str(v)] for v in values]
        if args.proba:
            header_out += [f"p_{c}" for c in classes]
            for row, p in zip(rows, net.predict_proba(X)):
                row += [f"{q:.6g}" for q in p]
    else:
        scaler = csvdata.Standardizer.from_dict(meta["target_standardizer"])
        values = scaler.inverse_transform(net.predict(X).astype(np.float64).reshape(-1, 1))[:, 0]
        rows = [[repr(float(v))] for v in values]
    with (open(args.out, "w", newline="", encoding="utf-8") if args.out
          else contextlib.nullcontext(sys.stdout)) as out:
        csv.writer(out, lineterminator="\n").writerows([header_out, *rows])
    if args.out:
        print(f"wrote {len(rows)} predictions to {args.out}")
    return 0


def info(args):
    """Print build_info(), one key a line."""
    for key, value in mlpfast.build_info().items():
        print(f"{key}: {value}")
    return 0


# ------------------------------------------------------------------ parser and main
def build_parser():
    """The argparse parser for every subcommand (also documents every option)."""
    parser = _Parser(prog=PROG, description="Multilayer perceptrons on the CPU. Without a "
                     "command: train on the bundled digits and report accuracy and speed.")
    sub = parser.add_subparsers(dest="command", metavar="{train,predict,info}")
    t = sub.add_parser("train", help="train a network on a CSV file and save it",
                       formatter_class=_Help, description="Train on a CSV file (header row; "
                       "numeric feature columns; the target holds numbers or class names). "
                       "Features are standardised; the scaling is stored in the model.")
    t.add_argument("data", help="CSV file to train on")
    t.add_argument("--target", required=True, metavar="COLUMN", help="name of the target column")
    t.add_argument("--task", choices=list(TASKS), default="auto", help="classify or regress; "
                   "auto: integers and text are classes, other numbers are values")
    t.add_argument("--layers", type=_layers, default="64,64", metavar="SIZES",
                   help="hidden layer sizes, comma-separated ('' for none)")
    t.add_argument("--activation", choices=sorted(ACTIVATIONS) + sorted(ALIASES),
                   default="relu", metavar="NAME", help="hidden-layer activation: "
                   + ", ".join(sorted(ACTIVATIONS) + sorted(ALIASES)))
    t.add_argument("--loss", choices=["auto", *sorted(losses.LOSSES)], default="auto",
                   help="auto: cross_entropy for classes, mse for values")
    t.add_argument("--epochs", type=POSITIVE_INT, default=50, help="passes over the data")
    t.add_argument("--batch-size", type=POSITIVE_INT, default=32, help="rows per update")
    t.add_argument("--optimizer", choices=sorted(optimizers.OPTIMIZERS), default="adam",
                   help="update rule")
    t.add_argument("--lr", type=POSITIVE, default=1e-3, help="learning rate")
    t.add_argument("--l2", type=NON_NEGATIVE, default=0.0, help="L2 penalty on the weights")
    t.add_argument("--dropout", type=FRACTION, default=0.0, help="hidden-unit drop rate")
    t.add_argument("--seed", type=int, default=0, help="seed of init, shuffling and split")
    t.add_argument("--validation-fraction", type=FRACTION, default=0.1,
                   help="share of rows held out for validation (0: none)")
    t.add_argument("--early-stopping", action="store_true",
                   help="stop when the validation loss stops improving; keep the best weights")
    t.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                   help="precision of the network")
    t.add_argument("--out", default="model.npz", help="model file to write")
    t.add_argument("--verbose", action="store_true", help="report every epoch")
    p = sub.add_parser("predict", help="predict with a saved model", formatter_class=_Help,
                       description="Predict for the rows of a CSV file with the feature columns "
                       "of training (any order; the target column may be present).")
    p.add_argument("model", help="model file written by 'train'")
    p.add_argument("data", help="CSV file with the feature columns")
    p.add_argument("--out", help="write the predictions to this CSV file instead of stdout")
    p.add_argument("--proba", action="store_true",
                   help="also write one probability column per class (classification)")
    sub.add_parser("info", help="show how mlpfast was built",
                   description="Print mlpfast.build_info(): backend, OpenMP, SIMD, threads.")
    return parser


def main(argv=None):
    """Run the command line with `argv` (default sys.argv[1:]); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser().parse_args(argv)
        command = {"train": train, "predict": predict, "info": info}.get(args.command)
        return command(args) if command else demo()
    except SystemExit as exc:          # --help prints and exits 0
        return exc.code if isinstance(exc.code, int) else 0
    except (UsageError, csvdata.CSVError, mlpfast.ModelFormatError, mlpfast.TrainingDiverged,
            ValueError, OSError, MemoryError) as exc:
        if isinstance(exc, OSError) and exc.strerror and exc.filename:
            exc = f"{exc.filename}: {exc.strerror}"
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
