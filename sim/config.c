/*
 * config.c — named options, the parameter registry, precedence, checks.
 *
 * The registry is the concatenation of the modules' tables listed in
 * sim/params.c, flattened once on first use.  Parameter names are unique
 * across modules (asserted when the registry is built, so a clash fails
 * every test at once).
 */
#include "config.h"
#include "params.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../fs_model/jfs_opts.h"

/* ---- the registry ---- */

static const struct sim_param *registry[SIM_MAX_PARAMS];
static size_t nregistry;

static void registry_build(void)
{
	if (nregistry)
		return;
	for (size_t t = 0; t < sim_param_ntables; t++)
		for (const struct sim_param *p = sim_param_tables[t]; p->name; p++) {
			assert(nregistry < SIM_MAX_PARAMS);
			for (size_t i = 0; i < nregistry; i++)
				assert(strcmp(registry[i]->name, p->name) != 0);
			registry[nregistry++] = p;
		}
}

size_t sim_param_count(void)
{
	registry_build();
	return nregistry;
}

const struct sim_param *sim_param_at(size_t i)
{
	registry_build();
	return i < nregistry ? registry[i] : NULL;
}

int sim_param_find(const char *name)
{
	registry_build();
	for (size_t i = 0; i < nregistry; i++)
		if (strcmp(registry[i]->name, name) == 0)
			return (int)i;
	return -1;
}

uint64_t sim_param(const struct sim_config *c, const char *name)
{
	int i = sim_param_find(name);
	assert(i >= 0);
	return c->value[i];
}

/* ---- names ---- */

static const char *const machine_names[] = { "adr", "eadr", "pcommit", NULL };
static const char *const device_names[] = { "disk-wc", "disk-wt", "pmem", "pmem-wb", NULL };
static const char *const blocksem_names[] = { "linux", "barrier", NULL };
static const struct { const char *name; uint32_t bit; } fault_names[] = {
	{ "ignore-flush", SIM_FAULT_IGNORE_FLUSH },
	{ "ignore-fua", SIM_FAULT_IGNORE_FUA },
	{ "early-complete", SIM_FAULT_EARLY_COMPLETE },
	{ "reorder-across-flush", SIM_FAULT_REORDER_ACROSS_FLUSH },
};
#define NFAULTS (sizeof(fault_names) / sizeof(fault_names[0]))

const char *sim_machine_name(enum sim_machine m)
{
	return machine_names[m];
}

const char *sim_device_name(enum sim_device d)
{
	return d == SIM_DEVICE_PLUGIN ? "plugin" : device_names[d];
}

static int choice_index(const char *const *names, const char *v)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], v) == 0)
			return i;
	return -1;
}

static void choice_list(const char *const *names, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = '\0';
	for (int i = 0; names[i] && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? "|" : "", names[i]);
}

void sim_config_init(struct sim_config *c)
{
	memset(c, 0, sizeof(*c));
	c->machine = SIM_MACHINE_ADR;
	c->device = SIM_DEVICE_DISK_WC;
	c->block_semantics = SIM_BLOCK_LINUX;
	c->background = true;
	registry_build();
	for (size_t i = 0; i < nregistry; i++)
		c->value[i] = registry[i]->def;
}

/* ---- values ---- */

static int parse_number(const char *v, uint64_t *out, bool size_suffix)
{
	uint64_t x = 0, mult = 1;
	size_t n = strlen(v), i = 0;

	if (size_suffix && n > 0) {
		switch (v[n - 1]) {
		case 'K': mult = 1ull << 10; n--; break;
		case 'M': mult = 1ull << 20; n--; break;
		case 'G': mult = 1ull << 30; n--; break;
		}
	}
	if (n == 0)
		return -1;
	if (n > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		for (i = 2; i < n; i++) {
			int d = (v[i] >= '0' && v[i] <= '9') ? v[i] - '0' :
				(v[i] >= 'a' && v[i] <= 'f') ? v[i] - 'a' + 10 :
				(v[i] >= 'A' && v[i] <= 'F') ? v[i] - 'A' + 10 : -1;
			if (d < 0 || x >> 60)
				return -1;
			x = x << 4 | (uint64_t)d;
		}
	} else {
		for (i = 0; i < n; i++) {
			if (v[i] < '0' || v[i] > '9' || x > (UINT64_MAX - 9) / 10)
				return -1;
			x = x * 10 + (uint64_t)(v[i] - '0');
		}
	}
	if (x > UINT64_MAX / mult)
		return -1;
	*out = x * mult;
	return 0;
}

static int set_param(struct sim_config *c, int idx, const char *v,
		     enum sim_origin from, uint64_t line, char *err, size_t errlen)
{
	const struct sim_param *p = registry[idx];
	uint64_t x;
	char list[256];

	switch (p->kind) {
	case SIM_PARAM_UINT:
	case SIM_PARAM_SIZE:
		if (parse_number(v, &x, p->kind == SIM_PARAM_SIZE)) {
			snprintf(err, errlen, "%s: bad number '%.64s'", p->name, v);
			return -1;
		}
		if (x < p->min || x > p->max) {
			snprintf(err, errlen, "%s=%" PRIu64 " out of range [%" PRIu64
				 ", %" PRIu64 "]", p->name, x, p->min, p->max);
			return -1;
		}
		if (p->pow2 && (x & (x - 1))) {
			snprintf(err, errlen, "%s=%" PRIu64 " is not a power of two",
				 p->name, x);
			return -1;
		}
		break;
	case SIM_PARAM_BOOL:
		if (!strcmp(v, "1") || !strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true"))
			x = 1;
		else if (!strcmp(v, "0") || !strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false"))
			x = 0;
		else {
			snprintf(err, errlen, "%s: expected on or off, not '%.64s'", p->name, v);
			return -1;
		}
		break;
	case SIM_PARAM_CHOICE: {
		int i = choice_index(p->choices, v);
		if (i < 0) {
			choice_list(p->choices, list, sizeof(list));
			snprintf(err, errlen, "%s: expected %s, not '%.64s'", p->name, list, v);
			return -1;
		}
		x = (uint64_t)i;
		break;
	}
	default:
		abort();
	}
	if (from >= c->param_origin[idx]) {
		c->value[idx] = x;
		c->param_origin[idx] = (uint8_t)from;
		c->param_line[idx] = from == SIM_FROM_TRACE || from == SIM_FROM_MACHINE_FILE ?
				     line : 0;
	}
	return 0;
}

static int load_machine_file(struct sim_config *c, const char *path,
			     char *err, size_t errlen);

/* The named options, by their flags' names (without "--"). */
static const char *const opt_flags[SIM_OPT_COUNT] = {
	[SIM_OPT_MACHINE] = "machine", [SIM_OPT_DEVICE] = "device",
	[SIM_OPT_FAULT] = "fault", [SIM_OPT_BLOCK_SEM] = "block-semantics",
	[SIM_OPT_FS_OPTS] = "fs-opts", [SIM_OPT_BACKGROUND] = "background",
};

/* The option named NAME, or SIM_OPT_COUNT. */
static enum sim_opt opt_by_name(const char *name)
{
	int o;

	for (o = 0; o < SIM_OPT_COUNT; o++)
		if (!strcmp(opt_flags[o], name))
			break;
	return (enum sim_opt)o;
}

/*
 * A machine file describes a machine: its persistence domain and model
 * parameters.  The options of a mount or a run (device, fault, fs-opts,
 * block-semantics, background, machine itself) and `set=` are refused, so
 * that a file passed as --machine never changes more than it says it does.
 */
static int set_machine_file_key(struct sim_config *c, const char *key, const char *v,
				uint64_t line, char *err, size_t errlen)
{
	char list[256];
	int i;

	if (!strcmp(key, "domain")) {
		i = choice_index(machine_names, v);
		if (i < 0) {
			choice_list(machine_names, list, sizeof(list));
			snprintf(err, errlen, "domain: expected %s, not '%.64s'", list, v);
			return -1;
		}
		c->machine = (enum sim_machine)i;
		return 0;
	}
	if (!strcmp(key, "set")) {
		snprintf(err, errlen, "set: not a machine setting (a machine file writes a "
			 "parameter as KEY=VALUE)");
		return -1;
	}
	if (opt_by_name(key) != SIM_OPT_COUNT) {
		snprintf(err, errlen, "%s: not a machine setting (a machine file holds domain= "
			 "and model parameters; give --%s as a flag or a trace's config line)",
			 key, key);
		return -1;
	}
	i = sim_param_find(key);
	if (i < 0) {
		snprintf(err, errlen, "unknown machine setting '%.64s' (domain= or a model "
			 "parameter: powercut run --help lists them)", key);
		return -1;
	}
	return set_param(c, i, v, SIM_FROM_MACHINE_FILE, line, err, errlen);
}

static bool take(struct sim_config *c, enum sim_opt o, enum sim_origin from, uint64_t line)
{
	if (from < c->opt_origin[o])
		return false;
	c->opt_origin[o] = (uint8_t)from;
	c->opt_line[o] = from == SIM_FROM_TRACE ? line : 0;
	return true;
}

int sim_resolve_path(const char *file, const char *path, char *out, size_t outlen)
{
	const char *slash = file && strcmp(file, "-") ? strrchr(file, '/') : NULL;
	int n;

	if (path[0] == '/' || !slash)
		n = snprintf(out, outlen, "%s", path);
	else
		n = snprintf(out, outlen, "%.*s%s", (int)(slash - file + 1), file, path);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int sim_config_set(struct sim_config *c, const char *key, const char *v,
		   enum sim_origin from, char *err, size_t errlen)
{
	return sim_config_set_in(c, key, v, from, NULL, 0, err, errlen);
}

int sim_config_set_in(struct sim_config *c, const char *key, const char *v,
		      enum sim_origin from, const char *file, uint64_t line,
		      char *err, size_t errlen)
{
	char list[256];
	int i;

	registry_build();
	if (from == SIM_FROM_MACHINE_FILE)
		return set_machine_file_key(c, key, v, line, err, errlen);
	if (!strcmp(key, "machine")) {
		i = choice_index(machine_names, v);
		if (i < 0 && strchr(v, '/') == NULL && strchr(v, '.') == NULL) {
			choice_list(machine_names, list, sizeof(list));
			snprintf(err, errlen, "machine: expected %s or a machine file, not '%.64s'",
				 list, v);
			return -1;
		}
		if (!take(c, SIM_OPT_MACHINE, from, line))
			return 0;
		if (i >= 0) {
			c->machine = (enum sim_machine)i;
			c->machine_path[0] = '\0';
			return 0;
		}
		if (sim_resolve_path(file, v, c->machine_path, sizeof(c->machine_path))) {
			c->machine_path[0] = '\0';
			snprintf(err, errlen, "machine: path too long");
			return -1;
		}
		return load_machine_file(c, c->machine_path, err, errlen);
	}
	if (!strcmp(key, "device")) {
		char path[SIM_PATH_MAX];
		size_t n = strlen(v);
		i = choice_index(device_names, v);
		if (i < 0 && !(n > 3 && !strcmp(v + n - 3, ".so"))) {
			choice_list(device_names, list, sizeof(list));
			snprintf(err, errlen, "device: expected %s or a PLUGIN.so, not '%.64s'",
				 list, v);
			return -1;
		}
		if (i < 0 && sim_resolve_path(file, v, path, sizeof(path))) {
			snprintf(err, errlen, "device: path too long");
			return -1;
		}
		if (!take(c, SIM_OPT_DEVICE, from, line))
			return 0;
		c->device = i >= 0 ? (enum sim_device)i : SIM_DEVICE_PLUGIN;
		strcpy(c->device_path, i >= 0 ? "" : path);
		return 0;
	}
	if (!strcmp(key, "fault")) {
		/* a comma-separated list; "none" clears */
		uint32_t bits = 0;
		const char *p = v;
		while (*p) {
			const char *e = strchr(p, ',');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			size_t f;
			if (n == 4 && !memcmp(p, "none", 4))
				goto next;
			for (f = 0; f < NFAULTS; f++)
				if (strlen(fault_names[f].name) == n && !memcmp(fault_names[f].name, p, n))
					break;
			if (f == NFAULTS) {
				snprintf(err, errlen, "unknown fault '%.*s' (ignore-flush, ignore-fua, "
					 "early-complete, reorder-across-flush, none)",
					 (int)(n > 64 ? 64 : n), p);
				return -1;
			}
			bits |= fault_names[f].bit;
next:
			p += n;
			if (*p == ',')
				p++;
		}
		/* Repeated --fault flags add up; a config line replaces. */
		if (from == SIM_FROM_FLAG && c->opt_origin[SIM_OPT_FAULT] == SIM_FROM_FLAG)
			bits |= c->faults;
		if (take(c, SIM_OPT_FAULT, from, line))
			c->faults = bits;
		return 0;
	}
	if (!strcmp(key, "block-semantics")) {
		i = choice_index(blocksem_names, v);
		if (i < 0) {
			snprintf(err, errlen, "block-semantics: expected linux|barrier, not '%.64s'", v);
			return -1;
		}
		if (take(c, SIM_OPT_BLOCK_SEM, from, line))
			c->block_semantics = (enum sim_block_semantics)i;
		return 0;
	}
	if (!strcmp(key, "fs-opts")) {
		struct jfs_opts o;
		jfs_opts_default(&o);
		if (jfs_opts_parse(v, &o, err, errlen))
			return -1;
		if (strlen(v) >= sizeof(c->fs_opts)) {
			snprintf(err, errlen, "fs-opts: too long");
			return -1;
		}
		if (take(c, SIM_OPT_FS_OPTS, from, line))
			strcpy(c->fs_opts, v);
		return 0;
	}
	if (!strcmp(key, "background")) {
		bool on;
		if (!strcmp(v, "on"))
			on = true;
		else if (!strcmp(v, "off"))
			on = false;
		else {
			snprintf(err, errlen, "background: expected on or off, not '%.64s'", v);
			return -1;
		}
		if (take(c, SIM_OPT_BACKGROUND, from, line))
			c->background = on;
		return 0;
	}
	if (!strcmp(key, "set")) {
		const char *eq = strchr(v, '=');
		char k[128];
		if (!eq || eq == v || (size_t)(eq - v) >= sizeof(k)) {
			snprintf(err, errlen, "set: expected KEY=VALUE, not '%.64s'", v);
			return -1;
		}
		memcpy(k, v, (size_t)(eq - v));
		k[eq - v] = '\0';
		i = sim_param_find(k);
		if (i < 0) {
			snprintf(err, errlen, "unknown parameter '%s' (powercut run --help lists them)", k);
			return -1;
		}
		return set_param(c, i, eq + 1, from, line, err, errlen);
	}
	i = sim_param_find(key);
	if (i < 0) {
		snprintf(err, errlen, "unknown setting '%.64s'", key);
		return -1;
	}
	return set_param(c, i, v, from, line, err, errlen);
}

/*
 * A machine file: `KEY=VALUE` lines (parameters, and `domain=adr|eadr|
 * pcommit`), `#` comments, blank lines.  Its settings lose to the trace's
 * config lines and to flags.
 */
static int load_machine_file(struct sim_config *c, const char *path,
			     char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, msg[512];
	size_t cap = 0;
	ssize_t n;
	unsigned lineno = 0;
	int rc = 0;

	if (!f) {
		snprintf(err, errlen, "machine file %.200s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *s = line, *e, *eq;
		lineno++;
		if (memchr(line, '\0', (size_t)n)) {
			snprintf(err, errlen, "%.200s:%u: a NUL byte: not a machine file", path,
				 lineno);
			rc = -1;
			break;
		}
		if ((e = strchr(s, '#')))
			*e = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		e = s + strlen(s);
		while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (!*s)
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%.200s:%u: expected KEY=VALUE", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		if (sim_config_set_in(c, s, eq + 1, SIM_FROM_MACHINE_FILE, path, lineno, msg,
				      sizeof(msg))) {
			snprintf(err, errlen, "%.200s:%u: %s", path, lineno, msg);
			rc = -1;
			break;
		}
	}
	if (!rc && ferror(f)) {
		snprintf(err, errlen, "%.200s:%u: read error: %s", path, lineno + 1,
			 strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}

/* ---- checks of settings together ---- */

/* Let (FROM, LINE, FLAG) take the blame if it was set by a higher origin
 * than the current one, or by a later line of the trace or machine file. */
static void blame_consider(struct sim_blame *b, enum sim_origin from, uint64_t line,
			   const char *flag)
{
	if (from > b->from || (from == b->from && (from == SIM_FROM_TRACE ||
						   from == SIM_FROM_MACHINE_FILE) &&
			       line > b->line)) {
		b->from = from;
		b->line = line;
		b->flag = flag;
	}
}

static void blame_opt(const struct sim_config *c, enum sim_opt o, struct sim_blame *b)
{
	blame_consider(b, (enum sim_origin)c->opt_origin[o], c->opt_line[o], opt_flags[o]);
}

/* A parameter from a machine file is blamed on its line there (the
 * blame's flag is then the file's path). */
static void blame_param(const struct sim_config *c, const char *name, struct sim_blame *b)
{
	int i = sim_param_find(name);

	assert(i >= 0);
	blame_consider(b, (enum sim_origin)c->param_origin[i], c->param_line[i],
		       c->param_origin[i] == SIM_FROM_MACHINE_FILE ? c->machine_path : "set");
}

void sim_config_blame(const struct sim_config *c, const char *const *names,
		      struct sim_blame *b)
{
	*b = (struct sim_blame){ SIM_FROM_DEFAULT, 0, NULL };
	for (; *names; names++) {
		enum sim_opt o = opt_by_name(*names);
		if (o != SIM_OPT_COUNT)
			blame_opt(c, o, b);
		else if (sim_param_find(*names) >= 0)
			blame_param(c, *names, b);
	}
}

void sim_blame_format(const struct sim_blame *b, const char *trace, char *buf, size_t len)
{
	if (b->from == SIM_FROM_FLAG)
		snprintf(buf, len, "--%s: ", b->flag);
	else if (b->from == SIM_FROM_TRACE)
		snprintf(buf, len, "%s:%" PRIu64 ": config: ", trace ? trace : "-", b->line);
	else if (b->from == SIM_FROM_MACHINE_FILE)
		snprintf(buf, len, "%s:%" PRIu64 ": ", b->flag, b->line);
	else
		buf[0] = '\0';
}

int sim_config_check(const struct sim_config *c, char *err, size_t errlen,
		     struct sim_blame *blame)
{
	struct sim_blame b = { SIM_FROM_DEFAULT, 0, NULL };
	struct jfs_opts o;
	int rc = 0;

	jfs_opts_default(&o);
	if (jfs_opts_parse(c->fs_opts, &o, err, errlen)) {
		blame_opt(c, SIM_OPT_FS_OPTS, &b);
		rc = -1;
	} else if (o.dax && c->device != SIM_DEVICE_PMEM && c->device != SIM_DEVICE_PMEM_WB) {
		snprintf(err, errlen, "fs option dax needs a pmem device (--device pmem or "
			 "pmem-wb), not %s", sim_device_name(c->device));
		blame_opt(c, SIM_OPT_FS_OPTS, &b);
		blame_opt(c, SIM_OPT_DEVICE, &b);
		rc = -1;
	} else if (c->device == SIM_DEVICE_PLUGIN) {
		FILE *f = fopen(c->device_path, "rb");
		if (!f) {
			snprintf(err, errlen, "device plugin %.200s: %s", c->device_path,
				 strerror(errno));
			blame_opt(c, SIM_OPT_DEVICE, &b);
			rc = -1;
		} else {
			fclose(f);
		}
	}
	if (rc && blame)
		*blame = b;
	return rc;
}

int sim_config_check_fs(const struct sim_config *c, char *err, size_t errlen,
			struct sim_blame *blame)
{
	struct sim_blame b = { SIM_FROM_DEFAULT, 0, NULL };
	const char *dev = c->device == SIM_DEVICE_PMEM || c->device == SIM_DEVICE_PMEM_WB ?
			  "pmem.size" : "disk.size";
	uint64_t bs = sim_param(c, "jfs.block_size"), nb = sim_param(c, "jfs.blocks");
	uint64_t size = sim_param(c, dev);

	if (nb <= size / bs)
		return 0;
	snprintf(err, errlen, "the filesystem (jfs.blocks=%" PRIu64 " x jfs.block_size=%"
		 PRIu64 ") does not fit the %" PRIu64 "-byte device (%s)", nb, bs, size, dev);
	blame_param(c, "jfs.block_size", &b);
	blame_param(c, "jfs.blocks", &b);
	blame_param(c, dev, &b);
	if (blame)
		*blame = b;
	return -1;
}

/* ---- printing ---- */

static void print_value(const struct sim_param *p, uint64_t v, FILE *out)
{
	switch (p->kind) {
	case SIM_PARAM_BOOL:
		fputs(v ? "on" : "off", out);
		break;
	case SIM_PARAM_CHOICE:
		fputs(p->choices[v], out);
		break;
	case SIM_PARAM_SIZE:
		if (v && !(v & ((1ull << 30) - 1)))
			fprintf(out, "%" PRIu64 "G", v >> 30);
		else if (v && !(v & ((1ull << 20) - 1)))
			fprintf(out, "%" PRIu64 "M", v >> 20);
		else if (v && !(v & ((1ull << 10) - 1)))
			fprintf(out, "%" PRIu64 "K", v >> 10);
		else
			fprintf(out, "%" PRIu64, v);
		break;
	default:
		fprintf(out, "%" PRIu64, v);
	}
}

void sim_params_print(FILE *out)
{
	registry_build();
	fprintf(out, "Model parameters (--set KEY=VALUE, or `config KEY=VALUE` in a trace):\n");
	if (nregistry == 0)
		fprintf(out, "  (none registered)\n");
	for (size_t i = 0; i < nregistry; i++) {
		const struct sim_param *p = registry[i];
		char def[64];
		FILE *m = fmemopen(def, sizeof(def), "w");
		if (m) {
			print_value(p, p->def, m);
			fclose(m);
		} else {
			strcpy(def, "?");
		}
		fprintf(out, "  %-28s %-10s %-8s %s", p->name, def, p->unit ? p->unit : "", p->help);
		if (p->kind == SIM_PARAM_CHOICE) {
			char list[256];
			choice_list(p->choices, list, sizeof(list));
			fprintf(out, " (%s)", list);
		}
		fputc('\n', out);
	}
}

void sim_config_print(const struct sim_config *c, FILE *out)
{
	struct jfs_opts o;
	char fs[256], err[128];

	jfs_opts_default(&o);
	jfs_opts_parse(c->fs_opts, &o, err, sizeof(err));
	jfs_opts_format(&o, fs, sizeof(fs));
	fprintf(out, "machine=%s%s%s\n", machine_names[c->machine],
		c->machine_path[0] ? " file=" : "", c->machine_path);
	fprintf(out, "device=%s\n", c->device == SIM_DEVICE_PLUGIN ? c->device_path :
		device_names[c->device]);
	fprintf(out, "fault=");
	if (!c->faults)
		fputs("none", out);
	for (size_t f = 0, first = 1; f < NFAULTS; f++)
		if (c->faults & fault_names[f].bit) {
			fprintf(out, "%s%s", first ? "" : ",", fault_names[f].name);
			first = 0;
		}
	fputc('\n', out);
	fprintf(out, "block-semantics=%s\n", blocksem_names[c->block_semantics]);
	fprintf(out, "fs-opts=%s\n", fs);
	fprintf(out, "background=%s\n", c->background ? "on" : "off");
	for (size_t i = 0; i < nregistry; i++) {
		fprintf(out, "%s=", registry[i]->name);
		print_value(registry[i], c->value[i], out);
		fputc('\n', out);
	}
}
