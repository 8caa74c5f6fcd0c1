/*
 * knd_kube_proto.h - decoding of the Kubernetes protobuf request bodies kubectl sends for
 * `create secret|configmap|namespace` (Content-Type application/vnd.kubernetes.protobuf):
 * the "k8s\0" magic, a runtime.Unknown envelope (typeMeta, raw, contentEncoding, contentType)
 * and the v1 Secret / ConfigMap / Namespace messages (see shared/kubernetes-api.md §10).
 * Only decoding: responses are always JSON.
 */
#ifndef KND_KUBE_PROTO_H
#define KND_KUBE_PROTO_H

#include <jansson.h>
#include <stddef.h>

#include "knd_err.h"

/**
 * Decodes body into the equivalent JSON object (new reference in *out): apiVersion, kind,
 * metadata (name, generateName, namespace, labels, annotations, and any other set fields),
 * and for Secret data (base64 of the raw bytes), stringData, type, immutable; for ConfigMap
 * data, binaryData (base64), immutable; for Namespace spec.finalizers. Empty strings and empty
 * messages that protobuf sends for unset fields are left out. Truncated or malformed input,
 * or another kind, fails with KND_E_INVALID and a message naming what was wrong
 * ("protobuf body: truncated varint at offset 12", "protobuf body: kind Pod is not supported").
 */
int knd_kube_proto_decode(const char *body, size_t n, json_t **out, knd_err_t *err);

#endif
