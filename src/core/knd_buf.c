/* knd_buf.c - growable byte buffer (see knd_buf.h). */
#include "knd_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"

void knd_buf_init(knd_buf_t *b)
{
    b->p = NULL;
    b->len = b->cap = 0;
}

void knd_buf_free(knd_buf_t *b)
{
    free(b->p);
    knd_buf_init(b);
}

void knd_buf_reset(knd_buf_t *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

void knd_buf_reserve(knd_buf_t *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->p = knd_xrealloc(b->p, cap);
    b->cap = cap;
    b->p[b->len] = '\0'; /* knd_buf_cstr must stay valid after a bare reserve */
}

void knd_buf_cat(knd_buf_t *b, ...)
{
    va_list ap;
    va_start(ap, b);
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
        knd_buf_append(b, s, strlen(s));
    va_end(ap);
}

void knd_buf_put_i64(knd_buf_t *b, int64_t v)
{
    char tmp[24], *e = tmp + sizeof(tmp), *q = e;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--q = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--q = '-';
    knd_buf_append(b, q, (size_t)(e - q));
}

/* Bytes a JSON string cannot hold as they are: control characters (NUL, the end, among them),
 * '"' and '\\'. */
static const unsigned char knd_buf_json_escape[256] = {
    [0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1,
};

/* One table-driven scan to the first byte to escape (the terminating NUL is one), one copy:
 * most strings (hosts, paths, names) need no escaping at all. A word-at-a-time scan was tried
 * and cost more on these short strings (strlen first, then the tail byte by byte). */
void knd_buf_put_json_str(knd_buf_t *b, const char *str)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str, *p = s;
    while (!knd_buf_json_escape[*p])
        p++;
    knd_buf_reserve(b, (size_t)(p - s) + 2);
    b->p[b->len++] = '"';
    knd_buf_append(b, s, (size_t)(p - s));
    while (*p) {
        char esc[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
        if (*p == '"' || *p == '\\') {
            esc[1] = (char)*p;
            knd_buf_append(b, esc, 2);
        } else {
            knd_buf_append(b, esc, 6);
        }
        const unsigned char *run = ++p;
        while (!knd_buf_json_escape[*p])
            p++;
        knd_buf_append(b, run, (size_t)(p - run));
    }
    KND_BUF_LIT(b, "\"");
}

void knd_buf_printf(knd_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    knd_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void knd_buf_consume(knd_buf_t *b, size_t n)
{
    if (n >= b->len) {
        knd_buf_reset(b);
        return;
    }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
    b->p[b->len] = '\0';
}

char *knd_buf_steal(knd_buf_t *b)
{
    char *p = b->p ? b->p : knd_xstrdup("");
    knd_buf_init(b);
    return p;
}

const char *knd_buf_cstr(const knd_buf_t *b)
{
    return b->p ? b->p : "";
}
