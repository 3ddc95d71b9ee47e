# eppgw: one GNU Makefile.  `make help` lists the targets.
#
#   make [V=1] [CC=clang] [BUILD=dir] [SAN=1]
#
# Objects and binaries go under $(BUILD) (default build/).  SAN=1 builds with
# AddressSanitizer and UndefinedBehaviorSanitizer; `make asan` does that in
# build/asan and runs the whole suite there.

BUILD	?= build
CC	?= cc
PKG_CONFIG ?= pkg-config
PERL	?= perl
PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR	?= $(PREFIX)/lib/systemd/system
DESTDIR	?=
V	?= 0

PKGS	 = libevent libevent_openssl openssl libxml-2.0 inih jansson liboath \
	   libcurl libidn2 libseccomp
TESTPKGS = check

ifeq ($(V),1)
Q =
else
Q = @
endif

WARN	 = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wvla
CSTD	 = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
OPT	?= -O2 -g
SANFLAGS =
ifeq ($(SAN),1)
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all \
	   -fno-omit-frame-pointer
OPT	 = -O1 -g
endif

# pkg-config runs once, when this make parses the Makefile.  Targets that
# install packages first (`deps`) therefore build in a second make, started
# after `deps` (see "Entry points" below), so the flags are read when the
# packages exist.  A compile with a package missing stops with a message
# instead of failing on a missing header.
PKG_MISSING := $(shell for p in $(PKGS); do \
	$(PKG_CONFIG) --exists $$p 2>/dev/null || echo $$p; done)
TESTPKG_MISSING := $(shell $(PKG_CONFIG) --exists $(TESTPKGS) 2>/dev/null || \
	echo $(TESTPKGS))
DEPCFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
DEPLIBS	  := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lpthread
TESTCFLAGS := $(shell $(PKG_CONFIG) --cflags $(TESTPKGS) 2>/dev/null)
TESTLIBS  := $(shell $(PKG_CONFIG) --libs $(TESTPKGS) 2>/dev/null)
need_pkgs = $(if $(strip $(1)),$(error pkg-config cannot find: $(strip $(1)). \
	Run `make deps` (or any of demo, run, check, asan, fuzz, bench, \
	which run it first)))

ALL_CFLAGS = $(CSTD) $(OPT) $(WARN) $(SANFLAGS) -Iinclude $(DEPCFLAGS) \
	     -DEPPGW_VERSION='"$(VERSION)"' $(CFLAGS)
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)
VERSION	 = 0.1.0

# The library: every module but the daemon's main, plus the RFC schemas
# compiled in (policy/schemas/, see include/xsd.h).
XSD_FILES   = $(wildcard policy/schemas/*.xsd)
XSD_GEN	    = $(BUILD)/gen/xsd_data.c
LIB_SRCS    = $(filter-out $(GW_SRCS),$(wildcard gateway/*/*.c)) \
	      $(wildcard policy/*.c) $(XSD_GEN)
GW_SRCS	    = gateway/parent/main.c
REGSIM_SRCS = $(wildcard tests/regsim/*.c)
UNIT_SRCS   = $(wildcard tests/unit/*.c)
CTL_SRCS    = $(wildcard tools/ctl/*.c)
AUDIT_SRCS  = $(wildcard tools/audit/*.c)
LOAD_SRCS   = tests/bench/epp-load.c
AUDIT_BENCH_SRCS = tests/bench/audit-bench.c
JUDGE_BENCH_SRCS = tests/bench/judge-bench.c
APPROVAL_BENCH_SRCS = tests/bench/approval-bench.c
ECHO_SRCS   = tests/bench/epp-echo.c

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB	= $(BUILD)/libeppgw.a
BINS	= $(BUILD)/eppgw $(BUILD)/eppgw-regsim $(BUILD)/eppgwctl \
	  $(BUILD)/eppgw-audit
BENCH_BINS = $(BUILD)/epp-load $(BUILD)/epp-echo $(BUILD)/judge-bench \
	     $(BUILD)/approval-bench \
	     $(BUILD)/audit-bench
UNIT	= $(BUILD)/unit-tests

.PHONY: all deps certs run demo check lint analyze unit e2e asan bench fuzz \
	clean help install

FUZZ_SECONDS ?= 30
FUZZERS	= $(BUILD)/fuzz_frame $(BUILD)/fuzz_epp $(BUILD)/fuzz_jcanon

all: $(BINS)

help:
	@echo "targets: all certs run demo check lint analyze unit e2e asan fuzz bench install clean"
	@echo "options: V=1 CC=clang BUILD=dir SAN=1"

# DEPS_GROUPS adds optional package groups (bench).
deps:
	$(Q)scripts/deps.sh $(DEPS_GROUPS)

$(BUILD)/obj/%.o: %.c
	$(call need_pkgs,$(PKG_MISSING) \
	    $(if $(filter tests/unit/,$(dir $<)),$(TESTPKG_MISSING)))
	@mkdir -p $(dir $@)
	@if [ "$(V)" != 1 ]; then echo "  CC      $<"; fi
	$(Q)$(CC) $(ALL_CFLAGS) $(TESTCFLAGS_$(dir $<)) -MMD -MP -c $< -o $@

$(XSD_GEN): $(XSD_FILES) scripts/embed-xsd.sh
	@mkdir -p $(dir $@)
	$(Q)scripts/embed-xsd.sh $@ $(XSD_FILES)

$(LIB): $(call obj,$(LIB_SRCS))
	@if [ "$(V)" != 1 ]; then echo "  AR      $@"; fi
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/eppgw: $(call obj,$(GW_SRCS)) $(LIB)
	@if [ "$(V)" != 1 ]; then echo "  LD      $@"; fi
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPLIBS)

$(BUILD)/eppgw-regsim: $(call obj,$(REGSIM_SRCS)) $(LIB)
	@if [ "$(V)" != 1 ]; then echo "  LD      $@"; fi
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPLIBS)

$(BUILD)/eppgwctl: $(call obj,$(CTL_SRCS)) $(LIB)
	@if [ "$(V)" != 1 ]; then echo "  LD      $@"; fi
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPLIBS)

$(BUILD)/eppgw-audit: $(call obj,$(AUDIT_SRCS)) $(LIB)
	@if [ "$(V)" != 1 ]; then echo "  LD      $@"; fi
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPLIBS)

$(BUILD)/epp-load: $(call obj,$(LOAD_SRCS)) $(LIB)
	@if [ "$(V)" != 1 ]; then echo "  LD      $@"; fi
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPLIBS) -lm

$(BUILD)/judge-bench: $(call obj,$(JUDGE_BENCH_SRCS)) $(LIB)
	@if [ "$(V)" != 1 ]; then echo "  LD      $@"; fi
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPLIBS)

$(BUILD)/approval-bench: $(call obj,$(APPROVAL_BENCH_SRCS)) $(LIB)
	@if [ "$(V)" != 1 ]; then echo "  LD      $@"; fi
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPLIBS)

$(BUILD)/audit-bench: $(call obj,$(AUDIT_BENCH_SRCS)) $(LIB)
	@if [ "$(V)" != 1 ]; then echo "  LD      $@"; fi
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPLIBS) -lpthread

$(BUILD)/epp-echo: $(call obj,$(ECHO_SRCS)) $(LIB)
	@if [ "$(V)" != 1 ]; then echo "  LD      $@"; fi
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPLIBS)

TESTCFLAGS_tests/unit/ = $(TESTCFLAGS)

$(UNIT): $(call obj,$(UNIT_SRCS)) $(LIB)
	@if [ "$(V)" != 1 ]; then echo "  LD      $@"; fi
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DEPLIBS) $(TESTLIBS)

# libFuzzer harnesses: only built by `make fuzz` (clang, BUILD=build/fuzz).
$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(LIB)
	@if [ "$(V)" != 1 ]; then echo "  FUZZ    $@"; fi
	$(Q)$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB) $(DEPLIBS)

# The demo seeds, private as the gateway insists (git keeps no modes).
run/demo.seeds: examples/demo.seeds
	$(Q)mkdir -p run && install -m 600 $< $@

# The watch session's demo password (the simulator's registrar1), private
# as the gateway insists.
run/watch.pw: examples/demo.watchpw
	$(Q)mkdir -p run && install -m 600 $< $@

# The demo alert HMAC secret: random, private, never committed.
run/alert.secret:
	$(Q)mkdir -p run && umask 077 && openssl rand -hex 32 > $@

certs: certs/dev/ca.pem run/demo.seeds run/watch.pw run/alert.secret
certs/dev/ca.pem: certs/mkcerts.sh
	$(Q)rm -rf certs/dev
	$(Q)certs/mkcerts.sh certs/dev

# Entry points that install packages: `deps` runs first, then a second make
# (which reads pkg-config afresh) builds and runs.  Nothing they build may be
# a prerequisite here: it would be built with flags read before `deps`.
SUBMAKE = $(MAKE) --no-print-directory

# The gateway in front of the simulator, in the foreground (Ctrl-C stops both).
run: deps
	$(Q)$(SUBMAKE) all certs
	$(Q)tests/run-demo.sh run $(BUILD)

demo: deps
	$(Q)$(SUBMAKE) all certs
	$(Q)tests/run-demo.sh demo $(BUILD)

# The habits CI keeps: no banned C library calls in the product code
# (scripts/checksrc.sh says which and what to use instead), man pages
# without a mandoc warning, no copied product code (scripts/dupcheck.sh),
# and no static analysis finding (`analyze`).
# `check` runs it first, after `deps` (which installs clang-tidy).
lint:
	@if [ "$(V)" != 1 ]; then echo "  LINT    checksrc man/*"; fi
	$(Q)scripts/checksrc.sh
	$(Q)mandoc -Tlint -Wwarning man/*
	$(Q)scripts/dupcheck.sh
	@if [ "$(V)" != 1 ]; then echo "  ANALYZE gateway/ policy/ tools/"; fi
	$(Q)$(ANALYZE) $(ANALYZE_SRCS)

ANALYZE_SRCS = $(wildcard gateway/*/*.c policy/*.c tools/*/*.c)

# Static analysis (clang-tidy: clang-analyzer-* and bugprone-*, see
# scripts/analyze.sh for the checks left out and why; it fails when
# clang-tidy is missing).  About 1.5 minutes on 2 cores, files in parallel.
ANALYZE = V=$(V) PKG_CONFIG=$(PKG_CONFIG) scripts/analyze.sh
analyze:
	@if [ "$(V)" != 1 ]; then echo "  ANALYZE gateway/ policy/ tools/"; fi
	$(Q)$(ANALYZE)

unit: $(UNIT) certs
	$(Q)CK_FORK=yes $(UNIT)

# E2E: the end-to-end files to run (default: all of them).
E2E	?= tests/e2e/
e2e: all certs
	$(Q)EPPGW_BUILD=$(BUILD) prove -I tests/e2e/lib $(E2E)

check: deps
	$(Q)$(SUBMAKE) lint
	$(Q)$(SUBMAKE) all $(UNIT) certs
	$(Q)$(SUBMAKE) unit e2e

asan: deps
	$(Q)$(SUBMAKE) BUILD=build/asan SAN=1 CC=clang check

fuzz: deps
	$(Q)$(SUBMAKE) BUILD=build/fuzz SAN=1 CC=clang \
	    CFLAGS=-fsanitize=fuzzer-no-link build/fuzz/fuzz_frame \
	    build/fuzz/fuzz_epp build/fuzz/fuzz_jcanon
	$(Q)tests/fuzz/run.sh build/fuzz $(FUZZ_SECONDS)

bench: DEPS_GROUPS = bench
bench: deps
	$(Q)$(SUBMAKE) all $(BENCH_BINS) certs
	$(Q)$(BUILD)/judge-bench tests/bench/cmd-1500.xml 2
	$(Q)tests/bench/run.sh $(BUILD)
	$(Q)tests/bench/audit-on-off.sh $(BUILD)
	$(Q)tests/bench/workers.sh $(BUILD)
	$(Q)tests/bench/haproxy.sh $(BUILD)
	$(Q)$(BUILD)/audit-bench
	$(Q)$(BUILD)/approval-bench -d $(BUILD)

# Binaries, man pages, the systemd unit and an example configuration.  An
# existing configuration is never overwritten.
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/eppgw
	install -m 755 $(BUILD)/eppgw $(BUILD)/eppgwctl $(DESTDIR)$(SBINDIR)/
	install -m 755 $(BUILD)/eppgw-audit $(DESTDIR)$(BINDIR)/
	install -m 644 man/eppgw-audit.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/eppgw.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 man/eppgw.8 man/eppgwctl.8 $(DESTDIR)$(MANDIR)/man8/
	sed 's|/usr/local/sbin|$(SBINDIR)|g; s|/etc/eppgw|$(SYSCONFDIR)/eppgw|g' \
	    examples/eppgw.service > $(DESTDIR)$(UNITDIR)/eppgw.service
	chmod 644 $(DESTDIR)$(UNITDIR)/eppgw.service
	install -m 640 examples/eppgw.conf \
	    $(DESTDIR)$(SYSCONFDIR)/eppgw/eppgw.conf.example
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/eppgw/eppgw.conf ]; then \
		echo "install: keeping the existing $(SYSCONFDIR)/eppgw/eppgw.conf"; \
	else \
		install -m 640 examples/eppgw.conf \
		    $(DESTDIR)$(SYSCONFDIR)/eppgw/eppgw.conf; \
	fi

clean:
	rm -rf build run

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
