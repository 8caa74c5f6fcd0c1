/*
 * knd_reconcile.h - the controller: turns the stored desired state into running instances, route
 * tables and object statuses, Knative's reconcilers folded into one level-triggered pass.
 *
 * A pass reads every object from the store, creates what Services and Configurations imply
 * (Configuration + Route per Service, a Revision per Configuration generation), garbage-collects
 * objects whose owner is gone, computes statuses with Knative's conditions, tells the runtime what
 * should run, swaps a new route table into the ingress, and writes back the statuses that changed.
 * Passes run after every API mutation (knd_reconciler_kick) and whenever the runtime reports a
 * change; they are idempotent, so a restarted daemon simply runs one.
 */
#ifndef KND_RECONCILE_H
#define KND_RECONCILE_H

#include <uv.h>

#include "knd_ingress.h"
#include "knd_platform.h"
#include "knd_runtime.h"
#include "knd_store.h"
#include "knd_trace.h"

typedef struct knd_reconciler_s knd_reconciler_t;

typedef struct {
    uv_loop_t *loop;
    knd_store_t *store;
    knd_supervisor_t *sv;
    knd_ingress_t *ingress;
    const char *default_domain; /* --domain */
    knd_tracer_t *tracer;       /* configured from config-tracing; may be NULL */
} knd_reconcile_deps_t;

knd_reconciler_t *knd_reconciler_new(const knd_reconcile_deps_t *deps);
/** Schedules a pass on the next loop iteration (coalesced). */
void knd_reconciler_kick(knd_reconciler_t *rc);
/** Runs a pass now (start-up). */
void knd_reconciler_run(knd_reconciler_t *rc);
/** Passes run since start-up, and the seconds they took in all (the daemon's /metrics). */
void knd_reconciler_stats(const knd_reconciler_t *rc, uint64_t *passes, double *seconds);
/** The platform configuration currently in force (from the stored config-* ConfigMaps). */
const knd_platform_t *knd_reconciler_platform(const knd_reconciler_t *rc);
knd_runtime_t *knd_reconciler_runtime(knd_reconciler_t *rc);
/**
 * No more passes from now on (shutdown has begun: the ingress and API are closing and must not
 * be handed new route tables). Instances keep running until knd_reconciler_shutdown.
 */
void knd_reconciler_quiesce(knd_reconciler_t *rc);
/** Stops all instances, then frees the reconciler and calls done(data). */
void knd_reconciler_shutdown(knd_reconciler_t *rc, void (*done)(void *data), void *data);

#endif
