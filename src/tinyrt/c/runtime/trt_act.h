/* trt_act.h - activation functions, branch-free so loops over them vectorise.
 *
 * Conventions follow PyTorch: sigmoid(x) = 1/(1+e^-x), tanh, softsign x/(1+|x|),
 * elu(x) = x > 0 ? x : alpha*(e^x - 1), prelu(x) = x >= 0 ? x : a*x, silu(x) = x*sigmoid(x),
 * gelu(x) = x/2 * (1 + erf(x/sqrt 2)) (exact form), softmax over the feature axis.
 *
 * trt_expf is accurate to about 2 ulp (Cody-Waite reduction, degree-6 Taylor polynomial on
 * |r| <= ln2/2, exponent assembled from bits). tanh and sigmoid are rational approximations
 * (see trt_tanh_pq); functions taking `fast` choose the cheaper, less exact one when it is
 * TRT_ACT_FAST. Callers pass `fast` as a constant, so the choice costs nothing at run time.
 */
#ifndef TRT_ACT_H
#define TRT_ACT_H

#include "trt_common.h"

/* The `fast` argument of tanh, sigmoid and the recurrent gates: which approximation to use. */
enum { TRT_ACT_PRECISE = 0, TRT_ACT_FAST = 1 };

TRT_INLINE float trt_expf(float x)
{
    const float round_magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float t, n, r, p, scale;
    int32_t bits;
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    t = x * 1.44269504088896341f; /* x / ln 2 */
    n = (t + round_magic) - round_magic;
    r = x - n * 0.693145751953125f; /* ln 2, high part (exact product) */
    r = r - n * 1.428606765330187e-06f; /* ln 2, low part */
    p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    bits = ((int32_t)n + 127) << 23;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* tanh(x) = p / q with p = x P(x^2), q = Q(x^2): rational minimax fits made for tinyrt.
 * Precise: degree 4/4 on |x| <= 9 (beyond, tanh rounds to +-1 in float32), max abs error
 * 3.3e-7 evaluated in float32. Fast: degree 2/2 on |x| <= 5, max abs error 4.8e-5.
 * Returning p and q separately lets the recurrent kernels merge divisions. */
TRT_INLINE void trt_tanh_pq(float x, float *p, float *q, int fast)
{
    float s;
    if (fast) {
        x = x < -5.0f ? -5.0f : x;
        x = x > 5.0f ? 5.0f : x;
        s = x * x;
        *p = x * (9.998101407e-01f + s * (1.017231396e-01f + s * 6.549439561e-04f));
        *q = 1.0f + s * (4.345040600e-01f + s * 1.263918127e-02f);
    } else {
        x = x < -9.0f ? -9.0f : x;
        x = x > 9.0f ? 9.0f : x;
        s = x * x;
        *p = x * (9.999999064e-01f + s * (1.337319278e-01f + s * (3.486576006e-03f
                 + s * (2.047173314e-05f + s * 1.318409095e-08f))));
        *q = 1.0f + s * (4.670648965e-01f + s * (2.584195691e-02f + s * (3.271375716e-04f
                 + s * 7.702608507e-07f)));
    }
}

/* sigmoid(x) = (1 + tanh(x/2)) / 2 = n / d with n = q + p, d = 2q (p, q of x/2). */
TRT_INLINE void trt_sigmoid_nd(float x, float *n, float *d, int fast)
{
    float p, q;
    trt_tanh_pq(0.5f * x, &p, &q, fast);
    *n = q + p;
    *d = 2.0f * q;
}

TRT_INLINE float trt_tanhf(float x, int fast)
{
    float p, q;
    trt_tanh_pq(x, &p, &q, fast);
    return p / q;
}

TRT_INLINE float trt_sigmoidf(float x, int fast)
{
    float n, d;
    trt_sigmoid_nd(x, &n, &d, fast);
    return n / d;
}

TRT_INLINE void trt_tanh(float *y, const float *x, int n, int fast)
{
    int i;
    for (i = 0; i < n; i++) y[i] = trt_tanhf(x[i], fast);
}

TRT_INLINE void trt_sigmoid(float *y, const float *x, int n, int fast)
{
    int i;
    for (i = 0; i < n; i++) y[i] = trt_sigmoidf(x[i], fast);
}

TRT_INLINE void trt_relu(float *y, const float *x, int n)
{
    int i;
    for (i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

TRT_INLINE void trt_softsign(float *y, const float *x, int n)
{
    int i;
    for (i = 0; i < n; i++) y[i] = x[i] / (1.0f + fabsf(x[i]));
}

TRT_INLINE void trt_elu(float *y, const float *x, float alpha, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        float neg = alpha * (trt_expf(x[i] < 0.0f ? x[i] : 0.0f) - 1.0f);
        y[i] = x[i] > 0.0f ? x[i] : neg;
    }
}

/* a has n_a entries: 1 (shared slope) or n (one per feature). */
TRT_INLINE void trt_prelu(float *y, const float *x, const float *a, int n_a, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        float slope = a[n_a == 1 ? 0 : i];
        y[i] = x[i] >= 0.0f ? x[i] : slope * x[i];
    }
}

/* hardtanh: x inside [lo, hi]; beyond, slopes lo_slope / hi_slope from the bound (0: clipped). */
TRT_INLINE void trt_hardtanh(float *y, const float *x, float lo, float hi, float lo_slope, float hi_slope, int n)
{
    int i;
    for (i = 0; i < n; i++)
        y[i] = x[i] < lo ? (x[i] - lo) * lo_slope + lo : x[i] > hi ? (x[i] - hi) * hi_slope + hi : x[i];
}

TRT_INLINE void trt_hardswish(float *y, const float *x, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        float r = x[i] + 3.0f;
        r = r < 0.0f ? 0.0f : r > 6.0f ? 6.0f : r;
        y[i] = x[i] * r / 6.0f;
    }
}

TRT_INLINE void trt_silu(float *y, const float *x, int n)
{
    int i;
    for (i = 0; i < n; i++) y[i] = x[i] * trt_sigmoidf(x[i], TRT_ACT_PRECISE);
}

TRT_INLINE void trt_gelu(float *y, const float *x, int n)
{
    int i;
    for (i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

TRT_INLINE void trt_softmax(float *y, const float *x, int n)
{
    float top = x[0], sum = 0.0f;
    int i;
    for (i = 1; i < n; i++) top = x[i] > top ? x[i] : top;
    for (i = 0; i < n; i++) {
        y[i] = trt_expf(x[i] - top);
        sum += y[i];
    }
    for (i = 0; i < n; i++) y[i] /= sum;
}

TRT_INLINE void trt_copy(float *y, const float *x, int n)
{
    if (y != x) memmove(y, x, (size_t)n * sizeof *y);
}

/* y = x * scale + shift per feature: folded batch-norm and gain. */
TRT_INLINE void trt_affine(float *y, const float *x, const float *scale, const float *shift, int n)
{
    int i;
    for (i = 0; i < n; i++) y[i] = x[i] * scale[i] + shift[i];
}

TRT_INLINE void trt_scale(float *y, const float *x, float gain, int n)
{
    int i;
    for (i = 0; i < n; i++) y[i] = x[i] * gain;
}

/* y[i] += x[i] for i < n: the skip of a residual block. */
TRT_INLINE void trt_add(float *y, const float *x, int n)
{
    int i;
    for (i = 0; i < n; i++) y[i] += x[i];
}

/* y[i] *= x[i] for i < n: the product of two paths of a graph (a gated activation). */
TRT_INLINE void trt_mul(float *y, const float *x, int n)
{
    int i;
    for (i = 0; i < n; i++) y[i] *= x[i];
}

#endif /* TRT_ACT_H */
