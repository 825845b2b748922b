/* trt_onset.h - an energy-flux onset detector for the audio callback (C99, no heap, no I/O).
 *
 * The stream is cut into hops of `hop` samples. Per hop: energy e = mean(x^2) (summed in double,
 * in sample order), flux = max(0, e - e_previous_hop). The hop is an onset when
 *     flux > factor * mean(flux of the last `history` hops) + floor
 * and at least `refractory` hops have passed since the last onset; the onset time is the hop's
 * first sample (an absolute sample index counted from the last reset). While fewer than
 * `history` hops have been seen, the mean is over those seen (0 before the first). The flux
 * of every hop (onset or not) enters the history after the decision.
 * tinyrt.audio.onsets.onsets is the NumPy reference of exactly these decisions.
 *
 * Use from an audio callback:
 *   int64_t at[8]; int k = trt_onset_process(&det, block, n, at, 8);   (k onsets in this block)
 * Onsets beyond max_onsets in one call are still counted as decided (refractory applies) but
 * not reported; with refractory >= 1 a block of n samples holds at most n / hop + 1 onsets.
 */
#ifndef TRT_ONSET_H
#define TRT_ONSET_H

#include <stdint.h>

#define TRT_ONSET_MAX_HISTORY 64

typedef struct {
    int hop, history, refractory;
    double factor, floor;
    /* state */
    double acc, prev, sum;
    double hist[TRT_ONSET_MAX_HISTORY];
    int fill, pos, in_hop, since;
    int64_t hop_index;
} trt_onset;

static inline void trt_onset_reset(trt_onset *d)
{
    int i;
    d->acc = 0.0; d->prev = 0.0; d->sum = 0.0;
    for (i = 0; i < TRT_ONSET_MAX_HISTORY; i++) d->hist[i] = 0.0;
    d->fill = 0; d->pos = 0; d->in_hop = 0; d->since = d->refractory; d->hop_index = 0;
}

/* hop >= 1, 1 <= history <= TRT_ONSET_MAX_HISTORY, refractory >= 1 hop (callers check). */
static inline void trt_onset_init(trt_onset *d, int hop, int history, double factor, double floor_, int refractory)
{
    d->hop = hop; d->history = history; d->factor = factor; d->floor = floor_; d->refractory = refractory;
    trt_onset_reset(d);
}

/* One finished hop: returns 1 if it is an onset. */
static inline int trt_onset_hop(trt_onset *d, double energy)
{
    double flux = energy - d->prev, mean, thr;
    int onset = 0, i;
    if (flux < 0.0) flux = 0.0;
    d->prev = energy;
    mean = 0.0;
    if (d->fill > 0) {
        for (i = 0; i < d->fill; i++) mean += d->hist[i];  /* re-summed: no drift, same order as NumPy */
        mean /= (double)d->fill;
    }
    thr = d->factor * mean + d->floor;
    d->since++;
    if (flux > thr && d->since >= d->refractory) { onset = 1; d->since = 0; }
    d->hist[d->pos] = flux;
    d->pos = (d->pos + 1) % d->history;
    if (d->fill < d->history) d->fill++;
    return onset;
}

static inline int trt_onset_process(trt_onset *d, const float *x, int n, int64_t *onsets, int max_onsets)
{
    int i, k = 0;
    for (i = 0; i < n; i++) {
        double v = (double)x[i];
        d->acc += v * v;
        if (++d->in_hop == d->hop) {
            if (trt_onset_hop(d, d->acc / (double)d->hop)) {
                if (k < max_onsets) onsets[k] = d->hop_index * (int64_t)d->hop;
                k++;
            }
            d->acc = 0.0; d->in_hop = 0; d->hop_index++;
        }
    }
    return k < max_onsets ? k : max_onsets;
}

#endif
