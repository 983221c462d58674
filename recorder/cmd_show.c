/*
 * recheck show: a readable, numbered listing of a recipe. Steps are numbered as HAProxy numbers its
 * tcp-check rules once exported ("at step N of tcp-check"), with step 0 the implicit connect. Payloads
 * are shown as escaped text or as hex with their printable form, and decoded by the dissector of the
 * recipe's protocol where it can (dissect_annotate).
 */
#include "api.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "cmd.h"
#include "dissect.h"
#include "net.h"
#include "recipe.h"
#include "recipe_yaml.h"
#include "util.h"

#define IND "      " /* continuation lines line up under the step text */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: recheck show [--show-secrets] RECIPE.yaml\n"
		"\n"
		"Prints the recipe as a numbered listing: its metadata, then each step as HAProxy numbers the\n"
		"exported tcp-check rules (step 0 is HAProxy's implicit connect when the recipe has none), with\n"
		"text payloads as escaped strings split at line ends, binary ones as hex with their printable\n"
		"form, expect options (min-recv, negation), comments, and a decoding of protocol messages\n"
		"(SOCKS5 greeting, CONNECT, ...) where recheck knows the protocol.\n"
		"\n"
		"Payloads marked secret that hold a recorded credential (not a ${NAME} reference) are hidden\n"
		"unless --show-secrets is given.\n"
		"\n"
		"Options:\n"
		"  --show-secrets  print recorded credentials too\n"
		"  -h, --help      this text\n"
		"\n"
		"Exit codes: 0 ok, 2 usage error, 3 the recipe is unreadable or invalid.\n");
}

/* Appends p as a C-like quoted string; every byte that is not printable ASCII is escaped. */
static void quoted(struct buf *b, const unsigned char *p, size_t n)
{
	size_t i;

	buf_putc(b, '"');
	for (i = 0; i < n; i++) {
		switch (p[i]) {
		case '\r': buf_append_str(b, "\\r"); break;
		case '\n': buf_append_str(b, "\\n"); break;
		case '\t': buf_append_str(b, "\\t"); break;
		case '"':  buf_append_str(b, "\\\""); break;
		case '\\': buf_append_str(b, "\\\\"); break;
		default:
			if (p[i] >= 0x20 && p[i] < 0x7f)
				buf_putc(b, p[i]);
			else
				buf_printf(b, "\\x%02x", p[i]);
		}
	}
	buf_putc(b, '"');
}

/* Text split after each \n, one quoted piece a line, so a request reads like a request. */
static void text_lines(struct buf *b, const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const unsigned char *nl = memchr(p + i, '\n', n - i);
		size_t k = nl ? (size_t)(nl - (p + i)) + 1 : n - i;

		buf_append_str(b, IND "  ");
		quoted(b, p + i, k);
		buf_putc(b, '\n');
		i += k;
	}
}

/* Short binary: hex then |printable| on one line; long: a hex dump with offsets. */
static void binary_lines(struct buf *b, const unsigned char *p, size_t n)
{
	size_t i;

	if (n > 24) {
		hexdump(b, p, n, (size_t)-1, IND "  ");
		return;
	}
	buf_append_str(b, IND "  ");
	hex_encode(b, p, n, false);
	buf_append_str(b, "  |");
	for (i = 0; i < n; i++)
		buf_putc(b, p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.');
	buf_append_str(b, "|\n");
}

static void hidden(struct buf *b, size_t n)
{
	buf_printf(b, IND "  <recorded credential, %zu bytes, hidden: --show-secrets prints it>\n", n);
}

static void annotate(struct buf *b, const struct recipe *r, size_t i)
{
	struct buf a;

	buf_init(&a, 4096);
	dissect_annotate(r->protocol, r, i, &a);
	if (a.len) {
		buf_append_str(b, IND "= ");
		buf_append(b, a.data, a.len);
		if (a.data[a.len - 1] != '\n')
			buf_putc(b, '\n');
	}
	buf_free(&a);
}

/*
 * Appends free text (comments, metadata) as written, UTF-8 included, but with control bytes escaped so
 * that a recipe cannot send escape sequences to the terminal.
 */
static void safe_text(struct buf *b, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\x%02x", c);
		else
			buf_putc(b, c);
	}
}

static void comment(struct buf *b, const char *c)
{
	if (!c)
		return;
	buf_append_str(b, IND "# ");
	safe_text(b, c, strlen(c));
	buf_putc(b, '\n');
}

/* "tls sni example.com, verify the chain (system store) and the name, alpn h2,http/1.1" */
static void show_tls(struct buf *b, const struct step_tls *t)
{
	buf_append_str(b, "tls");
	if (t->sni) {
		buf_append_str(b, " sni ");
		safe_text(b, t->sni, strlen(t->sni));
	}
	if (!t->verify) {
		buf_append_str(b, ", NO verification (verify: false: any certificate passes)");
	} else {
		buf_append_str(b, ", verify the chain (");
		if (t->ca)
			safe_text(b, t->ca, strlen(t->ca));
		else
			buf_append_str(b, "system store");
		buf_append_str(b, t->sni ? ") and the name" : "), name not checked (no sni)");
	}
	if (t->alpn) {
		buf_append_str(b, ", alpn ");
		safe_text(b, t->alpn, strlen(t->alpn));
	}
	buf_putc(b, '\n');
	buf_append_str(b, IND "  the sends and expects after this run inside TLS\n");
}

/* "connect port 8080, addr 10.0.0.2, via SOCKS4 127.0.0.1:1080, a PROXY protocol v1 header first linger": a connect step, or an HTTP recipe's. */
static void show_connect(struct buf *b, const struct step *s)
{
	char ip[NET_ADDRSTRLEN + 8];

	buf_append_str(b, "connect");
	if (s->port)
		buf_printf(b, " port %d", s->port);
	if (s->addrlen)
		buf_printf(b, "%s addr %s", s->port ? "," : "", net_fmt_ip(&s->addr, ip, sizeof(ip)));
	if (s->socks4len)
		buf_printf(b, "%s via SOCKS4 %s", s->port || s->addrlen ? "," : "", net_fmt_ip(&s->socks4, ip, sizeof(ip)));
	if (s->send_proxy)
		buf_printf(b, "%s a PROXY protocol v%d header first", s->port || s->addrlen || s->socks4len ? "," : " with", s->send_proxy);
	if (s->linger)
		buf_append_str(b, " linger (close with FIN, not RST)");
}

static void show_tcp(struct buf *b, const struct recipe *r, bool secrets)
{
	size_t i;

	if (r->nsteps && r->steps[0].type != STEP_CONNECT)
		buf_append_str(b, "   0  connect (implicit: HAProxy connects to the server's address and check port)\n");
	for (i = 0; i < r->nsteps; i++) {
		const struct step *s = &r->steps[i];

		buf_printf(b, "%4zu  ", i + 1);
		switch (s->type) {
		case STEP_TLS:
			show_tls(b, &s->tls);
			break;
		case STEP_CONNECT:
			show_connect(b, s);
			buf_putc(b, '\n');
			break;
		case STEP_SEND:
			buf_printf(b, "%s, %zu byte%s%s%s\n", s->binary ? "send-binary" : "send", s->len,
				   s->len == 1 ? "" : "s", s->env ? ", ${NAME} filled from the environment" : "",
				   s->secret ? ", carries a credential" : "");
			if (s->secret && !s->env && !secrets)
				hidden(b, s->len);
			else if (s->binary)
				binary_lines(b, s->data, s->len);
			else
				text_lines(b, s->data, s->len);
			break;
		case STEP_EXPECT:
			buf_printf(b, "expect %s%s", s->negate ? "NOT " : "", expect_match_str(s->match));
			if (s->min_recv != -1)
				buf_printf(b, ", min-recv %d", s->min_recv);
			if (s->match == EXPECT_STRING || s->match == EXPECT_BINARY)
				buf_printf(b, ", %zu byte%s anywhere in the reply", s->len, s->len == 1 ? "" : "s");
			else if (s->match == EXPECT_RBINARY)
				buf_append_str(b, ", regex over the UPPERCASE hex of the reply");
			else
				buf_append_str(b, ", regex over the reply");
			buf_putc(b, '\n');
			if (s->match == EXPECT_BINARY)
				binary_lines(b, s->data, s->len);
			else if (s->match == EXPECT_STRING)
				text_lines(b, s->data, s->len);
			else {
				buf_append_str(b, IND "  ");
				quoted(b, s->data, s->len);
				buf_putc(b, '\n');
			}
			break;
		}
		comment(b, s->comment);
		annotate(b, r, i);
	}
}

static bool is_credential_header(const char *name)
{
	return !strcasecmp(name, "Proxy-Authorization") || !strcasecmp(name, "Authorization");
}

static void show_http(struct buf *b, const struct recipe *r, bool secrets)
{
	const struct http_req *q = &r->req;
	size_t i;

	if (r->conn || r->tls) {
		buf_append_str(b, "   0  ");
		if (r->conn)
			show_connect(b, r->conn);
		else
			buf_append_str(b, "connect");
		if (r->tls) {
			buf_append_str(b, ", then ");
			show_tls(b, r->tls);
		} else {
			buf_putc(b, '\n');
		}
	}
	buf_printf(b, "   1  send %s %s %s%s%s\n", q->method ? q->method : "OPTIONS", q->uri ? q->uri : "/",
		   q->version ? q->version : "HTTP/1.0", q->env ? ", ${NAME} filled from the environment" : "",
		   q->secret ? ", carries a credential" : "");
	for (i = 0; i < q->nhdrs; i++) {
		if (is_credential_header(q->hdrs[i].name) && q->secret && !q->env && !secrets) {
			buf_printf(b, IND "  %s: <hidden: --show-secrets prints it>\n", q->hdrs[i].name);
			continue;
		}
		buf_printf(b, IND "  %s: ", q->hdrs[i].name);
		safe_text(b, q->hdrs[i].value, strlen(q->hdrs[i].value));
		buf_putc(b, '\n');
	}
	if (q->body) {
		buf_printf(b, IND "body, %zu byte%s\n", q->bodylen, q->bodylen == 1 ? "" : "s");
		text_lines(b, q->body, q->bodylen);
	}
	comment(b, q->comment);
	if (r->nhexp == 0)
		buf_append_str(b, "   2  expect status 200-399 (HAProxy's implicit default)\n");
	for (i = 0; i < r->nhexp; i++) {
		const struct http_expect *e = &r->hexp[i];

		buf_printf(b, "%4zu  expect %s%s ", i + 2, e->negate ? "NOT " : "", http_expect_match_str(e->match));
		if (e->match == HEXP_HDR && e->name_m != HDRM_STR)
			buf_printf(b, "name %s ", hdr_match_str(e->name_m));
		quoted(b, (const unsigned char *)e->pattern, e->len);
		if (e->match == HEXP_HDR && e->value) {
			buf_append_str(b, " value ");
			if (e->value_m != HDRM_STR)
				buf_printf(b, "%s ", hdr_match_str(e->value_m));
			quoted(b, (const unsigned char *)e->value, e->vlen);
		}
		if (e->min_recv != -1)
			buf_printf(b, ", min-recv %d", e->min_recv);
		buf_append_str(b, e->match == HEXP_STATUS || e->match == HEXP_RSTATUS ? " (status code)\n"
				  : e->match != HEXP_HDR ? " (body)\n"
				  : !e->value ? " (response header present)\n"
				  : e->full ? " (response header, whole value)\n"
				  : " (response header, each comma-separated value)\n");
		comment(b, e->comment);
	}
}

/* Multi-line metadata (notes) indented under its label. */
static void meta(struct buf *b, const char *label, const char *v)
{
	const char *p = v;

	if (!v)
		return;
	buf_printf(b, "%-14s ", label);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t k = nl ? (size_t)(nl - p) : strlen(p);

		if (p != v)
			buf_printf(b, "%-14s ", "");
		safe_text(b, p, k);
		buf_putc(b, '\n');
		p += k + (nl ? 1 : 0);
	}
}

int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{"show-secrets", no_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char err[ERR_LEN], kind[64];
	bool secrets = false;
	struct recipe *r;
	struct buf b;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			secrets = true;
			break;
		case 'h':
			usage(stdout);
			return RC_EXIT_OK;
		default:
			return cmd_opt_error("show", c, argv, optind, optopt);
		}
	}
	if (argc - optind != 1)
		return cmd_usage("show", "expected one recipe file (recheck show RECIPE.yaml)");
	r = recipe_load_file(argv[optind], err, sizeof(err));
	if (!r) {
		cmd_err("show", "%s", err);
		return RC_EXIT_BAD_INPUT;
	}
	buf_init(&b, 64u << 20);
	buf_printf(&b, "%s\n", argv[optind]);
	meta(&b, "name:", r->name);
	meta(&b, "protocol:", r->protocol);
	meta(&b, "recorded from:", r->recorded_from);
	meta(&b, "recorded at:", r->recorded_at);
	if (r->kind == RECIPE_TCP)
		snprintf(kind, sizeof(kind), "tcp (option tcp-check), %zu step%s", r->nsteps, r->nsteps == 1 ? "" : "s");
	else
		snprintf(kind, sizeof(kind), "http (option httpchk + http-check)");
	meta(&b, "kind:", kind);
	meta(&b, "secrets:", recipe_has_secret(r) ? "yes: keep this file private (mode 0600)" : NULL);
	meta(&b, "notes:", r->notes);
	buf_append_str(&b, "\nstep\n");
	if (r->kind == RECIPE_TCP)
		show_tcp(&b, r, secrets);
	else
		show_http(&b, r, secrets);
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
	recipe_free(r);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		cmd_err("show", "cannot write the listing to stdout");
		return RC_EXIT_IO;
	}
	return RC_EXIT_OK;
}
