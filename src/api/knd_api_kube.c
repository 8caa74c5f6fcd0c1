/*
 * knd_api_kube.c - the requests kubectl makes besides reading and writing objects
 * (shared/kubernetes-api.md §1-3, §5.5): /version, discovery (aggregated v2 when asked, the
 * legacy documents otherwise), OpenAPI (v3 absent, v2 an empty document so that client-side
 * validation finds no schema and leaves it to the server), and events.
 *
 * knd records no Event objects: `kubectl describe` gets an empty EventList (it prints
 * "Events: <none>"); what happened to an object is in its status conditions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "knd_alloc.h"
#include "knd_api_int.h"
#include "knd_kube_discovery.h"
#include "knd_kube_table.h"

bool knd__api_query_flag(const knd_api_call_t *call, const char *key)
{
    char *v = knd__api_query(call, key);
    bool on = v && (*v == '\0' || strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
    free(v);
    return on;
}

static void knd_api_kube_send(knd_api_call_t *call, const char *content_type, json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    knd_http_resp_simple(call->req, 200, content_type, s, strlen(s));
    free(s);
}

static void knd_api_kube_discovery(knd_api_call_t *call, bool core)
{
    const char *accept = knd_http_head_get(&call->req->head, "accept");
    if (knd_kube_accept_aggregated(accept)) {
        knd_api_kube_send(call, KND_KUBE_AGGREGATED_CT, knd_kube_discovery_aggregated(core));
        return;
    }
    knd_api_kube_send(call, "application/json",
                      core ? knd_kube_discovery_api_versions() : knd_kube_discovery_group_list());
}

/* GET /api/v1/events, /api/v1/namespaces/{ns}/events: always empty. */
static void knd_api_kube_events(knd_api_call_t *call)
{
    char rv[32];
    snprintf(rv, sizeof(rv), "%lld", knd_store_revision(call->api->deps.store));
    json_t *items = json_array();
    json_t *doc;
    if (knd_kube_accept_table(knd_http_head_get(&call->req->head, "accept")))
        doc = knd_kube_table(knd_kube_event_kind(), items, KND_KUBE_INCLUDE_METADATA, rv,
                             (int64_t)time(NULL), true);
    else
        doc = json_pack("{s:s, s:s, s:{s:s}, s:O}", "kind", "EventList", "apiVersion", "v1",
                        "metadata", "resourceVersion", rv, "items", items);
    json_decref(items);
    knd_api_kube_send(call, "application/json", doc);
}

static bool knd_api_kube_is_events(knd_api_call_t *call)
{
    char **s = call->seg;
    int n = call->nseg;
    if (n < 3 || strcmp(s[0], "api") != 0 || strcmp(s[1], "v1") != 0)
        return false;
    return (n == 3 && strcmp(s[2], "events") == 0) ||
           (n == 5 && strcmp(s[2], "namespaces") == 0 && strcmp(s[4], "events") == 0);
}

bool knd__api_kube(knd_api_call_t *call)
{
    char **s = call->seg;
    int n = call->nseg;
    bool get = call->req->head.method == HTTP_GET;
    if (!get)
        return false;
    if (n == 1 && strcmp(s[0], "version") == 0) {
        knd_api_kube_send(call, "application/json", knd_kube_version(KND_VERSION));
        return true;
    }
    if (n == 1 && (strcmp(s[0], "api") == 0 || strcmp(s[0], "apis") == 0)) {
        knd_api_kube_discovery(call, strcmp(s[0], "api") == 0);
        return true;
    }
    if (n >= 1 && strcmp(s[0], "openapi") == 0) {
        if (n == 2 && strcmp(s[1], "v2") == 0)
            knd_http_resp_simple(call->req, 200, "application/octet-stream", "", 0);
        else
            return false; /* v3: 404, so kubectl falls back to the empty v2 */
        return true;
    }
    json_t *doc = NULL;
    if (n == 2 && strcmp(s[0], "api") == 0 && strcmp(s[1], "v1") == 0)
        doc = knd_kube_discovery_resources("", "v1");
    else if (n == 2 && strcmp(s[0], "apis") == 0)
        doc = knd_kube_discovery_resources(s[1], NULL);
    else if (n == 3 && strcmp(s[0], "apis") == 0)
        doc = knd_kube_discovery_resources(s[1], s[2]);
    if (doc) {
        knd_api_kube_send(call, "application/json", doc);
        return true;
    }
    if (knd_api_kube_is_events(call)) {
        knd_api_kube_events(call);
        return true;
    }
    return false;
}
