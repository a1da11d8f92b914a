# Pace: one thread or two for the next run of half-split steps.
#
# The half-split step's exchanges between the cores (halves.pxd) cost what the
# cores' distance costs, and on a shared host that changes while a program runs:
# on the 2-vCPU VMs this was built on, a cache-line round trip between the two
# vCPUs took 50-70 ns in some stretches and 310-340 ns in others, and small's
# 2-thread step took 66-87 us in the first and 166-177 us in the second, against
# 99-128 us on one thread.  So the engine (_engine.pyx, _halves_epoch) times
# each run of steps between its looks for Ctrl-C and runs the next on the thread
# count that ran the last ones faster: the same steps on one thread give the same
# bits.
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

cdef enum:
    RETRY_TWO = 16       # runs on one thread before two is timed again (Pace), doubled
                         # after each retry that two loses, up to RETRY_MAX
    RETRY_MAX = 64       # (at 1024, small's paced epochs after a far stretch stayed on
                         # one thread for seconds: 0.984x two threads' in near pairs)
    RETIME_ONE = 256     # runs on two threads between timings of one
    PROBE_WARM = 4       # steps of a run on the count not chosen before it is timed

cdef extern from *:
    # two threads lose to one when a step on them took this many times one thread's: their
    # 4-step timings after a switch read 95-194 us where steady runs took 85 (small, two
    # threads, a noisy hour), and a mistaken switch to one thread lasts until a retry
    """
    static const double mlpf_two_slower = 1.25;
    """
    const double TWO_SLOWER "mlpf_two_slower"


cdef inline double _now() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + 1e-9 * ts.tv_nsec


cdef struct Pace:
    # one thread or two for the next run of half-split steps, from how fast each ran
    # the last time it was timed; kept on the network between fits (float64 fields,
    # named in _engine.pyx's PACE_FIELDS).
    # The count not chosen is timed after PROBE_WARM steps of its run: the first steps
    # on two threads after a while on one move the data (fits of one step each, fit's
    # own tens of us included: small 426, 176, 136, 119 us, then level; mnist 1313
    # falling to 813 over six).
    double batch         # the batch size the times are for (another one starts afresh)
    double one, two      # seconds a step took in the last timed run on 1 / 2 threads (0: none)
    double since_one     # runs on two threads since one was timed
    double since_two     # runs on one thread since two was timed
    double slow          # consecutive runs on two threads slower than one (TWO_SLOWER)
    double use_one       # the choice: 1.0 = one thread
    double retry         # runs on one thread between timings of two (0: RETRY_TWO)


cdef inline int _pace_threads(const Pace* p) noexcept nogil:
    """Threads for the next run: the choice, or the other count when it has no time yet
    or has not been timed for p.retry (one thread) / RETIME_ONE (two) runs."""
    if p.use_one != 0:
        return 2 if p.two == 0 or p.since_two >= max(p.retry, <double>RETRY_TWO) else 1
    return 1 if p.one == 0 or p.since_one >= RETIME_ONE else 2


cdef inline void _pace_record(Pace* p, int threads, double step) noexcept nogil:
    """A run on `threads` threads took `step` seconds a step: update the choice.  Two
    threads are given up after two runs in a row TWO_SLOWER times slower than one
    thread's last time (one slow run is more often the host's hiccup than a change of
    placement), and taken back when a retry is not; each retry that two lose doubles
    the runs to the next (with another program busy on the second core, a run of 8
    steps on two threads took 95 ms, one thread's 1 ms)."""
    if threads == 1:
        p.one, p.since_one = step, 0
        if p.use_one != 0:
            p.since_two += 1
        else:
            p.use_one = 1.0 if p.two == 0 or p.two > step * TWO_SLOWER else 0.0
            p.slow = 0
        return
    p.two, p.since_two = step, 0
    p.since_one += 1
    if p.use_one != 0:
        if step <= p.one * TWO_SLOWER:
            p.use_one, p.retry = 0.0, RETRY_TWO
        else:
            p.retry = min(2 * max(p.retry, <double>RETRY_TWO), <double>RETRY_MAX)
        return
    p.slow = p.slow + 1 if step > p.one * TWO_SLOWER else 0
    if p.slow >= 2:
        p.use_one, p.slow = 1.0, 0
