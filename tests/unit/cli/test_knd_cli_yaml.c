/*
 * test_knd_cli_yaml.c - `-o yaml` output reads back through the manifest loader as the same JSON:
 * strings that look like other types stay strings, numbers stay numbers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "knd_err.h"
#include "knd_output.h"
#include "knd_yaml.h"

static void test_roundtrip_one(const char *json_text)
{
    json_error_t jerr;
    json_t *v = json_loads(json_text, 0, &jerr);
    assert_non_null(v);
    knd_buf_t b;
    knd_doc_t *docs = NULL;
    size_t ndocs = 0;
    knd_err_t err;
    knd_buf_init(&b);
    knd_output_yaml(v, &b);
    if (knd_yaml_load(b.p, b.len, "out.yaml", &docs, &ndocs, &err) != 0)
        fail_msg("reload failed: %s\n%s", err.msg, b.p);
    assert_int_equal(ndocs, 1);
    if (!json_equal(v, docs[0].root)) {
        char *got = json_dumps(docs[0].root, JSON_SORT_KEYS);
        fail_msg("round trip differs:\n%s\ngot %s", b.p, got);
    }
    knd_yaml_docs_free(docs, ndocs);
    knd_buf_free(&b);
    json_decref(v);
}

static void test_roundtrip_scalars(void **state)
{
    test_roundtrip_one(
        "{\"s\":[\"true\",\"False\",\"yes\",\"No\",\"on\",\"OFF\",\"y\",\"n\",\"null\",\"~\",\"\","
        "\"1\",\"-1\",\"0x1F\",\"0o17\",\"017\",\"1e3\",\".5\",\"08\",\"1_000\",\"2026-01-01\","
        "\"1.5\",\".inf\",\".nan\",\"a: b\",\"- x\",\"#c\",\" lead\",\"trail \",\"multi\\nline\\n\","
        "\"no-newline\\nend\",\"tab\\tx\",\"\\u00fcni\",\"'q'\",\"\\\"dq\\\"\",\"@at\",\"`bt\","
        "\"%pc\",\"!bang\",\"&amp\",\"*star\",\"{b}\",\"[b]\",\"a,b\",\"?\",\":\",\"|\",\">\"],"
        "\"n\":[0,-7,9223372036854775807,1.5,2.0,-0.25,1e-7],\"b\":[true,false],\"z\":null}");
}

static void test_roundtrip_object(void **state)
{
    test_roundtrip_one(
        "{\"apiVersion\":\"serving.knative.dev/v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
        "\"hello\",\"annotations\":{\"autoscaling.knative.dev/min-scale\":\"1\"},\"labels\":{}},"
        "\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"image\":\"ghcr.io/x/y:1.0\","
        "\"env\":[{\"name\":\"TARGET\",\"value\":\"8080\"}],\"args\":[]}]}},\"traffic\":"
        "[{\"percent\":100,\"latestRevision\":true}]},\"status\":{\"conditions\":[{\"type\":"
        "\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"}]}}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_scalars),
        cmocka_unit_test(test_roundtrip_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
