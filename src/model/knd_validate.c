/*
 * knd_validate.c - knd_model_validate(): the kind dispatch and the per-kind top level (metadata,
 * spec shape) of Knative's webhook validation and the Kubernetes API server's checks for the
 * core kinds. The pod spec, annotations and traffic live in the other knd_validate_*.c files.
 *
 * Validation reads the object as written; where Knative validates after defaulting (container
 * names, traffic, probe thresholds) the validators assume those defaults, so a valid object stays
 * valid once knd_model_default() ran. Everything borrows the input; errors are appended.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_json.h"
#include "knd_naming.h"
#include "knd_validate_int.h"

#define KND_CLUSTER_DOMAIN "svc.cluster.local"

static const char knd_validate_supported[] =
    "supported: Service, Configuration, Revision, Route (serving.knative.dev/v1), DomainMapping "
    "(serving.knative.dev/v1beta1), ConfigMap, Secret, Namespace (v1)";

/* ------------------------------------------------------------------------------------------ */
/* metadata                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static const knd_vfield_t knd_validate_meta_fields[] = {
    {"name", KND_VT_STR, NULL},
    {"generateName", KND_VT_STR, NULL},
    {"namespace", KND_VT_STR, NULL},
    {"selfLink", KND_VT_STR, NULL},
    {"uid", KND_VT_STR, NULL},
    {"resourceVersion", KND_VT_STR, NULL},
    {"generation", KND_VT_INT, NULL},
    {"creationTimestamp", KND_VT_STR, NULL},
    {"deletionTimestamp", KND_VT_STR, NULL},
    {"deletionGracePeriodSeconds", KND_VT_INT, NULL},
    {"labels", KND_VT_OBJ, NULL},
    {"annotations", KND_VT_OBJ, NULL},
    {"ownerReferences", KND_VT_ARR, NULL},
    {"finalizers", KND_VT_ARR, NULL},
    {"managedFields", KND_VT_ARR, NULL},
};

/* Kubernetes' label value rule: empty, or at most 63 of [-A-Za-z0-9_.] with alnum ends. */
static bool knd_validate_label_value_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return true;
    if (n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

/* A map of strings (labels, annotations, ConfigMap data): values of another type are errors. */
static void knd_validate_string_map(knd_vctx_t *c, const json_t *m, const char *path,
                                    bool labels)
{
    const char *k;
    json_t *v;
    if (!json_is_object(m))
        return;
    json_object_foreach((json_t *)m, k, v) {
        char p[KND_VPATH_MAX];
        knd__vpath(p, path, k);
        if (!json_is_string(v)) {
            knd_errlist_add(c->errs, p, "Invalid value: \"%s\": %s in body must be of type string",
                            knd__vtype_name(v), p);
            continue;
        }
        if (!knd__vqualified_name(k))
            knd_errlist_add(c->errs, p, "Invalid value: \"%s\": name part must consist of "
                            "alphanumeric characters, '-', '_' or '.', and must start and end "
                            "with an alphanumeric character", k);
        if (labels && !knd_validate_label_value_ok(json_string_value(v)))
            knd_errlist_add(c->errs, p, "Invalid value: \"%s\": a valid label must be an empty "
                            "string or consist of alphanumeric characters, '-', '_' or '.', and "
                            "must start and end with an alphanumeric character",
                            json_string_value(v));
    }
}

void knd__validate_object_meta(knd_vctx_t *c, const json_t *meta, const char *path)
{
    char p[KND_VPATH_MAX];
    if (meta == NULL || !KND_VFIELDS(c, meta, path, knd_validate_meta_fields))
        return;
    knd__vpath(p, path, "labels");
    knd_validate_string_map(c, json_object_get(meta, "labels"), p, true);
    knd__vpath(p, path, "annotations");
    knd_validate_string_map(c, json_object_get(meta, "annotations"), p, false);
}

/* Strips the "[...]" Go-slice brackets Knative prints, for Kubernetes-style messages. */
static void knd_validate_unbracket(char *s)
{
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        memmove(s, s + 1, n - 2);
        s[n - 2] = '\0';
    }
}

static void knd_validate_namespace_field(knd_vctx_t *c, const json_t *meta)
{
    const char *ns = knd_json_str(meta, "namespace", NULL);
    char msgs[1024];
    if (ns == NULL || *ns == '\0' || knd_is_dns1123_label(ns))
        return;
    knd__vdns1123_label_msgs(ns, msgs, sizeof(msgs));
    knd_validate_unbracket(msgs);
    knd__verr(c, "metadata", "namespace", "Invalid value: \"%s\": %s", ns, msgs);
}

/* Kubernetes' name checks for core kinds: required, then a subdomain or a label. */
static void knd_validate_core_name(knd_vctx_t *c, const json_t *meta, bool label)
{
    const char *name = knd_json_str(meta, "name", "");
    const char *gen = knd_json_str(meta, "generateName", "");
    char msgs[1024];
    if (*name == '\0') {
        if (*gen == '\0')
            knd__verr(c, "metadata", "name", "name or generateName is required");
        return;
    }
    if (label ? knd_is_dns1123_label(name) : knd_is_dns1123_subdomain(name))
        return;
    if (label)
        knd__vdns1123_label_msgs(name, msgs, sizeof(msgs));
    else
        knd__vdns1123_subdomain_msgs(name, msgs, sizeof(msgs));
    knd_validate_unbracket(msgs);
    knd__verr(c, "metadata", "name", "Invalid value: \"%s\": %s", name, msgs);
}

/* apis.ValidateObjectMetadata: one name error at most, generateName first. */
static void knd_validate_knative_name(knd_vctx_t *c, const json_t *meta)
{
    const char *name = knd_json_str(meta, "name", "");
    const char *gen = knd_json_str(meta, "generateName", "");
    char msgs[1024];
    if (*gen != '\0') {
        /* NameIsDNS1035Label(prefix=true) masks one trailing dash. */
        char masked[KND_VPATH_MAX];
        snprintf(masked, sizeof(masked), "%s", gen);
        size_t n = strlen(masked);
        if (n > 1 && masked[n - 1] == '-')
            masked[n - 1] = 'a';
        if (!knd_is_dns1035_label(masked)) {
            knd__vdns1035_msgs(masked, msgs, sizeof(msgs));
            knd__verr(c, "metadata", "generateName", "not a DNS 1035 label prefix: %s", msgs);
            return;
        }
    }
    if (*name != '\0' && !knd_is_dns1035_label(name)) {
        knd__vdns1035_msgs(name, msgs, sizeof(msgs));
        knd__verr(c, "metadata", "name", "not a DNS 1035 label: %s", msgs);
        return;
    }
    if (*gen == '\0' && *name == '\0')
        knd__verr(c, "metadata", "name", "name or generateName is required");
}

/* A label naming the owner (serving.knative.dev/service) needs the matching ownerReference. */
static void knd_validate_owner_label(knd_vctx_t *c, const json_t *meta, const char *label,
                                     const char *owner_kind)
{
    const char *val;
    json_t *labels = json_object_get(meta, "labels");
    json_t *refs = json_object_get(meta, "ownerReferences");
    json_t *ref;
    size_t i;
    val = json_string_value(json_object_get(labels, label));
    if (val == NULL)
        return;
    json_array_foreach(refs, i, ref) {
        if (strcmp(knd_json_str(ref, "kind", ""), owner_kind) == 0 &&
            strcmp(knd_json_str(ref, "name", ""), val) == 0)
            return;
    }
    char p[KND_VPATH_MAX];
    knd__vpathf(p, "metadata.labels", "%s", label);
    knd_errlist_add(c->errs, p, "missing field(s)");
}

/* ------------------------------------------------------------------------------------------ */
/* serving kinds                                                                               */
/* ------------------------------------------------------------------------------------------ */

static const knd_vfield_t knd_validate_top_fields[] = {
    {"apiVersion", KND_VT_STR, NULL},
    {"kind", KND_VT_STR, NULL},
    {"metadata", KND_VT_OBJ, NULL},
    {"spec", KND_VT_OBJ, NULL},
    {"status", KND_VT_OBJ, NULL},
};

static const knd_vfield_t knd_validate_service_spec_fields[] = {
    {"template", KND_VT_OBJ, NULL},
    {"traffic", KND_VT_ARR, NULL},
};

static const knd_vfield_t knd_validate_config_spec_fields[] = {
    {"template", KND_VT_OBJ, NULL},
};

static const knd_vfield_t knd_validate_route_spec_fields[] = {
    {"traffic", KND_VT_ARR, NULL},
};

static void knd_validate_serving_meta(knd_vctx_t *c, const json_t *meta, bool autoscaling_ok)
{
    json_t *annos = json_object_get(meta, "annotations");
    knd_validate_knative_name(c, meta);
    if (autoscaling_ok)
        knd__validate_autoscaling_annotations(c, annos, "metadata.annotations");
    else
        knd__validate_no_autoscaling_annotations(c, annos, "metadata.annotations");
}

static void knd_validate_template_in(knd_vctx_t *c, const json_t *spec, const json_t *meta)
{
    json_t *tmpl = json_object_get(spec, "template");
    c->parent_name = knd_json_str(meta, "name", "");
    c->parent_generate_name = knd_json_str(meta, "generateName", "");
    c->parent_namespace = knd_json_str(meta, "namespace", "");
    if (tmpl == NULL || !json_is_object(tmpl)) {
        /* An absent template is an empty RevisionTemplateSpec to Knative. */
        json_t *empty = json_object();
        knd__validate_template(c, empty, "spec.template");
        json_decref(empty);
        return;
    }
    knd__validate_template(c, tmpl, "spec.template");
}

static void knd_validate_service(knd_vctx_t *c, const json_t *obj, const json_t *meta)
{
    json_t *spec = json_object_get(obj, "spec");
    knd_validate_serving_meta(c, meta, false);
    knd__validate_rollout_duration(c, json_object_get(meta, "annotations"),
                                   "metadata.annotations");
    if (spec != NULL && !KND_VFIELDS(c, spec, "spec", knd_validate_service_spec_fields))
        return;
    knd_validate_template_in(c, spec, meta);
    json_t *traffic = json_object_get(spec, "traffic");
    /* Knative defaults an empty Service traffic block before it validates. */
    if (json_is_array(traffic) && json_array_size(traffic) > 0)
        knd__validate_traffic(c, traffic, "spec.traffic", true);
}

static void knd_validate_configuration(knd_vctx_t *c, const json_t *obj, const json_t *meta)
{
    json_t *spec = json_object_get(obj, "spec");
    knd_validate_serving_meta(c, meta, false);
    knd_validate_owner_label(c, meta, "serving.knative.dev/service", "Service");
    if (spec != NULL && !KND_VFIELDS(c, spec, "spec", knd_validate_config_spec_fields))
        return;
    knd_validate_template_in(c, spec, meta);
}

static void knd_validate_route(knd_vctx_t *c, const json_t *obj, const json_t *meta)
{
    json_t *spec = json_object_get(obj, "spec");
    json_t *empty = NULL;
    knd_validate_serving_meta(c, meta, false);
    knd_validate_owner_label(c, meta, "serving.knative.dev/service", "Service");
    knd__validate_rollout_duration(c, json_object_get(meta, "annotations"),
                                   "metadata.annotations");
    if (spec != NULL && !KND_VFIELDS(c, spec, "spec", knd_validate_route_spec_fields))
        return;
    json_t *traffic = json_object_get(spec, "traffic");
    if (!json_is_array(traffic))
        traffic = empty = json_array();
    knd__validate_traffic(c, traffic, "spec.traffic", false);
    json_decref(empty);
}

static void knd_validate_revision(knd_vctx_t *c, const json_t *obj, const json_t *meta)
{
    json_t *spec = json_object_get(obj, "spec");
    json_t *empty = NULL;
    knd_validate_serving_meta(c, meta, true);
    knd_validate_owner_label(c, meta, "serving.knative.dev/configuration", "Configuration");
    if (spec == NULL)
        spec = empty = json_object();
    knd__validate_revision_spec(c, spec, "spec");
    json_decref(empty);
}

/* ------------------------------------------------------------------------------------------ */
/* DomainMapping                                                                               */
/* ------------------------------------------------------------------------------------------ */

static const knd_vfield_t knd_validate_dm_spec_fields[] = {
    {"ref", KND_VT_OBJ, NULL},
    {"tls", KND_VT_OBJ, NULL},
};

static const knd_vfield_t knd_validate_dm_ref_fields[] = {
    {"apiVersion", KND_VT_STR, NULL},
    {"kind", KND_VT_STR, NULL},
    {"name", KND_VT_STR, NULL},
    {"namespace", KND_VT_STR, NULL},
    {"group", KND_VT_STR, KND_VF_MASKED},
    {"address", KND_VT_STR, KND_VF_MASKED},
};

static const knd_vfield_t knd_validate_dm_tls_fields[] = {
    {"secretName", KND_VT_STR, NULL},
};

/* validation.IsFullyQualifiedDomainName, rendered as field.ErrorList.ToAggregate() does. */
static void knd_validate_dm_name(knd_vctx_t *c, const char *name)
{
    char buf[512], msgs[1024];
    snprintf(buf, sizeof(buf), "%s", name);
    size_t n = strlen(buf);
    if (n == 0) {
        knd__verr(c, "metadata", "name", "invalid name \"\": name: Required value");
        return;
    }
    if (buf[n - 1] == '.')
        buf[n - 1] = '\0';
    if (!knd_is_dns1123_subdomain(buf)) {
        knd__vdns1123_subdomain_msgs(buf, msgs, sizeof(msgs));
        knd_validate_unbracket(msgs);
        knd__verr(c, "metadata", "name", "invalid name \"%s\": name: Invalid value: \"%s\": %s",
                  name, buf, msgs);
    } else if (strchr(buf, '.') == NULL) {
        knd__verr(c, "metadata", "name",
                  "invalid name \"%s\": name: Invalid value: \"%s\": should be a domain with at "
                  "least two segments separated by dots", name, buf);
    }
    size_t sl = strlen("." KND_CLUSTER_DOMAIN);
    n = strlen(name);
    if (n > sl && strcmp(name + n - sl, "." KND_CLUSTER_DOMAIN) == 0)
        knd__verr(c, "metadata", "name",
                  "invalid name \"%s\": must not be a subdomain of cluster local domain \"%s\"",
                  name, KND_CLUSTER_DOMAIN);
}

static void knd_validate_domainmapping(knd_vctx_t *c, const json_t *obj, const json_t *meta)
{
    json_t *spec = json_object_get(obj, "spec");
    if (knd__vis_set(json_object_get(meta, "generateName")))
        knd__verr(c, "metadata", "generateName", "must not set the field(s)");
    knd_validate_dm_name(c, knd_json_str(meta, "name", ""));
    if (spec != NULL && !KND_VFIELDS(c, spec, "spec", knd_validate_dm_spec_fields))
        return;
    json_t *ref = json_object_get(spec, "ref");
    json_t *tls = json_object_get(spec, "tls");
    if (tls != NULL)
        KND_VFIELDS(c, tls, "spec.tls", knd_validate_dm_tls_fields);
    if (ref == NULL) {
        knd__verr(c, "spec.ref", "name", "missing field(s)");
        knd__verr(c, "spec.ref", "apiVersion", "missing field(s)");
        knd__verr(c, "spec.ref", "kind", "missing field(s)");
        return;
    }
    if (!KND_VFIELDS(c, ref, "spec.ref", knd_validate_dm_ref_fields))
        return;
    if (*knd_json_str(ref, "name", "") == '\0')
        knd__verr(c, "spec.ref", "name", "missing field(s)");
    if (*knd_json_str(ref, "apiVersion", "") == '\0')
        knd__verr(c, "spec.ref", "apiVersion", "missing field(s)");
    if (*knd_json_str(ref, "kind", "") == '\0')
        knd__verr(c, "spec.ref", "kind", "missing field(s)");
    const char *rns = knd_json_str(ref, "namespace", "");
    const char *pns = knd_json_str(meta, "namespace", "");
    if (*rns != '\0' && *pns != '\0' && strcmp(rns, pns) != 0)
        knd__verr(c, "spec.ref", "namespace", "mismatched namespaces");
}

/* ------------------------------------------------------------------------------------------ */
/* core kinds                                                                                  */
/* ------------------------------------------------------------------------------------------ */

static const knd_vfield_t knd_validate_configmap_fields[] = {
    {"apiVersion", KND_VT_STR, NULL}, {"kind", KND_VT_STR, NULL},
    {"metadata", KND_VT_OBJ, NULL},   {"data", KND_VT_OBJ, NULL},
    {"binaryData", KND_VT_OBJ, NULL}, {"immutable", KND_VT_BOOL, NULL},
};

static const knd_vfield_t knd_validate_secret_fields[] = {
    {"apiVersion", KND_VT_STR, NULL}, {"kind", KND_VT_STR, NULL},
    {"metadata", KND_VT_OBJ, NULL},   {"data", KND_VT_OBJ, NULL},
    {"stringData", KND_VT_OBJ, NULL}, {"type", KND_VT_STR, NULL},
    {"immutable", KND_VT_BOOL, NULL},
};

static const knd_vfield_t knd_validate_namespace_fields[] = {
    {"apiVersion", KND_VT_STR, NULL}, {"kind", KND_VT_STR, NULL},
    {"metadata", KND_VT_OBJ, NULL},   {"spec", KND_VT_OBJ, NULL},
    {"status", KND_VT_OBJ, NULL},
};

static bool knd_validate_base64_ok(const char *s)
{
    size_t n = strlen(s), pad = 0;
    if (n % 4 != 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '=') {
            pad++;
            continue;
        }
        if (pad > 0 || !(isalnum(ch) || ch == '+' || ch == '/'))
            return false;
    }
    return pad <= 2;
}

/* Data maps of ConfigMaps and Secrets: IsConfigMapKey keys, string values. */
static void knd_validate_data_map(knd_vctx_t *c, const json_t *m, const char *path, bool b64)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)m, k, v) {
        char p[KND_VPATH_MAX];
        knd__vpath(p, path, k);
        bool key_ok = *k != '\0' && strlen(k) <= 253;
        for (const char *q = k; *q; q++)
            if (!isalnum((unsigned char)*q) && *q != '-' && *q != '_' && *q != '.')
                key_ok = false;
        if (!key_ok)
            knd_errlist_add(c->errs, p, "Invalid value: \"%s\": a valid config key must consist "
                            "of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
                            "'KEY_NAME',  or 'key-name', regex used for validation is "
                            "'[-._a-zA-Z0-9]+')", k);
        if (!json_is_string(v))
            knd_errlist_add(c->errs, p, "Invalid value: \"%s\": %s in body must be of type string",
                            knd__vtype_name(v), p);
        else if (b64 && !knd_validate_base64_ok(json_string_value(v)))
            knd_errlist_add(c->errs, p, "illegal base64 data");
    }
}

static void knd_validate_core(knd_vctx_t *c, const json_t *obj, const json_t *meta)
{
    switch (c->kind) {
    case KND_KIND_CONFIGMAP:
        KND_VFIELDS(c, obj, "", knd_validate_configmap_fields);
        knd_validate_core_name(c, meta, false);
        if (json_is_object(json_object_get(obj, "data")))
            knd_validate_data_map(c, json_object_get(obj, "data"), "data", false);
        if (json_is_object(json_object_get(obj, "binaryData")))
            knd_validate_data_map(c, json_object_get(obj, "binaryData"), "binaryData", true);
        break;
    case KND_KIND_SECRET:
        KND_VFIELDS(c, obj, "", knd_validate_secret_fields);
        knd_validate_core_name(c, meta, false);
        if (json_is_object(json_object_get(obj, "data")))
            knd_validate_data_map(c, json_object_get(obj, "data"), "data", true);
        if (json_is_object(json_object_get(obj, "stringData")))
            knd_validate_data_map(c, json_object_get(obj, "stringData"), "stringData", false);
        break;
    default:
        KND_VFIELDS(c, obj, "", knd_validate_namespace_fields);
        knd_validate_core_name(c, meta, true);
        break;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* dispatch                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static void knd_validate_unsupported(knd_vctx_t *c, const char *av, const char *kind)
{
    const char *slash = strchr(av, '/');
    size_t glen = slash ? (size_t)(slash - av) : 0;
    for (knd_kind_t k = KND_KIND_SERVICE; k <= KND_KIND_NAMESPACE; k++) {
        const knd_kind_info_t *ki = knd_kind_info(k);
        if (strcmp(ki->kind_name, kind) == 0 && strlen(ki->group) == glen &&
            strncmp(ki->group, av, glen) == 0) {
            knd__verr(c, "", "apiVersion",
                      "kind \"%s\" (apiVersion \"%s\") is not supported by knd; use apiVersion "
                      "\"%s\"", kind, av, ki->api_version);
            return;
        }
    }
    knd__verr(c, "", "kind", "kind \"%s\" (apiVersion \"%s\") is not supported by knd; %s", kind,
              av, knd_validate_supported);
}

int knd_model_validate(const json_t *obj, const knd_platform_t *p, knd_errlist_t *errs)
{
    knd_vctx_t c = {.p = p, .errs = errs, .kind = KND_KIND_UNKNOWN};
    size_t before = errs->n;
    if (!json_is_object(obj)) {
        knd_errlist_add(errs, "", "expected an object, got %s", obj ? knd__vtype_name(obj) : "nothing");
        return -1;
    }
    const char *av = knd_json_str(obj, "apiVersion", "");
    const char *kind = knd_json_str(obj, "kind", "");
    if (*av == '\0')
        knd_errlist_add(errs, "apiVersion", "missing field(s)");
    if (*kind == '\0')
        knd_errlist_add(errs, "kind", "missing field(s)");
    if (errs->n > before)
        return -1;
    const knd_kind_info_t *ki = knd_kind_lookup(av, kind);
    if (ki == NULL) {
        knd_validate_unsupported(&c, av, kind);
        return -1;
    }
    c.kind = ki->kind;
    json_t *meta = json_object_get(obj, "metadata");
    json_t *empty = NULL;
    if (meta == NULL)
        meta = empty = json_object();
    knd__validate_object_meta(&c, meta, "metadata");
    if (json_is_object(meta)) {
        if (ki->namespaced)
            knd_validate_namespace_field(&c, meta);
        if (c.kind <= KND_KIND_DOMAINMAPPING)
            KND_VFIELDS(&c, obj, "", knd_validate_top_fields);
        switch (c.kind) {
        case KND_KIND_SERVICE:
            knd_validate_service(&c, obj, meta);
            break;
        case KND_KIND_CONFIGURATION:
            knd_validate_configuration(&c, obj, meta);
            break;
        case KND_KIND_ROUTE:
            knd_validate_route(&c, obj, meta);
            break;
        case KND_KIND_REVISION:
            knd_validate_revision(&c, obj, meta);
            break;
        case KND_KIND_DOMAINMAPPING:
            knd_validate_domainmapping(&c, obj, meta);
            break;
        default:
            knd_validate_core(&c, obj, meta);
            break;
        }
    }
    json_decref(empty);
    return errs->n > before ? -1 : 0;
}
