/*
 * record.h — `powercut record`: run an unmodified x86-64 Linux program
 * under ptrace and write a powercut trace of its file system calls and of
 * its stores, flushes and fences to persistent-memory mappings.
 *
 * docs/record.md is the user's description; tools/record/record.c opens
 * with the method.
 */
#ifndef POWERCUT_RECORD_H
#define POWERCUT_RECORD_H

/*
 * ARGV[0] is "record"; then -o TRACE [--pmem PATH]... [--layer cpu|file]
 * -- PROGRAM [ARGS...].  Returns the program's exit status (128 + N if a
 * signal N killed it), or 2 after a one-line "powercut: ..." message on bad
 * usage or when the recording could not be completed (no trace is left
 * behind then).
 */
int record_main(int argc, char **argv);

#endif
