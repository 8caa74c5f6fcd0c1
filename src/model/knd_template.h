/*
 * knd_template.h - the small subset of Go's text/template that Knative's host templates use
 * (config-network domain-template and tag-template, config-defaults container-name-template).
 * Private to src/model/.
 *
 * Supported actions: {{.Name}}, {{.Namespace}}, {{.Domain}}, {{.Tag}} (each only where Knative's
 * value type has that field), {{index .Labels "key"}}, and Go's {{- / -}} whitespace trimming.
 * Anything else (pipelines, functions, if/range, .Annotations) is rejected when the ConfigMap is
 * applied, with a message naming what knd supports, so a template never fails later at routing.
 * Pure code; the caller owns every buffer.
 */
#ifndef KND_TEMPLATE_H
#define KND_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

#include "knd_buf.h"

/* Which Go value the template is executed against; it decides the fields that exist. */
typedef enum {
    KND_TMPL_DOMAIN = 0, /* config.DomainTemplateValues: Name Namespace Domain Labels */
    KND_TMPL_TAG,        /* config.TagTemplateValues: Name Tag */
    KND_TMPL_OBJECTMETA, /* metav1.ObjectMeta: Name Namespace GenerateName Labels */
} knd_tmpl_kind_t;

/* Values for the fields; NULL strings render as "", NULL labels as an empty map. Borrowed. */
typedef struct {
    const char *name;
    const char *ns;
    const char *domain;
    const char *tag;
    const json_t *labels;
} knd_tmpl_vals_t;

/**
 * Executes `tmpl` (named `tname` in messages, e.g. "domain-template") against v, appending the
 * result to out. Returns 0, or -1 with a Go-style message in err (err is always NUL-terminated).
 * Sets *uses_labels (if not NULL) when the template reads .Labels.
 */
int knd_tmpl_render(const char *tmpl, const char *tname, knd_tmpl_kind_t kind,
                    const knd_tmpl_vals_t *v, knd_buf_t *out, char *err, size_t errlen,
                    int *uses_labels);

#endif
