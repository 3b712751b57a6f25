/*
 * file_io.c — modern file calls the recorder maps onto the trace's file
 * events: openat, pwritev, write after lseek, fsync, renameat2, mkdirat,
 * a directory fsync, unlinkat, dup.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void)
{
	if (mkdirat(AT_FDCWD, "d", 0755))
		return 2;
	int dir = openat(AT_FDCWD, "d", O_RDONLY | O_DIRECTORY);
	int fd = openat(dir, "tmp", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (dir < 0 || fd < 0)
		return 2;
	struct iovec iov[2] = { { "hello ", 6 }, { "world\n", 6 } };
	if (pwritev(fd, iov, 2, 0) != 12)
		return 2;
	lseek(fd, 100, SEEK_SET);
	int fd2 = dup(fd);
	if (write(fd2, "tail", 4) != 4)
		return 2;
	fsync(fd);
	close(fd2);
	close(fd);
	if (renameat2(dir, "tmp", dir, "data", 0))
		return 2;
	fsync(dir);
	int junk = openat(dir, "junk", O_WRONLY | O_CREAT, 0644);
	close(junk);
	unlinkat(dir, "junk", 0);
	close(dir);
	return 0;
}
