/*
 * fuzz_json.c — libFuzzer target for the JSON reader and writer
 * (sim/json.c) that `powercut merge` and `powercut report` read shard
 * reports with.
 *
 * Oracles, each an abort() so libFuzzer keeps the input:
 *   1. The parser never crashes, leaks or trips a sanitizer, whatever the
 *      bytes (`make fuzz` builds with ASan and UBSan).
 *   2. A failure leaves one message on one line, "LINE: what is wrong",
 *      with LINE at least 1.
 *   3. Round trip: a parsed document written with json_write() parses
 *      again, and writing that gives the same text (the canonical layout
 *      is a fixed point).
 *
 * Run: make fuzz FUZZ_SECONDS=600 (seeds in tests/fuzz-seeds-json/).
 */
#define _GNU_SOURCE		/* open_memstream */
#include "sim/json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_json: %s%s%s\n", what, detail ? ": " : "",
		detail ? detail : "");
	abort();
}

static char *write_text(const struct json *j, size_t *len)
{
	char *out = NULL;
	FILE *f = open_memstream(&out, len);

	if (!f)
		die("open_memstream", NULL);
	json_write(f, j, 0);
	if (fclose(f))
		die("open_memstream close", NULL);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], *t1, *t2;
	size_t n1, n2;
	struct json *j, *k;

	err[0] = 0;
	j = json_parse((const char *)data, size, err, sizeof(err));
	if (!j) {
		if (err[0] < '1' || err[0] > '9' || !strstr(err, ": ") || strchr(err, '\n'))
			die("malformed message", err);
		return 0;
	}
	t1 = write_text(j, &n1);
	k = json_parse(t1, n1, err, sizeof(err));
	if (!k) {
		fprintf(stderr, "%.*s\n", (int)n1, t1);
		die("json_write's output does not parse", err);
	}
	t2 = write_text(k, &n2);
	if (n1 != n2 || memcmp(t1, t2, n1)) {
		fprintf(stderr, "first:\n%.*s\nsecond:\n%.*s\n", (int)n1, t1, (int)n2, t2);
		die("json_write is not a fixed point", NULL);
	}
	json_free(j);
	json_free(k);
	free(t1);
	free(t2);
	return 0;
}
