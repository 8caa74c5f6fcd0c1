/*
 * knd_naming.h - Knative's child and revision names (SPEC §e.2), DNS label checks.
 */
#ifndef KND_NAMING_H
#define KND_NAMING_H

#include <stdbool.h>

#define KND_NAME_MAX 63

/**
 * kmeta.ChildName(parent, suffix): parent+suffix if it fits in 63 chars, otherwise the first
 * 63-32-len(suffix) chars of parent, then md5hex(parent), then suffix. out has room for 64 bytes.
 */
void knd_child_name(const char *parent, const char *suffix, char out[KND_NAME_MAX + 1]);
/** "<config>-%05lld" through knd_child_name. */
void knd_revision_name(const char *config, long long generation, char out[KND_NAME_MAX + 1]);

/** RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63. */
bool knd_is_dns1123_label(const char *s);
/** RFC 1035 label: [a-z]([-a-z0-9]*[a-z0-9])?, at most 63. */
bool knd_is_dns1035_label(const char *s);
/** RFC 1123 subdomain: dot-separated 1123 labels, at most 253. */
bool knd_is_dns1123_subdomain(const char *s);

#endif
