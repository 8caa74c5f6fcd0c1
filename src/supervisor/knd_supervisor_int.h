/*
 * knd_supervisor_int.h - the instance object and its probers, shared by knd_supervisor.c (process,
 * output, stop) and knd_probe.c (startup/liveness/readiness scheduling) only.
 *
 * Ownership: an instance owns its probers; a prober owns its copies of the probe spec and its
 * timer (closed with the instance's other handles), and holds a pointer to the attempt in flight
 * only to cancel it (attempts free themselves).
 */
#ifndef KND_SUPERVISOR_INT_H
#define KND_SUPERVISOR_INT_H

#include "knd_readiness_int.h"
#include "knd_supervisor.h"

#define KND_SV_LINE_MAX 4096 /* a longer line is written in pieces of this size */
#define KND_SV_TAIL_MAX 4096 /* output kept in memory for failure messages */

typedef enum {
    KND_PROBER_STARTUP = 0,
    KND_PROBER_LIVENESS,
    KND_PROBER_READINESS,
    KND_PROBER_COUNT,
} knd_prober_role_t;

typedef struct knd_prober_s {
    knd_instance_t *inst;
    knd_prober_role_t role;
    knd_probe_kind_t kind; /* NONE: this role is not probed */
    char *http_path;       /* owned; NULL unless HTTP */
    char **headers;        /* owned, NULL-ended; NULL if none */
    char **argv;           /* owned, NULL-ended; NULL unless EXEC */
    int delay_ms, period_ms, timeout_ms, success_threshold, failure_threshold;
    int steady_floor_ms;   /* readiness only: least interval once ready */
    int successes, failures; /* consecutive */
    int passed;            /* startup: succeeded; readiness: currently ready */
    int ever_passed;       /* readiness: past the start-up probing */
    unsigned ramp;          /* aggressive attempts so far (the interval ramps up to 50 ms) */
    uint64_t attempt_start; /* uv_now at the start of the attempt in flight */
    uv_timer_t timer;
    knd_readiness_t *net;  /* the network attempt in flight, or NULL */
    knd_probe_exec_t *exec; /* the exec attempt in flight, or NULL */
} knd_prober_t;

typedef struct knd_instance_stream_s {
    uv_pipe_t pipe;
    knd_instance_t *inst;
    size_t len;
    int eof;
    int mid_line;               /* the last write ended inside a line (a line over the limit) */
    char line[KND_SV_LINE_MAX]; /* the partial line not yet written */
} knd_instance_stream_t;

struct knd_instance_s {
    knd_supervisor_t *sv;
    knd_instance_t *prev, *next;
    char *id, *log_path, *pid_path; /* owned */
    char *cwd;                      /* owned; NULL = the daemon's (exec probes run here) */
    char **env;                     /* owned, NULL-ended: the instance's environment */
    char *stop_reason;              /* owned; why a probe stopped it, or NULL */
    int port, pid;
    knd_instance_state_t state;
    knd_instance_cb cb;
    void *data;
    int grace_ms;
    int exit_status, term_signal;
    int exited, finished;
    int log_fd;
    size_t log_size, log_max; /* bytes in the current generation; its cap */
    int open_handles;
    uv_process_t proc;
    knd_instance_stream_t out, err;
    uv_timer_t kill_timer; /* SIGTERM -> SIGKILL grace, then the post-exit drain limit */
    knd_prober_t probers[KND_PROBER_COUNT];
    size_t tail_len, tail_end;
    char tail[KND_SV_TAIL_MAX]; /* ring of the latest output */
    char rbuf[16384];
};

/** Checks the spec's probes (paths, headers, commands); 0 or -1 with err (KND_E_INVALID). */
int knd__probe_check(const knd_instance_spec_t *spec, knd_err_t *err);
/** Copies the spec's probes into inst->probers and initializes their timers. */
void knd__probe_init(knd_instance_t *inst, uv_loop_t *loop, const knd_instance_spec_t *spec);
/** Starts probing a freshly spawned instance: startup first if there is one. */
void knd__probe_begin(knd_instance_t *inst);
/** Stops every prober and cancels attempts in flight (idempotent). */
void knd__probe_stop(knd_instance_t *inst);
/** Closes the probers' timers with cb (one close per prober); count them as handles. */
void knd__probe_close(knd_instance_t *inst, uv_close_cb cb);
/** Frees what the probers own (after their timers are closed). */
void knd__probe_free(knd_instance_t *inst);

/** Reports a state change to the instance's callback (only changes are reported). */
void knd__instance_set_state(knd_instance_t *inst, knd_instance_state_t state);
/** A probe gave up on the instance: records reason (borrowed) and stops it gracefully. */
void knd__instance_probe_kill(knd_instance_t *inst, const char *reason);

#endif
