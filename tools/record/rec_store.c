/*
 * rec_store.c — what the program does to persistent memory: the stores
 * that fault on its write-protected pmem mappings (R2-R4 of the essay in
 * record.c) and the flush and fence breakpoints (R5).
 *
 * Each store that faults is performed by the recorder, never by letting
 * the program write: the pmem pages stay read-only from the first mapping
 * to the last unmapping, so no store of any thread can slip past while a
 * page would be writable.  The bytes reach the file with pwrite() on the
 * recorder's own descriptor (the mapping is MAP_SHARED: the program sees
 * them at once, through the same page-cache or DAX pages).
 *
 *   R2  Emulated stores (the fast path): mov from a general register or
 *       an immediate, movnti, and every unmasked SSE/AVX/AVX-512 move to
 *       memory (movdqa/u, movaps/u, movntdq, movntps/d, vmovdqu8..64, ...),
 *       whose value is a register: the general registers from
 *       PTRACE_GETREGS, the vector registers from the XSAVE area
 *       (PTRACE_GETREGSET NT_X86_XSTATE, component offsets from CPUID
 *       leaf 0xD).  movdir64b copies its 64 source bytes.
 *   R3  String stores: (rep) movs and stos are emulated whole: the
 *       destination range of the pmem mapping is written at once (in
 *       64 KiB steps that the run continues), rdi, rsi and rcx are
 *       advanced as the CPU would, and one fault covers a whole
 *       memcpy/memset done with rep movsb.  An overlapping movs is done
 *       one element per step (the architecture's element order).
 *   R4  Read-modify-writes without a lock prefix (add, sub, and, or, xor
 *       with a register or an immediate; inc, dec; 1 to 8 bytes) are
 *       emulated too: the recorder reads the operand from the file and
 *       runs the same instruction on it itself, so the result and the
 *       flags are the CPU's own (inc and dec keep CF).  Everything else
 *       that writes pmem (locked operations, xchg, cmpxchg16b, masked
 *       AVX-512 stores, adc, shifts on memory, ...) runs in a displaced
 *       single step: the memory operand's base register is moved so the
 *       instruction operates on a copy of the pmem bytes in a scratch
 *       area below the thread's red zone, the instruction is
 *       single-stepped there, and the resulting bytes are written to the
 *       file.  The instruction itself, with its flags and register
 *       results, is the CPU's own.  An operand the displacement cannot
 *       reach (rip-relative, stack) is refused with a message.
 *   Runs.  After a store (or a breakpoint, R5) the recorder does not
 *       resume the thread at once: it decodes the next instruction, and
 *       while that is a flush or fence site, or a store of the kinds of
 *       R2-R4 (not a displaced step) to a writable pmem mapping as a
 *       whole, it records and performs it too (run_on).  The first other
 *       instruction ends the run and the CPU executes it, faulting if it
 *       must.  These instructions change no register but rip, the flags
 *       (R4) and rdi/rsi/rcx (R3), so the registers of the stop stay
 *       exact.  libpmem's four vmovntdq of a 256-byte copy then cost one
 *       stop, not four.  Nothing can be missed or reordered: the run is
 *       the thread's own next instructions, in order, and every pmem page
 *       stays read-only throughout.
 *
 * Events (R7): store, ntstore (R2 movnt*, movdir64b), rmw (locked), with
 * the bytes written; flushes whose line is in a pmem mapping; fences only
 * when the thread has flushes or non-temporal stores to order (a fence
 * with nothing pending changes nothing in the model, cache.c C6).
 */
#define _GNU_SOURCE
#include "rec_int.h"

#include <capstone/capstone.h>
#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define EVENT_MAX 4096			/* bytes per store event */

void rec_xsave_init(struct rec *r)
{
	unsigned a, b, c, d;

	r->xsave_size = 4096;
	if (__get_cpuid_count(0xd, 0, &a, &b, &c, &d) && b > 512)
		r->xsave_size = b;
	for (unsigned i = 2; i < 8; i++)
		if (__get_cpuid_count(0xd, i, &a, &b, &c, &d) && a)
			r->xsave_off[i] = b;
}

struct rec_pmap *rec_pmap_find(struct rec_as *as, uint64_t addr)
{
	for (size_t i = 0; i < as->npmaps; i++)
		if (addr >= as->pmaps[i].start && addr < as->pmaps[i].end)
			return &as->pmaps[i];
	return NULL;
}

uint64_t rec_ns_addr(const struct rec *r, const struct rec_pmap *m, uint64_t va)
{
	if (r->layer == REC_LAYER_FILE)
		return va;
	return m->file->base + m->off + (va - m->start);
}

/* Emit one CPU event with a payload, split at EVENT_MAX bytes. */
static void emit_data(struct rec *r, struct rec_task *t, enum trace_op op, uint64_t addr,
		      const uint8_t *data, size_t n, const char *sym)
{
	for (size_t done = 0; done < n;) {
		size_t k = n - done < EVENT_MAX ? n - done : EVENT_MAX;
		struct trace_event ev = { .op = op };
		ev.fields = TRACE_F_ADDR | TRACE_F_LEN | TRACE_F_SYM;
		ev.addr = addr + done;
		ev.len = k;
		if (k <= 8) {
			uint64_t v = 0;
			memcpy(&v, data + done, k);
			ev.fields |= TRACE_F_VAL;
			ev.data.kind = TRACE_PAYLOAD_VAL;
			ev.data.arg = v;
		} else {
			ev.fields |= TRACE_F_DATA;
			ev.data.kind = TRACE_PAYLOAD_HEX;
			ev.data.bytes = data + done;
		}
		ev.data.len = k;
		ev.sym.s = sym;
		ev.sym.len = strlen(sym);
		int cpu = rec_cpu_of(r, t);
		if (cpu) {
			ev.fields |= TRACE_F_CPU;
			ev.cpu = (uint32_t)cpu;
		}
		rec_emit(r, &ev);
		done += k;
	}
	if (op == TRACE_STORE)
		r->st.stores++;
	else if (op == TRACE_NTSTORE)
		r->st.ntstores++;
	else
		r->st.rmws++;
	if (op == TRACE_NTSTORE)
		t->pending = true;
	if (op == TRACE_RMW)
		t->pending = false;	/* cache.c C16: rmw is a fence */
}

static void emit_plain(struct rec *r, struct rec_task *t, enum trace_op op, bool has_addr,
		       uint64_t addr, const char *sym)
{
	struct trace_event ev = { .op = op };

	ev.fields = TRACE_F_SYM;
	if (has_addr) {
		ev.fields |= TRACE_F_ADDR;
		ev.addr = addr;
	}
	ev.sym.s = sym;
	ev.sym.len = strlen(sym);
	int cpu = rec_cpu_of(r, t);
	if (cpu) {
		ev.fields |= TRACE_F_CPU;
		ev.cpu = (uint32_t)cpu;
	}
	rec_emit(r, &ev);
}

void rec_fence_task(struct rec *r, struct rec_task *t, enum trace_op op, const char *sym)
{
	if (!t->pending && op != TRACE_PCOMMIT)
		return;
	emit_plain(r, t, op, false, 0, sym);
	r->st.fences++;
	if (op != TRACE_PCOMMIT)
		t->pending = false;
}

/* Write N bytes at file offset OFF of F (the recorder's own descriptor). */
static int file_write(struct rec_file *f, uint64_t off, const uint8_t *data, size_t n)
{
	for (size_t done = 0; done < n;) {
		ssize_t k = pwrite(f->fd, data + done, n - done, (off_t)(off + done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		done += (size_t)k;
	}
	if (off + n > f->extent)
		f->extent = off + n;
	return 0;
}

/* Is [off, off+n) of F inside the file (a store beyond EOF is SIGBUS)? */
static bool in_file(struct rec_file *f, uint64_t off, size_t n)
{
	struct stat st;

	if (off + n <= f->size)
		return true;
	if (fstat(f->fd, &st) == 0)
		f->size = (uint64_t)st.st_size;
	return off + n <= f->size;
}

/*
 * Perform the write of N bytes at VA (all in mapping M) and record it.
 * Returns 0, or SIGBUS if the bytes lie beyond the end of the file, or -1
 * after rec_fatal().
 */
static int pmem_store(struct rec *r, struct rec_task *t, struct rec_pmap *m, uint64_t va,
		      const uint8_t *data, size_t n, enum trace_op op, const char *sym)
{
	uint64_t off = m->off + (va - m->start);

	if (!in_file(m->file, off, n))
		return SIGBUS;
	if (file_write(m->file, off, data, n)) {
		rec_fatal(r, "cannot write %s: %s", m->file->path, strerror(errno));
		return -1;
	}
	emit_data(r, t, op, rec_ns_addr(r, m, va), data, n, sym);
	return 0;
}

/* Bytes of vector register REG from the XSAVE area X. */
static int vec_bytes(const struct rec *r, const uint8_t *x, unsigned reg, uint8_t out[64])
{
	unsigned n;
	size_t width;

	memset(out, 0, 64);
	if (reg >= X86_REG_XMM0 && reg <= X86_REG_XMM31)
		n = reg - X86_REG_XMM0, width = 16;
	else if (reg >= X86_REG_YMM0 && reg <= X86_REG_YMM31)
		n = reg - X86_REG_YMM0, width = 32;
	else
		n = reg - X86_REG_ZMM0, width = 64;
	if (n >= 16) {
		if (!r->xsave_off[7])
			return -1;
		memcpy(out, x + r->xsave_off[7] + 64 * (n - 16), width);
		return 0;
	}
	memcpy(out, x + 160 + 16 * n, 16);
	if (width >= 32) {
		if (!r->xsave_off[2])
			return -1;
		memcpy(out + 16, x + r->xsave_off[2] + 16 * n, 16);
	}
	if (width == 64) {
		if (!r->xsave_off[6])
			return -1;
		memcpy(out + 32, x + r->xsave_off[6] + 32 * n, 32);
	}
	return 0;
}

static void kill_program(struct rec *r)
{
	for (struct rec_task *t = r->tasks; t; t = t->next)
		kill(t->tid, SIGKILL);
}

static int refuse(struct rec *r, struct rec_task *t, const struct rec_insn *d, const char *sym,
		  const char *why)
{
	rec_fatal(r, "cannot record `%s` at %s (thread %d): %s", d->text, sym, t->tid, why);
	kill_program(r);
	return -1;
}

/* R4: the displaced single step.  0, SIGBUS, or -1. */
static int displaced_step(struct rec *r, struct rec_task *t, struct user_regs_struct *regs,
			  const struct rec_insn *d, struct rec_pmap *m, uint64_t ea,
			  const char *sym, int *pending_sig)
{
	uint8_t orig[64], saved[64], now[64];
	unsigned reg = 0;
	uint64_t delta, scratch;
	struct user_regs_struct rr = *regs, after;
	int st;

	if (d->size > sizeof(orig))
		return refuse(r, t, d, sym, "a memory operand wider than 64 bytes");
	if (ea + d->size > m->end)
		return refuse(r, t, d, sym, "the store crosses the end of the pmem mapping");
	if (d->mem.base && d->mem.base != X86_REG_RIP && d->mem.base != d->mem.index &&
	    rec_set_reg64(&rr, d->mem.base, 0) == 0)
		reg = d->mem.base;
	else if (!d->mem.base && d->mem.index && d->mem.scale == 1)
		reg = d->mem.index;
	if (!reg || reg == X86_REG_RSP)
		return refuse(r, t, d, sym, "its memory operand cannot be displaced "
			      "(rip-relative, stack or absolute address)");
	scratch = ((regs->rsp - 1024) & ~63ull) + (ea & 63);
	delta = scratch - ea;
	if (rec_read(t->tid, ea, orig, d->size) || rec_read(t->tid, scratch, saved, d->size) ||
	    rec_write(t->tid, scratch, orig, d->size)) {
		rec_fatal(r, "cannot prepare the single step of `%s` at %s", d->text, sym);
		return -1;
	}
	rr = *regs;
	rec_set_reg64(&rr, reg, rec_reg(regs, reg, NULL) + delta);
	if (ptrace(PTRACE_SETREGS, t->tid, 0, &rr)) {
		rec_fatal(r, "ptrace SETREGS: %s", strerror(errno));
		return -1;
	}
	for (int tries = 0;; tries++) {
		if (ptrace(PTRACE_SINGLESTEP, t->tid, 0, 0) || waitpid(t->tid, &st, __WALL) < 0) {
			rec_fatal(r, "single step of thread %d: %s", t->tid, strerror(errno));
			return -1;
		}
		if (!WIFSTOPPED(st)) {
			rec_fatal(r, "thread %d died during a single step", t->tid);
			return -1;
		}
		if (WSTOPSIG(st) == SIGTRAP)
			break;
		if (tries > 16) {
			rec_fatal(r, "thread %d does not single-step `%s`", t->tid, d->text);
			return -1;
		}
		*pending_sig = WSTOPSIG(st);	/* delivered after the store */
	}
	r->st.stepped++;
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &after) || rec_read(t->tid, scratch, now, d->size) ||
	    rec_write(t->tid, scratch, saved, d->size)) {
		rec_fatal(r, "cannot finish the single step of `%s` at %s", d->text, sym);
		return -1;
	}
	if (after.rip == regs->rip) {
		/* it faulted again on something else: undo and deliver */
		*pending_sig = SIGSEGV;
		ptrace(PTRACE_SETREGS, t->tid, 0, regs);
		return 0;
	}
	if (rec_reg(&after, reg, NULL) == rec_reg(&rr, reg, NULL))
		rec_set_reg64(&after, reg, rec_reg(regs, reg, NULL));
	*regs = after;
	int rc = pmem_store(r, t, m, ea, now, d->size,
			    d->locked ? TRACE_RMW : d->nt ? TRACE_NTSTORE : TRACE_STORE, sym);
	if (rc == 0 && d->locked && !r->warned_locked && t->as->refs > 1) {
		/* nothing to warn about: writes are serialized by the recorder */
	}
	return rc;
}

/* R3: (rep) movs / stos.  Advances *regs as the CPU would.  0, SIGBUS or
 * SIGSEGV (nothing written), 1 if the destination is not in a writable
 * pmem mapping (nothing done), or -1.  At most STRING_CHUNK bytes per
 * call: a longer string is continued by the run (run_on). */
#define STRING_CHUNK (64u << 10)
static int string_store(struct rec *r, struct rec_task *t, struct user_regs_struct *regs,
			const struct rec_insn *d, const char *sym)
{
	static uint8_t buf[STRING_CHUNK];
	uint64_t elt = d->size, count = d->rep ? regs->rcx : 1;
	bool down = regs->eflags & 0x400;
	uint64_t dst = regs->rdi, src = regs->rsi;
	struct rec_pmap *m = rec_pmap_find(t->as, dst);
	int rc;

	if (!m || !(m->prot & PROT_WRITE))
		return 1;		/* not ours */
	if (count == 0) {
		regs->rip += d->len;
		return 0;
	}
	/* elements inside this mapping */
	uint64_t room = down ? (dst - m->start) / elt + 1 : (m->end - dst) / elt;
	if (count > room)
		count = room;
	if (count > STRING_CHUNK / elt)
		count = STRING_CHUNK / elt;
	uint64_t total = count * elt;
	uint64_t lo = down ? dst + elt - total : dst;
	uint64_t slo = down ? src + elt - total : src;
	if (d->movs && slo < lo + total && lo < slo + total)
		count = 1, total = elt, lo = dst, slo = src;	/* overlap: one by one */
	if (d->movs) {
		if (rec_read(t->tid, slo, buf, total))
			return SIGSEGV;
	} else {
		for (uint64_t i = 0; i < total; i++)
			buf[i] = (uint8_t)(regs->rax >> (8 * (i % elt)));
	}
	rc = pmem_store(r, t, m, lo, buf, total, TRACE_STORE, sym);
	if (rc)
		return rc;
	if (down) {
		regs->rdi -= total;
		if (d->movs)
			regs->rsi -= total;
	} else {
		regs->rdi += total;
		if (d->movs)
			regs->rsi += total;
	}
	if (d->rep)
		regs->rcx -= count;
	if (!d->rep || regs->rcx == 0)
		regs->rip += d->len;
	return 0;
}

/*
 * The read-modify-write of REC_INSN_ALU, done by this CPU: the same
 * instruction on the same operands, so the result and the flags (the
 * architecturally undefined AF of and/or/xor included) are what the
 * program's own instruction gives.  The tracer's flags are not an input:
 * none of these reads any (inc and dec keep CF, merged by the caller).
 * The stack pointer steps over the red zone for pushf.
 */
#define RZ_IN "lea -128(%%rsp), %%rsp\n\t"
#define FL_OUT "\n\tpushfq\n\tpopq %1\n\tlea 128(%%rsp), %%rsp"
#define ALU2(MN) do {								\
	switch (size) {								\
	case 1: __asm__(RZ_IN MN "b %b2, %b0" FL_OUT : "+r"(x), "=&r"(f) : "r"(y) : "cc"); break; \
	case 2: __asm__(RZ_IN MN "w %w2, %w0" FL_OUT : "+r"(x), "=&r"(f) : "r"(y) : "cc"); break; \
	case 4: __asm__(RZ_IN MN "l %k2, %k0" FL_OUT : "+r"(x), "=&r"(f) : "r"(y) : "cc"); break; \
	default: __asm__(RZ_IN MN "q %q2, %q0" FL_OUT : "+r"(x), "=&r"(f) : "r"(y) : "cc"); break; \
	}									\
} while (0)
#define ALU1(MN) do {								\
	switch (size) {								\
	case 1: __asm__(RZ_IN MN "b %b0" FL_OUT : "+r"(x), "=&r"(f) : : "cc"); break; \
	case 2: __asm__(RZ_IN MN "w %w0" FL_OUT : "+r"(x), "=&r"(f) : : "cc"); break; \
	case 4: __asm__(RZ_IN MN "l %k0" FL_OUT : "+r"(x), "=&r"(f) : : "cc"); break; \
	default: __asm__(RZ_IN MN "q %q0" FL_OUT : "+r"(x), "=&r"(f) : : "cc"); break; \
	}									\
} while (0)

static uint64_t alu_run(unsigned op, unsigned size, uint64_t x, uint64_t y, uint64_t *flags)
{
	uint64_t f = 0;

	switch (op) {
	case REC_ALU_ADD: ALU2("add"); break;
	case REC_ALU_SUB: ALU2("sub"); break;
	case REC_ALU_AND: ALU2("and"); break;
	case REC_ALU_OR: ALU2("or"); break;
	case REC_ALU_XOR: ALU2("xor"); break;
	case REC_ALU_INC: ALU1("inc"); break;
	default: ALU1("dec"); break;
	}
	*flags = f;
	return x;
}

#define EFL_ARITH 0x8d5ull	/* OF SF ZF AF PF CF */
#define EFL_CF 0x1ull

/* What the instructions of one stop share: the registers, advanced as
 * each instruction is performed, and the XSAVE area once it is read. */
struct stop_ctx {
	struct user_regs_struct regs;
	bool have_xs;
};

static uint8_t xsave_buf[16384];

enum { EMU_DONE = 0, EMU_FATAL = -1, EMU_NO = -2 };

/*
 * Perform and record the store D at c->regs.rip (R2, R3, and the
 * read-modify-writes of REC_INSN_ALU), and advance c->regs past it.
 * Returns EMU_DONE; or a signal the CPU would raise instead, with nothing
 * written; or EMU_NO if D does not store to a writable pmem mapping as a
 * whole (nothing done); or EMU_FATAL after rec_fatal().
 */
static int emulate(struct rec *r, struct rec_task *t, struct stop_ctx *c,
		   const struct rec_insn *d)
{
	struct user_regs_struct *regs = &c->regs;
	uint64_t next = regs->rip + d->len, ea = rec_ea(regs, &d->mem, next), eflags = regs->eflags;
	size_t size = d->size;
	enum trace_op op = d->nt ? TRACE_NTSTORE : TRACE_STORE;
	uint8_t val[64];
	char sym[512];
	int rc;

	if (d->kind == REC_INSN_STRING) {
		rec_sym(r, t, regs->rip, regs->rsp, sym, sizeof(sym));
		rc = string_store(r, t, regs, d, sym);
		if (rc == 1)
			return EMU_NO;
		if (rc == 0)
			r->st.emulated++;
		return rc;
	}
	if (d->kind == REC_INSN_MOVDIR64B) {
		ea = rec_reg(regs, d->reg, NULL);
		if (ea & 63)
			return EMU_NO;	/* #GP on the CPU */
	}
	struct rec_pmap *m = rec_pmap_find(t->as, ea);
	if (!m || !(m->prot & PROT_WRITE) || ea + size > m->end || size > sizeof(val))
		return EMU_NO;
	switch (d->kind) {
	case REC_INSN_MOV_GPR:
	case REC_INSN_MOV_IMM: {
		uint64_t v = d->kind == REC_INSN_MOV_GPR ? rec_reg(regs, d->reg, NULL)
							 : (uint64_t)d->imm;
		memcpy(val, &v, 8);
		break;
	}
	case REC_INSN_MOV_VEC:
		if (!r->xsave_size)
			rec_xsave_init(r);	/* CPUID: slow in a VM, so only if needed */
		if (!c->have_xs) {
			struct iovec io = { xsave_buf, r->xsave_size < sizeof(xsave_buf) ?
						       r->xsave_size : sizeof(xsave_buf) };
			if (ptrace(PTRACE_GETREGSET, t->tid, (void *)NT_X86_XSTATE, &io)) {
				rec_fatal(r, "cannot read the vector registers of thread %d",
					  t->tid);
				return EMU_FATAL;
			}
			c->have_xs = true;
		}
		if (vec_bytes(r, xsave_buf, d->reg, val)) {
			rec_fatal(r, "cannot read the vector registers of thread %d", t->tid);
			return EMU_FATAL;
		}
		break;
	case REC_INSN_MOVDIR64B: {
		uint64_t src = rec_ea(regs, &d->mem, next);
		if (rec_read(t->tid, src, val, 64))
			return SIGSEGV;
		op = TRACE_NTSTORE;
		break;
	}
	case REC_INSN_ALU: {
		uint64_t cur = 0, f;
		if (!in_file(m->file, m->off + (ea - m->start), size))
			return SIGBUS;
		/* from the file: the page may be mapped without PROT_READ */
		if (pread(m->file->fd, &cur, size, (off_t)(m->off + (ea - m->start))) !=
		    (ssize_t)size) {
			rec_fatal(r, "cannot read the pmem operand of `%s`: %s", d->text,
				  strerror(errno));
			return EMU_FATAL;
		}
		uint64_t v = alu_run(d->alu, (unsigned)size, cur,
				     d->reg ? rec_reg(regs, d->reg, NULL) : (uint64_t)d->imm, &f);
		uint64_t mask = d->alu == REC_ALU_INC || d->alu == REC_ALU_DEC ? EFL_ARITH & ~EFL_CF
									  : EFL_ARITH;
		eflags = (eflags & ~mask) | (f & mask);
		memcpy(val, &v, 8);
		break;
	}
	default:
		return EMU_NO;
	}
	rec_sym(r, t, regs->rip, regs->rsp, sym, sizeof(sym));
	rc = pmem_store(r, t, m, ea, val, size, op, sym);
	if (rc)
		return rc;
	regs->rip = next;
	regs->eflags = eflags;
	r->st.emulated++;
	return EMU_DONE;
}

/* R5: record the flush or fence of breakpoint BP for T (REGS: its
 * registers at the instruction). */
static void site_event(struct rec *r, struct rec_task *t, const struct user_regs_struct *regs,
		       const struct rec_bp *bp)
{
	const struct rec_site *s = bp->site;
	uint64_t at = bp->addr;
	char sym[512];

	switch (s->kind) {
	case REC_SITE_CLFLUSH:
	case REC_SITE_CLFLUSHOPT:
	case REC_SITE_CLWB: {
		uint64_t ea = rec_ea(regs, &s->mem, at + s->len);
		struct rec_pmap *m = rec_pmap_find(t->as, ea);
		if (m) {
			rec_sym(r, t, at, regs->rsp, sym, sizeof(sym));
			emit_plain(r, t, s->kind == REC_SITE_CLFLUSH ? TRACE_CLFLUSH :
				   s->kind == REC_SITE_CLFLUSHOPT ? TRACE_CLFLUSHOPT : TRACE_CLWB,
				   true, rec_ns_addr(r, m, ea & ~(uint64_t)(REC_LINE - 1)), sym);
			r->st.flushes++;
			t->pending = true;
		}
		break;
	}
	case REC_SITE_SFENCE:
	case REC_SITE_MFENCE:
	case REC_SITE_PCOMMIT:
		if (t->pending || s->kind == REC_SITE_PCOMMIT) {
			rec_sym(r, t, at, regs->rsp, sym, sizeof(sym));
			rec_fence_task(r, t, s->kind == REC_SITE_SFENCE ? TRACE_SFENCE :
				       s->kind == REC_SITE_MFENCE ? TRACE_MFENCE : TRACE_PCOMMIT, sym);
		}
		break;
	default:
		break;
	}
}

/*
 * The run (R2): after a store or a breakpoint, go on with the
 * instructions that follow while each is a flush or fence site, or a
 * store of a kind emulate() performs to a writable pmem mapping, and stop
 * at the first other one, which the CPU then executes.  None of these
 * changes a register but rip, the flags (ALU) or rdi/rsi/rcx (strings),
 * and c->regs follows them.  So libpmem's four vmovntdq of a 256-byte
 * copy cost one stop, not four, and a store right before an sfence costs
 * no second stop.  Nothing is missed or reordered: the instructions are
 * the thread's next ones, in order; and the pages stay read-only, so any
 * thread's store that is not taken here faults as before.  0, or -1.
 */
#define RUN_MAX 256
static int run_on(struct rec *r, struct rec_task *t, struct stop_ctx *c)
{
	for (int n = 0; n < RUN_MAX; n++) {
		const struct rec_bp *bp = rec_bp_find(t->as, c->regs.rip);
		if (bp) {
			site_event(r, t, &c->regs, bp);
			c->regs.rip = bp->addr + bp->site->len;
			r->st.followed++;
			continue;
		}
		const struct rec_insn *d = rec_decode(r, t, c->regs.rip);
		if (!d)
			return 0;
		switch (d->kind) {
		case REC_INSN_MOV_GPR:
		case REC_INSN_MOV_IMM:
		case REC_INSN_MOV_VEC:
		case REC_INSN_MOVDIR64B:
		case REC_INSN_STRING:
		case REC_INSN_ALU:
			break;
		default:
			return 0;
		}
		int rc = emulate(r, t, c, d);
		if (rc == EMU_FATAL)
			return -1;
		if (rc != EMU_DONE)
			return 0;	/* the CPU does it, and faults if it must */
		r->st.followed++;
	}
	return 0;
}

/*
 * A SIGSEGV stop of T.  If it is a store to a pmem mapping, perform and
 * record it (and the run after it) and resume T: returns 1.  Returns 0 if
 * the fault is the program's own (the caller delivers it), -1 after
 * rec_fatal().
 */
int rec_on_segv(struct rec *r, struct rec_task *t)
{
	siginfo_t si;
	struct stop_ctx c = { .have_xs = false };
	const struct rec_insn *d;
	struct rec_pmap *m;
	char sym[512];
	int rc = 0, sig = 0;

	if (ptrace(PTRACE_GETSIGINFO, t->tid, 0, &si) || si.si_code != SEGV_ACCERR)
		return 0;
	m = rec_pmap_find(t->as, (uint64_t)(uintptr_t)si.si_addr);
	if (!m || !(m->prot & PROT_WRITE))
		return 0;
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &c.regs)) {
		rec_fatal(r, "ptrace GETREGS: %s", strerror(errno));
		return -1;
	}
	r->st.faults++;
	d = rec_decode(r, t, c.regs.rip);
	if (!d) {
		rec_sym(r, t, c.regs.rip, c.regs.rsp, sym, sizeof(sym));
		rec_fatal(r, "cannot read the instruction at %s", sym);
		return -1;
	}
	switch (d->kind) {
	case REC_INSN_MOV_GPR:
	case REC_INSN_MOV_IMM:
	case REC_INSN_MOV_VEC:
	case REC_INSN_ALU:
		rc = emulate(r, t, &c, d);
		if (rc == EMU_NO) {
			rec_sym(r, t, c.regs.rip, c.regs.rsp, sym, sizeof(sym));
			return refuse(r, t, d, sym, "a store that leaves the pmem mapping");
		}
		break;
	case REC_INSN_MOVDIR64B:
	case REC_INSN_STRING:
		rc = emulate(r, t, &c, d);
		if (rc == EMU_NO)
			return 0;	/* the CPU's own fault: deliver it */
		break;
	case REC_INSN_STEP: {
		uint64_t ea = rec_ea(&c.regs, &d->mem, c.regs.rip + d->len);
		rec_sym(r, t, c.regs.rip, c.regs.rsp, sym, sizeof(sym));
		if (!(m = rec_pmap_find(t->as, ea)))
			return refuse(r, t, d, sym, "its memory operand is not where it faulted");
		rc = displaced_step(r, t, &c.regs, d, m, ea, sym, &sig);
		break;
	}
	default:
		rec_sym(r, t, c.regs.rip, c.regs.rsp, sym, sizeof(sym));
		return refuse(r, t, d, sym, "the recorder does not know how this instruction "
			      "writes memory");
	}
	if (rc < 0)
		return -1;
	if (rc > 0) {
		sig = rc;	/* SIGBUS or SIGSEGV, as the CPU would have */
	} else {
		if (!sig && run_on(r, t, &c) < 0)
			return -1;
		if (ptrace(PTRACE_SETREGS, t->tid, 0, &c.regs)) {
			rec_fatal(r, "ptrace SETREGS: %s", strerror(errno));
			return -1;
		}
	}
	ptrace(PTRACE_CONT, t->tid, 0, (void *)(uintptr_t)sig);
	return 1;
}

/* R5: a SIGTRAP stop at one of our breakpoints.  Records the flush or
 * fence, steps over it (the instruction is not executed: the stop itself
 * serializes, and the page cache needs no flush), goes on with the run
 * after it and resumes T.  1; 0 if the trap is not ours; -1 after
 * rec_fatal(). */
int rec_on_trap(struct rec *r, struct rec_task *t)
{
	struct stop_ctx c = { .have_xs = false };
	const struct rec_bp *bp;

	if (ptrace(PTRACE_GETREGS, t->tid, 0, &c.regs))
		return 0;
	bp = rec_bp_find(t->as, c.regs.rip - 1);
	if (!bp)
		return 0;
	r->st.breakpoints++;
	site_event(r, t, &c.regs, bp);
	c.regs.rip = bp->addr + bp->site->len;
	if (run_on(r, t, &c) < 0)
		return -1;
	ptrace(PTRACE_SETREGS, t->tid, 0, &c.regs);
	ptrace(PTRACE_CONT, t->tid, 0, 0);
	return 1;
}

/*
 * The kernel's own writes to a pmem file (write(), pwrite() on its
 * descriptor), in the CPU layer: recorded as the DAX write path performs
 * them, non-temporal stores and a fence (docs/record.md).
 */
void rec_pmem_writes(struct rec *r, struct rec_task *t, struct rec_file *f, uint64_t off,
		     const uint8_t *data, size_t n, const char *sym)
{
	if (!n)
		return;
	emit_data(r, t, TRACE_NTSTORE, f->base + off, data, n, sym);
	if (off + n > f->extent)
		f->extent = off + n;
	rec_fence_task(r, t, TRACE_SFENCE, sym);
}

/*
 * A pmem file's contents when the program first opens or maps it, in the
 * CPU layer: every non-zero line as a store and a clwb, then one sfence
 * and `mark name=initial-contents`.  (The namespace starts as zeros; the
 * crash points before the mark are states the program never saw.)
 */
void rec_pmem_initial(struct rec *r, struct rec_file *f)
{
	uint8_t buf[1 << 16];
	struct stat st;
	bool any = false;
	uint64_t off = 0;
	struct rec_task fake = { .cpu = 0 };

	if (f->seen || f->fd < 0)
		return;
	f->seen = true;
	if (fstat(f->fd, &st))
		return;
	f->size = (uint64_t)st.st_size;
	if (f->size > f->extent)
		f->extent = f->size;
	if (r->layer != REC_LAYER_CPU)
		return;
	for (;;) {
		ssize_t n = pread(f->fd, buf, sizeof(buf), (off_t)off);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i += REC_LINE) {
			size_t k = (size_t)(n - i) < REC_LINE ? (size_t)(n - i) : REC_LINE;
			bool nz = false;
			for (size_t j = 0; j < k && !nz; j++)
				nz = buf[i + j] != 0;
			if (!nz)
				continue;
			emit_data(r, &fake, TRACE_STORE, f->base + off + (uint64_t)i, buf + i, k,
				  "initial-contents");
			emit_plain(r, &fake, TRACE_CLWB, true, f->base + off + (uint64_t)i,
				   "initial-contents");
			any = true;
		}
		off += (uint64_t)n;
	}
	if (any) {
		fake.pending = true;
		rec_fence_task(r, &fake, TRACE_SFENCE, "initial-contents");
		struct trace_event ev = { .op = TRACE_MARK, .fields = TRACE_F_NAME };
		ev.name.s = "initial-contents";
		ev.name.len = strlen(ev.name.s);
		rec_emit(r, &ev);
	}
}
