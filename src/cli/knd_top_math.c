/*
 * knd_top_math.c - the pure parts of `knd top` (see knd_top_math.h): stats parsing, rates,
 * histogram quantiles, the one-minute cold-start window, and the per-revision state between
 * polls.
 */
#include "knd_top_math.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_output.h"

/* ------------------------------------------------------------------ math */

double knd_top_rate(uint64_t prev, uint64_t cur, uint64_t dt_ms)
{
    if (dt_ms == 0)
        return 0;
    uint64_t d = cur >= prev ? cur - prev : cur;
    return (double)d * 1000.0 / (double)dt_ms;
}

void knd_top_hist_delta(const uint64_t *prev, const uint64_t *cur, size_t n, uint64_t *out)
{
    for (size_t i = 0; i < n; i++) {
        if (cur[i] < prev[i]) {
            memcpy(out, cur, n * sizeof(*out));
            return;
        }
        out[i] = cur[i] - prev[i];
    }
}

double knd_top_quantile(const double *bounds, size_t nbounds, const uint64_t *counts, double q)
{
    uint64_t total = 0;
    for (size_t i = 0; i <= nbounds; i++)
        total += counts[i];
    if (total == 0 || nbounds == 0)
        return NAN;
    q = q < 0 ? 0 : q > 1 ? 1 : q;
    double rank = q * (double)total;
    uint64_t below = 0;
    for (size_t i = 0; i <= nbounds; i++) {
        if (counts[i] == 0 || (double)(below + counts[i]) < rank) {
            below += counts[i];
            continue;
        }
        if (i == nbounds)
            return bounds[nbounds - 1]; /* the +Inf bucket: the best we know */
        double lo = i == 0 ? 0 : bounds[i - 1];
        double hi = bounds[i];
        return lo + (hi - lo) * ((rank - (double)below) / (double)counts[i]);
    }
    return bounds[nbounds - 1]; /* not reached: rank <= total */
}

uint64_t knd_top_window_push(knd_top_window_t *w, uint64_t t_ms, uint64_t v)
{
    if (w->len == KND_TOP_WINDOW_MAX) {
        w->head = (w->head + 1) % KND_TOP_WINDOW_MAX;
        w->len--;
    }
    size_t at = (w->head + w->len) % KND_TOP_WINDOW_MAX;
    w->t[at] = t_ms;
    w->v[at] = v;
    w->len++;
    uint64_t edge = t_ms > KND_TOP_WINDOW_MS ? t_ms - KND_TOP_WINDOW_MS : 0;
    /* The second-oldest sample already at or before the edge makes the oldest useless. */
    while (w->len >= 2 && w->t[(w->head + 1) % KND_TOP_WINDOW_MAX] <= edge) {
        w->head = (w->head + 1) % KND_TOP_WINDOW_MAX;
        w->len--;
    }
    uint64_t base = w->v[w->head];
    return v >= base ? v - base : v;
}

/* ------------------------------------------------------------------ parsing */

static uint64_t knd_top_json_u64(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    double d = json_is_number(v) ? json_number_value(v) : 0;
    return d > 0 ? (uint64_t)d : 0;
}

static int64_t knd_top_json_i64(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? (int64_t)json_number_value(v) : 0;
}

static void knd_top_json_str(const json_t *o, const char *key, char *out, size_t n)
{
    const char *s = json_string_value(json_object_get(o, key));
    snprintf(out, n, "%s", s ? s : "");
}

/* latency.bounds_ms / counts; a histogram of another shape is left empty (no percentiles). */
static void knd_top_parse_latency(const json_t *lat, knd_top_rev_sample_t *r)
{
    const json_t *b = json_object_get(lat, "bounds_ms");
    const json_t *c = json_object_get(lat, "counts");
    size_t nb = json_array_size(b);
    if (!json_is_array(b) || !json_is_array(c) || nb == 0 || nb > KND_TOP_MAX_BOUNDS ||
        json_array_size(c) != nb + 1)
        return;
    for (size_t i = 0; i < nb; i++) {
        const json_t *v = json_array_get(b, i);
        if (!json_is_number(v) || (i > 0 && json_number_value(v) <= r->bounds_ms[i - 1]))
            return;
        r->bounds_ms[i] = json_number_value(v);
    }
    for (size_t i = 0; i <= nb; i++) {
        double v = json_is_number(json_array_get(c, i)) ? json_number_value(json_array_get(c, i))
                                                         : 0;
        r->counts[i] = v > 0 ? (uint64_t)v : 0;
    }
    r->nbounds = nb;
}

int knd_top_parse(const json_t *doc, const char *ns, knd_top_snap_t *out, char *err)
{
    const json_t *revs = json_object_get(doc, "revisions");
    const json_t *tm = json_object_get(doc, "time_ms");
    if (!json_is_object(doc) || !json_is_array(revs) || !json_is_number(tm)) {
        snprintf(err, 256, "unexpected stats document: want {\"time_ms\", \"revisions\": [...]}");
        return -1;
    }
    out->time_ms = json_number_value(tm) > 0 ? (uint64_t)json_number_value(tm) : 0;
    out->revs = knd_xcalloc(json_array_size(revs) + 1, sizeof(*out->revs));
    out->n = 0;
    size_t i;
    const json_t *o;
    json_array_foreach(revs, i, o) {
        knd_top_rev_sample_t *r = &out->revs[out->n];
        if (!json_is_object(o) || json_string_value(json_object_get(o, "revision")) == NULL)
            continue;
        knd_top_json_str(o, "namespace", r->ns, sizeof(r->ns));
        if (ns != NULL && strcmp(ns, r->ns) != 0)
            continue;
        knd_top_json_str(o, "service", r->service, sizeof(r->service));
        knd_top_json_str(o, "configuration", r->configuration, sizeof(r->configuration));
        knd_top_json_str(o, "revision", r->revision, sizeof(r->revision));
        r->requests = knd_top_json_u64(o, "requests_total");
        r->cold_starts = knd_top_json_u64(o, "cold_starts_total");
        r->queue_wait_ms = knd_top_json_u64(o, "queue_wait_ms_total");
        r->resp_5xx = knd_top_json_u64(json_object_get(o, "responses"), "5xx");
        r->inflight = knd_top_json_i64(o, "inflight");
        r->queued = knd_top_json_i64(o, "queued");
        r->ready = knd_top_json_i64(o, "ready");
        r->desired = knd_top_json_i64(o, "desired");
        r->panic = json_is_true(json_object_get(o, "panic"));
        knd_top_parse_latency(json_object_get(o, "latency"), r);
        out->n++;
    }
    return 0;
}

void knd_top_snap_free(knd_top_snap_t *s)
{
    free(s->revs);
    s->revs = NULL;
    s->n = 0;
}

/* ------------------------------------------------------------------ state */

void knd_top_state_init(knd_top_state_t *st)
{
    memset(st, 0, sizeof(*st));
}

void knd_top_state_free(knd_top_state_t *st)
{
    knd_top_snap_free(&st->prev);
    for (size_t i = 0; i < st->nwins; i++)
        free(st->wins[i]);
    free(st->wins);
    memset(st, 0, sizeof(*st));
}

static bool knd_top_same_rev(const char *ns, const char *rev, const char *ns2, const char *rev2)
{
    return strcmp(ns, ns2) == 0 && strcmp(rev, rev2) == 0;
}

static const knd_top_rev_sample_t *knd_top_find_prev(const knd_top_state_t *st,
                                                     const knd_top_rev_sample_t *r)
{
    for (size_t i = 0; st->have_prev && i < st->prev.n; i++)
        if (knd_top_same_rev(st->prev.revs[i].ns, st->prev.revs[i].revision, r->ns, r->revision))
            return &st->prev.revs[i];
    return NULL;
}

static knd_top_window_t *knd_top_window_for(knd_top_state_t *st, const knd_top_rev_sample_t *r)
{
    for (size_t i = 0; i < st->nwins; i++)
        if (knd_top_same_rev(st->wins[i]->ns, st->wins[i]->revision, r->ns, r->revision))
            return st->wins[i];
    knd_top_window_t *w = knd_xcalloc(1, sizeof(*w));
    snprintf(w->ns, sizeof(w->ns), "%s", r->ns);
    snprintf(w->revision, sizeof(w->revision), "%s", r->revision);
    st->wins = knd_xrealloc(st->wins, (st->nwins + 1) * sizeof(*st->wins));
    st->wins[st->nwins++] = w;
    return w;
}

/* Forgets the windows of revisions that are gone. */
static void knd_top_state_prune(knd_top_state_t *st, const knd_top_snap_t *snap)
{
    size_t keep = 0;
    for (size_t i = 0; i < st->nwins; i++) {
        bool live = false;
        for (size_t j = 0; j < snap->n && !live; j++)
            live = knd_top_same_rev(st->wins[i]->ns, st->wins[i]->revision, snap->revs[j].ns,
                                    snap->revs[j].revision);
        if (live)
            st->wins[keep++] = st->wins[i];
        else
            free(st->wins[i]);
    }
    st->nwins = keep;
}

static void knd_top_fill_row(const knd_top_rev_sample_t *r, const knd_top_rev_sample_t *p,
                             uint64_t dt_ms, knd_top_row_t *row)
{
    snprintf(row->ns, sizeof(row->ns), "%s", r->ns);
    snprintf(row->service, sizeof(row->service), "%s", r->service);
    snprintf(row->revision, sizeof(row->revision), "%s", r->revision);
    row->inflight = r->inflight;
    row->queued = r->queued;
    row->ready = r->ready;
    row->desired = r->desired;
    row->panic = r->panic;
    row->p50_ms = row->p95_ms = NAN;
    row->fresh = p == NULL || dt_ms == 0;
    if (row->fresh)
        return;
    row->rps = knd_top_rate(p->requests, r->requests, dt_ms);
    row->err_rps = knd_top_rate(p->resp_5xx, r->resp_5xx, dt_ms);
    if (r->nbounds == 0 || r->nbounds != p->nbounds ||
        memcmp(r->bounds_ms, p->bounds_ms, r->nbounds * sizeof(double)) != 0)
        return;
    uint64_t d[KND_TOP_MAX_BOUNDS + 1];
    knd_top_hist_delta(p->counts, r->counts, r->nbounds + 1, d);
    row->p50_ms = knd_top_quantile(r->bounds_ms, r->nbounds, d, 0.50);
    row->p95_ms = knd_top_quantile(r->bounds_ms, r->nbounds, d, 0.95);
}

size_t knd_top_state_update(knd_top_state_t *st, knd_top_snap_t *snap, knd_top_row_t **rows)
{
    uint64_t dt = st->have_prev && snap->time_ms > st->prev.time_ms
                      ? snap->time_ms - st->prev.time_ms
                      : 0;
    knd_top_row_t *out = knd_xcalloc(snap->n + 1, sizeof(*out));
    for (size_t i = 0; i < snap->n; i++) {
        const knd_top_rev_sample_t *r = &snap->revs[i];
        knd_top_fill_row(r, knd_top_find_prev(st, r), dt, &out[i]);
        out[i].cold_1m = knd_top_window_push(knd_top_window_for(st, r), snap->time_ms,
                                             r->cold_starts);
    }
    knd_top_state_prune(st, snap);
    knd_top_snap_free(&st->prev);
    st->prev = *snap;
    st->have_prev = true;
    snap->revs = NULL;
    snap->n = 0;
    qsort(out, st->prev.n, sizeof(*out), knd_top_row_cmp);
    *rows = out;
    return st->prev.n;
}

int knd_top_row_cmp(const void *a, const void *b)
{
    const knd_top_row_t *x = a, *y = b;
    if (x->rps != y->rps)
        return x->rps > y->rps ? -1 : 1;
    int c = strcmp(x->ns, y->ns);
    return c != 0 ? c : strcmp(x->revision, y->revision);
}

/* ------------------------------------------------------------------ rendering */

static void knd_top_fmt_ms(double ms, char out[32])
{
    if (isnan(ms))
        snprintf(out, 32, "-");
    else if (ms < 10)
        snprintf(out, 32, "%.1fms", ms);
    else if (ms < 10000)
        snprintf(out, 32, "%.0fms", ms);
    else
        snprintf(out, 32, "%.1fs", ms / 1000);
}

void knd_top_render_table(const knd_top_row_t *rows, size_t n, bool all_ns, const char *ns,
                          knd_buf_t *out)
{
    if (n == 0) {
        if (all_ns || ns == NULL)
            knd_buf_puts(out, "No revisions found.\n");
        else
            knd_buf_printf(out, "No revisions found in %s namespace.\n", ns);
        return;
    }
    static const char *const head[] = {"NAMESPACE", "SERVICE", "REVISION", "RPS",
                                       "P50", "P95", "5XX/S", "INFLIGHT", "QUEUED",
                                       "READY", "PANIC", "COLD(1m)"};
    size_t skip = all_ns ? 0 : 1;
    knd_table_t t;
    knd_table_init(&t, KND_ARRAY_SIZE(head) - skip);
    knd_table_add(&t, head + skip);
    for (size_t i = 0; i < n; i++) {
        const knd_top_row_t *r = &rows[i];
        char rps[32], err[32], p50[32], p95[32], infl[32], q[32], ready[48], cold[32];
        snprintf(rps, sizeof(rps), r->fresh ? "-" : "%.1f", r->rps);
        snprintf(err, sizeof(err), r->fresh ? "-" : "%.1f", r->err_rps);
        knd_top_fmt_ms(r->p50_ms, p50);
        knd_top_fmt_ms(r->p95_ms, p95);
        snprintf(infl, sizeof(infl), "%lld", (long long)r->inflight);
        snprintf(q, sizeof(q), "%lld", (long long)r->queued);
        snprintf(ready, sizeof(ready), "%lld/%lld", (long long)r->ready, (long long)r->desired);
        snprintf(cold, sizeof(cold), "%llu", (unsigned long long)r->cold_1m);
        const char *cells[] = {r->ns, r->service[0] ? r->service : "-", r->revision, rps, p50,
                               p95, err, infl, q, ready, r->panic ? "yes" : "no", cold};
        knd_table_add(&t, cells + skip);
    }
    knd_table_render(&t, out);
    knd_table_free(&t);
}

static json_t *knd_top_json_ms(double ms)
{
    return isnan(ms) ? json_null() : json_real(round(ms * 1000) / 1000);
}

void knd_top_render_json(uint64_t time_ms, const knd_top_row_t *rows, size_t n, knd_buf_t *out)
{
    json_t *doc = json_object();
    json_t *arr = json_array();
    json_object_set_new(doc, "time_ms", json_integer((json_int_t)time_ms));
    for (size_t i = 0; i < n; i++) {
        const knd_top_row_t *r = &rows[i];
        json_t *o = json_object();
        json_object_set_new(o, "namespace", json_string(r->ns));
        json_object_set_new(o, "service", json_string(r->service));
        json_object_set_new(o, "revision", json_string(r->revision));
        json_object_set_new(o, "rps", json_real(round(r->rps * 1000) / 1000));
        json_object_set_new(o, "errors_per_second", json_real(round(r->err_rps * 1000) / 1000));
        json_object_set_new(o, "p50_ms", knd_top_json_ms(r->p50_ms));
        json_object_set_new(o, "p95_ms", knd_top_json_ms(r->p95_ms));
        json_object_set_new(o, "inflight", json_integer(r->inflight));
        json_object_set_new(o, "queued", json_integer(r->queued));
        json_object_set_new(o, "ready", json_integer(r->ready));
        json_object_set_new(o, "desired", json_integer(r->desired));
        json_object_set_new(o, "panic", json_boolean(r->panic));
        json_object_set_new(o, "cold_starts_1m", json_integer((json_int_t)r->cold_1m));
        json_array_append_new(arr, o);
    }
    json_object_set_new(doc, "revisions", arr);
    char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    knd_buf_puts(out, s);
    knd_buf_puts(out, "\n");
    free(s);
    json_decref(doc);
}
