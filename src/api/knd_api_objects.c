/*
 * knd_api_objects.c - list/get/create/replace/delete for the Kubernetes-shaped resources.
 *
 * Writes follow Knative's webhook order: validate the object as submitted, default it, store it,
 * then kick the reconciler. Platform ConfigMaps (knative-serving/config-*) are also parsed by the
 * platform code before they are accepted, so a bad value never reaches the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "knd_alloc.h"
#include "knd_api_int.h"
#include "knd_json.h"
#include "knd_log.h"
#include "knd_platform.h"

#define KND_WEBHOOK_PREFIX                                                                        \
    "admission webhook \"validation.webhook.serving.knative.dev\" denied the request: "          \
    "validation failed: "
#define KND_CONFIG_WEBHOOK_PREFIX                                                                 \
    "admission webhook \"config.webhook.serving.knative.dev\" denied the request: "              \
    "validation failed: "

static bool knd_api_is_serving(const knd_kind_info_t *kind)
{
    return strcmp(kind->group, "serving.knative.dev") == 0;
}

/* ------------------------------------------------------------------ reads */

/* labelSelector=k=v,k2=v2 (equality only): true if obj matches. */
static bool knd_api_selector_match(const json_t *obj, const char *sel)
{
    if (sel == NULL || *sel == '\0')
        return true;
    char *copy = knd_xstrdup(sel), *save = NULL;
    bool ok = true;
    json_t *labels = knd_json_path(obj, "metadata.labels");
    for (char *t = strtok_r(copy, ",", &save); t && ok; t = strtok_r(NULL, ",", &save)) {
        char *eq = strstr(t, "==");
        size_t skip = 2;
        if (eq == NULL) {
            eq = strchr(t, '=');
            skip = 1;
        }
        if (eq == NULL) { /* bare key: must exist */
            ok = json_object_get(labels, t) != NULL;
            continue;
        }
        *eq = '\0';
        json_t *v = json_object_get(labels, t);
        ok = json_is_string(v) && strcmp(json_string_value(v), eq + skip) == 0;
    }
    free(copy);
    return ok;
}

static void knd_api_list(knd_api_call_t *call, const knd_kind_info_t *kind, const char *ns)
{
    knd_err_t err;
    json_t *items = NULL;
    if (knd_store_list(call->api->deps.store, kind->resource, ns, &items, &err) < 0) {
        knd__api_error(call->req, &err, NULL, kind->group, kind->resource);
        return;
    }
    char *sel = knd__api_query(call, "labelSelector");
    json_t *out = json_array();
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o) if (knd_api_selector_match(o, sel)) json_array_append(out, o);
    free(sel);
    json_decref(items);
    char rv[32], kind_list[80];
    snprintf(rv, sizeof(rv), "%lld", knd_store_revision(call->api->deps.store));
    snprintf(kind_list, sizeof(kind_list), "%sList", kind->kind_name);
    json_t *list = json_pack("{s:s, s:s, s:{s:s}, s:o}", "apiVersion", kind->api_version, "kind",
                             kind_list, "metadata", "resourceVersion", rv, "items", out);
    knd__api_json(call->req, 200, list);
    json_decref(list);
}

static void knd_api_get(knd_api_call_t *call, const knd_kind_info_t *kind, const char *ns,
                        const char *name)
{
    knd_err_t err;
    json_t *obj = NULL;
    if (knd_store_get(call->api->deps.store, kind->resource, ns, name, &obj, &err) < 0) {
        knd__api_error(call->req, &err, name, kind->group, kind->resource);
        return;
    }
    knd__api_json(call->req, 200, obj);
    json_decref(obj);
}

/* ------------------------------------------------------------------ writes */

static json_t *knd_api_causes(const knd_errlist_t *errs)
{
    json_t *causes = json_array();
    for (size_t i = 0; i < errs->n; i++)
        json_array_append_new(causes, json_pack("{s:s, s:s, s:s}", "reason", "FieldValueInvalid",
                                                "message", errs->v[i].msg, "field",
                                                errs->v[i].path));
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
    knd__api_status(call->req, 422, "Invalid", msg, name, kind->group, kind->resource,
                    knd_api_causes(errs));
    free(msg);
    free(joined);
}

static bool knd_api_is_platform_cm(const knd_kind_info_t *kind, const json_t *obj)
{
    return kind->kind == KND_KIND_CONFIGMAP &&
           strcmp(knd_json_str(obj, "metadata.namespace", ""), KND_SYSTEM_NAMESPACE) == 0 &&
           knd_platform_is_config_name(knd_json_str(obj, "metadata.name", ""));
}

/*
 * Decodes, checks and defaults a submitted object. Returns it (new reference) or NULL after
 * sending the error response.
 */
static json_t *knd_api_admit(knd_api_call_t *call, const knd_kind_info_t *kind, const char *ns,
                             const char *path_name)
{
    json_error_t jerr;
    json_t *obj = json_loadb(call->body.p ? call->body.p : "", call->body.len, 0, &jerr);
    if (!json_is_object(obj)) {
        char msg[512];
        if (obj == NULL)
            snprintf(msg, sizeof(msg), "the request body is not valid JSON: %s (line %d, column %d)",
                     jerr.text, jerr.line, jerr.column);
        else
            snprintf(msg, sizeof(msg), "the request body must be a JSON object");
        json_decref(obj);
        knd__api_status(call->req, 400, "BadRequest", msg, NULL, NULL, NULL, NULL);
        return NULL;
    }
    const char *av = knd_json_str(obj, "apiVersion", ""), *k = knd_json_str(obj, "kind", "");
    if ((*av || *k) && (strcmp(av, kind->api_version) != 0 || strcmp(k, kind->kind_name) != 0)) {
        char msg[512];
        snprintf(msg, sizeof(msg), "the API version in the data (%s) and kind (%s) do not match "
                 "the request path (%s, %s)", av, k, kind->api_version, kind->kind_name);
        knd__api_status(call->req, 400, "BadRequest", msg, NULL, NULL, NULL, NULL);
        json_decref(obj);
        return NULL;
    }
    if (!*av)
        json_object_set_new(obj, "apiVersion", json_string(kind->api_version));
    if (!*k)
        json_object_set_new(obj, "kind", json_string(kind->kind_name));
    json_t *meta = knd_json_ensure_obj(obj, "metadata");
    if (kind->namespaced) {
        const char *ons = knd_json_str(meta, "namespace", "");
        if (*ons && strcmp(ons, ns) != 0) {
            knd__api_status(call->req, 400, "BadRequest",
                            "the namespace of the provided object does not match the namespace "
                            "sent on the request",
                            NULL, NULL, NULL, NULL);
            json_decref(obj);
            return NULL;
        }
        json_object_set_new(meta, "namespace", json_string(ns));
    }
    if (path_name && strcmp(knd_json_str(meta, "name", ""), path_name) != 0) {
        knd__api_status(call->req, 400, "BadRequest",
                        "the name of the object does not match the name on the URL", NULL, NULL,
                        NULL, NULL);
        json_decref(obj);
        return NULL;
    }
    const knd_platform_t *p = knd_reconciler_platform(call->api->deps.rc);
    knd_errlist_t errs;
    knd_errlist_init(&errs);
    json_object_del(obj, "status"); /* the server owns status */
    if (knd_model_validate(obj, p, &errs) < 0) {
        knd_api_invalid(call, kind, knd_json_str(meta, "name", NULL), &errs, false);
        goto fail;
    }
    if (knd_api_is_platform_cm(kind, obj)) {
        knd_platform_t copy;
        knd_platform_copy(&copy, p);
        int rc = knd_platform_apply_configmap(&copy, obj, &errs);
        knd_platform_free(&copy);
        if (rc < 0) {
            knd_api_invalid(call, kind, knd_json_str(meta, "name", NULL), &errs, true);
            goto fail;
        }
    }
    knd_errlist_free(&errs);
    knd_model_default(obj, p);
    return obj;
fail:
    knd_errlist_free(&errs);
    json_decref(obj);
    return NULL;
}

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

static void knd_api_create(knd_api_call_t *call, const knd_kind_info_t *kind, const char *ns)
{
    json_t *obj = knd_api_admit(call, kind, ns, NULL);
    if (obj == NULL)
        return;
    knd_err_t err;
    const char *gen = knd_json_str(obj, "metadata.generateName", "");
    bool generate = *knd_json_str(obj, "metadata.name", "") == '\0' && *gen;
    int rc;
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
    } else {
        knd_log(KND_LOG_INFO, "api", "created %s %s/%s", kind->resource, ns ? ns : "", name);
        knd__api_json(call->req, 201, obj);
        knd_reconciler_kick(call->api->deps.rc);
    }
    json_decref(obj);
}

static void knd_api_replace(knd_api_call_t *call, const knd_kind_info_t *kind, const char *ns,
                            const char *name)
{
    knd_store_t *store = call->api->deps.store;
    json_t *obj = knd_api_admit(call, kind, ns, name);
    if (obj == NULL)
        return;
    knd_err_t err;
    json_t *old = NULL;
    if (knd_store_get(store, kind->resource, ns, name, &old, &err) < 0) {
        knd__api_error(call->req, &err, name, kind->group, kind->resource);
        json_decref(obj);
        return;
    }
    knd_errlist_t errs;
    knd_errlist_init(&errs);
    if (knd_model_validate_update(old, obj, knd_reconciler_platform(call->api->deps.rc), &errs) <
        0) {
        knd_api_invalid(call, kind, name, &errs, false);
        goto out;
    }
    /* Status and server-set metadata survive a replace, as with a status subresource. */
    json_t *st = json_object_get(old, "status");
    if (st)
        json_object_set(obj, "status", st);
    json_t *ometa = json_object_get(old, "metadata"), *nmeta = json_object_get(obj, "metadata");
    json_t *owners = json_object_get(ometa, "ownerReferences");
    if (owners && !json_object_get(nmeta, "ownerReferences"))
        json_object_set(nmeta, "ownerReferences", owners);
    int changed = 0;
    if (knd_store_update(store, kind->resource, obj, &changed, &err) < 0) {
        knd__api_error(call->req, &err, name, kind->group, kind->resource);
        goto out;
    }
    if (changed) {
        knd_log(KND_LOG_INFO, "api", "replaced %s %s/%s", kind->resource, ns ? ns : "", name);
        knd_reconciler_kick(call->api->deps.rc);
    }
    knd__api_json(call->req, 200, obj);
out:
    knd_errlist_free(&errs);
    json_decref(old);
    json_decref(obj);
}

static void knd_api_delete(knd_api_call_t *call, const knd_kind_info_t *kind, const char *ns,
                           const char *name)
{
    knd_err_t err;
    json_t *old = NULL;
    if (knd_store_delete(call->api->deps.store, kind->resource, ns, name, &old, &err) < 0) {
        knd__api_error(call->req, &err, name, kind->group, kind->resource);
        return;
    }
    knd_log(KND_LOG_INFO, "api", "deleted %s %s/%s", kind->resource, ns ? ns : "", name);
    json_t *st = json_pack("{s:s, s:s, s:{}, s:s, s:{s:s, s:s, s:s, s:s}}", "kind", "Status",
                           "apiVersion", "v1", "metadata", "status", "Success", "details", "name",
                           name, "group", kind->group, "kind", kind->resource, "uid",
                           knd_json_str(old, "metadata.uid", ""));
    json_decref(old);
    knd__api_json(call->req, 200, st);
    json_decref(st);
    knd_reconciler_kick(call->api->deps.rc);
}

void knd__api_objects(knd_api_call_t *call, const knd_kind_info_t *kind, const char *ns,
                      const char *name)
{
    int m = call->req->head.method;
    if (name == NULL) {
        if (m == HTTP_GET)
            knd_api_list(call, kind, ns);
        else if (m == HTTP_POST && (ns || !kind->namespaced))
            knd_api_create(call, kind, ns);
        else
            goto not_allowed;
        return;
    }
    if (m == HTTP_GET)
        knd_api_get(call, kind, ns, name);
    else if (m == HTTP_PUT)
        knd_api_replace(call, kind, ns, name);
    else if (m == HTTP_DELETE)
        knd_api_delete(call, kind, ns, name);
    else
        goto not_allowed;
    return;
not_allowed:;
    char msg[256];
    snprintf(msg, sizeof(msg), "the server does not allow this method on the requested resource");
    knd__api_status(call->req, 405, "MethodNotAllowed", msg, NULL, NULL, NULL, NULL);
}
