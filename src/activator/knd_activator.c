/*
 * knd_activator.c - per-revision endpoints, request queue and load balancing (see
 * knd_activator.h). Balancing follows Knative's activator by containerConcurrency (SPEC §c.3):
 * CC = 0: power of two random choices on in-flight count; CC 1..3: first endpoint with a free
 * slot; CC > 3: round robin skipping full endpoints.
 */
#include "knd_activator.h"

#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_log.h"

#define KND_POOL_MAX 1024 /* idle keep-alive connections kept per endpoint */

/* Knative's buckets for revision_request_latencies (SPEC §h.2). */
const double knd_latency_bounds_ms[KND_LATENCY_BUCKETS] = {
    5,   10,  20,  40,  60,  80,   100,  150,  200,   250,   300,   350,   400,
    450, 500, 600, 700, 800, 900, 1000, 2000, 5000, 10000, 20000, 50000, 100000};

/* Integrates the load up to now; call before inflight or queued change. */
static void knd_rev_account(knd_rev_t *rev)
{
    uint64_t now = uv_hrtime();
    if (rev->conc_last_ns)
        rev->conc_integral += (double)(rev->inflight + rev->queued) * (double)(now - rev->conc_last_ns);
    else
        rev->conc_since_ns = now;
    rev->conc_last_ns = now;
}

double knd_rev_take_concurrency(knd_rev_t *rev, uint64_t now_ns, uint64_t *arrivals)
{
    if (rev->conc_last_ns)
        rev->conc_integral += (double)(rev->inflight + rev->queued) * (double)(now_ns - rev->conc_last_ns);
    double span = rev->conc_since_ns ? (double)(now_ns - rev->conc_since_ns) : 0;
    double avg = span > 0 ? rev->conc_integral / span : (double)(rev->inflight + rev->queued);
    rev->conc_integral = 0;
    rev->conc_since_ns = rev->conc_last_ns = now_ns;
    if (arrivals)
        *arrivals = rev->arrivals;
    rev->arrivals = 0;
    return avg;
}

void knd_rev_observe(knd_rev_t *rev, int status, double ms)
{
    int cls = status >= 100 && status < 600 ? status / 100 : 0;
    rev->responses[cls]++;
    for (size_t i = 0; status > 0 && i < KND_STATUS_CODES; i++) {
        if (rev->codes[i].code == status || rev->codes[i].code == 0) {
            rev->codes[i].code = status; /* beyond 16 distinct codes only the class counts */
            rev->codes[i].n++;
            break;
        }
    }
    size_t b = 0;
    while (b < KND_LATENCY_BUCKETS && ms > knd_latency_bounds_ms[b])
        b++;
    rev->latency_counts[b]++;
    rev->latency_sum_ms += ms;
}

/* ------------------------------------------------------------------ revisions */

knd_rev_t *knd_rev_new(uv_loop_t *loop, const char *ns, const char *name, const char *service,
                       const char *configuration, const knd_rev_limits_t *limits)
{
    knd_rev_t *rev = knd_xcalloc(1, sizeof(*rev));
    rev->loop = loop;
    rev->ns = knd_xstrdup(ns);
    rev->name = knd_xstrdup(name);
    rev->service = knd_xstrdup(service ? service : "");
    rev->configuration = knd_xstrdup(configuration ? configuration : "");
    rev->limits = *limits;
    if (rev->limits.queue_limit == 0)
        rev->limits.queue_limit = KND_REV_QUEUE_LIMIT;
    rev->refs = 1;
    return rev;
}

knd_rev_t *knd_rev_retain(knd_rev_t *rev)
{
    KND_ASSERT(rev->refs > 0);
    rev->refs++;
    return rev;
}

void knd_rev_release(knd_rev_t *rev)
{
    if (rev == NULL)
        return;
    KND_ASSERT(rev->refs > 0);
    if (--rev->refs > 0)
        return;
    KND_ASSERT(rev->qhead == NULL); /* waiters hold references */
    for (size_t i = 0; i < rev->neps; i++) {
        rev->eps[i]->removed = true;
        knd_endpoint_release(rev->eps[i]);
    }
    free(rev->eps);
    free(rev->ns);
    free(rev->name);
    free(rev->service);
    free(rev->configuration);
    free(rev);
}

size_t knd_rev_ready_count(const knd_rev_t *rev)
{
    size_t n = 0;
    for (size_t i = 0; i < rev->neps; i++)
        n += rev->eps[i]->ready && !rev->eps[i]->removed;
    return n;
}

/* ------------------------------------------------------------------ endpoints */

static void knd_endpoint_close_pool(knd_endpoint_t *ep)
{
    for (size_t i = 0; i < ep->nidle; i++)
        knd_http_client_close(ep->idle[i]);
    ep->nidle = 0;
}

knd_endpoint_t *knd_endpoint_retain(knd_endpoint_t *ep)
{
    KND_ASSERT(ep->refs > 0);
    ep->refs++;
    return ep;
}

void knd_endpoint_release(knd_endpoint_t *ep)
{
    KND_ASSERT(ep->refs > 0);
    if (--ep->refs > 0)
        return;
    knd_endpoint_close_pool(ep);
    free(ep->idle);
    free(ep);
}

knd_endpoint_t *knd_rev_endpoint_add(knd_rev_t *rev, const char *id, int port)
{
    knd_endpoint_t *ep = knd_xcalloc(1, sizeof(*ep));
    ep->rev = rev;
    ep->port = port;
    ep->refs = 1;
    snprintf(ep->id, sizeof(ep->id), "%s", id);
    if (rev->neps == rev->eps_cap) {
        rev->eps_cap = rev->eps_cap ? rev->eps_cap * 2 : 4;
        rev->eps = knd_xrealloc(rev->eps, rev->eps_cap * sizeof(*rev->eps));
    }
    rev->eps[rev->neps++] = ep;
    return ep;
}

static bool knd_endpoint_has_slot(const knd_endpoint_t *ep)
{
    if (!ep->ready || ep->removed)
        return false;
    int cc = ep->rev->limits.container_concurrency;
    return cc <= 0 || ep->inflight < cc;
}

/* Picks an endpoint with a free slot by Knative's policy for the revision's CC, or NULL. */
static knd_endpoint_t *knd_rev_pick(knd_rev_t *rev)
{
    size_t n = rev->neps;
    if (n == 0)
        return NULL;
    int cc = rev->limits.container_concurrency;
    if (cc == 0) {
        /* Power of two choices: two random candidates, the less loaded wins. */
        knd_endpoint_t *best = NULL;
        size_t start = (size_t)random() % n;
        for (size_t k = 0, seen = 0; k < n && seen < 2; k++) {
            knd_endpoint_t *ep = rev->eps[(start + k * 7919) % n];
            if (!knd_endpoint_has_slot(ep))
                continue;
            seen++;
            if (best == NULL || ep->inflight < best->inflight)
                best = ep;
        }
        if (best)
            return best;
        for (size_t i = 0; i < n; i++)
            if (knd_endpoint_has_slot(rev->eps[i]))
                return rev->eps[i];
        return NULL;
    }
    if (cc <= 3) {
        for (size_t i = 0; i < n; i++)
            if (knd_endpoint_has_slot(rev->eps[i]))
                return rev->eps[i];
        return NULL;
    }
    for (size_t k = 0; k < n; k++) {
        knd_endpoint_t *ep = rev->eps[(rev->rr + k) % n];
        if (knd_endpoint_has_slot(ep)) {
            rev->rr = (rev->rr + k + 1) % n;
            return ep;
        }
    }
    return NULL;
}

static knd_endpoint_t *knd_endpoint_grant(knd_endpoint_t *ep)
{
    knd_rev_account(ep->rev);
    ep->inflight++;
    ep->refs++;
    ep->rev->inflight++;
    ep->rev->requests_total++;
    return ep;
}

static void knd_activator_unqueue(knd_activator_wait_t *w)
{
    knd_rev_t *rev = w->rev;
    knd_rev_account(rev);
    if (w->prev)
        w->prev->next = w->next;
    else
        rev->qhead = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        rev->qtail = w->prev;
    w->prev = w->next = NULL;
    rev->queued--;
}

static void knd_activator_wait_closed(uv_handle_t *h)
{
    knd_activator_wait_t *w = h->data;
    knd_rev_release(w->rev);
    free(w);
}

/* Takes w out of the queue; its memory goes once the timer has closed. */
static void knd_activator_finish(knd_activator_wait_t *w)
{
    knd_activator_unqueue(w);
    w->cb = NULL;
    uv_close((uv_handle_t *)&w->timer, knd_activator_wait_closed);
}

/* Hands free slots to waiting requests in arrival order. */
static void knd_rev_dispatch(knd_rev_t *rev)
{
    knd_rev_retain(rev);
    while (rev->qhead) {
        knd_endpoint_t *ep = knd_rev_pick(rev);
        if (ep == NULL)
            break;
        knd_activator_wait_t *w = rev->qhead;
        knd_activator_cb cb = w->cb;
        void *data = w->data;
        knd_activator_finish(w);
        cb(data, knd_endpoint_grant(ep), 0);
    }
    knd_rev_release(rev);
}

void knd_endpoint_set_ready(knd_endpoint_t *ep, bool ready)
{
    if (ep->removed || ep->ready == ready)
        return;
    ep->ready = ready;
    if (ready)
        knd_rev_dispatch(ep->rev);
}

void knd_endpoint_remove(knd_endpoint_t *ep)
{
    knd_rev_t *rev = ep->rev;
    if (ep->removed)
        return;
    ep->removed = true;
    ep->ready = false;
    knd_endpoint_close_pool(ep);
    for (size_t i = 0; i < rev->neps; i++) {
        if (rev->eps[i] == ep) {
            rev->eps[i] = rev->eps[--rev->neps];
            break;
        }
    }
    knd_endpoint_release(ep);
}

void knd_endpoint_done(knd_endpoint_t *ep)
{
    KND_ASSERT(ep->inflight > 0);
    knd_rev_account(ep->rev);
    ep->inflight--;
    ep->rev->inflight--;
    if (ep->removed && ep->inflight == 0 && ep->on_drained) {
        void (*drained)(knd_endpoint_t *, void *) = ep->on_drained;
        ep->on_drained = NULL;
        drained(ep, ep->drained_data);
    }
    knd_rev_t *rev = ep->removed ? NULL : knd_rev_retain(ep->rev);
    knd_endpoint_release(ep);
    if (rev) {
        if (rev->qhead)
            knd_rev_dispatch(rev);
        knd_rev_release(rev);
    }
}

/* ------------------------------------------------------------------ queueing */

static void knd_activator_timeout(uv_timer_t *t)
{
    knd_activator_wait_t *w = t->data;
    knd_activator_cb cb = w->cb;
    void *data = w->data;
    knd_activator_finish(w);
    cb(data, NULL, UV_ETIMEDOUT);
}

int knd_activator_acquire(knd_rev_t *rev, knd_activator_cb cb, void *data, knd_endpoint_t **ep,
                          knd_activator_wait_t **wp)
{
    *ep = NULL;
    *wp = NULL;
    rev->arrivals++;
    /* Arrival order: nobody may overtake requests already waiting. */
    knd_endpoint_t *got = rev->qhead ? NULL : knd_rev_pick(rev);
    if (got) {
        *ep = knd_endpoint_grant(got);
        return 0;
    }
    size_t ready = knd_rev_ready_count(rev);
    int cc = rev->limits.container_concurrency;
    size_t limit = !rev->serve_mode || ready == 0 || cc <= 0
                       ? rev->limits.queue_limit
                       : (size_t)KND_BREAKER_FACTOR * (size_t)cc * ready;
    if (rev->queued + rev->inflight >= limit || rev->queued >= rev->limits.queue_limit) {
        rev->rejected_total++;
        return UV_EBUSY;
    }
    knd_rev_account(rev);
    knd_activator_wait_t *w = knd_xcalloc(1, sizeof(*w));
    w->cb = cb;
    w->data = data;
    w->rev = knd_rev_retain(rev);
    w->prev = rev->qtail;
    if (rev->qtail)
        rev->qtail->next = w;
    else
        rev->qhead = w;
    rev->qtail = w;
    rev->queued++;
    uv_timer_init(rev->loop, &w->timer);
    w->timer.data = w;
    uv_timer_start(&w->timer, knd_activator_timeout,
                   rev->limits.timeout_ms ? rev->limits.timeout_ms : 300000, 0);
    *wp = w;
    if (ready == 0 && rev->on_demand)
        rev->on_demand(rev, rev->demand_data);
    return 1;
}

void knd_rev_fail_waiters(knd_rev_t *rev)
{
    knd_rev_retain(rev);
    while (rev->qhead) {
        knd_activator_wait_t *w = rev->qhead;
        knd_activator_cb cb = w->cb;
        void *data = w->data;
        knd_activator_finish(w);
        cb(data, NULL, UV_ECANCELED);
    }
    knd_rev_release(rev);
}

void knd_activator_cancel(knd_activator_wait_t *w)
{
    if (w && w->cb)
        knd_activator_finish(w);
}

/* ------------------------------------------------------------------ connection pool */

knd_http_client_t *knd_endpoint_take_conn(knd_endpoint_t *ep)
{
    if (ep->nidle == 0)
        return NULL;
    return ep->idle[--ep->nidle];
}

void knd_endpoint_put_conn(knd_endpoint_t *ep, knd_http_client_t *c)
{
    if (ep->removed || ep->nidle >= KND_POOL_MAX) {
        knd_http_client_close(c);
        return;
    }
    if (ep->nidle == ep->idle_cap) {
        ep->idle_cap = ep->idle_cap ? ep->idle_cap * 2 : 8;
        ep->idle = knd_xrealloc(ep->idle, ep->idle_cap * sizeof(*ep->idle));
    }
    ep->idle[ep->nidle++] = c;
}

void knd_endpoint_drop_conn(knd_endpoint_t *ep, knd_http_client_t *c)
{
    for (size_t i = 0; i < ep->nidle; i++) {
        if (ep->idle[i] == c) {
            ep->idle[i] = ep->idle[--ep->nidle];
            break;
        }
    }
    knd_http_client_close(c);
}
