/*
 * driver.c — `powercut record` before it is wired into sim/main.c: a
 * main() that calls record_main() (tests/test_record.py builds it).
 */
#include "../../tools/record/record.h"

int main(int argc, char **argv)
{
	(void)argc;
	argv[0] = "record";
	return record_main(argc, argv);
}
