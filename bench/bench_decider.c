/*
 * bench_decider.c - the autoscaler's decision loop at scale: 10,000 simulated revisions, each
 * with its stable and panic windows, decider and PA state, ticked every 2 s of simulated time
 * exactly as the daemon does (two 1 s samples recorded, both averages, Scale(now), the PA
 * scaler, the SKS mode). Prints microseconds per revision per tick.
 *
 * Usage: knd-bench-decider [REVISIONS [TICKS]]   (defaults 10000 and 300 = 10 simulated minutes)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "knd_autoscale.h"

typedef struct {
    knd_kpa_params_t p;
    knd_window_t *stable, *panic;
    knd_kpa_state_t *kpa;
    knd_pa_state_t pa;
    int ready;
} bench_rev_t;

static double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A mix: a quarter idle (scales to zero), a quarter steady, a quarter bursting every minute,
 * a quarter ramping with a scale-down delay. */
static double bench_load(int i, long sec)
{
    switch (i % 4) {
    case 0: return sec < 30 ? 3 : 0;
    case 1: return 40 + (double)(i % 7);
    case 2: return (sec % 60) < 10 ? 400 : 20;
    default: return (double)((sec + i) % 300);
    }
}

int main(int argc, char **argv)
{
    int nrev = argc > 1 ? atoi(argv[1]) : 10000;
    long ticks = argc > 2 ? atol(argv[2]) : 300;
    if (nrev <= 0 || ticks <= 0) {
        fprintf(stderr, "usage: knd-bench-decider [REVISIONS [TICKS]]\n");
        return 2;
    }
    knd_platform_t plat;
    knd_platform_init(&plat, NULL);
    json_t *delay = json_pack("{s:s}", "autoscaling.knative.dev/scale-down-delay", "5m");
    bench_rev_t *revs = calloc((size_t)nrev, sizeof(*revs));
    const uint64_t t0 = 1000000;
    for (int i = 0; i < nrev; i++) {
        bench_rev_t *r = &revs[i];
        knd_kpa_params(i % 4 == 3 ? delay : NULL, i % 2 ? 10 : 0, &plat, &r->p);
        r->stable = knd_window_new(r->p.stable_window_ms, 1000);
        r->panic = knd_window_new(r->p.panic_window_ms, 1000);
        r->kpa = calloc(1, sizeof(*r->kpa));
        knd_kpa_state_init(r->kpa, &r->p, 0, t0);
        knd_pa_state_init(&r->pa, t0);
        r->ready = 1;
    }
    long decisions = 0, scale_changes = 0;
    double start = bench_now_s();
    for (long k = 0; k < ticks; k++) {
        long sec = 2 * k;
        uint64_t now = t0 + (uint64_t)sec * 1000;
        for (int i = 0; i < nrev; i++) {
            bench_rev_t *r = &revs[i];
            for (long s = sec - 1; s <= sec; s++) {
                double v = bench_load(i, s);
                knd_window_record(r->stable, t0 + (uint64_t)s * 1000, v);
                knd_window_record(r->panic, t0 + (uint64_t)s * 1000, v);
            }
            bool empty;
            double sv = knd_window_average(r->stable, now, &empty);
            double pv = knd_window_average(r->panic, now, NULL);
            knd_kpa_decision_t d =
                knd_kpa_decide(&r->p, r->kpa, now, r->ready, sv, pv, !empty, true);
            knd_pa_result_t pr =
                knd_pa_scale(&r->p, &r->pa, now, r->kpa->desired_scale, r->ready, true);
            knd_pa_proxy_mode(&r->pa, now, pr.want, r->kpa->excess_burst_capacity, r->ready);
            if (pr.apply >= 0 && pr.apply != r->ready) {
                r->ready = pr.apply; /* instant instances: the loop itself is what is measured */
                scale_changes++;
            }
            decisions += d.valid;
        }
    }
    double elapsed = bench_now_s() - start;
    printf("revisions %d, ticks %ld (every 2 s of simulated time), decisions %ld, "
           "scale changes %ld\n", nrev, ticks, decisions, scale_changes);
    printf("state per revision: decider %zu bytes, PA %zu bytes, windows %zu + %zu buckets\n",
           sizeof(knd_kpa_state_t), sizeof(knd_pa_state_t),
           (size_t)(revs[0].p.stable_window_ms / 1000), (size_t)(revs[0].p.panic_window_ms / 1000));
    printf("total %.3f s, %.3f ms per tick, %.3f us per revision per tick\n", elapsed,
           elapsed * 1e3 / (double)ticks, elapsed * 1e6 / ((double)ticks * nrev));
    for (int i = 0; i < nrev; i++) {
        knd_window_free(revs[i].stable);
        knd_window_free(revs[i].panic);
        free(revs[i].kpa);
    }
    free(revs);
    json_decref(delay);
    knd_platform_free(&plat);
    return 0;
}
