/*
 * import_jlang.c — CrashMonkey / B3 (ACE) j-lang workloads to trace v1.
 *
 * A workload has sections `# define` (the files and directories it names,
 * like A/C/foo; operations then name them with the slashes removed,
 * ACfoo, and `test` is the mount point), `# declare` (local variables),
 * `# setup` and `# run` (operations, setup first).  Each operation becomes
 * the system calls CrashMonkey's generated C++ makes for it (ACE's
 * cmAdapter.py and user_tools/src/workload.cpp), in order:
 *
 *   J1  open X FLAGS MODE    open(path, FLAGS, MODE); the fd is the lowest free
 *                            number >= 3, as the kernel gives (re-opening X
 *                            leaves the old fd open, as the C++ does)
 *   J2  opendir X MODE       open(path, O_DIRECTORY, MODE)
 *   J3  write X OFF LEN      WriteData(): pwrite of the bytes up to the next
 *                            4 KiB boundary, then one pwrite per 4 KiB page,
 *                            then the tail; byte at file offset p is
 *                            "abcdefghijklmnopqrstuvwxyz123456"[p % 32]
 *   J4  dwrite X OFF LEN     close(fd); open(path, O_RDWR|O_DIRECT|O_SYNC);
 *                            pwrite(LEN bytes of "ddddddddddklmnopqrstuvwxyz123456"
 *                            repeated, OFF); close(fd)
 *   J5  mmapwrite X OFF LEN  fallocate(fd, 0, OFF, LEN);
 *                            mmap(NULL, OFF+LEN, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0);
 *                            32-byte memcpy()s of "mmmmmmmmmmklmnopqrstuvwxyz123456"
 *                            over [OFF, OFF+LEN) (each a 32-byte store);
 *                            msync(map+OFF, 8192, MS_SYNC); munmap(map, OFF+LEN)
 *   J6  falloc X MODE OFF LEN  fallocate(fd, MODE, OFF, LEN)
 *   J7  fsync X, fdatasync X, sync
 *   J8  mkdir X MODE, rmdir X, unlink X, remove X (rmdir for a directory,
 *       unlink otherwise), rename X Y, link X Y, symlink X Y (the target is
 *       X's full path)
 *   J9  truncate X LEN       truncate(path, LEN)
 *   J10 fsetxattr X          fsetxattr(fd, "user.xattr1", "val1", 4, 0)
 *   J11 removexattr X        removexattr(path, "user.xattr1")
 *   J12 close X              close(fd)
 *   J13 checkpoint N         CrashMonkey's checkpoint (no system call):
 *                            `mark name=checkpoint-N`
 *
 * Notes:
 *   - truncate(path) and removexattr(path) are written as ftruncate and
 *     removexattr on X's open descriptor, which every workload of the seq-1
 *     corpus has: the filesystem sees the same inode operation.  When X is
 *     not open, the importer opens it around the call (open, op, close) and
 *     says so in a comment in the trace.
 *   - File modes (0777) are not modelled and are dropped.
 *   - Mappings are placed at 0x7f0000000000 + 1 GiB per mmap, page-aligned.
 */
#include "import.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

#define MAX_NAMES	256
#define MAX_FDS		1024
#define MAP_BASE	0x7f0000000000ull
#define MAP_STRIDE	(1ull << 30)

static const char pat_write[] = "abcdefghijklmnopqrstuvwxyz123456";
static const char pat_dwrite[] = "ddddddddddklmnopqrstuvwxyz123456";
static const char pat_mmap[] = "mmmmmmmmmmklmnopqrstuvwxyz123456";

struct jname {
	char key[128];			/* the mangled name: ACfoo */
	char path[256];			/* /A/C/foo */
	int fd;				/* open fd, or -1 */
	bool dir;			/* known to be a directory */
};

struct jl {
	const char *file;
	unsigned line;
	FILE *out;
	char *err;
	size_t errlen;
	struct jname name[MAX_NAMES];
	size_t nname;
	bool fd_used[MAX_FDS];
	uint64_t nmaps;
	uint8_t buf[1 << 16];
};

static int jfail(struct jl *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int jfail(struct jl *j, const char *fmt, ...)
{
	va_list ap;
	/* an error at the end of an empty input is on line 1 */
	int n = snprintf(j->err, j->errlen, "%s:%u: ", j->file, j->line ? j->line : 1);

	if (n < 0 || (size_t)n >= j->errlen)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(j->err + n, j->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static struct jname *lookup(struct jl *j, const char *key)
{
	for (size_t i = 0; i < j->nname; i++)
		if (!strcmp(j->name[i].key, key))
			return &j->name[i];
	return NULL;
}

static int need(struct jl *j, const char *key, struct jname **out)
{
	*out = lookup(j, key);
	if (!*out)
		return jfail(j, "'%s' is not declared in # define", key);
	return 0;
}

static int alloc_fd(struct jl *j)
{
	for (int fd = 3; fd < MAX_FDS; fd++)
		if (!j->fd_used[fd]) {
			j->fd_used[fd] = true;
			return fd;
		}
	return -1;
}

static void ev_init(struct trace_event *ev, enum trace_op op)
{
	memset(ev, 0, offsetof(struct trace_event, kv));
	ev->op = op;
}

static void set_str(struct trace_str *s, const char *v)
{
	s->s = v;
	s->len = strlen(v);
}

static int emit(struct jl *j, struct trace_event *ev)
{
	if (trace_write_event(j->out, ev))
		return jfail(j, "write error: %s", strerror(errno));
	return 0;
}

static int emit_open(struct jl *j, struct jname *n, uint32_t flags)
{
	struct trace_event ev;
	int fd = alloc_fd(j);

	if (fd < 0)
		return jfail(j, "too many open files");
	ev_init(&ev, TRACE_OPEN);
	ev.fd = (uint32_t)fd;
	set_str(&ev.path, n->path);
	ev.flags = flags;
	ev.fields = TRACE_F_FD | TRACE_F_PATH | TRACE_F_FLAGS;
	n->fd = fd;
	if (flags & TRACE_O_DIRECTORY)
		n->dir = true;
	return emit(j, &ev);
}

static int emit_fd_op(struct jl *j, enum trace_op op, int fd)
{
	struct trace_event ev;

	ev_init(&ev, op);
	ev.fd = (uint32_t)fd;
	ev.fields = TRACE_F_FD;
	return emit(j, &ev);
}

static int emit_close(struct jl *j, struct jname *n)
{
	int rc;

	if (n->fd < 0)
		return jfail(j, "close %s: it is not open", n->key);
	rc = emit_fd_op(j, TRACE_CLOSE, n->fd);
	j->fd_used[n->fd] = false;
	n->fd = -1;
	return rc;
}

static int emit_path_op(struct jl *j, enum trace_op op, const char *path)
{
	struct trace_event ev;

	ev_init(&ev, op);
	set_str(&ev.path, path);
	ev.fields = TRACE_F_PATH;
	return emit(j, &ev);
}

static int emit_two(struct jl *j, enum trace_op op, const char *from, const char *to)
{
	struct trace_event ev;

	ev_init(&ev, op);
	set_str(&ev.from, from);
	set_str(&ev.to, to);
	ev.fields = TRACE_F_FROM | TRACE_F_TO;
	return emit(j, &ev);
}

/* pwrite(fd, pattern bytes, n, off): byte i of the buffer is pat[(start + i) % 32]. */
static int emit_pwrite(struct jl *j, int fd, uint64_t off, uint64_t n, const char *pat,
		       uint64_t start)
{
	struct trace_event ev;
	uint8_t *b = j->buf;

	if (n > sizeof(j->buf))
		b = malloc(n);
	if (!b)
		return jfail(j, "out of memory");
	for (uint64_t i = 0; i < n; i++)
		b[i] = (uint8_t)pat[(start + i) % 32];
	ev_init(&ev, TRACE_PWRITE);
	ev.fd = (uint32_t)fd;
	ev.off = off;
	ev.len = n;
	ev.data.kind = TRACE_PAYLOAD_HEX;
	ev.data.len = n;
	ev.data.bytes = b;
	ev.fields = TRACE_F_FD | TRACE_F_OFF | TRACE_F_LEN | TRACE_F_DATA;
	int rc = emit(j, &ev);
	if (b != j->buf)
		free(b);
	return rc;
}

/* J3: WriteData() of user_tools/src/workload.cpp. */
static int write_data(struct jl *j, int fd, uint64_t off, uint64_t size)
{
	const uint64_t blk = 4096;
	uint64_t rounded = (off + blk - 1) & ~(blk - 1);
	uint64_t aligned = size >= blk ? (size - (rounded - off)) & ~(blk - 1) : 0;
	uint64_t done = 0;

	if (rounded != off) {
		uint64_t n = size < rounded - off ? size : rounded - off;
		if (emit_pwrite(j, fd, off, n, pat_write, off))
			return -1;
		done = n;
	}
	for (uint64_t a = 0; a < aligned; a += blk, done += blk)
		if (emit_pwrite(j, fd, off + done, blk, pat_write, off + done))
			return -1;
	if (done < size && emit_pwrite(j, fd, off + done, size - done, pat_write, off + done))
		return -1;
	return 0;
}

static int parse_u64(struct jl *j, const char *s, uint64_t *v)
{
	char *e;

	if (!s || !*s)
		return jfail(j, "missing number");
	errno = 0;
	*v = strtoull(s, &e, 0);
	if (errno || *e || *s == '-')
		return jfail(j, "bad number '%s'", s);
	return 0;
}

static int parse_open_flags(struct jl *j, const char *s, uint32_t *flags)
{
	static const struct { const char *n; uint32_t f; } map[] = {
		{ "O_RDONLY", TRACE_O_RDONLY }, { "O_WRONLY", TRACE_O_WRONLY },
		{ "O_RDWR", TRACE_O_RDWR }, { "O_CREAT", TRACE_O_CREAT },
		{ "O_EXCL", TRACE_O_EXCL }, { "O_TRUNC", TRACE_O_TRUNC },
		{ "O_APPEND", TRACE_O_APPEND }, { "O_DIRECT", TRACE_O_DIRECT },
		{ "O_SYNC", TRACE_O_SYNC }, { "O_DSYNC", TRACE_O_DSYNC },
		{ "O_DIRECTORY", TRACE_O_DIRECTORY },
	};
	char tmp[256], *tok, *save;

	*flags = 0;
	if (!s || strlen(s) >= sizeof(tmp))
		return jfail(j, "bad open flags");
	strcpy(tmp, s);
	for (tok = strtok_r(tmp, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
		size_t k;
		for (k = 0; k < sizeof(map) / sizeof(map[0]); k++)
			if (!strcmp(map[k].n, tok))
				break;
		if (k == sizeof(map) / sizeof(map[0]))
			return jfail(j, "unknown open flag '%s'", tok);
		*flags |= map[k].f;
	}
	return 0;
}

static int parse_falloc_mode(struct jl *j, const char *s, uint32_t *mode)
{
	char tmp[256], *tok, *save;

	*mode = 0;
	if (!s || strlen(s) >= sizeof(tmp))
		return jfail(j, "bad fallocate mode");
	strcpy(tmp, s);
	for (tok = strtok_r(tmp, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
		if (!strcmp(tok, "0"))
			continue;
		if (!strcmp(tok, "FALLOC_FL_KEEP_SIZE"))
			*mode |= TRACE_FALLOC_KEEP_SIZE;
		else if (!strcmp(tok, "FALLOC_FL_PUNCH_HOLE"))
			*mode |= TRACE_FALLOC_PUNCH_HOLE;
		else if (!strcmp(tok, "FALLOC_FL_ZERO_RANGE"))
			*mode |= TRACE_FALLOC_ZERO_RANGE;
		else
			return jfail(j, "unknown fallocate mode '%s'", tok);
	}
	return 0;
}

static int emit_fallocate(struct jl *j, int fd, uint32_t mode, uint64_t off, uint64_t len)
{
	struct trace_event ev;

	ev_init(&ev, TRACE_FALLOCATE);
	ev.fd = (uint32_t)fd;
	ev.off = off;
	ev.len = len;
	ev.flags = mode;
	ev.fields = TRACE_F_FD | TRACE_F_OFF | TRACE_F_LEN | (mode ? TRACE_F_MODE : 0);
	return emit(j, &ev);
}

/* Run F with X's descriptor, opening X around it if needed (Notes). */
static int with_fd(struct jl *j, struct jname *n, int (*f)(struct jl *, int, const void *),
		   const void *arg)
{
	int rc;

	if (n->fd >= 0)
		return f(j, n->fd, arg);
	fprintf(j->out, "# %s is not open: opened around the call\n", n->path);
	if (emit_open(j, n, n->dir ? TRACE_O_DIRECTORY : TRACE_O_RDONLY))
		return -1;
	rc = f(j, n->fd, arg);
	if (!rc)
		rc = emit_close(j, n);
	return rc;
}

static int do_ftruncate(struct jl *j, int fd, const void *arg)
{
	struct trace_event ev;

	ev_init(&ev, TRACE_FTRUNCATE);
	ev.fd = (uint32_t)fd;
	ev.len = *(const uint64_t *)arg;
	ev.fields = TRACE_F_FD | TRACE_F_LEN;
	return emit(j, &ev);
}

static int do_removexattr(struct jl *j, int fd, const void *arg)
{
	struct trace_event ev;

	(void)arg;
	ev_init(&ev, TRACE_REMOVEXATTR);
	ev.fd = (uint32_t)fd;
	set_str(&ev.name, "user.xattr1");
	ev.fields = TRACE_F_FD | TRACE_F_NAME;
	return emit(j, &ev);
}

/* One operation line, split into words. */
static int op(struct jl *j, char **w, int nw)
{
	struct jname *a, *b;
	struct trace_event ev;
	uint64_t off, len;
	uint32_t flags;
	const char *o = w[0];

#define ARGS(n) do { if (nw != (n) + 1) return jfail(j, "%s takes %d argument%s", o, (n), (n) == 1 ? "" : "s"); } while (0)
	if (!strcmp(o, "open")) {
		ARGS(3);
		if (need(j, w[1], &a) || parse_open_flags(j, w[2], &flags))
			return -1;
		return emit_open(j, a, flags);
	}
	if (!strcmp(o, "opendir")) {
		ARGS(2);
		if (need(j, w[1], &a))
			return -1;
		return emit_open(j, a, TRACE_O_DIRECTORY);
	}
	if (!strcmp(o, "close")) {
		ARGS(1);
		if (need(j, w[1], &a))
			return -1;
		return emit_close(j, a);
	}
	if (!strcmp(o, "write") || !strcmp(o, "dwrite") || !strcmp(o, "mmapwrite")) {
		ARGS(3);
		if (need(j, w[1], &a) || parse_u64(j, w[2], &off) || parse_u64(j, w[3], &len))
			return -1;
		if (a->fd < 0)
			return jfail(j, "%s %s: it is not open", o, a->key);
		if (len > (1u << 30))
			return jfail(j, "%s: length %" PRIu64 " too large", o, len);
		if (o[0] == 'w')
			return write_data(j, a->fd, off, len);
		if (o[0] == 'd') {	/* J4 */
			if (emit_close(j, a) ||
			    emit_open(j, a, TRACE_O_RDWR | TRACE_O_DIRECT | TRACE_O_SYNC) ||
			    emit_pwrite(j, a->fd, off, len, pat_dwrite, 0))
				return -1;
			return emit_close(j, a);
		}
		/* J5 */
		{
			uint64_t base = MAP_BASE + j->nmaps++ * MAP_STRIDE;
			if (off + len > MAP_STRIDE)
				return jfail(j, "mmapwrite: range too large");
			if (emit_fallocate(j, a->fd, 0, off, len))
				return -1;
			ev_init(&ev, TRACE_MMAP);
			ev.fd = (uint32_t)a->fd;
			ev.addr = base;
			ev.len = off + len;
			ev.off = 0;
			ev.flags = TRACE_MAP_SHARED;
			ev.fields = TRACE_F_FD | TRACE_F_ADDR | TRACE_F_LEN | TRACE_F_OFF | TRACE_F_FLAGS;
			if (emit(j, &ev))
				return -1;
			for (uint64_t m = 0; m < len; m += 32) {
				uint64_t n = len - m < 32 ? len - m : 32;
				ev_init(&ev, TRACE_STORE);
				ev.addr = base + off + m;
				ev.len = n;
				ev.data.kind = TRACE_PAYLOAD_HEX;
				ev.data.len = n;
				ev.data.bytes = (const uint8_t *)pat_mmap;
				ev.fields = TRACE_F_ADDR | TRACE_F_LEN | TRACE_F_DATA;
				if (emit(j, &ev))
					return -1;
			}
			ev_init(&ev, TRACE_MSYNC);
			ev.addr = base + off;
			ev.len = 8192;
			ev.flags = TRACE_MS_SYNC;
			ev.fields = TRACE_F_ADDR | TRACE_F_LEN | TRACE_F_FLAGS;
			if (emit(j, &ev))
				return -1;
			ev_init(&ev, TRACE_MUNMAP);
			ev.addr = base;
			ev.len = off + len;
			ev.fields = TRACE_F_ADDR | TRACE_F_LEN;
			return emit(j, &ev);
		}
	}
	if (!strcmp(o, "falloc")) {
		ARGS(4);
		if (need(j, w[1], &a) || parse_falloc_mode(j, w[2], &flags) ||
		    parse_u64(j, w[3], &off) || parse_u64(j, w[4], &len))
			return -1;
		if (a->fd < 0)
			return jfail(j, "falloc %s: it is not open", a->key);
		return emit_fallocate(j, a->fd, flags, off, len);
	}
	if (!strcmp(o, "fsync") || !strcmp(o, "fdatasync")) {
		ARGS(1);
		if (need(j, w[1], &a))
			return -1;
		if (a->fd < 0)
			return jfail(j, "%s %s: it is not open", o, a->key);
		return emit_fd_op(j, o[1] == 's' ? TRACE_FSYNC : TRACE_FDATASYNC, a->fd);
	}
	if (!strcmp(o, "sync")) {
		ARGS(0);
		ev_init(&ev, TRACE_SYNC);
		return emit(j, &ev);
	}
	if (!strcmp(o, "mkdir")) {
		ARGS(2);
		if (need(j, w[1], &a))
			return -1;
		a->dir = true;
		return emit_path_op(j, TRACE_MKDIR, a->path);
	}
	if (!strcmp(o, "rmdir") || !strcmp(o, "unlink") || !strcmp(o, "remove")) {
		ARGS(1);
		if (need(j, w[1], &a))
			return -1;
		if (o[0] == 'r' && o[1] == 'm')
			return emit_path_op(j, TRACE_RMDIR, a->path);
		if (o[0] == 'r' && a->dir)
			return emit_path_op(j, TRACE_RMDIR, a->path);
		return emit_path_op(j, TRACE_UNLINK, a->path);
	}
	if (!strcmp(o, "rename") || !strcmp(o, "link") || !strcmp(o, "symlink")) {
		ARGS(2);
		if (need(j, w[1], &a) || need(j, w[2], &b))
			return -1;
		if (o[0] == 'r')
			b->dir = a->dir;
		return emit_two(j, o[0] == 'r' ? TRACE_RENAME : o[0] == 'l' ? TRACE_LINK :
				TRACE_SYMLINK, a->path, b->path);
	}
	if (!strcmp(o, "truncate")) {
		ARGS(2);
		if (need(j, w[1], &a) || parse_u64(j, w[2], &len))
			return -1;
		return with_fd(j, a, do_ftruncate, &len);
	}
	if (!strcmp(o, "fsetxattr")) {
		ARGS(1);
		if (need(j, w[1], &a))
			return -1;
		if (a->fd < 0)
			return jfail(j, "fsetxattr %s: it is not open", a->key);
		ev_init(&ev, TRACE_SETXATTR);
		ev.fd = (uint32_t)a->fd;
		set_str(&ev.name, "user.xattr1");
		ev.len = 4;
		ev.data.kind = TRACE_PAYLOAD_HEX;
		ev.data.len = 4;
		ev.data.bytes = (const uint8_t *)"val1";
		ev.fields = TRACE_F_FD | TRACE_F_NAME | TRACE_F_LEN | TRACE_F_DATA;
		return emit(j, &ev);
	}
	if (!strcmp(o, "removexattr")) {
		ARGS(1);
		if (need(j, w[1], &a))
			return -1;
		return with_fd(j, a, do_removexattr, NULL);
	}
	if (!strcmp(o, "checkpoint")) {
		char name[64];
		ARGS(1);
		if (parse_u64(j, w[1], &len))
			return -1;
		snprintf(name, sizeof(name), "checkpoint-%" PRIu64, len);
		ev_init(&ev, TRACE_MARK);
		set_str(&ev.name, name);
		ev.fields = TRACE_F_NAME;
		return emit(j, &ev);
	}
	if (!strcmp(o, "none"))
		return 0;
	return jfail(j, "unknown j-lang operation '%s'", o);
#undef ARGS
}

static int define(struct jl *j, const char *spec)
{
	struct jname *n;
	size_t k = 0;

	if (j->nname == MAX_NAMES)
		return jfail(j, "more than %d names in # define", MAX_NAMES);
	if (strlen(spec) >= sizeof(n->key) - 1 || spec[0] == '/' || strstr(spec, ".."))
		return jfail(j, "bad name '%s' in # define", spec);
	n = &j->name[j->nname++];
	memset(n, 0, sizeof(*n));
	n->fd = -1;
	for (const char *p = spec; *p; p++)
		if (*p != '/')
			n->key[k++] = *p;
	n->key[k] = '\0';
	if (!strcmp(spec, "test")) {
		strcpy(n->path, "/");
		n->dir = true;
	} else {
		snprintf(n->path, sizeof(n->path), "/%s", spec);
	}
	return 0;
}

static int convert(FILE *in, const char *name, FILE *out, char *err, size_t errlen)
{
	struct jl *j = calloc(1, sizeof(*j));
	enum { NONE, DEFINE, DECLARE, SETUP, RUN } sec = NONE;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	bool any_run = false;

	if (!j) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	j->file = name;
	j->out = out;
	j->err = err;
	j->errlen = errlen;
	fprintf(out, "# imported from the j-lang workload %s by powercut import jlang\n"
		"version 1\n", name);
	while (!rc && (n = getline(&line, &cap, in)) > 0) {
		char *w[8], *save, *t;
		int nw = 0;
		j->line++;
		if (memchr(line, '\0', (size_t)n)) {
			rc = jfail(j, "NUL byte in line");
			break;
		}
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#') {
			t = line + 1;
			while (*t == ' ')
				t++;
			if (!strcmp(t, "define"))
				sec = DEFINE;
			else if (!strcmp(t, "declare"))
				sec = DECLARE;
			else if (!strcmp(t, "setup"))
				sec = SETUP;
			else if (!strcmp(t, "run"))
				sec = RUN, any_run = true;
			else
				rc = jfail(j, "unknown section '%s'", line);
			continue;
		}
		for (t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
			if (nw == 8) {
				rc = jfail(j, "too many words");
				break;
			}
			w[nw++] = t;
		}
		if (rc || nw == 0)
			continue;
		switch (sec) {
		case NONE:
			rc = jfail(j, "text before the first section");
			break;
		case DEFINE:
			rc = nw == 1 ? define(j, w[0]) : jfail(j, "# define takes one name per line");
			break;
		case DECLARE:
			break;		/* local variables of the C++: nothing to do */
		case SETUP:
		case RUN:
			if (!lookup(j, "test") && j->nname < MAX_NAMES)
				define(j, "test");
			rc = op(j, w, nw);
			break;
		}
	}
	if (!rc && ferror(in))
		rc = jfail(j, "read error: %s", strerror(errno));
	if (!rc && !any_run)
		rc = jfail(j, "no # run section");
	free(line);
	free(j);
	return rc;
}

const struct trace_importer trace_import_jlang = {
	.name = "jlang",
	.help = "CrashMonkey / B3 j-lang workloads (# define, # declare, # setup, # run)",
	.convert = convert,
};
