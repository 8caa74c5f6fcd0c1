/*
 * knd_cmd_describe.c - `knd describe KIND NAME`: a human view in the manner of
 * `kn service describe`. Every kind gets name, namespace, URL, age and conditions; a Service also
 * gets its traffic block (percent, revision, tag, tag URL) with each revision's images and
 * instances (actualReplicas/desiredReplicas), its revisions found by the
 * serving.knative.dev/service label.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "knd_alloc.h"
#include "knd_cli.h"
#include "knd_json.h"
#include "knd_output.h"

static const json_t *knd_describe_find_rev(const json_t *revs, const char *name)
{
    size_t i;
    json_t *r;
    json_array_foreach(revs, i, r) {
        if (name != NULL && strcmp(knd_json_str(r, "metadata.name", ""), name) == 0)
            return r;
    }
    return NULL;
}

/* The indented lines under one revision: tag URL, images, instances. */
static void knd_describe_rev_details(knd_buf_t *out, const json_t *rev, const char *tag_url)
{
    size_t i;
    json_t *c;
    if (tag_url != NULL && *tag_url)
        knd_buf_printf(out, "        URL:       %s\n", tag_url);
    if (rev == NULL)
        return;
    json_array_foreach(knd_json_path(rev, "spec.containers"), i, c) {
        knd_buf_printf(out, "        Image:     %s\n", knd_json_str(c, "image", ""));
    }
    json_t *act = knd_json_path(rev, "status.actualReplicas");
    json_t *des = knd_json_path(rev, "status.desiredReplicas");
    char a[32] = "?", d[32] = "?";
    if (json_is_integer(act))
        snprintf(a, sizeof(a), "%" JSON_INTEGER_FORMAT, json_integer_value(act));
    if (json_is_integer(des))
        snprintf(d, sizeof(d), "%" JSON_INTEGER_FORMAT, json_integer_value(des));
    knd_buf_printf(out, "        Replicas:  %s/%s\n", a, d);
    const json_t *ready = knd_output_condition(rev, "Ready");
    const char *reason = knd_json_str(ready, "reason", "");
    if (ready != NULL && strcmp(knd_json_str(ready, "status", ""), "True") != 0 && *reason)
        knd_buf_printf(out, "        Status:    %s %s\n", reason,
                       knd_json_str(ready, "message", ""));
}

static void knd_describe_rev_head(knd_buf_t *out, const json_t *rev, time_t now)
{
    char age[32];
    const char *gen = knd_output_label(rev, "serving.knative.dev/configurationGeneration", NULL);
    if (gen != NULL)
        knd_buf_printf(out, " [%s]", gen);
    if (rev != NULL) {
        knd_output_age(knd_json_str(rev, "metadata.creationTimestamp", NULL), now, age);
        knd_buf_printf(out, " (%s)", age);
    }
    knd_buf_puts(out, "\n");
}

static void knd_describe_traffic(knd_buf_t *out, const json_t *svc, const json_t *revs,
                                 time_t now)
{
    const json_t *traffic = knd_json_path(svc, "status.traffic");
    size_t i;
    json_t *t;
    knd_buf_puts(out, "\nRevisions:\n");
    if (json_array_size(traffic) == 0) {
        /* Not routed yet: show what exists. */
        json_array_foreach(revs, i, t) {
            knd_buf_printf(out, "        %s", knd_json_str(t, "metadata.name", ""));
            knd_describe_rev_head(out, t, now);
            knd_describe_rev_details(out, t, NULL);
        }
        return;
    }
    json_array_foreach(traffic, i, t) {
        const char *rname = knd_json_str(t, "revisionName", "");
        const char *tag = knd_json_str(t, "tag", NULL);
        const json_t *rev = knd_describe_find_rev(revs, rname);
        knd_buf_printf(out, "  %3lld%%  ", knd_json_int(t, "percent", 0));
        if (json_is_true(json_object_get(t, "latestRevision")))
            knd_buf_printf(out, "@latest (%s)", rname);
        else
            knd_buf_puts(out, rname);
        if (tag != NULL)
            knd_buf_printf(out, " #%s", tag);
        knd_describe_rev_head(out, rev, now);
        knd_describe_rev_details(out, rev, tag ? knd_json_str(t, "url", NULL) : NULL);
    }
}

static void knd_describe_conditions(knd_buf_t *out, const json_t *obj, time_t now)
{
    const char *hdr[] = {"TYPE", "STATUS", "AGE", "REASON", "MESSAGE"};
    knd_table_t tbl;
    knd_buf_t rendered;
    size_t i;
    json_t *c;
    knd_table_init(&tbl, 5);
    knd_table_add(&tbl, hdr);
    json_array_foreach(knd_json_path(obj, "status.conditions"), i, c) {
        char age[32];
        knd_output_age(knd_json_str(c, "lastTransitionTime", NULL), now, age);
        const char *row[] = {knd_json_str(c, "type", ""), knd_json_str(c, "status", ""), age,
                             knd_json_str(c, "reason", ""), knd_json_str(c, "message", "")};
        knd_table_add(&tbl, row);
    }
    knd_buf_init(&rendered);
    knd_table_render(&tbl, &rendered);
    knd_buf_puts(out, "\nConditions:\n");
    for (char *line = rendered.p, *nl; line && *line; line = nl + 1) {
        nl = strchr(line, '\n');
        knd_buf_printf(out, "  %.*s\n", (int)(nl - line), line);
    }
    knd_buf_free(&rendered);
    knd_table_free(&tbl);
}

static int knd_describe_run(const knd_cli_t *cli, const knd_kind_info_t *info, const char *name)
{
    json_t *obj = NULL, *revs = NULL;
    knd_buf_t out, sel;
    char age[32];
    time_t now = time(NULL);
    int rc = knd_cli_get_object(cli, info, cli->ns, name, &obj);
    if (rc != 0)
        return rc < 0 ? KND_EXIT_FAIL : rc;
    knd_buf_init(&out);
    knd_buf_init(&sel);
    knd_output_age(knd_json_str(obj, "metadata.creationTimestamp", NULL), now, age);
    knd_buf_printf(&out, "Name:       %s\n", knd_json_str(obj, "metadata.name", ""));
    if (info->namespaced)
        knd_buf_printf(&out, "Namespace:  %s\n", knd_json_str(obj, "metadata.namespace", ""));
    if (knd_json_str(obj, "status.url", NULL) != NULL)
        knd_buf_printf(&out, "URL:        %s\n", knd_json_str(obj, "status.url", ""));
    knd_buf_printf(&out, "Age:        %s\n", age);
    if (info->kind == KND_KIND_SERVICE) {
        const knd_kind_info_t *rinfo = knd_kind_info(KND_KIND_REVISION);
        knd_buf_printf(&sel, "serving.knative.dev/service=%s", name);
        rc = knd_cli_list_objects(cli, rinfo, cli->ns, sel.p, &revs);
        if (rc != 0)
            goto out;
        knd_describe_traffic(&out, obj, json_object_get(revs, "items"), now);
    } else if (info->kind == KND_KIND_REVISION) {
        knd_buf_puts(&out, "\n");
        knd_describe_rev_details(&out, obj, NULL);
    }
    knd_describe_conditions(&out, obj, now);
    fputs(out.p, stdout);

out:
    json_decref(obj);
    json_decref(revs);
    knd_buf_free(&out);
    knd_buf_free(&sel);
    return rc;
}

int knd_cmd_describe(knd_cli_t *cli, int argc, char **argv)
{
    static const knd_cli_flag_t flags[] = {KND_CLI_COMMON_FLAGS, {NULL, 0, false, 0}};
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
        } else if (!knd_cli_common_flag(cli, id, a.val)) {
            return knd_cli_usage_error(cli, "unexpected argument \"--\"");
        }
    }
    if (cli->help)
        return knd_cli_print_help(cli);
    if (npos != 2)
        return knd_cli_usage_error(cli, "expected a resource type and a name");
    const knd_kind_info_t *info = knd_cli_kind(pos[0]);
    if (info == NULL)
        return knd_cli_usage_error(cli, "the server doesn't have a resource type \"%s\"",
                                   pos[0]);
    knd_cli_finish_flags(cli);
    return knd_describe_run(cli, info, pos[1]);
}
