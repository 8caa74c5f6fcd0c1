/*
 * knd_http_server.h - an HTTP/1.1 server on libuv streams (TCP or unix socket), parsing with
 * llhttp. One request at a time per connection (pipelined requests wait their turn); request and
 * response bodies stream through callbacks, never buffered whole by this layer.
 *
 * Request lifetime: the server creates a knd_http_req_t when a request head is complete and
 * calls the handler. The handler must eventually call knd_http_resp_end() (or the connection
 * drops, in which case on_abort is called). The request is freed by the server once its response
 * has ended and its body has been received (or discarded): after knd_http_resp_end() returns, or
 * after on_abort() returns, the handler must not touch the request again.
 *
 * TLS (knd_http_server_listen_tls) sits below all of this: the handshake runs in the read path
 * before any request, every write is encrypted on its way out, and queue sizes count ciphertext.
 */
#ifndef KND_HTTP_SERVER_H
#define KND_HTTP_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "knd_err.h"
#include "knd_http.h"
#include "knd_tls.h"

typedef struct knd_http_server_s knd_http_server_t;
typedef struct knd_http_conn_s knd_http_conn_t;
typedef struct knd_http_req_s knd_http_req_t;

typedef void (*knd_http_request_cb)(knd_http_req_t *req, void *data);

typedef struct {
    uint64_t header_timeout_ms; /* a request head (and a TLS handshake) must arrive within this
                                 * (slowloris); 0 = 10 s */
    uint64_t idle_timeout_ms;   /* keep-alive idle; 0 = 75 s */
    uint64_t body_timeout_ms;   /* max silence while a request body is read; 0 = 60 s */
} knd_http_limits_t;

struct knd_http_req_s {
    knd_http_head_t head; /* the request head (read-only for handlers) */
    void *data;           /* the handler's */
    /* Optional handler callbacks, set in the request callback: */
    void (*on_body)(knd_http_req_t *r, const char *p, size_t n); /* decoded body bytes */
    void (*on_body_end)(knd_http_req_t *r);                      /* body fully received */
    void (*on_abort)(knd_http_req_t *r);  /* connection lost before the response ended */
    void (*on_drain)(knd_http_req_t *r);  /* response output drained below the low mark */
    /* After knd_http_req_raw_start (an upgraded connection): bytes from the client. The end of
     * the tunnel from the client's side is reported through on_abort. */
    void (*on_raw)(knd_http_req_t *r, const char *p, size_t n);
    char peer[64];                        /* client address ("127.0.0.1", "unix") */
    bool secure;                          /* true when the request came over TLS */
    /* private to the server */
    knd_http_conn_t *conn;
    knd_buf_t held;  /* the response head, held to leave with the first body bytes (1 write) */
    knd_http_req_t *spare_next; /* while parked on the server's free list */
    bool body_done, resp_started, resp_ended, resp_chunked, resp_no_body, aborted, want_drain;
};

/** Starts a TCP server on host:port. */
int knd_http_server_listen_tcp(uv_loop_t *loop, const char *host, int port,
                               const knd_http_limits_t *limits, knd_http_request_cb cb,
                               void *data, knd_http_server_t **out, knd_err_t *err);
/**
 * Like knd_http_server_listen_tcp, but every connection speaks TLS with ctx (borrowed; must
 * outlive the server). There is no plaintext fallback: a client that does not complete a TLS
 * handshake within header_timeout_ms, or sends anything else, is disconnected.
 */
int knd_http_server_listen_tls(uv_loop_t *loop, const char *host, int port,
                               const knd_http_limits_t *limits, knd_tls_ctx_t *ctx,
                               knd_http_request_cb cb, void *data, knd_http_server_t **out,
                               knd_err_t *err);
/** Starts a server on a unix socket at path (an existing socket file is replaced), mode 0600. */
int knd_http_server_listen_unix(uv_loop_t *loop, const char *path,
                                const knd_http_limits_t *limits, knd_http_request_cb cb,
                                void *data, knd_http_server_t **out, knd_err_t *err);
/** The bound port (TCP), useful with port 0. */
int knd_http_server_port(const knd_http_server_t *srv);
/**
 * Stops accepting, closes idle connections, lets active requests finish (no keep-alive), and
 * frees the server once every connection is gone; then calls done(data) if not NULL.
 */
void knd_http_server_close(knd_http_server_t *srv, void (*done)(void *data), void *data);
/** Closes every connection now (after a failed drain): active requests get on_abort. */
void knd_http_server_abort_all(knd_http_server_t *srv);
/** Number of open connections. */
size_t knd_http_server_conns(const knd_http_server_t *srv);

/**
 * Sends the status line and headers. `headers` is a block of "Name: value\r\n" lines (may be
 * NULL); the server adds the framing: Content-Length when content_length >= 0, chunked encoding
 * when -1 (or no body for HEAD, 1xx, 204, 304), and Connection: close when the connection ends
 * after this response. The head is written with the first body bytes: when content_length > 0
 * it waits for them (or for knd_http_resp_end), otherwise at most until the end of this loop
 * iteration; a 1xx goes at once.
 */
void knd_http_resp_head(knd_http_req_t *r, int status, const char *headers, int64_t content_length);
/**
 * Sends an informational (1xx, not 101) response ahead of the final one, with `headers` as
 * "Name: value\r\n" lines: a proxy forwards the 1xx its upstream sends (RFC 9110 15.2, as Go's
 * ReverseProxy does). Nothing is sent once the final response started, or to an HTTP/1.0 client
 * (which must not get one).
 */
void knd_http_resp_interim(knd_http_req_t *r, int status, const char *headers);
/** Sends body bytes (copied). */
void knd_http_resp_body(knd_http_req_t *r, const char *p, size_t n);
/** Ends the response. After this call r may be freed. */
void knd_http_resp_end(knd_http_req_t *r);
/** Gives up on a response already started: closes the connection (no on_abort). */
void knd_http_resp_abort(knd_http_req_t *r);
/** Convenience: a complete response with a body. */
void knd_http_resp_simple(knd_http_req_t *r, int status, const char *content_type,
                          const char *body, size_t n);
/** Bytes queued for writing to the client; with on_drain set, on_drain fires when it drains. */
size_t knd_http_resp_queued(const knd_http_req_t *r);
/** Stops / restarts reading the request body from the client (backpressure). */
void knd_http_req_pause(knd_http_req_t *r);
void knd_http_req_resume(knd_http_req_t *r);

/*
 * Upgrades (websocket): a request with Upgrade is parsed up to its head; the handler answers
 * 101 with knd_http_resp_head (the Upgrade/Connection headers are its to send), then calls
 * knd_http_req_raw_start: from then on the connection carries raw bytes both ways. A non-101
 * answer to an upgrade request ends the connection after the response.
 */
void knd_http_req_raw_start(knd_http_req_t *r);
void knd_http_req_raw_write(knd_http_req_t *r, const char *p, size_t n);
/** Ends the tunnel: pending output is flushed, then the connection closes; r is freed. */
void knd_http_req_raw_close(knd_http_req_t *r);

#define KND_HTTP_DRAIN_LOW (64 * 1024)

#endif
