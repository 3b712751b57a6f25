/*
 * import.c — the importers `powercut import` knows.  Adding a format is
 * adding its importer here (and its declaration in import.h).
 */
#include "import.h"

const struct trace_importer *const trace_importers[] = {
	&trace_import_jlang,
	&trace_import_strace, &trace_import_pmemcheck, &trace_import_dmlog,
	&trace_import_lackey, &trace_import_lackey_fetch,
	NULL
};
