/*
 * knd_pa_scaler.c - the PodAutoscaler side of the KPA (pkg/reconciler/autoscaling/kpa/scaler.go
 * and kpa.go): min/max/initial scale around the decider's answer, the scale-to-zero gating
 * (stable window while Active, grace period and pod retention while Inactive, activation
 * timeout while Activating), the Active condition and the SKS Proxy/Serve mode.
 *
 * Ownership: pure functions over caller-owned state; reasons are static strings.
 */
#include <string.h>

#include "knd_autoscale_int.h"

#define KND_PA_PROXY_REQUEUE_MS 3000 /* Active long enough, SKS already in Proxy */
#define KND_PA_PROBE_PERIOD_MS 1000  /* the async activator probe's period */

void knd_pa_state_init(knd_pa_state_t *st, uint64_t now_ms)
{
    memset(st, 0, sizeof(*st));
    /* InitializeConditions: Active=Unknown with no reason yet. */
    st->activity = KND_PA_ACTIVATING;
    st->activity_since_ms = now_ms;
    st->reason = "";
}

static inline uint64_t knd_pa_since(uint64_t now, uint64_t since)
{
    return now > since ? now - since : 0;
}

static int knd_pa_min_scale(const knd_kpa_params_t *p, bool reachable)
{
    return reachable ? p->min_scale : 0; /* ScaleBounds: min is ignored when unreachable */
}

/* handleScaleToZero for the Inactive PA. */
static void knd_pa_inactive_to_zero(const knd_kpa_params_t *p, const knd_pa_state_t *st,
                                    uint64_t now, const knd_pa_scaler_in_t *in,
                                    knd_pa_scaler_out_t *out)
{
    /* With TBC -1 the activator is always in the path; otherwise it must answer the probe. */
    bool in_path = p->target_burst_capacity == -1 || in->activator_probe_ok;
    if (!in_path) {
        out->async_probe = true;
        return;
    }
    uint64_t retention = in->reachable ? p->scale_to_zero_retention_ms : 0;
    uint64_t grace = p->scale_to_zero_grace_ms;
    uint64_t inactive = knd_pa_since(now, st->activity_since_ms);
    if (inactive >= (grace > retention ? grace : retention)) {
        out->apply = true;
        return;
    }
    if (retention > 0 && inactive < retention) {
        out->requeue = true;
        out->requeue_ms = retention - inactive;
        return;
    }
    /* Fast path: the activator has been in the path for the whole grace period already. */
    if (in->proxy_for_ms >= grace) {
        out->apply = true;
        return;
    }
    out->requeue = true;
    out->requeue_ms = grace - in->proxy_for_ms;
}

static void knd_pa_to_zero(const knd_kpa_params_t *p, const knd_pa_state_t *st, uint64_t now,
                           const knd_pa_scaler_in_t *in, knd_pa_scaler_out_t *out)
{
    if (!p->enable_scale_to_zero) {
        out->scale = 1;
        out->apply = true;
        return;
    }
    switch (st->activity) {
    case KND_PA_ACTIVATING:
        /* Stuck activating past the progress deadline (+30 s): give up and go to zero. */
        if (knd_pa_since(now, st->activity_since_ms) > p->activation_timeout_ms) {
            out->apply = true;
            return;
        }
        out->requeue = true;
        out->requeue_ms = p->activation_timeout_ms;
        out->scale = -1;
        return;
    case KND_PA_ACTIVE: {
        uint64_t af = knd_pa_since(now, st->activity_since_ms);
        if (af >= p->stable_window_ms) {
            /* Answer 0 without applying it: the PA goes Inactive, the SKS to Proxy. */
            if (in->sks_proxy) {
                out->requeue = true;
                out->requeue_ms = KND_PA_PROXY_REQUEUE_MS;
            }
            return;
        }
        out->requeue = true;
        out->requeue_ms = p->stable_window_ms - af;
        out->scale = 1;
        out->apply = true;
        return;
    }
    case KND_PA_INACTIVE:
        knd_pa_inactive_to_zero(p, st, now, in, out);
        return;
    }
}

knd_pa_scaler_out_t knd_pa_scaler(const knd_kpa_params_t *p, const knd_pa_state_t *st,
                                  uint64_t now_ms, const knd_pa_scaler_in_t *in)
{
    knd_pa_scaler_out_t out = {.scale = in->desired};
    if (in->desired < 0 && st->activity != KND_PA_ACTIVATING)
        return out; /* metrics are not yet being collected */
    int min = knd_pa_min_scale(p, in->reachable), max = p->max_scale;
    /* Until the revision first reaches its initial scale, initial scale is a floor. */
    if (p->initial_scale > 1 && !st->scale_target_initialized && in->reachable &&
        p->initial_scale > min)
        min = p->initial_scale;
    int desired = in->desired;
    if (desired < min)
        desired = min;
    if (max != 0 && desired > max)
        desired = max;
    out.scale = desired;
    if (desired != 0)
        out.apply = true;
    else
        knd_pa_to_zero(p, st, now_ms, in, &out);
    out.patch = out.apply && out.scale != in->current;
    return out;
}

static void knd_pa_mark(knd_pa_state_t *st, uint64_t now, knd_pa_activity_t a, const char *reason)
{
    /* Kubernetes conditions keep their transition time unless status or reason change. */
    if (st->activity != a || strcmp(st->reason, reason) != 0)
        st->activity_since_ms = now;
    st->activity = a;
    st->reason = reason;
}

/* computeActiveCondition (kpa.go). */
void knd__pa_active_condition(const knd_kpa_params_t *p, knd_pa_state_t *st, uint64_t now,
                                    int want, int ready, bool reachable)
{
    int min = knd_pa_min_scale(p, reachable);
    int base = st->scale_target_initialized ? 1 : p->initial_scale;
    int min_ready = min > base ? min : base;
    if (ready >= min_ready)
        st->scale_target_initialized = true;
    if (want == 0 || min_ready == 0) {
        if (st->activity == KND_PA_ACTIVATING && min_ready > 0)
            knd_pa_mark(st, now, KND_PA_INACTIVE, "TimedOut");
        else
            knd_pa_mark(st, now, KND_PA_INACTIVE, "NoTraffic");
    } else if (ready < min_ready) {
        if (want > 0 || st->activity != KND_PA_INACTIVE)
            knd_pa_mark(st, now, KND_PA_ACTIVATING, "Queued");
        else
            knd_pa_mark(st, now, KND_PA_INACTIVE, "NoTraffic");
    } else if (want > 0 || st->activity != KND_PA_INACTIVE) {
        knd_pa_mark(st, now, KND_PA_ACTIVE, "");
    }
}

knd_pa_result_t knd_pa_scale(const knd_kpa_params_t *p, knd_pa_state_t *st, uint64_t now_ms,
                             int desired, int ready, bool reachable)
{
    /* In one process the activator answers as soon as it is in the path: the probe succeeds
     * exactly while the revision is proxied. */
    knd_pa_scaler_in_t in = {
        .desired = desired,
        .current = -1,
        .reachable = reachable,
        .sks_proxy = st->proxy_since_ms != 0,
        .proxy_for_ms = st->proxy_since_ms != 0 ? knd_pa_since(now_ms, st->proxy_since_ms) : 0,
        .activator_probe_ok = st->proxy_since_ms != 0,
    };
    knd_pa_scaler_out_t out = knd_pa_scaler(p, st, now_ms, &in);
    knd_pa_result_t r = {.apply = out.apply ? out.scale : -1, .want = out.scale};
    if (out.requeue)
        r.requeue_ms = out.requeue_ms;
    else if (out.async_probe)
        r.requeue_ms = KND_PA_PROBE_PERIOD_MS;
    knd__pa_active_condition(p, st, now_ms, out.scale, ready, reachable);
    r.reason = st->reason;
    return r;
}

bool knd_pa_proxy_mode(knd_pa_state_t *st, uint64_t now_ms, int want, int ebc, int ready)
{
    bool proxy = true;
    if (want == -1 && st->activity == KND_PA_INACTIVE)
        proxy = true; /* restarted autoscaler, previously scaled down: stay proxied */
    else if (want > 0 && ebc >= 0)
        proxy = false;
    if (ready == 0)
        proxy = true; /* nothing to serve from: the SKS reconciler forces Proxy */
    if (!proxy)
        st->proxy_since_ms = 0;
    else if (st->proxy_since_ms == 0)
        st->proxy_since_ms = now_ms ? now_ms : 1;
    return proxy;
}
