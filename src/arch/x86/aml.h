/* aml.h - a small ACPI Machine Language encoder (ACPI 6.3 §20.2) for the
 * DSDT: names, integers, strings, packages, buffers, scopes, devices and
 * resource template descriptors (§6.4).  Private to src/arch/x86.
 *
 * Encoding functions never fail on the spot: the first error (out of
 * memory, a bad name, a package too long for a PkgLength) sticks in the
 * encoder, later calls do nothing, and aml_error() reports it once at the
 * end.  Containers are written open/close: *_begin() returns a mark that
 * the matching aml_end() needs, and aml_end() inserts the PkgLength in
 * front of the contents once their size is known. */
#ifndef VMRUN_X86_AML_H
#define VMRUN_X86_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
    uint8_t *buf; /* malloc'd, owned; NULL until the first byte */
    size_t len;
    size_t cap;
    int err; /* 0 or the first -errno */
};

/* Resource descriptor flags, ACPI 6.3 §6.4.3.6 (Extended Interrupt). */
#define AML_IRQ_CONSUMER 0x01
#define AML_IRQ_EDGE 0x02
#define AML_IRQ_ACTIVE_LOW 0x04
#define AML_IRQ_SHARED 0x08

/* An empty encoder; release it with aml_free(). */
void aml_init(struct aml *a);
void aml_free(struct aml *a);

/* 0, or the first error: -ENOMEM, -EINVAL (bad name or EISA ID), -E2BIG
 * (a package over 2^28 bytes). */
int aml_error(const struct aml *a) __attribute__((warn_unused_result));

/* Raw bytes. */
void aml_bytes(struct aml *a, const void *data, size_t len);

/* Closes the container opened at (mark) by a *_begin() call. */
void aml_end(struct aml *a, size_t mark);

/* Data objects (§20.2.3): the shortest of Zero, One, Byte/Word/DWord/
 * QWordConst; a String; a Buffer holding (data). */
void aml_integer(struct aml *a, uint64_t value);
void aml_string(struct aml *a, const char *s);
void aml_buffer(struct aml *a, const void *data, size_t len);

/* A NameString (§20.2.2): an optional leading '\', then segments joined by
 * '.', each 1-4 characters of [A-Z0-9_] (not starting with a digit) and
 * padded with '_' to four: "\\_SB_.COM1", "_HID", "_S5". */
void aml_name_string(struct aml *a, const char *path);

/* EISAID("PNP0501"): three letters and four hex digits, compressed into
 * a DWordConst (§6.1.5). */
void aml_eisaid(struct aml *a, const char *id);

/* Name (path, <object that the caller writes next>). */
void aml_name(struct aml *a, const char *path);

/* Scope (path) { ... }, Device (path) { ... }, Package (n) { ... },
 * Buffer () { ... }: each returns the mark for aml_end() (aml_buffer_end()
 * for a buffer). */
size_t aml_scope_begin(struct aml *a, const char *path);
size_t aml_device_begin(struct aml *a, const char *path);
size_t aml_package_begin(struct aml *a, uint8_t nr_elements);
size_t aml_buffer_begin(struct aml *a);
void aml_buffer_end(struct aml *a, size_t mark);

/* Resource descriptors (§6.4), written inside a buffer: a 16-bit decode
 * I/O range of (len) ports at (base); IRQNoFlags() for an ISA IRQ under 16
 * (edge, active high); Memory32Fixed; an Extended Interrupt with AML_IRQ_*
 * (flags); the End Tag (checksum 0: "treat as valid", §6.4.2.9). */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len);
void aml_res_irq(struct aml *a, unsigned int irq);
void aml_res_mem32_fixed(struct aml *a, bool writable, uint32_t base,
                         uint32_t len);
void aml_res_interrupt(struct aml *a, uint8_t flags, uint32_t gsi);
void aml_res_end(struct aml *a);

/* True if (seg) is one valid 4-character NameSeg ([A-Z_][A-Z0-9_]{3}). */
bool aml_is_name_seg(const char *seg);

#endif
