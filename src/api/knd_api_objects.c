/*
 * knd_api_objects.c - reads and deletes of the Kubernetes-shaped resources, and the verb
 * dispatch for them (writes are in knd_api_write.c).
 *
 * Reads answer in the representation the client asks for: the object or a typed List as JSON,
 * or a meta.k8s.io Table when the Accept header says `as=Table` (kubectl get), and a watch
 * stream with `?watch=true`. Label and field selectors filter lists and watches alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "knd_alloc.h"
#include "knd_api_int.h"
#include "knd_json.h"
#include "knd_kube_table.h"
#include "knd_log.h"
#include "knd_platform.h"

static bool knd_api_wants_table(const knd_api_call_t *call)
{
    return knd_kube_accept_table(knd_http_head_get(&call->req->head, "accept"));
}

/* The selectors of a list or watch; false (after answering 400) if one does not parse. */
static bool knd_api_selectors(knd_api_call_t *call, knd_kube_selector_t **labels,
                              knd_kube_selector_t **fields)
{
    char *ls = knd__api_query(call, "labelSelector"), *fs = knd__api_query(call, "fieldSelector");
    knd_err_t err;
    bool ok = true;
    *fields = NULL;
    if ((*labels = knd_kube_label_selector_parse(ls, &err)) == NULL && ls && *ls)
        ok = false;
    else if ((*fields = knd_kube_field_selector_parse(fs, &err)) == NULL && fs && *fs)
        ok = false;
    if (!ok) {
        knd__api_status(call->req, 400, "BadRequest", err.msg, NULL, NULL, NULL, NULL);
        knd_kube_selector_free(*labels);
        *labels = NULL;
    }
    free(ls);
    free(fs);
    return ok;
}

static void knd_api_list(knd_api_call_t *call, const knd_kind_info_t *kind, const char *ns)
{
    knd_kube_selector_t *labels, *fields;
    if (!knd_api_selectors(call, &labels, &fields))
        return;
    if (knd__api_query_flag(call, "watch")) {
        knd__api_watch(call, kind, ns, labels, fields);
        return;
    }
    knd_err_t err;
    json_t *items = NULL;
    if (knd_store_list(call->api->deps.store, kind->resource, ns, &items, &err) < 0) {
        knd__api_error(call->req, &err, NULL, kind->group, kind->resource);
        goto out;
    }
    json_t *sel = json_array();
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o) {
        if (knd_kube_selector_match(labels, o) && knd_kube_selector_match(fields, o))
            json_array_append(sel, o);
    }
    json_decref(items);
    char rv[32];
    snprintf(rv, sizeof(rv), "%lld", knd_store_revision(call->api->deps.store));
    json_t *doc;
    if (knd_api_wants_table(call)) {
        char *inc = knd__api_query(call, "includeObject");
        doc = knd_kube_table(kind, sel, knd_kube_include_parse(inc), rv, (int64_t)time(NULL),
                             true);
        free(inc);
        json_decref(sel);
    } else {
        char kind_list[80];
        snprintf(kind_list, sizeof(kind_list), "%sList", kind->kind_name);
        doc = json_pack("{s:s, s:s, s:{s:s}, s:o}", "apiVersion", kind->api_version, "kind",
                        kind_list, "metadata", "resourceVersion", rv, "items", sel);
    }
    knd__api_json(call->req, 200, doc);
    json_decref(doc);
out:
    knd_kube_selector_free(labels);
    knd_kube_selector_free(fields);
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
    if (knd_api_wants_table(call)) {
        json_t *one = json_array();
        json_array_append_new(one, obj);
        char *inc = knd__api_query(call, "includeObject");
        obj = knd_kube_table(kind, one, knd_kube_include_parse(inc),
                             knd_json_str(json_array_get(one, 0), "metadata.resourceVersion", NULL),
                             (int64_t)time(NULL), true);
        free(inc);
        json_decref(one);
    }
    knd__api_json(call->req, 200, obj);
    json_decref(obj);
}

/* Deleting a Namespace deletes what is in it (the reconciler then stops what they ran). */
static void knd_api_delete_namespace_contents(knd_api_t *api, const char *ns)
{
    for (knd_kind_t k = KND_KIND_SERVICE; k <= KND_KIND_NAMESPACE; k++) {
        const knd_kind_info_t *ki = knd_kind_info(k);
        json_t *items = NULL;
        knd_err_t err;
        if (ki == NULL || !ki->namespaced ||
            knd_store_list(api->deps.store, ki->resource, ns, &items, &err) < 0)
            continue;
        size_t i;
        json_t *o;
        json_array_foreach(items, i, o) {
            const char *name = knd_json_str(o, "metadata.name", "");
            if (knd_store_delete(api->deps.store, ki->resource, ns, name, NULL, &err) < 0 &&
                err.code != KND_E_NOTFOUND)
                knd_log(KND_LOG_WARN, "api", "deleting %s %s/%s: %s", ki->resource, ns, name,
                        err.msg);
        }
        json_decref(items);
    }
}

static void knd_api_delete(knd_api_call_t *call, const knd_kind_info_t *kind, const char *ns,
                           const char *name)
{
    knd_err_t err;
    json_t *old = NULL;
    if (kind->kind == KND_KIND_NAMESPACE &&
        (strcmp(name, "default") == 0 || strcmp(name, KND_SYSTEM_NAMESPACE) == 0)) {
        char msg[200];
        snprintf(msg, sizeof(msg), "namespaces \"%s\" is forbidden: this namespace may not be "
                 "deleted", name);
        knd__api_status(call->req, 403, "Forbidden", msg, name, "", "namespaces", NULL);
        return;
    }
    if (knd__api_dry_run(call) > 0) {
        /* What would go: answered as a delete is, nothing deleted. */
        if (knd_store_get(call->api->deps.store, kind->resource, ns, name, &old, &err) < 0) {
            knd__api_error(call->req, &err, name, kind->group, kind->resource);
            return;
        }
        knd__api_json(call->req, 200, old);
        json_decref(old);
        return;
    }
    if (knd_store_delete(call->api->deps.store, kind->resource, ns, name, &old, &err) < 0) {
        knd__api_error(call->req, &err, name, kind->group, kind->resource);
        return;
    }
    knd_log(KND_LOG_INFO, "api", "deleted %s %s/%s", kind->resource, ns ? ns : "", name);
    if (kind->kind == KND_KIND_NAMESPACE)
        knd_api_delete_namespace_contents(call->api, name);
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
    if (m != HTTP_GET && knd__api_dry_run(call) < 0)
        return; /* an unknown dryRun value: answered 400 */
    if (name == NULL) {
        if (m == HTTP_GET)
            knd_api_list(call, kind, ns);
        else if (m == HTTP_POST && (ns || !kind->namespaced))
            knd__api_create(call, kind, ns);
        else
            goto not_allowed;
        return;
    }
    if (m == HTTP_GET)
        knd_api_get(call, kind, ns, name);
    else if (m == HTTP_PUT)
        knd__api_replace(call, kind, ns, name);
    else if (m == HTTP_PATCH)
        knd__api_patch(call, kind, ns, name);
    else if (m == HTTP_DELETE)
        knd_api_delete(call, kind, ns, name);
    else
        goto not_allowed;
    return;
not_allowed:
    knd__api_status(call->req, 405, "MethodNotAllowed",
                    "the server does not allow this method on the requested resource", NULL, NULL,
                    NULL, NULL);
}
