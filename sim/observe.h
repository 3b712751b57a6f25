/*
 * observe.h — what `powercut outcomes --observe` looks at in a crash
 * image (the brief's table):
 *
 *   mem:ADDR:LEN   LEN durable bytes at pmem offset ADDR, in hex
 *   u64:ADDR       the durable little-endian 64-bit value at ADDR, decimal
 *   blk:OFF:LEN    crc32=XXXXXXXX of LEN device bytes at byte offset OFF
 *   file:PATH      absent, or SIZE:XXXXXXXX of the file after the
 *                  filesystem model recovered the image (journal replay)
 */
#ifndef POWERCUT_OBSERVE_H
#define POWERCUT_OBSERVE_H

#include <stddef.h>
#include <stdint.h>

#include "explore.h"

enum sim_obs_kind {
	SIM_OBS_MEM,
	SIM_OBS_U64,
	SIM_OBS_BLK,
	SIM_OBS_FILE,
};

#define SIM_OBS_MAX_LEN (1u << 20)	/* mem:/blk: at most 1 MiB each */

struct sim_obs {
	enum sim_obs_kind kind;
	uint64_t addr;
	uint64_t len;
	char spec[256];			/* as given, for the output */
	const char *path;		/* FILE: points into spec */
};

/* Parse one spec.  0, or -1 with a message in err. */
int sim_obs_parse(const char *spec, struct sim_obs *o, char *err, size_t errlen);

/* Can this observation be made in S's world?  0, or -1 with a message. */
int sim_obs_check(const struct sim_obs *o, struct sim *s, char *err, size_t errlen);

struct jfs_view;

/* A jfs_read_fn over a struct sim_image (fs_model/jfs.h). */
void sim_obs_read_image(const void *im, uint64_t off, void *dst, size_t n);
/* The same, not counted as read (sim_image_peek). */
void sim_obs_peek_image(const void *im, uint64_t off, void *dst, size_t n);
/* A jfs_stamp_fn over a struct sim_image (sim_image_stamp). */
uint64_t sim_obs_stamp_image(const void *im, uint64_t off, size_t n);
/* A jfs_bstamps_fn over a struct sim_image (sim_image_block_stamps). */
bool sim_obs_block_stamps_image(const void *im, uint64_t off, uint32_t bsize, uint32_t nblk,
				uint64_t *out);

/* Append "SPEC=VALUE" for the image to out (at most outlen bytes, NUL
 * included).  SCRATCH holds at least SIM_OBS_MAX_LEN bytes.  VIEW is the
 * image recovered by the filesystem model (jfs_view_load() with
 * sim_obs_read_image), needed by file: observations, else NULL.
 * Returns the number of characters appended, or -1 with a message. */
int sim_obs_eval(const struct sim_obs *o, const struct sim_image *im,
		 struct jfs_view *view, uint8_t *scratch, char *out, size_t outlen,
		 char *err, size_t errlen);

#endif
