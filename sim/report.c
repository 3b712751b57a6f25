/*
 * report.c — `powercut report REPORT.json -o OUT.html`: a check report as
 * one self-contained HTML page (no script, no file beside it): the facts
 * of the run, a crash-point timeline, every violation, and the latency
 * of the trace's fsync, fdatasync and msync calls.
 *
 * Method.
 *   R1. Input.  A report `check --json` or `merge` wrote; anything else is
 *       refused with one line, "powercut: FILE:LINE: what is wrong", exit
 *       2, and no output file (the page is written to a temporary name
 *       and renamed, sim_atomic).
 *   R2. Timeline.  One row per invariant that has violations, points on
 *       the horizontal axis (0 .. crash_points - 1, scaled to the width):
 *       a mark at each violating point, with the violation in its tooltip
 *       (<title>); a last row shades the points K7 says were not explored.
 *   R3. Latency.  The report does not hold latencies, so the trace it
 *       names is replayed (as `powercut run` does, with the report's
 *       configuration) and the filesystem model's fsync, fdatasync and
 *       msync latencies are drawn as a histogram over power-of-two
 *       buckets of cycles, with p50, p99 and the maximum.  A relative
 *       trace path not found from here is looked for beside the report.
 *       A trace that cannot be read (a report from another machine) gets
 *       a note, not an error; one that no longer replays is an error.
 *   R4. Deterministic: the page depends only on the report and the trace
 *       (no time stamps, elapsed_s left out).
 */
#include "check.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fs_model/jfs.h"
#include "cli.h"
#include "config.h"
#include "json.h"
#include "latency.h"
#include "sim.h"

#define TL_WIDTH	960		/* timeline plot width, pixels */
#define TL_ROW		22
#define TL_LEFT		150
#define NBUCKET		64

void sim_report_help(FILE *out)
{
	fprintf(out,
		"usage: powercut report REPORT.json -o OUT.html\n"
		"\n"
		"Writes the report of `powercut check --json` (or `powercut merge`) as one\n"
		"self-contained HTML page: the run's facts, a timeline of the crash\n"
		"points with each violation marked on it and the points not explored\n"
		"shaded, every violation with its replay command, and a histogram of\n"
		"the trace's fsync, fdatasync and msync latencies in cycles (the trace\n"
		"the report names is replayed for them, as `powercut run` would).\n"
		"Exit 0, or 2 on bad input (one line; no output file is left).\n");
}

/* HTML text: S escaped. */
static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static const char *str_of(const struct json *j, const char *key)
{
	const struct json *m = j ? json_get(j, key) : NULL;

	return m && m->type == JSON_STR ? m->str : "";
}

/* A member that is a non-negative integer, or -1. */
static int64_t num_of(const struct json *j, const char *key)
{
	const struct json *m = j ? json_get(j, key) : NULL;

	if (!m || m->type != JSON_NUM || m->num < 0 || m->num > 9.2e18)
		return -1;
	return (int64_t)strtoull(m->raw, NULL, 10);
}

/* ---- R3: the trace's latencies ---- */

struct latency {
	bool replayed;
	char why[600];			/* when not replayed */
	uint64_t n, p50, p99, max;
	uint64_t count[NBUCKET];	/* calls in [2^k, 2^(k+1)) cycles */
};

/* Replay REP's trace with REP's configuration.  0, or EXIT_USAGE after the
 * one-line message (the trace exists but does not replay).  A relative
 * trace path is the check's, from its current directory: when it is not
 * there from ours, the trace is looked for beside the report NAME (a
 * report made where the trace is, read from elsewhere). */
static int replay_latency(const struct json *rep, const char *name, struct latency *l)
{
	const struct json *cfgj = json_get(rep, "config");
	const char *trace = str_of(rep, "trace");
	struct sim_config cfg;
	struct sim *s;
	char err[512], beside[4096];
	FILE *f;
	int rc, cb = 0;

	if (!trace[0] || !strcmp(trace, "-")) {
		snprintf(l->why, sizeof(l->why), "the report names no trace file to replay");
		return 0;
	}
	if (!(f = fopen(trace, "r"))) {
		int e = errno;

		/* beside the report: a path named in the report, as config.c
		 * finds one named in a trace */
		if (sim_resolve_path(name, trace, beside, sizeof(beside)) || !strcmp(beside, trace)) {
			snprintf(l->why, sizeof(l->why), "the trace %.400s cannot be read here: %s",
				 trace, strerror(e));
			return 0;
		}
		if (!(f = fopen(beside, "r"))) {
			snprintf(l->why, sizeof(l->why), "the trace %.200s cannot be read here "
				 "(%s), nor beside the report as %.200s", trace, strerror(e), beside);
			return 0;
		}
		trace = beside;
	}
	fclose(f);
	sim_config_init(&cfg);
	for (size_t i = 0; cfgj && cfgj->type == JSON_OBJ && i < cfgj->n; i++) {
		const struct json *m = &cfgj->kids[i];
		if (m->type != JSON_STR)
			return cli_usage_error("%s:1: config member \"%s\" is not a string", name,
					       m->key);
		char domain[16];
		const char *v = m->str, *file = strstr(v, " file=");
		/* "eadr file=PATH": the machine file's parameters are in the
		 * report already; its domain is all it adds */
		if (!strcmp(m->key, "machine") && file && (size_t)(file - v) < sizeof(domain)) {
			snprintf(domain, sizeof(domain), "%.*s", (int)(file - v), v);
			v = domain;
		}
		if (sim_config_set(&cfg, m->key, v, SIM_FROM_FLAG, err, sizeof(err)))
			return cli_usage_error("%s:1: config: %s", name, err);
	}
	if (sim_config_check(&cfg, err, sizeof(err), NULL))
		return cli_usage_error("%s:1: config: %s", name, err);
	if (sim_create(&s, &cfg, err, sizeof(err)))
		return cli_usage_error("%s", err);
	rc = cli_replay(s, trace, &cb);
	if (!rc) {
		void *fs = sim_model(s, SIM_ROLE_FS);
		struct lat_rec *lr = fs ? jfs_model_latencies(fs) : NULL;

		l->replayed = true;
		l->n = lr ? lr->n : 0;
		if (l->n) {
			l->p50 = lat_p50(lr);
			l->p99 = lat_p99(lr);
			l->max = lr->max;
			lat_log2_counts(lr, l->count);
		}
	}
	sim_destroy(s);
	return rc;
}

static void put_latency(FILE *f, const struct latency *l)
{
	const uint64_t *count = l->count;
	uint64_t top = 0;
	unsigned lo = NBUCKET, hi = 0, w = 28, h = 180;

	fputs("<h2>fsync, fdatasync and msync latency</h2>\n", f);
	if (!l->replayed) {
		fputs("<p class=\"note\">Not drawn: ", f);
		esc(f, l->why);
		fputs(".</p>\n", f);
		return;
	}
	if (!l->n) {
		fputs("<p class=\"note\">The trace makes no fsync, fdatasync or msync call.</p>\n", f);
		return;
	}
	fprintf(f, "<p>%" PRIu64 " call%s; p50 %" PRIu64 " cycles, p99 %" PRIu64
		" cycles, max %" PRIu64 " cycles (the trace replayed with the report's "
		"configuration, as <code>powercut run</code> reports them).</p>\n", l->n,
		l->n == 1 ? "" : "s", l->p50, l->p99, l->max);
	for (unsigned k = 0; k < NBUCKET; k++) {
		if (!count[k])
			continue;
		lo = k < lo ? k : lo;
		hi = k > hi ? k : hi;
	}
	for (unsigned k = lo; k <= hi; k++)
		top = count[k] > top ? count[k] : top;
	fprintf(f, "<svg class=\"hist\" width=\"%u\" height=\"%u\" "
		"xmlns=\"http://www.w3.org/2000/svg\">\n", 60 + (hi - lo + 1) * (w + 4), h + 60);
	for (unsigned k = lo; k <= hi; k++) {
		unsigned x = 50 + (k - lo) * (w + 4);
		unsigned bh = (unsigned)(count[k] * h / top);
		fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" class=\"bar\">"
			"<title>%" PRIu64 " call%s of %" PRIu64 " to %" PRIu64 " cycles</title></rect>\n",
			x, 10 + h - bh, w, bh, count[k], count[k] == 1 ? "" : "s",
			(uint64_t)1 << k, k < 63 ? ((uint64_t)2 << k) - 1 : UINT64_MAX);
		if (count[k])
			fprintf(f, "<text x=\"%u\" y=\"%u\" class=\"small\" text-anchor=\"middle\">%"
				PRIu64 "</text>\n", x + w / 2, 8 + h - bh, count[k]);
		fprintf(f, "<text x=\"%u\" y=\"%u\" class=\"small\" text-anchor=\"end\" "
			"transform=\"rotate(-45 %u %u)\">2^%u</text>\n", x + w / 2, h + 26,
			x + w / 2, h + 26, k);
	}
	fprintf(f, "<text x=\"10\" y=\"%u\" class=\"small\">cycles</text>\n</svg>\n", h + 55);
}

/* ---- R2: the timeline ---- */

static const char *const inv_order[] = {
	"referenced-data", "sync-promise", "journal-atomicity", "fsck", "checker",
};

static const char *inv_class(size_t k)
{
	static const char *const cls[] = { "i0", "i1", "i2", "i3", "i4" };
	return cls[k];
}

static double x_of(uint64_t p, uint64_t npoints)
{
	return TL_LEFT + (npoints > 1 ? (double)p * TL_WIDTH / (double)(npoints - 1) : 0);
}

static void put_timeline(FILE *f, const struct json *rep, uint64_t npoints)
{
	const struct json *v = json_get(rep, "violations");
	const struct json *unx = json_get(json_get(rep, "states"), "unexplored_ranges");
	bool have[5] = { false };
	int row[5];
	int rows = 0, unx_row = -1;
	unsigned height;

	for (size_t i = 0; v && i < v->n; i++)
		for (size_t k = 0; k < 5; k++)
			if (!strcmp(str_of(&v->kids[i], "invariant"), inv_order[k]))
				have[k] = true;
	for (size_t k = 0; k < 5; k++)
		row[k] = have[k] ? rows++ : -1;
	if (unx && unx->type == JSON_ARR && unx->n)
		unx_row = rows++;
	fputs("<h2>Crash-point timeline</h2>\n", f);
	if (!npoints) {
		fputs("<p class=\"note\">No crash point was checked.</p>\n", f);
		return;
	}
	if (!rows) {
		fprintf(f, "<p>No violation at any of the %" PRIu64 " crash points, and every "
			"point explored.</p>\n", npoints);
		rows = 1;
	}
	height = (unsigned)rows * TL_ROW + 40;
	fprintf(f, "<svg class=\"timeline\" width=\"%u\" height=\"%u\" "
		"xmlns=\"http://www.w3.org/2000/svg\">\n", TL_LEFT + TL_WIDTH + 30, height);
	for (size_t k = 0; k < 5; k++)
		if (row[k] >= 0)
			fprintf(f, "<text x=\"4\" y=\"%d\" class=\"small\">%s</text>\n",
				row[k] * TL_ROW + 16, inv_order[k]);
	if (unx_row >= 0) {
		fprintf(f, "<text x=\"4\" y=\"%d\" class=\"small\">not explored (K7)</text>\n",
			unx_row * TL_ROW + 16);
		for (size_t i = 0; i < unx->n; i++) {
			const struct json *r = &unx->kids[i];
			double a, b;
			if (r->type != JSON_ARR || r->n != 2 || r->kids[0].type != JSON_NUM ||
			    r->kids[1].type != JSON_NUM)
				continue;
			a = x_of((uint64_t)r->kids[0].num, npoints) - 2;
			b = x_of((uint64_t)r->kids[1].num, npoints) + 2;
			fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
				"class=\"unx\"><title>points %s-%s: background histories not "
				"explored</title></rect>\n", a, unx_row * TL_ROW + 4, b - a, TL_ROW - 8,
				r->kids[0].raw, r->kids[1].raw);
		}
	}
	for (size_t i = 0; v && i < v->n; i++) {
		const struct json *e = &v->kids[i];
		int64_t p = num_of(e, "point");
		for (size_t k = 0; k < 5 && p >= 0; k++) {
			if (row[k] < 0 || strcmp(str_of(e, "invariant"), inv_order[k]))
				continue;
			fprintf(f, "<a href=\"#v%zu\"><rect x=\"%.1f\" y=\"%d\" width=\"4\" "
				"height=\"%d\" class=\"%s\"><title>", i + 1,
				x_of((uint64_t)p, npoints) - 2, row[k] * TL_ROW + 3, TL_ROW - 6,
				inv_class(k));
			fprintf(f, "#%zu point %" PRId64 ", line %" PRId64 ": ", i + 1, p,
				num_of(e, "line"));
			esc(f, str_of(e, "event"));
			fputs(" -- ", f);
			esc(f, str_of(e, "path"));
			fputs("</title></rect></a>\n", f);
		}
	}
	/* the axis: ten ticks */
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>\n", TL_LEFT,
		rows * TL_ROW + 4, TL_LEFT + TL_WIDTH, rows * TL_ROW + 4);
	for (unsigned t = 0; t <= 10; t++) {
		uint64_t p = npoints > 1 ? (uint64_t)((double)(npoints - 1) * t / 10.0 + 0.5) : 0;
		double x = x_of(p, npoints);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"axis\"/>"
			"<text x=\"%.1f\" y=\"%d\" class=\"small\" text-anchor=\"middle\">%" PRIu64
			"</text>\n", x, rows * TL_ROW + 4, x, rows * TL_ROW + 9, x, rows * TL_ROW + 22,
			p);
		if (npoints == 1)
			break;
	}
	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"small\">crash point</text>\n</svg>\n",
		TL_LEFT, rows * TL_ROW + 36);
}

/* ---- the page ---- */

static void fact(FILE *f, const char *name, const char *value)
{
	fputs("<tr><th>", f);
	esc(f, name);
	fputs("</th><td>", f);
	esc(f, value);
	fputs("</td></tr>\n", f);
}

static void put_facts(FILE *f, const struct json *rep)
{
	const struct json *st = json_get(rep, "states"), *cfg = json_get(rep, "config");
	const struct json *unx = st ? json_get(st, "unexplored_ranges") : NULL;
	char buf[1024];
	int64_t checked = num_of(st, "checked"), total = num_of(st, "total");
	const struct json *ex = st ? json_get(st, "exhaustive") : NULL;
	static const char *const cfg_keys[] = {
		"machine", "device", "fault", "block-semantics", "fs-opts", "background",
	};

	fputs("<table class=\"facts\">\n", f);
	fact(f, "trace", str_of(rep, "trace"));
	snprintf(buf, sizeof(buf), "powercut %s", str_of(rep, "powercut"));
	fact(f, "checked by", buf);
	for (size_t i = 0; i < sizeof(cfg_keys) / sizeof(cfg_keys[0]); i++)
		if (str_of(cfg, cfg_keys[i])[0])
			fact(f, cfg_keys[i], str_of(cfg, cfg_keys[i]));
	snprintf(buf, sizeof(buf), "%" PRId64 " checked of %" PRId64, num_of(rep, "points_checked"),
		 num_of(rep, "crash_points"));
	fact(f, "crash points", buf);
	if (str_of(rep, "shard")[0])
		fact(f, "shard", str_of(rep, "shard"));
	if (checked < 0)
		snprintf(buf, sizeof(buf), "more than 2^64 - 1 checked");
	else if (total >= 0)
		snprintf(buf, sizeof(buf), "%" PRId64 " checked of %" PRId64, checked, total);
	else
		snprintf(buf, sizeof(buf), "%" PRId64 " checked", checked);
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " (%s%s%s)",
		 str_of(st, "policy"), ex && ex->type == JSON_BOOL && ex->b ? ", exhaustive" :
		 ", not exhaustive", st && json_get(st, "reduced") && json_get(st, "reduced")->b ?
		 ", reduced" : "");
	fact(f, "states", buf);
	snprintf(buf, sizeof(buf), "%" PRId64, num_of(st, "images_judged"));
	fact(f, "judgements", buf);
	if (num_of(st, "unexplored_points") > 0) {
		size_t o = (size_t)snprintf(buf, sizeof(buf), "at %" PRId64 " points (",
					    num_of(st, "unexplored_points"));
		for (size_t i = 0; unx && unx->type == JSON_ARR && i < unx->n && o < 900; i++) {
			const struct json *r = &unx->kids[i];
			if (r->type == JSON_ARR && r->n == 2 && r->kids[0].type == JSON_NUM &&
			    r->kids[1].type == JSON_NUM)
				o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s-%s",
						      i ? ", " : "", r->kids[0].raw, r->kids[1].raw);
		}
		snprintf(buf + o, sizeof(buf) - o, "): background histories not tried, "
			 "docs/semantics.md K7");
		fact(f, "not explored", buf);
	}
	fputs("</table>\n", f);
}

static void put_violations(FILE *f, const struct json *v)
{
	static const char *const cols[] = {
		"invariant", "point", "line", "event", "step", "path", "expected", "actual",
		"explanation", "state", "replay",
	};

	fprintf(f, "<h2>Violations (%zu)</h2>\n", v ? v->n : 0);
	if (!v || !v->n) {
		fputs("<p>None.</p>\n", f);
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct json *e = &v->kids[i];
		fprintf(f, "<table class=\"viol\" id=\"v%zu\">\n<caption>#%zu</caption>\n", i + 1,
			i + 1);
		for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
			const struct json *m = json_get(e, cols[k]);
			char num[32];
			if (!m || (m->type == JSON_STR && !m->str[0]))
				continue;
			fprintf(f, "<tr><th>%s</th><td%s>", cols[k],
				!strcmp(cols[k], "replay") || !strcmp(cols[k], "state") ?
				" class=\"code\"" : "");
			if (m->type == JSON_STR) {
				esc(f, m->str);
			} else if (m->type == JSON_NUM) {
				snprintf(num, sizeof(num), "%.30s", m->raw);
				esc(f, num);
			}
			fputs("</td></tr>\n", f);
		}
		fputs("</table>\n", f);
	}
}

static const char style[] =
	"body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1200px}"
	"h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}"
	"table{border-collapse:collapse;margin:.5em 0}"
	"th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}"
	"th{background:#f3f3f3;font-weight:normal;white-space:nowrap}"
	"td.code{font-family:monospace;word-break:break-all}"
	"caption{text-align:left;font-weight:bold}"
	".ok{color:#176117;font-weight:bold}.bad{color:#a11;font-weight:bold}"
	".note{color:#666}.small{font-size:11px}"
	".axis{stroke:#888}.unx{fill:#ccc}.bar{fill:#4a78b5}"
	".i0{fill:#c0392b}.i1{fill:#d35400}.i2{fill:#8e44ad}.i3{fill:#2c3e50}.i4{fill:#16a085}";

int sim_report_main(int argc, char **argv)
{
	const char *in = NULL, *out = NULL;
	struct latency lat = { 0 };
	struct json *rep = NULL;
	struct sim_atomic a;
	const struct json *v;
	char err[512], *text;
	size_t len;
	int rc = EXIT_USAGE;
	int64_t npoints;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			sim_report_help(stdout);
			return EXIT_OK;
		}
		if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
			if (i + 1 >= argc || !argv[i + 1][0])
				return cli_usage_error("report: -o needs a file");
			out = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return cli_usage_error("report: unknown option '%s' (see powercut report "
					       "--help)", argv[i]);
		} else if (in) {
			return cli_usage_error("report: one REPORT.json at a time, not '%s' too",
					       argv[i]);
		} else {
			in = argv[i];
		}
	}
	if (!in || !out)
		return cli_usage_error("report: usage: powercut report REPORT.json -o OUT.html");
	if (!(text = json_slurp(in, &len)))
		return cli_usage_error("%s: cannot read: %s", in, strerror(errno));
	rep = json_parse(text, len, err, sizeof(err));
	free(text);
	if (!rep)
		return cli_usage_error("%s:%s", in, err);
	v = json_get(rep, "violations");
	npoints = num_of(rep, "points_checked");
	if (rep->type != JSON_OBJ || !json_get(rep, "powercut") || !json_get(rep, "states") ||
	    !v || v->type != JSON_ARR || num_of(rep, "crash_points") < 0 || npoints < 0) {
		cli_usage_error("%s:1: not a powercut check report", in);
		goto out;
	}
	for (size_t i = 0; i < v->n; i++)
		if (v->kids[i].type != JSON_OBJ || num_of(&v->kids[i], "point") < 0) {
			cli_usage_error("%s:1: violation %zu has no crash point", in, i + 1);
			goto out;
		}
	if ((rc = replay_latency(rep, in, &lat)))
		goto out;
	rc = EXIT_USAGE;
	if (sim_atomic_open(&a, out, err, sizeof(err))) {
		cli_usage_error("report: %s", err);
		goto out;
	}
	fprintf(a.f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		"<title>powercut check: ");
	esc(a.f, str_of(rep, "trace"));
	fprintf(a.f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>powercut check: ", style);
	esc(a.f, str_of(rep, "trace"));
	fputs("</h1>\n", a.f);
	if (v->n)
		fprintf(a.f, "<p class=\"bad\">%zu violation%s</p>\n", v->n, v->n == 1 ? "" : "s");
	else
		fputs("<p class=\"ok\">No violation</p>\n", a.f);
	put_facts(a.f, rep);
	put_timeline(a.f, rep, (uint64_t)num_of(rep, "crash_points"));
	put_violations(a.f, v);
	put_latency(a.f, &lat);
	fputs("</body>\n</html>\n", a.f);
	if (sim_atomic_commit(&a, err, sizeof(err))) {
		cli_usage_error("report: %s", err);
		goto out;
	}
	rc = EXIT_OK;
out:
	json_free(rep);
	return rc;
}
