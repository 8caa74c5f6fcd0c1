/*
 * test_knd_route_table.c - the ingress's host -> traffic table: building, sealing, Host lookups,
 * weighted picks and tags.
 *
 * Each test owns a uv_loop_t (revisions are tied to one) and a few revisions; it releases its
 * table and revisions and requires uv_loop_close() == 0. The revisions' reference counts show that
 * the table takes and drops its references.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "knd_route_table.h"

typedef struct {
    uv_loop_t loop;
    knd_rev_t *a, *b, *c;
} fx_t;

static int test_fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));
    knd_rev_limits_t lim = {.container_concurrency = 0};
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    fx->a = knd_rev_new(&fx->loop, "default", "hello-00001", "hello", "hello", &lim);
    fx->b = knd_rev_new(&fx->loop, "default", "hello-00002", "hello", "hello", &lim);
    fx->c = knd_rev_new(&fx->loop, "other", "world-00001", "world", "world", &lim);
    *state = fx;
    return 0;
}

static int test_fx_teardown(void **state)
{
    fx_t *fx = *state;
    /* the tables are gone: only the fixture's references remain */
    assert_int_equal(fx->a->refs, 1);
    assert_int_equal(fx->b->refs, 1);
    assert_int_equal(fx->c->refs, 1);
    knd_rev_release(fx->a);
    knd_rev_release(fx->b);
    knd_rev_release(fx->c);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    free(fx);
    return 0;
}

static knd_rt_target_t test_target(knd_rev_t *rev, int percent, const char *tag)
{
    knd_rt_target_t t = {.rev = rev, .percent = percent, .tag = (char *)tag};
    return t;
}

/* A table with a few routes, added out of order. */
static knd_route_table_t *test_table(fx_t *fx)
{
    knd_route_table_t *t = knd_route_table_new();
    knd_rt_target_t one[1] = {test_target(fx->a, 100, NULL)};
    knd_rt_target_t split[2] = {test_target(fx->a, 90, "current"), test_target(fx->b, 10, "next")};
    knd_rt_target_t world[1] = {test_target(fx->c, 100, NULL)};
    assert_int_equal(knd_route_table_add(t, "World.Other.Example.COM", "other", "world", NULL,
                                         world, 1), 0);
    assert_int_equal(knd_route_table_add(t, "hello.default.example.com", "default", "hello", NULL,
                                         split, 2), 0);
    assert_int_equal(knd_route_table_add(t, "next-hello.default.example.com", "default", "hello",
                                         "next", &split[1], 1), 0);
    assert_int_equal(knd_route_table_add(t, "a.example.com", "default", "a", NULL, one, 1), 0);
    assert_int_equal(knd_route_table_add(t, "zz.example.com", "default", "zz", NULL, one, 1), 0);
    knd_route_table_seal(t);
    return t;
}

static void test_add_seal_lookup(void **state)
{
    fx_t *fx = *state;
    knd_route_table_t *t = test_table(fx);
    assert_true(t->sealed);
    assert_int_equal(t->n, 5);
    assert_int_equal(fx->a->refs, 1 + 3); /* split, a.example.com, zz.example.com */
    assert_int_equal(fx->b->refs, 1 + 2);
    assert_int_equal(fx->c->refs, 1 + 1);

    const knd_rt_entry_t *e = knd_route_table_lookup(t, "hello.default.example.com");
    assert_non_null(e);
    assert_string_equal(e->ns, "default");
    assert_string_equal(e->route, "hello");
    assert_null(e->tag);
    assert_int_equal(e->ntargets, 2);
    assert_int_equal(e->total, 100);
    assert_ptr_equal(e->targets[0].rev, fx->a);
    assert_string_equal(e->targets[1].tag, "next");

    e = knd_route_table_lookup(t, "world.other.example.com");
    assert_non_null(e);
    assert_string_equal(e->host, "world.other.example.com"); /* stored lowercase */
    assert_ptr_equal(e->targets[0].rev, fx->c);

    e = knd_route_table_lookup(t, "next-hello.default.example.com");
    assert_non_null(e);
    assert_string_equal(e->tag, "next");

    /* every entry is found after sorting */
    static const char *const all[] = {"a.example.com", "zz.example.com",
                                      "hello.default.example.com",
                                      "next-hello.default.example.com", "world.other.example.com"};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        e = knd_route_table_lookup(t, all[i]);
        assert_non_null(e);
        assert_string_equal(e->host, all[i]);
    }
    assert_null(knd_route_table_lookup(t, "b.example.com"));
    assert_null(knd_route_table_lookup(t, "example.com"));
    assert_null(knd_route_table_lookup(t, "hello.default.example.co"));
    assert_null(knd_route_table_lookup(t, "hello.default.example.com.evil"));
    assert_null(knd_route_table_lookup(t, ""));
    knd_route_table_release(t);
}

/* Host header forms: any case, with a port, fully qualified with a trailing dot. */
static void test_lookup_host_forms(void **state)
{
    fx_t *fx = *state;
    knd_route_table_t *t = test_table(fx);
    const knd_rt_entry_t *want = knd_route_table_lookup(t, "hello.default.example.com");
    assert_non_null(want);
    static const char *const forms[] = {
        "HELLO.default.Example.com", "hello.default.example.com:80",
        "hello.default.example.com:8080", "Hello.Default.Example.Com:31080",
        "hello.default.example.com.", "hello.default.example.com.:80",
    };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
        assert_ptr_equal(knd_route_table_lookup(t, forms[i]), want);
    assert_null(knd_route_table_lookup(t, "hello.default.example.com.."));
    assert_null(knd_route_table_lookup(t, ":80"));

    /* an IPv6 literal keeps its brackets (and is not cut at its first colon) */
    knd_route_table_t *v6 = knd_route_table_new();
    knd_rt_target_t one[1] = {test_target(fx->a, 100, NULL)};
    assert_int_equal(knd_route_table_add(v6, "[::1]", "default", "a", NULL, one, 1), 0);
    knd_route_table_seal(v6);
    assert_non_null(knd_route_table_lookup(v6, "[::1]"));
    assert_null(knd_route_table_lookup(v6, "::1"));
    knd_route_table_release(v6);
    knd_route_table_release(t);
}

static void test_duplicate_host(void **state)
{
    fx_t *fx = *state;
    knd_route_table_t *t = knd_route_table_new();
    knd_rt_target_t ta[1] = {test_target(fx->a, 100, NULL)};
    knd_rt_target_t tc[1] = {test_target(fx->c, 100, NULL)};
    assert_int_equal(knd_route_table_add(t, "hello.example.com", "default", "hello", NULL, ta, 1),
                     0);
    /* a DomainMapping may not steal a Route's host, in any spelling */
    assert_int_equal(knd_route_table_add(t, "hello.example.com", "other", "dm", NULL, tc, 1), -1);
    assert_int_equal(knd_route_table_add(t, "HELLO.example.com", "other", "dm", NULL, tc, 1), -1);
    assert_int_equal(t->n, 1);
    assert_int_equal(fx->c->refs, 1); /* the rejected entries took nothing */
    knd_route_table_seal(t);
    const knd_rt_entry_t *e = knd_route_table_lookup(t, "hello.example.com");
    assert_non_null(e);
    assert_string_equal(e->route, "hello");
    assert_ptr_equal(e->targets[0].rev, fx->a);
    knd_route_table_release(t);
}

/* rnd % total walks the cumulative percents: over 0..99 each target gets exactly its share. */
static void test_weighted_pick_exact(void **state)
{
    fx_t *fx = *state;
    knd_route_table_t *t = knd_route_table_new();
    knd_rt_target_t split[2] = {test_target(fx->a, 90, NULL), test_target(fx->b, 10, NULL)};
    knd_rt_target_t three[3] = {test_target(fx->a, 33, NULL), test_target(fx->b, 33, NULL),
                                test_target(fx->c, 34, NULL)};
    assert_int_equal(knd_route_table_add(t, "s.example.com", "default", "s", NULL, split, 2), 0);
    assert_int_equal(knd_route_table_add(t, "t.example.com", "default", "t", NULL, three, 3), 0);
    knd_route_table_seal(t);

    const knd_rt_entry_t *e = knd_route_table_lookup(t, "s.example.com");
    int hits[2] = {0, 0};
    for (unsigned r = 0; r < 100; r++) {
        const knd_rt_target_t *p = knd_route_table_pick(e, r);
        assert_non_null(p);
        hits[p == &e->targets[0] ? 0 : 1]++;
    }
    assert_int_equal(hits[0], 90);
    assert_int_equal(hits[1], 10);
    /* the same over any 100 consecutive values (rnd is reduced modulo the total) */
    hits[0] = hits[1] = 0;
    for (unsigned r = 4000000000u; r < 4000000100u; r++)
        hits[knd_route_table_pick(e, r) == &e->targets[0] ? 0 : 1]++;
    assert_int_equal(hits[0], 90);

    e = knd_route_table_lookup(t, "t.example.com");
    int h3[3] = {0, 0, 0};
    for (unsigned r = 0; r < 100; r++)
        h3[knd_route_table_pick(e, r) - e->targets]++;
    assert_int_equal(h3[0], 33);
    assert_int_equal(h3[1], 33);
    assert_int_equal(h3[2], 34);
    knd_route_table_release(t);
}

static void test_zero_percent_never_picked(void **state)
{
    fx_t *fx = *state;
    knd_route_table_t *t = knd_route_table_new();
    /* zero-percent targets exist for their tags only */
    knd_rt_target_t tg[3] = {test_target(fx->b, 0, "old"), test_target(fx->a, 100, "current"),
                             test_target(fx->c, 0, "canary")};
    knd_rt_target_t none[1] = {test_target(fx->a, 0, "only-tag")};
    assert_int_equal(knd_route_table_add(t, "h.example.com", "default", "h", NULL, tg, 3), 0);
    assert_int_equal(knd_route_table_add(t, "z.example.com", "default", "z", NULL, none, 1), 0);
    assert_int_equal(knd_route_table_add(t, "e.example.com", "default", "e", NULL, NULL, 0), 0);
    knd_route_table_seal(t);

    const knd_rt_entry_t *e = knd_route_table_lookup(t, "h.example.com");
    for (unsigned r = 0; r < 1000; r++)
        assert_ptr_equal(knd_route_table_pick(e, r), &e->targets[1]);
    /* no share anywhere: nothing to pick (the ingress answers 503) */
    e = knd_route_table_lookup(t, "z.example.com");
    assert_int_equal(e->total, 0);
    for (unsigned r = 0; r < 10; r++)
        assert_null(knd_route_table_pick(e, r));
    e = knd_route_table_lookup(t, "e.example.com");
    assert_int_equal(e->ntargets, 0);
    assert_null(knd_route_table_pick(e, 7));
    knd_route_table_release(t);
}

static void test_tag_lookup(void **state)
{
    fx_t *fx = *state;
    knd_route_table_t *t = knd_route_table_new();
    knd_rt_target_t tg[3] = {test_target(fx->b, 0, "old"), test_target(fx->a, 100, NULL),
                             test_target(fx->c, 0, "canary")};
    assert_int_equal(knd_route_table_add(t, "h.example.com", "default", "h", NULL, tg, 3), 0);
    knd_route_table_seal(t);
    const knd_rt_entry_t *e = knd_route_table_lookup(t, "h.example.com");
    const knd_rt_target_t *x = knd_route_table_tag(e, "old");
    assert_non_null(x);
    assert_ptr_equal(x->rev, fx->b);
    x = knd_route_table_tag(e, "canary");
    assert_non_null(x);
    assert_ptr_equal(x->rev, fx->c);
    assert_string_equal(x->tag, "canary");
    assert_ptr_not_equal(x->tag, tg[2].tag); /* copied */
    assert_null(knd_route_table_tag(e, "Canary")); /* tags are exact */
    assert_null(knd_route_table_tag(e, "current"));
    assert_null(knd_route_table_tag(e, ""));
    knd_route_table_release(t);
}

/* In-flight requests keep the table (and its revisions) they started with. */
static void test_refcounts(void **state)
{
    fx_t *fx = *state;
    knd_route_table_t *t = test_table(fx);
    assert_ptr_equal(knd_route_table_retain(t), t);
    assert_int_equal(t->refs, 2);
    knd_route_table_release(t);
    assert_int_equal(t->refs, 1);
    assert_int_equal(fx->a->refs, 4);
    knd_route_table_release(t);
    assert_int_equal(fx->a->refs, 1);
    knd_route_table_release(NULL);

    /* an empty table looks nothing up */
    t = knd_route_table_new();
    knd_route_table_seal(t);
    assert_null(knd_route_table_lookup(t, "hello.default.example.com"));
    knd_route_table_release(t);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, test_fx_setup, test_fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_add_seal_lookup),
        T(test_lookup_host_forms),
        T(test_duplicate_host),
        T(test_weighted_pick_exact),
        T(test_zero_percent_never_picked),
        T(test_tag_lookup),
        T(test_refcounts),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
