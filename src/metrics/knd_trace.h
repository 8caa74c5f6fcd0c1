/*
 * knd_trace.h - request tracing: trace contexts continued from or started for each request,
 * W3C `traceparent` and B3 propagation to instances, and asynchronous export of finished spans
 * to a Zipkin collector as Zipkin v2 JSON (docs/tracing.md).
 *
 * Ownership: the tracer owns a bounded queue of spans, serialized when recorded (knd_trace_span
 * copies everything it is given), two timers, at most one name resolution and one export
 * connection at a time. It runs on the loop it was created with and never blocks: a slow, dead
 * or unresolvable collector costs the queued spans (dropped and counted), never a request.
 * knd_tracer_close releases it all.
 *
 * Contexts (knd_trace_ctx_t) are plain values: ids are lowercase hex strings, parent_id is ""
 * for a root span.
 */
#ifndef KND_TRACE_H
#define KND_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "knd_buf.h"
#include "knd_err.h"
#include "knd_http.h"

typedef struct knd_tracer_s knd_tracer_t;

typedef struct {
    char trace_id[33];  /* 32 lowercase hex digits (a 64-bit B3 id is zero-padded on the left) */
    char span_id[17];   /* 16 lowercase hex digits */
    char parent_id[17]; /* "" for a root span */
    bool sampled;
    bool debug;
} knd_trace_ctx_t;

#define KND_TRACE_QUEUE_MAX 10000   /* spans waiting for export; beyond -> dropped */
#define KND_TRACE_BATCH_MIN 100     /* this many queued spans are exported right away */
#define KND_TRACE_BATCH_MAX 1000    /* spans per POST */
#define KND_TRACE_FLUSH_MS 1000     /* otherwise queued spans leave within this */
#define KND_TRACE_TIMEOUT_MS 5000   /* a POST not answered within this is dropped */

/** A tracer for local_service ("knd"; copied), disabled until configured. Never NULL. */
knd_tracer_t *knd_tracer_new(uv_loop_t *loop, const char *local_service);
/**
 * From config-tracing: backend "zipkin" -> enabled, "none" -> disabled; zipkin_endpoint
 * `http://host[:port][/path]` (copied; host a DNS name, an IPv4 address or a bracketed IPv6
 * address; NULL is ""). A name is resolved off the loop (uv_getaddrinfo) when a batch is due,
 * and again after 30 s or a failed connect. An endpoint that does not parse (https:// included)
 * or a name that does not resolve is logged once at WARN and its spans are dropped and counted.
 * sample_rate 0..1 (clamped); debug samples every request. Callable at any time (the same
 * endpoint again keeps what was resolved): spans already queued leave to the new endpoint.
 */
void knd_tracer_configure(knd_tracer_t *t, bool enabled, const char *zipkin_endpoint,
                          double sample_rate, bool debug);
bool knd_tracer_enabled(const knd_tracer_t *t);
/**
 * Continues an incoming trace (W3C traceparent first, else B3 single `b3` or multi X-B3-*), or
 * starts a new root; incoming may be NULL. Decides sampling: an incoming decision is honoured,
 * config debug samples everything, otherwise sample_rate decides. A disabled tracer records
 * nothing, and its contexts only pass the incoming decision on. Fills out with the server
 * span's context (a new span id whose parent is the incoming span).
 */
void knd_trace_begin(knd_tracer_t *t, const knd_http_head_t *incoming, knd_trace_ctx_t *out);
/** A child context of parent: same trace and decision, a new span id, parent's as parent. */
void knd_trace_child(const knd_trace_ctx_t *parent, knd_trace_ctx_t *child);
/**
 * Appends the propagation headers for ctx as "Name: value\r\n" lines: traceparent and the B3
 * multi headers (X-B3-TraceId, X-B3-SpanId, X-B3-ParentSpanId when there is a parent,
 * X-B3-Sampled, and X-B3-Flags: 1 when debug). A proxy removes the incoming ones first
 * (knd_trace_is_header).
 */
void knd_trace_headers(const knd_trace_ctx_t *ctx, knd_buf_t *out);
/** True for a header knd_trace_headers replaces: traceparent, b3, X-B3-* (case-insensitive).
 * tracestate is not one: it passes through unchanged. */
bool knd_trace_is_header(const char *name);
/**
 * Records a finished span (copies everything): kind "SERVER", "CLIENT" or NULL (a local span);
 * tags a NULL-ended list of key, value pairs (may be NULL). Ignored when ctx is not sampled or
 * the tracer is disabled. Queued for export; dropped and counted when the queue is full.
 */
void knd_trace_span(knd_tracer_t *t, const knd_trace_ctx_t *ctx, const char *name,
                    const char *kind, uint64_t start_us /* wall clock µs */,
                    uint64_t duration_us, const char *const *tags);
/** Spans dropped: queue full, endpoint unusable or unresolvable, collector unreachable, slow,
 * or answering non-2xx. */
uint64_t knd_tracer_dropped(const knd_tracer_t *t);
/** Spans a collector accepted (2xx). */
uint64_t knd_tracer_exported(const knd_tracer_t *t);
/** Spans waiting in the queue (not counting a batch being posted). */
size_t knd_tracer_queued(const knd_tracer_t *t);
/** Overrides the flush interval and POST timeout (ms; 0 keeps the current value). */
void knd_tracer_set_timing(knd_tracer_t *t, uint64_t flush_ms, uint64_t timeout_ms);
/**
 * Exports what is queued (one final batch, the rest dropped and counted), waits for a POST in
 * flight (bounded by the timeout) or a name resolution in flight (cancelled if it has not
 * started, else bounded by the resolver's own timeout), then closes its handles and frees t;
 * done(data) after (done may be NULL). t must not be used after this call. The final batch
 * goes to the addresses last resolved, even if older than 30 s; a name never resolved is not
 * resolved for it (its spans are dropped).
 */
void knd_tracer_close(knd_tracer_t *t, void (*done)(void *), void *data);

/** Wall clock now in microseconds since the epoch (for start_us). */
uint64_t knd_trace_now_us(void);
#define KND_TRACE_RESOLVE_MS 30000 /* a resolved collector name is trusted this long */

/** A parsed collector URL. */
typedef struct {
    char host[256];      /* a name, or an address without brackets */
    char host_port[264]; /* the Host header: host[:port] as written (IPv6 in brackets) */
    int port;            /* 80 when left out */
    int family;          /* AF_INET / AF_INET6 for an address literal, AF_UNSPEC for a name */
    char path[2048];     /* request target: path and query, "/" when left out */
} knd_trace_endpoint_t;

/**
 * Parses a Zipkin endpoint URL `http://host[:port][/path][?query]` into ep (a fragment is
 * dropped). Returns 0, or -1 with err (KND_E_INVALID) saying why: not http:// (https:// is not
 * supported), credentials, an invalid host, address or port, a path with spaces or control
 * characters, or a part too long.
 */
int knd_trace_parse_endpoint(const char *url, knd_trace_endpoint_t *ep, knd_err_t *err);

#endif
