/*
 * knd_alloc.h - allocation that never returns NULL. Out of memory aborts with the caller's file
 * and line (redis zmalloc, crun): no caller checks the result.
 */
#ifndef KND_ALLOC_H
#define KND_ALLOC_H

#include <stddef.h>

#define knd_xmalloc(n) knd__xmalloc((n), __FILE__, __LINE__)
#define knd_xcalloc(n, m) knd__xcalloc((n), (m), __FILE__, __LINE__)
#define knd_xrealloc(p, n) knd__xrealloc((p), (n), __FILE__, __LINE__)
#define knd_xstrdup(s) knd__xstrdup((s), __FILE__, __LINE__)
#define knd_xstrndup(s, n) knd__xstrndup((s), (n), __FILE__, __LINE__)

void *knd__xmalloc(size_t n, const char *file, int line);
void *knd__xcalloc(size_t n, size_t m, const char *file, int line);
void *knd__xrealloc(void *p, size_t n, const char *file, int line);
char *knd__xstrdup(const char *s, const char *file, int line);
char *knd__xstrndup(const char *s, size_t n, const char *file, int line);

/** Returns a new heap string formatted like printf; never NULL. */
char *knd_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define KND_ASSERT(c)                                                                             \
    do {                                                                                          \
        if (!(c))                                                                                 \
            knd__assert_fail(#c, __FILE__, __LINE__);                                             \
    } while (0)

void knd__assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

#define KND_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Memory parked for reuse (the HTTP server's and the proxy's free lists) is poisoned under
 * AddressSanitizer, so that touching it before it is handed out again is still reported as a
 * use after free. LeakSanitizer does not look for pointers inside poisoned memory, so a leak
 * check made while an object is parked takes the buffers it holds for leaks; the fuzz targets,
 * which check after every input (libFuzzer), build with KND_NO_POISON.
 */
#if defined(__SANITIZE_ADDRESS__)
#define KND_HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KND_HAVE_ASAN 1
#endif
#endif
#if defined(KND_HAVE_ASAN) && !defined(KND_NO_POISON)
#include <sanitizer/asan_interface.h>
#define KND_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define KND_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define KND_POISON(p, n) ((void)(p), (void)(n))
#define KND_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#endif
