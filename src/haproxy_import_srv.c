/*
 * haproxy_import_srv: the server and default-server settings that change what a check does, applied to
 * the recipe that an HAProxy section's check rules made (haproxy_import_cfg.c reads them): `socks4` with
 * check-via-socks4, `check-send-proxy`, the TLS settings, `port` and `addr`, each on the connects HAProxy
 * applies it to (the default connects, every connect, or an HTTP check's one connection).
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "haproxy_import_priv.h"
#include "net.h"
#include "recipe.h"
#include "util.h"

/* True when r has `connect ssl` rules and every one sends sni name (which verifyhost then repeats). */
static bool rules_send_sni(const struct recipe *r, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < r->nsteps; i++) {
		if (r->steps[i].type != STEP_TLS)
			continue;
		if (!r->steps[i].tls.sni || strcmp(r->steps[i].tls.sni, name))
			return false;
		n++;
	}
	return n > 0;
}

/* HAProxy's implicit connect made explicit (step 0), so that server settings have a connect to go on;
 * it is a default connect (TCPCHK_OPT_DEFAULT_CONNECT). */
static int first_connect(struct imp *im)
{
	struct recipe *r = im->r;
	size_t k;

	if (r->nsteps && r->steps[0].type == STEP_CONNECT)
		return 0;
	if (!recipe_add_step(r, STEP_CONNECT))
		return haproxy_import_fail(im, "out of memory");
	memmove(&r->steps[1], &r->steps[0], (r->nsteps - 1) * sizeof(*r->steps));
	memset(&r->steps[0], 0, sizeof(r->steps[0]));
	r->steps[0].type = STEP_CONNECT;
	r->steps[0].min_recv = -1;
	for (k = 0; k < im->nconn_default; k++)
		im->conn_default[k]++;
	if (im->nconn_default == ARRAY_SIZE(im->conn_default))
		return haproxy_import_fail(im, "too many connect rules");
	im->conn_default[im->nconn_default++] = 0;
	return 0;
}

/* An HTTP check's one connection: the recipe's 'connect', made when a server setting first needs it. */
static struct step *http_conn(struct imp *im)
{
	if (!im->r->conn && !(im->r->conn = recipe_new_connect(NULL)))
		haproxy_import_fail(im, "out of memory");
	return im->r->conn;
}

/*
 * The server's `socks4` with check-via-socks4 goes on the default connects; `tcp-check connect via-socks4`
 * rules take it whatever check-via-socks4 says. Without a server socks4 HAProxy connects directly.
 * Before apply_tls(), which moves steps but keeps the list of default connects right.
 */
static int apply_socks4(struct imp *im, const struct srvtls *t)
{
	struct recipe *r = im->r;
	size_t i;

	if (im->srv_via && r->nsteps && r->steps[0].type == STEP_CONNECT) {
		/* recheckd sends a run's first connection through the server's proxy; HAProxy only its default
		 * connects: an explicit first `tcp-check connect` would differ */
		for (i = 0; i < im->nconn_default && im->conn_default[i] != 0; i++)
			;
		if (i == im->nconn_default)
			return haproxy_import_fail(im, "check-via-socks4 with a first 'tcp-check connect' that is not "
			                           "'default': HAProxy connects it directly, recheckd would not (write "
			                           "'tcp-check connect default')");
	}
	if (r->kind == RECIPE_HTTP && r->conn && r->conn->socks4len == HAPROXY_IMPORT_VIA_SOCKS4) {
		/* `http-check connect via-socks4`: the server's socks4 whatever check-via-socks4 says */
		if (im->server_proxy_ok)
			return haproxy_import_fail(im, "http-check connect via-socks4: recheckd sends the checks through "
			                           "the server's socks4 with check-via-socks4, not by rule");
		r->conn->socks4 = t->socks4;
		r->conn->socks4len = t->socks4len;
	} else if (t->via_socks4 && t->socks4len && r->kind == RECIPE_HTTP && !im->http_conn_explicit) {
		if (!http_conn(im))
			return -1;
		r->conn->socks4 = t->socks4;
		r->conn->socks4len = t->socks4len;
	} else if (r->kind == RECIPE_TCP && t->via_socks4 && t->socks4len) {
		if (first_connect(im) == -1)
			return -1;
		for (i = 0; i < im->nconn_default; i++)
			r->steps[im->conn_default[i]].socks4len = HAPROXY_IMPORT_VIA_SOCKS4;
	}
	for (i = 0; i < r->nsteps; i++) {
		struct step *s = &r->steps[i];

		if (s->type != STEP_CONNECT || s->socks4len != HAPROXY_IMPORT_VIA_SOCKS4)
			continue;
		if (im->server_proxy_ok)
			return haproxy_import_fail(im, "tcp-check connect via-socks4: recheckd sends the default connects "
			                           "through the server's socks4 (check-via-socks4), not single rules");
		s->socks4 = t->socks4;
		s->socks4len = t->socks4len;
		if (!t->socks4len && buf_printf(&im->notes, "%sstep %zu: 'via-socks4' without a server 'socks4': "
		                                "HAProxy connects directly", im->notes.len ? "; " : "import: ", i + 1) == -1)
			return haproxy_import_fail(im, "out of memory");
	}
	if (t->socks4len && !t->via_socks4 &&
	    buf_printf(&im->notes, "%sthe server's 'socks4' carries its traffic; without check-via-socks4 the "
	               "checks connect directly", im->notes.len ? "; " : "import: ") == -1)
		return haproxy_import_fail(im, "out of memory");
	return 0;
}

/*
 * The server's check-send-proxy: a PROXY header (v2 with send-proxy-v2, else v1) on the default connects
 * (the implicit one and `connect default`), as HAProxy sends it; on an HTTP check, the recipe's 'connect'.
 * A `tcp-check connect send-proxy` rule's header takes the server's version too.
 * Before apply_tls(), as apply_socks4().
 */
static int apply_proxy(struct imp *im, const struct srvtls *t)
{
	struct recipe *r = im->r;
	int v = t->pp == 2 ? 2 : 1;
	size_t i;

	/* `tcp-check connect send-proxy`: that connect's header, in the server's version */
	for (i = 0; r->kind == RECIPE_TCP && i < r->nsteps; i++)
		if (r->steps[i].send_proxy == HAPROXY_IMPORT_SERVER_PP)
			r->steps[i].send_proxy = im->server_proxy_ok && im->srv_pp ? im->srv_pp : v;
	if (r->kind == RECIPE_HTTP && r->conn && r->conn->send_proxy == HAPROXY_IMPORT_SERVER_PP)
		r->conn->send_proxy = im->server_proxy_ok && im->srv_pp ? im->srv_pp : v;
	if (!t->check_pp)
		return 0;
	if (r->kind == RECIPE_HTTP) {
		if (im->http_conn_explicit)
			return 0;
		if (!http_conn(im))
			return -1;
		r->conn->send_proxy = v;
		return 0;
	}
	if (first_connect(im) == -1)
		return -1;
	for (i = 0; i < im->nconn_default; i++)
		r->steps[im->conn_default[i]].send_proxy = v;
	return 0;
}

/* A connect takes the server's check port unless it has a port of its own or in its own addr. */
static void take_port(struct step *c, int port)
{
	if (!c->port && !(c->addrlen && net_port_of(&c->addr)))
		c->port = port;
}

/* A connect takes the server's check addr unless it has its own. */
static void take_addr(struct step *c, const struct srvtls *t)
{
	if (!c->addrlen) {
		c->addr = t->addr;
		c->addrlen = t->addrlen;
	}
}

/* The server's `port`: HAProxy's check port for every connect rule without a port of its own, the
 * implicit connect included (a rule's own port, or the port of its own addr, still wins). */
static int apply_port(struct imp *im, const struct srvtls *t)
{
	struct recipe *r = im->r;
	size_t i;

	if (!t->port)
		return 0;
	if (r->kind == RECIPE_HTTP) {
		if (!http_conn(im))
			return -1;
		take_port(r->conn, t->port);
		return 0;
	}
	if (first_connect(im) == -1)
		return -1;
	for (i = 0; i < r->nsteps; i++)
		if (r->steps[i].type == STEP_CONNECT)
			take_port(&r->steps[i], t->port);
	return 0;
}

/* The server's `addr`: where every connect rule without an addr of its own goes (HAProxy's check->addr);
 * its port applies where neither the rule nor the server's `port` gave one. After apply_port(). */
static int apply_addr(struct imp *im, const struct srvtls *t)
{
	struct recipe *r = im->r;
	size_t i;

	if (!t->addrlen)
		return 0;
	if (r->kind == RECIPE_HTTP) {
		if (!http_conn(im))
			return -1;
		take_addr(r->conn, t);
		return 0;
	}
	if (first_connect(im) == -1)
		return -1;
	for (i = 0; i < r->nsteps; i++)
		if (r->steps[i].type == STEP_CONNECT)
			take_addr(&r->steps[i], t);
	return 0;
}

/* The server lines' TLS into the recipe: HTTP checks and implicit or `default` connects start TLS;
 * every TLS start takes the server's verify and ca-file. */
static int apply_tls(struct imp *im, const struct srvtls *t)
{
	struct step_tls st = {.verify = t->verify != 0};
	struct recipe *r = im->r;
	size_t i, k;

	if (t->verifyhost[0] && strcmp(t->verifyhost, t->sni) && !(t->ssl != 1 && rules_send_sni(r, t->verifyhost)))
		return haproxy_import_fail(im, "server: 'verifyhost %s' is not the check's SNI ('%s'): a recipe verifies "
		                           "the name it sends", t->verifyhost, t->sni);
	if (strcmp(t->ca, "@system-ca") && t->ca[0] && recipe_set_str(&st.ca, t->ca) == -1)
		return haproxy_import_fail(im, "out of memory");
	/* explicit `connect ssl` rules keep their own sni/alpn, and take the server's verification */
	for (i = 0; i < r->nsteps; i++)
		if (r->steps[i].type == STEP_TLS) {
			r->steps[i].tls.verify = st.verify;
			if (recipe_set_str(&r->steps[i].tls.ca, st.ca) == -1)
				goto oom;
		}
	/* an `http-check connect ssl` rule, likewise */
	if (r->kind == RECIPE_HTTP && r->tls) {
		r->tls->verify = st.verify;
		if (recipe_set_str(&r->tls->ca, st.ca) == -1)
			goto oom;
	}
	if (t->ssl != 1 || (r->kind == RECIPE_HTTP && (im->http_conn_explicit || r->tls))) {
		step_tls_clear(&st);
		return 0;
	}
	if ((t->sni[0] && recipe_set_str(&st.sni, t->sni) == -1) || (t->alpn[0] && recipe_set_str(&st.alpn, t->alpn) == -1))
		goto oom;
	if (r->kind == RECIPE_HTTP) {
		r->tls = calloc(1, sizeof(*r->tls));
		if (!r->tls)
			goto oom;
		*r->tls = st;
		return 0;
	}
	/* the implicit connect (first rule not a connect), then every `connect default` */
	if (first_connect(im) == -1) {
		step_tls_clear(&st);
		return -1;
	}
	/* from the last connect to the first, so that an insertion moves none still to come */
	for (k = 1; k < im->nconn_default; k++)
		for (i = k; i > 0 && im->conn_default[i - 1] < im->conn_default[i]; i--) {
			int x = im->conn_default[i];

			im->conn_default[i] = im->conn_default[i - 1];
			im->conn_default[i - 1] = x;
		}
	for (k = 0; k < im->nconn_default; k++) {
		size_t at = (size_t)im->conn_default[k] + 1;

		if (!recipe_add_step(r, STEP_TLS))
			goto oom;
		memmove(&r->steps[at + 1], &r->steps[at], (r->nsteps - 1 - at) * sizeof(*r->steps));
		memset(&r->steps[at], 0, sizeof(r->steps[at]));
		r->steps[at].type = STEP_TLS;
		r->steps[at].min_recv = -1;
		r->steps[at].line = r->steps[at - 1].line;
		if (step_tls_copy(&r->steps[at].tls, &st) == -1)
			goto oom;
	}
	step_tls_clear(&st);
	return 0;
oom:
	step_tls_clear(&st);
	return haproxy_import_fail(im, "out of memory");
}

int haproxy_import_apply_server(struct imp *im, const struct srvtls *t)
{
	if (apply_socks4(im, t) == -1 || apply_proxy(im, t) == -1 || apply_tls(im, t) == -1 || apply_port(im, t) == -1 ||
	    apply_addr(im, t) == -1)
		return -1;
	return 0;
}
