/* trt_dsp.c - the DSP headers as one library with exported functions, for tinyrt.dsp (ctypes).
 *
 * Each function runs one header kernel over a batch of frames (or a stream) in caller-owned
 * memory; Python checks every argument before the call. On a device, include the headers
 * (trt_fft.h, trt_mel.h, trt_biquad.h, trt_features.h, trt_frames.h) directly instead.
 */
#include <stddef.h>

#include "trt_biquad.h"
#include "trt_frames.h"

/* Sizes of the structs tinyrt.dsp mirrors, so it can refuse a library whose layout differs. */
size_t trt_dsp_sizeof(int which)
{
    switch (which) {
    case 0: return sizeof(trt_rfft);
    case 1: return sizeof(trt_mel_bank);
    case 2: return sizeof(trt_feature_config);
    default: return sizeof(trt_framer);
    }
}

void trt_dsp_rfft_init(trt_rfft *f, int n, float *tw, uint16_t *rev)
{
    trt_rfft_init(f, n, tw, rev);
}

void trt_dsp_rfft(const trt_rfft *f, const float *x, const float *window, float *out, int n_frames)
{
    int t;
    for (t = 0; t < n_frames; t++)
        trt_rfft_forward(f, x + (size_t)t * (size_t)f->n, window, out + (size_t)t * (size_t)TRT_RFFT_OUT(f->n));
}

void trt_dsp_hann(float *w, int n)
{
    trt_hann(w, n);
}

/* spec: n_frames rows of n_bins interleaved bins -> power (magnitude when `magnitude`) rows. */
void trt_dsp_spectrum(const float *spec, float *out, int n_bins, int n_frames, int magnitude)
{
    int t;
    for (t = 0; t < n_frames; t++) {
        float *o = out + (size_t)t * (size_t)n_bins;
        trt_power_spectrum(spec + (size_t)t * 2 * (size_t)n_bins, o, n_bins);
        if (magnitude) trt_magnitude_from_power(o, o, n_bins);
    }
}

void trt_dsp_mel(const trt_mel_bank *b, const float *spec, int n_bins, float *mel, int n_frames)
{
    int t;
    for (t = 0; t < n_frames; t++)
        trt_mel_apply(b, spec + (size_t)t * (size_t)n_bins, mel + (size_t)t * (size_t)b->n_mels);
}

/* Decibels (log_kind 0: clamp scope `group` values) or log(x + offset) (log_kind 1), in place. */
void trt_dsp_log(float *x, int group, int n_groups, int log_kind, float amin, float top_db, float offset)
{
    int t;
    for (t = 0; t < n_groups; t++) {
        if (log_kind == 0) trt_power_to_db(x + (size_t)t * (size_t)group, group, amin, top_db);
        else trt_log_offset(x + (size_t)t * (size_t)group, group, offset);
    }
}

void trt_dsp_sosfilt(const float *sos, int n_sections, float *zi, const float *x, float *y, int n)
{
    trt_sosfilt(sos, n_sections, zi, x, y, n);
}

void trt_dsp_ema(float *state, float alpha, const float *x, float *y, int n)
{
    trt_ema(state, alpha, x, y, n);
}

/* One feature per row of n values (time domain) or n_bins values (spectrum): kind is TRT_FEAT_*. */
void trt_dsp_frame_feature(int kind, const float *x, int n, int n_frames, float bin_hz, float param,
                           float *out)
{
    int t;
    for (t = 0; t < n_frames; t++) {
        const float *row = x + (size_t)t * (size_t)n;
        float c;
        switch (kind) {
        case TRT_FEAT_RMS: out[t] = trt_rms(row, n); break;
        case TRT_FEAT_ZCR: out[t] = trt_zero_crossing_rate(row, n); break;
        case TRT_FEAT_CENTROID: out[t] = trt_spectral_centroid(row, n, bin_hz); break;
        case TRT_FEAT_BANDWIDTH:
            c = trt_spectral_centroid(row, n, bin_hz);
            out[t] = trt_spectral_bandwidth(row, n, bin_hz, c);
            break;
        case TRT_FEAT_ROLLOFF: out[t] = trt_spectral_rolloff(row, n, bin_hz, param); break;
        default: out[t] = trt_spectral_flatness(row, n, param); break;
        }
    }
}

void trt_dsp_framer_init(trt_framer *f, float *ring, int n, int hop)
{
    trt_framer_init(f, ring, n, hop);
}

/* Feeds x[0 .. count) and writes one feature vector per completed frame to out; returns how many. */
int trt_dsp_stream(const trt_feature_config *c, trt_framer *f, const float *x, int count, float *frame,
                   float *scratch, float *out)
{
    const int size = trt_features_size(c);
    int used = 0, frames = 0;
    while (used < count) {
        used += trt_framer_push(f, x + used, count - used);
        if (trt_framer_ready(f)) {
            trt_framer_read(f, frame);
            trt_features_compute(c, frame, scratch, out + (size_t)frames * (size_t)size);
            frames++;
        }
    }
    return frames;
}
