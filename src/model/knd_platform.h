/*
 * knd_platform.h - the platform configuration: Knative's ConfigMaps in namespace knative-serving
 * (config-defaults, config-autoscaler, config-features, config-network, config-domain, config-gc,
 * config-observability, config-tracing), parsed into typed fields with Knative's defaults.
 *
 * Pure code: no I/O. The daemon keeps one knd_platform_t built from the stored ConfigMaps; a
 * ConfigMap that fails to parse is rejected at apply time with field errors and the previous
 * configuration stays (nginx: keep the old generation if reload fails).
 */
#ifndef KND_PLATFORM_H
#define KND_PLATFORM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "knd_err.h"
#include "knd_types.h"

#define KND_SYSTEM_NAMESPACE "knative-serving"

typedef enum {
    KND_FEATURE_DISABLED = 0,
    KND_FEATURE_ENABLED,
    KND_FEATURE_ALLOWED, /* Knative's "Allowed": usable when requested (e.g. per annotation) */
} knd_feature_state_t;

#define KND_FEATURES_MAX 64

struct knd_platform_s {
    /* config-defaults */
    int64_t revision_timeout_seconds;                 /* 300 */
    int64_t max_revision_timeout_seconds;             /* 600 */
    int64_t revision_response_start_timeout_seconds;  /* follows revision-timeout-seconds */
    int64_t revision_idle_timeout_seconds;            /* 0 = unset */
    int64_t container_concurrency;                    /* 0 */
    int64_t container_concurrency_max_limit;          /* 1000 */
    bool allow_container_concurrency_zero;            /* true */
    char container_name_template[64];                 /* "user-container" */
    char enable_service_links[16];                    /* "false" */

    /* config-autoscaler (seconds as doubles; percentages as given) */
    double container_concurrency_target_percentage;   /* 70 */
    double container_concurrency_target_default;      /* 100 */
    double requests_per_second_target_default;        /* 200 */
    double target_burst_capacity;                     /* 211 */
    double stable_window_s;                           /* 60 */
    double panic_window_percentage;                   /* 10 */
    double panic_threshold_percentage;                /* 200 */
    double max_scale_up_rate;                         /* 1000 */
    double max_scale_down_rate;                       /* 2 */
    bool enable_scale_to_zero;                        /* true */
    double scale_to_zero_grace_period_s;              /* 30 */
    double scale_to_zero_pod_retention_period_s;      /* 0 */
    double scale_down_delay_s;                        /* 0 */
    double activator_capacity;                        /* 100 */
    int32_t initial_scale;                            /* 1 */
    bool allow_zero_initial_scale;                    /* false */
    int32_t min_scale;                                /* 0 */
    int32_t max_scale;                                /* 0 = unbounded */
    int32_t max_scale_limit;                          /* 0 = none */
    char pod_autoscaler_class[64];                    /* "kpa.autoscaling.knative.dev" */

    /* config-features: name -> state, e.g. "multi-container", "kubernetes.podspec-affinity" */
    struct {
        char name[64];
        knd_feature_state_t state;
    } features[KND_FEATURES_MAX];
    int nfeatures;

    /* config-network */
    char domain_template[256];        /* "{{.Name}}.{{.Namespace}}.{{.Domain}}" */
    char tag_template[128];           /* "{{.Tag}}-{{.Name}}" */
    char default_external_scheme[16]; /* "http" */
    int64_t rollout_duration_s;       /* 0 */

    /* config-domain: object domain -> selector object ({} = catch-all); NULL means the default
     * single catch-all domain (the daemon's --domain). Owned. */
    json_t *domains;
    char default_domain[256];         /* --domain, e.g. "127.0.0.1.sslip.io" */

    /* config-gc */
    int64_t gc_retain_since_create_time_s;      /* 48h; -1 = disabled */
    int64_t gc_retain_since_last_active_time_s; /* 15h; -1 = disabled */
    int64_t gc_min_non_active_revisions;        /* 20 */
    int64_t gc_max_non_active_revisions;        /* 1000; -1 = disabled */
};

/** Fills p with Knative's defaults; default_domain is the catch-all domain (may be NULL). */
void knd_platform_init(knd_platform_t *p, const char *default_domain);
void knd_platform_free(knd_platform_t *p);
/** Deep copy (dst is initialised by this call). */
void knd_platform_copy(knd_platform_t *dst, const knd_platform_t *src);

/**
 * Applies one ConfigMap object (full object with metadata.name) on top of p. Returns 0, or -1
 * with errors in errs (paths like `data.stable-window`) and p unchanged. ConfigMaps not named
 * config-* of knd's list are ignored (return 0). Unknown keys inside a known ConfigMap are
 * ignored, as Knative does (it ignores "_example" and unknown keys).
 */
int knd_platform_apply_configmap(knd_platform_t *p, const json_t *configmap, knd_errlist_t *errs);

/** True if `name` is one of the platform ConfigMaps knd reads (config-autoscaler, ...). */
bool knd_platform_is_config_name(const char *name);

/** The state of a config-features flag; unknown names are DISABLED. */
knd_feature_state_t knd_platform_feature(const knd_platform_t *p, const char *name);

#endif
