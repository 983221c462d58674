/*
 * stats: HTML, JSON and Prometheus renderings of a stats snapshot (see stats.h).
 * References: Prometheus "Exposition formats" (text format 0.0.4); RFC 8259 (JSON); HTML Living
 * Standard §13.1.2 (escaping text and attribute values).
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

int stats_html_escape(struct buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = s ? strlen(s) : 0, i = 0, l;
	int rc = 0;

	while (i < n && rc == 0) {
		switch (p[i]) {
		case '&':
			rc = buf_append_str(out, "&amp;");
			break;
		case '<':
			rc = buf_append_str(out, "&lt;");
			break;
		case '>':
			rc = buf_append_str(out, "&gt;");
			break;
		case '"':
			rc = buf_append_str(out, "&quot;");
			break;
		case '\'':
			rc = buf_append_str(out, "&#39;");
			break;
		default:
			if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n') {
				rc = buf_append_str(out, "\xEF\xBF\xBD");
				break;
			}
			l = utf8_len(p + i, n - i);
			if (l == 0) {
				rc = buf_append_str(out, "\xEF\xBF\xBD");
				break;
			}
			rc = buf_append(out, p + i, l);
			i += l;
			continue;
		}
		i++;
	}
	return rc;
}

int stats_json_str(struct buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, i = 0, l;
	int rc;

	if (!s)
		return buf_append_str(out, "null");
	n = strlen(s);
	rc = buf_putc(out, '"');
	while (i < n && rc == 0) {
		switch (p[i]) {
		case '"':
			rc = buf_append_str(out, "\\\"");
			break;
		case '\\':
			rc = buf_append_str(out, "\\\\");
			break;
		case '\n':
			rc = buf_append_str(out, "\\n");
			break;
		case '\r':
			rc = buf_append_str(out, "\\r");
			break;
		case '\t':
			rc = buf_append_str(out, "\\t");
			break;
		default:
			if (p[i] < 0x20 || p[i] == 0x7F) {
				rc = buf_printf(out, "\\u%04x", p[i]);
				break;
			}
			/* "</" would end a <script> if the JSON were ever inlined into a page */
			if (p[i] == '<') {
				rc = buf_append_str(out, "\\u003c");
				break;
			}
			l = utf8_len(p + i, n - i);
			if (l == 0) {
				rc = buf_append_str(out, "\\ufffd");
				break;
			}
			rc = buf_append(out, p + i, l);
			i += l;
			continue;
		}
		i++;
	}
	return rc == 0 ? buf_putc(out, '"') : rc;
}

int stats_prom_label(struct buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n = s ? strlen(s) : 0, l;
	int rc = 0;

	while (i < n && rc == 0) {
		switch (p[i]) {
		case '\\':
			rc = buf_append_str(out, "\\\\");
			break;
		case '"':
			rc = buf_append_str(out, "\\\"");
			break;
		case '\n':
			rc = buf_append_str(out, "\\n");
			break;
		default:
			/* label values are UTF-8: an invalid byte becomes U+FFFD */
			l = utf8_len(p + i, n - i);
			if (l == 0) {
				rc = buf_append_str(out, "\xEF\xBF\xBD");
				break;
			}
			rc = buf_append(out, p + i, l);
			i += l;
			continue;
		}
		i++;
	}
	return rc;
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
		rc |= jnum(b, "proxy_errors", li->proxy_errors, false);
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

/* ---- Prometheus ----------------------------------------------------------------------------------- */

static int prom_head(struct buf *b, const char *name, const char *type, const char *help)
{
	return buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{listener="..",server=".."[,extra]} */
static int prom_labels(struct buf *b, const char *metric, const char *li, const char *srv, const char *extra_k,
		       const char *extra_v)
{
	int rc = 0;

	rc |= buf_printf(b, "%s{listener=\"", metric);
	rc |= stats_prom_label(b, li);
	rc |= buf_putc(b, '"');
	if (srv) {
		rc |= buf_append_str(b, ",server=\"");
		rc |= stats_prom_label(b, srv);
		rc |= buf_putc(b, '"');
	}
	if (extra_k) {
		rc |= buf_printf(b, ",%s=\"", extra_k);
		rc |= stats_prom_label(b, extra_v);
		rc |= buf_putc(b, '"');
	}
	rc |= buf_append_str(b, "} ");
	return rc ? -1 : 0;
}

static int prom_u(struct buf *b, const char *metric, const char *li, const char *srv, const char *ek, const char *ev,
		  uint64_t v)
{
	if (prom_labels(b, metric, li, srv, ek, ev) == -1)
		return -1;
	return buf_printf(b, "%" PRIu64 "\n", v);
}

/* Which per-server value a family prints. */
enum srv_metric {
	SM_UP = 0,
	SM_WEIGHT,
	SM_BACKUP,
	SM_CHECK_STEP,
	SM_CONN_CUR,
	SM_CONN_TOTAL,
	SM_CONN_ERRORS,
	SM_RETRIES,
	SM_REDISPATCHES,
	SM_HANA,
};

static int prom_server_family(struct buf *b, const struct stats_snapshot *s, const char *name, const char *type,
			      const char *help, enum srv_metric m)
{
	size_t i, k;
	int rc = prom_head(b, name, type, help);

	for (i = 0; i < s->nli && rc == 0; i++) {
		for (k = 0; k < s->li[i].nsrv && rc == 0; k++) {
			const struct stats_server *sv = &s->li[i].srv[k];

			rc = prom_labels(b, name, s->li[i].name, sv->name, NULL, NULL);
			if (rc)
				break;
			switch (m) {
			case SM_UP:
				rc = buf_printf(b, "%d\n", sv->up ? 1 : 0);
				break;
			case SM_WEIGHT:
				rc = buf_printf(b, "%u\n", sv->weight);
				break;
			case SM_BACKUP:
				rc = buf_printf(b, "%d\n", sv->backup ? 1 : 0);
				break;
			case SM_CHECK_STEP:
				rc = buf_printf(b, "%d\n", sv->check.ran && sv->check.step >= 0 ? sv->check.step : -1);
				break;
			case SM_CONN_CUR:
				rc = buf_printf(b, "%" PRIu64 "\n", sv->conn_cur);
				break;
			case SM_CONN_TOTAL:
				rc = buf_printf(b, "%" PRIu64 "\n", sv->conn_total);
				break;
			case SM_CONN_ERRORS:
				rc = buf_printf(b, "%" PRIu64 "\n", sv->conn_errors);
				break;
			case SM_RETRIES:
				rc = buf_printf(b, "%" PRIu64 "\n", sv->retries);
				break;
			case SM_REDISPATCHES:
				rc = buf_printf(b, "%" PRIu64 "\n", sv->redispatches);
				break;
			case SM_HANA:
				rc = buf_printf(b, "%" PRIu64 "\n", sv->failed_hana);
				break;
			}
		}
	}
	return rc;
}

/* The last check's delay split (connect, tls, first_byte, total): phases not reached are left out. */
static int prom_delays(struct buf *b, const struct stats_snapshot *s)
{
	static const char name[] = "recheck_check_delay_seconds";
	size_t i, k, p;
	int rc;

	rc = prom_head(b, name, "gauge", "The last check's delay by phase (connect, tls, first_byte, total).");
	for (i = 0; i < s->nli && rc == 0; i++) {
		for (k = 0; k < s->li[i].nsrv && rc == 0; k++) {
			const struct stats_check *c = &s->li[i].srv[k].check;
			const struct {
				const char *phase;
				int64_t us;
			} ph[] = {{"connect", c->connect_us}, {"tls", c->tls_us}, {"first_byte", c->ttfb_us},
				  {"total", (int64_t)c->duration_ms * 1000}};

			if (!c->enabled || !c->ran)
				continue;
			for (p = 0; p < ARRAY_SIZE(ph) && rc == 0; p++) {
				if (ph[p].us < 0)
					continue;
				rc |= prom_labels(b, name, s->li[i].name, s->li[i].srv[k].name, "phase", ph[p].phase);
				rc |= buf_printf(b, "%.6f\n", (double)ph[p].us / 1e6);
			}
		}
	}
	return rc ? -1 : 0;
}

static int prom_histograms(struct buf *b, const struct stats_snapshot *s)
{
	static const char name[] = "recheck_check_duration_seconds";
	size_t i, k;
	int j, rc;

	rc = prom_head(b, name, "histogram", "Duration of health checks (connect to verdict).");
	for (i = 0; i < s->nli && rc == 0; i++) {
		for (k = 0; k < s->li[i].nsrv && rc == 0; k++) {
			const struct stats_server *sv = &s->li[i].srv[k];
			const struct stats_check *c = &sv->check;
			uint64_t cum = 0;
			char le[32];

			if (!c->enabled)
				continue;
			for (j = 0; j <= STATS_DUR_BUCKETS && rc == 0; j++) {
				cum += c->dur_buckets[j];
				if (j < STATS_DUR_BUCKETS)
					snprintf(le, sizeof(le), "%g", stats_dur_bounds[j]);
				else
					snprintf(le, sizeof(le), "+Inf");
				rc = prom_u(b, "recheck_check_duration_seconds_bucket", s->li[i].name, sv->name, "le", le,
					    cum);
			}
			rc |= prom_labels(b, "recheck_check_duration_seconds_sum", s->li[i].name, sv->name, NULL, NULL);
			rc |= buf_printf(b, "%.6f\n", c->dur_sum);
			rc |= prom_u(b, "recheck_check_duration_seconds_count", s->li[i].name, sv->name, NULL, NULL,
				     c->dur_count);
		}
	}
	return rc ? -1 : 0;
}

int stats_render_prometheus(const struct stats_snapshot *s, struct buf *b)
{
	size_t i, k;
	int rc = 0;

	rc |= prom_head(b, "recheck_info", "gauge", "recheckd version and configuration generation.");
	rc |= buf_append_str(b, "recheck_info{version=\"");
	rc |= stats_prom_label(b, s->version);
	rc |= buf_printf(b, "\",generation=\"%" PRIu64 "\"} 1\n", s->gen);
	rc |= prom_head(b, "recheck_uptime_seconds", "gauge", "Seconds since recheckd started.");
	rc |= buf_printf(b, "recheck_uptime_seconds %.3f\n", (double)s->uptime_ms / 1000.0);
	if (s->workers) {
		rc |= prom_head(b, "recheck_worker_sessions", "gauge", "Sessions a worker thread relays now.");
		for (i = 0; i < (size_t)s->threads; i++)
			rc |= buf_printf(b, "recheck_worker_sessions{thread=\"%zu\"} %" PRIu64 "\n", i,
					 s->workers[i].sessions);
		rc |= prom_head(b, "recheck_worker_handed_over_total", "counter",
				"Accepted connections a worker gave to a less loaded worker.");
		for (i = 0; i < (size_t)s->threads; i++)
			rc |= buf_printf(b, "recheck_worker_handed_over_total{thread=\"%zu\"} %" PRIu64 "\n", i,
					 s->workers[i].handed_over);
	}
	rc |= prom_head(b, "recheck_reloads_total", "counter", "SIGHUP reloads accepted.");
	rc |= buf_printf(b, "recheck_reloads_total %" PRIu64 "\n", s->reloads);
	rc |= prom_head(b, "recheck_reload_failures_total", "counter",
			"SIGHUP reloads refused (the running configuration stayed).");
	rc |= buf_printf(b, "recheck_reload_failures_total %" PRIu64 "\n", s->reload_failures);
	rc |= prom_head(b, "recheck_last_reload_timestamp_seconds", "gauge",
			"Unix time of the last reload attempt (0: none).");
	rc |= buf_printf(b, "recheck_last_reload_timestamp_seconds %" PRId64 "\n", s->last_reload_time);
	rc |= prom_head(b, "recheck_last_reload_success", "gauge", "1 when the last reload was accepted (or none came).");
	rc |= buf_printf(b, "recheck_last_reload_success %d\n", !s->last_reload_time || s->last_reload_ok);
	rc |= prom_head(b, "recheck_log_dropped_total", "counter",
			"Connection log lines dropped because the log socket was full.");
	rc |= buf_printf(b, "recheck_log_dropped_total %" PRIu64 "\n", s->log_dropped);

	rc |= prom_head(b, "recheck_listener_connections_current", "gauge", "Client connections open now.");
	for (i = 0; i < s->nli; i++)
		rc |= prom_u(b, "recheck_listener_connections_current", s->li[i].name, NULL, NULL, NULL,
			     s->li[i].conn_cur);
	rc |= prom_head(b, "recheck_listener_connections_total", "counter", "Client connections accepted.");
	for (i = 0; i < s->nli; i++)
		rc |= prom_u(b, "recheck_listener_connections_total", s->li[i].name, NULL, NULL, NULL,
			     s->li[i].conn_total);
	rc |= prom_head(b, "recheck_listener_no_server_total", "counter",
			"Client connections closed at once because no server was usable.");
	for (i = 0; i < s->nli; i++)
		rc |= prom_u(b, "recheck_listener_no_server_total", s->li[i].name, NULL, NULL, NULL,
			     s->li[i].conn_noserver);
	rc |= prom_head(b, "recheck_listener_retries_total", "counter",
			"Connect attempts retried on the same server after a failure (HAProxy backend wretr).");
	for (i = 0; i < s->nli; i++)
		rc |= prom_u(b, "recheck_listener_retries_total", s->li[i].name, NULL, NULL, NULL, s->li[i].retries);
	rc |= prom_head(b, "recheck_listener_proxy_errors_total", "counter",
			"Clients closed for a malformed, truncated or late PROXY protocol header (accept_proxy).");
	for (i = 0; i < s->nli; i++)
		rc |= prom_u(b, "recheck_listener_proxy_errors_total", s->li[i].name, NULL, NULL, NULL,
			     s->li[i].proxy_errors);
	rc |= prom_head(b, "recheck_listener_redispatches_total", "counter",
			"Sessions moved to another server after a failed connect (HAProxy backend wredis).");
	for (i = 0; i < s->nli; i++)
		rc |= prom_u(b, "recheck_listener_redispatches_total", s->li[i].name, NULL, NULL, NULL,
			     s->li[i].redispatches);
	rc |= prom_head(b, "recheck_listener_bytes_total", "counter",
			"Bytes relayed by a listener (in: client to server, out: server to client).");
	for (i = 0; i < s->nli; i++) {
		rc |= prom_u(b, "recheck_listener_bytes_total", s->li[i].name, NULL, "direction", "in", s->li[i].bytes_in);
		rc |= prom_u(b, "recheck_listener_bytes_total", s->li[i].name, NULL, "direction", "out",
			     s->li[i].bytes_out);
	}
	rc |= prom_head(b, "recheck_listener_servers_usable", "gauge",
			"Servers in the balancer's table (group: active or backup).");
	for (i = 0; i < s->nli; i++) {
		rc |= prom_u(b, "recheck_listener_servers_usable", s->li[i].name, NULL, "group", "active", s->li[i].active);
		rc |= prom_u(b, "recheck_listener_servers_usable", s->li[i].name, NULL, "group", "backup", s->li[i].backup);
	}
	if (rc)
		return -1;

	rc |= prom_server_family(b, s, "recheck_server_up", "gauge", "1 when the server is UP (may be picked), else 0.",
				 SM_UP);
	rc |= prom_server_family(b, s, "recheck_server_weight", "gauge", "Configured weight (0..256).", SM_WEIGHT);
	rc |= prom_server_family(b, s, "recheck_server_backup", "gauge", "1 for a backup server.", SM_BACKUP);
	rc |= prom_server_family(b, s, "recheck_server_check_failed_step", "gauge",
				 "Step (HAProxy numbering, 0 = implicit connect) at which the last check failed; -1 when it "
				 "passed or none ran.",
				 SM_CHECK_STEP);

	rc |= prom_head(b, "recheck_server_check_status", "gauge",
			"The last check's status (L7OK, L4CON, L7RSP, ...) as a label; always 1.");
	for (i = 0; i < s->nli && rc == 0; i++)
		for (k = 0; k < s->li[i].nsrv && rc == 0; k++)
			if (s->li[i].srv[k].check.enabled)
				rc |= prom_u(b, "recheck_server_check_status", s->li[i].name, s->li[i].srv[k].name, "status",
					     s->li[i].srv[k].check.status, 1);

	rc |= prom_head(b, "recheck_checks_total", "counter", "Health checks concluded, by result (passed, failed, condpass).");
	for (i = 0; i < s->nli && rc == 0; i++) {
		for (k = 0; k < s->li[i].nsrv && rc == 0; k++) {
			const struct stats_server *sv = &s->li[i].srv[k];

			if (!sv->check.enabled)
				continue;
			rc |= prom_u(b, "recheck_checks_total", s->li[i].name, sv->name, "result", "passed", sv->check.passed);
			rc |= prom_u(b, "recheck_checks_total", s->li[i].name, sv->name, "result", "failed", sv->check.failed);
			rc |= prom_u(b, "recheck_checks_total", s->li[i].name, sv->name, "result", "condpass",
				     sv->check.condpass);
		}
	}
	rc |= prom_histograms(b, s);
	rc |= prom_delays(b, s);

	rc |= prom_server_family(b, s, "recheck_server_connections_current", "gauge", "Sessions open to the server now.",
				 SM_CONN_CUR);
	rc |= prom_server_family(b, s, "recheck_server_connections_total", "counter",
				 "Sessions sent to the server (including failed connects).", SM_CONN_TOTAL);
	rc |= prom_server_family(b, s, "recheck_server_connection_errors_total", "counter",
				 "Sessions whose last connect attempt, to this server, failed or timed out (HAProxy econ).",
				 SM_CONN_ERRORS);
	rc |= prom_server_family(b, s, "recheck_server_retries_total", "counter",
				 "Connect attempts retried on this server after a failure (HAProxy wretr).", SM_RETRIES);
	rc |= prom_server_family(b, s, "recheck_server_redispatches_total", "counter",
				 "Sessions moved from this server to another after a failed connect (HAProxy wredis).",
				 SM_REDISPATCHES);
	rc |= prom_server_family(b, s, "recheck_server_passive_health_triggers_total", "counter",
				 "Times error_limit consecutive connect errors applied on_error (HAProxy hanafail).",
				 SM_HANA);

	rc |= prom_head(b, "recheck_server_bytes_total", "counter",
			"Bytes relayed through the server (in: client to server, out: server to client).");
	for (i = 0; i < s->nli && rc == 0; i++) {
		for (k = 0; k < s->li[i].nsrv && rc == 0; k++) {
			const struct stats_server *sv = &s->li[i].srv[k];

			rc |= prom_u(b, "recheck_server_bytes_total", s->li[i].name, sv->name, "direction", "in", sv->bytes_in);
			rc |= prom_u(b, "recheck_server_bytes_total", s->li[i].name, sv->name, "direction", "out",
				     sv->bytes_out);
		}
	}
	rc |= prom_head(b, "recheck_server_transitions_total", "counter", "Server state changes, by new state (up, down).");
	for (i = 0; i < s->nli && rc == 0; i++) {
		for (k = 0; k < s->li[i].nsrv && rc == 0; k++) {
			const struct stats_server *sv = &s->li[i].srv[k];

			rc |= prom_u(b, "recheck_server_transitions_total", s->li[i].name, sv->name, "to", "up", sv->to_up);
			rc |= prom_u(b, "recheck_server_transitions_total", s->li[i].name, sv->name, "to", "down", sv->to_down);
		}
	}
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
