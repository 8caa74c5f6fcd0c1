/*
 * knd_store_object.c - Kubernetes-shaped objects in the store: get, list, create, update,
 * delete, with the metadata the store owns (uid, creationTimestamp, generation,
 * resourceVersion) and Kubernetes' error texts ("services.serving.knative.dev "hello" not found").
 *
 * Ownership: objects passed in are borrowed and their metadata is updated in place; objects
 * handed out are new references the caller releases. Every mutation runs inside
 * knd_store_begin/commit, so it joins an enclosing transaction when there is one. A failure
 * found before anything was written (not found, exists, conflict) leaves an enclosing
 * transaction usable; a SQLite failure rolls it back.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "knd_alloc.h"
#include "knd_json.h"
#include "knd_log.h"
#include "knd_store_int.h"
#include "knd_time.h"

/* One stored row, copied out of SQLite's buffers. */
typedef struct {
    char *json;
    char *uid;
    char *created;
    long long generation;
    long long rv;
} knd_store_row_t;

/* ------------------------------------------------------------------------------------------ */
/* Kubernetes' names and messages                                                             */

/* The API group of each plural knd serves; "" is the core group, written without a suffix. */
static const struct {
    const char *resource;
    const char *group;
} knd_store_groups[] = {
    {"services", "serving.knative.dev"},
    {"configurations", "serving.knative.dev"},
    {"revisions", "serving.knative.dev"},
    {"routes", "serving.knative.dev"},
    {"domainmappings", "serving.knative.dev"},
    {"ingresses", "networking.internal.knative.dev"},
    {"certificates", "networking.internal.knative.dev"},
    {"serverlessservices", "networking.internal.knative.dev"},
    {"podautoscalers", "autoscaling.internal.knative.dev"},
    {"configmaps", ""},
    {"secrets", ""},
    {"namespaces", ""},
};

/* "services.serving.knative.dev" or "configmaps": the qualified resource Kubernetes prints. */
static void knd_store_object_qualified(const char *resource, char *out, size_t n)
{
    for (size_t i = 0; i < KND_ARRAY_SIZE(knd_store_groups); i++) {
        if (strcmp(resource, knd_store_groups[i].resource) == 0 && knd_store_groups[i].group[0]) {
            snprintf(out, n, "%s.%s", resource, knd_store_groups[i].group);
            return;
        }
    }
    snprintf(out, n, "%s", resource);
}

static int knd_store_object_err_notfound(knd_err_t *err, const char *resource, const char *name)
{
    char q[128];
    knd_store_object_qualified(resource, q, sizeof(q));
    return knd_err_set(err, KND_E_NOTFOUND, "%s \"%s\" not found", q, name);
}

int knd_store_err_exists(knd_err_t *err, const char *resource, const char *name)
{
    char q[128];
    knd_store_object_qualified(resource, q, sizeof(q));
    return knd_err_set(err, KND_E_EXISTS, "%s \"%s\" already exists", q, name);
}

int knd_store_err_conflict(knd_err_t *err, const char *resource, const char *name)
{
    char q[128];
    knd_store_object_qualified(resource, q, sizeof(q));
    return knd_err_set(err, KND_E_CONFLICT,
                       "Operation cannot be fulfilled on %s \"%s\": the object has been "
                       "modified; please apply your changes to the latest version and try again",
                       q, name);
}

/* ------------------------------------------------------------------------------------------ */
/* metadata                                                                                   */

/* RFC 4122 version 4: 122 random bits from the kernel's CSPRNG. */
static void knd_store_object_uuid(char out[37])
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof(b)) {
        ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
            KND_ASSERT(fd != -1);
            n = read(fd, b + got, sizeof(b) - got);
            close(fd);
            KND_ASSERT(n > 0);
        }
        got += (size_t)n;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

/* The key of obj: metadata.name is required, metadata.namespace defaults to "" (cluster). */
static int knd_store_object_key(const json_t *obj, const char **ns, const char **name,
                                knd_err_t *err)
{
    if (!json_is_object(obj))
        return knd_err_set(err, KND_E_INVALID, "store: object is not a JSON object");
    *name = knd_json_str(obj, "metadata.name", "");
    *ns = knd_json_str(obj, "metadata.namespace", "");
    if ((*name)[0] == '\0')
        return knd_err_set(err, KND_E_INVALID, "missing field(s): metadata.name");
    return 0;
}

static void knd_store_object_stamp(json_t *obj, const char *uid, const char *created,
                                   long long generation, long long rv)
{
    char rvs[32];
    snprintf(rvs, sizeof(rvs), "%lld", rv);
    json_t *md = knd_json_ensure_obj(obj, "metadata");
    json_object_set_new(md, "uid", json_string(uid));
    json_object_set_new(md, "creationTimestamp", json_string(created));
    json_object_set_new(md, "generation", json_integer(generation));
    json_object_set_new(md, "resourceVersion", json_string(rvs));
}

/* ------------------------------------------------------------------------------------------ */
/* rows                                                                                       */

static void knd_store_row_free(knd_store_row_t *r)
{
    free(r->json);
    free(r->uid);
    free(r->created);
    memset(r, 0, sizeof(*r));
}

static char *knd_store_object_col(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return knd_xstrdup(t ? (const char *)t : "");
}

/* Returns 1 and fills row if the object exists, 0 if not, -1 on a database error. */
static int knd_store_object_fetch(knd_store_t *s, const char *resource, const char *ns,
                                  const char *name, knd_store_row_t *row, knd_err_t *err)
{
    sqlite3_stmt *st = knd__store_stmt(s, KND_STORE_Q_OBJ_GET);
    sqlite3_bind_text(st, 1, resource, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int ret;
    if (rc == SQLITE_ROW) {
        row->json = knd_store_object_col(st, 0);
        row->uid = knd_store_object_col(st, 1);
        row->generation = sqlite3_column_int64(st, 2);
        row->rv = sqlite3_column_int64(st, 3);
        row->created = knd_store_object_col(st, 4);
        ret = 1;
    } else if (rc == SQLITE_DONE) {
        ret = 0;
    } else {
        ret = knd__store_err(s, err, "reading an object");
    }
    sqlite3_reset(st);
    return ret;
}

/* A stored document that no longer parses is reported, never trusted. */
static json_t *knd_store_object_parse(const char *text, const char *resource, const char *ns,
                                      const char *name, knd_err_t *err)
{
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    if (!json_is_object(v)) {
        json_decref(v);
        knd_err_set(err, KND_E_INTERNAL, "store: corrupt stored object %s %s/%s: %s", resource,
                    ns, name, v ? "not a JSON object" : je.text);
        return NULL;
    }
    return v;
}

/* Ends a mutation that wrote nothing: the enclosing transaction, if any, carries on. */
static void knd_store_object_end_clean(knd_store_t *s)
{
    knd_store_commit(s, NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* reads                                                                                      */

int knd_store_get(knd_store_t *s, const char *resource, const char *ns, const char *name,
                  json_t **out, knd_err_t *err)
{
    knd_store_row_t row = {0};
    int ret = -1;
    *out = NULL;
    int found = knd_store_object_fetch(s, resource, ns ? ns : "", name, &row, err);
    if (found < 0)
        goto out;
    if (found == 0) {
        knd_store_object_err_notfound(err, resource, name);
        goto out;
    }
    *out = knd_store_object_parse(row.json, resource, ns ? ns : "", name, err);
    ret = *out ? 0 : -1;
out:
    knd_store_row_free(&row);
    return ret;
}

int knd_store_list(knd_store_t *s, const char *resource, const char *ns, json_t **out,
                   knd_err_t *err)
{
    sqlite3_stmt *st = knd__store_stmt(s, ns ? KND_STORE_Q_OBJ_LIST_NS : KND_STORE_Q_OBJ_LIST_ALL);
    json_t *arr = json_array();
    int rc;
    *out = NULL;
    sqlite3_bind_text(st, 1, resource, -1, SQLITE_STATIC);
    if (ns)
        sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        const char *rns = (const char *)sqlite3_column_text(st, 1);
        const char *rname = (const char *)sqlite3_column_text(st, 2);
        knd_err_t perr;
        json_t *v = knd_store_object_parse(text ? text : "", resource, rns ? rns : "",
                                           rname ? rname : "", &perr);
        if (v == NULL) {
            /* One bad row must not hide the others: skip it, and say so where an operator
               will see it, since no caller can act on a partial failure of a list. */
            knd_log(KND_LOG_ERROR, "store", "list %s: skipping: %s", resource, perr.msg);
            continue;
        }
        json_array_append_new(arr, v);
    }
    if (rc != SQLITE_DONE) {
        knd__store_err(s, err, "listing objects");
        sqlite3_reset(st);
        json_decref(arr);
        return -1;
    }
    sqlite3_reset(st);
    *out = arr;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* writes                                                                                     */

int knd_store_create(knd_store_t *s, const char *resource, json_t *obj, knd_err_t *err)
{
    const char *ns = NULL, *name = NULL;
    knd_store_row_t row = {0};
    char uid[37], created[32];
    char *text = NULL;
    long long rv;
    if (knd_store_object_key(obj, &ns, &name, err) < 0 || knd_store_begin(s, err) < 0)
        return -1;
    int found = knd_store_object_fetch(s, resource, ns, name, &row, err);
    knd_store_row_free(&row);
    if (found != 0) {
        if (found > 0) {
            knd_store_err_exists(err, resource, name);
            knd_store_object_end_clean(s);
        } else {
            knd_store_rollback(s);
        }
        return -1;
    }
    if (knd__store_rev_bump(s, &rv, err) < 0)
        goto fail;
    knd_store_object_uuid(uid);
    knd_time_rfc3339(created);
    knd_store_object_stamp(obj, uid, created, 1, rv);
    text = knd_json_dump(obj);
    sqlite3_stmt *st = knd__store_stmt(s, KND_STORE_Q_OBJ_INSERT);
    sqlite3_bind_text(st, 1, resource, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, uid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, 1);
    sqlite3_bind_int64(st, 6, rv);
    sqlite3_bind_text(st, 7, text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, created, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        knd__store_err(s, err, "inserting an object");
        goto fail;
    }
    knd__store_note(s, KND_STORE_ADDED, resource, text, rv);
    free(text);
    return knd_store_commit(s, err);
fail:
    free(text);
    knd_store_rollback(s);
    return -1;
}

/* Writes obj over the stored row with a fresh resourceVersion (metadata already stamped). */
static int knd_store_object_rewrite(knd_store_t *s, const char *resource, const char *ns,
                                    const char *name, json_t *obj, const knd_store_row_t *row,
                                    long long generation, knd_err_t *err)
{
    long long rv;
    if (knd__store_rev_bump(s, &rv, err) < 0)
        return -1;
    knd_store_object_stamp(obj, row->uid, row->created, generation, rv);
    char *text = knd_json_dump(obj);
    sqlite3_stmt *st = knd__store_stmt(s, KND_STORE_Q_OBJ_UPDATE);
    sqlite3_bind_text(st, 1, resource, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, generation);
    sqlite3_bind_int64(st, 5, rv);
    sqlite3_bind_text(st, 6, text, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        knd__store_note(s, KND_STORE_MODIFIED, resource, text, rv);
    free(text);
    if (rc != SQLITE_DONE)
        return knd__store_err(s, err, "updating an object");
    return 0;
}

int knd_store_update(knd_store_t *s, const char *resource, json_t *obj, int *changed,
                     knd_err_t *err)
{
    const char *ns = NULL, *name = NULL;
    knd_store_row_t row = {0};
    json_t *stored = NULL;
    int ret = -1, wrote = 0;
    if (changed)
        *changed = 0;
    if (knd_store_object_key(obj, &ns, &name, err) < 0 || knd_store_begin(s, err) < 0)
        return -1;
    int found = knd_store_object_fetch(s, resource, ns, name, &row, err);
    if (found < 0)
        goto out;
    if (found == 0) {
        knd_store_object_err_notfound(err, resource, name);
        goto out;
    }
    if ((stored = knd_store_object_parse(row.json, resource, ns, name, err)) == NULL)
        goto out;
    char rvs[32];
    snprintf(rvs, sizeof(rvs), "%lld", row.rv);
    const char *want = knd_json_str(obj, "metadata.resourceVersion", "");
    if (want[0] != '\0' && strcmp(want, rvs) != 0) {
        knd_store_err_conflict(err, resource, name);
        goto out;
    }
    /* Kubernetes bumps generation only for spec changes; status and metadata do not count. */
    long long gen = row.generation +
                    !knd_json_equal(json_object_get(obj, "spec"), json_object_get(stored, "spec"));
    knd_store_object_stamp(obj, row.uid, row.created, gen, row.rv);
    if (knd_json_equal(obj, stored)) {
        ret = 0;
        goto out;
    }
    wrote = 1;
    if (knd_store_object_rewrite(s, resource, ns, name, obj, &row, gen, err) < 0)
        goto out;
    if (changed)
        *changed = 1;
    ret = 0;
out:
    json_decref(stored);
    knd_store_row_free(&row);
    if (ret < 0 && (wrote || found < 0)) {
        knd_store_rollback(s);
        return -1;
    }
    if (ret < 0) {
        knd_store_object_end_clean(s);
        return -1;
    }
    return knd_store_commit(s, err);
}

int knd_store_delete(knd_store_t *s, const char *resource, const char *ns, const char *name,
                     json_t **old, knd_err_t *err)
{
    knd_store_row_t row = {0};
    long long rv;
    int ret = -1;
    if (old)
        *old = NULL;
    ns = ns ? ns : "";
    if (knd_store_begin(s, err) < 0)
        return -1;
    int found = knd_store_object_fetch(s, resource, ns, name, &row, err);
    if (found == 0) {
        knd_store_object_err_notfound(err, resource, name);
        knd_store_object_end_clean(s);
        return -1;
    }
    if (found < 0 || knd__store_rev_bump(s, &rv, err) < 0)
        goto out;
    sqlite3_stmt *st = knd__store_stmt(s, KND_STORE_Q_OBJ_DELETE);
    sqlite3_bind_text(st, 1, resource, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        knd__store_err(s, err, "deleting an object");
        goto out;
    }
    if (s->nobservers) {
        json_t *last = knd_store_object_parse(row.json, resource, ns, name, NULL);
        if (last) {
            char rvs[32];
            snprintf(rvs, sizeof(rvs), "%lld", rv);
            json_object_set_new(knd_json_ensure_obj(last, "metadata"), "resourceVersion",
                                json_string(rvs));
            char *text = knd_json_dump(last);
            knd__store_note(s, KND_STORE_DELETED, resource, text, rv);
            free(text);
            json_decref(last);
        }
    }
    ret = 0;
out:
    if (ret < 0) {
        knd_store_row_free(&row);
        knd_store_rollback(s);
        return -1;
    }
    if (knd_store_commit(s, err) < 0) {
        knd_store_row_free(&row);
        return -1;
    }
    if (old) {
        /* A corrupt row can still be deleted (that is how it goes away); the caller then gets
           just its key back. */
        *old = knd_store_object_parse(row.json, resource, ns, name, NULL);
        if (*old == NULL)
            *old = json_pack("{s:{s:s,s:s}}", "metadata", "name", name, "namespace", ns);
    }
    knd_store_row_free(&row);
    return 0;
}
