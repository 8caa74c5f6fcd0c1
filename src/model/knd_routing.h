/*
 * knd_routing.h - pure pieces of Route reconciliation: hosts and URLs from config-network and
 * config-domain, and resolution of spec.traffic into status.traffic (SPEC §e.3, §e.6).
 */
#ifndef KND_ROUTING_H
#define KND_ROUTING_H

#include <jansson.h>
#include <stdbool.h>

#include "knd_platform.h"

#define KND_CLUSTER_DOMAIN "svc.cluster.local"

/**
 * The domain for a route with these labels: the config-domain entry whose selector matches with
 * the most labels (ties: lexicographically smaller domain), the catch-all, or svc.cluster.local
 * for `networking.knative.dev/visibility: cluster-local`. Returns a new string.
 */
char *knd_route_domain(const knd_platform_t *p, const json_t *route_labels);
/** Host for the route (domain-template applied). New string. */
char *knd_route_host(const knd_platform_t *p, const char *name, const char *ns,
                     const json_t *route_labels);
/** Host for a tag (tag-template for the name part, then domain-template). New string. */
char *knd_tag_host(const knd_platform_t *p, const char *tag, const char *name, const char *ns,
                   const json_t *route_labels);
/** "{name}.{ns}.svc.cluster.local". New string. */
char *knd_cluster_local_host(const char *name, const char *ns);

/** What the traffic resolver needs to know about the world (all borrowed, may return NULL). */
typedef struct {
    void *ctx;
    /** The Configuration object named `name` in the route's namespace, or NULL. */
    const json_t *(*configuration)(void *ctx, const char *name);
    /** The Revision object named `name` in the route's namespace, or NULL. */
    const json_t *(*revision)(void *ctx, const char *name);
} knd_traffic_lookup_t;

/** A condition to set: status "True"/"False"/"Unknown", reason and message ("" when True). */
typedef struct {
    char status[8];
    char reason[64];
    char message[512];
} knd_cond_t;

/**
 * Resolves a Route's (or a Service's) spec.traffic into status.traffic, Knative style:
 * configuration targets -> that Configuration's status.latestReadyRevisionName (for a Service,
 * `default_config` is the implicit configurationName); identical (revision, tag, latestRevision)
 * targets merged; each tagged entry gets `url` (scheme://tag-host). Entries keep `tag`,
 * `revisionName`, `configurationName` is dropped, `latestRevision`, `percent`.
 *
 * `assigned` receives AllTrafficAssigned: True, or Unknown RevisionMissing ("Configuration %q is
 * waiting for a Revision to become ready."), or False ConfigurationMissing / RevisionMissing with
 * Knative's messages. On anything but True, *status_traffic is NULL.
 * Returns a new array in *status_traffic when True.
 */
void knd_traffic_resolve(const knd_platform_t *p, const json_t *route, const char *default_config,
                         const knd_traffic_lookup_t *lk, json_t **status_traffic,
                         knd_cond_t *assigned);

/**
 * Sets (or replaces) condition `type` in obj.status.conditions, keeping lastTransitionTime when
 * the status did not change. `now` is an RFC 3339 timestamp. Conditions stay sorted by type as
 * Knative's apis.ConditionSet keeps them (Ready first is not required).
 */
void knd_condition_set(json_t *obj, const char *type, const knd_cond_t *c, const char *now);
/** The status string ("True"/...) of condition `type`, or NULL if absent. Borrowed. */
const char *knd_condition_status(const json_t *obj, const char *type);

#endif
