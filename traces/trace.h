/*
 * trace.h — the powercut trace format, version 1: a streaming reader and a
 * writer.
 *
 * A trace is text, one event per line: an operation name followed by
 * KEY=VALUE fields in any order.  docs/trace-format.md is the user's
 * description; this header is the program's.
 *
 * What the reader promises:
 *   - It streams.  Memory is bounded by the longest line (and the largest
 *     hex payload on it), never by the number of lines.
 *   - Every event it returns is valid: required fields present, no unknown
 *     or repeated field, numbers in range, payload lengths equal to `len`,
 *     no mix of block and file events in one trace, `version` only first,
 *     `config` only before the first other event.  Consumers trust it.
 *   - On the first bad line it stops and keeps one message,
 *     "FILE:LINE: what is wrong", for the caller to print.
 *   - Strings and hex payload bytes in a returned event point into the
 *     reader's buffers and stay valid until the next trace_next().
 *
 * The writer prints an event in canonical form; reading what it wrote
 * yields the same event (trace_event_equal()).
 */
#ifndef POWERCUT_TRACE_H
#define POWERCUT_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TRACE_FORMAT_VERSION 1

enum trace_op {
	TRACE_OP_NONE = 0,
	/* pseudo-events: header lines */
	TRACE_VERSION,
	TRACE_CONFIG,
	/* file layer (fs_model/) */
	TRACE_OPEN,
	TRACE_CLOSE,
	TRACE_WRITE,
	TRACE_PWRITE,
	TRACE_FSYNC,
	TRACE_FDATASYNC,
	TRACE_SYNC,
	TRACE_FTRUNCATE,
	TRACE_FALLOCATE,
	TRACE_RENAME,
	TRACE_LINK,
	TRACE_UNLINK,
	TRACE_MKDIR,
	TRACE_RMDIR,
	TRACE_SYMLINK,
	TRACE_SETXATTR,
	TRACE_REMOVEXATTR,
	TRACE_MMAP,
	TRACE_MUNMAP,
	TRACE_MSYNC,
	/* CPU layer (cache/) */
	TRACE_STORE,
	TRACE_NTSTORE,
	TRACE_LOAD,
	TRACE_CLFLUSH,
	TRACE_CLFLUSHOPT,
	TRACE_CLWB,
	TRACE_SFENCE,
	TRACE_MFENCE,
	TRACE_RMW,
	TRACE_WBINVD,
	TRACE_PCOMMIT,
	/* block layer (blockq/) */
	TRACE_BIO,
	TRACE_WAIT,
	/* any layer */
	TRACE_MARK,
	TRACE_THINK,
	TRACE_OP_COUNT
};

enum trace_layer {
	TRACE_LAYER_HEADER,	/* version, config */
	TRACE_LAYER_FILE,
	TRACE_LAYER_CPU,
	TRACE_LAYER_BLOCK,
	TRACE_LAYER_ANY,	/* mark, think */
};

/* Field presence bits, trace_event.fields. */
enum trace_field {
	TRACE_F_FD     = 1u << 0,
	TRACE_F_PATH   = 1u << 1,
	TRACE_F_FLAGS  = 1u << 2,
	TRACE_F_LEN    = 1u << 3,
	TRACE_F_DATA   = 1u << 4,	/* data= */
	TRACE_F_VAL    = 1u << 5,	/* val= (the payload is TRACE_PAYLOAD_VAL) */
	TRACE_F_OFF    = 1u << 6,
	TRACE_F_FROM   = 1u << 7,
	TRACE_F_TO     = 1u << 8,
	TRACE_F_MODE   = 1u << 9,
	TRACE_F_NAME   = 1u << 10,
	TRACE_F_ADDR   = 1u << 11,
	TRACE_F_CPU    = 1u << 12,
	TRACE_F_ID     = 1u << 13,
	TRACE_F_OP     = 1u << 14,
	TRACE_F_SECTOR = 1u << 15,
	TRACE_F_CYCLES = 1u << 16,
	TRACE_F_SYM    = 1u << 17,	/* where a recorded event came from */
	TRACE_F_ALL    = 1u << 18,	/* the bare word of `wait all` */
	TRACE_F_COUNT  = 19
};

/* open flags (flags= on open) */
enum {
	TRACE_O_RDONLY    = 1u << 0,
	TRACE_O_WRONLY    = 1u << 1,
	TRACE_O_RDWR      = 1u << 2,
	TRACE_O_CREAT     = 1u << 3,
	TRACE_O_EXCL      = 1u << 4,
	TRACE_O_TRUNC     = 1u << 5,
	TRACE_O_APPEND    = 1u << 6,
	TRACE_O_DIRECT    = 1u << 7,
	TRACE_O_SYNC      = 1u << 8,
	TRACE_O_DSYNC     = 1u << 9,
	TRACE_O_DIRECTORY = 1u << 10,
};
/* mmap flags */
enum {
	TRACE_MAP_SHARED  = 1u << 0,
	TRACE_MAP_PRIVATE = 1u << 1,
	TRACE_MAP_SYNC    = 1u << 2,
};
/* msync flags */
enum {
	TRACE_MS_SYNC       = 1u << 0,
	TRACE_MS_ASYNC      = 1u << 1,
	TRACE_MS_INVALIDATE = 1u << 2,
};
/* fallocate mode (mode=) */
enum {
	TRACE_FALLOC_KEEP_SIZE  = 1u << 0,
	TRACE_FALLOC_PUNCH_HOLE = 1u << 1,
	TRACE_FALLOC_ZERO_RANGE = 1u << 2,
};
/* bio flags */
enum {
	TRACE_BIO_PREFLUSH = 1u << 0,
	TRACE_BIO_FUA      = 1u << 1,
};
/* bio op= */
enum trace_bio_op {
	TRACE_BIO_WRITE,
	TRACE_BIO_FLUSH,
	TRACE_BIO_DISCARD,
};

enum trace_payload_kind {
	TRACE_PAYLOAD_NONE,
	TRACE_PAYLOAD_HEX,	/* bytes[] holds the exact bytes */
	TRACE_PAYLOAD_FILL,	/* every byte is `arg` */
	TRACE_PAYLOAD_RAND,	/* splitmix64 stream seeded with `arg` */
	TRACE_PAYLOAD_VAL,	/* `arg` little-endian, len <= 8 */
};

/* A payload is a description, not a buffer: fill: and rand: payloads of a
 * gigabyte cost nothing until read.  Read any range with
 * trace_payload_read(). */
struct trace_payload {
	enum trace_payload_kind kind;
	uint64_t len;		/* == the event's len */
	uint64_t arg;		/* fill byte, rand seed, or val */
	const uint8_t *bytes;	/* HEX only; valid until the next event */
};

struct trace_str {
	const char *s;		/* NUL-terminated; valid until the next event */
	size_t len;		/* strings never contain NUL */
};

#define TRACE_MAX_CONFIG 32

struct trace_kv {
	struct trace_str key;
	struct trace_str value;
};

struct trace_event {
	enum trace_op op;
	uint32_t fields;		/* TRACE_F_* present */
	uint64_t line;			/* 1-based line in the trace */
	uint32_t fd;
	uint32_t cpu;			/* 0 unless cpu= given */
	uint32_t flags;			/* TRACE_O_*, TRACE_MAP_*, TRACE_MS_*,
					   TRACE_BIO_* by op; mode= for
					   fallocate (TRACE_FALLOC_*) */
	enum trace_bio_op bio_op;
	uint64_t len;
	uint64_t off;
	uint64_t addr;
	uint64_t id;
	uint64_t sector;
	uint64_t cycles;
	uint64_t version;		/* TRACE_VERSION */
	struct trace_payload data;	/* TRACE_F_DATA or TRACE_F_VAL */
	struct trace_str path, from, to, name, sym;
	unsigned nkv;			/* TRACE_CONFIG */
	struct trace_kv kv[TRACE_MAX_CONFIG];
};

/* ---- reading ---- */

struct trace_reader;

/* Open PATH ("-" is standard input).  Returns 0, or -errno with a message
 * available from trace_error() even though *r is NULL (static storage). */
int trace_open(struct trace_reader **r, const char *path);

/* Read from memory (fuzzing, tests).  NAME is used in messages.  BUF is
 * not copied and must outlive the reader. */
int trace_open_mem(struct trace_reader **r, const char *name,
		   const char *buf, size_t len);

/* The next event: returns 1 and fills *ev, 0 at the end, or -1 on a bad
 * line (message in trace_reader_error()).  After -1, further calls return
 * -1.  Cost: O(line length). */
int trace_next(struct trace_reader *r, struct trace_event *ev);

/* "FILE:LINE: what is wrong" for the last failure. */
const char *trace_reader_error(const struct trace_reader *r);

/* Message for a failed trace_open()/trace_open_mem() (r was not made). */
const char *trace_open_error(void);

/* The layer of events seen so far: TRACE_LAYER_FILE, _BLOCK or _ANY when
 * neither has appeared. */
enum trace_layer trace_reader_layer(const struct trace_reader *r);

const char *trace_reader_name(const struct trace_reader *r);

/* Bytes of the input consumed so far, and the input's size (0 when it is
 * not a regular file, e.g. a pipe): for progress reports. */
uint64_t trace_reader_offset(const struct trace_reader *r);
uint64_t trace_reader_size(const struct trace_reader *r);

void trace_close(struct trace_reader *r);

/* ---- events ---- */

const char *trace_op_name(enum trace_op op);
enum trace_layer trace_op_layer(enum trace_op op);

/* Bytes [off, off+n) of the payload into dst.  off+n <= p->len.  O(n). */
void trace_payload_read(const struct trace_payload *p, uint64_t off,
			void *dst, size_t n);

/* The splitmix64 step of the brief: advances *x, returns the output. */
static inline uint64_t trace_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Same operation, same fields, same values, same payload bytes (a payload
 * compares by content, whatever its kind).  The line number is ignored. */
bool trace_event_equal(const struct trace_event *a, const struct trace_event *b);

/* ---- writing ---- */

/* Print EV as one canonical line (with '\n').  Returns 0 or -errno. */
int trace_write_event(FILE *f, const struct trace_event *ev);

#endif
