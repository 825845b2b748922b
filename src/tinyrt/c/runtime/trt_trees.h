/* trt_trees.h - tree ensembles (decision trees, random forests, gradient boosting, isolation
 * forests) evaluated the way scikit-learn evaluates them, in C99.
 *
 * Conventions (follow sklearn.tree._tree and sklearn.ensemble):
 * - A split node sends x to its left child when x[feature] <= threshold, else to the right.
 *   Thresholds are float32: the largest float32 not above scikit-learn's float64 threshold, so
 *   the float32 comparison decides exactly as scikit-learn's float32-vs-float64 one.
 *   int16 models compare quantised inputs x_q <= threshold_q, threshold_q being the largest
 *   integer q with float32(q / scale) <= threshold: exactly scikit-learn's decision on the
 *   dequantised input (at least floor(threshold * scale); clipped to [-32768, 32767]).
 * - Nodes 0..n_nodes-1 are split nodes, each listed after its parent; node n_nodes + r stands
 *   for leaf row r and is its own left and right child. children[2i] / children[2i+1] is the
 *   left / right child of node i; roots[t] is tree t's first node. A walk therefore needs no
 *   test for "at a leaf": max_depth branch-free steps of all trees side by side end every walk
 *   at its leaf, and the leaf row is the node index minus n_nodes.
 * - Leaf values are float64, exactly scikit-learn's, added in tree order to a float64 sum that
 *   starts at the bias (or zero): TRT_TREES_MEAN then divides by the number of trees (forests),
 *   TRT_TREES_SUM keeps the sum (gradient boosting), TRT_TREES_ISOLATION turns the summed path
 *   lengths into score_samples = -2^(-sum / denominator) (IsolationForest). The same operations
 *   in the same order give the same float64 numbers as scikit-learn, so class decisions agree
 *   exactly; probabilities are returned as float32.
 *
 * A model is a trt_trees holding pointers to caller-owned (usually static const) arrays; nothing
 * is allocated. trt_trees_load() fills one from a binary model file in place and validates it;
 * trt_trees_check() validates any model outside the hot path, which does no checks.
 */
#ifndef TRT_TREES_H
#define TRT_TREES_H

#include "trt_common.h"

#include <stddef.h>

/* how the leaf values of all trees make the raw output */
enum { TRT_TREES_MEAN = 0, TRT_TREES_SUM = 1, TRT_TREES_ISOLATION = 2 };
/* what predict returns: a value (identity or exp link), a class index, or +1 inlier / -1 outlier */
enum {
    TRT_TREES_VALUE = 0,       /* regression: raw */
    TRT_TREES_VALUE_EXP = 1,   /* regression with a log link: exp(raw) */
    TRT_TREES_ARGMAX = 2,      /* class: first index of the largest raw value (np.argmax) */
    TRT_TREES_BINARY_GE = 3,   /* class 1 when raw >= 0 (GradientBoostingClassifier) */
    TRT_TREES_BINARY_GT = 4,   /* class 1 when raw > 0 (HistGradientBoostingClassifier) */
    TRT_TREES_OUTLIER = 5      /* -1 when raw - offset < 0, else +1 (IsolationForest) */
};
/* how predict_proba is made from the raw output */
enum { TRT_TREES_PROBA_NONE = 0, TRT_TREES_PROBA_RAW = 1, TRT_TREES_PROBA_LOGISTIC = 2,
       TRT_TREES_PROBA_SOFTMAX = 3 };

/* error codes of trt_trees_load and trt_trees_check */
enum {
    TRT_TREES_OK = 0,
    TRT_TREES_ESHORT = 1,     /* shorter than the file header */
    TRT_TREES_EMAGIC = 2,     /* not a tinyrt trees file */
    TRT_TREES_EVERSION = 3,   /* a format version this code does not read */
    TRT_TREES_ELENGTH = 4,    /* the length does not match the counts in the header */
    TRT_TREES_ECHECKSUM = 5,  /* the CRC-32 does not match the contents */
    TRT_TREES_ECOUNTS = 6,    /* a count or kind in the header is out of range */
    TRT_TREES_ECHILD = 7,     /* a child out of range or not after its parent; a leaf not its own child */
    TRT_TREES_EFEATURE = 8,   /* a feature index is not below n_features */
    TRT_TREES_ELEAF = 9,      /* a leaf row, root or output column is out of range */
    TRT_TREES_EDEPTH = 10,    /* a tree is deeper than max_depth */
    TRT_TREES_EALIGN = 11,    /* the buffer is not 8-byte aligned, or the host is not little-endian */
    TRT_TREES_EVALUE = 12     /* a threshold, leaf value, bias or scale is NaN or infinite */
};

#define TRT_TREES_MAX_DEPTH 64   /* deepest tree trt_trees_check accepts */
#define TRT_TREES_MAX_NODES 32767  /* split nodes plus leaf rows: int16 node indices */
#define TRT_TREES_CHUNK 32       /* trees walked side by side */
#define TRT_TREES_API static inline  /* functions outside the hot path: inlined only if the compiler likes */

typedef struct {
    int n_features, n_outputs, n_trees, n_nodes, n_leaves, leaf_width, max_depth, n_classes;
    int combine, predict, proba;
    double denominator;       /* ISOLATION: n_trees * c(max_samples) */
    double offset;            /* OUTLIER: decision_function = score_samples - offset */
    double proba_scale;       /* LOGISTIC: p = expit(proba_scale * raw) */
    const float *threshold;   /* n_nodes + n_leaves; NULL in int16 models */
    const int16_t *threshold_q;  /* n_nodes + n_leaves; int16 models only */
    const float *scale;       /* n_features; int16 models: x_q = round(x * scale) */
    const uint16_t *feature;  /* n_nodes + n_leaves; NULL when feature8 is used */
    const uint8_t *feature8;  /* n_nodes + n_leaves: the feature indices of a model with <= 256 features */
    const int16_t *children;  /* 2 * (n_nodes + n_leaves) */
    const int16_t *roots;     /* n_trees */
    const uint16_t *outputs;  /* n_trees: first output column of each tree; NULL: all 0 */
    const double *leaf_values;  /* n_leaves * leaf_width */
    const double *bias;       /* n_outputs; NULL: zeros */
} trt_trees;

/* Set raw to the starting sum: the bias, or zeros. */
TRT_INLINE void trt_trees_start(const trt_trees *m, double *raw)
{
    int k;
    for (k = 0; k < m->n_outputs; k++)
        raw[k] = m->bias ? m->bias[k] : 0.0;
}

/* Add tree t's leaf row to the sum. */
TRT_INLINE void trt_trees_add(const trt_trees *m, int t, int row, double *raw)
{
    const double *v = m->leaf_values + (size_t)row * (size_t)m->leaf_width;
    double *acc = raw + (m->outputs ? m->outputs[t] : 0);
    int k;
    for (k = 0; k < m->leaf_width; k++)
        acc[k] += v[k];
}

/* Turn the sum into the raw output (mean, sum or isolation score). */
TRT_INLINE void trt_trees_finish(const trt_trees *m, double *raw)
{
    int k;
    if (m->combine == TRT_TREES_MEAN) {
        for (k = 0; k < m->n_outputs; k++)
            raw[k] /= (double)m->n_trees;
    } else if (m->combine == TRT_TREES_ISOLATION) {
        double r = m->denominator != 0.0 ? raw[0] / m->denominator : 1.0;
        raw[0] = -pow(2.0, -r);
    }
}

/* Walk every tree in chunks of TRT_TREES_CHUNK, one branch-free step of all walks of a chunk per
 * depth level (a walk at a leaf stays there), and add the leaves reached to raw. `goes_right` is
 * the split test on feature x[f] of node j. The feature width test folds away when m points to a
 * constant model. */
#define TRT_TREES_WALK(goes_right)                                                      \
    do {                                                                                \
        int32_t at[TRT_TREES_CHUNK];                                                    \
        int t0, t, d, n;                                                                \
        trt_trees_start(m, raw);                                                        \
        for (t0 = 0; t0 < m->n_trees; t0 += TRT_TREES_CHUNK) {                          \
            n = m->n_trees - t0 < TRT_TREES_CHUNK ? m->n_trees - t0 : TRT_TREES_CHUNK;  \
            for (t = 0; t < n; t++)                                                     \
                at[t] = m->roots[t0 + t];                                               \
            for (d = 0; d < m->max_depth; d++)                                          \
                for (t = 0; t < n; t++) {                                               \
                    int32_t j = at[t];                                                  \
                    int f = m->feature8 ? m->feature8[j] : m->feature[j];               \
                    at[t] = m->children[2 * j + (goes_right)];                          \
                }                                                                       \
            for (t = 0; t < n; t++)                                                     \
                trt_trees_add(m, t0 + t, at[t] - m->n_nodes, raw);                      \
        }                                                                               \
        trt_trees_finish(m, raw);                                                       \
    } while (0)

/* Compute the raw output (n_outputs float64) for one float32 feature vector. */
TRT_INLINE void trt_trees_raw(const trt_trees *m, const float *x, double *raw)
{
    TRT_TREES_WALK(!(x[f] <= m->threshold[j]));
}

/* Compute the raw output for one int16 feature vector quantised with trt_trees_quantize. */
TRT_INLINE void trt_trees_raw_q(const trt_trees *m, const int16_t *x, double *raw)
{
    TRT_TREES_WALK(x[f] > m->threshold_q[j]);
}

/* Quantise float features for an int16 model: x_q = x * scale rounded half away from zero in
 * float32 arithmetic, clipped to [-32767, 32767]. */
TRT_INLINE void trt_trees_quantize(const trt_trees *m, const float *x, int16_t *xq)
{
    int j;
    for (j = 0; j < m->n_features; j++) {
        float v = x[j] * m->scale[j];
        v = v > 32767.0f ? 32767.0f : (v < -32767.0f ? -32767.0f : v);
        xq[j] = (int16_t)(v < 0.0f ? v - 0.5f : v + 0.5f);
    }
}

/* Return the prediction from the raw output: a class index (ARGMAX, BINARY_*), +1 / -1
 * (OUTLIER), or -1 for a regression model (use trt_trees_value). */
TRT_INLINE int trt_trees_class(const trt_trees *m, const double *raw)
{
    int k, best = 0;
    switch (m->predict) {
    case TRT_TREES_ARGMAX:
        for (k = 1; k < m->n_outputs; k++)
            if (raw[k] > raw[best])
                best = k;
        return best;
    case TRT_TREES_BINARY_GE:
        return raw[0] >= 0.0;
    case TRT_TREES_BINARY_GT:
        return raw[0] > 0.0;
    case TRT_TREES_OUTLIER:
        return raw[0] - m->offset < 0.0 ? -1 : 1;
    default:
        return -1;
    }
}

/* Write the regression prediction (n_outputs float32) from the raw output. */
TRT_INLINE void trt_trees_value(const trt_trees *m, const double *raw, float *out)
{
    int k;
    for (k = 0; k < m->n_outputs; k++)
        out[k] = m->predict == TRT_TREES_VALUE_EXP ? expf((float)raw[k]) : (float)raw[k];
}

/* Write the class probabilities (n_classes float32) from the raw output. */
TRT_INLINE void trt_trees_proba(const trt_trees *m, const double *raw, float *out)
{
    int k;
    if (m->proba == TRT_TREES_PROBA_LOGISTIC) {
        float p = 1.0f / (1.0f + expf(-(float)(m->proba_scale * raw[0])));
        out[0] = 1.0f - p;
        out[1] = p;
    } else if (m->proba == TRT_TREES_PROBA_SOFTMAX) {
        float top = (float)raw[0], sum = 0.0f;
        for (k = 1; k < m->n_outputs; k++)
            top = (float)raw[k] > top ? (float)raw[k] : top;
        for (k = 0; k < m->n_outputs; k++) {
            out[k] = expf((float)raw[k] - top);
            sum += out[k];
        }
        for (k = 0; k < m->n_outputs; k++)
            out[k] /= sum;
    } else {
        for (k = 0; k < m->n_outputs; k++)
            out[k] = (float)raw[k];
    }
}

/* Return TRT_TREES_OK if every index of the model is in range and every walk ends at its leaf
 * within max_depth steps; else the error code of the first problem found. */
TRT_TREES_API int trt_trees_check(const trt_trees *m)
{
    int32_t stack[TRT_TREES_MAX_DEPTH + 1], depth[TRT_TREES_MAX_DEPTH + 1];
    int32_t visits = 0, total;
    int i, t, k;
    if (m->n_features < 1 || m->n_outputs < 1 || m->n_trees < 1 || m->n_nodes < 0 || m->n_leaves < 1
        || m->n_nodes + m->n_leaves > TRT_TREES_MAX_NODES || m->leaf_width < 1 || m->leaf_width > m->n_outputs
        || m->max_depth < 0 || m->max_depth > TRT_TREES_MAX_DEPTH
        || m->combine < TRT_TREES_MEAN || m->combine > TRT_TREES_ISOLATION
        || m->predict < TRT_TREES_VALUE || m->predict > TRT_TREES_OUTLIER
        || m->proba < TRT_TREES_PROBA_NONE || m->proba > TRT_TREES_PROBA_SOFTMAX)
        return TRT_TREES_ECOUNTS;
    if ((!m->threshold && !m->threshold_q) || (m->threshold_q && !m->scale) || (!m->feature && !m->feature8)
        || !m->children
        || !m->roots || !m->leaf_values)
        return TRT_TREES_ECOUNTS;
    if (m->combine == TRT_TREES_ISOLATION && (m->n_outputs != 1 || !(m->denominator >= 0.0)))
        return TRT_TREES_ECOUNTS;
    if (m->predict >= TRT_TREES_BINARY_GE && m->n_outputs != 1)
        return TRT_TREES_ECOUNTS;
    total = m->n_nodes + m->n_leaves;
    for (i = 0; i < m->n_leaves * m->leaf_width; i++)
        if (!isfinite(m->leaf_values[i]))
            return TRT_TREES_EVALUE;
    for (k = 0; m->bias && k < m->n_outputs; k++)
        if (!isfinite(m->bias[k]))
            return TRT_TREES_EVALUE;
    for (k = 0; m->scale && k < m->n_features; k++)
        if (!isfinite(m->scale[k]) || !(m->scale[k] > 0.0f))
            return TRT_TREES_EVALUE;
    if (!isfinite(m->denominator) || !isfinite(m->offset) || !isfinite(m->proba_scale))
        return TRT_TREES_EVALUE;
    for (i = 0; i < total; i++) {
        if (m->threshold && !isfinite(m->threshold[i]))
            return TRT_TREES_EVALUE;
        if ((m->feature8 ? m->feature8[i] : m->feature[i]) >= m->n_features)
            return TRT_TREES_EFEATURE;
        for (k = 0; k < 2; k++) {
            int32_t c = m->children[2 * i + k];
            if (i < m->n_nodes ? (c <= i || c >= total) : c != i)
                return TRT_TREES_ECHILD;
        }
    }
    for (t = 0; t < m->n_trees; t++) {
        int top = 0;
        if (m->roots[t] < 0 || m->roots[t] >= total)
            return TRT_TREES_ELEAF;
        if (m->outputs && m->outputs[t] > m->n_outputs - m->leaf_width)
            return TRT_TREES_ELEAF;
        /* depth first over the tree with an explicit stack: a split node at depth d needs d < max_depth */
        stack[0] = m->roots[t];
        depth[0] = 0;
        while (top >= 0) {
            int32_t node = stack[top], d = depth[top--];
            if (node >= m->n_nodes)
                continue;
            if (d >= m->max_depth)
                return TRT_TREES_EDEPTH;
            if (++visits > m->n_nodes)  /* a split node reached twice: the trees share nodes */
                return TRT_TREES_ECHILD;
            for (k = 0; k < 2; k++) {
                stack[++top] = m->children[2 * node + k];
                depth[top] = d + 1;
            }
        }
    }
    return TRT_TREES_OK;
}

TRT_TREES_API uint32_t trt_trees_crc32(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    int b;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

TRT_TREES_API uint32_t trt_trees_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

TRT_TREES_API double trt_trees_f64(const uint8_t *p)
{
    double v;
    memcpy(&v, p, sizeof v);
    return v;
}

#define TRT_TREES_HEADER 64
#define TRT_TREES_ALIGN8(n) (((n) + 7u) & ~(uint64_t)7u)

/* Fill m from a binary model file and validate it. The arrays stay in buf, which must be 8-byte
 * aligned and outlive m. Returns TRT_TREES_OK or an error code; m is only usable after TRT_TREES_OK.
 *
 * Format "TRTT" version 1, little-endian. Header (64 bytes): 0 magic "TRTT", 4 u16 version,
 * 6 u16 header size (64), 8 u16 n_features, 10 u16 n_outputs, 12 u16 n_trees, 14 u16 leaf_width,
 * 16 u16 n_nodes, 18 u16 n_leaves, 20 u8 max_depth, 21 u8 combine, 22 u8 predict, 23 u8 proba,
 * 24 u8 int16 features (0/1), 25 u8 bytes per feature index (1/2), 26 u16 n_classes,
 * 28 u32 file length, 32 f64 denominator, 40 f64 offset, 48 f64 proba_scale, 56 reserved.
 * Then arrays, each padded to 8 bytes: bias f64[n_outputs], leaf_values f64[n_leaves *
 * leaf_width], threshold f32 (or threshold_q i16 then scale f32[n_features]), feature u8/u16,
 * children i16[2 *], all over n_nodes + n_leaves entries; roots i16[n_trees], outputs
 * u16[n_trees]; then 4 zero bytes and the CRC-32 (zlib's) of everything before it. */
TRT_TREES_API int trt_trees_load(const void *buf, size_t len, trt_trees *m)
{
    const uint8_t *p = (const uint8_t *)buf;
    const uint16_t endian = 1;
    uint64_t need, total;
    size_t at;
    int int16_features, feature_bytes;
    if (((uintptr_t)buf & 7u) != 0 || *(const uint8_t *)&endian != 1)
        return TRT_TREES_EALIGN;
    if (len < TRT_TREES_HEADER + 8)
        return TRT_TREES_ESHORT;
    if (memcmp(p, "TRTT", 4) != 0)
        return TRT_TREES_EMAGIC;
    if ((p[4] | p[5] << 8) != 1)
        return TRT_TREES_EVERSION;
    if (trt_trees_u32(p + 28) != len)
        return TRT_TREES_ELENGTH;
    if (trt_trees_crc32(p, len - 4) != trt_trees_u32(p + len - 4))
        return TRT_TREES_ECHECKSUM;
    memset(m, 0, sizeof *m);
    m->n_features = p[8] | p[9] << 8;
    m->n_outputs = p[10] | p[11] << 8;
    m->n_trees = p[12] | p[13] << 8;
    m->leaf_width = p[14] | p[15] << 8;
    m->n_nodes = p[16] | p[17] << 8;
    m->n_leaves = p[18] | p[19] << 8;
    m->max_depth = p[20];
    m->combine = p[21];
    m->predict = p[22];
    m->proba = p[23];
    int16_features = p[24];
    feature_bytes = p[25];
    m->n_classes = p[26] | p[27] << 8;
    m->denominator = trt_trees_f64(p + 32);
    m->offset = trt_trees_f64(p + 40);
    m->proba_scale = trt_trees_f64(p + 48);
    if (int16_features > 1 || feature_bytes < 1 || feature_bytes > 2 || m->n_leaves < 1 || m->n_outputs < 1
        || m->n_nodes + m->n_leaves > TRT_TREES_MAX_NODES || m->n_features < 1 || m->n_trees < 1 || m->leaf_width < 1)
        return TRT_TREES_ECOUNTS;
    /* 64-bit sizes: no count in the header can make them wrap */
    total = (uint64_t)m->n_nodes + (uint64_t)m->n_leaves;
    need = TRT_TREES_HEADER + 8u * (uint64_t)m->n_outputs + 8u * (uint64_t)m->n_leaves * (uint64_t)m->leaf_width;
    need += TRT_TREES_ALIGN8((int16_features ? 2u : 4u) * total);
    need += int16_features ? TRT_TREES_ALIGN8(4u * (uint64_t)m->n_features) : 0u;
    need += TRT_TREES_ALIGN8((uint64_t)feature_bytes * total) + TRT_TREES_ALIGN8(4u * total);
    need += TRT_TREES_ALIGN8(2u * (uint64_t)m->n_trees) * 2u + 8u;
    if (need != (uint64_t)len)
        return TRT_TREES_ELENGTH;
    at = TRT_TREES_HEADER;
    m->bias = (const double *)(const void *)(p + at);
    at += 8u * (size_t)m->n_outputs;
    m->leaf_values = (const double *)(const void *)(p + at);
    at += 8u * (size_t)m->n_leaves * (size_t)m->leaf_width;
    if (int16_features) {
        m->threshold_q = (const int16_t *)(const void *)(p + at);
        at += (size_t)TRT_TREES_ALIGN8(2u * total);
        m->scale = (const float *)(const void *)(p + at);
        at += (size_t)TRT_TREES_ALIGN8(4u * (uint64_t)m->n_features);
    } else {
        m->threshold = (const float *)(const void *)(p + at);
        at += (size_t)TRT_TREES_ALIGN8(4u * total);
    }
    if (feature_bytes == 1)
        m->feature8 = p + at;
    else
        m->feature = (const uint16_t *)(const void *)(p + at);
    at += (size_t)TRT_TREES_ALIGN8((uint64_t)feature_bytes * total);
    m->children = (const int16_t *)(const void *)(p + at);
    at += (size_t)TRT_TREES_ALIGN8(4u * total);
    m->roots = (const int16_t *)(const void *)(p + at);
    at += (size_t)TRT_TREES_ALIGN8(2u * (uint64_t)m->n_trees);
    m->outputs = (const uint16_t *)(const void *)(p + at);
    return trt_trees_check(m);
}

#endif /* TRT_TREES_H */
