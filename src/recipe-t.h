/*
 * recipe-t.h: the recipe model. A recipe is an ordered list of check steps that maps one-to-one onto
 * HAProxy 2.6's tcp-check rules (kind RECIPE_TCP), or one HTTP request with its expectations that maps
 * onto option httpchk + http-check (kind RECIPE_HTTP). A loaded, compiled recipe is immutable and shared
 * read-only by every check that runs it.
 */
#ifndef RECHECK_RECIPE_T_H
#define RECHECK_RECIPE_T_H

#include "api.h"

#include <sys/socket.h>

struct rx;
struct tls_ctx;

/*
 * A TLS start (recipe step 'tls', or an HTTP recipe's 'tls'): the client side of a TLS handshake on the
 * check connection, after which every send and expect runs inside TLS. HAProxy can only express it
 * right after connect ("tcp-check connect ssl", "check-ssl").
 */
struct step_tls {
	char *sni;              /* owned; server name sent (SNI) and verified; NULL: none */
	bool verify;            /* verify the chain (system store or ca) and, with sni, the name */
	char *alpn;             /* owned; comma list as HAProxy's check-alpn ("h2,http/1.1"); NULL: none */
	char *ca;               /* owned; PEM file of trusted CAs; NULL: the system store */
	struct tls_ctx *ctx;    /* built by tls_prepare(); shared by recipe_dup() copies (refcounted) */
};

enum recipe_kind {
	RECIPE_TCP = 0,  /* option tcp-check + tcp-check rules */
	RECIPE_HTTP,     /* option httpchk + http-check send / expect */
};

enum step_type {
	STEP_CONNECT = 0, /* tcp-check connect [port N] [linger] */
	STEP_SEND,        /* tcp-check send (text) or send-binary (binary) */
	STEP_EXPECT,      /* tcp-check expect [min-recv N] [!] <match> <pattern> */
	STEP_TLS,         /* start TLS here; right after connect it is tcp-check connect ssl [sni N] */
};

enum expect_match {
	EXPECT_STRING = 0, /* substring, binary-safe */
	EXPECT_BINARY,     /* substring given as hex */
	EXPECT_RSTRING,    /* PCRE2 regex over the raw bytes */
	EXPECT_RBINARY,    /* PCRE2 regex over the UPPERCASE hex form of the bytes */
};

struct step {
	enum step_type type;
	char *comment;          /* owned, NULL when none; HAProxy's "comment <msg>" */
	int line;               /* line of the source file it came from; 0 when built in memory */

	/* STEP_CONNECT */
	int port;               /* 0: the server's own port */
	bool linger;            /* close with FIN rather than HAProxy's default RST */
	/* tcp-check connect addr IP[:PORT]: connect there rather than to the server (addrlen 0: the server;
	 * the address's port, when not 0, applies to a rule without a port of its own) */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	/* HAProxy's server `socks4 IP:PORT` on this connection (check-via-socks4, tcp-check connect
	 * via-socks4): connect to the proxy, ask it (SOCKS4 CONNECT) for the target above; len 0: none */
	struct sockaddr_storage socks4;
	socklen_t socks4len;
	/* send_proxy: a PROXY protocol header (1: v1 "PROXY UNKNOWN", 2: v2 LOCAL) goes first on this
	 * connection, after the SOCKS4 grant: HAProxy's check-send-proxy on a default connect; 0: none */
	int send_proxy;

	/* STEP_SEND */
	bool binary;            /* written as hex (send-binary) rather than text (send) */
	bool env;               /* payload holds ${NAME} references filled from the environment */
	bool secret;            /* payload carries a recorded credential (RFC 1929, Proxy-Authorization) */

	/* STEP_EXPECT */
	enum expect_match match;
	bool negate;            /* '!': the step passes when the pattern is NOT found */
	int min_recv;           /* -1 (HAProxy's default) or the bytes to wait for before concluding */
	char error_status[8];   /* HAProxy's error-status: L7RSP (""), L7STS, L6RSP or L4CON on a failure */

	/* Payload: bytes to send, the string/binary pattern, or the regex source. Owned; always followed
	 * by a NUL that len does not count, so text payloads can be used as C strings. */
	unsigned char *data;
	size_t len;
	struct rx *rx;          /* rstring/rbinary compiled by recipe_compile(); owned */

	/* STEP_TLS */
	struct step_tls tls;
};

struct http_hdr {
	char *name;             /* owned */
	char *value;            /* owned; may hold ${NAME} references */
};

struct http_req {
	char *method;           /* owned; NULL: OPTIONS (HAProxy's default) */
	char *uri;              /* owned; NULL: "/" */
	char *version;          /* owned; NULL: HTTP/1.0 */
	struct http_hdr *hdrs;  /* owned array */
	size_t nhdrs;
	unsigned char *body;    /* owned, NUL-terminated, may be NULL */
	size_t bodylen;
	bool env;               /* header values hold ${NAME} references */
	bool secret;            /* a header carries a recorded credential */
	bool send_state;        /* http-check send-state: an x-haproxy-server-state header of the live state */
	char *comment;          /* owned */
	int line;
};

enum http_expect_match {
	HEXP_STATUS = 0,        /* comma list of codes and ranges: "204", "200-399,401" */
	HEXP_RSTATUS,           /* regex over the status code text */
	HEXP_STRING,            /* substring of the body */
	HEXP_RSTRING,           /* regex over the body */
	HEXP_HDR,               /* a response header: http-check expect hdr / fhdr */
};

/* How http-check expect hdr matches a header name or value ("-m str|beg|end|sub|reg"). */
enum hdr_match {
	HDRM_STR = 0,           /* equal (names compare case-insensitively) */
	HDRM_BEG,               /* prefix */
	HDRM_END,               /* suffix */
	HDRM_SUB,               /* substring */
	HDRM_REG,               /* PCRE2 regex (a name is matched in lower case, as HAProxy stores it) */
};

struct http_expect {
	enum http_expect_match match;
	bool negate;
	int min_recv;           /* -1 or >= 0, as for tcp-check */
	char *pattern;          /* owned */
	size_t len;
	struct rx *rx;          /* owned, compiled for rstatus/rstring, and for hdr with name_m == HDRM_REG */
	char *comment;          /* owned */
	int line;

	/* HEXP_HDR: pattern is the header name pattern */
	enum hdr_match name_m;  /* how the name is matched */
	enum hdr_match value_m; /* how the value is matched */
	char *value;            /* owned; NULL: the header's presence is enough */
	size_t vlen;
	struct rx *vrx;         /* owned, compiled when value_m == HDRM_REG */
	bool full;              /* fhdr: the whole value, commas are not list separators */
};

struct recipe {
	enum recipe_kind kind;

	/* metadata, all owned and optional */
	char *name;             /* short identifier, used in logs and exports */
	char *protocol;         /* detected protocol: socks5, socks5+http, socks4, http-proxy, http-connect, raw */
	char *recorded_from;    /* e.g. "socks5h://127.0.0.1:1080 -> http://example/generate_204" */
	char *recorded_at;      /* ISO 8601 UTC */
	char *notes;            /* free text, may span lines */
	char *file;             /* path it was loaded from, for messages; NULL when built in memory */

	/* RECIPE_TCP */
	struct step *steps;     /* owned array */
	size_t nsteps;

	/* RECIPE_HTTP */
	struct step_tls *tls;   /* owned; TLS right after connect (check-ssl), NULL for plain HTTP */
	/* owned; where the check connects (a STEP_CONNECT: port, addr, socks4, linger), as HAProxy's server
	 * port / addr / check-via-socks4 or a first "http-check connect" rule; NULL: the server itself */
	struct step *conn;
	struct http_req req;
	struct http_expect *hexp; /* owned array; none means HAProxy's implicit "status 200-399" */
	size_t nhexp;
};

#endif
