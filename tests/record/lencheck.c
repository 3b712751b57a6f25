/*
 * lencheck.c — rec_insn_len() (tools/record/rec_code.c, the fast sweep
 * of the flush and fence search) against capstone, instruction by
 * instruction over the executable sections of the ELF files named on the
 * command line (tests/test_record.py runs it on libc, libpmem, ld.so and
 * powercut itself).
 *
 *   lencheck FILE...
 *
 * Prints per file the instructions compared, how many rec_insn_len()
 * left to capstone, how many it measured where capstone 4 finds no
 * instruction (AVX-512 mask moves, movdir64b, tables in .text: the sweep
 * is then right where capstone would resynchronize byte by byte), and
 * every disagreement: a length that differs from capstone's.  Exits 1 if
 * there is one.
 */
#define _GNU_SOURCE
#include <capstone/capstone.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../tools/record/rec_int.h"

/* lencheck links rec_code.c alone: what it would take from record.c */
void rec_fatal(struct rec *r, const char *fmt, ...)
{
	(void)r;
	(void)fmt;
}

void rec_warn(const char *fmt, ...)
{
	(void)fmt;
}

int rec_read(pid_t pid, uint64_t addr, void *buf, size_t n)
{
	(void)pid;
	(void)addr;
	(void)buf;
	(void)n;
	return -1;
}

int main(int argc, char **argv)
{
	csh cs;
	int bad = 0;

	if (argc < 2 || elf_version(EV_CURRENT) == EV_NONE ||
	    cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) {
		fprintf(stderr, "usage: lencheck FILE...\n");
		return 2;
	}
	cs_insn *in = cs_malloc(cs);
	for (int a = 1; a < argc; a++) {
		int fd = open(argv[a], O_RDONLY);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) || st.st_size == 0) {
			perror(argv[a]);
			return 2;
		}
		uint8_t *img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		Elf *e = img == MAP_FAILED ? NULL : elf_memory((char *)img, (size_t)st.st_size);
		if (!e) {
			fprintf(stderr, "%s: not an ELF file\n", argv[a]);
			return 2;
		}
		unsigned long total = 0, left_to_cs = 0, cs_none = 0, diffs = 0;
		Elf_Scn *scn = NULL;
		while ((scn = elf_nextscn(e, scn))) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
			    !(sh.sh_flags & SHF_EXECINSTR) ||
			    sh.sh_offset + sh.sh_size > (uint64_t)st.st_size)
				continue;
			const uint8_t *p = img + sh.sh_offset;
			size_t left = sh.sh_size;
			uint64_t addr = sh.sh_addr;
			while (left) {
				const uint8_t *q = p;
				size_t l = left;
				uint64_t aa = addr;
				size_t mine = rec_insn_len(p, left);
				bool ok = cs_disasm_iter(cs, &q, &l, &aa, in);
				size_t step = ok ? in->size : 1;
				total++;
				if (!mine)
					left_to_cs++;
				else if (!ok)
					cs_none++;
				else if (mine != in->size) {
					if (diffs++ < 20) {
						printf("%s: 0x%llx:", argv[a], (unsigned long long)addr);
						for (size_t i = 0; i < 15 && i < left; i++)
							printf(" %02x", p[i]);
						printf(": rec_insn_len %zu, capstone `%s %s` (%u)\n", mine,
						       in->mnemonic, in->op_str, (unsigned)in->size);
					}
				}
				p += step, left -= step, addr += step;
			}
		}
		printf("%s: %lu instructions, %lu left to capstone, %lu unknown to capstone, "
		       "%lu disagreements\n", argv[a], total, left_to_cs, cs_none, diffs);
		bad |= diffs != 0;
		elf_end(e);
		munmap(img, (size_t)st.st_size);
		close(fd);
	}
	cs_free(in, 1);
	cs_close(&cs);
	return bad;
}
