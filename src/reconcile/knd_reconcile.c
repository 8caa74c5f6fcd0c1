/*
 * knd_reconcile.c - the reconcile pass: orchestration, Service children (Configuration and
 * Route), owner-based garbage collection, and status write-back (see knd_reconcile.h).
 */
#include "knd_reconcile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_json.h"
#include "knd_log.h"
#include "knd_reconcile_int.h"
#include "knd_time.h"

#define KND_TICK_MS 5000    /* periodic safety pass, when something changed since the last */
#define KND_RESYNC_MS 60000 /* ... and at least this often whatever happened (a resync) */

/* ------------------------------------------------------------------ small object helpers */

/* These run thousands of times per pass: direct lookups, no path parsing. */
static const char *knd_obj_meta_str(const json_t *o, const char *key)
{
    json_t *v = json_object_get(json_object_get(o, "metadata"), key);
    return json_is_string(v) ? json_string_value(v) : "";
}

const char *knd__obj_ns(const json_t *o)
{
    return knd_obj_meta_str(o, "namespace");
}

const char *knd__obj_name(const json_t *o)
{
    return knd_obj_meta_str(o, "name");
}

const char *knd__obj_uid(const json_t *o)
{
    return knd_obj_meta_str(o, "uid");
}

const char *knd__obj_label(const json_t *o, const char *key)
{
    json_t *labels = json_object_get(json_object_get(o, "metadata"), "labels");
    json_t *v = json_is_object(labels) ? json_object_get(labels, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

json_t *knd__pass_get(json_t *idx, const char *ns, const char *name)
{
    char key[512];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    return json_object_get(idx, key);
}

json_t *knd__pass_config_revisions(knd_pass_t *ps, const char *ns, const char *name)
{
    return knd__pass_get(ps->revs_by_cfg, ns, name); /* NULL: jansson's loops take it as empty */
}

void knd__cond(knd_pass_t *ps, json_t *obj, const char *type, const char *status,
               const char *reason, const char *message)
{
    knd_cond_t c;
    snprintf(c.status, sizeof(c.status), "%s", status);
    snprintf(c.reason, sizeof(c.reason), "%s", reason ? reason : "");
    snprintf(c.message, sizeof(c.message), "%s", message ? message : "");
    knd_condition_set(obj, type, &c, ps->now);
}

void knd__pass_save_status(knd_pass_t *ps, const char *resource, json_t *obj, json_t *before)
{
    if (knd_json_equal(json_object_get(obj, "status"), before))
        return;
    knd_err_t err;
    int changed = 0;
    if (knd_store_update(ps->rc->store, resource, obj, &changed, &err) < 0) {
        knd_log(KND_LOG_WARN, "reconcile", "%s %s/%s: status update: %s", resource,
                knd__obj_ns(obj), knd__obj_name(obj), err.msg);
        ps->dirty = true; /* memory and store differ now: read again next time */
    }
}

/* ------------------------------------------------------------------ ownership */

static json_t *knd_owner_ref(const char *kind, const json_t *owner)
{
    json_t *refs = json_array();
    json_array_append_new(refs, json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion",
                                          "serving.knative.dev/v1", "kind", kind, "name",
                                          knd__obj_name(owner), "uid", knd__obj_uid(owner),
                                          "controller", 1, "blockOwnerDeletion", 1));
    return refs;
}

/* The controller owner reference's uid, or NULL when the object has none. */
static const char *knd_owner_uid(const json_t *o, const char **kind)
{
    json_t *refs = knd_json_path(o, "metadata.ownerReferences");
    size_t i;
    json_t *r;
    json_array_foreach(refs, i, r)
    {
        if (json_is_true(json_object_get(r, "controller"))) {
            *kind = knd_json_str(r, "kind", "");
            return knd_json_str(r, "uid", NULL);
        }
    }
    return NULL;
}

/* True if o's controlling owner no longer exists (Kubernetes' garbage collector would delete). */
static bool knd_orphaned(knd_pass_t *ps, const json_t *o)
{
    const char *kind = NULL, *uid = knd_owner_uid(o, &kind);
    if (uid == NULL)
        return false;
    json_t *idx = strcmp(kind, "Service") == 0         ? ps->svc_idx
                  : strcmp(kind, "Configuration") == 0 ? ps->cfg_idx
                  : strcmp(kind, "Route") == 0         ? ps->route_idx
                                                       : NULL;
    if (idx == NULL)
        return false;
    return json_object_get(ps->owner_uids, uid) == NULL;
}

static void knd_pass_gc(knd_pass_t *ps, const char *resource, json_t *list)
{
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
    {
        if (!knd_orphaned(ps, o))
            continue;
        knd_err_t err;
        ps->dirty = true;
        if (knd_store_delete(ps->rc->store, resource, knd__obj_ns(o), knd__obj_name(o), NULL,
                             &err) == 0)
            knd_log(KND_LOG_INFO, "reconcile", "deleted %s %s/%s: its owner is gone", resource,
                    knd__obj_ns(o), knd__obj_name(o));
    }
}

/* ------------------------------------------------------------------ Service children */

/* Labels and annotations a Service passes down to its Configuration and Route. */
static json_t *knd_child_meta(const json_t *svc, const char *kind)
{
    json_t *labels = json_deep_copy(knd_json_path(svc, "metadata.labels"));
    if (!json_is_object(labels)) {
        json_decref(labels);
        labels = json_object();
    }
    json_object_set_new(labels, KND_LABEL_SERVICE, json_string(knd__obj_name(svc)));
    json_t *ann = json_deep_copy(knd_json_path(svc, "metadata.annotations"));
    if (!json_is_object(ann)) {
        json_decref(ann);
        ann = json_object();
    }
    json_object_del(ann, "kubectl.kubernetes.io/last-applied-configuration");
    json_t *meta = json_pack("{s:s, s:s, s:o, s:o, s:o}", "name", knd__obj_name(svc), "namespace",
                             knd__obj_ns(svc), "labels", labels, "annotations", ann,
                             "ownerReferences", knd_owner_ref("Service", svc));
    if (json_object_size(ann) == 0)
        json_object_del(meta, "annotations");
    (void)kind;
    return meta;
}

static json_t *knd_service_route_traffic(const json_t *svc)
{
    json_t *out = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(knd_json_path(svc, "spec.traffic"), i, t)
    {
        json_t *c = json_deep_copy(t);
        if (!json_is_string(json_object_get(c, "revisionName")))
            json_object_set_new(c, "configurationName", json_string(knd__obj_name(svc)));
        json_array_append_new(out, c);
    }
    return out;
}

/* Creates or updates one child so its metadata and spec match `want` (stolen). True if the
 * child was already as wanted. */
static bool knd_ensure_child(knd_pass_t *ps, const char *resource, json_t *idx, json_t *want,
                             const json_t *svc)
{
    knd_err_t err;
    json_t *have = knd__pass_get(idx, knd__obj_ns(want), knd__obj_name(want));
    if (have == NULL) {
        if (knd_store_create(ps->rc->store, resource, want, &err) < 0)
            knd_log(KND_LOG_ERROR, "reconcile", "create %s %s: %s", resource,
                    knd__obj_name(want), err.msg);
        ps->dirty = true;
        json_decref(want);
        return false;
    }
    const char *kind = NULL, *owner = knd_owner_uid(have, &kind);
    if (owner == NULL || strcmp(owner, knd__obj_uid(svc)) != 0) {
        json_decref(want); /* not ours: the Service reports NotOwned */
        return false;
    }
    json_t *meta = json_object_get(want, "metadata");
    if (knd_json_equal(json_object_get(want, "spec"), json_object_get(have, "spec")) &&
        knd_json_equal(json_object_get(meta, "labels"), knd_json_path(have, "metadata.labels")) &&
        knd_json_equal(json_object_get(meta, "annotations"),
                       knd_json_path(have, "metadata.annotations"))) {
        json_decref(want);
        return true;
    }
    json_t *upd = json_deep_copy(have);
    json_object_set(upd, "spec", json_object_get(want, "spec"));
    json_t *umeta = json_object_get(upd, "metadata");
    json_object_set(umeta, "labels", json_object_get(meta, "labels"));
    if (json_object_get(meta, "annotations"))
        json_object_set(umeta, "annotations", json_object_get(meta, "annotations"));
    else
        json_object_del(umeta, "annotations");
    if (knd_store_update(ps->rc->store, resource, upd, NULL, &err) < 0)
        knd_log(KND_LOG_ERROR, "reconcile", "update %s %s: %s", resource, knd__obj_name(upd),
                err.msg);
    ps->dirty = true; /* a new spec: its generation (and so its revision) changed */
    json_decref(upd);
    json_decref(want);
    return false;
}

/*
 * The children depend on the Service alone. Once both were found as wanted, the resource
 * versions of the three are remembered (by the Service's uid): while none of them moves, the
 * children are not built and compared again.
 */
static void knd_reconcile_service_children(knd_pass_t *ps, const json_t *svc)
{
    const char *ns = knd__obj_ns(svc), *name = knd__obj_name(svc), *uid = knd__obj_uid(svc);
    const json_t *have_cfg = knd__pass_get(ps->cfg_idx, ns, name);
    const json_t *have_route = knd__pass_get(ps->route_idx, ns, name);
    char versions[128] = "";
    if (have_cfg && have_route) {
        snprintf(versions, sizeof(versions), "%s/%s/%s",
                 knd_json_str(svc, "metadata.resourceVersion", ""),
                 knd_json_str(have_cfg, "metadata.resourceVersion", ""),
                 knd_json_str(have_route, "metadata.resourceVersion", ""));
        const char *seen = json_string_value(json_object_get(ps->rc->children_seen, uid));
        if (seen && strcmp(seen, versions) == 0) {
            json_object_set_new(ps->children_seen, uid, json_string(versions));
            return;
        }
    }
    json_t *cfg = json_pack("{s:s, s:s, s:o, s:{s:O}}", "apiVersion", "serving.knative.dev/v1",
                            "kind", "Configuration", "metadata",
                            knd_child_meta(svc, "Configuration"), "spec", "template",
                            knd_json_path(svc, "spec.template"));
    bool as_wanted = knd_ensure_child(ps, "configurations", ps->cfg_idx, cfg, svc);
    json_t *route = json_pack("{s:s, s:s, s:o, s:{s:o}}", "apiVersion", "serving.knative.dev/v1",
                              "kind", "Route", "metadata", knd_child_meta(svc, "Route"), "spec",
                              "traffic", knd_service_route_traffic(svc));
    as_wanted &= knd_ensure_child(ps, "routes", ps->route_idx, route, svc);
    if (as_wanted && versions[0])
        json_object_set_new(ps->children_seen, uid, json_string(versions));
}

/* ------------------------------------------------------------------ the pass */

static void knd_pass_free(knd_pass_t *ps)
{
    json_decref(ps->services);
    json_decref(ps->configurations);
    json_decref(ps->revisions);
    json_decref(ps->routes);
    json_decref(ps->domainmappings);
    json_decref(ps->svc_idx);
    json_decref(ps->cfg_idx);
    json_decref(ps->rev_idx);
    json_decref(ps->route_idx);
    json_decref(ps->revs_by_cfg);
    json_decref(ps->owner_uids);
    json_decref(ps->routed);
    knd_route_table_release(ps->table);
}

/* Rebuilds the platform configuration from the stored config-* ConfigMaps. */
static void knd_pass_platform(knd_pass_t *ps)
{
    knd_reconciler_t *rc = ps->rc;
    json_t *cms = NULL;
    knd_err_t err;
    if (knd_store_list(rc->store, "configmaps", KND_SYSTEM_NAMESPACE, &cms, &err) < 0)
        return;
    knd_platform_t p;
    knd_platform_init(&p, rc->default_domain);
    size_t i;
    json_t *cm;
    json_array_foreach(cms, i, cm)
    {
        knd_errlist_t errs;
        knd_errlist_init(&errs);
        if (knd_platform_apply_configmap(&p, cm, &errs) < 0) {
            char *msg = knd_errlist_join(&errs);
            knd_log(KND_LOG_WARN, "reconcile", "configmap %s ignored: %s", knd__obj_name(cm), msg);
            free(msg);
        }
        knd_errlist_free(&errs);
    }
    knd_platform_free(&rc->platform);
    rc->platform = p;
    knd_ingress_options_t opt = {
        .tag_header_routing =
            knd_platform_feature(&rc->platform, "tag-header-based-routing") == KND_FEATURE_ENABLED,
    };
    /* config-tracing: backend zipkin + zipkin-endpoint + sample-rate + debug (Knative's keys). */
    bool tracing = false, debug = false;
    double rate = 0.1;
    const char *endpoint = "";
    json_array_foreach(cms, i, cm)
    {
        if (strcmp(knd__obj_name(cm), "config-tracing") != 0)
            continue;
        json_t *data = json_object_get(cm, "data");
        const char *backend = json_string_value(json_object_get(data, "backend"));
        const char *legacy = json_string_value(json_object_get(data, "enable"));
        tracing = (backend && strcmp(backend, "zipkin") == 0) || (legacy && strcmp(legacy, "true") == 0);
        endpoint = json_string_value(json_object_get(data, "zipkin-endpoint")) ?: "";
        const char *sr = json_string_value(json_object_get(data, "sample-rate"));
        if (sr)
            rate = atof(sr);
        const char *dbg = json_string_value(json_object_get(data, "debug"));
        debug = dbg && strcmp(dbg, "true") == 0;
    }
    if (rc->tracer)
        knd_tracer_configure(rc->tracer, tracing, endpoint, rate, debug);
        /* config-observability: Knative's request log switch, and knd's destination for it. */
    json_array_foreach(cms, i, cm)
    {
        if (strcmp(knd__obj_name(cm), "config-observability") != 0)
            continue;
        json_t *data = json_object_get(cm, "data");
        json_t *on = json_object_get(data, "logging.enable-request-log"); /* dotted keys */
        opt.request_log = json_is_string(on) && strcmp(json_string_value(on), "true") == 0;
        json_t *path = json_object_get(data, "logging.request-log-path");
        if (json_is_string(path))
            snprintf(opt.request_log_path, sizeof(opt.request_log_path), "%s",
                     json_string_value(path));
    }
    json_decref(cms);
    knd_ingress_set_options(rc->ingress, &opt);
}

static void knd_reconcile_pass(knd_reconciler_t *rc)
{
    knd_pass_t ps;
    memset(&ps, 0, sizeof(ps));
    ps.rc = rc;
    rc->pass_rt_generation = knd_runtime_generation(rc->runtime);
    rc->pass_ms = uv_now(rc->loop);
    uint64_t t0 = uv_hrtime();
    knd_time_rfc3339(ps.now);
    knd_pass_platform(&ps);
    knd__pass_from_cache(&ps);
    size_t i;
    json_t *o;

    /* 1. Desired objects: Service children, then owner GC (children of deleted parents). */
    knd__pass_load(&ps);
    ps.children_seen = json_object();
    json_array_foreach(ps.services, i, o) knd_reconcile_service_children(&ps, o);
    json_decref(rc->children_seen);
    rc->children_seen = ps.children_seen; /* only live Services are kept */
    ps.children_seen = NULL;
    knd__pass_load(&ps);
    knd_pass_gc(&ps, "configurations", ps.configurations);
    knd_pass_gc(&ps, "routes", ps.routes);
    knd__pass_load(&ps);
    knd_pass_gc(&ps, "revisions", ps.revisions);

    /* 2. A Revision for every Configuration generation. */
    knd__pass_load(&ps);
    json_array_foreach(ps.configurations, i, o) knd__reconcile_config_revision(&ps, o);
    knd__pass_load(&ps);

    /* 3. Statuses bottom-up: revisions, configurations, routes (which decide what is routed),
     *    then what runs, then services and domain mappings, and the new route table. */
    ps.routed = json_object();
    ps.table = knd_route_table_new();
    json_array_foreach(ps.revisions, i, o) knd__reconcile_revision_status(&ps, o);
    json_array_foreach(ps.configurations, i, o) knd__reconcile_config_status(&ps, o);
    json_array_foreach(ps.routes, i, o) knd__reconcile_route(&ps, o);
    json_array_foreach(ps.revisions, i, o) knd__reconcile_revision_runtime(&ps, o);
    knd_runtime_sweep(rc->runtime);
    json_array_foreach(ps.services, i, o) knd__reconcile_service_status(&ps, o);
    ps.domainmappings = knd__pass_list(&ps, "domainmappings");
    json_array_foreach(ps.domainmappings, i, o) knd__reconcile_domainmapping(&ps, o);
    knd_route_table_seal(ps.table);
    knd_ingress_set_table(rc->ingress, knd_route_table_retain(ps.table));
    knd__pass_to_cache(&ps);
    knd_pass_free(&ps);
    uint64_t took = uv_hrtime() - t0;
    rc->passes++;
    rc->pass_ns += took;
    rc->pass_took_ms = took / 1000000;
    uv_update_time(rc->loop);
    rc->pass_end_ms = uv_now(rc->loop);
}

/* ------------------------------------------------------------------ scheduling */

void knd_reconciler_run(knd_reconciler_t *rc)
{
    if (rc->closing)
        return;
    if (rc->running) { /* a runtime event during a pass: run once more afterwards */
        rc->again = true;
        return;
    }
    rc->running = true;
    rc->again = false;
    knd_reconcile_pass(rc);
    rc->running = false;
    if (rc->again) /* asked for during the pass: after the loop has had its turn */
        knd_reconciler_kick(rc);
}

/* Not inlined: the benchmarks count instructions with callgrind collection toggled off inside
 * this function (a pass is a per-second cost, not a per-request one). */
__attribute__((noinline)) static void knd_reconciler_on_kick(uv_timer_t *t)
{
    knd_reconciler_run(t->data);
}

/*
 * The safety pass. Events kick a pass at once; this one catches whatever no event announced.
 * When the store is at the revision the last pass left it and the runtime reports no change
 * since that pass began, a pass would compute the same statuses and route table again - at
 * 1,000 Services a 130 ms stall of the loop, every 5 s - so it is skipped, down to one resync
 * a minute. (Progress deadlines are the runtime's own tick's business.)
 */
static void knd_reconciler_on_tick(uv_timer_t *t)
{
    knd_reconciler_t *rc = t->data;
    if (rc->cache.services && rc->cache.rev == knd_store_revision(rc->store) &&
        rc->pass_rt_generation == knd_runtime_generation(rc->runtime) &&
        uv_now(rc->loop) - rc->pass_ms < KND_RESYNC_MS)
        return;
    knd_reconciler_on_kick(t);
}

void knd_reconciler_kick(knd_reconciler_t *rc)
{
    if (rc->closing)
        return;
    if (rc->running) {
        rc->again = true;
        return;
    }
    if (uv_is_active((uv_handle_t *)&rc->kick))
        return;
    /* Passes back to back would starve the data plane at scale (at 1,000 Services a pass holds
     * the loop ~120 ms, and a scale-up reports every instance that becomes ready): a pass waits
     * until the loop has served for as long as the last pass took, so the control plane gets
     * at most half of it. Small passes (well under 1 ms) run on the next iteration. */
    uint64_t now = uv_now(rc->loop), next = rc->pass_end_ms + rc->pass_took_ms;
    uv_timer_start(&rc->kick, knd_reconciler_on_kick, next > now ? next - now : 0, 0);
}

static void knd_reconciler_changed(void *data)
{
    knd_reconciler_kick(data);
}

knd_reconciler_t *knd_reconciler_new(const knd_reconcile_deps_t *deps)
{
    knd_reconciler_t *rc = knd_xcalloc(1, sizeof(*rc));
    rc->loop = deps->loop;
    rc->store = deps->store;
    rc->sv = deps->sv;
    rc->ingress = deps->ingress;
    rc->tracer = deps->tracer;
    rc->default_domain = knd_xstrdup(deps->default_domain);
    knd_platform_init(&rc->platform, rc->default_domain);
    rc->runtime = knd_runtime_new(rc->loop, rc->sv, knd_reconciler_changed, rc);
    uv_timer_init(rc->loop, &rc->kick);
    uv_timer_init(rc->loop, &rc->tick);
    rc->kick.data = rc;
    rc->tick.data = rc;
    uv_timer_start(&rc->tick, knd_reconciler_on_tick, KND_TICK_MS, KND_TICK_MS);
    knd_store_observe(rc->store, knd__reconciler_on_change, rc);
    return rc;
}

void knd_reconciler_stats(const knd_reconciler_t *rc, uint64_t *passes, double *seconds)
{
    *passes = rc->passes;
    *seconds = (double)rc->pass_ns / 1e9;
}

const knd_platform_t *knd_reconciler_platform(const knd_reconciler_t *rc)
{
    return &rc->platform;
}

knd_runtime_t *knd_reconciler_runtime(knd_reconciler_t *rc)
{
    return rc->runtime;
}

static void knd_reconciler_timer_closed(uv_handle_t *h)
{
    knd_reconciler_t *rc = h->data;
    if (--rc->open_timers > 0)
        return;
    void (*done)(void *) = rc->done;
    void *data = rc->done_data;
    knd_platform_free(&rc->platform);
    knd__pass_cache_drop(&rc->cache);
    knd__pass_changes_clear(rc);
    json_decref(rc->children_seen);
    free(rc->default_domain);
    free(rc);
    if (done)
        done(data);
}

static void knd_reconciler_runtime_done(void *data)
{
    knd_reconciler_t *rc = data;
    rc->runtime = NULL;
    rc->open_timers = 2;
    uv_close((uv_handle_t *)&rc->kick, knd_reconciler_timer_closed);
    uv_close((uv_handle_t *)&rc->tick, knd_reconciler_timer_closed);
}

void knd_reconciler_quiesce(knd_reconciler_t *rc)
{
    rc->closing = true;
    uv_timer_stop(&rc->kick);
    uv_timer_stop(&rc->tick);
}

void knd_reconciler_shutdown(knd_reconciler_t *rc, void (*done)(void *data), void *data)
{
    rc->closing = true;
    knd_store_unobserve(rc->store, knd__reconciler_on_change, rc);
    rc->done = done;
    rc->done_data = data;
    uv_timer_stop(&rc->kick);
    uv_timer_stop(&rc->tick);
    knd_runtime_shutdown(rc->runtime, knd_reconciler_runtime_done, rc);
}
