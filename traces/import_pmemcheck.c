/*
 * import_pmemcheck.c — pmemcheck's --log-stores log (the input of PMDK's
 * pmreorder) to a CPU trace.
 *
 * The format, as pmemcheck writes it (pmemcheck/pmc_main.c in PMDK's
 * valgrind fork: VG_(emit) calls) and pmreorder reads it
 * (src/tools/pmreorder/: opscontext.py splits the whole file on '|' and
 * keeps what lies between the records holding START and STOP;
 * memoryoperations.py parses each record's ';'-separated fields):
 *
 *   START                             when logging starts
 *   |REGISTER_FILE;PATH;BASE;SIZE;OFF  a file mapped at BASE (all numbers
 *                                     hex with 0x); OFF is the offset in
 *                                     the file, which pmreorder ignores
 *   |STORE;ADDR;VALUE;SIZE[;FRAME]...  a store of SIZE (1 to 8) bytes, VALUE
 *                                     little-endian; with
 *                                     --log-stores-stacktraces=yes, one
 *                                     ";0xIP: function (file:line)" per frame
 *   |FLUSH;ADDR;SIZE                   clflush/clflushopt/clwb (SIZE is the
 *                                     cache line) or VALGRIND_PMC_DO_FLUSH
 *   |FENCE                             sfence/mfence, and after each clflush
 *                                     unless --expect-fence-after-clflush=yes
 *   |TEXT                              VALGRIND_PMC_EMIT_LOG(TEXT): pmreorder's
 *                                     markers (NAME.BEGIN, NAME.END) and
 *                                     engine switches
 *   |STOP\n                            at exit
 *
 * Without -q, valgrind's own "==PID==" lines come before START and after
 * STOP in the same file.
 *
 * Rules:
 *
 *   P1  Record k is the text between the (k-1)-th and k-th '|' (so
 *       `tr '|' '\n' < LOG | sed -n kp` prints it), trimmed of white
 *       space.  Events are the records after the first one that ends in
 *       START and before the first one that is STOP; a log without STOP
 *       (the program was killed) is taken to its end, and the trace says so.
 *   P2  The namespace: the registered files are laid out in the pmem
 *       namespace in registration order, each at the next 4 KiB boundary
 *       plus BASE mod 4096 (so cache-line and page offsets are kept), and
 *       `config pmem.size=` is the end of the last one rounded up to 4 KiB.
 *       With one file the namespace is that file, byte for byte, as
 *       pmreorder sees it (file offset = ADDR - BASE): `powercut check
 *       --checker CMD --checker-file POOL` hands CMD an image named POOL.
 *       A registration with the BASE and SIZE of an earlier one is the
 *       same file again (pmreorder's not_in()) and changes nothing.
 *   P3  STORE becomes `store addr=NS len=SIZE val=VALUE`, NS the namespace
 *       offset of ADDR; with a stack trace, `sym=` is the first frame
 *       without its address.  A store outside every registered file is an
 *       error (pmreorder cannot replay it either).
 *   P4  FLUSH becomes one `clwb addr=` per 64-byte line of [ADDR,
 *       ADDR+SIZE) inside a registered file, in address order; lines
 *       outside every file are dropped (pmemcheck logs every cache flush
 *       instruction, whatever memory it names) and counted, a run of them
 *       at once; a range past 2^64 is an error.  The log does not say
 *       which instruction flushed; clwb is the weakest one pmemcheck's
 *       own rule (a store is persistent after a flush and a fence) makes
 *       durable, and a clflush's stronger ordering is already in the log
 *       as the FENCE pmemcheck adds after it (unless
 *       --expect-fence-after-clflush=yes, which asks for exactly the weak
 *       model).
 *   P5  FENCE becomes `sfence`.
 *   P6  Any other record becomes `mark name=TEXT`, so `--points
 *       mark:NAME.END` checks where pmreorder markers end.  pmreorder's
 *       engine names (ReorderFull, NoReorderNoCheck, ...) are marks like
 *       any other: which states powercut explores is --states' business.
 *
 * Notes:
 *   - Errors are "FILE:RECORD: what is wrong", RECORD the record number
 *     of P1 (pmemcheck logs are often a single line).
 *   - powercut's model is stricter than pmreorder's: pmreorder replays, at
 *     each fence, only the stores flushed since the previous one, and
 *     forgets the others; here a dirty line may be written back at any
 *     time (BRIEF, CPU and pmem), so an unflushed store may persist.
 *   - The namespace starts zeroed.  A log of a program that opened an
 *     existing pool needs that pool's content as the initial image, which
 *     the importer cannot know (pmreorder reads the file on disk).
 *   - The events go to a temporary file first, because `config
 *     pmem.size` must come before them and is known only at the end.
 */
#include "import.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

#define LINE		((uint64_t)64)
#define PAGE		((uint64_t)4096)
#define MAX_SYM		160

struct pmap {
	uint64_t base, size;		/* the registered mapping */
	uint64_t ns;			/* namespace offset of base */
};

struct pc {
	const char *file;
	uint64_t rec;			/* record number (P1) */
	char *err;
	size_t errlen;
	FILE *tmp;			/* the events (Notes) */
	FILE *out;
	struct pmap *map;
	size_t nmap, capmap;
	uint64_t ns_end;		/* end of the last file in the namespace */
	uint64_t dropped_lines;		/* P4 */
	uint64_t nstore, nflush, nfence, nmark;
};

static int pfail(struct pc *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int pfail(struct pc *p, const char *fmt, ...)
{
	va_list ap;
	/* an error at the end of an empty input is on line 1 */
	int n = snprintf(p->err, p->errlen, "%s:%" PRIu64 ": ", p->file, p->rec ? p->rec : 1);

	if (n < 0 || (size_t)n >= p->errlen)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static void ev_init(struct trace_event *ev, enum trace_op op)
{
	memset(ev, 0, offsetof(struct trace_event, kv));
	ev->op = op;
}

static int emit(struct pc *p, const struct trace_event *ev)
{
	if (trace_write_event(p->tmp, ev))
		return pfail(p, "write error: %s", strerror(errno));
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* S for a message: at most 40 bytes, anything but printable ASCII as '?'
 * (records may span lines; a message is one line). */
static const char *shown(const char *s, char *buf, size_t n)
{
	size_t k = 0;

	for (; *s && k + 1 < n && k < 40; s++)
		buf[k++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	buf[k] = '\0';
	return buf;
}

/* A hex number of the log ("0x1f"); WHAT names it in the message. */
static int hexnum(struct pc *p, const char *s, const char *what, uint64_t *v)
{
	char *e;

	if (!s)
		return pfail(p, "missing %s", what);
	s = trim((char *)s);
	if (!*s || *s == '-' || *s == '+' || (errno = 0, *v = strtoull(s, &e, 16), errno || *e)) {
		char b[48];
		return pfail(p, "bad %s '%s'", what, shown(s, b, sizeof(b)));
	}
	return 0;
}

/* Split REC at ';' into at most MAX fields; returns the count. */
static int split(char *rec, char **f, int max)
{
	int n = 0;

	f[n++] = rec;
	for (char *c = rec; *c && n < max; c++)
		if (*c == ';') {
			*c = '\0';
			f[n++] = c + 1;
		}
	return n;
}

/* The mapping holding [a, a+n), or NULL. */
static const struct pmap *find(const struct pc *p, uint64_t a, uint64_t n)
{
	for (size_t i = 0; i < p->nmap; i++)
		if (a >= p->map[i].base && a - p->map[i].base < p->map[i].size &&
		    n <= p->map[i].size - (a - p->map[i].base))
			return &p->map[i];
	return NULL;
}

/* P2 */
static int register_file(struct pc *p, char **f, int nf)
{
	uint64_t base, size, off;
	struct pmap *m;

	if (nf < 5)
		return pfail(p, "REGISTER_FILE needs a path, a base, a size and an offset");
	if (hexnum(p, f[2], "mapping base", &base) || hexnum(p, f[3], "mapping size", &size) ||
	    hexnum(p, f[4], "file offset", &off))
		return -1;
	if (!size || base + size < base)
		return pfail(p, "mapping 0x%" PRIx64 "+0x%" PRIx64 " is empty or wraps", base, size);
	for (size_t i = 0; i < p->nmap; i++) {
		if (p->map[i].base == base && p->map[i].size == size)
			return 0;
		if (base < p->map[i].base + p->map[i].size && p->map[i].base < base + size) {
			char b[48];
			return pfail(p, "mapping of %s at 0x%" PRIx64 "+0x%" PRIx64 " overlaps "
				     "an earlier one at 0x%" PRIx64, shown(f[1], b, sizeof(b)), base,
				     size, p->map[i].base);
		}
	}
	if (p->nmap == p->capmap) {
		size_t c = p->capmap ? 2 * p->capmap : 8;
		struct pmap *n = realloc(p->map, c * sizeof(*n));
		if (!n)
			return pfail(p, "out of memory");
		p->map = n;
		p->capmap = c;
	}
	m = &p->map[p->nmap++];
	m->base = base;
	m->size = size;
	m->ns = ((p->ns_end + PAGE - 1) & ~(PAGE - 1)) + (base & (PAGE - 1));
	if (m->ns + size > (1ull << 40))
		return pfail(p, "the registered files need more than 1 TiB of namespace");
	p->ns_end = m->ns + size;
	for (char *c = f[1]; *c; c++)		/* a comment is one line */
		if (*c == '\n' || *c == '\r')
			*c = '?';
	fprintf(p->out, "# %.1000s: mapped at 0x%" PRIx64 ", 0x%" PRIx64 " bytes from file "
		"offset 0x%" PRIx64 ", is namespace 0x%" PRIx64 "-0x%" PRIx64 "\n", f[1], base, size,
		off, m->ns, m->ns + size);
	return 0;
}

/* P3 */
static int store(struct pc *p, char **f, int nf)
{
	uint64_t addr, val, size;
	const struct pmap *m;
	struct trace_event ev;
	char sym[MAX_SYM + 1];

	if (nf < 4)
		return pfail(p, "STORE needs an address, a value and a size");
	if (hexnum(p, f[1], "store address", &addr) || hexnum(p, f[2], "store value", &val) ||
	    hexnum(p, f[3], "store size", &size))
		return -1;
	if (size < 1 || size > 8)
		return pfail(p, "store of %" PRIu64 " bytes (pmemcheck logs 1 to 8)", size);
	if (size < 8 && val >> (8 * size))
		return pfail(p, "value 0x%" PRIx64 " does not fit in %" PRIu64 " bytes", val, size);
	m = find(p, addr, size);
	if (!m)
		return pfail(p, "store to 0x%" PRIx64 "+%" PRIu64 " outside every REGISTER_FILE "
			     "mapping", addr, size);
	ev_init(&ev, TRACE_STORE);
	ev.addr = m->ns + (addr - m->base);
	ev.len = size;
	ev.data.kind = TRACE_PAYLOAD_VAL;
	ev.data.len = size;
	ev.data.arg = val;
	ev.fields = TRACE_F_ADDR | TRACE_F_LEN | TRACE_F_VAL;
	if (nf > 4) {
		char *s = trim(f[4]), *colon = strstr(s, ": ");
		char *semi = strchr(s, ';');
		if (semi)			/* the first frame only */
			*semi = '\0';
		if (colon && (!semi || colon < semi) && s[0] == '0' && s[1] == 'x')
			s = trim(colon + 1);
		if (*s) {
			size_t k = 0;
			for (; *s && k < MAX_SYM; s++)	/* the writer quotes; keep it one line */
				sym[k++] = (*s == '\n' || *s == '\r' || *s == '\t') ? ' ' : *s;
			sym[k] = '\0';
			ev.sym.s = sym;
			ev.sym.len = k;
			ev.fields |= TRACE_F_SYM;
		}
	}
	p->nstore++;
	return emit(p, &ev);
}

/* P4 */
static int flush(struct pc *p, char **f, int nf)
{
	uint64_t addr, size, a, end;
	struct trace_event ev;

	if (nf < 3)
		return pfail(p, "FLUSH needs an address and a size");
	if (hexnum(p, f[1], "flush address", &addr) || hexnum(p, f[2], "flush size", &size))
		return -1;
	if (addr + size < addr)
		return pfail(p, "flush 0x%" PRIx64 "+0x%" PRIx64 " wraps", addr, size);
	if (size > (1ull << 40))
		return pfail(p, "flush of 0x%" PRIx64 " bytes", size);
	end = addr + (size ? size : 1);
	if (end <= addr)
		return pfail(p, "flush 0x%" PRIx64 "+0x%" PRIx64 " wraps", addr, size);
	for (a = addr & ~(LINE - 1);;) {	/* a < end; a line's end may be 2^64 */
		const struct pmap *m = find(p, a < addr ? addr : a, 1);
		if (!m) {
			/* no file holds line A: nor any line before the one that
			 * holds the next file's base, so they are dropped at once
			 * (one by one, a flush of 2^40 bytes was 2^34 turns) */
			uint64_t next = end;
			for (size_t i = 0; i < p->nmap; i++)
				if (p->map[i].base > a && p->map[i].base < next)
					next = p->map[i].base;
			if (next == end) {
				p->dropped_lines += (end - a - 1) / LINE + 1;
				break;
			}
			next &= ~(LINE - 1);
			if (next > a) {
				p->dropped_lines += (next - a) / LINE;
				a = next;
				continue;
			}
			p->dropped_lines++;	/* the next base is inside line A */
		} else {
			ev_init(&ev, TRACE_CLWB);
			ev.addr = m->ns + ((a < m->base ? m->base : a) - m->base);
			ev.fields = TRACE_F_ADDR;
			if (emit(p, &ev))
				return -1;
		}
		if (end - a <= LINE)
			break;
		a += LINE;
	}
	p->nflush++;
	return 0;
}

static int record(struct pc *p, char *rec)
{
	char *f[5];
	int nf;
	struct trace_event ev;

	if (!*rec)
		return 0;
	if (!strncmp(rec, "STORE;", 6) || !strcmp(rec, "STORE")) {
		nf = split(rec, f, 5);
		return store(p, f, nf);
	}
	if (!strncmp(rec, "FLUSH;", 6) || !strcmp(rec, "FLUSH")) {
		nf = split(rec, f, 4);
		return flush(p, f, nf);
	}
	if (!strcmp(rec, "FENCE")) {
		ev_init(&ev, TRACE_SFENCE);
		p->nfence++;
		return emit(p, &ev);
	}
	if (!strncmp(rec, "REGISTER_FILE;", 14) || !strcmp(rec, "REGISTER_FILE")) {
		nf = split(rec, f, 5);
		return register_file(p, f, nf);
	}
	/* P6 */
	for (char *c = rec; *c; c++)
		if (*c == '\n' || *c == '\r' || *c == '\t')
			*c = ' ';
	ev_init(&ev, TRACE_MARK);
	ev.name.s = rec;
	ev.name.len = strlen(rec);
	ev.fields = TRACE_F_NAME;
	p->nmark++;
	return emit(p, &ev);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

static int convert(FILE *in, const char *name, FILE *out, char *err, size_t errlen)
{
	struct pc p = { .file = name, .err = err, .errlen = errlen, .out = out };
	char *buf = NULL, *rec;
	size_t cap = 0;
	ssize_t n;
	bool started = false, stopped = false;
	int rc = -1;
	char copy[1 << 16];
	size_t k;

	p.tmp = tmpfile();
	if (!p.tmp) {
		snprintf(err, errlen, "%s: cannot make a temporary file: %s", name, strerror(errno));
		return -1;
	}
	fprintf(out, "# imported by powercut import pmemcheck from %s\n"
		"# rules P1-P6 of docs/import-pmemcheck.md: stores, clwb per flushed line, "
		"sfence, marks\nversion 1\n", name);
	while ((n = getdelim(&buf, &cap, '|', in)) > 0) {
		p.rec++;
		if (memchr(buf, '\0', (size_t)n)) {
			pfail(&p, "NUL byte in the record");
			goto out;
		}
		if (buf[n - 1] == '|')
			buf[n - 1] = '\0';
		rec = trim(buf);
		if (!started) {
			started = ends_with(rec, "START");
			continue;
		}
		if (!strncmp(rec, "STOP", 4) && (!rec[4] || isspace((unsigned char)rec[4]))) {
			stopped = true;
			break;
		}
		if (record(&p, rec))
			goto out;
	}
	if (ferror(in)) {
		pfail(&p, "read error: %s", strerror(errno));
		goto out;
	}
	if (!started) {
		p.rec = 1;
		pfail(&p, "no START record: not a pmemcheck --log-stores=yes log");
		goto out;
	}
	if (!p.nmap) {
		pfail(&p, "no REGISTER_FILE record: the log names no persistent-memory file");
		goto out;
	}
	if (!stopped)
		fprintf(out, "# no STOP record: the program did not exit normally; the log is "
			"taken to its end (rule P1)\n");
	if (p.dropped_lines)
		fprintf(out, "# %" PRIu64 " flushed cache lines outside every file were dropped "
			"(rule P4)\n", p.dropped_lines);
	fprintf(out, "# %" PRIu64 " stores, %" PRIu64 " flushes, %" PRIu64 " fences, %" PRIu64
		" marks\nconfig pmem.size=%" PRIu64 "\n", p.nstore, p.nflush, p.nfence, p.nmark,
		(p.ns_end + PAGE - 1) & ~(PAGE - 1));
	if (fflush(p.tmp) || fseek(p.tmp, 0, SEEK_SET)) {
		pfail(&p, "temporary file: %s", strerror(errno));
		goto out;
	}
	while ((k = fread(copy, 1, sizeof(copy), p.tmp)) > 0)
		if (fwrite(copy, 1, k, out) != k) {
			pfail(&p, "write error: %s", strerror(errno));
			goto out;
		}
	if (ferror(p.tmp)) {
		pfail(&p, "temporary file: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	fclose(p.tmp);
	free(p.map);
	free(buf);
	return rc;
}

const struct trace_importer trace_import_pmemcheck = {
	.name = "pmemcheck",
	.help = "pmemcheck --log-stores=yes logs, the input of PMDK's pmreorder",
	.convert = convert,
};
