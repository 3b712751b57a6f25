/*
 * fuzz_import.c — libFuzzer target for the importers of `powercut import`
 * (traces/import*.c): j-lang, strace, pmemcheck, dm-log-writes, lackey.
 *
 * The first input byte chooses the importer (modulo their number); the
 * rest is the foreign input, given to it as a FILE (fmemopen).  Oracles,
 * each an abort() so libFuzzer keeps the input:
 *   1. No importer crashes, leaks or trips a sanitizer, whatever the
 *      bytes (`make fuzz` builds with ASan and UBSan).
 *   2. A failure leaves one message, on one line, of the form
 *      "fuzz:LINE: what is wrong" with LINE at least 1 -- for dm-log-writes,
 *      a binary format, "fuzz:OFFSET: ..." with the byte offset of the
 *      entry (0 for the super block) -- or "fuzz: what is wrong".
 *   3. A success writes a trace that the trace reader accepts from the
 *      first line to the last: an importer never hands `check` a trace
 *      that `check` would refuse.
 *
 * Run: make fuzz FUZZ_SECONDS=600 (seeds in tests/fuzz-seeds/import/:
 * the importer's index byte, then a real input of tests/import/).
 */
#define _GNU_SOURCE		/* fmemopen, open_memstream */
#include "traces/import.h"
#include "traces/trace.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_import: %s%s%s\n", what, detail ? ": " : "",
		detail ? detail : "");
	abort();
}

/* Oracle 2. */
static void check_message(const char *msg, bool offsets)
{
	const char *p = msg;

	if (strncmp(p, "fuzz:", 5))
		die("message not starting with the input's name", msg);
	p += 5;
	if ((*p >= '1' && *p <= '9') || (offsets && *p == '0' && p[1] == ':')) {
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p != ':')
			die("message with a malformed line number", msg);
		p++;
	} else if (*p == '0') {
		die("message with line 0", msg);
	}
	if (*p != ' ' || !p[1])
		die("message without a description", msg);
	if (strchr(msg, '\n'))
		die("message on more than one line", msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct trace_importer *imp;
	struct trace_reader *r;
	struct trace_event ev;
	char err[512], *out = NULL;
	size_t nimp = 0, outlen = 0;
	FILE *in, *o;
	int rc, n;

	if (size < 1)
		return 0;
	while (trace_importers[nimp])
		nimp++;
	imp = trace_importers[data[0] % nimp];
	/* fmemopen refuses a zero-length buffer: give it one byte and an empty
	 * stream instead */
	in = fmemopen(size > 1 ? (void *)(data + 1) : (void *)"", size > 1 ? size - 1 : 1, "r");
	if (!in)
		die("fmemopen", NULL);
	if (size == 1)
		(void)fgetc(in);
	o = open_memstream(&out, &outlen);
	if (!o)
		die("open_memstream", NULL);
	err[0] = 0;
	rc = imp->convert(in, "fuzz", o, err, sizeof(err));
	fclose(in);
	if (fclose(o))
		die("open_memstream close", NULL);
	if (rc) {
		check_message(err, imp == &trace_import_dmlog);
		free(out);
		return 0;
	}
	/* Oracle 3 */
	if (trace_open_mem(&r, "out", out, outlen))
		die("the reader cannot open the imported trace", trace_open_error());
	while ((n = trace_next(r, &ev)) == 1)
		;
	if (n < 0) {
		fprintf(stderr, "importer %s wrote:\n%.*s\n", imp->name, (int)outlen, out);
		die("the imported trace does not read back", trace_reader_error(r));
	}
	trace_close(r);
	free(out);
	return 0;
}
