/*
 * trace.c — reading and writing trace format version 1.
 *
 * Method: the reader keeps one growing byte buffer.  read_next() finds the
 * next '\n' (strchrnul), refilling (and, only when one line is longer than
 * the buffer, growing) as needed, then tokenizes that line in place: quoted
 * strings are unescaped where they stand and NUL-terminated, so a returned
 * event points into the buffer and nothing is allocated per event.  Hex
 * payloads are decoded into a second buffer that grows to the largest
 * payload seen.  Both buffers are bounded by the longest line, so memory
 * does not grow with the trace.
 *
 * Validation happens here, once (STYLE rule 6): field sets per operation
 * come from op_specs[], value syntax from the parse_* helpers, and the
 * cross-line rules (version first, config at the top, no block/file mix)
 * from the reader's state.
 *
 * Speed: operation and field names are found through small hash tables
 * (see "Name lookup" below); numbers are parsed by hand where they stand
 * (fast_u64()), tokens are scanned 8 bytes at a time (token_len()).  A
 * line of the 1M-line gen_trace CPU trace costs 649 Ir, where it cost
 * 1,044 (callgrind, 2026-11-24); read alone, the 10M-line one takes 0.51 s
 * on one core (was 0.71 s).  A regular file is parsed by a thread of its
 * own, one batch ahead of the caller (see "Read-ahead").
 *
 * Notes:
 *   - A value in a message is cut at 40 bytes; other bytes than printable
 *     ASCII are shown as \xHH (shown()).
 *   - The writer's canonical form is a fixed point: writing what it read
 *     back gives the same text (tests/fuzz_trace.c checks it).
 */
#define _GNU_SOURCE		/* strchrnul */
#include "trace.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define READ_CHUNK	(1u << 20)		/* bytes per fread */
#define MAX_LINE	(1ull << 31)		/* refuse longer lines */
#define MAX_CPU		65535u
#define READ_PAD	16		/* readable bytes after a line's NUL */

/* ---- operation and field tables ---- */

struct flag_name {
	const char *name;
	uint32_t bit;
};

static const struct flag_name open_flags[] = {
	{ "O_RDONLY", TRACE_O_RDONLY },	{ "O_WRONLY", TRACE_O_WRONLY },
	{ "O_RDWR", TRACE_O_RDWR },	{ "O_CREAT", TRACE_O_CREAT },
	{ "O_EXCL", TRACE_O_EXCL },	{ "O_TRUNC", TRACE_O_TRUNC },
	{ "O_APPEND", TRACE_O_APPEND },	{ "O_DIRECT", TRACE_O_DIRECT },
	{ "O_SYNC", TRACE_O_SYNC },	{ "O_DSYNC", TRACE_O_DSYNC },
	{ "O_DIRECTORY", TRACE_O_DIRECTORY }, { NULL, 0 }
};
static const struct flag_name mmap_flags[] = {
	{ "MAP_SHARED", TRACE_MAP_SHARED }, { "MAP_PRIVATE", TRACE_MAP_PRIVATE },
	{ "MAP_SYNC", TRACE_MAP_SYNC }, { NULL, 0 }
};
static const struct flag_name msync_flags[] = {
	{ "MS_SYNC", TRACE_MS_SYNC }, { "MS_ASYNC", TRACE_MS_ASYNC },
	{ "MS_INVALIDATE", TRACE_MS_INVALIDATE }, { NULL, 0 }
};
static const struct flag_name falloc_modes[] = {
	{ "KEEP_SIZE", TRACE_FALLOC_KEEP_SIZE },
	{ "PUNCH_HOLE", TRACE_FALLOC_PUNCH_HOLE },
	{ "ZERO_RANGE", TRACE_FALLOC_ZERO_RANGE }, { NULL, 0 }
};
static const struct flag_name bio_flags[] = {
	{ "PREFLUSH", TRACE_BIO_PREFLUSH }, { "FUA", TRACE_BIO_FUA }, { NULL, 0 }
};

static const char *const field_names[TRACE_F_COUNT] = {
	"fd", "path", "flags", "len", "data", "val", "off", "from", "to",
	"mode", "name", "addr", "cpu", "id", "op", "sector", "cycles", "sym",
	"all",
};

/* The payload pseudo-requirement: exactly one of data= and val=. */
#define NEED_PAYLOAD	(1u << 31)
#define F(x)		TRACE_F_##x
#define CPUF		(F(CPU) | F(SYM))

struct op_spec {
	const char *name;
	enum trace_layer layer;
	uint32_t req;			/* required fields (and NEED_PAYLOAD) */
	uint32_t opt;			/* optional fields */
	const struct flag_name *flagset;/* vocabulary of flags= (mode= for
					   fallocate) */
};

static const struct op_spec op_specs[TRACE_OP_COUNT] = {
	[TRACE_VERSION]   = { "version", TRACE_LAYER_HEADER, 0, 0, NULL },
	[TRACE_CONFIG]    = { "config", TRACE_LAYER_HEADER, 0, 0, NULL },
	[TRACE_OPEN]      = { "open", TRACE_LAYER_FILE, F(FD) | F(PATH), F(FLAGS) | F(SYM), open_flags },
	[TRACE_CLOSE]     = { "close", TRACE_LAYER_FILE, F(FD), F(SYM), NULL },
	[TRACE_WRITE]     = { "write", TRACE_LAYER_FILE, F(FD) | F(LEN) | NEED_PAYLOAD, F(SYM), NULL },
	[TRACE_PWRITE]    = { "pwrite", TRACE_LAYER_FILE, F(FD) | F(OFF) | F(LEN) | NEED_PAYLOAD, F(SYM), NULL },
	[TRACE_FSYNC]     = { "fsync", TRACE_LAYER_FILE, F(FD), F(SYM), NULL },
	[TRACE_FDATASYNC] = { "fdatasync", TRACE_LAYER_FILE, F(FD), F(SYM), NULL },
	[TRACE_SYNC]      = { "sync", TRACE_LAYER_FILE, 0, F(SYM), NULL },
	[TRACE_FTRUNCATE] = { "ftruncate", TRACE_LAYER_FILE, F(FD) | F(LEN), F(SYM), NULL },
	[TRACE_FALLOCATE] = { "fallocate", TRACE_LAYER_FILE, F(FD) | F(OFF) | F(LEN), F(MODE) | F(SYM), falloc_modes },
	[TRACE_RENAME]    = { "rename", TRACE_LAYER_FILE, F(FROM) | F(TO), F(SYM), NULL },
	[TRACE_LINK]      = { "link", TRACE_LAYER_FILE, F(FROM) | F(TO), F(SYM), NULL },
	[TRACE_UNLINK]    = { "unlink", TRACE_LAYER_FILE, F(PATH), F(SYM), NULL },
	[TRACE_MKDIR]     = { "mkdir", TRACE_LAYER_FILE, F(PATH), F(SYM), NULL },
	[TRACE_RMDIR]     = { "rmdir", TRACE_LAYER_FILE, F(PATH), F(SYM), NULL },
	[TRACE_SYMLINK]   = { "symlink", TRACE_LAYER_FILE, F(FROM) | F(TO), F(SYM), NULL },
	[TRACE_SETXATTR]  = { "setxattr", TRACE_LAYER_FILE, F(FD) | F(NAME) | F(LEN) | NEED_PAYLOAD, F(SYM), NULL },
	[TRACE_REMOVEXATTR] = { "removexattr", TRACE_LAYER_FILE, F(FD) | F(NAME), F(SYM), NULL },
	[TRACE_MMAP]      = { "mmap", TRACE_LAYER_FILE, F(FD) | F(ADDR) | F(LEN) | F(OFF), F(FLAGS) | F(SYM), mmap_flags },
	[TRACE_MUNMAP]    = { "munmap", TRACE_LAYER_FILE, F(ADDR) | F(LEN), F(SYM), NULL },
	[TRACE_MSYNC]     = { "msync", TRACE_LAYER_FILE, F(ADDR) | F(LEN), F(FLAGS) | F(SYM), msync_flags },
	[TRACE_STORE]     = { "store", TRACE_LAYER_CPU, F(ADDR) | F(LEN) | NEED_PAYLOAD, CPUF, NULL },
	[TRACE_NTSTORE]   = { "ntstore", TRACE_LAYER_CPU, F(ADDR) | F(LEN) | NEED_PAYLOAD, CPUF, NULL },
	[TRACE_LOAD]      = { "load", TRACE_LAYER_CPU, F(ADDR) | F(LEN), CPUF, NULL },
	[TRACE_CLFLUSH]   = { "clflush", TRACE_LAYER_CPU, F(ADDR), CPUF, NULL },
	[TRACE_CLFLUSHOPT] = { "clflushopt", TRACE_LAYER_CPU, F(ADDR), CPUF, NULL },
	[TRACE_CLWB]      = { "clwb", TRACE_LAYER_CPU, F(ADDR), CPUF, NULL },
	[TRACE_SFENCE]    = { "sfence", TRACE_LAYER_CPU, 0, CPUF, NULL },
	[TRACE_MFENCE]    = { "mfence", TRACE_LAYER_CPU, 0, CPUF, NULL },
	[TRACE_RMW]       = { "rmw", TRACE_LAYER_CPU, F(ADDR) | F(LEN) | NEED_PAYLOAD, CPUF, NULL },
	[TRACE_WBINVD]    = { "wbinvd", TRACE_LAYER_CPU, 0, CPUF, NULL },
	[TRACE_PCOMMIT]   = { "pcommit", TRACE_LAYER_CPU, 0, CPUF, NULL },
	[TRACE_BIO]       = { "bio", TRACE_LAYER_BLOCK, F(ID) | F(OP), F(SECTOR) | F(LEN) | F(FLAGS) | F(DATA) | F(SYM), bio_flags },
	[TRACE_WAIT]      = { "wait", TRACE_LAYER_BLOCK, 0, F(ID) | F(ALL) | F(SYM), NULL },
	[TRACE_MARK]      = { "mark", TRACE_LAYER_ANY, F(NAME), F(SYM), NULL },
	[TRACE_THINK]     = { "think", TRACE_LAYER_ANY, F(CYCLES), F(CPU) | F(SYM), NULL },
};

#undef F

const char *trace_op_name(enum trace_op op)
{
	if (op <= TRACE_OP_NONE || op >= TRACE_OP_COUNT)
		return "?";
	return op_specs[op].name;
}

enum trace_layer trace_op_layer(enum trace_op op)
{
	if (op <= TRACE_OP_NONE || op >= TRACE_OP_COUNT)
		return TRACE_LAYER_ANY;
	return op_specs[op].layer;
}

/*
 * Name lookup.  Operation and field names are found through two 256-slot
 * open-addressing tables keyed by a multiplicative hash of the name's
 * first 8 bytes (zero-padded) and its length, built once; a hit is
 * confirmed by comparing the name as two 8-byte words with the line's
 * bytes masked to its length.  The line buffer has READ_PAD readable
 * bytes after every line's NUL, so word loads never leave it.
 * Measured: a linear scan with strlen+memcmp cost 35% of `powercut run`
 * on the 10M-event benchmark trace (perf, 2026-11-23); a byte hash with a
 * byte compare brought it under 5%, the compare still 87 Ir per line
 * (callgrind, 1M-line gen_trace CPU trace); the words and their compare:
 * 39 Ir.
 */
#define NAME_MAX_LEN	16
struct name_key {
	uint64_t w[2];			/* the name, zero-padded to 16 bytes */
};
static uint8_t op_slot[256], field_slot[256];	/* index + 1, 0 = empty */
static uint8_t op_len[TRACE_OP_COUNT], field_len[TRACE_F_COUNT];
static struct name_key op_key[TRACE_OP_COUNT], field_key[TRACE_F_COUNT];
static uint32_t op_allowed[TRACE_OP_COUNT];	/* fields KEY=VALUE may name */
static int names_ready;

/* 16 bytes 0xff then 16 zeros: the mask of an N-byte name is the 16
 * bytes at 16 - N (byte order independent). */
static const uint8_t name_mask[32] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

static inline uint64_t load64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* The N bytes at S (N <= 16, 16 readable bytes) as a zero-padded key. */
static inline struct name_key name_key_of(const void *s, size_t n)
{
	const uint8_t *mask = name_mask + NAME_MAX_LEN - n;

	return (struct name_key){ { load64(s) & load64(mask),
				    load64((const uint8_t *)s + 8) & load64(mask + 8) } };
}

static inline unsigned name_hash(const struct name_key *k, size_t n)
{
	return (unsigned)((k->w[0] * 0x9e3779b97f4a7c15ULL) >> 56 ^ n) & 255u;
}

static void names_build(void)
{
	char pad[2 * NAME_MAX_LEN];

	for (int op = TRACE_OP_NONE + 1; op < TRACE_OP_COUNT; op++) {
		const struct op_spec *sp = &op_specs[op];
		unsigned h;
		op_len[op] = (uint8_t)strlen(sp->name);
		assert(op_len[op] <= NAME_MAX_LEN);
		memset(pad, 0, sizeof(pad));
		memcpy(pad, sp->name, op_len[op]);
		op_key[op] = name_key_of(pad, op_len[op]);
		for (h = name_hash(&op_key[op], op_len[op]); op_slot[h]; h = (h + 1) & 255u)
			;
		op_slot[h] = (uint8_t)(op + 1);
		/* `all` is a bare word, never KEY=VALUE */
		op_allowed[op] = (sp->req | sp->opt |
				  (sp->req & NEED_PAYLOAD ? TRACE_F_DATA | TRACE_F_VAL : 0)) &
				 ~(NEED_PAYLOAD | TRACE_F_ALL);
	}
	for (int f = 0; f < TRACE_F_COUNT; f++) {
		unsigned h;
		field_len[f] = (uint8_t)strlen(field_names[f]);
		assert(field_len[f] <= NAME_MAX_LEN);
		memset(pad, 0, sizeof(pad));
		memcpy(pad, field_names[f], field_len[f]);
		field_key[f] = name_key_of(pad, field_len[f]);
		for (h = name_hash(&field_key[f], field_len[f]); field_slot[h]; h = (h + 1) & 255u)
			;
		field_slot[h] = (uint8_t)(f + 1);
	}
	names_ready = 1;
}

static inline bool key_eq(const struct name_key *a, const struct name_key *b)
{
	return ((a->w[0] == b->w[0]) & (a->w[1] == b->w[1])) != 0;
}

/* The operation named by the N bytes at S, or TRACE_OP_NONE. */
static enum trace_op lookup_op(const char *s, size_t n)
{
	struct name_key k;

	if (n == 0 || n > NAME_MAX_LEN)
		return TRACE_OP_NONE;
	k = name_key_of(s, n);
	for (unsigned h = name_hash(&k, n); op_slot[h]; h = (h + 1) & 255u) {
		int op = op_slot[h] - 1;
		if (op_len[op] == n && key_eq(&op_key[op], &k))
			return (enum trace_op)op;
	}
	return TRACE_OP_NONE;
}

/* The field named by the N bytes at S, or -1. */
static inline int lookup_field(const char *s, size_t n)
{
	struct name_key k;

	if (n == 0 || n > NAME_MAX_LEN)
		return -1;
	k = name_key_of(s, n);
	for (unsigned h = name_hash(&k, n); field_slot[h]; h = (h + 1) & 255u) {
		int f = field_slot[h] - 1;
		if (field_len[f] == n && key_eq(&field_key[f], &k))
			return f;
	}
	return -1;
}

/* ---- the reader ---- */

struct trace_reader {
	char *name;
	FILE *f;			/* NULL in memory mode */
	int own_f;			/* close f at the end */
	const char *mem;		/* memory mode input */
	size_t mem_len, mem_pos;
	char *buf;			/* file data; [start, end) unread */
	size_t cap, start, end;
	int eof;
	uint64_t line;
	uint8_t *hex;			/* decoded hex payload */
	size_t hex_cap;
	int failed;
	char err[512];
	enum trace_layer layer;		/* FILE or BLOCK once seen, else ANY */
	uint64_t layer_line;		/* where it was first seen */
	int seen_event;			/* a non-header event was read */
	int seen_any;			/* any event was read */
	uint64_t read_total;		/* bytes fread so far */
	uint64_t size;			/* the file's size, 0 if unknown */
	struct read_ahead *ra;		/* a regular file: the thread parsing
					   ahead (see "Read-ahead"), or NULL */
	uint64_t ra_offset;		/* read-ahead: the offset after the
					   last event returned */
};

static char open_err[512];

const char *trace_open_error(void)
{
	return open_err;
}

const char *trace_reader_error(const struct trace_reader *r)
{
	return r->err;
}

enum trace_layer trace_reader_layer(const struct trace_reader *r)
{
	return r->layer;
}

uint64_t trace_reader_offset(const struct trace_reader *r)
{
	if (r->ra)
		return r->ra_offset;
	if (!r->f)
		return r->mem_pos;
	return r->read_total - (r->end - r->start);
}

uint64_t trace_reader_size(const struct trace_reader *r)
{
	return r->f || r->ra ? r->size : r->mem_len;
}

const char *trace_reader_name(const struct trace_reader *r)
{
	return r->name;
}

static struct trace_reader *read_ahead_start(struct trace_reader *inner);
static void read_ahead_stop(struct trace_reader *r);

static struct trace_reader *reader_new(const char *name)
{
	struct trace_reader *r;

	if (!names_ready)
		names_build();
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->name = strdup(name);
	if (!r->name) {
		free(r);
		return NULL;
	}
	r->layer = TRACE_LAYER_ANY;
	return r;
}

int trace_open(struct trace_reader **rp, const char *path)
{
	struct trace_reader *r;
	int err;

	*rp = NULL;
	r = reader_new(path);
	if (!r) {
		snprintf(open_err, sizeof(open_err), "%s: out of memory", path);
		return -ENOMEM;
	}
	if (strcmp(path, "-") == 0) {
		r->f = stdin;
	} else {
		r->f = fopen(path, "rb");
		if (!r->f) {
			err = errno;
			snprintf(open_err, sizeof(open_err), "%s: cannot open: %s",
				 path, strerror(err));
			trace_close(r);
			return -err;
		}
		r->own_f = 1;
	}
	{
		struct stat st;
		if (fstat(fileno(r->f), &st) == 0 && S_ISREG(st.st_mode))
			r->size = (uint64_t)st.st_size;
	}
	r->cap = READ_CHUNK;
	r->buf = malloc(r->cap + 1 + READ_PAD);
	if (!r->buf) {
		snprintf(open_err, sizeof(open_err), "%s: out of memory", path);
		trace_close(r);
		return -ENOMEM;
	}
	*rp = r;
	if (r->size)			/* a regular file: parse it ahead */
		*rp = read_ahead_start(r);
	return 0;
}

int trace_open_mem(struct trace_reader **rp, const char *name,
		   const char *buf, size_t len)
{
	struct trace_reader *r = reader_new(name);

	*rp = NULL;
	if (!r) {
		snprintf(open_err, sizeof(open_err), "%s: out of memory", name);
		return -ENOMEM;
	}
	r->mem = buf;
	r->mem_len = len;
	*rp = r;
	return 0;
}

void trace_close(struct trace_reader *r)
{
	if (!r)
		return;
	if (r->ra)
		read_ahead_stop(r);
	if (r->own_f)
		fclose(r->f);
	free(r->buf);
	free(r->hex);
	free(r->name);
	free(r);
}

static int fail(struct trace_reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct trace_reader *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(r->err, sizeof(r->err), "%s:%" PRIu64 ": ", r->name, r->line);
	if (n < 0 || (size_t)n >= sizeof(r->err))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(r->err + n, sizeof(r->err) - (size_t)n, fmt, ap);
	va_end(ap);
	r->failed = 1;
	return -1;
}

/* Quote at most 40 bytes of s for a message: printable ASCII as is, other
 * bytes as \xHH. */
static const char *shown(const char *s, size_t n, char *out, size_t outlen)
{
	size_t o = 0;
	static const char hexd[] = "0123456789abcdef";

	assert(outlen >= 8);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		/* Room for one \xHH, or for "..." and the NUL. */
		if (i == 40 || o + 8 > outlen) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hexd[c >> 4];
			out[o++] = hexd[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

/*
 * Next line into [*ls, *ls + *ln), without its '\n' (and '\r').  The line
 * is writable and followed by one spare byte.  Returns 1, 0 at the end, or
 * -1 (message set).
 */
static int next_line(struct trace_reader *r, char **ls, size_t *ln)
{
	if (!r->f) {			/* memory mode: copy into buf */
		const char *s, *nl;
		size_t n;

		if (r->mem_pos >= r->mem_len)
			return 0;
		s = r->mem + r->mem_pos;
		nl = memchr(s, '\n', r->mem_len - r->mem_pos);
		n = nl ? (size_t)(nl - s) : r->mem_len - r->mem_pos;
		r->mem_pos += n + (nl != NULL);
		r->line++;
		if (n + 1 > r->cap) {
			char *nb = realloc(r->buf, n + 1 + READ_PAD);
			if (!nb)
				return fail(r, "line too long (out of memory)");
			r->buf = nb;
			r->cap = n + 1;
		}
		memcpy(r->buf, s, n);
		r->buf[n] = '\0';
		*ls = r->buf;
		*ln = n;
		goto strip;
	}
	for (;;) {
		char *s = r->buf + r->start, *end = r->buf + r->end;
		char *nl;
		size_t got;

		/* One scan finds the newline or a NUL, whichever comes first:
		 * the buffer ends with a NUL sentinel (the spare byte).  A
		 * memchr for '\n' and another for '\0' cost 13% of `powercut
		 * run` (perf, 2026-11-23). */
		*end = '\0';
		nl = strchrnul(s, '\n');
		if (nl < end && *nl == '\0') {
			r->line++;
			return fail(r, "NUL byte in line");
		}
		if (nl == end)
			nl = NULL;
		if (nl || (r->eof && r->end > r->start)) {
			size_t n = nl ? (size_t)(nl - s) : r->end - r->start;
			r->start += n + (nl != NULL);
			r->line++;
			s[n] = '\0';	/* the '\n', or the spare byte */
			*ls = s;
			*ln = n;
			goto strip_cr;
		}
		if (r->eof)
			return 0;
		/* Make room: move the partial line down, grow if it fills. */
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
		}
		if (r->cap - r->end < READ_CHUNK / 2) {
			size_t ncap = r->cap * 2;
			char *nb;
			if (ncap > MAX_LINE) {
				r->line++;
				return fail(r, "line longer than %llu bytes",
					    (unsigned long long)MAX_LINE);
			}
			nb = realloc(r->buf, ncap + 1 + READ_PAD);
			if (!nb) {
				r->line++;
				return fail(r, "line too long (out of memory)");
			}
			r->buf = nb;
			r->cap = ncap;
		}
		got = fread(r->buf + r->end, 1, r->cap - r->end, r->f);
		r->end += got;
		r->read_total += got;
		if (got == 0) {
			if (ferror(r->f)) {
				r->line++;
				return fail(r, "read error: %s", strerror(errno));
			}
			r->eof = 1;
		}
	}
strip:
	if (memchr(*ls, '\0', *ln))
		return fail(r, "NUL byte in line");
strip_cr:
	if (*ln > 0 && (*ls)[*ln - 1] == '\r')
		(*ls)[--*ln] = '\0';
	return 1;
}

/* ---- value syntax ---- */

/* Character classes and hex digit values by table: the scanner's inner
 * loops test one table byte instead of three or four comparisons (with
 * the hex table, parsing went from 8.2M to over 10M events/s on the
 * benchmark trace, 2026-11-23). */
enum { C_SPACE = 1, C_KEYEND = 2, C_VALEND = 4 };
static const uint8_t cls[256] = {
	[' '] = C_SPACE | C_KEYEND | C_VALEND,
	['\t'] = C_SPACE | C_KEYEND | C_VALEND,
	['#'] = C_KEYEND | C_VALEND,
	['='] = C_KEYEND,
	['\0'] = C_KEYEND | C_VALEND,	/* a line's end (it holds no other NUL) */
};

static const int8_t hexv[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6,
	['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
	['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/*
 * The length of the token at S: the bytes before the first one of class
 * C (C_VALEND; C_KEYEND, which adds '='), exactly what the byte loop
 * `while (!(cls[s[n]] & C)) n++` gives.  On a little-endian host 8 bytes
 * at a time: the lowest byte flagged by "at most 0x20" (space, tab, NUL)
 * or "equal to '#'" (and '=') is exact (a borrow can only flag bytes above
 * a true one), and a control byte that is no terminator resumes the byte
 * loop.  Line bytes are readable 8 at a time up to the NUL (READ_PAD).
 * Measured: the byte loops of the op name and the keys were 122 Ir per
 * line (callgrind, 1M-line gen_trace CPU trace); this: 101.
 */
static inline size_t token_len(const unsigned char *s, uint8_t c)
{
	size_t n = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = 0x0101010101010101ULL, highs = ones << 7;

	for (;; n += 8) {
		uint64_t w = load64(s + n), h = w ^ ones * '#', e = w ^ ones * '=';
		uint64_t m = ((w - ones * 0x21) & ~w) | ((h - ones) & ~h);
		if (c == C_KEYEND)
			m |= (e - ones) & ~e;
		if ((m &= highs)) {
			n += (size_t)__builtin_ctzll(m) >> 3;
			break;
		}
	}
#endif
	while (!(cls[s[n]] & c))
		n++;
	return n;
}

/* The value of hex digit c, or -1. */
static inline int hexval(unsigned char c)
{
	return hexv[c] - 1;
}

/* A number: decimal or 0x hex, optionally followed by K, M or G. */
static int parse_u64(struct trace_reader *r, const char *what,
		     const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0, mult = 1;
	size_t i = 0;
	char tmp[64];

	if (n > 0) {
		switch (s[n - 1]) {
		case 'K': mult = 1ull << 10; n--; break;
		case 'M': mult = 1ull << 20; n--; break;
		case 'G': mult = 1ull << 30; n--; break;
		}
	}
	if (n == 0)
		goto bad;
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (i = 2; i < n; i++) {
			int d = hexval((unsigned char)s[i]);
			if (d < 0)
				goto bad;
			if (v >> 60)
				goto overflow;
			v = v << 4 | (uint64_t)d;
		}
	} else {
		for (i = 0; i < n; i++) {
			unsigned d = (unsigned char)s[i] - '0';
			if (d > 9)
				goto bad;
			if (v > (UINT64_MAX - d) / 10)
				goto overflow;
			v = v * 10 + d;
		}
	}
	if (mult > 1 && v > UINT64_MAX / mult)
		goto overflow;
	*out = v * mult;
	return 0;
bad:
	return fail(r, "bad number for %s: '%s'", what,
		    shown(s, n + (mult > 1), tmp, sizeof(tmp)));
overflow:
	return fail(r, "number for %s does not fit in 64 bits: '%s'", what,
		    shown(s, n + (mult > 1), tmp, sizeof(tmp)));
}

static int parse_flags(struct trace_reader *r, const char *what,
		       const struct flag_name *set, const char *s, size_t n,
		       uint32_t *out)
{
	uint32_t v = 0;
	size_t i = 0;
	char tmp[64];

	if (n == 0)
		return fail(r, "empty value for %s", what);
	while (i <= n) {
		size_t j = i;
		const struct flag_name *fl;

		while (j < n && s[j] != '|')
			j++;
		for (fl = set; fl->name; fl++)
			if (strlen(fl->name) == j - i && memcmp(fl->name, s + i, j - i) == 0)
				break;
		if (!fl->name)
			return fail(r, "unknown %s '%s'", what,
				    shown(s + i, j - i, tmp, sizeof(tmp)));
		v |= fl->bit;
		i = j + 1;
	}
	*out = v;
	return 0;
}

/*
 * Unescape a quoted string in place.  *pos points at the opening quote;
 * on return it points just past the closing one.  The result replaces the
 * text from the opening quote and is NUL-terminated.
 */
static int parse_quoted(struct trace_reader *r, const char *what, char *line,
			size_t ln, size_t *pos, struct trace_str *out)
{
	size_t i = *pos + 1;
	char *dst = line + *pos;
	size_t o = 0;

	for (;;) {
		unsigned char c;

		if (i >= ln)
			return fail(r, "unterminated string for %s", what);
		c = (unsigned char)line[i++];
		if (c == '"')
			break;
		if (c != '\\') {
			dst[o++] = (char)c;
			continue;
		}
		if (i >= ln)
			return fail(r, "unterminated string for %s", what);
		c = (unsigned char)line[i++];
		switch (c) {
		case 'n': c = '\n'; break;
		case 't': c = '\t'; break;
		case 'r': c = '\r'; break;
		case 'a': c = '\a'; break;
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'v': c = '\v'; break;
		case 'e': c = 0x1b; break;
		case '\\': case '"': case '\'': case '?': break;
		case 'x': {
			int h1 = i < ln ? hexval((unsigned char)line[i]) : -1;
			int h2 = i + 1 < ln ? hexval((unsigned char)line[i + 1]) : -1;
			if (h1 < 0)
				return fail(r, "bad \\x escape in string for %s", what);
			if (h2 < 0) {
				c = (unsigned char)h1;
				i += 1;
			} else {
				c = (unsigned char)(h1 << 4 | h2);
				i += 2;
			}
			break;
		}
		case '0': case '1': case '2': case '3':
		case '4': case '5': case '6': case '7': {
			unsigned v = c - '0';
			for (int k = 0; k < 2 && i < ln && line[i] >= '0' && line[i] <= '7'; k++)
				v = v * 8 + (unsigned)(line[i++] - '0');
			if (v > 255)
				return fail(r, "octal escape out of range in string for %s", what);
			c = (unsigned char)v;
			break;
		}
		default:
			return fail(r, "unknown escape '\\%c' in string for %s",
				    c >= 0x20 && c < 0x7f ? c : '?', what);
		}
		if (c == 0)
			return fail(r, "NUL in string for %s", what);
		dst[o++] = (char)c;
	}
	if (i < ln && !(cls[(uint8_t)line[i]] & C_VALEND))
		return fail(r, "junk after closing quote of %s", what);
	dst[o] = '\0';
	out->s = dst;
	out->len = o;
	*pos = i;
	return 0;
}

static int reserve_hex(struct trace_reader *r, size_t n)
{
	if (n <= r->hex_cap)
		return 0;
	size_t ncap = r->hex_cap ? r->hex_cap : 4096;
	while (ncap < n)
		ncap *= 2;
	uint8_t *nb = realloc(r->hex, ncap);
	if (!nb)
		return fail(r, "payload too large (out of memory)");
	r->hex = nb;
	r->hex_cap = ncap;
	return 0;
}

/* data=hex:..|fill:B|rand:SEED.  The length is checked against len= later,
 * when all fields are known. */
static int parse_payload(struct trace_reader *r, const char *s, size_t n,
			 struct trace_payload *p)
{
	char tmp[64];

	if (n >= 4 && memcmp(s, "hex:", 4) == 0) {
		size_t digits = n - 4;
		const unsigned char *h = (const unsigned char *)s + 4;
		if (digits % 2)
			return fail(r, "odd number of hex digits in data");
		if (reserve_hex(r, digits / 2))
			return -1;
		for (size_t i = 0; i < digits / 2; i++) {
			int a = hexval(h[2 * i]), b = hexval(h[2 * i + 1]);
			if (a < 0 || b < 0) {
				unsigned char bad = a < 0 ? h[2 * i] : h[2 * i + 1];
				return fail(r, "bad hex digit '%s' in data",
					    shown((const char *)&bad, 1, tmp, sizeof(tmp)));
			}
			r->hex[i] = (uint8_t)(a << 4 | b);
		}
		p->kind = TRACE_PAYLOAD_HEX;
		p->len = digits / 2;
		p->bytes = r->hex;
		return 0;
	}
	if (n >= 5 && memcmp(s, "fill:", 5) == 0) {
		if (parse_u64(r, "fill byte", s + 5, n - 5, &p->arg))
			return -1;
		if (p->arg > 255)
			return fail(r, "fill byte %" PRIu64 " is not a byte", p->arg);
		p->kind = TRACE_PAYLOAD_FILL;
		return 0;
	}
	if (n >= 5 && memcmp(s, "rand:", 5) == 0) {
		if (parse_u64(r, "rand seed", s + 5, n - 5, &p->arg))
			return -1;
		p->kind = TRACE_PAYLOAD_RAND;
		return 0;
	}
	return fail(r, "bad data '%s' (expected hex:, fill: or rand:)",
		    shown(s, n, tmp, sizeof(tmp)));
}

/* ---- one line ---- */

/* Where a plain number field goes. */
static uint64_t *u64_field(struct trace_event *ev, uint32_t bit)
{
	switch (bit) {
	case TRACE_F_LEN:    return &ev->len;
	case TRACE_F_OFF:    return &ev->off;
	case TRACE_F_ADDR:   return &ev->addr;
	case TRACE_F_ID:     return &ev->id;
	case TRACE_F_SECTOR: return &ev->sector;
	default:	     return &ev->cycles;
	}
}

static struct trace_str *str_field(struct trace_event *ev, uint32_t bit)
{
	switch (bit) {
	case TRACE_F_PATH: return &ev->path;
	case TRACE_F_FROM: return &ev->from;
	case TRACE_F_TO:   return &ev->to;
	case TRACE_F_NAME: return &ev->name;
	default:	   return &ev->sym;
	}
}

static int check_event(struct trace_reader *r, struct trace_event *ev);

static int parse_config(struct trace_reader *r, char *line, size_t ln,
			size_t i, struct trace_event *ev)
{
	char tmp[64];

	while (i < ln) {
		size_t ks, ke, vs;
		struct trace_kv *kv;

		while (i < ln && (cls[(uint8_t)line[i]] & C_SPACE))
			i++;
		if (i >= ln || line[i] == '#')
			break;
		ks = i;
		while (i < ln && !(cls[(uint8_t)line[i]] & C_KEYEND))
			i++;
		ke = i;
		if (i >= ln || line[i] != '=')
			return fail(r, "config: expected KEY=VALUE, got '%s'",
				    shown(line + ks, ke - ks, tmp, sizeof(tmp)));
		if (ke == ks)
			return fail(r, "config: empty key");
		if (ev->nkv == TRACE_MAX_CONFIG)
			return fail(r, "config: more than %d settings on one line",
				    TRACE_MAX_CONFIG);
		kv = &ev->kv[ev->nkv++];
		i++;
		if (i < ln && line[i] == '"') {
			if (parse_quoted(r, "config value", line, ln, &i, &kv->value))
				return -1;
		} else {
			vs = i;
			while (i < ln && !(cls[(uint8_t)line[i]] & C_VALEND))
				i++;
			kv->value.s = line + vs;
			kv->value.len = i - vs;
		}
		line[ke] = '\0';
		kv->key.s = line + ks;
		kv->key.len = ke - ks;
		if (kv->value.s != line + (i - kv->value.len))
			continue;	/* quoted: already terminated */
		if (i < ln && line[i] == '#') {
			line[i] = '\0';
			break;
		}
		line[i] = '\0';	/* a space, or the spare byte at the end */
		if (i < ln)
			i++;
	}
	if (ev->nkv == 0)
		return fail(r, "config: no settings");
	return 0;
}

/* The plain number fields: parse_u64() syntax, stored by set_number(). */
#define NUMBER_FIELDS	(TRACE_F_FD | TRACE_F_CPU | TRACE_F_LEN | TRACE_F_OFF | \
			 TRACE_F_ADDR | TRACE_F_ID | TRACE_F_SECTOR | TRACE_F_CYCLES | \
			 TRACE_F_VAL)

/*
 * The common number, parsed where it stands in one pass: 0x and 1 to 16
 * hex digits, or 1 to 19 decimal digits (neither can overflow), ended by
 * a space, a tab, '#' or the line's NUL.  Returns the characters taken,
 * or 0 for anything else (a K/M/G suffix, 0X, leading zeros beyond those
 * counts, a bad digit, an empty value), which parse_u64() then takes with
 * its messages.  So it accepts a subset of parse_u64()'s syntax and gives
 * the same value.  Scanning the value and then parsing it cost ~290 Ir
 * per line of the 1M-line gen_trace CPU trace (callgrind); this pass
 * ~110.
 */
static inline size_t fast_u64(const unsigned char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;
	int d;

	if (s[0] == '0' && s[1] == 'x') {
		for (i = 2; (d = hexv[s[i]]); i++)
			v = v << 4 | (uint64_t)(d - 1);
		if (i == 2 || i > 18)
			return 0;
	} else {
		for (i = 0; (unsigned)(s[i] - '0') < 10; i++)
			v = v * 10 + (unsigned)(s[i] - '0');
		if (i == 0 || i > 19)
			return 0;
	}
	if (!(cls[s[i]] & C_VALEND))
		return 0;
	*out = v;
	return i;
}

/* Store the value X of number field BIT (range checks included). */
static inline int set_number(struct trace_reader *r, struct trace_event *ev,
			     uint32_t bit, uint64_t x)
{
	switch (bit) {
	case TRACE_F_FD:
		if (x > INT32_MAX)
			return fail(r, "fd %" PRIu64 " out of range", x);
		ev->fd = (uint32_t)x;
		return 0;
	case TRACE_F_CPU:
		if (x > MAX_CPU)
			return fail(r, "cpu %" PRIu64 " out of range (at most %u)", x, MAX_CPU);
		ev->cpu = (uint32_t)x;
		return 0;
	case TRACE_F_VAL:
		ev->data.arg = x;
		ev->data.kind = TRACE_PAYLOAD_VAL;
		return 0;
	default:
		*u64_field(ev, bit) = x;
		return 0;
	}
}

/* Zero the event up to kv[] (kv[] is written only by config lines, which
 * count nkv).  memset() compiled to `rep stosq`, a microcoded string
 * instruction that takes tens of cycles to start; thirteen 16-byte stores
 * instead (unrolled, so that gcc does not turn the loop back into the
 * memset): 15 Ir per line. */
static inline void event_clear(struct trace_event *ev)
{
	typedef uint64_t u64x2 __attribute__((vector_size(16)));
	const size_t n = offsetof(struct trace_event, kv);
	const u64x2 z = { 0, 0 };
	char *p = (char *)ev;

#pragma GCC unroll 16
	for (size_t k = 0; k + 16 <= n; k += 16)
		memcpy(p + k, &z, 16);
	if (n % 16)
		memcpy(p + n - 16, &z, 16);
}

/*
 * One line into *ev: 1, 0 for a blank or comment line, -1 (message set).
 * The line is NUL-terminated at LN and holds no other NUL (next_line()),
 * and cls[] puts NUL among the key and value ends, so the scans need no
 * length checks; `i < ln` remains only on the paths that pass LN on.
 */
static int parse_line(struct trace_reader *r, char *line, size_t ln,
		      struct trace_event *ev)
{
	const unsigned char *u = (const unsigned char *)line;
	size_t i = 0, os;
	const struct op_spec *spec;
	uint32_t allowed;
	char tmp[64];

	while (cls[u[i]] & C_SPACE)
		i++;
	if (u[i] == '\0' || u[i] == '#')
		return 0;		/* blank or comment */

	os = i;
	i += token_len(u + i, C_VALEND);
	event_clear(ev);
	ev->line = r->line;
	ev->op = lookup_op(line + os, i - os);
	if (ev->op == TRACE_OP_NONE)
		return fail(r, "unknown event '%s'", shown(line + os, i - os, tmp, sizeof(tmp)));
	spec = &op_specs[ev->op];
	allowed = op_allowed[ev->op];

	if (ev->op == TRACE_CONFIG)
		return parse_config(r, line, ln, i, ev) ? -1 : 1;

	for (;;) {
		size_t ks, ke, vs, vl, got;
		uint32_t bit;
		uint64_t x;
		int field;
		char *v;

		while (cls[u[i]] & C_SPACE)
			i++;
		if (u[i] == '\0' || u[i] == '#')
			break;
		ks = i;
		i += token_len(u + i, C_KEYEND);
		ke = i;
		if (u[i] != '=') {
			/* A bare word: `version 1`, `wait all`. */
			if (ev->op == TRACE_VERSION && !(ev->fields & TRACE_F_LEN)) {
				if (parse_u64(r, "version", line + ks, ke - ks, &ev->version))
					return -1;
				ev->fields |= TRACE_F_LEN;	/* "seen" marker */
				continue;
			}
			if (ev->op == TRACE_WAIT && ke - ks == 3 &&
			    memcmp(line + ks, "all", 3) == 0) {
				if (ev->fields & TRACE_F_ALL)
					return fail(r, "repeated field 'all'");
				ev->fields |= TRACE_F_ALL;
				continue;
			}
			return fail(r, "%s: expected KEY=VALUE, got '%s'", spec->name,
				    shown(line + ks, ke - ks, tmp, sizeof(tmp)));
		}
		field = lookup_field(line + ks, ke - ks);
		if (field < 0 || !(allowed & (1u << field)))
			return fail(r, "unknown field '%s' for %s",
				    shown(line + ks, ke - ks, tmp, sizeof(tmp)), spec->name);
		bit = 1u << field;
		if (ev->fields & bit)
			return fail(r, "repeated field '%s'", field_names[field]);
		ev->fields |= bit;

		i++;			/* '=' */
		if ((bit & NUMBER_FIELDS) && (got = fast_u64(u + i, &x))) {
			i += got;	/* nothing to terminate: a number */
			if (set_number(r, ev, bit, x))
				return -1;
			continue;
		}
		if (u[i] == '"') {
			struct trace_str str;
			if (parse_quoted(r, field_names[field], line, ln, &i, &str))
				return -1;
			v = (char *)str.s;
			vl = str.len;
		} else {
			vs = i;
			i += token_len(u + i, C_VALEND);
			v = line + vs;
			vl = i - vs;
			if (cls[u[i]] & C_SPACE)
				line[i++] = '\0';
			else if (u[i]) {	/* '#': the rest is a comment */
				line[i] = '\0';
				ln = i;
			}
		}

		if (bit & NUMBER_FIELDS) {
			if (parse_u64(r, field_names[field], v, vl, &x) ||
			    set_number(r, ev, bit, x))
				return -1;
			continue;
		}
		switch (bit) {
		case TRACE_F_DATA:
			if (parse_payload(r, v, vl, &ev->data))
				return -1;
			break;
		case TRACE_F_FLAGS:
			if (parse_flags(r, ev->op == TRACE_BIO ? "bio flag" : "flag",
					spec->flagset, v, vl, &ev->flags))
				return -1;
			break;
		case TRACE_F_MODE:
			if (parse_flags(r, "fallocate mode", spec->flagset, v, vl, &ev->flags))
				return -1;
			break;
		case TRACE_F_OP:
			if (vl == 5 && memcmp(v, "write", 5) == 0)
				ev->bio_op = TRACE_BIO_WRITE;
			else if (vl == 5 && memcmp(v, "flush", 5) == 0)
				ev->bio_op = TRACE_BIO_FLUSH;
			else if (vl == 7 && memcmp(v, "discard", 7) == 0)
				ev->bio_op = TRACE_BIO_DISCARD;
			else
				return fail(r, "unknown bio op '%s' (write, flush or discard)",
					    shown(v, vl, tmp, sizeof(tmp)));
			break;
		default: {		/* strings */
			struct trace_str *dst = str_field(ev, bit);
			if (vl == 0)
				return fail(r, "empty %s", field_names[field]);
			dst->s = v;
			dst->len = vl;
			break;
		}
		}
	}
	return check_event(r, ev) ? -1 : 1;
}

/* Field sets and cross-field rules of one event. */
static int check_event(struct trace_reader *r, struct trace_event *ev)
{
	const struct op_spec *spec = &op_specs[ev->op];
	uint32_t missing = spec->req & ~NEED_PAYLOAD & ~ev->fields;
	int has_data = !!(ev->fields & TRACE_F_DATA);
	int has_val = !!(ev->fields & TRACE_F_VAL);

	if (ev->op == TRACE_VERSION) {
		if (!(ev->fields & TRACE_F_LEN))
			return fail(r, "version: missing version number");
		ev->fields = 0;
		if (ev->version != TRACE_FORMAT_VERSION)
			return fail(r, "unsupported trace format version %" PRIu64
				    " (this powercut reads version %d)",
				    ev->version, TRACE_FORMAT_VERSION);
		return 0;
	}
	if (missing) {
		int f = __builtin_ctz(missing);
		return fail(r, "%s: missing field '%s'", spec->name, field_names[f]);
	}
	if (has_data && has_val)
		return fail(r, "%s: data= and val= both given", spec->name);
	if ((spec->req & NEED_PAYLOAD) && !has_data && !has_val)
		return fail(r, "%s: missing field 'data' (or 'val')", spec->name);

	if (ev->op == TRACE_WAIT) {
		int has_id = !!(ev->fields & TRACE_F_ID);
		if (has_id == !!(ev->fields & TRACE_F_ALL))
			return fail(r, "wait: give either id=N or all");
	}
	if (ev->op == TRACE_BIO) {
		switch (ev->bio_op) {
		case TRACE_BIO_WRITE:
			if (!(ev->fields & TRACE_F_SECTOR))
				return fail(r, "bio: op=write needs sector=");
			if (!(ev->fields & TRACE_F_LEN))
				return fail(r, "bio: op=write needs len=");
			if (!has_data && !has_val)
				return fail(r, "bio: op=write needs data=");
			if (ev->len == 0)
				return fail(r, "bio: op=write with len=0");
			break;
		case TRACE_BIO_FLUSH:
			if (ev->fields & (TRACE_F_SECTOR | TRACE_F_LEN | TRACE_F_DATA | TRACE_F_VAL))
				return fail(r, "bio: op=flush takes no sector, len or data");
			if (ev->flags & TRACE_BIO_FUA)
				return fail(r, "bio: op=flush cannot carry FUA (it has no data)");
			break;
		case TRACE_BIO_DISCARD:
			if (!(ev->fields & TRACE_F_SECTOR) || !(ev->fields & TRACE_F_LEN))
				return fail(r, "bio: op=discard needs sector= and len=");
			if (has_data || has_val)
				return fail(r, "bio: op=discard takes no data");
			if (ev->len == 0)
				return fail(r, "bio: op=discard with len=0");
			break;
		}
		if ((ev->fields & TRACE_F_LEN) && ev->len % 512)
			return fail(r, "bio: len %" PRIu64 " is not a multiple of 512", ev->len);
		if ((ev->fields & TRACE_F_SECTOR) && ev->sector > (UINT64_MAX >> 9) - (ev->len >> 9))
			return fail(r, "bio: sector %" PRIu64 " out of range", ev->sector);
	}
	if (has_val) {
		if (!(ev->fields & TRACE_F_LEN))
			return fail(r, "%s: val= needs len=", spec->name);
		if (ev->len == 0 || ev->len > 8)
			return fail(r, "%s: val= needs len between 1 and 8, not %" PRIu64,
				    spec->name, ev->len);
		if (ev->len < 8 && ev->data.arg >> (8 * ev->len))
			return fail(r, "%s: val 0x%" PRIx64 " does not fit in %" PRIu64 " byte%s",
				    spec->name, ev->data.arg, ev->len, ev->len == 1 ? "" : "s");
		ev->data.len = ev->len;
	}
	if (has_data) {
		if (!(ev->fields & TRACE_F_LEN))
			return fail(r, "%s: data= needs len=", spec->name);
		if (ev->data.kind == TRACE_PAYLOAD_HEX) {
			if (ev->data.len != ev->len)
				return fail(r, "%s: data has %" PRIu64 " byte%s but len=%" PRIu64,
					    spec->name, ev->data.len,
					    ev->data.len == 1 ? "" : "s", ev->len);
		} else {
			ev->data.len = ev->len;
		}
	}
	if (op_specs[ev->op].layer == TRACE_LAYER_CPU) {
		if ((ev->fields & TRACE_F_LEN) && ev->len == 0)
			return fail(r, "%s: len=0", spec->name);
	}
	if ((ev->fields & TRACE_F_ADDR) && (ev->fields & TRACE_F_LEN) &&
	    ev->addr + ev->len < ev->addr)
		return fail(r, "%s: addr+len wraps around", spec->name);
	if ((ev->fields & TRACE_F_OFF) && (ev->fields & TRACE_F_LEN) &&
	    ev->off + ev->len < ev->off)
		return fail(r, "%s: off+len wraps around", spec->name);
	if (ev->op == TRACE_MMAP || ev->op == TRACE_MUNMAP || ev->op == TRACE_MSYNC) {
		if (ev->len == 0)
			return fail(r, "%s: len=0", spec->name);
	}
	return 0;
}

/* The next event of R itself (no read-ahead): trace_next()'s work. */
static int read_next(struct trace_reader *r, struct trace_event *ev)
{
	char *line = NULL;
	size_t ln = 0;
	int rc;

	if (r->failed)
		return -1;
	for (;;) {
		rc = next_line(r, &line, &ln);
		if (rc <= 0)
			return rc;
		rc = parse_line(r, line, ln, ev);
		if (rc < 0)
			return -1;
		if (rc > 0)
			break;
	}
	switch (op_specs[ev->op].layer) {	/* ev->op is valid */
	case TRACE_LAYER_HEADER:
		if (ev->op == TRACE_VERSION && r->seen_any)
			return fail(r, "version must be the first event");
		if (ev->op == TRACE_CONFIG && r->seen_event)
			return fail(r, "config lines must come before the first event");
		break;
	case TRACE_LAYER_FILE:
	case TRACE_LAYER_BLOCK: {
		enum trace_layer l = op_specs[ev->op].layer;
		if (r->layer == TRACE_LAYER_ANY) {
			r->layer = l;
			r->layer_line = r->line;
		} else if (r->layer != l) {
			return fail(r, "%s event '%s' in a trace with %s events "
				    "(first at line %" PRIu64 "): block and file events do not mix",
				    l == TRACE_LAYER_BLOCK ? "block" : "file",
				    trace_op_name(ev->op),
				    r->layer == TRACE_LAYER_BLOCK ? "block" : "file",
				    r->layer_line);
		}
	}
		/* fall through */
	default:
		r->seen_event = 1;
		break;
	}
	r->seen_any = 1;
	return 1;
}

/*
 * ---- Read-ahead ----
 *
 * Parsing is about half of `powercut run`'s time on a CPU trace, and the
 * event loop cannot start an event before the reader returns it.  So a
 * regular file is parsed by a thread of its own, one batch of events
 * ahead: the thread runs read_next() on an inner reader (the code above,
 * unchanged: the same events, the same messages at the same lines) and
 * copies each event into a batch, with everything it points to (strings,
 * config settings, hex payload bytes) in the batch's arena; trace_next()
 * hands the batches' events out in order.  Measured: `powercut run` of a
 * 10M-event gen_trace CPU trace, quiet 2-vCPU VM, best of 5: 1.40 s with
 * the parse on the caller's thread, 0.98 s with it here (the caller's
 * thread, the simulation, is then the bottleneck; with no second core to
 * run on, the thread only adds its hand-over).  The promises of trace.h
 * hold:
 *
 *   R1  Order and content: events come in trace order, equal field by
 *       field to read_next()'s; the end (0) or the first error (-1 with
 *       its message) comes after the last event before it.
 *   R2  Lifetime: an event's data stays valid until the next
 *       trace_next(), because a batch is given back to the thread only
 *       when trace_next() is called after its last event.
 *   R3  Memory: RA_BATCHES batches of RA_EVENTS events and an arena of
 *       RA_ARENA bytes each; an event whose data does not fit an empty
 *       arena goes alone in a batch with its data in one extra buffer, the
 *       big buffer, which the thread reuses for the next such event once
 *       that batch is given back.  Bounded by the longest line, as the
 *       inner reader is.
 *   R4  Progress: trace_reader_offset() and trace_reader_layer() give
 *       the inner reader's values as of the last event returned.
 *
 * Standard input and pipes are read without the thread (a read that
 * blocks would keep trace_close() waiting), and so is memory.
 *
 * Handing over: batches [tail, head) are ready; the thread alone moves
 * head, the caller alone moves tail (sequentially consistent atomics, no
 * lock).  A side that finds nothing to do spins briefly, then sleeps on
 * the condition variable after saying so (waiting flags, set and checked
 * under the mutex); the other side takes the mutex to wake it only when
 * the flag is set, and wakes the thread only once half the batches are
 * free.  Measured: a mutex and a broadcast per batch, 256 events each,
 * made 70,000 voluntary context switches in a 10M-event `powercut run`
 * (the thread woken for every batch freed); sleeping at once when full,
 * 4,500 and 1.15 s; spinning first (the caller frees a batch every few
 * tens of microseconds), 200 and 0.98 s, at the price of the thread's
 * core spinning while the caller works.
 */
#define RA_BATCHES	8
#define RA_EVENTS	256
#define RA_SPIN		4000		/* pauses before a side sleeps */

/* A spin-wait hint (x86 PAUSE), else nothing. */
static inline void ra_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}
#define RA_ARENA	(64u << 10)
#define EV_HEAD		offsetof(struct trace_event, kv)
#define EV_NUM		offsetof(struct trace_event, path)
#define RA_STRS		0x80		/* flag[]: the event has str[] */

/*
 * The caller reads a batch the thread wrote, so every line of it moves
 * from one core's cache to the other's: the fewer bytes per event, the
 * better.  A batch keeps each event in one of three forms, told by its
 * flag[]:
 *   RA_SMALL  an event whose only fields are op, line, cpu, addr, len,
 *             cycles and a payload that is not hex (most CPU events,
 *             think, `wait all`): 48 bytes in small[], the rest of the
 *             head written as zeros by the caller;
 *   neither   any other event without strings or settings (a bio, say):
 *             its head up to the strings (EV_NUM bytes) in num[];
 *   RA_STRS   an event with strings, settings or hex bytes: the whole
 *             head in num[] and str[], the data in the arena.
 * Measured (`powercut run` of a 10M-event gen_trace CPU trace, quiet
 * 2-vCPU VM): whole 208-byte heads, 1.6-1.7 s, the copies a third of the
 * samples (perf), with a line shared by the caller's fields and tail (see
 * CL below); the line split, 120-byte heads: 1.25 s; 48-byte small
 * events: 1.15 s.
 */
#define RA_SMALL	0x40
#define RA_FORMS	(RA_SMALL | RA_STRS)

struct ra_small {
	uint64_t line, addr, len, arg, cycles;
	uint32_t fields;
	uint16_t cpu;
	uint8_t op, kind;
};
_Static_assert(sizeof(struct ra_small) == 48, "a small event is 48 bytes");
struct ra_batch {
	_Alignas(64) unsigned n;	/* events */
	int end;			/* after them: 1 more batches, 0 the end,
					   -1 an error (err) */
	bool big;			/* its one event's data is in the big
					   buffer */
	struct ra_small small[RA_EVENTS];
	char num[RA_EVENTS][EV_NUM];	/* each event up to its strings */
	char str[RA_EVENTS][EV_HEAD - EV_NUM];	/* its strings and nkv */
	uint64_t off[RA_EVENTS];	/* inner offset after each (R4) */
	uint8_t flag[RA_EVENTS];	/* inner layer after each (R4), and
					   RA_SMALL or RA_STRS */
	struct trace_kv kv[TRACE_MAX_CONFIG];	/* a config event's settings
						   (a batch ends after one) */
	char *arena;
	size_t used;
	char err[512];
};

/* Fields that one side writes and the other reads each have a host
 * cache line of their own (CL): with tail beside the caller's own
 * fields, the thread's spinning on tail made every event's read of
 * them a miss (perf: 70% of trace_next()). */
#define CL	_Alignas(64)

struct read_ahead {
	struct trace_reader *inner;	/* the thread's, read_next() */
	pthread_t thread;
	pthread_mutex_t mu;		/* the flags below, the sleeps */
	pthread_cond_t cv;
	bool stop;			/* trace_close(): the thread ends */
	bool big_busy;			/* a ready or held batch has the big
					   buffer */
	CL atomic_uint head;		/* batches [tail, head) are ready */
	CL atomic_uint tail;
	CL atomic_bool thread_waits;	/* the thread sleeps for free batches */
	CL atomic_bool caller_waits;	/* the caller sleeps for a batch */
	CL bool holding;		/* the caller's: batch tail is being
					   handed out */
	struct ra_batch *cur;		/* it */
	unsigned next;			/* its next event */
	unsigned cur_n;			/* its events if held, else 0 */
	CL char *big;			/* the thread's */
	size_t big_cap;
	struct trace_event ev;		/* from read_next() */
	struct ra_batch b[RA_BATCHES];
};

#define STR_FIELDS	(TRACE_F_PATH | TRACE_F_FROM | TRACE_F_TO | TRACE_F_NAME | TRACE_F_SYM)

/* Does EV point into the reader's buffers?  Most CPU and block events do
 * not: their store is one copy of the head. */
static inline bool ev_has_data(const struct trace_event *ev)
{
	return (ev->fields & STR_FIELDS) || ev->nkv || ev->data.kind == TRACE_PAYLOAD_HEX;
}

/* Bytes EV's data take in an arena. */
static size_t ev_data_size(const struct trace_event *ev)
{
	const struct trace_str *str[] = { &ev->path, &ev->from, &ev->to, &ev->name, &ev->sym };
	size_t n = 0;

	if (!ev_has_data(ev))
		return 0;
	for (size_t i = 0; i < sizeof(str) / sizeof(str[0]); i++)
		if (str[i]->s)
			n += str[i]->len + 1;
	for (unsigned i = 0; i < ev->nkv; i++)
		n += ev->kv[i].key.len + 1 + ev->kv[i].value.len + 1;
	if (ev->data.kind == TRACE_PAYLOAD_HEX)
		n += ev->data.len;
	return n;
}

static void copy_str(char **at, struct trace_str *s)
{
	if (!s->s)
		return;
	memcpy(*at, s->s, s->len + 1);
	s->s = *at;
	*at += s->len + 1;
}

/* EV (the inner reader's) into batch B: its head, its settings, its data
 * copied to AT. */
static void ra_store(struct ra_batch *b, struct trace_event *ev, char *at,
		     const struct trace_reader *inner)
{
	uint8_t flag = (uint8_t)inner->layer;

	if (!ev_has_data(ev))
		goto head;
	flag |= RA_STRS;
	copy_str(&at, &ev->path);
	copy_str(&at, &ev->from);
	copy_str(&at, &ev->to);
	copy_str(&at, &ev->name);
	copy_str(&at, &ev->sym);
	for (unsigned i = 0; i < ev->nkv; i++) {
		b->kv[i] = ev->kv[i];
		copy_str(&at, &b->kv[i].key);
		copy_str(&at, &b->kv[i].value);
	}
	if (ev->data.kind == TRACE_PAYLOAD_HEX && ev->data.len) {
		memcpy(at, ev->data.bytes, ev->data.len);
		ev->data.bytes = (const uint8_t *)at;
	}
	memcpy(b->num[b->n], ev, EV_NUM);
	memcpy(b->str[b->n], (char *)ev + EV_NUM, EV_HEAD - EV_NUM);
	goto out;
head:
	if (!ev->fd && !ev->flags && !ev->bio_op && !ev->off && !ev->id && !ev->sector &&
	    !ev->version && ev->cpu <= UINT16_MAX &&
	    (ev->data.kind == TRACE_PAYLOAD_NONE ? !ev->data.len && !ev->data.arg :
	     ev->data.len == ev->len)) {
		b->small[b->n] = (struct ra_small){
			.line = ev->line, .addr = ev->addr, .len = ev->len,
			.arg = ev->data.arg, .cycles = ev->cycles, .fields = ev->fields,
			.cpu = (uint16_t)ev->cpu, .op = (uint8_t)ev->op,
			.kind = (uint8_t)ev->data.kind,
		};
		flag |= RA_SMALL;
	} else {
		memcpy(b->num[b->n], ev, EV_NUM);
	}
out:
	b->off[b->n] = trace_reader_offset(inner);
	b->flag[b->n] = flag;
	b->n++;
}

/* Fill batch B; *PENDING is an event read for it that did not fit the
 * previous batch.  Returns false if the thread must stop. */
static bool ra_fill(struct read_ahead *ra, struct ra_batch *b, struct trace_event *ev,
		    bool *pending)
{
	b->n = 0;
	b->end = 1;
	b->big = false;
	b->used = 0;
	while (b->n < RA_EVENTS) {
		size_t need;
		int rc = 1;

		if (!*pending)
			rc = read_next(ra->inner, ev);
		*pending = false;
		if (rc <= 0) {
			b->end = rc;
			if (rc < 0)
				snprintf(b->err, sizeof(b->err), "%s", ra->inner->err);
			return true;
		}
		need = ev_data_size(ev);
		if (b->used + need <= RA_ARENA) {
			ra_store(b, ev, b->arena + b->used, ra->inner);
			b->used += need;
		} else if (b->n) {
			*pending = true;	/* the next batch takes it */
			return true;
		} else {			/* alone, in the big buffer (R3) */
			bool stop;
			pthread_mutex_lock(&ra->mu);
			while (ra->big_busy && !ra->stop)
				pthread_cond_wait(&ra->cv, &ra->mu);
			stop = ra->stop;
			ra->big_busy = !stop;	/* this batch's, until given back */
			pthread_mutex_unlock(&ra->mu);
			if (stop)
				return false;
			if (need > ra->big_cap) {
				char *nb = realloc(ra->big, need);
				if (!nb) {
					b->big = true;	/* gives big_busy back */
					b->end = -1;
					snprintf(b->err, sizeof(b->err), "%s:%" PRIu64
						 ": payload too large (out of memory)",
						 ra->inner->name, ra->inner->line);
					return true;
				}
				ra->big = nb;
				ra->big_cap = need;
			}
			ra_store(b, ev, ra->big, ra->inner);
			b->big = true;
			return true;
		}
		if (ev->op == TRACE_CONFIG)
			return true;		/* one kv[] per batch */
	}
	return true;
}

/* The thread: fill batches until the end or an error, then wait for
 * trace_close() (it allocates nothing of its own, and lives as long as
 * the reader: what the reader holds does not change when it ends). */
/* Wake the other side if it said it sleeps. */
static void ra_wake(struct read_ahead *ra, atomic_bool *waits)
{
	if (atomic_load(waits)) {
		pthread_mutex_lock(&ra->mu);
		atomic_store(waits, false);
		pthread_cond_broadcast(&ra->cv);
		pthread_mutex_unlock(&ra->mu);
	}
}

/* Is the thread to stop? */
static bool ra_stopping(struct read_ahead *ra)
{
	bool stop;

	pthread_mutex_lock(&ra->mu);
	stop = ra->stop;
	pthread_mutex_unlock(&ra->mu);
	return stop;
}

/* The thread: fill batches until the end or an error, then wait for
 * trace_close() (it allocates nothing of its own, and lives as long as
 * the reader: what the reader holds does not change when it ends). */
static void *ra_thread(void *arg)
{
	struct read_ahead *ra = arg;
	bool pending = false;
	unsigned head = 0;

	for (;;) {
		struct ra_batch *b;

		if (head - atomic_load(&ra->tail) == RA_BATCHES) {
			/* full: spin while the caller frees one (it does every
			 * few tens of microseconds when it keeps up), else
			 * sleep until half are free */
			for (int i = 0; i < RA_SPIN &&
			     head - atomic_load(&ra->tail) == RA_BATCHES; i++)
				ra_pause();
		}
		if (head - atomic_load(&ra->tail) == RA_BATCHES) {
			pthread_mutex_lock(&ra->mu);
			while (!ra->stop && head - atomic_load(&ra->tail) > RA_BATCHES / 2) {
				atomic_store(&ra->thread_waits, true);
				if (head - atomic_load(&ra->tail) > RA_BATCHES / 2)
					pthread_cond_wait(&ra->cv, &ra->mu);
			}
			atomic_store(&ra->thread_waits, false);
			pthread_mutex_unlock(&ra->mu);
		}
		if (ra_stopping(ra))
			break;
		b = &ra->b[head % RA_BATCHES];
		if (!ra_fill(ra, b, &ra->ev, &pending))
			break;
		atomic_store(&ra->head, ++head);
		ra_wake(ra, &ra->caller_waits);
		if (b->end <= 0) {
			pthread_mutex_lock(&ra->mu);
			while (!ra->stop)
				pthread_cond_wait(&ra->cv, &ra->mu);
			pthread_mutex_unlock(&ra->mu);
			break;
		}
	}
	return NULL;
}

static void ra_free(struct read_ahead *ra)
{
	for (int i = 0; i < RA_BATCHES; i++)
		free(ra->b[i].arena);
	free(ra->big);
	free(ra);
}

/* A reader that hands out INNER's events parsed by a thread, or INNER
 * itself if the thread cannot be had. */
static struct trace_reader *read_ahead_start(struct trace_reader *inner)
{
	struct trace_reader *r = reader_new(inner->name);
	struct read_ahead *ra = aligned_alloc(64, (sizeof(*ra) + 63) & ~(size_t)63);
	bool ok = r && ra;

	if (ra)
		memset(ra, 0, sizeof(*ra));

	for (int i = 0; ok && i < RA_BATCHES; i++)
		ok = (ra->b[i].arena = malloc(RA_ARENA)) != NULL;
	if (ok) {
		ra->inner = inner;
		atomic_init(&ra->head, 0);
		atomic_init(&ra->tail, 0);
		atomic_init(&ra->thread_waits, false);
		atomic_init(&ra->caller_waits, false);
		pthread_mutex_init(&ra->mu, NULL);
		pthread_cond_init(&ra->cv, NULL);
		if (pthread_create(&ra->thread, NULL, ra_thread, ra)) {
			pthread_cond_destroy(&ra->cv);
			pthread_mutex_destroy(&ra->mu);
			ok = false;
		}
	}
	if (!ok) {
		if (ra)
			ra_free(ra);
		trace_close(r);
		return inner;
	}
	r->ra = ra;
	r->size = inner->size;
	return r;
}

static void read_ahead_stop(struct trace_reader *r)
{
	struct read_ahead *ra = r->ra;

	pthread_mutex_lock(&ra->mu);
	ra->stop = true;
	pthread_cond_broadcast(&ra->cv);
	pthread_mutex_unlock(&ra->mu);
	pthread_join(ra->thread, NULL);
	pthread_cond_destroy(&ra->cv);
	pthread_mutex_destroy(&ra->mu);
	trace_close(ra->inner);
	ra_free(ra);
	r->ra = NULL;
}

/* Event I of batch B into EV (R1, R4). */
static inline void ra_copy(struct trace_reader *r, const struct ra_batch *b, unsigned i,
			   struct trace_event *ev)
{
	uint8_t flag = b->flag[i];

	if (flag & RA_SMALL) {
		const struct ra_small *sm = &b->small[i];
		event_clear(ev);
		ev->op = (enum trace_op)sm->op;
		ev->fields = sm->fields;
		ev->line = sm->line;
		ev->cpu = sm->cpu;
		ev->addr = sm->addr;
		ev->len = sm->len;
		ev->cycles = sm->cycles;
		ev->data.kind = (enum trace_payload_kind)sm->kind;
		ev->data.arg = sm->arg;
		if (sm->kind != TRACE_PAYLOAD_NONE)
			ev->data.len = sm->len;
	} else if (flag & RA_STRS) {
		memcpy(ev, b->num[i], EV_NUM);
		memcpy((char *)ev + EV_NUM, b->str[i], EV_HEAD - EV_NUM);
		if (ev->op == TRACE_CONFIG)
			memcpy(ev->kv, b->kv, ev->nkv * sizeof(*ev->kv));
	} else {
		memcpy(ev, b->num[i], EV_NUM);
		memset((char *)ev + EV_NUM, 0, EV_HEAD - EV_NUM);
	}
	r->layer = (enum trace_layer)(flag & ~RA_FORMS);
	r->ra_offset = b->off[i];
}

/* trace_next() with read-ahead, past the end of the batch held (or
 * before the first): the end, an error, or the next batch. */
static __attribute__((noinline)) int ra_next(struct trace_reader *r, struct trace_event *ev)
{
	struct read_ahead *ra = r->ra;

	for (;;) {
		if (ra->holding) {
			struct ra_batch *b = ra->cur;
			if (ra->next < b->n) {
				ra_copy(r, b, ra->next++, ev);
				return 1;
			}
			if (b->end < 0) {
				snprintf(r->err, sizeof(r->err), "%s", b->err);
				r->failed = 1;
				return -1;
			}
			if (b->end == 0)
				return 0;
			/* R2: its last event is no longer the caller's */
			if (b->big) {
				pthread_mutex_lock(&ra->mu);
				ra->big_busy = false;
				pthread_cond_broadcast(&ra->cv);
				pthread_mutex_unlock(&ra->mu);
			}
			atomic_fetch_add(&ra->tail, 1);
			ra->holding = false;
			ra->cur_n = 0;
			if (atomic_load(&ra->head) - atomic_load(&ra->tail) <= RA_BATCHES / 2)
				ra_wake(ra, &ra->thread_waits);
		}
		if (atomic_load(&ra->head) == atomic_load(&ra->tail)) {
			/* empty: spin, then sleep until one is ready */
			for (int i = 0; i < RA_SPIN &&
			     atomic_load(&ra->head) == atomic_load(&ra->tail); i++)
				ra_pause();
			pthread_mutex_lock(&ra->mu);
			while (atomic_load(&ra->head) == atomic_load(&ra->tail)) {
				atomic_store(&ra->caller_waits, true);
				if (atomic_load(&ra->head) == atomic_load(&ra->tail))
					pthread_cond_wait(&ra->cv, &ra->mu);
			}
			atomic_store(&ra->caller_waits, false);
			pthread_mutex_unlock(&ra->mu);
		}
		ra->cur = &ra->b[atomic_load(&ra->tail) % RA_BATCHES];
		ra->holding = true;
		ra->next = 0;
		ra->cur_n = ra->cur->n;
	}
}

/* The read-ahead case inline up to one event of the batch held: a call
 * and the register saves of the batch logic were 25 of its 97 Ir per
 * event (callgrind, `powercut run` of a 1M-event gen_trace trace). */
int trace_next(struct trace_reader *r, struct trace_event *ev)
{
	struct read_ahead *ra = r->ra;

	if (r->failed)
		return -1;
	if (!ra)
		return read_next(r, ev);
	if (ra->next < ra->cur_n) {
		ra_copy(r, ra->cur, ra->next++, ev);
		return 1;
	}
	return ra_next(r, ev);
}

/* ---- payloads ---- */

void trace_payload_read(const struct trace_payload *p, uint64_t off,
			void *dst, size_t n)
{
	uint8_t *d = dst;

	if (n == 0)		/* bytes may be NULL for an empty hex: payload */
		return;
	switch (p->kind) {
	case TRACE_PAYLOAD_HEX:
		memcpy(d, p->bytes + off, n);
		break;
	case TRACE_PAYLOAD_FILL:
		memset(d, (int)p->arg, n);
		break;
	case TRACE_PAYLOAD_VAL:
		for (size_t i = 0; i < n; i++)
			d[i] = (uint8_t)(p->arg >> (8 * (off + i)));
		break;
	case TRACE_PAYLOAD_RAND: {
		/* Output k is mix(seed + (k+1)*gamma): random access is O(1). */
		uint64_t word = off / 8;
		unsigned skip = (unsigned)(off % 8);
		uint64_t x = p->arg + word * 0x9e3779b97f4a7c15ULL;
		size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		/* whole words are their little-endian image: the cache model
		 * reads an ntstore's payload 8 bytes at a time (the byte loop
		 * was 125 Ir per read, callgrind, 1M-event gen_trace trace) */
		for (; !skip && n - i >= 8; i += 8) {
			uint64_t z = trace_splitmix64(&x);
			memcpy(d + i, &z, 8);
		}
#endif
		while (i < n) {
			uint64_t z = trace_splitmix64(&x);
			for (unsigned b = skip; b < 8 && i < n; b++)
				d[i++] = (uint8_t)(z >> (8 * b));
			skip = 0;
		}
		break;
	}
	case TRACE_PAYLOAD_NONE:
		memset(d, 0, n);
		break;
	}
}

static bool payload_equal(const struct trace_payload *a, const struct trace_payload *b)
{
	uint8_t ba[4096], bb[4096];

	if (a->len != b->len)
		return false;
	if (a->len == 0)	/* no bytes: rand:1 and rand:2 agree */
		return true;
	if (a->kind == b->kind && a->kind != TRACE_PAYLOAD_HEX)
		return a->arg == b->arg;
	for (uint64_t off = 0; off < a->len; off += sizeof(ba)) {
		size_t n = a->len - off < sizeof(ba) ? (size_t)(a->len - off) : sizeof(ba);
		trace_payload_read(a, off, ba, n);
		trace_payload_read(b, off, bb, n);
		if (memcmp(ba, bb, n))
			return false;
	}
	return true;
}

static bool str_equal(const struct trace_str *a, const struct trace_str *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->s, b->s, a->len) == 0);
}

bool trace_event_equal(const struct trace_event *a, const struct trace_event *b)
{
	uint32_t f = a->fields;
	/* val= and data= describe the same thing when the bytes agree */
	uint32_t pay = TRACE_F_DATA | TRACE_F_VAL;

	if (a->op != b->op || (f & ~pay) != (b->fields & ~pay) ||
	    !!(f & pay) != !!(b->fields & pay))
		return false;
	if (a->op == TRACE_VERSION)
		return a->version == b->version;
	if (a->op == TRACE_CONFIG) {
		if (a->nkv != b->nkv)
			return false;
		for (unsigned i = 0; i < a->nkv; i++)
			if (!str_equal(&a->kv[i].key, &b->kv[i].key) ||
			    !str_equal(&a->kv[i].value, &b->kv[i].value))
				return false;
		return true;
	}
	if (((f & TRACE_F_FD) && a->fd != b->fd) ||
	    ((f & TRACE_F_CPU) && a->cpu != b->cpu) ||
	    ((f & (TRACE_F_FLAGS | TRACE_F_MODE)) && a->flags != b->flags) ||
	    ((f & TRACE_F_OP) && a->bio_op != b->bio_op) ||
	    ((f & TRACE_F_LEN) && a->len != b->len) ||
	    ((f & TRACE_F_OFF) && a->off != b->off) ||
	    ((f & TRACE_F_ADDR) && a->addr != b->addr) ||
	    ((f & TRACE_F_ID) && a->id != b->id) ||
	    ((f & TRACE_F_SECTOR) && a->sector != b->sector) ||
	    ((f & TRACE_F_CYCLES) && a->cycles != b->cycles))
		return false;
	if ((f & pay) && !payload_equal(&a->data, &b->data))
		return false;
	if (((f & TRACE_F_PATH) && !str_equal(&a->path, &b->path)) ||
	    ((f & TRACE_F_FROM) && !str_equal(&a->from, &b->from)) ||
	    ((f & TRACE_F_TO) && !str_equal(&a->to, &b->to)) ||
	    ((f & TRACE_F_NAME) && !str_equal(&a->name, &b->name)) ||
	    ((f & TRACE_F_SYM) && !str_equal(&a->sym, &b->sym)))
		return false;
	return true;
}

/* ---- writing ---- */

static void write_str(FILE *f, const struct trace_str *s)
{
	bool plain = s->len > 0 && s->s[0] != '"';

	for (size_t i = 0; plain && i < s->len; i++) {
		unsigned char c = (unsigned char)s->s[i];
		if (c <= 0x20 || c >= 0x7f || c == '#' || c == '\\' || c == '"')
			plain = false;
	}
	if (plain) {
		fwrite(s->s, 1, s->len, f);
		return;
	}
	fputc('"', f);
	for (size_t i = 0; i < s->len; i++) {
		unsigned char c = (unsigned char)s->s[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void write_flags(FILE *f, const struct flag_name *set, uint32_t v)
{
	bool first = true;

	for (; set->name; set++) {
		if (!(v & set->bit))
			continue;
		if (!first)
			fputc('|', f);
		fputs(set->name, f);
		first = false;
	}
}

int trace_write_event(FILE *f, const struct trace_event *ev)
{
	const struct op_spec *spec;
	uint32_t fl = ev->fields;

	if (ev->op <= TRACE_OP_NONE || ev->op >= TRACE_OP_COUNT)
		return -EINVAL;
	spec = &op_specs[ev->op];
	fputs(spec->name, f);
	if (ev->op == TRACE_VERSION) {
		fprintf(f, " %" PRIu64, ev->version);
	} else if (ev->op == TRACE_CONFIG) {
		for (unsigned i = 0; i < ev->nkv; i++) {
			fputc(' ', f);
			fwrite(ev->kv[i].key.s, 1, ev->kv[i].key.len, f);
			fputc('=', f);
			write_str(f, &ev->kv[i].value);
		}
	}
	if (fl & TRACE_F_ALL)
		fputs(" all", f);
	if (fl & TRACE_F_ID)
		fprintf(f, " id=%" PRIu64, ev->id);
	if (fl & TRACE_F_OP)
		fprintf(f, " op=%s", ev->bio_op == TRACE_BIO_WRITE ? "write" :
			ev->bio_op == TRACE_BIO_FLUSH ? "flush" : "discard");
	if (fl & TRACE_F_FD)
		fprintf(f, " fd=%u", ev->fd);
	if (fl & TRACE_F_PATH) {
		fputs(" path=", f);
		write_str(f, &ev->path);
	}
	if (fl & TRACE_F_FROM) {
		fputs(" from=", f);
		write_str(f, &ev->from);
	}
	if (fl & TRACE_F_TO) {
		fputs(" to=", f);
		write_str(f, &ev->to);
	}
	if (fl & TRACE_F_NAME) {
		fputs(" name=", f);
		write_str(f, &ev->name);
	}
	if (fl & TRACE_F_ADDR)
		fprintf(f, " addr=0x%" PRIx64, ev->addr);
	if (fl & TRACE_F_SECTOR)
		fprintf(f, " sector=%" PRIu64, ev->sector);
	if (fl & TRACE_F_OFF)
		fprintf(f, " off=%" PRIu64, ev->off);
	if (fl & TRACE_F_LEN)
		fprintf(f, " len=%" PRIu64, ev->len);
	if (fl & TRACE_F_FLAGS) {
		fputs(" flags=", f);
		write_flags(f, spec->flagset, ev->flags);
	}
	if (fl & TRACE_F_MODE) {
		fputs(" mode=", f);
		write_flags(f, spec->flagset, ev->flags);
	}
	if (fl & TRACE_F_VAL) {
		fprintf(f, " val=0x%" PRIx64, ev->data.arg);
	} else if (fl & TRACE_F_DATA) {
		switch (ev->data.kind) {
		case TRACE_PAYLOAD_FILL:
			fprintf(f, " data=fill:0x%02x", (unsigned)ev->data.arg);
			break;
		case TRACE_PAYLOAD_RAND:
			fprintf(f, " data=rand:%" PRIu64, ev->data.arg);
			break;
		default: {
			static const char hexd[] = "0123456789abcdef";
			uint8_t chunk[4096];
			char out[8192];
			fputs(" data=hex:", f);
			for (uint64_t off = 0; off < ev->data.len; off += sizeof(chunk)) {
				size_t n = ev->data.len - off < sizeof(chunk) ?
					(size_t)(ev->data.len - off) : sizeof(chunk);
				trace_payload_read(&ev->data, off, chunk, n);
				for (size_t i = 0; i < n; i++) {
					out[2 * i] = hexd[chunk[i] >> 4];
					out[2 * i + 1] = hexd[chunk[i] & 15];
				}
				fwrite(out, 1, 2 * n, f);
			}
		}
		}
	}
	if (fl & TRACE_F_CYCLES)
		fprintf(f, " cycles=%" PRIu64, ev->cycles);
	if (fl & TRACE_F_CPU)
		fprintf(f, " cpu=%u", ev->cpu);
	if (fl & TRACE_F_SYM) {
		fputs(" sym=", f);
		write_str(f, &ev->sym);
	}
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}
