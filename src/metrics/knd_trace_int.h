/*
 * knd_trace_int.h - the tracer's state, shared by knd_trace.c (contexts, propagation, sampling)
 * and knd_trace_export.c (span queue, Zipkin export, lifecycle). Not for other subsystems.
 */
#ifndef KND_TRACE_INT_H
#define KND_TRACE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "knd_http_client.h"
#include "knd_trace.h"

struct knd_tracer_s {
    uv_loop_t *loop;
    char *service;       /* owned: localEndpoint.serviceName */
    bool enabled;
    double sample_rate;  /* 0..1 */
    bool debug;          /* config debug: sample everything */
    bool endpoint_ok;    /* the endpoint parsed and is reachable with the loopback client */
    int port;            /* collector port */
    char *path;          /* owned: collector request path */
    char *host;          /* owned: Host header value */
    uint64_t flush_ms, timeout_ms;

    char **queue;        /* owned ring of owned span JSON objects */
    size_t qhead, qlen;  /* ring start and length, capacity KND_TRACE_QUEUE_MAX */

    /* The POST in flight (at most one). */
    knd_http_client_t *client;
    knd_buf_t body;      /* the request (head and batch) being sent */
    size_t batch_spans;  /* spans in it */
    int resp_status;

    uv_timer_t flush_timer;   /* armed while spans wait */
    uv_timer_t timeout_timer; /* armed while a POST is in flight */
    int open_handles;

    uint64_t dropped, exported;
    bool closing;
    void (*done)(void *);
    void *done_data;
};

/** A random 64-bit value, never 0 (ids must not be all zeros). */
uint64_t knd__trace_random(void);

#endif
