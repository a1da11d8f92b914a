/* Vectorisable exp, tanh, sigmoid and elu rows for the activations (activations.pxd).
 *
 * libm's expf / tanhf are scalar calls, so a loop over them cannot use the
 * vector unit; these are branch-free formulas gcc vectorises in each clone
 * (clones.h).  Only + - * /, conversions and selects between computed values:
 * with -ffp-contract=off every clone gives the same bits.
 *
 * expp(a) = e^a for 0 <= a <= EXP_CAP (callers clamp): a = n ln2 + r with
 * |r| <= ln2/2 (Cody-Waite: ln2 in a high part exact for any such n and a low
 * part), e^r by its Taylor polynomial (degree 7 float: 5e-9 relative;
 * degree 13 double: 4e-18), times 2^n built in the exponent field.
 * tanh: |x| < 0.3 by its Taylor series (x^11 float: 2e-9; x^21 double: 2e-16);
 * beyond, 1 - 2/(e^{2|x|} + 1) (at most 2.4x cancellation at 0.3), clamped
 * where tanh rounds to 1; the sign restored.
 * sigmoid: as the scalar form, e = e^{-|z|} (as (1/e^{|z|/2})^2, so it fades
 * through the subnormals to an exact 0), r = 1/(1+e), then r (z >= 0) or e r,
 * and the other one as 1 - sigmoid (swish, gelu_tanh and their derivatives).
 * NaN propagates: the callers' clamps let it pass and expp adds a - a (0, or
 * NaN); expp's integer part comes from bits, not a conversion (gcc will not
 * vectorise a select that feeds a float-to-int conversion).
 */
#ifndef MLPF_VMATH_H
#define MLPF_VMATH_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "clones.h"

/* The clamps and abs values are selects, which gcc keeps as branches under its
 * default -ftrapping-math (an ordered compare may raise a flag), and a branchy
 * loop stays scalar.  No flag is read here and no value depends on it, so
 * these functions alone are built without it. */
#pragma GCC push_options
#pragma GCC optimize("no-trapping-math")

static inline float mlpf_expp_f32(float a)
{
    /* n = round(a log2 e) by adding 1.5 2^23 (its low bits then hold n): no
     * float-to-int conversion, which a NaN would make undefined */
    const float t = a * 1.44269504088896341f + 12582912.0f, n = t - 12582912.0f;
    int32_t tb;
    memcpy(&tb, &t, sizeof tb);
    const float r = (a - n * 0.693359375f) - n * -2.12194440e-4f;
    float p = 1.98412698e-4f;
    p = p * r + 1.38888889e-3f;
    p = p * r + 8.33333333e-3f;
    p = p * r + 4.16666667e-2f;
    p = p * r + 1.66666667e-1f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const int32_t bits = (tb - 0x4B400000 + 127) * (1 << 23);
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale + (a - a);                 /* a - a: 0, or NaN for a NaN a */
}

static inline double mlpf_expp_f64(double a)
{
    const double t = a * 1.44269504088896338700e+00 + 6755399441055744.0,
                 n = t - 6755399441055744.0;
    int64_t tb;
    memcpy(&tb, &t, sizeof tb);
    const double r = (a - n * 6.93147180369123816490e-01) - n * 1.90821492927058770002e-10;
    double p = 1.60590438368216133e-10;
    p = p * r + 2.08767569878681002e-09;
    p = p * r + 2.50521083854417202e-08;
    p = p * r + 2.75573192239858883e-07;
    p = p * r + 2.75573192239858925e-06;
    p = p * r + 2.48015873015873016e-05;
    p = p * r + 1.98412698412698413e-04;
    p = p * r + 1.38888888888888894e-03;
    p = p * r + 8.33333333333333322e-03;
    p = p * r + 4.16666666666666644e-02;
    p = p * r + 1.66666666666666657e-01;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    const int64_t bits = (tb - 0x4338000000000000LL + 1023) * ((int64_t)1 << 52);
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale + (a - a);
}

/* tanh(x) */
static inline float mlpf_tanh_f32(float x)
{
    /* w: 1 on the series' side; each side's input is clamped to it, so both stay finite */
    const float a = x < 0 ? -x : x, w = (float)(a < 0.3f);
    const float xs = a < 0.3f ? x : 0.0f, x2 = xs * xs;
    const float t = a > 9.5f ? 9.5f : a;
    float s = -8.86323553e-3f;                       /* x (1 + x^2 (-1/3 + x^2 (2/15 ...))) */
    s = s * x2 + 2.18694885e-2f;
    s = s * x2 - 5.39682540e-2f;
    s = s * x2 + 1.33333333e-1f;
    s = s * x2 - 3.33333333e-1f;
    const float small = xs * (1.0f + x2 * s);        /* keeps the sign of a zero */
    const float big = 1.0f - 2.0f / (mlpf_expp_f32(t + t) + 1.0f);   /* tanh(9.5) rounds to 1 */
    const float sbig = __builtin_copysignf(big, x);
    /* a 0/1 blend (exact: both sides finite), not a select: gcc keeps a select
     * between results of a division branchy, and so scalar */
    return small * w + sbig * (1.0f - w);
}

static inline double mlpf_tanh_f64(double x)
{
    const double a = x < 0 ? -x : x, w = (double)(a < 0.3);
    const double xs = a < 0.3 ? x : 0.0, x2 = xs * xs;
    const double t = a > 19.5 ? 19.5 : a;
    double s = 9.69153795692945095e-05;
    s = s * x2 - 2.39129114243552478e-04;
    s = s * x2 + 5.90027440945585947e-04;
    s = s * x2 - 1.45583438705131833e-03;
    s = s * x2 + 3.59212803657248114e-03;
    s = s * x2 - 8.86323552990219733e-03;
    s = s * x2 + 2.18694885361552030e-02;
    s = s * x2 - 5.39682539682539708e-02;
    s = s * x2 + 1.33333333333333331e-01;
    s = s * x2 - 3.33333333333333315e-01;
    const double small = xs * (1.0 + x2 * s);
    const double big = 1.0 - 2.0 / (mlpf_expp_f64(t + t) + 1.0);    /* tanh(19.5) rounds to 1 */
    const double sbig = __builtin_copysign(big, x);
    return small * w + sbig * (1.0 - w);
}

/* elu(z) = z (z > 0), alpha (e^z - 1) (z <= 0): e^z - 1 by its Taylor series for
 * -0.35 < z <= 0 (degree 8 float: 6e-10; 15 double: 2e-21), beyond as
 * (1/e^{|z|/2})^2 - 1 (at most 3.4x cancellation, and -1 exactly far out). */
static inline float mlpf_elu_f32(float z, float alpha)
{
    const float zp = z > 0 ? z : 0.0f, zn = z < 0 ? z : 0.0f, a = -zn;
    const float v = (float)(a < 0.35f), xs = a < 0.35f ? zn : 0.0f, t = a > 120.0f ? 120.0f : a;
    float p = 2.48015873e-5f;
    p = p * xs + 1.98412698e-4f;
    p = p * xs + 1.38888889e-3f;
    p = p * xs + 8.33333333e-3f;
    p = p * xs + 4.16666667e-2f;
    p = p * xs + 1.66666667e-1f;
    p = p * xs + 0.5f;
    const float g = 1.0f / mlpf_expp_f32(0.5f * t);
    const float em1 = (xs + xs * xs * p) * v + (g * g - 1.0f) * (1.0f - v);
    const float out = zp + alpha * em1;
    return z == z ? out : z;
}

static inline double mlpf_elu_f64(double z, double alpha)
{
    const double zp = z > 0 ? z : 0.0, zn = z < 0 ? z : 0.0, a = -zn;
    const double v = (double)(a < 0.35), xs = a < 0.35 ? zn : 0.0, t = a > 1400.0 ? 1400.0 : a;
    double p = 7.64716373181981641e-13;
    p = p * xs + 1.14707455977297245e-11;
    p = p * xs + 1.60590438368216133e-10;
    p = p * xs + 2.08767569878681002e-09;
    p = p * xs + 2.50521083854417202e-08;
    p = p * xs + 2.75573192239858883e-07;
    p = p * xs + 2.75573192239858925e-06;
    p = p * xs + 2.48015873015873016e-05;
    p = p * xs + 1.98412698412698413e-04;
    p = p * xs + 1.38888888888888894e-03;
    p = p * xs + 8.33333333333333322e-03;
    p = p * xs + 4.16666666666666644e-02;
    p = p * xs + 1.66666666666666657e-01;
    p = p * xs + 0.5;
    const double g = 1.0 / mlpf_expp_f64(0.5 * t);
    const double em1 = (xs + xs * xs * p) * v + (g * g - 1.0) * (1.0 - v);
    const double out = zp + alpha * em1;
    return z == z ? out : z;
}

/* sigmoid(z) = 1/(1 + e^-z), and 1 - sigmoid(z) in *comp, neither cancelling */
static inline float mlpf_sigmoid2_f32(float z, float *comp)
{
    const float a = z < 0 ? -z : z, t = a > 120.0f ? 120.0f : a, w = (float)(z >= 0);
    const float g = 1.0f / mlpf_expp_f32(0.5f * t), e = g * g;      /* e^-|z|, to 0 */
    const float r = 1.0f / (1.0f + e), er = e * r;
    *comp = er * w + r * (1.0f - w);
    return r * w + er * (1.0f - w);
}

static inline double mlpf_sigmoid2_f64(double z, double *comp)
{
    const double a = z < 0 ? -z : z, t = a > 1400.0 ? 1400.0 : a, w = (double)(z >= 0);
    const double g = 1.0 / mlpf_expp_f64(0.5 * t), e = g * g;
    const double r = 1.0 / (1.0 + e), er = e * r;
    *comp = er * w + r * (1.0 - w);
    return r * w + er * (1.0 - w);
}

/* Row drivers, A may be Z and D may be G (each element is read before it is
 * written).  Forward A = f(Z): tanh, sigmoid, swish z s(z), gelu_tanh z s(2u)
 * with 2u = c2 (x + k x^3) for z clamped to [-T, T], elu.  Backward D = G f'(Z):
 * softplus s(z); swish s (1 + z (1-s)); gelu_tanh s (1 + x du (1-s)),
 * du = c2 (1 + k3 x^2).
 * (The constants come from activations.pxd, their one home.) */
/* one row driver A = EXPR(x) per element x of Z (c: scratch for a complement) */
#define MLPF_DEF_MAP_ROWS(NAME, T, S, EXPR)                                          \
MLPF_CLONES static void mlpf_##NAME##_rows_##S(ptrdiff_t rows, ptrdiff_t n, const T *Z, \
                                               ptrdiff_t ldz, T *A, ptrdiff_t lda) {  \
    T c;                                                                             \
    (void)c;                                                                         \
    for (ptrdiff_t i = 0; i < rows; i++) {                                           \
        const T *z = Z + i * ldz; T *a = A + i * lda;                                \
        for (ptrdiff_t j = 0; j < n; j++) { T x = z[j]; a[j] = (EXPR); }             \
    }                                                                                \
}
#define MLPF_DEF_VACT(T, S)                                                          \
MLPF_DEF_MAP_ROWS(tanh, T, S, mlpf_tanh_##S(x))                                      \
MLPF_DEF_MAP_ROWS(sigmoid, T, S, mlpf_sigmoid2_##S(x, &c))                           \
MLPF_DEF_MAP_ROWS(swish, T, S, x * mlpf_sigmoid2_##S(x, &c))                         \
MLPF_CLONES static void mlpf_elu_rows_##S(ptrdiff_t rows, ptrdiff_t n, const T *Z,   \
        ptrdiff_t ldz, T *A, ptrdiff_t lda, T alpha) {                               \
    for (ptrdiff_t i = 0; i < rows; i++) {                                           \
        const T *z = Z + i * ldz; T *a = A + i * lda;                                \
        for (ptrdiff_t j = 0; j < n; j++) a[j] = mlpf_elu_##S(z[j], alpha);          \
    }                                                                                \
}                                                                                    \
MLPF_CLONES static void mlpf_gelu_tanh_rows_##S(ptrdiff_t rows, ptrdiff_t n, const T *Z, \
        ptrdiff_t ldz, T *A, ptrdiff_t lda, T clamp, T c2, T k) {                    \
    T c;                                                                             \
    for (ptrdiff_t i = 0; i < rows; i++) {                                           \
        const T *z = Z + i * ldz; T *a = A + i * lda;                                \
        for (ptrdiff_t j = 0; j < n; j++) {                                          \
            T zj = z[j], x = zj < clamp ? zj : clamp;                                \
            x = x > -clamp ? x : -clamp;                                             \
            a[j] = zj * mlpf_sigmoid2_##S(c2 * (x + k * x * x * x), &c);             \
        }                                                                            \
    }                                                                                \
}                                                                                    \
MLPF_CLONES static void mlpf_softplus_back_rows_##S(ptrdiff_t rows, ptrdiff_t n,      \
        const T *G, ptrdiff_t ldg, const T *Z, ptrdiff_t ldz, T *D, ptrdiff_t ldd) {  \
    for (ptrdiff_t i = 0; i < rows; i++) {                                           \
        const T *g = G + i * ldg, *z = Z + i * ldz; T *d = D + i * ldd;              \
        for (ptrdiff_t j = 0; j < n; j++) {                                          \
            T c, gj = g[j];                                                          \
            d[j] = gj * mlpf_sigmoid2_##S(z[j], &c);                                 \
        }                                                                            \
    }                                                                                \
}                                                                                    \
MLPF_CLONES static void mlpf_swish_back_rows_##S(ptrdiff_t rows, ptrdiff_t n, const T *G, \
        ptrdiff_t ldg, const T *Z, ptrdiff_t ldz, T *D, ptrdiff_t ldd) {             \
    for (ptrdiff_t i = 0; i < rows; i++) {                                           \
        const T *g = G + i * ldg, *z = Z + i * ldz; T *d = D + i * ldd;              \
        for (ptrdiff_t j = 0; j < n; j++) {                                          \
            T c, gj = g[j], zj = z[j], s = mlpf_sigmoid2_##S(zj, &c);                \
            d[j] = gj * (s * (1 + zj * c));                                          \
        }                                                                            \
    }                                                                                \
}                                                                                    \
MLPF_CLONES static void mlpf_gelu_tanh_back_rows_##S(ptrdiff_t rows, ptrdiff_t n,    \
        const T *G, ptrdiff_t ldg, const T *Z, ptrdiff_t ldz, T *D, ptrdiff_t ldd,    \
        T clamp, T c2, T k, T k3) {                                                  \
    for (ptrdiff_t i = 0; i < rows; i++) {                                           \
        const T *g = G + i * ldg, *z = Z + i * ldz; T *d = D + i * ldd;              \
        for (ptrdiff_t j = 0; j < n; j++) {                                          \
            T c, gj = g[j], x = z[j] < clamp ? z[j] : clamp;                         \
            x = x > -clamp ? x : -clamp;                                             \
            T s = mlpf_sigmoid2_##S(c2 * (x + k * x * x * x), &c);                   \
            T du = c2 * (1 + k3 * x * x);                                            \
            d[j] = gj * (s * (1 + x * du * c));                                      \
        }                                                                            \
    }                                                                                \
}
MLPF_DEF_VACT(float, f32)
MLPF_DEF_VACT(double, f64)
#undef MLPF_DEF_VACT
#undef MLPF_DEF_MAP_ROWS
#pragma GCC pop_options
#endif
