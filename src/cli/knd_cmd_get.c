/*
 * knd_cmd_get.c - `knd get KIND [NAME...] [-n NS] [-A] [-l SEL] [-o json|yaml|wide|name]`:
 * lists or reads objects and prints them as kubectl/kn do. Columns are described per kind by a
 * table of (header, getter); the objects come from the API as JSON and are only read here.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "knd_alloc.h"
#include "knd_cli.h"
#include "knd_json.h"
#include "knd_output.h"

enum {
    KND_GET_F_ALL = KND_CLI_F_VERB,
    KND_GET_F_OUTPUT,
    KND_GET_F_SELECTOR,
};

typedef enum {
    KND_GET_TABLE = 0,
    KND_GET_WIDE,
    KND_GET_JSON,
    KND_GET_YAML,
    KND_GET_NAME,
} knd_get_mode_t;

typedef struct {
    knd_get_mode_t mode;
    bool all_ns;
    const char *selector;
    const knd_kind_info_t *info;
} knd_get_opts_t;

/* ---- fetching and printing ---------------------------------------------------------------- */

/* Appends the named objects to items; returns the worst exit code. */
static int knd_get_named(const knd_cli_t *cli, const knd_get_opts_t *o, char **names,
                         size_t nnames, json_t *items)
{
    int rc = KND_EXIT_OK;
    for (size_t i = 0; i < nnames; i++) {
        json_t *obj = NULL;
        int r = knd_cli_get_object(cli, o->info, cli->ns, names[i], &obj);
        if (r < 0)
            return KND_EXIT_FAIL;
        if (r > rc)
            rc = r;
        if (obj != NULL)
            json_array_append_new(items, obj);
    }
    return rc;
}

static int knd_get_list(const knd_cli_t *cli, const knd_get_opts_t *o, json_t *items)
{
    json_t *list = NULL;
    int rc = knd_cli_list_objects(cli, o->info, o->all_ns ? NULL : cli->ns, o->selector, &list);
    if (rc != KND_EXIT_OK)
        return rc;
    json_array_extend(items, json_object_get(list, "items"));
    json_decref(list);
    return KND_EXIT_OK;
}

static void knd_get_print(const knd_cli_t *cli, const knd_get_opts_t *o, json_t *items,
                          bool single)
{
    knd_buf_t out;
    size_t i;
    json_t *item;
    knd_buf_init(&out);
    if (o->mode == KND_GET_JSON || o->mode == KND_GET_YAML) {
        json_t *doc = single ? json_incref(json_array_get(items, 0))
                             : json_pack("{s:s, s:O, s:s, s:{s:s}}", "apiVersion", "v1", "items",
                                         items, "kind", "List", "metadata", "resourceVersion", "");
        if (o->mode == KND_GET_JSON)
            knd_output_json(doc, &out);
        else
            knd_output_yaml(doc, &out);
        json_decref(doc);
    } else if (json_array_size(items) == 0) {
        if (o->all_ns || !o->info->namespaced)
            fprintf(stderr, "No resources found\n");
        else
            fprintf(stderr, "No resources found in %s namespace.\n", cli->ns);
    } else if (o->mode == KND_GET_NAME) {
        json_array_foreach(items, i, item) {
            knd_output_name(&out, o->info, knd_json_str(item, "metadata.name", ""));
            knd_buf_puts(&out, "\n");
        }
    } else {
        knd_output_objects_table(o->info, items, o->mode == KND_GET_WIDE, o->all_ns, time(NULL), &out);
    }
    fputs(knd_buf_cstr(&out), stdout);
    knd_buf_free(&out);
}

static int knd_get_parse_output(const char *v, knd_get_mode_t *mode)
{
    static const struct {
        const char *name;
        knd_get_mode_t mode;
    } modes[] = {{"wide", KND_GET_WIDE}, {"json", KND_GET_JSON}, {"yaml", KND_GET_YAML},
                 {"name", KND_GET_NAME}};
    for (size_t i = 0; i < KND_ARRAY_SIZE(modes); i++)
        if (strcmp(v, modes[i].name) == 0) {
            *mode = modes[i].mode;
            return 0;
        }
    return -1;
}

int knd_cmd_get(knd_cli_t *cli, int argc, char **argv)
{
    static const knd_cli_flag_t flags[] = {
        KND_CLI_COMMON_FLAGS,
        {"all-namespaces", 'A', false, KND_GET_F_ALL},
        {"output", 'o', true, KND_GET_F_OUTPUT},
        {"selector", 'l', true, KND_GET_F_SELECTOR},
        {NULL, 0, false, 0}};
    knd_get_opts_t o = {0};
    knd_cli_args_t a;
    char **pos = knd_xcalloc((size_t)argc, sizeof(char *));
    size_t npos = 0;
    json_t *items = json_array();
    int rc = KND_EXIT_OK, id;

    knd_cli_args_init(&a, argc, argv, 1, flags);
    while ((id = knd_cli_args_next(&a)) != KND_CLI_ARG_END) {
        if (id == KND_CLI_ARG_ERR) {
            rc = knd_cli_usage_error(cli, "%s", a.err);
            goto out;
        } else if (id == KND_CLI_ARG_POS) {
            pos[npos++] = (char *)a.val;
        } else if (id == KND_GET_F_ALL) {
            o.all_ns = true;
        } else if (id == KND_GET_F_SELECTOR) {
            o.selector = a.val;
        } else if (id == KND_GET_F_OUTPUT) {
            if (knd_get_parse_output(a.val, &o.mode) != 0) {
                rc = knd_cli_usage_error(cli, "unable to match a printer suitable for the output "
                                              "format \"%s\", allowed formats are: json,name,"
                                              "wide,yaml", a.val);
                goto out;
            }
        } else if (!knd_cli_common_flag(cli, id, a.val)) {
            rc = knd_cli_usage_error(cli, "unexpected argument \"--\"");
            goto out;
        }
    }
    if (cli->help) {
        rc = knd_cli_print_help(cli);
        goto out;
    }
    if (npos == 0) {
        rc = knd_cli_usage_error(cli, "you must specify the type of resource to get");
        goto out;
    }
    o.info = knd_cli_kind(pos[0]);
    if (o.info == NULL) {
        rc = knd_cli_usage_error(cli, "the server doesn't have a resource type \"%s\"", pos[0]);
        goto out;
    }
    if (npos > 1 && o.all_ns) {
        rc = knd_cli_usage_error(cli, "a resource cannot be retrieved by name across all "
                                      "namespaces");
        goto out;
    }
    knd_cli_finish_flags(cli);
    rc = npos > 1 ? knd_get_named(cli, &o, pos + 1, npos - 1, items) : knd_get_list(cli, &o, items);
    if (npos == 1 ? rc == KND_EXIT_OK : json_array_size(items) > 0)
        knd_get_print(cli, &o, items, npos == 2);

out:
    json_decref(items);
    free(pos);
    return rc;
}
