/* trt_proc.h - the processor every live front door calls (C99): several models behind one mono
 * audio call, with effect select, bypass, input/output gain, knob parameters, click-free
 * crossfades, host block <-> model block adaptation and non-finite output recovery.
 *
 * Real-time contract: trt_proc_process allocates nothing, takes no lock, does no I/O and never
 * waits; all memory is the caller's (the generated <name>_state holds it). Any split of a signal
 * into calls of any size gives the same output as one call, as long as no parameter changes.
 *
 * Conventions (what the Python tests hold it to):
 * - Parameters are floats indexed TRT_PROC_EFFECT (model index, rounded), TRT_PROC_BYPASS (>= 0.5:
 *   bypassed), TRT_PROC_INPUT_GAIN / TRT_PROC_OUTPUT_GAIN (dB), then each model's knobs in model
 *   order. Gains and knobs glide to a new value with a one-pole smoother (time constant
 *   TRT_PROC_SMOOTH_MS); after trt_proc_reset the first process call starts at the set values.
 * - Model k with block B_k consumes B_k samples per frame and its output is delayed by B_k - 1
 *   samples, as the engine's audio call delays it; every model is padded to the processor's latency
 *   L = max_k (B_k - 1), so switching never jumps in time, and the bypassed (clean) signal is the
 *   input delayed by L samples, without gains.
 * - Switching model resets the incoming model and crossfades linearly over TRT_PROC_FADE_MS; a
 *   switch asked for during a fade starts when that fade ends. Bypass fades the same way.
 *   Only the selected model (and, during a fade, the outgoing one) runs.
 * - A non-finite input sample is replaced by 0; a non-finite model output resets that model and
 *   outputs 0 for the rest of that call's chunk; both are counted in the stats. Define
 *   TRT_PROC_NO_FINITE_CHECK to compile the checks out (bare-metal builds that cannot afford them).
 * - Denormals: trt_proc_process sets flush-to-zero (and denormals-are-zero where the CPU has it)
 *   for its duration and restores the caller's mode (x86 SSE MXCSR, AArch64 FPCR, ARM VFP FPSCR);
 *   define TRT_PROC_KEEP_FPENV to leave the floating-point environment alone.
 */
#ifndef TRT_PROC_H
#define TRT_PROC_H

#include <math.h>
#include <string.h>

#if !defined(TRT_PROC_KEEP_FPENV) && (defined(__SSE__) || defined(_M_X64))
#include <xmmintrin.h>
#endif

/* samples processed per inner chunk: the most frames a block-1 model gets in one call */
#define TRT_PROC_CHUNK 64
#define TRT_PROC_FADE_MS 5.0f
#define TRT_PROC_SMOOTH_MS 10.0f
/* knob parameters of all models together (the generator refuses more) */
#define TRT_PROC_MAX_KNOBS 8

/* fixed parameter indices; knobs follow */
#define TRT_PROC_EFFECT 0
#define TRT_PROC_BYPASS 1
#define TRT_PROC_INPUT_GAIN 2
#define TRT_PROC_OUTPUT_GAIN 3
#define TRT_PROC_FIXED_PARAMS 4

typedef void (*trt_proc_reset_fn)(void *state);
typedef void (*trt_proc_process_fn)(void *state, const float *in, float *out, int n_frames);

/* One model behind the processor: its generated functions and the buffers that adapt host blocks
 * to its frames. `in` holds (TRT_PROC_CHUNK + block) frames' worth of samples x channels; `fifo`
 * holds latency + TRT_PROC_CHUNK + block outputs. */
typedef struct {
    void *state;
    trt_proc_reset_fn reset;
    trt_proc_process_fn process;
    int block;     /* samples per frame */
    int channels;  /* values per sample: the audio, then this model's knobs */
    int knob0;     /* parameter index of this model's first knob */
    int delay;     /* outputs queued after a reset: (block - 1) + padding to the processor latency */
    float *in;
    float *fifo;
    int fill;      /* samples of an incomplete frame held at the start of `in` */
    int queued;    /* outputs waiting at the start of `fifo` */
} trt_proc_model;

typedef struct {
    unsigned long calls;             /* process calls */
    unsigned long samples;           /* samples processed */
    unsigned long nonfinite_inputs;  /* input samples replaced by 0 */
    unsigned long model_resets;      /* models reset after a non-finite output */
    unsigned long switches;          /* model switches completed */
} trt_proc_stats;

typedef struct {
    trt_proc_model *models;
    int n_models;
    int n_params;
    int latency;          /* samples, the same for every model */
    float *target;        /* n_params set values */
    float *current;       /* n_params smoothed values (gains as linear factors) */
    float *dry;           /* latency + TRT_PROC_CHUNK input samples: the delayed clean signal */
    float smooth;         /* one-pole coefficient per sample */
    float fade_step;      /* crossfade increment per sample */
    int active;           /* selected model */
    int fading_from;      /* outgoing model during a fade, else -1 */
    float fade;           /* 0 -> 1 during a model fade */
    float wet;            /* 1: effect, 0: bypassed; moves by fade_step toward its target */
    int snap;             /* set by reset: the next process call starts at the targets */
    trt_proc_stats stats;
} trt_proc;

static inline float trt_proc_db_to_gain(float db)
{
    return powf(10.0f, db / 20.0f);
}

static inline int trt_proc_clamp_index(float v, int n)
{
    if (!(v >= 0.5f))
        return 0;
    return v >= (float)n - 0.5f ? n - 1 : (int)(v + 0.5f);
}

/* Return the value the smoother tracks for parameter i (gains as linear factors). */
static inline float trt_proc_smoothed_target(const trt_proc *p, int i)
{
    if (i == TRT_PROC_INPUT_GAIN || i == TRT_PROC_OUTPUT_GAIN)
        return trt_proc_db_to_gain(p->target[i]);
    return p->target[i];
}

static inline void trt_proc_reset_model(trt_proc_model *m)
{
    m->reset(m->state);
    m->fill = 0;
    m->queued = m->delay;
    memset(m->fifo, 0, sizeof(float) * (size_t)m->delay);
}

/* Return the processor to its initial state, keeping the parameter values; the next process
 * call starts at them (no glide). */
static inline void trt_proc_reset(trt_proc *p)
{
    int k;
    for (k = 0; k < p->n_models; k++)
        trt_proc_reset_model(&p->models[k]);
    memset(p->dry, 0, sizeof(float) * (size_t)p->latency);
    p->active = trt_proc_clamp_index(p->target[TRT_PROC_EFFECT], p->n_models);
    p->fading_from = -1;
    p->fade = 1.0f;
    p->snap = 1;
    memset(&p->stats, 0, sizeof p->stats);
}

/* Set parameter `index` (see the conventions above); out-of-range indices and non-finite values
 * are ignored. Call it from the audio thread (a control thread posts through a ring). */
static inline void trt_proc_set_param(trt_proc *p, int index, float value)
{
    if (index < 0 || index >= p->n_params || !(value == value) || value > 3.0e38f || value < -3.0e38f)
        return;
    p->target[index] = value;
}

static inline void trt_proc_fpenv_enter(unsigned long *saved)
{
#if defined(TRT_PROC_KEEP_FPENV)
    *saved = 0;
#elif defined(__SSE__) || defined(_M_X64)
    *saved = _mm_getcsr();
    _mm_setcsr((unsigned int)(*saved | 0x8040u)); /* FTZ (bit 15) and DAZ (bit 6) */
#elif defined(__aarch64__) && defined(__GNUC__)
    unsigned long fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    *saved = fpcr;
    fpcr |= 1ul << 24; /* FZ */
    __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr));
#elif defined(__arm__) && defined(__ARM_FP) && defined(__GNUC__)
    unsigned int fpscr;
    __asm__ __volatile__("vmrs %0, fpscr" : "=r"(fpscr));
    *saved = fpscr;
    fpscr |= 1u << 24; /* FZ */
    __asm__ __volatile__("vmsr fpscr, %0" : : "r"(fpscr));
#else
    *saved = 0;
#endif
}

static inline void trt_proc_fpenv_leave(unsigned long saved)
{
#if defined(TRT_PROC_KEEP_FPENV)
    (void)saved;
#elif defined(__SSE__) || defined(_M_X64)
    _mm_setcsr((unsigned int)saved);
#elif defined(__aarch64__) && defined(__GNUC__)
    __asm__ __volatile__("msr fpcr, %0" : : "r"(saved));
#elif defined(__arm__) && defined(__ARM_FP) && defined(__GNUC__)
    unsigned int fpscr = (unsigned int)saved;
    __asm__ __volatile__("vmsr fpscr, %0" : : "r"(fpscr));
#else
    (void)saved;
#endif
}

/* Run model m on n samples x (knob values per sample in knobs[j * TRT_PROC_CHUNK + i]) and write
 * its n delayed outputs to y. Return 0, or 1 when an output was not finite (the model is reset
 * and y is zero from that sample on). */
static inline int trt_proc_run_model(trt_proc_model *m, const float *x, const float *knobs, int n, float *y)
{
    int i, j, frames, total, left;
    const int ch = m->channels;
    float *dst = m->in + (size_t)m->fill * ch;
    for (i = 0; i < n; i++) {
        dst[(size_t)i * ch] = x[i];
        for (j = 1; j < ch; j++)
            dst[(size_t)i * ch + j] = knobs[(size_t)(j - 1) * TRT_PROC_CHUNK + i];
    }
    total = m->fill + n;
    frames = total / m->block;
    if (frames > 0)
        m->process(m->state, m->in, m->fifo + m->queued, frames);
    m->queued += frames * m->block;
    left = total - frames * m->block;
    if (left > 0 && frames > 0)
        memmove(m->in, m->in + (size_t)frames * m->block * ch, sizeof(float) * (size_t)left * ch);
    m->fill = left;
    memcpy(y, m->fifo, sizeof(float) * (size_t)n);
    m->queued -= n;
    if (m->queued > 0)
        memmove(m->fifo, m->fifo + n, sizeof(float) * (size_t)m->queued);
#ifndef TRT_PROC_NO_FINITE_CHECK
    for (i = 0; i < n; i++) {
        if (!(y[i] - y[i] == 0.0f)) { /* NaN or infinite */
            for (; i < n; i++)
                y[i] = 0.0f;
            trt_proc_reset_model(m);
            return 1;
        }
    }
#endif
    return 0;
}

/* Process one chunk of n <= TRT_PROC_CHUNK samples. */
static inline void trt_proc_chunk(trt_proc *p, const float *in, float *out, int n)
{
    float x[TRT_PROC_CHUNK], wet_a[TRT_PROC_CHUNK], wet_b[TRT_PROC_CHUNK], gain_out[TRT_PROC_CHUNK];
    float knobs[TRT_PROC_CHUNK * TRT_PROC_MAX_KNOBS];
    const int n_knobs = p->n_params - TRT_PROC_FIXED_PARAMS;
    const float gain_in_target = trt_proc_smoothed_target(p, TRT_PROC_INPUT_GAIN);
    const float gain_out_target = trt_proc_smoothed_target(p, TRT_PROC_OUTPUT_GAIN);
    int i, j;
    const float wet_target = p->target[TRT_PROC_BYPASS] >= 0.5f ? 0.0f : 1.0f;
    trt_proc_model *a, *b = 0;

    /* input: sanitise, smooth the gains and the knobs */
    for (i = 0; i < n; i++) {
        float v = in[i];
#ifndef TRT_PROC_NO_FINITE_CHECK
        if (!(v - v == 0.0f)) {
            v = 0.0f;
            p->stats.nonfinite_inputs++;
        }
#endif
        p->dry[p->latency + i] = v;
        p->current[TRT_PROC_INPUT_GAIN] += p->smooth * (gain_in_target - p->current[TRT_PROC_INPUT_GAIN]);
        p->current[TRT_PROC_OUTPUT_GAIN] += p->smooth * (gain_out_target - p->current[TRT_PROC_OUTPUT_GAIN]);
        x[i] = v * p->current[TRT_PROC_INPUT_GAIN];
        gain_out[i] = p->current[TRT_PROC_OUTPUT_GAIN];
    }
    for (j = 0; j < n_knobs && j < TRT_PROC_MAX_KNOBS; j++) {
        float *c = &p->current[TRT_PROC_FIXED_PARAMS + j];
        const float t = p->target[TRT_PROC_FIXED_PARAMS + j];
        for (i = 0; i < n; i++) {
            *c += p->smooth * (t - *c);
            knobs[(size_t)j * TRT_PROC_CHUNK + i] = *c;
        }
    }

    /* the selected model, and the outgoing one during a fade */
    a = &p->models[p->active];
    if (trt_proc_run_model(a, x, knobs + (size_t)(a->knob0 - TRT_PROC_FIXED_PARAMS) * TRT_PROC_CHUNK, n, wet_a))
        p->stats.model_resets++;
    if (p->fading_from >= 0) {
        b = &p->models[p->fading_from];
        if (trt_proc_run_model(b, x, knobs + (size_t)(b->knob0 - TRT_PROC_FIXED_PARAMS) * TRT_PROC_CHUNK, n,
                               wet_b))
            p->stats.model_resets++;
    }

    /* mix: model fade, bypass fade against the delayed clean input, output gain */
    for (i = 0; i < n; i++) {
        float wet = wet_a[i];
        if (b) {
            p->fade += p->fade_step;
            if (p->fade >= 1.0f)
                p->fade = 1.0f;
            wet = p->fade * wet_a[i] + (1.0f - p->fade) * wet_b[i];
        }
        if (p->wet < wet_target) {
            p->wet += p->fade_step;
            if (p->wet > wet_target)
                p->wet = wet_target;
        } else if (p->wet > wet_target) {
            p->wet -= p->fade_step;
            if (p->wet < wet_target)
                p->wet = wet_target;
        }
        out[i] = p->wet * (wet * gain_out[i]) + (1.0f - p->wet) * p->dry[i];
    }
    memmove(p->dry, p->dry + n, sizeof(float) * (size_t)p->latency);
    if (b && p->fade >= 1.0f) {
        p->fading_from = -1;
        p->stats.switches++;
    }
}

/* Process n mono samples from in to out (in == out is allowed). */
static inline void trt_proc_process(trt_proc *p, const float *in, float *out, int n)
{
    unsigned long fpenv;
    int done, i;
    trt_proc_fpenv_enter(&fpenv);
    if (p->snap) {
        for (i = 0; i < p->n_params; i++)
            p->current[i] = trt_proc_smoothed_target(p, i);
        p->active = trt_proc_clamp_index(p->target[TRT_PROC_EFFECT], p->n_models);
        p->wet = p->target[TRT_PROC_BYPASS] >= 0.5f ? 0.0f : 1.0f;
        p->snap = 0;
    }
    for (done = 0; done < n;) {
        const int m = n - done < TRT_PROC_CHUNK ? n - done : TRT_PROC_CHUNK;
        if (p->fading_from < 0) {
            const int want = trt_proc_clamp_index(p->target[TRT_PROC_EFFECT], p->n_models);
            if (want != p->active) {
                p->fading_from = p->active;
                p->active = want;
                p->fade = 0.0f;
                trt_proc_reset_model(&p->models[want]);
            }
        }
        trt_proc_chunk(p, in + done, out + done, m);
        done += m;
    }
    p->stats.calls++;
    p->stats.samples += (unsigned long)n;
    trt_proc_fpenv_leave(fpenv);
}

#endif /* TRT_PROC_H */
