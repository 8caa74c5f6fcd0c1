/*
 * knd_model.h - the Knative objects knd accepts: kind table, defaulting and validation with the
 * webhook's rules and message texts (SPEC §e, §g). Pure code: no I/O; inputs are jansson trees.
 *
 * Order at the API boundary, as in Knative's webhook: knd_model_validate() on the object as
 * written (so error paths match the user's file), then knd_model_default() on a valid object.
 * On update, knd_model_validate_update() checks the transition old -> new as well.
 */
#ifndef KND_MODEL_H
#define KND_MODEL_H

#include <jansson.h>
#include <stdbool.h>

#include "knd_err.h"
#include "knd_platform.h"

typedef enum {
    KND_KIND_UNKNOWN = 0,
    KND_KIND_SERVICE,
    KND_KIND_CONFIGURATION,
    KND_KIND_REVISION,
    KND_KIND_ROUTE,
    KND_KIND_DOMAINMAPPING,
    KND_KIND_CONFIGMAP,
    KND_KIND_SECRET,
    KND_KIND_NAMESPACE,
} knd_kind_t;

typedef struct {
    knd_kind_t kind;
    const char *kind_name;   /* "Service" */
    const char *group;       /* "serving.knative.dev", "" for core */
    const char *version;     /* "v1", "v1beta1" */
    const char *api_version; /* "serving.knative.dev/v1", "v1" */
    const char *resource;    /* plural: "services" */
    const char *singular;    /* "service" */
    const char *short_names; /* comma separated: "kservice,ksvc" */
    bool namespaced;
} knd_kind_info_t;

/** Looks up by apiVersion + kind; NULL if knd does not handle that pair. */
const knd_kind_info_t *knd_kind_lookup(const char *api_version, const char *kind);
/** Looks up by API group (""=core), version and plural resource; NULL if unknown. */
const knd_kind_info_t *knd_kind_by_resource(const char *group, const char *version,
                                            const char *resource);
/** Looks up by a CLI name: plural, singular or short name ("ksvc", "rev", "revisions"). */
const knd_kind_info_t *knd_kind_by_cli_name(const char *name);
const knd_kind_info_t *knd_kind_info(knd_kind_t kind);

/**
 * Validates a whole object as submitted (create). Checks apiVersion/kind (an unsupported kind
 * gets one error naming it and the supported kinds), metadata (name as DNS-1123 / DNS-1035 as
 * Knative requires, namespace), unknown fields, and the kind's spec with Knative's rules and
 * messages. Returns 0 if valid, -1 with errors appended to errs otherwise.
 */
int knd_model_validate(const json_t *obj, const knd_platform_t *p, knd_errlist_t *errs);

/**
 * Validates an update old -> new of the same object (both as stored / submitted): Revision spec
 * immutability ("Immutable fields changed (-old +new)"), BYO revision name changes ("Saw the
 * following changes without a name change (-old +new)"), creator annotation immutability.
 * Call after knd_model_validate(new) succeeded. Returns 0 or -1 with errs.
 */
int knd_model_validate_update(const json_t *old_obj, const json_t *new_obj,
                              const knd_platform_t *p, knd_errlist_t *errs);

/**
 * Applies Knative's defaulting in place (SetDefaults): traffic [{latestRevision: true,
 * percent: 100}], timeoutSeconds, containerConcurrency, container names, the default readiness
 * probe, latestRevision flags, Secret stringData -> data (base64). Idempotent.
 */
void knd_model_default(json_t *obj, const knd_platform_t *p);

#endif
