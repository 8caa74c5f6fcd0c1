/*
 * test_knd_pa_scaler.c - Knative's pkg/reconciler/autoscaling/kpa/scaler_test.go (TestScaler,
 * TestDisableScaleToZero) ported to the pure scaler: the Deployment's replicas become `current`,
 * the PA's Active condition and its transition time the PA state, the SKS mode and its
 * ActivatorEndpointsPopulated time the proxy inputs, the fake prober a boolean, the patch
 * reactor `patch`, the enqueue callback `requeue` and the counting prober `async_probe`.
 * Also the state table of computeActiveCondition (kpa.go) and the SKS mode choice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "knd_autoscale_int.h"

#define S 1000ULL
#define NOW 1700000000123ULL

/* kpa_test.go's defaultConfig(): stable-window 5m, grace 60s, TBC 200, progress deadline 121s. */
static void default_params(const json_t *annos, knd_kpa_params_t *p, double retention_s,
                           bool allow_zero_initial)
{
    knd_platform_t plat;
    knd_platform_init(&plat, NULL);
    plat.max_scale_up_rate = 12;
    plat.container_concurrency_target_percentage = 50;
    plat.container_concurrency_target_default = 10;
    plat.stable_window_s = 300;
    plat.scale_to_zero_grace_period_s = 60;
    plat.min_scale = 0;
    plat.target_burst_capacity = 200;
    plat.scale_to_zero_pod_retention_period_s = retention_s;
    plat.allow_zero_initial_scale = allow_zero_initial;
    knd_kpa_params(annos, 0, &plat, p);
    /* config-deployment progress-deadline 121s, unless the annotation set it */
    if (json_object_get(annos, "serving.knative.dev/progress-deadline") == NULL)
        p->activation_timeout_ms = 121 * S + 30 * S;
    knd_platform_free(&plat);
}

enum { NONE = 0, ACTIVE, INACTIVE, ACTIVATING };

typedef struct {
    const char *label;
    int start_replicas, scale_to, min_scale, max_scale;
    int pa;               /* the PA's Active condition after paMutation (NONE: as created) */
    int64_t pa_ago_ms;    /* its LastTransitionTime, relative to now */
    const char *window, *retention, *tbc, *progress, *initial; /* PA annotations */
    bool initialized, unreachable;
    double cfg_retention_s;
    bool allow_zero_initial;
    bool sks_proxy_mode;  /* sks.Spec.Mode = Proxy */
    int64_t sks_proxy_for_ms; /* markSKSInProxyFor */
    int prober;           /* 0: returns true, 1: fails */
    int want_replicas;
    bool want_scaling;
    int want_cb, want_async;
} scaler_case_t;

#define SW (300 * S)
#define PASW (45 * S)
#define GP (60 * S)
#define AT (151 * S)

static const scaler_case_t scaler_cases[] = {
    {"waits to scale to zero (just before idle period)", 1, 0, 0, 0, ACTIVE, SW - S,
     .want_replicas = 1, .want_cb = 1},
    {"waits to scale to zero (just before idle period), custom PA window", 1, 0, 0, 0, ACTIVE,
     PASW - S, .window = "45s", .want_replicas = 1, .want_cb = 1},
    {"custom PA window, check for standard window, no probe", 1, 0, 0, 0, ACTIVE, SW,
     .window = "45s", .want_replicas = 0},
    {"scale to 1 waiting for idle expires", 10, 0, 0, 0, ACTIVE, SW - S, .want_replicas = 1,
     .want_scaling = true, .want_cb = 1},
    {"waits to scale to zero after idle period", 1, 0, 0, 0, ACTIVE, SW, .want_replicas = 0},
    {"waits to scale to zero after idle period; sks in proxy mode", 1, 0, 0, 0, ACTIVE, SW,
     .sks_proxy_mode = true, .want_replicas = 0, .want_cb = 1},
    {"waits to scale to zero after idle period (custom PA window)", 1, 0, 0, 0, ACTIVE, PASW,
     .window = "45s"},
    {"can scale to zero after grace period, but 0 PA retention", 1, 0, 0, 0, INACTIVE, GP,
     .retention = "0", .cfg_retention_s = 120, .want_scaling = true},
    {"can't scale to zero after grace period, but before last pod retention", 1, 0, 0, 0,
     INACTIVE, GP, .cfg_retention_s = 120, .want_cb = 1},
    {"can't scale to zero after grace period, but before last pod retention, pa defined", 1, 0,
     0, 0, INACTIVE, GP, .retention = "2m0s", .cfg_retention_s = 0, .want_cb = 1},
    {"scale to zero after grace period, and after last pod retention", 1, 0, 0, 0, INACTIVE, GP,
     .cfg_retention_s = 60, .want_scaling = true},
    {"scale to zero after grace period", 1, 0, 0, 0, INACTIVE, GP, .want_scaling = true},
    {"waits to scale to zero (just before grace period)", 1, 0, 0, 0, INACTIVE, GP - S,
     .want_cb = 1},
    {"waits to scale to zero (just before grace period, sks short)", 1, 0, 0, 0, INACTIVE,
     GP - S, .sks_proxy_for_ms = GP - S, .want_cb = 1},
    {"waits to scale to zero (just before grace period, sks in proxy long) and last pod timeout "
     "positive", 1, 0, 0, 0, INACTIVE, GP - S, .cfg_retention_s = 42, .sks_proxy_for_ms = GP,
     .want_scaling = true},
    {"waits to scale to zero (just before grace period, sks in proxy long)", 1, 0, 0, 0,
     INACTIVE, GP - S, .sks_proxy_for_ms = GP, .want_scaling = true},
    {"scale to zero with TBC=-1", 1, 0, 0, 0, INACTIVE, GP, .tbc = "-1", .prober = 1,
     .want_scaling = true},
    {"scale to zero after grace period, but fail prober", 1, 0, 0, 0, INACTIVE, GP, .prober = 1,
     .want_async = 1},
    {"scale to zero after grace period, but wrong prober response", 1, 0, 0, 0, INACTIVE, GP,
     .prober = 1, .want_async = 1},
    {"waits to scale to zero while activating until after deadline exceeded", 1, 0, 0, 0,
     ACTIVATING, AT / 2, .want_replicas = -1, .want_cb = 1},
    {"scale to zero while activating after deadline exceeded", 1, 0, 0, 0, ACTIVATING, AT + S,
     .want_scaling = true},
    {"scale to zero while activating after revision deadline exceeded", 1, 0, 0, 0, ACTIVATING,
     5 * S + 30 * S + S, .progress = "5s", .want_scaling = true},
    {"scale down to minScale before grace period", 10, 0, 2, 0, INACTIVE, GP - S,
     .want_replicas = 2, .want_scaling = true},
    {"scale down to minScale after grace period", 10, 0, 2, 0, INACTIVE, GP, .want_replicas = 2,
     .want_scaling = true},
    {"scale to zero ignore last pod retention if  revision is unreachable", 1, 0, 0, 0,
     INACTIVE, GP, .unreachable = true, .cfg_retention_s = 600, .want_scaling = true},
    {"can't scale to zero if revision is unreachable, but before deadline", 1, 0, 0, 0, INACTIVE,
     GP - S, .unreachable = true, .cfg_retention_s = 600, .want_cb = 1},
    {"ignore minScale if unreachable", 10, 0, 2, 0, INACTIVE, GP, .unreachable = true,
     .want_scaling = true},
    {"observe minScale if reachability unknown", 10, 0, 2, 0, INACTIVE, GP, .want_replicas = 2,
     .want_scaling = true},
    {"scales up", 1, 10, 0, 0, NONE, 0, .want_replicas = 10, .want_scaling = true},
    {"scales up to maxScale", 1, 10, 0, 8, NONE, 0, .want_replicas = 8, .want_scaling = true},
    {"scale up inactive revision", 1, 10, 0, 0, INACTIVE, GP / 2, .want_replicas = 10,
     .want_scaling = true},
    {"does not scale up from zero with no metrics", 0, -1, 0, 0, INACTIVE, 0,
     .want_replicas = -1},
    {"scales up from zero to desired one", 0, 1, 0, 0, NONE, 0, .want_replicas = 1,
     .want_scaling = true},
    {"scales up from zero to desired high scale", 0, 10, 0, 0, NONE, 0, .want_replicas = 10,
     .want_scaling = true},
    {"negative scale does not scale", 12, -1, 0, 0, ACTIVE, 0, .want_replicas = -1},
    {"initial scale attained, but now time to scale down", 2, 0, 0, 0, ACTIVE, 120 * S,
     .initialized = true, .initial = "2", .want_replicas = 1, .want_scaling = true, .want_cb = 1},
    {"haven't scaled to initial scale, override desired scale with initial scale", 0, 1, 0, 0,
     ACTIVATING, 0, .initial = "2", .want_replicas = 2, .want_scaling = true},
    {"initial scale reached for the first time", 5, 1, 0, 0, ACTIVATING, 0, .initial = "5",
     .want_replicas = 5},
    {"reaching initial scale zero", 0, 0, 0, 0, INACTIVE, 0, .initial = "0",
     .allow_zero_initial = true, .want_cb = 1},
    {"unreachable revision with initialScale > 1 can scale to 0", 2, 0, 0, 0, ACTIVE, 120 * S,
     .initial = "2", .unreachable = true, .want_replicas = 1, .want_scaling = true, .want_cb = 1},
};

static void anno(json_t *a, const char *k, const char *v)
{
    if (v != NULL)
        json_object_set_new(a, k, json_string(v));
}

static void run_scaler_case(const scaler_case_t *tc)
{
    json_t *a = json_object();
    char buf[16];
    if (tc->min_scale > 0) {
        snprintf(buf, sizeof(buf), "%d", tc->min_scale);
        anno(a, "autoscaling.knative.dev/min-scale", buf);
    }
    if (tc->max_scale > 0) {
        snprintf(buf, sizeof(buf), "%d", tc->max_scale);
        anno(a, "autoscaling.knative.dev/max-scale", buf);
    }
    anno(a, "autoscaling.knative.dev/window", tc->window);
    anno(a, "autoscaling.knative.dev/scale-to-zero-pod-retention-period", tc->retention);
    anno(a, "autoscaling.knative.dev/target-burst-capacity", tc->tbc);
    anno(a, "serving.knative.dev/progress-deadline", tc->progress);
    anno(a, "autoscaling.knative.dev/initial-scale", tc->initial);
    knd_kpa_params_t p;
    default_params(a, &p, tc->cfg_retention_s, tc->allow_zero_initial);

    knd_pa_state_t st;
    knd_pa_state_init(&st, NOW); /* InitializeConditions: Active=Unknown */
    if (tc->pa != NONE) {
        st.activity = tc->pa == ACTIVE ? KND_PA_ACTIVE
                      : tc->pa == INACTIVE ? KND_PA_INACTIVE : KND_PA_ACTIVATING;
        st.activity_since_ms = NOW - (uint64_t)tc->pa_ago_ms;
    }
    st.scale_target_initialized = tc->initialized;
    knd_pa_scaler_in_t in = {
        .desired = tc->scale_to,
        .current = tc->start_replicas,
        .reachable = !tc->unreachable,
        .sks_proxy = tc->sks_proxy_mode,
        .proxy_for_ms = (uint64_t)tc->sks_proxy_for_ms,
        .activator_probe_ok = tc->prober == 0,
    };
    knd_pa_scaler_out_t out = knd_pa_scaler(&p, &st, NOW, &in);
    if (out.scale != tc->want_replicas || out.patch != tc->want_scaling ||
        (int)out.requeue != tc->want_cb || (int)out.async_probe != tc->want_async)
        fail_msg("%s: got scale %d patch %d requeue %d probe %d; want %d %d %d %d", tc->label,
                 out.scale, out.patch, out.requeue, out.async_probe, tc->want_replicas,
                 tc->want_scaling, tc->want_cb, tc->want_async);
    json_decref(a);
}

static void test_scaler(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(scaler_cases) / sizeof(scaler_cases[0]); i++)
        run_scaler_case(&scaler_cases[i]);
}

/* TestDisableScaleToZero: Active since now, reachable, enable-scale-to-zero false. */
static void test_disable_scale_to_zero(void **state)
{
    (void)state;
    static const struct {
        int start, scale_to, min, want;
        bool scaling;
    } cases[] = {{10, 0, 0, 1, true}, {10, 0, 2, 2, true}, {10, -1, 0, -1, false}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        knd_kpa_params_t p;
        json_t *a = json_object();
        if (cases[i].min)
            anno(a, "autoscaling.knative.dev/min-scale", "2");
        default_params(a, &p, 0, false);
        p.enable_scale_to_zero = false;
        knd_pa_state_t st;
        knd_pa_state_init(&st, NOW);
        st.activity = KND_PA_ACTIVE;
        knd_pa_scaler_in_t in = {.desired = cases[i].scale_to, .current = cases[i].start,
                                 .reachable = true};
        knd_pa_scaler_out_t out = knd_pa_scaler(&p, &st, NOW, &in);
        assert_int_equal(out.scale, cases[i].want);
        assert_int_equal(out.patch, cases[i].scaling);
        json_decref(a);
    }
}

/* ---- computeActiveCondition's table (kpa.go) ------------------------------------------------ */

static void test_active_condition_table(void **state)
{
    (void)state;
    static const struct {
        int want, ready, min;
        knd_pa_activity_t from, to;
        const char *reason;
    } rows[] = {
        {0, 5, 1, KND_PA_ACTIVE, KND_PA_INACTIVE, "NoTraffic"},
        {0, 0, 1, KND_PA_ACTIVATING, KND_PA_INACTIVE, "TimedOut"},
        {3, 0, 1, KND_PA_INACTIVE, KND_PA_ACTIVATING, "Queued"},
        {3, 1, 1, KND_PA_ACTIVATING, KND_PA_ACTIVE, ""},
        {-1, 0, 1, KND_PA_INACTIVE, KND_PA_INACTIVE, "NoTraffic"},
        {-1, 0, 1, KND_PA_ACTIVATING, KND_PA_ACTIVATING, "Queued"},
        {-1, 0, 1, KND_PA_ACTIVE, KND_PA_ACTIVATING, "Queued"},
        {-1, 1, 1, KND_PA_INACTIVE, KND_PA_INACTIVE, ""}, /* unchanged */
        {-1, 0, 0, KND_PA_ACTIVATING, KND_PA_INACTIVE, "NoTraffic"},
        {-1, 1, 1, KND_PA_ACTIVATING, KND_PA_ACTIVE, ""},
        {-1, 1, 1, KND_PA_ACTIVE, KND_PA_ACTIVE, ""},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        /* min > 0 through min-scale; min 0 through initial-scale 0 before initialisation */
        knd_kpa_params_t p = {.min_scale = rows[i].min, .initial_scale = rows[i].min};
        knd_pa_state_t st;
        knd_pa_state_init(&st, NOW - 10 * S);
        st.activity = rows[i].from;
        knd__pa_active_condition(&p, &st, NOW, rows[i].want, rows[i].ready, true);
        if (st.activity != rows[i].to || strcmp(st.reason, rows[i].reason) != 0)
            fail_msg("row %zu: got %d %s, want %d %s", i, st.activity, st.reason, rows[i].to,
                     rows[i].reason);
    }
}

static void test_active_condition_transition_time(void **state)
{
    (void)state;
    knd_kpa_params_t p = {.initial_scale = 1};
    knd_pa_state_t st;
    knd_pa_state_init(&st, NOW);
    knd__pa_active_condition(&p, &st, NOW + S, 1, 0, true); /* Unknown "" -> Queued */
    assert_int_equal(st.activity, KND_PA_ACTIVATING);
    assert_int_equal(st.activity_since_ms, NOW + S);
    knd__pa_active_condition(&p, &st, NOW + 2 * S, 1, 0, true); /* same: time kept */
    assert_int_equal(st.activity_since_ms, NOW + S);
    knd__pa_active_condition(&p, &st, NOW + 3 * S, 1, 1, true);
    assert_int_equal(st.activity, KND_PA_ACTIVE);
    assert_true(st.scale_target_initialized);
    assert_int_equal(st.activity_since_ms, NOW + 3 * S);
}

/* ---- the SKS mode (kpa.go ReconcileKind + serverlessservice.go) ---------------------------- */

static void test_proxy_mode(void **state)
{
    (void)state;
    knd_pa_state_t st;
    knd_pa_state_init(&st, NOW);
    assert_true(knd_pa_proxy_mode(&st, NOW, 1, -111, 1)); /* EBC < 0: activator in path */
    assert_int_equal(st.proxy_since_ms, NOW);
    assert_true(knd_pa_proxy_mode(&st, NOW + S, 3, 0, 0)); /* no ready instance */
    assert_int_equal(st.proxy_since_ms, NOW);              /* still the same proxy period */
    assert_false(knd_pa_proxy_mode(&st, NOW + 2 * S, 3, 0, 3));
    assert_int_equal(st.proxy_since_ms, 0);
    assert_true(knd_pa_proxy_mode(&st, NOW + 3 * S, 0, 89, 3)); /* want 0 */
    st.activity = KND_PA_INACTIVE;
    assert_true(knd_pa_proxy_mode(&st, NOW + 4 * S, -1, 5, 3));
}

/* ---- knd_pa_scale: SPEC c.1 with the defaults (stable 60 s, grace 30 s, TBC 211) ------------ */

static void test_scale_to_zero_timeline(void **state)
{
    (void)state;
    knd_platform_t plat;
    knd_platform_init(&plat, NULL);
    knd_kpa_params_t p;
    knd_kpa_params(NULL, 0, &plat, &p);
    knd_platform_free(&plat);
    knd_pa_state_t st;
    knd_pa_state_init(&st, NOW);
    /* first reconcile, no metrics yet: the instance created with initial scale 1 is left alone
     * (Knative creates the Deployment with initial-scale replicas) */
    knd_pa_result_t r = knd_pa_scale(&p, &st, NOW, -1, 0, true);
    assert_int_equal(r.apply, -1);
    assert_int_equal(r.want, -1);
    assert_string_equal(r.reason, "Queued");
    knd_pa_proxy_mode(&st, NOW, r.want, -111, 0);
    r = knd_pa_scale(&p, &st, NOW + 2 * S, 1, 1, true);
    assert_int_equal(st.activity, KND_PA_ACTIVE);
    knd_pa_proxy_mode(&st, NOW + 2 * S, r.want, -111, 1); /* 1 x 100 - 211 < 0: proxied */
    /* the decider says 0 before the PA was Active a whole stable window: keep 1 */
    r = knd_pa_scale(&p, &st, NOW + 40 * S, 0, 1, true);
    assert_int_equal(r.apply, 1);
    assert_int_equal(r.requeue_ms, 22 * S);
    assert_int_equal(st.activity, KND_PA_ACTIVE);
    /* a stable window later: 0 is answered, not applied, the PA goes Inactive */
    r = knd_pa_scale(&p, &st, NOW + 62 * S, 0, 1, true);
    assert_int_equal(r.apply, -1);
    assert_int_equal(r.want, 0);
    assert_int_equal(st.activity, KND_PA_INACTIVE);
    assert_string_equal(r.reason, "NoTraffic");
    knd_pa_proxy_mode(&st, NOW + 62 * S, r.want, -111, 1);
    /* the activator has been in the path for more than the grace period: zero at once */
    r = knd_pa_scale(&p, &st, NOW + 64 * S, 0, 1, true);
    assert_int_equal(r.apply, 0);
}

/* TBC 0: the activator joins only when the PA goes Inactive; zero comes a grace period later. */
static void test_scale_to_zero_tbc_zero(void **state)
{
    (void)state;
    knd_platform_t plat;
    knd_platform_init(&plat, NULL);
    plat.target_burst_capacity = 0;
    knd_kpa_params_t p;
    knd_kpa_params(NULL, 0, &plat, &p);
    knd_platform_free(&plat);
    knd_pa_state_t st;
    knd_pa_state_init(&st, NOW);
    knd_pa_result_t r = knd_pa_scale(&p, &st, NOW, 1, 1, true);
    assert_false(knd_pa_proxy_mode(&st, NOW, r.want, 0, 1));
    r = knd_pa_scale(&p, &st, NOW + 70 * S, 0, 1, true);
    assert_int_equal(st.activity, KND_PA_INACTIVE);
    assert_true(knd_pa_proxy_mode(&st, NOW + 70 * S, r.want, 0, 1));
    r = knd_pa_scale(&p, &st, NOW + 72 * S, 0, 1, true);
    assert_int_equal(r.apply, -1);
    assert_int_equal(r.requeue_ms, 28 * S);
    r = knd_pa_scale(&p, &st, NOW + 100 * S, 0, 1, true);
    assert_int_equal(r.apply, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scaler),
        cmocka_unit_test(test_disable_scale_to_zero),
        cmocka_unit_test(test_active_condition_table),
        cmocka_unit_test(test_active_condition_transition_time),
        cmocka_unit_test(test_proxy_mode),
        cmocka_unit_test(test_scale_to_zero_timeline),
        cmocka_unit_test(test_scale_to_zero_tbc_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
