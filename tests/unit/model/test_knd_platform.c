/*
 * test_knd_platform.c - config-* ConfigMaps: Knative's defaults, parsing and validation messages
 * (cases ported from pkg/autoscaler/config/config_test.go, pkg/apis/config/defaults_test.go and
 * features_test.go, networking pkg/config/config_test.go, pkg/gc/config_test.go and
 * pkg/reconciler/route/config/domain_test.go). Each table row is its own cmocka test.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "knd_err.h"
#include "knd_json.h"
#include "knd_platform.h"

/* ---------------------------------------------------------------- helpers */

/* Applies ConfigMap `name` with `data_json` (a JSON object text) to p. */
static int apply(knd_platform_t *p, const char *name, const char *data_json, knd_errlist_t *errs)
{
    json_error_t jerr;
    json_t *data = json_loads(data_json, 0, &jerr);
    assert_non_null(data);
    json_t *cm = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}", "apiVersion", "v1", "kind",
                           "ConfigMap", "metadata", "name", name, "namespace", "knative-serving",
                           "data", data);
    int rc = knd_platform_apply_configmap(p, cm, errs);
    json_decref(cm);
    return rc;
}

static void assert_one_error(const knd_errlist_t *errs, const char *path, const char *msg)
{
    if (errs->n != 1 || strcmp(errs->v[0].path, path) != 0 || strstr(errs->v[0].msg, msg) == NULL) {
        char *all = knd_errlist_join(errs);
        fail_msg("want one error at %s containing \"%s\", got %zu: %s", path, msg, errs->n, all);
    }
}

/* ---------------------------------------------------------------- defaults */

static void test_init_defaults(void **state)
{
    knd_platform_t p;
    knd_platform_init(&p, "127.0.0.1.sslip.io");
    assert_int_equal(p.revision_timeout_seconds, 300);
    assert_int_equal(p.max_revision_timeout_seconds, 600);
    assert_int_equal(p.revision_response_start_timeout_seconds, 300);
    assert_int_equal(p.revision_idle_timeout_seconds, 0);
    assert_int_equal(p.container_concurrency, 0);
    assert_int_equal(p.container_concurrency_max_limit, 1000);
    assert_true(p.allow_container_concurrency_zero);
    assert_string_equal(p.container_name_template, "user-container");
    assert_string_equal(p.enable_service_links, "false");
    assert_true(p.container_concurrency_target_percentage == 70);
    assert_true(p.container_concurrency_target_default == 100);
    assert_true(p.requests_per_second_target_default == 200);
    assert_true(p.target_burst_capacity == 211);
    assert_true(p.stable_window_s == 60);
    assert_true(p.panic_window_percentage == 10);
    assert_true(p.panic_threshold_percentage == 200);
    assert_true(p.max_scale_up_rate == 1000);
    assert_true(p.max_scale_down_rate == 2);
    assert_true(p.enable_scale_to_zero);
    assert_true(p.scale_to_zero_grace_period_s == 30);
    assert_true(p.scale_to_zero_pod_retention_period_s == 0);
    assert_true(p.scale_down_delay_s == 0);
    assert_true(p.activator_capacity == 100);
    assert_int_equal(p.initial_scale, 1);
    assert_false(p.allow_zero_initial_scale);
    assert_int_equal(p.min_scale, 0);
    assert_int_equal(p.max_scale, 0);
    assert_int_equal(p.max_scale_limit, 0);
    assert_string_equal(p.pod_autoscaler_class, "kpa.autoscaling.knative.dev");
    assert_string_equal(p.domain_template, "{{.Name}}.{{.Namespace}}.{{.Domain}}");
    assert_string_equal(p.tag_template, "{{.Tag}}-{{.Name}}");
    assert_string_equal(p.default_external_scheme, "http");
    assert_int_equal(p.rollout_duration_s, 0);
    assert_null(p.domains);
    assert_string_equal(p.default_domain, "127.0.0.1.sslip.io");
    assert_int_equal(p.gc_retain_since_create_time_s, 48 * 3600);
    assert_int_equal(p.gc_retain_since_last_active_time_s, 15 * 3600);
    assert_int_equal(p.gc_min_non_active_revisions, 20);
    assert_int_equal(p.gc_max_non_active_revisions, 1000);
    knd_platform_free(&p);

    knd_platform_init(&p, NULL);
    assert_string_equal(p.default_domain, "svc.cluster.local");
    knd_platform_free(&p);
}

static void test_is_config_name(void **state)
{
    const char *yes[] = {"config-defaults", "config-autoscaler", "config-features",
                         "config-network", "config-domain", "config-gc", "config-observability",
                         "config-tracing", "config-deployment", "config-logging"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        assert_true(knd_platform_is_config_name(yes[i]));
    assert_false(knd_platform_is_config_name("config-foo"));
    assert_false(knd_platform_is_config_name("my-config"));
    assert_false(knd_platform_is_config_name(NULL));
}

static void test_feature_defaults(void **state)
{
    knd_platform_t p;
    knd_platform_init(&p, NULL);
    assert_int_equal(p.nfeatures, 33);
    assert_int_equal(knd_platform_feature(&p, "multi-container"), KND_FEATURE_ENABLED);
    assert_int_equal(knd_platform_feature(&p, "kubernetes.podspec-volumes-emptydir"),
                     KND_FEATURE_ENABLED);
    assert_int_equal(knd_platform_feature(&p, "tag-header-based-routing"), KND_FEATURE_DISABLED);
    assert_int_equal(knd_platform_feature(&p, "kubernetes.podspec-init-containers"),
                     KND_FEATURE_DISABLED);
    assert_int_equal(knd_platform_feature(&p, "kubernetes.podspec-affinity"),
                     KND_FEATURE_DISABLED);
    assert_int_equal(knd_platform_feature(&p, "kubernetes.podspec-fieldref"),
                     KND_FEATURE_DISABLED);
    assert_int_equal(knd_platform_feature(&p, "no-such-flag"), KND_FEATURE_DISABLED);
    knd_platform_free(&p);
}

static void test_features_apply(void **state)
{
    knd_platform_t p;
    knd_errlist_t errs;
    knd_errlist_init(&errs);
    knd_platform_init(&p, NULL);
    assert_int_equal(apply(&p, "config-features",
                           "{\"tag-header-based-routing\": \"enabled\","
                           " \"kubernetes.podspec-affinity\": \"ALLOWED\","
                           " \"multi-container\": \"Disabled\","
                           " \"kubernetes.podspec-fieldref\": \"bogus\","
                           " \"secure-pod-defaults\": \"AllowRootBounded\","
                           " \"_example\": \"ignored\", \"unknown-flag\": \"Enabled\"}",
                           &errs),
                     0);
    assert_int_equal(errs.n, 0);
    assert_int_equal(knd_platform_feature(&p, "tag-header-based-routing"), KND_FEATURE_ENABLED);
    assert_int_equal(knd_platform_feature(&p, "kubernetes.podspec-affinity"), KND_FEATURE_ALLOWED);
    assert_int_equal(knd_platform_feature(&p, "multi-container"), KND_FEATURE_DISABLED);
    /* An unrecognised value keeps the default, as asFlag does. */
    assert_int_equal(knd_platform_feature(&p, "kubernetes.podspec-fieldref"),
                     KND_FEATURE_DISABLED);
    assert_int_equal(knd_platform_feature(&p, "secure-pod-defaults"), KND_FEATURE_ALLOWED);
    assert_int_equal(knd_platform_feature(&p, "unknown-flag"), KND_FEATURE_DISABLED);

    /* Re-applying without a key restores its default (Knative rebuilds from defaults). */
    assert_int_equal(apply(&p, "config-features", "{}", &errs), 0);
    assert_int_equal(knd_platform_feature(&p, "multi-container"), KND_FEATURE_ENABLED);
    assert_int_equal(knd_platform_feature(&p, "tag-header-based-routing"), KND_FEATURE_DISABLED);
    knd_platform_free(&p);
    knd_errlist_free(&errs);
}

/* ---------------------------------------------------------------- config-autoscaler */

static void test_autoscaler_overridden(void **state)
{
    knd_platform_t p;
    knd_errlist_t errs;
    knd_errlist_init(&errs);
    knd_platform_init(&p, NULL);
    assert_int_equal(apply(&p, "config-autoscaler",
                           "{\"enable-scale-to-zero\": \"true\", \"max-scale-down-rate\": \"3.0\","
                           " \"max-scale-up-rate\": \"1.01\","
                           " \"container-concurrency-target-percentage\": \"0.71\","
                           " \"container-concurrency-target-default\": \"10.5\","
                           " \"requests-per-second-target-default\": \"10.11\","
                           " \"target-burst-capacity\": \"12345\", \"scale-down-delay\": \"15m\","
                           " \"stable-window\": \"5m\", \"tick-interval\": \"2s\","
                           " \"panic-window-percentage\": \"10\","
                           " \"panic-threshold-percentage\": \"200\","
                           " \"pod-autoscaler-class\": \" some.class \","
                           " \"activator-capacity\": \"905\","
                           " \"scale-to-zero-pod-retention-period\": \"2m3s\"}",
                           &errs),
                     0);
    assert_int_equal(errs.n, 0);
    assert_true(fabs(p.container_concurrency_target_percentage - 71) < 1e-9);
    assert_true(p.container_concurrency_target_default == 10.5);
    assert_true(p.requests_per_second_target_default == 10.11);
    assert_true(p.target_burst_capacity == 12345);
    assert_true(p.max_scale_up_rate == 1.01);
    assert_true(p.max_scale_down_rate == 3);
    assert_true(p.scale_down_delay_s == 900);
    assert_true(p.stable_window_s == 300);
    assert_true(p.activator_capacity == 905);
    assert_true(p.scale_to_zero_pod_retention_period_s == 123);
    assert_string_equal(p.pod_autoscaler_class, "some.class");
    knd_platform_free(&p);
    knd_errlist_free(&errs);
}

static void test_autoscaler_toggles(void **state)
{
    knd_platform_t p;
    knd_errlist_t errs;
    knd_errlist_init(&errs);
    knd_platform_init(&p, NULL);
    assert_int_equal(apply(&p, "config-autoscaler",
                           "{\"enable-scale-to-zero\": \"false\", \"min-scale\": \"1\","
                           " \"max-scale\": \"2\", \"scale-to-zero-grace-period\": \"33s\","
                           " \"container-concurrency-target-percentage\": \"55\","
                           " \"target-burst-capacity\": \"-1\", \"initial-scale\": \"0\","
                           " \"allow-zero-initial-scale\": \"TRUE\", \"max-scale-limit\": \"5\"}",
                           &errs),
                     0);
    assert_false(p.enable_scale_to_zero);
    assert_int_equal(p.min_scale, 1);
    assert_int_equal(p.max_scale, 2);
    assert_int_equal(p.max_scale_limit, 5);
    assert_int_equal(p.initial_scale, 0);
    assert_true(p.allow_zero_initial_scale);
    assert_true(p.scale_to_zero_grace_period_s == 33);
    assert_true(fabs(p.container_concurrency_target_percentage - 55) < 1e-9);
    assert_true(p.target_burst_capacity == -1);

    /* Re-applying an empty map restores every default. */
    assert_int_equal(apply(&p, "config-autoscaler", "{}", &errs), 0);
    assert_true(p.enable_scale_to_zero);
    assert_int_equal(p.max_scale, 0);
    assert_true(p.container_concurrency_target_percentage == 70);
    knd_platform_free(&p);
    knd_errlist_free(&errs);
}

typedef struct {
    const char *cm;   /* ConfigMap name */
    const char *data; /* JSON object text */
    const char *path; /* expected error path */
    const char *msg;  /* expected substring of the message */
} bad_case_t;

static const bad_case_t bad_cases[] = {
    /* config-autoscaler (config_test.go "wantErr" rows, with Knative's messages) */
    {"config-autoscaler", "{\"max-scale-up-rate\": \"not a float\"}", "data.max-scale-up-rate",
     "failed to parse data: failed to parse \"max-scale-up-rate\": strconv.ParseFloat: parsing "
     "\"not a float\": invalid syntax"},
    {"config-autoscaler", "{\"scale-down-delay\": \"-1m23s\"}", "data.scale-down-delay",
     "scale-down-delay cannot be negative, was: -1m23s"},
    {"config-autoscaler", "{\"scale-to-zero-pod-retention-period\": \"-4m11s\"}",
     "data.scale-to-zero-pod-retention-period",
     "scale-to-zero-pod-retention-period cannot be negative, was: -4m11s"},
    {"config-autoscaler", "{\"stable-window\": \"not a duration\"}", "data.stable-window",
     "failed to parse data: failed to parse \"stable-window\": time: invalid duration \"not a "
     "duration\""},
    /* beyond Go's time.Duration (292 years of nanoseconds): ParseDuration refuses it */
    {"config-autoscaler", "{\"stable-window\": \"3000000000h\"}", "data.stable-window",
     "failed to parse data: failed to parse \"stable-window\": time: invalid duration "
     "\"3000000000h\""},
    {"config-autoscaler", "{\"target-burst-capacity\": \"-11\"}", "data.target-burst-capacity",
     "target-burst-capacity must be either non-negative or -1 (for unlimited), was: -11.000000"},
    {"config-autoscaler", "{\"container-concurrency-target-percentage\": \"-42\"}",
     "data.container-concurrency-target-percentage",
     "container-concurrency-target-percentage = -42.000000 is outside of valid range of (0, 100]"},
    {"config-autoscaler", "{\"container-concurrency-target-percentage\": \"142.4\"}",
     "data.container-concurrency-target-percentage",
     "container-concurrency-target-percentage = 1.424000 is outside of valid range of (0, 100]"},
    {"config-autoscaler", "{\"requests-per-second-target-default\": \"-5.25\"}",
     "data.requests-per-second-target-default",
     "requests-per-second-target-default must be at least 0.01, was: -5.25"},
    {"config-autoscaler", "{\"max-scale-up-rate\": \"1\"}", "data.max-scale-up-rate",
     "max-scale-up-rate = 1, must be greater than 1.0"},
    {"config-autoscaler", "{\"max-scale-down-rate\": \"-55\"}", "data.max-scale-down-rate",
     "max-scale-down-rate = -55, must be greater than 1.0"},
    {"config-autoscaler", "{\"max-scale-down-rate\": \"1\"}", "data.max-scale-down-rate",
     "max-scale-down-rate = 1, must be greater than 1.0"},
    {"config-autoscaler", "{\"stable-window\": \"1h1s\"}", "data.stable-window",
     "stable-window = 1h0m1s, must be in [6s; 1h0m0s] range"},
    {"config-autoscaler", "{\"stable-window\": \"1s\"}", "data.stable-window",
     "stable-window = 1s, must be in [6s; 1h0m0s] range"},
    {"config-autoscaler", "{\"stable-window\": \"61984ms\"}", "data.stable-window",
     "stable-window = 1m1.984s, must be specified with at most second precision"},
    {"config-autoscaler", "{\"scale-down-delay\": \"61984ms\"}", "data.scale-down-delay",
     "scale-down-delay = 1m1.984s, must be specified with at most second precision"},
    {"config-autoscaler", "{\"activator-capacity\": \"0.95\"}", "data.activator-capacity",
     "activator-capacity = 0.95, must be at least 1"},
    {"config-autoscaler", "{\"panic-window-percentage\": \"0.1\"}",
     "data.panic-window-percentage", "panic-window-percentage = 0.1, must be in [1, 100] interval"},
    {"config-autoscaler", "{\"stable-window\": \"12s\", \"panic-window-percentage\": \"110\"}",
     "data.panic-window-percentage", "panic-window-percentage = 110, must be in [1, 100] interval"},
    {"config-autoscaler",
     "{\"container-concurrency-target-percentage\": \"1\","
     " \"container-concurrency-target-default\": \"0.001\"}",
     "data.container-concurrency-target-default",
     "yield target concurrency of 0.001, can't be less than 0.01"},
    {"config-autoscaler", "{\"stable-window\": \"12s\", \"scale-to-zero-grace-period\": \"0s\"}",
     "data.scale-to-zero-grace-period", "scale-to-zero-grace-period must be positive, was: 0s"},
    {"config-autoscaler", "{\"initial-scale\": \"0\"}", "data.initial-scale",
     "initial-scale = 0, must be at least 0 (or at least 1 when allow-zero-initial-scale is "
     "false)"},
    {"config-autoscaler", "{\"initial-scale\": \"-1\", \"allow-zero-initial-scale\": \"true\"}",
     "data.initial-scale", "initial-scale = -1, must be at least 0"},
    {"config-autoscaler", "{\"min-scale\": \"-1\"}", "data.min-scale",
     "min-scale = -1, must be at least 0"},
    {"config-autoscaler", "{\"max-scale\": \"-1\"}", "data.max-scale",
     "max-scale = -1, must be in [0, max-scale-limit(0)] range"},
    {"config-autoscaler", "{\"max-scale\": \"0\", \"max-scale-limit\": \"10\"}", "data.max-scale",
     "max-scale = 0, must be in [1, max-scale-limit(10)] range"},
    {"config-autoscaler", "{\"max-scale\": \"11\", \"max-scale-limit\": \"10\"}", "data.max-scale",
     "max-scale = 11, must be in [1, max-scale-limit(10)] range"},
    {"config-autoscaler", "{\"max-scale-limit\": \"-1\"}", "data.max-scale-limit",
     "max-scale-limit = -1, must be at least 0"},
    {"config-autoscaler", "{\"min-scale\": \"5\", \"max-scale\": \"3\"}", "data.min-scale",
     "min-scale (5) must be less than max-scale (3)"},
    {"config-autoscaler", "{\"enable-scale-to-zero\": \"yes\"}", "data.enable-scale-to-zero",
     "strconv.ParseBool: parsing \"yes\": invalid syntax"},
    {"config-autoscaler", "{\"initial-scale\": \"1.5\"}", "data.initial-scale",
     "strconv.ParseInt: parsing \"1.5\": invalid syntax"},
    {"config-autoscaler", "{\"max-scale\": \"3000000000\"}", "data.max-scale",
     "strconv.ParseInt: parsing \"3000000000\": value out of range"},
    {"config-autoscaler", "{\"stable-window\": 60}", "data.stable-window",
     "cannot unmarshal number into Go struct field ConfigMap.data of type string"},
    /* config-defaults (defaults_test.go) */
    {"config-defaults", "{\"revision-timeout-seconds\": \"700\"}", "data.revision-timeout-seconds",
     "revision-timeout-seconds (700) cannot be greater than max-revision-timeout-seconds (600)"},
    {"config-defaults",
     "{\"revision-timeout-seconds\": \"100\", \"revision-response-start-timeout-seconds\": "
     "\"200\"}",
     "data.revision-response-start-timeout-seconds",
     "revision-response-start-timeout-seconds (200) cannot be greater than "
     "revision-timeout-seconds (100)"},
    {"config-defaults", "{\"revision-idle-timeout-seconds\": \"301\"}",
     "data.revision-idle-timeout-seconds",
     "revision-idle-timeout-seconds (301) cannot be greater than revision-timeout-seconds (300)"},
    {"config-defaults", "{\"container-concurrency-max-limit\": \"0\"}",
     "data.container-concurrency-max-limit", "expected 1 <= 0 <= 2147483647"},
    {"config-defaults", "{\"container-concurrency\": \"2000\"}", "data.container-concurrency",
     "expected 0 <= 2000 <= 1000"},
    {"config-defaults", "{\"container-concurrency\": \"-1\"}", "data.container-concurrency",
     "expected 0 <= -1 <= 1000"},
    {"config-defaults", "{\"revision-timeout-seconds\": \"asdf\"}",
     "data.revision-timeout-seconds",
     "failed to parse \"revision-timeout-seconds\": strconv.ParseInt: parsing \"asdf\": invalid "
     "syntax"},
    {"config-defaults", "{\"container-name-template\": \"{{.NAme}}\"}",
     "data.container-name-template", "can't evaluate field NAme in type v1.ObjectMeta"},
    {"config-defaults", "{\"container-name-template\": \"{{.Name}\"}",
     "data.container-name-template", "unclosed action"},
    /* config-network (networking config_test.go) */
    {"config-network", "{\"domain-template\": \"\"}", "data.domain-template", "empty hostname"},
    {"config-network", "{\"domain-template\": \"{{.Namespace}.{{.Name}}.{{.Domain}}\"}",
     "data.domain-template", "template: domain-template"},
    {"config-network", "{\"domain-template\": \"{{.Domain}}/{{.Namespace}}/{{.Name}}.\"}",
     "data.domain-template", "domain template has url path: /bar/foo."},
    {"config-network", "{\"domain-template\": \"{{.Name}}.{{.NAmespace}}.{{.Domain}}\"}",
     "data.domain-template",
     "can't evaluate field NAmespace in type config.DomainTemplateValues"},
    {"config-network", "{\"domain-template\": \"{{.Name}}\"}", "data.domain-template",
     "invalid domain name \"foo\""},
    {"config-network", "{\"domain-template\": \"{{.Name}}.{{.Namespace}}.{{.Domain}}.Foo\"}",
     "data.domain-template", "invalid domain name \"foo.bar.baz.com.Foo\""},
    {"config-network", "{\"domainTemplate\": \"{{.Tag}}.{{.Domain}}\"}", "data.domainTemplate",
     "can't evaluate field Tag in type config.DomainTemplateValues"},
    {"config-network", "{\"domain-template\": \"{{index .Annotations \\\"sub\\\"}}.{{.Domain}}\"}",
     "data.domain-template", "unsupported action"},
    {"config-network", "{\"tag-template\": \"{{.NNName}}-{{.Tag}}\"}", "data.tag-template",
     "can't evaluate field NNName in type config.TagTemplateValues"},
    {"config-network", "{\"tag-template\": \"Foo.{{.Name}}-{{.Tag}}\"}", "data.tag-template",
     "invalid domain name \"Foo.foo-v2\""},
    {"config-network", "{\"rollout-duration\": \"-1\"}", "data.rollout-duration",
     "rollout-duration must be a positive integer, but was -1"},
    {"config-network", "{\"rollout-duration\": \"5m\"}", "data.rollout-duration",
     "strconv.ParseInt: parsing \"5m\": invalid syntax"},
    /* config-gc (gc config_test.go) */
    {"config-gc", "{\"retain-since-create-time\": \"-1h\"}", "data.retain-since-create-time",
     "failed to parse retain-since-create-time: must be non-negative"},
    {"config-gc", "{\"retain-since-last-active-time\": \"forever\"}",
     "data.retain-since-last-active-time",
     "failed to parse retain-since-last-active-time: time: invalid duration \"forever\""},
    {"config-gc", "{\"max-non-active-revisions\": \"-1\"}", "data.max-non-active-revisions",
     "failed to parse max-non-active-revisions: strconv.ParseUint: parsing \"-1\": invalid syntax"},
    {"config-gc", "{\"min-non-active-revisions\": \"-1\"}", "data.min-non-active-revisions",
     "min-non-active-revisions must be non-negative, was: -1"},
    {"config-gc", "{\"min-non-active-revisions\": \"x\"}", "data.min-non-active-revisions",
     "failed to parse data: failed to parse \"min-non-active-revisions\": strconv.ParseInt"},
    {"config-gc", "{\"min-non-active-revisions\": \"500\", \"max-non-active-revisions\": \"5\"}",
     "data.min-non-active-revisions",
     "min-non-active-revisions(500) must be <= max-non-active-revisions(5)"},
    /* config-domain (domain_test.go) */
    {"config-domain", "{\"default.com\": \"bad: yaml: all: day\"}", "data.default.com",
     "mapping values are not allowed in this context"},
    {"config-domain", "{\"a.com\": \"  app: foo\"}", "data.a.com", "did not find expected key"},
    {"config-domain", "{\"a.com\": \"selector\"}", "data.a.com", "could not find expected ':'"},
    {"config-domain", "{\"a.com\": \"{\\\"selector\\\": [1]}\"}", "data.a.com",
     "cannot unmarshal"},
};

/* A bad value is reported at its key, and the platform is left exactly as it was. */
static void test_bad_value(void **state)
{
    const bad_case_t *c = *state;
    knd_platform_t p, before;
    knd_errlist_t errs;
    knd_errlist_init(&errs);
    knd_platform_init(&p, "example.com");
    knd_platform_copy(&before, &p);
    assert_int_equal(apply(&p, c->cm, c->data, &errs), -1);
    assert_one_error(&errs, c->path, c->msg);
    assert_null(p.domains);
    p.domains = before.domains;
    assert_memory_equal(&p, &before, sizeof(p));
    p.domains = NULL;
    knd_platform_free(&p);
    knd_platform_free(&before);
    knd_errlist_free(&errs);
}

static void test_all_or_nothing(void **state)
{
    knd_platform_t p;
    knd_errlist_t errs;
    knd_errlist_init(&errs);
    knd_platform_init(&p, NULL);
    assert_int_equal(apply(&p, "config-autoscaler", "{\"stable-window\": \"30s\"}", &errs), 0);
    /* One good key and one bad: nothing is applied, the earlier value stays. */
    assert_int_equal(apply(&p, "config-autoscaler",
                           "{\"stable-window\": \"90s\", \"max-scale-up-rate\": \"0.5\"}", &errs),
                     -1);
    assert_true(p.stable_window_s == 30);
    assert_true(p.max_scale_up_rate == 1000);
    knd_platform_free(&p);
    knd_errlist_free(&errs);
}

static void test_errors_reported_together(void **state)
{
    knd_platform_t p;
    knd_errlist_t errs;
    knd_errlist_init(&errs);
    knd_platform_init(&p, NULL);
    assert_int_equal(apply(&p, "config-autoscaler",
                           "{\"max-scale-up-rate\": \"1\", \"max-scale-down-rate\": \"1\","
                           " \"stable-window\": \"1s\"}",
                           &errs),
                     -1);
    assert_int_equal(errs.n, 3);
    knd_platform_free(&p);
    knd_errlist_free(&errs);
}

/* ---------------------------------------------------------------- config-defaults */

static void test_defaults_apply(void **state)
{
    knd_platform_t p;
    knd_errlist_t errs;
    knd_errlist_init(&errs);
    knd_platform_init(&p, NULL);
    assert_int_equal(apply(&p, "config-defaults",
                           "{\"revision-timeout-seconds\": \"123\","
                           " \"max-revision-timeout-seconds\": \"456\","
                           " \"revision-idle-timeout-seconds\": \"50\","
                           " \"container-concurrency\": \"10\","
                           " \"container-concurrency-max-limit\": \"100\","
                           " \"allow-container-concurrency-zero\": \"false\","
                           " \"container-name-template\": \"{{.Name}}\","
                           " \"enable-service-links\": \"TRUE\","
                           " \"revision-cpu-request\": \"100m\"}",
                           &errs),
                     0);
    assert_int_equal(errs.n, 0);
    assert_int_equal(p.revision_timeout_seconds, 123);
    assert_int_equal(p.max_revision_timeout_seconds, 456);
    /* response-start follows revision-timeout-seconds unless set. */
    assert_int_equal(p.revision_response_start_timeout_seconds, 123);
    assert_int_equal(p.revision_idle_timeout_seconds, 50);
    assert_int_equal(p.container_concurrency, 10);
    assert_int_equal(p.container_concurrency_max_limit, 100);
    assert_false(p.allow_container_concurrency_zero);
    assert_string_equal(p.container_name_template, "{{.Name}}");
    assert_string_equal(p.enable_service_links, "true");

    assert_int_equal(apply(&p, "config-defaults",
                           "{\"revision-response-start-timeout-seconds\": \"20\","
                           " \"enable-service-links\": \"maybe\"}",
                           &errs),
                     0);
    assert_int_equal(p.revision_response_start_timeout_seconds, 20);
    assert_int_equal(p.revision_timeout_seconds, 300);
    assert_string_equal(p.enable_service_links, "");
    assert_string_equal(p.container_name_template, "user-container");
    knd_platform_free(&p);
    knd_errlist_free(&errs);
}

/* ---------------------------------------------------------------- config-network */

static void test_network_apply(void **state)
{
    knd_platform_t p;
    knd_errlist_t errs;
    knd_errlist_init(&errs);
    knd_platform_init(&p, NULL);
    assert_int_equal(apply(&p, "config-network",
                           "{\"domain-template\": \"{{.Namespace}}.{{.Name}}.{{.Domain}}\","
                           " \"tag-template\": \"{{.Tag}}-dot-{{.Name}}\","
                           " \"default-external-scheme\": \"https\","
                           " \"rollout-duration\": \"211\", \"ingress-class\": \"x\"}",
                           &errs),
                     0);
    assert_int_equal(errs.n, 0);
    assert_string_equal(p.domain_template, "{{.Namespace}}.{{.Name}}.{{.Domain}}");
    assert_string_equal(p.tag_template, "{{.Tag}}-dot-{{.Name}}");
    assert_string_equal(p.default_external_scheme, "https");
    assert_int_equal(p.rollout_duration_s, 211);
    knd_platform_free(&p);
    knd_errlist_free(&errs);
}

static void test_network_legacy_keys(void **state)
{
    knd_platform_t p;
    knd_errlist_t errs;
    knd_errlist_init(&errs);
    knd_platform_init(&p, NULL);
    assert_int_equal(apply(&p, "config-network",
                           "{\"domainTemplate\": \"{{.Name}}-{{.Namespace}}.{{.Domain}}\","
                           " \"tagTemplate\": \"{{.Name}}-{{.Tag}}\", \"rolloutDuration\": \"5\","
                           " \"defaultExternalScheme\": \"https\"}",
                           &errs),
                     0);
    assert_string_equal(p.domain_template, "{{.Name}}-{{.Namespace}}.{{.Domain}}");
    assert_string_equal(p.tag_template, "{{.Name}}-{{.Tag}}");
    assert_int_equal(p.rollout_duration_s, 5);
    assert_string_equal(p.default_external_scheme, "https");
    /* Newer keys take precedence over legacy keys. */
    assert_int_equal(apply(&p, "config-network",
                           "{\"domainTemplate\": \"{{.Name}}-{{.Namespace}}.{{.Domain}}\","
                           " \"domain-template\": \"{{.Name}}.{{.Domain}}\","
                           " \"rolloutDuration\": \"5\", \"rollout-duration\": \"11\"}",
                           &errs),
                     0);
    assert_string_equal(p.domain_template, "{{.Name}}.{{.Domain}}");
    assert_int_equal(p.rollout_duration_s, 11);
    /* Label-dependent templates and Go's trim markers are accepted. */
    assert_int_equal(apply(&p, "config-network",
                           "{\"domain-template\": \"{{.Name}}.{{ index .Labels \\\"bus\\\" }}."
                           "{{- .Domain -}}\"}",
                           &errs),
                     0);
    assert_int_equal(errs.n, 0);
    knd_platform_free(&p);
    knd_errlist_free(&errs);
}

/* ---------------------------------------------------------------- config-gc */

static void test_gc_apply(void **state)
{
    knd_platform_t p;
    knd_errlist_t errs;
    knd_errlist_init(&errs);
    knd_platform_init(&p, NULL);
    assert_int_equal(apply(&p, "config-gc",
                           "{\"retain-since-create-time\": \"17h\","
                           " \"retain-since-last-active-time\": \"16h\","
                           " \"min-non-active-revisions\": \"5\","
                           " \"max-non-active-revisions\": \"500\"}",
                           &errs),
                     0);
    assert_int_equal(p.gc_retain_since_create_time_s, 17 * 3600);
    assert_int_equal(p.gc_retain_since_last_active_time_s, 16 * 3600);
    assert_int_equal(p.gc_min_non_active_revisions, 5);
    assert_int_equal(p.gc_max_non_active_revisions, 500);
    assert_int_equal(apply(&p, "config-gc",
                           "{\"retain-since-create-time\": \"disabled\","
                           " \"retain-since-last-active-time\": \"Disabled\","
                           " \"min-non-active-revisions\": \"5000\","
                           " \"max-non-active-revisions\": \"DISABLED\"}",
                           &errs),
                     0);
    assert_int_equal(p.gc_retain_since_create_time_s, -1);
    assert_int_equal(p.gc_retain_since_last_active_time_s, -1);
    assert_int_equal(p.gc_min_non_active_revisions, 5000);
    assert_int_equal(p.gc_max_non_active_revisions, -1);
    /* Empty values keep the defaults. */
    assert_int_equal(apply(&p, "config-gc", "{\"retain-since-create-time\": \"\"}", &errs), 0);
    assert_int_equal(p.gc_retain_since_create_time_s, 48 * 3600);
    assert_int_equal(p.gc_max_non_active_revisions, 1000);
    assert_int_equal(errs.n, 0);
    knd_platform_free(&p);
    knd_errlist_free(&errs);
}

/* ---------------------------------------------------------------- config-domain */

static void test_domain_apply(void **state)
{
    knd_platform_t p;
    knd_errlist_t errs;
    json_error_t jerr;
    knd_errlist_init(&errs);
    knd_platform_init(&p, NULL);
    assert_int_equal(apply(&p, "config-domain",
                           "{\"test-domain.foo.com\": \"selector:\\n  app: foo\\n\","
                           " \"bar.com\": \"selector:\\n  app: bar\\n  version: 'beta'  # c\\n"
                           "type: wildcard\","
                           " \"json.com\": \"{\\\"selector\\\": {\\\"app\\\": \\\"json\\\"}}\","
                           " \"default.com\": \"\", \"_example\": \"selector: [oops\"}",
                           &errs),
                     0);
    assert_int_equal(errs.n, 0);
    json_t *want = json_loads("{\"test-domain.foo.com\": {\"app\": \"foo\"},"
                              " \"bar.com\": {\"app\": \"bar\", \"version\": \"beta\"},"
                              " \"json.com\": {\"app\": \"json\"}, \"default.com\": {}}",
                              0, &jerr);
    assert_true(json_equal(p.domains, want));
    json_decref(want);

    /* No catch-all configured: Knative adds the cluster domain as one. */
    assert_int_equal(apply(&p, "config-domain", "{\"a.com\": \"selector:\\n  app: a\"}", &errs),
                     0);
    want = json_loads("{\"a.com\": {\"app\": \"a\"}, \"svc.cluster.local\": {}}", 0, &jerr);
    assert_true(json_equal(p.domains, want));
    json_decref(want);

    assert_int_equal(apply(&p, "config-domain", "{}", &errs), 0);
    want = json_loads("{\"svc.cluster.local\": {}}", 0, &jerr);
    assert_true(json_equal(p.domains, want));
    json_decref(want);

    knd_platform_t copy;
    knd_platform_copy(&copy, &p);
    assert_ptr_not_equal(copy.domains, p.domains);
    assert_true(json_equal(copy.domains, p.domains));
    knd_platform_free(&copy);
    knd_platform_free(&p);
    knd_errlist_free(&errs);
}

/* ---------------------------------------------------------------- dispatch */

static void test_ignored_configmaps(void **state)
{
    knd_platform_t p;
    knd_errlist_t errs;
    knd_errlist_init(&errs);
    knd_platform_init(&p, NULL);
    /* Not a platform name, or the right name in a user namespace: ignored. */
    json_t *cm = json_pack("{s:{s:s, s:s}, s:{s:s}}", "metadata", "name", "my-settings",
                           "namespace", "knative-serving", "data", "stable-window", "bad");
    assert_int_equal(knd_platform_apply_configmap(&p, cm, &errs), 0);
    json_decref(cm);
    cm = json_pack("{s:{s:s, s:s}, s:{s:s}}", "metadata", "name", "config-autoscaler",
                   "namespace", "default", "data", "stable-window", "bad");
    assert_int_equal(knd_platform_apply_configmap(&p, cm, &errs), 0);
    json_decref(cm);
    /* Accepted but not interpreted yet. */
    assert_int_equal(apply(&p, "config-observability", "{\"metrics.backend\": \"prometheus\"}",
                           &errs),
                     0);
    /* No data at all means every default. */
    cm = json_pack("{s:{s:s}}", "metadata", "name", "config-autoscaler");
    assert_int_equal(knd_platform_apply_configmap(&p, cm, &errs), 0);
    json_decref(cm);
    cm = json_pack("{s:{s:s}, s:[]}", "metadata", "name", "config-gc", "data");
    assert_int_equal(knd_platform_apply_configmap(&p, cm, &errs), -1);
    json_decref(cm);
    assert_one_error(&errs, "data", "must be a map");
    assert_true(p.stable_window_s == 60);
    knd_platform_free(&p);
    knd_errlist_free(&errs);
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_init_defaults),
        cmocka_unit_test(test_is_config_name),
        cmocka_unit_test(test_feature_defaults),
        cmocka_unit_test(test_features_apply),
        cmocka_unit_test(test_autoscaler_overridden),
        cmocka_unit_test(test_autoscaler_toggles),
        cmocka_unit_test(test_all_or_nothing),
        cmocka_unit_test(test_errors_reported_together),
        cmocka_unit_test(test_defaults_apply),
        cmocka_unit_test(test_network_apply),
        cmocka_unit_test(test_network_legacy_keys),
        cmocka_unit_test(test_gc_apply),
        cmocka_unit_test(test_domain_apply),
        cmocka_unit_test(test_ignored_configmaps),
    };
    size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
    size_t nbad = sizeof(bad_cases) / sizeof(bad_cases[0]);
    struct CMUnitTest *tests = calloc(nfixed + nbad, sizeof(*tests));
    char(*names)[128] = calloc(nbad, sizeof(*names));
    memcpy(tests, fixed, sizeof(fixed));
    for (size_t i = 0; i < nbad; i++) {
        snprintf(names[i], sizeof(names[i]), "bad_value[%zu] %s %s", i, bad_cases[i].cm,
                 bad_cases[i].path);
        tests[nfixed + i] = (struct CMUnitTest){
            .name = names[i],
            .test_func = test_bad_value,
            .initial_state = (void *)&bad_cases[i],
        };
    }
    int rc = _cmocka_run_group_tests("knd_platform", tests, nfixed + nbad, NULL, NULL);
    free(tests);
    free(names);
    return rc;
}
