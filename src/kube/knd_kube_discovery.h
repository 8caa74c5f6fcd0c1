/*
 * knd_kube_discovery.h - what kubectl asks before anything else (shared/kubernetes-api.md
 * §1.1, §2, §3): /version, aggregated discovery v2 for /api and /apis, the legacy discovery
 * documents, and the OpenAPI answers. Pure: builds documents from model/'s kind table.
 */
#ifndef KND_KUBE_DISCOVERY_H
#define KND_KUBE_DISCOVERY_H

#include <jansson.h>
#include <stdbool.h>

/* The exact Content-Type of an aggregated discovery reply. */
#define KND_KUBE_AGGREGATED_CT "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

/** /version: a version.Info with major "1", minor "32" (kubectl's dispatcher picks its binary
 * from minor), gitVersion "v1.32.0-knd+<knd version>", platform "linux/amd64" etc. */
json_t *knd_kube_version(const char *knd_version);

/** True if an Accept header lists the aggregated discovery v2 (or v2beta1) media type. */
bool knd_kube_accept_aggregated(const char *accept);

/**
 * Aggregated discovery (APIGroupDiscoveryList, apidiscovery.k8s.io/v2). core true: /api
 * (one group named "", version v1: namespaces (Cluster), configmaps (cm), secrets, events (ev));
 * false: /apis (serving.knative.dev with v1 first, then v1beta1). Each resource carries
 * responseKind, scope, singularResource, verbs, shortNames, categories (Knative kinds: all,
 * knative, serving), and a status subresource for the Knative kinds.
 */
json_t *knd_kube_discovery_aggregated(bool core);

/** Legacy discovery: /api (APIVersions), /apis (APIGroupList). */
json_t *knd_kube_discovery_api_versions(void);
json_t *knd_kube_discovery_group_list(void);
/** Legacy /api/v1, /apis/serving.knative.dev/v1, .../v1beta1 (APIResourceList); /apis/<group>
 * gives an APIGroup. NULL for an unknown group or version. version may be NULL (APIGroup). */
json_t *knd_kube_discovery_resources(const char *group, const char *version);

#endif
