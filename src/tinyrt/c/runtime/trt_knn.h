/* trt_knn.h - scikit-learn's KNeighborsClassifier (brute-force or KD/ball tree search) in C99, in float64.
 *
 * Conventions (follow sklearn.neighbors and sklearn.metrics._pairwise_distances_reduction as
 * scikit-learn 1.9 computes them; tinyrt's ir/reference_classic.py holds the same steps in NumPy):
 * - Brute force visits training rows in order 0..n-1, a tree model in its fitted tree's depth-first
 *   order (trt_knn_tree_votes); both keep them in a k-slot max-heap that, like
 *   sklearn.utils._heap.heap_push, rejects a candidate whose surrogate distance is >= the largest
 *   kept one (so among equal distances the first visited usually stay).
 * - Surrogate distances: euclidean_gemm (scikit-learn's brute force) is max(0, (|x|^2 - 2 x.y) +
 *   |y|^2) with x.y and |x|^2 accumulated feature by feature with fma, as the BLAS kernel does for
 *   up to 15 features, and |y|^2 taken from scikit-learn; euclidean (KD/ball tree) the sum of
 *   squared differences; manhattan the sum of |x - y|; minkowski the sum of |x - y|^p.
 * - Votes per class: 1 per neighbour (uniform), or 1 / distance (distance), where a query at
 *   distance 0 from some neighbours gives those weight 1 and the others 0. Votes are summed over the
 *   neighbours sorted by distance (a tree model's ties in sklearn.utils._sorting.simultaneous_sort's
 *   order, brute force's in heap order) in numpy's pairwise order (weighted_mode's np.sum); predict
 *   is the first class with the most votes; predict_proba divides by their (pairwise) sum.
 *
 * Training data, labels and tree arrays are caller-owned (usually static const) arrays; heap buffers
 * of k entries and tree stacks of its depth are the caller's; nothing is allocated, no I/O, every
 * function is reentrant (the sort recurses at most 2 log2(k) deep).
 */
#ifndef TRT_KNN_H
#define TRT_KNN_H

#include "trt_common.h"

#include <math.h>

/* metrics of trt_knn_votes */
enum { TRT_KNN_EUCLIDEAN_GEMM = 0, TRT_KNN_EUCLIDEAN = 1, TRT_KNN_MANHATTAN = 2, TRT_KNN_MINKOWSKI = 3 };
/* the `weighted` argument: every neighbour votes 1, or 1 / distance (scikit-learn's weights=) */
enum { TRT_KNN_UNIFORM = 0, TRT_KNN_DISTANCE = 1 };
/* the `ball` argument of trt_knn_tree_votes: the fitted tree is a KD tree or a ball tree */
enum { TRT_KNN_KD_TREE = 0, TRT_KNN_BALL_TREE = 1 };

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

static inline void trt_knn_swap(double *dist, int32_t *index, int i, int j)
{
    double d = dist[i];
    int32_t t = index[i];
    dist[i] = dist[j];
    index[i] = index[j];
    dist[j] = d;
    index[j] = t;
}

/* Stable insertion sort of n (distance, index) pairs by distance. */
static inline void trt_knn_insertion_sort(double *dist, int32_t *index, int n)
{
    int i, j;
    for (i = 1; i < n; i++) {
        double d = dist[i];
        int32_t t = index[i];
        for (j = i; j > 0 && dist[j - 1] > d; j--) {
            dist[j] = dist[j - 1];
            index[j] = index[j - 1];
        }
        dist[j] = d;
        index[j] = t;
    }
}

/* heapsort's sift-down of simultaneous_sort (its fallback past the depth limit). */
static inline void trt_knn_sift(double *dist, int32_t *index, int root, int end)
{
    for (;;) {
        int child = 2 * root + 1, top = root;
        if (child < end && dist[top] < dist[child])
            top = child;
        if (child + 1 < end && dist[top] < dist[child + 1])
            top = child + 1;
        if (top == root)
            return;
        trt_knn_swap(dist, index, root, top);
        root = top;
    }
}

/* scikit-learn's introsort_2way: median-of-3 pivot, 2-way partition, heapsort past maxd, insertion
 * sort below 16 entries. It recurses on the left part only, at most maxd = 2 log2(k) deep. */
static inline void trt_knn_introsort(double *dist, int32_t *index, int n, int maxd)
{
    int i, j;
    while (n > 15) {
        double pivot;
        if (maxd <= 0) {
            for (i = (n - 2) / 2; i >= 0; i--)
                trt_knn_sift(dist, index, i, n);
            for (i = n - 1; i > 0; i--) {
                trt_knn_swap(dist, index, 0, i);
                trt_knn_sift(dist, index, 0, i);
            }
            return;
        }
        maxd--;
        if (dist[0] > dist[n - 1])
            trt_knn_swap(dist, index, 0, n - 1);
        if (dist[n - 1] > dist[n / 2]) {
            trt_knn_swap(dist, index, n - 1, n / 2);
            if (dist[0] > dist[n - 1])
                trt_knn_swap(dist, index, 0, n - 1);
        }
        pivot = dist[n - 1];
        i = 1;
        j = n - 2;
        for (;;) {
            while (i <= j && dist[i] < pivot)
                i++;
            while (i <= j && dist[j] > pivot)
                j--;
            if (i >= j)
                break;
            trt_knn_swap(dist, index, i++, j--);
        }
        trt_knn_swap(dist, index, i, n - 1);
        trt_knn_introsort(dist, index, i, maxd);
        dist += i + 1;
        index += i + 1;
        n -= i + 1;
    }
    trt_knn_insertion_sort(dist, index, n);
}

/* Sort k (distance, index) pairs by distance as scikit-learn's simultaneous_sort orders them. */
static inline void trt_knn_sort(double *dist, int32_t *index, int k)
{
    int maxd = 0, m;
    for (m = k; m > 1; m >>= 1)
        maxd += 2;
    trt_knn_introsort(dist, index, k, maxd);
}

/* Class votes (n_classes) of the k neighbours sorted by distance (dist: surrogate distances, index:
 * rows), weighted and summed per class (see above). */
static inline void trt_knn_vote(int metric, double p, int weighted, const int32_t *labels, int k, int n_classes,
                                double *dist, int32_t *index, double *w, double *votes)
{
    int i, c, zero = 0;
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

static inline void trt_knn_heap_init(double *dist, int32_t *index, int k)
{
    int i;
    for (i = 0; i < k; i++) {
        dist[i] = HUGE_VAL;
        index[i] = 0;
    }
}

/* Class votes (n_classes) of x among n_samples training rows (train: n_samples x n features, norms,
 * labels 0..n_classes-1) for k neighbours by brute force; dist, index, w: caller's buffers of k entries. */
static inline void trt_knn_votes(int metric, double p, int weighted, const double *train, const double *norms,
                                 const int32_t *labels, int n_samples, int n, int k, int n_classes, const double *x,
                                 double *dist, int32_t *index, double *w, double *votes)
{
    int i, j;
    double xn = 0.0;
    for (i = 0; i < n; i++)
        xn = fma(x[i], x[i], xn);
    trt_knn_heap_init(dist, index, k);
    for (j = 0; j < n_samples; j++)
        trt_knn_push(dist, index, k, trt_knn_rdist(metric, p, x, xn, train + (size_t)j * (size_t)n, norms[j], n),
                     (int32_t)j);
    trt_knn_insertion_sort(dist, index, k); /* ascending distance, ties in heap order */
    trt_knn_vote(metric, p, weighted, labels, k, n_classes, dist, index, w, votes);
}

/* The lower bound of the surrogate distance from x to tree node i, as scikit-learn's min_rdist:
 * KD tree (bounds: lower then upper corners, n_nodes x n each; radius NULL) sum_j ((0.5 d_j)^p) with
 * d_j = (lo - x + |lo - x|) + (x - hi + |x - hi|); ball tree (bounds: centroids, radius) the metric's
 * distance to the centroid minus the radius, floored at 0, as a surrogate distance. */
static inline double trt_knn_min_rdist(int metric, double p, int ball, const double *bounds, const double *radius,
                                       int n_nodes, int i, const double *x, int n)
{
    int j;
    double s = 0.0, q = metric == TRT_KNN_EUCLIDEAN ? 2.0 : (metric == TRT_KNN_MANHATTAN ? 1.0 : p);
    if (ball) {
        s = trt_knn_distance(metric, p, trt_knn_rdist(metric, p, x, 0.0, bounds + (size_t)i * (size_t)n, 0.0, n));
        s = fmax(0.0, s - radius[i]);
        return metric == TRT_KNN_EUCLIDEAN ? s * s : (metric == TRT_KNN_MANHATTAN ? s : pow(s, p));
    }
    for (j = 0; j < n; j++) {
        double lo = bounds[(size_t)i * (size_t)n + (size_t)j] - x[j];
        double hi = x[j] - bounds[((size_t)n_nodes + (size_t)i) * (size_t)n + (size_t)j];
        s += pow(0.5 * ((lo + fabs(lo)) + (hi + fabs(hi))), q);
    }
    return s;
}

/* Class votes as trt_knn_votes, searching scikit-learn's fitted KD or ball tree as its single-tree
 * depth-first query does: nodes i (children 2i+1, 2i+2; nodes: n_nodes x {start, end, is_leaf}) are
 * skipped when their lower bound exceeds the largest kept distance, the nearer child (lower bound <=)
 * goes first, a leaf offers rows tree_index[start..end) in that order. stack_node and stack_lb are
 * the caller's buffers of the tree's depth (log2(n_nodes + 1)) entries. */
static inline void trt_knn_tree_votes(int metric, double p, int weighted, int ball, const double *train,
                                      const int32_t *tree_index, const int32_t *nodes, const double *bounds,
                                      const double *radius, int n_nodes, const int32_t *labels, int n, int k,
                                      int n_classes, const double *x, double *dist, int32_t *index, double *w,
                                      int32_t *stack_node, double *stack_lb, double *votes)
{
    int top = 1;
    trt_knn_heap_init(dist, index, k);
    stack_node[0] = 0;
    stack_lb[0] = trt_knn_min_rdist(metric, p, ball, bounds, radius, n_nodes, 0, x, n);
    while (top > 0) {
        int32_t i = stack_node[--top], r, first, second;
        double lb_first, lb_second;
        if (stack_lb[top] > dist[0])
            continue;
        if (nodes[3 * i + 2]) {
            for (r = nodes[3 * i]; r < nodes[3 * i + 1]; r++)
                trt_knn_push(dist, index, k,
                             trt_knn_rdist(metric, p, x, 0.0, train + (size_t)tree_index[r] * (size_t)n, 0.0, n),
                             tree_index[r]);
            continue;
        }
        first = 2 * i + 1;
        second = first + 1;
        lb_first = trt_knn_min_rdist(metric, p, ball, bounds, radius, n_nodes, first, x, n);
        lb_second = trt_knn_min_rdist(metric, p, ball, bounds, radius, n_nodes, second, x, n);
        if (!(lb_first <= lb_second)) {
            double t = lb_first;
            lb_first = lb_second;
            lb_second = t;
            first = second;
            second = first - 1;
        }
        stack_node[top] = second;
        stack_lb[top++] = lb_second;
        stack_node[top] = first;
        stack_lb[top++] = lb_first;
    }
    trt_knn_sort(dist, index, k);
    trt_knn_vote(metric, p, weighted, labels, k, n_classes, dist, index, w, votes);
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
