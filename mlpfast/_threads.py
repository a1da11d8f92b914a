"""The thread count that the public API passes down to every kernel.

Kernels never read a global: they take ``n_threads`` as an argument.  This
module only holds the user's choice (``set_num_threads``), whose default
honours ``OMP_NUM_THREADS``.

Fork safety: libgomp's thread pool does not survive ``fork``; a child that
starts a parallel region after its parent ran one hangs.  A forked child
therefore runs every kernel single-threaded (``thread_limit`` drops to 1),
which changes no result because kernels are bitwise thread-invariant.
"""
import numbers
import os

MAX_THREADS = 256  # more than any kernel here can use; OpenMP would start them all
_limit = None  # None: no cap but MAX_THREADS; 1 in a forked child


def _default():
    """OMP_NUM_THREADS, else the CPUs this process may run on; at most MAX_THREADS."""
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env.isdigit() and int(env) > 0:
        n = int(env)
    else:
        try:
            n = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            n = os.cpu_count() or 1
    return min(n, MAX_THREADS)


_num_threads = _default()
# min(_num_threads, thread_limit()), kept current: predict reads it on every call
_effective = _num_threads


def get_num_threads():
    """Threads the kernels use (1 in a forked child)."""
    return _effective


def set_num_threads(n):
    """Set the number of threads for the kernels (an int from 1 to MAX_THREADS)."""
    global _num_threads, _effective
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n must be a positive int, got {type(n).__name__}")
    if not 1 <= n <= MAX_THREADS:
        raise ValueError(f"n must be an int from 1 to {MAX_THREADS}, got {n}")
    _num_threads = int(n)
    _effective = min(_num_threads, thread_limit())


def thread_limit():
    """Upper bound on any kernel's thread count in this process."""
    return MAX_THREADS if _limit is None else _limit


def _after_fork_in_child():
    global _limit, _effective
    _limit = 1
    _effective = 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
