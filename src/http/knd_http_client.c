/* knd_http_client.c - upstream HTTP/1.1 client connections (see knd_http_client.h). */
#include "knd_http_client.h"

#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"

struct knd_http_client_s {
    uv_tcp_t tcp;
    uv_connect_t connect;
    llhttp_t parser;
    knd_http_head_t head;
    const knd_http_client_cbs_t *cbs;
    void *data;
    bool connected, closing, reading, paused, head_request, in_exchange, done, broken;
    bool want_drain, interim; /* interim: the current message is a 1xx to skip */
    bool raw;                 /* after 101 Switching Protocols: a byte tunnel */
};

typedef struct {
    uv_write_t w;
    knd_http_client_t *c;
    uv_buf_t buf;
    char data[];
} knd_http_client_wreq_t;

static void knd_http_client_fail(knd_http_client_t *c, int status)
{
    if (c->closing || c->broken)
        return;
    c->broken = true;
    if (c->cbs->on_error)
        c->cbs->on_error(c, status);
}

/* ------------------------------------------------------------------ llhttp callbacks */

static int knd_http_client_on_begin(llhttp_t *p)
{
    knd_http_client_t *c = p->data;
    knd_http_head_reset(&c->head);
    return 0;
}

static int knd_http_client_on_field(llhttp_t *p, const char *at, size_t n)
{
    return knd_http_head_on_field(&((knd_http_client_t *)p->data)->head, at, n);
}

static int knd_http_client_on_value(llhttp_t *p, const char *at, size_t n)
{
    return knd_http_head_on_value(&((knd_http_client_t *)p->data)->head, at, n);
}

static int knd_http_client_on_field_done(llhttp_t *p)
{
    knd_http_head_field_done(&((knd_http_client_t *)p->data)->head);
    return 0;
}

static int knd_http_client_on_value_done(llhttp_t *p)
{
    knd_http_head_value_done(&((knd_http_client_t *)p->data)->head);
    return 0;
}

static int knd_http_client_on_headers(llhttp_t *p)
{
    knd_http_client_t *c = p->data;
    knd_http_head_finish(&c->head, p);
    int status = c->head.status;
    /* 1 tells llhttp the response has no body, and it completes the message right away: so it
     * is for HEAD, and for 1xx, 204 and 304 whatever their headers say (RFC 9112 6.3), which
     * llhttp would otherwise read a chunked body for. */
    bool bodiless = c->head_request || (status >= 100 && status < 200) || status == 204 ||
                    status == 304;
    c->interim = status >= 100 && status < 200 && status != 101;
    if (c->interim) {
        if (c->cbs->on_interim)
            c->cbs->on_interim(c, &c->head);
        return c->closing ? -1 : 1;
    }
    if (c->cbs->on_head)
        c->cbs->on_head(c, &c->head);
    if (c->closing)
        return -1;
    return bodiless ? 1 : 0;
}

static int knd_http_client_on_body(llhttp_t *p, const char *at, size_t n)
{
    knd_http_client_t *c = p->data;
    if (c->cbs->on_body)
        c->cbs->on_body(c, at, n);
    return c->closing ? -1 : 0;
}

static int knd_http_client_on_complete(llhttp_t *p)
{
    knd_http_client_t *c = p->data;
    if (c->interim) {
        c->interim = false;
        return 0;
    }
    if (c->head.status == 101) {
        /* The rest is the tunnel's. Paused here, not left to llhttp, which goes on parsing
         * responses after a 101 that lacks "Connection: upgrade". Never pooled: reusable
         * needs `done`, which a tunnel never reaches. */
        c->raw = true;
        return HPE_PAUSED;
    }
    c->done = true;
    c->in_exchange = false;
    if (c->cbs->on_done)
        c->cbs->on_done(c);
    return HPE_PAUSED; /* anything after the response is not ours to parse */
}

/* llhttp's callbacks: a constant table (llhttp_settings_init only zeroes the struct). */
static const llhttp_settings_t knd_http_client_parser_settings = {
    .on_message_begin = knd_http_client_on_begin,
    .on_header_field = knd_http_client_on_field,
    .on_header_value = knd_http_client_on_value,
    .on_header_field_complete = knd_http_client_on_field_done,
    .on_header_value_complete = knd_http_client_on_value_done,
    .on_headers_complete = knd_http_client_on_headers,
    .on_body = knd_http_client_on_body,
    .on_message_complete = knd_http_client_on_complete,
};

static const llhttp_settings_t *knd_http_client_settings(void)
{
    return &knd_http_client_parser_settings;
}

/* ------------------------------------------------------------------ I/O */

/* One read buffer for every upstream connection: the loop is single-threaded and each read
 * is parsed (bodies handed on, and copied, by the callbacks) before its callback returns.
 * 128 KiB rather than 64: a 64 KiB body and its head then come in one read(2) and leave in
 * one writev(2), where a buffer of exactly 64 KiB takes two of each (libuv reads again when
 * a read fills the buffer). Pages past the first are touched only by large responses. */
static char knd_http_client_rbuf[128 * 1024];

static void knd_http_client_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    buf->base = knd_http_client_rbuf;
    buf->len = sizeof(knd_http_client_rbuf);
}

static void knd_http_client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    knd_http_client_t *c = s->data;
    if (nread > 0 && !c->closing && c->raw) {
        if (c->cbs->on_raw)
            c->cbs->on_raw(c, buf->base, (size_t)nread);
        return;
    }
    if (nread > 0 && !c->closing) {
        if (!c->in_exchange) {
            /* Bytes while idle, or after the response: the upstream broke framing. */
            knd_http_client_fail(c, UV_EPROTO);
            return;
        }
        llhttp_errno_t e = llhttp_execute(&c->parser, buf->base, (size_t)nread);
        if ((e == HPE_PAUSED_UPGRADE || e == HPE_PAUSED) && c->raw) {
            const char *pos = llhttp_get_error_pos(&c->parser);
            if (pos && pos < buf->base + nread && c->cbs->on_raw && !c->closing)
                c->cbs->on_raw(c, pos, (size_t)(buf->base + nread - pos));
            return;
        }
        if (e == HPE_PAUSED) {
            if (llhttp_get_error_pos(&c->parser) != buf->base + nread)
                c->broken = true; /* trailing garbage: do not reuse */
            llhttp_resume(&c->parser);
        } else if (e != HPE_OK && !c->closing) {
            knd_http_client_fail(c, UV_EPROTO);
            return;
        }
    }
    if (nread >= 0 || c->closing)
        return;
    if (c->raw) {
        knd_http_client_fail(c, (int)nread); /* the tunnel ended */
        return;
    }
    /* EOF: a response delimited by the connection's end completes here. */
    if (c->in_exchange && nread == UV_EOF && llhttp_finish(&c->parser) == HPE_OK && c->done) {
        c->broken = true;
        return;
    }
    /* Any EOF or error outside a completed exchange - including an idle pooled connection the
     * instance closed - is reported, so the pool drops it. */
    knd_http_client_fail(c, (int)nread);
}

static void knd_http_client_update_reading(knd_http_client_t *c)
{
    bool want = c->connected && !c->closing && !c->paused;
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, knd_http_client_alloc, knd_http_client_read) == 0)
            c->reading = true;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

static void knd_http_client_closed(uv_handle_t *h);

static void knd_http_client_on_connected(uv_connect_t *req, int status)
{
    knd_http_client_t *c = req->data;
    if (c->closing)
        return;
    if (status < 0) {
        c->broken = true;
        if (c->cbs->on_connect)
            c->cbs->on_connect(c, status);
        return;
    }
    c->connected = true;
    uv_tcp_nodelay(&c->tcp, 1);
    knd_http_client_update_reading(c);
    if (c->cbs->on_connect)
        c->cbs->on_connect(c, 0);
}

knd_http_client_t *knd_http_client_connect_addr(uv_loop_t *loop, const struct sockaddr *addr,
                                                const knd_http_client_cbs_t *cbs, void *data)
{
    knd_http_client_t *c = knd_xcalloc(1, sizeof(*c));
    c->cbs = cbs;
    c->data = data;
    knd_http_head_init(&c->head);
    llhttp_init(&c->parser, HTTP_RESPONSE, knd_http_client_settings());
    c->parser.data = c;
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
    c->connect.data = c;
    int rc = uv_tcp_connect(&c->connect, &c->tcp, addr, knd_http_client_on_connected);
    if (rc < 0) {
        /* Failed before any I/O (e.g. EMFILE, or no IPv6): no callback, the caller sees NULL. */
        c->closing = true;
        uv_close((uv_handle_t *)&c->tcp, knd_http_client_closed);
        return NULL;
    }
    return c;
}

knd_http_client_t *knd_http_client_connect(uv_loop_t *loop, int port,
                                           const knd_http_client_cbs_t *cbs, void *data)
{
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", port, &sa);
    return knd_http_client_connect_addr(loop, (const struct sockaddr *)&sa, cbs, data);
}

void knd_http_client_bind(knd_http_client_t *c, const knd_http_client_cbs_t *cbs, void *data)
{
    c->cbs = cbs;
    c->data = data;
}

void *knd_http_client_data(const knd_http_client_t *c)
{
    return c->data;
}

void knd_http_client_begin(knd_http_client_t *c, bool head_request)
{
    c->head_request = head_request;
    c->in_exchange = true;
    c->done = false;
    c->interim = false;
    if (c->paused) { /* left paused by the previous exchange's slow reader */
        c->paused = false;
        knd_http_client_update_reading(c);
    }
    /* No llhttp_init here: a reused connection may begin its next exchange from inside the
     * previous one's completion callback, while llhttp_execute is still on the stack. The
     * parser is ready for the next message once resumed after the pause at message-complete. */
}

static void knd_http_client_after_write(uv_write_t *w, int status)
{
    knd_http_client_wreq_t *wr = (knd_http_client_wreq_t *)w;
    knd_http_client_t *c = wr->c;
    free(wr);
    if (c->closing)
        return;
    if (status < 0) {
        knd_http_client_fail(c, status);
        return;
    }
    if (c->want_drain && c->tcp.write_queue_size < 64 * 1024) {
        c->want_drain = false;
        if (c->cbs->on_drain)
            c->cbs->on_drain(c);
    }
}

void knd_http_client_write(knd_http_client_t *c, const char *a, size_t an, const char *b,
                           size_t bn, const char *d, size_t dn)
{
    if (c->closing || c->broken)
        return;
    size_t n = an + bn + dn, npieces = 0;
    uv_buf_t pieces[3];
    /* Empty pieces are left out: the kernel would walk them in every writev. */
    if (an > 0)
        pieces[npieces++] = uv_buf_init((char *)a, (unsigned)an);
    if (bn > 0)
        pieces[npieces++] = uv_buf_init((char *)b, (unsigned)bn);
    if (dn > 0)
        pieces[npieces++] = uv_buf_init((char *)d, (unsigned)dn);
    /* Nothing queued: write now (no write request, no copy, no completion callback, and libuv
     * does not re-arm the fd with epoll_ctl afterwards). The rest, if any, is queued. */
    size_t skip = 0;
    if (c->tcp.write_queue_size == 0 && n > 0) {
        int w = uv_try_write((uv_stream_t *)&c->tcp, pieces, (unsigned)npieces);
        if (w == (int)n)
            return;
        /* An error is left to uv_write to report, from the loop: callers are on the stack. */
        skip = w > 0 ? (size_t)w : 0;
    }
    knd_http_client_wreq_t *wr = knd_xmalloc(sizeof(*wr) + n - skip);
    wr->c = c;
    size_t off = 0;
    for (size_t i = 0; i < npieces; i++) {
        size_t len = pieces[i].len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        memcpy(wr->data + off, pieces[i].base + skip, len - skip);
        off += len - skip;
        skip = 0;
    }
    wr->buf = uv_buf_init(wr->data, (unsigned)off);
    if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &wr->buf, 1, knd_http_client_after_write) < 0) {
        free(wr);
        knd_http_client_fail(c, UV_EPIPE);
    }
}

size_t knd_http_client_queued(const knd_http_client_t *c)
{
    ((knd_http_client_t *)c)->want_drain = true;
    return c->tcp.write_queue_size;
}

void knd_http_client_pause(knd_http_client_t *c)
{
    c->paused = true;
    knd_http_client_update_reading(c);
}

void knd_http_client_resume(knd_http_client_t *c)
{
    c->paused = false;
    knd_http_client_update_reading(c);
}

bool knd_http_client_reusable(const knd_http_client_t *c)
{
    return c->connected && !c->closing && !c->broken && c->done && !c->in_exchange &&
           c->head.keep_alive;
}

static void knd_http_client_closed(uv_handle_t *h)
{
    knd_http_client_t *c = h->data;
    knd_http_head_free(&c->head);
    free(c);
}

void knd_http_client_close(knd_http_client_t *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, knd_http_client_closed);
}
