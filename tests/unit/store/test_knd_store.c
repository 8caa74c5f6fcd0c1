/*
 * test_knd_store.c - the object store: metadata the store owns, Kubernetes' error texts,
 * optimistic concurrency, counted transactions, the image table, persistence across reopen,
 * robustness against a corrupt row, and durability of acknowledged writes across SIGKILL.
 *
 * Most cases use ":memory:"; the file cases work in a fresh temporary directory each. SQLite is
 * used directly only to inspect or damage a database file behind the store's back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "knd_err.h"
#include "knd_json.h"
#include "knd_store.h"

/* ------------------------------------------------------------------------------------------ */
/* helpers                                                                                    */

typedef struct {
    char dir[64];
    char path[128];
} knd_test_tmp_t;

static int knd_test_tmp_setup(void **state)
{
    knd_test_tmp_t *t = calloc(1, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "/tmp/knd-store-test-XXXXXX");
    if (mkdtemp(t->dir) == NULL)
        return -1;
    snprintf(t->path, sizeof(t->path), "%s/state.db", t->dir);
    *state = t;
    return 0;
}

static int knd_test_tmp_teardown(void **state)
{
    knd_test_tmp_t *t = *state;
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        char p[160];
        snprintf(p, sizeof(p), "%s%s", t->path, suffix[i]);
        unlink(p);
    }
    rmdir(t->dir);
    free(t);
    return 0;
}

static knd_store_t *knd_test_open(const char *path)
{
    knd_store_t *s = NULL;
    knd_err_t err = {0};
    int rc = knd_store_open(path, &s, &err);
    if (rc != 0)
        fail_msg("open %s: %s", path, err.msg);
    assert_non_null(s);
    return s;
}

static json_t *knd_test_svc(const char *ns, const char *name, const char *image)
{
    json_t *o = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:{s:{s:[{s:s}]}}}}", "apiVersion",
                          "serving.knative.dev/v1", "kind", "Service", "metadata", "name", name,
                          "namespace", ns, "spec", "template", "spec", "containers", "image",
                          image);
    assert_non_null(o);
    return o;
}

static void knd_test_create(knd_store_t *s, const char *resource, json_t *o)
{
    knd_err_t err = {0};
    if (knd_store_create(s, resource, o, &err) != 0)
        fail_msg("create: %s", err.msg);
}

static void knd_test_create_svc(knd_store_t *s, const char *ns, const char *name)
{
    json_t *o = knd_test_svc(ns, name, "img");
    knd_test_create(s, "services", o);
    json_decref(o);
}

static json_t *knd_test_get(knd_store_t *s, const char *resource, const char *ns,
                            const char *name)
{
    json_t *o = NULL;
    knd_err_t err = {0};
    if (knd_store_get(s, resource, ns, name, &o, &err) != 0)
        fail_msg("get %s/%s: %s", ns, name, err.msg);
    return o;
}

static int knd_test_exists(knd_store_t *s, const char *resource, const char *ns,
                           const char *name)
{
    json_t *o = NULL;
    knd_err_t err = {0};
    int rc = knd_store_get(s, resource, ns, name, &o, &err);
    json_decref(o);
    if (rc != 0)
        assert_int_equal(err.code, KND_E_NOTFOUND);
    return rc == 0;
}

static const char *knd_test_rv(const json_t *o)
{
    return knd_json_str(o, "metadata.resourceVersion", "");
}

static long long knd_test_sql_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void knd_test_sql_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* ------------------------------------------------------------------------------------------ */
/* open and schema                                                                            */

static void test_open_memory(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    assert_int_equal(knd_store_revision(s), 0);
    json_t *arr = NULL;
    knd_err_t err = {0};
    assert_int_equal(knd_store_list(s, "services", NULL, &arr, &err), 0);
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);
    knd_store_close(s);
}

static void test_open_file_migrates_and_is_private(void **state)
{
    knd_test_tmp_t *t = *state;
    knd_store_t *s = knd_test_open(t->path);
    knd_store_close(s);
    struct stat st;
    assert_int_equal(stat(t->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(knd_test_sql_int(t->path, "PRAGMA user_version"), 1);
    assert_int_equal(knd_test_sql_int(t->path, "SELECT count(*) FROM sqlite_schema WHERE type = "
                                               "'table' AND name IN ('objects','images','meta')"),
                     3);
    assert_int_equal(
        knd_test_sql_int(t->path, "SELECT value FROM meta WHERE key = 'resourceVersion'"), 0);
    /* WAL is a property of the file, so it outlives the connection that set it. */
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_open(t->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    sqlite3_close(db);
}

static void test_open_migrates_empty_file(void **state)
{
    knd_test_tmp_t *t = *state;
    FILE *f = fopen(t->path, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(knd_test_sql_int(t->path, "PRAGMA user_version"), 0);
    knd_store_t *s = knd_test_open(t->path);
    knd_test_create_svc(s, "default", "hello");
    knd_store_close(s);
    assert_int_equal(knd_test_sql_int(t->path, "PRAGMA user_version"), 1);
    assert_int_equal(knd_test_sql_int(t->path, "SELECT count(*) FROM objects"), 1);
    /* Reopening an up-to-date file runs no migration again (it would fail on CREATE TABLE). */
    knd_store_close(knd_test_open(t->path));
}

static void test_open_rejects_newer_schema(void **state)
{
    knd_test_tmp_t *t = *state;
    knd_store_close(knd_test_open(t->path));
    knd_test_sql_exec(t->path, "PRAGMA user_version = 99");
    knd_store_t *s = NULL;
    knd_err_t err = {0};
    assert_int_equal(knd_store_open(t->path, &s, &err), -1);
    assert_null(s);
    assert_int_equal(err.code, KND_E_INTERNAL);
    assert_non_null(strstr(err.msg, "schema version 99"));
}

static void test_open_bad_path(void **state)
{
    knd_store_t *s = NULL;
    knd_err_t err = {0};
    assert_int_equal(knd_store_open("/nonexistent-dir-knd/x/state.db", &s, &err), -1);
    assert_null(s);
    assert_int_equal(err.code, KND_E_INTERNAL);
    assert_non_null(strstr(err.msg, "/nonexistent-dir-knd/x/state.db"));
}

/* ------------------------------------------------------------------------------------------ */
/* create / get                                                                               */

static void test_create_fills_metadata(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    json_t *o = knd_test_svc("default", "hello", "img");
    knd_test_create(s, "services", o);
    const char *uid = knd_json_str(o, "metadata.uid", "");
    assert_int_equal(strlen(uid), 36);
    assert_true(uid[8] == '-' && uid[13] == '-' && uid[18] == '-' && uid[23] == '-');
    assert_int_equal(uid[14], '4');
    assert_non_null(strchr("89ab", uid[19]));
    const char *ts = knd_json_str(o, "metadata.creationTimestamp", "");
    assert_int_equal(strlen(ts), 20);
    assert_true(ts[4] == '-' && ts[10] == 'T' && ts[19] == 'Z');
    assert_int_equal(knd_json_int(o, "metadata.generation", 0), 1);
    assert_string_equal(knd_test_rv(o), "1");
    assert_int_equal(knd_store_revision(s), 1);

    json_t *got = knd_test_get(s, "services", "default", "hello");
    assert_true(json_equal(got, o));
    json_decref(got);
    json_decref(o);
    knd_store_close(s);
}

static void test_create_overwrites_caller_metadata(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    json_t *o = knd_test_svc("default", "hello", "img");
    json_t *md = json_object_get(o, "metadata");
    json_object_set_new(md, "uid", json_string("caller-uid"));
    json_object_set_new(md, "generation", json_integer(7));
    json_object_set_new(md, "resourceVersion", json_string("99"));
    json_object_set_new(md, "creationTimestamp", json_string("1999-01-01T00:00:00Z"));
    knd_test_create(s, "services", o);
    assert_string_not_equal(knd_json_str(o, "metadata.uid", ""), "caller-uid");
    assert_string_not_equal(knd_json_str(o, "metadata.creationTimestamp", ""),
                            "1999-01-01T00:00:00Z");
    assert_int_equal(knd_json_int(o, "metadata.generation", 0), 1);
    assert_string_equal(knd_test_rv(o), "1");
    json_decref(o);
    knd_store_close(s);
}

static void test_create_uids_unique(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    json_t *a = knd_test_svc("default", "a", "img");
    json_t *b = knd_test_svc("default", "b", "img");
    knd_test_create(s, "services", a);
    knd_test_create(s, "services", b);
    assert_string_not_equal(knd_json_str(a, "metadata.uid", ""),
                            knd_json_str(b, "metadata.uid", ""));
    json_decref(a);
    json_decref(b);
    knd_store_close(s);
}

static void test_create_exists(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    knd_test_create_svc(s, "default", "hello");
    json_t *o = knd_test_svc("default", "hello", "other");
    knd_err_t err = {0};
    assert_int_equal(knd_store_create(s, "services", o, &err), -1);
    assert_int_equal(err.code, KND_E_EXISTS);
    assert_string_equal(err.msg, "services.serving.knative.dev \"hello\" already exists");
    assert_int_equal(knd_store_revision(s), 1);
    /* The same name in another namespace or resource is a different object. */
    json_object_set_new(json_object_get(o, "metadata"), "namespace", json_string("other"));
    knd_test_create(s, "services", o);
    knd_test_create(s, "configurations", o);
    json_decref(o);
    knd_store_close(s);
}

static void test_create_requires_name(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    json_t *o = json_pack("{s:{s:s}}", "metadata", "namespace", "default");
    knd_err_t err = {0};
    assert_int_equal(knd_store_create(s, "services", o, &err), -1);
    assert_int_equal(err.code, KND_E_INVALID);
    assert_int_equal(knd_store_revision(s), 0);
    json_decref(o);
    knd_store_close(s);
}

static void test_get_notfound_messages(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    json_t *o = (json_t *)0x1;
    knd_err_t err = {0};
    assert_int_equal(knd_store_get(s, "services", "default", "hello", &o, &err), -1);
    assert_null(o);
    assert_int_equal(err.code, KND_E_NOTFOUND);
    assert_string_equal(err.msg, "services.serving.knative.dev \"hello\" not found");
    assert_int_equal(knd_store_get(s, "configmaps", "default", "x", &o, &err), -1);
    assert_string_equal(err.msg, "configmaps \"x\" not found");
    assert_int_equal(knd_store_get(s, "domainmappings", "default", "d.example.com", &o, &err),
                     -1);
    assert_string_equal(err.msg, "domainmappings.serving.knative.dev \"d.example.com\" not found");
    knd_store_close(s);
}

static void test_cluster_scoped(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    json_t *o = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
                          "metadata", "name", "team-a");
    knd_test_create(s, "namespaces", o);
    json_t *got = knd_test_get(s, "namespaces", NULL, "team-a");
    assert_string_equal(knd_json_str(got, "metadata.name", ""), "team-a");
    json_decref(got);
    got = knd_test_get(s, "namespaces", "", "team-a");
    json_decref(got);
    json_decref(o);
    knd_store_close(s);
}

/* ------------------------------------------------------------------------------------------ */
/* list                                                                                       */

static void test_list_order_and_namespaces(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    const char *keys[][2] = {{"b", "z"}, {"a", "y"}, {"b", "a"}, {"c", "m"}, {"a", "b"}};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        knd_test_create_svc(s, keys[i][0], keys[i][1]);
    json_t *other = knd_test_svc("a", "c", "img");
    knd_test_create(s, "configurations", other);
    json_decref(other);

    json_t *arr = NULL;
    knd_err_t err = {0};
    assert_int_equal(knd_store_list(s, "services", NULL, &arr, &err), 0);
    const char *want[][2] = {{"a", "b"}, {"a", "y"}, {"b", "a"}, {"b", "z"}, {"c", "m"}};
    assert_int_equal(json_array_size(arr), 5);
    for (size_t i = 0; i < 5; i++) {
        json_t *o = json_array_get(arr, i);
        assert_string_equal(knd_json_str(o, "metadata.namespace", ""), want[i][0]);
        assert_string_equal(knd_json_str(o, "metadata.name", ""), want[i][1]);
    }
    json_decref(arr);

    assert_int_equal(knd_store_list(s, "services", "b", &arr, &err), 0);
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(knd_json_str(json_array_get(arr, 0), "metadata.name", ""), "a");
    assert_string_equal(knd_json_str(json_array_get(arr, 1), "metadata.name", ""), "z");
    json_decref(arr);

    assert_int_equal(knd_store_list(s, "services", "nope", &arr, &err), 0);
    assert_int_equal(json_array_size(arr), 0);
    json_decref(arr);

    assert_int_equal(knd_store_list(s, "configurations", NULL, &arr, &err), 0);
    assert_int_equal(json_array_size(arr), 1);
    json_decref(arr);
    knd_store_close(s);
}

/* ------------------------------------------------------------------------------------------ */
/* update                                                                                     */

static void test_update_spec_bumps_generation(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    json_t *o = knd_test_svc("default", "hello", "v1");
    knd_test_create(s, "services", o);
    char uid[64], ts[32];
    snprintf(uid, sizeof(uid), "%s", knd_json_str(o, "metadata.uid", ""));
    snprintf(ts, sizeof(ts), "%s", knd_json_str(o, "metadata.creationTimestamp", ""));
    json_decref(o);

    /* A fresh document (no uid, no rv), as `knd apply` sends it. */
    o = knd_test_svc("default", "hello", "v2");
    json_object_set_new(json_object_get(o, "metadata"), "uid", json_string("forged"));
    int changed = -1;
    knd_err_t err = {0};
    assert_int_equal(knd_store_update(s, "services", o, &changed, &err), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(knd_json_int(o, "metadata.generation", 0), 2);
    assert_string_equal(knd_test_rv(o), "2");
    assert_string_equal(knd_json_str(o, "metadata.uid", ""), uid);
    assert_string_equal(knd_json_str(o, "metadata.creationTimestamp", ""), ts);
    json_t *got = knd_test_get(s, "services", "default", "hello");
    assert_true(json_equal(got, o));
    json_t *c0 = json_array_get(knd_json_path(got, "spec.template.spec.containers"), 0);
    assert_string_equal(knd_json_str(c0, "image", ""), "v2");
    json_decref(got);
    json_decref(o);
    knd_store_close(s);
}

static void test_update_status_only_keeps_generation(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    json_t *o = knd_test_svc("default", "hello", "v1");
    knd_test_create(s, "services", o);
    json_object_set_new(o, "status", json_pack("{s:i}", "observedGeneration", 1));
    int changed = -1;
    knd_err_t err = {0};
    assert_int_equal(knd_store_update(s, "services", o, &changed, &err), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(knd_json_int(o, "metadata.generation", 0), 1);
    assert_string_equal(knd_test_rv(o), "2");
    json_t *got = knd_test_get(s, "services", "default", "hello");
    assert_int_equal(knd_json_int(got, "status.observedGeneration", 0), 1);
    assert_int_equal(knd_json_int(got, "metadata.generation", 0), 1);
    json_decref(got);

    /* Labels are metadata, not spec: written, generation unchanged. */
    json_object_set_new(json_object_get(o, "metadata"), "labels", json_pack("{s:s}", "a", "b"));
    assert_int_equal(knd_store_update(s, "services", o, &changed, &err), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(knd_json_int(o, "metadata.generation", 0), 1);
    assert_string_equal(knd_test_rv(o), "3");
    json_decref(o);
    knd_store_close(s);
}

static void test_update_unchanged_writes_nothing(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    json_t *o = knd_test_svc("default", "hello", "v1");
    knd_test_create(s, "services", o);
    json_t *o2 = knd_test_svc("default", "hello", "v2");
    int changed = -1;
    knd_err_t err = {0};
    assert_int_equal(knd_store_update(s, "services", o2, &changed, &err), 0);
    json_decref(o2);
    assert_int_equal(knd_store_revision(s), 2);

    /* Re-applying the same spec without metadata the store owns changes nothing. */
    json_t *again = knd_test_svc("default", "hello", "v2");
    assert_int_equal(knd_store_update(s, "services", again, &changed, &err), 0);
    assert_int_equal(changed, 0);
    assert_int_equal(knd_store_revision(s), 2);
    assert_string_equal(knd_test_rv(again), "2");
    assert_int_equal(knd_json_int(again, "metadata.generation", 0), 2);
    assert_string_equal(knd_json_str(again, "metadata.uid", ""),
                        knd_json_str(o, "metadata.uid", ""));
    json_decref(again);

    /* changed may be NULL. */
    again = knd_test_get(s, "services", "default", "hello");
    assert_int_equal(knd_store_update(s, "services", again, NULL, &err), 0);
    assert_int_equal(knd_store_revision(s), 2);
    json_decref(again);
    json_decref(o);
    knd_store_close(s);
}

static void test_update_conflict_on_stale_rv(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    json_t *o = knd_test_svc("default", "hello", "v1");
    knd_test_create(s, "services", o);
    json_t *stale = json_deep_copy(o); /* resourceVersion "1" */
    json_t *fresh = knd_test_get(s, "services", "default", "hello");
    json_object_set_new(fresh, "status", json_pack("{s:s}", "url", "http://x"));
    knd_err_t err = {0};
    assert_int_equal(knd_store_update(s, "services", fresh, NULL, &err), 0);
    assert_string_equal(knd_test_rv(fresh), "2");

    json_object_set_new(json_object_get(stale, "spec"), "x", json_true());
    int changed = -1;
    assert_int_equal(knd_store_update(s, "services", stale, &changed, &err), -1);
    assert_int_equal(changed, 0);
    assert_int_equal(err.code, KND_E_CONFLICT);
    assert_string_equal(err.msg,
                        "Operation cannot be fulfilled on services.serving.knative.dev "
                        "\"hello\": the object has been modified; please apply your changes "
                        "to the latest version and try again");
    assert_string_equal(knd_test_rv(stale), "1"); /* untouched on failure */
    assert_int_equal(knd_store_revision(s), 2);

    /* With the current resourceVersion the same change goes through. */
    json_object_set_new(json_object_get(stale, "metadata"), "resourceVersion", json_string("2"));
    assert_int_equal(knd_store_update(s, "services", stale, &changed, &err), 0);
    assert_int_equal(changed, 1);
    assert_string_equal(knd_test_rv(stale), "3");
    assert_int_equal(knd_json_int(stale, "metadata.generation", 0), 2);

    json_t *cm = json_pack("{s:{s:s,s:s,s:s}}", "metadata", "name", "cfg", "namespace", "default",
                           "resourceVersion", "");
    knd_test_create(s, "configmaps", cm);
    json_object_set_new(json_object_get(cm, "metadata"), "resourceVersion", json_string("1"));
    json_object_set_new(cm, "data", json_pack("{s:s}", "k", "v"));
    assert_int_equal(knd_store_update(s, "configmaps", cm, NULL, &err), -1);
    assert_string_equal(err.msg, "Operation cannot be fulfilled on configmaps \"cfg\": the object "
                                 "has been modified; please apply your changes to the latest "
                                 "version and try again");
    json_decref(cm);
    json_decref(stale);
    json_decref(fresh);
    json_decref(o);
    knd_store_close(s);
}

static void test_update_notfound(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    json_t *o = knd_test_svc("default", "hello", "v1");
    int changed = -1;
    knd_err_t err = {0};
    assert_int_equal(knd_store_update(s, "services", o, &changed, &err), -1);
    assert_int_equal(err.code, KND_E_NOTFOUND);
    assert_string_equal(err.msg, "services.serving.knative.dev \"hello\" not found");
    assert_int_equal(changed, 0);
    assert_int_equal(knd_store_revision(s), 0);
    json_decref(o);
    knd_store_close(s);
}

/* ------------------------------------------------------------------------------------------ */
/* delete and resourceVersion                                                                 */

static void test_delete(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    json_t *o = knd_test_svc("default", "hello", "v1");
    knd_test_create(s, "services", o);
    json_t *old = NULL;
    knd_err_t err = {0};
    assert_int_equal(knd_store_delete(s, "services", "default", "hello", &old, &err), 0);
    assert_true(json_equal(old, o));
    assert_int_equal(knd_store_revision(s), 2);
    assert_false(knd_test_exists(s, "services", "default", "hello"));
    json_decref(old);

    old = (json_t *)0x1;
    assert_int_equal(knd_store_delete(s, "services", "default", "hello", &old, &err), -1);
    assert_null(old);
    assert_int_equal(err.code, KND_E_NOTFOUND);
    assert_string_equal(err.msg, "services.serving.knative.dev \"hello\" not found");
    assert_int_equal(knd_store_revision(s), 2);

    /* Re-created objects get a new identity. */
    json_t *again = knd_test_svc("default", "hello", "v1");
    knd_test_create(s, "services", again);
    assert_string_not_equal(knd_json_str(again, "metadata.uid", ""),
                            knd_json_str(o, "metadata.uid", ""));
    assert_int_equal(knd_store_delete(s, "services", "default", "hello", NULL, &err), 0);
    json_decref(again);
    json_decref(o);
    knd_store_close(s);
}

static void test_rv_monotonic(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    long long last = knd_store_revision(s);
    knd_err_t err = {0};
    for (int i = 0; i < 20; i++) {
        char name[16], image[16];
        snprintf(name, sizeof(name), "s%d", i % 4);
        snprintf(image, sizeof(image), "img-%d", i); /* every update changes the spec */
        json_t *o = knd_test_svc("default", name, image);
        if (i < 4)
            knd_test_create(s, "services", o);
        else if (i % 5 == 0)
            assert_int_equal(knd_store_delete(s, "services", "default", name, NULL, &err), 0);
        else if (knd_test_exists(s, "services", "default", name))
            assert_int_equal(knd_store_update(s, "services", o, NULL, &err), 0);
        else
            knd_test_create(s, "services", o);
        long long now = knd_store_revision(s);
        assert_true(now > last);
        if (i < 4 || i % 5 != 0) {
            char want[32];
            snprintf(want, sizeof(want), "%lld", now);
            assert_string_equal(knd_test_rv(o), want);
        }
        last = now;
        json_decref(o);
    }
    knd_store_close(s);
}

static void test_persistence_across_reopen(void **state)
{
    knd_test_tmp_t *t = *state;
    knd_store_t *s = knd_test_open(t->path);
    json_t *o = knd_test_svc("default", "hello", "v1");
    knd_test_create(s, "services", o);
    knd_test_create_svc(s, "other", "two");
    knd_err_t err = {0};
    assert_int_equal(knd_store_delete(s, "services", "other", "two", NULL, &err), 0);
    json_t *argv = json_pack("[s,s]", "python3", "app.py");
    assert_int_equal(knd_store_image_put(s, "example.com/app:1", argv, &err), 0);
    assert_int_equal(knd_store_revision(s), 3);
    knd_store_close(s);

    s = knd_test_open(t->path);
    assert_int_equal(knd_store_revision(s), 3);
    json_t *got = knd_test_get(s, "services", "default", "hello");
    assert_true(json_equal(got, o));
    json_decref(got);
    assert_false(knd_test_exists(s, "services", "other", "two"));
    json_t *gargv = NULL;
    assert_int_equal(knd_store_image_get(s, "example.com/app:1", &gargv, &err), 0);
    assert_true(json_equal(gargv, argv));
    json_decref(gargv);
    /* The counter carries on from where it was, never reusing a version. */
    json_t *n = knd_test_svc("default", "next", "v1");
    knd_test_create(s, "services", n);
    assert_string_equal(knd_test_rv(n), "4");
    json_decref(n);
    knd_store_close(s);
    json_decref(argv);
    json_decref(o);
}

/* ------------------------------------------------------------------------------------------ */
/* transactions                                                                               */

static void test_tx_nested_commit(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    knd_err_t err = {0};
    assert_int_equal(knd_store_begin(s, &err), 0);
    assert_int_equal(knd_store_begin(s, &err), 0);
    knd_test_create_svc(s, "default", "a");
    assert_int_equal(knd_store_commit(s, &err), 0);
    knd_test_create_svc(s, "default", "b");
    assert_int_equal(knd_store_commit(s, &err), 0);
    assert_true(knd_test_exists(s, "services", "default", "a"));
    assert_true(knd_test_exists(s, "services", "default", "b"));
    assert_int_equal(knd_store_revision(s), 2);
    knd_store_close(s);
}

static void test_tx_rollback_undoes_outermost(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    knd_err_t err = {0};
    knd_test_create_svc(s, "default", "before");
    assert_int_equal(knd_store_begin(s, &err), 0);
    knd_test_create_svc(s, "default", "a");
    assert_int_equal(knd_store_begin(s, &err), 0);
    knd_test_create_svc(s, "default", "b");
    assert_int_equal(knd_store_commit(s, &err), 0);
    assert_int_equal(knd_store_revision(s), 3);
    knd_store_rollback(s);
    assert_false(knd_test_exists(s, "services", "default", "a"));
    assert_false(knd_test_exists(s, "services", "default", "b"));
    assert_true(knd_test_exists(s, "services", "default", "before"));
    assert_int_equal(knd_store_revision(s), 1);
    /* Versions handed out inside the undone transaction were never committed: the counter
       resumes from the last committed value. */
    json_t *o = knd_test_svc("default", "after", "img");
    knd_test_create(s, "services", o);
    assert_string_equal(knd_test_rv(o), "2");
    json_decref(o);
    knd_store_close(s);
}

/* The change feed: what an observer saw, one "TYPE name rv" line each. */
typedef struct {
    char log[512];
} knd_test_feed_t;

static void knd_test_observe(void *data, knd_store_change_t type, const char *resource,
                             const char *json, long long rv)
{
    knd_test_feed_t *f = data;
    json_t *obj = json_loads(json, 0, NULL);
    assert_non_null(obj);
    static const char *const names[] = {"ADDED", "MODIFIED", "DELETED"};
    size_t n = strlen(f->log);
    snprintf(f->log + n, sizeof(f->log) - n, "%s %s/%s %lld rv=%s;", names[type], resource,
             knd_json_str(obj, "metadata.name", "?"), rv,
             knd_json_str(obj, "metadata.resourceVersion", "?"));
    json_decref(obj);
}

static void test_observer_sees_committed_changes_in_order(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    knd_test_feed_t feed = {{0}};
    knd_err_t err = {0};
    knd_store_observe(s, knd_test_observe, &feed);
    knd_test_create_svc(s, "default", "a");
    json_t *o = NULL;
    assert_int_equal(knd_store_get(s, "services", "default", "a", &o, &err), 0);
    json_object_set_new(o, "status", json_pack("{s:i}", "observedGeneration", 1));
    assert_int_equal(knd_store_update(s, "services", o, NULL, &err), 0);
    /* An unchanged update writes nothing, so it reports nothing. */
    assert_int_equal(knd_store_update(s, "services", o, NULL, &err), 0);
    json_decref(o);
    assert_int_equal(knd_store_delete(s, "services", "default", "a", NULL, &err), 0);
    assert_string_equal(feed.log, "ADDED services/a 1 rv=1;MODIFIED services/a 2 rv=2;"
                                  "DELETED services/a 3 rv=3;");
    knd_store_close(s);
}

/* The API's watch hub and the reconciler's cache both follow the feed; either can leave. */
static void test_observers_each_see_every_change_until_removed(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    knd_test_feed_t one = {{0}}, two = {{0}};
    knd_store_observe(s, knd_test_observe, &one);
    knd_store_observe(s, knd_test_observe, &two);
    knd_test_create_svc(s, "default", "a");
    knd_store_unobserve(s, knd_test_observe, &one);
    knd_test_create_svc(s, "default", "b");
    knd_store_unobserve(s, knd_test_observe, &two);
    knd_test_create_svc(s, "default", "c");
    assert_string_equal(one.log, "ADDED services/a 1 rv=1;");
    assert_string_equal(two.log, "ADDED services/a 1 rv=1;ADDED services/b 2 rv=2;");
    knd_store_close(s);
}

static void test_observer_waits_for_commit_and_forgets_rollback(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    knd_test_feed_t feed = {{0}};
    knd_err_t err = {0};
    knd_store_observe(s, knd_test_observe, &feed);
    assert_int_equal(knd_store_begin(s, &err), 0);
    knd_test_create_svc(s, "default", "a");
    assert_string_equal(feed.log, "");
    knd_store_rollback(s);
    assert_string_equal(feed.log, "");
    assert_int_equal(knd_store_begin(s, &err), 0);
    knd_test_create_svc(s, "default", "b");
    knd_test_create_svc(s, "default", "c");
    assert_string_equal(feed.log, "");
    assert_int_equal(knd_store_commit(s, &err), 0);
    assert_string_equal(feed.log, "ADDED services/b 1 rv=1;ADDED services/c 2 rv=2;");
    knd_store_close(s);
}

static void test_tx_inner_rollback_dooms_outer(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    knd_err_t err = {0};
    assert_int_equal(knd_store_begin(s, &err), 0);
    knd_test_create_svc(s, "default", "a");
    assert_int_equal(knd_store_begin(s, &err), 0);
    knd_store_rollback(s);
    /* Until the outer level unwinds, writes are refused rather than silently autocommitted. */
    json_t *o = knd_test_svc("default", "b", "img");
    assert_int_equal(knd_store_create(s, "services", o, &err), -1);
    assert_int_equal(err.code, KND_E_INTERNAL);
    assert_int_equal(knd_store_commit(s, &err), -1);
    assert_int_equal(err.code, KND_E_INTERNAL);
    assert_false(knd_test_exists(s, "services", "default", "a"));
    assert_false(knd_test_exists(s, "services", "default", "b"));
    /* Afterwards the store works normally. */
    knd_test_create(s, "services", o);
    assert_string_equal(knd_test_rv(o), "1");
    json_decref(o);
    knd_store_close(s);
}

static void test_tx_failed_mutation_keeps_outer(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    knd_err_t err = {0};
    assert_int_equal(knd_store_begin(s, &err), 0);
    knd_test_create_svc(s, "default", "a");
    json_t *dup = knd_test_svc("default", "a", "img");
    assert_int_equal(knd_store_create(s, "services", dup, &err), -1);
    assert_int_equal(err.code, KND_E_EXISTS);
    assert_int_equal(knd_store_delete(s, "services", "default", "zz", NULL, &err), -1);
    assert_int_equal(err.code, KND_E_NOTFOUND);
    knd_test_create_svc(s, "default", "b");
    assert_int_equal(knd_store_commit(s, &err), 0);
    assert_true(knd_test_exists(s, "services", "default", "a"));
    assert_true(knd_test_exists(s, "services", "default", "b"));
    assert_int_equal(knd_store_revision(s), 2);
    json_decref(dup);
    knd_store_close(s);
}

static void test_tx_rollback_on_file_is_not_persisted(void **state)
{
    knd_test_tmp_t *t = *state;
    knd_store_t *s = knd_test_open(t->path);
    knd_err_t err = {0};
    knd_test_create_svc(s, "default", "kept");
    assert_int_equal(knd_store_begin(s, &err), 0);
    knd_test_create_svc(s, "default", "dropped");
    knd_store_rollback(s);
    /* An open transaction at close is never acknowledged either. */
    assert_int_equal(knd_store_begin(s, &err), 0);
    knd_test_create_svc(s, "default", "unfinished");
    knd_store_close(s);
    s = knd_test_open(t->path);
    assert_true(knd_test_exists(s, "services", "default", "kept"));
    assert_false(knd_test_exists(s, "services", "default", "dropped"));
    assert_false(knd_test_exists(s, "services", "default", "unfinished"));
    assert_int_equal(knd_store_revision(s), 1);
    knd_store_close(s);
}

/* ------------------------------------------------------------------------------------------ */
/* images                                                                                     */

static void test_images_crud(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    knd_err_t err = {0};
    json_t *a1 = json_pack("[s,s]", "python3", "a.py");
    json_t *a2 = json_pack("[s,s,s]", "node", "b.js", "--port=$PORT");
    json_t *a3 = json_pack("[s]", "/bin/server");
    assert_int_equal(knd_store_image_put(s, "z.example/app:1", a1, &err), 0);
    assert_int_equal(knd_store_image_put(s, "a.example/app:2", a2, &err), 0);
    json_t *got = NULL;
    assert_int_equal(knd_store_image_get(s, "z.example/app:1", &got, &err), 0);
    assert_true(json_equal(got, a1));
    json_decref(got);
    /* put replaces */
    assert_int_equal(knd_store_image_put(s, "z.example/app:1", a3, &err), 0);
    assert_int_equal(knd_store_image_get(s, "z.example/app:1", &got, &err), 0);
    assert_true(json_equal(got, a3));
    json_decref(got);

    json_t *list = NULL;
    assert_int_equal(knd_store_image_list(s, &list, &err), 0);
    json_t *want = json_pack("[{s:s,s:O},{s:s,s:O}]", "image", "a.example/app:2", "command", a2,
                             "image", "z.example/app:1", "command", a3);
    assert_true(json_equal(list, want));
    json_decref(want);
    json_decref(list);

    assert_int_equal(knd_store_image_delete(s, "a.example/app:2", &err), 0);
    got = (json_t *)0x1;
    assert_int_equal(knd_store_image_get(s, "a.example/app:2", &got, &err), -1);
    assert_null(got);
    assert_int_equal(err.code, KND_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "a.example/app:2"));
    assert_int_equal(knd_store_image_delete(s, "a.example/app:2", &err), -1);
    assert_int_equal(err.code, KND_E_NOTFOUND);
    /* Images are not API objects: the resourceVersion counter does not move. */
    assert_int_equal(knd_store_revision(s), 0);
    json_decref(a1);
    json_decref(a2);
    json_decref(a3);
    knd_store_close(s);
}

static void test_image_put_invalid(void **state)
{
    knd_store_t *s = knd_test_open(":memory:");
    knd_err_t err = {0};
    json_t *bad[] = {json_pack("[]"), json_pack("[s,i]", "x", 1), json_string("cmd"),
                     json_pack("{s:s}", "a", "b")};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err.code = KND_E_OK;
        assert_int_equal(knd_store_image_put(s, "r", bad[i], &err), -1);
        assert_int_equal(err.code, KND_E_INVALID);
        json_decref(bad[i]);
    }
    json_t *ok = json_pack("[s]", "x");
    assert_int_equal(knd_store_image_put(s, "", ok, &err), -1);
    assert_int_equal(err.code, KND_E_INVALID);
    json_decref(ok);
    json_t *list = NULL;
    assert_int_equal(knd_store_image_list(s, &list, &err), 0);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    knd_store_close(s);
}

/* ------------------------------------------------------------------------------------------ */
/* robustness                                                                                 */

static void test_corrupt_row_skipped(void **state)
{
    knd_test_tmp_t *t = *state;
    knd_store_t *s = knd_test_open(t->path);
    knd_test_create_svc(s, "default", "bad");
    knd_test_create_svc(s, "default", "good");
    json_t *argv = json_pack("[s]", "x");
    knd_err_t err = {0};
    assert_int_equal(knd_store_image_put(s, "bad-img", argv, &err), 0);
    assert_int_equal(knd_store_image_put(s, "good-img", argv, &err), 0);
    json_decref(argv);
    knd_store_close(s);
    knd_test_sql_exec(t->path, "UPDATE objects SET json = '{\"metadata\": [' WHERE name = 'bad';"
                               "UPDATE images SET argv = '42' WHERE ref = 'bad-img'");

    s = knd_test_open(t->path);
    json_t *arr = NULL;
    assert_int_equal(knd_store_list(s, "services", NULL, &arr, &err), 0);
    assert_int_equal(json_array_size(arr), 1);
    assert_string_equal(knd_json_str(json_array_get(arr, 0), "metadata.name", ""), "good");
    json_decref(arr);

    json_t *o = (json_t *)0x1;
    assert_int_equal(knd_store_get(s, "services", "default", "bad", &o, &err), -1);
    assert_null(o);
    assert_int_equal(err.code, KND_E_INTERNAL);
    assert_non_null(strstr(err.msg, "corrupt"));

    json_t *upd = knd_test_svc("default", "bad", "v2");
    assert_int_equal(knd_store_update(s, "services", upd, NULL, &err), -1);
    assert_int_equal(err.code, KND_E_INTERNAL);
    json_decref(upd);

    assert_int_equal(knd_store_image_list(s, &arr, &err), 0);
    assert_int_equal(json_array_size(arr), 1);
    json_decref(arr);

    /* The way out: a corrupt object can still be deleted. */
    json_t *old = NULL;
    assert_int_equal(knd_store_delete(s, "services", "default", "bad", &old, &err), 0);
    assert_string_equal(knd_json_str(old, "metadata.name", ""), "bad");
    json_decref(old);
    assert_false(knd_test_exists(s, "services", "default", "bad"));
    knd_store_close(s);
}

/*
 * A child writes objects, acknowledging each on a pipe only after knd_store_create returned,
 * leaves one transaction open, then dies by SIGKILL: no atexit, no close, no checkpoint. Every
 * acknowledged object must be in the file; the unacknowledged one must not.
 */
#define KND_TEST_CRASH_N 150

static void knd_test_crash_child(const char *path, int wfd)
{
    knd_store_t *s = NULL;
    knd_err_t err = {0};
    if (knd_store_open(path, &s, &err) != 0)
        _exit(2);
    for (int i = 0; i < KND_TEST_CRASH_N; i++) {
        char name[32], line[40];
        snprintf(name, sizeof(name), "svc-%d", i);
        json_t *o = knd_test_svc(i % 2 ? "odd" : "even", name, "img");
        if (knd_store_create(s, "services", o, &err) != 0)
            _exit(3);
        json_decref(o);
        int n = snprintf(line, sizeof(line), "%s\n", name);
        if (write(wfd, line, (size_t)n) != n)
            _exit(4);
    }
    json_t *o = knd_test_svc("odd", "unacknowledged", "img");
    if (knd_store_begin(s, &err) != 0 || knd_store_create(s, "services", o, &err) != 0)
        _exit(5);
    kill(getpid(), SIGKILL);
    _exit(6);
}

static void test_crash_durability(void **state)
{
    knd_test_tmp_t *t = *state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid != -1);
    if (pid == 0) {
        close(p[0]);
        knd_test_crash_child(t->path, p[1]);
    }
    close(p[1]);
    char buf[16384];
    size_t len = 0;
    ssize_t n;
    while ((n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)n;
    close(p[0]);
    buf[len] = '\0';
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);

    knd_store_t *s = knd_test_open(t->path);
    int acked = 0;
    for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        int i = atoi(line + 4);
        assert_true(knd_test_exists(s, "services", i % 2 ? "odd" : "even", line));
        acked++;
    }
    assert_int_equal(acked, KND_TEST_CRASH_N);
    assert_false(knd_test_exists(s, "services", "odd", "unacknowledged"));
    assert_int_equal(knd_store_revision(s), KND_TEST_CRASH_N);
    json_t *arr = NULL;
    knd_err_t err = {0};
    assert_int_equal(knd_store_list(s, "services", NULL, &arr, &err), 0);
    assert_int_equal(json_array_size(arr), KND_TEST_CRASH_N);
    json_decref(arr);
    knd_store_close(s);
}

/* ------------------------------------------------------------------------------------------ */

#define KND_TEST_FILE(f)                                                                          \
    cmocka_unit_test_setup_teardown(f, knd_test_tmp_setup, knd_test_tmp_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_memory),
        cmocka_unit_test(test_observer_sees_committed_changes_in_order),
        cmocka_unit_test(test_observer_waits_for_commit_and_forgets_rollback),
        cmocka_unit_test(test_observers_each_see_every_change_until_removed),
        KND_TEST_FILE(test_open_file_migrates_and_is_private),
        KND_TEST_FILE(test_open_migrates_empty_file),
        KND_TEST_FILE(test_open_rejects_newer_schema),
        cmocka_unit_test(test_open_bad_path),
        cmocka_unit_test(test_create_fills_metadata),
        cmocka_unit_test(test_create_overwrites_caller_metadata),
        cmocka_unit_test(test_create_uids_unique),
        cmocka_unit_test(test_create_exists),
        cmocka_unit_test(test_create_requires_name),
        cmocka_unit_test(test_get_notfound_messages),
        cmocka_unit_test(test_cluster_scoped),
        cmocka_unit_test(test_list_order_and_namespaces),
        cmocka_unit_test(test_update_spec_bumps_generation),
        cmocka_unit_test(test_update_status_only_keeps_generation),
        cmocka_unit_test(test_update_unchanged_writes_nothing),
        cmocka_unit_test(test_update_conflict_on_stale_rv),
        cmocka_unit_test(test_update_notfound),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_rv_monotonic),
        KND_TEST_FILE(test_persistence_across_reopen),
        cmocka_unit_test(test_tx_nested_commit),
        cmocka_unit_test(test_tx_rollback_undoes_outermost),
        cmocka_unit_test(test_tx_inner_rollback_dooms_outer),
        cmocka_unit_test(test_tx_failed_mutation_keeps_outer),
        KND_TEST_FILE(test_tx_rollback_on_file_is_not_persisted),
        cmocka_unit_test(test_images_crud),
        cmocka_unit_test(test_image_put_invalid),
        KND_TEST_FILE(test_corrupt_row_skipped),
        KND_TEST_FILE(test_crash_durability),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
