/*
 * api.h: included first by every .c file of recheck. Build-wide decisions live here so that no module
 * has to repeat them: feature macros, the UNITTEST hook, small helpers every module uses.
 */
#ifndef RECHECK_API_H
#define RECHECK_API_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A file-local helper that unit tests need to reach: static normally, extern in the test build. */
#ifdef RECHECK_UNITTESTS
#define UNITTEST
#else
#define UNITTEST static
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)     ((a) < (b) ? (a) : (b))
#define MAX(a, b)     ((a) > (b) ? (a) : (b))

#define PRINTF_FMT(f, a) __attribute__((format(printf, f, a)))
#define NORETURN         __attribute__((noreturn))
#define UNUSED           __attribute__((unused))

/* Size of the error buffers that user-facing functions fill (see STYLE: errors a user can act on). */
#define ERR_LEN 512

/* Broken invariants only: never for anything a peer or an input file can cause. */
#define BUG_ON(cond) do { if (cond) rc_bug(__FILE__, __LINE__, #cond); } while (0)
NORETURN void rc_bug(const char *file, int line, const char *what);

#endif
