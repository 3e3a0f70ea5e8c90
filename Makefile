# Makefile for diffcore: libdiffcore (shared + static), the tools, tests,
# benchmarks, fuzzers, man pages and installation.
#
#   make                 build library and tools (runs ./configure if needed)
#   make check           unit tests, CLI tests (bats), fuzz smoke runs
#   make check SANITIZE=address,undefined
#   make bench           benchmarks against the peers (PyTorch, ...)
#   make demo            the main job on the embedded default models
#   make install PREFIX=/usr DESTDIR=/tmp/x
#   make deps            install the Debian packages (as root)
#   make fuzz FUZZ_SECONDS=3600   long fuzzing run

all:

ifeq ($(filter deps clean distclean,$(MAKECMDGOALS)),)
-include config.mak
config.mak: configure
	./configure
endif

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
LIBDIR = $(PREFIX)/lib
INCDIR = $(PREFIX)/include
MANDIR = $(PREFIX)/share/man
SHAREDIR = $(PREFIX)/share

SOVERSION = 0
VERSION = 0.1.0

SANITIZE ?=
ifneq ($(SANITIZE),)
B = build/san
SANFLAGS = -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT = -O1 -g
else
B = build
SANFLAGS =
OPT = -O2 -g
endif

CC ?= cc
WARN = -Wall -Wextra -Wno-unused-parameter
CFLAGS_ALL = -std=gnu11 $(OPT) $(ARCHFLAGS) -fopenmp -fPIC $(WARN) $(SANFLAGS) \
	-Ilib $(DEP_CFLAGS) $(USER_CFLAGS) -MMD -MP
LDFLAGS_ALL = -fopenmp $(SANFLAGS) $(USER_LDFLAGS)
LIBS_ALL = $(DEP_LIBS) -lm

LIB_SRC := $(wildcard lib/*/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
LIB_HDR := lib/diffcore.h $(wildcard lib/*/*.h)

TOOLS := $(notdir $(wildcard cmd/*))
TOOL_BIN := $(TOOLS:%=$(B)/bin/%)

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

STATIC = $(B)/libdiffcore.a
SHARED = $(B)/libdiffcore.so.$(VERSION)

all: $(STATIC) $(SHARED) $(TOOL_BIN)

$(B)/%.o: %.c config.mak
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(SHARED): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libdiffcore.so.$(SOVERSION) -o $@ $^ $(LDFLAGS_ALL) $(LIBS_ALL)
	ln -sf libdiffcore.so.$(VERSION) $(B)/libdiffcore.so.$(SOVERSION)
	ln -sf libdiffcore.so.$(SOVERSION) $(B)/libdiffcore.so

.SECONDEXPANSION:
$(B)/bin/%: $$(addprefix $(B)/,$$(addsuffix .o,$$(basename $$(wildcard cmd/$$*/*.c)))) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(filter %.o,$^) $(STATIC) $(LDFLAGS_ALL) $(LIBS_ALL)

$(B)/tests/%: $(B)/tests/unit/%.o $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $< $(STATIC) $(LDFLAGS_ALL) $(LIBS_ALL)

-include $(LIB_OBJ:.o=.d) $(UNIT_SRC:%.c=$(B)/%.d) $(wildcard $(B)/cmd/*/*.d)

# ---- tests -------------------------------------------------------------------

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_SECONDS ?= 3600
FUZZ_SMOKE_RUNS ?= 20000

check: all $(UNIT_BIN)
	@B=$(B) FUZZ_SMOKE_RUNS=$(FUZZ_SMOKE_RUNS) SANITIZE=$(SANITIZE) sh tests/run-tests

unit: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do $$t || exit 1; done

# libFuzzer harnesses, built with clang against the library sources: the
# library is compiled once (coverage-instrumented, sanitized) into
# build/fuzz/obj and every harness links those objects.
FUZZ_CC ?= clang
FUZZ_COMMON = -std=gnu11 -g -O1 -fopenmp -Ilib $(DEP_CFLAGS)
FUZZ_FLAGS = $(FUZZ_COMMON) -fsanitize=fuzzer,address,undefined
FUZZ_OBJ := $(LIB_SRC:lib/%.c=build/fuzz/obj/%.o)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
$(FUZZ_OBJ): build/fuzz/obj/%.o: lib/%.c $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_COMMON) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<
$(FUZZ_BIN): build/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ) $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(FUZZ_OBJ) $(DEP_LIBS) -lm

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@for f in $(FUZZ_SRC:tests/fuzz/%.c=%); do \
	  mkdir -p build/fuzz/corpus-$$f; \
	  echo "fuzzing $$f for $(FUZZ_SECONDS) s"; \
	  build/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    build/fuzz/corpus-$$f tests/fuzz/corpus/$${f#fuzz_} || exit 1; \
	done

bench: all
	@B=$(B) sh tests/bench/run

demo: all
	@B=$(B) sh share/diffcore/demo.sh

# ---- install -----------------------------------------------------------------

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)/diffcore \
	  $(DESTDIR)$(MANDIR) $(DESTDIR)$(SHAREDIR)/diffcore
	install -m 755 $(TOOL_BIN) $(DESTDIR)$(BINDIR)/
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/
	ln -sf libdiffcore.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libdiffcore.so.$(SOVERSION)
	ln -sf libdiffcore.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libdiffcore.so
	install -m 644 lib/diffcore.h $(DESTDIR)$(INCDIR)/diffcore/
	for h in $(wildcard lib/*/*.h); do \
	  install -d $(DESTDIR)$(INCDIR)/diffcore/$$(basename $$(dirname $$h)); \
	  install -m 644 $$h $(DESTDIR)$(INCDIR)/diffcore/$$(basename $$(dirname $$h))/; done
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	  -e 's|@LIBS@|$(strip $(LIBS_ALL))|' -e 's| @CFLAGS@||' \
	  lib/diffcore.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/diffcore.pc
	for p in $(wildcard man/man*/*.[0-9]); do \
	  s=$$(basename $$(dirname $$p)); install -d $(DESTDIR)$(MANDIR)/$$s; \
	  install -m 644 $$p $(DESTDIR)$(MANDIR)/$$s/; done
	cp -R share/diffcore/. $(DESTDIR)$(SHAREDIR)/diffcore/

uninstall:
	rm -f $(TOOLS:%=$(DESTDIR)$(BINDIR)/%) $(DESTDIR)$(LIBDIR)/libdiffcore.*
	rm -rf $(DESTDIR)$(INCDIR)/diffcore $(DESTDIR)$(SHAREDIR)/diffcore
	rm -f $(DESTDIR)$(LIBDIR)/pkgconfig/diffcore.pc

# ---- Debian packages ---------------------------------------------------------

DEPS_BUILD = gcc make pkg-config libblis-openmp-dev libsndfile1-dev libpng-dev zlib1g-dev libcjson-dev libkissfft-dev flite1-dev
DEPS_TEST = bats bats-assert bats-support groff-base clang libclang-rt-14-dev sox
DEPS_BENCH = python3-torch python3-numpy python3-opencv python3-scipy python3-skimage python3-mir-eval aubio-tools sox mate-backgrounds sonic-pi-samples fluidsynth fluid-soundfont-gm
DEPS = $(DEPS_BUILD) $(DEPS_TEST)

deps:
	@sh tests/install-deps $(DEPS)

deps-bench:
	@sh tests/install-deps $(DEPS_BENCH)

clean:
	rm -rf build

distclean: clean
	rm -f config.mak

.SECONDARY:

.PHONY: all check unit fuzz fuzz-build bench demo install uninstall deps deps-bench clean distclean
