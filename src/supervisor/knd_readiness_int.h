/*
 * knd_readiness_int.h - one readiness probe attempt against 127.0.0.1:<port>, shared inside the
 * supervisor only.
 *
 * An attempt is a TCP connect (Knative's default probe) or, with a path, an HTTP/1.1 GET judged by
 * its status line (200-399 is success, as the queue-proxy judges it). The attempt owns its handles
 * and frees itself once they are closed; the caller holds a pointer only until the result callback
 * runs or it cancels the attempt.
 */
#ifndef KND_READINESS_INT_H
#define KND_READINESS_INT_H

#include <uv.h>

typedef struct knd_readiness_s knd_readiness_t;

/** Called once per attempt, never from inside knd__readiness_start: ok is 1 on success. */
typedef void (*knd_readiness_cb)(void *data, int ok);

/**
 * Starts an attempt. http_path NULL means a TCP connect probe; otherwise it is borrowed for the
 * call only. Returns the attempt, or NULL if it could not even start (then no callback comes:
 * the caller counts it as a failure).
 */
knd_readiness_t *knd__readiness_start(uv_loop_t *loop, int port, const char *http_path,
                                      int timeout_ms, knd_readiness_cb cb, void *data);

/** Abandons an attempt: its callback will not be called; it frees itself later. */
void knd__readiness_cancel(knd_readiness_t *r);

#endif
