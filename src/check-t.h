/*
 * check-t.h: types of the I/O-free check engine (check.c on top, check_tcp.c / check_http.c, check_run.c
 * at the bottom). A check run interprets one compiled recipe the way HAProxy 2.6's tcpcheck_main()
 * does; the socket driver (check_io.c, waited on by checknet.c's poll() loop for `recheck replay` and by
 * recheckd's epoll loop in runner/health.c) performs the actions it asks for and feeds it the events
 * that follow.
 */
#ifndef RECHECK_CHECK_T_H
#define RECHECK_CHECK_T_H

#include "api.h"
#include "buf.h"
#include "recipe-t.h"
#include "tls-t.h"

/* HAProxy's tune.bufsize: the check's input buffer. A full buffer makes an expect conclusive. */
#define CHECK_BUFSIZE   16384
/* Bytes of the failing step's input kept in the result for reports. */
#define CHECK_RX_KEEP   4096
/* Length of the description text ("TCPCHK did not match content 'X' at step N"). */
#define CHECK_DESC_LEN  384

/* HAProxy's enum healthcheck_status, in the order of its check_statuses[] table. */
enum check_status {
	CHECK_UNK = 0,   /* not run yet */
	CHECK_INI,       /* initializing */
	CHECK_SOCKERR,   /* socket error (I/O error once connected, no data) */
	CHECK_L4OK,      /* TCP connect succeeded (connect-only check) */
	CHECK_L4TOUT,    /* TCP connect timed out */
	CHECK_L4CON,     /* TCP connect failed: refused, unreachable, name resolution */
	CHECK_L6OK,      /* TLS handshake passed (a recipe whose last rule is a tls step) */
	CHECK_L6TOUT,    /* TLS handshake timeout */
	CHECK_L6RSP,     /* TLS handshake error; res.tls_reason says which */
	CHECK_L7TOUT,    /* connected, but the check did not finish before the deadline */
	CHECK_L7RSP,     /* wrong or empty response */
	CHECK_L7OK,      /* every rule passed */
	CHECK_L7OKC,     /* conditionally passed (ok-status L7OKC; not produced yet) */
	CHECK_L7STS,     /* HTTP check: wrong status */
	CHECK_STATUS_COUNT,
};

/* HAProxy's check result classes (srv_check_result). */
enum check_verdict {
	CHECK_RES_UNKNOWN = 0,
	CHECK_RES_PASSED,
	CHECK_RES_CONDPASS,
	CHECK_RES_FAILED,
};

/* What check_next() asks the driver to do. */
enum check_action_type {
	CHECK_ACT_CONNECT = 0, /* close any current connection, open a new one; then check_on_connected() */
	CHECK_ACT_SEND,        /* write every byte of data; then check_on_sent() */
	CHECK_ACT_WANT_READ,   /* read at most check_rx_room() bytes when readable; feed data/eof/error */
	CHECK_ACT_TLS,         /* start TLS (client) on the current connection with tls; then
	                        * check_on_tls_ok() or check_on_tls_error(); later sends and reads go
	                        * through TLS until the connection is closed */
	CHECK_ACT_WAIT,        /* nothing new: keep waiting for the outcome of the previous action */
	CHECK_ACT_DONE,        /* finished: close the connection (RST unless linger) and read run->res */
};

struct check_action {
	enum check_action_type type;
	int port;                  /* CONNECT: 0 = the server's own port, else the rule's port override */
	const struct sockaddr_storage *addr; /* CONNECT: the rule's address (tcp-check connect addr), NULL: the
	                            * server's; its port, when not 0, applies when port is 0 */
	socklen_t addrlen;
	const struct sockaddr_storage *socks4; /* CONNECT: through this SOCKS4 proxy (NULL: direct); the
	                            * proxy is asked for the address above */
	socklen_t socks4len;
	int send_proxy;            /* CONNECT: 0, or the PROXY header version (1, 2) sent first (the step's
	                            * send_proxy); replaces the driver's own (check-send-proxy): one header */
	bool linger;               /* CONNECT/DONE: close this connection with FIN instead of RST */
	const unsigned char *data; /* SEND: bytes to write; owned by the run or the recipe, valid until
	                            * the next check_next() */
	size_t len;                /* SEND: number of bytes */
	const struct step_tls *tls; /* TLS: parameters (points into the recipe; ctx prepared) */
};

/* Internal phase of a run; every change goes through check_set_phase(). */
enum check_phase {
	CHECK_PH_START = 0,   /* check_next() not called yet */
	CHECK_PH_CONNECTING,  /* CONNECT issued, waiting for connected / error / timeout */
	CHECK_PH_SENDING,     /* SEND issued, waiting for sent / error / timeout */
	CHECK_PH_READING,     /* WANT_READ issued, waiting for data / eof / error / timeout */
	CHECK_PH_TLS,         /* TLS issued, waiting for the handshake's outcome / timeout */
	CHECK_PH_EVAL,        /* ready to evaluate the current rule */
	CHECK_PH_DONE,        /* result is final */
	CHECK_PH_COUNT,
};

/* Time spent in one step (connect: until connected; send: until written; expect: until concluded). */
struct check_timing {
	int step;              /* HAProxy step number (0: implicit connect) */
	int idx;               /* index in recipe->steps (TCP) or -1 (implicit connect, HTTP request/response) */
	uint64_t start_us;     /* clock at the start of the step */
	uint64_t end_us;       /* clock at its end; 0 while running or never reached */
};

struct check_result {
	enum check_status status;
	int step;                  /* HAProxy numbering: 0 = implicit connect, N = the N-th rule (1-based) */
	int idx;                   /* index in recipe->steps / recipe->hexp of that rule, -1 when implicit */
	const char *comment;       /* the step's comment (points into the recipe), NULL when none */
	const char *kind;          /* "connect", "send", "expect string", "http status", ... (static) */
	char desc[CHECK_DESC_LEN]; /* HAProxy-like description: "TCPCHK did not match content 'X' at step 3" */
	int err;                   /* errno of an L4CON / SOCKERR, else 0 */
	int http_code;             /* HTTP recipes: the response status code, 0 when none */
	const unsigned char *expected; /* the failing expect's pattern (points into the recipe), NULL if none */
	size_t explen;
	bool negate;               /* the failing expect was negated */
	unsigned char *rx;         /* owned copy of what the failing step had received (capped), may be NULL */
	size_t rxlen;
	size_t rxtotal;            /* bytes the step had received before the cap of rx */
	uint64_t start_us, end_us; /* whole check */
	enum tls_reason tls_reason; /* L6RSP: why the TLS handshake failed */
	/* The check's delay, split as mihomo's url-test reports it; -1 when the phase was not reached. */
	int64_t connect_us;        /* first TCP connect */
	int64_t tls_us;            /* first TLS handshake */
	int64_t ttfb_us;           /* last send until the first byte of its answer */
};

typedef void (*check_trace_fn)(void *arg, const char *line);

/*
 * One run of a recipe. Small, owned by its driver, never shared between threads; the recipe it points
 * to is shared read-only. Initialise with check_run_init(), release with check_run_free().
 */
struct check_run {
	const struct recipe *recipe; /* not owned; must outlive the run; env already resolved */
	enum check_phase phase;
	int cur;                     /* TCP: index of the current rule, -1 for the implicit connect;
	                              * HTTP: 0 request, 1 response */
	int last;                    /* TCP: index of the last rule evaluated (for the final status) */
	bool connected;              /* the current connection is established */
	bool sent;                   /* the pending SEND was fully written */
	bool peer_closed;            /* EOF seen on the current connection */
	int sock_err;                /* errno fed by check_on_error(), 0 when none */
	const char *conn_fail;       /* check_on_conn_fail()'s reason (static), NULL when none */
	bool expired;                /* check_on_timeout() was called */
	bool got_data;               /* data arrived since the last WANT_READ */
	bool must_read;              /* the next expect reads first (after connect/send, or a WAIT) */
	bool last_read;              /* no more data will come: peer closed, error, or buffer full */
	bool linger;                 /* current connection closes with FIN */
	bool tls_ok;                 /* the pending TLS handshake completed */
	enum tls_reason tls_err;     /* the pending TLS handshake failed (TLS_R_NONE: not yet) */
	char tls_detail[160];        /* its detail text */
	uint64_t sent_us;            /* when the last send completed; 0 once its first byte came back */
	struct buf in;               /* received since the last connect/send, capped at CHECK_BUFSIZE */
	struct buf out;              /* serialised HTTP request (HTTP recipes only) */
	struct check_timing *times;  /* owned, ntimes entries: one per rule + the implicit connect */
	size_t ntimes;
	struct check_result res;
	uint64_t (*clock)(void);     /* microsecond clock, now_us() by default; tests may replace it */
	check_trace_fn trace;        /* optional: step and phase trace (recheck replay -v, debug) */
	void *trace_arg;
	bool trace_phases;           /* also trace every phase change with its source line */
};

#endif
