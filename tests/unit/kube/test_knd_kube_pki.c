/*
 * test_knd_kube_pki.c - knd_kube_pki in a fresh temporary state dir per test: files and modes,
 * reuse across calls, re-issuing, chain verification with OpenSSL's X509_verify_cert, the
 * Authorization check and the kubeconfig text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "knd_buf.h"
#include "knd_kube_pki.h"

typedef struct {
    char dir[64];
} fx_t;

static const char *const test_files[] = {"pki/ca.crt", "pki/ca.key", "pki/server.crt",
                                         "pki/server.key", "token", NULL};

/* ------------------------------------------------------------------ helpers */

static char *test_path(const fx_t *fx, const char *name)
{
    static char buf[4][256]; /* a few paths alive at once in one assertion */
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof(buf[0]), "%s/%s", fx->dir, name);
    return p;
}

/* The file's bytes as a new NUL-terminated string (the test frees it). */
static char *test_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    knd_buf_t b;
    char chunk[4096];
    size_t n;
    if (f == NULL)
        fail_msg("cannot open %s", path);
    knd_buf_init(&b);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        knd_buf_append(&b, chunk, n);
    fclose(f);
    if (len)
        *len = b.len;
    return knd_buf_steal(&b);
}

static void test_spit(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(s, f);
    fclose(f);
}

static void test_ensure(const fx_t *fx, const char *host, knd_kube_pki_t *pki)
{
    knd_err_t err;
    memset(&err, 0, sizeof(err));
    if (knd_kube_pki_ensure(fx->dir, host, pki, &err) < 0)
        fail_msg("ensure: %s", err.msg);
}

static X509 *test_load_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    return x;
}

/* Verifies server.crt against ca.crt alone, for TLS server use. */
static int test_verify(const knd_kube_pki_t *pki)
{
    X509 *ca = test_load_cert(pki->ca_file), *leaf = test_load_cert(pki->cert_file);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_add_cert(store, ca);
    X509_STORE_CTX_init(ctx, store, leaf, NULL);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
    int ok = X509_verify_cert(ctx);
    int rc = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    if (rc == X509_V_OK)
        rc = X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(ca);
    X509_free(leaf);
    return rc;
}

static bool test_covers(const char *cert_file, const char *name, bool ip)
{
    X509 *x = test_load_cert(cert_file);
    bool ok = ip ? X509_check_ip_asc(x, name, 0) == 1 : X509_check_host(x, name, 0, 0, NULL) == 1;
    X509_free(x);
    return ok;
}

/* ------------------------------------------------------------------ fixture */

static int test_fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/knd-pki-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    *state = fx;
    return 0;
}

static int test_fx_teardown(void **state)
{
    fx_t *fx = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

/* ------------------------------------------------------------------ tests */

static void test_pki_creates_files(void **state)
{
    fx_t *fx = *state;
    knd_kube_pki_t pki;
    struct stat st;
    test_ensure(fx, "127.0.0.1", &pki);
    for (size_t i = 0; test_files[i]; i++) {
        if (stat(test_path(fx, test_files[i]), &st) != 0)
            fail_msg("%s missing", test_files[i]);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_true(st.st_size > 0);
    }
    assert_int_equal(stat(test_path(fx, "pki"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_string_equal(pki.ca_file, test_path(fx, "pki/ca.crt"));
    assert_string_equal(pki.cert_file, test_path(fx, "pki/server.crt"));
    assert_string_equal(pki.key_file, test_path(fx, "pki/server.key"));
    /* 32 random bytes, base64url without padding. */
    assert_int_equal(strlen(pki.token), 43);
    assert_int_equal(strspn(pki.token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                       "0123456789-_"), 43);
    char *on_disk = test_slurp(test_path(fx, "token"), NULL);
    assert_string_equal(on_disk, pki.token);
    free(on_disk);
    /* No temporary file left behind. */
    assert_int_not_equal(access(test_path(fx, "token.tmp"), F_OK), 0);
    knd_kube_pki_free(&pki);
    assert_null(pki.token);
}

static void test_pki_ca_properties(void **state)
{
    fx_t *fx = *state;
    knd_kube_pki_t pki;
    test_ensure(fx, "127.0.0.1", &pki);
    X509 *ca = test_load_cert(pki.ca_file);
    char cn[64];
    X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_commonName, cn, sizeof(cn));
    assert_string_equal(cn, "knd-ca");
    assert_int_equal(X509_check_ca(ca), 1);
    assert_int_equal(X509_check_issued(ca, ca), X509_V_OK);
    EVP_PKEY *pub = X509_get0_pubkey(ca);
    assert_true(EVP_PKEY_is_a(pub, "EC"));
    char group[32];
    assert_int_equal(EVP_PKEY_get_utf8_string_param(pub, "group", group, sizeof(group), NULL), 1);
    assert_string_equal(group, "prime256v1");
    /* 10 years: after 9.9 years from now, before 10.1. */
    time_t t = time(NULL) + (time_t)(9.9 * 365 * 86400);
    assert_int_equal(X509_cmp_time(X509_get0_notAfter(ca), &t), 1);
    t = time(NULL) + (time_t)(10.1 * 365 * 86400);
    assert_int_equal(X509_cmp_time(X509_get0_notAfter(ca), &t), -1);
    X509_free(ca);
    knd_kube_pki_free(&pki);
}

static void test_pki_reuse(void **state)
{
    fx_t *fx = *state;
    knd_kube_pki_t a, b;
    char *before[6] = {0};
    size_t lens[6];
    test_ensure(fx, "127.0.0.1", &a);
    for (size_t i = 0; test_files[i]; i++)
        before[i] = test_slurp(test_path(fx, test_files[i]), &lens[i]);
    test_ensure(fx, "127.0.0.1", &b);
    assert_string_equal(a.token, b.token);
    for (size_t i = 0; test_files[i]; i++) {
        size_t n;
        char *after = test_slurp(test_path(fx, test_files[i]), &n);
        assert_int_equal(n, lens[i]);
        assert_memory_equal(after, before[i], n);
        free(after);
        free(before[i]);
    }
    knd_kube_pki_free(&a);
    knd_kube_pki_free(&b);
}

static void test_pki_server_cert_verifies(void **state)
{
    fx_t *fx = *state;
    knd_kube_pki_t pki;
    test_ensure(fx, "api.knd.test", &pki);
    assert_int_equal(test_verify(&pki), X509_V_OK);
    assert_true(test_covers(pki.cert_file, "127.0.0.1", true));
    assert_true(test_covers(pki.cert_file, "::1", true));
    assert_true(test_covers(pki.cert_file, "localhost", false));
    assert_true(test_covers(pki.cert_file, "api.knd.test", false));
    assert_false(test_covers(pki.cert_file, "other.knd.test", false));
    assert_false(test_covers(pki.cert_file, "10.0.0.1", true));
    X509 *x = test_load_cert(pki.cert_file);
    assert_int_equal(X509_check_ca(x), 0);
    assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
    assert_false(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
    /* One year. */
    time_t t = time(NULL) + 360 * 86400;
    assert_int_equal(X509_cmp_time(X509_get0_notAfter(x), &t), 1);
    t = time(NULL) + 370 * 86400;
    assert_int_equal(X509_cmp_time(X509_get0_notAfter(x), &t), -1);
    X509_free(x);
    knd_kube_pki_free(&pki);
}

static void test_pki_new_host_reissues_server_only(void **state)
{
    fx_t *fx = *state;
    knd_kube_pki_t a, b, c;
    test_ensure(fx, "127.0.0.1", &a);
    char *ca = test_slurp(a.ca_file, NULL), *ca_key = test_slurp(test_path(fx, "pki/ca.key"), NULL);
    char *crt = test_slurp(a.cert_file, NULL), *key = test_slurp(a.key_file, NULL);
    assert_false(test_covers(a.cert_file, "192.168.7.9", true));
    test_ensure(fx, "192.168.7.9", &b);
    char *ca2 = test_slurp(b.ca_file, NULL);
    char *ca_key2 = test_slurp(test_path(fx, "pki/ca.key"), NULL);
    char *crt2 = test_slurp(b.cert_file, NULL), *key2 = test_slurp(b.key_file, NULL);
    assert_string_equal(ca, ca2);
    assert_string_equal(ca_key, ca_key2);
    assert_string_equal(a.token, b.token);
    assert_string_not_equal(crt, crt2);
    assert_string_not_equal(key, key2);
    assert_true(test_covers(b.cert_file, "192.168.7.9", true));
    assert_int_equal(test_verify(&b), X509_V_OK);
    /* IPv6 hosts, bracketed as in a URL, are IP SANs. */
    test_ensure(fx, "[fd00::5]", &c);
    assert_true(test_covers(c.cert_file, "fd00::5", true));
    assert_false(test_covers(c.cert_file, "192.168.7.9", true));
    free(ca), free(ca_key), free(crt), free(key);
    free(ca2), free(ca_key2), free(crt2), free(key2);
    knd_kube_pki_free(&a);
    knd_kube_pki_free(&b);
    knd_kube_pki_free(&c);
}

static void test_pki_damaged_files(void **state)
{
    fx_t *fx = *state;
    knd_kube_pki_t a, b, c;
    knd_err_t err;
    memset(&err, 0, sizeof(err));
    test_ensure(fx, "127.0.0.1", &a);
    /* A damaged server certificate is simply issued again. */
    test_spit(a.cert_file, "garbage\n");
    test_ensure(fx, "127.0.0.1", &b);
    assert_int_equal(test_verify(&b), X509_V_OK);
    /* A damaged CA is an error: replacing it would break every client that trusts it. */
    test_spit(a.ca_file, "garbage\n");
    assert_int_equal(knd_kube_pki_ensure(fx->dir, "127.0.0.1", &c, &err), -1);
    assert_non_null(strstr(err.msg, "ca.crt"));
    assert_null(c.token);
    /* A bad host name is refused. */
    assert_int_equal(knd_kube_pki_ensure(fx->dir, "bad host,DNS:evil", &c, &err), -1);
    assert_int_equal(err.code, KND_E_INVALID);
    knd_kube_pki_free(&a);
    knd_kube_pki_free(&b);
}

static void test_pki_authorized(void **state)
{
    fx_t *fx = *state;
    knd_kube_pki_t pki;
    char h[128];
    test_ensure(fx, "127.0.0.1", &pki);
    snprintf(h, sizeof(h), "Bearer %s", pki.token);
    assert_true(knd_kube_pki_authorized(&pki, h));
    snprintf(h, sizeof(h), "bearer %s", pki.token);
    assert_true(knd_kube_pki_authorized(&pki, h));
    assert_false(knd_kube_pki_authorized(&pki, NULL));
    assert_false(knd_kube_pki_authorized(&pki, ""));
    assert_false(knd_kube_pki_authorized(&pki, "Bearer"));
    assert_false(knd_kube_pki_authorized(&pki, "Bearer "));
    assert_false(knd_kube_pki_authorized(&pki, "Bearer wrong"));
    snprintf(h, sizeof(h), "Basic %s", pki.token);
    assert_false(knd_kube_pki_authorized(&pki, h));
    snprintf(h, sizeof(h), "Bearer%s", pki.token);
    assert_false(knd_kube_pki_authorized(&pki, h));
    snprintf(h, sizeof(h), "Bearer %.42s", pki.token); /* a prefix of the token */
    assert_false(knd_kube_pki_authorized(&pki, h));
    snprintf(h, sizeof(h), "Bearer %sx", pki.token); /* the token as a prefix */
    assert_false(knd_kube_pki_authorized(&pki, h));
    snprintf(h, sizeof(h), "Bearer %s", pki.token);
    h[7] ^= 1; /* one bit off */
    assert_false(knd_kube_pki_authorized(&pki, h));
    knd_kube_pki_free(&pki);
    assert_false(knd_kube_pki_authorized(&pki, "Bearer "));
}

static void test_pki_kubeconfig(void **state)
{
    fx_t *fx = *state;
    knd_kube_pki_t pki;
    knd_err_t err;
    struct stat st;
    memset(&err, 0, sizeof(err));
    test_ensure(fx, "127.0.0.1", &pki);
    if (knd_kube_pki_write_kubeconfig(fx->dir, &pki, "https://127.0.0.1:6443", &err) < 0)
        fail_msg("kubeconfig: %s", err.msg);
    assert_int_equal(stat(test_path(fx, "kubeconfig"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *y = test_slurp(test_path(fx, "kubeconfig"), NULL);
    char line[128];
    assert_non_null(strstr(y, "server: \"https://127.0.0.1:6443\"\n"));
    snprintf(line, sizeof(line), "token: \"%s\"\n", pki.token);
    assert_non_null(strstr(y, line));
    assert_non_null(strstr(y, "current-context: knd\n"));
    assert_non_null(strstr(y, "namespace: default\n"));
    /* certificate-authority-data decodes to ca.crt exactly. */
    const char *key = "certificate-authority-data: ";
    char *p = strstr(y, key);
    assert_non_null(p);
    p += strlen(key);
    size_t n = strcspn(p, "\n");
    unsigned char *dec = malloc(n);
    int dn = EVP_DecodeBlock(dec, (unsigned char *)p, (int)n);
    assert_true(dn > 0);
    while (n > 0 && p[n - 1] == '=') { /* EVP_DecodeBlock counts padding as zero bytes */
        dn--;
        n--;
    }
    size_t ca_len;
    char *ca = test_slurp(pki.ca_file, &ca_len);
    assert_int_equal((size_t)dn, ca_len);
    assert_memory_equal(dec, ca, ca_len);
    free(ca);
    free(dec);
    free(y);
    /* Written again: same bytes. */
    char *first = test_slurp(test_path(fx, "kubeconfig"), NULL);
    assert_int_equal(knd_kube_pki_write_kubeconfig(fx->dir, &pki, "https://127.0.0.1:6443", &err),
                     0);
    char *second = test_slurp(test_path(fx, "kubeconfig"), NULL);
    assert_string_equal(first, second);
    free(first);
    free(second);
    knd_kube_pki_free(&pki);
}

static void test_pki_keeps_existing_token(void **state)
{
    fx_t *fx = *state;
    knd_kube_pki_t pki;
    assert_int_equal(mkdir(fx->dir, 0700) == 0 || access(fx->dir, F_OK) == 0, 1);
    test_spit(test_path(fx, "token"), "my-own-token\n");
    test_ensure(fx, "127.0.0.1", &pki);
    assert_string_equal(pki.token, "my-own-token");
    assert_true(knd_kube_pki_authorized(&pki, "Bearer my-own-token"));
    knd_kube_pki_free(&pki);
}

static void test_pki_load_is_cheap_and_complete_only(void **state)
{
    fx_t *fx = *state;
    knd_kube_pki_t a, b;
    knd_err_t err;
    memset(&err, 0, sizeof(err));
    /* Nothing yet: the caller must create the credentials. */
    assert_int_equal(knd_kube_pki_load(fx->dir, &b, &err), 1);
    test_ensure(fx, "127.0.0.1", &a);
    assert_int_equal(knd_kube_pki_load(fx->dir, &b, &err), 0);
    assert_string_equal(a.token, b.token);
    assert_string_equal(a.cert_file, b.cert_file);
    assert_string_equal(a.key_file, b.key_file);
    assert_string_equal(a.ca_file, b.ca_file);
    knd_kube_pki_free(&b);
    /* One file missing: not complete. */
    assert_int_equal(unlink(test_path(fx, "pki/server.key")), 0);
    assert_int_equal(knd_kube_pki_load(fx->dir, &b, &err), 1);
    knd_kube_pki_free(&a);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, test_fx_setup, test_fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_pki_creates_files),
        T(test_pki_ca_properties),
        T(test_pki_reuse),
        T(test_pki_server_cert_verifies),
        T(test_pki_new_host_reissues_server_only),
        T(test_pki_damaged_files),
        T(test_pki_authorized),
        T(test_pki_kubeconfig),
        T(test_pki_keeps_existing_token),
        T(test_pki_load_is_cheap_and_complete_only),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
