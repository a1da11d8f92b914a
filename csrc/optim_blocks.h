/* The element loops of the optimisers (optim.pxd has the formulas, the scalar
 * factors and the threading): θ, the state and g over [0, n), in the array's
 * type, each element on its own.  Vector clones (clones.h) of the same
 * operations in the same order: sqrt and / are correctly rounded in every
 * width, so each clone gives the baseline's bits. */
#ifndef MLPF_OPTIM_BLOCKS_H
#define MLPF_OPTIM_BLOCKS_H
#include <math.h>
#include <stddef.h>
#include "clones.h"

#define MLPF_DEF_OPTIM_BLOCKS(T, S, SQRT)                                                  \
/* θ ← θ - ε g */                                                                          \
MLPF_CLONES static void mlpf_sgd_block_##S(ptrdiff_t n, T *restrict theta,                 \
                                           const T *restrict g, T lr) {                     \
    for (ptrdiff_t i = 0; i < n; i++) theta[i] = theta[i] - lr * g[i];                     \
}                                                                                           \
/* v ← α v - ε g ; θ ← θ + v, or (Nesterov) θ ← θ + (α v - ε g) with the new v */          \
MLPF_CLONES static void mlpf_momentum_block_##S(ptrdiff_t n, T *restrict theta,            \
        T *restrict v, const T *restrict g, T lr, T alpha, int nesterov) {                  \
    if (nesterov)                                                                           \
        for (ptrdiff_t i = 0; i < n; i++) {                                                 \
            T step = lr * g[i], vi = alpha * v[i] - step;                                   \
            v[i] = vi;                                                                      \
            theta[i] = theta[i] + (alpha * vi - step);                                      \
        }                                                                                   \
    else                                                                                    \
        for (ptrdiff_t i = 0; i < n; i++) {                                                 \
            T vi = alpha * v[i] - lr * g[i];                                                \
            v[i] = vi;                                                                      \
            theta[i] = theta[i] + vi;                                                       \
        }                                                                                   \
}                                                                                           \
/* r ← ρ r + (1-ρ) g² ; θ ← θ - ε g / (√r + δ) */                                          \
MLPF_CLONES static void mlpf_rms_block_##S(ptrdiff_t n, T *restrict theta, T *restrict r,  \
        const T *restrict g, T lr, T rho, T one_m_rho, T eps) {                             \
    for (ptrdiff_t i = 0; i < n; i++) {                                                     \
        T gi = g[i], ri = rho * r[i] + one_m_rho * (gi * gi);                               \
        r[i] = ri;                                                                          \
        theta[i] = theta[i] - lr * gi / (SQRT(ri) + eps);                                   \
    }                                                                                       \
}                                                                                           \
/* s ← β1 s + (1-β1) g ; r ← β2 r + (1-β2) g² ;                                             \
   θ ← (θ - decay θ) - step s / (√r rsqrt_c2 + δ) */                                        \
MLPF_CLONES static void mlpf_adam_block_##S(ptrdiff_t n, T *restrict theta, T *restrict s, \
        T *restrict r, const T *restrict g, T b1, T one_m_b1, T b2, T one_m_b2, T step,     \
        T rsqrt_c2, T eps, T decay) {                                                       \
    for (ptrdiff_t i = 0; i < n; i++) {                                                     \
        T gi = g[i], si = b1 * s[i] + one_m_b1 * gi, ri = b2 * r[i] + one_m_b2 * (gi * gi); \
        s[i] = si;                                                                          \
        r[i] = ri;                                                                          \
        T th = theta[i];                                                                    \
        theta[i] = (th - decay * th) - step * si / (SQRT(ri) * rsqrt_c2 + eps);             \
    }                                                                                       \
}

MLPF_DEF_OPTIM_BLOCKS(float, f32, sqrtf)
MLPF_DEF_OPTIM_BLOCKS(double, f64, sqrt)
#undef MLPF_DEF_OPTIM_BLOCKS
#endif
