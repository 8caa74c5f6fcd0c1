/*
 * test_knd_ingress.c - the ingress end to end in one process and one loop: a knd_http_client
 * speaks to the ingress on 127.0.0.1 port 0, which routes by Host through the activator to an
 * upstream made with knd_http_server (also port 0) standing in for a revision's instance.
 *
 * Each test owns the fixture: loop, tick timer (keeps uv_run(UV_RUN_ONCE) returning while a test
 * waits), ingress, upstream, one revision "hello-00001" in "default" with one endpoint at the
 * upstream's port, and a table routing hello.default.example.com to it. Teardown closes both
 * servers, drops the revision and requires uv_loop_close() == 0; ASan checks for leaks.
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

#include "knd_alloc.h"
#include "knd_buf.h"
#include "knd_err.h"
#include "knd_http_client.h"
#include "knd_http_server.h"
#include "knd_ingress.h"

#define HOST "hello.default.example.com"

typedef struct fx_s fx_t;

typedef struct {
    knd_http_client_t *c;
    int connected;
    int status, heads, done, errors, interims;
    char link[64]; /* the Link header of the last interim response */
    bool head_after_ready; /* the response came after the endpoint turned ready */
    char x_up[32];
    knd_buf_t body;
    fx_t *fx;
} cl_t;

struct fx_s {
    uv_loop_t loop;
    uv_timer_t tick;
    uv_timer_t ready_timer;
    knd_ingress_t *ing;
    knd_http_server_t *up;
    int ing_port, up_port;
    bool ing_done, up_done, made_ready;
    knd_rev_t *rev;
    knd_endpoint_t *ep;
    int demands;
    /* what the upstream saw of the last request */
    int up_requests, up_body_ends;
    char up_url[128], up_host[128], up_rev[64], up_ns[64], up_xff[128], up_fwd[128];
    char up_proto[16], up_te[32], up_clen[32], up_conn[32];
    knd_buf_t up_body;
};

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

static void test_fx_spin(fx_t *fx, uint64_t ms)
{
    uv_update_time(&fx->loop);
    uint64_t deadline = uv_now(&fx->loop) + ms;
    while (uv_now(&fx->loop) < deadline)
        uv_run(&fx->loop, UV_RUN_ONCE);
}

static void test_copy(char *dst, size_t n, const char *v)
{
    snprintf(dst, n, "%s", v ? v : "");
}

/* ------------------------------------------------------------------ the upstream instance */

static void test_up_body(knd_http_req_t *r, const char *p, size_t n)
{
    fx_t *fx = r->data;
    knd_buf_append(&fx->up_body, p, n);
}

static void test_up_body_end(knd_http_req_t *r)
{
    fx_t *fx = r->data;
    char msg[64];
    int n = snprintf(msg, sizeof(msg), "got %zu", fx->up_body.len);
    fx->up_body_ends++;
    knd_http_resp_simple(r, 200, "text/plain", msg, (size_t)n);
}

static void test_up_on_request(knd_http_req_t *r, void *data)
{
    fx_t *fx = data;
    const knd_http_head_t *h = &r->head;
    fx->up_requests++;
    r->data = fx;
    test_copy(fx->up_url, sizeof(fx->up_url), knd_http_head_url(h));
    test_copy(fx->up_host, sizeof(fx->up_host), knd_http_head_get(h, "Host"));
    test_copy(fx->up_rev, sizeof(fx->up_rev), knd_http_head_get(h, "Knative-Serving-Revision"));
    test_copy(fx->up_ns, sizeof(fx->up_ns), knd_http_head_get(h, "Knative-Serving-Namespace"));
    test_copy(fx->up_xff, sizeof(fx->up_xff), knd_http_head_get(h, "X-Forwarded-For"));
    test_copy(fx->up_fwd, sizeof(fx->up_fwd), knd_http_head_get(h, "Forwarded"));
    test_copy(fx->up_proto, sizeof(fx->up_proto), knd_http_head_get(h, "X-Forwarded-Proto"));
    test_copy(fx->up_te, sizeof(fx->up_te), knd_http_head_get(h, "Transfer-Encoding"));
    test_copy(fx->up_clen, sizeof(fx->up_clen), knd_http_head_get(h, "Content-Length"));
    test_copy(fx->up_conn, sizeof(fx->up_conn), knd_http_head_get(h, "Connection"));
    knd_buf_reset(&fx->up_body);
    if (h->content_length > 0 || h->chunked) {
        r->on_body = test_up_body;
        r->on_body_end = test_up_body_end;
        return;
    }
    knd_http_resp_head(r, 200, "Content-Type: text/plain\r\nX-Up: yes\r\n", -1);
    knd_http_resp_body(r, "hello ", 6);
    knd_http_resp_body(r, "from upstream", 13);
    knd_http_resp_end(r);
}

/* ------------------------------------------------------------------ the client */

static void test_cl_on_connect(knd_http_client_t *c, int status)
{
    cl_t *cl = knd_http_client_data(c);
    cl->connected = status < 0 ? status : 1;
}

static void test_cl_on_head(knd_http_client_t *c, const knd_http_head_t *h)
{
    cl_t *cl = knd_http_client_data(c);
    cl->heads++;
    cl->status = h->status;
    cl->head_after_ready = cl->fx->made_ready;
    test_copy(cl->x_up, sizeof(cl->x_up), knd_http_head_get(h, "X-Up"));
}

static void test_cl_on_interim(knd_http_client_t *c, const knd_http_head_t *h)
{
    cl_t *cl = knd_http_client_data(c);
    cl->interims++;
    test_copy(cl->link, sizeof(cl->link), knd_http_head_get(h, "Link"));
    assert_null(knd_http_head_get(h, "X-Hop")); /* named by Connection: hop-by-hop */
}

static void test_cl_on_body(knd_http_client_t *c, const char *p, size_t n)
{
    cl_t *cl = knd_http_client_data(c);
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
    (void)status;
    cl->errors++;
}

static const knd_http_client_cbs_t test_cl_cbs = {
    .on_connect = test_cl_on_connect,
    .on_head = test_cl_on_head,
    .on_interim = test_cl_on_interim,
    .on_body = test_cl_on_body,
    .on_done = test_cl_on_done,
    .on_error = test_cl_on_error,
};

static void test_cl_open(fx_t *fx, cl_t *cl)
{
    memset(cl, 0, sizeof(*cl));
    cl->fx = fx;
    knd_buf_init(&cl->body);
    cl->c = knd_http_client_connect(&fx->loop, fx->ing_port, &test_cl_cbs, cl);
    WAIT_FOR(fx, cl->connected != 0);
    assert_int_equal(cl->connected, 1);
}

static void test_cl_send(cl_t *cl, const char *req, size_t n)
{
    cl->status = cl->heads = cl->done = 0;
    knd_buf_reset(&cl->body);
    knd_http_client_begin(cl->c, strncmp(req, "HEAD ", 5) == 0);
    knd_http_client_write(cl->c, req, n, NULL, 0, NULL, 0);
}

/* Opens cl and sends req; returns once the response is complete or the connection failed. */
static void test_cl_exchange(fx_t *fx, cl_t *cl, const char *req)
{
    test_cl_open(fx, cl);
    test_cl_send(cl, req, strlen(req));
    WAIT_FOR(fx, cl->done == 1 || cl->errors > 0);
}

static void test_cl_close(cl_t *cl)
{
    knd_http_client_close(cl->c);
    knd_buf_free(&cl->body);
}

/* ------------------------------------------------------------------ fixture */

static void test_fx_tick(uv_timer_t *t)
{
    (void)t;
}

static void test_fx_ing_done(void *data)
{
    ((fx_t *)data)->ing_done = true;
}

static void test_fx_up_done(void *data)
{
    ((fx_t *)data)->up_done = true;
}

static void test_fx_on_demand(knd_rev_t *rev, void *data)
{
    (void)rev;
    ((fx_t *)data)->demands++;
}

/* Routes host (100%) to rev in a new table installed in the ingress. */
static void test_fx_route(fx_t *fx, const char *host, knd_rev_t *rev)
{
    knd_route_table_t *t = knd_route_table_new();
    knd_rt_target_t target = {.rev = rev, .percent = 100, .tag = NULL};
    assert_int_equal(knd_route_table_add(t, host, "default", "hello", NULL, &target, 1), 0);
    knd_route_table_seal(t);
    knd_ingress_set_table(fx->ing, t);
}

static void test_fx_upstream(fx_t *fx, const knd_http_limits_t *limits)
{
    knd_err_t err;
    memset(&err, 0, sizeof(err));
    if (knd_http_server_listen_tcp(&fx->loop, "127.0.0.1", 0, limits, test_up_on_request, fx,
                                   &fx->up, &err) < 0)
        fail_msg("upstream: %s", err.msg);
    fx->up_port = knd_http_server_port(fx->up);
}

static int test_fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));
    knd_err_t err;
    memset(&err, 0, sizeof(err));
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    uv_timer_init(&fx->loop, &fx->tick);
    uv_timer_start(&fx->tick, test_fx_tick, 10, 10);
    uv_timer_init(&fx->loop, &fx->ready_timer);
    fx->ready_timer.data = fx;
    knd_buf_init(&fx->up_body);
    if (knd_ingress_start(&fx->loop, "127.0.0.1", 0, &fx->ing, &err) < 0)
        fail_msg("ingress: %s", err.msg);
    fx->ing_port = knd_ingress_port(fx->ing);
    assert_true(fx->ing_port > 0);
    test_fx_upstream(fx, NULL);
    knd_rev_limits_t lim = {.container_concurrency = 0, .timeout_ms = 0};
    fx->rev = knd_rev_new(&fx->loop, "default", "hello-00001", "hello", "hello", &lim);
    fx->rev->on_demand = test_fx_on_demand;
    fx->rev->demand_data = fx;
    fx->ep = knd_rev_endpoint_add(fx->rev, "hello-00001-1", fx->up_port);
    knd_endpoint_set_ready(fx->ep, true);
    test_fx_route(fx, HOST, fx->rev);
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
    knd_rev_release(fx->rev); /* the table keeps it until the ingress is gone */
    knd_ingress_close(fx->ing, test_fx_ing_done, fx);
    WAIT_FOR(fx, fx->ing_done);
    knd_http_server_close(fx->up, test_fx_up_done, fx);
    WAIT_FOR(fx, fx->up_done);
    uv_close((uv_handle_t *)&fx->tick, NULL);
    uv_close((uv_handle_t *)&fx->ready_timer, NULL);
    uv_run(&fx->loop, UV_RUN_NOWAIT);
    int left = 0;
    uv_walk(&fx->loop, test_fx_count_open, &left);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(left, 0);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    knd_buf_free(&fx->up_body);
    free(fx);
    return 0;
}

/* ------------------------------------------------------------------ tests */

static void test_proxy_with_knative_headers(void **state)
{
    fx_t *fx = *state;
    cl_t cl;
    static const char req[] = "GET /hello?x=1 HTTP/1.1\r\nHost: " HOST "\r\n"
                              "Knative-Serving-Revision: spoofed\r\n"
                              "X-Forwarded-For: 10.1.2.3\r\n\r\n";
    test_cl_open(fx, &cl);
    test_cl_send(&cl, req, strlen(req));
    WAIT_FOR(fx, cl.done == 1);
    assert_int_equal(cl.status, 200);
    assert_string_equal(knd_buf_cstr(&cl.body), "hello from upstream");
    assert_string_equal(cl.x_up, "yes"); /* response headers come back */
    assert_int_equal(fx->up_requests, 1);
    assert_string_equal(fx->up_url, "/hello?x=1");
    assert_string_equal(fx->up_host, HOST);
    /* Knative's routing headers never reach the container, the client's spoofed one neither */
    assert_string_equal(fx->up_rev, "");
    assert_string_equal(fx->up_ns, "");
    assert_string_equal(fx->up_xff, "10.1.2.3, 127.0.0.1");
    assert_string_equal(fx->up_fwd, "for=127.0.0.1;proto=http");
    assert_string_equal(fx->up_proto, "http");
    assert_int_equal(fx->demands, 0);

    /* a second request: no client X-Forwarded-For, and the pooled upstream connection is reused */
    static const char req2[] = "GET /again HTTP/1.1\r\nHost: " HOST "\r\n\r\n";
    test_cl_send(&cl, req2, strlen(req2));
    WAIT_FOR(fx, cl.done == 1);
    assert_int_equal(cl.status, 200);
    assert_int_equal(fx->up_requests, 2);
    assert_string_equal(fx->up_url, "/again");
    assert_string_equal(fx->up_xff, "127.0.0.1");
    assert_int_equal(knd_http_server_conns(fx->up), 1);
    assert_true(knd_http_client_reusable(cl.c));
    assert_int_equal(fx->ep->inflight, 0);
    test_cl_close(&cl);
}

/* An absolute-form target routes by its own authority (RFC 9112 3.2.2), and the instance gets
 * origin form with that Host, as from any client. */
static void test_absolute_form_routes_by_its_authority(void **state)
{
    fx_t *fx = *state;
    cl_t cl;
    test_cl_exchange(fx, &cl,
                     "GET http://" HOST "/abs?x=1 HTTP/1.1\r\nHost: other.example\r\n\r\n");
    assert_int_equal(cl.status, 200);
    assert_string_equal(fx->up_url, "/abs?x=1");
    assert_string_equal(fx->up_host, HOST);
    test_cl_close(&cl);
}

static void test_unknown_host_404(void **state)
{
    fx_t *fx = *state;
    cl_t cl;
    static const char req[] = "GET / HTTP/1.1\r\nHost: nope.example.com:8080\r\n\r\n";
    test_cl_open(fx, &cl);
    test_cl_send(&cl, req, strlen(req));
    WAIT_FOR(fx, cl.done == 1);
    assert_int_equal(cl.status, 404);
    assert_non_null(strstr(knd_buf_cstr(&cl.body), "nope.example.com"));
    assert_int_equal(fx->up_requests, 0);

    /* no Host at all */
    static const char bare[] = "GET / HTTP/1.1\r\n\r\n";
    test_cl_send(&cl, bare, strlen(bare));
    WAIT_FOR(fx, cl.done == 1);
    assert_int_equal(cl.status, 400);
    assert_int_equal(fx->up_requests, 0);
    test_cl_close(&cl);
}

/* 1 MiB of chunked upload streams through intact (and is re-chunked toward the instance). */
static void test_chunked_upload_1mib(void **state)
{
    fx_t *fx = *state;
    enum { CHUNK = 64 * 1024, NCHUNK = 16 };
    knd_buf_t req, want;
    knd_buf_init(&req);
    knd_buf_init(&want);
    knd_buf_puts(&req, "POST /upload HTTP/1.1\r\nHost: " HOST "\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n");
    for (int k = 0; k < NCHUNK; k++) {
        char chunk[CHUNK];
        for (int i = 0; i < CHUNK; i++)
            chunk[i] = (char)('a' + (k * 7 + i * 13) % 26);
        knd_buf_printf(&req, "%x\r\n", CHUNK);
        knd_buf_append(&req, chunk, CHUNK);
        knd_buf_puts(&req, "\r\n");
        knd_buf_append(&want, chunk, CHUNK);
    }
    knd_buf_puts(&req, "0\r\n\r\n");
    cl_t cl;
    test_cl_open(fx, &cl);
    test_cl_send(&cl, req.p, req.len);
    WAIT_FOR(fx, cl.done == 1);
    assert_int_equal(cl.status, 200);
    assert_string_equal(knd_buf_cstr(&cl.body), "got 1048576");
    assert_int_equal(fx->up_body_ends, 1);
    assert_string_equal(fx->up_te, "chunked");
    assert_int_equal(fx->up_body.len, want.len);
    assert_memory_equal(fx->up_body.p, want.p, want.len);
    test_cl_close(&cl);
    knd_buf_free(&req);
    knd_buf_free(&want);
}

static void test_content_length_upload(void **state)
{
    fx_t *fx = *state;
    enum { N = 300 * 1000 };
    char *body = malloc(N);
    for (int i = 0; i < N; i++)
        body[i] = (char)('A' + i % 23);
    char head[256];
    int hn = snprintf(head, sizeof(head),
                      "PUT /blob HTTP/1.1\r\nHost: " HOST "\r\nContent-Length: %d\r\n\r\n", N);
    cl_t cl;
    test_cl_open(fx, &cl);
    cl.status = cl.heads = cl.done = 0;
    knd_http_client_begin(cl.c, false);
    knd_http_client_write(cl.c, head, (size_t)hn, body, N / 2, NULL, 0);
    test_fx_spin(fx, 20);
    knd_http_client_write(cl.c, body + N / 2, N - N / 2, NULL, 0, NULL, 0);
    WAIT_FOR(fx, cl.done == 1);
    assert_int_equal(cl.status, 200);
    char want[32];
    snprintf(want, sizeof(want), "got %d", N);
    assert_string_equal(knd_buf_cstr(&cl.body), want);
    snprintf(want, sizeof(want), "%d", N);
    assert_string_equal(fx->up_clen, want);
    assert_string_equal(fx->up_te, "");
    assert_int_equal(fx->up_body.len, N);
    assert_memory_equal(fx->up_body.p, body, N);
    test_cl_close(&cl);
    free(body);
}

static void test_fx_make_ready(uv_timer_t *t)
{
    fx_t *fx = t->data;
    fx->made_ready = true;
    knd_endpoint_set_ready(fx->ep, true);
}

/* Scale from zero: the request waits in the activator until the endpoint turns ready. */
static void test_waits_for_ready_endpoint(void **state)
{
    fx_t *fx = *state;
    knd_endpoint_set_ready(fx->ep, false);
    cl_t cl;
    static const char req[] = "GET /cold HTTP/1.1\r\nHost: " HOST "\r\n\r\n";
    test_cl_open(fx, &cl);
    test_cl_send(&cl, req, strlen(req));
    WAIT_FOR(fx, fx->rev->queued == 1);
    assert_int_equal(fx->demands, 1); /* the scaler was asked for an instance */
    test_fx_spin(fx, 30);
    assert_int_equal(cl.heads, 0);
    assert_int_equal(fx->up_requests, 0);
    uv_timer_start(&fx->ready_timer, test_fx_make_ready, 50, 0);
    WAIT_FOR(fx, cl.done == 1);
    assert_true(cl.head_after_ready);
    assert_int_equal(cl.status, 200);
    assert_string_equal(knd_buf_cstr(&cl.body), "hello from upstream");
    assert_string_equal(fx->up_url, "/cold");
    assert_int_equal(fx->rev->queued, 0);
    test_cl_close(&cl);
}

/* Nothing turns ready within the revision's timeout: 504. */
static void test_queue_timeout_504(void **state)
{
    fx_t *fx = *state;
    knd_rev_limits_t lim = {.container_concurrency = 1, .timeout_ms = 50};
    knd_rev_t *slow = knd_rev_new(&fx->loop, "default", "slow-00001", "slow", "slow", &lim);
    knd_rev_endpoint_add(slow, "slow-1", fx->up_port); /* never ready */
    test_fx_route(fx, "slow.default.example.com", slow);
    knd_rev_release(slow);
    cl_t cl;
    static const char req[] = "GET / HTTP/1.1\r\nHost: slow.default.example.com\r\n\r\n";
    test_cl_open(fx, &cl);
    test_cl_send(&cl, req, strlen(req));
    WAIT_FOR(fx, cl.done == 1);
    assert_int_equal(cl.status, 504);
    assert_int_equal(fx->up_requests, 0);
    test_cl_close(&cl);
}

/* The client gives up while its request is queued: the wait is withdrawn, nothing leaks. */
static void test_client_gone_while_queued(void **state)
{
    fx_t *fx = *state;
    knd_endpoint_set_ready(fx->ep, false);
    cl_t cl;
    static const char req[] = "POST /x HTTP/1.1\r\nHost: " HOST "\r\nContent-Length: 10\r\n\r\nabc";
    test_cl_open(fx, &cl);
    test_cl_send(&cl, req, strlen(req));
    WAIT_FOR(fx, fx->rev->queued == 1);
    test_cl_close(&cl);
    WAIT_FOR(fx, fx->rev->queued == 0);
    knd_endpoint_set_ready(fx->ep, true);
    test_fx_spin(fx, 30);
    assert_int_equal(fx->up_requests, 0);
    assert_int_equal(fx->ep->inflight, 0);
}

/* A route whose traffic has no share anywhere answers 503. */
static void test_no_target_503(void **state)
{
    fx_t *fx = *state;
    knd_route_table_t *t = knd_route_table_new();
    knd_rt_target_t target = {.rev = fx->rev, .percent = 0, .tag = "only"};
    assert_int_equal(knd_route_table_add(t, HOST, "default", "hello", NULL, &target, 1), 0);
    knd_route_table_seal(t);
    knd_ingress_set_table(fx->ing, t);
    cl_t cl;
    static const char req[] = "GET / HTTP/1.1\r\nHost: " HOST "\r\n\r\n";
    test_cl_open(fx, &cl);
    test_cl_send(&cl, req, strlen(req));
    WAIT_FOR(fx, cl.done == 1);
    assert_int_equal(cl.status, 503);
    assert_int_equal(fx->up_requests, 0);
    test_cl_close(&cl);
}

/* With tag-header-based routing, Knative-Serving-Tag picks the tagged target. */
static void test_tag_header_routing(void **state)
{
    fx_t *fx = *state;
    knd_rev_limits_t lim = {.container_concurrency = 0};
    knd_rev_t *next = knd_rev_new(&fx->loop, "default", "hello-00002", "hello", "hello", &lim);
    knd_endpoint_set_ready(knd_rev_endpoint_add(next, "hello-00002-1", fx->up_port), true);
    knd_route_table_t *t = knd_route_table_new();
    knd_rt_target_t targets[2] = {{.rev = fx->rev, .percent = 100, .tag = NULL},
                                  {.rev = next, .percent = 0, .tag = "next"}};
    assert_int_equal(knd_route_table_add(t, HOST, "default", "hello", NULL, targets, 2), 0);
    knd_route_table_seal(t);
    knd_ingress_set_table(fx->ing, t);
    uint64_t first = fx->rev->requests_total; /* which revision served: its own counter */

    static const char req[] = "GET / HTTP/1.1\r\nHost: " HOST "\r\n"
                              "Knative-Serving-Tag: next\r\n\r\n";
    cl_t cl;
    test_cl_open(fx, &cl);
    test_cl_send(&cl, req, strlen(req)); /* off by default: the split decides */
    WAIT_FOR(fx, cl.done == 1);
    assert_int_equal(fx->rev->requests_total, first + 1);
    assert_int_equal(next->requests_total, 0);
    knd_ingress_options_t opt = {.tag_header_routing = true};
    knd_ingress_set_options(fx->ing, &opt);
    test_cl_send(&cl, req, strlen(req));
    WAIT_FOR(fx, cl.done == 1);
    assert_int_equal(cl.status, 200);
    assert_int_equal(next->requests_total, 1);
    static const char unknown[] = "GET / HTTP/1.1\r\nHost: " HOST "\r\n"
                                  "Knative-Serving-Tag: nosuch\r\n\r\n";
    test_cl_send(&cl, unknown, strlen(unknown)); /* an unknown tag falls back to the split */
    WAIT_FOR(fx, cl.done == 1);
    assert_int_equal(cl.status, 200);
    assert_int_equal(fx->rev->requests_total, first + 2);
    assert_int_equal(next->requests_total, 1);
    test_cl_close(&cl);
    knd_rev_release(next);
}

/*
 * A pooled upstream connection that the instance closes while idle leaves the endpoint's pool
 * (knd_proxy_idle_error): were it kept, the next request would take it, write into a closed
 * socket and hang. The instance here closes idle connections after 50 ms.
 */
static void test_pool_drops_conn_closed_by_instance(void **state)
{
    fx_t *fx = *state;
    knd_http_server_close(fx->up, test_fx_up_done, fx);
    WAIT_FOR(fx, fx->up_done);
    fx->up_done = false;
    knd_http_limits_t lim = {.header_timeout_ms = 0, .idle_timeout_ms = 50};
    test_fx_upstream(fx, &lim);
    fx->ep->port = fx->up_port;

    cl_t cl;
    static const char req[] = "GET /one HTTP/1.1\r\nHost: " HOST "\r\n\r\n";
    test_cl_open(fx, &cl);
    test_cl_send(&cl, req, strlen(req));
    WAIT_FOR(fx, cl.done == 1);
    assert_int_equal(fx->ep->nidle, 1); /* pooled */
    WAIT_FOR(fx, knd_http_server_conns(fx->up) == 0); /* the instance closed it */
    test_fx_spin(fx, 50);
    size_t pooled = fx->ep->nidle;
    if (pooled == 0) {
        test_cl_send(&cl, req, strlen(req));
        WAIT_FOR(fx, cl.done == 1);
        assert_int_equal(cl.status, 200);
        assert_int_equal(fx->up_requests, 2);
    }
    test_cl_close(&cl);
    assert_int_equal(pooled, 0);
}

/* ------------------------------------------------------------------ a misbehaving instance */

/* An instance that answers each read with `answer`, whatever it read, and counts the
 * connections it saw closed by the ingress. */
typedef struct {
    uv_tcp_t listener;
    const char *answer;
    int port, accepted, closed_by_peer;
    bool listener_closed;
    bool close_after; /* closes each connection once its answer is written */
} raw_up_t;

typedef struct {
    uv_tcp_t tcp;
    raw_up_t *up;
} raw_conn_t;

static void test_raw_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    static char scratch[4096];
    (void)h;
    (void)hint;
    *buf = uv_buf_init(scratch, sizeof(scratch));
}

static void test_raw_conn_closed(uv_handle_t *h)
{
    free(h->data);
}

static void test_raw_written(uv_write_t *wr, int status)
{
    raw_conn_t *rc = wr->data;
    free(wr);
    if (status == 0 && rc->up->close_after && !uv_is_closing((uv_handle_t *)&rc->tcp))
        uv_close((uv_handle_t *)&rc->tcp, test_raw_conn_closed);
}

static void test_raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    raw_conn_t *rc = s->data;
    (void)buf;
    if (n < 0) {
        rc->up->closed_by_peer++;
        uv_close((uv_handle_t *)&rc->tcp, test_raw_conn_closed);
        return;
    }
    if (n == 0 || rc->up->answer == NULL)
        return;
    uv_buf_t out = uv_buf_init((char *)rc->up->answer, (unsigned)strlen(rc->up->answer));
    uv_write_t *wr = malloc(sizeof(*wr));
    wr->data = rc;
    assert_int_equal(uv_write(wr, s, &out, 1, test_raw_written), 0);
}

static void test_raw_accept(uv_stream_t *srv, int status)
{
    raw_up_t *up = srv->data;
    assert_int_equal(status, 0);
    raw_conn_t *rc = calloc(1, sizeof(*rc));
    rc->up = up;
    uv_tcp_init(srv->loop, &rc->tcp);
    rc->tcp.data = rc;
    assert_int_equal(uv_accept(srv, (uv_stream_t *)&rc->tcp), 0);
    up->accepted++;
    uv_read_start((uv_stream_t *)&rc->tcp, test_raw_alloc, test_raw_read);
}

/* Closes the endpoint's pooled connections: they lead to the instance it had before. */
static void test_fx_drain_pool(fx_t *fx)
{
    knd_http_client_t *pooled;
    while ((pooled = knd_endpoint_take_conn(fx->ep)) != NULL)
        knd_http_client_close(pooled);
}

/* Starts the raw instance and points the fixture's endpoint at it. */
static void test_raw_up_start(fx_t *fx, raw_up_t *up, const char *answer)
{
    test_fx_drain_pool(fx);
    memset(up, 0, sizeof(*up));
    up->answer = answer;
    struct sockaddr_in sa;
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    uv_ip4_addr("127.0.0.1", 0, &sa);
    uv_tcp_init(&fx->loop, &up->listener);
    up->listener.data = up;
    assert_int_equal(uv_tcp_bind(&up->listener, (const struct sockaddr *)&sa, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&up->listener, 8, test_raw_accept), 0);
    assert_int_equal(uv_tcp_getsockname(&up->listener, (struct sockaddr *)&bound, &len), 0);
    up->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    fx->ep->port = up->port;
}

static void test_raw_listener_closed(uv_handle_t *h)
{
    ((raw_up_t *)h->data)->listener_closed = true;
}

/* Points the endpoint back at the well-behaved upstream and checks it serves. */
static void test_raw_up_stop(fx_t *fx, raw_up_t *up)
{
    uv_close((uv_handle_t *)&up->listener, test_raw_listener_closed);
    WAIT_FOR(fx, up->listener_closed);
    fx->ep->port = fx->up_port;
    test_fx_drain_pool(fx);
    cl_t cl;
    test_cl_exchange(fx, &cl, "GET / HTTP/1.1\r\nHost: " HOST "\r\n\r\n");
    assert_int_equal(cl.status, 200);
    test_cl_close(&cl);
}


/*
 * Answers the ingress cannot relay end the request with a 502 that says why, and the connection
 * is not pooled:
 *   - a 101 the request did not ask for (Go's ReverseProxy refuses it too); what follows it on
 *     the connection - here a whole second response - is never parsed as the answer;
 *   - a 101 to another protocol than the one asked for;
 *   - a response llhttp refuses ("invalid", not "closed the connection").
 */
static void test_bad_answers_are_502(void **state)
{
    fx_t *fx = *state;
    static const char upgrade[] = "GET /ws HTTP/1.1\r\nHost: " HOST "\r\nConnection: Upgrade\r\n"
                                  "Upgrade: websocket\r\n\r\n";
    static const struct {
        const char *req, *answer, *says;
    } cases[] = {
        {"POST /x HTTP/1.1\r\nHost: " HOST "\r\nContent-Length: 2\r\n\r\nhi",
         "HTTP/1.1 101 Switching Protocols\r\n\r\n"
         "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
         "switched protocols"},
        {upgrade, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
         "switched protocols"},
        {"GET / HTTP/1.1\r\nHost: " HOST "\r\n\r\n",
         "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
         "knd: the revision's instance sent an invalid response\n"},
    };
    for (size_t i = 0; i < KND_ARRAY_SIZE(cases); i++) {
        raw_up_t up;
        test_raw_up_start(fx, &up, cases[i].answer);
        cl_t cl;
        test_cl_exchange(fx, &cl, cases[i].req);
        assert_int_equal(cl.status, 502);
        assert_non_null(strstr(knd_buf_cstr(&cl.body), cases[i].says));
        test_cl_close(&cl);
        WAIT_FOR(fx, up.closed_by_peer == 1);
        assert_int_equal(fx->ep->nidle, 0);
        assert_int_equal(fx->ep->inflight, 0);
        test_raw_up_stop(fx, &up);
    }
}

/* Interim (1xx), 204 and 304 responses end at their blank line, whatever framing headers they
 * carry (RFC 9112 6.3): the 200 after a "chunked" 102 is the answer, and a "chunked" 204 is
 * complete at once. */
static void test_bodiless_statuses_ignore_framing(void **state)
{
    fx_t *fx = *state;
    raw_up_t up;
    test_raw_up_start(fx, &up, "HTTP/1.1 102 Processing\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    cl_t cl;
    test_cl_exchange(fx, &cl, "GET / HTTP/1.1\r\nHost: " HOST "\r\n\r\n");
    assert_int_equal(cl.status, 200);
    assert_string_equal(knd_buf_cstr(&cl.body), "ok");
    test_cl_close(&cl);
    up.answer = "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n";
    test_cl_exchange(fx, &cl, "GET / HTTP/1.1\r\nHost: " HOST "\r\n\r\n");
    assert_int_equal(cl.status, 204);
    assert_int_equal(cl.done, 1);
    test_cl_close(&cl);
    test_raw_up_stop(fx, &up);
}

/* The instance's informational responses reach the client ahead of the final one - 103 Early
 * Hints with its Link, hop-by-hop headers dropped - except 100 Continue (knd answers Expect
 * itself), and none to an HTTP/1.0 client. More than five are a 502. */
static void test_interim_responses_are_forwarded(void **state)
{
    fx_t *fx = *state;
    raw_up_t up;
    test_raw_up_start(fx, &up, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n"
                               "Connection: X-Hop\r\nX-Hop: 1\r\n\r\n"
                               "HTTP/1.1 100 Continue\r\n\r\n"
                               "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    cl_t cl;
    test_cl_exchange(fx, &cl, "GET / HTTP/1.1\r\nHost: " HOST "\r\n\r\n");
    assert_int_equal(cl.status, 200);
    assert_int_equal(cl.interims, 1);
    assert_string_equal(cl.link, "</s.css>; rel=preload");
    assert_string_equal(knd_buf_cstr(&cl.body), "ok");
    test_cl_close(&cl);
    test_cl_exchange(fx, &cl, "GET / HTTP/1.0\r\nHost: " HOST "\r\n\r\n");
    assert_int_equal(cl.status, 200);
    assert_int_equal(cl.interims, 0);
    test_cl_close(&cl);
    up.answer = "HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n"
                "HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n"
                "HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n"
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    test_cl_exchange(fx, &cl, "GET / HTTP/1.1\r\nHost: " HOST "\r\n\r\n");
    assert_int_equal(cl.status, 502);
    assert_int_equal(cl.interims, 5);
    test_cl_close(&cl);
    test_raw_up_stop(fx, &up);
}

/* An instance that closes in the middle of a response body: the client's connection is cut
 * too (its response cannot complete), and the ingress goes on serving. */
static void test_truncated_response_cuts_the_client(void **state)
{
    fx_t *fx = *state;
    raw_up_t up;
    test_raw_up_start(fx, &up, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
    up.close_after = true;
    cl_t cl;
    test_cl_exchange(fx, &cl, "GET / HTTP/1.1\r\nHost: " HOST "\r\n\r\n");
    assert_int_equal(cl.status, 200);
    assert_int_equal(cl.done, 0);
    assert_int_equal(cl.errors, 1);
    assert_string_equal(knd_buf_cstr(&cl.body), "short");
    test_cl_close(&cl);
    assert_int_equal(fx->ep->inflight, 0);
    test_raw_up_stop(fx, &up);
}

/* A client that hangs up while its upgrade request waits for the instance's answer cancels
 * it: the ingress closes the instance's connection and frees the slot (it used to stop reading
 * the client until the answer came, and so never saw it leave). */
static void test_client_gone_while_upgrade_waits(void **state)
{
    fx_t *fx = *state;
    raw_up_t up;
    test_raw_up_start(fx, &up, NULL); /* never answers */
    cl_t cl;
    static const char req[] = "GET /ws HTTP/1.1\r\nHost: " HOST "\r\nConnection: Upgrade\r\n"
                              "Upgrade: websocket\r\n\r\nearly tunnel bytes";
    test_cl_open(fx, &cl);
    test_cl_send(&cl, req, strlen(req));
    WAIT_FOR(fx, up.accepted == 1 && fx->ep->inflight == 1);
    test_cl_close(&cl);
    WAIT_FOR(fx, up.closed_by_peer == 1);
    assert_int_equal(fx->ep->inflight, 0);
    test_raw_up_stop(fx, &up);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, test_fx_setup, test_fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_proxy_with_knative_headers),
        T(test_unknown_host_404),
        T(test_absolute_form_routes_by_its_authority),
        T(test_chunked_upload_1mib),
        T(test_content_length_upload),
        T(test_waits_for_ready_endpoint),
        T(test_queue_timeout_504),
        T(test_client_gone_while_queued),
        T(test_no_target_503),
        T(test_tag_header_routing),
        T(test_pool_drops_conn_closed_by_instance),
        T(test_bad_answers_are_502),
        T(test_bodiless_statuses_ignore_framing),
        T(test_interim_responses_are_forwarded),
        T(test_truncated_response_cuts_the_client),
        T(test_client_gone_while_upgrade_waits),
    };
#undef T
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
