/*
 * knd_kube_table.c - meta.k8s.io/v1 Table documents for `kubectl get` (see knd_kube_table.h).
 *
 * Column sets are const tables: Knative kinds get the additionalPrinterColumns of their CRDs
 * (config/core/300-resources/) rendered as the apiextensions apiserver's table convertor
 * does (no Age column; a JSONPath with no result gives a null cell); core kinds get the columns
 * of the apiserver's printers (pkg/printers/internalversion/printers.go), which the server always
 * generates in wide form, priority-1 columns included, leaving the choice to kubectl.
 *
 * Ownership: every function borrows its inputs; knd_kube_table returns a new reference whose
 * rows hold deep copies, so the caller may release the objects right after.
 */
#include "knd_kube_table.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "knd_alloc.h"
#include "knd_buf.h"
#include "knd_json.h"

/* ---------------------------------------------------------------------------------------- */
/* Accept header                                                                            */
/* ---------------------------------------------------------------------------------------- */

static const char *knd_kube_table_skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* Trims blanks at both ends of [*p, *end). */
static void knd_kube_table_trim(const char **p, const char **end)
{
    *p = knd_kube_table_skip_ws(*p, *end);
    while (*end > *p && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
        (*end)--;
}

static bool knd_kube_table_token_eq(const char *p, const char *end, const char *want, bool nocase)
{
    size_t n = (size_t)(end - p);
    if (strlen(want) != n)
        return false;
    return nocase ? strncasecmp(p, want, n) == 0 : strncmp(p, want, n) == 0;
}

/*
 * One media range [p, end): "type/subtype;name=value;...". Each of as/g/v found with the wanted
 * value counts once; the range matches when all the wanted ones were seen.
 */
static bool knd_kube_table_range_match(const char *p, const char *end, const char *as,
                                       const char *g, const char *v)
{
    bool got_as = false, got_g = false, got_v = (v == NULL);
    const char *semi = memchr(p, ';', (size_t)(end - p));
    if (semi == NULL)
        return false;
    p = semi + 1;
    while (p < end) {
        const char *next = memchr(p, ';', (size_t)(end - p));
        const char *pend = next ? next : end;
        const char *eq = memchr(p, '=', (size_t)(pend - p));
        if (eq != NULL) {
            const char *ns = p, *ne = eq, *vs = eq + 1, *ve = pend;
            knd_kube_table_trim(&ns, &ne);
            knd_kube_table_trim(&vs, &ve);
            if (ve - vs >= 2 && *vs == '"' && ve[-1] == '"') {
                vs++;
                ve--;
            }
            if (knd_kube_table_token_eq(ns, ne, "as", true))
                got_as = knd_kube_table_token_eq(vs, ve, as, false);
            else if (knd_kube_table_token_eq(ns, ne, "g", true))
                got_g = knd_kube_table_token_eq(vs, ve, g, false);
            else if (v != NULL && knd_kube_table_token_eq(ns, ne, "v", true))
                got_v = knd_kube_table_token_eq(vs, ve, v, false);
        }
        p = next ? next + 1 : end;
    }
    return got_as && got_g && got_v;
}

bool knd_kube_accept_match(const char *accept, const char *as, const char *g, const char *v)
{
    if (accept == NULL || as == NULL || g == NULL)
        return false;
    const char *p = accept, *end = accept + strlen(accept);
    while (p < end) {
        /* Media ranges hold no quoted commas in what clients send for these parameters. */
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *rend = comma ? comma : end;
        if (knd_kube_table_range_match(p, rend, as, g, v))
            return true;
        p = comma ? comma + 1 : end;
    }
    return false;
}

bool knd_kube_accept_table(const char *accept)
{
    return knd_kube_accept_match(accept, "Table", "meta.k8s.io", NULL);
}

knd_kube_include_t knd_kube_include_parse(const char *v)
{
    if (v == NULL)
        return KND_KUBE_INCLUDE_METADATA;
    if (strcmp(v, "Object") == 0)
        return KND_KUBE_INCLUDE_OBJECT;
    if (strcmp(v, "None") == 0)
        return KND_KUBE_INCLUDE_NONE;
    return KND_KUBE_INCLUDE_METADATA;
}

const knd_kind_info_t *knd_kube_event_kind(void)
{
    static const knd_kind_info_t event = {
        KND_KIND_UNKNOWN, "Event", "", "v1", "v1", "events", "event", "ev", true,
    };
    return &event;
}

/* ---------------------------------------------------------------------------------------- */
/* Durations and timestamps                                                                 */
/* ---------------------------------------------------------------------------------------- */

/* k8s.io/apimachinery/pkg/util/duration.HumanDuration, on whole seconds (Go truncates too). */
void knd_kube_human_duration(int64_t s, char *out, size_t outlen)
{
    if (s < -1) {
        snprintf(out, outlen, "<invalid>");
        return;
    }
    if (s < 0)
        s = 0;
    if (s < 60 * 2) {
        snprintf(out, outlen, "%llds", (long long)s);
        return;
    }
    long long minutes = s / 60, hours = s / 3600, days = hours / 24;
    if (minutes < 10) {
        if (s % 60 == 0)
            snprintf(out, outlen, "%lldm", minutes);
        else
            snprintf(out, outlen, "%lldm%llds", minutes, (long long)(s % 60));
    } else if (minutes < 60 * 3) {
        snprintf(out, outlen, "%lldm", minutes);
    } else if (hours < 8) {
        if (minutes % 60 == 0)
            snprintf(out, outlen, "%lldh", hours);
        else
            snprintf(out, outlen, "%lldh%lldm", hours, minutes % 60);
    } else if (hours < 48) {
        snprintf(out, outlen, "%lldh", hours);
    } else if (hours < 24 * 8) {
        if (hours % 24 == 0)
            snprintf(out, outlen, "%lldd", days);
        else
            snprintf(out, outlen, "%lldd%lldh", days, hours % 24);
    } else if (hours < 24 * 365 * 2) {
        snprintf(out, outlen, "%lldd", days);
    } else if (hours < 24 * 365 * 8) {
        if (days % 365 == 0)
            snprintf(out, outlen, "%lldy", days / 365);
        else
            snprintf(out, outlen, "%lldy%lldd", days / 365, days % 365);
    } else {
        snprintf(out, outlen, "%lldy", days / 365);
    }
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t knd_kube_table_days(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Reads exactly n digits. */
static bool knd_kube_table_digits(const char **p, int n, int64_t *out)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

/*
 * RFC 3339 ("2026-11-26T19:26:14Z", optional fraction, "Z" or "+hh:mm") to Unix milliseconds.
 * Returns false for anything else, which callers print as Go prints a zero time: "<unknown>".
 */
static bool knd_kube_table_parse_time(const char *s, int64_t *out_ms)
{
    int64_t y, mo, d, h, mi, sec, ms = 0, oh = 0, om = 0;
    const char *p = s;
    if (s == NULL || !knd_kube_table_digits(&p, 4, &y) || *p++ != '-' ||
        !knd_kube_table_digits(&p, 2, &mo) || *p++ != '-' || !knd_kube_table_digits(&p, 2, &d) ||
        (*p != 'T' && *p != 't'))
        return false;
    p++;
    if (!knd_kube_table_digits(&p, 2, &h) || *p++ != ':' || !knd_kube_table_digits(&p, 2, &mi) ||
        *p++ != ':' || !knd_kube_table_digits(&p, 2, &sec))
        return false;
    if (*p == '.') {
        int scale = 100;
        for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
            ms += (*p - '0') * scale;
    }
    int sign = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if (!knd_kube_table_digits(&p, 2, &oh) || *p++ != ':' || !knd_kube_table_digits(&p, 2, &om))
            return false;
    } else {
        return false;
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return false;
    int64_t secs = knd_kube_table_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    secs -= sign * (oh * 3600 + om * 60);
    *out_ms = secs * 1000 + ms;
    return true;
}

/* printers.go translateTimestampSince: the age of a timestamp, "<unknown>" when unset. */
static json_t *knd_kube_table_since(const json_t *ts, int64_t now_s)
{
    int64_t t_ms;
    char buf[32];
    if (!json_is_string(ts) || !knd_kube_table_parse_time(json_string_value(ts), &t_ms))
        return json_string("<unknown>");
    /* Go converts the nanosecond difference to int seconds, truncating toward zero. */
    knd_kube_human_duration((now_s * 1000 - t_ms) / 1000, buf, sizeof(buf));
    return json_string(buf);
}

/* ---------------------------------------------------------------------------------------- */
/* Column tables                                                                            */
/* ---------------------------------------------------------------------------------------- */

/* How a cell is computed from an object. */
typedef enum {
    KND_KUBE_CELL_NAME = 0,     /* metadata.name */
    KND_KUBE_CELL_STR,          /* CRD string column at the dotted path arg */
    KND_KUBE_CELL_INT,          /* CRD integer column at the dotted path arg */
    KND_KUBE_CELL_LABEL,        /* CRD string column: metadata.labels[arg] */
    KND_KUBE_CELL_READY_STATUS, /* .status.conditions[?(@.type=='Ready')].status */
    KND_KUBE_CELL_READY_REASON, /* .status.conditions[?(@.type=='Ready')].reason */
    KND_KUBE_CELL_AGE,          /* since metadata.creationTimestamp */
    KND_KUBE_CELL_NS_PHASE,
    KND_KUBE_CELL_CM_DATA, /* count of data + binaryData keys */
    KND_KUBE_CELL_SECRET_TYPE,
    KND_KUBE_CELL_SECRET_DATA, /* count of data keys */
    KND_KUBE_CELL_EV_LAST_SEEN,
    KND_KUBE_CELL_EV_TYPE,
    KND_KUBE_CELL_EV_REASON,
    KND_KUBE_CELL_EV_OBJECT,
    KND_KUBE_CELL_EV_SUBOBJECT,
    KND_KUBE_CELL_EV_SOURCE,
    KND_KUBE_CELL_EV_MESSAGE,
    KND_KUBE_CELL_EV_FIRST_SEEN,
    KND_KUBE_CELL_EV_COUNT,
    KND_KUBE_CELL_CREATED, /* metadata.creationTimestamp as is */
} knd_kube_cell_t;

typedef struct {
    const char *name;
    const char *type;
    const char *format;
    const char *description;
    int priority;
    knd_kube_cell_t cell;
    const char *arg;
} knd_kube_column_t;

/* metav1.ObjectMeta{}.SwaggerDoc() texts, as the apiserver puts them in column definitions. */
#define KND_KUBE_DOC_NAME                                                                          \
    "Name must be unique within a namespace. Is required when creating resources, although "     \
    "some resources may allow a client to request the generation of an appropriate name "        \
    "automatically. Name is primarily intended for creation idempotence and configuration "      \
    "definition. Cannot be updated. More info: "                                                  \
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
#define KND_KUBE_DOC_AGE                                                                           \
    "CreationTimestamp is a timestamp representing the server time when this object was "        \
    "created. It is not guaranteed to be set in happens-before order across separate "          \
    "operations. Clients may not set this value. It is represented in RFC3339 form and is in "   \
    "UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "                     \
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
/* The apiextensions table convertor's description of a column the CRD leaves undescribed. */
#define KND_KUBE_DOC_CRD "Custom resource definition column (in JSONPath format): "
#define KND_KUBE_READY_PATH ".status.conditions[?(@.type=='Ready')]"

#define KND_KUBE_COL_NAME {"Name", "string", "name", KND_KUBE_DOC_NAME, 0, KND_KUBE_CELL_NAME, NULL}
#define KND_KUBE_COL_AGE {"Age", "string", "", KND_KUBE_DOC_AGE, 0, KND_KUBE_CELL_AGE, NULL}
#define KND_KUBE_COL_CRD(n, t, path, cell, arg) {n, t, "", KND_KUBE_DOC_CRD path, 0, cell, arg}
#define KND_KUBE_COL_URL                                                                           \
    KND_KUBE_COL_CRD("URL", "string", ".status.url", KND_KUBE_CELL_STR, "status.url")
#define KND_KUBE_COL_LATEST_CREATED                                                                \
    KND_KUBE_COL_CRD("LatestCreated", "string", ".status.latestCreatedRevisionName",               \
                     KND_KUBE_CELL_STR, "status.latestCreatedRevisionName")
#define KND_KUBE_COL_LATEST_READY                                                                  \
    KND_KUBE_COL_CRD("LatestReady", "string", ".status.latestReadyRevisionName",                   \
                     KND_KUBE_CELL_STR, "status.latestReadyRevisionName")
#define KND_KUBE_COL_READY                                                                         \
    KND_KUBE_COL_CRD("Ready", "string", KND_KUBE_READY_PATH ".status", KND_KUBE_CELL_READY_STATUS, \
                     NULL)
#define KND_KUBE_COL_REASON                                                                        \
    KND_KUBE_COL_CRD("Reason", "string", KND_KUBE_READY_PATH ".reason",                            \
                     KND_KUBE_CELL_READY_REASON, NULL)
#define KND_KUBE_COL_END {NULL, NULL, NULL, NULL, 0, KND_KUBE_CELL_NAME, NULL}

static const knd_kube_column_t knd_kube_table_service_cols[] = {
    KND_KUBE_COL_NAME,  KND_KUBE_COL_URL,    KND_KUBE_COL_LATEST_CREATED, KND_KUBE_COL_LATEST_READY,
    KND_KUBE_COL_READY, KND_KUBE_COL_REASON, KND_KUBE_COL_END,
};

static const knd_kube_column_t knd_kube_table_configuration_cols[] = {
    KND_KUBE_COL_NAME,  KND_KUBE_COL_LATEST_CREATED, KND_KUBE_COL_LATEST_READY,
    KND_KUBE_COL_READY, KND_KUBE_COL_REASON,         KND_KUBE_COL_END,
};

static const knd_kube_column_t knd_kube_table_revision_cols[] = {
    KND_KUBE_COL_NAME,
    KND_KUBE_COL_CRD("Config Name", "string",
                     ".metadata.labels['serving\\.knative\\.dev/configuration']",
                     KND_KUBE_CELL_LABEL, "serving.knative.dev/configuration"),
    /* The CRD types this label "string" (an int in string form). */
    KND_KUBE_COL_CRD("Generation", "string",
                     ".metadata.labels['serving\\.knative\\.dev/configurationGeneration']",
                     KND_KUBE_CELL_LABEL, "serving.knative.dev/configurationGeneration"),
    KND_KUBE_COL_READY,
    KND_KUBE_COL_REASON,
    KND_KUBE_COL_CRD("Actual Replicas", "integer", ".status.actualReplicas", KND_KUBE_CELL_INT,
                     "status.actualReplicas"),
    KND_KUBE_COL_CRD("Desired Replicas", "integer", ".status.desiredReplicas", KND_KUBE_CELL_INT,
                     "status.desiredReplicas"),
    KND_KUBE_COL_END,
};

/* Routes and DomainMappings share their columns. */
static const knd_kube_column_t knd_kube_table_route_cols[] = {
    KND_KUBE_COL_NAME, KND_KUBE_COL_URL, KND_KUBE_COL_READY, KND_KUBE_COL_REASON, KND_KUBE_COL_END,
};

static const knd_kube_column_t knd_kube_table_namespace_cols[] = {
    KND_KUBE_COL_NAME,
    {"Status", "string", "", "The status of the namespace", 0, KND_KUBE_CELL_NS_PHASE, NULL},
    KND_KUBE_COL_AGE,
    KND_KUBE_COL_END,
};

/* The apiserver types Data "string" and fills it with an integer; kubectl prints either. */
static const knd_kube_column_t knd_kube_table_configmap_cols[] = {
    KND_KUBE_COL_NAME,
    {"Data", "string", "",
     "Data contains the configuration data. Each key must consist of alphanumeric characters, "
     "'-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The "
     "keys stored in Data must not overlap with the keys in the BinaryData field, this is "
     "enforced during validation process.",
     0, KND_KUBE_CELL_CM_DATA, NULL},
    KND_KUBE_COL_AGE,
    KND_KUBE_COL_END,
};

static const knd_kube_column_t knd_kube_table_secret_cols[] = {
    KND_KUBE_COL_NAME,
    {"Type", "string", "",
     "Used to facilitate programmatic handling of secret data. More info: "
     "https://kubernetes.io/docs/concepts/configuration/secret/#secret-types",
     0, KND_KUBE_CELL_SECRET_TYPE, NULL},
    {"Data", "string", "",
     "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' "
     "or '.'. The serialized form of the secret data is a base64 encoded string, representing "
     "the arbitrary (possibly non-string) data value here. Described in "
     "https://tools.ietf.org/html/rfc4648#section-4",
     0, KND_KUBE_CELL_SECRET_DATA, NULL},
    KND_KUBE_COL_AGE,
    KND_KUBE_COL_END,
};

static const knd_kube_column_t knd_kube_table_event_cols[] = {
    {"Last Seen", "string", "",
     "The time at which the most recent occurrence of this event was recorded.", 0,
     KND_KUBE_CELL_EV_LAST_SEEN, NULL},
    {"Type", "string", "",
     "Type of this event (Normal, Warning), new types could be added in the future", 0,
     KND_KUBE_CELL_EV_TYPE, NULL},
    {"Reason", "string", "",
     "This should be a short, machine understandable string that gives the reason for the "
     "transition into the object's current status.",
     0, KND_KUBE_CELL_EV_REASON, NULL},
    {"Object", "string", "", "The object that this event is about.", 0, KND_KUBE_CELL_EV_OBJECT,
     NULL},
    {"Subobject", "string", "",
     "If referring to a piece of an object instead of an entire object, this string should "
     "contain a valid JSON/Go field access statement, such as "
     "desiredState.manifest.containers[2]. For example, if the object reference is to a "
     "container within a pod, this would take on a value like: \"spec.containers{name}\" (where "
     "\"name\" refers to the name of the container that triggered the event) or if no container "
     "name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax "
     "is chosen only to have some well-defined way of referencing a part of an object.",
     1, KND_KUBE_CELL_EV_SUBOBJECT, NULL},
    {"Source", "string", "",
     "The component reporting this event. Should be a short machine understandable string.", 1,
     KND_KUBE_CELL_EV_SOURCE, NULL},
    {"Message", "string", "", "A human-readable description of the status of this operation.", 0,
     KND_KUBE_CELL_EV_MESSAGE, NULL},
    {"First Seen", "string", "",
     "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)", 1,
     KND_KUBE_CELL_EV_FIRST_SEEN, NULL},
    {"Count", "string", "", "The number of times this event has occurred.", 1,
     KND_KUBE_CELL_EV_COUNT, NULL},
    {"Name", "string", "name", KND_KUBE_DOC_NAME, 1, KND_KUBE_CELL_NAME, NULL},
    KND_KUBE_COL_END,
};

/* The apiserver's DefaultTableConvertor, for a kind with no printer of its own. */
static const knd_kube_column_t knd_kube_table_default_cols[] = {
    KND_KUBE_COL_NAME,
    {"Created At", "date", "", KND_KUBE_DOC_AGE, 0, KND_KUBE_CELL_CREATED, NULL},
    KND_KUBE_COL_END,
};

static bool knd_kube_table_is_event(const knd_kind_info_t *kind)
{
    return strcmp(kind->kind_name, "Event") == 0 && kind->group[0] == '\0';
}

/* The column set of a kind. */
static const knd_kube_column_t *knd_kube_table_columns(const knd_kind_info_t *kind)
{
    if (knd_kube_table_is_event(kind))
        return knd_kube_table_event_cols;
    switch (kind->kind) {
    case KND_KIND_SERVICE:
        return knd_kube_table_service_cols;
    case KND_KIND_CONFIGURATION:
        return knd_kube_table_configuration_cols;
    case KND_KIND_REVISION:
        return knd_kube_table_revision_cols;
    case KND_KIND_ROUTE:
    case KND_KIND_DOMAINMAPPING:
        return knd_kube_table_route_cols;
    case KND_KIND_NAMESPACE:
        return knd_kube_table_namespace_cols;
    case KND_KIND_CONFIGMAP:
        return knd_kube_table_configmap_cols;
    case KND_KIND_SECRET:
        return knd_kube_table_secret_cols;
    default:
        return knd_kube_table_default_cols;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Cells                                                                                    */
/* ---------------------------------------------------------------------------------------- */

/* The first Ready condition, as the CRD JSONPath filter [?(@.type=='Ready')] picks it. */
static const json_t *knd_kube_table_ready(const json_t *obj)
{
    const json_t *conds = knd_json_path(obj, "status.conditions"), *c;
    size_t i;
    if (!json_is_array(conds))
        return NULL;
    json_array_foreach(conds, i, c) {
        const char *type = knd_json_str(c, "type", NULL);
        if (type != NULL && strcmp(type, "Ready") == 0)
            return c;
    }
    return NULL;
}

/*
 * A CRD "string" column: the JSONPath printer's text of whatever the path found, null when it
 * found nothing (or JSON null).
 */
static json_t *knd_kube_table_crd_string(const json_t *v)
{
    char buf[64];
    switch (json_typeof(v)) {
    case JSON_STRING:
        return json_string(json_string_value(v));
    case JSON_INTEGER:
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return json_string(buf);
    case JSON_REAL:
        snprintf(buf, sizeof(buf), "%g", json_real_value(v));
        return json_string(buf);
    case JSON_TRUE:
        return json_string("true");
    case JSON_FALSE:
        return json_string("false");
    case JSON_OBJECT:
    case JSON_ARRAY: {
        char *dump = json_dumps(v, JSON_COMPACT);
        json_t *cell = json_string(dump);
        free(dump);
        return cell;
    }
    default:
        return json_null();
    }
}

/* A CRD "integer" column: numbers become integers, anything else a null cell. */
static json_t *knd_kube_table_crd_int(const json_t *v)
{
    if (json_is_integer(v))
        return json_integer(json_integer_value(v));
    if (json_is_real(v))
        return json_integer((json_int_t)json_real_value(v));
    return json_null();
}

static json_t *knd_kube_table_maybe_string(const json_t *v)
{
    return v ? knd_kube_table_crd_string(v) : json_null();
}

static json_int_t knd_kube_table_count(const json_t *obj, const char *key)
{
    const json_t *m = json_object_get(obj, key);
    return json_is_object(m) ? (json_int_t)json_object_size(m) : 0;
}

static json_t *knd_kube_table_str_or(const json_t *obj, const char *path, const char *def)
{
    return json_string(knd_json_str(obj, path, def));
}

/* ---- Events (printers.go printEvent, wide form) ---- */

static bool knd_kube_table_has_time(const json_t *ts)
{
    int64_t ms;
    return json_is_string(ts) && knd_kube_table_parse_time(json_string_value(ts), &ms);
}

static json_t *knd_kube_table_ev_first_seen(const json_t *ev, int64_t now_s)
{
    const json_t *first = json_object_get(ev, "firstTimestamp");
    if (knd_kube_table_has_time(first))
        return knd_kube_table_since(first, now_s);
    return knd_kube_table_since(json_object_get(ev, "eventTime"), now_s);
}

static json_t *knd_kube_table_ev_last_seen(const json_t *ev, int64_t now_s)
{
    const json_t *series = json_object_get(ev, "series");
    const json_t *last = json_object_get(ev, "lastTimestamp");
    if (json_is_object(series))
        return knd_kube_table_since(json_object_get(series, "lastObservedTime"), now_s);
    if (knd_kube_table_has_time(last))
        return knd_kube_table_since(last, now_s);
    return knd_kube_table_ev_first_seen(ev, now_s);
}

static json_t *knd_kube_table_ev_count(const json_t *ev)
{
    const json_t *series = json_object_get(ev, "series");
    if (json_is_object(series))
        return json_integer(knd_json_int(series, "count", 0));
    long long count = knd_json_int(ev, "count", 0);
    /* Singleton events of the events.k8s.io API carry no count. */
    return json_integer(count == 0 ? 1 : count);
}

/* "kind/name" with the kind lower-cased, or the kind alone for a nameless object. */
static json_t *knd_kube_table_ev_object(const json_t *ev)
{
    const char *kind = knd_json_str(ev, "involvedObject.kind", "");
    const char *name = knd_json_str(ev, "involvedObject.name", "");
    char *s = knd_xasprintf("%s%s%s", kind, *name ? "/" : "", name);
    for (char *p = s; *p && *p != '/'; p++)
        *p = (char)tolower((unsigned char)*p);
    json_t *cell = json_string(s);
    free(s);
    return cell;
}

static const char *knd_kube_table_first_nonempty(const char *a, const char *b)
{
    return (a != NULL && *a) ? a : (b != NULL ? b : "");
}

static json_t *knd_kube_table_ev_source(const json_t *ev)
{
    const char *component = knd_kube_table_first_nonempty(
        knd_json_str(ev, "source.component", NULL), knd_json_str(ev, "reportingComponent", NULL));
    const char *instance = knd_kube_table_first_nonempty(
        knd_json_str(ev, "source.host", NULL), knd_json_str(ev, "reportingInstance", NULL));
    if (*instance == '\0')
        return json_string(component);
    char *s = knd_xasprintf("%s, %s", component, instance);
    json_t *cell = json_string(s);
    free(s);
    return cell;
}

/* strings.TrimSpace on the message. */
static json_t *knd_kube_table_ev_message(const json_t *ev)
{
    const char *m = knd_json_str(ev, "message", "");
    size_t n = strlen(m);
    while (n > 0 && isspace((unsigned char)*m)) {
        m++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)m[n - 1]))
        n--;
    return json_stringn(m, n);
}

/* ---- One cell ---- */

static json_t *knd_kube_table_cell(const knd_kube_column_t *col, const json_t *obj, int64_t now_s)
{
    const json_t *ready, *labels;
    switch (col->cell) {
    case KND_KUBE_CELL_NAME:
        return knd_kube_table_str_or(obj, "metadata.name", "");
    case KND_KUBE_CELL_STR:
        return knd_kube_table_maybe_string(knd_json_path(obj, col->arg));
    case KND_KUBE_CELL_INT:
        return knd_kube_table_crd_int(knd_json_path(obj, col->arg));
    case KND_KUBE_CELL_LABEL:
        /* Label keys hold dots: no dotted path for them. */
        labels = knd_json_path(obj, "metadata.labels");
        return knd_kube_table_maybe_string(json_object_get(labels, col->arg));
    case KND_KUBE_CELL_READY_STATUS:
    case KND_KUBE_CELL_READY_REASON:
        ready = knd_kube_table_ready(obj);
        return knd_kube_table_maybe_string(json_object_get(
            ready, col->cell == KND_KUBE_CELL_READY_STATUS ? "status" : "reason"));
    case KND_KUBE_CELL_AGE:
        return knd_kube_table_since(knd_json_path(obj, "metadata.creationTimestamp"), now_s);
    case KND_KUBE_CELL_CREATED:
        return knd_kube_table_maybe_string(knd_json_path(obj, "metadata.creationTimestamp"));
    case KND_KUBE_CELL_NS_PHASE:
        /* The apiserver sets phase Active on create; knd's namespaces have no other phase. */
        return knd_kube_table_str_or(obj, "status.phase", "Active");
    case KND_KUBE_CELL_CM_DATA:
        return json_integer(knd_kube_table_count(obj, "data") +
                            knd_kube_table_count(obj, "binaryData"));
    case KND_KUBE_CELL_SECRET_TYPE:
        return knd_kube_table_str_or(obj, "type", "Opaque");
    case KND_KUBE_CELL_SECRET_DATA:
        return json_integer(knd_kube_table_count(obj, "data"));
    case KND_KUBE_CELL_EV_LAST_SEEN:
        return knd_kube_table_ev_last_seen(obj, now_s);
    case KND_KUBE_CELL_EV_TYPE:
        return knd_kube_table_str_or(obj, "type", "");
    case KND_KUBE_CELL_EV_REASON:
        return knd_kube_table_str_or(obj, "reason", "");
    case KND_KUBE_CELL_EV_OBJECT:
        return knd_kube_table_ev_object(obj);
    case KND_KUBE_CELL_EV_SUBOBJECT:
        return knd_kube_table_str_or(obj, "involvedObject.fieldPath", "");
    case KND_KUBE_CELL_EV_SOURCE:
        return knd_kube_table_ev_source(obj);
    case KND_KUBE_CELL_EV_MESSAGE:
        return knd_kube_table_ev_message(obj);
    case KND_KUBE_CELL_EV_FIRST_SEEN:
        return knd_kube_table_ev_first_seen(obj, now_s);
    case KND_KUBE_CELL_EV_COUNT:
        return knd_kube_table_ev_count(obj);
    }
    return json_null();
}

/* ---------------------------------------------------------------------------------------- */
/* The Table                                                                                */
/* ---------------------------------------------------------------------------------------- */

static json_t *knd_kube_table_column_defs(const knd_kube_column_t *cols)
{
    json_t *defs = json_array();
    for (const knd_kube_column_t *c = cols; c->name != NULL; c++)
        json_array_append_new(defs, json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", c->name, "type",
                                              c->type, "format", c->format, "description",
                                              c->description, "priority", c->priority));
    return defs;
}

/* rows[].object: what includeObject asks for (NULL for None). */
static json_t *knd_kube_table_row_object(const json_t *obj, knd_kube_include_t inc)
{
    const json_t *meta;
    switch (inc) {
    case KND_KUBE_INCLUDE_NONE:
        return NULL;
    case KND_KUBE_INCLUDE_OBJECT:
        return json_deep_copy(obj);
    case KND_KUBE_INCLUDE_METADATA:
        break;
    }
    meta = json_object_get(obj, "metadata");
    return json_pack("{s:s, s:s, s:o}", "kind", "PartialObjectMetadata", "apiVersion",
                     "meta.k8s.io/v1", "metadata",
                     json_is_object(meta) ? json_deep_copy(meta) : json_object());
}

static json_t *knd_kube_table_row(const knd_kube_column_t *cols, const json_t *obj,
                                  knd_kube_include_t inc, int64_t now_s)
{
    json_t *cells = json_array();
    for (const knd_kube_column_t *c = cols; c->name != NULL; c++)
        json_array_append_new(cells, knd_kube_table_cell(c, obj, now_s));
    json_t *row = json_pack("{s:o}", "cells", cells);
    json_t *o = knd_kube_table_row_object(obj, inc);
    if (o != NULL)
        json_object_set_new(row, "object", o);
    return row;
}

json_t *knd_kube_table(const knd_kind_info_t *kind, const json_t *objects, knd_kube_include_t inc,
                       const char *rv, int64_t now_s, bool with_columns)
{
    const knd_kube_column_t *cols = knd_kube_table_columns(kind);
    json_t *table = json_pack("{s:s, s:s, s:o}", "kind", "Table", "apiVersion", "meta.k8s.io/v1",
                              "metadata", json_object());
    json_t *rows = json_array(), *obj;
    size_t i;
    if (rv != NULL)
        json_object_set_new(json_object_get(table, "metadata"), "resourceVersion", json_string(rv));
    if (with_columns)
        json_object_set_new(table, "columnDefinitions", knd_kube_table_column_defs(cols));
    json_array_foreach(objects, i, obj) {
        if (json_is_object(obj))
            json_array_append_new(rows, knd_kube_table_row(cols, obj, inc, now_s));
    }
    json_object_set_new(table, "rows", rows);
    return table;
}
