/*
 * media.h — a durable byte image: the pmem namespace or a block device's
 * platters, as they would read after power is lost.
 *
 * The image is sparse: it reads as zeros until written, and memory is
 * spent only on 4 KiB pages that were written (or on an optional base
 * image file given at creation).  A 1 TiB namespace with a few written
 * pages costs a few pages plus a 4 MiB directory.
 *
 * Invariant: media holds only what is durable.  Models keep everything
 * volatile (dirty cache lines, the WPQ on a pcommit machine, a disk's write
 * cache, bios in flight) themselves and describe it through crash.h.
 */
#ifndef POWERCUT_MEDIA_H
#define POWERCUT_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#define MEDIA_PAGE_SHIFT 12
#define MEDIA_PAGE_SIZE  (1u << MEDIA_PAGE_SHIFT)

struct media;

/* A zeroed image of SIZE bytes (at most 1 TiB).  0 or -ENOMEM/-EINVAL. */
int media_create(struct media **m, uint64_t size);
void media_destroy(struct media *m);

uint64_t media_size(const struct media *m);

/* Copy bytes in or out.  off + n <= media_size().  O(n). */
void media_write(struct media *m, uint64_t off, const void *src, size_t n);
void media_read(const struct media *m, uint64_t off, void *dst, size_t n);

/* Whether the N bytes at OFF equal BUF (0) or not (non-zero), without
 * copying them out (a page never written compares as zeros).  off + n <=
 * media_size().  O(n). */
int media_cmp(const struct media *m, uint64_t off, const void *buf, size_t n);

/* The stamp of the page holding OFF: non-zero, and two equal stamps
 * (from any media of this process) mean the two pages hold equal bytes.
 * A page's stamp changes at each media_write to it; one never written
 * reads as zeros and has stamp 1.  O(1). */
uint64_t media_stamp(const struct media *m, uint64_t off);

/* The bytes of the page holding OFF, read-only, or NULL when the page was
 * never written (it reads as zeros).  Valid until the next media_write.
 * O(1).  For comparing bytes against the media without copying them. */
const uint8_t *media_page(const struct media *m, uint64_t off);

/* A hint: start fetching the bytes at OFF into the host's caches, for a
 * media_write or media_read soon after.  No effect on the contents.
 * O(1). */
void media_prefetch(const struct media *m, uint64_t off);

/* Bytes that reached the media through media_write, plus those counted
 * with media_add_written (statistics). */
uint64_t media_bytes_written(const struct media *m);

/* A model that keeps the media as an image of what is durable and writes
 * it only where it changed (blockq/'s disks, I2) writes it with
 * media_write_image, which counts nothing, and counts each write that
 * became durable, whole, with media_add_written: a write of the bytes the
 * media already held reached it too. */
void media_write_image(struct media *m, uint64_t off, const void *src, size_t n);
void media_add_written(struct media *m, uint64_t n);

/* The whole image as a deep copy (snapshots for the explorer).  O(written
 * pages). */
int media_clone(struct media **out, const struct media *m);

/* Call FN for each page that was ever written, in address order; FN gets
 * the page's offset and its 4 KiB. */
void media_for_each_page(const struct media *m,
			 void (*fn)(void *ctx, uint64_t off, const uint8_t *page),
			 void *ctx);

#endif
