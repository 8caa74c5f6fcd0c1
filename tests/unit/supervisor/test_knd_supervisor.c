/*
 * test_knd_supervisor.c - the process runtime against real processes (python3 listeners, sh).
 *
 * Each test owns a uv_loop_t, a temp directory (logs, run files) and a supervisor, and ends with
 * uv_loop_close() == 0. The instance callback records every state change; STOPPED copies out what
 * the tests inspect afterwards, because the instance is freed after that callback.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "knd_err.h"
#include "knd_supervisor.h"
#include "test_knd_sv_fixture.h"

/** A pid is gone when /proc has no entry or only a zombie (our PID 1 may not reap). */
static int test_pid_gone(int pid)
{
    char path[64], buf[512], *p;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "re");
    if (f == NULL)
        return 1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    return p && (p[2] == 'Z' || p[2] == 'X');
}

static int test_wait_pid_gone(int pid, int timeout_ms)
{
    for (int i = 0; i < timeout_ms / 10; i++) {
        if (test_pid_gone(pid))
            return 1;
        usleep(10000);
    }
    return test_pid_gone(pid);
}

static unsigned long long test_starttime(int pid)
{
    char path[64], buf[1024], *p;
    unsigned long long v = 0;
    int field = 2;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "re");
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    assert_non_null(p);
    while (*p && field < 22) {
        if (*p++ == ' ')
            field++;
    }
    assert_int_equal(sscanf(p, "%llu", &v), 1);
    return v;
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_ready_port_id_pidfile(void **state)
{
    fx_t *fx = *state;
    knd_instance_t *inst = test_fx_spawn_py(fx, PY_LISTEN "time.sleep(60)\n");
    const char *id = knd_instance_id(inst);
    char pidfile[PATH_MAX + 64], *content;
    int pid = knd_instance_pid(inst), fpid = 0;
    unsigned long long start = 0;
    uint64_t t0 = uv_now(&fx->loop);

    assert_true(knd_instance_port(inst) > 0 && knd_instance_port(inst) < 65536);
    assert_true(pid > 0);
    assert_int_equal(strlen(id), strlen("hello-00001-") + 5);
    assert_memory_equal(id, "hello-00001-", strlen("hello-00001-"));
    for (const char *c = id + strlen("hello-00001-"); *c; c++)
        assert_true((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9'));

    /* the pid file records pid and start time, for orphan cleanup after a crash */
    snprintf(pidfile, sizeof(pidfile), "%s/%s.pid", fx->run_dir, id);
    content = test_read_file(pidfile);
    assert_int_equal(sscanf(content, "%d %llu", &fpid, &start), 2);
    free(content);
    assert_int_equal(fpid, pid);
    assert_true(start == test_starttime(pid));
    /* its own process group and session */
    assert_int_equal(getpgid(pid), pid);

    assert_true(test_fx_run_until(fx, test_fx_cond_ready, 5000));
    assert_true(fx->t_ready - t0 < 5000);
    assert_int_equal(knd_instance_state(inst), KND_INSTANCE_READY);
    assert_int_equal(fx->nstates, 1); /* only changes are reported */

    knd_instance_stop(inst);
    assert_true(test_fx_run_until(fx, test_fx_cond_stopped, 5000));
    assert_int_equal(access(pidfile, F_OK), -1);
    assert_non_null(strstr(fx->tail, "listening\n"));
}

static void test_env_cwd_stdin(void **state)
{
    fx_t *fx = *state;
    char *argv[] = { PY, "-c",
                     "import os,sys\n"
                     "print('FOO=' + os.environ.get('FOO', ''))\n"
                     "print('PORT=' + os.environ['PORT'])\n"
                     "print('CWD=' + os.getcwd())\n"
                     "print('STDIN=%r' % sys.stdin.read())\n"
                     "print('HOME' in os.environ)\n",
                     NULL };
    char *env[] = { "FOO=bar baz", "PORT=1", NULL };
    knd_instance_spec_t spec = test_fx_spec(argv);
    char want[PATH_MAX + 16];
    int port;

    spec.env = env;
    spec.cwd = fx->dir;
    port = knd_instance_port(test_fx_spawn(fx, &spec));
    assert_true(test_fx_run_until(fx, test_fx_cond_stopped, 5000));
    assert_int_equal(fx->exit_status, 0);
    assert_int_equal(fx->term_signal, 0);
    assert_non_null(strstr(fx->tail, "FOO=bar baz\n"));
    snprintf(want, sizeof(want), "PORT=%d\n", port);
    assert_non_null(strstr(fx->tail, want));
    snprintf(want, sizeof(want), "CWD=%s\n", fx->dir);
    assert_non_null(strstr(fx->tail, want));
    assert_non_null(strstr(fx->tail, "STDIN=''\n"));
    assert_non_null(strstr(fx->tail, "False\n")); /* only the given environment */
    assert_int_equal(fx->ready, 0);
    assert_int_equal(fx->stopping, 0);
}

/* Removes the "YYYY-MM-DDTHH:MM:SS.mmmZ " each stored line starts with (in place). */
static char *test_strip_times(char *log)
{
    char *w = log;
    for (const char *r = log; *r;) {
        const char *nl = strchr(r, '\n');
        size_t len = nl ? (size_t)(nl - r + 1) : strlen(r);
        size_t skip = len >= 25 && r[4] == '-' && r[10] == 'T' && r[23] == 'Z' && r[24] == ' '
                          ? 25 : 0;
        memmove(w, r + skip, len - skip);
        w += len - skip;
        r += len;
    }
    *w = '\0';
    return log;
}

static void test_log_capture(void **state)
{
    fx_t *fx = *state;
    knd_instance_t *inst =
        test_fx_spawn_py(fx, "import sys,time\n"
                             "sys.stdout.write('line1\\n'); sys.stdout.flush()\n"
                             "sys.stderr.write('err1\\n'); sys.stderr.flush()\n"
                             "sys.stdout.write('part'); sys.stdout.flush()\n"
                             "time.sleep(0.2)\n"
                             "sys.stderr.write('err2\\n'); sys.stderr.flush()\n"
                             "time.sleep(0.2)\n"
                             "sys.stdout.write('ial\\n'); sys.stdout.flush()\n"
                             "sys.stdout.write('x' * 5000 + '\\n'); sys.stdout.flush()\n"
                             "sys.stderr.write('no newline at exit')\n"
                             "sys.exit(3)\n");
    char dir[PATH_MAX * 2], xs[5002], *log;
    struct stat st;

    snprintf(dir, sizeof(dir), "%s/default/hello-00001/%s.log", fx->log_dir, knd_instance_id(inst));
    assert_string_equal(knd_instance_log_path(inst), dir);
    assert_true(test_fx_run_until(fx, test_fx_cond_stopped, 5000));
    assert_int_equal(fx->exit_status, 3);
    assert_int_equal(stat(fx->log_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    log = test_strip_times(test_read_file(fx->log_path));
    memset(xs, 'x', 5000);
    xs[5000] = '\n';
    xs[5001] = '\0';
    assert_non_null(strstr(log, "line1\n"));
    assert_non_null(strstr(log, "err1\n"));
    assert_non_null(strstr(log, "err2\npartial\n")); /* partial line held until its newline */
    assert_non_null(strstr(log, xs));
    assert_non_null(strstr(log, "no newline at exit"));
    assert_true(strlen(log) > 5000);
    /* the tail is the end of the log, bounded to 4 KiB */
    assert_int_equal(strlen(fx->tail), 4096);
    assert_string_equal(fx->tail, log + strlen(log) - 4096);
    free(log);
}

static void test_exec_missing(void **state)
{
    fx_t *fx = *state;
    char *argv1[] = { "knd-no-such-binary-zz", NULL };
    char *argv2[] = { "/nonexistent/knd-bin", "x", NULL };
    knd_instance_spec_t spec = test_fx_spec(argv1);
    knd_err_t err;

    memset(&err, 0, sizeof(err));
    assert_null(knd_supervisor_spawn(fx->sv, &spec, test_fx_on_state, fx, &err));
    assert_int_equal(err.code, KND_E_INVALID);
    assert_string_equal(err.msg, "exec \"knd-no-such-binary-zz\": No such file or directory");

    spec.argv = argv2;
    memset(&err, 0, sizeof(err));
    assert_null(knd_supervisor_spawn(fx->sv, &spec, test_fx_on_state, fx, &err));
    assert_int_equal(err.code, KND_E_INVALID);
    assert_string_equal(err.msg, "exec \"/nonexistent/knd-bin\": No such file or directory");

    spec.argv = argv1;
    spec.cwd = "/nonexistent-knd-dir";
    assert_null(knd_supervisor_spawn(fx->sv, &spec, test_fx_on_state, fx, &err));
    assert_int_equal(err.code, KND_E_INVALID);
    assert_string_equal(err.msg,
                        "working directory \"/nonexistent-knd-dir\": No such file or directory");
    spec.cwd = NULL;
    spec.http_path = "/x\r\nEvil: 1";
    assert_null(knd_supervisor_spawn(fx->sv, &spec, test_fx_on_state, fx, &err));
    assert_int_equal(err.code, KND_E_INVALID);
    spec.http_path = NULL;

    /* a command found through PATH works */
    char *argv3[] = { "sh", "-c", "exit 0", NULL };
    spec.argv = argv3;
    test_fx_spawn(fx, &spec);
    assert_true(test_fx_run_until(fx, test_fx_cond_stopped, 5000));
    assert_int_equal(fx->exit_status, 0);
    assert_int_equal(fx->nstates, 1);
}

static void test_exit_on_its_own(void **state)
{
    fx_t *fx = *state;
    char script[PATH_MAX + 256], child_file[PATH_MAX + 16], *s;
    char *argv[] = { "/bin/sh", "-c", script, NULL };
    knd_instance_spec_t spec = test_fx_spec(argv);
    int child;

    /* a background child holds the pipes open: it goes with its instance */
    snprintf(child_file, sizeof(child_file), "%s/child", fx->dir);
    snprintf(script, sizeof(script), "sleep 100 & echo $! > %s; echo bye >&2; exit 7", child_file);
    uint64_t t0 = uv_now(&fx->loop);
    test_fx_spawn(fx, &spec);
    assert_true(test_fx_run_until(fx, test_fx_cond_stopped, 5000));
    /* not held up by the child's copy of the pipes (the drain limit is 1 s) */
    assert_true(fx->t_stopped - t0 < 900);
    assert_int_equal(fx->exit_status, 7);
    assert_int_equal(fx->term_signal, 0);
    assert_string_equal(fx->tail, "bye\n");
    assert_int_equal(fx->nstates, 1); /* STOPPED only */
    assert_int_equal(fx->states[0], KND_INSTANCE_STOPPED);
    s = test_read_file(child_file);
    child = atoi(s);
    free(s);
    assert_true(child > 0);
    assert_true(test_wait_pid_gone(child, 2000));
}

static void test_killed_by_signal(void **state)
{
    fx_t *fx = *state;

    test_fx_spawn_py(fx, "import os,signal\nos.kill(os.getpid(), signal.SIGKILL)\n");
    assert_true(test_fx_run_until(fx, test_fx_cond_stopped, 5000));
    assert_int_equal(fx->exit_status, -1);
    assert_int_equal(fx->term_signal, SIGKILL);
}

static void test_stop_sigterm(void **state)
{
    fx_t *fx = *state;
    knd_instance_t *inst = test_fx_spawn_py(fx, PY_LISTEN "time.sleep(60)\n");

    assert_true(test_fx_run_until(fx, test_fx_cond_ready, 5000));
    knd_instance_stop(inst);
    assert_int_equal(knd_instance_state(inst), KND_INSTANCE_STOPPING);
    knd_instance_stop(inst); /* idempotent */
    assert_true(test_fx_run_until(fx, test_fx_cond_stopped, 5000));
    assert_int_equal(fx->stopping, 1);
    assert_int_equal(fx->nstates, 3);
    assert_int_equal(fx->states[0], KND_INSTANCE_READY);
    assert_int_equal(fx->states[1], KND_INSTANCE_STOPPING);
    assert_int_equal(fx->states[2], KND_INSTANCE_STOPPED);
    assert_int_equal(fx->term_signal, SIGTERM);
    assert_int_equal(fx->exit_status, -1);
    assert_true(fx->t_stopped - fx->t_stopping < 3000); /* well before the 10 s grace */
}

static void test_stop_sigkill_after_grace(void **state)
{
    fx_t *fx = *state;
    char *argv[] = { PY, "-c",
                     "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n" PY_LISTEN
                     "time.sleep(60)\n",
                     NULL };
    knd_instance_spec_t spec = test_fx_spec(argv);
    knd_instance_t *inst;

    spec.grace_ms = 300;
    inst = test_fx_spawn(fx, &spec);
    assert_true(test_fx_run_until(fx, test_fx_cond_ready, 5000));
    knd_instance_stop(inst);
    assert_true(test_fx_run_until(fx, test_fx_cond_stopped, 5000));
    assert_int_equal(fx->term_signal, SIGKILL);
    assert_true(fx->t_stopped - fx->t_stopping >= 250);
}

static void test_stop_kills_group(void **state)
{
    fx_t *fx = *state;
    char script[PATH_MAX + 1024], child_file[PATH_MAX + 16], *s;
    char *argv[] = { "/bin/sh", "-c", script, NULL };
    knd_instance_spec_t spec = test_fx_spec(argv);
    knd_instance_t *inst;
    int child;

    snprintf(child_file, sizeof(child_file), "%s/child", fx->dir);
    snprintf(script, sizeof(script), "sleep 100 & echo $! > %s; exec " PY " -c '" PY_LISTEN
             "time.sleep(60)'", child_file);
    inst = test_fx_spawn(fx, &spec);
    assert_true(test_fx_run_until(fx, test_fx_cond_ready, 5000));
    s = test_read_file(child_file);
    child = atoi(s);
    free(s);
    assert_true(child > 0);
    assert_false(test_pid_gone(child));
    assert_int_equal(getpgid(child), knd_instance_pid(inst));
    knd_instance_stop(inst);
    assert_true(test_fx_run_until(fx, test_fx_cond_stopped, 5000));
    assert_int_equal(fx->term_signal, SIGTERM);
    assert_true(test_wait_pid_gone(child, 2000));
}

/* /healthz answers 503 until request number first_ok, then 200; each request is logged first. */
#define PY_HTTP(first_ok)                                                                         \
    "import http.server,os,sys\n"                                                                 \
    "class H(http.server.BaseHTTPRequestHandler):\n"                                              \
    "    n = 0\n"                                                                                 \
    "    def do_GET(self):\n"                                                                     \
    "        H.n += 1\n"                                                                          \
    "        code = 200 if H.n >= " #first_ok " and self.path == '/healthz' else 503\n"           \
    "        print('n=%d code=%d path=%s ua=%s conn=%s' % (H.n, code, self.path,"                 \
    " self.headers.get('User-Agent'), self.headers.get('Connection')), flush=True)\n"             \
    "        self.send_response(code)\n"                                                          \
    "        self.send_header('Content-Length', '0')\n"                                           \
    "        self.end_headers()\n"                                                                \
    "    def log_message(self, *a):\n"                                                            \
    "        pass\n"                                                                              \
    "http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()\n"

static void test_http_probe_ready_after_attempts(void **state)
{
    fx_t *fx = *state;
    char *argv[] = { PY, "-c", PY_HTTP(4), NULL };
    knd_instance_spec_t spec = test_fx_spec(argv);
    knd_instance_t *inst;

    spec.http_path = "/healthz";
    inst = test_fx_spawn(fx, &spec);
    assert_true(test_fx_run_until(fx, test_fx_cond_ready, 5000));
    assert_int_equal(fx->nstates, 1);
    knd_instance_stop(inst);
    assert_true(test_fx_run_until(fx, test_fx_cond_stopped, 5000));
    assert_non_null(strstr(fx->tail, "n=3 code=503 path=/healthz ua=kube-probe/1.29 conn=close\n"));
    assert_non_null(strstr(fx->tail, "n=4 code=200 path=/healthz ua=kube-probe/1.29 conn=close\n"));
}

static void test_http_probe_503_never_ready(void **state)
{
    fx_t *fx = *state;
    char *argv[] = { PY, "-c", PY_HTTP(1000000), NULL };
    knd_instance_spec_t spec = test_fx_spec(argv);
    knd_instance_t *inst;

    spec.http_path = "/healthz";
    inst = test_fx_spawn(fx, &spec);
    assert_false(test_fx_run_until(fx, test_fx_cond_ready, 1500));
    assert_int_equal(knd_instance_state(inst), KND_INSTANCE_STARTING);
    knd_instance_stop(inst);
    assert_true(test_fx_run_until(fx, test_fx_cond_stopped, 5000));
    /* aggressive probing: many attempts in 1.5 s, all answered 503 */
    assert_non_null(strstr(fx->tail, "n=5 code=503"));
    assert_null(strstr(fx->tail, "code=200"));
    assert_int_equal(fx->ready, 0);
}

static void test_not_ready_then_ready_again(void **state)
{
    fx_t *fx = *state;
    char *argv[] = { PY, "-c",
                     PY_LISTEN "time.sleep(0.5)\n"
                               "s.close()\n"
                               "print('closed', flush=True)\n"
                               "time.sleep(3.5)\n" PY_LISTEN "time.sleep(60)\n",
                     NULL };
    knd_instance_spec_t spec = test_fx_spec(argv);
    knd_instance_t *inst;

    spec.probe_failure_threshold = 2;
    inst = test_fx_spawn(fx, &spec);
    assert_true(test_fx_run_until(fx, test_fx_cond_ready, 5000));
    assert_true(test_fx_run_until(fx, test_fx_cond_not_ready, 6000));
    assert_int_equal(knd_instance_state(inst), KND_INSTANCE_NOT_READY);
    assert_int_equal(fx->stopped, 0); /* the process lives on */
    assert_true(test_fx_run_until(fx, test_fx_cond_ready_twice, 8000));
    assert_int_equal(knd_instance_state(inst), KND_INSTANCE_READY);
    assert_int_equal(fx->nstates, 3);
    assert_int_equal(fx->states[1], KND_INSTANCE_NOT_READY);
}

static void test_on_done(void *data)
{
    fx_t *fx = data;

    fx->done_calls++;
}

static int test_fx_cond_done(fx_t *fx)
{
    return fx->done_calls > 0;
}

static void test_shutdown(void **state)
{
    fx_t *fx = *state;
    knd_err_t err;
    char *argv[] = { PY, "-c", PY_LISTEN "time.sleep(60)\n", NULL };
    knd_instance_spec_t spec = test_fx_spec(argv);

    assert_non_null(knd_supervisor_spawn(fx->sv, &spec, test_fx_on_state, fx, &err));
    assert_non_null(knd_supervisor_spawn(fx->sv, &spec, test_fx_on_state, fx, &err));
    assert_true(test_fx_run_until(fx, test_fx_cond_ready_twice, 5000));
    knd_supervisor_shutdown(fx->sv, test_on_done, fx);
    assert_null(knd_supervisor_spawn(fx->sv, &spec, test_fx_on_state, fx, &err));
    assert_true(test_fx_run_until(fx, test_fx_cond_done, 5000));
    assert_int_equal(fx->stopping, 2);
    assert_int_equal(fx->stopped, 2);
    assert_int_equal(fx->done_calls, 1);
}

static void test_shutdown_empty(void **state)
{
    fx_t *fx = *state;

    knd_supervisor_shutdown(fx->sv, test_on_done, fx);
    assert_int_equal(fx->done_calls, 0); /* never from inside the call */
    assert_true(test_fx_run_until(fx, test_fx_cond_done, 1000));
}

static int test_fork_sleeper(void)
{
    int pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        setsid();
        execl("/bin/sleep", "sleep", "100", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int test_reap(int pid, int timeout_ms)
{
    int st = 0;

    for (int i = 0; i < timeout_ms / 10; i++) {
        int rc = waitpid(pid, &st, WNOHANG);
        if (rc == pid)
            return st;
        usleep(10000);
    }
    return -1;
}

static void test_orphans_killed(void **state)
{
    fx_t *fx = *state;
    char run2[PATH_MAX + 16], path[PATH_MAX * 2];
    knd_supervisor_t *sv2 = NULL;
    knd_err_t err;
    int orphan = test_fork_sleeper(), reused = test_fork_sleeper(), st;
    FILE *f;

    snprintf(run2, sizeof(run2), "%s/run2", fx->dir);
    assert_int_equal(mkdir(run2, 0700), 0);
    snprintf(path, sizeof(path), "%s/hello-00001-aaaaa.pid", run2);
    f = fopen(path, "w");
    fprintf(f, "%d %llu\n", orphan, test_starttime(orphan));
    fclose(f);
    /* same pid, other start time: a reused pid must never be signalled */
    snprintf(path, sizeof(path), "%s/hello-00001-bbbbb.pid", run2);
    f = fopen(path, "w");
    fprintf(f, "%d %llu\n", reused, test_starttime(reused) + 1);
    fclose(f);
    snprintf(path, sizeof(path), "%s/hello-00001-ccccc.pid", run2);
    f = fopen(path, "w");
    fprintf(f, "garbage\n");
    fclose(f);

    assert_int_equal(knd_supervisor_new(&fx->loop, fx->log_dir, run2, &sv2, &err), 0);
    st = test_reap(orphan, 5000);
    assert_true(st != -1);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGKILL);
    assert_int_equal(waitpid(reused, &st, WNOHANG), 0); /* still running */
    kill(reused, SIGKILL);
    assert_true(test_reap(reused, 5000) != -1);

    DIR *d = opendir(run2);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d)) != NULL)
        files += de->d_name[0] != '.';
    closedir(d);
    assert_int_equal(files, 0);
    knd_supervisor_free(sv2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ready_port_id_pidfile, test_fx_setup,
                                        test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_env_cwd_stdin, test_fx_setup, test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_log_capture, test_fx_setup, test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_exec_missing, test_fx_setup, test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_exit_on_its_own, test_fx_setup, test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_killed_by_signal, test_fx_setup, test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_stop_sigterm, test_fx_setup, test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_stop_sigkill_after_grace, test_fx_setup,
                                        test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_stop_kills_group, test_fx_setup, test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_http_probe_ready_after_attempts, test_fx_setup,
                                        test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_http_probe_503_never_ready, test_fx_setup,
                                        test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_not_ready_then_ready_again, test_fx_setup,
                                        test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_shutdown, test_fx_setup, test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_empty, test_fx_setup, test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_orphans_killed, test_fx_setup, test_fx_teardown),
    };

    /* the HTTP probe writes to sockets a server may already have closed */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
