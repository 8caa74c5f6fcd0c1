/* knd_alloc.c - aborting allocation wrappers (see knd_alloc.h). */
#include "knd_alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void knd_alloc_die(size_t n, const char *file, int line)
{
    fprintf(stderr, "knd: out of memory allocating %zu bytes at %s:%d\n", n, file, line);
    abort();
}

void *knd__xmalloc(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        knd_alloc_die(n, file, line);
    return p;
}

void *knd__xcalloc(size_t n, size_t m, const char *file, int line)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (p == NULL)
        knd_alloc_die(n * m, file, line);
    return p;
}

void *knd__xrealloc(void *p, size_t n, const char *file, int line)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        knd_alloc_die(n, file, line);
    return q;
}

char *knd__xstrdup(const char *s, const char *file, int line)
{
    return knd__xstrndup(s, strlen(s), file, line);
}

char *knd__xstrndup(const char *s, size_t n, const char *file, int line)
{
    char *p = knd__xmalloc(n + 1, file, line);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *knd_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        knd_alloc_die(0, __FILE__, __LINE__);
    return s;
}

void knd__assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "knd: assertion failed: %s at %s:%d\n", expr, file, line);
    abort();
}
