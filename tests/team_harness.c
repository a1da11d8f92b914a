/* Checks of the hand-off team (csrc/team.c), run by tests/test_team.py.
 *
 * A task here is CELLS cells claimed one by one from an atomic counter (as the
 * GEMM's cells are: any subset of threads including 0 finishes them); each cell
 * records which thread ran it.  Part 5 runs the GEMM itself (csrc/gemm.c) on the
 * team.  Prints "ok" and exits 0, or names the failure and exits 1.
 */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* a helper that reaches a task waits here while `hold` is set */
static int hold, held;
static void hold_helper(void)
{
    if (!__atomic_load_n(&hold, __ATOMIC_ACQUIRE)) return;
    __atomic_add_fetch(&held, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&hold, __ATOMIC_ACQUIRE)) ;
    __atomic_sub_fetch(&held, 1, __ATOMIC_ACQ_REL);
}
#define MLPF_TEAM_BEFORE_ENTER() hold_helper()
#define MLPF_TEAM_NAP_MS 5        /* idle helpers reach the deep sleep soon (part 4) */
#include "team.c"
#include "gemm.c"

#define CELLS 64
struct job {
    int next;
    int owner[CELLS];          /* thread that ran the cell, -1: not run */
    int runs[CELLS];           /* times it ran */
    int spin;                  /* busy work per cell (iterations) */
    int entered;               /* calls of the task */
};

static void job_init(struct job *j, int spin)
{
    j->next = 0;
    j->entered = 0;
    j->spin = spin;
    for (int c = 0; c < CELLS; c++) { j->owner[c] = -1; j->runs[c] = 0; }
}

static void job_task(void *ctx, int t)
{
    struct job *j = ctx;
    __atomic_add_fetch(&j->entered, 1, __ATOMIC_RELAXED);
    for (int c; (c = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED)) < CELLS;) {
        for (volatile int i = 0; i < j->spin; i++) ;
        j->owner[c] = t;
        j->runs[c]++;
    }
}

static int fail(const char *what)
{
    printf("FAIL: %s\n", what);
    return 1;
}

/* every cell ran once; *helped += cells run by threads other than 0 */
static int check_job(const struct job *j, int nt, int *helped)
{
    for (int c = 0; c < CELLS; c++) {
        if (j->runs[c] != 1) return fail("a cell did not run exactly once");
        if (j->owner[c] < 0 || j->owner[c] >= nt) return fail("a cell ran on a thread outside the task");
        if (j->owner[c] != 0) ++*helped;
    }
    return 0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Busy work per cell of the n-th task offered to a helper that has yet to arrive:
 * doubled every 512 tasks, up to 64 times the first, so the 4 096 tries span some
 * 20 times as long as 4 096 tasks of the first size.  With those alone, a CI run on
 * a loaded host once failed: the helper's vCPU was away for all of them. */
static int arrival_spin(int n)
{
    return 200 << (n / 512 < 6 ? n / 512 : 6);
}

/* Holds the team's helper at the door (a task it arrived too late for), or fails. */
static int hold_a_helper(void)
{
    struct job j;
    __atomic_store_n(&hold, 1, __ATOMIC_RELEASE);
    for (int n = 0; __atomic_load_n(&held, __ATOMIC_ACQUIRE) == 0; n++) {
        if (n == 4096) return fail("no helper reached a task");
        job_init(&j, arrival_spin(n));
        mlpf_team_run(2, job_task, &j);
    }
    return 0;
}

static void release_helpers(void)
{
    __atomic_store_n(&hold, 0, __ATOMIC_RELEASE);
    while (__atomic_load_n(&held, __ATOMIC_ACQUIRE) != 0) ;
}

/* C = A B (M x K, K x N) on 2 threads of the team while its helper is held: the
 * caller must take the helper's cells too (gemm.c's struct share), giving the
 * bits of a 1-thread call, with no cell left unwritten (C starts as NaN). */
static int gemm_with_a_held_helper(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K)
{
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
    float *one = malloc(sizeof(float) * M * N), *two = malloc(sizeof(float) * M * N);
    if (!A || !B || !one || !two) return fail("malloc");
    unsigned s = 12345;                         /* an LCG's top 24 bits, to [-1, 1) */
    for (ptrdiff_t i = 0; i < M * K + K * N; i++) {
        s = s * 1103515245u + 12345u;
        *(i < M * K ? &A[i] : &B[i - M * K]) = (float)(s >> 8) / (1 << 23) - 1;
    }
    for (ptrdiff_t i = 0; i < M * N; i++) two[i] = NAN;
    int bad = mlpf_gemm_f32(0, 0, M, N, K, A, K, B, N, one, N, 0, 0, 1, 0, NULL, NULL, NULL) != 0;
    if (!bad && hold_a_helper() == 0) {
        bad = mlpf_gemm_f32(0, 0, M, N, K, A, K, B, N, two, N, 0, 0, 2, 1, NULL, NULL, NULL) != 0;
        release_helpers();
        bad = bad || memcmp(one, two, sizeof(float) * M * N) != 0;
        if (bad) fail("a GEMM on the team with its helper held left cells or changed bits");
    } else {
        bad = 1;
    }
    free(A); free(B); free(one); free(two);
    return bad;
}

struct caller { int nt, rounds, bad, helped; };

static void *caller_main(void *arg)
{
    struct caller *c = arg;
    struct job j;
    for (int r = 0; r < c->rounds && !c->bad; r++) {
        job_init(&j, 200);
        mlpf_team_run(c->nt, job_task, &j);
        c->bad |= check_job(&j, c->nt, &c->helped);
    }
    return NULL;
}

int main(void)
{
    struct job j;
    int helped = 0;

    /* 1. back to back: every cell once, and the helpers take part */
    for (int nt = 2; nt <= 3; nt++)
        for (int r = 0; r < 500; r++) {
            job_init(&j, 200);
            mlpf_team_run(nt, job_task, &j);
            if (check_job(&j, nt, &helped)) return 1;
        }
    if (helped == 0) return fail("no helper ever ran a cell");

    /* 2. a helper that has not entered is not waited for, and nobody enters a
     *    task after it returned (the caller ran it alone) */
    static struct job tasks[4096];
    int entered[4096], n = 0;
    __atomic_store_n(&hold, 1, __ATOMIC_RELEASE);
    while (__atomic_load_n(&held, __ATOMIC_ACQUIRE) == 0) {   /* until a helper is held */
        if (n == 4096) return fail("no helper reached a task");
        job_init(&tasks[n], arrival_spin(n));
        mlpf_team_run(2, job_task, &tasks[n]);
        if (check_job(&tasks[n], 2, &helped)) return 1;
        entered[n] = __atomic_load_n(&tasks[n].entered, __ATOMIC_RELAXED);
        n++;
    }
    job_init(&tasks[n], 200);
    mlpf_team_run(2, job_task, &tasks[n]);      /* returns while the helper is held */
    entered[n] = tasks[n].entered;
    for (int c = 0; c < CELLS; c++)
        if (tasks[n].owner[c] != 0 || tasks[n].runs[c] != 1)
            return fail("the caller did not run the task alone while the helper was held");
    n++;
    release_helpers();
    sleep_ms(20);                               /* time for the released helper to try */
    for (int i = 0; i < n; i++)
        if (__atomic_load_n(&tasks[i].entered, __ATOMIC_RELAXED) != entered[i])
            return fail("a helper entered a task after it returned");
    job_init(&j, 200);                          /* and the team still serves the next one */
    mlpf_team_run(2, job_task, &j);
    if (check_job(&j, 2, &helped)) return 1;

    /* 3. concurrent callers: one has the team, the others run alone */
    pthread_t th[3];
    struct caller callers[3] = {{2, 300, 0, 0}, {3, 300, 0, 0}, {2, 300, 0, 0}};
    for (int i = 0; i < 3; i++)
        if (pthread_create(&th[i], NULL, caller_main, &callers[i]) != 0)
            return fail("pthread_create");
    for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 3; i++)
        if (callers[i].bad) return 1;

    /* 4. idle helpers, napping and then asleep, come back to work */
    for (int idle_ms = 2; idle_ms <= 20; idle_ms += 18) {
        sleep_ms(idle_ms);
        for (int r = 0, before = helped; ; r++) {
            job_init(&j, 2000);
            mlpf_team_run(2, job_task, &j);
            if (check_job(&j, 2, &helped)) return 1;
            if (helped > before) break;
            if (r == 2000) return fail("idle helpers never came back");
        }
    }

    /* 5. the GEMM's cells with the helper held: the packed path (300 x 517 x 70)
     *    and the small-M path (4 x 1000 x 300), each above its threading threshold */
    if (gemm_with_a_held_helper(300, 517, 70) || gemm_with_a_held_helper(4, 1000, 300))
        return 1;
    printf("ok\n");
    return 0;
}
