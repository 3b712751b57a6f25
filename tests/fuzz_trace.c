/*
 * fuzz_trace.c — libFuzzer target for the trace reader and writer.
 *
 * Oracles, each an abort() so libFuzzer keeps the input:
 *   1. The reader never crashes, leaks or trips a sanitizer, whatever the
 *      bytes (`make fuzz` builds with ASan and UBSan).
 *   2. A failure message has the form "fuzz:LINE: what is wrong", with LINE
 *      at least 1.
 *   3. Every event it returns keeps the header's promises: payload length
 *      equal to len=, strings without NUL and with the length they claim,
 *      an operation name that exists, the bio and wait rules, ranges that
 *      do not wrap; and the sequence keeps the cross-line rules (version
 *      first, config before other events, no block/file mix).
 *   4. Round trip: the event written with trace_write_event() and read
 *      back is trace_event_equal() to it, on one line, and writing the
 *      re-read event gives the same text again (the canonical form is a
 *      fixed point).
 *   5. Memory and file agree: the same bytes read through trace_open() (a
 *      memfd, so the stdio path of the reader runs too) give the same
 *      events and the same message, apart from the name.  Checked for
 *      inputs whose size is a multiple of 4 (see below).
 *
 * Run: make fuzz FUZZ_SECONDS=600 (seeds in tests/fuzz-seeds/).
 */
#define _GNU_SOURCE		/* memfd_create */
#include "traces/trace.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_trace: %s%s%s\n", what, detail ? ": " : "",
		detail ? detail : "");
	abort();
}

static void check_str(const struct trace_str *s, const char *what)
{
	if (!s->s || strlen(s->s) != s->len)
		die("string field with a wrong length or an embedded NUL", what);
}

/* Promises of trace.h about a returned event (oracle 3). */
static void check_event(const struct trace_event *ev)
{
	uint32_t f = ev->fields;

	if (ev->op <= TRACE_OP_NONE || ev->op >= TRACE_OP_COUNT)
		die("event with no operation", NULL);
	if (ev->line == 0)
		die("event with line 0", trace_op_name(ev->op));
	if (f & (TRACE_F_DATA | TRACE_F_VAL)) {
		if (!(f & TRACE_F_LEN) || ev->data.len != ev->len)
			die("payload length differs from len=", trace_op_name(ev->op));
		if ((f & TRACE_F_VAL) && (ev->data.kind != TRACE_PAYLOAD_VAL ||
					  ev->len == 0 || ev->len > 8))
			die("bad val= payload", trace_op_name(ev->op));
		if ((f & TRACE_F_DATA) && ev->data.kind == TRACE_PAYLOAD_HEX &&
		    ev->len && !ev->data.bytes)
			die("hex payload without bytes", trace_op_name(ev->op));
		if ((f & TRACE_F_DATA) && ev->data.kind == TRACE_PAYLOAD_FILL &&
		    ev->data.arg > 255)
			die("fill byte out of range", trace_op_name(ev->op));
		/* Touch the last byte, so ASan sees a short hex buffer. */
		if (ev->len) {
			uint8_t b[9];
			size_t n = ev->len < sizeof(b) ? (size_t)ev->len : sizeof(b);
			trace_payload_read(&ev->data, ev->len - n, b, n);
		}
	}
	if (f & TRACE_F_PATH)
		check_str(&ev->path, "path");
	if (f & TRACE_F_FROM)
		check_str(&ev->from, "from");
	if (f & TRACE_F_TO)
		check_str(&ev->to, "to");
	if (f & TRACE_F_NAME)
		check_str(&ev->name, "name");
	if (f & TRACE_F_SYM)
		check_str(&ev->sym, "sym");
	if ((f & TRACE_F_ADDR) && (f & TRACE_F_LEN) && ev->addr + ev->len < ev->addr)
		die("addr+len wraps", trace_op_name(ev->op));
	if ((f & TRACE_F_OFF) && (f & TRACE_F_LEN) && ev->off + ev->len < ev->off)
		die("off+len wraps", trace_op_name(ev->op));
	if (ev->fd > INT32_MAX || ev->cpu > 65535)
		die("fd or cpu out of range", trace_op_name(ev->op));
	if (trace_op_layer(ev->op) == TRACE_LAYER_CPU && (f & TRACE_F_LEN) && ev->len == 0)
		die("CPU event with len=0", trace_op_name(ev->op));
	if (ev->op == TRACE_WAIT && !(f & TRACE_F_ID) == !(f & TRACE_F_ALL))
		die("wait without exactly one of id= and all", NULL);
	if (ev->op == TRACE_BIO) {
		const uint32_t wsl = TRACE_F_SECTOR | TRACE_F_LEN | TRACE_F_DATA;
		if (f & TRACE_F_VAL)
			die("bio with val=", NULL);
		if ((f & TRACE_F_LEN) && (ev->len == 0 || ev->len % 512))
			die("bio len not a positive multiple of 512", NULL);
		if ((f & TRACE_F_SECTOR) && ev->sector > (UINT64_MAX >> 9) - (ev->len >> 9))
			die("bio end beyond 64 bits", NULL);
		switch (ev->bio_op) {
		case TRACE_BIO_WRITE:
			if ((f & wsl) != wsl)
				die("bio write without sector, len or data", NULL);
			break;
		case TRACE_BIO_FLUSH:
			if ((f & wsl) || (ev->flags & TRACE_BIO_FUA))
				die("bio flush with sector, len, data or FUA", NULL);
			break;
		case TRACE_BIO_DISCARD:
			if ((f & wsl) != (TRACE_F_SECTOR | TRACE_F_LEN))
				die("bio discard with data or without sector, len", NULL);
			break;
		default:
			die("bio with an unknown op", NULL);
		}
	}
	if (ev->op == TRACE_VERSION && ev->version != TRACE_FORMAT_VERSION)
		die("version other than 1 accepted", NULL);
	if (ev->op == TRACE_CONFIG) {
		if (ev->nkv == 0 || ev->nkv > TRACE_MAX_CONFIG)
			die("config with a bad number of settings", NULL);
		for (unsigned i = 0; i < ev->nkv; i++) {
			check_str(&ev->kv[i].key, "config key");
			check_str(&ev->kv[i].value, "config value");
			if (ev->kv[i].key.len == 0)
				die("config with an empty key", NULL);
		}
	}
}

/* What the events so far have been, for the cross-line rules. */
struct seen {
	bool any, other, file, block;
};

static void check_sequence(struct seen *sn, const struct trace_event *ev)
{
	enum trace_layer l = trace_op_layer(ev->op);

	if (ev->op == TRACE_VERSION && sn->any)
		die("version after another event", NULL);
	if (ev->op == TRACE_CONFIG && sn->other)
		die("config after an event", NULL);
	if ((l == TRACE_LAYER_FILE && sn->block) || (l == TRACE_LAYER_BLOCK && sn->file))
		die("block and file events mixed", trace_op_name(ev->op));
	sn->any = true;
	sn->other |= l != TRACE_LAYER_HEADER;
	sn->file |= l == TRACE_LAYER_FILE;
	sn->block |= l == TRACE_LAYER_BLOCK;
}

/* The text trace_write_event() gives for EV; the caller frees it. */
static char *write_one(const struct trace_event *ev, size_t *len)
{
	char *out = NULL;
	FILE *f = open_memstream(&out, len);

	if (!f)
		die("open_memstream failed", NULL);
	if (trace_write_event(f, ev))
		die("trace_write_event failed", trace_op_name(ev->op));
	if (fclose(f))
		die("fclose of the memory stream failed", NULL);
	return out;
}

/* Oracle 4. */
static void check_round_trip(const struct trace_event *ev)
{
	struct trace_reader *r;
	struct trace_event back;
	size_t len, len2;
	char *text = write_one(ev, &len), *text2;

	if (len == 0 || text[len - 1] != '\n' || memchr(text, '\n', len) != text + len - 1)
		die("written event is not exactly one line", text);
	if (trace_open_mem(&r, "rt", text, len))
		die("trace_open_mem failed", NULL);
	if (trace_next(r, &back) != 1) {
		fprintf(stderr, "fuzz_trace: written: %s", text);
		die("re-reading the written event failed", trace_reader_error(r));
	}
	if (!trace_event_equal(ev, &back)) {
		fprintf(stderr, "fuzz_trace: written: %s", text);
		die("round trip changed the event", trace_op_name(ev->op));
	}
	text2 = write_one(&back, &len2);
	if (len2 != len || memcmp(text, text2, len) != 0) {
		fprintf(stderr, "fuzz_trace: first: %sfuzz_trace: second: %s", text, text2);
		die("canonical form is not a fixed point", NULL);
	}
	if (trace_next(r, &back) != 0)
		die("written event reads as more than one event", text);
	free(text2);
	trace_close(r);
	free(text);
}

/* A reader over the same bytes, through a file (oracle 5).  The memfd is
 * made once and rewritten for each input. */
static struct trace_reader *open_as_file(const uint8_t *data, size_t size,
					 char *path, size_t pathlen)
{
	static int fd = -1;
	struct trace_reader *r;

	if (fd < 0) {
		fd = memfd_create("fuzz_trace", 0);
		if (fd < 0)
			die("memfd_create failed", NULL);
	}
	if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		die("writing the memfd failed", NULL);
	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	if (trace_open(&r, path))
		die("trace_open of the memfd failed", trace_open_error());
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace_reader *r, *rf = NULL;
	struct trace_event ev, evf;
	struct seen sn = { false, false, false, false };
	char path[64];
	int rc, rcf;

	if (trace_open_mem(&r, "fuzz", (const char *)data, size))
		return 0;
	/* Oracle 5 costs a file open and a 1 MiB buffer: run it on one input
	 * in four (by size, so that a crash reproduces) to keep ~3x the
	 * executions per second. */
	if (size % 4 == 0)
		rf = open_as_file(data, size, path, sizeof(path));
	while ((rc = trace_next(r, &ev)) == 1) {
		check_event(&ev);
		check_sequence(&sn, &ev);
		if (rf) {
			rcf = trace_next(rf, &evf);
			if (rcf != 1 || !trace_event_equal(&ev, &evf) || ev.line != evf.line)
				die("file and memory readers disagree on an event",
				    rcf < 0 ? trace_reader_error(rf) : NULL);
		}
		check_round_trip(&ev);
	}
	if (rf) {
		rcf = trace_next(rf, &evf);
		if (rcf != rc)
			die("file and memory readers end differently", NULL);
		if (rc < 0 && strcmp(trace_reader_error(r) + strlen("fuzz"),
				     trace_reader_error(rf) + strlen(path)) != 0) {
			fprintf(stderr, "fuzz_trace: memory: %s\nfuzz_trace: file: %s\n",
				trace_reader_error(r), trace_reader_error(rf));
			die("file and memory readers give different messages", NULL);
		}
		trace_close(rf);
	}
	if (rc < 0) {
		const char *msg = trace_reader_error(r);
		if (strncmp(msg, "fuzz:", 5) != 0 || msg[5] < '1' || msg[5] > '9' ||
		    !strstr(msg, ": "))
			die("malformed error message", msg);
		if (trace_next(r, &ev) != -1)
			die("reader went on after a failure", msg);
	} else if (rc != 0) {
		die("trace_next returned neither 1, 0 nor -1", NULL);
	}
	trace_close(r);
	return 0;
}
