/*
 * knd_trace_int.h - the tracer's state, shared by knd_trace.c (contexts, propagation, sampling)
 * and knd_trace_export.c (span queue, collector resolution, Zipkin export, lifecycle). Not for
 * other subsystems (the module's unit test reads counters from it).
 */
#ifndef KND_TRACE_INT_H
#define KND_TRACE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "knd_http_client.h"
#include "knd_trace.h"

#define KND_TRACE_ADDRS_MAX 8 /* collector addresses kept from one resolution */

struct knd_tracer_s {
    uv_loop_t *loop;
    char *service;       /* owned: localEndpoint.serviceName */
    bool enabled;
    double sample_rate;  /* 0..1 */
    bool debug;          /* config debug: sample everything */
    uint64_t flush_ms, timeout_ms;

    /* The collector. Changing the endpoint bumps gen, which retires what was under way for
     * the old one (a resolution's answer, further connect attempts of a batch). */
    char *endpoint;          /* owned: zipkin-endpoint as configured */
    char *endpoint_err;      /* owned: why it did not parse, NULL when it did */
    knd_trace_endpoint_t ep; /* parsed (valid when endpoint_err is NULL) */
    unsigned gen;
    bool warned;             /* the endpoint's problem (parse or resolution) was logged */
    struct sockaddr_storage addrs[KND_TRACE_ADDRS_MAX];
    size_t naddrs;           /* 0 with resolved: the name did not resolve */
    size_t addr_cur;         /* the address to try first: the last that connected */
    bool resolved;           /* addrs holds an answer (a literal's is permanent) */
    bool stale;              /* a connect failed since: ask again before the next batch */
    uint64_t resolved_at;    /* loop time of the answer */
    uv_getaddrinfo_t gai;    /* the resolution in flight (at most one) */
    bool resolving;
    unsigned gai_gen;        /* the endpoint generation it is for */
    uint64_t resolutions;    /* started, for tests */

    char **queue;        /* owned ring of owned span JSON objects */
    size_t qhead, qlen;  /* ring start and length, capacity KND_TRACE_QUEUE_MAX */

    /* The POST in flight (at most one). */
    bool posting;
    knd_http_client_t *client; /* the connection (attempt) of the POST, or NULL between tries */
    knd_buf_t body;      /* the request (head and batch) being sent */
    size_t batch_spans;  /* spans in it */
    unsigned batch_gen;  /* the endpoint generation it is addressed to */
    size_t batch_tries;  /* addresses tried for it */
    size_t batch_addr;   /* the address being tried */
    bool batch_connected;
    int resp_status;

    uv_timer_t flush_timer;   /* armed while spans wait */
    uv_timer_t timeout_timer; /* armed while a POST is in flight */
    int open_handles;

    uint64_t dropped, exported;
    bool closing, finishing;
    void (*done)(void *);
    void *done_data;
};

/** A random 64-bit value, never 0 (ids must not be all zeros). */
uint64_t knd__trace_random(void);

#endif
