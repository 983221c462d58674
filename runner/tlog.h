/*
 * tlog: the line per client connection, written when the session ends: HAProxy 2.6's `option tcplog`
 * line by default, or one JSON object (log.format: json), to stderr (the journal under systemd) or to a
 * syslog server over UDP in the RFC 3164 or RFC 5424 form HAProxy sends (log.target, log.facility,
 * log.syslog_format). docs/recheckd.8 documents every field.
 *
 * The tcplog line, field by field as HAProxy documents it (configuration.txt §8.2.2):
 *   client_ip:port [accept_date] frontend backend/server Tw/Tc/Tt bytes_read termination_state
 *   actconn/feconn/beconn/srv_conn/retries srv_queue/backend_queue
 * bytes_read counts server -> client bytes; the termination state is two letters (tlog_term()).
 *
 * Never blocks a worker: stderr is written through a non-blocking file description (a socket or a pipe
 * when it is one), UDP with MSG_DONTWAIT; a line the sink cannot take now is dropped and counted
 * (tlog_dropped(), /metrics recheck_log_dropped_total). Thread-safe.
 */
#ifndef RECHECKD_TLOG_H
#define RECHECKD_TLOG_H

#include "api.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include "relay-t.h"

struct conf;

#define TLOG_LINE_MAX 1024

/* One ended session, as the frontend knows it. Fields a module does not fill stay 0. */
struct tlog_sess {
	struct sockaddr_in6 client;   /* AF_INET or AF_INET6 (sockaddr_in fits); family 0 when unknown */
	int64_t accept_us;            /* CLOCK_REALTIME microseconds at accept */
	int64_t tw_ms;                /* Tw: queue wait; -1 when the session never reached a server */
	int64_t tc_ms;                /* Tc: connect time; -1 when no connection was established */
	int64_t tt_ms;                /* Tt: accept to end */
	const char *listener;
	const char *server;           /* NULL: no server (<NOSRV>) */
	uint64_t bytes_read;          /* server -> client */
	uint64_t bytes_uploaded;      /* client -> server */
	char term[3];                 /* termination state, e.g. "--", "CD", "SC" */
	unsigned actconn, feconn, beconn, srv_conn;
	unsigned retries;             /* connect retries (filled by the retry logic) */
	bool redispatched;            /* the last retry went to another server ("+" before retries) */
	unsigned srv_queue, backend_queue;
};

/* Applies c's log settings (start and every accepted reload; main thread). 0, or -1 with err. */
int tlog_configure(const struct conf *c, char *err, size_t errlen);
/* Closes the sink (the end). */
void tlog_close(void);
/* True when connection lines are wanted (skip building a tlog_sess otherwise). */
bool tlog_enabled(void);
/* Formats and sends s's line. Any thread. */
void tlog_session(const struct tlog_sess *s);
/* Lines dropped because the sink was full or failing. */
uint64_t tlog_dropped(void);

/*
 * HAProxy's termination state for a TCP session that ended for why; connected tells whether the server
 * connection was ever established, timeout whether a failed connect timed out.
 */
void tlog_term(char out[3], enum relay_end why, bool connected, bool timeout);

/* Formats s into out (tcplog or JSON as configured, without syslog header). Returns the length. */
size_t tlog_format(const struct tlog_sess *s, bool json, char *out, size_t outlen);

#endif
