/*
 * knd_kind.c - the table of object kinds knd accepts (see knd_model.h). A const table, looked up
 * by apiVersion+kind, by REST resource, or by the names kubectl/kn users type. Pointers returned
 * point into the static table and live forever.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "knd_alloc.h"
#include "knd_model.h"

static const knd_kind_info_t knd_kind_table[] = {
    {KND_KIND_SERVICE, "Service", "serving.knative.dev", "v1", "serving.knative.dev/v1", "services",
     "service", "ksvc,kservice", true},
    {KND_KIND_CONFIGURATION, "Configuration", "serving.knative.dev", "v1", "serving.knative.dev/v1",
     "configurations", "configuration", "config,cfg", true},
    {KND_KIND_REVISION, "Revision", "serving.knative.dev", "v1", "serving.knative.dev/v1",
     "revisions", "revision", "rev", true},
    {KND_KIND_ROUTE, "Route", "serving.knative.dev", "v1", "serving.knative.dev/v1", "routes",
     "route", "rt", true},
    {KND_KIND_DOMAINMAPPING, "DomainMapping", "serving.knative.dev", "v1beta1",
     "serving.knative.dev/v1beta1", "domainmappings", "domainmapping", "dm", true},
    {KND_KIND_CONFIGMAP, "ConfigMap", "", "v1", "v1", "configmaps", "configmap", "cm", true},
    {KND_KIND_SECRET, "Secret", "", "v1", "v1", "secrets", "secret", "", true},
    {KND_KIND_NAMESPACE, "Namespace", "", "v1", "v1", "namespaces", "namespace", "ns", false},
};

const knd_kind_info_t *knd_kind_lookup(const char *api_version, const char *kind)
{
    if (api_version == NULL || kind == NULL)
        return NULL;
    for (size_t i = 0; i < KND_ARRAY_SIZE(knd_kind_table); i++) {
        const knd_kind_info_t *k = &knd_kind_table[i];
        if (strcmp(k->api_version, api_version) == 0 && strcmp(k->kind_name, kind) == 0)
            return k;
    }
    return NULL;
}

const knd_kind_info_t *knd_kind_by_resource(const char *group, const char *version,
                                            const char *resource)
{
    if (group == NULL || version == NULL || resource == NULL)
        return NULL;
    for (size_t i = 0; i < KND_ARRAY_SIZE(knd_kind_table); i++) {
        const knd_kind_info_t *k = &knd_kind_table[i];
        if (strcmp(k->group, group) == 0 && strcmp(k->version, version) == 0 &&
            strcmp(k->resource, resource) == 0)
            return k;
    }
    return NULL;
}

/* True if name is one of the comma-separated entries of list. */
static bool knd_kind_in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    const char *p = list;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return false;
}

const knd_kind_info_t *knd_kind_by_cli_name(const char *name)
{
    if (name == NULL || *name == '\0')
        return NULL;
    /* kubectl also accepts "services.serving.knative.dev" (resource.group). */
    const char *dot = strchr(name, '.');
    size_t n = dot ? (size_t)(dot - name) : strlen(name);
    char base[64];
    if (n >= sizeof(base))
        return NULL;
    memcpy(base, name, n);
    base[n] = '\0';
    for (size_t i = 0; i < KND_ARRAY_SIZE(knd_kind_table); i++) {
        const knd_kind_info_t *k = &knd_kind_table[i];
        if (dot && strcmp(dot + 1, k->group) != 0)
            continue;
        if (strcmp(k->resource, base) == 0 || strcmp(k->singular, base) == 0 ||
            knd_kind_in_list(k->short_names, base) || strcasecmp(k->kind_name, base) == 0)
            return k;
    }
    return NULL;
}

const knd_kind_info_t *knd_kind_info(knd_kind_t kind)
{
    for (size_t i = 0; i < KND_ARRAY_SIZE(knd_kind_table); i++)
        if (knd_kind_table[i].kind == kind)
            return &knd_kind_table[i];
    return NULL;
}
