/* vmath.h's functions for one dtype: included by vmath.h with T, F(name) and
 * the VM_* constants defined, all of which it #undefs at the end.  (See
 * vmath.h for the formulas and their accuracy.) */

/* e^a for 0 <= a <= VM_EXP_CLAMP (or NaN) */
static inline T F(expp)(T a)
{
    /* n = round(a log2 e) by adding 1.5 2^MANT (its low bits then hold n): no
     * float-to-int conversion, which a NaN would make undefined */
    const T t = a * (T)mlpf_log2e + VM_ROUND, n = t - VM_ROUND;
    VM_INT tb;
    memcpy(&tb, &t, sizeof tb);
    const T r = (a - n * VM_LN2_HI) - n * VM_LN2_LO;
    T p = (T)mlpf_inv_fact[VM_EXP_DEG];
#pragma GCC unroll 16
    for (int k = VM_EXP_DEG - 1; k >= 0; k--) p = p * r + (T)mlpf_inv_fact[k];
    const VM_INT bits = (tb - VM_ROUND_BITS + VM_BIAS) * ((VM_INT)1 << VM_MANT);
    T scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;                           /* a NaN a made r, and so p, NaN */
}

/* tanh(x) */
static inline T F(tanh)(T x)
{
    /* w: 1 on the series' side; each side's input is clamped to it, so both stay finite */
    const T a = x < 0 ? -x : x, w = (T)(a < (T)0.3);
    const T xs = a < (T)0.3 ? x : 0, x2 = xs * xs;
    const T t = a > VM_TANH_ONE ? VM_TANH_ONE : a;
    T s = (T)mlpf_tanh_series[VM_TANH_TERMS - 1];
#pragma GCC unroll 16
    for (int k = VM_TANH_TERMS - 2; k >= 0; k--) s = s * x2 + (T)mlpf_tanh_series[k];
    const T small = xs * (1 + x2 * s);               /* keeps the sign of a zero */
    const T big = 1 - 2 / (F(expp)(t + t) + 1);      /* 1 at VM_TANH_ONE */
    const T sbig = VM_COPYSIGN(big, x);
    /* a 0/1 blend (exact: both sides finite), not a select: gcc keeps a select
     * between results of a division branchy, and so scalar */
    return small * w + sbig * (1 - w);
}

/* e^-a for a >= 0 (or NaN): (1/e^{a/2})^2, which fades through the subnormals to 0 */
static inline T F(expneg)(T a)
{
    const T t = a > VM_EXP_CLAMP ? VM_EXP_CLAMP : a;
    const T g = 1 / F(expp)((T)0.5 * t);
    return g * g;
}

/* elu(z) = z (z > 0), alpha (e^z - 1) (z <= 0) */
static inline T F(elu)(T z, T alpha)
{
    const T zp = z > 0 ? z : 0, zn = z < 0 ? z : 0, a = -zn;
    const T v = (T)(a < (T)0.35), xs = a < (T)0.35 ? zn : 0;
    T p = (T)mlpf_inv_fact[VM_EM1_DEG];
#pragma GCC unroll 16
    for (int k = VM_EM1_DEG - 1; k >= 2; k--) p = p * xs + (T)mlpf_inv_fact[k];
    const T em1 = (xs + xs * xs * p) * v + (F(expneg)(a) - 1) * (1 - v);
    const T out = zp + alpha * em1;
    return z == z ? out : z;
}

/* log1p(e) for 0 <= e <= 1 (or NaN) */
static inline T F(log1p01)(T e)
{
    const T u = 1 + e, k = (T)(u >= (T)mlpf_sqrt2);   /* u = 2^k f */
    const T f = u * (1 - (T)0.5 * k);                    /* exact */
    const T s = (f - 1) / (f + 1), s2 = s * s;
    T p = (T)mlpf_atanh_series[VM_LOG_TERMS - 1];
#pragma GCC unroll 16
    for (int i = VM_LOG_TERMS - 2; i >= 0; i--) p = p * s2 + (T)mlpf_atanh_series[i];
    const T log_f = 2 * s + 2 * s * (s2 * p);
    const T c = (e - (u - 1)) / u;                       /* 1 + e's rounding, to first order */
    return k * VM_LN2_HI + (log_f + (c + k * VM_LN2_LO));
}

/* Phi(z), the normal CDF (= erfc(-z/sqrt 2) / 2), and phi(z) = e^{-z^2/2} / sqrt(2 pi)
 * in *pdf (see vmath.h's tables); both sides are computed on clamped inputs and
 * blended, so each stays finite and a NaN z passes through the large side */
static inline T F(normal_cdf)(T z, T *pdf)
{
    const T a = z < 0 ? -z : z, w = (T)(a < (T)MLPF_PHI_SPLIT);
    const T e = F(expneg)((T)0.5 * a * a);
    const T zs = a < (T)MLPF_PHI_SPLIT ? z : 0, z2 = zs * zs;
    T s = (T)mlpf_phi_series[VM_PHI_TERMS - 1];
#pragma GCC unroll 20
    for (int k = VM_PHI_TERMS - 2; k >= 0; k--) s = s * z2 + (T)mlpf_phi_series[k];
    const T small = (T)0.5 + (T)mlpf_inv_sqrt2pi * zs * s;
    const T al = a < (T)MLPF_PHI_SPLIT ? (T)MLPF_PHI_SPLIT : a;
    const T u0 = (T)MLPF_PHI_SPLIT / al, u = u0 < VM_PHI_LO ? VM_PHI_LO : u0;
    /* u in [lo, 1] to x in [-1, 1]; multiplications by constants, not divisions */
    const double lo = VM_PHI_LO;
    const T x = u * (T)(2 / (1 - lo)) - (T)((1 + lo) / (1 - lo));
    const T x2 = x + x;
    T b1 = 0, b2 = 0;                            /* Clenshaw */
#pragma GCC unroll 30
    for (int k = VM_PHI_DEG; k >= 1; k--) {
        const T b0 = (T)VM_PHI_CHEB[k] + x2 * b1 - b2;
        b2 = b1;
        b1 = b0;
    }
    const T g = (T)VM_PHI_CHEB[0] + x * b1 - b2;
    const T tail = e * (u0 * (T)(1 / MLPF_PHI_SPLIT)) * g; /* Phi(-a) = e g / a */
    const T big = z < 0 ? tail : 1 - tail;
    *pdf = (T)mlpf_inv_sqrt2pi * e;
    return small * w + big * (1 - w);
}

/* sigmoid(z) = 1/(1 + e^-z) from e = e^-|z|, and 1 - sigmoid(z) in *comp,
 * neither cancelling */
static inline T F(sigmoid_e)(T z, T e, T *comp)
{
    const T w = (T)(z >= 0), r = 1 / (1 + e), er = e * r;
    *comp = er * w + r * (1 - w);
    return r * w + er * (1 - w);
}

static inline T F(sigmoid2)(T z, T *comp)
{
    return F(sigmoid_e)(z, F(expneg)(z < 0 ? -z : z), comp);
}

/* Row drivers, A may be Z and D may be G (each element is read before it is
 * written).  Forward A = f(Z): tanh, sigmoid, swish z s(z), softplus, gelu, elu,
 * gelu_tanh z s(2u) with 2u = c2 (x + k x^3) for z clamped to [-clamp, clamp].
 * Backward D = G f'(Z): softplus, swish and gelu as above; gelu_tanh
 * s (1 + x du (1-s)), du = c2 (1 + k3 x^2).  (alpha, clamp, c2, k, k3 come
 * from activations.pxd, their one home.) */
/* A = EXPR(x) for each element x of Z (c: scratch for a complement) */
#define VM_MAP_ROWS(NAME, EXPR)                                                       \
MLPF_CLONES static void F(NAME)(ptrdiff_t rows, ptrdiff_t n, const T *Z, ptrdiff_t ldz, \
                                T *A, ptrdiff_t lda) {                                \
    T c;                                                                              \
    (void)c;                                                                          \
    for (ptrdiff_t i = 0; i < rows; i++) {                                            \
        const T *z = Z + i * ldz; T *a = A + i * lda;                                 \
        for (ptrdiff_t j = 0; j < n; j++) { T x = z[j]; a[j] = (EXPR); }              \
    }                                                                                 \
}
/* f'(x) of the backward drivers: softplus s; swish s (1 + x (1-s)), s = sigmoid(x);
 * gelu Phi(x) + x phi(x) */
static inline T F(softplus_d)(T x)
{
    T c;
    return F(sigmoid2)(x, &c);
}

static inline T F(swish_d)(T x)
{
    T c;
    const T s = F(sigmoid2)(x, &c);
    return s * (1 + x * c);
}

static inline T F(gelu_d)(T x)
{
    T pdf;
    const T cdf = F(normal_cdf)(x, &pdf);
    return cdf + x * pdf;
}

/* D = G * DERIV(x) for each element x of Z */
#define VM_BACK_ROWS(NAME, DERIV)                                                     \
MLPF_CLONES static void F(NAME)(ptrdiff_t rows, ptrdiff_t n, const T *G, ptrdiff_t ldg, \
                                const T *Z, ptrdiff_t ldz, T *D, ptrdiff_t ldd) {     \
    for (ptrdiff_t i = 0; i < rows; i++) {                                            \
        const T *g = G + i * ldg, *z = Z + i * ldz; T *d = D + i * ldd;               \
        for (ptrdiff_t j = 0; j < n; j++) d[j] = g[j] * DERIV(z[j]);                  \
    }                                                                                 \
}
VM_MAP_ROWS(tanh_rows, F(tanh)(x))
VM_MAP_ROWS(sigmoid_rows, F(sigmoid2)(x, &c))
VM_MAP_ROWS(swish_rows, x * F(sigmoid2)(x, &c))
VM_MAP_ROWS(softplus_rows, (x > 0 ? x : 0) + F(log1p01)(F(expneg)(x < 0 ? -x : x)))
VM_MAP_ROWS(gelu_rows, x * F(normal_cdf)(x, &c))
VM_BACK_ROWS(softplus_back_rows, F(softplus_d))
VM_BACK_ROWS(swish_back_rows, F(swish_d))
VM_BACK_ROWS(gelu_back_rows, F(gelu_d))
#undef VM_MAP_ROWS
#undef VM_BACK_ROWS

/* Softmax's pieces (losses.pxd), the max and the sum in 8 lanes (lane k: elements
 * k, k + 8, ..., in order; then a fixed tree), so every clone gives the same
 * bits without a scalar loop's latency chain. */
/* max Z[0:n], n >= 1, NaNs after Z[0] ignored (as a scan with >) */
MLPF_CLONES static T F(max_lanes)(ptrdiff_t n, const T *Z)
{
    T mx[8];
    const ptrdiff_t n8 = n - n % 8;
    for (int k = 0; k < 8; k++) mx[k] = Z[0];
    for (ptrdiff_t j = 0; j < n8; j += 8)
        for (int k = 0; k < 8; k++) mx[k] = Z[j + k] > mx[k] ? Z[j + k] : mx[k];
    T m = mx[0];
    for (int k = 1; k < 8; k++) m = mx[k] > m ? mx[k] : m;
    for (ptrdiff_t j = n8; j < n; j++) m = Z[j] > m ? Z[j] : m;
    return m;
}

/* Σ P[0:n] in double */
MLPF_CLONES static double F(sum_lanes)(ptrdiff_t n, const T *P)
{
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    const ptrdiff_t n8 = n - n % 8;
    for (ptrdiff_t j = 0; j < n8; j += 8)
        for (int k = 0; k < 8; k++) acc[k] += (double)P[j + k];
    double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (ptrdiff_t j = n8; j < n; j++) s += (double)P[j];
    return s;
}

/* P = e^-P over n elements, each P >= 0 (or NaN): one pass over a whole block of
 * rows, so short rows (10 classes) still fill the vectors */
MLPF_CLONES static void F(expneg_inplace)(ptrdiff_t n, T *P)
{
    for (ptrdiff_t j = 0; j < n; j++) P[j] = F(expneg)(P[j]);
}

/* The binary cross-entropy's exponentials (losses.pxd): P = sigmoid(z) and
 * Q = log(1 + e^-|z|) over n elements, both from one e^-|z| */
MLPF_CLONES static void F(sigmoid_log1p)(ptrdiff_t n, const T *Z, T *P, T *Q)
{
    for (ptrdiff_t j = 0; j < n; j++) {
        T c;
        const T z = Z[j], e = F(expneg)(z < 0 ? -z : z);
        P[j] = F(sigmoid_e)(z, e, &c);
        Q[j] = F(log1p01)(e);
    }
}

MLPF_CLONES static void F(elu_rows)(ptrdiff_t rows, ptrdiff_t n, const T *Z, ptrdiff_t ldz,
                                    T *A, ptrdiff_t lda, T alpha)
{
    for (ptrdiff_t i = 0; i < rows; i++) {
        const T *z = Z + i * ldz;
        T *a = A + i * lda;
        for (ptrdiff_t j = 0; j < n; j++) a[j] = F(elu)(z[j], alpha);
    }
}

/* x = z clamped to [-clamp, clamp] (a NaN z gives clamp, as the scalar form did) */
static inline T F(gelu_clamp)(T z, T clamp)
{
    const T x = z < clamp ? z : clamp;
    return x > -clamp ? x : -clamp;
}

MLPF_CLONES static void F(gelu_tanh_rows)(ptrdiff_t rows, ptrdiff_t n, const T *Z,
                                          ptrdiff_t ldz, T *A, ptrdiff_t lda, T clamp, T c2,
                                          T k)
{
    T c;
    for (ptrdiff_t i = 0; i < rows; i++) {
        const T *z = Z + i * ldz;
        T *a = A + i * lda;
        for (ptrdiff_t j = 0; j < n; j++) {
            const T zj = z[j], x = F(gelu_clamp)(zj, clamp);
            a[j] = zj * F(sigmoid2)(c2 * (x + k * x * x * x), &c);
        }
    }
}

MLPF_CLONES static void F(gelu_tanh_back_rows)(ptrdiff_t rows, ptrdiff_t n, const T *G,
                                               ptrdiff_t ldg, const T *Z, ptrdiff_t ldz, T *D,
                                               ptrdiff_t ldd, T clamp, T c2, T k, T k3)
{
    for (ptrdiff_t i = 0; i < rows; i++) {
        const T *g = G + i * ldg, *z = Z + i * ldz;
        T *d = D + i * ldd;
        for (ptrdiff_t j = 0; j < n; j++) {
            T c;
            const T gj = g[j], x = F(gelu_clamp)(z[j], clamp);
            const T s = F(sigmoid2)(c2 * (x + k * x * x * x), &c);
            const T du = c2 * (1 + k3 * x * x);
            d[j] = gj * (s * (1 + x * du * c));
        }
    }
}

#undef T
#undef F
#undef VM_INT
#undef VM_MANT
#undef VM_BIAS
#undef VM_ROUND
#undef VM_ROUND_BITS
#undef VM_LN2_HI
#undef VM_LN2_LO
#undef VM_EXP_DEG
#undef VM_EM1_DEG
#undef VM_TANH_TERMS
#undef VM_LOG_TERMS
#undef VM_TANH_ONE
#undef VM_EXP_CLAMP
#undef VM_COPYSIGN
#undef VM_PHI_LO
#undef VM_PHI_DEG
#undef VM_PHI_CHEB
#undef VM_PHI_TERMS
