/* knd_admin.c - /metrics, /healthz and /readyz on the admin address (see knd_admin.h). */
#include "knd_admin.h"

#include <string.h>

#include "knd_buf.h"

typedef struct {
    knd_buf_t *b;
    int pass; /* one metric family per pass over the revisions */
} knd_admin_metrics_t;

static void knd_admin_rev_line(const knd_rev_rt_t *r, void *data)
{
    knd_admin_metrics_t *m = data;
    const knd_rev_t *rev = knd_rev_rt_rev(r);
    const char *fmt = m->pass == 0 ? "knd_revision_requests_total" :
                      m->pass == 1 ? "knd_revision_ready_instances" :
                      m->pass == 2 ? "knd_revision_desired_instances" : "knd_revision_queued_requests";
    unsigned long long v = m->pass == 0 ? rev->requests_total :
                           m->pass == 1 ? (unsigned long long)knd_rev_rt_ready(r) :
                           m->pass == 2 ? (unsigned long long)knd_rev_rt_desired(r) : rev->queued;
    knd_buf_printf(m->b,
                   "%s{namespace_name=\"%s\",service_name=\"%s\",configuration_name=\"%s\","
                   "revision_name=\"%s\"} %llu\n",
                   fmt, rev->ns, rev->service, rev->configuration, rev->name, v);
}

static void knd_admin_metrics(knd_http_req_t *req, knd_reconciler_t *rc)
{
    static const char *const families[][3] = {
        {"knd_revision_requests_total", "counter", "Requests routed to the revision's instances."},
        {"knd_revision_ready_instances", "gauge", "Instances of the revision ready for traffic."},
        {"knd_revision_desired_instances", "gauge", "Instances the revision should have."},
        {"knd_revision_queued_requests", "gauge", "Requests waiting for an instance."},
    };
    knd_buf_t b;
    knd_buf_init(&b);
    knd_buf_puts(&b, "# HELP knd_up Whether the knd daemon is serving.\n# TYPE knd_up gauge\n"
                     "knd_up 1\n");
    for (int i = 0; i < 4; i++) {
        knd_buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", families[i][0], families[i][2],
                       families[i][0], families[i][1]);
        knd_admin_metrics_t m = {.b = &b, .pass = i};
        knd_runtime_each_rev(knd_reconciler_runtime(rc), knd_admin_rev_line, &m);
    }
    knd_http_resp_simple(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
    knd_buf_free(&b);
}

static void knd_admin_on_request(knd_http_req_t *req, void *data)
{
    const char *url = knd_http_head_url(&req->head);
    size_t n = strcspn(url, "?");
    if (req->head.method != HTTP_GET && req->head.method != HTTP_HEAD) {
        knd_http_resp_simple(req, 405, "text/plain", "method not allowed\n", 19);
    } else if (n == 8 && strncmp(url, "/metrics", n) == 0) {
        knd_admin_metrics(req, data);
    } else if ((n == 8 && strncmp(url, "/healthz", n) == 0) ||
               (n == 7 && strncmp(url, "/readyz", n) == 0) ||
               (n == 6 && strncmp(url, "/livez", n) == 0)) {
        knd_http_resp_simple(req, 200, "text/plain", "ok", 2);
    } else {
        knd_http_resp_simple(req, 404, "text/plain", "not found\n", 10);
    }
}

int knd_admin_start(uv_loop_t *loop, const char *host, int port, knd_reconciler_t *rc,
                    knd_http_server_t **out, knd_err_t *err)
{
    return knd_http_server_listen_tcp(loop, host, port, NULL, knd_admin_on_request, rc, out, err);
}
