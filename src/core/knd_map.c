/* knd_map.c - see knd_map.h. */
#include "knd_map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"

static uint64_t knd_map_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

void knd_map_init(knd_map_t *m)
{
    memset(m, 0, sizeof(*m));
}

void knd_map_free(knd_map_t *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

/* The slot holding key, or (insert true) the slot where it would go; NULL if absent. */
static knd_map_slot_t *knd_map_find(const knd_map_t *m, const char *key, bool insert)
{
    if (m->cap == 0)
        return NULL;
    knd_map_slot_t *grave = NULL;
    for (size_t i = knd_map_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        knd_map_slot_t *s = &m->slots[i];
        if (s->key == NULL)
            return insert ? (grave ? grave : s) : NULL;
        if (s->dead) {
            if (grave == NULL)
                grave = s;
        } else if (strcmp(s->key, key) == 0) {
            return s;
        }
    }
}

static void knd_map_grow(knd_map_t *m)
{
    knd_map_t old = *m;
    m->cap = old.cap ? old.cap * 2 : 16;
    m->slots = knd_xcalloc(m->cap, sizeof(*m->slots));
    m->n = m->used = 0;
    for (size_t i = 0; i < old.cap; i++) {
        knd_map_slot_t *s = &old.slots[i];
        if (s->key && !s->dead) {
            knd_map_slot_t *d = knd_map_find(m, s->key, true);
            d->key = s->key; /* moved, not copied */
            d->value = s->value;
            m->n++;
            m->used++;
        } else {
            free(s->key);
        }
    }
    free(old.slots);
}

void *knd_map_get(const knd_map_t *m, const char *key)
{
    knd_map_slot_t *s = knd_map_find(m, key, false);
    return s ? s->value : NULL;
}

void knd_map_put(knd_map_t *m, const char *key, void *value)
{
    if ((m->used + 1) * 4 > m->cap * 3)
        knd_map_grow(m);
    knd_map_slot_t *s = knd_map_find(m, key, true);
    if (s->key == NULL || s->dead) {
        if (s->key == NULL)
            m->used++;
        free(s->key);
        s->key = knd_xstrdup(key);
        s->dead = false;
        m->n++;
    }
    s->value = value;
}

bool knd_map_del(knd_map_t *m, const char *key)
{
    knd_map_slot_t *s = knd_map_find(m, key, false);
    if (s == NULL)
        return false;
    s->dead = true;
    s->value = NULL;
    m->n--;
    return true;
}

size_t knd_map_size(const knd_map_t *m)
{
    return m->n;
}
