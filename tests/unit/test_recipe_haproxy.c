/* Export to HAProxy lines and import back: every byte value, regexes, env steps, HTTP forms, sections. */
#include "api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "haproxy_lex.h"
#include "net.h"
#include "recipe.h"
#include "recipe_haproxy.h"
#include "seed_cfg.h"

static char err[ERR_LEN];

/* Exports r as a listen section, then imports it back. */
static struct recipe *roundtrip(const struct recipe *r, bool legacy, struct buf *cfg)
{
	struct haproxy_export_opts o;
	struct recipe *back;

	memset(&o, 0, sizeof(o));
	o.listen = "be";
	o.bind = "127.0.0.1:1";
	o.servers[0].name = "s1";
	o.servers[0].addr = "127.0.0.1:2";
	o.nservers = 1;
	o.legacy_httpchk = legacy;
	buf_init(cfg, 1u << 22);
	if (haproxy_export(r, &o, cfg, err, sizeof(err)) == -1)
		fail_msg("export: %s", err);
	back = haproxy_import_mem((const char *)cfg->data, cfg->len, "t.cfg", NULL, err, sizeof(err));
	if (!back)
		fail_msg("import: %s\n%s", err, buf_cstr(cfg));
	return back;
}

static struct recipe *compiled(struct recipe *r)
{
	if (recipe_compile(r, err, sizeof(err)) == -1)
		fail_msg("compile: %s", err);
	return r;
}

static void add_send(struct recipe *r, const void *p, size_t n)
{
	struct step *s = recipe_add_step(r, STEP_SEND);

	assert_non_null(s);
	assert_int_equal(step_set_data(s, p, n), 0);
}

static void add_expect(struct recipe *r, enum expect_match m, const void *p, size_t n)
{
	struct step *s = recipe_add_step(r, STEP_EXPECT);

	assert_non_null(s);
	s->match = m;
	assert_int_equal(step_set_data(s, p, n), 0);
}

/* Every byte value, alone and next to others, through text sends and expect strings. */
static void every_byte(void **state)
{
	unsigned char p[8];
	size_t i, b, first;

	for (first = 0; first < 256; first += 64) {
		struct recipe *r = recipe_new(RECIPE_TCP), *back;
		struct buf cfg;

		for (b = first; b < first + 64; b++) {
			unsigned char c = (unsigned char)b;
			const unsigned char forms[][4] = {{c}, {'a', c}, {c, 'z'}, {c, c}, {'\\', c}, {c, '\\'}, {'$', c}};
			const size_t lens[] = {1, 2, 2, 2, 2, 2, 2};

			for (i = 0; i < ARRAY_SIZE(lens); i++) {
				memcpy(p, forms[i], lens[i]);
				add_send(r, p, lens[i]);
				add_expect(r, EXPECT_STRING, p, lens[i]);
			}
		}
		back = roundtrip(compiled(r), false, &cfg);
		assert_int_equal(back->nsteps, r->nsteps);
		for (i = 0; i < r->nsteps; i++) {
			assert_int_equal(back->steps[i].type, r->steps[i].type);
			assert_int_equal(back->steps[i].len, r->steps[i].len);
			assert_memory_equal(back->steps[i].data, r->steps[i].data, r->steps[i].len);
			/* NUL forces send-binary / expect binary: the bytes survive, the form changes */
			if (memchr(r->steps[i].data, 0, r->steps[i].len))
				assert_true(back->steps[i].binary || back->steps[i].match == EXPECT_BINARY);
			else
				assert_false(back->steps[i].binary || back->steps[i].match == EXPECT_BINARY);
		}
		/* no raw control or high byte leaks into the file */
		for (i = 0; i < cfg.len; i++)
			assert_true(cfg.data[i] == '\n' || (cfg.data[i] >= 0x20 && cfg.data[i] < 0x7f));
		buf_free(&cfg);
		recipe_free(back);
		recipe_free(r);
	}
}

/* All 256 bytes in one payload, and the word-level escaper against the lexer directly. */
static void all_bytes_one_word(void **state)
{
	struct haproxy_line l;
	unsigned char all[255];
	struct buf b;
	size_t i;
	int regex;

	for (i = 0; i < sizeof(all); i++)
		all[i] = (unsigned char)(i + 1);
	for (regex = 0; regex < 2; regex++) {
		buf_init(&b, 1 << 16);
		assert_int_equal(haproxy_escape_word(&b, all, sizeof(all), regex), 0);
		assert_int_equal(haproxy_lex_line((const char *)b.data, b.len, 0, &l, err, sizeof(err)), 0);
		assert_int_equal(l.n, 1);
		assert_int_equal(l.w[0].len, sizeof(all));
		assert_memory_equal(l.w[0].data, all, sizeof(all));
		haproxy_line_free(&l);
		buf_reset(&b);
		assert_int_equal(haproxy_escape_env_word(&b, all, sizeof(all)), 0);
		assert_int_equal(haproxy_lex_line((const char *)b.data, b.len, HAPROXY_LEX_KEEP_ENV, &l, err, sizeof(err)), 0);
		assert_int_equal(l.n, 1);
		assert_memory_equal(l.w[0].data, all, sizeof(all));
		haproxy_line_free(&l);
		buf_free(&b);
	}
}

static void regex_patterns(void **state)
{
	static const char *const pats[] = {
		"^HTTP/1\\.[01]\\ 204", "^HTTP/1\\.[01] 204", "a\\\\b", "\\\\", "x\\", "\\t\\x41\\n\\r", "\\#x\\'y\\\"",
		"\\$", "\\d+\\s*", "[ \t]#", "^050000(?:01[0-9A-F]{12}|04[0-9A-F]{36})",
	};
	struct recipe *r = recipe_new(RECIPE_TCP), *back;
	struct buf cfg;
	size_t i;

	add_send(r, "x", 1);
	for (i = 0; i < ARRAY_SIZE(pats); i++)
		if (strcmp(pats[i], "x\\"))
			add_expect(r, i % 2 ? EXPECT_RBINARY : EXPECT_RSTRING, pats[i], strlen(pats[i]));
	back = roundtrip(compiled(r), false, &cfg);
	assert_int_equal(back->nsteps, r->nsteps);
	for (i = 0; i < r->nsteps; i++) {
		assert_int_equal(back->steps[i].match, r->steps[i].match);
		assert_int_equal(back->steps[i].len, r->steps[i].len);
		assert_memory_equal(back->steps[i].data, r->steps[i].data, r->steps[i].len);
	}
	/* readability: harmless regex escapes stay as they are */
	assert_non_null(strstr(buf_cstr(&cfg), "rstring ^HTTP/1\\.[01]\\\\\\ 204"));
	assert_non_null(strstr(buf_cstr(&cfg), "rbinary ^HTTP/1\\.[01]\\ 204"));
	assert_non_null(strstr(buf_cstr(&cfg), "\\d+\\s*"));
	buf_free(&cfg);
	recipe_free(back);
	recipe_free(r);
}

static void tcp_options(void **state)
{
	struct recipe *r = recipe_new(RECIPE_TCP), *back;
	struct step *s;
	struct buf cfg;

	s = recipe_add_step(r, STEP_CONNECT);
	s->port = 8080;
	s->linger = true;
	recipe_set_str(&s->comment, "it's #1 \"connect\"");
	s = recipe_add_step(r, STEP_SEND);
	s->binary = true;
	step_set_data(s, "\x05\x01\x00", 3);
	recipe_set_str(&s->comment, "greeting");
	add_expect(r, EXPECT_BINARY, "\x05\x00", 2);
	r->steps[2].min_recv = 0;
	r->steps[2].negate = true;
	back = roundtrip(compiled(r), false, &cfg);
	assert_non_null(strstr(buf_cstr(&cfg), "tcp-check connect port 8080 linger comment"));
	assert_non_null(strstr(buf_cstr(&cfg), "tcp-check send-binary 050100 comment greeting"));
	assert_non_null(strstr(buf_cstr(&cfg), "tcp-check expect min-recv 0 ! binary 0500"));
	assert_int_equal(back->nsteps, 3);
	assert_int_equal(back->steps[0].port, 8080);
	assert_true(back->steps[0].linger);
	assert_string_equal(back->steps[0].comment, "it's #1 \"connect\"");
	assert_true(back->steps[1].binary);
	assert_string_equal(back->steps[1].comment, "greeting");
	assert_int_equal(back->steps[2].min_recv, 0);
	assert_true(back->steps[2].negate);
	buf_free(&cfg);
	recipe_free(back);
	recipe_free(r);
}

static void env_steps(void **state)
{
	static const char payload[] = "AUTH ${RC_PW} $x $ \"q\" \\ # 'a'\r\n$";
	struct recipe *r = recipe_new(RECIPE_TCP), *back;
	struct buf cfg;

	add_send(r, payload, sizeof(payload) - 1);
	r->steps[0].env = true;
	back = roundtrip(compiled(r), false, &cfg);
	assert_non_null(strstr(buf_cstr(&cfg), "tcp-check send \"AUTH ${RC_PW} \\$x \\$ \\\"q\\\" \\\\ # 'a'\\r\\n\\$\""));
	assert_true(back->steps[0].env);
	assert_int_equal(back->steps[0].len, sizeof(payload) - 1);
	assert_memory_equal(back->steps[0].data, payload, sizeof(payload) - 1);
	buf_free(&cfg);
	recipe_free(back);
	recipe_free(r);
}

static struct recipe *http_recipe(void)
{
	struct recipe *r = recipe_new(RECIPE_HTTP);
	struct http_expect *e;

	recipe_set_str(&r->req.method, "GET");
	recipe_set_str(&r->req.uri, "http://client3.google.com/generate_204?a=%41");
	recipe_set_str(&r->req.version, "HTTP/1.1");
	recipe_add_hdr(r, "Host", "client3.google.com");
	recipe_add_hdr(r, "Proxy-Authorization", "Basic ${PROXY_AUTH}");
	recipe_add_hdr(r, "X-Pct", "100% \"sure\" #1");
	r->req.env = true;
	e = recipe_add_hexpect(r, HEXP_STATUS);
	e->pattern = strdup("204");
	e->len = 3;
	e = recipe_add_hexpect(r, HEXP_RSTRING);
	e->pattern = strdup("^ok\\.\\ $");
	e->len = strlen(e->pattern);
	e->negate = true;
	e->min_recv = 3;
	return r;
}

static void http_forms(void **state)
{
	struct recipe *r = http_recipe(), *back;
	struct buf cfg;
	size_t i;
	int legacy;

	compiled(r);
	for (legacy = 0; legacy < 2; legacy++) {
		back = roundtrip(r, legacy, &cfg);
		if (legacy)
			assert_non_null(strstr(buf_cstr(&cfg), "option httpchk GET http://client3.google.com/generate_204?a=%41 "
							       "\"HTTP/1.1\\r\\nHost: client3.google.com\\r\\n"));
		else
			assert_non_null(strstr(buf_cstr(&cfg), "hdr Proxy-Authorization \"Basic ${PROXY_AUTH}\" "
							       "hdr X-Pct 100%%\\ \\\"sure\\\"\\ \\#1"));
		assert_int_equal(back->kind, RECIPE_HTTP);
		assert_string_equal(back->req.method, "GET");
		assert_string_equal(back->req.uri, r->req.uri);
		assert_string_equal(back->req.version, "HTTP/1.1");
		assert_true(back->req.env);
		assert_int_equal(back->req.nhdrs, 3);
		for (i = 0; i < 3; i++) {
			assert_string_equal(back->req.hdrs[i].name, r->req.hdrs[i].name);
			assert_string_equal(back->req.hdrs[i].value, r->req.hdrs[i].value);
		}
		assert_int_equal(back->nhexp, 2);
		assert_string_equal(back->hexp[1].pattern, "^ok\\.\\ $");
		assert_true(back->hexp[1].negate);
		assert_int_equal(back->hexp[1].min_recv, 3);
		buf_free(&cfg);
		recipe_free(back);
	}
	r->req.body = (unsigned char *)strdup("a b%");
	r->req.bodylen = 4;
	for (legacy = 0; legacy < 2; legacy++) {
		back = roundtrip(r, legacy, &cfg);
		assert_int_equal(back->req.bodylen, 4);
		assert_memory_equal(back->req.body, "a b%", 4);
		buf_free(&cfg);
		recipe_free(back);
	}
	recipe_free(r);
}

/* The seed's two sections, as written in the seed notes. */
static const char seed_cfg[] =
	SEED_SOCKS5_CONNECT
	"#tcp-check send-binary 474554202f67656e65726174655f323034\n"
	"tcp-check send GET\\ /generate_204\\ HTTP/1.1\\r\\n\n"
	"tcp-check send Host:\\ client3.google.com\\r\\n\n"
	"tcp-check send User-Agent:\\ curl/7.54.0\\r\\n\n"
	"tcp-check send Accept:\\ */*\\r\\n\n"
	"tcp-check send \\r\\n\n"
	"tcp-check expect rstring ^HTTP/1.1\\ 204\n"
	"balance source\n"
	"hash-type consistent # optional\n"
	"server xxx1 127.0.0.1:11110 check\n"
	"server xxx2 127.0.0.1:11111 check backup\n"
	"\n"
	SEED_HTTP_HEAD
	"server xxx1 127.0.0.1:11120 check\n";

static void seed_sections(void **state)
{
	struct recipe *r;

	r = haproxy_import_mem(seed_cfg, sizeof(seed_cfg) - 1, "seed.cfg", NULL, err, sizeof(err));
	assert_null(r);
	assert_non_null(strstr(err, "seed.cfg: 2 sections have checks"));
	assert_non_null(strstr(err, "listen ha-socks5 (line 1)"));
	assert_non_null(strstr(err, "listen ha-http (line 21)"));

	r = haproxy_import_mem(seed_cfg, sizeof(seed_cfg) - 1, "seed.cfg", "ha-socks5", err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(r->kind, RECIPE_TCP);
	assert_int_equal(r->nsteps, 11);
	assert_int_equal(r->steps[0].type, STEP_CONNECT);
	assert_int_equal(r->steps[0].line, 4);
	assert_true(r->steps[1].binary);
	assert_memory_equal(r->steps[1].data, "\x05\x02\x00\x01", 4);
	assert_string_equal((const char *)r->steps[5].data, "GET /generate_204 HTTP/1.1\r\n");
	assert_string_equal((const char *)r->steps[10].data, "^HTTP/1.1 204");
	assert_int_equal(r->steps[10].match, EXPECT_RSTRING);
	assert_string_equal(r->name, "ha-socks5");
	recipe_free(r);

	r = haproxy_import_mem(seed_cfg, sizeof(seed_cfg) - 1, "seed.cfg", "ha-http", err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(r->kind, RECIPE_HTTP);
	assert_string_equal(r->req.method, "GET");
	assert_string_equal(r->req.uri, "http://client3.google.com/generate_204");
	assert_string_equal(r->req.version, "HTTP/1.1");
	assert_int_equal(r->req.nhdrs, 3);
	assert_string_equal(r->req.hdrs[1].name, "Proxy-Authorization");
	assert_string_equal(r->req.hdrs[1].value, "Basic xxxx");
	assert_string_equal(r->req.hdrs[2].value, "Keep-Alive");
	assert_int_equal(r->nhexp, 0);
	recipe_free(r);

	r = haproxy_import_mem(seed_cfg, sizeof(seed_cfg) - 1, "seed.cfg", "nope", err, sizeof(err));
	assert_null(r);
	assert_non_null(strstr(err, "no listen or backend section named 'nope'"));
	assert_non_null(strstr(err, "ha-socks5"));
}

static struct recipe *imp(const char *text)
{
	return haproxy_import_mem(text, strlen(text), "x.cfg", NULL, err, sizeof(err));
}

static void comments_and_numbering(void **state)
{
	struct recipe *r = imp("global\n  log stdout local0\n"
			       "backend b\n"
			       "  option tcp-check\n"
			       "  tcp-check comment 'say hello'\n"
			       "  tcp-check send HELLO\\r\\n\n"
			       "  tcp-check send MORE comment own\n"
			       "  tcp-check expect !string ERR\n"
			       "  tcp-check comment \"last\"\n"
			       "  tcp-check expect min-recv 4 error-status L7STS string OK\n");

	assert_non_null(r);
	assert_int_equal(r->nsteps, 4);
	/* HAProxy: a comment rule names the following run of rules of the same type */
	assert_string_equal(r->steps[0].comment, "say hello");
	assert_string_equal(r->steps[1].comment, "own");
	assert_null(r->steps[2].comment);
	assert_true(r->steps[2].negate);
	assert_string_equal(r->steps[3].comment, "last");
	assert_int_equal(r->steps[3].min_recv, 4);
	/* a tcp-check error-status is kept: the status a failure reports */
	assert_string_equal(r->steps[3].error_status, "L7STS");
	recipe_free(r);
}

static void unsupported(void **state)
{
	static const struct {
		const char *line, *want;
	} cases[] = {
		{"tcp-check send-lf %[src]", "x.cfg:3: tcp-check step 1: 'send-lf' is not supported"},
		{"tcp-check set-var(check.x) int(1)", "x.cfg:3: tcp-check step 1: 'set-var(check.x)'"},
		{"tcp-check connect send-proxy-v2", "x.cfg:3: tcp-check connect: option 'send-proxy-v2'"},
		{"tcp-check connect port 0", "x.cfg:3: tcp-check connect port expects an integer from 1 to 65535"},
		{"tcp-check expect ok-status L7OKC string x", "x.cfg:3: 'ok-status L7OKC'"},
		{"tcp-check expect string-lf x", "x.cfg:3: tcp-check expect: 'string-lf' is not supported"},
		{"tcp-check expect string a binary 41", "only one pattern"},
		{"tcp-check expect ! min-recv 1 string x", "'!' must be followed by a match keyword"},
		{"tcp-check send-binary 0g", "x.cfg:3: tcp-check send-binary: a hex digit is expected"},
		{"tcp-check send-binary 123", "even number"},
		{"tcp-check send a\\x4", "x.cfg:3: column 19: invalid or incomplete \\x escape"},
		{"tcp-check send \"${PW-x}\"", "default values"},
		{"tcp-check expect string \"${PW}\"", "only supported in send"},
		{"tcp-check expect rstring (", "x.cfg: section 'b': step 1 (line 3): expect rstring '('"},
	};
	char cfg[512];
	struct recipe *r;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(cfg, sizeof(cfg), "backend b\n  option tcp-check\n  %s\n", cases[i].line);
		r = imp(cfg);
		if (r || !strstr(err, cases[i].want))
			fail_msg("%s: got '%s', want '%s'", cases[i].line, r ? "a recipe" : err, cases[i].want);
	}
	/* expect hdr/fhdr: name and value methods, fhdr's whole value; the log-format forms are refused */
	r = imp("backend b\n  option httpchk\n  http-check expect ! hdr name -m beg X- value -m reg ^a$\n"
		"  http-check expect fhdr name x value \"a, b\"\n");
	assert_non_null(r);
	assert_int_equal(r->nhexp, 2);
	assert_int_equal(r->hexp[0].match, HEXP_HDR);
	assert_true(r->hexp[0].negate);
	assert_int_equal(r->hexp[0].name_m, HDRM_BEG);
	assert_string_equal(r->hexp[0].pattern, "X-");
	assert_int_equal(r->hexp[0].value_m, HDRM_REG);
	assert_string_equal(r->hexp[0].value, "^a$");
	assert_non_null(r->hexp[0].vrx);
	assert_false(r->hexp[0].full);
	assert_true(r->hexp[1].full);
	assert_string_equal(r->hexp[1].value, "a, b");
	recipe_free(r);
	r = imp("backend b\n  option httpchk\n  http-check expect hdr name-lf %[var(x)]\n");
	assert_null(r);
	assert_non_null(strstr(err, "x.cfg:3: http-check expect hdr: 'name-lf'"));
	r = imp("backend b\n  option httpchk\n  http-check expect hdr name x full\n");
	assert_null(r);
	assert_non_null(strstr(err, "x.cfg:3: http-check expect: 'full' is not supported"));
	r = imp("backend b\n  option httpchk\n  http-check expect hdr name -m glob x\n");
	assert_null(r);
	assert_non_null(strstr(err, "-m expects str, beg, end, sub or reg"));
	r = imp("backend b\n  option httpchk\n  http-check send hdr X %[src]\n");
	assert_null(r);
	assert_non_null(strstr(err, "log-format"));
	r = imp("backend b\n  option httpchk\n  http-check send meth GET\n  http-check send uri /\n");
	assert_null(r);
	assert_non_null(strstr(err, "x.cfg:4: a second 'http-check send'"));
	r = imp("backend b\n  option mysql-check\n");
	assert_null(r);
	assert_non_null(strstr(err, "'option mysql-check'"));
	/* server `addr`: every connect without its own; its port after the rule's and the server's `port` */
	r = imp("backend b\n  option tcp-check\n  tcp-check connect\n  tcp-check send A\n"
		"  tcp-check connect addr 10.0.0.9:7\n  tcp-check connect port 5\n"
		"  server s 127.0.0.1:1 check addr 127.0.0.2:44\n");
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(r->nsteps, 4);
	assert_int_equal(r->steps[0].port, 0);
	assert_int_equal(r->steps[0].addr.ss_family, AF_INET);
	assert_int_equal(net_port_of(&r->steps[0].addr), 44);
	assert_int_equal(net_port_of(&r->steps[2].addr), 7);
	assert_int_equal(r->steps[3].port, 5);
	assert_int_equal(net_port_of(&r->steps[3].addr), 44);
	recipe_free(r);
	r = imp("backend b\n  option tcp-check\n  server s 127.0.0.1:1 check addr 127.0.0.2 port 81\n");
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(r->nsteps, 1);
	assert_int_equal(r->steps[0].port, 81);
	assert_int_equal(net_port_of(&r->steps[0].addr), 0);
	recipe_free(r);
	r = imp("backend b\n  option tcp-check\n  server s 127.0.0.1:1 check addr db.example\n");
	assert_null(r);
	assert_non_null(strstr(err, "x.cfg:3: server: 'addr' expects an IP address"));
	/* an HTTP check's one connection: the recipe's 'connect' takes addr (HAProxy 2.6.12 checks there) */
	r = imp("backend b\n  option httpchk\n  server s 127.0.0.1:1 check addr 127.0.0.2\n");
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(r->kind, RECIPE_HTTP);
	assert_non_null(r->conn);
	assert_int_not_equal(r->conn->addrlen, 0);
	assert_int_equal(net_port_of(&r->conn->addr), 0);
	assert_int_equal(r->conn->port, 0);
	assert_int_equal(r->conn->socks4len, 0);
	recipe_free(r);
	/* server `port`: the check port of every connect without its own, the implicit one included */
	r = imp("backend b\n  option tcp-check\n  tcp-check send A\n  tcp-check connect port 99\n"
		"  server s 127.0.0.1:1 check port 81\n");
	assert_non_null(r);
	assert_int_equal(r->nsteps, 3);
	assert_int_equal(r->steps[0].type, STEP_CONNECT);
	assert_int_equal(r->steps[0].port, 81);
	assert_int_equal(r->steps[2].port, 99);
	recipe_free(r);
	r = imp("backend b\n  option httpchk\n  server s 127.0.0.1:1 check port 81\n");
	if (!r)
		fail_msg("%s", err);
	assert_non_null(r->conn);
	assert_int_equal(r->conn->port, 81);
	assert_int_equal(r->conn->addrlen, 0);
	recipe_free(r);
	/* all three from default-server and server, and back out as the first http-check rule */
	r = imp("backend b\n  option httpchk GET /h\n  default-server port 81\n"
		"  server s 127.0.0.1:1 check addr 127.0.0.2:82 socks4 127.0.0.1:2 check-via-socks4\n");
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(r->conn->port, 81);
	assert_int_equal(net_port_of(&r->conn->addr), 82);
	assert_int_equal(net_port_of(&r->conn->socks4), 2);
	{
		struct haproxy_export_opts o;
		struct buf out;

		memset(&o, 0, sizeof(o));
		buf_init(&out, 4096);
		if (haproxy_export(r, &o, &out, err, sizeof(err)) == -1)
			fail_msg("%s", err);
		assert_non_null(strstr(buf_cstr(&out), "option httpchk\nhttp-check connect port 81 addr 127.0.0.2:82 "
						    "via-socks4\nhttp-check send meth GET uri /h\n"));
		/* and back in: the rule is the recipe's connection again */
		{
			struct buf text;
			struct recipe *back;

			buf_init(&text, 4096);
			assert_int_equal(buf_printf(&text, "backend b\n%s  server s 127.0.0.1:1 check socks4 127.0.0.1:2\n",
						    buf_cstr(&out)), 0);
			back = imp(buf_cstr(&text));
			if (!back)
				fail_msg("%s", err);
			assert_int_equal(back->conn->port, 81);
			assert_int_equal(net_port_of(&back->conn->addr), 82);
			assert_int_equal(net_port_of(&back->conn->socks4), 2);
			recipe_free(back);
			buf_free(&text);
		}
		buf_reset(&out);
		assert_int_equal(haproxy_server_socks4_opt(r, &out, err, sizeof(err)), 0);
		assert_string_equal(buf_cstr(&out), " socks4 127.0.0.1:2");
		buf_free(&out);
	}
	recipe_free(r);
	/* an explicit `http-check connect`: its own port wins over the server's; without `default` the
	 * server's check-via-socks4, check-send-proxy and check-ssl do not apply to it (HAProxy) */
	r = imp("backend b\n  option httpchk GET /h\n  http-check connect port 90 linger\n"
		"  server s 127.0.0.1:1 check port 81 socks4 127.0.0.1:2 check-via-socks4 check-send-proxy check-ssl\n");
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(r->conn->port, 90);
	assert_true(r->conn->linger);
	assert_int_equal(r->conn->socks4len, 0);
	assert_int_equal(r->conn->send_proxy, 0);
	assert_null(r->tls);
	recipe_free(r);
	r = imp("backend b\n  option httpchk GET /h\n  http-check connect default ssl sni a.example\n"
		"  server s 127.0.0.1:1 check socks4 127.0.0.1:2 check-via-socks4 check-send-proxy verify none\n");
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(net_port_of(&r->conn->socks4), 2);
	assert_int_equal(r->conn->send_proxy, 1);
	assert_non_null(r->tls);
	assert_string_equal(r->tls->sni, "a.example");
	assert_false(r->tls->verify);
	recipe_free(r);
	r = imp("backend b\n  option httpchk GET /h\n  http-check send hdr X y\n  http-check connect port 9\n"
		"  server s 127.0.0.1:1 check\n");
	assert_null(r);
	assert_non_null(strstr(err, "x.cfg:4: http-check connect: only as the first http-check rule"));
	/* socks4 without check-via-socks4 on an HTTP check: direct, said in the notes */
	r = imp("backend b\n  option httpchk\n  server s 127.0.0.1:1 check socks4 127.0.0.1:2\n");
	if (!r)
		fail_msg("%s", err);
	assert_null(r->conn);
	assert_non_null(strstr(r->notes, "without check-via-socks4 the checks connect directly"));
	recipe_free(r);
	r = imp("backend b\n  option httpchk\n  server s 127.0.0.1:1 check proto h2\n");
	assert_null(r);
	assert_non_null(strstr(err, "'proto'"));
	/* socks4 + check-via-socks4: the default connects (the implicit one, `connect default`) and
	 * `connect via-socks4` rules go through the proxy; other connects go direct */
	r = imp("backend b\n  option tcp-check\n  tcp-check send A\n  tcp-check connect port 5\n"
		"  tcp-check connect default\n  tcp-check connect port 6 via-socks4\n"
		"  server s 127.0.0.1:1 check socks4 127.0.0.1:2 check-via-socks4\n");
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(r->nsteps, 5);
	assert_int_equal(r->steps[0].type, STEP_CONNECT);
	assert_int_equal(net_port_of(&r->steps[0].socks4), 2);
	assert_int_equal(r->steps[2].socks4len, 0);
	assert_int_equal(net_port_of(&r->steps[3].socks4), 2);
	assert_int_equal(net_port_of(&r->steps[4].socks4), 2);
	recipe_free(r);
	/* socks4 without check-via-socks4: the traffic's proxy only, said in the notes */
	r = imp("backend b\n  option tcp-check\n  server s 127.0.0.1:1 check socks4 127.0.0.1:2\n");
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(r->steps[0].socks4len, 0);
	assert_non_null(strstr(r->notes, "without check-via-socks4 the checks connect directly"));
	recipe_free(r);
	r = imp("backend b\n  option tcp-check\n  server s 127.0.0.1:1 check socks4 127.0.0.1 check-via-socks4\n");
	assert_null(r);
	assert_non_null(strstr(err, "'socks4' expects IP:PORT"));
	r = imp("backend b\n  option tcp-check\n  server s 127.0.0.1:1 check socks4 127.0.0.1:2 check-via-socks4\n"
		"  server t 127.0.0.1:3 check\n");
	assert_null(r);
	assert_non_null(strstr(err, "differ from the server's at line 3"));
	r = imp("frontend f\n  option tcp-check\n");
	assert_null(r);
	assert_non_null(strstr(err, "no listen or backend section has"));
}

/* haproxy_export() of r into out (reset first): as a listen section with one server sending send_proxy
 * (0, 1, 2) when listen, else the check lines alone. */
static int export_to(const struct recipe *r, bool listen, int send_proxy, struct buf *out)
{
	struct haproxy_export_opts o;

	memset(&o, 0, sizeof(o));
	if (listen) {
		o.listen = "be";
		o.bind = "127.0.0.1:1";
		o.servers[0].name = "s1";
		o.servers[0].addr = "127.0.0.1:2";
		o.servers[0].send_proxy = send_proxy;
		o.nservers = 1;
	}
	buf_reset(out);
	return haproxy_export(r, &o, out, err, sizeof(err));
}

/* check-send-proxy: send_proxy on the default connects, v2 with send-proxy-v2; HTTP: on 'connect'; and
 * back out as connect default + the server's check-send-proxy */
static void check_send_proxy(void **state)
{
	struct recipe *r;
	struct buf out;

	(void)state;
	buf_init(&out, 4096);
	r = imp("defaults\n  default-server check-send-proxy\nbackend b\n  option tcp-check\n  tcp-check send A\n"
		"  tcp-check connect port 5\n  tcp-check connect default\n  server s 127.0.0.1:1 check\n");
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(r->nsteps, 4);
	assert_int_equal(r->steps[0].type, STEP_CONNECT);
	assert_int_equal(r->steps[0].send_proxy, 1);
	assert_int_equal(r->steps[2].send_proxy, 0);
	assert_int_equal(r->steps[3].send_proxy, 1);
	if (export_to(r, false, 0, &out) == -1)
		fail_msg("%s", err);
	assert_non_null(strstr(buf_cstr(&out), "tcp-check connect default\ntcp-check send A\n"
					    "tcp-check connect port 5\ntcp-check connect default\n"));
	assert_non_null(strstr(buf_cstr(&out), "# the checks start with a PROXY header: add to each server "
					    "line: check-send-proxy\n"));
	recipe_free(r);
	r = imp("backend b\n  option httpchk GET /h\n  server s 127.0.0.1:1 check send-proxy-v2 check-send-proxy\n");
	if (!r)
		fail_msg("%s", err);
	assert_non_null(r->conn);
	assert_int_equal(r->conn->send_proxy, 2);
	if (export_to(r, true, 0, &out) == -1)
		fail_msg("%s", err);
	assert_non_null(strstr(buf_cstr(&out), "http-check connect default\n"));
	assert_non_null(strstr(buf_cstr(&out), "server s1 127.0.0.1:2 check check-send-proxy send-proxy-v2\n"));
	/* a server that already sends v1 cannot carry a v2 check header */
	assert_int_equal(export_to(r, true, 1, &out), -1);
	assert_non_null(strstr(err, "the recipe's PROXY header is v2 but the server sends v1"));
	recipe_free(r);
	r = imp("backend b\n  option tcp-check\n  server s 127.0.0.1:1 check send-proxy check-send-proxy\n");
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(r->steps[0].send_proxy, 1);
	recipe_free(r);
	/* HAProxy's per-rule `connect send-proxy`: that connect's header, in the server's version */
	r = imp("backend b\n  option tcp-check\n  tcp-check connect send-proxy\n  tcp-check connect port 5\n"
		"  server s 127.0.0.1:1 check\n");
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(r->steps[0].send_proxy, 1);
	assert_int_equal(r->steps[1].send_proxy, 0);
	recipe_free(r);
	r = imp("backend b\n  option tcp-check\n  tcp-check connect send-proxy\n"
		"  server s 127.0.0.1:1 check send-proxy-v2 check-send-proxy\n");
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(r->steps[0].send_proxy, 2);
	recipe_free(r);
	buf_free(&out);
	/* send-proxy alone would head the checks too: refused rather than dropped */
	r = imp("backend b\n  option tcp-check\n  server s 127.0.0.1:1 check send-proxy-v2\n");
	assert_null(r);
	assert_non_null(strstr(err, "'send-proxy-v2' without 'check-send-proxy'"));
	r = imp("backend b\n  option tcp-check\n  server s 127.0.0.1:1 check send-proxy-v2-ssl check-send-proxy\n");
	assert_null(r);
	assert_non_null(strstr(err, "'send-proxy-v2-ssl'"));
}

/* HAProxy 2.6.12: the later of option httpchk / http-check send replaces the header list when it has
 * headers; without headers it keeps the earlier line's (measured with the real binary). */
static void httpchk_header_rule(void **state)
{
	static const struct {
		const char *lines;
		const char *hdrs; /* names in order */
		const char *uri;
	} cases[] = {
		{"  option httpchk GET / HTTP/1.1\\r\\nA:\\ 1\n  http-check send hdr B 2\n", "B", "/"},
		{"  option httpchk GET / HTTP/1.1\\r\\nA:\\ 1\n  http-check send uri /x\n", "A", "/x"},
		{"  http-check send hdr B 2\n  option httpchk GET / HTTP/1.1\\r\\nA:\\ 1\n", "A", "/"},
		{"  http-check send hdr B 2\n  option httpchk GET /y HTTP/1.1\n", "B", "/y"},
		{"  option httpchk GET /z HTTP/1.1\\r\\nA:\\ 1\n  option httpchk GET /y HTTP/1.1\n", "", "/y"},
		{"  option httpchk GET / HTTP/1.1\\r\\nA:\\ 1\\r\\nC:\\ 3\n  http-check send hdr B 2 hdr D 4\n", "BD", "/"},
	};
	char cfg[512], names[16];
	struct recipe *r;
	size_t i, k;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(cfg, sizeof(cfg), "backend b\n%s", cases[i].lines);
		r = imp(cfg);
		if (!r)
			fail_msg("%s: %s", cases[i].lines, err);
		for (k = 0; k < r->req.nhdrs && k + 1 < sizeof(names); k++)
			names[k] = r->req.hdrs[k].name[0];
		names[k] = '\0';
		if (strcmp(names, cases[i].hdrs) || strcmp(r->req.uri, cases[i].uri))
			fail_msg("%s: headers '%s' uri %s, want '%s' %s", cases[i].lines, names, r->req.uri,
				 cases[i].hdrs, cases[i].uri);
		recipe_free(r);
	}
}

static void connect_only_and_defaults(void **state)
{
	struct recipe *r;

	/* option tcp-check without rules, and a plain check: HAProxy's connect-only check */
	r = imp("backend b\n  option tcp-check\n  server s 127.0.0.1:1 check\n");
	assert_non_null(r);
	assert_int_equal(r->nsteps, 1);
	assert_int_equal(r->steps[0].type, STEP_CONNECT);
	assert_non_null(strstr(r->notes, "connect-only"));
	recipe_free(r);
	r = haproxy_import_mem("listen l\n  server s 127.0.0.1:1 check\n", 38, "x.cfg", "l", err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(r->nsteps, 1);
	recipe_free(r);
	/* no check option and no server with `check`: HAProxy runs no check at all */
	r = haproxy_import_mem("listen l\n  server s 127.0.0.1:1\n", 32, "x.cfg", "l", err, sizeof(err));
	assert_null(r);
	assert_non_null(strstr(err, "x.cfg:1: section 'l' has no 'option tcp-check' or 'option httpchk' and no server"));
	/* the check option and the rules of the defaults section above */
	r = imp("defaults\n  option tcp-check\n  tcp-check send PING\n  tcp-check expect string PONG\n"
		"backend b\n  server s 127.0.0.1:1 check\n");
	assert_non_null(r);
	assert_int_equal(r->nsteps, 2);
	assert_int_equal(r->steps[1].type, STEP_EXPECT);
	recipe_free(r);
	/* the section's own rules win over the defaults' */
	r = imp("defaults\n  option tcp-check\n  tcp-check send PING\n"
		"backend b\n  tcp-check send-binary 00\n  tcp-check expect binary 01\n");
	assert_non_null(r);
	assert_int_equal(r->nsteps, 2);
	assert_true(r->steps[0].binary);
	recipe_free(r);
	/* option httpchk from defaults */
	r = imp("defaults\n  option httpchk GET /health\nbackend b\n  server s 127.0.0.1:1 check\n");
	assert_non_null(r);
	assert_int_equal(r->kind, RECIPE_HTTP);
	assert_string_equal(r->req.uri, "/health");
	recipe_free(r);
	/* tcp-check connect default */
	r = imp("backend b\n  option tcp-check\n  tcp-check connect default linger\n  tcp-check send x\n");
	assert_non_null(r);
	assert_true(r->steps[0].linger);
	recipe_free(r);
}

/* check-ssl, check-sni, check-alpn, verify, ca-file on server lines: the recipe's TLS */
static void server_tls(void **state)
{
	struct recipe *r;

	r = imp("backend b\n  option httpchk GET /\n  server s 127.0.0.1:1 check check-ssl check-sni a.example "
		"check-alpn http/1.1 verify none\n");
	if (!r)
		fail_msg("%s", err);
	assert_non_null(r->tls);
	assert_string_equal(r->tls->sni, "a.example");
	assert_string_equal(r->tls->alpn, "http/1.1");
	assert_false(r->tls->verify);
	recipe_free(r);
	/* the implicit connect starts TLS; the default-server line of the defaults applies */
	r = imp("defaults\n  default-server check-ssl verify required ca-file /etc/ssl/ca.pem\n"
		"backend b\n  option tcp-check\n  tcp-check send PING\n  server s 127.0.0.1:1 check\n");
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(r->nsteps, 3);
	assert_int_equal(r->steps[0].type, STEP_CONNECT);
	assert_int_equal(r->steps[1].type, STEP_TLS);
	assert_true(r->steps[1].tls.verify);
	assert_string_equal(r->steps[1].tls.ca, "/etc/ssl/ca.pem");
	assert_int_equal(r->steps[2].type, STEP_SEND);
	recipe_free(r);
	/* an explicit connect without `default` stays plain TCP; `connect default` takes the server's TLS */
	r = imp("backend b\n  option tcp-check\n  tcp-check connect\n  tcp-check send A\n  tcp-check connect default\n"
		"  tcp-check send B\n  server s 127.0.0.1:1 check check-ssl verify none\n");
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(r->nsteps, 5);
	assert_int_equal(r->steps[1].type, STEP_SEND);
	assert_int_equal(r->steps[2].type, STEP_CONNECT);
	assert_int_equal(r->steps[3].type, STEP_TLS);
	assert_false(r->steps[3].tls.verify);
	recipe_free(r);
	/* a plain check on an `ssl` server: connect + TLS (HAProxy's L6OK) */
	r = imp("backend b\n  option tcp-check\n  server s 127.0.0.1:1 check ssl verify none\n");
	if (!r)
		fail_msg("%s", err);
	assert_int_equal(r->nsteps, 2);
	assert_int_equal(r->steps[1].type, STEP_TLS);
	recipe_free(r);
	/* servers that disagree: a recipe has one TLS */
	r = imp("backend b\n  option tcp-check\n  server s 127.0.0.1:1 check check-ssl verify none\n"
		"  server t 127.0.0.1:2 check\n");
	assert_null(r);
	assert_non_null(strstr(err, "x.cfg:4: server t: its check settings (TLS, port, addr, socks4, PROXY header) differ from the server's at line 3"));
}

static void builtin_checks(void **state)
{
	struct recipe *r = imp("backend b\n  option redis-check\n");

	assert_non_null(r);
	assert_int_equal(r->nsteps, 2);
	assert_memory_equal(r->steps[0].data, "*1\r\n$4\r\nPING\r\n", 14);
	assert_string_equal((char *)r->steps[1].data, "+PONG\r\n");
	assert_string_equal(r->steps[1].error_status, "L7STS");
	recipe_free(r);
	r = imp("backend b\n  option smtpchk EHLO mail.example\n");
	assert_non_null(r);
	assert_int_equal(r->nsteps, 7);
	assert_true(r->steps[0].linger);
	assert_string_equal((char *)r->steps[5].data, "QUIT\r\n");
	assert_string_equal((char *)r->steps[3].data, "EHLO mail.example\r\n");
	/* 2.6.12's EHLO rule: the whole multi-line reply, no min-recv; QUIT's reply keeps min-recv 4 */
	assert_string_equal((char *)r->steps[4].data, "^(2[0-9]{2}-[^\r]*\r\n)*2[0-9]{2}[ \r]");
	assert_int_equal(r->steps[4].min_recv, -1);
	assert_int_equal(r->steps[6].min_recv, 4);
	assert_string_equal(r->steps[1].error_status, "");
	assert_string_equal(r->steps[2].error_status, "L7STS");
	recipe_free(r);
	r = imp("backend b\n  option smtpchk\n");
	assert_non_null(r);
	assert_string_equal((char *)r->steps[3].data, "HELO localhost\r\n");
	recipe_free(r);
}

static void nul_truncation(void **state)
{
	/* HAProxy keeps send / expect string arguments as C strings (§2.3, §2.4) */
	struct recipe *r = imp("listen l\n option tcp-check\n tcp-check send AB\\x00CD\n tcp-check expect string \\x05\\x00\n");

	assert_non_null(r);
	assert_int_equal(r->steps[0].len, 2);
	assert_int_equal(r->steps[1].len, 1);
	recipe_free(r);
}

static void export_limits(void **state)
{
	struct recipe *r = recipe_new(RECIPE_HTTP);
	struct haproxy_export_opts o;
	struct buf out;
	char name[16];
	int i;

	memset(&o, 0, sizeof(o));
	for (i = 0; i < 21; i++) {
		snprintf(name, sizeof(name), "X-H%d", i);
		recipe_add_hdr(r, name, "v");
	}
	compiled(r);
	buf_init(&out, 1 << 16);
	assert_int_equal(haproxy_export(r, &o, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at most 64"));
	buf_reset(&out);
	o.legacy_httpchk = true; /* one word: fits */
	assert_int_equal(haproxy_export(r, &o, &out, err, sizeof(err)), 0);
	buf_free(&out);
	recipe_free(r);

	r = recipe_new(RECIPE_TCP);
	add_send(r, "x", 1);
	add_expect(r, EXPECT_RSTRING, "a\0b", 3);
	r->steps[1].match = EXPECT_RSTRING;
	buf_init(&out, 1 << 16);
	assert_int_equal(haproxy_export(r, &o, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "step 2"));
	buf_free(&out);
	recipe_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_byte),       cmocka_unit_test(all_bytes_one_word),
		cmocka_unit_test(regex_patterns),   cmocka_unit_test(tcp_options),
		cmocka_unit_test(env_steps),        cmocka_unit_test(http_forms),
		cmocka_unit_test(seed_sections),    cmocka_unit_test(comments_and_numbering),
		cmocka_unit_test(unsupported), cmocka_unit_test(check_send_proxy), cmocka_unit_test(httpchk_header_rule),
		cmocka_unit_test(connect_only_and_defaults), cmocka_unit_test(builtin_checks), cmocka_unit_test(server_tls),      cmocka_unit_test(nul_truncation),
		cmocka_unit_test(export_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
