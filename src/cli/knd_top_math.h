/*
 * knd_top_math.h - the pure parts of `knd top`: reading the daemon's stats document
 * (GET /apis/knd.dev/v1/stats) into snapshots, and turning two successive snapshots into rows:
 * requests per second from counter deltas, p50/p95 from the delta latency histogram (linear
 * interpolation inside a bucket), cold starts in the last minute from a 60 s window of samples,
 * and the sort order of the view. No I/O, no clock: times come from the snapshots.
 *
 * Ownership: a snapshot owns its revision array; knd_top_state_t owns the previous snapshot
 * and the per-revision windows; rows are a new array the caller frees.
 */
#ifndef KND_TOP_MATH_H
#define KND_TOP_MATH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "knd_buf.h"

#define KND_TOP_MAX_BOUNDS 32     /* latency bucket upper bounds kept (the +Inf one extra) */
#define KND_TOP_WINDOW_MS 60000   /* "cold starts in the last minute" */
#define KND_TOP_WINDOW_MAX 1024   /* samples kept per revision within that minute */

/** One revision in one stats document. */
typedef struct {
    char ns[64];
    char service[256];
    char configuration[256];
    char revision[256];
    uint64_t requests, cold_starts, queue_wait_ms, resp_5xx;
    int64_t inflight, queued, ready, desired;
    bool panic;
    size_t nbounds;                           /* finite bounds; counts has nbounds + 1 */
    double bounds_ms[KND_TOP_MAX_BOUNDS];
    uint64_t counts[KND_TOP_MAX_BOUNDS + 1];  /* per bucket, not cumulative; last is +Inf */
} knd_top_rev_sample_t;

typedef struct {
    uint64_t time_ms;
    knd_top_rev_sample_t *revs; /* owned */
    size_t n;
} knd_top_snap_t;

/** One line of the view. */
typedef struct {
    char ns[64];
    char service[256];
    char revision[256];
    double rps;            /* requests per second over the last interval */
    double err_rps;        /* 5xx responses per second */
    double p50_ms, p95_ms; /* NAN when no request finished in the interval */
    int64_t inflight, queued, ready, desired;
    bool panic;
    uint64_t cold_1m;      /* cold starts within the last minute (of what this view saw) */
    bool fresh;            /* first time seen: no previous sample, rates are 0 */
} knd_top_row_t;

/* Cold-start counter samples of one revision, oldest first (a ring). */
typedef struct {
    char ns[64];
    char revision[256];
    uint64_t t[KND_TOP_WINDOW_MAX], v[KND_TOP_WINDOW_MAX];
    size_t head, len;
} knd_top_window_t;

typedef struct {
    knd_top_snap_t prev;
    bool have_prev;
    knd_top_window_t **wins; /* owned array of owned windows */
    size_t nwins;
} knd_top_state_t;

/** Per-second rate of a counter: (cur - prev) / dt; a counter that went down (the daemon
 * restarted) counts from 0; dt_ms 0 gives 0. */
double knd_top_rate(uint64_t prev, uint64_t cur, uint64_t dt_ms);
/**
 * Per-bucket delta of two histograms of n buckets into out. If any bucket went down (a
 * restart), the current counts are the delta.
 */
void knd_top_hist_delta(const uint64_t *prev, const uint64_t *cur, size_t n, uint64_t *out);
/**
 * The q-quantile (0..1) of a histogram with nbounds finite upper bounds and nbounds + 1
 * per-bucket counts: the bucket holding rank q * total, interpolated linearly between its lower
 * bound (0 for the first) and its upper bound. A rank in the +Inf bucket answers the largest
 * finite bound (as Prometheus' histogram_quantile). NAN when the histogram is empty.
 */
double knd_top_quantile(const double *bounds, size_t nbounds, const uint64_t *counts, double q);

/** Adds a sample to a window and forgets samples older than the minute before t_ms (keeping
 * the newest one at or before that edge as the baseline). Returns the increase over the window. */
uint64_t knd_top_window_push(knd_top_window_t *w, uint64_t t_ms, uint64_t v);

/**
 * Reads a stats document into out (replacing nothing: out must be empty). Only revisions in
 * namespace ns are kept unless ns is NULL. Returns 0, or -1 with a message in err[256] when the
 * document is not the expected shape.
 */
int knd_top_parse(const json_t *doc, const char *ns, knd_top_snap_t *out, char *err);
void knd_top_snap_free(knd_top_snap_t *s);

void knd_top_state_init(knd_top_state_t *st);
void knd_top_state_free(knd_top_state_t *st);
/**
 * Feeds the next snapshot (takes ownership of its contents; snap is left empty) and returns the
 * rows for it in *rows (new array, caller frees; count returned), sorted: highest RPS first, then
 * namespace and revision.
 */
size_t knd_top_state_update(knd_top_state_t *st, knd_top_snap_t *snap, knd_top_row_t **rows);
/** Sort order of the view (qsort comparator over knd_top_row_t). */
int knd_top_row_cmp(const void *a, const void *b);

/* ---- rendering ---------------------------------------------------------------------------- */

/** The view as a table (NAMESPACE first with all_ns); "No revisions ..." when n is 0. */
void knd_top_render_table(const knd_top_row_t *rows, size_t n, bool all_ns, const char *ns,
                          knd_buf_t *out);
/** The view as one compact JSON object and a newline: {"time_ms", "revisions": [...]}, with
 * null percentiles when unknown. */
void knd_top_render_json(uint64_t time_ms, const knd_top_row_t *rows, size_t n, knd_buf_t *out);

#endif
