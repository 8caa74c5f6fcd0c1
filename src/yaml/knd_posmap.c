/*
 * knd_posmap.c - field path -> line:col for one document, and the nearest-ancestor lookup
 * behind knd_doc_pos().
 *
 * An open-addressing hash table (FNV-1a, linear probing, grown at 3/4 load). The map owns copies
 * of the paths. Paths are Knative FieldError paths ("a.b[0].c"); keys are appended verbatim, so a
 * key may itself contain '.' or '[': ancestors are therefore found by trying every shorter prefix
 * that ends just before a '.' or '[' and keeping the longest one that was actually recorded,
 * never by splitting the path on dots.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_yaml_int.h"

typedef struct {
    char *path; /* owned; NULL for an empty slot */
    size_t len;
    uint64_t hash;
    int line, col;
} knd_posmap_entry_t;

struct knd_posmap_s {
    knd_posmap_entry_t *slots; /* owned array of cap */
    size_t n, cap;             /* cap is a power of two */
};

static uint64_t knd_posmap_hash(const char *p, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

knd_posmap_t *knd__posmap_new(void)
{
    knd_posmap_t *m = knd_xcalloc(1, sizeof(*m));
    m->cap = 16;
    m->slots = knd_xcalloc(m->cap, sizeof(*m->slots));
    return m;
}

void knd__posmap_free(knd_posmap_t *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].path);
    free(m->slots);
    free(m);
}

size_t knd__posmap_count(const knd_posmap_t *m)
{
    return m->n;
}

static knd_posmap_entry_t *knd_posmap_find(const knd_posmap_t *m, const char *path, size_t len,
                                           uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        knd_posmap_entry_t *e = &m->slots[i];
        if (e->path == NULL)
            return e;
        if (e->hash == h && e->len == len && memcmp(e->path, path, len) == 0)
            return e;
    }
}

static void knd_posmap_grow(knd_posmap_t *m)
{
    knd_posmap_entry_t *old = m->slots;
    size_t oldcap = m->cap;

    m->cap *= 2;
    m->slots = knd_xcalloc(m->cap, sizeof(*m->slots));
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i].path == NULL)
            continue;
        knd_posmap_entry_t *e = knd_posmap_find(m, old[i].path, old[i].len, old[i].hash);
        *e = old[i];
    }
    free(old);
}

void knd__posmap_put(knd_posmap_t *m, const char *path, size_t len, int line, int col)
{
    if ((m->n + 1) * 4 > m->cap * 3)
        knd_posmap_grow(m);
    uint64_t h = knd_posmap_hash(path, len);
    knd_posmap_entry_t *e = knd_posmap_find(m, path, len, h);
    if (e->path == NULL) {
        e->path = knd_xstrndup(path, len);
        e->len = len;
        e->hash = h;
        m->n++;
    }
    e->line = line;
    e->col = col;
}

int knd__posmap_get(const knd_posmap_t *m, const char *path, size_t len, int *line, int *col)
{
    const knd_posmap_entry_t *e = knd_posmap_find(m, path, len, knd_posmap_hash(path, len));
    if (e->path == NULL)
        return -1;
    *line = e->line;
    *col = e->col;
    return 0;
}

void knd_doc_pos(const knd_doc_t *doc, const char *path, int *line, int *col)
{
    *line = doc->line > 0 ? doc->line : 1;
    *col = 1;
    if (doc->pos == NULL)
        return;
    if (path == NULL)
        path = "";

    size_t len = strlen(path);
    if (knd__posmap_get(doc->pos, path, len, line, col) == 0)
        return;
    for (size_t i = len; i-- > 0;) {
        if (path[i] != '.' && path[i] != '[')
            continue;
        if (knd__posmap_get(doc->pos, path, i, line, col) == 0)
            return;
    }
    /* The root is recorded as ""; a path whose first key is unknown lands there. */
    knd__posmap_get(doc->pos, "", 0, line, col);
}
