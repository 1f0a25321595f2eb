/* snapshot_file.h - the snapshot state file container: a versioned header,
 * a table of typed sections and a CRC-32 over the whole file, plus the
 * bounds-checked byte writer and reader every saver and loader uses.
 *
 * The file is untrusted input: snap_file_parse() checks the magic, the
 * format version, the length, the checksum and that every section lies
 * inside the file before anything reads it, and every snap_rd read is
 * bounds-checked (a short read sets a sticky error and yields zeros), so a
 * truncated or corrupted file ends in one error message, never a crash.
 *
 * Layout (little-endian, docs/snapshot.md):
 *   header   magic "VMRUNSNP", u32 format version, u32 header size,
 *            u64 file size, u32 section count, u32 flags,
 *            char vmrun_version[16], char host_cpu[64]
 *   table    per section: u32 type, u32 index, u64 offset, u64 length
 *   data     the sections
 *   trailer  u32 CRC-32 (IEEE) of every byte before it
 * No KVM in here: unit tests link it directly. */
#ifndef VMRUN_SNAPSHOT_FILE_H
#define VMRUN_SNAPSHOT_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct stat;

#define SNAP_MAGIC "VMRUNSNP"
#define SNAP_FORMAT_VERSION 1
#define SNAP_HEADER_SIZE 112
#define SNAP_ENTRY_SIZE 24
#define SNAP_MAX_SECTIONS 1024
#define SNAP_MAX_FILE (256u << 20) /* state only: RAM is in the mem file */
#define SNAP_VERSION_LEN 16
#define SNAP_CPU_LEN 64
#define SNAP_IO_CHUNK (1u << 20) /* bytes per read or write of a file */

/* Header flags. */
#define SNAP_FLAG_DIFF 1 /* the memory file holds only dirtied pages */

/* Section types. */
enum snap_section_type {
    SNAP_SEC_CONFIG = 1,    /* the VM's configuration (snapshot.c) */
    SNAP_SEC_MEMORY = 2,    /* RAM size and layout of the memory file */
    SNAP_SEC_ARCH_VM = 3,   /* irqchip, timers, clock, platform devices */
    SNAP_SEC_ARCH_VCPU = 4, /* one per vCPU, index = vCPU number */
    SNAP_SEC_DEVICE = 5,    /* one per virtio device, index = slot */
};

/* Writes the message (fmt) into (err) and returns -EINVAL: the one-line
 * refusals of the state file's readers. */
int snap_fail(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A growing buffer.  Writes after an allocation failure are dropped and
 * (err) is set; check it once at the end. */
struct snap_buf {
    uint8_t *data;
    size_t len, cap;
    int err; /* 0 or -ENOMEM */
};

void sb_put_bytes(struct snap_buf *b, const void *p, size_t n);
void sb_put_u8(struct snap_buf *b, uint8_t v);
void sb_put_u16(struct snap_buf *b, uint16_t v);
void sb_put_u32(struct snap_buf *b, uint32_t v);
void sb_put_u64(struct snap_buf *b, uint64_t v);
/* u32 length (0xffffffff for NULL), then the bytes, no NUL. */
void sb_put_str(struct snap_buf *b, const char *s);
/* u32 length, then the bytes. */
void sb_put_blob(struct snap_buf *b, const void *p, size_t n);
void sb_free(struct snap_buf *b);

/* A bounds-checked reader over [p, p + len).  A read past the end sets
 * (err), yields zeros and leaves (off) alone; check (err) once at the end
 * (or sr_done()). */
struct snap_rd {
    const uint8_t *p;
    size_t len, off;
    bool err;
};

void sr_init(struct snap_rd *r, const void *p, size_t len);
void sr_bytes(struct snap_rd *r, void *dst, size_t n);
uint8_t sr_u8(struct snap_rd *r);
uint16_t sr_u16(struct snap_rd *r);
uint32_t sr_u32(struct snap_rd *r);
uint64_t sr_u64(struct snap_rd *r);
/* A blob of sb_put_blob(): (*p) points into the reader's buffer; NULL and
 * (err) when its length exceeds what is left. */
const void *sr_blob(struct snap_rd *r, size_t *n);
/* A string of sb_put_str() of at most (max) bytes as a new allocation in
 * (*out) (NULL for a NULL string); -EINVAL when malformed or too long,
 * -ENOMEM. */
int sr_str(struct snap_rd *r, size_t max, char **out)
    __attribute__((warn_unused_result));
/* 0 when every read succeeded and all bytes were consumed, else -EINVAL. */
int sr_done(const struct snap_rd *r) __attribute__((warn_unused_result));

/* CRC-32 (IEEE 802.3, reflected 0xedb88320), continuing from (crc); start
 * with 0. */
uint32_t snap_crc32(uint32_t crc, const void *p, size_t n);

/* A state file being built: sections are appended one after the other. */
struct snap_writer {
    struct snap_buf data; /* section bytes */
    unsigned int nr;
    struct snap_entry {
        uint32_t type, index;
        uint64_t offset, length; /* offset into (data) while building */
    } sec[SNAP_MAX_SECTIONS];
    size_t open_at; /* start of the section being written */
};

/* Starts section (type, index); everything put into w->data until
 * snap_writer_end() belongs to it.  -ENOSPC past SNAP_MAX_SECTIONS. */
int snap_writer_begin(struct snap_writer *w, uint32_t type, uint32_t index)
    __attribute__((warn_unused_result));
void snap_writer_end(struct snap_writer *w);

/* Header, table, sections and checksum as one new buffer in (*out). */
int snap_writer_finish(struct snap_writer *w, uint32_t flags,
                       const char *vmrun_version, const char *host_cpu,
                       struct snap_buf *out)
    __attribute__((warn_unused_result));

/* A parsed state file; sections point into (buf). */
struct snap_file {
    uint8_t *buf;
    size_t len;
    uint32_t version, flags, nr;
    char vmrun_version[SNAP_VERSION_LEN + 1];
    char host_cpu[SNAP_CPU_LEN + 1];
    struct snap_entry sec[SNAP_MAX_SECTIONS];
};

/* Checks (buf, len) (taken: freed by snap_file_free(), also on failure)
 * and fills (f).  On failure returns -EINVAL (-ENOTSUP for another
 * format version) with one line for people in (err). */
int snap_file_parse(struct snap_file *f, uint8_t *buf, size_t len, char *err,
                    size_t err_len) __attribute__((warn_unused_result));

/* Opens the state file (path) for reading, without blocking and only if
 * it is a regular file; reads nothing.  The fd, or -EINVAL ("not a
 * regular file", or another open error) or -ENOENT with one line in
 * (err). */
int snap_file_open(const char *path, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/* Reads the whole state file open at (fd) (not closed; read with pread,
 * so its offset does not matter) and parses it as snap_file_parse() does,
 * plus read errors and the SNAP_MAX_FILE limit.  Once (stop_fd) (-1:
 * none; a signalfd, an eventfd) is readable it stops within one
 * SNAP_IO_CHUNK and returns -EINTR. */
int snap_file_read(struct snap_file *f, int fd, int stop_fd, char *err,
                   size_t err_len) __attribute__((warn_unused_result));

/* snap_file_open() and snap_file_read() of (path). */
int snap_file_load(struct snap_file *f, const char *path, char *err,
                   size_t err_len) __attribute__((warn_unused_result));

void snap_file_free(struct snap_file *f);

/* The section (type, index) as a reader; false when absent. */
bool snap_file_section(const struct snap_file *f, uint32_t type, uint32_t index,
                       struct snap_rd *r);

/* ---- files (no KVM either) ---- */

/* pwrite() of all (len) bytes at (off), in SNAP_IO_CHUNK pieces. */
int snap_pwrite_all(int fd, const void *p, size_t len, off_t off)
    __attribute__((warn_unused_result));

/* Copies the data extents of (in) (SEEK_DATA/SEEK_HOLE) below (size) to
 * the same offsets of (out) (holes are not written); (buf) holds
 * SNAP_IO_CHUNK bytes.  Between chunks it returns -EINTR once (stop_fd)
 * (-1: none) is readable. */
int snap_copy_data(int in, int out, off_t size, uint8_t *buf, int stop_fd)
    __attribute__((warn_unused_result));

/* Opens the two files a snapshot writes, (state_path) and (mem_path), for
 * writing: created (mode 0600) when absent, NOT truncated (the caller
 * does that once both are accepted).  Without blocking (open_regular()),
 * it refuses with -EINVAL and one line naming the key (snapshot_path,
 * mem_file_path) and the path in (err): a path that is not a regular
 * file; one that is (ram_file) (a restored VM's memory file, which its
 * RAM maps MAP_PRIVATE: truncating it would drop every page the guest has
 * not written; NULL for none); the two paths being one file.  Other
 * errors: -errno, (err) says which.  On success (*state_fd), (*mem_fd). */
int snap_open_outputs(const char *state_path, const char *mem_path,
                      const struct stat *ram_file, int *state_fd, int *mem_fd,
                      char *err, size_t err_len)
    __attribute__((warn_unused_result));

/* snapshot_merge() (snapshot.h): (full) with each of (diffs)[0..n) laid
 * over it, in order, into a new file in (out)'s folder renamed over
 * (out): a VM restored from the old (out) (or from (full) merged in place)
 * keeps mapping the old file.  On failure nothing is left behind and
 * (out) is untouched; -errno with one line in (err).  When (stop_fd) (-1:
 * none; a signalfd, an eventfd) becomes readable the merge stops within
 * one SNAP_IO_CHUNK: the new file is removed and -EINTR returned. */
int snap_merge(const char *full, const char *const *diffs, size_t n,
               const char *out, int stop_fd, char *err, size_t err_len)
    __attribute__((warn_unused_result));

#endif
