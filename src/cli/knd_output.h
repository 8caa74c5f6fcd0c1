/*
 * knd_output.h - how the CLI prints: kubectl-style tables, YAML (libyaml's emitter) and JSON
 * renderings of objects, human ages, kubectl resource names, and validation error lines.
 * Everything renders into a caller-owned knd_buf_t, so it is testable without a terminal.
 */
#ifndef KND_OUTPUT_H
#define KND_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "knd_buf.h"
#include "knd_model.h"

/* ---- tables ------------------------------------------------------------------------------- */

/** A table of strings; the first row added is the header. Owns copies of every cell. */
typedef struct knd_table_s {
    size_t ncols;
    size_t nrows;
    char **cells; /* owned, row-major, nrows * ncols */
} knd_table_t;

void knd_table_init(knd_table_t *t, size_t ncols);
void knd_table_free(knd_table_t *t);
/** Appends a row of t->ncols cells (copied; NULL prints as ""). */
void knd_table_add(knd_table_t *t, const char *const *cells);
/**
 * Renders like kubectl's tabwriter: every column but the last padded to its widest cell plus 3
 * spaces; trailing blanks trimmed; one line per row.
 */
void knd_table_render(const knd_table_t *t, knd_buf_t *out);

/* ---- objects ---------------------------------------------------------------------------- */

/** The status condition of `type` in obj ("Ready"), or NULL. Borrowed from obj. */
const json_t *knd_output_condition(const json_t *obj, const char *type);
/** metadata.labels[key] or def. Borrowed from obj. */
const char *knd_output_label(const json_t *obj, const char *key, const char *def);
/**
 * Renders the `knd get` table of items (objects of kind info): kn/kubectl columns per kind,
 * AGE added with wide (Knative kinds), NAMESPACE first with all_ns. Ages are relative to now.
 */
void knd_output_objects_table(const knd_kind_info_t *info, const json_t *items, bool wide,
                              bool all_ns, time_t now, knd_buf_t *out);

/* ---- documents ---------------------------------------------------------------------------- */

/** Pretty JSON (4-space indent, as kubectl) plus a newline. */
void knd_output_json(const json_t *v, knd_buf_t *out);
/**
 * YAML for v through libyaml's emitter: block style, 2-space indent, strings that would read
 * back as another type (numbers, booleans incl. YAML 1.1 yes/no/on/off, null, ~, "") quoted.
 */
void knd_output_yaml(const json_t *v, knd_buf_t *out);
/** True if the plain scalar s would not read back as the string s. */
bool knd_output_yaml_needs_quotes(const char *s);

/* ---- names, ages, errors ------------------------------------------------------------------ */

/** Appends kubectl's resource reference: "service.serving.knative.dev" or "configmap". */
void knd_output_kind_ref(knd_buf_t *out, const knd_kind_info_t *info);
/** Appends "<kind ref>/<name>" (kubectl's -o name and apply lines). */
void knd_output_name(knd_buf_t *out, const knd_kind_info_t *info, const char *name);
/** Appends "<plural>.<group>" ("services.serving.knative.dev", "configmaps"). */
void knd_output_resource_ref(knd_buf_t *out, const knd_kind_info_t *info);

/** kubectl's HumanDuration: "45s", "3m20s", "5h2m", "3d4h", "2y"; into out[32]. */
void knd_output_human_duration(int64_t seconds, char out[32]);
/** Age of an RFC 3339 timestamp at `now`; "<unknown>" if ts is NULL or malformed. */
void knd_output_age(const char *ts, time_t now, char out[32]);
/** Parses "2006-01-02T15:04:05Z" (fraction and offset allowed); -1 if malformed. */
int knd_output_parse_time(const char *ts, time_t *out);

/** Appends `file:line:col: path: msg\n`, or `file:line:col: msg\n` when path is "" or NULL. */
void knd_output_field_error(knd_buf_t *out, const char *file, int line, int col,
                            const char *path, const char *msg);

#endif
