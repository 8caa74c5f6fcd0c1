/*
 * knd_cli_args.c - the pure helpers of the CLI (see knd_cli.h): the table-driven argv parser
 * every verb uses, and API paths. They only read their arguments, so verbs and tests share them.
 * Flags and positionals may be mixed in any order, as kubectl allows (`knd get ksvc hello -n x`).
 */
#include <stdio.h>
#include <string.h>

#include "knd_cli.h"

void knd_cli_args_init(knd_cli_args_t *a, int argc, char **argv, int first,
                       const knd_cli_flag_t *flags)
{
    memset(a, 0, sizeof(*a));
    a->argc = argc;
    a->argv = argv;
    a->i = first;
    a->flags = flags;
}

static const knd_cli_flag_t *knd_cli_args_find_long(const knd_cli_flag_t *f, const char *name,
                                                    size_t n)
{
    for (; f->name != NULL; f++)
        if (strlen(f->name) == n && strncmp(f->name, name, n) == 0)
            return f;
    return NULL;
}

static const knd_cli_flag_t *knd_cli_args_find_short(const knd_cli_flag_t *f, char c)
{
    for (; f->name != NULL; f++)
        if (f->short_name != 0 && f->short_name == c)
            return f;
    return NULL;
}

/* Takes the flag's value from `inline_val` (after '=' or glued to a short flag) or argv. */
static int knd_cli_args_value(knd_cli_args_t *a, const knd_cli_flag_t *f, const char *inline_val,
                              const char *spelled)
{
    if (!f->has_arg) {
        if (inline_val != NULL) {
            snprintf(a->err, sizeof(a->err), "flag %s does not take a value", spelled);
            return KND_CLI_ARG_ERR;
        }
        a->val = NULL;
        return f->id;
    }
    if (inline_val != NULL) {
        a->val = inline_val;
        return f->id;
    }
    if (a->i >= a->argc) {
        snprintf(a->err, sizeof(a->err), "flag needs an argument: %s", spelled);
        return KND_CLI_ARG_ERR;
    }
    a->val = a->argv[a->i++];
    return f->id;
}

int knd_cli_args_next(knd_cli_args_t *a)
{
    a->val = NULL;
    if (a->i >= a->argc)
        return KND_CLI_ARG_END;
    const char *arg = a->argv[a->i++];
    if (a->dashdash || arg[0] != '-' || arg[1] == '\0') {
        a->val = arg;
        return KND_CLI_ARG_POS;
    }
    if (strcmp(arg, "--") == 0) {
        a->dashdash = true;
        return KND_CLI_ARG_DASHDASH;
    }
    if (arg[1] == '-') {
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t n = eq ? (size_t)(eq - name) : strlen(name);
        const knd_cli_flag_t *f = knd_cli_args_find_long(a->flags, name, n);
        if (f == NULL) {
            snprintf(a->err, sizeof(a->err), "unknown flag: --%.*s", (int)n, name);
            return KND_CLI_ARG_ERR;
        }
        return knd_cli_args_value(a, f, eq ? eq + 1 : NULL, arg);
    }
    const knd_cli_flag_t *f = knd_cli_args_find_short(a->flags, arg[1]);
    if (f == NULL) {
        snprintf(a->err, sizeof(a->err), "unknown shorthand flag: '%c' in %s", arg[1], arg);
        return KND_CLI_ARG_ERR;
    }
    const char *rest = arg[2] == '\0' ? NULL : arg + 2;
    if (rest != NULL && *rest == '=')
        rest++;
    char spelled[4] = {'-', arg[1], '\0', '\0'};
    return knd_cli_args_value(a, f, rest, spelled);
}

/* ---- API paths ---------------------------------------------------------------------------- */

void knd_cli_urlencode(knd_buf_t *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~')
            knd_buf_append(out, p, 1);
        else
            knd_buf_printf(out, "%%%02X", *p);
    }
}

void knd_cli_path(knd_buf_t *out, const knd_kind_info_t *info, const char *ns, const char *name)
{
    if (info->group == NULL || info->group[0] == '\0')
        knd_buf_printf(out, "/api/%s", info->version);
    else
        knd_buf_printf(out, "/apis/%s/%s", info->group, info->version);
    if (info->namespaced && ns != NULL) {
        knd_buf_puts(out, "/namespaces/");
        knd_cli_urlencode(out, ns);
    }
    knd_buf_printf(out, "/%s", info->resource);
    if (name != NULL) {
        knd_buf_puts(out, "/");
        knd_cli_urlencode(out, name);
    }
}
