/*
 * conf_haproxy: recheckd's configuration read from an HAProxy 2.6 file (docs/haproxy.md, "recheckd -f
 * haproxy.cfg"). It builds the same struct conf as the YAML reader, so balancing and checks run one
 * code path whatever the format.
 *
 * Sections are read as HAProxy reads them: a `defaults` section is copied into every proxy declared
 * after it; `listen` is a listener; `frontend` + its `default_backend` is a listener; a `backend` no
 * frontend uses is not served (warning). The checks of a backend are imported by haproxy_import (its
 * own check option and rules, or the defaults'), once per backend, and shared by its servers.
 *
 * A directive outside the subset is an error naming FILE:LINE and the directive; directives that only
 * change logging or other things no client sees are warnings (conf->warnings).
 */
#include "api.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "hash.h"
#include "haproxy_lex.h"
#include "net.h"
#include "recipe.h"
#include "recipe_haproxy.h"
#include "server-t.h"
#include "util.h"

#include "conf_haproxy_priv.h"

int hx_fail(struct hx *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset_err_at(h->err, h->errlen, h->file, h->line, fmt, ap);
	va_end(ap);
	return -1;
}

void hx_warn(struct hx *h, const char *fmt, ...)
{
	/* room for the capped reason plus any path the file could have */
	char line[ERR_LEN + PATH_MAX + 16];
	va_list ap;

	va_start(ap, fmt);
	vset_err_at(line, sizeof(line), h->file, h->line, fmt, ap);
	va_end(ap);
	buf_printf(&h->warn, "%s\n", line);
}

static const char *hx_ws(const struct haproxy_line *l, size_t i)
{
	return i < l->n ? (const char *)l->w[i].data : "";
}

bool conf_is_haproxy(const char *text, size_t len)
{
	static const char *const first[] = {"global", "defaults", "listen", "frontend", "backend"};
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *s = p, *e;
		size_t i;

		e = nl ? nl : end;
		while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
			s++;
		if (s < e && *s != '#') {
			for (i = 0; i < ARRAY_SIZE(first); i++) {
				size_t n = strlen(first[i]);

				if ((size_t)(e - s) >= n && !memcmp(s, first[i], n) &&
				    ((size_t)(e - s) == n || s[n] == ' ' || s[n] == '\t' || s[n] == '\r' || s[n] == '#'))
					return true;
			}
			return false;
		}
		p = nl ? nl + 1 : end;
	}
	return false;
}

static int hx_dur(struct hx *h, const struct haproxy_line *l, size_t i, uint64_t *out)
{
	char e[ERR_LEN];

	if (i >= l->n)
		return hx_fail(h, "'%s' expects a time", hx_ws(l, 0));
	if (duration_parse_ms(hx_ws(l, i), out, e, sizeof(e)) == -1)
		return hx_fail(h, "'%s': %s", hx_ws(l, 0), e);
	return 0;
}

static int hx_int(struct hx *h, const struct haproxy_line *l, size_t i, long lo, long hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(hx_ws(l, i), &end, 10);
	if (i >= l->n || !*hx_ws(l, i) || *end || errno || v < lo || v > hi)
		return hx_fail(h, "'%s' expects an integer from %ld to %ld (got '%s')", hx_ws(l, i - 1), lo, hi, hx_ws(l, i));
	*out = (int)v;
	return 0;
}

/* HAProxy's address forms: "host:port", "ipv6:port" (the last colon), "[v6]:port", ":port", "*:port". */
int hx_addr_text(struct hx *h, const char *in, char *out, size_t outlen)
{
	const char *colon;

	if (!strncmp(in, "ipv4@", 5) || !strncmp(in, "ipv6@", 5))
		in += 5;
	colon = strrchr(in, ':');
	if (!colon || !colon[1])
		return hx_fail(h, "address '%s' needs a port", in);
	if (in[0] == '[' || colon == in)
		snprintf(out, outlen, "%s", in);
	else if (colon - in == 1 && in[0] == '*')
		snprintf(out, outlen, "0.0.0.0%s", colon);
	else if (memchr(in, ':', (size_t)(colon - in)))
		snprintf(out, outlen, "[%.*s]%s", (int)(colon - in), in, colon);
	else
		snprintf(out, outlen, "%s", in);
	return 0;
}

/* Directives that change nothing a client sees: accepted with a warning. */
static bool harmless(const struct haproxy_line *l)
{
	static const char *const kw[] = {"log", "log-format", "log-tag", "description", "daemon", "master-worker"};
	static const char *const opt[] = {"dontlognull", "tcplog", "httplog", "log-health-checks", "logasap",
	                                  "log-separate-errors", "dontlog-normal"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kw); i++)
		if (haproxy_word_is(&l->w[0], kw[i]))
			return true;
	if (l->n >= 2 && haproxy_word_is(&l->w[0], "option"))
		for (i = 0; i < ARRAY_SIZE(opt); i++)
			if (haproxy_word_is(&l->w[1], opt[i]))
				return true;
	return false;
}

/* Check lines: haproxy_import reads them (and refuses what it cannot express). */
static bool check_line(const struct haproxy_line *l)
{
	static const char *const opt[] = {"tcp-check", "httpchk", "redis-check", "smtpchk", "ssl-hello-chk",
	                                  "mysql-check", "pgsql-check", "ldap-check", "spop-check", "external-check"};
	size_t i;

	if (haproxy_word_is(&l->w[0], "tcp-check") || haproxy_word_is(&l->w[0], "http-check"))
		return true;
	if (l->n >= 2 && (haproxy_word_is(&l->w[0], "option") ||
	                  (haproxy_word_is(&l->w[0], "no") && haproxy_word_is(&l->w[1], "option"))))
		for (i = 0; i < ARRAY_SIZE(opt); i++)
			if (haproxy_word_is(&l->w[haproxy_word_is(&l->w[0], "no") ? 2 : 1], opt[i]))
				return true;
	return false;
}

static int global_line(struct hx *h, const struct haproxy_line *l)
{
	struct conf *cf = h->cf;
	const char *kw = hx_ws(l, 0);

	if (!strcmp(kw, "nbthread"))
		return hx_int(h, l, 1, 1, CONF_MAX_THREADS, &cf->threads);
	if (!strcmp(kw, "maxconn"))
		return hx_int(h, l, 1, 1, 1000000, &h->global_maxconn);
	if (!strcmp(kw, "spread-checks"))
		return hx_int(h, l, 1, 0, 50, &h->spread);
	if (!strcmp(kw, "user") || !strcmp(kw, "group") || !strcmp(kw, "node")) {
		char **dst = kw[0] == 'u' ? &cf->user : kw[0] == 'n' ? &cf->node : &cf->group;

		if (l->n != 2)
			return hx_fail(h, "'%s' expects a name", kw);
		free(*dst);
		*dst = strdup(hx_ws(l, 1));
		return *dst ? 0 : hx_fail(h, "out of memory");
	}
	if (!strcmp(kw, "log") && l->n >= 2) {
		if (!strcmp(hx_ws(l, 1), "/dev/log"))
			cf->log = CONF_LOG_SYSLOG;
		else if (!strcmp(hx_ws(l, 1), "stdout") || !strcmp(hx_ws(l, 1), "stderr"))
			cf->log = CONF_LOG_STDERR;
		else
			hx_warn(h, "global 'log %s': recheckd logs to stderr or the local syslog only", hx_ws(l, 1));
		return 0;
	}
	if (!strcmp(kw, "stats") && l->n >= 3 && !strcmp(hx_ws(l, 1), "socket")) {
		if (cf->stats_socket)
			return hx_fail(h, "a second 'stats socket': recheckd has one runtime API socket");
		if (strlen(hx_ws(l, 2)) >= CONF_SOCKET_PATH_MAX || hx_ws(l, 2)[0] != '/')
			return hx_fail(h, "'stats socket %s': an absolute path under %d bytes", hx_ws(l, 2),
			               CONF_SOCKET_PATH_MAX);
		cf->stats_socket = strdup(hx_ws(l, 2));
		if (l->n > 3)
			hx_warn(h, "'stats socket' options after the path are ignored: recheckd's socket is mode 0600, "
			        "level admin");
		return cf->stats_socket ? 0 : hx_fail(h, "out of memory");
	}
	if (harmless(l)) {
		hx_warn(h, "global '%s' is ignored: it changes nothing a client sees", kw);
		return 0;
	}
	return hx_fail(h, "global '%s' is not supported by recheckd", kw);
}

/* server / default-server keywords into s; i is the first keyword. */
static int server_kws(struct hx *h, const struct haproxy_line *l, size_t i, struct srvset *s, unsigned *id)
{
	for (; i < l->n; i++) {
		const char *kw = hx_ws(l, i), *what;
		int n;

		if (!strcmp(kw, "check")) {
			s->check = true;
		} else if (!strcmp(kw, "no-check")) {
			s->check = false;
		} else if (!strcmp(kw, "backup")) {
			s->backup = true;
		} else if (!strcmp(kw, "inter") || !strcmp(kw, "fastinter") || !strcmp(kw, "downinter")) {
			uint64_t ms;

			if (hx_dur(h, l, ++i, &ms) == -1)
				return -1;
			if (!ms)
				return hx_fail(h, "'%s' must be more than 0", kw);
			if (kw[0] == 'i')
				s->inter = ms;
			else if (kw[0] == 'f')
				s->fastinter = ms, s->has_fastinter = true;
			else
				s->downinter = ms, s->has_downinter = true;
		} else if (!strcmp(kw, "rise") || !strcmp(kw, "fall")) {
			if (hx_int(h, l, ++i, 1, 1000, kw[0] == 'r' ? &s->rise : &s->fall) == -1)
				return -1;
		} else if (!strcmp(kw, "maxconn") || !strcmp(kw, "maxqueue")) {
			if (hx_int(h, l, ++i, 0, 1000000, kw[3] == 'c' ? &s->maxconn : &s->maxqueue) == -1)
				return -1;
		} else if (!strcmp(kw, "weight")) {
			if (hx_int(h, l, ++i, 0, SERVER_WEIGHT_MAX, &n) == -1)
				return -1;
			s->weight = (unsigned)n;
		} else if (!strcmp(kw, "slowstart")) {
			if (hx_dur(h, l, ++i, &s->slowstart) == -1)
				return -1;
			if (s->slowstart > CONF_SLOWSTART_MAX)
				return hx_fail(h, "'slowstart' longer than a day is not supported by recheckd");
		} else if (!strcmp(kw, "id") && id) {
			if (hx_int(h, l, ++i, 1, SERVER_ID_MAX, &n) == -1)
				return -1;
			*id = (unsigned)n;
		} else if (!strcmp(kw, "on-marked-down")) {
			if (strcmp(hx_ws(l, ++i), "shutdown-sessions"))
				return hx_fail(h, "'on-marked-down %s' is not supported (only shutdown-sessions)", hx_ws(l, i));
			s->shutdown = true;
		} else if (!strcmp(kw, "send-proxy") || !strcmp(kw, "send-proxy-v2")) {
			/* HAProxy: the checks send the header too (no port/addr: those are refused) */
			s->send_proxy = kw[10] ? 2 : 1;
			s->check_send_proxy = true;
		} else if (!strcmp(kw, "init-addr") || !strcmp(kw, "resolvers") || !strcmp(kw, "resolve-prefer")) {
			/* a name is resolved late by recheckd whatever these say: it waits in MAINT (resolution)
			 * until it has an address, as with init-addr last,libc,none (nameservers: in the YAML) */
			if (++i >= l->n)
				return hx_fail(h, "%s '%s' expects an argument", hx_ws(l, 0), kw);
		} else if (!strcmp(kw, "check-send-proxy")) {
			s->check_send_proxy = true;
			s->explicit_csp = true;
		} else if (!strcmp(kw, "observe")) {
			what = hx_ws(l, ++i);
			if (!strcmp(what, "layer4"))
				s->observe = 1;
			else if (!strcmp(what, "none"))
				s->observe = 0;
			else
				return hx_fail(h, "'observe %s' is not supported (layer4 only: layer7 needs mode http)", what);
		} else if (!strcmp(kw, "error-limit")) {
			if (hx_int(h, l, ++i, 1, 1000000, &s->error_limit) == -1)
				return -1;
		} else if (!strcmp(kw, "on-error")) {
			static const char *const modes[] = {"fastinter", "fail-check", "sudden-death", "mark-down"};
			size_t m;

			what = hx_ws(l, ++i);
			for (m = 0; m < ARRAY_SIZE(modes) && strcmp(what, modes[m]); m++)
				;
			if (m == ARRAY_SIZE(modes))
				return hx_fail(h, "'on-error %s': expected fastinter, fail-check, sudden-death or mark-down", what);
			s->on_error = CONF_ONERR_FASTINTER + (int)m;
		} else if (!strcmp(kw, "check-ssl") || !strcmp(kw, "no-check-ssl") || !strcmp(kw, "no-ssl")) {
			/* the check's TLS: haproxy_import puts it in the backend's recipe */
		} else if (!strcmp(kw, "addr") || !strcmp(kw, "socks4")) {
			/* the checks' address (as `port`, it stops send-proxy and ssl implying the checks'),
			 * or the SOCKS4 proxy of the traffic (and of the checks with check-via-socks4) */
			bool is_addr = kw[0] == 'a';
			char e[ERR_LEN];

			if (net_parse_ip(hx_ws(l, ++i), !is_addr, is_addr ? &s->addr : &s->socks4,
					 is_addr ? &s->addrlen : &s->socks4len, e, sizeof(e)) == -1)
				return hx_fail(h, "%s '%s' expects %s: %s", hx_ws(l, 0), kw,
					       is_addr ? "an IP address with an optional :PORT" : "IP:PORT", e);
		} else if (!strcmp(kw, "check-via-socks4")) {
			s->via_socks4 = true;
		} else if (!strcmp(kw, "disabled")) {
			s->disabled = true;
		} else if (!strcmp(kw, "enabled")) {
			s->disabled = false;
		} else if (!strcmp(kw, "port")) {
			/* the check's port: haproxy_import puts it on the recipe's connects; HAProxy then sends
			 * no PROXY header on checks unless check-send-proxy says so */
			if (++i >= l->n)
				return hx_fail(h, "%s 'port' expects a port", hx_ws(l, 0));
			s->port_set = true;
		} else if (!strcmp(kw, "check-sni") || !strcmp(kw, "check-alpn") || !strcmp(kw, "verify") ||
		           !strcmp(kw, "ca-file") || !strcmp(kw, "verifyhost")) {
			if (++i >= l->n)
				return hx_fail(h, "%s '%s' expects an argument", hx_ws(l, 0), kw);
		} else if (!strcmp(kw, "ssl") || !strcmp(kw, "sni") || !strcmp(kw, "alpn")) {
			return hx_fail(h, "%s '%s' encrypts the traffic to the server; recheckd relays it as it is (check-ssl, "
			               "check-sni and check-alpn set the check's TLS)", hx_ws(l, 0), kw);
		} else if ((what = haproxy_check_kw_unsupported(kw))) {
			return hx_fail(h, "%s '%s' %s, which recheckd cannot do yet", hx_ws(l, 0), kw, what);
		} else {
			return hx_fail(h, "%s keyword '%s' is not supported by recheckd", hx_ws(l, 0), kw);
		}
	}
	return 0;
}

static int server_line(struct hx *h, struct px *p, const struct haproxy_line *l)
{
	struct srvset s = p->ds;
	struct hsrv *v, *ns;
	char addr[NET_ADDRSTRLEN + 8], e[ERR_LEN];
	unsigned id = 0;
	size_t i;

	if (l->n < 3)
		return hx_fail(h, "'server' expects a name and an address");
	if (p->nsrv >= CONF_MAX_SERVERS)
		return hx_fail(h, "more than %d servers in %s", CONF_MAX_SERVERS, p->name);
	if (strlen(hx_ws(l, 1)) > CONF_NAME_MAX)
		return hx_fail(h, "server name longer than %d bytes", CONF_NAME_MAX);
	for (i = 0; i < p->nsrv; i++)
		if (!strcmp(p->srv[i].cs.name, hx_ws(l, 1)))
			return hx_fail(h, "server '%s' is already declared in %s (line %d)", hx_ws(l, 1), p->name,
			            p->srv[i].cs.line);
	if (server_kws(h, l, 3, &s, &id) == -1 || hx_addr_text(h, hx_ws(l, 2), addr, sizeof(addr)) == -1)
		return -1;
	/* the capacity doubles (4, 8, 16, ...): growing by one server made loading many servers quadratic */
	if (p->nsrv < 4 ? p->nsrv == 0 : !(p->nsrv & (p->nsrv - 1))) {
		ns = realloc(p->srv, (p->nsrv ? 2 * p->nsrv : 4) * sizeof(*ns));
		if (!ns)
			return hx_fail(h, "out of memory");
		p->srv = ns;
	}
	v = &p->srv[p->nsrv++];
	memset(v, 0, sizeof(*v));
	v->cs.line = h->line;
	v->cs.name = strdup(hx_ws(l, 1));
	v->cs.address = strdup(addr);
	if (!v->cs.name || !v->cs.address)
		return hx_fail(h, "out of memory");
	{
		char host[256];
		int rc = net_parse_addr_opt(addr, &v->cs.addr, &v->cs.addrlen, true, host, sizeof(host), &v->cs.port,
					    e, sizeof(e));

		if (rc == -1)
			return hx_fail(h, "server %s: %s", hx_ws(l, 1), e);
		if (rc == -2) { /* a DNS name: resolved by the daemon (resolve.c), never while loading */
			v->cs.addrlen = 0;
			v->cs.host = strdup(host);
			if (!v->cs.host)
				return hx_fail(h, "out of memory");
		}
	}
	v->cs.weight = s.weight;
	v->cs.backup = s.backup;
	v->cs.id = id;
	v->cs.shutdown_sessions = s.shutdown;
	v->cs.slowstart = s.slowstart;
	v->cs.send_proxy = s.send_proxy;
	v->cs.maxconn = (unsigned)s.maxconn;
	v->cs.maxqueue = (unsigned)s.maxqueue;
	v->cs.check_send_proxy = s.port_set || s.addrlen ? s.explicit_csp : s.check_send_proxy;
	v->cs.check_addr = s.addr;
	v->cs.check_addrlen = s.addrlen;
	v->cs.socks4 = s.socks4;
	v->cs.socks4len = s.socks4len;
	v->cs.check_via_socks4 = s.via_socks4;
	v->cs.disabled = s.disabled;
	if (s.socks4len && v->cs.addrlen && v->cs.addr.ss_family != AF_INET)
		return hx_fail(h, "server %s: 'socks4': a SOCKS4 proxy is asked for IPv4 addresses only", v->cs.name);
	v->check = s.check;
	v->cs.check.inter = s.inter;
	v->cs.check.fastinter = s.has_fastinter ? s.fastinter : s.inter;
	v->cs.check.downinter = s.has_downinter ? s.downinter : s.inter;
	v->cs.check.rise = s.rise;
	v->cs.check.fall = s.fall;
	v->cs.check.observe = s.observe;
	v->cs.check.error_limit = s.error_limit;
	v->cs.check.on_error = s.on_error;
	return 0;
}

static int proxy_line(struct hx *h, struct px *p, const struct haproxy_line *l)
{
	const char *kw = hx_ws(l, 0);
	bool fe = strcmp(p->type, "backend") != 0, be = strcmp(p->type, "frontend") != 0;

	if (check_line(l))
		return 0;
	if (!strcmp(kw, "mode")) {
		if (!strcmp(hx_ws(l, 1), "http") && strcmp(p->type, "defaults")) {
			p->mode_http_line = h->line; /* fine for a stats section: checked when building */
			return 0;
		}
		if (strcmp(hx_ws(l, 1), "tcp"))
			return hx_fail(h, "'mode %s': recheckd relays TCP only (mode tcp)", hx_ws(l, 1));
		p->mode_http_line = 0;
		return 0;
	}
	if (!strcmp(kw, "stats") && fe && strcmp(p->type, "defaults")) {
		static const char *const cosmetic[] = {"uri", "refresh", "show-legends", "show-node", "hide-version",
		                                       "realm"};
		size_t i;

		if (!strcmp(hx_ws(l, 1), "uri") && !strcmp(hx_ws(l, 2), "/"))
			return 0; /* where recheckd serves its page */
		if (!strcmp(hx_ws(l, 1), "enable")) {
			p->stats = true;
			return 0;
		}
		for (i = 0; i < ARRAY_SIZE(cosmetic); i++)
			if (!strcmp(hx_ws(l, 1), cosmetic[i])) {
				hx_warn(h, "'stats %s' is ignored: recheckd serves its page at /, JSON at /stats.json",
				        cosmetic[i]);
				return 0;
			}
		return hx_fail(h, "'stats %s' is not supported by recheckd", hx_ws(l, 1));
	}
	if (!strcmp(kw, "timeout") && l->n == 3) {
		const char *t = hx_ws(l, 1);
		uint64_t ms;

		if (hx_dur(h, l, 2, &ms) == -1)
			return -1;
		if (!strcmp(t, "client"))
			p->t_client = ms;
		else if (!strcmp(t, "server"))
			p->t_server = ms;
		else if (!strcmp(t, "connect"))
			p->t_connect = ms, p->has_t_connect = true;
		else if (!strcmp(t, "check"))
			p->t_check = ms, p->has_t_check = true;
		else if (!strcmp(t, "queue"))
			p->t_queue = ms;
		else
			return hx_fail(h, "'timeout %s' is not supported by recheckd (client, server, connect, queue, check)",
			               t);
		return 0;
	}
	if (!strcmp(kw, "balance")) {
		if (l->n != 2 || strcmp(hx_ws(l, 1), "source"))
			return hx_fail(h, "'balance %s': recheckd balances with 'balance source' only", hx_ws(l, 1));
		p->balance_source = true;
		p->balance_line = h->line;
		return 0;
	}
	if (!strcmp(kw, "hash-type")) {
		size_t i, o = 0;

		p->hash[0] = '\0';
		for (i = 1; i < l->n; i++) {
			int w = snprintf(p->hash + o, sizeof(p->hash) - o, "%s%s", i > 1 ? " " : "", hx_ws(l, i));

			if (w < 0 || (size_t)w >= sizeof(p->hash) - o)
				return hx_fail(h, "'hash-type': too long (at most %zu characters)", sizeof(p->hash) - 1);
			o += (size_t)w;
		}
		return 0;
	}
	if (!strcmp(kw, "option") && l->n == 2 && !strcmp(hx_ws(l, 1), "allbackups")) {
		p->allbackups = true;
		return 0;
	}
	if (!strcmp(kw, "maxconn") && fe)
		return hx_int(h, l, 1, 1, 1000000, &p->maxconn);
	if (!strcmp(kw, "retries") && be)
		return hx_int(h, l, 1, 0, 100, &p->retries);
	if (!strcmp(kw, "option") && l->n == 2 && !strcmp(hx_ws(l, 1), "redispatch")) {
		p->redispatch = true;
		return 0;
	}
	if (!strcmp(kw, "no") && l->n == 3 && !strcmp(hx_ws(l, 1), "option") && !strcmp(hx_ws(l, 2), "redispatch")) {
		p->redispatch = false;
		return 0;
	}
	if (!strcmp(kw, "default-server"))
		return server_kws(h, l, 1, &p->ds, NULL);
	/* recheckd always logs health changes through its own log */
	if ((!strcmp(kw, "log") && l->n == 2 && !strcmp(hx_ws(l, 1), "global")) ||
	    (!strcmp(kw, "option") && l->n == 2 && !strcmp(hx_ws(l, 1), "log-health-checks")))
		return 0;
	if (harmless(l)) {
		hx_warn(h, "'%s%s%s' is ignored: it changes nothing a client sees", kw, l->n > 1 ? " " : "", hx_ws(l, 1));
		return 0;
	}
	if (!strcmp(p->type, "defaults"))
		return hx_fail(h, "'%s' in defaults is not supported by recheckd", kw);
	if (!strcmp(kw, "bind") && fe) {
		if (p->bind)
			return hx_fail(h, "a second 'bind' in %s (line %d): recheckd listens on one address per listener",
			            p->name, p->bind_line);
		if (l->n == 3 && !strcmp(hx_ws(l, 2), "accept-proxy"))
			p->accept_proxy = true;
		else if (l->n != 2)
			return hx_fail(h, "bind option '%s' is not supported by recheckd", hx_ws(l, 2));
		p->bind = strdup(hx_ws(l, 1));
		p->bind_line = h->line;
		return p->bind ? 0 : hx_fail(h, "out of memory");
	}
	if (!strcmp(kw, "default_backend") && !strcmp(p->type, "frontend")) {
		snprintf(p->default_backend, sizeof(p->default_backend), "%s", hx_ws(l, 1));
		p->default_backend_line = h->line;
		return 0;
	}
	if (!strcmp(kw, "server") && be)
		return server_line(h, p, l);
	return hx_fail(h, "'%s%s%s' is not supported by recheckd in a %s section", kw,
	            !strcmp(kw, "option") ? " " : "", !strcmp(kw, "option") ? hx_ws(l, 1) : "", p->type);
}

static void px_clear(struct px *p)
{
	size_t i;

	for (i = 0; i < p->nsrv; i++) {
		free(p->srv[i].cs.name);
		free(p->srv[i].cs.address);
		free(p->srv[i].cs.host);
	}
	free(p->srv);
	free(p->bind);
	p->srv = NULL;
	p->bind = NULL;
	p->nsrv = 0;
}

static void px_init(struct px *p)
{
	memset(p, 0, sizeof(*p));
	p->ds.inter = 2000;
	p->ds.rise = 2;
	p->ds.fall = 3;
	p->ds.error_limit = 10;
	p->ds.on_error = CONF_ONERR_FAILCHK;
	p->ds.weight = 1;
	p->t_connect = 5000;
	p->retries = 3;
}

static int section_start(struct hx *h, const struct haproxy_line *l, int *cur)
{
	const char *kw = hx_ws(l, 0);
	struct px *p;
	size_t i;

	*cur = -2;
	if (!strcmp(kw, "global"))
		return 0;
	if (!strcmp(kw, "defaults")) {
		if (l->n > 2)
			return hx_fail(h, "defaults: named defaults with 'from' are not supported by recheckd");
		px_clear(&h->defaults);
		px_init(&h->defaults);
		snprintf(h->defaults.type, sizeof(h->defaults.type), "defaults");
		*cur = -1;
		return 0;
	}
	if (!strcmp(kw, "resolvers")) {
		/* recheckd has one set of name servers (`nameservers:`) for every server name */
		if (h->cf->nnameservers > 0)
			return hx_fail(h, "a second 'resolvers' section: recheckd asks one set of name servers");
		*cur = -4;
		return 0;
	}
	if (strcmp(kw, "listen") && strcmp(kw, "frontend") && strcmp(kw, "backend"))
		return hx_fail(h, "'%s' sections are not supported by recheckd", kw);
	if (l->n != 2)
		return hx_fail(h, "'%s' expects exactly a name (no 'from')", kw);
	if (strlen(hx_ws(l, 1)) > CONF_NAME_MAX)
		return hx_fail(h, "%s name longer than %d bytes", kw, CONF_NAME_MAX);
	if (h->npx >= HX_MAX_PROXIES)
		return hx_fail(h, "more than %d proxies", HX_MAX_PROXIES);
	for (i = 0; i < h->npx; i++)
		if (!strcmp(h->px[i].name, hx_ws(l, 1)) &&
		    (!strcmp(kw, "listen") || !strcmp(h->px[i].type, "listen") || !strcmp(h->px[i].type, kw)))
			return hx_fail(h, "%s '%s' is already declared (line %d)", kw, hx_ws(l, 1), h->px[i].line);
	p = &h->px[h->npx++];
	*p = h->defaults;   /* HAProxy copies the defaults in effect into the new proxy */
	p->srv = NULL;
	p->nsrv = 0;
	p->bind = NULL;
	snprintf(p->type, sizeof(p->type), "%s", kw);
	snprintf(p->name, sizeof(p->name), "%s", hx_ws(l, 1));
	p->line = h->line;
	*cur = (int)h->npx - 1;
	return 0;
}

/* A `resolvers` section: `nameserver NAME IP:PORT` become nameservers:, `hold valid` resolve_interval;
 * the other tunings (timeouts, retries, payload size) have no counterpart and are accepted as they are. */
static int resolvers_line(struct hx *h, const struct haproxy_line *l)
{
	struct conf *cf = h->cf;
	const char *kw = hx_ws(l, 0);
	char e[ERR_LEN];
	socklen_t len;

	if (!strcmp(kw, "nameserver")) {
		if (l->n != 3)
			return hx_fail(h, "'nameserver' expects a name and an address");
		if (cf->nnameservers >= CONF_MAX_NAMESERVERS)
			return hx_fail(h, "more than %d name servers", CONF_MAX_NAMESERVERS);
		if (net_parse_addr_opt(hx_ws(l, 2), &cf->nameservers[cf->nnameservers], &len, true, NULL, 0, NULL, e,
				       sizeof(e)) != 0)
			return hx_fail(h, "nameserver: %s", e);
		if (cf->nameservers[cf->nnameservers].ss_family != AF_INET)
			return hx_fail(h, "nameserver '%s': only IPv4 name servers are supported", hx_ws(l, 2));
		cf->nnameservers++;
		return 0;
	}
	if (!strcmp(kw, "hold") && l->n == 3 && !strcmp(hx_ws(l, 1), "valid"))
		return hx_dur(h, l, 2, &cf->resolve_interval);
	if (!strcmp(kw, "parse-resolv-conf"))
		return hx_fail(h, "'parse-resolv-conf': leave the 'resolvers' section out, recheckd then asks the "
			       "system's resolver");
	return 0;
}

static int parse_lines(struct hx *h)
{
	const char *p = h->text, *end = h->text + h->len;
	int cur = -3; /* -3 before any section, -2 global, -1 defaults, -4 resolvers, else a proxy */
	char why[ERR_LEN];

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		struct haproxy_line l;
		int rc;

		h->line++;
		if (haproxy_lex_line(p, n, 0, &l, why, sizeof(why)) == -1) {
			haproxy_line_free(&l);
			return hx_fail(h, "%s", why);
		}
		p = nl ? nl + 1 : end;
		if (!l.n) {
			haproxy_line_free(&l);
			continue;
		}
		if (haproxy_is_section_kw((const char *)l.w[0].data, l.w[0].len))
			rc = section_start(h, &l, &cur);
		else if (cur == -3)
			rc = hx_fail(h, "'%s' outside a section", hx_ws(&l, 0));
		else if (cur == -2)
			rc = global_line(h, &l);
		else if (cur == -4)
			rc = resolvers_line(h, &l);
		else
			rc = proxy_line(h, cur == -1 ? &h->defaults : &h->px[cur], &l);
		haproxy_line_free(&l);
		if (rc == -1)
			return -1;
	}
	return 0;
}

struct conf *conf_haproxy_load_mem(const char *text, size_t len, const char *name, int flags, char *err,
                                   size_t errlen)
{
	struct hx h = {.file = name, .text = text, .len = len, .err = err, .errlen = errlen};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct conf *cf = calloc(1, sizeof(*cf));
	size_t i;

	(void)flags; /* the checks are in the file itself: nothing else to load */
	buf_init(&h.warn, 64 * 1024);
	h.px = calloc(HX_MAX_PROXIES, sizeof(*h.px));
	if (!cf || !h.px || !(cf->file = strdup(name))) {
		set_err(err, errlen, "%s: out of memory", name);
		goto fail;
	}
	h.cf = cf;
	px_init(&h.defaults);
	cf->threads = cpus < 1 ? 1 : (int)MIN(cpus, CONF_MAX_THREADS);
	cf->drain_timeout = 10000;
	cf->resolve_interval = 10000;
	if (parse_lines(&h) == -1 || hx_build(&h) == -1)
		goto fail;
	if (cf->group && !cf->user) {
		set_err(err, errlen, "%s: global 'group' needs 'user' as well", name);
		goto fail;
	}
	/* HAProxy keeps root when `user` is not set; so does recheckd for its file, but says so */
	if (!cf->user) {
		cf->allow_root = true;
		if (geteuid() == 0)
			buf_printf(&h.warn, "%s: no global 'user': running as root, as HAProxy would\n", name);
	}
	if (h.warn.len && !(cf->warnings = strdup(buf_cstr(&h.warn)))) {
		set_err(err, errlen, "%s: out of memory", name);
		goto fail;
	}
	for (i = 0; i < h.npx; i++)
		px_clear(&h.px[i]);
	px_clear(&h.defaults);
	free(h.px);
	buf_free(&h.warn);
	return cf;
fail:
	if (h.px)
		for (i = 0; i < h.npx; i++)
			px_clear(&h.px[i]);
	px_clear(&h.defaults);
	free(h.px);
	buf_free(&h.warn);
	conf_free(cf);
	return NULL;
}
