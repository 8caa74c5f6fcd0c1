/*
 * knd_supervisor.h - instances of revisions as local processes (the process runtime).
 *
 * The supervisor spawns an instance with uv_spawn in its own process group, gives it a free
 * loopback port in $PORT, captures stdout/stderr line by line into a per-instance log file, probes
 * it for readiness (TCP connect to the port by default, or an HTTP GET path) and reports state
 * changes through a callback. Stopping is graceful: SIGTERM to the process group, SIGKILL after
 * the grace period. The caller owns the decision of how many instances run; the supervisor owns
 * the processes.
 *
 * Lifetime: knd_instance_t is owned by the supervisor. After the callback reports
 * KND_INSTANCE_STOPPED (after knd_instance_stop, or a crash), the instance pointer stays valid
 * until that callback returns and is then freed: callers drop their references in that callback.
 *
 * Orphans: pid + start time of every live instance are recorded in <run_dir>/<id>.pid; after a
 * kill -9 of the daemon, knd_supervisor_new() kills the recorded process groups whose start time
 * still matches (so a reused pid is never signalled).
 */
#ifndef KND_SUPERVISOR_H
#define KND_SUPERVISOR_H

#include <stdint.h>
#include <uv.h>

#include "knd_err.h"
#include "knd_types.h"

typedef enum {
    KND_INSTANCE_STARTING = 0, /* spawned, not yet ready */
    KND_INSTANCE_READY,        /* readiness probe passed: may receive traffic */
    KND_INSTANCE_NOT_READY,    /* was ready, readiness now failing */
    KND_INSTANCE_STOPPING,     /* knd_instance_stop() called: SIGTERM sent or pending */
    KND_INSTANCE_STOPPED,      /* process exited (see exit_status / term_signal); final */
} knd_instance_state_t;

typedef void (*knd_instance_cb)(knd_instance_t *inst, knd_instance_state_t state, void *data);

typedef struct {
    const char *ns, *revision;  /* for logs and names; borrowed for the call */
    char *const *argv;          /* argv[0] resolved through PATH if it has no '/'; NULL-ended */
    char *const *env;           /* "K=V" entries, NULL-ended; PORT is appended by the supervisor
                                   (replacing any PORT here); without PATH, the daemon's PATH */
    const char *cwd;            /* NULL = the daemon's cwd */
    /* readiness probe: http_path NULL = TCP connect to PORT */
    const char *http_path;
    int probe_period_ms;        /* 0 = Knative's aggressive probing: every 50 ms until ready */
    int probe_timeout_ms;       /* per attempt; 0 = 1000 (100 while probing aggressively) */
    int probe_failure_threshold;/* consecutive failures after ready -> NOT_READY; 0 = 3 */
    int grace_ms;               /* SIGTERM -> SIGKILL delay */
} knd_instance_spec_t;

/**
 * Creates the supervisor. log_dir receives <ns>/<revision>/<instance-id>.log, run_dir the pid
 * files (both created if missing). Kills orphans recorded in run_dir from an earlier run.
 */
int knd_supervisor_new(uv_loop_t *loop, const char *log_dir, const char *run_dir,
                       knd_supervisor_t **out, knd_err_t *err);

/** Stops every instance (graceful) and calls done(data) once all have exited. */
void knd_supervisor_shutdown(knd_supervisor_t *sv, void (*done)(void *data), void *data);
/** Frees the supervisor; all instances must have stopped. */
void knd_supervisor_free(knd_supervisor_t *sv);

/**
 * Spawns an instance. Copies everything it needs from spec. Returns the instance (state
 * STARTING) or NULL with err (e.g. the executable does not exist: KND_E_INVALID, "exec
 * \"foo\": No such file or directory").
 */
knd_instance_t *knd_supervisor_spawn(knd_supervisor_t *sv, const knd_instance_spec_t *spec,
                                     knd_instance_cb cb, void *data, knd_err_t *err);

/** Begins a graceful stop (idempotent). */
void knd_instance_stop(knd_instance_t *inst);

int knd_instance_port(const knd_instance_t *inst);
int knd_instance_pid(const knd_instance_t *inst);
const char *knd_instance_id(const knd_instance_t *inst); /* e.g. "hello-00001-x7f3b" */
knd_instance_state_t knd_instance_state(const knd_instance_t *inst);
/** After STOPPED: exit status (or -1) and terminating signal (or 0). */
int knd_instance_exit_status(const knd_instance_t *inst);
int knd_instance_term_signal(const knd_instance_t *inst);
/** Path of the instance's log file (borrowed). */
const char *knd_instance_log_path(const knd_instance_t *inst);
/** The last up to n bytes of the instance's output (for failure messages). New string. */
char *knd_instance_log_tail(const knd_instance_t *inst, size_t n);

#endif
