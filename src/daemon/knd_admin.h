/*
 * knd_admin.h - the admin listener (plain HTTP): /metrics (Prometheus text), /healthz, /readyz.
 * Read-only: nothing here changes state.
 */
#ifndef KND_ADMIN_H
#define KND_ADMIN_H

#include "knd_http_server.h"
#include "knd_ingress.h"
#include "knd_reconcile.h"
#include "knd_trace.h"

typedef struct {
    knd_reconciler_t *rc;
    knd_ingress_t *ingress;
    knd_tracer_t *tracer; /* may be NULL */
} knd_admin_deps_t;

/**
 * Serves /metrics, health, and /debug/routes and /debug/revisions (JSON, for operators).
 * deps is borrowed until the server has closed.
 */
int knd_admin_start(uv_loop_t *loop, const char *host, int port, const knd_admin_deps_t *deps,
                    knd_http_server_t **out, knd_err_t *err);

#endif
