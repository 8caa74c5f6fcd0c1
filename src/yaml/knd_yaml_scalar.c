/*
 * knd_yaml_scalar.c - what a YAML scalar means, decided exactly as Kubernetes decides it.
 *
 * kubectl and the API server turn YAML into JSON with sigs.k8s.io/yaml, which decodes with
 * go-yaml v2 (YAML 1.1 flavour) and then re-encodes as JSON. A manifest that works there must
 * mean the same here, so this file follows go-yaml v2's resolver rather than YAML 1.2:
 *
 *   - only plain (unquoted, untagged) scalars are typed; quoted and block scalars are strings;
 *   - a fixed table: y Y yes Yes YES true True TRUE on On ON -> true; n N no No NO false False
 *     FALSE off Off OFF -> false; "" ~ null Null NULL -> null; .inf/.nan spellings -> float;
 *     a plain `<<` is the merge key;
 *   - otherwise, when the first character is a digit or a sign: drop every '_', then an integer
 *     in Go's base-0 syntax (decimal, 0x.., 0o.., 0b.., and a leading 0 meaning octal: 017 = 15),
 *     first as int64, then as uint64; then a decimal float matching
 *     [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? unless it overflows (so "08" is 8.0
 *     and "1e400" stays a string); when the first character is '.', a float like ".5";
 *   - everything else is a string (timestamps too: go-yaml v2 keeps them as text);
 *   - explicit tags !!str !!int !!bool !!float !!null force the type, and a value that does not
 *     resolve to the tag is an error ("cannot decode !!str `abc` as a !!int"); !!float accepts
 *     an integer.
 *
 * Pure functions (they allocate only a scratch copy of very long numbers).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_yaml_int.h"

#define KND_YAML_TAG_PREFIX "tag:yaml.org,2002:"

typedef struct {
    const char *word;
    knd_yaml_skind_t kind;
    int b;
    double d;
} knd_yaml_word_t;

/* go-yaml v2's resolve map, entry for entry. */
static const knd_yaml_word_t knd_yaml_words[] = {
    {"y", KND_YAML_S_BOOL, 1, 0},       {"Y", KND_YAML_S_BOOL, 1, 0},
    {"yes", KND_YAML_S_BOOL, 1, 0},     {"Yes", KND_YAML_S_BOOL, 1, 0},
    {"YES", KND_YAML_S_BOOL, 1, 0},     {"true", KND_YAML_S_BOOL, 1, 0},
    {"True", KND_YAML_S_BOOL, 1, 0},    {"TRUE", KND_YAML_S_BOOL, 1, 0},
    {"on", KND_YAML_S_BOOL, 1, 0},      {"On", KND_YAML_S_BOOL, 1, 0},
    {"ON", KND_YAML_S_BOOL, 1, 0},      {"n", KND_YAML_S_BOOL, 0, 0},
    {"N", KND_YAML_S_BOOL, 0, 0},       {"no", KND_YAML_S_BOOL, 0, 0},
    {"No", KND_YAML_S_BOOL, 0, 0},      {"NO", KND_YAML_S_BOOL, 0, 0},
    {"false", KND_YAML_S_BOOL, 0, 0},   {"False", KND_YAML_S_BOOL, 0, 0},
    {"FALSE", KND_YAML_S_BOOL, 0, 0},   {"off", KND_YAML_S_BOOL, 0, 0},
    {"Off", KND_YAML_S_BOOL, 0, 0},     {"OFF", KND_YAML_S_BOOL, 0, 0},
    {"", KND_YAML_S_NULL, 0, 0},        {"~", KND_YAML_S_NULL, 0, 0},
    {"null", KND_YAML_S_NULL, 0, 0},    {"Null", KND_YAML_S_NULL, 0, 0},
    {"NULL", KND_YAML_S_NULL, 0, 0},    {".nan", KND_YAML_S_FLOAT, 0, NAN},
    {".NaN", KND_YAML_S_FLOAT, 0, NAN}, {".NAN", KND_YAML_S_FLOAT, 0, NAN},
    {".inf", KND_YAML_S_FLOAT, 0, INFINITY},   {".Inf", KND_YAML_S_FLOAT, 0, INFINITY},
    {".INF", KND_YAML_S_FLOAT, 0, INFINITY},   {"+.inf", KND_YAML_S_FLOAT, 0, INFINITY},
    {"+.Inf", KND_YAML_S_FLOAT, 0, INFINITY},  {"+.INF", KND_YAML_S_FLOAT, 0, INFINITY},
    {"-.inf", KND_YAML_S_FLOAT, 0, -INFINITY}, {"-.Inf", KND_YAML_S_FLOAT, 0, -INFINITY},
    {"-.INF", KND_YAML_S_FLOAT, 0, -INFINITY}, {"<<", KND_YAML_S_MERGE, 0, 0},
};

/* The explicit tags we honour; anything else is refused rather than silently reinterpreted. */
typedef enum {
    KND_YAML_T_NONE = 0,
    KND_YAML_T_STR,
    KND_YAML_T_INT,
    KND_YAML_T_BOOL,
    KND_YAML_T_FLOAT,
    KND_YAML_T_NULL,
    KND_YAML_T_OTHER,
} knd_yaml_tag_t;

static knd_yaml_tag_t knd_yaml_scalar_tag(const char *tag)
{
    static const struct {
        const char *name;
        knd_yaml_tag_t t;
    } tags[] = {{"str", KND_YAML_T_STR},     {"int", KND_YAML_T_INT},
                {"bool", KND_YAML_T_BOOL},   {"float", KND_YAML_T_FLOAT},
                {"null", KND_YAML_T_NULL}};
    size_t plen = strlen(KND_YAML_TAG_PREFIX);

    if (tag == NULL)
        return KND_YAML_T_NONE;
    if (strcmp(tag, "!") == 0) /* the non-specific tag: "not typed", i.e. a string */
        return KND_YAML_T_STR;
    if (strncmp(tag, KND_YAML_TAG_PREFIX, plen) != 0)
        return KND_YAML_T_OTHER;
    for (size_t i = 0; i < KND_ARRAY_SIZE(tags); i++)
        if (strcmp(tag + plen, tags[i].name) == 0)
            return tags[i].t;
    return KND_YAML_T_OTHER;
}

static const char *knd_yaml_kind_name(knd_yaml_skind_t k)
{
    switch (k) {
    case KND_YAML_S_NULL:
        return "!!null";
    case KND_YAML_S_BOOL:
        return "!!bool";
    case KND_YAML_S_INT:
    case KND_YAML_S_UINT:
        return "!!int";
    case KND_YAML_S_FLOAT:
        return "!!float";
    case KND_YAML_S_MERGE:
        return "!!merge";
    default:
        return "!!str";
    }
}

static int knd_yaml_digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return 99;
}

/*
 * Go's strconv.ParseUint(s, 0, 64) on an already underscore-free, sign-free string: returns 0
 * and the value, or -1 on bad syntax or overflow.
 */
static int knd_yaml_parse_uint(const char *s, size_t len, unsigned long long *out)
{
    unsigned base = 10;
    unsigned long long v = 0;

    if (len >= 2 && s[0] == '0') {
        char p = s[1];
        if (p == 'x' || p == 'X')
            base = 16, s += 2, len -= 2;
        else if (p == 'o' || p == 'O')
            base = 8, s += 2, len -= 2;
        else if (p == 'b' || p == 'B')
            base = 2, s += 2, len -= 2;
        else
            base = 8, s += 1, len -= 1;
    }
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)knd_yaml_digit_value(s[i]);
        if (d >= base)
            return -1;
        if (v > (UINT64_MAX - d) / base)
            return -1;
        v = v * base + d;
    }
    *out = v;
    return 0;
}

/* The decimal-float shape go-yaml v2 accepts (see the file comment), anchored at both ends. */
static int knd_yaml_is_float_syntax(const char *s, size_t len)
{
    size_t i = 0, digits = 0;

    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            digits++;
        if (digits == 0)
            return 0;
    } else {
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            digits++;
        if (digits == 0)
            return 0;
        if (i < len && s[i] == '.')
            for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
                ;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t edigits = 0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            edigits++;
        if (edigits == 0)
            return 0;
    }
    return i == len;
}

/* strtod on a validated float literal; -1 when it overflows (Go's ParseFloat range error). */
static int knd_yaml_parse_float(const char *s, size_t len, double *out)
{
    char buf[128];

    if (len >= sizeof(buf)) {
        /* Long literals are legal; strtod needs a NUL, so copy to the heap only then. */
        char *tmp = knd_xstrndup(s, len);
        *out = strtod(tmp, NULL);
        free(tmp);
    } else {
        memcpy(buf, s, len);
        buf[len] = '\0';
        *out = strtod(buf, NULL);
    }
    return isinf(*out) ? -1 : 0;
}

/* The digit/sign branch of the resolver: integers, then floats. Returns 1 if resolved. */
static int knd_yaml_resolve_number(const char *s, size_t len, knd_yaml_scalar_t *out)
{
    char stack[128], *plain = stack;
    size_t n = 0;
    int resolved = 0;
    unsigned long long u;

    if (len >= sizeof(stack)) {
        plain = knd_xmalloc(len + 1);
    }
    for (size_t i = 0; i < len; i++)
        if (s[i] != '_')
            plain[n++] = s[i];
    plain[n] = '\0';

    int neg = n > 0 && plain[0] == '-';
    int sign = n > 0 && (plain[0] == '-' || plain[0] == '+');
    if (knd_yaml_parse_uint(plain + sign, n - (size_t)sign, &u) == 0) {
        if (neg && u <= (unsigned long long)INT64_MAX + 1) {
            out->kind = KND_YAML_S_INT;
            out->i = u == (unsigned long long)INT64_MAX + 1 ? INT64_MIN : -(long long)u;
            resolved = 1;
        } else if (!neg && u <= INT64_MAX) {
            out->kind = KND_YAML_S_INT;
            out->i = (long long)u;
            resolved = 1;
        } else if (!sign) { /* ParseUint takes no sign at all, not even '+' */
            out->kind = KND_YAML_S_UINT;
            out->u = u;
            resolved = 1;
        }
    }
    if (!resolved && knd_yaml_is_float_syntax(plain, n) &&
        knd_yaml_parse_float(plain, n, &out->d) == 0) {
        out->kind = KND_YAML_S_FLOAT;
        resolved = 1;
    }
    if (plain != stack)
        free(plain);
    return resolved;
}

/* Untagged-or-typed resolution of the text itself (go-yaml v2's resolve() body). */
static void knd_yaml_resolve_text(const char *s, size_t len, knd_yaml_scalar_t *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = KND_YAML_S_STR;

    char c = len ? s[0] : 'N';
    int hint_map = strchr("yYnNtTfFoO~", c) != NULL && c != '\0';
    int hint_num = (c >= '0' && c <= '9') || c == '+' || c == '-';
    int hint_dot = c == '.';
    if (!hint_map && !hint_num && !hint_dot && !(len == 2 && s[0] == '<' && s[1] == '<'))
        return;

    for (size_t i = 0; i < KND_ARRAY_SIZE(knd_yaml_words); i++) {
        const knd_yaml_word_t *w = &knd_yaml_words[i];
        if (strlen(w->word) == len && memcmp(w->word, s, len) == 0) {
            out->kind = w->kind;
            out->b = w->b;
            out->d = w->d;
            return;
        }
    }
    if (hint_dot) {
        /* ParseFloat on text starting with '.': only the ".5" / ".5e3" shapes parse. */
        if (knd_yaml_is_float_syntax(s, len) && knd_yaml_parse_float(s, len, &out->d) == 0)
            out->kind = KND_YAML_S_FLOAT;
        return;
    }
    if (hint_num)
        knd_yaml_resolve_number(s, len, out);
}

int knd__yaml_resolve(const char *tag, int plain, const char *s, size_t len,
                      knd_yaml_scalar_t *out, char *msg, size_t msgsz)
{
    knd_yaml_tag_t t = knd_yaml_scalar_tag(tag);

    memset(out, 0, sizeof(*out));
    out->kind = KND_YAML_S_STR;
    if (t == KND_YAML_T_OTHER) {
        snprintf(msg, msgsz, "unsupported tag \"%.100s\"", tag);
        return -1;
    }
    if (t == KND_YAML_T_STR || (t == KND_YAML_T_NONE && !plain))
        return 0;
    knd_yaml_resolve_text(s, len, out);
    if (t == KND_YAML_T_NONE)
        return 0;

    knd_yaml_skind_t want = t == KND_YAML_T_INT     ? KND_YAML_S_INT
                            : t == KND_YAML_T_BOOL  ? KND_YAML_S_BOOL
                            : t == KND_YAML_T_FLOAT ? KND_YAML_S_FLOAT
                                                    : KND_YAML_S_NULL;
    if (out->kind == want || (want == KND_YAML_S_INT && out->kind == KND_YAML_S_UINT))
        return 0;
    if (want == KND_YAML_S_FLOAT && out->kind == KND_YAML_S_INT) {
        out->d = (double)out->i;
        out->kind = KND_YAML_S_FLOAT;
        return 0;
    }
    if (want == KND_YAML_S_FLOAT && out->kind == KND_YAML_S_UINT) {
        out->d = (double)out->u;
        out->kind = KND_YAML_S_FLOAT;
        return 0;
    }
    snprintf(msg, msgsz, "cannot decode %s `%.*s` as a %s", knd_yaml_kind_name(out->kind),
             len > 100 ? 100 : (int)len, s, knd_yaml_kind_name(want));
    return -1;
}

/*
 * sigs.k8s.io/yaml writes float keys with Go's FormatFloat(f, 'g', -1, 32): the shortest
 * digits that round-trip a float32, exponent form when the exponent is < -4 or >= 6.
 */
void knd__yaml_float_key(double d, char *buf, size_t n)
{
    float f = (float)d;
    char tmp[64];
    int prec;

    if (isnan(f)) {
        snprintf(buf, n, ".nan");
        return;
    }
    if (isinf(f)) {
        snprintf(buf, n, "%s", f > 0 ? ".inf" : "-.inf");
        return;
    }
    for (prec = 1; prec < 9; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, (double)f);
        if (strtof(tmp, NULL) == f)
            break;
    }
    snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, (double)f);
    int exp = atoi(strchr(tmp, 'e') + 1);
    if (exp < -4 || exp >= 6) {
        snprintf(buf, n, "%s", tmp);
        return;
    }
    int frac = prec - 1 - exp;
    snprintf(buf, n, "%.*f", frac > 0 ? frac : 0, (double)f);
}
