/*
 * knd_defaults.c - knd_model_default(): Knative's SetDefaults (revision_defaults.go,
 * route_defaults.go, service/configuration/domainmapping defaults) plus the API server's Secret
 * stringData merge. Edits the object in place; only adds what is missing, so running it twice
 * changes nothing the second time.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_json.h"
#include "knd_model.h"
#include "knd_naming.h"

/* ------------------------------------------------------------------------------------------ */
/* revision spec                                                                               */
/* ------------------------------------------------------------------------------------------ */

/* The container-name template with {{.Name}} / {{.Namespace}} of the parent filled in. */
static void knd_defaults_name_template(const char *tmpl, const json_t *parent_meta, char *out,
                                       size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (const char *s = tmpl; *s && len + 1 < n;) {
        const char *val = NULL;
        size_t skip = 0;
        if (strncmp(s, "{{.Name}}", 9) == 0) {
            val = knd_json_str(parent_meta, "name", "");
            skip = 9;
        } else if (strncmp(s, "{{.Namespace}}", 14) == 0) {
            val = knd_json_str(parent_meta, "namespace", "");
            skip = 14;
        }
        if (val != NULL) {
            len += (size_t)snprintf(out + len, n - len, "%s", val);
            if (len >= n)
                len = n - 1;
            s += skip;
        } else {
            out[len++] = *s++;
            out[len] = '\0';
        }
    }
}

static bool knd_defaults_name_taken(const json_t *lists[2], const char *name)
{
    for (int l = 0; l < 2; l++) {
        size_t i;
        json_t *c;
        json_array_foreach(lists[l], i, c) {
            if (strcmp(knd_json_str(c, "name", ""), name) == 0)
                return true;
        }
    }
    return false;
}

/* applyDefaultContainerNames: "<default>" for a lone container, else "<default>-<n>" skipping
 * names already used. */
static void knd_defaults_container_names(json_t *ctrs, const json_t *lists[2], const char *def)
{
    int next = 0;
    size_t i;
    json_t *c;
    json_array_foreach(ctrs, i, c) {
        char name[KND_NAME_MAX + 1];
        if (!json_is_object(c) || *knd_json_str(c, "name", "") != '\0')
            continue;
        snprintf(name, sizeof(name), "%s", def);
        if (json_array_size(ctrs) > 1 || knd_defaults_name_taken(lists, name)) {
            do {
                char sfx[24];
                snprintf(sfx, sizeof(sfx), "-%d", next++);
                knd_child_name(def, sfx, name);
            } while (knd_defaults_name_taken(lists, name));
        }
        json_object_set_new(c, "name", json_string(name));
    }
}

static void knd_defaults_probe(json_t *ctr, bool serving)
{
    json_t *rp = json_object_get(ctr, "readinessProbe");
    if (serving) {
        if (!json_is_object(rp)) {
            rp = json_object();
            json_object_set_new(ctr, "readinessProbe", rp);
        }
        if (!json_object_get(rp, "tcpSocket") && !json_object_get(rp, "httpGet") &&
            !json_object_get(rp, "exec") && !json_object_get(rp, "grpc"))
            json_object_set_new(rp, "tcpSocket", json_pack("{s:i}", "port", 0));
    }
    if (json_is_object(rp)) {
        if (knd_json_int(rp, "successThreshold", 0) == 0)
            json_object_set_new(rp, "successThreshold", json_integer(1));
        if (knd_json_int(rp, "periodSeconds", 0) != 0) {
            if (knd_json_int(rp, "failureThreshold", 0) == 0)
                json_object_set_new(rp, "failureThreshold", json_integer(3));
            if (knd_json_int(rp, "timeoutSeconds", 0) == 0)
                json_object_set_new(rp, "timeoutSeconds", json_integer(1));
        }
    }
    static const char *const probes[] = {"readinessProbe", "livenessProbe", "startupProbe"};
    for (size_t i = 0; i < 3; i++) {
        json_t *g = knd_json_path(ctr, probes[i]);
        g = json_is_object(g) ? json_object_get(g, "grpc") : NULL;
        if (json_is_object(g) && json_object_get(g, "service") == NULL)
            json_object_set_new(g, "service", json_string(""));
    }
}

/* Mounts of volumes that cannot be written are always read-only. */
static void knd_defaults_mounts(json_t *ctr, const json_t *volumes)
{
    size_t i, j;
    json_t *vm, *v;
    json_array_foreach(json_object_get(ctr, "volumeMounts"), i, vm) {
        bool writable = false;
        json_array_foreach(volumes, j, v) {
            if (strcmp(knd_json_str(v, "name", ""), knd_json_str(vm, "name", "")) == 0 &&
                (json_object_get(v, "emptyDir") || json_object_get(v, "persistentVolumeClaim") ||
                 json_object_get(v, "ephemeral")))
                writable = true;
        }
        if (!writable && json_is_object(vm))
            json_object_set_new(vm, "readOnly", json_true());
    }
}

static void knd_defaults_timeout(json_t *spec, const char *field, int64_t def, int64_t timeout)
{
    if (json_object_get(spec, field) == NULL && def != 0 && def < timeout)
        json_object_set_new(spec, field, json_integer(def));
}

static void knd_defaults_revision_spec(json_t *spec, const knd_platform_t *p,
                                       const json_t *parent_meta)
{
    if (knd_json_int(spec, "timeoutSeconds", 0) == 0)
        json_object_set_new(spec, "timeoutSeconds", json_integer(p->revision_timeout_seconds));
    int64_t timeout = knd_json_int(spec, "timeoutSeconds", 0);
    knd_defaults_timeout(spec, "idleTimeoutSeconds", p->revision_idle_timeout_seconds, timeout);
    knd_defaults_timeout(spec, "responseStartTimeoutSeconds",
                         p->revision_response_start_timeout_seconds, timeout);
    if (json_object_get(spec, "containerConcurrency") == NULL)
        json_object_set_new(spec, "containerConcurrency", json_integer(p->container_concurrency));

    json_t *ctrs = json_object_get(spec, "containers");
    json_t *inits = json_object_get(spec, "initContainers");
    const json_t *lists[2] = {ctrs, inits};
    char def[KND_NAME_MAX + 1];
    knd_defaults_name_template(p->container_name_template[0] ? p->container_name_template
                                                             : "user-container",
                               parent_meta, def, sizeof(def));
    knd_defaults_container_names(ctrs, lists, def);
    knd_defaults_container_names(inits, lists, "init-container");

    size_t i;
    json_t *c;
    size_t n = json_array_size(ctrs);
    json_array_foreach(ctrs, i, c) {
        if (!json_is_object(c))
            continue;
        json_t *ports = json_object_get(c, "ports");
        knd_defaults_probe(c, n == 1 || json_array_size(ports) > 0);
        knd_defaults_mounts(c, json_object_get(spec, "volumes"));
    }
    if (json_object_get(spec, "enableServiceLinks") == NULL) {
        if (strcmp(p->enable_service_links, "true") == 0)
            json_object_set_new(spec, "enableServiceLinks", json_true());
        else if (strcmp(p->enable_service_links, "false") == 0)
            json_object_set_new(spec, "enableServiceLinks", json_false());
    }
}

static void knd_defaults_template(json_t *obj, const knd_platform_t *p)
{
    json_t *meta = json_object_get(obj, "metadata");
    json_t *spec = knd_json_ensure_obj(obj, "spec.template.spec");
    knd_defaults_revision_spec(spec, p, meta);
}

/* ------------------------------------------------------------------------------------------ */
/* traffic, secrets, dispatch                                                                  */
/* ------------------------------------------------------------------------------------------ */

static void knd_defaults_traffic(json_t *obj, bool in_service)
{
    json_t *spec = json_object_get(obj, "spec");
    if (!json_is_object(spec))
        return;
    json_t *traffic = json_object_get(spec, "traffic");
    if (in_service && (!json_is_array(traffic) || json_array_size(traffic) == 0)) {
        traffic = json_pack("[{s:b,s:i}]", "latestRevision", 1, "percent", 100);
        json_object_set_new(spec, "traffic", traffic);
    }
    size_t i;
    json_t *tt;
    json_array_foreach(traffic, i, tt) {
        if (!json_is_object(tt))
            continue;
        if (json_object_get(tt, "latestRevision") == NULL)
            json_object_set_new(tt, "latestRevision",
                                json_boolean(*knd_json_str(tt, "revisionName", "") == '\0'));
        if (json_object_get(tt, "percent") == NULL)
            json_object_set_new(tt, "percent", json_integer(0));
    }
}

/* The API server defaults type to Opaque, folds stringData into data (base64) and drops
 * stringData. */
static void knd_defaults_secret(json_t *obj)
{
    json_t *sd = json_object_get(obj, "stringData");
    const char *k;
    json_t *v;
    if (*knd_json_str(obj, "type", "") == '\0')
        json_object_set_new(obj, "type", json_string("Opaque"));
    if (sd == NULL)
        return;
    if (json_is_object(sd) && json_object_size(sd) > 0) {
        json_t *data = knd_json_ensure_obj(obj, "data");
        json_object_foreach(sd, k, v) {
            if (!json_is_string(v))
                continue;
            size_t n = json_string_length(v);
            char *out = knd_xmalloc(4 * ((n + 2) / 3) + 1);
            EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)json_string_value(v),
                            (int)n);
            json_object_set_new(data, k, json_string(out));
            free(out);
        }
    }
    json_object_del(obj, "stringData");
}

void knd_model_default(json_t *obj, const knd_platform_t *p)
{
    const knd_kind_info_t *ki;
    if (!json_is_object(obj))
        return;
    ki = knd_kind_lookup(knd_json_str(obj, "apiVersion", ""), knd_json_str(obj, "kind", ""));
    if (ki == NULL)
        return;
    switch (ki->kind) {
    case KND_KIND_SERVICE:
        knd_defaults_template(obj, p);
        knd_defaults_traffic(obj, true);
        break;
    case KND_KIND_CONFIGURATION:
        knd_defaults_template(obj, p);
        break;
    case KND_KIND_ROUTE:
        knd_defaults_traffic(obj, false);
        break;
    case KND_KIND_REVISION:
        /* Knative defaults a Revision without a parent: "{{.Name}}" renders empty. */
        knd_defaults_revision_spec(knd_json_ensure_obj(obj, "spec"), p, NULL);
        break;
    case KND_KIND_DOMAINMAPPING: {
        json_t *ref = knd_json_path(obj, "spec.ref");
        const char *ns = knd_json_str(obj, "metadata.namespace", "");
        if (json_is_object(ref) && *knd_json_str(ref, "namespace", "") == '\0' && *ns != '\0')
            json_object_set_new(ref, "namespace", json_string(ns));
        break;
    }
    case KND_KIND_SECRET:
        knd_defaults_secret(obj);
        break;
    default:
        break;
    }
}
