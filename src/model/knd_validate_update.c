/*
 * knd_validate_update.c - knd_model_validate_update(): the checks Knative's webhook makes only on
 * update (apis.IsInUpdate): a Revision's spec is immutable, a BYO revision name must change
 * whenever the template changes, and the creator annotation is immutable while lastModifier may
 * only change with the spec. Specs are compared after defaulting both sides on private copies,
 * so a stored (defaulted) object and a re-applied manifest compare equal.
 */
#include <string.h>

#include "knd_alloc.h"
#include "knd_json.h"
#include "knd_validate_int.h"

#define KND_CREATOR "serving.knative.dev/creator"
#define KND_UPDATER "serving.knative.dev/lastModifier"

/* A defaulted deep copy of obj (caller decrefs). */
static json_t *knd_vupd_defaulted(const json_t *obj, const knd_platform_t *p)
{
    json_t *copy = json_deep_copy(obj);
    knd_model_default(copy, p);
    return copy;
}

static void knd_vupd_user_info(knd_vctx_t *c, const json_t *o, const json_t *n,
                               bool spec_equal)
{
    json_t *oa = knd_json_path(o, "metadata.annotations");
    json_t *na = knd_json_path(n, "metadata.annotations");
    const char *ocr = json_string_value(json_object_get(oa, KND_CREATOR));
    const char *ncr = json_string_value(json_object_get(na, KND_CREATOR));
    /* A manifest re-applied without the annotation keeps the stored one (the API carries it
     * over), so only a different value is a change. */
    if (ncr != NULL && (ocr == NULL || strcmp(ocr, ncr) != 0))
        knd__verr(c, "metadata.annotations", KND_CREATOR, "annotation value is immutable");
    const char *oup = json_string_value(json_object_get(oa, KND_UPDATER));
    const char *nup = json_string_value(json_object_get(na, KND_UPDATER));
    if (spec_equal && nup != NULL && (oup == NULL || strcmp(oup, nup) != 0))
        knd__verr(c, "metadata.annotations", KND_UPDATER, "invalid value: %s", nup);
}

int knd_model_validate_update(const json_t *old_obj, const json_t *new_obj,
                              const knd_platform_t *p, knd_errlist_t *errs)
{
    knd_vctx_t c = {.p = p, .errs = errs};
    size_t before = errs->n;
    const knd_kind_info_t *ko = knd_kind_lookup(knd_json_str(old_obj, "apiVersion", ""),
                                                knd_json_str(old_obj, "kind", ""));
    const knd_kind_info_t *kn = knd_kind_lookup(knd_json_str(new_obj, "apiVersion", ""),
                                                knd_json_str(new_obj, "kind", ""));
    if (ko == NULL || kn == NULL || ko != kn) {
        knd_errlist_add(errs, "kind", "kind may not change on update");
        return -1;
    }
    c.kind = kn->kind;
    if (c.kind > KND_KIND_DOMAINMAPPING)
        return 0;
    json_t *od = knd_vupd_defaulted(old_obj, p);
    json_t *nd = knd_vupd_defaulted(new_obj, p);
    bool spec_equal = json_equal(json_object_get(od, "spec"), json_object_get(nd, "spec"));
    bool owned = json_array_size(knd_json_path(new_obj, "metadata.ownerReferences")) > 0;

    switch (c.kind) {
    case KND_KIND_REVISION:
        if (!spec_equal)
            knd_errlist_add(errs, "spec", "Immutable fields changed (-old +new)");
        break;
    case KND_KIND_SERVICE:
    case KND_KIND_CONFIGURATION: {
        if (c.kind == KND_KIND_SERVICE || !owned)
            knd_vupd_user_info(&c, old_obj, new_obj, spec_equal);
        const char *nname = knd_json_str(new_obj, "spec.template.metadata.name", "");
        const char *oname = knd_json_str(old_obj, "spec.template.metadata.name", "");
        if (*nname != '\0' && strcmp(nname, oname) == 0 &&
            !json_equal(knd_json_path(od, "spec.template"), knd_json_path(nd, "spec.template")))
            knd_errlist_add(errs, "spec.template.metadata.name",
                            "Saw the following changes without a name change (-old +new)");
        break;
    }
    case KND_KIND_ROUTE:
        if (!owned)
            knd_vupd_user_info(&c, old_obj, new_obj, spec_equal);
        break;
    default:
        knd_vupd_user_info(&c, old_obj, new_obj, spec_equal);
        break;
    }
    json_decref(od);
    json_decref(nd);
    return errs->n > before ? -1 : 0;
}
