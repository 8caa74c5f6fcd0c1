/*
 * knd_map.h - a string-keyed hash map to borrowed pointers (open addressing, linear probing,
 * FNV-1a). For the indexes that turn the controller's per-object lookups from scans into O(1):
 * revisions by "ns/name", owners by uid, route-table hosts. Keys are copied; values are the
 * caller's. Removal leaves a tombstone; the table grows at 3/4 load.
 */
#ifndef KND_MAP_H
#define KND_MAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *key;   /* owned; NULL: empty slot */
    void *value;
    bool dead;   /* a removed entry: keeps probe chains intact */
} knd_map_slot_t;

typedef struct {
    knd_map_slot_t *slots;
    size_t cap, n, used; /* used = live + dead slots */
} knd_map_t;

void knd_map_init(knd_map_t *m);
void knd_map_free(knd_map_t *m);
/** The value for key, or NULL. */
void *knd_map_get(const knd_map_t *m, const char *key);
/** Sets key -> value (replacing). */
void knd_map_put(knd_map_t *m, const char *key, void *value);
/** Removes key; true if it was there. */
bool knd_map_del(knd_map_t *m, const char *key);
size_t knd_map_size(const knd_map_t *m);

#endif
