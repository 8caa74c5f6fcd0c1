/*
 * knd_kpa.c - the KPA decider: a revision's parameters from its annotations and the platform
 * config (Knative's ResolveMetricTarget and MakeDecider), and one Scale(now) with its panic state
 * and scale-down-delay window (pkg/autoscaler/scaling/autoscaler.go, aggregation/max/window.go).
 *
 * Ownership: pure functions over caller-owned structs; nothing allocates. Annotations are
 * borrowed for the duration of the call.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "knd_autoscale.h"
#include "knd_time.h"

#define KND_KPA_GROUP "autoscaling.knative.dev/"
#define KND_KPA_TICK_MS 2000
#define KND_KPA_TARGET_MIN 0.01
#define KND_KPA_RPS_UTILIZATION 0.7
#define KND_KPA_ACTIVATION_BUFFER_MS 30000
#define KND_KPA_PROGRESS_DEADLINE_MS 600000 /* config-deployment progress-deadline default */
#define KND_KPA_HPA_CPU_DEFAULT 80.0        /* Kubernetes' HPA default CPU utilisation */
#define KND_KPA_HPA_STABILIZATION_MS 300000

/* ---- annotations (kmap.KeyPriority: the first key present wins) ----------------------------- */

static const char *knd_kpa_anno(const json_t *annos, const char *key, const char *legacy)
{
    if (!json_is_object(annos))
        return NULL;
    const json_t *v = json_object_get(annos, key);
    if (v == NULL && legacy != NULL)
        v = json_object_get(annos, legacy);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* strconv.ParseFloat: the whole string must be a number. */
static bool knd_kpa_anno_float(const json_t *annos, const char *key, const char *legacy,
                               double *out)
{
    const char *s = knd_kpa_anno(annos, key, legacy);
    if (s == NULL || *s == '\0' || *s == ' ' || *s == '\t')
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0' || errno == ERANGE)
        return false;
    *out = v;
    return true;
}

/* strconv.ParseInt(s, 10, 32). */
static bool knd_kpa_anno_int32(const json_t *annos, const char *key, const char *legacy, int *out)
{
    const char *s = knd_kpa_anno(annos, key, legacy);
    if (s == NULL || *s == '\0' || *s == ' ' || *s == '\t')
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0' || errno == ERANGE || v < INT32_MIN || v > INT32_MAX)
        return false;
    *out = (int)v;
    return true;
}

/* time.ParseDuration. */
static bool knd_kpa_anno_duration(const json_t *annos, const char *key, const char *legacy,
                                  uint64_t *out_ms)
{
    const char *s = knd_kpa_anno(annos, key, legacy);
    int64_t ms;
    if (s == NULL || knd_time_parse_duration_ms(s, &ms) != 0)
        return false;
    *out_ms = ms > 0 ? (uint64_t)ms : 0;
    return true;
}

static uint64_t knd_kpa_secs_ms(double s)
{
    return s > 0 ? (uint64_t)llround(s * 1000.0) : 0;
}

/* ---- parameters ------------------------------------------------------------------------------ */

static knd_metric_t knd_kpa_metric_of(const char *m)
{
    if (strcmp(m, "rps") == 0)
        return KND_METRIC_RPS;
    if (strcmp(m, "cpu") == 0)
        return KND_METRIC_CPU;
    if (strcmp(m, "memory") == 0)
        return KND_METRIC_MEMORY;
    return KND_METRIC_CONCURRENCY;
}

/* ResolveMetricTarget (pkg/reconciler/autoscaling/resources/target.go). */
static void knd_kpa_resolve_target(const json_t *annos, const char *metric, int cc,
                                   const knd_platform_t *p, knd_kpa_params_t *out)
{
    double total, tu, v;
    if (strcmp(metric, "rps") == 0) {
        total = p->requests_per_second_target_default;
        tu = KND_KPA_RPS_UTILIZATION;
    } else {
        total = cc != 0 ? (double)cc : p->container_concurrency_target_default;
        tu = p->container_concurrency_target_percentage / 100.0;
    }
    if (knd_kpa_anno_float(annos, KND_KPA_GROUP "target", NULL, &v)) {
        total = v;
        if (strcmp(metric, "concurrency") == 0 && cc != 0)
            total = fmin(v, (double)cc);
    }
    if (knd_kpa_anno_float(annos, KND_KPA_GROUP "target-utilization-percentage",
                           KND_KPA_GROUP "targetUtilizationPercentage", &v))
        tu = v / 100;
    out->total = total;
    out->target = fmax(KND_KPA_TARGET_MIN, total * tu);
}

/* time.Duration(float64(stable) * pct / 100).Round(time.Second), at least one second. */
static uint64_t knd_kpa_panic_window_ms(uint64_t stable_ms, double pct)
{
    double ns = (double)stable_ms * 1e6 * pct / 100.0;
    int64_t d = (int64_t)ns;
    int64_t secs = d >= 0 ? (d + 500000000) / 1000000000 : 0;
    return secs < 1 ? 1000 : (uint64_t)secs * 1000;
}

static void knd_kpa_params_scale(const json_t *annos, const knd_platform_t *p, knd_kpa_params_t *out)
{
    out->min_scale = p->min_scale;
    knd_kpa_anno_int32(annos, KND_KPA_GROUP "min-scale", KND_KPA_GROUP "minScale", &out->min_scale);
    out->max_scale = p->max_scale;
    knd_kpa_anno_int32(annos, KND_KPA_GROUP "max-scale", KND_KPA_GROUP "maxScale", &out->max_scale);
    /* GetInitialScale: an annotation of 0 counts only where the cluster allows it. */
    int init;
    out->initial_scale = p->initial_scale;
    if (knd_kpa_anno_int32(annos, KND_KPA_GROUP "initial-scale", KND_KPA_GROUP "initialScale",
                           &init) &&
        (init != 0 || p->allow_zero_initial_scale))
        out->initial_scale = init;
    out->activation_scale = 0;
    knd_kpa_anno_int32(annos, KND_KPA_GROUP "activation-scale", NULL, &out->activation_scale);
}

void knd_kpa_params(const json_t *annotations, int container_concurrency, const knd_platform_t *p,
                    knd_kpa_params_t *out)
{
    const json_t *a = annotations;
    memset(out, 0, sizeof(*out));
    const char *cls = knd_kpa_anno(a, KND_KPA_GROUP "class", NULL);
    if (cls == NULL)
        cls = p->pod_autoscaler_class;
    out->hpa = strcmp(cls, "hpa.autoscaling.knative.dev") == 0;
    const char *metric = knd_kpa_anno(a, KND_KPA_GROUP "metric", NULL);
    if (metric == NULL)
        metric = out->hpa ? "cpu" : strcmp(cls, "kpa.autoscaling.knative.dev") == 0 ? "concurrency" : "";
    out->metric = knd_kpa_metric_of(metric);

    double v;
    if (out->hpa && (out->metric == KND_METRIC_CPU || out->metric == KND_METRIC_MEMORY)) {
        /* MakeHPA: the target annotation is a utilisation percentage (cpu, rounded up) or an
         * average in MiB (memory); without it Kubernetes defaults to 80 % CPU. */
        out->total = KND_KPA_HPA_CPU_DEFAULT;
        if (knd_kpa_anno_float(a, KND_KPA_GROUP "target", NULL, &v))
            out->total = out->metric == KND_METRIC_CPU ? ceil(v) : v;
        out->target = out->total;
    } else {
        knd_kpa_resolve_target(a, metric, container_concurrency, p, out);
    }

    double pt = p->panic_threshold_percentage;
    knd_kpa_anno_float(a, KND_KPA_GROUP "panic-threshold-percentage",
                       KND_KPA_GROUP "panicThresholdPercentage", &pt);
    out->panic_threshold = pt / 100.0;

    out->stable_window_ms = knd_kpa_secs_ms(p->stable_window_s);
    bool has_window = knd_kpa_anno_duration(a, KND_KPA_GROUP "window", NULL, &out->stable_window_ms);
    if (out->hpa && !has_window)
        out->stable_window_ms = KND_KPA_HPA_STABILIZATION_MS;
    double pwp = p->panic_window_percentage;
    knd_kpa_anno_float(a, KND_KPA_GROUP "panic-window-percentage",
                       KND_KPA_GROUP "panicWindowPercentage", &pwp);
    out->panic_window_ms = knd_kpa_panic_window_ms(out->stable_window_ms, pwp);

    const char *algo = knd_kpa_anno(a, KND_KPA_GROUP "metric-aggregation-algorithm",
                                    KND_KPA_GROUP "metricAggregationAlgorithm");
    out->weighted_exponential = algo != NULL && (strcmp(algo, "weighted-exponential") == 0 ||
                                                 strcmp(algo, "weightedExponential") == 0);

    out->target_burst_capacity = p->target_burst_capacity;
    knd_kpa_anno_float(a, KND_KPA_GROUP "target-burst-capacity",
                       KND_KPA_GROUP "targetBurstCapacity", &out->target_burst_capacity);
    out->scale_down_delay_ms = knd_kpa_secs_ms(p->scale_down_delay_s);
    knd_kpa_anno_duration(a, KND_KPA_GROUP "scale-down-delay", KND_KPA_GROUP "scaleDownDelay",
                          &out->scale_down_delay_ms);
    out->max_scale_up_rate = p->max_scale_up_rate;
    out->max_scale_down_rate = p->max_scale_down_rate;
    knd_kpa_params_scale(a, p, out);

    out->enable_scale_to_zero = p->enable_scale_to_zero;
    out->scale_to_zero_grace_ms = knd_kpa_secs_ms(p->scale_to_zero_grace_period_s);
    out->scale_to_zero_retention_ms = knd_kpa_secs_ms(p->scale_to_zero_pod_retention_period_s);
    knd_kpa_anno_duration(a, KND_KPA_GROUP "scale-to-zero-pod-retention-period",
                          KND_KPA_GROUP "scaleToZeroPodRetentionPeriod",
                          &out->scale_to_zero_retention_ms);
    uint64_t pd = KND_KPA_PROGRESS_DEADLINE_MS;
    knd_kpa_anno_duration(a, "serving.knative.dev/progress-deadline", NULL, &pd);
    out->activation_timeout_ms = pd + KND_KPA_ACTIVATION_BUFFER_MS;
}

/* ---- the scale-down-delay window (ascending minima, newest last) ---------------------------- */

int knd_kpa_delay_record(knd_kpa_state_t *st, int slots, int64_t index, int v)
{
    if (slots <= 0 || slots > KND_KPA_DELAY_SLOTS)
        return v;
    /* A smaller-or-equal older entry can never be the maximum again. */
    while (st->delay_len > 0 &&
           !(v < st->delay_vals[(st->delay_first + st->delay_len - 1) % slots]))
        st->delay_len--;
    while (st->delay_len > 0 && index - st->delay_idx[st->delay_first] >= slots) {
        st->delay_len--;
        st->delay_first = (st->delay_first + 1) % slots;
    }
    if (st->delay_len > 0) {
        int last = (st->delay_first + st->delay_len - 1) % slots;
        if (st->delay_idx[last] == index) {
            if (st->delay_vals[last] > v)
                v = st->delay_vals[last];
            st->delay_len--;
        }
    }
    int at = (st->delay_first + st->delay_len) % slots;
    st->delay_vals[at] = v;
    st->delay_idx[at] = index;
    st->delay_len++;
    return st->delay_vals[st->delay_first];
}

/* ---- the decider ----------------------------------------------------------------------------- */

static int knd_kpa_initial_ebc(const knd_kpa_params_t *p)
{
    double tbc = p->target_burst_capacity;
    if (tbc == 0 || tbc == -1)
        return (int)tbc;
    return (int)((double)p->initial_scale * p->total - tbc);
}

void knd_kpa_state_init(knd_kpa_state_t *st, const knd_kpa_params_t *p, int ready, uint64_t now_ms)
{
    /* Only the scalars: the delay ring is valid up to delay_len, and leaving its 21 KB untouched
     * keeps calloc'd states of idle revisions from committing memory. */
    st->delay_first = st->delay_len = 0;
    if (ready < 0) /* the ready count is unknown: Knative presumes 0 */
        ready = 0;
    /* Starting with more than one ready instance means a restart lost the metric history: hold
     * the current scale (panic) until the windows fill again. */
    st->panicking = ready > 1;
    st->panic_time_ms = st->panicking ? now_ms : 0;
    st->max_panic_pods = ready;
    st->delay_slots = 0;
    if (p->scale_down_delay_ms > 0) {
        uint64_t slots = (p->scale_down_delay_ms + KND_KPA_TICK_MS - 1) / KND_KPA_TICK_MS;
        st->delay_slots = slots > KND_KPA_DELAY_SLOTS ? KND_KPA_DELAY_SLOTS : (int)slots;
    }
    st->desired_scale = -1;
    st->excess_burst_capacity = knd_kpa_initial_ebc(p);
}

static int knd_kpa_clamp_int(double v)
{
    if (v >= (double)INT32_MAX)
        return INT32_MAX;
    if (v <= (double)INT32_MIN)
        return INT32_MIN;
    return (int)v;
}

/* The panic state machine; returns the post-panic desired count. */
static int knd_kpa_panic(const knd_kpa_params_t *p, knd_kpa_state_t *st, uint64_t now_ms,
                         bool over, int stable_pods, int panic_pods)
{
    if (!st->panicking && over) {
        st->panicking = true;
        st->panic_time_ms = now_ms;
    } else if (over) {
        st->panic_time_ms = now_ms;
    } else if (st->panicking && st->panic_time_ms + p->stable_window_ms < now_ms) {
        /* The surge has made its way into the stable window. */
        st->panicking = false;
        st->panic_time_ms = 0;
        st->max_panic_pods = 0;
    }
    if (!st->panicking)
        return stable_pods;
    int desired = stable_pods > panic_pods ? stable_pods : panic_pods;
    if (desired > st->max_panic_pods)
        st->max_panic_pods = desired;
    return st->max_panic_pods; /* never scale down while panicking */
}

knd_kpa_decision_t knd_kpa_decide(const knd_kpa_params_t *p, knd_kpa_state_t *st, uint64_t now_ms,
                                  int ready, double stable, double panic, bool metric_ok,
                                  bool reachable)
{
    knd_kpa_decision_t d = {0};
    if (!metric_ok || ready < 0)
        return d;
    double ready_f = fmax(1, (double)ready);
    double max_up = ceil(p->max_scale_up_rate * ready_f);
    double max_down = reachable ? floor(ready_f / p->max_scale_down_rate) : 0;
    double dspc = ceil(stable / p->target), dppc = ceil(panic / p->target);
    int stable_pods = knd_kpa_clamp_int(fmin(fmax(dspc, max_down), max_up));
    int panic_pods = knd_kpa_clamp_int(fmin(fmax(dppc, max_down), max_up));
    /* activation-scale applies after the rate limits, on every tick with a non-zero need. */
    if (p->activation_scale > 1) {
        if (dspc > 0 && p->activation_scale > stable_pods)
            stable_pods = p->activation_scale;
        if (dppc > 0 && p->activation_scale > panic_pods)
            panic_pods = p->activation_scale;
    }
    bool over = dppc / ready_f >= p->panic_threshold;
    int desired = knd_kpa_panic(p, st, now_ms, over, stable_pods, panic_pods);
    if (reachable && st->delay_slots > 0)
        desired = knd_kpa_delay_record(st, st->delay_slots, (int64_t)(now_ms / KND_KPA_TICK_MS),
                                       desired);

    /* Excess burst capacity from the real ready count and the panic value: negative keeps the
     * activator in the path. */
    double ebc = -1;
    if (p->target_burst_capacity == 0)
        ebc = 0;
    else if (p->target_burst_capacity > 0)
        ebc = floor((double)ready * p->total - p->target_burst_capacity - panic);

    d.valid = true;
    d.desired = desired;
    d.excess_burst_capacity = knd_kpa_clamp_int(ebc);
    d.panic = st->panicking;
    d.observed_stable = stable;
    d.observed_panic = panic;
    st->desired_scale = d.desired;
    st->excess_burst_capacity = d.excess_burst_capacity;
    return d;
}
