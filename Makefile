# facenet-c - plain Makefile.  `make` builds libfacenet.a, the CLI and the tools;
# `make test` runs every test; `make asan` runs them under ASan+UBSan;
# `make weights` fetches and converts the default model; `make demo` runs the
# office scenario on it.  Objects go under build/ (build-asan/ for sanitizers).

CC      ?= cc
BUILD   ?= build
CFLAGS  ?= -O2 -g
# always on, also when CFLAGS is given on the command line (the fuzz build passes it)
FN_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -MMD -MP
CFLAGS  += $(FN_CFLAGS)
PKGS    := openblas libcjson hdf5 libjpeg libpng sqlite3
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CPPFLAGS += -Iinclude -Isrc $(PKG_CFLAGS)
LDLIBS  += $(PKG_LIBS) -lm -lpthread
FACENET_SHARED ?= ../shared
export FACENET_SHARED

LIB_SRC   := $(wildcard src/core/*.c src/io/*.c src/layers/*.c src/net/*.c src/app/*.c)
CLI_SRC   := $(wildcard src/cli/*.c)
TOOL_LIB  := $(wildcard tools/lib/*.c)
TOOL_SRC  := $(wildcard tools/*.c)
TEST_LIB  := $(wildcard tests/lib/*.c)
TEST_SRC  := $(wildcard tests/test_*.c)
BENCH_SRC := $(wildcard bench/*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
LIB     := $(BUILD)/libfacenet.a
CLI     := $(BUILD)/facenet
TOOLS   := $(patsubst tools/%.c,$(BUILD)/tools/%,$(TOOL_SRC))
TESTS   := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
# LD_PRELOAD shim of the allocation-failure sweep (never sanitized: it must not come
# before the sanitizer runtime)
FAILMALLOC := $(BUILD)/tests/alloc/failmalloc.so

.PHONY: all build-all deps test asan bench weights demo clean
# keep the objects of tests, tools and benchmarks (make would delete them as intermediates)
.SECONDARY:
# `all` first installs what is missing, then builds in a fresh make: the pkg-config
# flags above are computed when a Makefile is read, so the build must be read after
# the install (on a fresh machine they would otherwise be empty).
all: deps-check
	@$(MAKE) --no-print-directory build-all
build-all: $(LIB) $(CLI) $(TOOLS) $(TESTS) $(BENCHES) $(FAILMALLOC)

# Install missing Debian packages (no-op when everything is there).
deps:
	@bash scripts/setup.sh
.PHONY: deps-check
deps-check:
	@pkg-config --exists $(PKGS) cmocka || bash scripts/setup.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB): $(call obj,$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

$(CLI): $(call obj,$(CLI_SRC)) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tools/%: $(BUILD)/tools/%.o $(call obj,$(TOOL_LIB)) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The public header stands alone: its test is compiled with include/ only (no src/, no
# cJSON or HDF5 include paths), and `check-api` compiles the header by itself.
$(BUILD)/tests/test_public_api.o: tests/test_public_api.c include/facenet.h
	@mkdir -p $(dir $@)
	$(CC) -Iinclude $(CFLAGS) -c $< -o $@

.PHONY: check-api
check-api:
	$(CC) -std=c11 -Wall -Wextra -Werror -pedantic -fsyntax-only -x c include/facenet.h

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(call obj,$(TEST_LIB)) $(call obj,$(TOOL_LIB)) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -lcmocka -o $@

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(FAILMALLOC): tests/alloc/failmalloc.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -std=c11 -Wall -Wextra -shared -fPIC $< -o $@ -ldl

# The whole allocation-failure sweep (every allocation of 4 CLI runs; `make test` runs
# a stride of it): tests/alloc/sweep.sh.
.PHONY: alloc-sweep
alloc-sweep: all
	@BUILD=$(BUILD) bash tests/alloc/sweep.sh

# Tests need the CLI and tools too (end-to-end tests drive them).
test: all weights check-api
	@BUILD=$(BUILD) bash tests/run.sh

asan:
	FACENET_TEST_LFW_LIMIT=300 ASAN_OPTIONS=detect_leaks=1 $(MAKE) BUILD=build-asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" LDFLAGS="-fsanitize=address,undefined" test

bench: all
	@BUILD=$(BUILD) bash bench/run.sh

weights: all
	@BUILD=$(BUILD) bash scripts/fetch_weights.sh

demo: weights
	@BUILD=$(BUILD) bash scripts/office_demo.sh

# Fuzzing (fuzz/README.md): clang + libFuzzer, the library compiled with the same
# sanitizers into $(FUZZ_BUILD)/.  `make fuzz` builds every fuzz/fuzz_*.c target, makes
# the seeds and runs each target FUZZ_SECONDS seconds; non-zero exit on any crash,
# leak or undefined behaviour.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_SRC     := $(wildcard fuzz/fuzz_*.c)
FUZZERS      := $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
.PHONY: fuzz fuzz-build fuzz-targets
fuzz: fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) bash fuzz/make_seeds.sh
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/run.sh
fuzz-build:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang \
	    CFLAGS="-O1 -g $(FN_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link" fuzz-targets
fuzz-targets: $(FUZZERS) $(BUILD)/fuzz/seedgen $(CLI)
$(BUILD)/fuzz/seedgen: $(BUILD)/fuzz/seedgen.o $(LIB)
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/fuzz/%: $(BUILD)/fuzz/%.o $(call obj,$(TOOL_LIB)) $(LIB)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $^ $(LDLIBS) -o $@

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
