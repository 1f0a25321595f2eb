/* tap.c - opening an existing tap with the vnet header. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if_tun.h>

#include "devices/backend/tap.h"

static void tap_explain(const char *name, const char *what,
                        const struct logger *log, int err)
{
    const char *why;

    switch (err) {
    case ENODEV:
        log_msg(log, VMRUN_LOG_ERROR,
                "%s: host_dev_name '%s': no such network interface; create "
                "it with 'ip tuntap add dev %s mode tap'",
                what, name, name);
        return;
    case EBUSY:
        why = "the tap is busy: another process (another vmrun?) has it "
              "open";
        break;
    case EPERM:
    case EACCES:
        why = "permission denied: create the tap for this user ('ip tuntap "
              "add ... user USER') or run with CAP_NET_ADMIN";
        break;
    case EINVAL:
        why = "not a single-queue tap device (a tun, a multi-queue tap or "
              "another kind of interface?)";
        break;
    default:
        why = strerror(err);
    }
    log_msg(log, VMRUN_LOG_ERROR, "%s: host_dev_name '%s': %s", what, name,
            why);
}

/* The virtio 1.x header, little-endian, whatever the host's byte order. */
static int tap_setup(int fd)
{
    int len = TAP_VNET_HDR_LEN, le = 1;
    struct tap_offload none = {0};

    if (ioctl(fd, TUNSETVNETHDRSZ, &len) < 0)
        return -errno;
    if (ioctl(fd, TUNSETVNETLE, &le) < 0 && errno != EINVAL)
        return -errno; /* EINVAL: a kernel without it is little-endian */
    return tap_set_offload(fd, &none);
}

static int tap_attach(const char *name, int *out)
{
    struct ifreq ifr = {0};
    int fd, ret;

    fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    memcpy(ifr.ifr_name, name, strlen(name));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    ret = ioctl(fd, TUNSETIFF, &ifr) < 0 ? -errno : tap_setup(fd);
    if (ret < 0) {
        close(fd);
        return ret;
    }
    *out = fd;
    return 0;
}

int tap_open(const char *name, const char *what, const struct logger *log,
             int *fd)
{
    int ret;

    if (!name || !*name || strlen(name) >= IFNAMSIZ) {
        log_msg(log, VMRUN_LOG_ERROR,
                "%s: host_dev_name: must be 1..%d characters", what,
                IFNAMSIZ - 1);
        return -EINVAL;
    }
    /* TUNSETIFF would create a missing tap (with CAP_NET_ADMIN): only
     * attach to one the operator made. */
    if (if_nametoindex(name) == 0) {
        ret = errno == ENODEV || errno == ENXIO ? -ENODEV : -errno;
    } else {
        ret = tap_attach(name, fd);
        if (ret == -ENOENT) {
            log_msg(log, VMRUN_LOG_ERROR,
                    "%s: /dev/net/tun is missing (is the tun module "
                    "loaded?)",
                    what);
            return ret;
        }
    }
    if (ret < 0)
        tap_explain(name, what, log, -ret);
    return ret;
}

int tap_set_offload(int fd, const struct tap_offload *off)
{
    unsigned int f = 0;

    /* The tap refuses TSO without CSUM: the guest cannot negotiate it
     * either (§5.1.3.1). */
    if (off->csum) {
        f |= TUN_F_CSUM;
        f |= off->tso4 ? TUN_F_TSO4 : 0;
        f |= off->tso6 ? TUN_F_TSO6 : 0;
        f |= off->tso_ecn && (off->tso4 || off->tso6) ? TUN_F_TSO_ECN : 0;
    }
    return ioctl(fd, TUNSETOFFLOAD, f) < 0 ? -errno : 0;
}
