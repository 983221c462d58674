/*
 * Unit tests for the stats renderers (src/stats.c, src/stats_prom.c): escaping of hostile names in HTML, JSON and
 * Prometheus labels; JSON well-formedness (checked by a small strict parser below); Prometheus text
 * format 0.0.4 line syntax, family grouping and cumulative histograms; the output cap.
 */
#include "api.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "stats.h"

#define NASTY "a\"b\\c\nd<e>&'\x01\xff</script>"

/* ---- a strict JSON checker (RFC 8259), enough to prove well-formedness ----------------------------- */

struct jp {
	const char *p, *end;
	int depth;
};

static void ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
		j->p++;
}

static bool value(struct jp *j);

static bool string(struct jp *j)
{
	if (j->p >= j->end || *j->p != '"')
		return false;
	for (j->p++; j->p < j->end; j->p++) {
		unsigned char c = (unsigned char)*j->p;

		if (c == '"') {
			j->p++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			j->p++;
			if (j->p >= j->end)
				return false;
			if (*j->p == 'u') {
				int i;

				for (i = 1; i <= 4; i++)
					if (j->p + i >= j->end || !isxdigit((unsigned char)j->p[i]))
						return false;
				j->p += 4;
			} else if (!strchr("\"\\/bfnrt", *j->p)) {
				return false;
			}
		}
	}
	return false;
}

static bool number(struct jp *j)
{
	const char *s = j->p;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || !isdigit((unsigned char)*j->p))
		return false;
	if (*j->p == '0' && j->p + 1 < j->end && isdigit((unsigned char)j->p[1]))
		return false;
	while (j->p < j->end && isdigit((unsigned char)*j->p))
		j->p++;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (j->p >= j->end || !isdigit((unsigned char)*j->p))
			return false;
		while (j->p < j->end && isdigit((unsigned char)*j->p))
			j->p++;
	}
	return j->p > s;
}

static bool literal(struct jp *j, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(j->end - j->p) < n || strncmp(j->p, w, n) != 0)
		return false;
	j->p += n;
	return true;
}

static bool container(struct jp *j, char open, char close, bool obj)
{
	if (++j->depth > 32)
		return false;
	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		ws(j);
		if (obj) {
			if (!string(j))
				return false;
			ws(j);
			if (j->p >= j->end || *j->p != ':')
				return false;
			j->p++;
		}
		if (!value(j))
			return false;
		ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			j->depth--;
			return true;
		}
		(void)open;
		return false;
	}
}

static bool value(struct jp *j)
{
	ws(j);
	if (j->p >= j->end)
		return false;
	switch (*j->p) {
	case '{':
		return container(j, '{', '}', true);
	case '[':
		return container(j, '[', ']', false);
	case '"':
		return string(j);
	case 't':
		return literal(j, "true");
	case 'f':
		return literal(j, "false");
	case 'n':
		return literal(j, "null");
	default:
		return number(j);
	}
}

static bool json_ok(const struct buf *b)
{
	struct jp j = {(const char *)b->data, (const char *)b->data + b->len, 0};

	if (!value(&j))
		return false;
	ws(&j);
	return j.p == j.end;
}

/* ---- a snapshot ----------------------------------------------------------------------------------- */

static struct stats_transition trans[1];
static struct stats_server srv[3];
static struct stats_listener li[2];
static struct stats_snapshot snap;

static void build(void)
{
	memset(srv, 0, sizeof(srv));
	memset(li, 0, sizeof(li));
	memset(&snap, 0, sizeof(snap));
	trans[0] = (struct stats_transition){.age_ms = 1200, .from = "UP", .to = "DOWN", .check = "L4CON", .step = 1,
					     .kind = "connect", .comment = NASTY, .desc = "Connection refused at step 1"};
	srv[0] = (struct stats_server){.name = "vps1", .address = "127.0.0.1:1", .status = "UP", .up = true, .weight = 1,
				       .conn_total = 7, .bytes_in = 100, .bytes_out = 2000000,
				       .maxconn = 2, .maxqueue = 8, .queue_cur = 3, .queue_max = 5, .qtime_ms = 40,
				       .qtime_max_ms = 90, .last_change_age_ms = UINT64_MAX};
	srv[0].check = (struct stats_check){.enabled = true, .ran = true, .status = "L7OK", .status_desc = "Layer7 check passed",
					    .result = "passed", .step = -1, .duration_ms = 12, .rise = 2, .fall = 3,
					    .health = 4, .inter_ms = 2000, .passed = 5, .dur_count = 5, .dur_sum = 0.06};
	srv[0].check.dur_buckets[3] = 2;
	srv[0].check.dur_buckets[4] = 3;
	srv[1] = (struct stats_server){.name = NASTY, .address = "127.0.0.1:2", .status = "DOWN", .weight = 2,
				       .to_down = 1, .trans = trans, .ntrans = 1, .last_change_age_ms = 1200};
	srv[1].check = (struct stats_check){.enabled = true, .ran = true, .status = "L4CON",
					    .status_desc = "Layer4 connection problem", .result = "failed", .step = 1,
					    .kind = "connect", .comment = NASTY, .desc = "Connection refused 'x' <y>",
					    .rx_preview = "\\x00\\xff", .rx_bytes = 2, .failed = 3, .dur_count = 3};
	srv[1].check.dur_buckets[STATS_DUR_BUCKETS] = 3;
	srv[2] = (struct stats_server){.name = "spare", .address = "[::1]:3", .status = "no check", .up = true,
				       .backup = true, .last_change_age_ms = UINT64_MAX};
	li[0] = (struct stats_listener){.name = "ha-socks5", .bind = "127.0.0.1:1080", .hash = "consistent",
					.maxconn = 100, .conn_total = 7, .active = 1, .srv = srv, .nsrv = 3};
	li[1] = (struct stats_listener){.name = "empty\"one", .bind = ":99", .hash = "map-based"};
	snap = (struct stats_snapshot){.version = "0.1.0", .uptime_ms = 5000, .gen = 2, .threads = 2, .refresh_s = 5,
				       .li = li, .nli = 2};
}

/* ---- tests ---------------------------------------------------------------------------------------- */

static void html_escapes(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(stats_html_escape(&b, "<a href=\"x\">&'</a>"), 0);
	assert_string_equal(buf_cstr(&b), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
	buf_reset(&b);
	assert_int_equal(stats_html_escape(&b, "caf\xc3\xa9 \x01 \xff \xed\xa0\x80"), 0);
	assert_string_equal(buf_cstr(&b), "caf\xc3\xa9 \xEF\xBF\xBD \xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	buf_reset(&b);
	assert_int_equal(stats_html_escape(&b, NULL), 0);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void json_escapes(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(stats_json_str(&b, NASTY), 0);
	assert_string_equal(buf_cstr(&b), "\"a\\\"b\\\\c\\nd\\u003ce>&'\\u0001\\ufffd\\u003c/script>\"");
	assert_true(json_ok(&b));
	buf_reset(&b);
	assert_int_equal(stats_json_str(&b, NULL), 0);
	assert_string_equal(buf_cstr(&b), "null");
	buf_free(&b);
}

static void prom_escapes(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(stats_prom_label(&b, "a\"b\\c\nd"), 0);
	assert_string_equal(buf_cstr(&b), "a\\\"b\\\\c\\nd");
	buf_reset(&b);
	assert_int_equal(stats_prom_label(&b, "caf\xc3\xa9\xff"), 0);
	assert_string_equal(buf_cstr(&b), "caf\xc3\xa9\xEF\xBF\xBD");
	buf_free(&b);
}

static void json_is_well_formed(void **state)
{
	struct buf b;
	const char *s;

	(void)state;
	build();
	buf_init(&b, 1 << 20);
	assert_int_equal(stats_render_json(&snap, &b), 0);
	s = buf_cstr(&b);
	assert_true(json_ok(&b));
	assert_non_null(strstr(s, "\"name\":\"ha-socks5\""));
	assert_non_null(strstr(s, "\"status\":\"L4CON\""));
	assert_non_null(strstr(s, "\"step\":1,"));
	assert_non_null(strstr(s, "\"duration_ms\":12"));
	assert_non_null(strstr(s, "\"queue\":{\"maxconn\":2,\"maxqueue\":8,\"current\":3,\"max\":5,\"qtime_ms\":40,"
				  "\"qtime_max_ms\":90}"));
	assert_non_null(strstr(s, "\"last_change_age_ms\":null"));
	assert_non_null(strstr(s, "\"recent\":[{\"age_ms\":1200,\"from\":\"UP\",\"to\":\"DOWN\",\"check\":\"L4CON\""));
	assert_null(strstr(s, "</script>"));
	/* an empty snapshot too */
	buf_reset(&b);
	snap.nli = 0;
	assert_int_equal(stats_render_json(&snap, &b), 0);
	assert_true(json_ok(&b));
	buf_free(&b);
}

static bool metric_name(const char **p)
{
	const char *s = *p;

	if (!(isalpha((unsigned char)**p) || **p == '_' || **p == ':'))
		return false;
	while (isalnum((unsigned char)**p) || **p == '_' || **p == ':')
		(*p)++;
	return *p > s;
}

/* One sample line: name{k="v",...} value. Returns the name's length or 0 when invalid. */
static size_t sample_ok(const char *line)
{
	const char *p = line, *name_end;
	char *end;

	if (!metric_name(&p))
		return 0;
	name_end = p;
	if (*p == '{') {
		p++;
		while (*p != '}') {
			if (!metric_name(&p) || *p++ != '=' || *p++ != '"')
				return 0;
			while (*p != '"') {
				if (!*p || *p == '\n')
					return 0;
				if (*p == '\\') {
					p++;
					if (*p != '\\' && *p != '"' && *p != 'n')
						return 0;
				}
				p++;
			}
			p++;
			if (*p == ',')
				p++;
			else if (*p != '}')
				return 0;
		}
		p++;
	}
	if (*p++ != ' ')
		return 0;
	if (strcmp(p, "+Inf") != 0) {
		strtod(p, &end);
		if (end == p || *end)
			return 0;
	}
	return (size_t)(name_end - line);
}

static void prometheus_lines_are_valid(void **state)
{
	char family[128] = "", seen[64][128];
	size_t nseen = 0, i;
	struct buf b;
	char *text, *line, *save = NULL;
	uint64_t last_bucket = 0;
	int samples = 0;

	(void)state;
	build();
	buf_init(&b, 1 << 20);
	assert_int_equal(stats_render_prometheus(&snap, &b), 0);
	text = strdup(buf_cstr(&b));
	assert_non_null(text);
	assert_int_equal(text[strlen(text) - 1], '\n');
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t n;

		if (strncmp(line, "# HELP ", 7) == 0) {
			const char *p = line + 7;

			assert_true(metric_name(&p));
			assert_int_equal(*p, ' ');
			snprintf(family, sizeof(family), "%.*s", (int)(p - line - 7), line + 7);
			for (i = 0; i < nseen; i++)
				assert_string_not_equal(seen[i], family); /* each family once */
			assert_true(nseen < 64);
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", family);
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			char want[160];
			const char *type = strrchr(line, ' ') + 1;

			snprintf(want, sizeof(want), "# TYPE %s ", family);
			assert_memory_equal(line, want, strlen(want));
			assert_true(strcmp(type, "gauge") == 0 || strcmp(type, "counter") == 0 ||
				    strcmp(type, "histogram") == 0);
			continue;
		}
		assert_true(line[0] != '#');
		n = sample_ok(line);
		if (!n)
			fail_msg("invalid sample line: %s", line);
		/* samples belong to the family announced last */
		assert_memory_equal(line, family, strlen(family));
		assert_true(n == strlen(family) || strncmp(line + strlen(family), "_bucket", 7) == 0 ||
			    strncmp(line + strlen(family), "_sum", 4) == 0 || strncmp(line + strlen(family), "_count", 6) == 0);
		if (strncmp(line, "recheck_check_duration_seconds_bucket", 37) == 0) {
			uint64_t v = strtoull(strrchr(line, ' ') + 1, NULL, 10);

			if (strstr(line, "le=\"0.001\""))
				last_bucket = 0;
			assert_true(v >= last_bucket); /* cumulative */
			last_bucket = v;
		}
		samples++;
	}
	free(text);
	text = buf_cstr(&b);
	assert_true(samples > 40);
	assert_non_null(strstr(text, "recheck_server_up{listener=\"ha-socks5\",server=\"vps1\"} 1\n"));
	assert_non_null(strstr(text, "recheck_server_maxconn{listener=\"ha-socks5\",server=\"vps1\"} 2\n"));
	assert_non_null(strstr(text, "recheck_server_queue_current{listener=\"ha-socks5\",server=\"vps1\"} 3\n"));
	assert_non_null(strstr(text, "recheck_server_queue_max{listener=\"ha-socks5\",server=\"vps1\"} 5\n"));
	assert_non_null(strstr(text, "server=\"a\\\"b\\\\c\\nd<e>&'\x01\xEF\xBF\xBD</script>\""));
	assert_non_null(strstr(text, "recheck_check_duration_seconds_bucket{listener=\"ha-socks5\",server=\"vps1\",le=\"0.01\"} 2\n"));
	assert_non_null(strstr(text, "recheck_check_duration_seconds_bucket{listener=\"ha-socks5\",server=\"vps1\",le=\"+Inf\"} 5\n"));
	assert_non_null(strstr(text, "recheck_check_duration_seconds_count{listener=\"ha-socks5\",server=\"vps1\"} 5\n"));
	assert_non_null(strstr(text, "recheck_checks_total{listener=\"ha-socks5\",server=\"vps1\",result=\"passed\"} 5\n"));
	assert_non_null(strstr(text, "recheck_server_check_failed_step{listener=\"ha-socks5\",server=\"vps1\"} -1\n"));
	assert_non_null(strstr(text, "recheck_server_transitions_total{listener=\"ha-socks5\",server=\"spare\",to=\"down\"} 0\n"));
	assert_non_null(strstr(text, "recheck_listener_connections_total{listener=\"empty\\\"one\"} 0\n"));
	assert_non_null(strstr(text, "recheck_server_bytes_total{listener=\"ha-socks5\",server=\"vps1\",direction=\"out\"} 2000000\n"));
	/* an unchecked server has no check series */
	assert_null(strstr(text, "recheck_checks_total{listener=\"ha-socks5\",server=\"spare\""));
	buf_free(&b);
}

static void html_escapes_names(void **state)
{
	struct buf b;
	const char *s;

	(void)state;
	build();
	buf_init(&b, 1 << 20);
	assert_int_equal(stats_render_html(&snap, &b), 0);
	s = buf_cstr(&b);
	assert_null(strstr(s, "<e>"));
	assert_null(strstr(s, "</script>"));
	assert_null(strstr(s, "<y>"));
	assert_null(strstr(s, "<script"));
	assert_non_null(strstr(s, "a&quot;b\\c\nd&lt;e&gt;&amp;&#39;\xEF\xBF\xBD\xEF\xBF\xBD&lt;/script&gt;"));
	assert_non_null(strstr(s, "<meta http-equiv=\"refresh\" content=\"5\">"));
	assert_non_null(strstr(s, "<tr class=\"srv down\">"));
	assert_non_null(strstr(s, "<tr class=\"srv nocheck backup\">"));
	assert_non_null(strstr(s, "L4CON</span> at step 1 (connect)"));
	assert_non_null(strstr(s, "2.0 MB"));
	assert_non_null(strstr(s, "empty&quot;one"));
	buf_free(&b);
}

static void transitional_states_have_their_colour(void **state)
{
	static const char *const st[][2] = {{"UP 1/3", "going-down"}, {"DOWN 1/2", "going-up"}, {"MAINT", "maint"},
					    {"NOLB", "nolb"}, {"DRAIN 1/3", "nolb"}, {"UP", "up"}};
	struct buf b;
	char want[64];
	size_t i;

	(void)state;
	build();
	for (i = 0; i < ARRAY_SIZE(st); i++) {
		srv[0].status = st[i][0];
		buf_init(&b, 1 << 20);
		assert_int_equal(stats_render_html(&snap, &b), 0);
		snprintf(want, sizeof(want), "<tr class=\"srv %s\">", st[i][1]);
		assert_non_null(strstr(buf_cstr(&b), want));
		buf_free(&b);
	}
}

static void cap_is_reported(void **state)
{
	struct buf b;

	(void)state;
	build();
	buf_init(&b, 300);
	assert_int_equal(stats_render_html(&snap, &b), -1);
	buf_free(&b);
	buf_init(&b, 300);
	assert_int_equal(stats_render_json(&snap, &b), -1);
	buf_free(&b);
	buf_init(&b, 300);
	assert_int_equal(stats_render_prometheus(&snap, &b), -1);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(html_escapes),
		cmocka_unit_test(json_escapes),
		cmocka_unit_test(prom_escapes),
		cmocka_unit_test(json_is_well_formed),
		cmocka_unit_test(prometheus_lines_are_valid),
		cmocka_unit_test(html_escapes_names),
		cmocka_unit_test(transitional_states_have_their_colour),
		cmocka_unit_test(cap_is_reported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
