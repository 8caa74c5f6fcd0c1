/*
 * test_knd_scale_sim.c - `knd scale simulate`'s engine on examples/autoscaling (service.yaml,
 * trace.csv): the decisions SPEC a.3 and c.1 predict for that trace - panic on the 10x burst,
 * the instance count held while panicking, un-panic a stable window after the last
 * over-threshold tick, scale to zero right after the stable window (TBC 211: the activator is
 * already in the path) or a grace period later (TBC 0). Also the trace parser's errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "knd_json.h"
#include "knd_scale_sim.h"
#include "knd_yaml.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void example_params(knd_sim_config_t *c, double tbc)
{
    knd_doc_t *docs = NULL;
    size_t ndocs = 0;
    knd_err_t err = {0};
    assert_int_equal(knd_yaml_load_file("examples/autoscaling/service.yaml", &docs, &ndocs, &err), 0);
    knd_platform_t plat;
    knd_platform_init(&plat, NULL);
    plat.target_burst_capacity = tbc;
    const json_t *root = docs[0].root;
    knd_kpa_params(knd_json_path(root, "spec.template.metadata.annotations"),
                   (int)knd_json_int(root, "spec.template.spec.containerConcurrency", 0), &plat,
                   &c->params);
    knd_platform_free(&plat);
    knd_yaml_docs_free(docs, ndocs);
    c->startup_delay_ms = 1000;
}

static size_t run_example(double tbc, knd_sim_row_t **rows)
{
    knd_sim_config_t c = {0};
    example_params(&c, tbc);
    assert_true(c.params.target == 7 && c.params.total == 10);
    knd_sim_point_t *pts;
    size_t n;
    bool rps = true;
    knd_err_t err = {0};
    assert_int_equal(knd_sim_parse_trace(slurp("examples/autoscaling/trace.csv"), &pts, &n, &rps,
                                         &err), 0);
    assert_false(rps);
    assert_int_equal(n, 5);
    size_t nrows = knd_sim_run(&c, pts, n, rows);
    free(pts);
    return nrows;
}

static const knd_sim_row_t *at(const knd_sim_row_t *rows, size_t n, double t)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i].t_s == t)
            return &rows[i];
    fail_msg("no tick at %g", t);
    return NULL;
}

static void test_example_burst_and_scale_to_zero(void **state)
{
    (void)state;
    knd_sim_row_t *rows;
    size_t n = run_example(211, &rows);
    assert_int_equal(n, 121); /* t = 0, 2, ..., 240 */
    /* steady 5 in flight: one instance, no panic, activator in the path (10 - 211 - 5 < 0) */
    assert_int_equal(at(rows, n, 58)->desired, 1);
    assert_false(at(rows, n, 58)->panic);
    assert_int_equal(at(rows, n, 58)->excess_burst_capacity, -206);
    /* the 10x burst: 6 s panic window (5,5,5,5,5,50)/6 = 12.5 -> 2 pods for 1 ready: panic */
    assert_true(at(rows, n, 60)->observed_panic == 12.5);
    assert_true(at(rows, n, 60)->panic);
    assert_int_equal(at(rows, n, 60)->desired, 2);
    assert_int_equal(at(rows, n, 66)->desired, 8); /* ceil(50 / 7) */
    /* the load falls back, the count is held while panicking */
    assert_int_equal(at(rows, n, 104)->desired, 8);
    assert_true(at(rows, n, 122)->panic);
    /* last over-threshold tick at 62 s (ceil(27.5/7) = 4 for 2 ready): off after 122 s */
    assert_false(at(rows, n, 124)->panic);
    assert_int_equal(at(rows, n, 124)->desired, 4); /* max-scale-down-rate 2: 8 -> 4 */
    /* the stable window empties 60 s after the last request (99 s): zero right after */
    assert_true(at(rows, n, 158)->observed_stable > 0);
    assert_true(at(rows, n, 160)->observed_stable == 0);
    assert_int_equal(at(rows, n, 160)->desired, 1);
    assert_int_equal(at(rows, n, 162)->desired, 0);
    assert_int_equal(at(rows, n, 164)->ready, 0);
    /* max-scale 20 never reached, nothing below zero */
    for (size_t i = 0; i < n; i++)
        assert_true(rows[i].desired >= 0 && rows[i].desired <= 20);
    free(rows);
}

static void test_example_tbc_zero_waits_for_grace(void **state)
{
    (void)state;
    knd_sim_row_t *rows;
    size_t n = run_example(0, &rows);
    /* the activator joins only when the PA goes Inactive (160 s): zero a grace period later */
    assert_int_equal(at(rows, n, 160)->excess_burst_capacity, 0);
    assert_int_equal(at(rows, n, 188)->desired, 1);
    assert_int_equal(at(rows, n, 190)->desired, 0);
    free(rows);
}

static void test_poke_from_zero(void **state)
{
    (void)state;
    knd_sim_config_t c = {0};
    example_params(&c, 211);
    knd_sim_point_t pts[] = {{0, 0}, {101, 3}, {110, 3}};
    knd_sim_row_t *rows;
    size_t n = knd_sim_run(&c, pts, 3, &rows);
    /* scaled to zero by then; a request at 101 s (odd) pokes the decider at once */
    const knd_sim_row_t *r = at(rows, n, 101);
    assert_int_equal(r->desired, 1);
    assert_int_equal(at(rows, n, 100)->desired, 0);
    free(rows);
}

static void test_parse_trace_errors(void **state)
{
    (void)state;
    knd_sim_point_t *pts = NULL;
    size_t n = 0;
    bool rps = false;
    knd_err_t err = {0};
    assert_int_equal(knd_sim_parse_trace("t,c\n0,1\n", &pts, &n, &rps, &err), -1);
    assert_non_null(strstr(err.msg, "header"));
    assert_int_equal(knd_sim_parse_trace("t_seconds,rps\n0,1\n5,x\n", &pts, &n, &rps, &err), -1);
    assert_non_null(strstr(err.msg, "line 3"));
    assert_int_equal(knd_sim_parse_trace("t_seconds,rps\n5,1\n4,1\n", &pts, &n, &rps, &err), -1);
    assert_non_null(strstr(err.msg, "goes back"));
    assert_int_equal(knd_sim_parse_trace("t_seconds,rps\n", &pts, &n, &rps, &err), -1);
    assert_int_equal(knd_sim_parse_trace("# c\n\nt_seconds,rps\r\n0, 2.5\r\n", &pts, &n, &rps, &err),
                     0);
    assert_true(rps);
    assert_int_equal(n, 1);
    assert_true(pts[0].value == 2.5);
    free(pts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_burst_and_scale_to_zero),
        cmocka_unit_test(test_example_tbc_zero_waits_for_grace),
        cmocka_unit_test(test_poke_from_zero),
        cmocka_unit_test(test_parse_trace_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
