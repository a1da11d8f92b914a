/* The hand-off team (see team.h).
 *
 * Design
 * ------
 * One word, state = gen << 32 | OPEN | active, orders everything:
 *   caller:  writes task, ctx, nt; state = (gen + 1) << 32 | OPEN (release);
 *            wakes sleeping helpers; task(ctx, 0); clears OPEN (CAS);
 *            spins until active == 0 (acquire).
 *   helper:  sees a new gen with OPEN, reads task, ctx, nt, then enters by a
 *            CAS active + 1 from the very state it read (so it fails if that
 *            task was closed or replaced meanwhile: the fields it read belong to
 *            the task it entered); task(ctx, id); active - 1 (release).
 * The fields change only while no task is open and no helper is inside one.
 * Sleep: a helper counts itself in `sleepers` and re-checks gen under the
 * mutex before waiting; the caller reads `sleepers` after publishing (both
 * sequentially consistent), so one of the two always sees the other.
 * A forked child starts with no helpers (pthread_atfork).
 */
#ifdef __linux__
#define _GNU_SOURCE             /* sched_getcpu */
#include <sched.h>
#endif
#include "team.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* An idle helper spins for MLPF_TEAM_SPIN_US (back-to-back calls find it
 * running), then naps MLPF_TEAM_NAP_US at a time for MLPF_TEAM_NAP_MS, then
 * sleeps until a caller wakes it (an idle process costs nothing). */
#ifndef MLPF_TEAM_SPIN_US
#define MLPF_TEAM_SPIN_US 200
#endif
#ifndef MLPF_TEAM_NAP_US
#define MLPF_TEAM_NAP_US 1000
#endif
#ifndef MLPF_TEAM_NAP_MS
#define MLPF_TEAM_NAP_MS 100
#endif
#define TEAM_MAX 64           /* helpers at most */
#ifndef MLPF_TEAM_BEFORE_ENTER  /* tests: hold a helper just before it enters a task */
#define MLPF_TEAM_BEFORE_ENTER()
#endif

#define OPEN ((uint64_t)1 << 31)
#define ACTIVE ((uint64_t)OPEN - 1)
#define GEN(s) ((uint32_t)((s) >> 32))

static struct {
    uint64_t state;
    mlpf_task task;           /* the open task (read by helpers before they enter) */
    void *ctx;
    int nt;
    int cpu;                  /* the caller's core when it published the task */
    int helpers;              /* helper threads started, ids 1 .. helpers */
    int sleepers;             /* helpers waiting on `wake` */
    int busy;                 /* a caller is using the team */
    pthread_mutex_t lock;
    pthread_cond_t wake;
} team = {0, 0, 0, 0, -1, 0, 0, 0, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

/* The core this thread runs on, or -1 where that cannot be asked. */
static int this_cpu(void)
{
#ifdef __linux__
    return sched_getcpu();
#else
    return -1;
#endif
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

static void nap_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* The state once its gen differs from seen: spinning for MLPF_TEAM_SPIN_US, then
 * napping (woken by its own timer, on its own core) for MLPF_TEAM_NAP_MS, then
 * asleep until a caller wakes it.  A thread woken by another is often placed
 * on the waker's core (here: 11-14 of 25-29 wake-ups after 16 ms idle), where it
 * would share that core with the caller for the whole task; so a helper that
 * finds itself there naps once, and the scheduler moves it to an idle core. */
static uint64_t next_task(uint32_t seen)
{
    uint64_t s;
    double t = now_us(), spin_end = t + MLPF_TEAM_SPIN_US, nap_end = t + MLPF_TEAM_NAP_MS * 1e3;
    for (unsigned i = 1;; i++) {
        if (GEN(s = __atomic_load_n(&team.state, __ATOMIC_ACQUIRE)) != seen) return s;
        mlpf_pause();
        if (i % 256 == 0 && now_us() > spin_end) break;
    }
    while (now_us() < nap_end) {
        nap_us(MLPF_TEAM_NAP_US);
        if (GEN(s = __atomic_load_n(&team.state, __ATOMIC_ACQUIRE)) != seen) return s;
    }
    pthread_mutex_lock(&team.lock);
    __atomic_add_fetch(&team.sleepers, 1, __ATOMIC_SEQ_CST);
    while (GEN(s = __atomic_load_n(&team.state, __ATOMIC_SEQ_CST)) == seen)
        pthread_cond_wait(&team.wake, &team.lock);
    __atomic_sub_fetch(&team.sleepers, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&team.lock);
    if (this_cpu() >= 0 && this_cpu() == __atomic_load_n(&team.cpu, __ATOMIC_RELAXED)) {
        nap_us(MLPF_TEAM_NAP_US);
        s = __atomic_load_n(&team.state, __ATOMIC_ACQUIRE);
    }
    return s;
}

static void *helper_main(void *arg)
{
    const int id = (int)((uintptr_t)arg & 0xff);
    uint32_t seen = (uint32_t)((uintptr_t)arg >> 8);   /* the gen before its first task */
    for (;;) {
        uint64_t s = next_task(seen);
        seen = GEN(s);
        while (s & OPEN) {
            mlpf_task task = __atomic_load_n(&team.task, __ATOMIC_RELAXED);
            void *ctx = __atomic_load_n(&team.ctx, __ATOMIC_RELAXED);
            if (id >= __atomic_load_n(&team.nt, __ATOMIC_RELAXED)) break;
            MLPF_TEAM_BEFORE_ENTER();
            if (__atomic_compare_exchange_n(&team.state, &s, s + 1, 0, __ATOMIC_ACQUIRE,
                                            __ATOMIC_ACQUIRE)) {
                task(ctx, id);
                __atomic_sub_fetch(&team.state, 1, __ATOMIC_RELEASE);
                break;
            }
            if (GEN(s) != seen) break;   /* a newer task: next_task returns it at once */
        }
    }
    return NULL;
}

static void after_fork_child(void)
{
    team.helpers = team.sleepers = team.busy = 0;
    team.state &= ~(OPEN | ACTIVE);
    pthread_mutex_init(&team.lock, NULL);
    pthread_cond_init(&team.wake, NULL);
}

/* Helpers up to want (caller holds busy); returns how many there are. */
static int grow(int want)
{
    static int registered;
    if (!registered) {
        if (pthread_atfork(NULL, NULL, after_fork_child) != 0) return team.helpers;
        registered = 1;
    }
    while (team.helpers < want && team.helpers < TEAM_MAX) {
        pthread_t th;
        pthread_attr_t attr;
        uintptr_t arg = ((uintptr_t)GEN(team.state) << 8) | (uintptr_t)(team.helpers + 1);
        if (pthread_attr_init(&attr) != 0) break;
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&th, &attr, helper_main, (void *)arg);
        pthread_attr_destroy(&attr);
        if (rc != 0) break;
        team.helpers++;
    }
    return team.helpers;
}

void mlpf_team_run(int nt, mlpf_task task, void *ctx)
{
    if (nt < 2 || __atomic_exchange_n(&team.busy, 1, __ATOMIC_ACQUIRE)) {
        task(ctx, 0);                  /* alone: another caller has the team */
        return;
    }
    if (grow(nt - 1) < 1) {
        __atomic_store_n(&team.busy, 0, __ATOMIC_RELEASE);
        task(ctx, 0);
        return;
    }
    __atomic_store_n(&team.task, task, __ATOMIC_RELAXED);
    __atomic_store_n(&team.ctx, ctx, __ATOMIC_RELAXED);
    __atomic_store_n(&team.nt, nt, __ATOMIC_RELAXED);
    __atomic_store_n(&team.cpu, this_cpu(), __ATOMIC_RELAXED);
    uint64_t s = ((uint64_t)(GEN(team.state) + 1) << 32) | OPEN;
    __atomic_store_n(&team.state, s, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&team.sleepers, __ATOMIC_SEQ_CST) > 0) {
        pthread_mutex_lock(&team.lock);
        pthread_cond_broadcast(&team.wake);
        pthread_mutex_unlock(&team.lock);
    }
    task(ctx, 0);
    s = __atomic_load_n(&team.state, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(&team.state, &s, s & ~OPEN, 1, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
        ;
    while (__atomic_load_n(&team.state, __ATOMIC_ACQUIRE) & ACTIVE) mlpf_pause();
    __atomic_store_n(&team.busy, 0, __ATOMIC_RELEASE);
}
