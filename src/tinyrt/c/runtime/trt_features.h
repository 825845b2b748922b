/* trt_features.h - per-frame features of a signal frame or of its spectrum (C99, float32).
 *
 * Time domain, on a frame x of n samples:
 *   rms = sqrt(mean(x^2));
 *   zero-crossing rate = (number of i in 1..n-1 with neg(x[i]) != neg(x[i-1])) / (n - 1), where
 *   neg(v) is v < 0: zero (of either sign) counts as positive. 0 for n < 2.
 * Spectral, on s[k], k = 0 .. n_bins-1, a magnitude or power spectrum whose bin k is at
 * f_k = k * bin_hz (bin_hz = sample rate / N), following librosa's definitions:
 *   centroid  = sum f_k s_k / sum s_k;
 *   bandwidth = sqrt(sum s_k (f_k - centroid)^2 / sum s_k)   (librosa's p = 2, normalised s);
 *   rolloff   = f_k of the first k with sum_{j<=k} s_j >= fraction * sum s;
 *   flatness  = exp(mean(log(max(s, amin)))) / mean(max(s, amin))   (on a power spectrum).
 * A silent frame (sum s = 0) has centroid, bandwidth and rolloff 0, and flatness 1.
 */
#ifndef TRT_FEATURES_H
#define TRT_FEATURES_H

#include "trt_common.h"

/* Returns the root mean square of x[0 .. n). */
static inline float trt_rms(const float *x, int n)
{
    float acc = 0.0f;
    int i;
    for (i = 0; i < n; i++) acc += x[i] * x[i];
    return n > 0 ? sqrtf(acc / (float)n) : 0.0f;
}

/* Returns the fraction of adjacent sample pairs of x[0 .. n) whose signs differ (zero is positive). */
static inline float trt_zero_crossing_rate(const float *x, int n)
{
    int i, count = 0;
    for (i = 1; i < n; i++) count += (x[i] < 0.0f) != (x[i - 1] < 0.0f);
    return n > 1 ? (float)count / (float)(n - 1) : 0.0f;
}

/* Returns the sum of s[0 .. n_bins). */
static inline float trt_spectrum_total(const float *s, int n_bins)
{
    float acc = 0.0f;
    int k;
    for (k = 0; k < n_bins; k++) acc += s[k];
    return acc;
}

/* Returns the spectral centroid in Hz. */
static inline float trt_spectral_centroid(const float *s, int n_bins, float bin_hz)
{
    const float total = trt_spectrum_total(s, n_bins);
    float acc = 0.0f;
    int k;
    for (k = 1; k < n_bins; k++) acc += (float)k * s[k];
    return total > 0.0f ? bin_hz * acc / total : 0.0f;
}

/* Returns the spectral bandwidth (p = 2) in Hz around the given centroid (Hz). */
static inline float trt_spectral_bandwidth(const float *s, int n_bins, float bin_hz, float centroid)
{
    const float total = trt_spectrum_total(s, n_bins);
    float acc = 0.0f;
    int k;
    for (k = 0; k < n_bins; k++) {
        const float d = (float)k * bin_hz - centroid;
        acc += s[k] * d * d;
    }
    return total > 0.0f ? sqrtf(acc / total) : 0.0f;
}

/* Returns the frequency (Hz) of the first bin where the cumulative sum reaches fraction of the total. */
static inline float trt_spectral_rolloff(const float *s, int n_bins, float bin_hz, float fraction)
{
    const float threshold = fraction * trt_spectrum_total(s, n_bins);
    float acc = 0.0f;
    int k;
    for (k = 0; k < n_bins; k++) {
        acc += s[k];
        if (acc >= threshold) return (float)k * bin_hz;
    }
    return (float)(n_bins - 1) * bin_hz;
}

/* Returns the spectral flatness (geometric over arithmetic mean) of a power spectrum floored at amin.
 * Computed as exp(mean(log(v / mean(v)))) with sums in TRT_LANES partial sums: the logs then stay
 * small where the spectrum is flat (0 for a silent frame, whose flatness is exactly 1 in exact
 * arithmetic), which keeps the float32 error of the result near 1e-6 instead of that of logs
 * near log(amin) = -23. */
static inline float trt_spectral_flatness(const float *p, int n_bins, float amin)
{
    float acc[TRT_LANES] = {0.0f}, total = 0.0f, inv_mean;
    int k;
    for (k = 0; k < n_bins; k++) acc[k % TRT_LANES] += p[k] > amin ? p[k] : amin;
    for (k = 0; k < TRT_LANES; k++) {
        total += acc[k];
        acc[k] = 0.0f;
    }
    inv_mean = (float)n_bins / total;
    for (k = 0; k < n_bins; k++) acc[k % TRT_LANES] += logf((p[k] > amin ? p[k] : amin) * inv_mean);
    for (k = 1; k < TRT_LANES; k++) acc[0] += acc[k];
    return expf(acc[0] / (float)n_bins);
}

#endif /* TRT_FEATURES_H */
