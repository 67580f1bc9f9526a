// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The wake-latency stamp of patch 0001 (virt/kvm/halt_poll_policy.c of the
 * patched tree, compiled here as it is, over shim/host/tests/kstub/), driven
 * with a fake clock through the orders of events issue 12 names:
 *   - a halt with host polling off (no policy call) still arms and disarms
 *     the stamp, so a wakeup that lands after the vCPU ran again cannot
 *     become the next halt's sample;
 *   - a waker delayed from an older halt into a newer one is discarded;
 *   - the first sample is clamped like any other;
 *   - a wakeup of a vCPU that is not halted stamps nothing;
 *   - the per-vCPU debugfs line names the vCPU's process and id.
 * Built and run by scripts/test-host for each kernel's series; the file
 * under test is the one the kernel build compiles.
 */
#include <string.h>

#include "halt_poll_policy.c"

u64 kstub_now_ns;
const struct file_operations *kstub_debugfs_fops;
void *kstub_debugfs_data;
unsigned int halt_poll_policy;

bool kvm_lazyidle_has_policy(unsigned int kind) { return kind == 1; }
unsigned int kvm_lazyidle_state_size(void) { return 16; }
void kvm_lazyidle_init(void *state, unsigned int kind) { (void)state; (void)kind; }
u64 kvm_lazyidle_select(void *state, u64 block_cost_ns, u64 max_ns, u64 bound_ns)
{
	(void)state; (void)block_cost_ns; (void)bound_ns;
	return max_ns;
}
void kvm_lazyidle_reflect(void *state, u64 idle_ns, u64 halt_ns)
{
	(void)state; (void)idle_ns; (void)halt_ns;
}

static int failures;

static void check(int ok, const char *what)
{
	printf("wake_stamp: %s: %s\n", what, ok ? "ok" : "FAIL");
	failures += !ok;
}

/*
 * One halt as kvm_vcpu_halt() runs it: arm at start, an optional wakeup
 * (kvm_vcpu_wake_up() before the wake), the end. Returns note_resume's
 * wakeup time.
 */
static u64 halt(struct kvm_vcpu *v, u64 start, u64 wake, u64 end, int waited)
{
	u64 woke;

	kstub_now_ns = start;
	kvm_halt_poll_note_halt(v);
	if (wake) {
		kstub_now_ns = wake;
		kvm_halt_poll_note_wakeup(v);
	}
	kstub_now_ns = end;
	woke = kvm_halt_poll_note_resume(v, start, end, waited);
	return woke;
}

int main(void)
{
	struct kvm kvm = { .userspace_pid = 4242 };
	struct kvm_vcpu v = { .kvm = &kvm, .vcpu_id = 3, .halt_poll_ns = 0 };
	struct seq_file m;
	unsigned long long pid, id, mean, samples, window;
	u64 before;

	if (kvm_halt_poll_state_create(&v))
		return 1;
	check(kvm_vcpu_wake_latency_ns(&v) == 0, "no sample: the published mean is 0");

	/* First sample: 1 s (a wakeup that waited for a busy CPU). */
	halt(&v, 1000, 2000, 2000 + 1000000000ull, 1);
	check(kvm_vcpu_wake_latency_ns(&v) <= KVM_HALT_POLL_SAMPLE_CLAMP * KVM_HALT_POLL_INITIAL_COST_NS,
	      "the first sample is clamped to 4x the initial 10 us");
	printf("wake_stamp:   mean after a first 1 s sample: %llu ns\n",
	       (unsigned long long)kvm_vcpu_wake_latency_ns(&v));

	/* Settle the mean on 3 us wakeups. */
	for (int i = 0; i < 100; i++) {
		u64 t = 10000000ull + i * 1000000ull;

		halt(&v, t, t + 50000, t + 53000, 1);
	}
	before = kvm_vcpu_wake_latency_ns(&v);
	check(before >= 2900 && before <= 3100, "100 halts woken 3 us before running: mean ~3 us");

	/*
	 * Polling off, the vCPU ran again before its waker's stamp: the halt
	 * ends unstamped (no sample), the late stamp finds the stamp disarmed,
	 * and the next halt, woken 3 us before it runs, measures 3 us, not the
	 * time since the late stamp.
	 */
	halt(&v, 200000000ull, 0, 200010000ull, 1);
	kstub_now_ns = 200011000ull;
	kvm_halt_poll_note_wakeup(&v);
	check(v.halt_poll_state->wake_ns == 0, "a wakeup after the halt ended stamps nothing");
	kstub_now_ns = 300000000ull;
	halt(&v, 300000000ull, 300100000ull, 300103000ull, 1);
	check(kvm_vcpu_wake_latency_ns(&v) <= before + 100,
	      "the next halt's sample is its own wakeup (no stale stamp)");

	/* A waker of an older halt whose cmpxchg lands in a newer one. */
	samples = v.halt_poll_state->wake_samples;
	kstub_now_ns = 400000000ull;
	kvm_halt_poll_note_halt(&v);
	v.halt_poll_state->wake_ns = 399000000ull;	/* stamped before this halt began */
	check(kvm_halt_poll_note_resume(&v, 400000000ull, 400500000ull, 1) == 0 &&
	      v.halt_poll_state->wake_samples == samples,
	      "a stamp older than the halt's start is discarded");
	check(v.halt_poll_state->wake_ns == 0, "every halt ends disarmed");

	/* A halt that did not block (ended by polling) is no sample. */
	check(halt(&v, 500000000ull, 500001000ull, 500002000ull, 0) == 0 &&
	      v.halt_poll_state->wake_samples == samples, "a halt that did not block is no sample");

	/* debugfs: the vCPU's own line. */
	kvm_halt_poll_create_vcpu_debugfs(&v, NULL);
	memset(&m, 0, sizeof(m));
	m.private = kstub_debugfs_data;
	kstub_debugfs_fops->show(&m, NULL);
	check(kstub_debugfs_data == &v &&
	      sscanf(m.buf, "pid %llu vcpu %llu wake_latency_ns %llu samples %llu window_ns %llu",
		     &pid, &id, &mean, &samples, &window) == 5 && pid == 4242 && id == 3 &&
	      samples == v.halt_poll_state->wake_samples,
	      "the per-vCPU debugfs file shows its vCPU");
	printf("wake_stamp:   debugfs: %s", m.buf);

	kvm_halt_poll_state_destroy(&v);
	printf("wake_stamp: %s\n", failures ? "FAIL" : "PASS");
	return failures ? 1 : 0;
}
