/*
 * knd_http_server_listen.c - the server itself (see knd_http_server.h): listening on TCP, TLS or
 * a unix socket, and closing - stop accepting, let the connections finish or abort them, then
 * free. What happens on each accepted connection is knd_http_server.c's.
 */
#include "knd_http_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "knd_alloc.h"
#include "knd_http_server_int.h"

/* ------------------------------------------------------------------ servers */

static knd_http_server_t *knd_http_server_new(uv_loop_t *loop, const knd_http_limits_t *limits,
                                              knd_http_request_cb cb, void *data)
{
    knd_http_server_t *srv = knd_xcalloc(1, sizeof(*srv));
    srv->loop = loop;
    srv->cb = cb;
    srv->data = data;
    if (limits)
        srv->limits = *limits;
    if (srv->limits.header_timeout_ms == 0)
        srv->limits.header_timeout_ms = 10000;
    if (srv->limits.idle_timeout_ms == 0)
        srv->limits.idle_timeout_ms = 75000;
    if (srv->limits.body_timeout_ms == 0)
        srv->limits.body_timeout_ms = 60000;
    uv_check_init(loop, &srv->flush);
    srv->flush.data = srv;
    srv->open_handles = 2; /* with the listener, initialized by the caller */
    return srv;
}

static void knd_http_server_free_cb(uv_handle_t *h)
{
    knd_http_server_t *srv = h->data;
    srv->open_handles--;
    knd__http_server_maybe_done(srv);
}

static void knd_http_server_close_handles(knd_http_server_t *srv)
{
    uv_close(&srv->listener.handle, knd_http_server_free_cb);
    uv_close((uv_handle_t *)&srv->flush, knd_http_server_free_cb);
}

static int knd_http_server_fail(knd_http_server_t *srv, int rc, knd_err_t *err, const char *what,
                                const char *addr)
{
    knd_err_set(err, KND_E_INTERNAL, "%s %s: %s", what, addr, uv_strerror(rc));
    err->errno_ = rc;
    srv->closing = true;
    knd_http_server_close_handles(srv);
    return -1;
}

static int knd_http_server_listen_inet(uv_loop_t *loop, const char *host, int port,
                                       const knd_http_limits_t *limits, knd_tls_ctx_t *tls,
                                       knd_http_request_cb cb, void *data,
                                       knd_http_server_t **out, knd_err_t *err)
{
    struct sockaddr_storage ss;
    char addr[128];
    snprintf(addr, sizeof(addr), "%s:%d", host, port);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0)
        return knd_err_set(err, KND_E_INVALID, "invalid listen address %s", addr);
    knd_http_server_t *srv = knd_http_server_new(loop, limits, cb, data);
    srv->tls = tls;
    uv_tcp_init(loop, &srv->listener.tcp);
    srv->listener.handle.data = srv;
    int rc = uv_tcp_bind(&srv->listener.tcp, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen(&srv->listener.stream, 511, knd__http_server_on_conn);
    if (rc < 0)
        return knd_http_server_fail(srv, rc, err, "listen on", addr);
    int len = sizeof(ss);
    uv_tcp_getsockname(&srv->listener.tcp, (struct sockaddr *)&ss, &len);
    srv->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    *out = srv;
    return 0;
}

int knd_http_server_listen_tcp(uv_loop_t *loop, const char *host, int port,
                               const knd_http_limits_t *limits, knd_http_request_cb cb,
                               void *data, knd_http_server_t **out, knd_err_t *err)
{
    return knd_http_server_listen_inet(loop, host, port, limits, NULL, cb, data, out, err);
}

int knd_http_server_listen_tls(uv_loop_t *loop, const char *host, int port,
                               const knd_http_limits_t *limits, knd_tls_ctx_t *ctx,
                               knd_http_request_cb cb, void *data, knd_http_server_t **out,
                               knd_err_t *err)
{
    KND_ASSERT(ctx != NULL);
    return knd_http_server_listen_inet(loop, host, port, limits, ctx, cb, data, out, err);
}

int knd_http_server_listen_unix(uv_loop_t *loop, const char *path,
                                const knd_http_limits_t *limits, knd_http_request_cb cb,
                                void *data, knd_http_server_t **out, knd_err_t *err)
{
    knd_http_server_t *srv = knd_http_server_new(loop, limits, cb, data);
    srv->is_unix = true;
    uv_pipe_init(loop, &srv->listener.pipe, 0);
    srv->listener.handle.data = srv;
    unlink(path); /* a stale socket from an earlier run; the state dir lock guards live ones */
    /* Created 0600 from the start: no window where another user could connect. */
    mode_t old = umask(0177);
    int rc = uv_pipe_bind(&srv->listener.pipe, path);
    umask(old);
    if (rc == 0)
        rc = uv_listen(&srv->listener.stream, 128, knd__http_server_on_conn);
    if (rc < 0)
        return knd_http_server_fail(srv, rc, err, "listen on", path);
    *out = srv;
    return 0;
}

int knd_http_server_port(const knd_http_server_t *srv)
{
    return srv->port;
}

void knd_http_server_abort_all(knd_http_server_t *srv)
{
    knd_http_conn_t *c = srv->conns, *next;
    for (; c; c = next) {
        next = c->next;
        knd__http_conn_close(c);
    }
}

size_t knd_http_server_conns(const knd_http_server_t *srv)
{
    return srv->nconns;
}

void knd__http_server_maybe_done(knd_http_server_t *srv)
{
    /* nconns counts connections until their last handle has closed. */
    if (!srv->closing || srv->open_handles > 0 || srv->nconns > 0)
        return;
    knd__http_server_free_spares(srv);
    void (*done)(void *) = srv->done;
    void *data = srv->done_data;
    free(srv);
    if (done)
        done(data);
}

void knd_http_server_close(knd_http_server_t *srv, void (*done)(void *data), void *data)
{
    srv->closing = true;
    srv->done = done;
    srv->done_data = data;
    knd_http_conn_t *c = srv->conns, *next;
    for (; c; c = next) {
        next = c->next;
        if (c->req != NULL)
            continue; /* active: closes after its response (keep-alive is off now) */
        if (c->h.stream.write_queue_size > 0)
            c->close_after_write = true; /* a response still going out: let it finish */
        else
            knd__http_conn_close(c);
    }
    knd_http_server_close_handles(srv);
}
