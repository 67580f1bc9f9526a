#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR MIT
# Checks a C++ object meant for a kernel module (DESIGN §6 pitfalls): no
# .init_array/.ctors (global constructors never run), no .eh_frame (no
# unwinding), no undefined C++ runtime symbols (_Z*, __cxa_*, __gxx_*,
# __udivti3, float helpers).
set -eu
o=$1
[ -f "$o" ] || { echo "check-cxx-object: no $o"; exit 1; }
bad=0
if objdump -h "$o" | grep -E '\.(init_array|ctors|eh_frame|gcc_except_table)' ; then
	echo "check-cxx-object: $o has constructor/unwind sections"; bad=1
fi
und=$(nm -u "$o" | awk '{print $2}')
for s in $und; do
	case $s in
	_Z*|__cxa_*|__gxx_*|__udivti3|__umodti3|__divti3|__*sf*|__*df*|_Unwind_*)
		echo "check-cxx-object: $o needs $s"; bad=1 ;;
	esac
done
# shellcheck disable=SC2086 # $und is a word list on purpose
[ $bad = 0 ] && echo "check-cxx-object: $o clean (undefined: $(printf '%s ' $und))"
exit $bad
