/*
 * knd_http.h - HTTP/1.1 message heads shared by the server and client sides of knd's llhttp
 * glue. Knows nothing of Knative.
 *
 * A head (request line or status line plus headers) is accumulated from llhttp callbacks into one
 * buffer; every URL, header name and value is stored NUL-terminated there, so callers get plain C
 * strings. The head owns that storage; strings borrowed from it live as long as the head.
 */
#ifndef KND_HTTP_H
#define KND_HTTP_H

#include <llhttp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "knd_buf.h"

#define KND_HTTP_MAX_HEAD 65536   /* bytes of request line + headers: beyond -> 431 */
#define KND_HTTP_MAX_HEADERS 128  /* header fields: beyond -> 431 */

typedef struct {
    size_t name, value; /* offsets into knd_http_head_t.raw of NUL-terminated strings */
    size_t name_len;    /* strlen of the name: lookups compare lengths first */
} knd_http_hdr_t;

typedef struct knd_http_head_s {
    knd_buf_t raw;          /* owned storage of url, names, values */
    size_t url;             /* offset of the request target (requests only) */
    knd_http_hdr_t *hdrs;   /* owned array */
    size_t nhdrs, cap;
    int method;             /* llhttp_method_t (requests) */
    int status;             /* responses */
    int http_major, http_minor;
    int64_t content_length; /* -1 when absent */
    bool chunked;           /* Transfer-Encoding: chunked */
    bool keep_alive;        /* llhttp_should_keep_alive at headers-complete */
    bool upgrade;
    bool in_value;          /* parser state: past the current header's name */
    bool too_large;         /* limits exceeded: answer 431 */
} knd_http_head_t;

void knd_http_head_init(knd_http_head_t *h);
void knd_http_head_free(knd_http_head_t *h);
void knd_http_head_reset(knd_http_head_t *h);

const char *knd_http_head_url(const knd_http_head_t *h);
size_t knd_http_head_count(const knd_http_head_t *h);
const char *knd_http_head_name(const knd_http_head_t *h, size_t i);
const char *knd_http_head_value(const knd_http_head_t *h, size_t i);
/** First value of header `name` (case-insensitive), or NULL. */
const char *knd_http_head_get(const knd_http_head_t *h, const char *name);
/** Adds a header (used when building heads by hand, e.g. in tests). */
void knd_http_head_add(knd_http_head_t *h, const char *name, const char *value);

/* llhttp callback helpers: each appends to the head, enforcing the limits. */
int knd_http_head_on_url(knd_http_head_t *h, const char *at, size_t n);
int knd_http_head_on_field(knd_http_head_t *h, const char *at, size_t n);
int knd_http_head_on_value(knd_http_head_t *h, const char *at, size_t n);
/* ... and the matching *_complete callbacks, which terminate the piece. */
void knd_http_head_url_done(knd_http_head_t *h);
void knd_http_head_field_done(knd_http_head_t *h);
void knd_http_head_value_done(knd_http_head_t *h);
/**
 * A request target in absolute form ("http://host:port/path?q") becomes origin form ("/path?q")
 * and its authority the Host header's value, as RFC 9112 3.2.2 has a server take it (the Host
 * header received is ignored); a target in any other form is left alone.
 */
void knd_http_head_origin_form(knd_http_head_t *h);
/** Fills method/status/version/length/flags from the parser at headers-complete. */
void knd_http_head_finish(knd_http_head_t *h, llhttp_t *p);

/** True for hop-by-hop headers a proxy must not forward (RFC 9110 §7.6.1). */
bool knd_http_is_hop_header(const char *name);
/** True if h's Connection header lists `name` (which makes it hop-by-hop too). */
bool knd_http_connection_lists(const knd_http_head_t *h, const char *name);
/** "OK", "Not Found", ...; "Unknown" for codes it does not know. */
const char *knd_http_reason(int status);
/** Percent-decodes s in place; returns -1 on a malformed escape. */
int knd_http_url_decode(char *s);

#endif
