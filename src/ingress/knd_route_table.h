/*
 * knd_route_table.h - the ingress's immutable host -> traffic table.
 *
 * The reconciler builds a complete new table whenever routes change, seals it, and swaps it in;
 * a request keeps a reference to the table it started with (DESIGN §2), so an in-flight request
 * never sees a half-updated table. Entries hold references to the revisions they route to.
 */
#ifndef KND_ROUTE_TABLE_H
#define KND_ROUTE_TABLE_H

#include <stddef.h>

#include "knd_activator.h"
#include "knd_map.h"

typedef struct {
    knd_rev_t *rev; /* reference held by the table */
    int percent;
    char *tag;      /* owned; NULL when the target has no tag */
} knd_rt_target_t;

typedef struct {
    char *host;      /* owned, lowercase, no port */
    char *ns, *route;
    char *tag;       /* the tag this host belongs to, or NULL for the route's main hosts */
    knd_rt_target_t *targets; /* owned */
    size_t ntargets;
    int total;       /* sum of percents (100 when resolved) */
} knd_rt_entry_t;

typedef struct knd_route_table_s {
    int refs;
    knd_rt_entry_t *entries; /* sorted by host after seal */
    size_t n, cap;
    knd_map_t hosts;         /* while building: the hosts added, for duplicates (freed at seal) */
    bool sealed;
} knd_route_table_t;

knd_route_table_t *knd_route_table_new(void);
knd_route_table_t *knd_route_table_retain(knd_route_table_t *t);
void knd_route_table_release(knd_route_table_t *t);

/**
 * Adds a host. targets are copied (revision references taken). A host added twice keeps the
 * first entry (a DomainMapping may not steal a Route's host) and returns -1.
 */
int knd_route_table_add(knd_route_table_t *t, const char *host, const char *ns, const char *route,
                        const char *tag, const knd_rt_target_t *targets, size_t ntargets);
void knd_route_table_seal(knd_route_table_t *t);

/** Finds the entry for a Host header value (port stripped, case-insensitive), or NULL. */
const knd_rt_entry_t *knd_route_table_lookup(const knd_route_table_t *t, const char *host);
/** A target by weight (percent); NULL if the entry has no target with a share. */
const knd_rt_target_t *knd_route_table_pick(const knd_rt_entry_t *e, unsigned rnd);
/** The target carrying `tag` in e, or NULL. */
const knd_rt_target_t *knd_route_table_tag(const knd_rt_entry_t *e, const char *tag);

#endif
