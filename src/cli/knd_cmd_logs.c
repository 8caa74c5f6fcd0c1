/*
 * knd_cmd_logs.c - `knd logs [ksvc] NAME [-f]`: streams the Service's instance output from the
 * daemon to stdout as it arrives (chunked with -f, and then open until interrupted).
 */
#include <stdio.h>
#include <string.h>

#include "knd_cli.h"

enum { KND_LOGS_F_FOLLOW = KND_CLI_F_VERB };

static int knd_logs_sink(void *ud, const char *p, size_t n)
{
    FILE *out = ud;
    if (fwrite(p, 1, n, out) != n || fflush(out) != 0)
        return -1;
    return 0;
}

static int knd_logs_run(const knd_cli_t *cli, const char *name, bool follow)
{
    knd_buf_t path;
    knd_client_resp_t resp;
    int rc = KND_EXIT_OK;
    knd_buf_init(&path);
    knd_client_resp_init(&resp);
    knd_buf_puts(&path, "/apis/knd.dev/v1/namespaces/");
    knd_cli_urlencode(&path, cli->ns);
    knd_buf_puts(&path, "/services/");
    knd_cli_urlencode(&path, name);
    knd_buf_puts(&path, follow ? "/logs?follow=true" : "/logs");
    if (knd_cli_call(cli, "GET", path.p, NULL, knd_logs_sink, stdout, &resp) != 0)
        rc = KND_EXIT_FAIL;
    else if (resp.status == 404 && knd_kind_info(KND_KIND_SERVICE) != NULL)
        rc = knd_cli_print_not_found(knd_kind_info(KND_KIND_SERVICE), name);
    else if (resp.status / 100 != 2)
        rc = knd_cli_print_server_error(&resp);
    knd_client_resp_free(&resp);
    knd_buf_free(&path);
    return rc;
}

int knd_cmd_logs(knd_cli_t *cli, int argc, char **argv)
{
    static const knd_cli_flag_t flags[] = {
        KND_CLI_COMMON_FLAGS, {"follow", 'f', false, KND_LOGS_F_FOLLOW}, {NULL, 0, false, 0}};
    knd_cli_args_t a;
    const char *pos[2] = {NULL, NULL};
    size_t npos = 0;
    bool follow = false;
    int id;

    knd_cli_args_init(&a, argc, argv, 1, flags);
    while ((id = knd_cli_args_next(&a)) != KND_CLI_ARG_END) {
        if (id == KND_CLI_ARG_ERR)
            return knd_cli_usage_error(cli, "%s", a.err);
        if (id == KND_CLI_ARG_POS) {
            if (npos == 2)
                return knd_cli_usage_error(cli, "unexpected argument \"%s\"", a.val);
            pos[npos++] = a.val;
        } else if (id == KND_LOGS_F_FOLLOW) {
            follow = true;
        } else if (!knd_cli_common_flag(cli, id, a.val)) {
            return knd_cli_usage_error(cli, "unexpected argument \"--\"");
        }
    }
    if (cli->help)
        return knd_cli_print_help(cli);
    if (npos == 0)
        return knd_cli_usage_error(cli, "expected a service name");
    if (npos == 2) {
        const knd_kind_info_t *info = knd_cli_kind(pos[0]);
        if (info == NULL || info->kind != KND_KIND_SERVICE)
            return knd_cli_usage_error(cli, "logs are available for services (ksvc) only");
    }
    knd_cli_finish_flags(cli);
    return knd_logs_run(cli, pos[npos - 1], follow);
}
