/* Ends one SIMD path's parameters for gemm_ukernel.h (see gemm_kernels.h). */
#undef UKR_ATTR
#undef V
#undef VL
#undef NV
#undef V_ZERO
#undef V_LOAD
#undef V_STORE
#undef V_BCAST
#undef V_ADD
#undef V_FMA
