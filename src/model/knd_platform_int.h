/*
 * knd_platform_int.h - shared internals of the platform configuration (knd_platform*.c):
 * Knative's configmap value parsers (knative.dev/pkg/configmap: strconv / time.ParseDuration
 * semantics and message texts) and the per-ConfigMap apply functions. Private to src/model/.
 *
 * Each apply function resets its section of the (scratch) platform to Knative's defaults and then
 * parses `data`, because Knative builds every config from defaultConfig() + the map: a key removed
 * from a ConfigMap goes back to its default. Errors go to errs at path `data.<key>`.
 */
#ifndef KND_PLATFORM_INT_H
#define KND_PLATFORM_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "knd_err.h"
#include "knd_platform.h"

/* One ConfigMap being parsed. */
typedef struct {
    const json_t *data;   /* the ConfigMap's data object (never NULL: an empty object) */
    knd_errlist_t *errs;
    const char *prefix;   /* Knative's wrapping of parse errors, e.g. "failed to parse data: " */
    int nerr;             /* errors added so far */
} knd_cmparse_t;

/** The string at data[key], or NULL if absent; a non-string value is an error (NULL too). */
const char *knd__platform_raw(knd_cmparse_t *c, const char *key);
/** Adds an error at data.<key>. */
void knd__platform_err(knd_cmparse_t *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* cm.AsInt32/AsInt64 (bits 32/64), AsFloat64, AsBool, AsDuration, AsString (trimmed, into a
 * fixed buffer). Absent key: target untouched, returns 0. Bad value: error added, returns -1. */
int knd__platform_int(knd_cmparse_t *c, const char *key, int bits, int64_t *out);
int knd__platform_float(knd_cmparse_t *c, const char *key, double *out);
int knd__platform_bool(knd_cmparse_t *c, const char *key, bool *out);
int knd__platform_duration_ms(knd_cmparse_t *c, const char *key, int64_t *out_ms);
int knd__platform_string(knd_cmparse_t *c, const char *key, char *out, size_t outlen);

/* strconv.ParseInt(s, 10, bits) / ParseBool / ParseFloat: 0 or -1 with Go's message. */
int knd__platform_parse_int(const char *s, int bits, int64_t *out, char *msg, size_t msglen);
int knd__platform_parse_uint(const char *s, int64_t *out, char *msg, size_t msglen);

#define KND_PLATFORM_FMT_MAX 96

/* Go's %v of a time.Duration (ms precision) and of a float64. */
void knd__platform_fmt_duration(int64_t ms, char out[KND_PLATFORM_FMT_MAX]);
void knd__platform_fmt_float(double v, char out[KND_PLATFORM_FMT_MAX]);

/* Section resets and ConfigMap parsers. */
void knd__platform_defaults_reset(knd_platform_t *p);
void knd__platform_autoscaler_reset(knd_platform_t *p);
void knd__platform_apply_defaults(knd_platform_t *p, knd_cmparse_t *c);
void knd__platform_apply_autoscaler(knd_platform_t *p, knd_cmparse_t *c);

/**
 * Parses one config-domain value into a new selector object (string -> string; {} for the
 * catch-all). Returns 0, or -1 with a message in err.
 */
int knd__platform_domain_selector(const char *text, json_t **selector, char *err, size_t errlen);

#endif
