/*
 * test_knd_kpa.c - Knative's pkg/autoscaler/scaling/autoscaler_test.go (every TestAutoscaler*,
 * TestCantCountPods, TestStartInPanicMode, TestNewFail) and
 * pkg/reconciler/autoscaling/resources/target_test.go, ported: the fake metric client becomes the
 * stable/panic inputs, the fake pod counter the ready count (-1 = its error), time.Now() an
 * unaligned millisecond origin. Knative compares EBC with a +-1 tolerance; so does this file.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "knd_autoscale.h"

#define S 1000ULL
#define T0 1700000000123ULL
#define TU 0.75 /* the tests' targetUtilization */
#define STABLE_WINDOW (60 * S)

/* ---- the fake autoscaler ---------------------------------------------------------------- */

typedef struct {
    knd_kpa_params_t p;
    knd_kpa_state_t st;
    int ready;              /* the fake pod counter; -1 = its error */
    double stable, panic;   /* the fake metric client (concurrency or RPS, whichever is used) */
    bool metric_err;
} fake_t;

/* newTestAutoscalerWithScalingMetric: starts with 1 ready pod (2 with startInPanic). */
static fake_t *fake_new(double target, double tbc, double stable, double panic, bool start_in_panic)
{
    fake_t *f = calloc(1, sizeof(*f));
    f->p.metric = KND_METRIC_CONCURRENCY;
    f->p.target = target;
    f->p.total = target / TU;
    f->p.target_burst_capacity = tbc;
    f->p.panic_threshold = 2;
    f->p.max_scale_up_rate = 10;
    f->p.max_scale_down_rate = 10;
    f->p.stable_window_ms = STABLE_WINDOW;
    f->ready = start_in_panic ? 2 : 1;
    f->stable = stable;
    f->panic = panic;
    knd_kpa_state_init(&f->st, &f->p, f->ready, T0);
    return f;
}

static int expected_ebc(double tot, double tbc, double recorded, double pods)
{
    return (int)floor(tot / TU * pods - tbc - recorded);
}

static knd_kpa_decision_t scale_at(fake_t *f, uint64_t now)
{
    return knd_kpa_decide(&f->p, &f->st, now, f->ready, f->stable, f->panic, !f->metric_err,
                          true);
}

#define EXPECT_SCALE(f, now, want_scale, want_ebc, want_valid)                                    \
    do {                                                                                          \
        knd_kpa_decision_t d_ = scale_at((f), (now));                                             \
        assert_int_equal(d_.valid, (want_valid));                                                 \
        assert_int_equal(d_.desired, (want_scale));                                               \
        int de_ = d_.excess_burst_capacity - (want_ebc);                                          \
        if (de_ < -1 || de_ > 1)                                                                  \
            fail_msg("EBC = %d, want %d", d_.excess_burst_capacity, (want_ebc));                  \
    } while (0)

static void set_sp(fake_t *f, double s, double p)
{
    f->stable = s;
    f->panic = p;
}

/* ---- scale-down delay ------------------------------------------------------------------- */

/* DeciderSpec{TargetValue 10, rates 10, PanicThreshold 100, ScaleDownDelay 5m, Reachable}. */
static fake_t *delay_fake(uint64_t delay_ms)
{
    fake_t *f = calloc(1, sizeof(*f));
    f->p.target = 10;
    f->p.max_scale_down_rate = 10;
    f->p.max_scale_up_rate = 10;
    f->p.panic_threshold = 100;
    f->p.scale_down_delay_ms = delay_ms;
    f->ready = 0;
    knd_kpa_state_init(&f->st, &f->p, 0, 0);
    return f;
}

/* time.Time{} is a multiple of 2 s since the epoch; so is this origin. */
#define TZ 1700000000000ULL

static void test_scale_down_delay(void **state)
{
    (void)state;
    fake_t *f = delay_fake(300 * S);
    /* simple */
    set_sp(f, 40, 40);
    EXPECT_SCALE(f, TZ + 2 * S, 4, 0, true);
    set_sp(f, 0, 0);
    EXPECT_SCALE(f, TZ + 300 * S, 4, 0, true);
    EXPECT_SCALE(f, TZ + 302 * S, 0, 0, true);
    /* gradual */
    set_sp(f, 40, 40);
    EXPECT_SCALE(f, TZ + 9 * 60 * S, 4, 0, true);
    set_sp(f, 30, 30);
    EXPECT_SCALE(f, TZ + 10 * 60 * S, 4, 0, true);
    set_sp(f, 0, 0);
    EXPECT_SCALE(f, TZ + 11 * 60 * S, 4, 0, true);
    EXPECT_SCALE(f, TZ + 14 * 60 * S, 3, 0, true);
    EXPECT_SCALE(f, TZ + 15 * 60 * S, 0, 0, true);
    free(f);
}

static void test_scale_down_delay_not_reachable(void **state)
{
    (void)state;
    fake_t *f = delay_fake(300 * S);
    set_sp(f, 40, 40);
    EXPECT_SCALE(f, TZ + 2 * S, 4, 0, true);
    set_sp(f, 0, 0);
    EXPECT_SCALE(f, TZ + 60 * S, 4, 0, true);
    /* as.Update(Reachable: false): the delay no longer applies */
    knd_kpa_decision_t d = knd_kpa_decide(&f->p, &f->st, TZ + 2 * S, f->ready, 0, 0, true, false);
    assert_true(d.valid);
    assert_int_equal(d.desired, 0);
    free(f);
}

static void test_scale_down_delay_zero(void **state)
{
    (void)state;
    fake_t *f = delay_fake(0);
    set_sp(f, 40, 40);
    EXPECT_SCALE(f, TZ, 4, 0, true);
    set_sp(f, 20, 20); /* no window at all: two decisions in one slot both count */
    EXPECT_SCALE(f, TZ + 500, 2, 0, true);
    free(f);
}

/* ---- simple decisions --------------------------------------------------------------------- */

static void test_no_data_no_autoscale(void **state)
{
    (void)state;
    fake_t *f = fake_new(10, 100, 0, 0, false);
    f->metric_err = true;
    EXPECT_SCALE(f, T0, 0, 0, false);
    assert_int_equal(f->st.desired_scale, -1); /* the previous decision stays */
    free(f);
}

static void test_start_metrics(void **state)
{
    (void)state;
    fake_t *f = fake_new(10, 100, 50, 50, true);
    assert_true(f->st.panicking); /* panic gauge 1 right after creation */
    assert_int_equal(f->st.desired_scale, -1);
    free(f);
}

static void test_metrics(void **state)
{
    (void)state;
    fake_t *f = fake_new(10, 100, 50, 50, false);
    assert_false(f->st.panicking);
    knd_kpa_decision_t d = scale_at(f, T0);
    assert_int_equal(d.desired, 5);
    assert_true(abs(d.excess_burst_capacity - expected_ebc(10, 100, 50, 1)) <= 1);
    assert_true(d.panic);
    assert_true(d.observed_stable == 50 && d.observed_panic == 50);
    free(f);
}

static void test_metrics_with_rps(void **state)
{
    (void)state;
    fake_t *f = fake_new(10, 100, 100, 99, false);
    f->p.metric = KND_METRIC_RPS;
    knd_kpa_decision_t d = scale_at(f, T0 + 61 * S);
    assert_int_equal(d.desired, 10);
    assert_true(abs(d.excess_burst_capacity - expected_ebc(10, 100, 99, 1)) <= 1);
    assert_true(d.panic);
    assert_true(d.observed_stable == 100 && d.observed_panic == 99);
    free(f);
}

static void test_stable_mode_increase_with_concurrency_default(void **state)
{
    (void)state;
    fake_t *f = fake_new(10, 101, 50, 10, false);
    EXPECT_SCALE(f, T0, 5, expected_ebc(10, 101, 10, 1), true);
    f->stable = 100;
    EXPECT_SCALE(f, T0, 10, expected_ebc(10, 101, 10, 1), true);
    free(f);
}

static void test_stable_mode_increase_with_rps(void **state)
{
    (void)state;
    fake_t *f = fake_new(10, 101, 50, 50, false);
    f->p.metric = KND_METRIC_RPS;
    EXPECT_SCALE(f, T0, 5, expected_ebc(10, 101, 50, 1), true);
    set_sp(f, 100, 99);
    EXPECT_SCALE(f, T0, 10, expected_ebc(10, 101, 99, 1), true);
    free(f);
}

static void test_unpanic_after_slow_increase(void **state)
{
    (void)state;
    fake_t *f = fake_new(1, 98, 11, 25, false);
    f->ready = 10;
    uint64_t start = T0, tm = start;
    EXPECT_SCALE(f, tm, 25, expected_ebc(1, 98, 25, 10), true);
    assert_true(f->st.panicking && f->st.panic_time_ms == tm);
    f->ready = 25 + 15;
    set_sp(f, 30, 41);
    tm += STABLE_WINDOW / 2;
    EXPECT_SCALE(f, tm, 41, expected_ebc(1, 98, 41, 40), true);
    assert_true(f->st.panic_time_ms == start); /* not over the threshold: did not move */
    f->ready = 25 + 30;
    set_sp(f, 50, 56);
    tm += STABLE_WINDOW / 2 + 2 * S;
    EXPECT_SCALE(f, tm, 50, expected_ebc(1, 98, 56, 55), true);
    assert_false(f->st.panicking);
    free(f);
}

static void test_extend_panic_window(void **state)
{
    (void)state;
    fake_t *f = fake_new(1, 98, 11, 25, false);
    f->ready = 10;
    uint64_t tm = T0;
    EXPECT_SCALE(f, tm, 25, expected_ebc(1, 98, 25, 10), true);
    assert_true(f->st.panic_time_ms == tm);
    f->ready = 25 + 15;
    set_sp(f, 30, 80);
    tm += STABLE_WINDOW / 2;
    EXPECT_SCALE(f, tm, 80, expected_ebc(1, 98, 80, 40), true);
    assert_true(f->st.panic_time_ms == tm);
    free(f);
}

static void test_stable_mode_decrease(void **state)
{
    (void)state;
    fake_t *f = fake_new(10, 98, 100, 100, false);
    f->ready = 8;
    EXPECT_SCALE(f, T0, 10, expected_ebc(10, 98, 100, 8), true);
    set_sp(f, 50, 50);
    EXPECT_SCALE(f, T0, 5, expected_ebc(10, 98, 50, 8), true);
    free(f);
}

static void test_stable_mode_no_traffic_scale_to_zero(void **state)
{
    (void)state;
    fake_t *f = fake_new(10, 75, 1, 0, false);
    EXPECT_SCALE(f, T0, 1, expected_ebc(10, 75, 0, 1), true);
    f->stable = 0;
    EXPECT_SCALE(f, T0, 0, expected_ebc(10, 75, 0, 1), true);
    free(f);
}

static void test_activation_scale(void **state)
{
    (void)state;
    fake_t *f = fake_new(10, 75, 0, 0, false);
    f->p.activation_scale = 2;
    EXPECT_SCALE(f, T0, 0, expected_ebc(10, 75, 0, 1), true);
    f->stable = 1;
    EXPECT_SCALE(f, T0, 2, expected_ebc(10, 75, 0, 1), true);
    free(f);
}

static void test_panic_mode_exponential_track_and_stabilize(void **state)
{
    (void)state;
    fake_t *f = fake_new(1, 101, 6, 6, false);
    EXPECT_SCALE(f, T0, 6, expected_ebc(1, 101, 6, 1), true);
    uint64_t tm = T0 + 5;
    f->ready = 6;
    set_sp(f, 36, 36);
    EXPECT_SCALE(f, tm, 36, expected_ebc(1, 101, 36, 6), true);
    assert_true(f->st.panic_time_ms == tm);
    f->ready = 36;
    set_sp(f, 216, 216);
    tm += S;
    EXPECT_SCALE(f, tm, 216, expected_ebc(1, 101, 216, 36), true);
    assert_true(f->st.panic_time_ms == tm);
    f->ready = 216;
    set_sp(f, 1296, 1296);
    EXPECT_SCALE(f, tm, 1296, expected_ebc(1, 101, 1296, 216), true);
    assert_true(f->st.panic_time_ms == tm);
    f->ready = 1296;
    tm += S;
    EXPECT_SCALE(f, tm, 1296, expected_ebc(1, 101, 1296, 1296), true);
    free(f);
}

/* ---- TestAutoscalerScale (12 cases) ------------------------------------------------------- */

typedef struct {
    const char *label;
    double target, tbc, stable, panic;
    int base_scale;
    int prep; /* 0 none, 1 panicking 5 s ago with 5 pods, 2 MSUR 1.1, 3 MSDR 1.1, 4 MSDR 1.1 + unreachable */
    int want_scale, want_ebc;
} scale_case_t;

static void test_autoscaler_scale(void **state)
{
    (void)state;
    const scale_case_t cases[] = {
        {"AutoscalerNoDataAtZeroNoAutoscale", 10, 100, 0, 0, 1, 0, 0, expected_ebc(10, 100, 0, 1)},
        {"AutoscalerNoDataAtZeroNoAutoscaleWithExplicitEPs", 10, 100, 0, 0, 1, 0, 0,
         expected_ebc(10, 100, 0, 1)},
        {"AutoscalerStableModeUnlimitedTBC", 181, -1, 21, 26, 1, 0, 1, -1},
        {"Autoscaler0TBC", 10, 0, 50, 49, 1, 0, 5, 0},
        {"AutoscalerStableModeNoChange", 10, 100, 50, 50, 1, 0, 5, expected_ebc(10, 100, 50, 1)},
        {"AutoscalerPanicStableLargerThanPanic", 1, 100, 50, 30, 5, 1, 50,
         expected_ebc(1, 100, 30, 5)},
        {"AutoscalerPanicStableLessThanPanic", 1, 100, 20, 30, 5, 1, 30, expected_ebc(1, 100, 30, 5)},
        {"AutoscalerStableModeNoChangeAlreadyScaled", 10, 100, 50, 50, 5, 0, 5,
         expected_ebc(10, 100, 50, 5)},
        {"AutoscalerStableModeIncreaseWithSmallScaleUpRate", 1, 1982, 3, 3.1, 2, 2, 3,
         expected_ebc(1, 1982, 3.1, 2)},
        {"AutoscalerStableModeDecreaseWithSmallScaleDownRate", 10, 1982, 1, 1, 100, 3, 90,
         expected_ebc(10, 1982, 1, 100)},
        {"AutoscalerStableModeDecreaseNonReachable", 10, 1982, 1, 1, 100, 4, 1,
         expected_ebc(10, 1982, 1, 100)},
        {"AutoscalerPanicModeDoublePodCount", 10, 84, 50, 100, 1, 0, 10, expected_ebc(10, 84, 100, 1)},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const scale_case_t *tc = &cases[i];
        fake_t *f = fake_new(tc->target, tc->tbc, tc->stable, tc->panic, false);
        bool reachable = true;
        f->ready = tc->base_scale;
        if (tc->prep == 1) {
            f->st.panicking = true;
            f->st.panic_time_ms = T0 - 5 * S;
            f->st.max_panic_pods = 5;
        } else if (tc->prep == 2) {
            f->p.max_scale_up_rate = 1.1;
        } else if (tc->prep >= 3) {
            f->p.max_scale_down_rate = 1.1;
            reachable = tc->prep != 4;
        }
        knd_kpa_decision_t d = knd_kpa_decide(&f->p, &f->st, T0, f->ready, f->stable, f->panic,
                                              true, reachable);
        if (!d.valid || d.desired != tc->want_scale || abs(d.excess_burst_capacity - tc->want_ebc) > 1)
            fail_msg("%s: got {%d, %d, %d}, want {%d, %d}", tc->label, d.desired,
                     d.excess_burst_capacity, d.valid, tc->want_scale, tc->want_ebc);
        free(f);
    }
}

/* ---- panic, rates, pod counts, update ----------------------------------------------------- */

static void test_panic_then_unpanic_scale_down(void **state)
{
    (void)state;
    fake_t *f = fake_new(10, 93, 100, 100, false);
    EXPECT_SCALE(f, T0, 10, expected_ebc(10, 93, 100, 1), true);
    f->ready = 10;
    uint64_t pt = T0 + 7;
    f->panic = 1000;
    EXPECT_SCALE(f, pt, 100, expected_ebc(10, 93, 1000, 10), true);
    set_sp(f, 1, 1);
    EXPECT_SCALE(f, pt + 30 * S, 100, expected_ebc(10, 93, 1, 10), true);
    EXPECT_SCALE(f, pt + 61 * S, 1, expected_ebc(10, 93, 1, 10), true);
    free(f);
}

static void test_rate_limit_scale_up(void **state)
{
    (void)state;
    fake_t *f = fake_new(10, 61, 1000, 1001, false);
    EXPECT_SCALE(f, T0, 10, expected_ebc(10, 61, 1001, 1), true);
    f->ready = 10;
    EXPECT_SCALE(f, T0, 100, expected_ebc(10, 61, 1001, 10), true);
    free(f);
}

static void test_rate_limit_scale_down(void **state)
{
    (void)state;
    fake_t *f = fake_new(10, 61, 1, 1, false);
    f->ready = 100;
    EXPECT_SCALE(f, T0, 10, expected_ebc(10, 61, 1, 100), true);
    f->ready = 10;
    EXPECT_SCALE(f, T0, 1, expected_ebc(10, 61, 1, 10), true);
    free(f);
}

static void test_cant_count_pods(void **state)
{
    (void)state;
    fake_t *f = fake_new(10, 81, 1000, 888, false);
    f->ready = -1; /* "peaches-in-regalia" */
    EXPECT_SCALE(f, T0, 0, 0, false);
    free(f);
}

static void test_use_one_pod_as_minimum_if_endpoints_not_found(void **state)
{
    (void)state;
    fake_t *f = fake_new(10, 81, 1000, 888, false);
    f->ready = 0;
    EXPECT_SCALE(f, T0, 10, expected_ebc(10, 81, 888, 0), true);
    free(f);
}

static void test_update_target(void **state)
{
    (void)state;
    fake_t *f = fake_new(10, 77, 100, 101, false);
    EXPECT_SCALE(f, T0, 10, expected_ebc(10, 77, 101, 1), true);
    f->ready = 10;
    f->p.target = 1;
    f->p.total = 1 / TU;
    f->p.target_burst_capacity = 71;
    f->p.panic_threshold = 2;
    EXPECT_SCALE(f, T0, 100, expected_ebc(1, 71, 101, 10), true);
    free(f);
}

static void test_start_in_panic_mode(void **state)
{
    (void)state;
    knd_kpa_params_t p = {.target = 100, .total = 120, .target_burst_capacity = 11,
                          .panic_threshold = 220, .max_scale_up_rate = 10,
                          .max_scale_down_rate = 10, .stable_window_ms = STABLE_WINDOW};
    knd_kpa_state_t *st = malloc(sizeof(*st));
    for (int i = 0; i < 2; i++) {
        knd_kpa_state_init(st, &p, i, T0);
        assert_false(st->panicking);
        assert_int_equal(st->max_panic_pods, i);
    }
    knd_kpa_state_init(st, &p, 2, T0);
    assert_true(st->panicking);
    assert_int_equal(st->max_panic_pods, 2);
    /* TestNewFail: the pod counter fails -> 0 */
    knd_kpa_state_init(st, &p, -1, T0);
    assert_false(st->panicking);
    assert_int_equal(st->max_panic_pods, 0);
    free(st);
}

/* ---- the decider's initial status (multiscaler.go createScaler) ---------------------------- */

static void test_initial_status(void **state)
{
    (void)state;
    knd_kpa_params_t p = {.total = 100, .target = 70, .initial_scale = 1,
                          .target_burst_capacity = 211};
    knd_kpa_state_t *st = malloc(sizeof(*st));
    knd_kpa_state_init(st, &p, 0, T0);
    assert_int_equal(st->desired_scale, -1);
    assert_int_equal(st->excess_burst_capacity, -111);
    p.target_burst_capacity = -1;
    knd_kpa_state_init(st, &p, 0, T0);
    assert_int_equal(st->excess_burst_capacity, -1);
    p.target_burst_capacity = 0;
    knd_kpa_state_init(st, &p, 0, T0);
    assert_int_equal(st->excess_burst_capacity, 0);
    free(st);
}

/* ---- target_test.go TestResolveMetricTarget (20 cases) ------------------------------------- */

typedef struct {
    const char *name;
    int cc;
    const char *metric, *target, *tu; /* annotations, NULL = absent */
    double cfg_pct, cfg_default;      /* 0 = the test config's (100 %, 100) */
    double want_target, want_total;
} target_case_t;

static void test_resolve_metric_target(void **state)
{
    (void)state;
    static const target_case_t cases[] = {
        {"defaults", 0, NULL, NULL, NULL, 0, 0, 100, 100},
        {"default CC + 80% TU", 0, NULL, NULL, NULL, 80, 0, 80, 100},
        {"non-default CC and TU", 0, NULL, NULL, NULL, 30, 2, 0.6, 2},
        {"with container concurrency 12 and TU=80%, but TU annotation 75%", 12, NULL, NULL, "75",
         80, 0, 9, 12},
        {"with container concurrency 10 and TU=80%", 10, NULL, NULL, NULL, 80, 0, 8, 10},
        {"with container concurrency 1 and TU=80%", 1, NULL, NULL, NULL, 80, 0, 0.8, 1},
        {"with container concurrency 1", 1, NULL, NULL, NULL, 0, 0, 1, 1},
        {"with container concurrency 10 and TU=80% (again)", 10, NULL, NULL, NULL, 80, 0, 8, 10},
        {"with container concurrency 10", 10, NULL, NULL, NULL, 0, 0, 10, 10},
        {"with target annotation 1", 0, NULL, "1", NULL, 0, 0, 1, 1},
        {"with target annotation 1 and TU=0.1%", 0, NULL, "1", NULL, 0.1, 0, 0.01, 1},
        {"with target annotation 1 and TU=75%", 0, NULL, "1", NULL, 75, 0, 0.75, 1},
        {"with target annotation 10 and TU=75%", 0, NULL, "10", NULL, 75, 0, 7.5, 10},
        {"with container concurrency greater than target annotation (ok)", 10, NULL, "1", NULL, 0,
         0, 1, 1},
        {"with target annotation greater than default (ok)", 0, NULL, "500", NULL, 0, 0, 500, 500},
        {"with target annotation greater than container concurrency (ignore annotation)", 1, NULL,
         "10", NULL, 0, 0, 1, 1},
        {"RPS: defaults", 1, "rps", NULL, NULL, 0, 0, 140, 200},
        {"RPS: with target annotation 1", 0, "rps", "1", NULL, 0, 0, 0.7, 1},
        {"RPS: with TU annotation 75%", 0, "rps", NULL, "75", 0, 0, 150, 200},
        {"RPS: with target annotation greater than default", 0, "rps", "300", NULL, 0, 0, 210, 300},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const target_case_t *tc = &cases[i];
        knd_platform_t plat;
        knd_platform_init(&plat, NULL);
        plat.container_concurrency_target_percentage = tc->cfg_pct ? tc->cfg_pct : 100;
        plat.container_concurrency_target_default = tc->cfg_default ? tc->cfg_default : 100;
        plat.requests_per_second_target_default = 200;
        json_t *a = json_object();
        if (tc->metric)
            json_object_set_new(a, "autoscaling.knative.dev/metric", json_string(tc->metric));
        if (tc->target)
            json_object_set_new(a, "autoscaling.knative.dev/target", json_string(tc->target));
        if (tc->tu)
            json_object_set_new(a, "autoscaling.knative.dev/target-utilization-percentage",
                                json_string(tc->tu));
        knd_kpa_params_t p;
        knd_kpa_params(a, tc->cc, &plat, &p);
        if (p.target != tc->want_target || p.total != tc->want_total)
            fail_msg("%s: got (%g, %g), want (%g, %g)", tc->name, p.target, p.total,
                     tc->want_target, tc->want_total);
        json_decref(a);
        knd_platform_free(&plat);
    }
}

/* ---- SPEC a.1: the parameters with Knative's defaults --------------------------------------- */

static void test_params_defaults(void **state)
{
    (void)state;
    knd_platform_t plat;
    knd_platform_init(&plat, NULL);
    knd_kpa_params_t p;
    knd_kpa_params(NULL, 0, &plat, &p);
    assert_false(p.hpa);
    assert_int_equal(p.metric, KND_METRIC_CONCURRENCY);
    assert_true(p.total == 100 && p.target == 70);
    assert_true(p.panic_threshold == 2.0);
    assert_int_equal(p.stable_window_ms, 60000);
    assert_int_equal(p.panic_window_ms, 6000);
    assert_true(p.target_burst_capacity == 211);
    assert_true(p.max_scale_up_rate == 1000 && p.max_scale_down_rate == 2);
    assert_int_equal(p.initial_scale, 1);
    assert_int_equal(p.scale_to_zero_grace_ms, 30000);
    assert_int_equal(p.activation_timeout_ms, 630000);
    knd_kpa_params(NULL, 10, &plat, &p);
    assert_true(p.total == 10 && p.target == 7);

    json_t *a = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                          "autoscaling.knative.dev/window", "20s",
                          "autoscaling.knative.dev/panicWindowPercentage", "12.5",
                          "autoscaling.knative.dev/panic-threshold-percentage", "150",
                          "autoscaling.knative.dev/minScale", "2",
                          "autoscaling.knative.dev/max-scale", "9",
                          "autoscaling.knative.dev/initial-scale", "0",
                          "autoscaling.knative.dev/scale-down-delay", "1m",
                          "autoscaling.knative.dev/metric-aggregation-algorithm",
                          "weighted-exponential", "serving.knative.dev/progress-deadline", "5s");
    knd_kpa_params(a, 0, &plat, &p);
    assert_int_equal(p.stable_window_ms, 20000);
    assert_int_equal(p.panic_window_ms, 3000); /* 2.5 s rounds half away from zero */
    assert_true(p.panic_threshold == 1.5);
    assert_int_equal(p.min_scale, 2);
    assert_int_equal(p.max_scale, 9);
    assert_int_equal(p.initial_scale, 1); /* 0 is not allowed by the cluster */
    assert_int_equal(p.scale_down_delay_ms, 60000);
    assert_true(p.weighted_exponential);
    assert_int_equal(p.activation_timeout_ms, 35000);
    plat.allow_zero_initial_scale = true;
    knd_kpa_params(a, 0, &plat, &p);
    assert_int_equal(p.initial_scale, 0);
    json_decref(a);

    a = json_pack("{s:s}", "autoscaling.knative.dev/class", "hpa.autoscaling.knative.dev");
    knd_kpa_params(a, 0, &plat, &p);
    assert_true(p.hpa);
    assert_int_equal(p.metric, KND_METRIC_CPU);
    assert_true(p.target == 80);
    assert_int_equal(p.stable_window_ms, 300000);
    json_decref(a);
    knd_platform_free(&plat);
}

/* ---- the HPA rule --------------------------------------------------------------------------- */

static void test_hpa(void **state)
{
    (void)state;
    knd_kpa_params_t p = {.hpa = true, .metric = KND_METRIC_CPU, .target = 80, .total = 80};
    knd_window_t *w = knd_window_new(300 * S, S);
    /* inside the 10 % tolerance nothing moves */
    assert_int_equal(knd_hpa_decide(&p, w, T0, 3, 87), 3);
    assert_int_equal(knd_hpa_decide(&p, w, T0 + 15 * S, 3, 73), 3);
    /* 160 % of target with 3 -> ceil(6) */
    assert_int_equal(knd_hpa_decide(&p, w, T0 + 30 * S, 3, 160), 6);
    /* the load drops: the 6 holds for the 300 s stabilisation window */
    assert_int_equal(knd_hpa_decide(&p, w, T0 + 60 * S, 6, 20), 6);
    assert_int_equal(knd_hpa_decide(&p, w, T0 + 329 * S, 6, 20), 6);
    assert_int_equal(knd_hpa_decide(&p, w, T0 + 331 * S, 6, 20), 2);
    /* scale-up limit max(2 x current, 4); never below 1 */
    assert_int_equal(knd_hpa_decide(&p, w, T0 + 340 * S, 2, 800), 4);
    knd_window_free(w);
    w = knd_window_new(300 * S, S);
    assert_int_equal(knd_hpa_decide(&p, w, T0, 1, 1), 1);
    p.min_scale = 2;
    p.max_scale = 3;
    assert_int_equal(knd_hpa_decide(&p, w, T0 + 2 * S, 3, 800), 3);
    knd_window_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scale_down_delay),
        cmocka_unit_test(test_scale_down_delay_not_reachable),
        cmocka_unit_test(test_scale_down_delay_zero),
        cmocka_unit_test(test_no_data_no_autoscale),
        cmocka_unit_test(test_start_metrics),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_metrics_with_rps),
        cmocka_unit_test(test_stable_mode_increase_with_concurrency_default),
        cmocka_unit_test(test_stable_mode_increase_with_rps),
        cmocka_unit_test(test_unpanic_after_slow_increase),
        cmocka_unit_test(test_extend_panic_window),
        cmocka_unit_test(test_stable_mode_decrease),
        cmocka_unit_test(test_stable_mode_no_traffic_scale_to_zero),
        cmocka_unit_test(test_activation_scale),
        cmocka_unit_test(test_panic_mode_exponential_track_and_stabilize),
        cmocka_unit_test(test_autoscaler_scale),
        cmocka_unit_test(test_panic_then_unpanic_scale_down),
        cmocka_unit_test(test_rate_limit_scale_up),
        cmocka_unit_test(test_rate_limit_scale_down),
        cmocka_unit_test(test_cant_count_pods),
        cmocka_unit_test(test_use_one_pod_as_minimum_if_endpoints_not_found),
        cmocka_unit_test(test_update_target),
        cmocka_unit_test(test_start_in_panic_mode),
        cmocka_unit_test(test_initial_status),
        cmocka_unit_test(test_resolve_metric_target),
        cmocka_unit_test(test_params_defaults),
        cmocka_unit_test(test_hpa),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
