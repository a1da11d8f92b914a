/* MLPF_CLONES: build a plain C loop for AVX-512, AVX2 and the baseline, picked
 * once at load time (gcc's target_clones; ifunc needs glibc, hence Linux).
 * The build uses -ffp-contract=off, so no clone fuses a product and a sum into
 * an FMA: every clone computes the same bits as the baseline. */
#ifndef MLPF_CLONES_H
#define MLPF_CLONES_H
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define MLPF_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MLPF_CLONES
#endif
#endif
