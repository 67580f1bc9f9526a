// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * haltbench: a static mini VMM that exercises KVM's kvm_vcpu_halt().
 *
 * One VM with an in-kernel irqchip (KVM_CREATE_IRQCHIP), one vCPU running a
 * tiny flat 32-bit protected-mode payload. For each requested gap the
 * payload arms its local APIC timer, executes STI;HLT, and is woken by the
 * timer interrupt. Because the LAPIC is in the kernel, the HLT never
 * reaches userspace: KVM's halt-polling path (kvm_vcpu_halt) handles every
 * halt, and its per-vCPU binary statistics (KVM_GET_STATS_FD) tell how each
 * halt ended.
 *
 * Timer modes. Default, halt-relative: TSC-deadline mode; the payload first
 * measures the smallest WRMSR(TSC_DEADLINE), CPUID and pending-HLT round
 * trips, and each deadline is rdtsc + gap + wrmsr + cpuid/2 (--hlt-offset:
 * + hlt - cpuid/2), so the halt KVM sees lasts about the gap even where
 * exits are slow (nested TCG). --arm-relative:
 * LAPIC one-shot, divide 1, count = gap in ns (KVM's APIC bus is 1 GHz),
 * counted from the arming write.
 *
 * The payload reports the end of a batch with OUT 0xf0 (exits to us), we
 * read the statistics, set the next batch's gap and count, and resume it.
 * A watchdog replaces a lost timer interrupt by an MSI and counts it.
 *
 * Bursts. A gap written SHORTxN+LONG (20000x4+2000000) is a batch of N short
 * halts then one long one, repeated: message bursts with pauses between
 * them, the pattern where a grow/shrink window is wrong twice per pause
 * (it polls the pause's first halt in vain, then blocks the burst's first).
 * Its rows add long_ns, long_every and long_halts; every long halt blocks
 * (a pause outlasts any poll window), so blocked - long_halts is the short
 * halts that blocked.
 *
 * Output: one "HB ..." line per gap (machine-readable) and a table.
 * Optional: --pv makes the payload find KVM_FEATURE_HALT_POLL_INFO in CPUID
 * leaf 0x40000001, register a steal-time area, and read the host-published
 * wake latency and poll window from it (docs/host-patch.md).
 * Optional: --debugfs-check reads the patched kvm.ko's per-vCPU file
 * kvm/<pid>-<vm fd>/vcpu0/halt_poll_policy_state while the VM lives (it must
 * name this process and vCPU 0), keeps it open, tears the VM down and reads
 * it again: the read must fail and the directory be gone (issue 12, defect
 * 4: the file must not outlive its vCPU).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE 0x200000u
#define VAR_ITERS 0x500u   /* u32: halts in this batch (0 = stop) */
#define VAR_COUNT 0x504u   /* u32: LAPIC initial count = gap in ns */
#define VAR_IRQS 0x508u    /* u32: timer interrupts seen */
#define VAR_PV_WAKE 0x510u /* u32: steal_time.wake_latency_ns as the guest read it */
#define VAR_PV_POLL 0x514u /* u32: steal_time.halt_poll_ns as the guest read it */
#define VAR_PV_REQ 0x518u  /* u32: 1 = use the steal-time page */
#define VAR_PV_FEAT 0x51cu /* u32: CPUID 0x40000001 EAX as the guest saw it */
#define VAR_MODE 0x520u    /* u32: 0 = LAPIC one-shot from arming, 1 = TSC deadline from HLT */
#define VAR_CAL_WRMSR 0x524u /* u32: min round trip of WRMSR(TSC_DEADLINE), TSC cycles */
#define VAR_CAL_CPUID 0x528u /* u32: min round trip of CPUID, TSC cycles */
#define VAR_CAL_HLT 0x52cu   /* u32: min round trip of STI;HLT with the timer already pending */
#define VAR_LONG_COUNT 0x530u /* u32: VAR_COUNT of a burst's long halt, 0 = no bursts */
#define VAR_LONG_EVERY 0x534u /* u32: every Nth halt is the long one */
#define VAR_LONG_LEFT 0x538u  /* u32: halts until the next long one */
#define STEAL_ADDR 0x3000u /* guest's struct kvm_steal_time, 64-byte aligned */
#define GDT_ADDR 0x600u
#define IDT_ADDR 0x800u
#define CODE_ADDR 0x1000u
#define STACK_TOP 0x80000u
#define TIMER_VECTOR 0x40
#define SPURIOUS_VECTOR 0xff
#define PORT_BATCH_DONE 0xf0

/*
 * Guest payload, flat 32-bit protected mode, loaded at CODE_ADDR.
 * Position independent apart from absolute data addresses (fixed above);
 * the IDT entry is filled in by the VMM from the handler's offset.
 */
__asm__(
	".pushsection .rodata\n"
	".globl hb_guest_start, hb_guest_end, hb_guest_handler\n"
	"hb_guest_start:\n"
	".code32\n"
	/*
	 * Paravirtual channel: KVM leaf 0x40000001 EAX; if steal time is
	 * offered, register the steal-time area (MSR_KVM_STEAL_TIME).
	 * Before %ebx is loaded: CPUID clobbers it.
	 */
	"	cmpl $0, 0x518\n"
	"	je 7f\n"
	"	movl $0x40000001, %eax\n"
	"	cpuid\n"
	"	movl %eax, 0x51c\n"
	"	testl $0x20, %eax\n"             /* KVM_FEATURE_STEAL_TIME */
	"	jz 7f\n"
	"	movl $0x4b564d03, %ecx\n"        /* MSR_KVM_STEAL_TIME */
	"	movl $0x3001, %eax\n"            /* 0x3000 | KVM_MSR_ENABLED */
	"	xorl %edx, %edx\n"
	"	wrmsr\n"
	"7:\n"
	"	movl $0xfee00000, %ebx\n"
	"	movl $0x1ff, 0xf0(%ebx)\n"        /* SVR: enable, spurious 0xff */
	"	movl $0xb, 0x3e0(%ebx)\n"         /* TDCR: divide by 1 */
	"	movl $0x40, 0x320(%ebx)\n"        /* LVTT: one-shot, vector 0x40 */
	"	cmpl $0, 0x520\n"
	"	je hb_batch\n"
	"	movl $0x40040, 0x320(%ebx)\n"     /* LVTT: TSC deadline, vector 0x40 */
	/*
	 * Mode 1 calibration: the smallest round trips of WRMSR(TSC_DEADLINE)
	 * and CPUID over 32 tries. The VMM adds WRMSR + CPUID/2 (arming exit,
	 * then the one-way HLT exit) to each deadline, so the halt KVM sees
	 * lasts about the nominal gap.
	 */
	"	movl $0xffffffff, 0x524\n"
	"	movl $0xffffffff, 0x528\n"
	"	movl $0xffffffff, 0x52c\n"
	"	movl $32, %edi\n"
	"8:	rdtsc\n"
	"	movl %eax, %esi\n"
	"	movl $0x6e0, %ecx\n"              /* IA32_TSC_DEADLINE */
	"	xorl %eax, %eax\n"
	"	xorl %edx, %edx\n"
	"	wrmsr\n"                           /* 0 = disarmed */
	"	rdtsc\n"
	"	subl %esi, %eax\n"
	"	cmpl 0x524, %eax\n"
	"	jae 9f\n"
	"	movl %eax, 0x524\n"
	"9:	rdtsc\n"
	"	movl %eax, %esi\n"
	"	pushl %ebx\n"
	"	xorl %eax, %eax\n"
	"	cpuid\n"
	"	popl %ebx\n"
	"	rdtsc\n"
	"	subl %esi, %eax\n"
	"	cmpl 0x528, %eax\n"
	"	jae 10f\n"
	"	movl %eax, 0x528\n"
	"10:	movl $0x6e0, %ecx\n"             /* deadline 1: already expired, */
	"	movl $1, %eax\n"                  /* the interrupt is pending (IF=0) */
	"	xorl %edx, %edx\n"
	"	wrmsr\n"
	"	rdtsc\n"
	"	movl %eax, %esi\n"
	"	sti\n"
	"	hlt\n"                            /* exits, finds it pending, injects */
	"	cli\n"
	"	rdtsc\n"
	"	subl %esi, %eax\n"
	"	cmpl 0x52c, %eax\n"
	"	jae 12f\n"
	"	movl %eax, 0x52c\n"
	"12:	decl %edi\n"
	"	jnz 8b\n"
	"	movb $2, %al\n"
	"	outb %al, $0xf0\n"                /* calibration done */
	"hb_batch:\n"
	"	movl 0x500, %edi\n"
	"	testl %edi, %edi\n"
	"	jz hb_done\n"
	"1:	cli\n"
	"	movl 0x508, %esi\n"
	"	movl 0x504, %ecx\n"               /* this halt's count: short, */
	"	cmpl $0, 0x530\n"
	"	je 13f\n"
	"	decl 0x538\n"
	"	jnz 13f\n"
	"	movl 0x534, %eax\n"
	"	movl %eax, 0x538\n"
	"	movl 0x530, %ecx\n"               /* or a burst's long one */
	"13:	cmpl $0, 0x520\n"
	"	jne 11f\n"
	"	movl %ecx, 0x380(%ebx)\n"         /* TMICT: arm, count = ns */
	"	jmp 2f\n"
	"11:	rdtsc\n"
	"	addl %ecx, %eax\n"                /* deadline = now + gap + exits */
	"	adcl $0, %edx\n"
	"	movl $0x6e0, %ecx\n"
	"	wrmsr\n"
	"2:	sti\n"
	"	hlt\n"
	"	cli\n"
	"	cmpl 0x508, %esi\n"               /* woken by our timer? */
	"	je 2b\n"
	"	decl %edi\n"
	"	jnz 1b\n"
	/* Read the host's halt info under the steal-time version protocol. */
	"	cmpl $0, 0x518\n"
	"	je 6f\n"
	"5:	movl 0x3008, %eax\n"             /* version */
	"	testl $1, %eax\n"
	"	jnz 5b\n"
	"	movl 0x3014, %edx\n"             /* wake_latency_ns */
	"	movl 0x3018, %esi\n"             /* halt_poll_ns */
	"	cmpl 0x3008, %eax\n"
	"	jne 5b\n"
	"	movl %edx, 0x510\n"
	"	movl %esi, 0x514\n"
	"6:	movb $0, %al\n"
	"	outb %al, $0xf0\n"                /* batch done: exit to VMM */
	"	jmp hb_batch\n"
	"hb_done:\n"
	"	movb $1, %al\n"
	"	outb %al, $0xf0\n"
	"	jmp hb_done\n"
	"hb_guest_handler:\n"
	"	incl 0x508\n"
	"	movl $0, 0xfee000b0\n"            /* EOI */
	"	iret\n"
	"hb_guest_end:\n"
	".code64\n"
	".popsection\n");

extern const unsigned char hb_guest_start[], hb_guest_end[], hb_guest_handler[];

static volatile uint32_t *guest_vars;
static volatile int dump_requested;
static pthread_t main_thread;

/*
 * Watchdog. Inside the nested TCG test guest a LAPIC timer interrupt is
 * occasionally never delivered (timer count 0, nothing in IRR/ISR, vCPU
 * halted): the test would hang. If the guest's interrupt counter stands
 * still for max(4 ms, 8 gaps), the watchdog sends the timer vector as an
 * MSI (KVM_SIGNAL_MSI) and counts a "rescue"; rescues are reported per gap
 * so a reader can judge them. If even that does not move it for 10 s, it
 * kicks the vCPU out of KVM_RUN so the main thread can dump state and fail.
 */
static volatile uint64_t cur_gap_ns; /* the batch's longest gap */
static volatile uint64_t rescues;
static int vm_fd;

static void *watchdog(void *arg)
{
	uint32_t last = 0;
	uint64_t still_ns = 0, hard_ns = 0;

	(void)arg;
	for (;;) {
		uint32_t now;
		uint64_t limit = cur_gap_ns * 8;

		if (limit < 4000000)
			limit = 4000000;
		usleep(2000);
		now = guest_vars[VAR_IRQS / 4];
		if (now != last) {
			last = now;
			still_ns = hard_ns = 0;
			continue;
		}
		still_ns += 2000000;
		hard_ns += 2000000;
		if (still_ns >= limit && cur_gap_ns) {
			struct kvm_msi msi;

			memset(&msi, 0, sizeof(msi));
			msi.address_lo = 0xfee00000;
			msi.data = TIMER_VECTOR;
			if (ioctl(vm_fd, KVM_SIGNAL_MSI, &msi) >= 0)
				rescues++;
			still_ns = 0;
		}
		if (hard_ns >= 10000000000ull) {
			dump_requested = 1;
			pthread_kill(main_thread, SIGUSR1);
			hard_ns = 0;
		}
	}
	return NULL;
}

static void on_sigusr1(int sig)
{
	(void)sig;
}

static void dump_and_fail(int vcpu)
{
	struct kvm_regs r;
	struct kvm_lapic_state l;
	struct kvm_mp_state mp;
	uint32_t *reg = (uint32_t *)l.regs;

	ioctl(vcpu, KVM_GET_REGS, &r);
	ioctl(vcpu, KVM_GET_LAPIC, &l);
	ioctl(vcpu, KVM_GET_MP_STATE, &mp);
	printf("HB STALL rip=0x%llx rflags=0x%llx mp_state=%u irqs=%u svr=0x%x lvtt=0x%x tmict=%u "
	       "tmcct=%u tdcr=0x%x isr1=0x%x irr1=0x%x\n",
	       (unsigned long long)r.rip, (unsigned long long)r.rflags, mp.mp_state,
	       guest_vars[VAR_IRQS / 4], reg[0xf0 / 4], reg[0x320 / 4], reg[0x380 / 4],
	       reg[0x390 / 4], reg[0x3e0 / 4], reg[0x120 / 4], reg[0x220 / 4]);
	printf("HB FAIL stalled\n");
	exit(1);
}

static void die(const char *what)
{
	fprintf(stderr, "haltbench: %s: %s\n", what, strerror(errno));
	printf("HB FAIL %s\n", what);
	exit(1);
}

/* ---- binary statistics ------------------------------------------------ */

struct stat_slot {
	const char *name;
	uint64_t offset; /* in the data block, bytes */
	uint32_t size;   /* u64 elements; histograms are summed */
	int found;
};

enum { S_EXITS, S_ATTEMPT, S_SUCCESS, S_INVALID, S_SUCC_NS, S_FAIL_NS, S_WAIT_NS, S_WAKEUP,
	S_WAITS, S_SUCC_HIST, S_FAIL_HIST, S_N };

static struct stat_slot slots[S_N] = {
	[S_EXITS] = { "halt_exits" },
	[S_ATTEMPT] = { "halt_attempted_poll" },
	[S_SUCCESS] = { "halt_successful_poll" },
	[S_INVALID] = { "halt_poll_invalid" },
	[S_SUCC_NS] = { "halt_poll_success_ns" },
	[S_FAIL_NS] = { "halt_poll_fail_ns" },
	[S_WAIT_NS] = { "halt_wait_ns" },
	[S_WAKEUP] = { "halt_wakeup" },
	/* sum of the histogram = number of halts that blocked */
	[S_WAITS] = { "halt_wait_hist" },
	[S_SUCC_HIST] = { "halt_poll_success_hist" },
	[S_FAIL_HIST] = { "halt_poll_fail_hist" },
};

static int stats_fd;
static int trace_fd = -1;
static struct kvm_stats_header stats_hdr;

static void stats_open(int vcpu_fd)
{
	size_t dsz;
	char *descs;
	uint32_t i;
	int s;

	stats_fd = ioctl(vcpu_fd, KVM_GET_STATS_FD, NULL);
	if (stats_fd < 0)
		die("KVM_GET_STATS_FD");
	if (pread(stats_fd, &stats_hdr, sizeof(stats_hdr), 0) != sizeof(stats_hdr))
		die("stats header");
	dsz = sizeof(struct kvm_stats_desc) + stats_hdr.name_size;
	descs = calloc(stats_hdr.num_desc, dsz);
	if (!descs)
		die("calloc");
	if (pread(stats_fd, descs, dsz * stats_hdr.num_desc, stats_hdr.desc_offset) !=
	    (ssize_t)(dsz * stats_hdr.num_desc))
		die("stats descriptors");
	for (i = 0; i < stats_hdr.num_desc; i++) {
		struct kvm_stats_desc *d = (void *)(descs + i * dsz);

		for (s = 0; s < S_N; s++)
			if (!strcmp(d->name, slots[s].name)) {
				slots[s].offset = d->offset;
				slots[s].size = d->size ? d->size : 1;
				slots[s].found = 1;
			}
	}
	for (s = 0; s < S_N; s++)
		if (!slots[s].found) {
			fprintf(stderr, "haltbench: stat %s missing\n", slots[s].name);
			printf("HB FAIL stat-missing %s\n", slots[s].name);
			exit(1);
		}
	free(descs);
}

/* Per-bucket histogram (log2 of ns: bucket i counts [2^(i-1), 2^i) ns). */
#define HIST_MAX 64
static void hist_read(int s, uint64_t h[HIST_MAX])
{
	uint32_t n = slots[s].size > HIST_MAX ? HIST_MAX : slots[s].size;

	memset(h, 0, 8 * HIST_MAX);
	if (pread(stats_fd, h, 8 * n, stats_hdr.data_offset + slots[s].offset) != 8 * n)
		die("stats read");
}

static void hist_print(const char *name, const uint64_t *a, const uint64_t *b)
{
	int i;

	printf(" %s=", name);
	for (i = 0; i < HIST_MAX; i++)
		if (b[i] - a[i])
			printf("%d:%llu,", i, (unsigned long long)(b[i] - a[i]));
}

static void stats_read(uint64_t v[S_N])
{
	int s;

	for (s = 0; s < S_N; s++) {
		uint64_t buf[64];
		uint32_t n = slots[s].size > 64 ? 64 : slots[s].size, k;

		if (pread(stats_fd, buf, 8 * n, stats_hdr.data_offset + slots[s].offset) != 8 * n)
			die("stats read");
		for (v[s] = 0, k = 0; k < n; k++)
			v[s] += buf[k];
	}
}

/* ---- VM setup ------------------------------------------------------------ */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void set_seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->db = 1;
	s->s = 1;
	s->g = 1;
}

static void idt_gate(uint8_t *mem, int vec, uint32_t off)
{
	uint64_t g = (off & 0xffffull) | (0x08ull << 16) | (0x8eull << 40) |
		     ((uint64_t)(off >> 16) << 48);

	memcpy(mem + IDT_ADDR + vec * 8, &g, 8);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: haltbench [--label L] [--gaps G,G,...] [--iters n,n,...]\n"
		"                 [--warmup n] [--pv] [--arm-relative] [--hlt-offset] [--pin CPU]\n"
		"                 [--debugfs-check]\n"
		"  default: each halt is timed from the HLT exit (TSC deadline armed\n"
		"  gap + calibrated exit costs ahead); --arm-relative: LAPIC one-shot\n"
		"  counted from the arming write; --hlt-offset: estimate the HLT exit\n"
		"  from a pending-HLT round trip instead of half a CPUID round trip\n"
		"  G: a gap in ns, or SHORTxN+LONG: N short halts then a long one, repeated\n");
	exit(2);
}

static int parse_list(char *s, uint64_t *out, int max)
{
	int n = 0;
	char *tok;

	for (tok = strtok(s, ","); tok && n < max; tok = strtok(NULL, ","))
		out[n++] = strtoull(tok, NULL, 0);
	return n;
}

/* A gap: "ns" or a burst "SHORTxN+LONG" (long_every = N + 1). */
struct gap {
	uint64_t ns;
	uint64_t long_ns;    /* 0 = every halt is ns long */
	uint64_t long_every;
	char name[48];       /* as given: the rows' gap_ns key */
};

static int parse_gaps(char *s, struct gap *out, int max)
{
	int n = 0;
	char *tok, *end;

	for (tok = strtok(s, ","); tok && n < max; tok = strtok(NULL, ","), n++) {
		struct gap *g = &out[n];

		memset(g, 0, sizeof(*g));
		g->ns = strtoull(tok, &end, 0);
		if (*end == 'x') {
			uint64_t shorts = strtoull(end + 1, &end, 0);

			if (*end != '+' || !shorts)
				return -1;
			g->long_ns = strtoull(end + 1, &end, 0);
			g->long_every = shorts + 1;
			if (!g->long_ns)
				return -1;
		}
		if (*end || !g->ns || strlen(tok) >= sizeof(g->name))
			return -1;
		strcpy(g->name, tok);
	}
	return n;
}

static uint32_t gap_count(uint64_t ns, int mode, uint64_t tsc_khz, uint64_t offset_cycles)
{
	return mode == 1 ? (uint32_t)(ns * tsc_khz / 1000000 + offset_cycles) : (uint32_t)ns;
}

/* The payload's timer counts for a batch of gap g (a burst's long one too). */
static void set_gap_counts(uint32_t *var, const struct gap *g, int mode, uint64_t tsc_khz,
			   uint64_t offset_cycles)
{
	var[VAR_COUNT / 4] = gap_count(g->ns, mode, tsc_khz, offset_cycles);
	var[VAR_LONG_COUNT / 4] = g->long_ns ? gap_count(g->long_ns, mode, tsc_khz, offset_cycles) : 0;
}

/*
 * --debugfs-check: the per-vCPU file while the VM lives, then through a
 * descriptor kept open across the VM's teardown. Returns 1 on failure.
 */
static int check_debugfs(const char *label, int vm, int vcpu, struct kvm_run *run, int run_size)
{
	char dir[96], path[160], line[256];
	int fd, pid, id;
	unsigned long long mean, samples;
	unsigned int window;
	ssize_t n;
	struct stat st;

	snprintf(dir, sizeof(dir), "/sys/kernel/debug/kvm/%d-%d/vcpu0", (int)getpid(), vm);
	snprintf(path, sizeof(path), "%s/halt_poll_policy_state", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("HB FAIL debugfs-check open %s: %s\n", path, strerror(errno));
		return 1;
	}
	n = pread(fd, line, sizeof(line) - 1, 0);
	line[n > 0 ? n : 0] = 0;
	if (n <= 0 || sscanf(line, "pid %d vcpu %d wake_latency_ns %llu samples %llu window_ns %u",
			     &pid, &id, &mean, &samples, &window) != 5 ||
	    pid != (int)getpid() || id != 0) {
		printf("HB FAIL debugfs-check %s: '%s' (pid %d, vcpu 0 expected)\n", path, line, (int)getpid());
		return 1;
	}
	printf("HB label=%s debugfs-live %s", label, line);
	/* Every reference to the VM: its kvm_run mapping, stats fd, vCPU fd, VM fd. */
	cur_gap_ns = 0;
	munmap(run, run_size);
	close(stats_fd);
	close(vcpu);
	close(vm);
	n = pread(fd, line, sizeof(line) - 1, 0);
	if (n >= 0 || stat(dir, &st) == 0) {
		printf("HB FAIL debugfs-check after the VM's teardown: read returned %zd, %s %s\n", n, dir,
		       stat(dir, &st) == 0 ? "still there" : "gone");
		return 1;
	}
	printf("HB label=%s debugfs-after-destroy read=-1 (%s) dir=gone\n", label, strerror(errno));
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	const char *label = "kvm";
	struct gap gaps[16] = { { 20000, 0, 0, "20000" }, { 200000, 0, 0, "200000" },
				{ 5000000, 0, 0, "5000000" } };
	uint64_t iters[16] = { 1000, 1000, 100 };
	int ngaps = 3, niters = 3, i, g;
	uint64_t warmup = 50;
	int pv = 0, mode = 1, pin_cpu = -1, hlt_offset = 0, debugfs_check = 0;
	uint64_t tsc_khz = 0, offset_cycles = 0;
	int kvm, vm, vcpu, run_size;
	struct kvm_run *run;
	uint8_t *mem;
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	uint64_t gdt[3] = { 0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull };
	uint32_t *var;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--label") && i + 1 < argc)
			label = argv[++i];
		else if (!strcmp(argv[i], "--gaps") && i + 1 < argc)
			ngaps = parse_gaps(argv[++i], gaps, 16);
		else if (!strcmp(argv[i], "--iters") && i + 1 < argc)
			niters = parse_list(argv[++i], iters, 16);
		else if (!strcmp(argv[i], "--warmup") && i + 1 < argc)
			warmup = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--pv"))
			pv = 1;
		else if (!strcmp(argv[i], "--debugfs-check"))
			debugfs_check = 1;
		else if (!strcmp(argv[i], "--arm-relative"))
			mode = 0;
		else if (!strcmp(argv[i], "--hlt-offset"))
			hlt_offset = 1;
		else if (!strcmp(argv[i], "--pin") && i + 1 < argc)
			pin_cpu = atoi(argv[++i]);
		else
			usage();
	}
	if (ngaps <= 0) {
		fprintf(stderr, "haltbench: bad --gaps (ns or SHORTxN+LONG, comma-separated)\n");
		usage();
	}
	if (niters < ngaps)
		for (i = niters; i < ngaps; i++)
			iters[i] = iters[niters ? niters - 1 : 0];

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("open /dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	vm_fd = vm;
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		die("KVM_CREATE_IRQCHIP");

	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	memset(&region, 0, sizeof(region));
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = MEM_SIZE;
	region.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION");

	memcpy(mem + CODE_ADDR, hb_guest_start, hb_guest_end - hb_guest_start);
	memcpy(mem + GDT_ADDR, gdt, sizeof(gdt));
	idt_gate(mem, TIMER_VECTOR, CODE_ADDR + (uint32_t)(hb_guest_handler - hb_guest_start));
	idt_gate(mem, SPURIOUS_VECTOR, CODE_ADDR + (uint32_t)(hb_guest_handler - hb_guest_start));
	var = (uint32_t *)mem;
	guest_vars = var;

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die("KVM_CREATE_VCPU");
	{
		/* Give the vCPU the host-supported CPUID (KVM leaves included). */
		int n = 256;
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));

		c->nent = n;
		if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) < 0)
			die("KVM_GET_SUPPORTED_CPUID");
		/* KVM emulates the TSC-deadline timer; userspace advertises it. */
		for (i = 0; i < (int)c->nent; i++)
			if (c->entries[i].function == 1)
				c->entries[i].ecx |= 1u << 24;
		if (ioctl(vcpu, KVM_SET_CPUID2, c) < 0)
			die("KVM_SET_CPUID2");
		free(c);
	}
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < 0)
		die("KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap kvm_run");

	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS");
	set_seg(&sregs.cs, 0x08, 11);
	set_seg(&sregs.ds, 0x10, 3);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = GDT_ADDR;
	sregs.gdt.limit = sizeof(gdt) - 1;
	sregs.idt.base = IDT_ADDR;
	sregs.idt.limit = 256 * 8 - 1;
	sregs.cr0 = 0x11; /* PE | ET */
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		die("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_ADDR;
	regs.rsp = STACK_TOP;
	regs.rflags = 0x2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_REGS");

	stats_open(vcpu);
	/* Batch boundaries in the L1 ftrace buffer, when tracing (diagnosis). */
	trace_fd = open("/sys/kernel/debug/tracing/trace_marker", O_WRONLY | O_CLOEXEC);
	var[VAR_MODE / 4] = mode;
	if (mode == 1) {
		int khz = ioctl(vcpu, KVM_GET_TSC_KHZ, 0);

		if (khz <= 0)
			die("KVM_GET_TSC_KHZ");
		tsc_khz = khz;
	}
	{
		struct sigaction sa;
		pthread_t wd;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_sigusr1;
		sigaction(SIGUSR1, &sa, NULL);
		main_thread = pthread_self();
		if (pthread_create(&wd, NULL, watchdog, NULL))
			die("pthread_create");
		if (pin_cpu >= 0) {
			/*
			 * vCPU thread alone on one CPU (halt polling needs
			 * single_task_running()), watchdog on another.
			 */
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(pin_cpu, &set);
			if (pthread_setaffinity_np(main_thread, sizeof(set), &set))
				fprintf(stderr, "haltbench: cannot pin to CPU %d\n", pin_cpu);
			CPU_ZERO(&set);
			CPU_SET(pin_cpu ? 0 : 1, &set);
			pthread_setaffinity_np(wd, sizeof(set), &set);
		}
	}

	printf("HB label=%s gaps=%d warmup=%llu mode=%s\n", label, ngaps,
	       (unsigned long long)warmup, mode ? "halt-relative" : "arm-relative");
	/* Batch list: per gap a warmup batch (not counted) then the measured one. */
	for (g = 0; g <= ngaps; g++) {
		int phase;

		for (phase = 0; phase < 2; phase++) {
			uint64_t before[S_N], after[S_N], t0, t1, r0;
			uint64_t hb[3][HIST_MAX], ha[3][HIST_MAX];
			int last = (g == ngaps);

			var[VAR_ITERS / 4] = last ? 0 : (uint32_t)(phase ? iters[g] : warmup);
			if (last)
				var[VAR_COUNT / 4] = var[VAR_LONG_COUNT / 4] = 0;
			else
				set_gap_counts(var, &gaps[g], mode, tsc_khz, offset_cycles);
			var[VAR_LONG_EVERY / 4] = last ? 0 : (uint32_t)gaps[g].long_every;
			var[VAR_LONG_LEFT / 4] = last ? 0 : (uint32_t)gaps[g].long_every;
			var[VAR_PV_REQ / 4] = pv;
			if (!last && !var[VAR_ITERS / 4])
				continue;
			cur_gap_ns = last ? 0 : gaps[g].long_ns > gaps[g].ns ? gaps[g].long_ns : gaps[g].ns;
			r0 = rescues;
			if (trace_fd >= 0)
				dprintf(trace_fd, "HB batch gap_ns=%s phase=%d\n",
					last ? "0" : gaps[g].name, phase);
			stats_read(before);
			hist_read(S_SUCC_HIST, hb[0]);
			hist_read(S_FAIL_HIST, hb[1]);
			hist_read(S_WAITS, hb[2]);
			t0 = now_ns();
			for (;;) {
				if (ioctl(vcpu, KVM_RUN, 0) < 0) {
					if (errno == EINTR) {
						if (dump_requested)
							dump_and_fail(vcpu);
						continue;
					}
					die("KVM_RUN");
				}
				if (run->exit_reason == KVM_EXIT_IO &&
				    run->io.port == PORT_BATCH_DONE) {
					uint8_t v = *((uint8_t *)run + run->io.data_offset);

					if (v != 2)
						break;
					/* Calibration done (mode 1): set the offset. */
					/*
					 * From the deadline's RDTSC to kvm_vcpu_halt(): the
					 * arming WRMSR round trip, then the HLT exit, taken
					 * as half a CPUID round trip, or (--hlt-offset) as
					 * the pending-HLT round trip minus its entry leg.
					 * Neither is exact (docs/host-patch.md): the halt
					 * KVM sees is in the poll_ns/wait_ns figures.
					 */
					offset_cycles = var[VAR_CAL_WRMSR / 4] + var[VAR_CAL_CPUID / 4] / 2;
					if (hlt_offset && var[VAR_CAL_HLT / 4] > var[VAR_CAL_CPUID / 4])
						offset_cycles = var[VAR_CAL_WRMSR / 4] + var[VAR_CAL_HLT / 4] -
								var[VAR_CAL_CPUID / 4] / 2;
					printf("HB label=%s calib tsc_khz=%llu wrmsr_rt_ns=%llu "
					       "cpuid_rt_ns=%llu hlt_pending_rt_ns=%llu offset_ns=%llu\n", label,
					       (unsigned long long)tsc_khz,
					       (unsigned long long)var[VAR_CAL_WRMSR / 4] * 1000000 / tsc_khz,
					       (unsigned long long)var[VAR_CAL_CPUID / 4] * 1000000 / tsc_khz,
					       (unsigned long long)var[VAR_CAL_HLT / 4] * 1000000 / tsc_khz,
					       (unsigned long long)offset_cycles * 1000000 / tsc_khz);
					if (!last)
						set_gap_counts(var, &gaps[g], mode, tsc_khz, offset_cycles);
					continue;
				}
				fprintf(stderr, "haltbench: unexpected exit %u\n", run->exit_reason);
				if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
					struct kvm_regs r;

					ioctl(vcpu, KVM_GET_REGS, &r);
					fprintf(stderr, "haltbench: internal error suberror %u rip 0x%llx ndata %u data0 0x%llx\n",
						run->internal.suberror, (unsigned long long)r.rip,
						run->internal.ndata,
						(unsigned long long)run->internal.data[0]);
				}
				if (run->exit_reason == KVM_EXIT_FAIL_ENTRY ||
				    run->exit_reason == KVM_EXIT_INTERNAL_ERROR ||
				    run->exit_reason == KVM_EXIT_SHUTDOWN) {
					printf("HB FAIL exit-reason %u\n", run->exit_reason);
					return 1;
				}
			}
			t1 = now_ns();
			stats_read(after);
			hist_read(S_SUCC_HIST, ha[0]);
			hist_read(S_FAIL_HIST, ha[1]);
			hist_read(S_WAITS, ha[2]);
			if (last) {
				g = ngaps + 1;
				break;
			}
			if (phase == 1) {
				uint64_t d[S_N];
				uint64_t n, e;
				int s;

				for (s = 0; s < S_N; s++)
					d[s] = after[s] - before[s];
				/*
				 * halts: HLT exits. entered: halts that reached a
				 * poll-or-block decision in kvm_vcpu_halt() (ended
				 * by polling, or blocked); the rest found the
				 * interrupt already pending at the exit.
				 */
				e = d[S_SUCCESS] + d[S_WAITS];
				n = e ? e : 1;
				printf("HB label=%s gap_ns=%s halts=%llu entered=%llu attempted=%llu "
				       "success=%llu blocked=%llu invalid=%llu poll_success_ns=%llu "
				       "poll_fail_ns=%llu wait_ns=%llu success_permille=%llu "
				       "noblock_permille=%llu "
				       "poll_ns_per_halt=%llu wait_ns_per_halt=%llu "
				       "cycle_ns=%llu rescues=%llu",
				       label, gaps[g].name,
				       (unsigned long long)d[S_EXITS], (unsigned long long)e,
				       (unsigned long long)d[S_ATTEMPT],
				       (unsigned long long)d[S_SUCCESS], (unsigned long long)d[S_WAITS],
				       (unsigned long long)d[S_INVALID],
				       (unsigned long long)d[S_SUCC_NS], (unsigned long long)d[S_FAIL_NS],
				       (unsigned long long)d[S_WAIT_NS],
				       (unsigned long long)(d[S_SUCCESS] * 1000 / n),
				       (unsigned long long)(d[S_EXITS] ? (d[S_EXITS] - d[S_WAITS]) * 1000 /
									 d[S_EXITS] : 0),
				       (unsigned long long)((d[S_SUCC_NS] + d[S_FAIL_NS]) / n),
				       (unsigned long long)(d[S_WAIT_NS] / n),
				       (unsigned long long)((t1 - t0) / (iters[g] ? iters[g] : 1)),
				       (unsigned long long)(rescues - r0));
				if (gaps[g].long_ns)
					printf(" short_ns=%llu long_ns=%llu long_every=%llu long_halts=%llu",
					       (unsigned long long)gaps[g].ns,
					       (unsigned long long)gaps[g].long_ns,
					       (unsigned long long)gaps[g].long_every,
					       (unsigned long long)(iters[g] / gaps[g].long_every));
				printf("\n");
				/* log2(ns) histograms of this batch: bucket:count */
				printf("HB label=%s gap_ns=%s hist", label, gaps[g].name);
				hist_print("poll_success", hb[0], ha[0]);
				hist_print("poll_fail", hb[1], ha[1]);
				hist_print("wait", hb[2], ha[2]);
				printf("\n");
				if (pv)
					printf("HB label=%s gap_ns=%s pv kvm_features=0x%x "
					       "halt_poll_info=%u guest_read_wake_latency_ns=%u "
					       "guest_read_halt_poll_ns=%u\n",
					       label, gaps[g].name, var[VAR_PV_FEAT / 4],
					       (var[VAR_PV_FEAT / 4] >> 18) & 1, var[VAR_PV_WAKE / 4],
					       var[VAR_PV_POLL / 4]);
				fflush(stdout);
			}
		}
	}
	if (debugfs_check && check_debugfs(label, vm, vcpu, run, run_size))
		return 1;
	printf("HB DONE label=%s\n", label);
	return 0;
}
