/*
 * fuzz_conf: recheckd's configuration loader (runner/conf*.c, compiled into this target), without
 * loading recipe files (CONF_NO_RECIPES). Host names must not reach DNS while fuzzing: the target is
 * linked with -Wl,--wrap=getaddrinfo and the wrapper below makes every lookup numeric.
 */
#include "api.h"

#include <netdb.h>

#include "conf.h"
#include "fuzz.h"

int __real_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		       struct addrinfo **res);
int __wrap_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		       struct addrinfo **res);

int __wrap_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		       struct addrinfo **res)
{
	struct addrinfo h = {0};

	if (hints)
		h = *hints;
	h.ai_flags |= AI_NUMERICHOST;
	return __real_getaddrinfo(node, service, &h, res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERR_LEN];
	struct conf *c;

	c = conf_load_mem((const char *)data, size, "fuzz.yaml", "/nonexistent", CONF_NO_RECIPES, err,
			  sizeof(err));
	if (c && c->nlisteners)
		(void)conf_listener_find(c, c->listeners[0].name);
	conf_free(c);
	return 0;
}
