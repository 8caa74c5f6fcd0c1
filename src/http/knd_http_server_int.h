/*
 * knd_http_server_int.h - what the server's files share (knd_http_server.c, the listeners in
 * knd_http_server_listen.c, and the TLS layer in knd_http_server_tls.c): the server and
 * connection layouts and the functions that cross between them. Nothing outside src/http/
 * includes this.
 */
#ifndef KND_HTTP_SERVER_INT_H
#define KND_HTTP_SERVER_INT_H

#include "knd_buf.h"
#include "knd_http_server.h"
#include "knd_tls.h"

#define KND_HTTP_PENDING_MAX (64 * 1024) /* pipelined bytes held while a request is served */
#define KND_HTTP_SPARE_REQS 256           /* released requests a server keeps for reuse */
#define KND_HTTP_SPARE_BUF_MAX 8192       /* ... unless their buffers grew past this */

struct knd_http_server_s {
    union {
        uv_tcp_t tcp;
        uv_pipe_t pipe;
        uv_stream_t stream;
        uv_handle_t handle;
    } listener;
    uv_check_t flush; /* end of each loop iteration: sends response heads still held */
    uv_loop_t *loop;
    bool is_unix, closing;
    int open_handles;   /* listener and flush, until their close callbacks ran */
    knd_tls_ctx_t *tls; /* borrowed; NULL for plain listeners */
    knd_http_limits_t limits;
    knd_http_request_cb cb;
    void *data;
    knd_http_conn_t *conns; /* doubly linked list of live connections */
    size_t nconns;
    knd_http_conn_t *flush_list; /* connections holding a response head, via flush_next */
    knd_http_req_t *spare;       /* released requests, buffers kept, via spare_next */
    size_t nspare;
    int port;
    void (*done)(void *data);
    void *done_data;
};

struct knd_http_conn_s {
    union {
        uv_tcp_t tcp;
        uv_pipe_t pipe;
        uv_stream_t stream;
        uv_handle_t handle;
    } h;
    uv_timer_t timer;  /* head / body / idle timeout, armed lazily (knd_http_conn_deadline) */
    uv_timer_t resume; /* deferred processing of pipelined input */
    knd_http_server_t *srv;
    knd_http_conn_t *prev, *next;
    llhttp_t parser;
    knd_http_req_t *req;  /* the request being served, or NULL */
    knd_buf_t pending;    /* received but not yet parsed (parser paused between requests) */
    uint64_t deadline;    /* loop time the current timeout expires at; 0 = none */
    uint64_t timer_due;   /* loop time the timer is set to fire at, while active */
    knd_http_conn_t *flush_next;
    bool flush_queued;    /* on the server's flush_list */
    int open_handles;
    bool parser_paused;   /* stopped after a message, until its response ends */
    bool read_paused;     /* the handler asked for backpressure */
    bool reading;
    bool close_after_write, closing, eof;
    bool upgraded;        /* the parser stopped at an upgrade: what follows is raw */
    bool in_body;         /* past the head: header callbacks now carry trailers (ignored) */
    bool write_failed;    /* a write could not be queued: close from the loop, not the stack */
    bool raw;             /* the handler took the tunnel: reads go to req->on_raw */
    knd_tls_conn_t *tls;  /* owned; NULL on plain connections */
    char peer[64];
};

typedef struct {
    uv_write_t w;
    knd_http_conn_t *conn;
    uv_buf_t buf;
    char data[];
} knd_http_wreq_t;

/** uv_write completion of a connection's write: closes after the last one if asked to, and
 * tells a waiting handler that the output drained. */
void knd__http_conn_after_write(uv_write_t *w, int status);
/** A write could not be queued: the connection closes from the loop, not under the caller. */
void knd__http_conn_write_failed(knd_http_conn_t *c);
/** Feeds received (plaintext) bytes to the parser, stashing what follows a completed message. */
void knd__http_conn_process(knd_http_conn_t *c, const char *data, size_t n);
/** Closes c (aborting its request); freed once its handles have closed. */
void knd__http_conn_close(knd_http_conn_t *c);
/** The listener's connection callback (knd_http_server.c sets each connection up). */
void knd__http_server_on_conn(uv_stream_t *ls, int status);
/** Calls the close callback once a closing server has no handle and no connection left. */
void knd__http_server_maybe_done(knd_http_server_t *srv);

/* knd_http_server_req.c */
/** A request for a new message: a parked one reset, or a new one. */
knd_http_req_t *knd__http_req_new(knd_http_server_t *srv);
/** Releases a request: parked for reuse, or freed (server closing, list full, buffers large). */
void knd__http_req_free(knd_http_req_t *r);
/** Frees the parked requests (the server is going away). */
void knd__http_server_free_spares(knd_http_server_t *srv);

/* knd_http_server_tls.c */
/** Sends all the ciphertext the TLS session has produced, as one write; < 0 if it cannot. */
int knd__http_conn_tls_flush(knd_http_conn_t *c);
/** Encrypts and queues n bytes given in pieces. */
void knd__http_conn_tls_writev(knd_http_conn_t *c, const uv_buf_t *pieces, size_t npieces,
                               size_t n);
/** Ciphertext from the socket; -1 when the session is over (the caller closes). */
int knd__http_conn_tls_input(knd_http_conn_t *c, const char *p, size_t n);

#endif
