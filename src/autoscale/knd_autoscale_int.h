/*
 * knd_autoscale_int.h - internals shared by src/autoscale/ and its unit tests: the layout of a
 * metric window (Knative's TimedFloat64Buckets) and the hooks Knative's own tests reach into
 * (forEachBucket, firstWrite, smoothingCoeff). Not for other subsystems.
 *
 * Ownership: a knd_window_t owns its bucket array; nothing else here allocates.
 */
#ifndef KND_AUTOSCALE_INT_H
#define KND_AUTOSCALE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "knd_autoscale.h"

/* "Never written": far enough in the past that now - last_write exceeds any window, close
 * enough to zero that the subtraction cannot overflow (Go's zero time.Time plays this role). */
#define KND_WINDOW_NEVER (INT64_MIN / 4)

struct knd_window_s {
    double *buckets;      /* owned ring, indexed by (t / granularity) % nbuckets */
    size_t nbuckets;
    int64_t granularity_ms;
    int64_t window_ms;
    int64_t first_write;  /* truncated to the granularity; KND_WINDOW_NEVER = unset */
    int64_t last_write;   /* truncated to the granularity; KND_WINDOW_NEVER = unset */
    double total;         /* sum of every bucket, stale ones included (Knative's windowTotal) */
    double smoothing;     /* weighted-exponential coefficient for nbuckets */
};

/** Knative's computeSmoothingCoeff(nb). */
double knd__window_smoothing(double nbuckets);
/** Knative's roundToNDigits(n, f). */
double knd__window_round(int digits, double f);

typedef void (*knd_window_bucket_cb)(int64_t bucket_time_ms, double value, void *arg);
/** Knative's test helper forEachBucket: the valid buckets at now, newest first. */
void knd__window_foreach(const knd_window_t *w, uint64_t now_ms, knd_window_bucket_cb cb,
                         void *arg);

/** The largest bucket value within the window at now (0 when empty): the HPA's history. */
double knd__window_max(const knd_window_t *w, uint64_t now_ms);
/** Keeps the larger of the bucket's value and v (instead of summing). */
void knd__window_record_max(knd_window_t *w, uint64_t now_ms, double v);

/** Knative's computeActiveCondition: the PA's Active condition from want and ready. */
void knd__pa_active_condition(const knd_kpa_params_t *p, knd_pa_state_t *st, uint64_t now_ms,
                              int want, int ready, bool reachable);

#endif
