/* Vectorisable exp, tanh, sigmoid, softplus, elu and gelu rows for the
 * activations (activations.pxd), and the exponentials of softmax and of the
 * binary cross-entropy (losses.pxd).
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
 * softplus: max(z, 0) + log1p(e^{-|z|}), log1p(e) for e in [0, 1] as
 * log u + (e - (u - 1))/u with u = 1 + e = 2^k f, f in [sqrt(1/2), sqrt(2)),
 * log f = 2 atanh((f-1)/(f+1)) by its odd series (to s^9 float: 2e-9;
 * s^21 double: 2e-17).
 * NaN propagates: the callers' clamps let it pass, and in expp it makes r and so
 * the polynomial NaN; expp's integer part comes from bits, not a conversion (gcc
 * will not vectorise a select that feeds a float-to-int conversion).
 *
 * The functions are written once, in vmath_t.h, for T = float and double; the
 * polynomial coefficients are one table each, here, rounded to T where used.
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

/* 1/k!, k = 0..15: the Taylor coefficients of e^r (exp) and of e^z - 1 (elu) */
static const double mlpf_inv_fact[16] = {
    1.0, 1.0, 0.5, 1.66666666666666657e-01, 4.16666666666666644e-02,
    8.33333333333333322e-03, 1.38888888888888894e-03, 1.98412698412698413e-04,
    2.48015873015873016e-05, 2.75573192239858925e-06, 2.75573192239858883e-07,
    2.50521083854417202e-08, 2.08767569878681002e-09, 1.60590438368216133e-10,
    1.14707455977297245e-11, 7.64716373181981641e-13};
/* tanh(x) = x (1 + x^2 (c0 + x^2 (c1 + ...))): the Taylor coefficients of x^3,
 * x^5, ..., x^21 (2^2n (2^2n - 1) B_2n / (2n)!) */
static const double mlpf_tanh_series[10] = {
    -3.33333333333333315e-01, 1.33333333333333331e-01, -5.39682539682539708e-02,
    2.18694885361552030e-02, -8.86323552990219733e-03, 3.59212803657248114e-03,
    -1.45583438705131833e-03, 5.90027440945585947e-04, -2.39129114243552478e-04,
    9.69153795692945095e-05};
/* log f = 2 s (1 + s^2 (c0 + s^2 (c1 + ...))), s = (f-1)/(f+1): the atanh series'
 * 1/3, 1/5, ..., 1/21 */
static const double mlpf_atanh_series[10] = {
    3.33333333333333315e-01, 2.00000000000000011e-01, 1.42857142857142849e-01,
    1.11111111111111105e-01, 9.09090909090909116e-02, 7.69230769230769273e-02,
    6.66666666666666657e-02, 5.88235294117647051e-02, 5.26315789473684181e-02,
    4.76190476190476164e-02};
/* The normal CDF Phi (gelu).  For |z| < MLPF_PHI_SPLIT, Phi(z) = 1/2 + phi0 z
 * (c0 + z^2 (c1 + ...)): mlpf_phi_series holds the Taylor coefficients
 * (-1)^n / (2^n n! (2n+1)).  Beyond, Phi(-a) = e^{-a^2/2} g(u) / a with
 * u = MLPF_PHI_SPLIT / a: g(u) = a e^{a^2/2} Phi(-a) is smooth on (0, 1] and
 * mlpf_phi_cheb_* hold its Chebyshev series on [lo, 1] (least squares on 600
 * Chebyshev nodes against 40-digit values: float 10th degree on [0.1, 1],
 * within 3e-8; double 26th degree on [0.039, 1], within 8e-15; Phi(-a)
 * underflows past a = 15 (float) and 38.5 (double)). */
#define MLPF_PHI_SPLIT 1.5
static const double mlpf_inv_sqrt2pi = 3.98942280401432703e-01;
static const double mlpf_phi_cheb_f32[11] = {
    3.56217649408541059e-01, -4.58497426712649869e-02, -3.03397571304753633e-03,
    1.58318056336914387e-03, -2.60851495964310081e-04, 8.82905510635445987e-06,
    8.35099369461130914e-06, -2.92597276102390856e-06, 5.20094631661582506e-07,
    -1.81448261543492244e-08, -2.34084207247245149e-08};
static const double mlpf_phi_cheb_f64[27] = {
    3.58355655821539387e-01, -4.70760850575827686e-02, -4.37564132357103498e-03,
    2.08430365251783449e-03, -3.26098365862209378e-04, -4.07081883798097394e-06,
    1.75047777515288907e-05, -5.33054032694678717e-06, 7.37558910006970722e-07,
    8.67814275782408869e-08, -8.43450558825491772e-08, 2.65617574548053729e-08,
    -4.20622560407154397e-09, -3.98364781246420460e-10, 5.27719399189292202e-10,
    -1.98842381879001959e-10, 4.24465240798351586e-11, -1.14295166719118141e-12,
    -3.52936545076228342e-12, 1.81592865853756107e-12, -5.36467301229903966e-13,
    8.08770716005521035e-14, 1.54284071373630209e-14, -1.66057583519214093e-14,
    7.00682307144013576e-15, -1.82119507340353623e-15, 2.11984596807067101e-16};
static const double mlpf_phi_series[20] = {
    1.00000000000000000e+00, -1.66666666666666657e-01, 2.50000000000000014e-02,
    -2.97619047619047603e-03, 2.89351851851851836e-04, -2.36742424242424242e-05,
    1.66933760683760684e-06, -1.03339947089947094e-07, 5.69889414098972883e-09,
    -2.83278363733407588e-10, 1.28149735974636776e-11, -5.31846730329520171e-13,
    2.03874579959649407e-14, -7.26049073930375416e-16, 2.41420258572908062e-17,
    -7.52815860066057452e-19, 2.20997080133028227e-20, -6.12849045747053015e-22,
    1.61033908417018441e-23, -4.02041471756388839e-25};
static const double mlpf_log2e = 1.44269504088896338700e+00;
static const double mlpf_sqrt2 = 1.41421356237309514547e+00;

/* per dtype: the exponent field (integer type, mantissa bits, bias), the
 * rounding constant 1.5 2^MANT and its bits, ln2 split high/low (high part
 * exact times any n in range), polynomial degrees, the |x| where tanh rounds
 * to 1, the |z| beyond which e^-|z| is 0 (or its square is), copysign */
#define T float
#define F(name) mlpf_##name##_f32
#define VM_INT int32_t
#define VM_MANT 23
#define VM_BIAS 127
#define VM_ROUND 12582912.0f
#define VM_ROUND_BITS 0x4B400000
#define VM_LN2_HI 0.693359375f
#define VM_LN2_LO -2.12194440e-4f
#define VM_EXP_DEG 7
#define VM_EM1_DEG 8
#define VM_TANH_TERMS 5
#define VM_LOG_TERMS 4
#define VM_TANH_ONE 9.5f
#define VM_EXP_CLAMP 120.0f
#define VM_COPYSIGN __builtin_copysignf
#define VM_PHI_TERMS 11
#define VM_PHI_CHEB mlpf_phi_cheb_f32
#define VM_PHI_DEG 10
#define VM_PHI_LO 0.1f
#include "vmath_t.h"

#define T double
#define F(name) mlpf_##name##_f64
#define VM_INT int64_t
#define VM_MANT 52
#define VM_BIAS 1023
#define VM_ROUND 6755399441055744.0
#define VM_ROUND_BITS 0x4338000000000000LL
#define VM_LN2_HI 6.93147180369123816490e-01
#define VM_LN2_LO 1.90821492927058770002e-10
#define VM_EXP_DEG 13
#define VM_EM1_DEG 15
#define VM_TANH_TERMS 10
#define VM_LOG_TERMS 10
#define VM_TANH_ONE 19.5
#define VM_EXP_CLAMP 1400.0
#define VM_COPYSIGN __builtin_copysign
#define VM_PHI_TERMS 19
#define VM_PHI_CHEB mlpf_phi_cheb_f64
#define VM_PHI_DEG 26
#define VM_PHI_LO 0.039
#include "vmath_t.h"

#pragma GCC pop_options
#endif
