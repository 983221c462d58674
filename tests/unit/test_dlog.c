/*
 * Unit tests for recheckd's log (runner/dlog.c): worker threads log while the main thread switches the
 * debug level back and forth, as a SIGHUP reload does. Every line must arrive whole, in the documented
 * format, and debug lines only while debug is on. (Built with -fsanitize=thread, this is also the race
 * test for dlog's switches.)
 */
#include "api.h"

#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dlog.h"

#define NTHREADS 4
#define NLINES   2000

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg, i;

	for (i = 0; i < NLINES; i++) {
		dlog_info("worker %d line %d", id, i);
		dlog_debug("worker %d debug %d", id, i);
	}
	return NULL;
}

static void lines_whole_during_switches(void **state)
{
	char path[] = "/tmp/test_dlog.XXXXXX", *text, *line, *save = NULL;
	pthread_t t[NTHREADS];
	int fd, saved, i, ninfo = 0, ndebug = 0;
	FILE *f;
	long len;

	fd = mkstemp(path);
	assert_int_not_equal(fd, -1);
	saved = dup(STDERR_FILENO);
	assert_int_not_equal(saved, -1);
	assert_int_not_equal(dup2(fd, STDERR_FILENO), -1);
	dlog_init(false, false);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i), 0);
	for (i = 0; i < 5000; i++)
		dlog_init(false, i % 2 == 0);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	dlog_init(false, false);
	dlog_debug("never shown");
	assert_int_not_equal(dup2(saved, STDERR_FILENO), -1);
	close(saved);

	f = fdopen(fd, "r");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	assert_true(len > 0);
	rewind(f);
	text = calloc(1, (size_t)len + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	unlink(path);
	assert_int_equal(text[len - 1], '\n');
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int id, n;
		char tail;

		/* 2026-12-02T15:32:44.569Z recheckd[11728]: info: worker 1 line 7 */
		if (strlen(line) < 25 || line[4] != '-' || line[10] != 'T' || line[23] != 'Z' || !strstr(line, " recheckd["))
			fail_msg("malformed line: %s", line);
		if (sscanf(strstr(line, "]: ") + 3, "info: worker %d line %d%c", &id, &n, &tail) == 2)
			ninfo++;
		else if (sscanf(strstr(line, "]: ") + 3, "debug: worker %d debug %d%c", &id, &n, &tail) == 2)
			ndebug++;
		else
			fail_msg("unexpected line: %s", line);
		assert_true(id >= 0 && id < NTHREADS && n >= 0 && n < NLINES);
	}
	assert_int_equal(ninfo, NTHREADS * NLINES);
	assert_true(ndebug <= NTHREADS * NLINES);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lines_whole_during_switches),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
