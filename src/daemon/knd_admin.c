/*
 * knd_admin.c - /metrics, /healthz and /readyz on the admin address (see knd_admin.h).
 *
 * /metrics is Prometheus text 0.0.4, rendered at scrape time from counters the data path and the
 * autoscaler already own (nothing is counted here). Names and labels are Knative's legacy
 * Prometheus ones (SPEC §h.2: revision_*, activator_*, autoscaler_*), so dashboards written for
 * Knative keep working, plus knd's own under knd_ and the standard process_* ones.
 */
#include "knd_admin.h"

#include <dirent.h>
#include <stdint.h>
#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "knd_alloc.h"
#include "knd_buf.h"

/* One metric family: how each revision contributes its series. */
typedef struct {
    const char *name, *type, *help;
    void (*emit)(knd_buf_t *b, const char *name, const knd_rev_rt_t *r, const char *labels);
} knd_admin_family_t;

static void knd_admin_labels(char *out, size_t n, const knd_rev_t *rev)
{
    snprintf(out, n,
             "namespace_name=\"%s\",service_name=\"%s\",configuration_name=\"%s\","
             "revision_name=\"%s\"",
             rev->ns, rev->service, rev->configuration, rev->name);
}

static const char *const knd_admin_classes[] = {"", "1xx", "2xx", "3xx", "4xx", "5xx"};

static void knd_admin_request_count(knd_buf_t *b, const char *name, const knd_rev_rt_t *r,
                                    const char *labels)
{
    const knd_rev_t *rev = knd_rev_rt_rev(r);
    for (size_t i = 0; i < KND_STATUS_CODES && rev->codes[i].code; i++)
        knd_buf_printf(b, "%s{%s,response_code=\"%d\",response_code_class=\"%s\"} %llu\n", name,
                       labels, rev->codes[i].code, knd_admin_classes[rev->codes[i].code / 100],
                       (unsigned long long)rev->codes[i].n);
}

static void knd_admin_latencies(knd_buf_t *b, const char *name, const knd_rev_rt_t *r,
                                const char *labels)
{
    const knd_rev_t *rev = knd_rev_rt_rev(r);
    unsigned long long cum = 0;
    for (int i = 0; i <= KND_LATENCY_BUCKETS; i++) {
        cum += rev->latency_counts[i];
        if (i < KND_LATENCY_BUCKETS)
            knd_buf_printf(b, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels,
                           knd_latency_bounds_ms[i], cum);
        else
            knd_buf_printf(b, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels, cum);
    }
    knd_buf_printf(b, "%s_sum{%s} %.3f\n%s_count{%s} %llu\n", name, labels, rev->latency_sum_ms,
                   name, labels, cum);
}

/* One sample line, without printf for the common whole-number case (a scrape of 1,000 revisions
 * writes some 15,000 of these). */
static void knd_admin_sample(knd_buf_t *b, const char *name, const char *labels, double v)
{
    char num[32];
    size_t n;
    if (v >= 0 && v < 1e15 && v == (double)(uint64_t)v) {
        uint64_t u = (uint64_t)v;
        char tmp[24];
        size_t k = 0;
        do
            tmp[k++] = (char)('0' + u % 10);
        while ((u /= 10) > 0);
        for (n = 0; n < k; n++)
            num[n] = tmp[k - 1 - n];
    } else {
        n = (size_t)snprintf(num, sizeof(num), "%.6g", v);
    }
    knd_buf_puts(b, name);
    knd_buf_append(b, "{", 1);
    knd_buf_puts(b, labels);
    knd_buf_append(b, "} ", 2);
    knd_buf_append(b, num, n);
    knd_buf_append(b, "\n", 1);
}

#define KND_ADMIN_GAUGE(fn, expr)                                                                 \
    static void fn(knd_buf_t *b, const char *name, const knd_rev_rt_t *r, const char *labels)    \
    {                                                                                             \
        knd_rev_scale_view_t v;                                                                   \
        const knd_rev_t *rev = knd_rev_rt_rev(r);                                                 \
        knd_rev_rt_scale_view(r, &v);                                                             \
        (void)rev;                                                                                \
        knd_admin_sample(b, name, labels, (double)(expr));                                        \
    }

KND_ADMIN_GAUGE(knd_admin_concurrency, rev->inflight + rev->queued)
KND_ADMIN_GAUGE(knd_admin_requests, rev->requests_total)
KND_ADMIN_GAUGE(knd_admin_desired, v.desired)
KND_ADMIN_GAUGE(knd_admin_actual, knd_rev_rt_ready(r))
KND_ADMIN_GAUGE(knd_admin_panic, v.panic ? 1 : 0)
KND_ADMIN_GAUGE(knd_admin_stable_conc, v.metric == KND_METRIC_RPS ? 0 : v.observed_stable)
KND_ADMIN_GAUGE(knd_admin_panic_conc, v.metric == KND_METRIC_RPS ? 0 : v.observed_panic)
KND_ADMIN_GAUGE(knd_admin_target_conc, v.metric == KND_METRIC_RPS ? 0 : v.target)
KND_ADMIN_GAUGE(knd_admin_stable_rps, v.metric == KND_METRIC_RPS ? v.observed_stable : 0)
KND_ADMIN_GAUGE(knd_admin_panic_rps, v.metric == KND_METRIC_RPS ? v.observed_panic : 0)
KND_ADMIN_GAUGE(knd_admin_target_rps, v.metric == KND_METRIC_RPS ? v.target : 0)
KND_ADMIN_GAUGE(knd_admin_ebc, v.excess_burst_capacity)
KND_ADMIN_GAUGE(knd_admin_queued, rev->queued)
KND_ADMIN_GAUGE(knd_admin_inflight, rev->inflight)
KND_ADMIN_GAUGE(knd_admin_cold, rev->cold_starts_total)
KND_ADMIN_GAUGE(knd_admin_wait, rev->queue_wait_ms_total / 1000.0)
KND_ADMIN_GAUGE(knd_admin_rejected, rev->rejected_total)

/*
 * revision_request_count and activator_request_count keep the names Knative gave them (the
 * dashboards query them) but are typed "untyped": Knative exports them as counters, and a
 * counter without the _total suffix fails promtool's lint. Prometheus queries (rate, increase)
 * treat both types the same.
 */
static const knd_admin_family_t knd_admin_families[] = {
    {"revision_request_count", "untyped", "The number of requests that are routed to the revision",
     knd_admin_request_count},
    {"revision_request_latencies", "histogram", "The response time in millisecond",
     knd_admin_latencies},
    {"activator_request_concurrency", "gauge",
     "Concurrent requests that are routed to the activator (in flight plus queued)",
     knd_admin_concurrency},
    {"activator_request_count", "untyped", "The number of requests that are routed to the activator",
     knd_admin_requests},
    {"autoscaler_desired_pods", "gauge", "Number of pods autoscaler wants to allocate",
     knd_admin_desired},
    {"autoscaler_requested_pods", "gauge", "Number of pods autoscaler requested",
     knd_admin_desired},
    {"autoscaler_actual_pods", "gauge", "Number of pods that are allocated currently",
     knd_admin_actual},
    {"autoscaler_panic_mode", "gauge", "1 if autoscaler is in panic mode, 0 otherwise",
     knd_admin_panic},
    {"autoscaler_stable_request_concurrency", "gauge",
     "Average of requests count per observed pod over the stable window", knd_admin_stable_conc},
    {"autoscaler_panic_request_concurrency", "gauge",
     "Average of requests count per observed pod over the panic window", knd_admin_panic_conc},
    {"autoscaler_target_concurrency_per_pod", "gauge",
     "The desired number of concurrent requests for each pod", knd_admin_target_conc},
    {"autoscaler_stable_requests_per_second", "gauge",
     "Average requests-per-second over the stable window", knd_admin_stable_rps},
    {"autoscaler_panic_requests_per_second", "gauge",
     "Average requests-per-second over the panic window", knd_admin_panic_rps},
    {"autoscaler_target_requests_per_second", "gauge",
     "The desired requests-per-second for each pod", knd_admin_target_rps},
    {"autoscaler_excess_burst_capacity", "gauge",
     "Excess burst capacity observed over the stable window", knd_admin_ebc},
    {"knd_revision_queued_requests", "gauge", "Requests waiting in knd's activator for an instance",
     knd_admin_queued},
    {"knd_revision_inflight_requests", "gauge", "Requests being served by the revision's instances",
     knd_admin_inflight},
    {"knd_revision_cold_starts_total", "counter",
     "Requests that found no ready instance and waited for one to start", knd_admin_cold},
    {"knd_revision_cold_start_wait_seconds_total", "counter",
     "Time requests spent waiting for an instance, in seconds", knd_admin_wait},
    {"knd_revision_rejected_requests_total", "counter",
     "Requests refused with 503 pending request queue full", knd_admin_rejected},
};

/* The revisions of one scrape, with their label set built once. */
typedef struct {
    const knd_rev_rt_t **revs;
    char **labels;
    size_t n, cap;
} knd_admin_scrape_t;

static void knd_admin_collect(const knd_rev_rt_t *r, void *data)
{
    knd_admin_scrape_t *sc = data;
    if (sc->n == sc->cap) {
        sc->cap = sc->cap ? sc->cap * 2 : 64;
        sc->revs = knd_xrealloc(sc->revs, sc->cap * sizeof(*sc->revs));
        sc->labels = knd_xrealloc(sc->labels, sc->cap * sizeof(*sc->labels));
    }
    char labels[512];
    knd_admin_labels(labels, sizeof(labels), knd_rev_rt_rev(r));
    sc->revs[sc->n] = r;
    sc->labels[sc->n++] = knd_xstrdup(labels);
}

/* Families that only make sense for some revisions: no series rather than a row of zeros, as
 * Knative's exporters do (a histogram before any request, the other metric's trio). */
static bool knd_admin_applies(const knd_admin_family_t *f, const knd_rev_rt_t *r)
{
    const knd_rev_t *rev = knd_rev_rt_rev(r);
    if (f->emit == knd_admin_latencies || f->emit == knd_admin_request_count)
        return rev->responses[0] + rev->responses[1] + rev->responses[2] + rev->responses[3] +
                   rev->responses[4] + rev->responses[5] > 0;
    knd_rev_scale_view_t v;
    knd_rev_rt_scale_view(r, &v);
    bool rps = v.metric == KND_METRIC_RPS;
    if (f->emit == knd_admin_stable_conc || f->emit == knd_admin_panic_conc ||
        f->emit == knd_admin_target_conc)
        return !rps;
    if (f->emit == knd_admin_stable_rps || f->emit == knd_admin_panic_rps ||
        f->emit == knd_admin_target_rps)
        return rps;
    return true;
}

/* The daemon's own footprint, under the standard process_* names. */
static void knd_admin_process(knd_buf_t *b)
{
    long size_pages = 0, rss_pages = 0, fds = 0;
    FILE *f = fopen("/proc/self/statm", "re");
    if (f) {
        if (fscanf(f, "%ld %ld", &size_pages, &rss_pages) != 2)
            rss_pages = 0;
        fclose(f);
    }
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        while (readdir(d))
            fds++;
        closedir(d);
        fds -= 3; /* ".", ".." and the directory itself */
    }
    knd_buf_printf(b,
                   "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                   "# TYPE process_resident_memory_bytes gauge\n"
                   "process_resident_memory_bytes %ld\n"
                   "# HELP process_open_fds Number of open file descriptors.\n"
                   "# TYPE process_open_fds gauge\nprocess_open_fds %ld\n",
                   rss_pages * sysconf(_SC_PAGESIZE), fds);
}

static void knd_admin_tracer(knd_buf_t *b, const knd_tracer_t *t)
{
    if (t == NULL)
        return;
    knd_buf_printf(b,
                   "# HELP knd_trace_spans_exported_total Spans delivered to the collector.\n"
                   "# TYPE knd_trace_spans_exported_total counter\n"
                   "knd_trace_spans_exported_total %llu\n"
                   "# HELP knd_trace_spans_dropped_total Spans dropped (queue full, collector slow "
                   "or down).\n"
                   "# TYPE knd_trace_spans_dropped_total counter\n"
                   "knd_trace_spans_dropped_total %llu\n",
                   (unsigned long long)knd_tracer_exported(t),
                   (unsigned long long)knd_tracer_dropped(t));
}

static void knd_admin_reconciler(knd_buf_t *b, const knd_reconciler_t *rc)
{
    uint64_t passes;
    double seconds;
    knd_reconciler_stats(rc, &passes, &seconds);
    knd_buf_printf(b,
                   "# HELP knd_reconcile_passes_total Reconcile passes run (on a change, and "
                   "the safety pass when something changed unannounced or once a minute).\n"
                   "# TYPE knd_reconcile_passes_total counter\n"
                   "knd_reconcile_passes_total %llu\n"
                   "# HELP knd_reconcile_seconds_total Time the reconcile passes took; the "
                   "daemon's loop serves nothing else meanwhile.\n"
                   "# TYPE knd_reconcile_seconds_total counter\n"
                   "knd_reconcile_seconds_total %.6f\n",
                   (unsigned long long)passes, seconds);
}

static void knd_admin_metrics(knd_http_req_t *req, knd_reconciler_t *rc, const knd_tracer_t *t)
{
    knd_buf_t b;
    knd_buf_init(&b);
    knd_buf_puts(&b, "# HELP knd_up Whether the knd daemon is serving.\n# TYPE knd_up gauge\n"
                     "knd_up 1\n");
    knd_admin_scrape_t sc = {0};
    knd_runtime_each_rev(knd_reconciler_runtime(rc), knd_admin_collect, &sc);
    for (size_t i = 0; i < sizeof(knd_admin_families) / sizeof(knd_admin_families[0]); i++) {
        const knd_admin_family_t *f = &knd_admin_families[i];
        knd_buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, f->type);
        for (size_t k = 0; k < sc.n; k++)
            if (knd_admin_applies(f, sc.revs[k]))
                f->emit(&b, f->name, sc.revs[k], sc.labels[k]);
    }
    for (size_t k = 0; k < sc.n; k++)
        free(sc.labels[k]);
    free(sc.labels);
    free(sc.revs);
    knd_admin_tracer(&b, t);
    knd_admin_reconciler(&b, rc);
    knd_admin_process(&b);
    knd_http_resp_simple(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
    knd_buf_free(&b);
}

typedef knd_admin_deps_t knd_admin_t;

/* ------------------------------------------------------------------ /debug */

static void knd_admin_json(knd_http_req_t *req, json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    knd_http_resp_simple(req, 200, "application/json", s, strlen(s));
    free(s);
    json_decref(v);
}

static void knd_admin_debug_routes(knd_http_req_t *req, knd_admin_t *a)
{
    json_t *hosts = json_array();
    const knd_route_table_t *t = knd_ingress_table(a->ingress);
    for (size_t i = 0; t && i < t->n; i++) {
        const knd_rt_entry_t *e = &t->entries[i];
        json_t *targets = json_array();
        for (size_t k = 0; k < e->ntargets; k++)
            json_array_append_new(targets, json_pack("{s:s, s:i, s:s?}", "revision",
                                                     e->targets[k].rev->name, "percent",
                                                     e->targets[k].percent, "tag",
                                                     e->targets[k].tag));
        json_array_append_new(hosts, json_pack("{s:s, s:s, s:s, s:s?, s:o}", "host", e->host,
                                               "namespace", e->ns, "route", e->route, "tag",
                                               e->tag, "targets", targets));
    }
    knd_admin_json(req, json_pack("{s:o}", "hosts", hosts));
}

static const char *const knd_admin_states[] = {"starting", "ready", "not-ready", "stopping",
                                               "stopped"};

static void knd_admin_debug_instance(const knd_instance_t *inst, const knd_endpoint_t *ep,
                                     void *data)
{
    json_array_append_new(
        data, json_pack("{s:s, s:i, s:i, s:s, s:i, s:b}", "id", knd_instance_id(inst), "pid",
                        knd_instance_pid(inst), "port", knd_instance_port(inst), "state",
                        knd_admin_states[knd_instance_state(inst)], "inflight",
                        ep ? ep->inflight : 0, "in_lb_set", ep && ep->ready && !ep->removed));
}

static void knd_admin_debug_rev(const knd_rev_rt_t *r, void *data)
{
    const knd_rev_t *rev = knd_rev_rt_rev(r);
    knd_rev_scale_view_t v;
    knd_rev_rt_scale_view(r, &v);
    json_t *insts = json_array();
    knd_rev_rt_each_instance(r, knd_admin_debug_instance, insts);
    json_array_append_new(
        data, json_pack("{s:s, s:s, s:i, s:I, s:I, s:I, s:i, s:i, s:b, s:b, s:f, s:f, s:s?,"
                        " s:o}",
                        "namespace", rev->ns, "revision", rev->name, "container_concurrency",
                        rev->limits.container_concurrency, "queued", (json_int_t)rev->queued,
                        "inflight", (json_int_t)rev->inflight, "queue_limit",
                        (json_int_t)rev->limits.queue_limit, "desired", v.desired, "ready",
                        knd_rev_rt_ready(r), "autoscaled", v.scaling, "panic", v.panic,
                        "observed_stable", v.observed_stable, "observed_panic",
                        v.observed_panic, "failure", knd_rev_rt_fail_reason(r), "instances",
                        insts));
}

static void knd_admin_debug_revisions(knd_http_req_t *req, knd_admin_t *a)
{
    json_t *revs = json_array();
    knd_runtime_each_rev(knd_reconciler_runtime(a->rc), knd_admin_debug_rev, revs);
    knd_admin_json(req, json_pack("{s:o}", "revisions", revs));
}

static void knd_admin_on_request(knd_http_req_t *req, void *data)
{
    knd_admin_t *a = data;
    const char *url = knd_http_head_url(&req->head);
    size_t n = strcspn(url, "?");
    if (req->head.method != HTTP_GET && req->head.method != HTTP_HEAD) {
        knd_http_resp_simple(req, 405, "text/plain", "method not allowed\n", 19);
    } else if (n == 8 && strncmp(url, "/metrics", n) == 0) {
        knd_admin_metrics(req, a->rc, a->tracer);
    } else if (n == 13 && strncmp(url, "/debug/routes", n) == 0) {
        knd_admin_debug_routes(req, a);
    } else if (n == 16 && strncmp(url, "/debug/revisions", n) == 0) {
        knd_admin_debug_revisions(req, a);
    } else if ((n == 8 && strncmp(url, "/healthz", n) == 0) ||
               (n == 7 && strncmp(url, "/readyz", n) == 0) ||
               (n == 6 && strncmp(url, "/livez", n) == 0)) {
        knd_http_resp_simple(req, 200, "text/plain", "ok", 2);
    } else {
        knd_http_resp_simple(req, 404, "text/plain", "not found\n", 10);
    }
}

int knd_admin_start(uv_loop_t *loop, const char *host, int port, const knd_admin_deps_t *deps,
                    knd_http_server_t **out, knd_err_t *err)
{
    return knd_http_server_listen_tcp(loop, host, port, NULL, knd_admin_on_request,
                                      (void *)deps, out, err);
}
