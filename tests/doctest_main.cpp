// SPDX-License-Identifier: GPL-2.0-only OR MIT
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
