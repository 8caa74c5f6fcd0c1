/*
 * knd_cmd_top.c - `knd top`: a live view of every revision's traffic, polled from the daemon's
 * stats (GET /apis/knd.dev/v1/stats) every interval. Rates and percentiles come from the
 * difference between two polls (knd_top_math.c). On a terminal the screen is redrawn in place;
 * otherwise (a pipe, a file) one table or, with -o json, one JSON line is printed per interval.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "knd_cli.h"
#include "knd_time.h"
#include "knd_top_math.h"

#define KND_TOP_STATS_PATH "/apis/knd.dev/v1/stats"

enum {
    KND_TOP_F_ALL = KND_CLI_F_VERB,
    KND_TOP_F_INTERVAL,
    KND_TOP_F_OUTPUT,
    KND_TOP_F_ONCE,
};

typedef struct {
    bool all_ns, json, once, tty;
    int64_t interval_ms;
} knd_top_opts_t;

/* One poll into snap. Returns 0, or an exit code after reporting the failure. */
static int knd_top_poll(const knd_cli_t *cli, const knd_top_opts_t *o, knd_top_snap_t *snap)
{
    knd_client_resp_t resp;
    json_t *doc = NULL;
    char err[256];
    int rc = KND_EXIT_OK;
    knd_client_resp_init(&resp);
    if (knd_cli_call(cli, "GET", KND_TOP_STATS_PATH, NULL, NULL, NULL, &resp) != 0) {
        rc = KND_EXIT_FAIL;
        goto out;
    }
    if (resp.status / 100 != 2) {
        rc = knd_cli_print_server_error(&resp);
        goto out;
    }
    doc = json_loadb(resp.body.p ? resp.body.p : "", resp.body.len, 0, NULL);
    if (doc == NULL || knd_top_parse(doc, o->all_ns ? NULL : cli->ns, snap, err) != 0) {
        fprintf(stderr, "error: %s\n", doc == NULL ? "the stats answer is not JSON" : err);
        rc = KND_EXIT_FAIL;
    }
out:
    json_decref(doc);
    knd_client_resp_free(&resp);
    return rc;
}

static void knd_top_sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (ms > 0 && nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static void knd_top_print(const knd_cli_t *cli, const knd_top_opts_t *o, uint64_t time_ms,
                          const knd_top_row_t *rows, size_t n)
{
    knd_buf_t out;
    knd_buf_init(&out);
    if (o->json) {
        knd_top_render_json(time_ms, rows, n, &out);
    } else {
        if (o->tty && !o->once) {
            char now[32];
            knd_time_rfc3339(now);
            /* home, clear: redraw in place like top */
            knd_buf_printf(&out, "\033[H\033[2J" "knd top - %s - every %.3gs (Ctrl-C to quit)\n\n",
                           now, (double)o->interval_ms / 1000);
        }
        knd_top_render_table(rows, n, o->all_ns, cli->ns, &out);
        if (!o->tty && !o->once)
            knd_buf_puts(&out, "\n");
    }
    fwrite(out.p ? out.p : "", 1, out.len, stdout);
    fflush(stdout);
    knd_buf_free(&out);
}

static int knd_top_run(const knd_cli_t *cli, const knd_top_opts_t *o)
{
    knd_top_state_t st;
    knd_top_snap_t snap = {0};
    knd_top_row_t *rows = NULL;
    int rc;
    knd_top_state_init(&st);
    /* The first poll is only a baseline: rates need two. */
    if ((rc = knd_top_poll(cli, o, &snap)) != KND_EXIT_OK)
        goto out;
    knd_top_state_update(&st, &snap, &rows);
    free(rows);
    rows = NULL;
    uint64_t next = knd_time_mono_ms() + (uint64_t)o->interval_ms;
    for (;;) {
        uint64_t now = knd_time_mono_ms();
        if (next > now)
            knd_top_sleep_ms((int64_t)(next - now));
        next += (uint64_t)o->interval_ms;
        if ((rc = knd_top_poll(cli, o, &snap)) != KND_EXIT_OK)
            goto out;
        uint64_t t = snap.time_ms;
        size_t n = knd_top_state_update(&st, &snap, &rows);
        knd_top_print(cli, o, t, rows, n);
        free(rows);
        rows = NULL;
        if (o->once)
            break;
        if (ferror(stdout)) { /* the reader went away */
            rc = KND_EXIT_FAIL;
            break;
        }
    }
out:
    knd_top_snap_free(&snap);
    knd_top_state_free(&st);
    return rc;
}

/* "1s", "500ms", or a plain number of seconds as top -d takes it. */
static int knd_top_parse_interval(const char *s, int64_t *ms)
{
    char *end = NULL;
    double secs = strtod(s, &end);
    if (end != s && *end == '\0') {
        *ms = (int64_t)(secs * 1000);
        return *ms > 0 ? 0 : -1;
    }
    return knd_time_parse_duration_ms(s, ms) == 0 && *ms > 0 ? 0 : -1;
}

int knd_cmd_top(knd_cli_t *cli, int argc, char **argv)
{
    static const knd_cli_flag_t flags[] = {KND_CLI_COMMON_FLAGS,
                                           {"all-namespaces", 'A', false, KND_TOP_F_ALL},
                                           {"interval", 0, true, KND_TOP_F_INTERVAL},
                                           {"output", 'o', true, KND_TOP_F_OUTPUT},
                                           {"once", 0, false, KND_TOP_F_ONCE},
                                           {NULL, 0, false, 0}};
    knd_top_opts_t o = {.interval_ms = 1000};
    knd_cli_args_t a;
    int id;

    knd_cli_args_init(&a, argc, argv, 1, flags);
    while ((id = knd_cli_args_next(&a)) != KND_CLI_ARG_END) {
        if (id == KND_CLI_ARG_ERR)
            return knd_cli_usage_error(cli, "%s", a.err);
        if (id == KND_CLI_ARG_POS || id == KND_CLI_ARG_DASHDASH)
            return knd_cli_usage_error(cli, "unexpected argument \"%s\"", a.val ? a.val : "--");
        if (id == KND_TOP_F_ALL) {
            o.all_ns = true;
        } else if (id == KND_TOP_F_ONCE) {
            o.once = true;
        } else if (id == KND_TOP_F_INTERVAL) {
            if (knd_top_parse_interval(a.val, &o.interval_ms) != 0)
                return knd_cli_usage_error(cli, "invalid --interval \"%s\" (e.g. 1s, 500ms, 2)",
                                           a.val);
        } else if (id == KND_TOP_F_OUTPUT) {
            if (strcmp(a.val, "json") != 0)
                return knd_cli_usage_error(cli, "unknown output format \"%s\" (want json)",
                                           a.val);
            o.json = true;
        } else if (!knd_cli_common_flag(cli, id, a.val)) {
            return knd_cli_usage_error(cli, "unexpected flag");
        }
    }
    if (cli->help)
        return knd_cli_print_help(cli);
    knd_cli_finish_flags(cli);
    o.tty = isatty(STDOUT_FILENO) == 1;
    return knd_top_run(cli, &o);
}
