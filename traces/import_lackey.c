/*
 * import_lackey.c — valgrind lackey's memory trace (`valgrind --tool=lackey
 * --trace-mem=yes`) to a CPU trace of loads and stores.
 *
 * The format, as lackey writes it (lackey/lk_main.c, trace_load() and
 * friends: VG_(printf) of "I  %08lx,%lu", " L %08lx,%lu", " S %08lx,%lu",
 * " M %08lx,%lu"), one access per line, in program order:
 *
 *   I  0023C790,2      an instruction fetch of 2 bytes at 0x23c790
 *    L BE80199C,4      a data load
 *    S BE80199C,4      a data store
 *    M 0025747C,1      a data modify: a load and a store of the same bytes
 *                      by one instruction (lackey merges them, as
 *                      cachegrind does)
 *
 * Addresses are hex without 0x, sizes decimal.  With --log-file=FILE (the
 * way to keep the program's own output out of the log) valgrind's
 * messages ("==PID== ...", "--PID-- ...") are in the same file.
 *
 * Rules (docs/import-lackey.md has them with a worked example):
 *
 *   K1  Lines starting with "==" or "--" (valgrind's messages) and blank
 *       lines are skipped; every other line must be one of the four
 *       forms above, or the import fails with FILE:LINE.
 *   K2  I (instruction fetch) is dropped and counted in the trace's
 *       header comment: the cache model has no instruction cache (cache.c
 *       Notes: "Not modelled: instruction fetches"), and fetches never
 *       change what is durable.  Format `lackey-fetch` keeps them, for
 *       cache studies: each becomes `load cpu=1 addr=A len=SIZE`, and the
 *       trace says `config cpus=2`, so CPU 1's private L1D plays
 *       cachegrind's I1 and its misses fill the shared LLC as I1 misses
 *       fill cachegrind's LL.  Data stays on CPU 0; the report's cpu0.*
 *       lines are then the data side.  (Give I1 the D1 geometry: the
 *       model's L1Ds share one.)
 *   K3  L becomes `load addr=A len=SIZE`.
 *   K4  S becomes `store addr=A len=SIZE` with `val=0` (SIZE <= 8) or
 *       `data=fill:0x00`: lackey logs no values, so the stores write
 *       zeros.  The trace is good for cache behaviour and for which lines
 *       are dirty when, not for the content of a crash image.
 *   K5  M becomes `load` then `store` of the same bytes: cachegrind's
 *       convention, one read that is then written.  The store always hits
 *       the line(s) the load just touched, so the misses are the load's,
 *       as in cachegrind, which counts a modify once (as a read).  It is
 *       not `rmw`: lackey does not say whether the instruction was locked,
 *       and rmw is a fence (C16).
 *   K6  Addresses are kept: a CPU address of the trace is the program's
 *       virtual address, an offset in the pmem namespace.  `config
 *       pmem.size=` is the end of the highest byte touched, rounded up to
 *       1 MiB; an address beyond 1 TiB (the largest namespace) is an
 *       error.  Valgrind places an amd64 client below 128 GiB, so real
 *       logs fit; the namespace is sparse, so its size costs nothing.
 *       Cache set indices are those of the real addresses: a model with
 *       cachegrind's geometry sees the same conflicts.
 *
 * Notes:
 *   - A misaligned access is one event; the cache model touches every
 *     line it spans.  Cachegrind touches both lines of a straddling
 *     access too, but counts at most one miss per access (cg_sim.c):
 *     where both lines miss, powercut counts two.
 *   - Cachegrind clamps dirty helpers' accesses (fxsave, xsave: 108 to
 *     512+ bytes) to its smallest line size; lackey logs their full size
 *     and this importer keeps it.
 *   - The events go to a temporary file first, because `config
 *     pmem.size` must come before them and is known only at the end.
 */
#include "import.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

#define NS_ROUND	((uint64_t)1 << 20)
#define NS_MAX		((uint64_t)1 << 40)	/* pmem.size's maximum */

struct lk {
	const char *file;
	uint64_t line;
	char *err;
	size_t errlen;
	FILE *tmp;
	uint64_t end;			/* highest byte touched + 1 */
	uint64_t nfetch, nload, nstore, nmodify;
	bool fetch;			/* lackey-fetch: K2's I-side on CPU 1 */
};

static int lfail(struct lk *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int lfail(struct lk *k, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(k->err, k->errlen, "%s:%" PRIu64 ": ", k->file, k->line ? k->line : 1);

	if (n < 0 || (size_t)n >= k->errlen)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(k->err + n, k->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int emit(struct lk *k, enum trace_op op, uint64_t addr, uint64_t len, uint32_t cpu)
{
	struct trace_event ev;

	memset(&ev, 0, offsetof(struct trace_event, kv));
	ev.op = op;
	ev.addr = addr;
	ev.len = len;
	ev.cpu = cpu;
	ev.fields = TRACE_F_ADDR | TRACE_F_LEN | (cpu ? TRACE_F_CPU : 0);
	if (op == TRACE_STORE) {			/* K4 */
		ev.data.len = len;
		if (len <= 8) {
			ev.data.kind = TRACE_PAYLOAD_VAL;
			ev.fields |= TRACE_F_VAL;
		} else {
			ev.data.kind = TRACE_PAYLOAD_FILL;
			ev.fields |= TRACE_F_DATA;
		}
	}
	if (trace_write_event(k->tmp, &ev))
		return lfail(k, "write error: %s", strerror(errno));
	return 0;
}

/* "ADDR,SIZE" at S, up to the end of the line (trailing blanks allowed). */
static int addr_size(struct lk *k, const char *s, uint64_t *addr, uint64_t *size)
{
	const char *p = s;
	uint64_t a = 0, n = 0;
	int digits = 0;

	for (; *p && *p != ','; p++, digits++) {
		int d;
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			return lfail(k, "bad address '%.40s' (hex, as lackey prints it)", s);
		if (digits >= 16)
			return lfail(k, "address '%.40s' has more than 64 bits", s);
		a = a << 4 | (uint64_t)d;
	}
	if (!digits || *p != ',')
		return lfail(k, "expected ADDR,SIZE, got '%.40s'", s);
	for (p++, digits = 0; *p >= '0' && *p <= '9'; p++, digits++) {
		if (n > (UINT64_MAX - 9) / 10)
			return lfail(k, "size in '%.40s' is too large", s);
		n = n * 10 + (uint64_t)(*p - '0');
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (!digits || *p)
		return lfail(k, "bad size in '%.40s' (decimal)", s);
	if (!n)
		return lfail(k, "size 0 at 0x%" PRIx64 ": nothing accessed", a);
	if (a >= NS_MAX || n > NS_MAX - a)
		return lfail(k, "access [0x%" PRIx64 ", +%" PRIu64 ") beyond 1 TiB, the largest "
			     "pmem namespace (rule K6)", a, n);
	*addr = a;
	*size = n;
	if (a + n > k->end)
		k->end = a + n;
	return 0;
}

/* One line of the log (K1-K5). */
static int lackey_line(struct lk *k, const char *s)
{
	uint64_t a, n;

	if (s[0] == 'I' && s[1] == ' ' && s[2] == ' ') {	/* K2 */
		if (addr_size(k, s + 3, &a, &n))
			return -1;
		k->nfetch++;
		return k->fetch ? emit(k, TRACE_LOAD, a, n, 1) : 0;
	}
	if (s[0] == ' ' && s[2] == ' ' && (s[1] == 'L' || s[1] == 'S' || s[1] == 'M')) {
		if (addr_size(k, s + 3, &a, &n))
			return -1;
		switch (s[1]) {
		case 'L':				/* K3 */
			k->nload++;
			return emit(k, TRACE_LOAD, a, n, 0);
		case 'S':				/* K4 */
			k->nstore++;
			return emit(k, TRACE_STORE, a, n, 0);
		default:				/* K5 */
			k->nmodify++;
			return emit(k, TRACE_LOAD, a, n, 0) || emit(k, TRACE_STORE, a, n, 0) ? -1 : 0;
		}
	}
	if ((s[0] == '=' && s[1] == '=') || (s[0] == '-' && s[1] == '-'))
		return 0;				/* K1: valgrind's messages */
	for (const char *p = s; *p; p++)
		if (*p != ' ' && *p != '\t')
			return lfail(k, "not a lackey --trace-mem line: '%.40s' (expected "
				     "'I  ADDR,SIZE' or ' L|S|M ADDR,SIZE')", s);
	return 0;				/* K1: blank */
}

static int convert_any(FILE *in, const char *name, FILE *out, char *err, size_t errlen,
		       bool fetch)
{
	struct lk k = { .file = name, .err = err, .errlen = errlen, .fetch = fetch };
	char *buf = NULL;
	size_t cap = 0, n;
	ssize_t got;
	char copy[1 << 16];
	int rc = -1;

	k.tmp = tmpfile();
	if (!k.tmp) {
		snprintf(err, errlen, "%s: cannot make a temporary file: %s", name, strerror(errno));
		return -1;
	}
	while ((got = getline(&buf, &cap, in)) > 0) {
		k.line++;
		if (memchr(buf, '\0', (size_t)got)) {
			lfail(&k, "NUL byte in the line");
			goto out;
		}
		while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
			buf[--got] = '\0';
		if (lackey_line(&k, buf))
			goto out;
	}
	if (ferror(in)) {
		lfail(&k, "read error: %s", strerror(errno));
		goto out;
	}
	if (!k.nload && !k.nstore && !k.nmodify && !k.nfetch) {
		k.line = 1;
		lfail(&k, "no access: not a valgrind --tool=lackey --trace-mem=yes log");
		goto out;
	}
	fprintf(out, "# imported by powercut import %s from %s\n"
		"# rules K1-K6 of docs/import-lackey.md: loads and stores at the program's "
		"virtual addresses\n"
		"# %" PRIu64 " loads, %" PRIu64 " stores, %" PRIu64 " modifies (load + store), "
		"%" PRIu64 " instruction fetches %s (K2)\n"
		"version 1\nconfig pmem.size=%" PRIu64 "%s\n",
		fetch ? "lackey-fetch" : "lackey", name, k.nload, k.nstore, k.nmodify, k.nfetch,
		fetch ? "as loads by cpu 1" : "dropped",
		(k.end + NS_ROUND - 1) & ~(NS_ROUND - 1), fetch ? " cpus=2" : "");
	if (fflush(k.tmp) || fseek(k.tmp, 0, SEEK_SET)) {
		lfail(&k, "temporary file: %s", strerror(errno));
		goto out;
	}
	while ((n = fread(copy, 1, sizeof(copy), k.tmp)) > 0)
		if (fwrite(copy, 1, n, out) != n) {
			lfail(&k, "write error: %s", strerror(errno));
			goto out;
		}
	if (ferror(k.tmp)) {
		lfail(&k, "temporary file: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(buf);
	fclose(k.tmp);
	return rc;
}

static int convert_data(FILE *in, const char *name, FILE *out, char *err, size_t errlen)
{
	return convert_any(in, name, out, err, errlen, false);
}

static int convert_fetch(FILE *in, const char *name, FILE *out, char *err, size_t errlen)
{
	return convert_any(in, name, out, err, errlen, true);
}

const struct trace_importer trace_import_lackey = {
	.name = "lackey",
	.help = "valgrind --tool=lackey --trace-mem=yes logs (loads and stores; I fetches dropped)",
	.convert = convert_data,
};

const struct trace_importer trace_import_lackey_fetch = {
	.name = "lackey-fetch",
	.help = "lackey logs with instruction fetches as loads by cpu 1 (an I1 for cache studies)",
	.convert = convert_fetch,
};
