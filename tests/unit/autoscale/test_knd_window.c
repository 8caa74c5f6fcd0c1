/*
 * test_knd_window.c - Knative's pkg/autoscaler/aggregation/bucketing_test.go and
 * aggregation/max/{window,timewindow}_test.go, ported case by case: the same records, the same
 * reads, the same expected values. Go's time.Now() becomes an unaligned millisecond origin.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "knd_autoscale_int.h"

#define S 1000ULL
#define T0 1700000000123ULL /* "time.Now()" */

/* ---- helpers ---------------------------------------------------------------------------- */

typedef struct {
    int64_t t[512];
    double v[512];
    int n;
    double sum;
} bucket_acc_t;

static void acc_cb(int64_t t, double v, void *arg)
{
    bucket_acc_t *a = arg;
    a->sum += v;
    if (v > 0 && a->n < 512) {
        a->t[a->n] = t;
        a->v[a->n++] = v;
    }
}

static double bucket_sum(const knd_window_t *w, uint64_t now)
{
    bucket_acc_t a = {0};
    knd__window_foreach(w, now, acc_cb, &a);
    return a.sum;
}

static double avg(const knd_window_t *w, uint64_t now)
{
    return knd_window_average(w, now, NULL);
}

/* ---- TestComputeDecayMultiplier (4 cases) ------------------------------------------------- */

static void test_compute_decay_multiplier(void **state)
{
    (void)state;
    static const struct { double nb, want; } cases[] = {
        {100, 0.2}, {60, 0.2}, {40, 0.20567}, {6, 0.78456}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_true(fabs(knd__window_smoothing(cases[i].nb) - cases[i].want) <= 0.9999);
    /* Tighter than Knative's tolerance: the SPEC's figures. */
    assert_true(fabs(knd__window_smoothing(6) - 0.784557) < 1e-6);
    assert_true(fabs(knd__window_smoothing(10) - 0.601893) < 1e-6);
    assert_true(fabs(knd__window_smoothing(40) - 0.205672) < 1e-6);
}

/* ---- TestTimedFloat64BucketsSimple (3 cases) ------------------------------------------------ */

typedef struct {
    uint64_t t;
    double v;
} rec_t;

static void simple_case(uint64_t gran, const rec_t *stats, int nstats, const rec_t *want, int nwant,
                        uint64_t trunc1)
{
    knd_window_t *w = knd_window_new(120 * S, gran);
    bool empty = false;
    knd_window_average(w, trunc1, &empty);
    assert_true(empty);
    for (int i = 0; i < nstats; i++)
        knd_window_record(w, stats[i].t, stats[i].v);
    bucket_acc_t a = {0};
    knd__window_foreach(w, trunc1 + 60 * S, acc_cb, &a);
    assert_int_equal(a.n, nwant);
    for (int i = 0; i < nwant; i++) {
        bool found = false;
        for (int j = 0; j < a.n; j++)
            if ((uint64_t)a.t[j] == want[i].t && a.v[j] == want[i].v)
                found = true;
        assert_true(found);
    }
    knd_window_free(w);
}

static void test_buckets_simple(void **state)
{
    (void)state;
    uint64_t trunc1 = T0 - T0 % S, trunc5 = T0 - T0 % (5 * S);
    rec_t s1[] = {{trunc1, 1}, {trunc1 + 100, 10}, {trunc1 + S, 1}, {trunc1 + 3 * S, 1}};
    rec_t w1[] = {{trunc1, 11}, {trunc1 + S, 1}, {trunc1 + 3 * S, 1}};
    simple_case(S, s1, 4, w1, 3, trunc1);
    rec_t s5[] = {{trunc5, 1}, {trunc5 + 3 * S, 11}, {trunc5 + 6 * S, 1}};
    rec_t w5[] = {{trunc5, 12}, {trunc5 + 5 * S, 1}};
    simple_case(5 * S, s5, 3, w5, 2, trunc1);
    simple_case(S, NULL, 0, NULL, 0, trunc1); /* empty */
}

/* ---- TestTimedFloat64BucketsManyReps / ...WithNonMonotonicalOrder -------------------------- */

static void test_buckets_many_reps(void **state)
{
    (void)state;
    uint64_t t1 = T0 - T0 % S;
    knd_window_t *w = knd_window_new(60 * S, S);
    for (int p = 0; p < 5; p++) {
        t1 += S;
        for (int t = 0; t < 5; t++)
            knd_window_record(w, t1, (double)(p + t));
    }
    assert_true(bucket_sum(w, t1) == 100.0);
    assert_true(bucket_sum(w, t1) == 100.0);
    knd_window_free(w);
}

static void test_buckets_many_reps_non_monotonic(void **state)
{
    (void)state;
    uint64_t start = T0 - T0 % S, end = start;
    knd_window_t *w = knd_window_new(60 * S, S);
    static const int d[] = {0, 3, 2, 1, 4};
    for (int p = 0; p < 5; p++) {
        end = start + (uint64_t)d[p] * S;
        for (int t = 0; t < 5; t++)
            knd_window_record(w, end, (double)(p + t));
    }
    assert_true(bucket_sum(w, end) == 100.0);
    assert_true(bucket_sum(w, end) == 100.0);
    knd_window_free(w);
}

/* ---- TestTimedFloat64BucketsWeightedAverage ------------------------------------------------- */

static void test_buckets_weighted_average(void **state)
{
    (void)state;
    uint64_t now = T0;
    knd_window_t *w = knd_window_new(5 * S, S);
    double m = w->smoothing;
    knd_window_record(w, now, 2);
    double want = 2 * m;
    assert_true(knd_window_weighted_average(w, now, NULL) == want);
    want *= (1 - m);
    assert_true(knd_window_weighted_average(w, now + S, NULL) == want);
    knd_window_record(w, now + S, 2);
    want += 2 * m;
    assert_true(knd_window_weighted_average(w, now + S, NULL) == want);
    for (int i = 0; i < 5; i++)
        knd_window_record(w, now + (uint64_t)(2 + i) * S, (double)(i + 2));
    want = 6 * m + 5 * m * (1 - m) + 4 * m * (1 - m) * (1 - m) +
           3 * m * (1 - m) * (1 - m) * (1 - m) + 2 * m * (1 - m) * (1 - m) * (1 - m) * (1 - m);
    /* Knative compares bit for bit; Go's math.Pow and libm's differ in the last bit of the
     * coefficient, so the two summation orders may differ by one ulp here. */
    assert_true(fabs(knd_window_weighted_average(w, now + 6 * S, NULL) - want) < 1e-12);
    bool empty = false;
    assert_true(knd_window_weighted_average(w, now + 16 * S, &empty) == 0.0);
    assert_true(empty);
    knd_window_free(w);
}

/* ---- TestTimedFloat64BucketsWindowAverage --------------------------------------------------- */

static void test_buckets_window_average(void **state)
{
    (void)state;
    uint64_t now = T0;
    knd_window_t *w = knd_window_new(5 * S, S);
    knd_window_record(w, now, 1);
    assert_true(avg(w, now) == 1.0); /* firstWrite: not 0.2 */
    for (int i = 1; i < 5; i++)
        knd_window_record(w, now + (uint64_t)i * S, (double)(i + 1));
    assert_true(avg(w, now + 4 * S) == 15. / 5);
    assert_true(avg(w, now + 3600) == 15. / 5); /* now lags behind */
    assert_true(avg(w, now + 6 * S) == (15. - 1 - 2) / (5 - 2)); /* short hole */
    assert_true(avg(w, now + 10 * S) == 0.0);                    /* long hole */
    knd_window_record(w, now + 6 * S, 91);
    assert_true(avg(w, now + 6 * S) == (15. - 1 - 2 + 91) / 5);

    now += 60 * S;
    knd_window_record(w, now, 1984);
    assert_true(avg(w, now) == 1984.);
    knd_window_record(w, now - 3 * S, 4);
    assert_true(avg(w, now) == (4. + 1984) / 4);
    now += S;
    knd_window_record(w, now, 5);
    assert_true(avg(w, now) == (4. + 1984 + 5) / 5);
    knd_window_record(w, now - 3 * S, 10);
    assert_true(avg(w, now) == (4. + 10 + 1984 + 5) / 5);
    knd_window_record(w, now - 6 * S, 10); /* too early: ignored */
    assert_true(avg(w, now) == (4. + 10 + 1984 + 5) / 5);
    knd_window_record(w, now - 5 * S, 10); /* exactly a window old: ignored */
    assert_true(avg(w, now) == (4. + 10 + 1984 + 5) / 5);
    knd_window_record(w, now + 5 * S, 10); /* a whole window without data clears */
    assert_true(avg(w, now + 5 * S) == 10.);
    knd_window_free(w);
}

/* ---- TestDescendingRecord / TestTimedFloat64BucketsHoles ------------------------------------ */

static void test_descending_record(void **state)
{
    (void)state;
    knd_window_t *w = knd_window_new(5 * S, S);
    for (int i = 8; i >= 0; i--)
        knd_window_record(w, T0 + (uint64_t)i * S, 5);
    assert_true(avg(w, T0 + 5 * S) == 5.);
    knd_window_free(w);
}

static void test_buckets_holes(void **state)
{
    (void)state;
    knd_window_t *w = knd_window_new(5 * S, S);
    for (int i = 0; i < 5; i++)
        knd_window_record(w, T0 + (uint64_t)i * S, (double)(i + 1));
    assert_true(bucket_sum(w, T0 + 4 * S) == 15.);
    assert_true(avg(w, T0 + 4 * S) == 15. / 5);
    knd_window_record(w, T0 + 8 * S, 2.);
    assert_true(bucket_sum(w, T0 + 8 * S) == 7.);
    knd_window_free(w);
}

/* ---- TestWeightedFloat64BucketsResizeWindow / TestTimedFloat64BucketsResizeWindow ---------- */

static knd_window_t *filled_5s(uint64_t start)
{
    knd_window_t *w = knd_window_new(5 * S, S);
    for (int i = 0; i < 6; i++)
        knd_window_record(w, start + (uint64_t)i * S, (double)(i + 1));
    return w;
}

static void test_weighted_resize_window(void **state)
{
    (void)state;
    knd_window_t *w = filled_5s(T0);
    uint64_t now = T0 + 5 * S;
    assert_true(fabs(w->smoothing - knd__window_smoothing(5)) <= 0.9999);
    assert_true(bucket_sum(w, now) == 2. + 3 + 4 + 5 + 6);
    assert_true(knd__window_round(3, knd_window_weighted_average(w, now, NULL)) == 5.812);
    knd_window_resize_at(w, 10 * S, now);
    assert_int_equal(w->nbuckets, 10);
    assert_int_equal(w->window_ms, 10 * S);
    assert_true(fabs(w->smoothing - knd__window_smoothing(10)) <= 0.9999);
    assert_true(w->smoothing == knd__window_smoothing(10));
    knd_window_free(w);
}

static void test_timed_resize_window(void **state)
{
    (void)state;
    knd_window_t *w = filled_5s(T0);
    uint64_t now = T0 + 5 * S;
    const double initial = 2. + 3 + 4 + 5 + 6;
    assert_true(bucket_sum(w, now) == initial);
    assert_true(avg(w, now) == initial / 5);
    knd_window_resize_at(w, 10 * S, now);
    assert_int_equal(w->nbuckets, 10);
    assert_int_equal(w->window_ms, 10 * S);
    assert_true(bucket_sum(w, now) == initial);
    assert_true(avg(w, now) == initial / 5); /* at most 5 buckets were ever recorded */
    now += S;
    knd_window_record(w, now, 7);
    const double upd = initial + 7;
    assert_true(bucket_sum(w, now) == upd);
    assert_true(avg(w, now) == knd__window_round(6, upd / 6));
    knd_window_resize_at(w, 4 * S, now);
    assert_int_equal(w->nbuckets, 4);
    const double shrink = upd - 2 - 3;
    assert_true(bucket_sum(w, now) == shrink);
    assert_true(avg(w, now) == shrink / 4);
    double *before = w->buckets;
    knd_window_resize_at(w, 4 * S, now); /* idempotent */
    assert_ptr_equal(before, w->buckets);
    knd_window_free(w);
}

static void test_window_update_3s_granularity(void **state)
{
    (void)state;
    const uint64_t g = 3 * S;
    uint64_t t1 = T0 - T0 % g;
    knd_window_t *w = knd_window_new(5 * S, g);
    assert_int_equal(w->nbuckets, 2);
    static const double vals[] = {10, 2, 3, 4, 5, 6, 7};
    for (int i = 0; i < 7; i++)
        knd_window_record(w, t1 + (uint64_t)i * S, vals[i]);
    double want = (4. + 5 + 6) + 7;
    assert_true(bucket_sum(w, t1 + 6 * S) == want);
    knd_window_resize_at(w, 10 * S, t1 + 6 * S);
    assert_int_equal(w->nbuckets, 4);
    assert_int_equal(w->window_ms, 10 * S);
    assert_true(bucket_sum(w, t1 + 6 * S) == want);
    knd_window_record(w, t1 + 9 * S + 300, 42);
    want += 42;
    assert_true(bucket_sum(w, t1 + 9 * S) == want);
    knd_window_resize_at(w, 4 * S, t1 + 9 * S);
    assert_int_equal(w->nbuckets, 2);
    assert_true(bucket_sum(w, t1 + 9 * S) == 42 + 7);
    double *before = w->buckets;
    knd_window_resize_at(w, 4 * S, t1 + 9 * S);
    assert_ptr_equal(before, w->buckets);
    knd_window_free(w);
}

static void test_window_update_noop(void **state)
{
    (void)state;
    uint64_t now = T0, start = T0 - 60 * S;
    knd_window_t *w = knd_window_new(5 * S, S);
    knd_window_record(w, start, 19.82);
    assert_int_equal(w->first_write, w->last_write);
    knd_window_resize_at(w, 10 * S, now); /* the data is a minute old: nothing kept */
    assert_int_equal(w->first_write, KND_WINDOW_NEVER);
    knd_window_free(w);
}

/* ---- TestRoundToNDigits ------------------------------------------------------------------- */

static void test_round_to_n_digits(void **state)
{
    (void)state;
    assert_true(knd__window_round(6, 3.6e-17) == 0.);
    assert_true(knd__window_round(3, -3.6e-17) == 0.);
    assert_true(knd__window_round(3, 0.0004) == 0.);
    assert_true(knd__window_round(3, 1.2345) == 1.235);
    assert_true(knd__window_round(4, 1.2345) == 1.2345);
    assert_true(knd__window_round(6, 12345) == 12345.);
}

/* ---- max/window_test.go TestWindowMax (16 cases) -------------------------------------------- */

typedef struct {
    const char *name;
    int n;
    int values[20];
    int expect[20];
    int index_mode; /* 0: i, 1: gaps (i >= 3 -> i + 3), 2: always 1 */
} max_case_t;

static const max_case_t max_cases[] = {
    {"single value", 1, {1}, {1}, 0},
    {"ascending values", 2, {1, 2}, {1, 2}, 0},
    {"descending values", 2, {2, 1}, {2, 2}, 0},
    {"up, down, up", 3, {1, 2, 1}, {1, 2, 2}, 0},
    {"windowing out", 7, {5, 6, 5, 5, 5, 5, 5}, {5, 6, 6, 6, 6, 6, 5}, 0},
    {"windowing out with gaps", 4, {6, 5, 2, 1}, {6, 6, 6, 2}, 1},
    {"windowing out 2", 7, {5, 6, 5, 7, 5, 5, 1}, {5, 6, 6, 7, 7, 7, 7}, 0},
    {"windowing out 3", 6, {5, 8, 5, 7, 5, 5}, {5, 8, 8, 8, 8, 8}, 0},
    {"windowing out 4", 7, {5, 8, 5, 7, 5, 5, 1}, {5, 8, 8, 8, 8, 8, 7}, 0},
    {"windowing out 5", 10, {5, 8, 5, 7, 5, 5, 1, 4, 4, 4}, {5, 8, 8, 8, 8, 8, 7, 7, 5, 5}, 0},
    {"windowing out 6", 11, {5, 8, 5, 7, 5, 5, 1, 4, 4, 4, 4}, {5, 8, 8, 8, 8, 8, 7, 7, 5, 5, 4}, 0},
    {"windowing out 7", 12, {5, 8, 5, 7, 5, 5, 1, 4, 4, 4, 4, 9},
     {5, 8, 8, 8, 8, 8, 7, 7, 5, 5, 4, 9}, 0},
    {"windowing out 8", 17, {5, 8, 5, 7, 5, 5, 1, 4, 4, 4, 4, 9, 3, 4, 2, 1, 0},
     {5, 8, 8, 8, 8, 8, 7, 7, 5, 5, 4, 9, 9, 9, 9, 9, 4}, 0},
    {"multiple with same index, ascending", 7, {1, 2, 3, 4, 5, 6, 7}, {1, 2, 3, 4, 5, 6, 7}, 2},
    {"multiple with same index, descending", 7, {7, 6, 5, 4, 3, 2, 1}, {7, 7, 7, 7, 7, 7, 7}, 2},
};

static void test_window_max(void **state)
{
    (void)state;
    knd_kpa_state_t *st = malloc(sizeof(*st));
    for (size_t c = 0; c < sizeof(max_cases) / sizeof(max_cases[0]); c++) {
        const max_case_t *tc = &max_cases[c];
        memset(st, 0, sizeof(*st));
        for (int i = 0; i < tc->n; i++) {
            int64_t idx = tc->index_mode == 2 ? 1 : (tc->index_mode == 1 && i >= 3 ? i + 3 : i);
            int got = knd_kpa_delay_record(st, 5, idx, tc->values[i]);
            if (got != tc->expect[i])
                fail_msg("%s: step %d: got %d, want %d", tc->name, i, got, tc->expect[i]);
        }
    }
    free(st);
}

/* ---- max/timewindow_test.go TestTimedWindowMax (4 cases): 5 s window, 1 s slots ------------ */

static void test_timed_window_max(void **state)
{
    (void)state;
    static const struct {
        int n;
        uint64_t t[2];
        int v[2];
        int expect;
    } cases[] = {
        {1, {0}, {5}, 5},             /* single value */
        {2, {0, 500}, {6, 5}, 6},     /* two values in same second */
        {2, {0, 1000}, {5, 8}, 8},    /* two values */
        {2, {0, 6000}, {5, 4}, 4},    /* time gap */
    };
    knd_kpa_state_t *st = malloc(sizeof(*st));
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        memset(st, 0, sizeof(*st));
        int got = 0;
        for (int i = 0; i < cases[c].n; i++)
            got = knd_kpa_delay_record(st, 5, (int64_t)((T0 + cases[c].t[i]) / 1000),
                                       cases[c].v[i]);
        assert_int_equal(got, cases[c].expect);
    }
    free(st);
}

/* ---- beyond Knative's tests: the HPA history helpers ------------------------------------- */

static void test_window_max_history(void **state)
{
    (void)state;
    knd_window_t *w = knd_window_new(300 * S, S);
    knd__window_record_max(w, T0, 4);
    knd__window_record_max(w, T0 + 500, 2); /* same second: the larger stays */
    assert_true(knd__window_max(w, T0 + 2 * S) == 4);
    knd__window_record_max(w, T0 + 10 * S, 1);
    assert_true(knd__window_max(w, T0 + 299 * S) == 4);
    assert_true(knd__window_max(w, T0 + 300 * S) == 1); /* the 4 slid out */
    knd_window_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compute_decay_multiplier),
        cmocka_unit_test(test_buckets_simple),
        cmocka_unit_test(test_buckets_many_reps),
        cmocka_unit_test(test_buckets_many_reps_non_monotonic),
        cmocka_unit_test(test_buckets_weighted_average),
        cmocka_unit_test(test_buckets_window_average),
        cmocka_unit_test(test_descending_record),
        cmocka_unit_test(test_buckets_holes),
        cmocka_unit_test(test_weighted_resize_window),
        cmocka_unit_test(test_timed_resize_window),
        cmocka_unit_test(test_window_update_3s_granularity),
        cmocka_unit_test(test_window_update_noop),
        cmocka_unit_test(test_round_to_n_digits),
        cmocka_unit_test(test_window_max),
        cmocka_unit_test(test_timed_window_max),
        cmocka_unit_test(test_window_max_history),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
