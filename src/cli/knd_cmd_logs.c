/*
 * knd_cmd_logs.c - `knd logs [ksvc] NAME [-f] [--tail N] [--since DUR] [--timestamps]
 * [--instance ID]`: streams the Service's instance output from the daemon to stdout as it
 * arrives (chunked with -f, and then open until interrupted). The flags are kubectl's and map
 * to the Kubernetes pod-log query parameters (tailLines, sinceSeconds, timestamps).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_cli.h"
#include "knd_time.h"

enum {
    KND_LOGS_F_FOLLOW = KND_CLI_F_VERB,
    KND_LOGS_F_TAIL,
    KND_LOGS_F_SINCE,
    KND_LOGS_F_TIMESTAMPS,
    KND_LOGS_F_INSTANCE,
};

typedef struct {
    bool follow, timestamps;
    const char *tail, *instance;
    long long since_s; /* 0 = all */
} knd_logs_opts_t;

static int knd_logs_sink(void *ud, const char *p, size_t n)
{
    FILE *out = ud;
    if (fwrite(p, 1, n, out) != n || fflush(out) != 0)
        return -1;
    return 0;
}

static int knd_logs_run(const knd_cli_t *cli, const char *name, const knd_logs_opts_t *o)
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
    knd_buf_printf(&path, "/logs?follow=%s&timestamps=%s", o->follow ? "true" : "false",
                   o->timestamps ? "true" : "false");
    if (o->tail)
        knd_buf_printf(&path, "&tailLines=%s", o->tail);
    if (o->since_s > 0)
        knd_buf_printf(&path, "&sinceSeconds=%lld", o->since_s);
    if (o->instance) {
        knd_buf_puts(&path, "&instance=");
        knd_cli_urlencode(&path, o->instance);
    }
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
    static const knd_cli_flag_t flags[] = {KND_CLI_COMMON_FLAGS,
                                           {"follow", 'f', false, KND_LOGS_F_FOLLOW},
                                           {"tail", 0, true, KND_LOGS_F_TAIL},
                                           {"since", 0, true, KND_LOGS_F_SINCE},
                                           {"timestamps", 0, false, KND_LOGS_F_TIMESTAMPS},
                                           {"instance", 0, true, KND_LOGS_F_INSTANCE},
                                           {NULL, 0, false, 0}};
    knd_logs_opts_t o = {0};
    knd_cli_args_t a;
    const char *pos[2] = {NULL, NULL};
    size_t npos = 0;
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
            o.follow = true;
        } else if (id == KND_LOGS_F_TIMESTAMPS) {
            o.timestamps = true;
        } else if (id == KND_LOGS_F_INSTANCE) {
            o.instance = a.val;
        } else if (id == KND_LOGS_F_TAIL) {
            char *end;
            long n = strtol(a.val, &end, 10);
            if (*end || n < 0)
                return knd_cli_usage_error(cli, "--tail: expected a number of lines, got \"%s\"",
                                           a.val);
            o.tail = a.val;
        } else if (id == KND_LOGS_F_SINCE) {
            int64_t ms;
            if (knd_time_parse_duration_ms(a.val, &ms) < 0 || ms <= 0)
                return knd_cli_usage_error(cli, "--since: expected a duration like 5m, got \"%s\"",
                                           a.val);
            o.since_s = (ms + 999) / 1000;
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
    return knd_logs_run(cli, pos[npos - 1], &o);
}
