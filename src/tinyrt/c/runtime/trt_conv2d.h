/* trt_conv2d.h - 2-D convolution and pooling over one image per frame (a classifier's log-mel patch).
 *
 * Images are channel-major (PyTorch's NCHW without the batch axis): x[(c * H + h) * W + w]. No state.
 * trt_conv2d is nn.Conv2d (cross-correlation) with strides and symmetric zero padding:
 *   y[o][i][j] = b[o] + sum_{c,u,v} w[((o * C_in + c) * KH + u) * KW + v] * x[c][i*SH + u - PH][j*SW + v - PW],
 * reads outside the image taken as zero; the output is C_out x HO x WO with HO = (H + 2 PH - KH) / SH + 1,
 * WO likewise. The weights keep PyTorch's (out, in, kh, kw) order. b may be TRT_NO_BIAS.
 * trt_pool2d is nn.MaxPool2d / nn.AvgPool2d with stride equal to the kernel, no padding: output
 * C x (H / KH) x (W / KW), the rows and columns that do not fill a window are dropped.
 */
#ifndef TRT_CONV2D_H
#define TRT_CONV2D_H

#include "trt_common.h"

#define TRT_POOL_MAX 0
#define TRT_POOL_AVG 1

TRT_INLINE void trt_conv2d(const float *restrict w, const float *restrict b, const float *restrict x,
                           float *restrict y, int C_in, int H, int W, int C_out, int KH, int KW,
                           int SH, int SW, int PH, int PW)
{
    const int HO = (H + 2 * PH - KH) / SH + 1, WO = (W + 2 * PW - KW) / SW + 1;
    int o, c, u, v, i, j;
    for (o = 0; o < C_out; o++) {
        float *yo = y + (size_t)o * HO * WO;
        const float bias = b ? b[o] : 0.0f;
        for (i = 0; i < HO * WO; i++) yo[i] = bias;
        for (c = 0; c < C_in; c++) {
            const float *xc = x + (size_t)c * H * W;
            for (u = 0; u < KH; u++) {
                for (v = 0; v < KW; v++) {
                    const float wv = w[(((size_t)o * C_in + c) * KH + u) * KW + v];
                    /* the output columns j whose input column j*SW + v - PW lies inside 0..W-1 */
                    int j0 = 0, j1 = WO;
                    while (j0 < WO && j0 * SW + v - PW < 0) j0++;
                    while (j1 > j0 && (j1 - 1) * SW + v - PW >= W) j1--;
                    for (i = 0; i < HO; i++) {
                        const int row = i * SH + u - PH;
                        const float *xr;
                        float *yr;
                        if (row < 0 || row >= H) continue;
                        xr = xc + (size_t)row * W + v - PW;
                        yr = yo + (size_t)i * WO;
                        if (SW == 1) {
                            for (j = j0; j < j1; j++) yr[j] += wv * xr[j];
                        } else {
                            for (j = j0; j < j1; j++) yr[j] += wv * xr[j * SW];
                        }
                    }
                }
            }
        }
    }
}

TRT_INLINE void trt_pool2d(const float *restrict x, float *restrict y, int C, int H, int W, int KH, int KW,
                           int mode)
{
    const int HO = H / KH, WO = W / KW;
    const float inv = 1.0f / (float)(KH * KW);
    int c, i, j, u, v;
    for (c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * H * W;
        for (i = 0; i < HO; i++) {
            for (j = 0; j < WO; j++) {
                const float *xw = xc + (size_t)i * KH * W + (size_t)j * KW;
                float acc = mode == TRT_POOL_MAX ? xw[0] : 0.0f;
                for (u = 0; u < KH; u++) {
                    for (v = 0; v < KW; v++) {
                        const float e = xw[(size_t)u * W + v];
                        if (mode == TRT_POOL_MAX) acc = e > acc ? e : acc;
                        else acc += e;
                    }
                }
                y[((size_t)c * HO + i) * WO + j] = mode == TRT_POOL_MAX ? acc : acc * inv;
            }
        }
    }
}

#endif /* TRT_CONV2D_H */
