/*
 * knd_kube_pki.h - the API's credentials in the state dir: a CA, a server certificate for the
 * API address (127.0.0.1, ::1, localhost, and the listen host), a bearer token, and a kubeconfig
 * that points kubectl at it. Created at first start, reused after (the CA and token never change
 * unless deleted; the server certificate is re-issued when it does not cover the host or expires
 * within 30 days). Every private file is mode 0600, in a 0700 directory.
 *
 * Files: <dir>/pki/ca.crt, ca.key, server.crt, server.key; <dir>/token; <dir>/kubeconfig.
 */
#ifndef KND_KUBE_PKI_H
#define KND_KUBE_PKI_H

#include <stdbool.h>

#include "knd_err.h"

typedef struct {
    char *ca_file;     /* PEM paths, owned */
    char *cert_file;
    char *key_file;
    char *token;       /* the bearer token (43 base64url characters of 32 random bytes), owned */
} knd_kube_pki_t;

/** Loads or creates everything above for an API served on host (an IP or name). */
int knd_kube_pki_ensure(const char *state_dir, const char *host, knd_kube_pki_t *pki,
                        knd_err_t *err);
/**
 * The cheap start: if every file exists, fills pki (paths, token) reading only the token, and
 * returns 0 - the certificates are checked (and re-issued) by knd_kube_pki_ensure later, when
 * the first client connects, so a daemon nobody points kubectl at never loads OpenSSL's
 * algorithms (about 3 MB of resident memory). Returns 1 if something is missing (call
 * knd_kube_pki_ensure), -1 on error.
 */
int knd_kube_pki_load(const char *state_dir, knd_kube_pki_t *pki, knd_err_t *err);
/** Writes <state_dir>/kubeconfig (0600, atomically) for server_url ("https://127.0.0.1:6443"):
 * cluster "knd" with certificate-authority-data, user "knd" with the token, context "knd"
 * (namespace default) as current-context. */
int knd_kube_pki_write_kubeconfig(const char *state_dir, const knd_kube_pki_t *pki,
                                  const char *server_url, knd_err_t *err);
/** True if an Authorization header value is "Bearer <token>" (constant-time comparison). */
bool knd_kube_pki_authorized(const knd_kube_pki_t *pki, const char *authorization);
void knd_kube_pki_free(knd_kube_pki_t *pki);

#endif
