/*
 * test_knd_yaml.c - the manifest loader: scalar typing as Kubernetes does it, trees, field paths
 * and their positions, multi-document streams, JSON input, and every rejection with its line:col.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "knd_alloc.h"
#include "knd_buf.h"
#include "knd_err.h"
#include "knd_yaml.h"

/* ---- helpers ---- */

typedef struct {
    knd_doc_t *docs;
    size_t n;
} knd_test_docs_t;

static knd_test_docs_t knd_test_load_ok(const char *yaml, size_t want_docs)
{
    knd_test_docs_t d = {NULL, 0};
    knd_err_t err = {0};
    int rc = knd_yaml_load(yaml, strlen(yaml), "t.yaml", &d.docs, &d.n, &err);
    if (rc != 0)
        fail_msg("unexpected error: %s", err.msg);
    assert_int_equal(d.n, want_docs);
    return d;
}

static void knd_test_docs_free(knd_test_docs_t *d)
{
    knd_yaml_docs_free(d->docs, d->n);
}

/* Loads a one-document stream and checks its tree equals the JSON text `want`. */
static void knd_test_same(const char *yaml, const char *want)
{
    knd_test_docs_t d = knd_test_load_ok(yaml, 1);
    json_error_t jerr;
    json_t *w = json_loads(want, JSON_DECODE_ANY, &jerr);
    if (w == NULL)
        fail_msg("bad expected JSON %s: %s", want, jerr.text);
    if (!json_equal(d.docs[0].root, w)) {
        char *got = json_dumps(d.docs[0].root, JSON_ENCODE_ANY | JSON_COMPACT);
        fprintf(stderr, "yaml: %s\nwant: %s\ngot:  %s\n", yaml, want, got);
        free(got);
        fail();
    }
    json_decref(w);
    knd_test_docs_free(&d);
}

/* The value of key "v" in a one-document stream (a new reference). */
static json_t *knd_test_value(const char *yaml)
{
    knd_test_docs_t d = knd_test_load_ok(yaml, 1);
    json_t *v = json_incref(json_object_get(d.docs[0].root, "v"));
    assert_non_null(v);
    knd_test_docs_free(&d);
    return v;
}

static void knd_test_err(const char *yaml, size_t len, const char *want)
{
    knd_doc_t *docs = (knd_doc_t *)1;
    size_t n = 99;
    knd_err_t err = {0};
    int rc = knd_yaml_load(yaml, len, "t.yaml", &docs, &n, &err);
    assert_int_equal(rc, -1);
    assert_int_equal(err.code, KND_E_INVALID);
    assert_null(docs);
    assert_int_equal(n, 0);
    if (strcmp(err.msg, want) != 0)
        fail_msg("want error \"%s\", got \"%s\"", want, err.msg);
}

#define KND_TEST_ERR(yaml, want) knd_test_err((yaml), strlen(yaml), (want))

/* The error must start with the given "LINE:COL: " and contain `part`. */
static void knd_test_err_like(const char *yaml, size_t len, const char *prefix, const char *part)
{
    knd_doc_t *docs = NULL;
    size_t n = 0;
    knd_err_t err = {0};
    assert_int_equal(knd_yaml_load(yaml, len, "t.yaml", &docs, &n, &err), -1);
    assert_int_equal(err.code, KND_E_INVALID);
    if (strncmp(err.msg, prefix, strlen(prefix)) != 0 || strstr(err.msg, part) == NULL)
        fail_msg("want \"%s...%s...\", got \"%s\"", prefix, part, err.msg);
}

static void knd_test_pos(const knd_doc_t *doc, const char *path, int line, int col)
{
    int l = -1, c = -1;
    knd_doc_pos(doc, path, &l, &c);
    if (l != line || c != col)
        fail_msg("%s: want %d:%d, got %d:%d", path ? path : "(root)", line, col, l, c);
}

static double knd_test_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- scalars ---- */

static void test_scalar_strings(void **state)
{
    knd_test_same("a: hello world\nb: 'single # not comment'\nc: \"dq\\tx\\u00e9\"\n"
                  "d: |\n  line1\n  line2\ne: >-\n  folded\n  text\n",
                  "{\"a\":\"hello world\",\"b\":\"single # not comment\",\"c\":\"dq\\tx\\u00e9\","
                  "\"d\":\"line1\\nline2\\n\",\"e\":\"folded text\"}");
}

static void test_scalar_nulls(void **state)
{
    knd_test_same("a: ~\nb: null\nc: Null\nd: NULL\ne:\nf: nULL\ng: \"null\"\n",
                  "{\"a\":null,\"b\":null,\"c\":null,\"d\":null,\"e\":null,\"f\":\"nULL\","
                  "\"g\":\"null\"}");
}

static void test_scalar_bools(void **state)
{
    /* go-yaml v2's YAML 1.1 table, which is why `value: yes` is a bool in Kubernetes. */
    knd_test_same("[true, True, TRUE, false, False, FALSE, y, Y, yes, Yes, YES, n, N, no, No, NO,"
                  " on, On, ON, off, Off, OFF]",
                  "[true,true,true,false,false,false,true,true,true,true,true,false,false,false,"
                  "false,false,true,true,true,false,false,false]");
    knd_test_same("[tRuE, yES, oN, 'yes', \"true\", yes please]",
                  "[\"tRuE\",\"yES\",\"oN\",\"yes\",\"true\",\"yes please\"]");
}

static void test_scalar_ints(void **state)
{
    knd_test_same("[0, 42, -7, +5, 0x1F, 0X1f, -0x10, 0o17, 017, -017, 0b101, 1_000, 0x_ff, 00]",
                  "[0,42,-7,5,31,31,-16,15,15,-15,5,1000,255,0]");
    json_t *v = knd_test_value("v: 9223372036854775807");
    assert_true(json_is_integer(v));
    assert_true(json_integer_value(v) == INT64_MAX);
    json_decref(v);
    v = knd_test_value("v: -9223372036854775808");
    assert_true(json_is_integer(v));
    assert_true(json_integer_value(v) == INT64_MIN);
    json_decref(v);
}

static void test_scalar_floats(void **state)
{
    knd_test_same("[1.5, -2.25, 1e3, 1E-2, .5, -.5, +.5, 5., 08, 1_000.5, 6.02e+23]",
                  "[1.5,-2.25,1000.0,0.01,0.5,-0.5,0.5,5.0,8.0,1000.5,6.02e23]");
    json_t *v = knd_test_value("v: 1e3");
    assert_true(json_is_real(v));
    json_decref(v);
}

static void test_scalar_int_overflow(void **state)
{
    /* Past int64: uint64 range and decimal overflow become reals; hex overflow stays text. */
    json_t *v = knd_test_value("v: 9223372036854775808");
    assert_true(json_is_real(v));
    assert_true(json_real_value(v) == 9223372036854775808.0);
    json_decref(v);
    v = knd_test_value("v: -9223372036854775809");
    assert_true(json_is_real(v));
    json_decref(v);
    v = knd_test_value("v: 100000000000000000000");
    assert_true(json_is_real(v));
    assert_true(json_real_value(v) == 1e20);
    json_decref(v);
    v = knd_test_value("v: 0x1FFFFFFFFFFFFFFFF");
    assert_string_equal(json_string_value(v), "0x1FFFFFFFFFFFFFFFF");
    json_decref(v);
    v = knd_test_value("v: 1e400");
    assert_string_equal(json_string_value(v), "1e400");
    json_decref(v);
}

static void test_scalar_plain_strings(void **state)
{
    /* Things that look numeric or temporal but are strings to go-yaml v2. */
    knd_test_same("[1.2.3, '1', 10:30, 2001-12-14, 0x, 0o8, 09.x, +, -a, _1, 1__, .e3, ., "
                  "0b2, 1e, 12abc, .., v1]",
                  "[\"1.2.3\",\"1\",\"10:30\",\"2001-12-14\",\"0x\",\"0o8\",\"09.x\",\"+\","
                  "\"-a\",\"_1\",1,\".e3\",\".\",\"0b2\",\"1e\",\"12abc\",\"..\",\"v1\"]");
}

static void test_scalar_inf_nan_rejected(void **state)
{
    KND_TEST_ERR("a: 1\nv: .inf\n", "2:4: .inf cannot be represented in JSON");
    KND_TEST_ERR("v: [-.Inf]", "1:5: -.Inf cannot be represented in JSON");
    KND_TEST_ERR("v: .NaN", "1:4: .NaN cannot be represented in JSON");
    knd_test_same("v: '.inf'", "{\"v\":\".inf\"}");
}

static void test_scalar_tags(void **state)
{
    knd_test_same("[!!str 123, !!str yes, !!int \"12\", !!float 1, !!float '2.5', !!bool yes,"
                  " !!null ~, !!int 0x10, ! 12]",
                  "[\"123\",\"yes\",12,1.0,2.5,true,null,16,\"12\"]");
    KND_TEST_ERR("v: !!int abc", "1:4: cannot decode !!str `abc` as a !!int");
    KND_TEST_ERR("v: !!bool 1", "1:4: cannot decode !!int `1` as a !!bool");
    KND_TEST_ERR("v: !!null x", "1:4: cannot decode !!str `x` as a !!null");
    KND_TEST_ERR("v: !foo bar", "1:4: unsupported tag \"!foo\"");
    KND_TEST_ERR("v: !!set {a: 1}", "1:4: unsupported tag \"tag:yaml.org,2002:set\"");
    knd_test_same("v: !!map {a: !!seq [1]}", "{\"v\":{\"a\":[1]}}");
}

static void test_scalar_nul_in_string(void **state)
{
    json_t *v = knd_test_value("v: \"x\\0y\"");
    assert_int_equal(json_string_length(v), 3);
    assert_memory_equal(json_string_value(v), "x\0y", 3);
    json_decref(v);
    KND_TEST_ERR("\"a\\0b\": 1", "1:1: keys containing NUL are not supported");
}

static void test_keys_stringified(void **state)
{
    /* sigs.k8s.io/yaml prints non-string keys; 1e6 uses Go's float32 'g' form. */
    knd_test_same("1: a\nyes: b\n1.5: c\n0x10: d\n1e6: e\n1e3: f\n-2: g\n",
                  "{\"1\":\"a\",\"true\":\"b\",\"1.5\":\"c\",\"16\":\"d\",\"1e+06\":\"e\","
                  "\"1000\":\"f\",\"-2\":\"g\"}");
    KND_TEST_ERR("a: 1\n~: 2\n", "2:1: null mapping keys are not supported");
    KND_TEST_ERR("? \n: 2\n", "1:2: null mapping keys are not supported");
}

/* ---- trees ---- */

static void test_nested_maps_and_lists(void **state)
{
    knd_test_same("apiVersion: serving.knative.dev/v1\n"
                  "kind: Service\n"
                  "metadata:\n"
                  "  name: hello\n"
                  "spec:\n"
                  "  template:\n"
                  "    spec:\n"
                  "      containers:\n"
                  "        - image: ghcr.io/x/hello:1\n"
                  "          env:\n"
                  "            - name: TARGET\n"
                  "              value: \"World\"\n"
                  "          ports: [{containerPort: 8080}]\n"
                  "      containerConcurrency: 10\n"
                  "  traffic: []\n"
                  "  empty: {}\n",
                  "{\"apiVersion\":\"serving.knative.dev/v1\",\"kind\":\"Service\","
                  "\"metadata\":{\"name\":\"hello\"},\"spec\":{\"template\":{\"spec\":{"
                  "\"containers\":[{\"image\":\"ghcr.io/x/hello:1\",\"env\":[{\"name\":\"TARGET\","
                  "\"value\":\"World\"}],\"ports\":[{\"containerPort\":8080}]}],"
                  "\"containerConcurrency\":10}},\"traffic\":[],\"empty\":{}}}");
    knd_test_same("- [1, [2, [3]]]\n- - a\n  - b\n", "[[1,[2,[3]]],[\"a\",\"b\"]]");
}

static void test_top_level_any_value(void **state)
{
    knd_test_same("just a string", "\"just a string\"");
    knd_test_same("- 1\n- 2", "[1,2]");
    knd_test_same("42", "42");
}

/* ---- paths and positions ---- */

static const char knd_test_manifest[] = "# leading comment\n"         /* 1 */
                                        "apiVersion: v1\n"            /* 2 */
                                        "metadata:\n"                 /* 3 */
                                        "  name: hello\n"             /* 4 */
                                        "  annotations:\n"            /* 5 */
                                        "    autoscaling.knative.dev/min-scale: \"1\"\n" /* 6 */
                                        "    a.b: x\n"                /* 7 */
                                        "spec:\n"                     /* 8 */
                                        "  containers:\n"             /* 9 */
                                        "  - image: img\n"            /* 10 */
                                        "    ports:\n"                /* 11 */
                                        "      - containerPort: 80\n" /* 12 */
                                        "  -   name: second\n"        /* 13 */
                                        "  matrix: [[1, 2], [3, {k: v}]]\n"; /* 14 */

static void test_positions_exact(void **state)
{
    knd_test_docs_t d = knd_test_load_ok(knd_test_manifest, 1);
    const knd_doc_t *doc = &d.docs[0];
    assert_int_equal(doc->line, 2);
    knd_test_pos(doc, "", 2, 1);
    knd_test_pos(doc, "apiVersion", 2, 1);
    knd_test_pos(doc, "metadata", 3, 1);
    knd_test_pos(doc, "metadata.name", 4, 3);
    knd_test_pos(doc, "metadata.annotations", 5, 3);
    knd_test_pos(doc, "metadata.annotations.autoscaling.knative.dev/min-scale", 6, 5);
    knd_test_pos(doc, "metadata.annotations.a.b", 7, 5);
    knd_test_pos(doc, "spec.containers", 9, 3);
    knd_test_pos(doc, "spec.containers[0]", 10, 5);
    knd_test_pos(doc, "spec.containers[0].image", 10, 5);
    knd_test_pos(doc, "spec.containers[0].ports[0].containerPort", 12, 9);
    knd_test_pos(doc, "spec.containers[1]", 13, 7);
    knd_test_pos(doc, "spec.containers[1].name", 13, 7);
    knd_test_pos(doc, "spec.matrix[0]", 14, 12);
    knd_test_pos(doc, "spec.matrix[0][1]", 14, 16);
    knd_test_pos(doc, "spec.matrix[1][1].k", 14, 25);
    knd_test_docs_free(&d);
}

static void test_positions_nearest_ancestor(void **state)
{
    knd_test_docs_t d = knd_test_load_ok(knd_test_manifest, 1);
    const knd_doc_t *doc = &d.docs[0];
    /* A missing key whose own name has dots still lands on its real parent. */
    knd_test_pos(doc, "metadata.annotations.serving.knative.dev/creator", 5, 3);
    knd_test_pos(doc, "metadata.namespace", 3, 1);
    knd_test_pos(doc, "spec.containers[0].ports[0].protocol", 12, 9);
    knd_test_pos(doc, "spec.containers[0].readinessProbe.httpGet.path", 10, 5);
    knd_test_pos(doc, "spec.containers[7].image", 9, 3);
    knd_test_pos(doc, "spec.template.spec", 8, 1);
    knd_test_pos(doc, "metadata.annotations.a.b.c", 7, 5);
    knd_test_pos(doc, "status", 2, 1);
    knd_test_pos(doc, NULL, 2, 1);
    knd_test_docs_free(&d);
}

static void test_positions_flow_and_json(void **state)
{
    knd_test_docs_t d = knd_test_load_ok("{\"a\": {\"b\": [10, {\"c\": null}]},\n \"d\": 1}", 1);
    const knd_doc_t *doc = &d.docs[0];
    knd_test_pos(doc, "", 1, 1);
    knd_test_pos(doc, "a", 1, 2);
    knd_test_pos(doc, "a.b", 1, 8);
    knd_test_pos(doc, "a.b[0]", 1, 14);
    knd_test_pos(doc, "a.b[1].c", 1, 19);
    knd_test_pos(doc, "d", 2, 2);
    knd_test_docs_free(&d);
}

static void test_positions_many_keys(void **state)
{
    /* Enough nodes to grow the position map several times; every entry must survive. */
    knd_buf_t b;
    knd_buf_init(&b);
    for (int i = 0; i < 2000; i++)
        knd_buf_printf(&b, "k%d:\n  - v%d\n", i, i);
    knd_test_docs_t d = knd_test_load_ok(b.p, 1);
    for (int i = 0; i < 2000; i += 37) {
        char path[32];
        snprintf(path, sizeof(path), "k%d", i);
        knd_test_pos(&d.docs[0], path, 2 * i + 1, 1);
        snprintf(path, sizeof(path), "k%d[0]", i);
        knd_test_pos(&d.docs[0], path, 2 * i + 2, 5);
    }
    knd_test_docs_free(&d);
    knd_buf_free(&b);
}

static void test_positions_odd_keys(void **state)
{
    knd_test_docs_t d = knd_test_load_ok("m:\n"
                                         "  \"we.ird[0]\": 1\n"
                                         "  \"\": 2\n"
                                         "  'sp ace': {x: 3}\n",
                                         1);
    knd_test_pos(&d.docs[0], "m.we.ird[0]", 2, 3);
    knd_test_pos(&d.docs[0], "m.", 3, 3);
    knd_test_pos(&d.docs[0], "m.sp ace.x", 4, 14);
    knd_test_pos(&d.docs[0], "m.sp ace.y", 4, 3);
    knd_test_pos(&d.docs[0], "m.we.ird[1]", 1, 1);
    knd_test_docs_free(&d);
}

static void test_knative_service(void **state)
{
    knd_test_docs_t d = knd_test_load_ok(
        "apiVersion: serving.knative.dev/v1\n"                   /* 1 */
        "kind: Service\n"                                        /* 2 */
        "metadata:\n"                                            /* 3 */
        "  name: hello\n"                                        /* 4 */
        "spec:\n"                                                /* 5 */
        "  template:\n"                                          /* 6 */
        "    metadata:\n"                                        /* 7 */
        "      annotations:\n"                                   /* 8 */
        "        autoscaling.knative.dev/target: \"10\"\n"       /* 9 */
        "    spec:\n"                                            /* 10 */
        "      timeoutSeconds: 300\n"                            /* 11 */
        "      containers:\n"                                    /* 12 */
        "        - image: ko://hello\n"                          /* 13 */
        "          env: [{name: ENABLE, value: on}]\n"           /* 14 */
        "  traffic:\n"                                           /* 15 */
        "    - latestRevision: true\n"                           /* 16 */
        "      percent: 80\n"                                    /* 17 */
        "    - revisionName: hello-00001\n"                      /* 18 */
        "      percent: 20\n"                                    /* 19 */
        "      tag: old\n",                                      /* 20 */
        1);
    json_t *root = d.docs[0].root;
    json_t *tr = json_object_get(json_object_get(root, "spec"), "traffic");
    assert_int_equal(json_array_size(tr), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(tr, 1), "percent")), 20);
    assert_true(json_is_true(json_object_get(json_array_get(tr, 0), "latestRevision")));
    /* `value: on` is a bool, exactly as kubectl would send it (and Kubernetes would refuse). */
    json_t *env = json_object_get(
        json_array_get(
            json_object_get(
                json_object_get(json_object_get(json_object_get(root, "spec"), "template"),
                                "spec"),
                "containers"),
            0),
        "env");
    assert_true(json_is_true(json_object_get(json_array_get(env, 0), "value")));
    knd_test_pos(&d.docs[0], "spec.traffic[1].tag", 20, 7);
    knd_test_pos(&d.docs[0], "spec.traffic[1].url", 18, 7);
    knd_test_pos(&d.docs[0], "spec.template.spec.containers[0].env[0].value", 14, 32);
    knd_test_pos(&d.docs[0],
                 "spec.template.metadata.annotations.autoscaling.knative.dev/target", 9, 9);
    knd_test_pos(&d.docs[0],
                 "spec.template.metadata.annotations.autoscaling.knative.dev/window", 8, 7);
    knd_test_pos(&d.docs[0], "spec.template.spec.containerConcurrency", 10, 5);
    knd_test_docs_free(&d);
}

static void test_null_err_pointer(void **state)
{
    knd_doc_t *docs = NULL;
    size_t n = 0;
    assert_int_equal(knd_yaml_load("a: [", 4, "t", &docs, &n, NULL), -1);
    assert_null(docs);
    assert_int_equal(knd_yaml_load_file("/nonexistent/y", &docs, &n, NULL), -1);
}

/* ---- streams ---- */

static void test_multi_document(void **state)
{
    knd_test_docs_t d = knd_test_load_ok("a: 1\n"
                                         "---\n"
                                         "# comment\n"
                                         "b: 2\n"
                                         "--- \n"
                                         "---\n"
                                         "c:\n"
                                         "  d: 3\n"
                                         "---\n",
                                         3);
    assert_int_equal(json_integer_value(json_object_get(d.docs[0].root, "a")), 1);
    assert_int_equal(json_integer_value(json_object_get(d.docs[1].root, "b")), 2);
    assert_int_equal(d.docs[0].line, 1);
    assert_int_equal(d.docs[1].line, 2);
    assert_int_equal(d.docs[2].line, 6);
    knd_test_pos(&d.docs[1], "b", 4, 1);
    knd_test_pos(&d.docs[2], "c.d", 8, 3);
    knd_test_pos(&d.docs[2], "c.e", 7, 1);
    knd_test_pos(&d.docs[2], "x", 7, 1);
    knd_test_docs_free(&d);
}

static void test_multi_document_nulls_and_end_markers(void **state)
{
    knd_test_docs_t d = knd_test_load_ok("--- null\n...\n--- ~\n---\nx: 1\n...\n---\n- a\n", 2);
    assert_true(json_is_object(d.docs[0].root));
    assert_int_equal(d.docs[0].line, 4);
    assert_true(json_is_array(d.docs[1].root));
    assert_int_equal(d.docs[1].line, 7);
    knd_test_docs_free(&d);
}

static void test_empty_and_comment_only(void **state)
{
    knd_doc_t *docs = (knd_doc_t *)1;
    size_t n = 7;
    knd_err_t err = {0};
    assert_int_equal(knd_yaml_load("", 0, "t", &docs, &n, &err), 0);
    assert_int_equal(n, 0);
    knd_yaml_docs_free(docs, n);
    assert_int_equal(knd_yaml_load(NULL, 0, "t", &docs, &n, &err), 0);
    assert_int_equal(n, 0);
    knd_yaml_docs_free(docs, n);
    knd_test_docs_t d = knd_test_load_ok("# only\n  # comments\n\n", 0);
    knd_test_docs_free(&d);
    d = knd_test_load_ok("   \n\n  \n", 0);
    knd_test_docs_free(&d);
    d = knd_test_load_ok("---\n---\n...\n", 0);
    knd_test_docs_free(&d);
}

static void test_json_input(void **state)
{
    knd_test_same("{\"apiVersion\": \"serving.knative.dev/v1\", \"spec\": {\"n\": 3, \"f\": 1.5,"
                  " \"t\": true, \"z\": null, \"s\": \"a\\/b\\u00e9\\n\", \"q\": \"123\","
                  " \"l\": [1, \"yes\", {}]}}",
                  "{\"apiVersion\":\"serving.knative.dev/v1\",\"spec\":{\"n\":3,\"f\":1.5,"
                  "\"t\":true,\"z\":null,\"s\":\"a/b\\u00e9\\n\",\"q\":\"123\","
                  "\"l\":[1,\"yes\",{}]}}");
    knd_test_same("[{\"a\": 1}, {\"b\": -2.5e-3}]", "[{\"a\":1},{\"b\":-0.0025}]");
    knd_test_same("{\n  \"a\": {\n    \"b\": [\n      1,\n      2\n    ]\n  }\n}\n",
                  "{\"a\":{\"b\":[1,2]}}");
    KND_TEST_ERR("{\"a\": 1, \"a\": 2}", "1:10: duplicate key \"a\"");
}

static void test_crlf_line_endings(void **state)
{
    knd_test_docs_t d = knd_test_load_ok("a: 1\r\nb:\r\n  c: x\r\n  d: |\r\n    l1\r\n    l2\r\n", 1);
    json_t *b = json_object_get(d.docs[0].root, "b");
    assert_string_equal(json_string_value(json_object_get(b, "c")), "x");
    assert_string_equal(json_string_value(json_object_get(b, "d")), "l1\nl2\n");
    knd_test_pos(&d.docs[0], "b.c", 3, 3);
    knd_test_pos(&d.docs[0], "b.d", 4, 3);
    knd_test_docs_free(&d);
    knd_test_err_like("a: 1\r\nb: [\r\n", 12, "3:1: ", "");
}

static void test_utf8_bom(void **state)
{
    knd_test_docs_t d = knd_test_load_ok("\xEF\xBB\xBF" "a: 1\nb: \xC3\xA9t\xC3\xA9\n", 1);
    assert_int_equal(json_integer_value(json_object_get(d.docs[0].root, "a")), 1);
    assert_string_equal(json_string_value(json_object_get(d.docs[0].root, "b")),
                        "\xC3\xA9t\xC3\xA9");
    knd_test_pos(&d.docs[0], "a", 1, 1);
    knd_test_pos(&d.docs[0], "b", 2, 1);
    knd_test_docs_free(&d);
}

static void test_not_nul_terminated(void **state)
{
    char buf[16];
    memcpy(buf, "a: 12345XXXXXXXX", 16);
    knd_doc_t *docs = NULL;
    size_t n = 0;
    knd_err_t err = {0};
    assert_int_equal(knd_yaml_load(buf, 6, "t", &docs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(json_integer_value(json_object_get(docs[0].root, "a")), 123);
    knd_yaml_docs_free(docs, n);
}

/* ---- rejections ---- */

static void test_reject_syntax_errors(void **state)
{
    KND_TEST_ERR("a: b: c\n", "1:5: mapping values are not allowed in this context");
    knd_test_err_like("a: 1\nb: [1, 2\n", 14, "3:1: ", "did not find expected ',' or ']'");
    knd_test_err_like("a:\n  b: 1\n c: 2\n", 16, "3:2: ", "did not find expected key");
    knd_test_err_like("a: \"unterminated\n", 17, "2:1: ", "found unexpected end of stream");
    knd_test_err_like("a:\n\t- b\n", 8, "2:1: ", "found character that cannot start any token");
    knd_test_err_like("key: 'x'y\n", 10, "1:9: ", "did not find expected key");
    /* The error must not lose documents already parsed: all-or-nothing. */
    knd_test_err_like("a: 1\n---\nb: [\n", 14, "4:1: ", "");
}

static void test_reject_invalid_utf8(void **state)
{
    knd_test_err_like("a: ok\nb: x\xFFy\n", 12, "2:5: ", "invalid leading UTF-8 octet");
    knd_test_err_like("a: \xC3\n", 5, "1:5: ", "invalid trailing UTF-8 octet");
    knd_test_err_like("a: x\x01y\n", 7, "1:5: ", "control characters are not allowed");
}

static void test_reject_duplicate_keys(void **state)
{
    KND_TEST_ERR("a: 1\nb: 2\na: 3\n", "3:1: duplicate key \"a\"");
    KND_TEST_ERR("m:\n  x: 1\n  y:\n    z: 1\n  x: [2]\n", "5:3: duplicate key \"x\"");
    KND_TEST_ERR("1: a\n\"1\": b\n", "2:1: duplicate key \"1\"");
    KND_TEST_ERR("{yes: 1, true: 2}", "1:10: duplicate key \"true\"");
    knd_test_same("- {a: 1}\n- {a: 2}\n", "[{\"a\":1},{\"a\":2}]");
}

static void test_reject_anchors_aliases_merge(void **state)
{
    KND_TEST_ERR("a: &x 1\nb: *x\n", "1:4: anchors and aliases are not supported");
    KND_TEST_ERR("a: *x\n", "1:4: anchors and aliases are not supported");
    KND_TEST_ERR("base: &b {x: 1}\n", "1:7: anchors and aliases are not supported");
    KND_TEST_ERR("- &s [1]\n", "1:3: anchors and aliases are not supported");
    KND_TEST_ERR("&k a: 1\n", "1:1: anchors and aliases are not supported");
    KND_TEST_ERR("a: 1\n*k : 1\n", "2:1: anchors and aliases are not supported");
    KND_TEST_ERR("a:\n  <<: {b: 1}\n", "2:3: merge keys (<<) are not supported");
    knd_test_same("\"<<\": 1\nv: <<\n", "{\"<<\":1,\"v\":\"<<\"}");
}

static void test_reject_non_scalar_keys(void **state)
{
    KND_TEST_ERR("? [a]\n: 1\n", "1:3: mapping keys must be scalars");
    KND_TEST_ERR("{{a: 1}: 2}", "1:2: mapping keys must be scalars");
    KND_TEST_ERR("x:\n  ? {a: 1}\n  : 2\n", "2:5: mapping keys must be scalars");
}

static void knd_test_nest(knd_buf_t *b, int depth)
{
    knd_buf_reset(b);
    for (int i = 0; i < depth - 1; i++)
        knd_buf_puts(b, "{a: ");
    knd_buf_puts(b, "[1]");
    for (int i = 0; i < depth - 1; i++)
        knd_buf_puts(b, "}");
}

static void test_depth_limit(void **state)
{
    knd_buf_t b;
    knd_buf_init(&b);
    knd_test_nest(&b, KND_YAML_MAX_DEPTH);
    knd_test_docs_t d = knd_test_load_ok(b.p, 1);
    knd_test_docs_free(&d);
    knd_test_nest(&b, KND_YAML_MAX_DEPTH + 1);
    char want[64];
    snprintf(want, sizeof(want), "1:%d: nesting deeper than %d levels",
             4 * KND_YAML_MAX_DEPTH + 1, KND_YAML_MAX_DEPTH);
    KND_TEST_ERR(b.p, want);

    /* Block style counts the same way. */
    knd_buf_reset(&b);
    for (int i = 0; i < KND_YAML_MAX_DEPTH + 1; i++) {
        for (int j = 0; j < i; j++)
            knd_buf_puts(&b, " ");
        knd_buf_puts(&b, "k:\n");
    }
    for (int j = 0; j < KND_YAML_MAX_DEPTH + 1; j++)
        knd_buf_puts(&b, " ");
    knd_buf_puts(&b, "leaf: 1\n");
    snprintf(want, sizeof(want), "%d:%d: nesting deeper than %d levels", KND_YAML_MAX_DEPTH + 1,
             KND_YAML_MAX_DEPTH + 1, KND_YAML_MAX_DEPTH);
    KND_TEST_ERR(b.p, want);
    knd_buf_free(&b);
}

static void test_deep_nesting_bomb(void **state)
{
    size_t n = 1000000;
    char *s = knd_xmalloc(n + 1);
    memset(s, '[', n);
    s[n] = '\0';
    double t0 = knd_test_now();
    knd_test_err(s, n, "1:65: nesting deeper than 64 levels");
    assert_true(knd_test_now() - t0 < 2.0);
    free(s);
}

static void test_billion_laughs(void **state)
{
    static const char bomb[] = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
                               "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                               "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                               "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                               "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                               "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                               "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                               "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                               "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    double t0 = knd_test_now();
    KND_TEST_ERR(bomb, "1:4: anchors and aliases are not supported");
    assert_true(knd_test_now() - t0 < 0.5);
}

static void test_document_limit(void **state)
{
    knd_buf_t b;
    knd_buf_init(&b);
    for (int i = 0; i < KND_YAML_MAX_DOCS; i++)
        knd_buf_puts(&b, "---\na: 1\n");
    knd_buf_puts(&b, "---\n---\n"); /* empty documents are free */
    knd_test_docs_t d = knd_test_load_ok(b.p, KND_YAML_MAX_DOCS);
    knd_test_docs_free(&d);
    knd_buf_puts(&b, "---\nb: 2\n");
    char want[64];
    snprintf(want, sizeof(want), "%d:1: more than %d documents", 2 * KND_YAML_MAX_DOCS + 3,
             KND_YAML_MAX_DOCS);
    KND_TEST_ERR(b.p, want);
    knd_buf_free(&b);
}

/* ---- files ---- */

static char *knd_test_tmpfile(const char *content, size_t len)
{
    char *path = knd_xstrdup("/tmp/knd-yaml-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
    return path;
}

static void test_load_file(void **state)
{
    char *path = knd_test_tmpfile("a: 1\n---\nb: [x]\n", 16);
    knd_doc_t *docs = NULL;
    size_t n = 0;
    knd_err_t err = {0};
    assert_int_equal(knd_yaml_load_file(path, &docs, &n, &err), 0);
    assert_int_equal(n, 2);
    knd_test_pos(&docs[1], "b[0]", 3, 5);
    knd_yaml_docs_free(docs, n);
    unlink(path);
    free(path);

    path = knd_test_tmpfile("a: [\n", 5);
    assert_int_equal(knd_yaml_load_file(path, &docs, &n, &err), -1);
    assert_int_equal(err.code, KND_E_INVALID);
    assert_true(strncmp(err.msg, "2:1: ", 5) == 0);
    unlink(path);
    free(path);
}

static void test_load_file_errors(void **state)
{
    knd_doc_t *docs = NULL;
    size_t n = 0;
    knd_err_t err = {0};
    assert_int_equal(knd_yaml_load_file("/nonexistent/x.yaml", &docs, &n, &err), -1);
    assert_int_equal(err.code, KND_E_INVALID);
    assert_string_equal(err.msg, "open /nonexistent/x.yaml: No such file or directory");
    assert_null(docs);

    assert_int_equal(knd_yaml_load_file("/tmp", &docs, &n, &err), -1);
    assert_int_equal(err.code, KND_E_INVALID);
    assert_string_equal(err.msg, "read /tmp: Is a directory");

    size_t big = KND_YAML_MAX_FILE_SIZE + 1;
    char *s = knd_xmalloc(big);
    memset(s, '#', big);
    char *path = knd_test_tmpfile(s, big);
    free(s);
    assert_int_equal(knd_yaml_load_file(path, &docs, &n, &err), -1);
    assert_int_equal(err.code, KND_E_INVALID);
    char want[256];
    snprintf(want, sizeof(want), "%s is larger than 16 MiB", path);
    assert_string_equal(err.msg, want);
    unlink(path);
    free(path);
}

static void test_load_file_stdin(void **state)
{
    char *path = knd_test_tmpfile("x: z\n", 5);
    assert_non_null(freopen(path, "rb", stdin));
    knd_doc_t *docs = NULL;
    size_t n = 0;
    knd_err_t err = {0};
    assert_int_equal(knd_yaml_load_file("-", &docs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(json_string_value(json_object_get(docs[0].root, "x")), "z");
    knd_yaml_docs_free(docs, n);
    unlink(path);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalar_strings),
        cmocka_unit_test(test_scalar_nulls),
        cmocka_unit_test(test_scalar_bools),
        cmocka_unit_test(test_scalar_ints),
        cmocka_unit_test(test_scalar_floats),
        cmocka_unit_test(test_scalar_int_overflow),
        cmocka_unit_test(test_scalar_plain_strings),
        cmocka_unit_test(test_scalar_inf_nan_rejected),
        cmocka_unit_test(test_scalar_tags),
        cmocka_unit_test(test_scalar_nul_in_string),
        cmocka_unit_test(test_keys_stringified),
        cmocka_unit_test(test_nested_maps_and_lists),
        cmocka_unit_test(test_top_level_any_value),
        cmocka_unit_test(test_positions_exact),
        cmocka_unit_test(test_positions_nearest_ancestor),
        cmocka_unit_test(test_positions_flow_and_json),
        cmocka_unit_test(test_positions_many_keys),
        cmocka_unit_test(test_positions_odd_keys),
        cmocka_unit_test(test_knative_service),
        cmocka_unit_test(test_null_err_pointer),
        cmocka_unit_test(test_multi_document),
        cmocka_unit_test(test_multi_document_nulls_and_end_markers),
        cmocka_unit_test(test_empty_and_comment_only),
        cmocka_unit_test(test_json_input),
        cmocka_unit_test(test_crlf_line_endings),
        cmocka_unit_test(test_utf8_bom),
        cmocka_unit_test(test_not_nul_terminated),
        cmocka_unit_test(test_reject_syntax_errors),
        cmocka_unit_test(test_reject_invalid_utf8),
        cmocka_unit_test(test_reject_duplicate_keys),
        cmocka_unit_test(test_reject_anchors_aliases_merge),
        cmocka_unit_test(test_reject_non_scalar_keys),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_deep_nesting_bomb),
        cmocka_unit_test(test_billion_laughs),
        cmocka_unit_test(test_document_limit),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_load_file_errors),
        cmocka_unit_test(test_load_file_stdin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
