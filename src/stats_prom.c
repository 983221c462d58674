/*
 * stats_prom: the Prometheus text rendering of a stats snapshot (/metrics, see stats.h). Most families
 * are rows of one table (a name, a help text, which value, an optional label) printed by one loop; the
 * check-status, duration-histogram and delay families have their own shapes.
 * Reference: Prometheus "Exposition formats" (text format 0.0.4).
 */
#include "api.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "stats.h"

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

/* Which value of a listener or a server a family prints. */
enum prom_value {
	PV_LI_CONN_CUR = 0,
	PV_LI_CONN_TOTAL,
	PV_LI_NOSERVER,
	PV_LI_RETRIES,
	PV_LI_PROXY_ERRORS,
	PV_LI_REDISPATCHES,
	PV_LI_BYTES_IN,
	PV_LI_BYTES_OUT,
	PV_LI_ACTIVE,
	PV_LI_BACKUP,
	PV_SV_UP,
	PV_SV_WEIGHT,
	PV_SV_THROTTLE,
	PV_SV_BACKUP,
	PV_SV_CHECK_STEP,
	PV_SV_PASSED,
	PV_SV_FAILED,
	PV_SV_CONDPASS,
	PV_SV_CONN_CUR,
	PV_SV_CONN_TOTAL,
	PV_SV_CONN_ERRORS,
	PV_SV_RETRIES,
	PV_SV_REDISPATCHES,
	PV_SV_HANA,
	PV_SV_MAXCONN,
	PV_SV_QUEUE_CUR,
	PV_SV_QUEUE_MAX,
	PV_SV_BYTES_IN,
	PV_SV_BYTES_OUT,
	PV_SV_TO_UP,
	PV_SV_TO_DOWN,
};

/* The value itself; signed only for the failed step, whose "none" is -1 (counters never reach 2^63). */
static int64_t prom_value(enum prom_value v, const struct stats_listener *li, const struct stats_server *sv)
{
	switch (v) {
	case PV_LI_CONN_CUR:
		return (int64_t)li->conn_cur;
	case PV_LI_CONN_TOTAL:
		return (int64_t)li->conn_total;
	case PV_LI_NOSERVER:
		return (int64_t)li->conn_noserver;
	case PV_LI_RETRIES:
		return (int64_t)li->retries;
	case PV_LI_PROXY_ERRORS:
		return (int64_t)li->proxy_errors;
	case PV_LI_REDISPATCHES:
		return (int64_t)li->redispatches;
	case PV_LI_BYTES_IN:
		return (int64_t)li->bytes_in;
	case PV_LI_BYTES_OUT:
		return (int64_t)li->bytes_out;
	case PV_LI_ACTIVE:
		return li->active;
	case PV_LI_BACKUP:
		return li->backup;
	case PV_SV_UP:
		return sv->up ? 1 : 0;
	case PV_SV_WEIGHT:
		return sv->weight;
	case PV_SV_THROTTLE:
		return sv->throttle > 0 ? sv->throttle : 100;
	case PV_SV_BACKUP:
		return sv->backup ? 1 : 0;
	case PV_SV_CHECK_STEP:
		return sv->check.ran && sv->check.step >= 0 ? sv->check.step : -1;
	case PV_SV_PASSED:
		return (int64_t)sv->check.passed;
	case PV_SV_FAILED:
		return (int64_t)sv->check.failed;
	case PV_SV_CONDPASS:
		return (int64_t)sv->check.condpass;
	case PV_SV_CONN_CUR:
		return (int64_t)sv->conn_cur;
	case PV_SV_CONN_TOTAL:
		return (int64_t)sv->conn_total;
	case PV_SV_CONN_ERRORS:
		return (int64_t)sv->conn_errors;
	case PV_SV_RETRIES:
		return (int64_t)sv->retries;
	case PV_SV_REDISPATCHES:
		return (int64_t)sv->redispatches;
	case PV_SV_HANA:
		return (int64_t)sv->failed_hana;
	case PV_SV_MAXCONN:
		return sv->maxconn;
	case PV_SV_QUEUE_CUR:
		return sv->queue_cur;
	case PV_SV_QUEUE_MAX:
		return sv->queue_max;
	case PV_SV_BYTES_IN:
		return (int64_t)sv->bytes_in;
	case PV_SV_BYTES_OUT:
		return (int64_t)sv->bytes_out;
	case PV_SV_TO_UP:
		return (int64_t)sv->to_up;
	case PV_SV_TO_DOWN:
		return (int64_t)sv->to_down;
	}
	return 0;
}

/* A metric family: one sample per listener (per_server false) or per server, or, with label set, one
 * sample per value of that label (at most three: direction in/out, group active/backup, result ...). */
struct prom_family {
	const char *name, *type, *help;
	bool per_server;
	bool checked;           /* only servers that are checked */
	const char *label;      /* the extra label's name, or NULL for one unlabelled sample */
	struct {
		const char *label_value;
		enum prom_value v;
	} val[3];
};

static int prom_sample(struct buf *b, const struct prom_family *f, const struct stats_listener *li,
		       const struct stats_server *sv)
{
	size_t j;
	int rc = 0;

	for (j = 0; j < ARRAY_SIZE(f->val) && rc == 0; j++) {
		if (j > 0 && !f->val[j].label_value)
			break;
		rc |= prom_labels(b, f->name, li->name, sv ? sv->name : NULL, f->label, f->val[j].label_value);
		rc |= buf_printf(b, "%" PRId64 "\n", prom_value(f->val[j].v, li, sv));
	}
	return rc ? -1 : 0;
}

static int prom_families(struct buf *b, const struct stats_snapshot *s, const struct prom_family *f, size_t n)
{
	size_t x, i, k;
	int rc = 0;

	for (x = 0; x < n && rc == 0; x++, f++) {
		rc = prom_head(b, f->name, f->type, f->help);
		for (i = 0; i < s->nli && rc == 0; i++) {
			if (!f->per_server) {
				rc = prom_sample(b, f, &s->li[i], NULL);
				continue;
			}
			for (k = 0; k < s->li[i].nsrv && rc == 0; k++)
				if (!f->checked || s->li[i].srv[k].check.enabled)
					rc = prom_sample(b, f, &s->li[i], &s->li[i].srv[k]);
		}
	}
	return rc;
}

static const struct prom_family prom_listener_families[] = {
	{"recheck_listener_connections_current", "gauge", "Client connections open now.", false, false, NULL,
	 {{NULL, PV_LI_CONN_CUR}}},
	{"recheck_listener_connections_total", "counter", "Client connections accepted.", false, false, NULL,
	 {{NULL, PV_LI_CONN_TOTAL}}},
	{"recheck_listener_no_server_total", "counter", "Client connections closed at once because no server was usable.",
	 false, false, NULL, {{NULL, PV_LI_NOSERVER}}},
	{"recheck_listener_retries_total", "counter",
	 "Connect attempts retried on the same server after a failure (HAProxy backend wretr).", false, false, NULL,
	 {{NULL, PV_LI_RETRIES}}},
	{"recheck_listener_proxy_errors_total", "counter",
	 "Clients closed for a malformed, truncated or late PROXY protocol header (accept_proxy).", false, false, NULL,
	 {{NULL, PV_LI_PROXY_ERRORS}}},
	{"recheck_listener_redispatches_total", "counter",
	 "Sessions moved to another server after a failed connect (HAProxy backend wredis).", false, false, NULL,
	 {{NULL, PV_LI_REDISPATCHES}}},
	{"recheck_listener_bytes_total", "counter",
	 "Bytes relayed by a listener (in: client to server, out: server to client).", false, false, "direction",
	 {{"in", PV_LI_BYTES_IN}, {"out", PV_LI_BYTES_OUT}}},
	{"recheck_listener_servers_usable", "gauge", "Servers in the balancer's table (group: active or backup).", false,
	 false, "group", {{"active", PV_LI_ACTIVE}, {"backup", PV_LI_BACKUP}}},
	{"recheck_server_up", "gauge", "1 when the server is UP (may be picked), else 0.", true, false, NULL,
	 {{NULL, PV_SV_UP}}},
	{"recheck_server_weight", "gauge",
	 "Effective weight (HAProxy's weight column): the current weight, ramping during a slowstart.", true, false, NULL,
	 {{NULL, PV_SV_WEIGHT}}},
	{"recheck_server_throttle_percent", "gauge",
	 "Slowstart: percent of the full weight a warming server has now; 100 when not warming.", true, false, NULL,
	 {{NULL, PV_SV_THROTTLE}}},
	{"recheck_server_backup", "gauge", "1 for a backup server.", true, false, NULL, {{NULL, PV_SV_BACKUP}}},
	{"recheck_server_check_failed_step", "gauge",
	 "Step (HAProxy numbering, 0 = implicit connect) at which the last check failed; -1 when it passed or none ran.",
	 true, false, NULL, {{NULL, PV_SV_CHECK_STEP}}},
};

static const struct prom_family prom_check_families[] = {
	{"recheck_checks_total", "counter", "Health checks concluded, by result (passed, failed, condpass).", true, true,
	 "result", {{"passed", PV_SV_PASSED}, {"failed", PV_SV_FAILED}, {"condpass", PV_SV_CONDPASS}}},
};

static const struct prom_family prom_server_families[] = {
	{"recheck_server_connections_current", "gauge", "Sessions open to the server now.", true, false, NULL,
	 {{NULL, PV_SV_CONN_CUR}}},
	{"recheck_server_connections_total", "counter", "Sessions sent to the server (including failed connects).", true,
	 false, NULL, {{NULL, PV_SV_CONN_TOTAL}}},
	{"recheck_server_connection_errors_total", "counter",
	 "Sessions whose last connect attempt, to this server, failed or timed out (HAProxy econ).", true, false, NULL,
	 {{NULL, PV_SV_CONN_ERRORS}}},
	{"recheck_server_retries_total", "counter",
	 "Connect attempts retried on this server after a failure (HAProxy wretr).", true, false, NULL,
	 {{NULL, PV_SV_RETRIES}}},
	{"recheck_server_redispatches_total", "counter",
	 "Sessions moved from this server to another after a failed connect (HAProxy wredis).", true, false, NULL,
	 {{NULL, PV_SV_REDISPATCHES}}},
	{"recheck_server_passive_health_triggers_total", "counter",
	 "Times error_limit consecutive connect errors applied on_error (HAProxy hanafail).", true, false, NULL,
	 {{NULL, PV_SV_HANA}}},
	{"recheck_server_maxconn", "gauge", "The server's maxconn: sessions beyond it wait in its queue (0: no limit).", true,
	 false, NULL, {{NULL, PV_SV_MAXCONN}}},
	{"recheck_server_queue_current", "gauge", "Sessions waiting for a slot of the server now (HAProxy qcur).", true,
	 false, NULL, {{NULL, PV_SV_QUEUE_CUR}}},
	{"recheck_server_queue_max", "gauge", "The most sessions ever waiting for a slot of the server (HAProxy qmax).",
	 true, false, NULL, {{NULL, PV_SV_QUEUE_MAX}}},
	{"recheck_server_bytes_total", "counter",
	 "Bytes relayed through the server (in: client to server, out: server to client).", true, false, "direction",
	 {{"in", PV_SV_BYTES_IN}, {"out", PV_SV_BYTES_OUT}}},
	{"recheck_server_transitions_total", "counter", "Server state changes, by new state (up, down).", true, false,
	 "to", {{"up", PV_SV_TO_UP}, {"down", PV_SV_TO_DOWN}}},
};

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

	if (rc)
		return -1;
	rc |= prom_families(b, s, prom_listener_families, ARRAY_SIZE(prom_listener_families));
	/* the status is the label, so that a dashboard can show it; the value is always 1 */
	rc |= prom_head(b, "recheck_server_check_status", "gauge",
			"The last check's status (L7OK, L4CON, L7RSP, ...) as a label; always 1.");
	for (i = 0; i < s->nli && rc == 0; i++)
		for (k = 0; k < s->li[i].nsrv && rc == 0; k++)
			if (s->li[i].srv[k].check.enabled)
				rc |= prom_u(b, "recheck_server_check_status", s->li[i].name, s->li[i].srv[k].name, "status",
					     s->li[i].srv[k].check.status, 1);
	rc |= prom_families(b, s, prom_check_families, ARRAY_SIZE(prom_check_families));
	rc |= prom_histograms(b, s);
	rc |= prom_delays(b, s);
	rc |= prom_families(b, s, prom_server_families, ARRAY_SIZE(prom_server_families));
	return rc ? -1 : 0;
}

