/*
 * import.h — converters from foreign trace formats into trace format v1.
 *
 * Each importer reads its input in one pass and writes canonical events
 * with trace_write_event().  On bad input it stops and leaves one message,
 * "FILE:LINE: what is wrong", in err; the caller then discards the output
 * (`powercut import` writes to a temporary file and renames it only on
 * success).
 */
#ifndef POWERCUT_IMPORT_H
#define POWERCUT_IMPORT_H

#include <stddef.h>
#include <stdio.h>

struct trace_importer {
	const char *name;		/* the FORMAT of `powercut import` */
	const char *help;		/* one line */
	/* Convert IN (named NAME in messages) to OUT.  0, or -1 with err. */
	int (*convert)(FILE *in, const char *name, FILE *out, char *err, size_t errlen);
};

/* CrashMonkey / B3 j-lang workloads (traces/import_jlang.c). */
extern const struct trace_importer trace_import_jlang;
/* strace, pmemcheck --log-stores, dm-log-writes (traces/import_strace.c,
 * import_pmemcheck.c, import_dmlog.c). */
extern const struct trace_importer trace_import_strace, trace_import_pmemcheck, trace_import_dmlog;

/* valgrind lackey --trace-mem=yes logs (traces/import_lackey.c). */
extern const struct trace_importer trace_import_lackey, trace_import_lackey_fetch;

/* Every importer, NULL-terminated. */
extern const struct trace_importer *const trace_importers[];

#endif
