#!/usr/bin/python3
"""Write store_log.log and store_log_verbose.log: pmemcheck --log-stores logs
written from pmemcheck's own format strings (pmc_main.c's VG_(emit) calls:
"START", "|REGISTER_FILE;%s;0x%lx;0x%lx;0x%lx", "|STORE;0x%lx;0x%lx;0x%lx"
plus ";%s" per stack frame, "|FLUSH;0x%lx;0x%llx", "|FENCE", "|%s" for
VALGRIND_PMC_EMIT_LOG, "|STOP\\n").  Not the output of a pmemcheck run: no
public log exists and Debian has no pmemcheck (docs/import-pmemcheck.md)."""
base = 0x4028000
recs = ["START", "REGISTER_FILE;/mnt/pmem/pool.obj;0x%x;0x2000;0x0" % base]


def st(a, v, n):
    recs.append("STORE;0x%x;0x%x;0x%x" % (a, v, n))


# a publish pattern: data, persist, then the valid flag, persist
recs.append("PMREORDER_PUBLISH.BEGIN")
for i in range(4):
    st(base + 0x100 + 8 * i, 0x1111111111111111 * (i + 1), 8)
recs += ["FLUSH;0x%x;0x40" % (base + 0x100), "FENCE"]
st(base + 0x40, 1, 8)
recs += ["FLUSH;0x%x;0x40" % (base + 0x40), "FENCE", "PMREORDER_PUBLISH.END"]
# stores of each width, flushed by one VALGRIND_PMC_DO_FLUSH of 256 bytes
st(base + 0x200, 0xab, 1)
st(base + 0x202, 0xcdef, 2)
st(base + 0x204, 0x01234567, 4)
recs += ["FLUSH;0x%x;0x100" % (base + 0x200), "FENCE"]
# a clflush of memory outside the pool (pmemcheck logs every cache flush)
recs.append("FLUSH;0x7ffc0000;0x40")
open("store_log.log", "w").write("|".join(recs) + "|STOP\n")
# the same run without -q and with --log-stores-stacktraces=yes, depth 2
v = ["==4242== pmemcheck-1.0, a simple persistent store checker\n"
     "==4242== Command: ./publish /mnt/pmem/pool.obj\n==4242== \nSTART"]
for r in recs[1:]:
    if r.startswith("STORE;"):
        r += ";0x10A1F3: publish (publish.c:21);0x10A2B7: main (publish.c:40)"
    v.append(r)
open("store_log_verbose.log", "w").write(
    "|".join(v) + "|STOP\n==4242== \n==4242== Number of stores not made persistent: 0\n"
    "==4242== ERROR SUMMARY: 0 errors\n")
