/*
 * knd_testapp_ws.c - the websocket echo of knd-testapp (GET /ws), a minimal RFC 6455 server in
 * the spirit of Knative's wsserver test image: the handshake, unmasking of client frames, echo
 * of text/binary/continuation frames as they are (so fragmented messages come back fragmented),
 * pong for ping, and the closing handshake.
 *
 * Frames are parsed in place from conn->in; a frame must fit in KND_TESTAPP_WS_MAX_FRAME, since
 * reading stops once KND_TESTAPP_BACKLOG_LIMIT bytes are buffered.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "knd_testapp.h"

#define KND_TESTAPP_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define KND_TESTAPP_WS_MAX_FRAME (KND_TESTAPP_BACKLOG_LIMIT - 64)

/* ---------------------------------------------------------------- handshake */

static int knd_testapp_ws_reject(knd_testapp_conn_t *c, const char *why)
{
    size_t len = strlen(why);

    c->keep_alive = 0;
    knd_testapp_conn_write_head(c, 400, "text/plain", (long long)len, NULL);
    knd_testapp_conn_write(c, why, len);
    knd_testapp_conn_finish(c);
    return -1;
}

int knd_testapp_ws_accept(knd_testapp_conn_t *c)
{
    const char *upgrade = knd_testapp_conn_header(c, "upgrade");
    const char *key = knd_testapp_conn_header(c, "sec-websocket-key");
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned char accept[64];
    char input[128], extra[256];
    unsigned mdlen = 0;

    if (upgrade == NULL || strcasecmp(upgrade, "websocket") != 0)
        return knd_testapp_ws_reject(c, "expected Upgrade: websocket\n");
    if (key == NULL || strlen(key) > 64)
        return knd_testapp_ws_reject(c, "missing or invalid Sec-WebSocket-Key\n");
    snprintf(input, sizeof(input), "%s%s", key, KND_TESTAPP_WS_GUID);
    if (EVP_Digest(input, strlen(input), md, &mdlen, EVP_sha1(), NULL) != 1)
        return knd_testapp_ws_reject(c, "sha1 failed\n");
    EVP_EncodeBlock(accept, md, (int)mdlen);
    snprintf(extra, sizeof(extra),
             "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n",
             (const char *)accept);
    knd_testapp_conn_write_head(c, 101, NULL, 0, extra);
    if (c->app->log_requests)
        printf("GET /ws 101\n");
    return 0;
}

/* ---------------------------------------------------------------- frames */

static void knd_testapp_ws_send(knd_testapp_conn_t *c, unsigned char b0, const char *payload,
                                size_t len)
{
    unsigned char hdr[10];
    size_t n = 0;
    int i;

    hdr[n++] = b0;
    if (len < 126) {
        hdr[n++] = (unsigned char)len;
    } else if (len <= 0xffff) {
        hdr[n++] = 126;
        hdr[n++] = (unsigned char)(len >> 8);
        hdr[n++] = (unsigned char)len;
    } else {
        hdr[n++] = 127;
        for (i = 7; i >= 0; i--)
            hdr[n++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    knd_testapp_conn_write(c, hdr, n);
    knd_testapp_conn_write(c, payload, len);
}

void knd_testapp_ws_close(knd_testapp_conn_t *c, unsigned code)
{
    char payload[2];

    if (c->closing)
        return;
    payload[0] = (char)(code >> 8);
    payload[1] = (char)(code & 0xff);
    knd_testapp_ws_send(c, 0x88, payload, 2);
    knd_testapp_conn_shutdown(c);
}

/* Returns the frame's total size, 0 if incomplete, or -1 after closing on a protocol error. */
static long long knd_testapp_ws_frame(knd_testapp_conn_t *c, unsigned char *p, size_t avail)
{
    size_t hdr = 2, i;
    uint64_t len;
    unsigned char b0, op, *mask;
    char *payload;

    if (avail < 2)
        return 0;
    b0 = p[0];
    op = b0 & 0x0f;
    len = p[1] & 0x7f;
    if ((p[1] & 0x80) == 0) {
        knd_testapp_ws_close(c, 1002); /* clients must mask */
        return -1;
    }
    if (len == 126) {
        if (avail < 4)
            return 0;
        len = ((uint64_t)p[2] << 8) | p[3];
        hdr = 4;
    } else if (len == 127) {
        if (avail < 10)
            return 0;
        for (len = 0, i = 2; i < 10; i++)
            len = (len << 8) | p[i];
        hdr = 10;
    }
    if (len > KND_TESTAPP_WS_MAX_FRAME) {
        knd_testapp_ws_close(c, 1009); /* message too big */
        return -1;
    }
    if (avail < hdr + 4 + len)
        return 0;
    mask = p + hdr;
    payload = (char *)p + hdr + 4;
    for (i = 0; i < len; i++)
        payload[i] = (char)(payload[i] ^ mask[i % 4]);

    switch (op) {
    case 0x0: /* continuation */
    case 0x1: /* text */
    case 0x2: /* binary */
        knd_testapp_ws_send(c, b0 & 0x8f, payload, len);
        break;
    case 0x8: /* close: answer with the same status, then end the connection */
        knd_testapp_ws_send(c, 0x88, payload, len >= 2 ? 2 : 0);
        knd_testapp_conn_shutdown(c);
        return -1;
    case 0x9: /* ping */
        knd_testapp_ws_send(c, 0x8a, payload, len);
        break;
    case 0xa: /* pong */
        break;
    default:
        knd_testapp_ws_close(c, 1002);
        return -1;
    }
    return (long long)(hdr + 4 + len);
}

void knd_testapp_ws_feed(knd_testapp_conn_t *c)
{
    long long used;

    while (!c->closing && c->in.len > 0) {
        used = knd_testapp_ws_frame(c, (unsigned char *)c->in.p, c->in.len);
        if (used <= 0)
            break;
        knd_buf_consume(&c->in, (size_t)used);
    }
}
