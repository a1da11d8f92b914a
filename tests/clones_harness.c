/* The element loops that clones.h builds three times (AVX-512, AVX2, baseline)
 * and picks at load time, built here once for the ISA of the compiler flags:
 * prints one hash of every output bit on fixed inputs (test_clones.py builds
 * and runs it for each clone's flags and compares). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#define MLPF_CLONES_H
#define MLPF_CLONES __attribute__((noinline))
#include "optim_blocks.h"
#include "vmath.h"

static uint64_t h = 1469598103934665603ull;
static void hash(const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++) { h ^= ((const unsigned char *)p)[i]; h *= 1099511628211ull; }
}

#define N 4099                          /* prime: every vector width leaves a tail */
#define CHECK(T, S, SCALE)                                                              \
    {                                                                                   \
        static T z[N], g[N], a[N], t[N], s[N], r[N];                                    \
        uint64_t x = 42;                                                                \
        for (int i = 0; i < N; i++) {                                                   \
            x = x * 6364136223846793005ull + 1442695040888963407ull;                    \
            double u = (double)(x >> 11) / 9007199254740992.0 - 0.5;                   \
            z[i] = (T)(u * (i % 7 == 0 ? 400 : SCALE)); g[i] = (T)(u * 3 - 0.25);       \
        }                                                                               \
        mlpf_tanh_rows_##S(1, N, z, N, a, N); hash(a, sizeof a);                        \
        mlpf_sigmoid_rows_##S(1, N, z, N, a, N); hash(a, sizeof a);                     \
        mlpf_swish_rows_##S(1, N, z, N, a, N); hash(a, sizeof a);                       \
        mlpf_softplus_rows_##S(1, N, z, N, a, N); hash(a, sizeof a);                    \
        mlpf_elu_rows_##S(1, N, z, N, a, N, (T)1); hash(a, sizeof a);                   \
        mlpf_gelu_tanh_rows_##S(1, N, z, N, a, N, (T)1e3, (T)1.6, (T)0.044715);         \
        hash(a, sizeof a);                                                              \
        mlpf_gelu_rows_##S(1, N, z, N, a, N); hash(a, sizeof a);                        \
        mlpf_gelu_back_rows_##S(1, N, g, N, z, N, a, N); hash(a, sizeof a);             \
        mlpf_softplus_back_rows_##S(1, N, g, N, z, N, a, N); hash(a, sizeof a);         \
        mlpf_swish_back_rows_##S(1, N, g, N, z, N, a, N); hash(a, sizeof a);            \
        mlpf_gelu_tanh_back_rows_##S(1, N, g, N, z, N, a, N, (T)1e3, (T)1.6,            \
                                     (T)0.044715, (T)0.134145);                         \
        hash(a, sizeof a);                                                              \
        for (int i = 0; i < N; i++) a[i] = z[i] < 0 ? -z[i] : z[i];                     \
        mlpf_expneg_inplace_##S(N, a); hash(a, sizeof a);                               \
        mlpf_sigmoid_log1p_##S(N, z, a, t); hash(a, sizeof a); hash(t, sizeof t);       \
        for (int n = 1; n < N; n += 97) {                                               \
            T m = mlpf_max_lanes_##S(n, z); double sum = mlpf_sum_lanes_##S(n, a);      \
            hash(&m, sizeof m); hash(&sum, sizeof sum);                                 \
        }                                                                               \
        for (int i = 0; i < N; i++) { t[i] = z[i]; s[i] = g[i]; r[i] = g[i] * g[i]; }   \
        mlpf_sgd_block_##S(N, t, g, (T)0.01); hash(t, sizeof t);                        \
        mlpf_momentum_block_##S(N, t, s, g, (T)0.01, (T)0.9, 1); hash(t, sizeof t);     \
        mlpf_rms_block_##S(N, t, r, g, (T)0.01, (T)0.9, (T)0.1, (T)1e-7);               \
        hash(t, sizeof t);                                                              \
        mlpf_adam_block_##S(N, t, s, r, g, (T)0.9, (T)0.1, (T)0.999, (T)0.001,          \
                            (T)0.001, (T)1.3, (T)1e-7, (T)0.01);                        \
        hash(t, sizeof t); hash(s, sizeof s); hash(r, sizeof r);                        \
    }

int main(void)
{
    CHECK(float, f32, 20)
    CHECK(double, f64, 40)
    printf("%016llx\n", (unsigned long long)h);
    return 0;
}
