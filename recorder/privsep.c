/*
 * privsep: dropping root after the capture is open (see privsep.h). The sequence and its checks follow
 * tcpdump's droproot(): supplementary groups first (they would otherwise survive setgid), then the group,
 * then the user, all three ids at once with setres[ug]id so the saved id cannot bring root back.
 */
#include "api.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "privsep.h"
#include "util.h"

static int lookup(const char *name, struct privsep_user *u, char *err, size_t errlen)
{
	struct passwd pw, *res = NULL;
	char sbuf[4096];
	char *end;
	unsigned long id;
	int rc;

	rc = getpwnam_r(name, &pw, sbuf, sizeof(sbuf), &res);
	if (rc == 0 && !res && name[0] >= '0' && name[0] <= '9') {
		errno = 0;
		id = strtoul(name, &end, 10);
		if (errno == 0 && *end == '\0' && id <= 0xfffffffful)
			rc = getpwuid_r((uid_t)id, &pw, sbuf, sizeof(sbuf), &res);
	}
	if (rc != 0) {
		set_err(err, errlen, "cannot look up user '%s': %s", name, strerror(rc));
		return -1;
	}
	if (!res) {
		set_err(err, errlen, "no such user '%s'", name);
		return -1;
	}
	u->uid = pw.pw_uid;
	u->gid = pw.pw_gid;
	snprintf(u->name, sizeof(u->name), "%s", pw.pw_name);
	return 0;
}

int privsep_resolve(const char *user, struct privsep_user *u, char *err, size_t errlen)
{
	const char *sudo = getenv("SUDO_USER");

	memset(u, 0, sizeof(*u));
	if (user) {
		u->why = "--user";
		if (lookup(user, u, err, errlen) == -1)
			return -1;
		if (u->uid == 0) {
			set_err(err, errlen, "--user %s: refusing to keep root while parsing captured packets", user);
			return -1;
		}
		return 0;
	}
	if (sudo && *sudo) {
		u->why = "SUDO_USER";
		if (lookup(sudo, u, err, errlen) == 0 && u->uid != 0)
			return 0;
		/* sudo from root, or a stale variable: fall back to nobody rather than keep root */
	}
	u->why = "default";
	if (lookup("nobody", u, err, errlen) == -1) {
		set_err(err, errlen, "no user 'nobody' to drop privileges to; name one with --user");
		return -1;
	}
	return 0;
}

int privsep_invoking_user(struct privsep_user *u)
{
	const char *sudo = getenv("SUDO_USER");
	char err[ERR_LEN];

	memset(u, 0, sizeof(*u));
	u->why = "SUDO_USER";
	if (!sudo || !*sudo || lookup(sudo, u, err, sizeof(err)) == -1 || u->uid == 0)
		return 0;
	return 1;
}

/* The raw capability syscalls, so that recheck does not need libcap for two calls. */
static int caps_get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};

	return (int)syscall(SYS_capget, &h, d);
}

static int caps_clear(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	return (int)syscall(SYS_capset, &h, d);
}

static bool caps_none(void)
{
	struct __user_cap_data_struct d[2];

	if (caps_get(d) == -1)
		return false;
	return !d[0].effective && !d[1].effective && !d[0].permitted && !d[1].permitted;
}

int privsep_drop(const struct privsep_user *u, char *err, size_t errlen)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (setgroups(1, &u->gid) == -1) {
		set_err(err, errlen, "setgroups(%u): %s", (unsigned)u->gid, strerror(errno));
		return -1;
	}
	if (setresgid(u->gid, u->gid, u->gid) == -1) {
		set_err(err, errlen, "setresgid(%u): %s", (unsigned)u->gid, strerror(errno));
		return -1;
	}
	if (setresuid(u->uid, u->uid, u->uid) == -1) {
		set_err(err, errlen, "setresuid(%u): %s", (unsigned)u->uid, strerror(errno));
		return -1;
	}
	/* Verify rather than trust: every id is the target, and root cannot be regained. */
	if (getresuid(&r, &e, &s) == -1 || r != u->uid || e != u->uid || s != u->uid ||
	    getresgid(&rg, &eg, &sg) == -1 || rg != u->gid || eg != u->gid || sg != u->gid) {
		set_err(err, errlen, "user %s: the process ids did not all change", u->name);
		return -1;
	}
	if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1) {
		set_err(err, errlen, "user %s: root could be regained after dropping privileges", u->name);
		return -1;
	}
	if (!caps_none()) {
		set_err(err, errlen, "user %s: capabilities are left after dropping privileges", u->name);
		return -1;
	}
	/* No setuid binary run from here (there are none, but a bug should not find one) gains anything. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		set_err(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
		return -1;
	}
	return 0;
}

int privsep_drop_caps(char *err, size_t errlen)
{
	if (caps_clear() == -1) {
		set_err(err, errlen, "capset: %s", strerror(errno));
		return -1;
	}
	if (!caps_none()) {
		set_err(err, errlen, "capabilities are left after clearing them");
		return -1;
	}
	return 0;
}

void privsep_describe(char *out, size_t outlen)
{
	gid_t groups[32];
	uid_t r = 0, e = 0, s = 0;
	gid_t rg = 0, eg = 0, sg = 0;
	size_t used;
	int n, i;

	getresuid(&r, &e, &s);
	getresgid(&rg, &eg, &sg);
	snprintf(out, outlen, "uid=%u euid=%u suid=%u gid=%u egid=%u sgid=%u groups=", (unsigned)r,
		 (unsigned)e, (unsigned)s, (unsigned)rg, (unsigned)eg, (unsigned)sg);
	n = getgroups((int)ARRAY_SIZE(groups), groups);
	for (i = 0; i < n; i++) {
		used = strlen(out);
		if (used >= outlen)
			break;
		snprintf(out + used, outlen - used, "%s%u", i ? "," : "", (unsigned)groups[i]);
	}
	used = strlen(out);
	if (used < outlen)
		snprintf(out + used, outlen - used, " caps=%s", caps_none() ? "none" : "SOME");
}
