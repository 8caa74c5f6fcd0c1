/*
 * knd_http_server_tls.c - the TLS layer of server connections (see knd_http_server.c): ciphertext
 * read from the socket is decrypted into the input path plain connections use, and writes are
 * encrypted and queued as ciphertext. Only connections of a TLS listener (c->tls set) get here.
 */
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_http_server_int.h"
#include "knd_log.h"

int knd__http_conn_tls_flush(knd_http_conn_t *c)
{
    size_t n = knd_tls_conn_out_pending(c->tls);
    if (n == 0)
        return 0;
    knd_http_wreq_t *wr = knd_xmalloc(sizeof(*wr) + n);
    wr->conn = c;
    n = knd_tls_conn_out_take(c->tls, wr->data, n);
    wr->buf = uv_buf_init(wr->data, (unsigned)n);
    int rc = uv_write(&wr->w, &c->h.stream, &wr->buf, 1, knd__http_conn_after_write);
    if (rc < 0)
        free(wr);
    return rc;
}

/* The TLS side of a connection's writev: small pieces are gathered so they leave as one record
 * (a chunk-size line would otherwise cost a record of its own); large ones are encrypted in
 * place, records are 16 KiB anyway. */
void knd__http_conn_tls_writev(knd_http_conn_t *c, const uv_buf_t *pieces, size_t npieces,
                               size_t n)
{
    char small[16384];
    int rc = 0;
    if (n <= sizeof(small)) {
        size_t off = 0;
        for (size_t i = 0; i < npieces; off += pieces[i].len, i++)
            if (pieces[i].len)
                memcpy(small + off, pieces[i].base, pieces[i].len);
        rc = knd_tls_conn_write(c->tls, small, n);
    } else {
        for (size_t i = 0; i < npieces && rc == 0; i++)
            rc = knd_tls_conn_write(c->tls, pieces[i].base, pieces[i].len);
    }
    if (rc < 0) {
        knd_log(KND_LOG_DEBUG, "http", "%s: TLS write: %s", c->peer,
                knd_tls_conn_error(c->tls));
        knd__http_conn_write_failed(c);
        return;
    }
    if (knd__http_conn_tls_flush(c) < 0)
        knd__http_conn_write_failed(c);
}

/* Decrypted bytes, routed as a plain read's would be. Unlike a socket read, one ciphertext read
 * can carry bytes past an upgrade head: they wait in `pending` for knd_http_req_raw_start. */
static void knd_http_conn_tls_deliver(knd_http_conn_t *c, const char *p, size_t n)
{
    if (c->raw) {
        if (c->req && c->req->on_raw)
            c->req->on_raw(c->req, p, n);
    } else if (c->upgraded) {
        knd_buf_append(&c->pending, p, n);
    } else {
        knd__http_conn_process(c, p, n);
    }
}

/* Ciphertext from the socket: runs the handshake, then feeds the plaintext on. Returns -1 when
 * the session is over (close_notify, a failed handshake, garbage): the caller closes. */
int knd__http_conn_tls_input(knd_http_conn_t *c, const char *p, size_t n)
{
    char plain[16384]; /* one TLS record's worth */
    knd_tls_conn_feed(c->tls, p, n);
    for (;;) {
        if (c->closing)
            return 0;
        ssize_t got = knd_tls_conn_read(c->tls, plain, sizeof(plain));
        if (got > 0) {
            knd_http_conn_tls_deliver(c, plain, (size_t)got);
            continue;
        }
        if (got < 0) {
            if (got == KND_TLS_ERROR)
                knd_log(KND_LOG_DEBUG, "http", "%s: TLS: %s", c->peer,
                        knd_tls_conn_error(c->tls));
            knd__http_conn_tls_flush(c); /* the alert, if any: best effort */
            return -1;
        }
        break;
    }
    /* Handshake messages: the client waits for them. */
    if (knd__http_conn_tls_flush(c) < 0)
        return -1;
    return 0;
}
