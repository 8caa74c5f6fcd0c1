/* knd_time.c - clocks and duration parsing (see knd_time.h). */
#include "knd_time.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t knd_time_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void knd_time_rfc3339(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Go's time.ParseDuration: a sequence of decimal numbers with optional fraction and a unit. */
int knd_time_parse_duration_ms(const char *s, int64_t *out_ms)
{
    static const struct {
        const char *unit;
        double ms;
    } units[] = {{"ns", 1e-6}, {"us", 1e-3}, {"µs", 1e-3}, {"ms", 1}, {"s", 1e3},
                 {"m", 60e3}, {"h", 3600e3}};
    double total = 0;
    int neg = 0;
    if (*s == '-' || *s == '+')
        neg = (*s++ == '-');
    if (strcmp(s, "0") == 0) {
        *out_ms = 0;
        return 0;
    }
    if (*s == '\0')
        return -1;
    while (*s) {
        if (!isdigit((unsigned char)*s) && *s != '.')
            return -1;
        char *end;
        double v = strtod(s, &end);
        if (end == s)
            return -1;
        s = end;
        size_t best = 0, best_len = 0;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            size_t n = strlen(units[i].unit);
            if (strncmp(s, units[i].unit, n) == 0 && n > best_len) {
                best = i;
                best_len = n;
            }
        }
        if (best_len == 0)
            return -1;
        total += v * units[best].ms;
        s += best_len;
    }
    *out_ms = (int64_t)(neg ? -total : total);
    return 0;
}
