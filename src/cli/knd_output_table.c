/*
 * knd_output_table.c - the per-kind columns of `knd get` (kubectl's and kn's printers): a table
 * of (header, getter) per kind, rendered with knd_table_t. Pure: reads API objects only.
 */
#include <stdio.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_json.h"
#include "knd_output.h"

const json_t *knd_output_condition(const json_t *obj, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach(knd_json_path(obj, "status.conditions"), i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t != NULL && strcmp(t, type) == 0)
            return c;
    }
    return NULL;
}

const char *knd_output_label(const json_t *obj, const char *key, const char *def)
{
    const char *v = json_string_value(json_object_get(knd_json_path(obj, "metadata.labels"), key));
    return v ? v : def;
}

/* ---- columns ------------------------------------------------------------------------------ */

typedef const char *(*knd_output_tbl_col_cb)(const json_t *obj, time_t now, char *buf, size_t len);

typedef struct {
    const char *header;
    knd_output_tbl_col_cb get;
    bool wide_only;
} knd_output_tbl_col_t;

static const char *knd_output_tbl_col_name(const json_t *o, time_t now, char *b, size_t n)
{
    return knd_json_str(o, "metadata.name", "");
}

static const char *knd_output_tbl_col_url(const json_t *o, time_t now, char *b, size_t n)
{
    return knd_json_str(o, "status.url", "");
}

static const char *knd_output_tbl_col_latest_ready(const json_t *o, time_t now, char *b, size_t n)
{
    return knd_json_str(o, "status.latestReadyRevisionName", "");
}

static const char *knd_output_tbl_col_latest_created(const json_t *o, time_t now, char *b, size_t n)
{
    return knd_json_str(o, "status.latestCreatedRevisionName", "");
}

static const char *knd_output_tbl_col_ready(const json_t *o, time_t now, char *b, size_t n)
{
    const json_t *c = knd_output_condition(o, "Ready");
    return c ? knd_json_str(c, "status", "Unknown") : "Unknown";
}

static const char *knd_output_tbl_col_reason(const json_t *o, time_t now, char *b, size_t n)
{
    return knd_json_str(knd_output_condition(o, "Ready"), "reason", "");
}

static const char *knd_output_tbl_col_age(const json_t *o, time_t now, char *b, size_t n)
{
    char age[32];
    knd_output_age(knd_json_str(o, "metadata.creationTimestamp", NULL), now, age);
    snprintf(b, n, "%s", age);
    return b;
}

static const char *knd_output_tbl_col_config(const json_t *o, time_t now, char *b, size_t n)
{
    return knd_output_label(o, "serving.knative.dev/configuration", "");
}

static const char *knd_output_tbl_col_generation(const json_t *o, time_t now, char *b, size_t n)
{
    return knd_output_label(o, "serving.knative.dev/configurationGeneration", "");
}

static const char *knd_output_tbl_col_int(const json_t *o, const char *path, char *b, size_t n)
{
    json_t *v = knd_json_path(o, path);
    if (!json_is_integer(v))
        return "";
    snprintf(b, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return b;
}

static const char *knd_output_tbl_col_actual(const json_t *o, time_t now, char *b, size_t n)
{
    return knd_output_tbl_col_int(o, "status.actualReplicas", b, n);
}

static const char *knd_output_tbl_col_desired(const json_t *o, time_t now, char *b, size_t n)
{
    return knd_output_tbl_col_int(o, "status.desiredReplicas", b, n);
}

static const char *knd_output_tbl_col_data(const json_t *o, time_t now, char *b, size_t n)
{
    size_t count = json_object_size(json_object_get(o, "data")) +
                   json_object_size(json_object_get(o, "binaryData"));
    snprintf(b, n, "%zu", count);
    return b;
}

#define KND_OUTPUT_TBL_COLS_MAX 10

static const struct {
    knd_kind_t kind;
    knd_output_tbl_col_t cols[KND_OUTPUT_TBL_COLS_MAX];
} knd_output_tbl_columns[] = {
    {KND_KIND_SERVICE,
     {{"NAME", knd_output_tbl_col_name, false}, {"URL", knd_output_tbl_col_url, false},
      {"LATEST", knd_output_tbl_col_latest_ready, false}, {"READY", knd_output_tbl_col_ready, false},
      {"REASON", knd_output_tbl_col_reason, false}, {"AGE", knd_output_tbl_col_age, true}}},
    {KND_KIND_REVISION,
     {{"NAME", knd_output_tbl_col_name, false}, {"CONFIG NAME", knd_output_tbl_col_config, false},
      {"GENERATION", knd_output_tbl_col_generation, false}, {"READY", knd_output_tbl_col_ready, false},
      {"REASON", knd_output_tbl_col_reason, false}, {"ACTUAL REPLICAS", knd_output_tbl_col_actual, false},
      {"DESIRED REPLICAS", knd_output_tbl_col_desired, false}, {"AGE", knd_output_tbl_col_age, true}}},
    {KND_KIND_ROUTE,
     {{"NAME", knd_output_tbl_col_name, false}, {"URL", knd_output_tbl_col_url, false},
      {"READY", knd_output_tbl_col_ready, false}, {"REASON", knd_output_tbl_col_reason, false},
      {"AGE", knd_output_tbl_col_age, true}}},
    {KND_KIND_CONFIGURATION,
     {{"NAME", knd_output_tbl_col_name, false}, {"LATESTCREATED", knd_output_tbl_col_latest_created, false},
      {"LATESTREADY", knd_output_tbl_col_latest_ready, false}, {"READY", knd_output_tbl_col_ready, false},
      {"REASON", knd_output_tbl_col_reason, false}, {"AGE", knd_output_tbl_col_age, true}}},
    {KND_KIND_DOMAINMAPPING,
     {{"NAME", knd_output_tbl_col_name, false}, {"URL", knd_output_tbl_col_url, false},
      {"READY", knd_output_tbl_col_ready, false}, {"REASON", knd_output_tbl_col_reason, false},
      {"AGE", knd_output_tbl_col_age, true}}},
    {KND_KIND_CONFIGMAP,
     {{"NAME", knd_output_tbl_col_name, false}, {"DATA", knd_output_tbl_col_data, false},
      {"AGE", knd_output_tbl_col_age, false}}},
    {KND_KIND_SECRET,
     {{"NAME", knd_output_tbl_col_name, false}, {"DATA", knd_output_tbl_col_data, false},
      {"AGE", knd_output_tbl_col_age, false}}},
    {KND_KIND_NAMESPACE, {{"NAME", knd_output_tbl_col_name, false}, {"AGE", knd_output_tbl_col_age, false}}},
};

static const knd_output_tbl_col_t *knd_output_tbl_columns_for(knd_kind_t kind)
{
    for (size_t i = 0; i < KND_ARRAY_SIZE(knd_output_tbl_columns); i++)
        if (knd_output_tbl_columns[i].kind == kind)
            return knd_output_tbl_columns[i].cols;
    return knd_output_tbl_columns[0].cols;
}

void knd_output_objects_table(const knd_kind_info_t *info, const json_t *items, bool wide, bool all_ns,
                       time_t now, knd_buf_t *out)
{
    const knd_output_tbl_col_t *cols = knd_output_tbl_columns_for(info->kind);
    const char *cells[KND_OUTPUT_TBL_COLS_MAX + 1];
    char scratch[KND_OUTPUT_TBL_COLS_MAX + 1][64];
    size_t ncols = 0, i;
    bool ns_col = all_ns && info->namespaced;
    knd_table_t t;
    json_t *item;

    if (ns_col)
        cells[ncols++] = "NAMESPACE";
    for (size_t c = 0; c < KND_OUTPUT_TBL_COLS_MAX && cols[c].header; c++)
        if (wide || !cols[c].wide_only)
            cells[ncols++] = cols[c].header;
    knd_table_init(&t, ncols);
    knd_table_add(&t, cells);
    json_array_foreach(items, i, item) {
        size_t k = 0;
        if (ns_col)
            cells[k++] = knd_json_str(item, "metadata.namespace", "");
        for (size_t c = 0; c < KND_OUTPUT_TBL_COLS_MAX && cols[c].header; c++)
            if (wide || !cols[c].wide_only) {
                cells[k] = cols[c].get(item, now, scratch[k], sizeof(scratch[k]));
                k++;
            }
        knd_table_add(&t, cells);
    }
    knd_table_render(&t, out);
    knd_table_free(&t);
}

