"""mlpfast's threaded GEMM right after a NumPy (OpenBLAS) product, at growing gaps.

OpenBLAS's threads spin for a while after each of its calls; on a machine whose
cores are all in use by the two sides, that spin takes the core mlpfast's second
thread needs.  This prints mlpfast's GFLOP/s on one product (wide's forward, 2
threads by default) timed `gap` ms after a NumPy product, median over repeats:

    python bench/after_numpy.py
    OPENBLAS_THREAD_TIMEOUT=4 python bench/after_numpy.py   # OpenBLAS spins 2^4 cycles
    python bench/after_numpy.py --numpy-threads 1            # no OpenBLAS threads

The bench's GEMM timings warm each side for longer than that spin (GEMM_WARM_S in
test_bench_peers.py).
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from mlpfast import native  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", default="512x2048x2048", help="MxNxK of C = A B")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--numpy-threads", type=int, default=None,
                    help="cap NumPy's BLAS (threadpoolctl; default: --threads)")
    ap.add_argument("--repeats", type=int, default=6)
    ap.add_argument("--gaps", default="0,10,30,60,100,200,400", help="ms after NumPy's")
    args = ap.parse_args(argv)
    try:
        from threadpoolctl import threadpool_limits
        limiter = threadpool_limits(args.numpy_threads or args.threads,  # noqa: F841 (kept)
                                    user_api="blas")
    except ImportError:
        pass
    M, N, K = (int(x) for x in args.shape.split("x"))
    rng = np.random.default_rng(0)
    A = rng.uniform(-1, 1, (M, K)).astype(np.float32)
    B = rng.uniform(-1, 1, (K, N)).astype(np.float32)
    C = np.empty((M, N), np.float32)
    print(f"{M}x{N}x{K} float32, {args.threads} threads (NumPy's BLAS "
          f"{args.numpy_threads or args.threads}), OPENBLAS_THREAD_TIMEOUT="
          f"{os.environ.get('OPENBLAS_THREAD_TIMEOUT', 'unset')}")
    for gap_ms in (float(g) for g in args.gaps.split(",")):
        rates = []
        for _ in range(args.repeats):
            np.matmul(A, B, out=C)
            t = time.perf_counter()
            while time.perf_counter() - t < gap_ms / 1e3:
                time.sleep(0.001)
            t = time.perf_counter()
            native.gemm.raw(C, A, B, False, False, False, args.threads)
            rates.append(2.0 * M * N * K / (time.perf_counter() - t) / 1e9)
        print(f"  {gap_ms:5.0f} ms after NumPy's product: mlpfast {np.median(rates):5.0f} GFLOP/s")


if __name__ == "__main__":
    main()
