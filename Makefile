# powercut — build, test, benchmark.
#
#   make                 the powercut binary at the top of the tree
#   make check           every test: Check unit suites, then Python end-to-end
#   make check SAN=1     the same under AddressSanitizer + UBSan
#   make demo            install missing packages, build, run the bundled example
#   make bench           the benchmark figures of docs/performance.md
#   make fuzz            build the libFuzzer targets (clang); FUZZ_SECONDS=N runs them
#   make fuzz-seeds      every fuzz target once over its seeds (part of .ci/run)
#   make install PREFIX=/usr/local DESTDIR=

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
PYTHON  ?= /usr/bin/python3
SAN     ?= 0
# The test build shrinks limits "to give bugs a chance" (STYLE 12).
SMALL   ?= 0

CSTD     = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-missing-field-initializers
OPT     ?= -O2 -g
CFLAGS  ?=
CFLAGS  += $(CSTD) $(WARN) $(OPT) -fno-strict-aliasing -I.
LDLIBS  += -lm -ldl

# One build directory per variant, so gcc/clang and sanitizer objects never mix.
CCNAME  := $(if $(findstring clang,$(CC)),-clang,)
ifeq ($(SAN),1)
  CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
  BUILD   := build/san$(CCNAME)
else
  BUILD   := build/rel$(CCNAME)
endif

CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)

# Every .c file of the model modules goes into the library; a new file is
# built without touching this Makefile.
LIB_DIRS := traces sim cache blockq fs_model
LIB_SRCS := $(filter-out sim/main.c,$(wildcard $(addsuffix /*.c,$(LIB_DIRS))))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/libpowercut.a

TEST_SRCS := $(wildcard tests/check_*.c)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)

# The recorder (powercut record): tools/record/*.c, linked into the powercut
# binary with libelf and capstone.
REC_SRCS  := $(wildcard tools/record/*.c)
REC_OBJS  := $(REC_SRCS:%.c=$(BUILD)/%.o)
REC_LIBS  := $(if $(REC_SRCS),$(shell pkg-config --libs libelf capstone 2>/dev/null || echo -lelf -lcapstone))
REC_CFLAGS := $(if $(REC_SRCS),$(shell pkg-config --cflags capstone 2>/dev/null))

TOOL_SRCS := $(wildcard tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tools/%.c=$(BUILD)/tools/%)

DEPFLAGS = -MMD -MP

.PHONY: all check check-unit check-e2e demo bench fuzz fuzz-seeds install clean deps

# Example driver plugins (docs/driver-guide.md).  A fixed directory, not
# $(BUILD): litmus traces name --device build/plugins/bbwc.so.
PLUGIN_SRCS := $(wildcard blockq/plugins/*.c)
PLUGINS     := $(PLUGIN_SRCS:blockq/plugins/%.c=build/plugins/%.so)

all: powercut $(TOOL_BINS) $(PLUGINS)

build/plugins/%.so: blockq/plugins/%.c blockq/bq_plugin.h
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O2 -g -shared -fPIC -I. -o $@ $<

# The binary is built per variant and copied to the top of the tree, so
# ./powercut is always the variant of the last make (SAN=1, CC=clang, ...).
.PHONY: powercut
powercut: $(BUILD)/powercut
	@cmp -s $< $@ || cp $< $@

$(BUILD)/powercut: $(BUILD)/sim/main.o $(REC_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(REC_LIBS) $(LDLIBS)

$(BUILD)/tools/record/%.o: tools/record/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(REC_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CHECK_CFLAGS) $(DEPFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(CHECK_LIBS) $(LDLIBS)

$(BUILD)/tools/%: tools/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

deps:
	tools/install-deps

# Every suite and script is a job of its own, so `make check -j2` runs two
# at a time (the sanitizer run was single-threaded, 6 of CI's 8 minutes);
# --output-sync prints each job's output whole when it ends, and
# --keep-going runs every job even after one failed, then fails.  The list
# is in descending order of run time, so two cores stay busy to the end.
UNIT_RUNS := $(TEST_SRCS:tests/%.c=unit-%)
E2E_RUNS  := e2e-main e2e-lackey e2e-verdicts e2e-record e2e-import e2e-ref-cpu \
	     e2e-ref-block
CHECK_RUNS := e2e-main unit-check_cache unit-check_fs_model \
	$(filter-out e2e-main unit-check_cache unit-check_fs_model,$(E2E_RUNS) $(UNIT_RUNS))

check:
	@$(MAKE) --no-print-directory all $(TEST_BINS)
	@$(MAKE) --no-print-directory --keep-going --output-sync=target $(CHECK_RUNS)

check-unit:
	@$(MAKE) --no-print-directory $(TEST_BINS)
	@$(MAKE) --no-print-directory --keep-going --output-sync=target $(UNIT_RUNS)

check-e2e: all
	@$(MAKE) --no-print-directory --keep-going --output-sync=target $(E2E_RUNS)

.PHONY: $(UNIT_RUNS) $(E2E_RUNS)

$(UNIT_RUNS): unit-%: $(BUILD)/tests/%
	@echo "== $<"; CK_FORK=yes $<

e2e-main:
	$(PYTHON) tests/run_e2e.py --powercut ./powercut --build $(BUILD)
e2e-verdicts:
	POWERCUT=./powercut $(PYTHON) tests/test_verdicts.py
e2e-record:
	$(PYTHON) tests/test_record.py --powercut ./powercut
e2e-import:
	$(PYTHON) tests/test_import.py --powercut ./powercut
e2e-lackey:
	$(PYTHON) tests/test_lackey.py --powercut ./powercut
# The cache model against tests/ref_px86.py on 300 random CPU traces per
# machine (docs/semantics.md, "The reference differential"); bigger runs
# by hand: tests/test_ref_cpu.py --count N --seed S.
e2e-ref-cpu:
	$(PYTHON) tests/test_ref_cpu.py --powercut ./powercut
# 300 random block traces against the reference model (about 20 s);
# bigger runs by hand: tests/test_ref_block.py --count N --seed S
e2e-ref-block:
	$(PYTHON) tests/test_ref_block.py --powercut ./powercut

# Set up (install what is missing), build, and run the bundled examples.
# Sub-makes, so that the build sees the packages install-deps just added.
demo:
	tools/install-deps
	$(MAKE) --no-print-directory all
	./powercut run traces/examples/pmem-publish.trace
	./powercut outcomes traces/examples/pmem-publish-bug.trace \
	    --observe u64:0x1000,u64:0x1040 --at all
	@echo "# check with an application checker: exit status 1 means it found the bug"
	./powercut check traces/examples/pmem-publish-bug.trace --set pmem.size=64K \
	    --checker tests/checkers/pmem-publish.sh; test $$? -eq 1

bench: all
	$(PYTHON) tools/bench.py --powercut ./powercut --build $(BUILD)
	$(PYTHON) tools/bench_record.py --powercut ./powercut
	$(PYTHON) tools/bench_check.py --powercut ./powercut

# libFuzzer targets: tests/fuzz_*.c, built with clang against the sources.
FUZZ_SRCS := $(wildcard tests/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/%.c=build/fuzz/%)
FUZZ_SECONDS ?= 0
# Seeds: tests/fuzz-seeds/ (traces) for fuzz_trace, tests/fuzz-seeds-NAME/
# for fuzz_NAME; tests/fuzz_NAME.dict, if there is one, is its dictionary.
# An input that runs longer than a minute is a finding (a hang).
fuzz: $(FUZZ_BINS)
	@if [ "$(FUZZ_SECONDS)" != 0 ]; then for f in $(FUZZ_BINS); do \
	  n=$$(basename $$f); seeds=tests/fuzz-seeds-$${n#fuzz_}; \
	  [ $$n = fuzz_trace ] && seeds=tests/fuzz-seeds; \
	  mkdir -p build/fuzz/corpus-$$n; dict=; \
	  [ -f tests/$$n.dict ] && dict=-dict=tests/$$n.dict; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=60 -artifact_prefix=build/fuzz/$$n- \
	    $$dict build/fuzz/corpus-$$n $$seeds || exit 1; \
	done; fi

# Every fuzz target once over its seeds (no mutation): .ci/run's check that
# they build and that no seed trips an oracle.
fuzz-seeds: FUZZ_SECONDS = 0
fuzz-seeds: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do \
	  n=$$(basename $$f); seeds=tests/fuzz-seeds-$${n#fuzz_}; \
	  [ $$n = fuzz_trace ] && seeds=tests/fuzz-seeds; \
	  $$f -runs=0 -timeout=60 -artifact_prefix=build/fuzz/$$n- $$seeds > build/fuzz/$$n.log 2>&1 || \
	    { cat build/fuzz/$$n.log; exit 1; }; \
	  echo "$$n: $$(ls $$seeds | wc -l) seeds ok"; \
	done

# A fuzz target links only what it tests (tests/fuzz_trace.c: the trace
# reader and writer), so a model in progress cannot break it.
build/fuzz/fuzz_trace: tests/fuzz_trace.c traces/trace.c traces/trace.h
	@mkdir -p $(dir $@)
	clang $(CSTD) -g -O1 -I. -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -o $@ $< traces/trace.c -lm

# tests/fuzz_import.c: every importer, and the reader for their output.
IMPORT_SRCS := $(wildcard traces/import*.c)
build/fuzz/fuzz_import: tests/fuzz_import.c $(IMPORT_SRCS) traces/import.h traces/trace.c traces/trace.h
	@mkdir -p $(dir $@)
	clang $(CSTD) -g -O1 -I. -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -o $@ $< $(IMPORT_SRCS) traces/trace.c -lm

# tests/fuzz_json.c: the JSON reader and writer of merge and report.
build/fuzz/fuzz_json: tests/fuzz_json.c sim/json.c sim/json.h
	@mkdir -p $(dir $@)
	clang $(CSTD) -g -O1 -I. -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -o $@ $< sim/json.c -lm

# tests/fuzz_sim.c: the whole simulator (every model, the explorer, check),
# so it links a library of its own, built for libFuzzer with the sanitizers.
FUZZ_CFLAGS := $(CSTD) $(WARN) -g -O1 -I. -fno-strict-aliasing \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=build/fuzz/obj/%.o)
build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $(DEPFLAGS) -c -o $@ $<
build/fuzz/libpowercut.a: $(FUZZ_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^
build/fuzz/fuzz_sim: tests/fuzz_sim.c build/fuzz/libpowercut.a
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build/fuzz/libpowercut.a -lm -ldl

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/include/powercut
	install -m 755 powercut $(DESTDIR)$(PREFIX)/bin/powercut
	install -m 644 docs/powercut.1 $(DESTDIR)$(PREFIX)/share/man/man1/powercut.1
	install -m 644 traces/trace.h $(DESTDIR)$(PREFIX)/include/powercut/trace.h
	for h in $(wildcard blockq/bq_plugin.h); do \
	  install -m 644 $$h $(DESTDIR)$(PREFIX)/include/powercut/; done

clean:
	rm -rf build powercut

-include $(shell find build -name '*.d' 2>/dev/null)
