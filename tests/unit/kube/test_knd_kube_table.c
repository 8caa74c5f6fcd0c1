/*
 * test_knd_kube_table.c - Table documents for kubectl (shared/kubernetes-api.md §6): the
 * columns and cells of every kind, includeObject, the Accept header, and HumanDuration against
 * apimachinery's own duration_test.go table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "knd_json.h"
#include "knd_kube_table.h"
#include "knd_model.h"

/* 2026-11-26T19:26:14Z, the creationTimestamp of the fixtures below. */
#define T0 1795721174LL

static json_t *knd_test_load(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, 0, &err);
    if (v == NULL)
        fail_msg("bad fixture JSON at %d: %s", err.position, err.text);
    return v;
}

/* The table for one object given as JSON text. */
static json_t *knd_test_table1(knd_kind_t kind, const char *obj_text, knd_kube_include_t inc,
                               int64_t now_s)
{
    json_t *objs = json_pack("[o]", knd_test_load(obj_text));
    json_t *t = knd_kube_table(knd_kind_info(kind), objs, inc, "115", now_s, true);
    json_decref(objs);
    return t;
}

static void knd_test_assert_json(const json_t *got, const char *want_text)
{
    json_t *want = knd_test_load(want_text);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
        print_error("got:  %s\nwant: %s\n", g, w);
        free(g);
        free(w);
        json_decref(want);
        fail();
    }
    json_decref(want);
}

/* Column names joined with '|', and the format and priority of each, in order. */
static void knd_test_assert_columns(const json_t *table, const char *want_names)
{
    char buf[512] = "";
    const json_t *defs = json_object_get(table, "columnDefinitions"), *d;
    size_t i;
    assert_true(json_is_array(defs));
    json_array_foreach(defs, i, d) {
        if (i > 0)
            strcat(buf, "|");
        strcat(buf, knd_json_str(d, "name", "?"));
        assert_non_null(json_object_get(d, "type"));
        assert_non_null(json_object_get(d, "description"));
    }
    assert_string_equal(buf, want_names);
    const json_t *first = json_array_get(defs, 0);
    if (strcmp(knd_json_str(first, "name", ""), "Name") == 0) {
        assert_string_equal(knd_json_str(first, "format", ""), "name");
        assert_true(strncmp(knd_json_str(first, "description", ""),
                            "Name must be unique within a namespace.", 39) == 0);
    }
}

static const json_t *knd_test_cells(const json_t *table, size_t row)
{
    return json_object_get(json_array_get(json_object_get(table, "rows"), row), "cells");
}

/* ---- HumanDuration ---- */

/* duration_test.go TestHumanDuration and TestHumanDurationBoundaries, in whole seconds: Go
 * truncates d.Seconds() toward zero, so "X - 1ms" is X-1 seconds here. */
static void test_human_duration_apimachinery_table(void **state)
{
    const int64_t m = 60, h = 3600, d = 86400, y = 365 * 86400;
    struct {
        int64_t s;
        const char *want;
    } cases[] = {
        {1, "1s"},
        {70, "70s"},
        {190, "3m10s"},
        {70 * m, "70m"},
        {47 * h, "47h"},
        {49 * h, "2d1h"},
        {(8 * 24 + 2) * h, "8d"},
        {367 * d, "367d"},
        {(365 * 2 * 24 + 25) * h, "2y1d"},
        {(365 * 8 * 24 + 2) * h, "8y"},
        {-2, "<invalid>"},
        {-1, "0s"}, /* -2s + 1ns */
        {0, "0s"},
        {2 * m - 1, "119s"},
        {2 * m, "2m"},
        {2 * m + 1, "2m1s"},
        {10 * m - 1, "9m59s"},
        {10 * m, "10m"},
        {10 * m + 1, "10m"},
        {3 * h - 1, "179m"},
        {3 * h, "3h"},
        {3 * h + m, "3h1m"},
        {8 * h - 1, "7h59m"},
        {8 * h, "8h"},
        {8 * h + 59 * m, "8h"},
        {2 * d - 1, "47h"},
        {2 * d, "2d"},
        {2 * d + h, "2d1h"},
        {8 * d - 1, "7d23h"},
        {8 * d, "8d"},
        {8 * d + 23 * h, "8d"},
        {2 * y - 1, "729d"},
        {2 * y, "2y"},
        {2 * y + 23 * h, "2y"},
        {2 * y + 23 * h + 59 * m, "2y"},
        {2 * y + d - 1, "2y"},
        {2 * y + d, "2y1d"},
        {3 * y, "3y"},
        {4 * y, "4y"},
        {5 * y, "5y"},
        {6 * y, "6y"},
        {7 * y, "7y"},
        {8 * y - 1, "7y364d"},
        {8 * y, "8y"},
        {8 * y + 364 * d, "8y"},
        {9 * y, "9y"},
        {-1000000, "<invalid>"},
    };
    char buf[32];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        knd_kube_human_duration(cases[i].s, buf, sizeof(buf));
        if (strcmp(buf, cases[i].want) != 0)
            fail_msg("HumanDuration(%llds) = %s, want %s", (long long)cases[i].s, buf,
                     cases[i].want);
    }
}

/* ---- Accept and includeObject ---- */

static void test_accept_table(void **state)
{
    /* What kubectl 1.32 sends for get. */
    assert_true(knd_kube_accept_table("application/json;as=Table;v=v1;g=meta.k8s.io,application/"
                                      "json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"));
    assert_true(knd_kube_accept_table("application/json;as=Table;v=v1beta1;g=meta.k8s.io"));
    assert_true(knd_kube_accept_table("application/json ; g = meta.k8s.io ;as=Table;v=v1"));
    assert_true(knd_kube_accept_table("application/yaml, application/json;AS=Table;G=meta.k8s.io"));
    assert_true(knd_kube_accept_table("application/json;as=\"Table\";g=\"meta.k8s.io\";v=v1"));
    /* Negatives. */
    assert_false(knd_kube_accept_table(NULL));
    assert_false(knd_kube_accept_table(""));
    assert_false(knd_kube_accept_table("application/json"));
    assert_false(knd_kube_accept_table("application/json, */*"));
    assert_false(knd_kube_accept_table("application/json;as=Table"));
    assert_false(knd_kube_accept_table("application/json;g=meta.k8s.io;v=v1"));
    assert_false(knd_kube_accept_table("application/json;as=table;g=meta.k8s.io"));
    assert_false(knd_kube_accept_table("application/json;as=Tables;g=meta.k8s.io"));
    assert_false(knd_kube_accept_table("application/json;as=Table;g=meta.k8s.io.x"));
    /* as and g must be on one media range. */
    assert_false(knd_kube_accept_table("application/json;as=Table,application/json;g=meta.k8s.io"));
    assert_false(knd_kube_accept_table(
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"));
    /* A parameter name that merely ends in "as". */
    assert_false(knd_kube_accept_table("application/json;xas=Table;g=meta.k8s.io"));
    /* The version filter of knd_kube_accept_match. */
    assert_true(knd_kube_accept_match("application/json;as=Table;v=v1;g=meta.k8s.io", "Table",
                                      "meta.k8s.io", "v1"));
    assert_false(knd_kube_accept_match("application/json;as=Table;v=v1beta1;g=meta.k8s.io", "Table",
                                       "meta.k8s.io", "v1"));
}

static void test_include_parse(void **state)
{
    assert_int_equal(knd_kube_include_parse(NULL), KND_KUBE_INCLUDE_METADATA);
    assert_int_equal(knd_kube_include_parse("Metadata"), KND_KUBE_INCLUDE_METADATA);
    assert_int_equal(knd_kube_include_parse("Object"), KND_KUBE_INCLUDE_OBJECT);
    assert_int_equal(knd_kube_include_parse("None"), KND_KUBE_INCLUDE_NONE);
    assert_int_equal(knd_kube_include_parse("bogus"), KND_KUBE_INCLUDE_METADATA);
}

/* ---- Knative kinds ---- */

static const char *const knd_test_ready_service =
    "{\"apiVersion\":\"serving.knative.dev/v1\",\"kind\":\"Service\","
    "\"metadata\":{\"name\":\"hello\",\"namespace\":\"default\",\"uid\":\"u-1\","
    "\"resourceVersion\":\"115\",\"generation\":2,\"creationTimestamp\":\"2026-11-26T19:26:14Z\","
    "\"labels\":{\"app\":\"web\"},\"annotations\":{\"a\":\"b\"}},"
    "\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"image\":\"img\"}]}}},"
    "\"status\":{\"url\":\"http://hello.default.example.com\","
    "\"latestCreatedRevisionName\":\"hello-00002\",\"latestReadyRevisionName\":\"hello-00002\","
    "\"observedGeneration\":2,\"conditions\":["
    "{\"type\":\"ConfigurationsReady\",\"status\":\"False\",\"reason\":\"Other\"},"
    "{\"type\":\"Ready\",\"status\":\"True\"},"
    "{\"type\":\"RoutesReady\",\"status\":\"True\"}]}}";

static void test_service_ready(void **state)
{
    json_t *t = knd_test_table1(KND_KIND_SERVICE, knd_test_ready_service, KND_KUBE_INCLUDE_METADATA,
                                T0 + 300);
    assert_string_equal(knd_json_str(t, "kind", ""), "Table");
    assert_string_equal(knd_json_str(t, "apiVersion", ""), "meta.k8s.io/v1");
    assert_string_equal(knd_json_str(t, "metadata.resourceVersion", ""), "115");
    knd_test_assert_columns(t, "Name|URL|LatestCreated|LatestReady|Ready|Reason");
    knd_test_assert_json(json_array_get(json_object_get(t, "columnDefinitions"), 1),
                         "{\"name\":\"URL\",\"type\":\"string\",\"format\":\"\",\"priority\":0,"
                         "\"description\":\"Custom resource definition column (in JSONPath "
                         "format): .status.url\"}");
    knd_test_assert_json(knd_test_cells(t, 0),
                         "[\"hello\",\"http://hello.default.example.com\",\"hello-00002\","
                         "\"hello-00002\",\"True\",null]");
    knd_test_assert_json(
        json_object_get(json_array_get(json_object_get(t, "rows"), 0), "object"),
        "{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":\"meta.k8s.io/v1\","
        "\"metadata\":{\"name\":\"hello\",\"namespace\":\"default\",\"uid\":\"u-1\","
        "\"resourceVersion\":\"115\",\"generation\":2,"
        "\"creationTimestamp\":\"2026-11-26T19:26:14Z\",\"labels\":{\"app\":\"web\"},"
        "\"annotations\":{\"a\":\"b\"}}}");
    json_decref(t);
}

static void test_service_fresh_has_null_cells(void **state)
{
    json_t *t = knd_test_table1(KND_KIND_SERVICE,
                                "{\"metadata\":{\"name\":\"new\",\"namespace\":\"default\"}}",
                                KND_KUBE_INCLUDE_METADATA, T0);
    knd_test_assert_json(knd_test_cells(t, 0), "[\"new\",null,null,null,null,null]");
    json_decref(t);
}

#define KND_TEST_REVISION_FMT                                                                     \
    "{\"apiVersion\":\"serving.knative.dev/v1\",\"kind\":\"Revision\"," \
    "\"metadata\":{\"name\":\"hello-00003\",\"namespace\":\"default\"," \
    "\"creationTimestamp\":\"2026-11-26T19:26:14Z\",\"labels\":{" \
    "\"serving.knative.dev/configuration\":\"hello\"," \
    "\"serving.knative.dev/configurationGeneration\":\"3\"}}," \
    "\"status\":{%s\"conditions\":[{\"type\":\"Active\",\"status\":\"False\"}," \
    "{\"type\":\"Ready\",\"status\":\"%s\"%s}]}}"

static json_t *knd_test_revision(const char *replicas, const char *status, const char *reason)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), KND_TEST_REVISION_FMT, replicas, status, reason);
    return knd_test_table1(KND_KIND_REVISION, buf, KND_KUBE_INCLUDE_METADATA, T0);
}

static void test_revision_columns_and_reasons(void **state)
{
    json_t *t = knd_test_revision("", "Unknown", "");
    knd_test_assert_columns(
        t, "Name|Config Name|Generation|Ready|Reason|Actual Replicas|Desired Replicas");
    const json_t *defs = json_object_get(t, "columnDefinitions");
    assert_string_equal(knd_json_str(json_array_get(defs, 2), "type", ""), "string");
    assert_string_equal(knd_json_str(json_array_get(defs, 5), "type", ""), "integer");
    assert_string_equal(knd_json_str(json_array_get(defs, 6), "type", ""), "integer");
    assert_string_equal(knd_json_str(json_array_get(defs, 1), "description", ""),
                        "Custom resource definition column (in JSONPath format): "
                        ".metadata.labels['serving\\.knative\\.dev/configuration']");
    /* Not ready, no reason yet: a null Reason; no replica counts yet: null integers. */
    knd_test_assert_json(knd_test_cells(t, 0),
                         "[\"hello-00003\",\"hello\",\"3\",\"Unknown\",null,null,null]");
    json_decref(t);

    t = knd_test_revision("\"actualReplicas\":0,\"desiredReplicas\":1,", "False",
                          ",\"reason\":\"ContainerMissing\",\"message\":\"x\"");
    knd_test_assert_json(knd_test_cells(t, 0), "[\"hello-00003\",\"hello\",\"3\",\"False\","
                                                "\"ContainerMissing\",0,1]");
    json_decref(t);

    /* A string where an integer is due gives a null cell, as the convertor does. */
    t = knd_test_revision("\"actualReplicas\":\"2\",\"desiredReplicas\":2.0,", "True", "");
    knd_test_assert_json(knd_test_cells(t, 0),
                         "[\"hello-00003\",\"hello\",\"3\",\"True\",null,null,2]");
    json_decref(t);
}

static void test_configuration_route_domainmapping(void **state)
{
    const char *obj = "{\"metadata\":{\"name\":\"x\"},\"status\":{\"url\":\"http://x.d.example\","
                      "\"latestCreatedRevisionName\":\"x-00001\",\"conditions\":["
                      "{\"type\":\"Ready\",\"status\":\"False\",\"reason\":\"RevisionFailed\"}]}}";
    json_t *t = knd_test_table1(KND_KIND_CONFIGURATION, obj, KND_KUBE_INCLUDE_NONE, T0);
    knd_test_assert_columns(t, "Name|LatestCreated|LatestReady|Ready|Reason");
    knd_test_assert_json(knd_test_cells(t, 0),
                         "[\"x\",\"x-00001\",null,\"False\",\"RevisionFailed\"]");
    json_decref(t);
    t = knd_test_table1(KND_KIND_ROUTE, obj, KND_KUBE_INCLUDE_NONE, T0);
    knd_test_assert_columns(t, "Name|URL|Ready|Reason");
    knd_test_assert_json(knd_test_cells(t, 0),
                         "[\"x\",\"http://x.d.example\",\"False\",\"RevisionFailed\"]");
    json_decref(t);
    t = knd_test_table1(KND_KIND_DOMAINMAPPING, obj, KND_KUBE_INCLUDE_NONE, T0);
    knd_test_assert_columns(t, "Name|URL|Ready|Reason");
    json_decref(t);
}

/* ---- Core kinds ---- */

static void test_namespace(void **state)
{
    json_t *t = knd_test_table1(
        KND_KIND_NAMESPACE,
        "{\"metadata\":{\"name\":\"default\",\"creationTimestamp\":\"2026-11-26T19:26:14Z\"},"
        "\"status\":{\"phase\":\"Active\"}}",
        KND_KUBE_INCLUDE_METADATA, T0 + 13 * 86400 + 5);
    knd_test_assert_columns(t, "Name|Status|Age");
    knd_test_assert_json(knd_test_cells(t, 0), "[\"default\",\"Active\",\"13d\"]");
    json_decref(t);
    t = knd_test_table1(KND_KIND_NAMESPACE,
                        "{\"metadata\":{\"name\":\"demo\",\"creationTimestamp\":\"2026-11-26T19:26:"
                        "14.75+01:00\"},\"status\":{\"phase\":\"Terminating\"}}",
                        KND_KUBE_INCLUDE_METADATA, T0 - 3600 + 21);
    knd_test_assert_json(knd_test_cells(t, 0), "[\"demo\",\"Terminating\",\"20s\"]");
    json_decref(t);
    /* No status: Active; no or bad creationTimestamp: Go's zero time, "<unknown>". */
    t = knd_test_table1(KND_KIND_NAMESPACE,
                        "{\"metadata\":{\"name\":\"n\",\"creationTimestamp\":\"yesterday\"}}",
                        KND_KUBE_INCLUDE_METADATA, T0);
    knd_test_assert_json(knd_test_cells(t, 0), "[\"n\",\"Active\",\"<unknown>\"]");
    json_decref(t);
}

static void test_configmap_and_secret(void **state)
{
    json_t *t = knd_test_table1(
        KND_KIND_CONFIGMAP,
        "{\"metadata\":{\"name\":\"c\",\"creationTimestamp\":\"2026-11-26T19:26:14Z\"},"
        "\"data\":{\"a\":\"1\",\"b\":\"2\"},\"binaryData\":{\"c\":\"AA==\"}}",
        KND_KUBE_INCLUDE_METADATA, T0 + 190);
    knd_test_assert_columns(t, "Name|Data|Age");
    knd_test_assert_json(knd_test_cells(t, 0), "[\"c\",3,\"3m10s\"]");
    json_decref(t);
    t = knd_test_table1(KND_KIND_CONFIGMAP, "{\"metadata\":{\"name\":\"e\"}}",
                        KND_KUBE_INCLUDE_METADATA, T0);
    knd_test_assert_json(knd_test_cells(t, 0), "[\"e\",0,\"<unknown>\"]");
    json_decref(t);

    t = knd_test_table1(
        KND_KIND_SECRET,
        "{\"metadata\":{\"name\":\"s\",\"creationTimestamp\":\"2026-11-26T19:26:14Z\"},"
        "\"type\":\"kubernetes.io/dockerconfigjson\",\"data\":{\".dockerconfigjson\":\"e30=\"}}",
        KND_KUBE_INCLUDE_METADATA, T0 + 49 * 3600);
    knd_test_assert_columns(t, "Name|Type|Data|Age");
    knd_test_assert_json(knd_test_cells(t, 0),
                         "[\"s\",\"kubernetes.io/dockerconfigjson\",1,\"2d1h\"]");
    json_decref(t);
    t = knd_test_table1(KND_KIND_SECRET, "{\"metadata\":{\"name\":\"o\"}}",
                        KND_KUBE_INCLUDE_METADATA, T0);
    knd_test_assert_json(knd_test_cells(t, 0), "[\"o\",\"Opaque\",0,\"<unknown>\"]");
    json_decref(t);
}

static void test_events(void **state)
{
    json_t *objs = json_pack(
        "[o,o]",
        knd_test_load("{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":"
                      "\"hello.17f\",\"namespace\":\"default\"},\"involvedObject\":{\"kind\":"
                      "\"Service\",\"name\":\"hello\",\"fieldPath\":\"spec\"},\"type\":\"Warning\","
                      "\"reason\":\"InternalError\",\"message\":\"  boom\\n\","
                      "\"firstTimestamp\":\"2026-11-26T19:26:14Z\","
                      "\"lastTimestamp\":\"2026-11-26T19:31:14Z\",\"count\":4,"
                      "\"source\":{\"component\":\"knd\",\"host\":\"box\"}}"),
        knd_test_load("{\"metadata\":{\"name\":\"e2\"},\"involvedObject\":{\"kind\":\"Namespace\"},"
                      "\"eventTime\":\"2026-11-26T19:26:14.123456Z\",\"type\":\"Normal\","
                      "\"reason\":\"Created\",\"message\":\"ok\","
                      "\"reportingComponent\":\"knd-controller\"}"));
    json_t *t = knd_kube_table(knd_kube_event_kind(), objs, KND_KUBE_INCLUDE_NONE, NULL, T0 + 600,
                               true);
    knd_test_assert_columns(t, "Last Seen|Type|Reason|Object|Subobject|Source|Message|First "
                               "Seen|Count|Name");
    const json_t *defs = json_object_get(t, "columnDefinitions");
    const int want_prio[] = {0, 0, 0, 0, 1, 1, 0, 1, 1, 1};
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(knd_json_int(json_array_get(defs, i), "priority", -1), want_prio[i]);
    assert_string_equal(knd_json_str(json_array_get(defs, 9), "format", ""), "name");
    knd_test_assert_json(knd_test_cells(t, 0),
                         "[\"5m\",\"Warning\",\"InternalError\",\"service/hello\",\"spec\","
                         "\"knd, box\",\"boom\",\"10m\",4,\"hello.17f\"]");
    /* No first/last timestamps: eventTime (599.88s ago, truncated) for both; no count: 1; no
     * involved name: the kind alone. */
    knd_test_assert_json(knd_test_cells(t, 1),
                         "[\"9m59s\",\"Normal\",\"Created\",\"namespace\",\"\",\"knd-controller\","
                         "\"ok\",\"9m59s\",1,\"e2\"]");
    assert_null(json_object_get(json_array_get(json_object_get(t, "rows"), 0), "object"));
    assert_null(knd_json_path(t, "metadata.resourceVersion"));
    assert_true(json_is_object(json_object_get(t, "metadata")));
    json_decref(t);
    json_decref(objs);
}

/* ---- Include modes and watch tables ---- */

static void test_include_object_and_without_columns(void **state)
{
    json_t *obj = knd_test_load(knd_test_ready_service);
    json_t *objs = json_pack("[O]", obj);
    json_t *t = knd_kube_table(knd_kind_info(KND_KIND_SERVICE), objs, KND_KUBE_INCLUDE_OBJECT, "7",
                               T0, false);
    assert_null(json_object_get(t, "columnDefinitions"));
    assert_int_equal(json_array_size(json_object_get(t, "rows")), 1);
    assert_true(json_equal(json_object_get(json_array_get(json_object_get(t, "rows"), 0), "object"),
                           obj));
    /* The rows are copies: the caller's objects stay untouched and may go away. */
    json_decref(objs);
    json_decref(obj);
    assert_string_equal(knd_json_str(t, "metadata.resourceVersion", ""), "7");
    json_decref(t);

    /* An empty list still has rows (kubectl prints "No resources found"). */
    objs = json_array();
    t = knd_kube_table(knd_kind_info(KND_KIND_SECRET), objs, KND_KUBE_INCLUDE_METADATA, "9", T0,
                       true);
    assert_true(json_is_array(json_object_get(t, "rows")));
    assert_int_equal(json_array_size(json_object_get(t, "rows")), 0);
    knd_test_assert_columns(t, "Name|Type|Data|Age");
    json_decref(t);
    json_decref(objs);
}

static void test_event_kind(void **state)
{
    const knd_kind_info_t *ev = knd_kube_event_kind();
    assert_string_equal(ev->kind_name, "Event");
    assert_string_equal(ev->api_version, "v1");
    assert_string_equal(ev->resource, "events");
    assert_string_equal(ev->short_names, "ev");
    assert_true(ev->namespaced);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_human_duration_apimachinery_table),
        cmocka_unit_test(test_accept_table),
        cmocka_unit_test(test_include_parse),
        cmocka_unit_test(test_service_ready),
        cmocka_unit_test(test_service_fresh_has_null_cells),
        cmocka_unit_test(test_revision_columns_and_reasons),
        cmocka_unit_test(test_configuration_route_domainmapping),
        cmocka_unit_test(test_namespace),
        cmocka_unit_test(test_configmap_and_secret),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_include_object_and_without_columns),
        cmocka_unit_test(test_event_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
