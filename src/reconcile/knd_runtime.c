/*
 * knd_runtime.c - revisions' instances kept at their desired count (see knd_runtime.h).
 *
 * Crashes restart with Kubernetes' CrashLoopBackOff timing: 10 s doubling to 5 min, reset after
 * 10 min of an instance staying up. An instance stopping on purpose (scale down, delete) leaves
 * the load-balancing set first, then gets SIGTERM.
 */
#include "knd_runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "knd_alloc.h"
#include "knd_log.h"
#include "knd_map.h"
#include "knd_time.h"

#define KND_BACKOFF_FIRST_MS 10000
#define KND_BACKOFF_MAX_MS 300000
#define KND_BACKOFF_RESET_MS 600000
#define KND_METRIC_TICK_MS 1000   /* load sampled into the windows (Knative: 1 s buckets) */
#define KND_DECIDE_EVERY 2        /* decisions every 2 ticks (Knative's 2 s tickInterval) */

typedef struct knd_inst_s knd_inst_t;
typedef struct knd_drain_s knd_drain_t;

/* An instance leaving the LB set, waiting for its in-flight requests before SIGTERM. Allocated
 * apart from the instance: its timer closes asynchronously, and the instance may exit first. */
struct knd_drain_s {
    uv_timer_t timer;
    knd_inst_t *in;     /* NULL once the instance is gone */
    knd_endpoint_t *ep; /* reference */
};

struct knd_inst_s {
    knd_inst_t *next;
    knd_rev_rt_t *owner;
    knd_instance_t *inst; /* NULL once STOPPED */
    knd_endpoint_t *ep;   /* borrowed from the revision; NULL once removed */
    bool stopping;        /* we asked it to stop */
    bool in_init;         /* inst is init container init_index, not the main container */
    size_t init_index;
    knd_drain_t *drain;   /* while waiting for in-flight requests */
    uint64_t ready_at;
};

struct knd_rev_rt_s {
    knd_rev_rt_t *next;
    knd_runtime_t *rt;
    knd_rev_t *rev;       /* reference */
    knd_inst_t *insts;
    knd_rev_plan_t plan;
    bool has_plan, wanted, ever_ready, dying;
    bool panic;           /* the autoscaler's panic mode */
    /* autoscaling (set once the reconciler hands the revision over) */
    bool scaling, reachable;
    knd_kpa_params_t kp;
    knd_kpa_state_t *ks;       /* heap: it carries the scale-down-delay slots */
    knd_pa_state_t pa;
    knd_window_t *stable, *panicw, *hpa_recent;
    const char *activity_reason;
    uint64_t cpu_last_ticks;   /* HPA: summed utime+stime of the instances at the last sample */
    double cpu_usage;          /* HPA: per instance, % of a core (cpu) or MiB (memory) */
    knd_kpa_decision_t last;   /* the decider's last output */
    int desired, demand;  /* demand: instances asked for by waiting requests (scale from 0) */
    int crashes;
    uint64_t backoff_until;
    uint64_t first_spawn_ms;   /* when trying to get a first ready instance began, or 0 */
    uint64_t deadline_ms;      /* the progress deadline the reconciler set, or 0 */
    bool deadline_exceeded;    /* gave up: ProgressDeadlineExceeded */
    uv_timer_t retry;     /* fires when the backoff ends */
    char *fail_reason, *fail_message;
};

struct knd_runtime_s {
    uv_loop_t *loop;
    uv_timer_t tick;            /* autoscaler: metric sampling and decisions */
    unsigned ticks;
    knd_supervisor_t *sv;
    knd_rev_rt_t *revs;
    knd_map_t by_name;          /* "ns/name" -> the live (not dying) entry of revs */
    void (*changed)(void *data);
    void *data;
    uint64_t generation;        /* counts changes a reconcile pass reads (knd_runtime_generation) */
    bool shutting_down;
    int closing; /* entries unlinked whose timer has not closed yet */
    void (*done)(void *data);
    void *done_data;
};

static void knd_rev_rt_converge(knd_rev_rt_t *r);
static void knd_runtime_on_tick(uv_timer_t *t);
static void knd_runtime_tick_closed(uv_handle_t *h);
static int knd_rev_rt_running(const knd_rev_rt_t *r);
static void knd_runtime_maybe_done(knd_runtime_t *rt);

static void knd_strv_free(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

static void knd_plan_probe_free(knd_plan_probe_t *pp)
{
    free(pp->http_path);
    knd_strv_free(pp->http_headers);
    knd_strv_free(pp->exec_argv);
    memset(pp, 0, sizeof(*pp));
}

void knd_rev_plan_free(knd_rev_plan_t *plan)
{
    for (size_t i = 0; i < plan->ninit; i++) {
        free(plan->init[i].name);
        knd_strv_free(plan->init[i].argv);
        knd_strv_free(plan->init[i].env);
        free(plan->init[i].cwd);
    }
    free(plan->init);
    knd_strv_free(plan->argv);
    knd_strv_free(plan->env);
    free(plan->cwd);
    knd_plan_probe_free(&plan->readiness);
    knd_plan_probe_free(&plan->liveness);
    knd_plan_probe_free(&plan->startup);
    memset(plan, 0, sizeof(*plan));
}

static knd_probe_spec_t knd_plan_probe_spec(const knd_plan_probe_t *pp)
{
    knd_probe_spec_t ps = {
        .kind = pp->kind,
        .http_path = pp->http_path,
        .http_headers = (const char *const *)pp->http_headers,
        .exec_argv = pp->exec_argv,
        .initial_delay_ms = pp->initial_delay_ms,
        .period_ms = pp->period_ms,
        .timeout_ms = pp->timeout_ms,
        .success_threshold = pp->success_threshold,
        .failure_threshold = pp->failure_threshold,
    };
    return ps;
}

static void knd_runtime_notify(knd_runtime_t *rt)
{
    rt->generation++;
    if (!rt->shutting_down && rt->changed)
        rt->changed(rt->data);
}

static void knd_rev_rt_set_failure(knd_rev_rt_t *r, const char *reason, const char *message)
{
    free(r->fail_reason);
    free(r->fail_message);
    r->fail_reason = reason ? knd_xstrdup(reason) : NULL;
    r->fail_message = message ? knd_xstrdup(message) : NULL;
}

/* ------------------------------------------------------------------ instances */

static int knd_rev_rt_running(const knd_rev_rt_t *r)
{
    int n = 0;
    for (knd_inst_t *i = r->insts; i; i = i->next)
        n += i->inst != NULL && !i->stopping;
    return n;
}

static void knd_inst_unlink_free(knd_inst_t *in)
{
    knd_rev_rt_t *r = in->owner;
    knd_inst_t **pp = &r->insts;
    while (*pp && *pp != in)
        pp = &(*pp)->next;
    if (*pp)
        *pp = in->next;
    free(in);
}

static void knd_rev_rt_free(knd_rev_rt_t *r);
static int knd_inst_start(knd_inst_t *in);

static void knd_drain_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Drained, timed out, or the instance exited: stop waiting (and stop the instance if alive). */
static void knd_drain_finish(knd_drain_t *d)
{
    knd_inst_t *in = d->in;
    d->ep->on_drained = NULL;
    knd_endpoint_release(d->ep);
    uv_close((uv_handle_t *)&d->timer, knd_drain_closed);
    if (in) {
        in->drain = NULL;
        if (in->inst)
            knd_instance_stop(in->inst);
    }
}

static void knd_drain_on_drained(knd_endpoint_t *ep, void *data)
{
    knd_drain_finish(data);
}

static void knd_drain_on_timeout(uv_timer_t *t)
{
    knd_drain_t *d = t->data;
    knd_log(KND_LOG_WARN, "runtime", "instance %s: requests still in flight after the drain "
            "period; stopping it anyway", d->ep->id);
    knd_drain_finish(d);
}

/*
 * Stops an instance gracefully (SPEC §d.6): it leaves the load-balancing set at once; when
 * requests are still running on it, SIGTERM waits until they finish, at most the revision's
 * timeoutSeconds - the longest a request may take.
 */
static void knd_inst_stop_graceful(knd_inst_t *in)
{
    if (in->stopping || in->inst == NULL)
        return;
    in->stopping = true;
    knd_endpoint_t *ep = in->ep;
    in->ep = NULL;
    if (ep == NULL || ep->inflight == 0) {
        if (ep)
            knd_endpoint_remove(ep);
        knd_instance_stop(in->inst);
        return;
    }
    knd_drain_t *d = knd_xcalloc(1, sizeof(*d));
    d->in = in;
    d->ep = knd_endpoint_retain(ep);
    ep->on_drained = knd_drain_on_drained;
    ep->drained_data = d;
    in->drain = d;
    knd_endpoint_remove(ep);
    uv_timer_init(in->owner->rt->loop, &d->timer);
    d->timer.data = d;
    uint64_t grace = in->owner->rev->limits.timeout_ms;
    uv_timer_start(&d->timer, knd_drain_on_timeout, grace ? grace : 300000, 0);
}

static void knd_inst_on_state(knd_instance_t *inst, knd_instance_state_t st, void *data)
{
    knd_inst_t *in = data;
    knd_rev_rt_t *r = in->owner;
    if (in->in_init && st != KND_INSTANCE_STOPPED)
        return; /* an init container serves nothing: only how it ends matters */
    switch (st) {
    case KND_INSTANCE_READY:
        if (in->ep)
            knd_endpoint_set_ready(in->ep, true);
        in->ready_at = knd_time_mono_ms();
        if (!r->ever_ready || r->fail_reason) {
            r->ever_ready = true;
            r->first_spawn_ms = 0;
            knd_rev_rt_set_failure(r, NULL, NULL);
        }
        knd_log(KND_LOG_INFO, "runtime", "rev=%s instance=%s ready on port %d", r->rev->name,
                knd_instance_id(inst), knd_instance_port(inst));
        knd_runtime_notify(r->rt);
        break;
    case KND_INSTANCE_NOT_READY:
        if (in->ep)
            knd_endpoint_set_ready(in->ep, false);
        knd_runtime_notify(r->rt);
        break;
    case KND_INSTANCE_STOPPING:
        if (in->ep) {
            knd_endpoint_remove(in->ep); /* out of the LB set before SIGTERM lands */
            in->ep = NULL;
        }
        break;
    case KND_INSTANCE_STOPPED: {
        if (in->in_init && !in->stopping && !r->dying && !r->rt->shutting_down &&
            knd_instance_exit_status(inst) == 0 && knd_instance_term_signal(inst) == 0) {
            in->inst = NULL; /* the supervisor frees inst after this callback */
            in->init_index++;
            if (knd_inst_start(in) == 0)
                break;
            knd_rev_rt_converge(r);
            break;
        }
        if (in->ep) {
            knd_endpoint_remove(in->ep);
            in->ep = NULL;
        }
        in->inst = NULL;
        if (in->drain) { /* exited while draining: nothing left to wait for */
            in->drain->in = NULL;
            knd_drain_finish(in->drain);
            in->drain = NULL;
        }
        bool crashed = !in->stopping && !r->dying && !r->rt->shutting_down;
        if (crashed) {
            int code = knd_instance_exit_status(inst), sig = knd_instance_term_signal(inst);
            char reason[32], *tail = knd_instance_log_tail(inst, 1024);
            char *msg;
            if (sig)
                snprintf(reason, sizeof(reason), "ExitCode%d", 128 + sig);
            else
                snprintf(reason, sizeof(reason), "ExitCode%d", code);
            const char *why = knd_instance_stop_reason(inst);
            if (why)
                msg = knd_xasprintf("%s", why);
            else if (in->in_init)
                msg = knd_xasprintf("Init container \"%s\" failed with: %s",
                                    r->plan.init[in->init_index].name,
                                    tail && *tail ? tail : "(no output)");
            else
                msg = knd_xasprintf("Container failed with: %s",
                                    tail && *tail ? tail : "(no output)");
            knd_rev_rt_set_failure(r, reason, msg);
            free(msg);
            free(tail);
            uint64_t now = knd_time_mono_ms();
            if (in->ready_at && now - in->ready_at > KND_BACKOFF_RESET_MS)
                r->crashes = 0;
            uint64_t delay = KND_BACKOFF_FIRST_MS;
            for (int k = 0; k < r->crashes && delay < KND_BACKOFF_MAX_MS; k++)
                delay *= 2;
            if (delay > KND_BACKOFF_MAX_MS)
                delay = KND_BACKOFF_MAX_MS;
            r->crashes++;
            r->backoff_until = now + delay;
            knd_log(KND_LOG_WARN, "runtime", "rev=%s instance=%s exited (%s); restart in %llu ms",
                    r->rev->name, knd_instance_id(inst), reason, (unsigned long long)delay);
        }
        knd_inst_unlink_free(in);
        if (r->dying && r->insts == NULL) {
            knd_runtime_t *rt = r->rt;
            knd_rev_rt_free(r);
            knd_runtime_maybe_done(rt);
            return;
        }
        if (r->rt->shutting_down) {
            knd_runtime_maybe_done(r->rt);
            return;
        }
        knd_rev_rt_converge(r);
        knd_runtime_notify(r->rt);
        break;
    }
    default:
        break;
    }
}

/* A start failed before any process ran: record it and retry after the backoff. */
static void knd_rev_rt_spawn_failed(knd_rev_rt_t *r, const char *msg)
{
    knd_rev_rt_set_failure(r, "ContainerMissing", msg);
    r->crashes++;
    r->backoff_until = knd_time_mono_ms() + KND_BACKOFF_FIRST_MS;
    knd_log(KND_LOG_WARN, "runtime", "rev=%s: %s", r->rev->name, msg);
    knd_runtime_notify(r->rt);
}

/*
 * Starts the next step of an instance: init container init_index, or the main container once
 * every init container has succeeded (Kubernetes' order). Returns -1 (in unlinked and freed) if
 * the process could not be spawned.
 */
static int knd_inst_start(knd_inst_t *in)
{
    knd_rev_rt_t *r = in->owner;
    knd_err_t err;
    knd_instance_t *inst;
    in->in_init = in->init_index < r->plan.ninit;
    if (in->in_init) {
        const knd_plan_init_t *ic = &r->plan.init[in->init_index];
        /* No probes matter for an init container: only its exit status does. */
        knd_instance_spec_t spec = {.ns = r->rev->ns, .revision = r->rev->name, .argv = ic->argv,
                                    .env = ic->env, .cwd = ic->cwd,
                                    .grace_ms = r->plan.grace_ms};
        inst = knd_supervisor_spawn(r->rt->sv, &spec, knd_inst_on_state, in, &err);
    } else {
        knd_instance_spec_t spec = {
            .ns = r->rev->ns,
            .revision = r->rev->name,
            .argv = r->plan.argv,
            .env = r->plan.env,
            .cwd = r->plan.cwd,
            .grace_ms = r->plan.grace_ms,
            .readiness = knd_plan_probe_spec(&r->plan.readiness),
            .liveness = knd_plan_probe_spec(&r->plan.liveness),
            .startup = knd_plan_probe_spec(&r->plan.startup),
        };
        inst = knd_supervisor_spawn(r->rt->sv, &spec, knd_inst_on_state, in, &err);
    }
    if (inst == NULL) {
        knd_inst_unlink_free(in);
        knd_rev_rt_spawn_failed(r, err.msg);
        return -1;
    }
    in->inst = inst;
    if (!in->in_init)
        in->ep = knd_rev_endpoint_add(r->rev, knd_instance_id(inst), knd_instance_port(inst));
    return 0;
}

static int knd_rev_rt_spawn(knd_rev_rt_t *r)
{
    knd_inst_t *in = knd_xcalloc(1, sizeof(*in));
    in->owner = r;
    in->next = r->insts;
    r->insts = in;
    if (!r->ever_ready && r->first_spawn_ms == 0)
        r->first_spawn_ms = knd_time_mono_ms();
    return knd_inst_start(in);
}

static void knd_rev_rt_retry(uv_timer_t *t)
{
    knd_rev_rt_converge(t->data);
}

/* Starts or stops instances to match max(desired, demand). */
static void knd_rev_rt_converge(knd_rev_rt_t *r)
{
    if (r->dying || r->rt->shutting_down)
        return;
    int want = r->desired > r->demand ? r->desired : r->demand;
    if (r->deadline_exceeded)
        want = 0;
    int running = knd_rev_rt_running(r);
    if (running < want && r->has_plan) {
        uint64_t now = knd_time_mono_ms();
        if (now < r->backoff_until) {
            uv_timer_start(&r->retry, knd_rev_rt_retry, r->backoff_until - now, 0);
            return;
        }
        for (; running < want; running++)
            if (knd_rev_rt_spawn(r) < 0)
                break; /* one failure, one backoff step: not one per wanted instance */
    }
    /* Scale down: not-ready instances first (they serve nothing), then idle ones, then the
     * rest; newest first within each (the list is newest-first), so long-warm ones stay. */
    for (int pass = 0; pass < 3 && running > want; pass++) {
        for (knd_inst_t *i = r->insts; i && running > want; i = i->next) {
            bool ready = i->ep && i->ep->ready;
            bool idle = !i->ep || i->ep->inflight == 0;
            bool pick = pass == 0 ? !ready : pass == 1 ? idle : true;
            if (i->inst && !i->stopping && pick) {
                running--;
                knd_inst_stop_graceful(i);
            }
        }
    }
}

/* The activator's poke: a request waits and nothing runs. */
static void knd_rev_rt_on_demand(knd_rev_t *rev, void *data)
{
    knd_rev_rt_t *r = data;
    /* Knative's poke: scale from zero at once, without waiting for the next tick. The queued
     * request is load the decider can see; the floor of one keeps it safe either way. */
    if (r->demand < 1) {
        r->demand = 1;
        r->rt->generation++; /* the status shows it on the next pass; no pass is forced now */
        knd_rev_rt_converge(r);
    }
}

/* ------------------------------------------------------------------ autoscaling */

static void knd_runtime_tick_closed(uv_handle_t *h)
{
    knd_runtime_t *rt = h->data;
    rt->closing--;
    knd_runtime_maybe_done(rt);
}

/*
 * HPA's metric per instance, from /proc: cpu as percent of one core (Kubernetes' utilisation
 * without requests), memory as resident MiB (Knative's HPA memory target is an average value).
 */
static double knd_rev_rt_usage_sample(knd_rev_rt_t *r, double seconds)
{
    uint64_t ticks = 0, rss_pages = 0;
    int n = 0;
    for (knd_inst_t *i = r->insts; i; i = i->next) {
        if (i->inst == NULL || i->in_init)
            continue;
        char path[64], buf[1024];
        snprintf(path, sizeof(path), "/proc/%d/stat", knd_instance_pid(i->inst));
        FILE *f = fopen(path, "re");
        if (f == NULL)
            continue;
        size_t len = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[len] = '\0';
        /* Fields after the command's closing paren: utime is the 14th, stime the 15th,
         * rss the 24th. */
        const char *p = strrchr(buf, ')');
        unsigned long long ut = 0, st = 0, rss = 0;
        if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d "
                               "%*d %*d %*d %*d %*u %*u %llu",
                        &ut, &st, &rss) == 3) {
            ticks += ut + st;
            rss_pages += rss;
            n++;
        }
    }
    if (r->kp.metric == KND_METRIC_MEMORY)
        return n > 0 ? (double)rss_pages * (double)sysconf(_SC_PAGESIZE) / 1048576.0 / n : 0;
    double used = 0;
    if (r->cpu_last_ticks && ticks >= r->cpu_last_ticks && n > 0 && seconds > 0)
        used = (double)(ticks - r->cpu_last_ticks) / (double)sysconf(_SC_CLK_TCK) / seconds;
    r->cpu_last_ticks = ticks;
    return n > 0 ? used * 100.0 / n : 0;
}

/* One decision (SPEC §a.2, §a.6): decider, then the PA scaler's bounds and zero gating. */
static void knd_rev_rt_decide(knd_rev_rt_t *r, uint64_t now)
{
    int ready = (int)knd_rev_ready_count(r->rev);
    int apply;
    if (r->kp.hpa) {
        int current = knd_rev_rt_running(r);
        apply = knd_hpa_decide(&r->kp, r->hpa_recent, now, current > 0 ? current : 1,
                               r->cpu_usage);
        r->activity_reason = "";
    } else {
        bool empty = true, pempty = true;
        double stable = r->kp.weighted_exponential
                            ? knd_window_weighted_average(r->stable, now, &empty)
                            : knd_window_average(r->stable, now, &empty);
        double panic = r->kp.weighted_exponential
                           ? knd_window_weighted_average(r->panicw, now, &pempty)
                           : knd_window_average(r->panicw, now, &pempty);
        knd_kpa_decision_t d = knd_kpa_decide(&r->kp, r->ks, now, ready, stable, panic, !empty,
                                              r->reachable);
        r->panic = d.panic;
        r->last = d;
        knd_pa_result_t res = knd_pa_scale(&r->kp, &r->pa, now, r->ks->desired_scale, ready,
                                           r->reachable);
        /* knd's activator never leaves the path, but Knative's timing for scale to zero hangs
         * on when its activator would be in it (SKS Proxy mode): keep that clock as Knative. */
        r->rev->serve_mode = !knd_pa_proxy_mode(&r->pa, now, res.want,
                                                r->ks->excess_burst_capacity, ready);
        r->activity_reason = res.reason;
        apply = res.apply;
    }
    if (apply >= 0 && apply != r->desired) {
        knd_log(KND_LOG_INFO, "autoscaler", "rev=%s: %d -> %d instances (ready %d%s)",
                r->rev->name, r->desired, apply, ready, r->panic ? ", panic" : "");
        r->desired = apply;
        if (r->demand && apply > 0)
            r->demand = 0; /* the autoscaler has taken over from the cold-start poke */
        knd_rev_rt_converge(r);
        knd_runtime_notify(r->rt);
    }
}

/* Every second: the load of the last second into the windows; every 2 s: decide. */
static void knd_runtime_on_tick(uv_timer_t *t)
{
    knd_runtime_t *rt = t->data;
    uint64_t now = knd_time_mono_ms(), now_ns = uv_hrtime();
    bool decide = ++rt->ticks % KND_DECIDE_EVERY == 0;
    for (knd_rev_rt_t *r = rt->revs; r; r = r->next) {
        if (r->deadline_ms && !r->dying)
            knd_rev_rt_check_deadline(r, r->deadline_ms);
        if (!r->scaling || r->dying)
            continue;
        uint64_t arrivals = 0;
        double conc = knd_rev_take_concurrency(r->rev, now_ns, &arrivals);
        if (r->kp.hpa) {
            r->cpu_usage = knd_rev_rt_usage_sample(r, KND_METRIC_TICK_MS / 1000.0);
        } else {
            double v = r->kp.metric == KND_METRIC_RPS ? (double)arrivals : conc;
            knd_window_record(r->stable, now, v);
            knd_window_record(r->panicw, now, v);
        }
        if (decide)
            knd_rev_rt_decide(r, now);
    }
}

void knd_rev_rt_set_scaling(knd_rev_rt_t *r, const knd_kpa_params_t *params, bool reachable)
{
    uint64_t now = knd_time_mono_ms();
    r->reachable = reachable;
    if (params == NULL) { /* taken back: the reconciler sets the count again */
        r->scaling = false;
        r->panic = false;
        return;
    }
    if (r->scaling && memcmp(&r->kp, params, sizeof(*params)) == 0)
        return;
    bool first = !r->scaling;
    r->kp = *params;
    r->scaling = true;
    if (first) {
        /* malloc, not calloc: the 21 KB scale-down-delay ring stays untouched (uncommitted)
         * until a delay is configured; knd_kpa_state_init sets every other field. */
        r->ks = knd_xmalloc(sizeof(*r->ks));
        knd_kpa_state_init(r->ks, &r->kp, (int)knd_rev_ready_count(r->rev), now);
        /* Until the first decision: out of the path only when the initial EBC allows it
         * (target-burst-capacity 0), as Knative starts its SKS. */
        r->rev->serve_mode = r->ks->excess_burst_capacity >= 0 && r->kp.target_burst_capacity >= 0;
        knd_pa_state_init(&r->pa, now);
        r->stable = knd_window_new(r->kp.stable_window_ms, KND_METRIC_TICK_MS);
        r->panicw = knd_window_new(r->kp.panic_window_ms, KND_METRIC_TICK_MS);
        r->hpa_recent = knd_window_new(300000, KND_METRIC_TICK_MS);
    } else {
        knd_window_resize(r->stable, r->kp.stable_window_ms);
        knd_window_resize(r->panicw, r->kp.panic_window_ms);
    }
}

void knd_rev_rt_scale_view(const knd_rev_rt_t *r, knd_rev_scale_view_t *out)
{
    memset(out, 0, sizeof(*out));
    out->scaling = r->scaling;
    out->panic = r->panic;
    out->desired = knd_rev_rt_desired(r);
    out->excess_burst_capacity = r->last.excess_burst_capacity;
    out->observed_stable = r->last.observed_stable;
    out->observed_panic = r->last.observed_panic;
    out->target = r->kp.target;
    out->metric = r->kp.metric;
}

bool knd_rev_rt_scaling(const knd_rev_rt_t *r)
{
    return r->scaling;
}

const char *knd_rev_rt_activity_reason(const knd_rev_rt_t *r)
{
    return r->activity_reason ? r->activity_reason : "";
}

/* ------------------------------------------------------------------ entries */

knd_runtime_t *knd_runtime_new(uv_loop_t *loop, knd_supervisor_t *sv,
                               void (*changed)(void *data), void *data)
{
    knd_runtime_t *rt = knd_xcalloc(1, sizeof(*rt));
    rt->loop = loop;
    rt->sv = sv;
    rt->changed = changed;
    rt->data = data;
    uv_timer_init(loop, &rt->tick);
    rt->tick.data = rt;
    uv_timer_start(&rt->tick, knd_runtime_on_tick, KND_METRIC_TICK_MS, KND_METRIC_TICK_MS);
    return rt;
}

static void knd_runtime_key(char *key, size_t n, const char *ns, const char *name)
{
    snprintf(key, n, "%s/%s", ns, name);
}

knd_rev_rt_t *knd_runtime_find(knd_runtime_t *rt, const char *ns, const char *name)
{
    char key[512];
    knd_runtime_key(key, sizeof(key), ns, name);
    return knd_map_get(&rt->by_name, key);
}

/* r is dying: lookups no longer find it (a new entry of the same name may come). */
static void knd_rev_rt_unindex(knd_rev_rt_t *r)
{
    char key[512];
    knd_runtime_key(key, sizeof(key), r->rev->ns, r->rev->name);
    if (knd_map_get(&r->rt->by_name, key) == r)
        knd_map_del(&r->rt->by_name, key);
}

knd_rev_rt_t *knd_runtime_ensure(knd_runtime_t *rt, const char *ns, const char *name,
                                 const char *service, const char *configuration,
                                 const knd_rev_limits_t *limits)
{
    knd_rev_rt_t *r = knd_runtime_find(rt, ns, name);
    if (r == NULL) {
        r = knd_xcalloc(1, sizeof(*r));
        r->rt = rt;
        r->rev = knd_rev_new(rt->loop, ns, name, service, configuration, limits);
        r->rev->on_demand = knd_rev_rt_on_demand;
        r->rev->demand_data = r;
        uv_timer_init(rt->loop, &r->retry);
        r->retry.data = r;
        r->next = rt->revs;
        rt->revs = r;
        char key[512];
        knd_runtime_key(key, sizeof(key), ns, name);
        knd_map_put(&rt->by_name, key, r);
    }
    r->wanted = true;
    return r;
}

static void knd_rev_rt_timer_closed(uv_handle_t *h)
{
    knd_rev_rt_t *r = h->data;
    knd_runtime_t *rt = r->rt;
    knd_rev_plan_free(&r->plan);
    knd_rev_rt_set_failure(r, NULL, NULL);
    free(r->ks);
    if (r->stable)
        knd_window_free(r->stable);
    if (r->panicw)
        knd_window_free(r->panicw);
    if (r->hpa_recent)
        knd_window_free(r->hpa_recent);
    free(r);
    rt->closing--;
    knd_runtime_maybe_done(rt);
}

/* Unlinks r and frees it once its timer has closed (r has no instances left). */
static void knd_rev_rt_free(knd_rev_rt_t *r)
{
    knd_runtime_t *rt = r->rt;
    knd_rev_rt_t **pp = &rt->revs;
    while (*pp && *pp != r)
        pp = &(*pp)->next;
    if (*pp)
        *pp = r->next;
    r->rev->on_demand = NULL;
    knd_rev_fail_waiters(r->rev); /* nothing will start for them any more */
    knd_rev_release(r->rev);
    r->rev = NULL;
    rt->closing++;
    uv_close((uv_handle_t *)&r->retry, knd_rev_rt_timer_closed);
}

/* Stops every instance of r; r is freed when the last one has exited. */
static void knd_rev_rt_kill(knd_rev_rt_t *r)
{
    knd_rev_rt_unindex(r);
    r->dying = true;
    uv_timer_stop(&r->retry);
    if (r->insts == NULL) {
        knd_rev_rt_free(r);
        return;
    }
    for (knd_inst_t *i = r->insts; i; i = i->next)
        knd_inst_stop_graceful(i);
}

void knd_runtime_sweep(knd_runtime_t *rt)
{
    knd_rev_rt_t *r = rt->revs, *next;
    for (; r; r = next) {
        next = r->next;
        if (r->dying)
            continue;
        if (!r->wanted)
            knd_rev_rt_kill(r);
        else
            r->wanted = false;
    }
}

void knd_rev_rt_set_plan(knd_rev_rt_t *r, knd_rev_plan_t *plan, const char *fail_reason,
                         const char *fail_message)
{
    knd_rev_plan_free(&r->plan);
    if (plan) {
        r->plan = *plan;
        memset(plan, 0, sizeof(*plan));
        r->has_plan = true;
        if (r->fail_reason && strcmp(r->fail_reason, "ContainerMissing") == 0 &&
            r->backoff_until == 0)
            knd_rev_rt_set_failure(r, NULL, NULL);
    } else {
        r->has_plan = false;
        knd_rev_rt_set_failure(r, fail_reason, fail_message);
    }
}

void knd_rev_rt_check_deadline(knd_rev_rt_t *r, uint64_t deadline_ms)
{
    r->deadline_ms = deadline_ms;
    if (r->ever_ready || r->deadline_exceeded || r->first_spawn_ms == 0 || deadline_ms == 0 ||
        knd_time_mono_ms() - r->first_spawn_ms < deadline_ms)
        return;
    r->deadline_exceeded = true;
    char *tail = NULL;
    for (knd_inst_t *i = r->insts; i && tail == NULL; i = i->next)
        if (i->inst)
            tail = knd_instance_log_tail(i->inst, 512);
    char *msg = knd_xasprintf("Initial scale was never achieved%s%s", tail && *tail ? ": " : "",
                              tail && *tail ? tail : "");
    knd_rev_rt_set_failure(r, "ProgressDeadlineExceeded", msg);
    knd_log(KND_LOG_WARN, "runtime", "rev=%s: no instance became ready in %llu ms; giving up",
            r->rev->name, (unsigned long long)deadline_ms);
    free(msg);
    free(tail);
    knd_rev_rt_converge(r);
    knd_runtime_notify(r->rt);
}

void knd_rev_rt_set_desired(knd_rev_rt_t *r, int desired)
{
    r->desired = desired;
    knd_rev_rt_converge(r);
}

knd_rev_t *knd_rev_rt_rev(const knd_rev_rt_t *r)
{
    return r->rev;
}

uint64_t knd_runtime_generation(const knd_runtime_t *rt)
{
    return rt->generation;
}

int knd_rev_rt_desired(const knd_rev_rt_t *r)
{
    return r->desired > r->demand ? r->desired : r->demand;
}

int knd_rev_rt_ready(const knd_rev_rt_t *r)
{
    return (int)knd_rev_ready_count(r->rev);
}

bool knd_rev_rt_panic(const knd_rev_rt_t *r)
{
    return r->panic;
}

bool knd_rev_rt_ever_ready(const knd_rev_rt_t *r)
{
    return r->ever_ready;
}

const char *knd_rev_rt_fail_reason(const knd_rev_rt_t *r)
{
    return r->fail_reason;
}

const char *knd_rev_rt_fail_message(const knd_rev_rt_t *r)
{
    return r->fail_message;
}

void knd_runtime_each_instance(knd_runtime_t *rt, const char *ns, const char *service,
                               void (*fn)(const char *rev, const char *id, const char *path,
                                          void *data),
                               void *data)
{
    for (knd_rev_rt_t *r = rt->revs; r; r = r->next) {
        if (r->dying || strcmp(r->rev->ns, ns) != 0 || strcmp(r->rev->service, service) != 0)
            continue;
        for (knd_inst_t *i = r->insts; i; i = i->next)
            if (i->inst)
                fn(r->rev->name, knd_instance_id(i->inst), knd_instance_log_path(i->inst), data);
    }
}

void knd_rev_rt_each_instance(const knd_rev_rt_t *r,
                              void (*fn)(const knd_instance_t *inst, const knd_endpoint_t *ep,
                                         void *data),
                              void *data)
{
    for (knd_inst_t *i = r->insts; i; i = i->next)
        if (i->inst)
            fn(i->inst, i->ep, data);
}

void knd_runtime_each_rev(knd_runtime_t *rt, void (*fn)(const knd_rev_rt_t *r, void *data),
                          void *data)
{
    for (knd_rev_rt_t *r = rt->revs; r; r = r->next)
        if (!r->dying)
            fn(r, data);
}

/* ------------------------------------------------------------------ shutdown */

static void knd_runtime_maybe_done(knd_runtime_t *rt)
{
    if (!rt->shutting_down || rt->done == NULL)
        return;
    for (knd_rev_rt_t *r = rt->revs; r; r = r->next)
        if (r->insts)
            return;
    /* No instance left: free the remaining entries (their timers close asynchronously). */
    if (rt->revs) {
        knd_rev_rt_t *r = rt->revs, *next;
        for (; r; r = next) {
            next = r->next;
            if (!r->dying) {
                knd_rev_rt_unindex(r);
                r->dying = true;
                knd_rev_rt_free(r);
            }
        }
        return; /* called again from the timers' close callbacks */
    }
    if (rt->closing > 0)
        return;
    void (*done)(void *) = rt->done;
    void *data = rt->done_data;
    rt->done = NULL;
    knd_map_free(&rt->by_name);
    free(rt);
    done(data);
}

void knd_runtime_shutdown(knd_runtime_t *rt, void (*done)(void *data), void *data)
{
    rt->shutting_down = true;
    rt->done = done;
    rt->done_data = data;
    rt->closing++;
    uv_close((uv_handle_t *)&rt->tick, knd_runtime_tick_closed);
    for (knd_rev_rt_t *r = rt->revs; r; r = r->next) {
        uv_timer_stop(&r->retry);
        for (knd_inst_t *i = r->insts; i; i = i->next)
            knd_inst_stop_graceful(i);
    }
    knd_runtime_maybe_done(rt);
}
