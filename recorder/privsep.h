/*
 * privsep: give up root the way tcpdump does (-Z): the capture is opened and activated while privileged,
 * then the process switches for good to an unprivileged user before it runs libcurl or parses a single
 * captured byte. The switch is verified: regaining root must fail, or the process refuses to go on.
 */
#ifndef RECHECK_PRIVSEP_H
#define RECHECK_PRIVSEP_H

#include <sys/types.h>

#include "api.h"

#define PRIVSEP_NAME_LEN 64

/* Who to become. Resolved before anything privileged is opened, so that a typo fails early. */
struct privsep_user {
	uid_t uid;
	gid_t gid;
	char name[PRIVSEP_NAME_LEN];    /* for messages */
	const char *why;                /* "--user", "SUDO_USER" or "default", for messages */
};

/*
 * Picks the user to drop to: user when not NULL (a name or a numeric uid), else the invoking sudo user
 * (SUDO_USER, but never root), else "nobody". Returns 0, or -1 with a reason in err (unknown user, root
 * asked for explicitly).
 */
int privsep_resolve(const char *user, struct privsep_user *u, char *err, size_t errlen);

/*
 * The user behind sudo (SUDO_USER, not root): 1 with u filled, 0 when there is none (root ran the
 * command itself, or sudo was run by root).
 */
int privsep_invoking_user(struct privsep_user *u);

/*
 * Drops root for good: setgroups to the single group u->gid, setgid, setuid (real, effective and saved
 * ids), then checks that setuid(0) and setgid(0) fail and that no capability is left. Returns 0, or -1
 * with a reason in err; the caller must stop when it fails.
 */
int privsep_drop(const struct privsep_user *u, char *err, size_t errlen);

/*
 * For a process that is not root but holds file capabilities (setcap cap_net_raw): clears its
 * effective, permitted and inheritable capability sets once the capture is open. 0, or -1 with err.
 */
int privsep_drop_caps(char *err, size_t errlen);

/* Appends "uid=N euid=N gid=N egid=N groups=N,..." of the calling process to out (for -v). */
void privsep_describe(char *out, size_t outlen);

#endif
