/*
 * knd_cmd_apply.c - `knd apply -f FILE|DIR|-`: validates the whole stream offline first (a bad
 * manifest is never half-applied), then creates or replaces each object, kubectl-style:
 * GET -> 404: POST, "created"; found: PUT without resourceVersion (last writer wins), then
 * "configured", or "unchanged" when the server kept the resourceVersion GET returned.
 */
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_cli.h"
#include "knd_json.h"
#include "knd_output.h"
#include "knd_yaml.h"

enum { KND_APPLY_F_FILE = KND_CLI_F_VERB };

#define KND_APPLY_UNREACHABLE (-1)

/* Prints the server's error and maps its field causes back to the document's line:col. */
static int knd_cmd_apply_server_error(const knd_client_resp_t *resp, const knd_cli_file_t *f,
                                      const knd_doc_t *doc)
{
    char reason[128], msg[4096];
    int rc = knd_cli_server_error(resp, reason, sizeof(reason), msg, sizeof(msg));
    fprintf(stderr, "Error from server (%s): error when applying \"%s\": %s\n", reason,
            f->display, msg);
    json_t *st = json_loadb(resp->body.p ? resp->body.p : "", resp->body.len, 0, NULL);
    json_t *causes = knd_json_path(st, "details.causes");
    size_t i;
    json_t *c;
    knd_buf_t out;
    knd_buf_init(&out);
    json_array_foreach(causes, i, c) {
        const char *field = json_string_value(json_object_get(c, "field"));
        const char *m = json_string_value(json_object_get(c, "message"));
        int line, col;
        if (field == NULL || m == NULL)
            continue;
        knd_doc_pos(doc, field, &line, &col);
        knd_output_field_error(&out, f->display, line, col, field, m);
    }
    fputs(knd_buf_cstr(&out), stderr);
    knd_buf_free(&out);
    json_decref(st);
    return rc;
}

static const char *knd_cmd_apply_rv(const knd_client_resp_t *resp, json_t **holder)
{
    *holder = json_loadb(resp->body.p ? resp->body.p : "", resp->body.len, 0, NULL);
    return knd_json_str(*holder, "metadata.resourceVersion", NULL);
}

/*
 * The object exists (resp holds the GET): PUT body without its resourceVersion and report
 * "configured", or "unchanged" if the server kept the resourceVersion GET returned.
 */
static int knd_cmd_apply_replace(const knd_cli_t *cli, const knd_cli_file_t *f,
                                 const knd_doc_t *doc, const char *path, const char *ref,
                                 json_t *body, knd_client_resp_t *resp)
{
    json_t *got = NULL, *put = NULL;
    int rc = KND_EXIT_OK;
    const char *rv0 = knd_cmd_apply_rv(resp, &got);
    json_t *meta = json_object_get(body, "metadata");
    if (json_is_object(meta))
        json_object_del(meta, "resourceVersion");
    knd_client_resp_t put_resp;
    knd_client_resp_init(&put_resp);
    if (knd_cli_call(cli, "PUT", path, body, NULL, NULL, &put_resp) != 0) {
        rc = KND_APPLY_UNREACHABLE;
    } else if (put_resp.status / 100 != 2) {
        rc = knd_cmd_apply_server_error(&put_resp, f, doc);
    } else {
        const char *rv1 = knd_cmd_apply_rv(&put_resp, &put);
        bool same = rv0 != NULL && rv1 != NULL && strcmp(rv0, rv1) == 0;
        printf("%s %s\n", ref, same ? "unchanged" : "configured");
    }
    knd_client_resp_free(&put_resp);
    json_decref(got);
    json_decref(put);
    return rc;
}

/* Sends one document; returns an exit code, or KND_APPLY_UNREACHABLE. */
static int knd_cmd_apply_one(const knd_cli_t *cli, const knd_cli_file_t *f, const knd_doc_t *doc)
{
    int rc = KND_EXIT_OK;
    const json_t *root = doc->root;
    const knd_kind_info_t *info = knd_kind_lookup(knd_json_str(root, "apiVersion", ""),
                                                  knd_json_str(root, "kind", ""));
    const char *name = knd_json_str(root, "metadata.name", "");
    const char *ns = knd_json_str(root, "metadata.namespace", NULL);
    json_t *body = json_deep_copy(root);
    knd_buf_t item, coll, ref;
    knd_client_resp_t resp;
    knd_buf_init(&item);
    knd_buf_init(&coll);
    knd_buf_init(&ref);
    knd_client_resp_init(&resp);
    KND_ASSERT(info != NULL); /* validated before */

    if (info->namespaced && ns != NULL && cli->ns_explicit && strcmp(ns, cli->ns) != 0) {
        fprintf(stderr,
                "error: the namespace from the provided object \"%s\" does not match the namespace"
                " \"%s\". You must pass '--namespace=%s' to perform this operation.\n",
                ns, cli->ns, ns);
        rc = KND_EXIT_FAIL;
        goto out;
    }
    if (ns == NULL)
        ns = cli->ns;
    knd_cli_path(&item, info, ns, name);
    knd_cli_path(&coll, info, ns, NULL);
    knd_output_name(&ref, info, name);

    if (knd_cli_call(cli, "GET", item.p, NULL, NULL, NULL, &resp) != 0) {
        rc = KND_APPLY_UNREACHABLE;
        goto out;
    }
    if (resp.status == 404) {
        knd_client_resp_free(&resp);
        if (knd_cli_call(cli, "POST", coll.p, body, NULL, NULL, &resp) != 0) {
            rc = KND_APPLY_UNREACHABLE;
            goto out;
        }
        if (resp.status / 100 != 2) {
            rc = knd_cmd_apply_server_error(&resp, f, doc);
            goto out;
        }
        printf("%s created\n", ref.p);
        goto out;
    }
    if (resp.status / 100 != 2) {
        rc = knd_cmd_apply_server_error(&resp, f, doc);
        goto out;
    }
    rc = knd_cmd_apply_replace(cli, f, doc, item.p, ref.p, body, &resp);

out:
    fflush(stdout);
    json_decref(body);
    knd_client_resp_free(&resp);
    knd_buf_free(&item);
    knd_buf_free(&coll);
    knd_buf_free(&ref);
    return rc;
}

int knd_cmd_apply(knd_cli_t *cli, int argc, char **argv)
{
    static const knd_cli_flag_t flags[] = {
        KND_CLI_COMMON_FLAGS, {"filename", 'f', true, KND_APPLY_F_FILE}, {NULL, 0, false, 0}};
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
        } else if (id == KND_APPLY_F_FILE) {
            paths[npaths++] = (char *)a.val;
        } else if (!knd_cli_common_flag(cli, id, a.val)) {
            rc = knd_cli_usage_error(cli, "unexpected argument \"%s\"", a.val ? a.val : "--");
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
    knd_cli_finish_flags(cli);
    rc = knd_cli_load_files(paths, npaths, &files);
    if (rc != KND_EXIT_OK)
        goto out;
    knd_platform_t platform;
    knd_cli_platform(cli, &files, &platform);
    size_t bad = knd_cli_validate_files(&files, &platform, stderr);
    knd_platform_free(&platform);
    if (bad > 0) {
        rc = KND_EXIT_INVALID;
        goto out;
    }
    size_t ndocs = 0;
    for (size_t i = 0; i < files.n; i++)
        ndocs += files.v[i].ndocs;
    if (ndocs == 0) {
        fprintf(stderr, "error: no objects passed to apply\n");
        rc = KND_EXIT_INVALID;
        goto out;
    }
    for (size_t i = 0; i < files.n; i++) {
        for (size_t d = 0; d < files.v[i].ndocs; d++) {
            int r = knd_cmd_apply_one(cli, &files.v[i], &files.v[i].docs[d]);
            if (r == KND_APPLY_UNREACHABLE) {
                rc = KND_EXIT_FAIL;
                goto out;
            }
            if (r > rc)
                rc = r;
        }
    }

out:
    knd_cli_files_free(&files);
    free(paths);
    return rc;
}
