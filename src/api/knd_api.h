/*
 * knd_api.h - the control API (docs/api.md): Kubernetes-shaped REST over HTTP/1.1 + JSON,
 * served on the daemon's unix socket and, for kubectl, over HTTPS with a bearer token. Handlers validate with model/, write through store/, then
 * kick the reconciler; they never touch instances or the data plane directly.
 */
#ifndef KND_API_H
#define KND_API_H

#include <uv.h>

#include "knd_err.h"
#include "knd_reconcile.h"
#include "knd_store.h"

typedef struct knd_api_s knd_api_t;

typedef struct {
    uv_loop_t *loop;
    knd_store_t *store;
    knd_reconciler_t *rc;
    const char *log_dir; /* <state-dir>/logs, for `knd logs` */
} knd_api_deps_t;

/** Listens on the unix socket at path (mode 0600). */
int knd_api_listen_unix(const knd_api_deps_t *deps, const char *path, knd_api_t **out,
                        knd_err_t *err);
/**
 * Also serves the API over HTTPS on host:port (0: any free port) for kubectl: loads or creates
 * the certificates and token in state_dir and writes <state_dir>/kubeconfig. Every HTTPS
 * request needs the bearer token.
 */
int knd_api_listen_tls(knd_api_t *api, const char *state_dir, const char *host, int port,
                       knd_err_t *err);
/** The bound HTTPS port, 0 if none. */
int knd_api_tls_port(const knd_api_t *api);
/** Stops accepting; open requests finish (log followers are ended); then done(data). */
void knd_api_close(knd_api_t *api, void (*done)(void *data), void *data);

#endif
