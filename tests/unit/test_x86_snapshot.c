/* test_x86_snapshot.c - the x86 vCPU part of a snapshot
 * (src/arch/x86/x86_snapshot.c) against a scripted KVM: every ioctl() of
 * that file comes here (linked with -Wl,--wrap=ioctl), no /dev/kvm.
 * Saving reads the MP state before anything it could change; restoring
 * keeps a pending NMI and the SIPI vector, and fails, naming the MSR,
 * when KVM refuses one. */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "devices/i8042.h"
#include "devices/serial8250.h"
#include "core/snapshot_file.h"
#include "vm.h"

#define VCPU_FD 1000
#define VM_FD 1001
#define KVM_FD 1002
#define MSR_REFUSED 0x4b564d01 /* MSR_KVM_SYSTEM_TIME_NEW */

static const uint32_t msr_list[] = {0x10, MSR_REFUSED, 0xc0000080};

/* The scripted KVM. */
static struct {
    unsigned long calls[64]; /* vCPU ioctls, in order */
    unsigned int nr_calls;
    uint32_t refuse_msr; /* KVM_SET_MSRS stops here; 0: none */
    struct kvm_vcpu_events set_events;
    unsigned int msrs_set;
    char log[4096];
} kvm;

int __real_ioctl(int fd, unsigned long req, void *arg);
int __wrap_ioctl(int fd, unsigned long req, ...);

static int fake_msr_list(struct kvm_msr_list *l)
{
    uint32_t n = sizeof(msr_list) / sizeof(msr_list[0]);

    if (l->nmsrs < n) {
        l->nmsrs = n;
        errno = E2BIG;
        return -1;
    }
    l->nmsrs = n;
    memcpy(l->indices, msr_list, sizeof(msr_list));
    return 0;
}

static int fake_msrs(unsigned long req, struct kvm_msrs *m)
{
    for (uint32_t i = 0; i < m->nmsrs; i++) {
        if (req == KVM_GET_MSRS) {
            m->entries[i].data = 0x1000 + m->entries[i].index;
        } else if (m->entries[i].index == kvm.refuse_msr) {
            return (int)i;
        } else {
            kvm.msrs_set++;
        }
    }
    return (int)m->nmsrs;
}

static int fake_vcpu_ioctl(unsigned long req, void *arg)
{
    if (kvm.nr_calls < 64)
        kvm.calls[kvm.nr_calls++] = req;
    switch (req) {
    case KVM_GET_TSC_KHZ:
        return 2000000;
    case KVM_GET_CPUID2: {
        struct kvm_cpuid2 *c = arg;

        c->nent = 1;
        c->entries[0] = (struct kvm_cpuid_entry2){.function = 1, .ecx = 1};
        return 0;
    }
    case KVM_GET_MP_STATE:
        ((struct kvm_mp_state *)arg)->mp_state = KVM_MP_STATE_RUNNABLE;
        return 0;
    case KVM_GET_VCPU_EVENTS: {
        struct kvm_vcpu_events *e = arg;

        /* What KVM returns: the NMI and SIPI fields filled, their VALID
         * flags not set. */
        memset(e, 0, sizeof(*e));
        e->nmi.pending = 1;
        e->sipi_vector = 0x9a;
        e->flags = KVM_VCPUEVENT_VALID_SHADOW;
        return 0;
    }
    case KVM_SET_VCPU_EVENTS:
        kvm.set_events = *(struct kvm_vcpu_events *)arg;
        return 0;
    case KVM_GET_MSRS:
    case KVM_SET_MSRS:
        return fake_msrs(req, arg);
    case KVM_GET_SREGS:
    case KVM_GET_REGS:
    case KVM_GET_XSAVE:
    case KVM_GET_XCRS:
    case KVM_GET_DEBUGREGS:
    case KVM_GET_LAPIC:
    case KVM_SET_CPUID2:
    case KVM_SET_SREGS:
    case KVM_SET_REGS:
    case KVM_SET_XSAVE:
    case KVM_SET_XCRS:
    case KVM_SET_DEBUGREGS:
    case KVM_SET_LAPIC:
    case KVM_SET_MP_STATE:
        return 0;
    }
    errno = ENOTTY;
    return -1;
}

int __wrap_ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    void *arg;

    va_start(ap, req);
    arg = va_arg(ap, void *);
    va_end(ap);
    if (fd == VCPU_FD)
        return fake_vcpu_ioctl(req, arg);
    if (fd == VM_FD && req == KVM_CHECK_EXTENSION)
        return 0; /* no KVM_CAP_XSAVE2: the 4 KiB KVM_GET_XSAVE */
    if (fd == KVM_FD && req == KVM_GET_MSR_INDEX_LIST)
        return fake_msr_list(arg);
    if (fd == VM_FD || fd == KVM_FD) {
        errno = ENOTTY;
        return -1;
    }
    return __real_ioctl(fd, req, arg);
}

/* What x86_snapshot.c needs of the rest of vmrun. */
const struct logger *vm_logger(struct vm *vm)
{
    return &vm->log;
}

int serial_save(struct serial *s, struct snap_buf *b)
{
    return 0;
}

int serial_load(struct serial *s, struct snap_rd *r)
{
    return 0;
}

int i8042_save(struct i8042 *kbd, struct snap_buf *b)
{
    return 0;
}

int i8042_load(struct i8042 *kbd, struct snap_rd *r)
{
    return 0;
}

static void keep_log(void *opaque, enum vmrun_log_level level, const char *msg)
{
    size_t n = strlen(kvm.log);

    if (level <= VMRUN_LOG_ERROR)
        snprintf(kvm.log + n, sizeof(kvm.log) - n, "%s\n", msg);
}

static struct vm vm;
static struct vcpu vcpu;

static void setup(void)
{
    memset(&kvm, 0, sizeof(kvm));
    memset(&vm, 0, sizeof(vm));
    vm.log.fn = keep_log;
    vm.log.level = VMRUN_LOG_DEBUG;
    vm.vm_fd = VM_FD;
    vm.kvm_fd = KVM_FD;
    memset(&vcpu, 0, sizeof(vcpu));
    vcpu.vm = &vm;
    vcpu.fd = VCPU_FD;
}

/* Index of the first call of (req) in the log, or -1. */
static int call_at(unsigned long req)
{
    for (unsigned int i = 0; i < kvm.nr_calls; i++)
        if (kvm.calls[i] == req)
            return (int)i;
    return -1;
}

static void save(struct snap_buf *b)
{
    memset(b, 0, sizeof(*b));
    ck_assert_int_eq(arch_snapshot_save_vcpu(&vcpu, b), 0);
    ck_assert_int_eq(b->err, 0);
}

static int load(const struct snap_buf *b)
{
    struct snap_rd r;

    sr_init(&r, b->data, b->len);
    kvm.nr_calls = 0;
    return arch_snapshot_load_vcpu(&vcpu, &r);
}

/* KVM_GET_MP_STATE acts on a pending INIT or SIPI (it resets registers,
 * LAPIC and MSRs, or sets CS:IP): read after them, it would describe
 * another vCPU than the one saved. */
START_TEST(test_mp_state_read_first)
{
    struct snap_buf b;
    int mp;

    save(&b);
    mp = call_at(KVM_GET_MP_STATE);
    ck_assert_int_ge(mp, 0);
    ck_assert_int_lt(mp, call_at(KVM_GET_SREGS));
    ck_assert_int_lt(mp, call_at(KVM_GET_REGS));
    ck_assert_int_lt(mp, call_at(KVM_GET_LAPIC));
    ck_assert_int_lt(mp, call_at(KVM_GET_MSRS));
    ck_assert_int_lt(mp, call_at(KVM_GET_VCPU_EVENTS));
    sb_free(&b);
}
END_TEST

/* The file keeps its layout (snapshots of earlier versions load), and a
 * restore sets the MP state after the MSRs, events last. */
START_TEST(test_roundtrip_order)
{
    struct snap_buf b;

    save(&b);
    ck_assert_int_eq(load(&b), 0);
    ck_assert_int_lt(call_at(KVM_SET_LAPIC), call_at(KVM_SET_MSRS));
    ck_assert_int_lt(call_at(KVM_SET_MSRS), call_at(KVM_SET_MP_STATE));
    ck_assert_int_lt(call_at(KVM_SET_MP_STATE), call_at(KVM_SET_VCPU_EVENTS));
    ck_assert_uint_eq(kvm.msrs_set, 3);
    sb_free(&b);
}
END_TEST

/* A pending NMI and the SIPI vector survive: KVM_SET_VCPU_EVENTS ignores
 * them without their VALID flags, which KVM_GET_VCPU_EVENTS never sets. */
START_TEST(test_nmi_pending_kept)
{
    struct snap_buf b;

    save(&b);
    ck_assert_int_eq(load(&b), 0);
    ck_assert_uint_eq(kvm.set_events.flags & KVM_VCPUEVENT_VALID_NMI_PENDING,
                      KVM_VCPUEVENT_VALID_NMI_PENDING);
    ck_assert_uint_eq(kvm.set_events.flags & KVM_VCPUEVENT_VALID_SIPI_VECTOR,
                      KVM_VCPUEVENT_VALID_SIPI_VECTOR);
    ck_assert_uint_eq(kvm.set_events.flags & KVM_VCPUEVENT_VALID_SHADOW,
                      KVM_VCPUEVENT_VALID_SHADOW);
    ck_assert_uint_eq(kvm.set_events.nmi.pending, 1);
    ck_assert_uint_eq(kvm.set_events.sipi_vector, 0x9a);
    sb_free(&b);
}
END_TEST

/* An MSR KVM refuses fails the restore, with an error naming it; nothing
 * after it (MP state, events) is set. */
START_TEST(test_refused_msr_fails)
{
    struct snap_buf b;

    save(&b);
    kvm.refuse_msr = MSR_REFUSED;
    ck_assert_int_eq(load(&b), -EINVAL);
    ck_assert_msg(strstr(kvm.log, "MSR 0x4b564d01") != NULL,
                  "no error naming the MSR in: %s", kvm.log);
    ck_assert_int_eq(call_at(KVM_SET_MP_STATE), -1);
    ck_assert_int_eq(call_at(KVM_SET_VCPU_EVENTS), -1);
    sb_free(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("x86_snapshot");
    TCase *tc = tcase_create("vcpu");

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_mp_state_read_first);
    tcase_add_test(tc, test_roundtrip_order);
    tcase_add_test(tc, test_nmi_pending_kept);
    tcase_add_test(tc, test_refused_msr_fails);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
