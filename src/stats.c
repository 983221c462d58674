/*
 * stats: the HTML and JSON renderings of a stats snapshot, and the one escaping walk that the HTML, JSON
 * and Prometheus outputs share (see stats.h; the Prometheus rendering is stats_prom.c).
 * References: RFC 8259 (JSON); HTML Living Standard §13.1.2 (escaping text and attribute values);
 * RFC 3629 (UTF-8).
 */
#include "api.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "stats.h"

const double stats_dur_bounds[STATS_DUR_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
						    0.1,   0.25,   0.5,   1,    2.5,   5};

/* ---- escapers ------------------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 when invalid (RFC 3629 §4). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		len = 2;
		cp = p[0] & 0x1F;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		len = 3;
		cp = p[0] & 0x0F;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	/* overlong forms, surrogates and values past U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* The replacement of an ASCII byte in one output's escaping (NULL: the byte as it is); tmp has room
 * for a replacement built on the spot. */
typedef const char *esc_ascii_fn(unsigned char c, char tmp[8]);

/* One escaping walk for the three outputs: ASCII bytes go through ascii(), valid UTF-8 sequences are
 * copied, and a byte that starts no valid sequence becomes bad (a U+FFFD in that output's spelling). */
static int escape_utf8(struct buf *out, const char *s, esc_ascii_fn *ascii, const char *bad)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = s ? strlen(s) : 0, i = 0, l;
	const char *r;
	char tmp[8];
	int rc = 0;

	while (i < n && rc == 0) {
		if (p[i] < 0x80) {
			r = ascii(p[i], tmp);
			rc = r ? buf_append_str(out, r) : buf_putc(out, p[i]);
			i++;
			continue;
		}
		l = utf8_len(p + i, n - i);
		if (l == 0) {
			rc = buf_append_str(out, bad);
			i++;
			continue;
		}
		rc = buf_append(out, p + i, l);
		i += l;
	}
	return rc;
}

static const char *html_ascii(unsigned char c, char tmp[8])
{
	(void)tmp;
	switch (c) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return "&quot;";
	case '\'':
		return "&#39;";
	case '\t':
	case '\n':
		return NULL;
	default:
		return c < 0x20 ? "\xEF\xBF\xBD" : NULL;
	}
}

int stats_html_escape(struct buf *out, const char *s)
{
	return escape_utf8(out, s, html_ascii, "\xEF\xBF\xBD");
}

static const char *json_ascii(unsigned char c, char tmp[8])
{
	switch (c) {
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	case '\n':
		return "\\n";
	case '\r':
		return "\\r";
	case '\t':
		return "\\t";
	case '<':
		/* "</" would end a <script> if the JSON were ever inlined into a page */
		return "\\u003c";
	default:
		if (c >= 0x20 && c != 0x7F)
			return NULL;
		snprintf(tmp, 8, "\\u%04x", c);
		return tmp;
	}
}

int stats_json_str(struct buf *out, const char *s)
{
	if (!s)
		return buf_append_str(out, "null");
	if (buf_putc(out, '"') == -1 || escape_utf8(out, s, json_ascii, "\\ufffd") == -1)
		return -1;
	return buf_putc(out, '"');
}

/* Label values are UTF-8 (an invalid byte becomes U+FFFD); only \, " and newline are escaped. */
static const char *prom_ascii(unsigned char c, char tmp[8])
{
	(void)tmp;
	switch (c) {
	case '\\':
		return "\\\\";
	case '"':
		return "\\\"";
	case '\n':
		return "\\n";
	default:
		return NULL;
	}
}

int stats_prom_label(struct buf *out, const char *s)
{
	return escape_utf8(out, s, prom_ascii, "\xEF\xBF\xBD");
}

/* ---- JSON ------------------------------------------------------------------------------------------ */

static int jkey(struct buf *b, const char *k)
{
	return buf_printf(b, "\"%s\":", k);
}

static int jstr(struct buf *b, const char *k, const char *v, bool comma)
{
	if (jkey(b, k) == -1 || stats_json_str(b, v) == -1)
		return -1;
	return comma ? buf_putc(b, ',') : 0;
}

static int jnum(struct buf *b, const char *k, uint64_t v, bool comma)
{
	return buf_printf(b, "\"%s\":%" PRIu64 "%s", k, v, comma ? "," : "");
}

static int jint(struct buf *b, const char *k, long long v, bool comma)
{
	return buf_printf(b, "\"%s\":%lld%s", k, v, comma ? "," : "");
}

static int jbool(struct buf *b, const char *k, bool v, bool comma)
{
	return buf_printf(b, "\"%s\":%s%s", k, v ? "true" : "false", comma ? "," : "");
}

/* A delay in milliseconds with microsecond precision, or null when the phase was not reached. */
static int jdelay(struct buf *b, const char *k, int64_t us, bool comma)
{
	if (us < 0)
		return buf_printf(b, "\"%s\":null%s", k, comma ? "," : "");
	return buf_printf(b, "\"%s\":%.3f%s", k, (double)us / 1000.0, comma ? "," : "");
}

/* "delay":{"connect_ms":..,"tls_ms":..,"first_byte_ms":..,"total_ms":..}, as mihomo shows a delay. */
static int json_delay(struct buf *b, const struct stats_check *c)
{
	int rc = 0;

	rc |= buf_append_str(b, "\"delay\":{");
	rc |= jdelay(b, "connect_ms", c->ran ? c->connect_us : -1, true);
	rc |= jdelay(b, "tls_ms", c->ran ? c->tls_us : -1, true);
	rc |= jdelay(b, "first_byte_ms", c->ran ? c->ttfb_us : -1, true);
	rc |= jdelay(b, "total_ms", c->ran ? (int64_t)c->duration_ms * 1000 : -1, false);
	rc |= buf_append_str(b, "},");
	return rc ? -1 : 0;
}

static int json_check(struct buf *b, const struct stats_check *c)
{
	int rc = 0;

	rc |= buf_append_str(b, "\"check\":{");
	rc |= jbool(b, "enabled", c->enabled, true);
	rc |= jstr(b, "status", c->status, true);
	rc |= jstr(b, "status_description", c->status_desc, true);
	rc |= jstr(b, "result", c->result, true);
	if (c->ran && c->step >= 0)
		rc |= jint(b, "step", c->step, true);
	else
		rc |= buf_append_str(b, "\"step\":null,");
	rc |= jstr(b, "kind", c->kind, true);
	rc |= jstr(b, "comment", c->comment, true);
	rc |= jstr(b, "description", c->desc, true);
	rc |= jstr(b, "explanation", c->explain, true);
	rc |= jstr(b, "recipe", c->recipe, true);
	rc |= jnum(b, "duration_ms", c->duration_ms, true);
	rc |= json_delay(b, c);
	rc |= jstr(b, "tls_reason", c->tls_reason, true);
	if (c->ran)
		rc |= jnum(b, "age_ms", c->age_ms, true);
	else
		rc |= buf_append_str(b, "\"age_ms\":null,");
	rc |= jbool(b, "running", c->running, true);
	rc |= jnum(b, "rx_bytes", c->rx_bytes, true);
	rc |= jstr(b, "rx_preview", c->rx_preview, true);
	rc |= jint(b, "rise", c->rise, true);
	rc |= jint(b, "fall", c->fall, true);
	rc |= jint(b, "health", c->health, true);
	rc |= jnum(b, "inter_ms", c->inter_ms, true);
	rc |= buf_append_str(b, "\"counts\":{");
	rc |= jnum(b, "passed", c->passed, true);
	rc |= jnum(b, "failed", c->failed, true);
	rc |= jnum(b, "condpass", c->condpass, false);
	rc |= buf_append_str(b, "}}");
	return rc ? -1 : 0;
}

static int json_transition(struct buf *b, const struct stats_transition *t)
{
	int rc = 0;

	rc |= buf_putc(b, '{');
	rc |= jnum(b, "age_ms", t->age_ms, true);
	rc |= jstr(b, "from", t->from, true);
	rc |= jstr(b, "to", t->to, true);
	rc |= jstr(b, "check", t->check, true);
	if (t->step >= 0)
		rc |= jint(b, "step", t->step, true);
	else
		rc |= buf_append_str(b, "\"step\":null,");
	rc |= jstr(b, "kind", t->kind, true);
	rc |= jstr(b, "comment", t->comment, true);
	rc |= jstr(b, "description", t->desc, false);
	rc |= buf_putc(b, '}');
	return rc ? -1 : 0;
}

static int json_server(struct buf *b, const struct stats_server *s)
{
	size_t i;
	int rc = 0;

	rc |= buf_putc(b, '{');
	rc |= jstr(b, "name", s->name, true);
	rc |= jstr(b, "address", s->address, true);
	rc |= jstr(b, "status", s->status, true);
	rc |= jbool(b, "up", s->up, true);
	rc |= jnum(b, "weight", s->weight, true);
	rc |= jnum(b, "uweight", s->uweight, true);
	if (s->throttle <= 0)
		rc |= buf_append_str(b, "\"throttle\":null,");
	else
		rc |= jnum(b, "throttle", (uint64_t)s->throttle, true);
	rc |= jbool(b, "backup", s->backup, true);
	rc |= jnum(b, "id", s->id, true);
	if (s->last_change_age_ms == UINT64_MAX)
		rc |= buf_append_str(b, "\"last_change_age_ms\":null,");
	else
		rc |= jnum(b, "last_change_age_ms", s->last_change_age_ms, true);
	rc |= json_check(b, &s->check);
	rc |= buf_append_str(b, ",\"connections\":{");
	rc |= jnum(b, "current", s->conn_cur, true);
	rc |= jnum(b, "total", s->conn_total, true);
	rc |= jnum(b, "errors", s->conn_errors, true);
	rc |= jnum(b, "retries", s->retries, true);
	rc |= jnum(b, "redispatches", s->redispatches, false);
	rc |= buf_append_str(b, "},\"queue\":{");
	rc |= jnum(b, "maxconn", s->maxconn, true);
	rc |= jnum(b, "maxqueue", s->maxqueue, true);
	rc |= jnum(b, "current", s->queue_cur, true);
	rc |= jnum(b, "max", s->queue_max, true);
	rc |= jnum(b, "qtime_ms", s->qtime_ms, true);
	rc |= jnum(b, "qtime_max_ms", s->qtime_max_ms, false);
	rc |= buf_append_str(b, "},\"passive_health\":{");
	rc |= jbool(b, "observe", s->observe, true);
	rc |= jnum(b, "consecutive_errors", s->consec_errors, true);
	rc |= jnum(b, "triggered", s->failed_hana, false);
	rc |= buf_append_str(b, "},\"bytes\":{");
	rc |= jnum(b, "in", s->bytes_in, true);
	rc |= jnum(b, "out", s->bytes_out, false);
	rc |= buf_append_str(b, "},\"transitions\":{");
	rc |= jnum(b, "to_up", s->to_up, true);
	rc |= jnum(b, "to_down", s->to_down, true);
	rc |= buf_append_str(b, "\"recent\":[");
	for (i = 0; i < s->ntrans; i++) {
		if (i)
			rc |= buf_putc(b, ',');
		rc |= json_transition(b, &s->trans[i]);
	}
	rc |= buf_append_str(b, "]}}");
	return rc ? -1 : 0;
}

int stats_render_json(const struct stats_snapshot *s, struct buf *b)
{
	size_t i, k;
	int rc = 0;

	rc |= buf_putc(b, '{');
	rc |= jstr(b, "version", s->version, true);
	rc |= jnum(b, "uptime_ms", s->uptime_ms, true);
	rc |= jnum(b, "generation", s->gen, true);
	rc |= jint(b, "threads", s->threads, true);
	rc |= buf_append_str(b, "\"workers\":[");
	for (i = 0; s->workers && i < (size_t)s->threads; i++) {
		if (i)
			rc |= buf_putc(b, ',');
		rc |= buf_putc(b, '{');
		rc |= jnum(b, "sessions", s->workers[i].sessions, true);
		rc |= jnum(b, "handed_over", s->workers[i].handed_over, false);
		rc |= buf_putc(b, '}');
	}
	rc |= buf_append_str(b, "],");
	rc |= buf_append_str(b, "\"reload\":{");
	rc |= jnum(b, "accepted", s->reloads, true);
	rc |= jnum(b, "failures", s->reload_failures, true);
	rc |= buf_printf(b, "\"last_time\":%" PRId64 ",", s->last_reload_time);
	rc |= jstr(b, "last_result", !s->last_reload_time ? "none" : s->last_reload_ok ? "ok" : "refused", true);
	if (s->last_reload_error)
		rc |= jstr(b, "last_error", s->last_reload_error, false);
	else
		rc |= buf_append_str(b, "\"last_error\":null");
	rc |= buf_append_str(b, "},");
	rc |= jnum(b, "log_dropped", s->log_dropped, true);
	rc |= buf_append_str(b, "\"listeners\":[");
	for (i = 0; i < s->nli && rc == 0; i++) {
		const struct stats_listener *li = &s->li[i];

		if (i)
			rc |= buf_putc(b, ',');
		rc |= buf_putc(b, '{');
		rc |= jstr(b, "name", li->name, true);
		rc |= jstr(b, "bind", li->bind, true);
		rc |= jstr(b, "hash_type", li->hash, true);
		rc |= jbool(b, "allbackups", li->allbackups, true);
		rc |= jint(b, "maxconn", li->maxconn, true);
		rc |= jnum(b, "active", li->active, true);
		rc |= jnum(b, "backup", li->backup, true);
		rc |= buf_append_str(b, "\"connections\":{");
		rc |= jnum(b, "current", li->conn_cur, true);
		rc |= jnum(b, "total", li->conn_total, true);
		rc |= jnum(b, "no_server", li->conn_noserver, true);
		rc |= jnum(b, "retries", li->retries, true);
		rc |= jnum(b, "redispatches", li->redispatches, true);
		rc |= jnum(b, "proxy_errors", li->proxy_errors, true);
		rc |= jnum(b, "queued", li->queue_cur, false);
		rc |= buf_append_str(b, "},\"bytes\":{");
		rc |= jnum(b, "in", li->bytes_in, true);
		rc |= jnum(b, "out", li->bytes_out, false);
		rc |= buf_append_str(b, "},\"servers\":[");
		for (k = 0; k < li->nsrv && rc == 0; k++) {
			if (k)
				rc |= buf_putc(b, ',');
			rc |= json_server(b, &li->srv[k]);
		}
		rc |= buf_append_str(b, "]}");
	}
	rc |= buf_append_str(b, "]}\n");
	return rc ? -1 : 0;
}

/* ---- HTML ------------------------------------------------------------------------------------------ */

static const char html_head[] =
	"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";

static const char html_style[] =
	"<style>\n"
	"body{font:14px/1.35 system-ui,sans-serif;margin:1em 2em;color:#222;background:#fafafa}\n"
	"h1{font-size:1.3em;margin:.2em 0}h2{font-size:1.1em;margin:1.2em 0 .3em}\n"
	".meta{color:#555}.meta span{margin-right:1.5em}\n"
	"table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0002}\n"
	"th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}\n"
	"th{background:#eef1f5;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
	"td.st{font-weight:700;white-space:nowrap}\n"
	"tr.up td.st{background:#c8f0c8;color:#064}tr.down td.st{background:#f6c4c4;color:#900}\n"
	"tr.going-down td.st{background:#fde7a8;color:#850}tr.going-up td.st{background:#fbd2a0;color:#930}\n"
	"tr.maint td.st{background:#c9d6f5;color:#124}tr.nocheck td.st{background:#e8e8e8;color:#333}\n"
	"tr.nolb td.st{background:#e6d3f5;color:#526}\n"
	"tr.backup td.name::after{content:\" (backup)\";color:#777;font-weight:400}\n"
	".ok{color:#064}.bad{color:#b00;font-weight:600}.small{font-size:.9em;color:#555}\n"
	"code{font-size:.92em}\n"
	"</style>\n";

/* Human-readable byte count ("1.2 MB"). */
static void fmt_bytes(char *out, size_t outlen, uint64_t v)
{
	static const char *const unit[] = {"B", "kB", "MB", "GB", "TB", "PB"};
	double d = (double)v;
	size_t u = 0;

	while (d >= 1000 && u + 1 < ARRAY_SIZE(unit)) {
		d /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(out, outlen, "%" PRIu64 " B", v);
	else
		snprintf(out, outlen, "%.1f %s", d, unit[u]);
}

/* "3.2s", "4m", "2h" for an age in ms. */
static void fmt_age(char *out, size_t outlen, uint64_t ms)
{
	if (ms < 10000)
		snprintf(out, outlen, "%.1fs", (double)ms / 1000.0);
	else if (ms < 120000)
		snprintf(out, outlen, "%" PRIu64 "s", ms / 1000);
	else if (ms < 7200000)
		snprintf(out, outlen, "%" PRIu64 "m", ms / 60000);
	else
		snprintf(out, outlen, "%" PRIu64 "h", ms / 3600000);
}

/* Row class from the status text, so colour follows exactly what the status column says. */
static const char *row_class(const struct stats_server *s)
{
	const char *st = s->status ? s->status : "";

	if (strncmp(st, "MAINT", 5) == 0)
		return "maint";
	if (strcmp(st, "no check") == 0)
		return "nocheck";
	if (strncmp(st, "NOLB", 4) == 0 || strncmp(st, "DRAIN", 5) == 0)
		return "nolb";
	if (strncmp(st, "UP ", 3) == 0)
		return "going-down";
	if (strncmp(st, "DOWN ", 5) == 0)
		return "going-up";
	if (strncmp(st, "DOWN", 4) == 0)
		return "down";
	return "up";
}

static int html_check_cell(struct buf *b, const struct stats_check *c)
{
	int rc = 0;

	if (!c->enabled)
		return buf_append_str(b, "<td class=\"check small\">no check</td>");
	rc |= buf_append_str(b, "<td class=\"check\" title=\"");
	rc |= stats_html_escape(b, c->desc ? c->desc : c->status_desc);
	rc |= buf_printf(b, "\"><span class=\"%s\">", c->ran && strcmp(c->result, "failed") == 0 ? "bad" : "ok");
	rc |= stats_html_escape(b, c->status);
	rc |= buf_append_str(b, "</span>");
	if (c->ran && c->step >= 0) {
		rc |= buf_printf(b, " at step %d", c->step);
		if (c->kind) {
			rc |= buf_append_str(b, " (");
			rc |= stats_html_escape(b, c->kind);
			rc |= buf_putc(b, ')');
		}
		if (c->comment) {
			rc |= buf_append_str(b, "<br><span class=\"small\">");
			rc |= stats_html_escape(b, c->comment);
			rc |= buf_append_str(b, "</span>");
		}
		if (c->desc) {
			rc |= buf_append_str(b, "<br><code class=\"small\">");
			rc |= stats_html_escape(b, c->desc);
			rc |= buf_append_str(b, "</code>");
		}
		if (c->explain) {
			rc |= buf_append_str(b, "<br><span class=\"bad small\">");
			rc |= stats_html_escape(b, c->explain);
			rc |= buf_append_str(b, "</span>");
		}
	}
	if (c->running)
		rc |= buf_append_str(b, " <span class=\"small\">(checking)</span>");
	rc |= buf_append_str(b, "</td>");
	return rc ? -1 : 0;
}

static int html_server_row(struct buf *b, const struct stats_server *s)
{
	char in[32], out[32], age[32];
	int rc = 0;

	fmt_bytes(in, sizeof(in), s->bytes_in);
	fmt_bytes(out, sizeof(out), s->bytes_out);
	rc |= buf_printf(b, "<tr class=\"srv %s%s\"><td class=\"name\">", row_class(s), s->backup ? " backup" : "");
	rc |= stats_html_escape(b, s->name);
	rc |= buf_append_str(b, "</td><td><code>");
	rc |= stats_html_escape(b, s->address);
	rc |= buf_append_str(b, "</code></td><td class=\"st\">");
	rc |= stats_html_escape(b, s->status);
	rc |= buf_append_str(b, "</td>");
	if (s->last_change_age_ms == UINT64_MAX)
		snprintf(age, sizeof(age), "-");
	else
		fmt_age(age, sizeof(age), s->last_change_age_ms);
	if (s->throttle > 0) /* warming up (slowstart): HAProxy's throttle next to the ramping weight */
		rc |= buf_printf(b, "<td class=\"n\">%s</td><td class=\"n\" title=\"slowstart: %d%% of weight %u\">%u "
				 "(warm-up %d%%)</td><td>%s</td>", age, s->throttle, s->uweight, s->weight, s->throttle,
				 s->backup ? "yes" : "-");
	else
		rc |= buf_printf(b, "<td class=\"n\">%s</td><td class=\"n\">%u</td><td>%s</td>", age, s->weight,
				 s->backup ? "yes" : "-");
	rc |= html_check_cell(b, &s->check);
	if (s->check.enabled && s->check.ran) {
		fmt_age(age, sizeof(age), s->check.age_ms);
		/* the delay split, as mihomo shows a proxy's delay: connect / TLS handshake / first byte */
		rc |= buf_printf(b, "<td class=\"n\" title=\"connect %.1f ms, tls %.1f ms, first byte %.1f ms (-1: not "
				 "reached)\">%" PRIu64 " ms%s</td><td class=\"n\">%s ago</td>",
				 s->check.connect_us < 0 ? -1.0 : (double)s->check.connect_us / 1000.0,
				 s->check.tls_us < 0 ? -1.0 : (double)s->check.tls_us / 1000.0,
				 s->check.ttfb_us < 0 ? -1.0 : (double)s->check.ttfb_us / 1000.0, s->check.duration_ms,
				 s->check.tls_us >= 0 ? " (tls)" : "", age);
	} else {
		rc |= buf_append_str(b, "<td class=\"n\">-</td><td class=\"n\">-</td>");
	}
	rc |= buf_printf(b,
			 "<td class=\"n\">%" PRIu64 " / %" PRIu64 "</td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%s</td>"
			 "<td class=\"n\">%s</td><td class=\"n\">%" PRIu64 " / %" PRIu64 "</td></tr>\n",
			 s->conn_cur, s->conn_total, s->conn_errors, in, out, s->to_down, s->to_up);
	return rc ? -1 : 0;
}

int stats_render_html(const struct stats_snapshot *s, struct buf *b)
{
	char up[32], in[32], out[32];
	size_t i, k;
	int rc = 0;

	rc |= buf_append_str(b, html_head);
	if (s->refresh_s)
		rc |= buf_printf(b, "<meta http-equiv=\"refresh\" content=\"%u\">\n", s->refresh_s);
	rc |= buf_append_str(b, "<title>recheckd stats</title>\n");
	rc |= buf_append_str(b, html_style);
	fmt_age(up, sizeof(up), s->uptime_ms);
	rc |= buf_append_str(b, "</head><body>\n<h1>recheckd</h1>\n<p class=\"meta\"><span>version ");
	rc |= stats_html_escape(b, s->version);
	rc |= buf_printf(b, "</span><span>up %s</span><span>configuration %" PRIu64 "</span><span>%d threads</span>", up,
			 s->gen, s->threads);
	if (s->refresh_s)
		rc |= buf_printf(b, "<span>refreshes every %us</span>", s->refresh_s);
	if (s->last_reload_time && !s->last_reload_ok) {
		rc |= buf_printf(b, "<span class=\"bad\">last reload refused (%" PRIu64 " refused so far): ",
				 s->reload_failures);
		rc |= stats_html_escape(b, s->last_reload_error ? s->last_reload_error : "");
		rc |= buf_append_str(b, "</span>");
	}
	rc |= buf_append_str(b, "<span><a href=\"stats.json\">stats.json</a> &middot; <a href=\"metrics\">metrics</a>"
				"</span></p>\n");
	for (i = 0; i < s->nli && rc == 0; i++) {
		const struct stats_listener *li = &s->li[i];

		fmt_bytes(in, sizeof(in), li->bytes_in);
		fmt_bytes(out, sizeof(out), li->bytes_out);
		rc |= buf_append_str(b, "<section class=\"listener\" id=\"li-");
		rc |= stats_html_escape(b, li->name);
		rc |= buf_append_str(b, "\"><h2>");
		rc |= stats_html_escape(b, li->name);
		rc |= buf_append_str(b, " <span class=\"small\">on <code>");
		rc |= stats_html_escape(b, li->bind);
		rc |= buf_append_str(b, "</code>, balance source, ");
		rc |= stats_html_escape(b, li->hash);
		rc |= buf_printf(b,
				 "%s</span></h2>\n<p class=\"meta\"><span>%u active and %u backup servers usable</span>"
				 "<span>connections %" PRIu64 " now / %" PRIu64 " total (max %d)</span>"
				 "<span>no server: %" PRIu64 "</span><span>in %s, out %s</span></p>\n",
				 li->allbackups ? ", allbackups" : "", li->active, li->backup, li->conn_cur, li->conn_total,
				 li->maxconn, li->conn_noserver, in, out);
		rc |= buf_append_str(b, "<table><thead><tr><th>server</th><th>address</th><th>status</th><th>since</th>"
					"<th>weight</th><th>backup</th><th>last check</th><th>latency</th>"
					"<th>checked</th><th>conns now / total</th><th>conn errors</th><th>bytes in</th>"
					"<th>bytes out</th><th>downs / ups</th></tr></thead><tbody>\n");
		for (k = 0; k < li->nsrv && rc == 0; k++)
			rc |= html_server_row(b, &li->srv[k]);
		rc |= buf_append_str(b, "</tbody></table></section>\n");
	}
	if (s->nli == 0)
		rc |= buf_append_str(b, "<p>No listeners are configured.</p>\n");
	rc |= buf_append_str(b, "</body></html>\n");
	return rc ? -1 : 0;
}
