/* ethdev-port - the port classes over rte_ethdev (DESIGN.md §4):
 *
 *   dpdk      any DPDK ethdev named by devargs= (a PCI NIC bound to
 *             vfio-pci, or a vdev: net_tap, net_pcap, net_af_packet,
 *             net_null, net_ring, ...), hot-plugged at port creation and
 *             unplugged when the port goes.  Options: devargs (required),
 *             n_rxq, n_txq, rxq_size, txq_size.
 *   internal  the exception path into the host kernel: a kernel netdev named
 *             after the port, backed by virtio-user over /dev/vhost-net
 *             where that device exists, otherwise by net_tap.  No options.
 *
 * Both are registered in vswitchd/main.c's port_classes[] table.  The
 * option parsing and the classes are in ethdev-port.c, the device life
 * cycle in ethdev-dev.c, the rx/tx bursts in ethdev-rxtx.c.  User
 * documentation: Documentation/port-types.md. */
#ifndef VSWITCH_ETHDEV_PORT_H
#define VSWITCH_ETHDEV_PORT_H 1

#include "datapath/port-provider.h"

extern const struct port_class dpdk_port_class;
extern const struct port_class internal_port_class;

#endif
