/* blk.c - freestanding guest that drives vmrun's virtio-blk from CPL3:
 * good requests, then malformed ones the device must survive, or with
 * "mode=bench" a throughput run.  One UART line per check; the exit status
 * (debug-exit MMIO register) is 0, or 10 + the number of the first failed
 * check.
 *
 * Command line: id=DRIVE_ID (the GET_ID answer to expect), mode=bench,
 * count=N (64 KiB requests per bench phase), count4k=N, depth=N, hold=1
 * (after the last line, spin instead of exiting: the host reads the VM's
 * metrics, knowing exactly what I/O the guest did, then stops it). */
#include "blk.h"
#include "fw.h"

/* The memory the device sees.  The guest has no allocator. */
uint8_t blk_rings[2][3 * 4096] __attribute__((aligned(4096)));
struct blk_hdr blk_hdrs[DEPTH] __attribute__((aligned(16)));
uint8_t blk_status[DEPTH];
struct vring_desc blk_itab[2][ITAB] __attribute__((aligned(16)));
uint8_t blk_data[DEPTH][CHUNK] __attribute__((aligned(4096)));
uint8_t blk_scratch[CHUNK] __attribute__((aligned(4096)));

/* ---- command line and small helpers ---- */

static const char *cmdline_value(const struct blk *b, const char *key)
{
    for (const char *s = b->cmdline; s && *s; s++) {
        const char *a = s, *k = key;

        if (s != b->cmdline && s[-1] != ' ')
            continue;
        while (*k && *a == *k)
            a++, k++;
        if (!*k && *a == '=')
            return a + 1;
    }
    return 0;
}

/* True if the value of (key) is (want) up to the next blank. */
static bool cmdline_is(const struct blk *b, const char *key, const char *want)
{
    const char *v = cmdline_value(b, key);

    if (!v)
        return false;
    while (*want && *v == *want)
        v++, want++;
    return !*want && (*v == 0 || *v == ' ');
}

/* Sector (s) of the test pattern: 64 lines "fwNNNNN\n" (s mod 100000), so
 * the host can rebuild it with printf. */
static void pattern_fill(uint8_t *p, uint64_t s)
{
    uint32_t n = (uint32_t)(s % 100000);

    for (int line = 0; line < SECTOR / 8; line++, p += 8) {
        p[0] = 'f';
        p[1] = 'w';
        for (int i = 6, v = (int)n; i >= 2; i--, v /= 10)
            p[i] = (uint8_t)('0' + v % 10);
        p[7] = '\n';
    }
}

/* 0 if the (nsect) sectors at (p) hold the pattern of sectors (s) on. */
int pattern_check(const uint8_t *p, uint64_t s, uint32_t nsect)
{
    uint8_t want[SECTOR];

    for (uint32_t i = 0; i < nsect; i++, p += SECTOR) {
        pattern_fill(want, s + i);
        for (int k = 0; k < SECTOR; k++)
            if (p[k] != want[k])
                return -1;
    }
    return 0;
}

void fill_bytes(uint8_t *p, uint32_t n, uint8_t v)
{
    for (uint32_t i = 0; i < n; i++)
        ((volatile uint8_t *)p)[i] = v;
}

/* ---- device setup and synchronous requests ---- */

const char *blk_init(struct blk *b)
{
    if (vio_negotiate(&b->dev, b->wanted) < 0)
        return "FEATURES_OK refused";
    if (vio_vq_setup(&b->dev, &b->vq, 0, QSIZE, blk_rings[b->ring]) < 0)
        return "queue 0 setup refused";
    if (!(vio_driver_ok(&b->dev) & VIO_S_DRIVER_OK))
        return "DRIVER_OK refused";
    return 0;
}

/* Makes chain (head) available, kicks and waits for one used element. */
enum vio_wait blk_submit(struct blk *b, uint16_t head, uint32_t *len)
{
    uint16_t old = b->vq.avail_idx;
    uint32_t id;
    enum vio_wait w;

    vio_vq_add(&b->vq, head);
    vio_vq_publish(&b->vq);
    vio_vq_kick(&b->dev, &b->vq, old, false);
    w = vio_vq_wait(&b->dev, &b->vq, WAIT_LONG, &id, len);
    if (w == VIO_WAIT_USED && id != head)
        *len = 0xffffffff; /* wrong id: callers see a bad length */
    return w;
}

/* Runs (n) segments as one chain; the status byte is blk_status[0], preset to
 * S_UNTOUCHED.  The result in (*st), the used length in (*len). */
enum vio_wait blk_chain(struct blk *b, const struct vio_seg *s, unsigned int n,
                        uint8_t *st, uint32_t *len)
{
    enum vio_wait w;

    blk_status[0] = S_UNTOUCHED;
    vio_chain_set(b->vq.desc, s, n);
    w = blk_submit(b, 0, len);
    *st = blk_status[0];
    return w;
}

static const char *wait_error(enum vio_wait w)
{
    return w == VIO_WAIT_NEEDS_RESET ? "device set DEVICE_NEEDS_RESET"
                                     : "no completion (device hung?)";
}

/* A request with header (type, sector), (len) bytes at (buf) and status
 * byte.  Fails unless it completed; the status lands in (*st). */
const char *blk_io(struct blk *b, uint32_t type, uint64_t sector, void *buf,
                   uint32_t len, uint8_t *st)
{
    struct vio_seg s[3];
    unsigned int n = 0;
    uint32_t used;
    enum vio_wait w;

    blk_hdrs[0] = (struct blk_hdr){.type = type, .sector = sector};
    s[n++] = (struct vio_seg){addr(&blk_hdrs[0]), sizeof(blk_hdrs[0]), 0};
    if (len)
        s[n++] = (struct vio_seg){addr(buf), len, type == T_OUT ? 0 : W};
    s[n++] = (struct vio_seg){addr(&blk_status[0]), 1, W};
    w = blk_chain(b, s, n, st, &used);
    if (w != VIO_WAIT_USED)
        return wait_error(w);
    if (*st == S_OK && type == T_IN && used != len + 1)
        return "wrong used length";
    return 0;
}

/* Reads (nsect) sectors at (s) and checks the pattern. */
const char *blk_verify(struct blk *b, uint64_t s, uint32_t nsect)
{
    uint8_t st;
    const char *e;

    fill_bytes(blk_scratch, nsect * SECTOR, 0);
    e = blk_io(b, T_IN, s, blk_scratch, nsect * SECTOR, &st);
    if (e)
        return e;
    if (st != S_OK)
        return "read failed";
    return pattern_check(blk_scratch, s, nsect) ? "data differs" : 0;
}

/* ---- reporting ---- */

static void blk_report(struct blk *b, const char *name, const char *why)
{
    fw_report(&b->tally, 0, name, why);
}

static void put_kv(const char *k, uint64_t v)
{
    fw_putc(' ');
    fw_puts(k);
    fw_putc('=');
    fw_put_dec(v);
}

/* ---- good requests ---- */

static const char *check_probe(struct blk *b)
{
    switch (vio_probe(&b->dev, BLK_BASE, VIRTIO_ID_BLOCK)) {
    case -1:
        return "bad magic";
    case -2:
        return "not virtio-mmio version 2";
    case -3:
        return "not a block device";
    }
    return 0;
}

static const char *check_features(struct blk *b)
{
    uint64_t need = VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(VIO_F_INDIRECT_DESC) |
                    VIO_BIT(VIO_F_EVENT_IDX) | VIO_BIT(F_BLK_FLUSH);

    b->wanted = need;
    if (vio_negotiate(&b->dev, need) < 0)
        return "FEATURES_OK refused";
    if ((b->dev.offered & need) != need)
        return "VERSION_1, INDIRECT_DESC, EVENT_IDX or FLUSH not offered";
    return 0;
}

static const char *check_queue(struct blk *b)
{
    return blk_init(b);
}

static const char *check_config(struct blk *b)
{
    volatile uint8_t *cfg =
        (volatile uint8_t *)(uintptr_t)(BLK_BASE + VIO_CONFIG);
    uint64_t lo = *(volatile uint32_t *)(cfg + CFG_CAPACITY);
    uint64_t hi = *(volatile uint32_t *)(cfg + CFG_CAPACITY + 4);

    b->capacity = *(volatile uint64_t *)(cfg + CFG_CAPACITY);
    fw_puts("vmrun-firmware: blk: capacity=");
    fw_put_dec(b->capacity);
    fw_putc('\n');
    if (b->capacity != (lo | hi << 32))
        return "8-byte and 4-byte reads of capacity differ";
    if (*(volatile uint32_t *)(cfg + CFG_BLK_SIZE) != SECTOR)
        return "blk_size is not 512";
    if (b->capacity < 4096)
        return "disk smaller than 2 MiB";
    return 0;
}

/* Sectors 0..127 as one write of four 16 KiB segments, sector 1000 and
 * the last sector alone. */
static const char *check_write(struct blk *b)
{
    const uint64_t single[2] = {1000, b->capacity - 1};
    struct vio_seg s[6];
    uint32_t used;
    uint8_t st;
    const char *e;

    for (uint64_t i = 0; i < CHUNK / SECTOR; i++)
        pattern_fill(blk_data[0] + i * SECTOR, i);
    blk_hdrs[0] = (struct blk_hdr){.type = T_OUT, .sector = 0};
    s[0] = (struct vio_seg){addr(&blk_hdrs[0]), sizeof(blk_hdrs[0]), 0};
    for (int i = 0; i < 4; i++)
        s[1 + i] = (struct vio_seg){addr(blk_data[0] + i * 16384), 16384, 0};
    s[5] = (struct vio_seg){addr(&blk_status[0]), 1, W};
    if (blk_chain(b, s, 6, &st, &used) != VIO_WAIT_USED || st != S_OK)
        return "64 KiB write in four segments failed";
    for (int i = 0; i < 2; i++) {
        pattern_fill(blk_data[1], single[i]);
        e = blk_io(b, T_OUT, single[i], blk_data[1], SECTOR, &st);
        if (e || st != S_OK)
            return e ? e : "single-sector write failed";
    }
    return 0;
}

static const char *check_read(struct blk *b)
{
    struct vio_seg s[10];
    uint32_t used;
    uint8_t st;
    const char *e;

    /* 64 KiB in eight 8 KiB segments. */
    fill_bytes(blk_data[2], CHUNK, 0);
    blk_hdrs[0] = (struct blk_hdr){.type = T_IN, .sector = 0};
    s[0] = (struct vio_seg){addr(&blk_hdrs[0]), sizeof(blk_hdrs[0]), 0};
    for (int i = 0; i < 8; i++)
        s[1 + i] = (struct vio_seg){addr(blk_data[2] + i * 8192), 8192, W};
    s[9] = (struct vio_seg){addr(&blk_status[0]), 1, W};
    if (blk_chain(b, s, 10, &st, &used) != VIO_WAIT_USED || st != S_OK)
        return "64 KiB read in eight segments failed";
    if (used != CHUNK + 1)
        return "64 KiB read: wrong used length";
    if (pattern_check(blk_data[2], 0, CHUNK / SECTOR))
        return "sectors 0..127 differ";
    e = blk_verify(b, 1000, 1);
    return e ? e : blk_verify(b, b->capacity - 1, 1);
}

/* A read through an indirect table (§2.7.5.3). */
static const char *check_indirect(struct blk *b)
{
    struct vio_seg s[4];
    uint32_t used;

    blk_hdrs[0] = (struct blk_hdr){.type = T_IN, .sector = 16};
    fill_bytes(blk_scratch, 8192, 0);
    s[0] = (struct vio_seg){addr(&blk_hdrs[0]), sizeof(blk_hdrs[0]), 0};
    s[1] = (struct vio_seg){addr(blk_scratch), 4096, W};
    s[2] = (struct vio_seg){addr(blk_scratch + 4096), 4096, W};
    s[3] = (struct vio_seg){addr(&blk_status[0]), 1, W};
    vio_chain_set(blk_itab[0], s, 4);
    blk_status[0] = S_UNTOUCHED;
    vio_desc_set(b->vq.desc, 0, addr(blk_itab[0]), 4 * 16,
                 VRING_DESC_F_INDIRECT, 0);
    if (blk_submit(b, 0, &used) != VIO_WAIT_USED || blk_status[0] != S_OK)
        return "indirect read failed";
    return pattern_check(blk_scratch, 16, 16) ? "data differs" : 0;
}

static const char *check_get_id(struct blk *b)
{
    const char *want = cmdline_value(b, "id");
    uint8_t id[ID_BYTES + 1], st;
    const char *e;
    int i;

    fill_bytes(blk_data[3], ID_BYTES, 0xaa);
    e = blk_io(b, T_GET_ID, 0, blk_data[3], ID_BYTES, &st);
    if (e || st != S_OK)
        return e ? e : "GET_ID failed";
    for (i = 0; i < ID_BYTES; i++)
        id[i] = blk_data[3][i];
    id[ID_BYTES] = 0;
    fw_puts("vmrun-firmware: blk: id=");
    fw_puts((const char *)id);
    fw_putc('\n');
    for (i = 0; want && want[i] && want[i] != ' '; i++)
        if (i >= ID_BYTES || id[i] != (uint8_t)want[i])
            return "GET_ID differs from id= on the command line";
    if (want && i < ID_BYTES && id[i] != 0)
        return "GET_ID is longer than id= on the command line";
    return 0;
}

static const char *check_flush(struct blk *b)
{
    uint8_t st;
    const char *e = blk_io(b, T_FLUSH, 0, 0, 0, &st);

    return e ? e : st != S_OK ? "FLUSH failed" : 0;
}

/* Past the end, straddling it, and a sector whose byte offset wraps. */
static const char *check_past_end(struct blk *b)
{
    const struct {
        uint32_t type;
        uint64_t sector;
        uint32_t len;
    } r[] = {{T_IN, b->capacity, SECTOR},
             {T_IN, b->capacity - 1, 2 * SECTOR},
             {T_OUT, b->capacity, SECTOR},
             {T_IN, 1ULL << 55, SECTOR},
             {T_IN, ~0ULL, SECTOR}};
    uint8_t st;
    const char *e;

    for (unsigned int i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
        e = blk_io(b, r[i].type, r[i].sector, blk_data[3], r[i].len, &st);
        if (e)
            return e;
        if (st != S_IOERR)
            return "request beyond the capacity did not give IOERR";
    }
    return blk_verify(b, 0, 8);
}

/* ---- throughput ("mode=bench") ---- */

struct bench {
    uint32_t type, size; /* request type and bytes per request */
    bool random;
    uint64_t n, depth, submitted, done, x; /* x: the random generator */
};

static uint64_t bench_sector(struct blk *b, struct bench *p)
{
    uint64_t per = p->size / SECTOR, slots = b->capacity / per;

    if (!p->random)
        return p->submitted % slots * per;
    p->x = p->x * 6364136223846793005ULL + 1442695040888963407ULL;
    return (p->x >> 33) % slots * per;
}

/* Slot (k) owns descriptors 3k..3k+2, blk_hdrs[k], blk_status[k] and
 * blk_data[k]. */
static void bench_queue(struct blk *b, struct bench *p, uint16_t k)
{
    struct vio_seg s[3] = {
        {addr(&blk_hdrs[k]), sizeof(blk_hdrs[k]), 0},
        {addr(blk_data[k]), p->size, p->type == T_IN ? W : 0},
        {addr(&blk_status[k]), 1, W}};

    blk_hdrs[k] =
        (struct blk_hdr){.type = p->type, .sector = bench_sector(b, p)};
    blk_status[k] = S_UNTOUCHED;
    vio_chain_set(b->vq.desc + 3 * k, s, 3);
    b->vq.desc[3 * k].next = (uint16_t)(3 * k + 1);
    b->vq.desc[3 * k + 1].next = (uint16_t)(3 * k + 2);
    vio_vq_add(&b->vq, (uint16_t)(3 * k));
    p->submitted++;
}

/* Keeps (depth) requests in flight until (n) completed; the TSC cycles
 * taken, or 0 on a failed request. */
static uint64_t bench_run(struct blk *b, struct bench *p)
{
    uint64_t t0 = vio_rdtsc();
    uint16_t old = b->vq.avail_idx;
    uint32_t id, len;

    for (uint16_t k = 0; k < p->depth && p->submitted < p->n; k++)
        bench_queue(b, p, k);
    vio_vq_publish(&b->vq);
    vio_vq_kick(&b->dev, &b->vq, old, false);
    while (p->done < p->n) {
        if (vio_vq_wait(&b->dev, &b->vq, WAIT_LONG, &id, &len) != VIO_WAIT_USED)
            return 0;
        old = b->vq.avail_idx;
        do {
            if (id % 3 || id / 3 >= p->depth || blk_status[id / 3] != S_OK)
                return 0;
            p->done++;
            if (p->submitted < p->n)
                bench_queue(b, p, (uint16_t)(id / 3));
        } while (vio_vq_get_used(&b->vq, &id, &len));
        vio_vq_publish(&b->vq);
        vio_vq_kick(&b->dev, &b->vq, old, false);
    }
    return vio_rdtsc() - t0 + 1;
}

static void blk_bench(struct blk *b)
{
    const char *names[] = {"bench-seq-write-64k", "bench-seq-read-64k",
                           "bench-rand-read-4k", "bench-rand-write-4k"};
    uint64_t total = 0;

    for (int i = 0; i < 4; i++) {
        struct bench p = {.type = (i == 0 || i == 3) ? T_OUT : T_IN,
                          .size = i < 2 ? CHUNK : 4096,
                          .random = i >= 2,
                          .x = 12345};
        uint64_t cycles;

        p.n = b->bench_n[i < 2 ? 0 : 1];
        p.depth = b->depth;
        cycles = p.n ? bench_run(b, &p) : 1;
        total += cycles;
        fw_puts("vmrun-firmware: blk: ");
        fw_puts(names[i]);
        put_kv("requests", p.done);
        put_kv("bytes", p.done * p.size);
        put_kv("depth", p.depth);
        put_kv("cycles", cycles);
        fw_putc('\n');
        blk_report(b, names[i], cycles ? 0 : "a request failed");
    }
    fw_puts("vmrun-firmware: blk: bench-total");
    put_kv("cycles", total);
    fw_putc('\n');
}

/* ---- main ---- */

struct check {
    const char *name;
    const char *(*fn)(struct blk *b);
};

static const struct check checks[] = {
    {"probe", check_probe},
    {"features", check_features},
    {"queue", check_queue},
    {"config", check_config},
    {"write", check_write},
    {"read", check_read},
    {"indirect", check_indirect},
    {"get-id", check_get_id},
    {"flush", check_flush},
    {"past-end", check_past_end},
    {"desc-outside-ram", check_outside_ram},
    {"desc-ram-end", check_ram_end},
    {"desc-length-wraps", check_wrap},
    {"desc-loop", check_loop},
    {"chain-too-long", check_long_chain},
    {"nested-indirect", check_nested_indirect},
    {"status-readable", check_status_readable},
    {"short-header", check_short_header},
    {"avail-idx-jump", check_avail_jump},
    {"notify-before-driver-ok", check_notify_early},
    {"queue-size-not-pow2", check_queue_size},
    {"features-never-offered", check_bad_features},
    {"config-past-end", check_config_past_end},
    {"ring-outside-ram", check_ring_outside_ram},
    {"registers", check_registers},
    {"reset-in-flight", check_reset_in_flight},
    {"huge-request", check_huge_request},
    {"pattern", check_pattern},
};

/* The first three checks find and start the device; nothing else can run
 * without them.  In bench mode they are all that runs before the bench. */
#define SETUP_CHECKS 4

void fw_main(const uint8_t *boot_params)
{
    struct blk b = {.ram_top = fw_ram_top(boot_params),
                    .tally = {.prog = "blk"}};
    uint32_t cmd = *(const uint32_t *)(boot_params + 0x228);
    uint8_t status;
    bool bench;

    b.cmdline = cmd ? (const char *)(uintptr_t)cmd : 0;
    bench = cmdline_is(&b, "mode", "bench");
    for (unsigned int i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        if (bench && i == SETUP_CHECKS)
            break;
        blk_report(&b, checks[i].name, checks[i].fn(&b));
        if (b.tally.first_failed && i < SETUP_CHECKS)
            break;
    }
    if (bench && !b.tally.first_failed) {
        b.bench_n[0] = fw_cmdline_u64(boot_params, "count", 2048);
        b.bench_n[1] = fw_cmdline_u64(boot_params, "count4k", 32768);
        b.depth = fw_cmdline_u64(boot_params, "depth", DEPTH);
        if (b.depth < 1 || b.depth > DEPTH)
            b.depth = DEPTH;
        blk_bench(&b);
    }
    status = fw_tally_status(&b.tally);
    if (cmdline_is(&b, "hold", "1"))
        for (;;)
            __asm__ volatile("pause");
    fw_finish(status);
}
