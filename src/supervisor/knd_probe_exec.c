/*
 * knd_probe_exec.c - one exec probe attempt (see knd_readiness_int.h).
 *
 * Ownership: an attempt owns a uv_process_t, the read end of one pipe that is the command's
 * stdout and stderr, and a uv_timer_t (the timeout, also used to report a failed spawn out of the
 * caller's stack). It closes them only once the command has been reaped (or never started), so a
 * cancelled or timed-out command is never left a zombie, and frees itself in the last close
 * callback. The command leads its own process group: a timeout or a cancel kills everything it
 * started, the way the kubelet's exec probe dies with its container session.
 */
#include "knd_readiness_int.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "knd_alloc.h"
#include "knd_buf.h"

#define KND_PROBE_EXEC_OUT_MAX 1024 /* output kept for the failure message */

struct knd_probe_exec_s {
    uv_process_t proc;
    uv_pipe_t pipe;
    uv_timer_t timer;
    int open_handles;
    int proc_inited; /* uv_spawn was called: the process handle needs closing */
    int spawned, exited, eof, closing;
    int64_t exit_status;
    int term_signal;
    char *cmdline;     /* owned: the argv joined by spaces, for messages */
    char *spawn_error; /* owned: why uv_spawn failed, or NULL */
    knd_readiness_cb cb; /* NULL once reported or cancelled */
    void *data;
    size_t out_len;
    char out[KND_PROBE_EXEC_OUT_MAX + 1];
    char rbuf[4096];
};

static void knd_probe_exec_on_close(uv_handle_t *h)
{
    knd_probe_exec_t *x = h->data;

    if (--x->open_handles > 0)
        return;
    free(x->cmdline);
    free(x->spawn_error);
    free(x);
}

/** Closes the handles once nothing is left to reap; a running command must exit first. */
static void knd_probe_exec_maybe_close(knd_probe_exec_t *x)
{
    if (x->closing || (x->spawned && !x->exited))
        return;
    x->closing = 1;
    uv_timer_stop(&x->timer);
    x->open_handles = 2 + x->proc_inited;
    if (x->proc_inited)
        uv_close((uv_handle_t *)&x->proc, knd_probe_exec_on_close);
    uv_close((uv_handle_t *)&x->pipe, knd_probe_exec_on_close);
    uv_close((uv_handle_t *)&x->timer, knd_probe_exec_on_close);
}

static void knd_probe_exec_report(knd_probe_exec_t *x, int ok, const char *msg)
{
    knd_readiness_cb cb = x->cb;

    x->cb = NULL;
    if (cb)
        cb(x->data, ok, ok ? NULL : msg);
}

static void knd_probe_exec_kill(knd_probe_exec_t *x)
{
    if (!x->spawned || x->exited)
        return;
    if (kill(-x->proc.pid, SIGKILL) == -1)
        kill(x->proc.pid, SIGKILL);
}

/** The command has exited and its output is read (or no longer awaited): judge it. */
static void knd_probe_exec_complete(knd_probe_exec_t *x)
{
    char *msg = NULL;
    size_t n = x->out_len;

    if (x->cb) {
        /* the kubelet reports an exec probe's output as the failure message */
        while (n > 0 && (x->out[n - 1] == '\n' || x->out[n - 1] == '\r'))
            n--;
        if (x->term_signal != 0)
            msg = knd_xasprintf("command '%s' killed by signal %d", x->cmdline, x->term_signal);
        else if (n > 0)
            msg = knd_xasprintf("%.*s", (int)n, x->out);
        else
            msg = knd_xasprintf("command '%s' exited with %lld", x->cmdline,
                                (long long)x->exit_status);
        knd_probe_exec_report(x, x->term_signal == 0 && x->exit_status == 0, msg);
        free(msg);
    }
    knd_probe_exec_maybe_close(x);
}

static void knd_probe_exec_on_exit(uv_process_t *proc, int64_t status, int term_signal)
{
    knd_probe_exec_t *x = proc->data;

    x->exited = 1;
    x->exit_status = status;
    x->term_signal = term_signal;
    /* whatever it left running goes with it, so the pipe reaches EOF */
    kill(-proc->pid, SIGKILL);
    if (x->eof || x->cb == NULL)
        knd_probe_exec_complete(x);
    /* else the output's EOF (or the timeout) completes it */
}

static void knd_probe_exec_on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    knd_probe_exec_t *x = h->data;

    (void)hint;
    *buf = uv_buf_init(x->rbuf, sizeof(x->rbuf));
}

static void knd_probe_exec_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    knd_probe_exec_t *x = s->data;

    if (nread > 0) {
        size_t room = KND_PROBE_EXEC_OUT_MAX - x->out_len;
        size_t take = (size_t)nread < room ? (size_t)nread : room;
        memcpy(x->out + x->out_len, buf->base, take);
        x->out_len += take;
        x->out[x->out_len] = '\0';
        return;
    }
    if (nread == 0)
        return;
    uv_read_stop(s);
    x->eof = 1;
    if (x->exited)
        knd_probe_exec_complete(x);
}

static void knd_probe_exec_on_timer(uv_timer_t *t)
{
    knd_probe_exec_t *x = t->data;
    char *msg;

    if (!x->spawned) {
        knd_probe_exec_report(x, 0, x->spawn_error);
        knd_probe_exec_maybe_close(x);
        return;
    }
    if (x->exited) {
        /* exited, but something it started still holds the output open */
        knd_probe_exec_complete(x);
        return;
    }
    knd_probe_exec_kill(x);
    msg = knd_xasprintf("command \"%s\" timed out", x->cmdline);
    knd_probe_exec_report(x, 0, msg);
    free(msg);
    /* closed once the killed command is reaped */
}

static char *knd_probe_exec_join(char *const *argv)
{
    knd_buf_t b;

    knd_buf_init(&b);
    for (size_t i = 0; argv[i]; i++) {
        if (i > 0)
            knd_buf_puts(&b, " ");
        knd_buf_puts(&b, argv[i]);
    }
    return knd_buf_steal(&b);
}

/** Spawns the command with the write end of the output pipe as its stdout and stderr. */
static int knd_probe_exec_spawn(knd_probe_exec_t *x, uv_loop_t *loop, char *const *argv,
                                char *const *env, const char *cwd)
{
    uv_stdio_container_t stdio[3];
    uv_process_options_t opt;
    uv_file fds[2];
    int rc;

    rc = uv_pipe(fds, 0, 0);
    if (rc != 0)
        return rc;
    rc = uv_pipe_open(&x->pipe, fds[0]);
    if (rc != 0) {
        close(fds[0]);
        close(fds[1]);
        return rc;
    }
    memset(&opt, 0, sizeof(opt));
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = fds[1];
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = fds[1];
    opt.exit_cb = knd_probe_exec_on_exit;
    opt.file = argv[0];
    opt.args = (char **)argv;
    opt.env = (char **)env;
    opt.cwd = cwd;
    opt.flags = UV_PROCESS_DETACHED; /* its own process group, killed as one */
    opt.stdio_count = 3;
    opt.stdio = stdio;
    rc = uv_spawn(loop, &x->proc, &opt);
    x->proc_inited = 1;
    close(fds[1]); /* the child has its copy: EOF arrives when it and its children are done */
    if (rc == 0)
        uv_read_start((uv_stream_t *)&x->pipe, knd_probe_exec_on_alloc, knd_probe_exec_on_read);
    return rc;
}

knd_probe_exec_t *knd__probe_exec_start(uv_loop_t *loop, char *const *argv, char *const *env,
                                        const char *cwd, int timeout_ms, knd_readiness_cb cb,
                                        void *data)
{
    knd_probe_exec_t *x = knd_xcalloc(1, sizeof(*x));
    int rc;

    x->cb = cb;
    x->data = data;
    x->cmdline = knd_probe_exec_join(argv);
    x->proc.data = x->pipe.data = x->timer.data = x;
    uv_pipe_init(loop, &x->pipe, 0);
    uv_timer_init(loop, &x->timer);
    rc = knd_probe_exec_spawn(x, loop, argv, env, cwd);
    if (rc != 0) {
        x->spawn_error = knd_xasprintf("exec \"%s\": %s", argv[0], uv_strerror(rc));
        uv_timer_start(&x->timer, knd_probe_exec_on_timer, 0, 0);
        return x;
    }
    x->spawned = 1;
    uv_timer_start(&x->timer, knd_probe_exec_on_timer, (uint64_t)timeout_ms, 0);
    return x;
}

void knd__probe_exec_cancel(knd_probe_exec_t *x)
{
    x->cb = NULL;
    knd_probe_exec_kill(x);
    knd_probe_exec_maybe_close(x);
}
