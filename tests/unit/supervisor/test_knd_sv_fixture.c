/*
 * test_knd_sv_fixture.c - the supervisor tests' fixture (see test_knd_sv_fixture.h).
 */
#include "test_knd_sv_fixture.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "knd_err.h"

void test_fx_on_state(knd_instance_t *inst, knd_instance_state_t state, void *data)
{
    fx_t *fx = data;

    assert_true(fx->nstates < 64);
    fx->states[fx->nstates++] = state;
    switch (state) {
    case KND_INSTANCE_READY:
        fx->ready++;
        fx->t_ready = uv_now(&fx->loop);
        break;
    case KND_INSTANCE_NOT_READY:
        fx->not_ready++;
        break;
    case KND_INSTANCE_STOPPING:
        fx->stopping++;
        fx->t_stopping = uv_now(&fx->loop);
        break;
    case KND_INSTANCE_STOPPED:
        fx->stopped++;
        fx->t_stopped = uv_now(&fx->loop);
        fx->exit_status = knd_instance_exit_status(inst);
        fx->term_signal = knd_instance_term_signal(inst);
        free(fx->tail);
        fx->tail = knd_instance_log_tail(inst, 4096);
        free(fx->stop_reason);
        fx->stop_reason = knd_instance_stop_reason(inst) ? strdup(knd_instance_stop_reason(inst))
                                                          : NULL;
        snprintf(fx->log_path, sizeof(fx->log_path), "%s", knd_instance_log_path(inst));
        if (fx->inst == inst)
            fx->inst = NULL;
        break;
    default:
        fail_msg("unexpected state %d", state);
    }
}

static void test_fx_on_watchdog(uv_timer_t *t)
{
    (void)t;
}

static int test_fx_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int test_fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));
    knd_err_t err;
    char tmpl[] = "/tmp/knd-sv-XXXXXX";

    assert_non_null(fx);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    assert_non_null(mkdtemp(tmpl));
    assert_non_null(realpath(tmpl, fx->dir));
    snprintf(fx->log_dir, sizeof(fx->log_dir), "%s/logs", fx->dir);
    snprintf(fx->run_dir, sizeof(fx->run_dir), "%s/run", fx->dir);
    assert_int_equal(knd_supervisor_new(&fx->loop, fx->log_dir, fx->run_dir, &fx->sv, &err), 0);
    uv_timer_init(&fx->loop, &fx->watchdog);
    uv_timer_start(&fx->watchdog, test_fx_on_watchdog, 20, 20);
    *state = fx;
    return 0;
}

int test_fx_cond_stopped(fx_t *fx)
{
    return fx->stopped > 0;
}

int test_fx_run_until(fx_t *fx, int (*cond)(fx_t *), uint64_t timeout_ms)
{
    uint64_t deadline;

    uv_update_time(&fx->loop);
    deadline = uv_now(&fx->loop) + timeout_ms;
    while (!cond(fx) && uv_now(&fx->loop) < deadline)
        uv_run(&fx->loop, UV_RUN_ONCE);
    return cond(fx);
}

int test_fx_teardown(void **state)
{
    fx_t *fx = *state;

    if (fx->inst) {
        knd_instance_stop(fx->inst);
        assert_true(test_fx_run_until(fx, test_fx_cond_stopped, 10000));
    }
    knd_supervisor_free(fx->sv);
    uv_close((uv_handle_t *)&fx->watchdog, NULL);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    nftw(fx->dir, test_fx_rm, 16, FTW_DEPTH | FTW_PHYS);
    free(fx->tail);
    free(fx->stop_reason);
    free(fx);
    return 0;
}

int test_fx_cond_ready(fx_t *fx)
{
    return fx->ready > 0;
}

int test_fx_cond_not_ready(fx_t *fx)
{
    return fx->not_ready > 0;
}

int test_fx_cond_ready_twice(fx_t *fx)
{
    return fx->ready > 1;
}

/** The live instance's output so far contains fx->needle. */
int test_fx_cond_tail_has(fx_t *fx)
{
    char *tail;
    int found;

    if (fx->inst == NULL)
        return 0;
    tail = knd_instance_log_tail(fx->inst, 4096);
    found = strstr(tail, fx->needle) != NULL;
    free(tail);
    return found;
}

int test_fx_cond_stopping(fx_t *fx)
{
    return fx->stopping > 0;
}

knd_instance_spec_t test_fx_spec(char *const *argv)
{
    knd_instance_spec_t spec;

    memset(&spec, 0, sizeof(spec));
    spec.ns = "default";
    spec.revision = "hello-00001";
    spec.argv = argv;
    spec.grace_ms = 10000;
    return spec;
}

knd_instance_t *test_fx_spawn(fx_t *fx, const knd_instance_spec_t *spec)
{
    knd_err_t err;

    memset(&err, 0, sizeof(err));
    fx->inst = knd_supervisor_spawn(fx->sv, spec, test_fx_on_state, fx, &err);
    if (fx->inst == NULL)
        fail_msg("spawn failed: %s", err.msg);
    assert_int_equal(knd_instance_state(fx->inst), KND_INSTANCE_STARTING);
    return fx->inst;
}

/** Spawns python3 -c script with the default spec. */
knd_instance_t *test_fx_spawn_py(fx_t *fx, const char *script)
{
    char *argv[] = { PY, "-c", (char *)script, NULL };
    knd_instance_spec_t spec = test_fx_spec(argv);

    return test_fx_spawn(fx, &spec);
}

char *test_read_file(const char *path)
{
    FILE *f = fopen(path, "re");
    char *s = calloc(1, 1 << 16);
    size_t n;

    assert_non_null(f);
    assert_non_null(s);
    n = fread(s, 1, (1 << 16) - 1, f);
    s[n] = '\0';
    fclose(f);
    return s;
}
