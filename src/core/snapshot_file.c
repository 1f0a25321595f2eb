/* snapshot_file.c - the state file container: header, section table,
 * CRC-32, and the checked byte writer/reader (see snapshot_file.h). */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/snapshot_file.h"
#include "core/util.h"

/* ---- writer ---- */

static bool sb_reserve(struct snap_buf *b, size_t n)
{
    size_t cap = b->cap ? b->cap : 4096;
    uint8_t *p;

    if (b->err)
        return false;
    if (n > SIZE_MAX - b->len) {
        b->err = -ENOMEM;
        return false;
    }
    while (cap < b->len + n)
        cap *= 2;
    if (cap == b->cap)
        return true;
    p = realloc(b->data, cap);
    if (!p) {
        b->err = -ENOMEM;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void sb_put_bytes(struct snap_buf *b, const void *p, size_t n)
{
    if (!n || !sb_reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void sb_put_u8(struct snap_buf *b, uint8_t v)
{
    sb_put_bytes(b, &v, 1);
}

void sb_put_u16(struct snap_buf *b, uint16_t v)
{
    v = htole16(v);
    sb_put_bytes(b, &v, 2);
}

void sb_put_u32(struct snap_buf *b, uint32_t v)
{
    v = htole32(v);
    sb_put_bytes(b, &v, 4);
}

void sb_put_u64(struct snap_buf *b, uint64_t v)
{
    v = htole64(v);
    sb_put_bytes(b, &v, 8);
}

void sb_put_str(struct snap_buf *b, const char *s)
{
    if (!s) {
        sb_put_u32(b, UINT32_MAX);
        return;
    }
    sb_put_blob(b, s, strlen(s));
}

void sb_put_blob(struct snap_buf *b, const void *p, size_t n)
{
    if (n >= UINT32_MAX) {
        b->err = -E2BIG;
        return;
    }
    sb_put_u32(b, (uint32_t)n);
    sb_put_bytes(b, p, n);
}

void sb_free(struct snap_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

/* ---- reader ---- */

void sr_init(struct snap_rd *r, const void *p, size_t len)
{
    *r = (struct snap_rd){.p = p, .len = len};
}

void sr_bytes(struct snap_rd *r, void *dst, size_t n)
{
    if (r->err || n > r->len - r->off) {
        r->err = true;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, r->p + r->off, n);
    r->off += n;
}

uint8_t sr_u8(struct snap_rd *r)
{
    uint8_t v;

    sr_bytes(r, &v, 1);
    return v;
}

uint16_t sr_u16(struct snap_rd *r)
{
    uint16_t v;

    sr_bytes(r, &v, 2);
    return le16toh(v);
}

uint32_t sr_u32(struct snap_rd *r)
{
    uint32_t v;

    sr_bytes(r, &v, 4);
    return le32toh(v);
}

uint64_t sr_u64(struct snap_rd *r)
{
    uint64_t v;

    sr_bytes(r, &v, 8);
    return le64toh(v);
}

const void *sr_blob(struct snap_rd *r, size_t *n)
{
    uint32_t len = sr_u32(r);
    const void *p;

    *n = 0;
    if (r->err || len > r->len - r->off) {
        r->err = true;
        return NULL;
    }
    p = r->p + r->off;
    r->off += len;
    *n = len;
    return p;
}

int sr_str(struct snap_rd *r, size_t max, char **out)
{
    uint32_t len;
    char *s;

    *out = NULL;
    len = sr_u32(r);
    if (r->err)
        return -EINVAL;
    if (len == UINT32_MAX)
        return 0;
    if (len > max || len > r->len - r->off) {
        r->err = true;
        return -EINVAL;
    }
    if (memchr(r->p + r->off, '\0', len)) {
        r->err = true;
        return -EINVAL;
    }
    s = malloc((size_t)len + 1);
    if (!s)
        return -ENOMEM;
    memcpy(s, r->p + r->off, len);
    s[len] = '\0';
    r->off += len;
    *out = s;
    return 0;
}

int sr_done(const struct snap_rd *r)
{
    return r->err || r->off != r->len ? -EINVAL : 0;
}

/* ---- CRC-32 ---- */

uint32_t snap_crc32(uint32_t crc, const void *p, size_t n)
{
    const uint8_t *b = p;
    uint32_t table[256];

    /* A byte table, built per call (2 KiB of work, nothing shared): a
     * state file may have SNAP_MAX_FILE bytes, and its checksum must take
     * well under the 2 s a stop signal may wait. */
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;

        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
        table[i] = c;
    }
    crc = ~crc;
    for (size_t i = 0; i < n; i++)
        crc = table[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ---- the container ---- */

int snap_writer_begin(struct snap_writer *w, uint32_t type, uint32_t index)
{
    if (w->nr >= SNAP_MAX_SECTIONS)
        return -ENOSPC;
    w->sec[w->nr] = (struct snap_entry){type, index, w->data.len, 0};
    w->open_at = w->data.len;
    return 0;
}

void snap_writer_end(struct snap_writer *w)
{
    w->sec[w->nr].length = w->data.len - w->open_at;
    w->nr++;
}

static void put_fixed_str(struct snap_buf *b, const char *s, size_t n)
{
    char field[SNAP_CPU_LEN] = {0};

    strncpy(field, s ? s : "", n);
    sb_put_bytes(b, field, n);
}

int snap_writer_finish(struct snap_writer *w, uint32_t flags,
                       const char *vmrun_version, const char *host_cpu,
                       struct snap_buf *out)
{
    uint64_t data_at = SNAP_HEADER_SIZE + (uint64_t)w->nr * SNAP_ENTRY_SIZE;
    uint64_t total = data_at + w->data.len + 4;

    memset(out, 0, sizeof(*out));
    if (w->data.err)
        return w->data.err;
    sb_put_bytes(out, SNAP_MAGIC, 8);
    sb_put_u32(out, SNAP_FORMAT_VERSION);
    sb_put_u32(out, SNAP_HEADER_SIZE);
    sb_put_u64(out, total);
    sb_put_u32(out, w->nr);
    sb_put_u32(out, flags);
    put_fixed_str(out, vmrun_version, SNAP_VERSION_LEN);
    put_fixed_str(out, host_cpu, SNAP_CPU_LEN);
    for (unsigned int i = 0; i < w->nr; i++) {
        sb_put_u32(out, w->sec[i].type);
        sb_put_u32(out, w->sec[i].index);
        sb_put_u64(out, data_at + w->sec[i].offset);
        sb_put_u64(out, w->sec[i].length);
    }
    sb_put_bytes(out, w->data.data, w->data.len);
    if (!out->err)
        sb_put_u32(out, snap_crc32(0, out->data, out->len));
    if (out->err) {
        int ret = out->err;

        sb_free(out);
        return ret;
    }
    return 0;
}

int snap_fail(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static void get_fixed_str(struct snap_rd *r, char *dst, size_t n)
{
    sr_bytes(r, dst, n);
    dst[n] = '\0';
    /* Shown in messages: keep it printable. */
    for (size_t i = 0; i < n && dst[i]; i++)
        if ((unsigned char)dst[i] < 0x20 || (unsigned char)dst[i] > 0x7e)
            dst[i] = '?';
}

static int snap_parse_table(struct snap_file *f, struct snap_rd *r, char *err,
                            size_t err_len)
{
    uint64_t data_at = SNAP_HEADER_SIZE + (uint64_t)f->nr * SNAP_ENTRY_SIZE;
    uint64_t data_end = f->len - 4;

    if (data_at > data_end)
        return snap_fail(err, err_len,
                         "the section table (%u entries) does not fit in the "
                         "file",
                         f->nr);
    for (uint32_t i = 0; i < f->nr; i++) {
        struct snap_entry *e = &f->sec[i];
        uint64_t end;

        e->type = sr_u32(r);
        e->index = sr_u32(r);
        e->offset = sr_u64(r);
        e->length = sr_u64(r);
        if (r->err || e->offset < data_at ||
            __builtin_add_overflow(e->offset, e->length, &end) ||
            end > data_end)
            return snap_fail(err, err_len,
                             "section %u lies outside the file (offset %llu, "
                             "length %llu)",
                             i, (unsigned long long)e->offset,
                             (unsigned long long)e->length);
    }
    return 0;
}

/* (crc): the CRC-32 of every byte before the trailer, when the caller
 * computed it already; NULL: computed here. */
static int snap_parse(struct snap_file *f, const uint32_t *crc_known, char *err,
                      size_t err_len)
{
    struct snap_rd r;
    uint32_t hdr_size, crc, want;
    uint64_t total;
    char magic[8];

    sr_init(&r, f->buf, f->len);
    sr_bytes(&r, magic, 8);
    if (r.err || memcmp(magic, SNAP_MAGIC, 8) != 0)
        return snap_fail(err, err_len, "not a vmrun snapshot (bad magic)");
    f->version = sr_u32(&r);
    if (r.err)
        return snap_fail(err, err_len, "truncated: %zu bytes", f->len);
    if (f->version != SNAP_FORMAT_VERSION) {
        snap_fail(err, err_len,
                  "snapshot format version %u; this vmrun reads version %u",
                  f->version, SNAP_FORMAT_VERSION);
        return -ENOTSUP;
    }
    hdr_size = sr_u32(&r);
    total = sr_u64(&r);
    f->nr = sr_u32(&r);
    f->flags = sr_u32(&r);
    get_fixed_str(&r, f->vmrun_version, SNAP_VERSION_LEN);
    get_fixed_str(&r, f->host_cpu, SNAP_CPU_LEN);
    if (r.err || f->len < SNAP_HEADER_SIZE + 4)
        return snap_fail(err, err_len, "truncated: %zu bytes", f->len);
    if (hdr_size != SNAP_HEADER_SIZE)
        return snap_fail(err, err_len, "bad header size %u", hdr_size);
    if (total != f->len)
        return snap_fail(err, err_len,
                         "truncated or extended: %zu bytes, the header says "
                         "%llu",
                         f->len, (unsigned long long)total);
    memcpy(&want, f->buf + f->len - 4, 4);
    crc = crc_known ? *crc_known : snap_crc32(0, f->buf, f->len - 4);
    if (crc != le32toh(want))
        return snap_fail(err, err_len,
                         "checksum mismatch (the file is corrupted)");
    if (f->nr > SNAP_MAX_SECTIONS)
        return snap_fail(err, err_len, "too many sections (%u)", f->nr);
    return snap_parse_table(f, &r, err, err_len);
}

static int snap_file_parse_crc(struct snap_file *f, uint8_t *buf, size_t len,
                               const uint32_t *crc, char *err, size_t err_len)
{
    int ret;

    memset(f, 0, sizeof(*f));
    f->buf = buf;
    f->len = len;
    ret = snap_parse(f, crc, err, err_len);
    if (ret < 0)
        snap_file_free(f);
    return ret;
}

int snap_file_parse(struct snap_file *f, uint8_t *buf, size_t len, char *err,
                    size_t err_len)
{
    return snap_file_parse_crc(f, buf, len, NULL, err, err_len);
}

/* True once (stop_fd) (>= 0) is readable: the caller was asked to stop. */
static bool snap_stop_requested(int stop_fd)
{
    struct pollfd pfd = {.fd = stop_fd, .events = POLLIN};

    return stop_fd >= 0 && poll(&pfd, 1, 0) > 0;
}

int snap_file_open(const char *path, char *err, size_t err_len)
{
    int fd = open_regular(path, O_RDONLY | O_CLOEXEC, 0);

    if (fd == -EINVAL)
        return snap_fail(err, err_len, "not a regular file");
    if (fd < 0) {
        snprintf(err, err_len, "cannot open: %s", strerror(-fd));
        return fd == -ENOENT ? -ENOENT : -EINVAL;
    }
    return fd;
}

/* Reads in SNAP_IO_CHUNK pieces, checking (stop_fd) between them, and
 * checksums each piece as it comes: a large file is read and checked
 * within one piece of a stop. */
int snap_file_read(struct snap_file *f, int fd, int stop_fd, char *err,
                   size_t err_len)
{
    uint8_t *buf = NULL;
    struct stat st;
    size_t got = 0, size, body;
    uint32_t crc = 0;

    memset(f, 0, sizeof(*f));
    if (fstat(fd, &st) < 0) {
        snprintf(err, err_len, "cannot read: %s", strerror(errno));
        return -EINVAL;
    }
    if (st.st_size > (off_t)SNAP_MAX_FILE)
        return snap_fail(err, err_len,
                         "%lld bytes; a state file has at most "
                         "%u MiB",
                         (long long)st.st_size, SNAP_MAX_FILE >> 20);
    size = (size_t)st.st_size;
    body = size >= 4 ? size - 4 : 0; /* what the trailer's CRC covers */
    buf = malloc(size ? size : 1);
    if (!buf)
        return -ENOMEM;
    while (got < size) {
        size_t want = size - got < SNAP_IO_CHUNK ? size - got : SNAP_IO_CHUNK;
        ssize_t n;

        if (snap_stop_requested(stop_fd)) {
            free(buf);
            snprintf(err, err_len, "stopped while reading it");
            return -EINTR;
        }
        n = pread(fd, buf + got, want, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (got < body)
            crc = snap_crc32(crc, buf + got,
                             (size_t)n < body - got ? (size_t)n : body - got);
        got += (size_t)n;
    }
    /* A file that shrank while it was read: checksummed over what came. */
    return snap_file_parse_crc(f, buf, got, got == size ? &crc : NULL, err,
                               err_len);
}

int snap_file_load(struct snap_file *f, const char *path, char *err,
                   size_t err_len)
{
    int fd = snap_file_open(path, err, err_len), ret;

    memset(f, 0, sizeof(*f));
    if (fd < 0)
        return fd;
    ret = snap_file_read(f, fd, -1, err, err_len);
    close(fd);
    return ret;
}

void snap_file_free(struct snap_file *f)
{
    free(f->buf);
    f->buf = NULL;
    f->len = 0;
    f->nr = 0;
}

bool snap_file_section(const struct snap_file *f, uint32_t type, uint32_t index,
                       struct snap_rd *r)
{
    for (uint32_t i = 0; i < f->nr; i++) {
        if (f->sec[i].type == type && f->sec[i].index == index) {
            sr_init(r, f->buf + f->sec[i].offset, f->sec[i].length);
            return true;
        }
    }
    return false;
}

/* ---- file I/O: the memory file, the output files, the merge ---- */

int snap_pwrite_all(int fd, const void *p, size_t len, off_t off)
{
    const uint8_t *b = p;

    while (len) {
        ssize_t n =
            pwrite(fd, b, len < SNAP_IO_CHUNK ? len : SNAP_IO_CHUNK, off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        b += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

static int snap_copy_range(int in, int out, off_t from, off_t to, uint8_t *buf,
                           int stop_fd)
{
    while (from < to) {
        size_t want =
            to - from < SNAP_IO_CHUNK ? (size_t)(to - from) : SNAP_IO_CHUNK;
        ssize_t n = pread(in, buf, want, from);
        int ret;

        if (snap_stop_requested(stop_fd))
            return -EINTR;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        ret = snap_pwrite_all(out, buf, (size_t)n, from);
        if (ret < 0)
            return ret;
        from += n;
    }
    return 0;
}

int snap_copy_data(int in, int out, off_t size, uint8_t *buf, int stop_fd)
{
    off_t pos = 0;

    while (pos < size) {
        off_t data = lseek(in, pos, SEEK_DATA), hole;
        int ret;

        if (data < 0)
            return errno == ENXIO ? 0 : -errno;
        hole = lseek(in, data, SEEK_HOLE);
        if (hole < 0)
            return -errno;
        ret = snap_copy_range(in, out, data, hole < size ? hole : size, buf,
                              stop_fd);
        if (ret < 0)
            return ret;
        pos = hole;
    }
    return 0;
}

static bool snap_same_inode(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* (path), the value of (key), opened for writing: created (mode 0600)
 * when absent, not truncated; its identity in (st). */
static int snap_open_out(const char *key, const char *path, struct stat *st,
                         char *err, size_t err_len)
{
    int fd = open_output(path, O_WRONLY | O_CREAT, 0600, 0);

    if (fd >= 0 && fstat(fd, st) < 0) {
        int e = errno;

        close(fd);
        fd = -e;
    }
    if (fd == -EINVAL || fd == -ELOOP || fd == -EXDEV) {
        snprintf(err, err_len, "%s '%s': %s", key, path,
                 open_output_strerror(fd));
        fd = -EINVAL;
    } else if (fd < 0) {
        snprintf(err, err_len, "%s '%s': cannot create: %s", key, path,
                 strerror(-fd));
    }
    return fd;
}

/* Refuses (st), the file (path) of (key), when it is (ram_file). */
static int snap_check_out(const char *key, const char *path,
                          const struct stat *st, const struct stat *ram_file,
                          char *err, size_t err_len)
{
    if (!ram_file || !snap_same_inode(st, ram_file))
        return 0;
    return snap_fail(err, err_len,
                     "%s '%s' is the memory file this VM was restored from "
                     "(guest RAM maps it; truncating it would wipe guest "
                     "RAM): write the snapshot to another file",
                     key, path);
}

/* LOCK_EX on the memory file being written (fd), held until it is closed:
 * a VM restored from that file (in any vmrun) holds LOCK_SH, so a file a
 * running VM maps is never truncated by a vmrun. */
static int snap_lock_out(int fd, const char *path, char *err, size_t err_len)
{
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    if (errno != EWOULDBLOCK)
        return snap_fail(err, err_len, "mem_file_path '%s': cannot lock: %s",
                         path, strerror(errno));
    snprintf(err, err_len,
             "mem_file_path '%s' is in use by another vmrun (the memory file "
             "of a running restored VM, whose RAM truncating it would wipe, "
             "or a snapshot being written): write to another file",
             path);
    return -EBUSY;
}

/* The check of snap_check_out() by name, before any open: a memory file
 * many VMs restore from is often read-only, and the open would fail with
 * EACCES, which says less (the check after the open stays: the name may
 * change in between). */
static int snap_check_names(const char *state_path, const char *mem_path,
                            const struct stat *ram_file, char *err,
                            size_t err_len)
{
    struct stat st;
    int ret = 0;

    if (ram_file && stat(mem_path, &st) == 0)
        ret = snap_check_out("mem_file_path", mem_path, &st, ram_file, err,
                             err_len);
    if (ret == 0 && ram_file && stat(state_path, &st) == 0)
        ret = snap_check_out("snapshot_path", state_path, &st, ram_file, err,
                             err_len);
    return ret;
}

int snap_open_outputs(const char *state_path, const char *mem_path,
                      const struct stat *ram_file, int *state_fd, int *mem_fd,
                      char *err, size_t err_len)
{
    struct stat ss, ms;
    int s = -1, m, ret;

    ret = snap_check_names(state_path, mem_path, ram_file, err, err_len);
    if (ret < 0)
        return ret;
    m = snap_open_out("mem_file_path", mem_path, &ms, err, err_len);
    if (m < 0)
        return m;
    ret =
        snap_check_out("mem_file_path", mem_path, &ms, ram_file, err, err_len);
    if (ret == 0)
        ret = snap_lock_out(m, mem_path, err, err_len);
    if (ret == 0)
        ret = s = snap_open_out("snapshot_path", state_path, &ss, err, err_len);
    if (s >= 0)
        ret = snap_check_out("snapshot_path", state_path, &ss, ram_file, err,
                             err_len);
    if (ret == 0 && snap_same_inode(&ss, &ms))
        ret = snap_fail(err, err_len,
                        "snapshot_path '%s' and mem_file_path '%s' are the "
                        "same file",
                        state_path, mem_path);
    if (ret < 0) {
        if (s >= 0)
            close(s);
        close(m);
        return ret;
    }
    *state_fd = s;
    *mem_fd = m;
    return 0;
}

/* A memory file to merge: regular, of (*size) bytes (any when < 0; then
 * set). */
static int merge_open(const char *path, off_t *size, char *err, size_t len)
{
    int fd = open_regular(path, O_RDONLY | O_CLOEXEC, 0);
    struct stat st;

    if (fd >= 0 && fstat(fd, &st) < 0) {
        int e = errno;

        close(fd);
        fd = -e;
    }
    if (fd < 0) {
        snprintf(err, len, "%s: cannot open a memory file: %s", path,
                 fd == -EINVAL ? "not a regular file" : strerror(-fd));
        return fd;
    }
    if (*size >= 0 && st.st_size != *size) {
        close(fd);
        return snap_fail(err, len, "%s: %lld bytes; the Full file has %lld",
                         path, (long long)st.st_size, (long long)*size);
    }
    *size = st.st_size;
    return fd;
}

/* (full) with each of (diffs) laid over it, into (o); stops with -EINTR
 * when (stop_fd) is readable. */
static int merge_into(int o, const char *full, const char *const *diffs,
                      size_t n, uint8_t *buf, int stop_fd, char *err,
                      size_t err_len)
{
    off_t size = -1;
    int in = merge_open(full, &size, err, err_len), ret;

    if (in < 0)
        return in;
    ret = ftruncate(o, size) < 0 ? -errno : 0;
    if (ret == 0)
        ret = snap_copy_data(in, o, size, buf, stop_fd);
    close(in);
    for (size_t i = 0; i < n && ret == 0; i++) {
        in = merge_open(diffs[i], &size, err, err_len);
        if (in < 0)
            return in;
        ret = snap_copy_data(in, o, size, buf, stop_fd);
        close(in);
        if (ret < 0 && ret != -EINTR)
            snprintf(err, err_len, "%s: %s", diffs[i], strerror(-ret));
    }
    return ret;
}

int snap_merge(const char *full, const char *const *diffs, size_t n,
               const char *out, int stop_fd, char *err, size_t err_len)
{
    uint8_t *buf = malloc(SNAP_IO_CHUNK);
    char *tmp = NULL;
    int o, ret;

    if (err_len)
        err[0] = '\0';
    if (!buf)
        return -ENOMEM;
    /* open_output()'s policy, though (out) itself is never opened: the
     * new file is renamed over it. */
    ret = check_output(out, 0);
    if (ret < 0) {
        free(buf);
        snprintf(err, err_len, "%s: %s", out, open_output_strerror(ret));
        return ret == -ELOOP || ret == -EXDEV ? -EINVAL : ret;
    }
    /* A new file renamed over (out): a VM restored from (out), or from
     * (full) merged in place, maps the old file (MAP_PRIVATE shows later
     * writes to the file in every page the guest has not written), and
     * keeps it. */
    if (asprintf(&tmp, "%s.merge-XXXXXX", out) < 0) {
        free(buf);
        return -ENOMEM;
    }
    o = mkostemp(tmp, O_CLOEXEC);
    if (o < 0) {
        ret = -errno;
        snprintf(err, err_len, "%s: cannot create a file in its folder: %s",
                 out, strerror(-ret));
        free(tmp);
        free(buf);
        return ret;
    }
    ret = merge_into(o, full, diffs, n, buf, stop_fd, err, err_len);
    if (close(o) < 0 && ret == 0)
        ret = -errno;
    if (ret == 0 && rename(tmp, out) < 0)
        ret = -errno;
    if (ret < 0) {
        unlink(tmp);
        if (ret == -EINTR)
            snprintf(err, err_len, "%s: stopped; nothing written", out);
        else if (err_len && !err[0])
            snprintf(err, err_len, "%s: %s", out, strerror(-ret));
    }
    free(tmp);
    free(buf);
    return ret;
}
