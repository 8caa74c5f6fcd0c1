/*
 * knd_reconcile_route.c - Routes (traffic resolution, URLs, conditions, route-table entries),
 * Service status aggregation, and DomainMappings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_json.h"
#include "knd_log.h"
#include "knd_reconcile_int.h"

/* ------------------------------------------------------------------ traffic lookups */

static const json_t *knd_lookup_config(void *ctx, const char *name)
{
    knd_pass_t *ps = ctx;
    return knd__pass_get(ps->cfg_idx, ps->lookup_ns, name);
}

static const json_t *knd_lookup_revision(void *ctx, const char *name)
{
    knd_pass_t *ps = ctx;
    return knd__pass_get(ps->rev_idx, ps->lookup_ns, name);
}

/* The data-plane revision for a routed revision (created on first use). Borrowed. */
static knd_rev_t *knd_route_rev(knd_pass_t *ps, const char *ns, const char *name)
{
    json_t *rev = knd__pass_get(ps->rev_idx, ns, name);
    knd_rev_limits_t limits;
    knd__rev_limits(rev, &limits);
    knd_rev_rt_t *r = knd_runtime_ensure(
        ps->rc->runtime, ns, name, rev ? knd__obj_label(rev, KND_LABEL_SERVICE) ?: "" : "",
        rev ? knd__obj_label(rev, KND_LABEL_CONFIGURATION) ?: "" : "", &limits);
    return knd_rev_rt_rev(r);
}

static const char *knd_url_host(const char *url)
{
    const char *p = strstr(url, "://");
    return p ? p + 3 : url;
}

/* Adds the route's hosts to the pass's table: main hosts get the split, tag hosts 100%. */
static void knd_route_table_entries(knd_pass_t *ps, const json_t *route, const json_t *traffic)
{
    const char *ns = knd__obj_ns(route), *name = knd__obj_name(route);
    size_t n = json_array_size(traffic), i;
    knd_rt_target_t *targets = knd_xcalloc(n ? n : 1, sizeof(*targets));
    json_t *t;
    json_array_foreach(traffic, i, t)
    {
        const char *rev = knd_json_str(t, "revisionName", "");
        targets[i].rev = knd_route_rev(ps, ns, rev);
        targets[i].percent = (int)knd_json_int(t, "percent", 0);
        targets[i].tag = (char *)knd_json_str(t, "tag", NULL);
        char key[512];
        snprintf(key, sizeof(key), "%s/%s", ns, rev);
        json_object_set_new(ps->routed, key, json_true());
    }
    const char *url = knd_json_str(route, "status.url", NULL);
    char *local = knd_cluster_local_host(name, ns);
    char *svc = knd_xasprintf("%s.%s.svc", name, ns);
    char *short_ = knd_xasprintf("%s.%s", name, ns);
    const char *hosts[] = {url ? knd_url_host(url) : NULL, local, svc, short_};
    for (size_t h = 0; h < KND_ARRAY_SIZE(hosts); h++)
        if (hosts[h])
            knd_route_table_add(ps->table, hosts[h], ns, name, NULL, targets, n);
    free(local);
    free(svc);
    free(short_);
    json_array_foreach(traffic, i, t)
    {
        const char *tag = knd_json_str(t, "tag", NULL);
        if (tag == NULL)
            continue;
        knd_rt_target_t one = targets[i];
        one.percent = 100;
        const char *turl = knd_json_str(t, "url", NULL);
        if (turl)
            knd_route_table_add(ps->table, knd_url_host(turl), ns, name, tag, &one, 1);
        char *tlocal = knd_xasprintf("%s-%s.%s.svc.cluster.local", tag, name, ns);
        knd_route_table_add(ps->table, tlocal, ns, name, tag, &one, 1);
        free(tlocal);
    }
    free(targets); /* revisions were borrowed from the runtime; the table took references */
}

void knd__reconcile_route(knd_pass_t *ps, json_t *route)
{
    const knd_platform_t *p = &ps->rc->platform;
    json_t *before = json_deep_copy(json_object_get(route, "status"));
    const char *ns = knd__obj_ns(route), *name = knd__obj_name(route);
    json_t *labels = knd_json_path(route, "metadata.labels");
    knd_traffic_lookup_t lk = {.ctx = ps, .configuration = knd_lookup_config,
                               .revision = knd_lookup_revision};
    ps->lookup_ns = ns;
    json_t *traffic = NULL;
    knd_cond_t assigned;
    knd_traffic_resolve(p, route, NULL, &lk, &traffic, &assigned);
    json_t *st = knd_json_ensure_obj(route, "status");
    json_object_set_new(st, "observedGeneration",
                        json_integer(knd_json_int(route, "metadata.generation", 1)));
    char *host = knd_route_host(p, name, ns, labels);
    char *local = knd_cluster_local_host(name, ns);
    char *url = knd_xasprintf("%s://%s", p->default_external_scheme, host);
    char *aurl = knd_xasprintf("http://%s", local);
    json_object_set_new(st, "url", json_string(url));
    json_object_set_new(st, "address", json_pack("{s:s}", "url", aurl));
    free(host);
    free(local);
    free(url);
    free(aurl);
    knd_condition_set(route, "AllTrafficAssigned", &assigned, ps->now);
    bool ok = strcmp(assigned.status, "True") == 0;
    if (ok) {
        json_object_set(st, "traffic", traffic);
        knd__cond(ps, route, "IngressReady", "True", "", "");
        knd_route_table_entries(ps, route, traffic);
    } else if (json_object_get(st, "traffic") == NULL) {
        knd__cond(ps, route, "IngressReady", "Unknown", "IngressNotConfigured",
                  "Ingress has not yet been reconciled.");
    } else {
        /* Keep serving the last good split while the new one cannot be assigned. */
        knd_route_table_entries(ps, route, json_object_get(st, "traffic"));
    }
    knd__cond(ps, route, "CertificateProvisioned", "True", "TLSNotEnabled",
              "autoTLS is not enabled");
    const char *ing = knd_condition_status(route, "IngressReady");
    if (ok && ing && strcmp(ing, "True") == 0)
        knd__cond(ps, route, "Ready", "True", "", "");
    else
        knd__cond(ps, route, "Ready", assigned.status[0] == 'F' ? "False" : "Unknown",
                  ok ? "IngressNotConfigured" : assigned.reason, ok ? "" : assigned.message);
    json_decref(traffic);
    knd__pass_save_status(ps, "routes", route, before);
    json_decref(before);
}

/* ------------------------------------------------------------------ services */

static void knd_copy_cond(knd_pass_t *ps, json_t *svc, const char *type, const json_t *from,
                          const char *missing_reason)
{
    json_t *c = NULL;
    size_t i;
    json_t *x;
    json_array_foreach(knd_json_path(from, "status.conditions"), i, x)
        if (strcmp(knd_json_str(x, "type", ""), "Ready") == 0) c = x;
    if (from == NULL || c == NULL) {
        knd__cond(ps, svc, type, "Unknown", missing_reason, "");
        return;
    }
    knd__cond(ps, svc, type, knd_json_str(c, "status", "Unknown"), knd_json_str(c, "reason", ""),
              knd_json_str(c, "message", ""));
}

static bool knd_owned_by(const json_t *child, const json_t *svc)
{
    json_t *refs = knd_json_path(child, "metadata.ownerReferences");
    return strcmp(knd_json_str(json_array_get(refs, 0), "uid", ""), knd__obj_uid(svc)) == 0;
}

void knd__reconcile_service_status(knd_pass_t *ps, json_t *svc)
{
    json_t *before = json_deep_copy(json_object_get(svc, "status"));
    const char *ns = knd__obj_ns(svc), *name = knd__obj_name(svc);
    json_t *cfg = knd__pass_get(ps->cfg_idx, ns, name);
    json_t *route = knd__pass_get(ps->route_idx, ns, name);
    json_t *st = knd_json_ensure_obj(svc, "status");
    json_object_set_new(st, "observedGeneration",
                        json_integer(knd_json_int(svc, "metadata.generation", 1)));
    if (cfg && !knd_owned_by(cfg, svc)) {
        char msg[256];
        snprintf(msg, sizeof(msg), "There is an existing Configuration \"%s\" that we do not own.",
                 name);
        knd__cond(ps, svc, "ConfigurationsReady", "False", "NotOwned", msg);
    } else {
        knd_copy_cond(ps, svc, "ConfigurationsReady", cfg, "OutOfDate");
        const char *lcr = knd_json_str(cfg, "status.latestCreatedRevisionName", NULL);
        const char *lrr = knd_json_str(cfg, "status.latestReadyRevisionName", NULL);
        if (lcr)
            json_object_set_new(st, "latestCreatedRevisionName", json_string(lcr));
        if (lrr)
            json_object_set_new(st, "latestReadyRevisionName", json_string(lrr));
    }
    if (route && !knd_owned_by(route, svc)) {
        char msg[256];
        snprintf(msg, sizeof(msg), "There is an existing Route \"%s\" that we do not own.", name);
        knd__cond(ps, svc, "RoutesReady", "False", "NotOwned", msg);
    } else {
        knd_copy_cond(ps, svc, "RoutesReady", route, "OutOfDate");
        const char *url = knd_json_str(route, "status.url", NULL);
        if (url)
            json_object_set_new(st, "url", json_string(url));
        json_t *addr = knd_json_path(route, "status.address");
        if (addr)
            json_object_set(st, "address", addr);
        json_t *traffic = knd_json_path(route, "status.traffic");
        if (traffic)
            json_object_set(st, "traffic", traffic);
    }
    const char *cr = knd_condition_status(svc, "ConfigurationsReady");
    const char *rr = knd_condition_status(svc, "RoutesReady");
    if (cr && rr && strcmp(cr, "True") == 0 && strcmp(rr, "True") == 0) {
        knd__cond(ps, svc, "Ready", "True", "", "");
    } else {
        /* Ready mirrors the first condition that is not True, as Knative's ConditionSet does. */
        const char *type = (cr && strcmp(cr, "True") != 0) ? "ConfigurationsReady" : "RoutesReady";
        json_t *c = NULL;
        size_t i;
        json_t *x;
        json_array_foreach(knd_json_path(svc, "status.conditions"), i, x)
            if (strcmp(knd_json_str(x, "type", ""), type) == 0) c = x;
        knd__cond(ps, svc, "Ready", knd_json_str(c, "status", "Unknown"),
                  knd_json_str(c, "reason", ""), knd_json_str(c, "message", ""));
    }
    knd__pass_save_status(ps, "services", svc, before);
    json_decref(before);
}

/* ------------------------------------------------------------------ domain mappings */

void knd__reconcile_domainmapping(knd_pass_t *ps, json_t *dm)
{
    json_t *before = json_deep_copy(json_object_get(dm, "status"));
    const char *ns = knd__obj_ns(dm), *host = knd__obj_name(dm);
    const char *ref_name = knd_json_str(dm, "spec.ref.name", "");
    const char *ref_kind = knd_json_str(dm, "spec.ref.kind", "Service");
    json_t *route = strcmp(ref_kind, "Route") == 0 || strcmp(ref_kind, "Service") == 0
                        ? knd__pass_get(ps->route_idx, ns, ref_name)
                        : NULL;
    json_t *traffic = knd_json_path(route, "status.traffic");
    json_t *st = knd_json_ensure_obj(dm, "status");
    json_object_set_new(st, "observedGeneration",
                        json_integer(knd_json_int(dm, "metadata.generation", 1)));
    char *url = knd_xasprintf("http://%s", host);
    json_object_set_new(st, "url", json_string(url));
    json_object_set_new(st, "address", json_pack("{s:s}", "url", url));
    free(url);
    knd__cond(ps, dm, "CertificateProvisioned", "True", "TLSNotEnabled", "autoTLS is not enabled");
    knd__cond(ps, dm, "DomainClaimed", "True", "", "");
    if (traffic == NULL) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s \"%s\" not found or not ready", ref_kind, ref_name);
        knd__cond(ps, dm, "ReferenceResolved", "False", "ResolveFailed", msg);
        knd__cond(ps, dm, "IngressReady", "Unknown", "IngressNotConfigured", "");
        knd__cond(ps, dm, "Ready", "False", "ResolveFailed", msg);
    } else {
        knd__cond(ps, dm, "ReferenceResolved", "True", "", "");
        size_t n = json_array_size(traffic), i;
        knd_rt_target_t *targets = knd_xcalloc(n ? n : 1, sizeof(*targets));
        json_t *t;
        json_array_foreach(traffic, i, t)
        {
            targets[i].rev = knd_route_rev(ps, ns, knd_json_str(t, "revisionName", ""));
            targets[i].percent = (int)knd_json_int(t, "percent", 0);
            targets[i].tag = (char *)knd_json_str(t, "tag", NULL);
        }
        if (knd_route_table_add(ps->table, host, ns, ref_name, NULL, targets, n) == 0) {
            knd__cond(ps, dm, "IngressReady", "True", "", "");
            knd__cond(ps, dm, "Ready", "True", "", "");
        } else {
            knd__cond(ps, dm, "DomainClaimed", "False", "DomainAlreadyClaimed",
                      "The domain name is already in use by another route or mapping.");
            knd__cond(ps, dm, "Ready", "False", "DomainAlreadyClaimed",
                      "The domain name is already in use by another route or mapping.");
        }
        free(targets);
    }
    knd__pass_save_status(ps, "domainmappings", dm, before);
    json_decref(before);
}
