/*
 * oracle.h — how a crash image is judged.
 *
 * The brief's four invariants, each with the name reports use:
 *
 *   referenced-data    (1) after recovery, every block that recovered
 *                          metadata references holds data written to that
 *                          file: never stale contents of a freed block,
 *                          never garbage;
 *   sync-promise       (2) what a completed fsync, fdatasync,
 *                          msync(MS_SYNC), sync — or, on a block trace, a
 *                          completed FUA write or flush — covered survives;
 *   journal-atomicity  (3) a transaction recovers whole or not at all;
 *   fsck               (4) the recovered image passes the model's fsck;
 *
 * and one more for application checkers (--checker):
 *
 *   checker                the application's own check exited non-zero.
 *
 * A model that can judge implements sim_oracle_ops and sets it in its
 * sim_model_ops.oracle.  judge() is called once per distinct crash image
 * with the machine stopped at the crash point, so the model may compare the
 * image with what it knows was promised up to now.  It reports each
 * violation through the callback and must not keep the image.
 */
#ifndef POWERCUT_ORACLE_H
#define POWERCUT_ORACLE_H

#include <stddef.h>
#include <stdint.h>

struct sim_image;

#define SIM_INV_REFERENCED_DATA   "referenced-data"
#define SIM_INV_SYNC_PROMISE      "sync-promise"
#define SIM_INV_JOURNAL_ATOMICITY "journal-atomicity"
#define SIM_INV_FSCK              "fsck"
#define SIM_INV_CHECKER           "checker"

struct sim_violation {
	const char *invariant;		/* one of SIM_INV_* */
	uint64_t line;			/* the trace line of the promise or event
					   the violation is about (0 if none) */
	char path[256];			/* file, or "sector 2048+8", or "" */
	char expected[256];
	char actual[256];
	char explanation[512];		/* one or two sentences, causal */
};

typedef int sim_violation_fn(void *ctx, const struct sim_violation *v);

struct sim_oracle_ops {
	/* Judge IM; call REPORT for each violation.  Returns 0, REPORT's
	 * first non-zero status, or -1 with a message in the model's
	 * env->err on an internal failure. */
	int (*judge)(const void *self, const struct sim_image *im,
		     sim_violation_fn *report, void *ctx);
};

#endif
