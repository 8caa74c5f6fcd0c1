/*
 * knd_trace.c - trace contexts: continuing W3C traceparent or B3 (single and multi header)
 * traces, starting new ones, the sampling decision, ids, and the headers that carry a context
 * to an instance. Pure functions over values, apart from the id generator's per-thread state.
 * Export lives in knd_trace_export.c.
 */
#include "knd_trace_int.h"

#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* What an incoming request said about its trace. */
typedef struct {
    bool has_ids;
    char trace[33];
    char span[17];
    int sampled; /* -1: no decision, else 0/1 */
    bool debug;
} knd_trace_in_t;

/* ------------------------------------------------------------------ ids */

/*
 * splitmix64 seeded once per thread from getrandom: ids need to be unique, not secret, and a
 * syscall per id on the request path would be wasted work.
 */
uint64_t knd__trace_random(void)
{
    static __thread uint64_t state;
    static __thread bool seeded;
    if (!seeded) {
        uint64_t s = 0;
        if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s)) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            s = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 16) ^
                (uint64_t)(uintptr_t)&s;
        }
        state = s;
        seeded = true;
    }
    uint64_t z;
    do {
        state += 0x9E3779B97F4A7C15ull;
        z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
    } while (z == 0);
    return z;
}

static void knd_trace_new_span_id(char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)knd__trace_random());
}

static void knd_trace_new_trace_id(char out[33])
{
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)knd__trace_random(),
             (unsigned long long)knd__trace_random());
}

uint64_t knd_trace_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ------------------------------------------------------------------ parsing */

/* n hex digits at s (lowercase only when lower), not all zeros. */
static bool knd_trace_hex_id_ok(const char *s, size_t n, bool lower)
{
    bool nonzero = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                  (!lower && c >= 'A' && c <= 'F');
        if (!ok)
            return false;
        if (c != '0')
            nonzero = true;
    }
    return nonzero;
}

/* Copies an id of n (16 or 32) hex digits lowercased, left-padded with zeros to width. */
static void knd_trace_copy_id(char *dst, size_t width, const char *src, size_t n)
{
    size_t pad = width - n;
    memset(dst, '0', pad);
    for (size_t i = 0; i < n; i++)
        dst[pad + i] = (char)tolower((unsigned char)src[i]);
    dst[width] = '\0';
}

/* W3C Trace Context: version-traceid-parentid-flags. Returns 0 or -1 (ignore the header). */
static int knd_trace_parse_traceparent(const char *v, knd_trace_in_t *in)
{
    size_t len = strlen(v);
    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    if (len < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-')
        return -1;
    if (!isxdigit((unsigned char)v[0]) || !isxdigit((unsigned char)v[1]) ||
        isupper((unsigned char)v[0]) || isupper((unsigned char)v[1]))
        return -1;
    if (strncmp(v, "ff", 2) == 0)
        return -1; /* forbidden version */
    /* Version 00 is exactly 55 bytes; a later version may append "-..." fields. */
    if (strncmp(v, "00", 2) == 0 ? len != 55 : (len > 55 && v[55] != '-'))
        return -1;
    if (!knd_trace_hex_id_ok(v + 3, 32, true) || !knd_trace_hex_id_ok(v + 36, 16, true))
        return -1;
    char flags[3] = {v[53], v[54], '\0'};
    if (!isxdigit((unsigned char)flags[0]) || !isxdigit((unsigned char)flags[1]) ||
        isupper((unsigned char)flags[0]) || isupper((unsigned char)flags[1]))
        return -1;
    knd_trace_copy_id(in->trace, 32, v + 3, 32);
    knd_trace_copy_id(in->span, 16, v + 36, 16);
    in->has_ids = true;
    in->sampled = (int)(strtoul(flags, NULL, 16) & 1u);
    return 0;
}

/* A B3 sampling state: "0", "1", "d" (and "true"/"false" in the multi form). */
static int knd_trace_parse_b3_sampled(const char *s, size_t n, knd_trace_in_t *in)
{
    if ((n == 1 && s[0] == '1') || (n == 4 && strncasecmp(s, "true", 4) == 0))
        in->sampled = 1;
    else if ((n == 1 && s[0] == '0') || (n == 5 && strncasecmp(s, "false", 5) == 0))
        in->sampled = 0;
    else if (n == 1 && s[0] == 'd') {
        in->debug = true;
        in->sampled = 1;
    } else {
        return -1;
    }
    return 0;
}

/* b3: {TraceId}-{SpanId}[-{SamplingState}[-{ParentSpanId}]] or a lone SamplingState. */
static int knd_trace_parse_b3_single(const char *v, knd_trace_in_t *in)
{
    const char *part[4];
    size_t plen[4], np = 0;
    const char *p = v;
    for (;;) {
        const char *dash = strchr(p, '-');
        if (np == 4)
            return -1; /* more than four fields */
        part[np] = p;
        plen[np++] = dash ? (size_t)(dash - p) : strlen(p);
        if (dash == NULL)
            break;
        p = dash + 1;
    }
    knd_trace_in_t tmp = {.sampled = -1};
    if (np == 1)
        goto decision_only;
    if ((plen[0] != 16 && plen[0] != 32) || plen[1] != 16 ||
        !knd_trace_hex_id_ok(part[0], plen[0], false) ||
        !knd_trace_hex_id_ok(part[1], 16, false))
        return -1;
    if (np >= 3 && knd_trace_parse_b3_sampled(part[2], plen[2], &tmp) != 0)
        return -1;
    if (np == 4 && (plen[3] != 16 || !knd_trace_hex_id_ok(part[3], 16, false)))
        return -1;
    knd_trace_copy_id(tmp.trace, 32, part[0], plen[0]);
    knd_trace_copy_id(tmp.span, 16, part[1], 16);
    tmp.has_ids = true;
    *in = tmp;
    return 0;
decision_only:
    if (knd_trace_parse_b3_sampled(part[0], plen[0], &tmp) != 0)
        return -1;
    *in = tmp;
    return 0;
}

/* X-B3-TraceId, X-B3-SpanId, X-B3-Sampled, X-B3-Flags. Returns -1 if none is usable. */
static int knd_trace_parse_b3_multi(const knd_http_head_t *h, knd_trace_in_t *in)
{
    const char *tid = knd_http_head_get(h, "X-B3-TraceId");
    const char *sid = knd_http_head_get(h, "X-B3-SpanId");
    const char *smp = knd_http_head_get(h, "X-B3-Sampled");
    const char *flg = knd_http_head_get(h, "X-B3-Flags");
    knd_trace_in_t tmp = {.sampled = -1};
    if (tid != NULL && sid != NULL) {
        size_t tl = strlen(tid);
        if ((tl == 16 || tl == 32) && knd_trace_hex_id_ok(tid, tl, false) &&
            strlen(sid) == 16 && knd_trace_hex_id_ok(sid, 16, false)) {
            knd_trace_copy_id(tmp.trace, 32, tid, tl);
            knd_trace_copy_id(tmp.span, 16, sid, 16);
            tmp.has_ids = true;
        }
    }
    if (smp != NULL && knd_trace_parse_b3_sampled(smp, strlen(smp), &tmp) != 0)
        tmp.sampled = -1;
    if (flg != NULL && strcmp(flg, "1") == 0) {
        tmp.debug = true;
        tmp.sampled = 1;
    }
    if (!tmp.has_ids && tmp.sampled < 0)
        return -1;
    *in = tmp;
    return 0;
}

static void knd_trace_read_incoming(const knd_http_head_t *h, knd_trace_in_t *in)
{
    const char *v;
    in->has_ids = false;
    in->sampled = -1;
    in->debug = false;
    if (h == NULL)
        return;
    if ((v = knd_http_head_get(h, "traceparent")) != NULL &&
        knd_trace_parse_traceparent(v, in) == 0)
        return;
    if ((v = knd_http_head_get(h, "b3")) != NULL && knd_trace_parse_b3_single(v, in) == 0)
        return;
    (void)knd_trace_parse_b3_multi(h, in);
}

/* ------------------------------------------------------------------ contexts */

void knd_trace_begin(knd_tracer_t *t, const knd_http_head_t *incoming, knd_trace_ctx_t *out)
{
    knd_trace_in_t in;
    knd_trace_read_incoming(incoming, &in);
    memset(out, 0, sizeof(*out));
    if (in.has_ids) {
        memcpy(out->trace_id, in.trace, sizeof(out->trace_id));
        memcpy(out->parent_id, in.span, sizeof(out->parent_id));
    } else {
        knd_trace_new_trace_id(out->trace_id);
    }
    knd_trace_new_span_id(out->span_id);
    out->debug = in.debug;
    if (!t->enabled)
        out->sampled = in.sampled == 1; /* nothing is recorded; the decision passes through */
    else if (t->debug || in.debug)
        out->sampled = true;
    else if (in.sampled >= 0)
        out->sampled = in.sampled == 1;
    else
        out->sampled = (double)(knd__trace_random() >> 11) * 0x1.0p-53 < t->sample_rate;
}

void knd_trace_child(const knd_trace_ctx_t *parent, knd_trace_ctx_t *child)
{
    knd_trace_ctx_t c = *parent; /* parent and child may alias */
    memcpy(c.parent_id, parent->span_id, sizeof(c.parent_id));
    knd_trace_new_span_id(c.span_id);
    *child = c;
}

void knd_trace_headers(const knd_trace_ctx_t *ctx, knd_buf_t *out)
{
    knd_buf_printf(out, "traceparent: 00-%s-%s-%s\r\n", ctx->trace_id, ctx->span_id,
                   ctx->sampled ? "01" : "00");
    knd_buf_printf(out, "X-B3-TraceId: %s\r\nX-B3-SpanId: %s\r\n", ctx->trace_id, ctx->span_id);
    if (ctx->parent_id[0] != '\0')
        knd_buf_printf(out, "X-B3-ParentSpanId: %s\r\n", ctx->parent_id);
    /* B3: debug implies an accept decision, so X-B3-Sampled is not sent with it. */
    if (ctx->debug)
        knd_buf_puts(out, "X-B3-Flags: 1\r\n");
    else
        knd_buf_printf(out, "X-B3-Sampled: %s\r\n", ctx->sampled ? "1" : "0");
}

bool knd_trace_is_header(const char *name)
{
    return strcasecmp(name, "traceparent") == 0 || strcasecmp(name, "b3") == 0 ||
           strncasecmp(name, "x-b3-", 5) == 0;
}

/* ------------------------------------------------------------------ endpoint */

/* A DNS name (or IPv4 address): labels of letters, digits, '-' and '_' (names in /etc/hosts
 * may carry one) separated by single dots, a trailing dot allowed. */
static int knd_trace_parse_host_name(const char *h, size_t n, knd_err_t *err)
{
    if (n > 253)
        return knd_err_set(err, KND_E_INVALID, "host name longer than 253 characters");
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c == '.') {
            if (label == 0)
                return knd_err_set(err, KND_E_INVALID, "empty label in host name");
            label = 0;
            continue;
        }
        if (!isalnum(c) && c != '-' && c != '_') {
            if (isgraph(c))
                return knd_err_set(err, KND_E_INVALID, "invalid character '%c' in host", c);
            return knd_err_set(err, KND_E_INVALID, "invalid character 0x%02x in host", c);
        }
        if (++label > 63)
            return knd_err_set(err, KND_E_INVALID, "host name label longer than 63 characters");
    }
    return 0;
}

/* The authority's host part (up to the port): a bracketed IPv6 address, an IPv4 address or a
 * name. Sets *end past it. */
static int knd_trace_parse_host(const char *a, size_t alen, knd_trace_endpoint_t *ep,
                                const char **end, knd_err_t *err)
{
    bool v6 = a[0] == '[';
    const char *h = v6 ? a + 1 : a;
    const char *e = memchr(a, v6 ? ']' : ':', alen);
    if (e == NULL && v6)
        return knd_err_set(err, KND_E_INVALID, "IPv6 address without a closing ']'");
    if (e == NULL)
        e = a + alen;
    size_t n = (size_t)(e - h);
    *end = v6 ? e + 1 : e;
    if (n == 0)
        return knd_err_set(err, KND_E_INVALID, "no host");
    if (n >= sizeof(ep->host))
        return knd_err_set(err, KND_E_INVALID, "host longer than 253 characters");
    memcpy(ep->host, h, n);
    ep->host[n] = '\0';
    unsigned char addr[sizeof(struct in6_addr)];
    if (v6) {
        if (strchr(ep->host, '%') != NULL)
            return knd_err_set(err, KND_E_INVALID, "IPv6 zone ids are not supported");
        if (uv_inet_pton(AF_INET6, ep->host, addr) != 0)
            return knd_err_set(err, KND_E_INVALID, "invalid IPv6 address \"%s\"", ep->host);
        ep->family = AF_INET6;
        return 0;
    }
    if (knd_trace_parse_host_name(h, n, err) != 0)
        return -1;
    ep->family = AF_UNSPEC;
    /* Digits and dots only: meant as an IPv4 address (no top-level domain is numeric). */
    if (strspn(ep->host, "0123456789.") == n) {
        if (uv_inet_pton(AF_INET, ep->host, addr) != 0)
            return knd_err_set(err, KND_E_INVALID, "invalid IPv4 address \"%s\"", ep->host);
        ep->family = AF_INET;
    }
    return 0;
}

/* ":port" between the host and the path (or nothing: port 80). */
static int knd_trace_parse_port(const char *p, const char *end, int *port, knd_err_t *err)
{
    *port = 80;
    if (p == end)
        return 0;
    if (*p != ':')
        return knd_err_set(err, KND_E_INVALID, "unexpected '%c' after the host", *p);
    p++;
    if (p == end)
        return knd_err_set(err, KND_E_INVALID, "empty port");
    long v = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return knd_err_set(err, KND_E_INVALID, "port is not a number");
        v = v * 10 + (*p - '0');
        if (v > 65535)
            return knd_err_set(err, KND_E_INVALID, "port out of range 1..65535");
    }
    if (v < 1)
        return knd_err_set(err, KND_E_INVALID, "port out of range 1..65535");
    *port = (int)v;
    return 0;
}

int knd_trace_parse_endpoint(const char *url, knd_trace_endpoint_t *ep, knd_err_t *err)
{
    memset(ep, 0, sizeof(*ep));
    if (url == NULL || url[0] == '\0')
        return knd_err_set(err, KND_E_INVALID, "no URL");
    if (strncasecmp(url, "https://", 8) == 0)
        return knd_err_set(err, KND_E_INVALID,
                           "https is not supported, only plain http:// collectors");
    if (strncasecmp(url, "http://", 7) != 0)
        return knd_err_set(err, KND_E_INVALID, "not an http:// URL");
    const char *auth = url + 7;
    size_t alen = strcspn(auth, "/?#");
    if (memchr(auth, '@', alen) != NULL)
        return knd_err_set(err, KND_E_INVALID, "credentials in the URL are not supported");
    if (alen == 0)
        return knd_err_set(err, KND_E_INVALID, "no host");
    const char *hend = NULL;
    if (knd_trace_parse_host(auth, alen, ep, &hend, err) != 0 ||
        knd_trace_parse_port(hend, auth + alen, &ep->port, err) != 0)
        return -1;
    if (alen >= sizeof(ep->host_port))
        return knd_err_set(err, KND_E_INVALID, "host and port longer than %zu characters",
                           sizeof(ep->host_port) - 1);
    memcpy(ep->host_port, auth, alen);
    ep->host_port[alen] = '\0';
    /* The request target: a fragment is the client's business and never sent. */
    const char *path = auth + alen;
    size_t plen = strcspn(path, "#");
    bool slash = path[0] != '/';
    if (plen + slash >= sizeof(ep->path))
        return knd_err_set(err, KND_E_INVALID, "path longer than %zu characters",
                           sizeof(ep->path) - 2);
    for (size_t i = 0; i < plen; i++)
        if ((unsigned char)path[i] <= ' ' || path[i] == 0x7f)
            return knd_err_set(err, KND_E_INVALID, "space or control character in the path");
    snprintf(ep->path, sizeof(ep->path), "%s%.*s", slash ? "/" : "", (int)plen, path);
    return 0;
}
