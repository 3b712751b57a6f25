/*
 * config.h — the configuration: the named options of the brief (machine,
 * device, fault, block-semantics, fs-opts, background) and the registry of
 * model parameters (--set KEY=VALUE).
 *
 * Every model parameter is registered exactly once, in its module's table
 * (cache_params[], bq_params[], jfs_params[], sim_params[]), with its name,
 * default, range, unit and help; sim/config.c lists the tables.  Values are
 * set, in rising precedence, by the defaults, a machine file, `config`
 * lines at the top of the trace, and command-line flags.  Every value is
 * checked when it is set (the edge); models read them with sim_param()
 * and trust them.
 */
#ifndef POWERCUT_CONFIG_H
#define POWERCUT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum sim_param_kind {
	SIM_PARAM_UINT,		/* a number */
	SIM_PARAM_SIZE,		/* a number of bytes; K/M/G accepted */
	SIM_PARAM_BOOL,		/* 0/1, on/off, yes/no, true/false */
	SIM_PARAM_CHOICE,	/* one of choices[]; the value is its index */
};

struct sim_param {
	const char *name;		/* "l1d.size" */
	enum sim_param_kind kind;
	uint64_t def;			/* default value (index for CHOICE) */
	uint64_t min, max;		/* inclusive range (UINT, SIZE) */
	const char *unit;		/* "bytes", "cycles", "ways", ... */
	const char *help;		/* one line */
	const char *const *choices;	/* CHOICE: NULL-terminated */
	bool pow2;			/* value must be a power of two */
};

/* The persistence domain (--machine). */
enum sim_machine {
	SIM_MACHINE_ADR,	/* the WPQ is durable */
	SIM_MACHINE_EADR,	/* CPU caches are durable too */
	SIM_MACHINE_PCOMMIT,	/* the WPQ is volatile until pcommit+fence */
};

enum sim_device {
	SIM_DEVICE_DISK_WC,	/* default */
	SIM_DEVICE_DISK_WT,
	SIM_DEVICE_PMEM,
	SIM_DEVICE_PMEM_WB,
	SIM_DEVICE_PLUGIN,	/* device_path names a .so */
};

enum sim_block_semantics {
	SIM_BLOCK_LINUX,	/* FLUSH/FUA, Linux >= 2.6.37 */
	SIM_BLOCK_BARRIER,	/* the older barrier contract */
};

/* Named faults (--fault); a bit set. */
enum {
	SIM_FAULT_IGNORE_FLUSH         = 1u << 0,
	SIM_FAULT_IGNORE_FUA           = 1u << 1,
	SIM_FAULT_EARLY_COMPLETE       = 1u << 2,
	SIM_FAULT_REORDER_ACROSS_FLUSH = 1u << 3,
};

/* Where a setting comes from.  A setting takes effect only if it comes
 * from at least as high an origin as the current value: flags beat the
 * trace's `config` lines, which beat a machine file, which beats the
 * defaults. */
enum sim_origin {
	SIM_FROM_DEFAULT,
	SIM_FROM_MACHINE_FILE,
	SIM_FROM_TRACE,
	SIM_FROM_FLAG,
};

/* Named options (index into opt_origin). */
enum sim_opt {
	SIM_OPT_MACHINE,
	SIM_OPT_DEVICE,
	SIM_OPT_FAULT,
	SIM_OPT_BLOCK_SEM,
	SIM_OPT_FS_OPTS,
	SIM_OPT_BACKGROUND,
	SIM_OPT_COUNT
};

#define SIM_MAX_PARAMS 256
#define SIM_PATH_MAX   4096

struct sim_config {
	enum sim_machine machine;
	char machine_path[SIM_PATH_MAX];	/* a machine file, or "" */
	enum sim_device device;
	char device_path[SIM_PATH_MAX];		/* PLUGIN */
	uint32_t faults;			/* SIM_FAULT_* */
	enum sim_block_semantics block_semantics;
	char fs_opts[1024];			/* as given; fs_model/ parses */
	bool background;
	uint64_t value[SIM_MAX_PARAMS];		/* by registry index */
	/* where each named option and parameter was last set (sim_origin) */
	uint8_t opt_origin[SIM_OPT_COUNT];
	uint8_t param_origin[SIM_MAX_PARAMS];
	/* SIM_FROM_TRACE: the trace line that set it (else 0), for messages */
	uint64_t opt_line[SIM_OPT_COUNT];
	uint64_t param_line[SIM_MAX_PARAMS];
};

/* The setting to blame for an error of sim_config_check(): the one of
 * those involved set by the highest origin (the latest line among a
 * trace's), so that a message points where the user wrote it. */
struct sim_blame {
	enum sim_origin from;
	uint64_t line;			/* SIM_FROM_TRACE: its config line;
					   SIM_FROM_MACHINE_FILE: its line */
	const char *flag;		/* "fs-opts", "set", ...: its flag;
					   SIM_FROM_MACHINE_FILE: the file */
};

/* Defaults for everything. */
void sim_config_init(struct sim_config *c);

/*
 * Set KEY to VALUE.  KEY is a named option (machine, device, fault,
 * block-semantics, fs-opts, background), `set` (VALUE is then KEY=VALUE),
 * or a registered parameter name.  A setting from the trace is ignored
 * when a flag set the same key.  Returns 0, or -1 with a message (without
 * FILE:LINE) in err.
 */
int sim_config_set(struct sim_config *c, const char *key, const char *value,
		   enum sim_origin from, char *err, size_t errlen);

/* sim_config_set for a setting written in FILE at LINE (a trace's
 * `config` line): a relative path in VALUE (a machine file, a device
 * plugin) is FILE's directory joined to it; NULL or "-" (standard input):
 * the current directory, as for a flag.  LINE is kept for messages. */
int sim_config_set_in(struct sim_config *c, const char *key, const char *value,
		      enum sim_origin from, const char *file, uint64_t line,
		      char *err, size_t errlen);

/*
 * A file named inside a file is found beside it, as #include and make -f
 * do: a relative PATH written in FILE resolves against FILE's directory
 * (joined, not made absolute, so that a report shows it as given from the
 * current directory); one on the command line (FILE NULL) or in standard
 * input ("-") against the current directory (OUT = PATH).  0, or -1 when
 * OUT is too short.  report.c finds a report's trace beside it so too.
 */
int sim_resolve_path(const char *file, const char *path, char *out, size_t outlen);

/* Checks that need all settings together (dax on a disk, a plugin that
 * does not exist, ...).  0, or -1 with a message in err and, if BLAME is
 * not NULL, the setting to blame in it. */
int sim_config_check(const struct sim_config *c, char *err, size_t errlen,
		     struct sim_blame *blame);

/* A file trace's filesystem (jfs.blocks x jfs.block_size) must fit its
 * device (pmem.size on pmem devices, else disk.size).  0, or -1 as
 * sim_config_check. */
int sim_config_check_fs(const struct sim_config *c, char *err, size_t errlen,
			struct sim_blame *blame);

/* The blame for an error about NAMES (option or parameter names,
 * NULL-ended): the one set by the highest origin, as sim_config_check. */
void sim_config_blame(const struct sim_config *c, const char *const *names,
		      struct sim_blame *blame);

/* "--fs-opts: " (a flag), "TRACE:LINE: config: " (a trace's line) or ""
 * (a default: the caller says where) into BUF: where BLAME's error was
 * written. */
void sim_blame_format(const struct sim_blame *blame, const char *trace, char *buf,
		      size_t len);

/* The registry. */
size_t sim_param_count(void);
const struct sim_param *sim_param_at(size_t i);
/* Index of NAME, or -1. */
int sim_param_find(const char *name);
/* Value of a registered parameter; NAME must exist (asserted). */
uint64_t sim_param(const struct sim_config *c, const char *name);

/* `powercut run --help`'s table of parameters. */
void sim_params_print(FILE *out);

/* The configuration as "key=value" lines, in a fixed order (reports). */
void sim_config_print(const struct sim_config *c, FILE *out);

const char *sim_machine_name(enum sim_machine m);
const char *sim_device_name(enum sim_device d);

#endif
