/* knd_json.c - jansson path helpers (see knd_json.h). */
#include "knd_json.h"

#include <string.h>

#include "knd_alloc.h"

/* One step of a path: the key is a slice of it, looked up without copying (jansson 2.14). */
static json_t *knd_json_step(const json_t *cur, const char *key, size_t n)
{
    return json_is_object(cur) ? json_object_getn(cur, key, n) : NULL;
}

json_t *knd_json_path(const json_t *root, const char *path)
{
    const json_t *cur = root;
    const char *p = path;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        cur = knd_json_step(cur, p, n);
        p += n + (dot ? 1 : 0);
    }
    return (json_t *)cur;
}

const char *knd_json_str(const json_t *root, const char *path, const char *def)
{
    json_t *v = knd_json_path(root, path);
    return json_is_string(v) ? json_string_value(v) : def;
}

long long knd_json_int(const json_t *root, const char *path, long long def)
{
    json_t *v = knd_json_path(root, path);
    return json_is_integer(v) ? json_integer_value(v) : def;
}

json_t *knd_json_ensure_obj(json_t *root, const char *path)
{
    json_t *cur = root;
    const char *p = path;
    char k[256];
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        KND_ASSERT(n < sizeof(k));
        memcpy(k, p, n);
        k[n] = '\0';
        json_t *next = json_object_get(cur, k);
        if (!json_is_object(next)) {
            next = json_object();
            json_object_set_new(cur, k, next);
        }
        cur = next;
        p += n + (dot ? 1 : 0);
    }
    return cur;
}

void knd_json_set(json_t *root, const char *path, json_t *value)
{
    const char *last = strrchr(path, '.');
    if (last == NULL) {
        json_object_set_new(root, path, value);
        return;
    }
    char parent[512];
    size_t n = (size_t)(last - path);
    KND_ASSERT(n < sizeof(parent));
    memcpy(parent, path, n);
    parent[n] = '\0';
    json_object_set_new(knd_json_ensure_obj(root, parent), last + 1, value);
}

char *knd_json_dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (s == NULL)
        s = knd_xstrdup("null");
    return s;
}

int knd_json_equal(const json_t *a, const json_t *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return json_equal(a, b);
}
