/*
 * knd_testapp.h - the shared state of knd-testapp, the HTTP/1.1 server every end-to-end test runs
 * as a revision's instance (endpoints: tests/apps/README.md).
 *
 * One libuv loop, one listener, one knd_testapp_conn_t per accepted connection. Requests on a
 * connection are handled one at a time: the parser is paused at the end of each message (or at
 * the end of the headers, for /echo) until the response has been queued, so pipelined bytes wait
 * in conn->in. Ownership: the app owns the connection list; a connection owns its handles and is
 * freed in the close callback of the last of them.
 */
#ifndef KND_TESTAPP_H
#define KND_TESTAPP_H

#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>
#include <uv.h>

#include "knd_buf.h"

typedef struct knd_testapp_s knd_testapp_t;
typedef struct knd_testapp_conn_s knd_testapp_conn_t;

/* Stop reading from a socket while this much is queued (input or output): bounded memory. */
#define KND_TESTAPP_BACKLOG_LIMIT (1024 * 1024)
#define KND_TESTAPP_MAX_HEADERS 128
/* burn_ms= spins at most this long before letting the loop serve other connections. */
#define KND_TESTAPP_BURN_SLICE_NS (5 * 1000 * 1000)

typedef enum {
    KND_TESTAPP_ROUTE_HELLO = 0,
    KND_TESTAPP_ROUTE_ENV,
    KND_TESTAPP_ROUTE_HEADERS,
    KND_TESTAPP_ROUTE_ECHO,
    KND_TESTAPP_ROUTE_HEALTHZ,
    KND_TESTAPP_ROUTE_TOGGLE_READY,
    KND_TESTAPP_ROUTE_STATS,
    KND_TESTAPP_ROUTE_CRASH,
    KND_TESTAPP_ROUTE_EXIT,
    KND_TESTAPP_ROUTE_WS,
} knd_testapp_route_t;

struct knd_testapp_s {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_signal_t sigterm, sigint;
    uv_timer_t start_timer;
    uv_idle_t burn_idle; /* runs while a request burns CPU (burn_ms=) */
    uint64_t burn_seq;   /* round-robin order of the burning requests */
    int port;
    int64_t startup_delay_ms, ready_delay_ms;
    uint64_t ready_at; /* uv_now() from which /healthz may answer 200 */
    int listening, draining, forced_unready, log_requests, exit_code;
    const char *target, *revision; /* borrowed from the environment */
    /* counters for /stats; control endpoints are not counted (see README) */
    uint64_t inflight, max_inflight, requests;
    knd_testapp_conn_t *conns; /* of knd_testapp_conn_t.prev/next */
    size_t nconns;
};

/* A received header: offsets of its NUL-terminated name (lowercased) and value in conn->hbuf. */
typedef struct {
    size_t name, value;
} knd_testapp_header_t;

/* What the query string asks for; -1 = not given. */
typedef struct {
    long long sleep_ms, status, bytes, chunk_size, chunk_delay_ms, code, burn_ms;
    int chunked;
} knd_testapp_opts_t;

struct knd_testapp_conn_s {
    uv_tcp_t tcp;
    uv_timer_t timer; /* sleep= and chunk_delay_ms= */
    knd_testapp_t *app;
    knd_testapp_conn_t *prev, *next;
    int handles_open;
    llhttp_t parser;
    knd_buf_t in; /* received bytes not yet given to the parser (or, after an upgrade, frames) */

    /* the request being parsed */
    /* Every buffer here lives as long as the connection and is only reset between requests:
     * the throughput benchmark measures proxies in front of this app, so answering a request
     * allocates nothing once a connection has seen one like it. */
    knd_buf_t url, path, query; /* path: url without the query */
    knd_buf_t hbuf;             /* name\0value\0 of each header, in order */
    size_t hfield_start;        /* where the header being received begins in hbuf */
    knd_testapp_header_t headers[KND_TESTAPP_MAX_HEADERS];
    size_t nheaders;
    knd_testapp_opts_t opts;
    knd_testapp_route_t route;
    int keep_alive, http10, head_only, counted;
    uint64_t inflight_at_start;

    /* connection state */
    int busy;    /* a request has been accepted and its response is not finished */
    int hold;    /* the parser must stay paused (response or echo start pending) */
    int paused;  /* llhttp returned HPE_PAUSED and has not been resumed */
    int in_feed; /* knd_testapp_conn_feed is on the stack */
    int reading, closing, ws;

    /* burn_ms=: CPU time still to spend before answering, and this request's turn */
    uint64_t burn_left_ns, burn_turn;

    /*
     * Coalescing: while corked, a write is held in pending until the next one, and both leave
     * in one write, as a buffered server (Go's net/http) sends a head with its first body bytes.
     */
    int corked;
    knd_buf_t pending;
    knd_buf_t head, body; /* a response's head and small body, built here */

    /* response body streaming (bytes= and /echo) */
    int resp_chunked, streaming;
    uint64_t remaining, offset;
};

/* knd_testapp.c */
/** True when /healthz should answer 200. */
int knd_testapp_is_ready(const knd_testapp_t *app);
/** Called whenever a connection goes away: finishes a graceful drain when it was the last. */
void knd_testapp_maybe_exit(knd_testapp_t *app);

/* knd_testapp_conn.c */
/** Accepts a pending connection on the listener and starts reading it. */
void knd_testapp_conn_accept(knd_testapp_t *app);
/** Queues a copy of data for writing. */
void knd_testapp_conn_write(knd_testapp_conn_t *c, const void *data, size_t len);
/** From here on a write waits for the next one, so that the two leave together. */
void knd_testapp_conn_cork(knd_testapp_conn_t *c);
/** Stops coalescing and sends what is held. */
void knd_testapp_conn_uncork(knd_testapp_conn_t *c);
/** Queues the status line and headers (plus Content-Length, or chunked when len < 0). */
void knd_testapp_conn_write_head(knd_testapp_conn_t *c, int status, const char *content_type,
                                 long long len, const char *extra);
/** Writes a body of the given size in chunks, paced by write completions; ends the response. */
void knd_testapp_conn_stream(knd_testapp_conn_t *c, uint64_t len);
/** The response is fully queued: counts down, then reads the next request or closes. */
void knd_testapp_conn_finish(knd_testapp_conn_t *c);
/** Lets the parser go on (after a held echo start, or a finished response). */
void knd_testapp_conn_resume(knd_testapp_conn_t *c);
/** Closes now (pending writes are dropped). Idempotent. */
void knd_testapp_conn_close(knd_testapp_conn_t *c);
/** Closes after the queued writes have been sent. */
void knd_testapp_conn_shutdown(knd_testapp_conn_t *c);
/** During a drain: closes an idle connection, or tells a websocket to go away. */
void knd_testapp_conn_drain(knd_testapp_conn_t *c);
/** Returns the first header value with this lowercase name, or NULL. */
const char *knd_testapp_conn_header(const knd_testapp_conn_t *c, const char *name);
/** The lowercase name and the value of the i-th header received. */
const char *knd_testapp_conn_header_name(const knd_testapp_conn_t *c, size_t i);
const char *knd_testapp_conn_header_value(const knd_testapp_conn_t *c, size_t i);

/* knd_testapp_routes.c */
/** Headers are complete: routes the request. Returns an llhttp callback result. */
int knd_testapp_routes_begin(knd_testapp_conn_t *c);
/** The request body has been read (all but /echo): answers after burn_ms= and sleep=. */
void knd_testapp_routes_respond(knd_testapp_conn_t *c);
/** The burn idle handle: spends one slice of CPU on the burning request whose turn it is. */
void knd_testapp_routes_on_burn_idle(uv_idle_t *h);

/* knd_testapp_ws.c */
/** Answers a websocket handshake; returns 0, or -1 after writing an error response. */
int knd_testapp_ws_accept(knd_testapp_conn_t *c);
/** Echoes the complete frames in c->in. */
void knd_testapp_ws_feed(knd_testapp_conn_t *c);
/** Sends a close frame with this status code, then shuts the connection down. */
void knd_testapp_ws_close(knd_testapp_conn_t *c, unsigned code);

#endif
