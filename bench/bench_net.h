/*
 * bench_net.h - what the benchmark clients (pingpong.c, slices.c) share: a monotonic clock in
 * nanoseconds, a blocking loopback connect with TCP_NODELAY, the random order in which the
 * targets take turns, and the percentile line they print for each target.
 */
#ifndef KND_BENCH_NET_H
#define KND_BENCH_NET_H

#include <stddef.h>

unsigned long long bench_now_ns(void);

/* A connected TCP socket to 127.0.0.1:port (blocking); exits with a message on failure. */
int bench_connect(int port);

/* A fresh random permutation of order[0..n) (Fisher-Yates), reproducible from *seed. */
void bench_shuffle(size_t *order, size_t n, unsigned *seed);

/* Sorts ns[0..n) and prints "port P requests N p50 X p90 X p99 X p999 X mean X" (ns), then
 * the caller's extra fields and a newline; exits with a message if n is 0. */
void bench_print_latencies(int port, unsigned long long *ns, size_t n, const char *extra);

#endif
