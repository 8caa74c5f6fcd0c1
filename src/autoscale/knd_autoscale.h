/*
 * knd_autoscale.h - Knative's KPA as pure functions (SPEC §a, §b.4-b.5, §c.1): metric windows,
 * the decider (one Scale(now) with its panic and scale-down-delay state carried explicitly), and
 * the PA scaler (min/max/initial scale and the scale-to-zero gating). No I/O, no clock, no
 * allocation after creation: the runtime owns the state and passes `now` in.
 *
 * Times are milliseconds on any monotonic clock.
 */
#ifndef KND_AUTOSCALE_H
#define KND_AUTOSCALE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "knd_platform.h"

/* ---- metric windows (Knative's TimedFloat64Buckets) ----------------------------------------- */

typedef struct knd_window_s knd_window_t;

/** A window of `window_ms` in buckets of `granularity_ms` (Knative: 1000). */
knd_window_t *knd_window_new(uint64_t window_ms, uint64_t granularity_ms);
void knd_window_free(knd_window_t *w);
/** Adds value to the bucket of `now` (Knative: values recorded in the same bucket are summed). */
void knd_window_record(knd_window_t *w, uint64_t now_ms, double value);
/**
 * The linear average over the window as Knative computes it at `now` (trailing empty buckets
 * not yet seen are ignored, gaps count as zeros, rounded to 6 decimals). *empty (may be NULL) is
 * set when there is no data at all in the window.
 */
double knd_window_average(const knd_window_t *w, uint64_t now_ms, bool *empty);
/** The `weighted-exponential` average (SPEC §b.5). */
double knd_window_weighted_average(const knd_window_t *w, uint64_t now_ms, bool *empty);
/** Changes the window length, keeping the data that still fits (Knative's ResizeWindow). */
void knd_window_resize(knd_window_t *w, uint64_t window_ms);
/**
 * knd_window_resize as of `now`: the data is kept only if something was written within the old
 * window before now (Knative reads the wall clock there; knd passes it in).
 * knd_window_resize(w, ms) is knd_window_resize_at(w, ms, <time of the last write>).
 */
void knd_window_resize_at(knd_window_t *w, uint64_t window_ms, uint64_t now_ms);

/* ---- decider parameters (SPEC §a.1) ------------------------------------------------------- */

typedef enum { KND_METRIC_CONCURRENCY = 0, KND_METRIC_RPS, KND_METRIC_CPU, KND_METRIC_MEMORY } knd_metric_t;

typedef struct {
    bool hpa;                  /* class hpa.autoscaling.knative.dev */
    knd_metric_t metric;
    double total, target;      /* target = max(0.01, total * utilisation) */
    double panic_threshold;    /* 2.0 by default */
    uint64_t stable_window_ms, panic_window_ms;
    bool weighted_exponential; /* the weighted-exponential window algorithm (SPEC §b.5) */
    double target_burst_capacity;
    uint64_t scale_down_delay_ms;
    int activation_scale;
    double max_scale_up_rate, max_scale_down_rate;
    int min_scale, max_scale, initial_scale; /* after the platform defaults and max-scale-limit */
    bool enable_scale_to_zero;
    uint64_t scale_to_zero_grace_ms, scale_to_zero_retention_ms;
    uint64_t activation_timeout_ms; /* progress deadline + 30 s */
} knd_kpa_params_t;

/**
 * Derives the parameters of a revision from its annotations (the Revision's
 * metadata.annotations object, may be NULL), its containerConcurrency and the platform config,
 * exactly as Knative's ResolveMetricTarget / MakeDecider / PA scaler do.
 */
void knd_kpa_params(const json_t *annotations, int container_concurrency,
                    const knd_platform_t *p, knd_kpa_params_t *out);

/* ---- the decider (SPEC §a.2-a.4) ---------------------------------------------------------- */

#define KND_KPA_DELAY_SLOTS 1800 /* scale-down-delay up to 1 h in 2 s slots */

typedef struct {
    uint64_t panic_time_ms;    /* 0 = not panicking */
    bool panicking;
    int max_panic_pods;
    /* scale-down-delay: max over a sliding window of 2 s slots */
    int delay_vals[KND_KPA_DELAY_SLOTS];
    int64_t delay_idx[KND_KPA_DELAY_SLOTS];
    int delay_first, delay_len; /* the live part of the delay ring (ascending-minima deque) */
    int delay_slots;           /* ceil(scale_down_delay / 2 s) at creation; 0 = no delay window */
    int desired_scale;         /* last decision; -1 before the first */
    int excess_burst_capacity;
} knd_kpa_state_t;

typedef struct {
    bool valid;                /* false: no metric yet, keep the previous decision */
    int desired;               /* DesiredPodCount (before min/max: those are the PA scaler's) */
    int excess_burst_capacity;
    bool panic;
    double observed_stable, observed_panic;
} knd_kpa_decision_t;

/** Initial state, starting in panic when ready > 1 (Knative's TestStartInPanicMode). */
void knd_kpa_state_init(knd_kpa_state_t *st, const knd_kpa_params_t *p, int ready, uint64_t now_ms);

/**
 * One decision. stable/panic: the revision's total observed concurrency (or requests per second)
 * averaged over the stable and panic windows; metric_ok false when there is no data yet.
 * reachable: a route references the revision.
 */
knd_kpa_decision_t knd_kpa_decide(const knd_kpa_params_t *p, knd_kpa_state_t *st, uint64_t now_ms,
                                  int ready, double stable, double panic, bool metric_ok,
                                  bool reachable);

/**
 * The scale-down-delay window alone (Knative's max.window over `slots` slots): records v at a
 * monotonically increasing slot index and returns the maximum over the last `slots` indices.
 * knd_kpa_decide uses it with index = now / 2 s; exposed for tests.
 */
int knd_kpa_delay_record(knd_kpa_state_t *st, int slots, int64_t index, int v);

/* ---- the PA scaler (SPEC §a.6, §c.1) ------------------------------------------------------ */

typedef enum { KND_PA_ACTIVATING = 0, KND_PA_ACTIVE, KND_PA_INACTIVE } knd_pa_activity_t;

typedef struct {
    knd_pa_activity_t activity;
    uint64_t activity_since_ms;  /* when the activity last changed */
    bool scale_target_initialized; /* reached initial scale once */
    uint64_t proxy_since_ms;     /* since when requests go through the activator (0 = not) */
    const char *reason;          /* static string: the Active condition's reason */
} knd_pa_state_t;

typedef struct {
    int apply;            /* the instance count to run now, or -1: leave it as it is */
    uint64_t requeue_ms;  /* look again after this long (0 = at the next tick) */
    const char *reason;   /* Active condition reason: "", "NoTraffic", "Queued", "TimedOut" */
    int want;             /* the PA's DesiredScale (the scaler's answer, applied or not); -1 unknown */
} knd_pa_result_t;

void knd_pa_state_init(knd_pa_state_t *st, uint64_t now_ms);

/**
 * Applies min/max/initial scale and the scale-to-zero gating to the decider's desired count
 * (-1 = none yet), given the current ready count. Updates the PA's activity state (Active /
 * Activating / Inactive, with Knative's reasons) and returns what to run.
 */
knd_pa_result_t knd_pa_scale(const knd_kpa_params_t *p, knd_pa_state_t *st, uint64_t now_ms,
                             int desired, int ready, bool reachable);

/**
 * Knative's SKS mode after a PA reconcile: true = Proxy (the activator stays in the request path),
 * false = Serve. want is knd_pa_result_t.want, ebc the decider's last excess burst capacity;
 * no ready instance forces Proxy. Keeps st->proxy_since_ms (the scaler's "proxy for" clock)
 * up to date. Call it right after knd_pa_scale, every tick.
 */
bool knd_pa_proxy_mode(knd_pa_state_t *st, uint64_t now_ms, int want, int ebc, int ready);

/* Knative's scaler.scale() alone, with the Kubernetes objects reduced to what it reads. */
typedef struct {
    int desired;             /* the decider's DesiredScale, -1 = none yet */
    int current;             /* the instance count asked for now (spec.replicas) */
    bool reachable;
    bool sks_proxy;          /* SKS spec mode is Proxy */
    uint64_t proxy_for_ms;   /* how long the activator has been in the path (0 = not) */
    bool activator_probe_ok; /* the activator answers the revision's probe */
} knd_pa_scaler_in_t;

typedef struct {
    int scale;            /* what scale() returns */
    bool apply;           /* handleScaleToZero allows applying `scale` */
    bool patch;           /* apply and scale != current: the target would be patched */
    bool requeue;         /* enqueueCB was called ... */
    uint64_t requeue_ms;  /* ... with this delay */
    bool async_probe;     /* the activator probe failed: an async probe was started */
} knd_pa_scaler_out_t;

knd_pa_scaler_out_t knd_pa_scaler(const knd_kpa_params_t *p, const knd_pa_state_t *st,
                                  uint64_t now_ms, const knd_pa_scaler_in_t *in);

/* ---- HPA (class hpa.autoscaling.knative.dev, metric cpu/memory) ---------------------------- */

/**
 * Kubernetes' HPA rule: desired = ceil(current * usage / target) with a 10 % tolerance band
 * (no change while |usage/target - 1| <= 0.1) and a 300 s scale-down stabilisation (the highest
 * recommendation of the last 300 s wins). `recent` holds that history (caller-owned window).
 * Never below max(min_scale, 1): HPA does not scale to zero.
 */
int knd_hpa_decide(const knd_kpa_params_t *p, knd_window_t *recent, uint64_t now_ms, int current,
                   double usage_per_instance);

#endif
