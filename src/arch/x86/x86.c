/* x86.c - the x86 arch hooks: irqchip and PIT, RAM slots, platform devices,
 * vCPU state (CPUID, MSRs, LAPIC, FPU, entry registers), I/O exits. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arch/arch.h"
#include "arch/x86/cpuid.h"
#include "arch/x86/e820.h"
#include "devices/backend/chardev.h"
#include "devices/i8042.h"
#include "arch/x86/irqchip.h"
#include "arch/x86/layout.h"
#include "devices/platform.h"
#include "devices/serial8250.h"
#include "vm.h"
#include "arch/x86/x86_regs.h"

/* Below the 4 GiB boundary, above the IOAPIC/LAPIC: the three pages VMX
 * needs for its real-mode TSS and the page before for the identity map. */
#define X86_TSS_ADDR 0xfffbd000ULL
#define X86_IDENTITY_MAP_ADDR 0xfffbc000ULL

static int x86_ram_init(struct vm *vm)
{
    uint64_t low, high;
    int ret;

    e820_ram_split(vm->ram_size, &low, &high);
    ret = vm_add_memslot(vm, 0, 0, low, vm->ram);
    if (ret == 0 && high)
        ret = vm_add_memslot(vm, 1, LAYOUT_HIGH_RAM, high, vm->ram + low);
    if (ret < 0)
        vm_log(vm, VMRUN_LOG_ERROR, "cannot register guest RAM: %s",
               strerror(-ret));
    return ret;
}

/* Both 8259s as firmware leaves them for a HW-reduced OS: initialised,
 * every line masked (irqchip.c).  A restore overwrites them with the
 * saved state. */
static int x86_pic_init(struct vm *vm)
{
    for (uint32_t chip = KVM_IRQCHIP_PIC_MASTER; chip <= KVM_IRQCHIP_PIC_SLAVE;
         chip++) {
        struct kvm_irqchip ic = {.chip_id = chip};
        int ret = 0;

        if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &ic) < 0)
            ret = -errno;
        if (ret == 0) {
            irqchip_pic_init(&ic.chip.pic, chip == KVM_IRQCHIP_PIC_MASTER);
            if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &ic) < 0)
                ret = -errno;
        }
        if (ret < 0) {
            vm_log(vm, VMRUN_LOG_ERROR, "cannot initialise the 8259s: %s",
                   strerror(-ret));
            return ret;
        }
    }
    return 0;
}

static int x86_irqchip_init(struct vm *vm)
{
    struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};

    /* VMX needs these two before the first vCPU runs; other hosts may not
     * implement them, which is harmless. */
    if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, X86_TSS_ADDR) < 0)
        vm_log(vm, VMRUN_LOG_DEBUG, "KVM_SET_TSS_ADDR: %s", strerror(errno));
    if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) >
        0) {
        uint64_t addr = X86_IDENTITY_MAP_ADDR;

        if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &addr) < 0)
            vm_log(vm, VMRUN_LOG_DEBUG, "KVM_SET_IDENTITY_MAP_ADDR: %s",
                   strerror(errno));
    }
    if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
        int ret = -errno;

        vm_log(vm, VMRUN_LOG_ERROR, "KVM_CREATE_IRQCHIP: %s", strerror(-ret));
        return ret;
    }
    if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
        int ret = -errno;

        vm_log(vm, VMRUN_LOG_ERROR, "KVM_CREATE_PIT2: %s", strerror(-ret));
        return ret;
    }
    return x86_pic_init(vm);
}

int arch_vm_init(struct vm *vm)
{
    int ret = x86_ram_init(vm);

    if (ret == 0)
        ret = x86_irqchip_init(vm);
    if (ret == 0) {
        ret = cpuid_get_supported(vm->kvm_fd, &vm->arch.cpuid);
        if (ret < 0)
            vm_log(vm, VMRUN_LOG_ERROR, "KVM_GET_SUPPORTED_CPUID: %s",
                   strerror(-ret));
    }
    vm->arch.tsc_deadline =
        ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
    return ret;
}

int arch_vm_create_devices(struct vm *vm)
{
    struct platform_config pc = {
        .debug_exit_mmio = LAYOUT_DEBUG_EXIT,
        .debug_exit_port = PORT_DEBUG_EXIT,
        .pvpanic_mmio = LAYOUT_PVPANIC,
        .acpi_regs = LAYOUT_ACPI_REGS,
        .s5_slp_typ = ACPI_S5_SLP_TYP,
        .reset_value = LAYOUT_RESET_VALUE,
        .sink_port = PORT_POST,
    };
    struct serial_config sc = {.port = PORT_COM1, .irq = IRQ_COM1};
    int ret = chardev_open(&vm->arch.serial_cd, &vm->cfg->serial, &vm->log,
                           "vmrun.serial");

    if (ret < 0)
        return ret;
    sc.out_fd = vm->arch.serial_cd.out_fd;
    sc.in_fd = vm->arch.serial_cd.in_fd;
    ret = serial_create(&vm->env, &sc, &vm->arch.serial);
    if (ret == 0)
        ret = i8042_create(&vm->env, &vm->arch.kbd);
    if (ret == 0)
        ret = platform_create(&vm->env, &pc, &vm->arch.platform);
    if (ret == 0)
        ret = arch_add_mmio_device(vm, "QEMU0001", LAYOUT_PVPANIC, 2, -1);
    if (ret < 0)
        vm_log(vm, VMRUN_LOG_ERROR, "cannot create platform devices: %s",
               strerror(-ret));
    return ret;
}

void arch_vm_init_fds(struct vm *vm)
{
    chardev_init_fds(&vm->arch.serial_cd, -1, -1);
}

int arch_send_ctrl_alt_del(struct vm *vm)
{
    if (!vm->arch.kbd)
        return -EINVAL;
    return i8042_send_ctrl_alt_del(vm->arch.kbd);
}

void arch_vm_destroy_devices(struct vm *vm)
{
    if (vm->arch.platform)
        platform_destroy(vm->arch.platform);
    if (vm->arch.kbd)
        i8042_destroy(vm->arch.kbd);
    if (vm->arch.serial)
        serial_destroy(vm->arch.serial);
    chardev_close(&vm->arch.serial_cd);
    free(vm->arch.cpuid);
    vm->arch.platform = NULL;
    vm->arch.kbd = NULL;
    vm->arch.serial = NULL;
    vm->arch.cpuid = NULL;
}

int arch_add_mmio_device(struct vm *vm, const char *hid, uint64_t base,
                         uint32_t len, int irq)
{
    struct arch_vm *a = &vm->arch;
    struct acpi_mmio_device *d;

    if (a->nr_acpi_devs == sizeof(a->acpi_devs) / sizeof(a->acpi_devs[0]))
        return -ENOSPC;
    d = &a->acpi_devs[a->nr_acpi_devs];
    snprintf(d->name, sizeof(d->name), "D%03u", a->nr_acpi_devs);
    d->hid = hid;
    d->uid = a->nr_acpi_devs;
    d->base = base;
    d->len = len;
    d->irq = irq;
    a->nr_acpi_devs++;
    return 0;
}

int arch_alloc_virtio_mmio(struct vm *vm, uint64_t *base, uint32_t *len,
                           uint32_t *irq)
{
    unsigned int n = vm->arch.nr_virtio;
    int ret;

    if (n >= LAYOUT_VIRTIO_MAX || IRQ_VIRTIO_FIRST + n > IRQ_MAX)
        return -ENOSPC;
    *base = LAYOUT_VIRTIO_MMIO + n * LAYOUT_VIRTIO_MMIO_SIZE;
    *len = LAYOUT_VIRTIO_MMIO_SIZE;
    *irq = IRQ_VIRTIO_FIRST + n;
    ret = arch_add_mmio_device(vm, "LNRO0005", *base, *len, (int)*irq);
    if (ret == 0)
        vm->arch.nr_virtio++;
    return ret;
}

int arch_vcpu_init(struct vm *vm, struct vcpu *vcpu)
{
    struct cpuid_vcpu c = {.apic_id = vcpu->index,
                           .nr_vcpus = vm->cfg->vcpu_count,
                           .tsc_deadline = vm->arch.tsc_deadline};
    int ret = cpuid_set_vcpu(vcpu->fd, vm->arch.cpuid, &c);

    if (ret < 0) {
        vm_log(vm, VMRUN_LOG_ERROR, "vcpu%u: KVM_SET_CPUID2: %s", vcpu->index,
               strerror(-ret));
        return ret;
    }
    ret = x86_regs_init(vm, vcpu);
    if (ret < 0)
        vm_log(vm, VMRUN_LOG_ERROR, "vcpu%u: cannot set initial state: %s",
               vcpu->index, strerror(-ret));
    return ret;
}

int arch_vcpu_handle_exit(struct vcpu *vcpu, struct kvm_run *run)
{
    uint64_t bytes, end;

    if (run->exit_reason != KVM_EXIT_IO)
        return -ENOSYS;
    /* The data area is inside the kvm_run mapping; check before use. */
    bytes = (uint64_t)run->io.size * run->io.count;
    if (run->io.size == 0 || run->io.size > 8 ||
        __builtin_add_overflow(run->io.data_offset, bytes, &end) ||
        end > (uint64_t)vcpu->vm->run_size)
        return -EINVAL;
    bus_access_rep(&vcpu->vm->pio, run->io.port,
                   (uint8_t *)run + run->io.data_offset, run->io.size,
                   run->io.count, run->io.direction == KVM_EXIT_IO_OUT);
    return 0;
}
