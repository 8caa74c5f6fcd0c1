/*
 * knd_kube_select.c - Kubernetes label and field selectors (see knd_kube_select.h).
 *
 * Labels follow apimachinery's labels.Parse: a lexer (whitespace separates tokens, "in" and
 * "notin" are keywords except where a value is expected), a recursive-descent parser, label key
 * and value validation, and its error wording so kubectl users see the messages they know.
 * Fields follow fields.ParseSelector: terms split on unescaped commas, the first operator in a
 * term splits it, and values unescape "\,", "\=" and "\\".
 *
 * Ownership: a selector owns all its strings; knd_kube_selector_free releases everything. Match
 * functions borrow the object.
 */
#include "knd_kube_select.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_buf.h"
#include "knd_json.h"

typedef enum {
    KND_KUBE_SEL_EQ = 0, /* = and == */
    KND_KUBE_SEL_NE,
    KND_KUBE_SEL_IN,
    KND_KUBE_SEL_NOTIN,
    KND_KUBE_SEL_EXISTS,
    KND_KUBE_SEL_NOTEXISTS,
    KND_KUBE_SEL_GT,
    KND_KUBE_SEL_LT,
} knd_kube_sel_op_t;

typedef struct {
    char *key; /* owned: label key or dotted field path */
    knd_kube_sel_op_t op;
    char **vals; /* owned; sorted and unique for labels */
    size_t nvals;
} knd_kube_req_t;

struct knd_kube_selector_s {
    bool fields;          /* field selector: keys are paths, missing compares as "" */
    knd_kube_req_t *reqs; /* owned array */
    size_t n;
};

static knd_kube_selector_t *knd_kube_selector_new(bool fields)
{
    knd_kube_selector_t *sel = knd_xcalloc(1, sizeof(*sel));
    sel->fields = fields;
    return sel;
}

static knd_kube_req_t *knd_kube_selector_add(knd_kube_selector_t *sel, char *key,
                                             knd_kube_sel_op_t op)
{
    knd_kube_req_t *r;
    sel->reqs = knd_xrealloc(sel->reqs, (sel->n + 1) * sizeof(*sel->reqs));
    r = &sel->reqs[sel->n++];
    r->key = key;
    r->op = op;
    r->vals = NULL;
    r->nvals = 0;
    return r;
}

static void knd_kube_req_add_value(knd_kube_req_t *r, const char *v, size_t n)
{
    r->vals = knd_xrealloc(r->vals, (r->nvals + 1) * sizeof(*r->vals));
    r->vals[r->nvals++] = knd_xstrndup(v, n);
}

void knd_kube_selector_free(knd_kube_selector_t *sel)
{
    if (!sel)
        return;
    for (size_t i = 0; i < sel->n; i++) {
        free(sel->reqs[i].key);
        for (size_t j = 0; j < sel->reqs[i].nvals; j++)
            free(sel->reqs[i].vals[j]);
        free(sel->reqs[i].vals);
    }
    free(sel->reqs);
    free(sel);
}

/* ---- label key and value validation (apimachinery util/validation wording) ----------------- */

#define KND_KUBE_QNAME_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define KND_KUBE_QNAME_MSG                                                                         \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "    \
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "         \
    "validation is '" KND_KUBE_QNAME_FMT "')"
#define KND_KUBE_LVALUE_MSG                                                                        \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "    \
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "             \
    "'my_value',  or '12345', regex used for validation is '(" KND_KUBE_QNAME_FMT ")?')"
#define KND_KUBE_DNS1123_LABEL_FMT "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define KND_KUBE_DNS1123_MSG                                                                       \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "   \
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "  \
    "for validation is '" KND_KUBE_DNS1123_LABEL_FMT "(\\." KND_KUBE_DNS1123_LABEL_FMT ")*')"

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], possibly empty when `empty_ok`. */
static bool knd_kube_select_is_qname(const char *s, size_t n, bool empty_ok)
{
    if (n == 0)
        return empty_ok;
    if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '-' && c != '_' && c != '.')
            return false;
    }
    return true;
}

static bool knd_kube_select_is_dns1123_subdomain(const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') {
            unsigned char c = (unsigned char)s[i];
            if (!(c >= 'a' && c <= 'z') && !isdigit(c) && c != '-')
                return false;
            continue;
        }
        if (i == start || s[start] == '-' || s[i - 1] == '-')
            return false;
        start = i + 1;
    }
    return n > 0;
}

static void knd_kube_select_sep(knd_buf_t *b)
{
    if (b->len)
        knd_buf_puts(b, "; ");
}

/* IsQualifiedName's messages joined by "; " into b (empty if the key is valid). */
static void knd_kube_select_check_key(const char *k, knd_buf_t *b)
{
    const char *slash = strchr(k, '/');
    const char *name = k;

    if (slash && strchr(slash + 1, '/')) {
        knd_buf_puts(b, "a qualified name " KND_KUBE_QNAME_MSG " with an optional DNS subdomain "
                        "prefix and '/' (e.g. 'example.com/MyName')");
        return;
    }
    if (slash) {
        size_t plen = (size_t)(slash - k);
        name = slash + 1;
        if (plen == 0) {
            knd_buf_puts(b, "prefix part must be non-empty");
        } else {
            if (plen > 253)
                knd_buf_puts(b, "prefix part must be no more than 253 characters");
            if (!knd_kube_select_is_dns1123_subdomain(k, plen)) {
                knd_kube_select_sep(b);
                knd_buf_puts(b, "prefix part " KND_KUBE_DNS1123_MSG);
            }
        }
    }
    if (*name == '\0') {
        knd_kube_select_sep(b);
        knd_buf_puts(b, "name part must be non-empty");
    } else if (strlen(name) > 63) {
        knd_kube_select_sep(b);
        knd_buf_puts(b, "name part must be no more than 63 characters");
    }
    if (!knd_kube_select_is_qname(name, strlen(name), false)) {
        knd_kube_select_sep(b);
        knd_buf_puts(b, "name part " KND_KUBE_QNAME_MSG);
    }
}

static void knd_kube_select_check_value(const char *v, knd_buf_t *b)
{
    if (strlen(v) > 63)
        knd_buf_puts(b, "must be no more than 63 characters");
    if (!knd_kube_select_is_qname(v, strlen(v), true)) {
        knd_kube_select_sep(b);
        knd_buf_puts(b, KND_KUBE_LVALUE_MSG);
    }
}

/* Go's %q, enough for selector text: quotes, backslashes and control bytes escaped. */
static void knd_kube_select_quote(knd_buf_t *b, const char *s)
{
    knd_buf_puts(b, "\"");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            knd_buf_printf(b, "\\%c", *c);
        else if (*c < 0x20 || *c == 0x7f)
            knd_buf_printf(b, "\\x%02x", *c);
        else
            knd_buf_append(b, c, 1);
    }
    knd_buf_puts(b, "\"");
}

/* ---- label lexer --------------------------------------------------------------------------- */

typedef enum {
    KND_KUBE_TOK_END = 0,
    KND_KUBE_TOK_ID,
    KND_KUBE_TOK_IN,
    KND_KUBE_TOK_NOTIN,
    KND_KUBE_TOK_NOT, /* ! */
    KND_KUBE_TOK_EQ,  /* = */
    KND_KUBE_TOK_DEQ, /* == */
    KND_KUBE_TOK_NE,  /* != */
    KND_KUBE_TOK_GT,  /* > */
    KND_KUBE_TOK_LT,  /* < */
    KND_KUBE_TOK_LPAREN,
    KND_KUBE_TOK_RPAREN,
    KND_KUBE_TOK_COMMA,
} knd_kube_tok_type_t;

typedef struct {
    knd_kube_tok_type_t type;
    char *lit; /* owned */
} knd_kube_tok_t;

typedef struct {
    knd_kube_tok_t *v; /* owned, ends with KND_KUBE_TOK_END */
    size_t n, pos;
    knd_kube_selector_t *sel;
    knd_buf_t msg; /* the error, once one happened */
} knd_kube_lp_t;

static bool knd_kube_select_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool knd_kube_select_is_special(char c)
{
    return c != '\0' && strchr("=!(),><", c) != NULL;
}

static void knd_kube_lp_push(knd_kube_lp_t *lp, knd_kube_tok_type_t t, const char *s, size_t n)
{
    lp->v = knd_xrealloc(lp->v, (lp->n + 1) * sizeof(*lp->v));
    lp->v[lp->n].type = t;
    lp->v[lp->n].lit = knd_xstrndup(s, n);
    lp->n++;
}

static void knd_kube_lp_lex(knd_kube_lp_t *lp, const char *s)
{
    for (;;) {
        while (knd_kube_select_is_space(*s))
            s++;
        if (*s == '\0') {
            knd_kube_lp_push(lp, KND_KUBE_TOK_END, "", 0);
            return;
        }
        if (knd_kube_select_is_special(*s)) {
            /* The longest operator wins: "==" and "!=" before "=" and "!". */
            static const struct {
                const char *s;
                knd_kube_tok_type_t t;
            } ops[] = {
                {"==", KND_KUBE_TOK_DEQ},  {"!=", KND_KUBE_TOK_NE},    {"=", KND_KUBE_TOK_EQ},
                {"!", KND_KUBE_TOK_NOT},   {"(", KND_KUBE_TOK_LPAREN}, {")", KND_KUBE_TOK_RPAREN},
                {",", KND_KUBE_TOK_COMMA}, {">", KND_KUBE_TOK_GT},     {"<", KND_KUBE_TOK_LT}};
            for (size_t i = 0; i < KND_ARRAY_SIZE(ops); i++) {
                size_t len = strlen(ops[i].s);
                if (strncmp(s, ops[i].s, len) == 0) {
                    knd_kube_lp_push(lp, ops[i].t, s, len);
                    s += len;
                    break;
                }
            }
            continue;
        }
        {
            size_t len = 0;
            knd_kube_tok_type_t t = KND_KUBE_TOK_ID;
            while (s[len] && !knd_kube_select_is_special(s[len]) &&
                   !knd_kube_select_is_space(s[len]))
                len++;
            if (len == 2 && strncmp(s, "in", 2) == 0)
                t = KND_KUBE_TOK_IN;
            else if (len == 5 && strncmp(s, "notin", 5) == 0)
                t = KND_KUBE_TOK_NOTIN;
            knd_kube_lp_push(lp, t, s, len);
            s += len;
        }
    }
}

/* Where a value or key is expected, the keywords are plain identifiers ("x in (in)"). */
static knd_kube_tok_type_t knd_kube_lp_peek(const knd_kube_lp_t *lp, bool values)
{
    knd_kube_tok_type_t t = lp->v[lp->pos].type;
    if (values && (t == KND_KUBE_TOK_IN || t == KND_KUBE_TOK_NOTIN))
        return KND_KUBE_TOK_ID;
    return t;
}

static const char *knd_kube_lp_lit(const knd_kube_lp_t *lp)
{
    return lp->v[lp->pos].lit;
}

static knd_kube_tok_type_t knd_kube_lp_next(knd_kube_lp_t *lp, bool values, const char **lit)
{
    knd_kube_tok_type_t t = knd_kube_lp_peek(lp, values);
    *lit = lp->v[lp->pos].lit;
    if (t != KND_KUBE_TOK_END)
        lp->pos++;
    return t;
}

static int knd_kube_lp_error(knd_kube_lp_t *lp, const char *lit, const char *expected)
{
    knd_buf_printf(&lp->msg, "unable to parse requirement: found '%s', expected: %s", lit,
                   expected);
    return -1;
}

/* ---- label parser -------------------------------------------------------------------------- */

static int knd_kube_select_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted and deduplicated, as Go's sets.String hands them to NewRequirement. */
static void knd_kube_req_normalize(knd_kube_req_t *r)
{
    size_t o = 0;
    qsort(r->vals, r->nvals, sizeof(*r->vals), knd_kube_select_cmp_str);
    for (size_t i = 0; i < r->nvals; i++) {
        if (o > 0 && strcmp(r->vals[o - 1], r->vals[i]) == 0) {
            free(r->vals[i]);
            continue;
        }
        r->vals[o++] = r->vals[i];
    }
    r->nvals = o;
}

/* "(a,b,,c)": the value list of in/notin, with Go's treatment of empty elements. */
static int knd_kube_lp_values(knd_kube_lp_t *lp, knd_kube_req_t *r)
{
    const char *lit;

    if (knd_kube_lp_next(lp, true, &lit) != KND_KUBE_TOK_LPAREN) {
        knd_buf_printf(&lp->msg, "unable to parse requirement: found '%s' expected: '('", lit);
        return -1;
    }
    switch (knd_kube_lp_peek(lp, true)) {
    case KND_KUBE_TOK_RPAREN:
        knd_kube_lp_next(lp, true, &lit);
        knd_kube_req_add_value(r, "", 0);
        return 0;
    case KND_KUBE_TOK_ID:
    case KND_KUBE_TOK_COMMA: break;
    default: return knd_kube_lp_error(lp, knd_kube_lp_lit(lp), "',', ')' or identifier");
    }
    for (;;) {
        knd_kube_tok_type_t t = knd_kube_lp_next(lp, true, &lit);
        if (t == KND_KUBE_TOK_ID) {
            knd_kube_req_add_value(r, lit, strlen(lit));
            t = knd_kube_lp_peek(lp, true);
            if (t == KND_KUBE_TOK_RPAREN)
                break;
            if (t != KND_KUBE_TOK_COMMA)
                return knd_kube_lp_error(lp, knd_kube_lp_lit(lp), "',' or ')'");
        } else if (t == KND_KUBE_TOK_COMMA) {
            if (r->nvals == 0)
                knd_kube_req_add_value(r, "", 0);
            t = knd_kube_lp_peek(lp, true);
            if (t == KND_KUBE_TOK_RPAREN) {
                knd_kube_req_add_value(r, "", 0);
                break;
            }
            if (t == KND_KUBE_TOK_COMMA) {
                knd_kube_lp_next(lp, true, &lit);
                knd_kube_req_add_value(r, "", 0);
            }
        } else {
            return knd_kube_lp_error(lp, lit, "',', or identifier");
        }
    }
    knd_kube_lp_next(lp, true, &lit); /* the ')' seen above */
    return 0;
}

/* One "<path>: Invalid value: "<v>": <detail>" entry of an aggregate, Go's field.Invalid. */
static void knd_kube_lp_invalid(knd_buf_t *all, size_t *nerr, const char *path, const char *v,
                                const char *detail)
{
    if ((*nerr)++)
        knd_buf_puts(all, ", ");
    knd_buf_printf(all, "%s: Invalid value: ", path);
    knd_kube_select_quote(all, v);
    knd_buf_printf(all, ": %s", detail);
}

/* NewRequirement's checks on the values, in its order and with its field paths: the integer
 * check of gt/lt ("values[0]") before the label value check ("values[0][key]"). */
static int knd_kube_lp_check_values(knd_kube_lp_t *lp, const knd_kube_req_t *r)
{
    knd_buf_t all, one;
    char path[64];
    size_t nerr = 0;
    int rc = 0;

    knd_buf_init(&all);
    knd_buf_init(&one);
    for (size_t i = 0; (r->op == KND_KUBE_SEL_GT || r->op == KND_KUBE_SEL_LT) && i < r->nvals;
         i++) {
        char *end;
        errno = 0;
        (void)strtoll(r->vals[i], &end, 10);
        if (errno || end == r->vals[i] || *end) {
            snprintf(path, sizeof(path), "values[%zu]", i);
            knd_kube_lp_invalid(&all, &nerr, path, r->vals[i],
                                "for 'Gt', 'Lt' operators, the value must be an integer");
        }
    }
    for (size_t i = 0; i < r->nvals; i++) {
        char *kpath;
        knd_buf_reset(&one);
        knd_kube_select_check_value(r->vals[i], &one);
        if (one.len == 0)
            continue;
        kpath = knd_xasprintf("values[%zu][%s]", i, r->key);
        knd_kube_lp_invalid(&all, &nerr, kpath, r->vals[i], knd_buf_cstr(&one));
        free(kpath);
    }
    if (nerr) {
        knd_buf_printf(&lp->msg, "unable to parse requirement: %s%s%s", nerr > 1 ? "[" : "",
                       knd_buf_cstr(&all), nerr > 1 ? "]" : "");
        rc = -1;
    }
    knd_buf_free(&all);
    knd_buf_free(&one);
    return rc;
}

static int knd_kube_lp_operator(knd_kube_lp_t *lp, knd_kube_sel_op_t *op)
{
    const char *lit;
    switch (knd_kube_lp_next(lp, false, &lit)) {
    case KND_KUBE_TOK_IN: *op = KND_KUBE_SEL_IN; return 0;
    case KND_KUBE_TOK_NOTIN: *op = KND_KUBE_SEL_NOTIN; return 0;
    case KND_KUBE_TOK_EQ:
    case KND_KUBE_TOK_DEQ: *op = KND_KUBE_SEL_EQ; return 0;
    case KND_KUBE_TOK_NE: *op = KND_KUBE_SEL_NE; return 0;
    case KND_KUBE_TOK_GT: *op = KND_KUBE_SEL_GT; return 0;
    case KND_KUBE_TOK_LT: *op = KND_KUBE_SEL_LT; return 0;
    default: return knd_kube_lp_error(lp, lit, "in, notin, =, ==, !=, gt, lt");
    }
}

static int knd_kube_lp_requirement(knd_kube_lp_t *lp)
{
    const char *lit;
    knd_kube_tok_type_t t = knd_kube_lp_next(lp, true, &lit);
    bool negated = false;
    knd_kube_sel_op_t op;
    knd_kube_req_t *r;
    knd_buf_t kerr;

    if (t == KND_KUBE_TOK_NOT) {
        negated = true;
        t = knd_kube_lp_next(lp, true, &lit);
    }
    if (t != KND_KUBE_TOK_ID)
        return knd_kube_lp_error(lp, lit, "identifier");
    knd_buf_init(&kerr);
    knd_kube_select_check_key(lit, &kerr);
    if (kerr.len) {
        /* The parser validates the key without a field path: Go prints it as "<nil>". */
        knd_buf_puts(&lp->msg, "unable to parse requirement: <nil>: Invalid value: ");
        knd_kube_select_quote(&lp->msg, lit);
        knd_buf_printf(&lp->msg, ": %s", knd_buf_cstr(&kerr));
        knd_buf_free(&kerr);
        return -1;
    }
    knd_buf_free(&kerr);
    t = knd_kube_lp_peek(lp, true);
    if (negated || t == KND_KUBE_TOK_END || t == KND_KUBE_TOK_COMMA) {
        knd_kube_selector_add(lp->sel, knd_xstrdup(lit),
                              negated ? KND_KUBE_SEL_NOTEXISTS : KND_KUBE_SEL_EXISTS);
        return 0;
    }
    r = knd_kube_selector_add(lp->sel, knd_xstrdup(lit), KND_KUBE_SEL_EQ);
    if (knd_kube_lp_operator(lp, &op) != 0)
        return -1;
    r->op = op;
    if (op == KND_KUBE_SEL_IN || op == KND_KUBE_SEL_NOTIN) {
        if (knd_kube_lp_values(lp, r) != 0)
            return -1;
    } else {
        t = knd_kube_lp_peek(lp, true);
        if (t == KND_KUBE_TOK_END || t == KND_KUBE_TOK_COMMA) {
            knd_kube_req_add_value(r, "", 0);
        } else if (knd_kube_lp_next(lp, true, &lit) == KND_KUBE_TOK_ID) {
            knd_kube_req_add_value(r, lit, strlen(lit));
        } else {
            return knd_kube_lp_error(lp, lit, "identifier");
        }
    }
    knd_kube_req_normalize(r);
    return knd_kube_lp_check_values(lp, r);
}

static int knd_kube_lp_parse(knd_kube_lp_t *lp)
{
    const char *lit;
    knd_kube_tok_type_t t;

    for (;;) {
        t = knd_kube_lp_peek(lp, true);
        if (t == KND_KUBE_TOK_END)
            return 0;
        if (t != KND_KUBE_TOK_ID && t != KND_KUBE_TOK_NOT) {
            knd_buf_printf(&lp->msg, "found '%s', expected: !, identifier, or 'end of string'",
                           knd_kube_lp_lit(lp));
            return -1;
        }
        if (knd_kube_lp_requirement(lp) != 0)
            return -1;
        t = knd_kube_lp_next(lp, true, &lit);
        if (t == KND_KUBE_TOK_END)
            return 0;
        if (t != KND_KUBE_TOK_COMMA) {
            knd_buf_printf(&lp->msg, "found '%s', expected: ',' or 'end of string'", lit);
            return -1;
        }
        t = knd_kube_lp_peek(lp, true);
        if (t != KND_KUBE_TOK_ID && t != KND_KUBE_TOK_NOT) {
            knd_buf_printf(&lp->msg, "found '%s', expected: identifier after ','",
                           knd_kube_lp_lit(lp));
            return -1;
        }
    }
}

knd_kube_selector_t *knd_kube_label_selector_parse(const char *s, knd_err_t *err)
{
    knd_kube_lp_t lp = {0};

    lp.sel = knd_kube_selector_new(false);
    knd_buf_init(&lp.msg);
    if (s)
        knd_kube_lp_lex(&lp, s);
    if (s && knd_kube_lp_parse(&lp) != 0) {
        knd_err_set(err, KND_E_INVALID, "%s", knd_buf_cstr(&lp.msg));
        knd_kube_selector_free(lp.sel);
        lp.sel = NULL;
    }
    for (size_t i = 0; i < lp.n; i++)
        free(lp.v[i].lit);
    free(lp.v);
    knd_buf_free(&lp.msg);
    return lp.sel;
}

/* ---- field selectors ----------------------------------------------------------------------- */

/* fields.UnescapeValue: "\\", "\," and "\=" are the only escapes; bare ',' or '=' are errors. */
static int knd_kube_select_unescape(const char *s, size_t n, knd_buf_t *out, knd_err_t *err)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\') {
            if (i + 1 == n)
                return knd_err_set(err, KND_E_INVALID,
                                   "invalid field selector: invalid escape sequence: \\");
            c = s[++i];
            if (c != '\\' && c != ',' && c != '=')
                return knd_err_set(err, KND_E_INVALID,
                                   "invalid field selector: invalid escape sequence: \\%c", c);
        } else if (c == ',' || c == '=') {
            /* Go prints the rune with %v: its code point. */
            return knd_err_set(err, KND_E_INVALID,
                               "invalid field selector: unescaped character in value: %d", c);
        }
        knd_buf_append(out, &c, 1);
    }
    return 0;
}

static int knd_kube_field_term(knd_kube_selector_t *sel, const char *sel_text, const char *t,
                               size_t n, knd_err_t *err)
{
    knd_buf_t v;
    size_t i;
    size_t oplen = 0;
    knd_kube_sel_op_t op = KND_KUBE_SEL_EQ;
    knd_kube_req_t *r;

    for (i = 0; i < n; i++) {
        if (i + 1 < n && (t[i] == '!' || t[i] == '=') && t[i + 1] == '=') {
            op = t[i] == '!' ? KND_KUBE_SEL_NE : KND_KUBE_SEL_EQ;
            oplen = 2;
            break;
        }
        if (t[i] == '=') {
            oplen = 1;
            break;
        }
    }
    if (oplen == 0)
        return knd_err_set(err, KND_E_INVALID, "invalid selector: '%s'; can't understand '%.*s'",
                           sel_text, (int)n, t);
    /* Unlike label selectors, no spaces: the apiserver looks the label up verbatim in the
     * kind's list of supported field labels, and "metadata.name " is not one of them. */
    if (i == 0 || memchr(t, ' ', i) || memchr(t, '\t', i))
        return knd_err_set(err, KND_E_INVALID, "field label not supported: %.*s", (int)i, t);
    knd_buf_init(&v);
    if (knd_kube_select_unescape(t + i + oplen, n - i - oplen, &v, err) != 0) {
        knd_buf_free(&v);
        return -1;
    }
    r = knd_kube_selector_add(sel, knd_xstrndup(t, i), op);
    knd_kube_req_add_value(r, knd_buf_cstr(&v), v.len);
    knd_buf_free(&v);
    return 0;
}

knd_kube_selector_t *knd_kube_field_selector_parse(const char *s, knd_err_t *err)
{
    knd_kube_selector_t *sel = knd_kube_selector_new(true);
    size_t start = 0;
    bool esc = false;

    if (!s)
        return sel;
    for (size_t i = 0;; i++) {
        if (esc) {
            esc = false;
            if (s[i] != '\0')
                continue;
        }
        if (s[i] == '\\') {
            esc = true;
            continue;
        }
        if (s[i] != ',' && s[i] != '\0')
            continue;
        if (i > start && knd_kube_field_term(sel, s, s + start, i - start, err) != 0) {
            knd_kube_selector_free(sel);
            return NULL;
        }
        if (s[i] == '\0')
            break;
        start = i + 1;
    }
    return sel;
}

/* ---- matching ------------------------------------------------------------------------------ */

/* A field's value as the selector compares it: strings as is, numbers and booleans printed,
 * anything missing (or an object/array) as "". */
static const char *knd_kube_select_field_value(const json_t *obj, const char *path, char *tmp,
                                               size_t tmplen)
{
    json_t *v = knd_json_path(obj, path);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(tmp, tmplen, "%lld", (long long)json_integer_value(v));
        return tmp;
    }
    if (json_is_real(v)) {
        snprintf(tmp, tmplen, "%g", json_real_value(v));
        return tmp;
    }
    if (json_is_boolean(v))
        return json_is_true(v) ? "true" : "false";
    return "";
}

static bool knd_kube_req_has(const knd_kube_req_t *r, const char *v)
{
    for (size_t i = 0; i < r->nvals; i++)
        if (strcmp(r->vals[i], v) == 0)
            return true;
    return false;
}

static bool knd_kube_req_match(const knd_kube_req_t *r, const char *v)
{
    char *end;
    long long have, want;

    switch (r->op) {
    case KND_KUBE_SEL_EQ:
    case KND_KUBE_SEL_IN: return v && knd_kube_req_has(r, v);
    case KND_KUBE_SEL_NE:
    case KND_KUBE_SEL_NOTIN: return !v || !knd_kube_req_has(r, v);
    case KND_KUBE_SEL_EXISTS: return v != NULL;
    case KND_KUBE_SEL_NOTEXISTS: return v == NULL;
    case KND_KUBE_SEL_GT:
    case KND_KUBE_SEL_LT:
        if (!v || r->nvals != 1)
            return false;
        errno = 0;
        have = strtoll(v, &end, 10);
        if (errno || end == v || *end)
            return false;
        want = strtoll(r->vals[0], NULL, 10);
        return r->op == KND_KUBE_SEL_GT ? have > want : have < want;
    }
    return false;
}

bool knd_kube_selector_match(const knd_kube_selector_t *sel, const json_t *obj)
{
    const json_t *labels;

    if (!sel)
        return true;
    labels = knd_json_path(obj, "metadata.labels");
    for (size_t i = 0; i < sel->n; i++) {
        const knd_kube_req_t *r = &sel->reqs[i];
        const char *v;
        char tmp[64];
        if (sel->fields) {
            v = knd_kube_select_field_value(obj, r->key, tmp, sizeof(tmp));
        } else {
            json_t *lv = json_object_get(labels, r->key);
            v = !lv ? NULL : json_is_string(lv) ? json_string_value(lv) : "";
        }
        if (!knd_kube_req_match(r, v))
            return false;
    }
    return true;
}

const char *knd_kube_selector_equals(const knd_kube_selector_t *sel, const char *path)
{
    if (!sel)
        return NULL;
    for (size_t i = 0; i < sel->n; i++) {
        const knd_kube_req_t *r = &sel->reqs[i];
        if (r->op == KND_KUBE_SEL_EQ && r->nvals == 1 && strcmp(r->key, path) == 0)
            return r->vals[0];
    }
    return NULL;
}
