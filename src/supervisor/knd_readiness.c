/*
 * knd_readiness.c - one network probe attempt, TCP or HTTP (see knd_readiness_int.h).
 *
 * Ownership: an attempt owns a uv_tcp_t and a uv_timer_t (the per-attempt timeout) and frees
 * itself in the last close callback. Finishing is idempotent: the first of connect failure,
 * response, EOF or timeout decides, later events (libuv's UV_ECANCELED callbacks while closing)
 * find the attempt closing and do nothing. Failure messages follow the kubelet's (Go's net/http
 * error strings), because they end up in the Revision's status next to Kubernetes' own.
 */
#include "knd_readiness_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <llhttp.h>

#include "knd_alloc.h"
#include "knd_buf.h"

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
    char *url; /* owned; "http://127.0.0.1:<port><path>" for messages, NULL for TCP */
    int port;
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
    free(r->url);
    free(r);
}

/** Reports once; msg (a new string or NULL) is freed after the callback. */
static void knd_readiness_finish(knd_readiness_t *r, int ok, char *msg)
{
    knd_readiness_cb cb = r->cb;

    if (r->closing) {
        free(msg);
        return;
    }
    r->closing = 1;
    r->cb = NULL;
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->tcp, knd_readiness_on_close);
    uv_close((uv_handle_t *)&r->timer, knd_readiness_on_close);
    if (cb)
        cb(r->data, ok, ok ? NULL : msg);
    free(msg);
}

/** Fails with an error from the network layer, worded as Go's client reports it. */
static void knd_readiness_fail_net(knd_readiness_t *r, const char *what)
{
    if (r->url)
        knd_readiness_finish(r, 0, knd_xasprintf("Get \"%s\": %s", r->url, what));
    else
        knd_readiness_finish(r, 0, knd_xstrdup(what));
}

static void knd_readiness_on_timeout(uv_timer_t *t)
{
    knd_readiness_t *r = t->data;
    char *what;

    if (r->url)
        what = knd_xstrdup("context deadline exceeded (Client.Timeout exceeded while awaiting "
                           "headers)");
    else
        what = knd_xasprintf("dial tcp 127.0.0.1:%d: i/o timeout", r->port);
    knd_readiness_fail_net(r, what);
    free(what);
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

static void knd_readiness_finish_status(knd_readiness_t *r)
{
    if (knd_readiness_status_ok(r->status))
        knd_readiness_finish(r, 1, NULL);
    else
        knd_readiness_finish(r, 0,
                             knd_xasprintf("HTTP probe failed with statuscode: %d", r->status));
}

static void knd_readiness_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    knd_readiness_t *r = s->data;
    llhttp_errno_t rc;

    if (r->closing)
        return;
    if (nread < 0) {
        /* EOF before the headers were complete (or a reset): not a valid response */
        if (r->status != 0)
            knd_readiness_finish_status(r);
        else
            knd_readiness_fail_net(r, nread == UV_EOF ? "EOF" : uv_strerror((int)nread));
        return;
    }
    if (nread == 0)
        return;
    rc = llhttp_execute(&r->parser, buf->base, (size_t)nread);
    if (r->status != 0)
        knd_readiness_finish_status(r);
    else if (rc != HPE_OK)
        knd_readiness_fail_net(r, "malformed HTTP response");
}

static void knd_readiness_on_write(uv_write_t *req, int status)
{
    knd_readiness_t *r = req->data;

    if (status < 0)
        knd_readiness_fail_net(r, uv_strerror(status));
}

static void knd_readiness_on_connect(uv_connect_t *req, int status)
{
    knd_readiness_t *r = req->data;
    uv_buf_t buf;
    int rc;

    if (r->closing)
        return;
    if (status < 0) {
        char *what = knd_xasprintf("dial tcp 127.0.0.1:%d: connect: %s", r->port,
                                   uv_strerror(status));
        knd_readiness_fail_net(r, what);
        free(what);
        return;
    }
    if (r->req == NULL) {
        knd_readiness_finish(r, 1, NULL);
        return;
    }
    buf = uv_buf_init(r->req, (unsigned int)r->req_len);
    rc = uv_write(&r->wr, (uv_stream_t *)&r->tcp, &buf, 1, knd_readiness_on_write);
    if (rc == 0)
        rc = uv_read_start((uv_stream_t *)&r->tcp, knd_readiness_on_alloc, knd_readiness_on_read);
    if (rc != 0)
        knd_readiness_fail_net(r, uv_strerror(rc));
}

/** Whether headers (NULL-ended "Name: value") set the named one, which then replaces ours. */
static int knd_readiness_has_header(const char *const *headers, const char *name)
{
    size_t n = strlen(name);

    for (; headers && *headers; headers++) {
        if (strncasecmp(*headers, name, n) == 0 && (*headers)[n] == ':')
            return 1;
    }
    return 0;
}

/** The request: our defaults (each replaced by a user header of the same name), then theirs. */
static char *knd_readiness_build_request(int port, const char *path, const char *const *headers)
{
    knd_buf_t b;

    knd_buf_init(&b);
    knd_buf_printf(&b, "GET %s HTTP/1.1\r\n", path);
    if (!knd_readiness_has_header(headers, "Host"))
        knd_buf_printf(&b, "Host: 127.0.0.1:%d\r\n", port);
    if (!knd_readiness_has_header(headers, "User-Agent"))
        knd_buf_printf(&b, "User-Agent: %s\r\n", KND_READINESS_USER_AGENT);
    if (!knd_readiness_has_header(headers, "Accept"))
        knd_buf_puts(&b, "Accept: */*\r\n");
    if (!knd_readiness_has_header(headers, "Connection"))
        knd_buf_puts(&b, "Connection: close\r\n");
    for (; headers && *headers; headers++)
        knd_buf_printf(&b, "%s\r\n", *headers);
    knd_buf_puts(&b, "\r\n");
    return knd_buf_steal(&b);
}

knd_readiness_t *knd__readiness_start(uv_loop_t *loop, int port, const char *http_path,
                                      const char *const *headers, int timeout_ms,
                                      knd_readiness_cb cb, void *data)
{
    knd_readiness_t *r = knd_xcalloc(1, sizeof(*r));
    struct sockaddr_in sa;
    int rc;

    r->cb = cb;
    r->data = data;
    r->port = port;
    r->tcp.data = r->timer.data = r->conn.data = r->wr.data = r;
    if (http_path) {
        r->req = knd_readiness_build_request(port, http_path, headers);
        r->req_len = strlen(r->req);
        r->url = knd_xasprintf("http://127.0.0.1:%d%s", port, http_path);
        llhttp_init(&r->parser, HTTP_RESPONSE, &knd_readiness_settings);
        r->parser.data = r;
    }
    rc = uv_tcp_init(loop, &r->tcp);
    if (rc != 0) {
        free(r->req);
        free(r->url);
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
        knd_readiness_finish(r, 0, NULL);
        return NULL;
    }
    uv_timer_start(&r->timer, knd_readiness_on_timeout, (uint64_t)timeout_ms, 0);
    return r;
}

void knd__readiness_cancel(knd_readiness_t *r)
{
    r->cb = NULL;
    knd_readiness_finish(r, 0, NULL);
}
