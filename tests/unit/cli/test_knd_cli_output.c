/*
 * test_knd_cli_output.c - the CLI's pure parts: argv parsing, API paths, table rendering (column
 * widths, padding), per-kind `get` columns, YAML quoting and emission, kubectl names, ages and
 * validation error lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "knd_cli.h"
#include "knd_output.h"

static const knd_kind_info_t test_svc = {KND_KIND_SERVICE, "Service", "serving.knative.dev",
                                         "v1", "serving.knative.dev/v1", "services", "service",
                                         "kservice,ksvc", true};
static const knd_kind_info_t test_rev = {KND_KIND_REVISION, "Revision", "serving.knative.dev",
                                         "v1", "serving.knative.dev/v1", "revisions", "revision",
                                         "rev", true};
static const knd_kind_info_t test_cm = {KND_KIND_CONFIGMAP, "ConfigMap", "", "v1", "v1",
                                        "configmaps", "configmap", "cm", true};
static const knd_kind_info_t test_ns = {KND_KIND_NAMESPACE, "Namespace", "", "v1", "v1",
                                        "namespaces", "namespace", "ns", false};

/* ---- argv ------------------------------------------------------------------------------- */

enum { T_ALL = KND_CLI_F_VERB, T_OUT, T_FOLLOW };

static const knd_cli_flag_t test_flags[] = {KND_CLI_COMMON_FLAGS,
                                            {"all-namespaces", 'A', false, T_ALL},
                                            {"output", 'o', true, T_OUT},
                                            {"follow", 'f', false, T_FOLLOW},
                                            {NULL, 0, false, 0}};

static void test_args_mixed(void **state)
{
    char *argv[] = {"get", "ksvc", "-n", "prod", "hello", "--output=json", "-A", "-owide",
                    "--state-dir", "/tmp/s", "-", "--namespace", "x", "--", "-z", "--q"};
    knd_cli_args_t a;
    knd_cli_args_init(&a, 16, argv, 1, test_flags);
    assert_int_equal(knd_cli_args_next(&a), KND_CLI_ARG_POS);
    assert_string_equal(a.val, "ksvc");
    assert_int_equal(knd_cli_args_next(&a), KND_CLI_F_NAMESPACE);
    assert_string_equal(a.val, "prod");
    assert_int_equal(knd_cli_args_next(&a), KND_CLI_ARG_POS);
    assert_string_equal(a.val, "hello");
    assert_int_equal(knd_cli_args_next(&a), T_OUT);
    assert_string_equal(a.val, "json");
    assert_int_equal(knd_cli_args_next(&a), T_ALL);
    assert_null(a.val);
    assert_int_equal(knd_cli_args_next(&a), T_OUT);
    assert_string_equal(a.val, "wide");
    assert_int_equal(knd_cli_args_next(&a), KND_CLI_F_STATE_DIR);
    assert_string_equal(a.val, "/tmp/s");
    assert_int_equal(knd_cli_args_next(&a), KND_CLI_ARG_POS);
    assert_string_equal(a.val, "-");
    assert_int_equal(knd_cli_args_next(&a), KND_CLI_F_NAMESPACE);
    assert_string_equal(a.val, "x");
    assert_int_equal(knd_cli_args_next(&a), KND_CLI_ARG_DASHDASH);
    assert_int_equal(knd_cli_args_next(&a), KND_CLI_ARG_POS);
    assert_string_equal(a.val, "-z");
    assert_int_equal(knd_cli_args_next(&a), KND_CLI_ARG_POS);
    assert_string_equal(a.val, "--q");
    assert_int_equal(knd_cli_args_next(&a), KND_CLI_ARG_END);
}

static void test_args_errors(void **state)
{
    char *unknown[] = {"get", "--bogus"};
    char *missing[] = {"get", "-n"};
    char *boolval[] = {"get", "--all-namespaces=yes"};
    char *shortunk[] = {"get", "-x"};
    knd_cli_args_t a;
    knd_cli_args_init(&a, 2, unknown, 1, test_flags);
    assert_int_equal(knd_cli_args_next(&a), KND_CLI_ARG_ERR);
    assert_string_equal(a.err, "unknown flag: --bogus");
    knd_cli_args_init(&a, 2, missing, 1, test_flags);
    assert_int_equal(knd_cli_args_next(&a), KND_CLI_ARG_ERR);
    assert_string_equal(a.err, "flag needs an argument: -n");
    knd_cli_args_init(&a, 2, boolval, 1, test_flags);
    assert_int_equal(knd_cli_args_next(&a), KND_CLI_ARG_ERR);
    assert_non_null(strstr(a.err, "does not take a value"));
    knd_cli_args_init(&a, 2, shortunk, 1, test_flags);
    assert_int_equal(knd_cli_args_next(&a), KND_CLI_ARG_ERR);
    assert_non_null(strstr(a.err, "'x'"));
}

static void test_paths(void **state)
{
    knd_buf_t b;
    knd_buf_init(&b);
    knd_cli_path(&b, &test_svc, "prod", "hello");
    assert_string_equal(b.p, "/apis/serving.knative.dev/v1/namespaces/prod/services/hello");
    knd_buf_reset(&b);
    knd_cli_path(&b, &test_svc, NULL, NULL);
    assert_string_equal(b.p, "/apis/serving.knative.dev/v1/services");
    knd_buf_reset(&b);
    knd_cli_path(&b, &test_cm, "default", NULL);
    assert_string_equal(b.p, "/api/v1/namespaces/default/configmaps");
    knd_buf_reset(&b);
    knd_cli_path(&b, &test_ns, "ignored", "prod");
    assert_string_equal(b.p, "/api/v1/namespaces/prod");
    knd_buf_reset(&b);
    knd_cli_urlencode(&b, "ghcr.io/a/b:1.0 x");
    assert_string_equal(b.p, "ghcr.io%2Fa%2Fb%3A1.0%20x");
    knd_buf_free(&b);
}

/* ---- tables ----------------------------------------------------------------------------- */

static void test_table_widths(void **state)
{
    const char *h[] = {"NAME", "URL", "READY", "REASON"};
    const char *r1[] = {"hello", "http://hello.default.example.com", "True", ""};
    const char *r2[] = {"a-much-longer-name", "http://x", "False", "RevisionMissing"};
    knd_table_t t;
    knd_buf_t b;
    knd_table_init(&t, 4);
    knd_table_add(&t, h);
    knd_table_add(&t, r1);
    knd_table_add(&t, r2);
    knd_buf_init(&b);
    knd_table_render(&t, &b);
    assert_string_equal(b.p,
                        "NAME                 URL                                READY   REASON\n"
                        "hello                http://hello.default.example.com   True\n"
                        "a-much-longer-name   http://x                           False   "
                        "RevisionMissing\n");
    knd_buf_free(&b);
    knd_table_free(&t);
}

static void test_objects_table(void **state)
{
    json_t *items = json_loads(
        "[{\"metadata\":{\"name\":\"hello\",\"namespace\":\"default\","
        "\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
        "\"status\":{\"url\":\"http://hello.default.example.com\","
        "\"latestReadyRevisionName\":\"hello-00001\","
        "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}},"
        "{\"metadata\":{\"name\":\"b\",\"namespace\":\"prod\"},"
        "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\","
        "\"reason\":\"RevisionFailed\"}]}}]",
        0, NULL);
    knd_buf_t b;
    knd_buf_init(&b);
    time_t now = 1767225600 + 300; /* 2026-01-01T00:05:00Z */
    knd_output_objects_table(&test_svc, items, false, false, now, &b);
    assert_string_equal(b.p, "NAME    URL                                LATEST        READY   "
                             "REASON\n"
                             "hello   http://hello.default.example.com   hello-00001   True\n"
                             "b                                                        False   "
                             "RevisionFailed\n");
    knd_buf_reset(&b);
    knd_output_objects_table(&test_svc, items, true, true, now, &b);
    assert_string_equal(b.p, "NAMESPACE   NAME    URL                                LATEST        "
                             "READY   REASON           AGE\n"
                             "default     hello   http://hello.default.example.com   hello-00001   "
                             "True                     5m\n"
                             "prod        b                                                        "
                             "False   RevisionFailed   <unknown>\n");
    json_decref(items);

    items = json_loads("[{\"metadata\":{\"name\":\"hello-00001\",\"labels\":{"
                       "\"serving.knative.dev/configuration\":\"hello\","
                       "\"serving.knative.dev/configurationGeneration\":\"1\"}},"
                       "\"status\":{\"actualReplicas\":2,\"desiredReplicas\":3,\"conditions\":"
                       "[{\"type\":\"Ready\",\"status\":\"True\"}]}}]",
                       0, NULL);
    knd_buf_reset(&b);
    knd_output_objects_table(&test_rev, items, false, false, now, &b);
    assert_string_equal(b.p, "NAME          CONFIG NAME   GENERATION   READY   REASON   "
                             "ACTUAL REPLICAS   DESIRED REPLICAS\n"
                             "hello-00001   hello         1            True             2"
                             "                 3\n");
    json_decref(items);

    items = json_loads("[{\"metadata\":{\"name\":\"cfg\",\"creationTimestamp\":"
                       "\"2026-01-01T00:04:00Z\"},\"data\":{\"a\":\"1\",\"b\":\"2\"}}]",
                       0, NULL);
    knd_buf_reset(&b);
    knd_output_objects_table(&test_cm, items, false, false, now, &b);
    assert_string_equal(b.p, "NAME   DATA   AGE\ncfg    2      60s\n");
    json_decref(items);
    knd_buf_free(&b);
}

/* ---- YAML and JSON ---------------------------------------------------------------------- */

static void test_yaml_needs_quotes(void **state)
{
    const char *quoted[] = {"", "true", "False", "yes", "NO", "on", "Off", "y", "N", "null",
                            "~", "1", "-1", "0x1F", "0o17", "1e3", ".5", "08", "1_000",
                            "2026-01-01", "1.5", ".inf", ".NaN", "<<"};
    const char *plain[] = {"hello", "hello-00001", "serving.knative.dev/v1", "x1", "nope",
                           "True-ish", "http://a.b"};
    for (size_t i = 0; i < sizeof(quoted) / sizeof(quoted[0]); i++)
        assert_true(knd_output_yaml_needs_quotes(quoted[i]));
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        assert_false(knd_output_yaml_needs_quotes(plain[i]));
}

static void test_yaml_emit(void **state)
{
    json_t *v = json_loads("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
                           "{\"name\":\"c\",\"labels\":{}},\"data\":{\"port\":\"8080\","
                           "\"on\":\"yes\",\"empty\":\"\",\"text\":\"a\\nb\\n\"},"
                           "\"n\":3,\"r\":2.0,\"f\":0.1,\"b\":true,\"z\":null,"
                           "\"list\":[\"a\",{\"k\":\"v\"}],\"none\":[]}",
                           0, NULL);
    knd_buf_t b;
    knd_buf_init(&b);
    knd_output_yaml(v, &b);
    assert_string_equal(b.p, "apiVersion: v1\n"
                             "kind: ConfigMap\n"
                             "metadata:\n"
                             "  name: c\n"
                             "  labels: {}\n"
                             "data:\n"
                             "  port: '8080'\n"
                             "  'on': 'yes'\n"
                             "  empty: ''\n"
                             "  text: |\n"
                             "    a\n"
                             "    b\n"
                             "'n': 3\n"
                             "r: 2.0\n"
                             "f: 0.1\n"
                             "b: true\n"
                             "z: null\n"
                             "list:\n"
                             "- a\n"
                             "- k: v\n"
                             "none: []\n");
    knd_buf_reset(&b);
    knd_output_json(v, &b);
    assert_non_null(strstr(b.p, "{\n    \"apiVersion\": \"v1\",\n"));
    assert_int_equal(b.p[b.len - 1], '\n');
    knd_buf_free(&b);
    json_decref(v);
}

/* ---- names, ages, error lines ----------------------------------------------------------- */

static void test_names(void **state)
{
    knd_buf_t b;
    knd_buf_init(&b);
    knd_output_name(&b, &test_svc, "hello");
    assert_string_equal(b.p, "service.serving.knative.dev/hello");
    knd_buf_reset(&b);
    knd_output_name(&b, &test_cm, "x");
    assert_string_equal(b.p, "configmap/x");
    knd_buf_reset(&b);
    knd_output_kind_ref(&b, &test_ns);
    assert_string_equal(b.p, "namespace");
    knd_buf_reset(&b);
    knd_output_resource_ref(&b, &test_svc);
    assert_string_equal(b.p, "services.serving.knative.dev");
    knd_buf_reset(&b);
    knd_output_resource_ref(&b, &test_cm);
    assert_string_equal(b.p, "configmaps");
    knd_buf_free(&b);
}

static void test_human_duration(void **state)
{
    static const struct {
        int64_t s;
        const char *want;
    } cases[] = {{-5, "<invalid>"}, {-1, "0s"}, {0, "0s"}, {119, "119s"}, {120, "2m"},
                 {150, "2m30s"}, {599, "9m59s"}, {600, "10m"}, {179 * 60 + 59, "179m"},
                 {3 * 3600, "3h"}, {3 * 3600 + 300, "3h5m"}, {9 * 3600 + 300, "9h"},
                 {47 * 3600, "47h"}, {50 * 3600, "2d2h"}, {72 * 3600, "3d"},
                 {8 * 86400 + 3600, "8d"}, {800 * 86400LL, "2y70d"}, {730 * 86400LL, "2y"},
                 {9 * 365 * 86400LL, "9y"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[32];
        knd_output_human_duration(cases[i].s, out);
        assert_string_equal(out, cases[i].want);
    }
}

static void test_age(void **state)
{
    time_t t;
    char out[32];
    assert_int_equal(knd_output_parse_time("2026-01-01T00:00:00Z", &t), 0);
    assert_int_equal((long long)t, 1767225600LL);
    assert_int_equal(knd_output_parse_time("2026-01-01T02:00:00.123+02:00", &t), 0);
    assert_int_equal((long long)t, 1767225600LL);
    assert_int_equal(knd_output_parse_time("2026-01-01", &t), -1);
    assert_int_equal(knd_output_parse_time("2026-01-01T00:00:00Zjunk", &t), -1);
    knd_output_age("2026-01-01T00:00:00Z", 1767225600 + 3 * 86400 + 4 * 3600, out);
    assert_string_equal(out, "3d4h");
    knd_output_age(NULL, 0, out);
    assert_string_equal(out, "<unknown>");
}

static void test_field_error_line(void **state)
{
    knd_buf_t b;
    knd_buf_init(&b);
    knd_output_field_error(&b, "svc.yaml", 12, 7, "spec.template.spec.containerConcurrency",
                           "expected 0 <= 2000 <= 1000");
    knd_output_field_error(&b, "svc.yaml", 1, 1, "", "unsupported kind");
    knd_output_field_error(&b, "STDIN", 3, 2, NULL, "x");
    assert_string_equal(b.p, "svc.yaml:12:7: spec.template.spec.containerConcurrency: expected 0 "
                             "<= 2000 <= 1000\nsvc.yaml:1:1: unsupported kind\nSTDIN:3:2: x\n");
    knd_buf_free(&b);
}

static void test_condition_label(void **state)
{
    json_t *o = json_loads("{\"metadata\":{\"labels\":{\"a.b/c\":\"d\"}},\"status\":{"
                           "\"conditions\":[{\"type\":\"A\"},{\"type\":\"Ready\",\"status\":"
                           "\"True\"}]}}",
                           0, NULL);
    assert_string_equal(knd_output_label(o, "a.b/c", ""), "d");
    assert_string_equal(knd_output_label(o, "x", "def"), "def");
    const json_t *c = knd_output_condition(o, "Ready");
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "status")), "True");
    assert_null(knd_output_condition(o, "Missing"));
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_args_mixed),      cmocka_unit_test(test_args_errors),
        cmocka_unit_test(test_paths),           cmocka_unit_test(test_table_widths),
        cmocka_unit_test(test_objects_table),   cmocka_unit_test(test_yaml_needs_quotes),
        cmocka_unit_test(test_yaml_emit),       cmocka_unit_test(test_names),
        cmocka_unit_test(test_human_duration),  cmocka_unit_test(test_age),
        cmocka_unit_test(test_field_error_line), cmocka_unit_test(test_condition_label),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
