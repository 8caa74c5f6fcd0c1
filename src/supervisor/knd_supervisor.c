/*
 * knd_supervisor.c - instances of revisions as local processes (see knd_supervisor.h).
 *
 * Ownership: the supervisor owns its instances (a doubly linked list) and each instance owns its
 * libuv handles (process, two pipes, kill timer, one timer per prober), its log fd and its pid
 * file. An instance leaves the list when it reports STOPPED and is freed in the last close
 * callback of its handles, so nothing of it outlives the loop iteration after the callback. Probe
 * scheduling lives in knd_probe.c; probe attempts own themselves (knd_readiness_int.h).
 *
 * Logs are bounded: when a write would take <id>.log past its cap, the file is renamed to
 * <id>.log.1 (replacing the previous generation) and a fresh <id>.log is opened, so readers that
 * reopen the path by name keep following the newest output.
 *
 * Every instance leads its own session and process group (UV_PROCESS_DETACHED), so a signal to
 * -pid reaches whatever the instance forked, the way a container's processes share its fate.
 */
#include "knd_supervisor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "knd_alloc.h"
#include "knd_log.h"
#include "knd_supervisor_int.h"

#define KND_SV_DRAIN_MS 1000 /* after exit, how long escaped descendants may hold the pipes */
#define KND_SV_ID_CHARS "bcdfghjklmnpqrstvwxz2456789" /* Kubernetes' name-suffix alphabet */

struct knd_supervisor_s {
    uv_loop_t *loop;
    char *log_dir, *run_dir; /* owned */
    knd_instance_t *instances; /* of knd_instance_t.next */
    size_t n_instances;
    int shutting_down;
    void (*done)(void *data);
    void *done_data;
    uv_timer_t done_timer; /* defers done() out of the caller's stack */
};

/* ---- small file helpers ---------------------------------------------------------------- */

static int knd_supervisor_mkdir_p(const char *path)
{
    char *p = knd_xstrdup(path);
    int rc = 0;

    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0700) == -1 && errno != EEXIST) {
            rc = -errno;
            goto out;
        }
        *s = c;
        if (c == '\0')
            break;
    }
out:
    free(p);
    return rc;
}

/** Field 22 of /proc/<pid>/stat: the start time in clock ticks since boot. */
static int knd_supervisor_read_starttime(int pid, unsigned long long *out)
{
    char path[64], buf[2048];
    ssize_t n;
    int fd, field = 2;
    char *p;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* the command name (field 2) may hold spaces and parentheses: count from its last ')' */
    p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    while (*p != '\0' && field < 22) {
        if (*p++ == ' ')
            field++;
    }
    if (field != 22 || sscanf(p, "%llu", out) != 1)
        return -1;
    return 0;
}

/** A free loopback port: the kernel picks it, we release it for the instance to bind. */
static int knd_supervisor_free_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
    socklen_t len = sizeof(sa);
    int fd, rc;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -errno;
    rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    if (rc == 0)
        rc = getsockname(fd, (struct sockaddr *)&sa, &len);
    rc = rc == 0 ? ntohs(sa.sin_port) : -errno;
    close(fd);
    return rc;
}

/* ---- orphans --------------------------------------------------------------------------- */

static void knd_supervisor_kill_orphan(const char *path)
{
    unsigned long long recorded, now;
    int pid = 0;
    FILE *f = fopen(path, "re");

    if (f == NULL)
        return;
    if (fscanf(f, "%d %llu", &pid, &recorded) == 2 && pid > 1 &&
        knd_supervisor_read_starttime(pid, &now) == 0 && now == recorded) {
        knd_log(KND_LOG_NOTICE, "supervisor", "killing orphaned instance group pid=%d", pid);
        if (kill(-pid, SIGKILL) == -1)
            kill(pid, SIGKILL);
    }
    fclose(f);
    unlink(path);
}

static void knd_supervisor_kill_orphans(const char *run_dir)
{
    DIR *d = opendir(run_dir);
    struct dirent *de;

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n <= 4 || strcmp(de->d_name + n - 4, ".pid") != 0)
            continue;
        char *path = knd_xasprintf("%s/%s", run_dir, de->d_name);
        knd_supervisor_kill_orphan(path);
        free(path);
    }
    closedir(d);
}

/* ---- supervisor ------------------------------------------------------------------------ */

int knd_supervisor_new(uv_loop_t *loop, const char *log_dir, const char *run_dir,
                       knd_supervisor_t **out, knd_err_t *err)
{
    knd_supervisor_t *sv;
    int rc;

    *out = NULL;
    if ((rc = knd_supervisor_mkdir_p(log_dir)) < 0 || (rc = knd_supervisor_mkdir_p(run_dir)) < 0) {
        knd_err_set(err, KND_E_INTERNAL, "creating supervisor directories %s, %s: %s", log_dir,
                    run_dir, strerror(-rc));
        if (err)
            err->errno_ = -rc;
        return -1;
    }
    knd_supervisor_kill_orphans(run_dir);
    sv = knd_xcalloc(1, sizeof(*sv));
    sv->loop = loop;
    sv->log_dir = knd_xstrdup(log_dir);
    sv->run_dir = knd_xstrdup(run_dir);
    uv_timer_init(loop, &sv->done_timer);
    sv->done_timer.data = sv;
    *out = sv;
    return 0;
}

static void knd_supervisor_on_done_timer(uv_timer_t *t)
{
    knd_supervisor_t *sv = t->data;
    void (*done)(void *) = sv->done;

    sv->done = NULL;
    if (done)
        done(sv->done_data);
}

static void knd_supervisor_check_done(knd_supervisor_t *sv)
{
    if (sv->shutting_down && sv->n_instances == 0 && sv->done)
        uv_timer_start(&sv->done_timer, knd_supervisor_on_done_timer, 0, 0);
}

void knd_supervisor_shutdown(knd_supervisor_t *sv, void (*done)(void *data), void *data)
{
    knd_instance_t *inst, *next;

    sv->shutting_down = 1;
    sv->done = done;
    sv->done_data = data;
    for (inst = sv->instances; inst != NULL; inst = next) {
        next = inst->next;
        knd_instance_stop(inst);
    }
    knd_supervisor_check_done(sv);
}

static void knd_supervisor_on_close(uv_handle_t *h)
{
    knd_supervisor_t *sv = h->data;

    free(sv->log_dir);
    free(sv->run_dir);
    free(sv);
}

void knd_supervisor_free(knd_supervisor_t *sv)
{
    if (sv == NULL)
        return;
    KND_ASSERT(sv->n_instances == 0);
    uv_close((uv_handle_t *)&sv->done_timer, knd_supervisor_on_close);
}

/**
 * The instance's environment: spec->env without any PORT, then PORT=<port>. Without a PATH of
 * its own the instance gets the daemon's, which is also where argv[0] is looked up.
 */
static char **knd_supervisor_build_env(const knd_instance_spec_t *spec, int port)
{
    size_t n = 0, k = 0;
    int has_path = 0;
    const char *path = getenv("PATH");
    char **env;

    for (; spec->env && spec->env[n]; n++)
        has_path |= strncmp(spec->env[n], "PATH=", 5) == 0;
    env = knd_xcalloc(n + 3, sizeof(*env));
    for (size_t i = 0; i < n; i++) {
        if (strncmp(spec->env[i], "PORT=", 5) != 0)
            env[k++] = knd_xstrdup(spec->env[i]);
    }
    env[k++] = knd_xasprintf("PORT=%d", port);
    if (!has_path && path)
        env[k++] = knd_xasprintf("PATH=%s", path);
    env[k] = NULL;
    return env;
}

static void knd_supervisor_free_env(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

/* ---- instance output ------------------------------------------------------------------- */

static void knd_instance_tail_append(knd_instance_t *inst, const char *p, size_t n)
{
    if (n > KND_SV_TAIL_MAX) {
        p += n - KND_SV_TAIL_MAX;
        n = KND_SV_TAIL_MAX;
    }
    while (n > 0) {
        size_t chunk = KND_SV_TAIL_MAX - inst->tail_end;
        if (chunk > n)
            chunk = n;
        memcpy(inst->tail + inst->tail_end, p, chunk);
        inst->tail_end = (inst->tail_end + chunk) % KND_SV_TAIL_MAX;
        inst->tail_len += chunk;
        p += chunk;
        n -= chunk;
    }
    if (inst->tail_len > KND_SV_TAIL_MAX)
        inst->tail_len = KND_SV_TAIL_MAX;
}

/**
 * Starts a new log generation: <id>.log becomes <id>.log.1 (the older one is dropped). On failure
 * the current file stays open and keeps growing: output is never lost for want of a rename.
 */
static void knd_instance_log_rotate(knd_instance_t *inst)
{
    char *old = knd_xasprintf("%s.1", inst->log_path);
    int fd;

    if (rename(inst->log_path, old) == -1) {
        knd_log(KND_LOG_WARN, "supervisor", "instance=%s: rotating %s: %s", inst->id,
                inst->log_path, strerror(errno));
        inst->log_size = 0; /* try again a generation later, not on every line */
        goto out;
    }
    fd = open(inst->log_path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd == -1) {
        knd_log(KND_LOG_WARN, "supervisor", "instance=%s: opening %s: %s", inst->id,
                inst->log_path, strerror(errno));
        goto out;
    }
    close(inst->log_fd);
    inst->log_fd = fd;
    inst->log_size = 0;
out:
    free(old);
}

/** Writes the stream's buffered line (complete, or cut at the limit or at EOF) to the log. */
static void knd_instance_stream_flush(knd_instance_stream_t *st)
{
    knd_instance_t *inst = st->inst;
    size_t off = 0;

    if (st->len == 0)
        return;
    /* Each line on disk starts with its arrival time (RFC 3339, ms) and a space, as container
     * runtimes store logs: `knd logs --since/--timestamps` read it, plain `knd logs` strips it. */
    char stamp[40];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t sl = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    sl += (size_t)snprintf(stamp + sl, sizeof(stamp) - sl, ".%03ldZ ", ts.tv_nsec / 1000000);
    if (inst->log_fd != -1 && inst->log_size > 0 &&
        inst->log_size + sl + st->len > inst->log_max)
        knd_instance_log_rotate(inst);
    if (st->mid_line)
        sl = 0; /* the rest of a long line: its time was written with its start */
    if (sl && inst->log_fd != -1 && write(inst->log_fd, stamp, sl) == (ssize_t)sl)
        inst->log_size += sl;
    st->mid_line = st->line[st->len - 1] != '\n';
    while (inst->log_fd != -1 && off < st->len) {
        ssize_t w = write(inst->log_fd, st->line + off, st->len - off);
        if (w == -1 && errno == EINTR)
            continue;
        if (w <= 0) {
            knd_log(KND_LOG_WARN, "supervisor", "instance=%s: writing %s: %s", inst->id,
                    inst->log_path, strerror(errno));
            break;
        }
        off += (size_t)w;
        inst->log_size += (size_t)w;
    }
    knd_instance_tail_append(inst, st->line, st->len);
    st->len = 0;
}

static void knd_instance_stream_capture(knd_instance_stream_t *st, const char *p, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) + 1 : n;
        if (take > KND_SV_LINE_MAX - st->len)
            take = KND_SV_LINE_MAX - st->len;
        memcpy(st->line + st->len, p, take);
        st->len += take;
        p += take;
        n -= take;
        if (st->line[st->len - 1] == '\n' || st->len == KND_SV_LINE_MAX)
            knd_instance_stream_flush(st);
    }
}

/* ---- instance lifetime ----------------------------------------------------------------- */

static void knd_instance_on_close(uv_handle_t *h)
{
    /* the pipes point at their stream, the other handles at the instance */
    knd_instance_t *inst =
        h->type == UV_NAMED_PIPE ? ((knd_instance_stream_t *)h->data)->inst : h->data;

    if (--inst->open_handles > 0)
        return;
    knd__probe_free(inst);
    knd_supervisor_free_env(inst->env);
    free(inst->id);
    free(inst->log_path);
    free(inst->pid_path);
    free(inst->cwd);
    free(inst->stop_reason);
    free(inst);
}

static void knd_instance_on_prober_close(uv_handle_t *h)
{
    knd_prober_t *p = h->data;

    h->data = p->inst;
    knd_instance_on_close(h);
}

/** Closes every handle; the instance is freed once they are all closed. */
static void knd_instance_close(knd_instance_t *inst)
{
    inst->open_handles = 4 + KND_PROBER_COUNT;
    uv_close((uv_handle_t *)&inst->proc, knd_instance_on_close);
    uv_close((uv_handle_t *)&inst->out.pipe, knd_instance_on_close);
    uv_close((uv_handle_t *)&inst->err.pipe, knd_instance_on_close);
    uv_close((uv_handle_t *)&inst->kill_timer, knd_instance_on_close);
    knd__probe_close(inst, knd_instance_on_prober_close);
}

void knd__instance_set_state(knd_instance_t *inst, knd_instance_state_t state)
{
    if (inst->state == state)
        return;
    inst->state = state;
    if (inst->cb)
        inst->cb(inst, state, inst->data);
}

/** The process has exited and its output is drained (or abandoned): report STOPPED and free. */
static void knd_instance_finish(knd_instance_t *inst)
{
    knd_supervisor_t *sv = inst->sv;

    if (inst->finished)
        return;
    inst->finished = 1;
    uv_timer_stop(&inst->kill_timer);
    knd__probe_stop(inst);
    uv_read_stop((uv_stream_t *)&inst->out.pipe);
    uv_read_stop((uv_stream_t *)&inst->err.pipe);
    knd_instance_stream_flush(&inst->out);
    knd_instance_stream_flush(&inst->err);
    if (inst->log_fd != -1)
        close(inst->log_fd);
    inst->log_fd = -1;
    unlink(inst->pid_path);
    if (inst->prev)
        inst->prev->next = inst->next;
    else
        sv->instances = inst->next;
    if (inst->next)
        inst->next->prev = inst->prev;
    sv->n_instances--;
    knd_log(KND_LOG_INFO, "supervisor", "instance=%s pid=%d exited: status %d signal %d",
            inst->id, inst->pid, inst->exit_status, inst->term_signal);
    knd__instance_set_state(inst, KND_INSTANCE_STOPPED);
    knd_instance_close(inst);
    knd_supervisor_check_done(sv);
}

static void knd_instance_on_drain_timeout(uv_timer_t *t)
{
    knd_instance_finish(t->data);
}

static void knd_instance_on_exit(uv_process_t *proc, int64_t status, int term_signal)
{
    knd_instance_t *inst = proc->data;

    inst->exited = 1;
    inst->term_signal = term_signal;
    inst->exit_status = term_signal ? -1 : (int)status;
    /* the container is gone once its main process is: take whatever it left behind with it */
    kill(-inst->pid, SIGKILL);
    knd__probe_stop(inst);
    uv_timer_stop(&inst->kill_timer);
    if (inst->out.eof && inst->err.eof)
        knd_instance_finish(inst);
    else
        uv_timer_start(&inst->kill_timer, knd_instance_on_drain_timeout, KND_SV_DRAIN_MS, 0);
}

static void knd_instance_on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    knd_instance_stream_t *st = h->data;

    *buf = uv_buf_init(st->inst->rbuf, sizeof(st->inst->rbuf));
}

static void knd_instance_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    knd_instance_stream_t *st = s->data;
    knd_instance_t *inst = st->inst;

    if (nread > 0) {
        knd_instance_stream_capture(st, buf->base, (size_t)nread);
        return;
    }
    if (nread == 0)
        return;
    knd_instance_stream_flush(st);
    uv_read_stop(s);
    st->eof = 1;
    if (inst->exited && inst->out.eof && inst->err.eof)
        knd_instance_finish(inst);
}

/* ---- stop ------------------------------------------------------------------------------ */

static void knd_instance_on_grace_timeout(uv_timer_t *t)
{
    knd_instance_t *inst = t->data;

    if (inst->exited)
        return;
    knd_log(KND_LOG_NOTICE, "supervisor", "instance=%s pid=%d: grace period over, SIGKILL",
            inst->id, inst->pid);
    if (kill(-inst->pid, SIGKILL) == -1)
        kill(inst->pid, SIGKILL);
}

void knd_instance_stop(knd_instance_t *inst)
{
    if (inst->exited || inst->state == KND_INSTANCE_STOPPING || inst->state == KND_INSTANCE_STOPPED)
        return;
    knd__probe_stop(inst);
    if (kill(-inst->pid, SIGTERM) == -1)
        kill(inst->pid, SIGTERM);
    uv_timer_start(&inst->kill_timer, knd_instance_on_grace_timeout,
                   (uint64_t)(inst->grace_ms > 0 ? inst->grace_ms : 0), 0);
    knd__instance_set_state(inst, KND_INSTANCE_STOPPING);
}

void knd__instance_probe_kill(knd_instance_t *inst, const char *reason)
{
    if (inst->exited || inst->state == KND_INSTANCE_STOPPING || inst->state == KND_INSTANCE_STOPPED)
        return;
    free(inst->stop_reason);
    inst->stop_reason = knd_xstrdup(reason);
    knd_log(KND_LOG_NOTICE, "supervisor", "instance=%s pid=%d: %s, stopping", inst->id, inst->pid,
            reason);
    knd_instance_stop(inst);
}

/* ---- spawn ----------------------------------------------------------------------------- */

/** A path component must not climb out of log_dir. */
static int knd_supervisor_name_ok(const char *s)
{
    return s && *s && strchr(s, '/') == NULL && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/** What uv_spawn would report only as a bare errno is checked here, with a clearer message. */
static int knd_supervisor_check_spec(const knd_instance_spec_t *spec, knd_err_t *err)
{
    struct stat st;

    if (spec->argv == NULL || spec->argv[0] == NULL || spec->argv[0][0] == '\0')
        return knd_err_set(err, KND_E_INVALID, "no command to run");
    if (!knd_supervisor_name_ok(spec->ns) || !knd_supervisor_name_ok(spec->revision))
        return knd_err_set(err, KND_E_INVALID, "invalid namespace or revision name");
    if (spec->cwd && stat(spec->cwd, &st) == -1)
        return knd_err_set(err, KND_E_INVALID, "working directory \"%s\": %s", spec->cwd,
                           strerror(errno));
    if (spec->cwd && !S_ISDIR(st.st_mode))
        return knd_err_set(err, KND_E_INVALID, "working directory \"%s\": %s", spec->cwd,
                           strerror(ENOTDIR));
    return knd__probe_check(spec, err);
}

static void knd_supervisor_make_id(const char *revision, char **out)
{
    unsigned char rnd[5];
    char suffix[sizeof(rnd) + 1];
    const char *chars = KND_SV_ID_CHARS;
    size_t nchars = strlen(chars);

    if (uv_random(NULL, NULL, rnd, sizeof(rnd), 0, NULL) != 0) {
        uint64_t t = uv_hrtime();
        for (size_t i = 0; i < sizeof(rnd); i++)
            rnd[i] = (unsigned char)(t >> (8 * i));
    }
    for (size_t i = 0; i < sizeof(rnd); i++)
        suffix[i] = chars[rnd[i] % nchars];
    suffix[sizeof(rnd)] = '\0';
    *out = knd_xasprintf("%s-%s", revision, suffix);
}

/** Creates the log directory and file; fills log_path and log_fd. */
static int knd_supervisor_open_log(knd_supervisor_t *sv, const knd_instance_spec_t *spec,
                                   knd_instance_t *inst, knd_err_t *err)
{
    char *dir = knd_xasprintf("%s/%s/%s", sv->log_dir, spec->ns, spec->revision);
    int rc = knd_supervisor_mkdir_p(dir);

    inst->log_path = knd_xasprintf("%s/%s.log", dir, inst->id);
    free(dir);
    if (rc == 0) {
        struct stat st;
        inst->log_fd = open(inst->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        rc = inst->log_fd == -1 ? -errno : 0;
        if (rc == 0 && fstat(inst->log_fd, &st) == 0)
            inst->log_size = (size_t)st.st_size;
    }
    if (rc < 0) {
        knd_err_set(err, KND_E_INTERNAL, "opening %s: %s", inst->log_path, strerror(-rc));
        if (err)
            err->errno_ = -rc;
        return -1;
    }
    return 0;
}

static void knd_instance_write_pid_file(knd_instance_t *inst)
{
    unsigned long long start;
    FILE *f;

    if (knd_supervisor_read_starttime(inst->pid, &start) != 0)
        return;
    f = fopen(inst->pid_path, "we");
    if (f == NULL) {
        knd_log(KND_LOG_WARN, "supervisor", "instance=%s: writing %s: %s", inst->id,
                inst->pid_path, strerror(errno));
        return;
    }
    fprintf(f, "%d %llu\n", inst->pid, start);
    fclose(f);
}

static void knd_instance_init_handles(knd_supervisor_t *sv, knd_instance_t *inst,
                                      const knd_instance_spec_t *spec)
{
    uv_pipe_init(sv->loop, &inst->out.pipe, 0);
    uv_pipe_init(sv->loop, &inst->err.pipe, 0);
    uv_timer_init(sv->loop, &inst->kill_timer);
    inst->out.inst = inst->err.inst = inst;
    inst->out.pipe.data = &inst->out;
    inst->err.pipe.data = &inst->err;
    inst->proc.data = inst->kill_timer.data = inst;
    knd__probe_init(inst, sv->loop, spec);
}

static knd_instance_t *knd_instance_new(knd_supervisor_t *sv, const knd_instance_spec_t *spec)
{
    knd_instance_t *inst = knd_xcalloc(1, sizeof(*inst));

    inst->sv = sv;
    inst->log_fd = -1;
    inst->exit_status = -1;
    inst->state = KND_INSTANCE_STARTING;
    inst->log_max = spec->log_max_bytes > 0 ? spec->log_max_bytes : KND_INSTANCE_LOG_MAX_DEFAULT;
    inst->cwd = spec->cwd ? knd_xstrdup(spec->cwd) : NULL;
    inst->grace_ms = spec->grace_ms > 0 ? spec->grace_ms : 0;
    knd_supervisor_make_id(spec->revision, &inst->id);
    inst->pid_path = knd_xasprintf("%s/%s.pid", sv->run_dir, inst->id);
    return inst;
}

/** Runs uv_spawn; on failure the handles are already initialized and the caller closes them. */
static int knd_instance_exec(knd_instance_t *inst, const knd_instance_spec_t *spec, knd_err_t *err)
{
    uv_stdio_container_t stdio[3];
    uv_process_options_t opt;
    int rc;

    memset(&opt, 0, sizeof(opt));
    /* stdin is /dev/null (libuv opens it for an ignored fd 0): reads return EOF */
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&inst->out.pipe;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&inst->err.pipe;
    opt.exit_cb = knd_instance_on_exit;
    opt.file = spec->argv[0];
    opt.args = (char **)spec->argv;
    opt.env = inst->env;
    opt.cwd = spec->cwd;
    opt.flags = UV_PROCESS_DETACHED; /* setsid(): the instance leads its own process group */
    opt.stdio_count = 3;
    opt.stdio = stdio;
    rc = uv_spawn(inst->sv->loop, &inst->proc, &opt);
    if (rc < 0) {
        knd_err_set(err, KND_E_INVALID, "exec \"%s\": %s", spec->argv[0], strerror(-rc));
        if (err)
            err->errno_ = rc;
        return -1;
    }
    inst->pid = inst->proc.pid;
    return 0;
}

knd_instance_t *knd_supervisor_spawn(knd_supervisor_t *sv, const knd_instance_spec_t *spec,
                                     knd_instance_cb cb, void *data, knd_err_t *err)
{
    knd_instance_t *inst = NULL;

    if (sv->shutting_down) {
        knd_err_set(err, KND_E_UNAVAILABLE, "supervisor is shutting down");
        return NULL;
    }
    if (knd_supervisor_check_spec(spec, err) != 0)
        return NULL;
    inst = knd_instance_new(sv, spec);
    inst->port = knd_supervisor_free_port();
    if (inst->port < 0) {
        knd_err_set(err, KND_E_INTERNAL, "finding a free port: %s", strerror(-inst->port));
        goto fail_unopened;
    }
    if (knd_supervisor_open_log(sv, spec, inst, err) != 0)
        goto fail_unopened;
    inst->env = knd_supervisor_build_env(spec, inst->port);
    knd_instance_init_handles(sv, inst, spec);
    if (knd_instance_exec(inst, spec, err) != 0) {
        close(inst->log_fd);
        inst->log_fd = -1;
        unlink(inst->log_path);
        knd_instance_close(inst); /* uv_spawn leaves the process handle to be closed */
        return NULL;
    }
    knd_instance_write_pid_file(inst);
    inst->cb = cb;
    inst->data = data;
    uv_read_start((uv_stream_t *)&inst->out.pipe, knd_instance_on_alloc, knd_instance_on_read);
    uv_read_start((uv_stream_t *)&inst->err.pipe, knd_instance_on_alloc, knd_instance_on_read);
    inst->next = sv->instances;
    if (sv->instances)
        sv->instances->prev = inst;
    sv->instances = inst;
    sv->n_instances++;
    knd__probe_begin(inst);
    knd_log(KND_LOG_INFO, "supervisor", "instance=%s pid=%d port=%d started: %s", inst->id,
            inst->pid, inst->port, spec->argv[0]);
    return inst;

fail_unopened:
    if (inst->log_fd != -1)
        close(inst->log_fd);
    free(inst->id);
    free(inst->log_path);
    free(inst->pid_path);
    free(inst->cwd);
    free(inst);
    return NULL;
}

/* ---- accessors ------------------------------------------------------------------------- */

int knd_instance_port(const knd_instance_t *inst)
{
    return inst->port;
}

int knd_instance_pid(const knd_instance_t *inst)
{
    return inst->pid;
}

const char *knd_instance_id(const knd_instance_t *inst)
{
    return inst->id;
}

knd_instance_state_t knd_instance_state(const knd_instance_t *inst)
{
    return inst->state;
}

int knd_instance_exit_status(const knd_instance_t *inst)
{
    return inst->exit_status;
}

int knd_instance_term_signal(const knd_instance_t *inst)
{
    return inst->term_signal;
}

const char *knd_instance_stop_reason(const knd_instance_t *inst)
{
    return inst->stop_reason;
}

const char *knd_instance_log_path(const knd_instance_t *inst)
{
    return inst->log_path;
}

char *knd_instance_log_tail(const knd_instance_t *inst, size_t n)
{
    size_t m = n < inst->tail_len ? n : inst->tail_len;
    size_t start = (inst->tail_end + KND_SV_TAIL_MAX - m) % KND_SV_TAIL_MAX;
    char *s = knd_xmalloc(m + 1);

    for (size_t i = 0; i < m; i++)
        s[i] = inst->tail[(start + i) % KND_SV_TAIL_MAX];
    s[m] = '\0';
    return s;
}
