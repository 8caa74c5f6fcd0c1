/*
 * test_knd_validate_cases.h - the table types and JSON builders shared by the validation case
 * files. Inputs are JSON with single quotes (turned into double quotes before json_loads) so the
 * tables stay readable; every case lists the exact (path, message) pairs Knative reports.
 */
#ifndef TEST_KND_VALIDATE_CASES_H
#define TEST_KND_VALIDATE_CASES_H

#include "knd_platform.h"

typedef struct {
    const char *path;
    const char *msg;
} vexp_t;

typedef struct {
    const char *name;
    const char *json;
    void (*setup)(knd_platform_t *p); /* NULL: Knative's default configuration */
    vexp_t want[6];                   /* ends at the first {NULL} */
} vcase_t;

/* Object builders. Q() marks JSON written with single quotes. */
#define META "'metadata':{'name':'hello','namespace':'default'}"
#define SVC_HEAD "{'apiVersion':'serving.knative.dev/v1','kind':'Service'," META
#define IMG "'image':'gcr.io/knative-samples/helloworld-go'"
#define CTR "{" IMG "}"
#define PODSPEC "{'containers':[" CTR "]}"
/* A Service whose template spec is `ps`. */
#define SVC(ps) SVC_HEAD ",'spec':{'template':{'spec':" ps "}}}"
/* A Service whose single container is `{IMG, extra}`. */
#define SVC_C(extra) SVC("{'containers':[{" IMG "," extra "}]}")
/* A Service whose pod spec is `{containers:[CTR], extra}`. */
#define SVC_P(extra) SVC("{'containers':[" CTR "]," extra "}")
/* A Service with template annotations `ann` (a JSON object). */
#define SVC_A(ann) SVC_HEAD ",'spec':{'template':{'metadata':{'annotations':" ann "},'spec':" PODSPEC "}}}"
/* A Service with traffic `tr` (a JSON array). */
#define SVC_T(tr) SVC_HEAD ",'spec':{'template':{'spec':" PODSPEC "},'traffic':" tr "}}"
#define ROUTE(tr) "{'apiVersion':'serving.knative.dev/v1','kind':'Route'," META ",'spec':{'traffic':" tr "}}"

#define P_TPL "spec.template.spec"
#define P_C0 "spec.template.spec.containers[0]"
#define P_ANN "spec.template.metadata.annotations"
#define P_AS "spec.template.metadata.annotations.autoscaling.knative.dev/"

#define DNS1035_MSG                                                                               \
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an " \
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "         \
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
#define DNS1123_LABEL_MSG                                                                         \
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and " \
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "   \
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define MUST_NOT "must not set the field(s)"
#define MISSING "missing field(s)"

extern const vcase_t knd_test_cases_top[];
extern const size_t knd_test_cases_top_n;
extern const vcase_t knd_test_cases_pod[];
extern const size_t knd_test_cases_pod_n;
extern const vcase_t knd_test_cases_ann[];
extern const size_t knd_test_cases_ann_n;

/* Platform tweaks used by the tables. */
void knd_test_set_feature(knd_platform_t *p, const char *name, knd_feature_state_t st);

#endif
