/*
 * fuzz.h: what every libFuzzer target in tests/fuzz shares. Each fuzz_<name>.c defines
 * LLVMFuzzerTestOneInput(); built with clang's -fsanitize=fuzzer it is driven by libFuzzer, built with
 * replay_main.c it replays committed inputs (corpus and regressions) in the ordinary test run.
 *
 * FUZZ_CHECK() is for invariants the module documents (a saved recipe loads back, a complete head's
 * prefixes are incomplete): breaking one aborts, which libFuzzer reports as a crash with the input.
 */
#ifndef RECHECK_FUZZ_H
#define RECHECK_FUZZ_H

#include "api.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...) do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
			abort(); \
		} \
	} while (0)

#endif
