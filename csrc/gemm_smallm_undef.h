/* Ends one SIMD path's small-M parameters (see gemm_kernels.h). */
#undef MASK_T
#undef V_MASK
#undef V_MLOAD
#undef V_MSTORE
#undef SM_PATH
#undef SM_BIG
