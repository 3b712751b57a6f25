/*
 * check_trace.c — Check suite for traces/trace.c: the version 1 reader and
 * the writer.
 *
 * What is covered, one TCase each:
 *   events    every operation of the vocabulary with all its fields,
 *             optional ones included (cpu=, sym=, flags=, mode=)
 *   numbers   decimal, 0x hex, K/M/G suffixes, the 64-bit limit
 *   payloads  hex:, fill:, rand:, val=, with their exact bytes; rand:
 *             against a splitmix64 written here from the brief's text
 *   lexical   quoting and escapes, comments, blank lines, CRLF
 *   header    `version` and `config` lines
 *   errors    every error class, with the exact "NAME:LINE: ..." text,
 *             both from memory and from a file
 *   writer    canonical text, quoting, round trips over every example
 *   equal     trace_event_equal()
 *   stream    a million-line file and a multi-megabyte line through
 *             trace_open(), with the reader's memory measured
 *   regress   inputs that once went wrong (from review, tests and the
 *             fuzzer, tests/fuzz_trace.c)
 */
#include "traces/trace.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---- */

/* The reader that owns the strings of the last event returned by one()
 * or nth(); closed by the next call and by the teardown. */
static struct trace_reader *held;
static struct trace_event held_ev;

static void teardown(void)
{
	trace_close(held);
	held = NULL;
}

/* The brief's splitmix64, written again from its text so that the test
 * does not trust trace_splitmix64(). */
static uint64_t ref_splitmix64(uint64_t *x)
{
	uint64_t z;

	*x += 0x9e3779b97f4a7c15ULL;
	z = *x;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The bytes of rand:SEED, LEN of them, from the reference. */
static void ref_rand_bytes(uint64_t seed, uint8_t *out, size_t len)
{
	uint64_t x = seed;

	for (size_t i = 0; i < len; i += 8) {
		uint64_t z = ref_splitmix64(&x);
		for (size_t b = 0; b < 8 && i + b < len; b++)
			out[i + b] = (uint8_t)(z >> (8 * b));
	}
}

/* A temporary file holding LEN bytes of TEXT; the caller unlinks it. */
static char *temp_file(const char *text, size_t len)
{
	char *path = strdup("/tmp/check_trace.XXXXXX");
	int fd;

	ck_assert_ptr_nonnull(path);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

/* Number of events in TEXT, which must read without error. */
static int count_events(const char *text, size_t len)
{
	struct trace_reader *r;
	struct trace_event ev;
	int n = 0, rc;

	ck_assert_int_eq(trace_open_mem(&r, "t", text, len), 0);
	while ((rc = trace_next(r, &ev)) == 1)
		n++;
	if (rc != 0)
		ck_abort_msg("unexpected error: %s", trace_reader_error(r));
	trace_close(r);
	return n;
}

/* Event number K (1-based) of TEXT; valid until the next call. */
static const struct trace_event *nth(const char *text, int k)
{
	int rc = 0;

	teardown();
	ck_assert_int_eq(trace_open_mem(&held, "t", text, strlen(text)), 0);
	for (int i = 0; i < k; i++) {
		rc = trace_next(held, &held_ev);
		if (rc != 1)
			ck_abort_msg("event %d of \"%s\": rc %d, %s", i + 1, text, rc,
				     rc < 0 ? trace_reader_error(held) : "end");
	}
	return &held_ev;
}

/* The only event of TEXT. */
static const struct trace_event *one(const char *text)
{
	ck_assert_int_eq(count_events(text, strlen(text)), 1);
	return nth(text, 1);
}

/* Reads LEN bytes of TEXT from memory (as "t") and from a temporary file,
 * and checks that both stop with MSG ("t:LINE: ..."; for the file, "t" is
 * replaced by its path) after EVENTS events. */
static void expect_error_n(const char *text, size_t len, const char *msg, int events)
{
	struct trace_reader *r;
	struct trace_event ev;
	char *path, want[1024];
	int n = 0, rc;

	ck_assert_int_eq(trace_open_mem(&r, "t", text, len), 0);
	while ((rc = trace_next(r, &ev)) == 1)
		n++;
	ck_assert_msg(rc == -1, "no error for \"%s\" (wanted %s)", text, msg);
	ck_assert_str_eq(trace_reader_error(r), msg);
	ck_assert_int_eq(n, events);
	/* The failure is sticky. */
	ck_assert_int_eq(trace_next(r, &ev), -1);
	ck_assert_str_eq(trace_reader_error(r), msg);
	trace_close(r);

	path = temp_file(text, len);
	ck_assert(msg[0] == 't' && msg[1] == ':');
	snprintf(want, sizeof(want), "%s%s", path, msg + 1);
	ck_assert_int_eq(trace_open(&r, path), 0);
	n = 0;
	while ((rc = trace_next(r, &ev)) == 1)
		n++;
	ck_assert_int_eq(rc, -1);
	ck_assert_str_eq(trace_reader_error(r), want);
	ck_assert_int_eq(n, events);
	trace_close(r);
	unlink(path);
	free(path);
}

/* The same for a NUL-terminated TEXT, whatever the number of events
 * before the error (ERR_N checks it too). */
static void expect_error(const char *text, const char *msg)
{
	struct trace_reader *r;
	struct trace_event ev;
	int n = 0;

	ck_assert_int_eq(trace_open_mem(&r, "t", text, strlen(text)), 0);
	while (trace_next(r, &ev) == 1)
		n++;
	trace_close(r);
	expect_error_n(text, strlen(text), msg, n);
}

/* EV as written by trace_write_event(); the caller frees it. */
/* A string literal that may hold NUL bytes, with the number of events
 * read before the error. */
#define ERR_N(lit, msg, n) expect_error_n(lit, sizeof(lit) - 1, msg, n)

static char *written(const struct trace_event *ev)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(trace_write_event(f, ev), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_uint_eq(strlen(out), len);
	return out;
}

/* Canonical text of the only event of TEXT; the caller frees it. */
static char *canon(const char *text)
{
	return written(one(text));
}

#define ck_assert_canon(text, want) do {		\
	char *got_ = canon(text);			\
	ck_assert_str_eq(got_, want);			\
	free(got_);					\
} while (0)

/*
 * Round trip over every event of LEN bytes of TEXT: write, read back,
 * compare with trace_event_equal(), and check that writing the re-read
 * event gives the same text (the canonical form is a fixed point).
 * Returns the number of events.
 */
static int round_trip(const char *text, size_t len)
{
	struct trace_reader *r, *r2;
	struct trace_event ev, back;
	int n = 0, rc;

	ck_assert_int_eq(trace_open_mem(&r, "t", text, len), 0);
	while ((rc = trace_next(r, &ev)) == 1) {
		char *out = written(&ev), *out2;

		ck_assert_int_eq(trace_open_mem(&r2, "rt", out, strlen(out)), 0);
		rc = trace_next(r2, &back);
		if (rc != 1)
			ck_abort_msg("re-reading \"%s\": %s", out, trace_reader_error(r2));
		ck_assert_msg(trace_event_equal(&ev, &back),
			      "line %" PRIu64 " changed in a round trip: %s", ev.line, out);
		ck_assert_msg(trace_event_equal(&back, &ev), "equal is not symmetric: %s", out);
		out2 = written(&back);
		ck_assert_str_eq(out2, out);
		ck_assert_int_eq(trace_next(r2, &back), 0);
		trace_close(r2);
		free(out2);
		free(out);
		n++;
	}
	if (rc != 0)
		ck_abort_msg("round trip input failed: %s", trace_reader_error(r));
	trace_close(r);
	return n;
}

/* Bytes [off, off+n) of the payload of EV. */
static void payload(const struct trace_event *ev, uint64_t off, void *dst, size_t n)
{
	trace_payload_read(&ev->data, off, dst, n);
}

/* ---- events ---- */

struct event_case {
	const char *text;
	enum trace_op op;
	enum trace_layer layer;
	uint32_t fields;
};

#define F(x) TRACE_F_##x

/* Every operation, once with every field it takes. */
static const struct event_case all_fields[] = {
	{ "version 1", TRACE_VERSION, TRACE_LAYER_HEADER, 0 },
	{ "config a=b", TRACE_CONFIG, TRACE_LAYER_HEADER, 0 },
	{ "open fd=3 path=/a flags=O_CREAT sym=s", TRACE_OPEN, TRACE_LAYER_FILE,
	  F(FD) | F(PATH) | F(FLAGS) | F(SYM) },
	{ "close fd=3 sym=s", TRACE_CLOSE, TRACE_LAYER_FILE, F(FD) | F(SYM) },
	{ "write fd=3 len=1 data=hex:00 sym=s", TRACE_WRITE, TRACE_LAYER_FILE,
	  F(FD) | F(LEN) | F(DATA) | F(SYM) },
	{ "pwrite fd=3 off=0 len=1 data=hex:00 sym=s", TRACE_PWRITE, TRACE_LAYER_FILE,
	  F(FD) | F(OFF) | F(LEN) | F(DATA) | F(SYM) },
	{ "fsync fd=3 sym=s", TRACE_FSYNC, TRACE_LAYER_FILE, F(FD) | F(SYM) },
	{ "fdatasync fd=3 sym=s", TRACE_FDATASYNC, TRACE_LAYER_FILE, F(FD) | F(SYM) },
	{ "sync sym=s", TRACE_SYNC, TRACE_LAYER_FILE, F(SYM) },
	{ "ftruncate fd=3 len=0 sym=s", TRACE_FTRUNCATE, TRACE_LAYER_FILE,
	  F(FD) | F(LEN) | F(SYM) },
	{ "fallocate fd=3 off=0 len=1 mode=KEEP_SIZE sym=s", TRACE_FALLOCATE,
	  TRACE_LAYER_FILE, F(FD) | F(OFF) | F(LEN) | F(MODE) | F(SYM) },
	{ "rename from=/a to=/b sym=s", TRACE_RENAME, TRACE_LAYER_FILE,
	  F(FROM) | F(TO) | F(SYM) },
	{ "link from=/a to=/b sym=s", TRACE_LINK, TRACE_LAYER_FILE,
	  F(FROM) | F(TO) | F(SYM) },
	{ "unlink path=/a sym=s", TRACE_UNLINK, TRACE_LAYER_FILE, F(PATH) | F(SYM) },
	{ "mkdir path=/a sym=s", TRACE_MKDIR, TRACE_LAYER_FILE, F(PATH) | F(SYM) },
	{ "rmdir path=/a sym=s", TRACE_RMDIR, TRACE_LAYER_FILE, F(PATH) | F(SYM) },
	{ "symlink from=/a to=/b sym=s", TRACE_SYMLINK, TRACE_LAYER_FILE,
	  F(FROM) | F(TO) | F(SYM) },
	{ "setxattr fd=3 name=user.a len=1 data=hex:00 sym=s", TRACE_SETXATTR,
	  TRACE_LAYER_FILE, F(FD) | F(NAME) | F(LEN) | F(DATA) | F(SYM) },
	{ "removexattr fd=3 name=user.a sym=s", TRACE_REMOVEXATTR, TRACE_LAYER_FILE,
	  F(FD) | F(NAME) | F(SYM) },
	{ "mmap fd=3 addr=0 len=4K off=0 flags=MAP_SHARED sym=s", TRACE_MMAP,
	  TRACE_LAYER_FILE, F(FD) | F(ADDR) | F(LEN) | F(OFF) | F(FLAGS) | F(SYM) },
	{ "munmap addr=0 len=4K sym=s", TRACE_MUNMAP, TRACE_LAYER_FILE,
	  F(ADDR) | F(LEN) | F(SYM) },
	{ "msync addr=0 len=4K flags=MS_SYNC sym=s", TRACE_MSYNC, TRACE_LAYER_FILE,
	  F(ADDR) | F(LEN) | F(FLAGS) | F(SYM) },
	{ "store addr=0 len=1 val=1 cpu=1 sym=s", TRACE_STORE, TRACE_LAYER_CPU,
	  F(ADDR) | F(LEN) | F(VAL) | F(CPU) | F(SYM) },
	{ "store addr=0 len=1 data=hex:01 cpu=1 sym=s", TRACE_STORE, TRACE_LAYER_CPU,
	  F(ADDR) | F(LEN) | F(DATA) | F(CPU) | F(SYM) },
	{ "ntstore addr=0 len=1 val=1 cpu=1 sym=s", TRACE_NTSTORE, TRACE_LAYER_CPU,
	  F(ADDR) | F(LEN) | F(VAL) | F(CPU) | F(SYM) },
	{ "ntstore addr=0 len=1 data=fill:1 cpu=1 sym=s", TRACE_NTSTORE, TRACE_LAYER_CPU,
	  F(ADDR) | F(LEN) | F(DATA) | F(CPU) | F(SYM) },
	{ "load addr=0 len=8 cpu=1 sym=s", TRACE_LOAD, TRACE_LAYER_CPU,
	  F(ADDR) | F(LEN) | F(CPU) | F(SYM) },
	{ "clflush addr=0 cpu=1 sym=s", TRACE_CLFLUSH, TRACE_LAYER_CPU,
	  F(ADDR) | F(CPU) | F(SYM) },
	{ "clflushopt addr=0 cpu=1 sym=s", TRACE_CLFLUSHOPT, TRACE_LAYER_CPU,
	  F(ADDR) | F(CPU) | F(SYM) },
	{ "clwb addr=0 cpu=1 sym=s", TRACE_CLWB, TRACE_LAYER_CPU, F(ADDR) | F(CPU) | F(SYM) },
	{ "sfence cpu=1 sym=s", TRACE_SFENCE, TRACE_LAYER_CPU, F(CPU) | F(SYM) },
	{ "mfence cpu=1 sym=s", TRACE_MFENCE, TRACE_LAYER_CPU, F(CPU) | F(SYM) },
	{ "rmw addr=0 len=8 val=1 cpu=1 sym=s", TRACE_RMW, TRACE_LAYER_CPU,
	  F(ADDR) | F(LEN) | F(VAL) | F(CPU) | F(SYM) },
	{ "rmw addr=0 len=8 data=rand:1 cpu=1 sym=s", TRACE_RMW, TRACE_LAYER_CPU,
	  F(ADDR) | F(LEN) | F(DATA) | F(CPU) | F(SYM) },
	{ "wbinvd cpu=1 sym=s", TRACE_WBINVD, TRACE_LAYER_CPU, F(CPU) | F(SYM) },
	{ "pcommit cpu=1 sym=s", TRACE_PCOMMIT, TRACE_LAYER_CPU, F(CPU) | F(SYM) },
	{ "bio id=1 op=write sector=0 len=512 flags=FUA data=fill:0 sym=s", TRACE_BIO,
	  TRACE_LAYER_BLOCK, F(ID) | F(OP) | F(SECTOR) | F(LEN) | F(FLAGS) | F(DATA) | F(SYM) },
	{ "wait id=1 sym=s", TRACE_WAIT, TRACE_LAYER_BLOCK, F(ID) | F(SYM) },
	{ "wait all sym=s", TRACE_WAIT, TRACE_LAYER_BLOCK, F(ALL) | F(SYM) },
	{ "mark name=m sym=s", TRACE_MARK, TRACE_LAYER_ANY, F(NAME) | F(SYM) },
	{ "think cycles=1 cpu=1 sym=s", TRACE_THINK, TRACE_LAYER_ANY,
	  F(CYCLES) | F(CPU) | F(SYM) },
};

/* Every operation with its required fields only. */
static const struct event_case required_only[] = {
	{ "open fd=3 path=/a", TRACE_OPEN, TRACE_LAYER_FILE, F(FD) | F(PATH) },
	{ "close fd=3", TRACE_CLOSE, TRACE_LAYER_FILE, F(FD) },
	{ "sync", TRACE_SYNC, TRACE_LAYER_FILE, 0 },
	{ "fallocate fd=3 off=0 len=1", TRACE_FALLOCATE, TRACE_LAYER_FILE,
	  F(FD) | F(OFF) | F(LEN) },
	{ "mmap fd=3 addr=0 len=4K off=0", TRACE_MMAP, TRACE_LAYER_FILE,
	  F(FD) | F(ADDR) | F(LEN) | F(OFF) },
	{ "msync addr=0 len=4K", TRACE_MSYNC, TRACE_LAYER_FILE, F(ADDR) | F(LEN) },
	{ "store addr=0 len=1 val=1", TRACE_STORE, TRACE_LAYER_CPU,
	  F(ADDR) | F(LEN) | F(VAL) },
	{ "load addr=0 len=8", TRACE_LOAD, TRACE_LAYER_CPU, F(ADDR) | F(LEN) },
	{ "clflush addr=0", TRACE_CLFLUSH, TRACE_LAYER_CPU, F(ADDR) },
	{ "sfence", TRACE_SFENCE, TRACE_LAYER_CPU, 0 },
	{ "mfence", TRACE_MFENCE, TRACE_LAYER_CPU, 0 },
	{ "wbinvd", TRACE_WBINVD, TRACE_LAYER_CPU, 0 },
	{ "pcommit", TRACE_PCOMMIT, TRACE_LAYER_CPU, 0 },
	{ "bio id=1 op=flush", TRACE_BIO, TRACE_LAYER_BLOCK, F(ID) | F(OP) },
	{ "mark name=m", TRACE_MARK, TRACE_LAYER_ANY, F(NAME) },
	{ "think cycles=1", TRACE_THINK, TRACE_LAYER_ANY, F(CYCLES) },
};

#undef F

static void check_case(const struct event_case *c)
{
	const struct trace_event *ev = one(c->text);

	ck_assert_msg(ev->op == c->op, "%s: op %d", c->text, ev->op);
	ck_assert_msg(ev->fields == c->fields, "%s: fields %#x, want %#x", c->text,
		      ev->fields, c->fields);
	ck_assert_uint_eq(ev->line, 1);
	ck_assert_int_eq(trace_op_layer(ev->op), c->layer);
	ck_assert_msg(strncmp(trace_op_name(ev->op), c->text,
			      strlen(trace_op_name(ev->op))) == 0, "%s: name", c->text);
	if (ev->fields & TRACE_F_SYM)
		ck_assert_str_eq(ev->sym.s, "s");
	if (ev->fields & TRACE_F_CPU)
		ck_assert_uint_eq(ev->cpu, 1);
	else
		ck_assert_uint_eq(ev->cpu, 0);
	ck_assert_int_eq(round_trip(c->text, strlen(c->text)), 1);
}

START_TEST(test_every_op_all_fields)
{
	check_case(&all_fields[_i]);
}
END_TEST

START_TEST(test_every_op_required_fields)
{
	check_case(&required_only[_i]);
}
END_TEST

START_TEST(test_every_op_is_covered)
{
	bool seen[TRACE_OP_COUNT] = { false };

	for (size_t i = 0; i < N_ELEMS(all_fields); i++)
		seen[all_fields[i].op] = true;
	for (int op = TRACE_OP_NONE + 1; op < TRACE_OP_COUNT; op++)
		ck_assert_msg(seen[op], "operation %s not covered", trace_op_name(op));
	ck_assert_str_eq(trace_op_name(TRACE_OP_NONE), "?");
	ck_assert_str_eq(trace_op_name(TRACE_OP_COUNT), "?");
	ck_assert_str_eq(trace_op_name(TRACE_CLFLUSHOPT), "clflushopt");
	ck_assert_int_eq(trace_op_layer(TRACE_BIO), TRACE_LAYER_BLOCK);
	ck_assert_int_eq(trace_op_layer(TRACE_THINK), TRACE_LAYER_ANY);
	ck_assert_int_eq(trace_op_layer(TRACE_OP_NONE), TRACE_LAYER_ANY);
}
END_TEST

START_TEST(test_file_events_values)
{
	const struct trace_event *ev;
	uint8_t b[8];

	ev = one("open fd=7 path=/dir/file flags=O_RDONLY|O_WRONLY|O_RDWR|O_CREAT|O_EXCL|"
		 "O_TRUNC|O_APPEND|O_DIRECT|O_SYNC|O_DSYNC|O_DIRECTORY sym=main");
	ck_assert_uint_eq(ev->fd, 7);
	ck_assert_str_eq(ev->path.s, "/dir/file");
	ck_assert_uint_eq(ev->path.len, 9);
	ck_assert_uint_eq(ev->flags, TRACE_O_RDONLY | TRACE_O_WRONLY | TRACE_O_RDWR |
			  TRACE_O_CREAT | TRACE_O_EXCL | TRACE_O_TRUNC | TRACE_O_APPEND |
			  TRACE_O_DIRECT | TRACE_O_SYNC | TRACE_O_DSYNC | TRACE_O_DIRECTORY);
	ck_assert_str_eq(ev->sym.s, "main");

	ev = one("open path=/d flags=O_DIRECTORY fd=4");	/* any order */
	ck_assert_uint_eq(ev->fd, 4);
	ck_assert_uint_eq(ev->flags, TRACE_O_DIRECTORY);

	ev = one("close fd=2147483647");
	ck_assert_uint_eq(ev->fd, 2147483647u);

	ev = one("write fd=3 len=4 data=hex:deadBEEF");
	ck_assert_uint_eq(ev->len, 4);
	ck_assert_int_eq(ev->data.kind, TRACE_PAYLOAD_HEX);
	ck_assert_uint_eq(ev->data.len, 4);
	ck_assert_mem_eq(ev->data.bytes, "\xde\xad\xbe\xef", 4);

	ev = one("write fd=3 len=2 val=0xbeef");
	ck_assert_int_eq(ev->data.kind, TRACE_PAYLOAD_VAL);
	payload(ev, 0, b, 2);
	ck_assert_mem_eq(b, "\xef\xbe", 2);

	ev = one("write fd=3 len=0 data=hex:");
	ck_assert_uint_eq(ev->len, 0);
	ck_assert_uint_eq(ev->data.len, 0);

	ev = one("pwrite fd=3 off=4096 len=8K data=fill:0xab");
	ck_assert_uint_eq(ev->off, 4096);
	ck_assert_uint_eq(ev->len, 8192);
	ck_assert_uint_eq(ev->data.len, 8192);
	ck_assert_int_eq(ev->data.kind, TRACE_PAYLOAD_FILL);
	ck_assert_uint_eq(ev->data.arg, 0xab);

	ck_assert_uint_eq(one("fsync fd=9")->fd, 9);
	ck_assert_uint_eq(one("fdatasync fd=10")->fd, 10);
	ck_assert_uint_eq(one("sync")->fields, 0);

	ev = one("ftruncate fd=3 len=1M");
	ck_assert_uint_eq(ev->len, 1u << 20);

	ev = one("fallocate fd=3 off=1 len=2 mode=KEEP_SIZE|PUNCH_HOLE|ZERO_RANGE");
	ck_assert_uint_eq(ev->off, 1);
	ck_assert_uint_eq(ev->len, 2);
	ck_assert_uint_eq(ev->flags, TRACE_FALLOC_KEEP_SIZE | TRACE_FALLOC_PUNCH_HOLE |
			  TRACE_FALLOC_ZERO_RANGE);

	ev = one("rename from=/a/tmp to=/a/file");
	ck_assert_str_eq(ev->from.s, "/a/tmp");
	ck_assert_str_eq(ev->to.s, "/a/file");
	ev = one("link from=x to=y");
	ck_assert_str_eq(ev->from.s, "x");
	ck_assert_str_eq(ev->to.s, "y");
	ev = one("symlink from=target to=/l");
	ck_assert_str_eq(ev->from.s, "target");
	ck_assert_str_eq(ev->to.s, "/l");
	ck_assert_str_eq(one("unlink path=/u")->path.s, "/u");
	ck_assert_str_eq(one("mkdir path=/m")->path.s, "/m");
	ck_assert_str_eq(one("rmdir path=/r")->path.s, "/r");

	ev = one("setxattr fd=3 name=user.key len=3 data=hex:616263");
	ck_assert_str_eq(ev->name.s, "user.key");
	ck_assert_mem_eq(ev->data.bytes, "abc", 3);
	ev = one("removexattr fd=3 name=security.selinux");
	ck_assert_str_eq(ev->name.s, "security.selinux");

	ev = one("mmap fd=3 addr=0x7f0000000000 len=2M off=4K "
		 "flags=MAP_SHARED|MAP_PRIVATE|MAP_SYNC");
	ck_assert_uint_eq(ev->addr, 0x7f0000000000ull);
	ck_assert_uint_eq(ev->len, 2u << 20);
	ck_assert_uint_eq(ev->off, 4096);
	ck_assert_uint_eq(ev->flags, TRACE_MAP_SHARED | TRACE_MAP_PRIVATE | TRACE_MAP_SYNC);
	ev = one("munmap addr=0x1000 len=4096");
	ck_assert_uint_eq(ev->addr, 0x1000);
	ev = one("msync addr=0x1000 len=4096 flags=MS_SYNC|MS_ASYNC|MS_INVALIDATE");
	ck_assert_uint_eq(ev->flags, TRACE_MS_SYNC | TRACE_MS_ASYNC | TRACE_MS_INVALIDATE);
	ev = one("msync addr=0x1000 len=4096 flags=MS_ASYNC");
	ck_assert_uint_eq(ev->flags, TRACE_MS_ASYNC);
}
END_TEST

START_TEST(test_cpu_events_values)
{
	const struct trace_event *ev;
	uint8_t b[16];

	ev = one("store addr=0x40 len=8 val=0x1122334455667788");
	ck_assert_uint_eq(ev->addr, 0x40);
	ck_assert_uint_eq(ev->len, 8);
	ck_assert_uint_eq(ev->cpu, 0);
	ck_assert_int_eq(ev->data.kind, TRACE_PAYLOAD_VAL);
	ck_assert_uint_eq(ev->data.arg, 0x1122334455667788ull);
	ck_assert_uint_eq(ev->data.len, 8);
	payload(ev, 0, b, 8);
	ck_assert_mem_eq(b, "\x88\x77\x66\x55\x44\x33\x22\x11", 8);

	ev = one("ntstore addr=128 len=16 data=hex:000102030405060708090a0b0c0d0e0f cpu=3");
	ck_assert_uint_eq(ev->cpu, 3);
	ck_assert_mem_eq(ev->data.bytes, "\x00\x01\x02\x03\x04\x05\x06\x07"
			 "\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f", 16);

	ev = one("load addr=0 len=64 cpu=65535");
	ck_assert_uint_eq(ev->cpu, 65535);
	ck_assert_int_eq(ev->data.kind, TRACE_PAYLOAD_NONE);

	ck_assert_uint_eq(one("clflush addr=0x80")->addr, 0x80);
	ck_assert_uint_eq(one("clflushopt addr=0xc0 cpu=2")->cpu, 2);
	ck_assert_uint_eq(one("clwb addr=0x100")->addr, 0x100);
	ck_assert_uint_eq(one("sfence cpu=4")->cpu, 4);
	ck_assert_uint_eq(one("mfence")->cpu, 0);
	ev = one("rmw addr=8 len=4 val=0xffffffff cpu=1 sym=\"atomic_inc\"");
	ck_assert_uint_eq(ev->data.arg, 0xffffffffu);
	ck_assert_str_eq(ev->sym.s, "atomic_inc");
	ck_assert_uint_eq(one("wbinvd cpu=7")->cpu, 7);
	ck_assert_uint_eq(one("pcommit")->fields, 0);
}
END_TEST

START_TEST(test_block_events_values)
{
	const struct trace_event *ev;
	uint8_t b[512];

	ev = one("bio id=17 op=write sector=8 len=512 flags=PREFLUSH|FUA data=fill:0x5a");
	ck_assert_uint_eq(ev->id, 17);
	ck_assert_int_eq(ev->bio_op, TRACE_BIO_WRITE);
	ck_assert_uint_eq(ev->sector, 8);
	ck_assert_uint_eq(ev->len, 512);
	ck_assert_uint_eq(ev->flags, TRACE_BIO_PREFLUSH | TRACE_BIO_FUA);
	payload(ev, 0, b, sizeof(b));
	for (size_t i = 0; i < sizeof(b); i++)
		ck_assert_uint_eq(b[i], 0x5a);

	ev = one("bio op=write id=1 len=1K sector=0 data=rand:9");
	ck_assert_uint_eq(ev->flags, 0);
	ck_assert_uint_eq(ev->len, 1024);

	ev = one("bio id=2 op=flush");
	ck_assert_int_eq(ev->bio_op, TRACE_BIO_FLUSH);
	ev = one("bio id=3 op=flush flags=PREFLUSH");
	ck_assert_uint_eq(ev->flags, TRACE_BIO_PREFLUSH);

	ev = one("bio id=4 op=discard sector=2048 len=1M");
	ck_assert_int_eq(ev->bio_op, TRACE_BIO_DISCARD);
	ck_assert_uint_eq(ev->sector, 2048);
	ck_assert_uint_eq(ev->len, 1u << 20);
	ck_assert_int_eq(ev->data.kind, TRACE_PAYLOAD_NONE);
	ev = one("bio id=5 op=discard sector=0 len=512 flags=PREFLUSH");
	ck_assert_uint_eq(ev->flags, TRACE_BIO_PREFLUSH);

	ev = one("wait id=17");
	ck_assert_uint_eq(ev->id, 17);
	ck_assert_uint_eq(ev->fields, TRACE_F_ID);
	ev = one("wait all");
	ck_assert_uint_eq(ev->fields, TRACE_F_ALL);
	ev = one("wait sym=x all");
	ck_assert_uint_eq(ev->fields, TRACE_F_ALL | TRACE_F_SYM);
}
END_TEST

START_TEST(test_any_events_values)
{
	const struct trace_event *ev;

	ev = one("mark name=commit-done");
	ck_assert_str_eq(ev->name.s, "commit-done");
	ev = one("think cycles=1000");
	ck_assert_uint_eq(ev->cycles, 1000);
	ck_assert_uint_eq(ev->cpu, 0);
	ev = one("think cycles=2K cpu=3 sym=loop");
	ck_assert_uint_eq(ev->cycles, 2048);
	ck_assert_uint_eq(ev->cpu, 3);
	ck_assert_str_eq(ev->sym.s, "loop");
}
END_TEST

START_TEST(test_line_numbers_and_layer)
{
	const char *t = "# head\n\nmark name=a\n\n  \t\nstore addr=0 len=1 val=0\n"
			"fsync fd=3\nbio_is_not_here_yet_but_this_line_is_never_read";
	struct trace_reader *r;
	struct trace_event ev;

	ck_assert_int_eq(trace_open_mem(&r, "name", t, strlen(t)), 0);
	ck_assert_str_eq(trace_reader_name(r), "name");
	ck_assert_int_eq(trace_reader_layer(r), TRACE_LAYER_ANY);
	ck_assert_int_eq(trace_next(r, &ev), 1);
	ck_assert_uint_eq(ev.line, 3);
	ck_assert_int_eq(trace_reader_layer(r), TRACE_LAYER_ANY);
	ck_assert_int_eq(trace_next(r, &ev), 1);
	ck_assert_uint_eq(ev.line, 6);
	ck_assert_int_eq(trace_reader_layer(r), TRACE_LAYER_ANY);	/* CPU: no layer */
	ck_assert_int_eq(trace_next(r, &ev), 1);
	ck_assert_uint_eq(ev.line, 7);
	ck_assert_int_eq(trace_reader_layer(r), TRACE_LAYER_FILE);
	ck_assert_int_eq(trace_next(r, &ev), -1);
	ck_assert_str_eq(trace_reader_error(r),
			 "name:8: unknown event 'bio_is_not_here_yet_but_this_line_is_nev...'");
	trace_close(r);

	t = "bio id=1 op=flush\n";
	ck_assert_int_eq(trace_open_mem(&r, "b", t, strlen(t)), 0);
	ck_assert_int_eq(trace_next(r, &ev), 1);
	ck_assert_int_eq(trace_reader_layer(r), TRACE_LAYER_BLOCK);
	ck_assert_int_eq(trace_next(r, &ev), 0);
	ck_assert_int_eq(trace_next(r, &ev), 0);	/* the end stays the end */
	trace_close(r);
}
END_TEST

/* ---- numbers ---- */

struct number_case {
	const char *text;
	uint64_t value;
};

static const struct number_case good_numbers[] = {
	{ "0", 0 }, { "7", 7 }, { "0010", 10 }, { "123456789", 123456789 },
	{ "0x0", 0 }, { "0x7b", 0x7b }, { "0X7B", 0x7b }, { "0xAbCdEf", 0xabcdef },
	{ "0x00000000000000000001", 1 },
	{ "1K", 1024 }, { "1M", 1u << 20 }, { "1G", 1u << 30 }, { "3G", 3ull << 30 },
	{ "0x10K", 16 << 10 }, { "0x1G", 1ull << 30 }, { "0K", 0 },
	{ "18446744073709551615", UINT64_MAX },
	{ "0xffffffffffffffff", UINT64_MAX },
	{ "0xFFFFFFFFFFFFFFFF", UINT64_MAX },
	{ "17179869183G", 17179869183ull << 30 },
	{ "18014398509481983K", 18014398509481983ull << 10 },
	{ "0x3ffffffffG", 0x3ffffffffull << 30 },
};

START_TEST(test_numbers_good)
{
	char text[128];
	const struct number_case *c = &good_numbers[_i];
	const struct trace_event *ev;

	snprintf(text, sizeof(text), "think cycles=%s", c->text);
	ev = one(text);
	ck_assert_msg(ev->cycles == c->value, "%s: %" PRIu64, c->text, ev->cycles);
	/* the same number in every numeric field */
	snprintf(text, sizeof(text), "mmap fd=1 addr=0 len=1 off=%s", c->text);
	if (c->value < UINT64_MAX)
		ck_assert_uint_eq(one(text)->off, c->value);
	snprintf(text, sizeof(text), "wait id=%s", c->text);
	ck_assert_uint_eq(one(text)->id, c->value);
	snprintf(text, sizeof(text), "clwb addr=%s", c->text);
	ck_assert_uint_eq(one(text)->addr, c->value);
	snprintf(text, sizeof(text), "ftruncate fd=0 len=%s", c->text);
	ck_assert_uint_eq(one(text)->len, c->value);
}
END_TEST

struct bad_number_case {
	const char *text;
	const char *msg;
};

static const struct bad_number_case bad_numbers[] = {
	{ "12a", "t:1: bad number for cycles: '12a'" },
	{ "-1", "t:1: bad number for cycles: '-1'" },
	{ "+1", "t:1: bad number for cycles: '+1'" },
	{ "1.5", "t:1: bad number for cycles: '1.5'" },
	{ "K", "t:1: bad number for cycles: 'K'" },
	{ "1k", "t:1: bad number for cycles: '1k'" },
	{ "1KB", "t:1: bad number for cycles: '1KB'" },
	{ "1T", "t:1: bad number for cycles: '1T'" },
	{ "1KK", "t:1: bad number for cycles: '1KK'" },
	{ "0x", "t:1: bad number for cycles: '0x'" },
	{ "0xg", "t:1: bad number for cycles: '0xg'" },
	{ "0x-1", "t:1: bad number for cycles: '0x-1'" },
	{ "x10", "t:1: bad number for cycles: 'x10'" },
	{ "0b101", "t:1: bad number for cycles: '0b101'" },
	{ "", "t:1: bad number for cycles: ''" },
	{ "18446744073709551616",
	  "t:1: number for cycles does not fit in 64 bits: '18446744073709551616'" },
	{ "99999999999999999999999",
	  "t:1: number for cycles does not fit in 64 bits: '99999999999999999999999'" },
	{ "0x10000000000000000",
	  "t:1: number for cycles does not fit in 64 bits: '0x10000000000000000'" },
	{ "17179869184G",
	  "t:1: number for cycles does not fit in 64 bits: '17179869184G'" },
	{ "18014398509481984K",
	  "t:1: number for cycles does not fit in 64 bits: '18014398509481984K'" },
	{ "0x400000000G",
	  "t:1: number for cycles does not fit in 64 bits: '0x400000000G'" },
	{ "17592186044416M",
	  "t:1: number for cycles does not fit in 64 bits: '17592186044416M'" },
};

START_TEST(test_numbers_bad)
{
	char text[128];
	const struct bad_number_case *c = &bad_numbers[_i];

	snprintf(text, sizeof(text), "think cycles=%s", c->text);
	expect_error(text, c->msg);
}
END_TEST

START_TEST(test_number_field_names_in_messages)
{
	expect_error("close fd=x", "t:1: bad number for fd: 'x'");
	expect_error("store addr=0 len=1 val=1 cpu=x", "t:1: bad number for cpu: 'x'");
	expect_error("ftruncate fd=1 len=x", "t:1: bad number for len: 'x'");
	expect_error("mmap fd=1 addr=0 len=1 off=x", "t:1: bad number for off: 'x'");
	expect_error("clwb addr=x", "t:1: bad number for addr: 'x'");
	expect_error("wait id=x", "t:1: bad number for id: 'x'");
	expect_error("bio id=1 op=write sector=x len=512 data=fill:0",
		     "t:1: bad number for sector: 'x'");
	expect_error("store addr=0 len=1 val=x", "t:1: bad number for val: 'x'");
	expect_error("version x", "t:1: bad number for version: 'x'");
	expect_error("write fd=1 len=1 data=fill:x", "t:1: bad number for fill byte: 'x'");
	expect_error("write fd=1 len=1 data=rand:x", "t:1: bad number for rand seed: 'x'");
	expect_error("write fd=1 len=1 data=rand:18446744073709551616",
		     "t:1: number for rand seed does not fit in 64 bits: '18446744073709551616'");
	/* ranges beyond 64 bits */
	expect_error("close fd=2147483648", "t:1: fd 2147483648 out of range");
	expect_error("close fd=4G", "t:1: fd 4294967296 out of range");
	expect_error("sfence cpu=65536", "t:1: cpu 65536 out of range (at most 65535)");
	expect_error("think cycles=1 cpu=64K", "t:1: cpu 65536 out of range (at most 65535)");
	/* a long bad number is cut at 40 bytes in the message */
	expect_error("think cycles=abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij",
		     "t:1: bad number for cycles: 'abcdefghijabcdefghijabcdefghijabcdefghij...'");
	expect_error("think cycles=1234567890123456789012345678901234567890123456789",
		     "t:1: number for cycles does not fit in 64 bits: "
		     "'1234567890123456789012345678901234567890...'");
}
END_TEST

/* ---- payloads ---- */

START_TEST(test_payload_hex)
{
	const struct trace_event *ev;
	uint8_t b[256];
	char text[1024];
	size_t o;

	/* all 256 byte values, lower and upper case digits */
	o = (size_t)snprintf(text, sizeof(text), "store addr=0 len=256 data=hex:");
	for (int i = 0; i < 256; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, i & 1 ? "%02X" : "%02x", i);
	ev = one(text);
	ck_assert_int_eq(ev->data.kind, TRACE_PAYLOAD_HEX);
	ck_assert_uint_eq(ev->data.len, 256);
	for (int i = 0; i < 256; i++)
		ck_assert_uint_eq(ev->data.bytes[i], (unsigned)i);
	/* reads at every offset and length */
	for (size_t off = 0; off < 256; off += 7)
		for (size_t n = 0; off + n <= 256; n += 13) {
			memset(b, 0xee, sizeof(b));
			payload(ev, off, b, n);
			for (size_t i = 0; i < n; i++)
				ck_assert_uint_eq(b[i], (uint8_t)(off + i));
		}

	ev = one("write fd=1 len=3 data=hex:00ff7F");
	ck_assert_mem_eq(ev->data.bytes, "\x00\xff\x7f", 3);
}
END_TEST

START_TEST(test_payload_fill)
{
	const struct trace_event *ev;
	uint8_t b[300];

	ev = one("write fd=1 len=300 data=fill:0xAB");
	ck_assert_int_eq(ev->data.kind, TRACE_PAYLOAD_FILL);
	ck_assert_uint_eq(ev->data.arg, 0xab);
	ck_assert_uint_eq(ev->data.len, 300);
	payload(ev, 0, b, 300);
	for (int i = 0; i < 300; i++)
		ck_assert_uint_eq(b[i], 0xab);
	payload(ev, 299, b, 1);
	ck_assert_uint_eq(b[0], 0xab);

	ck_assert_uint_eq(one("write fd=1 len=1 data=fill:0")->data.arg, 0);
	ck_assert_uint_eq(one("write fd=1 len=1 data=fill:255")->data.arg, 255);
	ck_assert_uint_eq(one("write fd=1 len=1 data=fill:0xff")->data.arg, 255);
	ck_assert_uint_eq(one("write fd=1 len=1 data=fill:010")->data.arg, 10);

	/* a gigabyte payload costs nothing until read */
	ev = one("pwrite fd=1 off=0 len=1G data=fill:0x5a");
	ck_assert_uint_eq(ev->data.len, 1ull << 30);
	payload(ev, (1ull << 30) - 3, b, 3);
	ck_assert_mem_eq(b, "ZZZ", 3);
}
END_TEST

START_TEST(test_payload_rand_known_vector)
{
	uint64_t x = 0;
	const struct trace_event *ev;
	uint8_t b[8];

	/* The published splitmix64 test vector: seed 0. */
	ck_assert_uint_eq(ref_splitmix64(&x), 0xe220a8397b1dcdafull);
	x = 0;
	ck_assert_uint_eq(trace_splitmix64(&x), 0xe220a8397b1dcdafull);
	ck_assert_uint_eq(x, 0x9e3779b97f4a7c15ull);
	/* the same through the reader, little-endian */
	ev = one("store addr=0 len=8 data=rand:0");
	ck_assert_int_eq(ev->data.kind, TRACE_PAYLOAD_RAND);
	ck_assert_uint_eq(ev->data.arg, 0);
	payload(ev, 0, b, 8);
	ck_assert_mem_eq(b, "\xaf\xcd\x1d\x7b\x39\xa8\x20\xe2", 8);
	/* truncated to len */
	ev = one("store addr=0 len=3 data=rand:0");
	payload(ev, 0, b, 3);
	ck_assert_mem_eq(b, "\xaf\xcd\x1d", 3);
}
END_TEST

static const uint64_t rand_seeds[] = {
	0, 1, 42, 0x9e3779b97f4a7c15ull, 0x6a09e667f3bcc908ull, UINT64_MAX - 1, UINT64_MAX,
};

START_TEST(test_payload_rand_reference)
{
	uint64_t seed = rand_seeds[_i];
	uint8_t want[301], got[301];
	char text[128];
	const struct trace_event *ev;
	uint64_t x = seed, y = seed;

	/* trace_splitmix64 agrees with the reference for many steps */
	for (int i = 0; i < 1000; i++)
		ck_assert_uint_eq(trace_splitmix64(&x), ref_splitmix64(&y));

	ref_rand_bytes(seed, want, sizeof(want));
	snprintf(text, sizeof(text), "write fd=1 len=301 data=rand:%" PRIu64, seed);
	ev = one(text);
	ck_assert_uint_eq(ev->data.arg, seed);
	ck_assert_uint_eq(ev->data.len, 301);
	payload(ev, 0, got, sizeof(got));
	ck_assert_mem_eq(got, want, sizeof(want));
	/* every offset, aligned or not, with lengths that cross words */
	for (size_t off = 0; off <= 40; off++)
		for (size_t n = 0; off + n <= sizeof(want) && n <= 40; n++) {
			memset(got, 0xee, sizeof(got));
			payload(ev, off, got, n);
			ck_assert_msg(memcmp(got, want + off, n) == 0,
				      "seed %" PRIu64 " off %zu n %zu", seed, off, n);
			ck_assert_uint_eq(got[n], 0xee);	/* no overrun */
		}
	for (size_t off = 250; off < sizeof(want); off++) {
		size_t n = sizeof(want) - off;
		payload(ev, off, got, n);
		ck_assert_mem_eq(got, want + off, n);
	}
	/* in hex form */
	snprintf(text, sizeof(text), "write fd=1 len=301 data=rand:0x%" PRIx64, seed);
	ck_assert_uint_eq(one(text)->data.arg, seed);
}
END_TEST

START_TEST(test_payload_rand_far_offset)
{
	/* Output k of a 1 GiB payload, read without producing the others. */
	const struct trace_event *ev = one("pwrite fd=1 off=0 len=1G data=rand:12345");
	uint64_t x = 12345, z = 0;
	uint64_t k = ((1ull << 30) - 13) / 8;	/* the word holding byte 1G-13 */
	uint8_t b[13];

	for (uint64_t i = 0; i <= k; i++)
		z = ref_splitmix64(&x);
	payload(ev, (1ull << 30) - 13, b, 13);
	/* byte 1G-13 is byte 3 of word k; the last 8 are word k+1 */
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(b[i], (uint8_t)(z >> (8 * (3 + i))));
	z = ref_splitmix64(&x);
	for (int i = 0; i < 8; i++)
		ck_assert_uint_eq(b[5 + i], (uint8_t)(z >> (8 * i)));
}
END_TEST

START_TEST(test_payload_val)
{
	const struct trace_event *ev;
	uint8_t b[8];

	ev = one("store addr=0 len=1 val=0xff");
	ck_assert_uint_eq(ev->data.len, 1);
	payload(ev, 0, b, 1);
	ck_assert_uint_eq(b[0], 0xff);

	ev = one("store addr=0 len=3 val=0x010203");
	payload(ev, 0, b, 3);
	ck_assert_mem_eq(b, "\x03\x02\x01", 3);
	payload(ev, 1, b, 2);		/* unaligned read */
	ck_assert_mem_eq(b, "\x02\x01", 2);
	payload(ev, 2, b, 1);
	ck_assert_uint_eq(b[0], 1);

	ev = one("store addr=0 len=8 val=18446744073709551615");
	payload(ev, 0, b, 8);
	ck_assert_mem_eq(b, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
	payload(ev, 7, b, 1);
	ck_assert_uint_eq(b[0], 0xff);

	ev = one("store addr=0 len=8 val=1");	/* the brief's example */
	payload(ev, 0, b, 8);
	ck_assert_mem_eq(b, "\x01\x00\x00\x00\x00\x00\x00\x00", 8);

	ev = one("store addr=0 len=4 val=0");
	payload(ev, 0, b, 4);
	ck_assert_mem_eq(b, "\0\0\0\0", 4);

	ev = one("store addr=0 len=2 val=1K");	/* suffixes work in val= */
	payload(ev, 0, b, 2);
	ck_assert_mem_eq(b, "\x00\x04", 2);
}
END_TEST

START_TEST(test_payload_errors)
{
	expect_error("write fd=1 len=4 data=hex:0011",
		     "t:1: write: data has 2 bytes but len=4");
	expect_error("write fd=1 len=1 data=hex:0011",
		     "t:1: write: data has 2 bytes but len=1");
	expect_error("write fd=1 len=2 data=hex:00",
		     "t:1: write: data has 1 byte but len=2");
	expect_error("store addr=0 len=1 data=hex:",
		     "t:1: store: data has 0 bytes but len=1");
	expect_error("write fd=1 len=2 data=hex:001", "t:1: odd number of hex digits in data");
	expect_error("write fd=1 len=1 data=hex:0", "t:1: odd number of hex digits in data");
	expect_error("write fd=1 len=2 data=hex:00g0", "t:1: bad hex digit 'g' in data");
	expect_error("write fd=1 len=2 data=hex:000G", "t:1: bad hex digit 'G' in data");
	expect_error("write fd=1 len=1 data=hex:0x", "t:1: bad hex digit 'x' in data");
	expect_error("write fd=1 len=1 data=\"hex:0\\x01\"",
		     "t:1: bad hex digit '\\x01' in data");
	expect_error("write fd=1 len=1 data=fill:256", "t:1: fill byte 256 is not a byte");
	expect_error("write fd=1 len=1 data=fill:0x100", "t:1: fill byte 256 is not a byte");
	expect_error("write fd=1 len=1 data=fill:1K", "t:1: fill byte 1024 is not a byte");
	expect_error("write fd=1 len=1 data=fill:", "t:1: bad number for fill byte: ''");
	expect_error("write fd=1 len=1 data=fill:0xAB:",
		     "t:1: bad number for fill byte: '0xAB:'");
	expect_error("write fd=1 len=1 data=rand:", "t:1: bad number for rand seed: ''");
	expect_error("write fd=1 len=1 data=zero:1",
		     "t:1: bad data 'zero:1' (expected hex:, fill: or rand:)");
	expect_error("write fd=1 len=1 data=00",
		     "t:1: bad data '00' (expected hex:, fill: or rand:)");
	expect_error("write fd=1 len=1 data=HEX:00",
		     "t:1: bad data 'HEX:00' (expected hex:, fill: or rand:)");
	expect_error("write fd=1 len=1 data=",
		     "t:1: bad data '' (expected hex:, fill: or rand:)");
	/* val= */
	expect_error("store addr=0 len=1 val=256", "t:1: store: val 0x100 does not fit in 1 byte");
	expect_error("store addr=0 len=2 val=0x10000",
		     "t:1: store: val 0x10000 does not fit in 2 bytes");
	expect_error("store addr=0 len=7 val=0x100000000000000",
		     "t:1: store: val 0x100000000000000 does not fit in 7 bytes");
	expect_error("store addr=0 len=9 val=1",
		     "t:1: store: val= needs len between 1 and 8, not 9");
	expect_error("write fd=1 len=16 val=1",
		     "t:1: write: val= needs len between 1 and 8, not 16");
	expect_error("write fd=1 len=0 val=0",
		     "t:1: write: val= needs len between 1 and 8, not 0");
	expect_error("rmw addr=0 len=64 val=1",
		     "t:1: rmw: val= needs len between 1 and 8, not 64");
	/* exactly one payload */
	expect_error("store addr=0 len=1 val=1 data=fill:1",
		     "t:1: store: data= and val= both given");
	expect_error("ntstore addr=0 len=1", "t:1: ntstore: missing field 'data' (or 'val')");
	expect_error("write fd=1 len=1", "t:1: write: missing field 'data' (or 'val')");
	expect_error("setxattr fd=1 name=n len=1", "t:1: setxattr: missing field 'data' (or 'val')");
	expect_error("load addr=0 len=1 val=1", "t:1: unknown field 'val' for load");
	expect_error("load addr=0 len=1 data=hex:00", "t:1: unknown field 'data' for load");
	/* the CPU layer moves at least one byte */
	expect_error("store addr=0 len=0 data=hex:", "t:1: store: len=0");
	expect_error("load addr=0 len=0", "t:1: load: len=0");
}
END_TEST

/* ---- lexical: strings, comments, blank lines, CRLF ---- */

START_TEST(test_quoted_strings)
{
	const struct trace_event *ev;

	ev = one("unlink path=\"a b\"");
	ck_assert_str_eq(ev->path.s, "a b");
	ck_assert_uint_eq(ev->path.len, 3);

	/* every escape */
	ev = one("unlink path=\"\\a\\b\\f\\n\\r\\t\\v\\e\\\\\\\"\\'\\?\"");
	ck_assert_uint_eq(ev->path.len, 12);
	ck_assert_mem_eq(ev->path.s, "\a\b\f\n\r\t\v\x1b\\\"'?", 12);

	/* \x with one or two digits; octal with one to three */
	ev = one("unlink path=\"\\x41\\x4g\\xff\\xA\\101\\12\\1\\0101\\377\"");
	{
		static const unsigned char want[] = {
			'A', 0x04, 'g', 0xff, 0x0a, 'A', '\n', 0x01, 0x08, '1', 0xff,
		};
		ck_assert_uint_eq(ev->path.len, sizeof(want));
		ck_assert_mem_eq(ev->path.s, want, sizeof(want));
	}
}
END_TEST

START_TEST(test_quoted_strings_more)
{
	const struct trace_event *ev;

	/* the previous test's expectation spelled out byte by byte */
	ev = one("unlink path=\"\\x4g\"");
	ck_assert_uint_eq(ev->path.len, 2);
	ck_assert_mem_eq(ev->path.s, "\x04g", 2);
	ev = one("unlink path=\"\\0101\"");	/* octal stops after 3 digits */
	ck_assert_mem_eq(ev->path.s, "\x08" "1", 2);
	ev = one("unlink path=\"\\18\"");
	ck_assert_mem_eq(ev->path.s, "\x01" "8", 2);

	/* '#', '=', quotes and non-ASCII are literal inside quotes */
	ev = one("rename from=\"/a#b=c\" to=\"/x y\"   # a real comment");
	ck_assert_str_eq(ev->from.s, "/a#b=c");
	ck_assert_str_eq(ev->to.s, "/x y");
	ev = one("mkdir path=\"caf\xc3\xa9 \xff\"");
	ck_assert_str_eq(ev->path.s, "caf\xc3\xa9 \xff");
	ev = one("mark name=\"tab\there\"");
	ck_assert_str_eq(ev->name.s, "tab\there");

	/* unquoted values: any bytes but space, tab and '#' */
	ev = one("mkdir path=caf\xc3\xa9/a=b\"c\\d");
	ck_assert_str_eq(ev->path.s, "caf\xc3\xa9/a=b\"c\\d");

	/* a quoted value for any field */
	ev = one("close fd=\"3\" sym=\"f\"");
	ck_assert_uint_eq(ev->fd, 3);
	ck_assert_str_eq(ev->sym.s, "f");
}
END_TEST

START_TEST(test_comments_blank_crlf)
{
	const struct trace_event *ev;
	const char *t;

	ck_assert_int_eq(count_events("", 0), 0);
	ck_assert_int_eq(count_events("\n\n\n", 3), 0);
	ck_assert_int_eq(count_events("# only\n   # indented\n\t#tab\n", 27), 0);
	ck_assert_int_eq(count_events("\r\n \r\n\t\r\n", 8), 0);

	ev = one("# comment\n\n   \n\tsync   # trailing\n# end\n");
	ck_assert_int_eq(ev->op, TRACE_SYNC);
	ck_assert_uint_eq(ev->line, 4);
	ck_assert_uint_eq(one("sync#comment")->op, TRACE_SYNC);
	ev = one("fsync fd=3#comment right after a value");
	ck_assert_uint_eq(ev->fd, 3);
	ev = one("mark name=x#y");
	ck_assert_str_eq(ev->name.s, "x");
	ev = one("mark name=\"x#y\"#z");
	ck_assert_str_eq(ev->name.s, "x#y");
	ev = one("mark\tname=t\t\t sym=u \t");
	ck_assert_str_eq(ev->name.s, "t");
	ck_assert_str_eq(ev->sym.s, "u");

	/* CRLF: the '\r' is not part of the last value */
	t = "version 1\r\nconfig a=b\r\nmark name=x\r\nmark name=\"q\"\r\n\r\nsync\r\n";
	ck_assert_int_eq(count_events(t, strlen(t)), 5);
	ev = nth(t, 2);
	ck_assert_str_eq(ev->kv[0].value.s, "b");
	ev = nth(t, 3);
	ck_assert_str_eq(ev->name.s, "x");
	ck_assert_uint_eq(ev->name.len, 1);
	ev = nth(t, 4);
	ck_assert_str_eq(ev->name.s, "q");
	ev = nth(t, 5);
	ck_assert_uint_eq(ev->line, 6);
	/* no final newline, with and without CR */
	ck_assert_uint_eq(one("mark name=end")->name.len, 3);
	ck_assert_uint_eq(one("mark name=end\r")->name.len, 3);
	/* a lone CR inside a line is an ordinary byte */
	ck_assert_str_eq(one("mark name=a\rb")->name.s, "a\rb");
	/* errors on CRLF lines count lines as usual */
	expect_error("sync\r\n\r\nbogus\r\n", "t:3: unknown event 'bogus'");
}
END_TEST

/* ---- header lines ---- */

START_TEST(test_version)
{
	const struct trace_event *ev;

	ev = one("version 1");
	ck_assert_int_eq(ev->op, TRACE_VERSION);
	ck_assert_uint_eq(ev->version, 1);
	ck_assert_uint_eq(ev->fields, 0);
	ck_assert_uint_eq(one("version 0x1 # hex is fine")->version, 1);
	ck_assert_uint_eq(nth("# comments first\n\nversion 1\nsync\n", 1)->line, 3);
	ck_assert_int_eq(count_events("version 1\nconfig a=b\nsync\n", 26), 3);

	expect_error("version 2", "t:1: unsupported trace format version 2 "
		     "(this powercut reads version 1)");
	expect_error("version 0", "t:1: unsupported trace format version 0 "
		     "(this powercut reads version 1)");
	expect_error("version", "t:1: version: missing version number");
	expect_error("version 1 1", "t:1: version: expected KEY=VALUE, got '1'");
	expect_error("version v=1", "t:1: unknown field 'v' for version");
	ERR_N("sync\nversion 1", "t:2: version must be the first event", 1);
	ERR_N("version 1\nversion 1", "t:2: version must be the first event", 1);
	ERR_N("config a=b\nversion 1", "t:2: version must be the first event", 1);
	ERR_N("mark name=a\n# c\nversion 1",
		       "t:3: version must be the first event", 1);
}
END_TEST

START_TEST(test_config)
{
	const struct trace_event *ev;
	const char *t;

	ev = one("config device=disk-wc fs-opts=data=ordered,nobarrier");
	ck_assert_int_eq(ev->op, TRACE_CONFIG);
	ck_assert_uint_eq(ev->nkv, 2);
	ck_assert_str_eq(ev->kv[0].key.s, "device");
	ck_assert_str_eq(ev->kv[0].value.s, "disk-wc");
	ck_assert_str_eq(ev->kv[1].key.s, "fs-opts");
	ck_assert_str_eq(ev->kv[1].value.s, "data=ordered,nobarrier");
	ck_assert_uint_eq(ev->kv[1].value.len, 22);

	ev = one("config set=l1d.size=32K machine=eadr   # c");
	ck_assert_str_eq(ev->kv[0].key.s, "set");
	ck_assert_str_eq(ev->kv[0].value.s, "l1d.size=32K");
	ck_assert_str_eq(ev->kv[1].value.s, "eadr");

	ev = one("config fault=\"ignore-flush\" x=\"a b\\\"c\" e=\"\" f= g=1#c");
	ck_assert_uint_eq(ev->nkv, 5);
	ck_assert_str_eq(ev->kv[0].value.s, "ignore-flush");
	ck_assert_str_eq(ev->kv[1].value.s, "a b\"c");
	ck_assert_uint_eq(ev->kv[2].value.len, 0);
	ck_assert_str_eq(ev->kv[2].key.s, "e");
	ck_assert_uint_eq(ev->kv[3].value.len, 0);
	ck_assert_str_eq(ev->kv[3].value.s, "");
	ck_assert_str_eq(ev->kv[4].key.s, "g");
	ck_assert_str_eq(ev->kv[4].value.s, "1");

	/* config lines at the top, after version, several */
	t = "version 1\nconfig a=1\n# c\nconfig b=2\nstore addr=0 len=1 val=1\n";
	ck_assert_int_eq(count_events(t, strlen(t)), 4);
	ck_assert_str_eq(nth(t, 3)->kv[0].key.s, "b");

	/* 32 settings on one line is the limit */
	{
		char line[1024];
		size_t o = (size_t)snprintf(line, sizeof(line), "config");
		for (int i = 0; i < TRACE_MAX_CONFIG; i++)
			o += (size_t)snprintf(line + o, sizeof(line) - o, " k%d=v%d", i, i);
		ev = one(line);
		ck_assert_uint_eq(ev->nkv, TRACE_MAX_CONFIG);
		ck_assert_str_eq(ev->kv[31].value.s, "v31");
		snprintf(line + o, sizeof(line) - o, " one=more");
		expect_error(line, "t:1: config: more than 32 settings on one line");
	}

	expect_error("config", "t:1: config: no settings");
	expect_error("config   # nothing", "t:1: config: no settings");
	expect_error("config foo", "t:1: config: expected KEY=VALUE, got 'foo'");
	expect_error("config a=1 foo", "t:1: config: expected KEY=VALUE, got 'foo'");
	expect_error("config =x", "t:1: config: empty key");
	expect_error("config a=\"x", "t:1: unterminated string for config value");
	expect_error("config a=\"x\"y", "t:1: junk after closing quote of config value");
	ERR_N("sync\nconfig a=b",
		       "t:2: config lines must come before the first event", 1);
	ERR_N("mark name=m\nconfig a=b",
		       "t:2: config lines must come before the first event", 1);
	ERR_N("store addr=0 len=1 val=1\n\nconfig a=b",
		       "t:3: config lines must come before the first event", 1);
}
END_TEST

/* ---- errors ---- */

START_TEST(test_error_unknown_event_and_field)
{
	expect_error("frobnicate fd=1", "t:1: unknown event 'frobnicate'");
	expect_error("Open fd=1 path=/a", "t:1: unknown event 'Open'");
	expect_error("fd=1", "t:1: unknown event 'fd=1'");
	expect_error("\"sync\"", "t:1: unknown event '\"sync\"'");
	expect_error("sync\n\xff\x01", "t:2: unknown event '\\xff\\x01'");
	expect_error("sync\r\r\n", "t:1: unknown event 'sync\\x0d'");
	expect_error("fsync fd=3 len=4", "t:1: unknown field 'len' for fsync");
	expect_error("fsync fd=3 cpu=1", "t:1: unknown field 'cpu' for fsync");
	expect_error("sfence fd=1", "t:1: unknown field 'fd' for sfence");
	expect_error("mark name=a cpu=1", "t:1: unknown field 'cpu' for mark");
	expect_error("sync bogus=1", "t:1: unknown field 'bogus' for sync");
	expect_error("sync =1", "t:1: unknown field '' for sync");
	expect_error("wait all=1", "t:1: unknown field 'all' for wait");
	expect_error("bio id=1 op=flush val=1", "t:1: unknown field 'val' for bio");
	expect_error("open fd=1 path=/a mode=KEEP_SIZE", "t:1: unknown field 'mode' for open");
	expect_error("fallocate fd=1 off=0 len=1 flags=KEEP_SIZE",
		     "t:1: unknown field 'flags' for fallocate");
	expect_error("fsync 3", "t:1: fsync: expected KEY=VALUE, got '3'");
	expect_error("fsync fd", "t:1: fsync: expected KEY=VALUE, got 'fd'");
	expect_error("fsync fd#=3", "t:1: fsync: expected KEY=VALUE, got 'fd'");
	expect_error("wait foo", "t:1: wait: expected KEY=VALUE, got 'foo'");
}
END_TEST

START_TEST(test_error_missing_and_repeated)
{
	expect_error("open path=/a", "t:1: open: missing field 'fd'");
	expect_error("open fd=1", "t:1: open: missing field 'path'");
	expect_error("close", "t:1: close: missing field 'fd'");
	expect_error("pwrite fd=3 len=4 data=fill:0", "t:1: pwrite: missing field 'off'");
	expect_error("write fd=3 data=hex:00", "t:1: write: missing field 'len'");
	expect_error("rename from=/a", "t:1: rename: missing field 'to'");
	expect_error("symlink to=/a", "t:1: symlink: missing field 'from'");
	expect_error("setxattr fd=1 len=1 val=1", "t:1: setxattr: missing field 'name'");
	expect_error("mmap fd=1 addr=0 len=1", "t:1: mmap: missing field 'off'");
	expect_error("munmap len=1", "t:1: munmap: missing field 'addr'");
	expect_error("store len=1 val=1", "t:1: store: missing field 'addr'");
	expect_error("clwb", "t:1: clwb: missing field 'addr'");
	expect_error("bio op=flush", "t:1: bio: missing field 'id'");
	expect_error("bio id=1", "t:1: bio: missing field 'op'");
	expect_error("mark", "t:1: mark: missing field 'name'");
	expect_error("think cpu=1", "t:1: think: missing field 'cycles'");

	expect_error("fsync fd=3 fd=4", "t:1: repeated field 'fd'");
	expect_error("fsync fd=3 fd=3", "t:1: repeated field 'fd'");
	expect_error("mark name=a sym=b sym=c", "t:1: repeated field 'sym'");
	expect_error("store addr=0 len=1 val=1 val=1", "t:1: repeated field 'val'");
	expect_error("write fd=1 len=1 data=hex:00 data=hex:00", "t:1: repeated field 'data'");
	expect_error("wait all all", "t:1: repeated field 'all'");
}
END_TEST

START_TEST(test_error_strings)
{
	expect_error("unlink path=\"abc", "t:1: unterminated string for path");
	expect_error("unlink path=\"", "t:1: unterminated string for path");
	expect_error("unlink path=\"abc\\", "t:1: unterminated string for path");
	expect_error("unlink path=\"abc\\\"", "t:1: unterminated string for path");
	expect_error("mark name=\"a\nb\"", "t:1: unterminated string for name");
	expect_error("unlink path=\"\\q\"", "t:1: unknown escape '\\q' in string for path");
	expect_error("unlink path=\"\\8\"", "t:1: unknown escape '\\8' in string for path");
	expect_error("unlink path=\"\\\xff\"", "t:1: unknown escape '\\?' in string for path");
	expect_error("unlink path=\"\\xg\"", "t:1: bad \\x escape in string for path");
	expect_error("unlink path=\"\\x\"", "t:1: bad \\x escape in string for path");
	expect_error("unlink path=\"\\400\"",
		     "t:1: octal escape out of range in string for path");
	expect_error("unlink path=\"\\0\"", "t:1: NUL in string for path");
	expect_error("unlink path=\"\\x00\"", "t:1: NUL in string for path");
	expect_error("unlink path=\"\\000\"", "t:1: NUL in string for path");
	expect_error("rename from=\"a\"b to=c", "t:1: junk after closing quote of from");
	expect_error("rename from=a to=\"b\"\"c\"", "t:1: junk after closing quote of to");
	expect_error("unlink path=", "t:1: empty path");
	expect_error("unlink path=\"\"", "t:1: empty path");
	expect_error("mark name=", "t:1: empty name");
	expect_error("mark name=# comment", "t:1: empty name");
	expect_error("sync sym=", "t:1: empty sym");
	expect_error("setxattr fd=1 name=\"\" len=1 val=1", "t:1: empty name");
}
END_TEST

START_TEST(test_error_nul)
{
	ERR_N("sync\nmark name=a\0b\n", "t:2: NUL byte in line", 1);
	ERR_N("\0", "t:1: NUL byte in line", 0);
	ERR_N("# comment \0 hidden\n", "t:1: NUL byte in line", 0);
	ERR_N("sync\r\n\0\r\n", "t:2: NUL byte in line", 1);
	ERR_N("sync\nsync\0", "t:2: NUL byte in line", 1);
}
END_TEST

START_TEST(test_error_flags)
{
	expect_error("open fd=1 path=/a flags=", "t:1: empty value for flag");
	expect_error("open fd=1 path=/a flags=O_CREAT|O_BOGUS", "t:1: unknown flag 'O_BOGUS'");
	expect_error("open fd=1 path=/a flags=o_creat", "t:1: unknown flag 'o_creat'");
	expect_error("open fd=1 path=/a flags=O_CREAT|", "t:1: unknown flag ''");
	expect_error("open fd=1 path=/a flags=|O_CREAT", "t:1: unknown flag ''");
	expect_error("open fd=1 path=/a flags=O_CREAT,O_RDWR", "t:1: unknown flag 'O_CREAT,O_RDWR'");
	expect_error("open fd=1 path=/a flags=MAP_SHARED", "t:1: unknown flag 'MAP_SHARED'");
	expect_error("mmap fd=1 addr=0 len=1 off=0 flags=MS_SYNC", "t:1: unknown flag 'MS_SYNC'");
	expect_error("msync addr=0 len=1 flags=MAP_SYNC", "t:1: unknown flag 'MAP_SYNC'");
	expect_error("fallocate fd=1 off=0 len=1 mode=", "t:1: empty value for fallocate mode");
	expect_error("fallocate fd=1 off=0 len=1 mode=COLLAPSE_RANGE",
		     "t:1: unknown fallocate mode 'COLLAPSE_RANGE'");
	expect_error("bio id=1 op=flush flags=SYNC", "t:1: unknown bio flag 'SYNC'");
	expect_error("bio id=1 op=flush flags=", "t:1: empty value for bio flag");
	expect_error("bio id=1 op=read", "t:1: unknown bio op 'read' (write, flush or discard)");
	expect_error("bio id=1 op=", "t:1: unknown bio op '' (write, flush or discard)");
	expect_error("bio id=1 op=WRITE sector=0 len=512 data=fill:0",
		     "t:1: unknown bio op 'WRITE' (write, flush or discard)");
}
END_TEST

START_TEST(test_error_mixing)
{
	/* block after file, file after block; CPU and any-layer events go
	 * with either */
	ERR_N("open fd=3 path=/a\nstore addr=0 len=1 val=1\nbio id=1 op=flush",
		       "t:3: block event 'bio' in a trace with file events (first at line 1): "
		       "block and file events do not mix", 2);
	ERR_N("mark name=a\nbio id=1 op=flush\nsfence\nthink cycles=1\n\nfsync fd=1",
		       "t:6: file event 'fsync' in a trace with block events (first at line 2): "
		       "block and file events do not mix", 4);
	ERR_N("wait all\nsync",
		       "t:2: file event 'sync' in a trace with block events (first at line 1): "
		       "block and file events do not mix", 1);
	{
		const char *t = "config device=pmem\nstore addr=0 len=8 val=1\nclwb addr=0\n"
				"bio id=1 op=write sector=0 len=512 data=fill:1\nsfence\n"
				"wait id=1\nmark name=x\nthink cycles=5 cpu=1\n";
		ck_assert_int_eq(count_events(t, strlen(t)), 8);
		t = "mark name=x\nstore addr=0 len=8 val=1\nopen fd=3 path=/f\n"
		    "mmap fd=3 addr=0 len=4K off=0\nclwb addr=0\nsfence\nfsync fd=3\n";
		ck_assert_int_eq(count_events(t, strlen(t)), 7);
	}
}
END_TEST

START_TEST(test_error_bio_rules)
{
	expect_error("bio id=1 op=write len=512 data=fill:0", "t:1: bio: op=write needs sector=");
	expect_error("bio id=1 op=write sector=0 data=fill:0", "t:1: bio: op=write needs len=");
	expect_error("bio id=1 op=write sector=0 len=512", "t:1: bio: op=write needs data=");
	expect_error("bio id=1 op=write sector=0 len=0 data=hex:",
		     "t:1: bio: op=write with len=0");
	expect_error("bio id=1 op=write sector=0 len=100 data=fill:0",
		     "t:1: bio: len 100 is not a multiple of 512");
	expect_error("bio id=1 op=write sector=0 len=513 data=fill:0",
		     "t:1: bio: len 513 is not a multiple of 512");
	expect_error("bio id=1 op=write sector=0 len=512 data=hex:00",
		     "t:1: bio: data has 1 byte but len=512");
	expect_error("bio id=1 op=flush sector=0", "t:1: bio: op=flush takes no sector, len or data");
	expect_error("bio id=1 op=flush len=512", "t:1: bio: op=flush takes no sector, len or data");
	expect_error("bio id=1 op=flush data=fill:0",
		     "t:1: bio: op=flush takes no sector, len or data");
	expect_error("bio id=1 op=flush flags=FUA",
		     "t:1: bio: op=flush cannot carry FUA (it has no data)");
	expect_error("bio id=1 op=flush flags=PREFLUSH|FUA",
		     "t:1: bio: op=flush cannot carry FUA (it has no data)");
	expect_error("bio id=1 op=discard sector=0", "t:1: bio: op=discard needs sector= and len=");
	expect_error("bio id=1 op=discard len=512", "t:1: bio: op=discard needs sector= and len=");
	expect_error("bio id=1 op=discard sector=0 len=512 data=fill:0",
		     "t:1: bio: op=discard takes no data");
	expect_error("bio id=1 op=discard sector=0 len=0", "t:1: bio: op=discard with len=0");
	expect_error("bio id=1 op=discard sector=0 len=1000",
		     "t:1: bio: len 1000 is not a multiple of 512");
	/* the last byte must be addressable in 64 bits */
	expect_error("bio id=1 op=write sector=0x7fffffffffffff len=512 data=fill:0",
		     "t:1: bio: sector 36028797018963967 out of range");
	expect_error("bio id=1 op=discard sector=0x7ffffffffffff0 len=8K",
		     "t:1: bio: sector 36028797018963952 out of range");
	ck_assert_uint_eq(one("bio id=1 op=write sector=0x7ffffffffffffe len=512 data=fill:0")
			  ->sector, 0x7ffffffffffffeull);
	/* wait */
	expect_error("wait", "t:1: wait: give either id=N or all");
	expect_error("wait id=1 all", "t:1: wait: give either id=N or all");
	expect_error("wait sym=x", "t:1: wait: give either id=N or all");
}
END_TEST

START_TEST(test_error_ranges)
{
	expect_error("store addr=0xffffffffffffffff len=2 val=1",
		     "t:1: store: addr+len wraps around");
	expect_error("store addr=0xffffffffffffffff len=1 val=1",
		     "t:1: store: addr+len wraps around");
	expect_error("munmap addr=0xfffffffffffff000 len=8K", "t:1: munmap: addr+len wraps around");
	expect_error("load addr=1 len=0xffffffffffffffff", "t:1: load: addr+len wraps around");
	expect_error("pwrite fd=1 off=0xffffffffffffffff len=1 data=fill:0",
		     "t:1: pwrite: off+len wraps around");
	expect_error("fallocate fd=1 off=0xfffffffffffffffe len=2",
		     "t:1: fallocate: off+len wraps around");
	expect_error("mmap fd=1 addr=0 len=4K off=0xfffffffffffff001",
		     "t:1: mmap: off+len wraps around");
	ck_assert_uint_eq(one("store addr=0xfffffffffffffff0 len=8 val=1")->addr,
			  0xfffffffffffffff0ull);
	ck_assert_uint_eq(one("store addr=0xfffffffffffffffe len=1 val=1")->addr,
			  0xfffffffffffffffeull);
	expect_error("mmap fd=1 addr=0 len=0 off=0", "t:1: mmap: len=0");
	expect_error("munmap addr=0 len=0", "t:1: munmap: len=0");
	expect_error("msync addr=0 len=0", "t:1: msync: len=0");
	expect_error("rmw addr=0 len=0 data=hex:", "t:1: rmw: len=0");
}
END_TEST

START_TEST(test_error_messages_cut)
{
	/* values in messages: at most 40 bytes, others as \xHH */
	expect_error("mark name=a flags=\x01\x7f", "t:1: unknown field 'flags' for mark");
	expect_error("open fd=1 path=/ flags=\x01\x7f", "t:1: unknown flag '\\x01\\x7f'");
	expect_error("aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeee",
		     "t:1: unknown event 'aaaaaaaaaabbbbbbbbbbccccccccccdddddddddd...'");
	expect_error("\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x90",
		     "t:1: unknown event '\\x80\\x81\\x82\\x83\\x84\\x85\\x86\\x87\\x88"
		     "\\x89\\x8a\\x8b\\x8c\\x8d\\x8e...'");
}
END_TEST

START_TEST(test_open_errors)
{
	struct trace_reader *r = (struct trace_reader *)1;

	ck_assert_int_eq(trace_open(&r, "/nonexistent/powercut/trace"), -ENOENT);
	ck_assert_ptr_null(r);
	ck_assert_str_eq(trace_open_error(),
			 "/nonexistent/powercut/trace: cannot open: No such file or directory");
	trace_close(NULL);		/* allowed */
}
END_TEST

START_TEST(test_stdin)
{
	const char *t = "version 1\nstore addr=0 len=8 val=7\n";
	char *path = temp_file(t, strlen(t));
	struct trace_reader *r;
	struct trace_event ev;

	ck_assert_ptr_nonnull(freopen(path, "rb", stdin));
	ck_assert_int_eq(trace_open(&r, "-"), 0);
	ck_assert_str_eq(trace_reader_name(r), "-");
	ck_assert_int_eq(trace_next(r, &ev), 1);
	ck_assert_int_eq(trace_next(r, &ev), 1);
	ck_assert_uint_eq(ev.data.arg, 7);
	ck_assert_int_eq(trace_next(r, &ev), 0);
	trace_close(r);
	unlink(path);
	free(path);
}
END_TEST

/* ---- writer ---- */

START_TEST(test_writer_canonical)
{
	ck_assert_canon("version 1", "version 1\n");
	ck_assert_canon("config device=disk-wc fs-opts=data=ordered,nobarrier",
			"config device=disk-wc fs-opts=data=ordered,nobarrier\n");
	ck_assert_canon("config a=\"x y\" b=", "config a=\"x y\" b=\"\"\n");
	ck_assert_canon("open   path=/a  flags=O_CREAT|O_RDWR fd=0x3 # c",
			"open fd=3 path=/a flags=O_RDWR|O_CREAT\n");
	ck_assert_canon("write fd=3 len=4 data=hex:DEADbeef",
			"write fd=3 len=4 data=hex:deadbeef\n");
	ck_assert_canon("pwrite fd=3 off=4K len=8K data=fill:171",
			"pwrite fd=3 off=4096 len=8192 data=fill:0xab\n");
	ck_assert_canon("fallocate mode=PUNCH_HOLE|KEEP_SIZE fd=1 off=0 len=1",
			"fallocate fd=1 off=0 len=1 mode=KEEP_SIZE|PUNCH_HOLE\n");
	ck_assert_canon("mmap fd=3 addr=4096 len=4K off=0 flags=MAP_SYNC|MAP_SHARED",
			"mmap fd=3 addr=0x1000 off=0 len=4096 flags=MAP_SHARED|MAP_SYNC\n");
	ck_assert_canon("store cpu=2 addr=64 len=8 val=255 sym=f",
			"store addr=0x40 len=8 val=0xff cpu=2 sym=f\n");
	ck_assert_canon("ntstore addr=0 len=64 data=rand:0x10",
			"ntstore addr=0x0 len=64 data=rand:16\n");
	ck_assert_canon("bio flags=FUA|PREFLUSH data=fill:0 len=512 sector=8 op=write id=9",
			"bio id=9 op=write sector=8 len=512 flags=PREFLUSH|FUA data=fill:0x00\n");
	ck_assert_canon("bio id=1 op=discard sector=0 len=1K",
			"bio id=1 op=discard sector=0 len=1024\n");
	ck_assert_canon("wait sym=s all", "wait all sym=s\n");
	ck_assert_canon("think cpu=1 cycles=1K", "think cycles=1024 cpu=1\n");
	ck_assert_canon("rename to=/b from=/a", "rename from=/a to=/b\n");
	ck_assert_canon("setxattr len=1 name=user.x fd=1 val=7",
			"setxattr fd=1 name=user.x len=1 val=0x7\n");
	ck_assert_canon("sync", "sync\n");
}
END_TEST

START_TEST(test_writer_quoting)
{
	ck_assert_canon("mkdir path=\"a b\"", "mkdir path=\"a b\"\n");
	ck_assert_canon("mkdir path=\"a\\\"b\"", "mkdir path=\"a\\\"b\"\n");
	ck_assert_canon("mkdir path=a\"b", "mkdir path=\"a\\\"b\"\n");
	ck_assert_canon("mkdir path=\"\\\"\"", "mkdir path=\"\\\"\"\n");
	ck_assert_canon("mkdir path=a\\b", "mkdir path=\"a\\\\b\"\n");
	ck_assert_canon("mkdir path=\"a#b\"", "mkdir path=\"a#b\"\n");
	ck_assert_canon("mkdir path=\"a=b\"", "mkdir path=a=b\n");
	ck_assert_canon("mkdir path=\"caf\xc3\xa9\"", "mkdir path=\"caf\\xc3\\xa9\"\n");
	ck_assert_canon("mkdir path=\"\\n\\t\\r\\x01a\\x7f\"",
			"mkdir path=\"\\n\\t\\x0d\\x01a\\x7f\"\n");
	ck_assert_canon("mkdir path=\"\\x01F\"", "mkdir path=\"\\x01F\"\n");
	ck_assert_canon("mkdir path=\"\\e[0m\"", "mkdir path=\"\\x1b[0m\"\n");
	ck_assert_canon("mkdir path=\"plain\"", "mkdir path=plain\n");
	ck_assert_canon("config k=\"a b\"", "config k=\"a b\"\n");
	ck_assert_canon("config k=\"#\"", "config k=\"#\"\n");
}
END_TEST

START_TEST(test_writer_bad_op)
{
	struct trace_event ev;
	FILE *f = fopen("/dev/null", "w");

	memset(&ev, 0, sizeof(ev));
	ck_assert_int_eq(trace_write_event(f, &ev), -EINVAL);
	ev.op = TRACE_OP_COUNT;
	ck_assert_int_eq(trace_write_event(f, &ev), -EINVAL);
	fclose(f);
}
END_TEST

START_TEST(test_writer_built_event)
{
	/* An event built by hand (as importers do), not read. */
	struct trace_event ev;
	static const uint8_t bytes[3] = { 1, 2, 0xfe };
	char *out;

	memset(&ev, 0, sizeof(ev));
	ev.op = TRACE_PWRITE;
	ev.fields = TRACE_F_FD | TRACE_F_OFF | TRACE_F_LEN | TRACE_F_DATA | TRACE_F_SYM;
	ev.fd = 5;
	ev.off = 10;
	ev.len = 3;
	ev.data.kind = TRACE_PAYLOAD_HEX;
	ev.data.len = 3;
	ev.data.bytes = bytes;
	ev.sym.s = "main+0x1f";
	ev.sym.len = strlen(ev.sym.s);
	out = written(&ev);
	ck_assert_str_eq(out, "pwrite fd=5 off=10 len=3 data=hex:0102fe sym=main+0x1f\n");
	ck_assert(trace_event_equal(&ev, one(out)));
	free(out);
}
END_TEST

/* Every example of this file, in one trace per layer, for round trips. */
static const char *const examples[] = {
	"version 1\n"
	"config device=disk-wc fs-opts=data=ordered,nobarrier machine=adr\n"
	"config set=l1d.size=32K background=off fault=\"ignore-flush\" empty=\n"
	"open fd=3 path=/a flags=O_CREAT|O_RDWR|O_TRUNC|O_APPEND|O_DIRECT|O_SYNC|O_DSYNC\n"
	"open fd=4 path=/ flags=O_DIRECTORY|O_RDONLY sym=\"main+0x10\"\n"
	"write fd=3 len=4 data=hex:deadbeef\n"
	"write fd=3 len=0 data=hex:\n"
	"write fd=3 len=3 val=0xabcdef\n"
	"pwrite fd=3 off=4096 len=8K data=fill:0xab\n"
	"pwrite fd=3 off=0 len=1M data=rand:99\n"
	"fsync fd=3\nfdatasync fd=3\nsync\nftruncate fd=3 len=0\n"
	"fallocate fd=3 off=0 len=64K mode=KEEP_SIZE|PUNCH_HOLE\n"
	"fallocate fd=3 off=0 len=1 mode=ZERO_RANGE\n"
	"rename from=\"/dir/with space\" to=\"/q\\\"uote\"\n"
	"link from=\"/back\\\\slash\" to=\"/hash#mark\"\n"
	"symlink from=\"caf\xc3\xa9\" to=\"/\\x01\\x7f\\xff\\t\\n\"\n"
	"unlink path=/a\nmkdir path=\"a=b\"\nrmdir path=\"\\\"\"\n"
	"setxattr fd=3 name=\"user.with space\" len=2 data=hex:0102\n"
	"removexattr fd=3 name=user.x\n"
	"mmap fd=3 addr=0x7f0000000000 len=2M off=0 flags=MAP_SHARED|MAP_SYNC|MAP_PRIVATE\n"
	"store addr=0x7f0000000000 len=8 val=0xffffffffffffffff cpu=1\n"
	"msync addr=0x7f0000000000 len=4096 flags=MS_SYNC|MS_ASYNC|MS_INVALIDATE\n"
	"munmap addr=0x7f0000000000 len=2M\n"
	"close fd=3 sym=x\nmark name=\"done done\"\nthink cycles=0 cpu=65535\n",

	"store addr=0 len=8 val=1\n"
	"store addr=8 len=16 data=hex:000102030405060708090a0b0c0d0e0f cpu=1\n"
	"ntstore addr=64 len=64 data=rand:0\nntstore addr=128 len=1 val=0\n"
	"load addr=0 len=8 cpu=2 sym=l\nclflush addr=0\nclflushopt addr=64 cpu=1\n"
	"clwb addr=128\nsfence\nmfence cpu=3\nrmw addr=256 len=4 val=0xffffffff cpu=2\n"
	"rmw addr=256 len=8 data=fill:7\nwbinvd\npcommit sym=\"pm\\x01\"\n"
	"mark name=m\nthink cycles=18446744073709551615\n",

	"bio id=1 op=write sector=0 len=4096 data=fill:0x00\n"
	"bio id=2 op=write sector=8 len=512 data=rand:7 sym=jbd2\n"
	"bio id=3 op=write sector=16 len=512 flags=PREFLUSH|FUA data=rand:18446744073709551615\n"
	"wait id=1\nwait all\nbio id=4 op=flush\nbio id=5 op=flush flags=PREFLUSH\n"
	"bio id=6 op=discard sector=2048 len=1M\n"
	"bio id=7 op=discard sector=0 len=512 flags=PREFLUSH|FUA\n"
	"bio id=18446744073709551615 op=write sector=0x7ffffffffffffe len=512 data=fill:1\n"
	"wait id=18446744073709551615 sym=\"with space\"\nstore addr=0 len=1 val=1\n",
};

START_TEST(test_round_trip_examples)
{
	const char *t = examples[_i];
	int n;

	n = round_trip(t, strlen(t));
	ck_assert_int_eq(n, count_events(t, strlen(t)));
	ck_assert_int_gt(n, 10);
}
END_TEST

START_TEST(test_round_trip_seeds_and_every_case)
{
	int total = 0;

	for (size_t i = 0; i < N_ELEMS(all_fields); i++)
		total += round_trip(all_fields[i].text, strlen(all_fields[i].text));
	for (size_t i = 0; i < N_ELEMS(required_only); i++)
		total += round_trip(required_only[i].text, strlen(required_only[i].text));
	ck_assert_int_eq(total, (int)(N_ELEMS(all_fields) + N_ELEMS(required_only)));
}
END_TEST

START_TEST(test_round_trip_every_byte_in_strings)
{
	/* Each byte 0x01..0xff, quoted as \xHH, in a path, then read back and
	 * written again. */
	char text[64];

	for (int c = 1; c < 256; c++) {
		const struct trace_event *ev;
		char *out;

		snprintf(text, sizeof(text), "mkdir path=\"<\\x%02x>\"", c);
		ev = one(text);
		ck_assert_uint_eq(ev->path.len, 3);
		ck_assert_uint_eq((unsigned char)ev->path.s[1], (unsigned)c);
		ck_assert_int_eq(round_trip(text, strlen(text)), 1);
		out = written(ev);
		if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f)
			ck_assert(strstr(out, "\"<\\") != NULL);	/* escaped */
		else
			ck_assert(strchr(out, c) != NULL);		/* as is */
		free(out);
	}
}
END_TEST

/*
 * Round trips over every file of DIR (run from the top of the tree, as
 * `make check` does): the example traces must read cleanly; the fuzzer's
 * seeds may end in an error (two of them are meant to), and round-trip
 * every event before it.  Returns the number of files.
 */
static int round_trip_dir(const char *dir, bool must_be_clean)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int files = 0;

	ck_assert_msg(d != NULL, "%s: %s (run from the top of the tree)", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		char path[512];
		struct trace_reader *r;
		struct trace_event ev;
		FILE *f;
		char *text;
		long size;
		int rc, n = 0;
		uint64_t last_line = 0;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "rb");
		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
		size = ftell(f);
		rewind(f);
		text = malloc((size_t)size + 1);
		ck_assert_uint_eq(fread(text, 1, (size_t)size, f), (size_t)size);
		fclose(f);
		/* the events before the first error, if any */
		ck_assert_int_eq(trace_open(&r, path), 0);
		while ((rc = trace_next(r, &ev)) == 1) {
			n++;
			last_line = ev.line;
		}
		if (rc < 0 && must_be_clean)
			ck_abort_msg("%s", trace_reader_error(r));
		trace_close(r);
		if (rc == 0)
			ck_assert_int_eq(round_trip(text, (size_t)size), n);
		else {
			/* cut the text after the last good event's line */
			size_t cut = 0;
			for (uint64_t line = 0; line < last_line && cut < (size_t)size; cut++)
				if (text[cut] == '\n')
					line++;
			ck_assert_int_eq(round_trip(text, cut), n);
		}
		free(text);
		files++;
	}
	closedir(d);
	return files;
}

START_TEST(test_round_trip_example_files)
{
	ck_assert_int_ge(round_trip_dir("traces/examples", true), 1);
	ck_assert_int_ge(round_trip_dir("tests/fuzz-seeds", false), 10);
}
END_TEST

/* ---- trace_event_equal ---- */

static bool equal_texts(const char *a, const char *b)
{
	struct trace_reader *ra, *rb;
	struct trace_event ea, eb;
	bool eq;

	ck_assert_int_eq(trace_open_mem(&ra, "a", a, strlen(a)), 0);
	ck_assert_int_eq(trace_open_mem(&rb, "b", b, strlen(b)), 0);
	ck_assert_int_eq(trace_next(ra, &ea), 1);
	ck_assert_int_eq(trace_next(rb, &eb), 1);
	eq = trace_event_equal(&ea, &eb);
	ck_assert_int_eq(trace_event_equal(&eb, &ea), eq);
	trace_close(ra);
	trace_close(rb);
	return eq;
}

START_TEST(test_event_equal)
{
	/* the line number is ignored; field order does not matter */
	ck_assert(equal_texts("\n\nfsync fd=3", "fsync fd=3"));
	ck_assert(equal_texts("rename from=a to=b", "rename to=b from=\"a\""));
	/* payloads compare by content, whatever their kind */
	ck_assert(equal_texts("store addr=0 len=2 data=fill:0", "store addr=0 len=2 data=hex:0000"));
	ck_assert(equal_texts("store addr=0 len=2 val=0x0102", "store addr=0 len=2 data=hex:0201"));
	ck_assert(equal_texts("store addr=0 len=8 data=rand:0",
			      "store addr=0 len=8 data=hex:afcd1d7b39a820e2"));
	ck_assert(equal_texts("store addr=0 len=8 data=rand:0", "store addr=0 len=8 "
			      "val=0xe220a8397b1dcdaf"));
	ck_assert(equal_texts("store addr=0 len=1 data=fill:7", "store addr=0 len=1 val=7"));
	ck_assert(equal_texts("write fd=1 len=0 data=rand:1", "write fd=1 len=0 data=rand:2"));
	ck_assert(equal_texts("write fd=1 len=0 data=fill:1", "write fd=1 len=0 data=hex:"));
	ck_assert(!equal_texts("store addr=0 len=2 data=fill:0", "store addr=0 len=2 data=hex:0001"));
	ck_assert(!equal_texts("store addr=0 len=8 data=rand:0", "store addr=0 len=8 data=rand:1"));
	ck_assert(!equal_texts("store addr=0 len=1 val=1", "store addr=0 len=1 val=2"));
	ck_assert(!equal_texts("store addr=0 len=1 val=1", "store addr=1 len=1 val=1"));
	ck_assert(!equal_texts("store addr=0 len=1 val=1", "ntstore addr=0 len=1 val=1"));
	/* an optional field present or not */
	ck_assert(!equal_texts("store addr=0 len=1 val=1", "store addr=0 len=1 val=1 cpu=0"));
	ck_assert(!equal_texts("sync", "sync sym=s"));
	ck_assert(!equal_texts("sync sym=s", "sync sym=t"));
	ck_assert(!equal_texts("open fd=1 path=/a", "open fd=1 path=/a flags=O_RDONLY"));
	ck_assert(!equal_texts("open fd=1 path=/a flags=O_RDWR", "open fd=1 path=/a flags=O_RDONLY"));
	ck_assert(!equal_texts("open fd=1 path=/a", "open fd=2 path=/a"));
	ck_assert(!equal_texts("open fd=1 path=/a", "open fd=1 path=/ab"));
	ck_assert(!equal_texts("fallocate fd=1 off=0 len=1 mode=KEEP_SIZE",
			       "fallocate fd=1 off=0 len=1 mode=PUNCH_HOLE"));
	ck_assert(!equal_texts("bio id=1 op=flush", "bio id=2 op=flush"));
	ck_assert(!equal_texts("bio id=1 op=discard sector=0 len=512",
			       "bio id=1 op=discard sector=1 len=512"));
	ck_assert(!equal_texts("bio id=1 op=discard sector=0 len=512",
			       "bio id=1 op=write sector=0 len=512 data=fill:0"));
	ck_assert(!equal_texts("wait all", "wait id=0"));
	ck_assert(!equal_texts("think cycles=1", "think cycles=2"));
	ck_assert(!equal_texts("think cycles=1 cpu=1", "think cycles=1 cpu=2"));
	ck_assert(!equal_texts("mark name=a", "mark name=b"));
	ck_assert(!equal_texts("pwrite fd=1 off=1 len=1 val=1", "pwrite fd=1 off=2 len=1 val=1"));
	ck_assert(!equal_texts("version 1", "config a=b"));
	ck_assert(equal_texts("config a=b c=\"d\"", "config a=\"b\" c=d"));
	ck_assert(!equal_texts("config a=b", "config a=c"));
	ck_assert(!equal_texts("config a=b", "config b=b"));
	ck_assert(!equal_texts("config a=b", "config a=b c=d"));
	ck_assert(!equal_texts("config a=b c=d", "config c=d a=b"));
	ck_assert(equal_texts("version 1", "version 0x1"));
}
END_TEST

/* ---- streaming ---- */

/* Bytes the allocator holds for the program (arena and mmap).  Zero under
 * ASan, whose allocator mallinfo2() does not see; the RSS check covers
 * that build. */
static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

/* Resident set size in KiB, from /proc/self/statm. */
static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, res = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &size, &res) != 2)
		res = 0;
	fclose(f);
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

#define STREAM_LINES 1200000

START_TEST(test_stream_million_lines)
{
	char path[] = "/tmp/check_trace_big.XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	struct trace_reader *r;
	struct trace_event ev;
	uint64_t n = 0, addr_sum = 0, want_sum = 0, lines;
	size_t heap_early = 0, heap_late;
	long rss_early = 0, rss_late;
	int rc;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	fputs("version 1\nconfig machine=adr\n", f);
	for (uint64_t i = 0; i < STREAM_LINES; i++) {
		switch (i % 6) {
		case 0: fprintf(f, "store addr=0x%" PRIx64 " len=8 val=%" PRIu64 "\n",
				i * 64, i);
			want_sum += i * 64;
			break;
		case 1: fprintf(f, "clwb addr=0x%" PRIx64 " cpu=%u # flush it\n",
				i * 64, (unsigned)(i % 4));
			want_sum += i * 64;
			break;
		case 2: fputs("sfence\r\n", f); break;
		case 3: fputs("# a comment line\n", f); break;
		case 4: fputs("\n", f); break;
		case 5: fprintf(f, "ntstore addr=%" PRIu64 " len=16 data=rand:%" PRIu64 "\n",
				i, i);
			want_sum += i;
			break;
		}
	}
	ck_assert_int_eq(fclose(f), 0);
	lines = 2 + STREAM_LINES;

	ck_assert_int_eq(trace_open(&r, path), 0);
	while ((rc = trace_next(r, &ev)) == 1) {
		n++;
		if (ev.fields & TRACE_F_ADDR)
			addr_sum += ev.addr;
		if (n == 10000) {
			rss_early = rss_kib();
			heap_early = heap_in_use();
		}
	}
	ck_assert_msg(rc == 0, "%s", trace_reader_error(r));
	rss_late = rss_kib();
	heap_late = heap_in_use();
	ck_assert_uint_eq(ev.line, lines);
	ck_assert_uint_eq(n, 2 + STREAM_LINES / 6 * 4);
	ck_assert_uint_eq(addr_sum, want_sum);
	/* The reader's memory does not grow with the number of lines. */
	ck_assert_msg(heap_late == heap_early, "heap grew from %zu to %zu bytes",
		      heap_early, heap_late);
	ck_assert_msg(rss_late - rss_early < 4096, "RSS grew from %ld to %ld KiB",
		      rss_early, rss_late);
	trace_close(r);
	unlink(path);
}
END_TEST

#define LONG_LEN (3u << 20)		/* a 3 MiB payload: a 6 MiB line */

START_TEST(test_stream_long_hex_line)
{
	char path[] = "/tmp/check_trace_long.XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	struct trace_reader *r;
	struct trace_event ev;
	static const char hexd[] = "0123456789abcdef";
	uint8_t *want = malloc(LONG_LEN), *got = malloc(LONG_LEN);
	char *buf = malloc(2 * LONG_LEN);
	char *out = NULL;
	size_t outlen = 0;
	size_t heap_after_first = 0;
	FILE *mf;

	ck_assert_int_ge(fd, 0);
	ck_assert(want && got && buf);
	ref_rand_bytes(77, want, LONG_LEN);
	for (size_t i = 0; i < LONG_LEN; i++) {
		buf[2 * i] = hexd[want[i] >> 4];
		buf[2 * i + 1] = hexd[want[i] & 15];
	}
	f = fdopen(fd, "w");
	ck_assert_ptr_nonnull(f);
	/* short lines, the long one, short lines, the long one again */
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 1000; i++)
			fprintf(f, "store addr=%d len=1 val=%d\n", i, i & 0xff);
		fprintf(f, "ntstore addr=0 len=%u data=hex:", LONG_LEN);
		fwrite(buf, 1, 2 * LONG_LEN, f);
		fputs(" cpu=1 # a comment\n", f);
	}
	fputs("sfence", f);
	ck_assert_int_eq(fclose(f), 0);

	ck_assert_int_eq(trace_open(&r, path), 0);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 1000; i++) {
			ck_assert_int_eq(trace_next(r, &ev), 1);
			ck_assert_uint_eq(ev.addr, (unsigned)i);
		}
		ck_assert_int_eq(trace_next(r, &ev), 1);
		ck_assert_int_eq(ev.op, TRACE_NTSTORE);
		ck_assert_uint_eq(ev.len, LONG_LEN);
		ck_assert_uint_eq(ev.cpu, 1);
		ck_assert_uint_eq(ev.line, 1001 * (round + 1));
		trace_payload_read(&ev.data, 0, got, LONG_LEN);
		ck_assert(memcmp(got, want, LONG_LEN) == 0);
		trace_payload_read(&ev.data, LONG_LEN - 5, got, 5);
		ck_assert_mem_eq(got, want + LONG_LEN - 5, 5);
		/* it equals the same bytes described as rand:77 */
		{
			struct trace_event r77 = ev;
			r77.data.kind = TRACE_PAYLOAD_RAND;
			r77.data.arg = 77;
			r77.data.bytes = NULL;
			ck_assert(trace_event_equal(&ev, &r77));
		}
		if (round == 0) {
			/* the writer prints it whole */
			mf = open_memstream(&out, &outlen);
			ck_assert_int_eq(trace_write_event(mf, &ev), 0);
			fclose(mf);
			ck_assert_uint_eq(outlen, strlen("ntstore addr=0x0 len=3145728 data=hex:") +
					  2 * LONG_LEN + strlen(" cpu=1\n"));
			ck_assert(memcmp(out + strlen("ntstore addr=0x0 len=3145728 data=hex:"),
					 buf, 2 * LONG_LEN) == 0);
			heap_after_first = heap_in_use();
		}
	}
	ck_assert_int_eq(trace_next(r, &ev), 1);
	ck_assert_int_eq(ev.op, TRACE_SFENCE);
	ck_assert_int_eq(trace_next(r, &ev), 0);
	/* the second long line reused the first one's buffers */
	ck_assert_uint_eq(heap_in_use(), heap_after_first);
	trace_close(r);

	/* the writer's output reads back equal (memory mode) */
	ck_assert_int_eq(round_trip(out, outlen), 1);
	free(out);
	free(want);
	free(got);
	free(buf);
	unlink(path);
}
END_TEST

START_TEST(test_stream_chunk_boundaries)
{
	/* Lines of every length around the reader's 1 MiB chunk, read from a
	 * file: each line is a mark whose name has a known length. */
	char path[] = "/tmp/check_trace_chunk.XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct trace_reader *r;
	struct trace_event ev;
	size_t lens[] = { 1, 100, (1u << 20) - 40, 3, (1u << 19) + 7, (1u << 20) + 1,
			  (1u << 21), 5, 1 };
	char *name = malloc((1u << 21) + 1);

	ck_assert_ptr_nonnull(f);
	memset(name, 'n', 1u << 21);
	for (size_t i = 0; i < N_ELEMS(lens); i++) {
		fputs("mark name=", f);
		fwrite(name, 1, lens[i], f);
		fputs(i % 2 ? "\r\n" : "\n", f);
	}
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(trace_open(&r, path), 0);
	for (size_t i = 0; i < N_ELEMS(lens); i++) {
		ck_assert_int_eq(trace_next(r, &ev), 1);
		ck_assert_uint_eq(ev.name.len, lens[i]);
		ck_assert_uint_eq(strlen(ev.name.s), lens[i]);
	}
	ck_assert_int_eq(trace_next(r, &ev), 0);
	trace_close(r);
	unlink(path);
	free(name);
}
END_TEST

/* ---- regressions ---- */

/*
 * Inputs that once went wrong in traces/trace.c, with what is right now.
 * Each reads to its end (msg NULL; every event then survives a round trip)
 * or stops with msg after `events` events.  Inputs found by
 * tests/fuzz_trace.c go here too, as they are found.
 */
struct regress_case {
	const char *why;	/* what was wrong */
	const char *text;
	size_t len;
	const char *msg;
	int events;
};

#define RC(why, s, m, n) { why, s, sizeof(s) - 1, m, n }

static const struct regress_case regressions[] = {
	RC("a bio accepted val=, then refused it for any len a bio can have",
	   "bio id=1 op=write sector=0 len=512 val=1",
	   "t:1: unknown field 'val' for bio", 0),
	RC("a message quoting many non-ASCII bytes was cut without '...'",
	   "open fd=1 path=/ flags=\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f",
	   "t:1: unknown flag '\\x80\\x81\\x82\\x83\\x84\\x85\\x86\\x87\\x88\\x89\\x8a\\x8b\\x8c\\x8d\\x8e...'", 0),
	RC("'data has 1 bytes'",
	   "pwrite fd=1 off=0 len=3 data=hex:ff",
	   "t:1: pwrite: data has 1 byte but len=3", 0),
};

START_TEST(test_regressions)
{
	const struct regress_case *c = &regressions[_i];

	if (c->msg)
		expect_error_n(c->text, c->len, c->msg, c->events);
	else
		ck_assert_msg(round_trip(c->text, c->len) >= 1, "%s", c->why);
}
END_TEST

START_TEST(test_regress_empty_payload_read)
{
	/* trace_payload_read() of zero bytes from an empty hex: payload passed
	 * a NULL pointer to memcpy (undefined behaviour; the SAN=1 build
	 * stopped on it).  Now it does nothing, for every kind. */
	static const char *const texts[] = {
		"write fd=1 len=0 data=hex:", "write fd=1 len=0 data=fill:7",
		"write fd=1 len=0 data=rand:7", "store addr=0 len=4 val=1",
		"store addr=0 len=4 data=hex:00000000",
	};
	uint8_t b[1] = { 0xee };

	for (size_t i = 0; i < N_ELEMS(texts); i++) {
		const struct trace_event *ev = one(texts[i]);
		trace_payload_read(&ev->data, 0, b, 0);
		trace_payload_read(&ev->data, ev->len, b, 0);
		ck_assert_uint_eq(b[0], 0xee);
	}
	ck_assert_ptr_null(one("write fd=1 len=0 data=hex:")->data.bytes);
}
END_TEST

START_TEST(test_regress_equal_empty_payloads)
{
	/* Payloads compare by content: two empty rand: payloads with other
	 * seeds hold the same (no) bytes.  They compared unequal. */
	ck_assert(equal_texts("write fd=1 len=0 data=rand:1", "write fd=1 len=0 data=rand:2"));
	ck_assert(equal_texts("write fd=1 len=0 data=fill:1", "write fd=1 len=0 data=fill:2"));
	ck_assert(equal_texts("write fd=1 len=0 data=rand:1", "write fd=1 len=0 data=fill:2"));
}
END_TEST

/* ---- the suite ---- */

static Suite *trace_suite(void)
{
	Suite *s = suite_create("trace");
	TCase *tc;

	tc = tcase_create("events");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_loop_test(tc, test_every_op_all_fields, 0, (int)N_ELEMS(all_fields));
	tcase_add_loop_test(tc, test_every_op_required_fields, 0, (int)N_ELEMS(required_only));
	tcase_add_test(tc, test_every_op_is_covered);
	tcase_add_test(tc, test_file_events_values);
	tcase_add_test(tc, test_cpu_events_values);
	tcase_add_test(tc, test_block_events_values);
	tcase_add_test(tc, test_any_events_values);
	tcase_add_test(tc, test_line_numbers_and_layer);
	suite_add_tcase(s, tc);

	tc = tcase_create("numbers");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_loop_test(tc, test_numbers_good, 0, (int)N_ELEMS(good_numbers));
	tcase_add_loop_test(tc, test_numbers_bad, 0, (int)N_ELEMS(bad_numbers));
	tcase_add_test(tc, test_number_field_names_in_messages);
	suite_add_tcase(s, tc);

	tc = tcase_create("payloads");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_payload_hex);
	tcase_add_test(tc, test_payload_fill);
	tcase_add_test(tc, test_payload_rand_known_vector);
	tcase_add_loop_test(tc, test_payload_rand_reference, 0, (int)N_ELEMS(rand_seeds));
	tcase_add_test(tc, test_payload_rand_far_offset);
	tcase_add_test(tc, test_payload_val);
	tcase_add_test(tc, test_payload_errors);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("lexical");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_quoted_strings);
	tcase_add_test(tc, test_quoted_strings_more);
	tcase_add_test(tc, test_comments_blank_crlf);
	suite_add_tcase(s, tc);

	tc = tcase_create("header");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_version);
	tcase_add_test(tc, test_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_error_unknown_event_and_field);
	tcase_add_test(tc, test_error_missing_and_repeated);
	tcase_add_test(tc, test_error_strings);
	tcase_add_test(tc, test_error_nul);
	tcase_add_test(tc, test_error_flags);
	tcase_add_test(tc, test_error_mixing);
	tcase_add_test(tc, test_error_bio_rules);
	tcase_add_test(tc, test_error_ranges);
	tcase_add_test(tc, test_error_messages_cut);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_stdin);
	suite_add_tcase(s, tc);

	tc = tcase_create("writer");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_writer_canonical);
	tcase_add_test(tc, test_writer_quoting);
	tcase_add_test(tc, test_writer_bad_op);
	tcase_add_test(tc, test_writer_built_event);
	tcase_add_loop_test(tc, test_round_trip_examples, 0, (int)N_ELEMS(examples));
	tcase_add_test(tc, test_round_trip_seeds_and_every_case);
	tcase_add_test(tc, test_round_trip_every_byte_in_strings);
	tcase_add_test(tc, test_round_trip_example_files);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("equal");
	tcase_add_test(tc, test_event_equal);
	suite_add_tcase(s, tc);

	tc = tcase_create("stream");
	tcase_add_test(tc, test_stream_million_lines);
	tcase_add_test(tc, test_stream_long_hex_line);
	tcase_add_test(tc, test_stream_chunk_boundaries);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);

	tc = tcase_create("regress");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_loop_test(tc, test_regressions, 0, (int)N_ELEMS(regressions));
	tcase_add_test(tc, test_regress_empty_payload_read);
	tcase_add_test(tc, test_regress_equal_empty_payloads);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(trace_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
