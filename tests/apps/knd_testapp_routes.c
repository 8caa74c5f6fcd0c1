/*
 * knd_testapp_routes.c - what knd-testapp answers: the endpoints and the query parameters that
 * shape any response (burn_ms=, sleep=, status=, bytes=, chunked=, chunk_size=, chunk_delay_ms=).
 * The contract is tests/apps/README.md; tests depend on it, so change both together.
 *
 * Response bodies here are small and built whole; large ones (bytes=, /echo) stream through
 * knd_testapp_conn.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "knd_alloc.h"
#include "knd_testapp.h"

extern char **environ;

/* ---------------------------------------------------------------- request line */

static long long knd_testapp_routes_number(const char *s)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0)
        return -1;
    return v;
}

static void knd_testapp_routes_parse_query(knd_testapp_conn_t *c, char *query)
{
    knd_testapp_opts_t *o = &c->opts;
    char *save = NULL, *kv, *val;

    for (kv = strtok_r(query, "&", &save); kv != NULL; kv = strtok_r(NULL, "&", &save)) {
        val = strchr(kv, '=');
        if (val == NULL)
            continue;
        *val++ = '\0';
        if (strcmp(kv, "sleep") == 0)
            o->sleep_ms = knd_testapp_routes_number(val);
        else if (strcmp(kv, "status") == 0)
            o->status = knd_testapp_routes_number(val);
        else if (strcmp(kv, "bytes") == 0)
            o->bytes = knd_testapp_routes_number(val);
        else if (strcmp(kv, "chunk_size") == 0)
            o->chunk_size = knd_testapp_routes_number(val);
        else if (strcmp(kv, "chunk_delay_ms") == 0)
            o->chunk_delay_ms = knd_testapp_routes_number(val);
        else if (strcmp(kv, "burn_ms") == 0)
            o->burn_ms = knd_testapp_routes_number(val);
        else if (strcmp(kv, "code") == 0)
            o->code = knd_testapp_routes_number(val);
        else if (strcmp(kv, "chunked") == 0)
            o->chunked = strcmp(val, "1") == 0 || strcmp(val, "true") == 0;
    }
}

static knd_testapp_route_t knd_testapp_routes_match(const char *path)
{
    static const struct {
        const char *path;
        knd_testapp_route_t route;
    } table[] = {
        {"/env", KND_TESTAPP_ROUTE_ENV},
        {"/headers", KND_TESTAPP_ROUTE_HEADERS},
        {"/echo", KND_TESTAPP_ROUTE_ECHO},
        {"/healthz", KND_TESTAPP_ROUTE_HEALTHZ},
        {"/toggle-ready", KND_TESTAPP_ROUTE_TOGGLE_READY},
        {"/stats", KND_TESTAPP_ROUTE_STATS},
        {"/crash", KND_TESTAPP_ROUTE_CRASH},
        {"/exit", KND_TESTAPP_ROUTE_EXIT},
        {"/ws", KND_TESTAPP_ROUTE_WS},
    };
    size_t i;

    for (i = 0; i < KND_ARRAY_SIZE(table); i++)
        if (strcmp(path, table[i].path) == 0)
            return table[i].route;
    return KND_TESTAPP_ROUTE_HELLO; /* like Go's "/" pattern: every other path says hello */
}

static int knd_testapp_routes_is_control(knd_testapp_route_t r)
{
    /* Probes and stats reads must not disturb the concurrency that tests measure. */
    return r == KND_TESTAPP_ROUTE_HEALTHZ || r == KND_TESTAPP_ROUTE_TOGGLE_READY ||
           r == KND_TESTAPP_ROUTE_STATS;
}

/* ---------------------------------------------------------------- /echo */

static void knd_testapp_routes_echo_head(knd_testapp_conn_t *c)
{
    const char *ct = knd_testapp_conn_header(c, "content-type");
    const char *cl = knd_testapp_conn_header(c, "content-length");
    long long len = -1;
    int status = c->opts.status >= 200 && c->opts.status <= 599 ? (int)c->opts.status : 200;

    /* Same framing as the request: a known length is echoed with that length. */
    if (!c->opts.chunked && knd_testapp_conn_header(c, "transfer-encoding") == NULL)
        len = cl != NULL ? knd_testapp_routes_number(cl) : 0;
    if (c->http10 && len < 0)
        c->keep_alive = 0; /* HTTP/1.0 has no chunked encoding: the close ends the body */
    knd_testapp_conn_write_head(c, status, ct != NULL ? ct : "application/octet-stream", len,
                                NULL);
}

static void knd_testapp_routes_on_echo_timer(uv_timer_t *t)
{
    knd_testapp_conn_t *c = t->data;

    knd_testapp_routes_echo_head(c);
    knd_testapp_conn_resume(c);
}

/* ---------------------------------------------------------------- begin */

int knd_testapp_routes_begin(knd_testapp_conn_t *c)
{
    knd_testapp_t *app = c->app;
    const char *url = knd_buf_cstr(&c->url);
    const char *query = strchr(url, '?');
    const char *expect = knd_testapp_conn_header(c, "expect");
    int rc = 0;

    memset(&c->opts, 0xff, sizeof(c->opts)); /* every option -1: not given */
    c->opts.chunked = 0;
    knd_buf_append(&c->path, url, query != NULL ? (size_t)(query - url) : c->url.len);
    if (query != NULL) {
        knd_buf_puts(&c->query, query + 1);
        knd_testapp_routes_parse_query(c, c->query.p);
    }
    c->route = knd_testapp_routes_match(knd_buf_cstr(&c->path));
    c->busy = 1;
    if (!knd_testapp_routes_is_control(c->route)) {
        c->counted = 1;
        app->inflight++;
        app->requests++;
        if (app->inflight > app->max_inflight)
            app->max_inflight = app->inflight;
    }
    c->inflight_at_start = app->inflight;

    if (c->route == KND_TESTAPP_ROUTE_CRASH) {
        fprintf(stderr, "knd-testapp: /crash requested, exiting with code 3\n");
        _exit(3);
    }
    if (c->route == KND_TESTAPP_ROUTE_EXIT) {
        fprintf(stderr, "knd-testapp: /exit requested, exiting with code %lld\n",
                c->opts.code < 0 ? 0 : c->opts.code);
        _exit(c->opts.code < 0 ? 0 : (int)(c->opts.code & 0xff));
    }
    if (expect != NULL && strcasecmp(expect, "100-continue") == 0)
        knd_testapp_conn_write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    if (c->route == KND_TESTAPP_ROUTE_ECHO) {
        /* The body streams back as it arrives, so the response starts now (or after sleep). */
        if (c->opts.sleep_ms > 0) {
            c->hold = 1;
            uv_timer_start(&c->timer, knd_testapp_routes_on_echo_timer,
                           (uint64_t)c->opts.sleep_ms, 0);
            rc = HPE_PAUSED;
        } else {
            knd_testapp_routes_echo_head(c);
        }
    }
    return rc;
}

/* ---------------------------------------------------------------- bodies */

static char *knd_testapp_routes_env_json(void)
{
    json_t *o = json_object();
    char **e, *eq, *name;
    char *s;

    for (e = environ; *e != NULL; e++) {
        eq = strchr(*e, '=');
        if (eq == NULL)
            continue;
        name = knd_xstrndup(*e, (size_t)(eq - *e));
        json_object_set_new(o, name, json_string(eq + 1));
        free(name);
    }
    s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

static char *knd_testapp_routes_headers_json(knd_testapp_conn_t *c)
{
    json_t *o = json_object(), *h = json_object(), *prev;
    const char *host = knd_testapp_conn_header(c, "host");
    char *s, *joined;
    size_t i;

    for (i = 0; i < c->nheaders; i++) {
        const char *name = knd_testapp_conn_header_name(c, i);
        const char *value = knd_testapp_conn_header_value(c, i);

        prev = json_object_get(h, name);
        if (prev != NULL && json_string_value(prev) != NULL) {
            joined = knd_xasprintf("%s, %s", json_string_value(prev), value);
            json_object_set_new(h, name, json_string(joined));
            free(joined);
        } else {
            json_object_set_new(h, name, json_string(value));
        }
    }
    json_object_set_new(o, "method", json_string(llhttp_method_name(llhttp_get_method(&c->parser))));
    json_object_set_new(o, "url", json_string(knd_buf_cstr(&c->url)));
    json_object_set_new(o, "path", json_string(knd_buf_cstr(&c->path)));
    json_object_set_new(o, "host", json_string(host != NULL ? host : ""));
    json_object_set_new(o, "proto", json_string(c->http10 ? "HTTP/1.0" : "HTTP/1.1"));
    json_object_set_new(o, "headers", h);
    /* which revision answered: the runtime contract's K_REVISION (Knative removes its routing
     * headers before the container) */
    json_object_set_new(o, "revision", json_string(getenv("K_REVISION") ?: ""));
    s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

static char *knd_testapp_routes_stats_json(const knd_testapp_t *app)
{
    json_t *o = json_pack("{s:I, s:I, s:I, s:b}", "inflight", (json_int_t)app->inflight,
                          "max_inflight", (json_int_t)app->max_inflight, "requests",
                          (json_int_t)app->requests, "ready", knd_testapp_is_ready(app));
    char *s = json_dumps(o, JSON_SORT_KEYS);

    json_decref(o);
    return s;
}

/* Fills body/ctype for the route; returns the status code. Bodies are owned by the caller. */
static int knd_testapp_routes_body(knd_testapp_conn_t *c, knd_buf_t *body, const char **ctype)
{
    knd_testapp_t *app = c->app;
    char *json = NULL;
    int status = 200;

    *ctype = "application/json";
    switch (c->route) {
    case KND_TESTAPP_ROUTE_ENV:
        json = knd_testapp_routes_env_json();
        break;
    case KND_TESTAPP_ROUTE_HEADERS:
        json = knd_testapp_routes_headers_json(c);
        break;
    case KND_TESTAPP_ROUTE_STATS:
        json = knd_testapp_routes_stats_json(app);
        break;
    case KND_TESTAPP_ROUTE_TOGGLE_READY:
        app->forced_unready = !app->forced_unready;
        knd_buf_printf(body, "{\"ready\": %s}\n", knd_testapp_is_ready(app) ? "true" : "false");
        break;
    case KND_TESTAPP_ROUTE_HEALTHZ:
        *ctype = "text/plain";
        status = knd_testapp_is_ready(app) ? 200 : 503;
        knd_buf_puts(body, status == 200 ? "ok\n" : "not ready\n");
        break;
    case KND_TESTAPP_ROUTE_WS:
        *ctype = "text/plain";
        status = 400;
        knd_buf_puts(body, "expected a websocket upgrade\n");
        break;
    default:
        *ctype = "text/plain; charset=utf-8";
        knd_buf_cat(body, "Hello ", app->target, "!\n", NULL);
        break;
    }
    if (json != NULL) {
        knd_buf_puts(body, json);
        knd_buf_puts(body, "\n");
        free(json);
    }
    return status;
}

/* ---------------------------------------------------------------- respond */

static void knd_testapp_routes_respond_now(knd_testapp_conn_t *c)
{
    knd_buf_t *body = &c->body;
    const char *ctype = NULL;
    char size[24];
    int status, n, chunked = c->opts.chunked && !c->http10;

    knd_buf_reset(body);
    knd_testapp_conn_cork(c);
    status = knd_testapp_routes_body(c, body, &ctype);
    if (c->opts.status >= 200 && c->opts.status <= 599)
        status = (int)c->opts.status;
    if (c->app->log_requests)
        printf("%s %s %d\n", llhttp_method_name(llhttp_get_method(&c->parser)),
               knd_buf_cstr(&c->url), status);
    if (c->opts.bytes >= 0) {
        knd_testapp_conn_write_head(c, status, "application/octet-stream",
                                    chunked ? -1 : c->opts.bytes, NULL);
        knd_testapp_conn_stream(c, (uint64_t)c->opts.bytes);
        goto out;
    }
    knd_testapp_conn_write_head(c, status, ctype, chunked ? -1 : (long long)body->len, NULL);
    if (!c->head_only && chunked && body->len > 0) {
        n = snprintf(size, sizeof(size), "%zx\r\n", body->len);
        knd_testapp_conn_write(c, size, (size_t)n);
    }
    if (!c->head_only)
        knd_testapp_conn_write(c, body->p, body->len);
    if (!c->head_only && chunked)
        knd_testapp_conn_write(c, body->len > 0 ? "\r\n0\r\n\r\n" : "0\r\n\r\n",
                               body->len > 0 ? 7 : 5);
    knd_testapp_conn_finish(c);
out:
    knd_testapp_conn_uncork(c);
}

static void knd_testapp_routes_on_sleep_timer(uv_timer_t *t)
{
    knd_testapp_routes_respond_now(t->data);
}

static void knd_testapp_routes_after_burn(knd_testapp_conn_t *c)
{
    if (c->opts.sleep_ms > 0)
        uv_timer_start(&c->timer, knd_testapp_routes_on_sleep_timer, (uint64_t)c->opts.sleep_ms,
                       0);
    else
        knd_testapp_routes_respond_now(c);
}

/* ---------------------------------------------------------------- burn_ms= */

static uint64_t knd_testapp_routes_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * An idle handle, not a 0 ms timer: libuv runs a timer re-armed from its own callback again in
 * the same pass, without polling, while an active idle handle makes every pass poll first. So
 * probes, /stats and the other connections are answered between slices, and concurrent burns
 * take turns on the core as they would in a real CPU-bound server. The budget is CPU time, not
 * wall time: a request's burn_ms is what /proc accounts to the process for it.
 */
void knd_testapp_routes_on_burn_idle(uv_idle_t *h)
{
    knd_testapp_t *app = h->data;
    knd_testapp_conn_t *c, *turn = NULL;
    uint64_t start, used = 0, slice;
    volatile uint64_t sink = 0;

    for (c = app->conns; c != NULL; c = c->next)
        if (c->burn_left_ns > 0 && (turn == NULL || c->burn_turn < turn->burn_turn))
            turn = c;
    if (turn == NULL) { /* the burning connections have gone */
        uv_idle_stop(h);
        return;
    }
    slice = turn->burn_left_ns < KND_TESTAPP_BURN_SLICE_NS ? turn->burn_left_ns
                                                           : KND_TESTAPP_BURN_SLICE_NS;
    start = knd_testapp_routes_cpu_ns();
    while (used < slice) {
        for (int i = 0; i < 1000; i++)
            sink = sink * 6364136223846793005u + 1442695040888963407u;
        used = knd_testapp_routes_cpu_ns() - start;
    }
    turn->burn_left_ns -= used < turn->burn_left_ns ? used : turn->burn_left_ns;
    turn->burn_turn = app->burn_seq++;
    if (turn->burn_left_ns == 0)
        knd_testapp_routes_after_burn(turn);
}

void knd_testapp_routes_respond(knd_testapp_conn_t *c)
{
    if (c->opts.burn_ms > 0) {
        c->burn_left_ns = (uint64_t)c->opts.burn_ms * 1000000u;
        c->burn_turn = c->app->burn_seq++;
        uv_idle_start(&c->app->burn_idle, knd_testapp_routes_on_burn_idle);
    } else {
        knd_testapp_routes_after_burn(c);
    }
}
