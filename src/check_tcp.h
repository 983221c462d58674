/*
 * check_tcp: the tcp-check side of the check engine (RECIPE_TCP recipes), internal to it: check.c's
 * check_next() calls check_tcp_next(); drivers use check.h.
 */
#ifndef RECHECK_CHECK_TCP_H
#define RECHECK_CHECK_TCP_H

#include "check-t.h"

/* Evaluates a TCP recipe's rules as far as possible and returns what the driver must do next. */
struct check_action check_tcp_next(struct check_run *run);

#endif
