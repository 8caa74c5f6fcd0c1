/*
 * test_knd_trace.c - knd_trace: parsing W3C traceparent and B3 (single and multi) headers, id
 * format, child contexts, propagation headers, sampling rates, collector URLs, and export of
 * Zipkin v2 JSON to a collector stub (knd_http_server on 127.0.0.1 port 0, or [::1] when the
 * machine has IPv6 loopback) that can accept, fail or hang - reached by address or through the
 * name "localhost" (uv_getaddrinfo) - plus a collector that is down, a name that does not
 * resolve, an https:// endpoint and a full queue. Log lines are read from a captured stderr.
 *
 * Every test owns its loop; teardown closes the tracer and the stub, drains the loop and
 * requires uv_loop_close() == 0 (ASan checks leaks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "knd_buf.h"
#include "knd_err.h"
#include "knd_http_server.h"
#include "knd_trace.h"
#include "knd_trace_int.h" /* resolution counters and the age of an answer */

typedef enum { COL_ACCEPT = 0, COL_FAIL, COL_HANG } col_mode_t;

typedef struct {
    uv_loop_t loop;
    knd_tracer_t *t;
    knd_http_server_t *srv, *srv6;
    int port;
    col_mode_t mode;
    bool srv_done, tracer_done;
    int posts, aborts;
    knd_buf_t cur;          /* the body being received */
    json_t *spans;          /* every span the collector received (array) */
    char url[256], ctype[128], method[16], host[300];
    int log_fd, saved_stderr; /* stderr captured into log_fd while saved_stderr >= 0 */
} fx_t;

#define WAIT_FOR_MS(fx, expr, ms)                                                                 \
    do {                                                                                          \
        uv_update_time(&(fx)->loop);                                                              \
        uint64_t wait_deadline_ = uv_now(&(fx)->loop) + (ms);                                     \
        while (!(expr) && uv_now(&(fx)->loop) < wait_deadline_) {                                 \
            uv_run(&(fx)->loop, UV_RUN_NOWAIT);                                                   \
            uv_sleep(1);                                                                          \
            uv_update_time(&(fx)->loop);                                                          \
        }                                                                                         \
        if (!(expr))                                                                              \
            fail_msg("timed out waiting for %s", #expr);                                          \
    } while (0)
#define WAIT_FOR(fx, expr) WAIT_FOR_MS(fx, expr, 5000)
/* A name that does not exist may take the resolver its own timeout to say so. */
#define WAIT_FOR_RESOLVER(fx, expr) WAIT_FOR_MS(fx, expr, 20000)

/* ------------------------------------------------------------------ collector stub */

static void test_col_on_body(knd_http_req_t *r, const char *p, size_t n)
{
    fx_t *fx = r->data;
    knd_buf_append(&fx->cur, p, n);
}

static void test_col_on_abort(knd_http_req_t *r)
{
    fx_t *fx = r->data;
    fx->aborts++;
}

static void test_col_on_body_end(knd_http_req_t *r)
{
    fx_t *fx = r->data;
    json_error_t je;
    json_t *batch = json_loads(knd_buf_cstr(&fx->cur), 0, &je);
    assert_non_null(batch);
    assert_true(json_is_array(batch));
    json_array_extend(fx->spans, batch);
    json_decref(batch);
    knd_buf_reset(&fx->cur);
    fx->posts++;
    if (fx->mode == COL_ACCEPT)
        knd_http_resp_simple(r, 202, "text/plain", "", 0);
    else if (fx->mode == COL_FAIL)
        knd_http_resp_simple(r, 500, "text/plain", "no\n", 3);
    /* COL_HANG: never answers; the tracer's timeout closes the connection (on_abort). */
}

static void test_col_on_request(knd_http_req_t *r, void *data)
{
    fx_t *fx = data;
    r->data = fx;
    snprintf(fx->url, sizeof(fx->url), "%s", knd_http_head_url(&r->head));
    const char *ct = knd_http_head_get(&r->head, "Content-Type");
    snprintf(fx->ctype, sizeof(fx->ctype), "%s", ct ? ct : "");
    const char *host = knd_http_head_get(&r->head, "Host");
    snprintf(fx->host, sizeof(fx->host), "%s", host ? host : "");
    snprintf(fx->method, sizeof(fx->method), "%s", llhttp_method_name(r->head.method));
    r->on_body = test_col_on_body;
    r->on_body_end = test_col_on_body_end;
    r->on_abort = test_col_on_abort;
}

static void test_col_closed(void *data)
{
    ((fx_t *)data)->srv_done = true;
}

static void test_tracer_closed(void *data)
{
    ((fx_t *)data)->tracer_done = true;
}

static int test_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));
    knd_err_t err;
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    assert_int_equal(knd_http_server_listen_tcp(&fx->loop, "127.0.0.1", 0, NULL,
                                                test_col_on_request, fx, &fx->srv, &err),
                     0);
    fx->port = knd_http_server_port(fx->srv);
    knd_buf_init(&fx->cur);
    fx->spans = json_array();
    fx->t = knd_tracer_new(&fx->loop, "knd");
    fx->log_fd = fx->saved_stderr = -1;
    *state = fx;
    return 0;
}

/* ------------------------------------------------------------------ log capture */

static void test_log_capture(fx_t *fx)
{
    char path[] = "/tmp/test_knd_trace_log_XXXXXX";
    fx->log_fd = mkstemp(path);
    assert_true(fx->log_fd >= 0);
    unlink(path);
    fx->saved_stderr = dup(STDERR_FILENO);
    assert_true(dup2(fx->log_fd, STDERR_FILENO) >= 0);
}

static void test_log_restore(fx_t *fx)
{
    if (fx->saved_stderr < 0)
        return;
    dup2(fx->saved_stderr, STDERR_FILENO);
    close(fx->saved_stderr);
    fx->saved_stderr = -1;
}

/* Lines of the captured log containing both a and b (b may be NULL). */
static int test_log_count(fx_t *fx, const char *a, const char *b)
{
    off_t n = lseek(fx->log_fd, 0, SEEK_END);
    char *text = calloc(1, (size_t)n + 1);
    assert_int_equal(pread(fx->log_fd, text, (size_t)n, 0), n);
    int count = 0;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n"))
        if (strstr(line, a) != NULL && (b == NULL || strstr(line, b) != NULL))
            count++;
    free(text);
    return count;
}

static void test_close_tracer(fx_t *fx)
{
    if (fx->t == NULL)
        return;
    knd_tracer_close(fx->t, test_tracer_closed, fx);
    fx->t = NULL;
    WAIT_FOR(fx, fx->tracer_done);
}

static int test_teardown(void **state)
{
    fx_t *fx = *state;
    test_log_restore(fx);
    if (fx->log_fd >= 0)
        close(fx->log_fd);
    test_close_tracer(fx);
    if (fx->srv6) {
        knd_http_server_abort_all(fx->srv6);
        knd_http_server_close(fx->srv6, NULL, NULL);
    }
    if (fx->srv) {
        knd_http_server_abort_all(fx->srv);
        knd_http_server_close(fx->srv, test_col_closed, fx);
        WAIT_FOR(fx, fx->srv_done);
    }
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    knd_buf_free(&fx->cur);
    json_decref(fx->spans);
    free(fx);
    return 0;
}

static void test_configure_local(fx_t *fx, double rate)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v2/spans", fx->port);
    knd_tracer_configure(fx->t, true, url, rate, false);
}

/* ------------------------------------------------------------------ helpers */

static void test_head(knd_http_head_t *h, const char *const *kv)
{
    knd_http_head_init(h);
    for (size_t i = 0; kv != NULL && kv[i] != NULL; i += 2)
        knd_http_head_add(h, kv[i], kv[i + 1]);
}

/* knd_trace_begin on a head built from kv pairs. */
static void test_begin(knd_tracer_t *t, const char *const *kv, knd_trace_ctx_t *out)
{
    knd_http_head_t h;
    test_head(&h, kv);
    knd_trace_begin(t, &h, out);
    knd_http_head_free(&h);
}

static bool test_is_lower_hex(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    bool nonzero = false;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
        nonzero |= s[i] != '0';
    }
    return nonzero;
}

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define SID "00f067aa0ba902b7"

/* ------------------------------------------------------------------ parsing */

static void test_traceparent_continues(void **state)
{
    fx_t *fx = *state;
    knd_trace_ctx_t c;
    knd_tracer_configure(fx->t, true, NULL, 0.0, false);
    test_begin(fx->t, (const char *const[]){"traceparent", "00-" TID "-" SID "-01", NULL}, &c);
    assert_string_equal(c.trace_id, TID);
    assert_string_equal(c.parent_id, SID);
    assert_true(test_is_lower_hex(c.span_id, 16));
    assert_string_not_equal(c.span_id, SID);
    assert_true(c.sampled); /* honoured although sample-rate is 0 */
    assert_false(c.debug);

    knd_tracer_configure(fx->t, true, NULL, 1.0, false);
    test_begin(fx->t, (const char *const[]){"traceparent", "00-" TID "-" SID "-00", NULL}, &c);
    assert_string_equal(c.trace_id, TID);
    assert_false(c.sampled); /* honoured although sample-rate is 1 */

    /* A later version may append fields; flags other than bit 0 are ignored. */
    test_begin(fx->t, (const char *const[]){"traceparent", "cc-" TID "-" SID "-09-what", NULL},
               &c);
    assert_string_equal(c.trace_id, TID);
    assert_true(c.sampled);
    /* traceparent wins over B3. */
    test_begin(fx->t,
               (const char *const[]){"X-B3-TraceId", "1111111111111111", "X-B3-SpanId",
                                     "2222222222222222", "traceparent", "00-" TID "-" SID "-01",
                                     NULL},
               &c);
    assert_string_equal(c.trace_id, TID);
}

static void test_traceparent_invalid(void **state)
{
    fx_t *fx = *state;
    static const char *const bad[] = {
        "00-" TID "-" SID "-0",                               /* short */
        "00-" TID "-" SID "-01-extra",                        /* version 00 has no more fields */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-" SID "-01",     /* uppercase */
        "00-00000000000000000000000000000000-" SID "-01",     /* zero trace id */
        "00-" TID "-0000000000000000-01",                     /* zero span id */
        "ff-" TID "-" SID "-01",                              /* forbidden version */
        "00-" TID "-" SID "-0g",                              /* bad flags */
        "00_" TID "-" SID "-01",                              /* separator */
        "00-4bf92f3577b34da6a3ce929d0e0e473x-" SID "-01",     /* not hex */
        "cc-" TID "-" SID "-01x",                             /* junk after the flags */
        "",
    };
    knd_tracer_configure(fx->t, true, NULL, 0.0, false);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        knd_trace_ctx_t c;
        test_begin(fx->t, (const char *const[]){"traceparent", bad[i], NULL}, &c);
        if (strcmp(c.trace_id, TID) == 0 || c.parent_id[0] != '\0' || c.sampled)
            fail_msg("accepted invalid traceparent \"%s\"", bad[i]);
        assert_true(test_is_lower_hex(c.trace_id, 32));
    }
    /* An invalid traceparent falls back to valid B3. */
    knd_trace_ctx_t c;
    test_begin(fx->t,
               (const char *const[]){"traceparent", "junk", "b3", TID "-" SID "-1", NULL}, &c);
    assert_string_equal(c.trace_id, TID);
    assert_string_equal(c.parent_id, SID);
    assert_true(c.sampled);
}

static void test_b3_single(void **state)
{
    fx_t *fx = *state;
    knd_trace_ctx_t c;
    knd_tracer_configure(fx->t, true, NULL, 0.0, false);

    test_begin(fx->t, (const char *const[]){"b3", TID "-" SID "-1-b7ad6b7169203331", NULL}, &c);
    assert_string_equal(c.trace_id, TID);
    assert_string_equal(c.parent_id, SID);
    assert_true(c.sampled);

    /* 64-bit trace ids are left-padded; no sampling state -> the local rate (0) decides. */
    test_begin(fx->t, (const char *const[]){"b3", "a3ce929d0e0e4736-" SID, NULL}, &c);
    assert_string_equal(c.trace_id, "0000000000000000a3ce929d0e0e4736");
    assert_false(c.sampled);

    test_begin(fx->t, (const char *const[]){"b3", TID "-" SID "-d", NULL}, &c);
    assert_true(c.sampled);
    assert_true(c.debug);

    /* A lone deny: a new trace, not sampled even at rate 1. */
    knd_tracer_configure(fx->t, true, NULL, 1.0, false);
    test_begin(fx->t, (const char *const[]){"b3", "0", NULL}, &c);
    assert_string_equal(c.parent_id, "");
    assert_false(c.sampled);
    test_begin(fx->t, (const char *const[]){"b3", TID "-" SID "-0", NULL}, &c);
    assert_string_equal(c.trace_id, TID);
    assert_false(c.sampled);

    static const char *const bad[] = {
        TID,                           /* no span id */
        TID "-" SID "-x",              /* bad state */
        TID "-" SID "-1-123",          /* short parent */
        TID "-" SID "-1-" SID "-more", /* five fields */
        "abc-" SID "-1",               /* short trace id */
        TID "-00000000000000000-1",    /* span id of 17 digits */
        "2",
    };
    knd_tracer_configure(fx->t, true, NULL, 0.0, false);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        test_begin(fx->t, (const char *const[]){"b3", bad[i], NULL}, &c);
        if (strcmp(c.trace_id, TID) == 0 || c.parent_id[0] != '\0' || c.sampled)
            fail_msg("accepted invalid b3 \"%s\"", bad[i]);
    }
}

static void test_b3_multi(void **state)
{
    fx_t *fx = *state;
    knd_trace_ctx_t c;
    knd_tracer_configure(fx->t, true, NULL, 0.0, false);
    test_begin(fx->t,
               (const char *const[]){"X-B3-TraceId", "4BF92F3577B34DA6A3CE929D0E0E4736",
                                     "x-b3-spanid", SID, "X-B3-ParentSpanId", "b7ad6b7169203331",
                                     "X-B3-Sampled", "1", NULL},
               &c);
    assert_string_equal(c.trace_id, TID); /* lowercased */
    assert_string_equal(c.parent_id, SID);
    assert_true(c.sampled);

    test_begin(fx->t,
               (const char *const[]){"X-B3-TraceId", TID, "X-B3-SpanId", SID, "X-B3-Sampled",
                                     "true", NULL},
               &c);
    assert_true(c.sampled);
    test_begin(fx->t,
               (const char *const[]){"X-B3-TraceId", TID, "X-B3-SpanId", SID, "X-B3-Flags", "1",
                                     NULL},
               &c);
    assert_true(c.sampled);
    assert_true(c.debug);

    knd_tracer_configure(fx->t, true, NULL, 1.0, false);
    test_begin(fx->t,
               (const char *const[]){"X-B3-TraceId", TID, "X-B3-SpanId", SID, "X-B3-Sampled",
                                     "0", NULL},
               &c);
    assert_string_equal(c.trace_id, TID);
    assert_false(c.sampled);
    /* A decision without ids still counts. */
    test_begin(fx->t, (const char *const[]){"X-B3-Sampled", "0", NULL}, &c);
    assert_string_equal(c.parent_id, "");
    assert_false(c.sampled);
    /* A trace id without a span id, or a bad one, starts a new trace. */
    test_begin(fx->t, (const char *const[]){"X-B3-TraceId", TID, NULL}, &c);
    assert_string_not_equal(c.trace_id, TID);
    assert_string_equal(c.parent_id, "");
    test_begin(fx->t, (const char *const[]){"X-B3-TraceId", TID, "X-B3-SpanId", "xyz", NULL},
               &c);
    assert_string_not_equal(c.trace_id, TID);
    assert_true(c.sampled); /* no decision: rate 1 */
}

static void test_ids_and_child(void **state)
{
    fx_t *fx = *state;
    knd_tracer_configure(fx->t, true, NULL, 1.0, false);
    enum { N = 2000 };
    char(*ids)[17] = calloc(N, sizeof(*ids));
    for (size_t i = 0; i < N; i++) {
        knd_trace_ctx_t c;
        knd_trace_begin(fx->t, NULL, &c);
        assert_true(test_is_lower_hex(c.trace_id, 32));
        assert_true(test_is_lower_hex(c.span_id, 16));
        assert_string_equal(c.parent_id, "");
        memcpy(ids[i], c.span_id, 17);
    }
    for (size_t i = 0; i < N; i++)
        for (size_t j = i + 1; j < N; j++)
            if (strcmp(ids[i], ids[j]) == 0)
                fail_msg("duplicate span id %s", ids[i]);
    free(ids);

    knd_trace_ctx_t root, kid;
    test_begin(fx->t, (const char *const[]){"b3", TID "-" SID "-d", NULL}, &root);
    knd_trace_child(&root, &kid);
    assert_string_equal(kid.trace_id, TID);
    assert_string_equal(kid.parent_id, root.span_id);
    assert_string_not_equal(kid.span_id, root.span_id);
    assert_true(test_is_lower_hex(kid.span_id, 16));
    assert_true(kid.sampled);
    assert_true(kid.debug);
    knd_trace_child(&kid, &kid); /* in place */
    assert_string_not_equal(kid.parent_id, root.span_id);
    assert_string_equal(kid.trace_id, TID);
}

static void test_headers(void **state)
{
    (void)state;
    knd_trace_ctx_t c = {.trace_id = TID, .span_id = SID, .parent_id = "b7ad6b7169203331",
                         .sampled = true};
    knd_buf_t b;
    knd_buf_init(&b);
    knd_trace_headers(&c, &b);
    assert_string_equal(knd_buf_cstr(&b), "traceparent: 00-" TID "-" SID "-01\r\n"
                                          "X-B3-TraceId: " TID "\r\n"
                                          "X-B3-SpanId: " SID "\r\n"
                                          "X-B3-ParentSpanId: b7ad6b7169203331\r\n"
                                          "X-B3-Sampled: 1\r\n");
    knd_buf_reset(&b);
    c.parent_id[0] = '\0';
    c.sampled = false;
    knd_trace_headers(&c, &b);
    assert_string_equal(knd_buf_cstr(&b), "traceparent: 00-" TID "-" SID "-00\r\n"
                                          "X-B3-TraceId: " TID "\r\n"
                                          "X-B3-SpanId: " SID "\r\n"
                                          "X-B3-Sampled: 0\r\n");
    knd_buf_reset(&b);
    c.sampled = c.debug = true;
    knd_trace_headers(&c, &b);
    assert_non_null(strstr(knd_buf_cstr(&b), "X-B3-Flags: 1\r\n"));
    assert_null(strstr(knd_buf_cstr(&b), "X-B3-Sampled"));
    knd_buf_free(&b);

    assert_true(knd_trace_is_header("traceparent"));
    assert_true(knd_trace_is_header("B3"));
    assert_true(knd_trace_is_header("x-B3-sampled"));
    assert_false(knd_trace_is_header("tracestate"));
    assert_false(knd_trace_is_header("x-request-id"));
}

static int test_count_sampled(knd_tracer_t *t, int n)
{
    int s = 0;
    for (int i = 0; i < n; i++) {
        knd_trace_ctx_t c;
        knd_trace_begin(t, NULL, &c);
        s += c.sampled;
    }
    return s;
}

static void test_sampling(void **state)
{
    fx_t *fx = *state;
    knd_tracer_configure(fx->t, true, NULL, 0.0, false);
    assert_int_equal(test_count_sampled(fx->t, 1000), 0);
    knd_tracer_configure(fx->t, true, NULL, 1.0, false);
    assert_int_equal(test_count_sampled(fx->t, 1000), 1000);
    /* Binomial(20000, 0.5): sd ~71, so +-500 is 7 sd. */
    knd_tracer_configure(fx->t, true, NULL, 0.5, false);
    int s = test_count_sampled(fx->t, 20000);
    assert_in_range(s, 9500, 10500);
    knd_tracer_configure(fx->t, true, NULL, 0.1, false);
    s = test_count_sampled(fx->t, 20000);
    assert_in_range(s, 1600, 2400);
    /* debug samples everything, out-of-range rates are clamped */
    knd_tracer_configure(fx->t, true, NULL, 0.0, true);
    assert_int_equal(test_count_sampled(fx->t, 500), 500);
    knd_tracer_configure(fx->t, true, NULL, 7.0, false);
    assert_int_equal(test_count_sampled(fx->t, 500), 500);
    knd_tracer_configure(fx->t, true, NULL, -1.0, false);
    assert_int_equal(test_count_sampled(fx->t, 500), 0);
    /* disabled: nothing of its own is sampled, an incoming decision passes through */
    knd_tracer_configure(fx->t, false, NULL, 1.0, true);
    assert_false(knd_tracer_enabled(fx->t));
    assert_int_equal(test_count_sampled(fx->t, 500), 0);
    knd_trace_ctx_t c;
    test_begin(fx->t, (const char *const[]){"traceparent", "00-" TID "-" SID "-01", NULL}, &c);
    assert_true(c.sampled);
    knd_trace_span(fx->t, &c, "ignored", "SERVER", 1, 1, NULL);
    assert_int_equal(knd_tracer_queued(fx->t), 0);
}

static void test_endpoint_parse(void **state)
{
    (void)state;
    static const struct {
        const char *url, *host, *host_port;
        int port, family;
        const char *path;
    } good[] = {
        {"http://127.0.0.1:9411/api/v2/spans", "127.0.0.1", "127.0.0.1:9411", 9411, AF_INET,
         "/api/v2/spans"},
        {"http://localhost", "localhost", "localhost", 80, AF_UNSPEC, "/"},
        {"HTTP://LOCALHOST:1/x?y=1", "LOCALHOST", "LOCALHOST:1", 1, AF_UNSPEC, "/x?y=1"},
        {"http://zipkin.istio-system.svc.cluster.local:9411/api/v2/spans",
         "zipkin.istio-system.svc.cluster.local", "zipkin.istio-system.svc.cluster.local:9411",
         9411, AF_UNSPEC, "/api/v2/spans"},
        {"http://jaeger-collector.observability:9411", "jaeger-collector.observability",
         "jaeger-collector.observability:9411", 9411, AF_UNSPEC, "/"},
        {"http://collector.example.com.:80/api/v2/spans#top", "collector.example.com.",
         "collector.example.com.:80", 80, AF_UNSPEC, "/api/v2/spans"},
        {"http://my_host:9411/", "my_host", "my_host:9411", 9411, AF_UNSPEC, "/"},
        {"http://10.0.0.5:9411?x=1", "10.0.0.5", "10.0.0.5:9411", 9411, AF_INET, "/?x=1"},
        {"http://192.0.2.1:65535/a/b/c", "192.0.2.1", "192.0.2.1:65535", 65535, AF_INET,
         "/a/b/c"},
        {"http://[::1]:9411/api/v2/spans", "::1", "[::1]:9411", 9411, AF_INET6, "/api/v2/spans"},
        {"http://[2001:DB8::7]/", "2001:DB8::7", "[2001:DB8::7]", 80, AF_INET6, "/"},
        {"http://[::ffff:127.0.0.1]:09411", "::ffff:127.0.0.1", "[::ffff:127.0.0.1]:09411", 9411,
         AF_INET6, "/"},
    };
    knd_trace_endpoint_t ep;
    knd_err_t err;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (knd_trace_parse_endpoint(good[i].url, &ep, &err) != 0)
            fail_msg("rejected \"%s\": %s", good[i].url, err.msg);
        if (strcmp(ep.host, good[i].host) != 0 || strcmp(ep.host_port, good[i].host_port) != 0 ||
            ep.port != good[i].port || ep.family != good[i].family ||
            strcmp(ep.path, good[i].path) != 0)
            fail_msg("\"%s\" -> host \"%s\" host_port \"%s\" port %d family %d path \"%s\"",
                     good[i].url, ep.host, ep.host_port, ep.port, ep.family, ep.path);
    }

    char long_label[128], long_path[2100];
    snprintf(long_label, sizeof(long_label), "http://%064d.example/", 7);
    memcpy(long_path, "http://h/", 9);
    memset(long_path + 9, 'p', sizeof(long_path) - 10);
    long_path[sizeof(long_path) - 1] = '\0';
    const struct {
        const char *url, *why;
    } bad[] = {
        {"https://127.0.0.1:9411/api/v2/spans", "https is not supported"},
        {"HTTPS://zipkin.example.com/api/v2/spans", "https is not supported"},
        {"ftp://zipkin/", "not an http:// URL"},
        {"127.0.0.1:9411", "not an http:// URL"},
        {"", "no URL"},
        {NULL, "no URL"},
        {"http://", "no host"},
        {"http:///api/v2/spans", "no host"},
        {"http://:9411/", "no host"},
        {"http://[]:9411/", "no host"},
        {"http://user:secret@zipkin:9411/", "credentials"},
        {"http://127.0.0.1:0/x", "port out of range"},
        {"http://127.0.0.1:65536/x", "port out of range"},
        {"http://127.0.0.1:99999999999999999999/x", "port out of range"},
        {"http://127.0.0.1:/x", "empty port"},
        {"http://127.0.0.1:12ab/x", "port is not a number"},
        {"http://127.0.0.1:9411/a b", "space or control character"},
        {"http://127.0.0.1:9411/a\r\nX-Evil: 1", "space or control character"},
        {"http://256.1.1.1/", "invalid IPv4 address"},
        {"http://127.0.0.1./", "invalid IPv4 address"},
        {"http://[::1/", "closing ']'"},
        {"http://[::g]/", "invalid IPv6 address"},
        {"http://[127.0.0.1]/", "invalid IPv6 address"},
        {"http://[fe80::1%25eth0]:9411/", "zone ids"},
        {"http://[::1]x/", "unexpected 'x' after the host"},
        {"http://zip kin/", "invalid character 0x20 in host"},
        {"http://zip*kin/", "invalid character '*' in host"},
        {"http://a..b/", "empty label"},
        {"http://.a/", "empty label"},
        {long_label, "label longer than 63"},
        {long_path, "path longer than"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        knd_err_clear(&err);
        if (knd_trace_parse_endpoint(bad[i].url, &ep, &err) == 0)
            fail_msg("accepted endpoint \"%s\"", bad[i].url);
        if (err.code != KND_E_INVALID || strstr(err.msg, bad[i].why) == NULL)
            fail_msg("\"%s\": reason \"%s\", expected \"%s\"", bad[i].url, err.msg, bad[i].why);
    }
}

/* ------------------------------------------------------------------ export */

static json_t *test_find_span(fx_t *fx, const char *name)
{
    size_t i;
    json_t *s;
    json_array_foreach(fx->spans, i, s) {
        const char *n = json_string_value(json_object_get(s, "name"));
        if (n && strcmp(n, name) == 0)
            return s;
    }
    return NULL;
}

static const char *test_str(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "(missing)";
}

static void test_export_batch(void **state)
{
    fx_t *fx = *state;
    test_configure_local(fx, 1.0);
    knd_tracer_set_timing(fx->t, 50, 0);
    knd_trace_ctx_t srv, q, cl, unsampled;
    test_begin(fx->t, (const char *const[]){"traceparent", "00-" TID "-" SID "-01", NULL}, &srv);
    knd_trace_child(&srv, &q);
    knd_trace_child(&srv, &cl);
    unsampled = srv;
    unsampled.sampled = false;
    uint64_t now = knd_trace_now_us();
    assert_true(now > 1600000000ull * 1000000ull);
    knd_trace_span(fx->t, &srv, "hello.default.example.com", "SERVER", now, 1500,
                   (const char *const[]){"http.method", "GET", "http.status_code", "200",
                                         "knative.dev/revision", "hello-00001", NULL});
    knd_trace_span(fx->t, &q, "activator_queue", NULL, now + 10, 0, NULL);
    knd_trace_span(fx->t, &cl, "instance", "CLIENT", now + 20, 900, NULL);
    knd_trace_span(fx->t, &unsampled, "never", "SERVER", now, 1, NULL);
    assert_int_equal(knd_tracer_queued(fx->t), 3);
    WAIT_FOR(fx, knd_tracer_exported(fx->t) == 3);
    assert_int_equal(fx->posts, 1);
    assert_int_equal(knd_tracer_dropped(fx->t), 0);
    assert_string_equal(fx->method, "POST");
    assert_string_equal(fx->url, "/api/v2/spans");
    assert_string_equal(fx->ctype, "application/json");
    char host[64];
    snprintf(host, sizeof(host), "127.0.0.1:%d", fx->port);
    assert_string_equal(fx->host, host);
    assert_int_equal(json_array_size(fx->spans), 3);

    json_t *s = test_find_span(fx, "hello.default.example.com");
    assert_non_null(s);
    assert_string_equal(test_str(s, "traceId"), TID);
    assert_string_equal(test_str(s, "id"), srv.span_id);
    assert_string_equal(test_str(s, "parentId"), SID);
    assert_string_equal(test_str(s, "kind"), "SERVER");
    assert_true(json_integer_value(json_object_get(s, "timestamp")) == (json_int_t)now);
    assert_int_equal(json_integer_value(json_object_get(s, "duration")), 1500);
    assert_string_equal(test_str(json_object_get(s, "localEndpoint"), "serviceName"), "knd");
    json_t *tags = json_object_get(s, "tags");
    assert_string_equal(test_str(tags, "http.method"), "GET");
    assert_string_equal(test_str(tags, "http.status_code"), "200");
    assert_string_equal(test_str(tags, "knative.dev/revision"), "hello-00001");
    assert_null(json_object_get(s, "debug"));

    s = test_find_span(fx, "activator_queue");
    assert_non_null(s);
    assert_string_equal(test_str(s, "parentId"), srv.span_id);
    assert_null(json_object_get(s, "kind"));
    assert_null(json_object_get(s, "tags"));
    assert_int_equal(json_integer_value(json_object_get(s, "duration")), 1); /* never 0 */
    s = test_find_span(fx, "instance");
    assert_non_null(s);
    assert_string_equal(test_str(s, "kind"), "CLIENT");
    assert_string_equal(test_str(s, "id"), cl.span_id);
    assert_null(test_find_span(fx, "never"));
}

/* A root span has no parentId; 100 queued spans leave without waiting for the flush timer. */
static void test_export_root_and_full_batch(void **state)
{
    fx_t *fx = *state;
    test_configure_local(fx, 1.0);
    knd_tracer_set_timing(fx->t, 60000, 0);
    knd_trace_ctx_t c;
    knd_trace_begin(fx->t, NULL, &c);
    for (int i = 0; i < KND_TRACE_BATCH_MIN; i++)
        knd_trace_span(fx->t, &c, i == 0 ? "root" : "more", "SERVER", knd_trace_now_us(), 5,
                       NULL);
    WAIT_FOR(fx, knd_tracer_exported(fx->t) == KND_TRACE_BATCH_MIN);
    json_t *s = test_find_span(fx, "root");
    assert_non_null(s);
    assert_null(json_object_get(s, "parentId"));
    assert_string_equal(test_str(s, "traceId"), c.trace_id);
}

static void test_export_debug_flag(void **state)
{
    fx_t *fx = *state;
    test_configure_local(fx, 0.0);
    knd_tracer_set_timing(fx->t, 20, 0);
    knd_trace_ctx_t c;
    test_begin(fx->t, (const char *const[]){"X-B3-Flags", "1", NULL}, &c);
    assert_true(c.sampled);
    knd_trace_span(fx->t, &c, "dbg", "SERVER", knd_trace_now_us(), 5, NULL);
    WAIT_FOR(fx, knd_tracer_exported(fx->t) == 1);
    assert_true(json_is_true(json_object_get(test_find_span(fx, "dbg"), "debug")));
}

static void test_record_n(fx_t *fx, int n)
{
    knd_trace_ctx_t c;
    knd_trace_begin(fx->t, NULL, &c);
    for (int i = 0; i < n; i++)
        knd_trace_span(fx->t, &c, "s", "SERVER", knd_trace_now_us(), 5, NULL);
}

static void test_export_collector_down(void **state)
{
    fx_t *fx = *state;
    /* Nothing listens on the stub's port once it is closed. */
    knd_http_server_close(fx->srv, test_col_closed, fx);
    fx->srv = NULL;
    WAIT_FOR(fx, fx->srv_done);
    test_configure_local(fx, 1.0);
    knd_tracer_set_timing(fx->t, 20, 0);
    test_record_n(fx, 7);
    WAIT_FOR(fx, knd_tracer_dropped(fx->t) == 7);
    assert_int_equal(knd_tracer_exported(fx->t), 0);
    /* It keeps trying with later spans. */
    test_record_n(fx, 3);
    WAIT_FOR(fx, knd_tracer_dropped(fx->t) == 10);
    assert_int_equal(knd_tracer_queued(fx->t), 0);
}

static void test_export_collector_fails(void **state)
{
    fx_t *fx = *state;
    fx->mode = COL_FAIL;
    test_configure_local(fx, 1.0);
    knd_tracer_set_timing(fx->t, 20, 0);
    test_record_n(fx, 4);
    WAIT_FOR(fx, knd_tracer_dropped(fx->t) == 4);
    assert_int_equal(fx->posts, 1);
    assert_int_equal(knd_tracer_exported(fx->t), 0);
    fx->mode = COL_ACCEPT;
    test_record_n(fx, 2);
    WAIT_FOR(fx, knd_tracer_exported(fx->t) == 2);
    assert_int_equal(knd_tracer_dropped(fx->t), 4);
}

static void test_export_collector_slow(void **state)
{
    fx_t *fx = *state;
    fx->mode = COL_HANG;
    test_configure_local(fx, 1.0);
    knd_tracer_set_timing(fx->t, 20, 150);
    test_record_n(fx, 5);
    WAIT_FOR(fx, fx->posts == 1);
    /* Spans recorded while the POST hangs wait in the queue; the request path never blocks. */
    test_record_n(fx, 2);
    assert_int_equal(knd_tracer_queued(fx->t), 2);
    WAIT_FOR(fx, knd_tracer_dropped(fx->t) >= 5);
    WAIT_FOR(fx, fx->aborts >= 1); /* the tracer hung up */
    WAIT_FOR(fx, knd_tracer_dropped(fx->t) == 7);
    assert_int_equal(knd_tracer_exported(fx->t), 0);
}

static void test_queue_bound(void **state)
{
    fx_t *fx = *state;
    test_configure_local(fx, 1.0);
    /* No loop runs while recording: the queue fills up to its bound. */
    test_record_n(fx, KND_TRACE_QUEUE_MAX + 25);
    assert_int_equal(knd_tracer_queued(fx->t), KND_TRACE_QUEUE_MAX);
    assert_int_equal(knd_tracer_dropped(fx->t), 25);
    WAIT_FOR(fx, knd_tracer_exported(fx->t) == KND_TRACE_QUEUE_MAX);
    assert_int_equal(fx->posts, KND_TRACE_QUEUE_MAX / KND_TRACE_BATCH_MAX);
    assert_int_equal(json_array_size(fx->spans), KND_TRACE_QUEUE_MAX);
}

/* A collector named by DNS: resolved off the loop once, the answer reused for 30 s and asked
 * again after a failed connect; the Host header names the endpoint as written. */
static void test_export_via_name(void **state)
{
    fx_t *fx = *state;
    char url[128], host[64];
    snprintf(url, sizeof(url), "http://localhost:%d/api/v2/spans", fx->port);
    snprintf(host, sizeof(host), "localhost:%d", fx->port);
    knd_tracer_configure(fx->t, true, url, 1.0, false);
    knd_tracer_set_timing(fx->t, 20, 0);
    test_record_n(fx, 3);
    assert_int_equal(knd_tracer_queued(fx->t), 3); /* nothing was resolved on the way in */
    assert_int_equal(fx->t->resolutions, 0);
    WAIT_FOR(fx, knd_tracer_exported(fx->t) == 3);
    assert_int_equal(fx->t->resolutions, 1);
    assert_string_equal(fx->host, host);
    assert_string_equal(fx->url, "/api/v2/spans");
    /* The answer is reused, also when the same endpoint is configured again. */
    knd_tracer_configure(fx->t, true, url, 1.0, false);
    test_record_n(fx, 2);
    WAIT_FOR(fx, knd_tracer_exported(fx->t) == 5);
    assert_int_equal(fx->t->resolutions, 1);
    /* An answer older than KND_TRACE_RESOLVE_MS is asked for again. */
    fx->t->resolved_at -= KND_TRACE_RESOLVE_MS;
    test_record_n(fx, 1);
    WAIT_FOR(fx, knd_tracer_exported(fx->t) == 6);
    assert_int_equal(fx->t->resolutions, 2);
    assert_int_equal(knd_tracer_dropped(fx->t), 0);
    /* The collector goes away: that batch is dropped, and the next one asks the resolver
     * again before connecting. */
    knd_http_server_close(fx->srv, test_col_closed, fx);
    fx->srv = NULL;
    WAIT_FOR(fx, fx->srv_done);
    test_record_n(fx, 2);
    WAIT_FOR(fx, knd_tracer_dropped(fx->t) == 2);
    assert_int_equal(fx->t->resolutions, 2);
    test_record_n(fx, 1);
    WAIT_FOR(fx, knd_tracer_dropped(fx->t) == 3);
    assert_int_equal(fx->t->resolutions, 3);
    assert_int_equal(knd_tracer_exported(fx->t), 6);
}

/* An IPv6 literal: connected to directly (no resolver), Host in brackets. */
static void test_export_ipv6_literal(void **state)
{
    fx_t *fx = *state;
    knd_err_t err;
    if (knd_http_server_listen_tcp(&fx->loop, "::1", 0, NULL, test_col_on_request, fx, &fx->srv6,
                                   &err) != 0) {
        fx->srv6 = NULL;
        print_message("no IPv6 loopback here (%s): skipped\n", err.msg);
        skip();
    }
    int port = knd_http_server_port(fx->srv6);
    char url[128], host[64];
    snprintf(url, sizeof(url), "http://[::1]:%d/api/v2/spans?v6=1", port);
    snprintf(host, sizeof(host), "[::1]:%d", port);
    knd_tracer_configure(fx->t, true, url, 1.0, false);
    knd_tracer_set_timing(fx->t, 20, 0);
    test_record_n(fx, 4);
    WAIT_FOR(fx, knd_tracer_exported(fx->t) == 4);
    assert_int_equal(fx->posts, 1);
    assert_string_equal(fx->host, host);
    assert_string_equal(fx->url, "/api/v2/spans?v6=1");
    assert_int_equal(fx->t->resolutions, 0);
    assert_int_equal(knd_tracer_dropped(fx->t), 0);
}

/* A name that does not resolve: spans dropped and counted, the failure logged once per
 * endpoint, the answer kept for 30 s like a good one; a working endpoint afterwards exports. */
static void test_unresolvable_endpoint(void **state)
{
    fx_t *fx = *state;
    const char *url = "http://nosuch.invalid:9411/api/v2/spans";
    test_log_capture(fx);
    knd_tracer_configure(fx->t, true, url, 1.0, false);
    knd_tracer_set_timing(fx->t, 10, 0);
    assert_true(knd_tracer_enabled(fx->t));
    test_record_n(fx, 3);
    assert_int_equal(knd_tracer_queued(fx->t), 3);
    assert_int_equal(knd_tracer_dropped(fx->t), 0);
    WAIT_FOR_RESOLVER(fx, knd_tracer_dropped(fx->t) == 3);
    assert_int_equal(fx->t->resolutions, 1);
    /* Within 30 s the failed answer stands: dropped without asking again. */
    knd_tracer_configure(fx->t, true, url, 1.0, false);
    test_record_n(fx, 2);
    WAIT_FOR(fx, knd_tracer_dropped(fx->t) == 5);
    assert_int_equal(fx->t->resolutions, 1);
    /* Asked again later: it still fails, and is not logged again. */
    fx->t->resolved_at -= KND_TRACE_RESOLVE_MS;
    test_record_n(fx, 1);
    WAIT_FOR_RESOLVER(fx, knd_tracer_dropped(fx->t) == 6);
    assert_int_equal(fx->t->resolutions, 2);
    assert_int_equal(test_log_count(fx, "nosuch.invalid", NULL), 1);
    assert_int_equal(test_log_count(fx, "WARN", "cannot resolve nosuch.invalid"), 1);
    /* Another endpoint is another warning. */
    knd_tracer_configure(fx->t, true, "http://other.invalid/", 1.0, false);
    test_record_n(fx, 1);
    WAIT_FOR_RESOLVER(fx, knd_tracer_dropped(fx->t) == 7);
    assert_int_equal(test_log_count(fx, "WARN", "other.invalid"), 1);
    test_log_restore(fx);
    assert_int_equal(knd_tracer_exported(fx->t), 0);
    assert_int_equal(fx->posts, 0);
    /* Reconfigured to a reachable collector, the next spans arrive. */
    test_configure_local(fx, 1.0);
    test_record_n(fx, 2);
    WAIT_FOR(fx, knd_tracer_exported(fx->t) == 2);
    assert_int_equal(knd_tracer_dropped(fx->t), 7);
}

/* https:// stays unsupported: a clear warning naming the endpoint, once; spans dropped. */
static void test_https_endpoint(void **state)
{
    fx_t *fx = *state;
    const char *url = "https://zipkin.example.com:9411/api/v2/spans";
    test_log_capture(fx);
    knd_tracer_configure(fx->t, true, url, 1.0, false);
    knd_tracer_configure(fx->t, true, url, 1.0, false);
    knd_tracer_set_timing(fx->t, 10, 0);
    test_record_n(fx, 3);
    WAIT_FOR(fx, knd_tracer_dropped(fx->t) == 3);
    knd_tracer_configure(fx->t, true, url, 0.5, false);
    assert_int_equal(test_log_count(fx, "WARN", url), 1);
    assert_int_equal(test_log_count(fx, url, "https is not supported"), 1);
    /* Disabled, a bad endpoint is not worth a warning; enabled again it is (once). */
    knd_tracer_configure(fx->t, false, "https://elsewhere/", 1.0, false);
    assert_int_equal(test_log_count(fx, "https://elsewhere/", NULL), 0);
    knd_tracer_configure(fx->t, true, "https://elsewhere/", 1.0, false);
    knd_tracer_configure(fx->t, true, "https://elsewhere/", 1.0, false);
    assert_int_equal(test_log_count(fx, "https://elsewhere/", NULL), 1);
    test_log_restore(fx);
    assert_int_equal(fx->t->resolutions, 0);
    assert_int_equal(knd_tracer_exported(fx->t), 0);
}

static void test_block_work(uv_work_t *w)
{
    (void)w;
    uv_sleep(300);
}

static void test_block_done(uv_work_t *w, int status)
{
    (void)status;
    free(w);
}

/* close while the resolver has not answered: the lookup is cancelled (the thread pool is kept
 * busy so it cannot start), its callback still runs before the tracer is freed, and the spans
 * that were waiting for it are dropped. */
static void test_close_while_resolving(void **state)
{
    fx_t *fx = *state;
    const char *env = getenv("UV_THREADPOOL_SIZE");
    int threads = env ? atoi(env) : 4;
    for (int i = 0; i < threads; i++)
        assert_int_equal(uv_queue_work(&fx->loop, calloc(1, sizeof(uv_work_t)), test_block_work,
                                       test_block_done),
                         0);
    char url[128];
    snprintf(url, sizeof(url), "http://localhost:%d/api/v2/spans", fx->port);
    knd_tracer_configure(fx->t, true, url, 1.0, false);
    test_record_n(fx, KND_TRACE_BATCH_MIN);
    WAIT_FOR(fx, fx->t->resolving);
    test_close_tracer(fx);
    assert_int_equal(fx->posts, 0);
}

/* A batch on its way is sent as it was built, whatever the configuration becomes meanwhile. */
static void test_reconfigure_during_export(void **state)
{
    fx_t *fx = *state;
    test_configure_local(fx, 1.0);
    test_record_n(fx, KND_TRACE_BATCH_MIN);
    WAIT_FOR(fx, knd_tracer_queued(fx->t) == 0);
    knd_tracer_configure(fx->t, true, "http://192.0.2.1:9411/api/v2/spans", 1.0, false);
    WAIT_FOR(fx, knd_tracer_exported(fx->t) == KND_TRACE_BATCH_MIN);
    assert_string_equal(fx->url, "/api/v2/spans");
    knd_tracer_configure(fx->t, false, NULL, 1.0, false);
    assert_false(knd_tracer_enabled(fx->t));
    test_record_n(fx, 5);
    assert_int_equal(knd_tracer_queued(fx->t), 0);
}

/* close flushes what is queued, waits for the POST, then frees. */
static void test_close_flushes(void **state)
{
    fx_t *fx = *state;
    test_configure_local(fx, 1.0);
    knd_tracer_set_timing(fx->t, 60000, 0);
    test_record_n(fx, 6);
    test_close_tracer(fx);
    assert_int_equal(fx->posts, 1);
    assert_int_equal(json_array_size(fx->spans), 6);
}

/* close while a POST hangs: bounded by the timeout. */
static void test_close_while_hanging(void **state)
{
    fx_t *fx = *state;
    fx->mode = COL_HANG;
    test_configure_local(fx, 1.0);
    knd_tracer_set_timing(fx->t, 10, 100);
    test_record_n(fx, 3);
    WAIT_FOR(fx, fx->posts == 1);
    test_record_n(fx, 2); /* queued behind the hanging POST: dropped at close */
    test_close_tracer(fx);
    assert_int_equal(fx->posts, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_traceparent_continues, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_traceparent_invalid, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_b3_single, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_b3_multi, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_ids_and_child, test_setup, test_teardown),
        cmocka_unit_test(test_headers),
        cmocka_unit_test_setup_teardown(test_sampling, test_setup, test_teardown),
        cmocka_unit_test(test_endpoint_parse),
        cmocka_unit_test_setup_teardown(test_export_batch, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_export_root_and_full_batch, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_export_debug_flag, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_export_collector_down, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_export_collector_fails, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_export_collector_slow, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_queue_bound, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_export_via_name, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_export_ipv6_literal, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_unresolvable_endpoint, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_https_endpoint, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_close_while_resolving, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_reconfigure_during_export, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_close_flushes, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_close_while_hanging, test_setup, test_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
