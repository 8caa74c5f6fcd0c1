#!/usr/bin/python3
"""The four Resimate API services of the seed design, as one small Flask app for local runs.

SERVICE_NAME picks the service (core-model-api, campaigns-api, users-api,
notification-service). Every service has the seed's health endpoints:

  GET /health/live   200 {"status": "alive"}
  GET /health/ready  200 {"status": "ready"} once the background "connections" are up, else 503

plus GET / (which service and revision answered) and a few JSON endpoints of its own (see
examples/README.md). Listens on 127.0.0.1:$PORT, as Knative's runtime contract asks; exits 0
on SIGTERM. State is in memory: each instance has its own.
"""
import itertools
import os
import signal
import sys
import threading
import time

from flask import Flask, abort, jsonify, request

SERVICE = os.environ.get("SERVICE_NAME", "core-model-api")
WARMUP_SECONDS = float(os.environ.get("WARMUP_MS", "200")) / 1000.0

app = Flask(SERVICE)


class ConnectionPool:
    """The seed's readiness pattern: connect in the background so the process starts fast and
    /health/ready turns 200 when the dependencies are reachable. Here the connections are
    simulated by a short warm-up; the URLs only have to be set when the service needs them."""

    def __init__(self):
        self.ready = threading.Event()
        threading.Thread(target=self._connect, daemon=True).start()

    def _connect(self):
        time.sleep(WARMUP_SECONDS)
        self.ready.set()

    def is_ready(self):
        return self.ready.is_set()


pool = ConnectionPool()
ids = itertools.count(1)
store = {
    "models": {"m1": {"id": "m1", "name": "churn", "version": "1.0.0"},
               "m2": {"id": "m2", "name": "ltv", "version": "2.1.0"}},
    "campaigns": {},
    "users": {"u1": {"id": "u1", "name": "Ada"}, "u2": {"id": "u2", "name": "Grace"}},
    "notifications": [],
}


def only(*services):
    if SERVICE not in services:
        abort(404)


@app.get("/health/live")
def liveness():
    return jsonify(status="alive"), 200


@app.get("/health/ready")
def readiness():
    if pool.is_ready():
        return jsonify(status="ready"), 200
    return jsonify(status="not ready"), 503


@app.get("/")
def index():
    return jsonify(service=SERVICE, revision=os.environ.get("K_REVISION", ""),
                   configuration=os.environ.get("K_CONFIGURATION", ""),
                   database=bool(os.environ.get("DATABASE_URL")),
                   redis=bool(os.environ.get("REDIS_URL")))


# ---------------------------------------------------------------- core-model-api

@app.get("/models")
def list_models():
    only("core-model-api")
    return jsonify(models=list(store["models"].values()))


@app.post("/predict")
def predict():
    only("core-model-api")
    body = request.get_json(silent=True) or {}
    model = store["models"].get(body.get("model", "m1"))
    if model is None:
        abort(404)
    features = body.get("features", [])
    score = sum(float(x) for x in features) / len(features) if features else 0.5
    return jsonify(model=model["id"], score=round(score, 4))


# ---------------------------------------------------------------- campaigns-api

@app.get("/campaigns")
def list_campaigns():
    only("campaigns-api")
    return jsonify(campaigns=list(store["campaigns"].values()))


@app.post("/campaigns")
def create_campaign():
    only("campaigns-api")
    body = request.get_json(silent=True) or {}
    campaign = {"id": f"c{next(ids)}", "name": body.get("name", "untitled"), "status": "draft"}
    store["campaigns"][campaign["id"]] = campaign
    return jsonify(campaign), 201


# ---------------------------------------------------------------- users-api

@app.get("/users")
def list_users():
    only("users-api")
    return jsonify(users=list(store["users"].values()))


@app.get("/users/<user_id>")
def get_user(user_id):
    only("users-api")
    user = store["users"].get(user_id)
    if user is None:
        abort(404)
    return jsonify(user)


# ---------------------------------------------------------------- notification-service

@app.post("/notify")
def notify():
    only("notification-service")
    body = request.get_json(silent=True) or {}
    note = {"id": f"n{next(ids)}", "to": body.get("to", ""), "message": body.get("message", "")}
    store["notifications"].append(note)
    return jsonify(queued=True, id=note["id"]), 202


@app.get("/notifications")
def list_notifications():
    only("notification-service")
    return jsonify(notifications=store["notifications"])


def main():
    # Knative stops an instance with SIGTERM; leave cleanly instead of dying on the signal.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    port = int(os.environ.get("PORT", "8080"))
    print(f"{SERVICE} listening on 127.0.0.1:{port}", flush=True)
    app.run(host="127.0.0.1", port=port, threaded=True)


if __name__ == "__main__":
    main()
