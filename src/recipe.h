/*
 * recipe: build, validate and free recipes (see recipe-t.h for the model).
 *
 * Ownership: recipe_new() returns a recipe the caller frees with recipe_free(). Strings and payloads set
 * through the setters are copied. Pointers returned by recipe_add_*() stay valid only until the next
 * recipe_add_*() on the same recipe (the arrays grow with realloc).
 */
#ifndef RECHECK_RECIPE_H
#define RECHECK_RECIPE_H

#include "recipe-t.h"

/* Caps that keep a hostile recipe from using unbounded memory. */
#define RECIPE_MAX_STEPS    1024
#define RECIPE_MAX_PAYLOAD  16384   /* HAProxy's tune.bufsize: a larger send fails there */

struct recipe *recipe_new(enum recipe_kind kind);
void recipe_free(struct recipe *r);

/* Appends a zeroed step of the given type (min_recv = -1). NULL when out of memory or over the cap. */
struct step *recipe_add_step(struct recipe *r, enum step_type type);
struct http_hdr *recipe_add_hdr(struct recipe *r, const char *name, const char *value);
struct http_expect *recipe_add_hexpect(struct recipe *r, enum http_expect_match match);

/* Copies p (n bytes) into the step's payload. -1 when out of memory. */
int step_set_data(struct step *s, const void *p, size_t n);
/* TLS parameters: free the owned fields (and drop the context reference); deep copy sharing the context;
 * validate ("AT: tls: reason" in err). */
void step_tls_clear(struct step_tls *t);
int step_tls_copy(struct step_tls *dst, const struct step_tls *src);
int step_tls_check(const struct step_tls *t, const char *at, char *err, size_t errlen);
/* Replaces *dst with a copy of src (NULL clears). -1 when out of memory. */
int recipe_set_str(char **dst, const char *src);

/*
 * Validates the recipe and compiles its regexes. Returns 0, or -1 with the first problem in err as
 * "step N (line L): reason" so that callers can prefix the file name. Run once after loading.
 */
int recipe_compile(struct recipe *r, char *err, size_t errlen);

/*
 * Returns a copy of r in which every ${NAME} reference of steps/headers marked env is replaced by the
 * environment variable NAME. NULL with "step N: environment variable NAME is not set" in err.
 */
struct recipe *recipe_resolve_env(const struct recipe *r, char *err, size_t errlen);
/*
 * RFC 1929 length bytes in front of ${NAME} references (what --redact writes): -1 with "step N: NAME is
 * 9 bytes long, but the recipe was built for a 6-byte value ..." when a set variable has another length.
 * recipe_resolve_env() checks this first; `recheck lint` calls it too.
 */
int recipe_check_env_lengths(const struct recipe *r, char *err, size_t errlen);
/* Deep copy (regexes are recompiled). NULL when out of memory. */
struct recipe *recipe_dup(const struct recipe *r);
/* A new STEP_CONNECT (an HTTP recipe's 'connect') with from's port, linger, addr and socks4; NULL: no memory. */
struct step *recipe_new_connect(const struct step *from);

/* True when the recipe carries a recorded credential (Proxy-Authorization, RFC 1929 user/password). */
bool recipe_has_secret(const struct recipe *r);

const char *step_type_str(enum step_type t);
const char *expect_match_str(enum expect_match m);
const char *http_expect_match_str(enum http_expect_match m);
/* "str", "beg", "end", "sub", "reg": HAProxy's -m methods of http-check expect hdr; parse returns -1 on others. */
const char *hdr_match_str(enum hdr_match m);
int hdr_match_parse(const char *s, enum hdr_match *m);

/* Parses an http-check "status" list ("200-399,401"); 1 when code is in it, 0 when not, -1 when malformed. */
int http_status_in_list(const char *list, int code);

#endif
