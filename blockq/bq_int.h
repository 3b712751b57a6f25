/*
 * bq_int.h — blockq/'s private structures.  The rules they serve are in
 * the essay at the top of bq_queue.c; the invariants are here.
 *
 * Invariants:
 *   I1. Every write bio touches a run of atomic units; for each it owns one
 *       struct bq_version (its bytes in that unit) until the version is
 *       folded into the media.  A unit with at least one version is
 *       "active": it is in units (the hash) and in active[] (by index).
 *   I2. For an active unit, env->media holds the unit's choice-0 image
 *       (the "canon"): its pre-image when no version is durable, else the
 *       first image the enumeration finds that contains every durable
 *       version.  pre[] holds the unit as it was before any of its
 *       versions, the image every other choice is built from.
 *   I3. Version order: v precedes w iff v reached the device (arrive_tick)
 *       before w was submitted (order_tick: its submit_tick), or, under
 *       B5, before a barrier let w go (order_tick: the release) -- a
 *       drained bio lands before its barrier, a barrier before the bios it
 *       held.  Versions not so ordered are concurrent: they may reach the
 *       media in either order (B4).
 *   I4. A HELD version cannot be on the media in any state; every other
 *       non-durable one may or may not be.
 *   I5. After bq_publish() every unit's choices are current and the
 *       media holds their choice 0; the crash interface lists as groups
 *       exactly the active units with more than one choice, by increasing
 *       index (rebuilt on demand when groups_stale).  Under
 *       env.no_crash_states (`run`) only the media part holds: choices,
 *       img and groups are not kept (bq_crash.c, canon_only).
 *   I6. Nothing but bq_publish() writes an active unit's bytes of
 *       env->media, so pre_on_media, once true, stays true until pre[]
 *       changes (fold) or the media gets another image.  So a run reads
 *       pre[] from the media only when it needs its bytes (pre_unread):
 *       a version that covers the whole unit folds without them.
 */
#ifndef POWERCUT_BQ_INT_H
#define POWERCUT_BQ_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../sim/config.h"
#include "../sim/crash.h"
#include "../sim/latency.h"
#include "../sim/model.h"
#include "blockq.h"
#include "bq_plugin.h"

#define BQ_UNIT_MAX_VERSIONS	8	/* pending writes to one atomic unit */
#define BQ_UNIT_MAX_CHOICES	64	/* distinct images of one unit */
#define BQ_ENUM_MAX_NODES	200000	/* orders tried for one unit */

/* A version's life (I4). */
enum bq_ver_state {
	BQ_V_HELD,		/* may not reach the device yet (B2, B5) */
	BQ_V_INFLIGHT,		/* submitted; may or may not be on the device */
	BQ_V_ACKED,		/* completion reported early, data on its way (F3) */
	BQ_V_CACHED,		/* in the device's volatile cache (B1) */
	BQ_V_DURABLE,		/* the rules say it reached the media */
};

struct bq_version {
	struct bq_version *next_in_bio;	/* the bio's versions, by unit */
	struct bq_unit *unit;
	uint64_t bio_id;		/* for descriptions */
	uint64_t line;			/* trace line of the bio */
	uint64_t submit_tick;		/* its bio's: names it (bq_vkey) */
	uint64_t order_tick;		/* I3: submit_tick, or its B5 release */
	uint64_t arrive_tick;		/* I3; UINT64_MAX until it arrives */
	uint64_t ack_tick;		/* BQ_V_ACKED: when completion was reported */
	uint32_t lo, hi;		/* byte range within the unit */
	enum bq_ver_state state;
	uint8_t landing;		/* ACKED: the enum bq_fate it arrives with */
	uint8_t *data;			/* unit_size bytes; [lo, hi) used */
};

/* Where to find a version again: its unit and its bio's submission,
 * which name at most one version. */
struct bq_vkey {
	uint64_t unit, submit;
};

/* The versions that entered a state (CACHED, ACKED), in the order they
 * entered it, as keys: [head, n) holds every version in that state and
 * some that left it (skipped when met, dropped when the queue fills). */
struct bq_keyq {
	struct bq_vkey *k;
	size_t head, n, cap;
	bool lost;			/* out of memory: the users scan instead */
};

/* One enumerated image of a unit: which versions, in which order. */
struct bq_choice {
	uint8_t n;			/* versions applied */
	uint8_t order[BQ_UNIT_MAX_VERSIONS];	/* indexes into unit->ver */
};

struct bq_unit {
	uint64_t index;			/* byte offset = index * unit size */
	uint32_t nver;
	struct bq_version *ver[BQ_UNIT_MAX_VERSIONS];	/* submission order */
	uint8_t *pre;			/* I2 */
	bool dirty;			/* choices must be recomputed */
	bool on_dirty;			/* in q->dirty[] */
	bool empty;			/* no versions; counted in q->nempty */
	bool pre_on_media;		/* canon_only(): env->media holds pre[] */
	bool pre_unread;		/* run: pre[] not read from the media,
					   which holds it (implies pre_on_media) */
	uint32_t nchoice;		/* >= 1; choice 0 is the canon */
	uint32_t cap_img;		/* images img has room for */
	uint8_t *img;			/* nchoice images of unit size */
	struct bq_unit *next_free;	/* in q->free_units */
	/* last: unit_get() clears what comes before it, not these 576
	 * bytes (entries below nchoice are written before they are read) */
	struct bq_choice choice[BQ_UNIT_MAX_CHOICES];
};

/* Sequencing steps of one bio, lowest first (blk-flush.c's REQ_FSEQ_*). */
enum {
	BQ_SEQ_DRAIN     = 1u << 0,	/* barrier: earlier bios complete (B5) */
	BQ_SEQ_PREFLUSH  = 1u << 1,	/* B2 */
	BQ_SEQ_DATA      = 1u << 2,	/* the write reaches the device */
	BQ_SEQ_POSTFLUSH = 1u << 3,	/* emulated FUA (B3, B6) */
	BQ_SEQ_DONE      = 1u << 4,	/* completion reported */
};

struct bq_bio {
	struct bq_bio *prev, *next;	/* in flight, submission order */
	uint64_t id;
	uint64_t line;
	enum trace_bio_op op;
	uint32_t flags;			/* as submitted */
	uint64_t off, len;		/* bytes */
	uint64_t submit_tick;
	uint32_t policy;		/* BQ_SEQ_* steps it needs */
	uint32_t seq;			/* BQ_SEQ_* steps done */
	bool barrier;			/* B5 */
	bool held;			/* its versions are HELD */
	bool fua_native;		/* the data command carries FUA */
	struct bq_version *vers;	/* until its DATA step */
	uint64_t t_done;		/* timing model: completion cycle */
};

/* u64 -> pointer map, open addressing (bios by id, units by index). */
struct bq_map {
	uint64_t *key;
	void **val;
	size_t cap, n;			/* cap a power of two */
};

/* A device: the policy of a struct bq_plugin, built in or loaded. */
struct bq_device {
	const struct bq_plugin *ops;
	void *priv;
	void *dl;			/* dlopen handle, or NULL */
	bool builtin;			/* disk-wc/disk-wt: write() ignores data */
};

/* pmem drivers: a write whose copy may still be volatile in the CPU
 * caches (bq_write_may_be_lost, bq_pmem.c's B12). */
struct bq_pwrite {
	uint64_t id;
	uint64_t off, len;		/* bytes */
	uint64_t seq;			/* the copy's store number (cache.h) */
	size_t older;			/* index + 1 of the previous entry with
					   this id, or 0 */
};

/* Bio latency classes of `run` (bq_model_report): plain writes, writes
 * with PREFLUSH or FUA, empty flushes, discards. */
enum bq_lat_kind { BQ_LAT_WRITE, BQ_LAT_FLAGGED, BQ_LAT_FLUSH, BQ_LAT_DISCARD, BQ_LAT_KINDS };

static inline enum bq_lat_kind bq_lat_kind(enum trace_bio_op op, uint32_t flags)
{
	if (op == TRACE_BIO_FLUSH)
		return BQ_LAT_FLUSH;
	if (op == TRACE_BIO_DISCARD)
		return BQ_LAT_DISCARD;
	return flags & (TRACE_BIO_PREFLUSH | TRACE_BIO_FUA) ? BQ_LAT_FLAGGED : BQ_LAT_WRITE;
}

struct bq_stats {
	uint64_t bios, writes, discards, flush_bios;
	uint64_t preflush, fua;		/* bios carrying the flag */
	uint64_t flush_cmds;		/* flushes sent to the device */
	uint64_t fua_cmds;		/* native FUA writes sent */
	uint64_t flushes_dropped;	/* flushes that made nothing durable */
	uint64_t bytes;			/* write and discard bytes submitted */
	uint64_t destages;		/* cache-full destages (B1) */
	uint64_t late_arrivals;		/* early-completed data arriving (F3) */
	uint64_t wait_cycles;		/* the submitter waiting */
	uint64_t stall_cycles;		/* the submitter waiting for a tag */
	uint64_t max_in_flight;
	struct lat_rec lat[BQ_LAT_KINDS];	/* submission to completion */
};

struct bq_queue {
	struct sim_env env;		/* copy of what we were given */
	enum sim_device kind;
	bool barrier_mode;		/* --block-semantics barrier */
	uint32_t faults;		/* SIM_FAULT_* */
	bool pmem;			/* pmem / pmem-wb: through cache/ */
	struct bq_device dev;
	uint32_t features;		/* BQ_FEAT_* the driver advertised */

	/* parameters, read once */
	uint32_t unit, unit_shift;
	uint64_t size;
	uint64_t cache_units;		/* disk.cache_size / unit */
	uint32_t depth;
	bool order_random;
	uint64_t seed;
	uint64_t submit_cycles, cmd_cycles, flush_cycles;
	uint64_t bus_bw, media_bw;	/* bytes per 1000 cycles */

	/* bios */
	struct bq_bio *head, *tail;	/* in flight, submission order */
	size_t nflight;
	struct bq_map bios;
	struct bq_map unwaited;		/* B5: ids of bios a barrier completed
					 * that the submitter has not waited
					 * for yet (value: the queue) */
	struct bq_bio *free_bios;
	uint64_t tick;			/* I3's clock: submits and arrivals */

	/* units and versions */
	struct bq_map units;
	struct bq_version *free_vers;
	struct bq_unit *free_units;
	struct bq_unit **active;	/* sorted by index */
	size_t nactive, cap_active;
	struct bq_unit **dirty;
	size_t ndirty, cap_dirty;
	struct bq_unit **groups;	/* I5 */
	size_t ngroups, cap_groups;
	bool groups_stale;
	size_t nempty;			/* active units with no version left */
	uint64_t ncached;		/* CACHED versions (cache occupancy) */
	struct bq_keyq cached;		/* B9: CACHED versions by arrive_tick */
	struct bq_keyq acked;		/* F3: ACKED versions by ack_tick */
	uint64_t nacked;		/* ACKED versions */
	uint8_t *scratch;		/* enumeration stack: (V+1) units */
	uint64_t overflow_unit;		/* a unit past the limits, or UINT64_MAX */
	uint64_t durable_gen;		/* bumped when a version becomes durable or
					 * is dropped (bq_durable_gen) */

	/* timing model (cycles only) */
	uint64_t *slot_free;		/* depth entries */
	uint64_t bus_free, dev_free;
	uint64_t rng;

	/* pmem drivers */
	uint64_t *wb_lines;		/* pmem-wb: lines to write back */
	size_t nwb, cap_wb;
	uint8_t *reqbuf;		/* a plugin's view of a bio's bytes */
	size_t cap_req;
	struct bq_pwrite *pw;		/* B12: submission order */
	size_t npw, cap_pw;
	size_t pw_prune;		/* prune pw[] when npw reaches it */
	struct bq_map pw_ids;		/* id -> index + 1 of its newest entry */

	struct bq_stats st;
	char what[96];			/* the step being reported */
};

/* Reads N bytes at OFF of a submitter's payload SRC into DST. */
typedef void bq_read_fn(const void *src, uint64_t off, void *dst, size_t n);

/* bq_queue.c */
int bq_submit_event(struct bq_queue *q, const struct trace_event *ev);
void bq_version_free(struct bq_queue *q, struct bq_version *v);
int bq_fail(struct bq_queue *q, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void bq_step(struct bq_queue *q, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int bq_queue_init(struct bq_queue *q, const struct sim_env *env);
void bq_queue_fini(struct bq_queue *q);

/* bq_crash.c */
void bq_publish(struct bq_queue *q);
void bq_unit_touch(struct bq_queue *q, struct bq_unit *u);
extern const struct sim_crash_ops bq_crash_ops;

/* bq_map.c */
int bq_map_init(struct bq_map *m, size_t cap);
void bq_map_fini(struct bq_map *m);
void *bq_map_get(const struct bq_map *m, uint64_t key);
int bq_map_put(struct bq_map *m, uint64_t key, void *val);
void bq_map_del(struct bq_map *m, uint64_t key);

/* bq_device.c */
extern const struct bq_plugin bq_disk_wc, bq_disk_wt;
int bq_device_open(struct bq_queue *q);
void bq_device_close(struct bq_queue *q);
/* The device's answer for B's data, faults applied: where it lands, and
 * *late when completion is reported before it gets there (F3). */
enum bq_fate bq_device_write(struct bq_queue *q, const struct bq_bio *b,
			     const uint8_t *data, bool *late);
enum bq_flush_fate bq_device_flush(struct bq_queue *q, uint64_t bio_id);
/* Tests: use OPS (not loaded from a file) as the device. */
void bq_device_force(const struct bq_plugin *ops);

/* bq_pmem.c: the pmem and pmem-wb drivers (synchronous: a bio completes
 * inside its submission, so waits have nothing to do). */
int bq_pmem_submit(struct bq_queue *q, const struct bq_bio_desc *b,
		   bq_read_fn *read, const void *src);
int bq_pmem_wait(struct bq_queue *q, uint64_t id);
void bq_pmem_read(const struct bq_queue *q, uint64_t off, void *buf, size_t n);
/* B12: bq_write_may_be_lost and bq_durable_gen on the pmem drivers. */
bool bq_pmem_may_be_lost(const struct bq_queue *q, uint64_t id, uint64_t off, uint64_t len);
uint64_t bq_pmem_durable_gen(const struct bq_queue *q);

#endif
