/* aml.c - encodes the few AML constructs vmrun's DSDT needs (ACPI 6.3 §20). */
#include "arch/x86/aml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* AML opcodes and prefixes, ACPI 6.3 §20.2. */
#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_OP_PREFIX 0x5b
#define AML_DEVICE_OP 0x82
#define AML_ROOT_CHAR 0x5c

/* The largest encoder output; well above any DSDT vmrun writes and below
 * the 2^28 a PkgLength can describe. */
#define AML_MAX_LEN (1u << 24)

void aml_init(struct aml *a)
{
    memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
    free(a->buf);
    memset(a, 0, sizeof(*a));
}

int aml_error(const struct aml *a)
{
    return a->err;
}

static void aml_fail(struct aml *a, int err)
{
    if (!a->err)
        a->err = err;
}

/* Makes room for (n) more bytes; false (error recorded) if impossible. */
static bool aml_reserve(struct aml *a, size_t n)
{
    if (a->err)
        return false;
    if (n > AML_MAX_LEN - a->len) {
        aml_fail(a, -E2BIG);
        return false;
    }
    if (a->len + n <= a->cap)
        return true;
    size_t cap = a->cap ? a->cap : 256;
    while (cap < a->len + n)
        cap *= 2;
    uint8_t *buf = realloc(a->buf, cap);
    if (!buf) {
        aml_fail(a, -ENOMEM);
        return false;
    }
    a->buf = buf;
    a->cap = cap;
    return true;
}

/* Inserts (n) bytes at offset (at), moving what follows. */
static void aml_insert(struct aml *a, size_t at, const void *data, size_t n)
{
    if (n == 0 || !aml_reserve(a, n))
        return;
    memmove(a->buf + at + n, a->buf + at, a->len - at);
    memcpy(a->buf + at, data, n);
    a->len += n;
}

void aml_bytes(struct aml *a, const void *data, size_t len)
{
    aml_insert(a, a->len, data, len);
}

static void aml_byte(struct aml *a, uint8_t b)
{
    aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned int n)
{
    uint8_t b[8];

    for (unsigned int i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    aml_bytes(a, b, n);
}

/* PkgLength (§20.2.4) for (content) bytes that follow it: the value counts
 * its own 1-4 bytes too; one byte holds up to 63, otherwise the lead byte
 * gives the count of following bytes in bits 7-6 and the low nibble in
 * bits 3-0.  Returns the encoded size, 0 if (content) is too long. */
static size_t aml_pkg_length(size_t content, uint8_t out[4])
{
    for (size_t n = 1; n <= 4; n++) {
        size_t total = content + n;
        size_t max = n == 1 ? 0x3f : ((size_t)1 << (4 + 8 * (n - 1))) - 1;
        if (total > max)
            continue;
        if (n == 1) {
            out[0] = (uint8_t)total;
            return 1;
        }
        out[0] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
        for (size_t i = 1; i < n; i++)
            out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
        return n;
    }
    return 0;
}

void aml_end(struct aml *a, size_t mark)
{
    uint8_t pkg[4];

    if (a->err)
        return;
    size_t n = aml_pkg_length(a->len - mark, pkg);
    if (!n) {
        aml_fail(a, -E2BIG);
        return;
    }
    aml_insert(a, mark, pkg, n);
}

/* Encodes (v) as the shortest ComputationalData into (out). */
static size_t aml_integer_encode(uint64_t v, uint8_t out[9])
{
    size_t n;

    if (v <= 1) {
        out[0] = v ? AML_ONE : AML_ZERO;
        return 1;
    }
    if (v <= UINT8_MAX) {
        out[0] = AML_BYTE_PREFIX;
        n = 1;
    } else if (v <= UINT16_MAX) {
        out[0] = AML_WORD_PREFIX;
        n = 2;
    } else if (v <= UINT32_MAX) {
        out[0] = AML_DWORD_PREFIX;
        n = 4;
    } else {
        out[0] = AML_QWORD_PREFIX;
        n = 8;
    }
    for (size_t i = 0; i < n; i++)
        out[1 + i] = (uint8_t)(v >> (8 * i));
    return 1 + n;
}

void aml_integer(struct aml *a, uint64_t value)
{
    uint8_t b[9];

    aml_bytes(a, b, aml_integer_encode(value, b));
}

void aml_string(struct aml *a, const char *s)
{
    aml_byte(a, AML_STRING_PREFIX);
    aml_bytes(a, s, strlen(s) + 1); /* AsciiCharList NullChar */
}

void aml_buffer(struct aml *a, const void *data, size_t len)
{
    size_t mark = aml_buffer_begin(a);

    aml_bytes(a, data, len);
    aml_buffer_end(a, mark);
}

static bool aml_is_lead_char(char c)
{
    return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool aml_is_name_char(char c)
{
    return aml_is_lead_char(c) || (c >= '0' && c <= '9');
}

/* Length of the valid 1-4 character segment at (s), 0 if invalid. */
static size_t aml_seg_len(const char *s)
{
    size_t n = 0;

    if (!aml_is_lead_char(s[0]))
        return 0;
    while (n < 5 && s[n] && s[n] != '.') {
        if (!aml_is_name_char(s[n]))
            return 0;
        n++;
    }
    return n <= 4 ? n : 0;
}

bool aml_is_name_seg(const char *seg)
{
    return aml_seg_len(seg) == 4 && seg[4] == '\0';
}

/* Counts the segments of (path), 0 if any is invalid. */
static size_t aml_count_segs(const char *path)
{
    size_t count = 0;

    for (;;) {
        size_t n = aml_seg_len(path);
        if (!n)
            return 0;
        count++;
        if (path[n] == '\0')
            return count;
        if (path[n] != '.')
            return 0;
        path += n + 1;
    }
}

void aml_name_string(struct aml *a, const char *path)
{
    if (*path == '\\') {
        aml_byte(a, AML_ROOT_CHAR);
        path++;
    }
    size_t count = aml_count_segs(path);
    if (!count || count > UINT8_MAX) {
        aml_fail(a, -EINVAL);
        return;
    }
    if (count == 2)
        aml_byte(a, AML_DUAL_NAME_PREFIX);
    else if (count > 2)
        aml_bytes(a, (uint8_t[]){AML_MULTI_NAME_PREFIX, (uint8_t)count}, 2);
    while (count--) {
        char seg[4] = {'_', '_', '_', '_'};
        size_t n = aml_seg_len(path);
        memcpy(seg, path, n);
        aml_bytes(a, seg, 4);
        path += n + 1;
    }
}

static int aml_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* §6.1.5: each letter becomes 5 bits (A = 1), the product number 16 bits,
 * and the 32-bit result is stored most significant byte first. */
void aml_eisaid(struct aml *a, const char *id)
{
    uint32_t v = 0;

    if (strlen(id) != 7) {
        aml_fail(a, -EINVAL);
        return;
    }
    for (int i = 0; i < 3; i++) {
        if (id[i] < 'A' || id[i] > 'Z') {
            aml_fail(a, -EINVAL);
            return;
        }
        v = (v << 5) | (uint32_t)(id[i] - 'A' + 1);
    }
    for (int i = 3; i < 7; i++) {
        int d = aml_hex_digit(id[i]);
        if (d < 0) {
            aml_fail(a, -EINVAL);
            return;
        }
        v = (v << 4) | (uint32_t)d;
    }
    aml_integer(a, __builtin_bswap32(v));
}

void aml_name(struct aml *a, const char *path)
{
    aml_byte(a, AML_NAME_OP);
    aml_name_string(a, path);
}

size_t aml_scope_begin(struct aml *a, const char *path)
{
    aml_byte(a, AML_SCOPE_OP);
    size_t mark = a->len;
    aml_name_string(a, path);
    return mark;
}

size_t aml_device_begin(struct aml *a, const char *path)
{
    aml_bytes(a, (uint8_t[]){AML_EXT_OP_PREFIX, AML_DEVICE_OP}, 2);
    size_t mark = a->len;
    aml_name_string(a, path);
    return mark;
}

size_t aml_package_begin(struct aml *a, uint8_t nr_elements)
{
    aml_byte(a, AML_PACKAGE_OP);
    size_t mark = a->len;
    aml_byte(a, nr_elements);
    return mark;
}

size_t aml_buffer_begin(struct aml *a)
{
    aml_byte(a, AML_BUFFER_OP);
    return a->len;
}

/* DefBuffer := BufferOp PkgLength BufferSize ByteList: the size goes in
 * first, then the PkgLength that covers it. */
void aml_buffer_end(struct aml *a, size_t mark)
{
    uint8_t size[9];

    if (a->err)
        return;
    aml_insert(a, mark, size, aml_integer_encode(a->len - mark, size));
    aml_end(a, mark);
}

/* §6.4.2.5: I/O Port Descriptor, decodes 16 address bits; minimum ==
 * maximum base, so the alignment of 1 never matters. */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len)
{
    aml_bytes(a, (uint8_t[]){0x47, 0x01}, 2);
    aml_le(a, base, 2);
    aml_le(a, base, 2);
    aml_bytes(a, (uint8_t[]){0x01, len}, 2);
}

/* §6.4.2.1: IRQ Descriptor without the information byte, which means
 * edge-triggered, active high, exclusive. */
void aml_res_irq(struct aml *a, unsigned int irq)
{
    if (irq > 15) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_byte(a, 0x22);
    aml_le(a, 1u << irq, 2);
}

/* §6.4.3.4: 32-Bit Fixed Memory Range Descriptor (large item 0x06). */
void aml_res_mem32_fixed(struct aml *a, bool writable, uint32_t base,
                         uint32_t len)
{
    aml_bytes(a, (uint8_t[]){0x86, 9, 0, writable ? 1 : 0}, 4);
    aml_le(a, base, 4);
    aml_le(a, len, 4);
}

/* §6.4.3.6: Extended Interrupt Descriptor (large item 0x09) with one
 * interrupt and no resource source. */
void aml_res_interrupt(struct aml *a, uint8_t flags, uint32_t gsi)
{
    aml_bytes(a, (uint8_t[]){0x89, 6, 0, flags, 1}, 5);
    aml_le(a, gsi, 4);
}

void aml_res_end(struct aml *a)
{
    aml_bytes(a, (uint8_t[]){0x79, 0}, 2);
}
