/*
 * test_knd_probe.c - startup, liveness and readiness probes (tcpSocket, httpGet, exec) and log
 * rotation, against real processes (python3 HTTP servers, sh), with the supervisor fixture.
 */
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "knd_err.h"
#include "knd_supervisor.h"
#include "test_knd_sv_fixture.h"

/* ---- probe specs ----------------------------------------------------------------------- */

/*
 * An HTTP server for probe tests: GET /live answers 200 for the first live_ok requests, then
 * 500; GET /ready answers per READY_CODES (one code per request, the last repeated); requests
 * carrying X-Probe-Token other than s3cret get 403. Each request is logged before it is answered.
 */
#define PY_PROBE_SERVER                                                                           \
    "import http.server,os\n"                                                                     \
    "codes = [int(c) for c in os.environ.get('READY_CODES', '200').split(',')]\n"                  \
    "live_ok = int(os.environ.get('LIVE_OK', '1000000'))\n"                                       \
    "class H(http.server.BaseHTTPRequestHandler):\n"                                              \
    "    n = {}\n"                                                                                \
    "    def do_GET(self):\n"                                                                     \
    "        k = H.n[self.path] = H.n.get(self.path, 0) + 1\n"                                    \
    "        if self.path == '/live':\n"                                                          \
    "            code = 200 if k <= live_ok else 500\n"                                           \
    "        else:\n"                                                                             \
    "            code = codes[min(k, len(codes)) - 1]\n"                                          \
    "        tok = self.headers.get('X-Probe-Token')\n"                                           \
    "        if tok is not None and tok != 's3cret':\n"                                           \
    "            code = 403\n"                                                                    \
    "        print('%s n=%d code=%d host=%s tok=%s ua=%s' % (self.path, k, code,"                 \
    " self.headers.get('Host'), tok, self.headers.get('User-Agent')), flush=True)\n"             \
    "        self.send_response(code)\n"                                                          \
    "        self.send_header('Content-Length', '0')\n"                                           \
    "        self.end_headers()\n"                                                                \
    "    def log_message(self, *a):\n"                                                            \
    "        pass\n"                                                                              \
    "http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()\n"

static void test_success_threshold(void **state)
{
    fx_t *fx = *state;
    char *argv[] = { PY, "-c", PY_PROBE_SERVER, NULL };
    char *env[] = { "READY_CODES=200,503,200", NULL };
    knd_instance_spec_t spec = test_fx_spec(argv);
    knd_instance_t *inst;

    spec.env = env;
    spec.readiness.kind = KND_PROBE_HTTP;
    spec.readiness.http_path = "/ready";
    spec.readiness.period_ms = 100;
    spec.readiness.success_threshold = 3;
    inst = test_fx_spawn(fx, &spec);
    /* 200 then 503 resets the count; 200 at n=3 and n=4 are only two in a row */
    fx->needle = "/ready n=4 code=200";
    assert_true(test_fx_run_until(fx, test_fx_cond_tail_has, 5000));
    assert_int_equal(fx->ready, 0);
    assert_int_equal(knd_instance_state(inst), KND_INSTANCE_STARTING);
    assert_true(test_fx_run_until(fx, test_fx_cond_ready, 5000));
    knd_instance_stop(inst);
    assert_true(test_fx_run_until(fx, test_fx_cond_stopped, 5000));
    assert_non_null(strstr(fx->tail, "/ready n=5 code=200"));
    assert_null(fx->stop_reason); /* a stop the caller asked for */
}

static void test_initial_delay(void **state)
{
    fx_t *fx = *state;
    char *argv[] = { PY, "-c", PY_LISTEN "time.sleep(60)\n", NULL };
    knd_instance_spec_t spec = test_fx_spec(argv);
    uint64_t t0;

    spec.readiness.kind = KND_PROBE_TCP;
    spec.readiness.initial_delay_ms = 700;
    spec.readiness.period_ms = 100;
    uv_update_time(&fx->loop);
    t0 = uv_now(&fx->loop);
    test_fx_spawn(fx, &spec);
    assert_true(test_fx_run_until(fx, test_fx_cond_ready, 5000));
    assert_true(fx->t_ready - t0 >= 700);
    assert_true(fx->t_ready - t0 < 2500);
}

static void test_exec_readiness(void **state)
{
    fx_t *fx = *state;
    char *argv[] = { PY, "-c", PY_LISTEN "time.sleep(60)\n", NULL };
    char *probe[] = { "sh", "-c", "test -f ready-file && test \"$FOO\" = bar", NULL };
    char *env[] = { "FOO=bar", NULL };
    knd_instance_spec_t spec = test_fx_spec(argv);
    char path[PATH_MAX + 32];
    FILE *f;

    spec.env = env;
    spec.cwd = fx->dir; /* the probe runs where the instance runs, with its environment */
    spec.readiness.kind = KND_PROBE_EXEC;
    spec.readiness.exec_argv = probe;
    spec.readiness.period_ms = 100;
    test_fx_spawn(fx, &spec);
    assert_false(test_fx_run_until(fx, test_fx_cond_ready, 700));
    snprintf(path, sizeof(path), "%s/ready-file", fx->dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    assert_true(test_fx_run_until(fx, test_fx_cond_ready, 3000));
}

static void test_exec_readiness_needs_port(void **state)
{
    fx_t *fx = *state;
    char *argv[] = { "sleep", "60", NULL };
    char *probe[] = { "true", NULL };
    knd_instance_spec_t spec = test_fx_spec(argv);

    /* the exec probe passes, but nothing listens on PORT: Knative's TCP check holds it back */
    spec.readiness.kind = KND_PROBE_EXEC;
    spec.readiness.exec_argv = probe;
    spec.readiness.period_ms = 100;
    test_fx_spawn(fx, &spec);
    assert_false(test_fx_run_until(fx, test_fx_cond_ready, 800));
}

static void test_liveness_failure_stops(void **state)
{
    fx_t *fx = *state;
    char *argv[] = { PY, "-c", PY_PROBE_SERVER, NULL };
    char *env[] = { "LIVE_OK=2", NULL };
    knd_instance_spec_t spec = test_fx_spec(argv);

    spec.env = env;
    spec.liveness.kind = KND_PROBE_HTTP;
    spec.liveness.http_path = "/live";
    spec.liveness.period_ms = 100;
    spec.liveness.failure_threshold = 2;
    test_fx_spawn(fx, &spec);
    assert_true(test_fx_run_until(fx, test_fx_cond_ready, 5000));
    assert_true(test_fx_run_until(fx, test_fx_cond_stopping, 5000));
    assert_non_null(fx->inst);
    /* the reason is there from the moment the supervisor decides, not only at STOPPED */
    assert_string_equal(knd_instance_stop_reason(fx->inst),
                        "Liveness probe failed: HTTP probe failed with statuscode: 500");
    assert_true(test_fx_run_until(fx, test_fx_cond_stopped, 5000));
    assert_string_equal(fx->stop_reason,
                        "Liveness probe failed: HTTP probe failed with statuscode: 500");
    assert_int_equal(fx->stopping, 1); /* the graceful path */
    assert_int_equal(fx->term_signal, SIGTERM);
    /* two failures in a row, not one */
    assert_non_null(strstr(fx->tail, "/live n=4 code=500"));
    assert_null(strstr(fx->tail, "/live n=5"));
}

static void test_liveness_exec_output_and_timeout(void **state)
{
    fx_t *fx = *state;
    char *argv[] = { PY, "-c", PY_LISTEN "time.sleep(60)\n", NULL };
    char *probe1[] = { "sh", "-c", "echo 'db: connection lost'; exit 1", NULL };
    char *probe2[] = { "sleep", "5", NULL };
    knd_instance_spec_t spec = test_fx_spec(argv);

    spec.liveness.kind = KND_PROBE_EXEC;
    spec.liveness.exec_argv = probe1;
    spec.liveness.period_ms = 100;
    spec.liveness.failure_threshold = 1;
    test_fx_spawn(fx, &spec);
    assert_true(test_fx_run_until(fx, test_fx_cond_stopped, 5000));
    /* the kubelet reports an exec probe's output */
    assert_string_equal(fx->stop_reason, "Liveness probe failed: db: connection lost");

    fx->stopped = 0;
    spec.liveness.exec_argv = probe2;
    spec.liveness.timeout_ms = 200;
    uv_update_time(&fx->loop);
    uint64_t t0 = uv_now(&fx->loop);
    test_fx_spawn(fx, &spec);
    assert_true(test_fx_run_until(fx, test_fx_cond_stopped, 5000));
    assert_string_equal(fx->stop_reason, "Liveness probe failed: command \"sleep 5\" timed out");
    assert_true(fx->t_stopped - t0 < 2000);
}

static void test_startup_gates_readiness(void **state)
{
    fx_t *fx = *state;
    char *argv[] = { PY, "-c", PY_PROBE_SERVER, NULL };
    char *probe[] = { "test", "-f", "started", NULL };
    knd_instance_spec_t spec = test_fx_spec(argv);
    char path[PATH_MAX + 32];
    FILE *f;

    spec.cwd = fx->dir;
    spec.startup.kind = KND_PROBE_EXEC;
    spec.startup.exec_argv = probe;
    spec.startup.period_ms = 100;
    spec.startup.failure_threshold = 100;
    spec.liveness.kind = KND_PROBE_HTTP;
    spec.liveness.http_path = "/live";
    spec.liveness.period_ms = 100;
    spec.readiness.kind = KND_PROBE_HTTP;
    spec.readiness.http_path = "/ready";
    test_fx_spawn(fx, &spec);
    /* the server answers at once, but neither readiness nor liveness runs before startup passes */
    assert_false(test_fx_run_until(fx, test_fx_cond_ready, 800));
    snprintf(path, sizeof(path), "%s/started", fx->dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    assert_true(test_fx_run_until(fx, test_fx_cond_ready, 3000));
    fx->needle = "/live n=1 ";
    assert_true(test_fx_run_until(fx, test_fx_cond_tail_has, 3000));
    knd_instance_stop(fx->inst);
    assert_true(test_fx_run_until(fx, test_fx_cond_stopped, 5000));
    /* the first probe requests came only after startup passed */
    assert_non_null(strstr(fx->tail, "/ready n=1 code=200"));
    assert_null(fx->stop_reason);
}

static void test_startup_failure_stops(void **state)
{
    fx_t *fx = *state;
    char *argv[] = { "sleep", "60", NULL };
    knd_instance_spec_t spec = test_fx_spec(argv);
    char want[128];
    int port;

    spec.startup.kind = KND_PROBE_TCP;
    spec.startup.period_ms = 100;
    spec.startup.failure_threshold = 3;
    port = knd_instance_port(test_fx_spawn(fx, &spec));
    assert_true(test_fx_run_until(fx, test_fx_cond_stopped, 5000));
    snprintf(want, sizeof(want),
             "Startup probe failed: dial tcp 127.0.0.1:%d: connect: connection refused", port);
    assert_string_equal(fx->stop_reason, want);
    assert_int_equal(fx->ready, 0);
    assert_int_equal(fx->stopping, 1);
    assert_int_equal(fx->term_signal, SIGTERM);
}

static void test_http_headers(void **state)
{
    fx_t *fx = *state;
    char *argv[] = { PY, "-c", PY_PROBE_SERVER, NULL };
    const char *good[] = { "X-Probe-Token: s3cret", "Host: probe.example", NULL };
    const char *wrong[] = { "X-Probe-Token: nope", NULL };
    const char *bad[] = { "X-Evil\r\nInjected: 1", NULL };
    knd_instance_spec_t spec = test_fx_spec(argv);
    knd_err_t err;

    spec.readiness.kind = KND_PROBE_HTTP;
    spec.readiness.http_path = "/ready";
    spec.readiness.http_headers = bad;
    memset(&err, 0, sizeof(err));
    assert_null(knd_supervisor_spawn(fx->sv, &spec, test_fx_on_state, fx, &err));
    assert_int_equal(err.code, KND_E_INVALID);
    assert_non_null(strstr(err.msg, "readiness probe header"));

    spec.readiness.http_headers = wrong;
    test_fx_spawn(fx, &spec);
    assert_false(test_fx_run_until(fx, test_fx_cond_ready, 500));
    knd_instance_stop(fx->inst);
    assert_true(test_fx_run_until(fx, test_fx_cond_stopped, 5000));
    assert_non_null(strstr(fx->tail, "code=403 host=127.0.0.1:"));

    fx->stopped = 0;
    spec.readiness.http_headers = good;
    test_fx_spawn(fx, &spec);
    assert_true(test_fx_run_until(fx, test_fx_cond_ready, 5000));
    knd_instance_stop(fx->inst);
    assert_true(test_fx_run_until(fx, test_fx_cond_stopped, 5000));
    /* ours replaced by the user's Host, the default User-Agent kept */
    assert_non_null(
        strstr(fx->tail, "/ready n=1 code=200 host=probe.example tok=s3cret ua=kube-probe/1.29\n"));
}

static void test_log_rotation(void **state)
{
    fx_t *fx = *state;
    char *argv[] = { PY, "-c",
                     "import sys\n"
                     "for i in range(50):\n"
                     "    sys.stdout.write('line %03d ' % i + 'x' * 65 + '\\n')\n",
                     NULL };
    knd_instance_spec_t spec = test_fx_spec(argv);
    char old[PATH_MAX + 8], *cur, *prev, want[128];
    struct stat st;

    spec.log_max_bytes = 1000; /* each line is 100 bytes on disk: a 25-byte time, then 75 */
    test_fx_spawn(fx, &spec);
    assert_true(test_fx_run_until(fx, test_fx_cond_stopped, 5000));
    assert_int_equal(fx->exit_status, 0);
    snprintf(old, sizeof(old), "%s.1", fx->log_path);
    assert_int_equal(stat(fx->log_path, &st), 0);
    assert_int_equal(st.st_size, 1000);
    assert_int_equal(stat(old, &st), 0);
    assert_int_equal(st.st_size, 1000);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(old + strlen(old) - 1, 8, "2");
    assert_int_equal(access(old, F_OK), -1); /* one old generation only */
    snprintf(old + strlen(old) - 1, 8, "1");

    cur = test_read_file(fx->log_path);
    prev = test_read_file(old);
    snprintf(want, sizeof(want), "line 040 ");
    assert_memory_equal(cur + 25, want, strlen(want)); /* after "YYYY-MM-DDTHH:MM:SS.mmmZ " */
    assert_non_null(strstr(cur, "line 049 "));
    snprintf(want, sizeof(want), "line 030 ");
    assert_memory_equal(prev + 25, want, strlen(want));
    assert_non_null(strstr(prev, "line 039 "));
    assert_null(strstr(prev, "line 029 "));
    free(cur);
    free(prev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_success_threshold, test_fx_setup, test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_initial_delay, test_fx_setup, test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_exec_readiness, test_fx_setup, test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_exec_readiness_needs_port, test_fx_setup, test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_liveness_failure_stops, test_fx_setup, test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_liveness_exec_output_and_timeout, test_fx_setup, test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_startup_gates_readiness, test_fx_setup, test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_startup_failure_stops, test_fx_setup, test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_http_headers, test_fx_setup, test_fx_teardown),
        cmocka_unit_test_setup_teardown(test_log_rotation, test_fx_setup, test_fx_teardown),
    };

    /* the HTTP probe writes to sockets a server may already have closed */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
