/* trt_dense.h - matrix-vector products and the fully connected layer (PyTorch nn.Linear).
 *
 * Column layout ("cols"): a matrix W with G outputs is stored transposed, one row of
 * trt_stride(G, bf16) floats per input k holding W[0..G)[k] and zero padding. Each input adds a
 * scaled row to all outputs, so the work vectorises across outputs with no reassociation.
 * With bf16 = TRT_WEIGHTS_BF16, each row holds uint32 words instead: word (j / 32) * 16 + j % 16
 * carries two outputs. Output j with j % 32 < 16 is the bfloat16 in the low half (widened by a shift: a
 * bfloat16 is the upper 16 bits of a float32). Output j + 16 is the whole word read as a float32,
 * its upper half chosen so that the word is the float nearest the weight given the lower half;
 * that is as exact as rounding to bfloat16 and costs no instruction to widen.
 *
 * Biases given to trt_matvec_cols hold trt_stride(G, TRT_WEIGHTS_F32) floats, zero padded
 * (TRT_NO_BIAS: none).
 *
 * Row layout ("rows"): W stored as is, w[j * n_in + k]; each output is a dot product computed
 * in TRT_LANES partial sums. Used for few outputs (the dense head of an effect model).
 *
 * Two implementations of trt_matvec_cols sit side by side: the plain C99 loops, and one using
 * GCC/Clang vector types of the target's width that keeps TRT_VB vectors of accumulators in
 * registers for the whole product. Defining TRT_PLAIN_C selects the plain loops; the tests hold the two together.
 */
#ifndef TRT_DENSE_H
#define TRT_DENSE_H

#include "trt_common.h"

/* The `bf16` argument of the column-layout kernels: how the matrix stores its weights. */
enum { TRT_WEIGHTS_F32 = 0, TRT_WEIGHTS_BF16 = 1 };

/* Row length of a column-layout matrix with G outputs. */
#define trt_stride(G, bf16) ((bf16) ? ((G) + 31) / 32 * 16 : ((G) + 15) / 16 * 16)

TRT_INLINE float trt_dot(const float *restrict w, const float *restrict x, int n)
{
    float acc[TRT_LANES] = {0};
    int k = 0, l, width;
    for (; k + TRT_LANES <= n; k += TRT_LANES)
        for (l = 0; l < TRT_LANES; l++) acc[l] += w[k + l] * x[k + l];
    for (l = 0; k + l < n; l++) acc[l] += w[k + l] * x[k + l];
    for (width = TRT_LANES / 2; width > 0; width /= 2)
        for (l = 0; l < width; l++) acc[l] += acc[l + width];
    return acc[0];
}

/* Weight j of row k of a column-layout matrix (float32 or packed bfloat16). */
TRT_INLINE float trt_col_weight(const void *w, int k, int j, int G, int bf16)
{
    if (bf16) {
        const uint32_t *row = (const uint32_t *)w + (size_t)k * trt_stride(G, TRT_WEIGHTS_BF16);
        uint32_t word = row[(size_t)(j / 32) * 16 + j % 16];
        uint32_t bits = j % 32 < 16 ? word << 16 : word;
        float f;
        memcpy(&f, &bits, sizeof f);
        return f;
    }
    return ((const float *)w)[(size_t)k * trt_stride(G, TRT_WEIGHTS_F32) + j];
}

#if defined(TRT_PLAIN_C) || !(defined(__GNUC__) || defined(__clang__))

/* out[0..G) = b + W1 x1 + W2 x2 (W2 may be NULL), both matrices in column layout. */
TRT_INLINE void trt_matvec_cols(float *restrict out, const float *restrict b, const void *w1,
                                const float *restrict x1, int n1, const void *w2,
                                const float *restrict x2, int n2, int G, int bf16)
{
    int j, k;
    for (j = 0; j < G; j++) out[j] = b ? b[j] : 0.0f;
    for (k = 0; k < n1; k++)
        for (j = 0; j < G; j++) out[j] += trt_col_weight(w1, k, j, G, bf16) * x1[k];
    for (k = 0; w2 && k < n2; k++)
        for (j = 0; j < G; j++) out[j] += trt_col_weight(w2, k, j, G, bf16) * x2[k];
}

#else

/* TRT_VW floats per vector, the target's native width; TRT_VB vectors of accumulators per chunk
 * (TRT_VW * TRT_VB must be a multiple of 32, the packed bfloat16 block). */
#ifndef TRT_VW
#if defined(__AVX512F__)
#define TRT_VW 16
#elif defined(__AVX__)
#define TRT_VW 8
#else
#define TRT_VW 4
#endif
#endif
#ifndef TRT_VB
#if TRT_VW == 4 && defined(__aarch64__)
#define TRT_VB 16 /* 32 vector registers */
#else
#define TRT_VB 8
#endif
#endif

#if TRT_VW * TRT_VB % 32 != 0
#error "TRT_VW * TRT_VB must be a multiple of 32"
#endif

typedef float trt_vf __attribute__((vector_size(4 * TRT_VW)));
typedef uint32_t trt_vu __attribute__((vector_size(4 * TRT_VW)));

/* Adds n rows of w (from column c of a G-output matrix) scaled by x into nv accumulators. */
TRT_INLINE void trt_vacc(trt_vf *acc, const void *w, const float *restrict x, int n, int c, int nv, int G,
                         int bf16)
{
    int k, v, b, part;
    for (k = 0; k < n; k++) {
        if (bf16) {
            const uint32_t *row = (const uint32_t *)w + (size_t)k * trt_stride(G, TRT_WEIGHTS_BF16) + c / 2;
            for (b = 0; b * 32 < nv * TRT_VW; b++) {
                for (part = 0; part < 16 / TRT_VW; part++) {
                    const int lo = (32 * b) / TRT_VW + part, hi = (32 * b + 16) / TRT_VW + part;
                    trt_vu bits;
                    memcpy(&bits, row + 16 * b + part * TRT_VW, sizeof bits);
                    if (lo < nv) acc[lo] += (trt_vf)(bits << 16) * x[k];
                    if (hi < nv) acc[hi] += (trt_vf)bits * x[k];
                }
            }
        } else {
            const float *row = (const float *)w + (size_t)k * trt_stride(G, TRT_WEIGHTS_F32) + c;
            for (v = 0; v < nv; v++) {
                trt_vf wv;
                memcpy(&wv, row + TRT_VW * v, sizeof wv);
                acc[v] += wv * x[k];
            }
        }
    }
}

/* One chunk of nv vectors of outputs starting at output c. */
TRT_INLINE void trt_matvec_chunk(float *restrict out, const float *restrict b, const void *w1,
                                 const float *restrict x1, int n1, const void *w2, const float *restrict x2,
                                 int n2, int c, int nv, int G, int bf16)
{
    trt_vf acc[TRT_VB];
    int v, j;
    for (v = 0; v < TRT_VB; v++) { /* all of them: compilers cannot always prove v < nv */
        float init[TRT_VW];
        for (j = 0; j < TRT_VW; j++) init[j] = b && v < nv ? b[c + TRT_VW * v + j] : 0.0f;
        memcpy(&acc[v], init, sizeof init);
    }
    trt_vacc(acc, w1, x1, n1, c, nv, G, bf16);
    if (w2) trt_vacc(acc, w2, x2, n2, c, nv, G, bf16);
    for (v = 0; v < nv; v++) {
        const int o = c + TRT_VW * v;
        if (G - o >= TRT_VW) {
            memcpy(out + o, &acc[v], sizeof acc[v]);
        } else {
            for (j = 0; j < G - o; j++) out[o + j] = acc[v][j];
        }
    }
}

TRT_INLINE void trt_matvec_cols(float *restrict out, const float *restrict b, const void *w1,
                                const float *restrict x1, int n1, const void *w2,
                                const float *restrict x2, int n2, int G, int bf16)
{
    const int chunk = TRT_VW * TRT_VB;
    int c;
    for (c = 0; c + chunk <= G; c += chunk) trt_matvec_chunk(out, b, w1, x1, n1, w2, x2, n2, c, TRT_VB, G, bf16);
    if (c < G) trt_matvec_chunk(out, b, w1, x1, n1, w2, x2, n2, c, (G - c + TRT_VW - 1) / TRT_VW, G, bf16);
}

#endif

/* y = W x + b with W in column layout (float32) and b padded as above. */
TRT_INLINE void trt_dense_cols(const float *restrict wt, const float *restrict b,
                               const float *restrict x, float *restrict y, int n_in, int n_out)
{
    trt_matvec_cols(y, b, wt, x, n_in, NULL, NULL, 0, n_out, TRT_WEIGHTS_F32);
}

/* y = W x + b with W in row layout. */
TRT_INLINE void trt_dense_rows(const float *restrict w, const float *restrict b,
                               const float *restrict x, float *restrict y, int n_in, int n_out)
{
    int j;
    for (j = 0; j < n_out; j++) y[j] = (b ? b[j] : 0.0f) + trt_dot(w + (size_t)j * n_in, x, n_in);
}

/* g[j] += col[j] * s for j < n */
TRT_INLINE void trt_axpy(float *restrict g, const float *restrict col, float s, int n)
{
    int j;
    for (j = 0; j < n; j++) g[j] += col[j] * s;
}

#endif /* TRT_DENSE_H */
