/*
 * notify: systemd's readiness protocol (sd_notify(3)) spoken directly: one datagram to the unix socket
 * named by $NOTIFY_SOCKET ("@name" is an abstract socket). Without $NOTIFY_SOCKET it does nothing.
 */
#ifndef RECHECKD_NOTIFY_H
#define RECHECKD_NOTIFY_H

#include "api.h"

/* Sends state ("READY=1", "RELOADING=1", "STOPPING=1", "STATUS=..."). 0, or -1 with errno. */
int notify_send(const char *state);

#endif
