/*
 * knd_proxy.c - relays one client request to an instance and its response back, streaming both
 * bodies with backpressure (a slow reader pauses the instance's connection; a slow instance
 * pauses the client's upload), enforcing the revision's timeouts, and tunnelling upgraded
 * connections (websockets). Adds Knative's request headers.
 *
 * Ownership: a knd_proxy_t lives from knd__proxy_start until the exchange ends on both sides.
 * It holds a reference to the route table it started with (which keeps the revision alive) and,
 * once granted, a slot and a reference on an endpoint, all released when the exchange ends. The
 * object itself is then parked on its ingress's free list with its timer stopped but still
 * initialized, so the next request needs no allocation, timer set-up or uv_close.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "knd_alloc.h"
#include "knd_http_client.h"
#include "knd_ingress_int.h"
#include "knd_log.h"
#include "knd_time.h"

#define KND_PROXY_HIGH_WATER (256 * 1024) /* bytes queued before pausing the other side */
#define KND_PROXY_SPARE 256                /* released proxies an ingress keeps for reuse */
#define KND_PROXY_SCRATCH_MAX (64 * 1024)  /* a larger scratch buffer is not kept */
#define KND_PROXY_MAX_INTERIM 5            /* 1xx responses before the final one (Go: 5) */
#define KND_TIMEOUT_BODY "request timeout"

typedef struct knd_proxy_s knd_proxy_t;
struct knd_proxy_s {
    uv_timer_t timer;           /* the revision's timeouts; first: it stays live while parked */
    knd_ingress_t *ing;
    knd_proxy_t *spare_next;    /* while parked */
    knd_http_req_t *req;        /* NULL once the client side has been released */
    knd_route_table_t *table;   /* reference */
    knd_rev_t *rev;             /* borrowed through table */
    knd_endpoint_t *ep;         /* granted slot, or NULL */
    knd_activator_wait_t *wait; /* while queued */
    knd_http_client_t *up;      /* upstream connection, or NULL */
    knd_buf_t pending;          /* request body received before the upstream was ready */
    uint64_t start_ms, last_write_ms, queued_ms;
    bool up_ready;              /* head sent: body goes straight to the upstream */
    bool body_end;              /* the client's body is complete */
    bool chunked_up;            /* the body goes upstream chunked */
    bool body_sent;             /* some body bytes went upstream: no retry possible */
    bool resp_started, resp_chunked;
    bool tunnel;                /* upgraded: raw bytes both ways */
    bool default_route;
    int retries;
    int interims;            /* 1xx responses received before the final one */
    int status;                 /* the status sent to the client, 0 = none */
    bool cold;                  /* waited for a first instance */
    uint64_t bytes_in, bytes_out, wait_ms;
    char *log_head;             /* request log: the request's fields, kept from the start */
    char instance[64];
    bool traced;                /* spans are recorded for this request */
    knd_trace_ctx_t span, queue_span, up_span; /* server span, queue wait, call to the instance */
    uint64_t start_us, queued_us, up_start_us; /* wall clock, for spans */
};

/* Everything of a proxy but its timer, which libuv keeps linked while the proxy is parked. */
#define KND_PROXY_FIELDS(p) ((char *)(p) + offsetof(knd_proxy_t, ing))
#define KND_PROXY_FIELDS_LEN (sizeof(knd_proxy_t) - offsetof(knd_proxy_t, ing))

/* The request and response heads are built here, then copied by the write or the server: one
 * buffer for the loop instead of an allocation per message. */
static knd_buf_t knd_proxy_scratch;

static knd_buf_t *knd_proxy_scratch_get(void)
{
    knd_buf_reset(&knd_proxy_scratch);
    knd_buf_reserve(&knd_proxy_scratch, 1024);
    return &knd_proxy_scratch;
}

static void knd_proxy_scratch_done(void)
{
    if (knd_proxy_scratch.cap > KND_PROXY_SCRATCH_MAX)
        knd_buf_free(&knd_proxy_scratch);
}

static void knd_proxy_acquire(knd_proxy_t *p);
static const knd_http_client_cbs_t knd_proxy_up_cbs;
static const knd_http_client_cbs_t knd_proxy_idle_cbs;

/* ------------------------------------------------------------------ teardown */

static void knd_proxy_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

static knd_proxy_t *knd_proxy_new(knd_ingress_t *ing)
{
    knd_proxy_t *p = ing->proxy_spare;
    if (p == NULL) {
        p = knd_xcalloc(1, sizeof(*p));
        uv_timer_init(ing->loop, &p->timer);
        p->timer.data = p;
        return p;
    }
    KND_UNPOISON(KND_PROXY_FIELDS(p), KND_PROXY_FIELDS_LEN);
    ing->proxy_spare = p->spare_next;
    ing->nproxy_spare--;
    memset(KND_PROXY_FIELDS(p), 0, KND_PROXY_FIELDS_LEN);
    return p;
}

/* The end of a proxy whose resources are already released: parked for reuse, or freed. */
static void knd_proxy_release(knd_proxy_t *p)
{
    knd_ingress_t *ing = p->ing;
    if (ing->closing || ing->nproxy_spare >= KND_PROXY_SPARE) {
        uv_close((uv_handle_t *)&p->timer, knd_proxy_timer_closed);
        return;
    }
    uv_timer_stop(&p->timer);
    p->spare_next = ing->proxy_spare;
    ing->proxy_spare = p;
    ing->nproxy_spare++;
    KND_POISON(KND_PROXY_FIELDS(p), KND_PROXY_FIELDS_LEN);
}

void knd__proxy_free_spares(knd_ingress_t *ing)
{
    while (ing->proxy_spare) {
        knd_proxy_t *p = ing->proxy_spare;
        KND_UNPOISON(KND_PROXY_FIELDS(p), KND_PROXY_FIELDS_LEN);
        ing->proxy_spare = p->spare_next;
        uv_close((uv_handle_t *)&p->timer, knd_proxy_timer_closed);
    }
    ing->nproxy_spare = 0;
}

/* ,"key":v with key a literal */
#define KND_PROXY_JSON_NUM(b, key, v)                                                             \
    do {                                                                                          \
        KND_BUF_LIT((b), ",\"" key "\":");                                                        \
        knd_buf_put_i64((b), (int64_t)(v));                                                       \
    } while (0)

/* One JSON line per request (config-observability logging.enable-request-log), written in place
 * into the log's pending batch. Built by hand: this runs for every request while the log is on. */
static void knd_proxy_log(knd_proxy_t *p, uint64_t ms)
{
    knd_buf_t *b = knd__ingress_log_buf(p->ing);
    if (b == NULL)
        return; /* the disk is not keeping up: lines are dropped, never requests */
    knd_buf_reserve(b, 512);
    knd_buf_puts(b, p->log_head);
    KND_PROXY_JSON_NUM(b, "status", p->status);
    KND_PROXY_JSON_NUM(b, "bytes_in", p->bytes_in);
    KND_PROXY_JSON_NUM(b, "bytes_out", p->bytes_out);
    KND_PROXY_JSON_NUM(b, "latency_ms", ms);
    KND_PROXY_JSON_NUM(b, "queue_wait_ms", p->wait_ms);
    if (p->cold)
        KND_BUF_LIT(b, ",\"cold_start\":true,\"namespace\":");
    else
        KND_BUF_LIT(b, ",\"cold_start\":false,\"namespace\":");
    knd_buf_put_json_str(b, p->rev->ns);
    KND_BUF_LIT(b, ",\"revision\":");
    knd_buf_put_json_str(b, p->rev->name);
    KND_BUF_LIT(b, ",\"instance\":");
    knd_buf_put_json_str(b, p->instance);
    KND_BUF_LIT(b, ",\"trace_id\":");
    knd_buf_put_json_str(b, p->traced ? p->span.trace_id : "");
    KND_BUF_LIT(b, "}\n");
    knd__ingress_log_done(p->ing);
}

/* The request's spans (SPEC: ingress -> activator queue -> instance request), ended now. */
static void knd_proxy_trace(knd_proxy_t *p)
{
    knd_tracer_t *t = p->ing->tracer;
    uint64_t now = knd_trace_now_us();
    char status[8];
    snprintf(status, sizeof(status), "%d", p->status);
    const char *tags[] = {"http.status_code", status, "knative.revision", p->rev->name,
                          "knative.namespace", p->rev->ns, "knd.instance", p->instance, NULL};
    if (p->queued_us)
        knd_trace_span(t, &p->queue_span, "activator_queue", NULL, p->queued_us,
                       (p->up_start_us ? p->up_start_us : now) - p->queued_us, tags + 2);
    if (p->up_start_us)
        knd_trace_span(t, &p->up_span, "instance_request", "CLIENT", p->up_start_us,
                       now - p->up_start_us, tags);
    knd_trace_span(t, &p->span, "ingress", "SERVER", p->start_us, now - p->start_us, tags);
}

static void knd_proxy_free(knd_proxy_t *p)
{
    uint64_t ms = knd_time_mono_ms() - p->start_ms;
    if (p->traced && p->rev)
        knd_proxy_trace(p);
    if (p->rev && !p->tunnel)
        knd_rev_observe(p->rev, p->status, (double)ms);
    if (p->log_head) {
        knd_proxy_log(p, ms);
        free(p->log_head);
        p->log_head = NULL;
    }
    knd_activator_cancel(p->wait);
    p->wait = NULL;
    if (p->up)
        knd_http_client_close(p->up);
    p->up = NULL;
    if (p->ep)
        knd_endpoint_done(p->ep);
    p->ep = NULL;
    knd_buf_free(&p->pending);
    knd_route_table_release(p->table);
    p->table = NULL;
    knd_proxy_release(p);
}

/* Takes the client request away from the proxy: no callback reaches p after this. */
static knd_http_req_t *knd_proxy_detach(knd_proxy_t *p)
{
    knd_http_req_t *req = p->req;
    p->req = NULL;
    if (req) {
        req->data = NULL;
        req->on_body = NULL;
        req->on_body_end = NULL;
        req->on_abort = NULL;
        req->on_drain = NULL;
        req->on_raw = NULL;
    }
    return req;
}

/* Ends the client side with a short plain-text error, or cuts the response if one started. */
static void knd_proxy_fail(knd_proxy_t *p, int status, const char *msg)
{
    knd_http_req_t *req = knd_proxy_detach(p);
    if (req) {
        if (p->tunnel)
            knd_http_req_raw_close(req);
        else if (p->resp_started)
            knd_http_resp_abort(req);
        else {
            p->status = status;
            knd_http_resp_simple(req, status, "text/plain; charset=utf-8", msg, strlen(msg));
        }
    }
    knd_proxy_free(p);
}

/* ------------------------------------------------------------------ timeouts (SPEC §d.5) */

static uint64_t knd_proxy_next_deadline(const knd_proxy_t *p)
{
    const knd_rev_limits_t *l = &p->rev->limits;
    uint64_t next = UINT64_MAX;
    if (l->timeout_ms)
        next = p->start_ms + l->timeout_ms;
    if (!p->resp_started && l->response_start_ms && p->start_ms + l->response_start_ms < next)
        next = p->start_ms + l->response_start_ms;
    if (l->idle_ms && p->last_write_ms + l->idle_ms < next)
        next = p->last_write_ms + l->idle_ms;
    return next;
}

static void knd_proxy_on_timer(uv_timer_t *t);

static void knd_proxy_arm(knd_proxy_t *p)
{
    uint64_t next = knd_proxy_next_deadline(p), now = knd_time_mono_ms();
    if (next == UINT64_MAX)
        return;
    uv_timer_start(&p->timer, knd_proxy_on_timer, next > now ? next - now : 0, 0);
}

/*
 * A timeout fired. Before any response byte: 504 "request timeout". After: Knative appends the
 * message to the body and ends the response - possible with chunked framing; with a declared
 * Content-Length the only honest end is to cut the connection.
 */
static void knd_proxy_on_timer(uv_timer_t *t)
{
    knd_proxy_t *p = t->data;
    if (knd_time_mono_ms() < knd_proxy_next_deadline(p)) {
        knd_proxy_arm(p); /* an idle deadline moved on since the timer was set */
        return;
    }
    knd_log(KND_LOG_INFO, "ingress", "rev=%s: request timed out after %llu ms", p->rev->name,
            (unsigned long long)(knd_time_mono_ms() - p->start_ms));
    if (p->req && p->resp_started && p->resp_chunked) {
        knd_http_req_t *req = knd_proxy_detach(p);
        knd_http_resp_body(req, KND_TIMEOUT_BODY, strlen(KND_TIMEOUT_BODY));
        knd_http_resp_end(req);
        knd_proxy_free(p);
        return;
    }
    knd_proxy_fail(p, 504, KND_TIMEOUT_BODY "\n");
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
    p->bytes_in += n;
    if (p->chunked_up) {
        char size[24];
        int sn = snprintf(size, sizeof(size), "%zx\r\n", n);
        knd_http_client_write(p->up, size, (size_t)sn, data, n, "\r\n", 2);
    } else {
        knd_http_client_write(p->up, data, n, NULL, 0, NULL, 0);
    }
}

/* "Name: value\r\n" without printf: this runs for every header of every message. */
static void knd_proxy_put_header(knd_buf_t *b, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    knd_buf_reserve(b, nl + vl + 4);
    knd_buf_append(b, name, nl);
    knd_buf_append(b, ": ", 2);
    knd_buf_append(b, value, vl);
    knd_buf_append(b, "\r\n", 2);
}

/* Copies the client's headers, minus hop-by-hop ones and the platform's own. */
static void knd_proxy_head_headers(knd_proxy_t *p, knd_buf_t *b, const char **xff,
                                   const char **fwd)
{
    const knd_http_head_t *h = &p->req->head;
    const char *conn = knd_http_head_get(h, "Connection");
    bool listed = conn && strcasecmp(conn, "keep-alive") != 0 && strcasecmp(conn, "close") != 0;
    for (size_t i = 0; i < knd_http_head_count(h); i++) {
        const char *name = knd_http_head_name(h, i), *value = knd_http_head_value(h, i);
        if (knd_http_is_hop_header(name) || strcasecmp(name, "Content-Length") == 0 ||
            strcasecmp(name, "Expect") == 0 || (listed && knd_http_connection_lists(h, name)))
            continue; /* Expect: knd answered 100-continue itself and streams the body */
        if (p->traced && knd_trace_is_header(name))
            continue; /* replaced by this hop's context below */
        if (strcasecmp(name, "X-Forwarded-For") == 0) {
            *xff = value;
            continue;
        }
        if (strcasecmp(name, "Forwarded") == 0) {
            *fwd = value;
            continue;
        }
        /* The platform sets these; a client must not be able to spoof them. */
        if (strncasecmp(name, "Knative-Serving-", 16) == 0 &&
            strcasecmp(name, "Knative-Serving-Tag") != 0)
            continue;
        knd_proxy_put_header(b, name, value);
    }
}

static void knd_proxy_send_head(knd_proxy_t *p)
{
    knd_http_req_t *req = p->req;
    const knd_http_head_t *h = &req->head;
    knd_buf_t *b = knd_proxy_scratch_get();
    const char *xff = NULL, *fwd = NULL;
    knd_buf_cat(b, llhttp_method_name((llhttp_method_t)h->method), " ", knd_http_head_url(h),
                " HTTP/1.1\r\n", NULL);
    /* No Knative-Serving-Revision / -Namespace: Knative's ingress adds them to find the
     * revision, and its activator and queue-proxy delete them before the user container, which
     * knows its revision from K_REVISION. A client's own copies are dropped above. */
    knd_proxy_head_headers(p, b, &xff, &fwd);
    if (p->default_route)
        knd_buf_puts(b, "Knative-Serving-Default-Route: true\r\n");
    if (p->traced) {
        p->up_start_us = knd_trace_now_us();
        knd_trace_headers(&p->up_span, b);
    }
    if (xff)
        knd_buf_cat(b, "X-Forwarded-For: ", xff, ", ", req->peer, "\r\n", NULL);
    else
        knd_buf_cat(b, "X-Forwarded-For: ", req->peer, "\r\n", NULL);
    if (knd_http_head_get(h, "X-Forwarded-Proto") == NULL)
        knd_buf_puts(b, "X-Forwarded-Proto: http\r\n");
    if (fwd)
        knd_buf_cat(b, "Forwarded: ", fwd, ", for=", req->peer, ";proto=http\r\n", NULL);
    else
        knd_buf_cat(b, "Forwarded: for=", req->peer, ";proto=http\r\n", NULL);
    if (h->upgrade) {
        const char *up = knd_http_head_get(h, "Upgrade");
        knd_buf_cat(b, "Connection: Upgrade\r\nUpgrade: ", up ? up : "websocket", "\r\n", NULL);
    } else if (h->content_length >= 0) {
        knd_buf_puts(b, "Content-Length: ");
        knd_buf_put_i64(b, h->content_length);
        knd_buf_puts(b, "\r\n");
    } else if (h->chunked) {
        knd_buf_puts(b, "Transfer-Encoding: chunked\r\n");
        p->chunked_up = true;
    }
    knd_buf_puts(b, "\r\n");
    knd_http_client_begin(p->up, h->method == HTTP_HEAD);
    knd_http_client_write(p->up, b->p, b->len, NULL, 0, NULL, 0);
    knd_proxy_scratch_done();
    p->up_ready = true;
    knd_proxy_write_body(p, p->pending.p, p->pending.len);
    knd_buf_free(&p->pending);
    if (p->body_end && p->chunked_up)
        knd_http_client_write(p->up, "0\r\n\r\n", 5, NULL, 0, NULL, 0);
    if (!p->body_end)
        knd_http_req_resume(req);
}

/* A request whose repetition is harmless (RFC 9110 §9.2.2), retried once on a broken instance. */
static bool knd_proxy_idempotent(const knd_proxy_t *p)
{
    switch (p->req ? p->req->head.method : -1) {
    case HTTP_GET: case HTTP_HEAD: case HTTP_OPTIONS: case HTTP_PUT: case HTTP_DELETE:
    case HTTP_TRACE:
        return true;
    default:
        return false;
    }
}

static void knd_proxy_retry(knd_proxy_t *p)
{
    knd_endpoint_done(p->ep);
    p->ep = NULL;
    p->up_ready = false;
    knd_proxy_acquire(p);
}

static void knd_proxy_up_connect(knd_http_client_t *c, int status)
{
    knd_proxy_t *p = knd_http_client_data(c);
    if (status < 0) {
        knd_log(KND_LOG_WARN, "ingress", "rev=%s endpoint=%s: connect: %s", p->rev->name,
                p->ep->id, uv_strerror(status));
        knd_http_client_close(c);
        p->up = NULL;
        if (p->retries++ == 0 && !p->body_sent) { /* nothing was sent: any method may retry */
            knd_proxy_retry(p);
            return;
        }
        knd_proxy_fail(p, 502, "knd: cannot connect to the revision's instance\n");
        return;
    }
    knd_proxy_send_head(p);
}

static void knd_proxy_client_raw(knd_http_req_t *req, const char *data, size_t n)
{
    knd_proxy_t *p = req->data;
    knd_http_client_write(p->up, data, n, NULL, 0, NULL, 0);
    if (knd_http_client_queued(p->up) > KND_PROXY_HIGH_WATER)
        knd_http_req_pause(req);
}

static void knd_proxy_up_raw(knd_http_client_t *c, const char *data, size_t n)
{
    knd_proxy_t *p = knd_http_client_data(c);
    if (p->req == NULL)
        return;
    knd_http_req_raw_write(p->req, data, n);
    if (knd_http_resp_queued(p->req) > KND_PROXY_HIGH_WATER)
        knd_http_client_pause(c);
}

/* The instance's response headers as the client gets them: hop-by-hop ones (and those the
 * Connection header names) and Content-Length stay behind, but a 101 keeps its Upgrade and
 * Connection. */
static void knd_proxy_response_headers(knd_buf_t *b, const knd_http_head_t *h, bool upgrade)
{
    const char *conn = knd_http_head_get(h, "Connection");
    bool listed = conn && strcasecmp(conn, "keep-alive") != 0 && strcasecmp(conn, "close") != 0;
    for (size_t i = 0; i < knd_http_head_count(h); i++) {
        const char *name = knd_http_head_name(h, i);
        bool keep = upgrade && (strcasecmp(name, "Upgrade") == 0 ||
                                strcasecmp(name, "Connection") == 0);
        if (!keep && (knd_http_is_hop_header(name) || strcasecmp(name, "Content-Length") == 0 ||
                      (listed && knd_http_connection_lists(h, name))))
            continue;
        knd_proxy_put_header(b, name, knd_http_head_value(h, i));
    }
}

/*
 * An informational response goes on to the client (RFC 9110 15.2: a proxy MUST forward the 1xx
 * it did not ask for itself; Go's ReverseProxy, Knative's, does), 103 Early Hints above all. A
 * 100 Continue is not: knd's server answers a client's Expect itself. More than five is an
 * instance gone wrong, as Go's transport has it ("too many 1xx informational responses").
 */
static void knd_proxy_up_interim(knd_http_client_t *c, const knd_http_head_t *h)
{
    knd_proxy_t *p = knd_http_client_data(c);
    if (p->req == NULL)
        return;
    if (++p->interims > KND_PROXY_MAX_INTERIM) { /* 100s count too, as in Go */
        knd_proxy_fail(p, 502, "knd: the revision's instance sent too many 1xx responses\n");
        return;
    }
    if (h->status == 100)
        return;
    knd_buf_t *b = knd_proxy_scratch_get();
    knd_proxy_response_headers(b, h, false);
    knd_http_resp_interim(p->req, h->status, knd_buf_cstr(b));
    knd_proxy_scratch_done();
}

/* A 101 is only the answer to the upgrade the client asked for, to the same protocol (Go's
 * ReverseProxy: "backend tried to switch protocol %q when %q was requested"). */
static bool knd_proxy_upgrade_agreed(const knd_proxy_t *p, const knd_http_head_t *h)
{
    const char *asked = knd_http_head_get(&p->req->head, "Upgrade");
    const char *got = knd_http_head_get(h, "Upgrade");
    return p->req->head.upgrade && asked && got && strcasecmp(asked, got) == 0;
}

static void knd_proxy_up_head(knd_http_client_t *c, const knd_http_head_t *h)
{
    knd_proxy_t *p = knd_http_client_data(c);
    if (p->req == NULL)
        return;
    bool upgrade = h->status == 101;
    if (upgrade && !knd_proxy_upgrade_agreed(p, h)) {
        knd_log(KND_LOG_WARN, "ingress", "rev=%s: the instance switched protocols unasked",
                p->rev->name);
        knd_proxy_fail(p, 502, "knd: the revision's instance switched protocols, which the "
                               "request did not ask for\n");
        return;
    }
    knd_buf_t *b = knd_proxy_scratch_get();
    knd_proxy_response_headers(b, h, upgrade);
    p->resp_started = true;
    p->status = h->status;
    p->last_write_ms = knd_time_mono_ms();
    knd_http_resp_head(p->req, h->status, knd_buf_cstr(b), upgrade ? -1 : h->content_length);
    knd_proxy_scratch_done();
    p->resp_chunked = h->content_length < 0 && !upgrade;
    if (upgrade) {
        /* A tunnel is not a request: timeoutSeconds no longer applies (Knative's timeout handler
         * lets hijacked connections go); the slot stays taken until it closes. */
        p->tunnel = true;
        uv_timer_stop(&p->timer);
        p->req->on_raw = knd_proxy_client_raw;
        knd_http_req_raw_start(p->req);
    }
}

static void knd_proxy_up_body(knd_http_client_t *c, const char *data, size_t n)
{
    knd_proxy_t *p = knd_http_client_data(c);
    if (p->req == NULL)
        return;
    p->last_write_ms = knd_time_mono_ms();
    p->bytes_out += n;
    knd_http_resp_body(p->req, data, n);
    if (knd_http_resp_queued(p->req) > KND_PROXY_HIGH_WATER)
        knd_http_client_pause(c); /* the client reads slowly: stop reading the instance */
}

static void knd_proxy_up_done(knd_http_client_t *c)
{
    knd_proxy_t *p = knd_http_client_data(c);
    knd_http_req_t *req = knd_proxy_detach(p);
    if (req)
        knd_http_resp_end(req); /* may free req */
    if (p->body_end && knd_http_client_reusable(c)) {
        knd_http_client_resume(c); /* idle, it must still notice the instance closing it */
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
    if (p->tunnel) { /* the instance closed the tunnel */
        knd_http_req_t *req = knd_proxy_detach(p);
        if (req)
            knd_http_req_raw_close(req);
        knd_proxy_free(p);
        return;
    }
    /* The instance went away before answering (a pooled connection it closed while idle, or an
     * instance that died): a request that is safe to repeat gets one more try elsewhere. One
     * it answered with garbage is not repeated: it did answer. */
    if (!p->resp_started && !p->body_sent && status != UV_EPROTO && p->retries++ == 0 &&
        knd_proxy_idempotent(p)) {
        knd_proxy_retry(p);
        return;
    }
    knd_log(KND_LOG_WARN, "ingress", "rev=%s: upstream failed: %s", p->rev->name,
            uv_strerror(status));
    knd_proxy_fail(p, 502, status == UV_EPROTO
                               ? "knd: the revision's instance sent an invalid response\n"
                               : "knd: the revision's instance closed the connection\n");
}

static void knd_proxy_up_drain(knd_http_client_t *c)
{
    knd_proxy_t *p = knd_http_client_data(c);
    if (p->req && (!p->body_end || p->tunnel))
        knd_http_req_resume(p->req);
}

static const knd_http_client_cbs_t knd_proxy_up_cbs = {
    .on_connect = knd_proxy_up_connect,
    .on_head = knd_proxy_up_head,
    .on_interim = knd_proxy_up_interim,
    .on_body = knd_proxy_up_body,
    .on_done = knd_proxy_up_done,
    .on_error = knd_proxy_up_error,
    .on_drain = knd_proxy_up_drain,
    .on_raw = knd_proxy_up_raw,
};

static void knd_proxy_connect(knd_proxy_t *p)
{
    size_t n = strnlen(p->ep->id, sizeof(p->instance) - 1);
    memcpy(p->instance, p->ep->id, n);
    p->instance[n] = '\0';
    /* Upgrades get a fresh connection: the tunnel will own it for good. */
    knd_http_client_t *c = p->req->head.upgrade ? NULL : knd_endpoint_take_conn(p->ep);
    if (c) {
        knd_http_client_bind(c, &knd_proxy_up_cbs, p);
        p->up = c;
        knd_proxy_send_head(p);
        return;
    }
    p->up = knd_http_client_connect(p->ing->loop, p->ep->port, &knd_proxy_up_cbs, p);
    if (p->up == NULL)
        knd_proxy_fail(p, 502, "knd: cannot connect to the revision's instance\n");
}

/* ------------------------------------------------------------------ activator */

static void knd_proxy_granted(void *data, knd_endpoint_t *ep, int status)
{
    knd_proxy_t *p = data;
    p->wait = NULL;
    if (ep == NULL) {
        if (status == UV_ECANCELED)
            knd_proxy_fail(p, 503, "knd: the revision was removed while the request waited\n");
        else
            knd_proxy_fail(p, 504, KND_TIMEOUT_BODY "\n");
        return;
    }
    uint64_t waited = knd_time_mono_ms() - p->queued_ms;
    p->rev->queue_wait_ms_total += waited;
    p->wait_ms += waited;
    knd_log(KND_LOG_DEBUG, "ingress", "rev=%s: waited %llu ms for an instance", p->rev->name,
            (unsigned long long)waited);
    p->ep = ep;
    knd_proxy_connect(p);
}

static void knd_proxy_acquire(knd_proxy_t *p)
{
    knd_endpoint_t *ep;
    bool cold = knd_rev_ready_count(p->rev) == 0;
    int rc = knd_activator_acquire(p->rev, knd_proxy_granted, p, &ep, &p->wait);
    if (rc == 0) {
        p->ep = ep;
        knd_proxy_connect(p);
    } else if (rc == 1) {
        p->queued_ms = knd_time_mono_ms();
        if (p->traced && p->queued_us == 0)
            p->queued_us = knd_trace_now_us();
        if (cold && p->retries == 0) {
            p->rev->cold_starts_total++;
            p->cold = true;
        }
    } else {
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
    p->req = NULL; /* the server frees req after this returns */
    knd_proxy_free(p); /* closes the upstream: a half-done exchange cannot be reused */
}

static void knd_proxy_client_drain(knd_http_req_t *req)
{
    knd_proxy_t *p = req->data;
    if (p->up)
        knd_http_client_resume(p->up);
}

void knd__proxy_start(knd_ingress_t *ing, knd_http_req_t *req, knd_route_table_t *table,
                      const knd_rt_entry_t *entry, const knd_rt_target_t *target,
                      bool default_route)
{
    knd_proxy_t *p = knd_proxy_new(ing);
    p->ing = ing;
    p->req = req;
    p->table = knd_route_table_retain(table);
    p->rev = target->rev;
    p->default_route = default_route;
    knd_buf_init(&p->pending);
    p->body_end = req->head.content_length <= 0 && !req->head.chunked;
    p->start_ms = p->last_write_ms = knd_time_mono_ms();
    req->data = p;
    req->on_body = knd_proxy_client_body;
    req->on_body_end = knd_proxy_client_body_end;
    req->on_abort = knd_proxy_client_abort;
    req->on_drain = knd_proxy_client_drain;
    if (ing->tracer && knd_tracer_enabled(ing->tracer)) {
        knd_trace_begin(ing->tracer, &req->head, &p->span);
        p->traced = p->span.sampled;
        knd_trace_child(&p->span, &p->queue_span);
        knd_trace_child(&p->span, &p->up_span);
        p->start_us = knd_trace_now_us();
    }
    if (ing->opt.request_log) {
        const char *host = knd_http_head_get(&req->head, "Host") ?: "";
        const char *url = knd_http_head_url(&req->head);
        knd_buf_t h;
        knd_buf_init(&h);
        knd_buf_reserve(&h, 160 + strlen(host) + strlen(url));
        KND_BUF_LIT(&h, "{\"time\":\"");
        knd_buf_puts(&h, knd_time_rfc3339_now());
        KND_BUF_LIT(&h, "\"");
        KND_BUF_LIT(&h, ",\"method\":");
        knd_buf_put_json_str(&h, llhttp_method_name((llhttp_method_t)req->head.method));
        KND_BUF_LIT(&h, ",\"host\":");
        knd_buf_put_json_str(&h, host);
        KND_BUF_LIT(&h, ",\"path\":");
        knd_buf_put_json_str(&h, url);
        KND_BUF_LIT(&h, ",\"remote_addr\":");
        knd_buf_put_json_str(&h, req->peer);
        p->log_head = knd_buf_steal(&h); /* the rest is appended when the request ends */
    }
    knd_proxy_arm(p);
    knd_proxy_acquire(p);
}
