/*
 * import_dmlog.c — the binary write log of the kernel's dm-log-writes
 * target and of QEMU's blklogwrites driver, to a block trace.
 *
 * The format (drivers/md/dm-log-writes.c; QEMU's block/blklogwrites.c
 * writes the same; xfstests' src/log-writes/log-writes.c reads it), all
 * little-endian:
 *
 *   byte 0        struct log_write_super { u64 magic = 0x6a736677736872;
 *                 u64 version = 1; u64 nr_entries; u32 sectorsize; },
 *                 padded to one log sector (sectorsize bytes)
 *   then, nr_entries times, from byte sectorsize on:
 *                 struct log_write_entry { u64 sector; u64 nr_sectors;
 *                 u64 flags; u64 data_len; }, padded to one log sector
 *                 (a MARK's name, data_len bytes, follows the struct in
 *                 that same sector), then nr_sectors log sectors of the
 *                 data written, except for a DISCARD, which has none.
 *   flags         FLUSH 1, FUA 2, DISCARD 4, MARK 8, METADATA 16.
 *   sector        in units of sectorsize (the device's logical block size
 *                 for the kernel, log-sector-size for QEMU), as nr_sectors.
 *
 * What the log records.  The kernel logs a write only once it is known to
 * be on stable media: a plain write when a later FLUSH completes (the
 * writes that completed before the FLUSH was submitted are logged just
 * before it, in completion order), a FUA write when it completes, a FLUSH
 * when it completes.  QEMU logs every request when it completes.  Neither
 * records when a request was submitted.  So the log is the order in which
 * requests became stable, and a FLUSH entry follows exactly the writes it
 * made stable.
 *
 * Rules (entry i of the log, 0-based; every bio gets id i+1):
 *
 *   D1  A write (nr_sectors > 0, neither DISCARD nor MARK) becomes
 *       `bio id=i+1 op=write sector=S len=L data=D` then `wait id=i+1`,
 *       with S and L converted to the trace's 512-byte sectors and bytes.
 *       FLUSH adds PREFLUSH, FUA adds FUA to its flags.
 *   D2  A FLUSH without data (nr_sectors = 0) becomes
 *       `bio id=i+1 op=flush flags=PREFLUSH` then `wait id=i+1`.  A FUA
 *       flag on it is dropped: there is no data to make durable (Linux's
 *       device mapper splits a PREFLUSH|FUA write into such an empty flush
 *       and a FUA write, and the kernel logs both with their flags).
 *   D3  A DISCARD becomes `bio op=discard sector=S len=L` and its wait.
 *   D4  A MARK becomes `mark name=NAME` (an empty name becomes
 *       `entry-i`).  `dmsetup message DEV 0 mark NAME` makes them; the
 *       kernel adds `dm-log-writes-end` when the target is removed.
 *   D5  Submit-then-wait, one request at a time, in log order: the
 *       trace's completion order is the log's stable order.  Under a
 *       device with a volatile write cache (disk-wc, the default) a
 *       completed write may still be lost at a crash until a PREFLUSH
 *       covers it, and a PREFLUSH covers exactly the writes before it: the
 *       states powercut explores are the states the log allows (D5 is
 *       faithful for the kernel's log by construction of the log).
 *   D6  Data: `fill:B` when every byte of the write is B (zeroed blocks
 *       are common), the exact bytes as `hex:` otherwise.
 *   D7  Each bio carries `sym="entry I"` (with " META" when the METADATA
 *       flag, REQ_META, is set), so a violation names the log entry;
 *       replay-log --limit/--start-entry count entries the same way.
 *   D8  nr_entries of the super is the end: the kernel updates it at
 *       every FUA and MARK, QEMU at every FLUSH, so entries written after
 *       the last update are not part of the log (replay-log stops there
 *       too).  Bytes after the last entry are ignored.
 *
 * Notes:
 *   - Errors are "FILE:OFFSET: entry I: what is wrong", OFFSET the byte
 *     offset of the entry header (or of the super) in the log.
 *   - Validated: magic, version 1, a power-of-two sectorsize of at most
 *     16 MiB (QEMU's limit), known flags only, no all-zero entry (as
 *     replay-log's log_entry_valid()), a MARK name that fits its sector,
 *     every write 512-byte aligned in the device (a log sector size under
 *     512 is accepted when the requests are), no entry past the end of
 *     the file, no write of more than 1 GiB.
 *   - Under disk-wt (no volatile cache: completion is durability) D5
 *     orders every write: states where a later write is durable and an
 *     earlier one is not are not explored, because the log cannot tell
 *     whether the two were in flight together.  Under disk-wc they are.
 *   - QEMU logs a request when its own I/O completes: a write submitted
 *     after a guest FLUSH but completed before it is logged before the
 *     FLUSH entry, so for QEMU logs D5 may credit a FLUSH with a write it
 *     did not cover.  The kernel's log does not have this problem.
 *   - QEMU does not record FUA (its log entries carry FLUSH and DISCARD
 *     only); a guest on virtio-blk has no FUA anyway and sends FLUSHes.
 *   - The device's size and prior content are not in the log: check with
 *     --base-image (the image the log was recorded on), whose size also
 *     sizes the device.
 */
#include "import.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

#define LOG_MAGIC		0x6a736677736872ull
#define LOG_FLUSH		(1u << 0)
#define LOG_FUA			(1u << 1)
#define LOG_DISCARD		(1u << 2)
#define LOG_MARK		(1u << 3)
#define LOG_METADATA		(1u << 4)
#define LOG_KNOWN		(LOG_FLUSH | LOG_FUA | LOG_DISCARD | LOG_MARK | LOG_METADATA)
#define MAX_SECTORSIZE		(1u << 24)
#define MAX_WRITE		(1ull << 30)

struct dl {
	FILE *in, *out;
	const char *file;
	char *err;
	size_t errlen;
	uint64_t off;			/* bytes consumed from IN */
	uint64_t at;			/* offset of the entry being read */
	uint64_t entry;			/* its index, or UINT64_MAX for the super */
	uint8_t *buf;			/* one log sector, then a write's data */
	size_t cap;
};

static int dfail(struct dl *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int dfail(struct dl *d, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (d->entry == UINT64_MAX)
		n = snprintf(d->err, d->errlen, "%s:%" PRIu64 ": ", d->file, d->at);
	else
		n = snprintf(d->err, d->errlen, "%s:%" PRIu64 ": entry %" PRIu64 ": ", d->file,
			     d->at, d->entry);
	if (n < 0 || (size_t)n >= d->errlen)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(d->err + n, d->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int grow(struct dl *d, size_t n)
{
	uint8_t *b;

	if (n <= d->cap)
		return 0;
	b = realloc(d->buf, n);
	if (!b)
		return dfail(d, "out of memory for %zu bytes", n);
	d->buf = b;
	d->cap = n;
	return 0;
}

/* Read exactly N bytes into d->buf.  WHAT names them in the message. */
static int read_exact(struct dl *d, size_t n, const char *what)
{
	size_t got;

	if (grow(d, n ? n : 1))
		return -1;
	got = fread(d->buf, 1, n, d->in);
	d->off += got;
	if (got != n) {
		if (ferror(d->in))
			return dfail(d, "read error: %s", strerror(errno));
		return dfail(d, "the log ends inside %s (%zu of %zu bytes)", what, got, n);
	}
	return 0;
}

static int emit(struct dl *d, const struct trace_event *ev)
{
	if (trace_write_event(d->out, ev))
		return dfail(d, "write error: %s", strerror(errno));
	return 0;
}

static void ev_init(struct trace_event *ev, enum trace_op op)
{
	memset(ev, 0, offsetof(struct trace_event, kv));
	ev->op = op;
}

static int emit_wait(struct dl *d, uint64_t id)
{
	struct trace_event ev;

	ev_init(&ev, TRACE_WAIT);
	ev.id = id;
	ev.fields = TRACE_F_ID;
	return emit(d, &ev);
}

/* D1-D3, D6, D7: one request and its wait. */
static int emit_bio(struct dl *d, enum trace_bio_op op, uint32_t flags, uint64_t byte_off,
		    uint64_t len, const uint8_t *data, bool meta)
{
	struct trace_event ev;
	char sym[64];
	uint64_t id = d->entry + 1;

	ev_init(&ev, TRACE_BIO);
	ev.id = id;
	ev.bio_op = op;
	ev.fields = TRACE_F_ID | TRACE_F_OP | TRACE_F_SYM;
	snprintf(sym, sizeof(sym), "entry %" PRIu64 "%s", d->entry, meta ? " META" : "");
	ev.sym.s = sym;
	ev.sym.len = strlen(sym);
	if (flags) {
		ev.flags = flags;
		ev.fields |= TRACE_F_FLAGS;
	}
	if (op != TRACE_BIO_FLUSH) {
		ev.sector = byte_off / 512;
		ev.len = len;
		ev.fields |= TRACE_F_SECTOR | TRACE_F_LEN;
	}
	if (op == TRACE_BIO_WRITE) {
		uint64_t i = 1;
		while (i < len && data[i] == data[0])
			i++;
		ev.data.len = len;
		if (i == len) {
			ev.data.kind = TRACE_PAYLOAD_FILL;
			ev.data.arg = data[0];
		} else {
			ev.data.kind = TRACE_PAYLOAD_HEX;
			ev.data.bytes = data;
		}
		ev.fields |= TRACE_F_DATA;
	}
	if (emit(d, &ev))
		return -1;
	return emit_wait(d, id);
}

static int one_entry(struct dl *d, uint32_t ss)
{
	uint64_t sector, nr, flags, dlen, byte_off, len;
	struct trace_event ev;
	bool meta;

	d->at = d->off;
	if (read_exact(d, ss, "an entry header"))
		return -1;
	sector = le64(d->buf);
	nr = le64(d->buf + 8);
	flags = le64(d->buf + 16);
	dlen = le64(d->buf + 24);
	if (flags & ~(uint64_t)LOG_KNOWN)
		return dfail(d, "unknown flags 0x%" PRIx64, flags & ~(uint64_t)LOG_KNOWN);
	if (!flags && !nr)
		return dfail(d, "an all-zero entry (the log is corrupt, or nr_entries "
			     "counts entries that were never written)");
	meta = flags & LOG_METADATA;

	if (flags & LOG_MARK) {			/* D4 */
		char name[64];
		if (dlen > ss - 32)
			return dfail(d, "mark of %" PRIu64 " bytes does not fit its %" PRIu32
				     "-byte sector", dlen, ss);
		if (nr)
			return dfail(d, "a MARK with %" PRIu64 " sectors of data", nr);
		for (uint64_t i = 0; i < dlen; i++)
			if (!d->buf[32 + i])
				return dfail(d, "mark name with a NUL byte");
		ev_init(&ev, TRACE_MARK);
		char *copy = NULL;
		if (dlen) {
			if (!(copy = malloc(dlen + 1)))
				return dfail(d, "out of memory");
			memcpy(copy, d->buf + 32, dlen);
			copy[dlen] = '\0';
			ev.name.s = copy;
			ev.name.len = dlen;
		} else {
			snprintf(name, sizeof(name), "entry-%" PRIu64, d->entry);
			ev.name.s = name;
			ev.name.len = strlen(name);
		}
		ev.fields = TRACE_F_NAME;
		int rc = emit(d, &ev);
		free(copy);
		return rc;
	}
	if (dlen)
		return dfail(d, "data_len %" PRIu64 " on an entry that is not a MARK", dlen);
	if (nr > MAX_WRITE / ss)
		return dfail(d, "a request of %" PRIu64 " sectors of %" PRIu32 " bytes "
			     "(more than 1 GiB)", nr, ss);
	len = nr * ss;
	if (sector > (UINT64_MAX - len) / ss)
		return dfail(d, "sector %" PRIu64 " is beyond any device", sector);
	byte_off = sector * ss;

	if (flags & LOG_DISCARD) {		/* D3 */
		if (!nr)
			return dfail(d, "a DISCARD of no sectors");
		if (byte_off % 512 || len % 512)
			return dfail(d, "DISCARD of bytes %" PRIu64 "+%" PRIu64 " is not in "
				     "512-byte sectors", byte_off, len);
		return emit_bio(d, TRACE_BIO_DISCARD, 0, byte_off, len, NULL, meta);
	}
	if (!nr) {				/* D2 */
		if (!(flags & LOG_FLUSH))
			return dfail(d, "a write of no sectors");
		return emit_bio(d, TRACE_BIO_FLUSH, TRACE_BIO_PREFLUSH, 0, 0, NULL, meta);
	}
	if (byte_off % 512 || len % 512)	/* D1 */
		return dfail(d, "write of bytes %" PRIu64 "+%" PRIu64 " is not in 512-byte "
			     "sectors", byte_off, len);
	if (read_exact(d, len, "the data of a write"))
		return -1;
	return emit_bio(d, TRACE_BIO_WRITE,
			(flags & LOG_FLUSH ? TRACE_BIO_PREFLUSH : 0u) |
			(flags & LOG_FUA ? TRACE_BIO_FUA : 0u),
			byte_off, len, d->buf, meta);
}

static int convert(FILE *in, const char *name, FILE *out, char *err, size_t errlen)
{
	struct dl d = { .in = in, .out = out, .file = name, .err = err, .errlen = errlen,
			.entry = UINT64_MAX };
	uint64_t magic, version, n;
	uint32_t ss;
	int rc = -1;

	if (read_exact(&d, 28, "the super block"))
		goto out;
	magic = le64(d.buf);
	version = le64(d.buf + 8);
	n = le64(d.buf + 16);
	ss = le32(d.buf + 24);
	if (magic != LOG_MAGIC) {
		dfail(&d, "not a dm-log-writes log (magic 0x%" PRIx64 ", expected 0x%llx)", magic,
		      LOG_MAGIC);
		goto out;
	}
	if (version != 1) {
		dfail(&d, "log version %" PRIu64 " (only version 1 exists)", version);
		goto out;
	}
	if (ss < 32 + 1 || ss > MAX_SECTORSIZE || (ss & (ss - 1))) {
		dfail(&d, "sector size %" PRIu32 " is not a power of two from 64 to 16 MiB", ss);
		goto out;
	}
	if (read_exact(&d, ss - 28, "the super block's sector"))
		goto out;
	fprintf(out, "# imported by powercut import dm-log-writes from %s\n"
		"# %" PRIu64 " entries, %" PRIu32 "-byte log sectors; each request is "
		"submitted and waited in log order (rule D5)\nversion 1\n", name, n, ss);
	for (d.entry = 0; d.entry < n; d.entry++)
		if (one_entry(&d, ss))
			goto out;
	if (fgetc(in) != EOF)
		fprintf(out, "# bytes after entry %" PRIu64 " (offset %" PRIu64 ") are not part "
			"of the log (rule D8)\n", n ? n - 1 : 0, d.off);
	rc = 0;
out:
	free(d.buf);
	return rc;
}

const struct trace_importer trace_import_dmlog = {
	.name = "dm-log-writes",
	.help = "the binary write log of Linux's dm-log-writes target or QEMU's blklogwrites",
	.convert = convert,
};
