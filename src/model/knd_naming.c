/* knd_naming.c - Knative child/revision names and DNS label checks (see knd_naming.h). */
#include "knd_naming.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knd_alloc.h"

/* md5 hex of s, as kmeta.ChildName uses to keep long names unique. */
static void knd_naming_md5hex(const char *s, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    KND_ASSERT(EVP_Digest(s, strlen(s), md, &n, EVP_md5(), NULL) == 1 && n == 16);
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static bool knd_naming_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

void knd_child_name(const char *parent, const char *suffix, char out[KND_NAME_MAX + 1])
{
    const size_t head = KND_NAME_MAX - 32; /* room left beside an md5 hex digest */
    size_t plen = strlen(parent), slen = strlen(suffix);
    char hex[33];
    if (plen + slen <= KND_NAME_MAX) {
        memcpy(out, parent, plen);
        memcpy(out + plen, suffix, slen + 1);
        return;
    }
    if (slen >= head) {
        /* kmeta.ChildName with a very long suffix: hash everything, keep a prefix of the parent,
         * pad with the head of the suffix, and drop trailing non-alphanumerics. */
        char *both = knd_xasprintf("%s%s", parent, suffix);
        knd_naming_md5hex(both, hex);
        free(both);
        size_t keep = plen < head ? plen : head;
        memcpy(out, parent, keep);
        memcpy(out + keep, hex, 32);
        size_t n = keep + 32;
        size_t pad = KND_NAME_MAX - n < slen ? KND_NAME_MAX - n : slen;
        memcpy(out + n, suffix, pad);
        n += pad;
        while (n > 0 && !knd_naming_alnum(out[n - 1]))
            n--;
        out[n] = '\0';
        return;
    }
    /* Keep a prefix of the parent, then md5(parent), then the suffix. */
    knd_naming_md5hex(parent, hex);
    size_t keep = head - slen;
    memcpy(out, parent, keep);
    memcpy(out + keep, hex, 32);
    memcpy(out + keep + 32, suffix, slen + 1);
}

void knd_revision_name(const char *config, long long generation, char out[KND_NAME_MAX + 1])
{
    char suffix[32];
    snprintf(suffix, sizeof(suffix), "-%05lld", generation);
    knd_child_name(config, suffix, out);
}

static int knd_naming_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool knd_naming_label(const char *s, size_t n, bool alpha_first)
{
    if (n == 0 || n > KND_NAME_MAX)
        return false;
    if (alpha_first ? !(s[0] >= 'a' && s[0] <= 'z') : !knd_naming_lower_alnum(s[0]))
        return false;
    if (!knd_naming_lower_alnum(s[n - 1]))
        return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!knd_naming_lower_alnum(s[i]) && s[i] != '-')
            return false;
    return true;
}

bool knd_is_dns1123_label(const char *s)
{
    return knd_naming_label(s, strlen(s), false);
}

bool knd_is_dns1035_label(const char *s)
{
    return knd_naming_label(s, strlen(s), true);
}

bool knd_is_dns1123_subdomain(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return false;
    const char *p = s;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (!knd_naming_label(p, len, false))
            return false;
        if (!dot)
            return true;
        p = dot + 1;
    }
}
