/*
 * knd_kube_proto.c - decodes kubectl's protobuf request bodies (Secret, ConfigMap, Namespace)
 * into the JSON the rest of the API layer works with (see knd_kube_proto.h and
 * shared/kubernetes-api.md §10).
 *
 * A plain protobuf walk over the schema of the few messages involved: every read is bounds
 * checked against the enclosing message, so truncated or hostile input fails with an offset into
 * the body instead of reading past it. Unknown fields are skipped, as protobuf requires.
 *
 * Ownership: the body is borrowed; the decoded object is a new reference handed to the caller
 * only on success.
 */
#include "knd_kube_proto.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "knd_alloc.h"

/* ---- wire format reader -------------------------------------------------------------------- */

enum {
    KND_KUBE_PB_VARINT = 0,
    KND_KUBE_PB_FIXED64 = 1,
    KND_KUBE_PB_LEN = 2,
    KND_KUBE_PB_FIXED32 = 5,
};

typedef struct {
    const uint8_t *p; /* the whole body: offsets in messages are absolute */
    size_t pos, end;  /* the current message is p[pos, end) */
    knd_err_t *err;
} knd_kube_pb_t;

typedef struct {
    uint32_t num;     /* field number */
    uint32_t wt;      /* wire type */
    size_t off;       /* offset of the tag, for messages */
    uint64_t v;       /* KND_KUBE_PB_VARINT: the value */
    size_t data, len; /* KND_KUBE_PB_LEN: absolute offset and length of the payload */
} knd_kube_pb_field_t;

static int knd_kube_pb_varint(knd_kube_pb_t *r, uint64_t *v)
{
    size_t start = r->pos;
    *v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        uint8_t b;
        if (r->pos >= r->end)
            return knd_err_set(r->err, KND_E_INVALID,
                               "protobuf body: truncated varint at offset %zu", start);
        b = r->p[r->pos++];
        if (shift < 64)
            *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 0;
    }
    return knd_err_set(r->err, KND_E_INVALID, "protobuf body: malformed varint at offset %zu",
                       start);
}

static int knd_kube_pb_skip(knd_kube_pb_t *r, size_t n, const knd_kube_pb_field_t *f)
{
    if (n > r->end - r->pos)
        return knd_err_set(r->err, KND_E_INVALID,
                           "protobuf body: field %u at offset %zu is truncated (%zu bytes "
                           "needed, %zu left)",
                           f->num, f->off, n, r->end - r->pos);
    r->pos += n;
    return 0;
}

/* Reads the next field of the current message: 1 when one was read, 0 at the end, -1 on error. */
static int knd_kube_pb_next(knd_kube_pb_t *r, knd_kube_pb_field_t *f)
{
    uint64_t tag, len;

    if (r->pos >= r->end)
        return 0;
    memset(f, 0, sizeof(*f));
    f->off = r->pos;
    if (knd_kube_pb_varint(r, &tag) != 0)
        return -1;
    if (tag >> 3 == 0 || tag >> 3 > UINT32_MAX)
        return knd_err_set(r->err, KND_E_INVALID,
                           "protobuf body: invalid field number at offset %zu", f->off);
    f->num = (uint32_t)(tag >> 3);
    f->wt = (uint32_t)(tag & 7);
    switch (f->wt) {
    case KND_KUBE_PB_VARINT:
        if (knd_kube_pb_varint(r, &f->v) != 0)
            return -1;
        return 1;
    case KND_KUBE_PB_FIXED64: return knd_kube_pb_skip(r, 8, f) == 0 ? 1 : -1;
    case KND_KUBE_PB_FIXED32: return knd_kube_pb_skip(r, 4, f) == 0 ? 1 : -1;
    case KND_KUBE_PB_LEN:
        if (knd_kube_pb_varint(r, &len) != 0)
            return -1;
        f->data = r->pos;
        if (len > r->end - r->pos)
            return knd_err_set(r->err, KND_E_INVALID,
                               "protobuf body: field %u at offset %zu is truncated (%llu bytes "
                               "needed, %zu left)",
                               f->num, f->off, (unsigned long long)len, r->end - r->pos);
        f->len = (size_t)len;
        r->pos += f->len;
        return 1;
    default:
        return knd_err_set(r->err, KND_E_INVALID,
                           "protobuf body: unsupported wire type %u at offset %zu", f->wt, f->off);
    }
}

/* A reader over the payload of a length-delimited field (an embedded message). */
static knd_kube_pb_t knd_kube_pb_sub(const knd_kube_pb_t *r, const knd_kube_pb_field_t *f)
{
    knd_kube_pb_t s = {.p = r->p, .pos = f->data, .end = f->data + f->len, .err = r->err};
    return s;
}

/* Known fields must come with the wire type of their declaration. */
static int knd_kube_pb_want(const knd_kube_pb_t *r, const knd_kube_pb_field_t *f, uint32_t wt,
                            const char *msg)
{
    if (f->wt == wt)
        return 0;
    return knd_err_set(r->err, KND_E_INVALID,
                       "protobuf body: field %u of %s at offset %zu has wire type %u, expected %u",
                       f->num, msg, f->off, f->wt, wt);
}

/* ---- values -------------------------------------------------------------------------------- */

/* A protobuf string as a JSON string (new reference); JSON needs valid UTF-8. */
static json_t *knd_kube_pb_str(const knd_kube_pb_t *r, const knd_kube_pb_field_t *f,
                               const char *what)
{
    json_t *s = json_stringn((const char *)r->p + f->data, f->len);
    if (!s)
        knd_err_set(r->err, KND_E_INVALID, "protobuf body: %s at offset %zu is not valid UTF-8",
                    what, f->data);
    return s;
}

/* Standard padded base64 of raw bytes, as Go's encoding/json writes []byte. */
static json_t *knd_kube_pb_base64(const uint8_t *p, size_t n)
{
    char *out;
    json_t *s;

    KND_ASSERT(n <= (size_t)INT_MAX / 4 * 3 - 3);
    out = knd_xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    s = json_string(out);
    free(out);
    return s;
}

/* Sets obj[key] to a string field unless it is empty (protobuf's "unset"). */
static int knd_kube_pb_set_str(const knd_kube_pb_t *r, const knd_kube_pb_field_t *f, json_t *obj,
                               const char *key, const char *msg)
{
    json_t *s;
    if (knd_kube_pb_want(r, f, KND_KUBE_PB_LEN, msg) != 0)
        return -1;
    if (f->len == 0)
        return 0;
    if (!(s = knd_kube_pb_str(r, f, key)))
        return -1;
    json_object_set_new(obj, key, s);
    return 0;
}

static json_t *knd_kube_pb_child(json_t *obj, const char *key, json_t *(*make)(void))
{
    json_t *c = json_object_get(obj, key);
    if (!c) {
        c = make();
        json_object_set_new(obj, key, c);
    }
    return c;
}

/* A map<string,string|bytes> entry {1 key, 2 value} into obj[mapkey][key]. */
static int knd_kube_pb_map_entry(const knd_kube_pb_t *r, const knd_kube_pb_field_t *f, json_t *obj,
                                 const char *mapkey, bool bytes)
{
    knd_kube_pb_t e;
    knd_kube_pb_field_t ef;
    knd_kube_pb_field_t key = {0}, val = {0};
    json_t *k = NULL, *v = NULL;
    int rc = -1, more;

    if (knd_kube_pb_want(r, f, KND_KUBE_PB_LEN, mapkey) != 0)
        return -1;
    e = knd_kube_pb_sub(r, f);
    key.data = val.data = f->data;
    while ((more = knd_kube_pb_next(&e, &ef)) == 1) {
        if (ef.num != 1 && ef.num != 2)
            continue;
        if (knd_kube_pb_want(&e, &ef, KND_KUBE_PB_LEN, mapkey) != 0)
            return -1;
        if (ef.num == 1)
            key = ef;
        else
            val = ef;
    }
    if (more < 0)
        return -1;
    if (memchr(r->p + key.data, '\0', key.len)) {
        return knd_err_set(r->err, KND_E_INVALID,
                           "protobuf body: %s key at offset %zu contains a NUL byte", mapkey,
                           key.data);
    }
    if (!(k = knd_kube_pb_str(r, &key, "map key")))
        goto out;
    v = bytes ? knd_kube_pb_base64(r->p + val.data, val.len) : knd_kube_pb_str(r, &val, mapkey);
    if (!v)
        goto out;
    json_object_set_new(knd_kube_pb_child(obj, mapkey, json_object), json_string_value(k), v);
    v = NULL;
    rc = 0;
out:
    json_decref(k);
    json_decref(v);
    return rc;
}

/* A repeated string field, appended to obj[key]. */
static int knd_kube_pb_append_str(const knd_kube_pb_t *r, const knd_kube_pb_field_t *f, json_t *obj,
                                  const char *key, const char *msg)
{
    json_t *s;
    if (knd_kube_pb_want(r, f, KND_KUBE_PB_LEN, msg) != 0 || !(s = knd_kube_pb_str(r, f, key)))
        return -1;
    json_array_append_new(knd_kube_pb_child(obj, key, json_array), s);
    return 0;
}

/* ---- ObjectMeta ---------------------------------------------------------------------------- */

/* metav1.Time {1 seconds, 2 nanos}: RFC 3339 at seconds precision, as the API writes it. */
static int knd_kube_pb_time(const knd_kube_pb_t *r, const knd_kube_pb_field_t *f, json_t *obj,
                            const char *key)
{
    knd_kube_pb_t t;
    knd_kube_pb_field_t tf;
    int64_t secs = 0;
    int more;

    if (knd_kube_pb_want(r, f, KND_KUBE_PB_LEN, key) != 0)
        return -1;
    t = knd_kube_pb_sub(r, f);
    while ((more = knd_kube_pb_next(&t, &tf)) == 1) {
        if (tf.num != 1)
            continue;
        if (knd_kube_pb_want(&t, &tf, KND_KUBE_PB_VARINT, key) != 0)
            return -1;
        secs = (int64_t)tf.v;
    }
    if (more < 0)
        return -1;
    if (secs != 0) {
        char buf[64];
        struct tm tm;
        time_t tt = (time_t)secs;
        if (!gmtime_r(&tt, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
            return knd_err_set(r->err, KND_E_INVALID,
                               "protobuf body: %s at offset %zu is out of range", key, f->off);
        json_object_set_new(obj, key, json_string(buf));
    }
    return 0;
}

static int knd_kube_pb_owner_ref(const knd_kube_pb_t *r, const knd_kube_pb_field_t *f, json_t *meta)
{
    static const char *const names[] = {
        [1] = "kind", [3] = "name", [4] = "uid", [5] = "apiVersion"};
    knd_kube_pb_t o;
    knd_kube_pb_field_t of;
    json_t *ref;
    int more;

    if (knd_kube_pb_want(r, f, KND_KUBE_PB_LEN, "ownerReferences") != 0)
        return -1;
    ref = json_object();
    json_array_append_new(knd_kube_pb_child(meta, "ownerReferences", json_array), ref);
    o = knd_kube_pb_sub(r, f);
    while ((more = knd_kube_pb_next(&o, &of)) == 1) {
        if (of.num < KND_ARRAY_SIZE(names) && names[of.num]) {
            if (knd_kube_pb_set_str(&o, &of, ref, names[of.num], "OwnerReference") != 0)
                return -1;
        } else if (of.num == 6 || of.num == 7) {
            if (knd_kube_pb_want(&o, &of, KND_KUBE_PB_VARINT, "OwnerReference") != 0)
                return -1;
            json_object_set_new(ref, of.num == 6 ? "controller" : "blockOwnerDeletion",
                                json_boolean(of.v != 0));
        }
    }
    return more < 0 ? -1 : 0;
}

static int knd_kube_pb_meta_field(const knd_kube_pb_t *r, const knd_kube_pb_field_t *f,
                                  json_t *meta)
{
    static const char *const strs[] = {
        [1] = "name",     [2] = "generateName", [3] = "namespace",
        [4] = "selfLink", [5] = "uid",          [6] = "resourceVersion"};

    if (f->num < KND_ARRAY_SIZE(strs) && strs[f->num])
        return knd_kube_pb_set_str(r, f, meta, strs[f->num], "ObjectMeta");
    switch (f->num) {
    case 7:  /* generation */
    case 10: /* deletionGracePeriodSeconds: optional, so presence means set */
        if (knd_kube_pb_want(r, f, KND_KUBE_PB_VARINT, "ObjectMeta") != 0)
            return -1;
        if (f->num == 10 || f->v != 0)
            json_object_set_new(meta, f->num == 7 ? "generation" : "deletionGracePeriodSeconds",
                                json_integer((json_int_t)f->v));
        return 0;
    case 8: return knd_kube_pb_time(r, f, meta, "creationTimestamp");
    case 9: return knd_kube_pb_time(r, f, meta, "deletionTimestamp");
    case 11: return knd_kube_pb_map_entry(r, f, meta, "labels", false);
    case 12: return knd_kube_pb_map_entry(r, f, meta, "annotations", false);
    case 13: return knd_kube_pb_owner_ref(r, f, meta);
    case 14: return knd_kube_pb_append_str(r, f, meta, "finalizers", "ObjectMeta");
    default: return 0; /* managedFields and anything newer: not needed to create */
    }
}

static int knd_kube_pb_meta(const knd_kube_pb_t *r, const knd_kube_pb_field_t *f, json_t *obj)
{
    knd_kube_pb_t m;
    knd_kube_pb_field_t mf;
    json_t *meta;
    int more;

    if (knd_kube_pb_want(r, f, KND_KUBE_PB_LEN, "metadata") != 0)
        return -1;
    meta = knd_kube_pb_child(obj, "metadata", json_object);
    m = knd_kube_pb_sub(r, f);
    while ((more = knd_kube_pb_next(&m, &mf)) == 1)
        if (knd_kube_pb_meta_field(&m, &mf, meta) != 0)
            return -1;
    return more < 0 ? -1 : 0;
}

/* ---- the kinds ----------------------------------------------------------------------------- */

static int knd_kube_pb_bool(const knd_kube_pb_t *r, const knd_kube_pb_field_t *f, json_t *obj,
                            const char *key, const char *msg)
{
    if (knd_kube_pb_want(r, f, KND_KUBE_PB_VARINT, msg) != 0)
        return -1;
    json_object_set_new(obj, key, json_boolean(f->v != 0));
    return 0;
}

static int knd_kube_pb_secret(const knd_kube_pb_t *r, const knd_kube_pb_field_t *f, json_t *obj)
{
    switch (f->num) {
    case 1: return knd_kube_pb_meta(r, f, obj);
    case 2: return knd_kube_pb_map_entry(r, f, obj, "data", true);
    case 3: return knd_kube_pb_set_str(r, f, obj, "type", "Secret");
    case 4: return knd_kube_pb_map_entry(r, f, obj, "stringData", false);
    case 5: return knd_kube_pb_bool(r, f, obj, "immutable", "Secret");
    default: return 0;
    }
}

static int knd_kube_pb_configmap(const knd_kube_pb_t *r, const knd_kube_pb_field_t *f, json_t *obj)
{
    switch (f->num) {
    case 1: return knd_kube_pb_meta(r, f, obj);
    case 2: return knd_kube_pb_map_entry(r, f, obj, "data", false);
    case 3: return knd_kube_pb_map_entry(r, f, obj, "binaryData", true);
    case 4: return knd_kube_pb_bool(r, f, obj, "immutable", "ConfigMap");
    default: return 0;
    }
}

/* Namespace: metadata and spec.finalizers; status is the server's to set. */
static int knd_kube_pb_namespace(const knd_kube_pb_t *r, const knd_kube_pb_field_t *f, json_t *obj)
{
    knd_kube_pb_t s;
    knd_kube_pb_field_t sf;
    int more;

    if (f->num == 1)
        return knd_kube_pb_meta(r, f, obj);
    if (f->num != 2)
        return 0;
    if (knd_kube_pb_want(r, f, KND_KUBE_PB_LEN, "Namespace") != 0)
        return -1;
    s = knd_kube_pb_sub(r, f);
    while ((more = knd_kube_pb_next(&s, &sf)) == 1) {
        if (sf.num == 1 &&
            knd_kube_pb_append_str(&s, &sf, knd_kube_pb_child(obj, "spec", json_object),
                                   "finalizers", "NamespaceSpec") != 0)
            return -1;
    }
    return more < 0 ? -1 : 0;
}

typedef int (*knd_kube_pb_kind_fn)(const knd_kube_pb_t *r, const knd_kube_pb_field_t *f,
                                   json_t *obj);

static const struct {
    const char *kind;
    knd_kube_pb_kind_fn fn;
} knd_kube_pb_kinds[] = {
    {"Secret", knd_kube_pb_secret},
    {"ConfigMap", knd_kube_pb_configmap},
    {"Namespace", knd_kube_pb_namespace},
};

/* ---- the runtime.Unknown envelope ---------------------------------------------------------- */

typedef struct {
    json_t *api_version, *kind, *encoding; /* owned, or NULL when absent/empty */
    knd_kube_pb_field_t raw;
    bool have_raw;
} knd_kube_pb_unknown_t;

static int knd_kube_pb_typemeta(const knd_kube_pb_t *r, const knd_kube_pb_field_t *f,
                                knd_kube_pb_unknown_t *u)
{
    knd_kube_pb_t t;
    knd_kube_pb_field_t tf;
    json_t *tm = json_object();
    int more, rc = -1;

    if (knd_kube_pb_want(r, f, KND_KUBE_PB_LEN, "Unknown") != 0)
        goto out;
    t = knd_kube_pb_sub(r, f);
    while ((more = knd_kube_pb_next(&t, &tf)) == 1) {
        if ((tf.num == 1 || tf.num == 2) &&
            knd_kube_pb_set_str(&t, &tf, tm, tf.num == 1 ? "apiVersion" : "kind", "TypeMeta") != 0)
            goto out;
    }
    if (more < 0)
        goto out;
    json_decref(u->api_version);
    json_decref(u->kind);
    u->api_version = json_incref(json_object_get(tm, "apiVersion"));
    u->kind = json_incref(json_object_get(tm, "kind"));
    rc = 0;
out:
    json_decref(tm);
    return rc;
}

static int knd_kube_pb_unknown(knd_kube_pb_t *r, knd_kube_pb_unknown_t *u)
{
    knd_kube_pb_field_t f;
    int more;

    while ((more = knd_kube_pb_next(r, &f)) == 1) {
        switch (f.num) {
        case 1:
            if (knd_kube_pb_typemeta(r, &f, u) != 0)
                return -1;
            break;
        case 2:
            if (knd_kube_pb_want(r, &f, KND_KUBE_PB_LEN, "Unknown") != 0)
                return -1;
            u->raw = f;
            u->have_raw = true;
            break;
        case 3:
            if (knd_kube_pb_want(r, &f, KND_KUBE_PB_LEN, "Unknown") != 0)
                return -1;
            json_decref(u->encoding);
            u->encoding = f.len ? knd_kube_pb_str(r, &f, "contentEncoding") : NULL;
            if (f.len && !u->encoding)
                return -1;
            break;
        default: break; /* 4 contentType: the body's own media type, nothing to check */
        }
    }
    return more;
}

/* Drops the empty containers the walk may have created for empty embedded messages. */
static void knd_kube_pb_prune(json_t *obj)
{
    static const char *const keys[] = {"metadata", "spec"};
    for (size_t i = 0; i < KND_ARRAY_SIZE(keys); i++) {
        json_t *v = json_object_get(obj, keys[i]);
        if (json_is_object(v) && json_object_size(v) == 0)
            json_object_del(obj, keys[i]);
    }
}

int knd_kube_proto_decode(const char *body, size_t n, json_t **out, knd_err_t *err)
{
    static const uint8_t magic[4] = {0x6b, 0x38, 0x73, 0x00};
    knd_kube_pb_t r = {.p = (const uint8_t *)body, .pos = 4, .end = n, .err = err};
    knd_kube_pb_unknown_t u = {0};
    knd_kube_pb_kind_fn fn = NULL;
    knd_kube_pb_t raw;
    knd_kube_pb_field_t f;
    json_t *obj = NULL;
    const char *kind;
    int more, rc = -1;

    *out = NULL;
    if (n < sizeof(magic) || memcmp(body, magic, sizeof(magic)) != 0)
        return knd_err_set(err, KND_E_INVALID, "protobuf body: missing the k8s\\0 prefix");
    if (knd_kube_pb_unknown(&r, &u) != 0)
        goto out;
    kind = u.kind ? json_string_value(u.kind) : NULL;
    if (!kind) {
        knd_err_set(err, KND_E_INVALID, "protobuf body: missing kind");
        goto out;
    }
    for (size_t i = 0; i < KND_ARRAY_SIZE(knd_kube_pb_kinds); i++)
        if (strcmp(kind, knd_kube_pb_kinds[i].kind) == 0)
            fn = knd_kube_pb_kinds[i].fn;
    if (!fn) {
        knd_err_set(err, KND_E_INVALID, "protobuf body: kind %s is not supported", kind);
        goto out;
    }
    if (!u.api_version || strcmp(json_string_value(u.api_version), "v1") != 0) {
        knd_err_set(err, KND_E_INVALID, "protobuf body: apiVersion %s is not supported for %s",
                    u.api_version ? json_string_value(u.api_version) : "\"\"", kind);
        goto out;
    }
    if (u.encoding) {
        knd_err_set(err, KND_E_INVALID, "protobuf body: content encoding %s is not supported",
                    json_string_value(u.encoding));
        goto out;
    }
    if (!u.have_raw) {
        knd_err_set(err, KND_E_INVALID, "protobuf body: missing the raw object");
        goto out;
    }
    obj = json_pack("{s:O,s:O}", "apiVersion", u.api_version, "kind", u.kind);
    raw = knd_kube_pb_sub(&r, &u.raw);
    while ((more = knd_kube_pb_next(&raw, &f)) == 1)
        if (fn(&raw, &f, obj) != 0)
            goto out;
    if (more < 0)
        goto out;
    knd_kube_pb_prune(obj);
    *out = obj;
    obj = NULL;
    rc = 0;
out:
    json_decref(obj);
    json_decref(u.api_version);
    json_decref(u.kind);
    json_decref(u.encoding);
    return rc;
}
