/*
 * seed_cfg.h: the pieces of the seed's HAProxy configuration (a SOCKS5 tcp-check section and an httpchk
 * section) that the HAProxy-reading unit tests (test_conf_haproxy.c, test_recipe_haproxy.c) both feed;
 * each test adds the lines it needs around them.
 */
#ifndef RECHECK_TESTS_SEED_CFG_H
#define RECHECK_TESTS_SEED_CFG_H

/* the SOCKS5 section up to its CONNECT reply check */
#define SEED_SOCKS5_CONNECT                                                         \
	"listen ha-socks5\n"                                                        \
	"bind 127.0.0.1:1080\n"                                                     \
	"option tcp-check\n"                                                        \
	"tcp-check connect\n"                                                       \
	"tcp-check send-binary 05020001\n"                                          \
	"tcp-check expect binary 0500\n"                                            \
	"tcp-check send-binary 0501000312636c69656e74332e676f6f676c652e636f6d0050\n" \
	"tcp-check expect binary 050000010000000006b5\n"

/* the HTTP section up to its balance line */
#define SEED_HTTP_HEAD                                                                                   \
	"listen ha-http\n"                                                                               \
	"bind :::1081\n"                                                                                 \
	"option httpchk GET http://client3.google.com/generate_204 HTTP/1.1\\r\\nHost:\\ client3.google.com\\r\\n" \
	"Proxy-Authorization:\\ Basic\\ xxxx\\r\\nProxy-Connection:\\ Keep-Alive\n"                      \
	"balance source\n"

#endif
