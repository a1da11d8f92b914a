/* Placeholder GEMM (plain triple loop) until the blocked one lands; see gemm.h. */
#include "gemm.h"

int mlpf_simd_supported(int path) { return path == MLPF_SIMD_GENERIC; }
int mlpf_simd_best(void) { return MLPF_SIMD_GENERIC; }
int mlpf_simd_get(void) { return MLPF_SIMD_GENERIC; }
int mlpf_simd_set(int path) { return (path == -1 || path == MLPF_SIMD_GENERIC) ? 0 : -1; }
const char *mlpf_simd_name(int path) {
    static const char *names[] = {"generic", "avx2", "avx512"};
    return (path >= 0 && path < MLPF_SIMD_COUNT) ? names[path] : "unknown";
}

#define GEMM_NAIVE(NAME, T)                                                              \
int NAME(int ta, int tb, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const T *A, ptrdiff_t lda, \
         const T *B, ptrdiff_t ldb, T *C, ptrdiff_t ldc, int acc, int n_threads,          \
         mlpf_epilogue epi, void *ctx) {                                                  \
    (void)n_threads;                                                                     \
    for (ptrdiff_t i = 0; i < M; i++)                                                    \
        for (ptrdiff_t j = 0; j < N; j++) {                                              \
            T s = 0;                                                                     \
            for (ptrdiff_t k = 0; k < K; k++)                                            \
                s += (ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]); \
            C[i * ldc + j] = acc ? C[i * ldc + j] + s : s;                               \
        }                                                                                \
    if (epi) epi(ctx, 0, M, 0, N);                                                       \
    return 0;                                                                            \
}
GEMM_NAIVE(mlpf_gemm_f32, float)
GEMM_NAIVE(mlpf_gemm_f64, double)
