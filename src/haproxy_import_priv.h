/*
 * haproxy_import_priv.h: internals shared by the importer's files only: haproxy_import.c (tcp-check),
 * haproxy_import_cfg.c (sections) and haproxy_import_http.c (option httpchk, http-check). Not a public
 * interface: callers use recipe_haproxy.h.
 */
#ifndef RECHECK_HAPROXY_IMPORT_PRIV_H
#define RECHECK_HAPROXY_IMPORT_PRIV_H

#include "buf.h"
#include "haproxy_lex.h"
#include "recipe-t.h"

/* State of one import: the recipe being built and where we are in the file. */
struct imp {
	const char *file;
	struct recipe *r;
	struct buf notes;
	char *err;
	size_t errlen;
	int line;
	int step;         /* HAProxy's step number: every tcp-check / http-check line */
	char *pending;    /* comment of a `comment` rule, for the following run of rules */
	int pending_type; /* rule type the pending comment sticks to; -1: the next rule decides */
	bool http_send_seen;
	int hdr_line;     /* line whose headers the request holds: a later line with headers replaces them */
	bool server_proxy_ok; /* recheckd: send-proxy / check-send-proxy are server settings it applies */
	bool srv_via;     /* recheckd -f: a server says socks4 + check-via-socks4 (applied per server) */
	int srv_pp;       /* recheckd -f: the first checked server's send-proxy version (0, 1, 2) */
	bool http_conn_explicit; /* an `http-check connect` rule without `default`: the server's TLS, socks4
	                          * and PROXY header do not apply to it (HAProxy) */
	int conn_default[16]; /* indices of `tcp-check connect default` steps (they take the server's TLS) */
	size_t nconn_default;
};

/* A connect's socks4len while the walk has not read the server's `socks4` yet: `tcp-check connect
 * via-socks4`, or a default connect with check-via-socks4 (haproxy_import_cfg.c resolves it). */
#define HAPROXY_IMPORT_VIA_SOCKS4 1

/* A connect's send_proxy while the walk has not read the server's send-proxy version yet: `tcp-check
 * connect send-proxy`, whose header HAProxy writes in the server's version (haproxy_import_cfg.c resolves it). */
#define HAPROXY_IMPORT_SERVER_PP (-1)

/* The TLS of a check as server and default-server lines set it (check-ssl, check-sni, ...). */
struct srvtls {
	int ssl;            /* -1 unset, 0 no, 1 yes */
	int verify;         /* -1 unset (HAProxy: required), 0 none, 1 required */
	int port;           /* `port N`: the check's port, 0: the server's */
	char sni[256], alpn[256], ca[1024], verifyhost[256];
	struct sockaddr_storage addr, socks4; /* `addr IP[:PORT]`, `socks4 IP:PORT` */
	socklen_t addrlen, socks4len;         /* 0: unset */
	bool via_socks4;                      /* check-via-socks4 */
	bool check_pp;                        /* check-send-proxy */
	int pp;                               /* its version: send-proxy 1, send-proxy-v2 2, 0 unset (v1) */
};

/*
 * The server line's check settings t onto the recipe the rules made (haproxy_import_srv.c): socks4, the
 * PROXY header, TLS, port and addr, in that order, as HAProxy applies them. 0, or -1 reported.
 */
int haproxy_import_apply_server(struct imp *im, const struct srvtls *t);

/* "file:line: message" into im->err; returns -1. */
int haproxy_import_fail(struct imp *im, const char *fmt, ...) PRINTF_FMT(2, 3);
/* The word as a C string, for messages and for HAProxy's C-string arguments (cut at the first NUL). */
const char *haproxy_import_ws(const struct haproxy_word *w);
int haproxy_import_set_comment(struct imp *im, char **dst, const struct haproxy_word *w);
/* Gives a pending `comment` rule's text to a rule of type t (the run of same-type rules it names). */
int haproxy_import_take_pending(struct imp *im, int t, char **dst);
struct step_tls;
/* The options of a `tcp-check connect` / `http-check connect` rule (kw names it in messages) into the
 * connect s and, for `ssl [sni N] [alpn L]`, into tls and *ssl; *dflt for `default`. 0, or -1 reported. */
int haproxy_import_connect_opts(struct imp *im, const struct haproxy_line *l, const char *kw, struct step *s,
                                struct step_tls *tls, bool *ssl, bool *dflt);
/* "<kw> comment <msg>": keeps msg for the next run of rules (HAProxy's comment rule). kw names the
 * directive (tcp-check, http-check) in messages. */
int haproxy_import_comment(struct imp *im, const struct haproxy_line *l, const char *kw);
/* Refuses ${NAME} where recheck cannot keep it. */
int haproxy_import_env_ok(struct imp *im, const struct haproxy_word *w, bool allowed);
/* min-recv / comment / *-status options of an expect: 1 when w[*i] was one (and *i moved), 0, or -1. */
int haproxy_import_expect_opt(struct imp *im, const struct haproxy_line *l, size_t *i, int *min_recv,
                              char **comment, char *error_status);
/* Strips '!' prefixes ('!string' or '! string'); returns the match keyword or NULL. */
const char *haproxy_import_negations(const struct haproxy_line *l, size_t *i, bool *negate, bool *any);
/* A match keyword of tcp-check or http-check expect and its match (enum expect_match or
 * enum http_expect_match). */
struct haproxy_import_match {
	const char *kw;
	int m;
};
/*
 * The [!]KEYWORD of an expect rule at w[*i] (rule: "tcp-check" or "http-check"), looked up in matches
 * (n entries; supported lists them for the message). Refuses a '!' without a keyword, an unknown keyword,
 * a second pattern (*have) and a keyword with no pattern after it. Returns the entry, with *have and
 * *negate set and *i on the keyword, or NULL after reporting.
 */
const struct haproxy_import_match *haproxy_import_expect_match(struct imp *im, const struct haproxy_line *l,
                                                               size_t *i, const char *rule,
                                                               const struct haproxy_import_match *matches,
                                                               size_t n, const char *supported, bool *have,
                                                               bool *negate);

/* One `tcp-check` line (haproxy_import.c). */
int haproxy_import_tcp_line(struct imp *im, const struct haproxy_line *l);

/* haproxy_import_http.c */
int haproxy_import_httpchk_option(struct imp *im, const struct haproxy_line *l);
int haproxy_import_http_line(struct imp *im, const struct haproxy_line *l);

#endif
