/*
 * test_knd_http_head.c - message heads accumulated from a real llhttp parser (the same callback
 * wiring the server uses), fed whole or one byte at a time, plus the small pure helpers: hop-by-hop
 * names, percent-decoding and reason phrases.
 *
 * Each test owns its parser harness on the stack; test_hp_free releases the head.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "knd_buf.h"
#include "knd_http.h"

typedef struct {
    llhttp_t parser;
    llhttp_settings_t settings;
    knd_http_head_t head;
    int begins, headers_complete, messages;
} hp_t;

static hp_t *test_hp_of(llhttp_t *p)
{
    return p->data;
}

static int test_hp_on_begin(llhttp_t *p)
{
    hp_t *hp = test_hp_of(p);
    hp->begins++;
    knd_http_head_reset(&hp->head);
    return 0;
}

static int test_hp_on_url(llhttp_t *p, const char *at, size_t n)
{
    return knd_http_head_on_url(&test_hp_of(p)->head, at, n);
}

static int test_hp_on_field(llhttp_t *p, const char *at, size_t n)
{
    return knd_http_head_on_field(&test_hp_of(p)->head, at, n);
}

static int test_hp_on_value(llhttp_t *p, const char *at, size_t n)
{
    return knd_http_head_on_value(&test_hp_of(p)->head, at, n);
}

static int test_hp_on_url_done(llhttp_t *p)
{
    knd_http_head_url_done(&test_hp_of(p)->head);
    return 0;
}

static int test_hp_on_field_done(llhttp_t *p)
{
    knd_http_head_field_done(&test_hp_of(p)->head);
    return 0;
}

static int test_hp_on_value_done(llhttp_t *p)
{
    knd_http_head_value_done(&test_hp_of(p)->head);
    return 0;
}

static int test_hp_on_headers(llhttp_t *p)
{
    hp_t *hp = test_hp_of(p);
    knd_http_head_finish(&hp->head, p);
    hp->headers_complete++;
    return 0;
}

static int test_hp_on_complete(llhttp_t *p)
{
    test_hp_of(p)->messages++;
    return 0;
}

static void test_hp_init(hp_t *hp, llhttp_type_t type)
{
    memset(hp, 0, sizeof(*hp));
    llhttp_settings_init(&hp->settings);
    hp->settings.on_message_begin = test_hp_on_begin;
    hp->settings.on_url = test_hp_on_url;
    hp->settings.on_header_field = test_hp_on_field;
    hp->settings.on_header_value = test_hp_on_value;
    hp->settings.on_url_complete = test_hp_on_url_done;
    hp->settings.on_header_field_complete = test_hp_on_field_done;
    hp->settings.on_header_value_complete = test_hp_on_value_done;
    hp->settings.on_headers_complete = test_hp_on_headers;
    hp->settings.on_message_complete = test_hp_on_complete;
    llhttp_init(&hp->parser, type, &hp->settings);
    hp->parser.data = hp;
    knd_http_head_init(&hp->head);
}

static void test_hp_free(hp_t *hp)
{
    knd_http_head_free(&hp->head);
}

/* Feeds s in pieces of `step` bytes; returns the first error (HPE_OK when all was accepted). */
static llhttp_errno_t test_hp_feed(hp_t *hp, const char *s, size_t n, size_t step)
{
    for (size_t off = 0; off < n; off += step) {
        size_t k = n - off < step ? n - off : step;
        llhttp_errno_t e = llhttp_execute(&hp->parser, s + off, k);
        if (e != HPE_OK)
            return e;
    }
    return HPE_OK;
}

static const char test_req[] = "POST /api/v1/things?x=1%202 HTTP/1.1\r\n"
                               "Host: hello.default.example.com:8080\r\n"
                               "User-Agent: knd-test/1.0\r\n"
                               "X-Empty:\r\n"
                               "X-Spaces:    padded value   \r\n"
                               "Content-Length: 5\r\n"
                               "Connection: keep-alive\r\n"
                               "\r\n"
                               "hello";

static void test_check_req_head(const hp_t *hp)
{
    const knd_http_head_t *h = &hp->head;
    assert_int_equal(hp->headers_complete, 1);
    assert_int_equal(hp->messages, 1);
    assert_false(h->too_large);
    assert_string_equal(knd_http_head_url(h), "/api/v1/things?x=1%202");
    assert_int_equal(h->method, HTTP_POST);
    assert_int_equal(h->http_major, 1);
    assert_int_equal(h->http_minor, 1);
    assert_int_equal(h->content_length, 5);
    assert_false(h->chunked);
    assert_true(h->keep_alive);
    assert_int_equal(knd_http_head_count(h), 6);
    assert_string_equal(knd_http_head_name(h, 0), "Host");
    assert_string_equal(knd_http_head_value(h, 0), "hello.default.example.com:8080");
    assert_string_equal(knd_http_head_name(h, 1), "User-Agent");
    assert_string_equal(knd_http_head_value(h, 1), "knd-test/1.0");
    assert_string_equal(knd_http_head_name(h, 2), "X-Empty");
    assert_string_equal(knd_http_head_value(h, 2), "");
    assert_string_equal(knd_http_head_name(h, 3), "X-Spaces");
    /* llhttp drops leading whitespace; the trailing one is part of what it reports */
    assert_non_null(strstr(knd_http_head_value(h, 3), "padded value"));
    assert_int_equal(strncmp(knd_http_head_value(h, 3), "padded value", 12), 0);
    assert_string_equal(knd_http_head_value(h, 4), "5");
    assert_string_equal(knd_http_head_value(h, 5), "keep-alive");
}

static void test_head_whole(void **state)
{
    (void)state;
    hp_t hp;
    test_hp_init(&hp, HTTP_REQUEST);
    assert_int_equal(test_hp_feed(&hp, test_req, strlen(test_req), strlen(test_req)), HPE_OK);
    test_check_req_head(&hp);
    test_hp_free(&hp);
}

/* The same request one byte per llhttp_execute: every piece arrives split across callbacks. */
static void test_head_byte_split(void **state)
{
    (void)state;
    hp_t hp;
    test_hp_init(&hp, HTTP_REQUEST);
    assert_int_equal(test_hp_feed(&hp, test_req, strlen(test_req), 1), HPE_OK);
    test_check_req_head(&hp);
    test_hp_free(&hp);

    /* and in odd-sized pieces that straddle names, colons and values */
    for (size_t step = 2; step <= 13; step++) {
        test_hp_init(&hp, HTTP_REQUEST);
        assert_int_equal(test_hp_feed(&hp, test_req, strlen(test_req), step), HPE_OK);
        test_check_req_head(&hp);
        test_hp_free(&hp);
    }
}

static void test_head_empty_values(void **state)
{
    (void)state;
    static const char req[] = "GET / HTTP/1.1\r\nA:\r\nB: \r\nC: c\r\nD:\r\n\r\n";
    hp_t hp;
    test_hp_init(&hp, HTTP_REQUEST);
    assert_int_equal(test_hp_feed(&hp, req, strlen(req), 1), HPE_OK);
    assert_int_equal(knd_http_head_count(&hp.head), 4);
    assert_string_equal(knd_http_head_get(&hp.head, "A"), "");
    assert_string_equal(knd_http_head_get(&hp.head, "B"), "");
    assert_string_equal(knd_http_head_get(&hp.head, "C"), "c");
    assert_string_equal(knd_http_head_get(&hp.head, "D"), "");
    assert_string_equal(knd_http_head_url(&hp.head), "/");
    assert_int_equal(hp.head.content_length, -1);
    test_hp_free(&hp);
}

static void test_head_get_case_insensitive(void **state)
{
    (void)state;
    static const char req[] = "GET /x HTTP/1.1\r\ncontent-TYPE: text/plain\r\n"
                              "X-Dup: first\r\nx-dup: second\r\n\r\n";
    hp_t hp;
    test_hp_init(&hp, HTTP_REQUEST);
    assert_int_equal(test_hp_feed(&hp, req, strlen(req), 3), HPE_OK);
    assert_string_equal(knd_http_head_get(&hp.head, "Content-Type"), "text/plain");
    assert_string_equal(knd_http_head_get(&hp.head, "content-type"), "text/plain");
    assert_string_equal(knd_http_head_get(&hp.head, "X-DUP"), "first"); /* first one wins */
    assert_null(knd_http_head_get(&hp.head, "Content"));
    assert_null(knd_http_head_get(&hp.head, "Content-Type-X"));
    assert_null(knd_http_head_get(&hp.head, "Host"));
    test_hp_free(&hp);
}

/* A request line + headers over KND_HTTP_MAX_HEAD bytes makes a callback fail with too_large. */
static void test_head_too_large_bytes(void **state)
{
    (void)state;
    knd_buf_t b;
    knd_buf_init(&b);
    knd_buf_puts(&b, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
    for (size_t i = 0; i < KND_HTTP_MAX_HEAD + 100; i++)
        knd_buf_append(&b, "a", 1);
    knd_buf_puts(&b, "\r\n\r\n");

    hp_t hp;
    test_hp_init(&hp, HTTP_REQUEST);
    assert_int_not_equal(test_hp_feed(&hp, b.p, b.len, 4096), HPE_OK);
    assert_true(hp.head.too_large);
    assert_int_equal(hp.headers_complete, 0);
    test_hp_free(&hp);

    /* well below the limit, the same shape parses */
    knd_buf_reset(&b);
    knd_buf_puts(&b, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
    for (size_t i = 0; i < KND_HTTP_MAX_HEAD - 1000; i++)
        knd_buf_append(&b, "a", 1);
    knd_buf_puts(&b, "\r\n\r\n");
    test_hp_init(&hp, HTTP_REQUEST);
    assert_int_equal(test_hp_feed(&hp, b.p, b.len, 4096), HPE_OK);
    assert_false(hp.head.too_large);
    assert_int_equal(strlen(knd_http_head_get(&hp.head, "X-Big")), KND_HTTP_MAX_HEAD - 1000);
    test_hp_free(&hp);

    /* a long URL counts too */
    knd_buf_reset(&b);
    knd_buf_puts(&b, "GET /");
    for (size_t i = 0; i < KND_HTTP_MAX_HEAD + 10; i++)
        knd_buf_append(&b, "u", 1);
    knd_buf_puts(&b, " HTTP/1.1\r\n\r\n");
    test_hp_init(&hp, HTTP_REQUEST);
    assert_int_not_equal(test_hp_feed(&hp, b.p, b.len, 1000), HPE_OK);
    assert_true(hp.head.too_large);
    test_hp_free(&hp);
    knd_buf_free(&b);
}

static void test_head_build(knd_buf_t *b, int nheaders)
{
    knd_buf_reset(b);
    knd_buf_puts(b, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < nheaders; i++)
        knd_buf_printf(b, "X-H%d: v%d\r\n", i, i);
    knd_buf_puts(b, "\r\n");
}

static void test_head_too_many_headers(void **state)
{
    (void)state;
    knd_buf_t b;
    knd_buf_init(&b);
    hp_t hp;

    test_head_build(&b, KND_HTTP_MAX_HEADERS);
    test_hp_init(&hp, HTTP_REQUEST);
    assert_int_equal(test_hp_feed(&hp, b.p, b.len, 7), HPE_OK);
    assert_false(hp.head.too_large);
    assert_int_equal(knd_http_head_count(&hp.head), KND_HTTP_MAX_HEADERS);
    assert_string_equal(knd_http_head_get(&hp.head, "x-h127"), "v127");
    assert_string_equal(knd_http_head_get(&hp.head, "X-H0"), "v0");
    test_hp_free(&hp);

    test_head_build(&b, KND_HTTP_MAX_HEADERS + 1);
    test_hp_init(&hp, HTTP_REQUEST);
    assert_int_not_equal(test_hp_feed(&hp, b.p, b.len, 7), HPE_OK);
    assert_true(hp.head.too_large);
    assert_int_equal(hp.headers_complete, 0);
    test_hp_free(&hp);
    knd_buf_free(&b);
}

/* One head reused across keep-alive messages: reset forgets the previous headers. */
static void test_head_reset_between_messages(void **state)
{
    (void)state;
    static const char two[] = "GET /one HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n"
                              "DELETE /two HTTP/1.1\r\nC: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "0\r\n\r\n";
    hp_t hp;
    test_hp_init(&hp, HTTP_REQUEST);
    /* stop after the first message to look at it */
    size_t first = strstr(two, "DELETE") - two;
    assert_int_equal(test_hp_feed(&hp, two, first, 1), HPE_OK);
    assert_string_equal(knd_http_head_url(&hp.head), "/one");
    assert_int_equal(knd_http_head_count(&hp.head), 2);
    assert_int_equal(test_hp_feed(&hp, two + first, strlen(two) - first, 1), HPE_OK);
    assert_int_equal(hp.messages, 2);
    assert_string_equal(knd_http_head_url(&hp.head), "/two");
    assert_int_equal(hp.head.method, HTTP_DELETE);
    assert_int_equal(knd_http_head_count(&hp.head), 2);
    assert_null(knd_http_head_get(&hp.head, "A"));
    assert_string_equal(knd_http_head_get(&hp.head, "C"), "3");
    assert_true(hp.head.chunked);
    assert_int_equal(hp.head.content_length, -1);
    test_hp_free(&hp);
}

static void test_head_response(void **state)
{
    (void)state;
    static const char resp[] = "HTTP/1.0 404 Not Found\r\nServer: x\r\nContent-Length: 0\r\n\r\n";
    hp_t hp;
    test_hp_init(&hp, HTTP_RESPONSE);
    assert_int_equal(test_hp_feed(&hp, resp, strlen(resp), 1), HPE_OK);
    assert_int_equal(hp.head.status, 404);
    assert_int_equal(hp.head.http_major, 1);
    assert_int_equal(hp.head.http_minor, 0);
    assert_false(hp.head.keep_alive); /* HTTP/1.0 without keep-alive */
    assert_int_equal(hp.head.content_length, 0);
    assert_string_equal(knd_http_head_url(&hp.head), "");
    assert_string_equal(knd_http_head_get(&hp.head, "server"), "x");
    test_hp_free(&hp);
}

static void test_head_add_by_hand(void **state)
{
    (void)state;
    knd_http_head_t h;
    knd_http_head_init(&h);
    assert_null(knd_http_head_get(&h, "A"));
    for (int i = 0; i < 40; i++) { /* past the initial capacity */
        char name[16], value[16];
        snprintf(name, sizeof(name), "N%d", i);
        snprintf(value, sizeof(value), "v%d", i);
        knd_http_head_add(&h, name, value);
    }
    knd_http_head_add(&h, "Empty", "");
    assert_int_equal(knd_http_head_count(&h), 41);
    assert_string_equal(knd_http_head_get(&h, "n39"), "v39");
    assert_string_equal(knd_http_head_get(&h, "N0"), "v0");
    assert_string_equal(knd_http_head_get(&h, "EMPTY"), "");
    assert_string_equal(knd_http_head_url(&h), "");
    knd_http_head_free(&h);
}

/* Parses a request line + headers and applies knd_http_head_origin_form. */
static void test_origin_form_of(const char *req, const char *url, const char *host)
{
    hp_t hp;
    test_hp_init(&hp, HTTP_REQUEST);
    assert_int_equal(test_hp_feed(&hp, req, strlen(req), 3), HPE_OK);
    knd_http_head_origin_form(&hp.head);
    assert_string_equal(knd_http_head_url(&hp.head), url);
    if (host)
        assert_string_equal(knd_http_head_get(&hp.head, "Host"), host);
    else
        assert_null(knd_http_head_get(&hp.head, "Host"));
    assert_string_equal(knd_http_head_get(&hp.head, "X-After"), "kept");
    test_hp_free(&hp);
}

/* RFC 9112 3.2.2: an absolute-form target's authority is the host, the Host header received is
 * ignored; other forms are left alone. */
static void test_head_origin_form(void **state)
{
    (void)state;
    test_origin_form_of("GET http://Hello.default.example.com:8080/a/b?c=d HTTP/1.1\r\n"
                        "Host: elsewhere.example\r\nX-After: kept\r\n\r\n",
                        "/a/b?c=d", "Hello.default.example.com:8080");
    test_origin_form_of("GET HTTPS://user:pw@h.example?q=1 HTTP/1.1\r\nX-After: kept\r\n\r\n",
                        "/?q=1", "h.example"); /* no Host header: one is added */
    test_origin_form_of("GET http://h.example HTTP/1.1\r\nHost: x\r\nX-After: kept\r\n\r\n",
                        "/", "h.example");
    test_origin_form_of("GET /plain HTTP/1.1\r\nHost: x\r\nX-After: kept\r\n\r\n", "/plain",
                        "x");
    test_origin_form_of("GET http:///nohost HTTP/1.1\r\nHost: x\r\nX-After: kept\r\n\r\n",
                        "http:///nohost", "x");
    test_origin_form_of("OPTIONS * HTTP/1.1\r\nHost: x\r\nX-After: kept\r\n\r\n", "*", "x");
    /* A target as long as the head so far: the copies make the buffer move. */
    char req[8192], want[4096];
    memset(want, 'p', sizeof(want));
    want[0] = '/';
    want[1] = '?';
    want[sizeof(want) - 1] = '\0';
    snprintf(req, sizeof(req), "GET http://h.example%s HTTP/1.1\r\nX-After: kept\r\n\r\n",
             want + 1);
    test_origin_form_of(req, want, "h.example");
}

static void test_hop_headers(void **state)
{
    (void)state;
    static const char *const hop[] = {"Connection", "keep-alive", "Proxy-Connection",
                                      "Proxy-Authenticate", "PROXY-AUTHORIZATION", "TE",
                                      "Trailer", "Transfer-Encoding", "upgrade"};
    static const char *const end[] = {"Host", "Content-Length", "Content-Type", "X-Connection",
                                      "Connections", "Trailers", "T", "", "Authorization",
                                      "Keep-Alive-X", "Forwarded"};
    for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
        assert_true(knd_http_is_hop_header(hop[i]));
    for (size_t i = 0; i < sizeof(end) / sizeof(end[0]); i++)
        assert_false(knd_http_is_hop_header(end[i]));
}

static void test_url_decode(void **state)
{
    (void)state;
    struct {
        const char *in, *out;
    } good[] = {
        {"/plain", "/plain"},
        {"/a%20b%2Fc", "/a b/c"},
        {"%4a%4A%6b", "JJk"},
        {"a+b", "a+b"}, /* '+' is not a space in a path */
        {"%25", "%"},
        {"%e2%82%ac", "\xe2\x82\xac"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char buf[64];
        snprintf(buf, sizeof(buf), "%s", good[i].in);
        assert_int_equal(knd_http_url_decode(buf), 0);
        assert_string_equal(buf, good[i].out);
    }
    static const char *const bad[] = {"%", "%4", "abc%", "%zz", "%g0", "%0g", "/x%%41", "%-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char buf[64];
        snprintf(buf, sizeof(buf), "%s", bad[i]);
        assert_int_equal(knd_http_url_decode(buf), -1);
    }
}

static void test_reason(void **state)
{
    (void)state;
    assert_string_equal(knd_http_reason(200), "OK");
    assert_string_equal(knd_http_reason(204), "No Content");
    assert_string_equal(knd_http_reason(400), "Bad Request");
    assert_string_equal(knd_http_reason(404), "Not Found");
    assert_string_equal(knd_http_reason(408), "Request Timeout");
    assert_string_equal(knd_http_reason(413), "Payload Too Large");
    assert_string_equal(knd_http_reason(431), "Request Header Fields Too Large");
    assert_string_equal(knd_http_reason(502), "Bad Gateway");
    assert_string_equal(knd_http_reason(503), "Service Unavailable");
    assert_string_equal(knd_http_reason(504), "Gateway Timeout");
    assert_string_equal(knd_http_reason(299), "Unknown");
    assert_string_equal(knd_http_reason(0), "Unknown");
    assert_string_equal(knd_http_reason(-1), "Unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_whole),
        cmocka_unit_test(test_head_byte_split),
        cmocka_unit_test(test_head_empty_values),
        cmocka_unit_test(test_head_get_case_insensitive),
        cmocka_unit_test(test_head_too_large_bytes),
        cmocka_unit_test(test_head_too_many_headers),
        cmocka_unit_test(test_head_reset_between_messages),
        cmocka_unit_test(test_head_response),
        cmocka_unit_test(test_head_add_by_hand),
        cmocka_unit_test(test_head_origin_form),
        cmocka_unit_test(test_hop_headers),
        cmocka_unit_test(test_url_decode),
        cmocka_unit_test(test_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
