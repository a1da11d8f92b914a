/* What sharing lines between the two cores costs, against lines a core keeps to itself.

       gcc -O3 -fopenmp bench/cross_core.c -o /tmp/cross_core && /tmp/cross_core [KB] [rounds]

   (-O3, so that the writes are vector stores, as the training step's are.)
   As a 2-thread training step does with its bands of weights, activations and δ, each
   of two OpenMP threads overwrites a buffer of KB kilobytes (default 400, about what
   mnist's step moves between its cores) that the other thread read in the round before,
   and, after a barrier, reads the other thread's buffer.  Beside each, it writes and
   reads a buffer of the same size that only it touches.  Prints the mean microseconds
   of the four.  A write to a line the other core holds has to take the line from it
   first; a read of a line the other core wrote only copies it.  On a VM the host may
   place the two vCPUs on cores that share a last-level cache or on cores that do not,
   and move them while a process runs: the cross-core times then grow several times
   over while the own ones do not change (bench/README.md). */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define LINE_FLOATS 16

/* seconds to overwrite every float of buf */
static double write_all(float *buf, long n, float value) {
    double t = omp_get_wtime();
    for (long i = 0; i < n; i++) buf[i] = value;
    return omp_get_wtime() - t;
}

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
    float *shared[2] = {malloc(n * sizeof(float)), malloc(n * sizeof(float))};
    float *own[2] = {malloc(n * sizeof(float)), malloc(n * sizeof(float))};
    if (!shared[0] || !shared[1] || !own[0] || !own[1]) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    double write_shared = 0, write_own = 0, read_shared = 0, read_own = 0;
    int threads = 0;
#pragma omp parallel num_threads(2) reduction(+ : write_shared, write_own, read_shared, read_own)
    {
        int t = omp_get_thread_num();
        if (t == 0) threads = omp_get_num_threads();
        if (omp_get_num_threads() == 2)
            for (int r = -1; r < rounds; r++) {   /* round -1: first touch, untimed */
                double ws = write_all(shared[t], n, (float)r);
                double wo = write_all(own[t], n, (float)r);
#pragma omp barrier
                double rs = read_lines(shared[1 - t], n);
                double ro = read_lines(own[t], n);
#pragma omp barrier
                if (r >= 0) {
                    write_shared += ws;
                    write_own += wo;
                    read_shared += rs;
                    read_own += ro;
                }
            }
    }
    if (threads != 2) {
        fprintf(stderr, "needs two threads, OpenMP gave %d\n", threads);
        return 1;
    }
    double us = 1e6 / (2.0 * rounds);           /* per thread and round */
    printf("%ld KB: write of lines the other core read %.2f us, of its own %.2f us; "
           "read of lines the other core wrote %.2f us, of its own %.2f us\n",
           kb, write_shared * us, write_own * us, read_shared * us, read_own * us);
    free(shared[0]);
    free(shared[1]);
    free(own[0]);
    free(own[1]);
    return 0;
}
