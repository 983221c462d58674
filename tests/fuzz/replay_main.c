/*
 * replay_main: runs committed fuzz inputs through a target's LLVMFuzzerTestOneInput() without libFuzzer,
 * so the corpus and every regression input are replayed by the ordinary (gcc, ASan) test build.
 *
 *   fuzz_replay_<name> FILE|DIR...   (a directory: every regular file in it, in name order)
 *
 * Exit 0 when every input ran (a crash or sanitizer report ends the process), 2 on a usage or I/O error.
 */
#include "api.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "util.h"

#define REPLAY_MAX_INPUT (16u << 20)

static int run_file(const char *path, size_t *count)
{
	char err[ERR_LEN];
	char *data = NULL;
	size_t len = 0;

	if (read_file(path, REPLAY_MAX_INPUT, &data, &len, err, sizeof(err)) == -1) {
		fprintf(stderr, "replay: %s\n", err);
		return -1;
	}
	/* An exact-size copy, so ASan sees a read one past the end as libFuzzer would. */
	{
		uint8_t *exact = malloc(len ? len : 1);

		if (!exact) {
			free(data);
			fprintf(stderr, "replay: %s: out of memory\n", path);
			return -1;
		}
		memcpy(exact, data, len);
		free(data);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	(*count)++;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *path, size_t *count)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;
	int rc = 0;

	if (!d) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char **nv;

		if (de->d_name[0] == '.')
			continue;
		nv = realloc(names, (n + 1) * sizeof(*names));
		if (!nv || !(nv[n] = strdup(de->d_name))) {
			names = nv ? nv : names;
			rc = -1;
			break;
		}
		names = nv;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++) {
		char full[4096];
		struct stat st;

		if (rc == 0) {
			snprintf(full, sizeof(full), "%s/%s", path, names[i]);
			if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && run_file(full, count) == -1)
				rc = -1;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) == -1) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 2;
		}
		if ((S_ISDIR(st.st_mode) ? run_dir(argv[i], &count) : run_file(argv[i], &count)) == -1)
			return 2;
	}
	printf("replayed %zu input(s)\n", count);
	return 0;
}
