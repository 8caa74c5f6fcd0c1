/*
 * knd_output.c - tables, YAML/JSON renderings, names and ages for the CLI (see knd_output.h).
 * Pure: renders into buffers; the verbs decide where the bytes go.
 */
#include "knd_output.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "knd_alloc.h"

/* ---- tables ------------------------------------------------------------------------------- */

#define KND_TABLE_PAD 3

void knd_table_init(knd_table_t *t, size_t ncols)
{
    t->ncols = ncols;
    t->nrows = 0;
    t->cells = NULL;
}

void knd_table_free(knd_table_t *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = 0;
}

void knd_table_add(knd_table_t *t, const char *const *cells)
{
    t->cells = knd_xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(char *));
    for (size_t c = 0; c < t->ncols; c++)
        t->cells[t->nrows * t->ncols + c] = knd_xstrdup(cells[c] ? cells[c] : "");
    t->nrows++;
}

void knd_table_render(const knd_table_t *t, knd_buf_t *out)
{
    size_t *w = knd_xcalloc(t->ncols ? t->ncols : 1, sizeof(size_t));
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t n = strlen(t->cells[r * t->ncols + c]);
            if (n > w[c])
                w[c] = n;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        size_t start = out->len;
        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            knd_buf_puts(out, cell);
            if (c + 1 < t->ncols)
                knd_buf_printf(out, "%*s", (int)(w[c] - strlen(cell) + KND_TABLE_PAD), "");
        }
        while (out->len > start && out->p[out->len - 1] == ' ')
            out->len--;
        knd_buf_puts(out, "\n");
    }
    free(w);
}

/* ---- JSON --------------------------------------------------------------------------------- */

void knd_output_json(const json_t *v, knd_buf_t *out)
{
    char *s = json_dumps(v, JSON_INDENT(4) | JSON_ENCODE_ANY);
    knd_buf_puts(out, s ? s : "null");
    knd_buf_puts(out, "\n");
    free(s);
}

/* ---- YAML --------------------------------------------------------------------------------- */

bool knd_output_yaml_needs_quotes(const char *s)
{
    static const char *const words[] = {"~", "null", "true", "false", "yes", "no", "on", "off",
                                        "y", "n", ".inf", "-.inf", "+.inf", ".nan", "<<", "="};
    if (*s == '\0')
        return true;
    for (size_t i = 0; i < KND_ARRAY_SIZE(words); i++)
        if (strcasecmp(s, words[i]) == 0)
            return true;
    /* Anything starting like a number may resolve as an int, float, sexagesimal or timestamp
     * in one YAML flavour or another: quoting it is always safe. */
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (*p == '.')
        p++;
    return isdigit((unsigned char)*p) != 0;
}

static int knd_output_yaml_write(void *data, unsigned char *buffer, size_t size)
{
    knd_buf_append(data, buffer, size);
    return 1;
}

static void knd_output_yaml_scalar(yaml_emitter_t *e, const char *s, size_t n,
                                   yaml_scalar_style_t style)
{
    yaml_event_t ev;
    yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)n, 1, 1, style);
    KND_ASSERT(yaml_emitter_emit(e, &ev));
}

/* Shortest %g form that reads back exactly, always recognisable as a float. */
static void knd_output_yaml_real(double d, char out[40])
{
    if (isnan(d)) {
        strcpy(out, ".nan");
        return;
    }
    if (isinf(d)) {
        strcpy(out, d < 0 ? "-.inf" : ".inf");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, 40, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            break;
    }
    if (strpbrk(out, ".eE") == NULL)
        strcat(out, ".0");
}

static void knd_output_yaml_value(yaml_emitter_t *e, const json_t *v)
{
    yaml_event_t ev;
    char num[40];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *child;
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
                                            json_object_size(v) ? YAML_BLOCK_MAPPING_STYLE
                                                                : YAML_FLOW_MAPPING_STYLE);
        KND_ASSERT(yaml_emitter_emit(e, &ev));
        json_object_foreach((json_t *)v, k, child) {
            knd_output_yaml_scalar(e, k, strlen(k),
                                   knd_output_yaml_needs_quotes(k) ? YAML_SINGLE_QUOTED_SCALAR_STYLE
                                                                   : YAML_ANY_SCALAR_STYLE);
            knd_output_yaml_value(e, child);
        }
        yaml_mapping_end_event_initialize(&ev);
        KND_ASSERT(yaml_emitter_emit(e, &ev));
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *child;
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                             json_array_size(v) ? YAML_BLOCK_SEQUENCE_STYLE
                                                                : YAML_FLOW_SEQUENCE_STYLE);
        KND_ASSERT(yaml_emitter_emit(e, &ev));
        json_array_foreach(v, i, child) knd_output_yaml_value(e, child);
        yaml_sequence_end_event_initialize(&ev);
        KND_ASSERT(yaml_emitter_emit(e, &ev));
        break;
    }
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
        if (knd_output_yaml_needs_quotes(s))
            style = YAML_SINGLE_QUOTED_SCALAR_STYLE;
        else if (memchr(s, '\n', n) != NULL)
            style = YAML_LITERAL_SCALAR_STYLE;
        knd_output_yaml_scalar(e, s, n, style);
        break;
    }
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        knd_output_yaml_scalar(e, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
        break;
    case JSON_REAL:
        knd_output_yaml_real(json_real_value(v), num);
        knd_output_yaml_scalar(e, num, strlen(num), YAML_PLAIN_SCALAR_STYLE);
        break;
    case JSON_TRUE:
        knd_output_yaml_scalar(e, "true", 4, YAML_PLAIN_SCALAR_STYLE);
        break;
    case JSON_FALSE:
        knd_output_yaml_scalar(e, "false", 5, YAML_PLAIN_SCALAR_STYLE);
        break;
    case JSON_NULL:
        knd_output_yaml_scalar(e, "null", 4, YAML_PLAIN_SCALAR_STYLE);
        break;
    }
}

void knd_output_yaml(const json_t *v, knd_buf_t *out)
{
    yaml_emitter_t e;
    yaml_event_t ev;
    KND_ASSERT(yaml_emitter_initialize(&e));
    yaml_emitter_set_output(&e, knd_output_yaml_write, out);
    yaml_emitter_set_unicode(&e, 1);
    yaml_emitter_set_indent(&e, 2);
    yaml_emitter_set_width(&e, -1);
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    KND_ASSERT(yaml_emitter_emit(&e, &ev));
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    KND_ASSERT(yaml_emitter_emit(&e, &ev));
    knd_output_yaml_value(&e, v);
    yaml_document_end_event_initialize(&ev, 1);
    KND_ASSERT(yaml_emitter_emit(&e, &ev));
    yaml_stream_end_event_initialize(&ev);
    KND_ASSERT(yaml_emitter_emit(&e, &ev));
    yaml_emitter_delete(&e);
}

/* ---- names -------------------------------------------------------------------------------- */

void knd_output_kind_ref(knd_buf_t *out, const knd_kind_info_t *info)
{
    knd_buf_puts(out, info->singular);
    if (info->group != NULL && info->group[0] != '\0')
        knd_buf_printf(out, ".%s", info->group);
}

void knd_output_name(knd_buf_t *out, const knd_kind_info_t *info, const char *name)
{
    knd_output_kind_ref(out, info);
    knd_buf_printf(out, "/%s", name);
}

void knd_output_resource_ref(knd_buf_t *out, const knd_kind_info_t *info)
{
    knd_buf_puts(out, info->resource);
    if (info->group != NULL && info->group[0] != '\0')
        knd_buf_printf(out, ".%s", info->group);
}

/* ---- ages --------------------------------------------------------------------------------- */

void knd_output_human_duration(int64_t s, char out[32])
{
    const int64_t m = s / 60, h = s / 3600, d = h / 24;
    if (s < -1)
        snprintf(out, 32, "<invalid>");
    else if (s < 0)
        snprintf(out, 32, "0s");
    else if (s < 120)
        snprintf(out, 32, "%llds", (long long)s);
    else if (m < 10 && s % 60 != 0)
        snprintf(out, 32, "%lldm%llds", (long long)m, (long long)(s % 60));
    else if (m < 180)
        snprintf(out, 32, "%lldm", (long long)m);
    else if (h < 8 && m % 60 != 0)
        snprintf(out, 32, "%lldh%lldm", (long long)h, (long long)(m % 60));
    else if (h < 48)
        snprintf(out, 32, "%lldh", (long long)h);
    else if (h < 24 * 8 && h % 24 != 0)
        snprintf(out, 32, "%lldd%lldh", (long long)d, (long long)(h % 24));
    else if (h < 24 * 365 * 2)
        snprintf(out, 32, "%lldd", (long long)d);
    else if (h < 24 * 365 * 8 && d % 365 != 0)
        snprintf(out, 32, "%lldy%lldd", (long long)(d / 365), (long long)(d % 365));
    else
        snprintf(out, 32, "%lldy", (long long)(d / 365));
}

int knd_output_parse_time(const char *ts, time_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *p = ts ? strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (p == NULL)
        return -1;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
            return -1;
        off = (hh * 3600L + mm * 60L) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    *out = timegm(&tm) - off;
    return 0;
}

void knd_output_age(const char *ts, time_t now, char out[32])
{
    time_t t;
    if (knd_output_parse_time(ts, &t) != 0) {
        snprintf(out, 32, "<unknown>");
        return;
    }
    knd_output_human_duration((int64_t)(now - t), out);
}

/* ---- validation errors -------------------------------------------------------------------- */

void knd_output_field_error(knd_buf_t *out, const char *file, int line, int col,
                            const char *path, const char *msg)
{
    if (path != NULL && path[0] != '\0')
        knd_buf_printf(out, "%s:%d:%d: %s: %s\n", file, line, col, path, msg);
    else
        knd_buf_printf(out, "%s:%d:%d: %s\n", file, line, col, msg);
}
