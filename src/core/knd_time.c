/* knd_time.c - clocks and duration parsing (see knd_time.h). */
#include "knd_time.h"

#include "knd_alloc.h"

#include <ctype.h>
#include <stdbool.h>
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

const char *knd_time_rfc3339_now(void)
{
    static time_t last = (time_t)-1;
    static char buf[32];
    time_t t = time(NULL);
    if (t != last) {
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
        last = t;
    }
    return buf;
}

#define KND_DURATION_MAX_S 9223372036.854775807 /* math.MaxInt64 ns */

/* Go's time.ParseDuration: a sequence of decimal numbers with an optional fraction, each with a
 * unit; no exponents, no hex, "0" alone needs no unit. */
int knd_time_parse_duration_s(const char *s, double *out_s)
{
    static const struct {
        const char *unit;
        double s;
    } units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"\xce\xbcs", 1e-6},
                 {"ms", 1e-3}, {"s", 1},     {"m", 60},          {"h", 3600}};
    double total = 0;
    bool neg = false;
    if (*s == '-' || *s == '+')
        neg = (*s++ == '-');
    if (strcmp(s, "0") == 0) {
        *out_s = 0;
        return 0;
    }
    if (*s == '\0')
        return -1;
    while (*s) {
        if (!isdigit((unsigned char)*s) && *s != '.')
            return -1;
        char *end;
        double v = strtod(s, &end);
        if (end == s || (end > s && (end[-1] == '.' && end - s == 1)))
            return -1;
        /* strtod also takes exponents and hex; Go durations do not. */
        for (const char *q = s; q < end; q++)
            if (!isdigit((unsigned char)*q) && *q != '.')
                return -1;
        s = end;
        size_t best = 0, best_len = 0;
        for (size_t i = 0; i < KND_ARRAY_SIZE(units); i++) {
            size_t n = strlen(units[i].unit);
            if (strncmp(s, units[i].unit, n) == 0 && n > best_len) {
                best = i;
                best_len = n;
            }
        }
        if (best_len == 0)
            return -1;
        total += v * units[best].s;
        s += best_len;
    }
    /* Go's Duration is int64 nanoseconds: ParseDuration refuses what does not fit (~292
     * years), and so nothing parsed here overflows a millisecond count either. */
    if (total > KND_DURATION_MAX_S)
        return -1;
    *out_s = neg ? -total : total;
    return 0;
}


int knd_time_parse_duration_ms(const char *s, int64_t *out_ms)
{
    double sec;
    if (knd_time_parse_duration_s(s, &sec) < 0)
        return -1;
    *out_ms = (int64_t)(sec * 1000.0);
    return 0;
}
