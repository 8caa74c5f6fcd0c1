/* knd_api_int.h - shared between the control API's files. */
#ifndef KND_API_INT_H
#define KND_API_INT_H

#include <jansson.h>

#include "knd_api.h"
#include "knd_buf.h"
#include "knd_http_server.h"
#include "knd_model.h"

#define KND_API_MAX_BODY (3 * 1024 * 1024)

struct knd_api_s {
    knd_api_deps_t deps;
    knd_http_server_t *srv;
    struct knd_api_follow_s *follows; /* open `logs -f` streams */
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
} knd_api_call_t;

/** Sends a Kubernetes Status error. */
void knd__api_status(knd_http_req_t *req, int code, const char *reason, const char *message,
                     const char *name, const char *group, const char *kind, json_t *causes);
/** Sends obj as JSON with the given status code. */
void knd__api_json(knd_http_req_t *req, int code, const json_t *obj);
/** Maps a knd_err_t to its HTTP code and Status reason and sends it. */
void knd__api_error(knd_http_req_t *req, const knd_err_t *err, const char *name,
                    const char *group, const char *resource);
/** The value of query parameter `key` (decoded, new string), or NULL. */
char *knd__api_query(const knd_api_call_t *call, const char *key);

/* knd_api_objects.c: the resource handlers. */
void knd__api_objects(knd_api_call_t *call, const knd_kind_info_t *kind, const char *ns,
                      const char *name);
/* knd_api_extra.c: knd.dev endpoints (images, logs). */
void knd__api_images(knd_api_call_t *call, const char *ref);
void knd__api_logs(knd_api_call_t *call, const char *ns, const char *service);
void knd__api_stats(knd_api_call_t *call);
void knd__api_follow_close_all(knd_api_t *api);

#endif
