/*
 * jfs_opts.c — parsing ext4-style mount options.
 *
 * Accepted (as ext4 documents them, Documentation/admin-guide/ext4.rst):
 * data=ordered|writeback|journal, barrier, barrier=0|1, nobarrier,
 * journal_async_commit (implies journal_checksum, as in ext4),
 * journal_checksum, nojournal_checksum, delalloc, nodelalloc,
 * auto_da_alloc, auto_da_alloc=0|1, noauto_da_alloc, commit=SECONDS
 * (0 means the default 5, as in ext4), dax (refused with data=journal,
 * as ext4 refuses it), and powercut's dax_flush=tracked|hammer|none.
 */
#include "jfs_opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jfs_opts_default(struct jfs_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->data = JFS_DATA_ORDERED;
	o->barrier = true;
	o->delalloc = true;
	o->auto_da_alloc = true;
	o->commit_s = 5;
	o->dax_flush = JFS_DAX_FLUSH_TRACKED;
}

static bool is(const char *tok, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(tok, word, n) == 0;
}

int jfs_opts_parse(const char *s, struct jfs_opts *o, char *err, size_t errlen)
{
	const char *p = s;

	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 0)
			goto bad;
		if (is(p, n, "data=ordered"))
			o->data = JFS_DATA_ORDERED;
		else if (is(p, n, "data=writeback"))
			o->data = JFS_DATA_WRITEBACK;
		else if (is(p, n, "data=journal"))
			o->data = JFS_DATA_JOURNAL;
		else if (is(p, n, "barrier") || is(p, n, "barrier=1"))
			o->barrier = true;
		else if (is(p, n, "nobarrier") || is(p, n, "barrier=0"))
			o->barrier = false;
		else if (is(p, n, "journal_async_commit"))
			o->journal_async_commit = o->journal_checksum = true;
		else if (is(p, n, "journal_checksum"))
			o->journal_checksum = true;
		else if (is(p, n, "nojournal_checksum"))
			o->journal_checksum = false;
		else if (is(p, n, "delalloc"))
			o->delalloc = true;
		else if (is(p, n, "nodelalloc"))
			o->delalloc = false;
		else if (is(p, n, "auto_da_alloc") || is(p, n, "auto_da_alloc=1"))
			o->auto_da_alloc = true;
		else if (is(p, n, "noauto_da_alloc") || is(p, n, "auto_da_alloc=0"))
			o->auto_da_alloc = false;
		else if (is(p, n, "dax"))
			o->dax = true;
		else if (is(p, n, "dax_flush=tracked"))
			o->dax_flush = JFS_DAX_FLUSH_TRACKED, o->dax_flush_given = true;
		else if (is(p, n, "dax_flush=hammer"))
			o->dax_flush = JFS_DAX_FLUSH_HAMMER, o->dax_flush_given = true;
		else if (is(p, n, "dax_flush=none"))
			o->dax_flush = JFS_DAX_FLUSH_NONE, o->dax_flush_given = true;
		else if (n > 7 && memcmp(p, "commit=", 7) == 0) {
			unsigned long v = 0;
			for (size_t i = 7; i < n; i++) {
				if (p[i] < '0' || p[i] > '9' || v > 86400)
					goto bad;
				v = v * 10 + (unsigned long)(p[i] - '0');
			}
			if (v > 86400)
				goto bad;
			o->commit_s = v ? (uint32_t)v : 5;
		} else
			goto bad;
		p += n;
		if (*p == ',')
			p++;
		continue;
bad:
		snprintf(err, errlen, "unknown or malformed fs option '%.*s'",
			 (int)(n > 64 ? 64 : n), p);
		return -1;
	}
	if (o->dax_flush_given && !o->dax) {
		snprintf(err, errlen, "dax_flush= needs the dax option");
		return -1;
	}
	if (o->dax && o->data == JFS_DATA_JOURNAL) {
		snprintf(err, errlen, "dax cannot be used with data=journal (ext4: \"can't "
			 "mount with both data=journal and dax\")");
		return -1;
	}
	return 0;
}

void jfs_opts_format(const struct jfs_opts *o, char *buf, size_t len)
{
	static const char *const data[] = { "ordered", "writeback", "journal" };
	static const char *const flush[] = { "tracked", "hammer", "none" };

	snprintf(buf, len, "data=%s,%s%s%s,%s,%s,commit=%u%s%s",
		 data[o->data], o->barrier ? "barrier" : "nobarrier",
		 o->journal_async_commit ? ",journal_async_commit" : "",
		 o->journal_checksum ? ",journal_checksum" : "",
		 o->delalloc ? "delalloc" : "nodelalloc",
		 o->auto_da_alloc ? "auto_da_alloc" : "noauto_da_alloc",
		 o->commit_s, o->dax ? ",dax,dax_flush=" : "",
		 o->dax ? flush[o->dax_flush] : "");
}
