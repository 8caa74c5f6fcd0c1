/*
 * knd_validate_util.c - shared pieces of validation (see knd_validate_int.h): Knative-style paths
 * and messages, the table-driven field checker, and the small parsers Kubernetes and Knative
 * apply to strings (Go durations, quantities, image references, DNS names).
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_naming.h"
#include "knd_time.h"
#include "knd_validate_int.h"

/* ------------------------------------------------------------------------------------------ */
/* paths and errors                                                                            */
/* ------------------------------------------------------------------------------------------ */

/* Appends s at *len, truncating at the buffer's end. */
static void knd_vutil_append(char *out, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (n > KND_VPATH_MAX - 1 - *len)
        n = KND_VPATH_MAX - 1 - *len;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
}

void knd__vpath(char out[KND_VPATH_MAX], const char *base, const char *field)
{
    size_t len = 0;
    out[0] = '\0';
    knd_vutil_append(out, &len, base ? base : "");
    if (field == NULL || *field == '\0')
        return;
    if (len > 0 && field[0] != '[')
        knd_vutil_append(out, &len, ".");
    knd_vutil_append(out, &len, field);
}

void knd__vpathf(char out[KND_VPATH_MAX], const char *base, const char *fmt, ...)
{
    char field[KND_VPATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(field, sizeof(field), fmt, ap);
    va_end(ap);
    knd__vpath(out, base, field);
}

void knd__verr(knd_vctx_t *c, const char *base, const char *field, const char *fmt, ...)
{
    char path[KND_VPATH_MAX];
    char *msg = NULL;
    va_list ap;
    knd__vpath(path, base, field);
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    knd_errlist_add(c->errs, path, "%s", msg ? msg : "(out of memory)");
    free(msg);
}

static int knd_vutil_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void knd__verr_multi(knd_vctx_t *c, const char *base, const char *const *fields, size_t n,
                     const char *msg)
{
    char **paths = knd_xcalloc(n, sizeof(*paths));
    char joined[KND_VPATH_MAX * 2] = "";
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        char p[KND_VPATH_MAX];
        knd__vpath(p, base, fields[i]);
        paths[i] = knd_xstrdup(p);
    }
    qsort(paths, n, sizeof(*paths), knd_vutil_cmp_str);
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(joined + len, sizeof(joined) - len, "%s%s", i ? ", " : "", paths[i]);
        if (w > 0 && (size_t)w < sizeof(joined) - len)
            len += (size_t)w;
        free(paths[i]);
    }
    free(paths);
    knd_errlist_add(c->errs, joined, "%s", msg);
}

void knd__verr_bounds(knd_vctx_t *c, const char *base, const char *field, long long v,
                      long long lo, long long hi)
{
    knd__verr(c, base, field, "expected %lld <= %lld <= %lld", lo, v, hi);
}

void knd__vfmt_float(char out[32], double v)
{
    /* strconv.FormatFloat(v, 'g', -1, 64): the shortest digits that round-trip, in exponent
     * form only when the exponent is < -4 or >= 6 (Go's %v for float64). */
    int prec = 1;
    char e[32];
    for (; prec < 17; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec - 1, v);
        if (strtod(e, NULL) == v)
            break;
    }
    snprintf(e, sizeof(e), "%.*e", prec - 1, v);
    int exp = atoi(strchr(e, 'e') + 1);
    if (exp < -4 || exp >= 6)
        snprintf(out, 32, "%s", e);
    else
        snprintf(out, 32, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, v);
}

/* ------------------------------------------------------------------------------------------ */
/* the field checker                                                                           */
/* ------------------------------------------------------------------------------------------ */

/* Knative's defaults (config/features.go) for flags the platform may not list. */
static const struct {
    const char *name;
    knd_feature_state_t state;
} knd_vutil_feature_defaults[] = {
    {"multi-container", KND_FEATURE_ENABLED},
    {"kubernetes.podspec-volumes-emptydir", KND_FEATURE_ENABLED},
};

knd_feature_state_t knd__vfeature(const knd_vctx_t *c, const char *name)
{
    if (c->p != NULL) {
        for (int i = 0; i < c->p->nfeatures && i < KND_FEATURES_MAX; i++)
            if (strcmp(c->p->features[i].name, name) == 0)
                return c->p->features[i].state;
    }
    for (size_t i = 0; i < KND_ARRAY_SIZE(knd_vutil_feature_defaults); i++)
        if (strcmp(knd_vutil_feature_defaults[i].name, name) == 0)
            return knd_vutil_feature_defaults[i].state;
    return KND_FEATURE_DISABLED;
}

bool knd__vis_set(const json_t *v)
{
    if (v == NULL)
        return false;
    switch (json_typeof(v)) {
    case JSON_NULL:
    case JSON_FALSE:
        return false;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0;
    case JSON_STRING:
        return json_string_length(v) != 0;
    case JSON_ARRAY:
        return json_array_size(v) != 0;
    case JSON_OBJECT:
        return json_object_size(v) != 0;
    default:
        return true;
    }
}

const char *knd__vtype_name(const json_t *v)
{
    if (v == NULL)
        return "null";
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

static bool knd_vutil_type_ok(const json_t *v, unsigned types)
{
    if (types == 0 || json_is_null(v))
        return true;
    if ((types & KND_VT_STR) && json_is_string(v))
        return true;
    if ((types & (KND_VT_INT | KND_VT_NUM)) && json_is_integer(v))
        return true;
    if ((types & KND_VT_NUM) && json_is_real(v))
        return true;
    if ((types & KND_VT_BOOL) && json_is_boolean(v))
        return true;
    if ((types & KND_VT_OBJ) && json_is_object(v))
        return true;
    return (types & KND_VT_ARR) && json_is_array(v);
}

static const char *knd_vutil_want_name(unsigned types)
{
    if (types & KND_VT_OBJ)
        return "object";
    if (types & KND_VT_ARR)
        return "array";
    if (types & KND_VT_BOOL)
        return "boolean";
    if (types == KND_VT_INTSTR)
        return "integer or string";
    if (types & KND_VT_INT)
        return "integer";
    if (types & KND_VT_NUM)
        return "number";
    return "string";
}

/* The structural-schema type error Kubernetes returns for a CRD field of the wrong type. */
static void knd_vutil_type_err(knd_vctx_t *c, const char *path, const json_t *v, unsigned types)
{
    const char *got = knd__vtype_name(v);
    knd_errlist_add(c->errs, path, "Invalid value: \"%s\": %s in body must be of type %s: \"%s\"",
                    got, path, knd_vutil_want_name(types), got);
}

bool knd__vfields(knd_vctx_t *c, const json_t *obj, const char *path, const knd_vfield_t *tab,
                  size_t n)
{
    const char *key;
    json_t *v;
    if (!json_is_object(obj)) {
        knd_vutil_type_err(c, path, obj, KND_VT_OBJ);
        return false;
    }
    json_object_foreach((json_t *)obj, key, v) {
        char p[KND_VPATH_MAX];
        const knd_vfield_t *f = NULL;
        knd__vpath(p, path, key);
        for (size_t i = 0; i < n; i++) {
            if (strcmp(tab[i].name, key) == 0) {
                f = &tab[i];
                break;
            }
        }
        if (f == NULL) {
            knd_errlist_add(c->errs, p, "unknown field \"%s\"", p);
            continue;
        }
        if (f->feature != NULL &&
            (f->feature[0] == '\0' || knd__vfeature(c, f->feature) == KND_FEATURE_DISABLED)) {
            if (knd__vis_set(v))
                knd_errlist_add(c->errs, p, "must not set the field(s)");
            continue;
        }
        if (!knd_vutil_type_ok(v, f->types))
            knd_vutil_type_err(c, p, v, f->types);
    }
    return true;
}

/* ------------------------------------------------------------------------------------------ */
/* parsers                                                                                     */
/* ------------------------------------------------------------------------------------------ */

int knd__vparse_duration(const char *s, double *out_s)
{
    return knd_time_parse_duration_s(s, out_s);
}

void knd__vfmt_duration(char out[32], double s)
{
    /* Only used for Knative's whole-second bounds (0s, 6s, 1h0m0s). */
    long long t = (long long)llround(s);
    if (t == 0) {
        snprintf(out, 32, "0s");
        return;
    }
    const char *sign = t < 0 ? "-" : "";
    if (t < 0)
        t = -t;
    if (t >= 3600)
        snprintf(out, 32, "%s%lldh%lldm%llds", sign, t / 3600, (t % 3600) / 60, t % 60);
    else if (t >= 60)
        snprintf(out, 32, "%s%lldm%llds", sign, t / 60, t % 60);
    else
        snprintf(out, 32, "%s%llds", sign, t);
}

bool knd__vparse_quantity(const char *s, double *out)
{
    /* resource.ParseQuantity: sign, digits with an optional fraction, then an optional binary
     * suffix (Ki..Ei), decimal SI suffix (n u m "" k M G T P E) or decimal exponent. */
    static const struct {
        const char *sfx;
        double mul;
    } sfx[] = {{"Ki", 1024.0},
               {"Mi", 1048576.0},
               {"Gi", 1073741824.0},
               {"Ti", 1099511627776.0},
               {"Pi", 1125899906842624.0},
               {"Ei", 1152921504606846976.0},
               {"n", 1e-9},
               {"u", 1e-6},
               {"m", 1e-3},
               {"k", 1e3},
               {"M", 1e6},
               {"G", 1e9},
               {"T", 1e12},
               {"P", 1e15},
               {"E", 1e18},
               {"", 1}};
    const char *p = s;
    bool digits = false;
    if (*p == '+' || *p == '-')
        p++;
    while (isdigit((unsigned char)*p)) {
        p++;
        digits = true;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            p++;
            digits = true;
        }
    }
    if (!digits)
        return false;
    double num = strtod(s, NULL), mul = 0;
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1;
        if (*q == '+' || *q == '-')
            q++;
        if (!isdigit((unsigned char)*q))
            return false;
        while (isdigit((unsigned char)*q))
            q++;
        if (*q != '\0')
            return false;
        mul = pow(10, strtod(p + 1, NULL));
    } else {
        for (size_t i = 0; i < KND_ARRAY_SIZE(sfx); i++) {
            if (strcmp(p, sfx[i].sfx) == 0) {
                mul = sfx[i].mul;
                break;
            }
        }
        if (mul == 0)
            return false;
    }
    if (out != NULL)
        *out = num * mul;
    return true;
}

static bool knd_vutil_repo_component_ok(const char *s, size_t n)
{
    /* [a-z0-9]+(?:[._-][a-z0-9]+)*, with "__" and runs of "-" allowed as Docker does. */
    if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!(islower((unsigned char)ch) || isdigit((unsigned char)ch) || ch == '.' ||
              ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

bool knd__vimage_ref_ok(const char *s)
{
    char buf[1024];
    size_t len = strlen(s);
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, s, len + 1);
    char *at = strchr(buf, '@');
    if (at != NULL) {
        *at = '\0';
        const char *d = at + 1;
        const char *colon = strchr(d, ':');
        if (colon == NULL || colon == d || strlen(colon + 1) < 32)
            return false;
        for (const char *q = colon + 1; *q; q++)
            if (!isxdigit((unsigned char)*q))
                return false;
    }
    char *slash = strrchr(buf, '/');
    char *colon = strrchr(buf, ':');
    if (colon != NULL && (slash == NULL || colon > slash)) {
        /* A tag: [\w][\w.-]{0,127}. */
        const char *tag = colon + 1;
        size_t tl = strlen(tag);
        if (tl == 0 || tl > 128 || tag[0] == '.' || tag[0] == '-')
            return false;
        for (const char *q = tag; *q; q++)
            if (!isalnum((unsigned char)*q) && *q != '_' && *q != '.' && *q != '-')
                return false;
        *colon = '\0';
    }
    if (buf[0] == '\0')
        return false;
    /* The first component is a registry if it looks like a host (has '.' or ':' or is
     * localhost); with WeakValidation anything else is a repository path. */
    char *repo = buf;
    char *first = strchr(buf, '/');
    if (first != NULL) {
        size_t hl = (size_t)(first - buf);
        bool host = memchr(buf, '.', hl) || memchr(buf, ':', hl) ||
                    (hl == 9 && strncmp(buf, "localhost", 9) == 0);
        if (host) {
            for (size_t i = 0; i < hl; i++)
                if (!isalnum((unsigned char)buf[i]) && buf[i] != '.' && buf[i] != '-' &&
                    buf[i] != ':' && buf[i] != '[' && buf[i] != ']')
                    return false;
            repo = first + 1;
        }
    }
    if (*repo == '\0' || strlen(repo) > 255)
        return false;
    for (char *p = repo;;) {
        char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (!knd_vutil_repo_component_ok(p, n))
            return false;
        if (e == NULL)
            break;
        p = e + 1;
    }
    return true;
}

static bool knd_vutil_label_key_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

bool knd__vqualified_name(const char *s)
{
    const char *slash = strchr(s, '/');
    if (slash == NULL)
        return knd_vutil_label_key_name_ok(s, strlen(s));
    if (strchr(slash + 1, '/') != NULL || slash == s)
        return false;
    char prefix[256];
    size_t pl = (size_t)(slash - s);
    if (pl >= sizeof(prefix))
        return false;
    memcpy(prefix, s, pl);
    prefix[pl] = '\0';
    return knd_is_dns1123_subdomain(prefix) && knd_vutil_label_key_name_ok(slash + 1,
                                                                            strlen(slash + 1));
}

static void knd_vutil_msgs(char *out, size_t n, size_t len, size_t max, bool regex_ok,
                           const char *regex_msg)
{
    char maxmsg[64] = "";
    if (len > max)
        snprintf(maxmsg, sizeof(maxmsg), "must be no more than %zu characters", max);
    snprintf(out, n, "[%s%s%s]", maxmsg, (maxmsg[0] && !regex_ok) ? " " : "",
             regex_ok ? "" : regex_msg);
}

void knd__vdns1035_msgs(const char *s, char *out, size_t n)
{
    /* IsDNS1035Label checks the regex on its own, so a long but well-formed name gets only
     * the length message. */
    char trimmed[KND_NAME_MAX + 1];
    size_t len = strlen(s);
    bool ok = knd_is_dns1035_label(s);
    if (!ok && len > KND_NAME_MAX) {
        /* knd_is_dns1035_label also fails on length: check the regex on a shortened copy
         * keeping the first and last characters. */
        memcpy(trimmed, s, KND_NAME_MAX - 1);
        trimmed[KND_NAME_MAX - 1] = s[len - 1];
        trimmed[KND_NAME_MAX] = '\0';
        bool middle_ok = true;
        for (size_t i = 0; i < len; i++)
            if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
                middle_ok = false;
        ok = middle_ok && knd_is_dns1035_label(trimmed);
    }
    knd_vutil_msgs(out, n, len, KND_NAME_MAX, ok,
                   "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                   "start with an alphabetic character, and end with an alphanumeric character "
                   "(e.g. 'my-name',  or 'abc-123', regex used for validation is "
                   "'[a-z]([-a-z0-9]*[a-z0-9])?')");
}

void knd__vdns1123_label_msgs(const char *s, char *out, size_t n)
{
    size_t len = strlen(s);
    bool ok = len > 0 && isalnum((unsigned char)s[0]) && isalnum((unsigned char)s[len - 1]);
    for (size_t i = 0; ok && i < len; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
            ok = false;
    knd_vutil_msgs(out, n, len, KND_NAME_MAX, ok,
                   "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                   "characters or '-', and must start and end with an alphanumeric character "
                   "(e.g. 'my-name',  or '123-abc', regex used for validation is "
                   "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
}

void knd__vdns1123_subdomain_msgs(const char *s, char *out, size_t n)
{
    size_t len = strlen(s);
    bool ok = true;
    const char *p = s;
    do {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (l == 0 || !isalnum((unsigned char)p[0]) || !isalnum((unsigned char)p[l - 1]))
            ok = false;
        for (size_t i = 0; ok && i < l; i++)
            if (!islower((unsigned char)p[i]) && !isdigit((unsigned char)p[i]) && p[i] != '-')
                ok = false;
        p = dot ? dot + 1 : NULL;
    } while (ok && p != NULL);
    knd_vutil_msgs(out, n, len, 253, ok,
                   "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                   "characters, '-' or '.', and must start and end with an alphanumeric "
                   "character (e.g. 'example.com', regex used for validation is "
                   "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
}
