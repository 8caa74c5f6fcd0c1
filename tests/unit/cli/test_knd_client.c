/*
 * test_knd_client.c - the CLI's unix-socket HTTP client against a fake server: a forked child
 * listening on a temp socket reads one request, checks its request line, and answers a canned
 * response written in small pieces (chunked or Content-Length), so the llhttp decoding must
 * reassemble split chunk sizes, headers and bodies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "knd_client.h"

typedef struct {
    char dir[256];
    char sock[512];
} test_env_t;

static int test_setup(void **state)
{
    test_env_t *env = calloc(1, sizeof(*env));
    snprintf(env->dir, sizeof(env->dir), "/tmp/knd-cli-test-XXXXXX");
    assert_non_null(mkdtemp(env->dir));
    snprintf(env->sock, sizeof(env->sock), "%s/knd.sock", env->dir);
    *state = env;
    return 0;
}

static int test_teardown(void **state)
{
    test_env_t *env = *state;
    unlink(env->sock);
    rmdir(env->dir);
    free(env);
    return 0;
}

/*
 * Serves one connection: reads the request head (and a body of `expect_body` bytes), exits 3 if
 * the request line differs from want_line, then writes each piece of `pieces` separately.
 */
static pid_t test_serve(const char *sock, const char *want_line, size_t expect_body,
                        const char *const *pieces)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(lfd >= 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    unlink(sock);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 1), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid > 0) {
        close(lfd);
        return pid;
    }
    int fd = accept(lfd, NULL, NULL);
    char req[8192];
    size_t n = 0;
    char *end = NULL;
    while (n < sizeof(req) - 1) {
        ssize_t r = read(fd, req + n, sizeof(req) - 1 - n);
        if (r <= 0)
            _exit(2);
        n += (size_t)r;
        req[n] = '\0';
        end = strstr(req, "\r\n\r\n");
        if (end != NULL && n >= (size_t)(end + 4 - req) + expect_body)
            break;
    }
    if (strncmp(req, want_line, strlen(want_line)) != 0)
        _exit(3);
    if (expect_body > 0 && strstr(req, "Content-Type: application/json\r\n") == NULL)
        _exit(4);
    for (size_t i = 0; pieces[i] != NULL; i++) {
        if (write(fd, pieces[i], strlen(pieces[i])) < 0)
            _exit(5);
        usleep(2000);
    }
    close(fd);
    _exit(0);
}

static int test_wait_child(pid_t pid)
{
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100;
}

static void test_chunked_response(void **state)
{
    test_env_t *env = *state;
    const char *pieces[] = {"HTTP/1.1 200 OK\r\nContent-Ty", "pe: application/json\r\n",
                            "Transfer-Encoding: chunked\r\nX-Multi: a\r\n\r\n", "5\r\n{\"a\":",
                            "\r\n", "3", "\r\n12}\r\n", "0\r\n\r\n", NULL};
    pid_t pid = test_serve(env->sock, "GET /apis/x HTTP/1.1\r\n", 0, pieces);
    knd_client_resp_t resp;
    knd_err_t err;
    knd_client_resp_init(&resp);
    assert_int_equal(knd_client_request(env->sock, "GET", "/apis/x", NULL, 0, NULL, NULL, &resp,
                                        &err),
                     0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(knd_client_resp_header(&resp, "content-type"), "application/json");
    assert_string_equal(knd_client_resp_header(&resp, "X-Multi"), "a");
    assert_null(knd_client_resp_header(&resp, "Content-Length"));
    assert_string_equal(knd_buf_cstr(&resp.body), "{\"a\":12}");
    knd_client_resp_free(&resp);
    assert_int_equal(test_wait_child(pid), 0);
}

static int test_sink_collect(void *ud, const char *p, size_t n)
{
    knd_buf_append(ud, p, n);
    return 0;
}

static void test_content_length_post_and_sink(void **state)
{
    test_env_t *env = *state;
    const char *pieces[] = {"HTTP/1.1 201 Created\r\nContent-Length: 11\r\n\r\nhello", " world",
                            NULL};
    const char *body = "{\"k\":\"v\"}";
    pid_t pid = test_serve(env->sock, "POST /p HTTP/1.1\r\n", strlen(body), pieces);
    knd_client_resp_t resp;
    knd_err_t err;
    knd_buf_t sink;
    knd_buf_init(&sink);
    knd_client_resp_init(&resp);
    assert_int_equal(knd_client_request(env->sock, "POST", "/p", body, strlen(body),
                                        test_sink_collect, &sink, &resp, &err),
                     0);
    assert_int_equal(resp.status, 201);
    assert_int_equal(resp.body.len, 0); /* 2xx bodies go to the sink */
    assert_string_equal(knd_buf_cstr(&sink), "hello world");
    knd_client_resp_free(&resp);
    knd_buf_free(&sink);
    assert_int_equal(test_wait_child(pid), 0);
}

static void test_error_status_not_sunk(void **state)
{
    test_env_t *env = *state;
    const char *pieces[] = {"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}", NULL};
    pid_t pid = test_serve(env->sock, "DELETE /q HTTP/1.1\r\n", 0, pieces);
    knd_client_resp_t resp;
    knd_err_t err;
    knd_buf_t sink;
    knd_buf_init(&sink);
    knd_client_resp_init(&resp);
    assert_int_equal(knd_client_request(env->sock, "DELETE", "/q", NULL, 0, test_sink_collect,
                                        &sink, &resp, &err),
                     0);
    assert_int_equal(resp.status, 404);
    assert_string_equal(knd_buf_cstr(&resp.body), "{}");
    assert_int_equal(sink.len, 0);
    knd_client_resp_free(&resp);
    knd_buf_free(&sink);
    assert_int_equal(test_wait_child(pid), 0);
}

static void test_truncated_response(void **state)
{
    test_env_t *env = *state;
    const char *pieces[] = {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", NULL};
    pid_t pid = test_serve(env->sock, "GET / HTTP/1.1\r\n", 0, pieces);
    knd_client_resp_t resp;
    knd_err_t err;
    knd_client_resp_init(&resp);
    assert_int_equal(knd_client_request(env->sock, "GET", "/", NULL, 0, NULL, NULL, &resp, &err),
                     -1);
    assert_int_equal(err.code, KND_E_INTERNAL);
    knd_client_resp_free(&resp);
    assert_int_equal(test_wait_child(pid), 0);
}

static void test_unreachable(void **state)
{
    test_env_t *env = *state;
    knd_client_resp_t resp;
    knd_err_t err;
    knd_client_resp_init(&resp);
    unlink(env->sock);
    assert_int_equal(knd_client_request(env->sock, "GET", "/", NULL, 0, NULL, NULL, &resp, &err),
                     -1);
    assert_int_equal(err.code, KND_E_UNAVAILABLE);
    assert_int_equal(err.errno_, ENOENT);
    assert_string_equal(err.msg, strerror(ENOENT));
    knd_client_resp_free(&resp);
}

/* A socket path longer than sun_path is still reachable (through /proc/self/fd). */
static void test_long_path(void **state)
{
    test_env_t *env = *state;
    char deep[512], sock[600], link_sock[700];
    snprintf(deep, sizeof(deep), "%s/%0120d", env->dir, 0);
    assert_int_equal(mkdir(deep, 0700), 0);
    snprintf(sock, sizeof(sock), "%s/knd.sock", env->dir);
    snprintf(link_sock, sizeof(link_sock), "%s/../knd.sock", deep);
    assert_true(strlen(link_sock) >= sizeof(((struct sockaddr_un *)0)->sun_path));
    const char *pieces[] = {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", NULL};
    pid_t pid = test_serve(sock, "GET /long HTTP/1.1\r\n", 0, pieces);
    knd_client_resp_t resp;
    knd_err_t err;
    knd_client_resp_init(&resp);
    assert_int_equal(knd_client_request(link_sock, "GET", "/long", NULL, 0, NULL, NULL, &resp,
                                        &err),
                     0);
    assert_string_equal(knd_buf_cstr(&resp.body), "ok");
    knd_client_resp_free(&resp);
    assert_int_equal(test_wait_child(pid), 0);
    rmdir(deep);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chunked_response, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_content_length_post_and_sink, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_error_status_not_sunk, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_response, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_unreachable, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_long_path, test_setup, test_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
