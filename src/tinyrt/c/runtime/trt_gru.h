/* trt_gru.h - one step of one GRU layer, PyTorch nn.GRU convention.
 *
 * With a = W_ih x + b_ih and q = W_hh h + b_hh, gates in the order (r, z, n):
 *   r = sigmoid(a_r + q_r);  z = sigmoid(a_z + q_z);  n = tanh(a_n + r * q_n)
 *   h' = (1 - z) * n + z * h
 * Weights are in the column layout of trt_dense.h (packed bfloat16 with bf16 = TRT_WEIGHTS_BF16);
 * b_ih and b_hh may be TRT_NO_BIAS. a and q are caller scratch of 3H floats each. Padded units
 * (zero weights, see trt_lstm.h) stay exactly 0: r = z = 1/2, n = tanh(0) = 0, h' = h / 2.
 */
#ifndef TRT_GRU_H
#define TRT_GRU_H

#include "trt_act.h"
#include "trt_dense.h"

/* a = b_ih + W_ih x and q = b_hh + W_hh h for H (possibly padded) units, n_h of them real. */
TRT_INLINE void trt_gru_matvec(float *restrict a, float *restrict q, const void *wih_t, const void *whh_t,
                               const float *restrict b_ih, const float *restrict b_hh,
                               const float *restrict x, const float *restrict h, int n_in, int n_h, int H,
                               int bf16)
{
    trt_matvec_cols(a, b_ih, wih_t, x, n_in, NULL, NULL, 0, 3 * H, bf16);
    trt_matvec_cols(q, b_hh, whh_t, h, n_h, NULL, NULL, 0, 3 * H, bf16);
}

/* Gate nonlinearities and state update with two divisions per unit (see trt_lstm_gates). */
TRT_INLINE void trt_gru_gates(const float *restrict a, const float *restrict q, float *restrict h, int H,
                              int fast)
{
    int j;
    for (j = 0; j < H; j++) {
        float nr, dr, nz, dz, pn, qn;
        trt_sigmoid_nd(a[j] + q[j], &nr, &dr, fast);
        trt_sigmoid_nd(a[H + j] + q[H + j], &nz, &dz, fast);
        trt_tanh_pq((a[2 * H + j] * dr + nr * q[2 * H + j]) / dr, &pn, &qn, fast);
        /* h' = n + z (h - n) with n = pn / qn, z = nz / dz */
        h[j] = (pn * dz + nz * (h[j] * qn - pn)) / (qn * dz);
    }
}

#endif /* TRT_GRU_H */
