/* Instantiates the small-M kernels (gemm_smallm.h) of one SIMD path: R rows in
 * {1, 2, 4, 8} times NV vectors in {1, 2, 4, 8, 16}, R * NV <= 8 (16 when SM_BIG:
 * 32 vector registers), named F(sm_<SM_PATH>_<R>_<NV>); SM_TABLE8 / SM_TABLE16
 * (gemm_kernels.h) list them for the kdesc. */
#define SM_CAT_(p, r, v) sm_##p##_##r##_##v
#define SM_CAT(p, r, v) SM_CAT_(p, r, v)
#define SM_F(n) F(n)
#define SM_NAME SM_F(SM_CAT(SM_PATH, 1, 1))
#define R 1
#define NV 1
#include "gemm_smallm.h"
#define SM_NAME SM_F(SM_CAT(SM_PATH, 1, 2))
#define R 1
#define NV 2
#include "gemm_smallm.h"
#define SM_NAME SM_F(SM_CAT(SM_PATH, 1, 4))
#define R 1
#define NV 4
#include "gemm_smallm.h"
#define SM_NAME SM_F(SM_CAT(SM_PATH, 1, 8))
#define R 1
#define NV 8
#include "gemm_smallm.h"
#if SM_BIG
#define SM_NAME SM_F(SM_CAT(SM_PATH, 1, 16))
#define R 1
#define NV 16
#include "gemm_smallm.h"
#endif
#define SM_NAME SM_F(SM_CAT(SM_PATH, 2, 1))
#define R 2
#define NV 1
#include "gemm_smallm.h"
#define SM_NAME SM_F(SM_CAT(SM_PATH, 2, 2))
#define R 2
#define NV 2
#include "gemm_smallm.h"
#define SM_NAME SM_F(SM_CAT(SM_PATH, 2, 4))
#define R 2
#define NV 4
#include "gemm_smallm.h"
#if SM_BIG
#define SM_NAME SM_F(SM_CAT(SM_PATH, 2, 8))
#define R 2
#define NV 8
#include "gemm_smallm.h"
#endif
#define SM_NAME SM_F(SM_CAT(SM_PATH, 4, 1))
#define R 4
#define NV 1
#include "gemm_smallm.h"
#define SM_NAME SM_F(SM_CAT(SM_PATH, 4, 2))
#define R 4
#define NV 2
#include "gemm_smallm.h"
#if SM_BIG
#define SM_NAME SM_F(SM_CAT(SM_PATH, 4, 4))
#define R 4
#define NV 4
#include "gemm_smallm.h"
#endif
#define SM_NAME SM_F(SM_CAT(SM_PATH, 8, 1))
#define R 8
#define NV 1
#include "gemm_smallm.h"
#if SM_BIG
#define SM_NAME SM_F(SM_CAT(SM_PATH, 8, 2))
#define R 8
#define NV 2
#include "gemm_smallm.h"
#endif
#undef SM_CAT_
#undef SM_CAT
#undef SM_F
