/*
 * import_strace.c — `strace -f -o FILE` logs of real programs to file
 * traces.
 *
 * The input is strace's default output (man strace, "DESCRIPTION"): one
 * line per system call, `[PID ]NAME(ARGS) = RET[ ERRNO (text)]`, with
 * -f the PID first; a call another thread interrupts is split into
 * `NAME(ARGS <unfinished ...>` and, later, `<... NAME resumed>REST`;
 * `+++ exited with N +++` and `--- SIGNAL {...} ---` lines; strings in
 * double quotes with C escapes, cut after -s N bytes (32 by default) and
 * then followed by `...`; with -xx every byte as \xHH; with -y every
 * descriptor as `N<PATH>`, AT_FDCWD too.  Timestamps (-t, -tt, -ttt, -r)
 * and -T's `<SECONDS>` are skipped.
 *
 * Method.  The log is read three times (from a temporary copy, so a pipe
 * works): pass A finds the working directory, pass B learns which open
 * files matter and which files and directories existed before the
 * program started, pass C writes the trace.
 *
 * Rules:
 *
 *   S1  Order: a call takes effect at the line where it returns (the
 *       `resumed` line of a split call).  Failed calls (RET -1, or `?`)
 *       changed nothing and are skipped.
 *   S2  Paths are made absolute and normal (`.`, `..` and `//` resolved
 *       lexically): relative to the directory descriptor's path, or to the
 *       working directory for AT_FDCWD.  The working directory is what
 *       -y shows for AT_FDCWD, else the first getcwd() result in the log,
 *       else `/`; chdir and fchdir change it per process.
 *   S3  Files that matter: an open is written to the trace only if, while
 *       it stays open, the program writes, truncates, fallocates, syncs,
 *       sets an attribute on, or maps it shared and writable, or if it was
 *       opened with O_CREAT or O_TRUNC.  Opens of /dev, /proc and /sys are
 *       never written.  The trace's descriptor numbers are its own (lowest
 *       free from 3), so the processes of -f and dup()'ed descriptors
 *       share one numbering: dup, dup2, dup3 and fcntl(F_DUPFD) alias a
 *       descriptor, and the trace's close comes with the last alias's.
 *   S4  Setup: before the program's first event, the trace makes the
 *       directories above every path the program names (unless the
 *       program makes them itself) and, empty, the files the program uses
 *       without creating them first, then `sync` and `mark name=start`:
 *       the model starts from a durable namespace like the one the
 *       program found.  What those files held is not in the log.
 *   S5  write and writev become `pwrite` at the offset the importer keeps
 *       (0 at open, moved by read, write and lseek's result); on an
 *       O_APPEND descriptor they stay `write`.  pwrite64, pwritev and
 *       pwritev2 become `pwrite`.  The length is RET, the bytes written.
 *   S6  Data: the bytes strace shows are used; bytes it did not capture
 *       (after -s N, or an iovec array strace abbreviated) are filler: the
 *       payload is `rand:L` (L the line number) with the captured bytes
 *       written over it, so the length is right and the content
 *       deterministic.  Such events say `sym="line L, bytes A-B filler"`;
 *       every event has `sym="line L"`, its line in the log.
 *   S7  Names: open, openat, openat2, creat; rename, renameat, renameat2
 *       (RENAME_NOREPLACE too; RENAME_EXCHANGE is not modelled and gets a
 *       comment); link, linkat; symlink, symlinkat (the target verbatim);
 *       unlink, unlinkat (AT_REMOVEDIR: rmdir); mkdir, mkdirat; rmdir;
 *       truncate (opened around, as `ftruncate`); setxattr, lsetxattr,
 *       fsetxattr, removexattr, lremovexattr, fremovexattr.
 *   S8  Syncs: fsync, fdatasync; sync and syncfs become `sync`;
 *       sync_file_range is not a durability promise and gets a comment.
 *   S9  Mappings: mmap with MAP_SHARED and PROT_WRITE of a file becomes
 *       `mmap` (MAP_SYNC kept); munmap and msync inside such a mapping
 *       follow.  Stores through a mapping are invisible to strace.
 *   S10 A file opened O_DIRECTORY, or whose path the log shows to be a
 *       directory (made by mkdir, or above another path), is opened with
 *       flags=O_DIRECTORY, so fsync of a directory is kept.
 *
 * Notes:
 *   - Errors are "FILE:LINE: what is wrong" for a line that is not
 *     strace output or a call of S5-S9 whose arguments do not parse.
 *     Calls the rules do not name are skipped unread.
 *   - Content and size of files that existed before are unknown (S4):
 *     record programs on fresh files.  O_CREAT on an existing file
 *     truncates nothing in the log, but the model starts it empty.
 *   - Directory descriptors inherited from before the log (attach with
 *     -p) are known only through -y.
 *   - close_range closes every aliased descriptor in its range; CLOEXEC
 *     descriptors stay open across execve (their later close, or the
 *     process's exit, closes them).
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

#define MAX_FD		4096		/* descriptors per process we follow */
#define MAX_ARGS	8
#define MAX_WRITE	(1ull << 30)

struct inst {				/* an open file description */
	int refs;			/* descriptors (all processes) naming it */
	uint64_t line;			/* the line of its open: its identity */
	char *path;
	uint32_t flags;			/* TRACE_O_* */
	bool append, dir;
	bool emit;			/* pass C: written to the trace (S3) */
	int tfd;			/* the trace's descriptor, or -1 */
	uint64_t pos;			/* S5 */
};

struct fdtab {
	int refs;			/* processes sharing it (CLONE_FILES) */
	struct inst *fd[MAX_FD];
};

struct proc {
	long pid;
	struct fdtab *tab;
	char *cwd;
	char *pending;			/* an unfinished call's text */
	uint64_t pending_line;
};

struct map {
	uint64_t addr, len;
};

struct strset {				/* a set of strings, linear (small) */
	char **s;
	size_t n, cap;
};

struct st {
	const char *file;
	uint64_t line;
	char *err;
	size_t errlen;
	FILE *out;
	int pass;			/* 'A', 'B' or 'C' */
	char *cwd0;			/* S2: the first working directory */
	struct proc *procs;
	size_t nprocs, capprocs;
	/* pass B's findings, used by pass C */
	uint8_t *interest;		/* bit per line: the open at this line matters */
	size_t interest_bytes;
	struct strset known;		/* paths the program made or found */
	struct strset made_dirs;	/* directories the program made first */
	struct strset dirs;		/* directories the log shows */
	struct strset pre_files;	/* S4: files used but never created */
	struct strset used;		/* paths of emitted events */
	/* pass C */
	bool tfd_used[MAX_FD];
	struct map *maps;
	size_t nmaps, capmaps;
	uint8_t *buf;
	size_t bufcap;
	uint64_t skipped_failed, events;
};

static int sfail(struct st *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int sfail(struct st *s, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(s->err, s->errlen, "%s:%" PRIu64 ": ", s->file, s->line ? s->line : 1);

	if (n < 0 || (size_t)n >= s->errlen)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(s->err + n, s->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static char *xstrdup(const char *p)
{
	size_t n = strlen(p) + 1;
	char *d = malloc(n);

	if (d)
		memcpy(d, p, n);
	return d;
}

/* ---- small sets ---- */

static bool set_has(const struct strset *set, const char *p)
{
	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(set->s[i], p))
			return true;
	return false;
}

static int set_add(struct st *s, struct strset *set, const char *p)
{
	if (set_has(set, p))
		return 0;
	if (set->n == set->cap) {
		size_t c = set->cap ? 2 * set->cap : 16;
		char **n = realloc(set->s, c * sizeof(*n));
		if (!n)
			return sfail(s, "out of memory");
		set->s = n;
		set->cap = c;
	}
	if (!(set->s[set->n] = xstrdup(p)))
		return sfail(s, "out of memory");
	set->n++;
	return 0;
}

static void set_free(struct strset *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->s[i]);
	free(set->s);
	memset(set, 0, sizeof(*set));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- strace's syntax ---- */

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* End of a quoted string starting at P (on the '"'): the char after the
 * closing quote, or NULL. */
static const char *quoted_end(const char *p)
{
	for (p++; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/*
 * Split ARGS (the text between NAME( and its closing parenthesis) at
 * top-level commas into at most MAX_ARGS trimmed arguments, in place.
 * Returns the count, or -1 if quotes or brackets do not match.
 */
static int split_args(char *args, char **av)
{
	int n = 0, depth = 0;
	char *start = args, *p = args;

	if (!*skip_ws(args))
		return 0;
	for (;; p++) {
		if (*p == '"') {
			const char *e = quoted_end(p);
			if (!e)
				return -1;
			p = (char *)e - 1;
		} else if (*p == '{' || *p == '[' || *p == '(') {
			depth++;
		} else if (*p == '}' || *p == ']' || *p == ')') {
			if (--depth < 0)
				return -1;
		} else if ((*p == ',' && depth == 0) || *p == '\0') {
			bool end = *p == '\0';
			char *e = p;
			*p = '\0';
			start = (char *)skip_ws(start);
			while (e > start && (e[-1] == ' ' || e[-1] == '\t'))
				*--e = '\0';
			if (n < MAX_ARGS)
				av[n] = start;
			n++;
			start = p + 1;
			if (end)
				break;
		}
	}
	if (depth)
		return -1;
	return n < MAX_ARGS ? n : MAX_ARGS;
}

/*
 * Decode the C-escaped string at P (on its opening quote) into OUT (at
 * least strlen(P) bytes).  *LEN gets the byte count, *CUT whether strace
 * cut it (a `...` after the closing quote).  Returns the rest of the text
 * after the string (and its `...`), or NULL if it is not a string.
 */
static const char *decode_str(const char *p, uint8_t *out, size_t *len, bool *cut)
{
	size_t n = 0;

	if (*p != '"')
		return NULL;
	for (p++; *p && *p != '"'; p++) {
		if (*p != '\\') {
			out[n++] = (uint8_t)*p;
			continue;
		}
		p++;
		switch (*p) {
		case 'n': out[n++] = '\n'; break;
		case 't': out[n++] = '\t'; break;
		case 'r': out[n++] = '\r'; break;
		case 'v': out[n++] = '\v'; break;
		case 'f': out[n++] = '\f'; break;
		case 'a': out[n++] = '\a'; break;
		case 'b': out[n++] = '\b'; break;
		case 'e': out[n++] = 0x1b; break;
		case 'x': {
			unsigned v = 0, k = 0;
			while (k < 2 && isxdigit((unsigned char)p[1])) {
				p++;
				v = v * 16 + (unsigned)(isdigit((unsigned char)*p) ? *p - '0' :
							 (tolower((unsigned char)*p) - 'a' + 10));
				k++;
			}
			if (!k)
				return NULL;
			out[n++] = (uint8_t)v;
			break;
		}
		case '0': case '1': case '2': case '3':
		case '4': case '5': case '6': case '7': {
			unsigned v = (unsigned)(*p - '0'), k = 1;
			while (k < 3 && p[1] >= '0' && p[1] <= '7') {
				p++;
				v = v * 8 + (unsigned)(*p - '0');
				k++;
			}
			out[n++] = (uint8_t)v;
			break;
		}
		case '\0':
			return NULL;
		default:		/* \" \\ \' \? and anything else: the char */
			out[n++] = (uint8_t)*p;
			break;
		}
	}
	if (*p != '"')
		return NULL;
	p++;
	*cut = !strncmp(p, "...", 3);
	if (*cut)
		p += 3;
	*len = n;
	return p;
}

/* A string argument as a NUL-terminated string (paths, names); NULL if
 * the argument is not a complete string or holds a NUL. */
static char *arg_str(const char *a)
{
	size_t n;
	bool cut;
	char *o = malloc(strlen(a) + 1);
	const char *rest;

	if (!o)
		return NULL;
	rest = decode_str(a, (uint8_t *)o, &n, &cut);
	if (!rest || cut || *skip_ws(rest) || memchr(o, '\0', n)) {
		free(o);
		return NULL;
	}
	o[n] = '\0';
	return o;
}

static bool parse_u64(const char *a, uint64_t *v)
{
	char *e;

	if (!a || !*a || *a == '-')
		return false;
	errno = 0;
	*v = strtoull(a, &e, 0);
	return !errno && e != a && (*e == '\0' || *e == '<');
}

static bool parse_i64(const char *a, int64_t *v)
{
	char *e;

	if (!a || !*a)
		return false;
	errno = 0;
	*v = strtoll(a, &e, 0);
	return !errno && e != a && (*e == '\0' || *e == '<');
}

/* -y's `<PATH>` after a number, decoded; NULL if absent. */
static char *y_path(const char *a)
{
	const char *lt = strchr(a, '<'), *gt = lt;
	char *q, *o;
	size_t n;
	bool cut;

	/* the '>' that ends the annotation: followed by the end of the
	 * argument or of the line */
	while (gt && (gt = strchr(gt + 1, '>')) && !strchr(",) ]\n", gt[1]))
		;
	if (!lt || !gt || gt < lt + 2)
		return NULL;
	/* re-quote the inside so decode_str handles -xx escapes */
	q = malloc((size_t)(gt - lt) + 2);
	o = malloc((size_t)(gt - lt) + 2);
	if (!q || !o) {
		free(q);
		free(o);
		return NULL;
	}
	q[0] = '"';
	memcpy(q + 1, lt + 1, (size_t)(gt - lt - 1));
	q[gt - lt] = '"';
	q[gt - lt + 1] = '\0';
	if (!decode_str(q, (uint8_t *)o, &n, &cut) || memchr(o, '\0', n) || o[0] != '/') {
		free(q);
		free(o);
		return NULL;
	}
	o[n] = '\0';
	free(q);
	return o;
}

static bool has_flag(const char *a, const char *flag)
{
	size_t k = strlen(flag);

	for (const char *p = a; (p = strstr(p, flag)); p += k)
		if ((p == a || p[-1] == '|' || p[-1] == ' ' || p[-1] == '{' || p[-1] == '=') &&
		    (p[k] == '\0' || p[k] == '|' || p[k] == ',' || p[k] == '}'))
			return true;
	return false;
}

/* ---- paths (S2) ---- */

/* Normalize P (absolute) in place: no ".", "..", "//", no trailing '/'. */
static void normalize(char *p)
{
	char *w = p, *r = p;

	while (*r) {
		while (*r == '/')
			r++;
		if (!*r)
			break;
		char *seg = r;
		while (*r && *r != '/')
			r++;
		size_t n = (size_t)(r - seg);
		if (n == 1 && seg[0] == '.')
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			while (w > p && *--w != '/')
				;
			continue;
		}
		*w++ = '/';
		memmove(w, seg, n);
		w += n;
	}
	if (w == p)
		*w++ = '/';
	*w = '\0';
}

static char *join(const char *dir, const char *rel)
{
	size_t a = strlen(dir), b = strlen(rel);
	char *o = malloc(a + b + 2);

	if (!o)
		return NULL;
	memcpy(o, dir, a);
	o[a] = '/';
	memcpy(o + a + 1, rel, b + 1);
	normalize(o);
	return o;
}

static bool ignored_path(const char *p)
{
	return !strncmp(p, "/dev/", 5) || !strcmp(p, "/dev") || !strncmp(p, "/proc/", 6) ||
	       !strcmp(p, "/proc") || !strncmp(p, "/sys/", 5) || !strcmp(p, "/sys");
}

/* ---- processes and descriptors ---- */

static struct proc *proc_get(struct st *s, long pid)
{
	struct proc *p;

	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i].pid == pid)
			return &s->procs[i];
	if (s->nprocs == s->capprocs) {
		size_t c = s->capprocs ? 2 * s->capprocs : 16;
		struct proc *n = realloc(s->procs, c * sizeof(*n));
		if (!n)
			return NULL;
		s->procs = n;
		s->capprocs = c;
	}
	p = &s->procs[s->nprocs];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	if (!(p->tab = calloc(1, sizeof(*p->tab))) || !(p->cwd = xstrdup(s->cwd0))) {
		free(p->tab);
		return NULL;
	}
	p->tab->refs = 1;
	s->nprocs++;
	return p;
}

static void inst_put(struct st *s, struct inst *in);

static void tab_put(struct st *s, struct fdtab *t)
{
	if (--t->refs > 0)
		return;
	for (int fd = 0; fd < MAX_FD; fd++)
		if (t->fd[fd])
			inst_put(s, t->fd[fd]);
	free(t);
}

static void ev_init(struct trace_event *ev, enum trace_op op)
{
	memset(ev, 0, offsetof(struct trace_event, kv));
	ev->op = op;
}

static void set_s(struct trace_str *t, const char *v)
{
	t->s = v;
	t->len = strlen(v);
}

static char symbuf[160];

/* Write EV with sym="line N" (S6); pass C only. */
static int emit(struct st *s, struct trace_event *ev)
{
	if (!(ev->fields & TRACE_F_SYM)) {
		snprintf(symbuf, sizeof(symbuf), "line %" PRIu64, s->line);
		set_s(&ev->sym, symbuf);
		ev->fields |= TRACE_F_SYM;
	}
	s->events++;
	if (trace_write_event(s->out, ev))
		return sfail(s, "write error: %s", strerror(errno));
	return 0;
}

static int emit_fd(struct st *s, enum trace_op op, int tfd)
{
	struct trace_event ev;

	ev_init(&ev, op);
	ev.fd = (uint32_t)tfd;
	ev.fields = TRACE_F_FD;
	return emit(s, &ev);
}

static void inst_put(struct st *s, struct inst *in)
{
	if (--in->refs > 0)
		return;
	if (s->pass == 'C' && in->tfd >= 0) {
		emit_fd(s, TRACE_CLOSE, in->tfd);
		s->tfd_used[in->tfd] = false;
	}
	free(in->path);
	free(in);
}

static int alloc_tfd(struct st *s)
{
	for (int fd = 3; fd < MAX_FD; fd++)
		if (!s->tfd_used[fd]) {
			s->tfd_used[fd] = true;
			return fd;
		}
	return -1;
}

static bool interesting(const struct st *s, uint64_t line)
{
	return line / 8 < s->interest_bytes && (s->interest[line / 8] >> (line % 8) & 1);
}

/* Every directory above PATH is a directory (S10). */
static int add_ancestors(struct st *s, const char *path)
{
	char *c = xstrdup(path), *slash;
	int rc = 0;

	if (!c)
		return sfail(s, "out of memory");
	while (!rc && (slash = strrchr(c, '/')) && slash != c) {
		*slash = '\0';
		rc = set_add(s, &s->dirs, c);
	}
	free(c);
	return rc;
}

/* S3: pass B marks the instance's open line. */
static int mark_interest(struct st *s, struct inst *in)
{
	if (s->pass != 'B' || !in)
		return 0;
	if (in->line / 8 >= s->interest_bytes) {
		size_t n = s->interest_bytes ? s->interest_bytes : 4096;
		while (n <= in->line / 8)
			n *= 2;
		uint8_t *b = realloc(s->interest, n);
		if (!b)
			return sfail(s, "out of memory");
		memset(b + s->interest_bytes, 0, n - s->interest_bytes);
		s->interest = b;
		s->interest_bytes = n;
	}
	s->interest[in->line / 8] |= (uint8_t)(1u << (in->line % 8));
	if (set_add(s, &s->used, in->path) || add_ancestors(s, in->path))
		return -1;
	if (!set_has(&s->known, in->path) && !in->dir && set_add(s, &s->pre_files, in->path))
		return -1;
	return set_add(s, &s->known, in->path);
}

static struct inst *fd_inst(struct proc *p, int64_t fd)
{
	return fd >= 0 && fd < MAX_FD ? p->tab->fd[fd] : NULL;
}

/* An fd argument: its number, or -1 if not a number (AT_FDCWD). */
static int64_t arg_fd(const char *a)
{
	int64_t v;

	if (!a || !parse_i64(a, &v))
		return -1;
	return v;
}

/*
 * The absolute path of (DIRARG, PATHARG) for process P (S2), or NULL with
 * *bad set if PATHARG is not a string.  DIRARG NULL means AT_FDCWD.
 */
static char *resolve(struct proc *p, const char *dirarg, const char *patharg, bool *bad)
{
	char *rel = arg_str(patharg), *out = NULL, *yp = NULL;
	const char *base;
	struct inst *d;

	*bad = !rel;
	if (!rel)
		return NULL;
	if (rel[0] == '/') {
		normalize(rel);
		return rel;
	}
	base = p->cwd;
	if (dirarg && (yp = y_path(dirarg)))
		base = yp;
	else if (dirarg && strncmp(dirarg, "AT_FDCWD", 8) && (d = fd_inst(p, arg_fd(dirarg))))
		base = d->path;
	out = join(base, rel);
	free(rel);
	free(yp);
	return out;
}

/* ---- the calls ---- */

static uint32_t open_flags(const char *a)
{
	static const struct { const char *n; uint32_t f; } map[] = {
		{ "O_RDONLY", TRACE_O_RDONLY }, { "O_WRONLY", TRACE_O_WRONLY },
		{ "O_RDWR", TRACE_O_RDWR }, { "O_CREAT", TRACE_O_CREAT },
		{ "O_EXCL", TRACE_O_EXCL }, { "O_TRUNC", TRACE_O_TRUNC },
		{ "O_APPEND", TRACE_O_APPEND }, { "O_DIRECT", TRACE_O_DIRECT },
		{ "O_SYNC", TRACE_O_SYNC }, { "O_DSYNC", TRACE_O_DSYNC },
		{ "O_DIRECTORY", TRACE_O_DIRECTORY },
	};
	uint32_t f = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (has_flag(a, map[i].n))
			f |= map[i].f;
	if (!(f & (TRACE_O_WRONLY | TRACE_O_RDWR)))
		f |= TRACE_O_RDONLY;
	return f;
}

static bool is_dir(const struct st *s, const struct inst *in)
{
	return in->dir || set_has(&s->dirs, in->path);
}

/* The trace's open for IN, made on first need in pass C. */
static int ensure_open(struct st *s, struct inst *in)
{
	struct trace_event ev;

	if (s->pass != 'C' || in->tfd >= 0 || !in->emit)
		return 0;
	if ((in->tfd = alloc_tfd(s)) < 0)
		return sfail(s, "more than %d files open at once", MAX_FD - 3);
	ev_init(&ev, TRACE_OPEN);
	ev.fd = (uint32_t)in->tfd;
	set_s(&ev.path, in->path);
	ev.flags = in->flags | (is_dir(s, in) ? TRACE_O_DIRECTORY : 0);
	if (ev.flags & TRACE_O_DIRECTORY)
		ev.flags &= ~(uint32_t)(TRACE_O_CREAT | TRACE_O_TRUNC);
	ev.fields = TRACE_F_FD | TRACE_F_PATH | TRACE_F_FLAGS;
	return emit(s, &ev);
}

/* The program's descriptor FD now names IN (one more reference). */
/* FD of P now refers to IN (NULL: closed).  A followed file on a
 * descriptor past MAX_FD is an error, not silently dropped.  0 or -1. */
static int fd_assign(struct st *s, struct proc *p, int64_t fd, struct inst *in)
{
	if (fd < 0 || fd >= MAX_FD) {
		if (in && fd >= MAX_FD)
			return sfail(s, "descriptor %" PRId64 " is beyond the %d per process "
				     "this importer follows", fd, MAX_FD);
		return 0;
	}
	if (p->tab->fd[fd])
		inst_put(s, p->tab->fd[fd]);
	p->tab->fd[fd] = in;
	if (in)
		in->refs++;
	return 0;
}

static int do_open(struct st *s, struct proc *p, const char *dirarg, const char *patharg,
		   uint32_t flags, int64_t ret, const char *retarg)
{
	bool bad;
	char *path = resolve(p, dirarg, patharg, &bad), *yp;
	struct inst *in;

	if (bad)
		return sfail(s, "expected a path string, not '%.40s'", patharg);
	if (!path)
		return sfail(s, "out of memory");
	if ((yp = y_path(retarg)) && yp[0] == '/') {	/* -y knows better (symlinks) */
		free(path);
		path = yp;
	} else {
		free(yp);
	}
	if (ignored_path(path)) {
		free(path);
		return fd_assign(s, p, ret, NULL);
	}
	if (!(in = calloc(1, sizeof(*in)))) {
		free(path);
		return sfail(s, "out of memory");
	}
	in->line = s->line;
	in->path = path;
	in->flags = flags;
	in->append = flags & TRACE_O_APPEND;
	in->dir = flags & TRACE_O_DIRECTORY;
	in->tfd = -1;
	if (fd_assign(s, p, ret, in)) {
		free(in->path);
		free(in);
		return -1;
	}
	if (s->pass == 'B') {
		if ((flags & (TRACE_O_CREAT | TRACE_O_TRUNC)) && !in->dir) {
			bool existed = set_has(&s->known, path);
			if (mark_interest(s, in))
				return -1;
			if (!existed && (flags & TRACE_O_CREAT)) {
				/* made here, not found: not a pre-existing file */
				for (size_t i = 0; i < s->pre_files.n; i++)
					if (!strcmp(s->pre_files.s[i], path)) {
						free(s->pre_files.s[i]);
						s->pre_files.s[i] = s->pre_files.s[--s->pre_files.n];
						break;
					}
			}
		}
	} else if (s->pass == 'C') {
		in->emit = interesting(s, in->line);
		return ensure_open(s, in);
	}
	return 0;
}

/* S6: the payload of a write of N bytes: *known bytes were captured. */
static int want_buf(struct st *s, size_t n)
{
	if (n <= s->bufcap)
		return 0;
	uint8_t *b = realloc(s->buf, n);
	if (!b)
		return sfail(s, "out of memory for a %zu-byte write", n);
	s->buf = b;
	s->bufcap = n;
	return 0;
}

static void fill_rand(uint8_t *b, uint64_t from, uint64_t to, uint64_t seed)
{
	uint64_t z = 0;

	/* byte k of rand:SEED is byte k%8 of output k/8 (trace-format.md) */
	for (uint64_t k = from; k < to; k++) {
		if (k == from || k % 8 == 0) {
			uint64_t x = seed + (k / 8) * 0x9e3779b97f4a7c15ULL;
			z = trace_splitmix64(&x);
		}
		b[k] = (uint8_t)(z >> (8 * (k % 8)));
	}
}

/* Emit write/pwrite of LEN bytes, the first KNOWN of which are in s->buf
 * (the rest filler, S6). */
static int emit_write(struct st *s, struct inst *in, bool positioned, uint64_t off, uint64_t len,
		      uint64_t known)
{
	struct trace_event ev;
	char sym[160];

	if (!len)
		return 0;
	if (ensure_open(s, in))
		return -1;
	ev_init(&ev, positioned ? TRACE_PWRITE : TRACE_WRITE);
	ev.fd = (uint32_t)in->tfd;
	ev.len = len;
	ev.data.len = len;
	ev.fields = TRACE_F_FD | TRACE_F_LEN | TRACE_F_DATA;
	if (positioned) {
		ev.off = off;
		ev.fields |= TRACE_F_OFF;
	}
	if (known >= len) {
		ev.data.kind = TRACE_PAYLOAD_HEX;
		ev.data.bytes = s->buf;
	} else {
		snprintf(sym, sizeof(sym), "line %" PRIu64 ", bytes %" PRIu64 "-%" PRIu64 " filler",
			 s->line, known, len - 1);
		set_s(&ev.sym, sym);
		ev.fields |= TRACE_F_SYM;
		if (!known) {
			ev.data.kind = TRACE_PAYLOAD_RAND;
			ev.data.arg = s->line;
		} else {
			fill_rand(s->buf, known, len, s->line);
			ev.data.kind = TRACE_PAYLOAD_HEX;
			ev.data.bytes = s->buf;
		}
	}
	return emit(s, &ev);
}

/* The bytes of a plain buffer argument: decoded into s->buf (capacity for
 * LEN), returns the number known. */
static int buf_arg(struct st *s, const char *a, uint64_t len, uint64_t *known)
{
	size_t n = 0;
	bool cut;

	*known = 0;
	if (want_buf(s, (size_t)len > strlen(a) ? (size_t)len : strlen(a) + 1))
		return -1;
	if (a[0] != '"')
		return 0;			/* not shown (an address): all filler */
	if (!decode_str(a, s->buf, &n, &cut))
		return sfail(s, "bad string argument '%.40s'", a);
	*known = n < len ? n : len;
	return 0;
}

/* An iovec array: [{iov_base="...", iov_len=N}, ...]; fills s->buf.  */
static int iov_arg(struct st *s, const char *a, uint64_t len, uint64_t *known)
{
	uint64_t at = 0, kn = 0;
	bool contiguous = true;
	const char *p = a;
	uint8_t *tmp;

	*known = 0;
	if (*p != '[')
		return 0;
	if (want_buf(s, (size_t)len + 1) || !(tmp = malloc(strlen(a) + 1)))
		return sfail(s, "out of memory");
	p++;
	while (*(p = skip_ws(p)) == '{') {
		const char *b = strstr(p, "iov_base="), *l = strstr(p, "iov_len=");
		uint64_t ilen;
		size_t n = 0;
		bool cut = false;
		if (!b || !l) {
			free(tmp);
			return sfail(s, "bad iovec '%.40s'", p);
		}
		ilen = strtoull(l + 8, NULL, 0);
		if (b[9] == '"') {
			const char *e = decode_str(b + 9, tmp, &n, &cut);
			if (!e) {
				free(tmp);
				return sfail(s, "bad iov_base string");
			}
		}
		if (at < len) {
			uint64_t k = n < ilen ? n : ilen;
			if (k > len - at)
				k = len - at;
			memcpy(s->buf + at, tmp, (size_t)k);
			if (contiguous)
				kn = at + k;
			if (k < ilen)
				contiguous = false;
			else if (contiguous)
				kn = at + ilen;
		}
		at += ilen;
		/* past this element */
		const char *close = p;
		int depth = 0;
		for (; *close; close++) {
			if (*close == '"') {
				const char *e = quoted_end(close);
				if (!e)
					break;
				close = e - 1;
			} else if (*close == '{') {
				depth++;
			} else if (*close == '}' && --depth == 0) {
				break;
			}
		}
		if (!*close) {
			free(tmp);
			return sfail(s, "unterminated iovec");
		}
		p = skip_ws(close + 1);
		if (*p == ',')
			p++;
	}
	free(tmp);
	*known = kn < len ? kn : len;
	return 0;
}

static int do_write(struct st *s, struct proc *p, const char *name, char **av, int ac, int64_t ret)
{
	struct inst *in = fd_inst(p, arg_fd(av[0]));
	bool vec = strstr(name, "writev") != NULL, positioned = name[0] == 'p';
	uint64_t known = 0, off = 0;
	int64_t o;

	if (ac < 3)
		return sfail(s, "%s takes at least 3 arguments", name);
	if (!in)
		return 0;
	if (ret > 0 && (uint64_t)ret > MAX_WRITE)
		return sfail(s, "a write of %" PRId64 " bytes (more than 1 GiB)", ret);
	if (positioned) {
		if (ac < 4 || !parse_i64(av[3], &o))
			return sfail(s, "%s: bad offset", name);
		if (o < 0)			/* pwritev2 with -1: the file offset */
			positioned = false;
		else
			off = (uint64_t)o;
	}
	if (s->pass == 'B')
		return mark_interest(s, in);
	if (s->pass != 'C' || !in->emit)
		return 0;
	if (vec ? iov_arg(s, av[1], (uint64_t)ret, &known) :
		  buf_arg(s, av[1], (uint64_t)ret, &known))
		return -1;
	if (!positioned && !in->append) {	/* S5 */
		off = in->pos;
		in->pos += (uint64_t)ret;
		positioned = true;
	}
	return emit_write(s, in, positioned, off, (uint64_t)ret, known);
}

static int emit_two(struct st *s, enum trace_op op, const char *from, const char *to)
{
	struct trace_event ev;

	ev_init(&ev, op);
	set_s(&ev.from, from);
	set_s(&ev.to, to);
	ev.fields = TRACE_F_FROM | TRACE_F_TO;
	return emit(s, &ev);
}

static int emit_path(struct st *s, enum trace_op op, const char *path)
{
	struct trace_event ev;

	ev_init(&ev, op);
	set_s(&ev.path, path);
	ev.fields = TRACE_F_PATH;
	return emit(s, &ev);
}

/* A namespace path used by pass B: the ancestors are directories; a path
 * first seen as a source (SOURCE) existed before (S4). */
static int note_path(struct st *s, const char *path, bool source)
{
	if (s->pass != 'B')
		return 0;
	if (set_add(s, &s->used, path) || add_ancestors(s, path))
		return -1;
	if (source && !set_has(&s->known, path) && !set_has(&s->dirs, path) &&
	    set_add(s, &s->pre_files, path))
		return -1;
	return set_add(s, &s->known, path);
}

/* Open PATH around OP (truncate, setxattr on a path): pass C emits
 * open/OP/close with a temporary descriptor. */
static int with_path_fd(struct st *s, const char *path, uint32_t flags, int *tfd)
{
	struct trace_event ev;

	if ((*tfd = alloc_tfd(s)) < 0)
		return sfail(s, "too many files open");
	ev_init(&ev, TRACE_OPEN);
	ev.fd = (uint32_t)*tfd;
	set_s(&ev.path, path);
	ev.flags = flags;
	ev.fields = TRACE_F_FD | TRACE_F_PATH | TRACE_F_FLAGS;
	return emit(s, &ev);
}

static int close_tfd(struct st *s, int tfd)
{
	s->tfd_used[tfd] = false;
	return emit_fd(s, TRACE_CLOSE, tfd);
}

static int do_xattr(struct st *s, struct inst *in, const char *path, bool remove, char **av, int ac,
		    int first)
{
	struct trace_event ev;
	char *name = arg_str(av[first]);
	uint64_t size = 0, known = 0;
	int tfd = -1, rc = 0;

	if (!name || !*name) {
		free(name);
		return sfail(s, "expected an attribute name, not '%.40s'", av[first]);
	}
	if (!remove && (ac < first + 3 || !parse_u64(av[first + 2], &size))) {
		free(name);
		return sfail(s, "bad xattr value size");
	}
	if (s->pass == 'B') {
		rc = in ? mark_interest(s, in) : note_path(s, path, true);
		free(name);
		return rc;
	}
	if (s->pass != 'C' || (in && !in->emit)) {
		free(name);
		return 0;
	}
	if (!remove && (rc = buf_arg(s, av[first + 1], size, &known)))
		goto out;
	if (in) {
		if ((rc = ensure_open(s, in)))
			goto out;
		tfd = in->tfd;
	} else if ((rc = with_path_fd(s, path, TRACE_O_RDONLY, &tfd))) {
		goto out;
	}
	ev_init(&ev, remove ? TRACE_REMOVEXATTR : TRACE_SETXATTR);
	ev.fd = (uint32_t)tfd;
	set_s(&ev.name, name);
	ev.fields = TRACE_F_FD | TRACE_F_NAME;
	if (!remove) {
		if (known < size)
			fill_rand(s->buf, known, size, s->line);
		ev.len = size;
		ev.data.kind = TRACE_PAYLOAD_HEX;
		ev.data.len = size;
		ev.data.bytes = s->buf;
		ev.fields |= TRACE_F_LEN | TRACE_F_DATA;
	}
	rc = emit(s, &ev);
	if (!rc && !in)
		rc = close_tfd(s, tfd);
out:
	free(name);
	return rc;
}

static struct map *find_map(struct st *s, uint64_t addr)
{
	for (size_t i = 0; i < s->nmaps; i++)
		if (addr >= s->maps[i].addr && addr - s->maps[i].addr < s->maps[i].len)
			return &s->maps[i];
	return NULL;
}

/* One complete call: NAME, its arguments, its result. */
static int call(struct st *s, struct proc *p, const char *name, char **av, int ac, int64_t ret,
		const char *retarg)
{
	struct trace_event ev;
	struct inst *in;
	bool bad;
	char *a = NULL, *b = NULL;
	int rc = 0;
	uint64_t u, v;

#define NEED(n) do { if (ac < (n)) return sfail(s, "%s takes %d arguments", name, (n)); } while (0)
	if (!strcmp(name, "open") || !strcmp(name, "creat")) {
		NEED(2);
		return do_open(s, p, NULL, av[0], name[0] == 'c' ?
			       TRACE_O_CREAT | TRACE_O_WRONLY | TRACE_O_TRUNC : open_flags(av[1]),
			       ret, retarg);
	}
	if (!strcmp(name, "openat") || !strcmp(name, "openat2")) {
		NEED(3);
		return do_open(s, p, av[0], av[1], open_flags(av[2]), ret, retarg);
	}
	if (!strcmp(name, "close")) {
		NEED(1);
		return fd_assign(s, p, arg_fd(av[0]), NULL);
	}
	if (!strcmp(name, "close_range")) {
		NEED(2);
		if (!parse_u64(av[0], &u) || !parse_u64(av[1], &v))
			return 0;
		for (uint64_t fd = u; fd <= v && fd < MAX_FD; fd++)
			(void)fd_assign(s, p, (int64_t)fd, NULL);
		return 0;
	}
	if (!strcmp(name, "dup") || !strcmp(name, "dup2") || !strcmp(name, "dup3")) {
		NEED(1);
		return fd_assign(s, p, ret, fd_inst(p, arg_fd(av[0])));
	}
	if (!strcmp(name, "fcntl") || !strcmp(name, "fcntl64")) {
		NEED(2);
		if (!strncmp(av[1], "F_DUPFD", 7))
			return fd_assign(s, p, ret, fd_inst(p, arg_fd(av[0])));
		return 0;
	}
	if (!strcmp(name, "write") || !strcmp(name, "pwrite64") || !strcmp(name, "pwrite") ||
	    !strcmp(name, "writev") || !strcmp(name, "pwritev") || !strcmp(name, "pwritev2")) {
		NEED(3);
		return do_write(s, p, name, av, ac, ret);
	}
	if (!strcmp(name, "read") || !strcmp(name, "readv")) {
		NEED(1);
		if ((in = fd_inst(p, arg_fd(av[0]))))
			in->pos += (uint64_t)ret;
		return 0;
	}
	if (!strcmp(name, "lseek")) {
		NEED(1);
		if ((in = fd_inst(p, arg_fd(av[0]))))
			in->pos = (uint64_t)ret;
		return 0;
	}
	if (!strcmp(name, "fsync") || !strcmp(name, "fdatasync") || !strcmp(name, "ftruncate") ||
	    !strcmp(name, "fallocate") || !strcmp(name, "syncfs")) {
		NEED(1);
		in = fd_inst(p, arg_fd(av[0]));
		if (name[0] == 's' && name[1] == 'y') {		/* syncfs: S8 */
			if (s->pass != 'C')
				return 0;
			ev_init(&ev, TRACE_SYNC);
			return emit(s, &ev);
		}
		if (!in)
			return 0;
		if (s->pass == 'B')
			return mark_interest(s, in);
		if (s->pass != 'C' || !in->emit)
			return 0;
		if (ensure_open(s, in))
			return -1;
		if (name[1] == 's' || name[1] == 'd')
			return emit_fd(s, name[1] == 's' ? TRACE_FSYNC : TRACE_FDATASYNC, in->tfd);
		ev_init(&ev, name[1] == 't' ? TRACE_FTRUNCATE : TRACE_FALLOCATE);
		ev.fd = (uint32_t)in->tfd;
		ev.fields = TRACE_F_FD | TRACE_F_LEN;
		if (name[1] == 't') {
			NEED(2);
			if (!parse_u64(av[1], &ev.len))
				return sfail(s, "ftruncate: bad length '%.40s'", av[1]);
		} else {
			NEED(4);
			if (!parse_u64(av[2], &ev.off) || !parse_u64(av[3], &ev.len))
				return sfail(s, "fallocate: bad offset or length");
			ev.fields |= TRACE_F_OFF;
			if (has_flag(av[1], "FALLOC_FL_KEEP_SIZE"))
				ev.flags |= TRACE_FALLOC_KEEP_SIZE;
			if (has_flag(av[1], "FALLOC_FL_PUNCH_HOLE"))
				ev.flags |= TRACE_FALLOC_PUNCH_HOLE;
			if (has_flag(av[1], "FALLOC_FL_ZERO_RANGE"))
				ev.flags |= TRACE_FALLOC_ZERO_RANGE;
			if (ev.flags)
				ev.fields |= TRACE_F_MODE;
			if (!ev.len)
				return 0;
		}
		return emit(s, &ev);
	}
	if (!strcmp(name, "sync")) {
		if (s->pass != 'C')
			return 0;
		ev_init(&ev, TRACE_SYNC);
		return emit(s, &ev);
	}
	if (!strcmp(name, "sync_file_range") || !strcmp(name, "sync_file_range2")) {
		if (s->pass == 'C')
			fprintf(s->out, "# line %" PRIu64 ": %s is not a durability promise: not "
				"modelled (rule S8)\n", s->line, name);
		return 0;
	}
	if (!strcmp(name, "truncate")) {
		int tfd;
		NEED(2);
		if (!(a = resolve(p, NULL, av[0], &bad)))
			return bad ? sfail(s, "truncate: bad path") : sfail(s, "out of memory");
		if (ignored_path(a) || !parse_u64(av[1], &u))
			goto out;
		if (s->pass == 'B')
			rc = note_path(s, a, true);
		else if (s->pass == 'C' && !(rc = with_path_fd(s, a, TRACE_O_WRONLY, &tfd))) {
			ev_init(&ev, TRACE_FTRUNCATE);
			ev.fd = (uint32_t)tfd;
			ev.len = u;
			ev.fields = TRACE_F_FD | TRACE_F_LEN;
			if (!(rc = emit(s, &ev)))
				rc = close_tfd(s, tfd);
		}
		goto out;
	}
	if (!strcmp(name, "rename") || !strcmp(name, "renameat") || !strcmp(name, "renameat2") ||
	    !strcmp(name, "link") || !strcmp(name, "linkat")) {
		bool at = strstr(name, "at") != NULL;
		NEED(at ? 4 : 2);
		a = resolve(p, at ? av[0] : NULL, av[at ? 1 : 0], &bad);
		if (!bad)
			b = resolve(p, at ? av[2] : NULL, av[at ? 3 : 1], &bad);
		if (bad || !a || !b) {
			rc = bad ? sfail(s, "%s: expected path strings", name) : sfail(s, "out of memory");
			goto out;
		}
		if (ignored_path(a) || ignored_path(b))
			goto out;
		if (!strcmp(name, "renameat2") && ac > 4 && has_flag(av[4], "RENAME_EXCHANGE")) {
			if (s->pass == 'C')
				fprintf(s->out, "# line %" PRIu64 ": renameat2 RENAME_EXCHANGE of %s "
					"and %s is not modelled (rule S7)\n", s->line, a, b);
			goto out;
		}
		if (s->pass == 'B') {
			if (!(rc = note_path(s, a, true)))
				rc = note_path(s, b, false);
			if (!rc && set_has(&s->dirs, a))
				rc = set_add(s, &s->dirs, b);
		} else if (s->pass == 'C') {
			rc = emit_two(s, name[0] == 'r' ? TRACE_RENAME : TRACE_LINK, a, b);
		}
		goto out;
	}
	if (!strcmp(name, "symlink") || !strcmp(name, "symlinkat")) {
		bool at = name[7] == 'a';
		NEED(at ? 3 : 2);
		a = arg_str(av[0]);
		b = resolve(p, at ? av[1] : NULL, av[at ? 2 : 1], &bad);
		if (!a || !*a || bad || !b) {
			rc = sfail(s, "%s: expected path strings", name);
			goto out;
		}
		if (ignored_path(b))
			goto out;
		if (s->pass == 'B')
			rc = note_path(s, b, false);
		else if (s->pass == 'C')
			rc = emit_two(s, TRACE_SYMLINK, a, b);
		goto out;
	}
	if (!strcmp(name, "unlink") || !strcmp(name, "unlinkat") || !strcmp(name, "rmdir") ||
	    !strcmp(name, "mkdir") || !strcmp(name, "mkdirat")) {
		bool at = strstr(name, "at") != NULL;
		bool rmdir = name[0] == 'r' || (at && name[0] == 'u' && ac > 2 &&
						has_flag(av[2], "AT_REMOVEDIR"));
		NEED(at ? 2 : 1);
		a = resolve(p, at ? av[0] : NULL, av[at ? 1 : 0], &bad);
		if (bad || !a) {
			rc = bad ? sfail(s, "%s: expected a path string", name) : sfail(s, "out of memory");
			goto out;
		}
		if (ignored_path(a))
			goto out;
		if (s->pass == 'B') {
			if (name[0] == 'm') {
				if (!set_has(&s->known, a) && (rc = set_add(s, &s->made_dirs, a)))
					goto out;
				if ((rc = set_add(s, &s->dirs, a)))
					goto out;
				rc = note_path(s, a, false);
			} else {
				if (rmdir && (rc = set_add(s, &s->dirs, a)))
					goto out;
				rc = note_path(s, a, true);
			}
		} else if (s->pass == 'C') {
			rc = emit_path(s, name[0] == 'm' ? TRACE_MKDIR : rmdir ? TRACE_RMDIR :
				       TRACE_UNLINK, a);
		}
		goto out;
	}
	if (!strcmp(name, "fsetxattr") || !strcmp(name, "fremovexattr")) {
		NEED(2);
		in = fd_inst(p, arg_fd(av[0]));
		if (!in)
			return 0;
		return do_xattr(s, in, NULL, name[1] == 'r', av, ac, 1);
	}
	if (!strcmp(name, "setxattr") || !strcmp(name, "lsetxattr") ||
	    !strcmp(name, "removexattr") || !strcmp(name, "lremovexattr")) {
		NEED(2);
		if (!(a = resolve(p, NULL, av[0], &bad))) {
			rc = bad ? sfail(s, "%s: expected a path string", name) : sfail(s, "out of memory");
			goto out;
		}
		if (!ignored_path(a))
			rc = do_xattr(s, NULL, a, strstr(name, "remove") != NULL, av, ac, 1);
		goto out;
	}
	if (!strcmp(name, "mmap") || !strcmp(name, "mmap2")) {
		NEED(6);
		in = fd_inst(p, arg_fd(av[4]));
		if (!in || !(has_flag(av[3], "MAP_SHARED") || has_flag(av[3], "MAP_SHARED_VALIDATE")) ||
		    !has_flag(av[2], "PROT_WRITE") || !parse_u64(av[1], &u) || !u ||
		    !parse_u64(av[5], &v))
			return 0;
		if (s->pass == 'B')
			return mark_interest(s, in);
		if (s->pass != 'C' || !in->emit)
			return 0;
		if (ensure_open(s, in))
			return -1;
		if (s->nmaps == s->capmaps) {
			size_t c = s->capmaps ? 2 * s->capmaps : 8;
			struct map *m = realloc(s->maps, c * sizeof(*m));
			if (!m)
				return sfail(s, "out of memory");
			s->maps = m;
			s->capmaps = c;
		}
		s->maps[s->nmaps].addr = (uint64_t)ret;
		s->maps[s->nmaps].len = u;
		s->nmaps++;
		ev_init(&ev, TRACE_MMAP);
		ev.fd = (uint32_t)in->tfd;
		ev.addr = (uint64_t)ret;
		ev.len = u;
		ev.off = v;
		ev.flags = TRACE_MAP_SHARED | (has_flag(av[3], "MAP_SYNC") ? TRACE_MAP_SYNC : 0u);
		ev.fields = TRACE_F_FD | TRACE_F_ADDR | TRACE_F_LEN | TRACE_F_OFF | TRACE_F_FLAGS;
		return emit(s, &ev);
	}
	if (!strcmp(name, "munmap") || !strcmp(name, "msync")) {
		struct map *m;
		NEED(2);
		if (s->pass != 'C' || !parse_u64(av[0], &u) || !parse_u64(av[1], &v) || !v ||
		    !(m = find_map(s, u)))
			return 0;
		ev_init(&ev, name[1] == 'u' ? TRACE_MUNMAP : TRACE_MSYNC);
		ev.addr = u;
		ev.len = v;
		ev.fields = TRACE_F_ADDR | TRACE_F_LEN;
		if (name[1] == 's' && ac > 2) {
			ev.flags = (has_flag(av[2], "MS_SYNC") ? TRACE_MS_SYNC : 0u) |
				   (has_flag(av[2], "MS_ASYNC") ? TRACE_MS_ASYNC : 0u) |
				   (has_flag(av[2], "MS_INVALIDATE") ? TRACE_MS_INVALIDATE : 0u);
			if (ev.flags)
				ev.fields |= TRACE_F_FLAGS;
		}
		if (name[1] == 'u' && u == m->addr && v >= m->len)
			*m = s->maps[--s->nmaps];
		return emit(s, &ev);
	}
	if (!strcmp(name, "chdir") || !strcmp(name, "fchdir")) {
		NEED(1);
		if (name[0] == 'c')
			a = resolve(p, NULL, av[0], &bad);
		else if ((in = fd_inst(p, arg_fd(av[0]))))
			a = xstrdup(in->path);
		if (a) {
			free(p->cwd);
			p->cwd = a;
			a = NULL;
		}
		return 0;
	}
	if (!strcmp(name, "clone") || !strcmp(name, "clone3") || !strcmp(name, "fork") ||
	    !strcmp(name, "vfork")) {
		struct proc *c;
		size_t pi = (size_t)(p - s->procs);
		bool share = ac > 0 && (has_flag(av[0], "CLONE_FILES") ||
					(ac > 1 && has_flag(av[1], "CLONE_FILES")));
		bool exists = false;
		for (size_t i = 0; i < s->nprocs; i++)
			exists |= s->procs[i].pid == ret;
		if (ret <= 0 || exists)
			return 0;
		if (!(c = proc_get(s, ret)))
			return sfail(s, "out of memory");
		p = &s->procs[pi];		/* proc_get may move the array */
		free(c->cwd);
		c->cwd = xstrdup(p->cwd);
		if (share) {
			free(c->tab);
			c->tab = p->tab;
			c->tab->refs++;
		} else {
			for (int fd = 0; fd < MAX_FD; fd++)
				if ((c->tab->fd[fd] = p->tab->fd[fd]))
					c->tab->fd[fd]->refs++;
		}
		return 0;
	}
	return 0;			/* not a call the rules name */
out:
	free(a);
	free(b);
	return rc;
#undef NEED
}

/* ---- lines ---- */

static int exit_proc(struct st *s, struct proc *p)
{
	struct fdtab *t = p->tab;

	p->tab = calloc(1, sizeof(*p->tab));
	if (!p->tab)
		return sfail(s, "out of memory");
	p->tab->refs = 1;
	tab_put(s, t);
	return 0;
}

/* The text of one complete call, "NAME(ARGS) = RET...", for process P. */
static int complete(struct st *s, struct proc *p, char *text)
{
	char *open = strchr(text, '('), *q, *close = NULL, *av[MAX_ARGS];
	const char *r;
	int depth = 0, ac;
	int64_t ret;

	if (!open || open == text)
		return sfail(s, "expected NAME(ARGS) = RESULT");
	*open = '\0';
	for (char *c = text; *c; c++)
		if (!(isalnum((unsigned char)*c) || *c == '_'))
			return sfail(s, "bad system call name '%.40s'", text);
	for (q = open + 1; *q; q++) {
		if (*q == '"') {
			const char *e = quoted_end(q);
			if (!e)
				return sfail(s, "unterminated string");
			q = (char *)e - 1;
		} else if (*q == '(' || *q == '[' || *q == '{') {
			depth++;
		} else if (*q == ')' || *q == ']' || *q == '}') {
			if (depth == 0 && *q == ')') {
				close = q;
				break;
			}
			depth--;
		}
	}
	if (!close)
		return sfail(s, "no closing parenthesis for %s(", text);
	*close = '\0';
	r = skip_ws(close + 1);
	if (*r != '=')
		return sfail(s, "expected '= RESULT' after %s(...)", text);
	r = skip_ws(r + 1);
	if (*r == '?' || *r == '-') {		/* S1 */
		if (s->pass == 'C')
			s->skipped_failed++;
		return 0;
	}
	if (!parse_i64(r, &ret)) {
		/* results like "0x7f00... " or "3</path>" or "0 (Timeout)" */
		char *e;
		errno = 0;
		ret = (int64_t)strtoull(r, &e, 0);
		if (errno || e == r)
			return sfail(s, "bad result '%.40s'", r);
	}
	ac = split_args(open + 1, av);
	if (ac < 0)
		return sfail(s, "arguments of %s do not parse", text);
	return call(s, p, text, av, ac, ret, r);
}

/* Skip -t/-tt/-ttt/-r timestamps at P. */
static char *skip_time(char *p)
{
	char *q = p;

	if (!isdigit((unsigned char)*q))
		return p;
	while (isdigit((unsigned char)*q) || *q == ':' || *q == '.')
		q++;
	return (*q == ' ' && (strchr(p, ':') < q || strchr(p, '.') < q)) ? (char *)skip_ws(q) : p;
}

static int line(struct st *s, char *l)
{
	char *p = (char *)skip_ws(l), *e;
	long pid = 0;
	struct proc *pr;
	size_t n;

	n = strlen(p);
	while (n && (p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == ' '))
		p[--n] = '\0';
	if (!*p)
		return 0;
	if (!strncmp(p, "[pid ", 5)) {
		pid = strtol(p + 5, &e, 10);
		if (*e != ']')
			return sfail(s, "bad [pid N] prefix");
		p = (char *)skip_ws(e + 1);
	} else if (isdigit((unsigned char)*p)) {
		char *q = p;
		while (isdigit((unsigned char)*q))
			q++;
		if (*q == ' ') {
			pid = strtol(p, NULL, 10);
			p = (char *)skip_ws(q);
		}
	}
	p = skip_time(p);
	/* -T: " <0.000012>" at the end */
	n = strlen(p);
	if (n && p[n - 1] == '>') {
		char *lt = strrchr(p, '<');
		if (lt && lt > p && lt[-1] == ' ' && isdigit((unsigned char)lt[1]) &&
		    strspn(lt + 1, "0123456789.") == (size_t)(p + n - 1 - lt - 1))
			lt[-1] = '\0';
	}
	if (!(pr = proc_get(s, pid)))
		return sfail(s, "out of memory");
	if (!strncmp(p, "+++ ", 4))		/* exited or killed */
		return exit_proc(s, pr);
	if (!strncmp(p, "--- ", 4))		/* a signal */
		return 0;
	if (!strncmp(p, "<... ", 5)) {
		char *r = strstr(p, " resumed>"), *whole;
		if (!r)
			return sfail(s, "expected '<... NAME resumed>'");
		if (!pr->pending)		/* attached mid-call: unknown start */
			return 0;
		r += 9;
		n = strlen(pr->pending);
		if (!(whole = malloc(n + strlen(r) + 2)))
			return sfail(s, "out of memory");
		memcpy(whole, pr->pending, n);
		strcpy(whole + n, r);
		free(pr->pending);
		pr->pending = NULL;
		int rc = complete(s, pr, whole);
		free(whole);
		return rc;
	}
	e = strstr(p, " <unfinished ...>");
	if (e && e[17] == '\0') {
		while (e > p && e[-1] == ' ')
			e--;
		*e = '\0';
		free(pr->pending);
		if (!(pr->pending = xstrdup(p)))
			return sfail(s, "out of memory");
		pr->pending_line = s->line;
		return 0;
	}
	if (!strncmp(p, "????", 4) || !strncmp(p, "syscall_", 8))
		return 0;
	return complete(s, pr, p);
}

static void reset_procs(struct st *s)
{
	for (size_t i = 0; i < s->nprocs; i++) {
		tab_put(s, s->procs[i].tab);
		free(s->procs[i].cwd);
		free(s->procs[i].pending);
	}
	free(s->procs);
	s->procs = NULL;
	s->nprocs = s->capprocs = 0;
}

/* Pass A: the working directory (S2). */
static void find_cwd(struct st *s, const char *l)
{
	const char *g;
	char *v = NULL;
	size_t n;
	bool cut;

	if (s->cwd0)
		return;
	if ((g = strstr(l, "AT_FDCWD<")))
		v = y_path(g);
	else if ((g = strstr(l, "getcwd(\"")) && (v = malloc(strlen(g)))) {
		if (decode_str(g + 7, (uint8_t *)v, &n, &cut) && !cut && !memchr(v, '\0', n)) {
			v[n] = '\0';
		} else {
			free(v);
			v = NULL;
		}
	}
	if (v && v[0] == '/') {
		normalize(v);
		s->cwd0 = v;
	} else {
		free(v);
	}
}

static int run_pass(struct st *s, FILE *in, int pass)
{
	char *l = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	s->pass = pass;
	s->line = 0;
	rewind(in);
	while (!rc && (n = getline(&l, &cap, in)) > 0) {
		s->line++;
		if (memchr(l, '\0', (size_t)n)) {
			rc = sfail(s, "NUL byte in the line");
			break;
		}
		if (pass == 'A')
			find_cwd(s, l);
		else
			rc = line(s, l);
	}
	if (!rc && ferror(in))
		rc = sfail(s, "read error: %s", strerror(errno));
	free(l);
	if (pass != 'A')
		reset_procs(s);
	return rc;
}

/* S4: the setup before the program's first event. */
static int setup(struct st *s)
{
	struct strset need = { 0 };
	int rc = 0;
	int tfd;

	for (size_t i = 0; i < s->used.n && !rc; i++) {
		char *c = xstrdup(s->used.s[i]), *slash;
		if (!c)
			return sfail(s, "out of memory");
		while (!rc && (slash = strrchr(c, '/')) && slash != c) {
			*slash = '\0';
			if (!set_has(&s->made_dirs, c))
				rc = set_add(s, &need, c);
		}
		free(c);
		if (!rc && set_has(&s->dirs, s->used.s[i]) && !set_has(&s->made_dirs, s->used.s[i]) &&
		    strcmp(s->used.s[i], "/"))
			rc = set_add(s, &need, s->used.s[i]);
	}
	if (need.n)
		qsort(need.s, need.n, sizeof(*need.s), cmp_str);
	if (s->pre_files.n)
		qsort(s->pre_files.s, s->pre_files.n, sizeof(*s->pre_files.s), cmp_str);
	fprintf(s->out, "# setup (rule S4): %zu directories and %zu files the program found\n",
		need.n, s->pre_files.n);
	s->line = 0;
	for (size_t i = 0; i < need.n && !rc; i++) {
		struct trace_event ev;
		ev_init(&ev, TRACE_MKDIR);
		set_s(&ev.path, need.s[i]);
		set_s(&ev.sym, "setup");
		ev.fields = TRACE_F_PATH | TRACE_F_SYM;
		rc = emit(s, &ev);
	}
	for (size_t i = 0; i < s->pre_files.n && !rc; i++) {
		if (set_has(&s->dirs, s->pre_files.s[i]))
			continue;
		if (!(rc = with_path_fd(s, s->pre_files.s[i], TRACE_O_CREAT | TRACE_O_WRONLY, &tfd)))
			rc = close_tfd(s, tfd);
	}
	if (!rc) {
		struct trace_event ev;
		ev_init(&ev, TRACE_SYNC);
		set_s(&ev.sym, "setup");
		ev.fields = TRACE_F_SYM;
		rc = emit(s, &ev);
	}
	if (!rc) {
		struct trace_event ev;
		ev_init(&ev, TRACE_MARK);
		set_s(&ev.name, "start");
		set_s(&ev.sym, "setup");
		ev.fields = TRACE_F_NAME | TRACE_F_SYM;
		rc = emit(s, &ev);
	}
	set_free(&need);
	return rc;
}

static int convert(FILE *in, const char *name, FILE *out, char *err, size_t errlen)
{
	struct st s = { .file = name, .err = err, .errlen = errlen, .out = out };
	FILE *tmp = tmpfile();
	char copy[1 << 16];
	size_t k;
	int rc = -1;

	if (!tmp) {
		snprintf(err, errlen, "%s: cannot make a temporary file: %s", name, strerror(errno));
		return -1;
	}
	while ((k = fread(copy, 1, sizeof(copy), in)) > 0)
		if (fwrite(copy, 1, k, tmp) != k) {
			snprintf(err, errlen, "%s: temporary file: %s", name, strerror(errno));
			goto out;
		}
	if (ferror(in)) {
		snprintf(err, errlen, "%s: read error: %s", name, strerror(errno));
		goto out;
	}
	if (run_pass(&s, tmp, 'A'))
		goto out;
	if (!s.cwd0 && !(s.cwd0 = xstrdup("/"))) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto out;
	}
	if (run_pass(&s, tmp, 'B'))
		goto out;
	fprintf(out, "# imported by powercut import strace from %s\n"
		"# working directory %s (rule S2); every event's sym= is its line in the log\n"
		"version 1\n", name, s.cwd0);
	if (setup(&s) || run_pass(&s, tmp, 'C'))
		goto out;
	fprintf(out, "# %" PRIu64 " events; %" PRIu64 " failed calls skipped (rule S1)\n", s.events,
		s.skipped_failed);
	if (!s.events)
		fprintf(out, "# the program changed no file (rule S3)\n");
	rc = 0;
out:
	fclose(tmp);
	reset_procs(&s);
	free(s.cwd0);
	free(s.interest);
	free(s.maps);
	free(s.buf);
	set_free(&s.known);
	set_free(&s.made_dirs);
	set_free(&s.dirs);
	set_free(&s.pre_files);
	set_free(&s.used);
	return rc;
}

const struct trace_importer trace_import_strace = {
	.name = "strace",
	.help = "strace -f -o FILE logs (default format; -y, -xx, -s N, timestamps, -T)",
	.convert = convert,
};
