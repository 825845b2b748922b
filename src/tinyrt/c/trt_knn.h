/* trt_knn.h - scikit-learn's KNeighborsClassifier (brute-force search) in C99, in float64.
 *
 * Conventions (follow sklearn.neighbors and sklearn.metrics._pairwise_distances_reduction as
 * scikit-learn 1.9 computes them; tinyrt's ir/reference.py holds the same steps in NumPy):
 * - Training rows are visited in order 0..n-1 and kept in a k-slot max-heap that, like
 *   sklearn.utils._heap.heap_push, rejects a candidate whose surrogate distance is >= the largest
 *   kept one (so among equal distances the earlier rows usually stay).
 * - Surrogate distances: euclidean_gemm (scikit-learn's brute force) is max(0, (|x|^2 - 2 x.y) +
 *   |y|^2) with x.y and |x|^2 accumulated feature by feature with fma, as the BLAS kernel does for
 *   up to 15 features, and |y|^2 taken from scikit-learn; euclidean (KD/ball tree) the sum of
 *   squared differences; manhattan the sum of |x - y|; minkowski the sum of |x - y|^p.
 * - Votes per class: 1 per neighbour (uniform), or 1 / distance (distance), where a query at
 *   distance 0 from some neighbours gives those weight 1 and the others 0. Votes are summed over the
 *   neighbours sorted by distance in numpy's pairwise order (weighted_mode's np.sum); predict is the
 *   first class with the most votes; predict_proba divides by their (pairwise) sum.
 *
 * Training data and labels are caller-owned (usually static const) arrays; heap buffers of k
 * entries are the caller's; nothing is allocated, no I/O, every function is reentrant.
 */
#ifndef TRT_KNN_H
#define TRT_KNN_H

#include "trt_common.h"

#include <math.h>

/* metrics of trt_knn_votes */
enum { TRT_KNN_EUCLIDEAN_GEMM = 0, TRT_KNN_EUCLIDEAN = 1, TRT_KNN_MANHATTAN = 2, TRT_KNN_MINKOWSKI = 3 };

/* Offer (v, j) to the max-heap of k (distance, index) pairs; a value >= the top is rejected. */
static inline void trt_knn_push(double *dist, int32_t *index, int k, double v, int32_t j)
{
    int at = 0;
    if (!(v < dist[0]))
        return;
    for (;;) {
        int left = 2 * at + 1, right = left + 1, next;
        if (left >= k)
            break;
        if (right >= k)
            next = dist[left] > v ? left : -1;
        else if (dist[left] >= dist[right])
            next = v < dist[left] ? left : -1;
        else
            next = v < dist[right] ? right : -1;
        if (next < 0)
            break;
        dist[at] = dist[next];
        index[at] = index[next];
        at = next;
    }
    dist[at] = v;
    index[at] = j;
}

/* numpy's pairwise sum of n values (np.add.reduce on a contiguous row): 8 partial sums per block. */
static inline double trt_knn_pairwise_sum(const double *v, int n)
{
    int i, half;
    double r[8], s;
    if (n < 8) {
        s = 0.0;
        for (i = 0; i < n; i++)
            s += v[i];
        return s;
    }
    if (n <= 128) {
        for (i = 0; i < 8; i++)
            r[i] = v[i];
        for (i = 8; i < n - n % 8; i += 8) {
            int j;
            for (j = 0; j < 8; j++)
                r[j] += v[i + j];
        }
        s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            s += v[i];
        return s;
    }
    half = n / 2;
    half -= half % 8;
    return trt_knn_pairwise_sum(v, half) + trt_knn_pairwise_sum(v + half, n - half);
}

/* The surrogate distance of x (n features, |x|^2 = xn) to training row y (|y|^2 = yn), see above. */
static inline double trt_knn_rdist(int metric, double p, const double *x, double xn, const double *y, double yn,
                                   int n)
{
    int i;
    double s = 0.0;
    if (metric == TRT_KNN_EUCLIDEAN_GEMM) {
        for (i = 0; i < n; i++)
            s = fma(x[i], y[i], s);
        s = (xn + -2.0 * s) + yn;
        return s > 0.0 ? s : 0.0;
    }
    for (i = 0; i < n; i++) {
        double d = x[i] - y[i];
        if (metric == TRT_KNN_EUCLIDEAN)
            s += d * d;
        else if (metric == TRT_KNN_MANHATTAN)
            s += fabs(d);
        else
            s += pow(fabs(d), p);
    }
    return s;
}

/* The distance of a surrogate distance r (sqrt for euclidean, r^(1/p) for minkowski). */
static inline double trt_knn_distance(int metric, double p, double r)
{
    if (metric == TRT_KNN_EUCLIDEAN_GEMM || metric == TRT_KNN_EUCLIDEAN)
        return sqrt(r);
    return metric == TRT_KNN_MINKOWSKI ? pow(r, 1.0 / p) : r;
}

/* Class votes (n_classes) of x among n_samples training rows (train: n_samples x n features, norms,
 * labels 0..n_classes-1) for k neighbours; dist, index, w: caller's buffers of k entries. */
static inline void trt_knn_votes(int metric, double p, int weighted, const double *train, const double *norms,
                                 const int32_t *labels, int n_samples, int n, int k, int n_classes, const double *x,
                                 double *dist, int32_t *index, double *w, double *votes)
{
    int i, j, c, zero = 0;
    double xn = 0.0;
    for (i = 0; i < n; i++)
        xn = fma(x[i], x[i], xn);
    for (i = 0; i < k; i++) {
        dist[i] = HUGE_VAL;
        index[i] = 0;
    }
    for (j = 0; j < n_samples; j++)
        trt_knn_push(dist, index, k, trt_knn_rdist(metric, p, x, xn, train + (size_t)j * (size_t)n, norms[j], n),
                     (int32_t)j);
    for (i = 1; i < k; i++) { /* ascending distance: the order weighted_mode sums in */
        double d = dist[i];
        int32_t t = index[i];
        for (j = i; j > 0 && dist[j - 1] > d; j--) {
            dist[j] = dist[j - 1];
            index[j] = index[j - 1];
        }
        dist[j] = d;
        index[j] = t;
    }
    for (i = 0; i < k; i++) {
        dist[i] = trt_knn_distance(metric, p, dist[i]);
        zero |= dist[i] == 0.0;
    }
    for (c = 0; c < n_classes; c++) {
        for (i = 0; i < k; i++)
            w[i] = labels[index[i]] != c ? 0.0 : (!weighted ? 1.0 : (zero ? (dist[i] == 0.0 ? 1.0 : 0.0)
                                                                            : 1.0 / dist[i]));
        votes[c] = trt_knn_pairwise_sum(w, k);
    }
}

/* Class probabilities as float32: the votes divided by their sum, as predict_proba. */
static inline void trt_knn_proba(const double *votes, int n, float *proba)
{
    int i;
    double total = trt_knn_pairwise_sum(votes, n);
    for (i = 0; i < n; i++)
        proba[i] = (float)(votes[i] / total);
}

#endif /* TRT_KNN_H */
