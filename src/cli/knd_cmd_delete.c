/*
 * knd_cmd_delete.c - `knd delete KIND NAME [NAME...]` and `knd delete -f FILE|DIR|-`: one DELETE
 * per object, kubectl's `service.serving.knative.dev "hello" deleted` per success. The daemon
 * stops the instances of what it deletes; this verb only asks.
 */
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_cli.h"
#include "knd_json.h"
#include "knd_output.h"
#include "knd_yaml.h"

enum {
    KND_DELETE_F_FILE = KND_CLI_F_VERB,
    KND_DELETE_F_IGNORE_NOT_FOUND,
};

#define KND_DELETE_UNREACHABLE (-1)

/* Returns an exit code, or KND_DELETE_UNREACHABLE. */
static int knd_delete_one(const knd_cli_t *cli, const knd_kind_info_t *info, const char *ns,
                          const char *name, bool ignore_not_found)
{
    knd_buf_t path, ref;
    knd_client_resp_t resp;
    int rc = KND_EXIT_OK;
    knd_buf_init(&path);
    knd_buf_init(&ref);
    knd_client_resp_init(&resp);
    knd_cli_path(&path, info, ns, name);
    if (knd_cli_call(cli, "DELETE", path.p, NULL, NULL, NULL, &resp) != 0) {
        rc = KND_DELETE_UNREACHABLE;
    } else if (resp.status == 404) {
        if (!ignore_not_found)
            rc = knd_cli_print_not_found(info, name);
    } else if (resp.status / 100 != 2) {
        rc = knd_cli_print_server_error(&resp);
    } else {
        knd_output_kind_ref(&ref, info);
        printf("%s \"%s\" deleted\n", ref.p, name);
        fflush(stdout);
    }
    knd_client_resp_free(&resp);
    knd_buf_free(&path);
    knd_buf_free(&ref);
    return rc;
}

static int knd_delete_files(const knd_cli_t *cli, char **paths, size_t npaths, bool ignore)
{
    knd_cli_files_t files;
    int rc = knd_cli_load_files(paths, npaths, &files);
    for (size_t i = 0; rc == KND_EXIT_OK && i < files.n; i++) {
        const knd_cli_file_t *f = &files.v[i];
        for (size_t d = 0; d < f->ndocs; d++) {
            const json_t *root = f->docs[d].root;
            const char *av = knd_json_str(root, "apiVersion", ""), *k = knd_json_str(root, "kind", "");
            const knd_kind_info_t *info = knd_kind_lookup(av, k);
            const char *name = knd_json_str(root, "metadata.name", NULL);
            int r;
            if (info == NULL || name == NULL) {
                fprintf(stderr, "error: unable to recognize \"%s\": no matches for kind \"%s\" in "
                        "version \"%s\"\n", f->display, k, av);
                r = KND_EXIT_INVALID;
            } else {
                r = knd_delete_one(cli, info, knd_json_str(root, "metadata.namespace", cli->ns),
                                   name, ignore);
            }
            if (r == KND_DELETE_UNREACHABLE) {
                knd_cli_files_free(&files);
                return KND_EXIT_FAIL;
            }
            if (r > rc)
                rc = r;
        }
    }
    knd_cli_files_free(&files);
    return rc;
}

int knd_cmd_delete(knd_cli_t *cli, int argc, char **argv)
{
    static const knd_cli_flag_t flags[] = {
        KND_CLI_COMMON_FLAGS,
        {"filename", 'f', true, KND_DELETE_F_FILE},
        {"ignore-not-found", 0, false, KND_DELETE_F_IGNORE_NOT_FOUND},
        {NULL, 0, false, 0}};
    knd_cli_args_t a;
    char **paths = knd_xcalloc((size_t)argc, sizeof(char *));
    char **pos = knd_xcalloc((size_t)argc, sizeof(char *));
    size_t npaths = 0, npos = 0;
    bool ignore = false;
    int rc = KND_EXIT_OK, id;

    knd_cli_args_init(&a, argc, argv, 1, flags);
    while ((id = knd_cli_args_next(&a)) != KND_CLI_ARG_END) {
        if (id == KND_CLI_ARG_ERR) {
            rc = knd_cli_usage_error(cli, "%s", a.err);
            goto out;
        } else if (id == KND_CLI_ARG_POS) {
            pos[npos++] = (char *)a.val;
        } else if (id == KND_DELETE_F_FILE) {
            paths[npaths++] = (char *)a.val;
        } else if (id == KND_DELETE_F_IGNORE_NOT_FOUND) {
            ignore = true;
        } else if (!knd_cli_common_flag(cli, id, a.val)) {
            rc = knd_cli_usage_error(cli, "unexpected argument \"--\"");
            goto out;
        }
    }
    if (cli->help) {
        rc = knd_cli_print_help(cli);
        goto out;
    }
    knd_cli_finish_flags(cli);
    if (npaths > 0) {
        if (npos > 0)
            rc = knd_cli_usage_error(cli, "cannot use both -f and resource names");
        else
            rc = knd_delete_files(cli, paths, npaths, ignore);
        goto out;
    }
    if (npos < 2) {
        rc = knd_cli_usage_error(cli, npos ? "resource name(s) required"
                                           : "you must specify the type of resource to delete");
        goto out;
    }
    const knd_kind_info_t *info = knd_cli_kind(pos[0]);
    if (info == NULL) {
        rc = knd_cli_usage_error(cli, "the server doesn't have a resource type \"%s\"", pos[0]);
        goto out;
    }
    for (size_t i = 1; i < npos; i++) {
        int r = knd_delete_one(cli, info, cli->ns, pos[i], ignore);
        if (r == KND_DELETE_UNREACHABLE) {
            rc = KND_EXIT_FAIL;
            break;
        }
        if (r > rc)
            rc = r;
    }

out:
    free(paths);
    free(pos);
    return rc;
}
