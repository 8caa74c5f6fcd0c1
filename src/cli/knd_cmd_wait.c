/*
 * knd_cmd_wait.c - `knd wait KIND NAME --for=condition=TYPE[=STATUS] | --for=delete
 * [--timeout 30s]`: as kubectl wait does, one GET, then a watch of that one name
 * (fieldSelector=metadata.name=NAME) until an event meets the condition, so the answer comes
 * as soon as the status changes, not at the next poll. A condition reported for an older
 * generation (status.observedGeneration < metadata.generation) does not count, so `apply`
 * followed by `wait` waits for the new spec.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "knd_alloc.h"
#include "knd_cli.h"
#include "knd_json.h"
#include "knd_output.h"
#include "knd_time.h"

enum {
    KND_WAIT_F_FOR = KND_CLI_F_VERB,
    KND_WAIT_F_TIMEOUT,
};

#define KND_WAIT_DEFAULT_TIMEOUT_MS 30000
#define KND_WAIT_RETRY_MS 100

int knd_cli_wait_parse_for(const char *spec, knd_cli_wait_for_t *out)
{
    memset(out, 0, sizeof(*out));
    if (strcasecmp(spec, "delete") == 0) {
        out->is_delete = true;
        return 0;
    }
    if (strncasecmp(spec, "condition=", 10) != 0 || spec[10] == '\0')
        return -1;
    const char *type = spec + 10, *eq = strchr(type, '=');
    size_t n = eq ? (size_t)(eq - type) : strlen(type);
    if (n == 0 || n >= sizeof(out->type) || (eq && (eq[1] == '\0' ||
                                                    strlen(eq + 1) >= sizeof(out->status))))
        return -1;
    memcpy(out->type, type, n);
    out->type[n] = '\0';
    snprintf(out->status, sizeof(out->status), "%s", eq ? eq + 1 : "True");
    return 0;
}

bool knd_cli_wait_condition_met(const json_t *obj, const knd_cli_wait_for_t *w)
{
    json_t *og = knd_json_path(obj, "status.observedGeneration");
    json_t *gen = knd_json_path(obj, "metadata.generation");
    if (json_is_integer(og) && json_is_integer(gen) &&
        json_integer_value(og) < json_integer_value(gen))
        return false;
    const json_t *c = knd_output_condition(obj, w->type);
    if (c == NULL)
        return false;
    json_t *cog = json_object_get(c, "observedGeneration");
    if (json_is_integer(cog) && json_is_integer(gen) &&
        json_integer_value(cog) < json_integer_value(gen))
        return false;
    return strcasecmp(knd_json_str(c, "status", ""), w->status) == 0;
}

/* 1 met, 0 not yet, or -(exit code) after printing an error. *rv: the object's
 * resourceVersion (owned), or NULL when it does not exist. */
static int knd_wait_check(const knd_cli_t *cli, const knd_kind_info_t *info, const char *name,
                          const knd_cli_wait_for_t *w, char **rv)
{
    knd_buf_t path;
    knd_client_resp_t resp;
    int rc = 0;
    knd_buf_init(&path);
    knd_client_resp_init(&resp);
    knd_cli_path(&path, info, cli->ns, name);
    if (knd_cli_call(cli, "GET", path.p, NULL, NULL, NULL, &resp) != 0) {
        rc = -KND_EXIT_FAIL;
    } else if (resp.status == 404) {
        rc = w->is_delete ? 1 : 0;
    } else if (resp.status / 100 != 2) {
        rc = -knd_cli_print_server_error(&resp);
    } else {
        json_t *obj = json_loadb(resp.body.p ? resp.body.p : "", resp.body.len, 0, NULL);
        const char *v = knd_json_str(obj, "metadata.resourceVersion", NULL);
        *rv = v ? knd_xstrdup(v) : NULL;
        rc = !w->is_delete && obj != NULL && knd_cli_wait_condition_met(obj, w);
        json_decref(obj);
    }
    knd_client_resp_free(&resp);
    knd_buf_free(&path);
    return rc;
}

/* A watch's body: one JSON event per line ({"type": ..., "object": ...}). */
typedef struct {
    const knd_cli_wait_for_t *w;
    knd_buf_t line;
    bool met;
} knd_wait_watch_t;

static bool knd_wait_event_meets(const knd_wait_watch_t *ww, const char *p, size_t n)
{
    json_t *ev = json_loadb(p, n, 0, NULL);
    const char *type = knd_json_str(ev, "type", "");
    bool met;
    if (ww->w->is_delete)
        met = strcmp(type, "DELETED") == 0;
    else
        met = (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) &&
              json_is_object(json_object_get(ev, "object")) &&
              knd_cli_wait_condition_met(json_object_get(ev, "object"), ww->w);
    json_decref(ev);
    return met;
}

static int knd_wait_watch_sink(void *ud, const char *p, size_t n)
{
    knd_wait_watch_t *ww = ud;
    if (n == 0)
        return 0;
    knd_buf_append(&ww->line, p, n);
    char *start = ww->line.p, *end = ww->line.p + ww->line.len, *nl;
    while ((nl = memchr(start, '\n', (size_t)(end - start))) != NULL) {
        if (knd_wait_event_meets(ww, start, (size_t)(nl - start))) {
            ww->met = true;
            return -1; /* enough: stop reading */
        }
        start = nl + 1;
    }
    size_t rest = (size_t)(end - start);
    memmove(ww->line.p, start, rest);
    ww->line.len = rest;
    return 0;
}

/*
 * Watches name until an event meets the condition or the server ends the watch (timeoutSeconds,
 * rounded up from the time left, or a resourceVersion too old to resume from). 1 met, 0 not
 * yet, or -(exit code) after printing an error. No change between the GET and the watch is
 * missed: from the GET's resourceVersion the server replays what followed it; for an object
 * that did not exist, the watch opens with the current state (ADDED if it exists by then).
 */
static int knd_wait_watch(const knd_cli_t *cli, const knd_kind_info_t *info, const char *name,
                          const knd_cli_wait_for_t *w, const char *rv, uint64_t left_ms)
{
    knd_buf_t path;
    knd_client_resp_t resp;
    knd_wait_watch_t ww = {.w = w};
    int rc = 0;
    knd_buf_init(&path);
    knd_buf_init(&ww.line);
    knd_client_resp_init(&resp);
    knd_cli_path(&path, info, cli->ns, NULL);
    knd_buf_puts(&path, "?watch=1&fieldSelector=metadata.name%3D");
    knd_cli_urlencode(&path, name);
    knd_buf_puts(&path, "&timeoutSeconds=");
    knd_buf_put_i64(&path, (int64_t)((left_ms + 999) / 1000));
    if (rv != NULL) {
        knd_buf_puts(&path, "&resourceVersion=");
        knd_cli_urlencode(&path, rv);
    }
    if (knd_cli_call(cli, "GET", path.p, NULL, knd_wait_watch_sink, &ww, &resp) != 0)
        rc = -KND_EXIT_FAIL;
    else if (resp.status / 100 != 2)
        rc = -knd_cli_print_server_error(&resp);
    else
        rc = ww.met;
    knd_client_resp_free(&resp);
    knd_buf_free(&ww.line);
    knd_buf_free(&path);
    return rc;
}

static int knd_wait_loop(const knd_cli_t *cli, const knd_kind_info_t *info, const char *name,
                         const knd_cli_wait_for_t *w, int64_t timeout_ms)
{
    uint64_t deadline = knd_time_mono_ms() + (uint64_t)timeout_ms;
    for (;;) {
        char *rv = NULL;
        int r = knd_wait_check(cli, info, name, w, &rv);
        uint64_t now = knd_time_mono_ms();
        if (r == 0 && now < deadline) {
            r = knd_wait_watch(cli, info, name, w, rv, deadline - now);
            if (r == 0 && knd_time_mono_ms() - now < KND_WAIT_RETRY_MS) {
                /* a watch that ends at once must not turn into a busy loop */
                struct timespec ts = {0, KND_WAIT_RETRY_MS * 1000000L};
                nanosleep(&ts, NULL);
            }
        }
        free(rv);
        if (r < 0)
            return -r;
        if (r == 1) {
            knd_buf_t ref;
            knd_buf_init(&ref);
            knd_output_name(&ref, info, name);
            printf("%s condition met\n", ref.p);
            knd_buf_free(&ref);
            return KND_EXIT_OK;
        }
        if (knd_time_mono_ms() >= deadline)
            break;
        /* the watch ended early (expired resourceVersion, server closing): look again */
    }
    fprintf(stderr, "error: timed out waiting for the condition on %s/%s\n", info->resource, name);
    return KND_EXIT_FAIL;
}

int knd_cmd_wait(knd_cli_t *cli, int argc, char **argv)
{
    static const knd_cli_flag_t flags[] = {KND_CLI_COMMON_FLAGS,
                                           {"for", 0, true, KND_WAIT_F_FOR},
                                           {"timeout", 0, true, KND_WAIT_F_TIMEOUT},
                                           {NULL, 0, false, 0}};
    knd_cli_args_t a;
    knd_cli_wait_for_t w;
    bool have_for = false;
    const char *pos[2] = {NULL, NULL};
    size_t npos = 0;
    int64_t timeout_ms = KND_WAIT_DEFAULT_TIMEOUT_MS;
    int id;

    knd_cli_args_init(&a, argc, argv, 1, flags);
    while ((id = knd_cli_args_next(&a)) != KND_CLI_ARG_END) {
        if (id == KND_CLI_ARG_ERR)
            return knd_cli_usage_error(cli, "%s", a.err);
        if (id == KND_CLI_ARG_POS) {
            if (npos == 2)
                return knd_cli_usage_error(cli, "unexpected argument \"%s\"", a.val);
            pos[npos++] = a.val;
        } else if (id == KND_WAIT_F_FOR) {
            if (knd_cli_wait_parse_for(a.val, &w) != 0)
                return knd_cli_usage_error(cli, "unrecognized condition: \"%s\"", a.val);
            have_for = true;
        } else if (id == KND_WAIT_F_TIMEOUT) {
            if (knd_time_parse_duration_ms(a.val, &timeout_ms) != 0 || timeout_ms < 0)
                return knd_cli_usage_error(cli, "invalid --timeout \"%s\"", a.val);
        } else if (!knd_cli_common_flag(cli, id, a.val)) {
            return knd_cli_usage_error(cli, "unexpected argument \"--\"");
        }
    }
    if (cli->help)
        return knd_cli_print_help(cli);
    if (npos != 2)
        return knd_cli_usage_error(cli, "expected a resource type and a name");
    if (!have_for)
        return knd_cli_usage_error(cli, "--for must be specified");
    const knd_kind_info_t *info = knd_cli_kind(pos[0]);
    if (info == NULL)
        return knd_cli_usage_error(cli, "the server doesn't have a resource type \"%s\"",
                                   pos[0]);
    knd_cli_finish_flags(cli);
    return knd_wait_loop(cli, info, pos[1], &w, timeout_ms);
}
