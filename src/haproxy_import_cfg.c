/*
 * haproxy_import_cfg: which lines of an HAProxy 2.6 configuration make the check of one `listen` /
 * `backend` section, as HAProxy decides it (see docs/haproxy.md, "Import"):
 *
 * - the check option in effect is the section's last one, else the one of the `defaults` section
 *   before it (a proxy inherits its check from the last `defaults` above it);
 * - `option tcp-check` runs the section's own `tcp-check` rules, else the rules written in that
 *   `defaults` section, else only a connect (HAProxy's connect-only check, status L4OK); a server
 *   `check` with no check option at all is that connect-only check too;
 * - `option httpchk` runs the section's own `option httpchk` + `http-check` lines when it has any,
 *   else the `defaults` ones;
 * - `option redis-check`, `smtpchk` and `pgsql-check user NAME` become the tcp-check rules HAProxy itself expands them
 *   to (tcpcheck.c); the other protocol checks are refused by name;
 * - server and default-server settings that change what a check does become recipe settings: `port`
 *   and `addr` on every connect without its own, `socks4 IP:PORT` with `check-via-socks4` on the default
 *   connects (the implicit one and `connect default`) and on `connect via-socks4` rules, the TLS ones;
 *   on an HTTP check, port, addr and socks4 go on the recipe's 'connect' (its one connection);
 *   `check-send-proxy` (version v2 with send-proxy-v2, else v1) as send_proxy on the default connects or the
 *   HTTP 'connect' (applied by haproxy_import_srv.c); the others (send-proxy without check-send-proxy,
 *   HTTP/2, agent checks) are refused by name: never dropped silently.
 */
#include "api.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haproxy_import_priv.h"
#include "haproxy_lex.h"
#include "net.h"
#include "recipe.h"
#include "recipe_haproxy.h"
#include "util.h"

#define MAX_SECTIONS 256

enum chk_mode {
	CHK_NONE = 0,
	CHK_TCP,
	CHK_HTTP,
	CHK_REDIS,
	CHK_SMTP,
	CHK_PGSQL,
	CHK_OTHER,
};

struct section {
	char name[128];
	char type[16];
	int line;            /* where the section starts */
	enum chk_mode mode;  /* the last check option seen */
	bool mode_set;       /* the section has a check option of its own */
	char other[48];      /* name of an unsupported check option */
	char smtp_cmd[128];  /* option smtpchk EHLO|HELO <domain> */
	char pg_user[128];   /* option pgsql-check user <name> */
	int mode_line;
	int defaults;        /* index of the defaults section it inherits from, -1: none */
	bool tcp_rules;      /* has tcp-check rule lines */
	bool http_rules;     /* has http-check lines (other than disable-on-404 / send-state) */
	bool server_check;   /* a server or default-server line says `check` */
};

static const char *const section_kw[] = {
        "global",    "defaults", "frontend",    "backend", "listen",  "userlist", "peers",
        "resolvers", "program",  "http-errors", "ring",    "mailers", "cache",    "fcgi-app",
};

bool haproxy_is_section_kw(const char *w, size_t n)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(section_kw); i++)
		if (strlen(section_kw[i]) == n && !memcmp(section_kw[i], w, n))
			return true;
	return false;
}

static const struct {
	const char *kw;
	const char *what;
} check_changing[] = {
        {"proto", "sets the multiplexer (proto h2: HTTP/2 checks)"},
        {"check-proto", "sets the check's multiplexer (h2: HTTP/2 checks)"},
        {"send-proxy", "prefixes the check with a PROXY protocol header"},
        {"send-proxy-v2", "prefixes the check with a PROXY protocol header"},
        {"send-proxy-v2-ssl", "prefixes the check with a PROXY protocol header"},
        {"send-proxy-v2-ssl-cn", "prefixes the check with a PROXY protocol header"},
        {"check-send-proxy", "prefixes the check with a PROXY protocol header"},
        {"agent-check", "adds an agent check"},
};

const char *haproxy_check_kw_unsupported(const char *kw)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(check_changing); i++)
		if (!strcmp(kw, check_changing[i].kw))
			return check_changing[i].what;
	return NULL;
}

static const struct srvtls srvtls_unset = {.ssl = -1, .verify = -1};

/* `addr` / `socks4`: an IP address (HAProxy resolves a name once at start-up; recheck wants an IP). */
static int ip_word(struct imp *im, const struct haproxy_line *l, size_t *i, bool need_port,
                   struct sockaddr_storage *ss, socklen_t *len)
{
	const char *kw = haproxy_import_ws(&l->w[*i]), *v = *i + 1 < l->n ? haproxy_import_ws(&l->w[*i + 1]) : "";
	char why[ERR_LEN];

	if (net_parse_ip(v, need_port, ss, len, why, sizeof(why)) == -1)
		return haproxy_import_fail(im, "%s: '%s' expects %s: %s", haproxy_import_ws(&l->w[0]), kw,
		                           need_port ? "IP:PORT" : "an IP address with an optional :PORT", why);
	(*i)++;
	return 1;
}

static int tls_word(struct imp *im, const struct haproxy_line *l, size_t *i, struct srvtls *t)
{
	const char *kw = haproxy_import_ws(&l->w[*i]);
	char *dst = NULL;
	size_t cap = 0;

	if (!strcmp(kw, "addr"))
		return ip_word(im, l, i, false, &t->addr, &t->addrlen);
	if (!strcmp(kw, "socks4"))
		return ip_word(im, l, i, true, &t->socks4, &t->socks4len);
	if (!strcmp(kw, "check-via-socks4")) {
		t->via_socks4 = true;
		return 1;
	}
	if (!strcmp(kw, "check-send-proxy") || !strcmp(kw, "send-proxy") || !strcmp(kw, "send-proxy-v2")) {
		/* send-proxy[-v2] only says the version of check-send-proxy's header (checked in server_line) */
		if (!strcmp(kw, "check-send-proxy"))
			t->check_pp = true;
		else
			t->pp = kw[10] ? 2 : 1;
		return 1;
	}
	if (!strcmp(kw, "ssl") || !strcmp(kw, "check-ssl"))
		t->ssl = 1;
	else if (!strcmp(kw, "no-ssl") || !strcmp(kw, "no-check-ssl"))
		t->ssl = 0;
	else if (!strcmp(kw, "check-sni"))
		dst = t->sni, cap = sizeof(t->sni);
	else if (!strcmp(kw, "check-alpn"))
		dst = t->alpn, cap = sizeof(t->alpn);
	else if (!strcmp(kw, "ca-file"))
		dst = t->ca, cap = sizeof(t->ca);
	else if (!strcmp(kw, "verifyhost"))
		dst = t->verifyhost, cap = sizeof(t->verifyhost);
	else if (!strcmp(kw, "port")) {
		const char *v = *i + 1 < l->n ? haproxy_import_ws(&l->w[*i + 1]) : "";
		char *end;
		long n = strtol(v, &end, 10);

		if (!*v || *end || n < 1 || n > 65535)
			return haproxy_import_fail(im, "%s: 'port' expects a port from 1 to 65535 (got '%s')",
			                           haproxy_import_ws(&l->w[0]), v);
		t->port = (int)n;
		(*i)++;
	} else if (!strcmp(kw, "verify")) {
		const char *v = *i + 1 < l->n ? haproxy_import_ws(&l->w[*i + 1]) : "";

		if (strcmp(v, "none") && strcmp(v, "required"))
			return haproxy_import_fail(im, "%s: 'verify' expects none or required", haproxy_import_ws(&l->w[0]));
		t->verify = !strcmp(v, "required");
		(*i)++;
	} else {
		return 0;
	}
	if (dst) {
		const struct haproxy_word *a = *i + 1 < l->n ? &l->w[*i + 1] : NULL;

		if (!a || !a->data[0] || a->env || strlen(haproxy_import_ws(a)) != a->len || a->len >= cap)
			return haproxy_import_fail(im, "%s: '%s' expects a name (no ${NAME}, under %zu bytes)",
			                           haproxy_import_ws(&l->w[0]), kw, cap);
		memcpy(dst, a->data, a->len + 1);
		(*i)++;
	}
	return 1;
}

/*
 * A server line with `check`, or a default-server line: collects the check's TLS settings and refuses
 * the other settings that change the check. All checked servers of a section must agree on TLS: a
 * recipe has one.
 */
static int server_line(struct imp *im, const struct haproxy_line *l, struct srvtls *dflt, struct srvtls *tls,
                       int *tls_line)
{
	bool server = haproxy_word_is(&l->w[0], "server"), checked = !server;
	struct srvtls t = *dflt;
	size_t i;
	int rc;

	for (i = server ? 3 : 1; i < l->n; i++)
		if (haproxy_word_is(&l->w[i], "check"))
			checked = true;
	if (!checked)
		return 0;
	for (i = server ? 3 : 1; i < l->n; i++) {
		const char *what = haproxy_check_kw_unsupported(haproxy_import_ws(&l->w[i]));

		if (what && im->server_proxy_ok && strstr(haproxy_import_ws(&l->w[i]), "send-proxy"))
			what = NULL;
		/* check-send-proxy becomes the recipe's send_proxy, send-proxy[-v2] its version (tls_word) */
		if (what && (haproxy_word_is(&l->w[i], "check-send-proxy") || haproxy_word_is(&l->w[i], "send-proxy") ||
		             haproxy_word_is(&l->w[i], "send-proxy-v2")))
			what = NULL;
		if (what)
			return haproxy_import_fail(im, "%s: '%s' %s, which a recipe cannot express yet",
			                           haproxy_import_ws(&l->w[0]), haproxy_import_ws(&l->w[i]), what);
		rc = tls_word(im, l, &i, &t);
		if (rc == -1)
			return -1;
	}
	if (im->server_proxy_ok) {
		/* recheckd -f: a server's addr and socks4 are its own (conf_server), not the shared recipe's */
		if (t.via_socks4 && t.socks4len)
			im->srv_via = true;
		if (server && !im->srv_pp)
			im->srv_pp = t.pp ? t.pp : 1;
		t.addrlen = t.socks4len = 0;
		t.via_socks4 = t.check_pp = false;
		t.pp = 0;
		memset(&t.addr, 0, sizeof(t.addr));
		memset(&t.socks4, 0, sizeof(t.socks4));
	}
	if (!server) {
		*dflt = t;
		return 0;
	}
	if (t.pp && !t.check_pp)
		/* HAProxy's send-proxy also heads the checks (without port/addr); a recipe says so only with
		 * check-send-proxy, which makes it explicit */
		return haproxy_import_fail(im, "server %s: '%s' without 'check-send-proxy' prefixes the check with a PROXY "
		                           "protocol header, which a recipe cannot express yet (add check-send-proxy)",
		                           haproxy_import_ws(&l->w[1]), t.pp == 2 ? "send-proxy-v2" : "send-proxy");
	if (*tls_line && memcmp(&t, tls, sizeof(t)))
		return haproxy_import_fail(im, "server %s: its check settings (TLS, port, addr, socks4, PROXY header) differ from the server's at line "
		                           "%d; a recipe has one check", haproxy_import_ws(&l->w[1]), *tls_line);
	*tls = t;
	*tls_line = im->line;
	return 0;
}

/* The first word of a raw line, for telling sections apart even where the full lexer fails. */
static size_t first_word(const char *p, size_t n, const char **w)
{
	size_t i = 0, s;

	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	s = i;
	while (i < n && !isspace((unsigned char)p[i]) && p[i] != '#')
		i++;
	*w = p + s;
	return i - s;
}

/* Check-selecting options: the last one in a section wins, as in HAProxy. */
static void check_option(struct section *s, const struct haproxy_line *l, int line)
{
	static const char *const others[] = {
	        "ssl-hello-chk", "mysql-check", "ldap-check", "spop-check", "external-check",
	};
	size_t i;

	if (l->n < 2)
		return;
	if (haproxy_word_is(&l->w[0], "server") || haproxy_word_is(&l->w[0], "default-server"))
		for (i = 1; i < l->n; i++)
			if (haproxy_word_is(&l->w[i], "check"))
				s->server_check = true;
	if (haproxy_word_is(&l->w[0], "tcp-check"))
		s->tcp_rules = true;
	if (haproxy_word_is(&l->w[0], "http-check") && !haproxy_word_is(&l->w[1], "disable-on-404") &&
	    !haproxy_word_is(&l->w[1], "send-state"))
		s->http_rules = true;
	if (haproxy_word_is(&l->w[0], "no") && l->n >= 3 && haproxy_word_is(&l->w[1], "option") &&
	    (haproxy_word_is(&l->w[2], "tcp-check") || haproxy_word_is(&l->w[2], "httpchk"))) {
		s->mode = CHK_NONE;
		s->mode_set = true;
		s->mode_line = line;
		return;
	}
	if (!haproxy_word_is(&l->w[0], "option"))
		return;
	if (haproxy_word_is(&l->w[1], "tcp-check")) {
		s->mode = CHK_TCP;
	} else if (haproxy_word_is(&l->w[1], "httpchk")) {
		s->mode = CHK_HTTP;
	} else if (haproxy_word_is(&l->w[1], "redis-check")) {
		s->mode = CHK_REDIS;
	} else if (haproxy_word_is(&l->w[1], "smtpchk")) {
		s->mode = CHK_SMTP;
		/* HAProxy: "EHLO|HELO <domain>", anything else is "HELO localhost" */
		if (l->n >= 4 && (haproxy_word_is(&l->w[2], "EHLO") || haproxy_word_is(&l->w[2], "HELO")))
			snprintf(s->smtp_cmd, sizeof(s->smtp_cmd), "%s %s", haproxy_import_ws(&l->w[2]),
			         haproxy_import_ws(&l->w[3]));
		else
			snprintf(s->smtp_cmd, sizeof(s->smtp_cmd), "HELO localhost");
	} else if (haproxy_word_is(&l->w[1], "pgsql-check")) {
		/* HAProxy requires "user <name>"; without it the option is an error there: keep it refused */
		if (l->n == 4 && haproxy_word_is(&l->w[2], "user") && l->w[3].len < sizeof(s->pg_user) &&
		    strlen(haproxy_import_ws(&l->w[3])) == l->w[3].len) {
			s->mode = CHK_PGSQL;
			snprintf(s->pg_user, sizeof(s->pg_user), "%s", haproxy_import_ws(&l->w[3]));
		} else {
			s->mode = CHK_OTHER;
			snprintf(s->other, sizeof(s->other), "pgsql-check without 'user <name>'");
		}
	} else {
		for (i = 0; i < ARRAY_SIZE(others) && !haproxy_word_is(&l->w[1], others[i]); i++)
			;
		if (i == ARRAY_SIZE(others))
			return;
		s->mode = CHK_OTHER;
		snprintf(s->other, sizeof(s->other), "%s", others[i]);
	}
	s->mode_set = true;
	s->mode_line = line;
}

/* What a section runs: the effective mode and the section whose check lines are read. */
struct eff {
	enum chk_mode mode;
	int from;                   /* section index the rules come from */
	const struct section *opt;  /* the section whose check option is in effect (NULL: none) */
};

static struct eff effective(const struct section *secs, int sel)
{
	const struct section *s = &secs[sel], *d = s->defaults >= 0 ? &secs[s->defaults] : NULL;
	struct eff e = {CHK_NONE, sel, NULL};

	if (s->mode_set)
		e.opt = s;
	else if (d && d->mode_set)
		e.opt = d;
	if (!e.opt)
		return e;
	e.mode = e.opt->mode;
	if (e.mode == CHK_TCP && !s->tcp_rules && d && d->tcp_rules)
		e.from = s->defaults;
	if (e.mode == CHK_HTTP && !(s->mode_set && s->mode == CHK_HTTP) && !s->http_rules)
		e.from = s->defaults;
	return e;
}

/*
 * Walks the file. sel == -1: fills secs. Else calls the line parsers for the check lines of section
 * e->from (mode e->mode) and refuses check-changing server settings in sel and its defaults.
 */
static int walk(struct imp *im, const char *text, size_t len, struct section *secs, size_t *nsecs, int sel,
                const struct eff *e, struct srvtls *tls)
{
	struct srvtls dflt = srvtls_unset;
	int tls_line = 0;
	const char *p = text, *end = text + len;
	int cur = -1, lineno = 0, last_defaults = -1;
	char why[ERR_LEN];

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *fw;
		size_t n = (size_t)((nl ? nl : end) - p), fwl;
		struct haproxy_line l;
		int rc = 0;
		bool in_sel;

		lineno++;
		im->line = lineno;
		fwl = first_word(p, n, &fw);
		if (fwl && haproxy_is_section_kw(fw, fwl)) {
			cur = -1;
			if (sel == -1 && *nsecs < MAX_SECTIONS) {
				struct section *s = &secs[*nsecs];

				memset(s, 0, sizeof(*s));
				snprintf(s->type, sizeof(s->type), "%.*s", (int)fwl, fw);
				s->line = lineno;
				s->defaults = last_defaults;
				if (haproxy_lex_line(p, n, HAPROXY_LEX_KEEP_ENV, &l, why, sizeof(why)) == 0 &&
				    l.n > 1)
					snprintf(s->name, sizeof(s->name), "%s", haproxy_import_ws(&l.w[1]));
				haproxy_line_free(&l);
				if (!strcmp(s->type, "defaults"))
					last_defaults = (int)*nsecs;
				cur = (int)(*nsecs)++;
			} else if (sel >= 0) {
				size_t i;

				for (i = 0; i < *nsecs && secs[i].line != lineno; i++)
					;
				cur = i < *nsecs ? (int)i : -1;
			}
			p = nl ? nl + 1 : end;
			continue;
		}
		in_sel = sel >= 0 && cur >= 0 && (cur == sel || cur == secs[sel].defaults || cur == e->from);
		if (cur == -1 || (sel >= 0 && !in_sel)) {
			p = nl ? nl + 1 : end;
			continue;
		}
		if (haproxy_lex_line(p, n, HAPROXY_LEX_KEEP_ENV, &l, why, sizeof(why)) == -1) {
			haproxy_line_free(&l);
			if (sel == -1) {
				p = nl ? nl + 1 : end;
				continue;
			}
			return haproxy_import_fail(im, "%s", why);
		}
		if (sel == -1)
			check_option(&secs[cur], &l, lineno);
		else if (l.n && (haproxy_word_is(&l.w[0], "server") || haproxy_word_is(&l.w[0], "default-server")) &&
		         (cur == sel || cur == secs[sel].defaults))
			rc = server_line(im, &l, &dflt, tls, &tls_line);
		else if (cur != e->from)
			rc = 0;
		else if (l.n && haproxy_word_is(&l.w[0], "tcp-check") && e->mode == CHK_TCP)
			rc = haproxy_import_tcp_line(im, &l);
		else if (l.n && haproxy_word_is(&l.w[0], "http-check") && e->mode == CHK_HTTP)
			rc = haproxy_import_http_line(im, &l);
		else if (l.n >= 2 && haproxy_word_is(&l.w[0], "option") && haproxy_word_is(&l.w[1], "httpchk") &&
		         e->mode == CHK_HTTP)
			rc = haproxy_import_httpchk_option(im, &l);
		haproxy_line_free(&l);
		if (rc == -1)
			return -1;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

static bool is_proxy(const struct section *s)
{
	return !strcmp(s->type, "listen") || !strcmp(s->type, "backend");
}

/* Picks the section: by name, or the only listen/backend with checks. -1 with err. */
static int pick(struct imp *im, struct section *secs, size_t n, const char *want)
{
	struct buf list;
	int found = -1, count = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!is_proxy(&secs[i]))
			continue;
		if (want ? !strcmp(secs[i].name, want) : effective(secs, (int)i).mode != CHK_NONE) {
			if (found == -1)
				found = (int)i;
			count++;
		}
	}
	buf_init(&list, 4096);
	for (i = 0; i < n; i++)
		if (is_proxy(&secs[i]) && (want || effective(secs, (int)i).mode != CHK_NONE))
			buf_printf(&list, "%s%s %s (line %d)", list.len ? ", " : "", secs[i].type, secs[i].name,
			           secs[i].line);
	if (found == -1 && want) {
		for (i = 0; i < n; i++)
			if (is_proxy(&secs[i]))
				buf_printf(&list, "%s%s", list.len ? ", " : "", secs[i].name);
		set_err(im->err, im->errlen, "%s: no listen or backend section named '%s' (there are: %s)",
		        im->file, want, list.len ? buf_cstr(&list) : "none");
	} else if (found == -1) {
		set_err(im->err, im->errlen,
		        "%s: no listen or backend section has a check option (option tcp-check, httpchk, ...); "
		        "name one with --section for a plain connect check",
		        im->file);
	} else if (count > 1) {
		set_err(im->err, im->errlen, "%s: %d sections %s; choose one with --section: %s", im->file, count,
		        want ? "have that name" : "have checks", buf_cstr(&list) ? buf_cstr(&list) : "");
		found = -1;
	} else {
		struct eff e = effective(secs, found);
		const struct section *s = &secs[found], *d = s->defaults >= 0 ? &secs[s->defaults] : NULL;

		if (e.mode == CHK_NONE && !s->server_check && !(d && d->server_check)) {
			set_err(im->err, im->errlen,
			        "%s:%d: section '%s' has no 'option tcp-check' or 'option httpchk' and no server "
			        "with 'check'", im->file, s->line, s->name);
			found = -1;
		} else if (e.mode == CHK_OTHER) {
			set_err(im->err, im->errlen, "%s:%d: section '%s' uses 'option %s', which recheck cannot import",
			        im->file, e.opt->mode_line, secs[found].name, e.opt->other);
			found = -1;
		}
	}
	buf_free(&list);
	return found;
}

static int add_step(struct imp *im, enum step_type t, enum expect_match m, const char *data, int min_recv,
                    bool linger)
{
	struct step *s = recipe_add_step(im->r, t);

	if (!s)
		return -1;
	/* the expects of the protocol checks report a wrong reply as L7STS, except SMTP's greeting */
	if (t == STEP_EXPECT && !(data && !strcmp(data, "^[0-9]{3}[ \r]")))
		snprintf(s->error_status, sizeof(s->error_status), "L7STS");
	s->match = m;
	s->min_recv = min_recv;
	s->linger = linger;
	return data ? step_set_data(s, data, strlen(data)) : 0;
}

/* The rules HAProxy 2.6 builds for `option redis-check`, `smtpchk` and `pgsql-check` (tcpcheck.c). */
static int builtin(struct imp *im, const struct eff *e)
{
	char cmd[160];

	if (e->mode == CHK_REDIS)
		return add_step(im, STEP_SEND, 0, "*1\r\n$4\r\nPING\r\n", -1, false) ||
		       add_step(im, STEP_EXPECT, EXPECT_STRING, "+PONG\r\n", -1, false) ||
		       buf_printf(&im->notes, "%sexpanded 'option redis-check' at line %d as HAProxy does", im->notes.len ? "; " : "import: ", e->opt->mode_line);
	if (e->mode == CHK_PGSQL) {
		/* StartupMessage: length (BE32, itself included), protocol 3.0, "user" NUL name NUL, NUL */
		unsigned char pkt[4 + 4 + 5 + sizeof(e->opt->pg_user) + 2];
		size_t ul = strlen(e->opt->pg_user), n = 15 + ul;
		struct step *s;

		pkt[0] = (unsigned char)(n >> 24), pkt[1] = (unsigned char)(n >> 16);
		pkt[2] = (unsigned char)(n >> 8), pkt[3] = (unsigned char)n;
		memcpy(pkt + 4, "\x00\x03\x00\x00user\x00", 9);
		memcpy(pkt + 13, e->opt->pg_user, ul);
		pkt[13 + ul] = 0;
		pkt[14 + ul] = 0;
		im->conn_default[im->nconn_default++] = 0; /* tcpcheck.c: "connect default linger" */
		if (add_step(im, STEP_CONNECT, 0, NULL, -1, true) || !(s = recipe_add_step(im->r, STEP_SEND)) ||
		    step_set_data(s, pkt, n))
			return 1;
		s->binary = true;
		if (add_step(im, STEP_EXPECT, EXPECT_RSTRING, "^E", 5, false) ||
		    add_step(im, STEP_EXPECT, EXPECT_RBINARY, "^52000000(08|0A|0C)000000(00|02|03|04|05|06)", 9, false))
			return 1;
		s = &im->r->steps[im->r->nsteps - 2];
		s->negate = true;
		snprintf(s->error_status, sizeof(s->error_status), "L7RSP");
		return buf_printf(&im->notes, "%sexpanded 'option pgsql-check' at line %d as HAProxy does",
		                  im->notes.len ? "; " : "import: ", e->opt->mode_line) != 0;
	}
	snprintf(cmd, sizeof(cmd), "%s\r\n", e->opt->smtp_cmd);
	im->conn_default[im->nconn_default++] = 0; /* tcpcheck.c: "connect default linger" */
	return add_step(im, STEP_CONNECT, 0, NULL, -1, true) ||
	       add_step(im, STEP_EXPECT, EXPECT_RSTRING, "^[0-9]{3}[ \r]", 4, false) ||
	       add_step(im, STEP_EXPECT, EXPECT_RSTRING, "^2[0-9]{2}[ \r]", 4, false) ||
	       add_step(im, STEP_SEND, 0, cmd, -1, false) ||
	       /* HAProxy 2.6.12 (backported with the QUIT below): the whole HELO/EHLO reply, every "2xx-"
	        * continuation line and then the "2xx " last one, and no min-recv, so a reply that arrives
	        * in pieces is waited for instead of leaving its last lines to be read as QUIT's reply */
	       add_step(im, STEP_EXPECT, EXPECT_RSTRING, "^(2[0-9]{2}-[^\r]*\r\n)*2[0-9]{2}[ \r]", -1, false) ||
	       /* HAProxy 2.6.12 (issue 1812 backport): a QUIT for a clean close, its reply a 2xx */
	       add_step(im, STEP_SEND, 0, "QUIT\r\n", -1, false) ||
	       add_step(im, STEP_EXPECT, EXPECT_RSTRING, "^2[0-9]{2}[- \r]", 4, false) ||
	       buf_printf(&im->notes, "%sexpanded 'option smtpchk' at line %d as HAProxy does", im->notes.len ? "; " : "import: ", e->opt->mode_line);
}

struct recipe *haproxy_import_mem(const char *text, size_t len, const char *name, const char *section,
                                  char *err, size_t errlen)
{
	return haproxy_import_section(text, len, name, section, 0, err, errlen);
}

struct recipe *haproxy_import_section(const char *text, size_t len, const char *name, const char *section,
                                      unsigned flags, char *err, size_t errlen)
{
	struct section *secs = calloc(MAX_SECTIONS, sizeof(*secs));
	struct imp im = {.file = name, .err = err, .errlen = errlen, .pending_type = -1,
	                 .server_proxy_ok = (flags & HAPROXY_IMPORT_SERVER_PROXY) != 0};
	struct srvtls stls = srvtls_unset;
	char why[ERR_LEN];
	size_t nsecs = 0;
	struct eff e;
	int sel;

	buf_init(&im.notes, 4096);
	if (!secs) {
		set_err(err, errlen, "out of memory");
		goto fail;
	}
	walk(&im, text, len, secs, &nsecs, -1, NULL, NULL);
	sel = pick(&im, secs, nsecs, section);
	if (sel == -1)
		goto fail;
	e = effective(secs, sel);
	im.r = recipe_new(e.mode == CHK_HTTP ? RECIPE_HTTP : RECIPE_TCP);
	if (!im.r || recipe_set_str(&im.r->name, secs[sel].name) == -1 || recipe_set_str(&im.r->file, name) == -1) {
		set_err(err, errlen, "out of memory");
		goto fail;
	}
	if (walk(&im, text, len, secs, &nsecs, sel, &e, &stls) == -1)
		goto fail;
	if ((e.mode == CHK_REDIS || e.mode == CHK_SMTP || e.mode == CHK_PGSQL) && builtin(&im, &e)) {
		set_err(err, errlen, "out of memory");
		goto fail;
	}
	if ((e.mode == CHK_TCP || e.mode == CHK_NONE) && im.r->nsteps == 0) {
		/* HAProxy's connect-only check: L4OK once the connection is established */
		im.conn_default[im.nconn_default++] = 0; /* HAProxy's implicit connect takes the server's TLS */
		if (add_step(&im, STEP_CONNECT, 0, NULL, -1, false) ||
		    buf_printf(&im.notes, "%sa connect-only check (%s)", im.notes.len ? "; " : "import: ",
		               e.mode == CHK_TCP ? "'option tcp-check' without tcp-check rules"
		                                 : "a server 'check' without a check option") == -1) {
			set_err(err, errlen, "out of memory");
			goto fail;
		}
	}
	im.line = secs[sel].line;
	if (haproxy_import_apply_server(&im, &stls) == -1)
		goto fail;
	if (im.notes.len && recipe_set_str(&im.r->notes, buf_cstr(&im.notes)) == -1) {
		set_err(err, errlen, "out of memory");
		goto fail;
	}
	if (recipe_compile(im.r, why, sizeof(why)) == -1) {
		set_err(err, errlen, "%s: section '%s': %s", name, secs[sel].name, why);
		goto fail;
	}
	free(secs);
	free(im.pending);
	buf_free(&im.notes);
	return im.r;
fail:
	free(secs);
	free(im.pending);
	buf_free(&im.notes);
	recipe_free(im.r);
	return NULL;
}

struct recipe *haproxy_import_file(const char *path, const char *section, char *err, size_t errlen)
{
	struct recipe *r;
	char *text;
	size_t len;

	if (read_file(path, HAPROXY_MAX_CFG, &text, &len, err, errlen) == -1)
		return NULL;
	r = haproxy_import_mem(text, len, path, section, err, errlen);
	free(text);
	return r;
}
