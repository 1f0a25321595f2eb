/* test_acpi.c - the AML encoder and the ACPI tables, checked byte by byte
 * and by the ACPICA disassembler (iasl, package acpica-tools). */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "arch/x86/acpi.h"
#include "arch/x86/aml.h"
#include "arch/x86/layout.h"

#define BASE LAYOUT_ACPI
#define BUF_SIZE (64 * 1024)
#define CANARY 0xcc
#define MAX_DEVS 19

/* --- Helpers --------------------------------------------------------- */

static uint64_t le(const uint8_t *p, unsigned int n)
{
    uint64_t v = 0;

    while (n--)
        v = (v << 8) | p[n];
    return v;
}

/* True if (p)[from..to) still holds the canary byte. */
static bool untouched(const uint8_t *p, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        if (p[i] != CANARY)
            return false;
    }
    return true;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
    uint8_t s = 0;

    while (len--)
        s += *p++;
    return s;
}

/* Devices like the VMM's: virtio-mmio windows with IRQs 5..23. */
static void make_devices(struct acpi_mmio_device *d, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(d[i].name, sizeof(d[i].name), "VR%02u", (unsigned)(i % 100));
        d[i].hid = "LNRO0005";
        d[i].uid = (uint32_t)i;
        d[i].base = LAYOUT_VIRTIO_MMIO + i * LAYOUT_VIRTIO_MMIO_SIZE;
        d[i].len = LAYOUT_VIRTIO_MMIO_SIZE;
        d[i].irq = IRQ_VIRTIO_FIRST + (int)i;
    }
}

static struct acpi_params
make_params(uint32_t cpus, const struct acpi_mmio_device *d, size_t n)
{
    return (struct acpi_params){
        .base = BASE,
        .nr_cpus = cpus,
        .lapic = LAYOUT_LAPIC,
        .ioapic = LAYOUT_IOAPIC,
        .com1_port = PORT_COM1,
        .com1_irq = IRQ_COM1,
        .sleep_control = LAYOUT_SLEEP_CONTROL,
        .sleep_status = LAYOUT_SLEEP_STATUS,
        .reset_reg = LAYOUT_RESET_REG,
        .reset_value = LAYOUT_RESET_VALUE,
        .devices = d,
        .nr_devices = n,
    };
}

/* The table a 64-bit guest address points at, after checking that the
 * address and the whole table lie inside the built area. */
static const uint8_t *table_at(const uint8_t *buf, int len, uint64_t base,
                               uint64_t addr, const char *sig)
{
    ck_assert_uint_ge(addr, base);
    ck_assert_uint_le(addr - base + 36, (uint64_t)len);
    const uint8_t *t = buf + (addr - base);
    ck_assert_mem_eq(t, sig, 4);
    ck_assert_uint_le(addr - base + le(t + 4, 4), (uint64_t)len);
    ck_assert_uint_eq(sum(t, le(t + 4, 4)), 0);
    ck_assert_mem_eq(t + 10, "VMRUN ", 6);
    ck_assert_mem_eq(t + 16, "VMRUN", 5);
    ck_assert_uint_ne(le(t + 28, 4), 0); /* creator ID */
    ck_assert_uint_ne(le(t + 32, 4), 0); /* creator revision */
    return t;
}

struct tables {
    const uint8_t *xsdt, *fadt, *madt, *dsdt;
};

static void check_rsdp(const uint8_t *buf)
{
    ck_assert_mem_eq(buf, "RSD PTR ", 8);
    ck_assert_uint_eq(sum(buf, 20), 0);
    ck_assert_uint_eq(buf[15], 2);
    ck_assert_uint_eq(le(buf + 20, 4), 36);
    ck_assert_uint_eq(sum(buf, 36), 0);
}

/* Follows RSDP -> XSDT -> FADT, MADT and FADT -> DSDT in a buffer built
 * for guest address (base). */
static struct tables find_tables(const uint8_t *buf, int len, uint64_t base)
{
    struct tables t;

    check_rsdp(buf);
    t.xsdt = table_at(buf, len, base, le(buf + 24, 8), "XSDT");
    ck_assert_uint_eq(le(t.xsdt + 4, 4), 36 + 16);
    t.fadt = table_at(buf, len, base, le(t.xsdt + 36, 8), "FACP");
    t.madt = table_at(buf, len, base, le(t.xsdt + 44, 8), "APIC");
    t.dsdt = table_at(buf, len, base, le(t.fadt + 140, 8), "DSDT");
    return t;
}

/* --- AML encoder ----------------------------------------------------- */

static void check_aml(struct aml *a, const uint8_t *want, size_t len)
{
    ck_assert_int_eq(aml_error(a), 0);
    ck_assert_uint_eq(a->len, len);
    ck_assert_mem_eq(a->buf, want, len);
    aml_free(a);
    aml_init(a);
}

START_TEST(test_aml_integer)
{
    struct aml a;

    aml_init(&a);
    aml_integer(&a, 0);
    check_aml(&a, (uint8_t[]){0x00}, 1);
    aml_integer(&a, 1);
    check_aml(&a, (uint8_t[]){0x01}, 1);
    aml_integer(&a, 2);
    check_aml(&a, (uint8_t[]){0x0a, 2}, 2);
    aml_integer(&a, 0xff);
    check_aml(&a, (uint8_t[]){0x0a, 0xff}, 2);
    aml_integer(&a, 0x100);
    check_aml(&a, (uint8_t[]){0x0b, 0x00, 0x01}, 3);
    aml_integer(&a, 0x10000);
    check_aml(&a, (uint8_t[]){0x0c, 0, 0, 1, 0}, 5);
    aml_integer(&a, 0x123456789aULL);
    check_aml(&a, (uint8_t[]){0x0e, 0x9a, 0x78, 0x56, 0x34, 0x12, 0, 0, 0}, 9);
    aml_free(&a);
}
END_TEST

/* PkgLength bounds of §20.2.4: 63, 2^12 - 1, 2^20 - 1 for 1-3 bytes. */
static const struct {
    size_t content;
    uint8_t enc[4];
    size_t enc_len;
} pkg_cases[] = {
    {0, {0x01}, 1},
    {62, {0x3f}, 1},
    {63, {0x41, 0x04}, 2},
    {4093, {0x4f, 0xff}, 2},
    {4094, {0x81, 0x00, 0x01}, 3},
    {(1u << 20) - 4, {0x8f, 0xff, 0xff}, 3},
    {(1u << 20) - 3, {0xc1, 0x00, 0x00, 0x01}, 4},
};

START_TEST(test_aml_pkg_length)
{
    struct aml a;
    size_t n = pkg_cases[_i].content;
    uint8_t *zero = calloc(1, n + 1);

    aml_init(&a);
    aml_bytes(&a, zero, n);
    aml_end(&a, 0);
    ck_assert_int_eq(aml_error(&a), 0);
    ck_assert_uint_eq(a.len, n + pkg_cases[_i].enc_len);
    ck_assert_mem_eq(a.buf, pkg_cases[_i].enc, pkg_cases[_i].enc_len);
    aml_free(&a);
    free(zero);
}
END_TEST

START_TEST(test_aml_names)
{
    struct aml a;

    aml_init(&a);
    aml_name_string(&a, "\\_SB.COM1");
    check_aml(&a, (const uint8_t *)"\\._SB_COM1", 10);
    aml_name_string(&a, "_S5");
    check_aml(&a, (const uint8_t *)"_S5_", 4);
    aml_name_string(&a, "A.B1.C");
    check_aml(&a,
              (const uint8_t *)"\x2f\x03"
                               "A___B1__C___",
              14);
    const char *bad[] = {"",      "\\",   "1ABC", "abcd",
                         "ABCDE", "A..B", "A.",   "A-B"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        aml_name_string(&a, bad[i]);
        ck_assert_msg(aml_error(&a) == -EINVAL, "accepted '%s'", bad[i]);
        aml_free(&a);
        aml_init(&a);
    }
    ck_assert(aml_is_name_seg("VR00"));
    ck_assert(aml_is_name_seg("_S5_"));
    ck_assert(!aml_is_name_seg("VR0"));
    ck_assert(!aml_is_name_seg("0VR0"));
    ck_assert(!aml_is_name_seg("VR000"));
    ck_assert(!aml_is_name_seg("vr00"));
    aml_free(&a);
}
END_TEST

START_TEST(test_aml_objects)
{
    struct aml a;

    aml_init(&a);
    aml_eisaid(&a, "PNP0501");
    check_aml(&a, (uint8_t[]){0x0c, 0x41, 0xd0, 0x05, 0x01}, 5);
    aml_string(&a, "AB");
    check_aml(&a, (uint8_t[]){0x0d, 'A', 'B', 0}, 4);
    aml_buffer(&a, (uint8_t[]){1, 2, 3}, 3);
    check_aml(&a, (uint8_t[]){0x11, 0x06, 0x0a, 0x03, 1, 2, 3}, 7);
    aml_end(&a, aml_device_begin(&a, "VR00"));
    check_aml(&a, (const uint8_t *)"\x5b\x82\x05VR00", 7);
    size_t pkg = aml_package_begin(&a, 2);
    aml_integer(&a, 5);
    aml_integer(&a, 0);
    aml_end(&a, pkg);
    check_aml(&a, (uint8_t[]){0x12, 0x05, 0x02, 0x0a, 0x05, 0x00}, 6);
    aml_eisaid(&a, "pnp0501");
    ck_assert_int_eq(aml_error(&a), -EINVAL);
    aml_free(&a);
}
END_TEST

START_TEST(test_aml_resources)
{
    struct aml a;

    aml_init(&a);
    aml_res_io(&a, 0x3f8, 8);
    check_aml(&a, (uint8_t[]){0x47, 1, 0xf8, 3, 0xf8, 3, 1, 8}, 8);
    aml_res_irq(&a, 4);
    check_aml(&a, (uint8_t[]){0x22, 0x10, 0x00}, 3);
    aml_res_mem32_fixed(&a, true, 0xd0100000, 0x1000);
    check_aml(&a, (uint8_t[]){0x86, 9, 0, 1, 0, 0, 0x10, 0xd0, 0, 0x10, 0, 0},
              12);
    aml_res_interrupt(&a, AML_IRQ_CONSUMER | AML_IRQ_EDGE, 23);
    check_aml(&a, (uint8_t[]){0x89, 6, 0, 3, 1, 23, 0, 0, 0}, 9);
    aml_res_end(&a);
    check_aml(&a, (uint8_t[]){0x79, 0}, 2);
    aml_res_irq(&a, 16);
    ck_assert_int_eq(aml_error(&a), -EINVAL);
    aml_free(&a);
}
END_TEST

START_TEST(test_aml_too_big)
{
    struct aml a;
    uint8_t byte = 0;

    aml_init(&a);
    aml_bytes(&a, &byte, (1u << 24) + 1);
    ck_assert_int_eq(aml_error(&a), -E2BIG);
    ck_assert_uint_eq(a.len, 0);
    aml_integer(&a, 7); /* ignored after an error */
    ck_assert_uint_eq(a.len, 0);
    aml_free(&a);
}
END_TEST

/* --- Tables ---------------------------------------------------------- */

static void check_gas8(const uint8_t *g, uint64_t addr)
{
    ck_assert_uint_eq(g[0], 0); /* SystemMemory */
    ck_assert_uint_eq(g[1], 8);
    ck_assert_uint_eq(g[2], 0);
    ck_assert_uint_eq(g[3], 1);
    ck_assert_uint_eq(le(g + 4, 8), addr);
}

static void check_fadt(const uint8_t *f)
{
    ck_assert_uint_eq(le(f + 4, 4), 276);
    ck_assert_uint_eq(f[8], 6);
    uint32_t flags = (uint32_t)le(f + 112, 4);
    ck_assert(flags & (1u << 20)); /* HW_REDUCED_ACPI */
    ck_assert(flags & (1u << 10)); /* RESET_REG_SUP */
    ck_assert_uint_eq(le(f + 40, 4), le(f + 140, 8));
    ck_assert_uint_eq(le(f + 109, 2) & (1u << 1), 0); /* no 8042 flag */
    ck_assert_uint_eq(le(f + 36, 4), 0);              /* no FACS */
    ck_assert_uint_eq(le(f + 46, 2), 0);              /* no SCI */
    check_gas8(f + 116, LAYOUT_RESET_REG);
    ck_assert_uint_eq(f[128], LAYOUT_RESET_VALUE);
    check_gas8(f + 244, LAYOUT_SLEEP_CONTROL);
    check_gas8(f + 256, LAYOUT_SLEEP_STATUS);
    ck_assert_mem_eq(f + 268, "VMRUN\0\0\0", 8);
}

struct madt_counts {
    unsigned int lapic, ioapic, iso, nmi;
};

static void check_madt_entry(const uint8_t *e, struct madt_counts *c)
{
    switch (e[0]) {
    case 0:
        ck_assert_uint_eq(e[1], 8);
        ck_assert_uint_eq(e[3], c->lapic); /* APIC ID = index */
        ck_assert_uint_eq(le(e + 4, 4) & 1, 1);
        c->lapic++;
        break;
    case 1:
        ck_assert_uint_eq(e[1], 12);
        ck_assert_uint_eq(le(e + 4, 4), LAYOUT_IOAPIC);
        ck_assert_uint_eq(le(e + 8, 4), 0);
        c->ioapic++;
        break;
    case 2:
        ck_assert_uint_eq(e[1], 10);
        ck_assert_uint_eq(e[3], 0);
        ck_assert_uint_eq(le(e + 4, 4), 2);
        c->iso++;
        break;
    case 4:
        ck_assert_uint_eq(e[1], 6);
        ck_assert_uint_eq(e[2], 0xff);
        ck_assert_uint_eq(e[5], 1);
        c->nmi++;
        break;
    default:
        ck_abort_msg("unexpected MADT entry type %u", e[0]);
    }
}

static void check_madt(const uint8_t *m, uint32_t cpus)
{
    struct madt_counts c = {0};
    size_t len = le(m + 4, 4);

    ck_assert_uint_eq(le(m + 36, 4), LAYOUT_LAPIC);
    ck_assert_uint_eq(le(m + 40, 4) & 1, 1); /* PCAT_COMPAT */
    size_t off = 44;
    while (off < len) {
        ck_assert_uint_le(off + 2, len);
        ck_assert_uint_ge(m[off + 1], 2);
        ck_assert_uint_le(off + m[off + 1], len);
        check_madt_entry(m + off, &c);
        off += m[off + 1];
    }
    ck_assert_uint_eq(off, len);
    ck_assert_uint_eq(c.lapic, cpus);
    ck_assert_uint_eq(c.ioapic, 1);
    ck_assert_uint_eq(c.iso, 1);
    ck_assert_uint_eq(c.nmi, 1);
}

static unsigned int count(const uint8_t *p, size_t len, const char *s)
{
    size_t n = strlen(s);
    unsigned int c = 0;

    for (size_t i = 0; i + n <= len; i++)
        c += !memcmp(p + i, s, n);
    return c;
}

static void check_dsdt(const uint8_t *d, size_t nr_devices)
{
    size_t len = le(d + 4, 4);

    ck_assert_uint_eq(d[8], 2); /* 64-bit integers */
    ck_assert_uint_eq(count(d, len, "LNRO0005"), nr_devices);
    ck_assert_uint_eq(count(d, len, "_HID"), nr_devices + 1);
    ck_assert_uint_eq(count(d, len, "_CRS"), nr_devices + 1);
    /* Name (_S5_, Package (4) {5, 0, 0, 0}) at the end, in root scope. */
    const uint8_t s5[] = {0x08, '_',  'S',  '5',  '_',
                          0x12, 0x07, 0x04, 0x0a, ACPI_S5_SLP_TYP,
                          0x00, 0x00, 0x00};
    ck_assert_uint_ge(len, 36 + sizeof(s5));
    ck_assert_mem_eq(d + len - sizeof(s5), s5, sizeof(s5));
}

static const uint32_t cpu_counts[] = {1, 2, 4, 254};
static const size_t dev_counts[] = {0, 3, MAX_DEVS};

START_TEST(test_tables)
{
    uint32_t cpus = cpu_counts[_i / 3];
    size_t nr = dev_counts[_i % 3];
    struct acpi_mmio_device devs[MAX_DEVS];
    uint8_t *buf = malloc(BUF_SIZE);

    make_devices(devs, nr);
    struct acpi_params p = make_params(cpus, devs, nr);
    memset(buf, CANARY, BUF_SIZE);
    int len = acpi_build(&p, buf, BUF_SIZE);
    ck_assert_int_gt(len, 0);
    ck_assert_int_le(len, LAYOUT_ACPI_SIZE);
    ck_assert(untouched(buf, (size_t)len, BUF_SIZE));
    struct tables t = find_tables(buf, len, BASE);
    check_fadt(t.fadt);
    check_madt(t.madt, cpus);
    check_dsdt(t.dsdt, nr);
    free(buf);
}
END_TEST

START_TEST(test_no_com1_and_base)
{
    struct acpi_mmio_device devs[2];
    uint8_t buf[4096];

    make_devices(devs, 2);
    devs[1].irq = -1;
    struct acpi_params p = make_params(1, devs, 2);
    p.com1_port = 0;
    p.base = 0x7ff00000;
    int len = acpi_build(&p, buf, sizeof(buf));
    ck_assert_int_gt(len, 0);
    struct tables t = find_tables(buf, len, p.base);
    size_t dlen = le(t.dsdt + 4, 4);
    ck_assert_uint_eq(count(t.dsdt, dlen, "_HID"), 2);
    ck_assert_uint_eq(count(t.dsdt, dlen, "COM1"), 0);
    /* Only VR00 has an Extended Interrupt descriptor. */
    ck_assert_uint_eq(count(t.dsdt, dlen, "\x89\x06"), 1);
    ck_assert_uint_eq(count(t.dsdt, dlen, "\x86\x09"), 2);
}
END_TEST

/* Every size below the one needed fails and leaves the buffer alone. */
START_TEST(test_enospc)
{
    struct acpi_mmio_device devs[MAX_DEVS];
    uint8_t *ref = malloc(BUF_SIZE);

    make_devices(devs, MAX_DEVS);
    struct acpi_params p = make_params(254, devs, MAX_DEVS);
    int need = acpi_build(&p, ref, BUF_SIZE);
    ck_assert_int_gt(need, 0);
    for (int size = 0; size < need; size++) {
        uint8_t *buf = malloc((size_t)size + 64);
        memset(buf, CANARY, (size_t)size + 64);
        ck_assert_int_eq(acpi_build(&p, buf, (size_t)size), -ENOSPC);
        ck_assert_msg(untouched(buf, 0, (size_t)size + 64), "size %d", size);
        free(buf);
    }
    uint8_t *exact = malloc((size_t)need);
    ck_assert_int_eq(acpi_build(&p, exact, (size_t)need), need);
    ck_assert_mem_eq(exact, ref, (size_t)need);
    free(exact);
    free(ref);
}
END_TEST

static void expect_einval(const struct acpi_params *p)
{
    uint8_t buf[4096];

    memset(buf, CANARY, sizeof(buf));
    ck_assert_int_eq(acpi_build(p, buf, sizeof(buf)), -EINVAL);
    ck_assert(untouched(buf, 0, sizeof(buf)));
}

/* Not a NameSeg, or a name already taken (by VR00 or COM1). */
START_TEST(test_bad_names)
{
    const char *bad[] = {"vr01", "VR1", "1VR0", "VR-1", "", "VR00", "COM1"};
    struct acpi_mmio_device devs[3];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        make_devices(devs, 3);
        strcpy(devs[1].name, bad[i]);
        struct acpi_params p = make_params(2, devs, 3);
        expect_einval(&p);
    }
}
END_TEST

START_TEST(test_bad_hids)
{
    const char *bad[] = {"", NULL, "LNRO00050", "LNRO 005", "lnro0005"};
    struct acpi_mmio_device devs[3];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        make_devices(devs, 3);
        devs[1].hid = bad[i];
        struct acpi_params p = make_params(2, devs, 3);
        expect_einval(&p);
    }
}
END_TEST

/* One bad parameter per case. */
static void break_param(int which, struct acpi_params *p,
                        struct acpi_mmio_device *d)
{
    switch (which) {
    case 0:
        p->nr_cpus = 0;
        break;
    case 1:
        p->nr_cpus = 255;
        break;
    case 2:
        d[0].base = LAYOUT_HIGH_RAM; /* not Memory32Fixed material */
        break;
    case 3:
        d[0].base = 0xfffff000;
        d[0].len = 0x2000;
        break;
    case 4:
        d[0].len = 0;
        break;
    case 5:
        d[0].irq = IRQ_MAX + 1;
        break;
    case 6:
        p->com1_irq = 16;
        break;
    case 7:
        p->com1_irq = -1;
        break;
    case 8:
        p->com1_port = 0xfffc;
        break;
    case 9:
        p->lapic = LAYOUT_HIGH_RAM;
        break;
    case 10:
        p->ioapic = LAYOUT_HIGH_RAM;
        break;
    case 11:
        p->devices = NULL;
        break;
    default:
        p->base = UINT64_MAX - 100;
        break;
    }
}

START_TEST(test_bad_params)
{
    struct acpi_mmio_device devs[3];

    make_devices(devs, 3);
    struct acpi_params p = make_params(2, devs, 3);
    break_param(_i, &p, devs);
    expect_einval(&p);
}
END_TEST

START_TEST(test_null_args)
{
    struct acpi_params p = make_params(1, NULL, 0);
    uint8_t buf[4096];

    ck_assert_int_eq(acpi_build(NULL, buf, sizeof(buf)), -EINVAL);
    ck_assert_int_eq(acpi_build(&p, NULL, sizeof(buf)), -EINVAL);
    ck_assert_int_gt(acpi_build(&p, buf, sizeof(buf)), 0);
    p.com1_port = 0; /* the smallest DSDT: only \_S5 */
    ck_assert_int_gt(acpi_build(&p, buf, sizeof(buf)), 0);
}
END_TEST

/* --- iasl ------------------------------------------------------------ */

/* Fails with (what) after printing (text), too long for a check message. */
static void expect(bool ok, const char *name, const char *what,
                   const char *text)
{
    if (ok)
        return;
    fprintf(stderr, "--- %s ---\n%s\n", name, text);
    ck_abort_msg("%s: %s", name, what);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char *text = calloc(1, 1 << 20);
    size_t n = fread(text, 1, (1 << 20) - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static void write_file(const char *dir, const char *name, const uint8_t *p,
                       size_t len)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    ck_assert_uint_eq(fwrite(p, 1, len, f), len);
    fclose(f);
}

/* Runs `iasl -d NAME.dat` in (dir) and returns its console output and,
 * through (dsl), the disassembly. */
static char *iasl_disassemble(const char *dir, const char *name, char **dsl)
{
    char cmd[512], path[256];

    ck_assert_msg(system("command -v iasl >/dev/null 2>&1") == 0,
                  "iasl not found: install acpica-tools");
    snprintf(cmd, sizeof(cmd), "cd '%s' && iasl -d %s.dat >%s.log 2>&1", dir,
             name, name);
    int status = system(cmd);
    snprintf(path, sizeof(path), "%s/%s.log", dir, name);
    char *log = read_text(path);
    expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, name,
           "iasl -d failed", log);
    snprintf(path, sizeof(path), "%s/%s.dsl", dir, name);
    *dsl = read_text(path);
    return log;
}

static void check_no_errors(const char *name, const char *text)
{
    const char *bad[] = {"Error", "terminates in the middle",
                         "Incorrect checksum", "Invalid"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect(!strstr(text, bad[i]), name, bad[i], text);
}

static void check_dsdt_dsl(const char *dsl)
{
    const char *want[] = {
        "\"LNRO0005\"",
        "EisaId (\"PNP0501\")",
        "Name (_S5, Package (0x04)",
        "Memory32Fixed (ReadWrite,",
        "0xD0100000,         // Address Base",
        "0xD0112000,         // Address Base",
        "0x00001000,         // Address Length",
        "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )",
        "0x00000017,",
        "IO (Decode16,",
        "IRQNoFlags ()",
        "{4}",
        "Device (VR18)",
        "Scope (_SB)",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        expect(strstr(dsl, want[i]) != NULL, "dsdt", want[i], dsl);
}

/* Recompiles the disassembly: iasl must produce the very same AML, which
 * pins down every PkgLength, integer and name encoding. */
static void check_round_trip(const char *dir, const uint8_t *dsdt)
{
    char cmd[512], path[256];
    uint8_t *aml = malloc(BUF_SIZE);
    size_t len = le(dsdt + 4, 4);

    snprintf(cmd, sizeof(cmd),
             "cd '%s' && iasl -p again dsdt.dsl >again.log 2>&1", dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(path, sizeof(path), "%s/again.aml", dir);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "iasl wrote no %s", path);
    size_t n = fread(aml, 1, BUF_SIZE, f);
    fclose(f);
    ck_assert_uint_eq(n, len);
    ck_assert_mem_eq(aml + 36, dsdt + 36, len - 36);
    free(aml);
}

START_TEST(test_iasl)
{
    struct acpi_mmio_device devs[MAX_DEVS];
    uint8_t *buf = malloc(BUF_SIZE);
    char dir[] = "/tmp/vmrun-acpi-XXXXXX", cmd[64];
    char *dsl;

    ck_assert(mkdtemp(dir) != NULL);
    make_devices(devs, MAX_DEVS);
    struct acpi_params p = make_params(4, devs, MAX_DEVS);
    int len = acpi_build(&p, buf, BUF_SIZE);
    struct tables t = find_tables(buf, len, BASE);
    write_file(dir, "dsdt", t.dsdt, le(t.dsdt + 4, 4));
    write_file(dir, "facp", t.fadt, le(t.fadt + 4, 4));
    write_file(dir, "apic", t.madt, le(t.madt + 4, 4));
    const char *names[] = {"dsdt", "facp", "apic"};
    for (size_t i = 0; i < 3; i++) {
        char *log = iasl_disassemble(dir, names[i], &dsl);
        check_no_errors(names[i], log);
        check_no_errors(names[i], dsl);
        if (i == 0) {
            check_dsdt_dsl(dsl);
            check_round_trip(dir, t.dsdt);
        }
        free(log);
        free(dsl);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    free(buf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("acpi");
    TCase *aml = tcase_create("aml");
    tcase_add_test(aml, test_aml_integer);
    tcase_add_loop_test(aml, test_aml_pkg_length, 0,
                        sizeof(pkg_cases) / sizeof(pkg_cases[0]));
    tcase_add_test(aml, test_aml_names);
    tcase_add_test(aml, test_aml_objects);
    tcase_add_test(aml, test_aml_resources);
    tcase_add_test(aml, test_aml_too_big);
    suite_add_tcase(s, aml);
    TCase *tc = tcase_create("tables");
    tcase_add_loop_test(tc, test_tables, 0, 12);
    tcase_add_test(tc, test_no_com1_and_base);
    tcase_add_test(tc, test_enospc);
    tcase_add_test(tc, test_bad_names);
    tcase_add_test(tc, test_bad_hids);
    tcase_add_loop_test(tc, test_bad_params, 0, 13);
    tcase_add_test(tc, test_null_args);
    tcase_add_test(tc, test_iasl);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
