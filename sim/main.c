/*
 * main.c — the powercut command: argument parsing and the subcommands.
 *
 * Every error is one line on standard error, "powercut: FILE:LINE: what is
 * wrong" for bad input ("powercut: what is wrong" for bad usage), and exit
 * status 2.  Nothing is written to standard output before the input has
 * been read without error, except by `run` and `outcomes`, which print
 * only at the end.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../traces/trace.h"
#include "config.h"
#include "explore.h"
#include "observe.h"
#include "sim.h"
#include "cli.h"
#include "../fs_model/jfs.h"
#include "check.h"
#include "json.h"
#include "../traces/import.h"
#include "../tools/record/record.h"

static void help_run(FILE *out)
{
	fprintf(out,
		"usage: powercut run TRACE [config options]\n"
		"\n"
		"Replays TRACE (\"-\" for standard input) without crashing and prints its\n"
		"statistics: events by kind, crash points, simulated cycles, bytes that\n"
		"reached media, and what each model measured.  Exit 0, or 2 on bad input.\n"
		"\n%s\n", cli_config_help);
	sim_params_print(out);
}

static void help_outcomes(FILE *out)
{
	fprintf(out,
		"usage: powercut outcomes TRACE [config options] --observe SPEC[,SPEC...]\n"
		"                         [--at end|all|mark:NAME] [--states POLICY] [--seed N]\n"
		"\n"
		"Cuts the power and prints every distinct observation of the recovered\n"
		"media, one line per outcome, sorted and unique.  A summary (crash points,\n"
		"states, exhaustive or not) goes to standard error.\n"
		"\n"
		"  --observe SPEC,...  mem:ADDR:LEN  durable pmem bytes, hex\n"
		"                      u64:ADDR      durable little-endian u64, decimal\n"
		"                      blk:OFF:LEN   crc32 of device bytes\n"
		"                      file:PATH     absent, or SIZE:CRC32\n"
		"  --at end            just after the last event (default)\n"
		"  --at all            the union over every crash point, the initial one included\n"
		"  --at mark:NAME      at each `mark name=NAME`\n"
		"  --states exhaustive|bounded:K|sample:K   (default exhaustive)\n"
		"  --seed N            seed for sample:K (default 0)\n"
		"  --max-states N      refuse to enumerate more than N states at one point\n"
		"                      (default 100000000; 0: no limit)\n"
		"\n%s", cli_config_help);
}

static void help_main(FILE *out)
{
	fprintf(out,
		"usage: powercut COMMAND [ARGS]\n"
		"\n"
		"powercut replays a trace of file system calls, CPU stores, flushes and\n"
		"fences, or block requests through models of the machine, cuts the power\n"
		"at every point and reports what the media can hold.\n"
		"\n"
		"Commands:\n"
		"  run TRACE [config]                 replay and print statistics\n"
		"  outcomes TRACE --observe SPEC...   every distinct post-crash observation\n"
		"  check TRACE [crash options]        cut the power everywhere, judge every state\n"
		"  merge REPORT... -o REPORT          combine the --json reports of shards\n"
		"  report REPORT -o OUT.html          a check report as one HTML page\n"
		"  import FORMAT INPUT -o TRACE       convert a foreign trace (jlang, ...)\n"
		"  record -o TRACE [--pmem PATH]... -- PROGRAM [ARGS...]\n"
		"                                     record a real program's file calls and pmem stores\n"
		"  help [COMMAND]                     this text, or a command's\n"
		"  version                            the version\n"
		"\n"
		"`powercut COMMAND --help` describes each.  Errors are one line,\n"
		"\"powercut: FILE:LINE: what is wrong\", with exit status 2.\n");
}

static int cmd_run(int argc, char **argv)
{
	struct cmdline cl;
	struct sim *s;
	char err[512];
	int rc, cb = 0;

	if ((rc = cli_parse(argc, argv, CLI_RUN, &cl)))
		return rc;
	if (cl.help) {
		help_run(stdout);
		return EXIT_OK;
	}
	if (sim_create(&s, &cl.cfg, err, sizeof(err)))
		return cli_usage_error("%s", err);
	rc = cli_replay(s, cl.trace, &cb);
	if (!rc) {
		printf("trace: %s\n", cl.trace);
		sim_report(s, stdout);
	}
	sim_destroy(s);
	return rc;
}

/* ---- outcomes ---- */

struct strset {
	char **slot;
	size_t cap, n;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h;
}

static int strset_add(struct strset *set, const char *s)
{
	size_t i;

	if (2 * (set->n + 1) > set->cap) {
		size_t ncap = set->cap ? 2 * set->cap : 64;
		char **ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return -1;
		for (size_t j = 0; j < set->cap; j++) {
			if (!set->slot[j])
				continue;
			for (i = str_hash(set->slot[j]) & (ncap - 1); ns[i]; i = (i + 1) & (ncap - 1))
				;
			ns[i] = set->slot[j];
		}
		free(set->slot);
		set->slot = ns;
		set->cap = ncap;
	}
	for (i = str_hash(s) & (set->cap - 1); set->slot[i]; i = (i + 1) & (set->cap - 1))
		if (!strcmp(set->slot[i], s))
			return 0;
	set->slot[i] = strdup(s);
	if (!set->slot[i])
		return -1;
	set->n++;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct outcomes_ctx {
	struct cmdline *cl;
	struct sim_obs *obs;
	size_t nobs;
	struct sim_explorer *x;
	struct strset set;
	uint8_t *scratch;
	struct jfs_view *view;		/* file: observations */
	bool need_view;
	char *line;
	size_t line_cap;
	uint64_t points, states;
	uint64_t held;			/* groups held at 0 (explore.h `only`) */
	uint64_t unexplored;		/* points with histories not tried (crash.h) */
	struct cli_ranges unx;		/* which (K7) */
	bool exhaustive, total_known;
	struct sim_range *ranges;
	bool checked_obs;
	char err[640];
	bool err_is_flag;		/* err blames --observe, not the trace */
};

static int outcome_state(void *ctx, const struct sim_state *st)
{
	struct outcomes_ctx *o = ctx;
	size_t n = 0;

	/* recover once per state, whatever the number of file: specs */
	if (o->need_view)
		jfs_view_load(o->view, sim_obs_read_image, st->image, sim_image_size(st->image));
	for (size_t i = 0; i < o->nobs; i++) {
		int k;
		if (i)
			o->line[n++] = ' ';
		k = sim_obs_eval(&o->obs[i], st->image, o->need_view ? o->view : NULL,
				 o->scratch, o->line + n, o->line_cap - n, o->err, sizeof(o->err));
		if (k < 0)
			return -1;
		n += (size_t)k;
	}
	o->line[n] = '\0';
	o->states++;
	return strset_add(&o->set, o->line) ? -1 : 0;
}

static int outcome_point(void *ctx, struct sim *s, const struct sim_point *p)
{
	struct outcomes_ctx *o = ctx;
	struct sim_point_result res;
	char err[512];
	int rc;

	if (o->cl->at == CLI_AT_END)
		return 0;
	if (o->cl->at == CLI_AT_MARK && (!p->mark || strcmp(p->mark, o->cl->at_mark)))
		return 0;
	if (!sim_media(s))
		return 0;	/* nothing durable exists yet: no state to observe */
	if (!o->checked_obs) {
		for (size_t i = 0; i < o->nobs; i++)
			if (sim_obs_check(&o->obs[i], s, o->err, sizeof(o->err))) {
				o->err_is_flag = true;
				return 1;
			}
		o->checked_obs = true;
	}
	if (sim_point_unexplored(s)) {
		o->unexplored++;
		cli_ranges_add(&o->unx, p->index, p->index);
	}
	rc = sim_explore_point(o->x, s, &o->cl->states, p->index, outcome_state, o,
			       &res, err, sizeof(err));
	o->held += res.held;
	if (rc && !o->err[0])
		snprintf(o->err, sizeof(o->err), "%s", err);
	o->points++;
	if (o->cl->states.mode != SIM_STATES_EXHAUSTIVE)
		o->exhaustive = false;
	return rc ? 1 : 0;
}

static int cmd_outcomes(int argc, char **argv)
{
	struct cmdline cl;
	struct outcomes_ctx o = { .cl = &cl, .exhaustive = true };
	struct sim *s = NULL;
	char err[512], *specs = NULL, *tok, *save;
	int rc, cb = 0;

	if ((rc = cli_parse(argc, argv, CLI_OUTCOMES, &cl)))
		return rc;
	if (cl.help) {
		help_outcomes(stdout);
		return EXIT_OK;
	}
	if (!cl.observe)
		return cli_usage_error("outcomes: --observe SPEC[,SPEC...] is required");
	specs = strdup(cl.observe);
	o.obs = calloc(strlen(cl.observe) / 2 + 1, sizeof(*o.obs));
	o.scratch = malloc(SIM_OBS_MAX_LEN);
	o.line_cap = 1 << 16;
	o.line = malloc(o.line_cap);
	if (!specs || !o.obs || !o.scratch || !o.line) {
		rc = cli_usage_error("out of memory");
		goto out;
	}
	for (save = specs; (tok = strsep(&save, ",")) != NULL;) {
		if (!*tok) {		/* "u64:0,,u64:8": a spec lost, say so */
			rc = cli_usage_error("--observe: an empty observation in '%s' "
					     "(expected SPEC[,SPEC...])", cl.observe);
			goto out;
		}
		if (sim_obs_parse(tok, &o.obs[o.nobs], err, sizeof(err))) {
			rc = cli_usage_error("--observe: %s", err);
			goto out;
		}
		if (o.obs[o.nobs].kind == SIM_OBS_MEM)
			o.line_cap += 2 * o.obs[o.nobs].len;
		if (o.obs[o.nobs].kind == SIM_OBS_FILE)
			o.need_view = true;
		o.nobs++;
	}
	if (!o.nobs) {
		rc = cli_usage_error("--observe: no observation given");
		goto out;
	}
	/* Byte-range observations only: enumerate only the groups that can
	 * change those bytes (explore.h, `only`) -- the outcome set is the
	 * same, and exact. */
	if (!o.need_view) {
		o.ranges = calloc(o.nobs, sizeof(*o.ranges));
		if (!o.ranges) {
			rc = cli_usage_error("out of memory");
			goto out;
		}
		for (size_t i = 0; i < o.nobs; i++)
			o.ranges[i] = (struct sim_range){ o.obs[i].addr, o.obs[i].len };
		cl.states.only = o.ranges;
		cl.states.nonly = o.nobs;
	}
	{
		char *nl = realloc(o.line, o.line_cap);
		if (!nl) {
			rc = cli_usage_error("out of memory");
			goto out;
		}
		o.line = nl;
	}
	if (sim_create(&s, &cl.cfg, err, sizeof(err)) || sim_explorer_create(&o.x) ||
	    (o.need_view && jfs_view_create(&o.view))) {
		rc = cli_usage_error("out of memory");
		goto out;
	}
	if (o.need_view && sim_model(s, SIM_ROLE_FS))	/* F8 */
		jfs_view_set_log_contents(o.view, jfs_model_log_contents,
					  sim_model(s, SIM_ROLE_FS), sim_obs_peek_image);
	sim_set_crash_point(s, outcome_point, &o);
	rc = cli_replay(s, cl.trace, &cb);
	if (rc)
		goto out;
	if (!cb && cl.at == CLI_AT_END) {
		struct sim_point p = { .index = sim_stats(s)->points };
		if (!sim_media(s)) {
			rc = cli_usage_error("%s: the trace has no CPU, block or file events: "
					 "nothing to observe", cl.trace);
			goto out;
		}
		cl.at = CLI_AT_ALL;		/* let outcome_point take this one */
		cb = outcome_point(&o, s, &p);
		cl.at = CLI_AT_END;
	}
	if (cb) {
		if (o.err_is_flag)
			rc = cli_usage_error("--observe: %s", o.err);
		else
			rc = cli_usage_error("%s: %s", cl.trace, o.err[0] ? o.err : "cannot enumerate");
		goto out;
	}
	if (o.points == 0) {
		rc = cli_usage_error("%s: no crash point matched --at %s%s", cl.trace,
				 cl.at == CLI_AT_MARK ? "mark:" : "all",
				 cl.at == CLI_AT_MARK ? cl.at_mark : "");
		goto out;
	}
	{
		char **lines = malloc((o.set.n ? o.set.n : 1) * sizeof(*lines));
		size_t k = 0;
		if (!lines) {
			rc = cli_usage_error("out of memory");
			goto out;
		}
		for (size_t i = 0; i < o.set.cap; i++)
			if (o.set.slot[i])
				lines[k++] = o.set.slot[i];
		qsort(lines, k, sizeof(*lines), cmp_str);
		for (size_t i = 0; i < k; i++)
			puts(lines[i]);
		free(lines);
	}
	fprintf(stderr, "outcomes: %zu distinct; crash points: %" PRIu64 "; states: %" PRIu64
		" (", o.set.n, o.points, o.states);
	if (o.exhaustive)	/* the policy's words as check prints them */
		fputs("exhaustive", stderr);
	else if (cl.states.mode == SIM_STATES_BOUNDED)
		fprintf(stderr, "bounded:%" PRIu64 ": only states with at most %" PRIu64
			" volatile groups off their base choice", cl.states.k, cl.states.k);
	else
		fprintf(stderr, "sample:%" PRIu64 " per point, seed %" PRIu64 ": not exhaustive",
			cl.states.k, cl.states.seed);
	fprintf(stderr, "%s%s)\n", o.held ? (o.exhaustive ? " " : ", ") : "",
		o.held ? "over the volatile groups that can change the observed bytes" : "");
	if (o.unexplored) {
		char where[160];
		cli_ranges_format(&o.unx, where, sizeof(where), 6);
		fprintf(stderr, "outcomes: not explored: at %" PRIu64 " of %" PRIu64 " crash points "
			"(%s of the trace), histories in which the commit timer fired at an earlier event and file "
			"data was then written in place, or (where the device may lose a completed "
			"commit's writes: nobarrier or a flush fault on a volatile cache, early "
			"completion) fired at all (docs/semantics.md, F15, \"Not explored\"); "
			"their outcomes may be missing (tools/timer-histories.py adds "
			"some, bounded)\n", o.unexplored, o.points, where);
	}
	rc = fflush(stdout) ? cli_usage_error("writing the output: %s", strerror(errno)) : EXIT_OK;
out:
	cli_ranges_free(&o.unx);
	for (size_t i = 0; i < o.set.cap; i++)
		free(o.set.slot[i]);
	free(o.set.slot);
	sim_explorer_destroy(o.x);
	jfs_view_destroy(o.view);
	sim_destroy(s);
	free(o.scratch);
	free(o.line);
	free(o.obs);
	free(o.ranges);
	free(specs);
	return rc;
}

static void help_import(FILE *out)
{
	fprintf(out,
		"usage: powercut import FORMAT INPUT -o TRACE\n"
		"\n"
		"Converts a foreign trace (INPUT, \"-\" for standard input) into trace format\n"
		"version 1.  TRACE is written to a temporary name and renamed only when the\n"
		"whole input converted: bad input leaves no file behind (\"-o -\" prints the\n"
		"trace once it is complete).\n"
		"\n"
		"Formats:\n");
	for (const struct trace_importer *const *i = trace_importers; *i; i++)
		fprintf(out, "  %-14s %s\n", (*i)->name, (*i)->help);
}

static int cmd_import(int argc, char **argv)
{
	const struct trace_importer *imp = NULL;
	const char *format = NULL, *input = NULL, *output = NULL;
	struct sim_atomic a;
	char err[1024];
	FILE *in;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help")) {
			help_import(stdout);
			return EXIT_OK;
		}
		if (!strcmp(argv[i], "-o")) {
			if (++i >= argc)
				return cli_usage_error("import: -o needs a file");
			output = argv[i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return cli_usage_error("import: unknown option '%s' (see powercut import --help)",
					       argv[i]);
		} else if (!format) {
			format = argv[i];
		} else if (!input) {
			input = argv[i];
		} else {
			return cli_usage_error("import: unexpected argument '%s'", argv[i]);
		}
	}
	if (!format || !input || !output)
		return cli_usage_error("import: usage: powercut import FORMAT INPUT -o TRACE");
	for (const struct trace_importer *const *i = trace_importers; *i; i++)
		if (!strcmp((*i)->name, format))
			imp = *i;
	if (!imp) {
		char list[256] = "";
		for (const struct trace_importer *const *i = trace_importers; *i; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 i == trace_importers ? "" : ", ", (*i)->name);
		return cli_usage_error("import: unknown format '%s' (this build has: %s)", format, list);
	}
	in = strcmp(input, "-") ? fopen(input, "r") : stdin;
	if (!in)
		return cli_usage_error("%s: cannot open: %s", input, strerror(errno));
	if (!strcmp(output, "-")) {
		/* standard output cannot be taken back: convert into memory
		 * first, print only a complete trace */
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		rc = m ? imp->convert(in, input, m, err, sizeof(err)) : -1;
		if (m)
			fclose(m);
		if (in != stdin)
			fclose(in);
		if (rc) {
			free(buf);
			return cli_usage_error("%s", m ? err : "out of memory");
		}
		fwrite(buf, 1, len, stdout);
		free(buf);
		return fflush(stdout) ? cli_usage_error("writing the output: %s", strerror(errno)) :
			EXIT_OK;
	}
	if (sim_atomic_open(&a, output, err, sizeof(err))) {
		if (in != stdin)
			fclose(in);
		return cli_usage_error("import: %s", err);
	}
	rc = imp->convert(in, input, a.f, err, sizeof(err));
	if (in != stdin)
		fclose(in);
	if (rc) {
		sim_atomic_abort(&a);
		return cli_usage_error("%s", err);
	}
	if (sim_atomic_commit(&a, err, sizeof(err)))
		return cli_usage_error("import: %s", err);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd || !strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		if (cmd && !strcmp(cmd, "help") && argc > 2) {
			if (!strcmp(argv[2], "run"))
				help_run(stdout);
			else if (!strcmp(argv[2], "outcomes"))
				help_outcomes(stdout);
			else if (!strcmp(argv[2], "check"))
				sim_check_help(stdout);
			else if (!strcmp(argv[2], "merge"))
				sim_merge_help(stdout);
			else if (!strcmp(argv[2], "report"))
				sim_report_help(stdout);
			else if (!strcmp(argv[2], "import"))
				help_import(stdout);
			else
				return cli_usage_error("help: unknown command '%s'", argv[2]);
			return EXIT_OK;
		}
		help_main(cmd ? stdout : stderr);
		return cmd ? EXIT_OK : EXIT_USAGE;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		if (argc > 2)
			return cli_usage_error("version: no arguments, not '%s'", argv[2]);
		printf("powercut %s (trace format %d)\n", POWERCUT_VERSION, TRACE_FORMAT_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "outcomes"))
		return cmd_outcomes(argc - 1, argv + 1);
	if (!strcmp(cmd, "check"))
		return sim_check_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "report"))
		return sim_report_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "import"))
		return cmd_import(argc - 1, argv + 1);
	if (!strcmp(cmd, "record"))
		return record_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "merge"))
		return sim_merge_main(argc - 1, argv + 1);
	return cli_usage_error("unknown command '%s' (see powercut --help)", cmd);
}
