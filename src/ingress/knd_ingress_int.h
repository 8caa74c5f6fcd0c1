/* knd_ingress_int.h - shared between the ingress listener and the proxy relay. */
#ifndef KND_INGRESS_INT_H
#define KND_INGRESS_INT_H

#include "knd_http_server.h"
#include "knd_ingress.h"

struct knd_ingress_s {
    uv_loop_t *loop;
    knd_http_server_t *srv;
    knd_route_table_t *table; /* current; requests hold their own references */
    knd_ingress_options_t opt;
    int log_fd;               /* request log: -1 when off */
    knd_buf_t log_buf;        /* lines waiting for the next flush */
    uv_timer_t log_timer;
    knd_tracer_t *tracer;     /* borrowed, may be NULL */
    struct knd_proxy_s *proxy_spare; /* released proxies kept for reuse (knd_proxy.c) */
    size_t nproxy_spare;
    bool closing;             /* the server is gone: proxies are freed, not parked */
    void (*done)(void *data);
    void *done_data;
};

/** Relays req to a target revision (knd_proxy.c). Takes a reference to table. default_route:
 * tag-header routing is on and the request took the route's default split. */
void knd__proxy_start(knd_ingress_t *ing, knd_http_req_t *req, knd_route_table_t *table,
                      const knd_rt_entry_t *entry, const knd_rt_target_t *target,
                      bool default_route);

/** Frees the parked proxies (their timers close asynchronously). */
void knd__proxy_free_spares(knd_ingress_t *ing);

/**
 * The request log's pending lines, to append one line to in place (a JSON object and "\n"),
 * or NULL while the buffer is over its limit (the line is dropped). Call knd__ingress_log_done
 * after appending: lines are flushed in batches.
 */
knd_buf_t *knd__ingress_log_buf(knd_ingress_t *ing);
void knd__ingress_log_done(knd_ingress_t *ing);

#endif
