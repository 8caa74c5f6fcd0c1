/*
 * knd_kube_patch.c - the Kubernetes API's patch formats over jansson documents (see
 * knd_kube_patch.h): RFC 7386 merge patch and its inverse (the merge diff), RFC 6902 JSON patch
 * with RFC 6901 pointers, and the strategic-merge reduction for maps-only kinds.
 *
 * Ownership: every public function borrows its inputs and returns new references; the inputs are
 * never modified, so callers may pass the live stored object. JSON patch works on a deep copy
 * that is handed to the caller only when every operation succeeded.
 */
#include "knd_kube_patch.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"

/* ---- merge patch (RFC 7386) ---------------------------------------------------------------- */

/* Returns a new document; `target` is borrowed (NULL or a non-object counts as an empty object
 * when the patch is an object, as the RFC's MergePatch pseudo-code says). */
json_t *knd_kube_merge_patch(const json_t *target, const json_t *patch)
{
    json_t *out;
    const char *k;
    json_t *pv;

    if (!json_is_object(patch))
        return json_deep_copy(patch);

    out = json_is_object(target) ? json_deep_copy(target) : json_object();
    json_object_foreach ((json_t *)patch, k, pv) {
        if (json_is_null(pv)) {
            json_object_del(out, k);
            continue;
        }
        json_object_set_new(out, k, knd_kube_merge_patch(json_object_get(out, k), pv));
    }
    return out;
}

/* ---- merge diff ---------------------------------------------------------------------------- */

/* RFC 6902 §4.6 compares numbers by value, jansson's json_equal does not (1 != 1.0); the merge
 * diff uses the same notion so that "replicas: 1" vs "1.0" is no change. */
static bool knd_kube_patch_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        return json_number_value(a) == json_number_value(b);
    }
    if (json_is_array(a) && json_is_array(b)) {
        size_t n = json_array_size(a);
        if (n != json_array_size(b))
            return false;
        for (size_t i = 0; i < n; i++)
            if (!knd_kube_patch_equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *v;
        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_foreach ((json_t *)a, k, v) {
            json_t *w = json_object_get(b, k);
            if (!w || !knd_kube_patch_equal(v, w))
                return false;
        }
        return true;
    }
    return json_equal((json_t *)a, (json_t *)b) == 1;
}

json_t *knd_kube_merge_diff(const json_t *from, const json_t *to)
{
    json_t *out;
    const char *k;
    json_t *v;

    if (!json_is_object(from) || !json_is_object(to)) {
        if (knd_kube_patch_equal(from, to))
            return json_object();
        return to ? json_deep_copy(to) : json_null();
    }

    out = json_object();
    json_object_foreach ((json_t *)from, k, v) {
        if (!json_object_get(to, k))
            json_object_set_new(out, k, json_null());
    }
    json_object_foreach ((json_t *)to, k, v) {
        json_t *old = json_object_get(from, k);
        if (!old) {
            json_object_set_new(out, k, json_deep_copy(v));
        } else if (json_is_object(old) && json_is_object(v)) {
            json_t *sub = knd_kube_merge_diff(old, v);
            if (json_object_size(sub) > 0)
                json_object_set_new(out, k, sub);
            else
                json_decref(sub);
        } else if (!knd_kube_patch_equal(old, v)) {
            json_object_set_new(out, k, json_deep_copy(v));
        }
    }
    return out;
}

/* ---- strategic merge patch ----------------------------------------------------------------- */

json_t *knd_kube_strategic_to_merge(const json_t *patch)
{
    json_t *out;

    if (json_is_array(patch)) {
        size_t i;
        json_t *v;
        out = json_array();
        json_array_foreach (patch, i, v)
            json_array_append_new(out, knd_kube_strategic_to_merge(v));
        return out;
    }
    if (json_is_object(patch)) {
        const char *k;
        json_t *v;
        out = json_object();
        json_object_foreach ((json_t *)patch, k, v) {
            if (k[0] != '$')
                json_object_set_new(out, k, knd_kube_strategic_to_merge(v));
        }
        return out;
    }
    return json_deep_copy(patch);
}

/* ---- JSON pointers (RFC 6901) -------------------------------------------------------------- */

typedef struct {
    char **tok; /* owned, unescaped reference tokens */
    size_t n;
} knd_kube_ptr_t;

static void knd_kube_ptr_free(knd_kube_ptr_t *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->tok[i]);
    free(p->tok);
    p->tok = NULL;
    p->n = 0;
}

/* Splits and unescapes; "" is the whole document. Returns -1 on a pointer that does not start
 * with '/' or that holds a '~' not followed by '0' or '1'. */
static int knd_kube_ptr_parse(const char *s, knd_kube_ptr_t *p)
{
    p->tok = NULL;
    p->n = 0;
    if (*s == '\0')
        return 0;
    if (*s != '/')
        return -1;
    while (*s == '/') {
        const char *start = ++s;
        size_t len = strcspn(start, "/");
        char *t = knd_xmalloc(len + 1);
        size_t o = 0;
        for (size_t i = 0; i < len; i++) {
            if (start[i] != '~') {
                t[o++] = start[i];
            } else if (i + 1 < len && (start[i + 1] == '0' || start[i + 1] == '1')) {
                t[o++] = start[i + 1] == '0' ? '~' : '/';
                i++;
            } else {
                free(t);
                knd_kube_ptr_free(p);
                return -1;
            }
        }
        t[o] = '\0';
        p->tok = knd_xrealloc(p->tok, (p->n + 1) * sizeof(*p->tok));
        p->tok[p->n++] = t;
        s = start + len;
    }
    return 0;
}

/* An RFC 6901 array index: "0" or digits without a leading zero. Returns -1 otherwise. */
static long long knd_kube_ptr_index(const char *t)
{
    long long v = 0;
    if (t[0] == '\0' || (t[0] == '0' && t[1] != '\0'))
        return -1;
    for (const char *c = t; *c; c++) {
        if (*c < '0' || *c > '9' || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*c - '0');
    }
    return v;
}

/* Walks the first `depth` tokens; NULL if any step is missing. Borrowed. */
static json_t *knd_kube_ptr_walk(json_t *root, const knd_kube_ptr_t *p, size_t depth)
{
    json_t *cur = root;
    for (size_t i = 0; cur && i < depth; i++) {
        if (json_is_object(cur)) {
            cur = json_object_get(cur, p->tok[i]);
        } else if (json_is_array(cur)) {
            long long idx = knd_kube_ptr_index(p->tok[i]);
            cur = idx < 0 || (size_t)idx >= json_array_size(cur) ? NULL
                                                                 : json_array_get(cur, (size_t)idx);
        } else {
            cur = NULL;
        }
    }
    return cur;
}

/* ---- JSON patch operations ----------------------------------------------------------------- */

/*
 * Kubernetes' bounds on a JSON patch (k8s.io/apiserver): at most 10,000 operations, and copy
 * operations may add at most JSONPatchMaxCopyBytes (3 MiB by default) of copied JSON in all.
 * Without the second, a few dozen copies of a document into itself double it each time: a
 * patch of a few kilobytes would grow the daemon to gigabytes.
 */
#define KND_KUBE_JSON_PATCH_MAX_OPS 10000
#define KND_KUBE_JSON_PATCH_MAX_COPY (3 * 1024 * 1024)

typedef struct {
    json_t *doc;      /* owned working copy; may be replaced by an op on the root */
    size_t idx;       /* operation index, for messages */
    const char *name; /* operation name, for messages */
    size_t copied;    /* compact JSON bytes the copy operations added so far */
    knd_err_t *err;
} knd_kube_jp_t;

/* "json patch operation <i> (<op>): <what> <path><tail>", the shape callers match on. */
static int knd_kube_jp_fail(knd_kube_jp_t *jp, const char *what, const char *path, const char *tail)
{
    return knd_err_set(jp->err, KND_E_INVALID, "json patch operation %zu (%s): %s %s%s", jp->idx,
                       jp->name, what, path, tail);
}

/* Adds `value` (stolen) at ptr; RFC 6902 §4.1. */
static int knd_kube_jp_add(knd_kube_jp_t *jp, const knd_kube_ptr_t *p, const char *path,
                           json_t *value)
{
    json_t *parent;
    const char *last;

    if (p->n == 0) {
        json_decref(jp->doc);
        jp->doc = value;
        return 0;
    }
    parent = knd_kube_ptr_walk(jp->doc, p, p->n - 1);
    last = p->tok[p->n - 1];
    if (json_is_object(parent)) {
        json_object_set_new(parent, last, value);
        return 0;
    }
    if (json_is_array(parent)) {
        long long idx =
            strcmp(last, "-") == 0 ? (long long)json_array_size(parent) : knd_kube_ptr_index(last);
        if (idx < 0 || (size_t)idx > json_array_size(parent)) {
            json_decref(value);
            return knd_kube_jp_fail(jp, "array index out of range in path", path, "");
        }
        json_array_insert_new(parent, (size_t)idx, value);
        return 0;
    }
    json_decref(value);
    return knd_kube_jp_fail(jp, "parent of path", path, " does not exist");
}

/* Detaches the value at ptr; returns it (new reference) or NULL if it does not exist. */
static json_t *knd_kube_jp_take(knd_kube_jp_t *jp, const knd_kube_ptr_t *p)
{
    json_t *parent, *v;
    const char *last;

    if (p->n == 0)
        return NULL;
    parent = knd_kube_ptr_walk(jp->doc, p, p->n - 1);
    last = p->tok[p->n - 1];
    if (json_is_object(parent)) {
        v = json_object_get(parent, last);
        if (!v)
            return NULL;
        json_incref(v);
        json_object_del(parent, last);
        return v;
    }
    if (json_is_array(parent)) {
        long long idx = knd_kube_ptr_index(last);
        if (idx < 0 || (size_t)idx >= json_array_size(parent))
            return NULL;
        v = json_incref(json_array_get(parent, (size_t)idx));
        json_array_remove(parent, (size_t)idx);
        return v;
    }
    return NULL;
}

/* Reads a pointer member ("path" or "from") of the operation. */
static int knd_kube_jp_member_ptr(knd_kube_jp_t *jp, const json_t *op, const char *member,
                                  knd_kube_ptr_t *p, const char **text)
{
    json_t *v = json_object_get(op, member);
    if (!json_is_string(v))
        return knd_err_set(jp->err, KND_E_INVALID, "json patch operation %zu (%s): missing \"%s\"",
                           jp->idx, jp->name, member);
    *text = json_string_value(v);
    if (knd_kube_ptr_parse(*text, p) != 0)
        return knd_err_set(jp->err, KND_E_INVALID,
                           "json patch operation %zu (%s): invalid JSON pointer %s", jp->idx,
                           jp->name, *text);
    return 0;
}

/* True if pointer a is a prefix of pointer b (proper: strictly shorter). */
static bool knd_kube_ptr_is_prefix(const knd_kube_ptr_t *a, const knd_kube_ptr_t *b, bool proper)
{
    if (a->n > b->n || (proper && a->n == b->n))
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->tok[i], b->tok[i]) != 0)
            return false;
    return true;
}

/* move and copy: both read `from`, then add at `path`. */
static int knd_kube_jp_move_copy(knd_kube_jp_t *jp, const json_t *op, const knd_kube_ptr_t *p,
                                 const char *path, bool move)
{
    knd_kube_ptr_t from = {0};
    const char *from_text;
    json_t *v;
    int rc = -1;

    if (knd_kube_jp_member_ptr(jp, op, "from", &from, &from_text) != 0)
        return -1;
    /* RFC 6902 §4.4: a location cannot be moved into one of its children. */
    if (move && knd_kube_ptr_is_prefix(&from, p, true)) {
        knd_kube_jp_fail(jp, "path", path, " is inside from");
        goto out;
    }
    v = knd_kube_ptr_walk(jp->doc, &from, from.n);
    if (!v) {
        knd_kube_jp_fail(jp, "from", from_text, " does not exist");
        goto out;
    }
    if (move && knd_kube_ptr_is_prefix(&from, p, false)) {
        rc = 0; /* same location: moving a value onto itself changes nothing */
        goto out;
    }
    if (move) {
        v = knd_kube_jp_take(jp, &from);
    } else {
        jp->copied += json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
        if (jp->copied > KND_KUBE_JSON_PATCH_MAX_COPY) {
            /* evanphx/json-patch's words, which Kubernetes returns */
            knd_err_set(jp->err, KND_E_INVALID,
                        "json patch operation %zu (copy): Unable to complete the copy, the "
                        "accumulated size increase of copy is %zu, exceeding the limit %d",
                        jp->idx, jp->copied, KND_KUBE_JSON_PATCH_MAX_COPY);
            goto out;
        }
        v = json_deep_copy(v);
    }
    rc = knd_kube_jp_add(jp, p, path, v);
out:
    knd_kube_ptr_free(&from);
    return rc;
}

static int knd_kube_jp_apply_one(knd_kube_jp_t *jp, const json_t *op)
{
    knd_kube_ptr_t p = {0};
    const char *path;
    json_t *value = json_object_get(op, "value");
    json_t *cur;
    int rc = -1;

    if (knd_kube_jp_member_ptr(jp, op, "path", &p, &path) != 0)
        return -1;
    if (strcmp(jp->name, "add") == 0 || strcmp(jp->name, "replace") == 0 ||
        strcmp(jp->name, "test") == 0) {
        if (!value) {
            knd_err_set(jp->err, KND_E_INVALID, "json patch operation %zu (%s): missing \"value\"",
                        jp->idx, jp->name);
            goto out;
        }
    }
    if (strcmp(jp->name, "add") == 0) {
        rc = knd_kube_jp_add(jp, &p, path, json_deep_copy(value));
    } else if (strcmp(jp->name, "remove") == 0 || strcmp(jp->name, "replace") == 0) {
        cur = knd_kube_ptr_walk(jp->doc, &p, p.n);
        if (!cur) {
            knd_kube_jp_fail(jp, "path", path, " does not exist");
            goto out;
        }
        if (strcmp(jp->name, "replace") == 0 && p.n == 0) {
            json_decref(jp->doc);
            jp->doc = json_deep_copy(value);
        } else if (p.n == 0) {
            knd_kube_jp_fail(jp, "cannot remove the whole document at path", "\"\"", "");
            goto out;
        } else {
            json_decref(knd_kube_jp_take(jp, &p));
            if (strcmp(jp->name, "replace") == 0)
                KND_ASSERT(knd_kube_jp_add(jp, &p, path, json_deep_copy(value)) == 0);
        }
        rc = 0;
    } else if (strcmp(jp->name, "move") == 0 || strcmp(jp->name, "copy") == 0) {
        rc = knd_kube_jp_move_copy(jp, op, &p, path, strcmp(jp->name, "move") == 0);
    } else if (strcmp(jp->name, "test") == 0) {
        cur = knd_kube_ptr_walk(jp->doc, &p, p.n);
        if (!cur || !knd_kube_patch_equal(cur, value)) {
            knd_kube_jp_fail(jp, "value at", path, " does not match");
            goto out;
        }
        rc = 0;
    } else {
        knd_err_set(jp->err, KND_E_INVALID, "json patch operation %zu: unknown op \"%s\"", jp->idx,
                    jp->name);
    }
out:
    knd_kube_ptr_free(&p);
    return rc;
}

int knd_kube_json_patch(const json_t *doc, const json_t *ops, json_t **out, knd_err_t *err)
{
    knd_kube_jp_t jp = {.err = err};
    json_t *op;
    int rc = -1;

    *out = NULL;
    if (!json_is_array(ops))
        return knd_err_set(err, KND_E_INVALID, "json patch: the patch must be a JSON array");
    if (json_array_size(ops) > KND_KUBE_JSON_PATCH_MAX_OPS)
        return knd_err_set(err, KND_E_INVALID,
                           "The allowed maximum operations in a JSON patch is %d, got %zu",
                           KND_KUBE_JSON_PATCH_MAX_OPS, json_array_size(ops));
    jp.doc = doc ? json_deep_copy(doc) : json_null();
    json_array_foreach (ops, jp.idx, op) {
        json_t *name = json_object_get(op, "op");
        if (!json_is_object(op)) {
            knd_err_set(err, KND_E_INVALID, "json patch operation %zu: not an object", jp.idx);
            goto out;
        }
        if (!json_is_string(name)) {
            knd_err_set(err, KND_E_INVALID, "json patch operation %zu: missing \"op\"", jp.idx);
            goto out;
        }
        jp.name = json_string_value(name);
        if (knd_kube_jp_apply_one(&jp, op) != 0)
            goto out;
    }
    *out = jp.doc;
    jp.doc = NULL;
    rc = 0;
out:
    json_decref(jp.doc);
    return rc;
}
