/*
 * sdnotify.h: tell systemd about start-up, reloads and shutdown
 * (Type=notify), without libsystemd: one datagram to $NOTIFY_SOCKET, as
 * OpenSSH does.  A no-op when not run by systemd.
 */
#ifndef EPPGW_SDNOTIFY_H
#define EPPGW_SDNOTIFY_H

/* state is e.g. "READY=1\nSTATUS=serving".  0 sent or nothing to do. */
int sd_notify_state(const char *state);

/* "RELOADING=1" with the monotonic timestamp systemd 253+ wants. */
int sd_notify_reloading(void);

#endif
