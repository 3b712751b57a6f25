/*
 * observe.c — parsing and evaluating observation specs (observe.h).
 */
#include "observe.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "crc32.h"
#include "media.h"
#include "../fs_model/jfs.h"

static int parse_num(const char *s, const char *end, uint64_t *out)
{
	char buf[64];
	char *e;
	size_t n = (size_t)(end - s);

	if (n == 0 || n >= sizeof(buf) || *s < '0' || *s > '9')
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	*out = strtoull(buf, &e, 0);
	if (errno)
		return -1;
	/* as the trace format's sizes: K, M, G, powers of 1024 */
	if (*e && !e[1] && (*e == 'K' || *e == 'M' || *e == 'G')) {
		unsigned shift = *e == 'K' ? 10 : *e == 'M' ? 20 : 30;
		if (*out > UINT64_MAX >> shift)
			return -1;
		*out <<= shift;
		e++;
	}
	return *e ? -1 : 0;
}

int sim_obs_parse(const char *spec, struct sim_obs *o, char *err, size_t errlen)
{
	const char *a, *c;

	memset(o, 0, sizeof(*o));
	if (strlen(spec) >= sizeof(o->spec)) {
		snprintf(err, errlen, "observation too long");
		return -1;
	}
	strcpy(o->spec, spec);
	if (!strncmp(spec, "file:", 5)) {
		o->kind = SIM_OBS_FILE;
		o->path = o->spec + 5;
		if (!*o->path) {
			snprintf(err, errlen, "observation '%s': empty path", spec);
			return -1;
		}
		return 0;
	}
	if (!strncmp(spec, "u64:", 4)) {
		o->kind = SIM_OBS_U64;
		o->len = 8;
		if (parse_num(spec + 4, spec + strlen(spec), &o->addr))
			goto bad;
		if (o->addr > UINT64_MAX - 8)
			goto bad;
		return 0;
	}
	if (!strncmp(spec, "mem:", 4))
		o->kind = SIM_OBS_MEM;
	else if (!strncmp(spec, "blk:", 4))
		o->kind = SIM_OBS_BLK;
	else {
		snprintf(err, errlen, "unknown observation '%.64s' (mem:ADDR:LEN, u64:ADDR, "
			 "blk:OFF:LEN or file:PATH)", spec);
		return -1;
	}
	a = spec + 4;
	c = strchr(a, ':');
	if (!c || parse_num(a, c, &o->addr) || parse_num(c + 1, spec + strlen(spec), &o->len))
		goto bad;
	if (o->len == 0 || o->len > SIM_OBS_MAX_LEN || o->addr > UINT64_MAX - o->len) {
		snprintf(err, errlen, "observation '%s': length must be 1 to %u bytes",
			 spec, SIM_OBS_MAX_LEN);
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "malformed observation '%.64s'", spec);
	return -1;
}

int sim_obs_check(const struct sim_obs *o, struct sim *s, char *err, size_t errlen)
{
	const struct sim_config *c = sim_config(s);
	struct media *m = sim_media(s);
	enum sim_world w = sim_world(s);

	if (o->kind == SIM_OBS_FILE) {
		if (w != SIM_WORLD_FILE || !sim_model(s, SIM_ROLE_FS)) {
			snprintf(err, errlen, "observation '%s' needs a file trace and the "
				 "filesystem model", o->spec);
			return -1;
		}
		if (o->path[0] != '/') {
			snprintf(err, errlen, "observation '%s': the path must be absolute", o->spec);
			return -1;
		}
		return 0;
	}
	if (!m) {
		snprintf(err, errlen, "observation '%s': the trace has no CPU, block or file "
			 "events, so there is no media to observe", o->spec);
		return -1;
	}
	if ((o->kind == SIM_OBS_MEM || o->kind == SIM_OBS_U64) &&
	    c->device != SIM_DEVICE_PMEM && c->device != SIM_DEVICE_PMEM_WB &&
	    w != SIM_WORLD_CPU) {
		snprintf(err, errlen, "observation '%s' reads pmem, but the device is %s "
			 "(use blk:)", o->spec, sim_device_name(c->device));
		return -1;
	}
	if (o->addr + o->len > media_size(m)) {
		snprintf(err, errlen, "observation '%s' reaches past the end of the %"
			 PRIu64 "-byte %s", o->spec, media_size(m),
			 o->kind == SIM_OBS_BLK ? "device" : "pmem namespace");
		return -1;
	}
	return 0;
}

void sim_obs_read_image(const void *im, uint64_t off, void *dst, size_t n)
{
	sim_image_read(im, off, dst, n);
}

void sim_obs_peek_image(const void *im, uint64_t off, void *dst, size_t n)
{
	sim_image_peek(im, off, dst, n);
}

uint64_t sim_obs_stamp_image(const void *im, uint64_t off, size_t n)
{
	return sim_image_stamp(im, off, n);
}

bool sim_obs_block_stamps_image(const void *im, uint64_t off, uint32_t bsize, uint32_t nblk,
				uint64_t *out)
{
	return sim_image_block_stamps(im, off, bsize, nblk, out);
}

int sim_obs_eval(const struct sim_obs *o, const struct sim_image *im,
		 struct jfs_view *view, uint8_t *scratch, char *out, size_t outlen,
		 char *err, size_t errlen)
{
	static const char hexd[] = "0123456789abcdef";
	size_t n = strlen(o->spec), need;
	uint64_t v = 0;
	int k;

	if (o->kind == SIM_OBS_FILE) {
		if (!view || n + 2 > outlen) {
			snprintf(err, errlen, "observation '%s' cannot be evaluated here", o->spec);
			return -1;
		}
		memcpy(out, o->spec, n);
		out[n++] = '=';
		k = jfs_view_lookup(view, o->path, out + n, outlen - n);
		if (k < 0) {
			snprintf(err, errlen, "observations too long for one line");
			return -1;
		}
		return (int)n + k;
	}
	switch (o->kind) {
	case SIM_OBS_MEM:
		need = n + 1 + 2 * o->len;
		break;
	case SIM_OBS_U64:
		need = n + 1 + 20;
		break;
	case SIM_OBS_BLK:
		need = n + 1 + 15;
		break;
	default:
		snprintf(err, errlen, "observation '%s' cannot be evaluated here", o->spec);
		return -1;
	}
	if (need + 1 > outlen) {
		snprintf(err, errlen, "observations too long for one line");
		return -1;
	}
	memcpy(out, o->spec, n);
	out[n++] = '=';
	sim_image_read(im, o->addr, scratch, (size_t)o->len);
	switch (o->kind) {
	case SIM_OBS_MEM:
		for (uint64_t i = 0; i < o->len; i++) {
			out[n++] = hexd[scratch[i] >> 4];
			out[n++] = hexd[scratch[i] & 15];
		}
		out[n] = '\0';
		break;
	case SIM_OBS_U64:
		for (int i = 7; i >= 0; i--)
			v = v << 8 | scratch[i];
		n += (size_t)snprintf(out + n, outlen - n, "%" PRIu64, v);
		break;
	case SIM_OBS_BLK:
		n += (size_t)snprintf(out + n, outlen - n, "crc32=%08" PRIx32,
				      crc32_update(0, scratch, (size_t)o->len));
		break;
	default:
		break;
	}
	return (int)n;
}
