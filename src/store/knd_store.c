/*
 * knd_store.c - the store's connection: open (file mode, pragmas, migrations, statement cache),
 * close, counted transactions and the global resourceVersion counter. Objects live in
 * knd_store_object.c, the image table in knd_store_image.c, the schema in knd_store_migrate.c.
 *
 * Ownership: the knd_store_t owns the sqlite3 connection and every prepared statement; nothing
 * handed out by the store points into SQLite's memory (JSON is parsed into new jansson values).
 *
 * Durability: journal_mode=WAL with synchronous=NORMAL. A commit is in the WAL file (written to
 * the kernel) before the call returns, so it survives the daemon being killed with SIGKILL; it
 * does not survive a power loss or kernel crash until the next checkpoint's fsync. Setting the
 * environment variable KND_STORE_SYNC_FULL=1 selects synchronous=FULL (an fsync per commit) for
 * machines where that matters more than write latency.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "knd_alloc.h"
#include "knd_store_int.h"

/* ------------------------------------------------------------------------------------------ */
/* statement cache                                                                            */

/* Indexed by knd_store_q_t; every SQL string of knd lives in src/store/. */
static const char *const knd_store_stmt_sql[KND_STORE_Q_COUNT_] = {
    [KND_STORE_Q_BEGIN] = "BEGIN IMMEDIATE",
    [KND_STORE_Q_COMMIT] = "COMMIT",
    [KND_STORE_Q_ROLLBACK] = "ROLLBACK",
    [KND_STORE_Q_REV_GET] = "SELECT value FROM meta WHERE key = 'resourceVersion'",
    [KND_STORE_Q_REV_SET] = "UPDATE meta SET value = ?1 WHERE key = 'resourceVersion'",
    [KND_STORE_Q_OBJ_GET] = "SELECT json, uid, generation, resource_version, created FROM objects"
                            " WHERE resource = ?1 AND namespace = ?2 AND name = ?3",
    [KND_STORE_Q_OBJ_LIST_NS] = "SELECT json, namespace, name FROM objects"
                                " WHERE resource = ?1 AND namespace = ?2 ORDER BY namespace, name",
    [KND_STORE_Q_OBJ_LIST_ALL] = "SELECT json, namespace, name FROM objects"
                                 " WHERE resource = ?1 ORDER BY namespace, name",
    [KND_STORE_Q_OBJ_INSERT] = "INSERT INTO objects (resource, namespace, name, uid, generation,"
                               " resource_version, json, created)"
                               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [KND_STORE_Q_OBJ_UPDATE] = "UPDATE objects SET generation = ?4, resource_version = ?5,"
                               " json = ?6 WHERE resource = ?1 AND namespace = ?2 AND name = ?3",
    [KND_STORE_Q_OBJ_DELETE] = "DELETE FROM objects"
                               " WHERE resource = ?1 AND namespace = ?2 AND name = ?3",
    [KND_STORE_Q_IMG_PUT] = "INSERT INTO images (ref, argv) VALUES (?1, ?2)"
                            " ON CONFLICT (ref) DO UPDATE SET argv = excluded.argv",
    [KND_STORE_Q_IMG_GET] = "SELECT argv FROM images WHERE ref = ?1",
    [KND_STORE_Q_IMG_LIST] = "SELECT ref, argv FROM images ORDER BY ref",
    [KND_STORE_Q_IMG_DELETE] = "DELETE FROM images WHERE ref = ?1",
};

sqlite3_stmt *knd__store_stmt(knd_store_t *s, knd_store_q_t q)
{
    sqlite3_stmt *st = s->stmt[q];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

int knd__store_err(knd_store_t *s, knd_err_t *err, const char *what)
{
    return knd_err_set(err, KND_E_INTERNAL, "store: %s: %s", what,
                       s->db ? sqlite3_errmsg(s->db) : "no database");
}

static int knd_store_prepare_all(knd_store_t *s, knd_err_t *err)
{
    for (size_t i = 0; i < KND_ARRAY_SIZE(knd_store_stmt_sql); i++) {
        if (sqlite3_prepare_v3(s->db, knd_store_stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &s->stmt[i], NULL) != SQLITE_OK)
            return knd__store_err(s, err, "preparing statements");
    }
    return 0;
}

/* Runs a cached statement that returns no rows. */
static int knd_store_exec_q(knd_store_t *s, knd_store_q_t q, knd_err_t *err, const char *what)
{
    sqlite3_stmt *st = knd__store_stmt(s, q);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        knd__store_err(s, err, what);
        sqlite3_reset(st);
        return -1;
    }
    sqlite3_reset(st);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* the resourceVersion counter                                                                */

static int knd_store_rev_load(knd_store_t *s, knd_err_t *err)
{
    sqlite3_stmt *st = knd__store_stmt(s, KND_STORE_Q_REV_GET);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        if (rc == SQLITE_DONE)
            knd_err_set(err, KND_E_INTERNAL, "store: the resourceVersion counter is missing");
        else
            knd__store_err(s, err, "reading the resourceVersion counter");
        sqlite3_reset(st);
        return -1;
    }
    s->rev = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
}

int knd__store_rev_bump(knd_store_t *s, long long *rev, knd_err_t *err)
{
    KND_ASSERT(s->depth > 0);
    sqlite3_stmt *st = knd__store_stmt(s, KND_STORE_Q_REV_SET);
    sqlite3_bind_int64(st, 1, s->rev + 1);
    if (sqlite3_step(st) != SQLITE_DONE) {
        knd__store_err(s, err, "bumping the resourceVersion counter");
        sqlite3_reset(st);
        return -1;
    }
    sqlite3_reset(st);
    *rev = ++s->rev;
    return 0;
}

long long knd_store_revision(knd_store_t *s)
{
    return s->rev;
}

/* ------------------------------------------------------------------------------------------ */
/* transactions                                                                               */

int knd_store_begin(knd_store_t *s, knd_err_t *err)
{
    if (s->doomed)
        return knd_err_set(err, KND_E_INTERNAL,
                           "store: the enclosing transaction was rolled back");
    if (s->depth == 0 &&
        knd_store_exec_q(s, KND_STORE_Q_BEGIN, err, "beginning a transaction") < 0)
        return -1;
    s->depth++;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* the change feed                                                                            */

void knd_store_observe(knd_store_t *s, knd_store_change_cb cb, void *data)
{
    KND_ASSERT(s->nobservers < KND_STORE_MAX_OBSERVERS);
    s->observers[s->nobservers].cb = cb;
    s->observers[s->nobservers].data = data;
    s->nobservers++;
}

void knd_store_unobserve(knd_store_t *s, knd_store_change_cb cb, void *data)
{
    for (int i = 0; i < s->nobservers; i++) {
        if (s->observers[i].cb != cb || s->observers[i].data != data)
            continue;
        memmove(&s->observers[i], &s->observers[i + 1],
                (size_t)(s->nobservers - i - 1) * sizeof(s->observers[0]));
        s->nobservers--;
        return;
    }
}

void knd__store_note(knd_store_t *s, knd_store_change_t type, const char *resource,
                     const char *json, long long rv)
{
    if (s->nobservers == 0)
        return;
    knd_store_pending_t *p = knd_xcalloc(1, sizeof(*p));
    p->type = type;
    p->resource = knd_xstrdup(resource);
    p->json = knd_xstrdup(json);
    p->rv = rv;
    if (s->pending_tail == NULL)
        s->pending_tail = &s->pending;
    *s->pending_tail = p;
    s->pending_tail = &p->next;
}

/* Delivers (commit) or discards (rollback) the open transaction's changes. */
static void knd_store_flush_pending(knd_store_t *s, bool deliver)
{
    knd_store_pending_t *p = s->pending;
    s->pending = NULL;
    s->pending_tail = &s->pending;
    while (p) {
        knd_store_pending_t *next = p->next;
        for (int i = 0; deliver && i < s->nobservers; i++)
            s->observers[i].cb(s->observers[i].data, p->type, p->resource, p->json, p->rv);
        free(p->json);
        free(p->resource);
        free(p);
        p = next;
    }
}

/* After a ROLLBACK (ours or SQLite's own), the cached counter may be ahead of the database. */
static void knd_store_undo(knd_store_t *s)
{
    knd_store_flush_pending(s, false);
    if (!sqlite3_get_autocommit(s->db))
        knd_store_exec_q(s, KND_STORE_Q_ROLLBACK, NULL, "rolling back");
    if (knd_store_rev_load(s, NULL) < 0)
        s->rev = 0; /* unreadable counter: the next write fails the same way */
}

int knd_store_commit(knd_store_t *s, knd_err_t *err)
{
    KND_ASSERT(s->depth > 0);
    s->depth--;
    if (s->doomed) {
        if (s->depth == 0)
            s->doomed = 0;
        return knd_err_set(err, KND_E_INTERNAL,
                           "store: the transaction was rolled back by an inner failure");
    }
    if (s->depth > 0)
        return 0;
    if (knd_store_exec_q(s, KND_STORE_Q_COMMIT, err, "committing") < 0) {
        knd_store_undo(s);
        return -1;
    }
    knd_store_flush_pending(s, true);
    return 0;
}

void knd_store_rollback(knd_store_t *s)
{
    KND_ASSERT(s->depth > 0);
    if (!s->doomed) {
        knd_store_undo(s);
        s->doomed = 1;
    }
    s->depth--;
    if (s->depth == 0)
        s->doomed = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* open / close                                                                               */

/*
 * SQLite creates files 0644 (less the umask); the state holds secrets, so the file is created
 * 0600 first. SQLite gives the -wal and -shm files the database file's mode.
 */
static int knd_store_create_file(const char *path, knd_err_t *err)
{
    if (strcmp(path, ":memory:") == 0 || path[0] == '\0')
        return 0;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd == -1) {
        int e = errno;
        knd_err_set(err, KND_E_INTERNAL, "store: creating %s: %s", path, strerror(e));
        if (err)
            err->errno_ = e;
        return -1;
    }
    close(fd);
    return 0;
}

static int knd_store_pragmas(knd_store_t *s, knd_err_t *err)
{
    const char *full = getenv("KND_STORE_SYNC_FULL");
    int sync_full = full && full[0] && strcmp(full, "0") != 0;
    /* busy_timeout first: switching to WAL needs a lock a read-only CLI may briefly hold. */
    const char *pragmas[] = {
        "PRAGMA busy_timeout = 5000",
        "PRAGMA journal_mode = WAL",
        sync_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
        "PRAGMA foreign_keys = ON",
    };
    for (size_t i = 0; i < KND_ARRAY_SIZE(pragmas); i++) {
        if (sqlite3_exec(s->db, pragmas[i], NULL, NULL, NULL) != SQLITE_OK)
            return knd__store_err(s, err, pragmas[i]);
    }
    return 0;
}

int knd_store_open(const char *path, knd_store_t **out, knd_err_t *err)
{
    knd_store_t *s = NULL;
    int ret = -1;
    *out = NULL;
    if (path == NULL) {
        knd_err_set(err, KND_E_INVALID, "store: no database path");
        goto out;
    }
    if (knd_store_create_file(path, err) < 0)
        goto out;
    s = knd_xcalloc(1, sizeof(*s));
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        knd__store_err(s, err, "opening the database");
        goto out;
    }
    sqlite3_extended_result_codes(s->db, 1);
    if (knd_store_pragmas(s, err) < 0 || knd__store_migrate(s, err) < 0 ||
        knd_store_prepare_all(s, err) < 0 || knd_store_rev_load(s, err) < 0)
        goto out;
    *out = s;
    s = NULL;
    ret = 0;
out:
    if (ret < 0 && err && path)
        knd_err_wrap(err, "%s", path);
    knd_store_close(s);
    return ret;
}

void knd_store_close(knd_store_t *s)
{
    if (s == NULL)
        return;
    knd_store_flush_pending(s, false);
    for (size_t i = 0; i < KND_STORE_Q_COUNT_; i++)
        sqlite3_finalize(s->stmt[i]);
    /* An open transaction is rolled back by SQLite on close: it was never acknowledged. */
    sqlite3_close(s->db);
    free(s);
}
