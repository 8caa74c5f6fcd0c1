/*
 * slices.c - closed-loop load at concurrency C with the targets interleaved in short time slices.
 *
 * wrk loads one target at a time for seconds. On a virtual machine the CPUs stall now and then
 * for a few milliseconds (measured on the bench machine: 15 gaps over 1 ms in 5 s on a loaded
 * CPU, 42 ms in all, ~1% of the time), and at concurrency 64 one such gap pushes a few hundred
 * requests past the p99 of the run. How many gaps fall into a 3 s run decides its p99 more
 * than the proxy does: the p99 of two wrk runs of the same proxy can differ by half or more.
 * Here every target keeps C keep-alive connections, and the targets take turns in slices of
 * SLICE_MS milliseconds, in a fresh random order every round: each target is loaded exactly as
 * wrk loads it (C requests in flight, a new one sent as soon as a response is complete), but
 * all of them sample the same seconds of the machine, and each one's latencies come from many
 * short stretches of it.
 *
 * A slice starts with C requests sent at once, a burst no steady load has, and ends with the
 * requests in flight draining with nothing queued behind them. Neither counts: a slice runs
 * WARM_MS before its SLICE_MS, only the requests sent within SLICE_MS count, and the load goes
 * on until the last of those is answered. The first round warms the connections up and does
 * not count at all.
 *
 * Usage: knd-bench-slices HOST PATH CONNS WARM_MS SLICE_MS ROUNDS PORT...
 * Prints one line per target: "port N requests R p50 X p90 X p99 X p999 X mean X busy X" (ns;
 * busy is the counted time, ROUNDS x SLICE_MS, so requests / busy is the throughput).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <llhttp.h>
#include <uv.h>

#include "bench_net.h"

#define SLICES_MAX_TARGETS 8
#define SLICES_READ_BUF (256 * 1024)
#define SLICES_STUCK_MS 10000 /* a slice this much over its time has a target that stopped */

typedef struct slices_target_s slices_target_t;

typedef struct {
    uv_tcp_t tcp;
    uv_write_t write; /* only when the socket does not take the request at once */
    llhttp_t parser;
    slices_target_t *target;
    unsigned long long sent_ns;
    int complete, counted;
} slices_conn_t;

struct slices_target_s {
    int port;
    slices_conn_t *conns;
    unsigned long long *ns; /* one latency per counted response */
    size_t n, cap;
    unsigned long long busy_ns;
};

/* The one slice in progress: requests sent in [from, until) count. */
static struct {
    char req[1024];
    size_t reqlen;
    unsigned long long from, until;
    size_t in_flight, counted_in_flight;
    int counting;
} slice;

static char slices_buf[SLICES_READ_BUF];

static void slices_die(const slices_conn_t *c, const char *what, const char *why)
{
    fprintf(stderr, "slices: port %d: %s%s%s\n", c->target->port, what, why ? ": " : "",
            why ? why : "");
    exit(1);
}

static int slices_on_complete(llhttp_t *p)
{
    ((slices_conn_t *)p->data)->complete = 1;
    return HPE_PAUSED; /* one response per request: nothing after it is expected */
}

static const llhttp_settings_t slices_settings = {.on_message_complete = slices_on_complete};

static void slices_on_write(uv_write_t *w, int status)
{
    if (status < 0)
        slices_die(w->data, "write", uv_strerror(status));
}

static void slices_send(slices_conn_t *c)
{
    uv_buf_t b = uv_buf_init(slice.req, (unsigned)slice.reqlen);
    c->sent_ns = bench_now_ns();
    c->complete = 0;
    c->counted = slice.counting && c->sent_ns >= slice.from && c->sent_ns < slice.until;
    slice.in_flight++;
    slice.counted_in_flight += (size_t)c->counted;
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n == (int)slice.reqlen)
        return;
    if (n < 0 && n != UV_EAGAIN)
        slices_die(c, "write", uv_strerror(n));
    if (n > 0) {
        b.base += n;
        b.len -= (size_t)n;
    }
    c->write.data = c;
    int err = uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, slices_on_write);
    if (err < 0)
        slices_die(c, "write", uv_strerror(err));
}

static void slices_record(slices_target_t *t, unsigned long long ns)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 65536;
        t->ns = realloc(t->ns, t->cap * sizeof(*t->ns));
        if (t->ns == NULL) {
            fprintf(stderr, "slices: out of memory\n");
            exit(1);
        }
    }
    t->ns[t->n++] = ns;
}

static void slices_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)h;
    (void)suggested;
    *b = uv_buf_init(slices_buf, sizeof(slices_buf));
}

static void slices_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    slices_conn_t *c = s->data;
    if (nread == 0)
        return;
    if (nread < 0)
        slices_die(c, "the connection closed", nread == UV_EOF ? NULL : uv_strerror((int)nread));
    if (c->complete)
        slices_die(c, "bytes after the response", NULL);
    llhttp_errno_t err = llhttp_execute(&c->parser, b->base, (size_t)nread);
    if (err != HPE_OK && err != HPE_PAUSED)
        slices_die(c, "bad response", llhttp_errno_name(err));
    if (!c->complete)
        return;
    if (llhttp_get_error_pos(&c->parser) != b->base + nread)
        slices_die(c, "bytes after the response", NULL);
    if (llhttp_get_status_code(&c->parser) != 200)
        slices_die(c, "status is not 200", NULL);
    llhttp_resume(&c->parser);
    unsigned long long now = bench_now_ns();
    if (c->counted) {
        slices_record(c->target, now - c->sent_ns);
        slice.counted_in_flight--;
    }
    slice.in_flight--;
    /* The load goes on until the last counted request is answered, so that it is answered
     * under the same load as the others. */
    if (now < slice.until || slice.counted_in_flight > 0)
        slices_send(c);
    else if (slice.in_flight == 0)
        uv_stop(s->loop);
}

static void slices_on_stuck(uv_timer_t *timer)
{
    slices_target_t *t = timer->data;
    fprintf(stderr, "slices: port %d: %zu requests unanswered %d ms after the slice's end\n",
            t->port, slice.in_flight, SLICES_STUCK_MS);
    exit(1);
}

/* C requests in flight on t for warm_ms, then for ms in which the requests sent count. */
static void slices_run(uv_loop_t *loop, uv_timer_t *watchdog, slices_target_t *t, int conns,
                       int warm_ms, int ms, int counting)
{
    slice.from = bench_now_ns() + (unsigned long long)warm_ms * 1000000ull;
    slice.until = slice.from + (unsigned long long)ms * 1000000ull;
    slice.counting = counting;
    watchdog->data = t;
    uv_timer_start(watchdog, slices_on_stuck, (uint64_t)(warm_ms + ms + SLICES_STUCK_MS), 0);
    for (int i = 0; i < conns; i++)
        slices_send(&t->conns[i]);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_timer_stop(watchdog);
    if (counting)
        t->busy_ns += slice.until - slice.from;
}

static void slices_open(uv_loop_t *loop, slices_target_t *t, int conns)
{
    t->conns = calloc((size_t)conns, sizeof(*t->conns));
    if (t->conns == NULL) {
        fprintf(stderr, "slices: out of memory\n");
        exit(1);
    }
    for (int i = 0; i < conns; i++) {
        slices_conn_t *c = &t->conns[i];
        c->target = t;
        llhttp_init(&c->parser, HTTP_RESPONSE, &slices_settings);
        c->parser.data = c;
        uv_tcp_init(loop, &c->tcp);
        c->tcp.data = c;
        int err = uv_tcp_open(&c->tcp, bench_connect(t->port));
        if (err == 0)
            err = uv_read_start((uv_stream_t *)&c->tcp, slices_alloc, slices_on_read);
        if (err < 0)
            slices_die(c, "open", uv_strerror(err));
    }
}

/* Each target needs CONNS descriptors; the soft limit is often 1024. */
static void slices_raise_nofile(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

static int slices_usage(void)
{
    fprintf(stderr, "usage: knd-bench-slices HOST PATH CONNS WARM_MS SLICE_MS ROUNDS PORT... "
                    "(CONNS, SLICE_MS, ROUNDS > 0; WARM_MS >= 0; at most %d ports)\n",
            SLICES_MAX_TARGETS);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 8 || argc - 7 > SLICES_MAX_TARGETS)
        return slices_usage();
    int conns = atoi(argv[3]), warm = atoi(argv[4]), ms = atoi(argv[5]), rounds = atoi(argv[6]);
    int len = snprintf(slice.req, sizeof(slice.req), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n",
                       argv[2], argv[1]);
    if (conns <= 0 || warm < 0 || ms <= 0 || rounds <= 0 || len <= 0 ||
        (size_t)len >= sizeof(slice.req))
        return slices_usage();
    slice.reqlen = (size_t)len;
    slices_raise_nofile();
    uv_loop_t *loop = uv_default_loop();
    uv_timer_t watchdog;
    uv_timer_init(loop, &watchdog);
    size_t ntargets = (size_t)(argc - 7), order[SLICES_MAX_TARGETS];
    slices_target_t targets[SLICES_MAX_TARGETS] = {0};
    for (size_t i = 0; i < ntargets; i++) {
        targets[i].port = atoi(argv[7 + i]);
        slices_open(loop, &targets[i], conns);
        order[i] = i;
    }
    unsigned seed = 42; /* reproducible orders */
    for (int r = -1; r < rounds; r++) {
        bench_shuffle(order, ntargets, &seed);
        for (size_t k = 0; k < ntargets; k++)
            slices_run(loop, &watchdog, &targets[order[k]], conns, warm, ms, r >= 0);
    }
    for (size_t i = 0; i < ntargets; i++) {
        char extra[64];
        snprintf(extra, sizeof(extra), " busy %llu", targets[i].busy_ns);
        bench_print_latencies(targets[i].port, targets[i].ns, targets[i].n, extra);
        for (int c = 0; c < conns; c++)
            uv_close((uv_handle_t *)&targets[i].conns[c].tcp, NULL);
    }
    uv_close((uv_handle_t *)&watchdog, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    for (size_t i = 0; i < ntargets; i++) {
        free(targets[i].conns);
        free(targets[i].ns);
    }
    return 0;
}
