# The README's two commands live here: `make demo` and `make test`. Everything else is CMake.
BUILD      ?= build
ASAN_BUILD ?= build-asan
CMAKE      ?= cmake
JOBS       ?= $(shell nproc)

# Debian packages the build, the tests and the demo need (DESIGN §3).
DEB_PACKAGES = build-essential cmake pkg-config libuv1-dev node-llhttp libyaml-dev \
               libjansson-dev libsqlite3-dev libssl-dev libcmocka-dev python3 python3-pytest \
               python3-flask python3-yaml curl procps prometheus

.PHONY: all knd deps test unit e2e demo bench clean

all: knd

knd:
	$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	$(CMAKE) --build $(BUILD) -j $(JOBS)

# Installs missing packages when run as root; otherwise only checks.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing packages (run as root to install):$$missing"; exit 1; fi; \
	fi

# Every unit and end-to-end test, under AddressSanitizer + UndefinedBehaviorSanitizer.
test: deps
	$(CMAKE) -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKND_SANITIZE=ON -DKND_WERROR=ON >/dev/null
	$(CMAKE) --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j 2

demo: deps knd
	./examples/demo.sh $(BUILD)/knd

# Benchmarks (not part of `make test`): release build, cold-start figures into bench/results/.
bench: deps
	./bench/run.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
