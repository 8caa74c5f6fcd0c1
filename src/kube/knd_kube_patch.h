/*
 * knd_kube_patch.h - the Kubernetes API's patch formats, applied to jansson documents:
 * JSON merge patch (RFC 7386), the merge diff used for server-side apply, JSON patch (RFC 6902),
 * and strategic merge patch for the core kinds knd serves (maps only: reduced to a merge patch).
 * Pure functions; the inputs are never modified.
 */
#ifndef KND_KUBE_PATCH_H
#define KND_KUBE_PATCH_H

#include <jansson.h>

#include "knd_err.h"

/**
 * RFC 7386: returns a new document = target with patch applied. Objects merge recursively,
 * null deletes a key, everything else (arrays, scalars) replaces. A non-object patch replaces
 * the whole target. target may be NULL (treated as absent).
 */
json_t *knd_kube_merge_patch(const json_t *target, const json_t *patch);

/**
 * The merge patch that turns `from` into `to` (new reference): keys only in `from` map to null,
 * changed values appear whole (objects recursively), equal ones are left out. For two equal
 * documents the result is an empty object.
 */
json_t *knd_kube_merge_diff(const json_t *from, const json_t *to);

/**
 * RFC 6902: applies the array of operations (add, remove, replace, move, copy, test) to a copy
 * of doc; on success *out is the new document. JSON pointers per RFC 6901 (~0, ~1, "-" to
 * append). Errors (KND_E_INVALID) name the operation index and path, e.g.
 * "json patch operation 1 (remove): path /spec/foo does not exist"; a failed test gives
 * "json patch operation 0 (test): value at /a does not match".
 */
int knd_kube_json_patch(const json_t *doc, const json_t *ops, json_t **out, knd_err_t *err);

/**
 * Strategic merge patch for maps-only kinds (ConfigMap, Secret, Namespace): a copy of patch
 * with every directive key (starting with '$': $patch, $retainKeys, $setElementOrder/...,
 * $deleteFromPrimitiveList/...) removed at every depth, ready for knd_kube_merge_patch.
 */
json_t *knd_kube_strategic_to_merge(const json_t *patch);

#endif
