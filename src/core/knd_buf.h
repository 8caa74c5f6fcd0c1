/*
 * knd_buf.h - a growable byte buffer, always NUL-terminated for convenience (the NUL is not part
 * of len). Owned by whoever embeds it; knd_buf_free releases the storage.
 */
#ifndef KND_BUF_H
#define KND_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "knd_types.h"

struct knd_buf_s {
    char *p; /* owned; NULL until the first write */
    size_t len, cap;
};

void knd_buf_init(knd_buf_t *b);
void knd_buf_free(knd_buf_t *b);
void knd_buf_reset(knd_buf_t *b);
void knd_buf_reserve(knd_buf_t *b, size_t extra);

/* Inline: the proxy builds every request and response head with these. */
static inline void knd_buf_append(knd_buf_t *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap)
        knd_buf_reserve(b, n);
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static inline void knd_buf_puts(knd_buf_t *b, const char *s)
{
    knd_buf_append(b, s, strlen(s));
}

/* Appends a string literal, its length known at compile time. */
#define KND_BUF_LIT(b, lit) knd_buf_append((b), (lit), sizeof(lit) - 1)
void knd_buf_printf(knd_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Appends each string of a NULL-terminated list: the hot path's printf("%s%s%s"), without
 * parsing a format. */
void knd_buf_cat(knd_buf_t *b, ...) __attribute__((sentinel));
/** Appends v in decimal. */
void knd_buf_put_i64(knd_buf_t *b, int64_t v);
/** Appends s as a JSON string: quoted, with '"', '\\' and control characters escaped; other
 * bytes (UTF-8 included) as they are. For lines built by hand on the request path. */
void knd_buf_put_json_str(knd_buf_t *b, const char *s);
/** Drops the first n bytes (consumed input). */
void knd_buf_consume(knd_buf_t *b, size_t n);
/** Returns the storage (never NULL, NUL-terminated) and leaves b empty; caller frees. */
char *knd_buf_steal(knd_buf_t *b);
/** The contents as a C string (never NULL). */
const char *knd_buf_cstr(const knd_buf_t *b);

#endif
