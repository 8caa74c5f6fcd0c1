/*
 * knd_reconcile_cache.c - the objects a reconcile pass reads, kept between passes.
 *
 * A pass works on every Service, Configuration, Revision and Route, with indexes by "ns/name".
 * Listing and parsing them all from the store, and freeing the last pass's copies, is most of
 * a pass's cost at 1,000 Services. So the reconciler keeps them after a pass and follows the
 * store's change feed: the next pass (or a reload inside a pass, after it created or deleted
 * objects) replaces, inserts or removes only the objects that changed, in the store's order
 * (namespace, name), and rebuilds the indexes. The full read is left for start-up and for when
 * more changes piled up than are worth keeping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_log.h"
#include "knd_reconcile_int.h"

#define KND_PASS_CHANGES_MAX 1024 /* more between two passes: read everything again */

/* ------------------------------------------------------------------ indexes */

static json_t *knd_pass_index(json_t *list)
{
    json_t *idx = json_object();
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
    {
        char key[512];
        snprintf(key, sizeof(key), "%s/%s", knd__obj_ns(o), knd__obj_name(o));
        json_object_set(idx, key, o);
    }
    return idx;
}

/* Groups revisions by their configuration label, so per-configuration work stays O(own). */
static json_t *knd_pass_index_by_config(json_t *revisions)
{
    json_t *idx = json_object();
    size_t i;
    json_t *r;
    json_array_foreach(revisions, i, r)
    {
        const char *cfg = knd__obj_label(r, KND_LABEL_CONFIGURATION);
        if (cfg == NULL)
            continue;
        char key[512];
        snprintf(key, sizeof(key), "%s/%s", knd__obj_ns(r), cfg);
        json_t *arr = json_object_get(idx, key);
        if (arr == NULL) {
            arr = json_array();
            json_object_set_new(idx, key, arr);
        }
        json_array_append(arr, r);
    }
    return idx;
}

/* The uids of everything that can own: one lookup per object when collecting garbage. */
static json_t *knd_pass_owner_uids(knd_pass_t *ps)
{
    json_t *uids = json_object();
    json_t *lists[] = {ps->services, ps->configurations, ps->routes};
    for (size_t l = 0; l < KND_ARRAY_SIZE(lists); l++) {
        size_t i;
        json_t *o;
        json_array_foreach(lists[l], i, o)
        {
            const char *uid = knd__obj_uid(o);
            if (*uid)
                json_object_set_new(uids, uid, json_true());
        }
    }
    return uids;
}

static void knd_pass_index_all(knd_pass_t *ps)
{
    json_t **idx[] = {&ps->svc_idx, &ps->cfg_idx, &ps->rev_idx, &ps->route_idx,
                      &ps->revs_by_cfg, &ps->owner_uids};
    for (size_t i = 0; i < KND_ARRAY_SIZE(idx); i++) {
        json_decref(*idx[i]);
        *idx[i] = NULL;
    }
    ps->svc_idx = knd_pass_index(ps->services);
    ps->cfg_idx = knd_pass_index(ps->configurations);
    ps->rev_idx = knd_pass_index(ps->revisions);
    ps->route_idx = knd_pass_index(ps->routes);
    ps->revs_by_cfg = knd_pass_index_by_config(ps->revisions);
    ps->owner_uids = knd_pass_owner_uids(ps);
}

json_t *knd__pass_list(knd_pass_t *ps, const char *resource)
{
    json_t *list = NULL;
    knd_err_t err;
    if (knd_store_list(ps->rc->store, resource, NULL, &list, &err) < 0) {
        knd_log(KND_LOG_ERROR, "reconcile", "list %s: %s", resource, err.msg);
        return json_array();
    }
    return list;
}

/* ------------------------------------------------------------------ the change feed */

static const char *const knd_pass_kinds[] = {"services", "configurations", "revisions",
                                             "routes"};

/* The index of resource in knd_pass_kinds, or -1 if the pass does not keep it. */
static int knd_pass_kind(const char *resource)
{
    for (size_t i = 0; i < KND_ARRAY_SIZE(knd_pass_kinds); i++)
        if (strcmp(resource, knd_pass_kinds[i]) == 0)
            return (int)i;
    return -1;
}

static json_t **knd_pass_list_of(knd_pass_t *ps, const char *resource)
{
    json_t **lists[] = {&ps->services, &ps->configurations, &ps->revisions, &ps->routes};
    return lists[knd_pass_kind(resource)];
}

void knd__pass_changes_clear(knd_reconciler_t *rc)
{
    for (size_t i = 0; i < rc->nchanges; i++) {
        free(rc->changes[i].resource);
        free(rc->changes[i].json);
    }
    free(rc->changes);
    rc->changes = NULL;
    rc->nchanges = 0;
    rc->changes_lost = false;
}

/* The store's observer: changes of the four cached kinds wait for the next reload. */
void knd__reconciler_on_change(void *data, knd_store_change_t type, const char *resource,
                               const char *json, long long rv)
{
    knd_reconciler_t *rc = data;
    (void)rv;
    if (knd_pass_kind(resource) < 0 || rc->changes_lost)
        return;
    if (rc->nchanges == KND_PASS_CHANGES_MAX) {
        knd__pass_changes_clear(rc);
        rc->changes_lost = true;
        return;
    }
    if (rc->nchanges % 64 == 0)
        rc->changes = knd_xrealloc(rc->changes, (rc->nchanges + 64) * sizeof(*rc->changes));
    knd_pass_change_t *c = &rc->changes[rc->nchanges++];
    c->type = type;
    c->resource = knd_xstrdup(resource);
    c->json = knd_xstrdup(json);
}

/* Where (ns, name) is or would go in a list in the store's order: ORDER BY namespace, name
 * (SQLite's BINARY collation compares bytes, as strcmp does). */
static size_t knd_pass_position(json_t *list, const char *ns, const char *name, bool *found)
{
    size_t lo = 0, hi = json_array_size(list);
    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        json_t *o = json_array_get(list, mid);
        int c = strcmp(knd__obj_ns(o), ns);
        if (c == 0)
            c = strcmp(knd__obj_name(o), name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Applies the queued changes to the pass's lists; false if one could not be read. */
static bool knd_pass_apply_changes(knd_pass_t *ps)
{
    knd_reconciler_t *rc = ps->rc;
    for (size_t i = 0; i < rc->nchanges; i++) {
        const knd_pass_change_t *c = &rc->changes[i];
        json_t **list = knd_pass_list_of(ps, c->resource);
        json_t *obj = json_loads(c->json, 0, NULL);
        if (!json_is_object(obj)) {
            json_decref(obj);
            return false;
        }
        bool found;
        size_t pos = knd_pass_position(*list, knd__obj_ns(obj), knd__obj_name(obj), &found);
        if (c->type == KND_STORE_DELETED) {
            if (found)
                json_array_remove(*list, pos);
            json_decref(obj);
        } else if (found) {
            json_array_set_new(*list, pos, obj);
        } else {
            json_array_insert_new(*list, pos, obj);
        }
    }
    return true;
}

/* ------------------------------------------------------------------ loading */

static void knd_pass_drop_objects(knd_pass_t *ps)
{
    json_t **all[] = {&ps->services, &ps->configurations, &ps->revisions, &ps->routes,
                      &ps->svc_idx, &ps->cfg_idx, &ps->rev_idx, &ps->route_idx,
                      &ps->revs_by_cfg, &ps->owner_uids};
    for (size_t i = 0; i < KND_ARRAY_SIZE(all); i++) {
        json_decref(*all[i]);
        *all[i] = NULL;
    }
}

void knd__pass_load(knd_pass_t *ps)
{
    knd_reconciler_t *rc = ps->rc;
    if (ps->services && !ps->dirty)
        return; /* nothing was created or deleted since the last read */
    ps->dirty = false;
    if (ps->services && !rc->changes_lost) {
        bool ok = knd_pass_apply_changes(ps);
        bool any = rc->nchanges > 0;
        knd__pass_changes_clear(rc);
        if (ok) {
            if (any)
                knd_pass_index_all(ps);
            return;
        }
        knd_log(KND_LOG_WARN, "reconcile", "unreadable change in the feed; reading everything");
    }
    knd__pass_changes_clear(rc); /* what follows is read from the store itself */
    knd_pass_drop_objects(ps);
    for (size_t i = 0; i < KND_ARRAY_SIZE(knd_pass_kinds); i++)
        *knd_pass_list_of(ps, knd_pass_kinds[i]) = knd__pass_list(ps, knd_pass_kinds[i]);
    knd_pass_index_all(ps);
}

/* ------------------------------------------------------------------ between passes */

/* Moves the objects and indexes between a pass and the reconciler's cache. */
static void knd_pass_cache_move(knd_pass_cache_t *c, knd_pass_t *ps, bool to_pass)
{
    json_t **from[] = {&c->services, &c->configurations, &c->revisions, &c->routes,
                       &c->svc_idx, &c->cfg_idx, &c->rev_idx, &c->route_idx,
                       &c->revs_by_cfg, &c->owner_uids};
    json_t **to[] = {&ps->services, &ps->configurations, &ps->revisions, &ps->routes,
                     &ps->svc_idx, &ps->cfg_idx, &ps->rev_idx, &ps->route_idx,
                     &ps->revs_by_cfg, &ps->owner_uids};
    for (size_t i = 0; i < KND_ARRAY_SIZE(from); i++) {
        json_t **a = to_pass ? from[i] : to[i], **b = to_pass ? to[i] : from[i];
        json_decref(*b);
        *b = *a;
        *a = NULL;
    }
}

void knd__pass_cache_drop(knd_pass_cache_t *c)
{
    json_t *all[] = {c->services, c->configurations, c->revisions, c->routes, c->svc_idx,
                     c->cfg_idx, c->rev_idx, c->route_idx, c->revs_by_cfg, c->owner_uids};
    for (size_t i = 0; i < KND_ARRAY_SIZE(all); i++)
        json_decref(all[i]);
    memset(c, 0, sizeof(*c));
}

/* Starts a pass from the last one's objects: as they are when nothing has written to the store
 * since, brought up to date from the change feed otherwise (by the first knd__pass_load). */
void knd__pass_from_cache(knd_pass_t *ps)
{
    knd_reconciler_t *rc = ps->rc;
    if (rc->cache.services == NULL || rc->changes_lost) {
        knd__pass_cache_drop(&rc->cache);
        return;
    }
    bool changed = rc->cache.rev != knd_store_revision(rc->store);
    knd_pass_cache_move(&rc->cache, ps, true);
    ps->dirty = changed && rc->nchanges > 0;
}

/* Keeps the pass's objects for the next one, if they are what the store holds. Every change
 * reported so far is in them (the pass's own status writes were made to these objects). */
void knd__pass_to_cache(knd_pass_t *ps)
{
    knd_reconciler_t *rc = ps->rc;
    bool keep = !ps->dirty && ps->services != NULL && !rc->changes_lost;
    knd__pass_changes_clear(rc);
    if (!keep)
        return; /* knd_pass_free frees them; the next pass reads everything */
    knd_pass_cache_move(&rc->cache, ps, false);
    rc->cache.rev = knd_store_revision(rc->store);
}
