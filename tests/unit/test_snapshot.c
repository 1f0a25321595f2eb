/* test_snapshot.c - the snapshot state file: writer/reader round trip,
 * and every kind of bad file (truncated at each length, each byte
 * corrupted, wrong magic or version, sections outside the file) ending in
 * an error, never a crash; the checked readers; device state loaders fed
 * hostile bytes; dirty-page tracking of vmrun's own writes; the files
 * snapshots write and read: never a FIFO (no hang), never the memory file
 * a restored VM maps, and a merge that leaves running VMs' files alone. */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "fake_env.h"
#include "devices/i8042.h"
#include "devices/serial8250.h"
#include "core/snapshot_file.h"
#include "core/util.h"
#include "devices/virtio/queue.h"

/* A file with three sections: "config", 4 KiB of pattern, an empty one. */
static void build(struct snap_buf *out)
{
    struct snap_writer *w = calloc(1, sizeof(*w));

    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(snap_writer_begin(w, SNAP_SEC_CONFIG, 0), 0);
    sb_put_u32(&w->data, 0x11223344);
    sb_put_u64(&w->data, 0x5566778899aabbccULL);
    sb_put_str(&w->data, "disk.img");
    sb_put_str(&w->data, NULL);
    snap_writer_end(w);
    ck_assert_int_eq(snap_writer_begin(w, SNAP_SEC_ARCH_VCPU, 3), 0);
    for (int i = 0; i < 4096; i++)
        sb_put_u8(&w->data, (uint8_t)(i * 7));
    snap_writer_end(w);
    ck_assert_int_eq(snap_writer_begin(w, SNAP_SEC_DEVICE, 1), 0);
    snap_writer_end(w);
    ck_assert_int_eq(
        snap_writer_finish(w, SNAP_FLAG_DIFF, "0.1.0", "TestCPU 6/1", out), 0);
    sb_free(&w->data);
    free(w);
}

/* Parses a copy of (p, len); returns the parser's result. */
static int parse_copy(const uint8_t *p, size_t len, struct snap_file *f,
                      char *err, size_t err_len)
{
    uint8_t *copy = malloc(len ? len : 1);

    ck_assert_ptr_nonnull(copy);
    memcpy(copy, p, len);
    return snap_file_parse(f, copy, len, err, err_len);
}

/* Rewrites the trailing CRC after a deliberate change. */
static void reseal(struct snap_buf *b)
{
    uint32_t crc = htole32(snap_crc32(0, b->data, b->len - 4));

    memcpy(b->data + b->len - 4, &crc, 4);
}

START_TEST(test_round_trip)
{
    struct snap_file *f = calloc(1, sizeof(*f));
    struct snap_buf b;
    struct snap_rd r;
    char err[256], *s;
    size_t n;
    const uint8_t *blob;

    build(&b);
    ck_assert_int_eq(parse_copy(b.data, b.len, f, err, sizeof(err)), 0);
    ck_assert_uint_eq(f->nr, 3);
    ck_assert_uint_eq(f->flags, SNAP_FLAG_DIFF);
    ck_assert_str_eq(f->vmrun_version, "0.1.0");
    ck_assert_str_eq(f->host_cpu, "TestCPU 6/1");
    ck_assert(snap_file_section(f, SNAP_SEC_CONFIG, 0, &r));
    ck_assert_uint_eq(sr_u32(&r), 0x11223344);
    ck_assert_uint_eq(sr_u64(&r), 0x5566778899aabbccULL);
    ck_assert_int_eq(sr_str(&r, 64, &s), 0);
    ck_assert_str_eq(s, "disk.img");
    free(s);
    ck_assert_int_eq(sr_str(&r, 64, &s), 0);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(sr_done(&r), 0);
    ck_assert(snap_file_section(f, SNAP_SEC_ARCH_VCPU, 3, &r));
    ck_assert_uint_eq(r.len, 4096);
    blob = r.p;
    for (int i = 0; i < 4096; i++)
        ck_assert_uint_eq(blob[i], (uint8_t)(i * 7));
    ck_assert(snap_file_section(f, SNAP_SEC_DEVICE, 1, &r));
    ck_assert_uint_eq(r.len, 0);
    ck_assert(!snap_file_section(f, SNAP_SEC_DEVICE, 0, &r));
    ck_assert(!snap_file_section(f, SNAP_SEC_MEMORY, 0, &r));
    (void)n;
    snap_file_free(f);
    free(f);
    sb_free(&b);
}
END_TEST

START_TEST(test_truncated_every_length)
{
    struct snap_file *f = calloc(1, sizeof(*f));
    struct snap_buf b;
    char err[256];

    build(&b);
    for (size_t len = 0; len < b.len; len++) {
        err[0] = '\0';
        ck_assert_int_lt(parse_copy(b.data, len, f, err, sizeof(err)), 0);
        ck_assert_msg(err[0], "no message at length %zu", len);
        ck_assert_ptr_null(f->buf);
    }
    /* One byte too many is refused too. */
    b.data = realloc(b.data, b.len + 1);
    b.data[b.len] = 0;
    ck_assert_int_eq(parse_copy(b.data, b.len + 1, f, err, sizeof(err)),
                     -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "truncated or extended"));
    free(f);
    sb_free(&b);
}
END_TEST

START_TEST(test_corrupted_every_byte)
{
    struct snap_file *f = calloc(1, sizeof(*f));
    struct snap_buf b;
    char err[256];

    build(&b);
    for (size_t i = 0; i < b.len; i++) {
        b.data[i] ^= 0x20;
        ck_assert_msg(parse_copy(b.data, b.len, f, err, sizeof(err)) < 0,
                      "byte %zu flipped but accepted", i);
        b.data[i] ^= 0x20;
    }
    b.data[SNAP_HEADER_SIZE + 3 * SNAP_ENTRY_SIZE + 2] ^= 1;
    ck_assert_int_eq(parse_copy(b.data, b.len, f, err, sizeof(err)), -EINVAL);
    ck_assert_str_eq(err, "checksum mismatch (the file is corrupted)");
    free(f);
    sb_free(&b);
}
END_TEST

START_TEST(test_wrong_magic_and_version)
{
    struct snap_file *f = calloc(1, sizeof(*f));
    struct snap_buf b;
    uint32_t v = htole32(SNAP_FORMAT_VERSION + 1);
    char err[256];

    build(&b);
    memcpy(b.data, "QEMUSNAP", 8);
    reseal(&b);
    ck_assert_int_eq(parse_copy(b.data, b.len, f, err, sizeof(err)), -EINVAL);
    ck_assert_str_eq(err, "not a vmrun snapshot (bad magic)");
    memcpy(b.data, SNAP_MAGIC, 8);
    memcpy(b.data + 8, &v, 4);
    reseal(&b);
    ck_assert_int_eq(parse_copy(b.data, b.len, f, err, sizeof(err)), -ENOTSUP);
    ck_assert_ptr_nonnull(strstr(err, "snapshot format version 2"));
    ck_assert_ptr_nonnull(strstr(err, "reads version 1"));
    free(f);
    sb_free(&b);
}
END_TEST

static void put_le64(uint8_t *p, uint64_t v)
{
    v = htole64(v);
    memcpy(p, &v, 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    v = htole32(v);
    memcpy(p, &v, 4);
}

/* Valid checksums around a hostile table: sections outside the file,
 * offsets that wrap, a section count the file cannot hold. */
START_TEST(test_hostile_table)
{
    struct snap_file *f = calloc(1, sizeof(*f));
    uint8_t *entry1;
    struct snap_buf b;
    char err[256];

    build(&b);
    entry1 = b.data + SNAP_HEADER_SIZE + SNAP_ENTRY_SIZE;
    put_le64(entry1 + 16, b.len); /* length past the end */
    reseal(&b);
    ck_assert_int_eq(parse_copy(b.data, b.len, f, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "section 1 lies outside the file"));
    put_le64(entry1 + 8, UINT64_MAX - 2); /* offset + length wraps */
    put_le64(entry1 + 16, 16);
    reseal(&b);
    ck_assert_int_eq(parse_copy(b.data, b.len, f, err, sizeof(err)), -EINVAL);
    put_le64(entry1 + 8, 0); /* points at the header */
    reseal(&b);
    ck_assert_int_eq(parse_copy(b.data, b.len, f, err, sizeof(err)), -EINVAL);
    sb_free(&b);

    build(&b);
    put_le32(b.data + 24, 100000); /* section count */
    reseal(&b);
    ck_assert_int_eq(parse_copy(b.data, b.len, f, err, sizeof(err)), -EINVAL);
    put_le32(b.data + 24, 1000); /* allowed, but the table is too long */
    reseal(&b);
    ck_assert_int_eq(parse_copy(b.data, b.len, f, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "does not fit"));
    put_le32(b.data + 12, 64); /* header size */
    reseal(&b);
    ck_assert_int_eq(parse_copy(b.data, b.len, f, err, sizeof(err)), -EINVAL);
    free(f);
    sb_free(&b);
}
END_TEST

START_TEST(test_reader_bounds)
{
    uint8_t buf[16] = {5,   0,    0,    0,    'a',  'b', 'c', 'd',
                       'e', 0xff, 0xff, 0xff, 0xff, 9,   0,   0};
    uint8_t nul[8] = {3, 0, 0, 0, 'a', 0, 'c', 0};
    struct snap_rd r;
    char *s;
    size_t n;

    sr_init(&r, buf, sizeof(buf));
    ck_assert_int_eq(sr_str(&r, 4, &s), -EINVAL); /* longer than allowed */
    ck_assert(r.err);
    sr_init(&r, buf, 6);
    ck_assert_int_eq(sr_str(&r, 64, &s), -EINVAL); /* past the end */
    sr_init(&r, nul, sizeof(nul));
    ck_assert_int_eq(sr_str(&r, 64, &s), -EINVAL); /* embedded NUL */
    sr_init(&r, buf + 9, 7);
    ck_assert_ptr_null(sr_blob(&r, &n)); /* a 4 GiB blob in 3 bytes */
    ck_assert(r.err);
    sr_init(&r, buf, 3);
    ck_assert_uint_eq(sr_u32(&r), 0); /* short: zero and sticky error */
    ck_assert(r.err);
    ck_assert_uint_eq(sr_u8(&r), 0);
    ck_assert_int_eq(sr_done(&r), -EINVAL);
    sr_init(&r, buf, 4);
    ck_assert_uint_eq(sr_u32(&r), 5);
    ck_assert_int_eq(sr_done(&r), 0);
    sr_init(&r, buf, 5);
    (void)sr_u32(&r);
    ck_assert_int_eq(sr_done(&r), -EINVAL); /* a byte left over */
}
END_TEST

START_TEST(test_crc32_known_value)
{
    /* The standard check value of CRC-32/IEEE. */
    ck_assert_uint_eq(snap_crc32(0, "123456789", 9), 0xcbf43926);
    ck_assert_uint_eq(snap_crc32(snap_crc32(0, "1234", 4), "56789", 5),
                      0xcbf43926);
}
END_TEST

START_TEST(test_load_errors)
{
    struct snap_file *f = calloc(1, sizeof(*f));
    char err[256];

    ck_assert_int_eq(
        snap_file_load(f, "/nonexistent/snapshot", err, sizeof(err)), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "cannot open"));
    ck_assert_int_eq(snap_file_load(f, "/", err, sizeof(err)), -EINVAL);
    ck_assert_int_eq(snap_file_load(f, "/dev/null", err, sizeof(err)), -EINVAL);
    free(f);
}
END_TEST

/* A restore opens the state file before it gives up its privileges and
 * reads it after: snap_file_read() parses from the descriptor alone (the
 * path is gone, the file offset is elsewhere), and leaves it open. */
START_TEST(test_read_from_fd)
{
    struct snap_file *f = calloc(1, sizeof(*f));
    char path[] = "/tmp/test_snapshot.XXXXXX", err[256];
    struct snap_buf b;
    int fd = mkstemp(path), rfd;

    ck_assert_int_ge(fd, 0);
    build(&b);
    ck_assert_int_eq(write(fd, b.data, b.len), (ssize_t)b.len);
    close(fd);
    rfd = snap_file_open(path, err, sizeof(err));
    ck_assert_int_ge(rfd, 0);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(lseek(rfd, 17, SEEK_SET), 17);
    ck_assert_int_eq(snap_file_read(f, rfd, -1, err, sizeof(err)), 0);
    ck_assert_uint_eq(f->nr, 3);
    ck_assert_int_eq(fcntl(rfd, F_GETFD), FD_CLOEXEC);
    snap_file_free(f);
    ck_assert_int_eq(snap_file_open(path, err, sizeof(err)), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "cannot open"));
    close(rfd);
    free(f);
    sb_free(&b);
}
END_TEST

/* A state file of several SNAP_IO_CHUNK pieces: checksummed piece by
 * piece as it is read (a flipped byte in the middle piece is still
 * caught), and a readable stop fd ends the read with -EINTR. */
START_TEST(test_read_pieces_and_stop)
{
    struct snap_file *f = calloc(1, sizeof(*f));
    struct snap_writer *w = calloc(1, sizeof(*w));
    char path[] = "/tmp/test_snapshot.XXXXXX", err[256];
    size_t big = 3 * SNAP_IO_CHUNK + 5;
    uint64_t one = 1;
    struct snap_buf b;
    int fd = mkstemp(path), stop = eventfd(0, EFD_CLOEXEC);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_ge(stop, 0);
    ck_assert_int_eq(snap_writer_begin(w, SNAP_SEC_DEVICE, 0), 0);
    for (size_t i = 0; i < big; i++)
        sb_put_u8(&w->data, (uint8_t)(i * 13));
    snap_writer_end(w);
    ck_assert_int_eq(snap_writer_finish(w, 0, "0.1.0", "TestCPU", &b), 0);
    ck_assert_int_eq(pwrite(fd, b.data, b.len, 0), (ssize_t)b.len);
    ck_assert_int_eq(snap_file_read(f, fd, stop, err, sizeof(err)), 0);
    ck_assert_uint_eq(f->nr, 1);
    snap_file_free(f);
    b.data[b.len / 2] ^= 0x40;
    ck_assert_int_eq(pwrite(fd, b.data, b.len, 0), (ssize_t)b.len);
    ck_assert_int_eq(snap_file_read(f, fd, stop, err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "checksum mismatch"));
    ck_assert_int_eq(write(stop, &one, sizeof(one)), sizeof(one));
    ck_assert_int_eq(snap_file_read(f, fd, stop, err, sizeof(err)), -EINTR);
    ck_assert_ptr_nonnull(strstr(err, "stopped"));
    close(stop);
    close(fd);
    unlink(path);
    sb_free(&b);
    sb_free(&w->data);
    free(w);
    free(f);
}
END_TEST

/* Device loaders take whatever bytes a file holds: out-of-range values
 * are refused, nothing is read past the record. */
START_TEST(test_serial_i8042_hostile_state)
{
    struct fake_env *vm = fake_env_create(0, 4096);
    struct serial_config cfg = {
        .port = 0x3f8, .irq = 4, .out_fd = -1, .in_fd = -1};
    struct serial *s;
    struct i8042 *k;
    struct snap_buf b = {0};
    struct snap_rd r;
    uint8_t bad_fifo[13] = {0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 0, 200};
    uint8_t bad_trigger[13] = {0, 0, 0, 0, 0, 0, 1, 0, 1, 3, 0, 0, 0};
    uint8_t bad_queue[6] = {0, 0, 0, 0, 0, 17};

    ck_assert_int_eq(serial_create(&vm->env, &cfg, &s), 0);
    ck_assert_int_eq(i8042_create(&vm->env, &k), 0);
    ck_assert_int_eq(serial_save(s, &b), 0);
    sr_init(&r, b.data, b.len);
    ck_assert_int_eq(serial_load(s, &r), 0);
    ck_assert_int_eq(sr_done(&r), 0);
    sr_init(&r, bad_fifo, sizeof(bad_fifo));
    ck_assert_int_eq(serial_load(s, &r), -EINVAL);
    sr_init(&r, bad_trigger, sizeof(bad_trigger));
    ck_assert_int_eq(serial_load(s, &r), -EINVAL);
    sr_init(&r, b.data, b.len - 1);
    ck_assert_int_eq(serial_load(s, &r), -EINVAL);
    sb_free(&b);
    ck_assert_int_eq(i8042_send_ctrl_alt_del(k), 0);
    ck_assert_int_eq(i8042_save(k, &b), 0);
    sr_init(&r, b.data, b.len);
    ck_assert_int_eq(i8042_load(k, &r), 0);
    ck_assert_int_eq(sr_done(&r), 0);
    sr_init(&r, bad_queue, sizeof(bad_queue));
    ck_assert_int_eq(i8042_load(k, &r), -EINVAL);
    sb_free(&b);
    i8042_destroy(k);
    serial_destroy(s);
    fake_env_destroy(vm);
}
END_TEST

/* A saved queue is re-checked against RAM: rings outside it, misaligned
 * or of a bad size are refused; a good one comes back with its indices. */
START_TEST(test_virtq_load_checks_rings)
{
    struct fake_env *vm = fake_env_create(0, 0x10000);
    struct virtq q = {.size = 16,
                      .desc_gpa = 0x1000,
                      .avail_gpa = 0x2000,
                      .used_gpa = 0x3000},
                 back;
    struct snap_buf b = {0};
    struct snap_rd r;

    ck_assert_int_eq(virtq_enable(&q, &vm->env), 0);
    q.last_avail = 7;
    q.used_idx = 5;
    virtq_save(&q, &b);
    sr_init(&r, b.data, b.len);
    ck_assert_int_eq(virtq_load(&back, &vm->env, &r), 0);
    ck_assert_int_eq(sr_done(&r), 0);
    ck_assert(back.enabled);
    ck_assert_uint_eq(back.last_avail, 7);
    ck_assert_uint_eq(back.used_idx, 5);
    ck_assert(back.used == q.used);
    sb_free(&b);
    q.used_gpa = 0xfff0; /* the used ring runs past RAM */
    virtq_save(&q, &b);
    sr_init(&r, b.data, b.len);
    ck_assert_int_eq(virtq_load(&back, &vm->env, &r), -EINVAL);
    sb_free(&b);
    q.used_gpa = 0x3000;
    q.size = 12; /* not a power of two */
    virtq_save(&q, &b);
    sr_init(&r, b.data, b.len);
    ck_assert_int_eq(virtq_load(&back, &vm->env, &r), -EINVAL);
    sb_free(&b);
    fake_env_destroy(vm);
}
END_TEST

START_TEST(test_dirty_tracking)
{
    static uint8_t ram[64 * 4096];
    struct guest_mem m = {0};
    uint64_t bits[2] = {0};

    ck_assert_int_eq(gmem_add(&m, 0x100000, sizeof(ram), ram), 0);
    ck_assert_ptr_nonnull(gmem_ptr(&m, 0x100000, 8)); /* not tracked yet */
    ck_assert_int_eq(gmem_dirty_enable(&m), 0);
    ck_assert_ptr_nonnull(gmem_ptr(&m, 0x100000 + 4096 * 3 + 4000, 200));
    ck_assert_ptr_nonnull(gmem_ptr(&m, 0x100000 + 4096 * 63, 1));
    ck_assert_ptr_null(gmem_ptr(&m, 0x100000 + 4096 * 64, 1));
    gmem_dirty_take(&m, 0, bits);
    ck_assert_uint_eq(bits[0], (1ULL << 3) | (1ULL << 4) | (1ULL << 63));
    bits[0] = 0;
    gmem_dirty_take(&m, 0, bits); /* taking clears */
    ck_assert_uint_eq(bits[0], 0);
    gmem_dirty_free(&m);
}
END_TEST

/* ---- the files: FIFOs, the restored VM's memory file, the merge ---- */

#define PG 4096

/* A FIFO open that blocks would hang the test: fail it instead. */
#define NO_HANG() alarm(10)

struct tdir {
    char dir[64];
    char path[8][96];
};

/* A fresh folder; (t->path)[i] is "DIR/(names)[i]". */
static void tdir_init(struct tdir *t, const char *const *names, int n)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/vmrun-snap-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(t->dir));
    for (int i = 0; i < n && i < 8; i++)
        snprintf(t->path[i], sizeof(t->path[i]), "%s/%s", t->dir, names[i]);
}

/* The number of entries in the folder. */
static int tdir_count(const struct tdir *t)
{
    DIR *d = opendir(t->dir);
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void tdir_free(struct tdir *t)
{
    DIR *d = opendir(t->dir);
    struct dirent *e;

    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.')
            unlinkat(dirfd(d), e->d_name, 0);
    if (d)
        closedir(d);
    rmdir(t->dir);
}

/* (path): (pages) pages, page i filled with (fill)[i] (0: a hole). */
static void write_pages(const char *path, const char *fill, int pages)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    uint8_t pg[PG];

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)pages * PG), 0);
    for (int i = 0; i < pages; i++) {
        if (!fill[i])
            continue;
        memset(pg, fill[i], PG);
        ck_assert_int_eq(pwrite(fd, pg, PG, (off_t)i * PG), PG);
    }
    close(fd);
}

/* The first byte of page (i) of (path). */
static char page_byte(const char *path, int i)
{
    int fd = open(path, O_RDONLY);
    char c = '?';

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, &c, 1, (off_t)i * PG), 1);
    close(fd);
    return c;
}

START_TEST(test_open_regular)
{
    static const char *const names[] = {"file", "fifo", "missing"};
    struct tdir t;
    int fd, rd;

    NO_HANG();
    tdir_init(&t, names, 3);
    write_pages(t.path[0], "a", 1);
    ck_assert_int_eq(mkfifo(t.path[1], 0600), 0);
    fd = open_regular(t.path[0], O_RDWR | O_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0); /* cleared */
    close(fd);
    /* A FIFO: no reader, no writer, both: refused at once, not waited on. */
    ck_assert_int_eq(open_regular(t.path[1], O_RDONLY, 0), -EINVAL);
    ck_assert_int_eq(open_regular(t.path[1], O_WRONLY, 0), -EINVAL);
    ck_assert_int_eq(open_regular(t.path[1], O_WRONLY | O_CREAT, 0600),
                     -EINVAL);
    rd = open(t.path[1], O_RDONLY | O_NONBLOCK);
    ck_assert_int_ge(rd, 0);
    ck_assert_int_eq(open_regular(t.path[1], O_WRONLY, 0), -EINVAL);
    close(rd);
    ck_assert_int_eq(open_regular(t.dir, O_RDONLY, 0), -EINVAL);
    ck_assert_int_eq(open_regular(t.dir, O_WRONLY, 0), -EINVAL);
    ck_assert_int_eq(open_regular("/dev/null", O_RDWR, 0), -EINVAL);
    ck_assert_int_eq(open_regular(t.path[2], O_RDONLY, 0), -ENOENT);
    tdir_free(&t);
}
END_TEST

/* snapshot/load of a FIFO (state file): an error at once, no hang. */
START_TEST(test_load_fifo)
{
    static const char *const names[] = {"fifo"};
    struct snap_file *f = calloc(1, sizeof(*f));
    char err[256] = "";
    struct tdir t;

    NO_HANG();
    ck_assert_ptr_nonnull(f);
    tdir_init(&t, names, 1);
    ck_assert_int_eq(mkfifo(t.path[0], 0600), 0);
    ck_assert_int_eq(snap_file_load(f, t.path[0], err, sizeof(err)), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
    tdir_free(&t);
    free(f);
}
END_TEST

/* snapshot/create onto the memory file a restored VM maps (MAP_PRIVATE):
 * refused, and the file and the mapping keep their data. */
START_TEST(test_outputs_refuse_ram_file)
{
    static const char *const names[] = {"ram", "link", "s", "m", "fifo"};
    char err[512] = "";
    struct stat ram;
    struct tdir t;
    int fd, s = -1, m = -1;
    char *map;

    NO_HANG();
    tdir_init(&t, names, 5);
    write_pages(t.path[0], "rr", 2);
    ck_assert_int_eq(link(t.path[0], t.path[1]), 0);
    ck_assert_int_eq(mkfifo(t.path[4], 0600), 0);
    fd = open(t.path[0], O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fstat(fd, &ram), 0);
    map = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    ck_assert_ptr_ne(map, MAP_FAILED);

    ck_assert_int_eq(
        snap_open_outputs(t.path[2], t.path[0], &ram, &s, &m, err, sizeof(err)),
        -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "mem_file_path"));
    ck_assert_ptr_nonnull(strstr(err, t.path[0]));
    ck_assert_int_eq(
        snap_open_outputs(t.path[0], t.path[3], &ram, &s, &m, err, sizeof(err)),
        -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "snapshot_path"));
    /* Another name for the same file. */
    ck_assert_int_eq(
        snap_open_outputs(t.path[2], t.path[1], &ram, &s, &m, err, sizeof(err)),
        -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, t.path[1]));
    ck_assert_int_eq(
        snap_open_outputs(t.path[3], t.path[3], NULL, &s, &m, err, sizeof(err)),
        -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "same file"));
    ck_assert_int_eq(
        snap_open_outputs(t.path[2], t.path[4], NULL, &s, &m, err, sizeof(err)),
        -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
    ck_assert_int_eq(
        snap_open_outputs(t.path[4], t.path[3], NULL, &s, &m, err, sizeof(err)),
        -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "snapshot_path"));
    /* Nothing was truncated: the file and the guest's view of it. */
    ck_assert_int_eq(map[0], 'r');
    ck_assert_int_eq(map[2 * PG - 1], 'r');
    ck_assert_int_eq(page_byte(t.path[0], 1), 'r');

    ck_assert_int_eq(
        snap_open_outputs(t.path[2], t.path[3], &ram, &s, &m, err, sizeof(err)),
        0);
    ck_assert_int_ge(s, 0);
    ck_assert_int_ge(m, 0);
    close(s);
    close(m);
    munmap(map, 2 * PG);
    close(fd);
    tdir_free(&t);
}
END_TEST

/* snapshot-merge FULL DIFF -o FULL with a VM restored from FULL: the VM's
 * mapping keeps the old data, the path gets the merge. */
START_TEST(test_merge_in_place_keeps_mappings)
{
    static const char *const names[] = {"full", "diff", "out"};
    const char *diffs[1];
    char err[512] = "";
    struct tdir t;
    char *map;
    int fd;

    NO_HANG();
    tdir_init(&t, names, 3);
    write_pages(t.path[0], "ab\0d", 4);
    write_pages(t.path[1], "\0X\0Y", 4);
    diffs[0] = t.path[1];
    fd = open(t.path[0], O_RDONLY);
    ck_assert_int_ge(fd, 0);
    map = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    ck_assert_ptr_ne(map, MAP_FAILED);

    ck_assert_int_eq(
        snap_merge(t.path[0], diffs, 1, t.path[2], -1, err, sizeof(err)), 0);
    ck_assert_int_eq(
        snap_merge(t.path[0], diffs, 1, t.path[0], -1, err, sizeof(err)), 0);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(page_byte(t.path[i ? 2 : 0], 0), 'a');
        ck_assert_int_eq(page_byte(t.path[i ? 2 : 0], 1), 'X');
        ck_assert_int_eq(page_byte(t.path[i ? 2 : 0], 2), 0);
        ck_assert_int_eq(page_byte(t.path[i ? 2 : 0], 3), 'Y');
    }
    ck_assert_int_eq(map[PG], 'b');
    ck_assert_int_eq(map[3 * PG], 'd');
    ck_assert_int_eq(tdir_count(&t), 3); /* no temporary file left */
    munmap(map, 4 * PG);
    close(fd);
    tdir_free(&t);
}
END_TEST

/* A merge that fails leaves (out) as it was and no temporary file. */
START_TEST(test_merge_failure_leaves_nothing)
{
    static const char *const names[] = {"full", "small", "out", "fifo",
                                        "missing"};
    const char *diffs[1];
    char err[512] = "";
    struct tdir t;

    NO_HANG();
    tdir_init(&t, names, 5);
    write_pages(t.path[0], "ab", 2);
    write_pages(t.path[1], "s", 1);
    write_pages(t.path[2], "oo", 2);
    ck_assert_int_eq(mkfifo(t.path[3], 0600), 0);
    for (int i = 0; i < 3; i++) {
        diffs[0] = t.path[i == 0 ? 1 : i == 1 ? 3 : 4];
        err[0] = '\0';
        ck_assert_int_lt(
            snap_merge(t.path[0], diffs, 1, t.path[2], -1, err, sizeof(err)),
            0);
        ck_assert_ptr_nonnull(strstr(err, diffs[0]));
        ck_assert_int_eq(page_byte(t.path[2], 1), 'o');
        ck_assert_int_eq(tdir_count(&t), 4);
    }
    ck_assert_ptr_nonnull(strstr(err, "No such file"));
    /* A FIFO as FULL or as OUT: refused, nothing opened that could wait. */
    ck_assert_int_eq(
        snap_merge(t.path[3], diffs, 0, t.path[2], -1, err, sizeof(err)),
        -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
    ck_assert_int_eq(
        snap_merge(t.path[0], diffs, 0, t.path[3], -1, err, sizeof(err)),
        -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
    ck_assert_int_eq(tdir_count(&t), 4);
    tdir_free(&t);
}
END_TEST

/* A memory file that another vmrun's restored VM maps (it holds LOCK_SH)
 * is refused as a snapshot output, untouched; the output outside that
 * vmrun's own VM (ram_file NULL here) is where only the lock can tell. */
START_TEST(test_outputs_refuse_locked_mem_file)
{
    static const char *const names[] = {"mem", "s", "unused"};
    char err[512] = "";
    struct tdir t;
    int other, s = -1, m = -1;

    NO_HANG();
    tdir_init(&t, names, 3);
    write_pages(t.path[0], "rr", 2);
    other = open(t.path[0], O_RDONLY);
    ck_assert_int_ge(other, 0);
    ck_assert_int_eq(flock(other, LOCK_SH | LOCK_NB), 0);
    ck_assert_int_eq(
        snap_open_outputs(t.path[1], t.path[0], NULL, &s, &m, err, sizeof(err)),
        -EBUSY);
    ck_assert_ptr_nonnull(strstr(err, "in use by another vmrun"));
    ck_assert_int_eq(page_byte(t.path[0], 1), 'r');
    /* The lock gone, the file is an ordinary output; while it is being
     * written, a restore's LOCK_SH is refused. */
    close(other);
    ck_assert_int_eq(
        snap_open_outputs(t.path[1], t.path[0], NULL, &s, &m, err, sizeof(err)),
        0);
    other = open(t.path[0], O_RDONLY);
    ck_assert_int_ge(other, 0);
    ck_assert_int_eq(flock(other, LOCK_SH | LOCK_NB), -1);
    ck_assert_int_eq(errno, EWOULDBLOCK);
    close(s);
    close(m);
    ck_assert_int_eq(flock(other, LOCK_SH | LOCK_NB), 0);
    close(other);
    tdir_free(&t);
}
END_TEST

/* A stop request (the signalfd of SIGTERM in vmrun) ends the merge with
 * -EINTR: (out) untouched, the temporary file removed. */
START_TEST(test_merge_stop_leaves_nothing)
{
    static const char *const names[] = {"full", "diff", "out"};
    const char *diffs[1];
    char err[512] = "";
    uint64_t one = 1;
    struct tdir t;
    int stop;

    NO_HANG();
    tdir_init(&t, names, 3);
    write_pages(t.path[0], "ab", 2);
    write_pages(t.path[1], "\0X", 2);
    write_pages(t.path[2], "oo", 2);
    diffs[0] = t.path[1];
    stop = eventfd(0, EFD_CLOEXEC);
    ck_assert_int_ge(stop, 0);
    ck_assert_int_eq(write(stop, &one, sizeof(one)), sizeof(one));
    ck_assert_int_eq(
        snap_merge(t.path[0], diffs, 1, t.path[2], stop, err, sizeof(err)),
        -EINTR);
    ck_assert_ptr_nonnull(strstr(err, "stopped"));
    ck_assert_int_eq(page_byte(t.path[2], 1), 'o');
    ck_assert_int_eq(tdir_count(&t), 3);
    /* Not readable: the merge runs to the end. */
    ck_assert_int_eq(read(stop, &one, sizeof(one)), sizeof(one));
    ck_assert_int_eq(
        snap_merge(t.path[0], diffs, 1, t.path[2], stop, err, sizeof(err)), 0);
    ck_assert_int_eq(page_byte(t.path[2], 1), 'X');
    ck_assert_int_eq(tdir_count(&t), 3);
    close(stop);
    tdir_free(&t);
}
END_TEST

/* OUT under open_output()'s policy: not a symbolic link, not on procfs. */
START_TEST(test_merge_output_policy)
{
    static const char *const names[] = {"full", "link"};
    char err[512] = "";
    struct tdir t;

    NO_HANG();
    tdir_init(&t, names, 2);
    write_pages(t.path[0], "ab", 2);
    ck_assert_int_eq(symlink(t.path[0], t.path[1]), 0);
    ck_assert_int_eq(
        snap_merge(t.path[0], NULL, 0, t.path[1], -1, err, sizeof(err)),
        -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "symbolic link"));
    ck_assert_int_eq(
        snap_merge(t.path[0], NULL, 0, "/proc/self/comm", -1, err, sizeof(err)),
        -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "pseudo file system"));
    ck_assert_int_eq(tdir_count(&t), 2);
    tdir_free(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("snapshot");
    TCase *tc = tcase_create("snapshot");

    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_truncated_every_length);
    tcase_add_test(tc, test_corrupted_every_byte);
    tcase_add_test(tc, test_wrong_magic_and_version);
    tcase_add_test(tc, test_hostile_table);
    tcase_add_test(tc, test_reader_bounds);
    tcase_add_test(tc, test_crc32_known_value);
    tcase_add_test(tc, test_load_errors);
    tcase_add_test(tc, test_read_from_fd);
    tcase_add_test(tc, test_read_pieces_and_stop);
    tcase_add_test(tc, test_serial_i8042_hostile_state);
    tcase_add_test(tc, test_virtq_load_checks_rings);
    tcase_add_test(tc, test_dirty_tracking);
    tcase_add_test(tc, test_open_regular);
    tcase_add_test(tc, test_load_fifo);
    tcase_add_test(tc, test_outputs_refuse_ram_file);
    tcase_add_test(tc, test_merge_in_place_keeps_mappings);
    tcase_add_test(tc, test_merge_failure_leaves_nothing);
    tcase_add_test(tc, test_merge_stop_leaves_nothing);
    tcase_add_test(tc, test_outputs_refuse_locked_mem_file);
    tcase_add_test(tc, test_merge_output_policy);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
