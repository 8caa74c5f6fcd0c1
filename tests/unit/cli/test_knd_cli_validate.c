/*
 * test_knd_cli_validate.c - the CLI pieces that need the real model: `validate` output lines
 * (FILE:LINE:COL: path: message, positions from the loader), kubectl resource names resolved
 * through the kind table, and `wait --for` parsing and condition checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "knd_cli.h"
#include "knd_yaml.h"

static const char test_bad[] =
    "apiVersion: serving.knative.dev/v1\n"
    "kind: Service\n"
    "metadata:\n"
    "  name: hello\n"
    "spec:\n"
    "  template:\n"
    "    spec:\n"
    "      containerConcurrency: 2000\n"
    "      containers:\n"
    "      - image: example.com/hello\n"
    "---\n"
    "apiVersion: serving.knative.dev/v1\n"
    "kind: Service\n"
    "metadata:\n"
    "  name: fine\n"
    "spec:\n"
    "  template:\n"
    "    spec:\n"
    "      containers:\n"
    "      - image: example.com/hello\n";

static void test_validate_lines(void **state)
{
    knd_cli_file_t f = {.path = "svc.yaml", .display = "svc.yaml"};
    knd_err_t err;
    knd_buf_t out;
    assert_int_equal(knd_yaml_load(test_bad, strlen(test_bad), "svc.yaml", &f.docs, &f.ndocs,
                                   &err),
                     0);
    assert_int_equal(f.ndocs, 2);
    knd_buf_init(&out);
    assert_int_equal(knd_cli_validate_file(&f, &out), 1);
    /* One line, located at the offending key (line 8, column 7). */
    assert_non_null(strstr(out.p, "svc.yaml:8:7: spec.template.spec.containerConcurrency: "));
    assert_non_null(strstr(out.p, "2000"));
    assert_int_equal(out.p[out.len - 1], '\n');
    assert_null(strchr(out.p, '\n') + 1 == out.p + out.len ? NULL : "more than one line");

    /* The valid document alone gives no output. */
    knd_cli_file_t good = {.path = "svc.yaml", .display = "svc.yaml", .docs = f.docs + 1,
                           .ndocs = 1};
    knd_buf_reset(&out);
    assert_int_equal(knd_cli_validate_file(&good, &out), 0);
    assert_int_equal(out.len, 0);
    knd_buf_free(&out);
    knd_yaml_docs_free(f.docs, f.ndocs);
}

static void test_kind_names(void **state)
{
    static const struct {
        const char *name;
        knd_kind_t kind;
    } cases[] = {{"ksvc", KND_KIND_SERVICE},         {"service", KND_KIND_SERVICE},
                 {"services", KND_KIND_SERVICE},     {"revision", KND_KIND_REVISION},
                 {"rev", KND_KIND_REVISION},         {"route", KND_KIND_ROUTE},
                 {"rt", KND_KIND_ROUTE},             {"configuration", KND_KIND_CONFIGURATION},
                 {"config", KND_KIND_CONFIGURATION}, {"cfg", KND_KIND_CONFIGURATION},
                 {"domainmapping", KND_KIND_DOMAINMAPPING}, {"dm", KND_KIND_DOMAINMAPPING},
                 {"configmap", KND_KIND_CONFIGMAP},  {"cm", KND_KIND_CONFIGMAP},
                 {"secret", KND_KIND_SECRET},        {"namespace", KND_KIND_NAMESPACE}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const knd_kind_info_t *info = knd_cli_kind(cases[i].name);
        if (info == NULL)
            fail_msg("no kind for %s", cases[i].name);
        assert_int_equal(info->kind, cases[i].kind);
    }
    assert_null(knd_cli_kind("pods"));
}

static void test_wait_for(void **state)
{
    knd_cli_wait_for_t w;
    assert_int_equal(knd_cli_wait_parse_for("condition=Ready", &w), 0);
    assert_false(w.is_delete);
    assert_string_equal(w.type, "Ready");
    assert_string_equal(w.status, "True");
    assert_int_equal(knd_cli_wait_parse_for("condition=Ready=False", &w), 0);
    assert_string_equal(w.status, "False");
    assert_int_equal(knd_cli_wait_parse_for("delete", &w), 0);
    assert_true(w.is_delete);
    assert_int_equal(knd_cli_wait_parse_for("condition=", &w), -1);
    assert_int_equal(knd_cli_wait_parse_for("condition=Ready=", &w), -1);
    assert_int_equal(knd_cli_wait_parse_for("ready", &w), -1);

    knd_cli_wait_parse_for("condition=Ready", &w);
    json_t *o = json_loads("{\"metadata\":{\"generation\":2},\"status\":{\"observedGeneration\":1,"
                           "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
                           0, NULL);
    assert_false(knd_cli_wait_condition_met(o, &w)); /* stale generation */
    json_object_set_new(json_object_get(o, "status"), "observedGeneration", json_integer(2));
    assert_true(knd_cli_wait_condition_met(o, &w));
    knd_cli_wait_parse_for("condition=Ready=false", &w);
    assert_false(knd_cli_wait_condition_met(o, &w));
    knd_cli_wait_parse_for("condition=RoutesReady", &w);
    assert_false(knd_cli_wait_condition_met(o, &w));
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate_lines),
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_wait_for),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
