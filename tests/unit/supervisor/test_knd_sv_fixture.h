/*
 * test_knd_sv_fixture.h - the supervisor tests' fixture: one uv loop, temp directory and
 * supervisor per test, a state callback that records every change, and run-until helpers.
 *
 * Each test owns a uv_loop_t, a temp directory (logs, run files) and a supervisor, and ends with
 * uv_loop_close() == 0. The instance callback records every state change; STOPPED copies out what
 * the tests inspect afterwards, because the instance is freed after that callback.
 */
#ifndef TEST_KND_SV_FIXTURE_H
#define TEST_KND_SV_FIXTURE_H

#include <limits.h>
#include <stdint.h>

#include "knd_supervisor.h"

#define PY "/usr/bin/python3"

/* Binds PORT with double quotes only, so it can be wrapped in sh's single quotes. */
#define PY_LISTEN                                                                                 \
    "import socket,os,time,signal,sys\n"                                                          \
    "s=socket.socket()\n"                                                                         \
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"                                   \
    "s.bind((\"127.0.0.1\", int(os.environ[\"PORT\"])))\n"                                        \
    "s.listen()\n"                                                                                \
    "print(\"listening\", flush=True)\n"

typedef struct {
    uv_loop_t loop;
    uv_timer_t watchdog; /* keeps uv_run(ONCE) waking up while a test waits for a condition */
    knd_supervisor_t *sv;
    char dir[PATH_MAX], log_dir[PATH_MAX + 16], run_dir[PATH_MAX + 16];
    knd_instance_t *inst; /* NULL once STOPPED */
    knd_instance_state_t states[64];
    int nstates;
    int ready, not_ready, stopping, stopped;
    int exit_status, term_signal;
    char *tail;
    char *stop_reason; /* knd_instance_stop_reason() at STOPPED, copied */
    const char *needle; /* for test_fx_cond_tail_has */
    char log_path[PATH_MAX];
    uint64_t t_ready, t_stopping, t_stopped;
    int done_calls;
} fx_t;

void test_fx_on_state(knd_instance_t *inst, knd_instance_state_t state, void *data);
int test_fx_setup(void **state);
int test_fx_cond_stopped(fx_t *fx);
int test_fx_run_until(fx_t *fx, int (*cond)(fx_t *), uint64_t timeout_ms);
int test_fx_teardown(void **state);
int test_fx_cond_ready(fx_t *fx);
int test_fx_cond_not_ready(fx_t *fx);
int test_fx_cond_ready_twice(fx_t *fx);
int test_fx_cond_tail_has(fx_t *fx);
int test_fx_cond_stopping(fx_t *fx);
knd_instance_spec_t test_fx_spec(char *const *argv);
knd_instance_t *test_fx_spawn(fx_t *fx, const knd_instance_spec_t *spec);
knd_instance_t *test_fx_spawn_py(fx_t *fx, const char *script);
char *test_read_file(const char *path);

#endif
