/*
 * test_knd_kube_patch.c - the patch formats against their specifications: every example of
 * RFC 7386 appendix A and RFC 6902 appendix A (A.1-A.16), merge-diff round trips over nested
 * documents, the strategic-merge reduction, and the error messages callers rely on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "knd_kube_patch.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
    if (!v)
        fail_msg("bad JSON in test: %s: %s", text, e.text);
    return v;
}

/* Asserts got == want (JSON text), then releases got. */
static void assert_json(json_t *got, const char *want)
{
    json_t *w = J(want);
    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
        print_error("got  %s\nwant %s\n", g ? g : "(null)", want);
        free(g);
        json_decref(w);
        json_decref(got);
        fail();
    }
    json_decref(w);
    json_decref(got);
}

static void check_merge(const char *target, const char *patch, const char *result)
{
    json_t *t = J(target), *p = J(patch);
    char *t_before = json_dumps(t, JSON_SORT_KEYS | JSON_ENCODE_ANY);
    char *t_after;

    assert_json(knd_kube_merge_patch(t, p), result);
    /* Inputs are never modified. */
    t_after = json_dumps(t, JSON_SORT_KEYS | JSON_ENCODE_ANY);
    assert_string_equal(t_before, t_after);
    free(t_before);
    free(t_after);
    json_decref(t);
    json_decref(p);
}

/* Applies ops to doc; want is the expected document, or NULL with want_err the message. */
static void check_json_patch(const char *doc, const char *ops, const char *want,
                             const char *want_err)
{
    json_t *d = J(doc), *o = J(ops), *out = (json_t *)1;
    knd_err_t err = {0};
    int rc = knd_kube_json_patch(d, o, &out, &err);

    if (want) {
        if (rc != 0)
            fail_msg("unexpected error: %s", err.msg);
        assert_json(out, want);
    } else {
        assert_int_equal(rc, -1);
        assert_null(out);
        assert_int_equal(err.code, KND_E_INVALID);
        if (want_err)
            assert_string_equal(err.msg, want_err);
    }
    json_decref(d);
    json_decref(o);
}

/* ---- RFC 7386 appendix A ------------------------------------------------------------------- */

static void test_rfc7386_appendix_a(void **state)
{
    (void)state;
    check_merge("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    check_merge("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}");
    check_merge("{\"a\":\"b\"}", "{\"a\":null}", "{}");
    check_merge("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}");
    check_merge("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    check_merge("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}");
    check_merge("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
                "{\"a\":{\"b\":\"d\"}}");
    check_merge("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
    check_merge("[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]");
    check_merge("{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]");
    check_merge("{\"a\":\"foo\"}", "null", "null");
    check_merge("{\"a\":\"foo\"}", "\"bar\"", "\"bar\"");
    check_merge("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}");
    check_merge("[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}");
    check_merge("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}");
}

static void test_merge_patch_absent_target(void **state)
{
    json_t *p = J("{\"metadata\":{\"labels\":{\"a\":\"1\",\"gone\":null}}}");
    (void)state;
    assert_json(knd_kube_merge_patch(NULL, p), "{\"metadata\":{\"labels\":{\"a\":\"1\"}}}");
    json_decref(p);
}

static void test_merge_patch_kubernetes_object(void **state)
{
    (void)state;
    check_merge("{\"metadata\":{\"name\":\"hello\",\"labels\":{\"a\":\"1\",\"b\":\"2\"}},"
                "\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}}}",
                "{\"metadata\":{\"labels\":{\"b\":null,\"c\":\"3\"}},"
                "\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"image\":\"y\"}]}}}}",
                "{\"metadata\":{\"name\":\"hello\",\"labels\":{\"a\":\"1\",\"c\":\"3\"}},"
                "\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"image\":\"y\"}]}}}}");
}

/* ---- merge diff ---------------------------------------------------------------------------- */

static void check_roundtrip(const char *from, const char *to, const char *want_diff)
{
    json_t *f = J(from), *t = J(to);
    json_t *d = knd_kube_merge_diff(f, t);
    json_t *applied = knd_kube_merge_patch(f, d);

    if (want_diff)
        assert_json(json_incref(d), want_diff);
    if (!json_equal(applied, t)) {
        char *a = json_dumps(applied, JSON_SORT_KEYS | JSON_ENCODE_ANY);
        fail_msg("round trip from %s to %s gave %s", from, to, a);
    }
    json_decref(applied);
    json_decref(d);
    json_decref(f);
    json_decref(t);
}

static void test_merge_diff_equal_is_empty(void **state)
{
    json_t *a = J("{\"a\":{\"b\":[1,2,{\"c\":null}]},\"n\":1}");
    json_t *b = J("{\"n\":1.0,\"a\":{\"b\":[1,2,{\"c\":null}]}}");
    (void)state;
    assert_json(knd_kube_merge_diff(a, a), "{}");
    /* 1 and 1.0 are the same JSON number. */
    assert_json(knd_kube_merge_diff(a, b), "{}");
    json_decref(a);
    json_decref(b);
}

static void test_merge_diff_roundtrips(void **state)
{
    (void)state;
    /* Removed keys become null, at any depth. */
    check_roundtrip("{\"a\":1,\"b\":{\"c\":2,\"d\":3}}", "{\"b\":{\"c\":2}}",
                    "{\"a\":null,\"b\":{\"d\":null}}");
    /* Changed scalars and new keys appear whole; unchanged subtrees are left out. */
    check_roundtrip("{\"spec\":{\"x\":1,\"same\":{\"k\":\"v\"}}}",
                    "{\"spec\":{\"x\":2,\"same\":{\"k\":\"v\"},\"new\":{\"deep\":[1]}}}",
                    "{\"spec\":{\"x\":2,\"new\":{\"deep\":[1]}}}");
    /* Arrays are replaced as a whole, including arrays of objects and of nulls. */
    check_roundtrip("{\"c\":[{\"name\":\"a\",\"image\":\"x\"}],\"l\":[1,2,3]}",
                    "{\"c\":[{\"name\":\"a\",\"image\":\"y\"}],\"l\":[1,2,3]}",
                    "{\"c\":[{\"name\":\"a\",\"image\":\"y\"}]}");
    check_roundtrip("{\"l\":[1,null]}", "{\"l\":[null]}", "{\"l\":[null]}");
    /* A key holding null in `from` that disappears. */
    check_roundtrip("{\"a\":null,\"b\":1}", "{\"b\":1}", "{\"a\":null}");
    /* Type changes: object to scalar and back, array to object. */
    check_roundtrip("{\"a\":{\"b\":1},\"c\":\"s\",\"d\":[1]}",
                    "{\"a\":\"flat\",\"c\":{\"now\":\"obj\"},\"d\":{\"k\":[]}}", NULL);
    /* A realistic Knative Service re-apply: an env var list shrinks, an annotation goes. */
    check_roundtrip(
        "{\"apiVersion\":\"serving.knative.dev/v1\",\"kind\":\"Service\","
        "\"metadata\":{\"name\":\"hello\",\"annotations\":{\"a\":\"1\",\"b\":\"2\"}},"
        "\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"autoscaling.knative.dev/"
        "min-scale\":"
        "\"1\"}},\"spec\":{\"containers\":[{\"image\":\"img:1\",\"env\":[{\"name\":\"A\",\"value\":"
        "\"1\"},{\"name\":\"B\",\"value\":\"2\"}]}]}}}}",
        "{\"apiVersion\":\"serving.knative.dev/v1\",\"kind\":\"Service\","
        "\"metadata\":{\"name\":\"hello\",\"annotations\":{\"a\":\"1\"}},"
        "\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"image\":\"img:2\",\"env\":[{\"name\":"
        "\"A\",\"value\":\"1\"}]}]}}}}",
        "{\"metadata\":{\"annotations\":{\"b\":null}},\"spec\":{\"template\":{\"metadata\":null,"
        "\"spec\":{\"containers\":[{\"image\":\"img:2\",\"env\":[{\"name\":\"A\",\"value\":\"1\"}]}"
        "]}"
        "}}}");
    /* Everything removed, and everything added. */
    check_roundtrip("{\"a\":{\"b\":{\"c\":1}}}", "{}", "{\"a\":null}");
    check_roundtrip("{}", "{\"a\":{\"b\":{\"c\":1}}}", "{\"a\":{\"b\":{\"c\":1}}}");
}

static void test_merge_diff_non_objects(void **state)
{
    json_t *a = J("[1,2]"), *b = J("{\"x\":1}"), *s = J("\"s\"");
    (void)state;
    assert_json(knd_kube_merge_diff(a, b), "{\"x\":1}");
    assert_json(knd_kube_merge_diff(b, a), "[1,2]");
    assert_json(knd_kube_merge_diff(s, s), "{}");
    json_decref(a);
    json_decref(b);
    json_decref(s);
}

/* ---- strategic merge patch ----------------------------------------------------------------- */

static void test_strategic_strips_directives(void **state)
{
    json_t *p =
        J("{\"$patch\":\"merge\",\"metadata\":{\"labels\":{\"a\":\"1\",\"$patch\":\"replace\"},"
          "\"$setElementOrder/finalizers\":[\"x\"],\"$deleteFromPrimitiveList/finalizers\":"
          "[\"y\"],\"annotations\":{\"k\":null}},\"data\":{\"key\":\"v\",\"$retainKeys\":"
          "[\"key\"]},\"list\":[{\"$patch\":\"delete\",\"name\":\"n\",\"deep\":{\"$x\":1,"
          "\"y\":2}}],\"keep$\":\"dollar inside is data\"}");
    char *before = json_dumps(p, JSON_SORT_KEYS);
    char *after;
    json_t *m;
    (void)state;
    m = knd_kube_strategic_to_merge(p);
    assert_json(json_incref(m),
                "{\"metadata\":{\"labels\":{\"a\":\"1\"},\"annotations\":{\"k\":null}},"
                "\"data\":{\"key\":\"v\"},\"list\":[{\"name\":\"n\",\"deep\":{\"y\":2}}],"
                "\"keep$\":\"dollar inside is data\"}");
    after = json_dumps(p, JSON_SORT_KEYS);
    assert_string_equal(before, after);
    /* Then applies as a merge patch: null still deletes. */
    {
        json_t *live =
            J("{\"metadata\":{\"name\":\"cm\",\"annotations\":{\"k\":\"v\",\"o\":\"p\"}},"
              "\"data\":{\"old\":\"1\"}}");
        assert_json(knd_kube_merge_patch(live, m),
                    "{\"metadata\":{\"name\":\"cm\",\"labels\":{\"a\":\"1\"},\"annotations\":"
                    "{\"o\":\"p\"}},\"data\":{\"old\":\"1\",\"key\":\"v\"},\"list\":[{\"name\":"
                    "\"n\",\"deep\":{\"y\":2}}],\"keep$\":\"dollar inside is data\"}");
        json_decref(live);
    }
    free(before);
    free(after);
    json_decref(m);
    json_decref(p);
}

static void test_strategic_scalars(void **state)
{
    json_t *n = J("null"), *s = J("\"x\"");
    (void)state;
    assert_json(knd_kube_strategic_to_merge(n), "null");
    assert_json(knd_kube_strategic_to_merge(s), "\"x\"");
    json_decref(n);
    json_decref(s);
}

/* ---- RFC 6902 appendix A ------------------------------------------------------------------- */

static void test_rfc6902_a1_to_a5(void **state)
{
    (void)state;
    /* A.1 Adding an Object Member */
    check_json_patch("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
                     "{\"baz\":\"qux\",\"foo\":\"bar\"}", NULL);
    /* A.2 Adding an Array Element */
    check_json_patch("{\"foo\":[\"bar\",\"baz\"]}",
                     "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
                     "{\"foo\":[\"bar\",\"qux\",\"baz\"]}", NULL);
    /* A.3 Removing an Object Member */
    check_json_patch("{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
                     "{\"foo\":\"bar\"}", NULL);
    /* A.4 Removing an Array Element */
    check_json_patch("{\"foo\":[\"bar\",\"qux\",\"baz\"]}",
                     "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]", "{\"foo\":[\"bar\",\"baz\"]}",
                     NULL);
    /* A.5 Replacing a Value */
    check_json_patch("{\"baz\":\"qux\",\"foo\":\"bar\"}",
                     "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
                     "{\"baz\":\"boo\",\"foo\":\"bar\"}", NULL);
}

static void test_rfc6902_a6_to_a10(void **state)
{
    (void)state;
    /* A.6 Moving a Value */
    check_json_patch(
        "{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
        "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
        "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}", NULL);
    /* A.7 Moving an Array Element */
    check_json_patch("{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
                     "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
                     "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}", NULL);
    /* A.8 Testing a Value: Success */
    check_json_patch("{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
                     "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
                     "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
                     "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}", NULL);
    /* A.9 Testing a Value: Error */
    check_json_patch("{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]",
                     NULL, "json patch operation 0 (test): value at /baz does not match");
    /* A.10 Adding a Nested Member Object */
    check_json_patch("{\"foo\":\"bar\"}",
                     "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
                     "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}", NULL);
}

static void test_rfc6902_a11_to_a16(void **state)
{
    json_error_t e;
    (void)state;
    /* A.11 Ignoring Unrecognized Elements */
    check_json_patch("{\"foo\":\"bar\"}",
                     "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":123}]",
                     "{\"foo\":\"bar\",\"baz\":\"qux\"}", NULL);
    /* A.12 Adding to a Nonexistent Target */
    check_json_patch("{\"foo\":\"bar\"}",
                     "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]", NULL,
                     "json patch operation 0 (add): parent of path /baz/bat does not exist");
    /* A.13 Invalid JSON Patch Document: the duplicate "op" member is rejected when the body is
     * parsed, which is where the API layer parses with JSON_REJECT_DUPLICATES. */
    assert_null(
        json_loads("[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"op\":\"remove\"}]",
                   JSON_REJECT_DUPLICATES, &e));
    /* A.14 ~ Escape Ordering */
    check_json_patch("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
                     "{\"/\":9,\"~1\":10}", NULL);
    /* A.15 Comparing Strings and Numbers */
    check_json_patch("{\"/\":9,\"~1\":10}",
                     "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]", NULL,
                     "json patch operation 0 (test): value at /~01 does not match");
    /* A.16 Adding an Array Value */
    check_json_patch("{\"foo\":[\"bar\"]}",
                     "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
                     "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}", NULL);
}

/* ---- JSON patch: the rest of the RFC's rules ----------------------------------------------- */

static void test_json_patch_pointers(void **state)
{
    (void)state;
    /* RFC 6901 §5 examples, through test. */
    check_json_patch("{\"a/b\":1,\"m~n\":8,\"\":0,\" \":7,\"c%d\":2}",
                     "[{\"op\":\"test\",\"path\":\"/a~1b\",\"value\":1},"
                     "{\"op\":\"test\",\"path\":\"/m~0n\",\"value\":8},"
                     "{\"op\":\"test\",\"path\":\"/\",\"value\":0},"
                     "{\"op\":\"test\",\"path\":\"/ \",\"value\":7},"
                     "{\"op\":\"test\",\"path\":\"/c%d\",\"value\":2},"
                     "{\"op\":\"test\",\"path\":\"\",\"value\":{\"a/b\":1,\"m~n\":8,\"\":0,\" \":7,"
                     "\"c%d\":2}}]",
                     "{\"a/b\":1,\"m~n\":8,\"\":0,\" \":7,\"c%d\":2}", NULL);
    check_json_patch("{}", "[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]", NULL,
                     "json patch operation 0 (add): invalid JSON pointer a");
    check_json_patch("{}", "[{\"op\":\"add\",\"path\":\"/a~2\",\"value\":1}]", NULL,
                     "json patch operation 0 (add): invalid JSON pointer /a~2");
    /* Array indexes: no leading zeros, "-" only to append, never past the end. */
    check_json_patch("{\"l\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/l/01\",\"value\":0}]", NULL,
                     "json patch operation 0 (add): array index out of range in path /l/01");
    check_json_patch("{\"l\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/l/3\",\"value\":0}]", NULL,
                     "json patch operation 0 (add): array index out of range in path /l/3");
    check_json_patch("{\"l\":[1,2]}", "[{\"op\":\"add\",\"path\":\"/l/2\",\"value\":3}]",
                     "{\"l\":[1,2,3]}", NULL);
    check_json_patch("{\"l\":[1,2]}", "[{\"op\":\"remove\",\"path\":\"/l/-\"}]", NULL,
                     "json patch operation 0 (remove): path /l/- does not exist");
}

static void test_json_patch_errors(void **state)
{
    (void)state;
    check_json_patch("{\"spec\":{}}",
                     "[{\"op\":\"test\",\"path\":\"/spec\",\"value\":{}},"
                     "{\"op\":\"remove\",\"path\":\"/spec/foo\"}]",
                     NULL, "json patch operation 1 (remove): path /spec/foo does not exist");
    check_json_patch("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":2}]", NULL,
                     "json patch operation 0 (test): value at /a does not match");
    check_json_patch("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":2}]", NULL,
                     "json patch operation 0 (replace): path /b does not exist");
    check_json_patch("{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/x\",\"path\":\"/b\"}]", NULL,
                     "json patch operation 0 (move): from /x does not exist");
    check_json_patch("{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b/c\"}]",
                     NULL, "json patch operation 0 (move): path /a/b/c is inside from");
    check_json_patch("{}", "[{\"op\":\"frobnicate\",\"path\":\"/a\"}]", NULL,
                     "json patch operation 0: unknown op \"frobnicate\"");
    check_json_patch("{}", "[{\"path\":\"/a\"}]", NULL, "json patch operation 0: missing \"op\"");
    check_json_patch("{}", "[{\"op\":\"add\",\"value\":1}]", NULL,
                     "json patch operation 0 (add): missing \"path\"");
    check_json_patch("{}", "[{\"op\":\"add\",\"path\":\"/a\"}]", NULL,
                     "json patch operation 0 (add): missing \"value\"");
    check_json_patch("{}", "[{\"op\":\"copy\",\"path\":\"/a\"}]", NULL,
                     "json patch operation 0 (copy): missing \"from\"");
    check_json_patch("{}", "[7]", NULL, "json patch operation 0: not an object");
    check_json_patch("{}", "{\"op\":\"add\"}", NULL, "json patch: the patch must be a JSON array");
    check_json_patch("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"\"}]", NULL, NULL);
    /* Operations are all-or-nothing: a failure late leaves no partial result behind. */
    check_json_patch("{\"a\":1}",
                     "[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},"
                     "{\"op\":\"test\",\"path\":\"/b\",\"value\":3}]",
                     NULL, "json patch operation 1 (test): value at /b does not match");
}

static void test_json_patch_more_ops(void **state)
{
    json_t *doc = J("{\"spec\":{\"list\":[{\"n\":1}]}}");
    json_t *ops = J("[{\"op\":\"copy\",\"from\":\"/spec/list/0\",\"path\":\"/spec/list/-\"},"
                    "{\"op\":\"replace\",\"path\":\"/spec/list/1/n\",\"value\":2}]");
    json_t *out = NULL;
    knd_err_t err = {0};
    (void)state;

    /* copy makes an independent value: changing the copy leaves the original alone. */
    assert_int_equal(knd_kube_json_patch(doc, ops, &out, &err), 0);
    assert_json(out, "{\"spec\":{\"list\":[{\"n\":1},{\"n\":2}]}}");
    /* The input is untouched. */
    assert_json(json_incref(doc), "{\"spec\":{\"list\":[{\"n\":1}]}}");
    json_decref(doc);
    json_decref(ops);

    check_json_patch("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":[1]}]", "[1]",
                     NULL);
    check_json_patch("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"\",\"value\":{\"b\":2}}]",
                     "{\"b\":2}", NULL);
    check_json_patch("{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a\"}]",
                     "{\"a\":1}", NULL);
    check_json_patch("{\"a\":{\"x\":1},\"b\":2}",
                     "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/b\"}]", "{\"b\":{\"x\":1}}",
                     NULL);
    check_json_patch("{\"l\":[1,2,3]}", "[{\"op\":\"replace\",\"path\":\"/l/0\",\"value\":9}]",
                     "{\"l\":[9,2,3]}", NULL);
    check_json_patch("{\"n\":1}", "[{\"op\":\"test\",\"path\":\"/n\",\"value\":1.0}]", "{\"n\":1}",
                     NULL);
    check_json_patch("{\"o\":{\"a\":[1,{\"b\":null}]}}",
                     "[{\"op\":\"test\",\"path\":\"/o\",\"value\":{\"a\":[1,{\"b\":null}]}}]",
                     "{\"o\":{\"a\":[1,{\"b\":null}]}}", NULL);
    check_json_patch("{\"o\":{\"a\":[1,2]}}",
                     "[{\"op\":\"test\",\"path\":\"/o/a\",\"value\":[2,1]}]", NULL,
                     "json patch operation 0 (test): value at /o/a does not match");
    check_json_patch("{}", "[]", "{}", NULL);
}

/* Kubernetes' bounds: copies may add 3 MiB of JSON in all (without it, each copy of a document
 * into itself doubles it), and a patch has at most 10,000 operations. */
static void test_json_patch_limits(void **state)
{
    (void)state;
    char big[4096];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    json_t *doc = json_pack("{s:{s:s}}", "spec", "v", big);
    json_t *ops = json_array();
    for (int i = 0; i < 40; i++) { /* 4 KiB doubled 40 times, if nothing stopped it */
        char path[32];
        snprintf(path, sizeof(path), "/spec/c%d", i);
        json_array_append_new(ops, json_pack("{s:s, s:s, s:s}", "op", "copy", "from", "/spec",
                                             "path", path));
    }
    json_t *out = NULL;
    knd_err_t err = {0};
    assert_int_equal(knd_kube_json_patch(doc, ops, &out, &err), -1);
    assert_null(out);
    assert_non_null(strstr(err.msg, "json patch operation 9 (copy): Unable to complete the copy, "
                                    "the accumulated size increase of copy is "));
    assert_non_null(strstr(err.msg, "exceeding the limit 3145728"));
    json_decref(ops);

    ops = json_array();
    for (int i = 0; i < 10001; i++)
        json_array_append_new(ops, json_pack("{s:s, s:s, s:i}", "op", "test", "path", "/spec/v",
                                             "value", 0));
    assert_int_equal(knd_kube_json_patch(doc, ops, &out, &err), -1);
    assert_string_equal(err.msg, "The allowed maximum operations in a JSON patch is 10000, "
                                 "got 10001");
    json_decref(ops);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7386_appendix_a),
        cmocka_unit_test(test_merge_patch_absent_target),
        cmocka_unit_test(test_merge_patch_kubernetes_object),
        cmocka_unit_test(test_merge_diff_equal_is_empty),
        cmocka_unit_test(test_merge_diff_roundtrips),
        cmocka_unit_test(test_merge_diff_non_objects),
        cmocka_unit_test(test_strategic_strips_directives),
        cmocka_unit_test(test_strategic_scalars),
        cmocka_unit_test(test_rfc6902_a1_to_a5),
        cmocka_unit_test(test_rfc6902_a6_to_a10),
        cmocka_unit_test(test_rfc6902_a11_to_a16),
        cmocka_unit_test(test_json_patch_pointers),
        cmocka_unit_test(test_json_patch_errors),
        cmocka_unit_test(test_json_patch_more_ops),
        cmocka_unit_test(test_json_patch_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
