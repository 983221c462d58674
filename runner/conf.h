/*
 * conf: recheckd's YAML configuration (docs/recheckd.8, samples/recheckd.yaml document every key).
 *
 * Loading is strict, like recipe loading: unknown keys, duplicate keys, wrong types and out-of-range
 * values are errors reported as "FILE:LINE:COLUMN: reason" (src/ytree.c reads the file, conf.c holds the
 * schema as one table of keys per section). Recipe paths are relative to the config file's
 * directory; each distinct recipe file is loaded once and shared by every check that names it.
 *
 * Ownership: conf_load() returns a struct conf the caller frees with conf_free(); everything it points
 * to (strings, arrays, recipes) belongs to it and is immutable after loading.
 */
#ifndef RECHECKD_CONF_H
#define RECHECKD_CONF_H

#include "api.h"

#include <sys/socket.h>

#include "relay-t.h"

struct recipe;

#define CONF_MAX_FILE      (1u << 20) /* bytes of a config file */
#define CONF_MAX_LISTENERS 256
#define CONF_MAX_SERVERS   1024       /* per listener */
#define CONF_SLOWSTART_MAX 86400000ULL /* `slowstart` up to a day (ms) */
#define CONF_MAX_THREADS   64
#define CONF_SOCKET_PATH_MAX 108     /* sizeof(sun_path) */
#define CONF_MAX_NAMESERVERS 3     /* the resolver's limit (MAXNS) */
#define CONF_NAME_MAX      64         /* bytes of a listener or server name (server-t.h's cap) */

enum conf_hash {
	CONF_HASH_MAP_BASED = 0, /* hash_type: map-based (HAProxy's default) */
	CONF_HASH_CONSISTENT,    /* hash_type: consistent */
};

enum conf_log {
	CONF_LOG_STDERR = 0,     /* log: stderr (the default; foreground under systemd) */
	CONF_LOG_SYSLOG,         /* log: syslog (facility daemon) */
};

/* Health-check settings; per listener, overridable per server. Times in milliseconds. */
/* The per-connection log line (log.format). */
enum conf_logf {
	CONF_LOGF_TCPLOG = 0,    /* HAProxy's `option tcplog` line (the default) */
	CONF_LOGF_JSON,          /* one JSON object per line */
	CONF_LOGF_OFF,           /* no connection lines */
};

/* What passive health does after error_limit consecutive connect errors (HAProxy on-error). */
enum conf_onerror {
	CONF_ONERR_FASTINTER = 1, /* only bring the next check forward to fastinter */
	CONF_ONERR_FAILCHK,       /* count a failed check (the default) */
	CONF_ONERR_SUDDTH,        /* leave the server one failed check from DOWN, then count a failed check */
	CONF_ONERR_MARKDWN,       /* mark the server DOWN at once */
};

struct conf_check {
	bool enabled;          /* a check applies (listener `check:` present and the server did not say false) */
	char *recipe;          /* the `recipe:` value as written; owned */
	char *recipe_path;     /* resolved against the config file's directory; owned */
	struct recipe *rcp;    /* loaded recipe, borrowed from conf->recipes; NULL with CONF_NO_RECIPES */
	uint64_t inter;        /* `inter`, default 2s */
	uint64_t fastinter;    /* `fastinter`, default inter */
	uint64_t downinter;    /* `downinter`, default inter */
	uint64_t timeout;      /* `timeout`: the one deadline of a check run, default inter (as HAProxy) */
	int rise;              /* `rise`, default 2 */
	int fall;              /* `fall`, default 3 */
	int spread;            /* `spread`: +/- percent of random jitter on intervals, 0..50 (spread-checks) */
	int observe;           /* `observe`: 0 none, 1 layer4 (connect outcomes of client sessions feed health) */
	int error_limit;       /* `error_limit`: consecutive connect errors that trigger on_error, default 10 */
	int on_error;          /* `on_error`: enum conf_onerror, default fail-check */
	int line;              /* where the effective `recipe:` was written */
};

struct conf_server {
	char *name;            /* owned; unique within its listener */
	char *address;         /* as written ("HOST:PORT"), owned; with name, identifies it across reloads */
	struct sockaddr_storage addr; /* an IP address as written; addrlen 0 when `address` names a host */
	socklen_t addrlen;
	char *host;            /* owned: the DNS name of `address` (resolved by the daemon), NULL for an IP */
	uint16_t port;         /* with host: the port */
	unsigned weight;       /* 0..256, default 1 */
	bool backup;           /* used only when no active server is usable */
	unsigned id;           /* explicit id (1..1048575), 0: assigned as HAProxy does */
	bool shutdown_sessions; /* on_marked_down: shutdown-sessions (listener's value unless overridden) */
	int send_proxy;        /* `send_proxy`: 0 none, 1 (v1) or 2 (v2): HAProxy send-proxy / send-proxy-v2 */
	bool check_send_proxy; /* `check_send_proxy`: checks start with a PROXY header (HAProxy check-send-proxy) */
	uint64_t slowstart;    /* `slowstart` ms (the listener's unless overridden), 0: none; used in whole seconds */
	unsigned maxconn;      /* `maxconn`: concurrent sessions on this server, 0 = no limit; more wait in its queue */
	unsigned maxqueue;     /* `maxqueue`: sessions that may wait in its queue, 0 = no limit */
	struct sockaddr_storage check_addr; /* `check_addr` (HAProxy addr): IP[:PORT] the checks connect to;
				* port 0: the server's; check_addrlen 0: the server's address */
	socklen_t check_addrlen;
	struct sockaddr_storage socks4; /* `socks4` (HAProxy socks4): IP:PORT of a SOCKS4 proxy the traffic
				* goes through; socks4len 0: none */
	socklen_t socks4len;
	bool check_via_socks4; /* `check_via_socks4`: the checks' first connection goes through socks4 too */
	bool disabled;         /* `disabled`: starts in maintenance (MAINT), as HAProxy's `disabled` */
	struct conf_check check; /* effective: the listener's, with this server's overrides */
	int line;
};

struct conf_listener {
	char *name;            /* owned; unique */
	char *bind;            /* as written, owned */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	enum conf_hash hash;   /* hash_type */
	bool avalanche;        /* hash_type "... avalanche" modifier */
	bool allbackups;       /* option allbackups */
	int maxconn;           /* concurrent client connections; accepting pauses at this count */
	bool maxconn_set;      /* written in the file (else the default, which start-up fits to the fd limit) */
	uint64_t timeout_client;  /* ms, 0: none */
	uint64_t timeout_server;  /* ms, 0: none */
	uint64_t timeout_connect; /* ms */
	uint64_t timeout_queue;   /* ms a session waits for a server slot; 0: unset, timeout_connect applies */
	int retries;              /* `retries`, default 3 (HAProxy's) */
	bool redispatch;          /* `redispatch` (option redispatch), default false */
	bool accept_proxy;        /* `accept_proxy`: clients start with a PROXY header (bind ... accept-proxy) */
	bool shutdown_sessions;   /* on_marked_down: shutdown-sessions */
	uint64_t slowstart;       /* `slowstart`: every server's default (ms), 0: none */
	struct conf_check check;  /* listener-level check (enabled when `check:` is present) */
	struct conf_server *servers; /* owned array */
	size_t nservers;
	int line;
};

struct conf {
	char *file;            /* path it was loaded from, owned */
	int threads;           /* worker threads, default: online CPUs (at most CONF_MAX_THREADS) */
	bool stats;            /* a `stats:` section is present */
	char *stats_bind;      /* owned; default "127.0.0.1:8404" unless only `socket` is given */
	char *stats_socket;    /* owned or NULL: the runtime API's UNIX socket path (stats.socket) */
	struct sockaddr_storage stats_addr;
	socklen_t stats_addrlen;
	struct conf_listener *listeners; /* owned array */
	size_t nlisteners;
	char *node;            /* owned or NULL: `node` (HAProxy's global node): this instance's name in `show
				* info` and send-state; NULL: the host name */
	char *user;            /* owned or NULL: drop to this user after binding */
	char *group;           /* owned or NULL: drop to this group (default: the user's) */
	bool allow_root;       /* keep running as root without `user:` */
	enum relay_mode relay; /* relay: splice (default) | copy */
	enum conf_log log;     /* daemon messages: log (scalar) or log.daemon */
	enum conf_logf log_format; /* connection lines: log.format */
	bool log_udp;          /* log.target: udp://HOST:PORT (else stderr) */
	struct sockaddr_storage log_addr;
	socklen_t log_addrlen;
	int log_facility;      /* log.facility, default local0 (16) */
	bool log_rfc5424;      /* log.syslog_format: rfc5424 (else rfc3164, HAProxy's default) */
	uint64_t drain_timeout; /* ms SIGTERM waits for sessions to end, default 10s */
	uint64_t resolve_interval; /* ms between resolutions of server names, default 10s */
	struct sockaddr_storage nameservers[CONF_MAX_NAMESERVERS]; /* `nameservers:`; none: the system's */
	int nnameservers;
	struct recipe **recipes; /* distinct loaded recipes, owned */
	char **recipe_paths;     /* their resolved paths, owned */
	size_t nrecipes;
	char *warnings;        /* owned or NULL: "FILE:LINE: reason\n" lines for directives read but ignored */
};

enum conf_flags {
	CONF_NO_RECIPES = 1,   /* check the config only; do not load recipe files (unit tests) */
};

/* Loads and validates path. NULL with "FILE:LINE:COLUMN: reason" in err. */
struct conf *conf_load(const char *path, int flags, char *err, size_t errlen);
/* Same from memory; name stands for the file in messages and dir resolves recipe paths. */
struct conf *conf_load_mem(const char *text, size_t len, const char *name, const char *dir, int flags,
			   char *err, size_t errlen);
void conf_free(struct conf *c);
/*
 * Adds r, loaded from key (a resolved path, or any name unique among cf's recipes), to cf's shared
 * recipes, which then own it. 0, or -1 (out of memory) after freeing r.
 */
int conf_add_recipe(struct conf *cf, const char *key, struct recipe *r);

/* True when text is an HAProxy configuration: its first keyword is global, defaults, listen, frontend or
 * backend. conf_load() and conf_load_mem() then read it with conf_haproxy_load_mem() (conf_haproxy.c). */
bool conf_is_haproxy(const char *text, size_t len);
/* Appends c as a complete HAProxy 2.6 configuration (conf_export.c). -1 with a reason naming the
 * listener and server HAProxy cannot express (one check per backend). */
struct buf;
int conf_export_haproxy(const struct conf *c, struct buf *out, char *err, size_t errlen);
struct conf *conf_haproxy_load_mem(const char *text, size_t len, const char *name, int flags, char *err,
				   size_t errlen);

/* The listener with that name, or NULL. */
const struct conf_listener *conf_listener_find(const struct conf *c, const char *name);

#endif
