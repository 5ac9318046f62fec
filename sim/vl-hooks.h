/*
 * vl-hooks.h - forced into every translation unit of a simulator library
 * (`-include`, mk/sim.mk). The library runs inside `mpbn`, whose stdout
 * carries one JSON line: Verilator's prints ($display, warnings) go to stderr,
 * and $finish/$stop/$fatal are recorded by sim/harness.cpp as an error of the
 * run instead of exiting the process (VL_USER_*).
 */
#ifndef SNN_VL_HOOKS_H
#define SNN_VL_HOOKS_H
#include <stdio.h>
#define VL_PRINTF(...) fprintf(stderr, __VA_ARGS__)
#define VL_USER_FINISH 1
#define VL_USER_STOP 1
#define VL_USER_FATAL 1
#define VL_USER_WARN 1
#endif
