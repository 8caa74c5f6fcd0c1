/*
 * fuzz_yaml.c - libFuzzer target for the manifest loader (src/yaml/): any byte string must
 * either load or fail with a "LINE:COL: message" error, never crash, leak or hang; every loaded
 * tree must serialise as JSON and every recorded path must resolve to a 1-based position.
 *
 * Not part of the default build: `fuzz/run.sh [SECONDS]` builds it with clang (libFuzzer,
 * ASan, UBSan) into build-fuzz/ and runs it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "knd_err.h"
#include "knd_yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walks the tree, asking for the position of every path and of a missing child of each node. */
static void knd_fuzz_walk(const knd_doc_t *doc, json_t *v, char *path, size_t len, size_t cap)
{
    int line = 0, col = 0;

    knd_doc_pos(doc, path, &line, &col);
    if (line < 1 || col < 1)
        abort();
    if (len + 16 < cap) {
        memcpy(path + len, ".missing", 9);
        knd_doc_pos(doc, path, &line, &col);
        if (line < 1 || col < 1)
            abort();
        path[len] = '\0';
    }
    if (json_is_object(v)) {
        const char *key;
        json_t *child;
        json_object_foreach(v, key, child) {
            size_t klen = strlen(key), n = len;
            if (n + klen + 2 >= cap)
                continue;
            if (n > 0)
                path[n++] = '.';
            memcpy(path + n, key, klen + 1);
            knd_fuzz_walk(doc, child, path, n + klen, cap);
            path[len] = '\0';
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            int n = snprintf(path + len, cap - len, "[%zu]", i);
            if (n < 0 || (size_t)n >= cap - len)
                break;
            knd_fuzz_walk(doc, json_array_get(v, i), path, len + (size_t)n, cap);
            path[len] = '\0';
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    knd_doc_t *docs = NULL;
    size_t n = 0;
    knd_err_t err;
    char path[4096];

    if (knd_yaml_load((const char *)data, size, "fuzz", &docs, &n, &err) != 0) {
        /* Every rejection names a position: "LINE:COL: ...", except out-of-memory. */
        if (err.code == KND_E_INVALID && strchr(err.msg, ':') == NULL)
            abort();
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char *s = json_dumps(docs[i].root, JSON_ENCODE_ANY);
        if (s == NULL)
            abort();
        free(s);
        path[0] = '\0';
        knd_fuzz_walk(&docs[i], docs[i].root, path, 0, sizeof(path));
    }
    knd_yaml_docs_free(docs, n);
    return 0;
}
