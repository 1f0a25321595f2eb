/* acpi.c - builds RSDP, XSDT, FADT, MADT and DSDT (ACPI 6.3) in one buffer. */
#include "arch/x86/acpi.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "arch/x86/aml.h"
#include "arch/x86/layout.h"

#define ACPI_HEADER_LEN 36
#define ACPI_RSDP_LEN 36
#define ACPI_XSDT_LEN (ACPI_HEADER_LEN + 2 * 8) /* FADT, MADT */
#define ACPI_FADT_LEN 276                       /* revision 6 */
#define ACPI_MAX_CPUS 254     /* xAPIC ID 255 is the broadcast ID */
#define ACPI_MAX_DEVICES 1024 /* keeps every size far below INT_MAX */
#define ACPI_HID_MAX 8

/* MADT (§5.2.12): fixed part, then interrupt controller structures. */
#define MADT_FIXED_LEN 44
#define MADT_LAPIC_LEN 8
#define MADT_IOAPIC_LEN 12
#define MADT_ISO_LEN 10
#define MADT_LAPIC_NMI_LEN 6

/* Where each table sits in the buffer; each starts 8-byte aligned. */
struct acpi_layout {
    size_t xsdt, fadt, madt, dsdt, end;
    size_t madt_len, dsdt_len;
};

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
    for (unsigned int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;

    while (len--)
        sum += *p++;
    return (uint8_t)-sum;
}

static size_t align8(size_t v)
{
    return (v + 7) & ~(size_t)7;
}

/* --- Parameter checks ------------------------------------------------ */

/* A _HID is an ACPI ID ("LNRO0005") or PNP ID ("PNP0501"), §6.1.5. */
static bool acpi_hid_valid(const char *hid)
{
    if (!hid || !hid[0] || strnlen(hid, ACPI_HID_MAX + 1) > ACPI_HID_MAX)
        return false;
    for (const char *c = hid; *c; c++) {
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_'))
            return false;
    }
    return true;
}

static bool acpi_device_valid(const struct acpi_mmio_device *d)
{
    if (!aml_is_name_seg(d->name) || !acpi_hid_valid(d->hid))
        return false;
    /* Memory32Fixed describes a window wholly below 4 GiB. */
    if (d->len == 0 || d->base > UINT32_MAX ||
        d->base + d->len - 1 > UINT32_MAX)
        return false;
    return d->irq <= IRQ_MAX;
}

/* Two devices with one name would make the DSDT fail to load
 * (AE_ALREADY_EXISTS) and the guest lose every device after it. */
static bool acpi_names_unique(const struct acpi_params *p)
{
    for (size_t i = 0; i < p->nr_devices; i++) {
        const char *name = p->devices[i].name;
        if (p->com1_port && !strcmp(name, "COM1"))
            return false;
        for (size_t j = 0; j < i; j++) {
            if (!strcmp(name, p->devices[j].name))
                return false;
        }
    }
    return true;
}

static bool acpi_params_valid(const struct acpi_params *p)
{
    if (p->nr_cpus < 1 || p->nr_cpus > ACPI_MAX_CPUS)
        return false;
    /* MADT addresses are 32-bit fields. */
    if (p->lapic > UINT32_MAX || p->ioapic > UINT32_MAX)
        return false;
    /* COM1 is an ISA device: IRQNoFlags and eight 16-bit ports. */
    if (p->com1_port &&
        (p->com1_irq < 0 || p->com1_irq > 15 || p->com1_port > UINT16_MAX - 7))
        return false;
    if (p->nr_devices > ACPI_MAX_DEVICES || (p->nr_devices && !p->devices))
        return false;
    for (size_t i = 0; i < p->nr_devices; i++) {
        if (!acpi_device_valid(&p->devices[i]))
            return false;
    }
    return acpi_names_unique(p);
}

/* --- DSDT body (AML) ------------------------------------------------- */

static void dsdt_add_com1(struct aml *a, const struct acpi_params *p)
{
    size_t dev = aml_device_begin(a, "COM1");
    aml_name(a, "_HID");
    aml_eisaid(a, "PNP0501"); /* 16550A-compatible COM port */
    aml_name(a, "_UID");
    aml_integer(a, 1);
    aml_name(a, "_CRS");
    size_t res = aml_buffer_begin(a);
    aml_res_io(a, p->com1_port, 8);
    aml_res_irq(a, (unsigned int)p->com1_irq);
    aml_res_end(a);
    aml_buffer_end(a, res);
    aml_end(a, dev);
}

static void dsdt_add_device(struct aml *a, const struct acpi_mmio_device *d)
{
    size_t dev = aml_device_begin(a, d->name);
    aml_name(a, "_HID");
    aml_string(a, d->hid);
    aml_name(a, "_UID");
    aml_integer(a, d->uid);
    aml_name(a, "_CRS");
    size_t res = aml_buffer_begin(a);
    aml_res_mem32_fixed(a, true, (uint32_t)d->base, d->len);
    if (d->irq >= 0)
        aml_res_interrupt(a, AML_IRQ_CONSUMER | AML_IRQ_EDGE, (uint32_t)d->irq);
    aml_res_end(a);
    aml_buffer_end(a, res);
    aml_end(a, dev);
}

/* \_S5 (§7.4.2): Package {SLP_TYPa, SLP_TYPb, reserved, reserved}.  With
 * hardware-reduced ACPI the OS enters S5 by writing SLP_TYPa << 2 | SLP_EN
 * to the sleep control register (§4.8.3.7), which the VMM watches; there
 * is no PM1b block, so SLP_TYPb is unused. */
static void dsdt_add_s5(struct aml *a)
{
    aml_name(a, "_S5");
    size_t pkg = aml_package_begin(a, 4);
    aml_integer(a, ACPI_S5_SLP_TYP);
    aml_integer(a, 0);
    aml_integer(a, 0);
    aml_integer(a, 0);
    aml_end(a, pkg);
}

/* Encodes the definition block of the DSDT into (a).  The block is the
 * root scope, so "_SB" names \_SB with one byte less. */
static int dsdt_build_aml(const struct acpi_params *p, struct aml *a)
{
    size_t sb = aml_scope_begin(a, "_SB");
    if (p->com1_port)
        dsdt_add_com1(a, p);
    for (size_t i = 0; i < p->nr_devices; i++)
        dsdt_add_device(a, &p->devices[i]);
    aml_end(a, sb);
    dsdt_add_s5(a);
    return aml_error(a);
}

/* --- Tables ---------------------------------------------------------- */

/* System description table header (§5.2.6); the checksum comes last. */
static void acpi_write_header(uint8_t *t, const char *sig, uint32_t len,
                              uint8_t rev)
{
    char table_id[9] = "VMRUN";

    memcpy(table_id + 5, sig, 3); /* "VMRUNFAC", "VMRUNAPI", ... */
    memcpy(t, sig, 4);
    put_le(t + 4, len, 4);
    t[8] = rev;
    memcpy(t + 10, "VMRUN ", 6);
    memcpy(t + 16, table_id, 8);
    put_le(t + 24, 1, 4);      /* OEM revision */
    memcpy(t + 28, "VMRN", 4); /* creator ID */
    put_le(t + 32, 1, 4);      /* creator revision */
}

static void acpi_seal(uint8_t *t, size_t len)
{
    t[9] = 0;
    t[9] = acpi_checksum(t, len);
}

/* RSDP (§5.2.5.3), revision 2: no RSDT, only the XSDT. */
static void acpi_write_rsdp(uint8_t *t, uint64_t xsdt)
{
    memcpy(t, "RSD PTR ", 8);
    memcpy(t + 9, "VMRUN ", 6);
    t[15] = 2;
    put_le(t + 20, ACPI_RSDP_LEN, 4);
    put_le(t + 24, xsdt, 8);
    t[8] = acpi_checksum(t, 20);
    t[32] = acpi_checksum(t, ACPI_RSDP_LEN);
}

static void acpi_write_xsdt(uint8_t *t, uint64_t fadt, uint64_t madt)
{
    acpi_write_header(t, "XSDT", ACPI_XSDT_LEN, 1);
    put_le(t + ACPI_HEADER_LEN, fadt, 8);
    put_le(t + ACPI_HEADER_LEN + 8, madt, 8);
    acpi_seal(t, ACPI_XSDT_LEN);
}

/* Generic Address Structure (§5.2.3.2): one byte in system memory. */
static void acpi_write_gas8(uint8_t *g, uint64_t addr)
{
    g[0] = 0; /* SystemMemory */
    g[1] = 8; /* register bit width */
    g[2] = 0; /* bit offset */
    g[3] = 1; /* access size: byte */
    put_le(g + 4, addr, 8);
}

/* FADT flags (§5.2.9, table 5.35) and IA-PC boot architecture flags
 * (§5.2.9.3).  The 8042 flag stays clear: Linux then leaves the i8042
 * alone, and vmrun resets through the FADT reset register instead. */
#define FADT_WBINVD (1u << 0)
#define FADT_PWR_BUTTON (1u << 4) /* no fixed-feature power button */
#define FADT_SLP_BUTTON (1u << 5)
#define FADT_RESET_REG_SUP (1u << 10)
#define FADT_HW_REDUCED_ACPI (1u << 20)
#define FADT_BOOT_VGA_NOT_PRESENT (1u << 2)
#define FADT_BOOT_CMOS_RTC_NOT_PRESENT (1u << 5)

static void acpi_write_fadt(uint8_t *t, const struct acpi_params *p,
                            uint64_t dsdt)
{
    acpi_write_header(t, "FACP", ACPI_FADT_LEN, 6);
    /* 32-bit DSDT only where it fits; X_DSDT is what ACPI 2.0+ OSes use. */
    put_le(t + 40, dsdt <= UINT32_MAX ? dsdt : 0, 4);
    put_le(t + 109, FADT_BOOT_VGA_NOT_PRESENT | FADT_BOOT_CMOS_RTC_NOT_PRESENT,
           2);
    put_le(t + 112,
           FADT_WBINVD | FADT_PWR_BUTTON | FADT_SLP_BUTTON |
               FADT_RESET_REG_SUP | FADT_HW_REDUCED_ACPI,
           4);
    acpi_write_gas8(t + 116, p->reset_reg);
    t[128] = p->reset_value;
    t[131] = 3; /* FADT minor version: ACPI 6.3 */
    put_le(t + 140, dsdt, 8);
    acpi_write_gas8(t + 244, p->sleep_control);
    acpi_write_gas8(t + 256, p->sleep_status);
    memcpy(t + 268, "VMRUN\0\0\0", 8); /* hypervisor vendor identity */
    acpi_seal(t, ACPI_FADT_LEN);
}

static size_t madt_length(uint32_t nr_cpus)
{
    return MADT_FIXED_LEN + nr_cpus * MADT_LAPIC_LEN + MADT_IOAPIC_LEN +
           MADT_ISO_LEN + MADT_LAPIC_NMI_LEN;
}

/* Processor Local APIC (§5.2.12.2): UID and APIC ID both (cpu), enabled.
 * KVM gives vCPU n the APIC ID n. */
static uint8_t *madt_add_lapic(uint8_t *e, uint32_t cpu)
{
    e[0] = 0;
    e[1] = MADT_LAPIC_LEN;
    e[2] = (uint8_t)cpu;
    e[3] = (uint8_t)cpu;
    put_le(e + 4, 1, 4); /* Enabled */
    return e + MADT_LAPIC_LEN;
}

/* I/O APIC (§5.2.12.3) with ID 0: the ID KVM's in-kernel IOAPIC reports
 * in its ID register after reset.  I/O APIC IDs share no namespace with
 * local APIC IDs on xAPIC systems (no serial APIC bus), so CPU 0 having
 * APIC ID 0 is no conflict. */
static uint8_t *madt_add_ioapic(uint8_t *e, uint64_t addr)
{
    e[0] = 1;
    e[1] = MADT_IOAPIC_LEN;
    e[2] = 0;
    e[3] = 0;
    put_le(e + 4, addr, 4);
    put_le(e + 8, 0, 4); /* GSI base */
    return e + MADT_IOAPIC_LEN;
}

/* Interrupt Source Override (§5.2.12.5): ISA IRQ 0 (the PIT) is wired to
 * IOAPIC pin 2 in KVM's irqchip; flags 0 = ISA default, edge/high. */
static uint8_t *madt_add_iso_pit(uint8_t *e)
{
    e[0] = 2;
    e[1] = MADT_ISO_LEN;
    e[2] = 0; /* bus: ISA */
    e[3] = 0; /* source IRQ */
    put_le(e + 4, 2, 4);
    put_le(e + 8, 0, 2);
    return e + MADT_ISO_LEN;
}

/* Local APIC NMI (§5.2.12.7): LINT1 of every processor (UID 0xff). */
static uint8_t *madt_add_lapic_nmi(uint8_t *e)
{
    e[0] = 4;
    e[1] = MADT_LAPIC_NMI_LEN;
    e[2] = 0xff;
    put_le(e + 3, 0, 2);
    e[5] = 1;
    return e + MADT_LAPIC_NMI_LEN;
}

/* MADT revision 5 (ACPI 6.3); PCAT_COMPAT says 8259s exist (KVM emulates
 * them).  A HW-reduced OS never programs them (Linux installs its
 * null_legacy_pic), so vmrun leaves them as firmware would: initialised
 * and fully masked (irqchip.c), with the boot CPU's LINT0 masked too. */
static void acpi_write_madt(uint8_t *t, const struct acpi_params *p, size_t len)
{
    acpi_write_header(t, "APIC", (uint32_t)len, 5);
    put_le(t + 36, p->lapic, 4);
    put_le(t + 40, 1, 4); /* PCAT_COMPAT */
    uint8_t *e = t + MADT_FIXED_LEN;
    for (uint32_t cpu = 0; cpu < p->nr_cpus; cpu++)
        e = madt_add_lapic(e, cpu);
    e = madt_add_ioapic(e, p->ioapic);
    e = madt_add_iso_pit(e);
    madt_add_lapic_nmi(e);
    acpi_seal(t, len);
}

/* DSDT revision 2: AML integers are 64 bits wide (§5.2.11.1). */
static void acpi_write_dsdt(uint8_t *t, const struct aml *a)
{
    acpi_write_header(t, "DSDT", (uint32_t)(ACPI_HEADER_LEN + a->len), 2);
    memcpy(t + ACPI_HEADER_LEN, a->buf, a->len);
    acpi_seal(t, ACPI_HEADER_LEN + a->len);
}

static void acpi_plan(struct acpi_layout *l, const struct acpi_params *p,
                      size_t aml_len)
{
    l->madt_len = madt_length(p->nr_cpus);
    l->dsdt_len = ACPI_HEADER_LEN + aml_len;
    l->xsdt = align8(ACPI_RSDP_LEN);
    l->fadt = align8(l->xsdt + ACPI_XSDT_LEN);
    l->madt = align8(l->fadt + ACPI_FADT_LEN);
    l->dsdt = align8(l->madt + l->madt_len);
    l->end = l->dsdt + l->dsdt_len;
}

static void acpi_write_all(const struct acpi_params *p, const struct aml *a,
                           const struct acpi_layout *l, uint8_t *buf)
{
    memset(buf, 0, l->end);
    acpi_write_rsdp(buf, p->base + l->xsdt);
    acpi_write_xsdt(buf + l->xsdt, p->base + l->fadt, p->base + l->madt);
    acpi_write_fadt(buf + l->fadt, p, p->base + l->dsdt);
    acpi_write_madt(buf + l->madt, p, l->madt_len);
    acpi_write_dsdt(buf + l->dsdt, a);
}

int acpi_build(const struct acpi_params *p, uint8_t *buf, size_t size)
{
    struct acpi_layout l;
    struct aml a;

    if (!p || !buf || !acpi_params_valid(p))
        return -EINVAL;
    aml_init(&a);
    int ret = dsdt_build_aml(p, &a);
    if (ret)
        goto out;
    acpi_plan(&l, p, a.len);
    if (p->base > UINT64_MAX - l.end)
        ret = -EINVAL;
    else if (l.end > size)
        ret = -ENOSPC;
    else if (l.end > INT_MAX)
        ret = -E2BIG;
    if (ret)
        goto out;
    acpi_write_all(p, &a, &l, buf);
    ret = (int)l.end;
out:
    aml_free(&a);
    return ret;
}
