/* Small-M kernel template: included once per (SIMD path, dtype, R, NV) by
 * gemm_kernels.h, with the path macros of gemm_ukernel.h plus
 *   SM_NAME    function name            R, NV    rows, vectors per row
 *   MASK_T     a lane mask type         V_MASK(n)           mask of the first n lanes
 *   V_MLOAD(p, k) / V_MSTORE(p, k, v)   masked load (zeros) / store
 * (SM_NAME, R and NV are #undef'd at the end.)
 *
 * c[0:R, 0:(NV-1)*VL + nlast] (=|+=) sum_k a[i*sai + k*sak] * b[k*ldb + j]
 *
 * For a few rows of op(A) against op(B) = B read in place (batch-1 inference:
 * x W with the weights row-major): no packing, each row of B loaded once per
 * k for all R rows, R x NV independent sums.  The last vector is masked, so a
 * ragged N is neither padded nor overread.  Every element gets the sequence of
 * gemm_ukernel.h: acc = 0; acc = fma(a_ik, b_kj, acc) for k in order; then
 * c = acc (first) or c = c + acc.
 */
#ifndef SM_PREFETCH
#define SM_PREFETCH 4            /* rows of B ahead */
#endif

/* The k loop, for a full last vector (masked = 0) or a masked one: a masked
 * load in the loop made the 784 x 256 layer 6.5 instead of 6.1 us on one core
 * (8.2 vs 5.8 in a standalone loop), so the kernel below instantiates both and
 * picks once per call. */
#define SM_K_LOOP(masked)                                                       \
    for (ptrdiff_t k = 0; k < kc; k++, a += sak, b += ldb) {                    \
        V bv[NV];                                                               \
        _Pragma("GCC unroll 16")                                                \
        for (int v = 0; v < NV - 1; v++)                                        \
            bv[v] = V_LOAD(b + v * VL);                                         \
        bv[NV - 1] = (masked) ? V_MLOAD(b + (NV - 1) * VL, mk)                  \
                              : V_LOAD(b + (NV - 1) * VL);                      \
        /* B comes from L2 (or beyond): ask for it a few rows ahead (about      \
         * 15% faster on the 784 x 256 layer than the hardware alone) */        \
        _Pragma("GCC unroll 16")                                                \
        for (int v = 0; v < NV; v++)                                            \
            __builtin_prefetch(b + SM_PREFETCH * ldb + v * VL, 0, 3);           \
        _Pragma("GCC unroll 8")                                                 \
        for (int i = 0; i < R; i++) {                                           \
            V ai = V_BCAST(a[i * sai]);                                         \
            _Pragma("GCC unroll 16")                                            \
            for (int v = 0; v < NV; v++)                                        \
                acc[i][v] = V_FMA(ai, bv[v], acc[i][v]);                        \
        }                                                                       \
    }

UKR_ATTR static void SM_NAME(ptrdiff_t kc, const T *restrict a, ptrdiff_t sai, ptrdiff_t sak,
                             const T *restrict b, ptrdiff_t ldb, T *restrict c, ptrdiff_t ldc,
                             int nlast, int first)
{
    V acc[R][NV];
    const MASK_T mk = V_MASK(nlast);
#pragma GCC unroll 8
    for (int i = 0; i < R; i++)
#pragma GCC unroll 16
        for (int v = 0; v < NV; v++)
            acc[i][v] = V_ZERO();

    if (nlast == VL)
        SM_K_LOOP(0)
    else
        SM_K_LOOP(1)

#pragma GCC unroll 8
    for (int i = 0; i < R; i++) {
        T *p = c + i * ldc;
#pragma GCC unroll 16
        for (int v = 0; v < NV - 1; v++)
            V_STORE(p + v * VL, first ? acc[i][v] : V_ADD(V_LOAD(p + v * VL), acc[i][v]));
        p += (NV - 1) * VL;
        V_MSTORE(p, mk, first ? acc[i][NV - 1] : V_ADD(V_MLOAD(p, mk), acc[i][NV - 1]));
    }
}

#undef SM_K_LOOP
#undef SM_NAME
#undef R
#undef NV
