"""Two builds of mlpfast, side by side on one machine: their medians of paired ratios.

    python bench/ab_builds.py gemm OLD NEW [--threads 2] [--rounds 16] [--config wide]
                                           [--dtype float64] [--simd avx2]
    python bench/ab_builds.py train OLD NEW [--config small] [--threads 2] [--rounds 6]
                                            [--seconds 2]

OLD and NEW are source trees built in place (``python setup.py build_ext
--inplace``), for example a ``git worktree`` of the commit before a change.
``gemm`` loads both trees' ``_linalg`` into one process and times the three
products of the config's largest layer (``peers.gemm_products``) alternately,
about 20 ms a turn; ``train`` runs one process per build per round, each
reporting its median step over ``seconds`` of epochs of ``bench/peers.py``'s
mlpfast side.  Turns alternate, so both builds share the host's load; each
round's ratio is NEW's speed over OLD's (> 1: NEW faster).  (``step ROOT ROOT`` is
``train``'s turn: one process timing the build in ROOT.)
"""
import argparse
import glob
import importlib.machinery
import importlib.util
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peers  # noqa: E402


def _load_linalg(root):
    """The _linalg extension built in root, as a module of its own."""
    paths = glob.glob(os.path.join(root, "mlpfast", "_linalg.*.so"))
    if not paths:
        sys.exit(f"ab_builds: no built mlpfast/_linalg in {root} (build it in place first)")
    loader = importlib.machinery.ExtensionFileLoader("mlpfast._linalg", paths[0])
    spec = importlib.util.spec_from_file_location("mlpfast._linalg", paths[0], loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def _paired(turn_old, turn_new, rounds):
    """Speeds of alternating turns (the order swapped every round) and NEW/OLD ratios."""
    old, new = [], []
    for r in range(rounds):
        for turn, out in ([(turn_old, old), (turn_new, new)] if r % 2
                          else [(turn_new, new), (turn_old, old)]):
            out.append(turn())
    return old, new, [b / a for a, b in zip(old, new)]


def gemm(args):
    mods = [_load_linalg(args.old), _load_linalg(args.new)]
    if args.simd:
        for m in mods:
            m.set_simd_path(args.simd)
    rng = np.random.default_rng(0)
    dtype = np.dtype(args.dtype)
    for label, M, N, K, ta, tb in peers.gemm_products():
        if not label.startswith(args.config):
            continue
        A = rng.uniform(-1, 1, (K, M) if ta else (M, K)).astype(dtype)
        B = rng.uniform(-1, 1, (N, K) if tb else (K, N)).astype(dtype)
        C = np.empty((M, N), dtype)

        def turn_of(m):
            m.gemm(C, A, B, ta, tb, False, args.threads)          # warm
            start = time.perf_counter()
            m.gemm(C, A, B, ta, tb, False, args.threads)
            reps = max(1, int(0.02 / (time.perf_counter() - start)))

            def turn():
                start = time.perf_counter()
                for _ in range(reps):
                    m.gemm(C, A, B, ta, tb, False, args.threads)
                return 2.0 * M * N * K * reps / (time.perf_counter() - start) / 1e9
            return turn
        old, new, ratios = _paired(turn_of(mods[0]), turn_of(mods[1]), args.rounds)
        print(f"{label:14s} {M}x{N}x{K}  GFLOP/s old {statistics.median(old):.0f}  "
              f"new {statistics.median(new):.0f}  new/old median {statistics.median(ratios):.3f}"
              f" (range {min(ratios):.3f}-{max(ratios):.3f})")


def step(args):
    """(Run in its own process by `train`.)  Print the median µs per train step of the
    build in args.old (the tree to import mlpfast from)."""
    sys.path.insert(0, os.path.abspath(args.old))
    import mlpfast
    mlpfast.set_num_threads(args.threads)
    X, y = peers.make_data(args.config)
    batch = args.batch or peers.CONFIGS[args.config][1]
    steps = -(-len(X) // batch)
    epoch = peers.mlpfast_epoch(peers.mlpfast_net(args.config), X, y, batch)
    print(peers.median_step_us(epoch, steps, args.seconds))


def _step_us(root, args):
    """Median µs per train step of the build in root, timed in a fresh process."""
    batch = peers.CONFIGS[args.config][1]
    return peers.steps_at_once(args.config, args.threads, batch, 1, args.seconds, root)[0]


def train(args):
    def turn_of(root):
        return lambda: 1e6 / _step_us(root, args)
    old, new, ratios = _paired(turn_of(args.old), turn_of(args.new), args.rounds)
    print(f"train {args.config}, {args.threads} threads: µs/step old "
          f"{1e6 / statistics.median(old):.1f}  new {1e6 / statistics.median(new):.1f}  "
          f"old/new time median {statistics.median(ratios):.3f} "
          f"(range {min(ratios):.3f}-{max(ratios):.3f})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["gemm", "train", "step"])
    parser.add_argument("old", help="source tree of the first build")
    parser.add_argument("new", help="source tree of the second build")
    parser.add_argument("--config", default=None, help="tiny, small, mnist, wide or square")
    parser.add_argument("--threads", type=int, default=peers.THREADS)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--dtype", default="float32", help="gemm: float32 or float64")
    parser.add_argument("--simd", default=None, help="gemm: force generic, avx2 or avx512")
    parser.add_argument("--seconds", type=float, default=2.0, help="train: per turn; step: timed")
    parser.add_argument("--batch", type=int, default=None, help="step: instead of the config's")
    args = parser.parse_args(argv)
    if args.what == "gemm":
        args.config = args.config or "wide"
        args.rounds = args.rounds or 16
        gemm(args)
    elif args.what == "step":
        step(args)
    else:
        args.config = args.config or "small"
        args.rounds = args.rounds or 6
        train(args)


if __name__ == "__main__":
    main()
