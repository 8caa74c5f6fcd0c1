/* knd_time.h - clocks and Kubernetes timestamps. */
#ifndef KND_TIME_H
#define KND_TIME_H

#include <stdint.h>

/** Monotonic milliseconds (for timeouts and windows). */
uint64_t knd_time_mono_ms(void);
/** Wall clock in RFC 3339 UTC with seconds precision, as Kubernetes writes it: into out[32]. */
void knd_time_rfc3339(char out[32]);
/** The same for now, formatted at most once per second (a static buffer: single-threaded
 * hot paths such as the request log). */
const char *knd_time_rfc3339_now(void);
/**
 * Parses a Go duration ("30s", "1m30s", "2h", "500ms") into milliseconds. Returns 0 on success,
 * -1 if malformed. Knative annotations use Go durations.
 */
int knd_time_parse_duration_ms(const char *s, int64_t *out_ms);
/** The same, in (fractional) seconds: the precision Knative's validation needs. */
int knd_time_parse_duration_s(const char *s, double *out_s);

#endif
