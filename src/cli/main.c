/*
 * main.c - the `knd` binary: dispatches argv[1] through the verb table. `knd serve` is the daemon
 * (knd_serve_main); every other verb is a client of its control API, one file per verb.
 */
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

#include "knd_cli.h"
#include "knd_daemon.h"

static const knd_cli_cmd_t knd_main_cmds[] = {
    {"apply", knd_cmd_apply, "knd apply -f FILE|DIR|- [-f ...] [-n NS]",
     "Create or update objects from YAML/JSON manifests.",
     "Every document is validated offline first; if any is invalid nothing is sent.\n\n"
     "Flags:\n  -f, --filename PATH    a file, a directory (*.yaml, *.yml, *.json) or - for "
     "stdin; repeatable\n"},
    {"validate", knd_cmd_validate, "knd validate -f FILE|DIR|-",
     "Validate manifests offline, without a daemon.",
     "Errors are printed as FILE:LINE:COL: field.path: message; exit status 2 if any.\n\n"
     "Flags:\n  -f, --filename PATH    a file, a directory or - for stdin; repeatable\n"},
    {"get", knd_cmd_get,
     "knd get KIND [NAME...] [-n NS] [-A] [-l SELECTOR] [-o json|yaml|wide|name]",
     "Display one or many objects.",
     "Kinds: ksvc (services), revision (rev), route (rt), configuration (config, cfg),\n"
     "       domainmapping (dm), configmap (cm), secret, namespace (ns).\n\n"
     "Flags:\n  -A, --all-namespaces   list across all namespaces\n"
     "  -l, --selector SEL     label selector, k=v[,k2=v2]\n"
     "  -o, --output FORMAT    json, yaml, wide or name\n"},
    {"describe", knd_cmd_describe, "knd describe KIND NAME [-n NS]",
     "Show details of an object: URL, traffic, revisions, instances, conditions.", ""},
    {"delete", knd_cmd_delete, "knd delete KIND NAME [NAME...] | knd delete -f FILE|DIR|-",
     "Delete objects by name or from manifests.",
     "Flags:\n  -f, --filename PATH    delete the objects in these manifests\n"
     "      --ignore-not-found treat a missing object as deleted\n"},
    {"wait", knd_cmd_wait,
     "knd wait KIND NAME --for=condition=TYPE[=STATUS]|--for=delete [--timeout 30s]",
     "Wait for a condition on an object.",
     "Flags:\n      --for SPEC         condition=Ready, condition=Ready=False, or delete\n"
     "      --timeout DUR      how long to wait (Go duration, default 30s)\n"},
    {"logs", knd_cmd_logs, "knd logs [ksvc] NAME [-f] [-n NS]",
     "Print the output of a Service's instances.",
     "Flags:\n  -f, --follow           keep streaming new lines\n"},
    {"image", knd_cmd_image, "knd image add REF -- CMD [ARGS...] | knd image list | knd image rm REF",
     "Manage the local image table (image -> command for the process runtime).",
     "Flags:\n  -o, --output FORMAT    json or yaml (list)\n"},
    {"top", knd_cmd_top, "knd top [-n NS] [-A] [--interval 1s] [-o json] [--once]",
     "Live traffic per revision: RPS, latency, in flight, queued, instances, cold starts.",
     "Flags:\n  -A, --all-namespaces   every namespace\n"
     "      --interval DUR     refresh period (1s, 500ms; default 1s)\n"
     "  -o, --output json      one JSON object per interval (for scripts)\n"
     "      --once             print one view (two polls an interval apart) and exit\n"},
    {"scale", knd_cmd_scale,
     "knd scale simulate -f SERVICE.yaml --trace TRACE.csv [--config FILE] [--startup-delay 1s] "
     "[-o json]",
     "Replay a load trace through the autoscaler offline (no daemon).",
     "Flags:\n  -f, --filename PATH    the Service (its template annotations, containerConcurrency)\n"
     "      --trace PATH       CSV: t_seconds,concurrency or t_seconds,rps\n"
     "      --config PATH      a config-autoscaler ConfigMap (default: Knative's defaults)\n"
     "      --startup-delay D  how long an instance takes to become ready (default 1s)\n"
     "  -o, --output json      one JSON array instead of the table\n"},
    {"version", knd_cmd_version, "knd version", "Print the version.", ""},
};

static const knd_cli_cmd_t *knd_main_find(const char *name)
{
    for (size_t i = 0; i < sizeof(knd_main_cmds) / sizeof(knd_main_cmds[0]); i++)
        if (strcmp(knd_main_cmds[i].name, name) == 0)
            return &knd_main_cmds[i];
    return NULL;
}

static void knd_main_usage(FILE *out)
{
    fprintf(out, "knd - Knative Serving on one machine.\n\nUsage:\n  knd COMMAND [flags]\n\n"
                 "Commands:\n  %-10s %s\n", "serve", "Run the daemon in the foreground.");
    for (size_t i = 0; i < sizeof(knd_main_cmds) / sizeof(knd_main_cmds[0]); i++)
        fprintf(out, "  %-10s %s\n", knd_main_cmds[i].name, knd_main_cmds[i].summary);
    fprintf(out, "  %-10s %s\n\nUse \"knd COMMAND --help\" for more about a command.\n", "help",
            "Help about any command.");
}

static int knd_main_help(int argc, char **argv)
{
    if (argc < 3) {
        knd_main_usage(stdout);
        return KND_EXIT_OK;
    }
    if (strcmp(argv[2], "serve") == 0) {
        char *sargv[] = {"serve", "--help", NULL};
        return knd_serve_main(2, sargv);
    }
    const knd_cli_cmd_t *cmd = knd_main_find(argv[2]);
    if (cmd == NULL) {
        fprintf(stderr, "error: unknown command \"%s\" for \"knd\"\nRun 'knd help' for usage.\n",
                argv[2]);
        return KND_EXIT_INVALID;
    }
    knd_cli_t cli;
    knd_cli_init(&cli, cmd);
    return knd_cli_print_help(&cli);
}

/*
 * kubectl accepts global flags before the verb (`knd --state-dir X get ksvc`): move leading
 * global flags after the verb so each verb's parser sees them. Returns the new argc.
 */
static int knd_main_hoist_flags(int argc, char **argv)
{
    static const char *const with_value[] = {"--state-dir", "-n", "--namespace", "--server"};
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        bool known = false;
        for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++) {
            size_t n = strlen(with_value[k]);
            if (strcmp(argv[i], with_value[k]) == 0 && i + 1 < argc) {
                i += 2;
                known = true;
                break;
            }
            if (strncmp(argv[i], with_value[k], n) == 0 && argv[i][n] == '=') {
                i += 1;
                known = true;
                break;
            }
        }
        if (!known)
            break;
    }
    if (i == 1 || i >= argc)
        return argc;
    /* argv[1..i) are flags, argv[i] the verb: rotate the verb to the front. */
    char *verb = argv[i];
    memmove(argv + 2, argv + 1, (size_t)(i - 1) * sizeof(*argv));
    argv[1] = verb;
    return argc;
}

int main(int argc, char **argv)
{
    argc = knd_main_hoist_flags(argc, argv);
    if (argc < 2) {
        knd_main_usage(stderr);
        return KND_EXIT_INVALID;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "serve") == 0)
        return knd_serve_main(argc - 1, argv + 1);
    if (strcmp(verb, "help") == 0 || strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0)
        return knd_main_help(argc, argv);
    if (strcmp(verb, "--version") == 0)
        verb = "version";
    const knd_cli_cmd_t *cmd = knd_main_find(verb);
    if (cmd == NULL) {
        fprintf(stderr, "error: unknown command \"%s\" for \"knd\"\nRun 'knd help' for usage.\n",
                verb);
        return KND_EXIT_INVALID;
    }
    knd_cli_t cli;
    knd_cli_init(&cli, cmd);
    return cmd->run(&cli, argc - 1, argv + 1);
}
