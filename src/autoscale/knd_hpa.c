/*
 * knd_hpa.c - the class hpa.autoscaling.knative.dev: Kubernetes' HorizontalPodAutoscaler rule
 * (pkg/controller/podautoscaler/replica_calculator.go and horizontal.go) for cpu/memory:
 * a usage ratio with a 10 % tolerance, the scale-up limit, min/max replicas, and the
 * scale-down stabilisation window (the highest recommendation of the window wins).
 *
 * Ownership: the caller owns `recent` (a knd_window_t of the stabilisation window, 1 s buckets);
 * this file only records into it.
 */
#include <math.h>

#include "knd_autoscale_int.h"

#define KND_HPA_TOLERANCE 0.1
#define KND_HPA_SCALE_UP_FACTOR 2.0  /* scaleUpLimitFactor */
#define KND_HPA_SCALE_UP_MINIMUM 4.0 /* scaleUpLimitMinimum */

int knd_hpa_decide(const knd_kpa_params_t *p, knd_window_t *recent, uint64_t now_ms, int current,
                   double usage_per_instance)
{
    int min = p->min_scale > 1 ? p->min_scale : 1;
    int max = p->max_scale > 0 ? p->max_scale : INT32_MAX;
    int desired = current;
    if (current > 0 && p->target > 0) {
        double ratio = usage_per_instance / p->target;
        /* Inside the tolerance band nothing moves (GetResourceReplicas). */
        if (fabs(1.0 - ratio) > KND_HPA_TOLERANCE)
            desired = (int)fmin(ceil(ratio * (double)current), (double)INT32_MAX);
    }
    /* stabilizeRecommendation: scale-down follows the highest recommendation of the window. */
    knd__window_record_max(recent, now_ms, (double)desired);
    double best = knd__window_max(recent, now_ms);
    if (best > (double)desired)
        desired = (int)best;
    /* normalizeDesiredReplicas: at most max(2 x current, 4) in one step, then min/max. */
    double up_limit = fmax(KND_HPA_SCALE_UP_FACTOR * (double)current, KND_HPA_SCALE_UP_MINIMUM);
    if ((double)desired > up_limit)
        desired = (int)up_limit;
    if (desired < min)
        desired = min;
    if (desired > max)
        desired = max;
    return desired;
}
