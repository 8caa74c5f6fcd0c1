/*
 * knd_api_watch.c - `?watch=true` streams (shared/kubernetes-api.md §7): one JSON event per
 * line in a chunked response, from the store's change feed.
 *
 * The store reports every committed change (knd_store_observe); the hub keeps the last
 * KND_API_WATCH_RING of them so that a watch resuming from a resourceVersion a client listed
 * a moment ago replays what it missed. Older than the ring: a 410 Expired ERROR event, after
 * which kubectl relists. resourceVersion absent or "0" starts with a synthetic ADDED per
 * matching object. Each watcher owns its request until the client leaves (on_abort), its
 * timeoutSeconds passes, it falls too far behind, or the server closes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "knd_alloc.h"
#include "knd_api_int.h"
#include "knd_json.h"
#include "knd_kube_select.h"
#include "knd_kube_table.h"
#include "knd_log.h"

/* A watcher whose client reads slower than this many queued bytes is ended (it re-watches). */
#define KND_API_WATCH_MAX_QUEUED (8u * 1024 * 1024)

typedef struct knd_api_watcher_s {
    struct knd_api_watcher_s *prev, *next;
    knd_api_t *api;
    knd_http_req_t *req;
    const knd_kind_info_t *kind;
    char *ns; /* NULL: every namespace */
    knd_kube_selector_t *labels, *fields;
    bool table, columns_sent;
    knd_kube_include_t include;
    uv_timer_t timer; /* timeoutSeconds */
} knd_api_watcher_t;

/* ------------------------------------------------------------------ the ring */

static void knd_api_watch_ring_push(knd_api_t *api, knd_store_change_t type, const char *resource,
                                    const char *json, long long rv)
{
    knd_api_event_t *e = &api->ring[(api->ring_start + api->ring_len) % KND_API_WATCH_RING];
    if (api->ring_len == KND_API_WATCH_RING) {
        /* Evicting the oldest: a watch from before it can no longer be served. */
        e = &api->ring[api->ring_start];
        api->ring_floor = e->rv;
        free(e->json);
        free(e->resource);
        api->ring_start = (api->ring_start + 1) % KND_API_WATCH_RING;
        api->ring_len--;
    }
    e->type = type;
    e->resource = knd_xstrdup(resource);
    e->json = knd_xstrdup(json);
    e->rv = rv;
    api->ring_len++;
}

void knd__api_watch_init(knd_api_t *api)
{
    api->ring_floor = knd_store_revision(api->deps.store);
}

void knd__api_watch_free(knd_api_t *api)
{
    for (size_t i = 0; i < api->ring_len; i++) {
        knd_api_event_t *e = &api->ring[(api->ring_start + i) % KND_API_WATCH_RING];
        free(e->json);
        free(e->resource);
    }
    api->ring_len = 0;
}

/* ------------------------------------------------------------------ watchers */

static void knd_api_watcher_closed(uv_handle_t *h)
{
    knd_api_watcher_t *w = h->data;
    knd_kube_selector_free(w->labels);
    knd_kube_selector_free(w->fields);
    free(w->ns);
    free(w);
}

/* Unlinks w and frees it; ends the response unless the client already left. */
static void knd_api_watcher_end(knd_api_watcher_t *w, bool client_gone)
{
    knd_api_t *api = w->api;
    if (w->prev)
        w->prev->next = w->next;
    else
        api->watchers = w->next;
    if (w->next)
        w->next->prev = w->prev;
    api->nwatchers--;
    uv_timer_stop(&w->timer);
    if (!client_gone && w->req) {
        w->req->on_abort = NULL;
        w->req->data = NULL;
        knd_http_resp_end(w->req);
    }
    w->req = NULL;
    uv_close((uv_handle_t *)&w->timer, knd_api_watcher_closed);
}

static void knd_api_watcher_abort(knd_http_req_t *req)
{
    knd_api_watcher_end(req->data, true);
}

static void knd_api_watcher_timeout(uv_timer_t *t)
{
    knd_api_watcher_end(t->data, false);
}

static bool knd_api_watcher_matches(const knd_api_watcher_t *w, const char *resource,
                                    const json_t *obj)
{
    if (strcmp(resource, w->kind->resource) != 0)
        return false;
    if (w->ns && strcmp(knd_json_str(obj, "metadata.namespace", ""), w->ns) != 0)
        return false;
    return knd_kube_selector_match(w->labels, obj) && knd_kube_selector_match(w->fields, obj);
}

static const char *knd_api_watch_type_name(knd_store_change_t t)
{
    return t == KND_STORE_ADDED ? "ADDED" : t == KND_STORE_MODIFIED ? "MODIFIED" : "DELETED";
}

/* Writes one event line; returns false if the watcher was ended (too slow). */
static bool knd_api_watcher_send(knd_api_watcher_t *w, const char *type, const json_t *obj)
{
    json_t *payload;
    if (w->table) {
        json_t *one = json_array();
        json_array_append(one, (json_t *)obj);
        payload = knd_kube_table(w->kind, one, w->include,
                                 knd_json_str(obj, "metadata.resourceVersion", NULL),
                                 (int64_t)time(NULL), !w->columns_sent);
        w->columns_sent = true;
        json_decref(one);
    } else {
        payload = json_incref((json_t *)obj);
    }
    json_t *ev = json_pack("{s:s, s:o}", "type", type, "object", payload);
    char *line = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(ev);
    size_t n = strlen(line);
    line = knd_xrealloc(line, n + 2);
    line[n++] = '\n';
    knd_http_resp_body(w->req, line, n);
    free(line);
    if (knd_http_resp_queued(w->req) > KND_API_WATCH_MAX_QUEUED) {
        knd_log(KND_LOG_WARN, "api", "watch of %s: client too slow, ending the stream",
                w->kind->resource);
        knd_api_watcher_end(w, false);
        return false;
    }
    return true;
}

static json_t *knd_api_watch_parse(const char *json)
{
    json_t *obj = json_loads(json, 0, NULL);
    if (!json_is_object(obj))
        knd_log(KND_LOG_ERROR, "api", "watch: a stored change is not a JSON object");
    return obj;
}

void knd__api_watch_on_change(void *data, knd_store_change_t type, const char *resource,
                              const char *json, long long rv)
{
    knd_api_t *api = data;
    knd_api_watch_ring_push(api, type, resource, json, rv);
    json_t *obj = NULL;
    for (knd_api_watcher_t *w = api->watchers, *next; w; w = next) {
        next = w->next;
        if (strcmp(resource, w->kind->resource) != 0)
            continue;
        if (obj == NULL && (obj = knd_api_watch_parse(json)) == NULL)
            return;
        if (knd_api_watcher_matches(w, resource, obj))
            knd_api_watcher_send(w, knd_api_watch_type_name(type), obj);
    }
    json_decref(obj);
}

void knd__api_watch_close_all(knd_api_t *api)
{
    while (api->watchers)
        knd_api_watcher_end(api->watchers, false);
}

/* ------------------------------------------------------------------ starting a watch */

static void knd_api_watch_expired(knd_api_call_t *call, long long want, long long floor)
{
    char msg[128];
    snprintf(msg, sizeof(msg), "too old resource version: %lld (%lld)", want, floor + 1);
    json_t *ev = json_pack("{s:s, s:{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}}", "type", "ERROR",
                           "object", "kind", "Status", "apiVersion", "v1", "metadata", "status",
                           "Failure", "message", msg, "reason", "Expired", "code", 410);
    char *line = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(ev);
    knd_http_resp_head(call->req, 200, "Content-Type: application/json\r\n", -1);
    knd_http_resp_body(call->req, line, strlen(line));
    knd_http_resp_body(call->req, "\n", 1);
    knd_http_resp_end(call->req);
    free(line);
}

/* Parses `resourceVersion`: -1 for absent or "0" (start with the current state). */
static int knd_api_watch_from(knd_api_call_t *call, long long *from)
{
    char *s = knd__api_query(call, "resourceVersion");
    *from = -1;
    int rc = 0;
    if (s && *s && strcmp(s, "0") != 0) {
        char *end;
        *from = strtoll(s, &end, 10);
        if (*end != '\0' || *from < 0)
            rc = -1;
    }
    free(s);
    return rc;
}

/* Sends ADDED for every current object the watcher selects. */
static bool knd_api_watch_initial(knd_api_watcher_t *w)
{
    json_t *items = NULL;
    knd_err_t err;
    if (knd_store_list(w->api->deps.store, w->kind->resource, w->ns, &items, &err) < 0) {
        knd_log(KND_LOG_ERROR, "api", "watch of %s: %s", w->kind->resource, err.msg);
        return true;
    }
    size_t i;
    json_t *o;
    bool alive = true;
    json_array_foreach(items, i, o) {
        if (knd_api_watcher_matches(w, w->kind->resource, o) &&
            !(alive = knd_api_watcher_send(w, "ADDED", o)))
            break;
    }
    json_decref(items);
    return alive;
}

void knd__api_watch(knd_api_call_t *call, const knd_kind_info_t *kind, const char *ns,
                    knd_kube_selector_t *labels, knd_kube_selector_t *fields)
{
    knd_api_t *api = call->api;
    long long from;
    if (knd_api_watch_from(call, &from) < 0) {
        knd__api_status(call->req, 400, "BadRequest", "resourceVersion: must be an integer",
                        NULL, NULL, NULL, NULL);
        goto fail;
    }
    if (from >= 0 && from < api->ring_floor) {
        knd_api_watch_expired(call, from, api->ring_floor);
        goto fail;
    }
    knd_api_watcher_t *w = knd_xcalloc(1, sizeof(*w));
    w->api = api;
    w->req = call->req;
    w->kind = kind;
    w->ns = ns ? knd_xstrdup(ns) : NULL;
    w->labels = labels;
    w->fields = fields;
    w->table = knd_kube_accept_table(knd_http_head_get(&call->req->head, "accept"));
    char *inc = knd__api_query(call, "includeObject");
    w->include = knd_kube_include_parse(inc);
    free(inc);
    uv_timer_init(api->deps.loop, &w->timer);
    w->timer.data = w;
    w->next = api->watchers;
    if (api->watchers)
        api->watchers->prev = w;
    api->watchers = w;
    api->nwatchers++;
    call->req->data = w;
    call->req->on_abort = knd_api_watcher_abort;
    knd_http_resp_head(call->req, 200, "Content-Type: application/json\r\n", -1);

    if (from < 0) {
        if (!knd_api_watch_initial(w))
            return;
    } else {
        for (size_t i = 0; i < api->ring_len; i++) {
            knd_api_event_t *e = &api->ring[(api->ring_start + i) % KND_API_WATCH_RING];
            if (e->rv <= from || strcmp(e->resource, kind->resource) != 0)
                continue;
            json_t *obj = knd_api_watch_parse(e->json);
            bool alive = obj == NULL || !knd_api_watcher_matches(w, e->resource, obj) ||
                         knd_api_watcher_send(w, knd_api_watch_type_name(e->type), obj);
            json_decref(obj);
            if (!alive)
                return;
        }
    }
    char *t = knd__api_query(call, "timeoutSeconds");
    long secs = t && *t ? atol(t) : 0;
    free(t);
    if (secs > 0)
        uv_timer_start(&w->timer, knd_api_watcher_timeout, (uint64_t)secs * 1000, 0);
    return;
fail:
    knd_kube_selector_free(labels);
    knd_kube_selector_free(fields);
}
