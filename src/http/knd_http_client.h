/*
 * knd_http_client.h - one client connection to an upstream HTTP/1.1 server over TCP (loopback
 * for instances, any address for the tracer's collector), with llhttp parsing the responses.
 * Used by the ingress to reach instances, with keep-alive: a connection that finished an
 * exchange cleanly can be reused (knd_http_client_reusable).
 *
 * The caller writes the request bytes itself (head and body framing are the proxy's business)
 * and receives the response through callbacks. Ownership: the caller owns the connection until
 * knd_http_client_close(), after which no callback fires and the memory is released once libuv
 * has closed the handle.
 */
#ifndef KND_HTTP_CLIENT_H
#define KND_HTTP_CLIENT_H

#include <stdbool.h>
#include <uv.h>

#include "knd_http.h"

typedef struct knd_http_client_s knd_http_client_t;

typedef struct {
    void (*on_connect)(knd_http_client_t *c, int status); /* status < 0: connect failed */
    void (*on_head)(knd_http_client_t *c, const knd_http_head_t *head); /* final response head */
    /* An informational response (1xx but 101) before the final one; optional. */
    void (*on_interim)(knd_http_client_t *c, const knd_http_head_t *head);
    void (*on_body)(knd_http_client_t *c, const char *p, size_t n);
    void (*on_done)(knd_http_client_t *c);             /* response complete */
    void (*on_error)(knd_http_client_t *c, int status); /* broke before on_done (or while idle) */
    void (*on_drain)(knd_http_client_t *c);            /* write queue drained (after a pause) */
    /* After a 101 response: raw bytes from the upstream (the tunnel); its end is on_error. */
    void (*on_raw)(knd_http_client_t *c, const char *p, size_t n);
} knd_http_client_cbs_t;

/** Starts connecting to 127.0.0.1:port; on_connect reports the outcome. NULL if the attempt
 * could not even start (no socket): then no callback fires. */
knd_http_client_t *knd_http_client_connect(uv_loop_t *loop, int port,
                                           const knd_http_client_cbs_t *cbs, void *data);
/**
 * Like knd_http_client_connect, to any IPv4 or IPv6 address (addr borrowed: a sockaddr_in or
 * sockaddr_in6, copied by libuv before this returns). NULL if the attempt could not even start
 * (no socket, or an address family the machine lacks): then no callback fires.
 */
knd_http_client_t *knd_http_client_connect_addr(uv_loop_t *loop, const struct sockaddr *addr,
                                                const knd_http_client_cbs_t *cbs, void *data);
/** Replaces the callbacks and data (when a pooled connection changes hands). */
void knd_http_client_bind(knd_http_client_t *c, const knd_http_client_cbs_t *cbs, void *data);
void *knd_http_client_data(const knd_http_client_t *c);
/** Prepares for a new exchange; head_request: the request is HEAD (response has no body). */
void knd_http_client_begin(knd_http_client_t *c, bool head_request);
/** Queues bytes (copied from up to three pieces as one write). */
void knd_http_client_write(knd_http_client_t *c, const char *a, size_t an, const char *b,
                           size_t bn, const char *d, size_t dn);
size_t knd_http_client_queued(const knd_http_client_t *c);
/** Stops / restarts reading the response (backpressure from a slow client). */
void knd_http_client_pause(knd_http_client_t *c);
void knd_http_client_resume(knd_http_client_t *c);
/** True after on_done when the connection can carry another request. */
bool knd_http_client_reusable(const knd_http_client_t *c);
/** Closes (idempotent); no callbacks after this. */
void knd_http_client_close(knd_http_client_t *c);

#endif
