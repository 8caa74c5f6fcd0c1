#!/usr/bin/env python3
"""fuzz/make_api_seeds.py DIR - writes fuzz_api's seed inputs into DIR.

Each seed is a flags byte and what a client sends on the API socket (see fuzz/fuzz_api.c):
mostly several requests pipelined on one connection, so that mutations can reach what happens
to an object after it is created - reads with selectors and Tables, replaces with stale
versions, patches of every type, server-side apply, dry runs, watches, deletes - and the
discovery documents kubectl asks for.
"""
import json
import os
import sys

HALF_CLOSE, LINGER = 0x04, 0x08
SVC = "/apis/serving.knative.dev/v1/namespaces/default/services"
CM = "/api/v1/namespaces/default/configmaps"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def req(method, path, body=None, ctype="application/json", *headers):
    if isinstance(body, (dict, list)):
        body = json.dumps(body, separators=(",", ":"))
    data = (body or "").encode()
    head = "%s %s HTTP/1.1\r\nHost: localhost\r\n" % (method, path)
    for h in headers:
        head += h + "\r\n"
    if body is not None:
        head += "Content-Type: %s\r\nContent-Length: %d\r\n" % (ctype, len(data))
    return head.encode() + b"\r\n" + data


def service(name="hello", **spec):
    tmpl = {"spec": {"containers": [{"image": "ghcr.io/knative/helloworld-go:latest",
                                     "command": ["/bin/true"],
                                     "env": [{"name": "TARGET", "value": "knd"}]}]}}
    tmpl["spec"].update(spec)
    return {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": "x"}},
            "spec": {"template": tmpl}}


SPLIT = service("split")
SPLIT["spec"]["template"]["metadata"] = {"name": "split-v2", "annotations": {
    "autoscaling.knative.dev/min-scale": "1", "autoscaling.knative.dev/target": "10"}}
SPLIT["spec"]["traffic"] = [{"revisionName": "split-v2", "percent": 90, "tag": "current"},
                            {"latestRevision": True, "percent": 10, "tag": "latest"}]

APPLY = """apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: applied
spec:
  template:
    spec:
      containers:
        - image: ghcr.io/knative/helloworld-go:latest
          command: ["/bin/true"]
"""

CREATED = req("POST", SVC, service())
SEEDS = [
    (0, CREATED),
    (0, CREATED + req("GET", SVC + "/hello") + req("GET", SVC + "?labelSelector=app%3Dx,b!=c")),
    (0, CREATED + req("GET", SVC, None, "", "Accept: " + TABLE)),
    (0, CREATED + req("PUT", SVC + "/hello", dict(service(), metadata={
        "name": "hello", "namespace": "default", "resourceVersion": "1"}))),
    (0, CREATED + req("PATCH", SVC + "/hello", {"metadata": {"labels": {"b": "c"}}},
                      "application/merge-patch+json")),
    (0, CREATED + req("PATCH", SVC + "/hello", [
        {"op": "add", "path": "/spec/template/spec/containerConcurrency", "value": 2},
        {"op": "copy", "from": "/metadata/labels", "path": "/metadata/annotations"},
        {"op": "test", "path": "/kind", "value": "Service"}], "application/json-patch+json")),
    (0, req("PATCH", SVC + "/applied?fieldManager=kubectl&force=true", APPLY,
            "application/apply-patch+yaml") + req("PATCH", SVC + "/applied?fieldManager=k2",
                                                  APPLY, "application/apply-patch+yaml")),
    (0, req("POST", SVC + "?dryRun=All&fieldValidation=Strict", service("dry")) +
     req("POST", SVC + "?fieldValidation=Warn", dict(service("warn"), extra=1))),
    (0, req("POST", SVC, SPLIT) + req("PUT", SVC + "/split/status", {
        "apiVersion": "serving.knative.dev/v1", "kind": "Service",
        "metadata": {"name": "split"}, "status": {"conditions": []}})),
    (HALF_CLOSE, CREATED + req("GET", SVC + "?watch=true&resourceVersion=0")),
    (LINGER, req("GET", SVC + "?watch=1&timeoutSeconds=1&fieldSelector=metadata.name%3Dhello")
     + CREATED),
    (0, CREATED + req("DELETE", SVC + "/hello", {"dryRun": ["All"]}) +
     req("DELETE", SVC + "/hello") + req("GET", SVC + "/hello")),
    (0, req("POST", CM, {"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "c", "namespace": "default"},
                         "data": {"k": "v"}}) +
     req("PATCH", CM + "/c", {"data": {"k": None, "$patch": "replace"}},
         "application/strategic-merge-patch+json")),
    (0, req("POST", "/api/v1/namespaces/knative-serving/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "config-autoscaler", "namespace": "knative-serving"},
        "data": {"allow-zero-initial-scale": "true", "stable-window": "6s"}})),
    (0, req("POST", "/api/v1/namespaces/default/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "stringData": {"a": "b"}, "type": "Opaque"})),
    # kubectl create configmap's protobuf: the "k8s\0" magic, then a runtime.Unknown
    (0, req("POST", CM, "k8s\x00\x0a\x0f\x0a\x02v1\x12\x09ConfigMap\x12\x10\x0a\x05\x0a\x01p"
            "\x1a\x00\x12\x07\x0a\x01k\x12\x02vv", "application/vnd.kubernetes.protobuf")),
    (0, req("POST", "/apis/serving.knative.dev/v1beta1/namespaces/default/domainmappings", {
        "apiVersion": "serving.knative.dev/v1beta1", "kind": "DomainMapping",
        "metadata": {"name": "api.example.org"},
        "spec": {"ref": {"name": "hello", "kind": "Service",
                         "apiVersion": "serving.knative.dev/v1"}}})),
    (0, req("GET", "/api", None, "", "Accept: application/json;g=apidiscovery.k8s.io;v=v2;"
            "as=APIGroupDiscoveryList") + req("GET", "/apis") + req("GET", "/version") +
     req("GET", "/openapi/v2") + req("GET", "/apis/serving.knative.dev/v1")),
    (0, req("POST", "/apis/knd.dev/v1/images", {"image": "example.com/a:v1",
                                                "command": ["/bin/true"]}) +
     req("GET", "/apis/knd.dev/v1/images") +
     req("DELETE", "/apis/knd.dev/v1/images/example.com%2Fa%3Av1")),
    (0, CREATED + req("GET", "/apis/knd.dev/v1/namespaces/default/services/hello/logs")),
    (0, CREATED + req("GET", SVC + "/hello/scale") + req("GET", "/api/v1/namespaces") +
     req("GET", "/apis/serving.knative.dev/v1/revisions", None, "", "Accept: " + TABLE)),
    (0x03, CREATED + req("POST", SVC, service("second", containerConcurrency=1,
                                              timeoutSeconds=30))),
]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for i, (flags, data) in enumerate(SEEDS):
        with open(os.path.join(out, "seed-%02d" % i), "wb") as f:
            f.write(bytes([flags]) + data)
    print("%d seeds in %s" % (len(SEEDS), out))


if __name__ == "__main__":
    main()
