/*
 * cli_cmd: the runtime API's commands (see cli.h), with HAProxy 2.6's syntax, answers and error lines.
 * Reference: HAProxy doc/management.txt §9.3 (commands) and §9.1 (CSV columns), and the answers of the
 * real 2.6 binary (docs/recheckd.8 documents them).
 */
#include "api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "daemon.h"
#include "ev.h"
#include "health.h"
#include "lb.h"
#include "net.h"
#include "server.h"
#include "util.h"

struct cmd {
	const char *words[4];         /* the command's leading words */
	const char *usage;            /* "name args" as `help` prints it */
	const char *desc;
	void (*run)(struct daemon *d, char **argv, int argc, struct buf *out);
	/*
	 * An answer that streams (cli.h) has no run but these two: start writes its head, or an error line
	 * and returns false (nothing follows); part writes listener idx when its name is only (or only is
	 * NULL). Each part is one listener, so recheckd never holds a whole large answer.
	 */
	bool (*start)(struct daemon *d, char **argv, int argc, struct buf *out);
	void (*part)(struct daemon *d, size_t idx, const char *only, struct buf *out);
};

/* ---- helpers ------------------------------------------------------------------------------------- */

static uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* "L/S" to its listener and server; prints HAProxy's error line and returns -1 when it does not resolve. */
static int find_server(struct daemon *d, const char *arg, struct listener **li, struct rserver **s, struct buf *out)
{
	char name[2 * CONF_NAME_MAX + 2];
	char *slash;

	if (!arg || !(slash = strchr(arg, '/')) || strlen(arg) >= sizeof(name)) {
		buf_append_str(out, "Require 'backend/server'.\n");
		return -1;
	}
	memcpy(name, arg, strlen(arg) + 1);
	slash = name + (slash - arg);
	*slash = '\0';
	*li = gen_listener(d->gen, name);
	if (!*li) {
		buf_append_str(out, "No such backend.\n");
		return -1;
	}
	*s = listener_server(*li, slash + 1);
	if (!*s) {
		buf_append_str(out, "No such server.\n");
		return -1;
	}
	return 0;
}

/* HAProxy's weight syntax: "N" (0..256) or "N%" of the initial weight. -1 with the error line. */
static int parse_weight(const char *arg, unsigned iweight, unsigned *w, struct buf *out)
{
	char *end;
	long v;

	if (!arg || !*arg || !(*arg >= '0' && *arg <= '9')) {
		buf_append_str(out, arg && *arg == '-' ? "Relative weight must be positive.\n" :
				    "Empty weight string empty or preceded by garbage\n");
		return -1;
	}
	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || (*end && strcmp(end, "%") != 0)) {
		buf_append_str(out, "Trailing garbage in weight string\n");
		return -1;
	}
	if (*end == '%') {
		v = (long)iweight * v / 100;
		if (v > SERVER_WEIGHT_MAX)
			v = SERVER_WEIGHT_MAX;
	} else if (v > SERVER_WEIGHT_MAX) {
		buf_append_str(out, "Absolute weight can only be between 0 and 256 inclusive.\n");
		return -1;
	}
	*w = (unsigned)v;
	return 0;
}

/* HAProxy 2.6's HCHK_STATUS_* numbers, for `show servers state`. */
static int hchk_number(enum check_status st)
{
	switch (st) {
	case CHECK_INI: return 1;
	case CHECK_SOCKERR: return 5;
	case CHECK_L4OK: return 6;
	case CHECK_L4TOUT: return 7;
	case CHECK_L4CON: return 8;
	case CHECK_L6OK: return 9;
	case CHECK_L6TOUT: return 10;
	case CHECK_L6RSP: return 11;
	case CHECK_L7TOUT: return 12;
	case CHECK_L7RSP: return 13;
	case CHECK_L7OK: return 15;
	case CHECK_L7OKC: return 16;
	case CHECK_L7STS: return 17;
	default: return 0;
	}
}

/* HAProxy's CHK_RES_* numbers. */
static int chk_res_number(const struct health *h)
{
	if (!h || !h->ran)
		return 0;
	switch (check_status_verdict(h->status)) {
	case CHECK_RES_PASSED: return 3;
	case CHECK_RES_CONDPASS: return 4;
	case CHECK_RES_FAILED: return 2;
	default: return 1;
	}
}

static uint64_t since_change_s(const struct rserver *s)
{
	uint64_t now = now_ms();

	return s->srv.last_change_ms && now >= s->srv.last_change_ms ? (now - s->srv.last_change_ms) / 1000 : 0;
}

/* ---- show info ------------------------------------------------------------------------------------ */

static void cmd_show_info(struct daemon *d, char **argv, int argc, struct buf *out)
{
	uint64_t up = (now_ms() - d->start_ms) / 1000, cur = 0, cum = 0;
	struct gen *g = d->gen;
	long long maxconn = 0;
	char when[64] = "-", node[256];
	size_t i;

	(void)argv;
	(void)argc;
	for (i = 0; i < g->nli; i++) {
		cur += (uint64_t)__atomic_load_n(&g->li[i]->conn_cur, __ATOMIC_RELAXED);
		cum += ld(&g->li[i]->conn_total);
		maxconn += g->li[i]->maxconn;
	}
	if (d->last_reload_wall) {
		time_t t = (time_t)d->last_reload_wall;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	buf_printf(out, "Name: recheckd\nVersion: %s\nRelease_date: -\nNbthread: %d\nNbproc: 1\nProcess_num: 1\n"
		   "Pid: %d\nUptime: %llud %lluh%02llum%02llus\nUptime_sec: %llu\nUlimit-n: %llu\nMaxconn: %lld\n"
		   "CurrConns: %llu\nCumConns: %llu\nListeners: %zu\nStopping: %d\nStart_time_sec: %lld\n"
		   "Config_generation: %llu\nReloads: %llu\nReload_failures: %llu\nLast_reload_time: %s\n"
		   "Last_reload_result: %s\nLast_reload_error: %s\nnode: %s\n",
		   RECHECK_VERSION, d->nworkers, (int)getpid(), (unsigned long long)(up / 86400),
		   (unsigned long long)(up / 3600 % 24), (unsigned long long)(up / 60 % 60), (unsigned long long)(up % 60),
		   (unsigned long long)up, (unsigned long long)d->fd_limit, maxconn, (unsigned long long)cur,
		   (unsigned long long)cum, g->nli, d->draining ? 1 : 0, (long long)d->start_wall,
		   (unsigned long long)g->id, (unsigned long long)d->reloads_ok, (unsigned long long)d->reload_failures,
		   when, !d->last_reload_wall ? "-" : d->last_reload_ok ? "ok" : "refused",
		   d->last_reload_err[0] ? d->last_reload_err : "-", daemon_node(d, node, sizeof(node)));
}

/* ---- show servers state ------------------------------------------------------------------------- */

static void servers_state_of(struct daemon *d, size_t idx, struct buf *out)
{
	struct listener *li = d->gen->li[idx];
	size_t k;

	for (k = 0; k < li->nsrv; k++) {
		const struct rserver *s = li->srv[k];
		const struct health *h = s->health;
		char host[NET_ADDRSTRLEN];
		unsigned st = 0;
		int port = 0;

		net_fmt_host((const struct sockaddr *)&s->srv.addr, host, sizeof(host));
		if (s->srv.addr.ss_family == AF_INET)
			port = ntohs(((const struct sockaddr_in *)&s->srv.addr)->sin_port);
		else if (s->srv.addr.ss_family == AF_INET6)
			port = ntohs(((const struct sockaddr_in6 *)&s->srv.addr)->sin6_port);
		if (s->srv.check.enabled) /* CHK_ST_CONFIGURED, ENABLED, PAUSED (maintenance) */
			st = 0x2 | (s->check_paused ? 0 : 0x4) | ((s->srv.admin & SRV_ADMF_MAINT) ? 0x8 : 0);
		buf_printf(out, "%zu %s %u %s %s %d %u %u %u %llu %d %d %d %u 0 0 %d - %d - 0 0 - - 0\n", idx + 1,
			   li->name, s->srv.puid, s->srv.name, host, (int)s->srv.state, s->srv.admin, s->srv.weight,
			   s->iweight, (unsigned long long)since_change_s(s),
			   h && h->ran ? hchk_number(h->status) : 1, chk_res_number(h), s->srv.health, st,
			   s->srv.id ? 1 : 0, port);
	}
}

static bool show_servers_state(struct daemon *d, char **argv, int argc, struct buf *out)
{
	if (argc > 3 && !gen_listener(d->gen, argv[3])) {
		buf_append_str(out, "Can't find backend.\n");
		return false;
	}
	buf_append_str(out, "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
			    "srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health "
			    "srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord "
			    "srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n");
	return true;
}

static void servers_state_part(struct daemon *d, size_t idx, const char *only, struct buf *out)
{
	if (!only || strcmp(d->gen->li[idx]->name, only) == 0)
		servers_state_of(d, idx, out);
}

/* ---- state changes -------------------------------------------------------------------------------- */

static void cmd_disable_server(struct daemon *d, char **argv, int argc, struct buf *out)
{
	struct listener *li;
	struct rserver *s;

	if (argc < 3 || find_server(d, argv[2], &li, &s, out) == -1)
		return;
	daemon_set_maint(d, li, s, strcmp(argv[0], "disable") == 0);
}

static void cmd_health(struct daemon *d, char **argv, int argc, struct buf *out)
{
	struct listener *li;
	struct rserver *s;

	if (argc < 3 || find_server(d, argv[2], &li, &s, out) == -1)
		return;
	s->check_paused = strcmp(argv[0], "disable") == 0;
}

static void cmd_get_weight(struct daemon *d, char **argv, int argc, struct buf *out)
{
	struct listener *li;
	struct rserver *s;

	if (find_server(d, argc > 2 ? argv[2] : NULL, &li, &s, out) == -1)
		return;
	buf_printf(out, "%u (initial %u)\n", s->srv.weight, s->iweight);
}

static void set_weight(struct daemon *d, struct listener *li, struct rserver *s, const char *arg, struct buf *out)
{
	char err[ERR_LEN];
	unsigned w;

	if (parse_weight(arg, s->iweight, &w, out) == -1)
		return;
	if (daemon_set_weight(d, li, s, w, err, sizeof(err)) == -1)
		buf_printf(out, "%s\n", err);
}

static void cmd_set_weight(struct daemon *d, char **argv, int argc, struct buf *out)
{
	struct listener *li;
	struct rserver *s;

	if (find_server(d, argc > 2 ? argv[2] : NULL, &li, &s, out) == -1)
		return;
	if (argc < 4) {
		buf_append_str(out, "Require <weight>.\n");
		return;
	}
	set_weight(d, li, s, argv[3], out);
}

static void cmd_set_server(struct daemon *d, char **argv, int argc, struct buf *out)
{
	struct listener *li;
	struct rserver *s;
	const char *what = argc > 3 ? argv[3] : "", *v = argc > 4 ? argv[4] : "";

	if (find_server(d, argc > 2 ? argv[2] : NULL, &li, &s, out) == -1)
		return;
	if (strcmp(what, "weight") == 0) {
		set_weight(d, li, s, argc > 4 ? v : NULL, out);
	} else if (strcmp(what, "state") == 0) {
		if (strcmp(v, "ready") == 0) {
			daemon_set_drain(d, li, s, false);
			daemon_set_maint(d, li, s, false);
		} else if (strcmp(v, "drain") == 0) {
			daemon_set_maint(d, li, s, false);
			daemon_set_drain(d, li, s, true);
		} else if (strcmp(v, "maint") == 0) {
			daemon_set_maint(d, li, s, true);
		} else {
			buf_append_str(out, "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n");
		}
	} else if (strcmp(what, "health") == 0) {
		if (strcmp(v, "up") == 0)
			daemon_force_health(d, li, s, SRV_ST_RUNNING);
		else if (strcmp(v, "stopping") == 0)
			daemon_force_health(d, li, s, SRV_ST_STOPPING);
		else if (strcmp(v, "down") == 0)
			daemon_force_health(d, li, s, SRV_ST_STOPPED);
		else
			buf_append_str(out, "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n");
	} else {
		buf_append_str(out, "'set server <srv>' only supports 'health', 'state' and 'weight' in recheckd.\n");
	}
}

static void cmd_shutdown_sessions(struct daemon *d, char **argv, int argc, struct buf *out)
{
	struct listener *li;
	struct rserver *s;

	if (find_server(d, argc > 3 ? argv[3] : NULL, &li, &s, out) == -1)
		return;
	daemon_shutdown_sessions(d, s);
}

/* ---- show pick ------------------------------------------------------------------------------------ */

static const char *skip_reason(const struct server *s)
{
	if (s->admin & SRV_ADMF_MAINT)
		return "MAINT";
	if (s->state == SRV_ST_STOPPED)
		return "DOWN";
	if (s->admin & SRV_ADMF_DRAIN)
		return "DRAIN";
	if (s->weight == 0)
		return "weight 0";
	if (s->state == SRV_ST_STOPPING)
		return "NOLB";
	return NULL;
}

static void cmd_show_pick(struct daemon *d, char **argv, int argc, struct buf *out)
{
	struct sockaddr_storage ss;
	struct lb_explain x;
	struct listener *li;
	socklen_t sl;
	char a[NET_ADDRSTRLEN], e[ERR_LEN], text[NET_ADDRSTRLEN + 8];
	const char *sep = "";
	size_t k;

	if (argc < 4) {
		buf_append_str(out, "Usage: show pick <listener> <client address>\n");
		return;
	}
	li = gen_listener(d->gen, argv[2]);
	if (!li) {
		buf_append_str(out, "No such backend.\n");
		return;
	}
	/* the port does not matter to `balance source`: accept a bare address */
	snprintf(text, sizeof(text), strchr(argv[3], ':') && argv[3][0] != '[' ? "[%s]:0" : "%s", argv[3]);
	if (net_parse_addr(text, &ss, &sl, e, sizeof(e)) == -1) {
		snprintf(text, sizeof(text), "%s:0", argv[3]);
		if (net_parse_addr(text, &ss, &sl, e, sizeof(e)) == -1 &&
		    net_parse_addr(argv[3], &ss, &sl, e, sizeof(e)) == -1) {
			buf_printf(out, "Invalid client address '%s': %s\n", argv[3], e);
			return;
		}
	}
	if (lb_explain(li->lb, (const struct sockaddr *)&ss, &x) == -1) {
		buf_append_str(out, "The client address must be IPv4 or IPv6.\n");
		return;
	}
	if (x.srv) {
		const struct rserver *rs = container_of(x.srv, struct rserver, srv);

		buf_printf(out, "server: %s\naddress: %s\n", rs->srv.name, rs->address);
	} else {
		buf_append_str(out, "server: none (no usable server)\n");
	}
	buf_printf(out, "listener: %s, balance source, hash-type %s%s\n", li->name,
		   li->conf->hash == CONF_HASH_CONSISTENT ? "consistent" : "map-based", li->conf->avalanche ? " avalanche" : "");
	buf_printf(out, "client: %s\nsource key: %u (0x%08x)\n", net_fmt_host((struct sockaddr *)&ss, a, sizeof(a)),
		   x.key, x.key);
	if (x.srv) {
		buf_printf(out, "group: %s, %u usable server%s\n",
			   x.first_backup ? "the first usable backup alone" : x.backup_group ? "backups" : "active",
			   x.tot_used, x.tot_used == 1 ? "" : "s");
		if (x.tot_used == 1)
			buf_append_str(out, "lookup: one usable server: no hashing (key 0)\n");
		else if (li->conf->hash == CONF_HASH_CONSISTENT)
			buf_printf(out, "lookup: key 0x%08x, nearest ring point 0x%08x of %u points\n", x.lookup, x.point,
				   x.npoints);
		else
			buf_printf(out, "lookup: map slot %u = key %u %% %u (total effective weight)\n", x.slot, x.lookup,
				   x.tot_weight);
	}
	for (k = 0; k < li->nsrv; k++) {
		const struct server *s = &li->srv[k]->srv;
		uint64_t now = now_ms(), in = now > s->last_change_ms ? (now - s->last_change_ms) / 1000 : 0;
		bool dyn = li->conf->hash == CONF_HASH_CONSISTENT;

		if (s->state != SRV_ST_STARTING)
			continue;
		/* slowstart: how far the ramp is, in HAProxy's terms (server_recalc_eweight) */
		buf_printf(out, "warm-up: %s slowstart %us, %llus in: ", s->name, s->slowstart, (unsigned long long)in);
		if (dyn)
			buf_printf(out, "weight %u of %u (throttle %d%%, step %u/%d), %u of %u ring points\n",
				   server_eweight_shown(s, true), s->weight, server_throttle(s, true), s->warm_w,
				   SERVER_WARM_SCALE, server_chash_points(s), s->weight * SERVER_WARM_SCALE);
		else
			buf_printf(out, "map-based hashing is static: full weight %u; maxconn ramps (%u%%)\n", s->weight,
				   srv_warmup_ratio(s, now));
	}
	buf_append_str(out, "skipped:");
	for (k = 0; k < li->nsrv; k++) {
		const char *why = skip_reason(&li->srv[k]->srv);

		if (!why && li->srv[k]->srv.backup && x.srv && !x.srv->backup)
			why = "backup (active servers serve)";
		if (!why)
			continue;
		buf_printf(out, "%s %s %s", sep, li->srv[k]->srv.name, why);
		sep = ",";
	}
	buf_append_str(out, *sep ? "\n" : " none\n");
}

/* ---- the table ------------------------------------------------------------------------------------- */

bool cli_show_stat(struct daemon *d, char **argv, int argc, struct buf *out);
void cli_show_stat_part(struct daemon *d, size_t idx, const char *only, struct buf *out);
static void cmd_help(struct daemon *d, char **argv, int argc, struct buf *out);

static void cmd_nop(struct daemon *d, char **argv, int argc, struct buf *out)
{
	(void)d;
	(void)argv;
	(void)argc;
	(void)out;
}

static const struct cmd cmds[] = {
	{{"help"}, "help", "list the commands", cmd_help, NULL, NULL},
	{{"prompt"}, "prompt", "toggle interactive mode with prompt", cmd_nop, NULL, NULL},
	{{"quit"}, "quit", "disconnect", cmd_nop, NULL, NULL},
	{{"show", "info"}, "show info", "report information about the running process", cmd_show_info, NULL,
	 NULL},
	{{"show", "stat"}, "show stat", "report counters for each listener and server (CSV)", NULL,
	 cli_show_stat, cli_show_stat_part},
	{{"show", "servers", "state"}, "show servers state [<listener>]", "dump volatile server information",
	 NULL, show_servers_state, servers_state_part},
	{{"show", "pick"}, "show pick <listener> <addr>", "the server a client at <addr> gets now, and why",
	 cmd_show_pick, NULL, NULL},
	{{"disable", "server"}, "disable server <lst>/<srv>", "put a server in maintenance (MAINT)", cmd_disable_server,
	 NULL, NULL},
	{{"enable", "server"}, "enable server <lst>/<srv>", "take a server out of maintenance", cmd_disable_server,
	 NULL, NULL},
	{{"disable", "health"}, "disable health <lst>/<srv>", "stop a server's health checks", cmd_health, NULL, NULL},
	{{"enable", "health"}, "enable health <lst>/<srv>", "resume a server's health checks", cmd_health, NULL, NULL},
	{{"get", "weight"}, "get weight <lst>/<srv>", "report a server's current weight", cmd_get_weight, NULL,
	 NULL},
	{{"set", "weight"}, "set weight <lst>/<srv> <w>[%]", "change a server's weight", cmd_set_weight, NULL, NULL},
	{{"set", "server"}, "set server <lst>/<srv> <opt> <v>", "state ready|drain|maint, weight <w>[%], health up|stopping|down",
	 cmd_set_server, NULL, NULL},
	{{"shutdown", "sessions", "server"}, "shutdown sessions server <lst>/<srv>", "kill sessions on a server",
	 cmd_shutdown_sessions, NULL, NULL},
	{{"check"}, "check <lst>/<srv>", "run the server's check now and print its trace", NULL, NULL, NULL},
};

static void list_commands(struct buf *out)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		buf_printf(out, "  %-40s: %s\n", cmds[i].usage, cmds[i].desc);
}

static void cmd_help(struct daemon *d, char **argv, int argc, struct buf *out)
{
	(void)d;
	(void)argv;
	(void)argc;
	buf_append_str(out, "The following commands are valid at this level:\n");
	list_commands(out);
}

static bool matches(const struct cmd *c, char **argv, int argc)
{
	int i;

	for (i = 0; i < (int)ARRAY_SIZE(c->words) && c->words[i]; i++)
		if (i >= argc || strcmp(argv[i], c->words[i]) != 0)
			return false;
	return true;
}

void cli_check_server(struct daemon *d, char **argv, int argc, struct buf *out, int fd, bool *handed_off);

/* Splits one command into words (spaces and tabs; '\' escapes the next character). Returns argc. */
static int split_words(char *s, char **argv)
{
	int argc = 0;
	char *w;

	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		w = s;
		if (argc == CLI_MAX_ARGS)
			return -1;
		argv[argc++] = w;
		while (*s && *s != ' ' && *s != '\t') {
			if (*s == '\\' && s[1])
				memmove(s, s + 1, strlen(s));
			s++;
		}
		if (*s)
			*s++ = '\0';
	}
	return argc;
}

/* The number of leading words of c (its arguments follow them). */
static int nwords(const struct cmd *c)
{
	int n = 0;

	while (n < (int)ARRAY_SIZE(c->words) && c->words[n])
		n++;
	return n;
}

static void run_one(struct daemon *d, char *text, struct buf *out, struct cli_sess *s)
{
	char *argv[CLI_MAX_ARGS];
	int argc = split_words(text, argv);
	size_t i;

	if (argc == 0)
		return;
	if (argc < 0) {
		buf_append_str(out, "Too many words.\n\n");
		return;
	}
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (!matches(&cmds[i], argv, argc))
			continue;
		if (strcmp(argv[0], "prompt") == 0) {
			s->prompt = !s->prompt;
		} else if (strcmp(argv[0], "quit") == 0) {
			s->quit = true;
			return; /* HAProxy answers nothing to quit */
		} else if (strcmp(argv[0], "check") == 0) {
			bool handed_off = false;

			cli_check_server(d, argv, argc, out, s->fd, &handed_off);
			if (handed_off) {
				s->quit = true; /* the connection belongs to the check's process now */
				return;
			}
		} else if (cmds[i].start) {
			if (cmds[i].start(d, argv, argc, out)) {
				int n = nwords(&cmds[i]);

				/* the parts come from cli_continue(); the empty line that ends the answer too */
				s->more = (int)i;
				s->more_gen = d->gen->id;
				s->more_next = 0;
				free(s->more_only);
				s->more_only = argc > n ? strdup(argv[n]) : NULL;
				if (argc > n && !s->more_only) {
					s->more = -1;
					buf_append_str(out, "Out of memory.\n");
				} else {
					return;
				}
			}
		} else {
			cmds[i].run(d, argv, argc, out);
		}
		buf_append_str(out, "\n");
		return;
	}
	buf_append_str(out, "Unknown command, but maybe one of the following ones is a better match:\n");
	list_commands(out);
	buf_append_str(out, "\n");
}

void cli_sess_init(struct cli_sess *s, int fd)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->more = -1;
}

void cli_sess_free(struct cli_sess *s)
{
	free(s->more_only);
	free(s->rest);
	s->more_only = s->rest = NULL;
	s->more = -1;
}

bool cli_pending(const struct cli_sess *s)
{
	return s->more >= 0 || s->rest;
}

void cli_execute(struct daemon *d, char *line, struct buf *out, struct cli_sess *s)
{
	char *start = line, *p = line;

	/* ';' separates commands; "\;" is a literal ';' (kept escaped for split_words to unescape) */
	for (;; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == ';' || *p == '\0') {
			bool last = *p == '\0';

			*p = '\0';
			run_one(d, start, out, s);
			if (last || s->quit)
				return;
			start = p + 1;
			if (s->more >= 0) {
				/* a streamed answer: what follows it on the line runs once it is complete */
				free(s->rest);
				s->rest = strdup(start);
				if (!s->rest)
					s->quit = true; /* cannot keep the rest: end the connection after the answer */
				return;
			}
		}
	}
}

bool cli_continue(struct daemon *d, struct buf *out, struct cli_sess *s)
{
	char *rest;

	while (s->more >= 0) {
		const struct cmd *c = &cmds[s->more];

		if (d->gen->id != s->more_gen) {
			/* a reload replaced the listeners: the rest would describe another configuration */
			buf_append_str(out, "Configuration reloaded during this answer: it is incomplete.\n");
			s->more_next = d->gen->nli;
			s->more_gen = d->gen->id;
		}
		if (s->more_next >= d->gen->nli) {
			buf_append_str(out, "\n");
			free(s->more_only);
			s->more_only = NULL;
			s->more = -1;
			break;
		}
		c->part(d, s->more_next++, s->more_only, out);
		if (out->len >= CLI_PART)
			return false;
	}
	if (!s->rest)
		return true;
	rest = s->rest;
	s->rest = NULL;
	if (!s->quit)
		cli_execute(d, rest, out, s);
	free(rest);
	return !cli_pending(s);
}
