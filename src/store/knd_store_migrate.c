/*
 * knd_store_migrate.c - the schema, as an ordered list of migrations embedded in the binary.
 * PRAGMA user_version records the last one applied; each runs in its own transaction together
 * with the version stamp, so a crash leaves the database at one version or the next, never
 * between. Migrations are append-only: a released one is never edited.
 */
#include <sqlite3.h>
#include <stdio.h>

#include "knd_alloc.h"
#include "knd_store_int.h"

typedef struct {
    int version;
    const char *sql;
} knd_store_migration_t;

static const knd_store_migration_t knd_store_migrations[] = {
    {1,
     /* Objects are whole JSON documents; the columns beside them are what the store itself
        needs to look at without parsing (keys, concurrency, generation). */
     "CREATE TABLE objects ("
     "  resource TEXT NOT NULL,"
     "  namespace TEXT NOT NULL,"
     "  name TEXT NOT NULL,"
     "  uid TEXT NOT NULL,"
     "  generation INTEGER NOT NULL,"
     "  resource_version INTEGER NOT NULL,"
     "  json TEXT NOT NULL,"
     "  created TEXT NOT NULL,"
     "  PRIMARY KEY (resource, namespace, name)"
     ") WITHOUT ROWID;"
     "CREATE INDEX objects_uid ON objects (uid);"
     "CREATE TABLE images ("
     "  ref TEXT PRIMARY KEY NOT NULL,"
     "  argv TEXT NOT NULL"
     ");"
     "CREATE TABLE meta ("
     "  key TEXT PRIMARY KEY NOT NULL,"
     "  value INTEGER NOT NULL"
     ");"
     "INSERT INTO meta (key, value) VALUES ('resourceVersion', 0);"},
};

static int knd_store_migrate_version(knd_store_t *s, int *version, knd_err_t *err)
{
    sqlite3_stmt *st = NULL;
    int ret = -1;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        knd__store_err(s, err, "reading the schema version");
        goto out;
    }
    *version = sqlite3_column_int(st, 0);
    ret = 0;
out:
    sqlite3_finalize(st);
    return ret;
}

static int knd_store_migrate_one(knd_store_t *s, const knd_store_migration_t *m, knd_err_t *err)
{
    char stamp[64];
    snprintf(stamp, sizeof(stamp), "PRAGMA user_version = %d", m->version);
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return knd__store_err(s, err, "beginning a migration");
    if (sqlite3_exec(s->db, m->sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, stamp, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        char what[64];
        snprintf(what, sizeof(what), "schema migration %d", m->version);
        knd__store_err(s, err, what);
        if (!sqlite3_get_autocommit(s->db))
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

int knd__store_migrate(knd_store_t *s, knd_err_t *err)
{
    int version = 0;
    int latest = knd_store_migrations[KND_ARRAY_SIZE(knd_store_migrations) - 1].version;
    if (knd_store_migrate_version(s, &version, err) < 0)
        return -1;
    if (version > latest)
        return knd_err_set(err, KND_E_INTERNAL,
                           "store: schema version %d is newer than this knd understands (%d)",
                           version, latest);
    for (size_t i = 0; i < KND_ARRAY_SIZE(knd_store_migrations); i++) {
        const knd_store_migration_t *m = &knd_store_migrations[i];
        if (m->version > version && knd_store_migrate_one(s, m, err) < 0)
            return -1;
    }
    return 0;
}
