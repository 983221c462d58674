/*
 * conf_haproxy_priv.h: what conf_haproxy.c (reading the HAProxy file) and conf_haproxy_build.c (turning
 * its sections into listeners) share. Not an interface: see conf.h.
 */
#ifndef RECHECKD_CONF_HAPROXY_PRIV_H
#define RECHECKD_CONF_HAPROXY_PRIV_H

#include "api.h"

#include "buf.h"
#include "conf.h"

#define HX_MAX_PROXIES (2 * CONF_MAX_LISTENERS)

/* Server settings: from default-server lines, then the server line. */
struct srvset {
	uint64_t inter, fastinter, downinter;
	bool has_fastinter, has_downinter;
	int rise, fall;
	int observe, error_limit, on_error; /* observe layer4, error-limit, on-error (conf_check's) */
	unsigned weight;
	uint64_t slowstart;    /* `slowstart` ms, 0: none */
	bool check, backup, shutdown;
	int send_proxy;        /* 0, 1 (send-proxy), 2 (send-proxy-v2) */
	bool check_send_proxy; /* check-send-proxy, or implied by send-proxy as in HAProxy */
	bool explicit_csp;     /* check-send-proxy written */
	bool port_set;         /* `port N`: the check goes elsewhere, send-proxy no longer implies it */
	int maxconn, maxqueue; /* `maxconn`, `maxqueue`: 0 = no limit */
	struct sockaddr_storage addr, socks4; /* `addr IP[:PORT]` (the checks'), `socks4 IP:PORT` */
	socklen_t addrlen, socks4len;         /* 0: unset */
	bool via_socks4;       /* check-via-socks4 */
	bool disabled;         /* `disabled`: starts in MAINT */
};

struct hsrv {
	struct conf_server cs;
	bool check;
};

struct px {
	char name[CONF_NAME_MAX + 1];
	char type[16];         /* defaults, listen, frontend, backend */
	int line;
	char *bind;            /* owned, as written */
	int bind_line;
	bool balance_source;
	int balance_line;
	char hash[64];         /* hash-type words */
	bool allbackups;
	int maxconn;
	uint64_t t_client, t_server, t_connect, t_check;
	uint64_t t_queue;      /* `timeout queue`, 0 unset: HAProxy then uses timeout connect */
	bool has_t_connect, has_t_check;
	char default_backend[CONF_NAME_MAX + 1];
	int default_backend_line;
	struct srvset ds;
	struct hsrv *srv;      /* owned array */
	size_t nsrv;
	bool used;             /* a frontend serves this backend */
	int retries;           /* `retries`, HAProxy's default 3 */
	bool redispatch;       /* option redispatch */
	bool accept_proxy;     /* bind ... accept-proxy */
	bool stats;            /* `stats enable`: recheckd's stats page listens on its bind */
	int mode_http_line;    /* `mode http`: only for a stats section */
};

struct hx {
	const char *file, *text;
	size_t len;
	int line;
	struct conf *cf;
	struct px *px;         /* owned array */
	size_t npx;
	struct px defaults;    /* the defaults section in effect */
	int global_maxconn, spread;
	struct buf warn;
	char *err;
	size_t errlen;
};

/* "FILE:LINE: reason" into h->err (h->line is the line); returns -1. */
int hx_fail(struct hx *h, const char *fmt, ...) PRINTF_FMT(2, 3);
/* A "FILE:LINE: reason" line for conf->warnings. */
void hx_warn(struct hx *h, const char *fmt, ...) PRINTF_FMT(2, 3);
/* HAProxy's address forms into the "HOST:PORT" / "[V6]:PORT" text net_parse_addr() reads. */
int hx_addr_text(struct hx *h, const char *in, char *out, size_t outlen);
/* Listeners of h->cf from the parsed sections (conf_haproxy_build.c). */
int hx_build(struct hx *h);

#endif
