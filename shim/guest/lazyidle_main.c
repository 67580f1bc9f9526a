// SPDX-License-Identifier: GPL-2.0
/*
 * lazyidle: a paravirtual C-state cpuidle driver whose single state decides
 * by itself, per idle period, between "stay in guest" (poll with
 * TIF_POLLING_NRFLAG set, so a waker writes a flag instead of sending an IPI
 * that would trap) and "trap to host" (HLT). The decision is the lazyidle
 * core's default governor (C++, lazyidle_core.cpp); this file is the kernel
 * side: the cpuidle driver, the trap-cost calibration, steal awareness,
 * module parameters and debugfs.
 *
 * Why one self-governing state and not POLL + HALT (docs/guest-shim.md):
 * a module cannot register a governor, so with two states Debian's menu
 * would choose and the core could only nudge it through residencies that are
 * shared by all CPUs. With one state menu has nothing to choose (it returns
 * state 0 and stops the tick) and the core decides inside ->enter().
 *
 * The talk's "???" (exit latency of trap to host) is measured: after a halt
 * that the next hrtimer should have ended, the wake lateness against
 * dev->next_hrtimer is the price of the trap round trip as this guest sees
 * it. Its per-CPU running median is the block cost B given to the governor, is shown in
 * debugfs, and is published as the state's exit latency/target residency.
 * When the host publishes this vCPU's measured wake latency in the
 * steal-time area (KVM_FEATURE_HALT_POLL_INFO, shim/host/patches/0003), that
 * figure replaces the median (use_host_latency=1); the median is the fallback.
 *
 * RCU: the state is CPUIDLE_FLAG_RCU_IDLE, so ->enter() runs with RCU
 * watching and leaves it only around the halt itself
 * (lazyidle_rcu_idle_halt(), lazyidle_compat.h), as the kernel's own
 * default idle does. Without the flag, 6.12's cpuidle_enter_state() would
 * call ->enter() with RCU off throughout (and require it to be noinstr);
 * deciding, polling and accounting with RCU watching keeps all of it
 * ordinary kernel code on both kernels. ->enter() runs with interrupts
 * off, enables them only while polling and returns with them off, which
 * 6.12 checks (WARN "leaked IRQ state") and 6.1 accepts.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/cpuidle.h>
#include <linux/cpuidle_haltpoll.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/kvm_para.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/sched/clock.h>
#include <linux/sched/idle.h>
#include <linux/seq_file.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>
#include <asm/cpufeature.h>
#include <asm/io.h>
#include <asm/irqflags.h>
#include <asm/msr.h>

#include "lazyidle_compat.h"
#include "lazyidle_core.h"
#include "lazyidle_internal.h"

/* ---- knobs --------------------------------------------------------------- */

/*
 * Every knob carries its range; a write outside it fails with -EINVAL and
 * the old value stays, so a typo cannot switch polling off or pin a CPU.
 */
struct lazyidle_knob lazyidle_poll_limit_ns = { 200000, 0, 10000000 };
struct lazyidle_knob lazyidle_block_cost_ns = { 20000, 100, 10000000 };
struct lazyidle_knob lazyidle_calib_shift = { 3, 1, 10 };
struct lazyidle_knob lazyidle_calib_max_ns = { 2000000, 1000, 100000000 };
static struct lazyidle_knob lazyidle_calibrate = { 1, 0, 1 };
/*
 * B = w * measured wake lateness. w defaults to 2: in message passing the
 * latency a halt adds sits on the critical path of both ends (our reply is
 * late, so the partner's next idle is long too). With w = 1 two vCPUs in a
 * ping-pong can settle in "both halt": each then sees idles of about one
 * wake lateness plus the partner's work, just above B, so halting looks
 * right to both. Measured under TCG: w = 1 caught 0-999 of 1000 ping-pong
 * wakeups by polling depending on where it started; see docs/guest-shim.md.
 */
static struct lazyidle_knob lazyidle_latency_weight_pct = { 200, 0, 1000 };
/*
 * 1: when the host publishes this vCPU's measured wake latency
 * (KVM_FEATURE_HALT_POLL_INFO, below), it replaces the guest's own lateness
 * median as the latency part of B; 0: always the guest's own calibration.
 */
static struct lazyidle_knob lazyidle_use_host_latency = { 1, 0, 1 };
static struct lazyidle_knob lazyidle_steal_stop_permille = { 500, 0, 1000 };
struct lazyidle_knob lazyidle_lambda_min_permille = { 500, 1, 1000 };
struct lazyidle_knob lazyidle_lambda_max_permille = { 1000, 1, 1000 };
int lazyidle_policy = LAZYIDLE_POLICY_CORE;
unsigned int lazyidle_gov_generation = 1;

static void lazyidle_bump_generation(void)
{
	unsigned int next = READ_ONCE(lazyidle_gov_generation) + 1;

	/* 0 marks a never-built slot; skip it on wrap-around. */
	WRITE_ONCE(lazyidle_gov_generation, next ? next : 1);
}

/*
 * Parses into *value with the knob's range (param_set_uint_minmax():
 * -EINVAL outside it or on garbage), leaving the knob untouched.
 */
static int lazyidle_knob_parse(const char *val, const struct kernel_param *kp,
			       unsigned int *value)
{
	const struct lazyidle_knob *knob = kp->arg;
	struct kernel_param into = *kp;

	into.arg = value;
	return param_set_uint_minmax(val, &into, knob->min, knob->max);
}

static int lazyidle_knob_set(const char *val, const struct kernel_param *kp)
{
	struct lazyidle_knob *knob = kp->arg;
	unsigned int value;
	int ret = lazyidle_knob_parse(val, kp, &value);

	if (ret)
		return ret;
	WRITE_ONCE(knob->value, value);
	return 0;
}

static int lazyidle_knob_show(char *buffer, const struct kernel_param *kp)
{
	const struct lazyidle_knob *knob = kp->arg;

	return sysfs_emit(buffer, "%u\n", READ_ONCE(knob->value));
}

static const struct kernel_param_ops lazyidle_knob_ops = {
	.set = lazyidle_knob_set,
	.get = lazyidle_knob_show,
};

/*
 * Set once lazyidle_init() has checked the load-time parameters; before,
 * a parameter is checked alone, since the other one of a pair may come
 * later on the command line.
 */
static bool lazyidle_params_checked;

/*
 * lambda_min <= lambda_max is part of the range: once loaded, a write that
 * would cross the other bound is refused like any out-of-range value; at
 * load time the pair is checked after all parameters are parsed
 * (lazyidle_init()), so their order on the command line does not matter.
 * Parameters are set under the module's param lock, so the pair cannot race
 * with itself.
 */
static int lazyidle_lambda_set(const char *val, const struct kernel_param *kp)
{
	struct lazyidle_knob *knob = kp->arg;
	unsigned int value;
	int ret = lazyidle_knob_parse(val, kp, &value);

	if (ret)
		return ret;
	if (lazyidle_params_checked && knob == &lazyidle_lambda_min_permille &&
	    value > READ_ONCE(lazyidle_lambda_max_permille.value))
		return -EINVAL;
	if (lazyidle_params_checked && knob == &lazyidle_lambda_max_permille &&
	    value < READ_ONCE(lazyidle_lambda_min_permille.value))
		return -EINVAL;
	WRITE_ONCE(knob->value, value);
	lazyidle_bump_generation();
	return 0;
}

static const struct kernel_param_ops lazyidle_lambda_ops = {
	.set = lazyidle_lambda_set,
	.get = lazyidle_knob_show,
};

static const char *const lazyidle_policy_names[] = {
	[LAZYIDLE_POLICY_CORE] = "core",
	[LAZYIDLE_POLICY_HALT] = "halt",
	[LAZYIDLE_POLICY_POLL] = "poll",
	[LAZYIDLE_POLICY_AUGMENTED] = "augmented",
};

static int lazyidle_policy_set(const char *val, const struct kernel_param *kp)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(lazyidle_policy_names); i++) {
		if (sysfs_streq(val, lazyidle_policy_names[i])) {
			WRITE_ONCE(lazyidle_policy, i);
			lazyidle_bump_generation();
			return 0;
		}
	}
	return -EINVAL;
}

static int lazyidle_policy_show(char *buffer, const struct kernel_param *kp)
{
	return sysfs_emit(buffer, "%s\n",
			  lazyidle_policy_names[READ_ONCE(lazyidle_policy)]);
}

static const struct kernel_param_ops lazyidle_policy_ops = {
	.set = lazyidle_policy_set,
	.get = lazyidle_policy_show,
};

module_param_cb(policy, &lazyidle_policy_ops, NULL, 0644);
MODULE_PARM_DESC(policy, "core (library default governor), augmented (prediction-augmented break-even, lambda_*), halt (never poll), poll (always poll up to guest_halt_poll_ns)");
module_param_cb(lambda_min_permille, &lazyidle_lambda_ops, &lazyidle_lambda_min_permille, 0644);
MODULE_PARM_DESC(lambda_min_permille, "policy=augmented: most trust in the predictor, worst case 1 + 1000/lambda_min [1, lambda_max_permille]");
module_param_cb(lambda_max_permille, &lazyidle_lambda_ops, &lazyidle_lambda_max_permille, 0644);
MODULE_PARM_DESC(lambda_max_permille, "policy=augmented: least trust (1000 = break-even) [lambda_min_permille, 1000]");
/* Same meaning as cpuidle-haltpoll's knob: the most a CPU may poll. */
module_param_cb(guest_halt_poll_ns, &lazyidle_knob_ops, &lazyidle_poll_limit_ns, 0644);
MODULE_PARM_DESC(guest_halt_poll_ns, "upper bound of one poll budget, ns [0, 10000000]");
module_param_cb(block_cost_ns, &lazyidle_knob_ops, &lazyidle_block_cost_ns, 0644);
MODULE_PARM_DESC(block_cost_ns, "block cost B before the first calibration sample, or always with calibrate=0, ns [100, 10000000]");
module_param_cb(calibrate, &lazyidle_knob_ops, &lazyidle_calibrate, 0644);
MODULE_PARM_DESC(calibrate, "1: B is the measured wake lateness of halts; 0: B is block_cost_ns");
module_param_cb(latency_weight_pct, &lazyidle_knob_ops, &lazyidle_latency_weight_pct, 0644);
MODULE_PARM_DESC(latency_weight_pct, "w: B = w/100 * measured wake lateness [0, 1000], default 200");
module_param_cb(use_host_latency, &lazyidle_knob_ops, &lazyidle_use_host_latency, 0644);
MODULE_PARM_DESC(use_host_latency, "1: B = w/100 * the host's published wake latency when it publishes one (KVM_FEATURE_HALT_POLL_INFO), else the own calibration; 0: always the own calibration [0, 1]");
module_param_cb(calib_shift, &lazyidle_knob_ops, &lazyidle_calib_shift, 0644);
MODULE_PARM_DESC(calib_shift, "EWMA weight 1/2^shift of a new steal or mean-lateness sample [1, 10]");
module_param_cb(calib_max_ns, &lazyidle_knob_ops, &lazyidle_calib_max_ns, 0644);
MODULE_PARM_DESC(calib_max_ns, "lateness samples above this are outliers and ignored, ns [1000, 100000000]");
module_param_cb(steal_stop_permille, &lazyidle_knob_ops, &lazyidle_steal_stop_permille, 0644);
MODULE_PARM_DESC(steal_stop_permille, "stop polling when this share of halt time is stolen by the host [0, 1000]");

static bool force;
module_param(force, bool, 0444);
MODULE_PARM_DESC(force, "register even when not running under a hypervisor");

/* ---- per-CPU state --------------------------------------------------------- */

/*
 * Written only by its own CPU (from ->enter() or its hotplug callback);
 * debugfs readers and lazyidle_publish() on other CPUs read without a lock,
 * so every field they read is written with WRITE_ONCE and read with
 * READ_ONCE: no torn or refetched word, though a reader may see a torn set
 * of counters, which is good enough for statistics. The governor itself
 * (gov) is private to the CPU: readers see only gov_summary.
 */
struct lazyidle_cpu {
	struct lazyidle_gov_slot gov;
	/*
	 * What debugfs shows of the governor, published by this CPU after each
	 * rebuild in one word, so kind and worst case always belong together:
	 * LAZYIDLE_SUMMARY_VALID | kind << 32 | worst-case ratio per-mille.
	 * 0 = not built yet.
	 */
	u64 gov_summary;
	/* 1 from the start of lazyidle_enter() to its return: unload waits on it. */
	int in_enter;
	struct lazyidle_ledger ledger;
	u64 entries;
	u64 poll_hits;
	u64 halts;
	u64 poll_ns;
	u64 halt_ns;
	u64 last_budget_ns;
	u64 last_expected_ns;
	u64 last_block_cost_ns;
	u32 last_confidence_q10;
	u32 last_lambda_q10;
	u64 calibrated_cost_ns;	/* running median of halt wake lateness, 0 = none yet */
	u64 lateness_mean_ns;	/* EWMA of the same samples, outliers included */
	u64 calib_samples;
	u64 lateness_sum_ns;	/* of the same samples: two reads give a window's mean */
	u64 last_lateness_ns;
	u32 lateness_log2[24];	/* histogram of samples, bucket = floor(log2 ns) */
	u64 steal_q10;		/* EWMA of the stolen share of a halt, Q10 */
	u64 steal_total_ns;
	u64 steal_stops;	/* decisions where steal switched polling off */
	u64 host_wake_latency_ns;	/* last read from the host info area, 0 = none */
	u64 host_halt_poll_ns;
	u64 host_info_reads;
	u64 host_polled_halts;	/* halts the host did not block (steal-time version unchanged) */
	u32 last_b_source;	/* enum lazyidle_b_source of the last decision */
	struct kvm_steal_time *steal_area;
	/* The same area when the host publishes halt-poll info in it, else NULL. */
	struct kvm_steal_time *host_info_area;
};

static DEFINE_PER_CPU_ALIGNED(struct lazyidle_cpu, lazyidle_cpus);

/* A counter only its own CPU writes, read by others with READ_ONCE. */
#define LAZYIDLE_STAT_ADD(field, n)	WRITE_ONCE(field, (field) + (n))

#define LAZYIDLE_SUMMARY_VALID	BIT_ULL(63)

static __always_inline u64 lazyidle_gov_summary(const struct lazyidle_gov_blob *blob,
						unsigned int kind)
{
	return LAZYIDLE_SUMMARY_VALID | (u64)kind << 32 |
	       lazyidle_core_worst_case_permille(blob, kind);
}

/*
 * The ledger is added to by the C++ glue (plain stores) in a copy; its CPU
 * then stores each word marked for the debugfs reader, which reads them one
 * by one (lazyidle_ledger_read()).
 */
static __always_inline void lazyidle_ledger_publish(struct lazyidle_ledger *to,
						    const struct lazyidle_ledger *from)
{
	WRITE_ONCE(to->decision_cost_ns, from->decision_cost_ns);
	WRITE_ONCE(to->optimal_cost_ns, from->optimal_cost_ns);
	WRITE_ONCE(to->idles, from->idles);
	WRITE_ONCE(to->polled_wakeups, from->polled_wakeups);
	WRITE_ONCE(to->poll_ns, from->poll_ns);
}

static void lazyidle_ledger_read(struct lazyidle_ledger *to, const struct lazyidle_ledger *from)
{
	to->decision_cost_ns = READ_ONCE(from->decision_cost_ns);
	to->optimal_cost_ns = READ_ONCE(from->optimal_cost_ns);
	to->idles = READ_ONCE(from->idles);
	to->polled_wakeups = READ_ONCE(from->polled_wakeups);
	to->poll_ns = READ_ONCE(from->poll_ns);
}

/*
 * Fault-injection hooks (debugfs inject_*) exist only in test builds
 * (make LAZYIDLE_TEST_HOOKS=y, what scripts/test-guest builds); the
 * production module (DKMS, a plain make) has none of them.
 */
#ifdef LAZYIDLE_TEST_HOOKS
/* Test hook: steal pretended per halt, for guests without KVM steal time. */
static u64 lazyidle_inject_steal_ns;
#endif

/*
 * KVM_FEATURE_HALT_POLL_INFO is not in Debian's 6.1 headers: it is defined by
 * the host series, shim/host/patches/0003-KVM-x86-Publish-the-halt-poll-info-
 * in-the-steal-time.patch (docs/host-patch.md). With the bit set in CPUID
 * 0x40000001 EAX, the host writes two u32 of the struct kvm_steal_time
 * padding inside the steal-time version sequence:
 *   offset 20: wake_latency_ns  mean wakeup-to-running delay, 0 = not yet
 *   offset 24: halt_poll_ns     the host poll window in force
 * Debian's struct still calls them pad[0] and pad[1].
 */
#define LAZYIDLE_KVM_FEATURE_HALT_POLL_INFO	18
#define LAZYIDLE_ST_WAKE_LATENCY(st)	((st)->pad[0])
#define LAZYIDLE_ST_HALT_POLL(st)	((st)->pad[1])

enum lazyidle_b_source {
	LAZYIDLE_B_PARAM,	/* block_cost_ns */
	LAZYIDLE_B_CALIBRATED,	/* w * own lateness median */
	LAZYIDLE_B_HOST,	/* w * host's published wake latency */
};

static const char *const lazyidle_b_source_names[] = {
	[LAZYIDLE_B_PARAM] = "param",
	[LAZYIDLE_B_CALIBRATED] = "calibrated",
	[LAZYIDLE_B_HOST] = "host",
};

/*
 * Test hook for guests without the host series (the CI guest has no KVM):
 * a stand-in page laid out like struct kvm_steal_time, written by debugfs
 * exactly the way record_steal_time() writes the real one (version odd,
 * fields, version even). Once written, CPUs that have no real host info
 * area read this one instead, with the same reader and the same consumer;
 * only the page differs. A CPU whose host really publishes ignores it.
 */
#ifdef LAZYIDLE_TEST_HOOKS
static struct kvm_steal_time lazyidle_inject_area;
static struct kvm_steal_time *lazyidle_inject_area_ptr;
static DEFINE_MUTEX(lazyidle_inject_lock);

static __always_inline u64 lazyidle_injected_steal_ns(void)
{
	return READ_ONCE(lazyidle_inject_steal_ns);
}

static __always_inline const struct kvm_steal_time *lazyidle_injected_area(void)
{
	return READ_ONCE(lazyidle_inject_area_ptr);
}
#else
static __always_inline u64 lazyidle_injected_steal_ns(void)
{
	return 0;
}

static __always_inline const struct kvm_steal_time *lazyidle_injected_area(void)
{
	return NULL;
}
#endif

/* Check the clock (and so the budget) every this many pause instructions. */
#define LAZYIDLE_RELAX_COUNT 32

/*
 * Same version protocol as kvm_steal_clock(): odd = host is mid-update.
 * *seq: the version the steal figure was read under (even, unchanged across
 * the read), 0 without an area; two of them around a halt tell whether the
 * host rewrote the area meanwhile (lazyidle_core_halt_blocked()).
 */
static __always_inline u64 lazyidle_read_steal(const struct kvm_steal_time *st, u32 *seq)
{
	u32 version;
	u64 steal;

	*seq = 0;
	if (!st)
		return 0;
	do {
		version = READ_ONCE(st->version);
		virt_rmb(); /* version before steal, as the host writes them */
		steal = READ_ONCE(st->steal);
		virt_rmb(); /* steal before the re-read of version */
	} while ((version & 1) || version != READ_ONCE(st->version));
	*seq = version;
	return steal;
}

/*
 * The host's halt-poll info, same protocol; written by the host in the same
 * sequence as steal, refreshed at every vcpu_load(), i.e. after a halt that
 * really blocked.
 */
static __always_inline void lazyidle_read_host_info(const struct kvm_steal_time *st,
						    u32 *wake_latency_ns, u32 *halt_poll_ns)
{
	u32 version;

	do {
		version = READ_ONCE(st->version);
		virt_rmb(); /* version before the words, as the host writes them */
		*wake_latency_ns = READ_ONCE(LAZYIDLE_ST_WAKE_LATENCY(st));
		*halt_poll_ns = READ_ONCE(LAZYIDLE_ST_HALT_POLL(st));
		virt_rmb(); /* the words before the re-read of version */
	} while ((version & 1) || version != READ_ONCE(st->version));
}

static __always_inline const struct kvm_steal_time *
lazyidle_host_info_area(const struct lazyidle_cpu *c)
{
	return c->host_info_area ? c->host_info_area : lazyidle_injected_area();
}

/*
 * B = w/100 * wake latency, the latency being (in this order):
 * - calibrate=0: none, B = block_cost_ns (the operator pinned it);
 * - the host's published wake latency, when use_host_latency=1 and the host
 *   published a non-zero figure no larger than calib_max_ns (the same
 *   outlier bound as the own samples: a host that publishes nonsense falls
 *   back rather than switching polling on for good);
 * - the own lateness median once there is a sample;
 * - else block_cost_ns.
 * The host's figure is the wakeup-to-running delay of this vCPU's blocked
 * halts as KVM measured it, the part of a trap the guest's own lateness
 * only estimates (and, under emulation, inflates with timer emulation).
 */
static __always_inline u64 lazyidle_block_cost(const struct lazyidle_cpu *c, u32 *source)
{
	u64 weight = lazyidle_knob_get(&lazyidle_latency_weight_pct);
	u64 host = c->host_wake_latency_ns;

	if (!lazyidle_knob_get(&lazyidle_calibrate)) {
		*source = LAZYIDLE_B_PARAM;
		return lazyidle_knob_get(&lazyidle_block_cost_ns);
	}
	if (host && host <= lazyidle_knob_get(&lazyidle_calib_max_ns) &&
	    lazyidle_knob_get(&lazyidle_use_host_latency)) {
		*source = LAZYIDLE_B_HOST;
		return max_t(u64, host * weight / 100, 1);
	}
	if (c->calib_samples) {
		*source = LAZYIDLE_B_CALIBRATED;
		return c->calibrated_cost_ns ?
			max_t(u64, c->calibrated_cost_ns * weight / 100, 1) : 1;
	}
	*source = LAZYIDLE_B_PARAM;
	return lazyidle_knob_get(&lazyidle_block_cost_ns);
}

/*
 * The wake latency L of this CPU's halts as last measured, without the
 * weight w: the state's exit latency (published by lazyidle_publish()) and
 * what a halted idle's end - start holds beyond the idle (lazyidle_enter()).
 * Which measurement is L is lazyidle_core_wake_latency()'s rule (pure, so
 * it is unit-tested); this only gathers its inputs. READ_ONCE: the
 * publisher reads other CPUs' fields.
 */
static __always_inline u64 lazyidle_wake_latency(const struct lazyidle_cpu *c)
{
	const struct lazyidle_wake_latency_in in = {
		.host_ns = READ_ONCE(c->host_wake_latency_ns),
		.calib_max_ns = lazyidle_knob_get(&lazyidle_calib_max_ns),
		.calibrated_ns = READ_ONCE(c->calibrated_cost_ns),
		.calib_samples = READ_ONCE(c->calib_samples),
		.b_from_host = READ_ONCE(c->last_b_source) == LAZYIDLE_B_HOST,
	};

	return lazyidle_core_wake_latency(&in);
}

/*
 * Polling burns CPU the host may need (the talk's first risk): while the
 * host is taking time away from this vCPU, shrink the budget by the stolen
 * share, and stop polling altogether above steal_stop_permille.
 */
static __always_inline u64 lazyidle_steal_budget(struct lazyidle_cpu *c, u64 budget)
{
	u64 stop_q10 = lazyidle_knob_get(&lazyidle_steal_stop_permille) * 1024 / 1000;

	if (!c->steal_q10)
		return budget;
	if (c->steal_q10 >= stop_q10) {
		LAZYIDLE_STAT_ADD(c->steal_stops, 1);
		return 0;
	}
	return lazyidle_core_mul_div(budget, 1024 - c->steal_q10, 1024);
}

/*
 * __cpuidle: in .cpuidle.text, where the NMI backtrace code recognises an
 * idle CPU (and, on 6.12, noinstr: the RCU-idle halt inlined here is
 * outside any instrumentation).
 */
static __cpuidle int lazyidle_enter(struct cpuidle_device *dev,
				    struct cpuidle_driver *drv, int index)
{
	struct lazyidle_cpu *c = this_cpu_ptr(&lazyidle_cpus);
	struct lazyidle_decision decision;
	struct lazyidle_ledger ledger;
	u64 start, poll_end, end, idle_ns, mono_start, next, bound, cost, budget;
	u64 halt_mono = 0, steal_before = 0;
	u32 b_source, seq_before = 0;
	bool halted = false, host_blocked = false;

	WRITE_ONCE(c->in_enter, 1);
	start = local_clock();
	mono_start = ktime_get_mono_fast_ns();
	next = (u64)READ_ONCE(dev->next_hrtimer);
	if (!next)
		bound = LAZYIDLE_NO_BOUND;
	else
		bound = next > mono_start ? next - mono_start : 0;

	cost = lazyidle_block_cost(c, &b_source);
	if (lazyidle_gov_refresh(&c->gov))
		WRITE_ONCE(c->gov_summary, lazyidle_gov_summary(&c->gov.blob, c->gov.kind));
	lazyidle_core_select(&c->gov.blob, c->gov.kind, cost, bound, &decision);
	budget = lazyidle_steal_budget(c, lazyidle_policy_budget(decision.poll_budget_ns));

	if (budget) {
		local_irq_enable();
		if (!current_set_polling_and_test()) {
			unsigned int loops = 0;

			while (!need_resched()) {
				cpu_relax();
				if (++loops < LAZYIDLE_RELAX_COUNT)
					continue;
				loops = 0;
				if (local_clock() - start >= budget)
					break;
			}
		}
		local_irq_disable();
	}
	poll_end = local_clock();

	if (!current_clr_polling_and_test()) {
		halt_mono = ktime_get_mono_fast_ns();
		steal_before = lazyidle_read_steal(c->steal_area, &seq_before);
		/* sti; hlt, the waking handler runs, cli: IRQs off again. */
		lazyidle_rcu_idle_halt();
		halted = true;
	}
	end = local_clock();
	idle_ns = end - start;

	if (halted) {
		u64 wake_mono = ktime_get_mono_fast_ns();
		u32 seq_after;
		u64 steal = lazyidle_read_steal(c->steal_area, &seq_after) - steal_before +
			    lazyidle_injected_steal_ns();
		const struct kvm_steal_time *info = lazyidle_host_info_area(c);
		u32 shift = lazyidle_knob_get(&lazyidle_calib_shift);
		u64 share_q10, steal_q10;

		host_blocked = lazyidle_core_halt_blocked(c->steal_area != NULL,
							  seq_before, seq_after);
		if (!host_blocked)
			LAZYIDLE_STAT_ADD(c->host_polled_halts, 1);

		/* For the next decision: the host refreshed it on the way back in. */
		if (info) {
			u32 wake_latency_ns, halt_poll_ns;

			lazyidle_read_host_info(info, &wake_latency_ns, &halt_poll_ns);
			WRITE_ONCE(c->host_wake_latency_ns, wake_latency_ns);
			WRITE_ONCE(c->host_halt_poll_ns, halt_poll_ns);
			LAZYIDLE_STAT_ADD(c->host_info_reads, 1);
		}

		/*
		 * Only a halt that the next timer should have ended is a clean
		 * sample: the timer must lie after the halt began (not spent
		 * while polling) and have passed by the wakeup; anything that
		 * woke the CPU earlier says nothing about the trap cost.
		 */
		if (next && next > halt_mono && wake_mono >= next) {
			u64 lateness = wake_mono - next;

			if (lateness <= lazyidle_knob_get(&lazyidle_calib_max_ns)) {
				u32 bucket = min_t(u32, lateness ? ilog2(lateness) : 0, 23);
				u64 median = lateness, mean = lateness;

				if (c->calib_samples) {
					median = lazyidle_core_median_step(c->calibrated_cost_ns,
									   lateness);
					/*
					 * Not DECLARE_EWMA: its weight is a compile-time
					 * constant and calib_shift is a knob; and this is
					 * the core's ewma_step, so C and C++ round alike.
					 */
					mean = lazyidle_core_ewma(c->lateness_mean_ns, lateness,
								  shift);
				}
				WRITE_ONCE(c->calibrated_cost_ns, median);
				WRITE_ONCE(c->lateness_mean_ns, mean);
				LAZYIDLE_STAT_ADD(c->calib_samples, 1);
				LAZYIDLE_STAT_ADD(c->lateness_sum_ns, lateness);
				WRITE_ONCE(c->last_lateness_ns, lateness);
				LAZYIDLE_STAT_ADD(c->lateness_log2[bucket], 1);
			}
		}
		share_q10 = idle_ns ? min_t(u64, lazyidle_core_mul_div(steal, 1024, idle_ns), 1024) : 0;
		LAZYIDLE_STAT_ADD(c->steal_total_ns, steal);
		steal_q10 = lazyidle_core_ewma(c->steal_q10, share_q10, shift);
		/* An integer EWMA stalls below 2^shift; no steal means none. */
		if (!share_q10 && steal_q10 < (1u << shift))
			steal_q10 = 0;
		WRITE_ONCE(c->steal_q10, steal_q10);
		LAZYIDLE_STAT_ADD(c->halts, 1);
		LAZYIDLE_STAT_ADD(c->poll_ns, poll_end - start);
		LAZYIDLE_STAT_ADD(c->halt_ns, end - poll_end);
	} else {
		LAZYIDLE_STAT_ADD(c->poll_hits, 1);
		LAZYIDLE_STAT_ADD(c->poll_ns, idle_ns);
	}
	LAZYIDLE_STAT_ADD(c->entries, 1);
	WRITE_ONCE(c->last_budget_ns, budget);
	WRITE_ONCE(c->last_expected_ns, decision.expected_ns);
	WRITE_ONCE(c->last_confidence_q10, decision.confidence_q10);
	WRITE_ONCE(c->last_lambda_q10, decision.lambda_q10);
	WRITE_ONCE(c->last_block_cost_ns, cost);
	WRITE_ONCE(c->last_b_source, b_source);

	/*
	 * end - start ran until this CPU ran again, so a halted idle also holds
	 * the halt's wake latency, which belongs to B, not to the idle: tell the
	 * core the idle less the latency measured for it, as menu_update()
	 * subtracts a state's exit latency, but only if the halt blocked in the
	 * host (the steal-time version moved): one the host's halt polling
	 * caught did not pay L. A wakeup caught polling as it is.
	 */
	lazyidle_core_reflect_measured(&c->gov.blob, c->gov.kind, idle_ns, poll_end - start,
				       halted && host_blocked ? lazyidle_wake_latency(c) : 0);
	/*
	 * A wakeup caught by polling cost its own length however the clock
	 * check overshot the budget; account it as such.
	 */
	ledger = c->ledger;
	lazyidle_core_ledger_add(&ledger, idle_ns, halted ? budget : max(budget, idle_ns), cost);
	lazyidle_ledger_publish(&c->ledger, &ledger);
	/* Every access of this call is done before unload may see 0. */
	smp_store_release(&c->in_enter, 0);
	return index;
}

static struct cpuidle_driver lazyidle_driver = {
	.name = "lazyidle",
	/* No .owner: it would pin the module and make rmmod fail forever. */
	.states = {
		{
			.name = "LAZYIDLE",
			.desc = "poll core budget, then HLT",
			/* Placeholders until the first calibration is published. */
			.exit_latency = 1,
			.target_residency = 1,
			.enter = lazyidle_enter,
			.flags = CPUIDLE_FLAG_RCU_IDLE,
		},
	},
	.state_count = 1,
	.safe_state_index = 0,
};

/* ---- publishing the calibrated trap cost ---------------------------------- */

/*
 * drv->states is shared by all CPUs on x86, so it gets the largest per-CPU
 * calibration (the conservative exit latency); the per-CPU values live in
 * debugfs. Against polling, halting pays off once the idle exceeds B, so B
 * is also the state's target residency.
 */
static void lazyidle_publish(struct work_struct *work);
static DECLARE_DELAYED_WORK(lazyidle_publish_work, lazyidle_publish);

static void lazyidle_publish(struct work_struct *work)
{
	struct cpuidle_state *state = &lazyidle_driver.states[0];
	u64 worst = 0;
	int cpu;

	for_each_online_cpu(cpu) {
		const struct lazyidle_cpu *c = per_cpu_ptr(&lazyidle_cpus, cpu);

		worst = max(worst, lazyidle_wake_latency(c));
	}
	if (worst) {
		WRITE_ONCE(state->exit_latency_ns, worst);
		WRITE_ONCE(state->target_residency_ns, worst);
		WRITE_ONCE(state->exit_latency, max_t(u64, div_u64(worst, NSEC_PER_USEC), 1));
		WRITE_ONCE(state->target_residency, max_t(u64, div_u64(worst, NSEC_PER_USEC), 1));
	}
	schedule_delayed_work(&lazyidle_publish_work, HZ);
}

/* ---- CPU hotplug ------------------------------------------------------------ */

static bool lazyidle_kvm;
static enum cpuhp_state lazyidle_hp_state;

/*
 * kvm_para_has_feature() calls kvm_arch_para_features(), which vmlinux does
 * not export; find KVM's leaves with the kernel's hypervisor_cpuid_base()
 * (an inline) and read the feature leaf ourselves.
 */
static bool lazyidle_kvm_has_feature(unsigned int feature)
{
	u32 base = hypervisor_cpuid_base(KVM_SIGNATURE, 0);

	return base && (cpuid_eax(base | KVM_CPUID_FEATURES) & (1u << feature));
}

/* Runs on @cpu itself, so the MSR read and the statistics reset are local. */
static int lazyidle_cpu_online(unsigned int cpu)
{
	struct lazyidle_cpu *c = per_cpu_ptr(&lazyidle_cpus, cpu);
	u64 msr;

	c->gov.generation = 0;	/* rebuilt at this CPU's next idle */
	WRITE_ONCE(c->gov_summary, 0);
	WRITE_ONCE(c->steal_area, NULL);
	WRITE_ONCE(c->host_info_area, NULL);
	WRITE_ONCE(c->host_wake_latency_ns, 0);
	WRITE_ONCE(c->host_halt_poll_ns, 0);
	if (lazyidle_kvm && lazyidle_kvm_has_feature(KVM_FEATURE_STEAL_TIME) &&
	    !rdmsrl_safe(MSR_KVM_STEAL_TIME, &msr) && (msr & KVM_MSR_ENABLED))
		WRITE_ONCE(c->steal_area, phys_to_virt(msr & KVM_STEAL_VALID_BITS));
	if (c->steal_area && lazyidle_kvm_has_feature(LAZYIDLE_KVM_FEATURE_HALT_POLL_INFO))
		WRITE_ONCE(c->host_info_area, c->steal_area);
	/* Host halt polling on top of ours would poll twice. */
	if (lazyidle_kvm)
		arch_haltpoll_enable(cpu);
	return 0;
}

static int lazyidle_cpu_offline(unsigned int cpu)
{
	struct lazyidle_cpu *c = per_cpu_ptr(&lazyidle_cpus, cpu);

	if (lazyidle_kvm)
		arch_haltpoll_disable(cpu);
	WRITE_ONCE(c->steal_area, NULL);
	WRITE_ONCE(c->host_info_area, NULL);
	return 0;
}

/* ---- debugfs ------------------------------------------------------------------ */

static struct dentry *lazyidle_debugfs;

static int lazyidle_stats_show(struct seq_file *m, void *unused)
{
	int cpu = (long)m->private;
	const struct lazyidle_cpu *c = per_cpu_ptr(&lazyidle_cpus, cpu);
	struct lazyidle_ledger ledger;
	u64 summary = READ_ONCE(c->gov_summary);
	unsigned int kind;
	int i;

	lazyidle_ledger_read(&ledger, &c->ledger);

	/*
	 * Never c->gov: its owner may be rebuilding it right now. A CPU that
	 * has not idled since loading shows what it will build: a governor of
	 * the current kind and knobs, built here on the stack.
	 */
	if (!(summary & LAZYIDLE_SUMMARY_VALID)) {
		struct lazyidle_gov_slot fresh = {};

		lazyidle_gov_refresh(&fresh);
		summary = lazyidle_gov_summary(&fresh.blob, fresh.kind);
	}
	kind = (summary >> 32) & 0xff;

	seq_printf(m, "cpu %d\n", cpu);
	seq_printf(m, "entries %llu\n", READ_ONCE(c->entries));
	seq_printf(m, "poll_hits %llu\n", READ_ONCE(c->poll_hits));
	seq_printf(m, "halts %llu\n", READ_ONCE(c->halts));
	seq_printf(m, "poll_ns %llu\n", READ_ONCE(c->poll_ns));
	seq_printf(m, "halt_ns %llu\n", READ_ONCE(c->halt_ns));
	seq_printf(m, "budget_ns %llu\n", READ_ONCE(c->last_budget_ns));
	seq_printf(m, "predicted_ns %llu\n", READ_ONCE(c->last_expected_ns));
	seq_printf(m, "confidence_q10 %u\n", READ_ONCE(c->last_confidence_q10));
	seq_printf(m, "governor %s+%s\n", lazyidle_core_predictor_name(kind),
		   lazyidle_core_policy_name(kind));
	seq_printf(m, "lambda_q10 %u\n", READ_ONCE(c->last_lambda_q10));
	seq_printf(m, "block_cost_ns %llu\n", READ_ONCE(c->last_block_cost_ns));
	seq_printf(m, "calibrated_cost_ns %llu\n", READ_ONCE(c->calibrated_cost_ns));
	seq_printf(m, "lateness_mean_ns %llu\n", READ_ONCE(c->lateness_mean_ns));
	seq_printf(m, "calib_samples %llu\n", READ_ONCE(c->calib_samples));
	seq_printf(m, "lateness_sum_ns %llu\n", READ_ONCE(c->lateness_sum_ns));
	seq_printf(m, "last_lateness_ns %llu\n", READ_ONCE(c->last_lateness_ns));
	for (i = 0; i < ARRAY_SIZE(c->lateness_log2); i++)
		if (READ_ONCE(c->lateness_log2[i]))
			seq_printf(m, "lateness_log2_%d %u\n", i, READ_ONCE(c->lateness_log2[i]));
	seq_printf(m, "steal_q10 %llu\n", READ_ONCE(c->steal_q10));
	seq_printf(m, "steal_total_ns %llu\n", READ_ONCE(c->steal_total_ns));
	seq_printf(m, "steal_stops %llu\n", READ_ONCE(c->steal_stops));
	seq_printf(m, "steal_source %s\n", READ_ONCE(c->steal_area) ? "kvm" : "none");
	seq_printf(m, "host_info_source %s\n", READ_ONCE(c->host_info_area) ? "kvm" :
		   lazyidle_injected_area() ? "inject" : "none");
	seq_printf(m, "host_wake_latency_ns %llu\n", READ_ONCE(c->host_wake_latency_ns));
	seq_printf(m, "host_halt_poll_ns %llu\n", READ_ONCE(c->host_halt_poll_ns));
	seq_printf(m, "host_info_reads %llu\n", READ_ONCE(c->host_info_reads));
	seq_printf(m, "host_polled_halts %llu\n", READ_ONCE(c->host_polled_halts));
	seq_printf(m, "b_source %s\n",
		   lazyidle_b_source_names[min_t(u32, READ_ONCE(c->last_b_source),
						 LAZYIDLE_B_HOST)]);
	/* DESIGN §3 cost model; B in ns of added wake latency (w = 1). */
	seq_printf(m, "ledger_idles %llu\n", ledger.idles);
	seq_printf(m, "ledger_polled_wakeups %llu\n", ledger.polled_wakeups);
	seq_printf(m, "ledger_cost_ns %llu\n", ledger.decision_cost_ns);
	seq_printf(m, "ledger_opt_ns %llu\n", ledger.optimal_cost_ns);
	seq_printf(m, "ratio_permille %llu\n", lazyidle_core_ledger_ratio_permille(&ledger));
	seq_printf(m, "worst_case_permille %u\n", (u32)summary);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(lazyidle_stats);

static int lazyidle_governor_show(struct seq_file *m, void *unused)
{
	unsigned int kind = lazyidle_policy_kind();

	seq_printf(m, "predictor %s\npolicy %s\ncost_currency wake_latency_ns\n",
		   lazyidle_core_predictor_name(kind), lazyidle_core_policy_name(kind));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(lazyidle_governor);

#ifdef LAZYIDLE_TEST_HOOKS
/*
 * Writes one word of the stand-in host info page as the host does: version
 * odd, field, version even. Values are what the ABI can carry (u32); the
 * consumer applies its own sanity bound. The mutex serialises writers only:
 * readers in ->enter() use the lock-free version protocol.
 */
static int lazyidle_inject_host_word(u64 val, bool latency)
{
	struct kvm_steal_time *st = &lazyidle_inject_area;

	if (val > U32_MAX)
		return -EINVAL;
	mutex_lock(&lazyidle_inject_lock);
	WRITE_ONCE(st->version, st->version + 1);
	smp_wmb(); /* odd version visible before the word changes */
	if (latency)
		WRITE_ONCE(LAZYIDLE_ST_WAKE_LATENCY(st), val);
	else
		WRITE_ONCE(LAZYIDLE_ST_HALT_POLL(st), val);
	smp_wmb(); /* the word visible before the even version */
	WRITE_ONCE(st->version, st->version + 1);
	WRITE_ONCE(lazyidle_inject_area_ptr, st);
	mutex_unlock(&lazyidle_inject_lock);
	return 0;
}

static int lazyidle_inject_latency_set(void *data, u64 val)
{
	return lazyidle_inject_host_word(val, true);
}

static int lazyidle_inject_latency_get(void *data, u64 *val)
{
	*val = READ_ONCE(LAZYIDLE_ST_WAKE_LATENCY(&lazyidle_inject_area));
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(lazyidle_inject_latency_fops, lazyidle_inject_latency_get,
			 lazyidle_inject_latency_set, "%llu\n");

static int lazyidle_inject_poll_set(void *data, u64 val)
{
	return lazyidle_inject_host_word(val, false);
}

static int lazyidle_inject_poll_get(void *data, u64 *val)
{
	*val = READ_ONCE(LAZYIDLE_ST_HALT_POLL(&lazyidle_inject_area));
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(lazyidle_inject_poll_fops, lazyidle_inject_poll_get,
			 lazyidle_inject_poll_set, "%llu\n");

static void lazyidle_inject_init(void)
{
	/* A previous load's injection does not survive reloading. */
	memset(&lazyidle_inject_area, 0, sizeof(lazyidle_inject_area));
	lazyidle_inject_area_ptr = NULL;
	lazyidle_inject_steal_ns = 0;
}

static void lazyidle_inject_debugfs_init(void)
{
	debugfs_create_u64("inject_steal_ns", 0644, lazyidle_debugfs,
			   &lazyidle_inject_steal_ns);
	debugfs_create_file_unsafe("inject_host_wake_latency_ns", 0644, lazyidle_debugfs,
				   NULL, &lazyidle_inject_latency_fops);
	debugfs_create_file_unsafe("inject_host_halt_poll_ns", 0644, lazyidle_debugfs,
				   NULL, &lazyidle_inject_poll_fops);
}
#else
static void lazyidle_inject_init(void) {}
static void lazyidle_inject_debugfs_init(void) {}
#endif

static void lazyidle_debugfs_init(void)
{
	char name[16];
	int cpu;

	lazyidle_debugfs = debugfs_create_dir("lazyidle", NULL);
	lazyidle_inject_debugfs_init();
	debugfs_create_file("governor", 0444, lazyidle_debugfs, NULL,
			    &lazyidle_governor_fops);
	for_each_possible_cpu(cpu) {
		struct dentry *dir;

		snprintf(name, sizeof(name), "cpu%d", cpu);
		dir = debugfs_create_dir(name, lazyidle_debugfs);
		debugfs_create_file("stats", 0444, dir, (void *)(long)cpu,
				    &lazyidle_stats_fops);
	}
}

/* ---- module ------------------------------------------------------------------- */

static int __init lazyidle_init(void)
{
	struct cpuidle_driver *existing;
	int cpu, ret;

	if (lazyidle_lambda_min_permille.value > lazyidle_lambda_max_permille.value) {
		pr_err("lambda_min_permille %u > lambda_max_permille %u\n",
		       lazyidle_lambda_min_permille.value, lazyidle_lambda_max_permille.value);
		return -EINVAL;
	}
	lazyidle_params_checked = true;
	/* Like cpuidle-haltpoll: idle= on the command line means hands off. */
	if (boot_option_idle_override != IDLE_NO_OVERRIDE) {
		pr_info("idle= given on the kernel command line; not registering\n");
		return -ENODEV;
	}
	if (!force && !boot_cpu_has(X86_FEATURE_HYPERVISOR)) {
		pr_info("not a hypervisor guest; load with force=1 to use anyway\n");
		return -ENODEV;
	}
	existing = cpuidle_get_driver();
	if (existing) {
		pr_info("cpuidle driver %s already registered\n", existing->name);
		return -EBUSY;
	}
	lazyidle_kvm = kvm_para_available();
	/* The host series' two words sit where Debian's headers have pad[0..1]. */
	BUILD_BUG_ON(offsetof(struct kvm_steal_time, pad) != 20);
	lazyidle_inject_init();

	/* A never-onlined CPU still gets a valid governor. */
	for_each_possible_cpu(cpu) {
		struct lazyidle_cpu *c = per_cpu_ptr(&lazyidle_cpus, cpu);

		memset(c, 0, sizeof(*c));
	}

	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "cpuidle/lazyidle:online",
				lazyidle_cpu_online, lazyidle_cpu_offline);
	if (ret < 0)
		return ret;
	lazyidle_hp_state = ret;

	ret = cpuidle_register(&lazyidle_driver, NULL);
	if (ret) {
		cpuhp_remove_state(lazyidle_hp_state);
		return ret;
	}
	lazyidle_debugfs_init();
	schedule_delayed_work(&lazyidle_publish_work, HZ);
	pr_info("registered (%s+%s, kvm %s)\n",
		lazyidle_core_predictor_name(lazyidle_policy_kind()),
		lazyidle_core_policy_name(lazyidle_policy_kind()), lazyidle_kvm ? "yes" : "no");
	return 0;
}

static void __exit lazyidle_exit(void)
{
	int cpu;

	cancel_delayed_work_sync(&lazyidle_publish_work);
	debugfs_remove_recursive(lazyidle_debugfs);
	/*
	 * cpuidle_unregister() stops new entries and waits for an RCU grace
	 * period, but that does not wait out a CPU inside lazyidle_enter():
	 * the halt runs RCU-idle (an extended quiescent state), so a CPU
	 * halted in our text does not hold the grace period up and runs the
	 * rest of lazyidle_enter() whenever it wakes. So: kick idle CPUs until
	 * none is inside; the grace period after that covers the few
	 * instructions after in_enter is cleared (RCU watching, preemption
	 * off until the idle loop's next quiescent state).
	 */
	cpuidle_unregister(&lazyidle_driver);
	for_each_possible_cpu(cpu) {
		while (smp_load_acquire(&per_cpu_ptr(&lazyidle_cpus, cpu)->in_enter)) {
			wake_up_all_idle_cpus();
			usleep_range(100, 200);
		}
	}
	synchronize_rcu();
	cpuhp_remove_state(lazyidle_hp_state);
}

module_init(lazyidle_init);
module_exit(lazyidle_exit);
MODULE_DESCRIPTION("lazyidle: paravirtual C-state cpuidle driver with a measured trap cost");
MODULE_LICENSE("GPL");
