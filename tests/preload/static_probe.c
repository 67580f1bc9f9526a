/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* A statically linked program lazyidle-run must refuse: it creates the
 * file named by its argument, so a run is visible. */
#include <stdio.h>
int main(int argc, char** argv) {
  FILE* f = argc > 1 ? fopen(argv[1], "w") : NULL;
  return f && fclose(f) == 0 ? 0 : 1;
}
