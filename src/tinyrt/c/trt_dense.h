/* trt_dense.h - fully connected layer, y = W x + b (PyTorch nn.Linear convention).
 *
 * Two weight layouts, chosen by the code generator:
 *  - trt_dense_cols: W stored transposed, wt[k * n_out + j] = W[j][k]. Each input adds a scaled
 *    column to all outputs (an axpy), which vectorises across outputs with no reassociation.
 *    Used when there are many outputs.
 *  - trt_dense_rows: W stored as is, w[j * n_in + k]. Each output is a dot product computed in
 *    TRT_LANES partial sums. Used for few outputs (the dense head of an effect model).
 * b may be NULL (no bias).
 */
#ifndef TRT_DENSE_H
#define TRT_DENSE_H

#include "trt_common.h"

/* g[j] += col[j] * s for j < n */
TRT_INLINE void trt_axpy(float *restrict g, const float *restrict col, float s, int n)
{
    int j;
    for (j = 0; j < n; j++) g[j] += col[j] * s;
}

/* g[j] += col[offset + j] * s, with col float32 or (bf16 = 1) bfloat16 */
TRT_INLINE void trt_axpy_w(float *restrict g, const void *col, size_t offset, float s, int n, int bf16)
{
    if (bf16) {
        const trt_bf16 *w = (const trt_bf16 *)col + offset;
        int j;
        for (j = 0; j < n; j++) g[j] += trt_bf16_to_float(w[j]) * s;
    } else {
        trt_axpy(g, (const float *)col + offset, s, n);
    }
}

TRT_INLINE float trt_dot(const float *restrict w, const float *restrict x, int n)
{
    float acc[TRT_LANES] = {0};
    float sum = 0.0f;
    int k = 0, l, width;
    for (; k + TRT_LANES <= n; k += TRT_LANES)
        for (l = 0; l < TRT_LANES; l++) acc[l] += w[k + l] * x[k + l];
    for (l = 0; k + l < n; l++) acc[l] += w[k + l] * x[k + l];
    for (width = TRT_LANES / 2; width > 0; width /= 2)
        for (l = 0; l < width; l++) acc[l] += acc[l + width];
    sum = acc[0];
    return sum;
}

TRT_INLINE void trt_dense_cols(const float *restrict wt, const float *restrict b,
                               const float *restrict x, float *restrict y, int n_in, int n_out)
{
    int j, k;
    for (j = 0; j < n_out; j++) y[j] = b ? b[j] : 0.0f;
    for (k = 0; k < n_in; k++) trt_axpy(y, wt + (size_t)k * n_out, x[k], n_out);
}

TRT_INLINE void trt_dense_rows(const float *restrict w, const float *restrict b,
                               const float *restrict x, float *restrict y, int n_in, int n_out)
{
    int j;
    for (j = 0; j < n_out; j++) y[j] = (b ? b[j] : 0.0f) + trt_dot(w + (size_t)j * n_in, x, n_in);
}

#endif /* TRT_DENSE_H */
