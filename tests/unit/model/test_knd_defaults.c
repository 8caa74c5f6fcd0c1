/*
 * test_knd_defaults.c - knd_model_default() (Knative's SetDefaults: revision_defaults_test.go,
 * route/service defaults), knd_model_validate_update() and the kind table.
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

/* ---------------------------------------------------------------- helpers */

static json_t *load_quoted(const char *text)
{
    char *s = strdup(text);
    for (char *q = s; *q; q++)
        if (*q == '\'')
            *q = '"';
    json_error_t jerr;
    json_t *v = json_loads(s, 0, &jerr);
    if (v == NULL)
        fail_msg("bad test JSON (%s): %s", jerr.text, s);
    free(s);
    return v;
}

/* Defaults `in` with platform p (NULL: Knative's defaults) and compares with `want`. */
static void check_default(const char *in, const char *want, void (*setup)(knd_platform_t *))
{
    knd_platform_t p;
    knd_platform_init(&p, "127.0.0.1.sslip.io");
    if (setup)
        setup(&p);
    json_t *obj = load_quoted(in);
    json_t *exp = load_quoted(want);
    knd_model_default(obj, &p);
    if (!json_equal(obj, exp)) {
        char *a = knd_json_dump(obj), *b = knd_json_dump(exp);
        fprintf(stderr, "got:  %s\nwant: %s\n", a, b);
        free(a);
        free(b);
        fail();
    }
    /* Idempotent. */
    knd_model_default(obj, &p);
    assert_true(json_equal(obj, exp));
    json_decref(obj);
    json_decref(exp);
    knd_platform_free(&p);
}

#define SVC_HEAD "'apiVersion':'serving.knative.dev/v1','kind':'Service','metadata':{'name':'hello','namespace':'default'}"
#define IMG "'image':'gcr.io/x/hello'"
#define DEF_PROBE "'readinessProbe':{'tcpSocket':{'port':0},'successThreshold':1}"
#define DEF_TRAFFIC "'traffic':[{'latestRevision':true,'percent':100}]"

/* ---------------------------------------------------------------- defaults */

static void test_default_service_minimal(void **state)
{
    check_default("{" SVC_HEAD ",'spec':{'template':{'spec':{'containers':[{" IMG "}]}}}}",
                  "{" SVC_HEAD ",'spec':{'template':{'spec':{'containers':[{" IMG
                  ",'name':'user-container'," DEF_PROBE "}],'timeoutSeconds':300,"
                  "'containerConcurrency':0,'enableServiceLinks':false}}," DEF_TRAFFIC "}}",
                  NULL);
}

static void custom_platform(knd_platform_t *p)
{
    p->revision_timeout_seconds = 100;
    p->revision_idle_timeout_seconds = 50;
    p->container_concurrency = 10;
    snprintf(p->container_name_template, sizeof(p->container_name_template), "{{.Name}}-ctr");
    snprintf(p->enable_service_links, sizeof(p->enable_service_links), "default");
}

static void test_default_service_custom_platform(void **state)
{
    check_default("{" SVC_HEAD ",'spec':{'template':{'spec':{'containers':[{" IMG "}]}}}}",
                  "{" SVC_HEAD ",'spec':{'template':{'spec':{'containers':[{" IMG
                  ",'name':'hello-ctr'," DEF_PROBE "}],'timeoutSeconds':100,"
                  "'idleTimeoutSeconds':50,'containerConcurrency':10}}," DEF_TRAFFIC "}}",
                  custom_platform);
}

static void test_default_keeps_user_values(void **state)
{
    check_default("{" SVC_HEAD ",'spec':{'template':{'spec':{'containers':[{" IMG ",'name':'app',"
                  "'readinessProbe':{'httpGet':{'path':'/ready'},'periodSeconds':5}}],"
                  "'timeoutSeconds':30,'containerConcurrency':1,'enableServiceLinks':true}},"
                  "'traffic':[{'revisionName':'hello-v1','percent':20},{'tag':'x','percent':80}]}}",
                  "{" SVC_HEAD ",'spec':{'template':{'spec':{'containers':[{" IMG ",'name':'app',"
                  "'readinessProbe':{'httpGet':{'path':'/ready'},'periodSeconds':5,"
                  "'successThreshold':1,'failureThreshold':3,'timeoutSeconds':1}}],"
                  "'timeoutSeconds':30,'containerConcurrency':1,'enableServiceLinks':true}},"
                  "'traffic':[{'revisionName':'hello-v1','percent':20,'latestRevision':false},"
                  "{'tag':'x','percent':80,'latestRevision':true}]}}",
                  NULL);
}

static void test_default_multi_container(void **state)
{
    check_default("{" SVC_HEAD ",'spec':{'template':{'spec':{'containers':[{" IMG
                  ",'ports':[{'containerPort':8080}]},{'image':'sidecar'},{'name':'user-container-1',"
                  "'image':'other'}]}}}}",
                  "{" SVC_HEAD ",'spec':{'template':{'spec':{'containers':[{" IMG
                  ",'ports':[{'containerPort':8080}],'name':'user-container-0'," DEF_PROBE "},"
                  "{'image':'sidecar','name':'user-container-2'},{'name':'user-container-1',"
                  "'image':'other'}],'timeoutSeconds':300,'containerConcurrency':0,"
                  "'enableServiceLinks':false}}," DEF_TRAFFIC "}}",
                  NULL);
}

static void test_default_grpc_and_mounts(void **state)
{
    check_default("{" SVC_HEAD ",'spec':{'template':{'spec':{'containers':[{" IMG
                  ",'livenessProbe':{'grpc':{'port':8080}},'volumeMounts':[{'name':'s','mountPath':"
                  "'/s'},{'name':'t','mountPath':'/t'}]}],'volumes':[{'name':'s','secret':{"
                  "'secretName':'x'}},{'name':'t','emptyDir':{}}]}}}}",
                  "{" SVC_HEAD ",'spec':{'template':{'spec':{'containers':[{" IMG
                  ",'name':'user-container'," DEF_PROBE ",'livenessProbe':{'grpc':{'port':8080,"
                  "'service':''}},'volumeMounts':[{'name':'s','mountPath':'/s','readOnly':true},"
                  "{'name':'t','mountPath':'/t'}]}],'volumes':[{'name':'s','secret':{'secretName':"
                  "'x'}},{'name':'t','emptyDir':{}}],'timeoutSeconds':300,'containerConcurrency':0,"
                  "'enableServiceLinks':false}}," DEF_TRAFFIC "}}",
                  NULL);
}

static void test_default_route_traffic(void **state)
{
    check_default("{'apiVersion':'serving.knative.dev/v1','kind':'Route','metadata':{'name':'r'},"
                  "'spec':{'traffic':[{'configurationName':'c','percent':100},{'revisionName':"
                  "'c-00001','tag':'old'}]}}",
                  "{'apiVersion':'serving.knative.dev/v1','kind':'Route','metadata':{'name':'r'},"
                  "'spec':{'traffic':[{'configurationName':'c','percent':100,'latestRevision':"
                  "true},{'revisionName':'c-00001','tag':'old','latestRevision':false,'percent':"
                  "0}]}}",
                  NULL);
}

static void test_default_route_no_traffic_stays_empty(void **state)
{
    /* Only a Service has an implicit configuration to default traffic to. */
    check_default("{'apiVersion':'serving.knative.dev/v1','kind':'Route','metadata':{'name':'r'},"
                  "'spec':{}}",
                  "{'apiVersion':'serving.knative.dev/v1','kind':'Route','metadata':{'name':'r'},"
                  "'spec':{}}",
                  NULL);
}

static void test_default_configuration(void **state)
{
    check_default("{'apiVersion':'serving.knative.dev/v1','kind':'Configuration','metadata':{"
                  "'name':'c'},'spec':{'template':{'spec':{'containers':[{" IMG "}]}}}}",
                  "{'apiVersion':'serving.knative.dev/v1','kind':'Configuration','metadata':{"
                  "'name':'c'},'spec':{'template':{'spec':{'containers':[{" IMG
                  ",'name':'user-container'," DEF_PROBE "}],'timeoutSeconds':300,"
                  "'containerConcurrency':0,'enableServiceLinks':false}}}}",
                  NULL);
}

static void test_default_revision(void **state)
{
    check_default("{'apiVersion':'serving.knative.dev/v1','kind':'Revision','metadata':{'name':"
                  "'c-00001'},'spec':{'containers':[{" IMG "}],'timeoutSeconds':0}}",
                  "{'apiVersion':'serving.knative.dev/v1','kind':'Revision','metadata':{'name':"
                  "'c-00001'},'spec':{'containers':[{" IMG ",'name':'user-container'," DEF_PROBE
                  "}],'timeoutSeconds':300,'containerConcurrency':0,'enableServiceLinks':false}}",
                  NULL);
}

static void test_default_secret_string_data(void **state)
{
    check_default("{'apiVersion':'v1','kind':'Secret','metadata':{'name':'s'},'data':{'a':"
                  "'eA=='},'stringData':{'user':'hello','pw':'ab'}}",
                  "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'s'},'data':{'a':'eA==',"
                  "'user':'aGVsbG8=','pw':'YWI='},'type':'Opaque'}",
                  NULL);
    /* A type the user chose stays. */
    check_default("{'apiVersion':'v1','kind':'Secret','metadata':{'name':'t'},"
                  "'type':'kubernetes.io/basic-auth'}",
                  "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'t'},"
                  "'type':'kubernetes.io/basic-auth'}",
                  NULL);
}

static void test_default_domainmapping_ref_namespace(void **state)
{
    check_default("{'apiVersion':'serving.knative.dev/v1beta1','kind':'DomainMapping','metadata':"
                  "{'name':'a.example.com','namespace':'ns1'},'spec':{'ref':{'apiVersion':"
                  "'serving.knative.dev/v1','kind':'Service','name':'hello'}}}",
                  "{'apiVersion':'serving.knative.dev/v1beta1','kind':'DomainMapping','metadata':"
                  "{'name':'a.example.com','namespace':'ns1'},'spec':{'ref':{'apiVersion':"
                  "'serving.knative.dev/v1','kind':'Service','name':'hello','namespace':'ns1'}}}",
                  NULL);
}

static void test_default_unknown_kind_untouched(void **state)
{
    check_default("{'apiVersion':'apps/v1','kind':'Deployment','spec':{}}",
                  "{'apiVersion':'apps/v1','kind':'Deployment','spec':{}}", NULL);
}

/* ---------------------------------------------------------------- update */

static int update(const char *old_json, const char *new_json, knd_errlist_t *errs)
{
    knd_platform_t p;
    knd_platform_init(&p, "127.0.0.1.sslip.io");
    json_t *o = load_quoted(old_json);
    json_t *n = load_quoted(new_json);
    /* The old object is stored defaulted, as the API stores it. */
    knd_model_default(o, &p);
    int rc = knd_model_validate_update(o, n, &p, errs);
    json_decref(o);
    json_decref(n);
    knd_platform_free(&p);
    return rc;
}

static void assert_only(const knd_errlist_t *errs, const char *path, const char *msg)
{
    if (errs->n != 1 || strcmp(errs->v[0].path, path) != 0 || strcmp(errs->v[0].msg, msg) != 0) {
        char *all = knd_errlist_join(errs);
        fail_msg("want %s: %s, got %zu: %s", msg, path, errs->n, all);
    }
}

#define REV(meta, img)                                                                             \
    "{'apiVersion':'serving.knative.dev/v1','kind':'Revision','metadata':{'name':'c-00001'" meta \
    "},'spec':{'containers':[{'image':'" img "'}]}}"

static void test_update_revision_spec_immutable(void **state)
{
    knd_errlist_t errs;
    knd_errlist_init(&errs);
    assert_int_equal(update(REV("", "a"), REV("", "b"), &errs), -1);
    assert_only(&errs, "spec", "Immutable fields changed (-old +new)");
    knd_errlist_free(&errs);
}

static void test_update_revision_metadata_ok(void **state)
{
    knd_errlist_t errs;
    knd_errlist_init(&errs);
    assert_int_equal(update(REV("", "a"), REV(",'labels':{'x':'y'}", "a"), &errs), 0);
    assert_int_equal(errs.n, 0);
    knd_errlist_free(&errs);
}

#define SVC_BYO(name, img, anns)                                                                  \
    "{'apiVersion':'serving.knative.dev/v1','kind':'Service','metadata':{'name':'hello'" anns     \
    "},'spec':{'template':{'metadata':{'name':'" name "'},'spec':{'containers':[{'image':'" img   \
    "'}]}}}}"

static void test_update_byo_name_unchanged(void **state)
{
    knd_errlist_t errs;
    knd_errlist_init(&errs);
    assert_int_equal(update(SVC_BYO("hello-v1", "a", ""), SVC_BYO("hello-v1", "b", ""), &errs),
                     -1);
    assert_only(&errs, "spec.template.metadata.name",
                "Saw the following changes without a name change (-old +new)");
    knd_errlist_free(&errs);
}

static void test_update_byo_name_changed_ok(void **state)
{
    knd_errlist_t errs;
    knd_errlist_init(&errs);
    assert_int_equal(update(SVC_BYO("hello-v1", "a", ""), SVC_BYO("hello-v2", "b", ""), &errs), 0);
    /* Re-applying the same manifest is not a change (the stored copy is defaulted). */
    assert_int_equal(update(SVC_BYO("hello-v1", "a", ""), SVC_BYO("hello-v1", "a", ""), &errs), 0);
    assert_int_equal(errs.n, 0);
    knd_errlist_free(&errs);
}

static void test_update_creator_immutable(void **state)
{
    knd_errlist_t errs;
    knd_errlist_init(&errs);
    assert_int_equal(update(SVC_BYO("hello-v1", "a",
                                    ",'annotations':{'serving.knative.dev/creator':'alice'}"),
                            SVC_BYO("hello-v2", "b",
                                    ",'annotations':{'serving.knative.dev/creator':'bob'}"),
                            &errs),
                     -1);
    assert_only(&errs, "metadata.annotations.serving.knative.dev/creator",
                "annotation value is immutable");
    knd_errlist_free(&errs);
}

static void test_update_last_modifier_without_spec_change(void **state)
{
    knd_errlist_t errs;
    knd_errlist_init(&errs);
    assert_int_equal(update(SVC_BYO("hello-v1", "a",
                                    ",'annotations':{'serving.knative.dev/lastModifier':'alice'}"),
                            SVC_BYO("hello-v1", "a",
                                    ",'annotations':{'serving.knative.dev/lastModifier':'bob'}"),
                            &errs),
                     -1);
    assert_only(&errs, "metadata.annotations.serving.knative.dev/lastModifier",
                "invalid value: bob");
    knd_errlist_free(&errs);
}

/* ---------------------------------------------------------------- kinds */

static void test_kind_table(void **state)
{
    const knd_kind_info_t *k = knd_kind_lookup("serving.knative.dev/v1", "Service");
    assert_non_null(k);
    assert_int_equal(k->kind, KND_KIND_SERVICE);
    assert_string_equal(k->resource, "services");
    assert_ptr_equal(knd_kind_by_cli_name("ksvc"), k);
    assert_ptr_equal(knd_kind_by_cli_name("kservice"), k);
    assert_ptr_equal(knd_kind_by_cli_name("services.serving.knative.dev"), k);
    assert_ptr_equal(knd_kind_by_resource("serving.knative.dev", "v1", "services"), k);
    assert_ptr_equal(knd_kind_info(KND_KIND_SERVICE), k);
    assert_int_equal(knd_kind_by_cli_name("rev")->kind, KND_KIND_REVISION);
    assert_int_equal(knd_kind_by_cli_name("cfg")->kind, KND_KIND_CONFIGURATION);
    assert_int_equal(knd_kind_by_cli_name("config")->kind, KND_KIND_CONFIGURATION);
    assert_int_equal(knd_kind_by_cli_name("rt")->kind, KND_KIND_ROUTE);
    assert_int_equal(knd_kind_by_cli_name("dm")->kind, KND_KIND_DOMAINMAPPING);
    assert_int_equal(knd_kind_by_cli_name("cm")->kind, KND_KIND_CONFIGMAP);
    assert_int_equal(knd_kind_by_cli_name("secrets")->kind, KND_KIND_SECRET);
    assert_int_equal(knd_kind_by_cli_name("ns")->kind, KND_KIND_NAMESPACE);
    assert_false(knd_kind_by_cli_name("ns")->namespaced);
    assert_string_equal(knd_kind_by_resource("", "v1", "configmaps")->kind_name, "ConfigMap");
    assert_string_equal(knd_kind_lookup("serving.knative.dev/v1beta1", "DomainMapping")->resource,
                        "domainmappings");
    assert_null(knd_kind_lookup("serving.knative.dev/v1alpha1", "Service"));
    assert_null(knd_kind_lookup("apps/v1", "Deployment"));
    assert_null(knd_kind_by_resource("serving.knative.dev", "v1", "domainmappings"));
    assert_null(knd_kind_by_cli_name("pods"));
    assert_null(knd_kind_by_cli_name("ksvc.apps"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_service_minimal),
        cmocka_unit_test(test_default_service_custom_platform),
        cmocka_unit_test(test_default_keeps_user_values),
        cmocka_unit_test(test_default_multi_container),
        cmocka_unit_test(test_default_grpc_and_mounts),
        cmocka_unit_test(test_default_route_traffic),
        cmocka_unit_test(test_default_route_no_traffic_stays_empty),
        cmocka_unit_test(test_default_configuration),
        cmocka_unit_test(test_default_revision),
        cmocka_unit_test(test_default_secret_string_data),
        cmocka_unit_test(test_default_domainmapping_ref_namespace),
        cmocka_unit_test(test_default_unknown_kind_untouched),
        cmocka_unit_test(test_update_revision_spec_immutable),
        cmocka_unit_test(test_update_revision_metadata_ok),
        cmocka_unit_test(test_update_byo_name_unchanged),
        cmocka_unit_test(test_update_byo_name_changed_ok),
        cmocka_unit_test(test_update_creator_immutable),
        cmocka_unit_test(test_update_last_modifier_without_spec_change),
        cmocka_unit_test(test_kind_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
