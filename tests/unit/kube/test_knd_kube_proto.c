/*
 * test_knd_kube_proto.c - decoding kubectl's protobuf bodies: the secret vector captured from
 * `kubectl create secret generic s --from-literal=a=b` (shared/kubernetes-api.md §10) byte for
 * byte, a ConfigMap and a Namespace encoded here by hand with every field kubectl can send, raw
 * bytes that are not UTF-8, and truncated or corrupted input at every offset failing cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "knd_buf.h"
#include "knd_kube_proto.h"

/* The captured request body, 53 bytes. */
static const unsigned char secret_vector[] = {
    0x6b, 0x38, 0x73, 0x00,                                     /* k8s\0 */
    0x0a, 0x0c, 0x0a, 0x02, 0x76, 0x31, 0x12, 0x06, 0x53, 0x65, /* typeMeta{v1, Secret} */
    0x63, 0x72, 0x65, 0x74,                                     /* */
    0x12, 0x1d,                                                 /* raw, 29 bytes: */
    0x0a, 0x11, 0x0a, 0x01, 0x73, 0x12, 0x00, 0x1a, 0x00, 0x22, /* metadata{name "s", ...} */
    0x00, 0x2a, 0x00, 0x32, 0x00, 0x38, 0x00, 0x42, 0x00,       /* */
    0x12, 0x06, 0x0a, 0x01, 0x61, 0x12, 0x01, 0x62,             /* data{"a": "b"} */
    0x1a, 0x00,                                                 /* type "" */
    0x1a, 0x00, 0x22, 0x00,                                     /* contentEncoding, contentType */
};

/* ---- a tiny protobuf writer for hand-made bodies ------------------------------------------- */

static void pb_varint(knd_buf_t *b, uint64_t v)
{
    do {
        unsigned char c = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            c |= 0x80;
        knd_buf_append(b, &c, 1);
    } while (v);
}

static void pb_bytes(knd_buf_t *b, unsigned num, const void *p, size_t n)
{
    pb_varint(b, (uint64_t)num << 3 | 2);
    pb_varint(b, n);
    knd_buf_append(b, p, n);
}

static void pb_str(knd_buf_t *b, unsigned num, const char *s)
{
    pb_bytes(b, num, s, strlen(s));
}

static void pb_msg(knd_buf_t *b, unsigned num, knd_buf_t *sub)
{
    pb_bytes(b, num, sub->p ? sub->p : "", sub->len);
    knd_buf_free(sub);
}

static void pb_uint(knd_buf_t *b, unsigned num, uint64_t v)
{
    pb_varint(b, (uint64_t)num << 3);
    pb_varint(b, v);
}

static void pb_entry(knd_buf_t *b, unsigned num, const char *k, const void *v, size_t vn)
{
    knd_buf_t e;
    knd_buf_init(&e);
    pb_str(&e, 1, k);
    pb_bytes(&e, 2, v, vn);
    pb_msg(b, num, &e);
}

/* "k8s\0" + Unknown{typeMeta{apiVersion, kind}, raw, "", ""}; takes raw. */
static void pb_envelope(knd_buf_t *out, const char *api_version, const char *kind, knd_buf_t *raw)
{
    knd_buf_t tm;
    knd_buf_init(out);
    knd_buf_append(out, "k8s\0", 4);
    knd_buf_init(&tm);
    pb_str(&tm, 1, api_version);
    pb_str(&tm, 2, kind);
    pb_msg(out, 1, &tm);
    pb_msg(out, 2, raw);
    pb_str(out, 3, "");
    pb_str(out, 4, "");
}

/* ObjectMeta the way kubectl fills it: empty strings and an empty timestamp for unset fields. */
static void pb_meta(knd_buf_t *raw, const char *name, const char *ns, bool maps)
{
    knd_buf_t m, ts;
    knd_buf_init(&m);
    pb_str(&m, 1, name);
    pb_str(&m, 2, "");
    pb_str(&m, 3, ns);
    pb_str(&m, 4, "");
    pb_str(&m, 5, "");
    pb_str(&m, 6, "");
    pb_uint(&m, 7, 0);
    knd_buf_init(&ts);
    pb_msg(&m, 8, &ts);
    if (maps) {
        pb_entry(&m, 11, "app", "web", 3);
        pb_entry(&m, 11, "tier", "front", 5);
        pb_entry(&m, 12, "kubectl.kubernetes.io/last-applied-configuration", "{\"x\":1}\n", 8);
    }
    pb_msg(raw, 1, &m);
}

/* ---- helpers ------------------------------------------------------------------------------- */

static void assert_decodes_to(const void *body, size_t n, const char *want)
{
    json_error_t e;
    json_t *w = json_loads(want, 0, &e), *got = NULL;
    knd_err_t err = {0};
    if (!w)
        fail_msg("bad JSON in test: %s", e.text);
    if (knd_kube_proto_decode(body, n, &got, &err) != 0)
        fail_msg("decode failed: %s", err.msg);
    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
        print_error("got  %s\nwant %s\n", g, want);
        free(g);
        fail();
    }
    json_decref(got);
    json_decref(w);
}

static void assert_fails(const void *body, size_t n, const char *want)
{
    json_t *got = (json_t *)1;
    knd_err_t err = {0};
    assert_int_equal(knd_kube_proto_decode(body, n, &got, &err), -1);
    assert_null(got);
    assert_int_equal(err.code, KND_E_INVALID);
    if (strncmp(err.msg, "protobuf body: ", 15) != 0)
        fail_msg("message without the protobuf body prefix: %s", err.msg);
    if (want && strcmp(err.msg, want) != 0)
        fail_msg("got  %s\nwant %s", err.msg, want);
}

/* ---- the captured vector ------------------------------------------------------------------- */

static void test_captured_secret(void **state)
{
    json_t *got = NULL;
    knd_err_t err = {0};
    char *text;
    (void)state;
    assert_int_equal(sizeof(secret_vector), 53);
    assert_decodes_to(secret_vector, sizeof(secret_vector),
                      "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\"},"
                      "\"data\":{\"a\":\"Yg==\"}}");
    /* Exactly those members: type is left out when empty, the server defaults it. */
    assert_int_equal(
        knd_kube_proto_decode((const char *)secret_vector, sizeof(secret_vector), &got, &err), 0);
    text = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(text,
                        "{\"apiVersion\":\"v1\",\"data\":{\"a\":\"Yg==\"},\"kind\":\"Secret\","
                        "\"metadata\":{\"name\":\"s\"}}");
    free(text);
    json_decref(got);
}

/* ---- hand-made bodies ---------------------------------------------------------------------- */

static void test_configmap(void **state)
{
    static const unsigned char bin[] = {0xff, 0xfe, 0x00, 0x80, 0xc3};
    knd_buf_t raw, body;
    (void)state;
    knd_buf_init(&raw);
    pb_meta(&raw, "cfg", "team-a", true);
    pb_entry(&raw, 2, "config.yaml", "a: 1\nb: 2\n", 10);
    pb_entry(&raw, 2, "empty", "", 0);
    pb_entry(&raw, 2, "unicode", "h\xc3\xa9llo", 6);
    pb_entry(&raw, 3, "blob", bin, sizeof(bin));
    pb_entry(&raw, 3, "nothing", "", 0);
    pb_uint(&raw, 4, 1);
    pb_envelope(&body, "v1", "ConfigMap", &raw);
    assert_decodes_to(
        body.p, body.len,
        "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cfg\","
        "\"namespace\":\"team-a\",\"labels\":{\"app\":\"web\",\"tier\":\"front\"},"
        "\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":"
        "\"{\\\"x\\\":1}\\n\"}},\"data\":{\"config.yaml\":\"a: 1\\nb: 2\\n\","
        "\"empty\":\"\",\"unicode\":\"h\\u00e9llo\"},\"binaryData\":{\"blob\":"
        "\"//4AgMM=\",\"nothing\":\"\"},\"immutable\":true}");
    knd_buf_free(&body);
}

static void test_namespace(void **state)
{
    knd_buf_t raw, body, spec, status;
    (void)state;
    knd_buf_init(&raw);
    pb_meta(&raw, "team-a", "", true);
    knd_buf_init(&spec);
    pb_str(&spec, 1, "kubernetes");
    pb_str(&spec, 1, "example.com/cleanup");
    pb_msg(&raw, 2, &spec);
    knd_buf_init(&status);
    pb_str(&status, 1, "");
    pb_msg(&raw, 3, &status);
    pb_envelope(&body, "v1", "Namespace", &raw);
    assert_decodes_to(
        body.p, body.len,
        "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"team-a\","
        "\"labels\":{\"app\":\"web\",\"tier\":\"front\"},\"annotations\":{"
        "\"kubectl.kubernetes.io/last-applied-configuration\":\"{\\\"x\\\":1}\\n\"}},"
        "\"spec\":{\"finalizers\":[\"kubernetes\",\"example.com/cleanup\"]}}");
    knd_buf_free(&body);

    /* kubectl create namespace: empty spec and status messages leave nothing behind. */
    knd_buf_init(&raw);
    pb_meta(&raw, "plain", "", false);
    knd_buf_init(&spec);
    pb_msg(&raw, 2, &spec);
    knd_buf_init(&status);
    pb_msg(&raw, 3, &status);
    pb_envelope(&body, "v1", "Namespace", &raw);
    assert_decodes_to(body.p, body.len,
                      "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":"
                      "\"plain\"}}");
    knd_buf_free(&body);
}

static void test_secret_all_fields(void **state)
{
    static const unsigned char key[] = {0x00, 0x01, 0xff, 0x80, 0x7f, 0x0a};
    knd_buf_t raw, body, m, ts, owner;
    (void)state;
    knd_buf_init(&raw);
    knd_buf_init(&m);
    pb_str(&m, 1, "");
    pb_str(&m, 2, "tls-");
    pb_str(&m, 3, "default");
    pb_uint(&m, 7, 3);
    knd_buf_init(&ts);
    pb_uint(&ts, 1, 1700000000);
    pb_uint(&ts, 2, 5);
    pb_msg(&m, 8, &ts);
    pb_entry(&m, 11, "a", "1", 1);
    pb_entry(&m, 11, "a", "2", 1); /* a repeated key: the last entry wins */
    knd_buf_init(&owner);
    pb_str(&owner, 1, "Service");
    pb_str(&owner, 3, "hello");
    pb_str(&owner, 4, "uid-1");
    pb_str(&owner, 5, "serving.knative.dev/v1");
    pb_uint(&owner, 6, 1);
    pb_uint(&owner, 7, 0);
    pb_msg(&m, 13, &owner);
    pb_str(&m, 14, "example.com/f");
    pb_msg(&raw, 1, &m);
    pb_entry(&raw, 2, "key.bin", key, sizeof(key));
    pb_entry(&raw, 2, "one", "b", 1);
    pb_str(&raw, 3, "kubernetes.io/tls");
    pb_entry(&raw, 4, "plain", "text", 4);
    pb_uint(&raw, 5, 0);
    /* Fields this decoder does not know are skipped, whatever their wire type. */
    pb_uint(&raw, 99, 12345);
    knd_buf_append(&raw, "\xa5\x06\x01\x02\x03\x04", 6);                  /* 100: fixed32 */
    knd_buf_append(&raw, "\xa9\x06\x01\x02\x03\x04\x05\x06\x07\x08", 10); /* 101: fixed64 */
    pb_str(&raw, 102, "ignored");
    pb_envelope(&body, "v1", "Secret", &raw);
    assert_decodes_to(
        body.p, body.len,
        "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"generateName\":"
        "\"tls-\",\"namespace\":\"default\",\"generation\":3,\"creationTimestamp\":"
        "\"2023-11-14T22:13:20Z\",\"labels\":{\"a\":\"2\"},\"ownerReferences\":[{"
        "\"kind\":\"Service\",\"name\":\"hello\",\"uid\":\"uid-1\",\"apiVersion\":"
        "\"serving.knative.dev/v1\",\"controller\":true,\"blockOwnerDeletion\":false}],"
        "\"finalizers\":[\"example.com/f\"]},\"data\":{\"key.bin\":\"AAH/gH8K\","
        "\"one\":\"Yg==\"},\"type\":\"kubernetes.io/tls\",\"stringData\":{\"plain\":"
        "\"text\"},\"immutable\":false}");
    knd_buf_free(&body);
}

/* ---- errors -------------------------------------------------------------------------------- */

static void test_errors(void **state)
{
    knd_buf_t raw, body;
    (void)state;

    assert_fails("", 0, "protobuf body: missing the k8s\\0 prefix");
    assert_fails("{\"kind\":\"Secret\"}", 17, "protobuf body: missing the k8s\\0 prefix");
    assert_fails("k8s\0\x0a\x80", 6, "protobuf body: truncated varint at offset 5");
    assert_fails("k8s\0\x0a\x05\x0a", 7, NULL);
    assert_fails("k8s\0\x0b", 5, "protobuf body: unsupported wire type 3 at offset 4");
    assert_fails("k8s\0\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 16,
                 "protobuf body: malformed varint at offset 5");
    assert_fails("k8s\0\x02\x00", 6, "protobuf body: invalid field number at offset 4");
    assert_fails("k8s\0", 4, "protobuf body: missing kind");

    knd_buf_init(&raw);
    pb_meta(&raw, "p", "", false);
    pb_envelope(&body, "v1", "Pod", &raw);
    assert_fails(body.p, body.len, "protobuf body: kind Pod is not supported");
    knd_buf_free(&body);

    knd_buf_init(&raw);
    pb_meta(&raw, "d", "", false);
    pb_envelope(&body, "apps/v1", "Secret", &raw);
    assert_fails(body.p, body.len, "protobuf body: apiVersion apps/v1 is not supported for Secret");
    knd_buf_free(&body);

    /* A gzip'd raw object. */
    knd_buf_init(&raw);
    pb_meta(&raw, "s", "", false);
    pb_envelope(&body, "v1", "Secret", &raw);
    body.len -= 4;
    pb_str(&body, 3, "gzip");
    assert_fails(body.p, body.len, "protobuf body: content encoding gzip is not supported");
    knd_buf_free(&body);

    /* Strings must be UTF-8 (only bytes fields may hold anything). */
    knd_buf_init(&raw);
    pb_meta(&raw, "s\xff", "", false);
    pb_envelope(&body, "v1", "Secret", &raw);
    assert_fails(body.p, body.len, NULL);
    knd_buf_free(&body);

    knd_buf_init(&raw);
    pb_entry(&raw, 4, "k", "\xc3\x28", 2);
    pb_envelope(&body, "v1", "Secret", &raw);
    assert_fails(body.p, body.len, NULL);
    knd_buf_free(&body);

    /* A NUL byte inside a map key. */
    {
        knd_buf_t e;
        knd_buf_init(&raw);
        knd_buf_init(&e);
        pb_bytes(&e, 1, "a\0b", 3);
        pb_bytes(&e, 2, "x", 1);
        pb_msg(&raw, 2, &e);
        pb_envelope(&body, "v1", "Secret", &raw);
        assert_fails(body.p, body.len, NULL);
        knd_buf_free(&body);
    }

    /* A known field with the wrong wire type. */
    knd_buf_init(&raw);
    pb_uint(&raw, 1, 7);
    pb_envelope(&body, "v1", "Secret", &raw);
    assert_fails(body.p, body.len, NULL);
    knd_buf_free(&body);

    /* No raw object at all. */
    assert_fails(secret_vector, 18, "protobuf body: missing the raw object");
}

/* Every prefix of the vector fails cleanly, except the two that end on a field boundary after
 * the raw object (contentEncoding and contentType are optional). */
static void test_truncated_at_every_offset(void **state)
{
    (void)state;
    for (size_t n = 0; n < sizeof(secret_vector); n++) {
        unsigned char *copy = malloc(n ? n : 1); /* exact size: ASan sees any overread */
        memcpy(copy, secret_vector, n);
        if (n == 49 || n == 51)
            assert_decodes_to(copy, n,
                              "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{"
                              "\"name\":\"s\"},\"data\":{\"a\":\"Yg==\"}}");
        else
            assert_fails(copy, n, NULL);
        free(copy);
    }
}

/* Every byte replaced by values that matter to a protobuf reader: decoding either succeeds or
 * fails with a message, never reads outside the body. */
static void test_corrupted_at_every_offset(void **state)
{
    static const unsigned char vals[] = {0x00, 0x01, 0x02, 0x07, 0x0a, 0x12,
                                         0x1a, 0x7f, 0x80, 0xc3, 0xfe, 0xff};
    size_t ok = 0, failed = 0;
    (void)state;
    for (size_t i = 0; i < sizeof(secret_vector); i++) {
        for (size_t v = 0; v < sizeof(vals); v++) {
            unsigned char *copy = malloc(sizeof(secret_vector));
            json_t *out = NULL;
            knd_err_t err = {0};
            memcpy(copy, secret_vector, sizeof(secret_vector));
            copy[i] = vals[v];
            if (knd_kube_proto_decode((const char *)copy, sizeof(secret_vector), &out, &err) == 0) {
                assert_non_null(out);
                ok++;
            } else {
                assert_null(out);
                assert_int_equal(strncmp(err.msg, "protobuf body: ", 15), 0);
                failed++;
            }
            json_decref(out);
            free(copy);
        }
    }
    assert_true(ok > 0);
    assert_true(failed > 0);
}

/* Random bodies behind a valid prefix, from a fixed seed. */
static void test_random_garbage(void **state)
{
    uint32_t seed = 12345;
    (void)state;
    for (int iter = 0; iter < 4000; iter++) {
        size_t n = 4 + (size_t)(iter % 80);
        unsigned char *buf = malloc(n);
        json_t *out = NULL;
        knd_err_t err = {0};
        memcpy(buf, "k8s\0", 4);
        for (size_t i = 4; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (unsigned char)(seed >> 16);
        }
        /* Half of the time keep the vector's envelope header so the walk gets deeper. */
        if (iter % 2 && n > 24)
            memcpy(buf, secret_vector, 20);
        if (knd_kube_proto_decode((const char *)buf, n, &out, &err) != 0)
            assert_null(out);
        json_decref(out);
        free(buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_captured_secret),
        cmocka_unit_test(test_configmap),
        cmocka_unit_test(test_namespace),
        cmocka_unit_test(test_secret_all_fields),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_truncated_at_every_offset),
        cmocka_unit_test(test_corrupted_at_every_offset),
        cmocka_unit_test(test_random_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
