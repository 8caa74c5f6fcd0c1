/*
 * knd_platform_value.c - ConfigMap value parsing with Go's semantics and message texts
 * (knative.dev/pkg/configmap -> strconv.ParseInt/ParseUint/ParseFloat/ParseBool,
 * time.ParseDuration) and Go's %v formatting of durations and floats, so that knd's errors read
 * like Knative's ("failed to parse \"stable-window\": time: invalid duration \"x\"").
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_platform_int.h"
#include "knd_time.h"

void knd__platform_err(knd_cmparse_t *c, const char *key, const char *fmt, ...)
{
    char msg[1024], path[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(path, sizeof(path), "data.%s", key);
    knd_errlist_add(c->errs, path, "%s%s", c->prefix ? c->prefix : "", msg);
    c->nerr++;
}

const char *knd__platform_raw(knd_cmparse_t *c, const char *key)
{
    json_t *v = json_object_get(c->data, key);
    if (v == NULL)
        return NULL;
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_null(v))
        return ""; /* a null map value decodes to Go's zero value */
    const char *kind = json_is_number(v) ? "number" : json_is_boolean(v) ? "bool"
                       : json_is_array(v)  ? "array"
                                           : "object";
    const char *saved = c->prefix;
    c->prefix = "";
    knd__platform_err(c, key,
                      "json: cannot unmarshal %s into Go struct field ConfigMap.data of type string",
                      kind);
    c->prefix = saved;
    return NULL;
}

/* ---------------------------------------------------------------- strconv */

static int knd_platform_all_digits(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

int knd__platform_parse_int(const char *s, int bits, int64_t *out, char *msg, size_t msglen)
{
    const char *d = (*s == '+' || *s == '-') ? s + 1 : s;
    if (!knd_platform_all_digits(d)) {
        snprintf(msg, msglen, "strconv.ParseInt: parsing \"%s\": invalid syntax", s);
        return -1;
    }
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE || (bits == 32 && (v < INT32_MIN || v > INT32_MAX))) {
        snprintf(msg, msglen, "strconv.ParseInt: parsing \"%s\": value out of range", s);
        return -1;
    }
    *out = v;
    return 0;
}

int knd__platform_parse_uint(const char *s, int64_t *out, char *msg, size_t msglen)
{
    if (!knd_platform_all_digits(s)) {
        snprintf(msg, msglen, "strconv.ParseUint: parsing \"%s\": invalid syntax", s);
        return -1;
    }
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    if (errno == ERANGE) {
        snprintf(msg, msglen, "strconv.ParseUint: parsing \"%s\": value out of range", s);
        return -1;
    }
    if (v > (unsigned long long)INT64_MAX) {
        snprintf(msg, msglen, "value should be lower than %lld", (long long)INT64_MAX);
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

int knd__platform_int(knd_cmparse_t *c, const char *key, int bits, int64_t *out)
{
    char msg[512];
    const char *raw = knd__platform_raw(c, key);
    if (raw == NULL)
        return 0;
    if (knd__platform_parse_int(raw, bits, out, msg, sizeof(msg)) != 0) {
        knd__platform_err(c, key, "failed to parse \"%s\": %s", key, msg);
        return -1;
    }
    return 0;
}

int knd__platform_float(knd_cmparse_t *c, const char *key, double *out)
{
    const char *raw = knd__platform_raw(c, key);
    if (raw == NULL)
        return 0;
    char *end = NULL;
    errno = 0;
    double v = (*raw && !isspace((unsigned char)*raw)) ? strtod(raw, &end) : 0;
    if (end == NULL || end == raw || *end != '\0') {
        knd__platform_err(c, key, "failed to parse \"%s\": strconv.ParseFloat: parsing \"%s\": "
                          "invalid syntax", key, raw);
        return -1;
    }
    if (errno == ERANGE && isinf(v)) {
        knd__platform_err(c, key, "failed to parse \"%s\": strconv.ParseFloat: parsing \"%s\": "
                          "value out of range", key, raw);
        return -1;
    }
    *out = v;
    return 0;
}

int knd__platform_bool(knd_cmparse_t *c, const char *key, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    const char *raw = knd__platform_raw(c, key);
    if (raw == NULL)
        return 0;
    for (size_t i = 0; i < KND_ARRAY_SIZE(yes); i++) {
        if (strcmp(raw, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(raw, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    knd__platform_err(c, key, "failed to parse \"%s\": strconv.ParseBool: parsing \"%s\": "
                      "invalid syntax", key, raw);
    return -1;
}

int knd__platform_duration_ms(knd_cmparse_t *c, const char *key, int64_t *out_ms)
{
    const char *raw = knd__platform_raw(c, key);
    if (raw == NULL)
        return 0;
    if (knd_time_parse_duration_ms(raw, out_ms) != 0) {
        knd__platform_err(c, key, "failed to parse \"%s\": time: invalid duration \"%s\"", key,
                          raw);
        return -1;
    }
    return 0;
}

int knd__platform_string(knd_cmparse_t *c, const char *key, char *out, size_t outlen)
{
    const char *raw = knd__platform_raw(c, key);
    if (raw == NULL)
        return 0;
    /* cm.AsString trims surrounding whitespace. */
    while (isspace((unsigned char)*raw))
        raw++;
    size_t n = strlen(raw);
    while (n > 0 && isspace((unsigned char)raw[n - 1]))
        n--;
    if (n >= outlen) {
        knd__platform_err(c, key, "value is longer than %zu characters", outlen - 1);
        return -1;
    }
    memcpy(out, raw, n);
    out[n] = '\0';
    return 0;
}

/* ---------------------------------------------------------------- Go's %v */

void knd__platform_fmt_duration(int64_t ms, char out[KND_PLATFORM_FMT_MAX])
{
    char secs[24];
    const char *sign = ms < 0 ? "-" : "";
    uint64_t u = ms < 0 ? 0 - (uint64_t)ms : (uint64_t)ms; /* INT64_MIN included */
    if (u == 0) {
        snprintf(out, KND_PLATFORM_FMT_MAX, "0s");
        return;
    }
    if (u < 1000) {
        snprintf(out, KND_PLATFORM_FMT_MAX, "%s%llums", sign, (unsigned long long)u);
        return;
    }
    unsigned long long h = u / 3600000, m = (u % 3600000) / 60000, s = (u % 60000) / 1000;
    unsigned frac = (unsigned)(u % 1000);
    if (frac == 0) {
        snprintf(secs, sizeof(secs), "%llus", s);
    } else {
        char f[8];
        snprintf(f, sizeof(f), "%03u", frac);
        for (int i = 2; i > 0 && f[i] == '0'; i--)
            f[i] = '\0';
        snprintf(secs, sizeof(secs), "%llu.%ss", s, f);
    }
    if (h > 0)
        snprintf(out, KND_PLATFORM_FMT_MAX, "%s%lluh%llum%s", sign, h, m, secs);
    else if (m > 0)
        snprintf(out, KND_PLATFORM_FMT_MAX, "%s%llum%s", sign, m, secs);
    else
        snprintf(out, KND_PLATFORM_FMT_MAX, "%s%s", sign, secs);
}

void knd__platform_fmt_float(double v, char out[KND_PLATFORM_FMT_MAX])
{
    char buf[40];
    int prec;
    if (isnan(v)) {
        snprintf(out, KND_PLATFORM_FMT_MAX, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, KND_PLATFORM_FMT_MAX, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == 0) {
        snprintf(out, KND_PLATFORM_FMT_MAX, "0");
        return;
    }
    /* Shortest representation that round-trips, as Go's strconv 'g' with precision -1. */
    for (prec = 1; prec < 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);
    int exp = atoi(strchr(buf, 'e') + 1);
    if (exp < -4 || exp >= 21) {
        snprintf(out, KND_PLATFORM_FMT_MAX, "%s", buf);
        return;
    }
    int decimals = prec - 1 - exp;
    snprintf(out, KND_PLATFORM_FMT_MAX, "%.*f", decimals > 0 ? decimals : 0, v);
}
