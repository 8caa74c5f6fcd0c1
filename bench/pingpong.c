/*
 * pingpong.c - latency at concurrency 1 with the targets interleaved request by request.
 *
 * wrk measures one target at a time, seconds apart. At concurrency 1 a request's latency is a
 * chain of wake-ups (client, proxy, instance, proxy, client), and on a shared machine the tail
 * of that chain drifts from second to second: two wrk runs of the same proxy can differ by half
 * in p99. Here every target has one keep-alive connection and the client sends one request to
 * each in turn, round after round, so that all targets sample the same moments of the machine
 * and their percentiles can be compared directly. The order within a round is a fresh random
 * permutation: with a fixed or rotated order each target would always follow the same other
 * one, and what that one leaves in the caches and on the CPUs would bias its latency.
 *
 * Usage: knd-bench-pingpong HOST PATH ROUNDS PORT...
 * Prints one line per target: "port N requests R p50 X p90 X p99 X p999 X mean X" (ns),
 * after 500 warm-up rounds that are not counted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <llhttp.h>

#include "bench_net.h"

#define PINGPONG_MAX_TARGETS 8
#define PINGPONG_WARMUP 500

typedef struct {
    int port, fd;
    llhttp_t parser;
    int complete;
    unsigned long long *ns; /* one latency per counted round */
} pingpong_target_t;

static int pingpong_on_complete(llhttp_t *p)
{
    ((pingpong_target_t *)p->data)->complete = 1;
    return HPE_PAUSED; /* one response per request: nothing after it is expected */
}

static const llhttp_settings_t pingpong_settings = {.on_message_complete = pingpong_on_complete};

/* One request and its whole response; returns the latency in ns. */
static unsigned long long pingpong_exchange(pingpong_target_t *t, const char *req, size_t reqlen)
{
    static char buf[256 * 1024];
    unsigned long long t0 = bench_now_ns();
    if (send(t->fd, req, reqlen, 0) != (ssize_t)reqlen) {
        fprintf(stderr, "pingpong: send to port %d: %s\n", t->port, strerror(errno));
        exit(1);
    }
    t->complete = 0;
    llhttp_resume(&t->parser);
    ssize_t last = 0;
    while (!t->complete) {
        ssize_t n = recv(t->fd, buf, sizeof(buf), 0);
        last = n;
        if (n <= 0) {
            fprintf(stderr, "pingpong: port %d closed the connection\n", t->port);
            exit(1);
        }
        llhttp_errno_t err = llhttp_execute(&t->parser, buf, (size_t)n);
        if (err != HPE_OK && err != HPE_PAUSED) {
            fprintf(stderr, "pingpong: port %d: bad response: %s\n", t->port,
                    llhttp_errno_name(err));
            exit(1);
        }
    }
    if (llhttp_get_error_pos(&t->parser) != buf + last) {
        fprintf(stderr, "pingpong: port %d: bytes after the response\n", t->port);
        exit(1);
    }
    if (llhttp_get_status_code(&t->parser) != 200) {
        fprintf(stderr, "pingpong: port %d answered %d\n", t->port,
                llhttp_get_status_code(&t->parser));
        exit(1);
    }
    return bench_now_ns() - t0;
}

int main(int argc, char **argv)
{
    long rounds = argc >= 5 ? strtol(argv[3], NULL, 10) : 0;
    char req[1024];
    int reqlen = argc >= 5 ? snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n",
                                      argv[2], argv[1]) : 0;
    if (argc < 5 || argc - 4 > PINGPONG_MAX_TARGETS || rounds <= 0 || reqlen <= 0 ||
        (size_t)reqlen >= sizeof(req)) {
        fprintf(stderr, "usage: knd-bench-pingpong HOST PATH ROUNDS PORT... (ROUNDS > 0, at "
                        "most %d ports)\n", PINGPONG_MAX_TARGETS);
        return 2;
    }
    size_t ntargets = (size_t)(argc - 4);
    pingpong_target_t targets[PINGPONG_MAX_TARGETS];
    for (size_t i = 0; i < ntargets; i++) {
        pingpong_target_t *t = &targets[i];
        t->port = atoi(argv[4 + i]);
        t->fd = bench_connect(t->port);
        llhttp_init(&t->parser, HTTP_RESPONSE, &pingpong_settings);
        t->parser.data = t;
        t->ns = calloc((size_t)rounds, sizeof(*t->ns));
        if (t->ns == NULL)
            return 1;
    }
    size_t order[PINGPONG_MAX_TARGETS];
    for (size_t i = 0; i < ntargets; i++)
        order[i] = i;
    unsigned seed = 42; /* reproducible orders */
    for (long r = -PINGPONG_WARMUP; r < rounds; r++) {
        bench_shuffle(order, ntargets, &seed);
        for (size_t k = 0; k < ntargets; k++) {
            pingpong_target_t *t = &targets[order[k]];
            unsigned long long ns = pingpong_exchange(t, req, (size_t)reqlen);
            if (r >= 0)
                t->ns[r] = ns;
        }
    }
    for (size_t i = 0; i < ntargets; i++) {
        bench_print_latencies(targets[i].port, targets[i].ns, (size_t)rounds, "");
        close(targets[i].fd);
        free(targets[i].ns);
    }
    return 0;
}
