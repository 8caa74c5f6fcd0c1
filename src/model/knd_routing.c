/*
 * knd_routing.c - pure pieces of Route reconciliation (knd_routing.h): the domain lookup of
 * config-domain (pkg/reconciler/route/config/domain.go), host names from the config-network
 * templates (pkg/reconciler/route/domains), spec.traffic -> status.traffic with the
 * AllTrafficAssigned condition (pkg/reconciler/route/traffic), and condition bookkeeping.
 *
 * Everything borrows its inputs; returned strings and arrays are new and owned by the caller.
 */
#include "knd_routing.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_buf.h"
#include "knd_json.h"
#include "knd_template.h"

#define KND_VISIBILITY_LABEL "networking.knative.dev/visibility"
#define KND_SERVICE_LABEL "serving.knative.dev/service"
#define KND_CONFIGURATION_LABEL "serving.knative.dev/configuration"
#define KND_DEFAULT_DOMAIN_TEMPLATE "{{.Name}}.{{.Namespace}}.{{.Domain}}"

/* ---------------------------------------------------------------- domains and hosts */

static const char *knd_routing_label(const json_t *labels, const char *key)
{
    json_t *v = json_is_object(labels) ? json_object_get(labels, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool knd_routing_is_cluster_local(const json_t *labels)
{
    const char *v = knd_routing_label(labels, KND_VISIBILITY_LABEL);
    return v != NULL && strcmp(v, "cluster-local") == 0;
}

/* LabelSelector.Matches: every selector pair must be present with the same value. */
static bool knd_routing_selector_matches(const json_t *selector, const json_t *labels)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)selector, k, v)
    {
        const char *have = knd_routing_label(labels, k);
        if (have == NULL || !json_is_string(v) || strcmp(have, json_string_value(v)) != 0)
            return false;
    }
    return true;
}

char *knd_route_domain(const knd_platform_t *p, const json_t *route_labels)
{
    const char *best = NULL, *domain;
    long best_spec = -1;
    json_t *sel;
    if (knd_routing_is_cluster_local(route_labels))
        return knd_xstrdup(KND_CLUSTER_DOMAIN);
    if (p->domains == NULL)
        return knd_xstrdup(p->default_domain);
    json_object_foreach(p->domains, domain, sel)
    {
        long spec = (long)json_object_size(sel);
        if (!knd_routing_selector_matches(sel, route_labels) || spec < best_spec)
            continue;
        if (spec > best_spec || strcmp(domain, best) < 0) {
            best = domain;
            best_spec = spec;
        }
    }
    return knd_xstrdup(best ? best : p->default_domain);
}

/* DomainNameFromTemplate: `hostname` is the template's .Name. Cluster-local routes always use
 * Knative's default template. Templates were checked when config-network was applied, so a
 * failure here can only come from a hand-built platform; the default template is the fallback. */
static char *knd_routing_domain_name(const knd_platform_t *p, const char *hostname, const char *ns,
                                     const json_t *labels)
{
    char err[512];
    char *domain = knd_route_domain(p, labels);
    knd_tmpl_vals_t v = {.name = hostname, .ns = ns, .domain = domain, .labels = labels};
    const char *tmpl = knd_routing_is_cluster_local(labels) ? KND_DEFAULT_DOMAIN_TEMPLATE
                                                            : p->domain_template;
    knd_buf_t out;
    knd_buf_init(&out);
    if (knd_tmpl_render(tmpl, "domain-template", KND_TMPL_DOMAIN, &v, &out, err, sizeof(err),
                        NULL) != 0) {
        knd_buf_reset(&out);
        knd_buf_printf(&out, "%s.%s.%s", hostname, ns, domain);
    }
    free(domain);
    return knd_buf_steal(&out);
}

char *knd_route_host(const knd_platform_t *p, const char *name, const char *ns,
                     const json_t *route_labels)
{
    return knd_routing_domain_name(p, name, ns, route_labels);
}

char *knd_tag_host(const knd_platform_t *p, const char *tag, const char *name, const char *ns,
                   const json_t *route_labels)
{
    char err[512];
    knd_tmpl_vals_t v = {.name = name, .tag = tag};
    knd_buf_t host;
    knd_buf_init(&host);
    if (knd_tmpl_render(p->tag_template, "tag-template", KND_TMPL_TAG, &v, &host, err, sizeof(err),
                        NULL) != 0) {
        knd_buf_reset(&host);
        knd_buf_printf(&host, "%s-%s", tag, name);
    }
    char *full = knd_routing_domain_name(p, knd_buf_cstr(&host), ns, route_labels);
    knd_buf_free(&host);
    return full;
}

char *knd_cluster_local_host(const char *name, const char *ns)
{
    return knd_xasprintf("%s.%s.%s", name, ns, KND_CLUSTER_DOMAIN);
}

/* ---------------------------------------------------------------- conditions */

const char *knd_condition_status(const json_t *obj, const char *type)
{
    json_t *conds = knd_json_path(obj, "status.conditions");
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c)
    {
        if (strcmp(knd_json_str(c, "type", ""), type) == 0)
            return knd_json_str(c, "status", NULL);
    }
    return NULL;
}

static int knd_routing_cond_cmp(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    return strcmp(knd_json_str(x, "type", ""), knd_json_str(y, "type", ""));
}

void knd_condition_set(json_t *obj, const char *type, const knd_cond_t *c, const char *now)
{
    json_t *status = knd_json_ensure_obj(obj, "status");
    json_t *conds = json_object_get(status, "conditions");
    json_t *old = NULL;
    size_t i, n;
    json_t *e;
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(status, "conditions", conds);
    }
    json_array_foreach(conds, i, e)
    {
        if (strcmp(knd_json_str(e, "type", ""), type) == 0) {
            old = e;
            break;
        }
    }
    const char *ltt = now;
    if (old != NULL && strcmp(knd_json_str(old, "status", ""), c->status) == 0) {
        if (strcmp(knd_json_str(old, "reason", ""), c->reason) == 0 &&
            strcmp(knd_json_str(old, "message", ""), c->message) == 0)
            return;
        ltt = knd_json_str(old, "lastTransitionTime", now);
    }
    /* Field order and omitempty as in knative.dev/pkg/apis.Condition. */
    json_t *nc = json_pack("{s:s, s:s, s:s}", "type", type, "status", c->status,
                           "lastTransitionTime", ltt);
    if (c->reason[0])
        json_object_set_new(nc, "reason", json_string(c->reason));
    if (c->message[0])
        json_object_set_new(nc, "message", json_string(c->message));
    if (old != NULL)
        json_array_remove(conds, i); /* ltt was copied into nc before old went away */
    json_array_append_new(conds, nc);

    /* apis.ConditionSet keeps conditions sorted by type. */
    n = json_array_size(conds);
    json_t **v = knd_xcalloc(n, sizeof(*v));
    for (i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(conds, i));
    qsort(v, n, sizeof(*v), knd_routing_cond_cmp);
    json_array_clear(conds);
    for (i = 0; i < n; i++)
        json_array_append_new(conds, v[i]);
    free(v);
}

/* ---------------------------------------------------------------- traffic */

/* One flattened revision-level target. Strings are borrowed from the route or lookups. */
typedef struct {
    const char *tag;
    const char *revision;
    bool latest;
    json_int_t percent;
} knd_rt_target_t;

typedef struct {
    const knd_traffic_lookup_t *lk;
    const char *owner_service; /* Service-owned Route: revisions must carry this service */
    knd_rt_target_t *v;
    size_t n;
    bool has_err;
    knd_cond_t err;
} knd_rt_builder_t;

/* deferTargetError: the first error is kept unless a later one is a failure (False). */
static void knd_routing_defer(knd_rt_builder_t *b, bool failure, const char *reason,
                              const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void knd_routing_defer(knd_rt_builder_t *b, bool failure, const char *reason,
                              const char *fmt, ...)
{
    va_list ap;
    if (b->has_err && !failure)
        return;
    b->has_err = true;
    snprintf(b->err.status, sizeof(b->err.status), "%s", failure ? "False" : "Unknown");
    snprintf(b->err.reason, sizeof(b->err.reason), "%s", reason);
    va_start(ap, fmt);
    vsnprintf(b->err.message, sizeof(b->err.message), fmt, ap);
    va_end(ap);
}

static bool knd_routing_revision_ready(const json_t *rev)
{
    const char *ready = knd_condition_status(rev, "Ready");
    return knd_json_int(rev, "metadata.generation", 0) ==
               knd_json_int(rev, "status.observedGeneration", 0) &&
           ready != NULL && strcmp(ready, "True") == 0;
}

/* errUnreadyRevision: Ready=False is a failure, anything else is "not yet". */
static void knd_routing_unready_revision(knd_rt_builder_t *b, const json_t *rev, const char *name)
{
    const char *st = knd_condition_status(rev, "Ready");
    if (st != NULL && strcmp(st, "False") == 0)
        knd_routing_defer(b, true, "RevisionMissing", "Revision \"%s\" failed to become ready.",
                          name);
    else
        knd_routing_defer(b, false, "RevisionMissing", "Revision \"%s\" is not yet ready.",
                          name);
}

static void knd_routing_missing(knd_rt_builder_t *b, const char *kind, const char *name)
{
    char reason[64];
    snprintf(reason, sizeof(reason), "%sMissing", kind);
    knd_routing_defer(b, true, reason, "%s \"%s\" referenced in traffic not found.", kind, name);
}

/* mergeIfNecessary: identical (tag, revision, latestRevision) targets add their percents. */
static void knd_routing_add_flat(knd_rt_builder_t *b, const char *tag, const char *rev,
                                 bool latest, json_int_t percent)
{
    for (size_t i = 0; i < b->n; i++) {
        if (strcmp(b->v[i].tag, tag) == 0 && strcmp(b->v[i].revision, rev) == 0 &&
            b->v[i].latest == latest) {
            b->v[i].percent += percent;
            return;
        }
    }
    b->v[b->n++] = (knd_rt_target_t){.tag = tag, .revision = rev, .latest = latest,
                                     .percent = percent};
}

static void knd_routing_add_config(knd_rt_builder_t *b, const char *cfg_name, const char *tag,
                                   bool latest, json_int_t percent)
{
    const json_t *cfg = b->lk->configuration(b->lk->ctx, cfg_name);
    if (cfg == NULL) {
        knd_routing_missing(b, "Configuration", cfg_name);
        return;
    }
    const char *lrr = knd_json_str(cfg, "status.latestReadyRevisionName", "");
    if (lrr[0] == '\0') {
        const char *st = knd_condition_status(cfg, "Ready");
        if (st != NULL && strcmp(st, "False") == 0)
            knd_routing_defer(b, true, "RevisionMissing",
                              "Configuration \"%s\" does not have any ready Revision.",
                              cfg_name);
        else
            knd_routing_defer(b, false, "RevisionMissing",
                              "Configuration \"%s\" is waiting for a Revision to become ready.",
                              cfg_name);
        return;
    }
    const json_t *rev = b->lk->revision(b->lk->ctx, lrr);
    if (rev == NULL) {
        knd_routing_missing(b, "Revision", lrr);
        return;
    }
    if (!knd_routing_revision_ready(rev)) {
        knd_routing_unready_revision(b, rev, lrr);
        return;
    }
    knd_routing_add_flat(b, tag, lrr, latest, percent);
}

static void knd_routing_add_revision(knd_rt_builder_t *b, const char *rev_name, const char *tag,
                                     bool latest, json_int_t percent)
{
    const json_t *rev = b->lk->revision(b->lk->ctx, rev_name);
    if (rev == NULL) {
        knd_routing_missing(b, "Revision", rev_name);
        return;
    }
    const json_t *labels = knd_json_path(rev, "metadata.labels");
    if (b->owner_service != NULL && b->owner_service[0]) {
        const char *svc = knd_routing_label(labels, KND_SERVICE_LABEL);
        if (svc == NULL || svc[0] == '\0') {
            knd_routing_defer(b, true, "RevisionNotOwned",
                              "Revision \"%s\" does not belong to Service \"%s\".", rev_name,
                              b->owner_service);
            return;
        }
        if (strcmp(svc, b->owner_service) != 0) {
            knd_routing_defer(b, true, "RevisionNotOwned",
                              "Revision \"%s\" belongs to Service \"%s\", not Service \"%s\".",
                              rev_name, svc, b->owner_service);
            return;
        }
    }
    if (!knd_routing_revision_ready(rev)) {
        knd_routing_unready_revision(b, rev, rev_name);
        return;
    }
    const char *cfg_name = knd_routing_label(labels, KND_CONFIGURATION_LABEL);
    if (cfg_name != NULL && b->lk->configuration(b->lk->ctx, cfg_name) == NULL) {
        knd_routing_missing(b, "Configuration", cfg_name);
        return;
    }
    knd_routing_add_flat(b, tag, rev_name, latest, percent);
}

static void knd_routing_add_target(knd_rt_builder_t *b, const json_t *tt,
                                   const char *default_config)
{
    const char *rev = knd_json_str(tt, "revisionName", "");
    const char *cfg = knd_json_str(tt, "configurationName", "");
    const char *tag = knd_json_str(tt, "tag", "");
    json_t *lr = json_object_get(tt, "latestRevision");
    /* TrafficTarget.SetDefaults: latestRevision = (revisionName == ""), percent = 0. */
    bool latest = json_is_boolean(lr) ? json_is_true(lr) : rev[0] == '\0';
    json_int_t percent = json_integer_value(json_object_get(tt, "percent"));
    if (rev[0])
        knd_routing_add_revision(b, rev, tag, latest, percent);
    else if (cfg[0])
        knd_routing_add_config(b, cfg, tag, latest, percent);
    else if (default_config != NULL && default_config[0])
        knd_routing_add_config(b, default_config, tag, latest, percent);
}

/* GetRevisionTrafficTargets without a rollout in progress: one entry per flattened target. */
static json_t *knd_routing_status_traffic(const knd_platform_t *p, const json_t *route,
                                          const knd_rt_builder_t *b)
{
    const char *name = knd_json_str(route, "metadata.name", "");
    const char *ns = knd_json_str(route, "metadata.namespace", "default");
    const json_t *labels = knd_json_path(route, "metadata.labels");
    const char *scheme = knd_routing_is_cluster_local(labels) ? "http"
                                                               : p->default_external_scheme;
    json_t *out = json_array();
    for (size_t i = 0; i < b->n; i++) {
        const knd_rt_target_t *t = &b->v[i];
        json_t *e = json_object();
        if (t->tag[0])
            json_object_set_new(e, "tag", json_string(t->tag));
        json_object_set_new(e, "revisionName", json_string(t->revision));
        json_object_set_new(e, "latestRevision", json_boolean(t->latest));
        json_object_set_new(e, "percent", json_integer(t->percent));
        if (t->tag[0]) {
            char *host = knd_tag_host(p, t->tag, name, ns, labels);
            json_object_set_new(e, "url", json_sprintf("%s://%s", scheme, host));
            free(host);
        }
        json_array_append_new(out, e);
    }
    return out;
}

void knd_traffic_resolve(const knd_platform_t *p, const json_t *route, const char *default_config,
                         const knd_traffic_lookup_t *lk, json_t **status_traffic,
                         knd_cond_t *assigned)
{
    json_t *traffic = knd_json_path(route, "spec.traffic");
    json_t *implicit = NULL;
    const char *owner = knd_routing_label(knd_json_path(route, "metadata.labels"),
                                          KND_SERVICE_LABEL);
    size_t i;
    json_t *tt;

    *status_traffic = NULL;
    memset(assigned, 0, sizeof(*assigned));
    /* RouteSpec.SetDefaults with a default configuration: 100% to its latest revision. */
    if (json_array_size(traffic) == 0 && default_config != NULL && default_config[0]) {
        implicit = json_pack("[{s:b, s:i}]", "latestRevision", 1, "percent", 100);
        traffic = implicit;
    }
    knd_rt_builder_t b = {
        .lk = lk,
        .owner_service = owner && owner[0] ? owner : default_config,
        .v = knd_xcalloc(json_array_size(traffic) + 1, sizeof(knd_rt_target_t)),
    };
    json_array_foreach(traffic, i, tt)
    {
        if (json_is_object(tt))
            knd_routing_add_target(&b, tt, default_config);
    }
    if (b.has_err) {
        *assigned = b.err;
    } else {
        snprintf(assigned->status, sizeof(assigned->status), "True");
        *status_traffic = knd_routing_status_traffic(p, route, &b);
    }
    free(b.v);
    json_decref(implicit);
}
