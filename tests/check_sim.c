/*
 * check_sim.c — unit tests of sim/: configuration and its precedence, the
 * sparse media, CRC-32, the crash-state explorer (with a fake model whose
 * states are known), observations, and the event loop's world rules and
 * crash points.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/cli.h"
#include "sim/config.h"
#include "sim/crc32.h"
#include "sim/explore.h"
#include "sim/fs_promise.h"
#include "sim/latency.h"
#include "sim/media.h"
#include "sim/observe.h"
#include "sim/sim.h"
#include "traces/trace.h"
#include "fs_model/jfs.h"
#include "fs_model/jfs_opts.h"

/* ---- configuration ---- */

START_TEST(config_defaults)
{
	struct sim_config c;

	sim_config_init(&c);
	ck_assert_int_eq(c.machine, SIM_MACHINE_ADR);
	ck_assert_int_eq(c.device, SIM_DEVICE_DISK_WC);
	ck_assert_int_eq(c.block_semantics, SIM_BLOCK_LINUX);
	ck_assert(c.background);
	ck_assert_uint_eq(c.faults, 0);
	ck_assert_uint_eq(sim_param(&c, "pmem.size"), 1ull << 30);
	ck_assert_int_ge(sim_param_find("disk.size"), 0);
	ck_assert_int_eq(sim_param_find("no.such"), -1);
}
END_TEST

START_TEST(config_precedence)
{
	struct sim_config c;
	char err[256];

	sim_config_init(&c);
	ck_assert_int_eq(sim_config_set(&c, "device", "pmem", SIM_FROM_FLAG, err, sizeof(err)), 0);
	/* a trace config line loses to the flag, silently */
	ck_assert_int_eq(sim_config_set(&c, "device", "disk-wt", SIM_FROM_TRACE, err, sizeof(err)), 0);
	ck_assert_int_eq(c.device, SIM_DEVICE_PMEM);
	/* but a trace line still sets what no flag set */
	ck_assert_int_eq(sim_config_set(&c, "block-semantics", "barrier", SIM_FROM_TRACE, err, sizeof(err)), 0);
	ck_assert_int_eq(c.block_semantics, SIM_BLOCK_BARRIER);
	/* parameters: flag > trace; --set and the bare name are the same key */
	ck_assert_int_eq(sim_config_set(&c, "set", "pmem.size=2M", SIM_FROM_FLAG, err, sizeof(err)), 0);
	ck_assert_int_eq(sim_config_set(&c, "pmem.size", "4M", SIM_FROM_TRACE, err, sizeof(err)), 0);
	ck_assert_uint_eq(sim_param(&c, "pmem.size"), 2u << 20);
	ck_assert_int_eq(sim_config_set(&c, "disk.size", "0x100000", SIM_FROM_TRACE, err, sizeof(err)), 0);
	ck_assert_uint_eq(sim_param(&c, "disk.size"), 1u << 20);
}
END_TEST

START_TEST(config_faults_accumulate)
{
	struct sim_config c;
	char err[256];

	sim_config_init(&c);
	ck_assert_int_eq(sim_config_set(&c, "fault", "ignore-flush", SIM_FROM_FLAG, err, sizeof(err)), 0);
	ck_assert_int_eq(sim_config_set(&c, "fault", "ignore-fua,early-complete", SIM_FROM_FLAG, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.faults, SIM_FAULT_IGNORE_FLUSH | SIM_FAULT_IGNORE_FUA | SIM_FAULT_EARLY_COMPLETE);
	ck_assert_int_eq(sim_config_set(&c, "fault", "melt", SIM_FROM_FLAG, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "unknown fault 'melt' (ignore-flush, ignore-fua, early-complete, reorder-across-flush, none)");
}
END_TEST

START_TEST(config_errors)
{
	struct sim_config c;
	char err[256];

	sim_config_init(&c);
	ck_assert_int_eq(sim_config_set(&c, "pmem.size", "12", SIM_FROM_FLAG, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "pmem.size=12 out of range [4096, 1099511627776]");
	ck_assert_int_eq(sim_config_set(&c, "pmem.size", "1Q", SIM_FROM_FLAG, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "pmem.size: bad number '1Q'");
	ck_assert_int_eq(sim_config_set(&c, "background", "maybe", SIM_FROM_FLAG, err, sizeof(err)), -1);
	ck_assert_int_eq(sim_config_set(&c, "colour", "red", SIM_FROM_TRACE, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "unknown setting 'colour'");
	/* combinations are checked together */
	ck_assert_int_eq(sim_config_set(&c, "fs-opts", "dax", SIM_FROM_FLAG, err, sizeof(err)), 0);
	ck_assert_int_eq(sim_config_check(&c, err, sizeof(err), NULL), -1);
	ck_assert_str_eq(err, "fs option dax needs a pmem device (--device pmem or pmem-wb), not disk-wc");
	ck_assert_int_eq(sim_config_set(&c, "device", "pmem-wb", SIM_FROM_FLAG, err, sizeof(err)), 0);
	ck_assert_int_eq(sim_config_check(&c, err, sizeof(err), NULL), 0);
	ck_assert_int_eq(sim_config_set(&c, "fs-opts", "delalloc", SIM_FROM_FLAG, err, sizeof(err)), 0);
	ck_assert_int_eq(sim_config_set(&c, "device", "./nope.so", SIM_FROM_FLAG, err, sizeof(err)), 0);
	ck_assert_int_eq(sim_config_check(&c, err, sizeof(err), NULL), -1);
	ck_assert_str_eq(err, "device plugin ./nope.so: No such file or directory");
}
END_TEST

/* A relative path written in a file resolves against the file's
 * directory; on the command line or in standard input, the cwd's. */
START_TEST(config_paths_relative_to_their_file)
{
	static const struct { const char *file, *value, *path; } cases[] = {
		{ "sub/dir/x.trace", "p.so", "sub/dir/p.so" },
		{ "sub/dir/x.trace", "../q/p.so", "sub/dir/../q/p.so" },
		{ "sub/dir/x.trace", "/abs/p.so", "/abs/p.so" },
		{ "/x.trace", "p.so", "/p.so" },
		{ "x.trace", "p.so", "p.so" },
		{ "-", "p.so", "p.so" },
		{ NULL, "p.so", "p.so" },
	};
	struct sim_config c;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sim_config_init(&c);
		ck_assert_int_eq(sim_config_set_in(&c, "device", cases[i].value, SIM_FROM_TRACE,
						   cases[i].file, 1, err, sizeof(err)), 0);
		ck_assert_str_eq(c.device_path, cases[i].path);
	}
	/* a machine file: resolved, then opened there */
	sim_config_init(&c);
	ck_assert_int_eq(sim_config_set_in(&c, "machine", "nope.machine", SIM_FROM_TRACE,
					   "/nonexistent/t.trace", 1, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "machine file /nonexistent/nope.machine: No such file or directory");
	/* a built-in name is not a path */
	sim_config_init(&c);
	ck_assert_int_eq(sim_config_set_in(&c, "device", "pmem", SIM_FROM_TRACE, "a/t.trace", 1,
					   err, sizeof(err)), 0);
	ck_assert_int_eq(c.device, SIM_DEVICE_PMEM);
	ck_assert_str_eq(c.device_path, "");
}
END_TEST

/* An error of settings together blames the one set last where the user
 * wrote it: a flag over a config line, the later of two config lines. */
START_TEST(config_check_blames_where_it_was_set)
{
	struct sim_config c;
	struct sim_blame b;
	char err[256], where[128];

	sim_config_init(&c);
	ck_assert_int_eq(sim_config_set_in(&c, "fs-opts", "dax", SIM_FROM_TRACE, "t", 2, err,
					   sizeof(err)), 0);
	ck_assert_int_eq(sim_config_check(&c, err, sizeof(err), &b), -1);
	sim_blame_format(&b, "t", where, sizeof(where));
	ck_assert_str_eq(where, "t:2: config: ");
	ck_assert_int_eq(sim_config_set_in(&c, "device", "pmem", SIM_FROM_TRACE, "t", 3, err,
					   sizeof(err)), 0);
	ck_assert_int_eq(sim_config_check(&c, err, sizeof(err), &b), 0);
	ck_assert_int_eq(sim_config_set_in(&c, "device", "disk-wt", SIM_FROM_TRACE, "t", 5, err,
					   sizeof(err)), 0);
	ck_assert_int_eq(sim_config_check(&c, err, sizeof(err), &b), -1);
	sim_blame_format(&b, "t", where, sizeof(where));
	ck_assert_str_eq(where, "t:5: config: ");
	/* a flag wins the blame as it wins the value */
	ck_assert_int_eq(sim_config_set(&c, "device", "disk-wc", SIM_FROM_FLAG, err, sizeof(err)), 0);
	ck_assert_int_eq(sim_config_check(&c, err, sizeof(err), &b), -1);
	sim_blame_format(&b, "t", where, sizeof(where));
	ck_assert_str_eq(where, "--device: ");
	ck_assert_str_eq(err, "fs option dax needs a pmem device (--device pmem or pmem-wb), "
			 "not disk-wc");

	/* the filesystem must fit the device: blamed on the parameter set last */
	sim_config_init(&c);
	ck_assert_int_eq(sim_config_check_fs(&c, err, sizeof(err), &b), 0);
	ck_assert_int_eq(sim_config_set_in(&c, "disk.size", "8K", SIM_FROM_TRACE, "t", 1, err,
					   sizeof(err)), 0);
	ck_assert_int_eq(sim_config_check_fs(&c, err, sizeof(err), &b), -1);
	sim_blame_format(&b, "t", where, sizeof(where));
	ck_assert_str_eq(where, "t:1: config: ");
	ck_assert_int_eq(sim_config_set(&c, "set", "disk.size=1G", SIM_FROM_FLAG, err,
					sizeof(err)), 0);
	ck_assert_int_eq(sim_config_check_fs(&c, err, sizeof(err), &b), 0);
	ck_assert_int_eq(sim_config_set(&c, "jfs.block_size", "64K", SIM_FROM_FLAG, err,
					sizeof(err)), 0);
	ck_assert_int_eq(sim_config_set_in(&c, "jfs.blocks", "16385", SIM_FROM_TRACE, "t", 9,
					   err, sizeof(err)), 0);
	ck_assert_int_eq(sim_config_check_fs(&c, err, sizeof(err), &b), -1);
	sim_blame_format(&b, "t", where, sizeof(where));
	ck_assert_str_eq(where, "--set: ");
	/* names of options and parameters alike */
	sim_config_blame(&c, (const char *const[]){ "jfs.blocks", "device", NULL }, &b);
	sim_blame_format(&b, "t", where, sizeof(where));
	ck_assert_str_eq(where, "t:9: config: ");
	sim_config_blame(&c, (const char *const[]){ "l1d.size", NULL }, &b);
	sim_blame_format(&b, "t", where, sizeof(where));
	ck_assert_str_eq(where, "");			/* a default: the caller says where */
}
END_TEST

START_TEST(config_machine_file)
{
	struct sim_config c;
	char err[512], path[] = "/tmp/powercut-machine-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;

	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fputs("# a machine\n\ndomain=pcommit\npmem.size=8M   # small\n", f);
	fclose(f);
	sim_config_init(&c);
	/* a flag-set parameter beats the machine file */
	ck_assert_int_eq(sim_config_set(&c, "pmem.size", "2M", SIM_FROM_FLAG, err, sizeof(err)), 0);
	ck_assert_int_eq(sim_config_set(&c, "machine", path, SIM_FROM_FLAG, err, sizeof(err)), 0);
	ck_assert_int_eq(c.machine, SIM_MACHINE_PCOMMIT);
	ck_assert_uint_eq(sim_param(&c, "pmem.size"), 2u << 20);
	/* a trace line beats the machine file */
	sim_config_init(&c);
	ck_assert_int_eq(sim_config_set(&c, "machine", path, SIM_FROM_FLAG, err, sizeof(err)), 0);
	ck_assert_uint_eq(sim_param(&c, "pmem.size"), 8u << 20);
	ck_assert_int_eq(sim_config_set(&c, "pmem.size", "4M", SIM_FROM_TRACE, err, sizeof(err)), 0);
	ck_assert_uint_eq(sim_param(&c, "pmem.size"), 4u << 20);

	f = fopen(path, "w");
	fputs("domain=adr\nbogus line\n", f);
	fclose(f);
	sim_config_init(&c);
	ck_assert_int_eq(sim_config_set(&c, "machine", path, SIM_FROM_FLAG, err, sizeof(err)), -1);
	ck_assert(strstr(err, ":2: expected KEY=VALUE") != NULL);

	/* a machine file describes a machine: options of a mount or a run
	 * (and another machine) are refused, not applied */
	static const char *const not_machine[] = {
		"device=pmem\n", "fs-opts=nodelalloc\n", "fault=ignore-flush\n",
		"block-semantics=barrier\n", "background=off\n", "machine=eadr\n",
		"set=pmem.size=8M\n", "domain=adr\nnope=1\n",
	};
	for (size_t i = 0; i < sizeof(not_machine) / sizeof(not_machine[0]); i++) {
		f = fopen(path, "w");
		fputs(not_machine[i], f);
		fclose(f);
		sim_config_init(&c);
		ck_assert_int_eq(sim_config_set(&c, "machine", path, SIM_FROM_FLAG, err,
						sizeof(err)), -1);
		ck_assert_msg(strstr(err, "not a machine setting") || strstr(err, "unknown machine setting"),
			      "%s: %s", not_machine[i], err);
		ck_assert_int_eq(c.device, SIM_DEVICE_DISK_WC);
		ck_assert_str_eq(c.fs_opts, "");
		ck_assert(c.background);
	}
	unlink(path);
}
END_TEST

START_TEST(fs_opts)
{
	struct jfs_opts o;
	char err[256], buf[256];

	jfs_opts_default(&o);
	jfs_opts_format(&o, buf, sizeof(buf));
	ck_assert_str_eq(buf, "data=ordered,barrier,delalloc,auto_da_alloc,commit=5");
	ck_assert_int_eq(jfs_opts_parse("data=journal,nobarrier,journal_async_commit,nodelalloc,"
					"noauto_da_alloc,commit=30", &o, err, sizeof(err)), 0);
	jfs_opts_format(&o, buf, sizeof(buf));
	ck_assert_str_eq(buf, "data=journal,nobarrier,journal_async_commit,journal_checksum,"
			 "nodelalloc,noauto_da_alloc,commit=30");
	jfs_opts_default(&o);
	ck_assert_int_eq(jfs_opts_parse("dax,dax_flush=hammer", &o, err, sizeof(err)), 0);
	ck_assert(o.dax);
	ck_assert_int_eq(o.dax_flush, JFS_DAX_FLUSH_HAMMER);
	jfs_opts_default(&o);
	ck_assert_int_eq(jfs_opts_parse("data=ordered,,barrier", &o, err, sizeof(err)), -1);
	jfs_opts_default(&o);
	ck_assert_int_eq(jfs_opts_parse("commit=abc", &o, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "unknown or malformed fs option 'commit=abc'");
}
END_TEST

/* ---- media ---- */

START_TEST(media_sparse)
{
	struct media *m, *c;
	uint8_t buf[10000], z[10000] = { 0 };

	ck_assert_int_eq(media_create(&m, 1ull << 40), 0);
	media_read(m, (1ull << 40) - sizeof(buf), buf, sizeof(buf));
	ck_assert_mem_eq(buf, z, sizeof(buf));
	memset(buf, 0xab, sizeof(buf));
	media_write(m, 4090, buf, 9000);	/* spans three pages */
	ck_assert_uint_eq(media_bytes_written(m), 9000);
	media_read(m, 4000, buf, 10000);
	ck_assert_mem_eq(buf, z, 90);
	ck_assert_uint_eq(buf[90], 0xab);
	ck_assert_uint_eq(buf[90 + 8999], 0xab);
	ck_assert_uint_eq(buf[90 + 9000], 0);
	ck_assert_int_eq(media_clone(&c, m), 0);
	memset(buf, 0x11, 8);
	media_write(m, 4090, buf, 8);
	media_read(c, 4090, buf, 8);
	ck_assert_uint_eq(buf[0], 0xab);	/* the clone is deep */
	media_destroy(c);
	media_destroy(m);
	ck_assert_int_eq(media_create(&m, 0), -22);
}
END_TEST

/* Equal stamps mean equal pages, across clones and distinct media; a
 * write changes the stamp of each page it touches, and only those. */
START_TEST(media_stamps)
{
	struct media *m, *c, *o;
	uint8_t buf[64];
	uint64_t s0, s1, s2;

	ck_assert_int_eq(media_create(&m, 1 << 20), 0);
	ck_assert_int_eq(media_create(&o, 1 << 20), 0);
	ck_assert_uint_eq(media_stamp(m, 8192), 1);	/* never written: zeros */
	ck_assert_uint_eq(media_stamp(o, 8192), 1);
	memset(buf, 0x5a, sizeof(buf));
	media_write(m, 4096 - 8, buf, 16);		/* pages 0 and 1 */
	s0 = media_stamp(m, 0);
	s1 = media_stamp(m, 4096);
	ck_assert_uint_gt(s0, 1);
	ck_assert_uint_gt(s1, 1);
	ck_assert_uint_ne(s0, s1);
	ck_assert_uint_eq(media_stamp(m, 8192), 1);
	ck_assert_int_eq(media_clone(&c, m), 0);
	ck_assert_uint_eq(media_stamp(c, 4096), s1);	/* same bytes, same stamp */
	media_write(c, 4100, buf, 1);
	ck_assert_uint_ne(media_stamp(c, 4096), s1);
	ck_assert_uint_eq(media_stamp(m, 4096), s1);
	media_write(o, 4096, buf, 8);			/* another media */
	s2 = media_stamp(o, 4096);
	ck_assert_uint_ne(s2, s1);
	ck_assert_uint_ne(s2, media_stamp(c, 4096));
	media_write(m, 4096, buf, 8);			/* rewriting changes it */
	ck_assert_uint_ne(media_stamp(m, 4096), s1);
	ck_assert_uint_eq(media_stamp(m, 0), s0);
	media_destroy(c);
	media_destroy(o);
	media_destroy(m);
}
END_TEST

/* media_cmp: equal or not without copying, across pages, with pages
 * never written comparing as zeros; it writes nothing. */
START_TEST(media_compare)
{
	struct media *m;
	uint8_t buf[9000], z[9000] = { 0 };

	ck_assert_int_eq(media_create(&m, 1 << 20), 0);
	ck_assert_int_eq(media_cmp(m, 4000, z, sizeof(z)), 0);	/* never written */
	memset(buf, 0xab, sizeof(buf));
	ck_assert_int_ne(media_cmp(m, 4000, buf, sizeof(buf)), 0);
	media_write(m, 4090, buf, 9000);	/* spans three pages */
	ck_assert_int_eq(media_cmp(m, 4090, buf, 9000), 0);
	ck_assert_int_eq(media_cmp(m, 8192, buf, 512), 0);	/* inside */
	ck_assert_int_ne(media_cmp(m, 4089, buf, 9000), 0);	/* one byte early */
	ck_assert_int_ne(media_cmp(m, 4091, buf, 9000), 0);	/* one byte past */
	buf[8999] = 0xac;				/* the last byte, third page */
	ck_assert_int_ne(media_cmp(m, 4090, buf, 9000), 0);
	ck_assert_int_eq(media_cmp(m, 4090, buf, 8999), 0);
	ck_assert_int_eq(media_cmp(m, 13090, z, 4096), 0);	/* after it: zeros */
	ck_assert_int_eq(media_cmp(m, (1 << 20) - 100, z, 100), 0);	/* the end */
	ck_assert_uint_eq(media_bytes_written(m), 9000);
	ck_assert_uint_eq(media_stamp(m, 1 << 19), 1);		/* nothing made */
	media_destroy(m);
}
END_TEST

START_TEST(crc32_vectors)
{
	ck_assert_uint_eq(crc32_update(0, "123456789", 9), 0xcbf43926u);
	ck_assert_uint_eq(crc32_update(0, "", 0), 0);
	ck_assert_uint_eq(crc32_update(crc32_update(0, "1234", 4), "56789", 5), 0xcbf43926u);
	/* slicing by 8 == one table, at every length and alignment */
	{
		uint8_t buf[80];
		uint64_t r = 42;
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)trace_splitmix64(&r);
		for (size_t a = 0; a < 8; a++)
			for (size_t n = 0; n + a <= 72; n++)
				ck_assert_uint_eq(crc32_update(7, buf + a, n),
						  crc32_update_bytewise(7, buf + a, n));
	}
}
END_TEST

static int cmp_u64_test(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* L1-L3: exact below LAT_EXACT values; past it each percentile is the
 * largest value of its rank's bucket: never below the exact one, less
 * than 1/2^LAT_SUB above it, exact where a bucket's values are equal. */
START_TEST(latency_exact_then_bounded)
{
	uint32_t n = LAT_EXACT * 3 + 17;
	uint64_t *v = malloc(n * sizeof(*v)), x = 7, c[64], sum = 0;
	struct lat_rec l = { 0 };

	ck_assert_ptr_nonnull(v);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t r = trace_splitmix64(&x);
		/* mostly repeated costs, some spread over many octaves */
		v[i] = r % 4 ? 302000 : (r >> 8) % (1ull << (r % 50));
	}
	for (uint32_t i = 0; i < n; i++) {
		lat_add(&l, v[i]);
		if (i + 1 == LAT_EXACT) {
			uint64_t *s = malloc((i + 1) * sizeof(*s));
			ck_assert_ptr_nonnull(s);
			memcpy(s, v, (i + 1) * sizeof(*s));
			qsort(s, i + 1, sizeof(*s), cmp_u64_test);
			ck_assert_ptr_null(l.count);
			ck_assert_uint_eq(lat_p50(&l), s[i / 2]);
			ck_assert_uint_eq(lat_p99(&l), s[(uint64_t)(i + 1) * 99 / 100 + ((i + 1) % 100 != 0) - 1]);
			free(s);
		}
	}
	ck_assert_ptr_nonnull(l.count);
	ck_assert_ptr_null(l.val);
	qsort(v, n, sizeof(*v), cmp_u64_test);
	ck_assert_uint_eq(l.n, n);
	ck_assert_uint_eq(l.max, v[n - 1]);
	for (uint64_t rank = 0; rank < n; rank += 997) {
		uint64_t got = lat_rank(&l, rank), want = v[rank];
		ck_assert_uint_ge(got, want);
		ck_assert_uint_le(got - want, want >> LAT_SUB);
	}
	ck_assert_uint_eq(lat_p50(&l), 302000);	/* a repeated cost: exact */
	lat_log2_counts(&l, c);
	for (unsigned k = 0; k < 64; k++) {
		uint64_t want = 0;
		for (uint32_t i = 0; i < n; i++)
			want += (v[i] > 1 ? 63u - (unsigned)__builtin_clzll(v[i]) : 0) == k;
		ck_assert_uint_eq(c[k], want);
		sum += c[k];
	}
	ck_assert_uint_eq(sum, n);
	lat_free(&l);
	ck_assert_uint_eq(l.n, 0);
	free(v);
}
END_TEST

/* ---- the explorer, with a fake model ---- */

/* Group g writes byte (g + 1) * 16 + choice at offset g * 100. */
struct fake {
	size_t ngroups;
	uint32_t n[8];
};

static size_t fake_ngroups(const void *self)
{
	return ((const struct fake *)self)->ngroups;
}

static uint32_t fake_nchoices(const void *self, size_t g)
{
	return ((const struct fake *)self)->n[g];
}

static void fake_apply(const void *self, size_t g, uint32_t c, sim_emit_fn *emit, void *ctx)
{
	uint8_t b = (uint8_t)((g + 1) * 16 + c);
	(void)self;
	emit(ctx, g * 100, &b, 1);
}

static int fake_describe(const void *self, size_t g, uint32_t c, char *buf, size_t len)
{
	(void)self;
	return snprintf(buf, len, "group %zu choice %u", g, c);
}

static const struct sim_crash_ops fake_ops = {
	.ngroups = fake_ngroups, .nchoices = fake_nchoices,
	.apply = fake_apply, .describe = fake_describe,
};

struct seen {
	char img[64][8];
	char fmt[64][64];
	size_t n;
};

static int record(void *ctx, const struct sim_state *st)
{
	struct seen *s = ctx;
	uint8_t b[3];

	ck_assert_uint_lt(s->n, 64);
	for (int g = 0; g < 3; g++)
		sim_image_read(st->image, (uint64_t)g * 100, &b[g], 1);
	snprintf(s->img[s->n], sizeof(s->img[0]), "%02x%02x%02x", b[0], b[1], b[2]);
	sim_state_format(st->choice, st->ngroups, s->fmt[s->n], sizeof(s->fmt[0]));
	s->n++;
	return 0;
}

START_TEST(explore_exhaustive)
{
	struct media *m;
	struct sim_explorer *x;
	struct fake f = { .ngroups = 3, .n = { 2, 3, 1 } };
	struct sim_crash_source src = { &fake_ops, &f };
	struct sim_states_policy pol = { .mode = SIM_STATES_EXHAUSTIVE };
	struct sim_point_result res;
	struct seen s = { .n = 0 };
	char err[256];
	uint8_t base = 0x77;

	ck_assert_int_eq(media_create(&m, 4096), 0);
	media_write(m, 200, &base, 1);		/* group 2 never deviates */
	ck_assert_int_eq(sim_explorer_create(&x), 0);
	ck_assert_int_eq(sim_explore(x, m, &src, 1, &pol, 0, record, &s, &res, err, sizeof(err)), 0);
	ck_assert_uint_eq(res.checked, 6);
	ck_assert_uint_eq(res.total, 6);
	ck_assert(res.all_known);
	ck_assert_uint_eq(s.n, 6);
	/* the odometer: group 0 fastest; choice 0 leaves the base */
	ck_assert_str_eq(s.img[0], "000077");
	ck_assert_str_eq(s.fmt[0], "base");
	ck_assert_str_eq(s.img[1], "110077");
	ck_assert_str_eq(s.fmt[1], "g0=1");
	ck_assert_str_eq(s.img[2], "002177");
	ck_assert_str_eq(s.img[3], "112177");
	ck_assert_str_eq(s.img[5], "112277");
	ck_assert_str_eq(s.fmt[5], "g0=1,g1=2");
	/* too many states for the limit: refused, with the count */
	pol.max_states = 5;
	ck_assert_int_eq(sim_explore(x, m, &src, 1, &pol, 9, record, &s, &res, err, sizeof(err)), -1);
	ck_assert(strstr(err, "crash point 9 has 6 crash states") != NULL);
	sim_explorer_destroy(x);
	media_destroy(m);
}
END_TEST

/* S2: the reduced enumeration's judgement limit applies only at a point of
 * more states than max_states (there it is max_judgements); a point of
 * fewer states may need more judgements than that and is spared.  The
 * judge (record) reads every group's byte, so every state is a judgement
 * of its own: 6 at a point of 6 states. */
START_TEST(explore_judgement_limit)
{
	struct media *m;
	struct sim_explorer *x;
	struct fake f = { .ngroups = 3, .n = { 2, 3, 1 } };
	struct sim_crash_source src = { &fake_ops, &f };
	struct sim_states_policy pol = { .mode = SIM_STATES_EXHAUSTIVE, .reduce = true,
					 .max_states = 6, .max_judgements = 4 };
	struct sim_point_result res;
	struct seen s = { .n = 0 };
	char err[256];

	ck_assert_int_eq(media_create(&m, 4096), 0);
	ck_assert_int_eq(sim_explorer_create(&x), 0);
	/* 6 states, not more than max_states: spared, 6 judgements */
	ck_assert_int_eq(sim_explore(x, m, &src, 1, &pol, 0, record, &s, &res, err, sizeof(err)), 0);
	ck_assert(res.reduced);
	ck_assert_uint_eq(s.n, 6);
	ck_assert_uint_eq(res.checked, 6);
	/* more states than max_states: max_judgements (4) holds, refused */
	pol.max_states = 5;
	s.n = 0;
	ck_assert_int_eq(sim_explore(x, m, &src, 1, &pol, 7, record, &s, &res, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "crash point 7 needs more than 4 judgements") != NULL, "%s", err);
	/* ... and a limit it does not reach passes */
	pol.max_judgements = 6;
	s.n = 0;
	ck_assert_int_eq(sim_explore(x, m, &src, 1, &pol, 7, record, &s, &res, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.n, 6);
	sim_explorer_destroy(x);
	media_destroy(m);
}
END_TEST

/* sim_image_block_stamps: stamps of a run nothing can write; refused for a
 * run a current choice wrote, and, in a reduced enumeration, for a run any
 * choice could write (the caller must then read what it needs). */
struct bstamps_seen {
	unsigned n, ok_free, ok_group0;
	uint64_t st;
};

static int bstamps_probe(void *ctx, const struct sim_state *st)
{
	struct bstamps_seen *s = ctx;
	uint64_t out[2] = { 0, 0 };

	/* blocks 1 and 2 (pages 1, 2): no group writes there */
	if (sim_image_block_stamps(st->image, 4096, 4096, 2, out)) {
		s->ok_free++;
		ck_assert_uint_eq(out[0], s->st);
		ck_assert_uint_eq(out[1], 1);		/* never written */
	}
	/* block 0 holds every group's byte */
	if (sim_image_block_stamps(st->image, 0, 4096, 1, out))
		s->ok_group0++;
	/* a block across two pages has no stamp */
	ck_assert(!sim_image_block_stamps(st->image, 2048, 4096, 1, out));
	s->n++;
	return 0;
}

START_TEST(block_stamps)
{
	struct media *m;
	struct sim_explorer *x;
	struct fake f = { .ngroups = 2, .n = { 2, 2 } };
	struct sim_crash_source src = { &fake_ops, &f };
	struct sim_states_policy pol = { .mode = SIM_STATES_EXHAUSTIVE };
	struct sim_point_result res;
	struct bstamps_seen s = { 0 };
	char err[256];
	uint8_t b = 1;

	ck_assert_int_eq(media_create(&m, 4 * 4096), 0);
	media_write(m, 4096 + 7, &b, 1);
	s.st = media_stamp(m, 4096);
	ck_assert_int_eq(sim_explorer_create(&x), 0);
	/* every state: block 0 has a stamp only where no choice wrote it */
	ck_assert_int_eq(sim_explore(x, m, &src, 1, &pol, 0, bstamps_probe, &s, &res, err,
				     sizeof(err)), 0);
	ck_assert_uint_eq(s.n, 4);
	ck_assert_uint_eq(s.ok_free, 4);
	ck_assert_uint_eq(s.ok_group0, 1);
	/* reduced: never, as some choice can write it */
	memset(&s, 0, sizeof(s));
	s.st = media_stamp(m, 4096);
	pol.reduce = true;
	ck_assert_int_eq(sim_explore(x, m, &src, 1, &pol, 0, bstamps_probe, &s, &res, err,
				     sizeof(err)), 0);
	ck_assert_uint_ge(s.n, 1);
	ck_assert_uint_eq(s.ok_free, s.n);
	ck_assert_uint_eq(s.ok_group0, 0);
	sim_explorer_destroy(x);
	media_destroy(m);
}
END_TEST

/*
 * sim_image_blocks_stamps: block by block, for a caller that reads every
 * block it gets no stamp for.  Reduced, a block is refused only when some
 * choice could change its bytes: a choice that writes back the bytes the
 * base holds (a commit rewriting a clean page) leaves it stamped, one
 * that writes anything else never does, whatever the current choices.
 * Group 0 writes block 1: choice 1 the base's bytes, choice 2 others;
 * group 1 writes block 2 with the base's bytes only; block 3 is free.
 */
static uint8_t rw_base[4096];

static size_t rw_ngroups(const void *self)
{
	(void)self;
	return 2;
}

static uint32_t rw_nchoices(const void *self, size_t g)
{
	(void)self;
	return g ? 2 : 3;
}

static void rw_apply(const void *self, size_t g, uint32_t c, sim_emit_fn *emit, void *ctx)
{
	static const uint8_t zeros[4096];
	uint8_t other[4095];

	(void)self;
	if (c == 0)
		return;
	if (g == 1) {
		emit(ctx, 2 * 4096, zeros, 4096);	/* block 2 holds zeros */
		return;
	}
	if (c == 1) {
		emit(ctx, 4096 + 1, rw_base + 1, 4095);	/* the base's own bytes */
		return;
	}
	memcpy(other, rw_base + 1, 4095);
	other[4094] ^= 1;				/* the block's last byte */
	emit(ctx, 4096 + 1, other, 4095);
}

/* describe() of every test group source here: the group and choice */
static int test_describe(const void *self, size_t g, uint32_t c, char *buf, size_t len)
{
	(void)self;
	return snprintf(buf, len, "test group %zu choice %u", g, c);
}

static const struct sim_crash_ops rw_ops = {
	.ngroups = rw_ngroups, .nchoices = rw_nchoices,
	.apply = rw_apply, .describe = test_describe,
};

struct rw_seen {
	unsigned n, b1, b2, b3, strict2;
	uint8_t last[3];		/* block 1's last byte, per choice of group 0 */
};

static int rw_probe(void *ctx, const struct sim_state *st)
{
	struct rw_seen *s = ctx;
	uint64_t off[3] = { 4096, 2 * 4096, 3 * 4096 }, out[1];
	uint8_t b;

	ck_assert_uint_eq(sim_image_blocks_stamps(st->image, off, 3, 4096, off),
			  !!off[0] + !!off[1] + !!off[2]);
	s->b1 += !!off[0];
	s->b2 += !!off[1];
	s->b3 += !!off[2];
	if (off[1])
		ck_assert_uint_eq(off[1], 1);		/* never written: zeros */
	/* the caller's part: a block without a stamp is read */
	if (!off[0]) {
		sim_image_read(st->image, 4096 + 4095, &b, 1);
		s->last[st->choice[0]] = b;
	}
	if (!off[1])
		sim_image_read(st->image, 2 * 4096, &b, 1);
	/* the run form stays strict: some choice writes block 2 */
	s->strict2 += sim_image_block_stamps(st->image, 2 * 4096, 4096, 1, out);
	s->n++;
	return 0;
}

START_TEST(blocks_stamps_unchanged)
{
	struct media *m;
	struct sim_explorer *x;
	struct sim_crash_source src = { &rw_ops, NULL };
	struct sim_states_policy pol = { .mode = SIM_STATES_EXHAUSTIVE, .reduce = true };
	struct sim_point_result res;
	struct rw_seen s = { 0 };
	char err[256];

	for (int i = 0; i < 4096; i++)
		rw_base[i] = (uint8_t)(i * 7 + 3);
	ck_assert_int_eq(media_create(&m, 4 * 4096), 0);
	media_write(m, 4096, rw_base, 4096);
	ck_assert_int_eq(sim_explorer_create(&x), 0);
	ck_assert_int_eq(sim_explore(x, m, &src, 1, &pol, 0, rw_probe, &s, &res, err,
				     sizeof(err)), 0);
	ck_assert_uint_eq(res.checked, 6);
	/* block 1: some choice changes it, so never stamped; choices 0 and 2
	 * of group 0 were judged apart, as its byte was read; choice 1
	 * writes the base's own bytes where no other group writes, so it
	 * shows what choice 0 shows and is judged with it (choice_sig) */
	ck_assert_uint_eq(s.b1, 0);
	ck_assert_uint_eq(s.last[0], (uint8_t)(4095 * 7 + 3));
	ck_assert_uint_eq(s.last[1], 0);
	ck_assert_uint_eq(s.last[2], (uint8_t)((4095 * 7 + 3) ^ 1));
	/* block 2: only rewritten with its own bytes; block 3: untouched */
	ck_assert_uint_eq(s.b2, s.n);
	ck_assert_uint_eq(s.b3, s.n);
	ck_assert_uint_eq(s.strict2, 0);
	sim_explorer_destroy(x);
	media_destroy(m);
}
END_TEST

/* The diff hash (K2: states with equal hashes are judged once) tells a
 * choice that changes a word from one that writes back the base's own
 * bytes (rw_ops, group 0: choice 2 against choice 1), whatever the other
 * group does; two choices that change nothing hash alike. */
static uint64_t rw_hash[3][2][2];

static int rw_hash_probe(void *ctx, const struct sim_state *st)
{
	(void)ctx;
	sim_image_diff_hash(st->image, rw_hash[st->choice[0]][st->choice[1]]);
	return 0;
}

START_TEST(diff_hash_sees_changed_words)
{
	struct media *m;
	struct sim_explorer *x;
	struct sim_crash_source src = { &rw_ops, NULL };
	struct sim_states_policy pol = { .mode = SIM_STATES_EXHAUSTIVE };
	struct sim_point_result res;
	char err[256];

	for (int i = 0; i < 4096; i++)
		rw_base[i] = (uint8_t)(i * 7 + 3);
	ck_assert_int_eq(media_create(&m, 4 * 4096), 0);
	media_write(m, 4096, rw_base, 4096);
	ck_assert_int_eq(sim_explorer_create(&x), 0);
	ck_assert_int_eq(sim_explore(x, m, &src, 1, &pol, 0, rw_hash_probe, NULL, &res, err,
				     sizeof(err)), 0);
	ck_assert_uint_eq(res.checked, 6);
	for (int b = 0; b < 2; b++) {
		ck_assert(rw_hash[2][b][0] != rw_hash[1][b][0] ||
			  rw_hash[2][b][1] != rw_hash[1][b][1]);
		ck_assert(rw_hash[2][b][0] != rw_hash[0][b][0] ||
			  rw_hash[2][b][1] != rw_hash[0][b][1]);
	}
	/* group 0 choice 1 and group 1 choice 1: no word changed either way */
	ck_assert_uint_eq(rw_hash[1][0][0], rw_hash[0][1][0]);
	ck_assert_uint_eq(rw_hash[1][0][1], rw_hash[0][1][1]);
	sim_explorer_destroy(x);
	media_destroy(m);
}
END_TEST

/* K6, choice_sig: a torn copy of bytes the media already holds.  Group
 * "copy" has 256 choices, one per subset of 8 bytes at offset 0..7 it
 * writes, each with the value 0x5a; the media holds 0x5a there.  Where no
 * other group can write those bytes every choice shows the same image, so
 * one judgement covers all 256 (the zeros of a journal block copied whole
 * by the pmem driver).  With a group laid under it ("under": 0xa5 at byte
 * 3), writing 0x5a at byte 3 hides what lies under, and the choices split
 * again: every image the 512 states make is judged. */
struct torn {
	bool under;			/* group 0 writes 0xa5 at byte 3 */
};

static size_t torn_ngroups(const void *self)
{
	return ((const struct torn *)self)->under ? 2 : 1;
}

static uint32_t torn_nchoices(const void *self, size_t g)
{
	return ((const struct torn *)self)->under && g == 0 ? 2 : 256;
}

static void torn_apply(const void *self, size_t g, uint32_t c, sim_emit_fn *emit, void *ctx)
{
	uint8_t v = 0x5a, u = 0xa5;

	if (((const struct torn *)self)->under && g == 0) {
		emit(ctx, 3, &u, 1);
		return;
	}
	for (unsigned i = 0; i < 8; i++)
		if (c >> i & 1)
			emit(ctx, i, &v, 1);
}

static const struct sim_crash_ops torn_ops = {
	.ngroups = torn_ngroups, .nchoices = torn_nchoices,
	.apply = torn_apply, .describe = fake_describe,
};

struct torn_seen {
	unsigned n, under_seen, under_hidden;
};

static int torn_judge(void *ctx, const struct sim_state *st)
{
	struct torn_seen *s = ctx;
	uint8_t b[8];

	sim_image_read(st->image, 0, b, 8);
	for (unsigned i = 0; i < 8; i++)
		ck_assert_uint_eq(b[i], i == 3 && st->ngroups == 2 && st->choice[0] == 1 &&
				  !(st->choice[1] >> 3 & 1) ? 0xa5 : 0x5a);
	if (st->ngroups == 2 && st->choice[0] == 1) {
		s->under_seen += b[3] == 0xa5;
		s->under_hidden += b[3] == 0x5a;
	}
	s->n++;
	return 0;
}

START_TEST(explore_base_bytes_do_not_split)
{
	struct media *m;
	struct sim_explorer *x;
	struct torn t = { .under = false };
	struct sim_crash_source src = { &torn_ops, &t };
	struct sim_states_policy pol = { .mode = SIM_STATES_EXHAUSTIVE, .reduce = true };
	struct sim_point_result res;
	struct torn_seen s = { 0 };
	char err[256];
	uint8_t base[8];

	memset(base, 0x5a, sizeof(base));
	ck_assert_int_eq(media_create(&m, 4096), 0);
	media_write(m, 0, base, sizeof(base));
	ck_assert_int_eq(sim_explorer_create(&x), 0);
	ck_assert_int_eq(sim_explore(x, m, &src, 1, &pol, 0, torn_judge, &s, &res, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(res.checked, 256);
	/* a group under it: byte 3 shows 0xa5 or, hidden, 0x5a */
	t.under = true;
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(sim_explore(x, m, &src, 1, &pol, 1, torn_judge, &s, &res, err, sizeof(err)), 0);
	ck_assert_uint_eq(res.checked, 512);
	ck_assert_uint_ge(s.under_seen, 1);
	ck_assert_uint_ge(s.under_hidden, 1);
	ck_assert_uint_le(s.n, 4);
	sim_explorer_destroy(x);
	media_destroy(m);
}
END_TEST

START_TEST(explore_bounded_and_sample)
{
	struct media *m;
	struct sim_explorer *x;
	struct fake f = { .ngroups = 3, .n = { 2, 3, 4 } };
	struct sim_crash_source src = { &fake_ops, &f };
	struct sim_states_policy pol = { .mode = SIM_STATES_BOUNDED, .k = 1 };
	struct sim_point_result res;
	struct seen s = { .n = 0 }, s2 = { .n = 0 };
	char err[256];

	ck_assert_int_eq(media_create(&m, 4096), 0);
	ck_assert_int_eq(sim_explorer_create(&x), 0);
	/* at most one group off 0: 1 + 1 + 2 + 3 */
	ck_assert_int_eq(sim_explore(x, m, &src, 1, &pol, 0, record, &s, &res, err, sizeof(err)), 0);
	ck_assert_uint_eq(res.checked, 7);
	ck_assert_uint_eq(res.total, 7);
	ck_assert_uint_eq(res.all_states, 24);
	for (size_t i = 0; i < s.n; i++)
		ck_assert(strchr(s.fmt[i], ',') == NULL);
	/* bounded:2 = 1 + 6 + (1*2 + 1*3 + 2*3) = 18 */
	pol.k = 2;
	s.n = 0;
	ck_assert_int_eq(sim_explore(x, m, &src, 1, &pol, 0, record, &s, &res, err, sizeof(err)), 0);
	ck_assert_uint_eq(res.checked, 18);
	ck_assert_uint_eq(res.total, 18);
	/* sample: K states, the same for the same seed and point */
	pol.mode = SIM_STATES_SAMPLE;
	pol.k = 10;
	pol.seed = 5;
	s.n = 0;
	ck_assert_int_eq(sim_explore(x, m, &src, 1, &pol, 3, record, &s, &res, err, sizeof(err)), 0);
	ck_assert_int_eq(sim_explore(x, m, &src, 1, &pol, 3, record, &s2, &res, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.n, 10);
	for (size_t i = 0; i < s.n; i++)
		ck_assert_str_eq(s.fmt[i], s2.fmt[i]);
	sim_explorer_destroy(x);
	media_destroy(m);
}
END_TEST

START_TEST(states_parse)
{
	struct sim_states_policy p = { 0 };

	ck_assert_int_eq(sim_states_parse("exhaustive", &p), 0);
	ck_assert_int_eq(p.mode, SIM_STATES_EXHAUSTIVE);
	ck_assert_int_eq(sim_states_parse("bounded:3", &p), 0);
	ck_assert_int_eq(p.mode, SIM_STATES_BOUNDED);
	ck_assert_uint_eq(p.k, 3);
	ck_assert_int_eq(sim_states_parse("sample:100", &p), 0);
	ck_assert_int_eq(sim_states_parse("sample:0", &p), -1);
	ck_assert_int_eq(sim_states_parse("bounded:", &p), -1);
	ck_assert_int_eq(sim_states_parse("bounded:-1", &p), -1);
	ck_assert_int_eq(sim_states_parse("all", &p), -1);
}
END_TEST

/* ---- observations ---- */

START_TEST(observe_specs)
{
	struct sim_obs o;
	char err[256];

	ck_assert_int_eq(sim_obs_parse("mem:0x100:8", &o, err, sizeof(err)), 0);
	ck_assert_int_eq(o.kind, SIM_OBS_MEM);
	ck_assert_uint_eq(o.addr, 0x100);
	ck_assert_uint_eq(o.len, 8);
	ck_assert_int_eq(sim_obs_parse("u64:64", &o, err, sizeof(err)), 0);
	ck_assert_uint_eq(o.addr, 64);
	ck_assert_int_eq(sim_obs_parse("blk:4096:512", &o, err, sizeof(err)), 0);
	ck_assert_int_eq(sim_obs_parse("file:/a/b", &o, err, sizeof(err)), 0);
	ck_assert_str_eq(o.path, "/a/b");
	ck_assert_int_eq(sim_obs_parse("mem:1:0", &o, err, sizeof(err)), -1);
	ck_assert_int_eq(sim_obs_parse("mem:x:1", &o, err, sizeof(err)), -1);
	ck_assert_int_eq(sim_obs_parse("u64:", &o, err, sizeof(err)), -1);
	ck_assert_int_eq(sim_obs_parse("file:", &o, err, sizeof(err)), -1);
	/* sizes as in the trace format: K, M, G are powers of 1024 */
	ck_assert_int_eq(sim_obs_parse("blk:1M:4K", &o, err, sizeof(err)), 0);
	ck_assert_uint_eq(o.addr, 1 << 20);
	ck_assert_uint_eq(o.len, 4096);
	ck_assert_int_eq(sim_obs_parse("u64:0x2G", &o, err, sizeof(err)), 0);
	ck_assert_uint_eq(o.addr, 2ull << 30);
	ck_assert_int_eq(sim_obs_parse("mem:1k:8", &o, err, sizeof(err)), -1);
	ck_assert_int_eq(sim_obs_parse("mem:1KK:8", &o, err, sizeof(err)), -1);
	ck_assert_int_eq(sim_obs_parse("u64:17179869184G", &o, err, sizeof(err)), -1);
}
END_TEST

struct eval_ctx {
	struct sim_obs obs[3];
	char out[3][128];
};

static int eval_state(void *ctx, const struct sim_state *st)
{
	struct eval_ctx *e = ctx;
	static uint8_t scratch[SIM_OBS_MAX_LEN];
	char err[128];

	for (int i = 0; i < 3; i++)
		ck_assert_int_gt(sim_obs_eval(&e->obs[i], st->image, NULL, scratch, e->out[i],
					      sizeof(e->out[i]), err, sizeof(err)), 0);
	return 0;
}

START_TEST(observe_eval)
{
	struct media *m;
	struct sim_explorer *x;
	struct sim_states_policy pol = { .mode = SIM_STATES_EXHAUSTIVE };
	struct sim_point_result res;
	struct eval_ctx e;
	char err[256];
	uint8_t v[9] = { 1, 0, 0, 0, 0, 0, 0, 0, 0xff };

	ck_assert_int_eq(media_create(&m, 4096), 0);
	media_write(m, 0x100, v, 9);
	media_write(m, 0x200, "123456789", 9);
	ck_assert_int_eq(sim_obs_parse("mem:0x100:9", &e.obs[0], err, sizeof(err)), 0);
	ck_assert_int_eq(sim_obs_parse("u64:0x100", &e.obs[1], err, sizeof(err)), 0);
	ck_assert_int_eq(sim_obs_parse("blk:0x200:9", &e.obs[2], err, sizeof(err)), 0);
	ck_assert_int_eq(sim_explorer_create(&x), 0);
	ck_assert_int_eq(sim_explore(x, m, NULL, 0, &pol, 0, eval_state, &e, &res, err, sizeof(err)), 0);
	ck_assert_uint_eq(res.checked, 1);
	ck_assert_str_eq(e.out[0], "mem:0x100:9=0100000000000000ff");
	ck_assert_str_eq(e.out[1], "u64:0x100=1");
	ck_assert_str_eq(e.out[2], "blk:0x200:9=crc32=cbf43926");
	sim_explorer_destroy(x);
	media_destroy(m);
}
END_TEST

/* ---- the loop ---- */

struct points {
	uint64_t n;
	uint64_t lines[32];
	char marks[32][16];
};

static int count_point(void *ctx, struct sim *s, const struct sim_point *p)
{
	struct points *pt = ctx;
	(void)s;
	ck_assert_uint_eq(p->index, pt->n);
	if (pt->n < 32) {
		pt->lines[pt->n] = p->line;
		snprintf(pt->marks[pt->n], sizeof(pt->marks[0]), "%s", p->mark ? p->mark : "");
	}
	pt->n++;
	return 0;
}

static int feed_text(struct sim *s, const char *text)
{
	struct trace_reader *r;
	struct trace_event ev;
	int rc;

	ck_assert_int_eq(trace_open_mem(&r, "t", text, strlen(text)), 0);
	while ((rc = trace_next(r, &ev)) > 0)
		if ((rc = sim_feed(s, &ev)))
			break;
	trace_close(r);
	return rc;
}

START_TEST(loop_points_and_marks)
{
	struct sim_config c;
	struct sim *s;
	struct points pt = { 0 };
	char err[256];

	sim_config_init(&c);
	ck_assert_int_eq(sim_create(&s, &c, err, sizeof(err)), 0);
	sim_set_trace_name(s, "t");
	sim_set_crash_point(s, count_point, &pt);
	ck_assert_int_eq(sim_start(s), 0);
	ck_assert_int_eq(feed_text(s, "version 1\nconfig device=pmem\nmark name=a\n"
				   "think cycles=5\nstore addr=8 len=8 val=1\nmark name=b\n"), 0);
	/* point 0 when the world is fixed (before the store), then one per
	 * event from there; version, config and the mark before it are not points */
	ck_assert_uint_eq(pt.n, 3);
	ck_assert_uint_eq(pt.lines[0], 0);
	ck_assert_uint_eq(pt.lines[1], 5);
	ck_assert_uint_eq(pt.lines[2], 6);
	ck_assert_str_eq(pt.marks[0], "");
	ck_assert_str_eq(pt.marks[1], "");
	ck_assert_str_eq(pt.marks[2], "b");
	ck_assert_uint_eq(sim_stats(s)->think_cycles, 5);
	ck_assert_uint_ge(sim_clock(s)->now, 5);	/* plus what the store cost */
	ck_assert_int_eq(sim_world(s), SIM_WORLD_CPU);
	ck_assert_int_eq(sim_config(s)->device, SIM_DEVICE_PMEM);
	ck_assert_uint_eq(sim_stats(s)->by_op[TRACE_STORE], 1);
	ck_assert_uint_eq(sim_stats(s)->marks, 2);
	/* a CPU trace may go on with block events on a pmem device */
	ck_assert_int_eq(feed_text(s, "bio id=1 op=flush\n"), 0);
	ck_assert_int_eq(sim_world(s), SIM_WORLD_BLOCK);
	sim_destroy(s);
}
END_TEST

START_TEST(loop_world_errors)
{
	struct sim_config c;
	struct sim *s;
	char err[256];

	sim_config_init(&c);
	ck_assert_int_eq(sim_create(&s, &c, err, sizeof(err)), 0);
	sim_set_trace_name(s, "t");
	ck_assert_int_eq(feed_text(s, "store addr=0 len=1 val=1\nsync\n"), -1);
	ck_assert_str_eq(sim_error(s), "t:2: file event after CPU events that addressed the raw "
			 "pmem namespace: a trace with file events must start with them");
	sim_destroy(s);

	sim_config_init(&c);
	ck_assert_int_eq(sim_create(&s, &c, err, sizeof(err)), 0);
	sim_set_trace_name(s, "t");
	ck_assert_int_eq(feed_text(s, "store addr=0 len=1 val=1\nbio id=1 op=flush\n"), -1);
	ck_assert(strstr(sim_error(s), "t:2: block event after CPU events") == sim_error(s));
	sim_destroy(s);
}
END_TEST

/* ---- the file oracle's memo of data comparisons (fs_promise.c) ---- */

struct memo_run {
	struct sim_config c;		/* the simulator keeps a pointer to it */
	struct sim *s;
	struct sim_fs_promises *p;
	struct sim_explorer *x;
	struct media *a;		/* the media after the trace */
	unsigned judged, sync_bad, ref_bad, other_bad;
	bool any_path;			/* violations need not name /f */
	char actual[256];
};

static int memo_observe(void *ctx, const struct trace_event *ev)
{
	return sim_fs_promises_event(ctx, ev);
}

/* Run TRACE (text) through a default simulator that R's file oracle
 * follows; R->a is a copy of the media after it. */
static void memo_start(struct memo_run *r, const char *trace)
{
	char err[256];

	sim_config_init(&r->c);
	ck_assert_int_eq(sim_create(&r->s, &r->c, err, sizeof(err)), 0);
	sim_set_trace_name(r->s, "t");
	ck_assert_int_eq(sim_fs_promises_create(&r->p, r->s), 0);
	sim_set_observer(r->s, memo_observe, r->p);
	ck_assert_int_eq(sim_start(r->s), 0);
	ck_assert_int_eq(feed_text(r->s, trace), 0);
	ck_assert_int_eq(media_clone(&r->a, sim_media(r->s)), 0);
	ck_assert_int_eq(sim_explorer_create(&r->x), 0);
}

static void memo_finish(struct memo_run *r)
{
	media_destroy(r->a);
	sim_explorer_destroy(r->x);
	sim_fs_promises_destroy(r->p);
	sim_destroy(r->s);
}

/* /f, three blocks, synced */
static const char memo_three_blocks[] = "version 1\n"
					"open fd=3 path=/f flags=O_CREAT|O_WRONLY\n"
					"write fd=3 len=12288 data=rand:7\n"
					"fsync fd=3\n";

/* /f's blocks as recovery reads them from R->a; returns its size. */
static int64_t memo_file_blocks(struct memo_run *r, uint32_t *blk, uint32_t n, uint32_t *bs)
{
	struct jfs_view *v;
	int64_t size;

	ck_assert_int_eq(jfs_view_create(&v), 0);
	jfs_view_load(v, jfs_read_media, r->a, media_size(r->a));
	size = jfs_view_file_blocks(v, "/f", blk, n, bs);
	jfs_view_destroy(v);
	return size;
}

static int memo_report(void *ctx, const struct sim_violation *v)
{
	struct memo_run *r = ctx;

	if (!strcmp(v->invariant, SIM_INV_SYNC_PROMISE)) {
		ck_assert(r->any_path || !strcmp(v->path, "/f"));
		r->sync_bad++;
		snprintf(r->actual, sizeof(r->actual), "%s", v->actual);
	} else if (!strcmp(v->invariant, SIM_INV_REFERENCED_DATA)) {
		ck_assert(r->any_path || !strcmp(v->path, "/f"));
		r->ref_bad++;
	} else {
		r->other_bad++;
	}
	return 0;
}

static int memo_judge(void *ctx, const struct sim_state *st)
{
	struct memo_run *r = ctx;

	r->judged++;
	return sim_fs_promises_judge(r->p, st->image, memo_report, r);
}

/* Judge every state of BASE (with SRC's groups, if any), counting. */
static void memo_check(struct memo_run *r, struct sim_explorer *x, const struct media *base,
		       const struct sim_crash_source *src, size_t nsrc, bool reduce)
{
	struct sim_states_policy pol = { .mode = SIM_STATES_EXHAUSTIVE, .reduce = reduce };
	struct sim_point_result res;
	char err[256];

	r->judged = r->sync_bad = r->ref_bad = r->other_bad = 0;
	r->actual[0] = '\0';
	ck_assert_int_eq(sim_explore(x, base, src, nsrc, &pol, 0, memo_judge, r, &res, err,
				     sizeof(err)), 0);
}

/* Judge, reduced, R's media after the trace with block BLK (of BS bytes)
 * all FILL: the counts of one tampered image. */
static void memo_check_filled(struct memo_run *r, uint32_t blk, uint32_t bs, uint8_t fill)
{
	uint8_t bytes[4096];
	struct media *b;

	ck_assert_uint_le(bs, sizeof(bytes));
	memset(bytes, fill, bs);
	ck_assert_int_eq(media_clone(&b, r->a), 0);
	media_write(b, (uint64_t)blk * bs, bytes, bs);
	memo_check(r, r->x, b, NULL, 0, true);
	media_destroy(b);
}

/* One group: choice 1 writes byte 0x5a at poke_at. */
static uint64_t poke_at;

/* ngroups() of the sources of one group (poke_ops, rb_ops) */
static size_t one_group(const void *self)
{
	(void)self;
	return 1;
}

static uint32_t poke_nchoices(const void *self, size_t g)
{
	(void)self;
	(void)g;
	return 2;
}

static void poke_apply(const void *self, size_t g, uint32_t c, sim_emit_fn *emit, void *ctx)
{
	uint8_t b = 0x5a;

	(void)self;
	(void)g;
	if (c)
		emit(ctx, poke_at, &b, 1);
}

static const struct sim_crash_ops poke_ops = {
	.ngroups = one_group, .nchoices = poke_nchoices,
	.apply = poke_apply, .describe = test_describe,
};

/*
 * The memo skips comparing a data block whose stamp it saw compare equal
 * before; it must never accept a block whose bytes changed: in the base
 * image (a new stamp), or under a crash choice (no stamp at all).  Each
 * changed image must get the violations, and the words, that judging
 * without a memo gives.
 */
START_TEST(fs_oracle_memo_follows_changed_blocks)
{
	struct memo_run r = { 0 };
	struct sim_crash_source src = { &poke_ops, NULL };
	struct sim_explorer *x;
	struct media *a, *b;
	uint32_t blk[3], bs = 0;
	uint8_t byte;

	memo_start(&r, memo_three_blocks);
	x = r.x;
	a = r.a;

	/* the file's blocks as recovery reads them: on the image, not replayed */
	ck_assert_int_eq(memo_file_blocks(&r, blk, 3, &bs), 12288);
	ck_assert_uint_eq(bs, 4096);
	for (int i = 0; i < 3; i++)
		ck_assert(blk[i] && !(blk[i] & JFS_VIEW_REPLAYED));

	/* clean, twice: the second judgement takes the memo */
	memo_check(&r, x, a, NULL, 0, false);
	ck_assert_uint_eq(r.judged, 1);
	ck_assert_uint_eq(r.sync_bad + r.ref_bad, 0);
	memo_check(&r, x, a, NULL, 0, false);
	ck_assert_uint_eq(r.sync_bad + r.ref_bad, 0);

	/* one byte of block 1 changed on the media: a new stamp */
	ck_assert_int_eq(media_clone(&b, a), 0);
	media_read(b, (uint64_t)blk[1] * 4096 + 9, &byte, 1);
	byte ^= 0xff;
	media_write(b, (uint64_t)blk[1] * 4096 + 9, &byte, 1);
	memo_check(&r, x, b, NULL, 0, false);
	ck_assert_uint_eq(r.sync_bad, 1);
	ck_assert_uint_eq(r.ref_bad, 1);
	ck_assert_str_eq(r.actual, "12288 bytes, differing from offset 4105");
	/* and back: the original bytes still pass */
	memo_check(&r, x, a, NULL, 0, false);
	ck_assert_uint_eq(r.sync_bad + r.ref_bad, 0);

	/* a crash choice that writes into block 1: never from the memo,
	 * judged state by state and reduced */
	poke_at = (uint64_t)blk[1] * 4096 + 100;
	memo_check(&r, x, a, &src, 1, false);
	ck_assert_uint_eq(r.judged, 2);
	ck_assert_uint_eq(r.sync_bad, 1);
	ck_assert_uint_eq(r.ref_bad, 1);
	ck_assert_str_eq(r.actual, "12288 bytes, differing from offset 4196");
	memo_check(&r, x, a, &src, 1, true);
	ck_assert_uint_eq(r.sync_bad, 1);
	ck_assert_uint_eq(r.ref_bad, 1);

	media_destroy(b);
	memo_finish(&r);
}
END_TEST

/*
 * With data=journal a file's data is replayed into recovery's overlay:
 * its home block's stamp says nothing of what the file holds, so the
 * memo never vouches for it.  Here the home block never changes while
 * the journal's copy does: the second image must still show the damage.
 */
START_TEST(fs_oracle_memo_skips_replayed_blocks)
{
	struct memo_run r = { 0 };
	struct sim_explorer *x;
	struct jfs_view *v;
	struct media *a, *b;
	const struct jfs_replayed *e;
	uint32_t blk[1], bs = 0, jblk = 0;
	uint8_t byte;
	size_t n;

	memo_start(&r, "version 1\n"
		       "config device=disk-wt fs-opts=data=journal\n"
		       "open fd=3 path=/f flags=O_CREAT|O_WRONLY\n"
		       "write fd=3 len=4096 data=rand:9\n"
		       "fsync fd=3\n");
	x = r.x;
	a = r.a;

	/* the data block is replayed: where its journal copy lies */
	ck_assert_int_eq(jfs_view_create(&v), 0);
	jfs_view_load(v, jfs_read_media, a, media_size(a));
	ck_assert_int_eq(jfs_view_file_blocks(v, "/f", blk, 1, &bs), 4096);
	ck_assert(blk[0] & JFS_VIEW_REPLAYED);
	n = jfs_view_replay_log(v, &e);
	for (size_t i = 0; i < n; i++)
		if (e[i].blk == (blk[0] & ~JFS_VIEW_REPLAYED))
			jblk = e[i].jblk;
	ck_assert_uint_ne(jblk, 0);
	jfs_view_destroy(v);

	memo_check(&r, x, a, NULL, 0, false);
	ck_assert_uint_eq(r.sync_bad + r.ref_bad + r.other_bad, 0);
	/* the journal's copy damaged, the home block as it was */
	ck_assert_int_eq(media_clone(&b, a), 0);
	media_read(b, (uint64_t)jblk * bs + 33, &byte, 1);
	byte ^= 0xff;
	media_write(b, (uint64_t)jblk * bs + 33, &byte, 1);
	memo_check(&r, x, b, NULL, 0, false);
	ck_assert_uint_eq(r.sync_bad, 1);
	ck_assert_uint_eq(r.ref_bad, 1);
	ck_assert_str_eq(r.actual, "4096 bytes, differing from offset 33");

	media_destroy(b);
	memo_finish(&r);
}
END_TEST

/* One group writing block rb_at: choice 1 the bytes the base holds
 * there (rb_same), choice 2 (when rb_n is 3) the same with byte 100
 * changed. */
static uint64_t rb_at;
static uint8_t rb_same[4096];
static uint32_t rb_n;

static uint32_t rb_nchoices(const void *self, size_t g)
{
	(void)self;
	(void)g;
	return rb_n;
}

static void rb_apply(const void *self, size_t g, uint32_t c, sim_emit_fn *emit, void *ctx)
{
	uint8_t other[4096];

	(void)self;
	(void)g;
	if (c == 1)
		emit(ctx, rb_at, rb_same, sizeof(rb_same));
	if (c == 2) {
		memcpy(other, rb_same, sizeof(other));
		other[100] ^= 0xff;
		emit(ctx, rb_at, other, sizeof(other));
	}
}

static const struct sim_crash_ops rb_ops = {
	.ngroups = one_group, .nchoices = rb_nchoices,
	.apply = rb_apply, .describe = test_describe,
};

/*
 * A crash choice that writes a data block back with the bytes the media
 * holds (a background commit emits every page of its files, most of them
 * clean) leaves the block's stamp, and so the memo, usable; a choice of
 * the same group that writes other bytes must make every judgement read
 * the block: reduced or state by state, the violation is found, with the
 * words judging without a memo gives.
 */
START_TEST(fs_oracle_memo_follows_rewritten_blocks)
{
	struct memo_run r = { 0 };
	struct sim_crash_source src = { &rb_ops, NULL };
	struct sim_explorer *x;
	struct media *a;
	uint32_t blk[3], bs = 0;

	memo_start(&r, memo_three_blocks);
	x = r.x;
	a = r.a;
	ck_assert_int_eq(memo_file_blocks(&r, blk, 3, &bs), 12288);
	ck_assert(blk[1] && !(blk[1] & JFS_VIEW_REPLAYED));
	rb_at = (uint64_t)blk[1] * 4096;
	media_read(a, rb_at, rb_same, sizeof(rb_same));

	/* clean; the memo holds the file's blocks */
	memo_check(&r, x, a, NULL, 0, true);
	ck_assert_uint_eq(r.sync_bad + r.ref_bad + r.other_bad, 0);
	/* rewritten with its own bytes: clean, reduced or not */
	rb_n = 2;
	memo_check(&r, x, a, &src, 1, true);
	ck_assert_uint_eq(r.sync_bad + r.ref_bad + r.other_bad, 0);
	memo_check(&r, x, a, &src, 1, false);
	ck_assert_uint_eq(r.judged, 2);
	ck_assert_uint_eq(r.sync_bad + r.ref_bad + r.other_bad, 0);
	/* and a choice that changes it: found both ways */
	rb_n = 3;
	memo_check(&r, x, a, &src, 1, true);
	ck_assert_uint_eq(r.sync_bad, 1);
	ck_assert_uint_eq(r.ref_bad, 1);
	ck_assert_str_eq(r.actual, "12288 bytes, differing from offset 4196");
	memo_check(&r, x, a, &src, 1, false);
	ck_assert_uint_eq(r.judged, 3);
	ck_assert_uint_eq(r.sync_bad, 1);
	ck_assert_uint_eq(r.ref_bad, 1);
	ck_assert_str_eq(r.actual, "12288 bytes, differing from offset 4196");

	memo_finish(&r);
}
END_TEST

/*
 * O5: a path's blocks hold data written to the file recovered metadata
 * names there.  /g (0x22) is renamed over /f (0x11); with /g's bytes
 * in the recovered /f's block replaced by the old /f's, the block holds
 * data of a file that once had the path but is not this one: stale, not
 * explained (it was, when any file the path named could explain it).
 */
#define replace_g_over_f "version 1\n" \
	"open fd=3 path=/f flags=O_CREAT|O_WRONLY\n" \
	"write fd=3 len=4096 data=fill:0x11\n" \
	"fsync fd=3\n" \
	"close fd=3\n" \
	"open fd=4 path=/g flags=O_CREAT|O_WRONLY\n" \
	"write fd=4 len=4096 data=fill:0x22\n" \
	"fsync fd=4\n" \
	"close fd=4\n" \
	"rename from=/g to=/f\n" \
	"sync\n"

/* TRACE ends with /f synced; clean as it is, and with /f's block holding
 * the first /f's bytes (0x11) a broken promise and stale data (R's
 * counts of that image are left for the caller). */
static void stale_first_f(struct memo_run *r, const char *trace)
{
	uint32_t blk[1], bs = 0;

	memo_start(r, trace);
	ck_assert_int_eq(memo_file_blocks(r, blk, 1, &bs), 4096);
	memo_check(r, r->x, r->a, NULL, 0, true);
	ck_assert_uint_eq(r->sync_bad + r->ref_bad + r->other_bad, 0);
	memo_check_filled(r, blk[0], bs, 0x11);
	ck_assert_uint_eq(r->sync_bad, 1);
	ck_assert_uint_eq(r->ref_bad, 1);
}

START_TEST(fs_oracle_referenced_data_is_the_inode_s)
{
	struct memo_run r = { 0 };

	stale_first_f(&r, replace_g_over_f);
	ck_assert_uint_eq(r.other_bad, 0);
	memo_finish(&r);

	/* again with a third file, /h (0x33), renamed over /f: it gets the
	 * number /g's rename freed, the first /f's; that /f's bytes in its
	 * block are stale all the same (the generation tells them apart) */
	stale_first_f(&r, replace_g_over_f
		      "open fd=5 path=/h flags=O_CREAT|O_WRONLY\n"
		      "write fd=5 len=4096 data=fill:0x33\n"
		      "fsync fd=5\n"
		      "close fd=5\n"
		      "rename from=/h to=/f\n"
		      "sync\n");
	memo_finish(&r);
}
END_TEST

/*
 * O4: a promise none of whose names stands is kept by a path the file
 * had only if that path names the file itself.  /f (0x11) is synced and
 * renamed to /f.1; a new /f with the same bytes is synced.  With the
 * first file's block zeroed, /f.1 breaks the first fsync's promise
 * though the new /f holds the very bytes it promised.
 */
START_TEST(fs_oracle_sync_promise_is_the_file_s)
{
	struct memo_run r = { .any_path = true };
	uint32_t blk = 0, bs = 0;
	struct jfs_view *v;

	memo_start(&r, "version 1\n"
		   "open fd=3 path=/f flags=O_CREAT|O_WRONLY\n"
		   "write fd=3 len=4096 data=fill:0x11\n"
		   "fsync fd=3\n"
		   "close fd=3\n"
		   "rename from=/f to=/f.1\n"
		   "open fd=4 path=/f flags=O_CREAT|O_WRONLY\n"
		   "write fd=4 len=4096 data=fill:0x11\n"
		   "fsync fd=4\n"
		   "close fd=4\n");
	ck_assert_int_eq(jfs_view_create(&v), 0);
	jfs_view_load(v, jfs_read_media, r.a, media_size(r.a));
	ck_assert_int_eq(jfs_view_file_blocks(v, "/f.1", &blk, 1, &bs), 4096);
	ck_assert_uint_eq(bs, 4096);
	jfs_view_destroy(v);
	ck_assert(blk && !(blk & JFS_VIEW_REPLAYED));

	memo_check(&r, r.x, r.a, NULL, 0, true);
	ck_assert_uint_eq(r.sync_bad + r.ref_bad + r.other_bad, 0);
	memo_check_filled(&r, blk, bs, 0);
	ck_assert_uint_eq(r.ref_bad, 1);		/* /f.1: zeros never written */
	ck_assert_uint_eq(r.sync_bad, 1);		/* the first fsync's promise */
	memo_finish(&r);
}
END_TEST

/*
 * O5 word by word: a block with many versions (FP_WIDX_MIN or more: its
 * words' values indexed) and one with few must explain a torn block
 * alike.  /f is 4 KiB of zeros, then W 8-byte writes at words 0 .. W-1,
 * synced; its block with word 3 as it was before the fourth write (zero)
 * holds data of the file (no referenced-data violation; the fsync's
 * promise is broken), and with a value never written there is garbage.
 */
static void word_index_case(unsigned writes)
{
	struct memo_run r = { 0 };
	char trace[4096];
	size_t o;
	uint32_t blk = 0, bs = 0;
	uint64_t junk = 0x0123456789abcdefULL, zero = 0;
	struct media *b;

	o = (size_t)snprintf(trace, sizeof(trace), "version 1\n"
			     "open fd=3 path=/f flags=O_CREAT|O_WRONLY\n"
			     "ftruncate fd=3 len=4096\n");
	for (unsigned i = 0; i < writes; i++)
		o += (size_t)snprintf(trace + o, sizeof(trace) - o,
				      "pwrite fd=3 off=%u len=8 val=%u\n", 8 * i, 1000 + i);
	snprintf(trace + o, sizeof(trace) - o, "fsync fd=3\n");
	memo_start(&r, trace);
	ck_assert_int_eq(memo_file_blocks(&r, &blk, 1, &bs), 4096);
	memo_check(&r, r.x, r.a, NULL, 0, true);
	ck_assert_uint_eq(r.sync_bad + r.ref_bad + r.other_bad, 0);
	ck_assert_int_eq(media_clone(&b, r.a), 0);
	media_write(b, (uint64_t)blk * bs + 24, &zero, 8);
	memo_check(&r, r.x, b, NULL, 0, true);
	ck_assert_uint_eq(r.ref_bad, 0);
	ck_assert_uint_eq(r.sync_bad, 1);
	media_write(b, (uint64_t)blk * bs + 24, &junk, 8);
	memo_check(&r, r.x, b, NULL, 0, true);
	ck_assert_uint_eq(r.ref_bad, 1);
	media_destroy(b);
	memo_finish(&r);
}

START_TEST(fs_oracle_word_index)
{
	word_index_case(6);		/* 8 versions: no index */
	word_index_case(40);		/* 42: indexed */
}
END_TEST

/* K7's point ranges: consecutive points join, one point is singular, and
 * a long list is cut with a count. */
START_TEST(cli_point_ranges)
{
	struct cli_ranges rs = { 0 };
	char buf[160];

	cli_ranges_add(&rs, 7, 7);
	cli_ranges_format(&rs, buf, sizeof(buf), 6);
	ck_assert_str_eq(buf, "point 7");
	cli_ranges_add(&rs, 8, 8);
	cli_ranges_add(&rs, 9, 9);
	cli_ranges_add(&rs, 12, 12);
	cli_ranges_add(&rs, 20, 31);
	cli_ranges_add(&rs, 25, 33);	/* an overlap extends the last run */
	ck_assert_uint_eq(rs.n, 3);
	cli_ranges_format(&rs, buf, sizeof(buf), 6);
	ck_assert_str_eq(buf, "points 7-9, 12, 20-33");
	for (uint64_t k = 40; k < 60; k += 2)
		cli_ranges_add(&rs, k, k);
	ck_assert_uint_eq(rs.n, 13);
	cli_ranges_format(&rs, buf, sizeof(buf), 6);
	ck_assert_str_eq(buf, "points 7-9, 12, 20-33, 40, 42, 44 and 7 more");
	cli_ranges_format(&rs, buf, 12, 6);	/* cut, still a string */
	ck_assert_uint_eq(strlen(buf), 11);
	cli_ranges_free(&rs);
	ck_assert_uint_eq(rs.n, 0);
}
END_TEST

static Suite *sim_suite(void)
{
	Suite *s = suite_create("sim");
	TCase *tc;

	tc = tcase_create("config");
	tcase_add_test(tc, config_defaults);
	tcase_add_test(tc, config_precedence);
	tcase_add_test(tc, config_faults_accumulate);
	tcase_add_test(tc, config_errors);
	tcase_add_test(tc, config_machine_file);
	tcase_add_test(tc, config_paths_relative_to_their_file);
	tcase_add_test(tc, config_check_blames_where_it_was_set);
	tcase_add_test(tc, fs_opts);
	suite_add_tcase(s, tc);

	tc = tcase_create("media");
	tcase_add_test(tc, media_sparse);
	tcase_add_test(tc, media_stamps);
	tcase_add_test(tc, media_compare);
	tcase_add_test(tc, crc32_vectors);
	tcase_add_test(tc, latency_exact_then_bounded);
	suite_add_tcase(s, tc);

	tc = tcase_create("explore");
	tcase_add_test(tc, explore_exhaustive);
	tcase_add_test(tc, explore_judgement_limit);
	tcase_add_test(tc, explore_base_bytes_do_not_split);
	tcase_add_test(tc, explore_bounded_and_sample);
	tcase_add_test(tc, block_stamps);
	tcase_add_test(tc, blocks_stamps_unchanged);
	tcase_add_test(tc, diff_hash_sees_changed_words);
	tcase_add_test(tc, states_parse);
	tcase_add_test(tc, observe_specs);
	tcase_add_test(tc, observe_eval);
	suite_add_tcase(s, tc);

	tc = tcase_create("loop");
	tcase_add_test(tc, loop_points_and_marks);
	tcase_add_test(tc, loop_world_errors);
	tcase_add_test(tc, cli_point_ranges);
	suite_add_tcase(s, tc);

	tc = tcase_create("oracle");
	tcase_add_test(tc, fs_oracle_memo_follows_changed_blocks);
	tcase_add_test(tc, fs_oracle_memo_skips_replayed_blocks);
	tcase_add_test(tc, fs_oracle_memo_follows_rewritten_blocks);
	tcase_add_test(tc, fs_oracle_referenced_data_is_the_inode_s);
	tcase_add_test(tc, fs_oracle_sync_promise_is_the_file_s);
	tcase_add_test(tc, fs_oracle_word_index);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sim_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
