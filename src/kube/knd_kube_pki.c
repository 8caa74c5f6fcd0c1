/*
 * knd_kube_pki.c - the API's credentials (see knd_kube_pki.h): a private CA, the server
 * certificate it signs, the bearer token and the kubeconfig, all kept in the state dir.
 *
 * Keys are EC P-256, signatures ECDSA-SHA256, which Go's crypto/x509 (kubectl), curl and OpenSSL
 * all accept. Every file is written to "<name>.tmp" with O_EXCL and mode 0600, synced, then
 * renamed into place: a crash leaves the old file or the new one, never half of either. A key is
 * always written before the certificate that names it, so a certificate on disk always has its
 * key.
 *
 * Ownership: OpenSSL objects live within one function (goto-out cleanup); knd_kube_pki_t owns
 * its strings until knd_kube_pki_free.
 */
#include "knd_kube_pki.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "knd_alloc.h"
#include "knd_buf.h"
#include "knd_tls.h"

#define KND_PKI_CA_DAYS 3650
#define KND_PKI_SERVER_DAYS 365
#define KND_PKI_RENEW_DAYS 30 /* re-issue a server certificate this close to expiry */
#define KND_PKI_TOKEN_BYTES 32

/* ------------------------------------------------------------------ files */

static int knd_kube_pki_sys_fail(knd_err_t *err, const char *what, const char *path)
{
    int e = errno;
    knd_err_set(err, KND_E_INTERNAL, "%s %s: %s", what, path, strerror(e));
    if (err)
        err->errno_ = e;
    return -1;
}

/* Creates a 0700 directory; an existing one is kept as it is (the state dir is the operator's). */
static int knd_kube_pki_mkdir(const char *path, knd_err_t *err)
{
    struct stat st;
    if (mkdir(path, 0700) == 0)
        return 0;
    if (errno != EEXIST)
        return knd_kube_pki_sys_fail(err, "creating", path);
    if (stat(path, &st) != 0)
        return knd_kube_pki_sys_fail(err, "checking", path);
    if (!S_ISDIR(st.st_mode))
        return knd_err_set(err, KND_E_INTERNAL, "%s: not a directory", path);
    return 0;
}

/* Writes path atomically with mode 0600 (see the file comment). */
static int knd_kube_pki_write_file(const char *path, const char *p, size_t n, knd_err_t *err)
{
    char *tmp = knd_xasprintf("%s.tmp", path);
    int rc = -1, fd = -1;
    unlink(tmp); /* left by a crash; the state dir lock keeps other writers away */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        knd_kube_pki_sys_fail(err, "creating", tmp);
        goto out;
    }
    for (size_t done = 0; done < n;) {
        ssize_t w = write(fd, p + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            knd_kube_pki_sys_fail(err, "writing", tmp);
            goto out;
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0) {
        knd_kube_pki_sys_fail(err, "syncing", tmp);
        goto out;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, path) != 0) {
        knd_kube_pki_sys_fail(err, "renaming into", path);
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* Reads a whole file: 0, 1 when it does not exist, -1 on other errors. */
static int knd_kube_pki_read_file(const char *path, knd_buf_t *out, knd_err_t *err)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        if (errno == ENOENT)
            return 1;
        return knd_kube_pki_sys_fail(err, "reading", path);
    }
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        knd_buf_append(out, chunk, n);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return knd_kube_pki_sys_fail(err, "reading", path);
    return 0;
}

static bool knd_kube_pki_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* ------------------------------------------------------------------ encoding */

/* Standard base64 (no line breaks) of n bytes, as a new string. */
static char *knd_kube_pki_base64(const void *p, size_t n)
{
    char *out = knd_xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    return out;
}

/* base64url without padding (RFC 4648 §5), as a new string. */
static char *knd_kube_pki_base64url(const void *p, size_t n)
{
    char *out = knd_kube_pki_base64(p, n);
    size_t len = strlen(out);
    while (len > 0 && out[len - 1] == '=')
        out[--len] = '\0';
    for (char *c = out; *c; c++)
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    return out;
}


/* ------------------------------------------------------------------ PEM in and out */

static int knd_kube_pki_write_cert(const char *path, X509 *x, knd_err_t *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL;
    int rc = -1;
    if (PEM_write_bio_X509(b, x) != 1) {
        knd_tls_openssl_fail(err, KND_E_INTERNAL, "encoding", path);
        goto out;
    }
    long n = BIO_get_mem_data(b, &p);
    rc = knd_kube_pki_write_file(path, p, (size_t)n, err);
out:
    BIO_free(b);
    return rc;
}

static int knd_kube_pki_write_key(const char *path, EVP_PKEY *key, knd_err_t *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL;
    int rc = -1;
    if (PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1) {
        knd_tls_openssl_fail(err, KND_E_INTERNAL, "encoding", path);
        goto out;
    }
    long n = BIO_get_mem_data(b, &p);
    rc = knd_kube_pki_write_file(path, p, (size_t)n, err);
    OPENSSL_cleanse(p, (size_t)n);
out:
    BIO_free(b);
    return rc;
}

static X509 *knd_kube_pki_load_cert(const char *path)
{
    BIO *b = BIO_new_file(path, "r");
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    return x;
}

static EVP_PKEY *knd_kube_pki_load_key(const char *path)
{
    BIO *b = BIO_new_file(path, "r");
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    return k;
}

/* ------------------------------------------------------------------ issuing */

static int knd_kube_pki_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (ext == NULL)
        return -1;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

/* A random positive 127-bit serial (RFC 5280 §4.1.2.2 allows up to 20 octets). */
static int knd_kube_pki_set_serial(X509 *x)
{
    unsigned char r[16];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
        return -1;
    r[0] = (unsigned char)((r[0] & 0x7f) | 0x40); /* positive and never zero */
    BIGNUM *bn = BN_bin2bn(r, sizeof(r), NULL);
    int rc = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ? 0 : -1;
    BN_free(bn);
    return rc;
}

/*
 * A certificate for key named cn, valid for days. issuer/issuer_key NULL: self-signed (the CA).
 * exts is a NULL-terminated list of (nid, value) pairs. Returns a new X509 or NULL.
 */
static X509 *knd_kube_pki_issue(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                                long days, const int *nids, const char *const *values)
{
    X509 *x = X509_new();
    bool ok = x && X509_set_version(x, X509_VERSION_3) && knd_kube_pki_set_serial(x) == 0 &&
              X509_gmtime_adj(X509_getm_notBefore(x), -300) && /* tolerate small clock skew */
              X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) &&
              X509_set_pubkey(x, key);
    X509_NAME *name = x ? X509_get_subject_name(x) : NULL;
    ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
                                          -1, -1, 0);
    ok = ok && X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    for (size_t i = 0; ok && nids[i]; i++)
        ok = knd_kube_pki_add_ext(x, issuer ? issuer : x, nids[i], values[i]) == 0;
    ok = ok && X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static X509 *knd_kube_pki_issue_ca(EVP_PKEY *key)
{
    static const int nids[] = {NID_basic_constraints, NID_key_usage, NID_subject_key_identifier, 0};
    static const char *const values[] = {"critical,CA:TRUE",
                                         "critical,keyCertSign,cRLSign,digitalSignature", "hash"};
    return knd_kube_pki_issue("knd-ca", key, NULL, NULL, KND_PKI_CA_DAYS, nids, values);
}

static bool knd_kube_pki_is_ip(const char *s)
{
    unsigned char a[16];
    return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

static X509 *knd_kube_pki_issue_server(EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key, const char *host)
{
    static const int nids[] = {NID_basic_constraints, NID_key_usage, NID_ext_key_usage,
                               NID_subject_alt_name, NID_subject_key_identifier,
                               NID_authority_key_identifier, 0};
    char san[512];
    int n = snprintf(san, sizeof(san), "IP:127.0.0.1,IP:::1,DNS:localhost");
    if (host[0] && strcmp(host, "127.0.0.1") != 0 && strcmp(host, "::1") != 0 &&
        strcasecmp(host, "localhost") != 0)
        snprintf(san + n, sizeof(san) - (size_t)n, ",%s:%s",
                 knd_kube_pki_is_ip(host) ? "IP" : "DNS", host);
    const char *const values[] = {"critical,CA:FALSE", "critical,digitalSignature", "serverAuth",
                                  san, "hash", "keyid:always"};
    return knd_kube_pki_issue("knd-apiserver", key, ca, ca_key, KND_PKI_SERVER_DAYS, nids,
                              values);
}

/* ------------------------------------------------------------------ the CA and server cert */

/* Loads the CA, or creates it when it is not there. A CA that exists but cannot be used is an
 * error: replacing it silently would break every kubeconfig that trusts it. */
static int knd_kube_pki_ensure_ca(const knd_kube_pki_t *pki, const char *ca_key_file, X509 **ca,
                                  EVP_PKEY **key, bool *created, knd_err_t *err)
{
    *created = false;
    if (knd_kube_pki_exists(pki->ca_file) && knd_kube_pki_exists(ca_key_file)) {
        *ca = knd_kube_pki_load_cert(pki->ca_file);
        *key = knd_kube_pki_load_key(ca_key_file);
        if (*ca == NULL || *key == NULL)
            return knd_err_set(err, KND_E_INTERNAL, "%s: cannot read the CA certificate or key",
                               *ca ? ca_key_file : pki->ca_file);
        if (X509_check_private_key(*ca, *key) != 1) {
            ERR_clear_error();
            return knd_err_set(err, KND_E_INTERNAL, "%s does not match %s", ca_key_file,
                               pki->ca_file);
        }
        return 0;
    }
    *key = EVP_EC_gen("P-256");
    *ca = *key ? knd_kube_pki_issue_ca(*key) : NULL;
    if (*ca == NULL)
        return knd_tls_openssl_fail(err, KND_E_INTERNAL, "creating CA", pki->ca_file);
    *created = true;
    if (knd_kube_pki_write_key(ca_key_file, *key, err) < 0 ||
        knd_kube_pki_write_cert(pki->ca_file, *ca, err) < 0)
        return -1;
    return 0;
}

static bool knd_kube_pki_covers(X509 *x, const char *name)
{
    if (knd_kube_pki_is_ip(name))
        return X509_check_ip_asc(x, name, 0) == 1;
    return X509_check_host(x, name, 0, X509_CHECK_FLAG_NO_WILDCARDS, NULL) == 1;
}

/* True if the server certificate on disk can stay: its key, signed by this CA, covering every
 * name, and not expiring within KND_PKI_RENEW_DAYS. */
static bool knd_kube_pki_server_ok(const knd_kube_pki_t *pki, X509 *ca, EVP_PKEY *ca_key,
                                   const char *host)
{
    X509 *x = knd_kube_pki_load_cert(pki->cert_file);
    EVP_PKEY *key = knd_kube_pki_load_key(pki->key_file);
    time_t soon = time(NULL) + (time_t)KND_PKI_RENEW_DAYS * 86400;
    bool ok = x && key && X509_check_private_key(x, key) == 1 && X509_verify(x, ca_key) == 1 &&
              X509_check_issued(ca, x) == X509_V_OK &&
              X509_cmp_time(X509_get0_notAfter(x), &soon) > 0 &&
              X509_cmp_current_time(X509_get0_notBefore(x)) < 0 &&
              knd_kube_pki_covers(x, "127.0.0.1") && knd_kube_pki_covers(x, "::1") &&
              knd_kube_pki_covers(x, "localhost") && (!host[0] || knd_kube_pki_covers(x, host));
    ERR_clear_error();
    X509_free(x);
    EVP_PKEY_free(key);
    return ok;
}

static int knd_kube_pki_ensure_server(const knd_kube_pki_t *pki, X509 *ca, EVP_PKEY *ca_key,
                                      const char *host, bool force, knd_err_t *err)
{
    if (!force && knd_kube_pki_server_ok(pki, ca, ca_key, host))
        return 0;
    int rc = -1;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = key ? knd_kube_pki_issue_server(key, ca, ca_key, host) : NULL;
    if (x == NULL) {
        knd_tls_openssl_fail(err, KND_E_INTERNAL, "issuing", pki->cert_file);
        goto out;
    }
    if (knd_kube_pki_write_key(pki->key_file, key, err) < 0 ||
        knd_kube_pki_write_cert(pki->cert_file, x, err) < 0)
        goto out;
    rc = 0;
out:
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

/* ------------------------------------------------------------------ the token */

static int knd_kube_pki_ensure_token(const char *path, char **token, knd_err_t *err)
{
    knd_buf_t b;
    knd_buf_init(&b);
    int rc = knd_kube_pki_read_file(path, &b, err);
    if (rc < 0)
        goto out;
    char *s = (char *)knd_buf_cstr(&b);
    size_t len = b.len;
    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
        s[--len] = '\0';
    if (rc == 0 && len > 0) {
        for (size_t i = 0; i < len; i++) {
            if (s[i] <= ' ' || s[i] > '~') {
                rc = knd_err_set(err, KND_E_INVALID, "%s: the token must be printable ASCII "
                                 "without spaces", path);
                goto out;
            }
        }
        *token = knd_xstrdup(s);
        goto out;
    }
    unsigned char r[KND_PKI_TOKEN_BYTES];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        rc = knd_kube_pki_sys_fail(err, "getrandom for", path);
        goto out;
    }
    *token = knd_kube_pki_base64url(r, sizeof(r));
    OPENSSL_cleanse(r, sizeof(r));
    rc = knd_kube_pki_write_file(path, *token, strlen(*token), err);
out:
    if (b.p)
        OPENSSL_cleanse(b.p, b.len);
    knd_buf_free(&b);
    return rc < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------ public */

/* "[::1]" -> "::1": a bracketed IPv6 literal as found in URLs. */
static char *knd_kube_pki_host(const char *host, knd_err_t *err)
{
    if (host == NULL)
        host = "";
    size_t n = strlen(host);
    char *h = n >= 2 && host[0] == '[' && host[n - 1] == ']' ? knd_xstrndup(host + 1, n - 2)
                                                             : knd_xstrdup(host);
    if (knd_kube_pki_is_ip(h))
        return h;
    for (const char *c = h; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '.' || *c == '-')) {
            knd_err_set(err, KND_E_INVALID, "API host %s: not an IP address or DNS name", h);
            free(h);
            return NULL;
        }
    }
    return h;
}

int knd_kube_pki_ensure(const char *state_dir, const char *host, knd_kube_pki_t *pki,
                        knd_err_t *err)
{
    memset(pki, 0, sizeof(*pki));
    char *dir = knd_xasprintf("%s/pki", state_dir);
    char *ca_key_file = knd_xasprintf("%s/ca.key", dir);
    char *token_file = knd_xasprintf("%s/token", state_dir);
    char *h = knd_kube_pki_host(host, err);
    X509 *ca = NULL;
    EVP_PKEY *ca_key = NULL;
    bool ca_created = false;
    int rc = -1;
    pki->ca_file = knd_xasprintf("%s/ca.crt", dir);
    pki->cert_file = knd_xasprintf("%s/server.crt", dir);
    pki->key_file = knd_xasprintf("%s/server.key", dir);
    if (h == NULL || knd_kube_pki_mkdir(state_dir, err) < 0 || knd_kube_pki_mkdir(dir, err) < 0)
        goto out;
    /* The key directory is knd's own: whatever made it looser, it is 0700. */
    if (chmod(dir, 0700) != 0) {
        knd_kube_pki_sys_fail(err, "chmod", dir);
        goto out;
    }
    ERR_clear_error();
    if (knd_kube_pki_ensure_ca(pki, ca_key_file, &ca, &ca_key, &ca_created, err) < 0 ||
        knd_kube_pki_ensure_server(pki, ca, ca_key, h, ca_created, err) < 0 ||
        knd_kube_pki_ensure_token(token_file, &pki->token, err) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0) {
        knd_err_wrap(err, "API credentials in %s", state_dir);
        knd_kube_pki_free(pki);
    }
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    free(h);
    free(token_file);
    free(ca_key_file);
    free(dir);
    return rc;
}

int knd_kube_pki_load(const char *state_dir, knd_kube_pki_t *pki, knd_err_t *err)
{
    memset(pki, 0, sizeof(*pki));
    char *dir = knd_xasprintf("%s/pki", state_dir);
    char *ca_key_file = knd_xasprintf("%s/ca.key", dir);
    char *token_file = knd_xasprintf("%s/token", state_dir);
    pki->ca_file = knd_xasprintf("%s/ca.crt", dir);
    pki->cert_file = knd_xasprintf("%s/server.crt", dir);
    pki->key_file = knd_xasprintf("%s/server.key", dir);
    int rc = 1;
    if (knd_kube_pki_exists(pki->ca_file) && knd_kube_pki_exists(ca_key_file) &&
        knd_kube_pki_exists(pki->cert_file) && knd_kube_pki_exists(pki->key_file) &&
        knd_kube_pki_exists(token_file))
        rc = knd_kube_pki_ensure_token(token_file, &pki->token, err);
    if (rc != 0)
        knd_kube_pki_free(pki);
    free(token_file);
    free(ca_key_file);
    free(dir);
    return rc;
}

/* A YAML double-quoted scalar: only '"' and '\\' need escaping in what knd puts there. */
static void knd_kube_pki_yaml_quoted(knd_buf_t *b, const char *s)
{
    knd_buf_puts(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            knd_buf_puts(b, "\\");
        knd_buf_append(b, s, 1);
    }
    knd_buf_puts(b, "\"");
}

int knd_kube_pki_write_kubeconfig(const char *state_dir, const knd_kube_pki_t *pki,
                                  const char *server_url, knd_err_t *err)
{
    knd_buf_t ca, y;
    knd_buf_init(&ca);
    knd_buf_init(&y);
    char *path = knd_xasprintf("%s/kubeconfig", state_dir);
    char *ca_data = NULL;
    int rc = knd_kube_pki_read_file(pki->ca_file, &ca, err);
    if (rc != 0) {
        if (rc > 0)
            knd_err_set(err, KND_E_INTERNAL, "%s: no such file", pki->ca_file);
        rc = -1;
        goto out;
    }
    ca_data = knd_kube_pki_base64(ca.p, ca.len);
    knd_buf_puts(&y, "apiVersion: v1\nkind: Config\nclusters:\n- name: knd\n  cluster:\n"
                     "    server: ");
    knd_kube_pki_yaml_quoted(&y, server_url);
    knd_buf_printf(&y, "\n    certificate-authority-data: %s\n", ca_data);
    knd_buf_puts(&y, "users:\n- name: knd\n  user:\n    token: ");
    knd_kube_pki_yaml_quoted(&y, pki->token);
    knd_buf_puts(&y, "\ncontexts:\n- name: knd\n  context:\n    cluster: knd\n    user: knd\n"
                     "    namespace: default\ncurrent-context: knd\npreferences: {}\n");
    rc = knd_kube_pki_write_file(path, y.p, y.len, err);
out:
    if (y.p)
        OPENSSL_cleanse(y.p, y.len);
    knd_buf_free(&y);
    knd_buf_free(&ca);
    free(ca_data);
    free(path);
    return rc;
}

bool knd_kube_pki_authorized(const knd_kube_pki_t *pki, const char *authorization)
{
    if (pki == NULL || pki->token == NULL || pki->token[0] == '\0' || authorization == NULL)
        return false;
    const char *p = authorization;
    while (*p == ' ' || *p == '\t')
        p++;
    /* The scheme is case-insensitive (RFC 9110 §11.1), as the apiserver treats it. */
    if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
        return false;
    p += 6;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strlen(p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    size_t want = strlen(pki->token);
    /* The length is no secret (always 43 for a generated token); the bytes are compared in
     * constant time. */
    return n == want && CRYPTO_memcmp(p, pki->token, want) == 0;
}

void knd_kube_pki_free(knd_kube_pki_t *pki)
{
    if (pki == NULL)
        return;
    if (pki->token)
        OPENSSL_cleanse(pki->token, strlen(pki->token));
    free(pki->token);
    free(pki->ca_file);
    free(pki->cert_file);
    free(pki->key_file);
    memset(pki, 0, sizeof(*pki));
}
