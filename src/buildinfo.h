/*
 * buildinfo: what `recheck --version -v` and `recheckd --version -v` print: the libraries this binary
 * was built against and runs with, the build type and the compiled-in features (HAProxy's -vv).
 */
#ifndef RECHECK_BUILDINFO_H
#define RECHECK_BUILDINFO_H

#include <stdio.h>

/* Prints "PROG VERSION" and, when verbose, one line per library, the build type and the features. */
void buildinfo_print(FILE *f, const char *prog, bool verbose);

#endif
