/* How far apart the host has put the two cores: a cache-line round trip between them.

       gcc -O2 -pthread bench/round_trip.c -o /tmp/round_trip && /tmp/round_trip [trips]

   Two threads hand one counter back and forth `trips` times (default 200000), each
   waiting for the other's store before it stores the next value; prints the mean
   nanoseconds of a round trip.  Cores that share a last-level cache answer in tens of
   nanoseconds; cores on different dies or sockets take several times that.  On a VM
   the host may move the two vCPUs between such places while a program runs, and every
   line a 2-thread training step moves between its cores pays the same distance
   (bench/placement.py prints this beside the step's time). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static _Alignas(64) atomic_long counter;
static long trips;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* the other side: answers each odd value with the next even one */
static void *answer(void *unused) {
    (void)unused;
    for (long i = 0; i < trips; i++) {
        while (atomic_load_explicit(&counter, memory_order_acquire) != 2 * i + 1) {}
        atomic_store_explicit(&counter, 2 * i + 2, memory_order_release);
    }
    return NULL;
}

int main(int argc, char **argv) {
    trips = argc > 1 ? atol(argv[1]) : 200000;
    if (trips <= 0) {
        fprintf(stderr, "usage: %s [trips > 0]\n", argv[0]);
        return 2;
    }
    pthread_t other;
    if (pthread_create(&other, NULL, answer, NULL) != 0) {
        fprintf(stderr, "round_trip: cannot start a thread\n");
        return 1;
    }
    double t = now();
    for (long i = 0; i < trips; i++) {
        atomic_store_explicit(&counter, 2 * i + 1, memory_order_release);
        while (atomic_load_explicit(&counter, memory_order_acquire) != 2 * i + 2) {}
    }
    t = now() - t;
    pthread_join(other, NULL);
    printf("%.1f\n", t / trips * 1e9);
    return 0;
}
