/*
 * knd_log.h - leveled logging to stderr, one line per event:
 *   2026-01-02T03:04:05.678Z knd[1234] ingress WARN rev=hello-00001: upstream connect: ECONNREFUSED
 * The level is checked before formatting. ALERT means an internal bug (tests fail on it).
 */
#ifndef KND_LOG_H
#define KND_LOG_H

typedef enum {
    KND_LOG_ALERT = 0,
    KND_LOG_ERROR,
    KND_LOG_WARN,
    KND_LOG_NOTICE,
    KND_LOG_INFO,
    KND_LOG_DEBUG,
} knd_log_level_t;

extern int knd_log_level; /* the one mutable global: set once at start-up from --log-level */

void knd_log_write(knd_log_level_t lvl, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Parses "debug", "info", ...; returns -1 for an unknown name. */
int knd_log_parse_level(const char *name);

#define knd_log(lvl, comp, ...)                                                                   \
    do {                                                                                          \
        if ((int)(lvl) <= knd_log_level)                                                          \
            knd_log_write((lvl), (comp), __VA_ARGS__);                                            \
    } while (0)

#endif
