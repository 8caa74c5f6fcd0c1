/* knd_reconcile_int.h - state shared by the files of one reconcile pass. */
#ifndef KND_RECONCILE_INT_H
#define KND_RECONCILE_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "knd_reconcile.h"
#include "knd_route_table.h"
#include "knd_routing.h"

#define KND_LABEL_SERVICE "serving.knative.dev/service"
#define KND_LABEL_SERVICE_UID "serving.knative.dev/serviceUID"
#define KND_LABEL_CONFIGURATION "serving.knative.dev/configuration"
#define KND_LABEL_CONFIGURATION_UID "serving.knative.dev/configurationUID"
#define KND_LABEL_CONFIG_GENERATION "serving.knative.dev/configurationGeneration"
#define KND_LABEL_ROUTE "serving.knative.dev/route"

/*
 * The objects of the last pass, kept for the next: valid while the store's resourceVersion is
 * still the one the pass left (nothing else wrote since), so that an idle safety tick does not
 * read and parse every object again. Lists own their objects; indexes borrow from them.
 */
typedef struct {
    json_t *services, *configurations, *revisions, *routes;
    json_t *svc_idx, *cfg_idx, *rev_idx, *route_idx, *revs_by_cfg, *owner_uids;
    long long rev; /* knd_store_revision when kept */
} knd_pass_cache_t;

/* A store change to one of the cached kinds, waiting for the next reload. */
typedef struct {
    knd_store_change_t type;
    char *resource, *json;
} knd_pass_change_t;

struct knd_reconciler_s {
    uv_loop_t *loop;
    knd_store_t *store;
    knd_supervisor_t *sv;
    knd_ingress_t *ingress;
    knd_runtime_t *runtime;
    knd_tracer_t *tracer;
    knd_platform_t platform;
    char *default_domain;
    uv_timer_t kick;
    uv_timer_t tick;
    bool running, again, closing;
    knd_pass_cache_t cache;
    knd_pass_change_t *changes;  /* reported since the objects were last brought up to date */
    size_t nchanges;
    bool changes_lost;           /* too many: the next load reads everything */
    json_t *children_seen;       /* Service uid -> "svc/cfg/route" resourceVersions when its
                                  * children were last found as wanted */
    uint64_t pass_rt_generation; /* knd_runtime_generation when the last pass began */
    uint64_t pass_ms;            /* loop time the last pass began */
    uint64_t passes, pass_ns;    /* passes run, and their summed duration (knd_reconciler_stats) */
    uint64_t pass_end_ms, pass_took_ms; /* the last pass: loop time it ended, how long it took */
    int open_timers; /* while closing */
    void (*done)(void *data);
    void *done_data;
};

/* One pass: every object of each kind, indexed by "ns/name" (borrowed from the lists). */
typedef struct {
    knd_reconciler_t *rc;
    char now[32];
    json_t *services, *configurations, *revisions, *routes, *domainmappings; /* lists */
    json_t *svc_idx, *cfg_idx, *rev_idx, *route_idx;                         /* "ns/name" -> obj */
    json_t *revs_by_cfg; /* "ns/configuration" -> array of its revisions (borrowed objects) */
    json_t *owner_uids;  /* uid of every Service, Configuration and Route -> true */
    bool dirty;          /* an object was created or deleted: reload before reading again */
    json_t *routed;   /* "ns/name" of revisions referenced by resolved route traffic -> true */
    const char *lookup_ns; /* namespace of the route being resolved */
    knd_route_table_t *table;
    json_t *children_seen; /* the pass's knd_reconciler_t.children_seen, being rebuilt */
} knd_pass_t;

/* knd_reconcile.c */
json_t *knd__pass_get(json_t *idx, const char *ns, const char *name);
/** The revisions of configuration ns/name (a borrowed array, or NULL when it has none). */
json_t *knd__pass_config_revisions(knd_pass_t *ps, const char *ns, const char *name);
const char *knd__obj_ns(const json_t *o);
const char *knd__obj_name(const json_t *o);
const char *knd__obj_uid(const json_t *o);
const char *knd__obj_label(const json_t *o, const char *key);
/** Writes obj back if its status differs from `before` (a deep copy taken earlier; NULL when
 * the caller knows it differs). */
void knd__pass_save_status(knd_pass_t *ps, const char *resource, json_t *obj, json_t *before);
/** Sets a condition from status/reason/message strings. */
void knd__cond(knd_pass_t *ps, json_t *obj, const char *type, const char *status,
               const char *reason, const char *message);

/* knd_reconcile_revision.c */
/** The request limits of a revision object (NULL: defaults). */
void knd__rev_limits(const json_t *rev, knd_rev_limits_t *out);
/** autoscaling.knative.dev/initial-scale of a revision under platform p. */
long knd__rev_initial_scale(const json_t *rev, const knd_platform_t *p);
void knd__reconcile_config_revision(knd_pass_t *ps, json_t *cfg);
void knd__reconcile_revision_status(knd_pass_t *ps, json_t *rev);
void knd__reconcile_revision_runtime(knd_pass_t *ps, json_t *rev);
void knd__reconcile_config_status(knd_pass_t *ps, json_t *cfg);

/* knd_reconcile_route.c */
void knd__reconcile_route(knd_pass_t *ps, json_t *route);
void knd__reconcile_service_status(knd_pass_t *ps, json_t *svc);
void knd__reconcile_domainmapping(knd_pass_t *ps, json_t *dm);

/* knd_reconcile_cache.c: the objects a pass reads, kept between passes and brought up to date
 * from the store's change feed. */
/** Lists every object of resource (an empty array on error, logged). */
json_t *knd__pass_list(knd_pass_t *ps, const char *resource);
/** Brings the pass's objects and indexes up to date if anything was written since they were
 * read (ps->dirty, or the first call of a pass). */
void knd__pass_load(knd_pass_t *ps);
/** Starts a pass from the objects the last one kept. */
void knd__pass_from_cache(knd_pass_t *ps);
/** Keeps the pass's objects for the next pass (when they are what the store holds). */
void knd__pass_to_cache(knd_pass_t *ps);
void knd__pass_cache_drop(knd_pass_cache_t *c);
void knd__pass_changes_clear(knd_reconciler_t *rc);
/** The store observer feeding the cache (knd_store_observe). */
void knd__reconciler_on_change(void *data, knd_store_change_t type, const char *resource,
                               const char *json, long long rv);

#endif
