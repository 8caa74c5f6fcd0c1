/*
 * knd_window.c - Knative's TimedFloat64Buckets and WeightedFloat64Buckets
 * (pkg/autoscaler/aggregation/bucketing.go): a ring of per-granularity sums over a time window,
 * its linear average (rounded to 6 decimals, trailing unseen buckets excluded, gaps counted as
 * zeros) and its weighted-exponential average.
 *
 * Ownership: knd_window_new allocates the ring; knd_window_resize replaces it; knd_window_free
 * releases it. Nothing else allocates. Times are milliseconds on the caller's monotonic clock.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_autoscale_int.h"

#define KND_WINDOW_PRECISION 6
#define KND_WINDOW_MIN_EXPONENT 0.2
#define KND_WINDOW_WEIGHT_PRECISION 0.9999

double knd__window_smoothing(double nbuckets)
{
    return fmax(1 - pow(1 - KND_WINDOW_WEIGHT_PRECISION, 1 / nbuckets), KND_WINDOW_MIN_EXPONENT);
}

double knd__window_round(int digits, double f)
{
    double p = pow(10, digits);
    return round(f * p) / p;
}

static size_t knd_window_count(int64_t window_ms, int64_t granularity_ms)
{
    return (size_t)ceil((double)window_ms / (double)granularity_ms);
}

static inline int64_t knd_window_trunc(const knd_window_t *w, int64_t t)
{
    return t - t % w->granularity_ms;
}

/* Knative's timeToIndex; only ever called with real (non-negative) times. */
static inline int64_t knd_window_index(const knd_window_t *w, int64_t t)
{
    return t / w->granularity_ms;
}

static inline double *knd_window_slot(const knd_window_t *w, int64_t index)
{
    return &w->buckets[(size_t)(index % (int64_t)w->nbuckets)];
}

knd_window_t *knd_window_new(uint64_t window_ms, uint64_t granularity_ms)
{
    knd_window_t *w = knd_xcalloc(1, sizeof(*w));
    w->granularity_ms = granularity_ms ? (int64_t)granularity_ms : 1000;
    w->window_ms = (int64_t)window_ms;
    w->nbuckets = knd_window_count(w->window_ms, w->granularity_ms);
    if (w->nbuckets == 0)
        w->nbuckets = 1;
    w->buckets = knd_xcalloc(w->nbuckets, sizeof(double));
    w->first_write = KND_WINDOW_NEVER;
    w->last_write = KND_WINDOW_NEVER;
    w->smoothing = knd__window_smoothing((double)w->nbuckets);
    return w;
}

void knd_window_free(knd_window_t *w)
{
    if (w == NULL)
        return;
    free(w->buckets);
    free(w);
}

/*
 * Moves last_write forward to bt (zeroing what lies between) or accepts an older bucket; returns
 * false when the value is a whole window old and must be dropped.
 */
static bool knd_window_advance(knd_window_t *w, int64_t bt, int64_t write_idx)
{
    if (bt == w->last_write)
        return true;
    if (!(bt + w->window_ms > w->last_write))
        return false;
    if (w->first_write == KND_WINDOW_NEVER || w->first_write > bt)
        w->first_write = bt;
    if (bt > w->last_write) {
        if (bt - w->last_write >= w->window_ms) {
            /* A whole window without writes: start over, averaging a partial window again. */
            w->first_write = bt;
            memset(w->buckets, 0, w->nbuckets * sizeof(double));
            w->total = 0;
        } else {
            for (int64_t i = knd_window_index(w, w->last_write) + 1; i <= write_idx; i++) {
                double *b = knd_window_slot(w, i);
                w->total -= *b;
                *b = 0;
            }
        }
        w->last_write = bt;
    }
    return true;
}

void knd_window_record(knd_window_t *w, uint64_t now_ms, double value)
{
    int64_t now = (int64_t)now_ms;
    int64_t idx = knd_window_index(w, now);
    if (!knd_window_advance(w, knd_window_trunc(w, now), idx))
        return;
    *knd_window_slot(w, idx) += value;
    w->total += value;
}

void knd__window_record_max(knd_window_t *w, uint64_t now_ms, double v)
{
    int64_t now = (int64_t)now_ms;
    int64_t idx = knd_window_index(w, now);
    if (!knd_window_advance(w, knd_window_trunc(w, now), idx))
        return;
    double *b = knd_window_slot(w, idx);
    if (v > *b) {
        w->total += v - *b;
        *b = v;
    }
}

static inline bool knd_window_is_empty(const knd_window_t *w, int64_t now)
{
    return now - w->last_write > w->window_ms;
}

double knd_window_average(const knd_window_t *w, uint64_t now_ms, bool *empty)
{
    int64_t now = knd_window_trunc(w, (int64_t)now_ms);
    int64_t d = now - w->last_write;
    if (empty != NULL)
        *empty = knd_window_is_empty(w, now);
    double span = (double)((w->last_write - w->first_write) / w->granularity_ms) + 1;
    if (d <= 0)
        return knd__window_round(KND_WINDOW_PRECISION,
                                 w->total / fmin(span, (double)w->nbuckets));
    if (d >= w->window_ms)
        return 0;
    /* Seconds since the last write are not data yet: drop them from sum and count. */
    int64_t st = knd_window_index(w, w->last_write), e = knd_window_index(w, now);
    double ret = w->total;
    for (int64_t i = st + 1; i <= e; i++)
        ret -= *knd_window_slot(w, i);
    double nb = fmin(span, (double)((int64_t)w->nbuckets - (e - st)));
    return knd__window_round(KND_WINDOW_PRECISION, ret / nb);
}

double knd_window_weighted_average(const knd_window_t *w, uint64_t now_ms, bool *empty)
{
    int64_t now = knd_window_trunc(w, (int64_t)now_ms);
    bool is_empty = knd_window_is_empty(w, now);
    if (empty != NULL)
        *empty = is_empty;
    if (is_empty)
        return 0;
    int64_t total_b = (int64_t)w->nbuckets, num_b = total_b;
    double m = w->smoothing;
    if (now > w->last_write) {
        int64_t num_z = (now - w->last_write) / w->granularity_ms;
        m *= pow(1 - w->smoothing, (double)num_z);
        num_b -= num_z;
    }
    int64_t start = knd_window_index(w, w->last_write) + total_b;
    double ret = 0;
    for (int64_t i = 0; i < num_b; i++) {
        ret += w->buckets[(start - i) % total_b] * m;
        m *= 1 - w->smoothing;
    }
    return ret;
}

double knd__window_max(const knd_window_t *w, uint64_t now_ms)
{
    int64_t now = knd_window_trunc(w, (int64_t)now_ms);
    if (knd_window_is_empty(w, now))
        return 0;
    int64_t n = (int64_t)w->nbuckets - (now > w->last_write ? (now - w->last_write) / w->granularity_ms : 0);
    int64_t idx = knd_window_index(w, w->last_write);
    double best = 0;
    for (int64_t i = 0; i < n; i++, idx--)
        best = fmax(best, *knd_window_slot(w, idx + (int64_t)w->nbuckets));
    return best;
}

void knd__window_foreach(const knd_window_t *w, uint64_t now_ms, knd_window_bucket_cb cb, void *arg)
{
    int64_t now = knd_window_trunc(w, (int64_t)now_ms);
    int64_t n = (int64_t)w->nbuckets - (now - w->last_write) / w->granularity_ms;
    int64_t t = w->last_write;
    int64_t si = knd_window_index(w, t);
    for (int64_t i = 0; i < n; i++) {
        cb(t, w->buckets[(size_t)(si % (int64_t)w->nbuckets)], arg);
        si--;
        t -= w->granularity_ms;
    }
}

void knd_window_resize_at(knd_window_t *w, uint64_t window_ms, uint64_t now_ms)
{
    if ((int64_t)window_ms == w->window_ms)
        return;
    size_t nb = knd_window_count((int64_t)window_ms, w->granularity_ms);
    if (nb == 0)
        nb = 1;
    double *nbuf = knd_xcalloc(nb, sizeof(double));
    double ntotal = 0;
    if (knd_window_trunc(w, (int64_t)now_ms) - w->last_write <= w->window_ms) {
        /* Copy the newest min(old, new) buckets; a shrinking window drops the oldest. */
        size_t old = w->nbuckets;
        int64_t t = knd_window_index(w, w->last_write);
        for (size_t i = 0; i < (nb < old ? nb : old); i++, t--) {
            double v = w->buckets[(size_t)(t % (int64_t)old)];
            nbuf[(size_t)(t % (int64_t)nb)] = v;
            ntotal += v;
        }
        w->first_write = w->last_write - (int64_t)(old - 1) * w->granularity_ms;
    } else {
        w->first_write = KND_WINDOW_NEVER;
    }
    free(w->buckets);
    w->buckets = nbuf;
    w->nbuckets = nb;
    w->window_ms = (int64_t)window_ms;
    w->total = ntotal;
    w->smoothing = knd__window_smoothing((double)nb);
}

void knd_window_resize(knd_window_t *w, uint64_t window_ms)
{
    uint64_t at = w->last_write > 0 ? (uint64_t)w->last_write : 0;
    knd_window_resize_at(w, window_ms, at);
}
