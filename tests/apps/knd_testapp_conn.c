/*
 * knd_testapp_conn.c - one client connection of knd-testapp: reading into llhttp, writing
 * responses, streaming bodies with backpressure, keep-alive and closing.
 *
 * Flow control: reading stops while the parser is held for a response, while more than
 * KND_TESTAPP_BACKLOG_LIMIT bytes wait to be written, or while that much unparsed input is
 * buffered; so neither a large upload nor a slow reader makes the app buffer a body whole.
 * Ownership: every write copies its bytes into its own request; the connection is freed in the
 * close callback of its last handle.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_testapp.h"

#define KND_TESTAPP_CHUNK 65536

typedef struct {
    uv_write_t req;
    knd_testapp_conn_t *conn;
    size_t len;
    char data[];
} knd_testapp_wreq_t;

static void knd_testapp_conn_feed(knd_testapp_conn_t *c);
static void knd_testapp_conn_pump(knd_testapp_conn_t *c);

/* ---------------------------------------------------------------- request state */

static void knd_testapp_conn_reset_request(knd_testapp_conn_t *c)
{
    c->nheaders = 0;
    c->hfield_start = 0;
    knd_buf_reset(&c->hbuf);
    knd_buf_reset(&c->url);
    knd_buf_reset(&c->path);
    knd_buf_reset(&c->query);
}

const char *knd_testapp_conn_header_name(const knd_testapp_conn_t *c, size_t i)
{
    return c->hbuf.p + c->headers[i].name;
}

const char *knd_testapp_conn_header_value(const knd_testapp_conn_t *c, size_t i)
{
    return c->hbuf.p + c->headers[i].value;
}

const char *knd_testapp_conn_header(const knd_testapp_conn_t *c, const char *name)
{
    size_t i;

    for (i = 0; i < c->nheaders; i++)
        if (strcmp(knd_testapp_conn_header_name(c, i), name) == 0)
            return knd_testapp_conn_header_value(c, i);
    return NULL;
}

static knd_testapp_conn_t *knd_testapp_conn_of(llhttp_t *p)
{
    return p->data;
}

/* ---------------------------------------------------------------- llhttp callbacks */

static int knd_testapp_on_message_begin(llhttp_t *p)
{
    knd_testapp_conn_reset_request(knd_testapp_conn_of(p));
    return 0;
}

static int knd_testapp_on_url(llhttp_t *p, const char *at, size_t len)
{
    knd_buf_append(&knd_testapp_conn_of(p)->url, at, len);
    return 0;
}

/* A header arrives as name pieces, the end of the name, value pieces (none when empty) and the
 * end of the value; both ends become NULs in hbuf. */
static int knd_testapp_on_header_field(llhttp_t *p, const char *at, size_t len)
{
    knd_buf_append(&knd_testapp_conn_of(p)->hbuf, at, len);
    return 0;
}

static int knd_testapp_on_header_field_complete(llhttp_t *p)
{
    knd_testapp_conn_t *c = knd_testapp_conn_of(p);
    char *s;

    if (c->nheaders == KND_TESTAPP_MAX_HEADERS) {
        llhttp_set_error_reason(p, "too many headers");
        return -1;
    }
    knd_buf_append(&c->hbuf, "", 1);
    for (s = c->hbuf.p + c->hfield_start; *s != '\0'; s++)
        *s = (char)tolower((unsigned char)*s);
    return 0;
}

static int knd_testapp_on_header_value(llhttp_t *p, const char *at, size_t len)
{
    knd_buf_append(&knd_testapp_conn_of(p)->hbuf, at, len);
    return 0;
}

static int knd_testapp_on_header_value_complete(llhttp_t *p)
{
    knd_testapp_conn_t *c = knd_testapp_conn_of(p);
    knd_testapp_header_t *h = &c->headers[c->nheaders++];

    h->name = c->hfield_start;
    h->value = h->name + strlen(c->hbuf.p + h->name) + 1;
    knd_buf_append(&c->hbuf, "", 1);
    c->hfield_start = c->hbuf.len;
    return 0;
}

static int knd_testapp_on_headers_complete(llhttp_t *p)
{
    knd_testapp_conn_t *c = knd_testapp_conn_of(p);

    c->keep_alive = llhttp_should_keep_alive(p);
    c->http10 = llhttp_get_http_major(p) == 1 && llhttp_get_http_minor(p) == 0;
    c->head_only = llhttp_get_method(p) == HTTP_HEAD;
    return knd_testapp_routes_begin(c);
}

static int knd_testapp_on_body(llhttp_t *p, const char *at, size_t len)
{
    knd_testapp_conn_t *c = knd_testapp_conn_of(p);
    char size[24];
    int n;

    if (c->route != KND_TESTAPP_ROUTE_ECHO || len == 0)
        return 0; /* other endpoints read and drop the body */
    if (c->resp_chunked) {
        n = snprintf(size, sizeof(size), "%zx\r\n", len);
        knd_testapp_conn_write(c, size, (size_t)n);
    }
    knd_testapp_conn_write(c, at, len);
    if (c->resp_chunked)
        knd_testapp_conn_write(c, "\r\n", 2);
    return 0;
}

static int knd_testapp_on_message_complete(llhttp_t *p)
{
    knd_testapp_conn_t *c = knd_testapp_conn_of(p);

    if (c->route == KND_TESTAPP_ROUTE_WS && llhttp_get_upgrade(p)) {
        /* llhttp now returns HPE_PAUSED_UPGRADE; the feed loop switches to frames. */
        if (knd_testapp_ws_accept(c) == 0)
            c->ws = 1;
        return 0;
    }
    c->hold = 1;
    if (c->route == KND_TESTAPP_ROUTE_ECHO) {
        if (c->resp_chunked)
            knd_testapp_conn_write(c, "0\r\n\r\n", 5);
        knd_testapp_conn_finish(c);
    } else {
        knd_testapp_routes_respond(c);
    }
    return HPE_PAUSED; /* one request at a time: pipelined bytes wait in c->in */
}

static const llhttp_settings_t knd_testapp_settings = {
    .on_message_begin = knd_testapp_on_message_begin,
    .on_url = knd_testapp_on_url,
    .on_header_field = knd_testapp_on_header_field,
    .on_header_field_complete = knd_testapp_on_header_field_complete,
    .on_header_value = knd_testapp_on_header_value,
    .on_header_value_complete = knd_testapp_on_header_value_complete,
    .on_headers_complete = knd_testapp_on_headers_complete,
    .on_body = knd_testapp_on_body,
    .on_message_complete = knd_testapp_on_message_complete,
};

/* ---------------------------------------------------------------- closing */

static void knd_testapp_conn_on_close(uv_handle_t *h)
{
    knd_testapp_conn_t *c = h->data;
    knd_testapp_t *app = c->app;

    if (--c->handles_open > 0)
        return;
    knd_testapp_conn_reset_request(c);
    knd_buf_free(&c->in);
    knd_buf_free(&c->url);
    knd_buf_free(&c->path);
    knd_buf_free(&c->query);
    knd_buf_free(&c->hbuf);
    knd_buf_free(&c->pending);
    knd_buf_free(&c->head);
    knd_buf_free(&c->body);
    free(c);
    knd_testapp_maybe_exit(app);
}

void knd_testapp_conn_close(knd_testapp_conn_t *c)
{
    knd_testapp_t *app = c->app;

    if (c->handles_open == 0 || uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    c->closing = 1;
    if (c->counted) {
        app->inflight--;
        c->counted = 0;
    }
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        app->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    app->nconns--;
    uv_close((uv_handle_t *)&c->tcp, knd_testapp_conn_on_close);
    uv_close((uv_handle_t *)&c->timer, knd_testapp_conn_on_close);
}

static void knd_testapp_conn_on_shutdown(uv_shutdown_t *req, int status)
{
    knd_testapp_conn_t *c = req->data;

    free(req);
    knd_testapp_conn_close(c);
}

void knd_testapp_conn_shutdown(knd_testapp_conn_t *c)
{
    uv_shutdown_t *req;

    if (c->closing)
        return;
    c->closing = 1;
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
    req = knd_xmalloc(sizeof(*req));
    req->data = c;
    if (uv_shutdown(req, (uv_stream_t *)&c->tcp, knd_testapp_conn_on_shutdown) != 0) {
        free(req);
        c->closing = 0;
        knd_testapp_conn_close(c);
    }
}

void knd_testapp_conn_drain(knd_testapp_conn_t *c)
{
    if (c->ws)
        knd_testapp_ws_close(c, 1001); /* going away */
    else if (!c->busy)
        knd_testapp_conn_close(c);
    /* a busy connection closes when its response is finished */
}

/* ---------------------------------------------------------------- writing */

static void knd_testapp_conn_update_reading(knd_testapp_conn_t *c);

static void knd_testapp_conn_on_write(uv_write_t *req, int status)
{
    knd_testapp_wreq_t *w = (knd_testapp_wreq_t *)req;
    knd_testapp_conn_t *c = w->conn;

    free(w);
    if (c->closing && uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    if (status < 0) {
        knd_testapp_conn_close(c);
        return;
    }
    if (c->streaming && c->opts.chunk_delay_ms <= 0)
        knd_testapp_conn_pump(c);
    knd_testapp_conn_update_reading(c);
}

/*
 * Sends the held bytes, if any, and data after them in one write. With nothing queued the
 * socket is tried first, as knd's ingress does: a response that fits is then sent without a
 * write request, a copy, or the epoll_ctl that libuv issues after every completed uv_write.
 * What the socket does not take, or an error, goes through uv_write and its callback.
 */
static void knd_testapp_conn_send(knd_testapp_conn_t *c, const void *data, size_t len)
{
    size_t held = c->pending.len, skip = 0;
    knd_testapp_wreq_t *w;
    uv_buf_t bufs[2], buf;
    unsigned nbufs = 0;
    int rc;

    if (held > 0)
        bufs[nbufs++] = uv_buf_init(c->pending.p, (unsigned)held);
    if (len > 0)
        bufs[nbufs++] = uv_buf_init((char *)data, (unsigned)len);
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0 && nbufs > 0) {
        rc = uv_try_write((uv_stream_t *)&c->tcp, bufs, nbufs);
        skip = rc > 0 ? (size_t)rc : 0;
        if (skip == held + len) {
            knd_buf_reset(&c->pending);
            return;
        }
    }
    w = knd_xmalloc(sizeof(*w) + held + len - skip);
    w->conn = c;
    w->len = 0;
    if (skip < held) {
        memcpy(w->data, c->pending.p + skip, held - skip);
        w->len = held - skip;
        skip = 0;
    } else {
        skip -= held;
    }
    if (len > skip)
        memcpy(w->data + w->len, (const char *)data + skip, len - skip);
    w->len += len - skip;
    knd_buf_reset(&c->pending);
    buf = uv_buf_init(w->data, (unsigned)w->len);
    rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, knd_testapp_conn_on_write);
    if (rc != 0) {
        free(w);
        knd_testapp_conn_close(c);
    }
}

void knd_testapp_conn_write(knd_testapp_conn_t *c, const void *data, size_t len)
{
    if (c->closing || len == 0)
        return;
    if (c->corked && c->pending.len == 0)
        knd_buf_append(&c->pending, data, len);
    else
        knd_testapp_conn_send(c, data, len);
}

void knd_testapp_conn_cork(knd_testapp_conn_t *c)
{
    c->corked = 1;
}

void knd_testapp_conn_uncork(knd_testapp_conn_t *c)
{
    c->corked = 0;
    if (c->pending.len > 0 && !c->closing)
        knd_testapp_conn_send(c, NULL, 0);
}

static const char *knd_testapp_conn_reason(int status)
{
    static const struct {
        int status;
        const char *reason;
    } table[] = {
        {101, "Switching Protocols"}, {200, "OK"}, {201, "Created"}, {202, "Accepted"},
        {204, "No Content"}, {301, "Moved Permanently"}, {302, "Found"}, {304, "Not Modified"},
        {400, "Bad Request"}, {401, "Unauthorized"}, {403, "Forbidden"}, {404, "Not Found"},
        {408, "Request Timeout"}, {418, "I'm a teapot"}, {429, "Too Many Requests"},
        {500, "Internal Server Error"}, {502, "Bad Gateway"}, {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
    };
    size_t i;

    for (i = 0; i < KND_ARRAY_SIZE(table); i++)
        if (table[i].status == status)
            return table[i].reason;
    return "Status";
}

void knd_testapp_conn_write_head(knd_testapp_conn_t *c, int status, const char *content_type,
                                 long long len, const char *extra)
{
    knd_buf_t *b = &c->head;

    if (c->app->draining)
        c->keep_alive = 0; /* tell the client not to reuse this connection */
    knd_buf_reset(b);
    KND_BUF_LIT(b, "HTTP/1.1 ");
    knd_buf_put_i64(b, status);
    knd_buf_cat(b, " ", knd_testapp_conn_reason(status), "\r\n", NULL);
    if (status == 101) {
        knd_buf_cat(b, extra != NULL ? extra : "", "\r\n", NULL);
        goto out;
    }
    knd_buf_cat(b, "Content-Type: ", content_type, "\r\n", NULL);
    c->resp_chunked = len < 0;
    if (len < 0) {
        KND_BUF_LIT(b, "Transfer-Encoding: chunked\r\n");
    } else {
        KND_BUF_LIT(b, "Content-Length: ");
        knd_buf_put_i64(b, len);
        KND_BUF_LIT(b, "\r\n");
    }
    KND_BUF_LIT(b, "X-Inflight: ");
    knd_buf_put_i64(b, (int64_t)c->inflight_at_start);
    knd_buf_cat(b, "\r\nX-App-Revision: ", c->app->revision, "\r\n", NULL);
    if (!c->keep_alive)
        KND_BUF_LIT(b, "Connection: close\r\n");
    else if (c->http10)
        KND_BUF_LIT(b, "Connection: keep-alive\r\n");
    knd_buf_cat(b, extra != NULL ? extra : "", "\r\n", NULL);
out:
    knd_testapp_conn_write(c, b->p, b->len);
}

/*
 * The body pattern, 'a' + offset % 26, lets a test check the order and completeness of a
 * download. It is copied out of this table (one period longer than a chunk) rather than
 * computed byte by byte: a division per byte made the app spend most of a 64 KiB response's
 * CPU time on its body, so that the throughput benchmark measured the app, not the proxies.
 */
static const char *knd_testapp_pattern(void)
{
    static char table[KND_TESTAPP_CHUNK + 26];
    static int ready;

    if (!ready) {
        for (size_t i = 0; i < sizeof(table); i++)
            table[i] = (char)('a' + i % 26);
        ready = 1;
    }
    return table;
}

static void knd_testapp_conn_write_pattern(knd_testapp_conn_t *c, size_t n)
{
    char *chunk = knd_xmalloc(n + 32);
    const char *pattern = knd_testapp_pattern();
    size_t i, off = 0;

    if (c->resp_chunked)
        off = (size_t)snprintf(chunk, 32, "%zx\r\n", n);
    for (i = 0; i < n;) {
        size_t m = n - i < KND_TESTAPP_CHUNK ? n - i : KND_TESTAPP_CHUNK;
        memcpy(chunk + off + i, pattern + (c->offset + i) % 26, m);
        i += m;
    }
    off += n;
    if (c->resp_chunked) {
        memcpy(chunk + off, "\r\n", 2);
        off += 2;
    }
    if (!c->head_only)
        knd_testapp_conn_write(c, chunk, off);
    free(chunk);
    c->offset += n;
    c->remaining -= n;
}

static void knd_testapp_conn_on_chunk_timer(uv_timer_t *t)
{
    knd_testapp_conn_pump(t->data);
}

/* Queues body chunks until the output backlog is full; the write callback calls again. */
static void knd_testapp_conn_pump(knd_testapp_conn_t *c)
{
    size_t chunk = c->opts.chunk_size > 0 ? (size_t)c->opts.chunk_size : KND_TESTAPP_CHUNK;

    while (c->streaming && !c->closing) {
        if (c->remaining == 0) {
            c->streaming = 0;
            if (c->resp_chunked && !c->head_only)
                knd_testapp_conn_write(c, "0\r\n\r\n", 5);
            knd_testapp_conn_finish(c);
            return;
        }
        if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) + c->pending.len >=
            KND_TESTAPP_BACKLOG_LIMIT)
            return;
        knd_testapp_conn_write_pattern(c, c->remaining < chunk ? (size_t)c->remaining : chunk);
        if (c->opts.chunk_delay_ms > 0 && c->remaining > 0) {
            uv_timer_start(&c->timer, knd_testapp_conn_on_chunk_timer,
                           (uint64_t)c->opts.chunk_delay_ms, 0);
            return;
        }
    }
}

void knd_testapp_conn_stream(knd_testapp_conn_t *c, uint64_t len)
{
    c->streaming = 1;
    c->remaining = len;
    c->offset = 0;
    knd_testapp_conn_pump(c);
}

/* ---------------------------------------------------------------- reading */

void knd_testapp_conn_finish(knd_testapp_conn_t *c)
{
    knd_testapp_t *app = c->app;

    knd_testapp_conn_uncork(c);
    if (c->counted) {
        app->inflight--;
        c->counted = 0;
    }
    c->busy = 0;
    if (!c->keep_alive || app->draining) {
        knd_testapp_conn_shutdown(c);
        return;
    }
    knd_testapp_conn_resume(c);
}

void knd_testapp_conn_resume(knd_testapp_conn_t *c)
{
    c->hold = 0;
    if (c->in_feed || c->closing)
        return; /* the feed loop sees hold == 0 and resumes the parser itself */
    if (c->paused) {
        llhttp_resume(&c->parser);
        c->paused = 0;
    }
    knd_testapp_conn_feed(c);
}

static void knd_testapp_conn_bad_request(knd_testapp_conn_t *c, llhttp_errno_t err)
{
    static const char body[] = "bad request\n";

    fprintf(stderr, "knd-testapp: bad request: %s (%s)\n", llhttp_errno_name(err),
            llhttp_get_error_reason(&c->parser));
    if (c->busy) {
        knd_testapp_conn_close(c); /* a response is already under way */
        return;
    }
    c->keep_alive = 0;
    knd_testapp_conn_write_head(c, 400, "text/plain", (long long)sizeof(body) - 1, NULL);
    knd_testapp_conn_write(c, body, sizeof(body) - 1);
    knd_testapp_conn_shutdown(c);
}

static void knd_testapp_conn_feed(knd_testapp_conn_t *c)
{
    llhttp_errno_t err;
    size_t used;

    c->in_feed = 1;
    while (c->in.len > 0 && !c->closing) {
        if (c->ws) {
            knd_testapp_ws_feed(c);
            break;
        }
        if (c->paused) {
            if (c->hold)
                break;
            llhttp_resume(&c->parser);
            c->paused = 0;
        }
        err = llhttp_execute(&c->parser, c->in.p, c->in.len);
        used = err == HPE_OK ? c->in.len : (size_t)(llhttp_get_error_pos(&c->parser) - c->in.p);
        knd_buf_consume(&c->in, used);
        if (err == HPE_OK)
            break;
        if (err == HPE_PAUSED) {
            c->paused = 1;
        } else if (err == HPE_PAUSED_UPGRADE) {
            if (!c->ws) /* an Upgrade we do not speak: carry on as HTTP/1.1 */
                llhttp_resume_after_upgrade(&c->parser);
        } else {
            knd_testapp_conn_bad_request(c, err);
            break;
        }
    }
    c->in_feed = 0;
    if (!c->closing && c->paused && !c->hold && c->in.len == 0) {
        llhttp_resume(&c->parser);
        c->paused = 0;
    }
    knd_testapp_conn_update_reading(c);
}

static void knd_testapp_conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    knd_testapp_conn_t *c = h->data;

    knd_buf_reserve(&c->in, KND_TESTAPP_CHUNK);
    *buf = uv_buf_init(c->in.p + c->in.len, KND_TESTAPP_CHUNK);
}

static void knd_testapp_conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    knd_testapp_conn_t *c = s->data;

    if (nread < 0) {
        knd_testapp_conn_close(c); /* EOF or error: nothing more can be answered */
        return;
    }
    c->in.len += (size_t)nread;
    c->in.p[c->in.len] = '\0';
    knd_testapp_conn_feed(c);
}

static void knd_testapp_conn_update_reading(knd_testapp_conn_t *c)
{
    size_t queued;
    int want;

    if (c->closing)
        return;
    queued = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
    want = !c->hold && !(c->paused && c->in.len > 0) && queued < KND_TESTAPP_BACKLOG_LIMIT &&
           c->in.len < KND_TESTAPP_BACKLOG_LIMIT;
    if (want && !c->reading)
        uv_read_start((uv_stream_t *)&c->tcp, knd_testapp_conn_alloc, knd_testapp_conn_on_read);
    else if (!want && c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = want;
}

void knd_testapp_conn_accept(knd_testapp_t *app)
{
    knd_testapp_conn_t *c = knd_xcalloc(1, sizeof(*c));

    c->app = app;
    uv_tcp_init(app->loop, &c->tcp);
    uv_timer_init(app->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles_open = 2;
    knd_buf_init(&c->in);
    knd_buf_init(&c->url);
    knd_buf_init(&c->path);
    knd_buf_init(&c->query);
    knd_buf_init(&c->hbuf);
    knd_buf_init(&c->pending);
    knd_buf_init(&c->head);
    knd_buf_init(&c->body);
    llhttp_init(&c->parser, HTTP_REQUEST, &knd_testapp_settings);
    c->parser.data = c;
    c->next = app->conns;
    if (app->conns != NULL)
        app->conns->prev = c;
    app->conns = c;
    app->nconns++;
    if (uv_accept((uv_stream_t *)&app->listener, (uv_stream_t *)&c->tcp) != 0) {
        knd_testapp_conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    knd_testapp_conn_update_reading(c);
}
