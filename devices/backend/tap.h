/* tap.h - the host side of virtio-net: an existing Linux tap device,
 * opened by name with the virtio 1.x vnet header (12 bytes, num_buffers
 * included) in front of every frame, both ways.
 *
 * vmrun never creates the tap: the operator does (`ip tuntap add dev NAME
 * mode tap [user USER]`), so a typo cannot make a new, unconfigured
 * interface appear. */
#ifndef VMRUN_BACKEND_TAP_H
#define VMRUN_BACKEND_TAP_H

#include <stdbool.h>

#include "core/log.h"

#define TAP_VNET_HDR_LEN 12

/* Offloads the tap may hand us in received frames (TUNSETOFFLOAD). */
struct tap_offload {
    bool csum; /* partially checksummed frames */
    bool tso4, tso6, tso_ecn;
};

/* Attaches to the existing tap (name) (IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR, non-blocking) and stores the fd in (*fd).  Errors are
 * logged with (what) (e.g. "network-interfaces[0] (eth0)") and the cure:
 * -ENODEV no such interface, -EBUSY another process has it, -EPERM not
 * allowed, -EINVAL not a (single-queue) tap or bad name. */
int tap_open(const char *name, const char *what, const struct logger *log,
             int *fd) __attribute__((warn_unused_result));

/* Tells the tap which offloads the guest accepts on receive. */
int tap_set_offload(int fd, const struct tap_offload *off)
    __attribute__((warn_unused_result));

#endif
