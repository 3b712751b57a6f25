/*
 * record.c — `powercut record`: run an unmodified x86-64 Linux program
 * under ptrace and write a trace of what it did to files and to
 * persistent memory.
 *
 * Method.
 *
 *   R1  Tracing.  The program runs as the recorder's child under
 *       PTRACE_TRACEME, with PTRACE_O_TRACEFORK/VFORK/CLONE/EXEC, so every
 *       process and thread it makes is traced from its first instruction,
 *       and with a seccomp filter (installed just before execve) that
 *       stops it only at the system calls the trace needs (file calls,
 *       mmap/munmap/mprotect/mremap/msync, the dup family, reads that
 *       could target pmem).  Every other system call runs at full speed.
 *   R2-R4  Stores.  A mapping of a pmem file (every --pmem PATH, and every
 *       MAP_SYNC mapping) is made without PROT_WRITE: the recorder strips
 *       it from mmap's and mprotect's arguments and remembers what the
 *       program asked for.  So every instruction that writes to pmem —
 *       any store, vector or not, non-temporal or not, rep movs/stos,
 *       movdir64b, a locked operation — faults, in every thread, from the
 *       first store to the last.  Nothing can write there without the
 *       recorder seeing it: that is the whole argument for "nothing is
 *       missed".  The recorder performs the store itself (rec_store.c)
 *       and records it, with the stores that follow it in the same stop
 *       (a run, rec_store.c).  The kernel's own writes to a pmem file
 *       (write() on its descriptor) are recorded from the system call.
 *   R5  Flushes and fences do not fault (they need no write permission),
 *       so each clflush, clflushopt, clwb, sfence, mfence and pcommit of
 *       every ELF object the program maps executable (the program, ld.so,
 *       libc, libpmem, ... found with libelf, decoded with capstone) gets
 *       an int3 (rec_code.c).  Whatever libpmem picks at run time (clwb,
 *       clflushopt or clflush; SSE2, AVX or AVX-512 copies; movdir64b), the
 *       instruction it executes is one of those sites.
 *   R6  Symbols: every CPU event carries sym= (rec_code.c).
 *   R7  The trace.  Layer cpu (the default when --pmem is given): a CPU
 *       trace whose addresses are offsets in a pmem namespace made of the
 *       pmem files, the first at 0, the next at 64 GiB, and so on
 *       (REC_SLOT); `config pmem.size=` is the end of the last one, so
 *       `check --checker-file` materializes an image as big as the file.
 *       File system calls appear as `#` comments (a CPU trace cannot hold
 *       file events).  Layer file (the default without --pmem): file
 *       events for the files under --root (default: the current
 *       directory), written relative to it; each pmem mapping is an `mmap`
 *       event and its CPU events use the program's virtual addresses,
 *       inside the mmap range, as the format says.
 *   R8  Output.  Events go to a temporary body file; at the end the header
 *       (version, config lines sized from what was seen) and the body are
 *       written to TRACE through sim_atomic_open/commit: a reader never
 *       sees half a trace, and a failed recording leaves none.
 *   R9  One CPU.  Unless --cpu-unbound, the recorder binds itself, and so
 *       the program, to the CPU it runs on (as rr does).  A ptrace stop
 *       then wakes a task on the same CPU, a context switch, instead of
 *       another CPU, which in a VM may have to be woken from halt: on the
 *       2-CPU development VM with the other CPU nearly idle, the recording
 *       of the bench took 0.09-0.11 s bound instead of 0.16-0.19 s (before
 *       the runs, 9 stops a record).  With both CPUs busy with other jobs,
 *       medians of alternating runs were 24-28 ms bound against 20-113 ms
 *       unbound.  The program's threads share that CPU; the recording is
 *       the same.
 *
 * Notes:
 *   - x86-64 programs only; a 32-bit system call (int 0x80) or process is
 *     refused.  No set-uid programs (the seccomp filter needs
 *     no_new_privs).
 *   - A write by the kernel into a pmem mapping (read() into it) fails
 *     with EFAULT, as the page is read-only; the recorder says so.
 *   - Locked instructions on ordinary memory are not recorded as fences:
 *     a program that orders its clwb with one instead of sfence shows
 *     more crash states than the hardware allows, never fewer.
 *   - System calls whose exit changes nothing (an mmap of neither pmem nor
 *     code, an mprotect of neither, a munmap of neither, a close of a
 *     descriptor the trace does not know) stop at entry only.
 *   - Threads are CPUs: the first thread to touch pmem is cpu=0, the next
 *     cpu=1, and so on (at most 64; `config cpus=` says how many).
 */
#define _GNU_SOURCE
#include "record.h"
#include "rec_int.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../sim/json.h"

#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

static struct rec *g_rec;		/* for the root path in helpers */
static char g_root[PATH_MAX];
static size_t g_rootlen;

/* ---- messages ---- */

void rec_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("powercut: record: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void rec_fatal(struct rec *r, const char *fmt, ...)
{
	va_list ap;

	if (r->failed)
		return;
	r->failed = true;
	fputs("powercut: record: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("powercut: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

/* ---- tracee memory ---- */

int rec_read(pid_t pid, uint64_t addr, void *buf, size_t n)
{
	struct iovec l = { buf, n }, rm = { (void *)(uintptr_t)addr, n };
	return process_vm_readv(pid, &l, 1, &rm, 1, 0) == (ssize_t)n ? 0 : -1;
}

int rec_write(pid_t pid, uint64_t addr, const void *buf, size_t n)
{
	struct iovec l = { (void *)buf, n }, rm = { (void *)(uintptr_t)addr, n };
	return process_vm_writev(pid, &l, 1, &rm, 1, 0) == (ssize_t)n ? 0 : -1;
}

static char *read_str(pid_t pid, uint64_t addr)
{
	char *s = malloc(PATH_MAX + 1);
	size_t got = 0;

	if (!addr) {
		free(s);
		return NULL;
	}
	while (got < PATH_MAX) {
		/* read up to the end of the page, so no read crosses into an
		 * unmapped one */
		size_t k = 4096 - ((addr + got) & 4095);
		if (k > PATH_MAX - got)
			k = PATH_MAX - got;
		if (rec_read(pid, addr + got, s + got, k)) {
			free(s);
			return NULL;
		}
		void *z = memchr(s + got, 0, k);
		got += k;
		if (z)
			return s;
	}
	s[PATH_MAX] = '\0';
	return s;
}

/* ---- output (R7, R8) ---- */

void rec_emit(struct rec *r, struct trace_event *ev)
{
	if (r->layer == REC_LAYER_CPU && trace_op_layer(ev->op) == TRACE_LAYER_FILE)
		fputs("# ", r->body);
	trace_write_event(r->body, ev);
	if (trace_op_layer(ev->op) == TRACE_LAYER_FILE)
		r->st.file_events++;
}

int rec_cpu_of(struct rec *r, struct rec_task *t)
{
	if (t->cpu < 0) {
		t->cpu = r->ncpus < 64 ? r->ncpus++ : (int)(t->tid % 64);
		if (r->ncpus == 64 && t->cpu == (int)(t->tid % 64))
			rec_warn("more than 64 threads store to pmem: threads share cpu= numbers");
	}
	return t->cpu;
}

static void comment(struct rec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void comment(struct rec *r, const char *fmt, ...)
{
	va_list ap;

	fputs("# ", r->body);
	va_start(ap, fmt);
	vfprintf(r->body, fmt, ap);
	va_end(ap);
	fputc('\n', r->body);
}

static void set_str(struct trace_str *s, const char *v)
{
	s->s = v;
	s->len = strlen(v);
}

/* ---- paths (R7: the file layer's root) ---- */

/* The absolute, canonical-directory form of PATH as seen by task T
 * relative to DIRFD.  malloc'ed, or NULL. */
static char *resolve(struct rec_task *t, int dirfd, const char *path)
{
	char base[PATH_MAX], link[64], full[2 * PATH_MAX + 2], dir[PATH_MAX];
	ssize_t n;

	if (!path)
		return NULL;
	if (path[0] == '/') {
		snprintf(full, sizeof(full), "%s", path);
	} else {
		if (dirfd == AT_FDCWD)
			snprintf(link, sizeof(link), "/proc/%d/cwd", t->tid);
		else
			snprintf(link, sizeof(link), "/proc/%d/fd/%d", t->tid, dirfd);
		n = readlink(link, base, sizeof(base) - 1);
		if (n <= 0)
			return NULL;
		base[n] = '\0';
		snprintf(full, sizeof(full), "%s/%s", base, path);
	}
	/* canonical directory, literal last component */
	size_t l = strlen(full);
	while (l > 1 && full[l - 1] == '/')
		full[--l] = '\0';
	char *slash = strrchr(full, '/');
	const char *last = slash + 1;
	if (slash == full)
		snprintf(dir, sizeof(dir), "/");
	else {
		*slash = '\0';
		if (!realpath(full, dir))
			snprintf(dir, sizeof(dir), "%s", full);
	}
	if (!strcmp(last, ".") || !strcmp(last, "..")) {
		char tmp[2 * PATH_MAX + 2];
		snprintf(tmp, sizeof(tmp), "%s/%s", dir, last);
		if (realpath(tmp, dir))
			return strdup(dir);
		return NULL;
	}
	snprintf(full, sizeof(full), "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", last);
	return strdup(full);
}

/* The trace path of ABS: "/..." relative to --root, or NULL outside it. */
static const char *rel(const char *abs)
{
	if (!abs)
		return NULL;
	if (!strcmp(g_root, "/"))
		return abs;
	if (strncmp(abs, g_root, g_rootlen))
		return NULL;
	if (abs[g_rootlen] == '\0')
		return "/";
	if (abs[g_rootlen] != '/')
		return NULL;
	return abs + g_rootlen;
}

/* Directories the model knows (created in the trace): the parents of a
 * path are made with `mkdir` before their first use when they existed
 * before the recording. */
static char **known_dirs;
static size_t nknown, capknown;

static bool dir_known(const char *p)
{
	for (size_t i = 0; i < nknown; i++)
		if (!strcmp(known_dirs[i], p))
			return true;
	return false;
}

static void dir_add(const char *p)
{
	if (dir_known(p))
		return;
	if (nknown == capknown) {
		capknown = capknown ? 2 * capknown : 64;
		known_dirs = realloc(known_dirs, capknown * sizeof(*known_dirs));
	}
	known_dirs[nknown++] = strdup(p);
}

static void ensure_parents(struct rec *r, const char *relp)
{
	char buf[PATH_MAX];

	if (r->layer != REC_LAYER_FILE)
		return;
	snprintf(buf, sizeof(buf), "%s", relp);
	for (char *s = strchr(buf + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (!dir_known(buf)) {
			struct trace_event ev = { .op = TRACE_MKDIR, .fields = TRACE_F_PATH };
			set_str(&ev.path, buf);
			rec_emit(r, &ev);
			dir_add(buf);
		}
		*s = '/';
	}
}

/* ---- file descriptors ---- */

static struct rec_fdt *fdt_new(void)
{
	struct rec_fdt *f = calloc(1, sizeof(*f));
	f->refs = 1;
	return f;
}

#define FD_CLOEXEC_BIT ((uintptr_t)1)

static struct rec_ofd *fd_get(struct rec_fdt *f, long fd)
{
	if (fd < 0 || fd >= f->cap)
		return NULL;
	return (struct rec_ofd *)((uintptr_t)f->fd[fd] & ~FD_CLOEXEC_BIT);
}

static void fd_put_slot(struct rec_fdt *f, int fd, struct rec_ofd *o, bool cloexec)
{
	if (fd >= f->cap) {
		int nc = f->cap ? f->cap : 64;
		while (nc <= fd)
			nc *= 2;
		f->fd = realloc(f->fd, (size_t)nc * sizeof(*f->fd));
		memset(f->fd + f->cap, 0, (size_t)(nc - f->cap) * sizeof(*f->fd));
		f->cap = nc;
	}
	f->fd[fd] = o ? (struct rec_ofd *)((uintptr_t)o | (cloexec ? FD_CLOEXEC_BIT : 0)) : NULL;
	if (o)
		o->refs++;
}

static bool tfd_used[1024];

static void ofd_put(struct rec *r, struct rec_ofd *o)
{
	if (!o || --o->refs > 0)
		return;
	struct trace_event ev = { .op = TRACE_CLOSE, .fields = TRACE_F_FD, .fd = (uint32_t)o->tfd };
	rec_emit(r, &ev);
	if (o->tfd < 1024)
		tfd_used[o->tfd] = false;
	free(o->path);
	free(o);
}

static void fd_close(struct rec *r, struct rec_fdt *f, long fd)
{
	struct rec_ofd *o = fd_get(f, fd);
	if (!o)
		return;
	f->fd[fd] = NULL;
	ofd_put(r, o);
}

static struct rec_fdt *fdt_copy(const struct rec_fdt *src)
{
	struct rec_fdt *f = fdt_new();
	for (int i = 0; i < src->cap; i++) {
		struct rec_ofd *o = fd_get((struct rec_fdt *)src, i);
		if (o)
			fd_put_slot(f, i, o, (uintptr_t)src->fd[i] & FD_CLOEXEC_BIT);
	}
	return f;
}

static void fdt_put(struct rec *r, struct rec_fdt *f)
{
	if (!f || --f->refs > 0)
		return;
	for (int i = 0; i < f->cap; i++)
		fd_close(r, f, i);
	free(f->fd);
	free(f);
}

/* ---- pmem files ---- */

static struct rec_file *pmem_by_path(struct rec *r, const char *abs)
{
	for (int i = 0; i < r->npmem; i++)
		if (!strcmp(r->pmem[i].path, abs))
			return &r->pmem[i];
	return NULL;
}

static struct rec_file *pmem_add(struct rec *r, const char *abs)
{
	struct rec_file *f;

	if (r->npmem == REC_MAX_PMEM)
		return NULL;
	f = &r->pmem[r->npmem];
	memset(f, 0, sizeof(*f));
	f->path = strdup(abs);
	f->fd = -1;
	f->base = (uint64_t)r->npmem * REC_SLOT;
	r->npmem++;
	return f;
}

static int pmem_open(struct rec *r, struct rec_file *f)
{
	if (f->fd >= 0)
		return 0;
	f->fd = open(f->path, O_RDWR | O_CLOEXEC);
	if (f->fd < 0) {
		rec_fatal(r, "cannot open the pmem file %s: %s", f->path, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- address spaces ---- */

static struct rec_as *as_new(pid_t pid)
{
	struct rec_as *as = calloc(1, sizeof(*as));
	char p[64];

	as->refs = 1;
	as->pid = pid;
	snprintf(p, sizeof(p), "/proc/%d/mem", pid);
	as->memfd = open(p, O_RDWR | O_CLOEXEC);
	return as;
}

static void as_put(struct rec_as *as)
{
	if (!as || --as->refs > 0)
		return;
	if (as->memfd >= 0)
		close(as->memfd);
	rec_as_forget_code(as);
	free(as->pmaps);
	free(as);
}

static struct rec_as *as_fork(const struct rec_as *src, pid_t pid)
{
	struct rec_as *as = as_new(pid);

	rec_bp_copy(as, src);
	if (src->npmaps) {
		as->pmaps = malloc(src->npmaps * sizeof(*as->pmaps));
		memcpy(as->pmaps, src->pmaps, src->npmaps * sizeof(*as->pmaps));
		as->npmaps = as->cappmaps = src->npmaps;
	}
	return as;
}

/* Remove [s, e) from the pmem mappings (munmap, or a new mapping over
 * it).  Returns whether any pmem mapping was touched. */
static bool pmaps_cut(struct rec_as *as, uint64_t s, uint64_t e)
{
	bool any = false;

	for (size_t i = 0; i < as->npmaps;) {
		struct rec_pmap *m = &as->pmaps[i];
		if (e <= m->start || s >= m->end) {
			i++;
			continue;
		}
		any = true;
		if (s > m->start && e < m->end) {	/* split */
			struct rec_pmap tail = *m;
			tail.off += e - m->start;
			tail.start = e;
			m->end = s;
			if (as->npmaps == as->cappmaps) {
				as->cappmaps = as->cappmaps ? 2 * as->cappmaps : 8;
				as->pmaps = realloc(as->pmaps, as->cappmaps * sizeof(*as->pmaps));
			}
			as->pmaps[as->npmaps++] = tail;
			i++;
		} else if (s <= m->start && e >= m->end) {
			as->pmaps[i] = as->pmaps[--as->npmaps];
		} else if (s <= m->start) {
			m->off += e - m->start;
			m->start = e;
			i++;
		} else {
			m->end = s;
			i++;
		}
	}
	return any;
}

static void pmaps_add(struct rec_as *as, const struct rec_pmap *m)
{
	if (as->npmaps == as->cappmaps) {
		as->cappmaps = as->cappmaps ? 2 * as->cappmaps : 8;
		as->pmaps = realloc(as->pmaps, as->cappmaps * sizeof(*as->pmaps));
	}
	as->pmaps[as->npmaps++] = *m;
}

/* ---- tasks ---- */

static struct rec_task *task_find(struct rec *r, pid_t tid)
{
	for (struct rec_task *t = r->tasks; t; t = t->next)
		if (t->tid == tid)
			return t;
	return NULL;
}

static struct rec_task *task_new(struct rec *r, pid_t tid)
{
	struct rec_task *t = calloc(1, sizeof(*t));
	t->tid = tid;
	t->cpu = -1;
	t->next = r->tasks;
	r->tasks = t;
	return t;
}

static void task_del(struct rec *r, struct rec_task *t)
{
	struct rec_task **p = &r->tasks;
	while (*p && *p != t)
		p = &(*p)->next;
	if (*p)
		*p = t->next;
	as_put(t->as);
	fdt_put(r, t->fdt);
	free(t->saved);
	free(t);
}

/* ---- system calls ---- */

static const long traced_calls[] = {
	SYS_open, SYS_openat, SYS_openat2, SYS_creat, SYS_close, SYS_close_range,
	SYS_dup, SYS_dup2, SYS_dup3, SYS_fcntl,
	SYS_write, SYS_pwrite64, SYS_writev, SYS_pwritev, SYS_pwritev2,
	SYS_read, SYS_pread64, SYS_readv, SYS_preadv, SYS_preadv2,
	SYS_fsync, SYS_fdatasync, SYS_sync, SYS_syncfs,
	SYS_ftruncate, SYS_truncate, SYS_fallocate,
	SYS_rename, SYS_renameat, SYS_renameat2, SYS_link, SYS_linkat,
	SYS_unlink, SYS_unlinkat, SYS_mkdir, SYS_mkdirat, SYS_rmdir,
	SYS_symlink, SYS_symlinkat, SYS_fsetxattr, SYS_setxattr, SYS_lsetxattr,
	SYS_fremovexattr, SYS_removexattr, SYS_lremovexattr,
	SYS_mmap, SYS_munmap, SYS_mprotect, SYS_pkey_mprotect, SYS_mremap, SYS_msync,
	SYS_copy_file_range, SYS_sendfile, SYS_splice, SYS_io_uring_setup,
};
#define NTRACED (sizeof(traced_calls) / sizeof(traced_calls[0]))

static int install_filter(void)
{
	struct sock_filter f[NTRACED + 8];
	unsigned n = 0;

	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, nr));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000,
					      (uint8_t)(NTRACED + 1), 0);
	for (unsigned i = 0; i < NTRACED; i++)
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						      (uint32_t)traced_calls[i],
						      (uint8_t)(NTRACED - i), 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
	struct sock_fprog prog = { .len = (unsigned short)n, .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
}

static uint32_t open_flags(uint64_t fl)
{
	uint32_t o = 0;

	switch (fl & O_ACCMODE) {
	case O_WRONLY: o |= TRACE_O_WRONLY; break;
	case O_RDWR: o |= TRACE_O_RDWR; break;
	default: o |= TRACE_O_RDONLY; break;
	}
	if (fl & O_CREAT) o |= TRACE_O_CREAT;
	if (fl & O_EXCL) o |= TRACE_O_EXCL;
	if (fl & O_TRUNC) o |= TRACE_O_TRUNC;
	if (fl & O_APPEND) o |= TRACE_O_APPEND;
	if (fl & O_DIRECT) o |= TRACE_O_DIRECT;
	if ((fl & O_SYNC) == O_SYNC) o |= TRACE_O_SYNC;
	else if (fl & O_DSYNC) o |= TRACE_O_DSYNC;
	if (fl & O_DIRECTORY) o |= TRACE_O_DIRECTORY;
	return o;
}

static void sym_of_task(struct rec *r, struct rec_task *t, const struct user_regs_struct *regs,
			char *buf, size_t len)
{
	rec_sym(r, t, regs->rip, regs->rsp, buf, len);
}

/* A file event with sym= of the system call's caller. */
static void emit_file(struct rec *r, struct trace_event *ev, const char *sym)
{
	if (sym && *sym) {
		ev->fields |= TRACE_F_SYM;
		set_str(&ev->sym, sym);
	}
	rec_emit(r, ev);
}

static void on_open(struct rec *r, struct rec_task *t, long fd, uint64_t flags, const char *sym)
{
	char link[64], abs[PATH_MAX];
	struct stat st;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/fd/%ld", t->tid, fd);
	n = readlink(link, abs, sizeof(abs) - 1);
	if (n <= 0 || abs[0] != '/' || stat(link, &st))
		return;
	abs[n] = '\0';
	struct rec_file *pf = pmem_by_path(r, abs);
	if (!pf && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return;
	const char *rp = rel(abs);
	bool writable = (flags & O_ACCMODE) != O_RDONLY;
	if (!pf && (!rp || (!writable && !S_ISDIR(st.st_mode) && !(flags & O_CREAT))))
		return;		/* read-only opens and files outside --root */
	struct rec_ofd *o = calloc(1, sizeof(*o));
	o->path = strdup(abs);
	o->pmem = pf;
	o->append = flags & O_APPEND;
	o->tfd = -1;
	for (int i = 3; i < 1024; i++)
		if (!tfd_used[i]) {
			tfd_used[i] = true;
			o->tfd = i;
			break;
		}
	if (o->tfd < 0) {
		rec_warn("more than 1020 files open at once: %s is not recorded", abs);
		free(o->path);
		free(o);
		return;
	}
	fd_put_slot(t->fdt, (int)fd, o, flags & O_CLOEXEC);
	o->refs = 1;
	uint32_t tf = open_flags(flags);
	if (S_ISDIR(st.st_mode))
		tf = (tf & ~(TRACE_O_WRONLY | TRACE_O_RDWR | TRACE_O_CREAT | TRACE_O_TRUNC)) |
		     TRACE_O_DIRECTORY | TRACE_O_RDONLY;
	else if (!(tf & TRACE_O_CREAT))
		tf |= TRACE_O_CREAT;	/* it existed before: the model creates it */
	if (rp)
		ensure_parents(r, rp);
	if (rp && S_ISDIR(st.st_mode) && strcmp(rp, "/") && !dir_known(rp) &&
	    r->layer == REC_LAYER_FILE) {
		/* a directory that existed before the recording */
		struct trace_event mk = { .op = TRACE_MKDIR, .fields = TRACE_F_PATH };
		set_str(&mk.path, rp);
		rec_emit(r, &mk);
		dir_add(rp);
	}
	struct trace_event ev = { .op = TRACE_OPEN, .fields = TRACE_F_FD | TRACE_F_PATH | TRACE_F_FLAGS };
	ev.fd = (uint32_t)o->tfd;
	ev.flags = tf;
	set_str(&ev.path, rp ? rp : abs);
	emit_file(r, &ev, sym);
	if (pf) {
		if (pmem_open(r, pf))
			return;
		rec_pmem_initial(r, pf);
	}
}

/* Bytes the kernel wrote from the program's buffers: a write(), pwrite()
 * or their vector forms, N = the return value. */
static uint8_t *gather(struct rec_task *t, bool vec, uint64_t buf, uint64_t cnt, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	if (!vec) {
		if (rec_read(t->tid, buf, d, n)) {
			free(d);
			return NULL;
		}
		return d;
	}
	size_t got = 0;
	for (uint64_t i = 0; i < cnt && got < n; i++) {
		struct iovec io;
		if (rec_read(t->tid, buf + i * sizeof(io), &io, sizeof(io)))
			break;
		size_t k = io.iov_len < n - got ? io.iov_len : n - got;
		if (k && rec_read(t->tid, (uint64_t)(uintptr_t)io.iov_base, d + got, k))
			break;
		got += k;
	}
	if (got != n) {
		free(d);
		return NULL;
	}
	return d;
}

static uint64_t fd_pos(pid_t tid, long fd)
{
	char p[64], line[128];
	FILE *f;
	unsigned long long pos = 0;

	snprintf(p, sizeof(p), "/proc/%d/fdinfo/%ld", tid, fd);
	if (!(f = fopen(p, "re")))
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "pos: %llu", &pos) == 1)
			break;
	fclose(f);
	return pos;
}

static void on_write(struct rec *r, struct rec_task *t, const struct user_regs_struct *regs,
		     const char *sym)
{
	long nr = t->nr, ret = (long)regs->rax;
	struct rec_ofd *o = fd_get(t->fdt, (long)t->arg[0]);
	bool vec = nr == SYS_writev || nr == SYS_pwritev || nr == SYS_pwritev2;
	uint64_t off;

	if (!o || ret <= 0)
		return;
	if (nr == SYS_pwrite64 || ((nr == SYS_pwritev || nr == SYS_pwritev2) && (int64_t)t->arg[3] != -1))
		off = t->arg[3];
	else
		off = fd_pos(t->tid, (long)t->arg[0]) - (uint64_t)ret;
	uint8_t *d = gather(t, vec, t->arg[1], t->arg[2], (size_t)ret);
	if (!d) {
		rec_fatal(r, "cannot read the data of a write to %s", o->path);
		return;
	}
	struct trace_event ev = { .op = TRACE_PWRITE,
		.fields = TRACE_F_FD | TRACE_F_OFF | TRACE_F_LEN | TRACE_F_DATA };
	ev.fd = (uint32_t)o->tfd;
	ev.off = off;
	ev.len = (uint64_t)ret;
	ev.data.kind = TRACE_PAYLOAD_HEX;
	ev.data.len = (uint64_t)ret;
	ev.data.bytes = d;
	if (o->pmem && r->layer == REC_LAYER_CPU) {
		comment(r, "pwrite fd=%d off=%" PRIu64 " len=%ld (recorded as the DAX write path: "
			"non-temporal stores and a fence)", o->tfd, off, ret);
		rec_pmem_writes(r, t, o->pmem, off, d, (size_t)ret, sym);
	} else {
		emit_file(r, &ev, sym);
	}
	free(d);
}

/* In the CPU layer, a kernel write-back of a pmem file (fsync,
 * fdatasync, msync MS_SYNC) is a wbinvd: every dirty line reaches the
 * persistence domain (docs/record.md says what that hides). */
static void pmem_writeback(struct rec *r, struct rec_task *t, const char *sym)
{
	struct trace_event ev = { .op = TRACE_WBINVD, .fields = TRACE_F_SYM };
	int cpu = rec_cpu_of(r, t);
	if (cpu) {
		ev.fields |= TRACE_F_CPU;
		ev.cpu = (uint32_t)cpu;
	}
	set_str(&ev.sym, sym);
	rec_emit(r, &ev);
	t->pending = false;
}

static void emit_path_event(struct rec *r, enum trace_op op, const char *a, const char *b,
			    const char *sym, const char *what)
{
	const char *ra = rel(a), *rb = b ? rel(b) : NULL;
	struct trace_event ev = { .op = op };

	if (!ra || (b && !rb && op != TRACE_SYMLINK)) {
		comment(r, "%s %s%s%s: outside --root, not recorded", what, a ? a : "?",
			b ? " " : "", b ? b : "");
		return;
	}
	switch (op) {
	case TRACE_RENAME:
	case TRACE_LINK:
		ensure_parents(r, ra);
		ensure_parents(r, rb);
		ev.fields = TRACE_F_FROM | TRACE_F_TO;
		set_str(&ev.from, ra);
		set_str(&ev.to, rb);
		break;
	case TRACE_SYMLINK:
		ensure_parents(r, ra);
		ev.fields = TRACE_F_FROM | TRACE_F_TO;
		set_str(&ev.from, b);	/* the target, verbatim */
		set_str(&ev.to, ra);
		break;
	default:
		ensure_parents(r, ra);
		ev.fields = TRACE_F_PATH;
		set_str(&ev.path, ra);
		if (op == TRACE_MKDIR)
			dir_add(ra);
		break;
	}
	emit_file(r, &ev, sym);
}

static bool overlaps_pmem(struct rec_as *as, uint64_t a, uint64_t n)
{
	for (size_t i = 0; i < as->npmaps; i++)
		if (a < as->pmaps[i].end && a + n > as->pmaps[i].start)
			return true;
	return false;
}

/* Does an mmap that is not of a pmem file need its exit stop?  Only if it
 * maps code (breakpoints to place, R5) or replaces part of a pmem mapping
 * (MAP_FIXED).  The others, most of ld.so's and malloc's, cost one stop,
 * not two. */
static bool map_needs_exit(struct rec_task *t, const uint64_t *a)
{
	if (a[2] & PROT_EXEC)
		return true;
	return (a[3] & MAP_FIXED) && overlaps_pmem(t->as, a[0], (a[1] + 4095) & ~4095ull);
}

/* Entry of a traced system call.  Returns true if its exit is needed. */
static bool sys_enter(struct rec *r, struct rec_task *t, struct user_regs_struct *regs)
{
	long nr = (long)regs->orig_rax;
	uint64_t *a = t->arg;

	t->nr = nr;
	a[0] = regs->rdi, a[1] = regs->rsi, a[2] = regs->rdx;
	a[3] = regs->r10, a[4] = regs->r8, a[5] = regs->r9;
	t->aux = 0;
	switch (nr) {
	case SYS_mmap: {
		int fd = (int)a[4];
		uint64_t flags = a[3];
		if ((flags & MAP_ANONYMOUS) || fd < 0)
			return map_needs_exit(t, a);
		struct rec_ofd *o = fd_get(t->fdt, fd);
		struct rec_file *pf = o ? o->pmem : NULL;
		if (!pf) {
			char link[64], abs[PATH_MAX];
			snprintf(link, sizeof(link), "/proc/%d/fd/%d", t->tid, fd);
			ssize_t n = readlink(link, abs, sizeof(abs) - 1);
			if (n > 0) {
				abs[n] = '\0';
				pf = pmem_by_path(r, abs);
				if (!pf && (flags & MAP_SYNC) &&
				    (flags & MAP_SHARED_VALIDATE) == MAP_SHARED_VALIDATE)
					pf = pmem_add(r, abs);	/* may fail: then not pmem */
			}
		}
		if (!pf)
			return map_needs_exit(t, a);
		if ((flags & MAP_SHARED_VALIDATE) == MAP_PRIVATE) {
			if (!r->warned_private)
				rec_warn("a MAP_PRIVATE mapping of the pmem file %s: its stores "
					 "never reach the file and are not recorded", pf->path);
			r->warned_private = true;
			return true;
		}
		t->aux = (uint64_t)(pf - r->pmem) + 1;
		t->aux |= (a[2] & 7) << 8;	/* the prot the program asked for */
		if (a[2] & PROT_WRITE) {
			regs->rdx &= ~(uint64_t)PROT_WRITE;
			ptrace(PTRACE_SETREGS, t->tid, 0, regs);
		}
		return true;
	}
	case SYS_mprotect:
	case SYS_pkey_mprotect:
		if (overlaps_pmem(t->as, a[0], a[1])) {
			t->aux = 1;
			if (a[2] & PROT_WRITE) {
				regs->rdx &= ~(uint64_t)PROT_WRITE;
				ptrace(PTRACE_SETREGS, t->tid, 0, regs);
			}
		}
		return t->aux || (a[2] & PROT_EXEC);
	case SYS_munmap:
		return overlaps_pmem(t->as, a[0], (a[1] + 4095) & ~4095ull) ||
		       rec_code_overlaps(t->as, a[0], a[0] + ((a[1] + 4095) & ~4095ull));
	case SYS_close:
		return fd_get(t->fdt, (long)(int)a[0]) != NULL;	/* untracked: nothing to do */
	case SYS_mremap:
		if (overlaps_pmem(t->as, a[0], a[1])) {
			rec_fatal(r, "mremap of a pmem mapping is not supported");
			for (struct rec_task *u = r->tasks; u; u = u->next)
				kill(u->tid, SIGKILL);
			return false;
		}
		return true;
	case SYS_read:
	case SYS_pread64:
		if (overlaps_pmem(t->as, a[1], a[2]) && !r->warned_sysbuf) {
			rec_warn("a read() into a pmem mapping fails with EFAULT under the "
				 "recorder (the kernel's writes to pmem are not recorded)");
			r->warned_sysbuf = true;
		}
		return false;
	case SYS_readv:
	case SYS_preadv:
	case SYS_preadv2:
		return false;
	case SYS_copy_file_range:
	case SYS_sendfile:
	case SYS_splice:
	case SYS_io_uring_setup:
		if (!r->warned_unsupported)
			rec_warn("system call %ld (copy_file_range, sendfile, splice or "
				 "io_uring) changes files without file events: not recorded", nr);
		r->warned_unsupported = true;
		return false;
	case SYS_rename:
	case SYS_renameat:
	case SYS_renameat2:
	case SYS_unlink:
	case SYS_unlinkat:
	case SYS_rmdir: {
		/* resolve before the call: the directory may be gone after */
		int dfd = nr == SYS_rename || nr == SYS_unlink || nr == SYS_rmdir ? AT_FDCWD : (int)a[0];
		uint64_t p = nr == SYS_rename || nr == SYS_unlink || nr == SYS_rmdir ? a[0] : a[1];
		char *s = read_str(t->tid, p);
		free(t->saved);
		t->saved = resolve(t, dfd, s);
		free(s);
		return true;
	}
	default:
		return true;
	}
}

static void sys_exit(struct rec *r, struct rec_task *t, struct user_regs_struct *regs)
{
	long nr = t->nr, ret = (long)regs->rax;
	uint64_t *a = t->arg;
	char sym[512];
	struct trace_event ev = { .op = TRACE_OP_NONE };

	if (ret < 0 && ret > -4096 && nr != SYS_mprotect && nr != SYS_pkey_mprotect)
		return;		/* failed: nothing happened */
	sym_of_task(r, t, regs, sym, sizeof(sym));
	switch (nr) {
	case SYS_open:
		on_open(r, t, ret, a[1], sym);
		break;
	case SYS_creat:
		on_open(r, t, ret, O_CREAT | O_WRONLY | O_TRUNC, sym);
		break;
	case SYS_openat:
		on_open(r, t, ret, a[2], sym);
		break;
	case SYS_openat2: {
		uint64_t how[3] = { 0 };
		rec_read(t->tid, a[2], how, sizeof(how));
		on_open(r, t, ret, how[0], sym);
		break;
	}
	case SYS_close:
		fd_close(r, t->fdt, (long)a[0]);
		break;
	case SYS_close_range:
		for (uint64_t fd = a[0]; fd <= a[1] && fd < (uint64_t)t->fdt->cap; fd++) {
			if (a[2] & CLOSE_RANGE_CLOEXEC) {
				if (t->fdt->fd[fd])
					t->fdt->fd[fd] = (struct rec_ofd *)((uintptr_t)t->fdt->fd[fd] |
									    FD_CLOEXEC_BIT);
			} else {
				fd_close(r, t->fdt, (long)fd);
			}
		}
		break;
	case SYS_dup:
	case SYS_dup2:
	case SYS_dup3: {
		struct rec_ofd *o = fd_get(t->fdt, (long)a[0]);
		if (nr != SYS_dup && (long)a[0] == ret)
			break;
		fd_close(r, t->fdt, ret);
		if (o)
			fd_put_slot(t->fdt, (int)ret, o, nr == SYS_dup3 && (a[2] & O_CLOEXEC));
		break;
	}
	case SYS_fcntl:
		if (a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC) {
			struct rec_ofd *o = fd_get(t->fdt, (long)a[0]);
			if (o)
				fd_put_slot(t->fdt, (int)ret, o, a[1] == F_DUPFD_CLOEXEC);
		} else if (a[1] == F_SETFD && fd_get(t->fdt, (long)a[0])) {
			struct rec_ofd *o = fd_get(t->fdt, (long)a[0]);
			t->fdt->fd[a[0]] = (struct rec_ofd *)((uintptr_t)o |
							      ((a[2] & FD_CLOEXEC) ? FD_CLOEXEC_BIT : 0));
		}
		break;
	case SYS_write:
	case SYS_pwrite64:
	case SYS_writev:
	case SYS_pwritev:
	case SYS_pwritev2:
		on_write(r, t, regs, sym);
		break;
	case SYS_fsync:
	case SYS_fdatasync: {
		struct rec_ofd *o = fd_get(t->fdt, (long)a[0]);
		if (!o)
			break;
		ev.op = nr == SYS_fsync ? TRACE_FSYNC : TRACE_FDATASYNC;
		ev.fields = TRACE_F_FD;
		ev.fd = (uint32_t)o->tfd;
		emit_file(r, &ev, sym);
		if (o->pmem && r->layer == REC_LAYER_CPU)
			pmem_writeback(r, t, sym);
		break;
	}
	case SYS_sync:
	case SYS_syncfs:
		ev.op = TRACE_SYNC;
		emit_file(r, &ev, sym);
		if (r->layer == REC_LAYER_CPU && r->npmem)
			pmem_writeback(r, t, sym);
		break;
	case SYS_ftruncate: {
		struct rec_ofd *o = fd_get(t->fdt, (long)a[0]);
		if (!o)
			break;
		ev.op = TRACE_FTRUNCATE;
		ev.fields = TRACE_F_FD | TRACE_F_LEN;
		ev.fd = (uint32_t)o->tfd;
		ev.len = a[1];
		emit_file(r, &ev, sym);
		if (o->pmem && a[1] > o->pmem->extent)
			o->pmem->extent = a[1];
		break;
	}
	case SYS_truncate: {
		char *s = read_str(t->tid, a[0]);
		char *abs = resolve(t, AT_FDCWD, s);
		comment(r, "truncate path=%s len=%" PRIu64 " (a path truncate has no event)",
			abs ? abs : "?", a[1]);
		free(s);
		free(abs);
		break;
	}
	case SYS_fallocate: {
		struct rec_ofd *o = fd_get(t->fdt, (long)a[0]);
		if (!o)
			break;
		ev.op = TRACE_FALLOCATE;
		ev.fields = TRACE_F_FD | TRACE_F_OFF | TRACE_F_LEN;
		ev.fd = (uint32_t)o->tfd;
		ev.off = a[2];
		ev.len = a[3];
		if (a[1]) {
			ev.fields |= TRACE_F_MODE;
			ev.flags = ((a[1] & 1) ? TRACE_FALLOC_KEEP_SIZE : 0) |
				   ((a[1] & 2) ? TRACE_FALLOC_PUNCH_HOLE : 0) |
				   ((a[1] & 0x10) ? TRACE_FALLOC_ZERO_RANGE : 0);
		}
		emit_file(r, &ev, sym);
		if (o->pmem && a[2] + a[3] > o->pmem->extent && !(a[1] & 1))
			o->pmem->extent = a[2] + a[3];
		break;
	}
	case SYS_rename:
	case SYS_renameat:
	case SYS_renameat2: {
		int dfd = nr == SYS_rename ? AT_FDCWD : (int)a[2];
		char *s = read_str(t->tid, nr == SYS_rename ? a[1] : a[3]);
		char *to = resolve(t, dfd, s);
		free(s);
		if (nr == SYS_renameat2 && (a[4] & RENAME_EXCHANGE))
			comment(r, "renameat2 RENAME_EXCHANGE %s %s: not representable",
				t->saved ? t->saved : "?", to ? to : "?");
		else
			emit_path_event(r, TRACE_RENAME, t->saved, to, sym, "rename");
		free(to);
		break;
	}
	case SYS_link:
	case SYS_linkat: {
		char *s1 = read_str(t->tid, nr == SYS_link ? a[0] : a[1]);
		char *s2 = read_str(t->tid, nr == SYS_link ? a[1] : a[3]);
		char *p1 = resolve(t, nr == SYS_link ? AT_FDCWD : (int)a[0], s1);
		char *p2 = resolve(t, nr == SYS_link ? AT_FDCWD : (int)a[2], s2);
		emit_path_event(r, TRACE_LINK, p1, p2, sym, "link");
		free(s1), free(s2), free(p1), free(p2);
		break;
	}
	case SYS_unlink:
		emit_path_event(r, TRACE_UNLINK, t->saved, NULL, sym, "unlink");
		break;
	case SYS_rmdir:
		emit_path_event(r, TRACE_RMDIR, t->saved, NULL, sym, "rmdir");
		break;
	case SYS_unlinkat:
		emit_path_event(r, (a[2] & AT_REMOVEDIR) ? TRACE_RMDIR : TRACE_UNLINK, t->saved,
				NULL, sym, "unlink");
		break;
	case SYS_mkdir:
	case SYS_mkdirat: {
		char *s = read_str(t->tid, nr == SYS_mkdir ? a[0] : a[1]);
		char *p = resolve(t, nr == SYS_mkdir ? AT_FDCWD : (int)a[0], s);
		emit_path_event(r, TRACE_MKDIR, p, NULL, sym, "mkdir");
		free(s), free(p);
		break;
	}
	case SYS_symlink:
	case SYS_symlinkat: {
		char *target = read_str(t->tid, a[0]);
		char *s = read_str(t->tid, nr == SYS_symlink ? a[1] : a[2]);
		char *p = resolve(t, nr == SYS_symlink ? AT_FDCWD : (int)a[1], s);
		if (target)
			emit_path_event(r, TRACE_SYMLINK, p, target, sym, "symlink");
		free(target), free(s), free(p);
		break;
	}
	case SYS_fsetxattr:
	case SYS_fremovexattr: {
		struct rec_ofd *o = fd_get(t->fdt, (long)a[0]);
		char *name = read_str(t->tid, a[1]);
		if (!o || !name) {
			free(name);
			break;
		}
		ev.fd = (uint32_t)o->tfd;
		set_str(&ev.name, name);
		uint8_t *d = NULL;
		if (nr == SYS_fsetxattr) {
			d = gather(t, false, a[2], 0, (size_t)a[3]);
			ev.op = TRACE_SETXATTR;
			ev.fields = TRACE_F_FD | TRACE_F_NAME | TRACE_F_LEN | TRACE_F_DATA;
			ev.len = a[3];
			ev.data.kind = TRACE_PAYLOAD_HEX;
			ev.data.len = a[3];
			ev.data.bytes = d;
			if (!d || !a[3]) {
				ev.data.kind = TRACE_PAYLOAD_FILL;
				ev.data.arg = 0;
			}
		} else {
			ev.op = TRACE_REMOVEXATTR;
			ev.fields = TRACE_F_FD | TRACE_F_NAME;
		}
		emit_file(r, &ev, sym);
		free(d);
		free(name);
		break;
	}
	case SYS_setxattr:
	case SYS_lsetxattr:
	case SYS_removexattr:
	case SYS_lremovexattr:
		comment(r, "a path-based xattr call (%ld): not recorded (use the f* forms)", nr);
		break;
	case SYS_mmap: {
		uint64_t start = (uint64_t)ret, len = (a[1] + 4095) & ~4095ull;
		bool cut = pmaps_cut(t->as, start, start + len);
		if (cut && r->layer == REC_LAYER_FILE) {
			ev.op = TRACE_MUNMAP;
			ev.fields = TRACE_F_ADDR | TRACE_F_LEN;
			ev.addr = start;
			ev.len = len;
			emit_file(r, &ev, sym);
		}
		if (a[2] & PROT_EXEC)
			rec_code_scan(r, t);
		if (!(t->aux & 0xff))
			break;
		struct rec_file *pf = &r->pmem[(t->aux & 0xff) - 1];
		struct rec_pmap m = { .start = start, .end = start + len, .off = a[5],
				      .prot = (int)((t->aux >> 8) & 7), .shared = true, .file = pf };
		if (pmem_open(r, pf))
			break;
		pmaps_add(t->as, &m);
		rec_pmem_initial(r, pf);
		if (a[5] + len > pf->extent) {
			struct stat st;
			uint64_t end = a[5] + len;
			if (!fstat(pf->fd, &st) && (uint64_t)st.st_size < end)
				end = (uint64_t)st.st_size > a[5] ? (uint64_t)st.st_size : a[5];
			if (end > pf->extent)
				pf->extent = end;
		}
		struct rec_ofd *o = fd_get(t->fdt, (long)(int)a[4]);
		if (r->layer == REC_LAYER_FILE && o) {
			ev.op = TRACE_MMAP;
			ev.fields = TRACE_F_FD | TRACE_F_ADDR | TRACE_F_LEN | TRACE_F_OFF | TRACE_F_FLAGS;
			ev.fd = (uint32_t)o->tfd;
			ev.addr = start;
			ev.len = len;
			ev.off = a[5];
			ev.flags = TRACE_MAP_SHARED | ((a[3] & MAP_SYNC) ? TRACE_MAP_SYNC : 0);
			emit_file(r, &ev, sym);
		} else {
			comment(r, "mmap of %s at 0x%" PRIx64 " len=%" PRIu64 " off=%" PRIu64
				" (namespace offset 0x%" PRIx64 ")", pf->path, start, len, a[5],
				pf->base + a[5]);
		}
		break;
	}
	case SYS_munmap:
		if (pmaps_cut(t->as, a[0], a[0] + ((a[1] + 4095) & ~4095ull))) {
			ev.op = TRACE_MUNMAP;
			ev.fields = TRACE_F_ADDR | TRACE_F_LEN;
			ev.addr = a[0];
			ev.len = (a[1] + 4095) & ~4095ull;
			emit_file(r, &ev, sym);
		}
		rec_code_scan(r, t);
		break;
	case SYS_mprotect:
	case SYS_pkey_mprotect:
		if (ret == 0 && t->aux)
			for (size_t i = 0; i < t->as->npmaps; i++) {
				struct rec_pmap *m = &t->as->pmaps[i];
				if (a[0] < m->end && a[0] + a[1] > m->start)
					m->prot = (int)(a[2] & 7);
			}
		if (ret == 0 && (a[2] & PROT_EXEC))
			rec_code_scan(r, t);
		break;
	case SYS_msync:
		if (overlaps_pmem(t->as, a[0], a[1])) {
			ev.op = TRACE_MSYNC;
			ev.fields = TRACE_F_ADDR | TRACE_F_LEN | TRACE_F_FLAGS;
			ev.addr = a[0];
			ev.len = a[1] ? a[1] : 1;
			ev.flags = ((a[2] & MS_SYNC) ? TRACE_MS_SYNC : 0) |
				   ((a[2] & MS_ASYNC) ? TRACE_MS_ASYNC : 0) |
				   ((a[2] & MS_INVALIDATE) ? TRACE_MS_INVALIDATE : 0);
			emit_file(r, &ev, sym);
			if (r->layer == REC_LAYER_CPU && (a[2] & MS_SYNC))
				pmem_writeback(r, t, sym);
		}
		break;
	default:
		break;
	}
}

/* ---- the loop (R1) ---- */

static void on_exec(struct rec *r, struct rec_task *t)
{
	as_put(t->as);
	t->as = as_new(t->tid);
	t->in_syscall = false;
	/* close-on-exec descriptors */
	if (t->fdt->refs > 1) {
		struct rec_fdt *c = fdt_copy(t->fdt);
		fdt_put(r, t->fdt);
		t->fdt = c;
	}
	for (int i = 0; i < t->fdt->cap; i++)
		if ((uintptr_t)t->fdt->fd[i] & FD_CLOEXEC_BIT)
			fd_close(r, t->fdt, i);
	char exe[PATH_MAX], p[64];
	snprintf(p, sizeof(p), "/proc/%d/exe", t->tid);
	ssize_t n = readlink(p, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	comment(r, "exec %s (process %d)", exe, t->tid);
	rec_code_scan(r, t);
}

static void on_new_task(struct rec *r, struct rec_task *parent, int event)
{
	unsigned long msg = 0;
	struct user_regs_struct regs;

	if (ptrace(PTRACE_GETEVENTMSG, parent->tid, 0, &msg))
		return;
	pid_t tid = (pid_t)msg;
	struct rec_task *c = task_find(r, tid);
	bool early = c != NULL;		/* its first stop came first */
	if (!c)
		c = task_new(r, tid);
	uint64_t flags = 0;
	if (event == PTRACE_EVENT_CLONE && !ptrace(PTRACE_GETREGS, parent->tid, 0, &regs)) {
		if (regs.orig_rax == SYS_clone)
			flags = regs.rdi;
		else if (regs.orig_rax == SYS_clone3)
			rec_read(parent->tid, regs.rdi, &flags, sizeof(flags));
	}
	if (event == PTRACE_EVENT_VFORK)
		flags = CLONE_VM;
	if (flags & CLONE_VM) {
		c->as = parent->as;
		c->as->refs++;
	} else {
		c->as = as_fork(parent->as, tid);
	}
	if (flags & CLONE_FILES) {
		c->fdt = parent->fdt;
		c->fdt->refs++;
	} else {
		c->fdt = fdt_copy(parent->fdt);
	}
	if (early && c->attached)
		ptrace(PTRACE_CONT, tid, 0, 0);
}

static void write_header(struct rec *r, FILE *out, char **argv)
{
	uint64_t size = 4096;

	fprintf(out, "version 1\n");
	fprintf(out, "# recorded by powercut record:");
	for (char **a = argv; *a; a++)
		fprintf(out, " %s", *a);
	fprintf(out, "\n");
	if (r->layer == REC_LAYER_CPU) {
		for (int i = 0; i < r->npmem; i++) {
			uint64_t end = r->pmem[i].base + r->pmem[i].extent;
			if (end > size)
				size = end;
			fprintf(out, "# pmem file %s at namespace offset 0x%" PRIx64 ", %" PRIu64
				" bytes\n", r->pmem[i].path, r->pmem[i].base, r->pmem[i].extent);
		}
		size = (size + 4095) & ~4095ull;
		fprintf(out, "config pmem.size=%" PRIu64 "%s", size, r->ncpus > 1 ? "" : "\n");
		if (r->ncpus > 1)
			fprintf(out, " cpus=%d\n", r->ncpus);
	} else if (r->ncpus > 1) {
		fprintf(out, "config cpus=%d\n", r->ncpus);
	}
	fprintf(out, "# layer %s; stores %" PRIu64 ", ntstores %" PRIu64 ", rmw %" PRIu64
		", flushes %" PRIu64 ", fences %" PRIu64 ", file events %" PRIu64 "\n",
		r->layer == REC_LAYER_CPU ? "cpu" : "file", r->st.stores, r->st.ntstores,
		r->st.rmws, r->st.flushes, r->st.fences, r->st.file_events);
	fprintf(out, "# faults %" PRIu64 " (emulated %" PRIu64 ", stepped %" PRIu64
		"), breakpoints hit %" PRIu64 ", flush/fence sites %" PRIu64 ", done in runs %"
		PRIu64 "\n", r->st.faults, r->st.emulated, r->st.stepped, r->st.breakpoints,
		r->st.sites, r->st.followed);
}

static bool bind_cpu(cpu_set_t *before)
{
	cpu_set_t one;
	int cpu = sched_getcpu();

	if (sched_getaffinity(0, sizeof(*before), before))
		return false;
	if (cpu < 0 || !CPU_ISSET(cpu, before))
		for (cpu = 0; cpu < CPU_SETSIZE && !CPU_ISSET(cpu, before); cpu++)
			;
	if (cpu >= CPU_SETSIZE)
		return false;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	return sched_setaffinity(0, sizeof(one), &one) == 0;
}

static void help(FILE *out)
{
	fprintf(out,
		"usage: powercut record -o TRACE [--pmem PATH]... [--layer cpu|file] [--root DIR]\n"
		"                       [--cpu-unbound] -- PROGRAM [ARGS...]\n"
		"\n"
		"Runs PROGRAM (x86-64 Linux, unmodified) under ptrace, following its forks\n"
		"and threads, and writes TRACE: its file system calls and every store,\n"
		"non-temporal store, flush and fence to persistent-memory mappings (the\n"
		"--pmem files and any MAP_SYNC mapping), each with sym=function+offset.\n"
		"\n"
		"  -o TRACE        the trace to write (written whole, or not at all)\n"
		"  --pmem PATH     a file the program maps as persistent memory (repeatable);\n"
		"                  it need not exist yet\n"
		"  --layer cpu     a CPU trace: addresses are offsets in the pmem files (the\n"
		"                  first at 0, the next at 64 GiB, ...); file calls are comments.\n"
		"                  The default with --pmem; what `check --checker` needs.\n"
		"  --layer file    a file trace: file events under --root, mmap events, and\n"
		"                  CPU events at the program's addresses.  The default without\n"
		"                  --pmem.\n"
		"  --root DIR      the directory that is / in a file trace (default: .)\n"
		"  --cpu-unbound   let the program's threads use every CPU (default: the\n"
		"                  program and the recorder share one CPU, which makes each\n"
		"                  ptrace stop a context switch, not a cross-CPU wake-up)\n"
		"\n"
		"Exit status: the program's (128+N if signal N killed it), or 2 if the\n"
		"recording failed (a one-line message says why).  docs/record.md has more.\n");
}

int record_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "pmem", required_argument, NULL, 'p' },
		{ "layer", required_argument, NULL, 'l' },
		{ "root", required_argument, NULL, 'r' },
		{ "cpu-unbound", no_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rec rr, *r = &rr;
	const char *out = NULL, *layer = NULL, *root = ".";
	const char *pm[REC_MAX_PMEM];
	int npm = 0, c, st, status = 0;
	bool unbound = false;
	char err[512];

	memset(r, 0, sizeof(*r));
	g_rec = r;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'p':
			if (npm == REC_MAX_PMEM)
				return usage_error("record: at most %d --pmem files", REC_MAX_PMEM);
			pm[npm++] = optarg;
			break;
		case 'l': layer = optarg; break;
		case 'r': root = optarg; break;
		case 'u': unbound = true; break;
		case 'h': help(stdout); return 0;
		default:
			return usage_error("record: unknown option '%s' (powercut record --help)",
					   argv[optind - 1]);
		}
	}
	if (!out)
		return usage_error("record: missing -o TRACE");
	if (optind >= argc)
		return usage_error("record: missing the program to run (after --)");
	if (layer && strcmp(layer, "cpu") && strcmp(layer, "file"))
		return usage_error("record: --layer: expected cpu or file, not '%s'", layer);
	r->layer = layer ? (!strcmp(layer, "cpu") ? REC_LAYER_CPU : REC_LAYER_FILE)
			 : (npm ? REC_LAYER_CPU : REC_LAYER_FILE);
	if (r->layer == REC_LAYER_CPU && !npm)
		return usage_error("record: --layer cpu needs at least one --pmem PATH");
	if (!realpath(root, g_root))
		return usage_error("record: --root %s: %s", root, strerror(errno));
	g_rootlen = strlen(g_root);
	for (int i = 0; i < npm; i++) {
		char dir[PATH_MAX], tmp[PATH_MAX], abs[2 * PATH_MAX + 2];
		snprintf(tmp, sizeof(tmp), "%s", pm[i]);
		char *slash = strrchr(tmp, '/');
		const char *base = slash ? slash + 1 : tmp;
		if (slash == tmp)
			snprintf(dir, sizeof(dir), "/");
		else {
			if (slash)
				*slash = '\0';
			if (!realpath(slash ? tmp : ".", dir))
				return usage_error("record: --pmem %s: %s", pm[i], strerror(errno));
		}
		if (!*base)
			return usage_error("record: --pmem %s: not a file name", pm[i]);
		snprintf(abs, sizeof(abs), "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", base);
		if (!pmem_by_path(r, abs))
			pmem_add(r, abs);
	}
	/* the program must exist: a missing one is bad usage, not its status */
	const char *prog = argv[optind];
	if (!strchr(prog, '/')) {
		const char *path = getenv("PATH");
		bool found = false;
		char cand[PATH_MAX];
		for (const char *p = path ? path : "/usr/bin:/bin"; p && *p && !found;) {
			const char *e = strchr(p, ':');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			snprintf(cand, sizeof(cand), "%.*s/%s", (int)n, p, prog);
			found = access(cand, X_OK) == 0;
			p = e ? e + 1 : NULL;
		}
		if (!found)
			return usage_error("record: %s: command not found", prog);
	} else if (access(prog, X_OK)) {
		return usage_error("record: %s: %s", prog, strerror(errno));
	}
	if (elf_version(EV_CURRENT) == EV_NONE)
		return usage_error("record: libelf: %s", elf_errmsg(-1));
	struct sim_atomic at;
	if (sim_atomic_open(&at, out, err, sizeof(err)))
		return usage_error("record: %s", err);
	r->body = tmpfile();
	if (!r->body) {
		sim_atomic_abort(&at);
		return usage_error("record: cannot make a temporary file: %s", strerror(errno));
	}

	cpu_set_t cpus_before;
	bool bound = !unbound && bind_cpu(&cpus_before);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		sim_atomic_abort(&at);
		return usage_error("record: fork: %s", strerror(errno));
	}
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		if (install_filter()) {
			fprintf(stderr, "powercut: record: cannot install the seccomp filter: %s\n",
				strerror(errno));
			_exit(126);
		}
		execvp(prog, argv + optind);
		fprintf(stderr, "powercut: record: %s: %s\n", prog, strerror(errno));
		_exit(127);
	}
	r->child = pid;
	if (waitpid(pid, &st, 0) < 0 || !WIFSTOPPED(st)) {
		sim_atomic_abort(&at);
		return usage_error("record: the program did not start under ptrace");
	}
	ptrace(PTRACE_SETOPTIONS, pid, 0,
	       PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
	       PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_TRACESECCOMP |
	       PTRACE_O_EXITKILL);
	struct rec_task *t0 = task_new(r, pid);
	t0->attached = true;
	t0->as = as_new(pid);
	t0->fdt = fdt_new();
	ptrace(PTRACE_CONT, pid, 0, 0);

	while (r->tasks) {
		pid_t tid = waitpid(-1, &st, __WALL);
		if (tid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		struct rec_task *t = task_find(r, tid);
		r->stops++;
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			if (tid == r->child)
				status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			if (t)
				task_del(r, t);
			continue;
		}
		if (!WIFSTOPPED(st))
			continue;
		int sig = WSTOPSIG(st), event = st >> 16;
		if (!t) {
			/* a new task whose parent's event has not arrived yet */
			t = task_new(r, tid);
			t->attached = true;
			continue;	/* resumed by on_new_task */
		}
		if (!t->attached) {
			t->attached = true;
			if (sig == SIGSTOP) {
				ptrace(PTRACE_CONT, tid, 0, 0);
				continue;
			}
		}
		if (r->failed) {
			kill(tid, SIGKILL);
			ptrace(PTRACE_CONT, tid, 0, 0);
			continue;
		}
		if (sig == SIGTRAP && event) {
			switch (event) {
			case PTRACE_EVENT_FORK:
			case PTRACE_EVENT_VFORK:
			case PTRACE_EVENT_CLONE:
				on_new_task(r, t, event);
				break;
			case PTRACE_EVENT_EXEC:
				on_exec(r, t);
				break;
			case PTRACE_EVENT_SECCOMP: {
				struct user_regs_struct regs;
				if (ptrace(PTRACE_GETREGS, tid, 0, &regs))
					break;
				if (regs.orig_rax >= 0x40000000 || regs.cs != 0x33) {
					rec_fatal(r, "process %d makes 32-bit or x32 system calls: "
						  "only x86-64 programs can be recorded", tid);
					for (struct rec_task *u = r->tasks; u; u = u->next)
						kill(u->tid, SIGKILL);
					break;
				}
				if (sys_enter(r, t, &regs)) {
					t->in_syscall = true;
					ptrace(PTRACE_SYSCALL, tid, 0, 0);
					continue;
				}
				break;
			}
			default:
				break;
			}
			ptrace(PTRACE_CONT, tid, 0, 0);
			continue;
		}
		if (sig == (SIGTRAP | 0x80)) {
			if (t->in_syscall) {
				struct user_regs_struct regs;
				t->in_syscall = false;
				if (!ptrace(PTRACE_GETREGS, tid, 0, &regs))
					sys_exit(r, t, &regs);
				ptrace(PTRACE_CONT, tid, 0, 0);
			} else {
				ptrace(PTRACE_SYSCALL, tid, 0, 0);	/* entry: wait for exit */
				t->in_syscall = true;
			}
			continue;
		}
		if (sig == SIGSEGV || sig == SIGTRAP) {
			int h = sig == SIGSEGV ? rec_on_segv(r, t) : rec_on_trap(r, t);
			if (h < 0)	/* the recording failed: end the program */
				for (struct rec_task *u = r->tasks; u; u = u->next)
					kill(u->tid, SIGKILL);
			if (h)
				continue;
		}
		ptrace(PTRACE_CONT, tid, 0, (void *)(uintptr_t)sig);
	}

	if (bound)
		sched_setaffinity(0, sizeof(cpus_before), &cpus_before);
	int rc = status;
	if (!r->failed) {
		write_header(r, at.f, argv + optind);
		rewind(r->body);
		char buf[1 << 16];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), r->body)) > 0)
			fwrite(buf, 1, n, at.f);
		if (ferror(r->body) || sim_atomic_commit(&at, err, sizeof(err))) {
			rc = usage_error("record: cannot write %s: %s", out,
					 ferror(r->body) ? "read error" : err);
		}
	} else {
		sim_atomic_abort(&at);
		rc = 2;
	}
	fclose(r->body);
	for (int i = 0; i < r->npmem; i++) {
		if (r->pmem[i].fd >= 0)
			close(r->pmem[i].fd);
		free(r->pmem[i].path);
	}
	for (size_t i = 0; i < nknown; i++)
		free(known_dirs[i]);
	free(known_dirs);
	known_dirs = NULL;
	nknown = capknown = 0;
	memset(tfd_used, 0, sizeof(tfd_used));
	rec_code_free(r);
	(void)g_rec;
	return rc;
}
