/*
 * vec_store.c — stores the recorder must see without libpmem: AVX and
 * AVX-512 non-temporal stores, SSE stores, rep movsb, rep stosq, a locked
 * add, clflushopt/clwb/sfence, on a MAP_SHARED mapping of FILE.
 */
#include <fcntl.h>
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

__attribute__((target("avx2,avx512f,clflushopt,clwb")))
int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, 8192))
		return 2;
	uint8_t *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 2;
	__m256i y = _mm256_set1_epi8(0x11);
	_mm256_stream_si256((__m256i *)(p + 0), y);		/* vmovntdq ymm */
	__m512i z = _mm512_set1_epi8(0x22);
	_mm512_stream_si512((__m512i *)(p + 64), z);		/* vmovntdq zmm */
	_mm_stream_si64((long long *)(p + 128), 0x3333333333333333LL);	/* movnti */
	_mm_sfence();
	_mm_storeu_si128((__m128i *)(p + 192), _mm_set1_epi8(0x44));	/* movdqu */
	char src[300];
	memset(src, 0x55, sizeof(src));
	void *d = p + 256, *s = src;
	size_t n = sizeof(src);
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	uint64_t v = 0x6666666666666666ULL;
	d = p + 1024;
	n = 16;
	__asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(v) : "memory");
	__atomic_fetch_add((uint64_t *)(p + 2048), 7, __ATOMIC_SEQ_CST);	/* lock xadd/add */
	_mm_clflushopt(p + 192);
	_mm_clwb(p + 256);
	_mm_sfence();
	printf("%02x %02x %02x\n", p[0], p[300], p[1024]);
	return 0;
}
