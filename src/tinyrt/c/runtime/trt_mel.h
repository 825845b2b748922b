/* trt_mel.h - mel filterbank as a sparse table, decibels and log compression (C99, float32).
 *
 * The filterbank is computed off-line (tinyrt.dsp.mel_filterbank, float64, HTK or Slaney mel
 * scale, optional Slaney area normalisation) and stored compactly: band b has length[b]
 * consecutive weights starting at spectrum bin start[b]; the weights of all bands follow each
 * other in `weights`. mel[b] = sum_j weights[off_b + j] * spec[start[b] + j], with off_b the sum
 * of the lengths before b; a band with length 0 gives 0.
 *
 * trt_power_to_db follows librosa.power_to_db with ref = 1: 10 log10(max(x, amin)), then, when
 * top_db > 0, max(x_db, max_over_the_array(x_db) - top_db). The array passed decides the scope
 * of the clamp (one frame when streaming). trt_log_offset gives log(x + offset).
 */
#ifndef TRT_MEL_H
#define TRT_MEL_H

#include "trt_common.h"

typedef struct {
    int n_mels;
    const int32_t *start;   /* n_mels first bins */
    const int32_t *length;  /* n_mels band lengths */
    const float *weights;   /* sum of the lengths */
} trt_mel_bank;

/* mel[0 .. n_mels) = the bank applied to one spectrum (power or magnitude). */
static inline void trt_mel_apply(const trt_mel_bank *b, const float *restrict spec, float *restrict mel)
{
    const float *w = b->weights;
    int i, j;
    for (i = 0; i < b->n_mels; i++) {
        const float *s = spec + b->start[i];
        float acc = 0.0f;
        for (j = 0; j < b->length[i]; j++) acc += w[j] * s[j];
        mel[i] = acc;
        w += b->length[i];
    }
}

/* x[i] = 10 log10(max(x[i], amin)), clamped to top_db below the array's maximum when top_db > 0. */
static inline void trt_power_to_db(float *x, int n, float amin, float top_db)
{
    float peak;
    int i;
    for (i = 0; i < n; i++) x[i] = 10.0f * log10f(x[i] > amin ? x[i] : amin);
    if (top_db > 0.0f && n > 0) {
        peak = x[0];
        for (i = 1; i < n; i++) peak = x[i] > peak ? x[i] : peak;
        for (i = 0; i < n; i++) x[i] = x[i] > peak - top_db ? x[i] : peak - top_db;
    }
}

/* x[i] = log(x[i] + offset): natural-log compression. */
static inline void trt_log_offset(float *x, int n, float offset)
{
    int i;
    for (i = 0; i < n; i++) x[i] = logf(x[i] + offset);
}

#endif /* TRT_MEL_H */
