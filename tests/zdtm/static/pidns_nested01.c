// SPDX-License-Identifier: LGPL-2.1-or-later
/* pidns_nested01: pidns_nested00 two PID namespaces deep (C1 is the init of
 * the outer one, N of the inner one, where it leads a session of its own). */
#define DEPTH 2
#include "pidns_nested00.c"
