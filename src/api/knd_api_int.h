/* knd_api_int.h - shared between the control API's files. */
#ifndef KND_API_INT_H
#define KND_API_INT_H

#include <jansson.h>

#include "knd_api.h"
#include "knd_buf.h"
#include "knd_http_server.h"
#include "knd_kube_pki.h"
#include "knd_kube_select.h"
#include "knd_model.h"
#include "knd_tls.h"

#define KND_API_MAX_BODY (3 * 1024 * 1024)
#define KND_API_WATCH_RING 512 /* recent changes kept for watches that resume */

/* One committed change, as kept for watches (text: parsed only when a watch replays it). */
typedef struct {
    long long rv;
    knd_store_change_t type;
    char *resource;
    char *json;
} knd_api_event_t;

struct knd_api_s {
    knd_api_deps_t deps;
    knd_http_server_t *srv;     /* the unix socket: trusted by its file mode */
    knd_http_server_t *tls_srv; /* HTTPS for kubectl: bearer token required, or NULL */
    knd_tls_ctx_t *tls;       /* loaded when the first HTTPS client connects */
    knd_kube_pki_t pki;
    char *state_dir, *tls_host; /* where the credentials live, the host they are for */
    int closing_servers;
    struct knd_api_follow_s *follows;  /* open `logs -f` streams */
    struct knd_api_watcher_s *watchers; /* open watches */
    size_t nwatchers;
    knd_api_event_t ring[KND_API_WATCH_RING]; /* the latest changes, oldest at ring_start */
    size_t ring_start, ring_len;
    long long ring_floor; /* every change with rv > ring_floor is in the ring */
    void (*done)(void *data);
    void *done_data;
};

/* One parsed request. Path segments are URL-decoded copies. */
typedef struct {
    knd_api_t *api;
    knd_http_req_t *req;
    knd_buf_t body;
    bool too_large;
    char *path;         /* owned copy of the path, split in place into seg[] */
    char *seg[16];
    int nseg;
    char *query;        /* owned, raw (not decoded) */
    bool taken;         /* a streaming handler owns this call (and frees it) */
    knd_buf_t warnings; /* "Warning:" header lines the answer carries (fieldValidation=Warn) */
} knd_api_call_t;

/** Sends a Kubernetes Status error. */
void knd__api_status(knd_http_req_t *req, int code, const char *reason, const char *message,
                     const char *name, const char *group, const char *kind, json_t *causes);
/** Sends obj as JSON with the given status code. */
void knd__api_json(knd_http_req_t *req, int code, const json_t *obj);
/** The same, with more header lines ("Name: value\r\n" each, or NULL). */
void knd__api_json_headers(knd_http_req_t *req, int code, const json_t *obj,
                           const char *headers);
/** Maps a knd_err_t to its HTTP code and Status reason and sends it. */
void knd__api_error(knd_http_req_t *req, const knd_err_t *err, const char *name,
                    const char *group, const char *resource);
/** The value of query parameter `key` (decoded, new string), or NULL. */
char *knd__api_query(const knd_api_call_t *call, const char *key);

/* knd_api_objects.c: the resource handlers (reads, deletes, dispatch by verb). */
void knd__api_objects(knd_api_call_t *call, const knd_kind_info_t *kind, const char *ns,
                      const char *name);
/* knd_api_write.c: POST, PUT and PATCH (merge, strategic, JSON patch, server-side apply). */
void knd__api_create(knd_api_call_t *call, const knd_kind_info_t *kind, const char *ns);
void knd__api_replace(knd_api_call_t *call, const knd_kind_info_t *kind, const char *ns,
                      const char *name);
void knd__api_patch(knd_api_call_t *call, const knd_kind_info_t *kind, const char *ns,
                    const char *name);
/** 1 for dryRun=All, 0 for none, -1 after answering 400 for another value. */
int knd__api_dry_run(knd_api_call_t *call);
/* knd_api_watch.c: watch streams fed by the store's change feed. */
void knd__api_watch_init(knd_api_t *api);
void knd__api_watch_free(knd_api_t *api);
void knd__api_watch_on_change(void *data, knd_store_change_t type, const char *resource,
                              const char *json, long long rv);
/** Starts a watch; takes ownership of the selectors. */
void knd__api_watch(knd_api_call_t *call, const knd_kind_info_t *kind, const char *ns,
                    knd_kube_selector_t *labels, knd_kube_selector_t *fields);
void knd__api_watch_close_all(knd_api_t *api);

/* knd_api_kube.c: what kubectl asks beyond the resources (version, discovery, OpenAPI,
 * events). Returns false if the path is not one of them. */
bool knd__api_kube(knd_api_call_t *call);
/** True if a query flag is set ("true", "1" or present without a value). */
bool knd__api_query_flag(const knd_api_call_t *call, const char *key);

/* knd_api_extra.c: knd.dev endpoints (images, logs). */
void knd__api_images(knd_api_call_t *call, const char *ref);
void knd__api_logs(knd_api_call_t *call, const char *ns, const char *service);
void knd__api_stats(knd_api_call_t *call);
void knd__api_follow_close_all(knd_api_t *api);

#endif
