/*
 * knd_validate_annotations.c - Knative's annotation rules: every autoscaling.knative.dev/...
 * annotation with its range and message (autoscaling/annotation_validation.go), the ban on
 * autoscaling annotations outside the revision template, rollout-duration, progress-deadline and
 * the queue-proxy sidecar resource annotations. Legacy camelCase aliases are accepted; when both
 * spellings are present the kebab-case key wins (kmap.KeyPriority), as in Knative.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_json.h"
#include "knd_validate_int.h"

#define KND_AS "autoscaling.knative.dev/"
#define KND_KPA "kpa.autoscaling.knative.dev"
#define KND_HPA "hpa.autoscaling.knative.dev"
#define KND_WINDOW_MIN 6.0
#define KND_WINDOW_MAX 3600.0

/* kmap.KeyPriority.Get: the first of keys present in m. */
static bool knd_vann_get(const json_t *m, const char *const *keys, const char **k, const char **v)
{
    for (size_t i = 0; keys[i] != NULL; i++) {
        json_t *val = json_object_get(m, keys[i]);
        if (json_is_string(val)) {
            *k = keys[i];
            *v = json_string_value(val);
            return true;
        }
    }
    return false;
}

#define KND_KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* strconv.ParseFloat, close enough: the whole string must be a number. */
static bool knd_vann_float(const char *s, double *out)
{
    char *end;
    if (*s == '\0' || isspace((unsigned char)*s))
        return false;
    errno = 0;
    *out = strtod(s, &end);
    return *end == '\0' && errno != ERANGE;
}

/* strconv.ParseInt(s, 10, bits): 0 ok, 1 syntax error, 2 out of range. */
static int knd_vann_int(const char *s, long long lo, long long hi, long long *out)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (*p == '\0')
        return 1;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return 1;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE || v < lo || v > hi)
        return 2;
    *out = v;
    return 0;
}

/* getIntGE0: an int32 >= 0 or an error; missing is 0. */
static long long knd_vann_int_ge0(knd_vctx_t *c, const json_t *m, const char *path,
                                  const char *const *keys)
{
    const char *k, *v;
    long long n = 0;
    if (!knd_vann_get(m, keys, &k, &v))
        return 0;
    int rc = knd_vann_int(v, INT_MIN, INT_MAX, &n);
    if (rc == 1) {
        knd__verr(c, path, k, "invalid value: %s", v);
        return 0;
    }
    if (rc == 2 || n < 0) {
        knd__verr(c, path, k, "expected 0 <= %s <= 2147483647", v);
        return 0;
    }
    return n;
}

static void knd_vann_min_max(knd_vctx_t *c, const json_t *m, const char *path)
{
    const char *const *maxkeys = KND_KEYS(KND_AS "max-scale", KND_AS "maxScale");
    long long min = knd_vann_int_ge0(c, m, path, KND_KEYS(KND_AS "min-scale", KND_AS "minScale"));
    long long max = knd_vann_int_ge0(c, m, path, maxkeys);
    long long limit = c->p ? c->p->max_scale_limit : 0;
    const char *k, *v;
    char msg[128];
    if (max != 0 && max < min) {
        const char *fs[] = {KND_AS "max-scale", KND_AS "min-scale"};
        snprintf(msg, sizeof(msg), "max-scale=%lld is less than min-scale=%lld", max, min);
        knd__verr_multi(c, path, fs, 2, msg);
    }
    if (knd_vann_get(m, maxkeys, &k, &v) && limit > 0) {
        if (max > limit)
            knd__verr(c, path, k, "expected 1 <= %lld <= %lld", max, limit);
        if (max == 0)
            knd__verr(c, path, k, "max-scale=0 (unlimited), must be less than %lld", limit);
    }
    if (knd_vann_get(m, KND_KEYS(KND_AS "activation-scale"), &k, &v)) {
        long long nz = 0;
        if (knd_vann_int(v, INT_MIN, INT_MAX, &nz) != 0)
            knd__verr(c, path, k, "invalid value: %s", v);
        else if (min > nz)
            knd__verr(c, path, k, "min-scale=%lld is greater than activation-scale=%lld", min, nz);
        else if (max < nz && max != 0)
            knd__verr(c, path, k, "max-scale=%lld is less than activation-scale=%lld", max, nz);
        else if (nz < 2)
            knd__verr(c, path, k, "activation-scale=%lld must be greater than 1", nz);
    }
}

/* A float annotation in [lo, hi]: "expected lo <= v <= hi" with v as written. */
static void knd_vann_float_range(knd_vctx_t *c, const json_t *m, const char *path,
                                 const char *const *keys, double lo, double hi)
{
    const char *k, *v;
    double f;
    char los[32], his[32];
    if (!knd_vann_get(m, keys, &k, &v))
        return;
    if (!knd_vann_float(v, &f)) {
        knd__verr(c, path, k, "invalid value: %s", v);
        return;
    }
    if (f < lo || f > hi) {
        knd__vfmt_float(los, lo);
        knd__vfmt_float(his, hi);
        knd__verr(c, path, k, "expected %s <= %s <= %s", los, v, his);
    }
}

static void knd_vann_floats(knd_vctx_t *c, const json_t *m, const char *path)
{
    const char *k, *v;
    double f;
    knd_vann_float_range(c, m, path,
                         KND_KEYS(KND_AS "panic-window-percentage", KND_AS "panicWindowPercentage"),
                         1, 100);
    knd_vann_float_range(c, m, path,
                         KND_KEYS(KND_AS "panic-threshold-percentage",
                                  KND_AS "panicThresholdPercentage"),
                         110, 1000);
    if (knd_vann_get(m, KND_KEYS(KND_AS "target"), &k, &v)) {
        if (!knd_vann_float(v, &f))
            knd__verr(c, path, k, "invalid value: %s", v);
        else if (f < 0.01)
            knd__verr(c, path, k, "target %s should be at least 0.01", v);
    }
    knd_vann_float_range(c, m, path,
                         KND_KEYS(KND_AS "target-utilization-percentage",
                                  KND_AS "targetUtilizationPercentage"),
                         1, 100);
    if (knd_vann_get(m, KND_KEYS(KND_AS "target-burst-capacity", KND_AS "targetBurstCapacity"),
                     &k, &v)) {
        if (!knd_vann_float(v, &f) || (f < 0 && f != -1))
            knd__verr(c, path, k, "invalid value: %s", v);
    }
}

/* A duration annotation in [lo, hi] seconds, optionally whole seconds only. */
static void knd_vann_duration(knd_vctx_t *c, const json_t *m, const char *path,
                              const char *const *keys, double lo, double hi, bool whole)
{
    const char *k, *v;
    double d;
    char los[32], his[32];
    if (!knd_vann_get(m, keys, &k, &v))
        return;
    if (knd__vparse_duration(v, &d) != 0) {
        knd__verr(c, path, k, "invalid value: %s", v);
    } else if (d < lo || d > hi) {
        knd__vfmt_duration(los, lo);
        knd__vfmt_duration(his, hi);
        knd__verr(c, path, k, "expected %s <= %s <= %s", los, v, his);
    } else if (whole && fabs(d - round(d)) > 1e-9) {
        knd__verr(c, path, k, "must be specified with at most second precision");
    }
}

static void knd_vann_metric(knd_vctx_t *c, const json_t *m, const char *path)
{
    const char *k, *metric, *cls;
    if (!knd_vann_get(m, KND_KEYS(KND_AS "metric"), &k, &metric))
        return;
    cls = c->p ? c->p->pod_autoscaler_class : KND_KPA;
    const char *ck, *cv;
    if (knd_vann_get(m, KND_KEYS(KND_AS "class"), &ck, &cv))
        cls = cv;
    bool ok = true;
    if (strcmp(cls, KND_KPA) == 0)
        ok = strcmp(metric, "concurrency") == 0 || strcmp(metric, "rps") == 0;
    else if (strcmp(cls, KND_HPA) == 0)
        ok = *metric != '\0';
    if (!ok)
        knd__verr(c, path, KND_AS "metric", "invalid value: %s", metric);
}

void knd__validate_autoscaling_annotations(knd_vctx_t *c, const json_t *m, const char *path)
{
    const char *k, *v;
    if (!json_is_object(m))
        return;
    if (knd_vann_get(m, KND_KEYS(KND_AS "class"), &k, &v)) {
        size_t n = strlen(v), sl = strlen(".knative.dev");
        if (n >= sl && strcmp(v + n - sl, ".knative.dev") == 0 && strcmp(v, KND_KPA) != 0 &&
            strcmp(v, KND_HPA) != 0)
            knd__verr(c, path, k, "invalid value: %s", v);
    }
    knd_vann_min_max(c, m, path);
    knd_vann_floats(c, m, path);
    knd_vann_duration(c, m, path, KND_KEYS(KND_AS "window"), KND_WINDOW_MIN, KND_WINDOW_MAX,
                      true);
    knd_vann_duration(c, m, path,
                      KND_KEYS(KND_AS "scale-to-zero-pod-retention-period",
                               KND_AS "scaleToZeroPodRetentionPeriod"),
                      0, KND_WINDOW_MAX, false);
    knd_vann_duration(c, m, path, KND_KEYS(KND_AS "scale-down-delay", KND_AS "scaleDownDelay"), 0,
                      KND_WINDOW_MAX, true);
    knd_vann_metric(c, m, path);
    if (knd_vann_get(m, KND_KEYS(KND_AS "class"), &k, &v) && strcmp(v, KND_KPA) == 0 &&
        knd_vann_get(m, KND_KEYS(KND_AS "metric-aggregation-algorithm",
                                 KND_AS "metricAggregationAlgorithm"), &k, &v) &&
        *v != '\0' && strcmp(v, "linear") != 0 && strcmp(v, "weighted-exponential") != 0 &&
        strcmp(v, "weightedExponential") != 0)
        knd__verr(c, path, k, "invalid value: %s", v);
    if (knd_vann_get(m, KND_KEYS(KND_AS "initial-scale", KND_AS "initialScale"), &k, &v)) {
        long long n = 0;
        bool zero_ok = c->p ? c->p->allow_zero_initial_scale : false;
        char p[KND_VPATH_MAX];
        /* Knative puts the explanation into the path; kept as is. */
        if (knd_vann_int(v, LLONG_MIN, LLONG_MAX, &n) != 0) {
            knd__verr(c, path, k, "invalid value: %s", v);
        } else if (n < 0) {
            snprintf(p, sizeof(p), "%s must be greater than 0", k);
            knd__verr(c, path, p, "invalid value: %s", v);
        } else if (n == 0 && !zero_ok) {
            snprintf(p, sizeof(p), "%s=0 not allowed by cluster", k);
            knd__verr(c, path, p, "invalid value: %s", v);
        }
    }
}

void knd__validate_no_autoscaling_annotations(knd_vctx_t *c, const json_t *annos,
                                              const char *path)
{
    const char *k;
    json_t *v;
    if (!json_is_object(annos))
        return;
    json_object_foreach((json_t *)annos, k, v) {
        if (strncmp(k, "autoscaling.knative.dev", strlen("autoscaling.knative.dev")) == 0) {
            knd_errlist_add(c->errs, path, "invalid key name \"%s\"", k);
            knd_errlist_detail(c->errs, "autoscaling annotations must be put under "
                                        "\"spec.template.metadata.annotations\" to work");
        }
    }
}

/* rollout-duration and progress-deadline: a whole-second, non-negative Go duration. */
static void knd_vann_positive_duration(knd_vctx_t *c, const json_t *annos, const char *path,
                                       const char *const *keys, const char *label)
{
    const char *k, *v;
    double d;
    if (!knd_vann_get(annos, keys, &k, &v) || *v == '\0')
        return;
    if (knd__vparse_duration(v, &d) != 0)
        knd__verr(c, path, k, "invalid value: %s", v);
    else if (fabs(d - round(d)) > 1e-9)
        knd__verr(c, path, k, "%s=%s is not at second precision", label, v);
    else if (d < 0)
        knd__verr(c, path, k, "%s=%s must be positive", label, v);
}

void knd__validate_rollout_duration(knd_vctx_t *c, const json_t *annos, const char *path)
{
    if (!json_is_object(annos))
        return;
    knd_vann_positive_duration(c, annos, path,
                               KND_KEYS("serving.knative.dev/rollout-duration",
                                        "serving.knative.dev/rolloutDuration"),
                               "rollout-duration");
}

static void knd_vann_queue_sidecar(knd_vctx_t *c, const json_t *m, const char *path)
{
    static const char *const qres[] = {
        "queue.sidecar.serving.knative.dev/cpu-resource-request",
        "queue.sidecar.serving.knative.dev/cpu-resource-limit",
        "queue.sidecar.serving.knative.dev/memory-resource-request",
        "queue.sidecar.serving.knative.dev/memory-resource-limit",
        "queue.sidecar.serving.knative.dev/ephemeral-storage-resource-request",
        "queue.sidecar.serving.knative.dev/ephemeral-storage-resource-limit",
    };
    const char *k, *v;
    char field[KND_VPATH_MAX];
    double f;
    /* These are reported with ViaKey: "annotations[<key>]". */
    if (knd_vann_get(m, KND_KEYS("queue.sidecar.serving.knative.dev/resource-percentage",
                                 "queue.sidecar.serving.knative.dev/resourcePercentage"),
                     &k, &v)) {
        snprintf(field, sizeof(field), "[%s]", k);
        if (!knd_vann_float(v, &f)) {
            knd__verr(c, path, field, "invalid value: %s", v);
        } else if (f < 0.1 || f > 100) {
            char fs[32];
            knd__vfmt_float(fs, f);
            knd__verr(c, path, field, "expected 0.1 <= %s <= 100", fs);
        }
    }
    for (size_t i = 0; i < KND_ARRAY_SIZE(qres); i++) {
        json_t *val = json_object_get(m, qres[i]);
        if (!json_is_string(val) || knd__vparse_quantity(json_string_value(val), NULL))
            continue;
        snprintf(field, sizeof(field), "[%s]", qres[i]);
        knd__verr(c, path, field, "invalid value: %s", json_string_value(val));
    }
}

void knd__validate_template_annotations(knd_vctx_t *c, const json_t *annos, const char *path)
{
    knd__validate_autoscaling_annotations(c, annos, path);
    knd_vann_queue_sidecar(c, annos, path);
    knd_vann_positive_duration(c, annos, path, KND_KEYS("serving.knative.dev/progress-deadline"),
                               "progress-deadline");
}
