/* knd_log.c - leveled stderr logging (see knd_log.h). */
#include "knd_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

int knd_log_level = KND_LOG_INFO;

static const char *const knd_log_names[] = {"ALERT", "ERROR", "WARN", "NOTICE", "INFO", "DEBUG"};

void knd_log_write(knd_log_level_t lvl, const char *component, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ knd[%d] %s %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, (int)getpid(), component,
                     knd_log_names[lvl]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(line))
        n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line) - 1)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    /* One write(2) per line so concurrent writers never interleave within a line. */
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

int knd_log_parse_level(const char *name)
{
    for (size_t i = 0; i < sizeof(knd_log_names) / sizeof(knd_log_names[0]); i++)
        if (strcasecmp(name, knd_log_names[i]) == 0)
            return (int)i;
    return -1;
}
