/*
 * knd_http_server_req.c - the server's request objects. Released requests are kept per server
 * (up to KND_HTTP_SPARE_REQS) and handed out again, so a keep-alive request costs no allocation:
 * the object and its head, header-index and response-head buffers come back with their
 * capacity. Parked requests are poisoned for AddressSanitizer.
 */
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_http_server_int.h"

static void knd_http_req_poison(knd_http_req_t *r, bool on)
{
    if (!on)
        KND_UNPOISON(r, sizeof(*r));
    void *parts[] = {r->head.raw.p, r->head.hdrs, r->held.p};
    size_t sizes[] = {r->head.raw.cap, r->head.cap * sizeof(*r->head.hdrs), r->held.cap};
    for (size_t i = 0; i < KND_ARRAY_SIZE(parts); i++) {
        if (parts[i] && on)
            KND_POISON(parts[i], sizes[i]);
        else if (parts[i])
            KND_UNPOISON(parts[i], sizes[i]);
    }
    if (on)
        KND_POISON(r, sizeof(*r));
}

static void knd_http_req_destroy(knd_http_req_t *r)
{
    knd_buf_free(&r->held);
    knd_http_head_free(&r->head);
    free(r);
}

knd_http_req_t *knd__http_req_new(knd_http_server_t *srv)
{
    knd_http_req_t *r = srv->spare;
    if (r == NULL) {
        r = knd_xcalloc(1, sizeof(*r));
        knd_http_head_init(&r->head);
    } else {
        knd_http_req_poison(r, false);
        srv->spare = r->spare_next;
        srv->nspare--;
        knd_http_head_t head = r->head;
        knd_buf_t held = r->held;
        memset(r, 0, sizeof(*r));
        r->head = head;
        r->held = held;
        knd_buf_reset(&r->held);
    }
    knd_http_head_reset(&r->head);
    return r;
}

void knd__http_req_free(knd_http_req_t *r)
{
    knd_http_server_t *srv = r->conn->srv;
    if (srv->closing || srv->nspare >= KND_HTTP_SPARE_REQS ||
        r->head.raw.cap > KND_HTTP_SPARE_BUF_MAX || r->held.cap > KND_HTTP_SPARE_BUF_MAX) {
        knd_http_req_destroy(r);
        return;
    }
    r->spare_next = srv->spare;
    srv->spare = r;
    srv->nspare++;
    knd_http_req_poison(r, true);
}

void knd__http_server_free_spares(knd_http_server_t *srv)
{
    while (srv->spare) {
        knd_http_req_t *r = srv->spare;
        knd_http_req_poison(r, false);
        srv->spare = r->spare_next;
        knd_http_req_destroy(r);
    }
    srv->nspare = 0;
}
