/*
 * knd_platform.c - the platform configuration (knd_platform.h): Knative's defaults, the
 * ConfigMap dispatcher, and the config-features, config-network, config-gc and config-domain
 * parsers. config-defaults and config-autoscaler live in knd_platform_scale.c.
 *
 * Applying a ConfigMap is all-or-nothing: it is parsed into a deep copy of the platform, and the
 * copy replaces *p only when no error was recorded (nginx keeps the old cycle on a failed
 * reload). Ownership: knd_platform_t owns `domains`; everything else is inline.
 */
#include "knd_platform.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_buf.h"
#include "knd_json.h"
#include "knd_naming.h"
#include "knd_platform_int.h"
#include "knd_template.h"
#include "knd_time.h"

#define KND_CLUSTER_DOMAIN_DEFAULT "svc.cluster.local"
#define KND_DEFAULT_DOMAIN_TEMPLATE "{{.Name}}.{{.Namespace}}.{{.Domain}}"
#define KND_DEFAULT_TAG_TEMPLATE "{{.Tag}}-{{.Name}}"

/* Every config-features flag of Knative's features.go with its default. */
static const struct {
    const char *name;
    knd_feature_state_t def;
} knd_platform_feature_table[] = {
    {"autodetect-http2", KND_FEATURE_DISABLED},
    {"kubernetes.containerspec-addcapabilities", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-affinity", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-dnsconfig", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-dnspolicy", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-fieldref", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-hostaliases", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-hostipc", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-hostnetwork", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-hostpid", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-init-containers", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-nodeselector", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-persistent-volume-claim", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-persistent-volume-write", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-priorityclassname", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-runtimeclassname", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-schedulername", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-securitycontext", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-shareprocessnamespace", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-tolerations", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-topologyspreadconstraints", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-volumes-csi", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-volumes-emptydir", KND_FEATURE_ENABLED},
    {"kubernetes.podspec-volumes-ephemeral", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-volumes-hostpath", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-volumes-image", KND_FEATURE_DISABLED},
    {"kubernetes.podspec-volumes-mount-propagation", KND_FEATURE_DISABLED},
    {"multi-container", KND_FEATURE_ENABLED},
    {"multi-container-probing", KND_FEATURE_DISABLED},
    {"queueproxy.mount-podinfo", KND_FEATURE_DISABLED},
    {"queueproxy.resource-defaults", KND_FEATURE_DISABLED},
    {"secure-pod-defaults", KND_FEATURE_DISABLED},
    {"tag-header-based-routing", KND_FEATURE_DISABLED},
};

/* The ConfigMaps knd reads; the last four are accepted but not (yet) interpreted. */
static const char *const knd_platform_config_names[] = {
    "config-defaults", "config-autoscaler", "config-features",    "config-network",
    "config-domain",   "config-gc",         "config-observability", "config-tracing",
    "config-deployment", "config-logging",
};

/* ---------------------------------------------------------------- lifecycle */

static void knd_platform_features_reset(knd_platform_t *p)
{
    p->nfeatures = (int)KND_ARRAY_SIZE(knd_platform_feature_table);
    for (int i = 0; i < p->nfeatures; i++) {
        snprintf(p->features[i].name, sizeof(p->features[i].name), "%s",
                 knd_platform_feature_table[i].name);
        p->features[i].state = knd_platform_feature_table[i].def;
    }
}

static void knd_platform_network_reset(knd_platform_t *p)
{
    snprintf(p->domain_template, sizeof(p->domain_template), "%s", KND_DEFAULT_DOMAIN_TEMPLATE);
    snprintf(p->tag_template, sizeof(p->tag_template), "%s", KND_DEFAULT_TAG_TEMPLATE);
    snprintf(p->default_external_scheme, sizeof(p->default_external_scheme), "http");
    p->rollout_duration_s = 0;
}

static void knd_platform_gc_reset(knd_platform_t *p)
{
    p->gc_retain_since_create_time_s = 48 * 3600;
    p->gc_retain_since_last_active_time_s = 15 * 3600;
    p->gc_min_non_active_revisions = 20;
    p->gc_max_non_active_revisions = 1000;
}

void knd_platform_init(knd_platform_t *p, const char *default_domain)
{
    memset(p, 0, sizeof(*p));
    knd__platform_defaults_reset(p);
    knd__platform_autoscaler_reset(p);
    knd_platform_features_reset(p);
    knd_platform_network_reset(p);
    knd_platform_gc_reset(p);
    p->domains = NULL;
    /* Without a configured domain Knative's routes live under the cluster domain. */
    snprintf(p->default_domain, sizeof(p->default_domain), "%s",
             default_domain && *default_domain ? default_domain : KND_CLUSTER_DOMAIN_DEFAULT);
}

void knd_platform_free(knd_platform_t *p)
{
    json_decref(p->domains);
    p->domains = NULL;
}

void knd_platform_copy(knd_platform_t *dst, const knd_platform_t *src)
{
    *dst = *src;
    dst->domains = src->domains ? json_deep_copy(src->domains) : NULL;
}

bool knd_platform_is_config_name(const char *name)
{
    if (name == NULL)
        return false;
    for (size_t i = 0; i < KND_ARRAY_SIZE(knd_platform_config_names); i++)
        if (strcmp(name, knd_platform_config_names[i]) == 0)
            return true;
    return false;
}

knd_feature_state_t knd_platform_feature(const knd_platform_t *p, const char *name)
{
    for (int i = 0; i < p->nfeatures; i++)
        if (strcmp(p->features[i].name, name) == 0)
            return p->features[i].state;
    return KND_FEATURE_DISABLED;
}

/* ---------------------------------------------------------------- config-features */

static void knd_platform_apply_features(knd_platform_t *p, knd_cmparse_t *c)
{
    knd_platform_features_reset(p);
    for (int i = 0; i < p->nfeatures; i++) {
        const char *raw = knd__platform_raw(c, p->features[i].name);
        if (raw == NULL)
            continue;
        /* asFlag: case-insensitive; an unrecognised value silently keeps the default. */
        if (strcasecmp(raw, "Enabled") == 0)
            p->features[i].state = KND_FEATURE_ENABLED;
        else if (strcasecmp(raw, "Disabled") == 0)
            p->features[i].state = KND_FEATURE_DISABLED;
        else if (strcmp(p->features[i].name, "secure-pod-defaults") != 0 &&
                 strcasecmp(raw, "Allowed") == 0)
            p->features[i].state = KND_FEATURE_ALLOWED;
        /* secure-pod-defaults takes AllowRootBounded instead of Allowed: the middle state. */
        else if (strcmp(p->features[i].name, "secure-pod-defaults") == 0 &&
                 strcasecmp(raw, "AllowRootBounded") == 0)
            p->features[i].state = KND_FEATURE_ALLOWED;
    }
}

/* ---------------------------------------------------------------- config-network */

/* url.Parse("https://" + host): the hostname must be non-empty and there must be no path. */
static void knd_platform_check_host(knd_cmparse_t *c, const char *key, const char *host,
                                    int uses_labels)
{
    size_t hlen = strcspn(host, "/?#");
    size_t nlen = strcspn(host, ":/?#");
    if (nlen == 0) {
        knd__platform_err(c, key, "empty hostname");
    } else if (host[hlen] == '/' || host[hlen] == '?') {
        knd__platform_err(c, key, "domain template has url path: %s", host + hlen);
    } else if (!uses_labels && (!knd_is_dns1123_subdomain(host) || !strchr(host, '.'))) {
        /* Knative accepts this ConfigMap and then fails every Route; knd says so up front.
         * A label-dependent template cannot be checked without the Route's labels. */
        knd__platform_err(c, key, "invalid domain name \"%s\": must be a lowercase RFC 1123 "
                          "subdomain with at least two labels", host);
    }
}

static void knd_platform_check_templates(knd_platform_t *p, knd_cmparse_t *c, const char *dkey,
                                         const char *tkey)
{
    char err[512];
    knd_buf_t out, tag;
    int uses_labels = 0;
    knd_tmpl_vals_t dv = {.name = "foo", .ns = "bar", .domain = "baz.com"};
    knd_tmpl_vals_t tv = {.name = "foo", .tag = "v2"};
    knd_buf_init(&out);
    knd_buf_init(&tag);
    if (knd_tmpl_render(p->domain_template, "domain-template", KND_TMPL_DOMAIN, &dv, &out, err,
                        sizeof(err), &uses_labels) != 0)
        knd__platform_err(c, dkey, "%s", err);
    else
        knd_platform_check_host(c, dkey, knd_buf_cstr(&out), uses_labels);
    if (knd_tmpl_render(p->tag_template, "tag-template", KND_TMPL_TAG, &tv, &tag, err, sizeof(err),
                        NULL) != 0)
        knd__platform_err(c, tkey, "%s", err);
    else if (!knd_is_dns1123_subdomain(knd_buf_cstr(&tag)))
        knd__platform_err(c, tkey, "invalid domain name \"%s\": must be a lowercase RFC 1123 "
                          "subdomain", knd_buf_cstr(&tag));
    knd_buf_free(&out);
    knd_buf_free(&tag);
}

static void knd_platform_apply_network(knd_platform_t *p, knd_cmparse_t *c)
{
    knd_platform_network_reset(p);
    /* Legacy camelCase keys first; the kebab-case keys take precedence. */
    knd__platform_string(c, "domainTemplate", p->domain_template, sizeof(p->domain_template));
    knd__platform_string(c, "tagTemplate", p->tag_template, sizeof(p->tag_template));
    knd__platform_int(c, "rolloutDuration", 64, &p->rollout_duration_s);
    knd__platform_string(c, "defaultExternalScheme", p->default_external_scheme,
                         sizeof(p->default_external_scheme));
    knd__platform_string(c, "domain-template", p->domain_template, sizeof(p->domain_template));
    knd__platform_string(c, "tag-template", p->tag_template, sizeof(p->tag_template));
    knd__platform_int(c, "rollout-duration", 64, &p->rollout_duration_s);
    knd__platform_string(c, "default-external-scheme", p->default_external_scheme,
                         sizeof(p->default_external_scheme));
    if (c->nerr > 0)
        return;
    const char *rkey = json_object_get(c->data, "rollout-duration") ? "rollout-duration"
                                                                      : "rolloutDuration";
    if (p->rollout_duration_s < 0)
        knd__platform_err(c, rkey, "rollout-duration must be a positive integer, but was %lld",
                          (long long)p->rollout_duration_s);
    knd_platform_check_templates(
        p, c, json_object_get(c->data, "domainTemplate") && !json_object_get(c->data, "domain-template")
                  ? "domainTemplate" : "domain-template",
        json_object_get(c->data, "tagTemplate") && !json_object_get(c->data, "tag-template")
            ? "tagTemplate" : "tag-template");
}

/* ---------------------------------------------------------------- config-gc */

/* parseDisabledOrDuration: "" keeps the default, "disabled" is -1, else a duration >= 0. */
static void knd_platform_gc_duration(knd_cmparse_t *c, const char *key, int64_t *out_s)
{
    char raw[64] = "";
    int64_t ms;
    if (knd__platform_string(c, key, raw, sizeof(raw)) != 0 || raw[0] == '\0')
        return;
    if (strcasecmp(raw, "disabled") == 0) {
        *out_s = -1;
    } else if (knd_time_parse_duration_ms(raw, &ms) != 0) {
        knd__platform_err(c, key, "failed to parse %s: time: invalid duration \"%s\"", key, raw);
    } else if (ms < 0) {
        knd__platform_err(c, key, "failed to parse %s: must be non-negative", key);
    } else {
        *out_s = ms / 1000;
    }
}

static void knd_platform_apply_gc(knd_platform_t *p, knd_cmparse_t *c)
{
    char raw[64] = "", msg[256];
    knd_platform_gc_reset(p);
    c->prefix = "failed to parse data: ";
    knd__platform_int(c, "min-non-active-revisions", 64, &p->gc_min_non_active_revisions);
    c->prefix = "";
    knd_platform_gc_duration(c, "retain-since-create-time", &p->gc_retain_since_create_time_s);
    knd_platform_gc_duration(c, "retain-since-last-active-time",
                             &p->gc_retain_since_last_active_time_s);
    if (knd__platform_string(c, "max-non-active-revisions", raw, sizeof(raw)) == 0 && raw[0]) {
        if (strcasecmp(raw, "disabled") == 0)
            p->gc_max_non_active_revisions = -1;
        else if (knd__platform_parse_uint(raw, &p->gc_max_non_active_revisions, msg,
                                          sizeof(msg)) != 0)
            knd__platform_err(c, "max-non-active-revisions",
                              "failed to parse max-non-active-revisions: %s", msg);
    }
    if (c->nerr > 0)
        return;
    int64_t min = p->gc_min_non_active_revisions, max = p->gc_max_non_active_revisions;
    if (min < 0)
        knd__platform_err(c, "min-non-active-revisions",
                          "min-non-active-revisions must be non-negative, was: %lld",
                          (long long)min);
    else if (max >= 0 && min > max)
        knd__platform_err(c, "min-non-active-revisions",
                          "min-non-active-revisions(%lld) must be <= max-non-active-revisions(%lld)",
                          (long long)min, (long long)max);
}

/* ---------------------------------------------------------------- config-domain */

static void knd_platform_apply_domain(knd_platform_t *p, knd_cmparse_t *c)
{
    const char *domain;
    json_t *v;
    json_t *domains = json_object();
    int has_default = 0;
    json_object_foreach((json_t *)c->data, domain, v)
    {
        char err[512];
        json_t *sel = NULL;
        const char *raw;
        if (strcmp(domain, "_example") == 0 || (raw = knd__platform_raw(c, domain)) == NULL)
            continue;
        if (knd__platform_domain_selector(raw, &sel, err, sizeof(err)) != 0) {
            knd__platform_err(c, domain, "%s", err);
            continue;
        }
        if (json_object_size(sel) == 0)
            has_default = 1;
        json_object_set_new(domains, domain, sel);
    }
    /* Knative adds the cluster domain as catch-all when none is configured. */
    if (!has_default)
        json_object_set_new(domains, KND_CLUSTER_DOMAIN_DEFAULT, json_object());
    json_decref(p->domains);
    p->domains = domains;
}

/* ---------------------------------------------------------------- dispatch */

int knd_platform_apply_configmap(knd_platform_t *p, const json_t *configmap, knd_errlist_t *errs)
{
    const char *name = knd_json_str(configmap, "metadata.name", NULL);
    const char *ns = knd_json_str(configmap, "metadata.namespace", NULL);
    if (!knd_platform_is_config_name(name))
        return 0;
    /* A user ConfigMap that happens to share the name in another namespace is not platform. */
    if (ns != NULL && *ns && strcmp(ns, KND_SYSTEM_NAMESPACE) != 0)
        return 0;
    json_t *data = json_object_get(configmap, "data");
    if (data != NULL && !json_is_object(data) && !json_is_null(data)) {
        knd_errlist_add(errs, "data", "must be a map of string keys to string values");
        return -1;
    }
    json_t *empty = json_object();
    knd_platform_t tmp;
    knd_cmparse_t c = {.data = json_is_object(data) ? data : empty, .errs = errs, .prefix = ""};
    knd_platform_copy(&tmp, p);
    if (strcmp(name, "config-defaults") == 0)
        knd__platform_apply_defaults(&tmp, &c);
    else if (strcmp(name, "config-autoscaler") == 0)
        knd__platform_apply_autoscaler(&tmp, &c);
    else if (strcmp(name, "config-features") == 0)
        knd_platform_apply_features(&tmp, &c);
    else if (strcmp(name, "config-network") == 0)
        knd_platform_apply_network(&tmp, &c);
    else if (strcmp(name, "config-gc") == 0)
        knd_platform_apply_gc(&tmp, &c);
    else if (strcmp(name, "config-domain") == 0)
        knd_platform_apply_domain(&tmp, &c);
    json_decref(empty);
    if (c.nerr > 0) {
        knd_platform_free(&tmp);
        return -1;
    }
    knd_platform_free(p);
    *p = tmp;
    return 0;
}
