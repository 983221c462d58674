/*
 * buildinfo: the version banner, with the libraries as compiled against and as loaded at run time
 * (a distribution upgrade changes the second without a rebuild, which is worth seeing in a report).
 */
#include "api.h"

#include <curl/curl.h>
#include <pcap/pcap.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <yaml.h>
#ifdef RECHECK_HAVE_OPENSSL
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#endif

#include "buildinfo.h"

/* Set by CMake from pkg-config for this file only (see CMakeLists.txt). */
#ifndef RECHECK_BUILD_TYPE
#define RECHECK_BUILD_TYPE "unknown"
#endif
#ifndef RECHECK_PCAP_VERSION
#define RECHECK_PCAP_VERSION "?"
#endif
#ifndef RECHECK_YAML_VERSION
#define RECHECK_YAML_VERSION "?"
#endif

static void print_pcre2(FILE *f)
{
	char ver[64] = "?";
	uint32_t jit = 0;

	pcre2_config(PCRE2_CONFIG_VERSION, ver);
	if (pcre2_config(PCRE2_CONFIG_JIT, &jit) < 0)
		jit = 0;
	fprintf(f, "  PCRE2:   %s (compiled %d.%d), JIT %s\n", ver, PCRE2_MAJOR, PCRE2_MINOR, jit ? "yes" : "no");
}

void buildinfo_print(FILE *f, const char *prog, bool verbose)
{
	const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);

	fprintf(f, "%s %s\n", prog, RECHECK_VERSION);
	if (!verbose)
		return;
	fprintf(f, "Build type: %s, compiler: %s%s\n", RECHECK_BUILD_TYPE,
#ifdef __clang__
		"clang " __clang_version__,
#elif defined(__GNUC__)
		"gcc " __VERSION__,
#else
		"unknown",
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(RECHECK_SANITIZED)
		", sanitizers: address,undefined"
#else
		""
#endif
	);
	fprintf(f, "Libraries (as running, and as compiled against):\n");
	fprintf(f, "  libpcap: %s (compiled %s)\n", pcap_lib_version(), RECHECK_PCAP_VERSION);
	fprintf(f, "  libcurl: %s (compiled %s), TLS: %s\n", cv->version, LIBCURL_VERSION,
		cv->ssl_version ? cv->ssl_version : "none");
	fprintf(f, "  libyaml: %s (compiled %s)\n", yaml_get_version_string(), RECHECK_YAML_VERSION);
	print_pcre2(f);
#ifdef RECHECK_HAVE_OPENSSL
	fprintf(f, "  OpenSSL: %s (compiled %s)\n", OpenSSL_version(OPENSSL_VERSION), OPENSSL_VERSION_TEXT);
#else
	fprintf(f, "  OpenSSL: not linked\n");
#endif
	fprintf(f, "Features: +EPOLL +EPOLLEXCLUSIVE +SO_REUSEPORT +SPLICE +SD_NOTIFY (built in, no libsystemd) "
		   "+IPV6 %cTLS_CHECKS\n",
#ifdef RECHECK_HAVE_OPENSSL
		'+'
#else
		'-'
#endif
	);
}
