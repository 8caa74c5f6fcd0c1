/*
 * knd_cmd_image.c - `knd image add REF -- CMD ARGS...`, `knd image list`, `knd image rm REF`:
 * the local image table that resolves a container's image to a command when the manifest gives
 * none (the process runtime). Talks to /apis/knd.dev/v1/images.
 */
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_cli.h"
#include "knd_output.h"

#define KND_IMAGES_PATH "/apis/knd.dev/v1/images"

enum { KND_IMAGE_F_OUTPUT = KND_CLI_F_VERB };

/* Appends argv joined by spaces, quoting words a shell would split. */
static void knd_image_join_command(knd_buf_t *out, const json_t *cmd)
{
    size_t i;
    json_t *w;
    json_array_foreach(cmd, i, w) {
        const char *s = json_string_value(w);
        if (s == NULL)
            continue;
        if (i > 0)
            knd_buf_puts(out, " ");
        if (*s != '\0' && strpbrk(s, " \t\n'\"\\$`") == NULL) {
            knd_buf_puts(out, s);
            continue;
        }
        knd_buf_puts(out, "'");
        for (; *s; s++)
            knd_buf_puts(out, *s == '\'' ? "'\\''" : (char[2]){*s, '\0'});
        knd_buf_puts(out, "'");
    }
}

static int knd_image_add(const knd_cli_t *cli, const char *ref, char **cmd, size_t ncmd)
{
    json_t *body = json_pack("{s:s, s:[]}", "image", ref, "command");
    knd_client_resp_t resp;
    int rc = KND_EXIT_OK;
    for (size_t i = 0; i < ncmd; i++)
        json_array_append_new(json_object_get(body, "command"), json_string(cmd[i]));
    knd_client_resp_init(&resp);
    if (knd_cli_call(cli, "POST", KND_IMAGES_PATH, body, NULL, NULL, &resp) != 0)
        rc = KND_EXIT_FAIL;
    else if (resp.status / 100 != 2)
        rc = knd_cli_print_server_error(&resp);
    else
        printf("image \"%s\" added\n", ref);
    knd_client_resp_free(&resp);
    json_decref(body);
    return rc;
}

static int knd_image_rm(const knd_cli_t *cli, const char *ref)
{
    knd_buf_t path;
    knd_client_resp_t resp;
    int rc = KND_EXIT_OK;
    knd_buf_init(&path);
    knd_client_resp_init(&resp);
    knd_buf_puts(&path, KND_IMAGES_PATH "/");
    knd_cli_urlencode(&path, ref);
    if (knd_cli_call(cli, "DELETE", path.p, NULL, NULL, NULL, &resp) != 0) {
        rc = KND_EXIT_FAIL;
    } else if (resp.status == 404) {
        fprintf(stderr, "Error from server (NotFound): image \"%s\" not found\n", ref);
        rc = KND_EXIT_FAIL;
    } else if (resp.status / 100 != 2) {
        rc = knd_cli_print_server_error(&resp);
    } else {
        printf("image \"%s\" removed\n", ref);
    }
    knd_client_resp_free(&resp);
    knd_buf_free(&path);
    return rc;
}

static int knd_image_list(const knd_cli_t *cli, const char *output)
{
    knd_client_resp_t resp;
    json_t *list = NULL, *item;
    knd_buf_t out;
    size_t i;
    int rc = KND_EXIT_OK;
    knd_client_resp_init(&resp);
    knd_buf_init(&out);
    if (knd_cli_call(cli, "GET", KND_IMAGES_PATH, NULL, NULL, NULL, &resp) != 0) {
        rc = KND_EXIT_FAIL;
        goto out;
    }
    if (resp.status / 100 != 2) {
        rc = knd_cli_print_server_error(&resp);
        goto out;
    }
    list = json_loadb(resp.body.p ? resp.body.p : "", resp.body.len, 0, NULL);
    if (output != NULL && strcmp(output, "json") == 0) {
        knd_output_json(list, &out);
    } else if (output != NULL && strcmp(output, "yaml") == 0) {
        knd_output_yaml(list, &out);
    } else if (json_array_size(json_object_get(list, "items")) == 0) {
        fprintf(stderr, "No images found\n");
    } else {
        knd_table_t t;
        const char *hdr[] = {"IMAGE", "COMMAND"};
        knd_table_init(&t, 2);
        knd_table_add(&t, hdr);
        json_array_foreach(json_object_get(list, "items"), i, item) {
            knd_buf_t cmd;
            knd_buf_init(&cmd);
            knd_image_join_command(&cmd, json_object_get(item, "command"));
            const char *row[] = {json_string_value(json_object_get(item, "image")),
                                 knd_buf_cstr(&cmd)};
            knd_table_add(&t, row);
            knd_buf_free(&cmd);
        }
        knd_table_render(&t, &out);
        knd_table_free(&t);
    }
    fputs(knd_buf_cstr(&out), stdout);

out:
    json_decref(list);
    knd_buf_free(&out);
    knd_client_resp_free(&resp);
    return rc;
}

int knd_cmd_image(knd_cli_t *cli, int argc, char **argv)
{
    static const knd_cli_flag_t flags[] = {
        KND_CLI_COMMON_FLAGS, {"output", 'o', true, KND_IMAGE_F_OUTPUT}, {NULL, 0, false, 0}};
    knd_cli_args_t a;
    char **pos = knd_xcalloc((size_t)argc, sizeof(char *));
    size_t npos = 0, ncmd_at = 0;
    const char *output = NULL;
    int rc = KND_EXIT_OK, id;

    knd_cli_args_init(&a, argc, argv, 1, flags);
    while ((id = knd_cli_args_next(&a)) != KND_CLI_ARG_END) {
        if (id == KND_CLI_ARG_ERR) {
            rc = knd_cli_usage_error(cli, "%s", a.err);
            goto out;
        } else if (id == KND_CLI_ARG_POS) {
            pos[npos++] = (char *)a.val;
        } else if (id == KND_CLI_ARG_DASHDASH) {
            ncmd_at = npos;
        } else if (id == KND_IMAGE_F_OUTPUT) {
            output = a.val;
        } else if (!knd_cli_common_flag(cli, id, a.val)) {
            rc = knd_cli_usage_error(cli, "unexpected flag");
            goto out;
        }
    }
    if (cli->help) {
        rc = knd_cli_print_help(cli);
        goto out;
    }
    knd_cli_finish_flags(cli);
    const char *sub = npos > 0 ? pos[0] : "";
    if (strcmp(sub, "add") == 0) {
        /* The command is what follows "--", or else everything after REF. */
        size_t at = a.dashdash ? ncmd_at : 2;
        if (npos < 2 || at != 2 || npos <= at)
            rc = knd_cli_usage_error(cli, "usage: knd image add REF -- CMD [ARGS...]");
        else
            rc = knd_image_add(cli, pos[1], pos + at, npos - at);
    } else if (strcmp(sub, "list") == 0 || strcmp(sub, "ls") == 0) {
        rc = npos == 1 ? knd_image_list(cli, output)
                       : knd_cli_usage_error(cli, "unexpected argument \"%s\"", pos[1]);
    } else if (strcmp(sub, "rm") == 0 || strcmp(sub, "remove") == 0) {
        rc = npos == 2 ? knd_image_rm(cli, pos[1])
                       : knd_cli_usage_error(cli, "usage: knd image rm REF");
    } else {
        rc = knd_cli_usage_error(cli, "expected one of: add, list, rm");
    }

out:
    free(pos);
    return rc;
}
