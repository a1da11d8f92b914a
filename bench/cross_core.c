/* How fast one core reads what the other core just wrote, against what it wrote itself.

       gcc -O2 -fopenmp bench/cross_core.c -o /tmp/cross_core && /tmp/cross_core [KB] [rounds]

   Two OpenMP threads take turns: one writes a buffer of KB kilobytes (default 400, about
   what mnist's 2-thread step moves between its cores), then the other reads one float of
   each cache line of it, and of a buffer of the same size it wrote itself.  Prints the
   mean microseconds of both reads.  On a VM the host may place the two vCPUs on cores
   that share a last-level cache or on cores that do not, and move them while a process
   runs: the cross-core read then takes about 3 times as long while the own read does not
   change (bench/README.md).  mlpfast's 2-thread training step exchanges activations and
   weights between its cores every step, so its time follows that placement. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define LINE_FLOATS 16

/* seconds to load one float of each line (volatile: the loads stay) */
static double read_lines(const volatile float *buf, long n) {
    double t = omp_get_wtime();
    for (long i = 0; i < n; i += LINE_FLOATS) (void)buf[i];
    return omp_get_wtime() - t;
}

int main(int argc, char **argv) {
    long kb = argc > 1 ? atol(argv[1]) : 400;
    int rounds = argc > 2 ? atoi(argv[2]) : 5000;
    if (kb <= 0 || rounds <= 0) {
        fprintf(stderr, "usage: %s [KB > 0] [rounds > 0]\n", argv[0]);
        return 2;
    }
    long n = kb * 1024 / sizeof(float);
    float *shared = malloc(n * sizeof(float));
    float *own[2] = {malloc(n * sizeof(float)), malloc(n * sizeof(float))};
    if (!shared || !own[0] || !own[1]) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    double cross = 0, local = 0;
    int threads = 0;
#pragma omp parallel num_threads(2) reduction(+ : cross, local)
    {
        int t = omp_get_thread_num();
        if (t == 0) threads = omp_get_num_threads();
        if (omp_get_num_threads() == 2)
            for (int r = 0; r < rounds; r++) {
                int writer = r % 2;
                if (t == writer)
                    for (long i = 0; i < n; i++) shared[i] = (float)(r + i);
                for (long i = 0; i < n; i++) own[t][i] = (float)(r - i);
#pragma omp barrier
                if (t != writer) {
                    cross += read_lines(shared, n);
                    local += read_lines(own[t], n);
                }
#pragma omp barrier
            }
    }
    if (threads != 2) {
        fprintf(stderr, "needs two threads, OpenMP gave %d\n", threads);
        return 1;
    }
    printf("read of %ld KB: written by the other core %.2f us, by this core %.2f us\n", kb,
           cross / rounds * 1e6, local / rounds * 1e6);
    free(shared);
    free(own[0]);
    free(own[1]);
    return 0;
}
