/*
 * knd_store_int.h - what the store's own files share: the knd_store_t layout, the table of cached
 * statements and the SQLite-to-knd_err_t boundary. Nothing outside src/store/ includes this.
 *
 * SQLite's types are named by their struct tags so that this header does not pull in sqlite3.h:
 * only the store's .c files include it. The knd_store_t owns its connection and statements;
 * knd_store_close finalizes both.
 */
#ifndef KND_STORE_INT_H
#define KND_STORE_INT_H

#include "knd_err.h"
#include "knd_store.h"

struct sqlite3;
struct sqlite3_stmt;

/* Every statement the store runs, prepared once at open (knd_store_stmt_sql in knd_store.c). */
typedef enum {
    KND_STORE_Q_BEGIN = 0,
    KND_STORE_Q_COMMIT,
    KND_STORE_Q_ROLLBACK,
    KND_STORE_Q_REV_GET,
    KND_STORE_Q_REV_SET,
    KND_STORE_Q_OBJ_GET,
    KND_STORE_Q_OBJ_LIST_NS,
    KND_STORE_Q_OBJ_LIST_ALL,
    KND_STORE_Q_OBJ_INSERT,
    KND_STORE_Q_OBJ_UPDATE,
    KND_STORE_Q_OBJ_DELETE,
    KND_STORE_Q_IMG_PUT,
    KND_STORE_Q_IMG_GET,
    KND_STORE_Q_IMG_LIST,
    KND_STORE_Q_IMG_DELETE,
    KND_STORE_Q_COUNT_,
} knd_store_q_t;

/* A mutation made inside the open transaction, reported to the observer once it commits. */
typedef struct knd_store_pending_s {
    struct knd_store_pending_s *next;
    knd_store_change_t type;
    char *resource;
    char *json;
    long long rv;
} knd_store_pending_t;

struct knd_store_s {
    struct sqlite3 *db;
    struct sqlite3_stmt *stmt[KND_STORE_Q_COUNT_];
    long long rev; /* the meta counter as seen inside the current transaction */
    int depth;     /* nesting of knd_store_begin; 0 = no transaction open */
    int doomed;    /* an inner rollback undid the transaction; the outer levels must unwind */
    struct {
        knd_store_change_cb cb;
        void *data;
    } observers[KND_STORE_MAX_OBSERVERS];
    int nobservers;
    knd_store_pending_t *pending, **pending_tail; /* changes of the open transaction, in order */
};

/** The cached statement q, reset and with its bindings cleared, ready to bind (borrowed). */
struct sqlite3_stmt *knd__store_stmt(knd_store_t *s, knd_store_q_t q);

/** Fills err with KND_E_INTERNAL "<what>: <sqlite3_errmsg>" and returns -1. */
int knd__store_err(knd_store_t *s, knd_err_t *err, const char *what);

/** Brings the schema up to date (PRAGMA user_version); each migration in its own transaction. */
int knd__store_migrate(knd_store_t *s, knd_err_t *err);

/**
 * Writes the bumped global resourceVersion (s->rev + 1) inside the open transaction and returns
 * it in *rev. s->rev follows; a rollback reloads it from the database.
 */
int knd__store_rev_bump(knd_store_t *s, long long *rev, knd_err_t *err);

/** Records a change of the open transaction for the observer (json is copied; no-op without
 * an observer). */
void knd__store_note(knd_store_t *s, knd_store_change_t type, const char *resource,
                     const char *json, long long rv);

#endif
