/*
 * knd_proxy.c - relays one client request to an instance and its response back, streaming both
 * bodies with backpressure (a slow reader pauses the instance's connection; a slow instance
 * pauses the client's upload). Adds Knative's request headers.
 *
 * Ownership: a knd_proxy_t lives from knd__proxy_start until the exchange ends on both sides:
 * the response completed (or failed) and the client request is released. It holds a reference to
 * the route table it started with (which keeps the revision alive) and, once granted, a slot and
 * a reference on an endpoint.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "knd_alloc.h"
#include "knd_http_client.h"
#include "knd_ingress_int.h"
#include "knd_log.h"

#define KND_PROXY_HIGH_WATER (256 * 1024) /* bytes queued before pausing the other side */

typedef struct {
    knd_ingress_t *ing;
    knd_http_req_t *req;        /* NULL once the client side has been released */
    knd_route_table_t *table;   /* reference */
    knd_rev_t *rev;             /* borrowed through table */
    knd_endpoint_t *ep;         /* granted slot, or NULL */
    knd_activator_wait_t *wait; /* while queued */
    knd_http_client_t *up;      /* upstream connection, or NULL */
    knd_buf_t pending;          /* request body received before the upstream was ready */
    bool up_ready;              /* head sent: body goes straight to the upstream */
    bool body_end;              /* the client's body is complete */
    bool chunked_up;            /* the body goes upstream chunked */
    bool body_sent;             /* some body bytes went upstream: no retry possible */
    bool resp_started;
    bool from_pool;
    int retries;
} knd_proxy_t;

static void knd_proxy_acquire(knd_proxy_t *p);
static const knd_http_client_cbs_t knd_proxy_up_cbs;
static const knd_http_client_cbs_t knd_proxy_idle_cbs;

/* ------------------------------------------------------------------ teardown */

static void knd_proxy_free(knd_proxy_t *p)
{
    knd_activator_cancel(p->wait);
    if (p->up)
        knd_http_client_close(p->up);
    if (p->ep)
        knd_endpoint_done(p->ep);
    knd_buf_free(&p->pending);
    knd_route_table_release(p->table);
    free(p);
}

/* Ends the client side with a short plain-text error (only before any response byte). */
static void knd_proxy_fail(knd_proxy_t *p, int status, const char *msg)
{
    knd_http_req_t *req = p->req;
    p->req = NULL;
    if (req) {
        req->data = NULL;
        if (p->resp_started)
            knd_http_resp_abort(req);
        else
            knd_http_resp_simple(req, status, "text/plain; charset=utf-8", msg, strlen(msg));
    }
    knd_proxy_free(p);
}

/* ------------------------------------------------------------------ upstream side */

static void knd_proxy_idle_error(knd_http_client_t *c, int status)
{
    knd_endpoint_drop_conn(knd_http_client_data(c), c);
}

static const knd_http_client_cbs_t knd_proxy_idle_cbs = {.on_error = knd_proxy_idle_error};

static void knd_proxy_write_body(knd_proxy_t *p, const char *data, size_t n)
{
    if (n == 0)
        return;
    p->body_sent = true;
    if (p->chunked_up) {
        char size[24];
        int sn = snprintf(size, sizeof(size), "%zx\r\n", n);
        knd_http_client_write(p->up, size, (size_t)sn, data, n, "\r\n", 2);
    } else {
        knd_http_client_write(p->up, data, n, NULL, 0, NULL, 0);
    }
}

static void knd_proxy_send_head(knd_proxy_t *p)
{
    knd_http_req_t *req = p->req;
    const knd_http_head_t *h = &req->head;
    knd_buf_t b;
    knd_buf_init(&b);
    knd_buf_printf(&b, "%s %s HTTP/1.1\r\n", llhttp_method_name((llhttp_method_t)h->method),
                   knd_http_head_url(h));
    const char *xff = NULL, *fwd = NULL;
    for (size_t i = 0; i < knd_http_head_count(h); i++) {
        const char *name = knd_http_head_name(h, i), *value = knd_http_head_value(h, i);
        if (knd_http_is_hop_header(name) || strcasecmp(name, "Content-Length") == 0)
            continue;
        if (strcasecmp(name, "X-Forwarded-For") == 0) {
            xff = value;
            continue;
        }
        if (strcasecmp(name, "Forwarded") == 0) {
            fwd = value;
            continue;
        }
        /* The platform sets these; a client must not be able to spoof them. */
        if (strncasecmp(name, "Knative-Serving-", 16) == 0)
            continue;
        knd_buf_printf(&b, "%s: %s\r\n", name, value);
    }
    knd_buf_printf(&b, "Knative-Serving-Revision: %s\r\nKnative-Serving-Namespace: %s\r\n",
                   p->rev->name, p->rev->ns);
    if (xff)
        knd_buf_printf(&b, "X-Forwarded-For: %s, %s\r\n", xff, req->peer);
    else
        knd_buf_printf(&b, "X-Forwarded-For: %s\r\n", req->peer);
    if (knd_http_head_get(h, "X-Forwarded-Proto") == NULL)
        knd_buf_puts(&b, "X-Forwarded-Proto: http\r\n");
    if (fwd)
        knd_buf_printf(&b, "Forwarded: %s, for=%s;proto=http\r\n", fwd, req->peer);
    else
        knd_buf_printf(&b, "Forwarded: for=%s;proto=http\r\n", req->peer);
    if (h->content_length >= 0) {
        knd_buf_printf(&b, "Content-Length: %lld\r\n", (long long)h->content_length);
    } else if (h->chunked) {
        knd_buf_puts(&b, "Transfer-Encoding: chunked\r\n");
        p->chunked_up = true;
    }
    knd_buf_puts(&b, "\r\n");
    knd_http_client_begin(p->up, h->method == HTTP_HEAD);
    knd_http_client_write(p->up, b.p, b.len, NULL, 0, NULL, 0);
    knd_buf_free(&b);
    p->up_ready = true;
    knd_proxy_write_body(p, p->pending.p, p->pending.len);
    knd_buf_free(&p->pending);
    if (p->body_end && p->chunked_up)
        knd_http_client_write(p->up, "0\r\n\r\n", 5, NULL, 0, NULL, 0);
    if (!p->body_end)
        knd_http_req_resume(req);
}

static void knd_proxy_up_connect(knd_http_client_t *c, int status)
{
    knd_proxy_t *p = knd_http_client_data(c);
    if (status < 0) {
        knd_log(KND_LOG_WARN, "ingress", "rev=%s endpoint=%s: connect: %s", p->rev->name,
                p->ep->id, uv_strerror(status));
        knd_http_client_close(c);
        p->up = NULL;
        if (p->retries++ == 0 && !p->body_sent) {
            knd_endpoint_done(p->ep);
            p->ep = NULL;
            knd_proxy_acquire(p);
            return;
        }
        knd_proxy_fail(p, 502, "knd: cannot connect to the revision's instance\n");
        return;
    }
    knd_proxy_send_head(p);
}

static void knd_proxy_up_head(knd_http_client_t *c, const knd_http_head_t *h)
{
    knd_proxy_t *p = knd_http_client_data(c);
    if (p->req == NULL)
        return;
    knd_buf_t b;
    knd_buf_init(&b);
    for (size_t i = 0; i < knd_http_head_count(h); i++) {
        const char *name = knd_http_head_name(h, i);
        if (knd_http_is_hop_header(name) || strcasecmp(name, "Content-Length") == 0)
            continue;
        knd_buf_printf(&b, "%s: %s\r\n", name, knd_http_head_value(h, i));
    }
    p->resp_started = true;
    knd_http_resp_head(p->req, h->status, knd_buf_cstr(&b), h->content_length);
    knd_buf_free(&b);
}

static void knd_proxy_up_body(knd_http_client_t *c, const char *data, size_t n)
{
    knd_proxy_t *p = knd_http_client_data(c);
    if (p->req == NULL)
        return;
    knd_http_resp_body(p->req, data, n);
    if (knd_http_resp_queued(p->req) > KND_PROXY_HIGH_WATER)
        knd_http_client_pause(c); /* the client reads slowly: stop reading the instance */
}

static void knd_proxy_up_done(knd_http_client_t *c)
{
    knd_proxy_t *p = knd_http_client_data(c);
    knd_http_req_t *req = p->req;
    p->req = NULL;
    if (req) {
        req->data = NULL;
        req->on_abort = NULL;
        req->on_body = NULL;
        req->on_body_end = NULL;
        req->on_drain = NULL;
        knd_http_resp_end(req); /* may free req */
    }
    if (p->body_end && knd_http_client_reusable(c)) {
        knd_http_client_bind(c, &knd_proxy_idle_cbs, p->ep);
        knd_endpoint_put_conn(p->ep, c);
        p->up = NULL;
    }
    knd_proxy_free(p);
}

static void knd_proxy_up_error(knd_http_client_t *c, int status)
{
    knd_proxy_t *p = knd_http_client_data(c);
    knd_http_client_close(c);
    p->up = NULL;
    /* A pooled connection the instance closed while idle: try once more on a fresh one. */
    if (!p->resp_started && !p->body_sent && p->retries++ == 0) {
        knd_endpoint_done(p->ep);
        p->ep = NULL;
        knd_proxy_acquire(p);
        return;
    }
    knd_log(KND_LOG_WARN, "ingress", "rev=%s: upstream failed: %s", p->rev->name,
            uv_strerror(status));
    knd_proxy_fail(p, 502, "knd: the revision's instance closed the connection\n");
}

static void knd_proxy_up_drain(knd_http_client_t *c)
{
    knd_proxy_t *p = knd_http_client_data(c);
    if (p->req && !p->body_end)
        knd_http_req_resume(p->req);
}

static const knd_http_client_cbs_t knd_proxy_up_cbs = {
    .on_connect = knd_proxy_up_connect,
    .on_head = knd_proxy_up_head,
    .on_body = knd_proxy_up_body,
    .on_done = knd_proxy_up_done,
    .on_error = knd_proxy_up_error,
    .on_drain = knd_proxy_up_drain,
};

static void knd_proxy_connect(knd_proxy_t *p)
{
    knd_http_client_t *c = knd_endpoint_take_conn(p->ep);
    if (c) {
        knd_http_client_bind(c, &knd_proxy_up_cbs, p);
        p->up = c;
        p->from_pool = true;
        knd_proxy_send_head(p);
        return;
    }
    p->from_pool = false;
    p->up = knd_http_client_connect(p->ing->loop, p->ep->port, &knd_proxy_up_cbs, p);
}

/* ------------------------------------------------------------------ activator */

static void knd_proxy_granted(void *data, knd_endpoint_t *ep, int status)
{
    knd_proxy_t *p = data;
    p->wait = NULL;
    if (ep == NULL) {
        knd_proxy_fail(p, 504, "knd: timed out waiting for an instance of the revision\n");
        return;
    }
    p->ep = ep;
    knd_proxy_connect(p);
}

static void knd_proxy_acquire(knd_proxy_t *p)
{
    knd_endpoint_t *ep;
    int rc = knd_activator_acquire(p->rev, knd_proxy_granted, p, &ep, &p->wait);
    if (rc == 0) {
        p->ep = ep;
        knd_proxy_connect(p);
    } else if (rc < 0) {
        knd_proxy_fail(p, 503, "pending request queue full\n");
    }
}

/* ------------------------------------------------------------------ client side */

static void knd_proxy_client_body(knd_http_req_t *req, const char *data, size_t n)
{
    knd_proxy_t *p = req->data;
    if (p->up_ready) {
        knd_proxy_write_body(p, data, n);
        if (knd_http_client_queued(p->up) > KND_PROXY_HIGH_WATER)
            knd_http_req_pause(req);
        return;
    }
    knd_buf_append(&p->pending, data, n);
    if (p->pending.len > KND_PROXY_HIGH_WATER)
        knd_http_req_pause(req); /* resumed when the upstream is ready */
}

static void knd_proxy_client_body_end(knd_http_req_t *req)
{
    knd_proxy_t *p = req->data;
    p->body_end = true;
    if (p->up_ready && p->chunked_up)
        knd_http_client_write(p->up, "0\r\n\r\n", 5, NULL, 0, NULL, 0);
}

static void knd_proxy_client_abort(knd_http_req_t *req)
{
    knd_proxy_t *p = req->data;
    p->req = NULL;
    knd_proxy_free(p); /* closes the upstream: a half-sent exchange cannot be reused */
}

static void knd_proxy_client_drain(knd_http_req_t *req)
{
    knd_proxy_t *p = req->data;
    if (p->up)
        knd_http_client_resume(p->up);
}

void knd__proxy_start(knd_ingress_t *ing, knd_http_req_t *req, knd_route_table_t *table,
                      const knd_rt_entry_t *entry, const knd_rt_target_t *target)
{
    knd_proxy_t *p = knd_xcalloc(1, sizeof(*p));
    p->ing = ing;
    p->req = req;
    p->table = knd_route_table_retain(table);
    p->rev = target->rev;
    knd_buf_init(&p->pending);
    p->body_end = req->head.content_length <= 0 && !req->head.chunked;
    req->data = p;
    req->on_body = knd_proxy_client_body;
    req->on_body_end = knd_proxy_client_body_end;
    req->on_abort = knd_proxy_client_abort;
    req->on_drain = knd_proxy_client_drain;
    knd_proxy_acquire(p);
}
