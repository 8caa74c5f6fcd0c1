/*
 * knd_yaml_int.h - internals shared by the files of src/yaml/ (not for other subsystems):
 * the scalar resolver (knd_yaml_scalar.c) and the path -> line:col map (knd_posmap.c).
 */
#ifndef KND_YAML_INT_H
#define KND_YAML_INT_H

#include <stddef.h>

#include "knd_yaml.h"

/* ---- scalar resolution (go-yaml v2's resolve table, as Kubernetes decodes manifests) ---- */

typedef enum {
    KND_YAML_S_STR = 0,
    KND_YAML_S_NULL,
    KND_YAML_S_BOOL,
    KND_YAML_S_INT,   /* fits int64: .i */
    KND_YAML_S_UINT,  /* above INT64_MAX, fits uint64: .u */
    KND_YAML_S_FLOAT, /* .d, possibly inf/nan */
    KND_YAML_S_MERGE, /* a plain `<<` (only meaningful as a key) */
} knd_yaml_skind_t;

typedef struct {
    knd_yaml_skind_t kind;
    int b;
    long long i;
    unsigned long long u;
    double d;
} knd_yaml_scalar_t;

/**
 * Resolves one scalar. `tag` is the libyaml tag (NULL when untagged); `plain` says the scalar
 * was written unquoted, which is the only case where an untagged scalar is typed. Returns 0, or
 * -1 with a message in msg when an explicit tag contradicts the value (`!!int abc`) or the tag
 * is not one we support.
 */
int knd__yaml_resolve(const char *tag, int plain, const char *s, size_t len,
                      knd_yaml_scalar_t *out, char *msg, size_t msgsz);

/** Formats a float key the way Kubernetes turns it into a JSON object key. */
void knd__yaml_float_key(double d, char *buf, size_t n);

/* ---- position map ---- */

knd_posmap_t *knd__posmap_new(void);
void knd__posmap_free(knd_posmap_t *m);
/** Records path (len bytes, copied) at line:col; a later put of the same path wins. */
void knd__posmap_put(knd_posmap_t *m, const char *path, size_t len, int line, int col);
/** Returns 0 and fills line/col if path is recorded exactly, else -1. */
int knd__posmap_get(const knd_posmap_t *m, const char *path, size_t len, int *line, int *col);
size_t knd__posmap_count(const knd_posmap_t *m);

#endif
