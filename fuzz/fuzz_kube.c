/*
 * fuzz_kube.c - libFuzzer target for what the Kubernetes API takes from clients (src/kube/): the
 * protobuf request bodies kubectl sends, label and field selectors, and the three patch kinds.
 * The first input byte picks the parser, the rest is its input; every input must be accepted or
 * refused with an error, never crash, leak or hang. Invariants checked on the way:
 *   - a decoded protobuf body is a JSON object;
 *   - a merge patch computed by knd_kube_merge_diff(a, b) turns a into b.
 *
 * Not part of the default build: `fuzz/run.sh [SECONDS]` builds it with clang (libFuzzer,
 * ASan, UBSan) into build-fuzz/ and runs it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_kube_patch.h"
#include "knd_kube_proto.h"
#include "knd_kube_select.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What selectors are matched against and patches applied to: a Service as the store holds it. */
static const char knd_fuzz_doc[] =
    "{\"apiVersion\":\"serving.knative.dev/v1\",\"kind\":\"Service\","
    "\"metadata\":{\"name\":\"hello\",\"namespace\":\"default\",\"labels\":{\"app\":\"hello\","
    "\"tier\":\"web\"},\"annotations\":{\"a\":\"b\"},\"resourceVersion\":\"7\"},"
    "\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"image\":\"x\",\"env\":[{\"name\":"
    "\"A\",\"value\":\"1\"}]}]}},\"traffic\":[{\"latestRevision\":true,\"percent\":100}]},"
    "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}";

static void knd_fuzz_selector(const char *s, int field)
{
    knd_err_t err;
    json_t *doc = json_loads(knd_fuzz_doc, 0, NULL);
    knd_kube_selector_t *sel = field ? knd_kube_field_selector_parse(s, &err)
                                     : knd_kube_label_selector_parse(s, &err);
    if (sel != NULL) {
        (void)knd_kube_selector_match(sel, doc);
        (void)knd_kube_selector_equals(sel, "metadata.name");
        knd_kube_selector_free(sel);
    }
    json_decref(doc);
}

static void knd_fuzz_patch(const char *s, size_t n, int kind)
{
    json_t *patch = json_loadb(s, n, 0, NULL);
    if (patch == NULL)
        return;
    json_t *doc = json_loads(knd_fuzz_doc, 0, NULL), *out = NULL;
    knd_err_t err;
    if (kind == 0) {
        if (knd_kube_json_patch(doc, patch, &out, &err) < 0)
            out = NULL;
    } else if (kind == 1) {
        out = knd_kube_merge_patch(doc, patch);
    } else {
        json_t *merge = knd_kube_strategic_to_merge(patch);
        if (merge != NULL)
            out = knd_kube_merge_patch(doc, merge);
        json_decref(merge);
    }
    if (json_is_object(out)) {
        /* the diff back to the original must undo the patch */
        json_t *back = knd_kube_merge_diff(out, doc);
        json_t *again = back ? knd_kube_merge_patch(out, back) : NULL;
        if (back != NULL && !json_equal(again, doc)) {
            char *a = json_dumps(out, JSON_SORT_KEYS), *b = json_dumps(back, JSON_SORT_KEYS);
            fprintf(stderr, "merge_diff does not undo the patch\nfrom: %s\ndiff: %s\n", a, b);
            abort();
        }
        json_decref(again);
        json_decref(back);
    }
    json_decref(out);
    json_decref(doc);
    json_decref(patch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    char *s = malloc(n + 1); /* selectors are C strings */
    memcpy(s, in, n);
    s[n] = '\0';
    switch (data[0] % 6) {
    case 0: {
        json_t *out = NULL;
        knd_err_t err;
        if (knd_kube_proto_decode(in, n, &out, &err) == 0 && !json_is_object(out))
            abort();
        json_decref(out);
        break;
    }
    case 1:
    case 2:
        knd_fuzz_selector(s, data[0] % 6 == 2);
        break;
    default:
        knd_fuzz_patch(in, n, data[0] % 6 - 3);
        break;
    }
    free(s);
    return 0;
}
