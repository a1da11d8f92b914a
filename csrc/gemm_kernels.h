/* The micro-kernels of one dtype for the three paths, and their blocking:
 * included once per dtype by gemm.c with T (float or double), MLPF_F64 (0 / 1),
 * F(name) (suffixes the dtype) and VS(_mm_op) (appends _ps or _pd) defined.
 *
 * Blocking (measured on a 2-core AVX-512 Xeon, 48 KiB L1d, 2 MiB L2 per core):
 *   path      MR x NR (f32 | f64)   row kernels   KC (f32|f64)  MC    NC (f32|f64)
 *   avx512    14 x 32 | 14 x 16     8, 4, 2, 1    256 | 128     168   1024
 *   avx2       6 x 16 |  6 x 8      4, 2, 1       256           144   1024 | 512
 *   generic    4 x 8  |  4 x 8      2, 1          256           128   1024
 * plus a 1 x 4NR kernel (wide1) for single rows against op(B) read in place,
 * small-M kernels (gemm_smallm.h; SIMD paths only), and (AVX-512) transposing
 * packs of transposed B and of A micro-panels and vector copies of B panels.
 * The MR-row micro-panel of A (MR x KC) stays in L1 while the B panel
 * (KC x NC, about 1 MiB) streams from L2 through it.
 * KC is part of the arithmetic (it fixes where partial sums meet C), so it is a
 * per-(path, dtype) constant; MC and NC only move work around.
 */

typedef void (*F(ukr_fn))(ptrdiff_t kc, const T *a, ptrdiff_t sa, const T *b, ptrdiff_t sb,
                          T *c, ptrdiff_t ldc, int m, int n, int first);

typedef void (*F(sm_fn))(ptrdiff_t kc, const T *a, ptrdiff_t sai, ptrdiff_t sak, const T *b,
                         ptrdiff_t ldb, T *c, ptrdiff_t ldc, int nlast, int first);

/* One SIMD path's kernel and blocking for this dtype.  kc is part of the
 * arithmetic (it fixes where partial sums are added to C); mc, nc are not. */
typedef struct {
    int mr, nr, kc, mc, nc;
    F(ukr_fn) ukernel;
    /* the same kernel built for fewer rows (decreasing, 1 last): a ragged
     * MR-row panel runs through these instead of computing padding rows */
    struct { int m; F(ukr_fn) ukernel; } rows[4];
    /* one row, WIDE * NR columns: a lone row (M = 1, batch-1 inference) read in
     * place needs that many independent sums in flight to hide FMA latency */
    F(ukr_fn) wide1;
    /* optional fast pack of one full transposed B micro-panel (see pack_b) */
    void (*pack_bt)(const T *src, ptrdiff_t ldb, ptrdiff_t kc, T *dst);
    /* optional fast packs: one full MR-row micro-panel of op(A) = A (transposes),
     * and the whole panels of a k-major block (op(B) = B, op(A) = A^T; copies) */
    void (*pack_an)(const T *src, ptrdiff_t lda, ptrdiff_t kc, T *dst);
    void (*pack_kmajor)(const T *src, ptrdiff_t ld, ptrdiff_t kc, ptrdiff_t full, int w,
                        T *dst);
    /* small-M kernels (gemm_smallm.h), [log2 R][log2 NV], NULL where not built,
     * and the lanes of their vectors */
    F(sm_fn) sm[4][5];
    int vl;
} F(kdesc);

/* The edge write-back shared by every kernel of this dtype: one add per element,
 * exactly as the full-tile vector path does it. */
static void F(writeback)(T *c, ptrdiff_t ldc, const T *tile, int ldt, int m, int n, int first)
{
    for (int i = 0; i < m; i++, c += ldc, tile += ldt) {
        if (first)
            for (int j = 0; j < n; j++) c[j] = tile[j];
        else
            for (int j = 0; j < n; j++) c[j] = c[j] + tile[j];
    }
}

#define SMK(p, r, v) F(sm_##p##_##r##_##v)
#define SM_TABLE8(p) {{SMK(p, 1, 1), SMK(p, 1, 2), SMK(p, 1, 4), SMK(p, 1, 8), NULL}, \
    {SMK(p, 2, 1), SMK(p, 2, 2), SMK(p, 2, 4), NULL, NULL}, \
    {SMK(p, 4, 1), SMK(p, 4, 2), NULL, NULL, NULL}, {SMK(p, 8, 1), NULL, NULL, NULL, NULL}}
#define SM_TABLE16(p) {{SMK(p, 1, 1), SMK(p, 1, 2), SMK(p, 1, 4), SMK(p, 1, 8), SMK(p, 1, 16)}, \
    {SMK(p, 2, 1), SMK(p, 2, 2), SMK(p, 2, 4), SMK(p, 2, 8), NULL}, \
    {SMK(p, 4, 1), SMK(p, 4, 2), SMK(p, 4, 4), NULL, NULL}, \
    {SMK(p, 8, 1), SMK(p, 8, 2), NULL, NULL, NULL}}
#define VL_ (64 / (int)sizeof(T))      /* lanes of a 512-bit vector; half for 256 */
#define F32 (sizeof(T) == 4)
#define WRITEBACK F(writeback)

/* ---------------------------------------------------------------- portable C */
/* Plain mul + add (never contracted: the build passes -ffp-contract=off).  The
 * whole sum lives in this one function, so however the compiler vectorises it
 * every element of every tile sees the same code. */
#define UKR_ATTR
#define V T
#define VL 1
#define NV 8
#define V_ZERO() ((T)0)
#define V_LOAD(p) (*(p))
#define V_STORE(p, v) (*(p) = (v))
#define V_BCAST(x) (x)
#define V_ADD(a, b) ((a) + (b))
#define V_FMA(a, b, c) ((a) * (b) + (c))
#define UKR_NAME F(ukr_generic_4)
#define MR 4
#include "gemm_ukernel.h"
#define UKR_NAME F(ukr_generic_2)
#define MR 2
#include "gemm_ukernel.h"
#define UKR_NAME F(ukr_generic_1)
#define MR 1
#include "gemm_ukernel.h"
#include "gemm_ukernel_undef.h"

#if MLPF_X86
/* ---------------------------------------------------------------- AVX2 + FMA */
#define UKR_ATTR __attribute__((target("avx2,fma")))
#define V VT256
#define VL (VL_ / 2)
#define NV 2
#define V_ZERO() VS(_mm256_setzero)()
#define V_LOAD(p) VS(_mm256_loadu)(p)
#define V_STORE(p, v) VS(_mm256_storeu)((p), (v))
#define V_BCAST(x) VS(_mm256_set1)(x)
#define V_ADD(a, b) VS(_mm256_add)((a), (b))
#define V_FMA(a, b, c) VS(_mm256_fmadd)((a), (b), (c))
#define UKR_NAME F(ukr_avx2_6)
#define MR 6
#include "gemm_ukernel.h"
#define UKR_NAME F(ukr_avx2_4)
#define MR 4
#include "gemm_ukernel.h"
#define UKR_NAME F(ukr_avx2_2)
#define MR 2
#include "gemm_ukernel.h"
#define UKR_NAME F(ukr_avx2_1)
#define MR 1
#include "gemm_ukernel.h"
#undef NV
#define NV 8
#define UKR_NAME F(ukr_avx2_1w)
#define MR 1
#include "gemm_ukernel.h"
#define MASK_T __m256i
#if MLPF_F64
#define V_MASK(n) _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3))
#else
#define V_MASK(n) _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))
#endif
#define V_MLOAD(p, k) VS(_mm256_maskload)((p), (k))
#define V_MSTORE(p, k, v) VS(_mm256_maskstore)((p), (k), (v))
#undef NV
#define SM_PATH avx2
#define SM_BIG 0
#include "gemm_smallm_set.h"
#include "gemm_smallm_undef.h"
#include "gemm_ukernel_undef.h"

/* ---------------------------------------------------------------- AVX-512 */
#define UKR_ATTR __attribute__((target("avx512f,avx512vl,avx512dq")))
#define V VT512
#define VL VL_
#define NV 2
#define V_ZERO() VS(_mm512_setzero)()
#define V_LOAD(p) VS(_mm512_loadu)(p)
#define V_STORE(p, v) VS(_mm512_storeu)((p), (v))
#define V_BCAST(x) VS(_mm512_set1)(x)
#define V_ADD(a, b) VS(_mm512_add)((a), (b))
#define V_FMA(a, b, c) VS(_mm512_fmadd)((a), (b), (c))
#define UKR_NAME F(ukr_avx512_14)
#define MR 14
#include "gemm_ukernel.h"
#define UKR_NAME F(ukr_avx512_8)
#define MR 8
#include "gemm_ukernel.h"
#define UKR_NAME F(ukr_avx512_4)
#define MR 4
#include "gemm_ukernel.h"
#define UKR_NAME F(ukr_avx512_2)
#define MR 2
#include "gemm_ukernel.h"
#define UKR_NAME F(ukr_avx512_1)
#define MR 1
#include "gemm_ukernel.h"
#undef NV
#define NV 8
#define UKR_NAME F(ukr_avx512_1w)
#define MR 1
#include "gemm_ukernel.h"
#if MLPF_F64
#define MASK_T __mmask8
#else
#define MASK_T __mmask16
#endif
#define V_MASK(n) ((MASK_T)((1u << (n)) - 1))
#define V_MLOAD(p, k) VS(_mm512_maskz_loadu)((k), (p))
#define V_MSTORE(p, k, v) VS(_mm512_mask_storeu)((p), (k), (v))
#undef NV
#define SM_PATH avx512
#define SM_BIG 1
#include "gemm_smallm_set.h"
#include "gemm_smallm_undef.h"
#include "gemm_ukernel_undef.h"

/* r[j][c] -> r[c][j] for a VL x VL block in registers (16 floats / 8 doubles a
 * row): small blocks inside the 128-bit lanes (unpack, then for float shuffle),
 * then the 4 x 4 lanes (shuffle_{f32x4,f64x2}: per lane the same moves). */
#if MLPF_F64
#define LANES4(a, b, imm) _mm512_shuffle_f64x2(a, b, imm)
#else
#define LANES4(a, b, imm) _mm512_shuffle_f32x4(a, b, imm)
#endif
__attribute__((target("avx512f,avx512vl,avx512dq")))
static inline __attribute__((always_inline)) void F(transpose_block)(VT512 r[VL_])
{
    VT512 t[VL_], u[VL_];
    /* q = VL/4 vectors per group of 4 rows: u[4g + q] (float) or u[2g + q]
     * (double) holds, in lane L, rows 4g.. (2g..) at column (VL/4) L + q */
#pragma GCC unroll 8
    for (int j = 0; j < VL_; j += 2) {
        t[j] = VS(_mm512_unpacklo)(r[j], r[j + 1]);
        t[j + 1] = VS(_mm512_unpackhi)(r[j], r[j + 1]);
    }
#if MLPF_F64
    const int per = 2;                     /* columns per lane */
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) u[j] = t[j];
#else
    const int per = 4;
#pragma GCC unroll 4
    for (int g = 0; g < 4; g++) {
        u[4 * g] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
        u[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
        u[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
        u[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
    }
#endif
    /* column per L + q = lane L of u[q], u[per + q], u[2 per + q], u[3 per + q] */
#pragma GCC unroll 4
    for (int q = 0; q < per; q++) {
        VT512 v0 = LANES4(u[q], u[per + q], 0x44), v1 = LANES4(u[q], u[per + q], 0xEE);
        VT512 v2 = LANES4(u[2 * per + q], u[3 * per + q], 0x44);
        VT512 v3 = LANES4(u[2 * per + q], u[3 * per + q], 0xEE);
        r[q] = LANES4(v0, v2, 0x88);
        r[per + q] = LANES4(v0, v2, 0xDD);
        r[2 * per + q] = LANES4(v1, v3, 0x88);
        r[3 * per + q] = LANES4(v1, v3, 0xDD);
    }
}
#undef LANES4

/* dst[k*dstride + j] = src[j*ld + k] for j < rows (<= VL), k < kc: VL x VL blocks
 * read a whole line per row and transposed in registers (a gather per k walks
 * rows lying one L1 set apart when ld is a multiple of 1 KiB, and thrashes it).
 * Each row of dst takes the lanes in `store` (its first `rows`). */
__attribute__((target("avx512f,avx512vl,avx512dq")))
static inline __attribute__((always_inline)) void F(pack_transposed)(
    const T *src, ptrdiff_t ld, int rows, ptrdiff_t kc, T *dst, ptrdiff_t dstride,
    unsigned store)
{
    VT512 r[VL_];
    for (ptrdiff_t k0 = 0; k0 < kc; k0 += VL_) {
        const int nk = kc - k0 < VL_ ? (int)(kc - k0) : VL_;
        const unsigned kmask = (1u << nk) - 1;
#pragma GCC unroll 16
        for (int j = 0; j < VL_; j++)
            r[j] = j < rows ? VS(_mm512_maskz_loadu)(kmask, src + j * ld + k0)
                            : VS(_mm512_setzero)();
        F(transpose_block)(r);
        for (int c = 0; c < nk; c++)
            VS(_mm512_mask_storeu)(dst + (k0 + c) * dstride, store, r[c]);
    }
}

/* One NR (= 2 VL) column micro-panel of op(B) = B^T: dst[k*NR + j] = src[j*ldb + k],
 * two VL-row transposes. */
__attribute__((target("avx512f,avx512vl,avx512dq")))
static void F(pack_bt_avx512)(const T *src, ptrdiff_t ldb, ptrdiff_t kc, T *dst)
{
    F(pack_transposed)(src, ldb, VL_, kc, dst, 2 * VL_, (1u << VL_) - 1);
    F(pack_transposed)(src + VL_ * ldb, ldb, VL_, kc, dst + VL_, 2 * VL_, (1u << VL_) - 1);
}

/* One MR (= 14) row micro-panel of op(A) = A: dst[k*14 + i] = src[i*lda + k]:
 * one 14-row transpose (float), or 8 rows and 6 (double). */
__attribute__((target("avx512f,avx512vl,avx512dq")))
static void F(pack_an_avx512)(const T *src, ptrdiff_t lda, ptrdiff_t kc, T *dst)
{
#if MLPF_F64
    F(pack_transposed)(src, lda, 8, kc, dst, 14, 0xFF);
    F(pack_transposed)(src + 8 * lda, lda, 6, kc, dst + 8, 14, 0x3F);
#else
    F(pack_transposed)(src, lda, 14, kc, dst, 14, 0x3FFF);
#endif
}

/* The first `full` whole w-wide panels of a k-major block (pack_kmajor's vector
 * kernel; w <= 2 VL: NR-column panels of op(B) = B, MR-row panels of op(A) =
 * A^T): per k and panel, two vector copies masked to w. */
__attribute__((target("avx512f,avx512vl,avx512dq")))
static void F(pack_kmajor_avx512)(const T *src, ptrdiff_t ld, ptrdiff_t kc, ptrdiff_t full,
                                  int w, T *dst)
{
    const ptrdiff_t panel = (ptrdiff_t)w * kc;
    const unsigned lo = w >= VL_ ? (1u << VL_) - 1 : (1u << w) - 1;
    const unsigned hi = w > VL_ ? (1u << (w - VL_)) - 1 : 0;
    for (ptrdiff_t k = 0; k < kc; k++, src += ld, dst += w)
        for (ptrdiff_t p = 0; p < full; p++) {
            VS(_mm512_mask_storeu)(dst + p * panel, lo, VS(_mm512_maskz_loadu)(lo, src + p * w));
            if (hi)
                VS(_mm512_mask_storeu)(dst + p * panel + VL_, hi,
                                       VS(_mm512_maskz_loadu)(hi, src + p * w + VL_));
        }
}

#define AVX2_KERNELS F(ukr_avx2_6), {{4, F(ukr_avx2_4)}, {2, F(ukr_avx2_2)}, {1, F(ukr_avx2_1)}}, \
    F(ukr_avx2_1w), NULL, NULL, NULL, SM_TABLE8(avx2), VL_ / 2
#define AVX512_KERNELS F(ukr_avx512_14), \
    {{8, F(ukr_avx512_8)}, {4, F(ukr_avx512_4)}, {2, F(ukr_avx512_2)}, {1, F(ukr_avx512_1)}}, \
    F(ukr_avx512_1w), F(pack_bt_avx512), F(pack_an_avx512), F(pack_kmajor_avx512), \
    SM_TABLE16(avx512), VL_
#else   /* never selected: not supported */
#define AVX2_KERNELS NULL, {{1, NULL}}, NULL, NULL, NULL, NULL, {{NULL}}, 1
#define AVX512_KERNELS NULL, {{1, NULL}}, NULL, NULL, NULL, NULL, {{NULL}}, 1
#endif
#undef WRITEBACK

/* {MR, NR, KC, MC, NC, ukernel, {row kernels}, wide1, pack_bt, pack_an, pack_kmajor, sm, vl}
 * per path, by MLPF_SIMD_* */
static const F(kdesc) F(kdescs)[MLPF_SIMD_COUNT] = {
    {4, 8, 256, 128, 1024, F(ukr_generic_4), {{2, F(ukr_generic_2)}, {1, F(ukr_generic_1)}}, NULL,
     NULL, NULL, NULL, {{NULL}}, 1},    /* no small-M kernels: scalar strips lose to 4 x 8 tiles */
    {6, VL_, 256, 144, F32 ? 1024 : 512, AVX2_KERNELS},
    {14, 2 * VL_, F32 ? 256 : 128, 168, 1024, AVX512_KERNELS},
};
#undef AVX2_KERNELS
#undef AVX512_KERNELS
#undef SMK
#undef SM_TABLE8
#undef SM_TABLE16
#undef VL_
#undef F32
