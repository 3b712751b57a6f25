#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
static void *worker(void *arg) {
	int fd = open("t.log", O_WRONLY | O_CREAT | O_APPEND, 0644);
	for (int i = 0; i < 3; i++) { write(fd, "thread line\n", 12); fdatasync(fd); }
	close(fd);
	return arg;
}
int main(void) {
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	mkdir("d", 0755);
	int dfd = open("d", O_RDONLY | O_DIRECTORY);
	int fd = openat(dfd, "f.tmp", O_RDWR | O_CREAT | O_TRUNC, 0644);
	char big[8192]; for (int i = 0; i < 8192; i++) big[i] = 'a' + i % 26;
	struct iovec iov[2] = { { "head:\t\"q\"\n\001\377", 12 }, { big, 8192 } };
	pwritev(fd, iov, 2, 0);
	write(fd, "tail", 4);
	ftruncate(fd, 10000);
	fallocate(fd, 0, 10000, 4096);
	fsync(fd);
	char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	m[0] = 'M'; msync(m, 4096, MS_SYNC); munmap(m, 4096);
	close(fd);
	renameat2(dfd, "f.tmp", dfd, "f", 0);
	fsync(dfd);
	symlink("f", "d/link"); link("d/f", "d/hard"); unlink("d/hard");
	int fd2 = dup(dfd); close(dfd); fsync(fd2); close(fd2);
	sync();
	pthread_join(t, NULL);
	return 0;
}
