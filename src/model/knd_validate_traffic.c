/*
 * knd_validate_traffic.c - spec.traffic of a Service or Route as Knative validates it
 * (route_validation.go): latestRevision vs revisionName, exactly one of revisionName /
 * configurationName (the configuration is implicit in a Service), percent bounds, tags as
 * DNS-1035 labels and unique, no url in spec, and a sum of exactly 100.
 */
#include <stdio.h>
#include <string.h>

#include "knd_alloc.h"
#include "knd_json.h"
#include "knd_naming.h"
#include "knd_validate_int.h"

static const knd_vfield_t knd_vtraffic_fields[] = {
    {"tag", KND_VT_STR, NULL},
    {"revisionName", KND_VT_STR, NULL},
    {"configurationName", KND_VT_STR, NULL},
    {"latestRevision", KND_VT_BOOL, NULL},
    {"percent", KND_VT_INT, NULL},
    {"url", KND_VT_STR, NULL},
};

static void knd_vtraffic_target(knd_vctx_t *c, const json_t *tt, const char *p, bool in_service)
{
    const char *rev = knd_json_str(tt, "revisionName", "");
    const char *cfg = knd_json_str(tt, "configurationName", "");
    const char *url = knd_json_str(tt, "url", "");
    json_t *lr = json_object_get(tt, "latestRevision");
    json_t *pct = json_object_get(tt, "percent");

    if (json_is_boolean(lr)) {
        bool latest = json_is_true(lr);
        bool pinned = *rev != '\0';
        if (pinned == latest)
            knd__verr(c, p, "latestRevision", "may not set revisionName \"%s\" when "
                      "latestRevision is %s", rev, latest ? "true" : "false");
    }
    if (in_service && *cfg != '\0') {
        knd__verr(c, p, "configurationName", "must not set the field(s)");
    } else if (*rev != '\0' && *cfg != '\0') {
        const char *fs[] = {"revisionName", "configurationName"};
        knd__verr_multi(c, p, fs, 2, "expected exactly one, got both");
    } else if (*rev != '\0') {
        if (!knd__vqualified_name(rev))
            knd__verr(c, p, "revisionName", "invalid key name \"%s\"", rev);
    } else if (*cfg != '\0') {
        if (!knd__vqualified_name(cfg))
            knd__verr(c, p, "configurationName", "invalid key name \"%s\"", cfg);
    } else if (!in_service) {
        const char *fs[] = {"revisionName", "configurationName"};
        knd__verr_multi(c, p, fs, 2, "expected exactly one, got neither");
    }
    if (json_is_integer(pct) && (json_integer_value(pct) < 0 || json_integer_value(pct) > 100))
        knd__verr_bounds(c, p, "percent", json_integer_value(pct), 0, 100);
    /* Knative raises this twice without a tag; its printer merges the two. */
    if (*url != '\0')
        knd__verr(c, p, "url", "must not set the field(s)");
}

void knd__validate_traffic(knd_vctx_t *c, const json_t *traffic, const char *path,
                           bool in_service)
{
    long long sum = 0;
    size_t i;
    json_t *tt;
    json_array_foreach(traffic, i, tt) {
        char p[KND_VPATH_MAX];
        knd__vpathf(p, path, "[%zu]", i);
        if (!KND_VFIELDS(c, tt, p, knd_vtraffic_fields))
            continue;
        knd_vtraffic_target(c, tt, p, in_service);
        sum += knd_json_int(tt, "percent", 0);
        const char *tag = knd_json_str(tt, "tag", "");
        if (*tag == '\0')
            continue;
        if (!knd_is_dns1035_label(tag)) {
            char msgs[1024];
            knd__vdns1035_msgs(tag, msgs, sizeof(msgs));
            char f[32];
            /* ErrInvalidArrayValue puts the index on the field: "traffic.tag[i]". */
            snprintf(f, sizeof(f), "tag[%zu]", i);
            knd__verr(c, path, f, "invalid value: not a DNS 1035 label: %s", msgs);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(knd_json_str(json_array_get(traffic, j), "tag", ""), tag) == 0) {
                char a[32], b[32], msg[KND_VPATH_MAX];
                snprintf(a, sizeof(a), "[%zu].tag", i);
                snprintf(b, sizeof(b), "[%zu].tag", j);
                const char *fs[] = {a, b};
                snprintf(msg, sizeof(msg), "Multiple definitions for \"%s\"", tag);
                knd__verr_multi(c, path, fs, 2, msg);
                break;
            }
        }
    }
    if (sum != 100)
        knd__verr(c, path, "", "Traffic targets sum to %lld, want 100", sum);
}
