/*
 * recipe_lint: warnings about recipes that load and run but are fragile in ways that bite later: a
 * SOCKS5 CONNECT reply matched with its bound address pinned, an expect right after connect where the
 * client speaks first, lowercase hex in rbinary, a tcp recipe ending with a send, an HTTP expectation
 * that is HAProxy's lax default, TLS without verification or SNI. `recheck lint` prints them.
 */
#ifndef RECHECK_RECIPE_LINT_H
#define RECHECK_RECIPE_LINT_H

#include "api.h"

struct recipe;

/* One warning: the recipe line it is about (0: the whole recipe) and the message, without a newline. */
typedef void (*recipe_lint_cb)(void *arg, int line, const char *msg);

/* Runs every rule over r (loaded and valid); calls cb once per warning. Returns the number of warnings. */
int recipe_lint(const struct recipe *r, recipe_lint_cb cb, void *arg);

#endif
