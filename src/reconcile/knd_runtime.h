/*
 * knd_runtime.h - what runs: per revision, its data-plane object (knd_rev_t) and its instances,
 * kept at a desired count through the supervisor, with crash backoff.
 *
 * The reconciler tells the runtime what should run (knd_runtime_ensure + plan + desired count,
 * then knd_runtime_sweep to stop what is no longer wanted) and reads back what happened (ready
 * counts, failures). The runtime calls `changed` whenever something a status depends on changed,
 * so the reconciler can run again. Ownership: the runtime owns every knd_rev_rt_t; callers
 * borrow them for the duration of a reconcile pass.
 */
#ifndef KND_RUNTIME_H
#define KND_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "knd_activator.h"
#include "knd_autoscale.h"
#include "knd_supervisor.h"

typedef struct knd_runtime_s knd_runtime_t;
typedef struct knd_rev_rt_s knd_rev_rt_t;

/** One probe of a plan (Kubernetes' Probe in ms). Strings and arrays owned. */
typedef struct {
    knd_probe_kind_t kind;
    char *http_path;
    char **http_headers; /* NULL-terminated "Name: value" */
    char **exec_argv;    /* NULL-terminated */
    int initial_delay_ms, period_ms, timeout_ms, success_threshold, failure_threshold;
} knd_plan_probe_t;

/** An init container: runs to completion before each instance's main container. */
typedef struct {
    char *name;
    char **argv, **env; /* NULL-terminated, owned */
    char *cwd;
} knd_plan_init_t;

/** How to start an instance of a revision. All strings owned by the plan. */
typedef struct {
    char **argv, **env; /* NULL-terminated */
    char *cwd;
    knd_plan_init_t *init; /* owned array, in order */
    size_t ninit;
    knd_plan_probe_t readiness, liveness, startup;
    int grace_ms;
} knd_rev_plan_t;

void knd_rev_plan_free(knd_rev_plan_t *plan);

knd_runtime_t *knd_runtime_new(uv_loop_t *loop, knd_supervisor_t *sv,
                               void (*changed)(void *data), void *data);
/** Stops every instance; done(data) once all have exited. The runtime is then freed. */
void knd_runtime_shutdown(knd_runtime_t *rt, void (*done)(void *data), void *data);

/**
 * Returns the runtime entry of a revision, creating it (with its knd_rev_t) if needed, and marks
 * it wanted for this pass.
 */
knd_rev_rt_t *knd_runtime_ensure(knd_runtime_t *rt, const char *ns, const char *name,
                                 const char *service, const char *configuration,
                                 const knd_rev_limits_t *limits);
/** Entries not ensured since the last sweep stop their instances and go away. */
void knd_runtime_sweep(knd_runtime_t *rt);
/** The entry, or NULL. */
knd_rev_rt_t *knd_runtime_find(knd_runtime_t *rt, const char *ns, const char *name);

/** Sets how instances start (takes ownership of *plan's contents); NULL plan = cannot start. */
void knd_rev_rt_set_plan(knd_rev_rt_t *r, knd_rev_plan_t *plan, const char *fail_reason,
                         const char *fail_message);
/** The number of instances that should run (until the autoscaler decides otherwise). */
void knd_rev_rt_set_desired(knd_rev_rt_t *r, int desired);
/**
 * Hands the revision to the autoscaler (SPEC §a): from now on its instance count follows the
 * KPA (or HPA) decisions, taken every 2 s from the load measured at the activator, and at once
 * when a request finds it at zero. Called every reconcile pass; reachable: routed. params NULL
 * takes the revision back from the autoscaler.
 */
void knd_rev_rt_set_scaling(knd_rev_rt_t *r, const knd_kpa_params_t *params, bool reachable);
/** The autoscaler's last view of a revision (for /metrics). */
typedef struct {
    bool scaling, panic;
    int desired, excess_burst_capacity;
    double observed_stable, observed_panic, target;
    knd_metric_t metric;
} knd_rev_scale_view_t;
void knd_rev_rt_scale_view(const knd_rev_rt_t *r, knd_rev_scale_view_t *out);

/** True while the autoscaler owns the revision's instance count. */
bool knd_rev_rt_scaling(const knd_rev_rt_t *r);
/** The Active condition's reason from the PA ("" when active, "NoTraffic", "Queued", ...). */
const char *knd_rev_rt_activity_reason(const knd_rev_rt_t *r);
/**
 * Knative's progress deadline: a revision that has run instances for deadline_ms without any
 * becoming ready fails with ProgressDeadlineExceeded ("Initial scale was never achieved") and
 * stops trying. Checked now and then on every runtime tick (1 s) with the last deadline given.
 */
void knd_rev_rt_check_deadline(knd_rev_rt_t *r, uint64_t deadline_ms);
/** Changes since start-up that a reconcile pass reads (instances ready or gone, scale decisions,
 * failures, cold-start demand): equal numbers mean nothing a pass reads has changed. */
uint64_t knd_runtime_generation(const knd_runtime_t *rt);

knd_rev_t *knd_rev_rt_rev(const knd_rev_rt_t *r);
int knd_rev_rt_desired(const knd_rev_rt_t *r);
int knd_rev_rt_ready(const knd_rev_rt_t *r);
bool knd_rev_rt_ever_ready(const knd_rev_rt_t *r);
/** True while the revision's autoscaler is in panic mode. */
bool knd_rev_rt_panic(const knd_rev_rt_t *r);
/** The last failure: reason ("ExitCode1", "ContainerMissing") and message, or NULL. */
const char *knd_rev_rt_fail_reason(const knd_rev_rt_t *r);
const char *knd_rev_rt_fail_message(const knd_rev_rt_t *r);

/** Instance log files of all revisions of `service` in ns: calls fn(rev, id, path, data). */
void knd_runtime_each_instance(knd_runtime_t *rt, const char *ns, const char *service,
                               void (*fn)(const char *rev, const char *id, const char *path,
                                          void *data),
                               void *data);

/** Calls fn for each running process of r: its instance, and its endpoint (NULL while an init
 * container runs or after it left the LB set). */
void knd_rev_rt_each_instance(const knd_rev_rt_t *r,
                              void (*fn)(const knd_instance_t *inst, const knd_endpoint_t *ep,
                                         void *data),
                              void *data);

/** Calls fn for every live revision runtime (for metrics). */
void knd_runtime_each_rev(knd_runtime_t *rt, void (*fn)(const knd_rev_rt_t *r, void *data),
                          void *data);

#endif
