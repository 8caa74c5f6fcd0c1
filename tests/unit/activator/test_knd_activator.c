/*
 * test_knd_activator.c - revisions, endpoints, the request queue and load balancing, without
 * sockets: only the queue's timers run on the loop.
 *
 * Each test owns a uv_loop_t (the fixture) and ends by running it dry and requiring
 * uv_loop_close() == 0: a waiter's timer that never closed, or a reference never released, shows up
 * there or as an ASan leak. Grants are recorded in arrival order in fx->got[].
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "knd_activator.h"

#define MAXW 32

typedef struct fx_s fx_t;

typedef struct {
    fx_t *fx;
    int id;
    int calls;
    knd_endpoint_t *ep;
    int status;
} waiter_t;

struct fx_s {
    uv_loop_t loop;
    knd_rev_t *rev;
    waiter_t w[MAXW];
    int order[MAXW]; /* waiter ids in the order their callbacks fired */
    int norder;
    int demands, drained;
    knd_rev_t *demand_rev;
};

static int test_fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    for (int i = 0; i < MAXW; i++) {
        fx->w[i].fx = fx;
        fx->w[i].id = i;
    }
    *state = fx;
    return 0;
}

static int test_fx_teardown(void **state)
{
    fx_t *fx = *state;
    knd_rev_release(fx->rev);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    free(fx);
    return 0;
}

static knd_rev_t *test_fx_rev(fx_t *fx, int cc, uint64_t timeout_ms)
{
    knd_rev_limits_t lim = {.container_concurrency = cc, .timeout_ms = timeout_ms};
    fx->rev = knd_rev_new(&fx->loop, "default", "hello-00001", "hello", "hello", &lim);
    return fx->rev;
}

static void test_on_grant(void *data, knd_endpoint_t *ep, int status)
{
    waiter_t *w = data;
    w->calls++;
    w->ep = ep;
    w->status = status;
    w->fx->order[w->fx->norder++] = w->id;
}

/* Acquires for waiter i; returns the activator's result. */
static int test_acquire(fx_t *fx, int i, knd_activator_wait_t **wp)
{
    knd_endpoint_t *ep = NULL;
    knd_activator_wait_t *wait = NULL;
    int rc = knd_activator_acquire(fx->rev, test_on_grant, &fx->w[i], &ep, &wait);
    if (rc == 0) {
        assert_non_null(ep);
        assert_null(wait);
        fx->w[i].ep = ep;
    } else if (rc == 1) {
        assert_null(ep);
        assert_non_null(wait);
    } else {
        assert_null(ep);
        assert_null(wait);
    }
    if (wp)
        *wp = wait;
    return rc;
}

static void test_on_demand(knd_rev_t *rev, void *data)
{
    fx_t *fx = data;
    fx->demands++;
    fx->demand_rev = rev;
}

/* ------------------------------------------------------------------ tests */

static void test_rev_endpoints(void **state)
{
    fx_t *fx = *state;
    knd_rev_t *rev = test_fx_rev(fx, 0, 0);
    assert_string_equal(rev->ns, "default");
    assert_string_equal(rev->name, "hello-00001");
    assert_int_equal(rev->refs, 1);
    assert_int_equal(knd_rev_ready_count(rev), 0);
    knd_endpoint_t *a = knd_rev_endpoint_add(rev, "inst-a", 40001);
    knd_endpoint_t *b = knd_rev_endpoint_add(rev, "inst-b", 40002);
    assert_string_equal(a->id, "inst-a");
    assert_int_equal(b->port, 40002);
    assert_ptr_equal(a->rev, rev);
    assert_false(a->ready);
    assert_int_equal(knd_rev_ready_count(rev), 0);
    knd_endpoint_set_ready(a, true);
    assert_int_equal(knd_rev_ready_count(rev), 1);
    knd_endpoint_set_ready(b, true);
    knd_endpoint_set_ready(b, true); /* idempotent */
    assert_int_equal(knd_rev_ready_count(rev), 2);
    knd_endpoint_set_ready(a, false);
    assert_int_equal(knd_rev_ready_count(rev), 1);
    knd_endpoint_remove(b);
    assert_int_equal(knd_rev_ready_count(rev), 0);
    assert_int_equal(rev->neps, 1);
    assert_ptr_equal(knd_rev_retain(rev), rev);
    assert_int_equal(rev->refs, 2);
    knd_rev_release(rev);
    assert_int_equal(rev->refs, 1);
}

static void test_acquire_immediate(void **state)
{
    fx_t *fx = *state;
    knd_rev_t *rev = test_fx_rev(fx, 0, 0);
    rev->on_demand = test_on_demand;
    rev->demand_data = fx;
    knd_endpoint_t *ep = knd_rev_endpoint_add(rev, "a", 1);
    knd_endpoint_set_ready(ep, true);
    assert_int_equal(test_acquire(fx, 0, NULL), 0);
    assert_ptr_equal(fx->w[0].ep, ep);
    assert_int_equal(ep->inflight, 1);
    assert_int_equal(ep->refs, 2);
    assert_int_equal(rev->requests_total, 1);
    assert_int_equal(fx->w[0].calls, 0); /* granted at once: no callback */
    assert_int_equal(fx->demands, 0);
    knd_endpoint_done(ep);
    assert_int_equal(ep->inflight, 0);
    assert_int_equal(ep->refs, 1);
}

/* No ready endpoint: the request queues, on_demand pokes the scaler, readiness grants it. */
static void test_queue_until_ready(void **state)
{
    fx_t *fx = *state;
    knd_rev_t *rev = test_fx_rev(fx, 0, 0);
    rev->on_demand = test_on_demand;
    rev->demand_data = fx;
    knd_endpoint_t *ep = knd_rev_endpoint_add(rev, "a", 1);
    assert_int_equal(test_acquire(fx, 0, NULL), 1);
    assert_int_equal(rev->queued, 1);
    assert_int_equal(rev->refs, 2); /* the waiter holds one */
    assert_int_equal(fx->demands, 1);
    assert_ptr_equal(fx->demand_rev, rev);
    assert_int_equal(fx->w[0].calls, 0);
    uv_run(&fx->loop, UV_RUN_NOWAIT);
    assert_int_equal(fx->w[0].calls, 0);
    knd_endpoint_set_ready(ep, true);
    assert_int_equal(fx->w[0].calls, 1);
    assert_ptr_equal(fx->w[0].ep, ep);
    assert_int_equal(fx->w[0].status, 0);
    assert_int_equal(ep->inflight, 1);
    assert_int_equal(rev->queued, 0);
    knd_endpoint_done(ep);
    uv_run(&fx->loop, UV_RUN_DEFAULT); /* the waiter's timer closes and drops its reference */
    assert_int_equal(rev->refs, 1);
    assert_int_equal(fx->w[0].calls, 1);
}

static void test_arrival_order(void **state)
{
    fx_t *fx = *state;
    knd_rev_t *rev = test_fx_rev(fx, 1, 0);
    knd_endpoint_t *ep = knd_rev_endpoint_add(rev, "a", 1);
    for (int i = 0; i < 5; i++)
        assert_int_equal(test_acquire(fx, i, NULL), 1);
    knd_endpoint_set_ready(ep, true);
    /* CC=1: one at a time, each finished request lets the next in */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(fx->norder, i + 1);
        assert_int_equal(fx->order[i], i);
        assert_int_equal(ep->inflight, 1);
        knd_endpoint_done(ep);
    }
    assert_int_equal(fx->norder, 5);
    assert_int_equal(ep->inflight, 0);
    /* a newcomer may not overtake a waiter even when a slot looks free */
    knd_endpoint_set_ready(ep, false);
    assert_int_equal(test_acquire(fx, 10, NULL), 1);
    assert_int_equal(test_acquire(fx, 11, NULL), 1);
    knd_endpoint_set_ready(ep, true);
    assert_int_equal(fx->order[5], 10);
    assert_int_equal(test_acquire(fx, 12, NULL), 1); /* 11 is still ahead */
    knd_endpoint_done(ep);
    assert_int_equal(fx->order[6], 11);
    knd_endpoint_done(ep);
    assert_int_equal(fx->order[7], 12);
    knd_endpoint_done(ep);
    assert_int_equal(rev->queued, 0);
}

static void test_cc1_second_waits(void **state)
{
    fx_t *fx = *state;
    knd_rev_t *rev = test_fx_rev(fx, 1, 0);
    knd_endpoint_t *ep = knd_rev_endpoint_add(rev, "a", 1);
    knd_endpoint_set_ready(ep, true);
    assert_int_equal(test_acquire(fx, 0, NULL), 0);
    assert_int_equal(test_acquire(fx, 1, NULL), 1);
    uv_run(&fx->loop, UV_RUN_NOWAIT);
    assert_int_equal(fx->w[1].calls, 0);
    knd_endpoint_done(ep); /* request 0 finished */
    assert_int_equal(fx->w[1].calls, 1);
    assert_ptr_equal(fx->w[1].ep, ep);
    assert_int_equal(ep->inflight, 1);
    knd_endpoint_done(ep);

    /* CC=2 over two endpoints: four slots, the fifth waits */
    knd_rev_release(fx->rev);
    rev = test_fx_rev(fx, 2, 0);
    knd_endpoint_t *a = knd_rev_endpoint_add(rev, "a", 1);
    knd_endpoint_t *b = knd_rev_endpoint_add(rev, "b", 2);
    knd_endpoint_set_ready(a, true);
    knd_endpoint_set_ready(b, true);
    for (int i = 2; i < 6; i++)
        assert_int_equal(test_acquire(fx, i, NULL), 0);
    assert_int_equal(a->inflight, 2);
    assert_int_equal(b->inflight, 2);
    assert_int_equal(test_acquire(fx, 6, NULL), 1);
    knd_endpoint_done(b);
    assert_ptr_equal(fx->w[6].ep, b);
    for (int i = 0; i < 2; i++)
        knd_endpoint_done(a);
    for (int i = 0; i < 2; i++)
        knd_endpoint_done(b);
    assert_int_equal(a->inflight + b->inflight, 0);
}

static void test_queue_timeout(void **state)
{
    fx_t *fx = *state;
    knd_rev_t *rev = test_fx_rev(fx, 0, 50);
    knd_rev_endpoint_add(rev, "a", 1); /* never ready */
    uv_update_time(&fx->loop);
    uint64_t t0 = uv_now(&fx->loop);
    assert_int_equal(test_acquire(fx, 0, NULL), 1);
    assert_int_equal(test_acquire(fx, 1, NULL), 1);
    uv_run(&fx->loop, UV_RUN_DEFAULT); /* only the two timers keep it alive */
    assert_true(uv_now(&fx->loop) - t0 >= 50);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(fx->w[i].calls, 1);
        assert_null(fx->w[i].ep);
        assert_int_equal(fx->w[i].status, UV_ETIMEDOUT);
    }
    assert_int_equal(fx->order[0], 0);
    assert_int_equal(rev->queued, 0);
    assert_null(rev->qhead);
    assert_int_equal(rev->refs, 1);
}

static void test_cancel(void **state)
{
    fx_t *fx = *state;
    knd_rev_t *rev = test_fx_rev(fx, 0, 50);
    knd_endpoint_t *ep = knd_rev_endpoint_add(rev, "a", 1);
    knd_activator_wait_t *w0, *w1, *w2;
    assert_int_equal(test_acquire(fx, 0, &w0), 1);
    assert_int_equal(test_acquire(fx, 1, &w1), 1);
    assert_int_equal(test_acquire(fx, 2, &w2), 1);
    knd_activator_cancel(w1); /* from the middle of the queue */
    assert_int_equal(rev->queued, 2);
    knd_activator_cancel(w0); /* and its head */
    knd_activator_cancel(NULL); /* harmless */
    knd_endpoint_set_ready(ep, true);
    assert_int_equal(fx->w[0].calls, 0);
    assert_int_equal(fx->w[1].calls, 0);
    assert_int_equal(fx->w[2].calls, 1);
    assert_ptr_equal(fx->w[2].ep, ep);
    knd_endpoint_done(ep);
    uv_run(&fx->loop, UV_RUN_DEFAULT); /* cancelled timers must not fire either */
    assert_int_equal(fx->w[0].calls, 0);
    assert_int_equal(fx->w[1].calls, 0);
    assert_int_equal(rev->refs, 1);

    /* cancelled before a timeout */
    knd_endpoint_set_ready(ep, false);
    assert_int_equal(test_acquire(fx, 3, &w0), 1);
    knd_activator_cancel(w0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(fx->w[3].calls, 0);
    assert_int_equal(rev->queued, 0);
}

/* With the activator in the path (the default), a burst beyond 11 x CC queues instead. */
static void test_activator_queues_beyond_breaker(void **state)
{
    fx_t *fx = *state;
    knd_rev_t *rev = test_fx_rev(fx, 1, 0);
    knd_endpoint_t *a = knd_rev_endpoint_add(rev, "a", 1);
    knd_endpoint_set_ready(a, true);
    knd_activator_wait_t *w = NULL;
    assert_int_equal(test_acquire(fx, 0, NULL), 0);
    for (int i = 1; i < 3 * KND_BREAKER_FACTOR && i < MAXW; i++)
        assert_int_equal(test_acquire(fx, i, &w), 1);
    assert_true(rev->queued >= 2 * KND_BREAKER_FACTOR || rev->queued == MAXW - 1);
    rev->limits.queue_limit = rev->queued; /* and the activator's own bound still holds */
    assert_int_equal(test_acquire(fx, 0, NULL), UV_EBUSY);
    knd_rev_fail_waiters(rev);
    assert_int_equal(rev->queued, 0);
    knd_endpoint_done(a);
}

static void test_queue_limit(void **state)
{
    fx_t *fx = *state;
    knd_rev_limits_t lim = {.container_concurrency = 0, .queue_limit = 2};
    knd_rev_t *rev = fx->rev = knd_rev_new(&fx->loop, "default", "r", NULL, NULL, &lim);
    knd_activator_wait_t *w0, *w1, *w2;
    assert_int_equal(test_acquire(fx, 0, &w0), 1);
    assert_int_equal(test_acquire(fx, 1, &w1), 1);
    assert_int_equal(test_acquire(fx, 2, &w2), UV_EBUSY);
    assert_int_equal(rev->queued, 2);
    knd_activator_cancel(w0);
    assert_int_equal(test_acquire(fx, 3, &w2), 1); /* room again */
    knd_activator_cancel(w1);
    knd_activator_cancel(w2);
    assert_int_equal(fx->norder, 0);
}

static void test_on_demand_only_without_ready(void **state)
{
    fx_t *fx = *state;
    knd_rev_t *rev = test_fx_rev(fx, 1, 0);
    rev->on_demand = test_on_demand;
    rev->demand_data = fx;
    knd_endpoint_t *ep = knd_rev_endpoint_add(rev, "a", 1);
    knd_activator_wait_t *w;
    assert_int_equal(test_acquire(fx, 0, &w), 1);
    assert_int_equal(fx->demands, 1);
    knd_endpoint_set_ready(ep, true);
    assert_int_equal(fx->w[0].calls, 1);
    /* queued behind a busy but ready endpoint: no scale-from-zero poke */
    assert_int_equal(test_acquire(fx, 1, &w), 1);
    assert_int_equal(fx->demands, 1);
    knd_endpoint_done(ep);
    knd_endpoint_done(ep);
}

/* CC > 3: round robin, skipping endpoints whose slots are full. */
static void test_round_robin(void **state)
{
    fx_t *fx = *state;
    knd_rev_t *rev = test_fx_rev(fx, 4, 0);
    knd_endpoint_t *ep[3];
    for (int i = 0; i < 3; i++) {
        char id[8];
        snprintf(id, sizeof(id), "e%d", i);
        ep[i] = knd_rev_endpoint_add(rev, id, 100 + i);
        knd_endpoint_set_ready(ep[i], true);
    }
    for (int i = 0; i < 6; i++) {
        assert_int_equal(test_acquire(fx, i, NULL), 0);
        assert_ptr_equal(fx->w[i].ep, ep[i % 3]);
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(ep[i]->inflight, 2);
    /* e0 takes two more and is full (CC=4): the cursor then skips it */
    for (int i = 6; i < 10; i++)
        assert_int_equal(test_acquire(fx, i, NULL), 0);
    assert_ptr_equal(fx->w[9].ep, ep[0]);
    assert_int_equal(ep[0]->inflight, 4);
    for (int i = 10; i < 12; i++) {
        assert_int_equal(test_acquire(fx, i, NULL), 0);
        assert_ptr_not_equal(fx->w[i].ep, ep[0]);
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(ep[i]->inflight, 4);
    assert_int_equal(test_acquire(fx, 12, NULL), 1); /* 12 slots, all busy */
    knd_endpoint_done(ep[1]);
    assert_ptr_equal(fx->w[12].ep, ep[1]);
    for (int i = 0; i < 3; i++)
        while (ep[i]->inflight)
            knd_endpoint_done(ep[i]);
    assert_int_equal(rev->requests_total, 13);
}

/* CC = 0: the less loaded of two endpoints wins, so load stays even. */
static void test_unlimited_balances(void **state)
{
    fx_t *fx = *state;
    knd_rev_t *rev = test_fx_rev(fx, 0, 0);
    knd_endpoint_t *a = knd_rev_endpoint_add(rev, "a", 1);
    knd_endpoint_t *b = knd_rev_endpoint_add(rev, "b", 2);
    knd_endpoint_set_ready(a, true);
    knd_endpoint_set_ready(b, true);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(test_acquire(fx, i, NULL), 0);
        int d = a->inflight - b->inflight;
        assert_true(d >= -1 && d <= 1);
    }
    assert_int_equal(a->inflight, 10);
    assert_int_equal(b->inflight, 10);
    for (int i = 0; i < 20; i++)
        knd_endpoint_done(fx->w[i].ep);
    /* a not-ready endpoint is never picked */
    knd_endpoint_set_ready(b, false);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(test_acquire(fx, i, NULL), 0);
        assert_ptr_equal(fx->w[i].ep, a);
    }
    for (int i = 0; i < 5; i++)
        knd_endpoint_done(a);
}

/* An endpoint removed while a request holds it lives until that request is done. */
static void test_remove_while_held(void **state)
{
    fx_t *fx = *state;
    knd_rev_t *rev = test_fx_rev(fx, 0, 0);
    knd_endpoint_t *a = knd_rev_endpoint_add(rev, "a", 1);
    knd_endpoint_t *b = knd_rev_endpoint_add(rev, "b", 2);
    knd_endpoint_set_ready(a, true);
    assert_int_equal(test_acquire(fx, 0, NULL), 0);
    assert_ptr_equal(fx->w[0].ep, a);
    knd_endpoint_remove(a);
    assert_true(a->removed);
    assert_int_equal(a->refs, 1); /* only the request's */
    assert_int_equal(rev->neps, 1);
    knd_endpoint_set_ready(a, true); /* a removed endpoint cannot come back */
    assert_int_equal(knd_rev_ready_count(rev), 0);
    knd_activator_wait_t *w;
    assert_int_equal(test_acquire(fx, 1, &w), 1);
    knd_endpoint_done(a); /* frees a (ASan would see a use after free below otherwise) */
    assert_int_equal(fx->w[1].calls, 0);
    knd_endpoint_set_ready(b, true);
    assert_ptr_equal(fx->w[1].ep, b);
    knd_endpoint_done(b);
    knd_endpoint_remove(b);
    assert_int_equal(rev->neps, 0);
}

/* Knative's queue-proxy breaker: CC x R executing plus 10 x CC x R waiting, then 503 - in serve
 * mode, when the activator would be out of the path. */
static void test_breaker(void **state)
{
    fx_t *fx = *state;
    knd_rev_t *rev = test_fx_rev(fx, 1, 0);
    rev->serve_mode = true;
    knd_endpoint_t *a = knd_rev_endpoint_add(rev, "a", 1);
    knd_endpoint_set_ready(a, true);
    knd_activator_wait_t *w[MAXW];
    assert_int_equal(test_acquire(fx, 0, NULL), 0);
    for (int i = 1; i < KND_BREAKER_FACTOR; i++)
        assert_int_equal(test_acquire(fx, i, &w[i]), 1);
    assert_int_equal(rev->queued, KND_BREAKER_FACTOR - 1);
    assert_int_equal(test_acquire(fx, KND_BREAKER_FACTOR, NULL), UV_EBUSY);
    assert_int_equal(rev->rejected_total, 1);
    /* a second ready instance doubles the room */
    knd_endpoint_t *b = knd_rev_endpoint_add(rev, "b", 2);
    knd_endpoint_set_ready(b, true); /* takes the head of the queue */
    assert_int_equal(fx->w[1].calls, 1);
    assert_ptr_equal(fx->w[1].ep, b);
    int admitted = 0;
    for (int i = 12; i < MAXW && test_acquire(fx, i, &w[i]) == 1; i++)
        admitted++;
    assert_int_equal(rev->queued + rev->inflight, 2 * KND_BREAKER_FACTOR);
    assert_int_equal(admitted, KND_BREAKER_FACTOR);
    for (int i = 2; i < KND_BREAKER_FACTOR; i++)
        knd_activator_cancel(w[i]);
    for (int i = 12; i < 12 + admitted; i++)
        knd_activator_cancel(w[i]);
    knd_endpoint_done(a);
    knd_endpoint_done(b);
    assert_int_equal(rev->inflight, 0);
    assert_int_equal(fx->norder, 1);
}

static void test_on_drained(knd_endpoint_t *ep, void *data)
{
    fx_t *fx = data;
    assert_int_equal(ep->inflight, 0);
    fx->drained++;
}

/* A removed endpoint reports when its last in-flight request is done (graceful drain). */
static void test_remove_drains(void **state)
{
    fx_t *fx = *state;
    knd_rev_t *rev = test_fx_rev(fx, 0, 0);
    knd_endpoint_t *a = knd_rev_endpoint_add(rev, "a", 1);
    a->on_drained = test_on_drained;
    a->drained_data = fx;
    knd_endpoint_set_ready(a, true);
    assert_int_equal(test_acquire(fx, 0, NULL), 0);
    assert_int_equal(test_acquire(fx, 1, NULL), 0);
    knd_endpoint_retain(a); /* someone else (a report) keeps it for a while */
    knd_endpoint_remove(a);
    assert_int_equal(fx->drained, 0);
    knd_endpoint_done(a);
    assert_int_equal(fx->drained, 0);
    knd_endpoint_done(a);
    assert_int_equal(fx->drained, 1);
    assert_int_equal(a->refs, 1);
    assert_int_equal(rev->inflight, 0);
    knd_endpoint_release(a);
}

/* A granted request that finishes inside its callback lets the next waiter in (re-entrancy). */
static void test_on_grant_done_inline(void *data, knd_endpoint_t *ep, int status)
{
    test_on_grant(data, ep, status);
    if (ep)
        knd_endpoint_done(ep);
}

static void test_done_inside_callback(void **state)
{
    fx_t *fx = *state;
    knd_rev_t *rev = test_fx_rev(fx, 1, 0);
    knd_endpoint_t *ep = knd_rev_endpoint_add(rev, "a", 1);
    for (int i = 0; i < 4; i++) {
        knd_endpoint_t *got;
        knd_activator_wait_t *w;
        assert_int_equal(knd_activator_acquire(rev, test_on_grant_done_inline, &fx->w[i], &got, &w),
                         1);
    }
    knd_endpoint_set_ready(ep, true);
    assert_int_equal(fx->norder, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(fx->order[i], i);
    assert_int_equal(ep->inflight, 0);
    assert_int_equal(ep->refs, 1);
    assert_int_equal(rev->queued, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, test_fx_setup, test_fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_rev_endpoints),
        T(test_acquire_immediate),
        T(test_queue_until_ready),
        T(test_arrival_order),
        T(test_cc1_second_waits),
        T(test_queue_timeout),
        T(test_cancel),
        T(test_queue_limit),
        T(test_on_demand_only_without_ready),
        T(test_round_robin),
        T(test_unlimited_balances),
        T(test_remove_while_held),
        T(test_breaker),
        T(test_activator_queues_beyond_breaker),
        T(test_remove_drains),
        T(test_done_inside_callback),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
