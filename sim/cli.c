/*
 * cli.c — parsing powercut's command lines, and feeding a trace.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../traces/trace.h"

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("powercut: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

enum {
	OPT_MACHINE = 256, OPT_SET, OPT_DEVICE, OPT_FAULT, OPT_BLOCKSEM,
	OPT_FSOPTS, OPT_BACKGROUND,		/* configuration: every command */
	OPT_STATES, OPT_SEED, OPT_AT, OPT_MAX_STATES,	/* outcomes, check */
	OPT_OBSERVE,				/* outcomes */
	OPT_POINTS, OPT_STATE, OPT_JOBS, OPT_SHARD, OPT_JSON, OPT_JUNIT,
	OPT_PROGRESS, OPT_NO_PROGRESS, OPT_CHECKER, OPT_CHECKER_FILE,
	OPT_BASE_IMAGE, OPT_NO_REDUCE,		/* check */
	OPT_HELP,
};

static const struct option options[] = {
	{ "machine", required_argument, NULL, OPT_MACHINE },
	{ "set", required_argument, NULL, OPT_SET },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "fault", required_argument, NULL, OPT_FAULT },
	{ "block-semantics", required_argument, NULL, OPT_BLOCKSEM },
	{ "fs-opts", required_argument, NULL, OPT_FSOPTS },
	{ "background", required_argument, NULL, OPT_BACKGROUND },
	{ "states", required_argument, NULL, OPT_STATES },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "at", required_argument, NULL, OPT_AT },
	{ "max-states", required_argument, NULL, OPT_MAX_STATES },
	{ "observe", required_argument, NULL, OPT_OBSERVE },
	{ "points", required_argument, NULL, OPT_POINTS },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "jobs", required_argument, NULL, OPT_JOBS },
	{ "shard", required_argument, NULL, OPT_SHARD },
	{ "json", required_argument, NULL, OPT_JSON },
	{ "junit", required_argument, NULL, OPT_JUNIT },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "checker", required_argument, NULL, OPT_CHECKER },
	{ "checker-file", required_argument, NULL, OPT_CHECKER_FILE },
	{ "base-image", required_argument, NULL, OPT_BASE_IMAGE },
	{ "no-reduce", no_argument, NULL, OPT_NO_REDUCE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};

static const char *opt_name(int c)
{
	for (const struct option *o = options; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

static bool opt_takes_value(int c)
{
	for (const struct option *o = options; o->name; o++)
		if (o->val == c)
			return o->has_arg != no_argument;
	return false;
}

const char cli_config_help[] =
	"Configuration (also `config KEY=VALUE` lines at the top of a trace; flags win):\n"
	"  --machine adr|eadr|pcommit|FILE   persistence domain (default adr)\n"
	"  --device disk-wc|disk-wt|pmem|pmem-wb|PLUGIN.so   (default disk-wc)\n"
	"  --fault NAME[,NAME]       ignore-flush, ignore-fua, early-complete,\n"
	"                            reorder-across-flush (repeatable)\n"
	"  --block-semantics linux|barrier   (default linux)\n"
	"  --fs-opts OPTS            ext4-style mount options (default\n"
	"                            data=ordered,barrier,delalloc,auto_da_alloc)\n"
	"  --background on|off       background commits and write-back (default on)\n"
	"  --set KEY=VALUE           any model parameter (listed by `powercut run --help`)\n";

void cli_ranges_add(struct cli_ranges *rs, uint64_t first, uint64_t last)
{
	if (rs->n && first <= rs->r[rs->n - 1][1] + 1) {
		if (last > rs->r[rs->n - 1][1])
			rs->r[rs->n - 1][1] = last;
		return;
	}
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? 2 * rs->cap : 8;
		rs->r = realloc(rs->r, rs->cap * sizeof(*rs->r));
		if (!rs->r)
			abort();
	}
	rs->r[rs->n][0] = first;
	rs->r[rs->n][1] = last;
	rs->n++;
}

void cli_ranges_free(struct cli_ranges *rs)
{
	free(rs->r);
	*rs = (struct cli_ranges){ 0 };
}

void cli_ranges_format(const struct cli_ranges *rs, char *buf, size_t len, size_t max)
{
	size_t o;

	o = (size_t)snprintf(buf, len, "point%s ",
			     rs->n == 1 && rs->r[0][0] == rs->r[0][1] ? "" : "s");
	for (size_t i = 0; i < rs->n && i < max && o < len; i++) {
		if (rs->r[i][0] == rs->r[i][1])
			o += (size_t)snprintf(buf + o, len - o, "%s%" PRIu64, i ? ", " : "",
					      rs->r[i][0]);
		else
			o += (size_t)snprintf(buf + o, len - o, "%s%" PRIu64 "-%" PRIu64,
					      i ? ", " : "", rs->r[i][0], rs->r[i][1]);
	}
	if (rs->n > max && o < len)
		snprintf(buf + o, len - o, " and %zu more", rs->n - max);
}

void cli_shell_quote(char *buf, size_t len, const char *arg)
{
	size_t o = strlen(buf);
	bool plain = *arg != '\0';

	for (const char *p = arg; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789-_./=:,+@%", *p))
			plain = false;
	if (o + 2 >= len)
		return;
	buf[o++] = ' ';
	if (plain) {
		snprintf(buf + o, len - o, "%s", arg);
		return;
	}
	buf[o++] = '\'';
	for (const char *p = arg; *p && o + 5 < len; p++) {
		if (*p == '\'') {
			memcpy(buf + o, "'\\''", 4);
			o += 4;
		} else {
			buf[o++] = *p;
		}
	}
	if (o + 1 < len)
		buf[o++] = '\'';
	buf[o] = '\0';
}

static int parse_u64_arg(const char *opt, const char *s, uint64_t *v)
{
	char *e;

	errno = 0;
	if (!*s || *s == '-' || *s == '+')
		return cli_usage_error("--%s: bad number '%s'", opt, s);
	*v = strtoull(s, &e, 0);
	if (errno || *e)
		return cli_usage_error("--%s: bad number '%s'", opt, s);
	return 0;
}

static bool accepts(enum cli_cmd cmd, int c)
{
	if (c <= OPT_BACKGROUND || c == OPT_HELP)
		return true;
	if (c <= OPT_MAX_STATES)
		return cmd == CLI_OUTCOMES || cmd == CLI_CHECK;
	if (c == OPT_OBSERVE)
		return cmd == CLI_OUTCOMES;
	return cmd == CLI_CHECK;
}

static void add_verdict_arg(struct cmdline *cl, const char *name, const char *val)
{
	char opt[64];

	snprintf(opt, sizeof(opt), "--%s", name);
	cli_shell_quote(cl->verdict_args, sizeof(cl->verdict_args), opt);
	if (val)
		cli_shell_quote(cl->verdict_args, sizeof(cl->verdict_args), val);
}

int cli_parse(int argc, char **argv, enum cli_cmd cmd, struct cmdline *cl)
{
	char err[512];
	uint64_t v;
	int c;

	memset(cl, 0, sizeof(*cl));
	cl->cmd = cmd;
	sim_config_init(&cl->cfg);
	cl->states.mode = SIM_STATES_EXHAUSTIVE;
	cl->states.max_states = 100000000;
	cl->jobs = 1;
	cl->progress = -1;
	optind = 1;
	opterr = 0;
	/* "-": positional arguments come back in order as option 1, so TRACE
	 * may stand anywhere among the options.  "j:" is -j N. */
	while ((c = getopt_long(argc, argv, "-j:", options, NULL)) != -1) {
		if (c == 'j')
			c = OPT_JOBS;
		if (c >= OPT_MACHINE && !accepts(cmd, c))
			return cli_usage_error("%s does not take --%s", argv[0], opt_name(c));
		switch (c) {
		case 1:
			if (cl->trace)
				return cli_usage_error("%s: unexpected argument '%s'", argv[0], optarg);
			cl->trace = optarg;
			break;
		case OPT_MACHINE: case OPT_SET: case OPT_DEVICE: case OPT_FAULT:
		case OPT_BLOCKSEM: case OPT_FSOPTS: case OPT_BACKGROUND:
			if (sim_config_set(&cl->cfg, opt_name(c), optarg, SIM_FROM_FLAG,
					   err, sizeof(err)))
				return cli_usage_error("--%s: %s", opt_name(c), err);
			add_verdict_arg(cl, opt_name(c), optarg);
			break;
		case OPT_HELP:
			cl->help = true;
			return 0;
		case OPT_STATES:
			if (sim_states_parse(optarg, &cl->states))
				return cli_usage_error("--states: expected exhaustive, bounded:K or "
						       "sample:K, not '%s'", optarg);
			break;
		case OPT_SEED:
			if (parse_u64_arg("seed", optarg, &cl->states.seed))
				return EXIT_USAGE;
			break;
		case OPT_MAX_STATES:
			if (parse_u64_arg("max-states", optarg, &cl->states.max_states))
				return EXIT_USAGE;
			cl->max_states_set = true;
			break;
		case OPT_OBSERVE:
			cl->observe = optarg;
			break;
		case OPT_AT:
			if (cmd == CLI_CHECK) {
				if (parse_u64_arg("at", optarg, &cl->at_point))
					return EXIT_USAGE;
				cl->at = CLI_AT_POINT;
			} else if (!strcmp(optarg, "end")) {
				cl->at = CLI_AT_END;
			} else if (!strcmp(optarg, "all")) {
				cl->at = CLI_AT_ALL;
			} else if (!strncmp(optarg, "mark:", 5) && optarg[5]) {
				cl->at = CLI_AT_MARK;
				cl->at_mark = optarg + 5;
			} else {
				return cli_usage_error("--at: expected end, all or mark:NAME, "
						       "not '%s'", optarg);
			}
			break;
		case OPT_POINTS:
			cl->points = optarg;
			break;
		case OPT_STATE:
			cl->state_id = optarg;
			break;
		case OPT_JOBS:
			if (parse_u64_arg("jobs", optarg, &v))
				return EXIT_USAGE;
			if (v < 1 || v > 256)
				return cli_usage_error("-j: expected 1 to 256 jobs, not %s", optarg);
			cl->jobs = (unsigned)v;
			break;
		case OPT_SHARD: {
			unsigned i, n;
			char tail;
			if (sscanf(optarg, "%u/%u%c", &i, &n, &tail) != 2 || n < 1 || i < 1 ||
			    i > n || n > 1000000)
				return cli_usage_error("--shard: expected I/N with 1 <= I <= N, "
						       "not '%s'", optarg);
			cl->shard_i = i;
			cl->shard_n = n;
			break;
		}
		case OPT_JSON:
		case OPT_JUNIT:
			if (!*optarg)
				return cli_usage_error("%s: option --%s needs a file name", argv[0],
						       opt_name(c));
			*(c == OPT_JSON ? &cl->json : &cl->junit) = optarg;
			break;
		case OPT_PROGRESS:
			cl->progress = 1;
			break;
		case OPT_NO_PROGRESS:
			cl->progress = 0;
			break;
		case OPT_CHECKER:
			if (!optarg[strspn(optarg, " \t")])
				return cli_usage_error("%s: option --checker needs a command",
						       argv[0]);
			cl->checker = optarg;
			add_verdict_arg(cl, "checker", optarg);
			break;
		case OPT_CHECKER_FILE:
			cl->checker_file = optarg;
			add_verdict_arg(cl, "checker-file", optarg);
			break;
		case OPT_BASE_IMAGE:
			cl->base_image = optarg;
			add_verdict_arg(cl, "base-image", optarg);
			break;
		case OPT_NO_REDUCE:
			cl->states.no_reduce = true;
			break;
		case ':':
			return cli_usage_error("%s: option %s needs a value", argv[0],
					       argv[optind - 1]);
		case '?':
		default:
			if (optopt >= OPT_MACHINE && optopt <= OPT_HELP && !opt_takes_value(optopt))
				return cli_usage_error("%s: option --%s takes no value", argv[0],
						       opt_name(optopt));	/* --progress=1 */
			if (optopt == 'j' || (optopt >= OPT_MACHINE && optopt <= OPT_HELP))
				return cli_usage_error("%s: option --%s needs a value", argv[0],
						       optopt == 'j' ? "jobs" : opt_name(optopt));
			return cli_usage_error("%s: unknown option '%s' (see powercut %s --help)",
					       argv[0], argv[optind - 1], argv[0]);
		}
	}
	if (!cl->trace)
		return cli_usage_error("%s: no TRACE given (see powercut %s --help)", argv[0], argv[0]);
	if (cl->state_id && cl->at != CLI_AT_POINT)
		return cli_usage_error("check: --state ID needs --at POINT");
	if (cl->checker_file && !cl->checker)
		return cli_usage_error("check: --checker-file needs --checker");
	return 0;
}

static const struct trace_reader *replaying;	/* for cli_replay_fraction() */

double cli_replay_fraction(void)
{
	uint64_t size;

	if (!replaying || !(size = trace_reader_size(replaying)))
		return -1;
	return (double)trace_reader_offset(replaying) / (double)size;
}

int cli_replay(struct sim *s, const char *path, int *cb_status)
{
	struct trace_reader *r;
	struct trace_event ev;
	int rc = 0;

	if (trace_open(&r, path)) {
		fprintf(stderr, "powercut: %s\n", trace_open_error());
		return EXIT_USAGE;
	}
	replaying = r;
	sim_set_trace_name(s, path);
	*cb_status = sim_start(s);
	while (!*cb_status && (rc = trace_next(r, &ev)) > 0) {
		rc = sim_feed(s, &ev);
		if (rc < 0) {
			fprintf(stderr, "powercut: %s\n", sim_error(s));
			replaying = NULL;
			trace_close(r);
			return EXIT_USAGE;
		}
		*cb_status = rc;
	}
	replaying = NULL;
	if (!*cb_status && rc < 0) {
		fprintf(stderr, "powercut: %s\n", trace_reader_error(r));
		trace_close(r);
		return EXIT_USAGE;
	}
	trace_close(r);
	return 0;
}

int cli_read_trace_config(struct sim_config *cfg, const char *path)
{
	struct trace_reader *r;
	struct trace_event ev;
	char err[512];
	int rc;

	if (trace_open(&r, path)) {
		fprintf(stderr, "powercut: %s\n", trace_open_error());
		return EXIT_USAGE;
	}
	while ((rc = trace_next(r, &ev)) > 0 && trace_op_layer(ev.op) == TRACE_LAYER_HEADER) {
		for (unsigned i = 0; i < ev.nkv; i++)
			if (sim_config_set_in(cfg, ev.kv[i].key.s, ev.kv[i].value.s,
					      SIM_FROM_TRACE, path, ev.line, err, sizeof(err))) {
				fprintf(stderr, "powercut: %s:%" PRIu64 ": config: %s\n", path,
					ev.line, err);
				trace_close(r);
				return EXIT_USAGE;
			}
	}
	if (rc < 0) {
		fprintf(stderr, "powercut: %s\n", trace_reader_error(r));
		trace_close(r);
		return EXIT_USAGE;
	}
	trace_close(r);
	return 0;
}
