/*
 * runs.c — stores the recorder performs several to a stop (the run of
 * docs/record.md), and the read-modify-writes it performs itself, on a
 * MAP_SHARED mapping of FILE (3 pages).  tests/test_record.py checks the
 * trace event by event and compares what this program prints with a run
 * without the recorder.
 *
 *   1  mov r, mov imm, vmovdqu ymm, clwb, mov r32, sfence, add imm: one run
 *   2  a store to ordinary memory between two pmem stores
 *   3  8-byte stores across a page boundary, first and inside a run
 *   4  rep stosb across a page boundary, inside a run
 *   5  lock add (displaced step), then a store right after it
 *   6  add/sub/and/or/xor/inc/dec on pmem, 1/2/4/8 bytes, with the flags
 *      they leave (CF set before each: inc and dec must keep it)
 *   7  a second thread storing to the same page as the main thread
 *   8  a run that reaches a store to a read-only mapping of the file: the
 *      program gets its SIGSEGV
 */
#include <fcntl.h>
#include <immintrin.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ITER 200

static uint8_t *p;

#define FLAGS 0x8d5ul		/* OF SF ZF AF PF CF */

/* one ALU case: OP on SIZE bytes at p+OFF, from value A with operand B;
 * returns the arithmetic flags after it (pushf below the red zone) */
#define FL_OUT "\n\tlea -128(%%rsp), %%rsp\n\tpushfq\n\tpopq %1\n\tlea 128(%%rsp), %%rsp"
#define CASE2(MN, SUF, T, R)							\
__attribute__((noinline))							\
static uint64_t alu_##MN##SUF(unsigned off, uint64_t a, uint64_t b)		\
{										\
	T *m = (T *)(p + off);							\
	uint64_t f;								\
	*(volatile T *)m = (T)a;						\
	__asm__ volatile("stc\n\t" #MN #SUF " %" R "2, %0" FL_OUT		\
			 : "+m"(*m), "=r"(f) : "r"((T)b) : "cc", "memory");	\
	return f & FLAGS;							\
}
#define CASE1(MN, SUF, T)							\
__attribute__((noinline))							\
static uint64_t alu_##MN##SUF(unsigned off, uint64_t a, uint64_t b)		\
{										\
	T *m = (T *)(p + off);							\
	uint64_t f;								\
	(void)b;								\
	*(volatile T *)m = (T)a;						\
	__asm__ volatile("stc\n\t" #MN #SUF " %0" FL_OUT			\
			 : "+m"(*m), "=r"(f) : : "cc", "memory");		\
	return f & FLAGS;							\
}
#define SIZES2(MN) CASE2(MN, b, uint8_t, "b") CASE2(MN, w, uint16_t, "w") \
	CASE2(MN, l, uint32_t, "k") CASE2(MN, q, uint64_t, "q")
#define SIZES1(MN) CASE1(MN, b, uint8_t) CASE1(MN, w, uint16_t) \
	CASE1(MN, l, uint32_t) CASE1(MN, q, uint64_t)
SIZES2(add) SIZES2(sub) SIZES2(and) SIZES2(or) SIZES2(xor) SIZES1(inc) SIZES1(dec)

/* the same with an immediate operand (add $imm, m) */
#define CASEI(MN, SUF, T, IMM)							\
__attribute__((noinline))							\
static uint64_t alui_##MN##SUF(unsigned off, uint64_t a)			\
{										\
	T *m = (T *)(p + off);							\
	uint64_t f;								\
	*(volatile T *)m = (T)a;						\
	__asm__ volatile("stc\n\t" #MN #SUF " $" #IMM ", %0" FL_OUT		\
			 : "+m"(*m), "=r"(f) : : "cc", "memory");		\
	return f & FLAGS;							\
}
CASEI(add, b, uint8_t, 0x7f) CASEI(sub, w, uint16_t, 1) CASEI(and, l, uint32_t, -16)
CASEI(or, q, uint64_t, -1) CASEI(xor, q, uint64_t, 0x55)

typedef uint64_t (*alu_fn)(unsigned, uint64_t, uint64_t);

static const struct { const char *name; alu_fn fn; unsigned size; } alus[] = {
#define E(MN) { #MN "b", alu_##MN##b, 1 }, { #MN "w", alu_##MN##w, 2 }, \
	{ #MN "l", alu_##MN##l, 4 }, { #MN "q", alu_##MN##q, 8 }
	E(add), E(sub), E(and), E(or), E(xor), E(inc), E(dec),
#undef E
};

static const uint64_t vals[][2] = {
	{ 0, 0 }, { 1, 1 }, { 0x7f, 1 }, { 0xff, 1 }, { 0x7fff, 1 }, { 0xffff, 0xffff },
	{ 0x7fffffff, 1 }, { 0xffffffff, 1 }, { 0x7fffffffffffffff, 1 },
	{ 0xffffffffffffffff, 1 }, { 0x8000000000000000, 0x8000000000000000 },
	{ 0x0f, 0x01 }, { 0x10, 0x01 }, { 0x1234, 0x5678 }, { 0x80, 0x7f },
};

static sigjmp_buf jb;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(jb, 1);
}

static void *worker(void *arg)
{
	(void)arg;
	for (uint64_t i = 1; i <= ITER; i++) {
		__asm__ volatile("movq %1, %0\n\tclwb %0\n\tsfence"
				 : "=m"(*(uint64_t *)(p + 8192)) : "r"(i) : "memory");
	}
	return NULL;
}

__attribute__((target("avx2,clwb")))
int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, 3 * 4096))
		return 2;
	p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 2;
	uint64_t a = 0x1111111111111111, b = 0x2222222222222222;
	volatile uint64_t local = 0;

	/* 1 */
	__m256i y = _mm256_set1_epi8(0x33);
	__asm__ volatile("movq %[a], 0(%[p])\n\t"
			 "movq $0x22, 8(%[p])\n\t"
			 "vmovdqu %[y], 32(%[p])\n\t"
			 "clwb 0(%[p])\n\t"
			 "movl %k[a], 64(%[p])\n\t"
			 "sfence\n\t"
			 "addq $5, 8(%[p])"
			 : : [p] "r"(p), [a] "r"(a), [y] "x"(y) : "memory", "cc");
	/* 2 */
	__asm__ volatile("movq %[a], 128(%[p])\n\t"
			 "movq %[b], (%[l])\n\t"
			 "movq %[b], 136(%[p])"
			 : : [p] "r"(p), [a] "r"(a), [b] "r"(b), [l] "r"(&local) : "memory");
	/* 3 */
	__asm__ volatile("movq %[a], 4092(%[p])\n\t"
			 "movq %[b], 8188(%[p])"
			 : : [p] "r"(p), [a] "r"(a), [b] "r"(b) : "memory");
	/* 4 */
	void *d = p + 4000;
	size_t n = 200;
	__asm__ volatile("movq %[a], 192(%[p])\n\t"
			 "rep stosb"
			 : "+D"(d), "+c"(n) : [p] "r"(p), [a] "r"(a), "a"(0x5a) : "memory");
	/* 5 */
	__asm__ volatile("lock addq $3, 256(%[p])\n\t"
			 "movq %[a], 264(%[p])"
			 : : [p] "r"(p), [a] "r"(a) : "memory", "cc");
	printf("%lx %lx %02x%02x %lx %lx %lx %lx %lx\n", (unsigned long)*(uint64_t *)(p + 8),
	       (unsigned long)local, p[4000], p[4199], (unsigned long)*(uint64_t *)(p + 4092),
	       (unsigned long)*(uint64_t *)(p + 8188), (unsigned long)*(uint64_t *)(p + 256),
	       (unsigned long)((uint8_t *)d - p), (unsigned long)n);
	/* 6 */
	unsigned off = 512;
	for (size_t i = 0; i < sizeof(alus) / sizeof(alus[0]); i++) {
		printf("%s", alus[i].name);
		for (size_t j = 0; j < sizeof(vals) / sizeof(vals[0]); j++) {
			uint64_t f = alus[i].fn(off, vals[j][0], vals[j][1]);
			uint64_t v = 0;
			memcpy(&v, p + off, alus[i].size);
			printf(" %lx/%03lx", (unsigned long)v, (unsigned long)f);
			off = 512 + (off - 512 + 8) % 2048;
		}
		printf("\n");
	}
	uint64_t fi[5] = { alui_addb(3000, 0x81), alui_subw(3008, 0), alui_andl(3016, 0x1234567f),
			   alui_orq(3024, 5), alui_xorq(3032, 0x55) };
	printf("imm %lx %lx %lx %lx %lx\n", (unsigned long)fi[0], (unsigned long)fi[1],
	       (unsigned long)fi[2], (unsigned long)fi[3], (unsigned long)fi[4]);
	/* 7 */
	pthread_t th;
	pthread_create(&th, NULL, worker, NULL);
	for (uint64_t i = 1; i <= ITER; i++)
		__asm__ volatile("movq %[i], 8256(%[p])\n\t"
				 "movq %[i], 8264(%[p])"
				 : : [p] "r"(p), [i] "r"(i) : "memory");
	pthread_join(th, NULL);
	printf("threads %lx %lx\n", (unsigned long)*(uint64_t *)(p + 8192),
	       (unsigned long)*(uint64_t *)(p + 8256));
	/* 8 */
	uint8_t *ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 4096);
	if (ro == MAP_FAILED)
		return 2;
	signal(SIGSEGV, on_segv);
	if (!sigsetjmp(jb, 1)) {
		__asm__ volatile("movq %[a], 320(%[p])\n\t"
				 "movq %[a], 8(%[ro])"
				 : : [p] "r"(p), [ro] "r"(ro), [a] "r"(a) : "memory");
		printf("read-only: no fault\n");
	} else {
		printf("read-only: SIGSEGV\n");
	}
	return 0;
}
