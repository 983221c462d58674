/*
 * lb_fixture.h: builds a backend from a compact spec for the lb unit tests (test_lb_map.c,
 * test_lb_chash.c, test_lb_avoid.c, test_lb_runtime.c). Spec: space-separated name:weight[:flags], flags b = backup, d = down (after one
 * failed check from the start-up state), i<N> = explicit id N.
 */
#ifndef RECHECK_TEST_LB_FIXTURE_H
#define RECHECK_TEST_LB_FIXTURE_H

#define NMAX 16

struct fixture {
	struct server srv[NMAX];
	struct server *p[NMAX];
	size_t n;
	struct lb_backend *be;
};

/* spec: "s1:1 s2:2 b1:2:b s3:1:d" = name:weight[:b(ackup)][:d(own)] */
static void setup_be(struct fixture *f, const char *spec, enum lb_algo algo, bool aval, bool allbk)
{
	char buf[256], *save = NULL, *tok, err[ERR_LEN];

	memset(f, 0, sizeof(*f));
	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		struct server *s = &f->srv[f->n];
		char *name = tok, *w = strchr(tok, ':'), *fl;

		assert_true(f->n < NMAX);
		*w++ = '\0';
		fl = strchr(w, ':');
		if (fl)
			*fl++ = '\0';
		assert_int_equal(server_init(s, name, err, sizeof(err)), 0);
		s->weight = (unsigned)strtoul(w, NULL, 10);
		s->backup = fl && strchr(fl, 'b');
		if (fl && strchr(fl, 'i'))
			s->id = (unsigned)strtoul(strchr(fl, 'i') + 1, NULL, 10);
		s->check.enabled = true;
		server_start(s);
		if (fl && strchr(fl, 'd'))
			server_check_result(s, SRV_CHK_FAILED, 1);
		f->p[f->n] = s;
		f->n++;
	}
	assert_int_equal(server_assign_puids(f->p, f->n, err, sizeof(err)), 0);
	f->be = lb_backend_new("be", algo, aval, allbk, f->p, f->n, err, sizeof(err));
	assert_non_null(f->be);
}

static UNUSED struct server *find(struct fixture *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->srv[i].name, name) == 0)
			return &f->srv[i];
	fail_msg("no server %s", name);
	return NULL;
}

#endif
