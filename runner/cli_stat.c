/*
 * cli_stat: `show stat`, HAProxy 2.6's CSV (management.txt §9.1): the same header, the same column order,
 * a FRONTEND row, a row per server and a BACKEND row per listener. A field recheckd has no value for is
 * empty, as HAProxy leaves the fields that do not apply. The rows stream one listener at a time (cli.h).
 */
#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "daemon.h"
#include "health.h"
#include "lb.h"
#include "server.h"
#include "util.h"

/* HAProxy 2.6.12's header, verbatim (the columns are positional: scripts index them). */
static const char header[] =
	"# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,"
	"act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,"
	"check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,"
	"req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,"
	"qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,"
	"check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,"
	"intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,"
	"rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,"
	"agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,"
	"h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,"
	"h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,"
	"h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,"
	"h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,\n";

#define NCOLS 128
#define CELL  96

struct row {
	char v[NCOLS][CELL];
};

static int ncols;
static const char *colnames[NCOLS];
static char colbuf[sizeof(header)];

static void init_cols(void)
{
	char *p, *save = NULL;

	if (ncols)
		return;
	memcpy(colbuf, header + 2, sizeof(header) - 2);
	for (p = strtok_r(colbuf, ",\n", &save); p && ncols < NCOLS; p = strtok_r(NULL, ",\n", &save))
		colnames[ncols++] = p;
}

static void set(struct row *r, const char *col, const char *fmt, ...) PRINTF_FMT(3, 4);

static void set(struct row *r, const char *col, const char *fmt, ...)
{
	va_list ap;
	int i;

	for (i = 0; i < ncols; i++) {
		if (strcmp(colnames[i], col) != 0)
			continue;
		va_start(ap, fmt);
		vsnprintf(r->v[i], CELL, fmt, ap);
		va_end(ap);
		/* a CSV cell never carries the separator */
		for (char *c = r->v[i]; *c; c++)
			if (*c == ',' || *c == '\n')
				*c = ' ';
		return;
	}
	BUG_ON(1); /* a column name this file misspelt */
}

static void emit(struct row *r, struct buf *out)
{
	int i;

	for (i = 0; i < ncols; i++)
		buf_printf(out, "%s,", r->v[i]);
	buf_append_str(out, "\n");
	memset(r->v, 0, sizeof(r->v));
}

static uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void common(struct row *r, const struct listener *li, size_t idx, const char *sv, int type)
{
	set(r, "pxname", "%s", li->name);
	set(r, "svname", "%s", sv);
	set(r, "pid", "1");
	set(r, "iid", "%zu", idx + 1);
	set(r, "type", "%d", type);
	set(r, "mode", "tcp");
}

static void server_row(struct row *r, const struct listener *li, size_t idx, const struct rserver *s)
{
	const struct health *h = s->health;
	char st[32];

	common(r, li, idx, s->srv.name, 2);
	set(r, "qcur", "%u", srvq_len(&s->q));
	set(r, "qmax", "%u", srvq_max(&s->q));
	if (__atomic_load_n(&s->maxconn, __ATOMIC_RELAXED))
		set(r, "slim", "%u", __atomic_load_n(&s->maxconn, __ATOMIC_RELAXED));
	if (__atomic_load_n(&s->maxqueue, __ATOMIC_RELAXED))
		set(r, "qlimit", "%u", __atomic_load_n(&s->maxqueue, __ATOMIC_RELAXED));
	set(r, "qtime", "%u", daemon_qtime_avg(__atomic_load_n(&s->qtime_sum, __ATOMIC_RELAXED), ld(&s->lb_total)));
	set(r, "qtime_max", "%u", __atomic_load_n(&s->qtime_max, __ATOMIC_RELAXED));
	set(r, "scur", "%llu", (unsigned long long)srvq_cur(&s->q));
	set(r, "stot", "%llu", (unsigned long long)ld(&s->conn_total));
	set(r, "bin", "%llu", (unsigned long long)ld(&s->bytes.c2s));
	set(r, "bout", "%llu", (unsigned long long)ld(&s->bytes.s2c));
	set(r, "econ", "%llu", (unsigned long long)ld(&s->conn_errors));
	set(r, "eresp", "0");
	set(r, "wretr", "%llu", (unsigned long long)ld(&s->retries));
	set(r, "wredis", "%llu", (unsigned long long)ld(&s->redispatches));
	set(r, "status", "%s", server_status_str(&s->srv, st, sizeof(st)));
	set(r, "weight", "%u", server_eweight_shown(&s->srv, li->conf->hash == CONF_HASH_CONSISTENT));
	if (server_throttle(&s->srv, li->conf->hash == CONF_HASH_CONSISTENT) >= 0)
		set(r, "throttle", "%d", server_throttle(&s->srv, li->conf->hash == CONF_HASH_CONSISTENT));
	set(r, "act", "%d", s->srv.backup ? 0 : 1);
	set(r, "bck", "%d", s->srv.backup ? 1 : 0);
	if (s->srv.check.enabled) {
		set(r, "chkfail", "%llu", (unsigned long long)s->srv.chkfail);
		set(r, "chkdown", "%llu", (unsigned long long)s->srv.chkdown);
		set(r, "check_rise", "%d", s->srv.check.rise);
		set(r, "check_fall", "%d", s->srv.check.fall);
		set(r, "check_health", "%d", s->srv.health);
		if (__atomic_load_n(&s->observe_limit, __ATOMIC_RELAXED))
			set(r, "hanafail", "%llu", (unsigned long long)s->failed_hana);
	}
	if (s->srv.last_change_ms) {
		uint64_t now = now_ms();

		set(r, "lastchg", "%llu", (unsigned long long)(now > s->srv.last_change_ms ?
							      (now - s->srv.last_change_ms) / 1000 : 0));
	}
	set(r, "sid", "%u", s->srv.puid);
	set(r, "lbtot", "%llu", (unsigned long long)ld(&s->lb_total));
	set(r, "cli_abrt", "0");
	set(r, "srv_abrt", "0");
	if (h && h->ran) {
		set(r, "check_status", "%s%s", h->running ? "* " : "", check_status_str(h->status));
		set(r, "check_duration", "%llu", (unsigned long long)h->dur_ms);
		set(r, "check_desc", "%s", check_status_desc(h->status));
	}
	set(r, "addr", "%s", s->address);
	set(r, "uweight", "%u", s->srv.weight);
}

static void listener_rows(struct daemon *d, size_t idx, struct row *r, struct buf *out)
{
	struct listener *li = d->gen->li[idx];
	unsigned act = 0, bck = 0, w = 0, uw = 0;
	bool dyn = li->conf->hash == CONF_HASH_CONSISTENT;
	uint64_t gen, cur, tot;
	size_t k;

	cur = (uint64_t)__atomic_load_n(&li->conn_cur, __ATOMIC_RELAXED);
	tot = ld(&li->conn_total);
	common(r, li, idx, "FRONTEND", 0);
	set(r, "scur", "%llu", (unsigned long long)cur);
	set(r, "slim", "%d", li->maxconn);
	set(r, "stot", "%llu", (unsigned long long)tot);
	set(r, "bin", "%llu", (unsigned long long)ld(&li->bytes.c2s));
	set(r, "bout", "%llu", (unsigned long long)ld(&li->bytes.s2c));
	set(r, "dreq", "0");
	set(r, "dresp", "0");
	set(r, "ereq", "0");
	set(r, "status", "%s", d->draining ? "STOP" : "OPEN");
	set(r, "sid", "0");
	set(r, "conn_tot", "%llu", (unsigned long long)tot);
	emit(r, out);
	for (k = 0; k < li->nsrv; k++) {
		server_row(r, li, idx, li->srv[k]);
		emit(r, out);
		if (server_usable(&li->srv[k]->srv) && !li->srv[k]->srv.backup) {
			/* lbprm.tot_weight: the effective weights (a warming server's ramp included) */
			w += dyn ? server_chash_points(&li->srv[k]->srv) : li->srv[k]->srv.weight;
			uw += li->srv[k]->srv.weight;
		}
	}
	if (dyn)
		w = (w + SERVER_WARM_SCALE - 1) / SERVER_WARM_SCALE;
	lb_counts(li->lb, &act, &bck, &gen);
	common(r, li, idx, "BACKEND", 1);
	/* the backend's own queue, which `balance source` never uses: its sessions wait at their server */
	set(r, "qcur", "0");
	set(r, "qmax", "0");
	set(r, "qtime", "%u", daemon_qtime_avg(__atomic_load_n(&li->qtime_sum, __ATOMIC_RELAXED), ld(&li->lb_total)));
	set(r, "qtime_max", "%u", __atomic_load_n(&li->qtime_max, __ATOMIC_RELAXED));
	set(r, "scur", "%llu", (unsigned long long)cur);
	set(r, "stot", "%llu", (unsigned long long)tot);
	set(r, "bin", "%llu", (unsigned long long)ld(&li->bytes.c2s));
	set(r, "bout", "%llu", (unsigned long long)ld(&li->bytes.s2c));
	set(r, "econ", "%llu", (unsigned long long)ld(&li->conn_errors));
	set(r, "wretr", "%llu", (unsigned long long)ld(&li->retries_total));
	set(r, "wredis", "%llu", (unsigned long long)ld(&li->redispatches));
	set(r, "status", "%s", act + bck ? "UP" : "DOWN");
	set(r, "weight", "%u", w);
	set(r, "act", "%u", act);
	set(r, "bck", "%u", bck);
	set(r, "sid", "0");
	set(r, "lbtot", "%llu", (unsigned long long)ld(&li->lb_total));
	set(r, "algo", "source");
	set(r, "uweight", "%u", uw);
	emit(r, out);
}

bool cli_show_stat(struct daemon *d, char **argv, int argc, struct buf *out);
void cli_show_stat_part(struct daemon *d, size_t idx, const char *only, struct buf *out);

/* The header; the rows follow one listener per part (cli_cmd.c streams them). */
bool cli_show_stat(struct daemon *d, char **argv, int argc, struct buf *out)
{
	(void)d;
	(void)argv;
	(void)argc;
	init_cols();
	buf_append_str(out, header);
	return true;
}

void cli_show_stat_part(struct daemon *d, size_t idx, const char *only, struct buf *out)
{
	static struct row r; /* main thread only; 12 KB is better off the stack */

	(void)only; /* `show stat` takes no filter here */
	memset(&r, 0, sizeof(r));
	listener_rows(d, idx, &r, out);
}
