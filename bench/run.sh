#!/bin/sh
# bench/run.sh - builds the release binaries and runs the benchmarks (`make bench`).
# Extra arguments go to bench/coldstart.py (e.g. --rounds 20).
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
JOBS=${JOBS:-$(nproc)}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target knd knd-testapp -j "$JOBS"
exec /usr/bin/python3 bench/coldstart.py --knd "$BUILD/knd" \
    --app "$BUILD/tests/apps/knd-testapp" "$@"
