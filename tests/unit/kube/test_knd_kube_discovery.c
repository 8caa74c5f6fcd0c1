/*
 * test_knd_kube_discovery.c - /version, aggregated discovery v2 and the legacy documents, as
 * kubectl 1.32 needs them (shared/kubernetes-api.md §1.1, §2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "knd_json.h"
#include "knd_kube_discovery.h"

/* The Accept header of kubectl's discovery requests. */
#define KND_TEST_DISCOVERY_ACCEPT                                                                  \
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/"          \
    "json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"

/* The strings of a JSON array joined with ',' (into buf). */
static const char *knd_test_join(const json_t *a, char *buf, size_t len)
{
    const json_t *s;
    size_t i;
    buf[0] = '\0';
    json_array_foreach(a, i, s) {
        if (i > 0)
            strncat(buf, ",", len - strlen(buf) - 1);
        strncat(buf, json_is_string(s) ? json_string_value(s) : "?", len - strlen(buf) - 1);
    }
    return buf;
}

static const json_t *knd_test_find(const json_t *a, const char *key, const char *value)
{
    const json_t *e;
    size_t i;
    json_array_foreach(a, i, e) {
        if (strcmp(knd_json_str(e, key, ""), value) == 0)
            return e;
    }
    return NULL;
}

static void test_version(void **state)
{
    json_t *v = knd_kube_version("0.3.1");
    assert_string_equal(knd_json_str(v, "major", ""), "1");
    assert_string_equal(knd_json_str(v, "minor", ""), "32");
    assert_string_equal(knd_json_str(v, "gitVersion", ""), "v1.32.0-knd+0.3.1");
    assert_true(strncmp(knd_json_str(v, "platform", ""), "linux/", 6) == 0);
    assert_non_null(json_object_get(v, "buildDate"));
    json_decref(v);
    /* Characters semver does not allow in build metadata are replaced. */
    v = knd_kube_version("1.0 dev+x/y");
    assert_string_equal(knd_json_str(v, "gitVersion", ""), "v1.32.0-knd+1.0-dev-x-y");
    json_decref(v);
}

static void test_accept_aggregated(void **state)
{
    assert_true(knd_kube_accept_aggregated(KND_TEST_DISCOVERY_ACCEPT));
    assert_true(knd_kube_accept_aggregated(KND_KUBE_AGGREGATED_CT));
    assert_true(knd_kube_accept_aggregated(
        "application/json; as=APIGroupDiscoveryList; v=v2beta1; g=apidiscovery.k8s.io"));
    assert_false(knd_kube_accept_aggregated(NULL));
    assert_false(knd_kube_accept_aggregated("application/json"));
    assert_false(knd_kube_accept_aggregated("application/json, */*"));
    assert_false(knd_kube_accept_aggregated(
        "application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList"));
    assert_false(knd_kube_accept_aggregated("application/json;g=apidiscovery.k8s.io;v=v2"));
    assert_false(knd_kube_accept_aggregated(
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"));
}

/* Checks one aggregated resource entry against what kubectl needs. */
static void knd_test_agg_resource(const json_t *version, const char *resource, const char *group,
                                  const char *ver, const char *kind, const char *scope,
                                  const char *shorts, bool knative)
{
    char buf[256];
    const json_t *r = knd_test_find(json_object_get(version, "resources"), "resource", resource);
    if (r == NULL)
        fail_msg("resource %s missing", resource);
    assert_string_equal(knd_json_str(r, "responseKind.group", "?"), group);
    assert_string_equal(knd_json_str(r, "responseKind.version", ""), ver);
    assert_string_equal(knd_json_str(r, "responseKind.kind", ""), kind);
    assert_string_equal(knd_json_str(r, "scope", ""), scope);
    assert_non_null(knd_json_str(r, "singularResource", NULL));
    assert_true(json_array_size(json_object_get(r, "verbs")) > 0);
    if (shorts != NULL)
        assert_string_equal(knd_test_join(json_object_get(r, "shortNames"), buf, sizeof(buf)),
                            shorts);
    else
        assert_null(json_object_get(r, "shortNames"));
    if (!knative) {
        assert_null(json_object_get(r, "categories"));
        assert_null(json_object_get(r, "subresources"));
        return;
    }
    assert_string_equal(knd_test_join(json_object_get(r, "categories"), buf, sizeof(buf)),
                        "all,knative,serving");
    assert_string_equal(knd_test_join(json_object_get(r, "verbs"), buf, sizeof(buf)),
                        "create,delete,deletecollection,get,list,patch,update,watch");
    const json_t *sub = json_array_get(json_object_get(r, "subresources"), 0);
    assert_string_equal(knd_json_str(sub, "subresource", ""), "status");
    assert_string_equal(knd_json_str(sub, "responseKind.kind", ""), kind);
    assert_string_equal(knd_test_join(json_object_get(sub, "verbs"), buf, sizeof(buf)),
                        "get,patch,update");
}

static void test_aggregated_apis(void **state)
{
    json_t *d = knd_kube_discovery_aggregated(false);
    assert_string_equal(knd_json_str(d, "kind", ""), "APIGroupDiscoveryList");
    assert_string_equal(knd_json_str(d, "apiVersion", ""), "apidiscovery.k8s.io/v2");
    const json_t *items = json_object_get(d, "items");
    assert_int_equal(json_array_size(items), 1);
    const json_t *g = json_array_get(items, 0);
    assert_string_equal(knd_json_str(g, "metadata.name", ""), "serving.knative.dev");
    const json_t *versions = json_object_get(g, "versions");
    assert_int_equal(json_array_size(versions), 2);
    const json_t *v1 = json_array_get(versions, 0), *v1beta1 = json_array_get(versions, 1);
    /* The first version is the preferred one. */
    assert_string_equal(knd_json_str(v1, "version", ""), "v1");
    assert_string_equal(knd_json_str(v1, "freshness", ""), "Current");
    assert_string_equal(knd_json_str(v1beta1, "version", ""), "v1beta1");
    assert_int_equal(json_array_size(json_object_get(v1, "resources")), 4);
    assert_int_equal(json_array_size(json_object_get(v1beta1, "resources")), 1);
    const char *g_ = "serving.knative.dev";
    knd_test_agg_resource(v1, "services", g_, "v1", "Service", "Namespaced", "ksvc,kservice", true);
    knd_test_agg_resource(v1, "configurations", g_, "v1", "Configuration", "Namespaced",
                          "config,cfg", true);
    knd_test_agg_resource(v1, "revisions", g_, "v1", "Revision", "Namespaced", "rev", true);
    knd_test_agg_resource(v1, "routes", g_, "v1", "Route", "Namespaced", "rt", true);
    knd_test_agg_resource(v1beta1, "domainmappings", g_, "v1beta1", "DomainMapping", "Namespaced",
                          "dm", true);
    assert_null(knd_test_find(json_object_get(v1, "resources"), "resource", "configmaps"));
    json_decref(d);
}

static void test_aggregated_core(void **state)
{
    char buf[256];
    json_t *d = knd_kube_discovery_aggregated(true);
    const json_t *items = json_object_get(d, "items");
    assert_int_equal(json_array_size(items), 1);
    const json_t *g = json_array_get(items, 0);
    assert_string_equal(knd_json_str(g, "metadata.name", "?"), "");
    const json_t *versions = json_object_get(g, "versions");
    assert_int_equal(json_array_size(versions), 1);
    const json_t *v1 = json_array_get(versions, 0);
    assert_string_equal(knd_json_str(v1, "version", ""), "v1");
    assert_int_equal(json_array_size(json_object_get(v1, "resources")), 4);
    knd_test_agg_resource(v1, "namespaces", "", "v1", "Namespace", "Cluster", "ns", false);
    knd_test_agg_resource(v1, "configmaps", "", "v1", "ConfigMap", "Namespaced", "cm", false);
    knd_test_agg_resource(v1, "secrets", "", "v1", "Secret", "Namespaced", NULL, false);
    knd_test_agg_resource(v1, "events", "", "v1", "Event", "Namespaced", "ev", false);
    const json_t *res = json_object_get(v1, "resources");
    assert_string_equal(
        knd_test_join(json_object_get(knd_test_find(res, "resource", "events"), "verbs"), buf,
                      sizeof(buf)),
        "get,list,watch");
    assert_string_equal(
        knd_test_join(json_object_get(knd_test_find(res, "resource", "namespaces"), "verbs"), buf,
                      sizeof(buf)),
        "create,delete,get,list,patch,update,watch");
    assert_string_equal(
        knd_test_join(json_object_get(knd_test_find(res, "resource", "secrets"), "verbs"), buf,
                      sizeof(buf)),
        "create,delete,deletecollection,get,list,patch,update,watch");
    json_decref(d);
}

static void test_legacy_versions_and_groups(void **state)
{
    char buf[256];
    json_t *d = knd_kube_discovery_api_versions();
    assert_string_equal(knd_json_str(d, "kind", ""), "APIVersions");
    assert_string_equal(knd_test_join(json_object_get(d, "versions"), buf, sizeof(buf)), "v1");
    json_decref(d);

    d = knd_kube_discovery_group_list();
    assert_string_equal(knd_json_str(d, "kind", ""), "APIGroupList");
    assert_string_equal(knd_json_str(d, "apiVersion", ""), "v1");
    const json_t *groups = json_object_get(d, "groups");
    assert_int_equal(json_array_size(groups), 1);
    const json_t *g = json_array_get(groups, 0);
    assert_string_equal(knd_json_str(g, "name", ""), "serving.knative.dev");
    assert_string_equal(knd_json_str(g, "preferredVersion.groupVersion", ""),
                        "serving.knative.dev/v1");
    assert_string_equal(knd_json_str(g, "preferredVersion.version", ""), "v1");
    const json_t *vs = json_object_get(g, "versions");
    assert_int_equal(json_array_size(vs), 2);
    assert_string_equal(knd_json_str(json_array_get(vs, 1), "groupVersion", ""),
                        "serving.knative.dev/v1beta1");
    json_decref(d);

    d = knd_kube_discovery_resources("serving.knative.dev", NULL);
    assert_string_equal(knd_json_str(d, "kind", ""), "APIGroup");
    assert_string_equal(knd_json_str(d, "preferredVersion.version", ""), "v1");
    json_decref(d);
}

static void test_legacy_resource_lists(void **state)
{
    char buf[256];
    json_t *d = knd_kube_discovery_resources("serving.knative.dev", "v1");
    assert_string_equal(knd_json_str(d, "kind", ""), "APIResourceList");
    assert_string_equal(knd_json_str(d, "apiVersion", ""), "v1");
    assert_string_equal(knd_json_str(d, "groupVersion", ""), "serving.knative.dev/v1");
    const json_t *res = json_object_get(d, "resources");
    assert_int_equal(json_array_size(res), 8); /* 4 kinds and their status subresources */
    const json_t *svc = knd_test_find(res, "name", "services");
    assert_string_equal(knd_json_str(svc, "kind", ""), "Service");
    assert_string_equal(knd_json_str(svc, "singularName", ""), "service");
    assert_true(json_is_true(json_object_get(svc, "namespaced")));
    assert_string_equal(knd_test_join(json_object_get(svc, "shortNames"), buf, sizeof(buf)),
                        "ksvc,kservice");
    assert_string_equal(knd_test_join(json_object_get(svc, "categories"), buf, sizeof(buf)),
                        "all,knative,serving");
    const json_t *st = knd_test_find(res, "name", "services/status");
    assert_string_equal(knd_json_str(st, "singularName", "?"), "");
    assert_string_equal(knd_json_str(st, "kind", ""), "Service");
    assert_string_equal(knd_test_join(json_object_get(st, "verbs"), buf, sizeof(buf)),
                        "get,patch,update");
    assert_non_null(knd_test_find(res, "name", "revisions/status"));
    json_decref(d);

    d = knd_kube_discovery_resources("serving.knative.dev", "v1beta1");
    res = json_object_get(d, "resources");
    assert_int_equal(json_array_size(res), 2);
    assert_string_equal(knd_json_str(knd_test_find(res, "name", "domainmappings"), "kind", ""),
                        "DomainMapping");
    json_decref(d);

    d = knd_kube_discovery_resources("", "v1");
    assert_string_equal(knd_json_str(d, "groupVersion", ""), "v1");
    res = json_object_get(d, "resources");
    assert_int_equal(json_array_size(res), 4);
    const json_t *ns = knd_test_find(res, "name", "namespaces");
    assert_true(json_is_false(json_object_get(ns, "namespaced")));
    assert_non_null(knd_test_find(res, "name", "events"));
    assert_null(json_object_get(knd_test_find(res, "name", "secrets"), "shortNames"));
    json_decref(d);
}

static void test_unknown_is_null(void **state)
{
    assert_null(knd_kube_discovery_resources("apps", "v1"));
    assert_null(knd_kube_discovery_resources("apps", NULL));
    assert_null(knd_kube_discovery_resources("serving.knative.dev", "v2"));
    assert_null(knd_kube_discovery_resources("", "v2"));
    assert_null(knd_kube_discovery_resources("", NULL));
    assert_null(knd_kube_discovery_resources(NULL, "v1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_accept_aggregated),
        cmocka_unit_test(test_aggregated_apis),
        cmocka_unit_test(test_aggregated_core),
        cmocka_unit_test(test_legacy_versions_and_groups),
        cmocka_unit_test(test_legacy_resource_lists),
        cmocka_unit_test(test_unknown_is_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
