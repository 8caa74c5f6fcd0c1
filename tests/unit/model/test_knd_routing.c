/*
 * test_knd_routing.c - domains, hosts, traffic resolution and conditions. Cases are ported from
 * knative/serving pkg/reconciler/route/config/domain_test.go, route/domains/domains_test.go and
 * route/traffic/traffic_test.go (same fixture names: good-config, nice-config, unready-config...).
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
#include "knd_platform.h"
#include "knd_routing.h"

static json_t *js(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    if (v == NULL)
        fail_msg("bad test JSON: %s: %s", jerr.text, text);
    return v;
}

/* The route test config of traffic_test.go: example.com catch-all + another-example.com. */
static void platform_with_domains(knd_platform_t *p)
{
    knd_platform_init(p, "unused.example");
    p->domains = js("{\"example.com\": {}, \"another-example.com\": {\"app\": \"prod\"}}");
}

/* ---------------------------------------------------------------- domains */

static void test_lookup_domain_for_labels(void **state)
{
    knd_platform_t p;
    knd_platform_init(&p, NULL);
    p.domains = js("{\"test-domain.foo.com\": {\"app\": \"foo\"},"
                   " \"foo.com\": {\"app\": \"foo\", \"version\": \"prod\"},"
                   " \"bar.com\": {\"app\": \"bar\"}, \"default.com\": {}}");
    static const struct {
        const char *labels, *domain;
    } cases[] = {
        {"{\"app\": \"foo\"}", "test-domain.foo.com"},
        {"{\"app\": \"foo\", \"version\": \"prod\"}", "foo.com"},
        {"{\"app\": \"bar\"}", "bar.com"},
        {"{\"app\": \"bar\", \"version\": \"whatever\"}", "bar.com"},
        {"{\"app\": \"whatever\"}", "default.com"},
        {"{}", "default.com"},
        {"{\"networking.knative.dev/visibility\": \"cluster-local\"}", "svc.cluster.local"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *labels = js(cases[i].labels);
        char *d = knd_route_domain(&p, labels);
        assert_string_equal(d, cases[i].domain);
        free(d);
        json_decref(labels);
    }
    char *d = knd_route_domain(&p, NULL);
    assert_string_equal(d, "default.com");
    free(d);
    knd_platform_free(&p);
}

static void test_selector_matches_all_pairs(void **state)
{
    knd_platform_t p;
    knd_platform_init(&p, NULL);
    p.domains = js("{\"beta.com\": {\"app\": \"bar\", \"version\": \"beta\"}, \"zz.com\": {}}");
    const char *nonmatching[] = {"{\"app\": \"bar\"}", "{\"version\": \"beta\"}",
                                 "{\"app\": \"foo\"}", "{}"};
    const char *matching[] = {"{\"app\": \"bar\", \"version\": \"beta\"}",
                              "{\"app\": \"bar\", \"version\": \"beta\", \"x\": \"y\"}"};
    for (size_t i = 0; i < 4; i++) {
        json_t *l = js(nonmatching[i]);
        char *d = knd_route_domain(&p, l);
        assert_string_equal(d, "zz.com");
        free(d);
        json_decref(l);
    }
    for (size_t i = 0; i < 2; i++) {
        json_t *l = js(matching[i]);
        char *d = knd_route_domain(&p, l);
        assert_string_equal(d, "beta.com");
        free(d);
        json_decref(l);
    }
    knd_platform_free(&p);
}

static void test_domain_ties_and_default(void **state)
{
    knd_platform_t p;
    knd_platform_init(&p, "127.0.0.1.sslip.io");
    char *d = knd_route_domain(&p, NULL);
    assert_string_equal(d, "127.0.0.1.sslip.io");
    free(d);
    /* Same specificity: the lexicographically smaller domain wins, whatever the order. */
    p.domains = js("{\"b.com\": {}, \"a.com\": {}, \"c.com\": {}}");
    d = knd_route_domain(&p, NULL);
    assert_string_equal(d, "a.com");
    free(d);
    knd_platform_free(&p);
}

/* ---------------------------------------------------------------- hosts */

typedef struct {
    const char *tmpl, *want;
    int local;
} host_case_t;

static void test_domain_name_from_template(void **state)
{
    static const host_case_t cases[] = {
        {"{{.Name}}.{{.Namespace}}.{{.Domain}}", "test-name.default.example.com", 0},
        {"{{.Name}}-{{.Namespace}}.{{.Domain}}", "test-name-default.example.com", 0},
        {"{{.Name}}-{{.Namespace}}.{{.Domain}}", "test-name.default.svc.cluster.local", 1},
        {"{{.Name}}.{{.Domain}}", "test-name.example.com", 0},
        {"{{.Name}}.{{ index .Labels \"bus\"}}.{{.Domain}}", "test-name.mybus.example.com", 0},
        {"{{ .Name }}.{{ index .Labels `nope` }}x.{{.Domain}}", "test-name.x.example.com", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        knd_platform_t p;
        platform_with_domains(&p);
        snprintf(p.domain_template, sizeof(p.domain_template), "%s", cases[i].tmpl);
        json_t *labels = js(cases[i].local ? "{\"route\": \"myapp\", \"bus\": \"mybus\","
                                             " \"networking.knative.dev/visibility\": "
                                             "\"cluster-local\"}"
                                           : "{\"route\": \"myapp\", \"bus\": \"mybus\"}");
        char *h = knd_route_host(&p, "test-name", "default", labels);
        assert_string_equal(h, cases[i].want);
        free(h);
        json_decref(labels);
        knd_platform_free(&p);
    }
}

static void test_tag_hosts(void **state)
{
    static const struct {
        const char *tag_tmpl, *t1, *t2;
    } cases[] = {
        {"{{.Name}}-{{.Tag}}", "myroute-target-1.default.example.com",
         "myroute-target-2.default.example.com"},
        {"{{.Tag}}-{{.Name}}", "target-1-myroute.default.example.com",
         "target-2-myroute.default.example.com"},
        {"{{.Tag}}-dot-{{.Name}}", "target-1-dot-myroute.default.example.com",
         "target-2-dot-myroute.default.example.com"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        knd_platform_t p;
        platform_with_domains(&p);
        snprintf(p.tag_template, sizeof(p.tag_template), "%s", cases[i].tag_tmpl);
        json_t *labels = js("{\"route\": \"myapp\"}");
        char *h1 = knd_tag_host(&p, "target-1", "myroute", "default", labels);
        char *h2 = knd_tag_host(&p, "target-2", "myroute", "default", labels);
        char *h0 = knd_route_host(&p, "myroute", "default", labels);
        assert_string_equal(h1, cases[i].t1);
        assert_string_equal(h2, cases[i].t2);
        assert_string_equal(h0, "myroute.default.example.com");
        free(h0);
        free(h1);
        free(h2);
        json_decref(labels);
        knd_platform_free(&p);
    }
}

static void test_cluster_local_hosts(void **state)
{
    knd_platform_t p;
    platform_with_domains(&p);
    json_t *labels = js("{\"networking.knative.dev/visibility\": \"cluster-local\"}");
    char *h = knd_tag_host(&p, "test", "myroute", "default", labels);
    assert_string_equal(h, "test-myroute.default.svc.cluster.local");
    free(h);
    h = knd_cluster_local_host("myroute", "default");
    assert_string_equal(h, "myroute.default.svc.cluster.local");
    free(h);
    /* The label-selected domain wins over the catch-all. */
    json_decref(labels);
    labels = js("{\"app\": \"prod\"}");
    h = knd_route_host(&p, "myroute", "default", labels);
    assert_string_equal(h, "myroute.default.another-example.com");
    free(h);
    json_decref(labels);
    knd_platform_free(&p);
}

/* ---------------------------------------------------------------- traffic fixtures */

/* Configurations and revisions of traffic_test.go's setUp(), as stored objects. */
static const char *fixtures =
    "{\"configs\": {"
    " \"empty-config\": {\"metadata\": {\"name\": \"empty-config\"}, \"status\": {\"conditions\":"
    "   [{\"type\": \"Ready\", \"status\": \"Unknown\"}]}},"
    " \"latest-rev-deleted-config\": {\"metadata\": {\"name\": \"latest-rev-deleted-config\"},"
    "   \"status\": {\"latestCreatedRevisionName\": \"i-was-deleted\", \"conditions\":"
    "   [{\"type\": \"Ready\", \"status\": \"False\", \"reason\": \"RevisionDeleted\"}]}},"
    " \"unready-config\": {\"metadata\": {\"name\": \"unready-config\"},"
    "   \"status\": {\"latestCreatedRevisionName\": \"unready-revision\"}},"
    " \"ready-unready-config\": {\"metadata\": {\"name\": \"ready-unready-config\"},"
    "   \"status\": {\"latestReadyRevisionName\": \"ready-unready-revision-1\","
    "   \"latestCreatedRevisionName\": \"ready-unready-revision\"}},"
    " \"failed-config\": {\"metadata\": {\"name\": \"failed-config\"},"
    "   \"status\": {\"latestCreatedRevisionName\": \"failed-revision\", \"conditions\":"
    "   [{\"type\": \"Ready\", \"status\": \"False\", \"reason\": \"RevisionFailed\"}]}},"
    " \"failed-ready-config\": {\"metadata\": {\"name\": \"failed-ready-config\"},"
    "   \"status\": {\"latestCreatedRevisionName\": \"failed-ready-revision\","
    "   \"latestReadyRevisionName\": \"failed-ready-revision\", \"conditions\":"
    "   [{\"type\": \"Ready\", \"status\": \"False\"}]}},"
    " \"inactive-config\": {\"metadata\": {\"name\": \"inactive-config\"},"
    "   \"status\": {\"latestReadyRevisionName\": \"inactive-revision\","
    "   \"latestCreatedRevisionName\": \"inactive-revision\"}},"
    " \"good-config\": {\"metadata\": {\"name\": \"good-config\"},"
    "   \"status\": {\"latestReadyRevisionName\": \"good-revision-2\","
    "   \"latestCreatedRevisionName\": \"good-revision-2\"}},"
    " \"nice-config\": {\"metadata\": {\"name\": \"nice-config\"},"
    "   \"status\": {\"latestReadyRevisionName\": \"nice-revision-2\","
    "   \"latestCreatedRevisionName\": \"nice-revision-2\"}},"
    " \"test-config\": {\"metadata\": {\"name\": \"test-config\"},"
    "   \"status\": {\"latestReadyRevisionName\": \"test-rev\"}},"
    " \"my-service\": {\"metadata\": {\"name\": \"my-service\"},"
    "   \"status\": {\"latestReadyRevisionName\": \"my-service-00001\"}}"
    "}, \"revisions\": {"
    " \"unready-revision\": {\"l\": \"unready-config\"},"
    " \"ready-unready-revision-1\": {\"l\": \"ready-unready-config\", \"ready\": \"True\"},"
    " \"ready-unready-revision\": {\"l\": \"ready-unready-config\"},"
    " \"failed-revision\": {\"l\": \"failed-config\", \"ready\": \"False\"},"
    " \"failed-ready-revision\": {\"l\": \"failed-ready-config\", \"ready\": \"False\"},"
    " \"inactive-revision\": {\"l\": \"inactive-config\", \"ready\": \"True\"},"
    " \"good-revision-1\": {\"l\": \"good-config\", \"ready\": \"True\"},"
    " \"good-revision-2\": {\"l\": \"good-config\", \"ready\": \"True\"},"
    " \"nice-revision-1\": {\"l\": \"nice-config\", \"ready\": \"True\"},"
    " \"nice-revision-2\": {\"l\": \"nice-config\", \"ready\": \"True\"},"
    " \"orphan-revision\": {\"l\": \"gone-config\", \"ready\": \"True\"},"
    " \"stale-revision\": {\"l\": \"good-config\", \"ready\": \"True\", \"gen\": 2},"
    " \"test-rev\": {\"l\": \"test-config\", \"ready\": \"True\", \"svc\": \"\"},"
    " \"mine-rev\": {\"l\": \"test-config\", \"ready\": \"True\", \"svc\": \"my-service\"},"
    " \"other-rev\": {\"l\": \"test-config\", \"ready\": \"True\", \"svc\": \"other-service\"},"
    " \"my-service-00001\": {\"l\": \"my-service\", \"ready\": \"True\", \"svc\": \"my-service\"}"
    "}}";

typedef struct {
    json_t *configs;
    json_t *revisions;
} world_t;

/* Expands the compact revision fixtures into Revision objects. */
static json_t *make_revisions(const json_t *compact)
{
    json_t *out = json_object();
    const char *name;
    json_t *r;
    json_object_foreach((json_t *)compact, name, r)
    {
        json_t *rev = json_pack("{s:{s:s, s:I, s:{s:s}}, s:{s:I}}", "metadata", "name", name,
                                "generation", (json_int_t)1, "labels",
                                "serving.knative.dev/configuration",
                                knd_json_str(r, "l", ""), "status", "observedGeneration",
                                (json_int_t)knd_json_int(r, "gen", 1));
        if (json_object_get(r, "svc"))
            json_object_set(knd_json_path(rev, "metadata.labels"), "serving.knative.dev/service",
                            json_object_get(r, "svc"));
        if (json_object_get(r, "ready"))
            json_object_set_new(knd_json_path(rev, "status"), "conditions",
                                json_pack("[{s:s, s:s}]", "type", "Ready", "status",
                                          knd_json_str(r, "ready", "")));
        json_object_set_new(out, name, rev);
    }
    return out;
}

static const json_t *world_config(void *ctx, const char *name)
{
    return json_object_get(((world_t *)ctx)->configs, name);
}

static const json_t *world_revision(void *ctx, const char *name)
{
    return json_object_get(((world_t *)ctx)->revisions, name);
}

typedef struct {
    const char *name;
    const char *route_labels;   /* JSON object */
    const char *traffic;        /* JSON array for spec.traffic */
    const char *default_config; /* Service-owned: the implicit configuration */
    const char *want_status;    /* "True" / "Unknown" / "False" */
    const char *want_reason;
    const char *want_message;
    const char *want_traffic; /* JSON array when True */
} traffic_case_t;

static const traffic_case_t traffic_cases[] = {
    {"vanilla", "{}", "[{\"configurationName\": \"good-config\", \"percent\": 100}]", NULL,
     "True", "", "",
     "[{\"revisionName\": \"good-revision-2\", \"latestRevision\": true, \"percent\": 100}]"},
    {"no_name_revision", "{}", "[{\"revisionName\": \"good-revision-2\", \"percent\": 100}]", NULL,
     "True", "", "",
     "[{\"revisionName\": \"good-revision-2\", \"latestRevision\": false, \"percent\": 100}]"},
    {"vanilla_scaled_to_zero", "{}",
     "[{\"configurationName\": \"inactive-config\", \"percent\": 100}]", NULL, "True", "", "",
     "[{\"revisionName\": \"inactive-revision\", \"latestRevision\": true, \"percent\": 100}]"},
    {"two_configs", "{}",
     "[{\"configurationName\": \"nice-config\", \"percent\": 90},"
     " {\"configurationName\": \"good-config\", \"percent\": 10}]",
     NULL, "True", "", "",
     "[{\"revisionName\": \"nice-revision-2\", \"latestRevision\": true, \"percent\": 90},"
     " {\"revisionName\": \"good-revision-2\", \"latestRevision\": true, \"percent\": 10}]"},
    {"two_entries_same_config", "{}",
     "[{\"configurationName\": \"nice-config\", \"percent\": 42},"
     " {\"configurationName\": \"nice-config\", \"percent\": 16},"
     " {\"configurationName\": \"nice-config\", \"percent\": 42}]",
     NULL, "True", "", "",
     "[{\"revisionName\": \"nice-revision-2\", \"latestRevision\": true, \"percent\": 100}]"},
    {"same_config_nil_percents", "{}",
     "[{\"configurationName\": \"nice-config\", \"percent\": 100},"
     " {\"configurationName\": \"nice-config\"}, {\"configurationName\": \"nice-config\"}]",
     NULL, "True", "", "",
     "[{\"revisionName\": \"nice-revision-2\", \"latestRevision\": true, \"percent\": 100}]"},
    {"same_config_different_tags", "{}",
     "[{\"configurationName\": \"nice-config\", \"percent\": 90},"
     " {\"configurationName\": \"nice-config\", \"percent\": 10, \"tag\": \"robert\"}]",
     NULL, "True", "", "",
     "[{\"revisionName\": \"nice-revision-2\", \"latestRevision\": true, \"percent\": 90},"
     " {\"tag\": \"robert\", \"revisionName\": \"nice-revision-2\", \"latestRevision\": true,"
     "  \"percent\": 10, \"url\": \"http://robert-test-route.test.example.com\"}]"},
    {"canary", "{}",
     "[{\"revisionName\": \"good-revision-1\", \"percent\": 90},"
     " {\"configurationName\": \"good-config\", \"percent\": 10}]",
     NULL, "True", "", "",
     "[{\"revisionName\": \"good-revision-1\", \"latestRevision\": false, \"percent\": 90},"
     " {\"revisionName\": \"good-revision-2\", \"latestRevision\": true, \"percent\": 10}]"},
    {"consolidated_latest_and_fixed_same_revision", "{}",
     "[{\"revisionName\": \"good-revision-2\", \"percent\": 50},"
     " {\"configurationName\": \"good-config\", \"percent\": 50}]",
     NULL, "True", "", "",
     "[{\"revisionName\": \"good-revision-2\", \"latestRevision\": false, \"percent\": 50},"
     " {\"revisionName\": \"good-revision-2\", \"latestRevision\": true, \"percent\": 50}]"},
    {"two_fixed_revisions_from_two_configs", "{}",
     "[{\"revisionName\": \"good-revision-1\", \"percent\": 40},"
     " {\"revisionName\": \"nice-revision-1\", \"percent\": 60}]",
     NULL, "True", "", "",
     "[{\"revisionName\": \"good-revision-1\", \"latestRevision\": false, \"percent\": 40},"
     " {\"revisionName\": \"nice-revision-1\", \"latestRevision\": false, \"percent\": 60}]"},
    {"round_tripping_preliminary", "{\"route\": \"test-route\"}",
     "[{\"revisionName\": \"good-revision-1\", \"percent\": 100},"
     " {\"tag\": \"beta\", \"revisionName\": \"good-revision-2\"},"
     " {\"tag\": \"alpha\", \"configurationName\": \"nice-config\"}]",
     NULL, "True", "", "",
     "[{\"revisionName\": \"good-revision-1\", \"latestRevision\": false, \"percent\": 100},"
     " {\"tag\": \"beta\", \"revisionName\": \"good-revision-2\", \"latestRevision\": false,"
     "  \"percent\": 0, \"url\": \"http://beta-test-route.test.example.com\"},"
     " {\"tag\": \"alpha\", \"revisionName\": \"nice-revision-2\", \"latestRevision\": true,"
     "  \"percent\": 0, \"url\": \"http://alpha-test-route.test.example.com\"}]"},
    {"tag_0_percent", "{}",
     "[{\"configurationName\": \"nice-config\", \"percent\": 100},"
     " {\"configurationName\": \"good-config\", \"percent\": 0, \"tag\": \"robert\"}]",
     NULL, "True", "", "",
     "[{\"revisionName\": \"nice-revision-2\", \"latestRevision\": true, \"percent\": 100},"
     " {\"tag\": \"robert\", \"revisionName\": \"good-revision-2\", \"latestRevision\": true,"
     "  \"percent\": 0, \"url\": \"http://robert-test-route.test.example.com\"}]"},
    {"ready_not_ready_config", "{}",
     "[{\"configurationName\": \"ready-unready-config\", \"latestRevision\": true,"
     "  \"percent\": 100}]",
     NULL, "True", "", "",
     "[{\"revisionName\": \"ready-unready-revision-1\", \"latestRevision\": true,"
     "  \"percent\": 100}]"},
    {"missing_config", "{}",
     "[{\"revisionName\": \"good-revision-1\", \"percent\": 100},"
     " {\"tag\": \"beta\", \"revisionName\": \"good-revision-2\"},"
     " {\"tag\": \"alpha\", \"configurationName\": \"missing-config\"}]",
     NULL, "False", "ConfigurationMissing",
     "Configuration \"missing-config\" referenced in traffic not found.", NULL},
    {"not_routable_revision", "{}", "[{\"revisionName\": \"unready-revision\", \"percent\": 100}]",
     NULL, "Unknown", "RevisionMissing", "Revision \"unready-revision\" is not yet ready.", NULL},
    {"latest_ready_revision_failed", "{}",
     "[{\"configurationName\": \"failed-ready-config\", \"latestRevision\": true,"
     "  \"percent\": 100}]",
     NULL, "False", "RevisionMissing", "Revision \"failed-ready-revision\" failed to become ready.",
     NULL},
    {"not_routable_configuration", "{}",
     "[{\"configurationName\": \"unready-config\", \"percent\": 100}]", NULL, "Unknown",
     "RevisionMissing",
     "Configuration \"unready-config\" is waiting for a Revision to become ready.", NULL},
    {"empty_configuration", "{}", "[{\"configurationName\": \"empty-config\", \"percent\": 100}]",
     NULL, "Unknown", "RevisionMissing",
     "Configuration \"empty-config\" is waiting for a Revision to become ready.", NULL},
    {"empty_and_failed_configurations", "{}",
     "[{\"configurationName\": \"empty-config\", \"percent\": 50},"
     " {\"configurationName\": \"failed-config\", \"percent\": 50}]",
     NULL, "False", "RevisionMissing",
     "Configuration \"failed-config\" does not have any ready Revision.", NULL},
    {"failed_and_empty_configurations", "{}",
     "[{\"configurationName\": \"failed-config\", \"percent\": 50},"
     " {\"configurationName\": \"empty-config\", \"percent\": 50}]",
     NULL, "False", "RevisionMissing",
     "Configuration \"failed-config\" does not have any ready Revision.", NULL},
    {"latest_ready_deleted", "{}",
     "[{\"configurationName\": \"latest-rev-deleted-config\", \"percent\": 100}]", NULL, "False",
     "RevisionMissing",
     "Configuration \"latest-rev-deleted-config\" does not have any ready Revision.", NULL},
    {"missing_revision", "{}",
     "[{\"revisionName\": \"missing-revision\", \"percent\": 50},"
     " {\"revisionName\": \"good-revision-2\", \"percent\": 50}]",
     NULL, "False", "RevisionMissing", "Revision \"missing-revision\" referenced in traffic not found.",
     NULL},
    {"revision_of_missing_configuration", "{}",
     "[{\"revisionName\": \"orphan-revision\", \"percent\": 100}]", NULL, "False",
     "ConfigurationMissing", "Configuration \"gone-config\" referenced in traffic not found.",
     NULL},
    {"stale_observed_generation_is_not_ready", "{}",
     "[{\"revisionName\": \"stale-revision\", \"percent\": 100}]", NULL, "Unknown",
     "RevisionMissing", "Revision \"stale-revision\" is not yet ready.", NULL},
    {"first_not_ready_then_missing_failure_wins", "{}",
     "[{\"configurationName\": \"unready-config\", \"percent\": 50},"
     " {\"revisionName\": \"missing-revision\", \"percent\": 50}]",
     NULL, "False", "RevisionMissing", "Revision \"missing-revision\" referenced in traffic not found.",
     NULL},
    {"owned_route_other_service", "{\"serving.knative.dev/service\": \"my-service\"}",
     "[{\"revisionName\": \"other-rev\", \"percent\": 100}]", NULL, "False", "RevisionNotOwned",
     "Revision \"other-rev\" belongs to Service \"other-service\", not Service \"my-service\".",
     NULL},
    {"owned_route_own_revision", "{\"serving.knative.dev/service\": \"my-service\"}",
     "[{\"revisionName\": \"mine-rev\", \"percent\": 100}]", NULL, "True", "", "",
     "[{\"revisionName\": \"mine-rev\", \"latestRevision\": false, \"percent\": 100}]"},
    {"standalone_route_any_revision", "{}", "[{\"revisionName\": \"other-rev\", \"percent\": 100}]",
     NULL, "True", "", "",
     "[{\"revisionName\": \"other-rev\", \"latestRevision\": false, \"percent\": 100}]"},
    {"owned_route_revision_without_service", "{\"serving.knative.dev/service\": \"my-service\"}",
     "[{\"revisionName\": \"test-rev\", \"percent\": 100}]", NULL, "False", "RevisionNotOwned",
     "Revision \"test-rev\" does not belong to Service \"my-service\".", NULL},
    {"service_implicit_traffic", "{}", "[]", "my-service", "True", "", "",
     "[{\"revisionName\": \"my-service-00001\", \"latestRevision\": true, \"percent\": 100}]"},
    {"service_default_config_and_tag", "{}",
     "[{\"latestRevision\": true, \"percent\": 100},"
     " {\"tag\": \"current\", \"revisionName\": \"my-service-00001\", \"percent\": 0}]",
     "my-service", "True", "", "",
     "[{\"revisionName\": \"my-service-00001\", \"latestRevision\": true, \"percent\": 100},"
     " {\"tag\": \"current\", \"revisionName\": \"my-service-00001\", \"latestRevision\": false,"
     "  \"percent\": 0, \"url\": \"http://current-test-route.test.example.com\"}]"},
    {"service_owns_by_default_config", "{}",
     "[{\"revisionName\": \"other-rev\", \"percent\": 100}]", "my-service", "False",
     "RevisionNotOwned",
     "Revision \"other-rev\" belongs to Service \"other-service\", not Service \"my-service\".",
     NULL},
    {"cluster_local_tag_url_is_http", "{\"networking.knative.dev/visibility\": \"cluster-local\"}",
     "[{\"configurationName\": \"good-config\", \"percent\": 100, \"tag\": \"v1\"}]", NULL, "True",
     "", "",
     "[{\"tag\": \"v1\", \"revisionName\": \"good-revision-2\", \"latestRevision\": true,"
     "  \"percent\": 100, \"url\": \"http://v1-test-route.test.svc.cluster.local\"}]"},
    {"no_traffic_standalone_route", "{}", "[]", NULL, "True", "", "", "[]"},
};

static void test_traffic(void **state)
{
    const traffic_case_t *c = *state;
    json_t *fx = js(fixtures);
    world_t w = {.configs = json_object_get(fx, "configs"),
                 .revisions = make_revisions(json_object_get(fx, "revisions"))};
    knd_traffic_lookup_t lk = {.ctx = &w, .configuration = world_config,
                               .revision = world_revision};
    knd_platform_t p;
    platform_with_domains(&p);
    json_t *route = json_pack("{s:{s:s, s:s, s:o}, s:{s:o}}", "metadata", "name", "test-route",
                              "namespace", "test", "labels", js(c->route_labels), "spec",
                              "traffic", js(c->traffic));
    json_t *traffic = NULL;
    knd_cond_t cond;
    knd_traffic_resolve(&p, route, c->default_config, &lk, &traffic, &cond);
    assert_string_equal(cond.status, c->want_status);
    assert_string_equal(cond.reason, c->want_reason);
    assert_string_equal(cond.message, c->want_message);
    if (c->want_traffic == NULL) {
        assert_null(traffic);
    } else {
        json_t *want = js(c->want_traffic);
        if (!json_equal(traffic, want)) {
            char *got = knd_json_dump(traffic);
            fail_msg("traffic: got %s", got);
        }
        json_decref(want);
    }
    json_decref(traffic);
    json_decref(route);
    json_decref(w.revisions);
    json_decref(fx);
    knd_platform_free(&p);
}

static void test_traffic_https_scheme_and_key_order(void **state)
{
    json_t *fx = js(fixtures);
    world_t w = {.configs = json_object_get(fx, "configs"),
                 .revisions = make_revisions(json_object_get(fx, "revisions"))};
    knd_traffic_lookup_t lk = {.ctx = &w, .configuration = world_config,
                               .revision = world_revision};
    knd_platform_t p;
    platform_with_domains(&p);
    snprintf(p.default_external_scheme, sizeof(p.default_external_scheme), "https");
    json_t *route = js("{\"metadata\": {\"name\": \"r\", \"namespace\": \"ns\"}, \"spec\":"
                       " {\"traffic\": [{\"tag\": \"t\", \"configurationName\": \"good-config\","
                       " \"percent\": 100}]}}");
    json_t *traffic = NULL;
    knd_cond_t cond;
    knd_traffic_resolve(&p, route, NULL, &lk, &traffic, &cond);
    assert_string_equal(cond.status, "True");
    char *s = json_dumps(traffic, JSON_COMPACT);
    /* Knative's TrafficTarget field order; configurationName is dropped. */
    assert_string_equal(s, "[{\"tag\":\"t\",\"revisionName\":\"good-revision-2\","
                           "\"latestRevision\":true,\"percent\":100,"
                           "\"url\":\"https://t-r.ns.example.com\"}]");
    free(s);
    json_decref(traffic);
    json_decref(route);
    json_decref(w.revisions);
    json_decref(fx);
    knd_platform_free(&p);
}

/* ---------------------------------------------------------------- conditions */

static void test_condition_set_and_status(void **state)
{
    json_t *obj = js("{\"metadata\": {\"name\": \"x\"}}");
    knd_cond_t unknown = {"Unknown", "RevisionMissing", "Configuration \"x\" is waiting."};
    knd_cond_t unknown2 = {"Unknown", "IngressNotConfigured", "Ingress has not yet been "
                                                              "reconciled."};
    knd_cond_t ok = {"True", "", ""};
    assert_null(knd_condition_status(obj, "Ready"));
    knd_condition_set(obj, "Ready", &unknown, "2026-01-01T00:00:00Z");
    knd_condition_set(obj, "AllTrafficAssigned", &unknown, "2026-01-01T00:00:00Z");
    knd_condition_set(obj, "IngressReady", &unknown, "2026-01-01T00:00:00Z");
    assert_string_equal(knd_condition_status(obj, "Ready"), "Unknown");

    /* Same status, new reason: lastTransitionTime stays. */
    knd_condition_set(obj, "Ready", &unknown2, "2026-01-01T00:00:05Z");
    /* Status changes: lastTransitionTime moves; True carries no reason or message. */
    knd_condition_set(obj, "AllTrafficAssigned", &ok, "2026-01-01T00:00:09Z");
    /* Identical: nothing changes. */
    knd_condition_set(obj, "IngressReady", &unknown, "2026-01-01T00:00:10Z");

    json_t *want = js("{\"metadata\": {\"name\": \"x\"}, \"status\": {\"conditions\": ["
                      "{\"type\": \"AllTrafficAssigned\", \"status\": \"True\","
                      " \"lastTransitionTime\": \"2026-01-01T00:00:09Z\"},"
                      "{\"type\": \"IngressReady\", \"status\": \"Unknown\","
                      " \"lastTransitionTime\": \"2026-01-01T00:00:00Z\","
                      " \"reason\": \"RevisionMissing\","
                      " \"message\": \"Configuration \\\"x\\\" is waiting.\"},"
                      "{\"type\": \"Ready\", \"status\": \"Unknown\","
                      " \"lastTransitionTime\": \"2026-01-01T00:00:00Z\","
                      " \"reason\": \"IngressNotConfigured\","
                      " \"message\": \"Ingress has not yet been reconciled.\"}]}}");
    if (!json_equal(obj, want)) {
        char *got = knd_json_dump(obj);
        fail_msg("got %s", got);
    }
    assert_string_equal(knd_condition_status(obj, "AllTrafficAssigned"), "True");
    assert_null(knd_condition_status(obj, "CertificateProvisioned"));
    json_decref(want);
    json_decref(obj);
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_lookup_domain_for_labels),
        cmocka_unit_test(test_selector_matches_all_pairs),
        cmocka_unit_test(test_domain_ties_and_default),
        cmocka_unit_test(test_domain_name_from_template),
        cmocka_unit_test(test_tag_hosts),
        cmocka_unit_test(test_cluster_local_hosts),
        cmocka_unit_test(test_traffic_https_scheme_and_key_order),
        cmocka_unit_test(test_condition_set_and_status),
    };
    size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
    size_t ncases = sizeof(traffic_cases) / sizeof(traffic_cases[0]);
    struct CMUnitTest *tests = calloc(nfixed + ncases, sizeof(*tests));
    char(*names)[128] = calloc(ncases, sizeof(*names));
    memcpy(tests, fixed, sizeof(fixed));
    for (size_t i = 0; i < ncases; i++) {
        snprintf(names[i], sizeof(names[i]), "traffic/%s", traffic_cases[i].name);
        tests[nfixed + i] = (struct CMUnitTest){
            .name = names[i],
            .test_func = test_traffic,
            .initial_state = (void *)&traffic_cases[i],
        };
    }
    int rc = _cmocka_run_group_tests("knd_routing", tests, nfixed + ncases, NULL, NULL);
    free(tests);
    free(names);
    return rc;
}
