/*
 * nojit: linked into the libFuzzer targets with -Wl,--wrap=pcre2_jit_compile_8. Mapping executable
 * memory for every regex of every input made the recipe targets ~10x slower; regex.c treats a failed JIT
 * compile as "use the interpreter", which matches the same strings, so the parsers see no difference.
 */
#include "api.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

int __wrap_pcre2_jit_compile_8(pcre2_code_8 *code, uint32_t options);

int __wrap_pcre2_jit_compile_8(pcre2_code_8 *code, uint32_t options)
{
	(void)code;
	(void)options;
	return PCRE2_ERROR_JIT_BADOPTION;
}
