/* The hand-off team: helper threads for latency-bound calls (inference), whose
 * caller never waits for a helper that has not started.
 *
 * An OpenMP region ends in a join that waits until every thread of the team has
 * run.  On a VM a worker parked after some idle time can take milliseconds to
 * be scheduled (4-6 ms measured here after 16-50 ms idle), so a 2-thread
 * predict after a pause cost milliseconds where one thread took microseconds.
 * Here the caller publishes the task, runs it as thread 0, then closes it:
 * helpers that entered by then finish (the caller waits for those only), and
 * helpers that come later find it closed.  So a task must be correct for any
 * subset of its threads 0 .. nt-1 that includes 0: gemm.c's cell sharing is
 * (a thread takes every cell that no one has started).
 *
 * Helpers are created on first use, spin for MLPF_TEAM_SPIN_US after each task
 * (so back-to-back calls find them awake), then sleep until the next one.
 * Concurrent callers are safe: one uses the team, the others run alone.
 */
#ifndef MLPF_TEAM_H
#define MLPF_TEAM_H

typedef void (*mlpf_task)(void *ctx, int t);

/* task(ctx, t) for t = 0 on the calling thread and for whichever helpers
 * 1 .. nt-1 are ready before thread 0 returns; returns when every call that
 * started has returned (their writes are then visible to the caller). */
void mlpf_team_run(int nt, mlpf_task task, void *ctx);

/* The spin-wait hint of one turn of a spin loop (this team's, the engine's posts). */
static inline void mlpf_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

#endif
