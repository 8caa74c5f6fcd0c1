/*
 * knd_trace_export.c - the tracer's lifecycle and span export: finished spans are serialized to
 * Zipkin v2 JSON when recorded, queued (bounded), and POSTed in batches to the collector from
 * the loop, one request at a time. Nothing here waits: a full queue, a refused connection, a
 * non-2xx answer or a POST slower than the timeout drops spans and counts them.
 *
 * Ownership: the tracer owns the queued strings, the batch body, the export connection (closed
 * when its exchange ends) and two timers, freed in their close callbacks by knd_tracer_close.
 */
#include "knd_trace_int.h"

#include <jansson.h>
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

void knd_tracer_configure(knd_tracer_t *t, bool enabled, const char *zipkin_endpoint,
                          double sample_rate, bool debug)
{
    char path[2048];
    int port = 0;
    t->enabled = enabled;
    t->debug = debug;
    t->sample_rate = sample_rate < 0 ? 0 : sample_rate > 1 ? 1 : sample_rate;
    if (sample_rate != sample_rate) /* NaN */
        t->sample_rate = 0;
    free(t->path);
    free(t->host);
    t->path = t->host = NULL;
    t->endpoint_ok = false;
    if (zipkin_endpoint != NULL &&
        knd_trace_parse_endpoint(zipkin_endpoint, &port, path, sizeof(path)) == 0) {
        t->endpoint_ok = true;
        t->port = port;
        t->path = knd_xstrdup(path);
        t->host = knd_xasprintf("127.0.0.1:%d", port);
    } else if (enabled) {
        knd_log(KND_LOG_WARN, "trace",
                "zipkin-endpoint \"%s\": only http://127.0.0.1 or http://localhost collectors "
                "are supported; spans will be dropped",
                zipkin_endpoint ? zipkin_endpoint : "");
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
    free(t->path);
    free(t->host);
    free(t);
    if (done)
        done(data);
}

static void knd_tracer_finish_close(knd_tracer_t *t)
{
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
    if (t->client == NULL)
        knd_tracer_export(t);
    if (t->client == NULL)
        knd_tracer_finish_close(t);
    /* else the exchange's end (or its timeout) finishes the close */
}

/* ------------------------------------------------------------------ recording */

static void knd_tracer_schedule(knd_tracer_t *t)
{
    if (t->closing || t->client != NULL || t->qlen == 0)
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

/* ------------------------------------------------------------------ export */

/* The exchange ended: count the batch, release the connection, go on (or finish closing). */
static void knd_tracer_batch_done(knd_tracer_t *t, bool ok)
{
    if (t->client == NULL)
        return;
    uv_timer_stop(&t->timeout_timer);
    knd_http_client_close(t->client);
    t->client = NULL;
    if (ok) {
        t->exported += t->batch_spans;
    } else {
        t->dropped += t->batch_spans;
        knd_log(KND_LOG_DEBUG, "trace", "dropped a batch of %zu spans (status %d)",
                t->batch_spans, t->resp_status);
    }
    t->batch_spans = 0;
    knd_buf_reset(&t->body);
    if (t->closing)
        knd_tracer_finish_close(t);
    else
        knd_tracer_schedule(t);
}

static void knd_tracer_on_connect(knd_http_client_t *c, int status)
{
    knd_tracer_t *t = knd_http_client_data(c);
    if (status < 0) {
        knd_tracer_batch_done(t, false);
        return;
    }
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

/* Starts a POST with up to KND_TRACE_BATCH_MAX of the oldest queued spans. */
static void knd_tracer_export(knd_tracer_t *t)
{
    if (t->client != NULL || t->qlen == 0)
        return;
    if (!t->endpoint_ok) {
        knd_tracer_drop_queued(t, t->qlen);
        return;
    }
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
    /* The whole request now: a reconfiguration before the connection is up must not change
     * (or free) what this batch is sent with. */
    knd_buf_reset(&t->body);
    knd_buf_printf(&t->body,
                   "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                   t->path, t->host, json.len);
    knd_buf_append(&t->body, json.p, json.len);
    knd_buf_free(&json);
    t->batch_spans = n;
    t->resp_status = 0;
    t->client = knd_http_client_connect(t->loop, t->port, &knd_tracer_client_cbs, t);
    if (t->client == NULL) {
        t->dropped += n;
        t->batch_spans = 0;
        knd_buf_reset(&t->body);
        knd_tracer_schedule(t);
        return;
    }
    uv_timer_start(&t->timeout_timer, knd_tracer_on_timeout, t->timeout_ms, 0);
}
