/*
 * knd_cli.h - what the `knd` client verbs share: the verb table entry, global flags (state dir,
 * namespace, help), a small table-driven argv parser, kind resolution, API paths, and the calls
 * to the daemon with kubectl-style error reporting.
 *
 * Ownership: knd_cli_t borrows its strings from argv / the environment; it owns nothing except
 * the socket path, which lives in a fixed buffer. Every verb returns the process exit status:
 * 0 ok, 1 failure (unreachable, timeout, server error, not found), 2 invalid input.
 */
#ifndef KND_CLI_H
#define KND_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "knd_buf.h"
#include "knd_client.h"
#include "knd_model.h"

#define KND_EXIT_OK 0
#define KND_EXIT_FAIL 1
#define KND_EXIT_INVALID 2

typedef struct knd_cli_s knd_cli_t;
typedef struct knd_cli_cmd_s knd_cli_cmd_t;

typedef int (*knd_cli_cmd_cb)(knd_cli_t *cli, int argc, char **argv);

/* One verb: main.c holds the table. */
struct knd_cli_cmd_s {
    const char *name;
    knd_cli_cmd_cb run;
    const char *usage;   /* one line, without "Usage: " */
    const char *summary; /* for `knd help` */
    const char *help;    /* the rest of `knd VERB --help` (flags, examples) */
};

struct knd_cli_s {
    const knd_cli_cmd_t *cmd; /* the verb being run */
    const char *state_dir;    /* --state-dir, $KND_STATE_DIR or ./.knd */
    const char *ns;           /* -n/--namespace, default "default" */
    bool ns_explicit;         /* -n was given (apply compares it with metadata.namespace) */
    bool help;                /* --help was given */
    char sock_path[4096];     /* <state-dir>/knd.sock */
};

/* ---- argv parsing ------------------------------------------------------------------------- */

/* Flag ids: the common flags, then each verb's own from KND_CLI_F_VERB up. */
enum {
    KND_CLI_F_STATE_DIR = 1,
    KND_CLI_F_NAMESPACE,
    KND_CLI_F_HELP,
    KND_CLI_F_VERB = 100,
};

/* What knd_cli_args_next returns besides a flag id. */
enum {
    KND_CLI_ARG_END = 0,       /* argv exhausted */
    KND_CLI_ARG_ERR = -1,      /* bad flag: message in args->err */
    KND_CLI_ARG_POS = -2,      /* a positional argument in args->val */
    KND_CLI_ARG_DASHDASH = -3, /* "--": everything after it is positional */
};

typedef struct {
    const char *name; /* long name without "--"; NULL ends a table */
    char short_name;  /* 0 if none */
    bool has_arg;
    int id;
} knd_cli_flag_t;

#define KND_CLI_COMMON_FLAGS                                                                      \
    {"state-dir", 0, true, KND_CLI_F_STATE_DIR}, {"namespace", 'n', true, KND_CLI_F_NAMESPACE},  \
        {"help", 'h', false, KND_CLI_F_HELP}

typedef struct {
    int argc;
    char **argv;
    int i;                       /* next argv index */
    const knd_cli_flag_t *flags; /* terminated by a {NULL} entry */
    bool dashdash;               /* "--" was seen */
    const char *val;             /* flag value or positional */
    char err[256];
} knd_cli_args_t;

/** Starts parsing argv[first..argc). Borrows argv and flags. */
void knd_cli_args_init(knd_cli_args_t *a, int argc, char **argv, int first,
                       const knd_cli_flag_t *flags);
/**
 * Next flag or positional: `--name=v`, `--name v`, `-x v`, `-xv`, boolean `-x`/`--name`;
 * a lone "-" is positional (stdin). Returns a flag id, or one of KND_CLI_ARG_*.
 */
int knd_cli_args_next(knd_cli_args_t *a);

/**
 * Initialises cli for verb cmd from the environment (KND_STATE_DIR), before flags are parsed.
 */
void knd_cli_init(knd_cli_t *cli, const knd_cli_cmd_t *cmd);
/** Handles a common flag; returns true if id was one. */
bool knd_cli_common_flag(knd_cli_t *cli, int id, const char *val);
/** Computes sock_path from state_dir; call after flags are parsed. */
void knd_cli_finish_flags(knd_cli_t *cli);

/** Prints `error: <msg>` and the verb's usage line to stderr; returns KND_EXIT_INVALID. */
int knd_cli_usage_error(const knd_cli_t *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** Prints the verb's help to stdout; returns 0. */
int knd_cli_print_help(const knd_cli_t *cli);

/* ---- kinds and paths ---------------------------------------------------------------------- */

/** Resolves a CLI resource name ("ksvc", "rev", "cm", ...); NULL if unknown. */
const knd_kind_info_t *knd_cli_kind(const char *name);
/**
 * Appends the API path for info: the collection if name is NULL, across namespaces if ns is
 * NULL. Name and namespace are percent-encoded.
 */
void knd_cli_path(knd_buf_t *out, const knd_kind_info_t *info, const char *ns, const char *name);
/** Appends s percent-encoded for a path segment or query value (RFC 3986 unreserved kept). */
void knd_cli_urlencode(knd_buf_t *out, const char *s);

/* ---- talking to the daemon ---------------------------------------------------------------- */

/**
 * One request to the daemon; body (may be NULL) is sent as JSON. On a transport failure prints
 * `error: cannot reach knd at ...` and returns -1. Otherwise 0 with resp filled (any status).
 * sink, if set, receives a 2xx body as it streams (see knd_client_request).
 */
int knd_cli_call(const knd_cli_t *cli, const char *method, const char *path, const json_t *body,
                 knd_client_body_cb sink, void *ud, knd_client_resp_t *resp);

/**
 * Reads the server's error from a non-2xx response: reason (Status.reason, or one derived from
 * the HTTP status) and message, into fixed buffers. Returns the exit code it maps to (2 for
 * 400/422 invalid input, 1 otherwise).
 */
int knd_cli_server_error(const knd_client_resp_t *resp, char *reason, size_t rlen, char *msg,
                         size_t mlen);
/** Prints `Error from server (<reason>): <message>` and returns the exit code. */
int knd_cli_print_server_error(const knd_client_resp_t *resp);

/**
 * GETs one object into *obj (new reference). 404 prints kubectl's
 * `Error from server (NotFound): <resource>.<group> "NAME" not found` and other failures the
 * server's Status. Returns 0, an exit code > 0 (obj NULL), or -1 when the daemon is unreachable
 * (already reported).
 */
int knd_cli_get_object(const knd_cli_t *cli, const knd_kind_info_t *info, const char *ns,
                       const char *name, json_t **obj);
/**
 * GETs a list (all namespaces if ns is NULL; selector may be NULL) into *list (new reference).
 * Returns 0 or an exit code after printing the error.
 */
int knd_cli_list_objects(const knd_cli_t *cli, const knd_kind_info_t *info, const char *ns,
                         const char *selector, json_t **list);
/** Prints `Error from server (NotFound): <resource>.<group> "NAME" not found`; returns 1. */
int knd_cli_print_not_found(const knd_kind_info_t *info, const char *name);

/* ---- manifests ---------------------------------------------------------------------------- */

/** One loaded manifest file. */
typedef struct {
    char *path;    /* owned: as given, or the file inside a directory */
    char *display; /* owned: name used in messages ("STDIN" for "-") */
    knd_doc_t *docs;
    size_t ndocs;
    bool failed; /* could not be read or parsed (already reported) */
} knd_cli_file_t;

typedef struct {
    knd_cli_file_t *v; /* owned */
    size_t n;
} knd_cli_files_t;

/**
 * Expands -f arguments (FILE; DIR: its .yaml, .yml and .json files, sorted; "-") and loads
 * each. Errors (missing path, YAML syntax) are printed as `FILE:LINE:COL: message`; returns the
 * worst exit code (0 when everything loaded). Files that failed to load are kept with ndocs 0.
 */
int knd_cli_load_files(char **paths, size_t npaths, knd_cli_files_t *out);
void knd_cli_files_free(knd_cli_files_t *files);

/**
 * Validates one file's documents offline with the daemon's rules (default platform) and appends
 * each error as `FILE:LINE:COL: path: message` to out. Returns the number of invalid documents.
 */
size_t knd_cli_validate_file(const knd_cli_file_t *f, knd_buf_t *out);
/** knd_cli_validate_file over every file, errors printed to errout; returns the invalid count. */
size_t knd_cli_validate_files(const knd_cli_files_t *files, const knd_platform_t *p,
                              FILE *errout);
/** Validates one file against platform p (see knd_cli_validate_file). */
size_t knd_cli_validate_file_with(const knd_cli_file_t *f, const knd_platform_t *p,
                                  knd_buf_t *out);
/**
 * The platform configuration the manifests will meet: Knative's defaults, then the
 * knative-serving config-* ConfigMaps of the daemon (if cli is not NULL and the daemon answers),
 * then those in the files themselves - so `validate` and `apply` judge a manifest exactly as
 * the daemon will (e.g. initial-scale 0 once config-autoscaler allows it).
 */
void knd_cli_platform(const knd_cli_t *cli, const knd_cli_files_t *files, knd_platform_t *p);

/* ---- wait ------------------------------------------------------------------------------- */

/** What `knd wait --for` waits for. */
typedef struct {
    bool is_delete;  /* --for=delete */
    char type[128];  /* condition type, e.g. "Ready" */
    char status[32]; /* wanted status, "True" unless given as condition=Type=Status */
} knd_cli_wait_for_t;

/** Parses "condition=Ready", "condition=Ready=False" or "delete"; -1 if malformed. */
int knd_cli_wait_parse_for(const char *spec, knd_cli_wait_for_t *out);
/**
 * True if obj has the condition with the wanted status (case-insensitive, as kubectl) for its
 * current generation: a stale status.observedGeneration or condition observedGeneration fails.
 */
bool knd_cli_wait_condition_met(const json_t *obj, const knd_cli_wait_for_t *w);

/* ---- verbs -------------------------------------------------------------------------------- */

int knd_cmd_apply(knd_cli_t *cli, int argc, char **argv);
int knd_cmd_validate(knd_cli_t *cli, int argc, char **argv);
int knd_cmd_get(knd_cli_t *cli, int argc, char **argv);
int knd_cmd_describe(knd_cli_t *cli, int argc, char **argv);
int knd_cmd_delete(knd_cli_t *cli, int argc, char **argv);
int knd_cmd_wait(knd_cli_t *cli, int argc, char **argv);
int knd_cmd_logs(knd_cli_t *cli, int argc, char **argv);
int knd_cmd_image(knd_cli_t *cli, int argc, char **argv);
int knd_cmd_version(knd_cli_t *cli, int argc, char **argv);
int knd_cmd_scale(knd_cli_t *cli, int argc, char **argv);
int knd_cmd_top(knd_cli_t *cli, int argc, char **argv);

#endif
