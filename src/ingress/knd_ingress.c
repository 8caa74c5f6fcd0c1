/*
 * knd_ingress.c - the ingress listener: Host -> route entry -> traffic target (weighted random,
 * tag hosts, optional Knative-Serving-Tag header), then hands the request to the proxy.
 */
#include "knd_ingress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_ingress_int.h"

static void knd_ingress_not_found(knd_http_req_t *req, const char *host)
{
    char body[512];
    int n = snprintf(body, sizeof(body), "knd: no route for host \"%.300s\"\n", host);
    knd_http_resp_simple(req, 404, "text/plain; charset=utf-8", body, (size_t)n);
}

static void knd_ingress_on_request(knd_http_req_t *req, void *data)
{
    knd_ingress_t *ing = data;
    const char *host = knd_http_head_get(&req->head, "Host");
    if (host == NULL || *host == '\0') {
        const char *msg = "knd: request has no Host header\n";
        knd_http_resp_simple(req, 400, "text/plain; charset=utf-8", msg, strlen(msg));
        return;
    }
    const knd_rt_entry_t *e = ing->table ? knd_route_table_lookup(ing->table, host) : NULL;
    if (e == NULL) {
        knd_ingress_not_found(req, host);
        return;
    }
    const knd_rt_target_t *t = NULL;
    bool header_routing = ing->opt.tag_header_routing && e->tag == NULL;
    if (header_routing) {
        /* Knative: an unknown tag header falls through to the default split. */
        const char *tag = knd_http_head_get(&req->head, "Knative-Serving-Tag");
        if (tag)
            t = knd_route_table_tag(e, tag);
    }
    bool default_route = header_routing && t == NULL;
    if (t == NULL)
        t = knd_route_table_pick(e, (unsigned)random());
    if (t == NULL) {
        const char *msg = "knd: route has no ready traffic target\n";
        knd_http_resp_simple(req, 503, "text/plain; charset=utf-8", msg, strlen(msg));
        return;
    }
    knd__proxy_start(ing, req, ing->table, e, t, default_route);
}

int knd_ingress_start(uv_loop_t *loop, const char *host, int port, knd_ingress_t **out,
                      knd_err_t *err)
{
    knd_ingress_t *ing = knd_xcalloc(1, sizeof(*ing));
    ing->loop = loop;
    if (knd_http_server_listen_tcp(loop, host, port, NULL, knd_ingress_on_request, ing, &ing->srv,
                                   err) < 0) {
        free(ing);
        return -1;
    }
    *out = ing;
    return 0;
}

void knd_ingress_set_table(knd_ingress_t *ing, knd_route_table_t *t)
{
    knd_route_table_t *old = ing->table;
    ing->table = t;
    knd_route_table_release(old);
}

void knd_ingress_set_options(knd_ingress_t *ing, const knd_ingress_options_t *opt)
{
    ing->opt = *opt;
}

int knd_ingress_port(const knd_ingress_t *ing)
{
    return knd_http_server_port(ing->srv);
}

static void knd_ingress_closed(void *data)
{
    knd_ingress_t *ing = data;
    void (*done)(void *) = ing->done;
    void *done_data = ing->done_data;
    knd_route_table_release(ing->table);
    free(ing);
    if (done)
        done(done_data);
}

void knd_ingress_abort(knd_ingress_t *ing)
{
    knd_http_server_abort_all(ing->srv);
}

void knd_ingress_close(knd_ingress_t *ing, void (*done)(void *data), void *data)
{
    ing->done = done;
    ing->done_data = data;
    knd_http_server_close(ing->srv, knd_ingress_closed, ing);
}
