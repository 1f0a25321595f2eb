/* fuzz_virtq.c - libFuzzer harness for the split virtqueue walker
 * (devices/virtio/queue.c).  The input is a queue setup (size, ring
 * addresses, negotiated features, iovec room), a short script of device
 * actions and the contents of guest RAM: the rings and every descriptor a
 * hostile driver could write.
 *
 * Checked beyond the sanitizers: every popped segment lies inside guest RAM
 * and is non-empty, no writable one covers the descriptor table or the
 * driver area, the totals and counts match the segments and the iovec
 * room, heads are below the queue size, and a broken queue stays broken
 * until reset, and the disable/pop/enable_notify loop of queue.h ends when
 * the driver does nothing. */
#include <errno.h>
#include <string.h>

#include "fuzz_common.h"
#include "devices/virtio/queue.h"

#define RAM_BASE 0x10000ULL
#define RAM_SIZE 0x10000ULL
#define NOPS 15
#define MAX_IOV 64
#define PENDING_MAX 64

struct vq_state {
    struct fake_env *vm;
    struct virtq vq;
    struct virtq saved; /* size and addresses, for a re-enable */
    unsigned int max_iov;
    bool broken;
    uint16_t pending[PENDING_MAX];
    uint32_t pending_len[PENDING_MAX];
    unsigned int npending;
};

static bool host_overlap(const uint8_t *a, size_t alen, const uint8_t *b,
                         size_t blen)
{
    return a < b + blen && b < a + alen;
}

static void check_elem(struct vq_state *s, const struct virtq_elem *e,
                       const struct iovec *iov)
{
    uint64_t rd = 0, wr = 0;
    const uint8_t *ram = s->vm->ram;

    FUZZ_CHECK(e->head < s->vq.size);
    FUZZ_CHECK(e->nr_rd + e->nr_wr <= s->max_iov);
    for (unsigned int i = 0; i < e->nr_rd + e->nr_wr; i++) {
        const uint8_t *p = iov[i].iov_base;

        FUZZ_CHECK(iov[i].iov_len > 0);
        FUZZ_CHECK(p >= ram && iov[i].iov_len <= RAM_SIZE &&
                   (size_t)(p - ram) <= RAM_SIZE - iov[i].iov_len);
        if (i < e->nr_rd) {
            rd += iov[i].iov_len;
            continue;
        }
        wr += iov[i].iov_len;
        FUZZ_CHECK(!host_overlap(p, iov[i].iov_len,
                                 ram + (s->vq.desc_gpa - RAM_BASE),
                                 16ULL * s->vq.size));
        FUZZ_CHECK(!host_overlap(p, iov[i].iov_len,
                                 ram + (s->vq.avail_gpa - RAM_BASE),
                                 6 + 2ULL * s->vq.size));
    }
    FUZZ_CHECK(rd == e->rd_len && wr == e->wr_len);
}

static void vq_push_oldest(struct vq_state *s)
{
    if (!s->npending)
        return;
    virtq_push(&s->vq, s->pending[0], s->pending_len[0]);
    s->npending--;
    memmove(s->pending, s->pending + 1, s->npending * sizeof(s->pending[0]));
    memmove(s->pending_len, s->pending_len + 1,
            s->npending * sizeof(s->pending_len[0]));
}

/* One pop; returns its result after checking it. */
static int vq_pop_one(struct vq_state *s)
{
    struct iovec iov[MAX_IOV];
    struct virtq_elem e;
    int ret;

    if (s->npending == PENDING_MAX)
        vq_push_oldest(s);
    ret = virtq_pop(&s->vq, &e, iov, s->max_iov);
    FUZZ_CHECK(!s->broken || ret == -EPROTO);
    FUZZ_CHECK(ret == 0 || ret == 1 || ret == -EPROTO || ret == -E2BIG);
    if (ret == -EPROTO)
        s->broken = true;
    if (ret == 1)
        check_elem(s, &e, iov);
    if (ret == -E2BIG)
        FUZZ_CHECK(e.head < s->vq.size);
    if (ret == 1 || ret == -E2BIG) {
        s->pending[s->npending] = e.head;
        s->pending_len[s->npending++] = ret == 1 ? e.wr_len : 0;
    }
    return ret;
}

/* Pops until the ring is empty or broken.  A ring holds at most (size)
 * chains, but the used ring may overlap the avail index, so the device's
 * own pushes can publish more; a 16-bit index still bounds that. */
static void vq_pop_all(struct vq_state *s)
{
    for (unsigned int i = 0;; i++) {
        int ret;

        FUZZ_CHECK(i <= 0x10000U + s->vq.size);
        ret = vq_pop_one(s);
        if (ret != 1 && ret != -E2BIG)
            return;
    }
}

/* The device loop queue.h prescribes.  With no guest action it must end:
 * enable_notify() may only report buffers a pop then finds. */
static void vq_device_loop(struct vq_state *s)
{
    unsigned int i = 0;

    do {
        FUZZ_CHECK(i++ <= 0x10000U + s->vq.size);
        virtq_disable_notify(&s->vq);
        vq_pop_all(s);
    } while (virtq_enable_notify(&s->vq));
}

static void vq_bump_avail(struct vq_state *s, uint8_t n)
{
    uint16_t idx;

    memcpy(&idx, s->vm->ram + (s->vq.avail_gpa - RAM_BASE) + 2, 2);
    idx = (uint16_t)(idx + n);
    memcpy(s->vm->ram + (s->vq.avail_gpa - RAM_BASE) + 2, &idx, 2);
}

static void vq_op(struct vq_state *s, uint8_t op)
{
    uint8_t arg = op >> 3;

    switch (op & 7) {
    case 0:
        for (unsigned int i = 0; i <= arg; i++)
            if (vq_pop_one(s) <= 0)
                break;
        break;
    case 1:
        for (unsigned int i = 0; i <= arg; i++)
            vq_push_oldest(s);
        break;
    case 2:
        (void)virtq_should_notify(&s->vq);
        break;
    case 3:
        virtq_disable_notify(&s->vq);
        break;
    case 4:
        vq_device_loop(s);
        break;
    case 5:
        vq_bump_avail(s, arg);
        break;
    case 6: /* driver reset: in-flight heads are forgotten */
        virtq_reset(&s->vq);
        s->vq = s->saved;
        FUZZ_CHECK(virtq_enable(&s->vq, &s->vm->env) == 0);
        s->broken = false;
        s->npending = 0;
        break;
    default:
        vq_pop_all(s);
    }
}

static void vq_run(struct vq_state *s, struct fz *f)
{
    uint8_t flags = fz_u8(f), ops[NOPS];
    struct fuzz_queue q;
    const uint8_t *img;
    size_t n;

    s->max_iov = 1 + fz_u8(f) % MAX_IOV;
    fuzz_queue_from_input(f, &q, RAM_BASE, RAM_SIZE, VIRTQ_SIZE_MAX);
    for (int i = 0; i < NOPS; i++)
        ops[i] = fz_u8(f);
    n = fz_take(f, RAM_SIZE, &img);
    memcpy(s->vm->ram, img, n);
    s->vq = (struct virtq){.size = q.size,
                           .desc_gpa = q.desc,
                           .avail_gpa = q.avail,
                           .used_gpa = q.used,
                           .event_idx = flags & 1,
                           .indirect = flags & 2};
    s->saved = s->vq;
    if (virtq_enable(&s->vq, &s->vm->env) < 0)
        return;
    for (int i = 0; i < NOPS; i++)
        vq_op(s, ops[i]);
    vq_pop_all(s);
    while (s->npending)
        vq_push_oldest(s);
    (void)virtq_should_notify(&s->vq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    struct vq_state s = {.vm = fake_env_create(RAM_BASE, RAM_SIZE)};

    if (!s.vm)
        return 0;
    vq_run(&s, &f);
    fake_env_destroy(s.vm);
    return 0;
}
