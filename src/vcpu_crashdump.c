/* vcpu_crashdump.c - writes a crashed guest's dump from its vCPU threads. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/arch.h"
#include "core/crashdump.h"
#include "core/util.h"
#include "vcpu_crashdump.h"
#include "vm.h"

#define MIB (1024.0 * 1024.0)

int vm_crashdump_setup(struct vm *vm, const struct vmrun_create_opts *opts)
{
    char *p;
    int fd;

    if (opts && opts->crash_dump_path) {
        p = strdup(opts->crash_dump_path);
        if (!p)
            return -ENOMEM;
        free(vm->cfg->crash_dump_path);
        vm->cfg->crash_dump_path = p;
    }
    p = vm->cfg->crash_dump_path;
    if (!p)
        return 0;
    fd = output_dir_open(p, &vm->crash_name);
    if (fd < 0) {
        vm_log(vm, VMRUN_LOG_ERROR,
               "crash dump: cannot open the folder of '%s': %s", p,
               strerror(-fd));
        return fd;
    }
    vm->crash_dir_fd = fd;
    vm_log(vm, VMRUN_LOG_INFO, "a guest crash or panic writes a dump to '%s'",
           p);
    return 0;
}

void vcpu_crashdump_note(struct vcpu *vcpu, const char *what)
{
    struct vm *vm = vcpu->vm;

    vcpu->crashed = true;
    pthread_mutex_lock(&vm->lock);
    if (!vm->crash_what[0])
        snprintf(vm->crash_what, sizeof(vm->crash_what), "vcpu%u: %s",
                 vcpu->index, what);
    pthread_mutex_unlock(&vm->lock);
}

/* The exit reason, once the request that ended this vCPU's loop is
 * complete: vm_request_exit() stores it between exit_state 1 and 2. */
static enum vmrun_exit_reason vm_exit_reason_wait(struct vm *vm)
{
    /* Pairs with the release store of 2 in vm_request_exit(). */
    while (atomic_load_explicit(&vm->exit_state, memory_order_acquire) != 2)
        sched_yield();
    return vm->exit_reason;
}

/* "lost (...)" for a vCPU without registers. */
static const char *regs_lost_why(int err, char *buf, size_t len)
{
    if (err == -ENODATA)
        return "lost (triple fault: KVM reset the vCPU)";
    snprintf(buf, len, "unreadable (%s)", strerror(-err));
    return buf;
}

/* The "VMRUN" note: what happened and which registers the dump has. */
static char *dump_text(struct vm *vm)
{
    size_t len = 256 + (size_t)vm->nr_vcpus * 80, n;
    char *t = malloc(len), why[64];

    if (!t)
        return NULL;
    pthread_mutex_lock(&vm->lock);
    n = (size_t)snprintf(t, len, "vmrun crash dump\nreason: %s\n",
                         vm->crash_what[0] ? vm->crash_what
                         : vm->exit_reason == VMRUN_EXIT_PANIC
                             ? "guest kernel panicked (pvpanic)"
                             : "guest crash");
    pthread_mutex_unlock(&vm->lock);
    for (unsigned int i = 0; i < vm->nr_vcpus && n < len; i++) {
        const struct vcpu *v = &vm->vcpus[i];

        n += (size_t)snprintf(
            t + n, len - n, "vcpu%u: registers: %s\n", i,
            v->dump.has_regs ? "saved"
                             : regs_lost_why(v->dump_err, why, sizeof(why)));
    }
    return t;
}

static void dump_log_lost(struct vm *vm)
{
    char why[64];

    for (unsigned int i = 0; i < vm->nr_vcpus; i++)
        if (!vm->vcpus[i].dump.has_regs)
            vm_log(vm, VMRUN_LOG_WARN,
                   "crash dump: vcpu%u: registers %s; the dump has memory "
                   "only for it",
                   i, regs_lost_why(vm->vcpus[i].dump_err, why, sizeof(why)));
}

/* The guest kernel's VMCOREINFO text: Linux keeps it at the start of a
 * page of its own (kernel/crash_core.c, vmcoreinfo_data), beginning with
 * "OSRELEASE=", lines of printable text, NUL-padded.  Only the start of
 * each page is looked at.  A copy in (buf), its length; 0: none.  The
 * guest may have put anything there: it only ever ends up in its own
 * dump. */
/* The scan reads at most one page of guest RAM from each page start. */
_Static_assert(CRASHDUMP_MAX_VMCOREINFO <= GMEM_PAGE,
               "a VMCOREINFO scan must stay inside the page it starts in");

static size_t guest_vmcoreinfo(struct vm *vm, char *buf)
{
    static const char head[] = "OSRELEASE=";

    for (unsigned int i = 0; i < vm->mem.nr; i++) {
        const struct mem_region *r = &vm->mem.r[i];

        for (uint64_t off = 0; off + GMEM_PAGE <= r->size; off += GMEM_PAGE) {
            const char *p = (const char *)r->host + off;
            size_t n = 0;

            if (memcmp(p, head, sizeof(head) - 1) != 0)
                continue;
            while (n < CRASHDUMP_MAX_VMCOREINFO && p[n] &&
                   (p[n] == '\n' || (p[n] >= 0x20 && p[n] < 0x7f)))
                n++;
            if ((n == CRASHDUMP_MAX_VMCOREINFO || !p[n]) &&
                memmem(p, n, "\nPAGESIZE=", 10)) {
                memcpy(buf, p, n);
                return n;
            }
        }
    }
    return 0;
}

static int dump_to_fd(struct vm *vm, int fd, struct crashdump_stats *st)
{
    struct crashdump_region r[GUEST_MEM_MAX_REGIONS];
    struct crashdump_cpu *cpus = calloc(vm->nr_vcpus, sizeof(*cpus));
    char *text = dump_text(vm), *info = malloc(CRASHDUMP_MAX_VMCOREINFO);
    struct crashdump d = {
        .regions = r,
        .nr_regions = vm->mem.nr,
        .cpus = cpus,
        .nr_cpus = vm->nr_vcpus,
        .text = text,
    };
    int ret = -ENOMEM;

    for (unsigned int i = 0; i < vm->mem.nr; i++)
        r[i] = (struct crashdump_region){vm->mem.r[i].gpa, vm->mem.r[i].size,
                                         vm->mem.r[i].host};
    if (cpus && text && info) {
        for (unsigned int i = 0; i < vm->nr_vcpus; i++)
            cpus[i] = vm->vcpus[i].dump;
        d.vmcoreinfo_len = guest_vmcoreinfo(vm, info);
        d.vmcoreinfo = d.vmcoreinfo_len ? info : NULL;
        ret = crashdump_write(fd, &d, st);
    }
    free(cpus);
    free(text);
    free(info);
    return ret;
}

/* Runs on the last vCPU thread to stop: nothing else touches the vCPUs. */
static void vm_crashdump_write(struct vm *vm)
{
    const char *path = vm->cfg->crash_dump_path;
    struct crashdump_stats st = {0};
    unsigned int saved = 0;
    int fd, ret;

    for (unsigned int i = 0; i < vm->nr_vcpus; i++)
        saved += vm->vcpus[i].dump.has_regs;
    dump_log_lost(vm);
    fd = open_output_at(vm->crash_dir_fd, vm->crash_name,
                        O_WRONLY | O_CREAT | O_TRUNC, 0600, 0);
    if (fd < 0) {
        vm_log(vm, VMRUN_LOG_ERROR, "crash dump: cannot create '%s': %s", path,
               open_output_strerror(fd));
        return;
    }
    ret = dump_to_fd(vm, fd, &st);
    if (close(fd) < 0 && ret == 0)
        ret = -errno;
    if (ret < 0) {
        vm_log(vm, VMRUN_LOG_ERROR, "crash dump: cannot write '%s': %s", path,
               strerror(-ret));
        return;
    }
    vm_log(vm, VMRUN_LOG_WARN,
           "crash dump written to '%s': %.1f MiB of guest RAM stored in a "
           "sparse %.1f MiB file, registers of %u of %u vCPUs",
           path, (double)st.data_bytes / MIB, (double)st.file_size / MIB, saved,
           vm->nr_vcpus);
}

void vcpu_crashdump_stop(struct vcpu *vcpu)
{
    struct vm *vm = vcpu->vm;
    enum vmrun_exit_reason reason;
    int ret;

    if (!vm->cfg->crash_dump_path)
        return;
    reason = vm_exit_reason_wait(vm);
    if (reason != VMRUN_EXIT_CRASH && reason != VMRUN_EXIT_PANIC)
        return;
    vcpu->dump.index = vcpu->index;
    ret = arch_vcpu_crash_regs(vcpu, vcpu->dump.gregs);
    /* Reset values are the state of a vCPU that never started; in the one
     * that crashed they replaced the state that faulted. */
    if (ret == 1 && vcpu->crashed)
        ret = -ENODATA;
    vcpu->dump.has_regs = ret >= 0;
    vcpu->dump_err = ret < 0 ? ret : 0;
    /* Sequentially consistent: the registers above are visible to the
     * thread whose increment is the last. */
    if (atomic_fetch_add(&vm->crash_stopped, 1) + 1 == vm->nr_vcpus)
        vm_crashdump_write(vm);
}
