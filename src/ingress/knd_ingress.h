/*
 * knd_ingress.h - the ingress: the HTTP listener users' requests arrive on, routing by Host to a
 * route's traffic split (DESIGN §1 Ingress), then through the activator to an instance. One hop:
 * no sidecar, no second proxy.
 */
#ifndef KND_INGRESS_H
#define KND_INGRESS_H

#include <stdbool.h>
#include <uv.h>

#include "knd_err.h"
#include "knd_route_table.h"
#include "knd_trace.h"

typedef struct knd_ingress_s knd_ingress_t;

typedef struct {
    bool tag_header_routing; /* config-features tag-header-based-routing */
    bool request_log;        /* config-observability logging.enable-request-log */
    char request_log_path[512]; /* knd's logging.request-log-path; "" = stderr */
} knd_ingress_options_t;

int knd_ingress_start(uv_loop_t *loop, const char *host, int port, knd_ingress_t **out,
                      knd_err_t *err);
/** Installs a new sealed table (takes the caller's reference); requests in flight keep theirs. */
void knd_ingress_set_table(knd_ingress_t *ing, knd_route_table_t *t);
void knd_ingress_set_options(knd_ingress_t *ing, const knd_ingress_options_t *opt);
int knd_ingress_port(const knd_ingress_t *ing);
/** The route table in force (borrowed; NULL before the first reconcile). */
const knd_route_table_t *knd_ingress_table(const knd_ingress_t *ing);
/** Spans for every request when the tracer is enabled (borrowed; outlives the ingress). */
void knd_ingress_set_tracer(knd_ingress_t *ing, knd_tracer_t *tracer);
/** Closes every client connection now (the drain period is over). */
void knd_ingress_abort(knd_ingress_t *ing);
/** Stops listening; calls done(data) when every connection has finished. */
void knd_ingress_close(knd_ingress_t *ing, void (*done)(void *data), void *data);

#endif
