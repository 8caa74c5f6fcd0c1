/*
 * knd_template.c - the Go text/template subset of knd_template.h. Templates are a few dozen
 * bytes and rendered per Route reconcile, so the engine parses while it renders; no AST is kept.
 */
#include "knd_template.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define KND_TMPL_ACTION_MAX 256

static inline int tmpl_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static const char *knd_tmpl_type_name(knd_tmpl_kind_t kind)
{
    switch (kind) {
    case KND_TMPL_DOMAIN:
        return "config.DomainTemplateValues";
    case KND_TMPL_TAG:
        return "config.TagTemplateValues";
    case KND_TMPL_OBJECTMETA:
        return "v1.ObjectMeta";
    }
    return "?";
}

/* The string value of field `f` for this kind; *exists = 0 if Go's type has no such field,
 * *is_map = 1 for Labels/Annotations (which cannot be printed as a host part). */
static const char *knd_tmpl_field(knd_tmpl_kind_t kind, const knd_tmpl_vals_t *v, const char *f,
                                  int *exists, int *is_map)
{
    *exists = 1;
    *is_map = 0;
    if (strcmp(f, "Name") == 0)
        return v->name;
    if (strcmp(f, "Namespace") == 0 && kind != KND_TMPL_TAG)
        return v->ns;
    if (strcmp(f, "Domain") == 0 && kind == KND_TMPL_DOMAIN)
        return v->domain;
    if (strcmp(f, "Tag") == 0 && kind == KND_TMPL_TAG)
        return v->tag;
    if (strcmp(f, "GenerateName") == 0 && kind == KND_TMPL_OBJECTMETA)
        return "";
    if ((strcmp(f, "Labels") == 0 || strcmp(f, "Annotations") == 0) && kind != KND_TMPL_TAG) {
        *is_map = 1;
        return NULL;
    }
    *exists = 0;
    return NULL;
}

static int knd_tmpl_is_ident(const char *s)
{
    if (!isalpha((unsigned char)*s) && *s != '_')
        return 0;
    for (s++; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

/* Splits an action into at most 4 tokens; a quoted token keeps its quotes. Returns the count,
 * or -1 on an unterminated quote. The tokens point into `buf`, which is modified. */
static int knd_tmpl_tokenize(char *buf, char *tok[4])
{
    int n = 0;
    char *p = buf;
    while (*p) {
        while (tmpl_is_space(*p))
            *p++ = '\0';
        if (!*p)
            break;
        if (n == 4)
            return 5;
        tok[n++] = p;
        if (*p == '"' || *p == '`') {
            char q = *p++;
            while (*p && *p != q)
                p += (*p == '\\' && q == '"' && p[1]) ? 2 : 1;
            if (*p != q)
                return -1;
            p++;
        } else {
            while (*p && !tmpl_is_space(*p))
                p++;
        }
    }
    return n;
}

/* Unquotes a Go string literal token into out (simple escapes only). */
static void knd_tmpl_unquote(const char *tok, char *out, size_t outlen)
{
    char q = tok[0];
    size_t n = 0;
    for (const char *p = tok + 1; *p && *p != q && n + 1 < outlen; p++) {
        if (q == '"' && *p == '\\' && p[1])
            p++;
        out[n++] = *p;
    }
    out[n] = '\0';
}

static int knd_tmpl_unsupported(const char *tname, const char *action, char *err, size_t errlen)
{
    snprintf(err, errlen,
             "template: %s: unsupported action \"{{%s}}\" (knd supports .Name, .Namespace, "
             ".Domain, .Tag and index .Labels \"key\")",
             tname, action);
    return -1;
}

static int knd_tmpl_eval(const char *action, const char *tname, knd_tmpl_kind_t kind,
                         const knd_tmpl_vals_t *v, knd_buf_t *out, char *err, size_t errlen,
                         int *uses_labels)
{
    char buf[KND_TMPL_ACTION_MAX];
    char *tok[4] = {NULL, NULL, NULL, NULL};
    int exists, is_map;
    snprintf(buf, sizeof(buf), "%s", action);
    int n = knd_tmpl_tokenize(buf, tok);
    if (n == 0) {
        snprintf(err, errlen, "template: %s:1: missing value for command", tname);
        return -1;
    }
    if (n < 0) {
        snprintf(err, errlen, "template: %s:1: unterminated quoted string", tname);
        return -1;
    }
    if (n == 1 && tok[0][0] == '.' && knd_tmpl_is_ident(tok[0] + 1)) {
        const char *val = knd_tmpl_field(kind, v, tok[0] + 1, &exists, &is_map);
        if (!exists) {
            snprintf(err, errlen,
                     "template: %s:1: executing \"%s\" at <%s>: can't evaluate field %s in type %s",
                     tname, tname, tok[0], tok[0] + 1, knd_tmpl_type_name(kind));
            return -1;
        }
        if (is_map)
            return knd_tmpl_unsupported(tname, action, err, errlen);
        knd_buf_puts(out, val ? val : "");
        return 0;
    }
    if (n == 3 && strcmp(tok[0], "index") == 0 && tok[1][0] == '.' &&
        knd_tmpl_is_ident(tok[1] + 1) && (tok[2][0] == '"' || tok[2][0] == '`')) {
        knd_tmpl_field(kind, v, tok[1] + 1, &exists, &is_map);
        if (!exists) {
            snprintf(err, errlen,
                     "template: %s:1: executing \"%s\" at <%s>: can't evaluate field %s in type %s",
                     tname, tname, tok[1], tok[1] + 1, knd_tmpl_type_name(kind));
            return -1;
        }
        /* Annotations are not passed to host computation: reject rather than render "". */
        if (!is_map || strcmp(tok[1], ".Labels") != 0)
            return knd_tmpl_unsupported(tname, action, err, errlen);
        char key[KND_TMPL_ACTION_MAX];
        knd_tmpl_unquote(tok[2], key, sizeof(key));
        json_t *lv = json_is_object(v->labels) ? json_object_get(v->labels, key) : NULL;
        /* Go's index on a map yields the zero value for a missing key. */
        knd_buf_puts(out, json_is_string(lv) ? json_string_value(lv) : "");
        if (uses_labels)
            *uses_labels = 1;
        return 0;
    }
    return knd_tmpl_unsupported(tname, action, err, errlen);
}

int knd_tmpl_render(const char *tmpl, const char *tname, knd_tmpl_kind_t kind,
                    const knd_tmpl_vals_t *v, knd_buf_t *out, char *err, size_t errlen,
                    int *uses_labels)
{
    const char *s = tmpl;
    int trim_next = 0;
    err[0] = '\0';
    knd_buf_append(out, "", 0); /* storage exists and is terminated, even for "" */
    while (*s) {
        const char *open = strstr(s, "{{");
        size_t tlen = open ? (size_t)(open - s) : strlen(s);
        const char *text = s;
        int ltrim = open && open[2] == '-' && tmpl_is_space(open[3]);
        if (trim_next)
            while (tlen > 0 && tmpl_is_space(*text))
                text++, tlen--;
        if (ltrim)
            while (tlen > 0 && tmpl_is_space(text[tlen - 1]))
                tlen--;
        knd_buf_append(out, text, tlen);
        if (!open)
            break;
        const char *body = open + 2 + (ltrim ? 1 : 0);
        const char *close = strstr(body, "}}");
        if (!close) {
            snprintf(err, errlen, "template: %s:1: unclosed action", tname);
            return -1;
        }
        const char *bend = close;
        trim_next = 0;
        if (bend - body >= 2 && bend[-1] == '-' && tmpl_is_space(bend[-2])) {
            trim_next = 1;
            bend--;
        }
        while (body < bend && tmpl_is_space(*body))
            body++;
        while (bend > body && tmpl_is_space(bend[-1]))
            bend--;
        char action[KND_TMPL_ACTION_MAX];
        if ((size_t)(bend - body) >= sizeof(action)) {
            snprintf(err, errlen, "template: %s:1: action too long", tname);
            return -1;
        }
        memcpy(action, body, (size_t)(bend - body));
        action[bend - body] = '\0';
        if (knd_tmpl_eval(action, tname, kind, v, out, err, errlen, uses_labels) != 0)
            return -1;
        s = close + 2;
    }
    return 0;
}
