/*
 * conf_priv.h: what conf.c (values, the key-table walker, listeners, top level) and conf_server.c
 * (servers and checks) share while reading recheckd's YAML configuration. Not an interface: see conf.h.
 */
#ifndef RECHECKD_CONF_PRIV_H
#define RECHECKD_CONF_PRIV_H

#include "api.h"

#include <stddef.h>

#include "conf.h"
#include "ytree.h"

struct ctx {
	struct ysink s;       /* file name and error buffer */
	const char *dir;      /* for recipe paths */
	int flags;
	struct conf *conf;
};

/* --- key tables --------------------------------------------------------------------------------- */

typedef int (*key_fn)(struct ctx *c, const struct ynode *v, const char *key, void *obj);

enum key_kind {
	K_INT = 0,     /* int field, lo..hi */
	K_UINT,        /* unsigned field, lo..hi */
	K_BOOL,        /* bool field: true/yes/on, false/no/off */
	K_STR,         /* char * field, owned; not empty */
	K_NAME,        /* K_STR of at most CONF_NAME_MAX bytes */
	K_DUR,         /* uint64_t milliseconds ("500ms", "2s", ...); lo = 1: must be more than 0 */
	K_ADDR,        /* HOST:PORT: char * text at off, sockaddr_storage at off2, socklen_t at off3 */
	K_CHOICE,      /* enum or bool field, one of choices[] */
	K_SECTION,     /* a nested mapping whose keys (sub[]) fill the same struct */
	K_FN,          /* fn(c, value, key, obj) */
	K_LATER,       /* accepted here, read by the section's parser after the walk */
};

struct choice {
	const char *name;
	int val;
};

struct key {
	const char *name;
	enum key_kind kind;
	size_t off, off2, off3;        /* fields in the section's struct; K_CHOICE: off2 is the field's size */
	long lo, hi;
	key_fn fn;
	const struct choice *choices;  /* K_CHOICE, ends with {NULL, 0} */
	const struct key *sub;         /* K_SECTION: the nested mapping's keys, applied to the same struct */
	size_t nsub;
};

/* offsetof(T, f), refused at compile time unless T.f has type `type`. */
#define FIELD(T, f, type) (offsetof(T, f) + 0 * sizeof(char[_Generic(((T *)0)->f, type: 1)]))

#define KEY_INT(name, T, f, lo, hi)  {name, K_INT, FIELD(T, f, int), 0, 0, lo, hi, NULL, NULL, NULL, 0}
#define KEY_UINT(name, T, f, lo, hi) {name, K_UINT, FIELD(T, f, unsigned), 0, 0, lo, hi, NULL, NULL, NULL, 0}
#define KEY_BOOL(name, T, f)         {name, K_BOOL, FIELD(T, f, bool), 0, 0, 0, 0, NULL, NULL, NULL, 0}
#define KEY_STR(name, T, f)          {name, K_STR, FIELD(T, f, char *), 0, 0, 0, 0, NULL, NULL, NULL, 0}
#define KEY_NAME(name, T, f)         {name, K_NAME, FIELD(T, f, char *), 0, 0, 0, 0, NULL, NULL, NULL, 0}
/* min 1: zero is refused ("must be more than 0"). */
#define KEY_DUR(name, T, f, min)     {name, K_DUR, FIELD(T, f, uint64_t), 0, 0, min, 0, NULL, NULL, NULL, 0}
#define KEY_ADDR(name, T, text, ss, len) \
	{name, K_ADDR, FIELD(T, text, char *), FIELD(T, ss, struct sockaddr_storage), FIELD(T, len, socklen_t), \
	 0, 0, NULL, NULL, NULL, 0}
/* An enum (int-sized) or bool field; choices ends with {NULL, 0}. */
#define KEY_CHOICE(name, T, f, choices) \
	{name, K_CHOICE, offsetof(T, f), sizeof(((T *)0)->f) + 0 * sizeof(char[sizeof(((T *)0)->f) == sizeof(int) || \
	 sizeof(((T *)0)->f) == sizeof(bool) ? 1 : -1]), 0, 0, 0, NULL, choices, NULL, 0}
#define KEY_SECTION(name, keys)      {name, K_SECTION, 0, 0, 0, 0, 0, NULL, NULL, keys, ARRAY_SIZE(keys)}
#define KEY_FN(name, fn)             {name, K_FN, 0, 0, 0, 0, 0, fn, NULL, NULL, 0}
#define KEY_LATER(name)              {name, K_LATER, 0, 0, 0, 0, 0, NULL, NULL, NULL, 0}

/* --- conf.c: errors, values, the walker --------------------------------------------------------- */

/* FILE:LINE:COLUMN: message at node n, into the context's error buffer; returns -1. */
PRINTF_FMT(3, 4)
int conf_bad(struct ctx *c, const struct ynode *n, const char *fmt, ...);
int conf_want(struct ctx *c, const struct ynode *n, enum ynode_type t, const char *key);
int conf_get_str(struct ctx *c, const struct ynode *n, const char *key, char **out);
int conf_get_bool(struct ctx *c, const struct ynode *n, const char *key, bool *out);
int conf_walk(struct ctx *c, const struct ynode *map, const char *what, const struct key *keys, size_t nkeys,
	      void *obj);

#define WALK(c, map, what, keys, obj) conf_walk((c), (map), (what), (keys), ARRAY_SIZE(keys), (obj))

/* --- conf_server.c: checks and servers ---------------------------------------------------------- */

/* on_marked_down: the listener's default and each server's own. */
extern const struct choice conf_on_down_choices[];

void conf_check_defaults(struct conf_check *ck);
int conf_check_parse(struct ctx *c, struct conf_check *ck, const struct ynode *n, const char *what,
		     const struct conf_check *from);
void conf_check_clear(struct conf_check *ck);
int conf_server_parse(struct ctx *c, struct conf_listener *li, struct conf_server *sv, const struct ynode *n);

#endif
