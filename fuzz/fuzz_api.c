/*
 * fuzz_api.c - libFuzzer target for the control API: what a client sends on the daemon's unix
 * socket (the HTTP server, the API's routing, queries, content types, bodies in JSON, YAML and
 * protobuf, patches, watches, the status and scale subresources, validation and defaulting,
 * and the store's writes).
 *
 * Each input starts from nothing: a new in-memory store, a controller and the API listening on
 * a unix socket in a temporary directory. The controller is quiesced at once, so no reconcile
 * pass runs: the API still reads the platform configuration from it and kicks it after a
 * write, but nothing a fuzzed Service names is ever started.
 *
 * Input: byte 0 is a set of flags, the rest is what the client sends.
 *   bits 0-1  the bytes go out in 1-4 writes, the loop settling between them
 *   bit 2     the client half-closes after sending, instead of waiting for the answers
 *   bit 3     the loop runs 5 ms more before the client leaves (timers fire)
 *
 * Every input must be answered or refused without a crash, leak or sanitizer report, and then:
 *   - the API still serves: a fresh GET of the Services list gets its 200;
 *   - what the store holds is what the API would accept: every stored object, without its
 *     status, passes validation (the store stays consistent whatever was sent).
 *
 * Not part of the default build: `fuzz/run.sh [SECONDS]` builds it with clang (libFuzzer, ASan,
 * UBSan) into build-fuzz/ and runs it; fuzz/make_api_seeds.py writes its seeds. Replaying one
 * input with KND_FUZZ_VERBOSE=1 set prints what the client got back, and the warnings.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "knd_api.h"
#include "knd_fuzz_client.h"
#include "knd_log.h"
#include "knd_model.h"
#include "knd_reconcile.h"
#include "knd_store.h"
#include "knd_supervisor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KND_FUZZ_CHECK_MS 3000 /* a health check not answered within this is a failure */
#define KND_FUZZ_LINGER_MS 5

typedef struct {
    uv_loop_t loop;
    char dir[64];   /* the temporary directory: logs/, run/ and the socket */
    char sock[128]; /* <dir>/api.sock */
    char logs[96];
    knd_supervisor_t *sv; /* set once the world exists */
} knd_fuzz_world_t;

static knd_fuzz_world_t W;

/* What one input runs against. */
typedef struct {
    knd_store_t *store;
    knd_reconciler_t *rc;
    knd_api_t *api;
} knd_fuzz_daemon_t;

static void knd_fuzz_done(void *data)
{
    (*(int *)data)--;
}

/* ------------------------------------------------------------------ the world */

static void knd_fuzz_world_free(void)
{
    knd_supervisor_free(W.sv);
    uv_run(&W.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&W.loop) != 0) {
        fprintf(stderr, "fuzz_api: handles left open at exit\n");
        abort();
    }
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", W.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_api: could not remove %s\n", W.dir);
}

static void knd_fuzz_world_init(void)
{
    knd_err_t err;
    signal(SIGPIPE, SIG_IGN); /* as knd serve does */
    if (getenv("KND_FUZZ_VERBOSE") == NULL)
        knd_log_level = KND_LOG_ERROR;
    uv_loop_init(&W.loop);
    snprintf(W.dir, sizeof(W.dir), "/tmp/knd-fuzz-api-XXXXXX");
    if (mkdtemp(W.dir) == NULL)
        abort();
    char run[96];
    snprintf(W.sock, sizeof(W.sock), "%s/api.sock", W.dir);
    snprintf(W.logs, sizeof(W.logs), "%s/logs", W.dir);
    snprintf(run, sizeof(run), "%s/run", W.dir);
    if (knd_supervisor_new(&W.loop, W.logs, run, &W.sv, &err) < 0) {
        fprintf(stderr, "fuzz_api: %s\n", err.msg);
        abort();
    }
    atexit(knd_fuzz_world_free);
}

/* ------------------------------------------------------------------ one daemon per input */

static void knd_fuzz_daemon_start(knd_fuzz_daemon_t *d)
{
    knd_err_t err;
    if (knd_store_open(":memory:", &d->store, &err) < 0) {
        fprintf(stderr, "fuzz_api: %s\n", err.msg);
        abort();
    }
    knd_reconcile_deps_t rdeps = {.loop = &W.loop, .store = d->store, .sv = W.sv,
                                  .default_domain = "example.com"};
    d->rc = knd_reconciler_new(&rdeps);
    knd_reconciler_quiesce(d->rc); /* no pass: nothing fuzzed is ever started */
    knd_api_deps_t adeps = {.loop = &W.loop, .store = d->store, .rc = d->rc,
                            .log_dir = W.logs};
    unlink(W.sock);
    if (knd_api_listen_unix(&adeps, W.sock, &d->api, &err) < 0) {
        fprintf(stderr, "fuzz_api: %s\n", err.msg);
        abort();
    }
}

static void knd_fuzz_daemon_stop(knd_fuzz_daemon_t *d)
{
    int open = 1;
    knd_api_close(d->api, knd_fuzz_done, &open);
    while (open > 0)
        uv_run(&W.loop, UV_RUN_ONCE);
    open = 1;
    knd_reconciler_shutdown(d->rc, knd_fuzz_done, &open);
    while (open > 0)
        uv_run(&W.loop, UV_RUN_ONCE);
    knd_store_close(d->store);
}

/* ------------------------------------------------------------------ the checks */

/* The API still serves: a GET of the Services list gets its 200 and the connection closes. */
static void knd_fuzz_health(void)
{
    static const char req[] = "GET /apis/serving.knative.dev/v1/namespaces/default/services "
                              "HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    knd_fuzz_client_t c;
    knd_fuzz_client_open_unix(&c, &W.loop, W.sock);
    knd_fuzz_client_send(&c, (const uint8_t *)req, sizeof(req) - 1);
    if (!knd_fuzz_client_wait_eof(&c, KND_FUZZ_CHECK_MS) || c.in.len < 12 ||
        memcmp(c.in.p, "HTTP/1.1 200", 12) != 0) {
        fprintf(stderr, "fuzz_api: the Services list no longer answers 200 (%zu bytes: %.*s)\n",
                c.in.len, (int)(c.in.len < 300 ? c.in.len : 300), c.in.p);
        abort();
    }
    knd_fuzz_client_close(&c);
}

/* Every stored object, status aside, is one the API would accept on create. */
static void knd_fuzz_store_consistent(knd_fuzz_daemon_t *d)
{
    const knd_platform_t *p = knd_reconciler_platform(d->rc);
    for (knd_kind_t k = KND_KIND_SERVICE; k <= KND_KIND_NAMESPACE; k++) {
        const knd_kind_info_t *info = knd_kind_info(k);
        json_t *list = NULL;
        knd_err_t err;
        if (knd_store_list(d->store, info->resource, NULL, &list, &err) < 0) {
            fprintf(stderr, "fuzz_api: listing %s: %s\n", info->resource, err.msg);
            abort();
        }
        size_t i;
        json_t *o;
        json_array_foreach(list, i, o)
        {
            json_t *copy = json_deep_copy(o);
            json_object_del(copy, "status");
            knd_errlist_t errs;
            knd_errlist_init(&errs);
            if (knd_model_validate(copy, p, &errs) < 0) {
                char *msg = knd_errlist_join(&errs);
                char *dump = json_dumps(o, JSON_COMPACT);
                fprintf(stderr, "fuzz_api: a stored %s fails validation: %s\n%s\n",
                        info->kind_name, msg, dump);
                abort();
            }
            knd_errlist_free(&errs);
            json_decref(copy);
        }
        json_decref(list);
    }
}

/* ------------------------------------------------------------------ one input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (W.sv == NULL)
        knd_fuzz_world_init();
    if (size == 0)
        return 0;
    uint8_t flags = data[0];
    const uint8_t *send = data + 1;
    size_t n = size - 1;
    knd_fuzz_daemon_t d;
    knd_fuzz_daemon_start(&d);

    knd_fuzz_client_t c;
    knd_fuzz_client_open_unix(&c, &W.loop, W.sock);
    knd_fuzz_client_send_pieces(&c, send, n, 1 + (flags & 3));
    if (flags & 0x04)
        knd_fuzz_client_shutdown(&c);
    if (flags & 0x08)
        knd_fuzz_linger(&W.loop, KND_FUZZ_LINGER_MS);
    if (getenv("KND_FUZZ_VERBOSE"))
        fprintf(stderr, "--- %zu bytes back:\n%.*s\n", c.in.len, (int)c.in.len, c.in.p);
    knd_fuzz_client_close(&c);
    knd_fuzz_settle(&W.loop);

    knd_fuzz_health();
    knd_fuzz_store_consistent(&d);
    knd_fuzz_daemon_stop(&d);
    return 0;
}
