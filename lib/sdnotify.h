/* sdnotify - tells systemd about the daemon's state (sd_notify(3) protocol).
 *
 * A unit with Type=notify starts vswitchd in the foreground with
 * $NOTIFY_SOCKET naming a unix datagram socket; the daemon sends
 * "READY=1" once its control socket accepts connections and "STOPPING=1"
 * when it starts shutting down.  The protocol is one datagram of
 * newline-separated KEY=VALUE lines, so this needs no libsystemd.  Outside
 * systemd ($NOTIFY_SOCKET unset) every call is a no-op. */
#ifndef VSWITCH_SDNOTIFY_H
#define VSWITCH_SDNOTIFY_H 1

/* Sends 'state' (e.g. "READY=1\nSTATUS=...") to $NOTIFY_SOCKET, a path or,
 * with a leading '@', an abstract socket name.  Any thread; blocks at most
 * as long as one non-blocking sendto().  Returns 1 if sent, 0 if
 * $NOTIFY_SOCKET is unset or empty, or a negative errno (-EINVAL for a
 * name that is not a valid unix socket address). */
int sdnotify(const char *state);

#endif
