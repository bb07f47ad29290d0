/* eal-log - DPDK's log messages through vlog.
 *
 * By default DPDK writes its messages (EAL, PMDs, librte_vhost) to stdout
 * and syslog, bypassing --log-file and, worse, reaching the terminal a
 * --detach'ed vswitchd was started from.  eal_log_redirect() gives DPDK a
 * stdio stream (fopencookie) whose writes become vlog messages in module
 * "dpdk", at the level of the DPDK message (rte_log_cur_msg_loglevel()), so
 * they go wherever vswitchd's own messages go. */
#ifndef VSWITCH_EAL_LOG_H
#define VSWITCH_EAL_LOG_H 1

/* Installs the stream with rte_openlog_stream().  Call it before
 * rte_eal_init(), so that EAL's first messages take the same path.  Returns
 * 0 or a negative errno. */
int eal_log_redirect(void);

#endif
