/*
 * threads.c — a thread and a forked child store to the same pmem file:
 * the recorder follows both, each thread is its own cpu=.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile uint64_t *p;

static void persist(volatile void *a)
{
	__asm__ volatile("clwb %0" : "+m"(*(volatile char *)a));
	__asm__ volatile("sfence" ::: "memory");
}

static void *worker(void *arg)
{
	(void)arg;
	p[8] = 0xbbbb;		/* thread: offset 64 */
	persist(&p[8]);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, 4096))
		return 2;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 2;
	p[0] = 0xaaaa;		/* main thread: offset 0 */
	persist(&p[0]);
	pthread_t th;
	pthread_create(&th, NULL, worker, NULL);
	pthread_join(th, NULL);
	pid_t c = fork();
	if (c == 0) {
		p[16] = 0xcccc;	/* child process: offset 128 */
		persist(&p[16]);
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	printf("%lx %lx %lx\n", (unsigned long)p[0], (unsigned long)p[8], (unsigned long)p[16]);
	return WEXITSTATUS(st);
}
