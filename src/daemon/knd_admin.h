/*
 * knd_admin.h - the admin listener (plain HTTP): /metrics (Prometheus text), /healthz, /readyz.
 * Read-only: nothing here changes state.
 */
#ifndef KND_ADMIN_H
#define KND_ADMIN_H

#include "knd_http_server.h"
#include "knd_reconcile.h"

int knd_admin_start(uv_loop_t *loop, const char *host, int port, knd_reconciler_t *rc,
                    knd_http_server_t **out, knd_err_t *err);

#endif
