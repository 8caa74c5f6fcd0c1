/*
 * knd_daemon.c - `knd serve`: flags, the state directory, start-up in dependency order, and a
 * graceful shutdown in reverse (see knd_daemon.h).
 *
 * Start: lock the state dir, open the store, start the supervisor (which kills orphans of an
 * earlier run), the ingress, the reconciler, the control API socket and the admin listener, then
 * run one reconcile pass that brings every stored revision back.
 * Stop (SIGTERM/SIGINT): close the API and admin listeners, let the ingress finish in-flight
 * requests (bounded), stop every instance gracefully, close the store, exit 0.
 */
#include "knd_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "knd_admin.h"
#include "knd_alloc.h"
#include "knd_api.h"
#include "knd_ingress.h"
#include "knd_log.h"
#include "knd_platform.h"
#include "knd_reconcile.h"
#include "knd_store.h"
#include "knd_supervisor.h"
#include "knd_trace.h"

#define KND_DRAIN_MAX_MS 10000 /* in-flight ingress requests get this long at shutdown */

struct knd_daemon_s {
    uv_loop_t loop;
    char *state_dir, *domain;
    char http_host[64], admin_host[64], api_host[64];
    char log_dir[PATH_MAX]; /* <state-dir>/logs: borrowed by the supervisor and the API */
    int http_port, admin_port, api_port; /* api_port -1: no HTTPS API */
    int lock_fd;
    knd_store_t *store;
    knd_supervisor_t *sv;
    knd_ingress_t *ingress;
    knd_reconciler_t *rc;
    knd_api_t *api;
    knd_http_server_t *admin;
    knd_admin_deps_t admin_deps;
    knd_tracer_t *tracer;
    uv_signal_t sigterm, sigint;
    uv_timer_t drain;
    bool stopping;
    int open_listeners; /* while stopping: API, admin and ingress not closed yet */
    int exit_code;
};

/* ------------------------------------------------------------------ start */

/* The namespaces every Knative cluster has, so that `kubectl get ns` lists them. */
static void knd_daemon_namespaces(knd_daemon_t *d)
{
    static const char *const names[] = {"default", KND_SYSTEM_NAMESPACE};
    for (size_t i = 0; i < KND_ARRAY_SIZE(names); i++) {
        json_t *obj = NULL;
        knd_err_t err;
        if (knd_store_get(d->store, "namespaces", "", names[i], &obj, &err) < 0) {
            obj = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion", "v1", "kind",
                            "Namespace", "metadata", "name", names[i], "status", "phase",
                            "Active");
            if (knd_store_create(d->store, "namespaces", obj, &err) < 0)
                knd_log(KND_LOG_WARN, "daemon", "creating namespace %s: %s", names[i], err.msg);
        }
        json_decref(obj);
    }
}

/* ------------------------------------------------------------------ flags */

static int knd_daemon_usage(void)
{
    fprintf(stderr, "usage: knd serve [--state-dir DIR] [--http-addr H:P] [--admin-addr H:P] "
                    "[--api-addr H:P|none] [--domain D] [--log-level LEVEL]\n");
    return 2;
}

static int knd_daemon_parse_addr(const char *s, char host[64], int *port)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || (size_t)(colon - s) >= 64)
        return -1;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p < 0 || p > 65535)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    if (host[0] == '[') { /* [::1]:8080 */
        size_t n = strlen(host);
        if (n < 2 || host[n - 1] != ']')
            return -1;
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    *port = (int)p;
    return 0;
}

/* Returns the value of --name VALUE / --name=VALUE at argv[*i], or NULL if argv[*i] is not it. */
static const char *knd_daemon_flag(int argc, char **argv, int *i, const char *name, bool *bad)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        fprintf(stderr, "knd serve: %s needs a value\n", name);
        *bad = true;
        return NULL;
    }
    return argv[++*i];
}

static int knd_daemon_parse(knd_daemon_t *d, int argc, char **argv)
{
    const char *env = getenv("KND_STATE_DIR");
    d->state_dir = knd_xstrdup(env && *env ? env : ".knd");
    d->domain = knd_xstrdup("127.0.0.1.sslip.io");
    strcpy(d->http_host, "127.0.0.1");
    strcpy(d->admin_host, "127.0.0.1");
    strcpy(d->api_host, "127.0.0.1");
    d->http_port = 8080;
    d->admin_port = 9080;
    d->api_port = 6443;
    for (int i = 1; i < argc; i++) {
        bool bad = false;
        const char *v;
        if ((v = knd_daemon_flag(argc, argv, &i, "--state-dir", &bad))) {
            free(d->state_dir);
            d->state_dir = knd_xstrdup(v);
        } else if ((v = knd_daemon_flag(argc, argv, &i, "--http-addr", &bad))) {
            if (knd_daemon_parse_addr(v, d->http_host, &d->http_port) < 0) {
                fprintf(stderr, "knd serve: --http-addr: expected HOST:PORT, got \"%s\"\n", v);
                return -1;
            }
        } else if ((v = knd_daemon_flag(argc, argv, &i, "--admin-addr", &bad))) {
            if (knd_daemon_parse_addr(v, d->admin_host, &d->admin_port) < 0) {
                fprintf(stderr, "knd serve: --admin-addr: expected HOST:PORT, got \"%s\"\n", v);
                return -1;
            }
        } else if ((v = knd_daemon_flag(argc, argv, &i, "--api-addr", &bad))) {
            if (strcmp(v, "none") == 0)
                d->api_port = -1;
            else if (knd_daemon_parse_addr(v, d->api_host, &d->api_port) < 0) {
                fprintf(stderr, "knd serve: --api-addr: expected HOST:PORT, got \"%s\"\n", v);
                return -1;
            }
        } else if ((v = knd_daemon_flag(argc, argv, &i, "--domain", &bad))) {
            free(d->domain);
            d->domain = knd_xstrdup(v);
        } else if ((v = knd_daemon_flag(argc, argv, &i, "--log-level", &bad))) {
            int lvl = knd_log_parse_level(v);
            if (lvl < 0) {
                fprintf(stderr, "knd serve: --log-level: unknown level \"%s\"\n", v);
                return -1;
            }
            knd_log_level = lvl;
        } else if (!bad && (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)) {
            knd_daemon_usage();
            exit(0);
        } else {
            if (!bad)
                fprintf(stderr, "knd serve: unknown flag \"%s\"\n", argv[i]);
            return -1;
        }
        if (bad)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ state directory */

static int knd_daemon_mkdir(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return 0;
    return -1;
}

/* One daemon per state dir: an flock held for the process's lifetime (released by the kernel
 * on kill -9, so a crashed daemon never blocks its successor). */
static int knd_daemon_lock(knd_daemon_t *d)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/knd.lock", d->state_dir);
    d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (d->lock_fd < 0 || flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        knd_log(KND_LOG_ERROR, "daemon", "state dir %s is in use by another knd (%s)",
                d->state_dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ shutdown */

static void knd_daemon_walk_close(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void knd_daemon_rc_done(void *data)
{
    knd_daemon_t *d = data;
    d->rc = NULL;
    if (d->sv)
        knd_supervisor_free(d->sv);
    d->sv = NULL;
    if (d->store)
        knd_store_close(d->store);
    d->store = NULL;
    knd_log(KND_LOG_NOTICE, "daemon", "stopped");
    uv_close((uv_handle_t *)&d->drain, NULL);
    uv_close((uv_handle_t *)&d->sigterm, NULL);
    uv_close((uv_handle_t *)&d->sigint, NULL);
}

/* Every listener has closed: no request can touch the controller or the store any more, so
 * the instances stop (gracefully) and then everything else goes. */
static void knd_daemon_listener_closed(void *data)
{
    knd_daemon_t *d = data;
    if (--d->open_listeners > 0)
        return;
    d->ingress = NULL;
    uv_timer_stop(&d->drain);
    if (d->tracer) { /* the last spans go out (bounded by the export timeout) */
        knd_tracer_close(d->tracer, NULL, NULL);
        d->tracer = NULL;
    }
    knd_reconciler_shutdown(d->rc, knd_daemon_rc_done, d);
}

static void knd_daemon_drain_timeout(uv_timer_t *t)
{
    knd_daemon_t *d = t->data;
    knd_log(KND_LOG_WARN, "daemon", "requests still in flight after %d ms: closing them",
            KND_DRAIN_MAX_MS);
    if (d->ingress)
        knd_ingress_abort(d->ingress);
}

/*
 * Graceful stop: the API and admin listeners close, the ingress stops accepting and lets
 * requests in flight finish (at most KND_DRAIN_MAX_MS, then they are cut); once all three are
 * closed the instances get drained and stopped.
 */
static void knd_daemon_stop(knd_daemon_t *d)
{
    if (d->stopping)
        return;
    d->stopping = true;
    knd_log(KND_LOG_NOTICE, "daemon", "shutting down");
    if (d->rc)
        knd_reconciler_quiesce(d->rc); /* no pass may touch a listener that is closing */
    d->open_listeners = 1; /* held until every close below has been started */
    if (d->api) {
        d->open_listeners++;
        knd_api_close(d->api, knd_daemon_listener_closed, d);
        d->api = NULL;
    }
    if (d->admin) {
        d->open_listeners++;
        knd_http_server_close(d->admin, knd_daemon_listener_closed, d);
        d->admin = NULL;
    }
    if (d->ingress) {
        d->open_listeners++;
        uv_timer_start(&d->drain, knd_daemon_drain_timeout, KND_DRAIN_MAX_MS, 0);
        knd_ingress_close(d->ingress, knd_daemon_listener_closed, d);
    }
    if (d->rc == NULL) { /* start-up failed before the controller existed */
        if (d->tracer)
            knd_tracer_close(d->tracer, NULL, NULL);
        d->tracer = NULL;
        d->open_listeners = 0;
        knd_daemon_rc_done(d);
        return;
    }
    knd_daemon_listener_closed(d);
}

static void knd_daemon_on_signal(uv_signal_t *s, int signum)
{
    knd_daemon_t *d = s->data;
    if (d->stopping) {
        knd_log(KND_LOG_WARN, "daemon", "second signal %d: exiting now", signum);
        _exit(1);
    }
    knd_daemon_stop(d);
}

/* ------------------------------------------------------------------ start */

static int knd_daemon_start(knd_daemon_t *d)
{
    knd_err_t err;
    char path[PATH_MAX], run[PATH_MAX];
    char *logs = d->log_dir;
    if (knd_daemon_mkdir(d->state_dir) < 0) {
        knd_log(KND_LOG_ERROR, "daemon", "create state dir %s: %s", d->state_dir, strerror(errno));
        return -1;
    }
    if (knd_daemon_lock(d) < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/knd.db", d->state_dir);
    if (knd_store_open(path, &d->store, &err) < 0)
        goto fail;
    knd_daemon_namespaces(d);
    snprintf(logs, sizeof(d->log_dir), "%s/logs", d->state_dir);
    snprintf(run, sizeof(run), "%s/run", d->state_dir);
    if (knd_supervisor_new(&d->loop, logs, run, &d->sv, &err) < 0)
        goto fail;
    if (knd_ingress_start(&d->loop, d->http_host, d->http_port, &d->ingress, &err) < 0)
        goto fail;
    d->tracer = knd_tracer_new(&d->loop, "knd");
    knd_ingress_set_tracer(d->ingress, d->tracer);
    knd_reconcile_deps_t rdeps = {.loop = &d->loop, .store = d->store, .sv = d->sv,
                                  .ingress = d->ingress, .default_domain = d->domain,
                                  .tracer = d->tracer};
    d->rc = knd_reconciler_new(&rdeps);
    knd_api_deps_t adeps = {.loop = &d->loop, .store = d->store, .rc = d->rc, .log_dir = logs};
    snprintf(path, sizeof(path), "%s/knd.sock", d->state_dir);
    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        knd_err_set(&err, KND_E_INVALID, "socket path %s is too long for a unix socket", path);
        goto fail;
    }
    d->admin_deps.rc = d->rc;
    d->admin_deps.ingress = d->ingress;
    d->admin_deps.tracer = d->tracer;
    if (knd_admin_start(&d->loop, d->admin_host, d->admin_port, &d->admin_deps, &d->admin,
                        &err) < 0)
        goto fail;
    /* The socket last: a client that can connect finds everything else ready. */
    if (knd_api_listen_unix(&adeps, path, &d->api, &err) < 0)
        goto fail;
    if (d->api_port >= 0 &&
        knd_api_listen_tls(d->api, d->state_dir, d->api_host, d->api_port, &err) < 0)
        goto fail;
    knd_log(KND_LOG_NOTICE, "daemon",
            "serving: ingress http://%s:%d, admin http://%s:%d, api unix:%s and https://%s:%d, "
            "domain %s",
            d->http_host, knd_ingress_port(d->ingress), d->admin_host,
            knd_http_server_port(d->admin), path, d->api_host, knd_api_tls_port(d->api),
            d->domain);
    knd_reconciler_run(d->rc);
    return 0;
fail:
    knd_log(KND_LOG_ERROR, "daemon", "%s", err.msg);
    return -1;
}

int knd_serve_main(int argc, char **argv)
{
    knd_daemon_t *d = knd_xcalloc(1, sizeof(*d));
    d->lock_fd = -1;
    if (knd_daemon_parse(d, argc, argv) < 0) {
        free(d->state_dir);
        free(d->domain);
        free(d);
        return knd_daemon_usage();
    }
    signal(SIGPIPE, SIG_IGN); /* a peer closing mid-write is an error return, not a signal */
    uv_loop_init(&d->loop);
    uv_signal_init(&d->loop, &d->sigterm);
    uv_signal_init(&d->loop, &d->sigint);
    uv_timer_init(&d->loop, &d->drain);
    d->sigterm.data = d->sigint.data = d->drain.data = d;
    uv_signal_start(&d->sigterm, knd_daemon_on_signal, SIGTERM);
    uv_signal_start(&d->sigint, knd_daemon_on_signal, SIGINT);
    if (knd_daemon_start(d) < 0) {
        d->exit_code = 1;
        knd_daemon_stop(d);
    }
    uv_run(&d->loop, UV_RUN_DEFAULT);
    /* Anything a failed start left open: close it so the loop can be closed cleanly. */
    uv_walk(&d->loop, knd_daemon_walk_close, NULL);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    if (d->store)
        knd_store_close(d->store);
    if (uv_loop_close(&d->loop) != 0)
        knd_log(KND_LOG_ALERT, "daemon", "loop closed with handles still open");
    if (d->lock_fd >= 0)
        close(d->lock_fd);
    int code = d->exit_code;
    free(d->state_dir);
    free(d->domain);
    free(d);
    return code;
}
