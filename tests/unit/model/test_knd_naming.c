/*
 * test_knd_naming.c - Knative's child and revision names (kmeta.ChildName, including its
 * names_test.go table) and the DNS label checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "knd_naming.h"

static void knd_test_repeat(char *buf, const char *unit, int times)
{
    buf[0] = '\0';
    for (int i = 0; i < times; i++)
        strcat(buf, unit);
}

/* The cases of knative.dev/pkg kmeta/names_test.go TestChildName. */
static void test_child_name_kmeta_table(void **state)
{
    char f63[64], b32[33], f32[33], a17[18], bdash[101], out[KND_NAME_MAX + 1];
    knd_test_repeat(f63, "f", 63);
    knd_test_repeat(b32, "b", 32);
    knd_test_repeat(f32, "f", 32);
    knd_test_repeat(a17, "a", 17);
    knd_test_repeat(bdash, "b---a", 20);
    struct {
        const char *parent, *suffix, *want;
    } cases[] = {
        {"asdf", "-deployment", "asdf-deployment"},
        {f63, "-deployment", "ffffffffffffffffffff105d7597f637e83cc711605ac3ea4957-deployment"},
        {f63, "-deploy", "ffffffffffffffffffffffff105d7597f637e83cc711605ac3ea4957-deploy"},
        {f63, f63, "fffffffffffffffffffffffffffffff0502661254f13c89973cb3a83e0cbec0"},
        {"a", f63, "ab5cfd486935decbc0d305799f4ce4414ffffffffffffffffffffffffffffff"},
        {b32, f32, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb329c7c81b9ab3ba71aa139066aa5625d"},
        {"aaaa", bdash, "aaaa7a3f7966594e3f0849720eced8212c18b---ab---ab---ab---ab---ab"},
        {a17, "a.-.-.-.-.-.-.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         "aaaaaaaaaaaaaaaaaa1eb10dc911444f8434af83b7225442da"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        knd_child_name(cases[i].parent, cases[i].suffix, out);
        assert_string_equal(out, cases[i].want);
        assert_true(strlen(out) <= KND_NAME_MAX);
    }
}

static void test_revision_names(void **state)
{
    char out[KND_NAME_MAX + 1], long_name[64];
    knd_revision_name("hello", 1, out);
    assert_string_equal(out, "hello-00001");
    knd_revision_name("hello", 42, out);
    assert_string_equal(out, "hello-00042");
    knd_revision_name("hello", 123456, out);
    assert_string_equal(out, "hello-123456");
    /* A 63-char configuration: 25 chars kept, then md5(config), then the 6-char suffix. */
    knd_test_repeat(long_name, "f", 63);
    knd_revision_name(long_name, 1, out);
    assert_int_equal(strlen(out), 63);
    assert_string_equal(out, "fffffffffffffffffffffffff105d7597f637e83cc711605ac3ea4957-00001");
    /* 57 + 6 = 63 still fits unhashed. */
    knd_test_repeat(long_name, "a", 57);
    knd_revision_name(long_name, 1, out);
    assert_int_equal(strlen(out), 63);
    assert_int_equal(strncmp(out + 57, "-00001", 6), 0);
}

static void test_dns_labels(void **state)
{
    char l63[64], l64[65];
    knd_test_repeat(l63, "a", 63);
    knd_test_repeat(l64, "a", 64);
    assert_true(knd_is_dns1123_label("hello"));
    assert_true(knd_is_dns1123_label("0hello"));
    assert_true(knd_is_dns1123_label(l63));
    assert_false(knd_is_dns1123_label(l64));
    assert_false(knd_is_dns1123_label(""));
    assert_false(knd_is_dns1123_label("Hello"));
    assert_false(knd_is_dns1123_label("hello-"));
    assert_false(knd_is_dns1123_label("-hello"));
    assert_false(knd_is_dns1123_label("a.b"));
    assert_true(knd_is_dns1035_label("hello-1"));
    assert_false(knd_is_dns1035_label("1hello"));
    assert_true(knd_is_dns1123_subdomain("api.resimate.io"));
    assert_false(knd_is_dns1123_subdomain("api..resimate.io"));
    assert_false(knd_is_dns1123_subdomain("api.resimate.io."));
    assert_false(knd_is_dns1123_subdomain("API.resimate.io"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_child_name_kmeta_table),
        cmocka_unit_test(test_revision_names),
        cmocka_unit_test(test_dns_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
