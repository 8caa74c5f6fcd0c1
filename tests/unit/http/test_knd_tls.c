/*
 * test_knd_tls.c - knd_http_server_listen_tls against real OpenSSL clients, all on 127.0.0.1
 * port 0 in one loop.
 *
 * Each test gets a fresh self-signed certificate (made here with the EVP/X509 API, written to a
 * temporary directory), a TLS server and a plain TCP server sharing one handler, and clients that
 * run OpenSSL over memory BIOs on raw libuv sockets - the same shape as the server, so nothing
 * blocks the loop. Teardown closes everything, drains the loop and requires uv_loop_close() == 0;
 * ASan checks that nothing leaked.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "knd_buf.h"
#include "knd_err.h"
#include "knd_http_server.h"
#include "knd_tls.h"

#define TEST_BIG (1024 * 1024)      /* bytes of the streamed "/big" body */
#define TEST_HUGE (8 * 1024 * 1024) /* "/huge": more than loopback's socket buffers absorb */

typedef struct fx_s fx_t;

/* A client socket: TLS over memory BIOs (ssl != NULL) or plain bytes. */
typedef struct {
    fx_t *fx;
    uv_tcp_t tcp;
    uv_connect_t creq;
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
    knd_buf_t out;    /* plaintext waiting for the handshake */
    knd_buf_t in;     /* everything decrypted (or received, for a plain client) */
    bool connected, established, eof, closed, close_notify;
    int tls_err;      /* SSL_get_error of a failed handshake or read, 0 if none */
} tc_t;

typedef struct {
    uv_write_t w;
    uv_buf_t buf;
    char data[];
} tc_wreq_t;

struct fx_s {
    uv_loop_t loop;
    uv_timer_t tick;
    char dir[64], cert[96], key[96];
    knd_tls_ctx_t *tls;
    SSL_CTX *cli_ctx;
    knd_http_server_t *srv, *plain;
    int port, plain_port, srv_done;
    int requests, secure_requests, plain_requests;
    size_t big_sent, big_total;
    int big_drains;
    knd_http_req_t *big;      /* "/big" while it streams */
    uv_timer_t later;         /* "/upgrade": the tunnel starts after the 101, as in a proxy */
    knd_http_req_t *upgrading;
    int prepares;             /* lazy contexts: calls of the prepare hook */
    bool prepare_fails;
};

/* ------------------------------------------------------------------ waiting */

#define WAIT_FOR(fx, expr)                                                                        \
    do {                                                                                          \
        uv_update_time(&(fx)->loop);                                                              \
        uint64_t wait_deadline_ = uv_now(&(fx)->loop) + 5000;                                     \
        while (!(expr) && uv_now(&(fx)->loop) < wait_deadline_)                                   \
            uv_run(&(fx)->loop, UV_RUN_ONCE);                                                     \
        if (!(expr))                                                                              \
            fail_msg("timed out waiting for %s", #expr);                                          \
    } while (0)

/* ------------------------------------------------------------------ a self-signed certificate */

static void test_cert_make(const char *cert_path, const char *key_path)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    assert_non_null(key);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1,
                               -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext =
        X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    assert_non_null(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    FILE *f = fopen(cert_path, "w");
    assert_non_null(f);
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(key_path, "w");
    assert_non_null(f);
    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(key);
}

/* A client context that trusts exactly the test's certificate. */
static SSL_CTX *test_cli_ctx_new(const char *cert_path)
{
    SSL_CTX *sc = SSL_CTX_new(TLS_client_method());
    assert_non_null(sc);
    assert_int_equal(SSL_CTX_load_verify_locations(sc, cert_path, NULL), 1);
    SSL_CTX_set_verify(sc, SSL_VERIFY_PEER, NULL);
    return sc;
}

/* ------------------------------------------------------------------ clients */

static void test_tc_closed(uv_handle_t *h)
{
    tc_t *tc = h->data;
    tc->closed = true;
}

static void test_tc_written(uv_write_t *w, int status)
{
    (void)status; /* a server that closed makes writes fail: the reads tell the story */
    free(w);
}

static void test_tc_write_raw(tc_t *tc, const char *p, size_t n)
{
    tc_wreq_t *wr = malloc(sizeof(*wr) + n);
    memcpy(wr->data, p, n);
    wr->buf = uv_buf_init(wr->data, (unsigned)n);
    if (uv_write(&wr->w, (uv_stream_t *)&tc->tcp, &wr->buf, 1, test_tc_written) < 0)
        free(wr);
}

static void test_tc_flush(tc_t *tc)
{
    char buf[65536];
    size_t got = 0;
    while (BIO_read_ex(tc->wbio, buf, sizeof(buf), &got) == 1 && got > 0)
        test_tc_write_raw(tc, buf, got);
}

/* Advances the handshake, sends waiting plaintext, decrypts what arrived. */
static void test_tc_pump(tc_t *tc)
{
    ERR_clear_error();
    if (!tc->established && tc->tls_err == 0) {
        int rc = SSL_do_handshake(tc->ssl);
        if (rc == 1)
            tc->established = true;
        else if (SSL_get_error(tc->ssl, rc) != SSL_ERROR_WANT_READ)
            tc->tls_err = SSL_get_error(tc->ssl, rc);
    }
    if (tc->established && tc->out.len) {
        size_t w = 0;
        assert_int_equal(SSL_write_ex(tc->ssl, tc->out.p, tc->out.len, &w), 1);
        knd_buf_reset(&tc->out);
    }
    while (tc->established && !tc->close_notify && tc->tls_err == 0) {
        char buf[16384];
        size_t got = 0;
        if (SSL_read_ex(tc->ssl, buf, sizeof(buf), &got) == 1) {
            knd_buf_append(&tc->in, buf, got);
            continue;
        }
        int e = SSL_get_error(tc->ssl, 0);
        if (e == SSL_ERROR_ZERO_RETURN)
            tc->close_notify = true;
        else if (e != SSL_ERROR_WANT_READ)
            tc->tls_err = e;
        break;
    }
    ERR_clear_error();
    test_tc_flush(tc);
}

static void test_tc_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    buf->base = malloc(suggested);
    buf->len = suggested;
}

static void test_tc_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    tc_t *tc = s->data;
    if (nread > 0 && tc->ssl) {
        BIO_write(tc->rbio, buf->base, (int)nread);
        test_tc_pump(tc);
    } else if (nread > 0) {
        knd_buf_append(&tc->in, buf->base, (size_t)nread);
    }
    free(buf->base);
    if (nread < 0) {
        tc->eof = true;
        if (!uv_is_closing((uv_handle_t *)&tc->tcp))
            uv_close((uv_handle_t *)&tc->tcp, test_tc_closed);
    }
}

static void test_tc_connected(uv_connect_t *req, int status)
{
    tc_t *tc = req->data;
    assert_int_equal(status, 0);
    tc->connected = true;
    uv_read_start((uv_stream_t *)&tc->tcp, test_tc_alloc, test_tc_read);
    if (tc->ssl) {
        test_tc_pump(tc);
    } else if (tc->out.len) {
        test_tc_write_raw(tc, tc->out.p, tc->out.len);
        knd_buf_reset(&tc->out);
    }
}

/* Connects to port; tls selects a TLS client offering the ALPN list alpn (wire format, may be
 * NULL). A small receive buffer makes a large response back up on the server. */
static void test_tc_open(fx_t *fx, tc_t *tc, int port, bool tls, const char *alpn)
{
    struct sockaddr_in sa;
    memset(tc, 0, sizeof(*tc));
    tc->fx = fx;
    knd_buf_init(&tc->in);
    knd_buf_init(&tc->out);
    if (tls) {
        tc->ssl = SSL_new(fx->cli_ctx);
        tc->rbio = BIO_new(BIO_s_mem());
        tc->wbio = BIO_new(BIO_s_mem());
        BIO_set_mem_eof_return(tc->rbio, -1);
        SSL_set_bio(tc->ssl, tc->rbio, tc->wbio);
        SSL_set_connect_state(tc->ssl);
        SSL_set1_host(tc->ssl, "localhost");
        if (alpn)
            SSL_set_alpn_protos(tc->ssl, (const unsigned char *)alpn, (unsigned)strlen(alpn));
    }
    assert_int_equal(uv_tcp_init_ex(&fx->loop, &tc->tcp, AF_INET), 0);
    int rcvbuf = 32768;
    uv_recv_buffer_size((uv_handle_t *)&tc->tcp, &rcvbuf);
    tc->tcp.data = tc;
    tc->creq.data = tc;
    uv_ip4_addr("127.0.0.1", port, &sa);
    assert_int_equal(
        uv_tcp_connect(&tc->creq, &tc->tcp, (struct sockaddr *)&sa, test_tc_connected), 0);
}

static void test_tc_send(tc_t *tc, const char *s)
{
    knd_buf_puts(&tc->out, s);
    if (!tc->connected)
        return;
    if (tc->ssl) {
        test_tc_pump(tc);
    } else {
        test_tc_write_raw(tc, tc->out.p, tc->out.len);
        knd_buf_reset(&tc->out);
    }
}

/* Closes (if the server has not) and waits for the handle, then frees everything. */
static void test_tc_close(tc_t *tc)
{
    if (!uv_is_closing((uv_handle_t *)&tc->tcp))
        uv_close((uv_handle_t *)&tc->tcp, test_tc_closed);
    WAIT_FOR(tc->fx, tc->closed);
    SSL_free(tc->ssl);
    knd_buf_free(&tc->in);
    knd_buf_free(&tc->out);
}

static const char *test_tc_text(const tc_t *tc)
{
    return knd_buf_cstr(&tc->in);
}

static int test_count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* True once `in` holds a complete Content-Length response (n of them, back to back). */
static bool test_tc_has_responses(const tc_t *tc, int n)
{
    const char *p = test_tc_text(tc), *end = p + tc->in.len;
    for (int i = 0; i < n; i++) {
        const char *body = strstr(p, "\r\n\r\n");
        const char *cl = strstr(p, "Content-Length: ");
        if (body == NULL || cl == NULL || cl > body)
            return false;
        size_t len = strtoul(cl + 16, NULL, 10);
        if ((size_t)(end - (body + 4)) < len)
            return false;
        p = body + 4 + len;
    }
    return true;
}

/* ------------------------------------------------------------------ the server's handler */

static unsigned char test_big_byte(size_t i)
{
    return (unsigned char)((i * 7u) ^ (i >> 16));
}

/* "/big": streams TEST_BIG bytes, holding at most 256 KiB in the queue (on_drain resumes). */
static void test_srv_big_pump(knd_http_req_t *r)
{
    fx_t *fx = r->data;
    static char piece[65536];
    while (fx->big_sent < fx->big_total && knd_http_resp_queued(r) < 256 * 1024) {
        for (size_t i = 0; i < sizeof(piece); i++)
            piece[i] = (char)test_big_byte(fx->big_sent + i);
        knd_http_resp_body(r, piece, sizeof(piece));
        fx->big_sent += sizeof(piece);
    }
    if (fx->big_sent == fx->big_total) {
        fx->big = NULL;
        knd_http_resp_end(r);
    }
}

static void test_srv_big_drain(knd_http_req_t *r)
{
    fx_t *fx = r->data;
    fx->big_drains++;
    test_srv_big_pump(r);
}

/* "/upgrade": a tunnel that sends every byte back as it came. */
static void test_srv_raw_echo(knd_http_req_t *r, const char *p, size_t n)
{
    knd_http_req_raw_write(r, p, n);
}

static void test_srv_raw_abort(knd_http_req_t *r)
{
    fx_t *fx = r->data;
    if (fx->upgrading == r)
        fx->upgrading = NULL;
}

static void test_srv_raw_start(uv_timer_t *t)
{
    fx_t *fx = t->data;
    if (fx->upgrading)
        knd_http_req_raw_start(fx->upgrading);
    fx->upgrading = NULL;
}

static void test_srv_on_request(knd_http_req_t *r, void *data)
{
    fx_t *fx = data;
    const char *url = knd_http_head_url(&r->head);
    fx->requests++;
    if (r->secure)
        fx->secure_requests++;
    r->data = fx;
    if (strcmp(url, "/hello") == 0) {
        knd_http_resp_simple(r, 200, "text/plain", "hello world", 11);
    } else if (strcmp(url, "/chunked") == 0) {
        knd_http_resp_head(r, 200, NULL, -1);
        knd_http_resp_body(r, "first,", 6);
        knd_http_resp_body(r, "second,", 7);
        knd_http_resp_body(r, "third", 5);
        knd_http_resp_end(r);
    } else if (strcmp(url, "/big") == 0 || strcmp(url, "/huge") == 0) {
        bool huge = strcmp(url, "/huge") == 0;
        r->on_drain = test_srv_big_drain;
        fx->big = r;
        fx->big_total = huge ? TEST_HUGE : TEST_BIG;
        knd_http_resp_head(r, 200, "Content-Type: application/octet-stream\r\n",
                           (int64_t)fx->big_total);
        /* "/huge" starts when the test says so (test_srv_big_pump), once its client has
         * stopped reading. */
        if (!huge)
            test_srv_big_pump(r);
    } else if (strcmp(url, "/upgrade") == 0) {
        r->on_raw = test_srv_raw_echo;
        r->on_abort = test_srv_raw_abort;
        knd_http_resp_head(r, 101, "Connection: Upgrade\r\nUpgrade: echo\r\n", -1);
        fx->upgrading = r;
        uv_timer_start(&fx->later, test_srv_raw_start, 1, 0);
    } else {
        knd_http_resp_simple(r, 404, "text/plain", "nope", 4);
    }
}

/* ------------------------------------------------------------------ fixture */

static void test_fx_tick(uv_timer_t *t)
{
    (void)t;
}

static void test_fx_srv_done(void *data)
{
    fx_t *fx = data;
    fx->srv_done++;
}

static void test_fx_listen(fx_t *fx, const knd_http_limits_t *limits)
{
    knd_err_t err;
    memset(&err, 0, sizeof(err));
    if (knd_http_server_listen_tls(&fx->loop, "127.0.0.1", 0, limits, fx->tls,
                                   test_srv_on_request, fx, &fx->srv, &err) < 0)
        fail_msg("listen: %s", err.msg);
    fx->port = knd_http_server_port(fx->srv);
    assert_true(fx->port > 0);
}

static int test_fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));
    knd_err_t err;
    memset(&err, 0, sizeof(err));
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/knd-tls-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->cert, sizeof(fx->cert), "%s/cert.pem", fx->dir);
    snprintf(fx->key, sizeof(fx->key), "%s/key.pem", fx->dir);
    test_cert_make(fx->cert, fx->key);
    if (knd_tls_ctx_new(fx->cert, fx->key, &fx->tls, &err) < 0)
        fail_msg("tls ctx: %s", err.msg);
    fx->cli_ctx = test_cli_ctx_new(fx->cert);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    uv_timer_init(&fx->loop, &fx->tick);
    uv_timer_start(&fx->tick, test_fx_tick, 10, 10);
    uv_timer_init(&fx->loop, &fx->later);
    fx->later.data = fx;
    test_fx_listen(fx, NULL);
    if (knd_http_server_listen_tcp(&fx->loop, "127.0.0.1", 0, NULL, test_srv_on_request, fx,
                                   &fx->plain, &err) < 0)
        fail_msg("listen: %s", err.msg);
    fx->plain_port = knd_http_server_port(fx->plain);
    *state = fx;
    return 0;
}

static void test_fx_count_open(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h)) {
        (*(int *)arg)++;
        uv_close(h, NULL);
    }
}

static int test_fx_teardown(void **state)
{
    fx_t *fx = *state;
    knd_http_server_close(fx->srv, test_fx_srv_done, fx);
    knd_http_server_close(fx->plain, test_fx_srv_done, fx);
    WAIT_FOR(fx, fx->srv_done == 2);
    uv_close((uv_handle_t *)&fx->tick, NULL);
    uv_close((uv_handle_t *)&fx->later, NULL);
    uv_run(&fx->loop, UV_RUN_NOWAIT);
    int left = 0;
    uv_walk(&fx->loop, test_fx_count_open, &left);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(left, 0);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    knd_tls_ctx_free(fx->tls);
    SSL_CTX_free(fx->cli_ctx);
    unlink(fx->cert);
    unlink(fx->key);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* Replaces the TLS server with one using other limits. */
static void test_fx_relisten(fx_t *fx, const knd_http_limits_t *limits)
{
    knd_http_server_close(fx->srv, test_fx_srv_done, fx);
    WAIT_FOR(fx, fx->srv_done == 1);
    fx->srv_done = 0;
    test_fx_listen(fx, limits);
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: localhost\r\n\r\n"

/* ------------------------------------------------------------------ tests */

static void test_tls_get(void **state)
{
    fx_t *fx = *state;
    tc_t tc;
    test_tc_open(fx, &tc, fx->port, true, "\x02h2\x08http/1.1");
    test_tc_send(&tc, GET("/hello"));
    WAIT_FOR(fx, test_tc_has_responses(&tc, 1));
    assert_int_equal(SSL_get_verify_result(tc.ssl), X509_V_OK);
    assert_true(strncmp(test_tc_text(&tc), "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_non_null(strstr(test_tc_text(&tc), "\r\n\r\nhello world"));
    assert_int_equal(fx->secure_requests, 1);
    test_tc_close(&tc);
}

static void test_tls_alpn(void **state)
{
    fx_t *fx = *state;
    tc_t tc, h2only;
    const unsigned char *p = NULL;
    unsigned int n = 0;
    test_tc_open(fx, &tc, fx->port, true, "\x02h2\x08http/1.1");
    test_tc_open(fx, &h2only, fx->port, true, "\x02h2");
    test_tc_send(&tc, GET("/hello"));
    test_tc_send(&h2only, GET("/hello"));
    WAIT_FOR(fx, test_tc_has_responses(&tc, 1) && test_tc_has_responses(&h2only, 1));
    SSL_get0_alpn_selected(tc.ssl, &p, &n);
    assert_int_equal(n, 8);
    assert_memory_equal(p, "http/1.1", 8);
    /* h2 is never selected: a client offering only h2 gets no ALPN and falls back to 1.1. */
    SSL_get0_alpn_selected(h2only.ssl, &p, &n);
    assert_int_equal(n, 0);
    assert_true(SSL_version(tc.ssl) >= TLS1_2_VERSION);
    test_tc_close(&tc);
    test_tc_close(&h2only);
}

static void test_tls_keep_alive(void **state)
{
    fx_t *fx = *state;
    tc_t tc;
    test_tc_open(fx, &tc, fx->port, true, NULL);
    test_tc_send(&tc, GET("/hello"));
    WAIT_FOR(fx, test_tc_has_responses(&tc, 1));
    test_tc_send(&tc, GET("/nothing"));
    WAIT_FOR(fx, test_tc_has_responses(&tc, 2));
    assert_int_equal(test_count(test_tc_text(&tc), "HTTP/1.1 200 OK"), 1);
    assert_int_equal(test_count(test_tc_text(&tc), "HTTP/1.1 404 Not Found"), 1);
    assert_false(tc.eof);
    assert_int_equal(fx->requests, 2);
    assert_int_equal(knd_http_server_conns(fx->srv), 1);
    test_tc_close(&tc);
}

/* Checks that tc received one response whose body is n bytes of the "/big" pattern. */
static void test_tc_check_big(const tc_t *tc, size_t n)
{
    const char *body = strstr(test_tc_text(tc), "\r\n\r\n") + 4;
    size_t len = tc->in.len - (size_t)(body - tc->in.p);
    assert_int_equal(len, n);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)body[i] != test_big_byte(i))
            fail_msg("byte %zu differs", i);
    assert_int_equal(tc->tls_err, 0);
}

static void test_tls_big_streamed(void **state)
{
    fx_t *fx = *state;
    tc_t tc;
    test_tc_open(fx, &tc, fx->port, true, NULL);
    test_tc_send(&tc, GET("/big"));
    WAIT_FOR(fx, test_tc_has_responses(&tc, 1));
    test_tc_check_big(&tc, TEST_BIG);
    /* Still usable afterwards. */
    test_tc_send(&tc, GET("/hello"));
    WAIT_FOR(fx, test_tc_has_responses(&tc, 2));
    assert_memory_equal(tc.in.p + tc.in.len - 11, "hello world", 11);
    test_tc_close(&tc);
}

static void test_tls_backpressure(void **state)
{
    fx_t *fx = *state;
    tc_t tc;
    test_tc_open(fx, &tc, fx->port, true, NULL);
    test_tc_send(&tc, GET("/huge"));
    WAIT_FOR(fx, fx->big != NULL);
    uv_read_stop((uv_stream_t *)&tc.tcp);
    /* With the client not reading, the queue (ciphertext) fills and the handler holds off. */
    test_srv_big_pump(fx->big);
    assert_true(fx->big_sent < TEST_HUGE);
    assert_true(knd_http_resp_queued(fx->big) >= 256 * 1024);
    assert_int_equal(fx->big_drains, 0);
    uv_read_start((uv_stream_t *)&tc.tcp, test_tc_alloc, test_tc_read);
    WAIT_FOR(fx, test_tc_has_responses(&tc, 1));
    test_tc_check_big(&tc, TEST_HUGE);
    assert_true(fx->big_drains > 0); /* on_drain resumed the stream */
    test_tc_close(&tc);
}

static void test_tls_chunked(void **state)
{
    fx_t *fx = *state;
    tc_t tc;
    test_tc_open(fx, &tc, fx->port, true, NULL);
    test_tc_send(&tc, GET("/chunked"));
    WAIT_FOR(fx, strstr(test_tc_text(&tc), "0\r\n\r\n") != NULL);
    const char *t = test_tc_text(&tc);
    assert_non_null(strstr(t, "Transfer-Encoding: chunked\r\n"));
    assert_non_null(strstr(t, "\r\n\r\n6\r\nfirst,\r\n7\r\nsecond,\r\n5\r\nthird\r\n0\r\n\r\n"));
    test_tc_close(&tc);
}

static void test_tls_secure_flag(void **state)
{
    fx_t *fx = *state;
    tc_t tls, plain;
    test_tc_open(fx, &plain, fx->plain_port, false, NULL);
    test_tc_send(&plain, GET("/hello"));
    WAIT_FOR(fx, test_tc_has_responses(&plain, 1));
    assert_int_equal(fx->requests, 1);
    assert_int_equal(fx->secure_requests, 0);
    test_tc_open(fx, &tls, fx->port, true, NULL);
    test_tc_send(&tls, GET("/hello"));
    WAIT_FOR(fx, test_tc_has_responses(&tls, 1));
    assert_int_equal(fx->requests, 2);
    assert_int_equal(fx->secure_requests, 1);
    test_tc_close(&plain);
    test_tc_close(&tls);
}

static void test_tls_plaintext_client_closed(void **state)
{
    fx_t *fx = *state;
    tc_t plain, tls;
    test_tc_open(fx, &plain, fx->port, false, NULL);
    test_tc_send(&plain, GET("/hello"));
    WAIT_FOR(fx, plain.eof);
    assert_null(strstr(test_tc_text(&plain), "HTTP/1.1"));
    assert_int_equal(fx->requests, 0);
    test_tc_close(&plain);
    /* The listener is unharmed. */
    test_tc_open(fx, &tls, fx->port, true, NULL);
    test_tc_send(&tls, GET("/hello"));
    WAIT_FOR(fx, test_tc_has_responses(&tls, 1));
    assert_int_equal(fx->secure_requests, 1);
    test_tc_close(&tls);
    WAIT_FOR(fx, knd_http_server_conns(fx->srv) == 0);
}

static void test_tls_close_notify(void **state)
{
    fx_t *fx = *state;
    tc_t tc;
    test_tc_open(fx, &tc, fx->port, true, NULL);
    test_tc_send(&tc, "GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    WAIT_FOR(fx, tc.eof);
    assert_true(test_tc_has_responses(&tc, 1));
    assert_non_null(strstr(test_tc_text(&tc), "Connection: close\r\n"));
    assert_true(tc.close_notify);
    test_tc_close(&tc);
}

static void test_tls_handshake_timeout(void **state)
{
    fx_t *fx = *state;
    knd_http_limits_t limits = {.header_timeout_ms = 150};
    tc_t silent, partial;
    test_fx_relisten(fx, &limits);
    test_tc_open(fx, &silent, fx->port, false, NULL);
    test_tc_open(fx, &partial, fx->port, false, NULL);
    /* The first bytes of a TLS record, then nothing: a handshake that never finishes. */
    test_tc_send(&partial, "\x16\x03\x01\x02");
    WAIT_FOR(fx, silent.eof && partial.eof);
    test_tc_close(&silent);
    test_tc_close(&partial);
    WAIT_FOR(fx, knd_http_server_conns(fx->srv) == 0);
}

static void test_tls_upgrade_tunnel(void **state)
{
    fx_t *fx = *state;
    tc_t tc;
    test_tc_open(fx, &tc, fx->port, true, NULL);
    /* The tunnel's first bytes ride in the same TLS record as the head. */
    test_tc_send(&tc, "GET /upgrade HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n"
                      "Upgrade: echo\r\n\r\nping;");
    WAIT_FOR(fx, strstr(test_tc_text(&tc), "ping;") != NULL);
    test_tc_send(&tc, "pong;");
    WAIT_FOR(fx, strstr(test_tc_text(&tc), "ping;pong;") != NULL);
    assert_true(strncmp(test_tc_text(&tc), "HTTP/1.1 101 ", 13) == 0);
    test_tc_close(&tc);
    WAIT_FOR(fx, knd_http_server_conns(fx->srv) == 0);
}

static void test_tls_ctx_errors(void **state)
{
    fx_t *fx = *state;
    knd_tls_ctx_t *ctx = NULL;
    knd_err_t err;
    char other_cert[128], other_key[128];
    memset(&err, 0, sizeof(err));
    assert_int_equal(knd_tls_ctx_new("/nonexistent/cert.pem", fx->key, &ctx, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/cert.pem"));
    assert_null(ctx);
    snprintf(other_cert, sizeof(other_cert), "%s/other.crt", fx->dir);
    snprintf(other_key, sizeof(other_key), "%s/other.key", fx->dir);
    test_cert_make(other_cert, other_key);
    assert_int_equal(knd_tls_ctx_new(fx->cert, other_key, &ctx, &err), -1);
    assert_null(ctx);
    assert_int_equal(err.code, KND_E_INVALID);
    unlink(other_cert);
    unlink(other_key);
}

static int test_lazy_prepare(void *data, knd_err_t *err)
{
    fx_t *fx = data;
    fx->prepares++;
    return fx->prepare_fails ? knd_err_set(err, KND_E_INTERNAL, "no certificate yet") : 0;
}

/* Listens with a lazy context in place of the fixture's. */
static void test_fx_lazy(fx_t *fx, bool fails)
{
    knd_http_server_close(fx->srv, test_fx_srv_done, fx);
    WAIT_FOR(fx, fx->srv_done == 1);
    fx->srv_done = 0;
    knd_tls_ctx_free(fx->tls);
    fx->prepares = 0;
    fx->prepare_fails = fails;
    fx->tls = knd_tls_ctx_new_lazy(fx->cert, fx->key, test_lazy_prepare, fx);
    test_fx_listen(fx, NULL);
}

static void test_tls_lazy_ctx_loads_on_first_client(void **state)
{
    fx_t *fx = *state;
    test_fx_lazy(fx, false);
    assert_int_equal(fx->prepares, 0); /* listening costs nothing until a client comes */
    tc_t a, b;
    test_tc_open(fx, &a, fx->port, true, NULL);
    test_tc_send(&a, GET("/hello"));
    WAIT_FOR(fx, test_tc_has_responses(&a, 1));
    test_tc_open(fx, &b, fx->port, true, NULL);
    test_tc_send(&b, GET("/hello"));
    WAIT_FOR(fx, test_tc_has_responses(&b, 1));
    assert_int_equal(fx->prepares, 1);
    assert_int_equal(fx->secure_requests, 2);
    test_tc_close(&a);
    test_tc_close(&b);
}

static void test_tls_lazy_ctx_failing_refuses_clients(void **state)
{
    fx_t *fx = *state;
    test_fx_lazy(fx, true);
    tc_t a, b;
    test_tc_open(fx, &a, fx->port, true, NULL);
    test_tc_send(&a, GET("/hello"));
    WAIT_FOR(fx, a.eof);
    /* Within the retry pause, the next client is refused without another attempt. */
    test_tc_open(fx, &b, fx->port, true, NULL);
    test_tc_send(&b, GET("/hello"));
    WAIT_FOR(fx, b.eof);
    assert_int_equal(fx->prepares, 1);
    assert_int_equal(fx->requests, 0);
    test_tc_close(&a);
    test_tc_close(&b);
    WAIT_FOR(fx, knd_http_server_conns(fx->srv) == 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, test_fx_setup, test_fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_tls_get),
        T(test_tls_alpn),
        T(test_tls_keep_alive),
        T(test_tls_big_streamed),
        T(test_tls_backpressure),
        T(test_tls_chunked),
        T(test_tls_secure_flag),
        T(test_tls_plaintext_client_closed),
        T(test_tls_close_notify),
        T(test_tls_handshake_timeout),
        T(test_tls_upgrade_tunnel),
        T(test_tls_ctx_errors),
        T(test_tls_lazy_ctx_loads_on_first_client),
        T(test_tls_lazy_ctx_failing_refuses_clients),
    };
#undef T
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
