/*
 * knd_err.h - the control path's error contract (docs/errors.md).
 *
 * Functions on the control path (manifest, model, store, API, CLI) return 0/-1 (or a pointer/NULL)
 * and fill a caller-owned knd_err_t. The code says how the boundary reports it: INVALID is a 400
 * and exit 2, NOTFOUND 404, EXISTS 409 AlreadyExists, CONFLICT 409 Conflict, INTERNAL 500 / exit 1.
 * The message lives in a fixed buffer so the error path cannot fail.
 *
 * Validation produces many errors at once: knd_errlist_t collects (field path, message) pairs,
 * Knative's FieldError shape. Paths look like `spec.template.spec.containers[0].image`.
 */
#ifndef KND_ERR_H
#define KND_ERR_H

#include <stddef.h>

#include "knd_types.h"

typedef enum {
    KND_E_OK = 0,
    KND_E_INVALID,     /* bad input: 400 / 422, exit 2 */
    KND_E_NOTFOUND,    /* 404 */
    KND_E_EXISTS,      /* 409 AlreadyExists */
    KND_E_CONFLICT,    /* 409 Conflict (stale resourceVersion) */
    KND_E_UNAVAILABLE, /* daemon unreachable, 503 */
    KND_E_INTERNAL,    /* 500, exit 1 */
} knd_errcode_t;

struct knd_err_s {
    knd_errcode_t code;
    int errno_;      /* 0, or the errno / negative libuv code that caused it */
    char msg[1024];
};

/** Sets err (if not NULL) and returns -1, so `return knd_err_set(...)` reads naturally. */
int knd_err_set(knd_err_t *err, knd_errcode_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Prefixes the message with context: "loading x.yaml: <old message>". Keeps code. */
void knd_err_wrap(knd_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void knd_err_clear(knd_err_t *err);

/** One validation error: path may be "" for an object-level problem. Both owned. */
typedef struct {
    char *path;
    char *msg;
    char *details; /* Knative's FieldError.Details: a hint on its own line, or NULL */
} knd_field_err_t;

struct knd_errlist_s {
    knd_field_err_t *v; /* owned array */
    size_t n, cap;
};

void knd_errlist_init(knd_errlist_t *l);
void knd_errlist_free(knd_errlist_t *l);
/** Appends an error for `path` (copied). */
void knd_errlist_add(knd_errlist_t *l, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** Attaches details (a hint, e.g. where the field belongs) to the last error added. */
void knd_errlist_detail(knd_errlist_t *l, const char *details);
/**
 * Renders all errors Knative-style, "msg: path" (then "\n" + details if any) joined by "\n", into a new heap string
 * (e.g. "expected 0 <= 2000 <= 1000: spec.template.spec.containerConcurrency").
 */
char *knd_errlist_join(const knd_errlist_t *l);

#endif
