/* trt_conv1d.h - causal streaming 1-D convolution, PyTorch nn.Conv1d weights.
 *
 * One frame in, one frame out: y[t] = b + sum_k W[:, :, k] x[t - (K-1-k) * d], per group, with
 * x before the first frame taken as zero (left padding of (K-1)*d frames). The previous
 * L = (K-1)*d input frames are the state: a ring buffer hist[L][C_in] and its write position pos;
 * with L = 0 (K = 1) there is none, and hist and pos are TRT_NO_HISTORY. b may be TRT_NO_BIAS.
 * Weights are stored as wt[(k * C_in + ci) * out_g + o] = W[g * out_g + o][ci - g * in_g][k]
 * for input channel ci of group g, so each input adds a scaled column to its group's outputs.
 */
#ifndef TRT_CONV1D_H
#define TRT_CONV1D_H

#include "trt_dense.h"

/* hist and pos of a convolution that keeps no past frames (kernel size 1). */
#define TRT_NO_HISTORY NULL

TRT_INLINE void trt_conv1d_step(const float *restrict wt, const float *restrict b, float *restrict hist,
                                int *restrict pos, const float *restrict x, float *restrict y,
                                int C_in, int C_out, int K, int d, int groups)
{
    const int L = (K - 1) * d, in_g = C_in / groups, out_g = C_out / groups;
    int k, c;
    for (c = 0; c < C_out; c++) y[c] = b ? b[c] : 0.0f;
    for (k = 0; k < K; k++) {
        const int delay = (K - 1 - k) * d;
        const float *xt = x;
        const float *wk = wt + (size_t)k * C_in * out_g;
        if (delay > 0) {
            int idx = *pos - delay;
            if (idx < 0) idx += L;
            xt = hist + (size_t)idx * C_in;
        }
        if (in_g == 1 && out_g == 1) {
            for (c = 0; c < C_in; c++) y[c] += wk[c] * xt[c];
        } else {
            for (c = 0; c < C_in; c++) trt_axpy(y + (c / in_g) * out_g, wk + (size_t)c * out_g, xt[c], out_g);
        }
    }
    if (L > 0) {
        memcpy(hist + (size_t)*pos * C_in, x, (size_t)C_in * sizeof *x);
        *pos = *pos + 1 == L ? 0 : *pos + 1;
    }
}

#endif /* TRT_CONV1D_H */
