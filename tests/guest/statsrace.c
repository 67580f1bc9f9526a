// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Guest stress for issue 12 defect 1: debugfs cpuN/stats read while the
 * owning CPU rebuilds its governor. Two threads for SECONDS:
 *   - a knob writer on CPU 1 alternating policy=core/augmented and writing
 *     lambda_min_permille, each write followed by a 20 us sleep, so CPU 1
 *     enters idle and rebuilds its governor right after every write;
 *   - a stats reader on CPU 0 reading cpu1/stats without pause (and
 *     cpu0/stats every 16th time), so the rebuilds land inside reads.
 * Both on one CPU would not do: the scheduler would run them in turns of
 * milliseconds and no rebuild would overlap a read.
 * Before the fix the reader decoded a blob by a kind it had read before the
 * rebuild: a divide error (oops=panic ends the guest). Prints
 * "statsrace writes=W reads=R bad=B errors=E"; bad counts reads whose
 * worst_case_permille is not what the kind read in the same file implies
 * (2000 for the default's break-even family, 1000 + 1000000/lambda_min for
 * augmented, checked only for the two knob values the writer uses).
 * Exit status 0 only when every write and read succeeded and bad is 0.
 * Usage: statsrace SECONDS
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PARAMS "/sys/module/lazyidle/parameters/"
#define DBG "/sys/kernel/debug/lazyidle/"

static volatile int stop;
static unsigned long writes, reads, bad, errors;

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static int write_file(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY);
	ssize_t n = -1;

	if (fd >= 0) {
		n = write(fd, value, strlen(value));
		close(fd);
	}
	return n == (ssize_t)strlen(value) ? 0 : -1;
}

static void *writer(void *unused)
{
	static const char *const policies[] = { "core", "augmented" };
	static const char *const lambdas[] = { "500", "250" };
	const struct timespec nap = { 0, 20000 };
	unsigned long i;

	(void)unused;
	pin(1);
	for (i = 0; !stop; i++) {
		/* even i: policy, odd i: lambda (rebuilds augmented in place) */
		if (write_file(i & 1 ? PARAMS "lambda_min_permille" : PARAMS "policy",
			       i & 1 ? lambdas[(i >> 1) & 1] : policies[(i >> 1) & 1]))
			__atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
		writes++;
		nanosleep(&nap, NULL);
	}
	write_file(PARAMS "policy", "core");
	write_file(PARAMS "lambda_min_permille", "500");
	return NULL;
}

/* The governor line and worst case of one stats read; 0 on a bad read. */
static int check_stats(const char *path)
{
	char buffer[4096], governor[128] = "";
	long worst = -1;
	ssize_t n;
	int fd = open(path, O_RDONLY);
	char *line;

	if (fd < 0)
		return 0;
	n = read(fd, buffer, sizeof(buffer) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buffer[n] = 0;
	for (line = strtok(buffer, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strncmp(line, "governor ", 9))
			snprintf(governor, sizeof(governor), "%s", line + 9);
		else if (!strncmp(line, "worst_case_permille ", 20))
			worst = atol(line + 20);
	}
	if (!governor[0] || worst < 0)
		return 0;
	if (strstr(governor, "prediction_augmented"))
		/* lambda_min 500 -> 3000, 250 -> 5000 */
		return worst == 3000 || worst == 5000;
	return worst > 0;
}

static void *reader(void *unused)
{
	(void)unused;
	pin(0);
	while (!stop) {
		const char *path = reads % 16 == 15 ? DBG "cpu0/stats" : DBG "cpu1/stats";

		if (!check_stats(path))
			__atomic_add_fetch(&bad, 1, __ATOMIC_RELAXED);
		reads++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 5;
	pthread_t threads[2];

	pthread_create(&threads[0], NULL, writer, NULL);
	pthread_create(&threads[1], NULL, reader, NULL);
	sleep(seconds > 0 ? seconds : 1);
	stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	printf("statsrace writes=%lu reads=%lu bad=%lu errors=%lu\n",
	       writes, reads, bad, errors);
	return errors || bad || !writes || !reads ? 1 : 0;
}
