/*
 * util: the small helpers every module shares (see util.h): error strings, hex, durations, clocks,
 * reading a capped file, the one atomic file write (temporary file, fsync, rename) and hex dumps.
 */
#include "api.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

void rc_bug(const char *file, int line, const char *what)
{
	fprintf(stderr, "recheck: BUG at %s:%d: %s\n", file, line, what);
	abort();
}

void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void vset_err_at(char *err, size_t errlen, const char *file, int line, const char *fmt, va_list ap)
{
	char msg[ERR_LEN];

	if (!err || errlen == 0)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	set_err(err, errlen, "%s:%d: %s", file, line, msg);
}

char *xstrndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *hex, size_t hexlen, unsigned char **out, size_t *outlen, char *err, size_t errlen)
{
	unsigned char *p;
	size_t i;

	if (hexlen % 2) {
		set_err(err, errlen, "an even number of hex digits is expected (got %zu)", hexlen);
		return -1;
	}
	for (i = 0; i < hexlen; i++) {
		if (hexval((unsigned char)hex[i]) == -1) {
			if (isprint((unsigned char)hex[i]))
				set_err(err, errlen, "a hex digit is expected at offset %zu (found '%c')", i, hex[i]);
			else
				set_err(err, errlen, "a hex digit is expected at offset %zu (found byte 0x%02x)", i,
					(unsigned char)hex[i]);
			return -1;
		}
	}
	p = malloc(hexlen / 2 + 1);
	if (!p) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < hexlen / 2; i++)
		p[i] = (unsigned char)(hexval((unsigned char)hex[2 * i]) << 4 | hexval((unsigned char)hex[2 * i + 1]));
	p[hexlen / 2] = '\0';
	*out = p;
	*outlen = hexlen / 2;
	return 0;
}

int hex_encode(struct buf *b, const unsigned char *p, size_t n, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		char two[2] = {digits[p[i] >> 4], digits[p[i] & 15]};
		if (buf_append(b, two, 2) == -1)
			return -1;
	}
	return 0;
}

int duration_parse_ms(const char *s, uint64_t *ms, char *err, size_t errlen)
{
	static const struct {
		const char *unit;
		uint64_t num, den; /* milliseconds = value * num / den */
	} units[] = {
		{"us", 1, 1000}, {"ms", 1, 1}, {"s", 1000, 1}, {"m", 60000, 1}, {"h", 3600000, 1}, {"d", 86400000, 1},
		{"", 1, 1},
	};
	const char *p = s;
	uint64_t v = 0;
	size_t i;

	if (!*p || !isdigit((unsigned char)*p)) {
		set_err(err, errlen, "'%s' is not a duration (expected a number with an optional unit us, ms, s, m, h, d)", s);
		return -1;
	}
	while (isdigit((unsigned char)*p)) {
		if (v > (UINT64_MAX - 9) / 10) {
			set_err(err, errlen, "duration '%s' is too large", s);
			return -1;
		}
		v = v * 10 + (uint64_t)(*p - '0');
		p++;
	}
	for (i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(p, units[i].unit) == 0) {
			if (v > UINT64_MAX / units[i].num / 1000) {
				set_err(err, errlen, "duration '%s' is too large", s);
				return -1;
			}
			*ms = (v * units[i].num + units[i].den - 1) / units[i].den;
			return 0;
		}
	}
	set_err(err, errlen, "'%s' has an unknown time unit '%s' (use us, ms, s, m, h or d)", s, p);
	return -1;
}

char *duration_fmt(uint64_t ms, char *out, size_t outlen)
{
	if (ms && ms % 3600000 == 0)
		snprintf(out, outlen, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms && ms % 60000 == 0)
		snprintf(out, outlen, "%llum", (unsigned long long)(ms / 60000));
	else if (ms && ms % 1000 == 0)
		snprintf(out, outlen, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(out, outlen, "%llums", (unsigned long long)ms);
	return out;
}

uint64_t now_ms(void)
{
	return now_us() / 1000;
}

uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode, char *err, size_t errlen)
{
	char tmp[4096];
	const unsigned char *p = data;
	int fd = -1;
	ssize_t n;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= sizeof(tmp)) {
		set_err(err, errlen, "%s: path too long", path);
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd == -1) {
		set_err(err, errlen, "%s: cannot create a temporary file: %s", path, strerror(errno));
		return -1;
	}
	if (fchmod(fd, (mode_t)mode) == -1) {
		set_err(err, errlen, "%s: chmod: %s", tmp, strerror(errno));
		goto fail;
	}
	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			set_err(err, errlen, "%s: write: %s", tmp, strerror(errno));
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == -1) {
		set_err(err, errlen, "%s: fsync: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		set_err(err, errlen, "%s: close: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		set_err(err, errlen, "%s: rename: %s", path, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}

int read_file(const char *path, size_t cap, char **out, size_t *outlen, char *err, size_t errlen)
{
	struct buf b;
	char chunk[16384];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf_init(&b, cap);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			set_err(err, errlen, "%s: read: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (buf_append(&b, chunk, (size_t)n) == -1) {
			set_err(err, errlen, "%s: file is larger than %zu bytes", path, cap);
			goto fail;
		}
	}
	close(fd);
	*out = buf_steal(&b, outlen);
	if (!*out) {
		set_err(err, errlen, "%s: out of memory", path);
		buf_free(&b);
		return -1;
	}
	return 0;
fail:
	close(fd);
	buf_free(&b);
	return -1;
}

int hexdump(struct buf *b, const unsigned char *p, size_t n, size_t mark, const char *indent)
{
	size_t off, i;

	for (off = 0; off < n; off += 16) {
		if (buf_printf(b, "%s%04zx  ", indent, off) == -1)
			return -1;
		for (i = 0; i < 16; i++) {
			if (off + i < n) {
				if (buf_printf(b, off + i == mark ? "[%02x]" : " %02x ", p[off + i]) == -1)
					return -1;
			} else if (buf_append_str(b, "    ") == -1) {
				return -1;
			}
		}
		if (buf_append_str(b, " |") == -1)
			return -1;
		for (i = 0; i < 16 && off + i < n; i++) {
			unsigned char c = p[off + i];
			if (buf_putc(b, c >= 0x20 && c < 0x7f ? c : '.') == -1)
				return -1;
		}
		if (buf_append_str(b, "|\n") == -1)
			return -1;
	}
	return 0;
}
