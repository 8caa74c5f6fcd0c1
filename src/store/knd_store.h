/*
 * knd_store.h - the durable state: every object as a JSON document in SQLite (WAL), keyed by
 * (resource, namespace, name). The only header that knows SQLite exists; only the daemon writes.
 *
 * resource is the API plural ("services", "revisions", "configmaps", ...); cluster-scoped
 * objects (namespaces) use namespace "". Every mutation is one transaction, committed before the
 * function returns: an acknowledged write survives kill -9 (WAL + synchronous=NORMAL is durable
 * against process death; FULL would be needed against power loss - see knd_store_open).
 *
 * Metadata the store owns and fills in (callers' values are overwritten):
 *   metadata.uid (random v4 UUID, on create), metadata.creationTimestamp (on create),
 *   metadata.resourceVersion (a string of a global counter, bumped on every write),
 *   metadata.generation (1 on create; +1 on update when `spec` changed, as Kubernetes does).
 * On update a non-empty metadata.resourceVersion in the new object must equal the stored one
 * (optimistic concurrency) or the call fails with KND_E_CONFLICT.
 */
#ifndef KND_STORE_H
#define KND_STORE_H

#include <jansson.h>

#include "knd_err.h"
#include "knd_types.h"

/**
 * Opens (creating if needed, mode 0600) the database at path; ":memory:" for tests. Runs
 * migrations. Uses synchronous=NORMAL; KND_STORE_SYNC_FULL=1 in the environment selects FULL
 * (an fsync per commit: durable against power loss, slower writes).
 */
int knd_store_open(const char *path, knd_store_t **out, knd_err_t *err);
void knd_store_close(knd_store_t *s);

/** *out = a new reference to the stored object; KND_E_NOTFOUND if absent. */
int knd_store_get(knd_store_t *s, const char *resource, const char *ns, const char *name,
                  json_t **out, knd_err_t *err);

/** *out = a new array of the objects of `resource` in ns (NULL = all namespaces), by ns, name. */
int knd_store_list(knd_store_t *s, const char *resource, const char *ns, json_t **out,
                   knd_err_t *err);

/**
 * Inserts obj (borrowed; its metadata is updated in place with uid, creationTimestamp,
 * generation, resourceVersion). KND_E_EXISTS if (resource, ns, name) exists.
 */
int knd_store_create(knd_store_t *s, const char *resource, json_t *obj, knd_err_t *err);

/**
 * Replaces the stored object with obj (borrowed; metadata updated in place: uid and
 * creationTimestamp kept from the stored copy, generation bumped if spec changed,
 * resourceVersion bumped). KND_E_NOTFOUND if absent, KND_E_CONFLICT on a stale resourceVersion.
 * If nothing but resourceVersion would change, nothing is written and *changed (if not NULL) is 0.
 */
int knd_store_update(knd_store_t *s, const char *resource, json_t *obj, int *changed,
                     knd_err_t *err);

/** Deletes; KND_E_NOTFOUND if absent. *old (if not NULL) receives the deleted object. */
int knd_store_delete(knd_store_t *s, const char *resource, const char *ns, const char *name,
                     json_t **old, knd_err_t *err);

/** The store's own errors in Kubernetes' words, for callers that check without writing (dry
 * runs): KND_E_EXISTS `services.serving.knative.dev "x" already exists`, KND_E_CONFLICT
 * `Operation cannot be fulfilled on ...`. Return -1. */
int knd_store_err_exists(knd_err_t *err, const char *resource, const char *name);
int knd_store_err_conflict(knd_err_t *err, const char *resource, const char *name);

/** The current global resourceVersion counter (for list metadata). */
long long knd_store_revision(knd_store_t *s);

/**
 * Groups several mutations into one transaction (e.g. a Service and the Configuration and Route
 * it owns). Nested begin/commit pairs are counted; rollback undoes the outermost transaction.
 */
int knd_store_begin(knd_store_t *s, knd_err_t *err);
int knd_store_commit(knd_store_t *s, knd_err_t *err);
void knd_store_rollback(knd_store_t *s);

/* ---- the change feed (watch) ---- */

typedef enum {
    KND_STORE_ADDED = 0,
    KND_STORE_MODIFIED,
    KND_STORE_DELETED,
} knd_store_change_t;

/**
 * Called once per committed mutation, in commit order, after the outermost commit succeeded
 * (a rolled-back transaction reports nothing). json is the object as stored, compact JSON
 * (for DELETED, its last state with the deleting resourceVersion), borrowed for the call; rv
 * its resourceVersion. Text rather than a json_t: the store has it anyway, and most changes
 * are never looked at (no watch is open).
 */
typedef void (*knd_store_change_cb)(void *data, knd_store_change_t type, const char *resource,
                                    const char *json, long long rv);

#define KND_STORE_MAX_OBSERVERS 4

/** Adds a change observer (the API's watch hub, the reconciler's pass cache); at most
 * KND_STORE_MAX_OBSERVERS. Observers are called in the order they were added. */
void knd_store_observe(knd_store_t *s, knd_store_change_cb cb, void *data);
/** Removes the observer added with the same cb and data. */
void knd_store_unobserve(knd_store_t *s, knd_store_change_cb cb, void *data);

/* ---- the local image table (`knd image add REF -- CMD ARGS...`) ---- */

/** Sets image ref -> argv (a JSON array of strings, borrowed). */
int knd_store_image_put(knd_store_t *s, const char *ref, const json_t *argv, knd_err_t *err);
/** *argv = new reference to the JSON array for ref; KND_E_NOTFOUND if none. */
int knd_store_image_get(knd_store_t *s, const char *ref, json_t **argv, knd_err_t *err);
/** *out = new array of {"image": ref, "command": [...]} sorted by ref. */
int knd_store_image_list(knd_store_t *s, json_t **out, knd_err_t *err);
int knd_store_image_delete(knd_store_t *s, const char *ref, knd_err_t *err);

#endif
