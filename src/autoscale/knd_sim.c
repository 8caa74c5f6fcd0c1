/*
 * knd_sim.c - the offline autoscaling simulator (`knd scale simulate`): a trace of observed load
 * goes through knd_window, knd_kpa_decide, knd_pa_scale and knd_pa_proxy_mode exactly as the
 * daemon ticks them, with instances that become ready a fixed delay after being asked for.
 *
 * Ownership: every array here is owned by the caller once returned (free()).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_scale_sim.h"

#define KND_SIM_BASE_MS 1000000 /* a clock origin well away from 0 ("unset" in PA state) */
#define KND_SIM_TICK_S 2

static bool knd_sim_parse_num(const char *s, const char *end, double *out)
{
    char buf[64];
    while (s < end && isspace((unsigned char)*s))
        s++;
    while (end > s && isspace((unsigned char)end[-1]))
        end--;
    size_t len = (size_t)(end - s);
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *e;
    errno = 0;
    *out = strtod(buf, &e);
    return *e == '\0' && errno == 0 && isfinite(*out);
}

static int knd_sim_header(const char *line, const char *end, bool *rps, knd_err_t *err)
{
    size_t len = (size_t)(end - line);
    while (len > 0 && isspace((unsigned char)line[len - 1]))
        len--;
    if (len == strlen("t_seconds,concurrency") && strncmp(line, "t_seconds,concurrency", len) == 0)
        *rps = false;
    else if (len == strlen("t_seconds,rps") && strncmp(line, "t_seconds,rps", len) == 0)
        *rps = true;
    else
        return knd_err_set(err, KND_E_INVALID,
                           "line 1: header must be \"t_seconds,concurrency\" or \"t_seconds,rps\"");
    return 0;
}

int knd_sim_parse_trace(const char *text, knd_sim_point_t **pts, size_t *n, bool *rps,
                        knd_err_t *err)
{
    size_t cap = 64, cnt = 0;
    knd_sim_point_t *v = knd_xmalloc(cap * sizeof(*v));
    bool have_header = false;
    int lineno = 0;
    const char *p = text;
    while (*p != '\0') {
        const char *eol = strchr(p, '\n');
        if (eol == NULL)
            eol = p + strlen(p);
        lineno++;
        const char *q = p;
        while (q < eol && isspace((unsigned char)*q))
            q++;
        if (q == eol || *q == '#')
            goto next;
        if (!have_header) {
            if (knd_sim_header(q, eol, rps, err) != 0)
                goto fail;
            have_header = true;
            goto next;
        }
        const char *comma = memchr(q, ',', (size_t)(eol - q));
        double t, val;
        if (comma == NULL || !knd_sim_parse_num(q, comma, &t) ||
            !knd_sim_parse_num(comma + 1, eol, &val) || t < 0 || val < 0) {
            knd_err_set(err, KND_E_INVALID, "line %d: want \"t_seconds,value\" with numbers >= 0",
                        lineno);
            goto fail;
        }
        if (cnt > 0 && t < v[cnt - 1].t_s) {
            knd_err_set(err, KND_E_INVALID, "line %d: time %g goes back (previous %g)", lineno, t,
                        v[cnt - 1].t_s);
            goto fail;
        }
        if (cnt == cap) {
            cap *= 2;
            v = knd_xrealloc(v, cap * sizeof(*v));
        }
        v[cnt++] = (knd_sim_point_t){t, val};
    next:
        p = *eol ? eol + 1 : eol;
    }
    if (!have_header || cnt == 0) {
        knd_err_set(err, KND_E_INVALID, "the trace has no %s", have_header ? "rows" : "header");
        goto fail;
    }
    *pts = v;
    *n = cnt;
    return 0;
fail:
    free(v);
    return -1;
}

/* The instance model: ready_at times, ascending (newest last). */
typedef struct {
    uint64_t *ready_at;
    int n;
} knd_sim_fleet_t;

static int knd_sim_ready(const knd_sim_fleet_t *f, uint64_t now)
{
    int r = 0;
    for (int i = 0; i < f->n; i++)
        r += f->ready_at[i] <= now;
    return r;
}

/* Grows with instances ready `delay` from now; shrinks newest first (not ready ones first). */
static void knd_sim_scale(knd_sim_fleet_t *f, int want, uint64_t now, uint64_t delay)
{
    if (want > f->n) {
        f->ready_at = knd_xrealloc(f->ready_at, (size_t)want * sizeof(uint64_t));
        for (int i = f->n; i < want; i++)
            f->ready_at[i] = now + delay;
    }
    f->n = want;
}

static double knd_sim_load_at(const knd_sim_point_t *tr, size_t n, size_t *cur, double s)
{
    while (*cur + 1 < n && tr[*cur + 1].t_s <= s)
        (*cur)++;
    return tr[*cur].t_s <= s ? tr[*cur].value : 0;
}

static double knd_sim_avg(const knd_kpa_params_t *p, const knd_window_t *w, uint64_t now,
                          bool *empty)
{
    return p->weighted_exponential ? knd_window_weighted_average(w, now, empty)
                                   : knd_window_average(w, now, empty);
}

size_t knd_sim_run(const knd_sim_config_t *c, const knd_sim_point_t *trace, size_t n,
                   knd_sim_row_t **rows)
{
    const knd_kpa_params_t *p = &c->params;
    long end_s = n > 0 ? (long)ceil(trace[n - 1].t_s) : 0;
    size_t cap = (size_t)end_s + 2, nrows = 0, cur = 0;
    knd_sim_row_t *out = knd_xcalloc(cap, sizeof(*out));
    knd_window_t *stable = knd_window_new(p->stable_window_ms, 1000);
    knd_window_t *panic = knd_window_new(p->panic_window_ms, 1000);
    knd_sim_fleet_t fleet = {0};
    knd_kpa_state_t *st = knd_xmalloc(sizeof(*st)); /* 29 KB of delay ring: keep off the stack */
    knd_pa_state_t pa;
    knd_kpa_state_init(st, p, 0, KND_SIM_BASE_MS);
    knd_pa_state_init(&pa, KND_SIM_BASE_MS);
    /* The revision's instances are created with initial-scale replicas (Knative's Deployment);
     * the PA scaler takes over once the decider has data. */
    if (p->initial_scale > 0)
        knd_sim_scale(&fleet, p->initial_scale, KND_SIM_BASE_MS, c->startup_delay_ms);

    for (long s = 0; s <= end_s && n > 0; s++) {
        uint64_t now = KND_SIM_BASE_MS + (uint64_t)s * 1000;
        double load = knd_sim_load_at(trace, n, &cur, (double)s);
        knd_window_record(stable, now, load);
        knd_window_record(panic, now, load);
        /* Every 2 s, and at once when a request reaches a revision scaled to zero (the
         * activator's poke). */
        if (s % KND_SIM_TICK_S != 0 && !(st->desired_scale == 0 && load > 0))
            continue;
        bool empty;
        double sv = knd_sim_avg(p, stable, now, &empty);
        double pv = knd_sim_avg(p, panic, now, NULL);
        int ready = knd_sim_ready(&fleet, now);
        knd_kpa_decide(p, st, now, ready, sv, pv, !empty, true);
        knd_pa_result_t r = knd_pa_scale(p, &pa, now, st->desired_scale, ready, true);
        knd_pa_proxy_mode(&pa, now, r.want, st->excess_burst_capacity, ready);
        if (r.apply >= 0)
            knd_sim_scale(&fleet, r.apply, now, c->startup_delay_ms);
        out[nrows++] = (knd_sim_row_t){
            .t_s = (double)s,
            .observed_stable = sv,
            .observed_panic = pv,
            .desired = fleet.n,
            .ready = ready,
            .panic = st->panicking,
            .excess_burst_capacity = st->excess_burst_capacity,
        };
    }
    free(st);
    free(fleet.ready_at);
    knd_window_free(stable);
    knd_window_free(panic);
    *rows = out;
    return nrows;
}
