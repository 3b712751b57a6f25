/*
 * cli.h — the command line shared by powercut's commands: one parser for
 * the configuration flags and the crash options, which each command
 * accepts or refuses, and the replay loop that feeds a trace to a
 * simulator.
 */
#ifndef POWERCUT_CLI_H
#define POWERCUT_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "explore.h"
#include "sim.h"

#define POWERCUT_VERSION "0.1.0"

enum { EXIT_OK = 0, EXIT_VIOLATIONS = 1, EXIT_USAGE = 2 };

enum cli_cmd {
	CLI_RUN,
	CLI_OUTCOMES,
	CLI_CHECK,
};

enum cli_at {
	CLI_AT_END,		/* outcomes: after the last event */
	CLI_AT_ALL,		/* outcomes: every point */
	CLI_AT_MARK,		/* outcomes: at each mark NAME */
	CLI_AT_POINT,		/* check: replay one point (with --state) */
};

struct cmdline {
	enum cli_cmd cmd;
	struct sim_config cfg;
	const char *trace;
	bool help;
	/* crash options */
	struct sim_states_policy states;
	bool max_states_set;		/* --max-states given (else S2's defaults) */
	const char *observe;		/* outcomes */
	enum cli_at at;
	const char *at_mark;
	uint64_t at_point;
	const char *state_id;		/* check --state */
	const char *points;		/* check --points, NULL = all */
	unsigned jobs;			/* -j N (>= 1) */
	unsigned shard_i, shard_n;	/* --shard I/N (1-based), n = 0: none */
	const char *json, *junit;
	int progress;			/* -1 auto (a terminal), 0 off, 1 on */
	const char *checker, *checker_file, *base_image;
	/* the options that decide a verdict, shell-quoted, for replay lines */
	char verdict_args[4096];
};

/* Parse ARGV (ARGV[0] is the command's name).  0, or EXIT_USAGE after
 * printing the message. */
int cli_parse(int argc, char **argv, enum cli_cmd cmd, struct cmdline *cl);

int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Feed the whole trace at PATH to S.  Returns 0 (with *cb_status the first
 * non-zero status of the crash-point callback, which stops the replay), or
 * EXIT_USAGE after printing the one-line message.
 */
int cli_replay(struct sim *s, const char *path, int *cb_status);

/* How far the trace being replayed by cli_replay() has been read, in
 * [0, 1], or a negative number when its size is unknown (a pipe). */
double cli_replay_fraction(void);

/* Apply the `config` lines at the top of the trace at PATH to CFG (as
 * the simulator would).  0, or EXIT_USAGE after printing the message. */
int cli_read_trace_config(struct sim_config *cfg, const char *path);

/* Append ARG to BUF shell-quoted (with a leading space). */
void cli_shell_quote(char *buf, size_t len, const char *arg);

/* K7: crash point indices, added in ascending order, kept as runs of
 * consecutive points (where check and outcomes say histories were not
 * tried). */
struct cli_ranges {
	uint64_t (*r)[2];		/* first, last */
	size_t n, cap;
};

void cli_ranges_add(struct cli_ranges *rs, uint64_t first, uint64_t last);
void cli_ranges_free(struct cli_ranges *rs);

/* "points 5-9, 12, 20-31" or "point 7" into BUF (at most MAX runs, then
 * "and N more"). */
void cli_ranges_format(const struct cli_ranges *rs, char *buf, size_t len, size_t max);

extern const char cli_config_help[];

#endif
