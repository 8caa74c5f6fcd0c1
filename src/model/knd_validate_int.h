/*
 * knd_validate_int.h - what the knd_validate*.c files share: the validation context, Knative-style
 * field paths and error helpers, the table-driven field checker (unknown fields, fields Knative
 * masks out behind config-features flags, JSON types) and small parsers (durations, quantities,
 * image references). Internal to model/.
 *
 * Paths are built into caller-owned char[KND_VPATH_MAX] buffers; everything borrows the input.
 */
#ifndef KND_VALIDATE_INT_H
#define KND_VALIDATE_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "knd_err.h"
#include "knd_model.h"
#include "knd_platform.h"

#define KND_VPATH_MAX 512

typedef struct {
    const knd_platform_t *p;
    knd_errlist_t *errs;
    knd_kind_t kind;
    /* The object owning the template being validated (apis.ParentMeta). */
    const char *parent_name;
    const char *parent_generate_name;
    const char *parent_namespace;
} knd_vctx_t;

/* ---- paths and errors ---- */

/** Knative's flatten: "a"+"b" -> "a.b", "a"+"[0]" -> "a[0]", ""+"b" -> "b". */
void knd__vpath(char out[KND_VPATH_MAX], const char *base, const char *field);
void knd__vpathf(char out[KND_VPATH_MAX], const char *base, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void knd__verr(knd_vctx_t *c, const char *base, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/** One error over several fields: paths are sorted and joined with ", ", as Knative prints. */
void knd__verr_multi(knd_vctx_t *c, const char *base, const char *const *fields, size_t n,
                     const char *msg);
/** ErrOutOfBoundsValue for integers: "expected lo <= v <= hi". */
void knd__verr_bounds(knd_vctx_t *c, const char *base, const char *field, long long v,
                      long long lo, long long hi);
/** Go's %v of a float64 (shortest representation that round-trips). */
void knd__vfmt_float(char out[32], double v);

/* ---- the field checker ---- */

enum {
    KND_VT_STR = 1u << 0,
    KND_VT_INT = 1u << 1,
    KND_VT_NUM = 1u << 2, /* integer or real */
    KND_VT_BOOL = 1u << 3,
    KND_VT_OBJ = 1u << 4,
    KND_VT_ARR = 1u << 5,
    KND_VT_INTSTR = KND_VT_INT | KND_VT_STR,
};

/** Marks a Kubernetes field Knative never allows (fieldmask.go). */
#define KND_VF_MASKED ""

typedef struct {
    const char *name;
    unsigned types;      /* KND_VT_* accepted; 0 = any */
    const char *feature; /* NULL: allowed; KND_VF_MASKED: never; else a config-features flag
                          * that allows it when not Disabled */
} knd_vfield_t;

/**
 * Checks obj's keys against a table: unknown keys get Kubernetes' strict-decoding error
 * `unknown field "<path>"`, masked keys with a set value "must not set the field(s)", wrong JSON
 * types an "Invalid value" error. Returns false if obj is not an object (error added).
 */
bool knd__vfields(knd_vctx_t *c, const json_t *obj, const char *path, const knd_vfield_t *tab,
                  size_t n);
#define KND_VFIELDS(c, obj, path, tab) knd__vfields((c), (obj), (path), (tab), KND_ARRAY_SIZE(tab))

/** Feature flag state with Knative's defaults for flags the platform does not list. */
knd_feature_state_t knd__vfeature(const knd_vctx_t *c, const char *name);
/** False for null, false, 0, "", [] and {}: Go's "not set" for masked fields. */
bool knd__vis_set(const json_t *v);
const char *knd__vtype_name(const json_t *v);

/* ---- small parsers ---- */

/** Go time.ParseDuration into seconds (double, keeps sub-second parts). 0 or -1. */
int knd__vparse_duration(const char *s, double *out_s);
/** Go's Duration.String() of whole-or-fractional seconds ("1h0m0s", "6s", "0s"). */
void knd__vfmt_duration(char out[32], double s);
/** Kubernetes resource.Quantity syntax; the value in base units into *out if not NULL. */
bool knd__vparse_quantity(const char *s, double *out);
/** go-containerregistry name.ParseReference with WeakValidation. */
bool knd__vimage_ref_ok(const char *s);
/** k8s IsQualifiedName ("prefix/name" or "name"). */
bool knd__vqualified_name(const char *s);
/** Kubernetes' IsDNS1035Label / IsDNS1123Label / subdomain message lists, "[m1 m2]" as Go %v. */
void knd__vdns1035_msgs(const char *s, char *out, size_t n);
void knd__vdns1123_label_msgs(const char *s, char *out, size_t n);
void knd__vdns1123_subdomain_msgs(const char *s, char *out, size_t n);

/* ---- per-object validators (knd_validate_*.c) ---- */

void knd__validate_object_meta(knd_vctx_t *c, const json_t *meta, const char *path);
void knd__validate_template(knd_vctx_t *c, const json_t *tmpl, const char *path);
void knd__validate_revision_spec(knd_vctx_t *c, const json_t *spec, const char *path);
void knd__validate_podspec(knd_vctx_t *c, const json_t *spec, const char *path);
void knd__validate_container(knd_vctx_t *c, const json_t *ctr, const char *path,
                             const json_t *volumes, bool user, bool init, const json_t *port);
void knd__validate_volume(knd_vctx_t *c, const json_t *vol, const char *path);
void knd__validate_volume_mounts(knd_vctx_t *c, const json_t *mounts, const char *path,
                                 const json_t *volumes);
void knd__validate_autoscaling_annotations(knd_vctx_t *c, const json_t *annos, const char *path);
void knd__validate_no_autoscaling_annotations(knd_vctx_t *c, const json_t *annos,
                                              const char *path);
void knd__validate_rollout_duration(knd_vctx_t *c, const json_t *annos, const char *path);
void knd__validate_template_annotations(knd_vctx_t *c, const json_t *annos, const char *path);
void knd__validate_traffic(knd_vctx_t *c, const json_t *traffic, const char *path,
                           bool in_service);

#endif
