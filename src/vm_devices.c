/* vm_devices.c - the devices a config asks for (drives, NICs, console,
 * entropy), each on its own virtio-mmio slot, and what they add to the
 * kernel command line. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/console.h"
#include "devices/virtio/net.h"
#include "devices/virtio/rng.h"
#include "vm.h"

/* Appends to the kernel command line; -E2BIG when it would not fit. */
static int vm_cmdline_append(struct vm *vm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int vm_cmdline_append(struct vm *vm, const char *fmt, ...)
{
    size_t used = strlen(vm->cmdline_extra);
    size_t room = sizeof(vm->cmdline_extra) - used;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(vm->cmdline_extra + used, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room) {
        vm->cmdline_extra[used] = 0;
        return -E2BIG;
    }
    return 0;
}

/* Firecracker's rule: the root drive is /dev/vda (the parser moved it to
 * drives[0]), or the partition with (partuuid). */
static int vm_cmdline_root(struct vm *vm, const struct drive_config *d)
{
    const char *mode = d->is_read_only ? "ro" : "rw";

    if (d->partuuid)
        return vm_cmdline_append(vm, " root=PARTUUID=%s %s", d->partuuid, mode);
    return vm_cmdline_append(vm, " root=/dev/vda %s", mode);
}

/* Reserves a virtio-mmio slot and, for kernels without ACPI, describes it
 * on the command line (virtio_mmio.device=<size>@<base>:<irq>). */
static int vm_virtio_slot(struct vm *vm, uint64_t *base, uint32_t *irq)
{
    uint32_t len;
    int ret = arch_alloc_virtio_mmio(vm, base, &len, irq);

    if (ret < 0) {
        vm_log(vm, VMRUN_LOG_ERROR,
               "too many virtio devices: this machine has room for %u",
               vm->nr_devices);
        return ret;
    }
    if (vm->cfg->virtio_mmio_cmdline)
        ret = vm_cmdline_append(vm, " virtio_mmio.device=%uK@0x%llx:%u",
                                len >> 10, (unsigned long long)*base, *irq);
    return ret;
}

/* Puts a created device on the VM's list (its place is its snapshot
 * section); -ENOSPC past VM_MAX_DEVICES, with the device destroyed. */
static int vm_add_device(struct vm *vm, const struct device_ops *ops, void *dev,
                         const char *id)
{
    if (vm->nr_devices >= VM_MAX_DEVICES) {
        ops->destroy(dev);
        return -ENOSPC;
    }
    vm->devices[vm->nr_devices++] = (struct vm_device){ops, dev, id};
    return 0;
}

static int vm_create_drives(struct vm *vm)
{
    for (size_t i = 0; i < vm->cfg->nr_drives; i++) {
        const struct drive_config *d = &vm->cfg->drives[i];
        struct virtio_blk *blk;
        uint64_t base;
        uint32_t irq;
        int ret = vm_virtio_slot(vm, &base, &irq);

        if (ret == 0)
            ret = virtio_blk_create(&vm->env, d, base, irq, &blk);
        if (ret == 0)
            ret = vm_add_device(vm, &virtio_blk_device_ops, blk, d->drive_id);
        if (ret == 0 && d->is_root_device)
            ret = vm_cmdline_root(vm, d);
        if (ret < 0) {
            vm_log(vm, VMRUN_LOG_ERROR, "drives[%zu]: cannot create '%s': %s",
                   i, d->drive_id, strerror(-ret));
            return ret;
        }
    }
    return 0;
}

static int vm_create_nics(struct vm *vm)
{
    for (size_t i = 0; i < vm->cfg->nr_nics; i++) {
        const struct net_config *n = &vm->cfg->nics[i];
        struct virtio_net *net;
        uint64_t base;
        uint32_t irq;
        int ret = vm_virtio_slot(vm, &base, &irq);

        if (ret == 0)
            ret = virtio_net_create(&vm->env, n, base, irq, &net);
        if (ret == 0)
            ret = vm_add_device(vm, &virtio_net_device_ops, net, n->iface_id);
        if (ret < 0) {
            vm_log(vm, VMRUN_LOG_ERROR,
                   "network-interfaces[%zu]: cannot create '%s': %s", i,
                   n->iface_id, strerror(-ret));
            return ret;
        }
    }
    return 0;
}

/* virtio-console and virtio-rng: at most one of each. */
static int vm_create_misc(struct vm *vm)
{
    uint64_t base;
    uint32_t irq;
    int ret = 0;

    if (vm->cfg->has_virtio_console) {
        struct virtio_console *con;

        ret = vm_virtio_slot(vm, &base, &irq);
        if (ret == 0)
            ret = virtio_console_create(&vm->env, &vm->cfg->vconsole, base, irq,
                                        &con);
        if (ret == 0)
            ret = vm_add_device(vm, &virtio_console_device_ops, con, NULL);
        if (ret < 0) {
            vm_log(vm, VMRUN_LOG_ERROR, "vmrun.virtio-console: %s",
                   strerror(-ret));
            return ret;
        }
    }
    if (vm->cfg->has_entropy) {
        struct virtio_rng *rng;

        ret = vm_virtio_slot(vm, &base, &irq);
        if (ret == 0)
            ret = virtio_rng_create(&vm->env, base, irq, &rng);
        if (ret == 0)
            ret = vm_add_device(vm, &virtio_rng_device_ops, rng, NULL);
        if (ret < 0)
            vm_log(vm, VMRUN_LOG_ERROR, "entropy: %s", strerror(-ret));
    }
    return ret;
}

/* Drives first (the root drive is drives[0], /dev/vda), then NICs, then
 * the console and the entropy device: each gets the next virtio slot. */
int vm_create_devices(struct vm *vm)
{
    int ret = vm_create_drives(vm);

    if (ret == 0)
        ret = vm_create_nics(vm);
    if (ret == 0)
        ret = vm_create_misc(vm);
    return ret;
}

void vm_destroy_devices(struct vm *vm)
{
    while (vm->nr_devices > 0) {
        struct vm_device *d = &vm->devices[--vm->nr_devices];

        d->ops->destroy(d->dev);
    }
}
