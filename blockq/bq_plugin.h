/*
 * bq_plugin.h — the powercut device-driver plugin API, version 1.
 *
 * Installed as <powercut/bq_plugin.h>.  A plugin is a shared object that
 * describes how a driver and the device under it treat the requests the
 * Linux block layer sends them.  `powercut ... --device ./mydriver.so`
 * loads it with dlopen() and looks up one symbol, bq_plugin_entry, a
 * struct bq_plugin.  docs/driver-guide.md walks through writing one.
 *
 * Division of labour.  powercut keeps the bios, the request queue, the
 * PREFLUSH/FUA sequencing of block/blk-flush.c, the bytes of every write
 * and every crash state.  The plugin only answers three questions, each
 * time they arise:
 *
 *   features()  What does the driver tell the block layer?  A volatile
 *               write cache (BQ_FEAT_WRITE_CACHE; Linux:
 *               blk_queue_write_cache(q, true, ...)) and native FUA
 *               (BQ_FEAT_FUA).  Without a write cache the block layer
 *               strips PREFLUSH and FUA and completes empty flushes
 *               itself: the driver never sees them.  With a cache but no
 *               FUA it turns FUA into a flush after the write.
 *   write()     Where does the data of this write request go when the
 *               driver completes it?  BQ_FATE_CACHE: into a volatile
 *               cache (it may reach the media at any later moment, torn
 *               at the atomic write unit, or be lost); BQ_FATE_MEDIA: it
 *               is durable; BQ_FATE_LATE: nowhere yet — the driver
 *               reports completion before the data reached the device
 *               (it gets there by the submitter's next wait).
 *   flush()     What does this flush request do?  BQ_FLUSH_CACHE: every
 *               write the device had completed when the flush was issued
 *               is durable when it completes; BQ_FLUSH_NOOP: nothing.
 *
 * The answers may depend on anything the plugin keeps in its private
 * state (a battery flag, a counter, the sector), but a plugin must be
 * deterministic: the same requests give the same answers.  powercut
 * applies the --fault options on top of the plugin's answers.
 *
 * Versioning.  api_version must equal BQ_PLUGIN_API_VERSION of the header
 * the plugin was built with; the loader refuses any other value with a
 * one-line message.  A new version adds fields at the end only.
 *
 * Threads: none.  powercut calls a plugin from one thread.
 */
#ifndef POWERCUT_BQ_PLUGIN_H
#define POWERCUT_BQ_PLUGIN_H

#include <stdint.h>

#define BQ_PLUGIN_API_VERSION 1u

/* The symbol powercut looks up in the shared object. */
#define BQ_PLUGIN_SYMBOL "bq_plugin_entry"

/* features() bits */
enum {
	BQ_FEAT_WRITE_CACHE = 1u << 0,	/* a volatile write cache: send flushes */
	BQ_FEAT_FUA         = 1u << 1,	/* FUA writes handled natively */
};

enum bq_req_op {
	BQ_REQ_WRITE,			/* data: len bytes at sector */
	BQ_REQ_DISCARD,			/* reads as zeros afterwards */
	BQ_REQ_FLUSH,			/* empty flush (REQ_OP_FLUSH) */
};

/* request flags */
enum {
	BQ_REQ_FUA = 1u << 0,		/* only with BQ_FEAT_FUA */
};

/* What a driver receives.  Valid during the call only. */
struct bq_request {
	uint64_t bio_id;		/* the bio this request serves */
	enum bq_req_op op;
	uint32_t flags;			/* BQ_REQ_* */
	uint64_t sector;		/* 512-byte sectors */
	uint64_t len;			/* bytes (0 for a flush) */
	const uint8_t *data;		/* len bytes; zeros for a discard */
};

enum bq_fate {
	BQ_FATE_CACHE,			/* volatile until flushed or destaged */
	BQ_FATE_MEDIA,			/* durable on completion */
	BQ_FATE_LATE,			/* completed before it reached the device */
};

enum bq_flush_fate {
	BQ_FLUSH_CACHE,			/* completed writes are durable */
	BQ_FLUSH_NOOP,			/* the flush is dropped */
};

/* What powercut tells a plugin when it is made. */
struct bq_plugin_env {
	uint64_t device_bytes;		/* disk.size */
	uint32_t atomic_unit;		/* disk.atomic_unit, bytes */
	uint64_t arg;			/* --set plugin.arg=N, for the plugin */
};

struct bq_plugin {
	uint32_t api_version;		/* BQ_PLUGIN_API_VERSION */
	const char *name;		/* short, for reports */
	const char *description;	/* one line */
	/* Make the private state.  0, or non-zero to refuse (then msg, if
	 * not NULL, says why).  Optional. */
	int (*create)(void **priv, const struct bq_plugin_env *env,
		      const char **msg);
	void (*destroy)(void *priv);	/* optional */
	uint32_t (*features)(void *priv);
	enum bq_fate (*write)(void *priv, const struct bq_request *rq);
	enum bq_flush_fate (*flush)(void *priv, const struct bq_request *rq);
	/* Cycles the device spends on RQ (timing only; never changes what
	 * is durable).  Optional: NULL uses the disk.* latency parameters. */
	uint64_t (*cycles)(void *priv, const struct bq_request *rq);
};

/* Defined by the plugin. */
extern const struct bq_plugin bq_plugin_entry;

#endif
