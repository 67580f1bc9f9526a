# SPDX-License-Identifier: GPL-2.0-only OR MIT
# scripts/lib/kernels.sh (the kernel matrix) against a made-up package database.
add_test(NAME kernel_matrix COMMAND sh ${PROJECT_SOURCE_DIR}/tests/kernels/test-kernels.sh)
