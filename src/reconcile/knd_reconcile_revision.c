/*
 * knd_reconcile_revision.c - Revisions: one per Configuration generation, their status from
 * what the runtime reports, and how their instances start (the process runtime: command/args,
 * env with secretKeyRef/configMapKeyRef/envFrom, workingDir, readiness probe).
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_json.h"
#include "knd_log.h"
#include "knd_naming.h"
#include "knd_reconcile_int.h"
#include "knd_time.h"

#define KND_GRACE_CAP_MS 30000 /* see knd_plan_probe */

/* ------------------------------------------------------------------ creation */

static json_t *knd_revision_labels(const json_t *cfg, long long gen)
{
    json_t *labels = json_deep_copy(knd_json_path(cfg, "spec.template.metadata.labels"));
    if (!json_is_object(labels)) {
        json_decref(labels);
        labels = json_object();
    }
    char g[32];
    snprintf(g, sizeof(g), "%lld", gen);
    json_object_set_new(labels, KND_LABEL_CONFIGURATION, json_string(knd__obj_name(cfg)));
    json_object_set_new(labels, KND_LABEL_CONFIGURATION_UID, json_string(knd__obj_uid(cfg)));
    json_object_set_new(labels, KND_LABEL_CONFIG_GENERATION, json_string(g));
    const char *svc = knd__obj_label(cfg, KND_LABEL_SERVICE);
    json_object_set_new(labels, KND_LABEL_SERVICE, json_string(svc ? svc : ""));
    if (svc) {
        json_t *refs = knd_json_path(cfg, "metadata.ownerReferences");
        const char *uid = knd_json_str(json_array_get(refs, 0), "uid", "");
        json_object_set_new(labels, KND_LABEL_SERVICE_UID, json_string(uid));
    }
    return labels;
}

/* The revision a Configuration's current generation maps to (by label), or NULL. */
static json_t *knd_config_latest_created(knd_pass_t *ps, const json_t *cfg)
{
    long long gen = knd_json_int(cfg, "metadata.generation", 1);
    size_t i;
    json_t *r;
    json_array_foreach(knd__pass_config_revisions(ps, knd__obj_ns(cfg), knd__obj_name(cfg)), i, r)
    {
        const char *g = knd__obj_label(r, KND_LABEL_CONFIG_GENERATION);
        if (g && atoll(g) == gen)
            return r;
    }
    return NULL;
}

void knd__reconcile_config_revision(knd_pass_t *ps, json_t *cfg)
{
    if (knd_config_latest_created(ps, cfg))
        return;
    long long gen = knd_json_int(cfg, "metadata.generation", 1);
    char name[KND_NAME_MAX + 1];
    const char *byo = knd_json_str(cfg, "spec.template.metadata.name", NULL);
    if (byo && *byo)
        snprintf(name, sizeof(name), "%s", byo);
    else
        knd_revision_name(knd__obj_name(cfg), gen, name);
    if (knd__pass_get(ps->rev_idx, knd__obj_ns(cfg), name))
        return; /* taken by another configuration or generation: reported in the status */
    json_t *meta = json_pack("{s:s, s:s, s:o}", "name", name, "namespace", knd__obj_ns(cfg),
                             "labels", knd_revision_labels(cfg, gen));
    json_t *ann = knd_json_path(cfg, "spec.template.metadata.annotations");
    if (json_is_object(ann) && json_object_size(ann))
        json_object_set(meta, "annotations", ann);
    json_t *refs = json_array();
    json_array_append_new(refs, json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion",
                                          "serving.knative.dev/v1", "kind", "Configuration",
                                          "name", knd__obj_name(cfg), "uid", knd__obj_uid(cfg),
                                          "controller", 1, "blockOwnerDeletion", 1));
    json_object_set_new(meta, "ownerReferences", refs);
    ps->dirty = true;
    json_t *rev = json_pack("{s:s, s:s, s:o, s:O}", "apiVersion", "serving.knative.dev/v1",
                            "kind", "Revision", "metadata", meta, "spec",
                            knd_json_path(cfg, "spec.template.spec"));
    knd_err_t err;
    if (knd_store_create(ps->rc->store, "revisions", rev, &err) < 0)
        knd_log(KND_LOG_ERROR, "reconcile", "create revision %s: %s", name, err.msg);
    else
        knd_log(KND_LOG_INFO, "reconcile", "created revision %s/%s", knd__obj_ns(cfg), name);
    json_decref(rev);
}

/* ------------------------------------------------------------------ status */

/* The serving container: the one with a port, or the only one. */
static json_t *knd_serving_container(const json_t *rev)
{
    json_t *cs = knd_json_path(rev, "spec.containers");
    if (json_array_size(cs) == 1)
        return json_array_get(cs, 0);
    size_t i;
    json_t *c;
    json_array_foreach(cs, i, c) if (json_array_size(json_object_get(c, "ports")) > 0) return c;
    return json_array_get(cs, 0);
}

static bool knd_rev_stored_ready(const json_t *rev)
{
    const char *s = knd_condition_status(rev, "Ready");
    return s && strcmp(s, "True") == 0;
}

void knd__reconcile_revision_status(knd_pass_t *ps, json_t *rev)
{
    json_t *before = json_deep_copy(json_object_get(rev, "status"));
    knd_rev_rt_t *r = knd_runtime_find(ps->rc->runtime, knd__obj_ns(rev), knd__obj_name(rev));
    const char *reason = r ? knd_rev_rt_fail_reason(r) : NULL;
    const char *msg = r ? knd_rev_rt_fail_message(r) : NULL;
    int ready = r ? knd_rev_rt_ready(r) : 0;
    knd_json_ensure_obj(rev, "status");
    knd_json_set(rev, "status.observedGeneration",
                 json_integer(knd_json_int(rev, "metadata.generation", 1)));
    if (reason && ready == 0) {
        knd__cond(ps, rev, "ContainerHealthy", "False", reason, msg);
        knd__cond(ps, rev, "ResourcesAvailable", strcmp(reason, "ContainerMissing") ? "True" : "False",
                  strcmp(reason, "ContainerMissing") ? "" : reason, strcmp(reason, "ContainerMissing") ? "" : msg);
        knd__cond(ps, rev, "Ready", "False", reason, msg);
    } else if ((r && knd_rev_rt_ever_ready(r)) || knd_rev_stored_ready(rev) ||
               knd__rev_initial_scale(rev, &ps->rc->platform) == 0) {
        /* initial-scale 0 (when the cluster allows it): Knative marks the scale target
         * initialized without starting anything; the first request starts an instance. */
        knd__cond(ps, rev, "ContainerHealthy", "True", "", "");
        knd__cond(ps, rev, "ResourcesAvailable", "True", "", "");
        knd__cond(ps, rev, "Ready", "True", "", "");
    } else {
        knd__cond(ps, rev, "ContainerHealthy", "Unknown", "Deploying", "");
        knd__cond(ps, rev, "ResourcesAvailable", "Unknown", "Deploying", "");
        knd__cond(ps, rev, "Ready", "Unknown", "Deploying", "");
    }
    if (ready > 0)
        knd__cond(ps, rev, "Active", "True", "", "");
    else if (r && knd_rev_rt_desired(r) > 0)
        knd__cond(ps, rev, "Active", "Unknown", "Queued",
                  "Requests to the target are being buffered as resources are provisioned.");
    else
        knd__cond(ps, rev, "Active", "False", "NoTraffic", "The target is not receiving traffic.");
    json_t *c = knd_serving_container(rev);
    json_t *cstat = json_array();
    if (c)
        json_array_append_new(cstat, json_pack("{s:s, s:s}", "name",
                                               knd_json_str(c, "name", "user-container"),
                                               "imageDigest", knd_json_str(c, "image", "")));
    json_object_set_new(json_object_get(rev, "status"), "containerStatuses", cstat);
    /* actual/desired replicas are filled by the runtime step, after routing is known. */
    knd__pass_save_status(ps, "revisions", rev, before);
    json_decref(before);
}

void knd__reconcile_config_status(knd_pass_t *ps, json_t *cfg)
{
    json_t *before = json_deep_copy(json_object_get(cfg, "status"));
    json_t *lcr = knd_config_latest_created(ps, cfg);
    /* Latest ready: the newest ready revision of this configuration, by generation. */
    json_t *lrr = NULL;
    long long best = -1;
    size_t i;
    json_t *r;
    json_array_foreach(knd__pass_config_revisions(ps, knd__obj_ns(cfg), knd__obj_name(cfg)), i, r)
    {
        const char *g = knd__obj_label(r, KND_LABEL_CONFIG_GENERATION);
        if (!g || !knd_rev_stored_ready(r))
            continue;
        if (atoll(g) > best) {
            best = atoll(g);
            lrr = r;
        }
    }
    knd_json_ensure_obj(cfg, "status");
    json_t *st = json_object_get(cfg, "status");
    json_object_set_new(st, "observedGeneration",
                        json_integer(knd_json_int(cfg, "metadata.generation", 1)));
    if (lcr)
        json_object_set_new(st, "latestCreatedRevisionName", json_string(knd__obj_name(lcr)));
    if (lrr)
        json_object_set_new(st, "latestReadyRevisionName", json_string(knd__obj_name(lrr)));
    const char *lcr_ready = lcr ? knd_condition_status(lcr, "Ready") : NULL;
    if (lcr && lrr == lcr) {
        knd__cond(ps, cfg, "Ready", "True", "", "");
    } else if (lcr_ready && strcmp(lcr_ready, "False") == 0) {
        char msg[512];
        json_t *rc = NULL;
        size_t k;
        json_t *c;
        json_array_foreach(knd_json_path(lcr, "status.conditions"), k, c)
            if (strcmp(knd_json_str(c, "type", ""), "Ready") == 0) rc = c;
        snprintf(msg, sizeof(msg), "Revision \"%s\" failed with message: %s.",
                 knd__obj_name(lcr), knd_json_str(rc, "message", ""));
        knd__cond(ps, cfg, "Ready", "False", "RevisionFailed", msg);
    } else if (lcr == NULL) {
        const char *byo = knd_json_str(cfg, "spec.template.metadata.name", NULL);
        char msg[512];
        snprintf(msg, sizeof(msg),
                 "Revision creation failed with message: revisions.serving.knative.dev \"%s\" "
                 "already exists.",
                 byo ? byo : "");
        knd__cond(ps, cfg, "Ready", "False", "RevisionFailed", msg);
    } else {
        knd__cond(ps, cfg, "Ready", "Unknown", "", "");
    }
    knd__pass_save_status(ps, "configurations", cfg, before);
    json_decref(before);
}

/* ------------------------------------------------------------------ how instances start */

static char *knd_b64_decode(const char *s)
{
    size_t n = strlen(s);
    unsigned char *out = knd_xmalloc(n / 4 * 3 + 4);
    int len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (len < 0) {
        free(out);
        return NULL;
    }
    /* EVP_DecodeBlock counts padding bytes as data: drop one per '='. */
    while (n > 0 && s[n - 1] == '=' && len > 0) {
        len--;
        n--;
    }
    out[len] = '\0';
    return (char *)out;
}

typedef struct {
    char **v;
    size_t n, cap;
} knd_strv_t;

static void knd_strv_push(knd_strv_t *sv, char *s)
{
    if (sv->n + 2 > sv->cap) {
        sv->cap = sv->cap ? sv->cap * 2 : 16;
        sv->v = knd_xrealloc(sv->v, sv->cap * sizeof(*sv->v));
    }
    sv->v[sv->n++] = s;
    sv->v[sv->n] = NULL;
}

/* Sets NAME=value, replacing an earlier entry (later sources win, as in Kubernetes). */
static void knd_env_set(knd_strv_t *env, const char *name, const char *value)
{
    size_t nl = strlen(name);
    char *kv = knd_xasprintf("%s=%s", name, value);
    for (size_t i = 0; i < env->n; i++) {
        if (strncmp(env->v[i], name, nl) == 0 && env->v[i][nl] == '=') {
            free(env->v[i]);
            env->v[i] = kv;
            return;
        }
    }
    knd_strv_push(env, kv);
}

/* Looks up key in a Secret (base64 data) or ConfigMap; *missing says what is absent. */
static char *knd_ref_value(knd_pass_t *ps, const char *ns, bool secret, const char *name,
                           const char *key, char *missing, size_t missing_len)
{
    json_t *obj = NULL;
    knd_err_t err;
    if (knd_store_get(ps->rc->store, secret ? "secrets" : "configmaps", ns, name, &obj, &err) < 0) {
        snprintf(missing, missing_len, "%s \"%s\" not found", secret ? "secret" : "configmap",
                 name);
        return NULL;
    }
    json_t *v = json_object_get(json_object_get(obj, "data"), key);
    char *out = NULL;
    if (json_is_string(v))
        out = secret ? knd_b64_decode(json_string_value(v)) : knd_xstrdup(json_string_value(v));
    if (out == NULL)
        snprintf(missing, missing_len, "key \"%s\" not found in %s \"%s\"", key,
                 secret ? "secret" : "configmap", name);
    json_decref(obj);
    return out;
}

/* envFrom: every key of a ConfigMap or Secret, with an optional prefix. */
static int knd_env_from(knd_pass_t *ps, const char *ns, const json_t *c, knd_strv_t *env,
                        char *missing, size_t mlen)
{
    size_t i;
    json_t *src;
    json_array_foreach(json_object_get(c, "envFrom"), i, src)
    {
        bool secret = json_object_get(src, "secretRef") != NULL;
        json_t *ref = json_object_get(src, secret ? "secretRef" : "configMapRef");
        const char *name = knd_json_str(ref, "name", "");
        const char *prefix = knd_json_str(src, "prefix", "");
        json_t *obj = NULL;
        knd_err_t err;
        if (knd_store_get(ps->rc->store, secret ? "secrets" : "configmaps", ns, name, &obj,
                          &err) < 0) {
            if (json_is_true(json_object_get(ref, "optional")))
                continue;
            snprintf(missing, mlen, "%s \"%s\" not found", secret ? "secret" : "configmap", name);
            return -1;
        }
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(obj, "data"), k, v)
        {
            if (!json_is_string(v))
                continue;
            char *val = secret ? knd_b64_decode(json_string_value(v))
                               : knd_xstrdup(json_string_value(v));
            char *full = knd_xasprintf("%s%s", prefix, k);
            if (val)
                knd_env_set(env, full, val);
            free(full);
            free(val);
        }
        json_decref(obj);
    }
    return 0;
}

static int knd_env_list(knd_pass_t *ps, const char *ns, const json_t *c, knd_strv_t *env,
                        char *missing, size_t mlen)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(c, "env"), i, e)
    {
        const char *name = knd_json_str(e, "name", "");
        json_t *from = json_object_get(e, "valueFrom");
        if (from == NULL) {
            knd_env_set(env, name, knd_json_str(e, "value", ""));
            continue;
        }
        bool secret = json_object_get(from, "secretKeyRef") != NULL;
        json_t *ref = json_object_get(from, secret ? "secretKeyRef" : "configMapKeyRef");
        if (ref == NULL)
            continue; /* fieldRef/resourceFieldRef: nothing meaningful for a local process */
        char *val = knd_ref_value(ps, ns, secret, knd_json_str(ref, "name", ""),
                                  knd_json_str(ref, "key", ""), missing, mlen);
        if (val == NULL) {
            if (json_is_true(json_object_get(ref, "optional")))
                continue;
            return -1;
        }
        knd_env_set(env, name, val);
        free(val);
    }
    return 0;
}

/* argv from command + args, or the local image table when the container has no command. */
static int knd_plan_argv(knd_pass_t *ps, const json_t *c, knd_strv_t *argv, char *why,
                         size_t wlen)
{
    json_t *cmd = json_object_get(c, "command");
    json_t *owned = NULL;
    if (json_array_size(cmd) == 0) {
        knd_err_t err;
        const char *image = knd_json_str(c, "image", "");
        if (knd_store_image_get(ps->rc->store, image, &owned, &err) < 0) {
            snprintf(why, wlen,
                     "Unable to fetch image \"%s\": knd runs containers as local processes; set "
                     "\"command\" in the container or run: knd image add %s -- COMMAND [ARGS...]",
                     image, image);
            return -1;
        }
        cmd = owned;
    }
    size_t i;
    json_t *a;
    json_array_foreach(cmd, i, a) knd_strv_push(argv, knd_xstrdup(json_string_value(a) ? json_string_value(a) : ""));
    json_array_foreach(json_object_get(c, "args"), i, a)
        knd_strv_push(argv, knd_xstrdup(json_string_value(a) ? json_string_value(a) : ""));
    json_decref(owned);
    return 0;
}

static char **knd_json_strv(const json_t *arr)
{
    knd_strv_t v = {0};
    size_t i;
    json_t *a;
    json_array_foreach(arr, i, a)
        knd_strv_push(&v, knd_xstrdup(json_is_string(a) ? json_string_value(a) : ""));
    return v.v; /* NULL when empty: the supervisor refuses an exec probe without a command */
}

/* One Kubernetes Probe object into the plan's probe (kind NONE when absent). */
static void knd_plan_one_probe(knd_plan_probe_t *pp, const json_t *probe)
{
    memset(pp, 0, sizeof(*pp));
    if (!json_is_object(probe))
        return;
    json_t *http = json_object_get(probe, "httpGet"), *exec = json_object_get(probe, "exec");
    if (json_is_object(http)) {
        pp->kind = KND_PROBE_HTTP;
        pp->http_path = knd_xstrdup(knd_json_str(http, "path", "/"));
        knd_strv_t hv = {0};
        size_t i;
        json_t *h;
        json_array_foreach(json_object_get(http, "httpHeaders"), i, h)
            knd_strv_push(&hv, knd_xasprintf("%s: %s", knd_json_str(h, "name", ""),
                                             knd_json_str(h, "value", "")));
        pp->http_headers = hv.v;
    } else if (json_is_object(exec)) {
        pp->kind = KND_PROBE_EXEC;
        pp->exec_argv = knd_json_strv(json_object_get(exec, "command"));
    } else {
        pp->kind = KND_PROBE_TCP; /* tcpSocket, and grpc until it is supported */
    }
    pp->initial_delay_ms = (int)knd_json_int(probe, "initialDelaySeconds", 0) * 1000;
    pp->period_ms = (int)knd_json_int(probe, "periodSeconds", 0) * 1000;
    pp->timeout_ms = (int)knd_json_int(probe, "timeoutSeconds", 0) * 1000;
    pp->success_threshold = (int)knd_json_int(probe, "successThreshold", 0);
    pp->failure_threshold = (int)knd_json_int(probe, "failureThreshold", 0);
}

static void knd_plan_probe(knd_rev_plan_t *plan, const json_t *rev, const json_t *c)
{
    knd_plan_one_probe(&plan->readiness, json_object_get(c, "readinessProbe"));
    if (plan->readiness.kind == KND_PROBE_NONE)
        plan->readiness.kind = KND_PROBE_TCP; /* Knative's default: TCP, aggressive */
    knd_plan_one_probe(&plan->liveness, json_object_get(c, "livenessProbe"));
    knd_plan_one_probe(&plan->startup, json_object_get(c, "startupProbe"));
    /* Knative gives pods terminationGracePeriodSeconds = timeoutSeconds (up to 600 s); knd caps
     * the SIGKILL fallback at 30 s so a stuck process cannot hold a shutdown for minutes. */
    long long grace = knd_json_int(rev, "spec.timeoutSeconds", 300) * 1000;
    plan->grace_ms = (int)(grace > KND_GRACE_CAP_MS ? KND_GRACE_CAP_MS : grace);
}

static const char *const knd_inherited_env[] = {"PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR",
                                                "USER"};

/* spec.initContainers (behind kubernetes.podspec-init-containers, checked by validation). */
static int knd_plan_init_containers(knd_pass_t *ps, const json_t *rev, knd_rev_plan_t *plan,
                                    char *msg, size_t mlen)
{
    json_t *ics = knd_json_path(rev, "spec.initContainers");
    size_t n = json_array_size(ics), i;
    if (n == 0)
        return 0;
    plan->init = knd_xcalloc(n, sizeof(*plan->init));
    json_t *c;
    json_array_foreach(ics, i, c)
    {
        knd_plan_init_t *ic = &plan->init[plan->ninit++];
        knd_strv_t argv = {0}, env = {0};
        char missing[256] = "";
        ic->name = knd_xstrdup(knd_json_str(c, "name", ""));
        if (knd_plan_argv(ps, c, &argv, msg, mlen) < 0) {
            ic->argv = argv.v;
            return -1;
        }
        ic->argv = argv.v;
        for (size_t k = 0; k < KND_ARRAY_SIZE(knd_inherited_env); k++) {
            const char *v = getenv(knd_inherited_env[k]);
            if (v)
                knd_env_set(&env, knd_inherited_env[k], v);
        }
        int rc = knd_env_from(ps, knd__obj_ns(rev), c, &env, missing, sizeof(missing));
        if (rc == 0)
            rc = knd_env_list(ps, knd__obj_ns(rev), c, &env, missing, sizeof(missing));
        ic->env = env.v;
        if (rc < 0) {
            snprintf(msg, mlen, "init container \"%s\": %s", ic->name, missing);
            return -1;
        }
        const char *wd = knd_json_str(c, "workingDir", NULL);
        ic->cwd = wd && *wd ? knd_xstrdup(wd) : NULL;
    }
    return 0;
}

/* Builds the start plan; on failure sets reason/message and returns -1. */
static int knd_plan_build(knd_pass_t *ps, const json_t *rev, knd_rev_plan_t *plan,
                          const char **reason, char *msg, size_t mlen)
{
    const json_t *c = knd_serving_container(rev);
    knd_strv_t argv = {0}, env = {0};
    const char *ns = knd__obj_ns(rev);
    memset(plan, 0, sizeof(*plan));
    if (c == NULL || knd_plan_argv(ps, c, &argv, msg, mlen) < 0) {
        *reason = "ContainerMissing";
        goto fail;
    }
    for (size_t i = 0; i < KND_ARRAY_SIZE(knd_inherited_env); i++) {
        const char *v = getenv(knd_inherited_env[i]);
        if (v)
            knd_env_set(&env, knd_inherited_env[i], v);
    }
    char missing[256] = "";
    if (knd_env_from(ps, ns, c, &env, missing, sizeof(missing)) < 0 ||
        knd_env_list(ps, ns, c, &env, missing, sizeof(missing)) < 0) {
        *reason = "CreateContainerConfigError";
        snprintf(msg, mlen, "%s", missing);
        goto fail;
    }
    if (knd_plan_init_containers(ps, rev, plan, msg, mlen) < 0) {
        *reason = "ContainerMissing";
        goto fail;
    }
    const char *svc = knd__obj_label(rev, KND_LABEL_SERVICE);
    knd_env_set(&env, "K_SERVICE", svc ? svc : "");
    knd_env_set(&env, "K_CONFIGURATION", knd__obj_label(rev, KND_LABEL_CONFIGURATION) ?: "");
    knd_env_set(&env, "K_REVISION", knd__obj_name(rev));
    plan->argv = argv.v;
    plan->env = env.v;
    const char *wd = knd_json_str(c, "workingDir", NULL);
    plan->cwd = wd && *wd ? knd_xstrdup(wd) : NULL;
    knd_plan_probe(plan, rev, c);
    return 0;
fail:
    plan->argv = argv.v;
    plan->env = env.v;
    knd_rev_plan_free(plan);
    return -1;
}

/* An annotation of the revision as an integer (new or camelCase spelling), or def. */
static long knd_rev_annotation_int(const json_t *rev, const char *key, const char *alias, long def)
{
    json_t *ann = knd_json_path(rev, "metadata.annotations");
    json_t *v = json_object_get(ann, key);
    if (!json_is_string(v))
        v = json_object_get(ann, alias);
    return json_is_string(v) ? atol(json_string_value(v)) : def;
}

/* serving.knative.dev/progress-deadline (a Go duration), default 600 s (config-deployment). */
static uint64_t knd_rev_progress_deadline_ms(const json_t *rev)
{
    json_t *v = json_object_get(knd_json_path(rev, "metadata.annotations"),
                                "serving.knative.dev/progress-deadline");
    int64_t ms;
    if (json_is_string(v) && knd_time_parse_duration_ms(json_string_value(v), &ms) == 0 && ms > 0)
        return (uint64_t)ms;
    return 600000;
}

long knd__rev_initial_scale(const json_t *rev, const knd_platform_t *p)
{
    long initial = knd_rev_annotation_int(rev, "autoscaling.knative.dev/initial-scale",
                                          "autoscaling.knative.dev/initialScale", p->initial_scale);
    if (initial == 0 && !p->allow_zero_initial_scale)
        initial = 1; /* validation rejects it; a stored one from an older config is treated as 1 */
    return initial;
}

void knd__rev_limits(const json_t *rev, knd_rev_limits_t *out)
{
    memset(out, 0, sizeof(*out));
    out->container_concurrency = (int)knd_json_int(rev, "spec.containerConcurrency", 0);
    out->timeout_ms = (uint64_t)knd_json_int(rev, "spec.timeoutSeconds", 300) * 1000;
    out->response_start_ms = (uint64_t)knd_json_int(rev, "spec.responseStartTimeoutSeconds", 0) * 1000;
    out->idle_ms = (uint64_t)knd_json_int(rev, "spec.idleTimeoutSeconds", 0) * 1000;
    json_t *q = json_object_get(knd_json_path(rev, "metadata.annotations"), "knd.dev/queue-limit");
    if (json_is_string(q) && atol(json_string_value(q)) > 0)
        out->queue_limit = (size_t)atol(json_string_value(q));
}


void knd__reconcile_revision_runtime(knd_pass_t *ps, json_t *rev)
{
    const char *ns = knd__obj_ns(rev), *name = knd__obj_name(rev);
    char key[512];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    bool routed = json_object_get(ps->routed, key) != NULL;
    bool ready = knd_rev_stored_ready(rev);
    const knd_platform_t *p = &ps->rc->platform;
    long min_scale = knd_rev_annotation_int(rev, "autoscaling.knative.dev/min-scale",
                                            "autoscaling.knative.dev/minScale", p->min_scale);
    long max_scale = knd_rev_annotation_int(rev, "autoscaling.knative.dev/max-scale",
                                            "autoscaling.knative.dev/maxScale", p->max_scale);
    long initial = knd__rev_initial_scale(rev, p);
    int desired = 0;
    if (routed)
        desired = (int)(min_scale > initial ? min_scale : initial);
    else if (!ready && initial > 0)
        /* Knative starts every new revision at its initial scale to prove it can become ready
         * (a BYO revision superseded before it was ready must still get there, or a route
         * naming it could never resolve); once ready and unrouted it goes to zero. */
        desired = initial > 1 ? (int)initial : 1;
    if (max_scale > 0 && desired > max_scale)
        desired = (int)max_scale;
    knd_rev_rt_t *r = knd_runtime_find(ps->rc->runtime, ns, name);
    bool fresh = r == NULL;
    if (desired > 0 || routed || r) {
        if (!routed && desired == 0) {
            r = NULL; /* not wanted any more: the sweep stops it */
        } else {
            knd_rev_limits_t limits;
            knd__rev_limits(rev, &limits);
            r = knd_runtime_ensure(ps->rc->runtime, ns, name,
                                   knd__obj_label(rev, KND_LABEL_SERVICE) ?: "",
                                   knd__obj_label(rev, KND_LABEL_CONFIGURATION) ?: "", &limits);
            knd_rev_plan_t plan;
            const char *reason = NULL;
            char msg[768] = "";
            if (knd_plan_build(ps, rev, &plan, &reason, msg, sizeof(msg)) == 0)
                knd_rev_rt_set_plan(r, &plan, NULL, NULL);
            else {
                knd_rev_rt_set_plan(r, NULL, reason, msg);
                const char *st = knd_condition_status(rev, "Ready");
                if (st == NULL || strcmp(st, "False") != 0)
                    knd_reconciler_kick(ps->rc); /* report the failure in the next pass */
            }
            if (routed) {
                /* A routed revision scales with its load (SPEC §a): it starts at
                 * max(min-scale, initial-scale) - what Knative's deployment is created with -
                 * and the autoscaler moves it from there. */
                knd_kpa_params_t kp;
                knd_kpa_params(knd_json_path(rev, "metadata.annotations"),
                               (int)knd_json_int(rev, "spec.containerConcurrency", 0), p, &kp);
                if (fresh || !knd_rev_rt_scaling(r))
                    knd_rev_rt_set_desired(r, desired);
                knd_rev_rt_set_scaling(r, &kp, true);
            } else {
                knd_rev_rt_set_scaling(r, NULL, false);
                knd_rev_rt_set_desired(r, desired);
            }
            knd_rev_rt_check_deadline(r, knd_rev_progress_deadline_ms(rev));
        }
    }
    /* Two numbers: compared as they are, not through a copy of the whole status. */
    json_t *st = knd_json_ensure_obj(rev, "status");
    json_int_t actual = r ? knd_rev_rt_ready(r) : 0, want = r ? knd_rev_rt_desired(r) : 0;
    json_t *a = json_object_get(st, "actualReplicas"), *d = json_object_get(st, "desiredReplicas");
    if (json_is_integer(a) && json_integer_value(a) == actual && json_is_integer(d) &&
        json_integer_value(d) == want)
        return;
    json_object_set_new(st, "actualReplicas", json_integer(actual));
    json_object_set_new(st, "desiredReplicas", json_integer(want));
    knd__pass_save_status(ps, "revisions", rev, NULL);
}
