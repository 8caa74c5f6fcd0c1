/*
 * knd_readiness_int.h - one probe attempt, shared inside the supervisor only.
 *
 * A network attempt (knd_readiness.c) is a TCP connect to 127.0.0.1:<port> (Knative's default
 * probe) or, with a path, an HTTP/1.1 GET judged by its status line (200-399 is success, as the
 * queue-proxy and the kubelet judge it). An exec attempt (knd_probe_exec.c) runs a command in its
 * own process group; exit 0 is success. Each attempt owns its handles and frees itself once they
 * are closed; the caller holds a pointer only until the result callback runs or it cancels it.
 */
#ifndef KND_READINESS_INT_H
#define KND_READINESS_INT_H

#include <uv.h>

typedef struct knd_readiness_s knd_readiness_t;
typedef struct knd_probe_exec_s knd_probe_exec_t;

/**
 * Called once per attempt, never from inside the start call: ok is 1 on success. On failure msg
 * says why in the kubelet's words ("HTTP probe failed with statuscode: 503", "dial tcp
 * 127.0.0.1:8080: connect: connection refused", an exec probe's output); borrowed for the call.
 */
typedef void (*knd_readiness_cb)(void *data, int ok, const char *msg);

/**
 * Starts a network attempt. http_path NULL means a TCP connect probe; otherwise path and headers
 * (NULL-ended "Name: value", may be NULL) are borrowed for the call only. Returns the attempt, or
 * NULL if it could not even start (then no callback comes: the caller counts it as a failure).
 */
knd_readiness_t *knd__readiness_start(uv_loop_t *loop, int port, const char *http_path,
                                      const char *const *headers, int timeout_ms,
                                      knd_readiness_cb cb, void *data);

/** Abandons an attempt: its callback will not be called; it frees itself later. */
void knd__readiness_cancel(knd_readiness_t *r);

/**
 * Starts an exec attempt: argv with env and cwd (all borrowed for the call; cwd may be NULL),
 * stdout and stderr kept (the first 1 KiB) as the failure message. At timeout_ms the command's
 * process group is killed and the attempt fails with "command \"...\" timed out". Never NULL: a
 * command that cannot be started fails through the callback.
 */
knd_probe_exec_t *knd__probe_exec_start(uv_loop_t *loop, char *const *argv, char *const *env,
                                        const char *cwd, int timeout_ms, knd_readiness_cb cb,
                                        void *data);

/** Abandons an exec attempt: kills the command, no callback; it frees itself once reaped. */
void knd__probe_exec_cancel(knd_probe_exec_t *x);

#endif
