/*
 * crc32.h — the zlib/IEEE CRC-32 (polynomial 0xEDB88320, reflected, initial
 * and final XOR 0xFFFFFFFF), as the brief's observations print it.
 */
#ifndef POWERCUT_CRC32_H
#define POWERCUT_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continue CRC over N bytes; start with crc = 0.  crc32_update(0, "123456789", 9)
 * is 0xcbf43926. */
uint32_t crc32_update(uint32_t crc, const void *buf, size_t n);

/* The same, one byte per step: the reference the unit tests hold the fast
 * loop to. */
uint32_t crc32_update_bytewise(uint32_t crc, const void *buf, size_t n);

#endif
