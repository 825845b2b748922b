/* trt_block.h - block kernels: a model's layers run over a chunk of frames at a time.
 *
 * A tensor of C channels over a chunk is stored channel-major: row c holds its values for the
 * chunk's frames, consecutive in time, rows `stride` floats apart. A convolution's input lives in
 * a long linear buffer per channel (its history): the chunk's frames are written at the buffer's
 * position p and the frames before it are the past, so a tap delayed by D frames reads the row at
 * p - D, contiguous. When the next chunk would not fit, trt_blk_rewind copies the last L frames to
 * the front (once every many chunks; see blockgen.py for the sizes).
 *
 * The linear kernel (dense, the taps of a convolution, an input mixin, all summed into one output)
 * is one matrix product over the rows of all of them: Y[c][t] += W[i][c] * X_i[t], X_i a row of an
 * input at its tap's delay (a table of row pointers, trt_blk_gather), over a tile of TRT_BCO output
 * rows by TRT_BNV vectors of TRT_BW frames kept in registers. Kernels cover a chunk of n
 * frames in whole vectors: the frames after n up to the next multiple of TRT_BW are computed
 * too and never read back as results (every buffer has room for them), so every frame goes
 * through the same instructions whichever call split brought it. The sum per output is bias,
 * then every input row in order, then the addend (a residual stream), then the scale: the
 * frame-by-frame engine's order, except that an input mixin joins its convolution's sum instead
 * of being added to it afterwards.
 *
 * Defining TRT_PLAIN_C (or a compiler without GCC vector extensions, or a target without SIMD)
 * selects plain scalar loops with TRT_BW = 1.
 */
#ifndef TRT_BLOCK_H
#define TRT_BLOCK_H

#include "trt_act.h"

/* rows[i] = x + i * stride for i < n: the input rows a linear kernel reads (one table per kernel call). */
TRT_INLINE void trt_blk_gather(const float **rows, const float *x, int n, int stride)
{
    int i;
    for (i = 0; i < n; i++) rows[i] = x + (size_t)i * stride;
}

/* Function codes of trt_blk_unary (elementwise activations). */
enum {
    TRT_BLK_IDENTITY = 0, TRT_BLK_TANH, TRT_BLK_SIGMOID, TRT_BLK_RELU, TRT_BLK_SOFTSIGN, TRT_BLK_ELU,
    TRT_BLK_PRELU, TRT_BLK_SILU, TRT_BLK_GELU
};

#if !defined(TRT_PLAIN_C) && (defined(__GNUC__) || defined(__clang__)) \
    && (defined(__AVX__) || defined(__SSE2__) || defined(__ARM_NEON) || defined(__aarch64__))
#define TRT_BLK_VECTOR 1
#endif

#ifdef TRT_BLK_VECTOR
/* TRT_BW floats per vector; a tile of TRT_BCO output rows by TRT_BNV vectors of accumulators (both can be
 * set with -D for tuning: TRT_BCO <= 6). */
#if defined(__AVX512F__)
#define TRT_BW 16
#define TRT_BCO_DEFAULT 6
#define TRT_BNV_DEFAULT 4
#elif defined(__AVX__)
#define TRT_BW 8
#define TRT_BCO_DEFAULT 4
#define TRT_BNV_DEFAULT 2
#elif defined(__aarch64__)
#define TRT_BW 4
#define TRT_BCO_DEFAULT 4
#define TRT_BNV_DEFAULT 4
#else
#define TRT_BW 4
#define TRT_BCO_DEFAULT 4
#define TRT_BNV_DEFAULT 2
#endif
#ifndef TRT_BCO
#define TRT_BCO TRT_BCO_DEFAULT
#endif
#ifndef TRT_BNV
#define TRT_BNV TRT_BNV_DEFAULT
#endif
typedef float trt_bv __attribute__((vector_size(4 * TRT_BW)));
#else
#define TRT_BW 1
#endif

/* Frames a kernel computes for a chunk of n: n rounded up to whole vectors. */
#define TRT_BLK_SPAN(n) (((n) + TRT_BW - 1) / TRT_BW * TRT_BW)

/* Move the last L frames before position p of each of `rows` rows (length `len`) to their front. */
TRT_INLINE void trt_blk_rewind(float *h, int rows, int len, int p, int L)
{
    int r;
    for (r = 0; r < rows; r++) memmove(h + (size_t)r * len, h + (size_t)r * len + p - L, (size_t)L * sizeof *h);
}

/* dst row c, frames t < n, = in[t * n_in + c] (interleaved frames to rows). */
TRT_INLINE void trt_blk_load(float *restrict dst, int stride, const float *restrict in, int n_in, int n)
{
    int c, t;
    for (c = 0; c < n_in; c++)
        for (t = 0; t < n; t++) dst[(size_t)c * stride + t] = in[(size_t)t * n_in + c];
}

/* out[t * n_out + c] = src row c, frame t, for t < n (rows back to interleaved frames). */
TRT_INLINE void trt_blk_store(float *restrict out, int n_out, const float *restrict src, int stride, int n)
{
    int c, t;
    for (t = 0; t < n; t++)
        for (c = 0; c < n_out; c++) out[(size_t)t * n_out + c] = src[(size_t)c * stride + t];
}

#ifdef TRT_BLK_VECTOR

TRT_INLINE trt_bv trt_blk_ld(const float *p)
{
    trt_bv v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Unroll the loops over a tile's rows and vectors before the compiler decides where the accumulators live:
 * then every accumulator is a register for the whole tile (not stored and reloaded around the product). */
#if defined(__clang__)
#define TRT_UNROLL _Pragma("unroll 8")
#elif defined(__GNUC__) && __GNUC__ >= 8
#define TRT_UNROLL _Pragma("GCC unroll 8")
#else
#define TRT_UNROLL
#endif

/* One tile: rows c0 .. c0 + nco of the output, vectors t0 .. t0 + nv * TRT_BW of the chunk. */
TRT_INLINE void trt_blk_tile(float *restrict y, int ys, const float *restrict w, const float *restrict bias,
                             const float *addend, int as, const float *const *xr, int n_rows, int c_out, float scale,
                             int scaled, int c0, int t0, int nco, int nv)
{
    trt_bv acc[TRT_BCO * TRT_BNV];
    int c, v, i = 0;
    TRT_UNROLL for (c = 0; c < nco; c++) {
        const float b = bias ? bias[c0 + c] : 0.0f;
        TRT_UNROLL for (v = 0; v < nv; v++) acc[c * TRT_BNV + v] = (trt_bv){0} + b;
    }
    w += c0;
    do { /* one loop over every input row of every term: the accumulators stay in registers */
        const float *restrict x = xr[i] + t0;
        trt_bv xv[TRT_BNV];
        TRT_UNROLL for (v = 0; v < nv; v++) xv[v] = trt_blk_ld(x + v * TRT_BW);
        TRT_UNROLL for (c = 0; c < nco; c++) {
            const float wc = w[c];
            TRT_UNROLL for (v = 0; v < nv; v++) acc[c * TRT_BNV + v] += xv[v] * wc;
        }
        w += c_out;
    } while (++i < n_rows);
    TRT_UNROLL for (c = 0; c < nco; c++) {
        TRT_UNROLL for (v = 0; v < nv; v++) {
            trt_bv r = acc[c * TRT_BNV + v];
            if (addend) r += trt_blk_ld(addend + (size_t)(c0 + c) * as + t0 + v * TRT_BW);
            if (scaled) r *= scale;
            memcpy(y + (size_t)(c0 + c) * ys + t0 + v * TRT_BW, &r, sizeof r);
        }
    }
}

/* The tile specialised for nco rows and nv vectors, compiled once and shared by every layer: a call per
 * tile costs little beside its products, and inlining every layer's tiles only made the code long. */
#if defined(__GNUC__) || defined(__clang__)
#define TRT_BLK_SHARED static __attribute__((noinline, unused))
#else
#define TRT_BLK_SHARED static
#endif
#define TRT_BLK_TILE(nco, nv)                                                                                  \
    TRT_BLK_SHARED void trt_blk_tile_##nco##_##nv(float *restrict y, int ys, const float *restrict w,         \
                                                  const float *restrict bias, const float *addend, int as,     \
                                                  const float *const *xr, int n_rows, int c_out, float scale,  \
                                                  int scaled, int c0, int t0)                                  \
    {                                                                                                          \
        trt_blk_tile(y, ys, w, bias, addend, as, xr, n_rows, c_out, scale, scaled, c0, t0, nco, nv);          \
    }
TRT_BLK_TILE(1, 1)
TRT_BLK_TILE(2, 1)
TRT_BLK_TILE(3, 1)
TRT_BLK_TILE(4, 1)
TRT_BLK_TILE(1, TRT_BNV)
TRT_BLK_TILE(2, TRT_BNV)
TRT_BLK_TILE(3, TRT_BNV)
TRT_BLK_TILE(4, TRT_BNV)
#if TRT_BCO > 4
TRT_BLK_TILE(5, 1)
TRT_BLK_TILE(5, TRT_BNV)
#endif
#if TRT_BCO > 5
TRT_BLK_TILE(6, 1)
TRT_BLK_TILE(6, TRT_BNV)
#endif
#if TRT_BCO > 6
#error "trt_block.h specialises tiles of up to 6 rows"
#endif

typedef void (*trt_blk_tile_fn)(float *restrict, int, const float *restrict, const float *restrict, const float *,
                                int, const float *const *, int, int, float, int, int, int);

/* Tiles over output rows c0 .. c0 + nco for frames 0 .. n: whole tiles of TRT_BNV vectors, then single vectors. */
TRT_INLINE void trt_blk_rows(float *y, int ys, const float *w, const float *bias, const float *addend, int as,
                             const float *const *xr, int n_rows, int c_out, float scale, int scaled, int c0, int nco,
                             int n)
{
    static const trt_blk_tile_fn whole[] = {
        trt_blk_tile_1_TRT_BNV, trt_blk_tile_2_TRT_BNV, trt_blk_tile_3_TRT_BNV, trt_blk_tile_4_TRT_BNV,
#if TRT_BCO > 4
        trt_blk_tile_5_TRT_BNV,
#endif
#if TRT_BCO > 5
        trt_blk_tile_6_TRT_BNV,
#endif
    };
    static const trt_blk_tile_fn single[] = {
        trt_blk_tile_1_1, trt_blk_tile_2_1, trt_blk_tile_3_1, trt_blk_tile_4_1,
#if TRT_BCO > 4
        trt_blk_tile_5_1,
#endif
#if TRT_BCO > 5
        trt_blk_tile_6_1,
#endif
    };
    int t0 = 0;
    for (; t0 + TRT_BNV * TRT_BW <= n; t0 += TRT_BNV * TRT_BW)
        whole[nco - 1](y, ys, w, bias, addend, as, xr, n_rows, c_out, scale, scaled, c0, t0);
    for (; t0 < n; t0 += TRT_BW) single[nco - 1](y, ys, w, bias, addend, as, xr, n_rows, c_out, scale, scaled, c0, t0);
}

/* Y (c_out rows, ys apart) = (bias + W X + addend) * scale for frames 0 .. n, W holding n_rows rows of c_out
 * weights (input row i's weight to output c at w[i * c_out + c]) and xr[i] pointing at input row i. y must not
 * be an input row; it may be the addend (each value is read just before it is written). */
TRT_INLINE void trt_blk_linear(float *y, int ys, const float *w, const float *bias, const float *addend, int as,
                               const float *const *xr, int n_rows, int c_out, float scale, int scaled, int n)
{
    const int full = c_out - c_out % TRT_BCO;
    int c0;
    for (c0 = 0; c0 < full; c0 += TRT_BCO)
        trt_blk_rows(y, ys, w, bias, addend, as, xr, n_rows, c_out, scale, scaled, c0, TRT_BCO, n);
    if (full < c_out) trt_blk_rows(y, ys, w, bias, addend, as, xr, n_rows, c_out, scale, scaled, full, c_out - full, n);
}

#else

TRT_INLINE void trt_blk_linear(float *y, int ys, const float *w, const float *bias, const float *addend, int as,
                               const float *const *xr, int n_rows, int c_out, float scale, int scaled, int n)
{
    int c, t, i;
    for (c = 0; c < c_out; c++) {
        for (t = 0; t < n; t++) {
            float acc = bias ? bias[c] : 0.0f;
            for (i = 0; i < n_rows; i++) acc += w[(size_t)i * c_out + c] * xr[i][t];
            if (addend) acc += addend[(size_t)c * as + t];
            if (scaled) acc *= scale;
            y[(size_t)c * ys + t] = acc;
        }
    }
}

#endif

/* f(x) of trt_blk_unary; fn and fast are constants at every call, so the switch folds away. */
TRT_INLINE float trt_blk_f(float x, int fn, int fast, float alpha, float slope)
{
    switch (fn) {
    case TRT_BLK_TANH: return trt_tanhf(x, fast);
    case TRT_BLK_SIGMOID: return trt_sigmoidf(x, fast);
    case TRT_BLK_RELU: return x > 0.0f ? x : 0.0f;
    case TRT_BLK_SOFTSIGN: return x / (1.0f + fabsf(x));
    case TRT_BLK_ELU: return x > 0.0f ? x : alpha * (trt_expf(x < 0.0f ? x : 0.0f) - 1.0f);
    case TRT_BLK_PRELU: return x >= 0.0f ? x : slope * x;
    case TRT_BLK_SILU: return x * trt_sigmoidf(x, TRT_ACT_PRECISE);
    case TRT_BLK_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    default: return x;
    }
}

/* y = f(x) per value, rows apart by ys and xs, frames 0 .. n; slopes: PReLU's (1 shared or 1 per row). */
TRT_INLINE void trt_blk_unary(float *restrict y, int ys, const float *restrict x, int xs, int rows, int n, int fn,
                              int fast, float alpha, const float *slopes, int n_slopes)
{
    int r, t;
    for (r = 0; r < rows; r++) {
        const float slope = slopes ? slopes[n_slopes == 1 ? 0 : r] : 0.0f;
        float *restrict yr = y + (size_t)r * ys;
        const float *restrict xr = x + (size_t)r * xs;
        for (t = 0; t < n; t++) yr[t] = trt_blk_f(xr[t], fn, fast, alpha, slope);
    }
}

/* y = f(y) in place. */
TRT_INLINE void trt_blk_unary_ip(float *y, int ys, int rows, int n, int fn, int fast, float alpha,
                                 const float *slopes, int n_slopes)
{
    int r, t;
    for (r = 0; r < rows; r++) {
        const float slope = slopes ? slopes[n_slopes == 1 ? 0 : r] : 0.0f;
        float *restrict yr = y + (size_t)r * ys;
        for (t = 0; t < n; t++) yr[t] = trt_blk_f(yr[t], fn, fast, alpha, slope);
    }
}

/* y = f(a) * g(b) (a gated activation: tanh of one half times sigmoid of the other); y may be a or b. */
TRT_INLINE void trt_blk_gated(float *y, int ys, const float *a, int as, const float *b, int bs, int rows, int n,
                              int fa, int fb, int fast)
{
    int r, t;
    for (r = 0; r < rows; r++) {
        float *yr = y + (size_t)r * ys;
        const float *ar = a + (size_t)r * as, *br = b + (size_t)r * bs;
        if (yr == ar) {
            for (t = 0; t < n; t++) yr[t] = trt_blk_f(yr[t], fa, fast, 0.0f, 0.0f) * trt_blk_f(br[t], fb, fast, 0.0f, 0.0f);
        } else {
            for (t = 0; t < n; t++) yr[t] = trt_blk_f(ar[t], fa, fast, 0.0f, 0.0f) * trt_blk_f(br[t], fb, fast, 0.0f, 0.0f);
        }
    }
}

/* y = a + b (op 0) or a * b (op 1) per value; y may be a (in place) but not b. */
TRT_INLINE void trt_blk_binary(float *y, int ys, const float *a, int as, const float *restrict b, int bs, int rows,
                               int n, int op)
{
    int r, t;
    for (r = 0; r < rows; r++) {
        float *yr = y + (size_t)r * ys;
        const float *ar = a + (size_t)r * as, *restrict br = b + (size_t)r * bs;
        if (yr == ar) {
            for (t = 0; t < n; t++) yr[t] = op ? yr[t] * br[t] : yr[t] + br[t];
        } else {
            for (t = 0; t < n; t++) yr[t] = op ? ar[t] * br[t] : ar[t] + br[t];
        }
    }
}

/* y = x * scale[r] + shift[r] per row (a folded batch-norm); shift may be NULL, scale has 1 or rows values. */
TRT_INLINE void trt_blk_affine(float *y, int ys, const float *x, int xs, int rows, int n, const float *scale,
                               int n_scale, const float *shift)
{
    int r, t;
    for (r = 0; r < rows; r++) {
        const float g = scale[n_scale == 1 ? 0 : r], h = shift ? shift[r] : 0.0f;
        float *yr = y + (size_t)r * ys;
        const float *xr = x + (size_t)r * xs;
        if (yr == xr) {
            if (shift) { for (t = 0; t < n; t++) yr[t] = yr[t] * g + h; }
            else { for (t = 0; t < n; t++) yr[t] = yr[t] * g; }
        } else {
            if (shift) { for (t = 0; t < n; t++) yr[t] = xr[t] * g + h; }
            else { for (t = 0; t < n; t++) yr[t] = xr[t] * g; }
        }
    }
}

#endif /* TRT_BLOCK_H */
