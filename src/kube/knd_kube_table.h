/*
 * knd_kube_table.h - meta.k8s.io/v1 Table rendering for `kubectl get` (shared/kubernetes-api.md
 * §6): Knative's additionalPrinterColumns for its kinds, and the apiserver's columns for the
 * core kinds knd serves. Pure: objects in, Table document out.
 */
#ifndef KND_KUBE_TABLE_H
#define KND_KUBE_TABLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "knd_model.h"

typedef enum {
    KND_KUBE_INCLUDE_METADATA = 0, /* rows[].object is a PartialObjectMetadata (the default) */
    KND_KUBE_INCLUDE_OBJECT,       /* rows[].object is the full object */
    KND_KUBE_INCLUDE_NONE,         /* no rows[].object */
} knd_kube_include_t;

/** True if an Accept header asks for a Table (`as=Table` with g=meta.k8s.io, any version). */
bool knd_kube_accept_table(const char *accept);
/**
 * True if one media range of an Accept header (a comma-separated list, parameters after `;`,
 * spaces allowed, names case-insensitive, quoted values unquoted) has as=<as>, g=<g> and, if v is
 * not NULL, v=<v>. The building block of knd_kube_accept_table and knd_kube_accept_aggregated.
 */
bool knd_kube_accept_match(const char *accept, const char *as, const char *g, const char *v);
/**
 * The core v1 Event kind (events, namespaced, short name ev), which model/'s kind table does not
 * list: pass it to knd_kube_table for `kubectl get events`. Static; lives forever.
 */
const knd_kind_info_t *knd_kube_event_kind(void);
/** Parses the includeObject query value (NULL or unknown: METADATA). */
knd_kube_include_t knd_kube_include_parse(const char *v);

/**
 * A Table (new reference) for the objects (a JSON array, borrowed) of one kind. rv is the
 * Table's metadata.resourceVersion (may be NULL: left out). now_s (Unix seconds) is the clock
 * for Age cells. with_columns false leaves columnDefinitions out (watch events after the first).
 * Events (kind "Event") are also supported for `kubectl get events`.
 */
json_t *knd_kube_table(const knd_kind_info_t *kind, const json_t *objects, knd_kube_include_t inc,
                       const char *rv, int64_t now_s, bool with_columns);

/** Kubernetes' short human duration for Age cells: 45s, 5m, 3h20m, 2d, 400d ("<invalid>" if
 * negative, as kubectl). */
void knd_kube_human_duration(int64_t seconds, char *out, size_t outlen);

#endif
