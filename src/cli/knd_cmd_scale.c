/*
 * knd_cmd_scale.c - `knd scale simulate -f service.yaml --trace trace.csv [--config FILE]
 * [--startup-delay 1s] [-o json]`: replays a load trace through the daemon's own autoscaler code
 * (knd_window, knd_kpa, knd_pa) offline, and prints one line per decision tick. No daemon needed.
 *
 * Ownership: everything loaded here is freed before returning; the exit status follows
 * knd_cli.h (2 for invalid input).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_buf.h"
#include "knd_cli.h"
#include "knd_json.h"
#include "knd_output.h"
#include "knd_scale_sim.h"
#include "knd_time.h"
#include "knd_yaml.h"

enum {
    KND_SCALE_F_FILE = KND_CLI_F_VERB,
    KND_SCALE_F_TRACE,
    KND_SCALE_F_CONFIG,
    KND_SCALE_F_STARTUP,
    KND_SCALE_F_OUTPUT,
};

typedef struct {
    const char *file, *trace, *config, *startup, *output;
} knd_scale_opts_t;

static char *knd_scale_read_file(const char *path, knd_err_t *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        knd_err_set(err, KND_E_INVALID, "open %s: %s", path, strerror(errno));
        return NULL;
    }
    knd_buf_t b;
    knd_buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        knd_buf_append(&b, chunk, n);
    fclose(f);
    char *s = knd_xstrdup(knd_buf_cstr(&b));
    knd_buf_free(&b);
    return s;
}

/* Applies every ConfigMap of the --config file on top of Knative's defaults. */
static int knd_scale_load_config(const char *path, knd_platform_t *plat)
{
    knd_doc_t *docs = NULL;
    size_t ndocs = 0;
    knd_err_t err = {0};
    int rc = KND_EXIT_OK;
    if (knd_yaml_load_file(path, &docs, &ndocs, &err) != 0) {
        fprintf(stderr, "error: %s\n", err.msg);
        return KND_EXIT_INVALID;
    }
    for (size_t i = 0; i < ndocs && rc == KND_EXIT_OK; i++) {
        knd_errlist_t errs;
        knd_errlist_init(&errs);
        if (docs[i].root != NULL && knd_platform_apply_configmap(plat, docs[i].root, &errs) != 0) {
            char *msg = knd_errlist_join(&errs);
            fprintf(stderr, "error: %s: %s\n", path, msg);
            free(msg);
            rc = KND_EXIT_INVALID;
        }
        knd_errlist_free(&errs);
    }
    knd_yaml_docs_free(docs, ndocs);
    return rc;
}

/* The first Service's template: its annotations (borrowed) and containerConcurrency. */
static const json_t *knd_scale_find_service(const knd_cli_files_t *files, const json_t **annos,
                                            int *cc)
{
    for (size_t i = 0; i < files->n; i++)
        for (size_t d = 0; d < files->v[i].ndocs; d++) {
            const json_t *root = files->v[i].docs[d].root;
            if (root == NULL || strcmp(knd_json_str(root, "kind", ""), "Service") != 0)
                continue;
            *annos = knd_json_path(root, "spec.template.metadata.annotations");
            *cc = (int)knd_json_int(root, "spec.template.spec.containerConcurrency", *cc);
            return root;
        }
    return NULL;
}

static void knd_scale_print_table(const knd_sim_row_t *rows, size_t n, knd_buf_t *out)
{
    static const char *const head[] = {"T",     "OBSERVED_STABLE", "OBSERVED_PANIC", "DESIRED",
                                       "READY", "PANIC",           "EXCESS_BURST_CAPACITY"};
    knd_table_t t;
    knd_table_init(&t, 7);
    knd_table_add(&t, head);
    for (size_t i = 0; i < n; i++) {
        char c[7][32];
        snprintf(c[0], 32, "%gs", rows[i].t_s);
        snprintf(c[1], 32, "%.3f", rows[i].observed_stable);
        snprintf(c[2], 32, "%.3f", rows[i].observed_panic);
        snprintf(c[3], 32, "%d", rows[i].desired);
        snprintf(c[4], 32, "%d", rows[i].ready);
        snprintf(c[5], 32, "%s", rows[i].panic ? "true" : "false");
        snprintf(c[6], 32, "%d", rows[i].excess_burst_capacity);
        const char *cells[7] = {c[0], c[1], c[2], c[3], c[4], c[5], c[6]};
        knd_table_add(&t, cells);
    }
    knd_table_render(&t, out);
    knd_table_free(&t);
}

static void knd_scale_print_json(const knd_sim_row_t *rows, size_t n, knd_buf_t *out)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            arr, json_pack("{s:I, s:f, s:f, s:i, s:i, s:b, s:i}", "t", (json_int_t)rows[i].t_s,
                           "observed_stable", rows[i].observed_stable, "observed_panic",
                           rows[i].observed_panic, "desired", rows[i].desired, "ready",
                           rows[i].ready, "panic", rows[i].panic, "excess_burst_capacity",
                           rows[i].excess_burst_capacity));
    knd_output_json(arr, out);
    json_decref(arr);
}

static int knd_scale_parse(knd_cli_t *cli, int argc, char **argv, knd_scale_opts_t *o)
{
    static const knd_cli_flag_t flags[] = {KND_CLI_COMMON_FLAGS,
                                           {"filename", 'f', true, KND_SCALE_F_FILE},
                                           {"trace", 0, true, KND_SCALE_F_TRACE},
                                           {"config", 0, true, KND_SCALE_F_CONFIG},
                                           {"startup-delay", 0, true, KND_SCALE_F_STARTUP},
                                           {"output", 'o', true, KND_SCALE_F_OUTPUT},
                                           {NULL, 0, false, 0}};
    knd_cli_args_t a;
    bool have_sub = false;
    int id;
    knd_cli_args_init(&a, argc, argv, 1, flags);
    while ((id = knd_cli_args_next(&a)) != KND_CLI_ARG_END) {
        switch (id) {
        case KND_CLI_ARG_ERR: return knd_cli_usage_error(cli, "%s", a.err);
        case KND_SCALE_F_FILE: o->file = a.val; break;
        case KND_SCALE_F_TRACE: o->trace = a.val; break;
        case KND_SCALE_F_CONFIG: o->config = a.val; break;
        case KND_SCALE_F_STARTUP: o->startup = a.val; break;
        case KND_SCALE_F_OUTPUT: o->output = a.val; break;
        case KND_CLI_ARG_POS:
            if (have_sub || strcmp(a.val, "simulate") != 0)
                return knd_cli_usage_error(cli, "unknown subcommand \"%s\"", a.val);
            have_sub = true;
            break;
        default:
            if (!knd_cli_common_flag(cli, id, a.val))
                return knd_cli_usage_error(cli, "unexpected argument \"--\"");
        }
    }
    if (cli->help)
        return -1;
    if (!have_sub)
        return knd_cli_usage_error(cli, "missing subcommand: simulate");
    if (o->file == NULL || o->trace == NULL)
        return knd_cli_usage_error(cli, "must specify -f and --trace");
    if (o->output != NULL && strcmp(o->output, "json") != 0)
        return knd_cli_usage_error(cli, "unknown output format \"%s\" (want json)", o->output);
    return KND_EXIT_OK;
}

/* Params from the first Service in o->file; fails on invalid manifests, as apply would. */
static int knd_scale_params(const knd_scale_opts_t *o, const knd_platform_t *plat,
                            knd_kpa_params_t *params)
{
    knd_cli_files_t files = {0};
    char *paths[1] = {(char *)o->file};
    int rc = knd_cli_load_files(paths, 1, &files);
    if (rc != KND_EXIT_OK)
        goto out;
    if (knd_cli_validate_files(&files, plat, stderr) > 0) {
        rc = KND_EXIT_INVALID;
        goto out;
    }
    const json_t *annos = NULL;
    int cc = (int)plat->container_concurrency;
    if (knd_scale_find_service(&files, &annos, &cc) == NULL) {
        fprintf(stderr, "error: %s: no Service in the file\n", o->file);
        rc = KND_EXIT_INVALID;
        goto out;
    }
    knd_kpa_params(annos, cc, plat, params);
    if (params->hpa) {
        fprintf(stderr, "error: the simulator replays the KPA; class "
                        "hpa.autoscaling.knative.dev scales on CPU/memory\n");
        rc = KND_EXIT_INVALID;
    }
out:
    knd_cli_files_free(&files);
    return rc;
}

int knd_cmd_scale(knd_cli_t *cli, int argc, char **argv)
{
    knd_scale_opts_t o = {0};
    knd_platform_t plat;
    knd_sim_config_t c = {0};
    knd_sim_point_t *pts = NULL;
    knd_sim_row_t *rows = NULL;
    char *text = NULL;
    knd_err_t err = {0};
    bool rps = false;
    size_t npts = 0;
    int64_t delay = 1000;
    int rc = knd_scale_parse(cli, argc, argv, &o);
    if (rc == -1)
        return knd_cli_print_help(cli);
    if (rc != KND_EXIT_OK)
        return rc;
    knd_platform_init(&plat, NULL);
    if (o.startup != NULL && knd_time_parse_duration_ms(o.startup, &delay) != 0) {
        rc = knd_cli_usage_error(cli, "invalid --startup-delay \"%s\"", o.startup);
        goto out;
    }
    c.startup_delay_ms = delay > 0 ? (uint64_t)delay : 0;
    if (o.config != NULL && (rc = knd_scale_load_config(o.config, &plat)) != KND_EXIT_OK)
        goto out;
    if ((rc = knd_scale_params(&o, &plat, &c.params)) != KND_EXIT_OK)
        goto out;
    if ((text = knd_scale_read_file(o.trace, &err)) == NULL ||
        knd_sim_parse_trace(text, &pts, &npts, &rps, &err) != 0) {
        fprintf(stderr, "error: %s: %s\n", o.trace, err.msg);
        rc = KND_EXIT_INVALID;
        goto out;
    }
    if (rps != (c.params.metric == KND_METRIC_RPS)) {
        fprintf(stderr, "error: the trace gives %s but the revision scales on %s\n",
                rps ? "rps" : "concurrency", rps ? "concurrency" : "rps");
        rc = KND_EXIT_INVALID;
        goto out;
    }
    size_t n = knd_sim_run(&c, pts, npts, &rows);
    knd_buf_t out;
    knd_buf_init(&out);
    if (o.output != NULL)
        knd_scale_print_json(rows, n, &out);
    else
        knd_scale_print_table(rows, n, &out);
    fputs(knd_buf_cstr(&out), stdout);
    knd_buf_free(&out);
out:
    free(rows);
    free(pts);
    free(text);
    knd_platform_free(&plat);
    return rc;
}
