/* trt_fft.h - real FFT of a power-of-two length, windows, power and magnitude spectra (C99, float32).
 *
 * trt_rfft computes the same N/2 + 1 bins as numpy.fft.rfft: X[k] = sum_n x[n] e^(-2 pi i k n / N),
 * written interleaved (re, im) into N + 2 floats. It runs one complex FFT of N/2 points on
 * z[m] = x[2m] + i x[2m+1] (iterative radix-2, decimation in time) and splits the result:
 *   E[k] = (Z[k] + conj Z[M-k]) / 2,  O[k] = (Z[k] - conj Z[M-k]) / 2i,  X[k] = E[k] + W^k O[k],
 * with M = N/2 and W = e^(-2 pi i / N); X[M-k] = conj(E[k] - W^k O[k]) comes from the same pair.
 *
 * The caller owns the tables: TRT_RFFT_TWIDDLES(n) floats of twiddles and TRT_RFFT_REVERSE(n)
 * uint16_t bit-reversal indices, filled once by trt_rfft_init (which uses cosf/sinf; call it at
 * start-up, not in the audio callback). The transform itself allocates nothing, uses no libm,
 * and reads the tables only. 4 <= N <= 65536.
 */
#ifndef TRT_FFT_H
#define TRT_FFT_H

#include "trt_common.h"

#define TRT_RFFT_TWIDDLES(n) (n)       /* floats: W^k = (cos, -sin)(2 pi k / N), k < N/2 */
#define TRT_RFFT_REVERSE(n) ((n) / 2)  /* uint16_t: bit reversal of log2(N/2) bits */
#define TRT_RFFT_OUT(n) ((n) + 2)      /* floats written by trt_rfft: N/2 + 1 interleaved bins */

typedef struct {
    int n;              /* transform length N (a power of two) */
    const float *tw;    /* TRT_RFFT_TWIDDLES(n) floats */
    const uint16_t *rev; /* TRT_RFFT_REVERSE(n) indices */
} trt_rfft;

/* Fills the caller's tables for length n and points f at them. */
static inline void trt_rfft_init(trt_rfft *f, int n, float *tw, uint16_t *rev)
{
    const int m = n / 2;
    const float two_pi = 6.28318530717958647692f;
    int k, bits = 0, i;
    while ((1 << bits) < m) bits++;
    for (k = 0; k < m; k++) { /* from the first octant by symmetry: exact 0 and 1 at k = N/4 */
        const int j = k > n / 4 ? m - k : k;
        const float sign = k > n / 4 ? -1.0f : 1.0f; /* cos(pi - a) = -cos a, sin(pi - a) = sin a */
        const int o = j > n / 8 ? n / 4 - j : j;
        const float angle = two_pi * ((float)o / (float)n); /* o / n is exact for n = 2^p */
        const float c = j > n / 8 ? sinf(angle) : cosf(angle), s = j > n / 8 ? cosf(angle) : sinf(angle);
        tw[2 * k] = sign * c;
        tw[2 * k + 1] = -s;
    }
    for (k = 0; k < m; k++) {
        int r = 0;
        for (i = 0; i < bits; i++) r |= ((k >> i) & 1) << (bits - 1 - i);
        rev[k] = (uint16_t)r;
    }
    f->n = n;
    f->tw = tw;
    f->rev = rev;
}

/* In-place complex FFT of M = N/2 interleaved points already in bit-reversed order. */
static inline void trt_cfft_butterflies(const trt_rfft *f, float *restrict z)
{
    const int m = f->n / 2;
    int len, i, j;
    for (len = 2; len <= m; len <<= 1) {
        const int half = len / 2, stride = f->n / len; /* W_len^j = W_N^(j * N / len) */
        for (j = 0; j < half; j++) {
            const float wr = f->tw[2 * j * stride], wi = f->tw[2 * j * stride + 1];
            for (i = j; i < m; i += len) {
                float *a = z + 2 * i, *b = z + 2 * (i + half);
                const float br = b[0] * wr - b[1] * wi, bi = b[0] * wi + b[1] * wr;
                b[0] = a[0] - br;
                b[1] = a[1] - bi;
                a[0] += br;
                a[1] += bi;
            }
        }
    }
}

/* out[0 .. N+2) = rfft(x * window) as interleaved (re, im); window may be NULL (rectangular).
 * x (N floats) must not overlap out. */
static inline void trt_rfft_forward(const trt_rfft *f, const float *restrict x, const float *restrict window,
                                    float *restrict out)
{
    const int n = f->n, m = n / 2;
    int k;
    float z0r, z0i;
    for (k = 0; k < m; k++) {
        const int r = f->rev[k];
        out[2 * r] = window ? x[2 * k] * window[2 * k] : x[2 * k];
        out[2 * r + 1] = window ? x[2 * k + 1] * window[2 * k + 1] : x[2 * k + 1];
    }
    trt_cfft_butterflies(f, out);
    for (k = 1; k <= m / 2; k++) {
        float *zk = out + 2 * k, *zm = out + 2 * (m - k);
        const float er = 0.5f * (zk[0] + zm[0]), ei = 0.5f * (zk[1] - zm[1]);
        const float or_ = 0.5f * (zk[1] + zm[1]), oi = -0.5f * (zk[0] - zm[0]);
        const float wr = f->tw[2 * k], wi = f->tw[2 * k + 1];
        const float tr = wr * or_ - wi * oi, ti = wr * oi + wi * or_;
        zk[0] = er + tr;
        zk[1] = ei + ti;
        zm[0] = er - tr;
        zm[1] = ti - ei;
    }
    z0r = out[0];
    z0i = out[1];
    out[0] = z0r + z0i;
    out[1] = 0.0f;
    out[n] = z0r - z0i;
    out[n + 1] = 0.0f;
}

/* w[i] = 0.5 - 0.5 cos(2 pi i / n): the periodic Hann window of scipy.signal.get_window('hann', n). */
static inline void trt_hann(float *w, int n)
{
    const float two_pi = 6.28318530717958647692f;
    int i;
    for (i = 0; i < n; i++) w[i] = 0.5f - 0.5f * cosf(two_pi * ((float)i / (float)n));
}

/* p[k] = re^2 + im^2 for n_bins interleaved bins (p may be the start of X). */
static inline void trt_power_spectrum(const float *X, float *p, int n_bins)
{
    int k;
    for (k = 0; k < n_bins; k++) p[k] = X[2 * k] * X[2 * k] + X[2 * k + 1] * X[2 * k + 1];
}

/* m[k] = sqrt(p[k]): the magnitude spectrum from a power spectrum (m may equal p). */
static inline void trt_magnitude_from_power(const float *p, float *m, int n_bins)
{
    int k;
    for (k = 0; k < n_bins; k++) m[k] = sqrtf(p[k]);
}

#endif /* TRT_FFT_H */
