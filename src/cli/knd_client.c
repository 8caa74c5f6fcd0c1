/*
 * knd_client.c - blocking HTTP/1.1 over a unix socket, responses parsed by llhttp (see
 * knd_client.h). The parser context lives on the stack of knd_client_request; header names and
 * values may arrive in pieces, so they are accumulated until the next field starts.
 */
#include "knd_client.h"

#include <errno.h>
#include <fcntl.h>
#include <llhttp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "knd_alloc.h"

typedef struct {
    knd_client_resp_t *resp;
    knd_client_body_cb sink;
    void *ud;
    knd_buf_t field, value; /* the header being accumulated */
    bool in_value;
    bool done;    /* message complete */
    bool stopped; /* the sink asked to stop */
} knd_client_ctx_t;

/* ---- response object ---------------------------------------------------------------------- */

void knd_client_resp_init(knd_client_resp_t *r)
{
    memset(r, 0, sizeof(*r));
    knd_buf_init(&r->body);
}

void knd_client_resp_free(knd_client_resp_t *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    knd_buf_free(&r->body);
    knd_client_resp_init(r);
}

const char *knd_client_resp_header(const knd_client_resp_t *r, const char *name)
{
    const char *found = NULL;
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            found = r->headers[i].value;
    return found;
}

/* ---- llhttp callbacks --------------------------------------------------------------------- */

static void knd_client_flush_header(knd_client_ctx_t *c)
{
    knd_client_resp_t *r = c->resp;
    if (c->field.len == 0)
        return;
    r->headers = knd_xrealloc(r->headers, (r->nheaders + 1) * sizeof(*r->headers));
    r->headers[r->nheaders].name = knd_buf_steal(&c->field);
    r->headers[r->nheaders].value = knd_buf_steal(&c->value);
    r->nheaders++;
    c->in_value = false;
}

static int knd_client_on_header_field(llhttp_t *p, const char *at, size_t n)
{
    knd_client_ctx_t *c = p->data;
    if (c->in_value)
        knd_client_flush_header(c);
    knd_buf_append(&c->field, at, n);
    return 0;
}

static int knd_client_on_header_value(llhttp_t *p, const char *at, size_t n)
{
    knd_client_ctx_t *c = p->data;
    c->in_value = true;
    knd_buf_append(&c->value, at, n);
    return 0;
}

static int knd_client_on_headers_complete(llhttp_t *p)
{
    knd_client_ctx_t *c = p->data;
    knd_client_flush_header(c);
    c->resp->status = p->status_code;
    return 0;
}

static int knd_client_on_body(llhttp_t *p, const char *at, size_t n)
{
    knd_client_ctx_t *c = p->data;
    int st = c->resp->status;
    if (c->sink != NULL && st >= 200 && st < 300) {
        if (c->sink(c->ud, at, n) != 0) {
            c->stopped = true;
            return HPE_USER;
        }
        return 0;
    }
    knd_buf_append(&c->resp->body, at, n);
    return 0;
}

static int knd_client_on_message_complete(llhttp_t *p)
{
    knd_client_ctx_t *c = p->data;
    c->done = true;
    return HPE_PAUSED;
}

/* ---- socket ------------------------------------------------------------------------------- */

/* Returns a connected fd or -1 with errno set. */
static int knd_client_connect(const char *sock_path)
{
    struct sockaddr_un sa;
    int fd = -1, dirfd = -1, saved;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(sock_path) < sizeof(sa.sun_path)) {
        memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
    } else {
        /* Too long for sun_path: name the socket through an fd of its directory. */
        const char *slash = strrchr(sock_path, '/');
        char *dir = knd_xstrndup(sock_path, slash ? (size_t)(slash - sock_path) : 1);
        dirfd = open(slash ? dir : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        free(dir);
        if (dirfd == -1)
            return -1;
        int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dirfd,
                         slash ? slash + 1 : sock_path);
        if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
            close(dirfd);
            errno = ENAMETOOLONG;
            return -1;
        }
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd != -1) {
        while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
            if (errno == EINTR)
                continue;
            saved = errno;
            close(fd);
            fd = -1;
            errno = saved;
            break;
        }
    }
    if (dirfd != -1) {
        saved = errno;
        close(dirfd);
        errno = saved;
    }
    return fd;
}

static int knd_client_send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Feeds the parser until the message completes, the peer closes, or the sink stops. */
static int knd_client_read_response(int fd, llhttp_t *parser, knd_client_ctx_t *c,
                                    knd_err_t *err)
{
    char rbuf[16384];
    for (;;) {
        ssize_t n = read(fd, rbuf, sizeof(rbuf));
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return knd_err_set(err, KND_E_INTERNAL, "reading the response: %s", strerror(errno));
        llhttp_errno_t rc = n == 0 ? llhttp_finish(parser) : llhttp_execute(parser, rbuf, (size_t)n);
        if (c->done || c->stopped)
            return 0;
        if (rc != HPE_OK)
            return knd_err_set(err, KND_E_INTERNAL, "malformed response: %s",
                               llhttp_get_error_reason(parser) ? llhttp_get_error_reason(parser)
                                                               : llhttp_errno_name(rc));
        if (n == 0)
            return knd_err_set(err, KND_E_INTERNAL,
                               "connection closed before the response was complete");
    }
}

int knd_client_request(const char *sock_path, const char *method, const char *path,
                       const char *body, size_t body_len, knd_client_body_cb sink, void *ud,
                       knd_client_resp_t *resp, knd_err_t *err)
{
    int rc = -1, fd = -1;
    knd_buf_t req;
    llhttp_t parser;
    llhttp_settings_t settings;
    knd_client_ctx_t ctx = {.resp = resp, .sink = sink, .ud = ud};

    knd_buf_init(&req);
    knd_buf_init(&ctx.field);
    knd_buf_init(&ctx.value);
    fd = knd_client_connect(sock_path);
    if (fd == -1) {
        knd_err_set(err, KND_E_UNAVAILABLE, "%s", strerror(errno));
        err->errno_ = errno;
        goto out;
    }
    knd_buf_printf(&req, "%s %s HTTP/1.1\r\nHost: knd\r\nUser-Agent: knd/cli\r\n"
                   "Accept: application/json\r\nConnection: close\r\n", method, path);
    if (body != NULL)
        knd_buf_printf(&req, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
                       body_len);
    else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0)
        knd_buf_puts(&req, "Content-Length: 0\r\n");
    knd_buf_puts(&req, "\r\n");
    if (body != NULL)
        knd_buf_append(&req, body, body_len);
    if (knd_client_send_all(fd, req.p, req.len) == -1) {
        knd_err_set(err, KND_E_UNAVAILABLE, "%s", strerror(errno));
        err->errno_ = errno;
        goto out;
    }

    llhttp_settings_init(&settings);
    settings.on_header_field = knd_client_on_header_field;
    settings.on_header_value = knd_client_on_header_value;
    settings.on_headers_complete = knd_client_on_headers_complete;
    settings.on_body = knd_client_on_body;
    settings.on_message_complete = knd_client_on_message_complete;
    llhttp_init(&parser, HTTP_RESPONSE, &settings);
    parser.data = &ctx;
    rc = knd_client_read_response(fd, &parser, &ctx, err);

out:
    if (fd != -1)
        close(fd);
    knd_buf_free(&req);
    knd_buf_free(&ctx.field);
    knd_buf_free(&ctx.value);
    return rc;
}
