/* test_knd_map.c - the string-keyed hash map: put/get/replace/delete, growth, tombstones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "knd_map.h"

static void test_map_basics(void **state)
{
    knd_map_t m;
    int a = 1, b = 2;
    knd_map_init(&m);
    assert_null(knd_map_get(&m, "x"));
    assert_false(knd_map_del(&m, "x"));
    knd_map_put(&m, "x", &a);
    knd_map_put(&m, "y", &b);
    assert_ptr_equal(knd_map_get(&m, "x"), &a);
    assert_ptr_equal(knd_map_get(&m, "y"), &b);
    knd_map_put(&m, "x", &b); /* replace */
    assert_ptr_equal(knd_map_get(&m, "x"), &b);
    assert_int_equal(knd_map_size(&m), 2);
    assert_true(knd_map_del(&m, "x"));
    assert_null(knd_map_get(&m, "x"));
    assert_ptr_equal(knd_map_get(&m, "y"), &b);
    assert_int_equal(knd_map_size(&m), 1);
    knd_map_free(&m);
}

/* Many keys through growth, deletes of every other one, re-inserts over tombstones. */
static void test_map_growth_and_tombstones(void **state)
{
    knd_map_t m;
    static int vals[5000];
    char k[32];
    knd_map_init(&m);
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof(k), "default/rev-%05d", i);
        knd_map_put(&m, k, &vals[i]);
    }
    assert_int_equal(knd_map_size(&m), 5000);
    for (int i = 0; i < 5000; i += 2) {
        snprintf(k, sizeof(k), "default/rev-%05d", i);
        assert_true(knd_map_del(&m, k));
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof(k), "default/rev-%05d", i);
        assert_ptr_equal(knd_map_get(&m, k), i % 2 ? &vals[i] : NULL);
    }
    for (int round = 0; round < 3; round++) /* churn: tombstones are reused, never fill up */
        for (int i = 0; i < 5000; i += 2) {
            snprintf(k, sizeof(k), "default/rev-%05d", i);
            knd_map_put(&m, k, &vals[i]);
            assert_true(knd_map_del(&m, k));
        }
    assert_int_equal(knd_map_size(&m), 2500);
    knd_map_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_basics),
        cmocka_unit_test(test_map_growth_and_tombstones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
