/*
 * gen_trace — write a synthetic trace of N events, deterministically from
 * a seed, for benchmarks and streaming tests.
 *
 *   gen_trace --events N [--kind cpu|block|file] [--seed S] [-o FILE]
 *
 * cpu:   a persistent-memory logging loop over a 1 MiB region: stores of
 *        1-8 bytes (val=), some 64-byte ntstores, clwb/clflushopt of the
 *        lines written, sfence every few operations, occasional loads,
 *        marks and think.
 * block: a journaling pattern in jbd2's order: data and journal writes,
 *        wait, a commit write with PREFLUSH|FUA, wait.
 * file:  small and 4 KiB pwrites within the first MiB of four files,
 *        occasional fsync, fdatasync and sync.
 *
 * Events are written through trace_write_event(), so the output is in
 * canonical form and reads back with the same parser.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../traces/trace.h"

static uint64_t rng;

static uint64_t next(void)
{
	return trace_splitmix64(&rng);
}

static void emit(FILE *f, struct trace_event *ev)
{
	if (trace_write_event(f, ev)) {
		fprintf(stderr, "gen_trace: write error: %s\n", strerror(errno));
		exit(2);
	}
}

static void gen_cpu(FILE *f, uint64_t n)
{
	struct trace_event ev;
	uint64_t lines_dirty[8];
	unsigned ndirty = 0;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t r = next();
		unsigned kind = (unsigned)(r % 100);

		memset(&ev, 0, sizeof(ev));
		if (kind < 50) {
			unsigned len = 1u << ((r >> 8) % 4);	/* 1, 2, 4, 8 */
			ev.op = TRACE_STORE;
			ev.addr = ((r >> 16) % (1u << 20)) & ~(uint64_t)(len - 1);
			ev.len = len;
			ev.fields = TRACE_F_ADDR | TRACE_F_LEN | TRACE_F_VAL;
			ev.data.kind = TRACE_PAYLOAD_VAL;
			ev.data.arg = (r >> 40) & (len == 8 ? ~0ull : (1ull << (8 * len)) - 1);
			ev.data.len = len;
			if (ndirty < 8)
				lines_dirty[ndirty++] = ev.addr & ~63ull;
		} else if (kind < 55) {
			ev.op = TRACE_NTSTORE;
			ev.addr = ((r >> 16) % (1u << 20)) & ~63ull;
			ev.len = 64;
			ev.fields = TRACE_F_ADDR | TRACE_F_LEN | TRACE_F_DATA;
			ev.data.kind = TRACE_PAYLOAD_RAND;
			ev.data.arg = r >> 32;
			ev.data.len = 64;
		} else if (kind < 80) {
			ev.op = (kind & 1) ? TRACE_CLWB : TRACE_CLFLUSHOPT;
			ev.addr = ndirty ? lines_dirty[--ndirty] : ((r >> 16) % (1u << 20)) & ~63ull;
			ev.fields = TRACE_F_ADDR;
		} else if (kind < 92) {
			ev.op = TRACE_SFENCE;
		} else if (kind < 97) {
			ev.op = TRACE_LOAD;
			ev.addr = ((r >> 16) % (1u << 20)) & ~7ull;
			ev.len = 8;
			ev.fields = TRACE_F_ADDR | TRACE_F_LEN;
		} else if (kind < 99) {
			ev.op = TRACE_THINK;
			ev.cycles = 10 + (r >> 32) % 100;
			ev.fields = TRACE_F_CYCLES;
		} else {
			ev.op = TRACE_MARK;
			ev.name.s = "tick";
			ev.name.len = 4;
			ev.fields = TRACE_F_NAME;
		}
		emit(f, &ev);
	}
}

static void gen_block(FILE *f, uint64_t n)
{
	struct trace_event ev;
	uint64_t id = 1, i = 0;

	/* jbd2's order, in batches of six events: two data writes and a
	 * journal write, wait for them, the commit block with PREFLUSH|FUA,
	 * wait for it.  Waiting before the flushing bio is what lets the
	 * flush cover the batch (B2), so no unit accumulates versions. */
	while (i < n) {
		uint64_t r = next();
		unsigned step = (unsigned)(i % 6);

		memset(&ev, 0, sizeof(ev));
		if (step == 3 || step == 5) {
			ev.op = TRACE_WAIT;
			ev.fields = TRACE_F_ALL;
		} else {
			ev.op = TRACE_BIO;
			ev.bio_op = TRACE_BIO_WRITE;
			ev.id = id++;
			ev.sector = step < 2 ? 2048 + 8 * ((r >> 8) % 4096) : 8 * (i % 1024);
			ev.len = 4096;
			ev.data.kind = TRACE_PAYLOAD_FILL;
			ev.data.arg = r & 0xff;
			ev.data.len = 4096;
			ev.fields = TRACE_F_ID | TRACE_F_OP | TRACE_F_SECTOR | TRACE_F_LEN | TRACE_F_DATA;
			if (step == 4) {
				ev.flags = TRACE_BIO_PREFLUSH | TRACE_BIO_FUA;
				ev.fields |= TRACE_F_FLAGS;
			}
		}
		emit(f, &ev);
		i++;
	}
}

static void gen_file(FILE *f, uint64_t n)
{
	static const char *const names[] = { "/a", "/b", "/c", "/d" };
	struct trace_event ev;
	uint64_t i = 0;

	for (int k = 0; k < 4 && i < n; k++, i++) {
		memset(&ev, 0, sizeof(ev));
		ev.op = TRACE_OPEN;
		ev.fd = 3 + (uint32_t)k;
		ev.path.s = names[k];
		ev.path.len = 2;
		ev.flags = TRACE_O_CREAT | TRACE_O_RDWR;
		ev.fields = TRACE_F_FD | TRACE_F_PATH | TRACE_F_FLAGS;
		emit(f, &ev);
	}
	/* Overwrites within the first MiB of four files (the image stays
	 * bounded however long the trace), an fsync or fdatasync every fifty
	 * events or so, a sync now and then. */
	while (i < n) {
		uint64_t r = next();
		memset(&ev, 0, sizeof(ev));
		ev.fd = 3 + (uint32_t)(r % 4);
		switch ((r >> 8) % 100) {
		default:
			ev.op = TRACE_PWRITE;
			ev.off = (r >> 16) % (1u << 20);
			ev.len = 1 + (r >> 40) % 512;
			ev.data.kind = TRACE_PAYLOAD_RAND;
			ev.data.arg = r >> 32;
			ev.data.len = ev.len;
			ev.fields = TRACE_F_FD | TRACE_F_OFF | TRACE_F_LEN | TRACE_F_DATA;
			break;
		case 90: case 91: case 92: case 93: case 94: case 95: case 96:
			ev.op = TRACE_PWRITE;
			ev.off = ((r >> 16) % 256) * 4096;
			ev.len = 4096;
			ev.data.kind = TRACE_PAYLOAD_FILL;
			ev.data.arg = (r >> 40) & 0xff;
			ev.data.len = 4096;
			ev.fields = TRACE_F_FD | TRACE_F_OFF | TRACE_F_LEN | TRACE_F_DATA;
			break;
		case 97: case 98:
			ev.op = (r >> 20) & 1 ? TRACE_FSYNC : TRACE_FDATASYNC;
			ev.fields = TRACE_F_FD;
			break;
		case 99:
			ev.op = TRACE_SYNC;
			break;
		}
		emit(f, &ev);
		i++;
	}
}

int main(int argc, char **argv)
{
	uint64_t n = 0;
	const char *kind = "cpu", *out = NULL;
	FILE *f = stdout;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--events") && i + 1 < argc)
			n = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--kind") && i + 1 < argc)
			kind = argv[++i];
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			rng = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else {
			fprintf(stderr, "usage: gen_trace --events N [--kind cpu|block|file] "
				"[--seed S] [-o FILE]\n");
			return 2;
		}
	}
	if (out && !(f = fopen(out, "w"))) {
		fprintf(stderr, "gen_trace: %s: %s\n", out, strerror(errno));
		return 2;
	}
	static char buf[1 << 20];
	setvbuf(f, buf, _IOFBF, sizeof(buf));
	fprintf(f, "version 1\n");
	if (!strcmp(kind, "cpu"))
		gen_cpu(f, n);
	else if (!strcmp(kind, "block"))
		gen_block(f, n);
	else if (!strcmp(kind, "file"))
		gen_file(f, n);
	else {
		fprintf(stderr, "gen_trace: unknown kind '%s'\n", kind);
		return 2;
	}
	if (fclose(f)) {
		fprintf(stderr, "gen_trace: %s\n", strerror(errno));
		return 2;
	}
	return 0;
}
