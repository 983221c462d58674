/*
 * server-t.h: a backend server as the balancer, the health checker and the stats see it.
 * Mirrors the parts of HAProxy 2.6's struct server / struct check that `balance source` and the
 * health counter depend on (docs/haproxy-semantics.md §4 and §5).
 */
#ifndef RECHECK_SERVER_T_H
#define RECHECK_SERVER_T_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define SERVER_NAME_MAX    64  /* bytes of a name, NUL excluded (HAProxy has no limit; ours is a cap) */
#define SERVER_WEIGHT_MAX  256 /* HAProxy's `weight` range is 0..256 */
#define SERVER_WEIGHT_DFLT 1
#define SERVER_WARM_SCALE  16  /* steps of a slowstart weight ramp: HAProxy's BE_WEIGHT_SCALE (lbprm.wdiv) */
#define SERVER_ID_MAX      1048575 /* explicit ids above this would make puid*4096 wrap (ring keys collide) */

/* Operational state, HAProxy's srv_op_state numbering (show servers state). */
enum srv_state {
	SRV_ST_STOPPED = 0,  /* DOWN */
	SRV_ST_STARTING = 1, /* up, warming up: `slowstart` ramps its weight (and maxconn) after it came back */
	SRV_ST_RUNNING = 2,  /* UP */
	SRV_ST_STOPPING = 3, /* NOLB: up for persistence only, not load-balanced (CONDPASS) */
};

/* Administrative flags (a subset of HAProxy's srv_admin). */
enum srv_admin {
	SRV_ADMF_MAINT = 0x01, /* forced maintenance: never picked, not checked */
	SRV_ADMF_RMAINT = 0x02, /* resolution maintenance: its name has no address yet (HAProxy RMAINT) */
	SRV_ADMF_DRAIN = 0x08, /* drain: effective weight 0, still checked */
};

/* What one check run concluded, as HAProxy's check result classes. */
enum srv_check_res {
	SRV_CHK_FAILED = 0,   /* L4TOUT, L4CON, L6*, L7TOUT, L7RSP, L7STS, SOCKERR */
	SRV_CHK_PASSED = 1,   /* L4OK, L6OK, L7OK */
	SRV_CHK_CONDPASS = 2, /* L7OKC: passes, but the server becomes NOLB */
};

/* Health-check settings of one server (HAProxy server-line keywords). Times in milliseconds. */
struct server_check_cfg {
	bool enabled;       /* `check`; without it the server is always usable and shows "no check" */
	uint32_t inter;     /* `inter`, default 2000 */
	uint32_t fastinter; /* `fastinter`, 0 = use inter */
	uint32_t downinter; /* `downinter`, 0 = use inter */
	int rise;           /* `rise`, > 0, default 2 */
	int fall;           /* `fall`, > 0, default 3 */
};

struct server {
	char name[SERVER_NAME_MAX + 1];  /* `server <name>`, NUL-terminated */
	struct sockaddr_storage addr;    /* where connections and checks go */
	socklen_t addrlen;               /* 0 when no address was set (lbpick, unit tests) */
	unsigned weight;                 /* configured (user) weight 0..256; 0 = never load-balanced */
	bool backup;                     /* `backup`: used only when no active server is usable */
	unsigned id;                     /* explicit `id`, 0 when none */
	unsigned puid;                   /* the id in use: explicit, or assigned by server_assign_puids() */
	unsigned index;                  /* declaration position in its backend, from 0 */

	enum srv_state state;            /* operational state */
	unsigned admin;                  /* enum srv_admin flags */
	struct server_check_cfg check;   /* health-check settings */
	int health;                      /* 0..rise+fall-1; up side when >= rise (HAProxy check->health) */
	uint64_t chkfail;                /* failed checks counted while health > 0 (stats chkfail) */
	uint64_t chkdown;                /* UP -> DOWN transitions (stats chkdown) */
	uint64_t last_change_ms;         /* monotonic ms of the last state change, 0 = never */
	unsigned slowstart;              /* `slowstart` in whole seconds (HAProxy keeps seconds), 0 = none */
	unsigned warm_w;                 /* while STARTING: the ramp factor 1..SERVER_WARM_SCALE (see server.h) */
};

/* The result of feeding one check result to a server: a small record for the balancer and the log. */
struct server_status {
	const struct server *srv;  /* the server concerned */
	enum srv_state old_state;  /* state before this result */
	enum srv_state new_state;  /* state after it */
	int old_health;            /* health before */
	int health;                /* health after */
	bool changed;              /* old_state != new_state: the balancer must rebuild */
	bool usable_changed;       /* the server entered or left the load-balanced set */
	bool counted;              /* the result moved the counter (HAProxy's `report`) */
};

#endif
