/* knd_route_table.c - immutable host -> traffic tables (see knd_route_table.h). */
#include "knd_route_table.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "knd_alloc.h"

knd_route_table_t *knd_route_table_new(void)
{
    knd_route_table_t *t = knd_xcalloc(1, sizeof(*t));
    t->refs = 1;
    return t;
}

knd_route_table_t *knd_route_table_retain(knd_route_table_t *t)
{
    KND_ASSERT(t->refs > 0);
    t->refs++;
    return t;
}

void knd_route_table_release(knd_route_table_t *t)
{
    if (t == NULL)
        return;
    KND_ASSERT(t->refs > 0);
    if (--t->refs > 0)
        return;
    for (size_t i = 0; i < t->n; i++) {
        knd_rt_entry_t *e = &t->entries[i];
        for (size_t k = 0; k < e->ntargets; k++) {
            knd_rev_release(e->targets[k].rev);
            free(e->targets[k].tag);
        }
        free(e->targets);
        free(e->host);
        free(e->ns);
        free(e->route);
        free(e->tag);
    }
    free(t->entries);
    knd_map_free(&t->hosts);
    free(t);
}

static int knd_route_table_cmp(const void *a, const void *b)
{
    return strcmp(((const knd_rt_entry_t *)a)->host, ((const knd_rt_entry_t *)b)->host);
}

int knd_route_table_add(knd_route_table_t *t, const char *host, const char *ns, const char *route,
                        const char *tag, const knd_rt_target_t *targets, size_t ntargets)
{
    KND_ASSERT(!t->sealed);
    char *lower = knd_xstrdup(host);
    for (char *p = lower; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (knd_map_get(&t->hosts, lower)) {
        free(lower);
        return -1; /* the first claim of a host wins */
    }
    knd_map_put(&t->hosts, lower, (void *)1);
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->entries = knd_xrealloc(t->entries, t->cap * sizeof(*t->entries));
    }
    knd_rt_entry_t *e = &t->entries[t->n++];
    memset(e, 0, sizeof(*e));
    e->host = lower;
    e->ns = knd_xstrdup(ns);
    e->route = knd_xstrdup(route);
    e->tag = tag ? knd_xstrdup(tag) : NULL;
    e->targets = knd_xcalloc(ntargets ? ntargets : 1, sizeof(*e->targets));
    e->ntargets = ntargets;
    for (size_t k = 0; k < ntargets; k++) {
        e->targets[k].rev = knd_rev_retain(targets[k].rev);
        e->targets[k].percent = targets[k].percent;
        e->targets[k].tag = targets[k].tag ? knd_xstrdup(targets[k].tag) : NULL;
        e->total += targets[k].percent;
    }
    return 0;
}

void knd_route_table_seal(knd_route_table_t *t)
{
    knd_map_free(&t->hosts);
    if (t->n > 1)
        qsort(t->entries, t->n, sizeof(*t->entries), knd_route_table_cmp);
    t->sealed = true;
}

const knd_rt_entry_t *knd_route_table_lookup(const knd_route_table_t *t, const char *host)
{
    char key[256];
    size_t n = 0;
    /* Host header: strip the port, lowercase. An IPv6 literal keeps its brackets. */
    for (const char *p = host; *p && n < sizeof(key) - 1; p++) {
        if (*p == ':' && host[0] != '[')
            break;
        key[n++] = *p >= 'A' && *p <= 'Z' ? (char)(*p | 0x20) : *p; /* ASCII, no locale */
    }
    key[n] = '\0';
    if (n > 0 && key[n - 1] == '.') /* a fully qualified "host." */
        key[n - 1] = '\0';
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(key, t->entries[mid].host);
        if (c == 0)
            return &t->entries[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const knd_rt_target_t *knd_route_table_pick(const knd_rt_entry_t *e, unsigned rnd)
{
    if (e->total <= 0)
        return NULL;
    int x = (int)(rnd % (unsigned)e->total);
    for (size_t k = 0; k < e->ntargets; k++) {
        if (x < e->targets[k].percent)
            return &e->targets[k];
        x -= e->targets[k].percent;
    }
    return NULL;
}

const knd_rt_target_t *knd_route_table_tag(const knd_rt_entry_t *e, const char *tag)
{
    for (size_t k = 0; k < e->ntargets; k++)
        if (e->targets[k].tag && strcmp(e->targets[k].tag, tag) == 0)
            return &e->targets[k];
    return NULL;
}
