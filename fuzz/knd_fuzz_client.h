/*
 * knd_fuzz_client.h - what the fuzz targets share: running a libuv loop until the bytes on
 * loopback have been acted on, and a client connection that writes an input and collects the
 * answer (over TCP for the ingress, over a unix socket for the API).
 */
#ifndef KND_FUZZ_CLIENT_H
#define KND_FUZZ_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "knd_buf.h"

typedef struct {
    uv_loop_t *loop;
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } h;
    uv_connect_t conn;
    uv_shutdown_t shut;
    int connected; /* 0 pending, 1 yes, < 0 failed */
    bool eof, closed;
    knd_buf_t in; /* what came back */
} knd_fuzz_client_t;

/** Runs the loop until nothing is ready: every byte written on loopback has been read and
 * acted on. Timers further out (header and idle timeouts) are left pending. */
void knd_fuzz_settle(uv_loop_t *loop);
/** Runs the loop, timers included, for `ms` milliseconds. */
void knd_fuzz_linger(uv_loop_t *loop, uint64_t ms);

/** Connects to 127.0.0.1:port, or to the unix socket at path; aborts if that fails. */
void knd_fuzz_client_open_tcp(knd_fuzz_client_t *c, uv_loop_t *loop, int port);
void knd_fuzz_client_open_unix(knd_fuzz_client_t *c, uv_loop_t *loop, const char *path);
/** Writes n bytes, running the loop while the socket is full; stops if the peer closed. */
void knd_fuzz_client_send(knd_fuzz_client_t *c, const uint8_t *p, size_t n);
/** Writes n bytes in `pieces` writes of about the same size, the loop settling after each. */
void knd_fuzz_client_send_pieces(knd_fuzz_client_t *c, const uint8_t *p, size_t n,
                                 size_t pieces);
/** Half-closes the connection and lets the loop act on it. */
void knd_fuzz_client_shutdown(knd_fuzz_client_t *c);
/** Runs the loop until the peer closes the connection or `ms` pass; false on a timeout. */
bool knd_fuzz_client_wait_eof(knd_fuzz_client_t *c, uint64_t ms);
/** Closes the connection and frees what came back. */
void knd_fuzz_client_close(knd_fuzz_client_t *c);

#endif
