/* mlpfast GEMM: C = op(A) op(B) (+ C), row-major, float32 and float64.
 *
 * Design (BLIS style): five loops NC -> KC -> MC -> NR -> MR around packed
 * panels of A (MC x KC) and B (KC x NC) and one register-blocked micro-kernel
 * per dtype and instruction set (AVX-512, AVX2+FMA, portable C), chosen at run
 * time from the CPU's features.  Threads (OpenMP) split the M/N loops, never
 * K, and each thread packs into its own buffer.  Small problems take a direct
 * unpacked path.
 *
 * Determinism: every element of C is computed by the same sequence of
 * floating-point operations whatever M, N, its position in a tile, the path
 * (direct or packed) or the thread count; only K and the SIMD path decide it.
 *
 * Epilogue: when epi is not NULL it is called once for each of a set of
 * disjoint rectangles [r0, r1) x [c0, c1) that together cover C, right after
 * the final values of that rectangle are stored, by the thread that stored
 * them (so possibly concurrently for different rectangles).  This is how bias,
 * activation and f'(Z) are fused into the pass that writes the product.
 */
#ifndef MLPF_GEMM_H
#define MLPF_GEMM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { MLPF_SIMD_GENERIC = 0, MLPF_SIMD_AVX2 = 1, MLPF_SIMD_AVX512 = 2, MLPF_SIMD_COUNT = 3 };

typedef void (*mlpf_epilogue)(void *ctx, ptrdiff_t r0, ptrdiff_t r1, ptrdiff_t c0, ptrdiff_t c1);

/* Claim: up to MLPF_CLAIM_RUNS runs of memory [p, p + bytes) (p NULL: none)
 * that the caller writes soon after the call and that another core has read
 * since this one last wrote them.  The calling thread takes each of their cache
 * lines for writing (a store of the line's own first byte: values unchanged)
 * among the products' FMAs, so that the caller's own stores then find the lines
 * here rather than wait for the other core to give up its copies (a store cannot
 * complete until they have).  No other thread may write the runs during the call. */
#define MLPF_CLAIM_RUNS 3
typedef struct {
    void *p[MLPF_CLAIM_RUNS];
    ptrdiff_t bytes[MLPF_CLAIM_RUNS];
} mlpf_claim;

/* The claim's store, for callers that pace their own: each cache line of
 * [p, p + bytes) rewritten with its own first byte. */
void mlpf_own_lines(void *p, ptrdiff_t bytes);

int mlpf_simd_supported(int path);  /* 1 if this CPU (and build) can run path */
int mlpf_simd_best(void);           /* the best supported path */
int mlpf_simd_get(void);            /* the path in effect: best unless forced */
int mlpf_simd_set(int path);        /* force path (-1: back to best); 0 ok, -1 unsupported */
const char *mlpf_simd_name(int path);

/* C (M x N) = op(A) (M x K) * op(B) (K x N), plus the old C if accumulate.
 * op(A) = A^T when trans_a (A stored K x M), likewise B.  lda/ldb/ldc are the
 * row strides in elements.  M, N, K >= 1.  0 < ks < K puts a KC-block boundary
 * at k = ks (blocks [0, ks) and [ks, K), each cut by KC), so C = C_[0,ks) +
 * C_[ks,K) when the second is one block: the weight gradient of a batch in two
 * halves, whichever thread computes which (0: none).  Up to n_threads threads:
 * from the hand-off team (team.h) when handoff, else an OpenMP region.  claim:
 * NULL, or memory to take for writing meanwhile (above).  Returns 0, or -1 if a
 * packing buffer could not be allocated (C is then unspecified). */
int mlpf_gemm_f32(int trans_a, int trans_b, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                  const float *A, ptrdiff_t lda, const float *B, ptrdiff_t ldb,
                  float *C, ptrdiff_t ldc, int accumulate, ptrdiff_t ks, int n_threads,
                  int handoff, mlpf_epilogue epi, void *ctx, const mlpf_claim *claim);
int mlpf_gemm_f64(int trans_a, int trans_b, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K,
                  const double *A, ptrdiff_t lda, const double *B, ptrdiff_t ldb,
                  double *C, ptrdiff_t ldc, int accumulate, ptrdiff_t ks, int n_threads,
                  int handoff, mlpf_epilogue epi, void *ctx, const mlpf_claim *claim);

#ifdef __cplusplus
}
#endif
#endif
