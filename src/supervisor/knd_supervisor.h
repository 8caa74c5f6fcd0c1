/*
 * knd_supervisor.h - instances of revisions as local processes (the process runtime).
 *
 * The supervisor spawns an instance with uv_spawn in its own process group, gives it a free
 * loopback port in $PORT, captures stdout/stderr line by line into a per-instance log file (size
 * bounded, one rotated generation), runs its probes and reports state changes through a callback.
 * Stopping is graceful: SIGTERM to the process group, SIGKILL after the grace period. The caller
 * owns the decision of how many instances run; the supervisor owns the processes.
 *
 * Probes follow Kubernetes (startup, liveness, readiness; tcpSocket, httpGet, exec) with Knative's
 * readiness twists: TCP connect to PORT is the default readiness probe, and a readiness period of
 * 0 means aggressive probing (every 50 ms, 100 ms per attempt) until the instance is first ready.
 * - startup (if set) runs first, alone; once it succeeds it stops and liveness and readiness start
 *   (each after its own initial delay). failure_threshold consecutive failures stop the instance.
 * - liveness: failure_threshold consecutive failures stop the instance (graceful path).
 * - readiness: success_threshold consecutive successes make the instance READY;
 *   failure_threshold consecutive failures of a READY instance make it NOT_READY (the process
 *   lives on). Failures before the first READY only keep it STARTING. An exec readiness probe is
 *   also gated on a TCP connect to PORT, as Knative's queue-proxy adds one beside the kubelet's
 *   exec probe.
 * An instance stopped by a probe reports STOPPED with knd_instance_stop_reason() set to the
 * kubelet's event wording, e.g. "Liveness probe failed: HTTP probe failed with statuscode: 500".
 *
 * Lifetime: knd_instance_t is owned by the supervisor. After the callback reports
 * KND_INSTANCE_STOPPED (after knd_instance_stop, a probe failure, or a crash), the instance pointer
 * stays valid until that callback returns and is then freed: callers drop their references in
 * that callback.
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

typedef enum {
    KND_PROBE_NONE = 0, /* no probe of this role (readiness: use the flat fields below) */
    KND_PROBE_TCP,      /* tcpSocket: connect to 127.0.0.1:PORT succeeds */
    KND_PROBE_HTTP,     /* httpGet (scheme HTTP): GET http_path on PORT answers 200-399 */
    KND_PROBE_EXEC,     /* exec: exec_argv exits 0 */
} knd_probe_kind_t;

/*
 * One probe, Kubernetes' Probe in milliseconds. Every pointer is borrowed for the spawn call only
 * (the supervisor copies). A zero number means the default given with it.
 */
typedef struct {
    knd_probe_kind_t kind;
    const char *http_path;           /* HTTP: starts with '/', no spaces or controls; NULL = "/" */
    const char *const *http_headers; /* HTTP: NULL-ended "Name: value" strings, sent after the
                                        defaults; a Host, User-Agent (default "kube-probe/1.29"),
                                        Accept or Connection given here replaces the default */
    char *const *exec_argv;          /* EXEC: NULL-ended; run with the instance's env and cwd,
                                        argv[0] looked up through the instance's PATH */
    int initial_delay_ms;            /* from spawn (liveness/readiness: from startup success) */
    int period_ms;                   /* between attempt starts; 0 = readiness: aggressive
                                        (50 ms until first ready, then 1000); else 10000 */
    int timeout_ms;                  /* per attempt; 0 = 1000 (100 while probing aggressively);
                                        an exec probe is killed (its process group) at timeout */
    int success_threshold;           /* consecutive successes to pass; 0 = 1 */
    int failure_threshold;           /* consecutive failures to fail; 0 = 3 */
} knd_probe_spec_t;

#define KND_INSTANCE_LOG_MAX_DEFAULT ((size_t)8 << 20) /* 8 MiB per log generation */

typedef struct {
    const char *ns, *revision;  /* for logs and names; borrowed for the call */
    char *const *argv;          /* argv[0] resolved through PATH if it has no '/'; NULL-ended */
    char *const *env;           /* "K=V" entries, NULL-ended; PORT is appended by the supervisor
                                   (replacing any PORT here); without PATH, the daemon's PATH */
    const char *cwd;            /* NULL = the daemon's cwd */
    /*
     * Flat readiness fields, used only while readiness.kind == KND_PROBE_NONE: http_path NULL =
     * TCP connect to PORT, else an HTTP GET of that path; success threshold 1, no initial delay.
     */
    const char *http_path;
    int probe_period_ms;        /* 0 = Knative's aggressive probing: every 50 ms until ready;
                                   once ready, every max(period, 1000) ms */
    int probe_timeout_ms;       /* per attempt; 0 = 1000 (100 while probing aggressively) */
    int probe_failure_threshold;/* consecutive failures after ready -> NOT_READY; 0 = 3 */
    int grace_ms;               /* SIGTERM -> SIGKILL delay (also for probe-failure stops) */
    knd_probe_spec_t readiness; /* kind NONE = the flat fields above */
    knd_probe_spec_t liveness;  /* kind NONE = no liveness probe */
    knd_probe_spec_t startup;   /* kind NONE = no startup probe */
    size_t log_max_bytes;       /* log file cap; 0 = KND_INSTANCE_LOG_MAX_DEFAULT. At the cap
                                   <id>.log becomes <id>.log.1 (replacing it) and a new <id>.log
                                   starts, so an instance uses at most about twice this on disk */
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
 * \"foo\": No such file or directory"; an invalid probe path, header or empty exec command:
 * KND_E_INVALID naming the probe).
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
/**
 * Why the supervisor stopped the instance, or NULL (an ordinary exit, a crash, or a stop the
 * caller asked for). E.g. "Liveness probe failed: HTTP probe failed with statuscode: 500",
 * "Startup probe failed: dial tcp 127.0.0.1:41234: connect: connection refused". Borrowed; valid
 * as long as the instance (so: copy it in the STOPPED callback).
 */
const char *knd_instance_stop_reason(const knd_instance_t *inst);
/** Path of the instance's current log file (borrowed); the older generation is <path>.1. */
const char *knd_instance_log_path(const knd_instance_t *inst);
/** The last up to n bytes of the instance's output (for failure messages). New string. */
char *knd_instance_log_tail(const knd_instance_t *inst, size_t n);

#endif
