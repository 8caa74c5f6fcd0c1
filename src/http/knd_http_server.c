/*
 * knd_http_server.c - HTTP/1.1 server connections: llhttp parsing on libuv streams, one request
 * at a time per connection, streamed bodies, keep-alive and head timeouts (see knd_http_server.h).
 *
 * Ownership: the server owns its connections (list `conns`), a connection owns its current
 * request and, on a TLS listener, its TLS session. Listeners and the server's own lifecycle are
 * in knd_http_server_listen.c. Handles are freed only in close callbacks; a
 * connection is freed once its stream and both timers have closed.
 *
 * TLS is a layer under the parser (knd_http_server_tls.c): ciphertext read from the socket is
 * decrypted into the same input path plain connections use, and every write funnels through
 * knd_http_conn_writev, which hands it to the TLS layer to encrypt and queue. Plain connections
 * never touch the TLS code (c->tls NULL). The layouts are in knd_http_server_int.h.
 */
#include "knd_http_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "knd_alloc.h"
#include "knd_http_server_int.h"


static void knd_http_conn_resume_cb(uv_timer_t *t);
static void knd_http_conn_timeout(uv_timer_t *t);
static void knd_http_conn_update_reading(knd_http_conn_t *c);

/*
 * The connection's one timeout (head, body silence, keep-alive idle) is a deadline kept lazily,
 * as nginx keeps its timers: moving it later costs nothing - the timer fires at the old time,
 * finds the deadline moved and sleeps again. A keep-alive connection then touches the timer heap
 * about once per header timeout instead of four times per request.
 */
static void knd_http_conn_arm(knd_http_conn_t *c, uint64_t now)
{
    c->timer_due = c->deadline;
    uv_timer_start(&c->timer, knd_http_conn_timeout, c->deadline - now, 0);
}

static void knd_http_conn_deadline(knd_http_conn_t *c, uint64_t ms)
{
    uint64_t now = uv_now(c->srv->loop);
    c->deadline = now + ms;
    if (!uv_is_active((uv_handle_t *)&c->timer) || c->timer_due > c->deadline)
        knd_http_conn_arm(c, now);
}

/* No timeout for now; the timer, if armed, fires once for nothing. */
static void knd_http_conn_no_deadline(knd_http_conn_t *c)
{
    c->deadline = 0;
}

/* ------------------------------------------------------------------ writing */

void knd__http_conn_after_write(uv_write_t *w, int status)
{
    knd_http_wreq_t *wr = (knd_http_wreq_t *)w;
    knd_http_conn_t *c = wr->conn;
    free(wr);
    if (status < 0) {
        knd__http_conn_close(c);
        return;
    }
    if (c->closing)
        return;
    if (c->close_after_write && c->h.stream.write_queue_size == 0 &&
        (c->req == NULL || c->req->resp_ended)) {
        knd__http_conn_close(c);
        return;
    }
    knd_http_req_t *r = c->req;
    if (r && r->want_drain && r->on_drain && c->h.stream.write_queue_size < KND_HTTP_DRAIN_LOW) {
        r->want_drain = false;
        r->on_drain(r);
    }
}

/* A write that could not be queued: callers still hold the request, so close from the loop,
 * never under their feet. */
void knd__http_conn_write_failed(knd_http_conn_t *c)
{
    c->write_failed = true;
    uv_timer_start(&c->resume, knd_http_conn_resume_cb, 0, 0);
}

/* Writes pieces as one writev (one syscall, one segment when it fits); what the socket does
 * not take at once is copied and queued. */
static void knd_http_conn_writev(knd_http_conn_t *c, const uv_buf_t *given, size_t ngiven)
{
    if (c->closing)
        return;
    /* Empty pieces are left out: the kernel would walk them in every writev. */
    uv_buf_t pieces[4];
    size_t n = 0, npieces = 0;
    KND_ASSERT(ngiven <= KND_ARRAY_SIZE(pieces));
    for (size_t i = 0; i < ngiven; i++) {
        if (given[i].len > 0)
            pieces[npieces++] = given[i];
        n += given[i].len;
    }
    if (c->tls) {
        knd__http_conn_tls_writev(c, pieces, npieces, n);
        return;
    }
    /* Nothing queued: write now. A response that fits the socket buffer then needs no write
     * request, no copy and no completion callback - and libuv no epoll_ctl to re-arm the fd. */
    size_t skip = 0;
    if (c->h.stream.write_queue_size == 0 && n > 0) {
        int w = uv_try_write(&c->h.stream, pieces, (unsigned)npieces);
        if (w == (int)n) {
            /* What the completion callback would have done: a connection that ends after this
             * response closes, from the loop. */
            if (c->close_after_write)
                uv_timer_start(&c->resume, knd_http_conn_resume_cb, 0, 0);
            return;
        }
        if (w < 0 && w != UV_EAGAIN) {
            knd__http_conn_write_failed(c);
            return;
        }
        skip = w > 0 ? (size_t)w : 0;
    }
    knd_http_wreq_t *wr = knd_xmalloc(sizeof(*wr) + n - skip);
    wr->conn = c;
    size_t off = 0;
    for (size_t i = 0; i < npieces; i++) {
        size_t len = pieces[i].len, from = 0;
        if (skip >= len) { /* already written */
            skip -= len;
            continue;
        }
        from = skip;
        skip = 0;
        memcpy(wr->data + off, pieces[i].base + from, len - from);
        off += len - from;
    }
    wr->buf = uv_buf_init(wr->data, (unsigned)off);
    int rc = uv_write(&wr->w, &c->h.stream, &wr->buf, 1, knd__http_conn_after_write);
    if (rc < 0) {
        free(wr);
        knd__http_conn_write_failed(c);
    }
}

static void knd_http_conn_write3(knd_http_conn_t *c, const char *a, size_t an, const char *b,
                                 size_t bn, const char *d, size_t dn)
{
    uv_buf_t pieces[3] = {uv_buf_init((char *)a, (unsigned)an), uv_buf_init((char *)b, (unsigned)bn),
                          uv_buf_init((char *)d, (unsigned)dn)};
    knd_http_conn_writev(c, pieces, 3);
}

/* Writes for r: the held response head (if any) goes out in the same write as these pieces. */
static void knd_http_req_write3(knd_http_req_t *r, const char *a, size_t an, const char *b,
                                size_t bn, const char *d, size_t dn)
{
    uv_buf_t pieces[4] = {uv_buf_init(r->held.p, (unsigned)r->held.len),
                          uv_buf_init((char *)a, (unsigned)an), uv_buf_init((char *)b, (unsigned)bn),
                          uv_buf_init((char *)d, (unsigned)dn)};
    knd_http_conn_writev(r->conn, pieces, 4);
    knd_buf_reset(&r->held);
}

/* ------------------------------------------------------------------ held heads */

/* Response heads held for their first body bytes leave at the latest in the loop's check phase,
 * after this iteration's I/O: one list walk, where a zero timer per response cost a timer heap
 * insert and a removal. */
static void knd_http_server_flush_cb(uv_check_t *h)
{
    knd_http_server_t *srv = h->data;
    knd_http_conn_t *c = srv->flush_list, *next;
    srv->flush_list = NULL;
    uv_check_stop(&srv->flush);
    for (; c; c = next) {
        next = c->flush_next;
        c->flush_queued = false;
        if (!c->closing && c->req && c->req->held.len)
            knd_http_req_write3(c->req, NULL, 0, NULL, 0, NULL, 0);
    }
}

static void knd_http_conn_flush_later(knd_http_conn_t *c)
{
    knd_http_server_t *srv = c->srv;
    if (c->flush_queued)
        return;
    if (srv->flush_list == NULL)
        uv_check_start(&srv->flush, knd_http_server_flush_cb);
    c->flush_queued = true;
    c->flush_next = srv->flush_list;
    srv->flush_list = c;
}

/* A closing connection leaves the list: its memory goes before the next check phase may run. */
static void knd_http_conn_flush_cancel(knd_http_conn_t *c)
{
    if (!c->flush_queued)
        return;
    knd_http_conn_t **pp = &c->srv->flush_list;
    while (*pp != c)
        pp = &(*pp)->flush_next;
    *pp = c->flush_next;
    c->flush_queued = false;
}

/* ------------------------------------------------------------------ requests */

/* The request is complete on both sides: release it and move on to the next one. */
static void knd_http_conn_req_done(knd_http_conn_t *c)
{
    knd_http_req_t *r = c->req;
    bool keep = r->head.keep_alive && !c->close_after_write && !c->srv->closing;
    c->req = NULL;
    knd__http_req_free(r);
    if (!keep) {
        c->close_after_write = true;
        if (c->h.stream.write_queue_size == 0)
            knd__http_conn_close(c);
        return;
    }
    knd_http_conn_deadline(c, c->srv->limits.idle_timeout_ms);
    if (c->parser_paused) {
        c->parser_paused = false;
        llhttp_resume(&c->parser);
    }
    /* Parse pipelined input on the next loop turn, outside the handler's call stack. */
    if (c->pending.len || c->eof)
        uv_timer_start(&c->resume, knd_http_conn_resume_cb, 0, 0);
}

void knd_http_resp_head(knd_http_req_t *r, int status, const char *headers, int64_t content_length)
{
    knd_http_conn_t *c = r->conn;
    if (r->aborted)
        return; /* called from on_abort: the connection is already gone */
    KND_ASSERT(!r->resp_started);
    r->resp_started = true;
    bool no_body = r->head.method == HTTP_HEAD || status < 200 || status == 204 || status == 304;
    r->resp_no_body = no_body;
    bool will_close = !r->head.keep_alive || c->srv->closing || c->close_after_write;
    bool http10 = r->head.http_major == 1 && r->head.http_minor == 0;
    /* Built with appends, not printf: this runs once per proxied request. */
    knd_buf_t *h = &r->held;
    knd_buf_reserve(h, 128 + (headers ? strlen(headers) : 0));
    knd_buf_puts(h, "HTTP/1.1 ");
    knd_buf_put_i64(h, status);
    knd_buf_cat(h, " ", knd_http_reason(status), "\r\n", NULL);
    if (headers)
        knd_buf_puts(h, headers);
    if (status >= 200 && status != 204 && status != 304) {
        if (content_length >= 0) {
            knd_buf_puts(h, "Content-Length: ");
            knd_buf_put_i64(h, content_length);
            knd_buf_puts(h, "\r\n");
        } else if (!no_body) {
            if (http10) {
                will_close = true; /* HTTP/1.0 has no chunked: delimit by closing */
            } else {
                r->resp_chunked = true;
                knd_buf_puts(h, "Transfer-Encoding: chunked\r\n");
            }
        }
    }
    if (status == 101) {
        /* the handler sent Upgrade/Connection itself; the tunnel follows */
    } else if (will_close || c->upgraded) {
        c->close_after_write = true;
        knd_buf_puts(h, "Connection: close\r\n");
    } else if (http10) {
        knd_buf_puts(h, "Connection: keep-alive\r\n");
    }
    knd_buf_puts(h, "\r\n");
    /*
     * Held, so that head and body leave in one write and a small response is one segment:
     * - a 1xx (a 101's tunnel follows) goes at once;
     * - a head with a known, non-empty body waits for the first body bytes or the end, as
     *   nginx's postpone_output holds a lone head: an instance that writes its head and body
     *   in two calls would otherwise cost a write and a client wake-up more per response;
     * - any other head (chunked, close-delimited, no body: a stream may take its time) leaves
     *   at the latest at the end of this loop iteration.
     */
    if (status < 200)
        knd_http_req_write3(r, NULL, 0, NULL, 0, NULL, 0);
    else if (content_length <= 0 || no_body)
        knd_http_conn_flush_later(c);
}

void knd_http_resp_interim(knd_http_req_t *r, int status, const char *headers)
{
    if (r->aborted || r->resp_started || status < 100 || status > 199 || status == 101 ||
        (r->head.http_major == 1 && r->head.http_minor == 0))
        return;
    knd_buf_t h;
    knd_buf_init(&h);
    knd_buf_puts(&h, "HTTP/1.1 ");
    knd_buf_put_i64(&h, status);
    knd_buf_cat(&h, " ", knd_http_reason(status), "\r\n", headers ? headers : "", "\r\n", NULL);
    knd_http_conn_write3(r->conn, h.p, h.len, NULL, 0, NULL, 0);
    knd_buf_free(&h);
}

void knd_http_resp_body(knd_http_req_t *r, const char *p, size_t n)
{
    if (r->aborted)
        return;
    KND_ASSERT(r->resp_started && !r->resp_ended);
    if (n == 0 || r->resp_no_body)
        return;
    if (r->resp_chunked) {
        char size[24];
        int sn = snprintf(size, sizeof(size), "%zx\r\n", n);
        knd_http_req_write3(r, size, (size_t)sn, p, n, "\r\n", 2);
    } else {
        knd_http_req_write3(r, p, n, NULL, 0, NULL, 0);
    }
    if (r->on_drain && r->conn->h.stream.write_queue_size >= KND_HTTP_DRAIN_LOW)
        r->want_drain = true;
}

void knd_http_resp_end(knd_http_req_t *r)
{
    knd_http_conn_t *c = r->conn;
    if (r->aborted)
        return; /* knd__http_conn_close frees r once on_abort returns */
    KND_ASSERT(r->resp_started && !r->resp_ended);
    r->resp_ended = true;
    if (r->resp_chunked)
        knd_http_req_write3(r, "0\r\n\r\n", 5, NULL, 0, NULL, 0);
    else if (r->held.len)
        knd_http_req_write3(r, NULL, 0, NULL, 0, NULL, 0);
    if (r->body_done) {
        knd_http_conn_req_done(c);
        return;
    }
    if (r->head.content_length <= 0 && !r->head.chunked)
        return; /* no body: message-complete follows at once and finishes the request */
    /* Answered before the body arrived: nobody wants the rest, so the connection closes once the
     * response is out instead of reading (maybe gigabytes) to stay in sync - nginx does the same
     * for large bodies. Until then r stays, so parser callbacks on the stack still find it. */
    c->close_after_write = true;
    r->on_body = NULL;
    r->on_body_end = NULL;
    r->on_abort = NULL;
    if (c->h.stream.write_queue_size == 0)
        knd__http_conn_close(c);
}

void knd_http_req_raw_start(knd_http_req_t *r)
{
    knd_http_conn_t *c = r->conn;
    KND_ASSERT(c->upgraded && r->resp_started);
    c->raw = true;
    knd_http_conn_no_deadline(c);
    if (c->pending.len && r->on_raw) {
        knd_buf_t in = c->pending;
        knd_buf_init(&c->pending);
        r->on_raw(r, in.p, in.len);
        knd_buf_free(&in);
    }
    knd_http_conn_update_reading(c);
}

void knd_http_req_raw_write(knd_http_req_t *r, const char *p, size_t n)
{
    knd_http_req_write3(r, p, n, NULL, 0, NULL, 0);
    if (r->on_drain && r->conn->h.stream.write_queue_size >= KND_HTTP_DRAIN_LOW)
        r->want_drain = true;
}

void knd_http_req_raw_close(knd_http_req_t *r)
{
    knd_http_conn_t *c = r->conn;
    r->on_abort = NULL;
    r->on_raw = NULL;
    r->on_drain = NULL;
    r->resp_ended = true;
    c->close_after_write = true;
    c->eof = true;
    knd_http_conn_update_reading(c);
    if (c->h.stream.write_queue_size == 0)
        knd__http_conn_close(c);
}

void knd_http_resp_abort(knd_http_req_t *r)
{
    knd_http_conn_t *c = r->conn;
    r->on_abort = NULL;
    knd__http_conn_close(c);
}

void knd_http_resp_simple(knd_http_req_t *r, int status, const char *content_type,
                          const char *body, size_t n)
{
    char hdr[256];
    snprintf(hdr, sizeof(hdr), "Content-Type: %s\r\n", content_type);
    knd_http_resp_head(r, status, hdr, (int64_t)n);
    knd_http_resp_body(r, body, n);
    knd_http_resp_end(r);
}

size_t knd_http_resp_queued(const knd_http_req_t *r)
{
    if (r->on_drain)
        ((knd_http_req_t *)r)->want_drain = true;
    return r->conn->h.stream.write_queue_size;
}

/*
 * One read buffer for every connection of every server: the loop is single-threaded and a
 * read is consumed (parsed, copied into `pending`, or handed to on_raw, which copies) before
 * its callback returns, so no connection holds on to it between reads.
 */
static char knd_http_server_rbuf[65536];

static void knd_http_conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    buf->base = knd_http_server_rbuf;
    buf->len = sizeof(knd_http_server_rbuf);
}

static void knd_http_conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void knd_http_conn_update_reading(knd_http_conn_t *c)
{
    /* Reading goes on while an upgrade waits for its answer, the tunnel's first bytes kept in
     * `pending`: a client hanging up meanwhile is then seen, and its request cancelled. */
    bool want = !c->closing && !c->eof && !c->read_paused &&
                c->pending.len < KND_HTTP_PENDING_MAX;
    if (want && !c->reading) {
        if (uv_read_start(&c->h.stream, knd_http_conn_alloc, knd_http_conn_read) == 0)
            c->reading = true;
    } else if (!want && c->reading) {
        uv_read_stop(&c->h.stream);
        c->reading = false;
    }
}

void knd_http_req_pause(knd_http_req_t *r)
{
    r->conn->read_paused = true;
    knd_http_conn_update_reading(r->conn);
}

void knd_http_req_resume(knd_http_req_t *r)
{
    r->conn->read_paused = false;
    knd_http_conn_update_reading(r->conn);
}

/* ------------------------------------------------------------------ llhttp callbacks */

static knd_http_conn_t *knd_http_conn_of(llhttp_t *p)
{
    return p->data;
}

/* The request whose head the parser is reading, or NULL: after headers-complete the header
 * callbacks carry trailers, which knd ignores, and the request may already be gone. */
static knd_http_req_t *knd_http_conn_head_target(llhttp_t *p)
{
    knd_http_conn_t *c = knd_http_conn_of(p);
    return c->in_body ? NULL : c->req;
}

static int knd_http_on_message_begin(llhttp_t *p)
{
    knd_http_conn_t *c = knd_http_conn_of(p);
    KND_ASSERT(c->req == NULL);
    c->in_body = false;
    c->req = knd__http_req_new(c->srv);
    c->req->conn = c;
    c->req->secure = c->tls != NULL;
    memcpy(c->req->peer, c->peer, sizeof(c->peer));
    knd_http_conn_deadline(c, c->srv->limits.header_timeout_ms);
    return 0;
}

static int knd_http_on_url(llhttp_t *p, const char *at, size_t n)
{
    knd_http_req_t *r = knd_http_conn_head_target(p);
    return r ? knd_http_head_on_url(&r->head, at, n) : 0;
}

static int knd_http_on_field(llhttp_t *p, const char *at, size_t n)
{
    knd_http_req_t *r = knd_http_conn_head_target(p);
    return r ? knd_http_head_on_field(&r->head, at, n) : 0;
}

static int knd_http_on_value(llhttp_t *p, const char *at, size_t n)
{
    knd_http_req_t *r = knd_http_conn_head_target(p);
    return r ? knd_http_head_on_value(&r->head, at, n) : 0;
}

static int knd_http_on_url_done(llhttp_t *p)
{
    knd_http_req_t *r = knd_http_conn_head_target(p);
    if (r)
        knd_http_head_url_done(&r->head);
    return 0;
}

static int knd_http_on_field_done(llhttp_t *p)
{
    knd_http_req_t *r = knd_http_conn_head_target(p);
    if (r)
        knd_http_head_field_done(&r->head);
    return 0;
}

static int knd_http_on_value_done(llhttp_t *p)
{
    knd_http_req_t *r = knd_http_conn_head_target(p);
    if (r)
        knd_http_head_value_done(&r->head);
    return 0;
}

static int knd_http_on_headers_complete(llhttp_t *p)
{
    knd_http_conn_t *c = knd_http_conn_of(p);
    knd_http_req_t *r = c->req;
    knd_http_head_finish(&r->head, p);
    knd_http_head_origin_form(&r->head);
    c->in_body = true;
    if (r->head.content_length > 0 || r->head.chunked)
        knd_http_conn_deadline(c, c->srv->limits.body_timeout_ms);
    else
        knd_http_conn_no_deadline(c);
    const char *expect = knd_http_head_get(&r->head, "Expect");
    bool want_continue = expect && strcasecmp(expect, "100-continue") == 0 &&
                         r->head.http_major == 1 && r->head.http_minor >= 1;
    c->srv->cb(r, c->srv->data); /* may answer, and even free r, right away */
    /* The client waits for a go-ahead before its body - unless the handler already answered
     * (a 404 or 413 must not invite a body nobody will read). */
    if (want_continue && c->req == r && !r->resp_started)
        knd_http_conn_write3(c, "HTTP/1.1 100 Continue\r\n\r\n", 25, NULL, 0, NULL, 0);
    return 0;
}

static int knd_http_on_body(llhttp_t *p, const char *at, size_t n)
{
    knd_http_conn_t *c = knd_http_conn_of(p);
    knd_http_req_t *r = c->req;
    /* The body is still moving: push the silence deadline out. */
    knd_http_conn_deadline(c, c->srv->limits.body_timeout_ms);
    if (r && r->on_body)
        r->on_body(r, at, n);
    return 0;
}

static int knd_http_on_message_complete(llhttp_t *p)
{
    knd_http_conn_t *c = knd_http_conn_of(p);
    knd_http_req_t *r = c->req;
    knd_http_conn_no_deadline(c);
    if (r == NULL) /* the response already ended and released the request */
        return HPE_PAUSED;
    r->body_done = true;
    if (r->head.upgrade && !r->resp_ended) {
        /* llhttp now returns HPE_PAUSED_UPGRADE: the rest of the input is the tunnel's. */
        c->upgraded = true;
        return 0;
    }
    if (r->resp_ended)
        knd_http_conn_req_done(c); /* answered already (from the head): finish it now */
    else if (r->on_body_end)
        r->on_body_end(r);
    /* Stop here: the next pipelined request waits until this response has ended. */
    return HPE_PAUSED;
}

/* llhttp's callbacks: a constant table (llhttp_settings_init only zeroes the struct). */
static const llhttp_settings_t knd_http_server_parser_settings = {
    .on_message_begin = knd_http_on_message_begin,
    .on_url = knd_http_on_url,
    .on_header_field = knd_http_on_field,
    .on_header_value = knd_http_on_value,
    .on_url_complete = knd_http_on_url_done,
    .on_header_field_complete = knd_http_on_field_done,
    .on_header_value_complete = knd_http_on_value_done,
    .on_headers_complete = knd_http_on_headers_complete,
    .on_body = knd_http_on_body,
    .on_message_complete = knd_http_on_message_complete,
};

static const llhttp_settings_t *knd_http_server_settings(void)
{
    return &knd_http_server_parser_settings;
}

/* ------------------------------------------------------------------ input processing */

static void knd_http_conn_bad_request(knd_http_conn_t *c, int status, const char *msg)
{
    char resp[512];
    int n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s\n",
                     status, knd_http_reason(status), strlen(msg) + 1, msg);
    if (c->req) {
        knd_http_req_t *r = c->req;
        c->req = NULL;
        if (r->resp_started) {
            /* The handler is mid-response: the client broke framing; drop the connection. */
            if (r->on_abort && !r->resp_ended)
                r->on_abort(r);
            knd__http_req_free(r);
            knd__http_conn_close(c);
            return;
        }
        if (r->on_abort)
            r->on_abort(r);
        knd__http_req_free(r);
    }
    c->close_after_write = true;
    knd_http_conn_write3(c, resp, (size_t)n, NULL, 0, NULL, 0);
    c->eof = true;
    knd_http_conn_update_reading(c);
}

/* Feeds bytes to the parser, stashing what follows a completed message. */
void knd__http_conn_process(knd_http_conn_t *c, const char *data, size_t n)
{
    if (c->closing || c->close_after_write)
        return;
    if (c->parser_paused || c->pending.len) {
        /* Earlier bytes are still waiting: keep the order, the resume timer parses them. */
        knd_buf_append(&c->pending, data, n);
        knd_http_conn_update_reading(c);
        return;
    }
    llhttp_errno_t e = llhttp_execute(&c->parser, data, n);
    if (c->closing)
        return;
    if (e == HPE_OK)
        return;
    if (e == HPE_PAUSED_UPGRADE) {
        const char *pos = llhttp_get_error_pos(&c->parser);
        c->upgraded = true;
        if (pos && pos < data + n)
            knd_buf_append(&c->pending, pos, (size_t)(data + n - pos));
        if (c->req == NULL || c->req->resp_ended) {
            c->close_after_write = true; /* refused upgrade: nothing more can be parsed */
            if (c->h.stream.write_queue_size == 0)
                knd__http_conn_close(c);
            return;
        }
        knd_http_conn_update_reading(c);
        return;
    }
    if (e == HPE_PAUSED) {
        const char *pos = llhttp_get_error_pos(&c->parser);
        size_t used = (size_t)(pos - data);
        c->parser_paused = true;
        if (c->req == NULL) {
            /* The response ended before the message did: go on right away. */
            c->parser_paused = false;
            llhttp_resume(&c->parser);
        }
        if (used < n) {
            knd_buf_t rest;
            knd_buf_init(&rest);
            knd_buf_append(&rest, pos, n - used);
            knd_buf_append(&rest, c->pending.p ? c->pending.p : "", c->pending.len);
            knd_buf_free(&c->pending);
            c->pending = rest;
            if (!c->parser_paused)
                uv_timer_start(&c->resume, knd_http_conn_resume_cb, 0, 0);
        }
        knd_http_conn_update_reading(c);
        return;
    }
    if (c->req && c->req->head.too_large)
        knd_http_conn_bad_request(c, 431, "request header fields too large");
    else
        knd_http_conn_bad_request(c, 400, llhttp_get_error_reason(&c->parser));
}

static void knd_http_conn_resume_cb(uv_timer_t *t)
{
    knd_http_conn_t *c = t->data;
    if (c->write_failed || (c->close_after_write && c->h.stream.write_queue_size == 0 &&
                            (c->req == NULL || c->req->resp_ended))) {
        knd__http_conn_close(c);
        return;
    }
    if (c->req && c->req->held.len && !c->closing)
        knd_http_req_write3(c->req, NULL, 0, NULL, 0, NULL, 0);
    if (c->closing || c->parser_paused)
        return;
    knd_buf_t in = c->pending;
    knd_buf_init(&c->pending);
    if (in.len)
        knd__http_conn_process(c, in.p, in.len);
    knd_buf_free(&in);
    if (!c->closing && c->eof && c->req == NULL)
        knd__http_conn_close(c);
    else
        knd_http_conn_update_reading(c);
}

static void knd_http_conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    knd_http_conn_t *c = s->data;
    if (nread > 0 && c->tls) {
        if (knd__http_conn_tls_input(c, buf->base, (size_t)nread) < 0)
            nread = UV_EOF; /* the session is over: same as the client hanging up */
    } else if (nread > 0 && c->raw) {
        if (c->req && c->req->on_raw)
            c->req->on_raw(c->req, buf->base, (size_t)nread);
    } else if (nread > 0 && c->upgraded) {
        knd_buf_append(&c->pending, buf->base, (size_t)nread); /* for knd_http_req_raw_start */
        knd_http_conn_update_reading(c);
    } else if (nread > 0) {
        knd__http_conn_process(c, buf->base, (size_t)nread);
    }
    if (nread >= 0)
        return;
    /* EOF or error: a request still waiting for its response is aborted. Like nginx (without
     * proxy_ignore_client_abort), a half-close counts as the client giving up: a waiting request
     * must not reach an instance for nobody. */
    c->eof = true;
    knd_http_conn_update_reading(c);
    knd__http_conn_close(c);
}

/* ------------------------------------------------------------------ connections */

static void knd_http_conn_handle_closed(uv_handle_t *h)
{
    knd_http_conn_t *c = h->data;
    if (--c->open_handles > 0)
        return;
    knd_http_server_t *srv = c->srv;
    knd_buf_free(&c->pending);
    knd_tls_conn_free(c->tls);
    free(c);
    srv->nconns--;
    knd__http_server_maybe_done(srv);
}

void knd__http_conn_close(knd_http_conn_t *c)
{
    if (c->closing)
        return;
    c->closing = true;
    knd_http_req_t *r = c->req;
    if (r) {
        c->req = NULL;
        r->aborted = true; /* from here every knd_http_resp_* call on r is a no-op */
        if (!r->resp_ended && r->on_abort)
            r->on_abort(r);
        knd__http_req_free(r);
    }
    /* A close_notify tells the client the response was not truncated. It goes out only if the
     * socket is idle (uv_write then writes at once), and is never waited for. */
    if (c->tls && !c->eof && !c->write_failed && c->h.stream.write_queue_size == 0 &&
        knd_tls_conn_established(c->tls)) {
        knd_tls_conn_shutdown(c->tls);
        knd__http_conn_tls_flush(c);
    }
    knd_http_server_t *srv = c->srv;
    knd_http_conn_flush_cancel(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    uv_close((uv_handle_t *)&c->timer, knd_http_conn_handle_closed);
    uv_close((uv_handle_t *)&c->resume, knd_http_conn_handle_closed);
    uv_close(&c->h.handle, knd_http_conn_handle_closed);
}

static void knd_http_conn_timeout(uv_timer_t *t)
{
    knd_http_conn_t *c = t->data;
    if (c->deadline == 0)
        return;
    uint64_t now = uv_now(c->srv->loop);
    if (now < c->deadline) { /* moved on since the timer was set */
        knd_http_conn_arm(c, now);
        return;
    }
    if (c->req && !c->req->resp_started && !c->req->body_done) {
        /* The head did not arrive in time (slowloris): say so, then close. */
        knd_http_conn_bad_request(c, 408, "request header timeout");
        return;
    }
    knd__http_conn_close(c);
}

void knd__http_server_on_conn(uv_stream_t *ls, int status)
{
    knd_http_server_t *srv = ls->data;
    if (status < 0 || srv->closing)
        return;
    knd_http_conn_t *c = knd_xcalloc(1, sizeof(*c));
    c->srv = srv;
    if (srv->is_unix)
        uv_pipe_init(srv->loop, &c->h.pipe, 0);
    else
        uv_tcp_init(srv->loop, &c->h.tcp);
    c->h.handle.data = c;
    c->open_handles = 1;
    srv->nconns++;
    if (uv_accept(ls, &c->h.stream) < 0) {
        c->closing = true;
        uv_close(&c->h.handle, knd_http_conn_handle_closed);
        return;
    }
    uv_timer_init(srv->loop, &c->timer);
    uv_timer_init(srv->loop, &c->resume);
    c->timer.data = c;
    c->resume.data = c;
    c->open_handles = 3;
    knd_buf_init(&c->pending);
    strcpy(c->peer, "unix");
    if (!srv->is_unix) {
        struct sockaddr_storage ss;
        int len = sizeof(ss);
        uv_tcp_nodelay(&c->h.tcp, 1);
        if (uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *)&ss, &len) == 0) {
            if (ss.ss_family == AF_INET6)
                uv_ip6_name((struct sockaddr_in6 *)&ss, c->peer, sizeof(c->peer));
            else
                uv_ip4_name((struct sockaddr_in *)&ss, c->peer, sizeof(c->peer));
        }
    }
    llhttp_init(&c->parser, HTTP_REQUEST, knd_http_server_settings());
    c->parser.data = c;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    if (srv->tls && (c->tls = knd_tls_conn_new(srv->tls)) == NULL) {
        knd__http_conn_close(c); /* no usable certificate yet (logged) */
        return;
    }
    knd_http_conn_deadline(c, srv->limits.header_timeout_ms);
    knd_http_conn_update_reading(c);
}
