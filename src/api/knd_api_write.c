/*
 * knd_api_write.c - create, replace, patch and server-side apply of the Kubernetes-shaped
 * resources.
 *
 * Every write follows Knative's webhook order: decode the body (JSON, or the protobuf kubectl
 * sends for `create secret|configmap|namespace`, or YAML for apply patches), check it against
 * the request path, validate the object as submitted, default it, store it, then kick the
 * reconciler. Platform ConfigMaps (knative-serving/config-*) are also parsed by the platform
 * code before they are accepted, so a bad value never reaches the store. A patch is applied to
 * the stored object first and the result goes through the same checks as a replace.
 *
 * fieldValidation (the apiserver's query parameter): Strict turns a body whose only problems
 * are unknown fields into a 400 "strict decoding error"; Ignore and Warn drop unknown fields,
 * and Warn says which in the apiserver's `Warning: 299 - "unknown field \"path\""` headers
 * (kubectl prints them); absent keeps Knative's webhook answer (422).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "knd_alloc.h"
#include "knd_api_int.h"
#include "knd_json.h"
#include "knd_kube_patch.h"
#include "knd_kube_proto.h"
#include "knd_log.h"
#include "knd_platform.h"
#include "knd_time.h"
#include "knd_yaml.h"

#define KND_WEBHOOK_PREFIX                                                                        \
    "admission webhook \"validation.webhook.serving.knative.dev\" denied the request: "          \
    "validation failed: "
#define KND_CONFIG_WEBHOOK_PREFIX                                                                 \
    "admission webhook \"config.webhook.serving.knative.dev\" denied the request: "              \
    "validation failed: "
#define KND_UNKNOWN_FIELD "unknown field "

typedef enum {
    KND_FV_DEFAULT = 0, /* no fieldValidation: Knative's webhook verdict */
    KND_FV_STRICT,
    KND_FV_WARN,
    KND_FV_IGNORE,
} knd_field_validation_t;

static bool knd_api_is_serving(const knd_kind_info_t *kind)
{
    return strcmp(kind->group, "serving.knative.dev") == 0;
}

static bool knd_api_content_type_is(const knd_api_call_t *call, const char *type)
{
    const char *ct = knd_http_head_get(&call->req->head, "content-type");
    size_t n = strlen(type);
    return ct && strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static knd_field_validation_t knd_api_field_validation(const knd_api_call_t *call)
{
    char *v = knd__api_query(call, "fieldValidation");
    knd_field_validation_t fv = KND_FV_DEFAULT;
    if (v && strcmp(v, "Strict") == 0)
        fv = KND_FV_STRICT;
    else if (v && strcmp(v, "Warn") == 0)
        fv = KND_FV_WARN;
    else if (v && strcmp(v, "Ignore") == 0)
        fv = KND_FV_IGNORE;
    free(v);
    return fv;
}

/*
 * dryRun=All (kubectl diff, apply --dry-run=server): the whole write is checked and the answer
 * is what it would store, but nothing is written. Returns -1 after answering 400 for a value
 * the apiserver does not know either.
 */
int knd__api_dry_run(knd_api_call_t *call)
{
    char *v = knd__api_query(call, "dryRun");
    int rc = 0;
    if (v == NULL && call->req->head.method == HTTP_DELETE && call->body.len) {
        /* kubectl delete puts it in the DeleteOptions body: {"dryRun":["All"]} */
        json_t *opts = json_loadb(call->body.p, call->body.len, 0, NULL);
        json_t *dr = json_object_get(opts, "dryRun");
        if (json_is_array(dr) && json_array_size(dr) > 0 &&
            json_is_string(json_array_get(dr, 0)))
            v = knd_xstrdup(json_string_value(json_array_get(dr, 0)));
        json_decref(opts);
    }
    if (v && strcmp(v, "All") == 0) {
        rc = 1;
    } else if (v && *v) {
        char msg[200];
        snprintf(msg, sizeof(msg), "dryRun: Unsupported value: \"%.64s\": supported values: "
                 "\"All\"", v);
        knd__api_status(call->req, 400, "BadRequest", msg, NULL, NULL, NULL, NULL);
        rc = -1;
    }
    free(v);
    return rc;
}

/* ------------------------------------------------------------------ decoding */

static void knd_api_bad_request(knd_api_call_t *call, const char *msg)
{
    knd__api_status(call->req, 400, "BadRequest", msg, NULL, NULL, NULL, NULL);
}

/* The request body as a JSON value (new reference), or NULL after answering 400. */
static json_t *knd_api_decode(knd_api_call_t *call, bool object_only)
{
    const char *p = call->body.p ? call->body.p : "";
    size_t n = call->body.len;
    knd_err_t err;
    char msg[1200];
    json_t *v = NULL;
    if (knd_api_content_type_is(call, "application/vnd.kubernetes.protobuf")) {
        if (knd_kube_proto_decode(p, n, &v, &err) < 0) {
            knd_api_bad_request(call, err.msg);
            return NULL;
        }
    } else if (knd_api_content_type_is(call, "application/apply-patch+yaml")) {
        knd_doc_t *docs = NULL;
        size_t ndocs = 0;
        if (knd_yaml_load(p, n, "body", &docs, &ndocs, &err) < 0 || ndocs != 1) {
            snprintf(msg, sizeof(msg), "the request body is not one YAML document: %s",
                     ndocs == 0 && docs == NULL && err.msg[0] ? err.msg : "expected 1 document");
            knd_yaml_docs_free(docs, ndocs);
            knd_api_bad_request(call, msg);
            return NULL;
        }
        v = json_incref(docs[0].root);
        knd_yaml_docs_free(docs, ndocs);
    } else {
        json_error_t jerr;
        v = json_loadb(p, n, 0, &jerr);
        if (v == NULL) {
            snprintf(msg, sizeof(msg),
                     "the request body is not valid JSON: %s (line %d, column %d)", jerr.text,
                     jerr.line, jerr.column);
            knd_api_bad_request(call, msg);
            return NULL;
        }
    }
    if (object_only && !json_is_object(v)) {
        json_decref(v);
        knd_api_bad_request(call, "the request body must be a JSON object");
        return NULL;
    }
    return v;
}

/* ------------------------------------------------------------------ admission */

static json_t *knd_api_causes(const knd_errlist_t *errs)
{
    json_t *causes = json_array();
    for (size_t i = 0; i < errs->n; i++) {
        bool unknown = strncmp(errs->v[i].msg, KND_UNKNOWN_FIELD, strlen(KND_UNKNOWN_FIELD)) == 0;
        json_array_append_new(causes, json_pack("{s:s, s:s, s:s}", "reason",
                                                unknown ? "FieldValueNotSupported"
                                                        : "FieldValueInvalid",
                                                "message", errs->v[i].msg, "field",
                                                errs->v[i].path));
    }
    return causes;
}

/* 422 Invalid in the wording of whoever would have rejected it on Kubernetes. */
static void knd_api_invalid(knd_api_call_t *call, const knd_kind_info_t *kind, const char *name,
                            const knd_errlist_t *errs, bool platform_config)
{
    char *joined = knd_errlist_join(errs);
    char *msg;
    if (platform_config)
        msg = knd_xasprintf(KND_CONFIG_WEBHOOK_PREFIX "%s", joined);
    else if (knd_api_is_serving(kind))
        msg = knd_xasprintf(KND_WEBHOOK_PREFIX "%s", joined);
    else
        msg = knd_xasprintf("%s \"%s\" is invalid: %s", kind->kind_name, name ? name : "",
                            joined);
    knd__api_status(call->req, 422, "Invalid", msg, name, kind->group, kind->kind_name,
                    knd_api_causes(errs));
    free(msg);
    free(joined);
}

static bool knd_api_only_unknown_fields(const knd_errlist_t *errs)
{
    for (size_t i = 0; i < errs->n; i++)
        if (strncmp(errs->v[i].msg, KND_UNKNOWN_FIELD, strlen(KND_UNKNOWN_FIELD)) != 0)
            return false;
    return errs->n > 0;
}

/* The apiserver's answer to unknown fields under fieldValidation=Strict. */
static void knd_api_strict_error(knd_api_call_t *call, const knd_kind_info_t *kind,
                                 const knd_errlist_t *errs)
{
    knd_buf_t b;
    knd_buf_init(&b);
    knd_buf_printf(&b, "%s in version \"%s\" cannot be handled as a %s: strict decoding error: ",
                   kind->kind_name, kind->version, kind->kind_name);
    for (size_t i = 0; i < errs->n; i++)
        knd_buf_printf(&b, "%sunknown field \"%s\"", i ? ", " : "", errs->v[i].path);
    knd_buf_append(&b, "", 1);
    knd_api_bad_request(call, b.p);
    knd_buf_free(&b);
}

/*
 * One apiserver warning (RFC 7234 warn-code 299, no agent) for a field fieldValidation=Warn
 * dropped: `Warning: 299 - "unknown field \"spec.foo\""`. Paths are the validator's field paths,
 * so only a quote or a backslash needs escaping; control characters are left out.
 */
static void knd_api_warn_unknown(knd_api_call_t *call, const char *path)
{
    knd_buf_t *w = &call->warnings;
    knd_buf_puts(w, "Warning: 299 - \"unknown field \\\"");
    for (const char *p = path; *p; p++) {
        if (*p == '"' || *p == '\\')
            knd_buf_puts(w, *p == '"' ? "\\\\\\\"" : "\\\\\\\\");
        else if ((unsigned char)*p >= 0x20 && *p != 0x7f)
            knd_buf_append(w, p, 1);
    }
    knd_buf_puts(w, "\\\"\"\r\n");
}

/* Removes the value at a validation path such as spec.template.spec.containers[0].foo. */
static void knd_api_drop_path(json_t *root, const char *path)
{
    json_t *cur = root;
    char key[256];
    const char *p = path;
    while (cur && *p) {
        size_t n = strcspn(p, ".[");
        if (n >= sizeof(key))
            return;
        memcpy(key, p, n);
        key[n] = '\0';
        p += n;
        if (*p == '\0') {
            json_object_del(cur, key);
            return;
        }
        cur = n ? json_object_get(cur, key) : cur;
        while (*p == '[' && cur) {
            size_t idx = strtoul(p + 1, NULL, 10);
            cur = json_array_get(cur, idx);
            p = strchr(p, ']');
            if (p == NULL)
                return;
            p++;
        }
        if (*p == '.')
            p++;
    }
}

/*
 * Checks a decoded object (borrowed, edited in place) against the request path, validates and
 * defaults it. Returns false after answering the error.
 */
static bool knd_api_admit(knd_api_call_t *call, const knd_kind_info_t *kind, const char *ns,
                          const char *path_name, json_t *obj)
{
    char msg[512];
    const char *av = knd_json_str(obj, "apiVersion", ""), *k = knd_json_str(obj, "kind", "");
    if ((*av || *k) && (strcmp(av, kind->api_version) != 0 || strcmp(k, kind->kind_name) != 0)) {
        snprintf(msg, sizeof(msg), "the API version in the data (%s) and kind (%s) do not match "
                 "the request path (%s, %s)", av, k, kind->api_version, kind->kind_name);
        knd_api_bad_request(call, msg);
        return false;
    }
    if (!*av)
        json_object_set_new(obj, "apiVersion", json_string(kind->api_version));
    if (!*k)
        json_object_set_new(obj, "kind", json_string(kind->kind_name));
    json_t *meta = knd_json_ensure_obj(obj, "metadata");
    if (kind->namespaced) {
        const char *ons = knd_json_str(meta, "namespace", "");
        if (*ons && strcmp(ons, ns) != 0) {
            knd_api_bad_request(call, "the namespace of the provided object does not match the "
                                      "namespace sent on the request");
            return false;
        }
        json_object_set_new(meta, "namespace", json_string(ns));
    }
    if (path_name && strcmp(knd_json_str(meta, "name", ""), path_name) != 0) {
        knd_api_bad_request(call, "the name of the object does not match the name on the URL");
        return false;
    }
    const knd_platform_t *p = knd_reconciler_platform(call->api->deps.rc);
    knd_field_validation_t fv = knd_api_field_validation(call);
    knd_errlist_t errs;
    knd_errlist_init(&errs);
    json_object_del(obj, "status"); /* the server owns status */
    int rc = knd_model_validate(obj, p, &errs);
    if (rc < 0 && (fv == KND_FV_IGNORE || fv == KND_FV_WARN)) {
        /* Drop what the schema does not know, as the apiserver prunes, and look again. */
        for (size_t i = 0; i < errs.n; i++) {
            if (strncmp(errs.v[i].msg, KND_UNKNOWN_FIELD, strlen(KND_UNKNOWN_FIELD)) != 0)
                continue;
            knd_api_drop_path(obj, errs.v[i].path);
            if (fv == KND_FV_WARN)
                knd_api_warn_unknown(call, errs.v[i].path);
        }
        knd_errlist_free(&errs);
        knd_errlist_init(&errs);
        rc = knd_model_validate(obj, p, &errs);
    }
    if (rc < 0) {
        if (fv == KND_FV_STRICT && knd_api_only_unknown_fields(&errs))
            knd_api_strict_error(call, kind, &errs);
        else
            knd_api_invalid(call, kind, knd_json_str(meta, "name", NULL), &errs, false);
        goto fail;
    }
    if (kind->kind == KND_KIND_CONFIGMAP &&
        strcmp(knd_json_str(obj, "metadata.namespace", ""), KND_SYSTEM_NAMESPACE) == 0 &&
        knd_platform_is_config_name(knd_json_str(obj, "metadata.name", ""))) {
        knd_platform_t copy;
        knd_platform_copy(&copy, p);
        rc = knd_platform_apply_configmap(&copy, obj, &errs);
        knd_platform_free(&copy);
        if (rc < 0) {
            knd_api_invalid(call, kind, knd_json_str(meta, "name", NULL), &errs, true);
            goto fail;
        }
    }
    knd_errlist_free(&errs);
    knd_model_default(obj, p);
    if (kind->kind == KND_KIND_NAMESPACE)
        json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Active"));
    return true;
fail:
    knd_errlist_free(&errs);
    return false;
}

/* ------------------------------------------------------------------ create */

/* metadata.generateName: prefix (cut to 58) + 5 characters from Kubernetes' alphabet. */
static void knd_api_generate_name(json_t *obj, const char *prefix)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    unsigned char rnd[5];
    char name[64];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        for (size_t i = 0; i < sizeof(rnd); i++)
            rnd[i] = (unsigned char)random();
    size_t n = strlen(prefix) > 58 ? 58 : strlen(prefix);
    memcpy(name, prefix, n);
    for (size_t i = 0; i < sizeof(rnd); i++)
        name[n++] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
    name[n] = '\0';
    json_object_set_new(json_object_get(obj, "metadata"), "name", json_string(name));
}

/*
 * A namespaced write into a namespace knd has not seen creates the Namespace (one machine, one
 * owner: the apiserver would answer 404 instead; docs/api.md).
 */
static void knd_api_ensure_namespace(knd_api_t *api, const char *ns)
{
    json_t *old = NULL;
    knd_err_t err;
    if (ns == NULL || knd_store_get(api->deps.store, "namespaces", "", ns, &old, &err) == 0) {
        json_decref(old);
        return;
    }
    json_t *obj = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "v1", "kind",
                            "Namespace", "metadata", "name", ns, "status", "phase", "Active");
    if (knd_store_create(api->deps.store, "namespaces", obj, &err) < 0 &&
        err.code != KND_E_EXISTS)
        knd_log(KND_LOG_WARN, "api", "creating namespace %s: %s", ns, err.msg);
    json_decref(obj);
}

/* Stores an admitted new object and answers 201 (dry run: answers without storing). */
static void knd_api_store_new(knd_api_call_t *call, const knd_kind_info_t *kind, const char *ns,
                              json_t *obj, bool dry)
{
    knd_err_t err;
    const char *gen = knd_json_str(obj, "metadata.generateName", "");
    bool generate = *knd_json_str(obj, "metadata.name", "") == '\0' && *gen;
    int rc = 0;
    if (dry) {
        json_t *old = NULL;
        if (generate)
            knd_api_generate_name(obj, gen);
        const char *n = knd_json_str(obj, "metadata.name", "");
        if (knd_store_get(call->api->deps.store, kind->resource, ns ? ns : "", n, &old, &err) == 0) {
            json_decref(old);
            knd_store_err_exists(&err, kind->resource, n);
            knd__api_error(call->req, &err, n, kind->group, kind->resource);
            return;
        }
        char now[32];
        knd_time_rfc3339(now);
        json_t *meta = knd_json_ensure_obj(obj, "metadata");
        json_object_set_new(meta, "creationTimestamp", json_string(now));
        json_object_set_new(meta, "generation", json_integer(1));
        knd__api_json_headers(call->req, 201, obj, knd_buf_cstr(&call->warnings));
        return;
    }
    if (kind->namespaced)
        knd_api_ensure_namespace(call->api, ns);
    for (int attempt = 0;; attempt++) {
        if (generate)
            knd_api_generate_name(obj, gen);
        rc = knd_store_create(call->api->deps.store, kind->resource, obj, &err);
        if (rc == 0 || !generate || err.code != KND_E_EXISTS || attempt == 8)
            break;
    }
    const char *name = knd_json_str(obj, "metadata.name", "");
    if (rc < 0) {
        knd__api_error(call->req, &err, name, kind->group, kind->resource);
        return;
    }
    knd_log(KND_LOG_INFO, "api", "created %s %s/%s", kind->resource, ns ? ns : "", name);
    knd__api_json_headers(call->req, 201, obj, knd_buf_cstr(&call->warnings));
    knd_reconciler_kick(call->api->deps.rc);
}

void knd__api_create(knd_api_call_t *call, const knd_kind_info_t *kind, const char *ns)
{
    bool dry = knd__api_dry_run(call) > 0; /* an invalid value was answered at dispatch */
    json_t *obj = knd_api_decode(call, true);
    if (obj && knd_api_admit(call, kind, ns, NULL, obj))
        knd_api_store_new(call, kind, ns, obj, dry);
    json_decref(obj);
}

/* ------------------------------------------------------------------ update */

/*
 * Stores obj (borrowed, already decoded) over the existing object old: admission, update
 * validation, then the write. Status and server-set metadata survive, as with a status
 * subresource. Answers 200 with the stored object.
 */
static void knd_api_update(knd_api_call_t *call, const knd_kind_info_t *kind, const char *ns,
                           const char *name, const json_t *old, json_t *obj)
{
    knd_store_t *store = call->api->deps.store;
    if (!knd_api_admit(call, kind, ns, name, obj))
        return;
    knd_errlist_t errs;
    knd_errlist_init(&errs);
    if (knd_model_validate_update(old, obj, knd_reconciler_platform(call->api->deps.rc), &errs) <
        0) {
        knd_api_invalid(call, kind, name, &errs, false);
        knd_errlist_free(&errs);
        return;
    }
    knd_errlist_free(&errs);
    json_t *st = json_object_get(old, "status");
    if (st && kind->kind != KND_KIND_NAMESPACE)
        json_object_set(obj, "status", st);
    json_t *ometa = json_object_get(old, "metadata"), *nmeta = json_object_get(obj, "metadata");
    json_t *owners = json_object_get(ometa, "ownerReferences");
    if (owners && !json_object_get(nmeta, "ownerReferences"))
        json_object_set(nmeta, "ownerReferences", owners);
    int changed = 0;
    knd_err_t err;
    if (knd__api_dry_run(call) > 0) {
        /* What the store would make of it: generation follows spec, the version stays. */
        const char *want = knd_json_str(obj, "metadata.resourceVersion", "");
        const char *have = knd_json_str(old, "metadata.resourceVersion", "");
        if (*want && strcmp(want, have) != 0) {
            knd_store_err_conflict(&err, kind->resource, name);
            knd__api_error(call->req, &err, name, kind->group, kind->resource);
            return;
        }
        long long gen = knd_json_int(old, "metadata.generation", 1) +
                        !knd_json_equal(json_object_get(obj, "spec"), json_object_get(old, "spec"));
        json_t *meta = json_object_get(obj, "metadata");
        json_object_set_new(meta, "generation", json_integer(gen));
        json_object_set_new(meta, "resourceVersion", json_string(have));
        json_object_set(meta, "uid", json_object_get(json_object_get(old, "metadata"), "uid"));
        json_object_set(meta, "creationTimestamp",
                        json_object_get(json_object_get(old, "metadata"), "creationTimestamp"));
        knd__api_json_headers(call->req, 200, obj, knd_buf_cstr(&call->warnings));
        return;
    }
    if (knd_store_update(store, kind->resource, obj, &changed, &err) < 0) {
        knd__api_error(call->req, &err, name, kind->group, kind->resource);
        return;
    }
    if (changed) {
        knd_log(KND_LOG_INFO, "api", "updated %s %s/%s", kind->resource, ns ? ns : "", name);
        knd_reconciler_kick(call->api->deps.rc);
    }
    knd__api_json_headers(call->req, 200, obj, knd_buf_cstr(&call->warnings));
}

/* The stored object (new reference), or NULL: then *answered says whether the error was sent
 * (always, unless the object is just missing and report_missing is false). */
static json_t *knd_api_load_existing(knd_api_call_t *call, const knd_kind_info_t *kind,
                                     const char *ns, const char *name, bool report_missing,
                                     bool *answered)
{
    json_t *old = NULL;
    knd_err_t err;
    *answered = false;
    if (knd_store_get(call->api->deps.store, kind->resource, ns, name, &old, &err) < 0) {
        if (report_missing || err.code != KND_E_NOTFOUND) {
            knd__api_error(call->req, &err, name, kind->group, kind->resource);
            *answered = true;
        }
        return NULL;
    }
    return old;
}

void knd__api_replace(knd_api_call_t *call, const knd_kind_info_t *kind, const char *ns,
                      const char *name)
{
    json_t *obj = knd_api_decode(call, true);
    if (obj == NULL)
        return;
    bool answered;
    json_t *old = knd_api_load_existing(call, kind, ns, name, true, &answered);
    if (old)
        knd_api_update(call, kind, ns, name, old, obj);
    json_decref(old);
    json_decref(obj);
}

/* ------------------------------------------------------------------ server-side apply */

/* The set of fields a document sets, in the apiserver's FieldsV1 shape ({"f:spec":{...}});
 * arrays and scalars are leaves. */
static json_t *knd_api_fieldset(const json_t *doc)
{
    json_t *set = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)doc, k, v) {
        char *fk = knd_xasprintf("f:%s", k);
        json_object_set_new(set, fk, json_is_object(v) ? knd_api_fieldset(v) : json_object());
        free(fk);
    }
    return set;
}

/* Adds to patch a null for every field in prev (a FieldsV1 set) that applied no longer sets. */
static void knd_api_fieldset_removed(const json_t *prev, const json_t *applied, json_t *patch)
{
    const char *fk;
    json_t *sub;
    json_object_foreach((json_t *)prev, fk, sub) {
        if (strncmp(fk, "f:", 2) != 0)
            continue;
        const char *k = fk + 2;
        json_t *now = json_object_get(applied, k);
        if (now == NULL) {
            json_object_set_new(patch, k, json_null());
        } else if (json_is_object(now) && json_object_size(sub) > 0) {
            json_t *p = json_object_get(patch, k);
            if (json_is_object(p))
                knd_api_fieldset_removed(sub, now, p);
        }
    }
}

/* metadata.managedFields entry of manager (borrowed), or NULL. */
static json_t *knd_api_managed_entry(json_t *obj, const char *manager, size_t *index)
{
    json_t *mf = knd_json_path(obj, "metadata.managedFields");
    size_t i;
    json_t *e;
    json_array_foreach(mf, i, e) {
        if (strcmp(knd_json_str(e, "manager", ""), manager) == 0 &&
            strcmp(knd_json_str(e, "operation", ""), "Apply") == 0) {
            *index = i;
            return e;
        }
    }
    return NULL;
}

static void knd_api_record_apply(json_t *obj, const char *manager, const knd_kind_info_t *kind,
                                 json_t *fields, const json_t *prev_entry)
{
    json_t *meta = knd_json_ensure_obj(obj, "metadata");
    json_t *mf = json_object_get(meta, "managedFields");
    if (!json_is_array(mf)) {
        mf = json_array();
        json_object_set_new(meta, "managedFields", mf);
    }
    size_t idx;
    if (knd_api_managed_entry(obj, manager, &idx))
        json_array_remove(mf, idx);
    /* Keep the time of an unchanged apply, so that re-applying writes nothing. */
    char now[32];
    knd_time_rfc3339(now);
    const char *t = now;
    if (prev_entry && knd_json_equal(json_object_get(prev_entry, "fieldsV1"), fields))
        t = knd_json_str(prev_entry, "time", now);
    json_array_append_new(mf, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "manager", manager,
                                        "operation", "Apply", "apiVersion", kind->api_version,
                                        "time", t, "fieldsType", "FieldsV1", "fieldsV1", fields));
}

/*
 * application/apply-patch+yaml: the body is the caller's whole intent. Fields it set before
 * and no longer sets are removed; everything else merges into the live object. Conflicts with
 * other managers are not reported (force is implied).
 */
static void knd_api_server_apply(knd_api_call_t *call, const knd_kind_info_t *kind,
                                 const char *ns, const char *name, json_t *applied)
{
    char *manager = knd__api_query(call, "fieldManager");
    if (manager == NULL || *manager == '\0') {
        knd_api_bad_request(call, "PATCH is not supported for apply without a fieldManager");
        free(manager);
        return;
    }
    bool answered;
    json_t *old = knd_api_load_existing(call, kind, ns, name, false, &answered);
    if (answered) {
        free(manager);
        return;
    }
    json_t *fields = knd_api_fieldset(applied);
    json_object_del(fields, "f:apiVersion");
    json_object_del(fields, "f:kind");
    if (old == NULL) {
        json_t *obj = json_deep_copy(applied);
        if (knd_api_admit(call, kind, ns, name, obj)) {
            knd_api_record_apply(obj, manager, kind, json_incref(fields), NULL);
            knd_api_store_new(call, kind, ns, obj, knd__api_dry_run(call) > 0);
        }
        json_decref(obj);
        goto out;
    }
    size_t idx;
    json_t *prev = json_deep_copy(knd_api_managed_entry(old, manager, &idx));
    json_t *patch = json_deep_copy(applied);
    if (prev)
        knd_api_fieldset_removed(json_object_get(prev, "fieldsV1"), applied, patch);
    json_t *obj = knd_kube_merge_patch(old, patch);
    knd_api_record_apply(obj, manager, kind, json_incref(fields), prev);
    knd_api_update(call, kind, ns, name, old, obj);
    json_decref(obj);
    json_decref(patch);
    json_decref(prev);
    json_decref(old);
out:
    json_decref(fields);
    free(manager);
}

/* ------------------------------------------------------------------ patch */

void knd__api_patch(knd_api_call_t *call, const knd_kind_info_t *kind, const char *ns,
                    const char *name)
{
    bool merge = knd_api_content_type_is(call, "application/merge-patch+json");
    bool strategic = knd_api_content_type_is(call, "application/strategic-merge-patch+json");
    bool json_patch = knd_api_content_type_is(call, "application/json-patch+json");
    bool apply = knd_api_content_type_is(call, "application/apply-patch+yaml");
    if (!merge && !strategic && !json_patch && !apply) {
        const char *ct = knd_http_head_get(&call->req->head, "content-type");
        char msg[300];
        snprintf(msg, sizeof(msg), "the body of the request was in an unknown format - accepted "
                 "media types include: application/json-patch+json, "
                 "application/merge-patch+json, application/apply-patch+yaml%s (got %.64s)",
                 knd_api_is_serving(kind) ? "" : ", application/strategic-merge-patch+json",
                 ct ? ct : "no Content-Type");
        knd__api_status(call->req, 415, "UnsupportedMediaType", msg, NULL, NULL, NULL, NULL);
        return;
    }
    if (strategic && knd_api_is_serving(kind)) {
        /* As the apiserver answers for custom resources: kubectl then uses merge patches. */
        knd__api_status(call->req, 415, "UnsupportedMediaType",
                        "strategic merge patch is not supported for custom resources; use "
                        "application/merge-patch+json", NULL, NULL, NULL, NULL);
        return;
    }
    json_t *patch = knd_api_decode(call, !json_patch);
    if (patch == NULL)
        return;
    if (apply) {
        knd_api_server_apply(call, kind, ns, name, patch);
        json_decref(patch);
        return;
    }
    bool answered;
    json_t *old = knd_api_load_existing(call, kind, ns, name, true, &answered), *obj = NULL;
    if (old == NULL)
        goto out;
    if (json_patch) {
        knd_err_t err;
        if (!json_is_array(patch)) {
            knd_api_bad_request(call, "a JSON patch must be an array of operations");
            goto out;
        }
        if (knd_kube_json_patch(old, patch, &obj, &err) < 0) {
            knd_api_bad_request(call, err.msg);
            goto out;
        }
    } else if (strategic) {
        json_t *mp = knd_kube_strategic_to_merge(patch);
        obj = knd_kube_merge_patch(old, mp);
        json_decref(mp);
    } else {
        obj = knd_kube_merge_patch(old, patch);
    }
    if (!json_is_object(obj)) {
        knd_api_bad_request(call, "the patched object is not a JSON object");
        goto out;
    }
    /* A patch without a resourceVersion applies to whatever is stored now. */
    const char *rv = knd_json_str(patch, "metadata.resourceVersion", NULL);
    if (json_patch || rv == NULL)
        knd_json_set(obj, "metadata.resourceVersion",
                     json_string(knd_json_str(old, "metadata.resourceVersion", "")));
    knd_api_update(call, kind, ns, name, old, obj);
out:
    json_decref(obj);
    json_decref(old);
    json_decref(patch);
}
