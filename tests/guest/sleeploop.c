// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Guest workload: sleep 1 ms at a time, N times, and report how late the
 * wakeups were. Idle periods of ~1 ms are far longer than any sensible poll
 * budget, so a good policy halts through almost all of them; the lateness
 * is the yardstick the calibrated trap cost must stay below (it contains the
 * timer wake path plus the task wakeup and timer slack on top).
 * Usage: sleeploop COUNT [SLEEP_US]   (default 1000 us)
 * prints "sleeploop count=N sleep_us=S mean_late_ns=M median_late_ns=D"
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long ns(const struct timespec *t)
{
	return t->tv_sec * 1000000000LL + t->tv_nsec;
}

static int compare(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int count = argc > 1 ? atoi(argv[1]) : 1000;
	long long *late = calloc(count > 0 ? count : 1, sizeof(*late)), sum = 0;
	long sleep_us = argc > 2 ? atol(argv[2]) : 1000;
	const struct timespec period = { sleep_us / 1000000, (sleep_us % 1000000) * 1000 };

	if (!late || count <= 0 || sleep_us < 0)
		return 1;
	for (int i = 0; i < count; i++) {
		struct timespec before, after;

		clock_gettime(CLOCK_MONOTONIC, &before);
		clock_nanosleep(CLOCK_MONOTONIC, 0, &period, NULL);
		clock_gettime(CLOCK_MONOTONIC, &after);
		late[i] = ns(&after) - ns(&before) - sleep_us * 1000;
		sum += late[i];
	}
	qsort(late, count, sizeof(*late), compare);
	printf("sleeploop count=%d sleep_us=%ld mean_late_ns=%lld median_late_ns=%lld\n", count, sleep_us, sum / count,
	       late[count / 2]);
	return 0;
}
