/* trt_harness.c - runs one generated model from C: parity runs, timing, real-time checks.
 *
 * Built by tinyrt with the model's own files:
 *   cc -DTRT_MODEL=name '-DTRT_MODEL_HEADER="name.h"' [-DTRT_HOOKS] trt_harness.c name.c -lm
 * Commands (frames are float32, model input/output size values each):
 *   run IN OUT SEED      process IN in calls of random sizes 1..4096 frames drawn from SEED
 *                        (SEED 0: one call) and write OUT
 *   time FRAMES BLOCK REPS
 *                        time REPS passes over FRAMES frames of noise in calls of BLOCK frames;
 *                        one more pass times every call; prints JSON
 *   measure FRAMES BLOCK SECONDS OUT
 *                        call the model back to back in calls of BLOCK frames, cycling over FRAMES
 *                        frames of noise, for SECONDS of wall time (at least 8 calls); write each
 *                        call's wall ns, thread CPU ns and involuntary context switches to OUT
 *                        (float64 triples) and print JSON: the calls, the timers' own cost (already
 *                        subtracted from every call) and the run's total context switches
 *   check FRAMES BLOCK   (TRT_HOOKS builds) count heap and lock calls made while processing;
 *                        prints JSON
 *   profile FRAMES BLOCK (TRT_PROFILE builds, -DTRT_PROF_REGIONS=number of layers) time every
 *                        layer of one pass over FRAMES frames in calls of BLOCK frames; prints
 *                        JSON: each region's ns in every call and its count, the timer's own
 *                        cost and the pass time
 * Timing uses clock_gettime(CLOCK_MONOTONIC) around the whole pass, so the clock's own cost
 * does not pollute ns per sample; the per-call pass gives the distribution. The profile
 * command cannot avoid it (two clock reads per layer per frame), so it measures what an empty
 * pair of hooks costs, seen from inside a region and from an enclosing one, for the caller to
 * subtract.
 */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include TRT_MODEL_HEADER
#include "trt_proc.h"

#define TRT_CAT2(a, b) a##b
#define TRT_CAT(a, b) TRT_CAT2(a, b)
#define M_STATE TRT_CAT(TRT_MODEL, _state)
#define M_RESET TRT_CAT(TRT_MODEL, _reset)
#define M_PROCESS TRT_CAT(TRT_MODEL, _process)
#define M_IN TRT_CAT(TRT_MODEL, _input_size)
#define M_OUT TRT_CAT(TRT_MODEL, _output_size)

#ifdef TRT_HOOKS
/* count heap and lock calls made while `counting` is set (see trt_hooks.h) */
#include "trt_hooks.h"
#endif

/* RUSAGE_THREAD is Linux's (with _GNU_SOURCE); the harness is single-threaded, so RUSAGE_SELF counts the same */
#ifdef RUSAGE_THREAD
#define TRT_RUSAGE_WHO RUSAGE_THREAD
#else
#define TRT_RUSAGE_WHO RUSAGE_SELF
#endif

static double clock_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static long involuntary_switches(void)
{
    struct rusage ru;
    if (getrusage(TRT_RUSAGE_WHO, &ru) != 0) return 0;
    return ru.ru_nivcsw;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#ifdef TRT_PROFILE
/* The hooks the generated code calls around each layer when built with -DTRT_PROFILE. Region
 * TRT_PROF_REGIONS holds empty pairs and region TRT_PROF_REGIONS + 1 encloses them: together
 * they give the timer's own cost. Not inlined, so the calibration pays the same call as the
 * model's code in its own file. */
#if defined(__GNUC__)
#define TRT_NOINLINE __attribute__((noinline))
#else
#define TRT_NOINLINE
#endif
#define PROF_N (TRT_PROF_REGIONS + 2)
void trt_prof_begin(int region);
void trt_prof_end(int region);
static long long prof_t0[PROF_N], prof_ns[PROF_N], prof_count[PROF_N];

static long long prof_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + (long long)ts.tv_nsec;
}

TRT_NOINLINE void trt_prof_begin(int region) { prof_t0[region] = prof_now(); }

TRT_NOINLINE void trt_prof_end(int region)
{
    prof_ns[region] += prof_now() - prof_t0[region];
    prof_count[region]++;
}
#endif

static unsigned long long rng_state;

static unsigned rng_next(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(rng_state >> 33);
}

static void fail(const char *what)
{
    fprintf(stderr, "harness: %s\n", what);
    exit(2);
}

static float *noise(long n)
{
    float *x = malloc((size_t)n * sizeof *x);
    long i;
    if (!x) fail("out of memory");
    rng_state = 12345;
    for (i = 0; i < n; i++) x[i] = (float)rng_next() / 2147483648.0f - 0.5f;
    return x;
}

/* 64-byte aligned, as a static or stack state would be */
static M_STATE *new_state(void)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, sizeof(M_STATE)) != 0) fail("out of memory");
    return (M_STATE *)p;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmd_run(const char *in_path, const char *out_path, unsigned long long seed)
{
    FILE *f = fopen(in_path, "rb");
    long bytes, frames, t = 0;
    float *x, *y;
    M_STATE *s = new_state();
    if (!f || !s) fail("cannot open input");
    fseek(f, 0, SEEK_END);
    bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    frames = bytes / (long)(sizeof(float) * M_IN);
    x = malloc((size_t)(frames * M_IN + 1) * sizeof *x);
    y = malloc((size_t)(frames * M_OUT + 1) * sizeof *y);
    if (!x || !y || fread(x, sizeof(float) * M_IN, (size_t)frames, f) != (size_t)frames) fail("cannot read input");
    fclose(f);
    rng_state = seed;
    M_RESET(s);
    while (t < frames) {
        long n = seed ? 1 + (long)(rng_next() % 4096u) : frames - t;
        if (n > frames - t) n = frames - t;
        M_PROCESS(s, x + t * M_IN, y + t * M_OUT, (int)n);
        t += n;
    }
    f = fopen(out_path, "wb");
    if (!f || fwrite(y, sizeof(float) * M_OUT, (size_t)frames, f) != (size_t)frames) fail("cannot write output");
    fclose(f);
    free(x);
    free(y);
    free(s);
    return 0;
}

static int cmd_time(long frames, long block, int reps)
{
    long n_calls = frames / block, c;
    float *x = noise(frames * M_IN);
    float *y = malloc((size_t)(frames * M_OUT) * sizeof *y);
    double *call_ns = malloc((size_t)n_calls * sizeof *call_ns);
    M_STATE *s = new_state();
    double t0, worst = 0.0, sum = 0.0;
    int r;
    if (!y || !call_ns || !s || n_calls < 1) fail("bad arguments or out of memory");
    M_RESET(s);
    for (c = 0; c < n_calls; c++) M_PROCESS(s, x + c * block * M_IN, y + c * block * M_OUT, (int)block);
    printf("{\"frames\": %ld, \"block\": %ld, \"calls\": %ld, \"pass_ns\": [", n_calls * block, block, n_calls);
    for (r = 0; r < reps; r++) {
        M_RESET(s);
        t0 = now_ns();
        for (c = 0; c < n_calls; c++) M_PROCESS(s, x + c * block * M_IN, y + c * block * M_OUT, (int)block);
        printf("%s%.0f", r ? ", " : "", now_ns() - t0);
    }
    M_RESET(s);
    for (c = 0; c < n_calls; c++) {
        t0 = now_ns();
        M_PROCESS(s, x + c * block * M_IN, y + c * block * M_OUT, (int)block);
        call_ns[c] = now_ns() - t0;
        sum += call_ns[c];
        worst = call_ns[c] > worst ? call_ns[c] : worst;
    }
    qsort(call_ns, (size_t)n_calls, sizeof *call_ns, cmp_double);
    printf("], \"call_ns\": {\"mean\": %.1f, \"median\": %.1f, \"p99\": %.1f, \"max\": %.1f}, \"checksum\": %.6g}\n",
           sum / (double)n_calls, call_ns[n_calls / 2], call_ns[(long)(0.99 * (double)(n_calls - 1))], worst,
           (double)y[frames * M_OUT - 1]);
    free(x);
    free(y);
    free(call_ns);
    free(s);
    return 0;
}

/* Each call is timed by the wall clock and by the thread's CPU time, read around it in this order:
 * switches, wall, CPU, [call], CPU, wall, switches. A call whose wall time exceeds its CPU time
 * spent part of it off the CPU (preempted, or the machine busy elsewhere); its CPU time is what the
 * model cost. The timers' own cost is measured the same way around an empty call (median of many)
 * and subtracted. */
static int cmd_measure(long frames, long block, double seconds, const char *out_path)
{
    enum { CALIBRATE = 2001 };
    long n_calls = frames / block, cap, c = 0, k, i;
    float *x = noise(frames * M_IN);
    float *y = malloc((size_t)(frames * M_OUT) * sizeof *y);
    double *rec, w0, w1, c0, c1, end, cal_w[CALIBRATE], cal_c[CALIBRATE], over_w, over_c;
    long s0, s1, switches0;
    M_STATE *s = new_state();
    FILE *f;
    if (!y || !s || n_calls < 1 || seconds <= 0) fail("bad arguments or out of memory");
    cap = (long)(seconds * 2e6) + 64; /* no callback is timed faster than 0.5 us with its timers */
    if (cap > 2000000) cap = 2000000;
    rec = malloc((size_t)cap * 3 * sizeof *rec);
    if (!rec) fail("out of memory");
    for (i = 0; i < CALIBRATE; i++) {
        w0 = clock_of(CLOCK_MONOTONIC);
        c0 = clock_of(CLOCK_THREAD_CPUTIME_ID);
        c1 = clock_of(CLOCK_THREAD_CPUTIME_ID);
        w1 = clock_of(CLOCK_MONOTONIC);
        cal_w[i] = w1 - w0;
        cal_c[i] = c1 - c0;
    }
    qsort(cal_w, CALIBRATE, sizeof *cal_w, cmp_double);
    qsort(cal_c, CALIBRATE, sizeof *cal_c, cmp_double);
    over_w = cal_w[CALIBRATE / 2];
    over_c = cal_c[CALIBRATE / 2];
    M_RESET(s);
    for (k = 0; k < n_calls; k++) M_PROCESS(s, x + k * block * M_IN, y + k * block * M_OUT, (int)block);
    M_RESET(s);
    switches0 = involuntary_switches();
    end = clock_of(CLOCK_MONOTONIC) + seconds * 1e9;
    k = 0;
    do {
        s0 = involuntary_switches();
        w0 = clock_of(CLOCK_MONOTONIC);
        c0 = clock_of(CLOCK_THREAD_CPUTIME_ID);
        M_PROCESS(s, x + k * block * M_IN, y + k * block * M_OUT, (int)block);
        c1 = clock_of(CLOCK_THREAD_CPUTIME_ID);
        w1 = clock_of(CLOCK_MONOTONIC);
        s1 = involuntary_switches();
        rec[3 * c] = w1 - w0 - over_w > 0.0 ? w1 - w0 - over_w : 0.0;
        rec[3 * c + 1] = c1 - c0 - over_c > 0.0 ? c1 - c0 - over_c : 0.0;
        rec[3 * c + 2] = (double)(s1 - s0);
        c++;
        if (++k == n_calls) k = 0;
    } while (c < cap && (c < 8 || w1 < end));
    f = fopen(out_path, "wb");
    if (!f || fwrite(rec, 3 * sizeof *rec, (size_t)c, f) != (size_t)c) fail("cannot write the timings");
    fclose(f);
    printf("{\"calls\": %ld, \"block\": %ld, \"timer_wall_ns\": %.1f, \"timer_cpu_ns\": %.1f, "
           "\"involuntary_switches\": %ld, \"checksum\": %.6g}\n", c, block, over_w, over_c,
           involuntary_switches() - switches0, (double)y[(frames - 1) * M_OUT]);
    free(x);
    free(y);
    free(rec);
    free(s);
    return 0;
}

#ifdef TRT_HOOKS
static int cmd_check(long frames, long block)
{
    long n_calls = frames / block, c;
    float *x = noise(frames * M_IN);
    float *y = malloc((size_t)(frames * M_OUT) * sizeof *y);
    M_STATE *s = new_state();
    long probe_heap;
    if (!y || !s || n_calls < 1) fail("bad arguments or out of memory");
    /* the hooks must see a deliberate allocation, or the check proves nothing */
    counting = 1;
    probe_sink = malloc(16);
    counting = 0;
    probe_heap = n_heap;
    free(probe_sink);
    n_heap = 0;
    M_RESET(s);
    counting = 1;
    for (c = 0; c < n_calls; c++) M_PROCESS(s, x + c * block * M_IN, y + c * block * M_OUT, (int)block);
    counting = 0;
    printf("{\"calls\": %ld, \"heap_calls\": %ld, \"lock_calls\": %ld, \"probe_heap_calls\": %ld}\n",
           n_calls, n_heap, n_lock, probe_heap);
    free(x);
    free(y);
    free(s);
    return 0;
}
#endif

#ifdef TRT_PROFILE
/* One calibration round of n empty hook pairs: returns the mean ns a region's own pair adds to
 * it (*inner) and the mean ns a nested pair adds to the region enclosing it (*pair). */
static void prof_calibrate(long n, double *inner, double *pair)
{
    long i;
    memset(prof_ns, 0, sizeof prof_ns);
    trt_prof_begin(TRT_PROF_REGIONS + 1);
    for (i = 0; i < n; i++) {
        trt_prof_begin(TRT_PROF_REGIONS);
        trt_prof_end(TRT_PROF_REGIONS);
    }
    trt_prof_end(TRT_PROF_REGIONS + 1);
    *inner = (double)prof_ns[TRT_PROF_REGIONS] / (double)n;
    *pair = (double)prof_ns[TRT_PROF_REGIONS + 1] / (double)n - *inner / (double)n;
}

static int cmd_profile(long frames, long block)
{
    enum { ROUNDS = 7 };
    long n_calls = frames / block, c;
    float *x = noise(frames * M_IN);
    float *y = malloc((size_t)(frames * M_OUT) * sizeof *y);
    long long *call_ns = malloc((size_t)(n_calls * TRT_PROF_REGIONS) * sizeof *call_ns);
    M_STATE *s = new_state();
    double inner[ROUNDS], pair[ROUNDS], t0, pass;
    int r, k;
    if (!y || !call_ns || !s || n_calls < 1) fail("bad arguments or out of memory");
    M_RESET(s);
    for (c = 0; c < n_calls; c++) M_PROCESS(s, x + c * block * M_IN, y + c * block * M_OUT, (int)block);
    for (r = 0; r < ROUNDS; r++) prof_calibrate(20000, &inner[r], &pair[r]);
    qsort(inner, ROUNDS, sizeof *inner, cmp_double);
    qsort(pair, ROUNDS, sizeof *pair, cmp_double);
    memset(prof_ns, 0, sizeof prof_ns);
    memset(prof_count, 0, sizeof prof_count);
    M_RESET(s);
    t0 = now_ns();
    for (c = 0; c < n_calls; c++) {
        M_PROCESS(s, x + c * block * M_IN, y + c * block * M_OUT, (int)block);
        for (k = 0; k < TRT_PROF_REGIONS; k++) call_ns[c * TRT_PROF_REGIONS + k] = prof_ns[k];
    }
    pass = now_ns() - t0;
    printf("{\"frames\": %ld, \"block\": %ld, \"calls\": %ld, \"pass_ns\": %.0f, \"timer_inner_ns\": %.2f, "
           "\"timer_pair_ns\": %.2f, \"count\": [", n_calls * block, block, n_calls, pass, inner[ROUNDS / 2],
           pair[ROUNDS / 2]);
    for (k = 0; k < TRT_PROF_REGIONS; k++) printf("%s%lld", k ? ", " : "", prof_count[k]);
    printf("], \"call_ns\": [");  /* per region, each call's ns */
    for (k = 0; k < TRT_PROF_REGIONS; k++) {
        for (c = 0; c < n_calls; c++) {
            long long before = c ? call_ns[(c - 1) * TRT_PROF_REGIONS + k] : 0;
            printf("%s%lld", c ? ", " : (k ? "], [" : "["), call_ns[c * TRT_PROF_REGIONS + k] - before);
        }
    }
    printf("]], \"checksum\": %.6g}\n", (double)y[frames * M_OUT - 1]);
    free(x);
    free(y);
    free(call_ns);
    free(s);
    return 0;
}
#endif

int main(int argc, char **argv)
{
    unsigned long fpenv; /* flush-to-zero / denormals-are-zero, as an audio host runs its callback */
    trt_proc_fpenv_enter(&fpenv);
    if (argc == 5 && !strcmp(argv[1], "run")) return cmd_run(argv[2], argv[3], strtoull(argv[4], NULL, 10));
    if (argc == 5 && !strcmp(argv[1], "time")) return cmd_time(atol(argv[2]), atol(argv[3]), atoi(argv[4]));
    if (argc == 6 && !strcmp(argv[1], "measure"))
        return cmd_measure(atol(argv[2]), atol(argv[3]), atof(argv[4]), argv[5]);
#ifdef TRT_HOOKS
    if (argc == 4 && !strcmp(argv[1], "check")) return cmd_check(atol(argv[2]), atol(argv[3]));
#endif
#ifdef TRT_PROFILE
    if (argc == 4 && !strcmp(argv[1], "profile")) return cmd_profile(atol(argv[2]), atol(argv[3]));
#endif
    fprintf(stderr, "usage: %s run IN OUT SEED | time FRAMES BLOCK REPS | measure FRAMES BLOCK SECONDS OUT | "
            "check FRAMES BLOCK | profile FRAMES BLOCK\n", argv[0]);
    return 2;
}
