/*
 * knd_fuzz_client.c - the loop helpers and the client connection of the fuzz targets (see
 * knd_fuzz_client.h).
 */
#include "knd_fuzz_client.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

#define KND_FUZZ_SETTLE_MAX 20000 /* loop turns before "settled" is declared anyway */

/* ------------------------------------------------------------------ the loop */

static bool knd_fuzz_busy(uv_loop_t *loop)
{
    struct pollfd p = {.fd = uv_backend_fd(loop), .events = POLLIN};
    return uv_backend_timeout(loop) == 0 || poll(&p, 1, 0) > 0;
}

void knd_fuzz_settle(uv_loop_t *loop)
{
    for (int quiet = 0, i = 0; quiet < 2 && i < KND_FUZZ_SETTLE_MAX; i++) {
        uv_run(loop, UV_RUN_NOWAIT);
        quiet = knd_fuzz_busy(loop) ? 0 : quiet + 1;
    }
}

static void knd_fuzz_timer_done(uv_timer_t *t)
{
    (void)t;
}

void knd_fuzz_linger(uv_loop_t *loop, uint64_t ms)
{
    uv_timer_t t;
    uv_timer_init(loop, &t);
    uv_update_time(loop);
    uint64_t until = uv_now(loop) + ms;
    uv_timer_start(&t, knd_fuzz_timer_done, ms, 0);
    while (uv_now(loop) < until)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT); /* the close completes before `t` goes out of scope */
}

/* ------------------------------------------------------------------ the client */

static void knd_fuzz_client_closed(uv_handle_t *h)
{
    ((knd_fuzz_client_t *)h->data)->closed = true;
}

static void knd_fuzz_client_connected(uv_connect_t *req, int status)
{
    ((knd_fuzz_client_t *)req->data)->connected = status < 0 ? status : 1;
}

static void knd_fuzz_client_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    knd_fuzz_client_t *c = h->data;
    knd_buf_reserve(&c->in, 16384);
    *buf = uv_buf_init(c->in.p + c->in.len, 16384);
}

static void knd_fuzz_client_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    knd_fuzz_client_t *c = s->data;
    (void)buf;
    if (n < 0)
        c->eof = true;
    else
        c->in.len += (size_t)n;
}

static void knd_fuzz_client_init(knd_fuzz_client_t *c, uv_loop_t *loop)
{
    memset(c, 0, sizeof(*c));
    c->loop = loop;
    knd_buf_init(&c->in);
    c->h.handle.data = c;
    c->conn.data = c;
}

static void knd_fuzz_client_connect_wait(knd_fuzz_client_t *c)
{
    while (c->connected == 0)
        uv_run(c->loop, UV_RUN_ONCE);
    if (c->connected < 0)
        abort();
    uv_read_start(&c->h.stream, knd_fuzz_client_alloc, knd_fuzz_client_read);
}

void knd_fuzz_client_open_tcp(knd_fuzz_client_t *c, uv_loop_t *loop, int port)
{
    knd_fuzz_client_init(c, loop);
    uv_tcp_init(loop, &c->h.tcp);
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", port, &sa);
    if (uv_tcp_connect(&c->conn, &c->h.tcp, (const struct sockaddr *)&sa,
                       knd_fuzz_client_connected) < 0)
        abort();
    knd_fuzz_client_connect_wait(c);
}

void knd_fuzz_client_open_unix(knd_fuzz_client_t *c, uv_loop_t *loop, const char *path)
{
    knd_fuzz_client_init(c, loop);
    uv_pipe_init(loop, &c->h.pipe, 0);
    uv_pipe_connect(&c->conn, &c->h.pipe, path, knd_fuzz_client_connected);
    knd_fuzz_client_connect_wait(c);
}

/* uv_try_write: the server reads as the loop settles, so a large input goes out in turns. */
void knd_fuzz_client_send(knd_fuzz_client_t *c, const uint8_t *p, size_t n)
{
    while (n > 0 && !c->eof) {
        uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
        int w = uv_try_write(&c->h.stream, &b, 1);
        if (w == UV_EAGAIN) {
            uv_run(c->loop, UV_RUN_NOWAIT);
            continue;
        }
        if (w < 0)
            return; /* the server closed the connection: a refusal */
        p += w;
        n -= (size_t)w;
    }
}

void knd_fuzz_client_send_pieces(knd_fuzz_client_t *c, const uint8_t *p, size_t n,
                                 size_t pieces)
{
    size_t off = 0;
    for (size_t i = 0; i < pieces; i++) {
        size_t len = i + 1 == pieces ? n - off : n / pieces;
        knd_fuzz_client_send(c, p + off, len);
        off += len;
        knd_fuzz_settle(c->loop);
    }
}

void knd_fuzz_client_shutdown(knd_fuzz_client_t *c)
{
    uv_shutdown(&c->shut, &c->h.stream, NULL);
    knd_fuzz_settle(c->loop);
}

bool knd_fuzz_client_wait_eof(knd_fuzz_client_t *c, uint64_t ms)
{
    uv_timer_t t; /* a server that never answers must not block the loop for good */
    uv_timer_init(c->loop, &t);
    uv_update_time(c->loop);
    uint64_t deadline = uv_now(c->loop) + ms;
    uv_timer_start(&t, knd_fuzz_timer_done, ms, 0);
    while (!c->eof && uv_now(c->loop) < deadline)
        uv_run(c->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(c->loop, UV_RUN_NOWAIT);
    return c->eof;
}

void knd_fuzz_client_close(knd_fuzz_client_t *c)
{
    uv_close(&c->h.handle, knd_fuzz_client_closed);
    while (!c->closed)
        uv_run(c->loop, UV_RUN_ONCE);
    knd_buf_free(&c->in);
}
