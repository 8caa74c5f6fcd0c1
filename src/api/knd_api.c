/*
 * knd_api.c - control API server: request bodies, path routing, Status responses
 * (see knd_api.h and docs/api.md).
 */
#include "knd_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_api_int.h"
#include "knd_log.h"

/* ------------------------------------------------------------------ responses */

void knd__api_json_headers(knd_http_req_t *req, int code, const json_t *obj,
                           const char *headers)
{
    char *s = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    size_t n = s ? strlen(s) : 0;
    if (s) {
        s = knd_xrealloc(s, n + 2);
        s[n++] = '\n';
        s[n] = '\0';
    }
    knd_buf_t h;
    knd_buf_init(&h);
    knd_buf_cat(&h, "Content-Type: application/json\r\n", headers ? headers : "", NULL);
    knd_http_resp_head(req, code, knd_buf_cstr(&h), (int64_t)n);
    knd_http_resp_body(req, s ? s : "", n);
    knd_http_resp_end(req);
    knd_buf_free(&h);
    free(s);
}

void knd__api_json(knd_http_req_t *req, int code, const json_t *obj)
{
    knd__api_json_headers(req, code, obj, NULL);
}

void knd__api_status(knd_http_req_t *req, int code, const char *reason, const char *message,
                     const char *name, const char *group, const char *kind, json_t *causes)
{
    json_t *st = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion",
                           "v1", "metadata", "status", code < 300 ? "Success" : "Failure",
                           "message", message, "reason", reason, "code", code);
    if (name || kind || causes) {
        json_t *d = json_object();
        if (name)
            json_object_set_new(d, "name", json_string(name));
        if (group && *group)
            json_object_set_new(d, "group", json_string(group));
        if (kind)
            json_object_set_new(d, "kind", json_string(kind));
        if (causes)
            json_object_set_new(d, "causes", causes);
        json_object_set_new(st, "details", d);
    }
    knd__api_json(req, code, st);
    json_decref(st);
}

void knd__api_error(knd_http_req_t *req, const knd_err_t *err, const char *name,
                    const char *group, const char *resource)
{
    int code = 500;
    const char *reason = "InternalError";
    switch (err->code) {
    case KND_E_INVALID: code = 422; reason = "Invalid"; break;
    case KND_E_NOTFOUND: code = 404; reason = "NotFound"; break;
    case KND_E_EXISTS: code = 409; reason = "AlreadyExists"; break;
    case KND_E_CONFLICT: code = 409; reason = "Conflict"; break;
    case KND_E_UNAVAILABLE: code = 503; reason = "ServiceUnavailable"; break;
    default: break;
    }
    knd__api_status(req, code, reason, err->msg, name, group, resource, NULL);
}

/* ------------------------------------------------------------------ parsing */

char *knd__api_query(const knd_api_call_t *call, const char *key)
{
    if (call->query == NULL)
        return NULL;
    size_t kl = strlen(key);
    for (const char *p = call->query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
            char *v = knd_xstrndup(p + kl + 1, len - kl - 1);
            for (char *c = v; *c; c++)
                if (*c == '+')
                    *c = ' ';
            if (knd_http_url_decode(v) < 0) {
                free(v);
                return NULL;
            }
            return v;
        }
        if (len == kl && strncmp(p, key, kl) == 0)
            return knd_xstrdup("");
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

/* Splits the request target into decoded path segments and the raw query. */
static int knd_api_parse_target(knd_api_call_t *call)
{
    const char *url = knd_http_head_url(&call->req->head);
    const char *q = strchr(url, '?');
    call->path = knd_xstrndup(url, q ? (size_t)(q - url) : strlen(url));
    call->query = q ? knd_xstrdup(q + 1) : NULL;
    char *save = NULL;
    for (char *s = strtok_r(call->path, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
        if (call->nseg == (int)KND_ARRAY_SIZE(call->seg) || knd_http_url_decode(s) < 0)
            return -1;
        call->seg[call->nseg++] = s;
    }
    return 0;
}

static void knd_api_not_found(knd_api_call_t *call)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "the server could not find the requested resource (%s %s)",
             llhttp_method_name((llhttp_method_t)call->req->head.method),
             knd_http_head_url(&call->req->head));
    knd__api_status(call->req, 404, "NotFound", msg, NULL, NULL, NULL, NULL);
}

/* /api/v1/... and /apis/{group}/{version}/...: [namespaces/{ns}/]{resource}[/{name}] */
static void knd_api_route_resources(knd_api_call_t *call, const char *group, const char *version,
                                    int i)
{
    char **s = call->seg;
    int rest = call->nseg - i;
    const char *ns = NULL, *resource, *name = NULL;
    if (rest >= 3 && strcmp(s[i], "namespaces") == 0) {
        ns = s[i + 1];
        resource = s[i + 2];
        name = rest >= 4 ? s[i + 3] : NULL;
        if (rest > 4) {
            /* knd.dev extension: services/{name}/logs */
            if (strcmp(group, "knd.dev") == 0 && rest == 5 && strcmp(resource, "services") == 0 &&
                strcmp(s[i + 4], "logs") == 0) {
                knd__api_logs(call, ns, name);
                return;
            }
            knd_api_not_found(call);
            return;
        }
    } else if (rest >= 1 && rest <= 2) {
        resource = s[i];
        name = rest == 2 ? s[i + 1] : NULL;
    } else {
        knd_api_not_found(call);
        return;
    }
    if (strcmp(group, "knd.dev") == 0 && ns == NULL && name == NULL &&
        strcmp(resource, "stats") == 0) {
        knd__api_stats(call);
        return;
    }
    if (strcmp(group, "knd.dev") == 0 && ns == NULL && strcmp(resource, "images") == 0) {
        knd__api_images(call, name);
        return;
    }
    const knd_kind_info_t *kind = knd_kind_by_resource(group, version, resource);
    if (kind == NULL) {
        knd_api_not_found(call);
        return;
    }
    if (ns && !kind->namespaced) {
        knd_api_not_found(call);
        return;
    }
    if (ns == NULL && kind->namespaced && name != NULL) {
        knd_api_not_found(call);
        return;
    }
    knd__api_objects(call, kind, ns, name);
}

/* Over HTTPS every request needs the bearer token; the unix socket is guarded by its mode. */
static bool knd_api_authorized(knd_api_call_t *call)
{
    if (!call->req->secure)
        return true;
    const char *auth = knd_http_head_get(&call->req->head, "authorization");
    if (knd_kube_pki_authorized(&call->api->pki, auth))
        return true;
    knd_log(KND_LOG_INFO, "api", "refused an unauthenticated request from %s", call->req->peer);
    knd__api_status(call->req, 401, "Unauthorized", "Unauthorized", NULL, NULL, NULL, NULL);
    return false;
}

static void knd_api_dispatch(knd_api_call_t *call)
{
    knd_http_req_t *req = call->req;
    if (!knd_api_authorized(call))
        return;
    if (call->too_large) {
        knd__api_status(req, 413, "RequestEntityTooLarge",
                        "the request body is larger than 3145728 bytes", NULL, NULL, NULL, NULL);
        return;
    }
    if (knd_api_parse_target(call) < 0) {
        knd__api_status(req, 400, "BadRequest", "malformed request path", NULL, NULL, NULL, NULL);
        return;
    }
    char **s = call->seg;
    int n = call->nseg;
    if (n == 1 && (strcmp(s[0], "healthz") == 0 || strcmp(s[0], "readyz") == 0 ||
                   strcmp(s[0], "livez") == 0)) {
        knd_http_resp_simple(req, 200, "text/plain", "ok", 2);
        return;
    }
    if (knd__api_kube(call))
        return;
    if (n >= 2 && strcmp(s[0], "api") == 0 && strcmp(s[1], "v1") == 0) {
        knd_api_route_resources(call, "", "v1", 2);
        return;
    }
    if (n >= 3 && strcmp(s[0], "apis") == 0) {
        knd_api_route_resources(call, s[1], s[2], 3);
        return;
    }
    knd_api_not_found(call);
}

/* ------------------------------------------------------------------ request plumbing */

static void knd_api_call_free(knd_api_call_t *call)
{
    knd_buf_free(&call->body);
    knd_buf_free(&call->warnings);
    free(call->path);
    free(call->query);
    free(call);
}

static void knd_api_on_body(knd_http_req_t *req, const char *p, size_t n)
{
    knd_api_call_t *call = req->data;
    if (call->too_large || call->body.len + n > KND_API_MAX_BODY) {
        call->too_large = true;
        return;
    }
    knd_buf_append(&call->body, p, n);
}

static void knd_api_on_body_end(knd_http_req_t *req)
{
    knd_api_call_t *call = req->data;
    req->on_abort = NULL;
    req->on_body = NULL;
    req->on_body_end = NULL;
    /* The response may have ended (and req been freed) by the time dispatch returns. */
    knd_api_dispatch(call);
    if (!call->taken)
        knd_api_call_free(call);
}

static void knd_api_on_abort(knd_http_req_t *req)
{
    knd_api_call_free(req->data);
}

static void knd_api_on_request(knd_http_req_t *req, void *data)
{
    knd_api_call_t *call = knd_xcalloc(1, sizeof(*call));
    call->api = data;
    call->req = req;
    knd_buf_init(&call->body);
    req->data = call;
    req->on_body = knd_api_on_body;
    req->on_body_end = knd_api_on_body_end;
    req->on_abort = knd_api_on_abort;
    if (req->head.content_length > KND_API_MAX_BODY) {
        call->too_large = true; /* answered at the end of the body, or now: */
        req->on_body = NULL;
        req->on_body_end = NULL;
        req->on_abort = NULL;
        req->data = NULL;
        knd__api_status(req, 413, "RequestEntityTooLarge",
                        "the request body is larger than 3145728 bytes", NULL, NULL, NULL, NULL);
        knd_api_call_free(call);
    }
}

int knd_api_listen_unix(const knd_api_deps_t *deps, const char *path, knd_api_t **out,
                        knd_err_t *err)
{
    knd_api_t *api = knd_xcalloc(1, sizeof(*api));
    api->deps = *deps;
    if (knd_http_server_listen_unix(deps->loop, path, NULL, knd_api_on_request, api, &api->srv,
                                    err) < 0) {
        free(api);
        return -1;
    }
    knd__api_watch_init(api);
    knd_store_observe(deps->store, knd__api_watch_on_change, api);
    *out = api;
    return 0;
}

/* Runs when the first HTTPS client connects: checks the certificates, renewing what needs it. */
static int knd_api_tls_prepare(void *data, knd_err_t *err)
{
    knd_api_t *api = data;
    knd_kube_pki_t fresh;
    if (knd_kube_pki_ensure(api->state_dir, api->tls_host, &fresh, err) < 0)
        return -1;
    knd_kube_pki_free(&fresh);
    return 0;
}

int knd_api_listen_tls(knd_api_t *api, const char *state_dir, const char *host, int port,
                       knd_err_t *err)
{
    /* With the credentials in place, OpenSSL is loaded by the first client, not at start. */
    int rc = knd_kube_pki_load(state_dir, &api->pki, err);
    if (rc < 0 || (rc > 0 && knd_kube_pki_ensure(state_dir, host, &api->pki, err) < 0))
        return -1;
    api->state_dir = knd_xstrdup(state_dir);
    api->tls_host = knd_xstrdup(host);
    api->tls = knd_tls_ctx_new_lazy(api->pki.cert_file, api->pki.key_file, knd_api_tls_prepare,
                                    api);
    if (knd_http_server_listen_tls(api->deps.loop, host, port, NULL, api->tls,
                                   knd_api_on_request, api, &api->tls_srv, err) < 0)
        return -1;
    char url[300];
    snprintf(url, sizeof(url), strchr(host, ':') ? "https://[%s]:%d" : "https://%s:%d", host,
             knd_http_server_port(api->tls_srv));
    if (knd_kube_pki_write_kubeconfig(state_dir, &api->pki, url, err) < 0)
        return -1;
    knd_log(KND_LOG_INFO, "api", "kubectl API on %s (KUBECONFIG=%s/kubeconfig)", url, state_dir);
    return 0;
}

int knd_api_tls_port(const knd_api_t *api)
{
    return api->tls_srv ? knd_http_server_port(api->tls_srv) : 0;
}

static void knd_api_server_closed(void *data)
{
    knd_api_t *api = data;
    if (--api->closing_servers > 0)
        return;
    void (*done)(void *) = api->done;
    void *done_data = api->done_data;
    knd__api_watch_free(api);
    knd_tls_ctx_free(api->tls);
    knd_kube_pki_free(&api->pki);
    free(api->state_dir);
    free(api->tls_host);
    free(api);
    if (done)
        done(done_data);
}

void knd_api_close(knd_api_t *api, void (*done)(void *data), void *data)
{
    api->done = done;
    api->done_data = data;
    knd_store_unobserve(api->deps.store, knd__api_watch_on_change, api);
    knd__api_follow_close_all(api);
    knd__api_watch_close_all(api);
    api->closing_servers = api->tls_srv ? 2 : 1;
    if (api->tls_srv)
        knd_http_server_close(api->tls_srv, knd_api_server_closed, api);
    knd_http_server_close(api->srv, knd_api_server_closed, api);
}
