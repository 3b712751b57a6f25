/*
 * check.c — cut the power at every crash point, judge every state.
 *
 * Method.
 *
 *   K1. Points.  The trace is replayed once; at every crash point the
 *       simulator stops and calls back (sim.h).  --points selects which
 *       are checked: all, N, A-B (inclusive) or mark:NAME (the point just
 *       after each such mark).  A shard (--shard I/N) takes the selected
 *       points whose index is I-1 modulo N; within it, job w of -j J takes
 *       those whose index / N is w modulo J.  The partition depends only on
 *       point indexes, so shards and jobs together cover every selected
 *       point exactly once, whatever J.
 *   K2. States.  At a point the explorer (explore.h) enumerates the states
 *       --states allows.  States whose images are equal (same bytes differ
 *       from the base) are judged once per point; the checker's verdicts
 *       are also cached across points by a hash of the whole image (a
 *       file trace: of the recovered tree the checker is given), so an
 *       application checker runs once per distinct image (tree).
 *   K3. Judges.  Every model with an oracle (oracle.h) judges the image,
 *       and so do the trace's independent reference (block traces:
 *       promise.h; file traces: fs_promise.h, all four invariants);
 *       with --checker, the image is materialized in a fresh directory and
 *       CMD runs there with it as its last argument (0 consistent,
 *       anything else inconsistent: the pmreorder convention); a file
 *       trace's image as the filesystem recovered from it, a directory
 *       tree (tree_write).  A check
 *       with no judge at all is refused: it could only say "no violation"
 *       about something it never looked at; so is a trace with no media
 *       (no CPU, block or file event: no crash point).
 *   K4. Results.  A violation is reported once per distinct image per
 *       point, at the first state (in enumeration order) that shows it.
 *       Violations are sorted by (point, state, order of report), so -j N
 *       gives exactly the -j 1 output.  Jobs write their results to a
 *       temporary file as JSON lines; the parent merges them.  A job's
 *       standard error goes to that directory too: on bad input every job
 *       fails alike, and the parent prints the first failed job's words
 *       once.  Its progress counts go to memory the parent reads and
 *       draws (job_share).  The directory is in $TMPDIR (default /tmp);
 *       a signal that stops the run (SIGINT, SIGTERM, SIGHUP) kills the
 *       jobs and removes it (jobs_on_signal).
 *   K5. Output.  A summary on standard output; --json and --junit files
 *       are written to a temporary name, synced and renamed (a stream,
 *       such as /dev/stdout, directly: sim_atomic_open), and tried
 *       before the run (a typo must not cost the whole check).  --junit
 *       has a test case for each invariant some judge checked (K3), not
 *       for the others.  A violation is named by its point's own line and
 *       event, then the line it is about (put_where).  Exit status 1 if
 *       any violation, else 0.
 *   K7. What was not tried.  A model may say that the rules allow states
 *       at a point that its groups do not offer (crash.h, `unexplored`:
 *       the filesystem's background histories of docs/semantics.md F15,
 *       "Not explored").  Such points are counted and reported -- the
 *       summary and --junit only when there are any, --json always
 *       (states.unexplored_points) -- so that "no violations" never hides
 *       them.  The exit status does not change.
 */
#define _XOPEN_SOURCE 700		/* nftw */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../fs_model/jfs.h"
#include "cli.h"
#include "explore.h"
#include "fs_promise.h"
#include "json.h"
#include "media.h"
#include "oracle.h"
#include "promise.h"
#include "sim.h"

#define MAX_PRINTED 20
#define SEEN_MAX (1u << 22)		/* images remembered per point: 4M, ~170 MiB */

struct viol {
	uint64_t point, state_index, seq;
	uint64_t line;			/* oracle.h: of the promise or write */
	uint64_t point_line;		/* of the crash point's event (0: none) */
	const char *invariant;		/* static string */
	char *event, *step, *state, *path, *expected, *actual, *explanation, *replay;
};

/* What a job (-j) has done so far, in memory its parent reads for the
 * progress line: written with relaxed atomics, read as a snapshot. */
struct job_share {
	uint64_t points, states, judged, nv;
	uint64_t frac_ppm;		/* trace read, parts per million */
};

struct hset {				/* 128-bit keys, open addressing */
	uint64_t (*key)[2];
	uint32_t *val;
	bool *used;
	size_t cap, n;
};

/* A recovered filesystem as a list of paths, for the checker (tree_load) */
struct tree_ent {
	char *path;			/* absolute, in the recovered filesystem */
	unsigned type;			/* JFS_VIEW_REG, _DIR, _LNK */
	uint64_t size;
	size_t link_of;			/* REG: 1 + index of the inode's first path */
};

struct tree {
	struct tree_ent *e;
	size_t n, cap;
	uint32_t *first_of;		/* inode -> 1 + index of its first path */
	size_t nfirst;
	uint64_t h[2];			/* the tree's hash, as it is built */
};

struct check {
	struct cmdline *cl;
	struct sim *s;
	struct sim_explorer *x;
	/* K1 */
	enum { PTS_ALL, PTS_RANGE, PTS_MARK } pts;
	uint64_t lo, hi;
	const char *mark;
	unsigned job, jobs;
	/* the point being checked */
	const struct sim_point *pt;
	char event_text[256];
	uint64_t point_states;
	struct hset seen;		/* images judged at this point (bounded) */
	struct hset reported;		/* (invariant, path) reported at this point */
	uint64_t violating_states;	/* judgements that found a violation,
					   reported or not */
	uint64_t violating_at;		/* images_judged when last counted */
	struct hset checker_cache;	/* image (tree) hash -> 0 consistent, or
					   1 + index in bad_msg */
	char **bad_msg;			/* the checker's words, per bad image */
	size_t nbad;
	/* results */
	struct viol *v;
	size_t nv, capv;
	uint64_t points_total, points_checked;
	uint64_t points_named;		/* points --points names, in every shard */
	uint64_t points_unexplored;	/* K7: points with histories not tried */
	struct cli_ranges unx;		/* K7: where, over every named point (the
					 * same in every job and shard) */
	uint64_t states_checked, states_total, images_judged;
	uint64_t states_all;		/* the points' exhaustive counts, summed:
					   what a bound or a sample chose from */
	bool total_known, all_known, exhaustive;
	bool reduced;			/* K6 ran at some point */
	uint64_t seq;
	uint64_t cur_state_index;
	const struct sim_state *cur_state;
	const char *cur_state_id;
	char state_buf[4096];
	struct sim_promises *promises;	/* a block trace's contract */
	struct sim_fs_promises *fs_promises;	/* a file trace's reference */
	/* the checker */
	char checker_cmd[8192];		/* CMD, its first word made absolute */
	struct tree tree;		/* file traces: the recovered tree the
					   checker is given (tree_load) */
	char checker_out[512];
	/* progress */
	struct job_share *share;	/* a job's counts for its parent (-j) */
	bool progress;
	bool judges_checked;
	unsigned judged;		/* JUDGED_*: the invariants some judge
					   checks here (jobs: OR of theirs) */
	struct timespec t0, last;
	char err[800];
	bool err_is_flag;		/* err blames a flag, not the trace */
};

/* ---- small helpers ---- */

static uint64_t sat_add64(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		abort();
	return d;
}

static void hset_clear(struct hset *h)
{
	if (h->used)
		memset(h->used, 0, h->cap * sizeof(*h->used));
	h->n = 0;
}

static void hset_free(struct hset *h)
{
	free(h->key);
	free(h->val);
	free(h->used);
	memset(h, 0, sizeof(*h));
}

/* The bucket: a summed hash's low bits are weak, so avalanche first. */
static inline size_t hset_index(const uint64_t key[2], size_t cap)
{
	uint64_t z = key[0] ^ (key[1] * 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (size_t)(z ^ (z >> 31)) & (cap - 1);
}

/* Find KEY; insert with VAL if absent.  Returns a pointer to the value,
 * and *found. */
static uint32_t *hset_put(struct hset *h, const uint64_t key[2], uint32_t val, bool *found)
{
	size_t i;

	if (2 * (h->n + 1) > h->cap) {
		struct hset nh = { 0 };
		nh.cap = h->cap ? 2 * h->cap : 1024;
		nh.key = calloc(nh.cap, sizeof(*nh.key));
		nh.val = calloc(nh.cap, sizeof(*nh.val));
		nh.used = calloc(nh.cap, sizeof(*nh.used));
		if (!nh.key || !nh.val || !nh.used)
			abort();
		for (size_t j = 0; j < h->cap; j++) {
			bool f;
			if (h->used[j])
				*hset_put(&nh, h->key[j], h->val[j], &f) = h->val[j];
		}
		hset_free(h);
		*h = nh;
	}
	for (i = hset_index(key, h->cap); h->used[i]; i = (i + 1) & (h->cap - 1))
		if (h->key[i][0] == key[0] && h->key[i][1] == key[1]) {
			*found = true;
			return &h->val[i];
		}
	h->used[i] = true;
	h->key[i][0] = key[0];
	h->key[i][1] = key[1];
	h->val[i] = val;
	h->n++;
	*found = false;
	return &h->val[i];
}

/* ---- K1: which points ---- */

static int parse_points(struct check *c, const char *p)
{
	char *e;

	c->pts = PTS_ALL;
	if (!p || !strcmp(p, "all"))
		return 0;
	if (!strncmp(p, "mark:", 5) && p[5]) {
		c->pts = PTS_MARK;
		c->mark = p + 5;
		return 0;
	}
	if (*p < '0' || *p > '9')
		goto bad;
	errno = 0;
	c->lo = strtoull(p, &e, 10);
	if (errno)
		goto bad;
	c->hi = c->lo;
	if (*e == '-') {
		const char *q = e + 1;
		if (*q < '0' || *q > '9')
			goto bad;
		c->hi = strtoull(q, &e, 10);
		if (errno || c->hi < c->lo)
			goto bad;
	}
	if (*e)
		goto bad;
	c->pts = PTS_RANGE;
	return 0;
bad:
	return cli_usage_error("--points: expected all, N, A-B or mark:NAME, not '%s'", p);
}

/* Does --points (or --at) name point P, whichever shard and job checks it? */
static bool point_named(const struct check *c, const struct sim_point *p)
{
	const struct cmdline *cl = c->cl;
	uint64_t k = p->index;

	if (cl->at == CLI_AT_POINT)
		return k == cl->at_point;
	switch (c->pts) {
	case PTS_RANGE:
		return k >= c->lo && k <= c->hi;
	case PTS_MARK:
		return p->mark && !strcmp(p->mark, c->mark);
	case PTS_ALL:
		break;
	}
	return true;
}

/* Is P named and this process's to check (--shard, then -j's job)? */
static bool point_selected(const struct check *c, const struct sim_point *p)
{
	const struct cmdline *cl = c->cl;
	uint64_t k = p->index;

	if (!point_named(c, p))
		return false;
	if (cl->at == CLI_AT_POINT)
		return true;
	if (cl->shard_n) {
		if (k % cl->shard_n != cl->shard_i - 1)
			return false;
		k /= cl->shard_n;
	}
	return k % c->jobs == c->job;
}

/* ---- recording violations ---- */

static void event_text(struct check *c, const struct sim_point *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	c->event_text[0] = '\0';
	if (!p->ev)
		return;
	m = open_memstream(&buf, &len);
	if (!m)
		return;
	trace_write_event(m, p->ev);
	fclose(m);
	if (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len >= sizeof(c->event_text) - 4)
		snprintf(c->event_text, sizeof(c->event_text), "%.*s...",
			 (int)sizeof(c->event_text) - 8, buf);
	else
		snprintf(c->event_text, sizeof(c->event_text), "%s", buf);
	free(buf);
}

static struct viol *new_viol(struct check *c)
{
	struct viol *v;

	if (c->nv == c->capv) {
		c->capv = c->capv ? 2 * c->capv : 64;
		c->v = realloc(c->v, c->capv * sizeof(*c->v));
		if (!c->v)
			abort();
	}
	v = &c->v[c->nv++];
	memset(v, 0, sizeof(*v));
	return v;
}

/* The current state's ID, printed on first need (most states are never
 * reported: formatting each cost 2-3% of a check). */
static const char *state_id(struct check *c)
{
	if (!c->cur_state_id) {
		sim_state_format(c->cur_state->choice, c->cur_state->ngroups, c->state_buf,
				 sizeof(c->state_buf));
		c->cur_state_id = c->state_buf;
	}
	return c->cur_state_id;
}

static uint64_t str_hash64(const char *s, uint64_t h)
{
	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h;
}

static int record(void *ctx, const struct sim_violation *sv)
{
	struct check *c = ctx;
	struct viol *v;
	char replay[8192];
	uint64_t key[2];
	bool found;

	/* K4: once per point per (invariant, path), at the first state that
	 * shows it; the other states are counted.  Reporting every state let
	 * a faulty device's check grow to 24 GiB of violations. */
	key[0] = str_hash64(sv->path, str_hash64(sv->invariant, 0xcbf29ce484222325ULL));
	key[1] = str_hash64(sv->invariant, str_hash64(sv->path, 0x84222325cbf29ce4ULL));
	/* a judgement may find several (invariant, path) violations: count
	 * the judgement once */
	if (c->violating_at != c->images_judged) {
		c->violating_at = c->images_judged;
		c->violating_states++;
	}
	hset_put(&c->reported, key, 0, &found);
	if (found)
		return 0;
	v = new_viol(c);
	state_id(c);

	v->point = c->pt->index;
	v->state_index = c->cur_state_index;
	v->seq = c->seq++;
	v->line = sv->line ? sv->line : c->pt->line;
	v->point_line = c->pt->line;
	v->invariant = sv->invariant;
	v->event = xstrdup(c->event_text);
	v->step = xstrdup(c->pt->what ? c->pt->what : "");
	v->state = xstrdup(c->cur_state_id);
	v->path = xstrdup(sv->path);
	v->expected = xstrdup(sv->expected);
	v->actual = xstrdup(sv->actual);
	v->explanation = xstrdup(sv->explanation);
	snprintf(replay, sizeof(replay), "powercut check");
	cli_shell_quote(replay, sizeof(replay), c->cl->trace);
	snprintf(replay + strlen(replay), sizeof(replay) - strlen(replay), "%s --at %" PRIu64
		 " --state %s", c->cl->verdict_args, c->pt->index, c->cur_state_id);
	v->replay = xstrdup(replay);
	return 0;
}

/* ---- K3: the application checker ---- */

/*
 * K4: a -j run stopped by SIGINT, SIGTERM or SIGHUP leaves no job
 * directory behind: the parent kills its jobs, waits for them, removes
 * their files (named before any job starts) and the directory, then dies
 * of the signal.  Only async-signal-safe calls in the handler.
 */
static struct {
	char dir[4096];
	char (*file)[4200];		/* DIR/J and DIR/J.err */
	unsigned nfile;
	pid_t pid[256];
	unsigned njob;
} jobs_left;

static const int jobs_signals[] = { SIGINT, SIGTERM, SIGHUP };

/* Kill the jobs started so far and remove their directory. */
static void jobs_abandon(void)
{
	for (unsigned j = 0; j < jobs_left.njob; j++)
		if (jobs_left.pid[j] > 0)
			kill(jobs_left.pid[j], SIGKILL);
	for (unsigned j = 0; j < jobs_left.njob; j++)
		if (jobs_left.pid[j] > 0)
			waitpid(jobs_left.pid[j], NULL, 0);
	for (unsigned i = 0; i < jobs_left.nfile; i++)
		unlink(jobs_left.file[i]);
	rmdir(jobs_left.dir);
}

static void jobs_on_signal(int sig)
{
	jobs_abandon();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Handle (HANDLER) or restore (SIG_DFL) the signals jobs_on_signal
 * cleans up after. */
static void jobs_signals_set(void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(jobs_signals) / sizeof(jobs_signals[0]); i++)
		sigaction(jobs_signals[i], &sa, NULL);
}

static void jobs_signals_block(bool block)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(jobs_signals) / sizeof(jobs_signals[0]); i++)
		sigaddset(&set, jobs_signals[i]);
	sigprocmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

struct materialize {
	int fd;
	int err;
};

static int write_page(void *ctx, uint64_t off, const uint8_t *page)
{
	struct materialize *m = ctx;
	size_t done = 0;

	while (done < MEDIA_PAGE_SIZE) {
		ssize_t n = pwrite(m->fd, page + done, MEDIA_PAGE_SIZE - done, (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			m->err = errno;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

static const char *image_name(const struct check *c)
{
	const struct cmdline *cl = c->cl;
	const char *b;

	if (sim_world(c->s) == SIM_WORLD_FILE)	/* a path of the recovered tree */
		return cl->checker_file ? cl->checker_file : "/";
	if (!cl->checker_file)
		return "image";
	b = strrchr(cl->checker_file, '/');
	return b ? b + 1 : cl->checker_file;
}

/*
 * A file trace's crash image, for the checker: the filesystem the model
 * recovers from it (jfs_view_load: the journal replayed, orphans freed),
 * written out as a directory tree -- directories, regular files with their
 * recovered content (holes and unwritten extents stay holes), symlinks
 * with their targets as they are (an absolute one points outside the
 * tree), hard links as links to one file.  What the view does not show is
 * not written: modes and owners (0755 directories, 0644 files), times,
 * xattrs.  An image with no filesystem of ours (O7: fsck reports it) gives
 * an empty tree.  The checker's verdicts are cached by a hash of the tree
 * (tree_load), not of the image: many crash images recover to one tree,
 * and the checker sees only the tree.
 */
static void tree_mix(struct tree *t, uint64_t x)
{
	t->h[0] = (t->h[0] ^ x) * 0xff51afd7ed558ccdULL;
	t->h[0] ^= t->h[0] >> 33;
	t->h[1] = (t->h[1] + x) * 0xc4ceb9fe1a85ec53ULL;
	t->h[1] ^= t->h[1] >> 29;
}

static void tree_note(void *ctx, const char *path, unsigned type, uint64_t size)
{
	struct tree *t = ctx;

	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->e = realloc(t->e, t->cap * sizeof(*t->e));
		if (!t->e)
			abort();
	}
	t->e[t->n++] = (struct tree_ent){ .path = xstrdup(path), .type = type, .size = size };
}

/* jfs_data_fn: a block of content into the tree's hash */
static void tree_hash_data(void *ctx, uint64_t size, uint64_t off, const uint8_t *d, size_t n)
{
	(void)size;
	tree_mix(ctx, off);
	tree_mix(ctx, jfs_block_hash(d, n));
}

static void tree_clear(struct tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->e[i].path);
	t->n = 0;
}

/* List in c->tree the tree of the image the file oracle has just
 * recovered and judged (sim_fs_promises_view), with the tree's hash in
 * KEY.  Its reads go through the image, as the oracle's do (K6). */
static void tree_load(struct check *c, uint64_t key[2])
{
	struct jfs_view *v = sim_fs_promises_view(c->fs_promises);
	struct tree *t = &c->tree;

	tree_clear(t);
	t->h[0] = 0x243f6a8885a308d3ULL;
	t->h[1] = 0x13198a2e03707344ULL;
	/* the list first: reading content uses the view's buffers, which the
	 * walk is using (no filesystem: an empty list) */
	jfs_view_walk(v, tree_note, t);
	if (t->nfirst)
		memset(t->first_of, 0, t->nfirst * sizeof(*t->first_of));
	for (size_t i = 0; i < t->n; i++) {
		struct tree_ent *e = &t->e[i];

		tree_mix(t, jfs_block_hash(e->path, strlen(e->path)));
		tree_mix(t, e->type);
		tree_mix(t, e->size);
		if (e->type == JFS_VIEW_REG) {
			uint32_t ino = jfs_view_inode(v, e->path);
			if (ino >= t->nfirst) {
				size_t nn = (size_t)ino + 64;
				t->first_of = realloc(t->first_of, nn * sizeof(*t->first_of));
				if (!t->first_of)
					abort();
				memset(t->first_of + t->nfirst, 0, (nn - t->nfirst) * sizeof(*t->first_of));
				t->nfirst = nn;
			}
			e->link_of = t->first_of[ino];
			if (!e->link_of)
				t->first_of[ino] = (uint32_t)(i + 1);
			tree_mix(t, e->link_of);
			if (e->link_of)
				continue;
		}
		if (e->type != JFS_VIEW_DIR)	/* a file's content, a symlink's target */
			jfs_view_stream_file(v, e->path, tree_hash_data, t);
	}
	key[0] = t->h[0];
	key[1] = t->h[1];
}

struct tree_file {
	int fd;
	int err;
};

/* jfs_data_fn: one block of a file, written unless it is all zeros (the
 * file is sized at the end, so zeros read back from the hole) */
static void tree_data(void *ctx, uint64_t size, uint64_t off, const uint8_t *d, size_t n)
{
	struct tree_file *f = ctx;
	size_t done = 0;

	(void)size;
	if (f->err || (d[0] == 0 && (n == 1 || !memcmp(d, d + 1, n - 1))))
		return;
	while (done < n) {
		ssize_t k = pwrite(f->fd, d + done, n - done, (off_t)(off + done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			f->err = errno;
			return;
		}
		done += (size_t)k;
	}
}

/* Write the tree tree_load listed (the view still holds its image) at
 * ROOT.  0, or -1 (c->err). */
static int tree_write(struct check *c, const char *root)
{
	struct jfs_view *v = sim_fs_promises_view(c->fs_promises);
	const struct tree *t = &c->tree;
	char full[4200], first[4200], target[4096];

	if (mkdir(root, 0755)) {
		snprintf(full, sizeof(full), "%s", root);
		goto sys;
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct tree_ent *e = &t->e[i];
		struct tree_file f = { .fd = -1 };
		int64_t got;

		if ((size_t)snprintf(full, sizeof(full), "%s%s", root, e->path) >= sizeof(full)) {
			snprintf(c->err, sizeof(c->err), "checker: a recovered path is too long "
				 "to write out: %.200s", e->path);
			return -1;
		}
		switch (e->type) {
		case JFS_VIEW_DIR:
			if (mkdir(full, 0755))
				goto sys;
			break;
		case JFS_VIEW_LNK:
			got = jfs_view_read_file(v, e->path, target, sizeof(target) - 1);
			if (got < 0 || got >= (int64_t)sizeof(target))
				got = 0;
			target[got] = '\0';
			if (symlink(target, full))
				goto sys;
			break;
		default:
			if (e->link_of) {
				snprintf(first, sizeof(first), "%s%s", root, t->e[e->link_of - 1].path);
				if (link(first, full))
					goto sys;
				break;
			}
			f.fd = open(full, O_WRONLY | O_CREAT | O_EXCL, 0644);
			if (f.fd < 0)
				goto sys;
			if (jfs_view_stream_file(v, e->path, tree_data, &f) < 0 && !f.err)
				f.err = EIO;
			if (!f.err && ftruncate(f.fd, (off_t)e->size))
				f.err = errno;
			if (close(f.fd) && !f.err)
				f.err = errno;
			if (f.err) {
				errno = f.err;
				goto sys;
			}
			break;
		}
	}
	return 0;
sys:
	snprintf(c->err, sizeof(c->err), "checker: cannot write %.300s: %s", full, strerror(errno));
	return -1;
}

/* Run the checker on IM.  Returns 1 consistent, 2 inconsistent (output in
 * c->checker_out), -1 on an internal failure (c->err). */
static int run_checker(struct check *c, const struct sim_image *im)
{
	char dir[] = "/tmp/powercut-check-XXXXXX", path[8400], script[8300], where[4200];
	struct materialize m = { .fd = -1 };
	int pipefd[2], status, rc = -1;
	pid_t pid;
	size_t got = 0;

	if (!mkdtemp(dir)) {
		snprintf(c->err, sizeof(c->err), "checker: cannot make a directory: %s", strerror(errno));
		return -1;
	}
	if (sim_world(c->s) == SIM_WORLD_FILE) {
		/* the recovered filesystem at DIR/fs; CMD runs at its root and
		 * is given the root, or --checker-file's path under it */
		snprintf(where, sizeof(where), "%s/fs", dir);
		if (tree_write(c, where))
			goto out;
		snprintf(path, sizeof(path), "%s%s", where,
			 c->cl->checker_file ? c->cl->checker_file : "");
	} else {
		snprintf(where, sizeof(where), "%s", dir);
		snprintf(path, sizeof(path), "%s/%s", dir, image_name(c));
		m.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (m.fd < 0 || ftruncate(m.fd, (off_t)sim_image_size(im)) ||
		    sim_image_for_each_page(im, write_page, &m) || close(m.fd)) {
			snprintf(c->err, sizeof(c->err), "checker: cannot write the image %.300s: %s",
				 path, strerror(m.err ? m.err : errno));
			goto out;
		}
	}
	snprintf(script, sizeof(script), "%s \"$1\"", c->checker_cmd);
	if (pipe(pipefd)) {
		snprintf(c->err, sizeof(c->err), "checker: pipe: %s", strerror(errno));
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(c->err, sizeof(c->err), "checker: fork: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		goto out;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		if (chdir(where))
			_exit(127);
		execl("/bin/sh", "sh", "-c", script, "sh", path, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		char buf[4096];
		ssize_t n = read(pipefd[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (got < sizeof(c->checker_out) - 1) {
			size_t k = (size_t)n < sizeof(c->checker_out) - 1 - got ?
				(size_t)n : sizeof(c->checker_out) - 1 - got;
			memcpy(c->checker_out + got, buf, k);
			got += k;
		}
	}
	close(pipefd[0]);
	c->checker_out[got] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* the shell's 127 (not found) and 126 (not executable) say that CMD
	 * never ran: an error, not a verdict on every image; one line */
	if (WIFEXITED(status) &&
	    ((WEXITSTATUS(status) == 127 && strstr(c->checker_out, "not found")) ||
	     (WEXITSTATUS(status) == 126 && strstr(c->checker_out, "Permission denied")))) {
		snprintf(c->err, sizeof(c->err), "checker '%s' cannot run: %.*s", c->cl->checker,
			 (int)strcspn(c->checker_out, "\n"), c->checker_out);
		goto out;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		rc = 1;
	} else {
		char head[200];
		size_t k = strcspn(c->checker_out, "\n");
		snprintf(head, sizeof(head), "%.*s", (int)(k < 150 ? k : 150), c->checker_out);
		if (WIFEXITED(status))
			snprintf(c->checker_out, sizeof(c->checker_out), "exit status %d%s%s",
				 WEXITSTATUS(status), head[0] ? ": " : "", head);
		else
			snprintf(c->checker_out, sizeof(c->checker_out), "killed by signal %d%s%s",
				 WTERMSIG(status), head[0] ? ": " : "", head);
		rc = 2;
	}
out:
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}

/*
 * The checker runs in a fresh directory, so a relative program name
 * ("./check.sh", "tests/check.py") would not be found there: if CMD's
 * first word names an existing file relative to where powercut started,
 * it is made absolute.  Anything else can use $POWERCUT_CWD.
 */
static int prepare_checker(struct check *c)
{
	const char *cmd = c->cl->checker;
	size_t w = strcspn(cmd, " \t");
	char first[4096], cwd[4096];
	struct stat st;

	if (w < sizeof(first) && cmd[0] != '/' && memchr(cmd, '/', w)) {
		memcpy(first, cmd, w);
		first[w] = '\0';
		if (!stat(first, &st) && getcwd(cwd, sizeof(cwd))) {
			snprintf(c->checker_cmd, sizeof(c->checker_cmd), "%s/%s%s", cwd, first, cmd + w);
			goto env;
		}
	}
	snprintf(c->checker_cmd, sizeof(c->checker_cmd), "%s", cmd);
env:
	if (getcwd(cwd, sizeof(cwd)))
		setenv("POWERCUT_CWD", cwd, 1);
	return 0;
}

/* ---- K2, K3: one state ---- */

static void show_progress(struct check *c, bool final);

static int judge_state(void *ctx, const struct sim_state *st)
{
	struct check *c = ctx;
	uint64_t h[2];
	bool found;
	int rc;

	c->point_states++;
	if (c->cl->at == CLI_AT_POINT) {
		printf("crash point %" PRIu64 ": trace line %" PRIu64 ": %s%s%s\n", c->pt->index,
		       c->pt->line, c->event_text[0] ? c->event_text : "(initial state)",
		       c->pt->what ? ", during: " : "", c->pt->what ? c->pt->what : "");
		printf("state %s:\n", c->cl->state_id);
		if (!strcmp(c->cl->state_id, "base"))
			printf("  nothing volatile persisted beyond the base\n");
		else
			sim_state_describe(c->s, st->choice, st->ngroups, stdout);
	}
	sim_image_diff_hash(st->image, h);
	/* K2: judge each image once per point -- up to SEEN_MAX images; past
	 * that every state is judged (correct, slower, bounded memory) */
	if (c->seen.n < SEEN_MAX) {
		hset_put(&c->seen, h, 0, &found);
		if (found && !st->must_judge)
			return 0;
	}
	c->images_judged++;
	if (c->progress && !(c->images_judged & 255))
		show_progress(c, false);	/* a long point says it is alive */
	c->cur_state_index = st->index;
	c->cur_state = st;		/* its ID is printed only if it is reported */
	c->cur_state_id = NULL;

	if (sim_world(c->s) == SIM_WORLD_BLOCK && c->promises &&
	    (rc = sim_promises_judge(c->promises, st->image, record, c)))
		return rc;
	if (sim_world(c->s) == SIM_WORLD_FILE) {
		/* fs_promise.h; made here too for point 0, before any event */
		if (!c->fs_promises && sim_fs_promises_create(&c->fs_promises, c->s)) {
			snprintf(c->err, sizeof(c->err), "out of memory");
			return -1;
		}
		if ((rc = sim_fs_promises_judge(c->fs_promises, st->image, record, c)))
			return rc;
	}
	for (int r = 0; r < SIM_ROLE_COUNT; r++) {
		const struct sim_model_ops *ops = sim_model_ops(c->s, (enum sim_role)r);
		if (!ops || !ops->oracle)
			continue;
		rc = ops->oracle->judge(sim_model(c->s, (enum sim_role)r), st->image, record, c);
		if (rc) {
			snprintf(c->err, sizeof(c->err), "%s: the oracle failed", ops->name);
			return -1;
		}
	}
	if (c->cl->checker) {
		uint64_t full[2];
		uint32_t *verdict, v;
		bool cached;

		/* K2: one run per distinct image; the verdict and the checker's
		 * words are kept, so the report does not depend on which job or
		 * point saw the image first */
		if (sim_world(c->s) != SIM_WORLD_FILE) {
			sim_image_hash(st->image, full);
		} else {
			/* K6: the tree is all the checker sees, and tree_load
			 * reads every byte it is made of, as one value */
			unsigned was = sim_image_separable(st->image, 0);
			tree_load(c, full);
			sim_image_separable(st->image, was);
		}
		verdict = hset_put(&c->checker_cache, full, 0, &cached);
		v = *verdict;
		if (!cached) {
			int r = run_checker(c, st->image);
			if (r < 0)
				return -1;
			v = 0;
			if (r == 2) {
				c->bad_msg = realloc(c->bad_msg, (c->nbad + 1) * sizeof(*c->bad_msg));
				if (!c->bad_msg)
					abort();
				c->bad_msg[c->nbad++] = xstrdup(c->checker_out);
				v = (uint32_t)c->nbad;
			}
			*hset_put(&c->checker_cache, full, 0, &found) = v;
		}
		if (v) {
			struct sim_violation sv = { .invariant = SIM_INV_CHECKER };
			snprintf(sv.path, sizeof(sv.path), "%s", image_name(c));
			snprintf(sv.expected, sizeof(sv.expected), "checker exits 0");
			snprintf(sv.actual, sizeof(sv.actual), "%.250s", c->bad_msg[v - 1]);
			snprintf(sv.explanation, sizeof(sv.explanation),
				 "The application's checker judged this crash image inconsistent; "
				 "state %.300s is the set of volatile items that persisted.",
				 state_id(c));
			record(c, &sv);
		}
	}
	return 0;
}

/* The progress line (K5): points, states, rate, and the time left as the
 * share of the trace still to read predicts it. */
/* The progress line: POINTS points, STATES states (JUDGED judgements past
 * 2^64 states), NV violations, FRAC of the trace read (< 0: unknown). */
static void print_progress(const struct check *c, uint64_t points, uint64_t states,
			   uint64_t judged, uint64_t nv, double frac, bool final)
{
	double t = now_s(), start = (double)c->t0.tv_sec + (double)c->t0.tv_nsec / 1e9;
	double el = t - start > 1e-9 ? t - start : 1e-9;
	char left[64] = "";

	if (!final && frac > 0.001)
		snprintf(left, sizeof(left), ", %.0f%%, %.0f s left", 100 * frac,
			 el * (1 - frac) / frac);
	/* counts saturate at 2^64-1 (K6): then the judgements' rate */
	if (states == UINT64_MAX)
		fprintf(stderr, "\rcheck: %" PRIu64 " points, more than 2^64 states, %" PRIu64
			" judgements, %.0f judgements/s, %" PRIu64 " violations%s   ", points,
			judged, judged / el, nv, left);
	else
		fprintf(stderr, "\rcheck: %" PRIu64 " points, %" PRIu64 " states, %.0f states/s, "
			"%" PRIu64 " violations%s   ", points, states, states / el, nv, left);
	if (final)
		fputc('\n', stderr);
}

static void show_progress(struct check *c, bool final)
{
	double t = now_s(), last = (double)c->last.tv_sec + (double)c->last.tv_nsec / 1e9;
	double frac = cli_replay_fraction();

	if (!c->progress || (!final && t - last < 0.2))
		return;
	clock_gettime(CLOCK_MONOTONIC, &c->last);
	if (c->share) {			/* a job: its parent prints */
		__atomic_store_n(&c->share->points, c->points_checked, __ATOMIC_RELAXED);
		__atomic_store_n(&c->share->states, c->states_checked, __ATOMIC_RELAXED);
		__atomic_store_n(&c->share->judged, c->images_judged, __ATOMIC_RELAXED);
		__atomic_store_n(&c->share->nv, (uint64_t)c->nv, __ATOMIC_RELAXED);
		__atomic_store_n(&c->share->frac_ppm, frac < 0 ? 0 : (uint64_t)(frac * 1e6),
				 __ATOMIC_RELAXED);
		return;
	}
	print_progress(c, c->points_checked, c->states_checked, c->images_judged, c->nv, frac,
		       final);
}

/* The jobs' progress as one line: their sums, and the least of the trace
 * any of them has read (each replays all of it). */
static void show_jobs_progress(struct check *c, const struct job_share *share, unsigned n)
{
	uint64_t points = 0, states = 0, judged = 0, nv = 0, ppm = UINT64_MAX;

	for (unsigned j = 0; j < n; j++) {
		points += __atomic_load_n(&share[j].points, __ATOMIC_RELAXED);
		states = sat_add64(states, __atomic_load_n(&share[j].states, __ATOMIC_RELAXED));
		judged += __atomic_load_n(&share[j].judged, __ATOMIC_RELAXED);
		nv += __atomic_load_n(&share[j].nv, __ATOMIC_RELAXED);
		if (__atomic_load_n(&share[j].frac_ppm, __ATOMIC_RELAXED) < ppm)
			ppm = __atomic_load_n(&share[j].frac_ppm, __ATOMIC_RELAXED);
	}
	print_progress(c, points, states, judged, nv, (double)ppm / 1e6, false);
}

/* Before any state is judged: is there a judge at all? (K3)  0, or -1
 * with the message in c->err. */
static int check_judges(struct check *c)
{
	enum sim_world w = sim_world(c->s);
	bool any = c->cl->checker != NULL || w == SIM_WORLD_BLOCK ||	/* promise.h */
		   (w == SIM_WORLD_FILE && sim_model(c->s, SIM_ROLE_FS));	/* fs_promise.h */

	for (int r = 0; r < SIM_ROLE_COUNT; r++) {
		const struct sim_model_ops *ops = sim_model_ops(c->s, (enum sim_role)r);
		if (ops && ops->oracle)
			any = true;
	}
	if (!any) {
		snprintf(c->err, sizeof(c->err), "nothing can judge this trace: no model in this "
			 "build makes promises about %s traces, and no --checker was given",
			 w == SIM_WORLD_CPU ? "CPU" : w == SIM_WORLD_BLOCK ? "block" : "file");
		return -1;
	}
	if (c->cl->checker && w == SIM_WORLD_FILE && !sim_model(c->s, SIM_ROLE_FS)) {
		snprintf(c->err, sizeof(c->err), "--checker: on a file trace it needs the "
			 "filesystem model, to recover the files it writes out");
		c->err_is_flag = true;
		return -1;
	}
	if (c->cl->checker_file && w == SIM_WORLD_FILE && c->cl->checker_file[0] != '/') {
		snprintf(c->err, sizeof(c->err), "--checker-file: on a file trace it names a "
			 "file of the recovered filesystem: an absolute path, not '%.200s'",
			 c->cl->checker_file);
		c->err_is_flag = true;
		return -1;
	}
	if (c->cl->checker && w == SIM_WORLD_FILE)
		c->cl->states.reduce = true;	/* K6: its reads are seen (tree_load) */
	return 0;
}

static int check_point(void *ctx, struct sim *s, const struct sim_point *p)
{
	struct check *c = ctx;
	struct sim_point_result res;
	char err[512];
	int rc;

	c->points_total++;
	/* fs_promise.h O9: a point inside a file event sees it in part */
	if (p->what && p->ev && sim_world(s) == SIM_WORLD_FILE) {
		if (!c->fs_promises && sim_fs_promises_create(&c->fs_promises, s))
			return 1;
		if (sim_fs_promises_event_early(c->fs_promises, p->ev))
			return 1;
	}
	/* promise.h P9: a point inside a bio's event sees it submitted */
	if (p->what && p->ev && p->ev->op == TRACE_BIO && c->promises &&
	    sim_promises_event_early(c->promises, p->ev))
		return 1;
	if (point_named(c, p)) {
		c->points_named++;
		if (c->cl->at != CLI_AT_POINT && sim_media(s) && sim_point_unexplored(s))
			cli_ranges_add(&c->unx, p->index, p->index);	/* K7 */
	}
	if (!point_selected(c, p) || !sim_media(s))
		return 0;
	c->pt = p;
	c->point_states = 0;
	hset_clear(&c->seen);
	hset_clear(&c->reported);
	event_text(c, p);
	c->points_checked++;
	if (!c->judges_checked) {
		if (check_judges(c))
			return 1;
		c->judges_checked = true;
	}
	if (c->cl->at == CLI_AT_POINT) {
		/* judge_state prints the point: a bad state ID prints nothing */
		rc = sim_explore_one(c->x, s, c->cl->state_id, judge_state, c, err, sizeof(err));
		c->states_checked++;
		if (rc && !c->err[0])
			snprintf(c->err, sizeof(c->err), "--state: %s", err);
		return rc ? 1 : 0;
	}
	if (sim_point_unexplored(s))
		c->points_unexplored++;		/* K7 */
	rc = sim_explore_point(c->x, s, &c->cl->states, p->index, judge_state, c, &res,
			       err, sizeof(err));
	if (rc) {
		if (!c->err[0])
			snprintf(c->err, sizeof(c->err), "%s", err);
		return 1;
	}
	c->states_checked = sat_add64(c->states_checked, res.checked);
	c->reduced |= res.reduced;
	c->states_total = sat_add64(c->states_total, res.total);
	if (!res.total_known)
		c->total_known = false;
	c->states_all = sat_add64(c->states_all, res.all_states);
	if (!res.all_known || c->states_all == UINT64_MAX)
		c->all_known = false;
	show_progress(c, false);
	return 0;
}

/* ---- running one process's share ---- */

/* Follow the block contract (promise.h).  Made at the first event, when
 * the trace's config lines (block-semantics) have been applied. */
static int observe(void *ctx, const struct trace_event *ev)
{
	struct check *c = ctx;

	if (sim_world(c->s) == SIM_WORLD_FILE) {	/* fs_promise.h */
		if (!c->fs_promises && sim_fs_promises_create(&c->fs_promises, c->s))
			return -1;
		return sim_fs_promises_event(c->fs_promises, ev);
	}
	if (!c->promises &&
	    sim_promises_create(&c->promises,
				sim_config(c->s)->block_semantics == SIM_BLOCK_BARRIER,
				sim_config(c->s)->device == SIM_DEVICE_PMEM ||
				sim_config(c->s)->device == SIM_DEVICE_PMEM_WB))
		return -1;
	return sim_promises_event(c->promises, ev);
}

static int check_run(struct check *c)
{
	int rc, cb = 0;
	char err[512];

	if (sim_create(&c->s, &c->cl->cfg, err, sizeof(err)) || sim_explorer_create(&c->x))
		return cli_usage_error("out of memory");
	sim_set_observer(c->s, observe, c);
	if (c->cl->base_image)
		sim_set_base_image(c->s, c->cl->base_image);
	sim_set_crash_point(c->s, check_point, c);
	rc = cli_replay(c->s, c->cl->trace, &cb);
	if (rc)
		return rc;
	if (cb && c->err_is_flag)
		return cli_usage_error("%s", c->err);
	if (cb)
		return cli_usage_error("%s: %s", c->cl->trace, c->err[0] ? c->err : "check failed");
	/* no media, no crash point: an empty trace must not pass as clean */
	if (sim_world(c->s) == SIM_WORLD_NONE)
		return cli_usage_error("%s: the trace has no CPU, block or file events: nothing "
				       "to check", c->cl->trace);
	return 0;
}

/* ---- jobs: results as JSON lines ---- */

/* `SEP"KEY": "VALUE"` */
static void put_member(FILE *f, const char *sep, const char *key, const char *value)
{
	fprintf(f, "%s\"%s\": ", sep, key);
	json_put_str(f, value);
}

static void put_viol_json(FILE *f, const struct viol *v, bool lines)
{
	const char *sep = lines ? ", " : ",\n      ";

	put_member(f, lines ? "{" : "{\n      ", "invariant", v->invariant);
	fprintf(f, "%s\"point\": %" PRIu64 "%s\"line\": %" PRIu64, sep, v->point, sep, v->line);
	put_member(f, sep, "event", v->event);
	if (v->step[0])
		put_member(f, sep, "step", v->step);
	put_member(f, sep, "state", v->state);
	put_member(f, sep, "path", v->path);
	put_member(f, sep, "expected", v->expected);
	put_member(f, sep, "actual", v->actual);
	put_member(f, sep, "explanation", v->explanation);
	put_member(f, sep, "replay", v->replay);
	if (lines)
		fprintf(f, ", \"state_index\": %" PRIu64 ", \"seq\": %" PRIu64 ", \"point_line\": %"
			PRIu64 "}", v->state_index, v->seq, v->point_line);
	else
		fputs("\n    }", f);
}

static const char *intern_invariant(const char *s)
{
	static const char *const names[] = {
		SIM_INV_REFERENCED_DATA, SIM_INV_SYNC_PROMISE, SIM_INV_JOURNAL_ATOMICITY,
		SIM_INV_FSCK, SIM_INV_CHECKER,
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(names[i], s))
			return names[i];
	return NULL;
}

static const char *jstr(const struct json *o, const char *k)
{
	const struct json *j = json_get(o, k);
	return j && j->type == JSON_STR ? j->str : "";
}

static uint64_t jnum(const struct json *o, const char *k)
{
	const struct json *j = json_get(o, k);
	return j && j->type == JSON_NUM ? strtoull(j->raw, NULL, 10) : 0;
}

/* K7's ranges as a JSON list of [first, last] pairs: on one line (a job's
 * results, read a line at a time), or laid out as json_write() lays out a
 * value at INDENT, so that a merged report equals the whole run's. */
static void put_ranges_json(FILE *f, const struct cli_ranges *rs, int indent)
{
	if (indent < 0 || !rs->n) {
		fputc('[', f);
		for (size_t i = 0; i < rs->n; i++)
			fprintf(f, "%s[%" PRIu64 ", %" PRIu64 "]", i ? ", " : "", rs->r[i][0],
				rs->r[i][1]);
		fputc(']', f);
		return;
	}
	fputc('[', f);
	for (size_t i = 0; i < rs->n; i++)
		fprintf(f, "%s\n%*s[\n%*s%" PRIu64 ",\n%*s%" PRIu64 "\n%*s]", i ? "," : "",
			indent + 2, "", indent + 4, "", rs->r[i][0], indent + 4, "", rs->r[i][1],
			indent + 2, "");
	fprintf(f, "\n%*s]", indent, "");
}

static void read_ranges_json(const struct json *a, struct cli_ranges *rs)
{
	for (size_t i = 0; a && a->type == JSON_ARR && i < a->n; i++) {
		const struct json *e = &a->kids[i];
		if (e->type == JSON_ARR && e->n == 2 && e->kids[0].raw && e->kids[1].raw)
			cli_ranges_add(rs, strtoull(e->kids[0].raw, NULL, 10),
				       strtoull(e->kids[1].raw, NULL, 10));
	}
}

/* Read a job's result file back into c. */
static int absorb(struct check *c, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, err[256];
	size_t cap = 0;
	ssize_t n;
	int rc = -1;

	if (!f)
		return -1;
	while ((n = getline(&line, &cap, f)) > 0) {
		struct json *j = json_parse(line, (size_t)n, err, sizeof(err));
		if (!j)
			goto out;
		if (json_get(j, "stats")) {
			const struct json *s = json_get(j, "stats");
			c->points_total = jnum(s, "points_total");
			c->points_named = jnum(s, "points_named");
			c->judged |= (unsigned)jnum(s, "judged");
			c->points_checked += jnum(s, "points_checked");
			c->points_unexplored += jnum(s, "points_unexplored");
			if (!c->unx.n)		/* every job's is the same */
				read_ranges_json(json_get(s, "unexplored_ranges"), &c->unx);
			c->states_checked = sat_add64(c->states_checked, jnum(s, "states_checked"));
			c->states_total = sat_add64(c->states_total, jnum(s, "states_total"));
			if (json_get(s, "reduced") && json_get(s, "reduced")->b)
				c->reduced = true;
			c->images_judged += jnum(s, "images_judged");
			c->violating_states += jnum(s, "violating");
			if (!json_get(s, "total_known")->b)
				c->total_known = false;
			c->states_all = sat_add64(c->states_all, jnum(s, "states_all"));
			if (!json_get(s, "all_known") || !json_get(s, "all_known")->b ||
			    c->states_all == UINT64_MAX)
				c->all_known = false;
			rc = 0;
		} else {
			struct viol *v = new_viol(c);
			v->invariant = intern_invariant(jstr(j, "invariant"));
			if (!v->invariant) {
				json_free(j);
				goto out;
			}
			v->point = jnum(j, "point");
			v->line = jnum(j, "line");
			v->point_line = jnum(j, "point_line");
			v->state_index = jnum(j, "state_index");
			v->seq = jnum(j, "seq");
			v->event = xstrdup(jstr(j, "event"));
			v->step = xstrdup(jstr(j, "step"));
			v->state = xstrdup(jstr(j, "state"));
			v->path = xstrdup(jstr(j, "path"));
			v->expected = xstrdup(jstr(j, "expected"));
			v->actual = xstrdup(jstr(j, "actual"));
			v->explanation = xstrdup(jstr(j, "explanation"));
			v->replay = xstrdup(jstr(j, "replay"));
		}
		json_free(j);
	}
out:
	free(line);
	fclose(f);
	return rc;
}

/* Reap the N = c->cl->jobs jobs PID into ST; with SHARE, print their
 * progress five times a second meanwhile. */
static void wait_jobs(struct check *c, const pid_t *pid, int *st, const struct job_share *share)
{
	unsigned n = c->cl->jobs, left = n;
	bool reaped[256] = { false };

	while (left) {
		for (unsigned j = 0; j < n; j++) {
			pid_t r;
			if (reaped[j])
				continue;
			r = waitpid(pid[j], &st[j], share ? WNOHANG : 0);
			if (r == pid[j] || (r < 0 && errno != EINTR)) {
				if (r < 0)
					st[j] = W_EXITCODE(EXIT_USAGE, 0);
				reaped[j] = true;
				left--;
			}
		}
		if (left && share) {
			struct timespec pause = { 0, 200 * 1000 * 1000 };
			show_jobs_progress(c, share, n);
			nanosleep(&pause, NULL);
		}
	}
}

/* Copy job J's standard error (DIR/J.err) to ours; if it said nothing and
 * died of a signal (status ST), say that. */
static void job_messages(const char *dir, unsigned j, int st)
{
	char path[4200], buf[4096];
	size_t n, total = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%u.err", dir, j);
	if ((f = fopen(path, "r"))) {
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			total += fwrite(buf, 1, n, stderr);
		fclose(f);
	}
	if (!total && WIFSIGNALED(st))
		cli_usage_error("-j: job %u of the check was killed by signal %d", j + 1,
				WTERMSIG(st));
}

static int write_job_results(struct check *c, const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	for (size_t i = 0; i < c->nv; i++) {
		put_viol_json(f, &c->v[i], true);
		fputc('\n', f);
	}
	fprintf(f, "{\"stats\": {\"points_total\": %" PRIu64 ", \"points_checked\": %" PRIu64
		", \"states_checked\": %" PRIu64 ", \"states_total\": %" PRIu64
		", \"images_judged\": %" PRIu64 ", \"violating\": %" PRIu64
		", \"total_known\": %s, \"reduced\": %s, \"points_unexplored\": %" PRIu64
		", \"points_named\": %" PRIu64 ", \"judged\": %u, \"states_all\": %" PRIu64
		", \"all_known\": %s, \"unexplored_ranges\": ",
		c->points_total, c->points_checked, c->states_checked, c->states_total,
		c->images_judged, c->violating_states, c->total_known ? "true" : "false",
		c->reduced ? "true" : "false", c->points_unexplored, c->points_named, c->judged,
		c->states_all, c->all_known ? "true" : "false");
	put_ranges_json(f, &c->unx, -1);
	fputs("}}\n", f);
	return fclose(f) ? -1 : 0;
}

static int cmp_viol(const void *a, const void *b)
{
	const struct viol *x = a, *y = b;
	if (x->point != y->point)
		return x->point < y->point ? -1 : 1;
	if (x->state_index != y->state_index)
		return x->state_index < y->state_index ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ---- K5: reports ---- */

static void config_json(FILE *f, const struct sim_config *cfg)
{
	char *buf = NULL, *line, *save;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	bool first = true;

	sim_config_print(cfg, m);
	fclose(m);
	fputc('{', f);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		fprintf(f, "%s\n    ", first ? "" : ",");
		json_put_str(f, line);
		fputs(": ", f);
		json_put_str(f, eq + 1);
		first = false;
	}
	fputs("\n  }", f);
	free(buf);
}

/* A report's directory is tried before the run, not after it: a typo in
 * --json must not cost a whole check.  The probe leaves nothing behind. */
static int probe_output(const char *opt, const char *path)
{
	struct sim_atomic a;
	struct stat st;
	char err[512];

	if (!path)
		return 0;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))	/* rename() would fail */
		return cli_usage_error("%s: %s: cannot write: %s", opt, path, strerror(EISDIR));
	if (sim_atomic_open(&a, path, err, sizeof(err)))
		return cli_usage_error("%s: %s", opt, err);
	sim_atomic_abort(&a);
	return 0;
}

static int write_json(struct check *c, double elapsed)
{
	struct sim_atomic a;
	char err[512];
	FILE *f;

	if (sim_atomic_open(&a, c->cl->json, err, sizeof(err)))
		return cli_usage_error("--json: %s", err);
	f = a.f;
	fprintf(f, "{\n  \"powercut\": \"%s\",\n  \"trace\": ", POWERCUT_VERSION);
	json_put_str(f, c->cl->trace);
	fputs(",\n  \"config\": ", f);
	config_json(f, sim_config(c->s));
	fprintf(f, ",\n  \"crash_points\": %" PRIu64 ",\n  \"points_checked\": %" PRIu64,
		c->points_total, c->points_checked);
	if (c->cl->shard_n)
		fprintf(f, ",\n  \"shard\": \"%u/%u\"", c->cl->shard_i, c->cl->shard_n);
	else
		fputs(",\n  \"shard\": null", f);
	fprintf(f, ",\n  \"states\": {\n    \"checked\": %" PRIu64 ",\n    \"total\": ",
		c->states_checked);
	if (c->total_known)
		fprintf(f, "%" PRIu64, c->states_total);
	else
		fputs("null", f);
	fputs(",\n    \"all\": ", f);	/* what the policy chose from */
	if (c->all_known)
		fprintf(f, "%" PRIu64, c->states_all);
	else
		fputs("null", f);
	fprintf(f, ",\n    \"exhaustive\": %s,\n    \"reduced\": %s,\n    \"policy\": ",
		c->exhaustive ? "true" : "false", c->reduced ? "true" : "false");
	{
		char pol[64];
		if (c->cl->states.mode == SIM_STATES_EXHAUSTIVE)
			snprintf(pol, sizeof(pol), "exhaustive");
		else
			snprintf(pol, sizeof(pol), "%s:%" PRIu64, c->cl->states.mode ==
				 SIM_STATES_BOUNDED ? "bounded" : "sample", c->cl->states.k);
		json_put_str(f, pol);
	}
	/* S4: what a sample drew depends on the seed; nothing else does */
	if (c->cl->states.mode == SIM_STATES_SAMPLE)
		fprintf(f, ",\n    \"seed\": %" PRIu64, c->cl->states.seed);
	else
		fputs(",\n    \"seed\": null", f);
	fprintf(f, ",\n    \"images_judged\": %" PRIu64 ",\n    \"violating\": %" PRIu64
		",\n    \"unexplored_points\": %" PRIu64 ",\n    \"unexplored_ranges\": ",
		c->images_judged, c->violating_states, c->points_unexplored);
	put_ranges_json(f, &c->unx, 4);
	fputs("\n  },\n  \"violations\": [", f);
	for (size_t i = 0; i < c->nv; i++) {
		fputs(i ? ",\n    " : "\n    ", f);
		put_viol_json(f, &c->v[i], false);
	}
	fprintf(f, "%s],\n  \"elapsed_s\": %.3f\n}\n", c->nv ? "\n  " : "", elapsed);
	if (sim_atomic_commit(&a, err, sizeof(err)))
		return cli_usage_error("--json: %s", err);
	return 0;
}

/* "point P (line L: EVENT), during STEP, state ID, written at line W":
 * the point's own line beside its event ("(initial state)" at point 0);
 * the line the violation is about (oracle.h), where it differs, after. */
static void put_where(FILE *f, const struct viol *v)
{
	if (v->event[0])
		fprintf(f, "point %" PRIu64 " (line %" PRIu64 ": %s)", v->point, v->point_line,
			v->event);
	else
		fprintf(f, "point %" PRIu64 " (initial state)", v->point);
	fprintf(f, "%s%s, state %s", v->step[0] ? ", during " : "", v->step, v->state);
	if (v->line != v->point_line)
		fprintf(f, ", %s line %" PRIu64, !strcmp(v->invariant, SIM_INV_SYNC_PROMISE) ?
			"promised at" : !strcmp(v->invariant, SIM_INV_REFERENCED_DATA) ?
			"written at" : "about", v->line);
}

static void xml_put(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
				fputc('?', f);
			else
				fputc(*s, f);
		}
	}
}

static void put_unexplored(FILE *f, const struct check *c, bool xml);

/* The JUnit test cases, one per invariant, in this order; a bit each. */
static const char *const junit_inv[] = {
	SIM_INV_REFERENCED_DATA, SIM_INV_SYNC_PROMISE, SIM_INV_JOURNAL_ATOMICITY,
	SIM_INV_FSCK, SIM_INV_CHECKER,
};
#define JUDGED_FILE	0xfu		/* fs_promise.h: the four above */
#define JUDGED_BLOCK	0x2u		/* promise.h: sync-promise */
#define JUDGED_CHECKER	0x10u

/* Which invariants this run's judges check (K3, the trace replayed): a
 * test case for an invariant nothing judged would pass without a test. */
static unsigned judged_invariants(const struct check *c)
{
	enum sim_world w = sim_world(c->s);
	unsigned m = c->cl->checker ? JUDGED_CHECKER : 0;

	if (w == SIM_WORLD_BLOCK)
		m |= JUDGED_BLOCK;
	if (w == SIM_WORLD_FILE && sim_model(c->s, SIM_ROLE_FS))
		m |= JUDGED_FILE;
	return m;
}

static int write_junit(struct check *c, double elapsed)
{
	const char *const *inv = junit_inv;
	struct sim_atomic a;
	char err[512];
	size_t failures = 0, tests = 0;
	FILE *f;

	for (size_t k = 0; k < 5; k++) {
		tests += (c->judged >> k) & 1;
		for (size_t i = 0; i < c->nv; i++)
			if (!strcmp(c->v[i].invariant, inv[k])) {
				failures++;
				break;
			}
	}
	if (sim_atomic_open(&a, c->cl->junit, err, sizeof(err)))
		return cli_usage_error("--junit: %s", err);
	f = a.f;
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
	      "  <testsuite name=\"powercut check ", f);
	xml_put(f, c->cl->trace);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" time=\"%.3f\">\n", tests,
		failures, elapsed);
	if (c->points_unexplored) {		/* K7 */
		fprintf(f, "    <properties>\n      <property name=\"powercut.unexplored_points\" "
			"value=\"%" PRIu64 "\"/>\n    </properties>\n", c->points_unexplored);
		fprintf(f, "    <system-out>");
		put_unexplored(f, c, true);
		fprintf(f, "</system-out>\n");
	}
	for (size_t k = 0; k < 5; k++) {
		size_t n = 0;
		if (!((c->judged >> k) & 1))
			continue;
		fprintf(f, "    <testcase classname=\"powercut.%s\" name=\"", inv[k]);
		xml_put(f, inv[k]);
		fprintf(f, ": %" PRIu64 " crash points, %" PRIu64 " states\">\n",
			c->points_checked, c->states_checked);
		for (size_t i = 0; i < c->nv; i++)
			n += !strcmp(c->v[i].invariant, inv[k]);
		if (n) {
			size_t shown = 0;
			fprintf(f, "      <failure message=\"%zu violation%s of %s\">", n,
				n == 1 ? "" : "s", inv[k]);
			for (size_t i = 0; i < c->nv && shown < 50; i++) {
				if (strcmp(c->v[i].invariant, inv[k]))
					continue;
				char *where = NULL;
				size_t wlen = 0;
				FILE *m = open_memstream(&where, &wlen);
				if (m) {
					put_where(m, &c->v[i]);
					fclose(m);
					xml_put(f, where);
					fputs(": ", f);
				}
				free(where);
				xml_put(f, c->v[i].explanation);
				fputs("\n  replay: ", f);
				xml_put(f, c->v[i].replay);
				fputc('\n', f);
				shown++;
			}
			fputs("</failure>\n", f);
		}
		fputs("    </testcase>\n", f);
	}
	fputs("  </testsuite>\n</testsuites>\n", f);
	if (sim_atomic_commit(&a, err, sizeof(err)))
		return cli_usage_error("--junit: %s", err);
	return 0;
}

/* K7: the crash points with histories the explorer did not try. */
static void put_unexplored(FILE *f, const struct check *c, bool xml)
{
	char line[1000], where[160];

	cli_ranges_format(&c->unx, where, sizeof(where), 6);
	snprintf(line, sizeof(line), "not explored: at %" PRIu64 " of %" PRIu64 " crash points "
		 "checked (%s of the trace), histories in which the commit timer fired at "
		 "an earlier event and file data was then written in place, or (where the "
		 "device may lose a completed commit's writes: nobarrier or a flush fault "
		 "on a volatile cache, early completion) fired at all (docs/semantics.md, "
		 "F15, \"Not explored\"); their states are not among those counted "
		 "(tools/timer-histories.py checks some, bounded)\n",
		 c->points_unexplored, c->points_checked, where);
	if (xml)
		xml_put(f, line);
	else
		fputs(line, f);
}

static void print_summary(const struct check *c)
{
	printf("check: %s\n", c->cl->trace);
	printf("crash points: %" PRIu64 " (checked %" PRIu64 "%s)\n", c->points_total,
	       c->points_checked, c->cl->shard_n ? ", this shard" : "");
	if (c->states_checked == UINT64_MAX)
		printf("states: every one of more than %" PRIu64 " checked", UINT64_MAX);
	else
		printf("states: %" PRIu64 " checked", c->states_checked);
	if (c->total_known)
		printf(" of %" PRIu64, c->states_total);
	if (c->exhaustive && c->reduced)
		printf(" (exhaustive; reduced: one judgement covers every state that agrees "
		       "with it on the bytes it read)\n");
	else if (c->exhaustive)
		printf(" (exhaustive)\n");
	else {
		if (c->cl->states.mode == SIM_STATES_BOUNDED)
			printf(" (bounded:%" PRIu64 ": only states with at most %" PRIu64
			       " volatile groups off their base choice", c->cl->states.k,
			       c->cl->states.k);
		else
			printf(" (sample:%" PRIu64 " per point, seed %" PRIu64 ": not exhaustive",
			       c->cl->states.k, c->cl->states.seed);
		if (c->all_known)	/* what it chose from */
			printf("; %" PRIu64 " states in all)\n", c->states_all);
		else
			printf("; more than %" PRIu64 " states in all)\n", UINT64_MAX);
	}
	if (c->points_unexplored)
		put_unexplored(stdout, c, false);
	printf("%s: %" PRIu64 "\n", c->reduced ? "judgements" : "distinct images judged",
	       c->images_judged);
	printf("violations: %zu", c->nv);
	if (c->nv)
		printf(" (in %" PRIu64 " %s; each reported at its first state per point and "
		       "path)", c->violating_states, c->reduced ? "judgements" : "distinct images");
	putchar('\n');
	for (size_t i = 0; i < c->nv && i < MAX_PRINTED; i++) {
		const struct viol *v = &c->v[i];
		printf("  [%s] ", v->invariant);
		put_where(stdout, v);
		putchar('\n');
		if (v->path[0])
			printf("    path:     %s\n", v->path);
		printf("    expected: %s\n    actual:   %s\n    why:      %s\n    replay:   %s\n",
		       v->expected, v->actual, v->explanation, v->replay);
	}
	if (c->nv > MAX_PRINTED)
		printf("  ... %zu more (all are in --json)\n", c->nv - MAX_PRINTED);
}

static void check_free(struct check *c)
{
	for (size_t i = 0; i < c->nv; i++) {
		struct viol *v = &c->v[i];
		free(v->event); free(v->step); free(v->state); free(v->path);
		free(v->expected); free(v->actual); free(v->explanation); free(v->replay);
	}
	free(c->v);
	for (size_t i = 0; i < c->nbad; i++)
		free(c->bad_msg[i]);
	free(c->bad_msg);
	hset_free(&c->seen);
	hset_free(&c->reported);
	cli_ranges_free(&c->unx);
	hset_free(&c->checker_cache);
	tree_clear(&c->tree);
	free(c->tree.e);
	free(c->tree.first_of);
	sim_promises_destroy(c->promises);
	sim_fs_promises_destroy(c->fs_promises);
	sim_explorer_destroy(c->x);
	sim_destroy(c->s);
}

void sim_check_help(FILE *out)
{
	fprintf(out,
		"usage: powercut check TRACE [config options] [crash options]\n"
		"\n"
		"Cuts the power at every crash point, builds every crash state, recovers it\n"
		"and judges it: the models' invariants (referenced-data, sync-promise,\n"
		"journal-atomicity, fsck) and, with --checker, the application's own check.\n"
		"Exit 0 no violation, 1 violations, 2 bad usage or input.\n"
		"\n"
		"Crash options:\n"
		"  --points all|N|A-B|mark:NAME   which crash points (default all)\n"
		"  --states exhaustive|bounded:K|sample:K   (default exhaustive)\n"
		"  --seed N                seed for sample:K\n"
		"  --max-states N          refuse more than N states (reduced: judgements) at one\n"
		"                          point (default 1e8; reduced: 1e5 judgements at a point\n"
		"                          of more states; 0: no limit)\n"
		"  --no-reduce             judge every exhaustive state one by one (without it,\n"
		"                          one judgement covers every state that agrees with it\n"
		"                          on the bytes it read: docs/semantics.md K6)\n"
		"  -j N, --jobs N          N worker processes; results identical to -j 1\n"
		"  --shard I/N             check only shard I of N (points with index %% N = I-1);\n"
		"                          `powercut merge` combines the shards' --json reports\n"
		"  --json FILE             machine-readable report (written atomically)\n"
		"  --junit FILE            JUnit XML for CI systems\n"
		"  --progress, --no-progress   progress on standard error (default: if a terminal)\n"
		"  --at POINT --state ID   replay exactly one crash state and print its verdict\n"
		"  --checker CMD           run CMD on each distinct crash image (materialized in a\n"
		"                          fresh directory, passed as the last argument): exit 0\n"
		"                          consistent, anything else inconsistent.  CMD runs in\n"
		"                          that directory; a relative program name is taken from\n"
		"                          where powercut started, which $POWERCUT_CWD names.\n"
		"                          A file trace's image is the filesystem recovered\n"
		"                          from it, written out as a directory tree; CMD runs\n"
		"                          at its root, given the root (or --checker-file)\n"
		"  --checker-file PATH     name the materialized image after PATH; on a file\n"
		"                          trace, the file under the tree's root CMD is given\n"
		"  --base-image FILE       a block trace's device starts from FILE, not zeros\n"
		"\n%s", cli_config_help);
}

int sim_check_main(int argc, char **argv)
{
	struct cmdline cl;
	struct check c;
	double t0 = now_s();
	int rc;

	if ((rc = cli_parse(argc, argv, CLI_CHECK, &cl)))
		return rc;
	if (cl.help) {
		sim_check_help(stdout);
		return EXIT_OK;
	}
	memset(&c, 0, sizeof(c));
	c.cl = &cl;
	c.jobs = 1;
	c.total_known = true;
	c.all_known = true;
	/* a replay (--at) tries one state: it covers no point's every state */
	c.exhaustive = cl.states.mode == SIM_STATES_EXHAUSTIVE && cl.at != CLI_AT_POINT;
	if (cl.at == CLI_AT_POINT)
		c.total_known = c.all_known = false;
	/* K6: reduce when every judge's reads are seen: ours, and a checker
	 * on a file trace, which sees only the tree the model recovers
	 * (tree_load reads it through the image); a checker of a CPU or block
	 * trace reads the whole image unseen.  The trace's world is known
	 * only at its first point: check_judges. */
	cl.states.reduce = !cl.checker;
	/* S2: a judgement costs what a state of plain enumeration does, but
	 * the reduced count is known only by judging, so where a point has
	 * more states than the limit, its default limit of judgements is
	 * lower: seconds, not hours, before the point is refused */
	if (!cl.max_states_set)
		cl.states.max_judgements = SIM_MAX_JUDGEMENTS;
	if ((rc = parse_points(&c, cl.points)))
		return rc;
	if ((rc = probe_output("--json", cl.json)) || (rc = probe_output("--junit", cl.junit)))
		return rc;
	if (cl.checker)
		prepare_checker(&c);
	if (cl.at == CLI_AT_POINT && (cl.shard_n || cl.jobs > 1 || cl.points))
		return cli_usage_error("check: --at replays one point; it does not combine with "
				       "--points, --shard or -j");
	if (cl.at == CLI_AT_POINT && !cl.state_id)
		return cli_usage_error("check: --at POINT needs --state ID");
	/* every job replays the trace: a pipe would be read by the first */
	if (cl.jobs > 1 && !strcmp(cl.trace, "-"))
		return cli_usage_error("check: -j %u replays the trace in every job; standard "
				       "input can be read once: give TRACE as a file", cl.jobs);
	c.progress = cl.progress == 1 || (cl.progress == -1 && isatty(2) && cl.at != CLI_AT_POINT);
	clock_gettime(CLOCK_MONOTONIC, &c.t0);

	if (cl.jobs == 1) {
		rc = check_run(&c);
		if (!rc)
			c.judged = judged_invariants(&c);
	} else {
		/* K4: J processes, each replaying the trace and checking its share */
		char *dir = jobs_left.dir, path[4200];
		const char *tmp = getenv("TMPDIR");
		pid_t *pid = jobs_left.pid;
		int st[256];
		bool bad = false;
		struct job_share *share = NULL;

		snprintf(dir, sizeof(jobs_left.dir), "%s/powercut-jobs-XXXXXX",
			 tmp && tmp[0] && strlen(tmp) < 3000 ? tmp : "/tmp");
		if (!mkdtemp(dir))
			return cli_usage_error("-j: cannot make a directory in %s: %s",
					       tmp && tmp[0] ? tmp : "/tmp", strerror(errno));
		jobs_left.file = calloc(2 * (size_t)cl.jobs, sizeof(*jobs_left.file));
		if (!jobs_left.file)
			abort();
		for (unsigned j = 0; j < cl.jobs; j++) {
			snprintf(jobs_left.file[2 * j], sizeof(jobs_left.file[0]), "%s/%u", dir, j);
			snprintf(jobs_left.file[2 * j + 1], sizeof(jobs_left.file[0]), "%s/%u.err",
				 dir, j);
		}
		jobs_left.nfile = 2 * cl.jobs;
		jobs_left.njob = 0;
		/* a signal between here and the last fork waits until every
		 * job is known; a job restores the default handling */
		jobs_signals_block(true);
		jobs_signals_set(jobs_on_signal);
		if (c.progress) {	/* the jobs count, this process prints */
			share = mmap(NULL, cl.jobs * sizeof(*share), PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
			if (share == MAP_FAILED)
				share = NULL;	/* no progress line, the same check */
		}
		fflush(NULL);
		for (unsigned j = 0; j < cl.jobs; j++) {
			pid[j] = fork();
			if (pid[j] < 0) {
				int e = errno;
				jobs_abandon();
				jobs_signals_set(SIG_DFL);
				jobs_signals_block(false);
				return cli_usage_error("-j: fork: %s", strerror(e));
			}
			jobs_left.njob = j + 1;
			if (pid[j] == 0) {
				/* its messages to DIR/J.err: the parent prints one */
				int efd;
				jobs_signals_set(SIG_DFL);
				jobs_signals_block(false);
				snprintf(path, sizeof(path), "%s/%u.err", dir, j);
				efd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
				if (efd >= 0) {
					dup2(efd, 2);
					close(efd);
				}
				c.job = j;
				c.jobs = cl.jobs;
				c.share = share ? &share[j] : NULL;
				c.progress = share != NULL;
				rc = check_run(&c);
				if (!rc)
					c.judged = judged_invariants(&c);
				snprintf(path, sizeof(path), "%s/%u", dir, j);
				if (!rc && write_job_results(&c, path))
					rc = cli_usage_error("-j: cannot write %s", path);
				fflush(NULL);
				_exit(rc);
			}
		}
		jobs_signals_block(false);
		wait_jobs(&c, pid, st, share);
		if (share)
			munmap(share, cl.jobs * sizeof(*share));
		for (unsigned j = 0; j < cl.jobs; j++) {
			if (!WIFEXITED(st[j]) || WEXITSTATUS(st[j]) != 0) {
				/* every job meets a bad input: say it once, the
				 * first failed job's words */
				if (!bad)
					job_messages(dir, j, st[j]);
				bad = true;
			}
		}
		for (unsigned j = 0; j < cl.jobs && !bad; j++)
			job_messages(dir, j, 0);	/* anything else they said */
		if (!bad) {
			/* the parent needs a simulator for the report's configuration */
			char err[256];
			if (sim_create(&c.s, &cl.cfg, err, sizeof(err)))
				bad = true;
			for (unsigned j = 0; j < cl.jobs && !bad; j++) {
				snprintf(path, sizeof(path), "%s/%u", dir, j);
				if (absorb(&c, path))
					bad = true;
			}
		}
		jobs_signals_block(true);
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		jobs_signals_set(SIG_DFL);
		jobs_signals_block(false);
		jobs_left.njob = jobs_left.nfile = 0;
		free(jobs_left.file);
		jobs_left.file = NULL;
		if (bad) {
			check_free(&c);
			return EXIT_USAGE;	/* the job printed why */
		}
		/* the configuration as the jobs saw it, trace config lines included */
		if (cli_read_trace_config(&cl.cfg, cl.trace)) {
			check_free(&c);
			return EXIT_USAGE;
		}
		if (c.nv)
			qsort(c.v, c.nv, sizeof(*c.v), cmp_viol);
	}
	if (rc) {
		check_free(&c);
		return rc;
	}
	show_progress(&c, true);
	if (cl.at != CLI_AT_POINT && c.pts != PTS_ALL && c.points_named == 0) {
		/* a typo in a mark's name must not pass as a clean run */
		rc = c.pts == PTS_MARK
			? cli_usage_error("%s: --points %s: no crash point is at a mark of that "
					  "name", cl.trace, cl.points)
			: cli_usage_error("%s: --points %s: no such crash point (the trace has %"
					  PRIu64 ", numbered from 0)", cl.trace, cl.points,
					  c.points_total);
		check_free(&c);
		return rc;
	}
	if (cl.at == CLI_AT_POINT && c.points_checked == 0) {
		rc = cli_usage_error("%s: --at %" PRIu64 ": no such crash point (the trace has %"
				     PRIu64 ", numbered from 0)", cl.trace, cl.at_point,
				     c.points_total);
		check_free(&c);
		return rc;
	}
	/* the reports before the summary: a reader of standard output that
	 * stops early (| head) must not cost them (SIGPIPE) */
	rc = 0;
	if (cl.json)
		rc = write_json(&c, now_s() - t0);
	if (!rc && cl.junit)
		rc = write_junit(&c, now_s() - t0);
	if (rc) {
		check_free(&c);
		return rc;
	}
	if (cl.at == CLI_AT_POINT) {
		if (!c.nv)
			printf("no violation: this state recovers as expected\n");
		for (size_t i = 0; i < c.nv; i++)
			printf("[%s] %s\n  expected: %s\n  actual:   %s\n  why:      %s\n",
			       c.v[i].invariant, c.v[i].path, c.v[i].expected, c.v[i].actual,
			       c.v[i].explanation);
	} else {
		print_summary(&c);
	}
	rc = c.nv ? EXIT_VIOLATIONS : EXIT_OK;
	if (fflush(stdout))
		rc = cli_usage_error("writing the output: %s", strerror(errno));
	check_free(&c);
	return rc;
}

/* ---- merge ---- */

void sim_merge_help(FILE *out)
{
	fprintf(out,
		"usage: powercut merge REPORT.json... -o REPORT.json\n"
		"\n"
		"Combines the --json reports of the shards of one run (check --shard I/N,\n"
		"every I from 1 to N exactly once, same trace, configuration and states\n"
		"policy) into the report of the whole run: equal, apart from elapsed_s, to\n"
		"the report of the same check without --shard.\n");
}

static void set_raw(struct json *j, const char *text)
{
	free(j->raw);
	j->raw = xstrdup(text);
	j->type = JSON_NUM;
}

static struct json *jmut(struct json *o, const char *k)
{
	return (struct json *)json_get(o, k);
}

struct mv {				/* a violation being merged */
	uint64_t point;
	size_t shard, index;
	struct json val;
};

static int cmp_mv(const void *a, const void *b)
{
	const struct mv *x = a, *y = b;
	if (x->point != y->point)
		return x->point < y->point ? -1 : 1;
	if (x->shard != y->shard)
		return x->shard < y->shard ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

int sim_merge_main(int argc, char **argv)
{
	struct json **rep = NULL;
	const char *out = NULL;
	const char **in = NULL;
	size_t nin = 0;
	unsigned shard_n = 0;
	bool *have = NULL;
	struct mv *mv = NULL;
	size_t nmv = 0;
	int rc = EXIT_USAGE;
	char err[512], num[64];

	in = calloc((size_t)argc, sizeof(*in));
	rep = calloc((size_t)argc, sizeof(*rep));
	if (!in || !rep)
		abort();
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help")) {
			sim_merge_help(stdout);
			rc = EXIT_OK;
			goto out;
		}
		if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
			if (i + 1 >= argc) {
				cli_usage_error("merge: -o needs a file");
				goto out;
			}
			out = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			cli_usage_error("merge: unknown option '%s' (see powercut merge --help)", argv[i]);
			goto out;
		} else {
			in[nin++] = argv[i];
		}
	}
	if (!out || nin == 0) {
		cli_usage_error("merge: usage: powercut merge REPORT.json... -o REPORT.json");
		goto out;
	}
	for (size_t i = 0; i < nin; i++) {
		size_t len;
		char *text = json_slurp(in[i], &len);
		const struct json *sh;
		unsigned si, sn;
		if (!text) {
			cli_usage_error("%s: cannot read: %s", in[i], strerror(errno));
			goto out;
		}
		rep[i] = json_parse(text, len, err, sizeof(err));
		free(text);
		if (!rep[i]) {
			cli_usage_error("%s:%s", in[i], err);
			goto out;
		}
		sh = json_get(rep[i], "shard");
		if (!json_get(rep[i], "powercut") || !json_get(rep[i], "violations") ||
		    !json_get(rep[i], "states") || !sh) {
			cli_usage_error("%s:1: not a powercut check report", in[i]);
			goto out;
		}
		{
			/* the counts merge adds: a report edited into something
			 * else is refused, not counted as 0 */
			static const char *const top[] = { "crash_points", "points_checked" };
			static const char *const sts[] = {
				"checked", "images_judged", "violating", "unexplored_points",
			};
			const char *bad = NULL;
			const struct json *m;
			for (size_t k = 0; k < 2 && !bad; k++)
				if (!(m = json_get(rep[i], top[k])) || m->type != JSON_NUM ||
				    m->raw[0] == '-')
					bad = top[k];
			for (size_t k = 0; k < 4 && !bad; k++)
				if (!(m = json_get(json_get(rep[i], "states"), sts[k])) ||
				    m->type != JSON_NUM || m->raw[0] == '-')
					bad = sts[k];
			if (bad) {
				cli_usage_error("%s:1: \"%s\" is not a count", in[i], bad);
				goto out;
			}
		}
		if (sh->type != JSON_STR || sscanf(sh->str, "%u/%u", &si, &sn) != 2 ||
		    si < 1 || si > sn) {
			cli_usage_error("%s:1: not the report of a shard (no \"shard\": \"I/N\")", in[i]);
			goto out;
		}
		if (!shard_n) {
			shard_n = sn;
			have = calloc(sn + 1, sizeof(*have));
			if (!have)
				abort();
		}
		if (sn != shard_n) {
			cli_usage_error("%s:1: shard %s of %u, but %s is of %u", in[i], sh->str, sn,
					in[0], shard_n);
			goto out;
		}
		if (have[si]) {
			cli_usage_error("%s:1: shard %u/%u given twice", in[i], si, sn);
			goto out;
		}
		have[si] = true;
		/* same run: version, trace, config, crash points, policy */
		{
			static const char *const same[] = { "powercut", "trace", "crash_points" };
			for (size_t k = 0; k < 3; k++) {
				char *a = NULL, *b = NULL;
				size_t la, lb;
				FILE *fa = open_memstream(&a, &la), *fb = open_memstream(&b, &lb);
				const struct json *ja = json_get(rep[0], same[k]), *jb = json_get(rep[i], same[k]);
				if (ja) json_write(fa, ja, 0);
				if (jb) json_write(fb, jb, 0);
				fclose(fa);
				fclose(fb);
				bool eq = ja && jb && la == lb && !memcmp(a, b, la);
				free(a);
				free(b);
				if (!eq) {
					cli_usage_error("%s:1: \"%s\" differs from %s's: not shards of one run",
							in[i], same[k], in[0]);
					goto out;
				}
			}
			char *a = NULL, *b = NULL;
			size_t la, lb;
			FILE *fa = open_memstream(&a, &la), *fb = open_memstream(&b, &lb);
			json_write(fa, json_get(rep[0], "config"), 0);
			json_write(fb, json_get(rep[i], "config"), 0);
			json_write(fa, json_get(json_get(rep[0], "states"), "policy"), 0);
			json_write(fb, json_get(json_get(rep[i], "states"), "policy"), 0);
			if (json_get(json_get(rep[0], "states"), "seed"))
				json_write(fa, json_get(json_get(rep[0], "states"), "seed"), 0);
			if (json_get(json_get(rep[i], "states"), "seed"))
				json_write(fb, json_get(json_get(rep[i], "states"), "seed"), 0);
			fclose(fa);
			fclose(fb);
			bool eq = la == lb && !memcmp(a, b, la);
			free(a);
			free(b);
			if (!eq) {
				cli_usage_error("%s:1: configuration or states policy (or seed) differs "
						"from %s's",
						in[i], in[0]);
				goto out;
			}
		}
	}
	for (unsigned si = 1; si <= shard_n; si++)
		if (!have[si]) {
			cli_usage_error("merge: shard %u/%u is missing", si, shard_n);
			goto out;
		}
	{
		uint64_t points = 0, checked = 0, total = 0, images = 0, violating = 0;
		uint64_t unexplored = 0, all = 0;
		bool total_known = true, all_known = true, exhaustive = true;
		double elapsed = 0;
		struct json *root = rep[0], *states = jmut(root, "states"), *viols;

		for (size_t i = 0; i < nin; i++) {
			const struct json *st = json_get(rep[i], "states");
			const struct json *t = json_get(st, "total");
			const struct json *v = json_get(rep[i], "violations");
			const struct json *e = json_get(rep[i], "elapsed_s");
			unsigned si = 0, sn;
			sscanf(json_get(rep[i], "shard")->str, "%u/%u", &si, &sn);
			points += jnum(rep[i], "points_checked");
			checked = sat_add64(checked, jnum(st, "checked"));
			images += jnum(st, "images_judged");
			violating += jnum(st, "violating");
			unexplored += jnum(st, "unexplored_points");
			if (t && t->type == JSON_NUM)
				total = sat_add64(total, strtoull(t->raw, NULL, 10));
			else
				total_known = false;
			if (json_get(st, "all") && json_get(st, "all")->type == JSON_NUM)
				all = sat_add64(all, strtoull(json_get(st, "all")->raw, NULL, 10));
			else
				all_known = false;
			if (!json_get(st, "exhaustive") || !json_get(st, "exhaustive")->b)
				exhaustive = false;
			if (e && e->type == JSON_NUM && e->num > elapsed)
				elapsed = e->num;
			if (!v || v->type != JSON_ARR) {
				cli_usage_error("%s:1: \"violations\" is not a list", in[i]);
				goto out;
			}
			for (size_t k = 0; k < v->n; k++) {
				mv = realloc(mv, (nmv + 1) * sizeof(*mv));
				if (!mv)
					abort();
				mv[nmv].point = jnum(&v->kids[k], "point");
				mv[nmv].shard = si;
				mv[nmv].index = k;
				mv[nmv].val = v->kids[k];
				nmv++;
			}
		}
		if (nmv)
			qsort(mv, nmv, sizeof(*mv), cmp_mv);
		snprintf(num, sizeof(num), "%" PRIu64, points);
		set_raw(jmut(root, "points_checked"), num);
		{
			struct json *sh = jmut(root, "shard");
			free(sh->str);
			sh->str = NULL;
			sh->type = JSON_NULL;
		}
		snprintf(num, sizeof(num), "%" PRIu64, checked);
		set_raw(jmut(states, "checked"), num);
		if (total_known) {
			snprintf(num, sizeof(num), "%" PRIu64, total);
			set_raw(jmut(states, "total"), num);
		} else {
			struct json *t = jmut(states, "total");
			free(t->raw);
			t->raw = NULL;
			t->type = JSON_NULL;
		}
		if (jmut(states, "all") && all_known && all != UINT64_MAX) {
			snprintf(num, sizeof(num), "%" PRIu64, all);
			set_raw(jmut(states, "all"), num);
		} else if (jmut(states, "all")) {
			struct json *t = jmut(states, "all");
			free(t->raw);
			t->raw = NULL;
			t->type = JSON_NULL;
		}
		jmut(states, "exhaustive")->b = exhaustive;
		snprintf(num, sizeof(num), "%" PRIu64, images);
		set_raw(jmut(states, "images_judged"), num);
		if (jmut(states, "violating")) {
			snprintf(num, sizeof(num), "%" PRIu64, violating);
			set_raw(jmut(states, "violating"), num);
		}
		if (jmut(states, "unexplored_points")) {
			snprintf(num, sizeof(num), "%" PRIu64, unexplored);
			set_raw(jmut(states, "unexplored_points"), num);
		}
		snprintf(num, sizeof(num), "%.3f", elapsed);
		set_raw(jmut(root, "elapsed_s"), num);
		/* the merged violations: the shards' own nodes, in merged order;
		 * ownership moves to root, the other reports' arrays are emptied */
		viols = jmut(root, "violations");
		{
			struct json *kids = calloc(nmv ? nmv : 1, sizeof(*kids));
			if (!kids)
				abort();
			for (size_t k = 0; k < nmv; k++)
				kids[k] = mv[k].val;
			for (size_t i = 0; i < nin; i++) {
				struct json *v = jmut(rep[i], "violations");
				free(v->kids);
				v->kids = NULL;
				v->n = 0;
			}
			viols->kids = kids;
			viols->n = nmv;
		}
		{
			struct sim_atomic a;
			if (sim_atomic_open(&a, out, err, sizeof(err))) {
				cli_usage_error("merge: %s", err);
				goto out;
			}
			json_write(a.f, root, 0);
			fputc('\n', a.f);
			if (sim_atomic_commit(&a, err, sizeof(err))) {
				cli_usage_error("merge: %s", err);
				goto out;
			}
		}
		printf("merged %zu shard reports: %" PRIu64 " points, %" PRIu64 " states, %zu "
		       "violations -> %s\n", nin, points, checked, nmv, out);
		rc = EXIT_OK;
	}
out:
	for (size_t i = 0; i < nin; i++)
		json_free(rep[i]);
	free(rep);
	free(in);
	free(have);
	free(mv);
	return rc;
}
