/*
 * knd_cmd_validate.c - `knd validate -f FILE|DIR|-`: offline validation with the same model code
 * the daemon runs; no daemon needed. Errors go to stderr as `FILE:LINE:COL: path: message`;
 * each clean file gets `FILE: N objects valid` on stdout.
 */
#include <stdlib.h>

#include "knd_alloc.h"
#include "knd_cli.h"

enum { KND_VALIDATE_F_FILE = KND_CLI_F_VERB };

int knd_cmd_validate(knd_cli_t *cli, int argc, char **argv)
{
    static const knd_cli_flag_t flags[] = {
        KND_CLI_COMMON_FLAGS, {"filename", 'f', true, KND_VALIDATE_F_FILE}, {NULL, 0, false, 0}};
    knd_cli_args_t a;
    char **paths = knd_xcalloc((size_t)argc, sizeof(char *));
    size_t npaths = 0;
    knd_cli_files_t files = {0};
    int rc = KND_EXIT_OK, id;

    knd_cli_args_init(&a, argc, argv, 1, flags);
    while ((id = knd_cli_args_next(&a)) != KND_CLI_ARG_END) {
        if (id == KND_CLI_ARG_ERR) {
            rc = knd_cli_usage_error(cli, "%s", a.err);
            goto out;
        } else if (id == KND_VALIDATE_F_FILE || id == KND_CLI_ARG_POS) {
            paths[npaths++] = (char *)a.val;
        } else if (!knd_cli_common_flag(cli, id, a.val)) {
            rc = knd_cli_usage_error(cli, "unexpected argument \"--\"");
            goto out;
        }
    }
    if (cli->help) {
        rc = knd_cli_print_help(cli);
        goto out;
    }
    if (npaths == 0) {
        rc = knd_cli_usage_error(cli, "must specify one of -f");
        goto out;
    }
    rc = knd_cli_load_files(paths, npaths, &files);
    for (size_t i = 0; i < files.n; i++) {
        knd_buf_t errs;
        knd_buf_init(&errs);
        const knd_cli_file_t *f = &files.v[i];
        if (f->failed)
            continue;
        if (knd_cli_validate_file(f, &errs) > 0) {
            fputs(knd_buf_cstr(&errs), stderr);
            rc = KND_EXIT_INVALID;
        } else {
            printf("%s: %zu objects valid\n", f->display, f->ndocs);
        }
        knd_buf_free(&errs);
    }

out:
    knd_cli_files_free(&files);
    free(paths);
    return rc;
}
