/*
 * test_knd_top_math.c - `knd top`'s arithmetic and view: counter rates (and resets), histogram
 * deltas and quantiles with interpolation, the one-minute cold-start window, parsing the stats
 * document, two polls turned into sorted rows, and the table / JSON renderings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "knd_top_math.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static const double test_bounds[] = {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
#define NB (sizeof(test_bounds) / sizeof(test_bounds[0]))

static void test_rate(void **state)
{
    (void)state;
    NEAR(knd_top_rate(10, 30, 2000), 10.0);
    NEAR(knd_top_rate(10, 10, 1000), 0.0);
    NEAR(knd_top_rate(0, 1, 250), 4.0);
    NEAR(knd_top_rate(100, 5, 1000), 5.0); /* counter reset: counts from 0 */
    NEAR(knd_top_rate(1, 50, 0), 0.0);
}

static void test_hist_delta(void **state)
{
    (void)state;
    uint64_t prev[4] = {1, 2, 3, 4}, cur[4] = {2, 2, 10, 4}, d[4];
    knd_top_hist_delta(prev, cur, 4, d);
    assert_int_equal(d[0], 1);
    assert_int_equal(d[1], 0);
    assert_int_equal(d[2], 7);
    assert_int_equal(d[3], 0);
    uint64_t reset[4] = {0, 5, 0, 0};
    knd_top_hist_delta(prev, reset, 4, d);
    assert_memory_equal(d, reset, sizeof(d));
}

static void test_quantile(void **state)
{
    (void)state;
    uint64_t c[NB + 1] = {0};
    assert_true(isnan(knd_top_quantile(test_bounds, NB, c, 0.5)));
    /* All 10 in (1, 2]: rank 5 is halfway, rank 9.5 is 95% through. */
    c[1] = 10;
    NEAR(knd_top_quantile(test_bounds, NB, c, 0.50), 1.5);
    NEAR(knd_top_quantile(test_bounds, NB, c, 0.95), 1.95);
    /* The first bucket interpolates from 0. */
    memset(c, 0, sizeof(c));
    c[0] = 4;
    NEAR(knd_top_quantile(test_bounds, NB, c, 0.5), 0.5);
    /* 90 in (5,10], 10 in (100,250]: p50 in the first, p95 halfway through the second. */
    memset(c, 0, sizeof(c));
    c[3] = 90;
    c[7] = 10;
    NEAR(knd_top_quantile(test_bounds, NB, c, 0.50), 5 + 5 * (50.0 / 90));
    NEAR(knd_top_quantile(test_bounds, NB, c, 0.95), 100 + 150 * 0.5);
    /* Exactly at a bucket's edge: the rank ends the lower bucket. */
    NEAR(knd_top_quantile(test_bounds, NB, c, 0.90), 10.0);
    /* In the +Inf bucket: the largest finite bound. */
    memset(c, 0, sizeof(c));
    c[NB] = 3;
    NEAR(knd_top_quantile(test_bounds, NB, c, 0.95), 10000);
    c[0] = 97;
    NEAR(knd_top_quantile(test_bounds, NB, c, 0.5), 50.0 / 97);
    NEAR(knd_top_quantile(test_bounds, NB, c, 0.99), 10000);
}

static void test_window(void **state)
{
    (void)state;
    knd_top_window_t *w = calloc(1, sizeof(*w));
    assert_int_equal(knd_top_window_push(w, 100000, 3), 0); /* only a baseline */
    assert_int_equal(knd_top_window_push(w, 101000, 4), 1);
    assert_int_equal(knd_top_window_push(w, 130000, 6), 3);
    /* At 160000 the sample at 100000 is exactly a minute old: still the baseline. */
    assert_int_equal(knd_top_window_push(w, 160000, 6), 3);
    /* At 161500 the sample at 101000 is older than a minute and becomes the baseline. */
    assert_int_equal(knd_top_window_push(w, 161500, 6), 2);
    assert_int_equal(knd_top_window_push(w, 200000, 6), 0);
    /* A daemon restart (counter down) counts what the new counter says. */
    assert_int_equal(knd_top_window_push(w, 201000, 1), 1);
    /* Many samples in a minute: the ring keeps the newest, nothing breaks. */
    for (uint64_t i = 0; i < 3 * KND_TOP_WINDOW_MAX; i++)
        knd_top_window_push(w, 300000 + i * 10, 100 + i);
    assert_true(w->len <= KND_TOP_WINDOW_MAX);
    free(w);
}

static json_t *test_doc(uint64_t time_ms, const char *revs_json)
{
    char buf[8192];
    snprintf(buf, sizeof(buf), "{\"time_ms\": %llu, \"revisions\": [%s]}",
             (unsigned long long)time_ms, revs_json);
    json_error_t je;
    json_t *d = json_loads(buf, 0, &je);
    if (d == NULL)
        fail_msg("bad test JSON: %s", je.text);
    return d;
}

#define LAT "\"latency\": {\"bounds_ms\": [1,2,5,10,25,50,100,250,500,1000,2500,5000,10000], "
#define REV(ns, name, req, cold, counts, extra)                                                   \
    "{\"namespace\":\"" ns "\",\"service\":\"svc\",\"configuration\":\"svc\",\"revision\":\"" name \
    "\",\"requests_total\":" #req ",\"responses\":{\"2xx\":" #req ",\"5xx\":0},\"inflight\":2,"    \
    "\"queued\":1,\"ready\":1,\"desired\":3,\"panic\":false,\"cold_starts_total\":" #cold          \
    ",\"queue_wait_ms_total\":5," LAT "\"counts\": [" counts "]}" extra "}"

static void test_parse(void **state)
{
    (void)state;
    json_t *d = test_doc(1234567,
                         REV("default", "a-00001", 10, 1, "0,9,0,0,0,0,0,0,0,0,0,0,0,1", "") ","
                         REV("prod", "b-00002", 3, 0, "1,2", "") ","
                         "{\"namespace\":\"default\"}");
    knd_top_snap_t s = {0};
    char err[256];
    assert_int_equal(knd_top_parse(d, NULL, &s, err), 0);
    assert_int_equal(s.time_ms, 1234567);
    assert_int_equal(s.n, 2); /* the entry without a revision name is skipped */
    assert_string_equal(s.revs[0].ns, "default");
    assert_string_equal(s.revs[0].revision, "a-00001");
    assert_string_equal(s.revs[0].service, "svc");
    assert_int_equal(s.revs[0].requests, 10);
    assert_int_equal(s.revs[0].cold_starts, 1);
    assert_int_equal(s.revs[0].inflight, 2);
    assert_int_equal(s.revs[0].queued, 1);
    assert_int_equal(s.revs[0].ready, 1);
    assert_int_equal(s.revs[0].desired, 3);
    assert_int_equal(s.revs[0].nbounds, NB);
    assert_int_equal(s.revs[0].counts[1], 9);
    assert_int_equal(s.revs[0].counts[NB], 1);
    assert_int_equal(s.revs[1].nbounds, 0); /* counts of the wrong length: no histogram */
    knd_top_snap_free(&s);
    assert_int_equal(knd_top_parse(d, "prod", &s, err), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.revs[0].revision, "b-00002");
    knd_top_snap_free(&s);
    json_decref(d);

    d = json_pack("{s:[]}", "revisions");
    assert_int_equal(knd_top_parse(d, NULL, &s, err), -1);
    assert_non_null(strstr(err, "time_ms"));
    json_decref(d);
}

#define Z12 "0,0,0,0,0,0,0,0,0,0,0,0"

static void test_state_two_polls(void **state)
{
    (void)state;
    knd_top_state_t st;
    knd_top_row_t *rows = NULL;
    knd_top_snap_t s = {0};
    char err[256];
    knd_top_state_init(&st);

    json_t *d = test_doc(10000, REV("default", "slow-00001", 100, 1, "0,0," Z12, "") ","
                                REV("default", "fast-00001", 50, 0, "0,0," Z12, ""));
    assert_int_equal(knd_top_parse(d, NULL, &s, err), 0);
    json_decref(d);
    size_t n = knd_top_state_update(&st, &s, &rows);
    assert_int_equal(n, 2);
    assert_true(rows[0].fresh && rows[1].fresh);
    assert_true(isnan(rows[0].p50_ms));
    assert_int_equal(rows[0].cold_1m, 0);
    free(rows);

    /* 2 s later: slow +20 requests (all in (1,2]), fast +200 (in (5,10]), one cold start;
     * a new revision appears. */
    d = test_doc(12000, REV("default", "slow-00001", 120, 2, "0,20," Z12, "") ","
                        REV("default", "fast-00001", 250, 0, "0,0,0,200,0,0,0,0,0,0,0,0,0,0", "")
                        "," REV("default", "new-00001", 5, 1, "5,0," Z12, ""));
    assert_int_equal(knd_top_parse(d, NULL, &s, err), 0);
    json_decref(d);
    n = knd_top_state_update(&st, &s, &rows);
    assert_int_equal(n, 3);
    assert_null(s.revs);
    /* sorted by RPS: fast (100/s), slow (10/s), then the new one (no rate yet) */
    assert_string_equal(rows[0].revision, "fast-00001");
    NEAR(rows[0].rps, 100.0);
    NEAR(rows[0].p50_ms, 7.5);
    NEAR(rows[0].p95_ms, 9.75);
    assert_string_equal(rows[1].revision, "slow-00001");
    NEAR(rows[1].rps, 10.0);
    NEAR(rows[1].p50_ms, 1.5);
    assert_int_equal(rows[1].cold_1m, 1);
    assert_int_equal(rows[1].inflight, 2);
    assert_int_equal(rows[1].ready, 1);
    assert_int_equal(rows[1].desired, 3);
    assert_false(rows[1].fresh);
    assert_string_equal(rows[2].revision, "new-00001");
    assert_true(rows[2].fresh);
    assert_true(isnan(rows[2].p95_ms));

    knd_buf_t out;
    knd_buf_init(&out);
    knd_top_render_table(rows, n, false, "default", &out);
    const char *t = knd_buf_cstr(&out);
    const char *head = "SERVICE   REVISION     RPS     P50     P95     5XX/S   INFLIGHT   QUEUED"
                       "   READY   PANIC   COLD(1m)\n";
    assert_true(strncmp(t, head, strlen(head)) == 0);
    assert_non_null(strstr(t, "\nsvc       fast-00001   100.0   7.5ms   9.8ms   0.0     2 "));
    assert_non_null(strstr(t, "1/3"));
    assert_non_null(strstr(t, "new-00001    -       -       -       -"));
    assert_null(strstr(t, "default"));
    knd_buf_reset(&out);
    knd_top_render_table(rows, n, true, NULL, &out);
    assert_true(strncmp(knd_buf_cstr(&out), "NAMESPACE   SERVICE", 19) == 0);
    knd_buf_reset(&out);
    knd_top_render_json(12000, rows, n, &out);
    json_t *j = json_loads(knd_buf_cstr(&out), 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "time_ms")), 12000);
    json_t *r0 = json_array_get(json_object_get(j, "revisions"), 0);
    assert_string_equal(json_string_value(json_object_get(r0, "revision")), "fast-00001");
    NEAR(json_number_value(json_object_get(r0, "rps")), 100.0);
    NEAR(json_number_value(json_object_get(r0, "p50_ms")), 7.5);
    assert_true(json_is_false(json_object_get(r0, "panic")));
    assert_true(json_is_null(
        json_object_get(json_array_get(json_object_get(j, "revisions"), 2), "p50_ms")));
    json_decref(j);
    knd_buf_reset(&out);
    knd_top_render_table(rows, 0, false, "prod", &out);
    assert_string_equal(knd_buf_cstr(&out), "No revisions found in prod namespace.\n");
    knd_buf_free(&out);
    free(rows);

    /* 61 s after the cold start only the newer baseline counts; a revision that left is
     * forgotten. */
    d = test_doc(73000, REV("default", "slow-00001", 120, 2, "0,20," Z12, ""));
    assert_int_equal(knd_top_parse(d, NULL, &s, err), 0);
    json_decref(d);
    n = knd_top_state_update(&st, &s, &rows);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].cold_1m, 0);
    NEAR(rows[0].rps, 0.0);
    assert_true(isnan(rows[0].p50_ms)); /* no requests in the interval */
    assert_int_equal(st.nwins, 1);
    free(rows);
    knd_top_state_free(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rate),    cmocka_unit_test(test_hist_delta),
        cmocka_unit_test(test_quantile), cmocka_unit_test(test_window),
        cmocka_unit_test(test_parse),   cmocka_unit_test(test_state_two_polls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
