/*
 * rec_code.c — the code the recorder reads: ELF objects (libelf), their
 * symbols, the flush and fence instructions in them (capstone), the int3
 * breakpoints placed on those, and the decoding of the instructions that
 * fault on a pmem mapping.
 *
 * Method (the R numbers are those of the essay in record.c).
 *
 *   R5  Sites.  Every object mapped executable in a traced address space
 *       is mapped once and read with libelf.  Its executable sections are
 *       searched for the bytes 0F AE: every flush and fence instruction
 *       (clflush 0F AE /7, clflushopt 66 0F AE /7, clwb 66 0F AE /6,
 *       sfence 0F AE F8, mfence 0F AE F0, pcommit 66 0F AE F8) contains
 *       them.  A pair whose next byte cannot be one of those ModRM forms
 *       (lfence, fxsave, ldmxcsr, xsave: most of libc's and libcrypto's)
 *       is dropped at once (may_be_site).  Any other is only a candidate:
 *       the sweep decodes forward from the nearest known instruction start
 *       at or below it (a function symbol, or an .eh_frame_hdr entry, which
 *       stripped libraries keep for their static functions), or from the
 *       end of the previous decoded candidate, and the candidate is a site
 *       only if a decoded instruction with one of those opcodes covers it.
 *       So an int3 is never written into the middle of an instruction.
 *       The sweep measures instructions with rec_insn_len() (a table
 *       decoder of lengths only) and asks capstone for the instruction
 *       that covers the candidate and for any encoding the table leaves
 *       to it.  Measured on the development machine, for the 12 objects of
 *       tests/record/pmem_log (1,039 sites): 51 ms with capstone alone
 *       from symbol starts, 13 ms with the candidate filter and the
 *       .eh_frame_hdr starts, 2.5 ms with rec_insn_len() as well; the
 *       same sites, operands included, for all 2,979 ELF files of the
 *       machine's /usr/bin and /usr/lib.  The int3s are written a 64 KiB
 *       window at a time (place_bps).
 *   R6  Symbols.  .symtab if present, else .dynsym; functions only; read
 *       when first needed (sym_at).  An event's sym= is the program's own
 *       function (the nearest return address into the main executable
 *       found on the stack, when the instruction is in a library)
 *       followed by the library function.
 *
 * Notes:
 *   - Code that is not an ELF file mapping (JIT, code written at run time)
 *     is not searched: its flushes and fences would be missed.  The
 *     recorder says so when it sees an anonymous executable mapping.
 *   - A stripped library labels its internal functions by the nearest
 *     exported symbol only when it lies within that symbol's size;
 *     otherwise as OBJECT+0xADDR.
 */
#define _GNU_SOURCE
#include "rec_int.h"

#include <capstone/capstone.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static csh cs_handle;		/* with operand details: decoding stores, sites */
static csh cs_fast;		/* without: the sweep to a candidate (R5) */
static bool cs_ready;

static int cs_init(void)
{
	if (cs_ready)
		return 0;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs_handle) != CS_ERR_OK)
		return -1;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs_fast) != CS_ERR_OK) {
		cs_close(&cs_handle);
		return -1;
	}
	cs_option(cs_handle, CS_OPT_DETAIL, CS_OPT_ON);
	cs_ready = true;
	return 0;
}

/* ---- registers ---- */

struct regmap { uint16_t reg; uint8_t slot, size, shift; };

enum { S_RAX, S_RBX, S_RCX, S_RDX, S_RSI, S_RDI, S_RBP, S_RSP,
       S_R8, S_R9, S_R10, S_R11, S_R12, S_R13, S_R14, S_R15, S_RIP };

static const struct regmap regmap[] = {
	{ X86_REG_RAX, S_RAX, 8, 0 }, { X86_REG_EAX, S_RAX, 4, 0 }, { X86_REG_AX, S_RAX, 2, 0 },
	{ X86_REG_AL, S_RAX, 1, 0 }, { X86_REG_AH, S_RAX, 1, 8 },
	{ X86_REG_RBX, S_RBX, 8, 0 }, { X86_REG_EBX, S_RBX, 4, 0 }, { X86_REG_BX, S_RBX, 2, 0 },
	{ X86_REG_BL, S_RBX, 1, 0 }, { X86_REG_BH, S_RBX, 1, 8 },
	{ X86_REG_RCX, S_RCX, 8, 0 }, { X86_REG_ECX, S_RCX, 4, 0 }, { X86_REG_CX, S_RCX, 2, 0 },
	{ X86_REG_CL, S_RCX, 1, 0 }, { X86_REG_CH, S_RCX, 1, 8 },
	{ X86_REG_RDX, S_RDX, 8, 0 }, { X86_REG_EDX, S_RDX, 4, 0 }, { X86_REG_DX, S_RDX, 2, 0 },
	{ X86_REG_DL, S_RDX, 1, 0 }, { X86_REG_DH, S_RDX, 1, 8 },
	{ X86_REG_RSI, S_RSI, 8, 0 }, { X86_REG_ESI, S_RSI, 4, 0 }, { X86_REG_SI, S_RSI, 2, 0 },
	{ X86_REG_SIL, S_RSI, 1, 0 },
	{ X86_REG_RDI, S_RDI, 8, 0 }, { X86_REG_EDI, S_RDI, 4, 0 }, { X86_REG_DI, S_RDI, 2, 0 },
	{ X86_REG_DIL, S_RDI, 1, 0 },
	{ X86_REG_RBP, S_RBP, 8, 0 }, { X86_REG_EBP, S_RBP, 4, 0 }, { X86_REG_BP, S_RBP, 2, 0 },
	{ X86_REG_BPL, S_RBP, 1, 0 },
	{ X86_REG_RSP, S_RSP, 8, 0 }, { X86_REG_ESP, S_RSP, 4, 0 }, { X86_REG_SP, S_RSP, 2, 0 },
	{ X86_REG_SPL, S_RSP, 1, 0 },
	{ X86_REG_RIP, S_RIP, 8, 0 },
#define RN(n) { X86_REG_R##n, S_R##n, 8, 0 }, { X86_REG_R##n##D, S_R##n, 4, 0 }, \
	{ X86_REG_R##n##W, S_R##n, 2, 0 }, { X86_REG_R##n##B, S_R##n, 1, 0 }
	RN(8), RN(9), RN(10), RN(11), RN(12), RN(13), RN(14), RN(15),
#undef RN
};

static unsigned long long *reg_slot(struct user_regs_struct *r, unsigned slot)
{
	switch (slot) {
	case S_RAX: return &r->rax;
	case S_RBX: return &r->rbx;
	case S_RCX: return &r->rcx;
	case S_RDX: return &r->rdx;
	case S_RSI: return &r->rsi;
	case S_RDI: return &r->rdi;
	case S_RBP: return &r->rbp;
	case S_RSP: return &r->rsp;
	case S_R8: return &r->r8;
	case S_R9: return &r->r9;
	case S_R10: return &r->r10;
	case S_R11: return &r->r11;
	case S_R12: return &r->r12;
	case S_R13: return &r->r13;
	case S_R14: return &r->r14;
	case S_R15: return &r->r15;
	default: return &r->rip;
	}
}

static const struct regmap *reg_find(unsigned reg)
{
	for (size_t i = 0; i < sizeof(regmap) / sizeof(regmap[0]); i++)
		if (regmap[i].reg == reg)
			return &regmap[i];
	return NULL;
}

/* The value of general-purpose register REG (capstone id); *size its
 * width in bytes (0 if REG is not a general-purpose register). */
uint64_t rec_reg(const struct user_regs_struct *regs, unsigned reg, unsigned *size)
{
	const struct regmap *m = reg_find(reg);
	uint64_t v;

	if (!m) {
		if (size)
			*size = 0;
		return 0;
	}
	v = *reg_slot((struct user_regs_struct *)regs, m->slot) >> m->shift;
	if (m->size < 8)
		v &= (1ull << (8 * m->size)) - 1;
	if (size)
		*size = m->size;
	return v;
}

/* Set the whole 64-bit register holding REG.  0, or -1 if REG is not a
 * 64-bit general-purpose register. */
int rec_set_reg64(struct user_regs_struct *regs, unsigned reg, uint64_t v)
{
	const struct regmap *m = reg_find(reg);

	if (!m || m->size != 8 || m->slot == S_RIP)
		return -1;
	*reg_slot(regs, m->slot) = v;
	return 0;
}

uint64_t rec_ea(const struct user_regs_struct *regs, const struct rec_mem *m,
		uint64_t next_rip)
{
	uint64_t a = (uint64_t)m->disp;

	if (m->base == X86_REG_RIP)
		a += next_rip;
	else if (m->base)
		a += rec_reg(regs, m->base, NULL);
	if (m->index)
		a += rec_reg(regs, m->index, NULL) * (uint64_t)m->scale;
	if (m->seg == X86_REG_FS)
		a += regs->fs_base;
	else if (m->seg == X86_REG_GS)
		a += regs->gs_base;
	return a;
}

static void mem_from_cs(struct rec_mem *d, const cs_x86_op *op)
{
	d->seg = (uint16_t)op->mem.segment;
	d->base = (uint16_t)op->mem.base;
	d->index = (uint16_t)op->mem.index;
	d->scale = (int8_t)op->mem.scale;
	d->disp = op->mem.disp;
}

/* ---- objects (R5, R6) ---- */

/* By address; of several at one address, table order (the name pointers
 * into the string table do not say it: the index does). */
static int sym_cmp(const void *a, const void *b)
{
	const struct rec_sym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int site_cmp(const void *a, const void *b)
{
	const struct rec_site *x = a, *y = b;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static void load_symbols(struct rec_obj *o);

/*
 * The function symbol with the greatest address <= A (of several at one
 * address, the last in the table), or NULL.  The table is sorted only at
 * its 33rd lookup: until then a linear scan is cheaper (libc has 2,800
 * functions and a recording looks up a dozen; sorting them was 3% of it).
 */
#define SYM_SCANS 32
static const struct rec_sym *sym_at(struct rec_obj *o, uint64_t a)
{
	load_symbols(o);
	if (!o->syms_sorted && ++o->sym_lookups > SYM_SCANS) {
		if (o->nsyms > 1)
			qsort(o->syms, o->nsyms, sizeof(*o->syms), sym_cmp);
		o->syms_sorted = true;
	}
	if (!o->syms_sorted) {
		const struct rec_sym *best = NULL;
		for (size_t i = 0; i < o->nsyms; i++)
			if (o->syms[i].addr <= a && (!best || o->syms[i].addr >= best->addr))
				best = &o->syms[i];
		return best;
	}
	size_t lo = 0, hi = o->nsyms;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (o->syms[mid].addr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &o->syms[lo - 1] : NULL;
}

/* R6: the function symbols, on the first event or site search that needs
 * them (libcrypto has 5,000 and is rarely either). */
static void load_symbols(struct rec_obj *o)
{
	Elf *e = o->elf;
	Elf_Scn *scn = NULL;
	Elf_Scn *dyn = NULL, *tab = NULL;
	GElf_Shdr sh;
	size_t used = 0, cap = 0;

	if (o->syms_loaded || !e)
		return;
	o->syms_loaded = true;
	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			tab = scn;
		else if (sh.sh_type == SHT_DYNSYM)
			dyn = scn;
	}
	scn = tab ? tab : dyn;
	if (!scn || !gelf_getshdr(scn, &sh) || !sh.sh_entsize)
		return;
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n = sh.sh_size / sh.sh_entsize;
	if (!d)
		return;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym s;
		if (!gelf_getsym(d, (int)i, &s))
			continue;
		int type = GELF_ST_TYPE(s.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || !s.st_value)
			continue;
		const char *nm = elf_strptr(e, sh.sh_link, s.st_name);
		if (!nm || !*nm)
			continue;
		if (used == cap) {
			cap = cap ? 2 * cap : 256;
			o->syms = realloc(o->syms, cap * sizeof(*o->syms));
		}
		o->syms[used].addr = s.st_value;
		o->syms[used].size = s.st_size;
		o->syms[used].idx = (uint32_t)used;
		o->syms[used].name = nm;	/* in the mapped image */
		used++;
	}
	o->nsyms = used;
}

static int site_kind(unsigned id)
{
	switch (id) {
	case X86_INS_CLFLUSH: return REC_SITE_CLFLUSH;
	case X86_INS_CLFLUSHOPT: return REC_SITE_CLFLUSHOPT;
	case X86_INS_CLWB: return REC_SITE_CLWB;
	case X86_INS_SFENCE: return REC_SITE_SFENCE;
	case X86_INS_MFENCE: return REC_SITE_MFENCE;
	case X86_INS_PCOMMIT: return REC_SITE_PCOMMIT;
	default: return 0;
	}
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The nearest known instruction start at or below A, or 0. */
static void load_starts(struct rec_obj *o);

/* The nearest known instruction start at or below A (a function symbol
 * or an .eh_frame_hdr entry), or 0. */
static uint64_t start_at(struct rec_obj *o, uint64_t a)
{
	load_starts(o);
	size_t lo = 0, hi = o->nstarts;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (o->starts[mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint64_t f = lo ? o->starts[lo - 1] : 0;
	const struct rec_sym *s = sym_at(o, a);
	return s && s->addr > f ? s->addr : f;
}

/*
 * R5: the instruction starts the sweep may begin at: every function symbol
 * and every entry of the .eh_frame_hdr search table (the start of each
 * function or function part that has unwind information, which a stripped
 * library keeps for its static functions too).  Only the table encoding
 * that GNU ld and lld emit (udata4 count, datarel sdata4 pairs) is read;
 * any other leaves the symbols alone, which is slower, not less correct.
 * Loaded for the first candidate of an object: most libraries have none.
 */
static void load_starts(struct rec_obj *o)
{
	Elf *e = o->elf;
	const uint8_t *h = NULL;
	uint64_t hvaddr = 0, hsize = 0;
	uint32_t nfde = 0;

	if (o->starts_loaded || !e)
		return;
	o->starts_loaded = true;
	for (size_t i = 0; i < o->nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_GNU_EH_FRAME &&
		    ph.p_offset + ph.p_filesz <= o->size) {
			h = o->image + ph.p_offset;
			hvaddr = ph.p_vaddr;
			hsize = ph.p_filesz;
		}
	}
	/* version 1; eh_frame_ptr: 4 bytes (sdata4/udata4, any base) or
	 * omitted; count udata4; table datarel|sdata4 */
	size_t ptrsz = h && hsize >= 4 ? ((h[1] & 0x0f) == 0x03 || (h[1] & 0x0f) == 0x0b ? 4 :
					    h[1] == 0xff ? 0 : 99) : 99;
	if (h && ptrsz != 99 && h[0] == 1 && h[2] == 0x03 && h[3] == 0x3b &&
	    hsize >= 8 + ptrsz) {
		memcpy(&nfde, h + 4 + ptrsz, 4);
		if (nfde > (hsize - 8 - ptrsz) / 8)
			nfde = 0;
	}
	o->starts = malloc((nfde ? nfde : 1) * sizeof(*o->starts));
	bool sorted = true;
	for (uint32_t i = 0; i < nfde; i++) {
		int32_t v;
		memcpy(&v, h + 8 + ptrsz + 8 * (size_t)i, 4);
		o->starts[i] = hvaddr + (uint64_t)(int64_t)v;
		sorted &= i == 0 || o->starts[i] >= o->starts[i - 1];
	}
	if (!sorted)	/* the table is sorted for binary search; if not, sort */
		qsort(o->starts, nfde, sizeof(*o->starts), u64_cmp);
	o->nstarts = nfde;
}

/*
 * Could the 0F AE at B (with at least one byte after it) be the opcode of
 * a flush or fence?  If it is an opcode at all, the ModRM byte follows:
 * sfence and pcommit are F8, mfence F0; clflush and clflushopt are /7,
 * clwb /6, with a memory operand.  Anything else (lfence E8, fxsave,
 * ldmxcsr, xsave /0../5, rdfsbase, ...) is not one of ours, wherever the
 * instruction boundaries are, so it needs no decoding.
 */
static bool may_be_site(const uint8_t *b)
{
	unsigned m = b[2];

	if (m >> 6 == 3)
		return m == 0xf8 || m == 0xf0;
	return ((m >> 3) & 7) >= 6;
}

/*
 * The length of the x86-64 instruction at P (N bytes readable), from the
 * opcode maps of the Intel SDM (vol. 2, appendix A), for the sweep of
 * find_sites(): about 20 times faster than capstone, which decoded 24,000
 * instructions of libpmem to find its thousand sites in 5 ms.  Returns 0
 * for anything outside the common encodings (invalid or rare opcodes,
 * XOP, 3DNow!, a near branch with a 66 prefix, REX before a prefix, ...):
 * the caller then asks capstone.  tests/record/lencheck.c compares it with
 * capstone instruction by instruction over whole libraries.
 */
enum { L_X, L_N, L_M, L_MB, L_MZ, L_B, L_Z, L_W, L_SP };
static const uint8_t len1[256] = {		/* one-byte opcode map */
	/* 0x00 */ L_M, L_M, L_M, L_M, L_B, L_Z, L_X, L_X, L_M, L_M, L_M, L_M, L_B, L_Z, L_X, L_X,
	/* 0x10 */ L_M, L_M, L_M, L_M, L_B, L_Z, L_X, L_X, L_M, L_M, L_M, L_M, L_B, L_Z, L_X, L_X,
	/* 0x20 */ L_M, L_M, L_M, L_M, L_B, L_Z, L_X, L_X, L_M, L_M, L_M, L_M, L_B, L_Z, L_X, L_X,
	/* 0x30 */ L_M, L_M, L_M, L_M, L_B, L_Z, L_X, L_X, L_M, L_M, L_M, L_M, L_B, L_Z, L_X, L_X,
	/* 0x40 */ L_X, L_X, L_X, L_X, L_X, L_X, L_X, L_X, L_X, L_X, L_X, L_X, L_X, L_X, L_X, L_X,
	/* 0x50 */ L_N, L_N, L_N, L_N, L_N, L_N, L_N, L_N, L_N, L_N, L_N, L_N, L_N, L_N, L_N, L_N,
	/* 0x60 */ L_X, L_X, L_X, L_M, L_X, L_X, L_X, L_X, L_Z, L_MZ, L_B, L_MB, L_N, L_N, L_N, L_N,
	/* 0x70 */ L_B, L_B, L_B, L_B, L_B, L_B, L_B, L_B, L_B, L_B, L_B, L_B, L_B, L_B, L_B, L_B,
	/* 0x80 */ L_MB, L_MZ, L_X, L_MB, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_SP,
	/* 0x90 */ L_N, L_N, L_N, L_N, L_N, L_N, L_N, L_N, L_N, L_N, L_X, L_N, L_N, L_N, L_N, L_N,
	/* 0xa0 */ L_SP, L_SP, L_SP, L_SP, L_N, L_N, L_N, L_N, L_B, L_Z, L_N, L_N, L_N, L_N, L_N, L_N,
	/* 0xb0 */ L_B, L_B, L_B, L_B, L_B, L_B, L_B, L_B, L_SP, L_SP, L_SP, L_SP, L_SP, L_SP, L_SP, L_SP,
	/* 0xc0 */ L_MB, L_MB, L_W, L_N, L_X, L_X, L_SP, L_SP, L_SP, L_N, L_W, L_N, L_N, L_B, L_X, L_N,
	/* 0xd0 */ L_M, L_M, L_M, L_M, L_X, L_X, L_X, L_N, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M,
	/* 0xe0 */ L_B, L_B, L_B, L_B, L_B, L_B, L_B, L_B, L_SP, L_SP, L_X, L_B, L_N, L_N, L_N, L_N,
	/* 0xf0 */ L_X, L_N, L_X, L_X, L_N, L_N, L_SP, L_SP, L_N, L_N, L_N, L_N, L_N, L_N, L_SP, L_SP,
};
static const uint8_t len2[256] = {		/* two-byte map, 0F xx */
	/* 0x00 */ L_M, L_M, L_M, L_M, L_X, L_N, L_N, L_N, L_N, L_N, L_X, L_N, L_X, L_M, L_X, L_X,
	/* 0x10 */ L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M,
	/* 0x20 */ L_X, L_X, L_X, L_X, L_X, L_X, L_X, L_X, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M,
	/* 0x30 */ L_N, L_N, L_N, L_N, L_N, L_N, L_X, L_N, L_X, L_X, L_X, L_X, L_X, L_X, L_X, L_X,
	/* 0x40 */ L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M,
	/* 0x50 */ L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M,
	/* 0x60 */ L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M,
	/* 0x70 */ L_MB, L_MB, L_MB, L_MB, L_M, L_M, L_M, L_N, L_SP, L_SP, L_X, L_X, L_M, L_M, L_M, L_M,
	/* 0x80 */ L_SP, L_SP, L_SP, L_SP, L_SP, L_SP, L_SP, L_SP, L_SP, L_SP, L_SP, L_SP, L_SP, L_SP, L_SP, L_SP,
	/* 0x90 */ L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M,
	/* 0xa0 */ L_N, L_N, L_N, L_M, L_MB, L_M, L_X, L_X, L_N, L_N, L_N, L_M, L_MB, L_M, L_M, L_M,
	/* 0xb0 */ L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_SP, L_X, L_MB, L_M, L_M, L_M, L_M, L_M,
	/* 0xc0 */ L_M, L_M, L_MB, L_M, L_MB, L_MB, L_MB, L_M, L_N, L_N, L_N, L_N, L_N, L_N, L_N, L_N,
	/* 0xd0 */ L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M,
	/* 0xe0 */ L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M,
	/* 0xf0 */ L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_M, L_X,
};

static bool is_legacy_prefix(uint8_t b)
{
	return b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x2e ||
	       b == 0x36 || b == 0x3e || b == 0x26 || b == 0x64 || b == 0x65;
}

size_t rec_insn_len(const uint8_t *p, size_t n)
{
	size_t i = 0, imm = 0;
	bool p66 = false, p67 = false, pf2 = false, pf3 = false, lock = false;
	bool rex = false, rexw = false;
	bool modrm = true;
	unsigned kind, op;

	for (; i < n && is_legacy_prefix(p[i]); i++) {
		p66 |= p[i] == 0x66;
		p67 |= p[i] == 0x67;
		pf2 |= p[i] == 0xf2;
		pf3 |= p[i] == 0xf3;
		lock |= p[i] == 0xf0;
	}
	if (i >= n || lock)
		return 0;	/* lock: capstone checks that it is allowed */
	if ((p[i] & 0xf0) == 0x40) {
		rex = true;
		rexw = p[i] & 8;
		if (++i >= n || is_legacy_prefix(p[i]) || (p[i] & 0xf0) == 0x40)
			return 0;	/* an ignored REX: rare, capstone's */
	}
	uint8_t b = p[i++];
	if (b == 0xc4 || b == 0xc5 || b == 0x62) {
		/* VEX and EVEX (always, in 64-bit mode) */
		unsigned map;
		size_t pay = b == 0xc5 ? 1 : b == 0xc4 ? 2 : 3;
		if (p66 || pf2 || pf3 || lock || rex || n - i < pay + 2)
			return 0;	/* #UD, or too short */
		if (b == 0xc5)
			map = 1;
		else if (b == 0xc4)
			map = p[i] & 0x1f;
		else if ((p[i] & 0x08) || !(p[i + 1] & 0x04))
			return 0;	/* not AVX-512's EVEX */
		else
			map = p[i] & 0x07;
		i += pay;
		op = p[i++];
		if (map == 1) {
			if (op == 0x77) {
				if (b == 0x62)
					return 0;
				modrm = false;	/* vzeroupper, vzeroall */
			}
			imm = (op >= 0x70 && op <= 0x73) || op == 0xc2 || (op >= 0xc4 && op <= 0xc6);
		} else if (map == 2) {
			imm = 0;
		} else if (map == 3) {
			imm = 1;
		} else {
			return 0;
		}
		kind = modrm ? L_M : L_N;
	} else if (b == 0x0f) {
		if (i >= n)
			return 0;
		op = p[i++];
		if (op == 0x38 || op == 0x3a) {
			if (i >= n)
				return 0;
			i++;
			kind = L_M;
			imm = op == 0x3a;
		} else {
			kind = len2[op];
			if (kind == L_SP) {
				if (op >= 0x80 && op <= 0x8f) {	/* jcc rel32 */
					if (p66)
						return 0;
					kind = L_N;
					imm = 4;
				} else if (op == 0x78 || op == 0x79) {	/* vmread/vmwrite */
					if (p66 || pf2)
						return 0;
					kind = L_M;
				} else if (op == 0xb8 && pf3) {	/* popcnt */
					kind = L_M;
				} else {
					return 0;
				}
			}
		}
	} else {
		op = b;
		kind = len1[op];
		if (kind == L_SP) {
			if (op >= 0xa0 && op <= 0xa3) {		/* mov moffs */
				kind = L_N;
				imm = p67 ? 4 : 8;
			} else if (op >= 0xb8 && op <= 0xbf) {	/* mov r, imm */
				kind = L_N;
				imm = rexw ? 8 : p66 ? 2 : 4;
			} else if (op == 0xc8) {		/* enter iw, ib */
				kind = L_N;
				imm = 3;
			} else if (op == 0xe8 || op == 0xe9) {	/* call/jmp rel32 */
				if (p66)
					return 0;
				kind = L_N;
				imm = 4;
			} else {
				kind = L_M;	/* a group: decided by ModRM.reg below */
			}
		}
	}
	switch (kind) {
	case L_X: return 0;
	case L_N: modrm = false; break;
	case L_M: modrm = true; break;
	case L_MB: modrm = true; imm = 1; break;
	case L_MZ: modrm = true; imm = p66 && !rexw ? 2 : 4; break;
	case L_B: modrm = false; imm = 1; break;
	case L_Z: modrm = false; imm = p66 && !rexw ? 2 : 4; break;
	case L_W: modrm = false; imm = 2; break;
	default: return 0;
	}
	if (modrm) {
		if (i >= n)
			return 0;
		uint8_t m = p[i++];
		unsigned mod = m >> 6, rm = m & 7, reg = (m >> 3) & 7;
		if (mod == 3 && b == 0x8d)
			return 0;	/* lea of a register: #UD */
		if (mod != 3) {
			if (rm == 4) {
				if (i >= n)
					return 0;
				if (mod == 0 && (p[i] & 7) == 5)
					i += 4;
				i++;
			} else if (mod == 0 && rm == 5) {
				i += 4;
			}
			i += mod == 1 ? 1 : mod == 2 ? 4 : 0;
		}
		if (b != 0x0f && b != 0xc4 && b != 0xc5 && b != 0x62 && len1[op] == L_SP) {
			switch (op) {
			case 0x8f:		/* pop r/m; else XOP */
			case 0xfe:		/* inc, dec */
				if (reg > (op == 0xfe ? 1u : 0u))
					return 0;
				break;
			case 0xff:
				if (reg == 7)
					return 0;
				break;
			case 0xf6:		/* test ib; not, neg, mul, ... */
			case 0xf7:
				if (reg == 1)
					return 0;
				if (reg == 0)
					imm = op == 0xf6 ? 1 : p66 && !rexw ? 2 : 4;
				break;
			case 0xc6:		/* mov ib; xabort */
			case 0xc7:		/* mov iz; xbegin */
				if (reg != 0 && m != 0xf8)
					return 0;
				imm = op == 0xc6 ? 1 : p66 && !rexw ? 2 : 4;
				break;
			default:
				return 0;
			}
		}
	}
	i += imm;
	return i <= 15 && i <= n ? i : 0;
}

/* R5: the flush and fence instructions of one executable section. */
static void find_sites(struct rec_obj *o, const uint8_t *code, size_t size, uint64_t vaddr,
		       size_t *cap)
{
	cs_insn *insn = cs_malloc(cs_fast), *full = cs_malloc(cs_handle);
	uint64_t pos = vaddr;		/* a known instruction boundary */

	/* 0xAE is a much rarer byte than 0x0F: memchr for it, look back
	 * (memchr for 0x0F was 12% of a recording's CPU samples, for 0xAE 3%) */
	for (size_t i = 0; i + 2 < size; i++) {
		const uint8_t *f = memchr(code + i + 1, 0xae, size - 2 - i);
		if (!f)
			break;
		i = (size_t)(f - code) - 1;
		if (code[i] != 0x0f || !may_be_site(code + i))
			continue;
		uint64_t c = vaddr + i;
		if (c < pos)
			continue;	/* inside an instruction already decoded */
		uint64_t s = start_at(o, c);
		uint64_t start = s > pos ? s : pos;
		/* decode forward to the instruction covering c */
		const uint8_t *p = code + (start - vaddr);
		size_t left = size - (start - vaddr);
		uint64_t a = start;
		while (a <= c) {
			size_t len = rec_insn_len(p, left);
			if (len && a + len <= c) {
				p += len, left -= len, a += len;
				pos = a;
				continue;
			}
			/* the instruction covering c, or one rec_insn_len()
			 * leaves to capstone */
			const uint8_t *q = p;
			size_t l = left;
			uint64_t aa = a;
			if (!cs_disasm_iter(cs_fast, &q, &l, &aa, insn)) {
				/* capstone 4 does not know it (kmovq, movdir64b,
				 * ...), but it knows every flush and fence: step
				 * over it whole if the table can, else byte by byte */
				if (!len) {
					p++, left--, a++;
					continue;
				}
				p += len, left -= len, a += len;
				pos = a;
				continue;
			}
			if (a + insn->size > c) {
				int k = site_kind(insn->id);
				q = p, l = left, aa = a;
				if (k && cs_disasm_iter(cs_handle, &q, &l, &aa, full)) {
					if (o->nsites == *cap) {
						*cap = *cap ? 2 * *cap : 64;
						o->sites = realloc(o->sites, *cap * sizeof(*o->sites));
					}
					struct rec_site *st = &o->sites[o->nsites++];
					memset(st, 0, sizeof(*st));
					st->vaddr = a;
					st->kind = (uint8_t)k;
					st->len = (uint8_t)full->size;
					for (int j = 0; j < full->detail->x86.op_count; j++)
						if (full->detail->x86.operands[j].type == X86_OP_MEM)
							mem_from_cs(&st->mem, &full->detail->x86.operands[j]);
				}
				pos = a + insn->size;
				break;
			}
			p = q, left = l, a = aa;
			pos = a;
		}
	}
	cs_free(insn, 1);
	cs_free(full, 1);
}

static struct rec_obj *obj_load(struct rec *r, const char *path)
{
	struct rec_obj *o;
	int fd;
	struct stat st;
	Elf *e = NULL;
	size_t cap = 0;

	for (o = r->objs; o; o = o->next)
		if (!strcmp(o->path, path))
			return o;
	o = calloc(1, sizeof(*o));
	o->path = strdup(path);
	o->base = strrchr(o->path, '/') ? strrchr(o->path, '/') + 1 : o->path;
	o->next = r->objs;
	r->objs = o;
	o->bad = true;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || st.st_size <= 0)
		goto out;
	/* mapped, not read: only the headers, the symbols and the code
	 * around candidates are ever touched (libcrypto is 4.7 MB) */
	o->image = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (o->image == MAP_FAILED) {
		o->image = NULL;
		goto out;
	}
	o->size = (size_t)st.st_size;
	if (cs_init())
		goto out;
	e = elf_memory((char *)o->image, o->size);
	if (!e || elf_kind(e) != ELF_K_ELF || gelf_getclass(e) != ELFCLASS64)
		goto out;
	GElf_Ehdr eh;
	if (!gelf_getehdr(e, &eh) || eh.e_machine != EM_X86_64)
		goto out;
	size_t nph;
	if (elf_getphdrnum(e, &nph))
		goto out;
	o->seg = calloc(nph ? nph : 1, sizeof(*o->seg));
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		o->seg[o->nseg].vaddr = ph.p_vaddr;
		o->seg[o->nseg].off = ph.p_offset;
		o->seg[o->nseg].filesz = ph.p_filesz;
		o->seg[o->nseg].flags = ph.p_flags;
		o->nseg++;
	}
	o->nph = nph;
	o->elf = e;	/* kept for load_symbols() and load_starts() */
	e = NULL;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(o->elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR) || sh.sh_offset + sh.sh_size > o->size)
			continue;
		find_sites(o, o->image + sh.sh_offset, sh.sh_size, sh.sh_addr, &cap);
	}
	if (o->nsites)
		qsort(o->sites, o->nsites, sizeof(*o->sites), site_cmp);
	o->bad = false;
out:
	if (e)
		elf_end(e);
	if (fd >= 0)
		close(fd);
	return o;
}

/* ---- breakpoints ---- */

static uint64_t hash64(uint64_t a)
{
	a ^= a >> 33;
	a *= 0xff51afd7ed558ccdULL;
	a ^= a >> 33;
	return a;
}

static void bp_insert(struct rec_as *as, uint64_t addr, uint8_t orig, const struct rec_site *s);

static void bp_grow(struct rec_as *as)
{
	struct rec_bp *old = as->bps;
	size_t oldcap = as->capbps;

	as->capbps = oldcap ? 2 * oldcap : 1024;
	as->bps = calloc(as->capbps, sizeof(*as->bps));
	as->nbps = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].addr)
			bp_insert(as, old[i].addr, old[i].orig, old[i].site);
	free(old);
}

static void bp_insert(struct rec_as *as, uint64_t addr, uint8_t orig, const struct rec_site *s)
{
	if (2 * (as->nbps + 1) > as->capbps)
		bp_grow(as);
	size_t m = as->capbps - 1, i = hash64(addr) & m;
	while (as->bps[i].addr && as->bps[i].addr != addr)
		i = (i + 1) & m;
	if (!as->bps[i].addr)
		as->nbps++;
	as->bps[i].addr = addr;
	as->bps[i].orig = orig;
	as->bps[i].site = s;
}

const struct rec_bp *rec_bp_find(const struct rec_as *as, uint64_t addr)
{
	if (!as->capbps)
		return NULL;
	size_t m = as->capbps - 1, i = hash64(addr) & m;
	while (as->bps[i].addr) {
		if (as->bps[i].addr == addr)
			return &as->bps[i];
		i = (i + 1) & m;
	}
	return NULL;
}

/* Remove every breakpoint in [start, end) from the table (the memory is
 * gone, or is about to be). */
static void bp_forget_range(struct rec_as *as, uint64_t start, uint64_t end)
{
	struct rec_bp *old = as->bps;
	size_t oldcap = as->capbps;

	if (!oldcap)
		return;
	as->bps = calloc(oldcap, sizeof(*as->bps));
	as->nbps = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].addr && (old[i].addr < start || old[i].addr >= end))
			bp_insert(as, old[i].addr, old[i].orig, old[i].site);
	free(old);
}

int rec_bp_copy(struct rec_as *dst, const struct rec_as *src)
{
	for (size_t i = 0; i < src->capbps; i++)
		if (src->bps[i].addr)
			bp_insert(dst, src->bps[i].addr, src->bps[i].orig, src->bps[i].site);
	if (src->ncmaps) {
		dst->cmaps = malloc(src->ncmaps * sizeof(*dst->cmaps));
		memcpy(dst->cmaps, src->cmaps, src->ncmaps * sizeof(*dst->cmaps));
		dst->ncmaps = dst->capcmaps = src->ncmaps;
	}
	return 0;
}

void rec_as_forget_code(struct rec_as *as)
{
	free(as->bps);
	as->bps = NULL;
	as->nbps = as->capbps = 0;
	free(as->cmaps);
	as->cmaps = NULL;
	as->ncmaps = as->capcmaps = 0;
	free(as->insns);
	as->insns = NULL;
	as->capinsns = 0;
}

/* R5: the int3s of one executable mapping, written through /proc/PID/mem
 * one window (up to 64 KiB of code) at a time rather than one byte at a
 * time: libpmem alone has a thousand sites. */
static int place_bps(struct rec *r, struct rec_as *as, const struct rec_cmap *cm)
{
	const struct rec_obj *o = cm->obj;
	enum { WINDOW = 64 << 10 };
	static uint8_t buf[WINDOW];

	for (size_t i = 0; i < o->nsites;) {
		uint64_t lo = o->sites[i].vaddr + cm->bias;
		if (lo < cm->start || lo >= cm->end || rec_bp_find(as, lo)) {
			i++;
			continue;
		}
		size_t j = i + 1;
		uint64_t hi = lo + 1;
		for (; j < o->nsites; j++) {
			uint64_t a = o->sites[j].vaddr + cm->bias;
			if (a >= cm->end || a + 1 - lo > WINDOW)
				break;
			hi = a + 1;
		}
		size_t n = (size_t)(hi - lo);
		if (pread(as->memfd, buf, n, (off_t)lo) != (ssize_t)n) {
			rec_fatal(r, "cannot read the code of %s at +0x%" PRIx64 ": %s",
				  o->base, o->sites[i].vaddr, strerror(errno));
			return -1;
		}
		for (size_t k = i; k < j; k++) {
			uint64_t a = o->sites[k].vaddr + cm->bias;
			if (a < cm->start || rec_bp_find(as, a))
				continue;
			bp_insert(as, a, buf[a - lo], &o->sites[k]);
			buf[a - lo] = 0xcc;
			r->st.sites++;
		}
		if (pwrite(as->memfd, buf, n, (off_t)lo) != (ssize_t)n) {
			rec_fatal(r, "cannot place a breakpoint in %s at +0x%" PRIx64 ": %s",
				  o->base, o->sites[i].vaddr, strerror(errno));
			return -1;
		}
		i = j;
	}
	return 0;
}

/*
 * R5: look at the address space's executable mappings (/proc/PID/maps)
 * and put breakpoints on the flush and fence sites of the new ones.
 * O(mappings + sites of new objects).
 */
int rec_code_scan(struct rec *r, struct rec_task *t)
{
	struct rec_as *as = t->as;
	char path[64], exe[4096], line[4600];
	FILE *f;
	struct rec_cmap *nw = NULL;
	size_t n = 0, cap = 0;
	ssize_t el;
	bool dropped = false;

	snprintf(path, sizeof(path), "/proc/%d/exe", t->tid);
	el = readlink(path, exe, sizeof(exe) - 1);
	exe[el > 0 ? el : 0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/maps", t->tid);
	if (!(f = fopen(path, "re")))
		return 0;	/* the task is gone */
	while (fgets(line, sizeof(line), f)) {
		/* start-end perms offset dev inode   path: by hand, as most
		 * lines are not executable (sscanf was 2% of a recording) */
		char *q;
		unsigned long long s = strtoull(line, &q, 16), e, off;
		if (*q != '-')
			continue;
		e = strtoull(q + 1, &q, 16);
		if (q[0] != ' ' || strlen(q) < 6 || q[3] != 'x')
			continue;
		off = strtoull(q + 5, &q, 16);
		for (int field = 0; field < 2; field++) {	/* dev, inode */
			while (*q == ' ')
				q++;
			while (*q && *q != ' ' && *q != '\n')
				q++;
		}
		while (*q == ' ')
			q++;
		char *p = q;
		p[strcspn(p, "\n")] = '\0';
		if (p[0] != '/') {
			if (!p[0] && !r->warned_unsupported) {
				rec_warn("an anonymous executable mapping at 0x%llx: flushes and "
					 "fences in code generated at run time are not recorded", s);
				r->warned_unsupported = true;
			}
			continue;
		}
		if (strstr(p, " (deleted)"))
			continue;
		struct rec_obj *o = obj_load(r, p);
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			nw = realloc(nw, cap * sizeof(*nw));
		}
		struct rec_cmap *cm = &nw[n++];
		cm->start = s;
		cm->end = e;
		cm->obj = o;
		cm->main = !strcmp(p, exe);
		cm->bias = s;
		for (size_t i = 0; i < o->nseg; i++)
			if (off >= o->seg[i].off && off < o->seg[i].off + o->seg[i].filesz)
				cm->bias = s - (o->seg[i].vaddr + (off - o->seg[i].off));
	}
	fclose(f);
	/* drop the breakpoints of mappings that went away */
	for (size_t i = 0; i < as->ncmaps; i++) {
		bool kept = false;
		for (size_t j = 0; j < n && !kept; j++)
			kept = nw[j].start == as->cmaps[i].start && nw[j].end == as->cmaps[i].end &&
			       nw[j].obj == as->cmaps[i].obj;
		if (!kept) {
			bp_forget_range(as, as->cmaps[i].start, as->cmaps[i].end);
			dropped = true;
		}
	}
	if (dropped && as->insns)	/* other code may come to those addresses */
		memset(as->insns, 0, as->capinsns * sizeof(*as->insns));
	for (size_t j = 0; j < n; j++) {
		bool old = false;
		for (size_t i = 0; i < as->ncmaps && !old; i++)
			old = nw[j].start == as->cmaps[i].start && nw[j].end == as->cmaps[i].end &&
			      nw[j].obj == as->cmaps[i].obj;
		if (!old && place_bps(r, as, &nw[j])) {
			free(nw);
			return -1;
		}
	}
	free(as->cmaps);
	as->cmaps = nw;
	as->ncmaps = as->capcmaps = n;
	return 0;
}

/* ---- symbols (R6) ---- */

static const struct rec_cmap *cmap_at(const struct rec_as *as, uint64_t a)
{
	for (size_t i = 0; i < as->ncmaps; i++)
		if (a >= as->cmaps[i].start && a < as->cmaps[i].end)
			return &as->cmaps[i];
	return NULL;
}

/* Does [start, end) overlap an executable mapping with breakpoints? */
bool rec_code_overlaps(const struct rec_as *as, uint64_t start, uint64_t end)
{
	for (size_t i = 0; i < as->ncmaps; i++)
		if (start < as->cmaps[i].end && end > as->cmaps[i].start)
			return true;
	return false;
}

static void sym_name(const struct rec_cmap *cm, uint64_t a, char *buf, size_t len)
{
	uint64_t v = a - cm->bias;
	const struct rec_sym *s = sym_at(cm->obj, v);

	if (s && (v < s->addr + s->size || (!s->size && v - s->addr < 4096)))
		snprintf(buf, len, "%s+0x%" PRIx64, s->name, v - s->addr);
	else
		snprintf(buf, len, "%s+0x%" PRIx64, cm->obj->base, v);
}

/* Is A (in the main executable) just after a call instruction? */
static bool after_call(const struct rec_cmap *cm, uint64_t a)
{
	const struct rec_obj *o = cm->obj;
	uint64_t v = a - cm->bias;

	for (size_t i = 0; i < o->nseg; i++) {
		const struct rec_seg *s = &o->seg[i];
		if (v < s->vaddr + 7 || v >= s->vaddr + s->filesz)
			continue;
		const uint8_t *p = o->image + s->off + (v - s->vaddr);
		if (p[-5] == 0xe8)
			return true;
		if ((p[-2] == 0xff && ((p[-1] >> 3) & 7) == 2) ||
		    (p[-3] == 0xff && ((p[-2] >> 3) & 7) == 2) ||
		    (p[-6] == 0xff && ((p[-5] >> 3) & 7) == 2) ||
		    (p[-7] == 0xff && ((p[-6] >> 3) & 7) == 2))
			return true;
	}
	return false;
}

/* sym= for an event at RIP (R6): "prog_function+0xOFF" in the program,
 * "prog_function+0xOFF/lib.so:lib_function+0xOFF" in a library. */
void rec_sym(struct rec *r, struct rec_task *t, uint64_t rip, uint64_t rsp,
	     char *buf, size_t len)
{
	char caller[200] = "";
	const struct rec_cmap *cm = cmap_at(t->as, rip);
	char here[200];

	if (!cm) {
		snprintf(buf, len, "0x%" PRIx64, rip);
		return;
	}
	sym_name(cm, rip, here, sizeof(here));
	if (cm->main) {
		snprintf(buf, len, "%s", here);
		return;
	}
	/* the nearest return address into the program on the stack; one
	 * 4 KiB read per stop in a library (~1 us, measured in bench): the
	 * events of one stop (a run of stores, R2) share the stack */
	if (t->caller_stop == r->stops && t->caller_rsp == rsp) {
		if (t->caller[0])
			snprintf(buf, len, "%s/%s:%s", t->caller, cm->obj->base, here);
		else
			snprintf(buf, len, "%s:%s", cm->obj->base, here);
		return;
	}
	uint64_t stack[512];
	size_t n = sizeof(stack);
	while (n >= 64 && rec_read(t->tid, rsp, stack, n))
		n /= 2;
	uint64_t lo = UINT64_MAX, hi = 0;	/* the program's code: one range test
						 * per stack word, not a search */
	for (size_t i = 0; i < t->as->ncmaps; i++)
		if (t->as->cmaps[i].main) {
			lo = t->as->cmaps[i].start < lo ? t->as->cmaps[i].start : lo;
			hi = t->as->cmaps[i].end > hi ? t->as->cmaps[i].end : hi;
		}
	for (size_t i = 0; n >= 64 && i < n / 8; i++) {
		if (stack[i] < lo || stack[i] >= hi)
			continue;
		const struct rec_cmap *c2 = cmap_at(t->as, stack[i]);
		if (c2 && c2->main && after_call(c2, stack[i])) {
			sym_name(c2, stack[i], caller, sizeof(caller));
			break;
		}
	}
	t->caller_stop = r->stops;
	t->caller_rsp = rsp;
	snprintf(t->caller, sizeof(t->caller), "%s", caller);
	if (caller[0])
		snprintf(buf, len, "%s/%s:%s", caller, cm->obj->base, here);
	else
		snprintf(buf, len, "%s:%s", cm->obj->base, here);
}

/* ---- decoding (R2) ---- */

static const uint16_t gpr64[16] = {
	X86_REG_RAX, X86_REG_RCX, X86_REG_RDX, X86_REG_RBX, X86_REG_RSP, X86_REG_RBP,
	X86_REG_RSI, X86_REG_RDI, X86_REG_R8, X86_REG_R9, X86_REG_R10, X86_REG_R11,
	X86_REG_R12, X86_REG_R13, X86_REG_R14, X86_REG_R15,
};

/* capstone 4 does not know movdir64b (66 0F 38 F8 /r): decode it here.
 * Returns its length, or 0. */
static int decode_movdir64b(const uint8_t *b, size_t n, struct rec_insn *d)
{
	size_t i = 0;
	bool p66 = false;
	uint8_t rex = 0;

	while (i < n && (b[i] == 0x66 || b[i] == 0x2e || b[i] == 0x3e || b[i] == 0x26 ||
			 b[i] == 0x64 || b[i] == 0x65 || b[i] == 0x36)) {
		p66 |= b[i] == 0x66;
		i++;
	}
	if (i < n && b[i] == 0x67)
		return 0;	/* 32-bit addressing: not supported */
	if (i < n && (b[i] & 0xf0) == 0x40)
		rex = b[i++];
	if (!p66 || i + 4 > n || b[i] != 0x0f || b[i + 1] != 0x38 || b[i + 2] != 0xf8)
		return 0;
	i += 3;
	uint8_t modrm = b[i++];
	unsigned mod = modrm >> 6, reg = ((modrm >> 3) & 7) | ((rex & 4) << 1), rm = modrm & 7;
	if (mod == 3)
		return 0;
	memset(&d->mem, 0, sizeof(d->mem));
	d->mem.scale = 1;
	if (rm == 4) {
		if (i >= n)
			return 0;
		uint8_t sib = b[i++];
		unsigned idx = ((sib >> 3) & 7) | ((rex & 2) << 2), base = (sib & 7) | ((rex & 1) << 3);
		d->mem.scale = (int8_t)(1 << (sib >> 6));
		if (idx != 4)
			d->mem.index = gpr64[idx];
		if ((base & 7) == 5 && mod == 0) {
			if (i + 4 > n)
				return 0;
			int32_t v;
			memcpy(&v, b + i, 4);
			d->mem.disp = v;
			i += 4;
		} else {
			d->mem.base = gpr64[base];
		}
	} else if (rm == 5 && mod == 0) {
		if (i + 4 > n)
			return 0;
		int32_t v;
		memcpy(&v, b + i, 4);
		d->mem.disp = v;
		d->mem.base = X86_REG_RIP;
		i += 4;
	} else {
		d->mem.base = gpr64[rm | ((rex & 1) << 3)];
	}
	if (mod == 1) {
		if (i + 1 > n)
			return 0;
		d->mem.disp = (int8_t)b[i++];
	} else if (mod == 2) {
		if (i + 4 > n)
			return 0;
		int32_t v;
		memcpy(&v, b + i, 4);
		d->mem.disp = v;
		i += 4;
	}
	d->reg = gpr64[reg];
	d->kind = REC_INSN_MOVDIR64B;
	d->size = 64;
	d->nt = true;
	snprintf(d->text, sizeof(d->text), "movdir64b");
	return (int)i;
}

/* The EVEX opmask (aaa) of the instruction at B, or 0. */
static unsigned evex_mask(const uint8_t *b, size_t n)
{
	size_t i = 0;
	while (i < n && (b[i] == 0x66 || b[i] == 0x67 || b[i] == 0xf2 || b[i] == 0xf3 ||
			 b[i] == 0x2e || b[i] == 0x3e || b[i] == 0x26 || b[i] == 0x64 ||
			 b[i] == 0x65 || b[i] == 0x36))
		i++;
	if (i + 3 < n && b[i] == 0x62)
		return b[i + 3] & 7;
	return 0;
}

static bool is_vec_store(unsigned id, bool *nt)
{
	*nt = false;
	switch (id) {
	case X86_INS_MOVNTDQ: case X86_INS_MOVNTPS: case X86_INS_MOVNTPD:
	case X86_INS_VMOVNTDQ: case X86_INS_VMOVNTPS: case X86_INS_VMOVNTPD:
		*nt = true;
		return true;
	case X86_INS_MOVAPS: case X86_INS_MOVUPS: case X86_INS_MOVAPD: case X86_INS_MOVUPD:
	case X86_INS_MOVDQA: case X86_INS_MOVDQU: case X86_INS_MOVQ: case X86_INS_MOVD:
	case X86_INS_MOVSS: case X86_INS_MOVSD:
	case X86_INS_VMOVAPS: case X86_INS_VMOVUPS: case X86_INS_VMOVAPD: case X86_INS_VMOVUPD:
	case X86_INS_VMOVDQA: case X86_INS_VMOVDQU: case X86_INS_VMOVDQA32:
	case X86_INS_VMOVDQA64: case X86_INS_VMOVDQU8: case X86_INS_VMOVDQU16:
	case X86_INS_VMOVDQU32: case X86_INS_VMOVDQU64: case X86_INS_VMOVQ: case X86_INS_VMOVD:
	case X86_INS_VMOVSS: case X86_INS_VMOVSD:
		return true;
	default:
		return false;
	}
}

static bool is_vec_reg(unsigned reg)
{
	return (reg >= X86_REG_XMM0 && reg <= X86_REG_XMM31) ||
	       (reg >= X86_REG_YMM0 && reg <= X86_REG_YMM31) ||
	       (reg >= X86_REG_ZMM0 && reg <= X86_REG_ZMM31);
}

static unsigned alu_of(unsigned id)
{
	switch (id) {
	case X86_INS_ADD: return REC_ALU_ADD;
	case X86_INS_SUB: return REC_ALU_SUB;
	case X86_INS_AND: return REC_ALU_AND;
	case X86_INS_OR: return REC_ALU_OR;
	case X86_INS_XOR: return REC_ALU_XOR;
	case X86_INS_INC: return REC_ALU_INC;
	case X86_INS_DEC: return REC_ALU_DEC;
	default: return 0;
	}
}

static void classify(const cs_insn *in, const uint8_t *bytes, struct rec_insn *d)
{
	const cs_x86 *x = &in->detail->x86;
	const cs_x86_op *mem = NULL;
	bool nt;

	d->len = (uint8_t)in->size;
	snprintf(d->text, sizeof(d->text), "%.12s %.34s", in->mnemonic, in->op_str);
	d->locked = x->prefix[0] == X86_PREFIX_LOCK;
	d->rep = x->prefix[0] == X86_PREFIX_REP;
	for (int i = 0; i < x->op_count; i++)
		if (x->operands[i].type == X86_OP_MEM && (x->operands[i].access & CS_AC_WRITE))
			mem = &x->operands[i];
	if (!mem && x->op_count > 0 && x->operands[0].type == X86_OP_MEM)
		mem = &x->operands[0];
	switch (in->id) {
	case X86_INS_MOVSB: case X86_INS_MOVSW: case X86_INS_MOVSQ:
	case X86_INS_STOSB: case X86_INS_STOSW: case X86_INS_STOSD: case X86_INS_STOSQ:
		goto string;
	case X86_INS_MOVSD:
		if (x->op_count == 2 && x->operands[0].type == X86_OP_MEM &&
		    x->operands[1].type == X86_OP_MEM)
			goto string;
		break;
	default:
		break;
	}
	if (!mem) {
		d->kind = REC_INSN_BAD;
		return;
	}
	mem_from_cs(&d->mem, mem);
	d->size = mem->size;
	if (in->id == X86_INS_XCHG)
		d->locked = true;
	if (bytes[0] == 0x67 || x->addr_size != 8) {
		d->kind = REC_INSN_BAD;		/* 32-bit addressing */
		return;
	}
	if (x->op_count == 2 && &x->operands[0] == mem && !d->locked) {
		const cs_x86_op *src = &x->operands[1];
		if (in->id == X86_INS_MOV || in->id == X86_INS_MOVNTI) {
			d->nt = in->id == X86_INS_MOVNTI;
			if (src->type == X86_OP_REG && reg_find(src->reg)) {
				d->kind = REC_INSN_MOV_GPR;
				d->reg = (uint16_t)src->reg;
				return;
			}
			if (src->type == X86_OP_IMM) {
				d->kind = REC_INSN_MOV_IMM;
				d->imm = src->imm;
				return;
			}
		}
		if (is_vec_store(in->id, &nt) && src->type == X86_OP_REG && is_vec_reg(src->reg) &&
		    !evex_mask(bytes, in->size) && d->size > 0 && d->size <= 64) {
			d->kind = REC_INSN_MOV_VEC;
			d->reg = (uint16_t)src->reg;
			d->nt = nt;
			return;
		}
	}
	if (&x->operands[0] == mem && !d->locked &&
	    (d->size == 1 || d->size == 2 || d->size == 4 || d->size == 8)) {
		unsigned op = alu_of(in->id);
		if (op && x->op_count == 1 && (op == REC_ALU_INC || op == REC_ALU_DEC)) {
			d->kind = REC_INSN_ALU;
			d->alu = (uint8_t)op;
			return;
		}
		if (op && op < REC_ALU_INC && x->op_count == 2) {
			const cs_x86_op *src = &x->operands[1];
			if (src->type == X86_OP_IMM ||
			    (src->type == X86_OP_REG && reg_find(src->reg))) {
				d->kind = REC_INSN_ALU;
				d->alu = (uint8_t)op;
				if (src->type == X86_OP_IMM)
					d->imm = src->imm;
				else
					d->reg = (uint16_t)src->reg;
				return;
			}
		}
	}
	if (in->id == X86_INS_MOVNTQ || in->id == X86_INS_MASKMOVDQU ||
	    in->id == X86_INS_VMASKMOVDQU)
		d->nt = true;
	d->kind = d->size ? REC_INSN_STEP : REC_INSN_BAD;
	return;
string:
	if (bytes[0] == 0x67 || x->addr_size != 8) {
		d->kind = REC_INSN_BAD;
		return;
	}
	d->kind = REC_INSN_STRING;
	d->movs = in->id == X86_INS_MOVSB || in->id == X86_INS_MOVSW ||
		  in->id == X86_INS_MOVSD || in->id == X86_INS_MOVSQ;
	switch (in->id) {
	case X86_INS_MOVSB: case X86_INS_STOSB: d->size = 1; break;
	case X86_INS_MOVSW: case X86_INS_STOSW: d->size = 2; break;
	case X86_INS_MOVSD: case X86_INS_STOSD: d->size = 4; break;
	default: d->size = 8; break;
	}
	if (x->prefix[0] == 0xf2)
		d->rep = true;		/* repne: same as rep for movs/stos */
}

/* The instruction at RIP, decoded and classified (cached per address
 * space: code does not change under a breakpoint-free store).  NULL if it
 * cannot be read. */
const struct rec_insn *rec_decode(struct rec *r, struct rec_task *t, uint64_t rip)
{
	struct rec_as *as = t->as;
	uint8_t bytes[16];
	size_t n = sizeof(bytes);

	if (!as->capinsns) {
		as->capinsns = 4096;
		as->insns = calloc(as->capinsns, sizeof(*as->insns));
	}
	struct rec_insn *d = &as->insns[hash64(rip) & (as->capinsns - 1)];
	if (d->addr == rip)
		return d;
	while (n > 0 && rec_read(t->tid, rip, bytes, n))
		n--;
	if (!n || cs_init())
		return NULL;
	memset(d, 0, sizeof(*d));
	d->addr = rip;
	cs_insn *in = cs_malloc(cs_handle);
	const uint8_t *p = bytes;
	size_t l = n;
	uint64_t a = rip;
	if (cs_disasm_iter(cs_handle, &p, &l, &a, in)) {
		classify(in, bytes, d);
	} else {
		int k = decode_movdir64b(bytes, n, d);
		if (k > 0) {
			d->len = (uint8_t)k;
		} else {
			d->kind = REC_INSN_BAD;
			snprintf(d->text, sizeof(d->text), "(undecodable %02x %02x %02x %02x)",
				 bytes[0], bytes[1], bytes[2], bytes[3]);
		}
	}
	cs_free(in, 1);
	(void)r;
	return d;
}

void rec_code_free(struct rec *r)
{
	struct rec_obj *o = r->objs, *nx;

	for (; o; o = nx) {
		nx = o->next;
		free(o->path);
		if (o->elf)
			elf_end(o->elf);
		if (o->image)
			munmap(o->image, o->size);
		free(o->starts);
		free(o->seg);
		free(o->syms);
		free(o->sites);
		free(o);
	}
	r->objs = NULL;
	if (cs_ready) {
		cs_close(&cs_handle);
		cs_close(&cs_fast);
	}
	cs_ready = false;
}
