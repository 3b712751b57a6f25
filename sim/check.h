/*
 * check.h — `powercut check`, `powercut merge` and `powercut report`.
 */
#ifndef POWERCUT_CHECK_H
#define POWERCUT_CHECK_H

#include <stdio.h>

/* ARGV[0] is "check" / "merge".  Exit status: 0 no violation, 1
 * violations, 2 bad usage or input. */
int sim_check_main(int argc, char **argv);
int sim_merge_main(int argc, char **argv);

void sim_check_help(FILE *out);
void sim_merge_help(FILE *out);

/* `powercut report REPORT.json -o OUT.html` (report.c).  0, or 2. */
int sim_report_main(int argc, char **argv);
void sim_report_help(FILE *out);

#endif
