/*
 * test_knd_validate.c - knd_model_validate() against Knative's webhook messages and paths. Cases
 * are ported from knative/serving's service/configuration/revision/route validation tests,
 * k8s_validation_test.go and autoscaling/annotation_validation_test.go, plus knd's kind table.
 * This file holds the runner and the object-level cases; test_knd_validate_pod.c and
 * test_knd_validate_ann.c hold the pod spec and annotation/traffic tables. Each row is its own
 * cmocka test; a row passes only if the error list is exactly the expected set, and a valid row
 * must stay valid (and defaulting idempotent) after knd_model_default().
 */
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
#include "knd_model.h"
#include "knd_platform.h"
#include "test_knd_validate_cases.h"

void knd_test_set_feature(knd_platform_t *p, const char *name, knd_feature_state_t st)
{
    for (int i = 0; i < p->nfeatures; i++) {
        if (strcmp(p->features[i].name, name) == 0) {
            p->features[i].state = st;
            return;
        }
    }
    assert_true(p->nfeatures < KND_FEATURES_MAX);
    snprintf(p->features[p->nfeatures].name, sizeof(p->features[0].name), "%s", name);
    p->features[p->nfeatures++].state = st;
}

/* ---------------------------------------------------------------- setups */

static void no_cc_zero(knd_platform_t *p) { p->allow_container_concurrency_zero = false; }
static void cc_limit_50(knd_platform_t *p) { p->container_concurrency_max_limit = 50; }
static void long_timeouts(knd_platform_t *p) { p->max_revision_timeout_seconds = 3600; }

/* ---------------------------------------------------------------- object-level cases */

#define SUPPORTED                                                                                 \
    "supported: Service, Configuration, Revision, Route (serving.knative.dev/v1), DomainMapping " \
    "(serving.knative.dev/v1beta1), ConfigMap, Secret, Namespace (v1)"
#define DM_HEAD "{'apiVersion':'serving.knative.dev/v1beta1','kind':'DomainMapping',"
#define DM_REF "'spec':{'ref':{'apiVersion':'serving.knative.dev/v1','kind':'Service','name':'hello'}}"
#define CFG_HEAD "{'apiVersion':'serving.knative.dev/v1','kind':'Configuration',"
#define REV_HEAD "{'apiVersion':'serving.knative.dev/v1','kind':'Revision',"

const vcase_t knd_test_cases_top[] = {
    {"service_minimal_valid", SVC(PODSPEC), NULL, {{NULL}}},
    {"service_generate_name_valid",
     "{'apiVersion':'serving.knative.dev/v1','kind':'Service','metadata':{'generateName':'hello-'},"
     "'spec':{'template':{'spec':" PODSPEC "}}}",
     NULL,
     {{NULL}}},
    {"kind_cronjob_unsupported",
     "{'apiVersion':'batch/v1','kind':'CronJob','metadata':{'name':'x'}}",
     NULL,
     {{"kind", "kind \"CronJob\" (apiVersion \"batch/v1\") is not supported by knd; " SUPPORTED}}},
    {"kind_networkpolicy_unsupported",
     "{'apiVersion':'networking.k8s.io/v1','kind':'NetworkPolicy','metadata':{'name':'x'}}",
     NULL,
     {{"kind", "kind \"NetworkPolicy\" (apiVersion \"networking.k8s.io/v1\") is not supported by "
               "knd; " SUPPORTED}}},
    {"kind_istio_virtualservice_unsupported",
     "{'apiVersion':'networking.istio.io/v1beta1','kind':'VirtualService','metadata':{'name':'x'}}",
     NULL,
     {{"kind", "kind \"VirtualService\" (apiVersion \"networking.istio.io/v1beta1\") is not "
               "supported by knd; " SUPPORTED}}},
    {"kind_service_v1alpha1",
     "{'apiVersion':'serving.knative.dev/v1alpha1','kind':'Service'," META "}",
     NULL,
     {{"apiVersion", "kind \"Service\" (apiVersion \"serving.knative.dev/v1alpha1\") is not "
                     "supported by knd; use apiVersion \"serving.knative.dev/v1\""}}},
    {"kind_missing", "{'apiVersion':'v1'," META "}", NULL, {{"kind", MISSING}}},
    {"apiversion_missing", "{'kind':'Service'," META "}", NULL, {{"apiVersion", MISSING}}},
    {"unknown_top_level_field",
     SVC_HEAD ",'spec':{'template':{'spec':" PODSPEC "}},'foo':1}",
     NULL,
     {{"foo", "unknown field \"foo\""}}},
    {"unknown_metadata_field",
     "{'apiVersion':'serving.knative.dev/v1','kind':'Service','metadata':{'name':'hello','bar':'x'},"
     "'spec':{'template':{'spec':" PODSPEC "}}}",
     NULL,
     {{"metadata.bar", "unknown field \"metadata.bar\""}}},
    {"unknown_spec_field",
     SVC_HEAD ",'spec':{'template':{'spec':" PODSPEC "},'replicas':2}}",
     NULL,
     {{"spec.replicas", "unknown field \"spec.replicas\""}}},
    {"unknown_template_spec_field", SVC_P("'foo':true"), NULL,
     {{P_TPL ".foo", "unknown field \"" P_TPL ".foo\""}}},
    {"unknown_container_field", SVC_C("'imagePullSecret':'x'"), NULL,
     {{P_C0 ".imagePullSecret", "unknown field \"" P_C0 ".imagePullSecret\""}}},
    {"wrong_type_container_concurrency", SVC_P("'containerConcurrency':'ten'"), NULL,
     {{P_TPL ".containerConcurrency",
       "Invalid value: \"string\": " P_TPL ".containerConcurrency in body must be of type "
       "integer: \"string\""}}},
    {"name_missing",
     "{'apiVersion':'serving.knative.dev/v1','kind':'Service','metadata':{'namespace':'default'},"
     "'spec':{'template':{'spec':" PODSPEC "}}}",
     NULL,
     {{"metadata.name", "name or generateName is required"}}},
    {"name_with_dots",
     "{'apiVersion':'serving.knative.dev/v1','kind':'Service','metadata':{'name':'do.not.use.dots'},"
     "'spec':{'template':{'spec':" PODSPEC "}}}",
     NULL,
     {{"metadata.name", "not a DNS 1035 label: [" DNS1035_MSG "]"}}},
    {"name_too_long",
     "{'apiVersion':'serving.knative.dev/v1','kind':'Service','metadata':{'name':'"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'},"
     "'spec':{'template':{'spec':" PODSPEC "}}}",
     NULL,
     {{"metadata.name", "not a DNS 1035 label: [must be no more than 63 characters]"}}},
    {"name_starts_with_digit",
     "{'apiVersion':'serving.knative.dev/v1','kind':'Service','metadata':{'name':'1hello'},"
     "'spec':{'template':{'spec':" PODSPEC "}}}",
     NULL,
     {{"metadata.name", "not a DNS 1035 label: [" DNS1035_MSG "]"}}},
    {"generate_name_invalid",
     "{'apiVersion':'serving.knative.dev/v1','kind':'Service','metadata':{'generateName':'Bad_'},"
     "'spec':{'template':{'spec':" PODSPEC "}}}",
     NULL,
     {{"metadata.generateName", "not a DNS 1035 label prefix: [" DNS1035_MSG "]"}}},
    {"namespace_invalid",
     "{'apiVersion':'serving.knative.dev/v1','kind':'Service','metadata':{'name':'hello',"
     "'namespace':'Bad_NS'},'spec':{'template':{'spec':" PODSPEC "}}}",
     NULL,
     {{"metadata.namespace", "Invalid value: \"Bad_NS\": " DNS1123_LABEL_MSG}}},
    {"label_value_invalid",
     "{'apiVersion':'serving.knative.dev/v1','kind':'Service','metadata':{'name':'hello',"
     "'labels':{'app':'-bad-'}},'spec':{'template':{'spec':" PODSPEC "}}}",
     NULL,
     {{"metadata.labels.app",
       "Invalid value: \"-bad-\": a valid label must be an empty string or consist of "
       "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
       "character"}}},
    {"annotation_value_not_string",
     "{'apiVersion':'serving.knative.dev/v1','kind':'Service','metadata':{'name':'hello',"
     "'annotations':{'a':1}},'spec':{'template':{'spec':" PODSPEC "}}}",
     NULL,
     {{"metadata.annotations.a",
       "Invalid value: \"integer\": metadata.annotations.a in body must be of type string"}}},
    {"service_no_spec", SVC_HEAD "}", NULL, {{P_TPL ".containers", MISSING}}},
    {"service_status_ignored", SVC_HEAD ",'spec':{'template':{'spec':" PODSPEC "}},"
     "'status':{'url':'http://x'}}", NULL, {{NULL}}},
    {"service_autoscaling_annotation_on_metadata",
     "{'apiVersion':'serving.knative.dev/v1','kind':'Service','metadata':{'name':'hello',"
     "'annotations':{'autoscaling.knative.dev/min-scale':'1'}},'spec':{'template':{'spec':" PODSPEC
     "}}}",
     NULL,
     {{"metadata.annotations", "invalid key name \"autoscaling.knative.dev/min-scale\""}}},
    {"service_rollout_duration_valid",
     "{'apiVersion':'serving.knative.dev/v1','kind':'Service','metadata':{'name':'hello',"
     "'annotations':{'serving.knative.dev/rollout-duration':'200s'}},'spec':{'template':{'spec':"
     PODSPEC "}}}",
     NULL,
     {{NULL}}},
    {"service_rollout_duration_precision",
     "{'apiVersion':'serving.knative.dev/v1','kind':'Service','metadata':{'name':'hello',"
     "'annotations':{'serving.knative.dev/rollout-duration':'1.5s'}},'spec':{'template':{'spec':"
     PODSPEC "}}}",
     NULL,
     {{"metadata.annotations.serving.knative.dev/rollout-duration",
       "rollout-duration=1.5s is not at second precision"}}},
    {"service_rollout_duration_negative",
     "{'apiVersion':'serving.knative.dev/v1','kind':'Service','metadata':{'name':'hello',"
     "'annotations':{'serving.knative.dev/rollout-duration':'-3s'}},'spec':{'template':{'spec':"
     PODSPEC "}}}",
     NULL,
     {{"metadata.annotations.serving.knative.dev/rollout-duration",
       "rollout-duration=-3s must be positive"}}},
    {"service_rollout_duration_garbage",
     "{'apiVersion':'serving.knative.dev/v1','kind':'Service','metadata':{'name':'hello',"
     "'annotations':{'serving.knative.dev/rollout-duration':'soon'}},'spec':{'template':{'spec':"
     PODSPEC "}}}",
     NULL,
     {{"metadata.annotations.serving.knative.dev/rollout-duration", "invalid value: soon"}}},
    /* containerConcurrency and timeouts */
    {"cc_too_big", SVC_P("'containerConcurrency':2000"), NULL,
     {{P_TPL ".containerConcurrency", "expected 0 <= 2000 <= 1000"}}},
    {"cc_negative", SVC_P("'containerConcurrency':-1"), NULL,
     {{P_TPL ".containerConcurrency", "expected 0 <= -1 <= 1000"}}},
    {"cc_zero_disallowed", SVC_P("'containerConcurrency':0"), no_cc_zero,
     {{P_TPL ".containerConcurrency", "expected 1 <= 0 <= 1000"}}},
    {"cc_custom_limit", SVC_P("'containerConcurrency':100"), cc_limit_50,
     {{P_TPL ".containerConcurrency", "expected 0 <= 100 <= 50"}}},
    {"cc_valid", SVC_P("'containerConcurrency':10"), NULL, {{NULL}}},
    {"timeout_too_big", SVC_P("'timeoutSeconds':601"), NULL,
     {{P_TPL ".timeoutSeconds", "expected 0 <= 601 <= 600"}}},
    {"timeout_negative", SVC_P("'timeoutSeconds':-1"), NULL,
     {{P_TPL ".timeoutSeconds", "expected 0 <= -1 <= 600"}}},
    {"timeout_zero_valid", SVC_P("'timeoutSeconds':0"), NULL, {{NULL}}},
    {"timeout_raised_max", SVC_P("'timeoutSeconds':1000"), long_timeouts, {{NULL}}},
    {"response_start_timeout_negative", SVC_P("'responseStartTimeoutSeconds':-5"), NULL,
     {{P_TPL ".responseStartTimeoutSeconds", "expected 0 <= -5 <= 600"}}},
    {"idle_timeout_valid", SVC_P("'idleTimeoutSeconds':60"), NULL, {{NULL}}},
    /* template name */
    {"template_name_valid",
     SVC_HEAD ",'spec':{'template':{'metadata':{'name':'hello-v1'},'spec':" PODSPEC "}}}", NULL,
     {{NULL}}},
    {"template_name_wrong_prefix",
     SVC_HEAD ",'spec':{'template':{'metadata':{'name':'other-v1'},'spec':" PODSPEC "}}}", NULL,
     {{"spec.template.metadata.name", "invalid value: \"other-v1\" must have prefix \"hello-\""}}},
    {"template_name_not_dns1035",
     SVC_HEAD ",'spec':{'template':{'metadata':{'name':'hello_v1'},'spec':" PODSPEC "}}}", NULL,
     {{"spec.template.metadata.name", "invalid value: not a DNS 1035 label: [" DNS1035_MSG "]"}}},
    {"template_name_with_generate_name_parent",
     "{'apiVersion':'serving.knative.dev/v1','kind':'Service','metadata':{'generateName':'hello-'},"
     "'spec':{'template':{'metadata':{'name':'hello-v1'},'spec':" PODSPEC "}}}",
     NULL,
     {{"spec.template.metadata.name", MUST_NOT}}},
    {"template_metadata_unknown",
     SVC_HEAD ",'spec':{'template':{'metadata':{'nam':'x'},'spec':" PODSPEC "}}}", NULL,
     {{"spec.template.metadata.nam", "unknown field \"spec.template.metadata.nam\""}}},
    /* Configuration */
    {"configuration_valid", CFG_HEAD META ",'spec':{'template':{'spec':" PODSPEC "}}}", NULL,
     {{NULL}}},
    {"configuration_traffic_unknown",
     CFG_HEAD META ",'spec':{'template':{'spec':" PODSPEC "},'traffic':[]}}", NULL,
     {{"spec.traffic", "unknown field \"spec.traffic\""}}},
    {"configuration_autoscaling_on_metadata",
     CFG_HEAD "'metadata':{'name':'cfg','annotations':{'autoscaling.knative.dev/window':'10s'}},"
     "'spec':{'template':{'spec':" PODSPEC "}}}",
     NULL,
     {{"metadata.annotations", "invalid key name \"autoscaling.knative.dev/window\""}}},
    {"configuration_byo_prefix",
     CFG_HEAD "'metadata':{'name':'cfg'},'spec':{'template':{'metadata':{'name':'hello-1'},"
     "'spec':" PODSPEC "}}}",
     NULL,
     {{"spec.template.metadata.name", "invalid value: \"hello-1\" must have prefix \"cfg-\""}}},
    {"configuration_service_label_without_owner",
     CFG_HEAD "'metadata':{'name':'cfg','labels':{'serving.knative.dev/service':'hello'}},"
     "'spec':{'template':{'spec':" PODSPEC "}}}",
     NULL,
     {{"metadata.labels.serving.knative.dev/service", MISSING}}},
    {"configuration_service_label_with_owner",
     CFG_HEAD "'metadata':{'name':'cfg','labels':{'serving.knative.dev/service':'hello'},"
     "'ownerReferences':[{'apiVersion':'serving.knative.dev/v1','kind':'Service','name':'hello',"
     "'uid':'u'}]},'spec':{'template':{'spec':" PODSPEC "}}}",
     NULL,
     {{NULL}}},
    /* Revision */
    {"revision_valid_with_autoscaling_metadata",
     REV_HEAD "'metadata':{'name':'hello-00001','annotations':{'autoscaling.knative.dev/min-scale':"
     "'1'}},'spec':" PODSPEC "}",
     NULL,
     {{NULL}}},
    {"revision_bad_min_scale",
     REV_HEAD "'metadata':{'name':'hello-00001','annotations':{'autoscaling.knative.dev/min-scale':"
     "'-1'}},'spec':" PODSPEC "}",
     NULL,
     {{"metadata.annotations.autoscaling.knative.dev/min-scale", "expected 0 <= -1 <= 2147483647"}}},
    {"revision_cc_too_big",
     REV_HEAD "'metadata':{'name':'hello-00001'},'spec':{'containerConcurrency':2000,"
     "'containers':[" CTR "]}}",
     NULL,
     {{"spec.containerConcurrency", "expected 0 <= 2000 <= 1000"}}},
    {"revision_no_containers", REV_HEAD "'metadata':{'name':'hello-00001'},'spec':{}}", NULL,
     {{"spec.containers", MISSING}}},
    {"revision_config_label_without_owner",
     REV_HEAD "'metadata':{'name':'hello-00001','labels':{'serving.knative.dev/configuration':"
     "'hello'}},'spec':" PODSPEC "}",
     NULL,
     {{"metadata.labels.serving.knative.dev/configuration", MISSING}}},
    /* Route */
    {"route_valid", ROUTE("[{'configurationName':'hello','percent':100}]"), NULL, {{NULL}}},
    {"route_no_traffic",
     "{'apiVersion':'serving.knative.dev/v1','kind':'Route'," META ",'spec':{}}", NULL,
     {{"spec.traffic", "Traffic targets sum to 0, want 100"}}},
    {"route_both_names",
     ROUTE("[{'configurationName':'hello','revisionName':'hello-00001','percent':100}]"), NULL,
     {{"spec.traffic[0].configurationName, spec.traffic[0].revisionName",
       "expected exactly one, got both"}}},
    {"route_neither_name", ROUTE("[{'percent':100}]"), NULL,
     {{"spec.traffic[0].configurationName, spec.traffic[0].revisionName",
       "expected exactly one, got neither"}}},
    {"route_invalid_name",
     "{'apiVersion':'serving.knative.dev/v1','kind':'Route','metadata':{'name':'do.not.use.dots'},"
     "'spec':{'traffic':[{'revisionName':'foo','percent':90}]}}",
     NULL,
     {{"metadata.name", "not a DNS 1035 label: [" DNS1035_MSG "]"},
      {"spec.traffic", "Traffic targets sum to 90, want 100"}}},
    {"route_invalid_revision_name", ROUTE("[{'revisionName':'a/b/c','percent':100}]"), NULL,
     {{"spec.traffic[0].revisionName", "invalid key name \"a/b/c\""}}},
    /* DomainMapping */
    {"domainmapping_valid",
     DM_HEAD "'metadata':{'name':'app.example.com','namespace':'default'}," DM_REF "}", NULL,
     {{NULL}}},
    {"domainmapping_single_label",
     DM_HEAD "'metadata':{'name':'foo','namespace':'default'}," DM_REF "}", NULL,
     {{"metadata.name", "invalid name \"foo\": name: Invalid value: \"foo\": should be a domain "
                        "with at least two segments separated by dots"}}},
    {"domainmapping_cluster_local",
     DM_HEAD "'metadata':{'name':'a.b.svc.cluster.local','namespace':'default'}," DM_REF "}",
     NULL,
     {{"metadata.name", "invalid name \"a.b.svc.cluster.local\": must not be a subdomain of "
                        "cluster local domain \"svc.cluster.local\""}}},
    {"domainmapping_generate_name",
     DM_HEAD "'metadata':{'generateName':'app-','namespace':'default'}," DM_REF "}", NULL,
     {{"metadata.generateName", MUST_NOT},
      {"metadata.name", "invalid name \"\": name: Required value"}}},
    {"domainmapping_missing_ref",
     DM_HEAD "'metadata':{'name':'app.example.com','namespace':'default'},'spec':{}}", NULL,
     {{"spec.ref.name", MISSING}, {"spec.ref.apiVersion", MISSING}, {"spec.ref.kind", MISSING}}},
    {"domainmapping_ref_namespace_mismatch",
     DM_HEAD "'metadata':{'name':'app.example.com','namespace':'default'},'spec':{'ref':{"
     "'apiVersion':'serving.knative.dev/v1','kind':'Service','name':'hello','namespace':'other'}}}",
     NULL,
     {{"spec.ref.namespace", "mismatched namespaces"}}},
    {"domainmapping_ref_group",
     DM_HEAD "'metadata':{'name':'app.example.com','namespace':'default'},'spec':{'ref':{"
     "'apiVersion':'serving.knative.dev/v1','kind':'Service','name':'hello','group':'x'}}}",
     NULL,
     {{"spec.ref.group", MUST_NOT}}},
    {"domainmapping_tls_valid",
     DM_HEAD "'metadata':{'name':'app.example.com','namespace':'default'},'spec':{'ref':{"
     "'apiVersion':'serving.knative.dev/v1','kind':'Service','name':'hello'},'tls':{'secretName':"
     "'cert'}}}",
     NULL,
     {{NULL}}},
    /* core kinds */
    {"configmap_valid",
     "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'app-config','namespace':'default'},"
     "'data':{'key.name':'v','KEY_2':'w'}}",
     NULL,
     {{NULL}}},
    {"configmap_platform_config_shape_only",
     "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'config-autoscaler','namespace':"
     "'knative-serving'},'data':{'stable-window':'not-a-duration'}}",
     NULL,
     {{NULL}}},
    {"configmap_value_not_string",
     "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c'},'data':{'k':1}}", NULL,
     {{"data.k", "Invalid value: \"integer\": data.k in body must be of type string"}}},
    {"configmap_bad_key",
     "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c'},'data':{'a b':'x'}}", NULL,
     {{"data.a b", "Invalid value: \"a b\": a valid config key must consist of alphanumeric "
                   "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
                   "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"}}},
    {"configmap_bad_name",
     "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'Bad_Name'}}", NULL,
     {{"metadata.name",
       "Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case "
       "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
       "character (e.g. 'example.com', regex used for validation is "
       "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"}}},
    {"configmap_unknown_field",
     "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c'},'spec':{}}", NULL,
     {{"spec", "unknown field \"spec\""}}},
    {"secret_valid",
     "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'s'},'type':'Opaque',"
     "'data':{'password':'aGVsbG8='},'stringData':{'user':'bob'}}",
     NULL,
     {{NULL}}},
    {"secret_data_not_base64",
     "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'s'},'data':{'password':'hello!'}}",
     NULL,
     {{"data.password", "illegal base64 data"}}},
    {"namespace_valid", "{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'team-a'}}", NULL,
     {{NULL}}},
    {"namespace_bad_name", "{'apiVersion':'v1','kind':'Namespace','metadata':{'name':'Team.A'}}",
     NULL,
     {{"metadata.name", "Invalid value: \"Team.A\": " DNS1123_LABEL_MSG}}},
};
const size_t knd_test_cases_top_n = sizeof(knd_test_cases_top) / sizeof(knd_test_cases_top[0]);

/* ---------------------------------------------------------------- runner */

static json_t *load_quoted(const char *text)
{
    char *s = strdup(text);
    for (char *q = s; *q; q++)
        if (*q == '\'')
            *q = '"';
    json_error_t jerr;
    json_t *v = json_loads(s, 0, &jerr);
    if (v == NULL)
        fail_msg("bad test JSON (%s at %d): %s", jerr.text, jerr.position, s);
    free(s);
    return v;
}

static bool has_error(const knd_errlist_t *errs, const vexp_t *w)
{
    for (size_t i = 0; i < errs->n; i++)
        if (strcmp(errs->v[i].path, w->path) == 0 && strcmp(errs->v[i].msg, w->msg) == 0)
            return true;
    return false;
}

static void run_case(void **state)
{
    const vcase_t *tc = *state;
    knd_platform_t p;
    knd_errlist_t errs;
    size_t nwant = 0;
    knd_platform_init(&p, "127.0.0.1.sslip.io");
    if (tc->setup)
        tc->setup(&p);
    knd_errlist_init(&errs);
    json_t *obj = load_quoted(tc->json);
    int rc = knd_model_validate(obj, &p, &errs);
    bool ok = true;
    for (; nwant < 6 && tc->want[nwant].path != NULL; nwant++)
        ok = ok && has_error(&errs, &tc->want[nwant]);
    if (!ok || errs.n != nwant || (rc == 0) != (nwant == 0)) {
        fprintf(stderr, "case %s: want %zu error(s):\n", tc->name, nwant);
        for (size_t i = 0; i < nwant; i++)
            fprintf(stderr, "  %s: %s\n", tc->want[i].path, tc->want[i].msg);
        fprintf(stderr, "got %zu (rc %d):\n", errs.n, rc);
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "  %s: %s\n", errs.v[i].path, errs.v[i].msg);
        knd_errlist_free(&errs);
        json_decref(obj);
        knd_platform_free(&p);
        fail_msg("case %s", tc->name);
    }
    if (nwant == 0) {
        /* A valid object stays valid once defaulted, and defaulting is idempotent. */
        knd_model_default(obj, &p);
        json_t *again = json_deep_copy(obj);
        knd_model_default(again, &p);
        assert_true(json_equal(obj, again));
        json_decref(again);
        if (knd_model_validate(obj, &p, &errs) != 0) {
            char *all = knd_errlist_join(&errs);
            fprintf(stderr, "case %s after defaulting: %s\n", tc->name, all);
            free(all);
            fail_msg("case %s invalid after defaulting", tc->name);
        }
    }
    knd_errlist_free(&errs);
    json_decref(obj);
    knd_platform_free(&p);
}

int main(void)
{
    const struct {
        const vcase_t *v;
        size_t n;
    } tables[] = {{knd_test_cases_top, knd_test_cases_top_n},
                  {knd_test_cases_pod, knd_test_cases_pod_n},
                  {knd_test_cases_ann, knd_test_cases_ann_n}};
    size_t total = 0, k = 0;
    for (size_t t = 0; t < 3; t++)
        total += tables[t].n;
    struct CMUnitTest *tests = calloc(total, sizeof(*tests));
    for (size_t t = 0; t < 3; t++) {
        for (size_t i = 0; i < tables[t].n; i++, k++) {
            tests[k].name = tables[t].v[i].name;
            tests[k].test_func = run_case;
            tests[k].initial_state = (void *)&tables[t].v[i];
        }
    }
    int rc = _cmocka_run_group_tests("knd_validate", tests, total, NULL, NULL);
    free(tests);
    return rc;
}
