/*
 * knd_tls.h - TLS for knd's HTTP server, as a byte-in/byte-out engine over OpenSSL memory BIOs:
 * libuv stays the I/O layer. The server feeds received ciphertext in, takes decrypted bytes out,
 * writes plaintext in and takes ciphertext out to send. Nothing here touches a socket.
 *
 * Ownership: a knd_tls_ctx_t (certificate, key, protocol settings) is shared by every connection
 * of a listener and must outlive them; a knd_tls_conn_t belongs to one connection.
 * Single-threaded use only (one loop).
 */
#ifndef KND_TLS_H
#define KND_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "knd_err.h"

typedef struct knd_tls_ctx_s knd_tls_ctx_t;
typedef struct knd_tls_conn_s knd_tls_conn_t;

#define KND_TLS_EOF (-1)   /* knd_tls_conn_read: the peer sent close_notify */
#define KND_TLS_ERROR (-2) /* a failed handshake, a bad record, a protocol violation */

/** A server context from PEM files: TLS 1.2+, ALPN http/1.1 only (h2 is not offered).
 * cert_file may hold a chain (leaf first). Returns 0, or -1 with err set. */
int knd_tls_ctx_new(const char *cert_file, const char *key_file, knd_tls_ctx_t **out,
                    knd_err_t *err);
void knd_tls_ctx_free(knd_tls_ctx_t *ctx);
/**
 * A context that loads its files when the first connection arrives: prepare(data, err) runs
 * first (it may create or renew the files), then the certificate and key are loaded as by
 * knd_tls_ctx_new. Until that succeeds, knd_tls_conn_new returns NULL (the connection is
 * refused) and the error is logged; it is tried again at most every 5 s.
 */
knd_tls_ctx_t *knd_tls_ctx_new_lazy(const char *cert_file, const char *key_file,
                                    int (*prepare)(void *data, knd_err_t *err), void *data);

/** Fills err with "<what> <path>: <the reason OpenSSL left in its error queue>" and code,
 * empties the queue, and returns -1. */
int knd_tls_openssl_fail(knd_err_t *err, knd_errcode_t code, const char *what, const char *path);

/** A server-side session (borrows ctx). NULL only while a lazy context cannot be loaded
 * (aborts on out of memory). */
knd_tls_conn_t *knd_tls_conn_new(knd_tls_ctx_t *ctx);
void knd_tls_conn_free(knd_tls_conn_t *t);

/** Hands n bytes of ciphertext received from the peer to the engine (copied). */
void knd_tls_conn_feed(knd_tls_conn_t *t, const char *p, size_t n);
/**
 * Advances the handshake, then decrypts: returns plaintext bytes (> 0) stored in buf, 0 when
 * more ciphertext is needed, KND_TLS_EOF or KND_TLS_ERROR (see knd_tls_conn_error). Call it until
 * it returns <= 0 after each feed, then send what knd_tls_conn_out_pending reports: the
 * handshake produces output too.
 */
ssize_t knd_tls_conn_read(knd_tls_conn_t *t, char *buf, size_t cap);
/** Encrypts n bytes (all of them, or none on error). Returns 0, or KND_TLS_ERROR before the
 * handshake is done or after a fatal error. */
int knd_tls_conn_write(knd_tls_conn_t *t, const char *p, size_t n);
/** Bytes of ciphertext waiting to be sent. */
size_t knd_tls_conn_out_pending(const knd_tls_conn_t *t);
/** Moves up to cap bytes of pending ciphertext into dst; returns how many. */
size_t knd_tls_conn_out_take(knd_tls_conn_t *t, char *dst, size_t cap);
/** Queues a close_notify alert if the session is established and healthy (never blocks). */
void knd_tls_conn_shutdown(knd_tls_conn_t *t);
/** True once the handshake has completed. */
bool knd_tls_conn_established(const knd_tls_conn_t *t);
/** The negotiated ALPN protocol ("http/1.1"), or "" when the client offered none. */
const char *knd_tls_conn_alpn(const knd_tls_conn_t *t, char *buf, size_t cap);
/** The reason of the last KND_TLS_ERROR (for debug logs); "" if none. */
const char *knd_tls_conn_error(const knd_tls_conn_t *t);

#endif
