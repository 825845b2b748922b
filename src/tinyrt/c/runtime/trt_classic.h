/* trt_classic.h - scikit-learn's scalers, linear models, GaussianNB and MLPs in C99, in float64.
 *
 * Conventions (follow sklearn.preprocessing, sklearn.linear_model, sklearn.naive_bayes and
 * sklearn.neural_network as scikit-learn 1.9 computes them for float32 X):
 * - Scalers work like scikit-learn's in-place transform of a float32 array: every float64 step
 *   is rounded back to float32. StandardScaler: z = f32(f32(x - mean) / scale); MinMaxScaler:
 *   z = f32(f32(x * scale) + min).
 * - A linear step is X @ coef.T + intercept in float64: the dot product first, then the bias.
 * - GaussianNB's joint log likelihood of class c is log_prior[c] + (log_norm[c] - 0.5 * sum_i
 *   (x_i - theta[c,i])^2 / var[c,i]), var already holding var_smoothing's epsilon.
 * - Classes are the first index of the largest value (np.argmax); probabilities are computed in
 *   float64 (expit, softmax with the maximum subtracted, exp(jll - logsumexp(jll))) and returned
 *   as float32.
 *
 * Weights are caller-owned (usually static const) double arrays; nothing is allocated, no I/O,
 * every function is reentrant. Input and output buffers must not overlap.
 */
#ifndef TRT_CLASSIC_H
#define TRT_CLASSIC_H

#include "trt_common.h"

#include <math.h>

/* activation kinds of trt_classic_activate */
enum { TRT_CLASSIC_IDENTITY = 0, TRT_CLASSIC_RELU = 1, TRT_CLASSIC_TANH = 2, TRT_CLASSIC_LOGISTIC = 3,
       TRT_CLASSIC_SOFTMAX = 4 };

/* Quantise n float features: round(x * scale) half away from zero, clipped to [-32767, 32767]. */
static inline void trt_classic_quantize(const float *x, const float *scale, int n, int16_t *xq)
{
    int i;
    for (i = 0; i < n; i++) {
        float v = x[i] * scale[i];
        v = v > 32767.0f ? 32767.0f : (v < -32767.0f ? -32767.0f : v);
        xq[i] = (int16_t)(v < 0.0f ? v - 0.5f : v + 0.5f);
    }
}

/* Dequantise n int16 features to the float32 values x_q / scale the model then reads. */
static inline void trt_classic_dequantize(const int16_t *xq, const float *scale, int n, double *x)
{
    int i;
    for (i = 0; i < n; i++)
        x[i] = (double)((float)xq[i] / scale[i]);
}

/* StandardScaler.transform of float32 X: y = f32(f32(x - mean) / scale). */
static inline void trt_classic_standard(const double *x, const double *mean, const double *scale, int n,
                                        double *y)
{
    int i;
    for (i = 0; i < n; i++)
        y[i] = (double)(float)((double)(float)(x[i] - mean[i]) / scale[i]);
}

/* MinMaxScaler.transform of float32 X: y = f32(f32(x * scale) + min). */
static inline void trt_classic_minmax(const double *x, const double *min, const double *scale, int n,
                                      double *y)
{
    int i;
    for (i = 0; i < n; i++)
        y[i] = (double)(float)((double)(float)(x[i] * scale[i]) + min[i]);
}

/* y = W x + b in float64, W row-major (n_out, n_in): each dot product summed in order, then the bias. */
static inline void trt_classic_linear(const double *w, const double *b, const double *x, int n_in, int n_out,
                                      double *y)
{
    int o, i;
    for (o = 0; o < n_out; o++) {
        const double *row = w + (size_t)o * (size_t)n_in;
        double acc = 0.0;
        for (i = 0; i < n_in; i++)
            acc += row[i] * x[i];
        y[o] = acc + b[o];
    }
}

/* Apply an activation in place to n float64 values (softmax over all n). */
static inline void trt_classic_activate(int kind, double *x, int n)
{
    int i;
    double top, sum;
    switch (kind) {
    case TRT_CLASSIC_RELU:
        for (i = 0; i < n; i++)
            x[i] = x[i] > 0.0 ? x[i] : 0.0;
        break;
    case TRT_CLASSIC_TANH:
        for (i = 0; i < n; i++)
            x[i] = tanh(x[i]);
        break;
    case TRT_CLASSIC_LOGISTIC:
        for (i = 0; i < n; i++)
            x[i] = 1.0 / (1.0 + exp(-x[i]));
        break;
    case TRT_CLASSIC_SOFTMAX:
        top = x[0];
        for (i = 1; i < n; i++)
            top = x[i] > top ? x[i] : top;
        sum = 0.0;
        for (i = 0; i < n; i++) {
            x[i] = exp(x[i] - top);
            sum += x[i];
        }
        for (i = 0; i < n; i++)
            x[i] /= sum;
        break;
    default:
        break;
    }
}

/* GaussianNB's joint log likelihood of each of n_classes classes (n_features float64 inputs). */
static inline void trt_classic_gaussian_nb(const double *theta, const double *var, const double *log_prior,
                                           const double *log_norm, const double *x, int n_features,
                                           int n_classes, double *jll)
{
    int c, i;
    for (c = 0; c < n_classes; c++) {
        const double *t = theta + (size_t)c * (size_t)n_features, *v = var + (size_t)c * (size_t)n_features;
        double sum = 0.0;
        for (i = 0; i < n_features; i++) {
            double d = x[i] - t[i];
            sum += d * d / v[i];
        }
        jll[c] = log_prior[c] + (log_norm[c] - 0.5 * sum);
    }
}

/* Return the first index of the largest of n values, as np.argmax. */
static inline int trt_classic_argmax(const double *v, int n)
{
    int i, best = 0;
    for (i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

/* Binary probabilities [1 - expit(s), expit(s)] of one decision value s, as float32. */
static inline void trt_classic_proba_logistic(double s, float *proba)
{
    double p = 1.0 / (1.0 + exp(-s));
    proba[0] = (float)(1.0 - p);
    proba[1] = (float)p;
}

/* Softmax of n decision values as float32 probabilities (maximum subtracted first). */
static inline void trt_classic_proba_softmax(const double *v, int n, float *proba)
{
    int i;
    double top = v[0], sum = 0.0;
    for (i = 1; i < n; i++)
        top = v[i] > top ? v[i] : top;
    for (i = 0; i < n; i++)
        sum += exp(v[i] - top);
    for (i = 0; i < n; i++)
        proba[i] = (float)(exp(v[i] - top) / sum);
}

/* exp(jll - logsumexp(jll)) of n joint log likelihoods as float32 probabilities (GaussianNB). */
static inline void trt_classic_proba_logsumexp(const double *jll, int n, float *proba)
{
    int i;
    double top = jll[0], sum = 0.0, lse;
    for (i = 1; i < n; i++)
        top = jll[i] > top ? jll[i] : top;
    for (i = 0; i < n; i++)
        sum += exp(jll[i] - top);
    lse = log(sum) + top;
    for (i = 0; i < n; i++)
        proba[i] = (float)exp(jll[i] - lse);
}

#endif /* TRT_CLASSIC_H */
