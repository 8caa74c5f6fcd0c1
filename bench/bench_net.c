/*
 * bench_net.c - helpers the benchmark clients share (bench_net.h).
 */
#include "bench_net.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <arpa/inet.h>

unsigned long long bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

int bench_connect(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        fprintf(stderr, "bench: connect to port %d: %s\n", port, strerror(errno));
        exit(1);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

void bench_shuffle(size_t *order, size_t n, unsigned *seed)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rand_r(seed) % i, tmp = order[i - 1];
        order[i - 1] = order[j];
        order[j] = tmp;
    }
}

static int bench_cmp(const void *a, const void *b)
{
    unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted values. */
static unsigned long long bench_pct(const unsigned long long *v, size_t n, double q)
{
    size_t rank = (size_t)(q * (double)n + 0.999999);
    return v[rank == 0 ? 0 : rank - 1];
}

void bench_print_latencies(int port, unsigned long long *ns, size_t n, const char *extra)
{
    unsigned long long sum = 0;
    if (n == 0) {
        fprintf(stderr, "bench: no requests counted for port %d\n", port);
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        sum += ns[i];
    qsort(ns, n, sizeof(*ns), bench_cmp);
    printf("port %d requests %zu p50 %llu p90 %llu p99 %llu p999 %llu mean %llu%s\n", port, n,
           bench_pct(ns, n, 0.50), bench_pct(ns, n, 0.90), bench_pct(ns, n, 0.99),
           bench_pct(ns, n, 0.999), sum / (unsigned long long)n, extra);
}
