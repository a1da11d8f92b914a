"""The distance between the two cores against mlpfast's training step, sample by sample.

    python bench/placement.py [--config small] [--samples 20] [--seconds 0.2]
                              [--far-ns 250] [--quiet]

Each sample first runs bench/round_trip.c (built once with the C compiler `cc`):
the nanoseconds of a cache-line round trip between two threads, which tells where
the host has put the two cores at that moment.  Then it times the config's epochs
(bench/peers.py's mlpfast side, 2 threads, one network per way) for `seconds` each
way, in an order that turns around every sample: the half-split runs forced onto
two threads, forced onto one, and paced (the engine's own choice, Pace in
csrc/pace.pxd); it prints the median µs a step of each and whether paced ended
on one thread.  The summary splits the samples at a round trip of --far-ns and
gives each part's medians and its median ratio two / paced per sample.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peers  # noqa: E402

import mlpfast  # noqa: E402
from mlpfast import _engine  # noqa: E402

MODES = [("two", 2), ("one", 1), ("paced", 0)]
USE_ONE = _engine.PACE_FIELDS.index("use_one")


def build_round_trip(folder):
    exe = os.path.join(folder, "round_trip")
    subprocess.run(["cc", "-O2", "-pthread", os.path.join(HERE, "round_trip.c"), "-o", exe],
                   check=True)
    return exe


def sample(exe, nets, epochs, steps, seconds, reverse):
    """[round trip ns, µs a step for each of MODES, paced ended on one thread]."""
    trip = float(subprocess.run([exe], capture_output=True, text=True, check=True).stdout)
    times = {}
    try:
        for name, mode in (MODES[::-1] if reverse else MODES):
            _engine.force_threads(mode)
            times[name] = peers.median_step_us(epochs[name], steps, seconds)
    finally:
        _engine.force_threads(0)
    return [trip] + [times[name] for name, _ in MODES] + [nets["paced"]._work["pace"][USE_ONE]]


def summary(rows, far_ns):
    for label, part in (("near", [r for r in rows if r[0] < far_ns]),
                        ("far", [r for r in rows if r[0] >= far_ns])):
        if not part:
            continue
        med = [statistics.median(r[i] for r in part) for i in range(len(MODES) + 1)]
        ratio = statistics.median(r[1] / r[3] for r in part)
        on_one = sum(r[-1] for r in part) / len(part)
        print(f"{label}: {len(part)} samples, round trip {med[0]:.0f} ns; µs a step "
              + ", ".join(f"{name} {m:.1f}" for (name, _), m in zip(MODES, med[1:]))
              + f"; two / paced {ratio:.3f}; paced ended on one thread in {on_one:.0%}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="small", choices=sorted(peers.CONFIGS))
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=0.2)
    parser.add_argument("--far-ns", type=float, default=250.0)
    parser.add_argument("--quiet", action="store_true", help="only the summary")
    args = parser.parse_args()
    _, batch, _, steps = peers.CONFIGS[args.config]
    X, y = peers.make_data(args.config)
    mlpfast.set_num_threads(2)
    nets = {name: peers.mlpfast_net(args.config) for name, _ in MODES}
    epochs = {name: peers.mlpfast_epoch(net, X, y, batch) for name, net in nets.items()}
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        exe = build_round_trip(folder)
        if not args.quiet:
            print(f"{args.config}: round trip ns; µs a step "
                  + ", ".join(name for name, _ in MODES) + "; paced on one thread")
        for k in range(args.samples):
            rows.append(sample(exe, nets, epochs, steps, args.seconds, k % 2 == 1))
            if not args.quiet:
                print(" ".join(f"{v:8.1f}" for v in rows[-1][:-1]), int(rows[-1][-1]),
                      flush=True)
    summary(rows, args.far_ns)


if __name__ == "__main__":
    main()
