/*
 * knd_ingress.c - the ingress listener: Host -> route entry -> traffic target (weighted random,
 * tag hosts, optional Knative-Serving-Tag header), then hands the request to the proxy.
 */
#include "knd_ingress.h"

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "knd_alloc.h"
#include "knd_ingress_int.h"
#include "knd_log.h"

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

/* ------------------------------------------------------------------ request log */

#define KND_LOG_FLUSH_MS 200
#define KND_LOG_FLUSH_BYTES (64 * 1024)
#define KND_LOG_MAX_BYTES (8 * 1024 * 1024) /* beyond this lines are dropped, not buffered */

static void knd_ingress_log_flush(knd_ingress_t *ing)
{
    size_t off = 0;
    while (off < ing->log_buf.len) {
        ssize_t w = write(ing->log_fd >= 0 ? ing->log_fd : STDERR_FILENO, ing->log_buf.p + off,
                          ing->log_buf.len - off);
        if (w <= 0)
            break; /* a full disk loses log lines, never requests */
        off += (size_t)w;
    }
    knd_buf_reset(&ing->log_buf);
}

static void knd_ingress_log_tick(uv_timer_t *t)
{
    knd_ingress_log_flush(t->data);
}

knd_buf_t *knd__ingress_log_buf(knd_ingress_t *ing)
{
    return ing->log_buf.len > KND_LOG_MAX_BYTES ? NULL : &ing->log_buf;
}

void knd__ingress_log_done(knd_ingress_t *ing)
{
    /* Appends to a regular file land in the page cache: batching keeps it to a few write(2)s. */
    if (ing->log_buf.len >= KND_LOG_FLUSH_BYTES)
        knd_ingress_log_flush(ing);
    else if (!uv_is_active((uv_handle_t *)&ing->log_timer))
        uv_timer_start(&ing->log_timer, knd_ingress_log_tick, KND_LOG_FLUSH_MS, 0);
}

/* ------------------------------------------------------------------ lifecycle */

static void knd_ingress_timer_closed(uv_handle_t *h)
{
    knd_ingress_t *ing = h->data;
    knd_route_table_release(ing->table); /* normally already NULL (released at close) */
    void (*done)(void *) = ing->done;
    void *done_data = ing->done_data;
    free(ing);
    if (done)
        done(done_data);
}


int knd_ingress_start(uv_loop_t *loop, const char *host, int port, knd_ingress_t **out,
                      knd_err_t *err)
{
    knd_ingress_t *ing = knd_xcalloc(1, sizeof(*ing));
    ing->loop = loop;
    ing->log_fd = -1;
    knd_buf_init(&ing->log_buf);
    uv_timer_init(loop, &ing->log_timer);
    ing->log_timer.data = ing;
    if (knd_http_server_listen_tcp(loop, host, port, NULL, knd_ingress_on_request, ing, &ing->srv,
                                   err) < 0) {
        uv_close((uv_handle_t *)&ing->log_timer, knd_ingress_timer_closed); /* frees ing */
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
    bool reopen = opt->request_log != ing->opt.request_log ||
                  strcmp(opt->request_log_path, ing->opt.request_log_path) != 0;
    ing->opt = *opt;
    if (!reopen)
        return;
    knd_ingress_log_flush(ing);
    if (ing->log_fd >= 0)
        close(ing->log_fd);
    ing->log_fd = -1;
    if (opt->request_log && opt->request_log_path[0]) {
        ing->log_fd = open(opt->request_log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (ing->log_fd < 0)
            knd_log(KND_LOG_ERROR, "ingress", "request log %s: %s (logging to stderr)",
                    opt->request_log_path, strerror(errno));
    }
}

const knd_route_table_t *knd_ingress_table(const knd_ingress_t *ing)
{
    return ing->table;
}

int knd_ingress_port(const knd_ingress_t *ing)
{
    return knd_http_server_port(ing->srv);
}

static void knd_ingress_closed(void *data)
{
    knd_ingress_t *ing = data;
    ing->closing = true;
    knd__proxy_free_spares(ing);
    knd_ingress_log_flush(ing);
    knd_buf_free(&ing->log_buf);
    if (ing->log_fd >= 0)
        close(ing->log_fd);
    knd_route_table_release(ing->table);
    ing->table = NULL;
    uv_close((uv_handle_t *)&ing->log_timer, knd_ingress_timer_closed);
}

void knd_ingress_set_tracer(knd_ingress_t *ing, knd_tracer_t *tracer)
{
    ing->tracer = tracer;
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
