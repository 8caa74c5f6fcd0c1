/*
 * knd_client.h - a blocking HTTP/1.1 client over the daemon's unix socket, for the CLI (which has
 * no event loop). One connection per request (Connection: close). Responses are parsed with
 * llhttp: status, headers, and a body framed by Content-Length, chunked encoding or EOF.
 *
 * Ownership: knd_client_resp_t owns its headers and body; release with knd_client_resp_free.
 */
#ifndef KND_CLIENT_H
#define KND_CLIENT_H

#include <stddef.h>

#include "knd_buf.h"
#include "knd_err.h"

typedef struct {
    char *name;  /* owned, as received */
    char *value; /* owned */
} knd_client_header_t;

typedef struct knd_client_resp_s {
    int status; /* HTTP status code; 0 until the head is parsed */
    knd_client_header_t *headers; /* owned array */
    size_t nheaders;
    knd_buf_t body; /* the body, unless it went to a sink */
} knd_client_resp_t;

/**
 * Receives body bytes as they arrive. Return 0 to continue, -1 to stop reading (the request then
 * ends with 0: stopping is the caller's choice, not an error).
 */
typedef int (*knd_client_body_cb)(void *ud, const char *p, size_t n);

void knd_client_resp_init(knd_client_resp_t *r);
void knd_client_resp_free(knd_client_resp_t *r);
/** Case-insensitive header lookup; the last occurrence wins; NULL if absent. Borrowed. */
const char *knd_client_resp_header(const knd_client_resp_t *r, const char *name);

/**
 * Connects to the unix socket at sock_path (paths longer than sun_path are reached through
 * /proc/self/fd), sends `method path` with body (may be NULL; sent with Content-Type
 * application/json), and reads the whole response. If sink is set and the status is 2xx, body
 * bytes go to sink as they arrive instead of resp->body. Returns 0 once a response was read
 * (whatever its status), or -1 with err: KND_E_UNAVAILABLE and errno_ set when the socket could
 * not be reached, KND_E_INTERNAL for a broken or malformed response.
 */
int knd_client_request(const char *sock_path, const char *method, const char *path,
                       const char *body, size_t body_len, knd_client_body_cb sink, void *ud,
                       knd_client_resp_t *resp, knd_err_t *err);

#endif
