/*
 * knd_trace_export.c - the tracer's lifecycle and span export: finished spans are serialized to
 * Zipkin v2 JSON when recorded, queued (bounded), and POSTed in batches to the collector from
 * the loop, one request at a time. A collector named by DNS is resolved on libuv's thread pool
 * (uv_getaddrinfo) when a batch is due and its last answer is older than KND_TRACE_RESOLVE_MS
 * or a connect failed since; the addresses are tried in order. Nothing here waits: a full
 * queue, a name that does not resolve, a refused connection, a non-2xx answer or a POST slower
 * than the timeout drops spans and counts them.
 *
 * Ownership: the tracer owns the queued strings, the batch body, the export connection (closed
 * when its exchange ends), the resolution request (its callback always runs before the tracer
 * is freed) and two timers, freed in their close callbacks by knd_tracer_close.
 */
#include "knd_trace_int.h"

#include <jansson.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_log.h"

static void knd_tracer_export(knd_tracer_t *t);

/* ------------------------------------------------------------------ lifecycle */

static void knd_tracer_on_flush_timer(uv_timer_t *h)
{
    knd_tracer_export(h->data);
}

knd_tracer_t *knd_tracer_new(uv_loop_t *loop, const char *local_service)
{
    knd_tracer_t *t = knd_xcalloc(1, sizeof(*t));
    t->loop = loop;
    t->service = knd_xstrdup(local_service ? local_service : "knd");
    t->sample_rate = 0.1; /* Knative's default sample-rate */
    t->flush_ms = KND_TRACE_FLUSH_MS;
    t->timeout_ms = KND_TRACE_TIMEOUT_MS;
    t->queue = knd_xcalloc(KND_TRACE_QUEUE_MAX, sizeof(*t->queue));
    knd_buf_init(&t->body);
    uv_timer_init(loop, &t->flush_timer);
    uv_timer_init(loop, &t->timeout_timer);
    t->flush_timer.data = t;
    t->timeout_timer.data = t;
    t->open_handles = 2;
    return t;
}

/* A new endpoint: whatever was resolved or logged for the old one no longer holds. */
static void knd_tracer_set_endpoint(knd_tracer_t *t, const char *url)
{
    knd_err_t err;
    free(t->endpoint);
    free(t->endpoint_err);
    t->endpoint = knd_xstrdup(url);
    t->endpoint_err = NULL;
    t->gen++;
    t->warned = false;
    t->resolved = t->stale = false;
    t->naddrs = t->addr_cur = 0;
    if (knd_trace_parse_endpoint(url, &t->ep, &err) != 0) {
        t->endpoint_err = knd_xstrdup(err.msg);
        return;
    }
    if (t->ep.family == AF_UNSPEC)
        return; /* a name: resolved when a batch is due */
    int rc = t->ep.family == AF_INET
                 ? uv_ip4_addr(t->ep.host, t->ep.port, (struct sockaddr_in *)&t->addrs[0])
                 : uv_ip6_addr(t->ep.host, t->ep.port, (struct sockaddr_in6 *)&t->addrs[0]);
    KND_ASSERT(rc == 0); /* the parser checked the literal */
    t->naddrs = 1;
    t->resolved = true;
}

void knd_tracer_configure(knd_tracer_t *t, bool enabled, const char *zipkin_endpoint,
                          double sample_rate, bool debug)
{
    const char *url = zipkin_endpoint ? zipkin_endpoint : "";
    t->enabled = enabled;
    t->debug = debug;
    t->sample_rate = sample_rate < 0 ? 0 : sample_rate > 1 ? 1 : sample_rate;
    if (sample_rate != sample_rate) /* NaN */
        t->sample_rate = 0;
    /* The same endpoint again (every reconcile pass says it) keeps its addresses and its
     * "already logged". */
    if (t->endpoint == NULL || strcmp(t->endpoint, url) != 0)
        knd_tracer_set_endpoint(t, url);
    if (enabled && t->endpoint_err != NULL && !t->warned) {
        t->warned = true;
        knd_log(KND_LOG_WARN, "trace", "zipkin-endpoint \"%s\": %s; spans will be dropped", url,
                t->endpoint_err);
    }
}

bool knd_tracer_enabled(const knd_tracer_t *t)
{
    return t->enabled;
}

uint64_t knd_tracer_dropped(const knd_tracer_t *t)
{
    return t->dropped;
}

uint64_t knd_tracer_exported(const knd_tracer_t *t)
{
    return t->exported;
}

size_t knd_tracer_queued(const knd_tracer_t *t)
{
    return t->qlen;
}

void knd_tracer_set_timing(knd_tracer_t *t, uint64_t flush_ms, uint64_t timeout_ms)
{
    if (flush_ms > 0)
        t->flush_ms = flush_ms;
    if (timeout_ms > 0)
        t->timeout_ms = timeout_ms;
}

/* Drops (and counts) the n oldest queued spans. */
static void knd_tracer_drop_queued(knd_tracer_t *t, size_t n)
{
    for (size_t i = 0; i < n && t->qlen > 0; i++) {
        free(t->queue[t->qhead]);
        t->queue[t->qhead] = NULL;
        t->qhead = (t->qhead + 1) % KND_TRACE_QUEUE_MAX;
        t->qlen--;
        t->dropped++;
    }
}

static void knd_tracer_on_handle_closed(uv_handle_t *h)
{
    knd_tracer_t *t = h->data;
    if (--t->open_handles > 0)
        return;
    void (*done)(void *) = t->done;
    void *data = t->done_data;
    knd_buf_free(&t->body);
    free(t->queue);
    free(t->service);
    free(t->endpoint);
    free(t->endpoint_err);
    free(t);
    if (done)
        done(data);
}

/* Once nothing is under way any more (no POST, no resolution), closes the timers. */
static void knd_tracer_maybe_finish(knd_tracer_t *t)
{
    if (!t->closing || t->finishing || t->posting || t->resolving)
        return;
    t->finishing = true;
    knd_tracer_drop_queued(t, t->qlen);
    uv_close((uv_handle_t *)&t->flush_timer, knd_tracer_on_handle_closed);
    uv_close((uv_handle_t *)&t->timeout_timer, knd_tracer_on_handle_closed);
}

void knd_tracer_close(knd_tracer_t *t, void (*done)(void *), void *data)
{
    KND_ASSERT(!t->closing);
    t->closing = true;
    t->done = done;
    t->done_data = data;
    uv_timer_stop(&t->flush_timer);
    if (t->resolving) {
        /* Not started yet: its callback comes with UV_EAI_CANCELED. Running: it comes when the
         * resolver answers. Either way that callback carries on with the close. */
        uv_cancel((uv_req_t *)&t->gai);
        return;
    }
    knd_tracer_export(t);
    knd_tracer_maybe_finish(t); /* else the exchange's end (or its timeout) finishes it */
}

/* ------------------------------------------------------------------ recording */

static void knd_tracer_schedule(knd_tracer_t *t)
{
    if (t->closing || t->posting || t->resolving || t->qlen == 0)
        return;
    if (t->qlen >= KND_TRACE_BATCH_MIN)
        uv_timer_start(&t->flush_timer, knd_tracer_on_flush_timer, 0, 0);
    else if (!uv_is_active((uv_handle_t *)&t->flush_timer))
        uv_timer_start(&t->flush_timer, knd_tracer_on_flush_timer, t->flush_ms, 0);
}

/* One span as a Zipkin v2 JSON object (a new heap string). */
static char *knd_tracer_span_json(const knd_tracer_t *t, const knd_trace_ctx_t *ctx,
                                  const char *name, const char *kind, uint64_t start_us,
                                  uint64_t duration_us, const char *const *tags)
{
    json_t *o = json_object();
    json_object_set_new(o, "traceId", json_string(ctx->trace_id));
    json_object_set_new(o, "id", json_string(ctx->span_id));
    if (ctx->parent_id[0] != '\0')
        json_object_set_new(o, "parentId", json_string(ctx->parent_id));
    json_object_set_new(o, "name", json_string(name ? name : ""));
    if (kind != NULL)
        json_object_set_new(o, "kind", json_string(kind));
    json_object_set_new(o, "timestamp", json_integer((json_int_t)start_us));
    /* Zipkin reads a 0 duration as "unknown"; a span that happened took at least 1 µs. */
    json_object_set_new(o, "duration", json_integer((json_int_t)(duration_us ? duration_us : 1)));
    json_t *ep = json_object();
    json_object_set_new(ep, "serviceName", json_string(t->service));
    json_object_set_new(o, "localEndpoint", ep);
    if (ctx->debug)
        json_object_set_new(o, "debug", json_true());
    if (tags != NULL && tags[0] != NULL) {
        json_t *tj = json_object();
        for (size_t i = 0; tags[i] != NULL && tags[i + 1] != NULL; i += 2) {
            json_t *v = json_string(tags[i + 1]);
            if (v != NULL) /* not UTF-8: skipped rather than failing the span */
                json_object_set_new(tj, tags[i], v);
        }
        json_object_set_new(o, "tags", tj);
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

void knd_trace_span(knd_tracer_t *t, const knd_trace_ctx_t *ctx, const char *name,
                    const char *kind, uint64_t start_us, uint64_t duration_us,
                    const char *const *tags)
{
    if (!t->enabled || !ctx->sampled || t->closing)
        return;
    if (t->qlen >= KND_TRACE_QUEUE_MAX) {
        t->dropped++;
        return;
    }
    char *s = knd_tracer_span_json(t, ctx, name, kind, start_us, duration_us, tags);
    if (s == NULL) { /* a name that is not UTF-8 */
        t->dropped++;
        return;
    }
    t->queue[(t->qhead + t->qlen) % KND_TRACE_QUEUE_MAX] = s;
    t->qlen++;
    knd_tracer_schedule(t);
}

/* ------------------------------------------------------------------ resolution */

static bool knd_tracer_need_resolve(const knd_tracer_t *t)
{
    return t->ep.family == AF_UNSPEC &&
           (!t->resolved || t->stale ||
            uv_now(t->loop) - t->resolved_at >= KND_TRACE_RESOLVE_MS);
}

static bool knd_tracer_addr_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

/* An answer, in the resolver's order (RFC 6724), except that the address that connected last
 * stays first in line if it is still there. res may be NULL (no answer). */
static void knd_tracer_store_addrs(knd_tracer_t *t, const struct addrinfo *res)
{
    struct sockaddr_storage last;
    bool had = t->naddrs > 0;
    if (had)
        last = t->addrs[t->addr_cur];
    t->naddrs = t->addr_cur = 0;
    for (const struct addrinfo *ai = res; ai != NULL && t->naddrs < KND_TRACE_ADDRS_MAX;
         ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof(t->addrs[0]))
            continue;
        struct sockaddr_storage *a = &t->addrs[t->naddrs];
        memset(a, 0, sizeof(*a));
        memcpy(a, ai->ai_addr, ai->ai_addrlen);
        if (had && knd_tracer_addr_eq(a, &last))
            t->addr_cur = t->naddrs;
        t->naddrs++;
    }
    t->resolved = true;
    t->stale = false;
    t->resolved_at = uv_now(t->loop);
}

/* A failed answer stands for KND_TRACE_RESOLVE_MS like a good one: spans due meanwhile are
 * dropped at once rather than waiting on the resolver again. */
static void knd_tracer_resolve_failed(knd_tracer_t *t, const char *why)
{
    knd_tracer_store_addrs(t, NULL);
    if (t->warned || !t->enabled)
        return;
    t->warned = true;
    knd_log(KND_LOG_WARN, "trace",
            "zipkin-endpoint \"%s\": cannot resolve %s: %s; spans will be dropped until it "
            "resolves",
            t->endpoint, t->ep.host, why);
}

static void knd_tracer_on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    knd_tracer_t *t = req->data;
    t->resolving = false;
    /* An answer for an endpoint since replaced, or cancelled by close, is not kept. */
    if (t->gai_gen == t->gen && status != UV_EAI_CANCELED) {
        if (status < 0)
            knd_tracer_resolve_failed(t, uv_strerror(status));
        else {
            knd_tracer_store_addrs(t, res);
            if (t->naddrs == 0)
                knd_tracer_resolve_failed(t, "no IPv4 or IPv6 address");
        }
    }
    uv_freeaddrinfo(res);
    knd_tracer_export(t); /* the spans that were due (or, when closing, the final batch) */
    knd_tracer_maybe_finish(t);
}

static void knd_tracer_resolve(knd_tracer_t *t)
{
    char port[8];
    snprintf(port, sizeof(port), "%d", t->ep.port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    /* No AI_ADDRCONFIG: on a machine with loopback only it would hide "localhost". */
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    t->gai.data = t;
    t->gai_gen = t->gen;
    t->resolutions++;
    int rc = uv_getaddrinfo(t->loop, &t->gai, knd_tracer_on_resolved, t->ep.host, port, &hints);
    if (rc == 0)
        t->resolving = true;
    else
        knd_tracer_resolve_failed(t, uv_strerror(rc));
}

/* ------------------------------------------------------------------ export */

/* The exchange ended: count the batch, release the connection, go on (or finish closing). */
static void knd_tracer_batch_done(knd_tracer_t *t, bool ok)
{
    if (!t->posting)
        return;
    t->posting = false;
    uv_timer_stop(&t->timeout_timer);
    if (t->client != NULL) {
        knd_http_client_close(t->client);
        t->client = NULL;
    }
    if (ok) {
        t->exported += t->batch_spans;
    } else {
        t->dropped += t->batch_spans;
        /* Never connected: the collector may have moved, so its name is looked up again. */
        if (!t->batch_connected && t->batch_gen == t->gen)
            t->stale = true;
        knd_log(KND_LOG_DEBUG, "trace", "dropped a batch of %zu spans (%s, status %d)",
                t->batch_spans, t->batch_connected ? "sent" : "no connection",
                t->resp_status);
    }
    t->batch_spans = 0;
    knd_buf_reset(&t->body);
    if (t->closing)
        knd_tracer_maybe_finish(t);
    else
        knd_tracer_schedule(t);
}

static const knd_http_client_cbs_t knd_tracer_client_cbs;

/* Connects the batch to the next untried address of its endpoint; false when none is left (or
 * the endpoint changed meanwhile). */
static bool knd_tracer_connect_next(knd_tracer_t *t)
{
    while (t->batch_gen == t->gen && t->batch_tries < t->naddrs) {
        t->batch_addr = (t->addr_cur + t->batch_tries++) % t->naddrs;
        t->client = knd_http_client_connect_addr(
            t->loop, (const struct sockaddr *)&t->addrs[t->batch_addr], &knd_tracer_client_cbs, t);
        if (t->client != NULL)
            return true;
    }
    return false;
}

static void knd_tracer_on_connect(knd_http_client_t *c, int status)
{
    knd_tracer_t *t = knd_http_client_data(c);
    if (status < 0) {
        knd_http_client_close(c);
        t->client = NULL;
        if (!knd_tracer_connect_next(t))
            knd_tracer_batch_done(t, false);
        return;
    }
    t->batch_connected = true;
    if (t->batch_gen == t->gen)
        t->addr_cur = t->batch_addr;
    knd_http_client_begin(c, false);
    knd_http_client_write(c, t->body.p, t->body.len, NULL, 0, NULL, 0);
}

static void knd_tracer_on_head(knd_http_client_t *c, const knd_http_head_t *head)
{
    knd_tracer_t *t = knd_http_client_data(c);
    t->resp_status = head->status;
}

static void knd_tracer_on_done(knd_http_client_t *c)
{
    knd_tracer_t *t = knd_http_client_data(c);
    knd_tracer_batch_done(t, t->resp_status >= 200 && t->resp_status < 300);
}

static void knd_tracer_on_error(knd_http_client_t *c, int status)
{
    knd_tracer_batch_done(knd_http_client_data(c), false);
}

static void knd_tracer_on_timeout(uv_timer_t *h)
{
    knd_tracer_batch_done(h->data, false);
}

static const knd_http_client_cbs_t knd_tracer_client_cbs = {
    .on_connect = knd_tracer_on_connect,
    .on_head = knd_tracer_on_head,
    .on_done = knd_tracer_on_done,
    .on_error = knd_tracer_on_error,
};

/* Takes up to KND_TRACE_BATCH_MAX of the oldest queued spans into a complete POST in t->body:
 * a reconfiguration before the connection is up must not change (or free) what this batch is
 * sent with. */
static size_t knd_tracer_build_batch(knd_tracer_t *t)
{
    size_t n = t->qlen < KND_TRACE_BATCH_MAX ? t->qlen : KND_TRACE_BATCH_MAX;
    knd_buf_t json;
    knd_buf_init(&json);
    knd_buf_puts(&json, "[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            knd_buf_puts(&json, ",");
        knd_buf_puts(&json, t->queue[t->qhead]);
        free(t->queue[t->qhead]);
        t->queue[t->qhead] = NULL;
        t->qhead = (t->qhead + 1) % KND_TRACE_QUEUE_MAX;
        t->qlen--;
    }
    knd_buf_puts(&json, "]");
    knd_buf_reset(&t->body);
    knd_buf_printf(&t->body,
                   "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                   t->ep.path, t->ep.host_port, json.len);
    knd_buf_append(&t->body, json.p, json.len);
    knd_buf_free(&json);
    return n;
}

/* Starts a POST of the oldest queued spans, first asking the resolver where the collector is
 * when its last answer is too old. While closing, the last answer serves whatever its age. */
static void knd_tracer_export(knd_tracer_t *t)
{
    if (t->posting || t->resolving || t->qlen == 0)
        return;
    if (t->endpoint == NULL || t->endpoint_err != NULL) {
        knd_tracer_drop_queued(t, t->qlen);
        return;
    }
    if (!t->closing && knd_tracer_need_resolve(t)) {
        knd_tracer_resolve(t);
        if (t->resolving)
            return; /* knd_tracer_on_resolved comes back here */
    }
    if (t->naddrs == 0) {
        knd_tracer_drop_queued(t, t->qlen);
        return;
    }
    t->batch_spans = knd_tracer_build_batch(t);
    t->posting = true;
    t->resp_status = 0;
    t->batch_gen = t->gen;
    t->batch_tries = 0;
    t->batch_connected = false;
    uv_timer_start(&t->timeout_timer, knd_tracer_on_timeout, t->timeout_ms, 0);
    if (!knd_tracer_connect_next(t))
        knd_tracer_batch_done(t, false);
}
