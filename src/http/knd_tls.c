/*
 * knd_tls.c - the TLS engine behind knd's HTTPS listener (see knd_tls.h): one SSL per connection
 * between two memory BIOs. The read BIO holds ciphertext from the peer, the write BIO collects
 * ciphertext for it; both grow as needed, so SSL_write never waits for the socket and the
 * server's write-queue backpressure simply measures ciphertext.
 *
 * Ownership: the context owns its SSL_CTX; a connection owns its SSL, which owns both BIOs.
 * OpenSSL's error queue is thread-local: it is cleared before each call and drained after a
 * failure, so one connection's failure never shows up as another's.
 */
#include "knd_tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_log.h"
#include "knd_time.h"

struct knd_tls_ctx_s {
    SSL_CTX *ssl_ctx; /* NULL until a lazy context is loaded */
    /* lazy contexts only: */
    char *cert_file, *key_file;
    int (*prepare)(void *data, knd_err_t *err);
    void *prepare_data;
    uint64_t next_try_ms;
};

struct knd_tls_conn_s {
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
    bool failed;      /* a fatal error or close_notify: no more reads or writes */
    char error[160];
};

/* ------------------------------------------------------------------ context */

int knd_tls_openssl_fail(knd_err_t *err, knd_errcode_t code, const char *what, const char *path)
{
    char reason[256] = "unknown error";
    unsigned long e = ERR_peek_last_error();
    if (e != 0)
        ERR_error_string_n(e, reason, sizeof(reason));
    ERR_clear_error();
    return knd_err_set(err, code, "%s %s: %s", what, path, reason);
}

/* ALPN: HTTP/1.1 or nothing. A client that offers only h2 gets no ALPN answer and, by RFC 7301's
 * fallback, speaks HTTP/1.1 - failing its handshake instead would buy nothing. */
static int knd_tls_ctx_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                                   const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char http11[] = "\x08http/1.1";
    unsigned char *sel = NULL;
    (void)ssl;
    (void)arg;
    if (SSL_select_next_proto(&sel, outlen, http11, sizeof(http11) - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

int knd_tls_ctx_new(const char *cert_file, const char *key_file, knd_tls_ctx_t **out,
                    knd_err_t *err)
{
    ERR_clear_error();
    SSL_CTX *sc = SSL_CTX_new(TLS_server_method());
    if (sc == NULL)
        return knd_tls_openssl_fail(err, KND_E_INVALID, "creating TLS context", "");
    int rc = -1;
    SSL_CTX_set_min_proto_version(sc, TLS1_2_VERSION);
    /* No renegotiation (a client could make the server do handshakes at will), no resumption
     * state: API clients are few and long-lived, a ticket key would be one more secret. */
    SSL_CTX_set_options(sc, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(sc, 0);
    SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_OFF);
    /* Idle keep-alive and watch connections would otherwise hold ~34 KiB of buffers each. */
    SSL_CTX_set_mode(sc, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_alpn_select_cb(sc, knd_tls_ctx_alpn_select, NULL);
    if (SSL_CTX_use_certificate_chain_file(sc, cert_file) != 1) {
        knd_tls_openssl_fail(err, KND_E_INVALID, "loading certificate", cert_file);
        goto out;
    }
    if (SSL_CTX_use_PrivateKey_file(sc, key_file, SSL_FILETYPE_PEM) != 1) {
        knd_tls_openssl_fail(err, KND_E_INVALID, "loading private key", key_file);
        goto out;
    }
    if (SSL_CTX_check_private_key(sc) != 1) {
        knd_tls_openssl_fail(err, KND_E_INVALID, "private key does not match certificate", cert_file);
        goto out;
    }
    knd_tls_ctx_t *ctx = knd_xcalloc(1, sizeof(*ctx));
    ctx->ssl_ctx = sc;
    sc = NULL;
    *out = ctx;
    rc = 0;
out:
    SSL_CTX_free(sc);
    return rc;
}

knd_tls_ctx_t *knd_tls_ctx_new_lazy(const char *cert_file, const char *key_file,
                                    int (*prepare)(void *data, knd_err_t *err), void *data)
{
    knd_tls_ctx_t *ctx = knd_xcalloc(1, sizeof(*ctx));
    ctx->cert_file = knd_xstrdup(cert_file);
    ctx->key_file = knd_xstrdup(key_file);
    ctx->prepare = prepare;
    ctx->prepare_data = data;
    return ctx;
}

/* Loads a lazy context on first use; false (logged) if it cannot be loaded yet. */
static bool knd_tls_ctx_ready(knd_tls_ctx_t *ctx)
{
    if (ctx->ssl_ctx)
        return true;
    uint64_t now = knd_time_mono_ms();
    if (now < ctx->next_try_ms)
        return false;
    knd_err_t err;
    knd_tls_ctx_t *loaded = NULL;
    if ((ctx->prepare && ctx->prepare(ctx->prepare_data, &err) < 0) ||
        knd_tls_ctx_new(ctx->cert_file, ctx->key_file, &loaded, &err) < 0) {
        knd_log(KND_LOG_ERROR, "tls", "cannot serve TLS: %s", err.msg);
        ctx->next_try_ms = now + 5000;
        return false;
    }
    ctx->ssl_ctx = loaded->ssl_ctx;
    free(loaded);
    return true;
}

void knd_tls_ctx_free(knd_tls_ctx_t *ctx)
{
    if (ctx == NULL)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx->cert_file);
    free(ctx->key_file);
    free(ctx);
}

/* ------------------------------------------------------------------ connections */

knd_tls_conn_t *knd_tls_conn_new(knd_tls_ctx_t *ctx)
{
    if (!knd_tls_ctx_ready(ctx))
        return NULL;
    knd_tls_conn_t *t = knd_xcalloc(1, sizeof(*t));
    t->ssl = SSL_new(ctx->ssl_ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    KND_ASSERT(t->ssl && t->rbio && t->wbio); /* only out of memory makes these fail */
    /* An empty read BIO means "wait for more", not end of file. */
    BIO_set_mem_eof_return(t->rbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_accept_state(t->ssl);
    return t;
}

void knd_tls_conn_free(knd_tls_conn_t *t)
{
    if (t == NULL)
        return;
    SSL_free(t->ssl);
    free(t);
}

void knd_tls_conn_feed(knd_tls_conn_t *t, const char *p, size_t n)
{
    /* A memory BIO only refuses on out of memory. */
    size_t done = 0;
    while (done < n) {
        size_t w = 0;
        int ok = BIO_write_ex(t->rbio, p + done, n - done, &w);
        KND_ASSERT(ok == 1);
        done += w;
    }
}

/* Records why the session died; the queue is emptied so it cannot leak into another call. */
static void knd_tls_conn_set_error(knd_tls_conn_t *t, int ssl_err)
{
    unsigned long e = ERR_peek_last_error();
    t->failed = true;
    if (e != 0)
        ERR_error_string_n(e, t->error, sizeof(t->error));
    else if (ssl_err == SSL_ERROR_SYSCALL)
        snprintf(t->error, sizeof(t->error), "unexpected end of stream");
    else
        snprintf(t->error, sizeof(t->error), "SSL error %d", ssl_err);
    ERR_clear_error();
}

ssize_t knd_tls_conn_read(knd_tls_conn_t *t, char *buf, size_t cap)
{
    if (t->failed)
        return KND_TLS_ERROR;
    size_t got = 0;
    ERR_clear_error();
    if (SSL_read_ex(t->ssl, buf, cap, &got) == 1)
        return (ssize_t)got;
    int e = SSL_get_error(t->ssl, 0);
    switch (e) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: /* cannot happen with a memory BIO; treat as "need more" */
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        t->failed = true;
        return KND_TLS_EOF;
    default:
        knd_tls_conn_set_error(t, e);
        return KND_TLS_ERROR;
    }
}

int knd_tls_conn_write(knd_tls_conn_t *t, const char *p, size_t n)
{
    if (t->failed || !SSL_is_init_finished(t->ssl))
        return KND_TLS_ERROR;
    if (n == 0)
        return 0;
    size_t w = 0;
    ERR_clear_error();
    if (SSL_write_ex(t->ssl, p, n, &w) == 1 && w == n)
        return 0;
    knd_tls_conn_set_error(t, SSL_get_error(t->ssl, 0));
    return KND_TLS_ERROR;
}

size_t knd_tls_conn_out_pending(const knd_tls_conn_t *t)
{
    return BIO_ctrl_pending(t->wbio);
}

size_t knd_tls_conn_out_take(knd_tls_conn_t *t, char *dst, size_t cap)
{
    size_t got = 0;
    if (cap == 0 || BIO_read_ex(t->wbio, dst, cap, &got) != 1)
        return 0;
    return got;
}

void knd_tls_conn_shutdown(knd_tls_conn_t *t)
{
    if (t->failed || !SSL_is_init_finished(t->ssl))
        return;
    ERR_clear_error();
    /* One call queues our close_notify; the peer's is not awaited. */
    if (SSL_shutdown(t->ssl) < 0)
        ERR_clear_error();
    t->failed = true;
}

bool knd_tls_conn_established(const knd_tls_conn_t *t)
{
    return SSL_is_init_finished(t->ssl) == 1;
}

const char *knd_tls_conn_alpn(const knd_tls_conn_t *t, char *buf, size_t cap)
{
    const unsigned char *p = NULL;
    unsigned int n = 0;
    SSL_get0_alpn_selected(t->ssl, &p, &n);
    snprintf(buf, cap, "%.*s", (int)n, p ? (const char *)p : "");
    return buf;
}

const char *knd_tls_conn_error(const knd_tls_conn_t *t)
{
    return t->error;
}
