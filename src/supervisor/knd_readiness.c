/*
 * knd_readiness.c - one readiness probe attempt (see knd_readiness_int.h).
 *
 * Ownership: an attempt owns a uv_tcp_t and a uv_timer_t (the per-attempt timeout) and frees
 * itself in the last close callback. Finishing is idempotent: the first of connect failure,
 * response, EOF or timeout decides, later events (libuv's UV_ECANCELED callbacks while closing)
 * find the attempt closing and do nothing.
 */
#include "knd_readiness_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "knd_alloc.h"

/*
 * The queue-proxy marks its probes the way the kubelet does, so applications that special-case
 * probes (Knative's own components check the "kube-probe/" prefix) see one.
 */
#define KND_READINESS_USER_AGENT "kube-probe/1.29"

struct knd_readiness_s {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t conn;
    uv_write_t wr;
    llhttp_t parser;
    char *req; /* owned; NULL for a TCP probe */
    size_t req_len;
    int status; /* HTTP status once the headers are complete, else 0 */
    int closing;
    int open_handles;
    knd_readiness_cb cb; /* NULL once reported or cancelled */
    void *data;
    char rbuf[1024];
};

static int knd_readiness_on_headers(llhttp_t *parser)
{
    knd_readiness_t *r = parser->data;

    r->status = parser->status_code;
    return HPE_PAUSED; /* the status is all we need; stop parsing */
}

static const llhttp_settings_t knd_readiness_settings = {
    .on_headers_complete = knd_readiness_on_headers,
};

static void knd_readiness_on_close(uv_handle_t *h)
{
    knd_readiness_t *r = h->data;

    if (--r->open_handles > 0)
        return;
    free(r->req);
    free(r);
}

static void knd_readiness_finish(knd_readiness_t *r, int ok)
{
    knd_readiness_cb cb = r->cb;

    if (r->closing)
        return;
    r->closing = 1;
    r->cb = NULL;
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->tcp, knd_readiness_on_close);
    uv_close((uv_handle_t *)&r->timer, knd_readiness_on_close);
    if (cb)
        cb(r->data, ok);
}

static void knd_readiness_on_timeout(uv_timer_t *t)
{
    knd_readiness_finish(t->data, 0);
}

static void knd_readiness_on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    knd_readiness_t *r = h->data;

    *buf = uv_buf_init(r->rbuf, sizeof(r->rbuf));
}

static int knd_readiness_status_ok(int status)
{
    return status >= 200 && status < 400;
}

static void knd_readiness_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    knd_readiness_t *r = s->data;
    llhttp_errno_t rc;

    if (r->closing)
        return;
    if (nread < 0) {
        /* EOF before the headers were complete (or a reset): not a valid response */
        knd_readiness_finish(r, knd_readiness_status_ok(r->status));
        return;
    }
    if (nread == 0)
        return;
    rc = llhttp_execute(&r->parser, buf->base, (size_t)nread);
    if (r->status != 0)
        knd_readiness_finish(r, knd_readiness_status_ok(r->status));
    else if (rc != HPE_OK)
        knd_readiness_finish(r, 0);
}

static void knd_readiness_on_write(uv_write_t *req, int status)
{
    knd_readiness_t *r = req->data;

    if (status < 0)
        knd_readiness_finish(r, 0);
}

static void knd_readiness_on_connect(uv_connect_t *req, int status)
{
    knd_readiness_t *r = req->data;
    uv_buf_t buf;
    int rc;

    if (r->closing)
        return;
    if (status < 0 || r->req == NULL) {
        knd_readiness_finish(r, status == 0);
        return;
    }
    buf = uv_buf_init(r->req, (unsigned int)r->req_len);
    rc = uv_write(&r->wr, (uv_stream_t *)&r->tcp, &buf, 1, knd_readiness_on_write);
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)&r->tcp, knd_readiness_on_alloc, knd_readiness_on_read);
    if (rc != 0)
        knd_readiness_finish(r, 0);
}

knd_readiness_t *knd__readiness_start(uv_loop_t *loop, int port, const char *http_path,
                                      int timeout_ms, knd_readiness_cb cb, void *data)
{
    knd_readiness_t *r = knd_xcalloc(1, sizeof(*r));
    struct sockaddr_in sa;
    int rc;

    r->cb = cb;
    r->data = data;
    r->tcp.data = r->timer.data = r->conn.data = r->wr.data = r;
    if (http_path) {
        r->req = knd_xasprintf("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: %s\r\n"
                               "Accept: */*\r\nConnection: close\r\n\r\n",
                               http_path, port, KND_READINESS_USER_AGENT);
        r->req_len = strlen(r->req);
        llhttp_init(&r->parser, HTTP_RESPONSE, &knd_readiness_settings);
        r->parser.data = r;
    }
    rc = uv_tcp_init(loop, &r->tcp);
    if (rc != 0) {
        free(r->req);
        free(r);
        return NULL;
    }
    uv_timer_init(loop, &r->timer);
    r->open_handles = 2;
    rc = uv_ip4_addr("127.0.0.1", port, &sa);
    if (rc == 0)
        rc = uv_tcp_connect(&r->conn, &r->tcp, (const struct sockaddr *)&sa,
                            knd_readiness_on_connect);
    if (rc != 0) {
        r->cb = NULL;
        knd_readiness_finish(r, 0);
        return NULL;
    }
    uv_timer_start(&r->timer, knd_readiness_on_timeout, (uint64_t)timeout_ms, 0);
    return r;
}

void knd__readiness_cancel(knd_readiness_t *r)
{
    r->cb = NULL;
    knd_readiness_finish(r, 0);
}
