/*
 * knd_activator.h - the request path's view of a revision: its endpoints (ready instances), the
 * queue of requests waiting for capacity, load balancing by containerConcurrency, and pooled
 * keep-alive connections per endpoint. Never touches the store (DESIGN §2).
 *
 * Ownership: knd_rev_t and knd_endpoint_t are refcounted. The reconciler holds one reference to
 * each revision it runs and adds/removes endpoints as instances become ready or stop; route
 * tables hold references to the revisions they route to; an in-flight request holds a reference to
 * the endpoint it was given, until knd_endpoint_done().
 */
#ifndef KND_ACTIVATOR_H
#define KND_ACTIVATOR_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "knd_http_client.h"

typedef struct knd_rev_s knd_rev_t;
typedef struct knd_endpoint_s knd_endpoint_t;
typedef struct knd_activator_wait_s knd_activator_wait_t;

/** Called with the endpoint granted to a waiting request, or NULL and UV_ETIMEDOUT. */
typedef void (*knd_activator_cb)(void *data, knd_endpoint_t *ep, int status);

/* A queued request. Allocated and freed by the activator (its timer closes asynchronously, so it
 * may outlive the request that asked). */
struct knd_activator_wait_s {
    knd_activator_wait_t *prev, *next; /* in the revision's queue */
    knd_rev_t *rev;                    /* reference held while the waiter exists */
    uv_timer_t timer;
    knd_activator_cb cb;               /* NULL once fired or cancelled */
    void *data;
};

struct knd_endpoint_s {
    knd_rev_t *rev;          /* borrowed: valid while the endpoint is in the revision's list or
                                holds in-flight requests (the revision is kept by their table) */
    char id[64];
    int port;
    int refs;
    int inflight;            /* requests currently sent to this endpoint */
    bool ready, removed;
    knd_http_client_t **idle; /* pooled keep-alive connections */
    size_t nidle, idle_cap;
    /* Called once a removed endpoint has no request left (graceful drain). */
    void (*on_drained)(knd_endpoint_t *ep, void *data);
    void *drained_data;
};

/** Per-revision request limits, from the Revision spec (immutable for its lifetime). */
typedef struct {
    int container_concurrency;  /* 0 = unlimited */
    uint64_t timeout_ms;        /* timeoutSeconds: total request time, queue wait included */
    uint64_t response_start_ms; /* responseStartTimeoutSeconds; 0 = off */
    uint64_t idle_ms;           /* idleTimeoutSeconds; 0 = off */
    size_t queue_limit;         /* requests waiting at once while no instance is ready */
} knd_rev_limits_t;

#define KND_REV_QUEUE_LIMIT 10000 /* Knative's activator queue depth */
#define KND_LATENCY_BUCKETS 26     /* Knative's request latency buckets (ms), plus +Inf */
#define KND_STATUS_CODES 16        /* distinct response codes counted per revision */

/** Upper bounds (ms) of the request latency histogram buckets. */
extern const double knd_latency_bounds_ms[KND_LATENCY_BUCKETS];
#define KND_BREAKER_FACTOR 11      /* queue-proxy admits 10 x CC waiting + CC executing */

struct knd_rev_s {
    uv_loop_t *loop;
    char *ns, *name, *service, *configuration; /* owned */
    int refs;
    knd_rev_limits_t limits;
    /* Knative's SKS mode: true while the activator would be out of the request path (the
     * autoscaler's excess burst capacity is >= 0). Then the per-instance breaker of the
     * queue-proxy applies (11 x CC); otherwise requests queue as in Knative's activator. */
    bool serve_mode;
    knd_endpoint_t **eps;       /* owned references */
    size_t neps, eps_cap;
    size_t rr;                  /* round-robin cursor */
    knd_activator_wait_t *qhead, *qtail;
    size_t queued;
    size_t inflight;            /* requests holding an endpoint slot */
    /* Asked when a request finds no ready endpoint (scale-from-zero poke). */
    void (*on_demand)(knd_rev_t *rev, void *data);
    void *demand_data;
    uint64_t requests_total;
    uint64_t rejected_total;    /* 503 pending request queue full */
    /* Finished requests: by status class (index status/100; 0 = no response), latency. */
    uint64_t responses[6];
    struct {
        int code;
        uint64_t n;
    } codes[KND_STATUS_CODES];      /* by exact code, for revision_request_count's label */
    uint64_t latency_counts[KND_LATENCY_BUCKETS + 1];
    double latency_sum_ms;
    /* Load as the autoscaler sees it (SPEC §b.1): requests in flight at instances plus those
     * waiting here, integrated over time (in request-nanoseconds) since conc_since_ns. */
    double conc_integral;
    uint64_t conc_since_ns, conc_last_ns;
    uint64_t arrivals;          /* requests that reached the revision (for rps) */
    uint64_t cold_starts_total; /* requests that waited for a first ready instance */
    uint64_t queue_wait_ms_total;
};

/** Records a finished request: its status (0 = none sent) and duration. */
void knd_rev_observe(knd_rev_t *rev, int status, double ms);
/**
 * The time-weighted average concurrency (in flight + queued) since the last call, and the
 * arrivals since the last call; resets both. now_ns from uv_hrtime().
 */
double knd_rev_take_concurrency(knd_rev_t *rev, uint64_t now_ns, uint64_t *arrivals);

/** A new revision runtime with one reference. */
knd_rev_t *knd_rev_new(uv_loop_t *loop, const char *ns, const char *name, const char *service,
                       const char *configuration, const knd_rev_limits_t *limits);
knd_rev_t *knd_rev_retain(knd_rev_t *rev);
void knd_rev_release(knd_rev_t *rev);
/** Number of ready, not removed endpoints. */
size_t knd_rev_ready_count(const knd_rev_t *rev);

/** Adds an endpoint (not ready yet); returns a borrowed pointer owned by the revision. */
knd_endpoint_t *knd_rev_endpoint_add(knd_rev_t *rev, const char *id, int port);
/** Marks ready / not ready; becoming ready hands capacity to waiting requests. */
void knd_endpoint_set_ready(knd_endpoint_t *ep, bool ready);
/** Removes from the revision (no new requests); in-flight ones finish. Closes pooled conns. */
void knd_endpoint_remove(knd_endpoint_t *ep);
knd_endpoint_t *knd_endpoint_retain(knd_endpoint_t *ep);
void knd_endpoint_release(knd_endpoint_t *ep);

/**
 * Asks for an endpoint with capacity. Returns 0 with *ep granted at once (inflight counted, a
 * reference held); or 1 with the request queued: *w is its handle, and cb(data, ep, 0) fires
 * when capacity appears, or cb(data, NULL, UV_ETIMEDOUT) after the revision's timeout; or
 * UV_EBUSY when full: in serve mode (see serve_mode) with containerConcurrency CC and R ready
 * instances at most 11 x CC x R requests are admitted (executing + waiting), as Knative's
 * queue-proxy breaker; otherwise (the activator in the path, or a cold start) at most
 * limits.queue_limit wait, as Knative's activator. After cb fires, *w is gone: forget it.
 */
int knd_activator_acquire(knd_rev_t *rev, knd_activator_cb cb, void *data, knd_endpoint_t **ep,
                          knd_activator_wait_t **w);
/** Fails every queued request with cb(data, NULL, UV_ECANCELED) (the revision is going away). */
void knd_rev_fail_waiters(knd_rev_t *rev);
/** Withdraws a queued request (the client went away); cb will not fire. */
void knd_activator_cancel(knd_activator_wait_t *w);
/** The request on ep finished: frees its slot and releases the reference. */
void knd_endpoint_done(knd_endpoint_t *ep);

/** A pooled connection to ep, or NULL. */
knd_http_client_t *knd_endpoint_take_conn(knd_endpoint_t *ep);
/** Returns a reusable connection to the pool (closed if ep is removed or the pool is full). */
void knd_endpoint_put_conn(knd_endpoint_t *ep, knd_http_client_t *c);
/** Drops a pooled connection that broke while idle. */
void knd_endpoint_drop_conn(knd_endpoint_t *ep, knd_http_client_t *c);

#endif
