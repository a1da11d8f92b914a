"""What a second core can give mlpfast's training step on this machine.

    python bench/scaling.py [ROOT] [--config mnist] [--rounds 3] [--seconds 2]

Each round times, in fresh processes (``ab_builds.py step``) of the build in ROOT
(default: this checkout), the median µs per step of one thread's training alone
(``solo``), two such trainings at once (``pair``, one per core), two trainings of
half batches at once (``halves``), and one training on two threads (``two``).  It
prints, per round and as medians over the rounds:

* ``2·solo/pair``: how far two cores' throughput goes on independent work (2.0
  when they share nothing, e.g. memory bandwidth, turbo headroom or a host);
* ``solo/halves``: the 2-vs-1 speed-up of a data-parallel step with nothing
  spent on exchange and reduction (each core half the batch and the full update;
  the slower of the two);
* ``solo/two``: the 2-vs-1 speed-up the engine reaches (the bench's `threads`
  group).
"""
import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peers  # noqa: E402


def _at_once(args, threads, batch, copies):
    return peers.steps_at_once(args.config, threads, batch, copies, args.seconds, args.root)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default=os.path.dirname(HERE),
                        help="source tree of the build (built in place)")
    parser.add_argument("--config", default="mnist", choices=sorted(peers.CONFIGS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0, help="per timing process")
    args = parser.parse_args(argv)
    batch = peers.CONFIGS[args.config][1]
    ratios = {"2·solo/pair": [], "solo/halves": [], "solo/two": []}
    for r in range(args.rounds):
        solo, = _at_once(args, 1, batch, 1)
        pair = statistics.mean(_at_once(args, 1, batch, 2))
        # a data-parallel step waits for the slower half
        halves = max(_at_once(args, 1, batch // 2, 2))
        two, = _at_once(args, 2, batch, 1)
        for key, value in (("2·solo/pair", 2 * solo / pair), ("solo/halves", solo / halves),
                           ("solo/two", solo / two)):
            ratios[key].append(value)
        print(f"round {r + 1}: µs/step solo {solo:.1f}  pair {pair:.1f}  halves {halves:.1f}  "
              f"two threads {two:.1f}  |  " + "  ".join(f"{k} {v[-1]:.2f}"
                                                         for k, v in ratios.items()))
    print(f"{args.config}, medians of {args.rounds} rounds: " +
          "  ".join(f"{k} {statistics.median(v):.2f}" for k, v in ratios.items()))


if __name__ == "__main__":
    main()
