/*
 * conf_export: a recheckd configuration written as a complete HAProxy 2.6 configuration (global,
 * defaults, one stats section, one listen section per listener), which `haproxy -c` accepts and which
 * recheckd -f reads back into the same configuration (docs/haproxy.md, "recheck export --config").
 *
 * HAProxy has one check ruleset per backend: servers of one listener that replay different recipes or
 * use different check deadlines cannot be written, and are refused with the server named.
 */
#include "api.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "net.h"
#include "recipe-t.h"
#include "recipe_haproxy.h"
#include "util.h"

static const char *hash_words(const struct conf_listener *li)
{
	if (li->hash == CONF_HASH_CONSISTENT)
		return li->avalanche ? "consistent" : "consistent sdbm";
	return li->avalanche ? "map-based sdbm avalanche" : "map-based";
}

/* HAProxy reads "[v6]:port" as written; the bind keeps its text. */
static int dur(struct buf *out, const char *kw, uint64_t ms)
{
	char d[32];

	return buf_printf(out, " %s %s", kw, duration_fmt(ms, d, sizeof(d)));
}

/* The check every checked server of li shares, or NULL with err naming the server that differs. */
static const struct conf_check *shared_check(const struct conf_listener *li, char *err, size_t errlen)
{
	const struct conf_check *ck = NULL;
	size_t i;

	for (i = 0; i < li->nservers; i++) {
		const struct conf_check *c = &li->servers[i].check;

		if (!c->enabled)
			continue;
		if (!ck) {
			ck = c;
			continue;
		}
		if (c->rcp != ck->rcp || strcmp(c->recipe_path ? c->recipe_path : "", ck->recipe_path ? ck->recipe_path : "")) {
			set_err(err, errlen, "listener %s: server %s replays %s, another server %s: an HAProxy backend has "
				"one check", li->name, li->servers[i].name, c->recipe ? c->recipe : "?",
				ck->recipe ? ck->recipe : "?");
			return NULL;
		}
		if ((c->timeout == c->inter) != (ck->timeout == ck->inter) ||
		    (c->timeout != c->inter && c->timeout != ck->timeout)) {
			set_err(err, errlen, "listener %s: server %s has another check timeout: an HAProxy backend has one "
				"'timeout check'", li->name, li->servers[i].name);
			return NULL;
		}
		if (c->spread != ck->spread) {
			set_err(err, errlen, "listener %s: server %s has another check spread: HAProxy's spread-checks is "
				"global", li->name, li->servers[i].name);
			return NULL;
		}
	}
	return ck;
}

static int listener(const struct conf_listener *li, bool resolvers, struct buf *out, int *spread, char *err,
		    size_t errlen)
{
	const struct conf_check *ck;
	char why[ERR_LEN];
	size_t i;
	int rc = 0, pp = 0;

	err[0] = '\0';
	ck = shared_check(li, err, errlen);
	if (!ck && err[0])
		return -1;
	if (ck && *spread != -1 && *spread != ck->spread) {
		set_err(err, errlen, "listener %s: another check spread than an earlier listener: HAProxy's "
			"spread-checks is global", li->name);
		return -1;
	}
	if (ck)
		*spread = ck->spread;
	rc |= buf_printf(out, "\nlisten %s\n    bind %s%s\n    mode tcp\n    balance source\n    hash-type %s\n",
			 li->name, li->bind, li->accept_proxy ? " accept-proxy" : "", hash_words(li));
	if (li->allbackups)
		rc |= buf_printf(out, "    option allbackups\n");
	rc |= buf_printf(out, "    retries %d\n", li->retries);
	if (li->redispatch)
		rc |= buf_printf(out, "    option redispatch\n");
	if (li->maxconn_set)
		rc |= buf_printf(out, "    maxconn %d\n", li->maxconn);
	if (li->timeout_client)
		rc |= buf_printf(out, "   ") | dur(out, "timeout client", li->timeout_client) | buf_printf(out, "\n");
	if (li->timeout_server)
		rc |= buf_printf(out, "   ") | dur(out, "timeout server", li->timeout_server) | buf_printf(out, "\n");
	rc |= buf_printf(out, "   ") | dur(out, "timeout connect", li->timeout_connect) | buf_printf(out, "\n");
	if (li->timeout_queue)
		rc |= buf_printf(out, "   ") | dur(out, "timeout queue", li->timeout_queue) | buf_printf(out, "\n");
	if (ck && ck->timeout != ck->inter)
		rc |= buf_printf(out, "   ") | dur(out, "timeout check", ck->timeout) | buf_printf(out, "\n");
	if (rc)
		goto cap;
	if (ck) {
		struct haproxy_export_opts o;

		if (!ck->rcp) {
			set_err(err, errlen, "listener %s: recipe %s is not loaded", li->name, ck->recipe ? ck->recipe : "?");
			return -1;
		}
		if (haproxy_recipe_send_proxy(ck->rcp, true, &pp, why, sizeof(why)) == -1) {
			set_err(err, errlen, "listener %s: recipe %s: %s", li->name, ck->recipe ? ck->recipe : "?", why);
			return -1;
		}
		memset(&o, 0, sizeof(o));
		o.indent = "    ";
		/* HAProxy applies check-via-socks4 and check-send-proxy only to a "default" connect */
		for (i = 0; i < li->nservers; i++) {
			const struct conf_server *sv = &li->servers[i];

			if (sv->check.enabled && ((sv->socks4len && sv->check_via_socks4) || sv->check_send_proxy))
				o.first_default = true;
		}
		rc |= buf_printf(out, "    # check: %s\n", ck->recipe ? ck->recipe : "?");
		if (haproxy_export(ck->rcp, &o, out, err, errlen) == -1)
			return -1;
	}
	for (i = 0; i < li->nservers; i++) {
		const struct conf_server *sv = &li->servers[i];
		const struct conf_check *c = &sv->check;
		char ip[NET_ADDRSTRLEN + 8], e[ERR_LEN];

		rc |= buf_printf(out, "    server %s %s weight %u", sv->name, sv->address, sv->weight);
		if (sv->backup)
			rc |= buf_printf(out, " backup");
		if (sv->id)
			rc |= buf_printf(out, " id %u", sv->id);
		if (sv->shutdown_sessions)
			rc |= buf_printf(out, " on-marked-down shutdown-sessions");
		if (sv->slowstart)
			rc |= dur(out, "slowstart", sv->slowstart);
		if (sv->maxconn)
			rc |= buf_printf(out, " maxconn %u", sv->maxconn);
		if (sv->maxqueue)
			rc |= buf_printf(out, " maxqueue %u", sv->maxqueue);
		/* a name: up once it resolves, as recheckd waits for it (and through `nameservers:`) */
		if (sv->host)
			rc |= buf_printf(out, " init-addr last,libc,none%s", resolvers ? " resolvers recheck" : "");
		if (sv->disabled)
			rc |= buf_printf(out, " disabled");
		if (sv->send_proxy)
			rc |= buf_printf(out, " send-proxy%s", sv->send_proxy == 2 ? "-v2" : "");
		/* with `addr`, as with `port`, HAProxy's send-proxy no longer implies check-send-proxy */
		if (sv->check_send_proxy && c->enabled && (!sv->send_proxy || sv->check_addrlen))
			rc |= buf_printf(out, " check-send-proxy");
		/* the recipe's PROXY header: HAProxy writes a check's header only through check-send-proxy, in
		 * the version of the server's send-proxy (whose header also heads the traffic) */
		if (pp && c->enabled) {
			if ((pp == 2) != (sv->send_proxy == 2)) {
				set_err(err, errlen, "listener %s: server %s: the check recipe sends a PROXY v%d header, which "
					"HAProxy sends only with send-proxy%s on the server (its traffic too)", li->name,
					sv->name, pp, pp == 2 ? "-v2" : " or none");
				return -1;
			}
			if (!sv->check_send_proxy)
				rc |= buf_printf(out, " check-send-proxy");
		}
		if (sv->send_proxy && !sv->check_send_proxy && c->enabled && !sv->check_addrlen && !pp) {
			set_err(err, errlen, "listener %s: server %s sends a PROXY header without check_send_proxy: HAProxy's "
				"checks send it too", li->name, sv->name);
			return -1;
		}
		if (c->enabled) {
			rc |= buf_printf(out, " check") | dur(out, "inter", c->inter);
			if (c->fastinter != c->inter)
				rc |= dur(out, "fastinter", c->fastinter);
			if (c->downinter != c->inter)
				rc |= dur(out, "downinter", c->downinter);
			rc |= buf_printf(out, " rise %d fall %d", c->rise, c->fall);
			if (c->observe) {
				static const char *const onerr[] = {"", "fastinter", "fail-check", "sudden-death",
								    "mark-down"};

				rc |= buf_printf(out, " observe layer4");
				if (c->error_limit != 10)
					rc |= buf_printf(out, " error-limit %d", c->error_limit);
				if (c->on_error != CONF_ONERR_FAILCHK && c->on_error > 0 && c->on_error <= CONF_ONERR_MARKDWN)
					rc |= buf_printf(out, " on-error %s", onerr[c->on_error]);
			}
			if (c->rcp)
				rc |= haproxy_server_tls_opts(c->rcp, out);
			if (sv->check_addrlen)
				rc |= buf_printf(out, " addr %s", net_fmt_ip(&sv->check_addr, ip, sizeof(ip)));
			if (c->rcp && !sv->socks4len) {
				/* HAProxy's checks use the server's socks4, which carries its traffic too */
				struct buf r4;
				int bad;

				buf_init(&r4, 256);
				bad = haproxy_server_socks4_opt(c->rcp, &r4, e, sizeof(e)) == -1 || r4.len;
				buf_free(&r4);
				if (bad) {
					set_err(err, errlen, "listener %s: server %s: its recipe's checks go through a SOCKS4 proxy "
						"but its traffic does not: HAProxy takes both from the server's socks4 (set "
						"socks4 on the server)", li->name, sv->name);
					return -1;
				}
			}
		}
		if (sv->socks4len) {
			struct buf r4;

			buf_init(&r4, 256);
			if (c->enabled && c->rcp && haproxy_server_socks4_opt(c->rcp, &r4, e, sizeof(e)) == 0 && r4.len &&
			    strcmp(buf_cstr(&r4) + strlen(" socks4 "), net_fmt_ip(&sv->socks4, ip, sizeof(ip)))) {
				buf_free(&r4);
				set_err(err, errlen, "listener %s: server %s: its recipe's SOCKS4 proxy is not its socks4: "
					"HAProxy has one per server", li->name, sv->name);
				return -1;
			}
			buf_free(&r4);
			rc |= buf_printf(out, " socks4 %s%s", net_fmt_ip(&sv->socks4, ip, sizeof(ip)),
					 sv->check_via_socks4 && c->enabled ? " check-via-socks4" : "");
		}
		rc |= buf_printf(out, "\n");
	}
	if (!rc)
		return 0;
cap:
	set_err(err, errlen, "listener %s: the configuration is too large", li->name);
	return -1;
}

int conf_export_haproxy(const struct conf *c, struct buf *out, char *err, size_t errlen)
{
	struct buf body;
	int spread = -1, rc = -1;
	size_t i;

	buf_init(&body, 16u << 20);
	for (i = 0; i < c->nlisteners; i++)
		if (listener(&c->listeners[i], c->nnameservers > 0, &body, &spread, err, errlen) == -1)
			goto out;
	if (buf_printf(out, "# HAProxy 2.6 form of %s (recheck export --config); recheckd -f reads it too.\n"
		       "global\n    nbthread %d\n", c->file ? c->file : "a recheckd configuration", c->threads))
		goto cap;
	if (c->node && buf_printf(out, "    node %s\n", c->node))
		goto cap;
	if (c->user && buf_printf(out, "    user %s\n", c->user))
		goto cap;
	if (c->group && buf_printf(out, "    group %s\n", c->group))
		goto cap;
	if (c->stats_socket && buf_printf(out, "    stats socket %s\n", c->stats_socket))
		goto cap;
	if (spread > 0 && buf_printf(out, "    spread-checks %d\n", spread))
		goto cap;
	if (buf_printf(out, "    log %s daemon\n", c->log == CONF_LOG_SYSLOG ? "/dev/log" : "stderr format raw"))
		goto cap;
	if (buf_printf(out, "\ndefaults\n    mode tcp\n    log global\n    option log-health-checks\n"))
		goto cap;
	if (c->nnameservers > 0) {
		char a[NET_ADDRSTRLEN];

		if (buf_printf(out, "\nresolvers recheck\n"))
			goto cap;
		for (i = 0; i < (size_t)c->nnameservers; i++)
			if (buf_printf(out, "    nameserver ns%zu %s\n", i + 1,
				       net_fmt_addr((const struct sockaddr *)&c->nameservers[i], a, sizeof(a))))
				goto cap;
		if (buf_printf(out, "   ") || dur(out, "hold valid", c->resolve_interval) || buf_printf(out, "\n"))
			goto cap;
	}
	if (c->stats && c->stats_bind && buf_printf(out, "\nlisten stats\n    bind %s\n    mode http\n    stats enable\n    stats uri /\n"
				   "    timeout client 30s\n", c->stats_bind))
		goto cap;
	if (buf_append(out, body.data, body.len))
		goto cap;
	rc = 0;
	goto out;
cap:
	set_err(err, errlen, "the configuration is too large");
out:
	buf_free(&body);
	return rc;
}
