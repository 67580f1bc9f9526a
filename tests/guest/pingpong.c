// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Guest workload: two threads, pinned to CPU 0 and CPU 1, pass one message
 * (a turn flag) back and forth through futexes for a given time. Each side
 * blocks in FUTEX_WAIT, so its CPU goes idle between messages for about one
 * wake-up of the other side: the talk's message-passing pattern, where idle
 * gaps are shorter than a trap to the host. Built static so the busybox
 * initramfs needs no libc.
 * Usage: pingpong SECONDS   prints "pingpong round_trips=N per_s=R"
 */
#define _GNU_SOURCE
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static _Atomic int turn;
static _Atomic int stop;
static unsigned long long round_trips;

static void futex_wait(_Atomic int *word, int value)
{
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
}

static void futex_wake(_Atomic int *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static void *side(void *arg)
{
	int me = (int)(long)arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(me, &set);
	sched_setaffinity(0, sizeof(set), &set); /* best effort: 1 CPU still works */
	for (;;) {
		int seen;

		while ((seen = atomic_load(&turn)) != me) {
			if (atomic_load(&stop))
				return NULL;
			futex_wait(&turn, seen);
		}
		if (atomic_load(&stop))
			return NULL;
		if (me == 0)
			round_trips++;
		atomic_store(&turn, !me);
		futex_wake(&turn);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2.0, start, elapsed;
	pthread_t threads[2];
	struct timespec pause = { (time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9) };

	start = now_s();
	for (long i = 0; i < 2; i++)
		pthread_create(&threads[i], NULL, side, (void *)i);
	nanosleep(&pause, NULL);
	atomic_store(&stop, 1);
	atomic_store(&turn, 2); /* neither side's value: both waits return */
	futex_wake(&turn);
	for (int i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	elapsed = now_s() - start;
	printf("pingpong round_trips=%llu per_s=%.0f\n", round_trips, round_trips / elapsed);
	return round_trips > 0 ? 0 : 1;
}
