/*
 * fuzz_ingress.c - libFuzzer target for the data plane: what a client sends through the ingress
 * (HTTP server, routing, activator, proxy, upstream client) and what an instance answers.
 *
 * One libuv loop in this process holds the ingress and two instances on 127.0.0.1:
 *   - "echo", a knd_http_server: answers "ok", or "got N" after a request body;
 *   - "raw", a bare TCP server: answers any request with the response bytes of the input.
 * Hosts: echo.default.example.com, cc1.default.example.com (containerConcurrency 1, same echo
 * instance), split.default.example.com (50/50, tags "a" and "b"), raw.default.example.com.
 * Every request is traced and logged, so trace headers and the request log's escaping are
 * exercised too.
 *
 * Input: byte 0 is a set of flags, the rest is data.
 *   bit 0    the data is the raw instance's response to a fixed request (bits 1-2 pick it);
 *            otherwise the data is what the client sends
 *   bit 3    the client half-closes right after sending, instead of waiting for the answers
 *   bit 4    the raw instance closes its connection after answering
 *   bit 5    tag-header routing on
 *   bits 6-7 the client's bytes go out in 1-4 writes, the loop settling between them
 *            (raw data: bit 7 alone, 1 or 3 writes)
 *   linger   bits 1 and 2 for client data, 6 and 7 for raw data, both set (a quarter of the
 *            inputs): the loop runs 5 ms more before the client leaves, long enough for the
 *            raw revision's timeouts (response start and idle 1 ms, the request 3 ms) to fire
 *
 * Every input must be answered or refused without a crash, leak or sanitizer report, and the
 * ingress must keep serving: after each input a fresh GET through echo and through cc1 (whose
 * one slot a lost request would hold forever) must get its 200.
 *
 * Not part of the default build: `fuzz/run.sh [SECONDS]` builds it with clang (libFuzzer, ASan,
 * UBSan) into build-fuzz/ and runs it; fuzz/make_ingress_seeds.py writes its seeds. Replaying
 * one input with KND_FUZZ_VERBOSE=1 set prints what the client got back, and the warnings.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "knd_buf.h"
#include "knd_fuzz_client.h"
#include "knd_http_server.h"
#include "knd_ingress.h"
#include "knd_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KND_FUZZ_CHECK_MS 3000 /* a health check not answered within this is a failure */
#define KND_FUZZ_LINGER_MS 5   /* past the raw revision's timeouts */

typedef struct {
    uv_loop_t loop;
    knd_ingress_t *ing;
    knd_tracer_t *tracer;
    knd_http_server_t *echo;
    uv_tcp_t raw;
    knd_rev_t *rev_echo, *rev_cc1, *rev_raw;
    knd_endpoint_t *eps[3];
    const uint8_t *raw_resp; /* what the raw instance answers, for the current input */
    size_t raw_resp_len;
    bool raw_close;
} knd_fuzz_world_t;

static knd_fuzz_world_t W;

/* ------------------------------------------------------------------ the echo instance */

static void knd_fuzz_echo_body(knd_http_req_t *r, const char *p, size_t n)
{
    (void)p;
    r->data = (void *)((uintptr_t)r->data + n);
}

static void knd_fuzz_echo_end(knd_http_req_t *r)
{
    char msg[64];
    int n = snprintf(msg, sizeof(msg), "got %zu", (size_t)(uintptr_t)r->data);
    knd_http_resp_simple(r, 200, "text/plain", msg, (size_t)n);
}

static void knd_fuzz_echo_request(knd_http_req_t *r, void *data)
{
    (void)data;
    r->data = NULL;
    if (r->head.content_length > 0 || r->head.chunked) {
        r->on_body = knd_fuzz_echo_body;
        r->on_body_end = knd_fuzz_echo_end;
        return;
    }
    knd_http_resp_simple(r, 200, "text/plain", "ok", 2);
}

/* ------------------------------------------------------------------ the raw instance */

typedef struct {
    uv_tcp_t tcp;
    bool writing;
} knd_fuzz_raw_conn_t;

typedef struct {
    uv_write_t wr;
    knd_fuzz_raw_conn_t *rc;
    char bytes[]; /* a copy: the input is gone when a slow write completes */
} knd_fuzz_raw_write_t;

static void knd_fuzz_raw_closed(uv_handle_t *h)
{
    free(h->data);
}

static void knd_fuzz_raw_close(knd_fuzz_raw_conn_t *rc)
{
    if (!uv_is_closing((uv_handle_t *)&rc->tcp))
        uv_close((uv_handle_t *)&rc->tcp, knd_fuzz_raw_closed);
}

static void knd_fuzz_raw_written(uv_write_t *wr, int status)
{
    knd_fuzz_raw_write_t *w = wr->data;
    knd_fuzz_raw_conn_t *rc = w->rc;
    free(w);
    rc->writing = false;
    if (status < 0 || W.raw_close)
        knd_fuzz_raw_close(rc);
}

static void knd_fuzz_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    static char scratch[65536];
    (void)h;
    (void)hint;
    *buf = uv_buf_init(scratch, sizeof(scratch));
}

/* Answers every read while no answer is being written, whatever the bytes were: a request that
 * arrives in two reads gets two answers, the second one garbage on a keep-alive connection. */
static void knd_fuzz_raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    knd_fuzz_raw_conn_t *rc = s->data;
    (void)buf;
    if (n < 0) {
        knd_fuzz_raw_close(rc);
        return;
    }
    if (n == 0 || rc->writing)
        return;
    knd_fuzz_raw_write_t *w = malloc(sizeof(*w) + W.raw_resp_len + 1);
    memcpy(w->bytes, W.raw_resp, W.raw_resp_len);
    w->rc = rc;
    w->wr.data = w;
    uv_buf_t out = uv_buf_init(w->bytes, (unsigned)W.raw_resp_len);
    rc->writing = true;
    if (uv_write(&w->wr, s, &out, 1, knd_fuzz_raw_written) < 0) {
        free(w);
        rc->writing = false;
        knd_fuzz_raw_close(rc);
    }
}

static void knd_fuzz_raw_accept(uv_stream_t *srv, int status)
{
    if (status < 0)
        return;
    knd_fuzz_raw_conn_t *rc = calloc(1, sizeof(*rc));
    uv_tcp_init(&W.loop, &rc->tcp);
    rc->tcp.data = rc;
    if (uv_accept(srv, (uv_stream_t *)&rc->tcp) < 0) {
        knd_fuzz_raw_close(rc);
        return;
    }
    uv_read_start((uv_stream_t *)&rc->tcp, knd_fuzz_alloc, knd_fuzz_raw_read);
}

/* ------------------------------------------------------------------ the world */

static void knd_fuzz_world_free(void);

static knd_rev_t *knd_fuzz_rev(const char *name, int cc, int port, knd_endpoint_t **ep,
                               uint64_t timeout_ms)
{
    knd_rev_limits_t lim = {.container_concurrency = cc, .queue_limit = 11};
    if (timeout_ms) {
        lim.timeout_ms = timeout_ms;
        lim.response_start_ms = timeout_ms / 3;
        lim.idle_ms = timeout_ms / 3;
    }
    knd_rev_t *rev = knd_rev_new(&W.loop, "default", name, "svc", "svc", &lim);
    *ep = knd_rev_endpoint_add(rev, name, port);
    knd_endpoint_set_ready(*ep, true);
    return rev;
}

static void knd_fuzz_route(knd_route_table_t *t, const char *host, const char *tag,
                           const knd_rt_target_t *targets, size_t n)
{
    if (knd_route_table_add(t, host, "default", "svc", tag, targets, n) < 0)
        abort();
}

static void knd_fuzz_world_init(void)
{
    knd_err_t err;
    signal(SIGPIPE, SIG_IGN); /* as knd serve does: a peer gone is an error return, not death */
    if (getenv("KND_FUZZ_VERBOSE") == NULL)
        knd_log_level = KND_LOG_ERROR; /* a warning per bad answer would bury libFuzzer's lines */
    uv_loop_init(&W.loop);
    if (knd_ingress_start(&W.loop, "127.0.0.1", 0, &W.ing, &err) < 0 ||
        knd_http_server_listen_tcp(&W.loop, "127.0.0.1", 0, NULL, knd_fuzz_echo_request, NULL,
                                   &W.echo, &err) < 0) {
        fprintf(stderr, "fuzz_ingress: %s\n", err.msg);
        abort();
    }
    /* Every request traced: the trace headers a client sends (traceparent, b3) are parsed.
     * Nothing listens at the collector; its spans are dropped. */
    W.tracer = knd_tracer_new(&W.loop, "knd");
    knd_tracer_configure(W.tracer, true, "http://127.0.0.1:9/api/v2/spans", 1.0, false);
    knd_ingress_set_tracer(W.ing, W.tracer);
    struct sockaddr_in sa;
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    uv_ip4_addr("127.0.0.1", 0, &sa);
    uv_tcp_init(&W.loop, &W.raw);
    if (uv_tcp_bind(&W.raw, (const struct sockaddr *)&sa, 0) < 0 ||
        uv_listen((uv_stream_t *)&W.raw, 128, knd_fuzz_raw_accept) < 0 ||
        uv_tcp_getsockname(&W.raw, (struct sockaddr *)&bound, &len) < 0)
        abort();
    int raw_port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    int echo_port = knd_http_server_port(W.echo);
    W.rev_echo = knd_fuzz_rev("echo-00001", 0, echo_port, &W.eps[0], 0);
    W.rev_cc1 = knd_fuzz_rev("cc1-00001", 1, echo_port, &W.eps[1], 0);
    W.rev_raw = knd_fuzz_rev("raw-00001", 0, raw_port, &W.eps[2], 3);

    knd_route_table_t *t = knd_route_table_new();
    knd_rt_target_t echo = {.rev = W.rev_echo, .percent = 100};
    knd_rt_target_t cc1 = {.rev = W.rev_cc1, .percent = 100};
    knd_rt_target_t raw = {.rev = W.rev_raw, .percent = 100};
    knd_rt_target_t split[] = {{.rev = W.rev_echo, .percent = 50, .tag = "a"},
                               {.rev = W.rev_cc1, .percent = 50, .tag = "b"}};
    knd_fuzz_route(t, "echo.default.example.com", NULL, &echo, 1);
    knd_fuzz_route(t, "cc1.default.example.com", NULL, &cc1, 1);
    knd_fuzz_route(t, "raw.default.example.com", NULL, &raw, 1);
    knd_fuzz_route(t, "split.default.example.com", NULL, split, 2);
    knd_fuzz_route(t, "a-split.default.example.com", "a", &split[0], 1);
    knd_route_table_seal(t);
    knd_ingress_set_table(W.ing, t);
    atexit(knd_fuzz_world_free);
}

static void knd_fuzz_done(void *data)
{
    (*(int *)data)--;
}

static void knd_fuzz_close_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, h->data == NULL || h == (uv_handle_t *)&W.raw ? NULL : knd_fuzz_raw_closed);
}

/* At exit: everything closes as in a shutdown, and the loop must end empty. */
static void knd_fuzz_world_free(void)
{
    int open = 3;
    knd_rev_release(W.rev_echo); /* the route table holds them until the ingress is gone */
    knd_rev_release(W.rev_cc1);
    knd_rev_release(W.rev_raw);
    knd_ingress_close(W.ing, knd_fuzz_done, &open);
    knd_http_server_close(W.echo, knd_fuzz_done, &open);
    while (open > 1)
        uv_run(&W.loop, UV_RUN_ONCE);
    knd_tracer_close(W.tracer, knd_fuzz_done, &open); /* outlives the ingress (knd_ingress.h) */
    while (open > 0)
        uv_run(&W.loop, UV_RUN_ONCE);
    uv_walk(&W.loop, knd_fuzz_close_handle, NULL); /* the raw listener and its connections */
    uv_run(&W.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&W.loop) != 0) {
        fprintf(stderr, "fuzz_ingress: handles left open at exit\n");
        abort();
    }
}

/* ------------------------------------------------------------------ one input */

static const char *const knd_fuzz_raw_requests[] = {
    "GET /x?y=1 HTTP/1.1\r\nHost: raw.default.example.com\r\n\r\n",
    "HEAD / HTTP/1.1\r\nHost: raw.default.example.com\r\n\r\n",
    "POST /u HTTP/1.1\r\nHost: raw.default.example.com\r\nContent-Length: 5\r\n\r\nhello",
    ("GET /ws HTTP/1.1\r\nHost: raw.default.example.com\r\nConnection: Upgrade\r\n"
     "Upgrade: websocket\r\n\r\nping"),
};

static const char knd_fuzz_ok_response[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/* The ingress still serves: a GET through `host` gets its 200 and the connection closes. */
static void knd_fuzz_health(const char *host)
{
    char req[160];
    int n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                     host);
    knd_fuzz_client_t c;
    knd_fuzz_client_open_tcp(&c, &W.loop, knd_ingress_port(W.ing));
    knd_fuzz_client_send(&c, (const uint8_t *)req, (size_t)n);
    if (!knd_fuzz_client_wait_eof(&c, KND_FUZZ_CHECK_MS) || c.in.len < 12 ||
        memcmp(c.in.p, "HTTP/1.1 200", 12) != 0) {
        fprintf(stderr, "fuzz_ingress: %s no longer answers 200 (%zu bytes: %.*s)\n", host,
                c.in.len, (int)(c.in.len < 200 ? c.in.len : 200), c.in.p);
        abort();
    }
    knd_fuzz_client_close(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (W.ing == NULL)
        knd_fuzz_world_init();
    if (size == 0)
        return 0;
    uint8_t flags = data[0];
    const uint8_t *body = data + 1, *send = body;
    size_t n = size - 1, send_len = n;
    bool raw_mode = flags & 1;
    bool linger = raw_mode ? (flags & 0xc0) == 0xc0 : (flags & 0x06) == 0x06;
    W.raw_close = flags & 0x10;
    W.raw_resp = (const uint8_t *)knd_fuzz_ok_response;
    W.raw_resp_len = sizeof(knd_fuzz_ok_response) - 1;
    if (raw_mode) {
        W.raw_resp = body;
        W.raw_resp_len = n;
        send = (const uint8_t *)knd_fuzz_raw_requests[(flags >> 1) & 3];
        send_len = strlen((const char *)send);
    }
    knd_ingress_options_t opt = {.tag_header_routing = flags & 0x20, .request_log = true};
    snprintf(opt.request_log_path, sizeof(opt.request_log_path), "/dev/null");
    knd_ingress_set_options(W.ing, &opt);

    knd_fuzz_client_t c;
    knd_fuzz_client_open_tcp(&c, &W.loop, knd_ingress_port(W.ing));
    knd_fuzz_client_send_pieces(&c, send, send_len,
                                raw_mode ? 1 + (flags >> 7) * 2 : 1 + (flags >> 6));
    if (flags & 0x08)
        knd_fuzz_client_shutdown(&c);
    if (linger)
        knd_fuzz_linger(&W.loop, KND_FUZZ_LINGER_MS);
    if (getenv("KND_FUZZ_VERBOSE")) /* replaying an input: what came back */
        fprintf(stderr, "--- %zu bytes back:\n%.*s\n", c.in.len, (int)c.in.len, c.in.p);
    knd_fuzz_client_close(&c);
    knd_fuzz_settle(&W.loop);

    /* The client is gone: nothing of its may still hold a slot or wait in a queue (the
     * autoscaler would count it as load for good). */
    for (size_t i = 0; i < 3; i++) {
        const knd_endpoint_t *ep = W.eps[i];
        if (ep->inflight != 0 || ep->rev->inflight != 0 || ep->rev->queued != 0) {
            fprintf(stderr, "fuzz_ingress: %s: %d in flight, %zu queued after the client left\n",
                    ep->id, ep->inflight, ep->rev->queued);
            abort();
        }
    }
    W.raw_resp = (const uint8_t *)knd_fuzz_ok_response; /* the input's bytes go away now */
    W.raw_resp_len = sizeof(knd_fuzz_ok_response) - 1;
    knd_fuzz_health("echo.default.example.com");
    knd_fuzz_health("cc1.default.example.com");
    return 0;
}
