/* knd_cmd_version.c - `knd version`: the client's version. */
#include <stdio.h>

#include "knd_cli.h"

int knd_cmd_version(knd_cli_t *cli, int argc, char **argv)
{
    static const knd_cli_flag_t flags[] = {KND_CLI_COMMON_FLAGS, {NULL, 0, false, 0}};
    knd_cli_args_t a;
    int id;
    knd_cli_args_init(&a, argc, argv, 1, flags);
    while ((id = knd_cli_args_next(&a)) != KND_CLI_ARG_END) {
        if (id == KND_CLI_ARG_ERR)
            return knd_cli_usage_error(cli, "%s", a.err);
        if (!knd_cli_common_flag(cli, id, a.val))
            return knd_cli_usage_error(cli, "unexpected argument \"%s\"", a.val ? a.val : "--");
    }
    if (cli->help)
        return knd_cli_print_help(cli);
    printf("knd version %s\n", KND_VERSION);
    return KND_EXIT_OK;
}
