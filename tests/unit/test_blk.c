/* test_blk.c - virtio-blk end to end: driver rings -> virtio-mmio -> queue
 * walker -> request parsing -> Sync/Async backend -> a real image file. */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_env.h"
#include "test_virtio_drv.h"
#include "devices/virtio/blk.h"
#include "devices/virtio/mmio.h"

#define RAM_BASE 0x100000ULL
#define RAM_SIZE (8ULL << 20)
#define BASE 0xd0100000ULL
#define IRQ 5
#define DISK_SIZE (1U << 20)
#define SECTORS (DISK_SIZE / 512)

static enum io_engine engine;
static char path[4096];
static struct fake_env *vm;
static struct tdrv drv;
static struct virtio_blk *blk;
static struct drive_config cfg;
static uint16_t next_desc;

static void image_create(size_t size)
{
    const char *dir = getenv("VMRUN_BUILDDIR");
    uint8_t *buf = malloc(size);
    int fd;

    snprintf(path, sizeof(path), "%s/test_blk_%d.img", dir ? dir : "/tmp",
             (int)getpid());
    for (size_t i = 0; i < size; i++)
        buf[i] = (uint8_t)(i * 7 + i / 512);
    fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, buf, size), (ssize_t)size);
    close(fd);
    free(buf);
}

static void start_coalescing(bool read_only, uint16_t coalesce_us)
{
    uint64_t f;

    cfg = (struct drive_config){.drive_id = "rootfs-disk-0",
                                .path_on_host = path,
                                .is_read_only = read_only,
                                .cache_type = CACHE_WRITEBACK,
                                .io_engine = engine,
                                .completion_coalesce_us = coalesce_us};
    ck_assert_int_eq(virtio_blk_create(&vm->env, &cfg, BASE, IRQ, &blk), 0);
    tdrv_mmio_write(&drv, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    f = tdrv_mmio_read(&drv, VIRTIO_MMIO_DEVICE_FEATURES);
    tdrv_mmio_write(&drv, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    f |= (uint64_t)tdrv_mmio_read(&drv, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
    ck_assert_uint_eq(tdrv_mmio_start(&drv, BASE, f), 15);
    ck_assert_int_eq(event_loop_start(vm->loop), 0);
    next_desc = 0;
}

static void start(bool read_only)
{
    start_coalescing(read_only, 0);
}

static void setup(void)
{
    vm = fake_env_create(RAM_BASE, RAM_SIZE);
    ck_assert_ptr_nonnull(vm);
    image_create(DISK_SIZE);
    blk = NULL;
    /* Rings first: tests allocate buffers before start(). */
    tdrv_init(&drv, vm, RAM_BASE, RAM_SIZE, 64);
    drv.mmio = BASE;
}

static void teardown(void)
{
    event_loop_stop(vm->loop);
    virtio_blk_destroy(blk);
    fake_env_destroy(vm);
    unlink(path);
}

static void setup_sync(void)
{
    engine = IO_ENGINE_SYNC;
    setup();
}

static void setup_async(void)
{
    engine = IO_ENGINE_ASYNC;
    setup();
}

/* A guest buffer whose host address is 4 KiB aligned (O_DIRECT-able). */
static gpa_t aligned_buf(uint32_t len)
{
    gpa_t g = tdrv_alloc(&drv, len + 4096);
    uintptr_t p = (uintptr_t)tdrv_ptr(&drv, g);

    return g + ((4096 - (p & 4095)) & 4095);
}

static gpa_t header(uint32_t type, uint64_t sector)
{
    gpa_t h = tdrv_alloc(&drv, 16);
    uint8_t *p = tdrv_ptr(&drv, h);

    memcpy(p, &type, 4);
    memcpy(p + 8, &sector, 8);
    return h;
}

/* Sends chain (bufs) and waits for it; returns the used length. */
static uint32_t send(const struct tbuf *bufs, unsigned int n)
{
    uint32_t id, len;
    uint16_t head = tdrv_chain(&drv, next_desc, bufs, n);

    next_desc = (next_desc + n) % (drv.size - 8);
    tdrv_publish(&drv, head);
    tdrv_mmio_write(&drv, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    ck_assert(tdrv_wait_used(&drv, drv.avail_idx));
    ck_assert(tdrv_used(&drv, &id, &len));
    ck_assert_uint_eq(id, head);
    return len;
}

/* A request with (len) bytes of data at (data); returns the status. */
static uint8_t rw(uint32_t type, uint64_t sector, gpa_t data, uint32_t len)
{
    gpa_t st = tdrv_alloc(&drv, 1);
    bool in = type != VIRTIO_BLK_T_OUT;
    struct tbuf b[] = {
        {header(type, sector), 16, false}, {data, len, in}, {st, 1, true}};
    uint8_t *status = tdrv_ptr(&drv, st);
    uint32_t used;

    *status = 0xaa;
    used = send(b, 3);
    if (*status == VIRTIO_BLK_S_OK && type == VIRTIO_BLK_T_IN)
        ck_assert_uint_eq(used, len + 1);
    return *status;
}

static uint8_t no_data(uint32_t type)
{
    gpa_t st = tdrv_alloc(&drv, 1);
    struct tbuf b[] = {{header(type, 0), 16, false}, {st, 1, true}};

    *(uint8_t *)tdrv_ptr(&drv, st) = 0xaa;
    ck_assert_uint_eq(send(b, 2), 1);
    return *(uint8_t *)tdrv_ptr(&drv, st);
}

static uint8_t zero_range(uint32_t type, uint64_t sector, uint32_t num,
                          uint32_t flags)
{
    gpa_t seg = tdrv_alloc(&drv, 16), st = tdrv_alloc(&drv, 1);
    uint8_t *p = tdrv_ptr(&drv, seg);
    struct tbuf b[] = {
        {header(type, 0), 16, false}, {seg, 16, false}, {st, 1, true}};

    memcpy(p, &sector, 8);
    memcpy(p + 8, &num, 4);
    memcpy(p + 12, &flags, 4);
    send(b, 3);
    return *(uint8_t *)tdrv_ptr(&drv, st);
}

static void file_read(void *buf, size_t len, off_t off)
{
    int fd = open(path, O_RDONLY);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, buf, len, off), (ssize_t)len);
    close(fd);
}

static uint8_t expected(size_t i)
{
    return (uint8_t)(i * 7 + i / 512);
}

START_TEST(test_config)
{
    uint64_t cap;
    uint32_t seg_max;

    start(false);
    cap = tdrv_mmio_read(&drv, 0x100) | (uint64_t)tdrv_mmio_read(&drv, 0x104)
                                            << 32;
    ck_assert_uint_eq(cap, SECTORS);
    seg_max = tdrv_mmio_read(&drv, 0x100 + VIRTIO_BLK_CFG_SEG_MAX);
    ck_assert_uint_eq(seg_max, VIRTIO_BLK_SEG_MAX);
    tdrv_mmio_write(&drv, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    ck_assert(tdrv_mmio_read(&drv, VIRTIO_MMIO_DEVICE_FEATURES) &
              VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX));
    ck_assert_uint_eq(tdrv_mmio_read(&drv, 0x100 + VIRTIO_BLK_CFG_SIZE_MAX),
                      VIRTIO_BLK_SIZE_MAX);
    ck_assert_uint_eq(tdrv_mmio_read(&drv, VIRTIO_MMIO_DEVICE_ID), 2);
    ck_assert_uint_eq(tdrv_mmio_read(&drv, 0x100 + 60), 0); /* past end */
}
END_TEST

START_TEST(test_read)
{
    gpa_t d = aligned_buf(4096);
    uint8_t *p;

    start(false);
    ck_assert_uint_eq(rw(VIRTIO_BLK_T_IN, 8, d, 4096), VIRTIO_BLK_S_OK);
    p = tdrv_ptr(&drv, d);
    for (size_t i = 0; i < 4096; i++)
        ck_assert_uint_eq(p[i], expected(8 * 512 + i));
}
END_TEST

static void write_read_back(gpa_t w, gpa_t r, uint32_t len, uint64_t sector)
{
    uint8_t *wp = tdrv_ptr(&drv, w), *rp = tdrv_ptr(&drv, r);
    uint8_t file[8192];

    for (uint32_t i = 0; i < len; i++)
        wp[i] = (uint8_t)(0x5a ^ i ^ sector);
    ck_assert_uint_eq(rw(VIRTIO_BLK_T_OUT, sector, w, len), VIRTIO_BLK_S_OK);
    ck_assert_uint_eq(rw(VIRTIO_BLK_T_IN, sector, r, len), VIRTIO_BLK_S_OK);
    ck_assert_mem_eq(wp, rp, len);
    file_read(file, len, sector * 512);
    ck_assert_mem_eq(file, wp, len);
}

START_TEST(test_write_read_back)
{
    start(false);
    write_read_back(aligned_buf(8192), aligned_buf(8192), 8192, 16);
    /* Unaligned guest buffers: O_DIRECT cannot take them as they are. */
    write_read_back(aligned_buf(8192) + 8, aligned_buf(8192) + 3, 1536, 100);
    write_read_back(aligned_buf(512), aligned_buf(512), 512, SECTORS - 1);
}
END_TEST

START_TEST(test_multi_segment)
{
    gpa_t a = aligned_buf(4096), b2 = tdrv_alloc(&drv, 512 + 7) + 7;
    gpa_t st = tdrv_alloc(&drv, 1);
    struct tbuf out[] = {{header(VIRTIO_BLK_T_OUT, 40), 16, false},
                         {a, 4096, false},
                         {b2, 512, false},
                         {st, 1, true}};
    uint8_t file[4608];

    start(false);
    memset(tdrv_ptr(&drv, a), 0x11, 4096);
    memset(tdrv_ptr(&drv, b2), 0x22, 512);
    send(out, 4);
    ck_assert_uint_eq(*(uint8_t *)tdrv_ptr(&drv, st), VIRTIO_BLK_S_OK);
    file_read(file, sizeof(file), 40 * 512);
    ck_assert_uint_eq(file[0], 0x11);
    ck_assert_uint_eq(file[4095], 0x11);
    ck_assert_uint_eq(file[4096], 0x22);
    ck_assert_uint_eq(file[4607], 0x22);
}
END_TEST

START_TEST(test_header_and_data_in_one_buffer)
{
    /* §2.6.4: no assumption about framing.  Header + 512 bytes of data in
     * one readable descriptor. */
    gpa_t h = tdrv_alloc(&drv, 16 + 512), st = tdrv_alloc(&drv, 1);
    uint32_t type = VIRTIO_BLK_T_OUT;
    uint64_t sector = 3;
    uint8_t *p = tdrv_ptr(&drv, h), file[512];
    struct tbuf b[] = {{h, 16 + 512, false}, {st, 1, true}};

    start(false);
    memcpy(p, &type, 4);
    memcpy(p + 8, &sector, 8);
    memset(p + 16, 0x77, 512);
    send(b, 2);
    ck_assert_uint_eq(*(uint8_t *)tdrv_ptr(&drv, st), VIRTIO_BLK_S_OK);
    file_read(file, 512, 3 * 512);
    ck_assert_uint_eq(file[0], 0x77);
    ck_assert_uint_eq(file[511], 0x77);
}
END_TEST

START_TEST(test_get_id)
{
    gpa_t id = tdrv_alloc(&drv, 20);
    char want[20] = "rootfs-disk-0";

    start(false);
    memset(tdrv_ptr(&drv, id), 0xff, 20);
    ck_assert_uint_eq(rw(VIRTIO_BLK_T_GET_ID, 0, id, 20), VIRTIO_BLK_S_OK);
    ck_assert_mem_eq(tdrv_ptr(&drv, id), want, 20);
}
END_TEST

START_TEST(test_flush_and_unknown)
{
    start(false);
    ck_assert_uint_eq(no_data(VIRTIO_BLK_T_FLUSH), VIRTIO_BLK_S_OK);
    ck_assert_uint_eq(no_data(0x1234), VIRTIO_BLK_S_UNSUPP);
    ck_assert_uint_eq(no_data(10 /* GET_LIFETIME */), VIRTIO_BLK_S_UNSUPP);
}
END_TEST

START_TEST(test_out_of_range)
{
    gpa_t d = aligned_buf(1024);
    uint8_t file[1024];

    start(false);
    ck_assert_uint_eq(rw(VIRTIO_BLK_T_IN, SECTORS, d, 512), VIRTIO_BLK_S_IOERR);
    ck_assert_uint_eq(rw(VIRTIO_BLK_T_OUT, SECTORS - 1, d, 1024),
                      VIRTIO_BLK_S_IOERR);
    ck_assert_uint_eq(rw(VIRTIO_BLK_T_OUT, ~0ULL, d, 512), VIRTIO_BLK_S_IOERR);
    ck_assert_uint_eq(rw(VIRTIO_BLK_T_IN, 0, d, 100), VIRTIO_BLK_S_IOERR);
    file_read(file, 512, DISK_SIZE - 512);
    ck_assert_uint_eq(file[0], expected(DISK_SIZE - 512));
}
END_TEST

START_TEST(test_read_only)
{
    gpa_t d = aligned_buf(512);
    uint8_t before[DISK_SIZE / 16], after[DISK_SIZE / 16];
    uint64_t f;
    int fd;

    file_read(before, sizeof(before), 0);
    start(true);
    tdrv_mmio_write(&drv, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    f = tdrv_mmio_read(&drv, VIRTIO_MMIO_DEVICE_FEATURES);
    ck_assert(f & VIRTIO_BIT(VIRTIO_BLK_F_RO));
    ck_assert(!(f & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD)));
    memset(tdrv_ptr(&drv, d), 0x99, 512);
    ck_assert_uint_eq(rw(VIRTIO_BLK_T_OUT, 0, d, 512), VIRTIO_BLK_S_IOERR);
    ck_assert_uint_eq(zero_range(VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0),
                      VIRTIO_BLK_S_UNSUPP);
    ck_assert_uint_eq(rw(VIRTIO_BLK_T_IN, 0, d, 512), VIRTIO_BLK_S_OK);
    file_read(after, sizeof(after), 0);
    ck_assert_mem_eq(before, after, sizeof(before));
    /* A shared lock: another read-only user may open it, a writer not. */
    fd = open(path, O_RDWR);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    ck_assert_int_eq(fcntl(fd, F_OFD_SETLK, &fl), -1);
    fl.l_type = F_RDLCK;
    ck_assert_int_eq(fcntl(fd, F_OFD_SETLK, &fl), 0);
    close(fd);
}
END_TEST

START_TEST(test_discard_write_zeroes)
{
    uint8_t buf[8192], zeros[8192] = {0};
    uint64_t f;

    start(false);
    tdrv_mmio_write(&drv, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    f = tdrv_mmio_read(&drv, VIRTIO_MMIO_DEVICE_FEATURES);
    ck_assert(f & VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES));
    ck_assert_uint_eq(zero_range(VIRTIO_BLK_T_WRITE_ZEROES, 16, 16, 0),
                      VIRTIO_BLK_S_OK);
    file_read(buf, 8192, 16 * 512);
    ck_assert_mem_eq(buf, zeros, 8192);
    file_read(buf, 1, 32 * 512); /* the next sector is untouched */
    ck_assert_uint_eq(buf[0], expected(32 * 512));
    ck_assert_uint_eq(zero_range(VIRTIO_BLK_T_WRITE_ZEROES, 64, 16, 1),
                      VIRTIO_BLK_S_OK);
    file_read(buf, 8192, 64 * 512);
    ck_assert_mem_eq(buf, zeros, 8192);
    if (f & VIRTIO_BIT(VIRTIO_BLK_F_DISCARD)) {
        ck_assert_uint_eq(zero_range(VIRTIO_BLK_T_DISCARD, 128, 16, 0),
                          VIRTIO_BLK_S_OK);
        file_read(buf, 8192, 128 * 512);
        ck_assert_mem_eq(buf, zeros, 8192);
        /* Unmap on a discard is UNSUPP (§5.2.6.2). */
        ck_assert_uint_eq(zero_range(VIRTIO_BLK_T_DISCARD, 128, 16, 1),
                          VIRTIO_BLK_S_UNSUPP);
    }
    ck_assert_uint_eq(zero_range(VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 2),
                      VIRTIO_BLK_S_UNSUPP);
    ck_assert_uint_eq(zero_range(VIRTIO_BLK_T_WRITE_ZEROES, SECTORS - 4, 8, 0),
                      VIRTIO_BLK_S_IOERR);
}
END_TEST

START_TEST(test_malformed_requests)
{
    gpa_t d = aligned_buf(512), st = tdrv_alloc(&drv, 1);
    uint8_t *status = tdrv_ptr(&drv, st);
    struct tbuf no_status[] = {{header(VIRTIO_BLK_T_IN, 0), 16, false},
                               {d, 512, false}};
    struct tbuf short_hdr[] = {{header(VIRTIO_BLK_T_IN, 0), 8, false},
                               {st, 1, true}};
    struct tbuf ro_status[] = {{header(VIRTIO_BLK_T_OUT, 0), 16, false},
                               {d, 512, false},
                               {st, 1, false}};
    uint8_t file[512];

    start(false);
    memset(tdrv_ptr(&drv, d), 0x42, 512);
    ck_assert_uint_eq(send(no_status, 2), 0);
    *status = 0xaa;
    ck_assert_uint_eq(send(short_hdr, 2), 1);
    ck_assert_uint_eq(*status, VIRTIO_BLK_S_IOERR);
    *status = 0xaa;
    ck_assert_uint_eq(send(ro_status, 3), 0);
    ck_assert_uint_eq(*status, 0xaa); /* never written */
    file_read(file, 512, 0);
    ck_assert_uint_eq(file[0], expected(0)); /* the write did not happen */
    /* The queue still works. */
    ck_assert_uint_eq(tdrv_mmio_read(&drv, VIRTIO_MMIO_STATUS), 15);
    ck_assert_uint_eq(rw(VIRTIO_BLK_T_IN, 0, d, 512), VIRTIO_BLK_S_OK);
}
END_TEST

/* A read or write of more data than seg_max * size_max allows fails with
 * IOERR, whatever its segments: here three descriptors over one buffer
 * (they may overlap in guest RAM) make exactly the most a driver honouring
 * both can send, which works, and one sector more, which fails. */
START_TEST(test_request_cap)
{
    uint32_t third = VIRTIO_BLK_REQ_MAX / 3;
    gpa_t d = aligned_buf(third), extra = aligned_buf(512);
    gpa_t st = tdrv_alloc(&drv, 1);
    uint8_t *status = tdrv_ptr(&drv, st);
    struct tbuf max[] = {{header(VIRTIO_BLK_T_IN, 0), 16, false},
                         {d, third, true},
                         {d, third, true},
                         {d, third, true},
                         {st, 1, true}};
    struct tbuf over[] = {{header(VIRTIO_BLK_T_IN, 0), 16, false},
                          {d, third, true},
                          {d, third, true},
                          {d, third, true},
                          {extra, 512, true},
                          {st, 1, true}};
    struct tbuf over_wr[] = {{header(VIRTIO_BLK_T_OUT, 0), 16, false},
                             {d, third, false},
                             {d, third, false},
                             {d, third, false},
                             {extra, 512, false},
                             {st, 1, true}};

    ck_assert_uint_eq(third % 512, 0);
    ck_assert_int_eq(truncate(path, 64 << 20), 0); /* room for the reads */
    start(false);
    *status = 0xaa;
    ck_assert_uint_eq(send(max, 5), VIRTIO_BLK_REQ_MAX + 1);
    ck_assert_uint_eq(*status, VIRTIO_BLK_S_OK);
    *status = 0xaa;
    ck_assert_uint_eq(send(over, 6), 1);
    ck_assert_uint_eq(*status, VIRTIO_BLK_S_IOERR);
    *status = 0xaa;
    ck_assert_uint_eq(send(over_wr, 6), 1);
    ck_assert_uint_eq(*status, VIRTIO_BLK_S_IOERR);
}
END_TEST

START_TEST(test_many_in_flight)
{
    enum { N = 20 }; /* 3 descriptors each, of 64 */
    gpa_t data[N], st[N];
    uint32_t id, len;
    int seen = 0;

    start(false);
    for (int i = 0; i < N; i++) {
        data[i] = aligned_buf(4096);
        st[i] = tdrv_alloc(&drv, 1);
        *(uint8_t *)tdrv_ptr(&drv, st[i]) = 0xaa;
        struct tbuf b[] = {{header(VIRTIO_BLK_T_IN, i * 8), 16, false},
                           {data[i], 4096, true},
                           {st[i], 1, true}};
        tdrv_publish(&drv, tdrv_chain(&drv, i * 3, b, 3));
    }
    tdrv_mmio_write(&drv, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    ck_assert(tdrv_wait_used(&drv, N));
    while (tdrv_used(&drv, &id, &len)) {
        ck_assert_uint_eq(len, 4097);
        seen++;
    }
    ck_assert_int_eq(seen, N);
    for (int i = 0; i < N; i++) {
        uint8_t *p = tdrv_ptr(&drv, data[i]);

        ck_assert_uint_eq(*(uint8_t *)tdrv_ptr(&drv, st[i]), 0);
        ck_assert_uint_eq(p[4095], expected(i * 4096 + 4095));
    }
}
END_TEST

/* True if the used-buffer interrupt comes within (ms); consumes it. */
static bool irq_within(int ms)
{
    struct pollfd p = {.fd = vm->irqfd[IRQ], .events = POLLIN};
    uint64_t n;

    return poll(&p, 1, ms) == 1 && read(p.fd, &n, sizeof(n)) == sizeof(n);
}

/* The driver's side of an interrupt: read the status, acknowledge it. */
static void irq_ack(void)
{
    tdrv_mmio_write(&drv, VIRTIO_MMIO_INTERRUPT_ACK,
                    tdrv_mmio_read(&drv, VIRTIO_MMIO_INTERRUPT_STATUS));
}

/* One 4 KiB read into the ring, published; kicked if (kick). */
static void publish_read(uint64_t sector, bool kick)
{
    gpa_t st = tdrv_alloc(&drv, 1);
    struct tbuf b[] = {{header(VIRTIO_BLK_T_IN, sector), 16, false},
                       {aligned_buf(4096), 4096, true},
                       {st, 1, true}};

    tdrv_publish(&drv, tdrv_chain(&drv, next_desc, b, 3));
    next_desc = (next_desc + 3) % (drv.size - 8);
    /* Like Linux's enable_cb: an interrupt for anything after what it saw. */
    tdrv_set_used_event(&drv, tdrv_used_idx(&drv));
    if (kick)
        tdrv_mmio_write(&drv, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* completion_coalesce_us: a guest that waits for each completion gets its
 * interrupt at once; one that queued more between an interrupt and its
 * acknowledgement has the next one held (here 60 ms, so the test can
 * tell), as long as requests keep coming while it is held; a hold in
 * which none came ends it. */
START_TEST(test_completion_coalescing)
{
    enum { HOLD_MS = 60 };
    uint16_t n = 0;

    start_coalescing(false, HOLD_MS * 1000);
    /* Waiting for each: at once, every time. */
    for (int i = 0; i < 3; i++) {
        publish_read(i * 8, true);
        ck_assert(tdrv_wait_used(&drv, ++n));
        ck_assert(irq_within(HOLD_MS / 4));
        irq_ack();
    }
    /* A request queued before the acknowledgement: streaming. */
    publish_read(0, true);
    ck_assert(tdrv_wait_used(&drv, ++n));
    ck_assert(irq_within(HOLD_MS / 4));
    publish_read(8, false);
    irq_ack();
    tdrv_mmio_write(&drv, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    ck_assert(tdrv_wait_used(&drv, ++n));
    ck_assert(!irq_within(HOLD_MS / 6)); /* held */
    publish_read(16, true);              /* comes during the hold */
    ck_assert(tdrv_wait_used(&drv, ++n));
    ck_assert(irq_within(10 * HOLD_MS)); /* the hold ends: both in it */
    irq_ack();
    /* Requests came in that hold: the next completion is held too. */
    publish_read(24, true);
    ck_assert(tdrv_wait_used(&drv, ++n));
    ck_assert(!irq_within(HOLD_MS / 6));
    ck_assert(irq_within(10 * HOLD_MS));
    irq_ack();
    /* None came in that one: at once again. */
    publish_read(32, true);
    ck_assert(tdrv_wait_used(&drv, ++n));
    ck_assert(irq_within(HOLD_MS / 4));
    irq_ack();
}
END_TEST

/* A reset while an interrupt is held cancels it: no interrupt for rings
 * the driver has given up, and nothing fires into a device that is gone
 * (teardown destroys it right after). */
START_TEST(test_coalescing_reset_while_held)
{
    start_coalescing(false, 60000);
    publish_read(0, true);
    ck_assert(tdrv_wait_used(&drv, 1));
    ck_assert(irq_within(50));
    publish_read(8, false);
    irq_ack();
    tdrv_mmio_write(&drv, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    ck_assert(tdrv_wait_used(&drv, 2));
    tdrv_mmio_write(&drv, VIRTIO_MMIO_STATUS, 0);
    ck_assert(!irq_within(300));
}
END_TEST

START_TEST(test_hostile_ring_needs_reset)
{
    gpa_t d = aligned_buf(512);

    start(false);
    tdrv_desc(&drv, 0, 0xfffffffffffff000ULL, 0x2000, 0, 0);
    tdrv_publish(&drv, 0);
    tdrv_mmio_write(&drv, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    for (int i = 0; i < 5000; i++) {
        if (tdrv_mmio_read(&drv, VIRTIO_MMIO_STATUS) &
            VIRTIO_STATUS_NEEDS_RESET)
            break;
        usleep(1000);
    }
    ck_assert(tdrv_mmio_read(&drv, VIRTIO_MMIO_STATUS) &
              VIRTIO_STATUS_NEEDS_RESET);
    /* The driver resets and starts over; the device works again. */
    tdrv_init(&drv, vm, RAM_BASE, RAM_SIZE, 64);
    d = aligned_buf(512);
    ck_assert_uint_eq(tdrv_mmio_start(&drv, BASE, VIRTIO_BIT(32)), 15);
    next_desc = 0;
    ck_assert_uint_eq(rw(VIRTIO_BLK_T_IN, 1, d, 512), VIRTIO_BLK_S_OK);
    ck_assert_uint_eq(*(uint8_t *)tdrv_ptr(&drv, d), expected(512));
}
END_TEST

START_TEST(test_lock_conflict)
{
    struct virtio_blk *b2 = NULL;
    unsigned int logged;

    start(false);
    logged = vm->log_lines;
    ck_assert_int_eq(
        virtio_blk_create(&vm->env, &cfg, BASE + 0x1000, IRQ + 1, &b2), -EBUSY);
    ck_assert_uint_gt(vm->log_lines, logged);
    cfg.is_read_only = true;
    ck_assert_int_eq(
        virtio_blk_create(&vm->env, &cfg, BASE + 0x1000, IRQ + 1, &b2), -EBUSY);
}
END_TEST

START_TEST(test_missing_file)
{
    struct virtio_blk *b2 = NULL;
    struct drive_config c = {
        .drive_id = "x", .path_on_host = "/nonexist/x", .io_engine = engine};

    ck_assert_int_eq(virtio_blk_create(&vm->env, &c, BASE, IRQ, &b2), -ENOENT);
}
END_TEST

START_TEST(test_odd_size_rounds_down)
{
    uint64_t cap;
    int fd = open(path, O_WRONLY | O_APPEND);

    ck_assert_int_eq(write(fd, "xyz", 3), 3);
    close(fd);
    start(false);
    cap = tdrv_mmio_read(&drv, 0x100);
    ck_assert_uint_eq(cap, SECTORS);
}
END_TEST

static TCase *engine_case(const char *name, void (*fixture)(void))
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, fixture, teardown);
    tcase_add_test(tc, test_config);
    tcase_add_test(tc, test_read);
    tcase_add_test(tc, test_write_read_back);
    tcase_add_test(tc, test_multi_segment);
    tcase_add_test(tc, test_header_and_data_in_one_buffer);
    tcase_add_test(tc, test_get_id);
    tcase_add_test(tc, test_flush_and_unknown);
    tcase_add_test(tc, test_out_of_range);
    tcase_add_test(tc, test_read_only);
    tcase_add_test(tc, test_discard_write_zeroes);
    tcase_add_test(tc, test_malformed_requests);
    tcase_add_test(tc, test_request_cap);
    tcase_add_test(tc, test_many_in_flight);
    tcase_add_test(tc, test_completion_coalescing);
    tcase_add_test(tc, test_coalescing_reset_while_held);
    tcase_add_test(tc, test_hostile_ring_needs_reset);
    tcase_add_test(tc, test_lock_conflict);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_odd_size_rounds_down);
    return tc;
}

int main(void)
{
    Suite *s = suite_create("blk");

    suite_add_tcase(s, engine_case("sync", setup_sync));
    suite_add_tcase(s, engine_case("async", setup_async));
    return check_run_suite(s);
}
