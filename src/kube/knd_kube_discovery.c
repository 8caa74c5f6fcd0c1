/*
 * knd_kube_discovery.c - /version and the discovery documents kubectl reads before anything
 * else (see knd_kube_discovery.h). Everything is derived from model/'s kind table plus the core
 * Event kind (knd_kube_event_kind), so a kind added there is discovered without changes here.
 *
 * Facts that are not in the kind table follow the real servers: Knative kinds carry the
 * categories of their CRDs (all, knative, serving) and a status subresource; core kinds carry
 * no categories; namespaces are cluster-scoped and, as in the apiserver, offer no
 * deletecollection; knd's events are read-only.
 *
 * Ownership: every function returns a new reference that the caller releases.
 */
#include "knd_kube_discovery.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_kube_table.h"
#include "knd_model.h"

#define KND_KUBE_DISCOVERY_KNATIVE_GROUP "serving.knative.dev"
/* Upper bound on the kinds discovered: model's table plus Event. */
#define KND_KUBE_DISCOVERY_MAX_KINDS 64

static const char *const knd_kube_discovery_all_verbs[] = {
    "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch", NULL,
};
static const char *const knd_kube_discovery_namespace_verbs[] = {
    "create", "delete", "get", "list", "patch", "update", "watch", NULL,
};
static const char *const knd_kube_discovery_read_verbs[] = {"get", "list", "watch", NULL};
static const char *const knd_kube_discovery_status_verbs[] = {"get", "patch", "update", NULL};
static const char *const knd_kube_discovery_knative_categories[] = {"all", "knative", "serving",
                                                                     NULL};

/* ---------------------------------------------------------------------------------------- */
/* The kinds and their facts                                                                */
/* ---------------------------------------------------------------------------------------- */

/*
 * Fills out[] with every kind knd serves over the Kubernetes API, in model order, then Event
 * unless model already lists it. Returns the count.
 */
static size_t knd_kube_discovery_kinds(const knd_kind_info_t **out, size_t cap)
{
    size_t n = 0;
    bool have_event = false;
    for (int k = KND_KIND_SERVICE; n + 1 < cap; k++) {
        const knd_kind_info_t *info = knd_kind_info((knd_kind_t)k);
        if (info == NULL)
            break;
        if (strcmp(info->kind_name, "Event") == 0 && info->group[0] == '\0')
            have_event = true;
        out[n++] = info;
    }
    if (!have_event)
        out[n++] = knd_kube_event_kind();
    return n;
}

static bool knd_kube_discovery_is_event(const knd_kind_info_t *k)
{
    return strcmp(k->kind_name, "Event") == 0 && k->group[0] == '\0';
}

static bool knd_kube_discovery_is_knative(const knd_kind_info_t *k)
{
    return strcmp(k->group, KND_KUBE_DISCOVERY_KNATIVE_GROUP) == 0;
}

static const char *const *knd_kube_discovery_verbs(const knd_kind_info_t *k)
{
    if (knd_kube_discovery_is_event(k))
        return knd_kube_discovery_read_verbs;
    if (!k->namespaced)
        return knd_kube_discovery_namespace_verbs;
    return knd_kube_discovery_all_verbs;
}

static json_t *knd_kube_discovery_strings(const char *const *list)
{
    json_t *a = json_array();
    for (; *list != NULL; list++)
        json_array_append_new(a, json_string(*list));
    return a;
}

/* The kind table's comma-separated short names as a JSON array (NULL when there are none). */
static json_t *knd_kube_discovery_short_names(const knd_kind_info_t *k)
{
    const char *p = k->short_names;
    if (p == NULL || *p == '\0')
        return NULL;
    json_t *a = json_array();
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len > 0)
            json_array_append_new(a, json_stringn(p, len));
        p += len + (comma ? 1 : 0);
    }
    return a;
}

/* Adds shortNames and categories when the kind has any (the real servers omit empty ones). */
static void knd_kube_discovery_add_names(json_t *res, const knd_kind_info_t *k)
{
    json_t *shorts = knd_kube_discovery_short_names(k);
    if (shorts != NULL)
        json_object_set_new(res, "shortNames", shorts);
    if (knd_kube_discovery_is_knative(k))
        json_object_set_new(res, "categories",
                            knd_kube_discovery_strings(knd_kube_discovery_knative_categories));
}

/* Sort key of a Kubernetes version: GA before beta before alpha, then higher numbers first. */
static long knd_kube_discovery_version_rank(const char *v)
{
    long major = 0, minor = 0, stage = 3;
    const char *p = v + (*v == 'v');
    while (isdigit((unsigned char)*p))
        major = major * 10 + (*p++ - '0');
    if (strncmp(p, "beta", 4) == 0) {
        stage = 2;
        p += 4;
    } else if (strncmp(p, "alpha", 5) == 0) {
        stage = 1;
        p += 5;
    } else if (*p != '\0') {
        stage = 0;
    }
    while (isdigit((unsigned char)*p))
        minor = minor * 10 + (*p++ - '0');
    return stage * 100000000L + major * 10000L + (stage == 3 ? 0 : minor);
}

/* The distinct versions of a group, preferred first. Returns the count. */
static size_t knd_kube_discovery_versions(const char *group, const char **out, size_t cap)
{
    const knd_kind_info_t *kinds[KND_KUBE_DISCOVERY_MAX_KINDS];
    size_t nk = knd_kube_discovery_kinds(kinds, KND_KUBE_DISCOVERY_MAX_KINDS), n = 0;
    for (size_t i = 0; i < nk; i++) {
        bool seen = false;
        if (strcmp(kinds[i]->group, group) != 0)
            continue;
        for (size_t j = 0; j < n; j++)
            seen = seen || strcmp(out[j], kinds[i]->version) == 0;
        if (!seen && n < cap)
            out[n++] = kinds[i]->version;
    }
    for (size_t i = 1; i < n; i++) /* insertion sort, a handful of entries */
        for (size_t j = i; j > 0 && knd_kube_discovery_version_rank(out[j]) >
                                        knd_kube_discovery_version_rank(out[j - 1]);
             j--) {
            const char *t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

/* The distinct non-core groups, in model order. Returns the count. */
static size_t knd_kube_discovery_groups(const char **out, size_t cap)
{
    const knd_kind_info_t *kinds[KND_KUBE_DISCOVERY_MAX_KINDS];
    size_t nk = knd_kube_discovery_kinds(kinds, KND_KUBE_DISCOVERY_MAX_KINDS), n = 0;
    for (size_t i = 0; i < nk; i++) {
        bool seen = kinds[i]->group[0] == '\0';
        for (size_t j = 0; j < n; j++)
            seen = seen || strcmp(out[j], kinds[i]->group) == 0;
        if (!seen && n < cap)
            out[n++] = kinds[i]->group;
    }
    return n;
}

static char *knd_kube_discovery_group_version(const char *group, const char *version)
{
    return *group ? knd_xasprintf("%s/%s", group, version) : knd_xstrdup(version);
}

/* ---------------------------------------------------------------------------------------- */
/* /version                                                                                 */
/* ---------------------------------------------------------------------------------------- */

#if defined(__x86_64__)
#define KND_KUBE_DISCOVERY_ARCH "amd64"
#elif defined(__aarch64__)
#define KND_KUBE_DISCOVERY_ARCH "arm64"
#elif defined(__arm__)
#define KND_KUBE_DISCOVERY_ARCH "arm"
#elif defined(__i386__)
#define KND_KUBE_DISCOVERY_ARCH "386"
#else
#define KND_KUBE_DISCOVERY_ARCH "unknown"
#endif

json_t *knd_kube_version(const char *knd_version)
{
    /* gitVersion is parsed as semver by kubectl's skew check: keep knd's version to the
     * characters semver allows in build metadata. */
    char *git = knd_xasprintf("v1.32.0-knd+%s", knd_version ? knd_version : "unknown");
    for (char *p = git + strlen("v1.32.0-knd+"); *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
            *p = '-';
    json_t *v = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "major", "1", "minor",
                          "32", "gitVersion", git, "gitCommit", "", "gitTreeState", "clean",
                          "buildDate", "1970-01-01T00:00:00Z", "goVersion", "", "compiler", "cc",
                          "platform", "linux/" KND_KUBE_DISCOVERY_ARCH);
    free(git);
    return v;
}

bool knd_kube_accept_aggregated(const char *accept)
{
    return knd_kube_accept_match(accept, "APIGroupDiscoveryList", "apidiscovery.k8s.io", "v2") ||
           knd_kube_accept_match(accept, "APIGroupDiscoveryList", "apidiscovery.k8s.io", "v2beta1");
}

/* ---------------------------------------------------------------------------------------- */
/* Aggregated discovery (apidiscovery.k8s.io/v2)                                            */
/* ---------------------------------------------------------------------------------------- */

static json_t *knd_kube_discovery_response_kind(const knd_kind_info_t *k)
{
    return json_pack("{s:s, s:s, s:s}", "group", k->group, "version", k->version, "kind",
                     k->kind_name);
}

/* One APIResourceDiscovery. */
static json_t *knd_kube_discovery_agg_resource(const knd_kind_info_t *k)
{
    json_t *res = json_pack("{s:s, s:o, s:s, s:s, s:o}", "resource", k->resource, "responseKind",
                            knd_kube_discovery_response_kind(k), "scope",
                            k->namespaced ? "Namespaced" : "Cluster", "singularResource",
                            k->singular, "verbs",
                            knd_kube_discovery_strings(knd_kube_discovery_verbs(k)));
    knd_kube_discovery_add_names(res, k);
    if (knd_kube_discovery_is_knative(k)) {
        json_t *status = json_pack(
            "{s:s, s:o, s:o}", "subresource", "status", "responseKind",
            knd_kube_discovery_response_kind(k), "verbs",
            knd_kube_discovery_strings(knd_kube_discovery_status_verbs));
        json_object_set_new(res, "subresources", json_pack("[o]", status));
    }
    return res;
}

/* One APIGroupDiscovery: the group's versions, preferred first, with their resources. */
static json_t *knd_kube_discovery_agg_group(const char *group)
{
    const knd_kind_info_t *kinds[KND_KUBE_DISCOVERY_MAX_KINDS];
    const char *versions[KND_KUBE_DISCOVERY_MAX_KINDS];
    size_t nk = knd_kube_discovery_kinds(kinds, KND_KUBE_DISCOVERY_MAX_KINDS);
    size_t nv = knd_kube_discovery_versions(group, versions, KND_KUBE_DISCOVERY_MAX_KINDS);
    json_t *jversions = json_array();
    for (size_t v = 0; v < nv; v++) {
        json_t *resources = json_array();
        for (size_t i = 0; i < nk; i++)
            if (strcmp(kinds[i]->group, group) == 0 && strcmp(kinds[i]->version, versions[v]) == 0)
                json_array_append_new(resources, knd_kube_discovery_agg_resource(kinds[i]));
        json_array_append_new(jversions, json_pack("{s:s, s:o, s:s}", "version", versions[v],
                                                   "resources", resources, "freshness", "Current"));
    }
    return json_pack("{s:{s:s, s:n}, s:o}", "metadata", "name", group, "creationTimestamp",
                     "versions", jversions);
}

json_t *knd_kube_discovery_aggregated(bool core)
{
    json_t *items = json_array();
    if (core) {
        json_array_append_new(items, knd_kube_discovery_agg_group(""));
    } else {
        const char *groups[KND_KUBE_DISCOVERY_MAX_KINDS];
        size_t ng = knd_kube_discovery_groups(groups, KND_KUBE_DISCOVERY_MAX_KINDS);
        for (size_t i = 0; i < ng; i++)
            json_array_append_new(items, knd_kube_discovery_agg_group(groups[i]));
    }
    return json_pack("{s:s, s:s, s:{}, s:o}", "kind", "APIGroupDiscoveryList", "apiVersion",
                     "apidiscovery.k8s.io/v2", "metadata", "items", items);
}

/* ---------------------------------------------------------------------------------------- */
/* Legacy discovery                                                                         */
/* ---------------------------------------------------------------------------------------- */

json_t *knd_kube_discovery_api_versions(void)
{
    /* Clients reach knd the way they already do: no alternative addresses to offer. */
    return json_pack("{s:s, s:[s], s:[]}", "kind", "APIVersions", "versions", "v1",
                     "serverAddressByClientCIDRs");
}

static json_t *knd_kube_discovery_gv(const char *group, const char *version)
{
    char *gv = knd_kube_discovery_group_version(group, version);
    json_t *o = json_pack("{s:s, s:s}", "groupVersion", gv, "version", version);
    free(gv);
    return o;
}

/* An APIGroup without its kind/apiVersion (as listed inside an APIGroupList). */
static json_t *knd_kube_discovery_group_body(const char *group)
{
    const char *versions[KND_KUBE_DISCOVERY_MAX_KINDS];
    size_t nv = knd_kube_discovery_versions(group, versions, KND_KUBE_DISCOVERY_MAX_KINDS);
    if (nv == 0)
        return NULL;
    json_t *jv = json_array();
    for (size_t i = 0; i < nv; i++)
        json_array_append_new(jv, knd_kube_discovery_gv(group, versions[i]));
    return json_pack("{s:s, s:o, s:o}", "name", group, "versions", jv, "preferredVersion",
                     knd_kube_discovery_gv(group, versions[0]));
}

json_t *knd_kube_discovery_group_list(void)
{
    const char *groups[KND_KUBE_DISCOVERY_MAX_KINDS];
    size_t ng = knd_kube_discovery_groups(groups, KND_KUBE_DISCOVERY_MAX_KINDS);
    json_t *jg = json_array();
    for (size_t i = 0; i < ng; i++)
        json_array_append_new(jg, knd_kube_discovery_group_body(groups[i]));
    return json_pack("{s:s, s:s, s:o}", "kind", "APIGroupList", "apiVersion", "v1", "groups", jg);
}

/* One APIResource of an APIResourceList, and its status subresource for Knative kinds. */
static void knd_kube_discovery_legacy_resource(json_t *list, const knd_kind_info_t *k)
{
    json_t *res = json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", k->resource, "singularName",
                            k->singular, "namespaced", k->namespaced, "kind", k->kind_name,
                            "verbs", knd_kube_discovery_strings(knd_kube_discovery_verbs(k)));
    knd_kube_discovery_add_names(res, k);
    json_array_append_new(list, res);
    if (knd_kube_discovery_is_knative(k)) {
        char *name = knd_xasprintf("%s/status", k->resource);
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", name, "singularName", "",
                            "namespaced", k->namespaced, "kind", k->kind_name, "verbs",
                            knd_kube_discovery_strings(knd_kube_discovery_status_verbs)));
        free(name);
    }
}

static json_t *knd_kube_discovery_resource_list(const char *group, const char *version)
{
    const knd_kind_info_t *kinds[KND_KUBE_DISCOVERY_MAX_KINDS];
    size_t nk = knd_kube_discovery_kinds(kinds, KND_KUBE_DISCOVERY_MAX_KINDS);
    json_t *resources = json_array();
    for (size_t i = 0; i < nk; i++)
        if (strcmp(kinds[i]->group, group) == 0 && strcmp(kinds[i]->version, version) == 0)
            knd_kube_discovery_legacy_resource(resources, kinds[i]);
    if (json_array_size(resources) == 0) {
        json_decref(resources);
        return NULL;
    }
    char *gv = knd_kube_discovery_group_version(group, version);
    json_t *list = json_pack("{s:s, s:s, s:s, s:o}", "kind", "APIResourceList", "apiVersion", "v1",
                             "groupVersion", gv, "resources", resources);
    free(gv);
    return list;
}

json_t *knd_kube_discovery_resources(const char *group, const char *version)
{
    if (group == NULL)
        return NULL;
    if (version != NULL)
        return knd_kube_discovery_resource_list(group, version);
    /* The core group has no /apis/<group> document: /api answers with APIVersions. */
    if (*group == '\0')
        return NULL;
    json_t *g = knd_kube_discovery_group_body(group);
    if (g == NULL)
        return NULL;
    json_object_set_new(g, "kind", json_string("APIGroup"));
    json_object_set_new(g, "apiVersion", json_string("v1"));
    return g;
}
