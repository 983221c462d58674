/*
 * server: the server record and HAProxy 2.6's health counter (see server.h).
 * Reference: docs/haproxy-semantics.md §4.2-§4.3, §5.3, §6; HAProxy check.c set_server_check_status(),
 * srv_getinter(), server.c srv_set_running/stopped/stopping(), stats.c srv_hlt_st[].
 */
#include "api.h"

#include <stdio.h>
#include <string.h>

#include "server.h"
#include "util.h"

int server_init(struct server *s, const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);

	memset(s, 0, sizeof(*s));
	if (n == 0 || n > SERVER_NAME_MAX) {
		set_err(err, errlen, "server name '%.*s%s' must be 1 to %d bytes long", 40, name, n > 40 ? "..." : "",
			SERVER_NAME_MAX);
		return -1;
	}
	memcpy(s->name, name, n + 1);
	s->weight = SERVER_WEIGHT_DFLT;
	s->warm_w = SERVER_WARM_SCALE;
	s->check.inter = 2000;
	s->check.rise = 2;
	s->check.fall = 3;
	s->state = SRV_ST_RUNNING;
	return 0;
}

void server_start(struct server *s)
{
	if (s->check.rise < 1)
		s->check.rise = 1;
	if (s->check.fall < 1)
		s->check.fall = 1;
	if (s->admin & SRV_ADMF_MAINT) {
		/* `disabled`: MAINT with health 0, so leaving MAINT needs rise successes. */
		s->state = SRV_ST_STOPPED;
		s->health = 0;
		return;
	}
	/* 2.6 has no init-state: "up, but will fall down at first failure". */
	s->state = SRV_ST_RUNNING;
	s->health = s->check.rise;
}

static bool id_used(struct server **srv, size_t n, unsigned id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (srv[i]->puid == id)
			return true;
	return false;
}

int server_assign_puids(struct server **srv, size_t n, char *err, size_t errlen)
{
	unsigned next = 1;
	size_t i, j;

	/* Explicit ids first: an automatic id must avoid every explicit one, even a later server's. */
	for (i = 0; i < n; i++) {
		srv[i]->index = (unsigned)i;
		srv[i]->puid = 0;
		if (srv[i]->id == 0)
			continue;
		if (srv[i]->id > SERVER_ID_MAX) {
			set_err(err, errlen, "server '%s': id %u is out of range (1..%u)", srv[i]->name, srv[i]->id,
				SERVER_ID_MAX);
			return -1;
		}
		for (j = 0; j < i; j++)
			if (srv[j]->id == srv[i]->id) {
				set_err(err, errlen, "server '%s' has the same id (%u) as server '%s'", srv[i]->name,
					srv[i]->id, srv[j]->name);
				return -1;
			}
		srv[i]->puid = srv[i]->id;
	}
	/* cfgparse.c: `next` advances after every server, explicit or not, in declaration order. */
	for (i = 0; i < n; i++, next++) {
		if (srv[i]->id != 0)
			continue;
		while (id_used(srv, n, next))
			next++;
		if (next > SERVER_ID_MAX) {
			set_err(err, errlen, "server '%s': no free id left", srv[i]->name);
			return -1;
		}
		srv[i]->puid = next;
	}
	return 0;
}

bool server_usable(const struct server *s)
{
	if (s->weight == 0 || (s->admin & (SRV_ADMF_MAINT | SRV_ADMF_RMAINT | SRV_ADMF_DRAIN)))
		return false;
	return s->state == SRV_ST_RUNNING || s->state == SRV_ST_STARTING;
}

bool server_is_up(const struct server *s)
{
	return s->state != SRV_ST_STOPPED;
}

static struct server_status status_of(const struct server *s, enum srv_state old, int old_health, bool old_usable)
{
	struct server_status st = {
		.srv = s,
		.old_state = old,
		.new_state = s->state,
		.old_health = old_health,
		.health = s->health,
		.changed = old != s->state,
		.usable_changed = old_usable != server_usable(s),
	};
	return st;
}

static void set_state(struct server *s, enum srv_state st, uint64_t now_ms)
{
	/* srv_set_running(): a server already up stays as it is (a warm-up is not cut short); one that comes
	 * up with a slowstart warms up first. */
	if (st == SRV_ST_RUNNING && s->state == SRV_ST_STARTING)
		return;
	if (st == SRV_ST_RUNNING && s->slowstart && s->state != SRV_ST_RUNNING) {
		st = SRV_ST_STARTING;
		s->warm_w = 1; /* server_recalc_eweight() at e = 0 */
	}
	if (s->state == st)
		return;
	if (st == SRV_ST_STOPPED && s->state != SRV_ST_STOPPED)
		s->chkdown++;
	s->state = st;
	s->last_change_ms = now_ms;
}

struct server_status server_check_result(struct server *s, enum srv_check_res res, uint64_t now_ms)
{
	enum srv_state old = s->state;
	int old_health = s->health, top = s->check.rise + s->check.fall - 1;
	bool old_usable = server_usable(s), report = false;
	struct server_status st;

	if (res == SRV_CHK_FAILED) {
		if (s->health > 0) {
			s->chkfail++;
			report = true;
			s->health--;
			if (s->health < s->check.rise)
				s->health = 0;
		}
	} else if (s->health < top) {
		report = true;
		s->health++;
		if (s->health >= s->check.rise)
			s->health = top;
	}

	/* check_notify_failure/success/stopping: only the edges change the state, and MAINT wins. */
	if (!(s->admin & (SRV_ADMF_MAINT | SRV_ADMF_RMAINT))) {
		if (res == SRV_CHK_FAILED && s->health == 0)
			set_state(s, SRV_ST_STOPPED, now_ms);
		else if (res == SRV_CHK_PASSED && s->health >= s->check.rise)
			set_state(s, SRV_ST_RUNNING, now_ms);
		else if (res == SRV_CHK_CONDPASS && s->health >= s->check.rise)
			set_state(s, SRV_ST_STOPPING, now_ms);
	}
	st = status_of(s, old, old_health, old_usable);
	st.counted = report;
	return st;
}

struct server_status server_set_maint(struct server *s, bool maint, uint64_t now_ms)
{
	enum srv_state old = s->state;
	int old_health = s->health;
	bool old_usable = server_usable(s);

	if (maint) {
		s->admin |= SRV_ADMF_MAINT;
		set_state(s, SRV_ST_STOPPED, now_ms);
	} else if (s->admin & SRV_ADMF_MAINT) {
		s->admin &= ~(unsigned)SRV_ADMF_MAINT;
		/* srv_clr_admin_flag(): back up unless the checks say it is down. */
		if (s->check.enabled && s->health == 0)
			set_state(s, SRV_ST_STOPPED, now_ms);
		else
			set_state(s, SRV_ST_RUNNING, now_ms);
	}
	return status_of(s, old, old_health, old_usable);
}

struct server_status server_set_drain(struct server *s, bool drain, uint64_t now_ms)
{
	enum srv_state old = s->state;
	int old_health = s->health;
	bool old_usable = server_usable(s);

	if (drain && !(s->admin & SRV_ADMF_DRAIN)) {
		s->admin |= SRV_ADMF_DRAIN;
		s->last_change_ms = now_ms;
	} else if (!drain && (s->admin & SRV_ADMF_DRAIN)) {
		s->admin &= ~(unsigned)SRV_ADMF_DRAIN;
		s->last_change_ms = now_ms;
	}
	return status_of(s, old, old_health, old_usable);
}

struct server_status server_force_health(struct server *s, enum srv_state st, uint64_t now_ms)
{
	enum srv_state old = s->state;
	int old_health = s->health;
	bool old_usable = server_usable(s);

	s->health = st == SRV_ST_STOPPED ? 0 : s->check.rise + s->check.fall - 1;
	if (!(s->admin & (SRV_ADMF_MAINT | SRV_ADMF_RMAINT)))
		set_state(s, st, now_ms);
	return status_of(s, old, old_health, old_usable);
}

struct server_status server_set_rmaint(struct server *s, bool rmaint, uint64_t now_ms)
{
	enum srv_state old = s->state;
	int old_health = s->health;
	bool old_usable = server_usable(s);

	if (rmaint) {
		s->admin |= SRV_ADMF_RMAINT;
		set_state(s, SRV_ST_STOPPED, now_ms);
	} else if (s->admin & SRV_ADMF_RMAINT) {
		s->admin &= ~(unsigned)SRV_ADMF_RMAINT;
		/* the checks never ran while it had no address: its health is still server_start()'s */
		if (s->admin & SRV_ADMF_MAINT)
			;
		else if (s->check.enabled && s->health == 0)
			set_state(s, SRV_ST_STOPPED, now_ms);
		else if (s->last_change_ms == 0)
			/* the first resolution (at start-up, HAProxy's init-addr libc): no warm-up, as at start */
			s->state = SRV_ST_RUNNING, s->last_change_ms = now_ms;
		else
			set_state(s, SRV_ST_RUNNING, now_ms);
	}
	return status_of(s, old, old_health, old_usable);
}

uint32_t server_next_inter(const struct server *s)
{
	const struct server_check_cfg *c = &s->check;

	if (c->enabled && s->health == c->rise + c->fall - 1)
		return c->inter;
	if (s->state == SRV_ST_STOPPED && s->health == 0)
		return c->downinter ? c->downinter : c->inter;
	return c->fastinter ? c->fastinter : c->inter;
}

char *server_status_str(const struct server *s, char *out, size_t outlen)
{
	const struct server_check_cfg *c = &s->check;
	int top = c->rise + c->fall - 1;
	const char *word;
	bool progress = false;

	if (s->admin & SRV_ADMF_MAINT) {
		snprintf(out, outlen, "MAINT");
		return out;
	}
	if (s->admin & SRV_ADMF_RMAINT) {
		snprintf(out, outlen, "MAINT (resolution)");
		return out;
	}
	switch (s->state) {
	case SRV_ST_RUNNING:
	case SRV_ST_STARTING:
		progress = c->enabled && s->health < top;
		word = (s->admin & SRV_ADMF_DRAIN) ? "DRAIN" : "UP";
		if (!progress && !c->enabled && !(s->admin & SRV_ADMF_DRAIN))
			word = "no check";
		break;
	case SRV_ST_STOPPING:
		word = "NOLB";
		progress = c->enabled && s->health != top;
		break;
	case SRV_ST_STOPPED:
	default:
		word = "DOWN";
		progress = c->enabled && s->health != 0;
		break;
	}
	if (!progress)
		snprintf(out, outlen, "%s", word);
	else if (s->state == SRV_ST_STOPPED) /* going up: health / rise */
		snprintf(out, outlen, "%s %d/%d", word, s->health, c->rise);
	else /* going down: successes left before DOWN / fall */
		snprintf(out, outlen, "%s %d/%d", word, s->health - c->rise + 1, c->fall);
	return out;
}

bool server_warmup_tick(struct server *s, uint64_t now_ms)
{
	uint64_t e;
	unsigned w;

	if (s->state != SRV_ST_STARTING)
		return false;
	e = now_ms > s->last_change_ms ? (now_ms - s->last_change_ms) / 1000 : 0;
	if (s->slowstart == 0 || e >= s->slowstart) {
		/* full throttle: RUNNING, and HAProxy counts it as a new change (lastchg restarts) */
		s->state = SRV_ST_RUNNING;
		s->warm_w = SERVER_WARM_SCALE;
		s->last_change_ms = now_ms;
		return true;
	}
	w = (unsigned)((SERVER_WARM_SCALE * e + s->slowstart) / s->slowstart);
	if (w == s->warm_w)
		return false;
	s->warm_w = w;
	return true;
}

uint64_t server_warmup_next(const struct server *s, uint64_t now_ms)
{
	uint64_t e = now_ms > s->last_change_ms ? (now_ms - s->last_change_ms) / 1000 : 0;

	return s->last_change_ms + (e + 1) * 1000;
}

unsigned srv_warmup_ratio(const struct server *s, uint64_t now_ms)
{
	uint64_t e;

	if (s->state != SRV_ST_STARTING || s->slowstart == 0 || now_ms < s->last_change_ms)
		return 100;
	e = (now_ms - s->last_change_ms) / 1000;
	if (e >= s->slowstart)
		return 100;
	return (unsigned)(100 * e / s->slowstart);
}

unsigned srv_warmup_maxconn(const struct server *s, unsigned maxconn, uint64_t now_ms)
{
	unsigned r = srv_warmup_ratio(s, now_ms), m;

	if (r >= 100)
		return maxconn;
	m = (unsigned)((uint64_t)maxconn * r / 100);
	return m ? m : 1;
}

unsigned server_chash_points(const struct server *s)
{
	if (s->state == SRV_ST_STARTING && s->warm_w >= 1 && s->warm_w < SERVER_WARM_SCALE)
		return s->weight * s->warm_w;
	return s->weight * SERVER_WARM_SCALE;
}

unsigned server_eweight_shown(const struct server *s, bool dynamic)
{
	/* stats.c: (cur_eweight * wmult + wdiv - 1) / wdiv, wmult 1 and wdiv 16 for consistent hashing; a
	 * static map shows eweight * GCD / 1, the user weight */
	if (!dynamic)
		return s->weight;
	return (server_chash_points(s) + SERVER_WARM_SCALE - 1) / SERVER_WARM_SCALE;
}

int server_throttle(const struct server *s, bool dynamic)
{
	if (s->state != SRV_ST_STARTING || (s->admin & SRV_ADMF_DRAIN))
		return -1;
	/* server_throttle_rate(): 100 for a zero weight (soft stop) and for a static map */
	if (s->weight == 0 || !dynamic)
		return 100;
	return (int)((100u * server_chash_points(s) + SERVER_WARM_SCALE - 1) / (SERVER_WARM_SCALE * s->weight));
}

const char *server_state_name(enum srv_state st)
{
	switch (st) {
	case SRV_ST_STOPPED:
		return "DOWN";
	case SRV_ST_STARTING:
		return "STARTING";
	case SRV_ST_RUNNING:
		return "UP";
	case SRV_ST_STOPPING:
		return "NOLB";
	}
	return "?";
}
