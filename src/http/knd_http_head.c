/* knd_http_head.c - HTTP message heads accumulated from llhttp callbacks (see knd_http.h). */
#include "knd_http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "knd_alloc.h"

void knd_http_head_init(knd_http_head_t *h)
{
    memset(h, 0, sizeof(*h));
    knd_buf_init(&h->raw);
    h->content_length = -1;
}

void knd_http_head_free(knd_http_head_t *h)
{
    knd_buf_free(&h->raw);
    free(h->hdrs);
    memset(h, 0, sizeof(*h));
    h->content_length = -1;
}

void knd_http_head_reset(knd_http_head_t *h)
{
    knd_buf_reset(&h->raw);
    knd_http_hdr_t *hdrs = h->hdrs;
    size_t cap = h->cap;
    knd_buf_t raw = h->raw;
    memset(h, 0, sizeof(*h));
    h->raw = raw;
    h->hdrs = hdrs;
    h->cap = cap;
    h->content_length = -1;
    /* Offset 0 must never be a valid piece: callers test `url != 0`. */
    knd_buf_append(&h->raw, "", 1);
}

const char *knd_http_head_url(const knd_http_head_t *h)
{
    return h->url ? h->raw.p + h->url : "";
}

size_t knd_http_head_count(const knd_http_head_t *h)
{
    return h->nhdrs;
}

const char *knd_http_head_name(const knd_http_head_t *h, size_t i)
{
    return h->raw.p + h->hdrs[i].name;
}

const char *knd_http_head_value(const knd_http_head_t *h, size_t i)
{
    return h->raw.p + h->hdrs[i].value;
}

const char *knd_http_head_get(const knd_http_head_t *h, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < h->nhdrs; i++)
        if (h->hdrs[i].name_len == n && strcasecmp(knd_http_head_name(h, i), name) == 0)
            return knd_http_head_value(h, i);
    return NULL;
}

static int knd_http_head_room(knd_http_head_t *h, size_t n)
{
    if (h->raw.len + n > KND_HTTP_MAX_HEAD) {
        h->too_large = true;
        return -1;
    }
    return 0;
}

static void knd_http_head_new_header(knd_http_head_t *h)
{
    if (h->nhdrs == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->hdrs = knd_xrealloc(h->hdrs, h->cap * sizeof(*h->hdrs));
    }
    h->hdrs[h->nhdrs].name = h->raw.len;
    h->hdrs[h->nhdrs].value = 0;
    h->hdrs[h->nhdrs].name_len = 0;
    h->nhdrs++;
}

void knd_http_head_add(knd_http_head_t *h, const char *name, const char *value)
{
    if (h->raw.len == 0)
        knd_buf_append(&h->raw, "", 1);
    knd_http_head_new_header(h);
    h->hdrs[h->nhdrs - 1].name_len = strlen(name);
    knd_buf_append(&h->raw, name, strlen(name) + 1);
    h->hdrs[h->nhdrs - 1].value = h->raw.len;
    knd_buf_append(&h->raw, value, strlen(value) + 1);
}

int knd_http_head_on_url(knd_http_head_t *h, const char *at, size_t n)
{
    if (knd_http_head_room(h, n) < 0)
        return -1;
    if (h->raw.len == 0)
        knd_buf_append(&h->raw, "", 1);
    if (h->url == 0)
        h->url = h->raw.len;
    knd_buf_append(&h->raw, at, n);
    return 0;
}

int knd_http_head_on_field(knd_http_head_t *h, const char *at, size_t n)
{
    if (knd_http_head_room(h, n) < 0)
        return -1;
    if (h->raw.len == 0)
        knd_buf_append(&h->raw, "", 1);
    if (h->nhdrs == 0 || h->in_value) {
        if (h->nhdrs >= KND_HTTP_MAX_HEADERS) {
            h->too_large = true;
            return -1;
        }
        knd_http_head_new_header(h);
        h->in_value = false;
    }
    knd_buf_append(&h->raw, at, n);
    return 0;
}

void knd_http_head_field_done(knd_http_head_t *h)
{
    if (h->nhdrs)
        h->hdrs[h->nhdrs - 1].name_len = h->raw.len - h->hdrs[h->nhdrs - 1].name;
    knd_buf_append(&h->raw, "", 1);
    h->in_value = true;
}

int knd_http_head_on_value(knd_http_head_t *h, const char *at, size_t n)
{
    if (knd_http_head_room(h, n) < 0)
        return -1;
    if (h->hdrs[h->nhdrs - 1].value == 0)
        h->hdrs[h->nhdrs - 1].value = h->raw.len;
    knd_buf_append(&h->raw, at, n);
    return 0;
}

void knd_http_head_value_done(knd_http_head_t *h)
{
    if (h->nhdrs && h->hdrs[h->nhdrs - 1].value == 0)
        h->hdrs[h->nhdrs - 1].value = h->raw.len; /* empty value: no data callback came */
    knd_buf_append(&h->raw, "", 1);
}

void knd_http_head_url_done(knd_http_head_t *h)
{
    knd_buf_append(&h->raw, "", 1);
}

void knd_http_head_finish(knd_http_head_t *h, llhttp_t *p)
{
    if (h->raw.len == 0)
        knd_buf_append(&h->raw, "", 1);
    h->method = llhttp_get_method(p);
    h->status = llhttp_get_status_code(p);
    h->http_major = llhttp_get_http_major(p);
    h->http_minor = llhttp_get_http_minor(p);
    h->keep_alive = llhttp_should_keep_alive(p) != 0;
    h->upgrade = llhttp_get_upgrade(p) != 0;
    h->chunked = (p->flags & F_CHUNKED) != 0;
    h->content_length = (p->flags & F_CONTENT_LENGTH) ? (int64_t)p->content_length : -1;
}

void knd_http_head_origin_form(knd_http_head_t *h)
{
    if (h->url == 0 || (h->raw.p[h->url] | 0x20) != 'h') /* "/...", "*": nearly every request */
        return;
    const char *url = h->raw.p + h->url;
    size_t scheme = strncasecmp(url, "http://", 7) == 0    ? 7
                    : strncasecmp(url, "https://", 8) == 0 ? 8
                                                           : 0;
    if (scheme == 0)
        return;
    const char *auth = url + scheme;
    size_t auth_len = strcspn(auth, "/?#");
    if (auth_len == 0)
        return; /* "http:///x" names no host: the Host header stays in charge */
    const char *at = memchr(auth, '@', auth_len); /* userinfo is not part of the host */
    while (at) {
        auth_len -= (size_t)(at + 1 - auth);
        auth = at + 1;
        at = memchr(auth, '@', auth_len);
    }
    const char *path = auth + auth_len;
    size_t auth_from = (size_t)(auth - h->raw.p), path_from = (size_t)(path - h->raw.p);
    size_t path_len = strlen(path);
    /* The new pieces are copied from raw into raw: room first, so the source cannot move
     * under the copy. The old pieces stay where they are (offsets into raw never change). */
    knd_buf_reserve(&h->raw, auth_len + path_len + 8);
    size_t auth_off = h->raw.len;
    knd_buf_append(&h->raw, h->raw.p + auth_from, auth_len);
    knd_buf_append(&h->raw, "", 1);
    size_t path_off = h->raw.len;
    if (h->raw.p[path_from] != '/') /* `path` itself may point into the old buffer now */
        knd_buf_append(&h->raw, "/", 1);
    knd_buf_append(&h->raw, h->raw.p + path_from, path_len + 1);
    h->url = path_off;
    for (size_t i = 0; i < h->nhdrs; i++) {
        if (h->hdrs[i].name_len == 4 && strcasecmp(knd_http_head_name(h, i), "Host") == 0) {
            h->hdrs[i].value = auth_off;
            return;
        }
    }
    knd_http_head_new_header(h);
    knd_http_hdr_t *host = &h->hdrs[h->nhdrs - 1];
    host->name = h->raw.len;
    host->name_len = 4;
    knd_buf_append(&h->raw, "Host", 5);
    host->value = auth_off;
}

bool knd_http_is_hop_header(const char *name)
{
    /* On every header of every proxied message: dispatch on the length before comparing. */
    switch (strlen(name)) {
    case 2:
        return strcasecmp(name, "te") == 0;
    case 7:
        return strcasecmp(name, "trailer") == 0 || strcasecmp(name, "upgrade") == 0;
    case 10:
        return strcasecmp(name, "connection") == 0 || strcasecmp(name, "keep-alive") == 0;
    case 16:
        return strcasecmp(name, "proxy-connection") == 0;
    case 17:
        return strcasecmp(name, "transfer-encoding") == 0;
    case 18:
        return strcasecmp(name, "proxy-authenticate") == 0;
    case 19:
        return strcasecmp(name, "proxy-authorization") == 0;
    default:
        return false;
    }
}

bool knd_http_connection_lists(const knd_http_head_t *h, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < h->nhdrs; i++) {
        const char *hn = knd_http_head_name(h, i);
        if ((hn[0] | 0x20) != 'c' || strcasecmp(hn, "Connection") != 0)
            continue;
        for (const char *p = knd_http_head_value(h, i); *p;) {
            p += strspn(p, " \t,");
            size_t len = strcspn(p, " \t,");
            if (len == n && strncasecmp(p, name, n) == 0)
                return true;
            p += len;
        }
    }
    return false;
}

const char *knd_http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}

static int knd_http_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int knd_http_url_decode(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r == '%') {
            int hi = knd_http_hexval(r[1]), lo = hi < 0 ? -1 : knd_http_hexval(r[2]);
            if (hi < 0 || lo < 0)
                return -1;
            *w++ = (char)(hi * 16 + lo);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return 0;
}
