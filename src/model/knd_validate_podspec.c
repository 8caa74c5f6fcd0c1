/*
 * knd_validate_podspec.c - the revision template and the pod spec as Knative's webhook checks
 * them (revision_validation.go, k8s_validation.go, fieldmask.go): template name rules, the
 * RevisionSpec numbers, the pod-level field mask and its config-features flags, volumes, init
 * containers and the one-port rule across containers. Containers are in knd_validate_container.c.
 */
#include <stdio.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_json.h"
#include "knd_naming.h"
#include "knd_validate_int.h"

#define KND_MAX_INT32 2147483647LL

/* ------------------------------------------------------------------------------------------ */
/* template and revision spec                                                                  */
/* ------------------------------------------------------------------------------------------ */

static const knd_vfield_t knd_vpod_template_fields[] = {
    {"metadata", KND_VT_OBJ, NULL},
    {"spec", KND_VT_OBJ, NULL},
};

/* validateRevisionName: a BYO name is a DNS-1035 label starting with "<parent>-". */
static void knd_vpod_revision_name(knd_vctx_t *c, const json_t *meta, const char *path)
{
    const char *gen = knd_json_str(meta, "generateName", "");
    const char *name = knd_json_str(meta, "name", "");
    char mpath[KND_VPATH_MAX], msgs[1024];
    knd__vpath(mpath, path, "metadata");
    if (*gen != '\0') {
        char masked[KND_VPATH_MAX];
        snprintf(masked, sizeof(masked), "%s", gen);
        size_t n = strlen(masked);
        if (n > 1 && masked[n - 1] == '-')
            masked[n - 1] = 'a';
        if (!knd_is_dns1035_label(masked)) {
            knd__vdns1035_msgs(masked, msgs, sizeof(msgs));
            knd__verr(c, mpath, "generateName", "invalid value: not a DNS 1035 label prefix: %s",
                      msgs);
            return;
        }
    }
    if (*name == '\0')
        return;
    if (!knd_is_dns1035_label(name)) {
        knd__vdns1035_msgs(name, msgs, sizeof(msgs));
        knd__verr(c, mpath, "name", "invalid value: not a DNS 1035 label: %s", msgs);
        return;
    }
    const char *parent = c->parent_name ? c->parent_name : "";
    if (*parent == '\0' && c->parent_generate_name && *c->parent_generate_name != '\0') {
        /* A BYO name cannot be known when the parent's own name is generated. */
        knd__verr(c, mpath, "name", "must not set the field(s)");
        return;
    }
    size_t pl = strlen(parent);
    if (strncmp(name, parent, pl) != 0 || name[pl] != '-')
        knd__verr(c, mpath, "name", "invalid value: \"%s\" must have prefix \"%s-\"", name,
                  parent);
}

void knd__validate_template(knd_vctx_t *c, const json_t *tmpl, const char *path)
{
    char p[KND_VPATH_MAX];
    if (!KND_VFIELDS(c, tmpl, path, knd_vpod_template_fields))
        return;
    json_t *meta = json_object_get(tmpl, "metadata");
    json_t *spec = json_object_get(tmpl, "spec");
    json_t *empty = NULL;
    if (json_is_object(meta)) {
        knd__vpath(p, path, "metadata");
        knd__validate_object_meta(c, meta, p);
    }
    if (!json_is_object(spec))
        spec = empty = json_object();
    knd__vpath(p, path, "spec");
    knd__validate_revision_spec(c, spec, p);
    json_decref(empty);
    json_t *annos = json_object_get(meta, "annotations");
    if (json_is_object(annos)) {
        knd__vpath(p, path, "metadata.annotations");
        knd__validate_template_annotations(c, annos, p);
    }
    knd_vpod_revision_name(c, meta, path);
}

/* A RevisionSpec number bounded by [lo, hi] (0 meaning "unset" where Knative says so). */
static void knd_vpod_bounded(knd_vctx_t *c, const json_t *spec, const char *path,
                             const char *field, long long lo, long long hi, bool zero_unset)
{
    json_t *v = json_object_get(spec, field);
    if (!json_is_integer(v))
        return;
    long long n = json_integer_value(v);
    if (zero_unset && n == 0)
        return;
    if (n < lo || n > hi)
        knd__verr_bounds(c, path, field, n, lo, hi);
}

void knd__validate_revision_spec(knd_vctx_t *c, const json_t *spec, const char *path)
{
    long long max_timeout = c->p ? c->p->max_revision_timeout_seconds : 600;
    long long cc_max = c->p ? c->p->container_concurrency_max_limit : 1000;
    bool cc_zero = c->p ? c->p->allow_container_concurrency_zero : true;
    knd__validate_podspec(c, spec, path);
    knd_vpod_bounded(c, spec, path, "timeoutSeconds", 0, max_timeout, true);
    knd_vpod_bounded(c, spec, path, "containerConcurrency", cc_zero ? 0 : 1, cc_max, false);
    /* Older Knative bounded these by the max revision timeout too; negative is never valid. */
    knd_vpod_bounded(c, spec, path, "responseStartTimeoutSeconds", 0, max_timeout, true);
    knd_vpod_bounded(c, spec, path, "idleTimeoutSeconds", 0, max_timeout, true);
}

/* ------------------------------------------------------------------------------------------ */
/* pod spec                                                                                    */
/* ------------------------------------------------------------------------------------------ */

#define KND_F(x) "kubernetes.podspec-" x

static const knd_vfield_t knd_vpod_fields[] = {
    /* RevisionSpec's own fields */
    {"containerConcurrency", KND_VT_INT, NULL},
    {"timeoutSeconds", KND_VT_INT, NULL},
    {"responseStartTimeoutSeconds", KND_VT_INT, NULL},
    {"idleTimeoutSeconds", KND_VT_INT, NULL},
    /* corev1.PodSpec, masked as PodSpecMask does */
    {"containers", KND_VT_ARR, NULL},
    {"volumes", KND_VT_ARR, NULL},
    {"serviceAccountName", KND_VT_STR, NULL},
    {"imagePullSecrets", KND_VT_ARR, NULL},
    {"enableServiceLinks", KND_VT_BOOL, NULL},
    {"automountServiceAccountToken", KND_VT_BOOL, NULL},
    {"securityContext", KND_VT_OBJ, NULL},
    {"initContainers", KND_VT_ARR, KND_F("init-containers")},
    {"affinity", KND_VT_OBJ, KND_F("affinity")},
    {"topologySpreadConstraints", KND_VT_ARR, KND_F("topologyspreadconstraints")},
    {"hostAliases", KND_VT_ARR, KND_F("hostaliases")},
    {"nodeSelector", KND_VT_OBJ, KND_F("nodeselector")},
    {"runtimeClassName", KND_VT_STR, KND_F("runtimeclassname")},
    {"tolerations", KND_VT_ARR, KND_F("tolerations")},
    {"shareProcessNamespace", KND_VT_BOOL, KND_F("shareprocessnamespace")},
    {"priorityClassName", KND_VT_STR, KND_F("priorityclassname")},
    {"schedulerName", KND_VT_STR, KND_F("schedulername")},
    {"dnsPolicy", KND_VT_STR, KND_F("dnspolicy")},
    {"dnsConfig", KND_VT_OBJ, KND_F("dnsconfig")},
    {"hostIPC", KND_VT_BOOL, KND_F("hostipc")},
    {"hostPID", KND_VT_BOOL, KND_F("hostpid")},
    {"hostNetwork", KND_VT_BOOL, KND_F("hostnetwork")},
    {"ephemeralContainers", KND_VT_ARR, KND_VF_MASKED},
    {"restartPolicy", KND_VT_STR, KND_VF_MASKED},
    {"terminationGracePeriodSeconds", KND_VT_INT, KND_VF_MASKED},
    {"activeDeadlineSeconds", KND_VT_INT, KND_VF_MASKED},
    {"serviceAccount", KND_VT_STR, KND_VF_MASKED},
    {"nodeName", KND_VT_STR, KND_VF_MASKED},
    {"hostname", KND_VT_STR, KND_VF_MASKED},
    {"hostnameOverride", KND_VT_STR, KND_VF_MASKED},
    {"subdomain", KND_VT_STR, KND_VF_MASKED},
    {"priority", KND_VT_INT, KND_VF_MASKED},
    {"readinessGates", KND_VT_ARR, KND_VF_MASKED},
    {"preemptionPolicy", KND_VT_STR, KND_VF_MASKED},
    {"overhead", KND_VT_OBJ, KND_VF_MASKED},
    {"setHostnameAsFQDN", KND_VT_BOOL, KND_VF_MASKED},
    {"os", KND_VT_OBJ, KND_VF_MASKED},
    {"hostUsers", KND_VT_BOOL, KND_VF_MASKED},
    {"schedulingGates", KND_VT_ARR, KND_VF_MASKED},
    {"resourceClaims", KND_VT_ARR, KND_VF_MASKED},
    {"resources", KND_VT_OBJ, KND_VF_MASKED},
};

static const knd_vfield_t knd_vpod_psc_fields[] = {
    {"runAsUser", KND_VT_INT, NULL},
    {"runAsGroup", KND_VT_INT, NULL},
    {"runAsNonRoot", KND_VT_BOOL, NULL},
    {"fsGroup", KND_VT_INT, NULL},
    {"supplementalGroups", KND_VT_ARR, NULL},
    {"seccompProfile", KND_VT_OBJ, NULL},
    {"seLinuxOptions", KND_VT_OBJ, KND_VF_MASKED},
    {"windowsOptions", KND_VT_OBJ, KND_VF_MASKED},
    {"sysctls", KND_VT_ARR, KND_VF_MASKED},
    {"fsGroupChangePolicy", KND_VT_STR, KND_VF_MASKED},
    {"supplementalGroupsPolicy", KND_VT_STR, KND_VF_MASKED},
    {"seLinuxChangePolicy", KND_VT_STR, KND_VF_MASKED},
    {"appArmorProfile", KND_VT_OBJ, KND_VF_MASKED},
};

static void knd_vpod_id_bounds(knd_vctx_t *c, const json_t *obj, const char *path,
                               const char *field)
{
    json_t *v = json_object_get(obj, field);
    if (json_is_integer(v) && (json_integer_value(v) < 0 || json_integer_value(v) > KND_MAX_INT32))
        knd__verr_bounds(c, path, field, json_integer_value(v), 0, KND_MAX_INT32);
}

static void knd_vpod_security_context(knd_vctx_t *c, const json_t *sc, const char *path)
{
    bool psc = knd__vfeature(c, KND_F("securitycontext")) != KND_FEATURE_DISABLED;
    bool secure = knd__vfeature(c, "secure-pod-defaults") != KND_FEATURE_DISABLED;
    json_t *v;
    size_t i;
    if (!psc && !secure) {
        if (knd__vis_set(sc))
            knd_errlist_add(c->errs, path, "must not set the field(s)");
        return;
    }
    if (!KND_VFIELDS(c, sc, path, knd_vpod_psc_fields))
        return;
    if (!psc) {
        /* secure-pod-defaults alone only lets the seccomp profile through. */
        const char *k;
        json_object_foreach((json_t *)sc, k, v) {
            if (strcmp(k, "seccompProfile") != 0 && knd__vis_set(v))
                knd__verr(c, path, k, "must not set the field(s)");
        }
        return;
    }
    knd_vpod_id_bounds(c, sc, path, "runAsUser");
    knd_vpod_id_bounds(c, sc, path, "runAsGroup");
    knd_vpod_id_bounds(c, sc, path, "fsGroup");
    json_array_foreach(json_object_get(sc, "supplementalGroups"), i, v) {
        if (json_is_integer(v) && (json_integer_value(v) < 0 || json_integer_value(v) > KND_MAX_INT32)) {
            char p[KND_VPATH_MAX];
            knd__vpathf(p, path, "supplementalGroups[%zu]", i);
            knd__verr_bounds(c, p, "", json_integer_value(v), 0, KND_MAX_INT32);
        }
    }
}

/* Names of every volumeMount in these container lists (AllMountedVolumes). */
static bool knd_vpod_mounted(const json_t *lists[], size_t nlists, const char *name)
{
    for (size_t l = 0; l < nlists; l++) {
        size_t i, j;
        json_t *ctr, *vm;
        json_array_foreach(lists[l], i, ctr) {
            json_array_foreach(json_object_get(ctr, "volumeMounts"), j, vm) {
                if (strcmp(knd_json_str(vm, "name", ""), name) == 0)
                    return true;
            }
        }
    }
    return false;
}

/* validateContainersPorts: one port across all containers; returns the first container port
 * (the serving port) or NULL. */
static const json_t *knd_vpod_ports(knd_vctx_t *c, const json_t *ctrs, const char *path)
{
    size_t i, count = 0;
    json_t *ctr;
    const json_t *port = NULL;
    char p[KND_VPATH_MAX];
    json_array_foreach(ctrs, i, ctr) {
        json_t *ports = json_object_get(ctr, "ports");
        if (json_is_array(ports) && json_array_size(ports) > 0) {
            count += json_array_size(ports);
            port = json_array_get(ports, 0);
        }
    }
    knd__vpath(p, path, "containers[*]");
    if (count == 0 && json_array_size(ctrs) > 1)
        knd__verr(c, p, "ports", "missing field(s)");
    if (count > 1)
        knd__verr(c, p, "ports", "more than one container port is set");
    return port;
}

static void knd_vpod_containers(knd_vctx_t *c, const json_t *spec, const char *path,
                                const json_t *volumes)
{
    json_t *ctrs = json_object_get(spec, "containers");
    const json_t *port = knd_vpod_ports(c, ctrs, path);
    size_t n = json_is_array(ctrs) ? json_array_size(ctrs) : 0;
    char p[KND_VPATH_MAX];
    if (n == 0) {
        knd__verr(c, path, "containers", "missing field(s)");
        return;
    }
    if (n == 1) {
        knd__vpath(p, path, "containers[0]");
        knd__validate_container(c, json_array_get(ctrs, 0), p, volumes, true, false, port);
        return;
    }
    if (knd__vfeature(c, "multi-container") != KND_FEATURE_ENABLED) {
        knd_errlist_add(c->errs, "", "multi-container is off, but found %zu containers", n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *ctr = json_array_get(ctrs, i);
        const char *name = knd_json_str(ctr, "name", "");
        knd__vpathf(p, path, "containers[%zu]", i);
        /* Unnamed containers get distinct default names before Knative validates. */
        for (size_t j = 0; *name != '\0' && j < i; j++) {
            if (strcmp(knd_json_str(json_array_get(ctrs, j), "name", ""), name) == 0) {
                knd__verr(c, p, "name", "duplicate container name \"%s\"", name);
                break;
            }
        }
        json_t *ports = json_object_get(ctr, "ports");
        bool user = json_is_array(ports) && json_array_size(ports) > 0;
        knd__validate_container(c, ctr, p, volumes, user, false, port);
    }
}

static void knd_vpod_init_containers(knd_vctx_t *c, const json_t *spec, const char *path,
                                     const json_t *volumes)
{
    json_t *inits = json_object_get(spec, "initContainers");
    json_t *ctrs = json_object_get(spec, "containers");
    size_t n = json_is_array(inits) ? json_array_size(inits) : 0;
    if (n == 0)
        return;
    if (knd__vfeature(c, KND_F("init-containers")) != KND_FEATURE_ENABLED) {
        knd_errlist_add(c->errs, "",
                        "pod spec support for init-containers is off, but found %zu init "
                        "containers", n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *ctr = json_array_get(inits, i);
        const char *name = knd_json_str(ctr, "name", "");
        char p[KND_VPATH_MAX];
        bool dup = false;
        size_t j;
        json_t *o;
        knd__vpathf(p, path, "initContainers[%zu]", i);
        json_array_foreach(ctrs, j, o) {
            if (strcmp(knd_json_str(o, "name", ""), name) == 0 && *name)
                dup = true;
        }
        for (j = 0; j < i; j++)
            if (*name && strcmp(knd_json_str(json_array_get(inits, j), "name", ""), name) == 0)
                dup = true;
        if (dup)
            knd__verr(c, p, "name", "duplicate container name \"%s\"", name);
        static const char *const forbidden[] = {"livenessProbe", "readinessProbe", "startupProbe",
                                                "lifecycle"};
        for (size_t k = 0; k < KND_ARRAY_SIZE(forbidden); k++)
            if (json_object_get(ctr, forbidden[k]) != NULL)
                knd__verr(c, p, forbidden[k], "field not allowed in an init container");
        knd__validate_container(c, ctr, p, volumes, false, true, NULL);
    }
}

void knd__validate_podspec(knd_vctx_t *c, const json_t *spec, const char *path)
{
    char p[KND_VPATH_MAX];
    if (!KND_VFIELDS(c, spec, path, knd_vpod_fields))
        return;
    json_t *amt = json_object_get(spec, "automountServiceAccountToken");
    if (json_is_true(amt))
        knd__verr(c, path, "automountServiceAccountToken", "must not set the field(s)");
    json_t *sc = json_object_get(spec, "securityContext");
    if (sc != NULL) {
        knd__vpath(p, path, "securityContext");
        knd_vpod_security_context(c, sc, p);
    }
    json_t *volumes = json_object_get(spec, "volumes");
    if (json_is_array(volumes)) {
        const json_t *lists[] = {json_object_get(spec, "initContainers"),
                                 json_object_get(spec, "containers")};
        size_t i;
        json_t *vol;
        json_array_foreach(volumes, i, vol) {
            const char *name = knd_json_str(vol, "name", "");
            knd__vpathf(p, path, "volumes[%zu]", i);
            for (size_t j = 0; j < i; j++) {
                if (strcmp(knd_json_str(json_array_get(volumes, j), "name", ""), name) == 0) {
                    knd__verr(c, p, "name", "duplicate volume name \"%s\"", name);
                    break;
                }
            }
            if (!knd_vpod_mounted(lists, KND_ARRAY_SIZE(lists), name))
                knd__verr(c, p, "name", "volume with name \"%s\" not mounted", name);
            knd__validate_volume(c, vol, p);
        }
    }
    knd_vpod_init_containers(c, spec, path, volumes);
    knd_vpod_containers(c, spec, path, volumes);
    const char *sa = knd_json_str(spec, "serviceAccountName", "");
    if (*sa != '\0' && !knd_is_dns1123_subdomain(sa))
        knd__verr(c, path, "serviceAccountName", "invalid value: %s", sa);
}
