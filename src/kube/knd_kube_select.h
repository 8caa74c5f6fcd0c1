/*
 * knd_kube_select.h - Kubernetes label and field selectors, as sent in `labelSelector=` and
 * `fieldSelector=` query parameters (already URL-decoded by the caller).
 *
 * Labels: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` (exists), `!k` (absent),
 * comma-separated, all must hold. Fields: `path=v`, `path==v`, `path!=v` comma-separated, where
 * path is a dotted JSON path into the object (metadata.name, metadata.namespace,
 * involvedObject.uid, status.phase, ...); a missing field compares as "".
 */
#ifndef KND_KUBE_SELECT_H
#define KND_KUBE_SELECT_H

#include <jansson.h>
#include <stdbool.h>

#include "knd_err.h"

typedef struct knd_kube_selector_s knd_kube_selector_t;

/** Parses a label selector (NULL or "" selects everything). KND_E_INVALID with a message
 * such as `unable to parse requirement: "k in (a"` on bad syntax. */
knd_kube_selector_t *knd_kube_label_selector_parse(const char *s, knd_err_t *err);
/** Parses a field selector (NULL or "" selects everything). */
knd_kube_selector_t *knd_kube_field_selector_parse(const char *s, knd_err_t *err);
/** True if obj matches (labels from metadata.labels for a label selector). sel NULL: true. */
bool knd_kube_selector_match(const knd_kube_selector_t *sel, const json_t *obj);
/** The value a field selector requires for `path` with = or ==, or NULL (for fast paths such as
 * fieldSelector=metadata.name=x). The string belongs to sel. */
const char *knd_kube_selector_equals(const knd_kube_selector_t *sel, const char *path);
void knd_kube_selector_free(knd_kube_selector_t *sel);

#endif
