/* Micro-kernel template: included once per (SIMD path, dtype) by gemm.c.
 *
 * Parameters (macros; UKR_NAME and MR are #undef'd at the end, the path's own by
 * gemm_ukernel_undef.h, so one set of path macros serves several row counts):
 *   UKR_NAME   function name            UKR_ATTR  target attribute (or empty)
 *   T          element type             V         vector type (T for the generic path)
 *   VL         lanes per vector         NV        vectors per row, NR = NV * VL
 *   MR         rows of the register tile
 *   V_ZERO() V_LOAD(p) V_STORE(p, v) V_BCAST(x) V_ADD(a, b) V_FMA(a, b, c) = a*b + c
 *   WRITEBACK  the dtype's edge write-back (gemm.c)
 *
 * c[0:m, 0:n] (=|+=) sum_k a[k*sa + i] * b[k*sb + j]   (0 <= i < MR, 0 <= j < NR)
 *
 * `a` is an MR-row micro-panel stored k-major (row k at a + k*sa: packed, sa = MR,
 * or op(A)'s own storage when it is already k-major), `b` a k-major NR-column
 * micro-panel (sb = NR packed, or ldb in place).  Every element gets the same
 * operation sequence: acc = 0; acc = fma(a_ik, b_kj, acc) for k = 0..kc-1; then
 * c = acc (first) or c = c + acc.  Edge tiles (m < MR or n < NR) run the very
 * same loop and only the write-back differs: through a scratch tile, storing the
 * valid part, with the same single add.
 */

#ifndef UKR_PREFETCH_K
/* Rows of b the k loop asks for ahead of its loads: b streams from L2 (or, read in
 * place, from memory).  Against none, AVX-512, two builds timed alternately in one
 * process (as python bench/ab_builds.py gemm OLD NEW does): float32 1.08-1.09x on
 * wide's three products on one core, 1.06-1.09x on two, 0.98-1.06x on mnist's;
 * float64 1.04-1.05x on wide's; small products and the AVX2 path within noise
 * (±3%).  16 rows ahead did as well as 8, 4 slightly worse; asking for C's tile
 * ahead too gained nothing. */
#define UKR_PREFETCH_K 8
#endif

UKR_ATTR static void UKR_NAME(ptrdiff_t kc, const T *restrict a, ptrdiff_t sa,
                              const T *restrict b, ptrdiff_t sb, T *restrict c,
                              ptrdiff_t ldc, int m, int n, int first)
{
    V acc[MR][NV];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++)
            acc[i][v] = V_ZERO();

    for (ptrdiff_t k = 0; k < kc; k++, a += sa, b += sb) {
        V bv[NV];
#pragma GCC unroll 8
        for (int j = 0; j < NV * VL; j += 64 / (int)sizeof(T))   /* each line of b's row */
            __builtin_prefetch(b + UKR_PREFETCH_K * sb + j, 0, 3);  /* UKR_PREFETCH_K ahead */
        __builtin_prefetch(b + UKR_PREFETCH_K * sb + NV * VL - 1, 0, 3);
#pragma GCC unroll 8
        for (int v = 0; v < NV; v++)
            bv[v] = V_LOAD(b + v * VL);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            V ai = V_BCAST(a[i]);
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++)
                acc[i][v] = V_FMA(ai, bv[v], acc[i][v]);
        }
    }

    if (m == MR && n == NV * VL) {
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++) {
                T *p = c + i * ldc + v * VL;
                V_STORE(p, first ? acc[i][v] : V_ADD(V_LOAD(p), acc[i][v]));
            }
    } else {
        T tile[MR * NV * VL] __attribute__((aligned(64)));
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++)
                V_STORE(tile + (i * NV + v) * VL, acc[i][v]);
        WRITEBACK(c, ldc, tile, NV * VL, m, n, first);
    }
}

#undef UKR_NAME
#undef MR
