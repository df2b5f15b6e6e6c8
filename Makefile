# pmd: `make` builds pmd and pmctl, `make run` runs pmd on the example
# config, `make check` runs every test (unit and integration, under ASan
# and UBSan), `make bench` measures the performance targets (listed in
# bench/bench.py). `make` and `make install` never install packages; run,
# check, bench and deps install what is missing (scripts/deps.sh).
# CFLAGS and LDFLAGS are honoured in every build; WERROR= turns -Werror off.

CC	?= cc
PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
LIBDIR	?= $(PREFIX)/lib
MANDIR	?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR	?= $(PREFIX)/lib/systemd/system
COMPDIR	?= $(PREFIX)/share/bash-completion/completions
PKGS	 = libcjson inih
CFLAGS	?= -O2 -g
WERROR	?= -Werror
WARN	 = -std=gnu11 -Wall -Wextra -Wmissing-prototypes $(WERROR) \
	   -Wno-missing-field-initializers
# libmicrohttpd: its header only; pmd loads it when metrics is set.
CPPFLAGS += $(shell pkg-config --cflags libmicrohttpd 2>/dev/null)
CPPFLAGS += $(EXTRA_CPPFLAGS) -D_GNU_SOURCE -Iinclude -DPMD_LIBDIR='"$(LIBDIR)/pmd"' -DPMD_UNITDIR='"$(UNITDIR)"'  $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libev ships no .pc file: plain -l. pmctl needs cJSON only.
LDLIBS	 = -lev $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CLIENT_LIBS = $(shell pkg-config --libs libcjson 2>/dev/null)
SAN	 = -fsanitize=address,undefined -fno-sanitize-recover=all \
	   -fno-omit-frame-pointer
PYTHON	 = /usr/bin/python3

COMMON	 = src/util.c src/parse.c src/keytab.c
DAEMON	 = src/pmd.c src/daemon.c src/app.c src/appcfg.c src/worker.c src/notify.c src/supervise.c src/proc.c \
	   src/logs.c src/control.c src/control-admit.c src/cmd.c src/config.c src/listen.c src/listen-addr.c \
	   src/rolling.c src/order.c src/track.c src/reconfig.c src/dump.c src/cron.c \
	   src/watch.c src/keys.c src/ini.c src/trigger.c src/target.c \
	   src/env.c src/handoff.c src/ipc.c src/events.c src/hooks.c \
	   src/metrics.c src/metrics-text.c src/http-api.c src/child.c src/budget.c \
	   src/update.c src/state-write.c src/state-read.c src/state-check.c \
	   $(CMDS) $(COMMON)
# A command is one file, built into both programs (pmctl with -DPMCTL).
CMDS	 = $(wildcard src/cmd-*.c)
CLIENT	 = src/pmctl.c src/pmctl-monit.c src/pmctl-eco.c src/pmctl-import.c src/pmctl-pm2.c src/pmctl-view.c src/pmctl-start.c src/pmctl-remote.c $(CMDS) $(COMMON)
HEADERS	 = $(wildcard include/*.h)
UNIT	 = parse ini config keys supervise cron ipc listen

all: pmd pmctl pmd-preload.so pmd-drain.js pmd-dashboard.html

# Everything the tests need too (make check does this itself).
deps:
	@scripts/deps.sh test

# One object per source file, with its header dependencies (-MMD -MP):
# a change to one .c rebuilds that object and relinks. Four sets: the
# daemon's and the client's (-DPMCTL: the cmd-*.c files differ), each
# plain and sanitized.
OBJ	 = build/obj
DEPFLAGS = -MMD -MP
objs	 = $(patsubst src/%.c,$(1)/%.o,$(2))

$(OBJ)/pmd/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(DEPFLAGS) -c -o $@ $<
$(OBJ)/pmctl/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -DPMCTL $(DEPFLAGS) -c -o $@ $<
$(OBJ)/san-pmd/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(WARN) -O1 -g $(CFLAGS) $(SAN) $(CPPFLAGS) $(DEPFLAGS) -c -o $@ $<
$(OBJ)/san-pmctl/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(WARN) -O1 -g $(CFLAGS) $(SAN) $(CPPFLAGS) -DPMCTL $(DEPFLAGS) \
	    -c -o $@ $<

-include $(wildcard $(OBJ)/*/*.d)

pmd: $(call objs,$(OBJ)/pmd,$(DAEMON))
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

pmctl: $(call objs,$(OBJ)/pmctl,$(CLIENT))
	$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(CLIENT_LIBS)

# Loaded into workers (LD_PRELOAD): never sanitized, since the programs it
# goes into are not; pmd looks for it beside its own executable first.
PRELOAD_FLAGS = -shared -fPIC -fvisibility=hidden
pmd-preload.so build/san/pmd-preload.so: src/preload/preload.c
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(PRELOAD_FLAGS) -o $@ src/preload/preload.c \
	    $(LDFLAGS) -ldl

pmd-drain.js build/san/pmd-drain.js: src/preload/pmd-drain.js
	@mkdir -p $(@D)
	cp src/preload/pmd-drain.js $@

# The dashboard page, served at / by the HTTP listener.
pmd-dashboard.html build/san/pmd-dashboard.html: src/dashboard/pmd-dashboard.html
	@mkdir -p $(@D)
	cp src/dashboard/pmd-dashboard.html $@

# The sanitized builds that make check runs.
build/san/pmd: $(call objs,$(OBJ)/san-pmd,$(DAEMON))
	@mkdir -p build/san
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDFLAGS) $(LDLIBS)

build/san/pmctl: $(call objs,$(OBJ)/san-pmctl,$(CLIENT))
	@mkdir -p build/san
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDFLAGS) $(CLIENT_LIBS)

# Each unit test links its module, the platform (util, parse) and the pure
# modules it calls; what is the daemon's the test file stubs.
UNIT_SRC_parse	   = src/parse.c src/util.c
UNIT_SRC_config	   = src/config.c src/appcfg.c src/ini.c src/keys.c src/keytab.c src/cron.c src/parse.c src/util.c
UNIT_SRC_cron	   = src/cron.c src/util.c
UNIT_SRC_ini	   = src/ini.c src/util.c
UNIT_SRC_keys	   = src/keys.c src/keytab.c src/ini.c src/config.c src/appcfg.c src/cron.c src/parse.c \
		     src/util.c
UNIT_SRC_supervise = src/supervise.c
UNIT_SRC_ipc	   = src/ipc.c src/util.c
UNIT_SRC_listen	   = src/listen-addr.c src/parse.c src/util.c

.SECONDEXPANSION:
build/san/test-%: tests/unit/test-%.c $(HEADERS) \
    $$(call objs,$(OBJ)/san-pmd,$$(UNIT_SRC_$$*))
	@mkdir -p build/san
	$(CC) $(WARN) -O1 -g $(CFLAGS) $(SAN) $(CPPFLAGS) -o $@ $< \
	    $(call objs,$(OBJ)/san-pmd,$(UNIT_SRC_$*)) $(LDFLAGS) $(LDLIBS) \
	    -lcmocka

# A Debian package of pmd (dpkg-deb, checked by lintian): scripts/deb.sh.
deb:
	@scripts/deb.sh

run:
	@scripts/deps.sh build
	@$(MAKE) all
	@mkdir -p .run
	@echo "pmd: running conf/example.conf with PMD_HOME=$(CURDIR)/.run"
	@echo "pmd: in another terminal: export PMD_HOME=$(CURDIR)/.run; ./pmctl list"
	PMD_HOME=$(CURDIR)/.run ./pmd -c conf/example.conf

# make check builds on every CPU (each target is one compiler run), and
# runs the integration tests as many at a time (pytest-xdist): each has
# its own PMD_HOME, and most of their time is waiting for processes.
JOBS	 ?= $(shell nproc 2>/dev/null || echo 2)

check:
	@scripts/deps.sh test
	$(MAKE) -j$(JOBS) all build/san/pmd build/san/pmctl build/san/pmd-preload.so build/san/pmd-drain.js build/san/pmd-dashboard.html \
	    build/testsrv \
	    $(UNIT:%=build/san/test-%)
	@for t in $(UNIT); do echo "== unit: $$t"; \
	    ./build/san/test-$$t || exit 1; done
	@if command -v $(FUZZ_CC) >/dev/null 2>&1; then \
	    $(MAKE) -j$(JOBS) $(FUZZERS:%=build/fuzz/fuzz-%) && \
	    $(MAKE) fuzz-replay; \
	    else echo "fuzz: no $(FUZZ_CC): the corpora are not replayed"; fi
	mandoc -Tlint -Wwarning man/*.[0-9]
	@scripts/layers.sh
	PMD_BIN_DIR=$(CURDIR)/build/san $(PYTHON) -m pytest -q -n $(JOBS) tests/integration

# libFuzzer harnesses (clang): the config loader, the control path and the
# dump loader, linked with the daemon's own modules. make fuzz runs each for
# FUZZ_SECONDS; make check replays the seed corpora in tests/fuzz/corpus.
FUZZ_CC	 ?= clang
FUZZ_SECONDS ?= 120
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined \
	   -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZERS	 = config request dump ipc import state
FUZZ_DAEMON = $(filter-out src/pmd.c src/daemon.c src/proc.c,$(DAEMON)) tests/fuzz/fuzz-daemon.c

build/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(FUZZ_DAEMON) $(HEADERS) tests/fuzz/fuzz.h
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) $(CPPFLAGS) -Itests/fuzz -o $@ $< \
	    $(FUZZ_DAEMON) $(LDFLAGS) $(LDLIBS)

# pmctl's import, linked with the client's modules; pmctl's errors exit,
# which the harness turns into the end of one input.
FUZZ_CLIENT = src/pmctl-eco.c src/pmctl-import.c $(COMMON)
build/fuzz/fuzz-import: tests/fuzz/fuzz-import.c $(FUZZ_CLIENT) $(HEADERS)
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) $(CPPFLAGS) -DPMCTL -o $@ $< $(FUZZ_CLIENT) \
	    -Wl,--wrap=exit $(LDFLAGS) $(CLIENT_LIBS)

# A bare environment (a worker's is built from pmd's: a large one is time
# spent on every input) and no fill of fresh allocations: about 1.7 times
# the executions a second of the IPC harness.
FUZZ_ENV = env -i PATH=/usr/bin:/bin HOME=/nonexistent \
	   ASAN_OPTIONS=max_malloc_fill_size=0:quarantine_size_mb=16
fuzz: $(FUZZERS:%=build/fuzz/fuzz-%)
	@for f in $(FUZZERS); do mkdir -p build/fuzz/corpus-$$f; \
	    echo "== fuzz: $$f for $(FUZZ_SECONDS)s"; \
	    $(FUZZ_ENV) build/fuzz/fuzz-$$f -max_total_time=$(FUZZ_SECONDS) -close_fd_mask=2 \
	    -print_final_stats=1 build/fuzz/corpus-$$f \
	    tests/fuzz/corpus/$$f || exit 1; done

fuzz-replay: $(FUZZERS:%=build/fuzz/fuzz-%)
	@for f in $(FUZZERS); do \
	    out=$$(build/fuzz/fuzz-$$f -close_fd_mask=2 \
	    tests/fuzz/corpus/$$f/* 2>&1) || \
	    { echo "$$out" | tail -n 40; exit 1; }; \
	    echo "== fuzz corpus: $$f: $$(ls tests/fuzz/corpus/$$f | wc -l)" \
	    "inputs replayed, no finding"; done

build/testsrv: tests/tools/testsrv.c
	@mkdir -p build
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -o $@ tests/tools/testsrv.c $(LDFLAGS)

bench:
	@scripts/deps.sh bench
	$(MAKE) all build/testsrv
	$(PYTHON) bench/bench.py

# Configs go to SYSCONFDIR/pmd and never replace a file that is there.
EXAMPLES = conf/example.conf conf/worker.sh conf/cluster.conf conf/hello-web.py \
	   conf/node-cluster.conf conf/node-web.js
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(COMPDIR) $(DESTDIR)$(LIBDIR)/pmd \
	    $(DESTDIR)$(SYSCONFDIR)/pmd/apps.d $(DESTDIR)$(SYSCONFDIR)/pmd/examples
	install -m 755 pmd pmctl $(DESTDIR)$(BINDIR)
	install -m 644 pmd-preload.so pmd-drain.js pmd-dashboard.html \
	    $(DESTDIR)$(LIBDIR)/pmd
	install -m 644 man/pmctl.1 $(DESTDIR)$(MANDIR)/man1
	install -m 644 man/pmd.conf.5 $(DESTDIR)$(MANDIR)/man5
	install -m 644 man/pmd.8 $(DESTDIR)$(MANDIR)/man8
	sed 's|@BINDIR@|$(BINDIR)|g' systemd/pmd.service.in > \
	    $(DESTDIR)$(UNITDIR)/pmd.service
	install -m 644 completion/pmctl.bash $(DESTDIR)$(COMPDIR)/pmctl
	@for f in conf/pmd.conf $(EXAMPLES); do \
	    case $$f in conf/pmd.conf) d=pmd.conf ;; \
	    *) d=examples/$${f#conf/} ;; esac; \
	    t=$(DESTDIR)$(SYSCONFDIR)/pmd/$$d; \
	    if [ -e "$$t" ]; then echo "install: $$t exists: kept"; \
	    else m=644; [ -x $$f ] && m=755; \
	    echo "install -m $$m $$f $$t"; install -m $$m $$f "$$t"; fi; \
	done

# Configs are removed only if they are as installed; apps.d is left.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/pmd $(DESTDIR)$(BINDIR)/pmctl \
	    $(DESTDIR)$(MANDIR)/man1/pmctl.1 $(DESTDIR)$(MANDIR)/man5/pmd.conf.5 \
	    $(DESTDIR)$(MANDIR)/man8/pmd.8 $(DESTDIR)$(UNITDIR)/pmd.service \
	    $(DESTDIR)$(COMPDIR)/pmctl $(DESTDIR)$(LIBDIR)/pmd/pmd-preload.so \
	    $(DESTDIR)$(LIBDIR)/pmd/pmd-drain.js \
	    $(DESTDIR)$(LIBDIR)/pmd/pmd-dashboard.html
	-rmdir $(DESTDIR)$(LIBDIR)/pmd 2>/dev/null
	@for f in conf/pmd.conf $(EXAMPLES); do \
	    case $$f in conf/pmd.conf) d=pmd.conf ;; \
	    *) d=examples/$${f#conf/} ;; esac; \
	    t=$(DESTDIR)$(SYSCONFDIR)/pmd/$$d; \
	    if [ -e "$$t" ] && ! cmp -s $$f "$$t"; then \
	    echo "uninstall: $$t was changed: kept"; else rm -f "$$t"; fi; \
	done
	-rmdir $(DESTDIR)$(SYSCONFDIR)/pmd/examples $(DESTDIR)$(SYSCONFDIR)/pmd/apps.d \
	    $(DESTDIR)$(SYSCONFDIR)/pmd 2>/dev/null

clean:
	rm -rf pmd pmctl pmd-preload.so pmd-drain.js pmd-dashboard.html build .run

.PHONY: all deps run check bench clean install uninstall fuzz fuzz-replay deb
