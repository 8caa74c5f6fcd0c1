#!/bin/sh
# bench/run.sh - builds the release binaries and runs the benchmarks (`make bench`).
# Extra arguments go to bench/coldstart.py (e.g. --rounds 20); THROUGHPUT_ARGS to
# bench/throughput.py (e.g. THROUGHPUT_ARGS="--duration 2 --reps 1").
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
JOBS=${JOBS:-$(nproc)}

# The throughput bench compares knd with nginx and HAProxy under wrk, and counts instructions
# with valgrind: Debian packages, installed when missing and run as root.
missing=""
for p in wrk nginx haproxy valgrind strace; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "installing:$missing"
        apt-get update -qq
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    else
        echo "missing packages (run as root to install):$missing" >&2
        exit 1
    fi
fi

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target knd knd-testapp knd-bench-pingpong knd-bench-slices -j "$JOBS"
/usr/bin/python3 bench/coldstart.py --knd "$BUILD/knd" \
    --app "$BUILD/tests/apps/knd-testapp" "$@"
/usr/bin/python3 bench/footprint.py --knd "$BUILD/knd" --app "$BUILD/tests/apps/knd-testapp"
# shellcheck disable=SC2086
/usr/bin/python3 bench/throughput.py --knd "$BUILD/knd" \
    --app "$BUILD/tests/apps/knd-testapp" --pingpong "$BUILD/bench/knd-bench-pingpong" \
    --slices "$BUILD/bench/knd-bench-slices" \
    ${THROUGHPUT_ARGS:-}
# The same comparison with wrk on one CPU and the proxies and the instance on the other: far
# less scheduler noise in the latencies (callgrind and apply -> Ready are not repeated).
# shellcheck disable=SC2086
exec /usr/bin/python3 bench/throughput.py --knd "$BUILD/knd" \
    --app "$BUILD/tests/apps/knd-testapp" --pingpong "$BUILD/bench/knd-bench-pingpong" \
    --slices "$BUILD/bench/knd-bench-slices" \
    --pin --no-callgrind --ready-rounds 1 \
    ${THROUGHPUT_ARGS:-}
