/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The only seam between the kernel C glue (which includes kernel headers and
 * nothing of the core) and the C++ glue (which includes the core and nothing
 * of the kernel). Plain C types only, so both languages read the same layout;
 * lazyidle_core.cpp static_asserts that the core's objects fit the blobs.
 */
#ifndef LAZYIDLE_SHIM_CORE_H
#define LAZYIDLE_SHIM_CORE_H

#ifdef __cplusplus
extern "C" {
#endif

#define LAZYIDLE_NO_BOUND (~0ULL)

/*
 * Opaque storage for one lazyidle::default_governor. 64 bytes is the core's
 * size goal; the C++ side refuses to compile if the default outgrows it.
 */
#define LAZYIDLE_GOV_WORDS 8
struct lazyidle_gov_blob {
	unsigned long long words[LAZYIDLE_GOV_WORDS];
};

/* A blob with the kind it holds and the knob generation it was built for. */
struct lazyidle_gov_slot {
	struct lazyidle_gov_blob blob;
	unsigned int kind;
	unsigned int generation;	/* 0 = never initialised */
};

/* Same fields, order and meaning as lazyidle::cost_ledger (cost.hpp). */
struct lazyidle_ledger {
	unsigned long long decision_cost_ns;
	unsigned long long optimal_cost_ns;
	unsigned long long idles;
	unsigned long long polled_wakeups;
	unsigned long long poll_ns;
};

struct lazyidle_decision {
	unsigned long long poll_budget_ns;
	unsigned long long expected_ns;
	unsigned int confidence_q10;
	unsigned int lambda_q10;	/* current trust, 1024 when not applicable */
};

/*
 * Which governor a blob holds. The C side keeps the kind next to the blob
 * and re-initialises the blob when the policy knob changes it.
 */
enum lazyidle_gov_kind {
	LAZYIDLE_GOV_DEFAULT = 0,	/* lazyidle::default_governor */
	LAZYIDLE_GOV_AUGMENTED = 1,	/* last value + prediction_augmented (lambda) */
};

/* lambda bounds in Q10 (1024 = 1.0); only the augmented kind uses them. */
void lazyidle_core_gov_init(struct lazyidle_gov_blob *gov, unsigned int kind,
			    unsigned int lambda_min_q10,
			    unsigned int lambda_max_q10);
void lazyidle_core_select(struct lazyidle_gov_blob *gov, unsigned int kind,
			  unsigned long long block_cost_ns,
			  unsigned long long bound_ns,
			  struct lazyidle_decision *out);
void lazyidle_core_reflect(struct lazyidle_gov_blob *gov, unsigned int kind,
			   unsigned long long idle_ns);
/*
 * lazyidle_core_reflect() of an idle its caller timed from its start until
 * the CPU ran again (idle_ns), polled_ns of it polling: the core is told
 * idle_ns - wake_latency_ns, never less than polled_ns (idle_before_wakeup()
 * in include/lazyidle/cost.hpp says why). wake_latency_ns: the measured
 * wake latency of the halt that ended the idle, 0 when polling caught the
 * wakeup. Returns the idle the core was told.
 */
unsigned long long lazyidle_core_reflect_measured(struct lazyidle_gov_blob *gov, unsigned int kind,
						  unsigned long long idle_ns,
						  unsigned long long polled_ns,
						  unsigned long long wake_latency_ns);
/* The governor's proven worst case sum(cost)/sum(OPT), per-mille. */
unsigned int lazyidle_core_worst_case_permille(const struct lazyidle_gov_blob *gov,
					       unsigned int kind);

void lazyidle_core_ledger_add(struct lazyidle_ledger *ledger,
			      unsigned long long idle_ns,
			      unsigned long long budget_ns,
			      unsigned long long block_cost_ns);
unsigned long long
lazyidle_core_ledger_ratio_permille(const struct lazyidle_ledger *ledger);

/* arith.hpp helpers, so C and C++ round the same way. */
unsigned long long lazyidle_core_ewma(unsigned long long average,
				      unsigned long long sample,
				      unsigned int shift);
unsigned long long lazyidle_core_mul_div(unsigned long long a,
					 unsigned long long b,
					 unsigned long long c);

/*
 * One step of a streaming median estimate (frugal median with a step of
 * 1/16 of the estimate): the typical trap cost, robust against the
 * millisecond outliers a busy host adds to a few wakeups.
 */
unsigned long long lazyidle_core_median_step(unsigned long long estimate,
					     unsigned long long sample);

/*
 * What the guest driver knows of the wake latency L of this CPU's halts (a
 * trap's wakeup-to-running delay, without the weight w of B).
 */
struct lazyidle_wake_latency_in {
	unsigned long long host_ns;		/* host-published figure, 0 = none */
	unsigned long long calib_max_ns;	/* the outlier bound of the own samples */
	unsigned long long calibrated_ns;	/* running median of the own samples */
	unsigned long long calib_samples;	/* own samples so far */
	unsigned int b_from_host;		/* the last B was built from host_ns */
};

/*
 * L as the driver uses it (subtracted from a halted idle, published as the
 * state's exit latency): the host's figure when the last B was built from
 * it and it is non-zero and at most calib_max_ns (it is re-read after every
 * halt, so it may have left the range since B was built), else the own
 * median once there is a sample, else 0: nothing measured, nothing
 * subtracted. Pure, so the rule is tested in userspace
 * (tests/unit/test_guest_wake_latency.cpp) on the code the module links.
 */
unsigned long long lazyidle_core_wake_latency(const struct lazyidle_wake_latency_in *in);

/*
 * Whether a halt blocked in the host, i.e. paid the L of
 * lazyidle_core_wake_latency(): the delay of a vCPU descheduled, woken,
 * scheduled and loaded again. A halt the host's halt polling caught (or
 * that never blocked, e.g. an interrupt already pending) paid about one VM
 * exit, which nothing measures, and is reflected as it is (the simulator's
 * host-polled rule). KVM rewrites the steal-time area, bumping its version,
 * in the vCPU's first entry after every vcpu_load(), i.e. only after the
 * vCPU was scheduled out: with the version read consistently (even,
 * unchanged across the read) before and after the halt, an unchanged one
 * means the vCPU did not block. Without a steal-time area (seq_known 0)
 * there is no telling, and the halt counts as blocked, as before.
 */
int lazyidle_core_halt_blocked(unsigned int seq_known, unsigned int seq_before,
			       unsigned int seq_after);

/* Names of a kind's predictor and policy, for debugfs. */
const char *lazyidle_core_predictor_name(unsigned int kind);
const char *lazyidle_core_policy_name(unsigned int kind);

#ifdef __cplusplus
}
#endif

#endif
