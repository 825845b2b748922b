/* trt_biquad.h - biquad cascades and the exponential moving average, streaming (C99, float32).
 *
 * trt_sosfilt follows scipy.signal.sosfilt: sos holds n_sections rows (b0, b1, b2, a0, a1, a2)
 * with a0 = 1; each section is a transposed direct form II,
 *   y = b0 x + z0;   z0 = b1 x - a1 y + z1;   z1 = b2 x - a2 y,
 * and zi holds the state as scipy's zi of shape (n_sections, 2): zi[2 s] = z0, zi[2 s + 1] = z1 of
 * section s. Zero zi is scipy's default (no zi argument). The state is updated in place, so any
 * split of a signal into calls gives exactly the output of one call. y may equal x.
 *
 * trt_ema: y[n] = y[n-1] + alpha (x[n] - y[n-1]), the same filter as
 * scipy.signal.lfilter([alpha], [1, alpha - 1], x); *state is y[n-1] (0 before the first sample).
 */
#ifndef TRT_BIQUAD_H
#define TRT_BIQUAD_H

#include "trt_common.h"

/* y[0 .. n) = the cascade applied to x[0 .. n), continuing from and updating zi. */
static inline void trt_sosfilt(const float *sos, int n_sections, float *zi, const float *x, float *y, int n)
{
    int s, i;
    if (n_sections == 0 && y != x) memmove(y, x, (size_t)n * sizeof *y);
    for (s = 0; s < n_sections; s++) {
        const float *c = sos + 6 * s;
        const float b0 = c[0], b1 = c[1], b2 = c[2], a1 = c[4], a2 = c[5];
        const float *in = s == 0 ? x : y; /* later sections run in place on y */
        float z0 = zi[2 * s], z1 = zi[2 * s + 1];
        for (i = 0; i < n; i++) {
            const float xi = in[i], yi = b0 * xi + z0;
            z0 = b1 * xi - a1 * yi + z1;
            z1 = b2 * xi - a2 * yi;
            y[i] = yi;
        }
        zi[2 * s] = z0;
        zi[2 * s + 1] = z1;
    }
}

/* y[0 .. n) = exponential moving average of x with factor alpha, continuing from *state. */
static inline void trt_ema(float *state, float alpha, const float *x, float *y, int n)
{
    float prev = *state;
    int i;
    for (i = 0; i < n; i++) {
        prev = prev + alpha * (x[i] - prev);
        y[i] = prev;
    }
    *state = prev;
}

#endif /* TRT_BIQUAD_H */
