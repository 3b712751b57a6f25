/*
 * rec_int.h — the recorder's private structures, shared by record.c (the
 * tracer loop and the system calls), rec_code.c (ELF files, symbols,
 * breakpoints, instruction decoding) and rec_store.c (pmem mappings, the
 * store faults and the flush and fence breakpoints).
 *
 * Invariants:
 *   - Every pmem mapping (struct rec_pmap) of a traced address space is
 *     mapped without PROT_WRITE in the tracee for its whole life: every
 *     instruction that writes to it faults (or, in a run, is performed
 *     before the CPU reaches it), and the recorder performs the write
 *     itself (rec_store.c, R2-R4).  `prot` is what the program asked for.
 *   - The decode cache (rec_as.insns) holds only instructions of code
 *     mapped now: it is emptied when an executable mapping goes away.
 *   - Every flush or fence instruction of every ELF object mapped
 *     executable in a traced address space carries an int3 (rec_code.c,
 *     R5) whose original byte is in the address space's breakpoint table.
 *   - Threads of one process share one struct rec_as; a fork gets a copy.
 */
#ifndef POWERCUT_REC_INT_H
#define POWERCUT_REC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/user.h>

#include "../../traces/trace.h"

#define REC_MAX_PMEM	16
#define REC_SLOT	(64ull << 30)	/* namespace slot of each pmem file */
#define REC_LINE	64

enum rec_layer { REC_LAYER_CPU, REC_LAYER_FILE };

/* A persistent-memory file: a --pmem PATH, or a file mapped MAP_SYNC. */
struct rec_file {
	char *path;			/* canonical absolute path */
	int fd;				/* the recorder's own O_RDWR fd, or -1 */
	uint64_t base;			/* namespace offset (CPU layer) */
	uint64_t extent;		/* bytes of the namespace it uses */
	uint64_t size;			/* its size, as last seen */
	bool seen;			/* initial contents recorded */
};

/* A pmem mapping in one address space. */
struct rec_pmap {
	uint64_t start, end;		/* page aligned */
	uint64_t off;			/* file offset of start */
	int prot;			/* what the program asked for */
	bool shared;			/* MAP_SHARED (else private: refused) */
	struct rec_file *file;
};

/* Kinds of breakpoint sites (R5). */
enum rec_site_kind {
	REC_SITE_CLFLUSH = 1,
	REC_SITE_CLFLUSHOPT,
	REC_SITE_CLWB,
	REC_SITE_SFENCE,
	REC_SITE_MFENCE,
	REC_SITE_PCOMMIT,
};

/* A memory operand, as capstone describes it. */
struct rec_mem {
	uint16_t seg, base, index;	/* capstone x86_reg, 0 = none */
	int8_t scale;
	int64_t disp;
};

struct rec_site {
	uint64_t vaddr;			/* link-time address in the object */
	uint8_t kind;			/* enum rec_site_kind */
	uint8_t len;			/* instruction length */
	struct rec_mem mem;		/* flushes: the line's address */
};

struct rec_sym {
	uint64_t addr, size;
	uint32_t idx;			/* in the object's symbol table */
	const char *name;		/* into the object's mapped image */
};

/* An ELF object with code, read once per recording and cached by path. */
struct rec_obj {
	char *path;
	const char *base;		/* basename */
	uint8_t *image;			/* the whole file, mapped read-only */
	size_t size;
	struct rec_seg { uint64_t vaddr, off, filesz; uint32_t flags; } *seg;
	size_t nseg;
	void *elf;			/* libelf's Elf of image, or NULL */
	size_t nph;			/* program headers */
	struct rec_sym *syms;		/* functions; loaded on first use, sorted
					 * by (addr, idx) after SYM_SCANS lookups */
	size_t nsyms, sym_lookups;
	bool syms_loaded, syms_sorted, starts_loaded;
	uint64_t *starts;		/* .eh_frame_hdr entries, sorted; loaded
					 * for the first candidate site */
	size_t nstarts;
	struct rec_site *sites;		/* sorted by vaddr */
	size_t nsites;
	bool bad;			/* not an x86-64 ELF: no sites, no symbols */
	struct rec_obj *next;
};

/* An executable mapping of an object. */
struct rec_cmap {
	uint64_t start, end, bias;	/* runtime = link-time + bias */
	struct rec_obj *obj;
	bool main;			/* the program itself */
};

struct rec_bp {
	uint64_t addr;			/* 0: empty slot */
	uint8_t orig;			/* the byte the int3 replaced */
	const struct rec_site *site;
};

/* A decoded instruction that wrote to pmem (R2), cached by address. */
enum rec_insn_kind {
	REC_INSN_NONE = 0,
	REC_INSN_MOV_GPR,		/* mov m, r8..r64 */
	REC_INSN_MOV_IMM,		/* mov m, imm */
	REC_INSN_MOV_VEC,		/* (v)mov* m, xmm/ymm/zmm, unmasked */
	REC_INSN_STRING,		/* (rep) movs / stos */
	REC_INSN_MOVDIR64B,		/* movdir64b r, m512 */
	REC_INSN_ALU,			/* add/sub/and/or/xor m, r/imm; inc/dec m */
	REC_INSN_STEP,			/* anything else: displaced single step */
	REC_INSN_BAD,			/* cannot be recorded */
};

/* The operation of a REC_INSN_ALU. */
enum rec_alu { REC_ALU_ADD = 1, REC_ALU_SUB, REC_ALU_AND, REC_ALU_OR, REC_ALU_XOR,
	       REC_ALU_INC, REC_ALU_DEC };

struct rec_insn {
	uint64_t addr;			/* 0: empty slot */
	uint8_t kind;			/* enum rec_insn_kind */
	uint8_t alu;			/* enum rec_alu */
	uint8_t len;
	uint8_t size;			/* bytes written (string: element) */
	bool nt;			/* a non-temporal store */
	bool locked;			/* lock prefix, or xchg with memory */
	bool rep;			/* rep prefix (string) */
	bool movs;			/* string: movs (else stos) */
	uint16_t reg;			/* source register (capstone id), 0: imm */
	int64_t imm;
	struct rec_mem mem;
	char text[48];			/* for messages */
};

struct rec_as {
	int refs;
	pid_t pid;			/* a task of it, for /proc */
	int memfd;			/* /proc/PID/mem, or -1 */
	struct rec_pmap *pmaps;
	size_t npmaps, cappmaps;
	struct rec_cmap *cmaps;
	size_t ncmaps, capcmaps;
	struct rec_bp *bps;		/* open addressing, power-of-two cap */
	size_t nbps, capbps;
	struct rec_insn *insns;		/* decode cache, power-of-two cap */
	size_t capinsns;
};

/* An open file description. */
struct rec_ofd {
	int refs;
	int tfd;			/* fd number in the trace */
	char *path;
	struct rec_file *pmem;		/* non-NULL for a pmem file */
	bool append;
};

struct rec_fdt {
	int refs;
	struct rec_ofd **fd;		/* by fd number */
	int cap;
};

struct rec_task {
	pid_t tid;
	struct rec_as *as;
	struct rec_fdt *fdt;
	int cpu;			/* cpu= in the trace, -1 until needed */
	bool attached;			/* its first stop has been seen */
	bool in_syscall;		/* between the seccomp stop and the exit */
	bool pending;			/* CPU events since its last fence */
	long nr;			/* the system call in progress */
	uint64_t arg[6];
	uint64_t aux;			/* state kept from entry to exit */
	char *saved;			/* a path resolved at entry */
	uint64_t caller_stop;		/* rec_sym's cache: the stop number, */
	uint64_t caller_rsp;		/*   the rsp, */
	char caller[200];		/*   and the caller found ("" if none) */
	struct rec_task *next;
};

struct rec_stats {
	uint64_t stores, ntstores, rmws, flushes, fences, file_events;
	uint64_t faults, emulated, stepped, breakpoints, sites;
	uint64_t followed;		/* instructions and sites done in a run */
};

struct rec {
	enum rec_layer layer;
	FILE *body;			/* the events (a temporary file) */
	struct rec_file pmem[REC_MAX_PMEM];
	int npmem;
	struct rec_obj *objs;
	struct rec_task *tasks;
	pid_t child;			/* the program's first process */
	int ncpus;			/* cpu= numbers handed out */
	int next_tfd;
	struct rec_stats st;
	uint64_t stops;			/* ptrace stops seen, from 1 */
	bool failed;			/* a fatal error: message printed */
	bool warned_locked, warned_sysbuf, warned_private, warned_unsupported;
	size_t xsave_off[8], xsave_size;/* XSAVE component offsets (CPUID 0xD);
					 * size 0 until the first vector store */
};

/* ---- record.c ---- */
void rec_emit(struct rec *r, struct trace_event *ev);
void rec_fatal(struct rec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rec_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int rec_cpu_of(struct rec *r, struct rec_task *t);
int rec_read(pid_t pid, uint64_t addr, void *buf, size_t n);
int rec_write(pid_t pid, uint64_t addr, const void *buf, size_t n);

/* ---- rec_code.c ---- */
int rec_code_scan(struct rec *r, struct rec_task *t);		/* new exec mappings */
void rec_as_forget_code(struct rec_as *as);
bool rec_code_overlaps(const struct rec_as *as, uint64_t start, uint64_t end);
const struct rec_bp *rec_bp_find(const struct rec_as *as, uint64_t addr);
int rec_bp_copy(struct rec_as *dst, const struct rec_as *src);
void rec_sym(struct rec *r, struct rec_task *t, uint64_t rip, uint64_t rsp,
	     char *buf, size_t len);
const struct rec_insn *rec_decode(struct rec *r, struct rec_task *t, uint64_t rip);
void rec_code_free(struct rec *r);
size_t rec_insn_len(const uint8_t *p, size_t n);
uint64_t rec_reg(const struct user_regs_struct *regs, unsigned reg, unsigned *size);
int rec_set_reg64(struct user_regs_struct *regs, unsigned reg, uint64_t v);
uint64_t rec_ea(const struct user_regs_struct *regs, const struct rec_mem *m,
		uint64_t next_rip);

/* ---- rec_store.c ---- */
struct rec_pmap *rec_pmap_find(struct rec_as *as, uint64_t addr);
int rec_on_segv(struct rec *r, struct rec_task *t);	/* 1 handled, 0 not ours */
int rec_on_trap(struct rec *r, struct rec_task *t);	/* 1 breakpoint, 0 not ours */
void rec_fence_task(struct rec *r, struct rec_task *t, enum trace_op op,
		    const char *sym);
void rec_pmem_writes(struct rec *r, struct rec_task *t, struct rec_file *f,
		     uint64_t off, const uint8_t *data, size_t n, const char *sym);
void rec_pmem_initial(struct rec *r, struct rec_file *f);
uint64_t rec_ns_addr(const struct rec *r, const struct rec_pmap *m, uint64_t va);
void rec_xsave_init(struct rec *r);

#endif
