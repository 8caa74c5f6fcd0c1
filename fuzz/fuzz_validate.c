/*
 * fuzz_validate.c - libFuzzer target for the object model (src/model/): any JSON document must
 * be validated without a crash, leak or hang, and an object that validates must keep the
 * invariants the API relies on:
 *   - Knative's defaulting (knd_model_default) leaves a valid object valid;
 *   - defaulting is idempotent (the daemon defaults again on every update);
 *   - an update from the object to its defaulted self passes the update checks;
 *   - a ConfigMap is parsed as the platform's configuration without a crash.
 * A broken invariant aborts, so libFuzzer keeps the input.
 *
 * Not part of the default build: `fuzz/run.sh [SECONDS]` builds it with clang (libFuzzer,
 * ASan, UBSan) into build-fuzz/ and runs it.
 *
 * Its seeds are the examples/ and tests/fixtures/ manifests as JSON (fuzz/make_seeds.py):
 * the fuzzer starts from real Services, Routes, DomainMappings and ConfigMaps.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "knd_model.h"
#include "knd_platform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void knd_fuzz_fail(const char *what, const json_t *obj, knd_errlist_t *errs)
{
    char *text = json_dumps(obj, JSON_SORT_KEYS | JSON_COMPACT);
    fprintf(stderr, "invariant broken: %s\nobject: %s\n", what, text ? text : "?");
    for (size_t i = 0; errs && i < errs->n; i++)
        fprintf(stderr, "  %s: %s\n", errs->v[i].path, errs->v[i].msg);
    free(text);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *obj = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return 0;
    }
    knd_platform_t p;
    knd_platform_init(&p, NULL);
    knd_errlist_t errs;
    knd_errlist_init(&errs);

    if (knd_model_validate(obj, &p, &errs) == 0) {
        json_t *once = json_deep_copy(obj);
        knd_model_default(once, &p);
        if (knd_model_validate(once, &p, &errs) != 0)
            knd_fuzz_fail("the defaulted object does not validate", once, &errs);
        json_t *twice = json_deep_copy(once);
        knd_model_default(twice, &p);
        if (!json_equal(once, twice))
            knd_fuzz_fail("defaulting twice differs from once", twice, NULL);
        if (knd_model_validate_update(obj, once, &p, &errs) != 0)
            knd_fuzz_fail("the update to the defaulted object is refused", once, &errs);
        json_decref(twice);
        json_decref(once);

        knd_platform_t cm;
        knd_platform_init(&cm, NULL);
        knd_platform_apply_configmap(&cm, obj, &errs);
        knd_platform_free(&cm);
    }

    knd_errlist_free(&errs);
    knd_platform_free(&p);
    json_decref(obj);
    return 0;
}
