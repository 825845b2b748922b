/* trt_lstm.h - one step of one LSTM layer, PyTorch nn.LSTM convention.
 *
 * Gates g = W_ih x + b_ih + W_hh h + b_hh in the order (i, f, g, o):
 *   c' = sigmoid(f) * c + sigmoid(i) * tanh(g);   h' = sigmoid(o) * tanh(c')
 * Weights are in the column layout of trt_dense.h (W_ih and W_hh transposed, rows padded; packed
 * bfloat16 with bf16 = TRT_WEIGHTS_BF16), so the matrix-vector products vectorise across the 4H
 * gates. b is b_ih + b_hh (TRT_NO_BIAS: none). h and c are the caller's state (H floats each); g is
 * caller-provided scratch of 4H floats. Call with compile-time constant sizes and flags.
 * The code generator pads H to a multiple of 8 units whose weights and biases are zero: such a
 * unit has all gates at 0, so tanh(0) = 0 keeps its c and h exactly 0, and whole vectors work.
 * No allocation, no locks, no I/O.
 */
#ifndef TRT_LSTM_H
#define TRT_LSTM_H

#include "trt_act.h"
#include "trt_dense.h"

/* g = b + W_ih x + W_hh h (the pre-activation gates) for H units, reading n_h of them as the
 * recurrent input: H may be padded beyond the n_h real units with zero weights (see below). */
TRT_INLINE void trt_lstm_matvec(float *restrict g, const void *wih_t, const void *whh_t,
                                const float *restrict b, const float *restrict x, const float *restrict h,
                                int n_in, int n_h, int H, int bf16)
{
    trt_matvec_cols(g, b, wih_t, x, n_in, whh_t, h, n_h, 4 * H, bf16);
}

/* The gate nonlinearities and state update. Each sigmoid and tanh is a ratio n/d; the cell
 * update is put over one common denominator, so a unit costs two divisions instead of five. */
TRT_INLINE void trt_lstm_gates(const float *restrict g, float *restrict h, float *restrict c, int H, int fast)
{
    int j;
    for (j = 0; j < H; j++) {
        float ni, di, nf, df, pg, qg, no, d_o, pc, qc, cj;
        trt_sigmoid_nd(g[j], &ni, &di, fast);
        trt_sigmoid_nd(g[H + j], &nf, &df, fast);
        trt_tanh_pq(g[2 * H + j], &pg, &qg, fast);
        trt_sigmoid_nd(g[3 * H + j], &no, &d_o, fast);
        /* c' = (nf / df) c + (ni / di) (pg / qg) */
        cj = (nf * c[j] * di * qg + ni * pg * df) / (df * di * qg);
        c[j] = cj;
        trt_tanh_pq(cj, &pc, &qc, fast);
        h[j] = (no * pc) / (d_o * qc);
    }
}

#endif /* TRT_LSTM_H */
