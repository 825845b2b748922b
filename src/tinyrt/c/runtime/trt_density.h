/* trt_density.h - scikit-learn's EllipticEnvelope and GaussianMixture scores in C99, in float64.
 *
 * Conventions (follow sklearn.covariance and sklearn.mixture as scikit-learn 1.9 computes them for
 * float32 X; tinyrt's ir/reference.py holds the same steps in NumPy):
 * - EllipticEnvelope.score_samples is minus the squared Mahalanobis distance, computed as
 *   scipy.spatial.distance.cdist does it (d = x - location, s = sum_i d_i sum_j d_j P_ij,
 *   sqrt(s)) and then squared, as scikit-learn squares cdist's result.
 * - GaussianMixture's weighted log probability of component k is
 *   -0.5 * (c + q_k) + log_det_k + log_weight_k with c = n_features * log(2 pi) and q_k the
 *   quadratic form: full/tied: sum_j (sum_i x_i L_ij - mean_prec_kj)^2 rounded to float32, then
 *   c + q_k added in float32 (scikit-learn keeps it in X's dtype); diag: mean_quad_k -
 *   2 x . mean_prec_k + float32(x^2) . prec_k; spherical: mean_quad_k - 2 (x . mean_k) prec_k +
 *   |x|^2 prec_k with |x|^2 summed in float32.
 * - score_samples is scikit-learn's logsumexp (the maximum's count m, log1p(sum / m) + log(m) + max).
 *
 * Weights are caller-owned (usually static const) double arrays; nothing is allocated, no I/O,
 * every function is reentrant. Input and output buffers must not overlap.
 */
#ifndef TRT_DENSITY_H
#define TRT_DENSITY_H

#include "trt_common.h"

#include <math.h>

/* covariance kinds of trt_density_gmm */
enum { TRT_GMM_FULL = 0, TRT_GMM_TIED = 1, TRT_GMM_DIAG = 2, TRT_GMM_SPHERICAL = 3 };

/* EllipticEnvelope.score_samples: minus the squared Mahalanobis distance of n features to location. */
static inline double trt_density_mahalanobis(const double *location, const double *precision, const double *x,
                                             int n)
{
    int i, j;
    double s = 0.0, r;
    for (i = 0; i < n; i++) {
        const double *row = precision + (size_t)i * (size_t)n;
        double t = 0.0;
        for (j = 0; j < n; j++)
            t += (x[j] - location[j]) * row[j];
        s += (x[i] - location[i]) * t;
    }
    r = sqrt(s);
    return -(r * r);
}

/* The quadratic form q_k of component k (see the conventions above); w0..w2 as trt_density_gmm's. */
static inline double trt_density_gmm_quad(int kind, const double *w0, const double *w1, const double *w2,
                                          const double *x, int n, int k)
{
    int i, j;
    double q = 0.0, dot = 0.0, sq = 0.0;
    float norm = 0.0f;
    if (kind == TRT_GMM_FULL || kind == TRT_GMM_TIED) {
        const double *chol = kind == TRT_GMM_FULL ? w0 + (size_t)k * (size_t)n * (size_t)n : w0;
        for (j = 0; j < n; j++) {
            double y = 0.0;
            for (i = 0; i < n; i++)
                y += x[i] * chol[(size_t)i * (size_t)n + (size_t)j];
            y -= w1[(size_t)k * (size_t)n + (size_t)j];
            q += y * y;
        }
        return (double)(float)q;
    }
    if (kind == TRT_GMM_DIAG) {
        for (i = 0; i < n; i++) {
            float x2 = (float)x[i] * (float)x[i];
            dot += x[i] * w1[(size_t)k * (size_t)n + (size_t)i];
            sq += (double)x2 * w0[(size_t)k * (size_t)n + (size_t)i];
        }
        return w2[k] - 2.0 * dot + sq;
    }
    for (i = 0; i < n; i++) {
        dot += x[i] * w1[(size_t)k * (size_t)n + (size_t)i];
        norm += (float)x[i] * (float)x[i];
    }
    return w2[k] - 2.0 * (dot * w0[k]) + (double)norm * w0[k];
}

/* GaussianMixture's weighted log probability of each of n_comp components for n features.
 * full: w0 prec_chol (n_comp, n, n), w1 mean_prec (n_comp, n), w2 NULL; tied: w0 prec_chol (n, n),
 * w1 and w2 as full;
 * diag: w0 prec (n_comp, n), w1 mean_prec (n_comp, n), w2 mean_quad (n_comp);
 * spherical: w0 prec (n_comp), w1 means (n_comp, n), w2 mean_quad (n_comp). c = n * log(2 pi). */
static inline void trt_density_gmm(int kind, const double *w0, const double *w1, const double *w2,
                                   const double *log_det, const double *log_weights, double c, const double *x,
                                   int n, int n_comp, double *out)
{
    int k;
    for (k = 0; k < n_comp; k++) {
        double q = trt_density_gmm_quad(kind, w0, w1, w2, x, n, k), half;
        if (kind == TRT_GMM_FULL || kind == TRT_GMM_TIED)
            half = -0.5 * (double)((float)c + (float)q);
        else
            half = -0.5 * (c + q);
        out[k] = half + log_det[k] + log_weights[k];
    }
}

/* scikit-learn's logsumexp of n values: log1p(sum of exp(v - max) over the others / m) + log(m) + max. */
static inline double trt_density_logsumexp(const double *v, int n)
{
    int i;
    double top = v[0], m = 0.0, s = 0.0;
    for (i = 1; i < n; i++)
        top = v[i] > top ? v[i] : top;
    for (i = 0; i < n; i++) {
        if (v[i] == top)
            m += 1.0;
        else
            s += exp(v[i] - top);
    }
    if (s != 0.0)
        s /= m;
    return log1p(s) + log(m) + top;
}

/* Responsibilities exp(v - logsumexp(v)) of n values as float32, as GaussianMixture.predict_proba. */
static inline void trt_density_proba(const double *v, int n, float *proba)
{
    int i;
    double lse = trt_density_logsumexp(v, n);
    for (i = 0; i < n; i++)
        proba[i] = (float)exp(v[i] - lse);
}

#endif /* TRT_DENSITY_H */
