/*
 * test_knd_kube_select.c - label and field selectors: tables of valid and invalid strings with
 * apimachinery's error wording (labels/selector_test.go's cases where they apply), matching
 * semantics (notin and != also match objects without the label), and the selectors kubectl
 * actually sends (describe's involvedObject.* field selector, metadata.name=...).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "knd_kube_select.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v)
        fail_msg("bad JSON in test: %s: %s", text, e.text);
    return v;
}

/* An object with metadata.labels given as JSON text. */
static json_t *labeled(const char *labels)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "{\"metadata\":{\"name\":\"x\",\"labels\":%s}}", labels);
    return J(buf);
}

static bool label_match(const char *sel, const char *labels)
{
    knd_err_t err = {0};
    knd_kube_selector_t *s = knd_kube_label_selector_parse(sel, &err);
    json_t *o = labeled(labels);
    bool m;
    if (!s)
        fail_msg("selector %s: unexpected error: %s", sel, err.msg);
    m = knd_kube_selector_match(s, o);
    knd_kube_selector_free(s);
    json_decref(o);
    return m;
}

static void label_invalid(const char *sel, const char *want)
{
    knd_err_t err = {0};
    knd_kube_selector_t *s = knd_kube_label_selector_parse(sel, &err);
    if (s)
        fail_msg("selector \"%s\" parsed but should not", sel);
    assert_int_equal(err.code, KND_E_INVALID);
    if (strcmp(err.msg, want) != 0)
        fail_msg("selector \"%s\":\n got  %s\n want %s", sel, err.msg, want);
}

static bool field_match(const char *sel, const char *obj)
{
    knd_err_t err = {0};
    knd_kube_selector_t *s = knd_kube_field_selector_parse(sel, &err);
    json_t *o = J(obj);
    bool m;
    if (!s)
        fail_msg("field selector %s: unexpected error: %s", sel, err.msg);
    m = knd_kube_selector_match(s, o);
    knd_kube_selector_free(s);
    json_decref(o);
    return m;
}

static void field_invalid(const char *sel, const char *want)
{
    knd_err_t err = {0};
    knd_kube_selector_t *s = knd_kube_field_selector_parse(sel, &err);
    if (s)
        fail_msg("field selector \"%s\" parsed but should not", sel);
    assert_int_equal(err.code, KND_E_INVALID);
    if (strcmp(err.msg, want) != 0)
        fail_msg("field selector \"%s\":\n got  %s\n want %s", sel, err.msg, want);
}

#define QNAME_REGEX "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'"
#define NAME_PART_MSG                                                                              \
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "  \
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', " QNAME_REGEX    \
    ")"

/* ---- label selectors: valid strings -------------------------------------------------------- */

static void test_label_everything(void **state)
{
    knd_err_t err = {0};
    knd_kube_selector_t *s;
    json_t *o = labeled("{}");
    (void)state;
    s = knd_kube_label_selector_parse(NULL, &err);
    assert_non_null(s);
    assert_true(knd_kube_selector_match(s, o));
    knd_kube_selector_free(s);
    s = knd_kube_label_selector_parse("", &err);
    assert_non_null(s);
    assert_true(knd_kube_selector_match(s, o));
    knd_kube_selector_free(s);
    s = knd_kube_label_selector_parse("  ", &err);
    assert_non_null(s);
    knd_kube_selector_free(s);
    assert_true(knd_kube_selector_match(NULL, o));
    json_decref(o);
}

static void test_label_equality(void **state)
{
    (void)state;
    assert_true(label_match("app=web", "{\"app\":\"web\"}"));
    assert_true(label_match("app==web", "{\"app\":\"web\"}"));
    assert_false(label_match("app=web", "{\"app\":\"db\"}"));
    assert_false(label_match("app=web", "{}"));
    assert_true(label_match("app!=web", "{\"app\":\"db\"}"));
    assert_false(label_match("app!=web", "{\"app\":\"web\"}"));
    /* != matches objects without the label, as Kubernetes does. */
    assert_true(label_match("app!=web", "{}"));
    /* An empty value. */
    assert_true(label_match("app=", "{\"app\":\"\"}"));
    assert_false(label_match("app=", "{\"app\":\"x\"}"));
    assert_true(label_match("app==,b=1", "{\"app\":\"\",\"b\":\"1\"}"));
    /* Prefixed keys. */
    assert_true(label_match("serving.knative.dev/service=hello",
                            "{\"serving.knative.dev/service\":\"hello\"}"));
    /* No labels at all in metadata. */
    {
        knd_err_t err = {0};
        knd_kube_selector_t *s = knd_kube_label_selector_parse("a!=b,!c", &err);
        json_t *o = J("{\"metadata\":{\"name\":\"x\"}}");
        assert_true(knd_kube_selector_match(s, o));
        knd_kube_selector_free(s);
        json_decref(o);
    }
}

static void test_label_sets(void **state)
{
    (void)state;
    assert_true(label_match("env in (prod,dev)", "{\"env\":\"dev\"}"));
    assert_false(label_match("env in (prod,dev)", "{\"env\":\"qa\"}"));
    assert_false(label_match("env in (prod,dev)", "{}"));
    assert_true(label_match("env notin (prod,dev)", "{\"env\":\"qa\"}"));
    assert_false(label_match("env notin (prod,dev)", "{\"env\":\"prod\"}"));
    /* notin matches objects without the label. */
    assert_true(label_match("env notin (prod,dev)", "{}"));
    /* Keywords are values inside the list; empty elements are the empty value. */
    assert_true(label_match("x in (in,notin)", "{\"x\":\"notin\"}"));
    assert_true(label_match("x in (a,,b)", "{\"x\":\"\"}"));
    assert_true(label_match("x in ()", "{\"x\":\"\"}"));
    assert_true(label_match("x in (,a)", "{\"x\":\"\"}"));
    assert_true(label_match("x in (a,)", "{\"x\":\"\"}"));
    assert_false(label_match("x in (a,b)", "{\"x\":\"\"}"));
    /* The example of labels.Parse's documentation. */
    assert_true(label_match("x in (foo,,baz),y,z notin ()", "{\"x\":\"baz\",\"y\":\"1\"}"));
    assert_false(
        label_match("x in (foo,,baz),y,z notin ()", "{\"x\":\"baz\",\"y\":\"1\",\"z\":\"\"}"));
}

static void test_label_existence(void **state)
{
    (void)state;
    assert_true(label_match("app", "{\"app\":\"\"}"));
    assert_false(label_match("app", "{\"other\":\"x\"}"));
    assert_true(label_match("!app", "{\"other\":\"x\"}"));
    assert_false(label_match("!app", "{\"app\":\"x\"}"));
    assert_true(label_match("a,!b,c=1", "{\"a\":\"x\",\"c\":\"1\"}"));
    assert_false(label_match("a,!b,c=1", "{\"a\":\"x\",\"b\":\"y\",\"c\":\"1\"}"));
}

static void test_label_spaces(void **state)
{
    (void)state;
    /* The apiserver's lexer treats blanks as separators around every token. */
    assert_true(label_match(" app = web ", "{\"app\":\"web\"}"));
    assert_true(label_match("app == web", "{\"app\":\"web\"}"));
    assert_true(label_match("app != web", "{\"app\":\"x\"}"));
    assert_true(label_match("env in(a , b)", "{\"env\":\"b\"}"));
    assert_true(label_match("env   notin   ( a )", "{\"env\":\"b\"}"));
    assert_true(label_match("a , b", "{\"a\":\"1\",\"b\":\"2\"}"));
    assert_true(label_match("! a", "{\"b\":\"2\"}"));
    assert_true(label_match("\ta\t=\tb\n", "{\"a\":\"b\"}"));
}

static void test_label_gt_lt(void **state)
{
    (void)state;
    assert_true(label_match("n>3", "{\"n\":\"10\"}"));
    assert_false(label_match("n>3", "{\"n\":\"3\"}"));
    assert_true(label_match("n<3", "{\"n\":\"-1\"}"));
    assert_false(label_match("n<3", "{\"n\":\"x\"}"));
    assert_false(label_match("n<3", "{}"));
}

/* ---- label selectors: invalid strings ------------------------------------------------------ */

static void test_label_invalid(void **state)
{
    (void)state;
    label_invalid("k in (a", "unable to parse requirement: found '', expected: ',' or ')'");
    label_invalid("k in a", "unable to parse requirement: found 'a' expected: '('");
    label_invalid("k in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'");
    label_invalid("k in (=)",
                  "unable to parse requirement: found '=', expected: ',', ')' or identifier");
    label_invalid("k in (a,=)",
                  "unable to parse requirement: found '=', expected: ',', or identifier");
    label_invalid(
        "env IN (a)",
        "unable to parse requirement: found 'IN', expected: in, notin, =, ==, !=, gt, lt");
    label_invalid("a=b c", "found 'c', expected: ',' or 'end of string'");
    label_invalid("a=b,", "found '', expected: identifier after ','");
    label_invalid("a=b,,c", "found ',', expected: identifier after ','");
    label_invalid(",a", "found ',', expected: !, identifier, or 'end of string'");
    label_invalid("=a", "found '=', expected: !, identifier, or 'end of string'");
    label_invalid("!", "unable to parse requirement: found '', expected: identifier");
    label_invalid("!a=b", "found '=', expected: ',' or 'end of string'");
    label_invalid("a=(", "unable to parse requirement: found '(', expected: identifier");
    label_invalid("a===b", "unable to parse requirement: found '=', expected: identifier");
    label_invalid("app:web",
                  "unable to parse requirement: <nil>: Invalid value: \"app:web\": " NAME_PART_MSG);
    label_invalid("-a=b",
                  "unable to parse requirement: <nil>: Invalid value: \"-a\": " NAME_PART_MSG);
    label_invalid("/a=b",
                  "unable to parse requirement: <nil>: Invalid value: \"/a\": prefix part must be "
                  "non-empty");
    label_invalid("a/=b",
                  "unable to parse requirement: <nil>: Invalid value: \"a/\": name part must be "
                  "non-empty; " NAME_PART_MSG);
    label_invalid("Example.com/a=b",
                  "unable to parse requirement: <nil>: Invalid value: \"Example.com/a\": prefix "
                  "part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                  "characters, '-' or '.', and must start and end with an alphanumeric character "
                  "(e.g. 'example.com', regex used for validation is "
                  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
    label_invalid(
        "a/b/c=d",
        "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified name "
        "must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
        "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', " QNAME_REGEX
        ") with an optional DNS subdomain prefix and '/' (e.g. "
        "'example.com/MyName')");
    label_invalid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                  "unable to parse requirement: <nil>: Invalid value: "
                  "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": name part "
                  "must be no more than 63 characters");
    label_invalid("a=-b",
                  "unable to parse requirement: values[0][a]: Invalid value: \"-b\": a valid label "
                  "must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                  "and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
                  "'my_value',  or '12345', regex used for validation is "
                  "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
    label_invalid("n>x", "unable to parse requirement: values[0]: Invalid value: \"x\": for "
                         "'Gt', 'Lt' operators, the value must be an integer");
    /* Both checks fail: aggregated, integer check first. */
    label_invalid("n<-x",
                  "unable to parse requirement: [values[0]: Invalid value: \"-x\": for 'Gt', 'Lt' "
                  "operators, the value must be an integer, values[0][n]: Invalid value: \"-x\": a "
                  "valid label must be an empty string or consist of alphanumeric characters, '-', "
                  "'_' or '.', and must start and end with an alphanumeric character (e.g. "
                  "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                  "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')]");
}

static void test_label_invalid_values_list(void **state)
{
    knd_err_t err = {0};
    (void)state;
    /* Values are sorted before validation, as Go's string set does, and several errors are
     * aggregated in brackets. */
    assert_null(knd_kube_label_selector_parse("k in (ok,_b,_a)", &err));
    assert_non_null(strstr(err.msg, "unable to parse requirement: [values[0][k]: Invalid value: "
                                    "\"_a\": "));
    assert_non_null(strstr(err.msg, ", values[1][k]: Invalid value: \"_b\": "));
    assert_int_equal(err.msg[strlen(err.msg) - 1], ']');
}

/* ---- field selectors ----------------------------------------------------------------------- */

static const char *event =
    "{\"metadata\":{\"name\":\"hello.123\",\"namespace\":\"default\"},"
    "\"involvedObject\":{\"kind\":\"Service\",\"name\":\"hello\",\"namespace\":\"default\","
    "\"uid\":\"abc\"},\"count\":3,\"ok\":true}";

static void test_field_describe_selector(void **state)
{
    (void)state;
    assert_true(field_match("involvedObject.name=hello,involvedObject.namespace=default,"
                            "involvedObject.kind=Service,involvedObject.uid=abc",
                            event));
    /* Term order varies between kubectl runs. */
    assert_true(field_match("involvedObject.uid=abc,involvedObject.kind=Service,"
                            "involvedObject.namespace=default,involvedObject.name=hello",
                            event));
    assert_false(field_match("involvedObject.name=hello,involvedObject.namespace=default,"
                             "involvedObject.kind=Service,involvedObject.uid=other",
                             event));
}

static void test_field_operators(void **state)
{
    (void)state;
    assert_true(field_match("metadata.name=hello.123", event));
    assert_true(field_match("metadata.name==hello.123", event));
    assert_false(field_match("metadata.name!=hello.123", event));
    assert_true(field_match("metadata.namespace!=kube-system", event));
    /* A missing field compares as "". */
    assert_true(field_match("status.phase=", event));
    assert_false(field_match("status.phase=Running", event));
    assert_true(field_match("status.phase!=Running", event));
    /* Numbers and booleans compare in their printed form. */
    assert_true(field_match("count=3", event));
    assert_true(field_match("ok=true", event));
    /* Empty terms are skipped; an empty selector matches everything. */
    assert_true(field_match(",metadata.name=hello.123,", event));
    assert_true(field_match("", event));
    /* Escapes in values. */
    assert_true(
        field_match("metadata.name=a\\,b\\=c\\\\d", "{\"metadata\":{\"name\":\"a,b=c\\\\d\"}}"));
    /* The value is everything after the first operator, spaces included. */
    assert_true(field_match("metadata.name= x", "{\"metadata\":{\"name\":\" x\"}}"));
}

static void test_field_equals(void **state)
{
    knd_err_t err = {0};
    knd_kube_selector_t *s;
    (void)state;
    s = knd_kube_field_selector_parse("metadata.namespace!=x,metadata.name==hello", &err);
    assert_non_null(s);
    assert_string_equal(knd_kube_selector_equals(s, "metadata.name"), "hello");
    assert_null(knd_kube_selector_equals(s, "metadata.namespace"));
    assert_null(knd_kube_selector_equals(s, "spec"));
    knd_kube_selector_free(s);
    s = knd_kube_field_selector_parse("metadata.name=", &err);
    assert_string_equal(knd_kube_selector_equals(s, "metadata.name"), "");
    knd_kube_selector_free(s);
    assert_null(knd_kube_selector_equals(NULL, "metadata.name"));
    /* The same helper on a label selector. */
    s = knd_kube_label_selector_parse("app = web, tier in (a)", &err);
    assert_string_equal(knd_kube_selector_equals(s, "app"), "web");
    assert_null(knd_kube_selector_equals(s, "tier"));
    knd_kube_selector_free(s);
}

static void test_field_invalid(void **state)
{
    (void)state;
    field_invalid("metadata.name", "invalid selector: 'metadata.name'; can't understand "
                                   "'metadata.name'");
    field_invalid("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'");
    field_invalid("a=b=c", "invalid field selector: unescaped character in value: 61");
    field_invalid("a=b\\", "invalid field selector: invalid escape sequence: \\");
    field_invalid("a=b\\x", "invalid field selector: invalid escape sequence: \\x");
    field_invalid("metadata.name = x", "field label not supported: metadata.name ");
    field_invalid("=x", "field label not supported: ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_everything),
        cmocka_unit_test(test_label_equality),
        cmocka_unit_test(test_label_sets),
        cmocka_unit_test(test_label_existence),
        cmocka_unit_test(test_label_spaces),
        cmocka_unit_test(test_label_gt_lt),
        cmocka_unit_test(test_label_invalid),
        cmocka_unit_test(test_label_invalid_values_list),
        cmocka_unit_test(test_field_describe_selector),
        cmocka_unit_test(test_field_operators),
        cmocka_unit_test(test_field_equals),
        cmocka_unit_test(test_field_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
