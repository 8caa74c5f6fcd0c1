/*
 * knd_probe.c - an instance's startup, liveness and readiness probers (see knd_supervisor.h for
 * the semantics, knd_supervisor_int.h for ownership).
 *
 * Each prober runs one attempt at a time on its own timer. Attempts start every period_ms from
 * the previous start, as the kubelet's ticker does (an attempt slower than the period is followed
 * at once by the next), and thresholds count consecutive results. A prober's decisions are the
 * only thing that reaches the instance: READY / NOT_READY for readiness, a graceful stop with a
 * reason for startup and liveness.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_log.h"
#include "knd_supervisor_int.h"

#define KND_PROBE_AGGRESSIVE_MS 50 /* Knative's probe interval when periodSeconds is 0 */
#define KND_PROBE_AGGRESSIVE_TIMEOUT_MS 100
#define KND_PROBE_STEADY_MS 1000 /* readiness interval once ready after aggressive probing */
#define KND_PROBE_DEFAULT_PERIOD_MS 10000 /* Kubernetes' periodSeconds default */
#define KND_PROBE_DEFAULT_TIMEOUT_MS 1000
#define KND_PROBE_DEFAULT_FAILURES 3

static const char *const knd_probe_role_names[KND_PROBER_COUNT] = {
    [KND_PROBER_STARTUP] = "Startup",
    [KND_PROBER_LIVENESS] = "Liveness",
    [KND_PROBER_READINESS] = "Readiness",
};

/* ---- checking and copying the spec ----------------------------------------------------- */

static const knd_probe_spec_t *knd_probe_spec_of(const knd_instance_spec_t *spec,
                                                 knd_prober_role_t role)
{
    switch (role) {
    case KND_PROBER_STARTUP:
        return &spec->startup;
    case KND_PROBER_LIVENESS:
        return &spec->liveness;
    default:
        return &spec->readiness;
    }
}

static int knd_probe_check_path(const char *what, const char *path, knd_err_t *err)
{
    /* the path goes into the request line verbatim: no room for spaces or header injection */
    for (const char *c = path; c && *c; c++) {
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return knd_err_set(err, KND_E_INVALID, "invalid %s probe path", what);
    }
    if (path && path[0] != '/')
        return knd_err_set(err, KND_E_INVALID, "%s probe path must start with '/'", what);
    return 0;
}

/** "Name: value": a token for the name (RFC 9110), no control characters but tab in the value. */
static int knd_probe_check_header(const char *h)
{
    const char *c = h;

    while (*c && *c != ':' &&
           (strchr("!#$%&'*+-.^_`|~", *c) || (*c >= '0' && *c <= '9') ||
            (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
        c++;
    if (c == h || *c != ':')
        return -1;
    for (c++; *c; c++) {
        if (((unsigned char)*c < ' ' && *c != '\t') || *c == 0x7f)
            return -1;
    }
    return 0;
}

static int knd_probe_check_one(const char *what, const knd_probe_spec_t *p, knd_err_t *err)
{
    switch (p->kind) {
    case KND_PROBE_NONE:
    case KND_PROBE_TCP:
        return 0;
    case KND_PROBE_HTTP:
        if (knd_probe_check_path(what, p->http_path, err) != 0)
            return -1;
        for (const char *const *h = p->http_headers; h && *h; h++) {
            if (knd_probe_check_header(*h) != 0)
                return knd_err_set(err, KND_E_INVALID, "invalid %s probe header \"%s\"", what,
                                   *h);
        }
        return 0;
    case KND_PROBE_EXEC:
        if (p->exec_argv == NULL || p->exec_argv[0] == NULL || p->exec_argv[0][0] == '\0')
            return knd_err_set(err, KND_E_INVALID, "%s probe: exec command is empty", what);
        return 0;
    }
    return knd_err_set(err, KND_E_INVALID, "%s probe: unknown kind %d", what, (int)p->kind);
}

int knd__probe_check(const knd_instance_spec_t *spec, knd_err_t *err)
{
    if (knd_probe_check_path("readiness", spec->http_path, err) != 0 ||
        knd_probe_check_one("readiness", &spec->readiness, err) != 0 ||
        knd_probe_check_one("liveness", &spec->liveness, err) != 0 ||
        knd_probe_check_one("startup", &spec->startup, err) != 0)
        return -1;
    return 0;
}

static char **knd_probe_copy_strv(const char *const *v)
{
    size_t n = 0;
    char **out;

    if (v == NULL)
        return NULL;
    while (v[n])
        n++;
    out = knd_xcalloc(n + 1, sizeof(*out));
    for (size_t i = 0; i < n; i++)
        out[i] = knd_xstrdup(v[i]);
    return out;
}

static void knd_probe_free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/** The flat readiness fields as a probe spec: what every caller used before probe specs. */
static void knd_probe_init_flat(knd_prober_t *p, const knd_instance_spec_t *spec)
{
    p->kind = spec->http_path ? KND_PROBE_HTTP : KND_PROBE_TCP;
    p->http_path = spec->http_path ? knd_xstrdup(spec->http_path) : NULL;
    p->period_ms = spec->probe_period_ms > 0 ? spec->probe_period_ms : 0;
    p->timeout_ms = spec->probe_timeout_ms > 0 ? spec->probe_timeout_ms : 0;
    p->failure_threshold = spec->probe_failure_threshold > 0 ? spec->probe_failure_threshold
                                                             : KND_PROBE_DEFAULT_FAILURES;
    p->success_threshold = 1;
    p->steady_floor_ms = KND_PROBE_STEADY_MS;
}

static void knd_probe_init_one(knd_prober_t *p, const knd_probe_spec_t *ps)
{
    p->kind = ps->kind;
    if (ps->kind == KND_PROBE_HTTP) {
        p->http_path = knd_xstrdup(ps->http_path ? ps->http_path : "/");
        p->headers = knd_probe_copy_strv(ps->http_headers);
    }
    if (ps->kind == KND_PROBE_EXEC)
        p->argv = knd_probe_copy_strv((const char *const *)ps->exec_argv);
    p->delay_ms = ps->initial_delay_ms > 0 ? ps->initial_delay_ms : 0;
    p->period_ms = ps->period_ms > 0 ? ps->period_ms : 0;
    /* only readiness knows Knative's aggressive mode; the kubelet defaults the others to 10 s */
    if (p->period_ms == 0 && p->role != KND_PROBER_READINESS)
        p->period_ms = KND_PROBE_DEFAULT_PERIOD_MS;
    p->timeout_ms = ps->timeout_ms > 0 ? ps->timeout_ms : 0;
    p->success_threshold = ps->success_threshold > 0 ? ps->success_threshold : 1;
    p->failure_threshold =
        ps->failure_threshold > 0 ? ps->failure_threshold : KND_PROBE_DEFAULT_FAILURES;
}

void knd__probe_init(knd_instance_t *inst, uv_loop_t *loop, const knd_instance_spec_t *spec)
{
    for (int i = 0; i < KND_PROBER_COUNT; i++) {
        knd_prober_t *p = &inst->probers[i];
        const knd_probe_spec_t *ps = knd_probe_spec_of(spec, (knd_prober_role_t)i);

        p->inst = inst;
        p->role = (knd_prober_role_t)i;
        if (p->role == KND_PROBER_READINESS && ps->kind == KND_PROBE_NONE)
            knd_probe_init_flat(p, spec);
        else
            knd_probe_init_one(p, ps);
        uv_timer_init(loop, &p->timer);
        p->timer.data = p;
    }
}

/* ---- running --------------------------------------------------------------------------- */

static void knd_probe_on_timer(uv_timer_t *t);

static int knd_probe_aggressive(const knd_prober_t *p)
{
    return p->period_ms == 0 && !p->ever_passed;
}

static void knd_probe_schedule(knd_prober_t *p, uint64_t delay_ms)
{
    uv_timer_start(&p->timer, knd_probe_on_timer, delay_ms, 0);
}

/** Next attempt one interval after the start of the last one (at once if that has passed). */
static void knd_probe_schedule_next(knd_prober_t *p)
{
    uint64_t interval, elapsed = uv_now(p->timer.loop) - p->attempt_start;

    /* a state callback may have stopped the instance: its probers are done */
    if (p->inst->exited || p->inst->state == KND_INSTANCE_STOPPING)
        return;
    if (knd_probe_aggressive(p)) {
        /* Knative probes every 50 ms; most apps listen within a few ms of exec, so the first
         * attempts come 1, 2, 4, ... ms apart and reach 50 ms after ~100 ms. A refused connect
         * on loopback costs microseconds; a cold start saves up to a whole period. */
        interval = p->ramp < 6 ? (1u << p->ramp) : KND_PROBE_AGGRESSIVE_MS;
        p->ramp++;
    }
    else if (p->period_ms == 0)
        interval = KND_PROBE_STEADY_MS;
    else
        interval = (uint64_t)(p->period_ms > p->steady_floor_ms || !p->ever_passed
                                  ? p->period_ms
                                  : p->steady_floor_ms);
    knd_probe_schedule(p, elapsed < interval ? interval - elapsed : 0);
}

static void knd_probe_start_after_startup(knd_instance_t *inst)
{
    knd_prober_t *live = &inst->probers[KND_PROBER_LIVENESS];
    knd_prober_t *ready = &inst->probers[KND_PROBER_READINESS];

    /* The kubelet's first liveness check comes on its first probe tick, one period in: an app
     * is not judged dead in the milliseconds before it could listen. */
    if (live->kind != KND_PROBE_NONE)
        knd_probe_schedule(live, (uint64_t)live->delay_ms + (uint64_t)live->period_ms);
    knd_probe_schedule(ready, (uint64_t)ready->delay_ms);
}

static void knd_probe_fail_instance(knd_prober_t *p, const char *msg)
{
    char *reason = knd_xasprintf("%s probe failed: %s", knd_probe_role_names[p->role],
                                 msg ? msg : "unknown error");

    knd__instance_probe_kill(p->inst, reason);
    free(reason);
}

static void knd_probe_readiness_result(knd_prober_t *p, int ok, const char *msg)
{
    knd_instance_t *inst = p->inst;

    if (ok && !p->passed && p->successes >= p->success_threshold) {
        p->passed = p->ever_passed = 1;
        knd__instance_set_state(inst, KND_INSTANCE_READY);
    } else if (!ok && p->passed && p->failures >= p->failure_threshold) {
        p->passed = 0;
        knd_log(KND_LOG_INFO, "supervisor", "instance=%s: Readiness probe failed: %s", inst->id,
                msg ? msg : "");
        knd__instance_set_state(inst, KND_INSTANCE_NOT_READY);
    }
    knd_probe_schedule_next(p);
}

/** One attempt's verdict: count it, then decide (and schedule the next one, if any). */
static void knd_probe_result(knd_prober_t *p, int ok, const char *msg)
{
    knd_instance_t *inst = p->inst;

    if (inst->exited || inst->state == KND_INSTANCE_STOPPING)
        return;
    if (ok) {
        p->successes++;
        p->failures = 0;
    } else {
        p->failures++;
        p->successes = 0;
    }
    switch (p->role) {
    case KND_PROBER_STARTUP:
        if (ok && p->successes >= p->success_threshold) {
            p->passed = 1;
            knd_probe_start_after_startup(inst);
        } else if (!ok && p->failures >= p->failure_threshold) {
            knd_probe_fail_instance(p, msg);
        } else {
            knd_probe_schedule_next(p);
        }
        return;
    case KND_PROBER_LIVENESS:
        if (!ok && p->failures >= p->failure_threshold)
            knd_probe_fail_instance(p, msg);
        else
            knd_probe_schedule_next(p);
        return;
    default:
        knd_probe_readiness_result(p, ok, msg);
        return;
    }
}

static int knd_probe_timeout(const knd_prober_t *p)
{
    if (p->timeout_ms > 0)
        return p->timeout_ms;
    /* Knative's aggressive start-up probing uses short attempts, steady probing the default */
    return knd_probe_aggressive(p) ? KND_PROBE_AGGRESSIVE_TIMEOUT_MS
                                   : KND_PROBE_DEFAULT_TIMEOUT_MS;
}

static void knd_probe_on_net(void *data, int ok, const char *msg)
{
    knd_prober_t *p = data;

    p->net = NULL;
    knd_probe_result(p, ok, msg);
}

static void knd_probe_start_net(knd_prober_t *p, const char *path)
{
    knd_instance_t *inst = p->inst;

    p->net = knd__readiness_start(p->timer.loop, inst->port, path,
                                  (const char *const *)p->headers, knd_probe_timeout(p),
                                  knd_probe_on_net, p);
    if (p->net == NULL)
        knd_probe_result(p, 0, "probe could not be started");
}

static void knd_probe_on_exec(void *data, int ok, const char *msg)
{
    knd_prober_t *p = data;

    p->exec = NULL;
    /*
     * Knative leaves an exec readiness probe to the kubelet and has the queue-proxy probe the
     * port as well: the instance is ready once both pass.
     */
    if (ok && p->role == KND_PROBER_READINESS && !p->inst->exited &&
        p->inst->state != KND_INSTANCE_STOPPING) {
        knd_probe_start_net(p, NULL);
        return;
    }
    knd_probe_result(p, ok, msg);
}

static void knd_probe_on_timer(uv_timer_t *t)
{
    knd_prober_t *p = t->data;
    knd_instance_t *inst = p->inst;

    if (inst->exited || inst->state == KND_INSTANCE_STOPPING || p->net || p->exec)
        return;
    p->attempt_start = uv_now(t->loop);
    if (p->kind == KND_PROBE_EXEC)
        p->exec = knd__probe_exec_start(t->loop, p->argv, inst->env, inst->cwd,
                                        knd_probe_timeout(p), knd_probe_on_exec, p);
    else
        knd_probe_start_net(p, p->kind == KND_PROBE_HTTP ? p->http_path : NULL);
}

void knd__probe_begin(knd_instance_t *inst)
{
    knd_prober_t *startup = &inst->probers[KND_PROBER_STARTUP];

    if (startup->kind != KND_PROBE_NONE)
        knd_probe_schedule(startup, (uint64_t)startup->delay_ms);
    else
        knd_probe_start_after_startup(inst);
}

void knd__probe_stop(knd_instance_t *inst)
{
    for (int i = 0; i < KND_PROBER_COUNT; i++) {
        knd_prober_t *p = &inst->probers[i];

        uv_timer_stop(&p->timer);
        if (p->net)
            knd__readiness_cancel(p->net);
        if (p->exec)
            knd__probe_exec_cancel(p->exec);
        p->net = NULL;
        p->exec = NULL;
    }
}

void knd__probe_close(knd_instance_t *inst, uv_close_cb cb)
{
    for (int i = 0; i < KND_PROBER_COUNT; i++)
        uv_close((uv_handle_t *)&inst->probers[i].timer, cb);
}

void knd__probe_free(knd_instance_t *inst)
{
    for (int i = 0; i < KND_PROBER_COUNT; i++) {
        knd_prober_t *p = &inst->probers[i];

        free(p->http_path);
        knd_probe_free_strv(p->headers);
        knd_probe_free_strv(p->argv);
        p->http_path = NULL;
        p->headers = p->argv = NULL;
    }
}
