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
 * Scalars follow what Kubernetes' YAML decoder (sigs.k8s.io/yaml, YAML 1.1 flavour) produces:
 * quoted -> string; plain null/~/empty -> null; true/false (any case) -> bool; decimal, 0x, 0o
 * integers -> integer; decimal floats, .inf/.nan -> real; everything else -> string.
 * Explicit tags !!str !!int !!bool !!float !!null are honoured.
 */
#ifndef KND_YAML_H
#define KND_YAML_H

#include <jansson.h>
#include <stddef.h>

#include "knd_types.h"

#define KND_YAML_MAX_DEPTH 64
#define KND_YAML_MAX_DOCS 10000

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

/** Reads a whole file (or stdin for "-") and calls knd_yaml_load. */
int knd_yaml_load_file(const char *path, knd_doc_t **docs, size_t *ndocs, knd_err_t *err);

void knd_yaml_docs_free(knd_doc_t *docs, size_t ndocs);

/**
 * Finds the position of `path` in doc; if the path itself is absent (e.g. a missing required
 * field), the nearest existing ancestor's position is returned. Always succeeds: falls back to the
 * document start. line/col are 1-based.
 */
void knd_doc_pos(const knd_doc_t *doc, const char *path, int *line, int *col);

#endif
