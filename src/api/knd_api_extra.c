/*
 * knd_api_extra.c - knd's own endpoints under /apis/knd.dev/v1: the local image table and the
 * instances' logs (`knd logs [-f]`), streamed from the per-instance log files.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "knd_alloc.h"
#include "knd_api_int.h"
#include "knd_json.h"
#include "knd_log.h"
#include "knd_time.h"

#define KND_FOLLOW_POLL_MS 200
#define KND_LOG_CHUNK 65536

/* ------------------------------------------------------------------ images */

void knd__api_images(knd_api_call_t *call, const char *ref)
{
    knd_store_t *store = call->api->deps.store;
    knd_http_req_t *req = call->req;
    knd_err_t err;
    int m = req->head.method;
    if (ref == NULL && m == HTTP_GET) {
        json_t *items = NULL;
        if (knd_store_image_list(store, &items, &err) < 0) {
            knd__api_error(req, &err, NULL, "knd.dev", "images");
            return;
        }
        json_t *out = json_pack("{s:s, s:s, s:o}", "apiVersion", "knd.dev/v1", "kind", "ImageList",
                                "items", items);
        knd__api_json(req, 200, out);
        json_decref(out);
        return;
    }
    if (ref == NULL && m == HTTP_POST) {
        json_error_t jerr;
        json_t *body = json_loadb(call->body.p ? call->body.p : "", call->body.len, 0, &jerr);
        const char *image = knd_json_str(body, "image", NULL);
        json_t *cmd = json_object_get(body, "command");
        if (image == NULL || !json_is_array(cmd)) {
            knd__api_status(req, 400, "BadRequest",
                            "expected {\"image\": REF, \"command\": [CMD, ARGS...]}", NULL, NULL,
                            NULL, NULL);
        } else if (knd_store_image_put(store, image, cmd, &err) < 0) {
            knd__api_error(req, &err, image, "knd.dev", "images");
        } else {
            knd__api_json(req, 201, body);
            knd_reconciler_kick(call->api->deps.rc); /* revisions waiting for it can start */
        }
        json_decref(body);
        return;
    }
    if (ref && m == HTTP_DELETE) {
        if (knd_store_image_delete(store, ref, &err) < 0) {
            knd__api_error(req, &err, ref, "knd.dev", "images");
            return;
        }
        knd__api_status(req, 200, "", "deleted", ref, "knd.dev", "images", NULL);
        return;
    }
    knd__api_status(req, 405, "MethodNotAllowed",
                    "the server does not allow this method on the requested resource", NULL, NULL,
                    NULL, NULL);
}

/* ------------------------------------------------------------------ stats (knd top) */

static void knd_api_stats_rev(const knd_rev_rt_t *r, void *data)
{
    json_t *arr = data;
    const knd_rev_t *rev = knd_rev_rt_rev(r);
    json_t *resp = json_object(), *bounds = json_array(), *counts = json_array();
    static const char *const classes[] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (int c = 0; c < 6; c++)
        if (rev->responses[c])
            json_object_set_new(resp, classes[c], json_integer((json_int_t)rev->responses[c]));
    for (int b = 0; b < KND_LATENCY_BUCKETS; b++)
        json_array_append_new(bounds, json_real(knd_latency_bounds_ms[b]));
    for (int b = 0; b <= KND_LATENCY_BUCKETS; b++)
        json_array_append_new(counts, json_integer((json_int_t)rev->latency_counts[b]));
    json_array_append_new(
        arr, json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:I, s:I, s:i, s:i, s:b, s:I, s:I, s:I,"
                       " s:{s:o, s:o, s:f}}",
                       "namespace", rev->ns, "service", rev->service, "configuration",
                       rev->configuration, "revision", rev->name, "requests_total",
                       (json_int_t)rev->requests_total, "responses", resp, "inflight",
                       (json_int_t)rev->inflight, "queued", (json_int_t)rev->queued, "ready",
                       knd_rev_rt_ready(r), "desired", knd_rev_rt_desired(r), "panic",
                       knd_rev_rt_panic(r), "cold_starts_total", (json_int_t)rev->cold_starts_total,
                       "queue_wait_ms_total", (json_int_t)rev->queue_wait_ms_total,
                       "rejected_total", (json_int_t)rev->rejected_total, "latency", "bounds_ms",
                       bounds, "counts", counts, "sum_ms", rev->latency_sum_ms));
}

void knd__api_stats(knd_api_call_t *call)
{
    json_t *revs = json_array();
    knd_runtime_each_rev(knd_reconciler_runtime(call->api->deps.rc), knd_api_stats_rev, revs);
    json_t *out = json_pack("{s:I, s:o}", "time_ms", (json_int_t)knd_time_mono_ms(), "revisions",
                            revs);
    knd__api_json(call->req, 200, out);
    json_decref(out);
}

/* ------------------------------------------------------------------ logs */

typedef struct {
    char *path, *prefix; /* prefix: "[rev/instance] " */
    off_t offset;
    knd_buf_t partial;   /* an unfinished last line, held until its newline */
    bool seen;           /* read once already (--tail applies to the first read only) */
} knd_log_file_t;

typedef struct knd_api_follow_s {
    struct knd_api_follow_s *next;
    knd_api_t *api;
    knd_api_call_t *call;
    knd_http_req_t *req;
    char *ns, *service;
    knd_log_file_t *files;
    size_t nfiles;
    uv_timer_t timer;
    bool follow;
    bool timestamps;     /* keep each line's stored arrival time */
    long tail;           /* only the last N lines of each instance; -1 = all */
    int64_t since_ms;    /* only lines that arrived at or after this (epoch ms); 0 = all */
    char *instance;      /* only this instance id, or NULL */
} knd_api_follow_t;

static bool knd_follow_has(const knd_api_follow_t *f, const char *path)
{
    for (size_t i = 0; i < f->nfiles; i++)
        if (strcmp(f->files[i].path, path) == 0)
            return true;
    return false;
}

/* Finds every instance log of the service's revisions not seen yet. */
static void knd_follow_scan(knd_api_follow_t *f)
{
    json_t *revs = NULL;
    knd_err_t err;
    if (knd_store_list(f->api->deps.store, "revisions", f->ns, &revs, &err) < 0)
        return;
    size_t i;
    json_t *rev;
    json_array_foreach(revs, i, rev)
    {
        json_t *labels = knd_json_path(rev, "metadata.labels");
        const char *svc = json_string_value(json_object_get(labels, "serving.knative.dev/service"));
        if (svc == NULL || strcmp(svc, f->service) != 0)
            continue;
        const char *rname = knd_json_str(rev, "metadata.name", "");
        char *dir = knd_xasprintf("%s/%s/%s", f->api->deps.log_dir, f->ns, rname);
        DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            size_t n = strlen(de->d_name);
            if (n < 5 || strcmp(de->d_name + n - 4, ".log") != 0)
                continue;
            if (f->instance && (strlen(f->instance) != n - 4 ||
                                strncmp(f->instance, de->d_name, n - 4) != 0))
                continue;
            char *path = knd_xasprintf("%s/%s", dir, de->d_name);
            if (knd_follow_has(f, path)) {
                free(path);
                continue;
            }
            f->files = knd_xrealloc(f->files, (f->nfiles + 1) * sizeof(*f->files));
            knd_log_file_t *lf = &f->files[f->nfiles++];
            memset(lf, 0, sizeof(*lf));
            lf->path = path;
            lf->prefix = knd_xasprintf("[%s/%.*s] ", rname, (int)(n - 4), de->d_name);
            knd_buf_init(&lf->partial);
        }
        if (d)
            closedir(d);
        free(dir);
    }
    json_decref(revs);
}

/* Sends what each file gained since the last look, line by line with its prefix. */
/* Splits a stored line "2026-01-02T03:04:05.678Z text" into its time (epoch ms, or -1 for a line
 * without one) and the text after it. */
static int64_t knd_log_line_time(const char *line, size_t n, size_t *skip)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    *skip = 0;
    if (n < 25 || line[4] != '-' || line[10] != 'T' || line[23] != 'Z' || line[24] != ' ')
        return -1;
    const char *end = strptime(line, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL || *end != '.')
        return -1;
    *skip = 25;
    return (int64_t)timegm(&tm) * 1000 + atoi(end + 1);
}

/* Appends one stored line to out, filtered and formatted for this follower. */
static void knd_follow_emit(knd_api_follow_t *f, const knd_log_file_t *lf, knd_buf_t *out,
                            const char *line, size_t n)
{
    size_t skip;
    int64_t t = knd_log_line_time(line, n, &skip);
    if (f->since_ms && t >= 0 && t < f->since_ms)
        return;
    knd_buf_puts(out, lf->prefix);
    if (f->timestamps)
        knd_buf_append(out, line, n);
    else
        knd_buf_append(out, line + skip, n - skip);
}

/* Sends what each file gained since the last look, line by line with its prefix. */
static void knd_follow_pump(knd_api_follow_t *f)
{
    char buf[KND_LOG_CHUNK];
    knd_buf_t out, lines;
    knd_buf_init(&out);
    knd_buf_init(&lines);
    for (size_t i = 0; i < f->nfiles; i++) {
        knd_log_file_t *lf = &f->files[i];
        int fd = open(lf->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        struct stat st;
        if (fstat(fd, &st) == 0 && st.st_size < lf->offset) {
            /* The supervisor rotated the log (<id>.log -> <id>.log.1): start the new file over. */
            lf->offset = 0;
            knd_buf_reset(&lf->partial);
        }
        /* Complete new lines first into `lines`, so --tail can keep only the last ones. */
        size_t count = 0;
        knd_buf_reset(&lines);
        ssize_t n;
        while ((n = pread(fd, buf, sizeof(buf), lf->offset)) > 0) {
            lf->offset += n;
            knd_buf_append(&lf->partial, buf, (size_t)n);
            char *start = lf->partial.p, *nl;
            while ((nl = memchr(start, '\n', lf->partial.len - (size_t)(start - lf->partial.p)))) {
                knd_buf_append(&lines, start, (size_t)(nl - start + 1));
                count++;
                start = nl + 1;
            }
            knd_buf_consume(&lf->partial, (size_t)(start - lf->partial.p));
        }
        close(fd);
        if (!f->follow && lf->partial.len) { /* a final unterminated line */
            knd_buf_append(&lines, lf->partial.p, lf->partial.len);
            knd_buf_puts(&lines, "\n");
            knd_buf_reset(&lf->partial);
            count++;
        }
        size_t drop = !lf->seen && f->tail >= 0 && count > (size_t)f->tail ? count - (size_t)f->tail : 0;
        lf->seen = true;
        for (const char *p = knd_buf_cstr(&lines), *e = p + lines.len; p < e;) {
            const char *nl = memchr(p, '\n', (size_t)(e - p));
            size_t len = (size_t)(nl - p + 1);
            if (drop)
                drop--;
            else
                knd_follow_emit(f, lf, &out, p, len);
            p += len;
        }
    }
    if (out.len)
        knd_http_resp_body(f->req, out.p, out.len);
    knd_buf_free(&out);
    knd_buf_free(&lines);
}

static void knd_follow_closed(uv_handle_t *h)
{
    knd_api_follow_t *f = h->data;
    for (size_t i = 0; i < f->nfiles; i++) {
        free(f->files[i].path);
        free(f->files[i].prefix);
        knd_buf_free(&f->files[i].partial);
    }
    free(f->files);
    free(f->ns);
    free(f->service);
    free(f->instance);
    free(f->call->path);
    free(f->call->query);
    knd_buf_free(&f->call->body);
    free(f->call);
    free(f);
}

/* Ends a follower: unlinks it, ends the response if the client is still there. */
static void knd_follow_end(knd_api_follow_t *f, bool client_gone)
{
    knd_api_follow_t **pp = &f->api->follows;
    while (*pp && *pp != f)
        pp = &(*pp)->next;
    if (*pp)
        *pp = f->next;
    uv_timer_stop(&f->timer);
    if (!client_gone) {
        f->req->on_abort = NULL;
        f->req->data = NULL;
        knd_http_resp_end(f->req);
    }
    uv_close((uv_handle_t *)&f->timer, knd_follow_closed);
}

static void knd_follow_tick(uv_timer_t *t)
{
    knd_api_follow_t *f = t->data;
    knd_follow_scan(f);
    knd_follow_pump(f);
}

static void knd_follow_abort(knd_http_req_t *req)
{
    knd_follow_end(req->data, true);
}

void knd__api_follow_close_all(knd_api_t *api)
{
    while (api->follows)
        knd_follow_end(api->follows, false);
}

void knd__api_logs(knd_api_call_t *call, const char *ns, const char *service)
{
    knd_http_req_t *req = call->req;
    if (req->head.method != HTTP_GET) {
        knd__api_status(req, 405, "MethodNotAllowed",
                        "the server does not allow this method on the requested resource", NULL,
                        NULL, NULL, NULL);
        return;
    }
    json_t *svc = NULL;
    knd_err_t err;
    if (knd_store_get(call->api->deps.store, "services", ns, service, &svc, &err) < 0) {
        knd__api_error(req, &err, service, "serving.knative.dev", "services");
        return;
    }
    json_decref(svc);
    knd_api_follow_t *f = knd_xcalloc(1, sizeof(*f));
    f->api = call->api;
    f->call = call;
    f->req = req;
    f->ns = knd_xstrdup(ns);
    f->service = knd_xstrdup(service);
    char *follow = knd__api_query(call, "follow");
    f->follow = follow && (strcmp(follow, "true") == 0 || strcmp(follow, "1") == 0 || !*follow);
    free(follow);
    char *ts = knd__api_query(call, "timestamps"), *tail = knd__api_query(call, "tailLines");
    char *since = knd__api_query(call, "sinceSeconds");
    f->timestamps = ts && (strcmp(ts, "true") == 0 || !*ts);
    f->tail = tail && *tail ? atol(tail) : -1;
    if (since && *since) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        f->since_ms = ((int64_t)now.tv_sec - atol(since)) * 1000;
    }
    f->instance = knd__api_query(call, "instance");
    free(ts);
    free(tail);
    free(since);
    uv_timer_init(call->api->deps.loop, &f->timer);
    f->timer.data = f;
    call->taken = true; /* freed with the follower */
    knd_http_resp_head(req, 200, "Content-Type: text/plain; charset=utf-8\r\n", -1);
    knd_follow_scan(f);
    knd_follow_pump(f);
    if (!f->follow) {
        req->data = NULL;
        knd_http_resp_end(req); /* may free req */
        f->req = NULL;
        uv_close((uv_handle_t *)&f->timer, knd_follow_closed);
        return;
    }
    req->data = f;
    req->on_abort = knd_follow_abort;
    f->next = call->api->follows;
    call->api->follows = f;
    uv_timer_start(&f->timer, knd_follow_tick, KND_FOLLOW_POLL_MS, KND_FOLLOW_POLL_MS);
}
