/*
 * knd_store_image.c - the local image table: an image reference mapped to the argv that runs
 * it as a process (`knd image add REF -- CMD ARGS...`). Images are not Kubernetes objects, so
 * writing them does not move the resourceVersion counter.
 *
 * Ownership: argv arrays passed in are borrowed; arrays handed out are new references.
 */
#include <sqlite3.h>
#include <stdlib.h>

#include "knd_alloc.h"
#include "knd_json.h"
#include "knd_log.h"
#include "knd_store_int.h"

static int knd_store_image_check(const json_t *argv, knd_err_t *err)
{
    size_t i;
    json_t *v;
    if (!json_is_array(argv) || json_array_size(argv) == 0)
        return knd_err_set(err, KND_E_INVALID, "image command must be a non-empty list");
    json_array_foreach (argv, i, v) {
        if (!json_is_string(v))
            return knd_err_set(err, KND_E_INVALID, "image command[%zu] must be a string", i);
    }
    return 0;
}

/* A stored argv that no longer parses as a list of strings is reported, never run. */
static json_t *knd_store_image_parse(const char *ref, const char *text, knd_err_t *err)
{
    json_t *v = json_loads(text ? text : "", 0, NULL);
    if (v == NULL || knd_store_image_check(v, NULL) < 0) {
        json_decref(v);
        knd_err_set(err, KND_E_INTERNAL, "store: corrupt stored command for image \"%s\"", ref);
        return NULL;
    }
    return v;
}

int knd_store_image_put(knd_store_t *s, const char *ref, const json_t *argv, knd_err_t *err)
{
    if (ref == NULL || ref[0] == '\0')
        return knd_err_set(err, KND_E_INVALID, "image reference must not be empty");
    if (knd_store_image_check(argv, err) < 0 || knd_store_begin(s, err) < 0)
        return -1;
    char *text = knd_json_dump(argv);
    sqlite3_stmt *st = knd__store_stmt(s, KND_STORE_Q_IMG_PUT);
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    free(text);
    if (rc != SQLITE_DONE) {
        knd__store_err(s, err, "storing an image");
        knd_store_rollback(s);
        return -1;
    }
    return knd_store_commit(s, err);
}

int knd_store_image_get(knd_store_t *s, const char *ref, json_t **argv, knd_err_t *err)
{
    sqlite3_stmt *st = knd__store_stmt(s, KND_STORE_Q_IMG_GET);
    int ret = -1;
    *argv = NULL;
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *argv = knd_store_image_parse(ref, (const char *)sqlite3_column_text(st, 0), err);
        ret = *argv ? 0 : -1;
    } else if (rc == SQLITE_DONE) {
        knd_err_set(err, KND_E_NOTFOUND, "image \"%s\" not found", ref);
    } else {
        knd__store_err(s, err, "reading an image");
    }
    sqlite3_reset(st);
    return ret;
}

int knd_store_image_list(knd_store_t *s, json_t **out, knd_err_t *err)
{
    sqlite3_stmt *st = knd__store_stmt(s, KND_STORE_Q_IMG_LIST);
    json_t *arr = json_array();
    int rc;
    *out = NULL;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *ref = (const char *)sqlite3_column_text(st, 0);
        knd_err_t perr;
        ref = ref ? ref : "";
        json_t *argv =
            knd_store_image_parse(ref, (const char *)sqlite3_column_text(st, 1), &perr);
        if (argv == NULL) {
            knd_log(KND_LOG_ERROR, "store", "image list: skipping: %s", perr.msg);
            continue;
        }
        json_array_append_new(arr, json_pack("{s:s,s:o}", "image", ref, "command", argv));
    }
    if (rc != SQLITE_DONE) {
        knd__store_err(s, err, "listing images");
        sqlite3_reset(st);
        json_decref(arr);
        return -1;
    }
    sqlite3_reset(st);
    *out = arr;
    return 0;
}

int knd_store_image_delete(knd_store_t *s, const char *ref, knd_err_t *err)
{
    if (knd_store_begin(s, err) < 0)
        return -1;
    sqlite3_stmt *st = knd__store_stmt(s, KND_STORE_Q_IMG_DELETE);
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        knd__store_err(s, err, "deleting an image");
        knd_store_rollback(s);
        return -1;
    }
    if (sqlite3_changes(s->db) == 0) {
        knd_store_commit(s, NULL);
        return knd_err_set(err, KND_E_NOTFOUND, "image \"%s\" not found", ref);
    }
    return knd_store_commit(s, err);
}
