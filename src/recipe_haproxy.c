/*
 * recipe_haproxy: export a recipe as HAProxy 2.6 check lines (docs/haproxy-semantics.md §1-§3).
 *
 * The escaping is the "safe byte-to-word encoding" of §1, proven against the real haproxy by
 * tests/integration/test_haproxy_export.py (every byte value through `tcp-check send`):
 *   - no quotes; 0-9 A-Z a-z and ! $ % & ( ) * + , - . / : ; < = > ? @ [ ] ^ _ ` { | } ~ as they are
 *     (an unquoted '$' is literal and '\$' would stay two bytes);
 *   - space, backslash, '#', '\'' and '"' as '\ ', '\\', '\#', '\'', '\"';
 *   - CR, LF, TAB as '\r', '\n', '\t', every other byte below 0x20 or from 0x7f as '\xHH';
 *   - a payload holding NUL cannot be a `send` / `expect string` argument (HAProxy cuts it there), so it
 *     becomes `send-binary` / `expect binary`.
 * Steps that carry ${NAME} references are written inside double quotes so that HAProxy fills them from
 * its environment and the secret never appears in the file.
 */
#include "api.h"

#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "haproxy_lex.h"
#include "net.h"
#include "recipe.h"
#include "recipe_haproxy.h"
#include "util.h"

/* Bytes written as themselves, unquoted. */
static bool is_plain(unsigned char c)
{
	return isalnum(c) || (c && strchr("!$%&()*+,-./:;<=>?@[]^_`{|}~", c));
}

static int put_escaped_byte(struct buf *out, unsigned char c)
{
	switch (c) {
	case ' ':  return buf_append_str(out, "\\ ");
	case '\\': return buf_append_str(out, "\\\\");
	case '#':  return buf_append_str(out, "\\#");
	case '\'': return buf_append_str(out, "\\'");
	case '"':  return buf_append_str(out, "\\\"");
	case '\r': return buf_append_str(out, "\\r");
	case '\n': return buf_append_str(out, "\\n");
	case '\t': return buf_append_str(out, "\\t");
	default:
		if (is_plain(c))
			return buf_putc(out, c);
		return buf_printf(out, "\\x%02x", c);
	}
}

int haproxy_escape_word(struct buf *out, const unsigned char *p, size_t n, bool regex)
{
	size_t i;

	for (i = 0; i < n; i++) {
		/*
		 * In a regex a backslash before a byte that is written as itself and that the lexer does not
		 * treat as an escape ('\.', '\d', '\s', '\$') is kept by HAProxy as a backslash pair, so it
		 * can stay as it is. '\t' '\n' '\r' '\x..' would be turned into bytes by the lexer: those,
		 * and a backslash before anything escaped, are written as '\\'.
		 */
		if (regex && p[i] == '\\' && i + 1 < n && is_plain(p[i + 1]) && !strchr("tnrx", p[i + 1])) {
			if (buf_putc(out, '\\') == -1 || buf_putc(out, p[i + 1]) == -1)
				return -1;
			i++;
			continue;
		}
		if (put_escaped_byte(out, p[i]) == -1)
			return -1;
	}
	return 0;
}

/* Length of a ${NAME} reference at p (n bytes left), or 0 when p does not start one. */
static size_t env_ref_len(const unsigned char *p, size_t n)
{
	size_t i = 2;

	if (n < 4 || p[0] != '$' || p[1] != '{' || !(isalpha(p[2]) || p[2] == '_'))
		return 0;
	while (i < n && (isalnum(p[i]) || p[i] == '_'))
		i++;
	return i < n && p[i] == '}' ? i + 1 : 0;
}

int haproxy_escape_env_word(struct buf *out, const unsigned char *p, size_t n)
{
	size_t i, ref;

	if (buf_putc(out, '"') == -1)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = p[i];
		int rc;

		ref = env_ref_len(p + i, n - i);
		if (ref) {
			if (buf_append(out, p + i, ref) == -1)
				return -1;
			i += ref - 1;
			continue;
		}
		/* inside double quotes: space, '#' and '\'' are literal; '"', '\\' and '$' are not */
		if (c == '$')
			rc = buf_append_str(out, "\\$");
		else if (c == ' ' || c == '#' || c == '\'')
			rc = buf_putc(out, c);
		else
			rc = put_escaped_byte(out, c);
		if (rc == -1)
			return -1;
	}
	return buf_putc(out, '"');
}

/* One output line, with a word count so that we never write a line HAProxy would truncate. */
struct line {
	struct buf *out;
	size_t words;
	int rc;
};

static void line_start(struct line *l, struct buf *out, const char *indent)
{
	l->out = out;
	l->words = 0;
	l->rc = buf_append_str(out, indent);
}

/* Starts a new word (adds the separator) and returns the buffer to write it into. */
static struct buf *word(struct line *l)
{
	if (l->words++ && l->rc == 0)
		l->rc = buf_putc(l->out, ' ');
	return l->out;
}

static void word_str(struct line *l, const char *s)
{
	struct buf *b = word(l);

	if (l->rc == 0)
		l->rc = buf_append_str(b, s);
}

static void word_esc(struct line *l, const void *p, size_t n, bool regex)
{
	struct buf *b = word(l);

	if (l->rc == 0)
		l->rc = haproxy_escape_word(b, p, n, regex);
}

static void word_hex(struct line *l, const unsigned char *p, size_t n)
{
	struct buf *b = word(l);

	if (l->rc == 0)
		l->rc = hex_encode(b, p, n, false);
}

/* Comments read best in single quotes, where every byte is literal; else the escaped form. */
static void word_comment(struct line *l, const char *comment)
{
	const char *p;
	struct buf *b;

	if (!comment || !*comment)
		return;
	word_str(l, "comment");
	for (p = comment; *p && *p != '\'' && (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f; p++)
		;
	if (*p || !strpbrk(comment, " #\\\"")) {
		word_esc(l, comment, strlen(comment), false);
		return;
	}
	b = word(l);
	if (l->rc == 0)
		l->rc = buf_printf(b, "'%s'", comment);
}

static int line_end(struct line *l, const char *what, char *err, size_t errlen)
{
	if (l->rc == 0)
		l->rc = buf_putc(l->out, '\n');
	if (l->rc == -1) {
		set_err(err, errlen, "%s: output too large", what);
		return -1;
	}
	if (l->words > HAPROXY_LEX_MAX_WORDS) {
		set_err(err, errlen, "%s: the line would have %zu words, HAProxy reads at most %d", what, l->words,
			HAPROXY_LEX_MAX_WORDS);
		return -1;
	}
	return 0;
}

/* "%" starts a log-format tag in hdr values: a literal one is "%%". */
static int logfmt_escape(struct buf *b, const char *v)
{
	for (; *v; v++)
		if ((*v == '%' && buf_putc(b, '%') == -1) || buf_putc(b, (unsigned char)*v) == -1)
			return -1;
	return 0;
}

static void word_value(struct line *l, const unsigned char *p, size_t n, bool env)
{
	struct buf *b = word(l);

	if (l->rc == 0)
		l->rc = env ? haproxy_escape_env_word(b, p, n) : haproxy_escape_word(b, p, n, false);
}

/* "ssl sni NAME alpn LIST": the TLS part of a tcp-check connect rule. */
static void words_tls(struct line *l, const struct step_tls *t)
{
	word_str(l, "ssl");
	if (t->sni) {
		word_str(l, "sni");
		word_esc(l, t->sni, strlen(t->sni), false);
	}
	if (t->alpn) {
		word_str(l, "alpn");
		word_esc(l, t->alpn, strlen(t->alpn), false);
	}
}

/*
 * tls: the step that follows s (NULL when none) when it is a TLS start HAProxy can fold into this
 * connect rule. A TLS step is written with the connect before it.
 */
static int export_step(const char *rule, const struct step *s, const struct step *tls, size_t idx, bool dflt,
		       const char *indent, struct buf *out, char *err, size_t errlen)
{
	char at[64], num[32];
	struct line l;
	bool has_nul = s->len && memchr(s->data, '\0', s->len);

	snprintf(at, sizeof(at), "step %zu", idx + 1);
	line_start(&l, out, indent);
	word_str(&l, rule);
	switch (s->type) {
	case STEP_TLS:
		/* the first rule, after the implicit connect: an explicit "connect ssl" stands for both */
		word_str(&l, "connect");
		words_tls(&l, &s->tls);
		break;
	case STEP_CONNECT:
		word_str(&l, "connect");
		/* the server's check-send-proxy heads the default connects (haproxy_server_proxy_opt() writes
		 * it); HAProxy's per-rule `connect send-proxy` is not used, as import does not read it yet */
		if ((dflt && idx == 0) || s->send_proxy)
			word_str(&l, "default");
		if (s->port) {
			snprintf(num, sizeof(num), "%d", s->port);
			word_str(&l, "port");
			word_str(&l, num);
		}
		if (s->addrlen) {
			char ip[NET_ADDRSTRLEN + 8];

			word_str(&l, "addr");
			word_str(&l, net_fmt_ip(&s->addr, ip, sizeof(ip)));
		}
		if (s->socks4len)
			word_str(&l, "via-socks4"); /* the address is the server line's `socks4` */
		if (s->linger)
			word_str(&l, "linger");
		if (tls)
			words_tls(&l, &tls->tls);
		break;
	case STEP_SEND:
		if (s->env) {
			if (has_nul) {
				set_err(err, errlen, "%s: a send with ${NAME} references cannot hold a NUL byte", at);
				return -1;
			}
			word_str(&l, "send");
			word_value(&l, s->data, s->len, true);
		} else if (s->binary || has_nul) {
			word_str(&l, "send-binary");
			word_hex(&l, s->data, s->len);
		} else {
			word_str(&l, "send");
			word_esc(&l, s->data, s->len, false);
		}
		break;
	case STEP_EXPECT:
		word_str(&l, "expect");
		if (s->min_recv != -1) {
			snprintf(num, sizeof(num), "%d", s->min_recv);
			word_str(&l, "min-recv");
			word_str(&l, num);
		}
		if (s->error_status[0]) {
			word_str(&l, "error-status");
			word_str(&l, s->error_status);
		}
		if (s->negate)
			word_str(&l, "!");
		switch (s->match) {
		case EXPECT_STRING:
		case EXPECT_BINARY:
			if (s->match == EXPECT_BINARY || has_nul) {
				word_str(&l, "binary");
				word_hex(&l, s->data, s->len);
			} else {
				word_str(&l, "string");
				word_esc(&l, s->data, s->len, false);
			}
			break;
		case EXPECT_RSTRING:
		case EXPECT_RBINARY:
			if (has_nul) {
				set_err(err, errlen, "%s: the %s pattern holds a NUL byte, where HAProxy would cut it; "
					"write it as \\x00 in the regex", at, expect_match_str(s->match));
				return -1;
			}
			word_str(&l, expect_match_str(s->match));
			word_esc(&l, s->data, s->len, true);
			break;
		}
		break;
	}
	word_comment(&l, s->comment ? s->comment : tls ? tls->comment : NULL);
	return line_end(&l, at, err, errlen);
}

/*
 * HAProxy starts TLS only when it connects (tcp-check connect ssl, check-ssl): a TLS step anywhere else
 * (after a SOCKS or CONNECT exchange) has no HAProxy form. Returns 0, or -1 naming the step.
 */
static int tls_exportable(const struct recipe *r, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < r->nsteps; i++) {
		if (r->steps[i].type != STEP_TLS || i == 0 || r->steps[i - 1].type == STEP_CONNECT)
			continue;
		set_err(err, errlen, "step %zu: tls inside the tunnel (after step %zu, %s) cannot be expressed in "
			"HAProxy 2.6, which starts TLS only at connect (tcp-check connect ssl); replay it with "
			"recheck or recheckd instead", i + 1, i, step_type_str(r->steps[i - 1].type));
		return -1;
	}
	return 0;
}

/* The TLS start of r that server options must describe (verify, ca-file): the first one, or NULL. */
static const struct step_tls *first_tls(const struct recipe *r)
{
	size_t i;

	if (r->kind == RECIPE_HTTP)
		return r->tls;
	for (i = 0; i < r->nsteps; i++)
		if (r->steps[i].type == STEP_TLS)
			return &r->steps[i].tls;
	return NULL;
}

/*
 * Server-line options for a TLS check. verify/ca-file/verifyhost apply to check connections too;
 * HAProxy refuses "verify required" without a ca-file, so the system store is "@system-ca".
 * http: also check-ssl, check-sni and check-alpn, which HTTP checks need to start TLS at all.
 */
static int server_tls_opts(const struct step_tls *t, bool http, struct buf *out)
{
	if (http && (buf_append_str(out, " check-ssl") == -1 ||
		     (t->sni && buf_printf(out, " check-sni %s", t->sni) == -1) ||
		     (t->alpn && buf_printf(out, " check-alpn %s", t->alpn) == -1)))
		return -1;
	if (!t->verify)
		return buf_append_str(out, " verify none");
	if (buf_printf(out, " verify required ca-file %s", t->ca ? t->ca : "@system-ca") == -1)
		return -1;
	if (t->sni && buf_printf(out, " verifyhost %s", t->sni) == -1)
		return -1;
	return 0;
}

int haproxy_server_tls_opts(const struct recipe *r, struct buf *out)
{
	const struct step_tls *t = first_tls(r);

	return t ? server_tls_opts(t, r->kind == RECIPE_HTTP, out) : 0;
}

/*
 * The SOCKS4 proxy of the recipe's connects, which HAProxy takes from the server line (`socks4`); NULL
 * when none. -1 when two connects name different proxies: a server has one.
 */
static int recipe_socks4(const struct recipe *r, const struct step **out, char *err, size_t errlen)
{
	size_t i;

	*out = r->kind == RECIPE_HTTP && r->conn && r->conn->socks4len ? r->conn : NULL;
	for (i = 0; r->kind == RECIPE_TCP && i < r->nsteps; i++) {
		const struct step *s = &r->steps[i];

		if (s->type != STEP_CONNECT || !s->socks4len)
			continue;
		if (*out && (s->socks4len != (*out)->socks4len || memcmp(&s->socks4, &(*out)->socks4, s->socks4len))) {
			set_err(err, errlen, "step %zu: a second SOCKS4 proxy; HAProxy has one per server (socks4)", i + 1);
			return -1;
		}
		*out = s;
	}
	return 0;
}

int haproxy_server_socks4_opt(const struct recipe *r, struct buf *out, char *err, size_t errlen)
{
	const struct step *s;
	char ip[NET_ADDRSTRLEN + 8];

	if (recipe_socks4(r, &s, err, errlen) == -1)
		return -1;
	if (s && buf_printf(out, " socks4 %s", net_fmt_ip(&s->socks4, ip, sizeof(ip))) == -1) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

int haproxy_recipe_send_proxy(const struct recipe *r, bool dflt, int *out, char *err, size_t errlen)
{
	size_t i;

	*out = r->kind == RECIPE_HTTP && r->conn ? r->conn->send_proxy : 0;
	for (i = 0; r->kind == RECIPE_TCP && i < r->nsteps; i++) {
		const struct step *s = &r->steps[i];

		if (s->type != STEP_CONNECT || !s->send_proxy)
			continue;
		if (*out && s->send_proxy != *out) {
			set_err(err, errlen, "step %zu: a second PROXY header version; HAProxy has one per server "
				"(send-proxy / send-proxy-v2)", i + 1);
			return -1;
		}
		*out = s->send_proxy;
	}
	if (*out && dflt && r->kind == RECIPE_TCP && r->nsteps && r->steps[0].type == STEP_CONNECT &&
	    !r->steps[0].send_proxy) {
		set_err(err, errlen, "step 1: a connect without send_proxy written 'connect default' would get the "
			"server's check-send-proxy header too");
		return -1;
	}
	return 0;
}

int haproxy_server_proxy_opt(const struct recipe *r, bool dflt, int send_proxy, bool check_send_proxy, struct buf *out,
			     char *err, size_t errlen)
{
	int v;

	if (haproxy_recipe_send_proxy(r, dflt, &v, err, errlen) == -1)
		return -1;
	if (!v)
		return 0;
	if (send_proxy && send_proxy != v) {
		set_err(err, errlen, "the recipe's PROXY header is v%d but the server sends v%d (HAProxy's check-send-proxy "
			"follows the server's send-proxy version)", v, send_proxy);
		return -1;
	}
	/* v1 is check-send-proxy's own version; v2 needs send-proxy-v2, which heads the traffic too */
	if ((!check_send_proxy && buf_append_str(out, " check-send-proxy") == -1) ||
	    (v == 2 && !send_proxy && buf_append_str(out, " send-proxy-v2") == -1)) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int export_tcp(const struct recipe *r, bool dflt, const char *indent, struct buf *out, char *err,
		      size_t errlen)
{
	size_t i;

	if (tls_exportable(r, err, errlen) == -1)
		return -1;
	if (buf_printf(out, "%soption tcp-check\n", indent) == -1)
		goto toobig;
	for (i = 0; i < r->nsteps; i++) {
		const struct step *next = i + 1 < r->nsteps ? &r->steps[i + 1] : NULL;
		bool fold = r->steps[i].type == STEP_CONNECT && next && next->type == STEP_TLS;

		if (export_step("tcp-check", &r->steps[i], fold ? next : NULL, i, dflt, indent, out, err, errlen) == -1)
			return -1;
		if (fold)
			i++;
	}
	return 0;
toobig:
	set_err(err, errlen, "output too large");
	return -1;
}

/* The legacy version word: "VER\r\nName: value\r\n...[\r\n\r\nbody]". */
static int legacy_version(const struct recipe *r, struct buf *v)
{
	size_t i;

	if (buf_append_str(v, r->req.version ? r->req.version : "HTTP/1.0") == -1)
		return -1;
	for (i = 0; i < r->req.nhdrs; i++)
		if (buf_append_str(v, "\r\n") == -1 || buf_append_str(v, r->req.hdrs[i].name) == -1 ||
		    buf_append_str(v, ": ") == -1 || logfmt_escape(v, r->req.hdrs[i].value) == -1)
			return -1;
	if (r->req.bodylen && (buf_append_str(v, "\r\n\r\n") == -1 || buf_append(v, r->req.body, r->req.bodylen) == -1))
		return -1;
	return 0;
}

static int export_http_expects(const struct recipe *r, const char *indent, struct buf *out, char *err,
			       size_t errlen)
{
	char at[64], num[32];
	struct line l;
	size_t i;

	for (i = 0; i < r->nhexp; i++) {
		const struct http_expect *e = &r->hexp[i];

		snprintf(at, sizeof(at), "http expect %zu", i + 1);
		if (memchr(e->pattern, '\0', e->len)) {
			set_err(err, errlen, "%s: the pattern holds a NUL byte, which HAProxy cannot read", at);
			return -1;
		}
		line_start(&l, out, indent);
		word_str(&l, "http-check");
		word_str(&l, "expect");
		if (e->min_recv != -1) {
			snprintf(num, sizeof(num), "%d", e->min_recv);
			word_str(&l, "min-recv");
			word_str(&l, num);
		}
		if (e->negate)
			word_str(&l, "!");
		if (e->match == HEXP_HDR) {
			/* fhdr is hdr with the whole value compared, commas included */
			word_str(&l, e->full ? "fhdr" : "hdr");
			word_str(&l, "name");
			if (e->name_m != HDRM_STR) {
				word_str(&l, "-m");
				word_str(&l, hdr_match_str(e->name_m));
			}
			word_esc(&l, e->pattern, e->len, e->name_m == HDRM_REG);
			if (e->value) {
				if (memchr(e->value, '\0', e->vlen)) {
					set_err(err, errlen, "%s: the value holds a NUL byte, which HAProxy cannot read", at);
					return -1;
				}
				word_str(&l, "value");
				if (e->value_m != HDRM_STR) {
					word_str(&l, "-m");
					word_str(&l, hdr_match_str(e->value_m));
				}
				word_esc(&l, e->value, e->vlen, e->value_m == HDRM_REG);
			}
		} else {
			word_str(&l, http_expect_match_str(e->match));
			word_esc(&l, e->pattern, e->len, e->match == HEXP_RSTATUS || e->match == HEXP_RSTRING);
		}
		word_comment(&l, e->comment);
		if (line_end(&l, at, err, errlen) == -1)
			return -1;
	}
	return 0;
}

/* A comment line that cannot break out of the '#' comment. */
static int config_comment(struct buf *out, const char *indent, const char *text)
{
	if (buf_printf(out, "%s# ", indent) == -1)
		return -1;
	for (; *text; text++)
		if (buf_putc(out, (unsigned char)*text < 0x20 ? ' ' : (unsigned char)*text) == -1)
			return -1;
	return buf_putc(out, '\n');
}

/*
 * An HTTP recipe's 'connect' as HAProxy's first http-check rule, "http-check connect port N addr IP[:PORT]
 * via-socks4 linger", with the TLS start on it ("ssl sni alpn"): an explicit connect rule does not start
 * TLS from check-ssl, only a default one does. Nothing when the recipe has no 'connect'.
 */
static int export_http_connect(const struct recipe *r, bool dflt, const char *indent, struct buf *out, char *err,
			       size_t errlen)
{
	struct step tls = {.type = STEP_TLS};

	if (!r->conn)
		return 0;
	if (r->tls)
		tls.tls = *r->tls; /* borrowed for the words; nothing here frees it */
	return export_step("http-check", r->conn, r->tls ? &tls : NULL, 0, dflt, indent, out, err, errlen);
}

static int export_http(const struct recipe *r, bool legacy, bool dflt, const char *indent, struct buf *out, char *err,
		       size_t errlen)
{
	const struct http_req *q = &r->req;
	struct line l;
	struct buf v;
	size_t i;

	if (q->body && memchr(q->body, '\0', q->bodylen)) {
		set_err(err, errlen, "request: the body holds a NUL byte, which HAProxy cannot send");
		return -1;
	}
	line_start(&l, out, indent);
	word_str(&l, "option");
	word_str(&l, "httpchk");
	if (legacy) {
		if (q->method || q->uri || q->version || q->nhdrs || q->bodylen) {
			word_str(&l, q->method ? q->method : "OPTIONS");
			word_esc(&l, q->uri ? q->uri : "/", strlen(q->uri ? q->uri : "/"), false);
			buf_init(&v, RECIPE_MAX_PAYLOAD * 2);
			if (legacy_version(r, &v) == -1) {
				buf_free(&v);
				set_err(err, errlen, "request: too large");
				return -1;
			}
			word_value(&l, v.data, v.len, q->env && memmem(v.data, v.len, "${", 2));
			buf_free(&v);
		}
		if (line_end(&l, "option httpchk", err, errlen) == -1 ||
		    export_http_connect(r, dflt, indent, out, err, errlen) == -1)
			return -1;
		return export_http_expects(r, indent, out, err, errlen);
	}
	if (line_end(&l, "option httpchk", err, errlen) == -1 || export_http_connect(r, dflt, indent, out, err, errlen) == -1)
		return -1;
	if (q->method || q->uri || q->version || q->nhdrs || q->bodylen || q->comment) {
		line_start(&l, out, indent);
		word_str(&l, "http-check");
		word_str(&l, "send");
		if (q->method) {
			word_str(&l, "meth");
			word_esc(&l, q->method, strlen(q->method), false);
		}
		if (q->uri) {
			word_str(&l, "uri");
			word_esc(&l, q->uri, strlen(q->uri), false);
		}
		if (q->version) {
			word_str(&l, "ver");
			word_esc(&l, q->version, strlen(q->version), false);
		}
		for (i = 0; i < q->nhdrs; i++) {
			/* HAProxy 2.6 refuses `hdr NAME ""` ("'hdr' expects <name> and <value>"); only the
			 * legacy one-line form can carry an empty value (found by fuzz_haproxy_import). */
			if (!q->hdrs[i].name[0] || !q->hdrs[i].value[0]) {
				set_err(err, errlen, "request: header '%s' has an empty %s, which 'http-check send "
					"hdr' cannot express (the --legacy-httpchk form can)", q->hdrs[i].name,
					q->hdrs[i].name[0] ? "value" : "name");
				return -1;
			}
			word_str(&l, "hdr");
			word_esc(&l, q->hdrs[i].name, strlen(q->hdrs[i].name), false);
			buf_init(&v, RECIPE_MAX_PAYLOAD * 2);
			if (logfmt_escape(&v, q->hdrs[i].value) == -1) {
				buf_free(&v);
				set_err(err, errlen, "request: header too large");
				return -1;
			}
			word_value(&l, v.data ? v.data : (const unsigned char *)"", v.len,
				   q->env && strstr(q->hdrs[i].value, "${"));
			buf_free(&v);
		}
		if (q->bodylen) {
			word_str(&l, "body");
			word_esc(&l, q->body, q->bodylen, false);
		}
		word_comment(&l, q->comment);
		if (line_end(&l, "http-check send", err, errlen) == -1)
			return -1;
	}
	if (q->send_state && buf_printf(out, "%shttp-check send-state\n", indent) == -1) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	return export_http_expects(r, indent, out, err, errlen);
}

/* Names and addresses go into the file unescaped: refuse what would change the line's meaning. */
static int check_token(const char *what, const char *s, char *err, size_t errlen)
{
	const char *p;

	if (!s || !*s) {
		set_err(err, errlen, "%s is empty", what);
		return -1;
	}
	for (p = s; *p; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || strchr("#\\\"'$", *p)) {
			set_err(err, errlen, "%s '%s' holds a character HAProxy would not read as part of it", what, s);
			return -1;
		}
	}
	return 0;
}

/* HOST:PORT whose HOST is not an IP address: HAProxy must not refuse to start when it does not
 * resolve (init-addr last,libc,none), as recheckd waits for it in MAINT. */
static bool addr_is_name(const char *addr)
{
	char host[256];
	const char *colon = strrchr(addr, ':');
	size_t n = colon ? (size_t)(colon - addr) : strlen(addr);
	struct in_addr a4;
	struct in6_addr a6;

	if (addr[0] == '[' || n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, addr, n);
	host[n] = '\0';
	return inet_pton(AF_INET, host, &a4) != 1 && inet_pton(AF_INET6, host, &a6) != 1;
}

static int export_listen_head(const struct haproxy_export_opts *o, struct buf *out, char *err, size_t errlen)
{
	const char *t = o->timeout ? o->timeout : "5s";

	if (check_token("listen name", o->listen, err, errlen) == -1 ||
	    check_token("bind address", o->bind, err, errlen) == -1 ||
	    check_token("timeout", t, err, errlen) == -1 ||
	    (o->inter && check_token("inter", o->inter, err, errlen) == -1) ||
	    (o->timeout_queue && check_token("timeout queue", o->timeout_queue, err, errlen) == -1))
		return -1;
	if (buf_printf(out, "listen %s\n    bind %s%s\n    mode tcp\n    balance source\n", o->listen, o->bind,
		       o->accept_proxy ? " accept-proxy" : "") == -1 ||
	    (o->hash_consistent && buf_append_str(out, "    hash-type consistent\n") == -1) ||
	    (o->retries >= 0 && buf_printf(out, "    retries %d\n", o->retries) == -1) ||
	    (o->redispatch && buf_append_str(out, "    option redispatch\n") == -1) ||
	    buf_printf(out, "    timeout connect %s\n    timeout client 30s\n    timeout server 30s\n"
			    "    timeout check %s\n", t, t) == -1 ||
	    (o->timeout_queue && buf_printf(out, "    timeout queue %s\n", o->timeout_queue) == -1))
		goto toobig;
	if (o->inter || o->rise > 0 || o->fall > 0) {
		if (buf_append_str(out, "    default-server") == -1 ||
		    (o->inter && buf_printf(out, " inter %s", o->inter) == -1) ||
		    (o->rise > 0 && buf_printf(out, " rise %d", o->rise) == -1) ||
		    (o->fall > 0 && buf_printf(out, " fall %d", o->fall) == -1) || buf_putc(out, '\n') == -1)
			goto toobig;
	}
	return 0;
toobig:
	set_err(err, errlen, "output too large");
	return -1;
}

int haproxy_export(const struct recipe *r, const struct haproxy_export_opts *o, struct buf *out, char *err,
		   size_t errlen)
{
	const char *indent = o->indent ? o->indent : (o->listen ? "    " : "");
	const struct step_tls *tls;
	struct buf opts;
	char d[32];
	size_t i;

	if (o->listen && export_listen_head(o, out, err, errlen) == -1)
		return -1;
	if (r->name && config_comment(out, indent, r->name) == -1)
		goto toobig;
	if (r->kind == RECIPE_HTTP) {
		/* the one-line form has no comment keyword: keep it as a configuration comment */
		if (o->legacy_httpchk && r->req.comment && config_comment(out, indent, r->req.comment) == -1)
			goto toobig;
		if (export_http(r, o->legacy_httpchk, o->first_default, indent, out, err, errlen) == -1)
			return -1;
	} else if (export_tcp(r, o->first_default, indent, out, err, errlen) == -1) {
		return -1;
	}
	tls = first_tls(r);
	if (tls) {
		if ((tls->sni && check_token("tls sni", tls->sni, err, errlen) == -1) ||
		    (tls->alpn && check_token("tls alpn", tls->alpn, err, errlen) == -1) ||
		    (tls->ca && check_token("tls ca", tls->ca, err, errlen) == -1))
			return -1;
	}
	buf_init(&opts, 256);
	if (haproxy_server_socks4_opt(r, &opts, err, errlen) == -1) {
		buf_free(&opts);
		return -1;
	}
	/* HAProxy's socks4 is a server setting and carries the traffic too: say so where the lines go */
	if (!o->listen && opts.len && buf_printf(out, "%s# the checks go through a SOCKS4 proxy: add to each server line:%.*s "
				   "(HAProxy then relays the traffic through it too)\n", indent, (int)opts.len,
				   (const char *)opts.data) == -1) {
		buf_free(&opts);
		goto toobig;
	}
	buf_free(&opts);
	buf_init(&opts, 64);
	if (haproxy_server_proxy_opt(r, o->first_default, 0, false, &opts, err, errlen) == -1) {
		buf_free(&opts);
		return -1;
	}
	if (!o->listen && opts.len && buf_printf(out, "%s# the checks start with a PROXY header: add to each server line:%.*s%s\n",
				   indent, (int)opts.len, (const char *)opts.data,
				   strstr(buf_cstr(&opts), "-v2") ? " (HAProxy then sends the v2 header on the traffic too)" : "") == -1) {
		buf_free(&opts);
		goto toobig;
	}
	buf_free(&opts);
	if (!o->listen) {
		if (!tls)
			return 0;
		/* only server lines can carry these: say so where the check lines are pasted */
		buf_init(&opts, 1024);
		if (server_tls_opts(tls, r->kind == RECIPE_HTTP, &opts) == -1 ||
		    buf_printf(out, "%s# TLS check: add to each server line:%.*s\n", indent, (int)opts.len,
			       (const char *)opts.data) == -1) {
			buf_free(&opts);
			goto toobig;
		}
		buf_free(&opts);
		return 0;
	}
	for (i = 0; i < o->nservers; i++) {
		if (check_token("server name", o->servers[i].name, err, errlen) == -1 ||
		    check_token("server address", o->servers[i].addr, err, errlen) == -1)
			return -1;
		const struct haproxy_server *sv = &o->servers[i];

		if (buf_printf(out, "    server %s %s check%s%s%s%s", sv->name, sv->addr, sv->backup ? " backup" : "",
			       sv->send_proxy == 1 ? " send-proxy" : sv->send_proxy == 2 ? " send-proxy-v2" : "",
			       sv->check_send_proxy ? " check-send-proxy" : "",
			       addr_is_name(sv->addr) ? " init-addr last,libc,none" : "") == -1 ||
		    (sv->slowstart && buf_printf(out, " slowstart %s", duration_fmt(sv->slowstart, d, sizeof(d))) == -1) ||
		    (sv->maxconn && buf_printf(out, " maxconn %u", sv->maxconn) == -1) ||
		    (sv->maxqueue && buf_printf(out, " maxqueue %u", sv->maxqueue) == -1) ||
		    (tls && server_tls_opts(tls, r->kind == RECIPE_HTTP, out) == -1) ||
		    haproxy_server_socks4_opt(r, out, err, errlen) == -1)
			goto toobig;
		if (haproxy_server_proxy_opt(r, o->first_default, sv->send_proxy, sv->check_send_proxy, out, err, errlen) == -1)
			return -1;
		if (buf_putc(out, '\n') == -1)
			goto toobig;
	}
	return 0;
toobig:
	set_err(err, errlen, "output too large");
	return -1;
}
