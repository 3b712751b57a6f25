/*
 * fs_promise.h — the oracle of a file trace: an independent POSIX-level
 * reference that follows the trace's file events, and the judge that
 * holds every crash image, recovered once by fs_model/, against it.
 *
 * The reference never asks the filesystem model what is durable: it keeps
 * its own file descriptors, namespace (paths -> file identities, links,
 * renames, unlink, mkdir/rmdir, symlinks), sizes and contents (what a read
 * would return; stores to a shared mapping land in the mapped file), so a
 * model that loses promised data shows up as a violation instead of being
 * trusted.  Its rules are O1-O8 in docs/semantics.md ("Crash model and
 * oracle") and in the essay of fs_promise.c.
 *
 * The four invariants it judges (oracle.h):
 *   sync-promise       O1-O4: what a completed fsync, fdatasync,
 *                      msync(MS_SYNC), sync or O_SYNC/O_DSYNC write covered
 *                      survives, until a later operation changes it;
 *   referenced-data    O5: every block of every recovered file, within its
 *                      recovered size, holds bytes once written to that
 *                      file at that offset while the file was that long;
 *   journal-atomicity  O6: a replayed transaction replays exactly what the
 *                      model logged for it (fs_model/jfs.h);
 *   fsck               O7: the recovered image passes jfs_view_fsck.
 *
 * Memory: the namespace and one 4 KiB copy per distinct block content the
 * trace ever produced (deduplicated by content), at most FP_MAX_CONTENTS
 * of them (O8); beyond that the trace is refused as too large to judge.
 * Plus a memo of data comparisons that held (at most 2 MiB): a judgement
 * compares only the blocks of a file that changed, or that some crash
 * choice could write, since the memo saw them ("Cost" in fs_promise.c).
 */
#ifndef POWERCUT_FS_PROMISE_H
#define POWERCUT_FS_PROMISE_H

#include "../traces/trace.h"
#include "oracle.h"

struct sim;
struct sim_image;
struct sim_fs_promises;

/* A reference for the file trace S replays; S's filesystem model (role FS)
 * is asked only what transactions it logged (O6).  0 or -ENOMEM. */
int sim_fs_promises_create(struct sim_fs_promises **p, struct sim *s);
void sim_fs_promises_destroy(struct sim_fs_promises *p);

/* Follow one event after the model applied it (the observer of sim.h).
 * 0, or -1 when the trace is too large to follow (O8) or out of memory. */
int sim_fs_promises_event(struct sim_fs_promises *p, const struct trace_event *ev);

/* A crash point falls inside EV, which the model is applying (O9): apply
 * its changes to the reference now; its promise waits for completion
 * (sim_fs_promises_event() with the same event).  0 or -1. */
int sim_fs_promises_event_early(struct sim_fs_promises *p, const struct trace_event *ev);

/* Recover IM once and judge it by O1-O7, calling REPORT per violation.
 * Returns 0 or REPORT's first non-zero status. */
int sim_fs_promises_judge(struct sim_fs_promises *p, const struct sim_image *im,
			  sim_violation_fn *report, void *ctx);

/* The image sim_fs_promises_judge() judged last, as recovery left it
 * (valid until the next judgement): what an application checker is given
 * (sim/check.c), without recovering it a second time. */
struct jfs_view *sim_fs_promises_view(const struct sim_fs_promises *p);

/* Promises standing now (tests, reports). */
size_t sim_fs_promises_standing(const struct sim_fs_promises *p);

#endif
