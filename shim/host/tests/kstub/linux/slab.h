/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* kzalloc/kfree: see kvm_host.h. */
