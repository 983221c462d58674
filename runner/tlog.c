/*
 * tlog: see tlog.h. Reference: HAProxy configuration.txt §8.2.2 (tcplog), §8.5 (termination states),
 * RFC 3164 §4.1 and RFC 5424 §6 (the syslog headers HAProxy writes).
 */
#include "api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "stats.h"
#include "tlog.h"
#include "util.h"

enum sink_kind {
	SINK_WRITE = 0, /* write(2) to fd: a regular file or a tty, which do not block for long */
	SINK_SEND,      /* send(2) with MSG_DONTWAIT: a stream socket (the journal) or UDP */
};

static struct {
	pthread_rwlock_t lock;
	bool on;
	bool json;
	bool syslog;              /* UDP syslog framing */
	bool rfc5424;
	int facility;
	int fd;                   /* -1: none; STDERR_FILENO is never closed */
	bool own_fd;
	enum sink_kind kind;
	char host[256];
	uint64_t dropped;         /* atomic */
} tl = {PTHREAD_RWLOCK_INITIALIZER, false, false, false, false, 16, -1, false, SINK_WRITE, "-", 0};

static void close_sink(void)
{
	if (tl.own_fd && tl.fd != -1)
		close(tl.fd);
	tl.fd = -1;
	tl.own_fd = false;
}

/* A file description on stderr that never blocks a worker. */
static int open_stderr(enum sink_kind *kind, bool *own)
{
	struct stat st;
	int fd;

	*own = false;
	*kind = SINK_WRITE;
	if (fstat(STDERR_FILENO, &st) == -1)
		return -1;
	if (S_ISSOCK(st.st_mode)) {
		*kind = SINK_SEND;
		return STDERR_FILENO;
	}
	if (S_ISFIFO(st.st_mode)) {
		/* Reopening the pipe gives a description of our own: O_NONBLOCK on it leaves the shared one alone. */
		fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd != -1) {
			*own = true;
			return fd;
		}
	}
	return STDERR_FILENO;
}

int tlog_configure(const struct conf *c, char *err, size_t errlen)
{
	enum sink_kind kind = SINK_SEND;
	bool own = true;
	int fd = -1;

	if (c->log_format != CONF_LOGF_OFF) {
		if (c->log_udp) {
			fd = socket(c->log_addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd == -1 || connect(fd, (const struct sockaddr *)&c->log_addr, c->log_addrlen) == -1) {
				set_err(err, errlen, "log.target: %s", strerror(errno));
				if (fd != -1)
					close(fd);
				return -1;
			}
		} else {
			fd = open_stderr(&kind, &own);
		}
	}
	pthread_rwlock_wrlock(&tl.lock);
	close_sink();
	tl.fd = fd;
	tl.own_fd = own && fd != -1;
	tl.kind = kind;
	tl.on = fd != -1;
	tl.json = c->log_format == CONF_LOGF_JSON;
	tl.syslog = c->log_udp;
	tl.rfc5424 = c->log_rfc5424;
	tl.facility = c->log_facility;
	if (gethostname(tl.host, sizeof(tl.host)) == -1 || !tl.host[0])
		snprintf(tl.host, sizeof(tl.host), "-");
	tl.host[sizeof(tl.host) - 1] = '\0';
	pthread_rwlock_unlock(&tl.lock);
	return 0;
}

void tlog_close(void)
{
	pthread_rwlock_wrlock(&tl.lock);
	close_sink();
	tl.on = false;
	pthread_rwlock_unlock(&tl.lock);
}

bool tlog_enabled(void)
{
	return __atomic_load_n(&tl.on, __ATOMIC_RELAXED);
}

uint64_t tlog_dropped(void)
{
	return __atomic_load_n(&tl.dropped, __ATOMIC_RELAXED);
}

void tlog_term(char out[3], enum relay_end why, bool connected, bool timeout)
{
	static const char *const st[] = {
		[RELAY_END_DONE] = "--",           [RELAY_END_CLIENT_TIMEOUT] = "cD", [RELAY_END_SERVER_TIMEOUT] = "sD",
		[RELAY_END_CLIENT_ERROR] = "CD",   [RELAY_END_SERVER_ERROR] = "SD",   [RELAY_END_KILLED] = "KD",
		[RELAY_END_RESOURCE] = "RD",       [RELAY_END_CONNECT] = "SC",
	};
	const char *s = (size_t)why < ARRAY_SIZE(st) && st[why] ? st[why] : "--";

	memcpy(out, s, 3);
	if (why == RELAY_END_CONNECT && timeout)
		out[0] = 's';
	/* ended before the server connection was up: the second letter says so (HAProxy's 'C' state) */
	if (!connected && why != RELAY_END_DONE)
		out[1] = 'C';
}

static void fmt_client(const struct tlog_sess *s, char *ip, size_t iplen, int *port)
{
	*port = 0;
	snprintf(ip, iplen, "-");
	if (s->client.sin6_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&s->client;

		inet_ntop(AF_INET, &in->sin_addr, ip, (socklen_t)iplen);
		*port = ntohs(in->sin_port);
	} else if (s->client.sin6_family == AF_INET6) {
		inet_ntop(AF_INET6, &s->client.sin6_addr, ip, (socklen_t)iplen);
		*port = ntohs(s->client.sin6_port);
	}
}

size_t tlog_format(const struct tlog_sess *s, bool json, char *out, size_t outlen)
{
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	char ip[INET6_ADDRSTRLEN + 2], retries[16];
	time_t t = (time_t)(s->accept_us / 1000000);
	int ms = (int)(s->accept_us / 1000 % 1000), port, n;
	struct tm tm;

	fmt_client(s, ip, sizeof(ip), &port);
	snprintf(retries, sizeof(retries), "%s%u", s->redispatched ? "+" : "", s->retries);
	if (json) {
		struct buf b;
		char *p;

		gmtime_r(&t, &tm);
		buf_init(&b, outlen ? outlen - 1 : 0);
		buf_printf(&b, "{\"client_ip\":\"%s\",\"client_port\":%d,\"accept_date\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\","
			   "\"listener\":", ip, port, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			   tm.tm_sec, ms);
		stats_json_str(&b, s->listener ? s->listener : "-");
		buf_append_str(&b, ",\"server\":");
		if (s->server)
			stats_json_str(&b, s->server);
		else
			buf_append_str(&b, "null");
		buf_printf(&b, ",\"Tw\":%lld,\"Tc\":%lld,\"Tt\":%lld,\"bytes_read\":%llu,\"bytes_uploaded\":%llu,"
			   "\"termination_state\":\"%s\",\"actconn\":%u,\"feconn\":%u,\"beconn\":%u,\"srv_conn\":%u,"
			   "\"retries\":%u,\"redispatched\":%s,\"srv_queue\":%u,\"backend_queue\":%u}",
			   (long long)s->tw_ms, (long long)s->tc_ms, (long long)s->tt_ms, (unsigned long long)s->bytes_read,
			   (unsigned long long)s->bytes_uploaded, s->term, s->actconn, s->feconn, s->beconn, s->srv_conn,
			   s->retries, s->redispatched ? "true" : "false", s->srv_queue, s->backend_queue);
		n = 0;
		if (b.len < outlen && (p = buf_cstr(&b)) != NULL) {
			memcpy(out, p, b.len + 1);
			n = (int)b.len;
		} else if (outlen) {
			out[0] = '\0';
		}
		buf_free(&b);
		return (size_t)n;
	}
	localtime_r(&t, &tm);
	n = snprintf(out, outlen, "%s:%d [%02d/%s/%04d:%02d:%02d:%02d.%03d] %s %s/%s %lld/%lld/%lld %llu %s %u/%u/%u/%u/%s %u/%u",
		     ip, port, tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, ms,
		     s->listener ? s->listener : "-", s->listener ? s->listener : "-", s->server ? s->server : "<NOSRV>",
		     (long long)s->tw_ms, (long long)s->tc_ms, (long long)s->tt_ms, (unsigned long long)s->bytes_read,
		     s->term, s->actconn, s->feconn, s->beconn, s->srv_conn, retries, s->srv_queue, s->backend_queue);
	if (n < 0)
		return 0;
	return (size_t)n < outlen ? (size_t)n : outlen - 1;
}

/* The syslog header HAProxy writes: RFC 3164 "<PRI>Mmm dd hh:mm:ss tag[pid]: " or RFC 5424. */
static size_t syslog_head(char *out, size_t outlen)
{
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	int pri = tl.facility * 8 + 6; /* info */
	struct timespec ts;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (tl.rfc5424) {
		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(out, outlen, "<%d>1 %04d-%02d-%02dT%02d:%02d:%02d.%06ldZ %s recheckd %d - - ", pri,
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			     ts.tv_nsec / 1000, tl.host, (int)getpid());
	} else {
		localtime_r(&ts.tv_sec, &tm);
		n = snprintf(out, outlen, "<%d>%s %2d %02d:%02d:%02d recheckd[%d]: ", pri, mon[tm.tm_mon], tm.tm_mday,
			     tm.tm_hour, tm.tm_min, tm.tm_sec, (int)getpid());
	}
	return n < 0 ? 0 : (size_t)n < outlen ? (size_t)n : outlen - 1;
}

void tlog_session(const struct tlog_sess *s)
{
	char line[TLOG_LINE_MAX + 256];
	size_t n = 0;
	ssize_t w;

	if (!tlog_enabled())
		return;
	pthread_rwlock_rdlock(&tl.lock);
	if (!tl.on)
		goto out;
	if (tl.syslog)
		n = syslog_head(line, sizeof(line));
	n += tlog_format(s, tl.json, line + n, sizeof(line) - n - 1);
	if (!tl.syslog)
		line[n++] = '\n';
	if (tl.kind == SINK_SEND)
		w = send(tl.fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	else
		w = write(tl.fd, line, n);
	if (w != (ssize_t)n)
		__atomic_fetch_add(&tl.dropped, 1, __ATOMIC_RELAXED);
out:
	pthread_rwlock_unlock(&tl.lock);
}
