/*
 * knd_json.h - small helpers over jansson for walking Kubernetes objects. All getters borrow:
 * the returned pointers live as long as the json_t they came from.
 */
#ifndef KND_JSON_H
#define KND_JSON_H

#include <jansson.h>

/**
 * Looks up a dotted path of object keys ("metadata.name", "spec.template"). A key containing dots
 * cannot be reached this way; use json_object_get. Returns NULL if any step is missing or not an
 * object.
 */
json_t *knd_json_path(const json_t *root, const char *path);
/** The string at path, or def if missing or not a string. */
const char *knd_json_str(const json_t *root, const char *path, const char *def);
/** The integer at path, or def if missing or not an integer. */
long long knd_json_int(const json_t *root, const char *path, long long def);
/** Returns the object at path, creating empty objects along the way (borrowed). */
json_t *knd_json_ensure_obj(json_t *root, const char *path);
/** Sets root[path] = value (steals value), creating parents. */
void knd_json_set(json_t *root, const char *path, json_t *value);
/** Serializes compactly with sorted keys into a new heap string. */
char *knd_json_dump(const json_t *v);
/** True if a and b are equal JSON values (NULL equals NULL). */
int knd_json_equal(const json_t *a, const json_t *b);

#endif
