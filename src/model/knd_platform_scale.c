/*
 * knd_platform_scale.c - config-defaults and config-autoscaler: Knative's keys, defaults and
 * validation rules with its message texts (pkg/apis/config/defaults.go,
 * pkg/autoscaler/config/config.go). Writes only into the scratch platform it is given; the
 * caller (knd_platform_apply_configmap) swaps it in when no error was recorded.
 */
#include <stdio.h>
#include <string.h>

#include "knd_buf.h"
#include "knd_platform_int.h"
#include "knd_template.h"

/* autoscaling.TargetMin, WindowMin/Max, PanicWindowPercentageMin/Max (pkg/apis/autoscaling). */
#define KND_TARGET_MIN 0.01
#define KND_WINDOW_MIN_MS 6000
#define KND_WINDOW_MAX_MS 3600000
#define KND_PANIC_WINDOW_PCT_MIN 1.0
#define KND_PANIC_WINDOW_PCT_MAX 100.0

/* ---------------------------------------------------------------- config-defaults */

void knd__platform_defaults_reset(knd_platform_t *p)
{
    p->revision_timeout_seconds = 300;
    p->max_revision_timeout_seconds = 600;
    /* Knative defaults response-start to revision-timeout-seconds; revision defaulting only
     * applies it when it is below the revision's timeoutSeconds. */
    p->revision_response_start_timeout_seconds = 300;
    p->revision_idle_timeout_seconds = 0;
    p->container_concurrency = 0;
    p->container_concurrency_max_limit = 1000;
    p->allow_container_concurrency_zero = true;
    snprintf(p->container_name_template, sizeof(p->container_name_template), "user-container");
    snprintf(p->enable_service_links, sizeof(p->enable_service_links), "false");
}

/* A container name template must execute against an empty ObjectMeta (Knative's check). */
static void knd_platform_check_name_template(knd_cmparse_t *c, const char *key, char *store,
                                             size_t storelen)
{
    const char *raw = knd__platform_raw(c, key);
    if (raw == NULL)
        return;
    knd_buf_t out;
    char err[512];
    knd_tmpl_vals_t v = {0};
    knd_buf_init(&out);
    if (knd_tmpl_render(raw, "container-template", KND_TMPL_OBJECTMETA, &v, &out, err,
                        sizeof(err), NULL) != 0)
        knd__platform_err(c, key, "%s", err);
    else if (store != NULL && strlen(raw) >= storelen)
        knd__platform_err(c, key, "template is longer than %zu characters", storelen - 1);
    else if (store != NULL)
        snprintf(store, storelen, "%s", raw);
    knd_buf_free(&out);
}

static void knd_platform_parse_service_links(knd_platform_t *p, knd_cmparse_t *c)
{
    const char *raw = knd__platform_raw(c, "enable-service-links");
    if (raw == NULL)
        return;
    /* asTriState: true/false case-insensitively, anything else means "leave unset" (""). */
    if (strcasecmp(raw, "true") == 0)
        snprintf(p->enable_service_links, sizeof(p->enable_service_links), "true");
    else if (strcasecmp(raw, "false") == 0)
        snprintf(p->enable_service_links, sizeof(p->enable_service_links), "false");
    else
        p->enable_service_links[0] = '\0';
}

void knd__platform_apply_defaults(knd_platform_t *p, knd_cmparse_t *c)
{
    knd__platform_defaults_reset(p);
    knd_platform_check_name_template(c, "init-container-name-template", NULL, 0);
    knd_platform_check_name_template(c, "container-name-template", p->container_name_template,
                                     sizeof(p->container_name_template));
    knd__platform_bool(c, "allow-container-concurrency-zero", &p->allow_container_concurrency_zero);
    knd_platform_parse_service_links(p, c);
    knd__platform_int(c, "revision-timeout-seconds", 64, &p->revision_timeout_seconds);
    knd__platform_int(c, "max-revision-timeout-seconds", 64, &p->max_revision_timeout_seconds);
    knd__platform_int(c, "revision-idle-timeout-seconds", 64, &p->revision_idle_timeout_seconds);
    knd__platform_int(c, "container-concurrency", 64, &p->container_concurrency);
    knd__platform_int(c, "container-concurrency-max-limit", 64,
                      &p->container_concurrency_max_limit);
    p->revision_response_start_timeout_seconds = p->revision_timeout_seconds;
    knd__platform_int(c, "revision-response-start-timeout-seconds", 64,
                      &p->revision_response_start_timeout_seconds);
    if (c->nerr > 0)
        return;

    int64_t rts = p->revision_timeout_seconds, rsts = p->revision_response_start_timeout_seconds;
    int64_t idle = p->revision_idle_timeout_seconds;
    if (rts > p->max_revision_timeout_seconds)
        knd__platform_err(c, "revision-timeout-seconds",
                          "revision-timeout-seconds (%lld) cannot be greater than "
                          "max-revision-timeout-seconds (%lld)",
                          (long long)rts, (long long)p->max_revision_timeout_seconds);
    if (rsts > 0 && rsts > rts)
        knd__platform_err(c, "revision-response-start-timeout-seconds",
                          "revision-response-start-timeout-seconds (%lld) cannot be greater than "
                          "revision-timeout-seconds (%lld)",
                          (long long)rsts, (long long)rts);
    if (idle > 0 && idle > rts)
        knd__platform_err(c, "revision-idle-timeout-seconds",
                          "revision-idle-timeout-seconds (%lld) cannot be greater than "
                          "revision-timeout-seconds (%lld)",
                          (long long)idle, (long long)rts);
    if (p->container_concurrency_max_limit < 1)
        knd__platform_err(c, "container-concurrency-max-limit", "expected 1 <= %lld <= 2147483647",
                          (long long)p->container_concurrency_max_limit);
    else if (p->container_concurrency < 0 ||
             p->container_concurrency > p->container_concurrency_max_limit)
        knd__platform_err(c, "container-concurrency", "expected 0 <= %lld <= %lld",
                          (long long)p->container_concurrency,
                          (long long)p->container_concurrency_max_limit);
}

/* ---------------------------------------------------------------- config-autoscaler */

void knd__platform_autoscaler_reset(knd_platform_t *p)
{
    p->container_concurrency_target_percentage = 70;
    p->container_concurrency_target_default = 100;
    p->requests_per_second_target_default = 200;
    p->target_burst_capacity = 211;
    p->stable_window_s = 60;
    p->panic_window_percentage = 10;
    p->panic_threshold_percentage = 200;
    p->max_scale_up_rate = 1000;
    p->max_scale_down_rate = 2;
    p->enable_scale_to_zero = true;
    p->scale_to_zero_grace_period_s = 30;
    p->scale_to_zero_pod_retention_period_s = 0;
    p->scale_down_delay_s = 0;
    p->activator_capacity = 100;
    p->initial_scale = 1;
    p->allow_zero_initial_scale = false;
    p->min_scale = 0;
    p->max_scale = 0;
    p->max_scale_limit = 0;
    snprintf(p->pod_autoscaler_class, sizeof(p->pod_autoscaler_class),
             "kpa.autoscaling.knative.dev");
}

/* The parsed-but-unvalidated values, in Knative's own units (durations in ms). */
typedef struct {
    double frac, cc_default, rps, tbc, pwp, up, down, activator;
    int64_t stable_ms, grace_ms, retention_ms, delay_ms;
    int64_t initial, min, max, limit;
    bool allow_zero;
} knd_autoscaler_vals_t;

static void knd_platform_validate_windows(knd_cmparse_t *c, const knd_autoscaler_vals_t *v)
{
    char a[KND_PLATFORM_FMT_MAX], b[KND_PLATFORM_FMT_MAX], d[KND_PLATFORM_FMT_MAX];
    if (v->grace_ms <= 0) {
        knd__platform_fmt_duration(v->grace_ms, a);
        knd__platform_err(c, "scale-to-zero-grace-period",
                          "scale-to-zero-grace-period must be positive, was: %s", a);
    }
    knd__platform_fmt_duration(v->delay_ms, a);
    if (v->delay_ms < 0)
        knd__platform_err(c, "scale-down-delay", "scale-down-delay cannot be negative, was: %s", a);
    else if (v->delay_ms % 1000 != 0)
        knd__platform_err(c, "scale-down-delay",
                          "scale-down-delay = %s, must be specified with at most second precision",
                          a);
    if (v->retention_ms < 0) {
        knd__platform_fmt_duration(v->retention_ms, a);
        knd__platform_err(c, "scale-to-zero-pod-retention-period",
                          "scale-to-zero-pod-retention-period cannot be negative, was: %s", a);
    }
    knd__platform_fmt_duration(v->stable_ms, a);
    if (v->stable_ms < KND_WINDOW_MIN_MS || v->stable_ms > KND_WINDOW_MAX_MS) {
        knd__platform_fmt_duration(KND_WINDOW_MIN_MS, b);
        knd__platform_fmt_duration(KND_WINDOW_MAX_MS, d);
        knd__platform_err(c, "stable-window", "stable-window = %s, must be in [%s; %s] range", a, b,
                          d);
    } else if (v->stable_ms % 1000 != 0) {
        knd__platform_err(c, "stable-window",
                          "stable-window = %s, must be specified with at most second precision", a);
    }
}

static void knd_platform_validate_rates(knd_cmparse_t *c, const knd_autoscaler_vals_t *v)
{
    char a[KND_PLATFORM_FMT_MAX], b[KND_PLATFORM_FMT_MAX];
    if (v->tbc < 0 && v->tbc != -1)
        knd__platform_err(c, "target-burst-capacity",
                          "target-burst-capacity must be either non-negative or -1 (for "
                          "unlimited), was: %f",
                          v->tbc);
    if (v->frac <= 0 || v->frac > 1) {
        knd__platform_err(c, "container-concurrency-target-percentage",
                          "container-concurrency-target-percentage = %f is outside of valid range "
                          "of (0, 100]",
                          v->frac);
    } else if (v->frac * v->cc_default < KND_TARGET_MIN) {
        knd__platform_fmt_float(v->frac * v->cc_default, a);
        knd__platform_err(c, "container-concurrency-target-default",
                          "container-concurrency-target-percentage and "
                          "container-concurrency-target-default yield target concurrency of %s, "
                          "can't be less than 0.01",
                          a);
    }
    if (v->rps < KND_TARGET_MIN) {
        knd__platform_fmt_float(v->rps, a);
        knd__platform_err(c, "requests-per-second-target-default",
                          "requests-per-second-target-default must be at least 0.01, was: %s", a);
    }
    knd__platform_fmt_float(v->activator, a);
    if (v->activator < 1)
        knd__platform_err(c, "activator-capacity", "activator-capacity = %s, must be at least 1", a);
    knd__platform_fmt_float(v->up, a);
    if (v->up <= 1.0)
        knd__platform_err(c, "max-scale-up-rate", "max-scale-up-rate = %s, must be greater than 1.0",
                          a);
    knd__platform_fmt_float(v->down, a);
    if (v->down <= 1.0)
        knd__platform_err(c, "max-scale-down-rate",
                          "max-scale-down-rate = %s, must be greater than 1.0", a);
    if (v->pwp < KND_PANIC_WINDOW_PCT_MIN || v->pwp > KND_PANIC_WINDOW_PCT_MAX) {
        knd__platform_fmt_float(v->pwp, a);
        knd__platform_fmt_float(KND_PANIC_WINDOW_PCT_MIN, b);
        knd__platform_err(c, "panic-window-percentage",
                          "panic-window-percentage = %s, must be in [%s, 100] interval", a, b);
    }
}

static void knd_platform_validate_scales(knd_cmparse_t *c, const knd_autoscaler_vals_t *v)
{
    if (v->initial < 0 || (v->initial == 0 && !v->allow_zero))
        knd__platform_err(c, "initial-scale",
                          "initial-scale = %lld, must be at least 0 (or at least 1 when "
                          "allow-zero-initial-scale is false)",
                          (long long)v->initial);
    if (v->min < 0)
        knd__platform_err(c, "min-scale", "min-scale = %lld, must be at least 0",
                          (long long)v->min);
    /* A default max-scale must be set once max-scale-limit is. */
    int64_t min_max = v->limit > 0 ? 1 : 0;
    if (v->max < min_max || (v->limit > 0 && v->max > v->limit))
        knd__platform_err(c, "max-scale", "max-scale = %lld, must be in [%lld, max-scale-limit(%lld)] range",
                          (long long)v->max, (long long)min_max, (long long)v->limit);
    if (v->limit < 0)
        knd__platform_err(c, "max-scale-limit", "max-scale-limit = %lld, must be at least 0",
                          (long long)v->limit);
    if (v->min > v->max && v->max > 0)
        knd__platform_err(c, "min-scale", "min-scale (%lld) must be less than max-scale (%lld)",
                          (long long)v->min, (long long)v->max);
}

static void knd_platform_parse_autoscaler(knd_platform_t *p, knd_cmparse_t *c,
                                          knd_autoscaler_vals_t *v)
{
    knd__platform_string(c, "pod-autoscaler-class", p->pod_autoscaler_class,
                         sizeof(p->pod_autoscaler_class));
    knd__platform_bool(c, "enable-scale-to-zero", &p->enable_scale_to_zero);
    knd__platform_bool(c, "allow-zero-initial-scale", &v->allow_zero);
    knd__platform_float(c, "max-scale-up-rate", &v->up);
    knd__platform_float(c, "max-scale-down-rate", &v->down);
    knd__platform_float(c, "container-concurrency-target-percentage", &v->frac);
    knd__platform_float(c, "container-concurrency-target-default", &v->cc_default);
    knd__platform_float(c, "requests-per-second-target-default", &v->rps);
    knd__platform_float(c, "target-burst-capacity", &v->tbc);
    knd__platform_float(c, "panic-window-percentage", &v->pwp);
    knd__platform_float(c, "activator-capacity", &v->activator);
    knd__platform_float(c, "panic-threshold-percentage", &p->panic_threshold_percentage);
    knd__platform_int(c, "initial-scale", 32, &v->initial);
    knd__platform_int(c, "min-scale", 32, &v->min);
    knd__platform_int(c, "max-scale", 32, &v->max);
    knd__platform_int(c, "max-scale-limit", 32, &v->limit);
    knd__platform_duration_ms(c, "stable-window", &v->stable_ms);
    knd__platform_duration_ms(c, "scale-down-delay", &v->delay_ms);
    knd__platform_duration_ms(c, "scale-to-zero-grace-period", &v->grace_ms);
    knd__platform_duration_ms(c, "scale-to-zero-pod-retention-period", &v->retention_ms);
}

void knd__platform_apply_autoscaler(knd_platform_t *p, knd_cmparse_t *c)
{
    knd_autoscaler_vals_t v = {
        .frac = 0.7, .cc_default = 100, .rps = 200, .tbc = 211, .pwp = 10, .up = 1000,
        .down = 2, .activator = 100, .stable_ms = 60000, .grace_ms = 30000, .initial = 1,
    };
    knd__platform_autoscaler_reset(p);
    c->prefix = "failed to parse data: ";
    knd_platform_parse_autoscaler(p, c, &v);
    c->prefix = "";
    if (c->nerr > 0)
        return;
    /* Legacy: values in (0, 1] are fractions; larger ones are percentages. */
    if (v.frac > 1.0)
        v.frac /= 100.0;
    knd_platform_validate_windows(c, &v);
    knd_platform_validate_rates(c, &v);
    knd_platform_validate_scales(c, &v);

    p->container_concurrency_target_percentage = v.frac * 100.0;
    p->container_concurrency_target_default = v.cc_default;
    p->requests_per_second_target_default = v.rps;
    p->target_burst_capacity = v.tbc;
    p->stable_window_s = (double)v.stable_ms / 1000.0;
    p->panic_window_percentage = v.pwp;
    p->max_scale_up_rate = v.up;
    p->max_scale_down_rate = v.down;
    p->scale_to_zero_grace_period_s = (double)v.grace_ms / 1000.0;
    p->scale_to_zero_pod_retention_period_s = (double)v.retention_ms / 1000.0;
    p->scale_down_delay_s = (double)v.delay_ms / 1000.0;
    p->activator_capacity = v.activator;
    p->initial_scale = (int32_t)v.initial;
    p->allow_zero_initial_scale = v.allow_zero;
    p->min_scale = (int32_t)v.min;
    p->max_scale = (int32_t)v.max;
    p->max_scale_limit = (int32_t)v.limit;
}
