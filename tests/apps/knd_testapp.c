/*
 * knd_testapp.c - knd-testapp's process lifecycle: options from the environment and argv, the
 * startup delay, the listener on 127.0.0.1:$PORT, and the graceful drain on SIGTERM (stop
 * accepting, finish in-flight requests, exit 0), as the Knative runtime contract expects.
 *
 * The app struct lives on main's stack; everything hangs off its loop and is closed before main
 * returns, so a sanitizer build reports no leaks.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_testapp.h"

/* ---------------------------------------------------------------- options */

static int knd_testapp_parse_ms(const char *s, int64_t *out)
{
    char *end = NULL;
    long long v;

    if (s == NULL || *s == '\0')
        return 0;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0)
        return -1;
    *out = v;
    return 0;
}

static int knd_testapp_configure(knd_testapp_t *app, int argc, char **argv)
{
    const char *port = getenv("PORT");
    const char *v;
    char *end = NULL;
    long p;
    int i;

    app->port = 8080;
    if (port != NULL && *port != '\0') {
        p = strtol(port, &end, 10);
        if (*end != '\0' || p <= 0 || p > 65535) {
            fprintf(stderr, "knd-testapp: invalid PORT %s\n", port);
            return -1;
        }
        app->port = (int)p;
    }
    if (knd_testapp_parse_ms(getenv("STARTUP_DELAY_MS"), &app->startup_delay_ms) != 0 ||
        knd_testapp_parse_ms(getenv("READY_DELAY_MS"), &app->ready_delay_ms) != 0) {
        fprintf(stderr, "knd-testapp: STARTUP_DELAY_MS and READY_DELAY_MS take milliseconds\n");
        return -1;
    }
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--startup-delay-ms") == 0 && i + 1 < argc) {
            v = argv[++i];
            if (knd_testapp_parse_ms(v, &app->startup_delay_ms) != 0) {
                fprintf(stderr, "knd-testapp: invalid --startup-delay-ms %s\n", v);
                return -1;
            }
        } else {
            fprintf(stderr, "usage: knd-testapp [--startup-delay-ms MS]\n");
            return -1;
        }
    }
    v = getenv("TARGET");
    app->target = (v != NULL && *v != '\0') ? v : "World";
    v = getenv("K_REVISION");
    app->revision = v != NULL ? v : "";
    v = getenv("LOG_REQUESTS");
    app->log_requests = v != NULL && strcmp(v, "1") == 0;
    return 0;
}

/* ---------------------------------------------------------------- readiness and drain */

int knd_testapp_is_ready(const knd_testapp_t *app)
{
    return app->listening && !app->forced_unready && uv_now(app->loop) >= app->ready_at;
}

static void knd_testapp_close_if_open(uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void knd_testapp_maybe_exit(knd_testapp_t *app)
{
    if (!app->draining || app->nconns > 0)
        return;
    /* With the signal handles gone the loop has nothing left and uv_run returns. */
    knd_testapp_close_if_open((uv_handle_t *)&app->sigterm);
    knd_testapp_close_if_open((uv_handle_t *)&app->sigint);
    knd_testapp_close_if_open((uv_handle_t *)&app->start_timer);
    knd_testapp_close_if_open((uv_handle_t *)&app->burn_idle);
    knd_testapp_close_if_open((uv_handle_t *)&app->listener);
}

static void knd_testapp_on_signal(uv_signal_t *h, int signum)
{
    knd_testapp_t *app = h->data;
    knd_testapp_conn_t *c, *next;

    if (app->draining)
        return;
    fprintf(stderr, "%s received, draining\n", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    app->draining = 1;
    knd_testapp_close_if_open((uv_handle_t *)&app->listener);
    for (c = app->conns; c != NULL; c = next) {
        next = c->next; /* drain may free c */
        knd_testapp_conn_drain(c);
    }
    knd_testapp_maybe_exit(app);
}

/* ---------------------------------------------------------------- listener */

static void knd_testapp_on_connection(uv_stream_t *server, int status)
{
    knd_testapp_t *app = server->data;

    if (status < 0) {
        fprintf(stderr, "knd-testapp: accept: %s\n", uv_strerror(status));
        return;
    }
    knd_testapp_conn_accept(app);
}

static int knd_testapp_listen(knd_testapp_t *app)
{
    struct sockaddr_in addr;
    int rc;

    uv_ip4_addr("127.0.0.1", app->port, &addr);
    rc = uv_tcp_bind(&app->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&app->listener, 511, knd_testapp_on_connection);
    if (rc != 0) {
        fprintf(stderr, "knd-testapp: listen on 127.0.0.1:%d: %s\n", app->port, uv_strerror(rc));
        return rc;
    }
    app->listening = 1;
    app->ready_at = uv_now(app->loop) + (uint64_t)app->ready_delay_ms;
    printf("listening on 127.0.0.1:%d\n", app->port);
    return 0;
}

static void knd_testapp_on_start_timer(uv_timer_t *t)
{
    knd_testapp_t *app = t->data;

    if (knd_testapp_listen(app) != 0) {
        app->exit_code = 1;
        app->draining = 1;
        knd_testapp_maybe_exit(app);
    }
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    knd_testapp_t app;
    uv_loop_t loop;
    const char *fail = getenv("FAIL_START");

    memset(&app, 0, sizeof(app));
    /* stdout is a pipe under knd: line buffering makes "listening on" visible at once. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (fail != NULL && strcmp(fail, "1") == 0) {
        fprintf(stderr, "knd-testapp: FAIL_START=1, refusing to start\n");
        return 1;
    }
    if (knd_testapp_configure(&app, argc, argv) != 0)
        return 2;

    uv_loop_init(&loop);
    app.loop = &loop;
    uv_tcp_init(&loop, &app.listener);
    uv_signal_init(&loop, &app.sigterm);
    uv_signal_init(&loop, &app.sigint);
    uv_timer_init(&loop, &app.start_timer);
    uv_idle_init(&loop, &app.burn_idle);
    app.listener.data = app.sigterm.data = app.sigint.data = app.start_timer.data = &app;
    app.burn_idle.data = &app;
    uv_signal_start(&app.sigterm, knd_testapp_on_signal, SIGTERM);
    signal(SIGPIPE, SIG_IGN); /* a client gone mid-response is a write error, not a death */
    uv_signal_start(&app.sigint, knd_testapp_on_signal, SIGINT);

    if (app.startup_delay_ms > 0) {
        fprintf(stderr, "knd-testapp: starting in %lld ms\n", (long long)app.startup_delay_ms);
        uv_timer_start(&app.start_timer, knd_testapp_on_start_timer,
                       (uint64_t)app.startup_delay_ms, 0);
    } else {
        knd_testapp_on_start_timer(&app.start_timer);
    }

    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        fprintf(stderr, "knd-testapp: handles left open at exit\n");
    return app.exit_code;
}
