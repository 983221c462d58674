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

/* Exit codes shared by the recheck commands (documented in README.md and recheck --help). */
enum rc_exit {
	RC_EXIT_OK = 0,          /* success; for a check: it passed */
	RC_EXIT_CHECK_FAILED = 1, /* the check ran and the server answered wrongly (L7 verdicts) */
	RC_EXIT_USAGE = 2,       /* bad command line */
	RC_EXIT_BAD_INPUT = 3,   /* an input file (recipe, config, pcap) is unreadable or invalid */
	RC_EXIT_UNREACHABLE = 4, /* the server or proxy could not be reached (L4 verdicts, DNS) */
	RC_EXIT_IO = 5,          /* a local failure: cannot write the output, capture, permissions */
};

/* Broken invariants only: never for anything a peer or an input file can cause. */
#define BUG_ON(cond) do { if (cond) rc_bug(__FILE__, __LINE__, #cond); } while (0)
NORETURN void rc_bug(const char *file, int line, const char *what);

#endif
