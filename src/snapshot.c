/* snapshot.c - Full and Diff snapshots of a paused VM, restore into a new
 * VM, and merging memory files (see snapshot.h, docs/snapshot.md). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "sandbox.h"
#include "snapshot.h"
#include "core/snapshot_config.h"
#include "core/snapshot_file.h"
#include "core/util.h"
#include "vm.h"

static double snap_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- guest RAM ---- */

static bool snap_page_zero(const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)p;

    for (size_t i = 0; i < GMEM_PAGE / 8; i++)
        if (w[i])
            return false;
    return true;
}

/* /proc/self/pagemap bits (Documentation/admin-guide/mm/pagemap.rst). */
#define PM_PRESENT (1ULL << 63)
#define PM_SWAP (1ULL << 62)
#define PM_FILE (1ULL << 61) /* file page or shared anonymous */

/* Which of the pages [first, first + n) of RAM may differ from what a
 * Full snapshot starts from: for anonymous RAM (from_file false) those
 * ever populated (present or swapped): a page never touched reads as zero
 * and need not even be looked at, which saves mapping the zero page into
 * every hole of a large, idle guest.  For a restored VM's RAM, a private
 * mapping of its memory file, those the guest wrote (now anonymous: present
 * without PM_FILE, or swapped); every other page is still the file's.
 * False when pagemap cannot be read. */
static bool snap_private_pages(int pagemap, const uint8_t *base, bool from_file,
                               uint64_t first, uint64_t n, uint8_t *out)
{
    uint64_t ent[512];
    off_t off = (off_t)(((uintptr_t)base / GMEM_PAGE + first) * 8);

    if (pagemap < 0 || n > 512 ||
        pread(pagemap, ent, n * 8, off) != (ssize_t)(n * 8))
        return false;
    for (uint64_t i = 0; i < n; i++)
        out[i] = (ent[i] & PM_SWAP) ||
                 ((ent[i] & PM_PRESENT) && (!from_file || !(ent[i] & PM_FILE)));
    return true;
}

/* Writes the pages (pop) marks in chunk (c) of (n) pages: with (all), every
 * marked page as it is (it may replace different data already in the
 * file); else the marked (or, without (pop), all) non-zero pages. */
static int snap_write_chunk(struct vm *vm, int fd, uint64_t c, uint64_t n,
                            const uint8_t *pop, bool all, uint64_t *written)
{
    uint64_t run = 0;
    int ret = 0;

    for (uint64_t i = 0; i <= n && ret == 0; i++) {
        const uint8_t *pg = vm->ram + (c + i) * GMEM_PAGE;

        if (i < n && (!pop || pop[i]) && (all || !snap_page_zero(pg))) {
            run++;
            continue;
        }
        if (run) {
            uint64_t at = (c + i - run) * GMEM_PAGE;

            ret = snap_pwrite_all(fd, vm->ram + at, run * GMEM_PAGE, at);
            *written += run * GMEM_PAGE;
        }
        run = 0;
    }
    return ret;
}

/* A Full memory file.  Anonymous RAM: every non-zero page, zero pages stay
 * holes.  A restored VM's RAM: the memory file it maps (its data extents,
 * copied without touching guest RAM) with the pages the guest wrote since
 * laid over it.  Without pagemap, every page is looked at.  Bytes taken
 * from RAM in (*written). */
static int snap_write_full(struct vm *vm, int fd, uint64_t *written)
{
    uint64_t pages = vm->ram_size / GMEM_PAGE;
    bool from_file = vm->mem_fd >= 0;
    int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    uint8_t pop[512], *buf = NULL;
    int ret = 0;

    if (from_file && pagemap >= 0 &&
        snap_private_pages(pagemap, vm->ram, true, 0, 1, pop)) {
        buf = malloc(SNAP_IO_CHUNK);
        /* exit_fd stays readable once an exit is requested. */
        ret = buf ? snap_copy_data(vm->mem_fd, fd, (off_t)vm->ram_size, buf,
                                   vm->exit_fd)
                  : -ENOMEM;
        free(buf);
    } else if (from_file && pagemap >= 0) {
        close(pagemap);
        pagemap = -1;
    }
    for (uint64_t c = 0; c < pages && ret == 0; c += 512) {
        uint64_t n = pages - c < 512 ? pages - c : 512;
        bool known = snap_private_pages(pagemap, vm->ram, from_file, c, n, pop);

        if (vm_exit_requested(vm))
            ret = -EINTR;
        else if (from_file && pagemap >= 0 && !known)
            ret = -EIO; /* pagemap failed halfway: the copy is not whole */
        else
            ret = snap_write_chunk(vm, fd, c, n, known ? pop : NULL,
                                   from_file && known, written);
    }
    if (pagemap >= 0)
        close(pagemap);
    return ret;
}

/* Region (i)'s pages written since the last call: KVM's dirty log (the
 * guest's writes; slot i is region i, see vm_add_memslot() callers) and
 * vmrun's own (gmem_dirty_take()).  (bits) holds one bit per page. */
static int snap_dirty_bits(struct vm *vm, unsigned int i, uint64_t *bits)
{
    struct kvm_dirty_log log = {.slot = i, .dirty_bitmap = bits};

    if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
        return -errno;
    gmem_dirty_take(&vm->mem, i, bits);
    return 0;
}

/* Writes the dirty pages of every region at their offsets in (fd), or
 * with (fd) < 0 only clears the logs (after a Full snapshot). */
static int snap_write_dirty(struct vm *vm, int fd, uint64_t *written)
{
    int ret = 0;

    for (unsigned int i = 0; i < vm->mem.nr && ret == 0; i++) {
        const struct mem_region *r = &vm->mem.r[i];
        uint64_t pages = r->size / GMEM_PAGE, base = r->host - vm->ram;
        uint64_t *bits = calloc((pages + 63) / 64 + 1, sizeof(uint64_t));

        if (!bits)
            return -ENOMEM;
        ret = snap_dirty_bits(vm, i, bits);
        for (uint64_t p = 0; p < pages && ret == 0 && fd >= 0; p++) {
            uint64_t start = p;

            if (!(bits[p / 64] & (1ULL << (p % 64))))
                continue;
            if (vm_exit_requested(vm)) {
                ret = -EINTR;
                break;
            }
            /* At most 512 pages a run: a stop is seen between runs. */
            while (p + 1 < pages && p + 1 - start < 512 &&
                   (bits[(p + 1) / 64] & (1ULL << ((p + 1) % 64))))
                p++;
            ret = snap_pwrite_all(fd, r->host + start * GMEM_PAGE,
                                  (p + 1 - start) * GMEM_PAGE,
                                  base + start * GMEM_PAGE);
            *written += (p + 1 - start) * GMEM_PAGE;
        }
        free(bits);
    }
    return ret;
}

/* Guest RAM into (fd), the file (path) snap_open_outputs() opened. */
static int snap_write_memory(struct vm *vm, bool diff, int fd, const char *path,
                             uint64_t *written)
{
    int ret = 0;

    /* Empty first: the pages not written must read as zeros. */
    if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)vm->ram_size) < 0)
        ret = -errno;
    if (ret == 0 && diff)
        ret = snap_write_dirty(vm, fd, written);
    else if (ret == 0) {
        ret = snap_write_full(vm, fd, written);
        /* The next Diff starts from here. */
        if (ret == 0 && vm->cfg->track_dirty_pages)
            ret = snap_write_dirty(vm, -1, written);
    }
    if (ret == -EINTR)
        vm_log(vm, VMRUN_LOG_ERROR,
               "snapshot: stopped writing guest RAM to '%s': vmrun is "
               "stopping",
               path);
    else if (ret < 0)
        vm_log(vm, VMRUN_LOG_ERROR, "snapshot: writing guest RAM to '%s': %s",
               path, strerror(-ret));
    return ret;
}

/* ---- devices, in slot order (vm_create_devices()) ---- */

static int snap_save_devices(struct vm *vm, struct snap_writer *w)
{
    int ret = 0;

    for (unsigned int i = 0; i < vm->nr_devices && ret == 0; i++) {
        const struct vm_device *d = &vm->devices[i];

        ret = snap_writer_begin(w, SNAP_SEC_DEVICE, i);
        if (ret == 0) {
            ret = d->ops->save(d->dev, &w->data);
            snap_writer_end(w);
        }
        if (ret < 0)
            vm_log(vm, VMRUN_LOG_ERROR, "snapshot: device %u: %s", i,
                   strerror(-ret));
    }
    return ret;
}

static int snap_load_devices(struct vm *vm, const struct snap_file *f)
{
    struct snap_rd r;

    for (unsigned int i = 0; i < vm->nr_devices; i++) {
        const struct vm_device *d = &vm->devices[i];
        int ret = -EINVAL;

        if (snap_file_section(f, SNAP_SEC_DEVICE, i, &r))
            ret = d->ops->load(d->dev, &r);
        if (ret == 0)
            ret = sr_done(&r);
        if (ret < 0) {
            vm_log(vm, VMRUN_LOG_ERROR,
                   "snapshot: virtio device %u (%s): the saved state is "
                   "missing or does not fit the device",
                   i, d->ops->name);
            return ret;
        }
    }
    return 0;
}

/* ---- create ---- */

static int snap_save_state(struct vm *vm, struct snap_writer *w, bool diff)
{
    int ret = snap_save_devices(vm, w);

    for (unsigned int i = 0; i < vm->nr_vcpus && ret == 0; i++) {
        ret = snap_writer_begin(w, SNAP_SEC_ARCH_VCPU, i);
        if (ret == 0) {
            ret = arch_snapshot_save_vcpu(&vm->vcpus[i], &w->data);
            snap_writer_end(w);
        }
        if (ret < 0)
            vm_log(vm, VMRUN_LOG_ERROR, "snapshot: vcpu%u: %s", i,
                   strerror(-ret));
    }
    if (ret == 0 && (ret = snap_writer_begin(w, SNAP_SEC_ARCH_VM, 0)) == 0) {
        ret = arch_snapshot_save_vm(vm, &w->data);
        snap_writer_end(w);
        if (ret < 0)
            vm_log(vm, VMRUN_LOG_ERROR, "snapshot: irqchip, timers, clock: %s",
                   strerror(-ret));
    }
    if (ret == 0 && (ret = snap_writer_begin(w, SNAP_SEC_CONFIG, 0)) == 0) {
        snap_put_config(&w->data, vm->cfg);
        snap_writer_end(w);
    }
    if (ret == 0 && (ret = snap_writer_begin(w, SNAP_SEC_MEMORY, 0)) == 0) {
        sb_put_u64(&w->data, vm->ram_size);
        sb_put_u32(&w->data, GMEM_PAGE);
        sb_put_u8(&w->data, diff);
        snap_writer_end(w);
    }
    return ret;
}

static int snap_write_file(struct vm *vm, int fd, const char *path,
                           const struct snap_buf *b)
{
    int ret = ftruncate(fd, 0) < 0 ? -errno : 0;

    if (ret == 0)
        ret = snap_pwrite_all(fd, b->data, b->len, 0);
    if (ret < 0)
        vm_log(vm, VMRUN_LOG_ERROR, "snapshot: writing '%s': %s", path,
               strerror(-ret));
    return ret;
}

static bool snap_vm_paused(struct vm *vm)
{
    bool paused;

    pthread_mutex_lock(&vm->lock);
    paused = vm->paused;
    pthread_mutex_unlock(&vm->lock);
    return paused;
}

/* The state file's bytes in (file). */
static int snap_build_state(struct vm *vm, bool diff, struct snap_buf *file)
{
    struct snap_writer *w = calloc(1, sizeof(*w));
    char cpu[SNAP_CPU_LEN + 1];
    int ret;

    if (!w)
        return -ENOMEM;
    /* Devices first: blk completes its requests in flight into guest RAM
     * and the used rings are marked dirty before RAM is written. */
    ret = snap_save_state(vm, w, diff);
    arch_host_cpu(cpu, sizeof(cpu));
    if (ret == 0)
        ret = snap_writer_finish(w, diff ? SNAP_FLAG_DIFF : 0, VMRUN_VERSION,
                                 cpu, file);
    sb_free(&w->data);
    free(w);
    return ret;
}

/* Both output files, before anything is written.  A restored VM's RAM is
 * its memory file mapped MAP_PRIVATE: snap_open_outputs() refuses that
 * file, whose truncation would drop every page the guest has not written
 * (guest RAM would read zeros, or SIGBUS past the new end). */
static int snap_open_files(struct vm *vm, const char *state_path,
                           const char *mem_path, int *state_fd, int *mem_fd)
{
    struct stat ram;
    char msg[1024];
    int ret;

    if (vm->mem_fd >= 0 && fstat(vm->mem_fd, &ram) < 0) {
        ret = -errno;
        vm_log(vm, VMRUN_LOG_ERROR, "snapshot: the VM's memory file: %s",
               strerror(-ret));
        return ret;
    }
    ret = snap_open_outputs(state_path, mem_path, vm->mem_fd >= 0 ? &ram : NULL,
                            state_fd, mem_fd, msg, sizeof(msg));
    if (ret < 0)
        vm_log(vm, VMRUN_LOG_ERROR, "snapshot: %s", msg);
    return ret;
}

/* close() of a written file: its error (delayed write-back) is one too. */
static int snap_close(struct vm *vm, int fd, const char *path, int ret)
{
    if (close(fd) < 0 && ret == 0) {
        ret = -errno;
        vm_log(vm, VMRUN_LOG_ERROR, "snapshot: writing '%s': %s", path,
               strerror(-ret));
    }
    return ret;
}

int snapshot_create(struct vm *vm, bool diff, const char *state_path,
                    const char *mem_path)
{
    struct snap_buf file = {0};
    double t0 = snap_now_ms();
    uint64_t written = 0;
    int ret, state_fd, mem_fd;

    if (!snap_vm_paused(vm)) {
        vm_log(vm, VMRUN_LOG_ERROR, "snapshot: the VM must be paused first");
        return -EINVAL;
    }
    if (diff && !vm->cfg->track_dirty_pages) {
        vm_log(vm, VMRUN_LOG_ERROR,
               "snapshot: a Diff snapshot needs "
               "machine-config.track_dirty_pages (or track_dirty_pages at "
               "load)");
        return -EINVAL;
    }
    ret = snap_open_files(vm, state_path, mem_path, &state_fd, &mem_fd);
    if (ret < 0)
        return ret;
    ret = snap_build_state(vm, diff, &file);
    if (ret == 0)
        ret = snap_write_memory(vm, diff, mem_fd, mem_path, &written);
    if (ret == 0)
        ret = snap_write_file(vm, state_fd, state_path, &file);
    /* The memory file is no longer the old one: neither is the state. */
    if (ret < 0 && ftruncate(state_fd, 0) < 0)
        vm_log(vm, VMRUN_LOG_WARN, "snapshot: cannot empty '%s': %s",
               state_path, strerror(errno));
    ret = snap_close(vm, mem_fd, mem_path, ret);
    ret = snap_close(vm, state_fd, state_path, ret);
    if (ret == 0)
        vm_log(vm, VMRUN_LOG_INFO,
               "snapshot: %s to '%s' (%zu bytes) and '%s' (%llu MiB of "
               "RAM written) in %.1f ms",
               diff ? "Diff" : "Full", state_path, file.len, mem_path,
               (unsigned long long)(written >> 20), snap_now_ms() - t0);
    sb_free(&file);
    return ret;
}

/* ---- restore ---- */

/* A restore in progress: what it opened with the caller's rights, what
 * the restore thread read from the state file, and what the checks after
 * that thread need. */
struct snap_restore {
    const struct vmrun_restore *ro;
    struct logger log; /* the caller's, until the VM has its own */
    char *err;
    size_t err_len;
    int state_fd;
    int mem_fd;  /* or the -errno of its open, with (mem_err) */
    int kvm_fd;  /* -1: vm_init_restore() opens it (and says why not) */
    int stop_fd; /* vmrun_create_opts.stop_fd, -1: none */
    char mem_err[PATH_MAX + 128];
    struct snap_file f;
    struct vmrun_config *cfg;
    /* The memory section as the file gives it. */
    bool mem_found;
    uint64_t mem_ram;
    uint32_t mem_page;
    struct vm *vm;
};

/* The memory file, opened for reading and locked; nothing is read. */
static int snap_open_mem(const struct vmrun_restore *ro, char *err,
                         size_t err_len)
{
    /* Without blocking: a FIFO would hang the API thread in open(). */
    int fd = open_regular(ro->mem_path, O_RDONLY | O_CLOEXEC, 0);

    if (fd == -EINVAL)
        return snap_fail(err, err_len, "%s: not a regular file", ro->mem_path);
    if (fd < 0) {
        snprintf(err, err_len, "%s: cannot open: %s", ro->mem_path,
                 strerror(-fd));
        return fd == -ENOENT ? -ENOENT : -EINVAL;
    }
    /* Shared for as long as the VM maps the file (vm->mem_fd): a vmrun
     * writing a memory file (snapshot/create) holds LOCK_EX on it, so
     * neither can start while the other runs (docs/snapshot.md). */
    if (flock(fd, LOCK_SH | LOCK_NB) < 0) {
        int e = errno;

        close(fd);
        if (e != EWOULDBLOCK)
            return snap_fail(err, err_len, "%s: cannot lock: %s", ro->mem_path,
                             strerror(e));
        snprintf(err, err_len,
                 "%s: a snapshot is being written to it (it is locked); "
                 "restore once that is done",
                 ro->mem_path);
        return -EBUSY;
    }
    return fd;
}

/* The state file, the memory file (locked) and /dev/kvm, opened with the
 * caller's rights, before it gives them up; nothing is read yet.  Only a
 * state file that does not open ends the restore here.  Refusals come in
 * one order whatever the rights: the state file's, the operator's
 * entries', the memory file's (kept in mem_err), /dev/kvm's (opened again
 * and reported by vm_init_restore()); so a host without /dev/kvm still
 * refuses a bad snapshot for what it is. */
static int snap_open_inputs(struct snap_restore *rs)
{
    const char *path = rs->ro->snapshot_path;
    char msg[256];

    rs->state_fd = snap_file_open(path, msg, sizeof(msg));
    if (rs->state_fd < 0) {
        snprintf(rs->err, rs->err_len, "%s: %s", path, msg);
        return rs->state_fd;
    }
    rs->mem_fd = snap_open_mem(rs->ro, rs->mem_err, sizeof(rs->mem_err));
    rs->kvm_fd = vm_kvm_open();
    if (rs->kvm_fd < 0)
        rs->kvm_fd = -1;
    return 0;
}

/* The header, the host CPU and the saved config of the state file open
 * at (fd), read from the descriptor: no path is looked up. */
static int snap_open(const struct vmrun_restore *ro, int fd, int stop_fd,
                     struct snap_file *f, struct vmrun_config **cfg, char *err,
                     size_t err_len)
{
    const char *path = ro->snapshot_path;
    char msg[256], cpu[SNAP_CPU_LEN + 1];
    int ret = snap_file_read(f, fd, stop_fd, msg, sizeof(msg));

    if (ret < 0) {
        snprintf(err, err_len, "%s: %s", path, msg);
        return ret;
    }
    arch_host_cpu(cpu, sizeof(cpu));
    if (strcmp(cpu, f->host_cpu) != 0)
        return snap_fail(err, err_len,
                         "%s: taken on a '%s' host; this host is '%s'", path,
                         f->host_cpu, cpu);
    return snap_config_parse(f, path, cfg, err, err_len);
}

/* The state file is untrusted: it is parsed only here, after the drop,
 * on a thread of the restore role (sandbox_run()).  What it says is
 * checked against the operator's entries and files after this thread
 * has ended (snap_check_inputs()). */
static int snap_parse_state(void *opaque)
{
    struct snap_restore *rs = opaque;
    struct snap_rd r;
    int ret;

    ret = snap_open(rs->ro, rs->state_fd, rs->stop_fd, &rs->f, &rs->cfg,
                    rs->err, rs->err_len);
    if (ret < 0)
        return ret;
    rs->mem_found = snap_file_section(&rs->f, SNAP_SEC_MEMORY, 0, &r);
    if (rs->mem_found) {
        rs->mem_ram = sr_u64(&r);
        rs->mem_page = sr_u32(&r);
    }
    return 0;
}

/* The memory section must match the config, the memory file must have
 * opened and have its size. */
static int snap_check_mem(const struct snap_restore *rs)
{
    const char *path = rs->ro->snapshot_path;
    uint64_t want = rs->cfg->mem_size_mib << 20;
    struct stat st;

    if (!rs->mem_found)
        return snap_fail(rs->err, rs->err_len, "%s: no memory section", path);
    if (rs->mem_page != GMEM_PAGE || rs->mem_ram != want)
        return snap_fail(rs->err, rs->err_len, "%s: bad memory section", path);
    if (rs->mem_fd < 0) {
        snprintf(rs->err, rs->err_len, "%s", rs->mem_err);
        return rs->mem_fd;
    }
    if (fstat(rs->mem_fd, &st) < 0 || (uint64_t)st.st_size != want)
        return snap_fail(rs->err, rs->err_len,
                         "%s: not a memory file of %llu bytes (the snapshot's "
                         "RAM size)",
                         rs->ro->mem_path, (unsigned long long)want);
    return 0;
}

/* After the restore thread, on the calling thread with the rights left
 * (after drop_fn) and before a VM exists: the operator's entries looked
 * up and checked (snap_config_resolve(): realpath(), access(), which the
 * restore role forbids), then the memory file. */
static int snap_check_inputs(struct snap_restore *rs)
{
    int ret = snap_config_resolve(rs->cfg, rs->ro, rs->err, rs->err_len);

    return ret == 0 ? snap_check_mem(rs) : ret;
}

static int snap_load_state(struct vm *vm, const struct snap_file *f)
{
    struct snap_rd r;
    int ret = 0;

    for (unsigned int i = 0; i < vm->nr_vcpus && ret == 0; i++) {
        ret = -EINVAL;
        if (snap_file_section(f, SNAP_SEC_ARCH_VCPU, i, &r))
            ret = arch_snapshot_load_vcpu(&vm->vcpus[i], &r);
        if (ret < 0)
            vm_log(vm, VMRUN_LOG_ERROR,
                   "snapshot: vcpu%u: state missing or refused", i);
    }
    if (ret == 0) {
        ret = -EINVAL;
        if (snap_file_section(f, SNAP_SEC_ARCH_VM, 0, &r))
            ret = arch_snapshot_load_vm(vm, &r);
    }
    if (ret == 0)
        ret = snap_load_devices(vm, f);
    if (ret == 0)
        vm_log(vm, VMRUN_LOG_INFO,
               "snapshot: kvmclock told the guest it was stopped on %d of "
               "%u vCPUs",
               vm_kvmclock_stopped(vm, vm->nr_vcpus), vm->nr_vcpus);
    return ret;
}

static void snap_close_input(int fd)
{
    if (fd >= 0)
        close(fd);
}

static int snap_load_job(void *opaque)
{
    struct snap_restore *rs = opaque;

    return snap_load_state(rs->vm, &rs->f);
}

/* The VM from the checked config (opening the disks, taps and consoles
 * the operator gave, with the rights left), then its saved state, loaded
 * on a thread of the restore role. */
static int snap_build(struct snap_restore *rs,
                      const struct vmrun_create_opts *opts)
{
    int ret = vm_init_restore(rs->vm, rs->cfg, opts, rs->kvm_fd, rs->mem_fd);
    char ebuf[128];

    rs->kvm_fd = rs->mem_fd = -1; /* taken */
    if (ret < 0)
        snprintf(rs->err, rs->err_len, "cannot create the VM: %s",
                 vmrun_strerror(ret, ebuf, sizeof(ebuf)));
    else if ((ret = sandbox_run(rs->vm->seccomp, SANDBOX_ROLE_RESTORE,
                                &rs->vm->log, snap_load_job, rs)) < 0)
        snap_fail(rs->err, rs->err_len,
                  "%s: the saved state cannot be loaded here (see the log)",
                  rs->ro->snapshot_path);
    if (ret < 0)
        vm_fini(rs->vm);
    return ret;
}

int snapshot_restore(struct vm *vm, const struct vmrun_restore *ro,
                     const struct vmrun_create_opts *opts, char *err,
                     size_t err_len)
{
    struct snap_restore *rs = calloc(1, sizeof(*rs));
    enum vmrun_seccomp mode = opts ? opts->seccomp : VMRUN_SECCOMP_OFF;
    double t0 = snap_now_ms();
    int ret;

    if (!rs)
        return -ENOMEM;
    rs->ro = ro;
    rs->err = err;
    rs->err_len = err_len;
    rs->vm = vm;
    rs->state_fd = rs->mem_fd = rs->kvm_fd = rs->stop_fd = -1;
    if (opts) {
        rs->log = (struct logger){opts->log_fn, opts->log_opaque,
                                  opts->log_level, false};
        if (opts->stop_fd > 0)
            rs->stop_fd = opts->stop_fd;
    }
    ret = snap_open_inputs(rs);
    if (ret == 0 && opts && opts->drop_fn &&
        (ret = opts->drop_fn(opts->drop_opaque)) < 0)
        snprintf(err, err_len, "cannot give up privileges: %s", strerror(-ret));
    if (ret == 0 && (ret = sandbox_setup(mode, &rs->log)) < 0)
        snprintf(err, err_len, "seccomp: %s", strerror(-ret));
    if (ret == 0) {
        /* Here: the restore role has no getuid(). */
        log_msg(&rs->log, VMRUN_LOG_INFO,
                "snapshot: reading '%s' as uid %u, gid %u", ro->snapshot_path,
                (unsigned int)getuid(), (unsigned int)getgid());
        ret = sandbox_run(mode, SANDBOX_ROLE_RESTORE, &rs->log,
                          snap_parse_state, rs);
    }
    if (ret == 0)
        ret = snap_check_inputs(rs);
    if (ret == 0)
        ret = snap_build(rs, opts);
    if (ret == 0) {
        vm->start_paused = !ro->resume;
        vm->paused = vm->start_paused; /* vmrun_resume() may come first */
        vm_log(vm, VMRUN_LOG_INFO,
               "snapshot: restored '%s' (vmrun %s%s) in %.1f ms",
               ro->snapshot_path, rs->f.vmrun_version,
               rs->f.flags & SNAP_FLAG_DIFF ? ", Diff" : "",
               snap_now_ms() - t0);
    }
    snap_close_input(rs->state_fd);
    snap_close_input(rs->mem_fd);
    snap_close_input(rs->kvm_fd);
    snap_file_free(&rs->f);
    vmrun_config_free(rs->cfg);
    free(rs);
    return ret;
}

/* ---- merge ---- */

/* In snapshot_file.c, with no KVM: the unit tests drive it. */
int snapshot_merge(const char *full, const char *const *diffs, size_t n,
                   const char *out, int stop_fd, char *err, size_t err_len)
{
    return snap_merge(full, diffs, n, out, stop_fd, err, err_len);
}
