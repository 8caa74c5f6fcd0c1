#!/usr/bin/env bash
# demo.sh - the `make demo` walk-through: start knd, deploy examples/hello, call it, show the
# objects, stop. Everything lives in a temporary state directory removed on exit.
#
# usage: examples/demo.sh [path/to/knd]      (default: build/knd)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KND=${1:-build/knd}
case $KND in
  /*) ;;
  *) KND="$PWD/$KND" ;;
esac
cd "$ROOT" # the examples' commands are relative to the repository root

if [ -t 1 ]; then BOLD=$'\033[1m' RESET=$'\033[0m'; else BOLD="" RESET=""; fi
step() { printf '\n%s==> %s%s\n' "$BOLD" "$*" "$RESET"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

[ -x "$KND" ] || die "no knd binary at $KND (run: make)"
[ -x build/tests/apps/knd-testapp ] ||
  die "examples/hello runs build/tests/apps/knd-testapp, which is missing (run: make)"
command -v curl >/dev/null || die "curl is needed"

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

DIR=$(mktemp -d "${TMPDIR:-/tmp}/knd-demo.XXXXXX")
export KND_STATE_DIR="$DIR"
DAEMON_PID=""

stop_daemon() {
  [ -n "$DAEMON_PID" ] || return 0
  kill -TERM "$DAEMON_PID" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$DAEMON_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$DAEMON_PID" 2>/dev/null; then
    echo "knd did not stop within 10 s; killing it" >&2
    kill -KILL "$DAEMON_PID" 2>/dev/null || true
  fi
  DAEMON_STATUS=0
  wait "$DAEMON_PID" || DAEMON_STATUS=$?
  DAEMON_PID=""
}

cleanup() {
  local status=$?
  stop_daemon
  if [ "$status" -ne 0 ] && [ -f "$DIR/knd.log" ]; then
    echo "--- last lines of $DIR/knd.log ---" >&2
    tail -n 40 "$DIR/knd.log" >&2 || true
  fi
  rm -rf "$DIR"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Client verbs: the daemon is found through the state directory (its unix socket).
knd() {
  local verb=$1
  shift
  "$KND" "$verb" --state-dir "$DIR" "$@"
}

HTTP_PORT=$(free_port)
ADMIN_PORT=$(free_port)
API_PORT=$(free_port)

step "Starting knd serve (state in $DIR)"
"$KND" serve --state-dir "$DIR" --http-addr "127.0.0.1:$HTTP_PORT" \
  --admin-addr "127.0.0.1:$ADMIN_PORT" --api-addr "127.0.0.1:$API_PORT" \
  >"$DIR/knd.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 1 100); do
  [ -S "$DIR/knd.sock" ] && break
  kill -0 "$DAEMON_PID" 2>/dev/null || die "knd serve exited during startup"
  sleep 0.1
done
[ -S "$DIR/knd.sock" ] || die "knd serve did not open $DIR/knd.sock within 10 s"
echo "ingress http://127.0.0.1:$HTTP_PORT  admin http://127.0.0.1:$ADMIN_PORT  pid $DAEMON_PID"

step "knd apply -f examples/hello/service.yaml"
knd apply -f examples/hello/service.yaml

step "knd wait ksvc hello --for=condition=Ready --timeout 30s"
knd wait ksvc hello --for=condition=Ready --timeout 30s

HOST=hello.default.127.0.0.1.sslip.io
step "curl -H 'Host: $HOST' http://127.0.0.1:$HTTP_PORT/"
RESPONSE=$(curl -sS --max-time 10 -H "Host: $HOST" "http://127.0.0.1:$HTTP_PORT/")
printf '%s\n' "$RESPONSE"
[ "$RESPONSE" = "Hello knd!" ] || die "unexpected response from hello"

step "knd get ksvc"
knd get ksvc

step "knd get revisions"
knd get revisions

# The same objects through the Kubernetes API, with the kubeconfig knd wrote at start-up.
if command -v kubectl >/dev/null 2>&1; then
  step "KUBECONFIG=$DIR/kubeconfig kubectl get ksvc,rev"
  HOME="$DIR" KUBECONFIG="$DIR/kubeconfig" kubectl get ksvc,rev
fi

step "Stopping knd (SIGTERM)"
stop_daemon
echo "knd exited with status $DAEMON_STATUS"
[ "$DAEMON_STATUS" -eq 0 ] || die "knd did not shut down cleanly"

step "Done: hello was deployed, served and shut down on this machine."
