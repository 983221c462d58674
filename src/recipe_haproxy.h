/*
 * recipe_haproxy: the HAProxy 2.6 form of a recipe. Export writes `option tcp-check` + `tcp-check ...`
 * (or `option httpchk` + `http-check ...`) lines, escaped so that HAProxy's lexer (haproxy_lex.h) reads
 * back exactly the recipe's bytes, optionally inside a complete `listen` section. Import reads the
 * check lines of one `listen`/`backend` section of a configuration file back into a recipe.
 */
#ifndef RECHECK_RECIPE_HAPROXY_H
#define RECHECK_RECIPE_HAPROXY_H

#include "buf.h"
#include "recipe-t.h"

#define HAPROXY_MAX_SERVERS 64
#define HAPROXY_MAX_CFG     (4u << 20)  /* largest configuration file import reads */

struct haproxy_server {
	const char *name;       /* server name; not owned */
	const char *addr;       /* HOST:PORT as HAProxy reads it; not owned */
	bool backup;
	int send_proxy;         /* 0, 1 (send-proxy) or 2 (send-proxy-v2) */
	bool check_send_proxy;  /* check-send-proxy */
	uint64_t slowstart;     /* `slowstart` ms, 0: none */
	unsigned maxconn;       /* `maxconn N`, 0: none */
	unsigned maxqueue;      /* `maxqueue N`, 0: none */
};

struct haproxy_export_opts {
	const char *listen;     /* NULL: only the check lines; else the name of a complete listen section */
	const char *bind;       /* bind address for the listen section (required with listen) */
	struct haproxy_server servers[HAPROXY_MAX_SERVERS];
	size_t nservers;
	bool hash_consistent;   /* hash-type consistent */
	const char *inter;      /* default-server inter/rise/fall: NULL leaves HAProxy's default */
	int rise, fall;         /* 0: HAProxy's default */
	const char *timeout;    /* timeout connect/check (and client/server); NULL: 5s */
	int retries;            /* `retries`: -1 leaves HAProxy's default (3) */
	bool redispatch;        /* option redispatch */
	const char *timeout_queue; /* `timeout queue`; NULL: none written (HAProxy then uses timeout connect) */
	bool accept_proxy;      /* bind ... accept-proxy */
	bool legacy_httpchk;    /* one-line `option httpchk M U V\r\nHdr:\ v` form (HTTP recipes) */
	const char *indent;     /* prefix of every check line; NULL: four spaces inside a listen, else none */
	bool first_default;     /* a first connect step is written `connect default`, so that HAProxy applies
	                         * the server's check-via-socks4 to it, as recheckd to a check's first
	                         * connection */
};

/*
 * Appends the HAProxy lines of r to out. r must be valid (recipe_compile). Returns 0, or -1 with a
 * reason in err (a step HAProxy cannot express, too many words on a line, buffer cap).
 */
int haproxy_export(const struct recipe *r, const struct haproxy_export_opts *o, struct buf *out, char *err,
		   size_t errlen);

/*
 * Reads the checks of the `listen`/`backend` section named section (NULL: the only section that has
 * checks; an error lists them when several do) of the configuration file at path. ${NAME} references
 * inside double quotes are kept (the step is marked env), not expanded. Returns a compiled recipe the
 * caller frees, or NULL with "path:line: reason" in err.
 */
struct recipe *haproxy_import_file(const char *path, const char *section, char *err, size_t errlen);
/* Same, from memory; name is used in messages in place of a path. */
struct recipe *haproxy_import_mem(const char *text, size_t len, const char *name, const char *section, char *err,
				  size_t errlen);

/* The server-line options a TLS check of r needs (check-ssl, check-sni, verify, ca-file, ...), each with
 * a leading space; nothing for a check without TLS. -1 when the cap is hit. */
int haproxy_server_tls_opts(const struct recipe *r, struct buf *out);
/* " socks4 IP:PORT" when the recipe's connects go through a SOCKS4 proxy (their via-socks4 needs it on the
 * server line); nothing otherwise. -1 with err when two connects name different proxies. */
int haproxy_server_socks4_opt(const struct recipe *r, struct buf *out, char *err, size_t errlen);

/* The PROXY header version of the recipe's connects in *out (0: none). -1 with err when two connects
 * differ, or when a connect without one would be written `default` too (HAProxy heads every default
 * connect alike). dflt: the first connect is written default. */
int haproxy_recipe_send_proxy(const struct recipe *r, bool dflt, int *out, char *err, size_t errlen);
/* " check-send-proxy" (+ " send-proxy-v2" for v2) when the recipe's connects send a PROXY header, for a
 * server that has send_proxy (0, 1, 2) and check_send_proxy already; nothing otherwise. -1 with err when
 * the connects disagree, or the version is not the server's. dflt: the first connect is written default. */
int haproxy_server_proxy_opt(const struct recipe *r, bool dflt, int send_proxy, bool check_send_proxy, struct buf *out,
			     char *err, size_t errlen);

/* True when the n bytes at w are a section keyword (global, defaults, listen, backend, ...). */
bool haproxy_is_section_kw(const char *w, size_t n);
/* For a server / default-server keyword that changes what a health check does (port, addr, check-ssl,
 * socks4, send-proxy, ...): what it does, for a message naming it; NULL for any other keyword. */
const char *haproxy_check_kw_unsupported(const char *kw);

/* haproxy_import_mem() for recheckd -f: flags HAPROXY_IMPORT_SERVER_PROXY accepts send-proxy* and
 * check-send-proxy on server lines (recheckd applies them as server settings, not in the recipe). */
#define HAPROXY_IMPORT_SERVER_PROXY 0x1
struct recipe *haproxy_import_section(const char *text, size_t len, const char *name, const char *section,
				      unsigned flags, char *err, size_t errlen);

/*
 * Appends the word that HAProxy's lexer reads back as exactly p[0..n) (no NUL allowed: HAProxy would
 * cut there). regex keeps harmless backslash pairs such as '\.' as they are, for readability.
 * -1 when the cap is hit.
 */
int haproxy_escape_word(struct buf *out, const unsigned char *p, size_t n, bool regex);
/* Same, as a double-quoted word whose ${NAME} references HAProxy expands; other '$' are escaped. */
int haproxy_escape_env_word(struct buf *out, const unsigned char *p, size_t n);

#endif
