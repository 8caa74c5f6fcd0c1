/*
 * knd_types.h - forward declarations of knd's shared types, so headers can name each other's
 * objects without including each other (haproxy's "-t" header idea). Types only, no functions.
 */
#ifndef KND_TYPES_H
#define KND_TYPES_H

typedef struct knd_err_s knd_err_t;
typedef struct knd_errlist_s knd_errlist_t;
typedef struct knd_buf_s knd_buf_t;
typedef struct knd_doc_s knd_doc_t;
typedef struct knd_platform_s knd_platform_t;
typedef struct knd_store_s knd_store_t;
typedef struct knd_supervisor_s knd_supervisor_t;
typedef struct knd_instance_s knd_instance_t;
typedef struct knd_daemon_s knd_daemon_t;

/* knd's own version, reported by `knd version` and the API's /version. */
#ifndef KND_VERSION
#define KND_VERSION "0.1.0"
#endif

#endif
