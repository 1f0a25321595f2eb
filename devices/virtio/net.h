/* net.h - virtio-net (virtio 1.2 §5.1) over virtio-mmio on a tap
 * (devices/backend/tap.h): one receiveq (0) and one transmitq (1).
 *
 * Offers MAC (guest_mac, else a random locally administered one), STATUS
 * (link up), MRG_RXBUF, MTU when configured, and the offloads a tap takes
 * with its vnet header: CSUM, HOST_TSO4/6, HOST_ECN (the guest sends
 * partially checksummed / GSO frames, the host kernel finishes them) and
 * GUEST_CSUM, GUEST_TSO4/6, GUEST_ECN (TUNSETOFFLOAD with what the guest
 * negotiated).  UFO is not offered either way.
 *
 * RX: the tap's frame is read straight into the guest's buffers (one
 * readv over the chains the device holds, plus a preallocated bounce
 * buffer behind them that only catches frames too big to fit: those are
 * dropped and counted).  With MRG_RXBUF the device first holds chains for
 * the largest frame the guest negotiated (65550 bytes with a guest GSO
 * offload, else MTU + 18), a frame spans as many as it needs and
 * num_buffers says how many; without it each frame needs one chain big
 * enough.  While the guest has too few buffers the tap is not watched
 * (the host queues or drops, never the device silently) until the next
 * receiveq kick.  No allocation per packet.
 * TX: each chain's header (copied, checked against the negotiated
 * features) and frame go to the tap in one writev; a bad chain (too short
 * or long, device-writable parts, unnegotiated offload) is dropped and
 * counted alone; at most 256 chains per event-loop turn.  A malformed ring
 * sets DEVICE_NEEDS_RESET. */
#ifndef VMRUN_VIRTIO_NET_H
#define VMRUN_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "core/memory.h"

struct dev_env;
struct snap_buf;
struct snap_rd;
struct virtio_net;

#define VIRTIO_NET_QUEUE_SIZE 256
#define VIRTIO_NET_HDR_LEN 12      /* struct virtio_net_hdr, §5.1.6 */
#define VIRTIO_NET_FRAME_MAX 65550 /* largest frame a tap hands over */

/* Feature bits (§5.1.3). */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_GUEST_UFO 10
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_HOST_UFO 14
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16

/* Header fields (§5.1.6). */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
#define VIRTIO_NET_HDR_GSO_UDP 3
#define VIRTIO_NET_HDR_GSO_TCPV6 4
#define VIRTIO_NET_HDR_GSO_ECN 0x80

/* Config space (struct virtio_net_config, §5.1.4). */
#define VIRTIO_NET_CFG_MAC 0
#define VIRTIO_NET_CFG_STATUS 6
#define VIRTIO_NET_CFG_MAX_VQ_PAIRS 8
#define VIRTIO_NET_CFG_MTU 10
#define VIRTIO_NET_CFG_SIZE 12
#define VIRTIO_NET_S_LINK_UP 1

struct virtio_net_stats {
    uint64_t rx_packets, rx_bytes; /* frames (and their bytes) delivered */
    uint64_t rx_dropped; /* frames too big for the buffers the guest gave */
    uint64_t tx_packets, tx_bytes; /* frames the tap took */
    uint64_t tx_dropped; /* the tap refused them (down, full, bad GSO) */
    uint64_t tx_errors;  /* malformed chains and unnegotiated offloads */
    uint64_t rx_yields;  /* receive turns cut short by the per-call budget */
};

/* Attaches to the existing tap (cfg->host_dev_name) (see tap_open(): a
 * missing, busy or forbidden tap is one clear logged line and -ENODEV,
 * -EBUSY, -EPERM) and registers a virtio-mmio device at [base, base +
 * 4 KiB) with GSI (irq).  (cfg) is copied where needed.  Call after the
 * irqchip and the event loop exist, before the vCPUs start. */
int virtio_net_create(const struct dev_env *env, const struct net_config *cfg,
                      gpa_t base, uint32_t irq, struct virtio_net **out)
    __attribute__((warn_unused_result));

/* The same on an fd the caller opened that behaves like the tap: one
 * frame, vnet header first, per read and write (tests use a
 * SOCK_SEQPACKET socketpair).  With (is_tap) false no tap ioctl is made.
 * The device owns (fd) from now on, also on failure. */
int virtio_net_create_fd(const struct dev_env *env,
                         const struct net_config *cfg, int fd, bool is_tap,
                         gpa_t base, uint32_t irq, struct virtio_net **out)
    __attribute__((warn_unused_result));

/* A snapshot of the counters.  Any thread. */
void virtio_net_get_stats(struct virtio_net *net, struct virtio_net_stats *st);

/* The MAC in the config space (the configured or the random one). */
void virtio_net_get_mac(const struct virtio_net *net, uint8_t mac[6]);

/* Closes the tap and frees.  Call after the vCPUs and the event loop have
 * stopped, before guest RAM is unmapped.  NULL is a no-op. */
void virtio_net_destroy(struct virtio_net *net);

/* The VM's entry points into this device (dev_env.h).  Snapshots (see
 * virtio_mmio_save()): saving gives the receive chains the
 * device holds back to the avail ring, so the restored device pops them again.
 * Call on a stopped VM. */
struct device_ops;
extern const struct device_ops virtio_net_device_ops;

#endif
