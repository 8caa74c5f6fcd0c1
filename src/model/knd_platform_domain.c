/*
 * knd_platform_domain.c - reads one config-domain value. Knative unmarshals each value as YAML
 * into {selector: map[string]string, type: string}. knd_model stays free of libyaml, so this is a
 * strict reader of exactly the shapes Knative documents, plus JSON (which is YAML too):
 *
 *   ""                          the catch-all domain
 *   selector:\n  app: foo\n     one `key: value` per indented line ('...' / "..." quotes allowed)
 *   selector: {}                empty selector (catch-all)
 *   type: wildcard              accepted and ignored, like any other top-level scalar key
 *   {"selector": {"app": "foo"}}
 *
 * Comments (#) and blank lines are skipped. Anything else is an error, worded like the YAML
 * library's, so a ConfigMap knd accepts means the same as in Knative.
 */
#include <stdio.h>
#include <string.h>

#include "knd_platform_int.h"

#define KND_DOMAIN_LINE_MAX 512

static void knd_platform_domain_trim(char *s)
{
    size_t n = strlen(s), i = 0;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    while (s[i] == ' ' || s[i] == '\t')
        i++;
    memmove(s, s + i, n - i + 1);
}

static void knd_platform_domain_unquote(char *s)
{
    size_t n = strlen(s);
    if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
        memmove(s, s + 1, n - 2);
        s[n - 2] = '\0';
    }
}

/* Drops a trailing " # comment" that is outside quotes. */
static void knd_platform_domain_strip_comment(char *s)
{
    char q = 0;
    for (char *p = s; *p; p++) {
        if (q) {
            if (*p == q)
                q = 0;
        } else if (*p == '"' || *p == '\'') {
            q = *p;
        } else if (*p == '#' && (p == s || p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            return;
        }
    }
}

static int knd_platform_domain_json(const char *text, json_t **selector, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr), *sel;
    const char *k;
    json_t *v;
    if (!json_is_object(root)) {
        snprintf(err, errlen, "error converting YAML to JSON: %s",
                 root ? "value is not a mapping" : jerr.text);
        json_decref(root);
        return -1;
    }
    sel = json_object_get(root, "selector");
    if (sel != NULL && !json_is_null(sel) && !json_is_object(sel)) {
        snprintf(err, errlen, "json: cannot unmarshal selector into Go struct field "
                              "domainInternalConfig.selector of type map[string]string");
        json_decref(root);
        return -1;
    }
    *selector = json_object();
    json_object_foreach(json_is_object(sel) ? sel : NULL, k, v)
    {
        if (!json_is_string(v)) {
            snprintf(err, errlen, "json: cannot unmarshal selector value for \"%s\" into Go "
                                  "value of type string", k);
            json_decref(*selector);
            json_decref(root);
            *selector = NULL;
            return -1;
        }
        json_object_set(*selector, k, v);
    }
    json_decref(root);
    return 0;
}

/* One `key: value` line: splits at the first ": " (or a final ':'). */
static int knd_platform_domain_split(char *line, char **key, char **val)
{
    char *colon = line;
    while ((colon = strchr(colon, ':')) != NULL) {
        if (colon[1] == '\0' || colon[1] == ' ' || colon[1] == '\t')
            break;
        colon++;
    }
    if (colon == NULL)
        return -1;
    *colon = '\0';
    *key = line;
    *val = colon + 1;
    knd_platform_domain_trim(*key);
    knd_platform_domain_trim(*val);
    knd_platform_domain_unquote(*key);
    return 0;
}

static int knd_platform_domain_line(char *line, int lineno, int *in_selector, json_t *sel, char *err,
                           size_t errlen)
{
    char *key, *val;
    int indent = (int)strspn(line, " ");
    if (line[indent] == '\t') {
        snprintf(err, errlen, "error converting YAML to JSON: yaml: line %d: found character "
                              "that cannot start any token", lineno);
        return -1;
    }
    knd_platform_domain_strip_comment(line);
    knd_platform_domain_trim(line);
    if (line[0] == '\0')
        return 0;
    if (knd_platform_domain_split(line, &key, &val) != 0) {
        snprintf(err, errlen, "error converting YAML to JSON: yaml: line %d: could not find "
                              "expected ':'", lineno);
        return -1;
    }
    if ((val[0] != '"' && val[0] != '\'' && strstr(val, ": ")) ||
        (val[0] && val[strlen(val) - 1] == ':')) {
        snprintf(err, errlen, "error converting YAML to JSON: yaml: line %d: mapping values are "
                              "not allowed in this context", lineno);
        return -1;
    }
    if (indent == 0) {
        *in_selector = 0;
        if (strcmp(key, "selector") != 0)
            return 0; /* "type" and unknown keys: ignored, as a non-strict unmarshal does */
        if (val[0] == '\0' || strcmp(val, "{}") == 0) {
            *in_selector = val[0] == '\0';
            return 0;
        }
        snprintf(err, errlen, "selector: knd reads one `key: value` per indented line under "
                              "`selector:` (or JSON)");
        return -1;
    }
    if (!*in_selector) {
        snprintf(err, errlen, "error converting YAML to JSON: yaml: line %d: did not find "
                              "expected key", lineno);
        return -1;
    }
    if (val[0] == '\0') {
        snprintf(err, errlen, "json: cannot unmarshal object into Go struct field "
                              "domainInternalConfig.selector of type string");
        return -1;
    }
    knd_platform_domain_unquote(val);
    json_object_set_new(sel, key, json_string(val));
    return 0;
}

int knd__platform_domain_selector(const char *text, json_t **selector, char *err, size_t errlen)
{
    const char *s = text;
    int lineno = 0, in_selector = 0;
    *selector = NULL;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    if (*s == '{')
        return knd_platform_domain_json(s, selector, err, errlen);
    json_t *sel = json_object();
    s = text;
    while (*s) {
        char line[KND_DOMAIN_LINE_MAX];
        size_t n = strcspn(s, "\n");
        lineno++;
        if (n >= sizeof(line)) {
            snprintf(err, errlen, "line %d is too long", lineno);
            json_decref(sel);
            return -1;
        }
        memcpy(line, s, n);
        line[n] = '\0';
        s += n + (s[n] == '\n');
        if (knd_platform_domain_line(line, lineno, &in_selector, sel, err, errlen) != 0) {
            json_decref(sel);
            return -1;
        }
    }
    *selector = sel;
    return 0;
}
