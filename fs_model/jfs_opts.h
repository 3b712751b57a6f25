/*
 * jfs_opts.h — ext4-style mount options (--fs-opts), parsed and checked
 * once at the edge; the filesystem model trusts the result.
 *
 * Defaults are ext4's: data=ordered,barrier,delalloc,auto_da_alloc,
 * commit=5.  `dax_flush=` is powercut's own option (the fsync/msync
 * strategy of a DAX filesystem; see docs/semantics.md) and needs `dax`.
 */
#ifndef POWERCUT_JFS_OPTS_H
#define POWERCUT_JFS_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jfs_data_mode {
	JFS_DATA_ORDERED,
	JFS_DATA_WRITEBACK,
	JFS_DATA_JOURNAL,
};

enum jfs_dax_flush {
	JFS_DAX_FLUSH_TRACKED,	/* write back pages tagged dirty (Linux 4.5) */
	JFS_DAX_FLUSH_HAMMER,	/* write back every line of the namespace */
	JFS_DAX_FLUSH_NONE,	/* flush nothing (before Linux 4.5) */
};

struct jfs_opts {
	enum jfs_data_mode data;
	bool barrier;
	bool journal_async_commit;
	bool journal_checksum;
	bool delalloc;
	bool auto_da_alloc;
	uint32_t commit_s;		/* commit interval, seconds */
	bool dax;
	enum jfs_dax_flush dax_flush;
	bool dax_flush_given;
};

void jfs_opts_default(struct jfs_opts *o);

/* Parse a comma-separated list over the defaults.  0, or -1 with a message
 * naming the bad option in err. */
int jfs_opts_parse(const char *s, struct jfs_opts *o, char *err, size_t errlen);

/* The options in canonical order, comma-separated, into buf. */
void jfs_opts_format(const struct jfs_opts *o, char *buf, size_t len);

#endif
