/*
 * knd_yaml.c - libyaml's event stream -> one jansson tree and one position map per document.
 *
 * A recursive descent over events: each node function receives the event that opened the node
 * (borrowed: the caller deletes it) and pulls the rest of the node's events itself. Recursion is
 * bounded by KND_YAML_MAX_DEPTH, checked when a collection opens, so hostile nesting costs at
 * most 64 frames. Anything that would make the tree differ from what the text shows (anchors,
 * aliases, merge keys, duplicate keys) is refused at its first event, which also makes alias
 * bombs fail in constant time.
 *
 * Ownership: the context owns the path buffer and the position map of the document under
 * construction; finished documents own their tree and map and are handed to the caller.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "knd_alloc.h"
#include "knd_buf.h"
#include "knd_err.h"
#include "knd_yaml_int.h"

typedef struct {
    yaml_parser_t parser;
    const char *data; /* borrowed input, for turning reader-error offsets into line:col */
    size_t len;
    knd_buf_t path;    /* field path of the node being built */
    knd_posmap_t *pos; /* owned; the current document's positions */
    knd_err_t *err;
    int depth; /* collections currently open */
} knd_yaml_ctx_t;

static int knd_yaml_node(knd_yaml_ctx_t *c, const yaml_event_t *ev, json_t **out);

/* ---- errors ---- */

static int knd_yaml_err_at(knd_yaml_ctx_t *c, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int knd_yaml_err_at(knd_yaml_ctx_t *c, yaml_mark_t m, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return knd_err_set(c->err, KND_E_INVALID, "%zu:%zu: %s", m.line + 1, m.column + 1, msg);
}

/*
 * libyaml's reader reports a byte offset, not a mark. Recount lines the way its scanner does
 * (LF, CRLF and lone CR are breaks; a column is a character, not a byte; the BOM is not one).
 */
static yaml_mark_t knd_yaml_offset_mark(const knd_yaml_ctx_t *c, size_t off)
{
    yaml_mark_t m = {0, 0, 0};
    size_t i = 0;

    if (c->len >= 3 && memcmp(c->data, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    if (off > c->len)
        off = c->len;
    for (; i < off; i++) {
        unsigned char ch = (unsigned char)c->data[i];
        if (ch == '\n' || (ch == '\r' && (i + 1 >= c->len || c->data[i + 1] != '\n'))) {
            m.line++;
            m.column = 0;
        } else if (ch != '\r' && (ch & 0xC0) != 0x80) {
            m.column++;
        }
    }
    m.index = off;
    return m;
}

static int knd_yaml_syntax_err(knd_yaml_ctx_t *c)
{
    const yaml_parser_t *p = &c->parser;
    const char *problem = p->problem ? p->problem : "invalid YAML";

    switch (p->error) {
    case YAML_MEMORY_ERROR:
        return knd_err_set(c->err, KND_E_INTERNAL, "out of memory parsing YAML");
    case YAML_READER_ERROR:
        if (p->problem_value != -1)
            return knd_yaml_err_at(c, knd_yaml_offset_mark(c, p->problem_offset),
                                   "%s (#%X)", problem, (unsigned)p->problem_value);
        return knd_yaml_err_at(c, knd_yaml_offset_mark(c, p->problem_offset), "%s", problem);
    default:
        if (p->context != NULL)
            return knd_yaml_err_at(c, p->problem_mark, "%s (%s started at %zu:%zu)", problem,
                                   p->context, p->context_mark.line + 1,
                                   p->context_mark.column + 1);
        return knd_yaml_err_at(c, p->problem_mark, "%s", problem);
    }
}

static int knd_yaml_next(knd_yaml_ctx_t *c, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&c->parser, ev))
        return knd_yaml_syntax_err(c);
    return 0;
}

/* ---- paths ---- */

static inline void knd_yaml_path_cut(knd_buf_t *b, size_t len)
{
    b->len = len;
    if (b->p != NULL)
        b->p[len] = '\0';
}

/* Records the current path at mark m (1-based in the map, as knd_doc_pos returns it). */
static void knd_yaml_path_mark(knd_yaml_ctx_t *c, yaml_mark_t m)
{
    knd__posmap_put(c->pos, knd_buf_cstr(&c->path), c->path.len, (int)m.line + 1,
                    (int)m.column + 1);
}

/* ---- scalars ---- */

static int knd_yaml_scalar(knd_yaml_ctx_t *c, const yaml_event_t *ev, json_t **out)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    knd_yaml_scalar_t v;
    char msg[256];

    if (knd__yaml_resolve((const char *)ev->data.scalar.tag, ev->data.scalar.plain_implicit, s,
                          len, &v, msg, sizeof(msg)) != 0)
        return knd_yaml_err_at(c, ev->start_mark, "%s", msg);
    switch (v.kind) {
    case KND_YAML_S_NULL:
        *out = json_null();
        break;
    case KND_YAML_S_BOOL:
        *out = json_boolean(v.b);
        break;
    case KND_YAML_S_INT:
        *out = json_integer(v.i);
        break;
    case KND_YAML_S_UINT:
        /* Above INT64_MAX: jansson integers are int64, so keep it as a (rounded) number. */
        *out = json_real((double)v.u);
        break;
    case KND_YAML_S_FLOAT:
        if (!isfinite(v.d))
            return knd_yaml_err_at(c, ev->start_mark, "%.*s cannot be represented in JSON",
                                   len > 20 ? 20 : (int)len, s);
        *out = json_real(v.d);
        break;
    default:
        *out = json_stringn(s, len);
        break;
    }
    if (*out == NULL)
        return knd_yaml_err_at(c, ev->start_mark, "invalid UTF-8 in string");
    return 0;
}

/*
 * Turns a key event into the JSON object key Kubernetes would produce: strings as they are,
 * resolved ints/floats/bools printed the way sigs.k8s.io/yaml prints them. Returns a new string.
 */
static int knd_yaml_key(knd_yaml_ctx_t *c, const yaml_event_t *ev, char **out)
{
    knd_yaml_scalar_t v;
    char msg[256], buf[64];

    if (ev->type == YAML_ALIAS_EVENT)
        return knd_yaml_err_at(c, ev->start_mark, "anchors and aliases are not supported");
    if (ev->type != YAML_SCALAR_EVENT)
        return knd_yaml_err_at(c, ev->start_mark, "mapping keys must be scalars");
    if (ev->data.scalar.anchor != NULL)
        return knd_yaml_err_at(c, ev->start_mark, "anchors and aliases are not supported");

    const char *s = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (knd__yaml_resolve((const char *)ev->data.scalar.tag, ev->data.scalar.plain_implicit, s,
                          len, &v, msg, sizeof(msg)) != 0)
        return knd_yaml_err_at(c, ev->start_mark, "%s", msg);
    switch (v.kind) {
    case KND_YAML_S_STR:
        if (memchr(s, '\0', len) != NULL)
            return knd_yaml_err_at(c, ev->start_mark, "keys containing NUL are not supported");
        *out = knd_xstrndup(s, len);
        return 0;
    case KND_YAML_S_MERGE:
        return knd_yaml_err_at(c, ev->start_mark, "merge keys (<<) are not supported");
    case KND_YAML_S_NULL:
        return knd_yaml_err_at(c, ev->start_mark, "null mapping keys are not supported");
    case KND_YAML_S_BOOL:
        *out = knd_xstrdup(v.b ? "true" : "false");
        return 0;
    case KND_YAML_S_INT:
        *out = knd_xasprintf("%lld", v.i);
        return 0;
    case KND_YAML_S_FLOAT:
        knd__yaml_float_key(v.d, buf, sizeof(buf));
        *out = knd_xstrdup(buf);
        return 0;
    default:
        return knd_yaml_err_at(c, ev->start_mark, "unsupported mapping key \"%.*s\"",
                               len > 100 ? 100 : (int)len, s);
    }
}

/* ---- collections ---- */

static int knd_yaml_open(knd_yaml_ctx_t *c, const yaml_event_t *ev, const char *want)
{
    const char *tag = ev->type == YAML_MAPPING_START_EVENT
                          ? (const char *)ev->data.mapping_start.tag
                          : (const char *)ev->data.sequence_start.tag;

    if (tag != NULL && strcmp(tag, want) != 0 && strcmp(tag, "!") != 0)
        return knd_yaml_err_at(c, ev->start_mark, "unsupported tag \"%.100s\"", tag);
    if (c->depth >= KND_YAML_MAX_DEPTH)
        return knd_yaml_err_at(c, ev->start_mark, "nesting deeper than %d levels",
                               KND_YAML_MAX_DEPTH);
    c->depth++;
    return 0;
}

/* One key: value pair; kev is the key's event (borrowed). */
static int knd_yaml_pair(knd_yaml_ctx_t *c, json_t *obj, const yaml_event_t *kev)
{
    yaml_event_t vev;
    int have_v = 0, rc = -1;
    char *key = NULL;
    json_t *val = NULL;
    size_t base = c->path.len;

    if (knd_yaml_key(c, kev, &key) != 0)
        goto out;
    if (json_object_get(obj, key) != NULL) {
        knd_yaml_err_at(c, kev->start_mark, "duplicate key \"%.200s\"", key);
        goto out;
    }
    if (base > 0)
        knd_buf_append(&c->path, ".", 1);
    knd_buf_puts(&c->path, key);
    /* A value is located at its key: that is the line a user edits for "spec.foo: bad". */
    knd_yaml_path_mark(c, kev->start_mark);

    if (knd_yaml_next(c, &vev) != 0)
        goto out;
    have_v = 1;
    if (knd_yaml_node(c, &vev, &val) != 0)
        goto out;
    if (json_object_set_new(obj, key, val) != 0) {
        knd_yaml_err_at(c, kev->start_mark, "invalid mapping key");
        goto out;
    }
    rc = 0;
out:
    if (have_v)
        yaml_event_delete(&vev);
    knd_yaml_path_cut(&c->path, base);
    free(key);
    return rc;
}

static int knd_yaml_mapping(knd_yaml_ctx_t *c, const yaml_event_t *start, json_t **out)
{
    json_t *obj = NULL;
    yaml_event_t kev;
    int rc = -1;

    if (knd_yaml_open(c, start, YAML_MAP_TAG) != 0)
        return -1;
    obj = json_object();
    for (;;) {
        if (knd_yaml_next(c, &kev) != 0)
            goto out;
        if (kev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&kev);
            break;
        }
        int prc = knd_yaml_pair(c, obj, &kev);
        yaml_event_delete(&kev);
        if (prc != 0)
            goto out;
    }
    *out = obj;
    obj = NULL;
    rc = 0;
out:
    json_decref(obj);
    c->depth--;
    return rc;
}

static int knd_yaml_sequence(knd_yaml_ctx_t *c, const yaml_event_t *start, json_t **out)
{
    json_t *arr = NULL, *item = NULL;
    yaml_event_t ev;
    int have_ev = 0, rc = -1;
    size_t base = c->path.len;

    if (knd_yaml_open(c, start, YAML_SEQ_TAG) != 0)
        return -1;
    arr = json_array();
    for (;;) {
        if (knd_yaml_next(c, &ev) != 0)
            goto out;
        have_ev = 1;
        if (ev.type == YAML_SEQUENCE_END_EVENT)
            break;
        knd_buf_printf(&c->path, "[%zu]", json_array_size(arr));
        knd_yaml_path_mark(c, ev.start_mark);
        if (knd_yaml_node(c, &ev, &item) != 0)
            goto out;
        json_array_append_new(arr, item);
        item = NULL;
        knd_yaml_path_cut(&c->path, base);
        yaml_event_delete(&ev);
        have_ev = 0;
    }
    *out = arr;
    arr = NULL;
    rc = 0;
out:
    if (have_ev)
        yaml_event_delete(&ev);
    knd_yaml_path_cut(&c->path, base);
    json_decref(arr);
    c->depth--;
    return rc;
}

static int knd_yaml_node(knd_yaml_ctx_t *c, const yaml_event_t *ev, json_t **out)
{
    const yaml_char_t *anchor = NULL;

    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        break;
    case YAML_ALIAS_EVENT:
        return knd_yaml_err_at(c, ev->start_mark, "anchors and aliases are not supported");
    default:
        return knd_yaml_err_at(c, ev->start_mark, "unexpected YAML event");
    }
    if (anchor != NULL)
        return knd_yaml_err_at(c, ev->start_mark, "anchors and aliases are not supported");
    if (ev->type == YAML_SCALAR_EVENT)
        return knd_yaml_scalar(c, ev, out);
    if (ev->type == YAML_SEQUENCE_START_EVENT)
        return knd_yaml_sequence(c, ev, out);
    return knd_yaml_mapping(c, ev, out);
}

/* ---- documents ---- */

/* Parses one document after its DOCUMENT-START event. *root is NULL for an empty document. */
static int knd_yaml_document(knd_yaml_ctx_t *c, json_t **root)
{
    yaml_event_t ev;
    json_t *val = NULL;

    *root = NULL;
    if (knd_yaml_next(c, &ev) != 0)
        return -1;
    knd_buf_reset(&c->path);
    c->depth = 0;
    knd_yaml_path_mark(c, ev.start_mark);
    int rc = knd_yaml_node(c, &ev, &val);
    yaml_event_delete(&ev);
    if (rc != 0)
        return -1;
    if (knd_yaml_next(c, &ev) != 0) {
        json_decref(val);
        return -1;
    }
    yaml_event_delete(&ev); /* DOCUMENT-END: the parser guarantees it comes next */
    if (json_is_null(val)) {
        json_decref(val);
        val = NULL;
    }
    *root = val;
    return 0;
}

void knd_yaml_docs_free(knd_doc_t *docs, size_t ndocs)
{
    if (docs == NULL)
        return;
    for (size_t i = 0; i < ndocs; i++) {
        json_decref(docs[i].root);
        knd__posmap_free(docs[i].pos);
    }
    free(docs);
}

int knd_yaml_load(const char *data, size_t len, const char *filename, knd_doc_t **docs,
                  size_t *ndocs, knd_err_t *err)
{
    knd_yaml_ctx_t c;
    knd_doc_t *v = NULL;
    size_t n = 0, cap = 0;
    yaml_event_t ev;
    int rc = -1;

    (void)filename; /* the caller prefixes messages with it */
    *docs = NULL;
    *ndocs = 0;
    memset(&c, 0, sizeof(c));
    c.data = data;
    c.len = len;
    c.err = err;
    knd_buf_init(&c.path);
    if (!yaml_parser_initialize(&c.parser))
        return knd_err_set(err, KND_E_INTERNAL, "out of memory parsing YAML");
    yaml_parser_set_input_string(&c.parser, (const unsigned char *)(data ? data : ""), len);

    for (;;) {
        if (knd_yaml_next(&c, &ev) != 0)
            goto out;
        yaml_event_type_t type = ev.type;
        yaml_mark_t start = ev.start_mark;
        yaml_event_delete(&ev);
        if (type == YAML_STREAM_END_EVENT)
            break;
        if (type != YAML_DOCUMENT_START_EVENT)
            continue; /* STREAM-START */

        json_t *root = NULL;
        c.pos = knd__posmap_new();
        if (knd_yaml_document(&c, &root) != 0)
            goto out;
        if (root == NULL) {
            knd__posmap_free(c.pos);
            c.pos = NULL;
            continue;
        }
        if (n == KND_YAML_MAX_DOCS) {
            json_decref(root);
            knd_yaml_err_at(&c, start, "more than %d documents", KND_YAML_MAX_DOCS);
            goto out;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 4;
            v = knd_xrealloc(v, cap * sizeof(*v));
        }
        v[n].root = root;
        v[n].pos = c.pos;
        v[n].line = (int)start.line + 1;
        c.pos = NULL;
        n++;
    }
    *docs = v;
    *ndocs = n;
    v = NULL;
    rc = 0;
out:
    knd_yaml_docs_free(v, n);
    knd__posmap_free(c.pos);
    knd_buf_free(&c.path);
    yaml_parser_delete(&c.parser);
    return rc;
}

/* ---- files ---- */

int knd_yaml_load_file(const char *path, knd_doc_t **docs, size_t *ndocs, knd_err_t *err)
{
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    knd_buf_t b;
    int rc = -1;

    *docs = NULL;
    *ndocs = 0;
    knd_buf_init(&b);
    if (f == NULL) {
        int e = errno;
        knd_err_set(err, KND_E_INVALID, "open %s: %s", path, strerror(e));
        if (err != NULL)
            err->errno_ = e;
        return -1;
    }
    for (;;) {
        knd_buf_reserve(&b, 65536);
        size_t got = fread(b.p + b.len, 1, b.cap - b.len - 1, f);
        b.len += got;
        b.p[b.len] = '\0';
        if (b.len > KND_YAML_MAX_FILE_SIZE) {
            knd_err_set(err, KND_E_INVALID, "%s is larger than %u MiB", is_stdin ? "input" : path,
                        KND_YAML_MAX_FILE_SIZE >> 20);
            goto out;
        }
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        int e = errno;
        knd_err_set(err, KND_E_INVALID, "read %s: %s", path, strerror(e));
        if (err != NULL)
            err->errno_ = e;
        goto out;
    }
    rc = knd_yaml_load(b.p, b.len, path, docs, ndocs, err);
out:
    if (!is_stdin)
        fclose(f);
    knd_buf_free(&b);
    return rc;
}
