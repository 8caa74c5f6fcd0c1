/*
 * knd_scale_sim.h - `knd scale simulate` as a library: replays a load trace through the same
 * windows, decider and PA scaler the daemon runs, against an idealised instance model
 * (instances are ready startup_delay after being asked for, removals are immediate).
 *
 * Ownership: knd_sim_parse_trace and knd_sim_run return new arrays the caller frees with free().
 */
#ifndef KND_SCALE_SIM_H
#define KND_SCALE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "knd_autoscale.h"
#include "knd_err.h"

/* One trace row: from t_s on (until the next row) the load is `value`. */
typedef struct {
    double t_s;
    double value;
} knd_sim_point_t;

/* One decision tick (every 2 s, plus the activator's poke when scaled to zero). */
typedef struct {
    double t_s;
    double observed_stable, observed_panic;
    int desired;  /* the instance count asked for after this tick (PA bounds and gating applied) */
    int ready;    /* ready instances the decider saw */
    bool panic;
    int excess_burst_capacity;
} knd_sim_row_t;

typedef struct {
    knd_kpa_params_t params;
    uint64_t startup_delay_ms;
} knd_sim_config_t;

/**
 * Parses `t_seconds,concurrency` or `t_seconds,rps` CSV (header first; blank lines and lines
 * starting with '#' skipped; times must not decrease). *rps tells which header it was.
 * Returns 0, or -1 with err set (KND_E_INVALID, "line N: ...").
 */
int knd_sim_parse_trace(const char *text, knd_sim_point_t **pts, size_t *n, bool *rps,
                        knd_err_t *err);

/**
 * Replays trace[0..n) from t = 0 to its last time, recording the load once a second and
 * deciding every 2 s. Returns the number of rows in *rows (new array).
 */
size_t knd_sim_run(const knd_sim_config_t *c, const knd_sim_point_t *trace, size_t n,
                   knd_sim_row_t **rows);

#endif
