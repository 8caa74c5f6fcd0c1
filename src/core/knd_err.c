/* knd_err.c - error values and field-error lists (see knd_err.h). */
#include "knd_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_buf.h"

int knd_err_set(knd_err_t *err, knd_errcode_t code, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    va_list ap;
    err->code = code;
    err->errno_ = 0;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

void knd_err_wrap(knd_err_t *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    char prefix[512], old[sizeof(err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    /* Truncation is acceptable here: the head of the message carries the context. */
    size_t n = strlen(prefix);
    if (n > sizeof(err->msg) - 3)
        n = sizeof(err->msg) - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    size_t rest = sizeof(err->msg) - n - 3;
    size_t olen = strnlen(old, rest);
    memcpy(err->msg + n + 2, old, olen);
    err->msg[n + 2 + olen] = '\0';
}

void knd_err_clear(knd_err_t *err)
{
    if (err == NULL)
        return;
    err->code = KND_E_OK;
    err->errno_ = 0;
    err->msg[0] = '\0';
}

void knd_errlist_init(knd_errlist_t *l)
{
    memset(l, 0, sizeof(*l));
}

void knd_errlist_free(knd_errlist_t *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].path);
        free(l->v[i].msg);
        free(l->v[i].details);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

void knd_errlist_add(knd_errlist_t *l, const char *path, const char *fmt, ...)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = knd_xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    va_list ap;
    char *msg = NULL;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = knd_xstrdup("(out of memory formatting error)");
    va_end(ap);
    l->v[l->n].path = knd_xstrdup(path ? path : "");
    l->v[l->n].msg = msg;
    l->v[l->n].details = NULL;
    l->n++;
}

void knd_errlist_detail(knd_errlist_t *l, const char *details)
{
    if (l->n == 0)
        return;
    free(l->v[l->n - 1].details);
    l->v[l->n - 1].details = knd_xstrdup(details);
}

char *knd_errlist_join(const knd_errlist_t *l)
{
    knd_buf_t b;
    knd_buf_init(&b);
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            knd_buf_puts(&b, "\n");
        if (l->v[i].path[0])
            knd_buf_printf(&b, "%s: %s", l->v[i].msg, l->v[i].path);
        else
            knd_buf_puts(&b, l->v[i].msg);
        if (l->v[i].details)
            knd_buf_printf(&b, "\n%s", l->v[i].details);
    }
    return knd_buf_steal(&b);
}
