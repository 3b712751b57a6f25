/*
 * json.h — just enough JSON for powercut's reports: a writer with stable
 * formatting (equal values give equal bytes) and a small DOM parser used
 * by `powercut merge` to read reports back.
 *
 * Output files are written atomically (sim_atomic_*): to a temporary name
 * in the same directory, flushed, fsync'ed, then renamed over the target,
 * so a reader never sees half a report.
 */
#ifndef POWERCUT_JSON_H
#define POWERCUT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- writing ---- */

/* A JSON string literal, quoted and escaped. */
void json_put_str(FILE *f, const char *s);

/* ---- atomic output files ---- */

struct sim_atomic {
	FILE *f;
	char tmp[4096];			/* "" when written directly */
	char path[4096];
};

/* Open a temporary file beside PATH.  A PATH that exists and is neither a
 * regular file nor a directory (/dev/stdout, a terminal, a FIFO) is
 * written directly instead: a stream cannot be replaced whole, and a
 * rename over it would replace the device node or the link.  0, or -1
 * with a message in err. */
int sim_atomic_open(struct sim_atomic *a, const char *path, char *err, size_t errlen);
/* Flush, fsync, rename over PATH.  0, or -1 (the temporary is removed). */
int sim_atomic_commit(struct sim_atomic *a, char *err, size_t errlen);
/* Give up: remove the temporary. */
void sim_atomic_abort(struct sim_atomic *a);

/* ---- parsing ---- */

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ };

struct json {
	enum json_type type;
	bool b;
	double num;
	char *raw;			/* NUM: the text as written */
	char *str;			/* STR: unescaped; OBJ members: the key */
	struct json *kids;		/* ARR, OBJ: array of n */
	size_t n;
	char *key;			/* a member of an object: its key */
};

/* Parse TEXT.  Returns the root or NULL with a message ("LINE: what") in
 * err. */
struct json *json_parse(const char *text, size_t len, char *err, size_t errlen);
void json_free(struct json *j);

/* The whole file PATH, for json_parse: its length in *LEN.  NULL with
 * errno set if it cannot be read. */
char *json_slurp(const char *path, size_t *len);

/* The member KEY of object J, or NULL. */
const struct json *json_get(const struct json *j, const char *key);

/* Write J back in powercut's canonical layout (used by merge). */
void json_write(FILE *f, const struct json *j, int indent);

#endif
