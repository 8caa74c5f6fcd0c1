/*
 * test_knd_http_server.c - knd_http_server against knd_http_client and against raw libuv TCP
 * sockets (when a test needs exact bytes on the wire), all on 127.0.0.1 port 0 in one loop.
 *
 * Each test owns a fixture: a uv_loop_t, a server whose handler picks its behaviour from the URL
 * (see test_srv_on_request), and a tick timer so uv_run(UV_RUN_ONCE) keeps returning while a test
 * waits for a condition. Teardown closes the server, waits for its done callback, drains the loop
 * and requires uv_loop_close() == 0; ASan checks that nothing leaked.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "knd_buf.h"
#include "knd_err.h"
#include "knd_http_client.h"
#include "knd_http_server.h"

typedef struct fx_s fx_t;

/* A raw TCP client: sends exact bytes, collects everything until EOF. */
typedef struct {
    fx_t *fx;
    uv_tcp_t tcp;
    uv_connect_t creq;
    knd_buf_t out;  /* sent once connected */
    knd_buf_t in;   /* everything received */
    bool connected, eof, closed;
    int read_err;   /* a read error other than EOF (e.g. ECONNRESET) */
} raw_t;

typedef struct {
    uv_write_t w;
    uv_buf_t buf;
    char data[];
} raw_wreq_t;

/* A knd_http_client with everything its callbacks reported. */
typedef struct {
    knd_http_client_t *c;
    int connected; /* 1, or the negative connect status */
    int status, heads, body_calls, done, errors, err_status;
    char te[32], conn[32], clen[32];
    knd_buf_t body;
} cl_t;

struct fx_s {
    uv_loop_t loop;
    uv_timer_t tick;
    knd_http_server_t *srv;
    int port;
    bool srv_done;
    int requests, aborts, body_ends;
    char urls[8][64];
    knd_buf_t body;            /* request body bytes the handler received */
    knd_http_req_t *held;      /* "/hang": left unanswered */
    uv_timer_t delay;          /* "/delay": answered later */
    knd_http_req_t *delayed;
    knd_http_req_t *later;     /* "/later": head sent, body when the delay timer fires */
    int delays_answered;
    int hello_after_delay;     /* delays answered when "/hello" arrived */
};

/* ------------------------------------------------------------------ waiting */

/* Runs the loop until expr holds, failing the test after 5 s. */
#define WAIT_FOR(fx, expr)                                                                        \
    do {                                                                                          \
        uv_update_time(&(fx)->loop);                                                              \
        uint64_t wait_deadline_ = uv_now(&(fx)->loop) + 5000;                                     \
        while (!(expr) && uv_now(&(fx)->loop) < wait_deadline_)                                   \
            uv_run(&(fx)->loop, UV_RUN_ONCE);                                                     \
        if (!(expr))                                                                              \
            fail_msg("timed out waiting for %s", #expr);                                          \
    } while (0)

/* Runs the loop until expr holds or ms pass, without failing: for tests that must clean up
 * before they assert. */
#define WAIT_UPTO(fx, expr, ms)                                                                   \
    do {                                                                                          \
        uv_update_time(&(fx)->loop);                                                              \
        uint64_t wait_deadline_ = uv_now(&(fx)->loop) + (ms);                                     \
        while (!(expr) && uv_now(&(fx)->loop) < wait_deadline_)                                   \
            uv_run(&(fx)->loop, UV_RUN_ONCE);                                                     \
    } while (0)

/* Lets the loop run for ms, for "nothing happens" checks. */
static void test_fx_spin(fx_t *fx, uint64_t ms)
{
    uv_update_time(&fx->loop);
    uint64_t deadline = uv_now(&fx->loop) + ms;
    while (uv_now(&fx->loop) < deadline)
        uv_run(&fx->loop, UV_RUN_ONCE);
}

/* ------------------------------------------------------------------ raw client */

static void test_raw_closed(uv_handle_t *h)
{
    raw_t *raw = h->data;
    raw->closed = true;
}

static void test_raw_close(raw_t *raw)
{
    if (!uv_is_closing((uv_handle_t *)&raw->tcp))
        uv_close((uv_handle_t *)&raw->tcp, test_raw_closed);
}

static void test_raw_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = malloc(suggested);
    buf->len = suggested;
}

static void test_raw_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    raw_t *raw = s->data;
    if (nread > 0)
        knd_buf_append(&raw->in, buf->base, (size_t)nread);
    free(buf->base);
    if (nread >= 0)
        return;
    raw->eof = true;
    if (nread != UV_EOF)
        raw->read_err = (int)nread;
    test_raw_close(raw);
}

static void test_raw_written(uv_write_t *w, int status)
{
    (void)status; /* a server that closed early makes writes fail: the reads tell the story */
    free(w);
}

static void test_raw_send(raw_t *raw, const char *p, size_t n)
{
    raw_wreq_t *wr = malloc(sizeof(*wr) + n);
    memcpy(wr->data, p, n);
    wr->buf = uv_buf_init(wr->data, (unsigned)n);
    if (uv_write(&wr->w, (uv_stream_t *)&raw->tcp, &wr->buf, 1, test_raw_written) < 0)
        free(wr);
}

static void test_raw_connected(uv_connect_t *req, int status)
{
    raw_t *raw = req->data;
    assert_int_equal(status, 0);
    raw->connected = true;
    uv_read_start((uv_stream_t *)&raw->tcp, test_raw_alloc, test_raw_read);
    if (raw->out.len)
        test_raw_send(raw, raw->out.p, raw->out.len);
}

/* Connects to the fixture's server and sends n bytes of p once connected. */
static void test_raw_open(fx_t *fx, raw_t *raw, const char *p, size_t n)
{
    struct sockaddr_in sa;
    memset(raw, 0, sizeof(*raw));
    raw->fx = fx;
    knd_buf_init(&raw->in);
    knd_buf_init(&raw->out);
    knd_buf_append(&raw->out, p, n);
    uv_tcp_init(&fx->loop, &raw->tcp);
    raw->tcp.data = raw;
    raw->creq.data = raw;
    uv_ip4_addr("127.0.0.1", fx->port, &sa);
    assert_int_equal(uv_tcp_connect(&raw->creq, &raw->tcp, (struct sockaddr *)&sa,
                                    test_raw_connected), 0);
}

static void test_raw_free(raw_t *raw)
{
    knd_buf_free(&raw->in);
    knd_buf_free(&raw->out);
}

static const char *test_raw_text(const raw_t *raw)
{
    return knd_buf_cstr(&raw->in);
}

static int test_count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* ------------------------------------------------------------------ knd_http_client */

static void test_cl_on_connect(knd_http_client_t *c, int status)
{
    cl_t *cl = knd_http_client_data(c);
    cl->connected = status < 0 ? status : 1;
}

static void test_cl_copy(char *dst, size_t n, const char *v)
{
    snprintf(dst, n, "%s", v ? v : "");
}

static void test_cl_on_head(knd_http_client_t *c, const knd_http_head_t *h)
{
    cl_t *cl = knd_http_client_data(c);
    cl->heads++;
    cl->status = h->status;
    test_cl_copy(cl->te, sizeof(cl->te), knd_http_head_get(h, "Transfer-Encoding"));
    test_cl_copy(cl->conn, sizeof(cl->conn), knd_http_head_get(h, "Connection"));
    test_cl_copy(cl->clen, sizeof(cl->clen), knd_http_head_get(h, "Content-Length"));
}

static void test_cl_on_body(knd_http_client_t *c, const char *p, size_t n)
{
    cl_t *cl = knd_http_client_data(c);
    cl->body_calls++;
    knd_buf_append(&cl->body, p, n);
}

static void test_cl_on_done(knd_http_client_t *c)
{
    cl_t *cl = knd_http_client_data(c);
    cl->done++;
}

static void test_cl_on_error(knd_http_client_t *c, int status)
{
    cl_t *cl = knd_http_client_data(c);
    cl->errors++;
    cl->err_status = status;
}

static const knd_http_client_cbs_t test_cl_cbs = {
    .on_connect = test_cl_on_connect,
    .on_head = test_cl_on_head,
    .on_body = test_cl_on_body,
    .on_done = test_cl_on_done,
    .on_error = test_cl_on_error,
};

static void test_cl_open(fx_t *fx, cl_t *cl)
{
    memset(cl, 0, sizeof(*cl));
    knd_buf_init(&cl->body);
    cl->c = knd_http_client_connect(&fx->loop, fx->port, &test_cl_cbs, cl);
    WAIT_FOR(fx, cl->connected != 0);
    assert_int_equal(cl->connected, 1);
}

/* Starts an exchange: forgets the previous response and writes the request. */
static void test_cl_send(cl_t *cl, bool head_request, const char *req)
{
    cl->status = cl->heads = cl->body_calls = cl->done = 0;
    knd_buf_reset(&cl->body);
    knd_http_client_begin(cl->c, head_request);
    knd_http_client_write(cl->c, req, strlen(req), NULL, 0, NULL, 0);
}

static void test_cl_close(cl_t *cl)
{
    knd_http_client_close(cl->c);
    knd_buf_free(&cl->body);
}

/* ------------------------------------------------------------------ the server's handler */

static void test_srv_body(knd_http_req_t *r, const char *p, size_t n)
{
    fx_t *fx = r->data;
    knd_buf_append(&fx->body, p, n);
}

/* "/echo": answers with the body it received, once it is complete. */
static void test_srv_echo_end(knd_http_req_t *r)
{
    fx_t *fx = r->data;
    fx->body_ends++;
    knd_http_resp_simple(r, 200, "application/octet-stream", knd_buf_cstr(&fx->body),
                         fx->body.len);
}

static void test_srv_abort(knd_http_req_t *r)
{
    fx_t *fx = r->data;
    fx->aborts++;
    if (fx->held == r)
        fx->held = NULL;
    if (fx->delayed == r)
        fx->delayed = NULL;
}

static void test_srv_delay_fire(uv_timer_t *t)
{
    fx_t *fx = t->data;
    if (fx->later) {
        knd_http_req_t *l = fx->later;
        fx->later = NULL;
        knd_http_resp_body(l, "delayed", 7);
        knd_http_resp_end(l);
        return;
    }
    knd_http_req_t *r = fx->delayed;
    fx->delayed = NULL;
    if (r == NULL)
        return;
    fx->delays_answered++;
    knd_http_resp_simple(r, 200, "text/plain", "delayed", 7);
}

static void test_srv_on_request(knd_http_req_t *r, void *data)
{
    fx_t *fx = data;
    const char *url = knd_http_head_url(&r->head);
    if (fx->requests < 8)
        snprintf(fx->urls[fx->requests], sizeof(fx->urls[0]), "%s", url);
    fx->requests++;
    r->data = fx;
    r->on_abort = test_srv_abort;
    if (strcmp(url, "/hello") == 0) {
        fx->hello_after_delay = fx->delays_answered;
        knd_http_resp_head(r, 200, "Content-Type: text/plain\r\nX-Test: yes\r\n", 11);
        knd_http_resp_body(r, "hello world", 11); /* dropped for HEAD */
        knd_http_resp_end(r);
    } else if (strcmp(url, "/chunked") == 0) {
        knd_http_resp_head(r, 200, NULL, -1);
        knd_http_resp_body(r, "first,", 6);
        knd_http_resp_body(r, "", 0); /* must not end the chunked body early */
        knd_http_resp_body(r, "second,", 7);
        knd_http_resp_body(r, "third", 5);
        knd_http_resp_end(r);
    } else if (strcmp(url, "/echo") == 0) {
        r->on_body = test_srv_body;
        r->on_body_end = test_srv_echo_end;
    } else if (strcmp(url, "/early") == 0) {
        r->on_body = test_srv_body; /* must not be called after the early response */
        knd_http_resp_simple(r, 413, "text/plain", "too big", 7);
    } else if (strcmp(url, "/hang") == 0) {
        r->on_body = test_srv_body;
        fx->held = r;
    } else if (strcmp(url, "/header") == 0) {
        const char *v = knd_http_head_get(&r->head, "X-Only-First");
        knd_http_resp_simple(r, 200, "text/plain", v ? v : "none", strlen(v ? v : "none"));
    } else if (strcmp(url, "/later") == 0 || strcmp(url, "/later-chunked") == 0) {
        /* the head now, the body when /delay's timer fires */
        knd_http_resp_head(r, 200, NULL, strcmp(url, "/later") == 0 ? 7 : -1);
        fx->later = r;
        uv_timer_start(&fx->delay, test_srv_delay_fire, 50, 0);
    } else if (strcmp(url, "/delay") == 0) {
        fx->delayed = r;
        uv_timer_start(&fx->delay, test_srv_delay_fire, 30, 0);
    } else {
        knd_http_resp_simple(r, 404, "text/plain", "nope", 4);
    }
}

/* ------------------------------------------------------------------ fixture */

static void test_fx_tick(uv_timer_t *t)
{
    (void)t;
}

static void test_fx_srv_done(void *data)
{
    fx_t *fx = data;
    fx->srv_done = true;
}

static void test_fx_listen(fx_t *fx, const knd_http_limits_t *limits)
{
    knd_err_t err;
    memset(&err, 0, sizeof(err));
    if (knd_http_server_listen_tcp(&fx->loop, "127.0.0.1", 0, limits, test_srv_on_request, fx,
                                   &fx->srv, &err) < 0)
        fail_msg("listen: %s", err.msg);
    fx->port = knd_http_server_port(fx->srv);
    assert_true(fx->port > 0);
}

static int test_fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    uv_timer_init(&fx->loop, &fx->tick);
    uv_timer_start(&fx->tick, test_fx_tick, 10, 10);
    uv_timer_init(&fx->loop, &fx->delay);
    fx->delay.data = fx;
    knd_buf_init(&fx->body);
    test_fx_listen(fx, NULL);
    *state = fx;
    return 0;
}

static void test_fx_count_open(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h)) {
        (*(int *)arg)++;
        uv_close(h, NULL);
    }
}

static int test_fx_teardown(void **state)
{
    fx_t *fx = *state;
    if (fx->srv && !fx->srv_done) {
        knd_http_server_close(fx->srv, test_fx_srv_done, fx);
        WAIT_FOR(fx, fx->srv_done);
    }
    uv_close((uv_handle_t *)&fx->tick, NULL);
    uv_close((uv_handle_t *)&fx->delay, NULL);
    uv_run(&fx->loop, UV_RUN_NOWAIT);
    int left = 0; /* handles a test forgot (or a failed test left behind) */
    uv_walk(&fx->loop, test_fx_count_open, &left);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(left, 0);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    knd_buf_free(&fx->body);
    free(fx);
    return 0;
}

/* Replaces the fixture's server with one using other limits. */
static void test_fx_relisten(fx_t *fx, const knd_http_limits_t *limits)
{
    knd_http_server_close(fx->srv, test_fx_srv_done, fx);
    WAIT_FOR(fx, fx->srv_done);
    fx->srv_done = false;
    test_fx_listen(fx, limits);
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: test\r\n\r\n"

/* ------------------------------------------------------------------ tests: client + server */

static void test_get_content_length(void **state)
{
    fx_t *fx = *state;
    cl_t cl;
    test_cl_open(fx, &cl);
    test_cl_send(&cl, false, GET("/hello"));
    WAIT_FOR(fx, cl.done == 1);
    assert_int_equal(cl.status, 200);
    assert_int_equal(cl.heads, 1);
    assert_string_equal(cl.clen, "11");
    assert_string_equal(cl.te, "");
    assert_string_equal(cl.conn, ""); /* HTTP/1.1 keeps the connection without saying so */
    assert_string_equal(knd_buf_cstr(&cl.body), "hello world");
    assert_int_equal(cl.errors, 0);
    assert_true(knd_http_client_reusable(cl.c));
    assert_int_equal(fx->requests, 1);
    assert_string_equal(fx->urls[0], "/hello");
    assert_int_equal(knd_http_server_conns(fx->srv), 1);
    test_cl_close(&cl);
    WAIT_FOR(fx, knd_http_server_conns(fx->srv) == 0);
}

static void test_chunked_response(void **state)
{
    fx_t *fx = *state;
    cl_t cl;
    test_cl_open(fx, &cl);
    test_cl_send(&cl, false, GET("/chunked"));
    WAIT_FOR(fx, cl.done == 1);
    assert_int_equal(cl.status, 200);
    assert_string_equal(cl.te, "chunked");
    assert_string_equal(cl.clen, "");
    assert_string_equal(knd_buf_cstr(&cl.body), "first,second,third");
    assert_true(cl.body_calls >= 3); /* one per chunk at least */
    assert_true(knd_http_client_reusable(cl.c));
    test_cl_close(&cl);
}

/* The same client connection carries several exchanges in turn. */
static void test_keep_alive_sequential(void **state)
{
    fx_t *fx = *state;
    cl_t cl;
    test_cl_open(fx, &cl);
    test_cl_send(&cl, false, GET("/hello"));
    WAIT_FOR(fx, cl.done == 1);
    assert_true(knd_http_client_reusable(cl.c));
    test_cl_send(&cl, false, GET("/chunked"));
    WAIT_FOR(fx, cl.done == 1);
    assert_string_equal(knd_buf_cstr(&cl.body), "first,second,third");
    assert_true(knd_http_client_reusable(cl.c));
    test_cl_send(&cl, false, GET("/missing"));
    WAIT_FOR(fx, cl.done == 1);
    assert_int_equal(cl.status, 404);
    assert_string_equal(knd_buf_cstr(&cl.body), "nope");
    assert_true(knd_http_client_reusable(cl.c));
    assert_int_equal(fx->requests, 3);
    assert_int_equal(knd_http_server_conns(fx->srv), 1); /* one connection for all three */
    assert_int_equal(cl.errors, 0);
    test_cl_close(&cl);
}

/* Two requests in one write: the second waits for the first's (delayed) response. */
static void test_pipelined_in_order(void **state)
{
    fx_t *fx = *state;
    raw_t raw;
    const char *two = GET("/delay") GET("/hello") GET("/chunked");
    test_raw_open(fx, &raw, two, strlen(two));
    WAIT_FOR(fx, test_count(test_raw_text(&raw), "HTTP/1.1 200 OK") == 3 &&
                     strstr(test_raw_text(&raw), "0\r\n\r\n") != NULL);
    const char *t = test_raw_text(&raw);
    const char *a = strstr(t, "delayed"), *b = strstr(t, "hello world"), *c = strstr(t, "third");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_true(a < b && b < c);
    assert_int_equal(fx->requests, 3);
    assert_string_equal(fx->urls[0], "/delay");
    assert_string_equal(fx->urls[1], "/hello");
    assert_string_equal(fx->urls[2], "/chunked");
    assert_int_equal(fx->hello_after_delay, 1); /* not handed over before /delay answered */
    assert_false(raw.eof);
    test_raw_close(&raw);
    WAIT_FOR(fx, raw.closed && knd_http_server_conns(fx->srv) == 0);
    test_raw_free(&raw);
}

static void test_post_content_length(void **state)
{
    fx_t *fx = *state;
    cl_t cl;
    test_cl_open(fx, &cl);
    test_cl_send(&cl, false,
                 "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\n\r\nhello");
    WAIT_FOR(fx, fx->body.len == 5);
    assert_int_equal(fx->body_ends, 0);
    knd_http_client_write(cl.c, " world", 6, NULL, 0, NULL, 0);
    WAIT_FOR(fx, cl.done == 1);
    assert_int_equal(fx->body_ends, 1);
    assert_string_equal(knd_buf_cstr(&fx->body), "hello world");
    assert_int_equal(cl.status, 200);
    assert_string_equal(knd_buf_cstr(&cl.body), "hello world");
    assert_true(knd_http_client_reusable(cl.c));
    /* the connection is in sync for the next request */
    knd_buf_reset(&fx->body);
    test_cl_send(&cl, false, "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n");
    WAIT_FOR(fx, cl.done == 1);
    assert_int_equal(fx->body_ends, 2);
    assert_int_equal(cl.body.len, 0);
    test_cl_close(&cl);
}

static void test_post_chunked(void **state)
{
    fx_t *fx = *state;
    cl_t cl;
    test_cl_open(fx, &cl);
    test_cl_send(&cl, false,
                 "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5\r\nhello\r\n");
    WAIT_FOR(fx, fx->body.len == 5);
    knd_http_client_write(cl.c, "6;ext=1\r\n world\r\n", 17, "1\r\n", 3, "!\r\n", 3);
    WAIT_FOR(fx, fx->body.len == 12);
    assert_int_equal(fx->body_ends, 0);
    knd_http_client_write(cl.c, "0\r\n\r\n", 5, NULL, 0, NULL, 0);
    WAIT_FOR(fx, cl.done == 1);
    assert_int_equal(fx->body_ends, 1);
    assert_string_equal(knd_buf_cstr(&fx->body), "hello world!");
    assert_string_equal(knd_buf_cstr(&cl.body), "hello world!");
    assert_true(knd_http_client_reusable(cl.c));
    test_cl_close(&cl);
}

/* A handler that answers before the body (413-style): the rest of the body is not read and the
 * connection closes once the response is out. */
static void test_early_response_closes(void **state)
{
    fx_t *fx = *state;
    raw_t raw;
    knd_buf_t req;
    knd_buf_init(&req);
    knd_buf_puts(&req, "POST /early HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n\r\n");
    for (int i = 0; i < 1000; i++)
        knd_buf_append(&req, "x", 1);
    test_raw_open(fx, &raw, req.p, req.len);
    knd_buf_free(&req);
    WAIT_FOR(fx, raw.closed);
    const char *t = test_raw_text(&raw);
    assert_int_equal(strncmp(t, "HTTP/1.1 413 Payload Too Large\r\n", 32), 0);
    assert_non_null(strstr(t, "\r\n\r\ntoo big"));
    assert_int_equal(fx->body.len, 0); /* on_body is not called after the response ended */
    assert_int_equal(fx->aborts, 0);   /* the response ended: nothing to abort */
    WAIT_FOR(fx, knd_http_server_conns(fx->srv) == 0);
    test_raw_free(&raw);
}

static void test_malformed_request_400(void **state)
{
    fx_t *fx = *state;
    static const char *const bad[] = {
        "GARBAGE\r\n\r\n",
        "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        raw_t raw;
        test_raw_open(fx, &raw, bad[i], strlen(bad[i]));
        WAIT_FOR(fx, raw.closed);
        const char *t = test_raw_text(&raw);
        if (strncmp(t, "HTTP/1.1 400 Bad Request\r\n", 26) != 0)
            fail_msg("request %zu: got %s", i, t);
        assert_non_null(strstr(t, "Connection: close\r\n"));
        test_raw_free(&raw);
    }
    assert_int_equal(fx->requests, 0);
    WAIT_FOR(fx, knd_http_server_conns(fx->srv) == 0);
}

static void test_head_over_64k_431(void **state)
{
    fx_t *fx = *state;
    knd_buf_t req;
    raw_t raw;
    knd_buf_init(&req);
    knd_buf_puts(&req, "GET /hello HTTP/1.1\r\nHost: test\r\nX-Big: ");
    for (int i = 0; i < 70 * 1024; i++)
        knd_buf_append(&req, "b", 1);
    knd_buf_puts(&req, "\r\n\r\n");
    test_raw_open(fx, &raw, req.p, req.len);
    WAIT_FOR(fx, raw.closed);
    assert_int_equal(strncmp(test_raw_text(&raw), "HTTP/1.1 431 ", 13), 0);
    assert_non_null(strstr(test_raw_text(&raw), "Connection: close\r\n"));
    test_raw_free(&raw);

    knd_buf_reset(&req); /* and too many fields, each small */
    knd_buf_puts(&req, "GET /hello HTTP/1.1\r\n");
    for (int i = 0; i < KND_HTTP_MAX_HEADERS + 5; i++)
        knd_buf_printf(&req, "X-%d: %d\r\n", i, i);
    knd_buf_puts(&req, "\r\n");
    test_raw_open(fx, &raw, req.p, req.len);
    WAIT_FOR(fx, raw.closed);
    assert_int_equal(strncmp(test_raw_text(&raw), "HTTP/1.1 431 ", 13), 0);
    test_raw_free(&raw);
    knd_buf_free(&req);
    assert_int_equal(fx->requests, 0);
}

/* HEAD: the length is announced, no body follows, and the connection stays in sync. */
static void test_head_request(void **state)
{
    fx_t *fx = *state;
    cl_t cl;
    test_cl_open(fx, &cl);
    test_cl_send(&cl, true, "HEAD /hello HTTP/1.1\r\nHost: test\r\n\r\n");
    WAIT_FOR(fx, cl.done == 1);
    assert_int_equal(cl.status, 200);
    assert_string_equal(cl.clen, "11");
    assert_int_equal(cl.body.len, 0);
    assert_int_equal(cl.body_calls, 0);
    assert_true(knd_http_client_reusable(cl.c));
    test_cl_send(&cl, false, GET("/hello"));
    WAIT_FOR(fx, cl.done == 1);
    assert_string_equal(knd_buf_cstr(&cl.body), "hello world");
    assert_int_equal(cl.errors, 0);
    test_cl_close(&cl);

    /* on the wire: the head ends the message */
    raw_t raw;
    const char *req = "HEAD /chunked HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
    test_raw_open(fx, &raw, req, strlen(req));
    WAIT_FOR(fx, raw.closed);
    const char *t = test_raw_text(&raw);
    assert_int_equal(strncmp(t, "HTTP/1.1 200 OK\r\n", 17), 0);
    assert_non_null(strstr(t, "Connection: close\r\n"));
    size_t n = strlen(t);
    assert_true(n >= 4 && strcmp(t + n - 4, "\r\n\r\n") == 0);
    assert_null(strstr(t, "first"));
    test_raw_free(&raw);
}

static void test_http10(void **state)
{
    fx_t *fx = *state;
    raw_t raw;
    const char *req = "GET /hello HTTP/1.0\r\n\r\n";
    test_raw_open(fx, &raw, req, strlen(req));
    WAIT_FOR(fx, raw.closed);
    const char *t = test_raw_text(&raw);
    assert_int_equal(strncmp(t, "HTTP/1.1 200 OK\r\n", 17), 0);
    assert_non_null(strstr(t, "Connection: close\r\n"));
    assert_non_null(strstr(t, "\r\n\r\nhello world"));
    test_raw_free(&raw);

    /* no chunked encoding for HTTP/1.0: the body is delimited by the close */
    req = "GET /chunked HTTP/1.0\r\n\r\n";
    test_raw_open(fx, &raw, req, strlen(req));
    WAIT_FOR(fx, raw.closed);
    t = test_raw_text(&raw);
    assert_null(strstr(t, "Transfer-Encoding"));
    assert_non_null(strstr(t, "Connection: close\r\n"));
    const char *body = strstr(t, "\r\n\r\n");
    assert_non_null(body);
    assert_string_equal(body + 4, "first,second,third");
    test_raw_free(&raw);

    /* HTTP/1.0 asking for keep-alive gets it, and says so */
    req = "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    test_raw_open(fx, &raw, req, strlen(req));
    WAIT_FOR(fx, strstr(test_raw_text(&raw), "hello world") != NULL);
    assert_non_null(strstr(test_raw_text(&raw), "Connection: keep-alive\r\n"));
    test_fx_spin(fx, 50);
    assert_false(raw.eof);
    test_raw_send(&raw, req, strlen(req));
    WAIT_FOR(fx, test_count(test_raw_text(&raw), "hello world") == 2);
    test_raw_close(&raw);
    WAIT_FOR(fx, raw.closed);
    test_raw_free(&raw);
    assert_int_equal(fx->requests, 4);
}

/* The client goes away in the middle of the body: the handler hears on_abort. */
static void test_abort_mid_body(void **state)
{
    fx_t *fx = *state;
    raw_t raw;
    const char *req = "POST /hang HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\nabc";
    test_raw_open(fx, &raw, req, strlen(req));
    WAIT_FOR(fx, fx->requests == 1 && fx->body.len == 3);
    assert_non_null(fx->held);
    assert_int_equal(fx->aborts, 0);
    test_raw_close(&raw);
    WAIT_FOR(fx, fx->aborts == 1);
    assert_null(fx->held);
    WAIT_FOR(fx, raw.closed && knd_http_server_conns(fx->srv) == 0);
    test_raw_free(&raw);
}

/* A head with a known body length waits for its first body bytes (one write, as nginx's
 * postpone_output); a chunked head goes at once, since a stream may take its time. */
static void test_fixed_length_head_waits_for_its_body(void **state)
{
    fx_t *fx = *state;
    raw_t raw;
    const char *req = "GET /later HTTP/1.1\r\nHost: test\r\n\r\n";
    test_raw_open(fx, &raw, req, strlen(req));
    WAIT_FOR(fx, fx->later != NULL);
    test_fx_spin(fx, 20);
    assert_int_equal(raw.in.len, 0); /* held: the body has not come */
    WAIT_FOR(fx, strstr(test_raw_text(&raw), "delayed") != NULL);
    assert_non_null(strstr(test_raw_text(&raw), "Content-Length: 7\r\n\r\ndelayed"));
    test_raw_close(&raw);
    WAIT_FOR(fx, raw.closed);
    test_raw_free(&raw);

    req = "GET /later-chunked HTTP/1.1\r\nHost: test\r\n\r\n";
    test_raw_open(fx, &raw, req, strlen(req));
    WAIT_FOR(fx, fx->later != NULL);
    WAIT_UPTO(fx, strstr(test_raw_text(&raw), "\r\n\r\n") != NULL, 40);
    /* the body is still to come, the head is out */
    assert_non_null(fx->later);
    assert_non_null(strstr(test_raw_text(&raw), "Transfer-Encoding: chunked\r\n"));
    WAIT_FOR(fx, strstr(test_raw_text(&raw), "0\r\n\r\n") != NULL);
    assert_non_null(strstr(test_raw_text(&raw), "7\r\ndelayed\r\n"));
    test_raw_close(&raw);
    WAIT_FOR(fx, raw.closed);
    test_raw_free(&raw);
}

/* A head that does not arrive within header_timeout_ms gets 408 and the connection closes. */
static void test_header_timeout_408(void **state)
{
    fx_t *fx = *state;
    knd_http_limits_t lim = {.header_timeout_ms = 100, .idle_timeout_ms = 0};
    test_fx_relisten(fx, &lim);
    raw_t raw;
    const char *part = "GET /hello HTTP/1.1\r\nHost: te";
    uv_update_time(&fx->loop);
    uint64_t t0 = uv_now(&fx->loop);
    test_raw_open(fx, &raw, part, strlen(part));
    WAIT_FOR(fx, raw.closed);
    uint64_t took = uv_now(&fx->loop) - t0;
    assert_int_equal(strncmp(test_raw_text(&raw), "HTTP/1.1 408 Request Timeout\r\n", 30), 0);
    assert_true(took >= 90);
    assert_true(took < 2000);
    assert_int_equal(fx->requests, 0);
    test_raw_free(&raw);

    /* a connection that sends nothing at all is dropped as well */
    test_raw_open(fx, &raw, "", 0);
    WAIT_FOR(fx, raw.closed);
    test_raw_free(&raw);
    WAIT_FOR(fx, knd_http_server_conns(fx->srv) == 0);
}

/* The server closes an idle keep-alive connection; the client reports it with on_error(UV_EOF)
 * ("broke before on_done (or while idle)", knd_http_client.h), so a pool drops it. */
static void test_idle_timeout(void **state)
{
    fx_t *fx = *state;
    knd_http_limits_t lim = {.header_timeout_ms = 0, .idle_timeout_ms = 100};
    test_fx_relisten(fx, &lim);
    cl_t cl;
    test_cl_open(fx, &cl);
    test_cl_send(&cl, false, GET("/hello"));
    WAIT_FOR(fx, cl.done == 1);
    uv_update_time(&fx->loop);
    uint64_t t0 = uv_now(&fx->loop);
    /* the server closes the idle connection */
    WAIT_FOR(fx, knd_http_server_conns(fx->srv) == 0);
    assert_true(uv_now(&fx->loop) - t0 >= 80);
    WAIT_UPTO(fx, cl.errors == 1, 500);
    bool reusable = knd_http_client_reusable(cl.c);
    test_cl_close(&cl);
    assert_false(reusable);
    assert_int_equal(cl.errors, 1);
    assert_int_equal(cl.err_status, UV_EOF);
}

/* The timeout is a lazy deadline: after a request, the keep-alive idle time (longer than the
 * head timeout armed when the request began) applies - the timer firing at the old head
 * deadline must sleep again, not close. */
static void test_idle_deadline_outlives_the_head_deadline(void **state)
{
    fx_t *fx = *state;
    knd_http_limits_t lim = {.header_timeout_ms = 100, .idle_timeout_ms = 400};
    test_fx_relisten(fx, &lim);
    raw_t raw;
    test_raw_open(fx, &raw, GET("/hello"), strlen(GET("/hello")));
    WAIT_FOR(fx, strstr(test_raw_text(&raw), "hello world") != NULL);
    uv_update_time(&fx->loop);
    uint64_t t0 = uv_now(&fx->loop);
    test_fx_spin(fx, 250);
    assert_false(raw.closed);
    assert_int_equal(knd_http_server_conns(fx->srv), 1);
    WAIT_FOR(fx, raw.closed);
    uint64_t took = uv_now(&fx->loop) - t0;
    assert_true(took >= 380);
    assert_true(took < 2000);
    assert_null(strstr(test_raw_text(&raw), "408")); /* idle: closed without a response */
    test_raw_free(&raw);
}

/* ... and a head started on a kept-alive connection still gets the short head deadline. */
static void test_head_deadline_after_a_keep_alive_request(void **state)
{
    fx_t *fx = *state;
    knd_http_limits_t lim = {.header_timeout_ms = 100, .idle_timeout_ms = 5000};
    test_fx_relisten(fx, &lim);
    raw_t raw;
    test_raw_open(fx, &raw, GET("/hello"), strlen(GET("/hello")));
    WAIT_FOR(fx, strstr(test_raw_text(&raw), "hello world") != NULL);
    test_fx_spin(fx, 50);
    const char *part = "GET /hello HTTP/1.1\r\nHost: te";
    uv_update_time(&fx->loop);
    uint64_t t0 = uv_now(&fx->loop);
    test_raw_send(&raw, part, strlen(part));
    WAIT_FOR(fx, raw.closed);
    uint64_t took = uv_now(&fx->loop) - t0;
    assert_non_null(strstr(test_raw_text(&raw), "HTTP/1.1 408 Request Timeout\r\n"));
    assert_true(took >= 90);
    assert_true(took < 1000);
    test_raw_free(&raw);
}

/* Requests are recycled: the second request on a connection sees only its own headers. */
static void test_recycled_request_has_only_its_own_headers(void **state)
{
    fx_t *fx = *state;
    raw_t raw;
    const char *two = "GET /header HTTP/1.1\r\nHost: test\r\nX-Only-First: yes\r\n\r\n"
                      GET("/header");
    test_raw_open(fx, &raw, two, strlen(two));
    WAIT_FOR(fx, test_count(test_raw_text(&raw), "HTTP/1.1 200 OK") == 2 &&
                     strstr(test_raw_text(&raw), "none") != NULL);
    const char *t = test_raw_text(&raw), *yes = strstr(t, "\r\n\r\nyes");
    assert_non_null(yes);
    assert_true(yes < strstr(t, "\r\n\r\nnone"));
    test_raw_close(&raw);
    WAIT_FOR(fx, raw.closed && knd_http_server_conns(fx->srv) == 0);
    test_raw_free(&raw);
}

static void test_server_close_idle_conn(void **state)
{
    fx_t *fx = *state;
    cl_t cl;
    test_cl_open(fx, &cl);
    test_cl_send(&cl, false, GET("/hello"));
    WAIT_FOR(fx, cl.done == 1);
    assert_int_equal(knd_http_server_conns(fx->srv), 1);
    knd_http_server_close(fx->srv, test_fx_srv_done, fx);
    WAIT_FOR(fx, fx->srv_done);
    fx->srv = NULL;
    WAIT_UPTO(fx, cl.errors == 1, 500);
    test_cl_close(&cl);
    assert_int_equal(cl.errors, 1);
}

/* Closing with a request in flight lets it finish (with Connection: close), then completes. */
static void test_server_close_active_request(void **state)
{
    fx_t *fx = *state;
    cl_t cl, late;
    test_cl_open(fx, &cl);
    test_cl_send(&cl, false, GET("/delay"));
    WAIT_FOR(fx, fx->delayed != NULL);
    knd_http_server_close(fx->srv, test_fx_srv_done, fx);
    uv_run(&fx->loop, UV_RUN_NOWAIT);
    assert_false(fx->srv_done);
    WAIT_FOR(fx, cl.done == 1);
    assert_string_equal(knd_buf_cstr(&cl.body), "delayed");
    assert_string_equal(cl.conn, "close");
    assert_false(knd_http_client_reusable(cl.c));
    WAIT_FOR(fx, fx->srv_done);
    fx->srv = NULL;
    test_cl_close(&cl);

    /* nobody listens any more */
    memset(&late, 0, sizeof(late));
    knd_buf_init(&late.body);
    late.c = knd_http_client_connect(&fx->loop, fx->port, &test_cl_cbs, &late);
    WAIT_FOR(fx, late.connected != 0);
    assert_int_equal(late.connected, UV_ECONNREFUSED);
    test_cl_close(&late);
}

/* Expect: 100-continue gets the interim response; the client skips it and sees the final one. */
static void test_expect_continue(void **state)
{
    fx_t *fx = *state;
    raw_t raw;
    const char *req = "POST /echo HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\n"
                      "Content-Length: 3\r\n\r\n";
    test_raw_open(fx, &raw, req, strlen(req));
    WAIT_FOR(fx, strstr(test_raw_text(&raw), "HTTP/1.1 100 Continue\r\n\r\n") != NULL);
    assert_null(strstr(test_raw_text(&raw), "200"));
    test_raw_send(&raw, "abc", 3);
    WAIT_FOR(fx, strstr(test_raw_text(&raw), "\r\n\r\nabc") != NULL);
    assert_non_null(strstr(test_raw_text(&raw), "HTTP/1.1 200 OK\r\n"));
    test_raw_close(&raw);
    WAIT_FOR(fx, raw.closed);
    test_raw_free(&raw);

    knd_buf_reset(&fx->body);
    cl_t cl;
    test_cl_open(fx, &cl);
    test_cl_send(&cl, false, req);
    WAIT_FOR(fx, fx->requests == 2);
    test_fx_spin(fx, 20);
    knd_http_client_write(cl.c, "xyz", 3, NULL, 0, NULL, 0);
    WAIT_FOR(fx, cl.done == 1);
    assert_int_equal(cl.heads, 1);
    assert_int_equal(cl.status, 200);
    assert_string_equal(knd_buf_cstr(&cl.body), "xyz");
    assert_true(knd_http_client_reusable(cl.c));
    test_cl_close(&cl);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, test_fx_setup, test_fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_get_content_length),
        T(test_chunked_response),
        T(test_keep_alive_sequential),
        T(test_pipelined_in_order),
        T(test_post_content_length),
        T(test_post_chunked),
        T(test_early_response_closes),
        T(test_malformed_request_400),
        T(test_head_over_64k_431),
        T(test_head_request),
        T(test_http10),
        T(test_abort_mid_body),
    T(test_fixed_length_head_waits_for_its_body),
        T(test_header_timeout_408),
        T(test_idle_deadline_outlives_the_head_deadline),
        T(test_head_deadline_after_a_keep_alive_request),
        T(test_recycled_request_has_only_its_own_headers),
        T(test_idle_timeout),
        T(test_server_close_idle_conn),
        T(test_server_close_active_request),
        T(test_expect_continue),
    };
#undef T
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
