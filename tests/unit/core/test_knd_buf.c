/* test_knd_buf.c - the byte buffer's formatting helpers: decimal integers and JSON strings
 * (the request log builds its lines with them, byte for byte what a JSON parser reads back). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "knd_buf.h"

/* Appends in to an empty buffer, after a short prefix, and (near_cap) to a buffer filled to 1
 * to 7 bytes short of its capacity (the quotes and the escapes then grow it). */
static void check_json_at(const char *in, const char *want, int near_cap)
{
    knd_buf_t b;
    knd_buf_init(&b);
    knd_buf_put_json_str(&b, in);
    assert_string_equal(knd_buf_cstr(&b), want);
    assert_int_equal(b.len, strlen(want));
    knd_buf_reset(&b);
    KND_BUF_LIT(&b, "x");
    knd_buf_put_json_str(&b, in);
    assert_string_equal(knd_buf_cstr(&b) + 1, want);
    assert_int_equal(b.len, 1 + strlen(want));
    for (size_t gap = 1; near_cap && gap <= 7; gap++) {
        knd_buf_reset(&b);
        while (b.len + gap + 1 < b.cap)
            KND_BUF_LIT(&b, "y");
        size_t before = b.len;
        knd_buf_put_json_str(&b, in);
        assert_string_equal(knd_buf_cstr(&b) + before, want);
        assert_int_equal(b.len, before + strlen(want));
    }
    knd_buf_free(&b);
}

static void check_json(const char *in, const char *want)
{
    check_json_at(in, want, 1);
}

static void test_json_str_cases(void **state)
{
    (void)state;
    check_json("", "\"\"");
    check_json("hello.default.127.0.0.1.sslip.io", "\"hello.default.127.0.0.1.sslip.io\"");
    check_json("/q\"uote\\back", "\"/q\\\"uote\\\\back\"");
    check_json("\x01\x1f\t\n", "\"\\u0001\\u001f\\u0009\\u000a\"");
    /* DEL, bytes >= 0x80 (UTF-8) and the characters next to the escaped ones pass as they are */
    check_json("\x7f\xc3\xa9\xff !#[]", "\"\x7f\xc3\xa9\xff !#[]\"");
    check_json("\"\"\"\"\"\"\"\"\"", "\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\"");
}

/* The expected output, byte by byte, the slow way. */
static void json_reference(const unsigned char *in, size_t n, char *out)
{
    char *o = out;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '"' || in[i] == '\\')
            o += sprintf(o, "\\%c", in[i]);
        else if (in[i] < 0x20)
            o += sprintf(o, "\\u%04x", in[i]);
        else
            *o++ = (char)in[i];
    }
    *o++ = '"';
    *o = '\0';
}

/* Every byte value at every position of strings up to 40 bytes long: the first, a middle and
 * the last byte escaped, runs before and after it copied whole, and every value around the
 * thresholds (0x1f/0x20, '"' - 1/'"' + 1, ...) checked against the slow reference. */
static void test_json_str_every_byte_every_position(void **state)
{
    (void)state;
    unsigned char in[41];
    char want[41 * 6 + 3];
    for (size_t len = 1; len <= 40; len++) {
        for (size_t pos = 0; pos < len; pos++) {
            for (int v = 1; v < 256; v++) {
                memset(in, 'a', len);
                in[pos] = (unsigned char)v;
                in[len] = '\0';
                json_reference(in, len, want);
                check_json_at((const char *)in, want, pos == 0 && len == 40);
            }
        }
    }
}

static void test_put_i64(void **state)
{
    (void)state;
    const int64_t v[] = {0, 7, -1, 10, 1234567890123LL, INT64_MAX, INT64_MIN};
    const char *want[] = {"0", "7", "-1", "10", "1234567890123", "9223372036854775807",
                          "-9223372036854775808"};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        knd_buf_t b;
        knd_buf_init(&b);
        knd_buf_put_i64(&b, v[i]);
        assert_string_equal(knd_buf_cstr(&b), want[i]);
        knd_buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_str_cases),
        cmocka_unit_test(test_json_str_every_byte_every_position),
        cmocka_unit_test(test_put_i64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
