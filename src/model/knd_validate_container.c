/*
 * knd_validate_container.c - one container of a revision as Knative's webhook checks it
 * (k8s_validation.go validate / ValidateUserContainer / validateSidecarContainer): the container
 * field mask, reserved names, env and envFrom, image, ports, probes, resources, securityContext,
 * volumeMounts. Kubernetes' own decoding/validation rules (env var names, valueFrom sources,
 * quantities) are added with Kubernetes' wording where Knative relies on the API server.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_json.h"
#include "knd_naming.h"
#include "knd_validate_int.h"

#define KND_MAX_INT32 2147483647LL

static const knd_vfield_t knd_vctr_fields[] = {
    {"name", KND_VT_STR, NULL},
    {"image", KND_VT_STR, NULL},
    {"command", KND_VT_ARR, NULL},
    {"args", KND_VT_ARR, NULL},
    {"workingDir", KND_VT_STR, NULL},
    {"ports", KND_VT_ARR, NULL},
    {"envFrom", KND_VT_ARR, NULL},
    {"env", KND_VT_ARR, NULL},
    {"resources", KND_VT_OBJ, NULL},
    {"volumeMounts", KND_VT_ARR, NULL},
    {"livenessProbe", KND_VT_OBJ, NULL},
    {"readinessProbe", KND_VT_OBJ, NULL},
    {"startupProbe", KND_VT_OBJ, NULL},
    {"terminationMessagePath", KND_VT_STR, NULL},
    {"terminationMessagePolicy", KND_VT_STR, NULL},
    {"imagePullPolicy", KND_VT_STR, NULL},
    {"securityContext", KND_VT_OBJ, NULL},
    {"lifecycle", KND_VT_OBJ, KND_VF_MASKED},
    {"stdin", KND_VT_BOOL, KND_VF_MASKED},
    {"stdinOnce", KND_VT_BOOL, KND_VF_MASKED},
    {"tty", KND_VT_BOOL, KND_VF_MASKED},
    {"volumeDevices", KND_VT_ARR, KND_VF_MASKED},
    {"resizePolicy", KND_VT_ARR, KND_VF_MASKED},
    {"restartPolicy", KND_VT_STR, KND_VF_MASKED},
    {"restartPolicyRules", KND_VT_ARR, KND_VF_MASKED},
};

/* ------------------------------------------------------------------------------------------ */
/* env                                                                                         */
/* ------------------------------------------------------------------------------------------ */

static const knd_vfield_t knd_vctr_env_fields[] = {
    {"name", KND_VT_STR, NULL},
    {"value", KND_VT_STR, NULL},
    {"valueFrom", KND_VT_OBJ, NULL},
};

static const knd_vfield_t knd_vctr_env_source_fields[] = {
    {"configMapKeyRef", KND_VT_OBJ, NULL},
    {"secretKeyRef", KND_VT_OBJ, NULL},
    {"fieldRef", KND_VT_OBJ, "kubernetes.podspec-fieldref"},
    {"resourceFieldRef", KND_VT_OBJ, "kubernetes.podspec-fieldref"},
    {"fileKeyRef", KND_VT_OBJ, KND_VF_MASKED},
};

static const knd_vfield_t knd_vctr_key_selector_fields[] = {
    {"name", KND_VT_STR, NULL},
    {"key", KND_VT_STR, NULL},
    {"optional", KND_VT_BOOL, NULL},
};

static const knd_vfield_t knd_vctr_env_from_fields[] = {
    {"prefix", KND_VT_STR, NULL},
    {"configMapRef", KND_VT_OBJ, NULL},
    {"secretRef", KND_VT_OBJ, NULL},
};

static const knd_vfield_t knd_vctr_env_ref_fields[] = {
    {"name", KND_VT_STR, NULL},
    {"optional", KND_VT_BOOL, NULL},
};

static bool knd_vctr_reserved_env(const char *name, bool user)
{
    /* Sidecars and init containers may set PORT; nobody sets the K_* variables. */
    if (user && strcmp(name, "PORT") == 0)
        return true;
    return strcmp(name, "K_SERVICE") == 0 || strcmp(name, "K_CONFIGURATION") == 0 ||
           strcmp(name, "K_REVISION") == 0;
}

/* Kubernetes' validateEnvVarValueFrom: one source, and not together with value. */
static void knd_vctr_value_from(knd_vctx_t *c, const json_t *env, const json_t *vf,
                                const char *path)
{
    static const char *const keyrefs[] = {"configMapKeyRef", "secretKeyRef"};
    static const char *const all[] = {"fieldRef", "resourceFieldRef", "configMapKeyRef",
                                      "secretKeyRef", "fileKeyRef"};
    size_t n = 0;
    if (!KND_VFIELDS(c, vf, path, knd_vctr_env_source_fields))
        return;
    for (size_t i = 0; i < KND_ARRAY_SIZE(all); i++)
        if (json_object_get(vf, all[i]) != NULL)
            n++;
    for (size_t i = 0; i < KND_ARRAY_SIZE(keyrefs); i++) {
        json_t *ref = json_object_get(vf, keyrefs[i]);
        char p[KND_VPATH_MAX];
        if (ref == NULL)
            continue;
        knd__vpath(p, path, keyrefs[i]);
        if (!KND_VFIELDS(c, ref, p, knd_vctr_key_selector_fields))
            continue;
        if (*knd_json_str(ref, "key", "") == '\0')
            knd__verr(c, p, "key", "Required value");
    }
    if (n == 0)
        knd_errlist_add(c->errs, path, "Invalid value: \"\": must specify one of: `fieldRef`, "
                        "`resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`");
    else if (n > 1)
        knd_errlist_add(c->errs, path,
                        "Invalid value: \"\": may not have more than one field specified at a time");
    else if (*knd_json_str(env, "value", "") != '\0')
        knd_errlist_add(c->errs, path,
                        "Invalid value: \"\": may not be specified when `value` is not empty");
}

static void knd_vctr_env(knd_vctx_t *c, const json_t *envs, const char *path, bool user)
{
    size_t i;
    json_t *env;
    json_array_foreach(envs, i, env) {
        char p[KND_VPATH_MAX];
        knd__vpathf(p, path, "[%zu]", i);
        if (!KND_VFIELDS(c, env, p, knd_vctr_env_fields))
            continue;
        const char *name = knd_json_str(env, "name", "");
        if (*name == '\0') {
            knd__verr(c, p, "name", "missing field(s)");
        } else if (knd_vctr_reserved_env(name, user)) {
            knd__verr(c, p, "name", "\"%s\" is a reserved environment variable", name);
        } else {
            /* RelaxedEnvironmentVariableValidation (GA in Kubernetes 1.34). */
            for (const char *q = name; *q; q++) {
                if (*q == '=' || !isprint((unsigned char)*q)) {
                    knd__verr(c, p, "name", "Invalid value: \"%s\": a valid environment variable "
                              "name must consist only of printable ASCII characters other than "
                              "'='", name);
                    break;
                }
            }
        }
        json_t *vf = json_object_get(env, "valueFrom");
        if (vf != NULL) {
            char vp[KND_VPATH_MAX];
            knd__vpath(vp, p, "valueFrom");
            knd_vctr_value_from(c, env, vf, vp);
        }
    }
}

static void knd_vctr_env_from(knd_vctx_t *c, const json_t *list, const char *path)
{
    size_t i;
    json_t *ef;
    json_array_foreach(list, i, ef) {
        char p[KND_VPATH_MAX];
        knd__vpathf(p, path, "[%zu]", i);
        if (!KND_VFIELDS(c, ef, p, knd_vctr_env_from_fields))
            continue;
        json_t *cm = json_object_get(ef, "configMapRef");
        json_t *sm = json_object_get(ef, "secretRef");
        char rp[KND_VPATH_MAX];
        if (sm != NULL) {
            knd__vpath(rp, p, "secretRef");
            KND_VFIELDS(c, sm, rp, knd_vctr_env_ref_fields);
        }
        if (cm != NULL) {
            knd__vpath(rp, p, "configMapRef");
            KND_VFIELDS(c, cm, rp, knd_vctr_env_ref_fields);
        }
        /* Knative reports these without the index. */
        const char *both[] = {"configMapRef", "secretRef"};
        if (cm != NULL && sm != NULL)
            knd__verr_multi(c, path, both, 2, "expected exactly one, got both");
        else if (cm == NULL && sm == NULL)
            knd__verr_multi(c, path, both, 2, "expected exactly one, got neither");
    }
}

/* ------------------------------------------------------------------------------------------ */
/* ports                                                                                       */
/* ------------------------------------------------------------------------------------------ */

static const knd_vfield_t knd_vctr_port_fields[] = {
    {"containerPort", KND_VT_INT, NULL},
    {"name", KND_VT_STR, NULL},
    {"protocol", KND_VT_STR, NULL},
    {"hostPort", KND_VT_INT, KND_VF_MASKED},
    {"hostIP", KND_VT_STR, KND_VF_MASKED},
};

/* validateContainerPortBasic; Knative reports at "ports.<field>" without an index. */
static void knd_vctr_port_basic(knd_vctx_t *c, const json_t *port, const char *ports_path)
{
    static const long long reserved[] = {8012, 8013, 8022, 9090, 9091, 8008};
    if (!KND_VFIELDS(c, port, ports_path, knd_vctr_port_fields))
        return;
    long long cp = knd_json_int(port, "containerPort", 0);
    for (size_t i = 0; i < KND_ARRAY_SIZE(reserved); i++)
        if (cp == reserved[i])
            knd__verr(c, ports_path, "containerPort", "invalid value: %lld is a reserved port", cp);
    if (cp < 0 || cp > 65535)
        knd__verr_bounds(c, ports_path, "containerPort", cp, 0, 65535);
}

static void knd_vctr_ports(knd_vctx_t *c, const json_t *ports, const char *path, bool init)
{
    size_t i;
    json_t *port;
    if (!json_is_array(ports) || json_array_size(ports) == 0)
        return;
    if (init) {
        json_array_foreach(ports, i, port)
            knd_vctr_port_basic(c, port, path);
        return;
    }
    /* Only the first port matters to Knative: it is the serving port. */
    port = json_array_get(ports, 0);
    knd_vctr_port_basic(c, port, path);
    if (!json_is_object(port))
        return;
    const char *proto = knd_json_str(port, "protocol", "");
    const char *name = knd_json_str(port, "name", "");
    if (*proto != '\0' && strcmp(proto, "TCP") != 0)
        knd__verr(c, path, "protocol", "invalid value: %s", proto);
    if (*name != '\0' && strcmp(name, "h2c") != 0 && strcmp(name, "http1") != 0)
        knd__verr(c, path, "", "Port name %s is not allowed", name);
}

/* ------------------------------------------------------------------------------------------ */
/* probes                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static const knd_vfield_t knd_vctr_probe_fields[] = {
    {"exec", KND_VT_OBJ, NULL},
    {"httpGet", KND_VT_OBJ, NULL},
    {"tcpSocket", KND_VT_OBJ, NULL},
    {"grpc", KND_VT_OBJ, NULL},
    {"initialDelaySeconds", KND_VT_INT, NULL},
    {"timeoutSeconds", KND_VT_INT, NULL},
    {"periodSeconds", KND_VT_INT, NULL},
    {"successThreshold", KND_VT_INT, NULL},
    {"failureThreshold", KND_VT_INT, NULL},
    {"terminationGracePeriodSeconds", KND_VT_INT, NULL},
};

static const knd_vfield_t knd_vctr_http_get_fields[] = {
    {"host", KND_VT_STR, NULL},         {"path", KND_VT_STR, NULL},
    {"scheme", KND_VT_STR, NULL},       {"httpHeaders", KND_VT_ARR, NULL},
    {"port", KND_VT_INTSTR, NULL},
};
static const knd_vfield_t knd_vctr_tcp_fields[] = {
    {"host", KND_VT_STR, NULL},
    {"port", KND_VT_INTSTR, NULL},
};
static const knd_vfield_t knd_vctr_exec_fields[] = {
    {"command", KND_VT_ARR, NULL},
};
static const knd_vfield_t knd_vctr_grpc_fields[] = {
    {"port", KND_VT_INT, NULL},
    {"service", KND_VT_STR, NULL},
};

/* The probe port rule: a named port must be the serving port's name ("http" when unnamed);
 * a sidecar's probe must name some port. */
static void knd_vctr_probe_port(knd_vctx_t *c, const json_t *action, const char *path,
                                const char *field, bool user, const json_t *port)
{
    json_t *pv = json_object_get(action, "port");
    char p[KND_VPATH_MAX];
    knd__vpathf(p, path, "%s.port", field);
    if (user) {
        const char *pname = knd_json_str(port, "name", "");
        if (*pname == '\0')
            pname = "http";
        if (json_is_string(pv) && json_string_length(pv) > 0 &&
            strcmp(json_string_value(pv), pname) != 0)
            knd_errlist_add(c->errs, p, "invalid value: %s", json_string_value(pv));
    } else if (!knd__vis_set(pv)) {
        knd_errlist_add(c->errs, p, "invalid value: %s",
                        json_is_string(pv) ? json_string_value(pv) : "0");
    }
}

static void knd_vctr_probe(knd_vctx_t *c, const json_t *probe, const char *path, bool user,
                           const json_t *port)
{
    static const struct {
        const char *field, *label;
        const knd_vfield_t *tab;
        size_t n;
    } handlers[] = {
        {"httpGet", "httpGet", knd_vctr_http_get_fields, KND_ARRAY_SIZE(knd_vctr_http_get_fields)},
        {"tcpSocket", "tcpSocket", knd_vctr_tcp_fields, KND_ARRAY_SIZE(knd_vctr_tcp_fields)},
        {"exec", "exec", knd_vctr_exec_fields, KND_ARRAY_SIZE(knd_vctr_exec_fields)},
        /* Knative names the gRPC handler "gRPC" in its "got both" error. */
        {"grpc", "gRPC", knd_vctr_grpc_fields, KND_ARRAY_SIZE(knd_vctr_grpc_fields)},
    };
    const char *specified[4];
    size_t n = 0;
    if (!KND_VFIELDS(c, probe, path, knd_vctr_probe_fields))
        return;
    for (size_t i = 0; i < KND_ARRAY_SIZE(handlers); i++) {
        json_t *h = json_object_get(probe, handlers[i].field);
        char p[KND_VPATH_MAX];
        if (h == NULL)
            continue;
        specified[n++] = handlers[i].label;
        knd__vpath(p, path, handlers[i].field);
        if (!knd__vfields(c, h, p, handlers[i].tab, handlers[i].n))
            continue;
        if (i < 2)
            knd_vctr_probe_port(c, h, path, handlers[i].field, user, port);
    }
    if (n == 0) {
        const char *fs[] = {"httpGet", "tcpSocket", "exec", "grpc"};
        knd__verr_multi(c, path, fs, 4, "expected exactly one, got neither");
    } else if (n > 1) {
        knd__verr_multi(c, path, specified, n, "expected exactly one, got both");
    }
}

/* validateReadinessProbe, on the values Knative's defaulting would give (successThreshold 1;
 * with a period, failureThreshold 3 and timeoutSeconds 1). */
static void knd_vctr_readiness(knd_vctx_t *c, const json_t *probe, const char *path, bool user,
                               const json_t *port)
{
    knd_vctr_probe(c, probe, path, user, port);
    if (!json_is_object(probe))
        return;
    long long period = knd_json_int(probe, "periodSeconds", 0);
    long long delay = knd_json_int(probe, "initialDelaySeconds", 0);
    long long success = knd_json_int(probe, "successThreshold", 0);
    long long failure = knd_json_int(probe, "failureThreshold", 0);
    long long timeout = knd_json_int(probe, "timeoutSeconds", 0);
    if (success == 0)
        success = 1;
    if (period != 0) {
        failure = failure == 0 ? 3 : failure;
        timeout = timeout == 0 ? 1 : timeout;
    }
    if (period < 0)
        knd__verr_bounds(c, path, "periodSeconds", period, 0, KND_MAX_INT32);
    if (delay < 0)
        knd__verr_bounds(c, path, "initialDelaySeconds", delay, 0, KND_MAX_INT32);
    if (success < 1)
        knd__verr_bounds(c, path, "successThreshold", success, 1, KND_MAX_INT32);
    if (period == 0) {
        if (failure != 0)
            knd__verr(c, path, "failureThreshold",
                      "failureThreshold is disallowed when periodSeconds is zero");
        if (timeout != 0)
            knd__verr(c, path, "timeoutSeconds",
                      "timeoutSeconds is disallowed when periodSeconds is zero");
    } else {
        if (timeout < 1)
            knd__verr_bounds(c, path, "timeoutSeconds", timeout, 1, KND_MAX_INT32);
        if (failure < 1)
            knd__verr_bounds(c, path, "failureThreshold", failure, 1, KND_MAX_INT32);
    }
}

static void knd_vctr_probes(knd_vctx_t *c, const json_t *ctr, const char *path, bool user,
                            bool sidecar, const json_t *port)
{
    static const char *const names[] = {"livenessProbe", "readinessProbe", "startupProbe"};
    bool probing = knd__vfeature(c, "multi-container-probing") == KND_FEATURE_ENABLED;
    for (size_t i = 0; i < KND_ARRAY_SIZE(names); i++) {
        json_t *probe = json_object_get(ctr, names[i]);
        char p[KND_VPATH_MAX];
        if (probe == NULL || json_is_null(probe))
            continue;
        knd__vpath(p, path, names[i]);
        if (sidecar && !probing) {
            /* Without multi-container-probing every field of a sidecar probe is masked. */
            const char *k;
            json_t *v;
            if (!json_is_object(probe))
                continue;
            bool handler_done = false;
            json_object_foreach(probe, k, v) {
                if (!knd__vis_set(v))
                    continue;
                /* The handler is an inline struct: Knative names the probe itself. */
                bool handler = strcmp(k, "httpGet") == 0 || strcmp(k, "tcpSocket") == 0 ||
                               strcmp(k, "exec") == 0 || strcmp(k, "grpc") == 0;
                if (!handler)
                    knd__verr(c, p, k, "must not set the field(s)");
                else if (!handler_done)
                    knd__verr(c, p, "", "must not set the field(s)");
                handler_done = handler_done || handler;
            }
            continue;
        }
        if (i == 1)
            knd_vctr_readiness(c, probe, p, user, port);
        else
            knd_vctr_probe(c, probe, p, user, port);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* resources and securityContext                                                               */
/* ------------------------------------------------------------------------------------------ */

static const knd_vfield_t knd_vctr_resources_fields[] = {
    {"limits", KND_VT_OBJ, NULL},
    {"requests", KND_VT_OBJ, NULL},
    {"claims", KND_VT_ARR, KND_VF_MASKED},
};

static bool knd_vctr_quantity(knd_vctx_t *c, const json_t *v, const char *path, double *out)
{
    char buf[64];
    const char *s = buf;
    if (json_is_string(v))
        s = json_string_value(v);
    else if (json_is_integer(v))
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
    else
        buf[0] = '\0';
    if (!knd__vparse_quantity(s, out)) {
        knd_errlist_add(c->errs, path, "quantities must match the regular expression "
                        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
        return false;
    }
    if (*out < 0) {
        knd_errlist_add(c->errs, path, "Invalid value: \"%s\": must be greater than or equal to 0",
                        s);
        return false;
    }
    return true;
}

static void knd_vctr_resources(knd_vctx_t *c, const json_t *res, const char *path)
{
    const char *k;
    json_t *v;
    char p[KND_VPATH_MAX];
    if (!KND_VFIELDS(c, res, path, knd_vctr_resources_fields))
        return;
    json_t *limits = json_object_get(res, "limits");
    json_t *requests = json_object_get(res, "requests");
    json_object_foreach(limits, k, v) {
        double q;
        knd__vpathf(p, path, "limits.%s", k);
        knd_vctr_quantity(c, v, p, &q);
    }
    json_object_foreach(requests, k, v) {
        double q, lim;
        knd__vpathf(p, path, "requests.%s", k);
        if (!knd_vctr_quantity(c, v, p, &q))
            continue;
        json_t *lv = json_object_get(limits, k);
        if (lv != NULL && json_is_string(lv) && knd__vparse_quantity(json_string_value(lv), &lim) &&
            q > lim)
            knd_errlist_add(c->errs, p, "Invalid value: \"%s\": must be less than or equal to %s "
                            "limit of %s", json_is_string(v) ? json_string_value(v) : "",
                            k, json_string_value(lv));
    }
}

static const knd_vfield_t knd_vctr_sc_fields[] = {
    {"capabilities", KND_VT_OBJ, NULL},
    {"readOnlyRootFilesystem", KND_VT_BOOL, NULL},
    {"runAsUser", KND_VT_INT, NULL},
    {"runAsGroup", KND_VT_INT, NULL},
    {"runAsNonRoot", KND_VT_BOOL, NULL},
    {"allowPrivilegeEscalation", KND_VT_BOOL, NULL},
    {"seccompProfile", KND_VT_OBJ, NULL},
    {"privileged", KND_VT_BOOL, NULL},
    {"seLinuxOptions", KND_VT_OBJ, KND_VF_MASKED},
    {"procMount", KND_VT_STR, KND_VF_MASKED},
    {"windowsOptions", KND_VT_OBJ, KND_VF_MASKED},
    {"appArmorProfile", KND_VT_OBJ, KND_VF_MASKED},
};

static const knd_vfield_t knd_vctr_caps_fields[] = {
    {"drop", KND_VT_ARR, NULL},
    {"add", KND_VT_ARR, "kubernetes.containerspec-addcapabilities"},
};

static void knd_vctr_security_context(knd_vctx_t *c, const json_t *sc, const char *path)
{
    char p[KND_VPATH_MAX];
    if (!KND_VFIELDS(c, sc, path, knd_vctr_sc_fields))
        return;
    if (json_is_true(json_object_get(sc, "privileged")))
        knd__verr(c, path, "privileged", "must not set the field(s)");
    json_t *caps = json_object_get(sc, "capabilities");
    if (caps != NULL) {
        knd__vpath(p, path, "capabilities");
        KND_VFIELDS(c, caps, p, knd_vctr_caps_fields);
    }
    static const char *const ids[] = {"runAsUser", "runAsGroup"};
    for (size_t i = 0; i < KND_ARRAY_SIZE(ids); i++) {
        json_t *v = json_object_get(sc, ids[i]);
        if (json_is_integer(v) && (json_integer_value(v) < 0 || json_integer_value(v) > KND_MAX_INT32))
            knd__verr_bounds(c, path, ids[i], json_integer_value(v), 0, KND_MAX_INT32);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* the container                                                                               */
/* ------------------------------------------------------------------------------------------ */

void knd__validate_container(knd_vctx_t *c, const json_t *ctr, const char *path,
                             const json_t *volumes, bool user, bool init, const json_t *port)
{
    char p[KND_VPATH_MAX];
    if (json_is_object(ctr) && json_object_size(ctr) == 0) {
        knd_errlist_add(c->errs, path, "missing field(s)");
        return;
    }
    if (!KND_VFIELDS(c, ctr, path, knd_vctr_fields))
        return;
    if (!init)
        knd_vctr_probes(c, ctr, path, user, !user, port);
    const char *name = knd_json_str(ctr, "name", "");
    if (strcmp(name, "queue-proxy") == 0)
        knd__verr(c, path, "name", "\"%s\" is a reserved container name", name);
    else if (*name != '\0' && !knd_is_dns1123_label(name))
        knd__verr(c, path, "name", "Invalid value: \"%s\": a lowercase RFC 1123 label must "
                  "consist of lower case alphanumeric characters or '-', and must start and end "
                  "with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
                  "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')", name);
    knd__vpath(p, path, "env");
    knd_vctr_env(c, json_object_get(ctr, "env"), p, user && !init);
    knd__vpath(p, path, "envFrom");
    knd_vctr_env_from(c, json_object_get(ctr, "envFrom"), p);
    const char *image = knd_json_str(ctr, "image", "");
    if (*image == '\0')
        knd__verr(c, path, "image", "missing field(s)");
    else if (!knd__vimage_ref_ok(image))
        knd__verr(c, path, "image", "Failed to parse image reference");
    knd__vpath(p, path, "ports");
    knd_vctr_ports(c, json_object_get(ctr, "ports"), p, init);
    json_t *res = json_object_get(ctr, "resources");
    if (res != NULL) {
        knd__vpath(p, path, "resources");
        knd_vctr_resources(c, res, p);
    }
    json_t *sc = json_object_get(ctr, "securityContext");
    if (sc != NULL) {
        knd__vpath(p, path, "securityContext");
        knd_vctr_security_context(c, sc, p);
    }
    const char *tmp = knd_json_str(ctr, "terminationMessagePolicy", "");
    if (*tmp != '\0' && strcmp(tmp, "File") != 0 && strcmp(tmp, "FallbackToLogsOnError") != 0)
        knd__verr(c, path, "terminationMessagePolicy", "invalid value: %s", tmp);
    knd__vpath(p, path, "volumeMounts");
    knd__validate_volume_mounts(c, json_object_get(ctr, "volumeMounts"), p, volumes);
}
