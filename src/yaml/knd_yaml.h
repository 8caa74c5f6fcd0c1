/*
 * knd_yaml.h - manifests in, jansson trees out, with line:col kept for every node.
 *
 * A stream (multi-document YAML, or JSON, which is YAML too) becomes an array of knd_doc_t. Each
 * document's tree is plain jansson; positions live beside it in a map from field path to
 * line:col, so model/ (pure, position-free) reports errors by field path and the caller turns a
 * path back into FILE:LINE:COL with knd_doc_pos().
 *
 * Field paths use Knative's FieldError syntax: object keys joined by '.', list items as [i]:
 *   spec.template.spec.containers[0].image
 *   metadata.annotations.autoscaling.knative.dev/min-scale   (keys are appended verbatim)
 *
 * Rejected with a clear error naming line:col: syntax errors, duplicate keys, anchors/aliases/
 * merge keys, non-scalar or non-string-able keys, nesting deeper than KND_YAML_MAX_DEPTH,
 * more than KND_YAML_MAX_DOCS documents.
 *
 * Positions: 1-based line and column of where a node starts, except that a mapping value is
 * located at its KEY (the line a user edits for `spec.foo: bad`); list items at the item itself;
 * the document root ("") at the root node.
 *
 * Scalars follow what Kubernetes' YAML decoder (sigs.k8s.io/yaml, i.e. go-yaml v2's YAML 1.1
 * resolver) produces: quoted and block scalars -> string; plain null/Null/NULL/~/empty -> null;
 * true/True/TRUE, false/False/FALSE and the YAML 1.1 words y/Y/yes/Yes/YES, n/N/no/No/NO,
 * on/On/ON, off/Off/OFF -> bool; integers after dropping '_' (decimal, 0x, 0o, 0b, leading-0
 * octal: 017 is 15) -> integer; decimal floats (1.5, 1e3, .5, "08") -> real; everything else ->
 * string. Integers above INT64_MAX that fit uint64 become reals (jansson integers are int64);
 * larger ones follow go-yaml to a real if they look decimal, else stay strings. .inf/.nan resolve
 * to floats but JSON cannot hold them, so they are rejected, as kubectl does.
 * Explicit tags !!str !!int !!bool !!float !!null are honoured; other tags are rejected. Non-string
 * keys are stringified as Kubernetes does (`1: x` -> "1", `yes: x` -> "true"); null keys rejected.
 */
#ifndef KND_YAML_H
#define KND_YAML_H

#include <jansson.h>
#include <stddef.h>

#include "knd_types.h"

#define KND_YAML_MAX_DEPTH 64
#define KND_YAML_MAX_DOCS 10000
#define KND_YAML_MAX_FILE_SIZE (16u * 1024 * 1024) /* knd_yaml_load_file refuses more */

typedef struct knd_posmap_s knd_posmap_t; /* opaque: path -> line:col */

struct knd_doc_s {
    json_t *root;       /* owned; the document's value (NULL for an empty document, skipped) */
    knd_posmap_t *pos;  /* owned */
    int line;           /* 1-based line where the document starts */
};

/**
 * Parses `len` bytes of `data` (need not be NUL-terminated). `filename` is only used in error
 * messages. On success returns 0 with *docs a new array of *ndocs documents (empty documents, e.g.
 * a trailing `---`, are dropped). On failure returns -1, err->code KND_E_INVALID and err->msg
 * "LINE:COL: message" (no filename: the caller prefixes it).
 */
int knd_yaml_load(const char *data, size_t len, const char *filename, knd_doc_t **docs,
                  size_t *ndocs, knd_err_t *err);

/**
 * Reads a whole file (or stdin for "-", not closed) and calls knd_yaml_load. Unreadable files
 * and input over KND_YAML_MAX_FILE_SIZE fail with KND_E_INVALID ("open FILE: <strerror>").
 */
int knd_yaml_load_file(const char *path, knd_doc_t **docs, size_t *ndocs, knd_err_t *err);

void knd_yaml_docs_free(knd_doc_t *docs, size_t ndocs);

/**
 * Finds the position of `path` in doc; if the path itself is absent (e.g. a missing required
 * field), the nearest existing ancestor's position is returned. Always succeeds: falls back to the
 * document start. line/col are 1-based.
 */
void knd_doc_pos(const knd_doc_t *doc, const char *path, int *line, int *col);

#endif
