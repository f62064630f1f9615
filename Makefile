# facenet-c - plain Makefile.  `make` builds libfacenet.a, the CLI and the tools;
# `make test` runs every test; `make asan` runs them under ASan+UBSan;
# `make weights` fetches and converts the default model; `make demo` runs the
# office scenario on it; `make docs` regenerates the walkthrough's figures; `make install` / `make uninstall` (PREFIX, DESTDIR) copy
# what `make` and `make weights` built.  Objects go under build/ (build-asan/ for
# sanitizers; build/pic/ for the shared library).

CC      ?= cc
BUILD   ?= build
CFLAGS  ?= -O2 -g
# `override`: the language, warning and dependency flags stay when CFLAGS is given on
# the command line (make asan CFLAGS="-O1 -fsanitize=...", the fuzz build).
FN_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -MMD -MP
override CFLAGS += $(FN_CFLAGS)
PKGS    := openblas libcjson hdf5 libjpeg libpng sqlite3
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# Pictures, in the CLI only (the library links none of them): cairo draws the figures
# of `distance --plot`, `evaluate --plot` and `trace --maps`, Graphviz (libgvc,
# libcgraph) lays out `facenet graph`; the tests also parse them (cairo for PNG,
# libxml2 for SVG).
GFX_PKGS   := cairo fontconfig zlib libgvc libcgraph libxml-2.0
GFX_CFLAGS := $(shell pkg-config --cflags $(GFX_PKGS) 2>/dev/null)
CLI_LIBS   := $(shell pkg-config --libs cairo fontconfig zlib libgvc libcgraph 2>/dev/null)
TEST_LIBS  := $(shell pkg-config --libs $(GFX_PKGS) 2>/dev/null)
CPPFLAGS += -Iinclude -Isrc $(PKG_CFLAGS)
LDLIBS  += $(PKG_LIBS) -lm -lpthread

# Installation layout.  The data directory is compiled in (FN_DATADIR: where the
# default model is looked for), so build with the PREFIX you install to.
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR      = $(PREFIX)/bin
LIBDIR      = $(PREFIX)/lib
INCLUDEDIR  = $(PREFIX)/include
DATADIR     = $(PREFIX)/share/facenet
MODELDIR    = $(DATADIR)/models/dlib-resnet
MANDIR      = $(PREFIX)/share/man
DOCDIR      = $(PREFIX)/share/doc/facenet
BASHCOMPDIR = $(PREFIX)/share/bash-completion/completions
CPPFLAGS += -DFN_DATADIR='"$(DATADIR)"'
VERSION := $(shell sed -n 's/^.define FACENET_VERSION "\(.*\)"/\1/p' include/facenet.h)
SOMAJOR := $(firstword $(subst ., ,$(VERSION)))
PUBLIC_H := include/facenet.h include/facenet_app.h
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
pic = $(patsubst %.c,$(BUILD)/pic/%.o,$(1))
LIB     := $(BUILD)/libfacenet.a
SO      := $(BUILD)/libfacenet.so.$(VERSION)
SONAME  := libfacenet.so.$(SOMAJOR)
CLI     := $(BUILD)/facenet
TOOLS   := $(patsubst tools/%.c,$(BUILD)/tools/%,$(TOOL_SRC))
TESTS   := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
# LD_PRELOAD shim of the allocation-failure sweep (never sanitized: it must not come
# before the sanitizer runtime)
FAILMALLOC := $(BUILD)/tests/alloc/failmalloc.so

.PHONY: all build-all deps test asan tsan bench bench-compare bench-faces faceapi ort weights demo docs clean install uninstall FORCE
# keep the objects of tests, tools and benchmarks (make would delete them as intermediates)
.SECONDARY:
# `all` first installs what is missing, then builds in a fresh make: the pkg-config
# flags above are computed when a Makefile is read, so the build must be read after
# the install (on a fresh machine they would otherwise be empty).
all: deps-check
	@$(MAKE) --no-print-directory build-all
build-all: $(LIB) $(SO) $(CLI) $(TOOLS) $(TESTS) $(BENCHES) $(FAILMALLOC)

# Install missing Debian packages (no-op when everything is there).
deps:
	@bash scripts/setup.sh
.PHONY: deps-check
deps-check:
	@{ command -v pkg-config >/dev/null && pkg-config --exists $(PKGS) $(GFX_PKGS) cmocka && command -v parallel >/dev/null && command -v gfortran >/dev/null; } || bash scripts/setup.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -c $< -o $@

# Objects that use FN_DATADIR are rebuilt when PREFIX changes (the stamp holds the
# data directory they were compiled with; `make install` compares it with its own).
DATADIR_STAMP := $(BUILD)/datadir.stamp
DATADIR_SRC   := $(shell grep -l FN_DATADIR $(LIB_SRC) $(CLI_SRC) 2>/dev/null)
$(call obj,$(DATADIR_SRC)) $(call pic,$(DATADIR_SRC)): $(DATADIR_STAMP)
$(DATADIR_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(DATADIR)' | cmp -s - $@ || echo '$(DATADIR)' > $@
FORCE:

$(LIB): $(call obj,$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^

# The shared library exports exactly the functions the public headers declare.
$(BUILD)/libfacenet.map: $(PUBLIC_H)
	@mkdir -p $(dir $@)
	@{ echo '{'; echo '  global:'; \
	   sed -n 's/^[A-Za-z_][A-Za-z0-9_ *]*[ *]\(fn_[a-z0-9_]*\)(.*/    \1;/p' $(PUBLIC_H); \
	   echo '  local: *;'; echo '};'; } > $@

$(SO): $(call pic,$(LIB_SRC)) $(BUILD)/libfacenet.map
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,--version-script,$(BUILD)/libfacenet.map \
	    -Wl,--no-undefined $(call pic,$(LIB_SRC)) $(LDLIBS) -o $@
	ln -sf $(notdir $@) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/libfacenet.so

$(call obj,$(CLI_SRC)): CPPFLAGS += $(GFX_CFLAGS)
$(CLI): $(call obj,$(CLI_SRC)) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) $(CLI_LIBS) -o $@

$(BUILD)/tools/%: $(BUILD)/tools/%.o $(call obj,$(TOOL_LIB)) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The public header stands alone: its test is compiled with include/ only (no src/, no
# cJSON or HDF5 include paths), and `check-api` compiles the header by itself.
$(BUILD)/tests/test_public_api.o: tests/test_public_api.c include/facenet.h
	@mkdir -p $(dir $@)
	$(CC) -Iinclude $(CFLAGS) -c $< -o $@

.PHONY: check-api
check-api:
	@for h in $(PUBLIC_H); do \
	    echo "$(CC) -std=c11 -Wall -Wextra -Werror -pedantic -fsyntax-only -x c $$h"; \
	    $(CC) -std=c11 -Wall -Wextra -Werror -pedantic -fsyntax-only -x c $$h || exit 1; \
	done

# test_install links examples/embed.c as the build was linked (sanitizer flags)
$(BUILD)/tests/test_install.o: CPPFLAGS += -DFN_TEST_LDFLAGS='"$(LDFLAGS)"'

# unit tests of CLI parts (the CLI's objects are not in the library)
$(BUILD)/tests/test_prefetch: $(call obj,src/cli/prefetch.c)

$(call obj,$(TEST_SRC)): CPPFLAGS += $(GFX_CFLAGS)
$(BUILD)/tests/%: $(BUILD)/tests/%.o $(call obj,$(TEST_LIB)) $(call obj,$(TOOL_LIB)) $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) $(TEST_LIBS) -lcmocka -o $@

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

# Tests need the CLI and tools too (end-to-end tests drive them).  ONNX Runtime is
# installed like the weights (npm); if that fails test_keras2onnx skips its ONNX
# Runtime half and says why (FACENET_NO_ORT=1 skips the install).
test: all weights check-api
	@[ -n "$$FACENET_NO_ORT" ] || bash scripts/ort_setup.sh || \
	    echo "make test: ONNX Runtime unavailable; test_keras2onnx will skip its comparison with it"
	@BUILD=$(BUILD) bash tests/run.sh

asan:
	FACENET_TEST_LFW_LIMIT=300 ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 $(MAKE) BUILD=build-asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" LDFLAGS="-fsanitize=address,undefined" test

# The threaded code (thread pool, kernels on it, the CLI's decoding thread and nets)
# under ThreadSanitizer, with clang: tests/tsan.sh.
TSAN_BUILD ?= build-tsan
TSAN_TESTS := test_thread_pool test_gemm_packed test_winograd test_detect_layers
tsan: fuzz-deps weights
	@$(MAKE) --no-print-directory BUILD=$(TSAN_BUILD) CC=clang \
	    CFLAGS="-O1 -g $(FN_CFLAGS) -fsanitize=thread -fno-omit-frame-pointer" LDFLAGS="-fsanitize=thread" \
	    $(TSAN_BUILD)/facenet $(addprefix $(TSAN_BUILD)/tests/,$(TSAN_TESTS))
	@BUILD=$(TSAN_BUILD) bash tests/tsan.sh

bench: all
	@BUILD=$(BUILD) bash bench/run.sh

# onnxruntime-node, pinned, into build/ort (used by bench/ort_bench.js)
ort:
	@bash scripts/ort_setup.sh

# facenet-c against ONNX Runtime: both networks, 1 and 2 threads, batch 1 and 16
bench-compare: all weights
	@BUILD=$(BUILD) bash bench/compare.sh

# face-api's own pipeline (Node, tfjs wasm), pinned, into build/faceapi (used by
# bench/faceapi_bench.js)
faceapi:
	@bash scripts/faceapi_setup.sh

# facenet-c's photo pipeline (detect + landmarks + descriptors) against face-api's own,
# same pixels, 1 and 2 threads: a 500x375 photo and 1000 LFW photos (long: ~1 h on 2 cores)
bench-faces: all weights
	@BUILD=$(BUILD) bash bench/faces_compare.sh

weights: all
	@BUILD=$(BUILD) bash scripts/fetch_weights.sh

demo: weights
	@BUILD=$(BUILD) bash scripts/office_demo.sh

# Every figure of docs/walkthrough.md (docs/figures/) and its generated blocks, from
# the shared data with the project's commands (scripts/make_docs.sh).
docs: weights
	@BUILD=$(BUILD) bash scripts/make_docs.sh

# install copies what `make` and `make weights` built and never compiles (so `sudo make
# install` leaves no root-owned files in build/); it says what to run when something is
# missing.  The licence of the default model goes beside it.
INSTALL ?= install
FACEAPI_LICENSE := $(wildcard weights/.cache/face-api-*/LICENSE)
MODEL_FILES := weights/dlib-resnet/model.json weights/dlib-resnet/model.h5 weights/dlib-resnet/facenet.json
DETECT_MODELS := ssd-mobilenetv1 tiny-face-detector face-landmark-68 face-landmark-68-tiny
install:
	@for f in $(LIB) $(SO) $(CLI); do [ -f "$$f" ] || { echo "install: $$f is not built (run make PREFIX=$(PREFIX) first)" >&2; exit 1; }; done
	@for f in $(MODEL_FILES); do [ -f "$$f" ] || { echo "install: $$f is missing (run make weights first)" >&2; exit 1; }; done
	@built=$$(cat $(DATADIR_STAMP) 2>/dev/null); [ "$$built" = '$(DATADIR)' ] || \
	    echo "install: note: $(BUILD) was built for the data directory $${built:-?}; the installed programs look for the default model there, not in $(DATADIR) (rebuild with make PREFIX=$(PREFIX))" >&2
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(MODELDIR) $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 755 $(CLI) $(DESTDIR)$(BINDIR)/facenet
	$(INSTALL) -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/libfacenet.a
	$(INSTALL) -m 755 $(SO) $(DESTDIR)$(LIBDIR)/libfacenet.so.$(VERSION)
	ln -sf libfacenet.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libfacenet.so
	$(INSTALL) -m 644 $(PUBLIC_H) $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	    -e 's|@DATADIR@|$(DATADIR)|g' -e 's|@VERSION@|$(VERSION)|g' facenet.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/facenet.pc
	$(INSTALL) -m 644 $(MODEL_FILES) $(DESTDIR)$(MODELDIR)/
	@# the face detection and landmark nets every image command uses (docs/detection.md)
	@for m in $(DETECT_MODELS); do \
	    [ -f weights/$$m/model.h5 ] || { echo "install: weights/$$m is missing (run make weights first)" >&2; exit 1; }; \
	    echo "$(INSTALL) -d $(DESTDIR)$(DATADIR)/models/$$m"; \
	    $(INSTALL) -d $(DESTDIR)$(DATADIR)/models/$$m && \
	    $(INSTALL) -m 644 $$(ls weights/$$m/* | grep -E '/(model\.json|model\.h5|facenet\.json|detector\.json|anchors\.f32)$$') \
	        $(DESTDIR)$(DATADIR)/models/$$m/ || exit 1; \
	done
	$(if $(FACEAPI_LICENSE),$(INSTALL) -m 644 $(firstword $(FACEAPI_LICENSE)) $(DESTDIR)$(MODELDIR)/LICENSE.face-api)
	$(INSTALL) -m 644 LICENSE README.md $(DESTDIR)$(DOCDIR)/
	@if [ -f docs/facenet.1 ]; then \
	    echo "$(INSTALL) -D -m 644 docs/facenet.1 $(DESTDIR)$(MANDIR)/man1/facenet.1"; \
	    $(INSTALL) -D -m 644 docs/facenet.1 $(DESTDIR)$(MANDIR)/man1/facenet.1; \
	else echo "install: docs/facenet.1 not written yet; no man page installed"; fi
	@if [ -f scripts/facenet.bash-completion ]; then \
	    echo "$(INSTALL) -D -m 644 scripts/facenet.bash-completion $(DESTDIR)$(BASHCOMPDIR)/facenet"; \
	    $(INSTALL) -D -m 644 scripts/facenet.bash-completion $(DESTDIR)$(BASHCOMPDIR)/facenet; \
	else echo "install: scripts/facenet.bash-completion not written yet; no completion installed"; fi
	@# the dynamic linker's cache knows the new library only after ldconfig (system prefixes)
	@if [ -z "$(DESTDIR)" ] && { [ "$(PREFIX)" = /usr/local ] || [ "$(PREFIX)" = /usr ]; } && [ -w /etc/ld.so.cache ] \
	    && command -v ldconfig >/dev/null 2>&1; then echo ldconfig; ldconfig; fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/facenet $(DESTDIR)$(LIBDIR)/libfacenet.a $(DESTDIR)$(LIBDIR)/libfacenet.so.$(VERSION) \
	    $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libfacenet.so $(DESTDIR)$(LIBDIR)/pkgconfig/facenet.pc \
	    $(addprefix $(DESTDIR)$(INCLUDEDIR)/,$(notdir $(PUBLIC_H))) \
	    $(addprefix $(DESTDIR)$(MODELDIR)/,model.json model.h5 facenet.json LICENSE.face-api) \
	    $(DESTDIR)$(DOCDIR)/LICENSE $(DESTDIR)$(DOCDIR)/README.md \
	    $(DESTDIR)$(MANDIR)/man1/facenet.1 $(DESTDIR)$(BASHCOMPDIR)/facenet
	for m in $(DETECT_MODELS); do rm -f $(addprefix $(DESTDIR)$(DATADIR)/models/$$m/,model.json model.h5 facenet.json detector.json anchors.f32); \
	    [ ! -d $(DESTDIR)$(DATADIR)/models/$$m ] || rmdir $(DESTDIR)$(DATADIR)/models/$$m 2>/dev/null || echo "uninstall: $(DESTDIR)$(DATADIR)/models/$$m kept (not empty)"; done
	@# our own directories go when empty; the standard ones (bin, lib, ...) stay
	@for d in $(DESTDIR)$(MODELDIR) $(DESTDIR)$(DATADIR)/models $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR); do \
	    [ ! -d "$$d" ] || rmdir "$$d" 2>/dev/null || echo "uninstall: $$d kept (not empty)"; done

# Fuzzing (fuzz/README.md): clang + libFuzzer, the library compiled with the same
# sanitizers into $(FUZZ_BUILD)/.  `make fuzz` builds every fuzz/fuzz_*.c target, makes
# the seeds and runs each target FUZZ_SECONDS seconds; non-zero exit on any crash,
# leak or undefined behaviour.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_SRC     := $(wildcard fuzz/fuzz_*.c)
FUZZERS      := $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
.PHONY: fuzz fuzz-deps fuzz-build fuzz-targets
fuzz: fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) bash fuzz/make_seeds.sh
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/run.sh
# clang and its libFuzzer runtime, installed when missing (scripts/setup.sh --fuzz)
fuzz-deps:
	@command -v clang >/dev/null && [ -n "$$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a | grep /)" ] || bash scripts/setup.sh --fuzz
fuzz-build: fuzz-deps
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang \
	    CFLAGS="-O1 -g $(FN_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link" fuzz-targets
fuzz-targets: $(FUZZERS) $(BUILD)/fuzz/seedgen $(CLI)
$(BUILD)/fuzz/seedgen: $(BUILD)/fuzz/seedgen.o $(LIB)
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@
$(BUILD)/fuzz/%: $(BUILD)/fuzz/%.o $(call obj,$(TOOL_LIB)) $(LIB)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $^ $(LDLIBS) -o $@

clean:
	rm -rf build build-asan build-fuzz build-tsan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
