// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * pvinfo: prints the KVM paravirtual CPUID leaves as a guest sees them.
 * Run inside the L2 Linux guest of scripts/test-host-l2 (static, no libc
 * beyond what -static brings). Output, one line:
 *   PVINFO sig=KVMKVMKVM max_leaf=0x40000001 features=0x... halt_poll_info=0|1
 * Bit 18 of CPUID 0x40000001 EAX is KVM_FEATURE_HALT_POLL_INFO
 * (shim/host/patches/0003, docs/host-patch.md).
 */
#include <cpuid.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	unsigned int a, b, c, d;
	char sig[13];

	__cpuid(0x40000000, a, b, c, d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	sig[12] = 0;
	for (int i = 0; i < 12; i++)
		if (sig[i] < 0x20 || sig[i] > 0x7e)
			sig[i] = '.';
	unsigned int max = a;
	unsigned int feat = 0;
	if (strcmp(sig, "KVMKVMKVM...") == 0 && max >= 0x40000001) {
		__cpuid(0x40000001, a, b, c, d);
		feat = a;
	}
	printf("PVINFO sig=%s max_leaf=0x%x features=0x%x halt_poll_info=%u steal_time=%u\n",
	       sig, max, feat, (feat >> 18) & 1, (feat >> 5) & 1);
	return strcmp(sig, "KVMKVMKVM...") == 0 ? 0 : 1;
}
