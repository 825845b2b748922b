/* trt_frames.h - streaming framing and feature frames (C99, float32, no heap).
 *
 * trt_framer cuts a stream fed in blocks of any size into frames of n samples every hop samples
 * (1 <= hop <= n): frame j holds stream samples [j hop, j hop + n), exactly the complete frames
 * of an off-line framing without centre padding. Its ring buffer of n floats is caller-owned.
 * Use it from an audio callback as
 *   for (used = 0; used < count; ) {
 *       used += trt_framer_push(&fr, block + used, count - used);
 *       if (trt_framer_ready(&fr)) { trt_framer_read(&fr, frame); ... one frame ... }
 *   }
 *
 * trt_features_compute turns one frame into the feature vector a trt_feature_config asks for:
 * `kinds` lists TRT_FEAT_* values, and their values are written one after another (the power
 * spectrum is n/2 + 1 values, mel and log-mel n_mels, every other feature one). The window
 * multiplies the frame before the FFT; mel and log-mel use the power (mel_power 2) or magnitude
 * (1) spectrum; centroid, bandwidth and rolloff use the magnitude (shape_power 1, librosa's
 * default) or power (2) spectrum; flatness always uses the power spectrum. Log-mel applies
 * trt_power_to_db per frame (log_kind 0) or trt_log_offset (log_kind 1).
 */
#ifndef TRT_FRAMES_H
#define TRT_FRAMES_H

#include "trt_features.h"
#include "trt_fft.h"
#include "trt_mel.h"

typedef struct {
    float *ring; /* n floats, caller-owned */
    int n, hop;
    int pos;     /* where the next sample goes; also the oldest sample once the ring is full */
    int need;    /* samples still to come before the next frame is ready */
} trt_framer;

/* Points the framer at its ring (n floats) and clears it. */
static inline void trt_framer_init(trt_framer *f, float *ring, int n, int hop)
{
    f->ring = ring;
    f->n = n;
    f->hop = hop;
    f->pos = 0;
    f->need = n;
    memset(ring, 0, (size_t)n * sizeof *ring);
}

/* Takes samples from x until a frame is ready or x is used up; returns how many it took. */
static inline int trt_framer_push(trt_framer *f, const float *x, int count)
{
    const int take = count < f->need ? count : f->need;
    const int first = take < f->n - f->pos ? take : f->n - f->pos;
    memcpy(f->ring + f->pos, x, (size_t)first * sizeof *x);
    memcpy(f->ring, x + first, (size_t)(take - first) * sizeof *x);
    f->pos = (f->pos + take) % f->n;
    f->need -= take;
    return take;
}

/* Returns 1 when a frame is ready to be read. */
static inline int trt_framer_ready(const trt_framer *f)
{
    return f->need == 0;
}

/* Copies the ready frame (oldest sample first) into frame[0 .. n) and waits for the next hop. */
static inline void trt_framer_read(trt_framer *f, float *frame)
{
    memcpy(frame, f->ring + f->pos, (size_t)(f->n - f->pos) * sizeof *frame);
    memcpy(frame + (f->n - f->pos), f->ring, (size_t)f->pos * sizeof *frame);
    f->need = f->hop;
}

enum {
    TRT_FEAT_POWER = 0,     /* power spectrum, n/2 + 1 values */
    TRT_FEAT_MEL = 1,       /* mel spectrogram frame, n_mels values */
    TRT_FEAT_LOG_MEL = 2,   /* log-mel frame, n_mels values */
    TRT_FEAT_RMS = 3,
    TRT_FEAT_ZCR = 4,
    TRT_FEAT_CENTROID = 5,
    TRT_FEAT_BANDWIDTH = 6,
    TRT_FEAT_ROLLOFF = 7,
    TRT_FEAT_FLATNESS = 8
};

typedef struct {
    trt_rfft fft;           /* initialised with trt_rfft_init for the frame length */
    const float *window;    /* frame-length window or NULL */
    trt_mel_bank mel;       /* used by TRT_FEAT_MEL and TRT_FEAT_LOG_MEL */
    float sample_rate;
    int mel_power;          /* 2: mel of the power spectrum, 1: of the magnitude */
    int shape_power;        /* spectrum of centroid, bandwidth, rolloff: 1 magnitude, 2 power */
    int log_kind;           /* 0: dB (amin, top_db), 1: log(x + log_offset) */
    float amin, top_db, log_offset;
    float rolloff_fraction, flatness_amin;
    const int32_t *kinds;   /* TRT_FEAT_* in output order */
    int n_kinds;
} trt_feature_config;

/* Floats of scratch trt_features_compute needs for frames of n samples: the spectrum (its power
 * overwrites it in place) and the magnitude. */
#define TRT_FEATURES_SCRATCH(n) (TRT_RFFT_OUT(n) + (n) / 2 + 1)

/* Returns the number of values one frame's feature vector holds. */
static inline int trt_features_size(const trt_feature_config *c)
{
    int i, size = 0;
    for (i = 0; i < c->n_kinds; i++) {
        const int k = c->kinds[i];
        if (k == TRT_FEAT_POWER) size += c->fft.n / 2 + 1;
        else if (k == TRT_FEAT_MEL || k == TRT_FEAT_LOG_MEL) size += c->mel.n_mels;
        else size += 1;
    }
    return size;
}

/* out = the feature vector of one frame of c->fft.n samples; scratch holds TRT_FEATURES_SCRATCH(n) floats. */
static inline void trt_features_compute(const trt_feature_config *c, const float *frame, float *scratch,
                                        float *out)
{
    const int n = c->fft.n, n_bins = n / 2 + 1;
    const float bin_hz = c->sample_rate / (float)n;
    float *power = scratch, *magnitude = scratch + TRT_RFFT_OUT(n);
    const float *shape;
    int i, spectral = 0;
    for (i = 0; i < c->n_kinds; i++) spectral |= c->kinds[i] != TRT_FEAT_RMS && c->kinds[i] != TRT_FEAT_ZCR;
    if (spectral) {
        trt_rfft_forward(&c->fft, frame, c->window, scratch);
        trt_power_spectrum(scratch, power, n_bins);
        trt_magnitude_from_power(power, magnitude, n_bins);
    }
    shape = c->shape_power == 2 ? power : magnitude;
    for (i = 0; i < c->n_kinds; i++) {
        switch (c->kinds[i]) {
        case TRT_FEAT_POWER:
            memcpy(out, power, (size_t)n_bins * sizeof *out);
            out += n_bins;
            break;
        case TRT_FEAT_MEL:
        case TRT_FEAT_LOG_MEL:
            trt_mel_apply(&c->mel, c->mel_power == 2 ? power : magnitude, out);
            if (c->kinds[i] == TRT_FEAT_LOG_MEL) {
                if (c->log_kind == 0) trt_power_to_db(out, c->mel.n_mels, c->amin, c->top_db);
                else trt_log_offset(out, c->mel.n_mels, c->log_offset);
            }
            out += c->mel.n_mels;
            break;
        case TRT_FEAT_RMS:
            *out++ = trt_rms(frame, n);
            break;
        case TRT_FEAT_ZCR:
            *out++ = trt_zero_crossing_rate(frame, n);
            break;
        case TRT_FEAT_CENTROID:
            *out++ = trt_spectral_centroid(shape, n_bins, bin_hz);
            break;
        case TRT_FEAT_BANDWIDTH:
            *out = trt_spectral_centroid(shape, n_bins, bin_hz);
            *out = trt_spectral_bandwidth(shape, n_bins, bin_hz, *out);
            out++;
            break;
        case TRT_FEAT_ROLLOFF:
            *out++ = trt_spectral_rolloff(shape, n_bins, bin_hz, c->rolloff_fraction);
            break;
        default: /* TRT_FEAT_FLATNESS */
            *out++ = trt_spectral_flatness(power, n_bins, c->flatness_amin);
            break;
        }
    }
}

#endif /* TRT_FRAMES_H */
