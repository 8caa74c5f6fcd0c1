/*
 * knd_cli.c - what the verbs share (see knd_cli.h): global flags, usage errors, kind names, API
 * paths, calls to the daemon with kubectl's error wording, and loading manifests for apply,
 * validate and delete -f. Error output goes to stderr here, at the CLI boundary, once.
 */
#include "knd_cli.h"
#include "knd_json.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "knd_alloc.h"
#include "knd_output.h"
#include "knd_yaml.h"

/* ---- flags and usage ---------------------------------------------------------------------- */

void knd_cli_init(knd_cli_t *cli, const knd_cli_cmd_t *cmd)
{
    const char *env = getenv("KND_STATE_DIR");
    memset(cli, 0, sizeof(*cli));
    cli->cmd = cmd;
    cli->state_dir = env && *env ? env : "./.knd";
    cli->ns = "default";
}

bool knd_cli_common_flag(knd_cli_t *cli, int id, const char *val)
{
    switch (id) {
    case KND_CLI_F_STATE_DIR:
        cli->state_dir = val;
        return true;
    case KND_CLI_F_NAMESPACE:
        cli->ns = val;
        cli->ns_explicit = true;
        return true;
    case KND_CLI_F_HELP:
        cli->help = true;
        return true;
    default:
        return false;
    }
}

void knd_cli_finish_flags(knd_cli_t *cli)
{
    size_t n = strlen(cli->state_dir);
    while (n > 1 && cli->state_dir[n - 1] == '/')
        n--;
    snprintf(cli->sock_path, sizeof(cli->sock_path), "%.*s/knd.sock", (int)n, cli->state_dir);
}

int knd_cli_usage_error(const knd_cli_t *cli, const char *fmt, ...)
{
    va_list ap;
    fputs("error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (cli->cmd != NULL)
        fprintf(stderr, "Usage: %s\nSee 'knd %s --help'.\n", cli->cmd->usage, cli->cmd->name);
    return KND_EXIT_INVALID;
}

int knd_cli_print_help(const knd_cli_t *cli)
{
    printf("%s\n\nUsage:\n  %s\n", cli->cmd->summary, cli->cmd->usage);
    if (cli->cmd->help != NULL && cli->cmd->help[0] != '\0')
        printf("\n%s", cli->cmd->help);
    printf("\nGlobal flags:\n"
           "      --state-dir DIR    the daemon's state directory (default $KND_STATE_DIR or "
           "./.knd)\n"
           "  -n, --namespace NS     namespace (default \"default\")\n"
           "  -h, --help             this help\n");
    return KND_EXIT_OK;
}

/* ---- kinds and paths ---------------------------------------------------------------------- */

const knd_kind_info_t *knd_cli_kind(const char *name)
{
    /* kubectl's short names, in case the kind table lacks some. */
    static const struct {
        const char *alias, *canonical;
    } aliases[] = {
        {"ksvc", "services"}, {"kservice", "services"}, {"rev", "revisions"},
        {"rt", "routes"}, {"config", "configurations"}, {"cfg", "configurations"},
        {"dm", "domainmappings"}, {"cm", "configmaps"}, {"ns", "namespaces"},
    };
    const knd_kind_info_t *info = knd_kind_by_cli_name(name);
    for (size_t i = 0; info == NULL && i < KND_ARRAY_SIZE(aliases); i++)
        if (strcasecmp(name, aliases[i].alias) == 0)
            info = knd_kind_by_cli_name(aliases[i].canonical);
    return info;
}

/* ---- calls -------------------------------------------------------------------------------- */

int knd_cli_call(const knd_cli_t *cli, const char *method, const char *path, const json_t *body,
                 knd_client_body_cb sink, void *ud, knd_client_resp_t *resp)
{
    knd_err_t err;
    char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
    knd_err_clear(&err);
    int rc = knd_client_request(cli->sock_path, method, path, payload,
                                payload ? strlen(payload) : 0, sink, ud, resp, &err);
    free(payload);
    if (rc != 0) {
        if (err.code == KND_E_UNAVAILABLE)
            fprintf(stderr, "error: cannot reach knd at %s: %s (is \"knd serve\" running?)\n",
                    cli->sock_path, err.msg);
        else
            fprintf(stderr, "error: %s %s: %s\n", method, path, err.msg);
    }
    return rc;
}

/* A call whose failure is not worth a message (a best-effort read). */
static int knd_cli_call_quiet(const knd_cli_t *cli, const char *method, const char *path,
                              knd_client_resp_t *resp)
{
    knd_err_t err;
    knd_err_clear(&err);
    return knd_client_request(cli->sock_path, method, path, NULL, 0, NULL, NULL, resp, &err);
}

static const char *knd_cli_reason_for_status(int status)
{
    switch (status) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 409: return "Conflict";
    case 413: return "RequestEntityTooLarge";
    case 422: return "Invalid";
    case 503: return "ServiceUnavailable";
    default: return status >= 500 ? "InternalError" : "Unknown";
    }
}

int knd_cli_server_error(const knd_client_resp_t *resp, char *reason, size_t rlen, char *msg,
                         size_t mlen)
{
    json_t *st = json_loadb(resp->body.p ? resp->body.p : "", resp->body.len, 0, NULL);
    const char *r = json_string_value(json_object_get(st, "reason"));
    const char *m = json_string_value(json_object_get(st, "message"));
    snprintf(reason, rlen, "%s", r && *r ? r : knd_cli_reason_for_status(resp->status));
    if (m != NULL) {
        snprintf(msg, mlen, "%s", m);
    } else if (st == NULL && resp->body.len > 0) {
        size_t n = resp->body.len;
        while (n > 0 && (resp->body.p[n - 1] == '\n' || resp->body.p[n - 1] == '\r'))
            n--;
        snprintf(msg, mlen, "%.*s", (int)n, resp->body.p);
    } else {
        snprintf(msg, mlen, "the server responded with status %d", resp->status);
    }
    json_decref(st);
    return resp->status == 400 || resp->status == 422 ? KND_EXIT_INVALID : KND_EXIT_FAIL;
}

int knd_cli_print_server_error(const knd_client_resp_t *resp)
{
    char reason[128], msg[4096];
    int rc = knd_cli_server_error(resp, reason, sizeof(reason), msg, sizeof(msg));
    fprintf(stderr, "Error from server (%s): %s\n", reason, msg);
    return rc;
}

int knd_cli_print_not_found(const knd_kind_info_t *info, const char *name)
{
    knd_buf_t ref;
    knd_buf_init(&ref);
    knd_output_resource_ref(&ref, info);
    fprintf(stderr, "Error from server (NotFound): %s \"%s\" not found\n", ref.p, name);
    knd_buf_free(&ref);
    return KND_EXIT_FAIL;
}

static json_t *knd_cli_resp_json(const knd_client_resp_t *resp)
{
    json_error_t jerr;
    json_t *v = json_loadb(resp->body.p ? resp->body.p : "", resp->body.len, 0, &jerr);
    if (v == NULL)
        fprintf(stderr, "error: the server sent invalid JSON: %s\n", jerr.text);
    return v;
}

int knd_cli_get_object(const knd_cli_t *cli, const knd_kind_info_t *info, const char *ns,
                       const char *name, json_t **obj)
{
    knd_buf_t path;
    knd_client_resp_t resp;
    int rc = KND_EXIT_OK;
    *obj = NULL;
    knd_buf_init(&path);
    knd_client_resp_init(&resp);
    knd_cli_path(&path, info, ns, name);
    if (knd_cli_call(cli, "GET", path.p, NULL, NULL, NULL, &resp) != 0)
        rc = -1;
    else if (resp.status == 404)
        rc = knd_cli_print_not_found(info, name);
    else if (resp.status / 100 != 2)
        rc = knd_cli_print_server_error(&resp);
    else if ((*obj = knd_cli_resp_json(&resp)) == NULL)
        rc = KND_EXIT_FAIL;
    knd_client_resp_free(&resp);
    knd_buf_free(&path);
    return rc;
}

int knd_cli_list_objects(const knd_cli_t *cli, const knd_kind_info_t *info, const char *ns,
                         const char *selector, json_t **list)
{
    knd_buf_t path;
    knd_client_resp_t resp;
    int rc = KND_EXIT_OK;
    *list = NULL;
    knd_buf_init(&path);
    knd_client_resp_init(&resp);
    knd_cli_path(&path, info, ns, NULL);
    if (selector != NULL) {
        knd_buf_puts(&path, "?labelSelector=");
        knd_cli_urlencode(&path, selector);
    }
    if (knd_cli_call(cli, "GET", path.p, NULL, NULL, NULL, &resp) != 0)
        rc = KND_EXIT_FAIL;
    else if (resp.status / 100 != 2)
        rc = knd_cli_print_server_error(&resp);
    else if ((*list = knd_cli_resp_json(&resp)) == NULL)
        rc = KND_EXIT_FAIL;
    knd_client_resp_free(&resp);
    knd_buf_free(&path);
    return rc;
}

/* ---- manifests ---------------------------------------------------------------------------- */

static bool knd_cli_manifest_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    return name[0] != '.' && dot != NULL &&
           (strcmp(dot, ".yaml") == 0 || strcmp(dot, ".yml") == 0 || strcmp(dot, ".json") == 0);
}

static int knd_cli_dirent_filter(const struct dirent *d)
{
    return knd_cli_manifest_name(d->d_name);
}

static void knd_cli_files_push(knd_cli_files_t *f, const char *path, const char *display)
{
    f->v = knd_xrealloc(f->v, (f->n + 1) * sizeof(*f->v));
    memset(&f->v[f->n], 0, sizeof(f->v[f->n]));
    f->v[f->n].path = knd_xstrdup(path);
    f->v[f->n].display = knd_xstrdup(display);
    f->n++;
}

/* Adds one -f argument's files; returns 0 or an exit code after printing why. */
static int knd_cli_expand_path(const char *path, knd_cli_files_t *out)
{
    struct stat st;
    struct dirent **ents = NULL;
    if (strcmp(path, "-") == 0) {
        knd_cli_files_push(out, "-", "STDIN");
        return 0;
    }
    if (stat(path, &st) == -1) {
        fprintf(stderr, "error: the path \"%s\" does not exist\n", path);
        return KND_EXIT_INVALID;
    }
    if (!S_ISDIR(st.st_mode)) {
        knd_cli_files_push(out, path, path);
        return 0;
    }
    int n = scandir(path, &ents, knd_cli_dirent_filter, alphasort);
    if (n < 0) {
        fprintf(stderr, "error: reading directory %s: %s\n", path, strerror(errno));
        return KND_EXIT_FAIL;
    }
    for (int i = 0; i < n; i++) {
        size_t len = strlen(path);
        char *full = knd_xasprintf("%s%s%s", path, len && path[len - 1] == '/' ? "" : "/",
                                   ents[i]->d_name);
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
            knd_cli_files_push(out, full, full);
        free(full);
        free(ents[i]);
    }
    free(ents);
    if (n == 0) {
        fprintf(stderr, "error: no objects passed: %s has no *.yaml, *.yml or *.json file\n",
                path);
        return KND_EXIT_INVALID;
    }
    return 0;
}

int knd_cli_load_files(char **paths, size_t npaths, knd_cli_files_t *out)
{
    int worst = 0;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < npaths; i++) {
        int rc = knd_cli_expand_path(paths[i], out);
        if (rc > worst)
            worst = rc;
    }
    for (size_t i = 0; i < out->n; i++) {
        knd_cli_file_t *f = &out->v[i];
        knd_err_t err;
        knd_err_clear(&err);
        if (knd_yaml_load_file(f->path, &f->docs, &f->ndocs, &err) == 0)
            continue;
        f->docs = NULL;
        f->ndocs = 0;
        f->failed = true;
        /* Syntax errors carry "LINE:COL: message"; I/O errors are plain text. */
        fprintf(stderr, "%s%s%s\n", f->display,
                err.msg[0] >= '0' && err.msg[0] <= '9' ? ":" : ": ", err.msg);
        if (err.code == KND_E_INVALID)
            worst = KND_EXIT_INVALID;
        else if (worst < KND_EXIT_FAIL)
            worst = KND_EXIT_FAIL;
    }
    return worst;
}

void knd_cli_files_free(knd_cli_files_t *files)
{
    for (size_t i = 0; i < files->n; i++) {
        knd_yaml_docs_free(files->v[i].docs, files->v[i].ndocs);
        free(files->v[i].path);
        free(files->v[i].display);
    }
    free(files->v);
    memset(files, 0, sizeof(*files));
}

static bool knd_cli_is_platform_cm(const json_t *obj)
{
    return strcmp(knd_json_str(obj, "kind", ""), "ConfigMap") == 0 &&
           strcmp(knd_json_str(obj, "metadata.namespace", ""), KND_SYSTEM_NAMESPACE) == 0 &&
           knd_platform_is_config_name(knd_json_str(obj, "metadata.name", ""));
}

static void knd_cli_print_errs(knd_buf_t *out, const knd_cli_file_t *f, const knd_doc_t *doc,
                               const knd_errlist_t *errs)
{
    for (size_t e = 0; e < errs->n; e++) {
        int line, col;
        knd_doc_pos(doc, errs->v[e].path, &line, &col);
        knd_output_field_error(out, f->display, line, col, errs->v[e].path, errs->v[e].msg);
        if (errs->v[e].details)
            knd_buf_printf(out, "    %s\n", errs->v[e].details);
    }
}

size_t knd_cli_validate_file_with(const knd_cli_file_t *f, const knd_platform_t *p,
                                  knd_buf_t *out)
{
    size_t bad = 0;
    for (size_t d = 0; d < f->ndocs; d++) {
        const json_t *root = f->docs[d].root;
        knd_errlist_t errs;
        knd_errlist_init(&errs);
        int rc = knd_model_validate(root, p, &errs);
        if (rc == 0 && knd_cli_is_platform_cm(root)) {
            /* The daemon parses platform ConfigMaps' values too: so does validate. */
            knd_platform_t copy;
            knd_platform_copy(&copy, p);
            rc = knd_platform_apply_configmap(&copy, root, &errs);
            knd_platform_free(&copy);
        }
        if (rc != 0) {
            bad++;
            knd_cli_print_errs(out, f, &f->docs[d], &errs);
        }
        knd_errlist_free(&errs);
    }
    return bad;
}

size_t knd_cli_validate_file(const knd_cli_file_t *f, knd_buf_t *out)
{
    knd_platform_t p;
    knd_cli_files_t one = {.v = (knd_cli_file_t *)f, .n = 1};
    knd_cli_platform(NULL, &one, &p);
    size_t bad = knd_cli_validate_file_with(f, &p, out);
    knd_platform_free(&p);
    return bad;
}

static void knd_cli_platform_apply(knd_platform_t *p, const json_t *cm)
{
    knd_errlist_t errs;
    knd_errlist_init(&errs);
    knd_platform_apply_configmap(p, cm, &errs); /* a bad one is reported by validation */
    knd_errlist_free(&errs);
}

void knd_cli_platform(const knd_cli_t *cli, const knd_cli_files_t *files, knd_platform_t *p)
{
    knd_platform_init(p, NULL);
    if (cli) {
        knd_client_resp_t resp;
        knd_client_resp_init(&resp);
        if (knd_cli_call_quiet(cli, "GET", "/api/v1/namespaces/" KND_SYSTEM_NAMESPACE
                               "/configmaps", &resp) == 0 && resp.status == 200) {
            json_t *list = json_loadb(resp.body.p ? resp.body.p : "", resp.body.len, 0, NULL);
            size_t i;
            json_t *cm;
            json_array_foreach(json_object_get(list, "items"), i, cm) knd_cli_platform_apply(p, cm);
            json_decref(list);
        }
        knd_client_resp_free(&resp);
    }
    for (size_t i = 0; files && i < files->n; i++)
        for (size_t d = 0; d < files->v[i].ndocs; d++)
            if (knd_cli_is_platform_cm(files->v[i].docs[d].root))
                knd_cli_platform_apply(p, files->v[i].docs[d].root);
}

size_t knd_cli_validate_files(const knd_cli_files_t *files, const knd_platform_t *p,
                              FILE *errout)
{
    knd_buf_t out;
    size_t bad = 0;
    knd_buf_init(&out);
    for (size_t i = 0; i < files->n; i++)
        bad += knd_cli_validate_file_with(&files->v[i], p, &out);
    fputs(knd_buf_cstr(&out), errout);
    knd_buf_free(&out);
    return bad;
}
