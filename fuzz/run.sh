#!/bin/sh
# fuzz/run.sh [SECONDS] - builds the libFuzzer targets with clang (ASan + UBSan) into build-fuzz/
# and runs each for SECONDS (default 60) from its corpus, which persists in build-fuzz/corpus-*.
# Not part of `make test`: fuzzing finds more the longer it runs. Exits non-zero if a target
# crashed, leaked or broke an invariant; libFuzzer leaves the input as build-fuzz/crash-*.
set -eu
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
case $SECONDS_EACH in
'' | *[!0-9]* | 0) # libFuzzer takes 0 for "no limit": a run that never ends
    echo "fuzz/run.sh: SECONDS must be a whole number of at least 1" >&2
    exit 2
    ;;
esac
OUT=build-fuzz
if ! command -v clang >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang >/dev/null
    else
        echo "fuzz/run.sh: needs clang (apt-get install clang)" >&2
        exit 1
    fi
fi
mkdir -p "$OUT"
# UBSan findings abort (no recovery), so libFuzzer keeps the input like any crash.
CC="clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
# KND_NO_POISON: libFuzzer's leak check after each input cannot see into poisoned free lists.
CC="$CC -D_GNU_SOURCE -DKND_NO_POISON -Isrc/core"
LIBS="$(pkg-config --cflags --libs jansson libcrypto libssl libuv yaml-0.1 sqlite3) -lm"
LLHTTP=/usr/share/llhttp

# shellcheck disable=SC2086 # the flag lists are meant to split
$CC -Isrc/yaml fuzz/fuzz_yaml.c src/yaml/knd_yaml.c src/yaml/knd_yaml_scalar.c \
    src/yaml/knd_posmap.c src/core/*.c $LIBS -o "$OUT/fuzz_yaml"
# shellcheck disable=SC2086
$CC -Isrc/model fuzz/fuzz_validate.c src/model/*.c src/core/*.c $LIBS -o "$OUT/fuzz_validate"
# shellcheck disable=SC2086
$CC -Isrc/kube fuzz/fuzz_kube.c src/kube/knd_kube_proto.c src/kube/knd_kube_select.c \
    src/kube/knd_kube_patch.c src/core/*.c $LIBS -o "$OUT/fuzz_kube"
# shellcheck disable=SC2086
$CC -Isrc/http -Isrc/ingress -Isrc/activator -Isrc/metrics -I/usr/share/include/llhttp \
    fuzz/fuzz_ingress.c fuzz/knd_fuzz_client.c src/ingress/*.c src/activator/*.c src/http/*.c \
    src/metrics/*.c src/core/*.c $LLHTTP/api.c $LLHTTP/http.c $LLHTTP/llhttp.c $LIBS \
    -o "$OUT/fuzz_ingress"
# fuzz_api: everything but the daemon's main and the CLI.
API_DIRS="yaml model store http kube supervisor activator autoscale metrics ingress reconcile api"
API_INC="" API_SRC=""
for d in $API_DIRS; do
    API_INC="$API_INC -Isrc/$d"
    API_SRC="$API_SRC $(echo src/"$d"/*.c)"
done
# shellcheck disable=SC2086
$CC $API_INC -I/usr/share/include/llhttp fuzz/fuzz_api.c fuzz/knd_fuzz_client.c $API_SRC \
    src/core/*.c $LLHTTP/api.c $LLHTTP/http.c $LLHTTP/llhttp.c $LIBS -o "$OUT/fuzz_api"

/usr/bin/python3 fuzz/make_seeds.py "$OUT/seeds-validate" >/dev/null
/usr/bin/python3 fuzz/make_ingress_seeds.py "$OUT/seeds-ingress" >/dev/null
/usr/bin/python3 fuzz/make_api_seeds.py "$OUT/seeds-api" >/dev/null
status=0
for t in yaml validate kube ingress api; do
    mkdir -p "$OUT/corpus-$t"
    seeds=""
    case $t in
    yaml) seeds=examples ;;
    validate) seeds=$OUT/seeds-validate ;;
    ingress) seeds=$OUT/seeds-ingress ;;
    api) seeds=$OUT/seeds-api ;;
    esac
    dict=""
    [ -f "fuzz/$t.dict" ] && dict="-dict=../fuzz/$t.dict"
    echo "fuzz_$t: ${SECONDS_EACH}s"
    # shellcheck disable=SC2086,SC2046 # the seed directories are meant to split
    if ! (cd "$OUT" && ./fuzz_$t -max_total_time="$SECONDS_EACH" -max_len=16384 \
            -artifact_prefix=./ $dict "corpus-$t" $(for s in $seeds; do echo "../$s"; done) \
            >"fuzz_$t.log" 2>&1); then
        echo "fuzz_$t FAILED: see $OUT/fuzz_$t.log" >&2
        status=1
    fi
    tail -n 1 "$OUT/fuzz_$t.log"
done
exit $status
