/* net.c - the virtio-net device model: receive and transmit on a tap. */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/random.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/backend/tap.h"
#include "core/metrics.h"
#include "devices/virtio/mmio.h"
#include "devices/virtio/net.h"
#include "core/snapshot_file.h"
#include "core/dev_env.h"

#define RXQ 0
#define TXQ 1
#define HDR VIRTIO_NET_HDR_LEN
#define HDR_NUM_BUFFERS 10 /* le16 at this offset of the header */
#define RX_IOV_MAX 1024    /* UIO_MAXIOV, the bounce buffer included */
#define CHAIN_IOV 64       /* segments per chain (Linux: <= 19) */
#define RX_BUDGET 64       /* frames per event-loop turn */
#define TX_BUDGET 256      /* chains per event-loop turn */
#define BOUNCE_LEN (HDR + VIRTIO_NET_FRAME_MAX + 64)
#define ETH_VLAN_HLEN 18

/* A receive chain the device holds until a frame fills it. */
struct rx_chain {
    uint16_t head;
    uint16_t first, niov; /* its segments in rx_iov */
    uint32_t cap;         /* writable bytes */
    uint16_t avail;       /* the queue's last_avail before it was popped */
};

struct virtio_net {
    const struct dev_env *env;
    struct virtio_mmio *t;
    int fd;
    bool is_tap;
    char what[64]; /* "network-interfaces 'eth0'" for messages */
    uint8_t config[VIRTIO_NET_CFG_SIZE]; /* immutable */
    uint64_t offered;

    pthread_mutex_t lock; /* below; taken after the transport's */
    bool active;          /* between activate and reset */
    bool mrg;             /* MRG_RXBUF negotiated */
    bool guest_csum;
    uint64_t features;
    uint32_t rx_max; /* header + largest frame the guest may get */
    bool tap_watched, tap_dead;
    struct event_source tap_src;
    struct event_source tx_timer; /* timerfd: the next transmit pass */
    long tx_coalesce_ns;
    struct virtio_net_stats st;
    struct log_ratelimit rl;

    /* Held receive chains, in ring order; their segments are contiguous
     * at the front of rx_iov, the bounce buffer right after them. */
    struct rx_chain rx[VIRTIO_NET_QUEUE_SIZE];
    unsigned int nr_rx, rx_niov;
    bool rx_gap; /* a chain was returned unused while others were held */
    uint32_t rx_cap;
    struct iovec rx_iov[RX_IOV_MAX];
    struct iovec tx_iov[CHAIN_IOV + 1];
    uint8_t *bounce;
};

static struct virtq *net_vq(struct virtio_net *net, uint16_t q)
{
    return virtio_mmio_queue(net->t, q);
}

static bool net_has(const struct virtio_net *net, unsigned int bit)
{
    return net->features & VIRTIO_BIT(bit);
}

static void net_irq(struct virtio_net *net, uint16_t q)
{
    if (virtq_should_notify(net_vq(net, q)))
        virtio_mmio_signal_used_coalesced(net->t);
}

/* Copies (len) bytes from (src) into the iovecs at offset (skip). */
static void iov_put(const struct iovec *iov, unsigned int n, size_t skip,
                    const void *src, size_t len)
{
    for (unsigned int i = 0; i < n && len; i++) {
        size_t l = iov[i].iov_len;

        if (skip >= l) {
            skip -= l;
            continue;
        }
        l = l - skip < len ? l - skip : len;
        memcpy((uint8_t *)iov[i].iov_base + skip, src, l);
        src = (const uint8_t *)src + l;
        len -= l;
        skip = 0;
    }
}

/* ---- receive ---- */

static void net_tap_watch(struct virtio_net *net, bool on)
{
    struct event_loop *loop = net->env->loop;

    if (on && !net->tap_watched && !net->tap_dead) {
        if (event_loop_add(loop, &net->tap_src, EPOLLIN) == 0)
            net->tap_watched = true;
    } else if (!on && net->tap_watched) {
        /* Unwatch rather than watch for no events: a hang-up would still
         * be reported and spin the loop. */
        event_loop_del(loop, &net->tap_src);
        net->tap_watched = false;
    }
}

/* True when the held chains can take the next frame: one chain without
 * MRG_RXBUF; with it, room for rx_max, or as much as the guest can ever
 * give (all its descriptors held, or our iovec array full). */
static bool net_rx_enough(struct virtio_net *net)
{
    uint16_t size = net_vq(net, RXQ)->size;

    if (!net->nr_rx)
        return false;
    return !net->mrg || net->rx_cap >= net->rx_max || net->nr_rx >= size ||
           net->rx_niov >= size || net->rx_niov + CHAIN_IOV > RX_IOV_MAX - 1;
}

/* Takes one more chain from the ring: 1, 0 if empty, -EPROTO. */
static int net_rx_pop(struct virtio_net *net)
{
    struct virtq *vq = net_vq(net, RXQ);
    struct rx_chain *c = &net->rx[net->nr_rx];
    struct virtq_elem e;
    uint16_t avail = vq->last_avail;
    int ret = virtq_pop(vq, &e, net->rx_iov + net->rx_niov, CHAIN_IOV);

    if (ret <= 0 && ret != -E2BIG)
        return ret;
    /* Receive buffers are device-writable only (§5.1.6.3): a chain with
     * readable parts or too many segments is returned unused. */
    if (ret == -E2BIG || e.nr_rd || !e.wr_len) {
        virtq_push(vq, e.head, 0);
        net->rx_gap |= net->nr_rx != 0;
        return 1;
    }
    *c = (struct rx_chain){e.head, net->rx_niov, e.nr_wr, e.wr_len, avail};
    net->nr_rx++;
    net->rx_niov += e.nr_wr;
    net->rx_cap += e.wr_len;
    return 1;
}

/* Holds chains until net_rx_enough().  False when the guest has not given
 * enough: notifications are then on, so its next buffers kick us. */
static bool net_rx_gather(struct virtio_net *net)
{
    struct virtq *vq = net_vq(net, RXQ);
    unsigned int held, unusable = 0;
    int ret;

    while (!net_rx_enough(net)) {
        held = net->nr_rx;
        ret = net_rx_pop(net);
        if (ret < 0) {
            virtio_mmio_set_needs_reset(net->t);
            return false;
        }
        if (ret == 0 && !virtq_enable_notify(vq))
            return false;
        /* Unusable chains are returned at once, so a guest reposting them
         * would keep this loop going: RX_BUDGET a call, then yield. */
        if (ret > 0 && net->nr_rx == held && ++unusable == RX_BUDGET) {
            net->st.rx_yields++;
            virtio_mmio_notify_again(net->t, RXQ);
            return false;
        }
    }
    virtq_disable_notify(vq); /* enough held: no kicks needed */
    return true;
}

/* Forgets the first (k) held chains (returned to the guest). */
static void net_rx_consume(struct virtio_net *net, unsigned int k)
{
    unsigned int skip = k < net->nr_rx ? net->rx[k].first : net->rx_niov;

    for (unsigned int i = 0; i < k; i++)
        net->rx_cap -= net->rx[i].cap;
    memmove(net->rx, net->rx + k, (net->nr_rx - k) * sizeof(net->rx[0]));
    net->nr_rx -= k;
    if (!net->nr_rx)
        net->rx_gap = false;
    memmove(net->rx_iov, net->rx_iov + skip,
            (net->rx_niov - skip) * sizeof(net->rx_iov[0]));
    net->rx_niov -= skip;
    for (unsigned int i = 0; i < net->nr_rx; i++)
        net->rx[i].first -= skip;
}

/* Hands a frame of (len) bytes, header included, now in the held chains
 * to the guest: as many chains as it fills (§5.1.6.4). */
static void net_rx_deliver(struct virtio_net *net, uint32_t len)
{
    struct virtq *vq = net_vq(net, RXQ);
    uint32_t left = len;
    uint16_t k = 0, nb;
    uint8_t zero = 0;

    while (k < net->nr_rx && (left || k == 0)) {
        left -= left < net->rx[k].cap ? left : net->rx[k].cap;
        k++;
    }
    nb = htole16(k);
    iov_put(net->rx_iov, net->rx_niov, HDR_NUM_BUFFERS, &nb, 2);
    if (!net->guest_csum) /* no DATA_VALID/NEEDS_CSUM unless negotiated */
        iov_put(net->rx_iov, net->rx_niov, 0, &zero, 1);
    left = len;
    for (uint16_t i = 0; i < k; i++) {
        uint32_t used = left < net->rx[i].cap ? left : net->rx[i].cap;

        virtq_fill(vq, net->rx[i].head, used);
        left -= used;
    }
    /* All k at once: a driver that saw the first chain before the rest
     * would read num_buffers, find buffers missing and drop the frame,
     * then take the rest for frames of their own, parsing a header out of
     * the middle of this one (§5.1.6.4: the device uses them together). */
    virtq_publish(vq);
    net_rx_consume(net, k);
    net->st.rx_packets++;
    net->st.rx_bytes += len - HDR;
}

/* Reads one frame.  False when the tap is empty or failed. */
static bool net_rx_frame(struct virtio_net *net)
{
    uint32_t cap = net->mrg ? net->rx_cap : net->rx[0].cap;
    unsigned int niov = net->mrg ? net->rx_niov : net->rx[0].niov;
    struct iovec saved = net->rx_iov[niov];
    ssize_t n;

    /* Without MRG_RXBUF only chain 0 is used, and it starts at rx_iov[0]:
     * the bounce buffer goes right after its segments. */
    net->rx_iov[niov] = (struct iovec){net->bounce, BOUNCE_LEN};
    do
        n = readv(net->fd, net->rx_iov, niov + 1);
    while (n < 0 && errno == EINTR);
    net->rx_iov[niov] = saved;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return false;
    if (n <= 0) {
        dev_log(net->env, VMRUN_LOG_ERROR, "%s: tap read failed: %s", net->what,
                n ? strerror(errno) : "end of file");
        net_tap_watch(net, false);
        net->tap_dead = true;
        return false;
    }
    if ((size_t)n < HDR || (size_t)n > cap)
        net->st.rx_dropped++; /* the chains stay held for the next */
    else
        net_rx_deliver(net, (uint32_t)n);
    return true;
}

static void net_rx(struct virtio_net *net)
{
    for (unsigned int i = 0; i < RX_BUDGET && !net->tap_dead; i++) {
        if (!net_rx_gather(net)) {
            net_tap_watch(net, false); /* until the next receiveq kick */
            break;
        }
        net_tap_watch(net, true);
        if (!net_rx_frame(net))
            break;
    }
    /* Out of budget: the tap is level-triggered and brings us back. */
    net_irq(net, RXQ);
}

static void net_tap_event(void *opaque, uint32_t events)
{
    struct virtio_net *net = opaque;

    (void)events;
    pthread_mutex_lock(&net->lock);
    if (net->active)
        net_rx(net);
    else
        net_tap_watch(net, false);
    pthread_mutex_unlock(&net->lock);
}

/* ---- transmit ---- */

/* The guest's header, checked against what it negotiated (§5.1.6.2): no
 * checksum or GSO request the device did not offer reaches the tap. */
static bool net_tx_hdr_ok(const struct virtio_net *net, const uint8_t *h)
{
    uint8_t gso = h[1] & ~VIRTIO_NET_HDR_GSO_ECN;

    if ((h[0] & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
        !net_has(net, VIRTIO_NET_F_CSUM))
        return false;
    if ((h[1] & VIRTIO_NET_HDR_GSO_ECN) && !net_has(net, VIRTIO_NET_F_HOST_ECN))
        return false;
    switch (gso) {
    case VIRTIO_NET_HDR_GSO_NONE:
        return !(h[1] & VIRTIO_NET_HDR_GSO_ECN);
    case VIRTIO_NET_HDR_GSO_TCPV4:
        return net_has(net, VIRTIO_NET_F_HOST_TSO4);
    case VIRTIO_NET_HDR_GSO_TCPV6:
        return net_has(net, VIRTIO_NET_F_HOST_TSO6);
    }
    return false; /* UDP (UFO) is not offered */
}

/* Sends one chain: a copy of its header (the guest cannot change what we
 * checked), then its frame, straight from guest memory. */
static void net_tx_chain(struct virtio_net *net, const struct virtq_elem *e,
                         struct iovec *iov)
{
    uint8_t hdr[HDR];
    unsigned int n = 1;
    size_t skip = HDR, got = 0;
    ssize_t w;

    if (e->nr_wr || e->rd_len < HDR || e->rd_len > HDR + VIRTIO_NET_FRAME_MAX) {
        net->st.tx_errors++;
        return;
    }
    /* iov[0] is spare: the chain's segments start at iov[1]. */
    for (unsigned int i = 1; i <= e->nr_rd; i++) {
        size_t l = iov[i].iov_len, c = skip < l ? skip : l;

        memcpy(hdr + got, iov[i].iov_base, c); /* skip == HDR - got */
        got += c;
        skip -= c;
        if (c < l)
            iov[n++] = (struct iovec){(uint8_t *)iov[i].iov_base + c, l - c};
    }
    if (!net_tx_hdr_ok(net, hdr)) {
        net->st.tx_errors++;
        return;
    }
    iov[0] = (struct iovec){hdr, HDR};
    do
        w = writev(net->fd, iov, n);
    while (w < 0 && errno == EINTR);
    if (w < 0) {
        net->st.tx_dropped++;
        return;
    }
    net->st.tx_packets++;
    net->st.tx_bytes += e->rd_len - HDR;
}

/* Comes back to the transmit queue in (ns) nanoseconds (> 0). */
static void net_tx_later(struct virtio_net *net, long ns)
{
    struct itimerspec t = {.it_value = {ns / 1000000000L, ns % 1000000000L}};

    /* Cannot fail on a valid timerfd and time. */
    (void)timerfd_settime(net->tx_timer.fd, 0, &t, NULL);
}

/* Sends every chain, at most TX_BUDGET per call so that one busy device
 * cannot starve the others on the loop; the rest resumes on its turn.
 *
 * A pass that sent something leaves the guest's notifications off and
 * comes back after tx_coalesce_ns: meanwhile the guest queues frames
 * without a kick each (an exit, and on the host an eventfd wake-up), and
 * frames in flight let its TCP coalesce writes into larger segments
 * (autocorking).  The first frame after a quiet spell still goes at once,
 * and a pass that finds nothing turns notifications back on; so a frame
 * waits at most tx_coalesce_ns, and only when it follows another within
 * that window.  tx_coalesce_ns 0: notifications on after every pass. */
static void net_tx(struct virtio_net *net)
{
    struct virtq *vq = net_vq(net, TXQ);
    unsigned int budget = TX_BUDGET;
    struct virtq_elem e;
    int ret;

    do {
        virtq_disable_notify(vq);
        while ((ret = virtq_pop(vq, &e, net->tx_iov + 1, CHAIN_IOV)) != 0) {
            if (ret == -EPROTO) {
                virtio_mmio_set_needs_reset(net->t);
                goto out;
            }
            if (ret == -E2BIG)
                net->st.tx_errors++;
            else
                net_tx_chain(net, &e, net->tx_iov);
            virtq_push(vq, e.head, 0);
            if (--budget == 0) {
                net_tx_later(net, 1); /* the next loop turn */
                goto out;
            }
        }
        if (budget < TX_BUDGET && net->tx_coalesce_ns) {
            net_tx_later(net, net->tx_coalesce_ns);
            goto out;
        }
    } while (virtq_enable_notify(vq));
out:
    net_irq(net, TXQ);
}

/* ---- transport ops ---- */

static void net_queue_notify(void *dev, uint16_t q)
{
    struct virtio_net *net = dev;

    pthread_mutex_lock(&net->lock);
    if (net->active && q == TXQ)
        net_tx(net);
    else if (net->active && q == RXQ)
        net_rx(net);
    pthread_mutex_unlock(&net->lock);
}

static void net_tx_timer(void *opaque, uint32_t events)
{
    struct virtio_net *net = opaque;
    uint64_t n;

    (void)events;
    if (read(net->tx_timer.fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        return;
    net_queue_notify(net, TXQ);
}

static uint64_t net_features(void *dev)
{
    const struct virtio_net *net = dev;

    return net->offered;
}

static void net_config_read(void *dev, uint32_t off, uint8_t *data,
                            uint32_t size)
{
    const struct virtio_net *net = dev;

    memcpy(data, net->config + off, size); /* bounds: the transport */
}

static bool net_guest_gso(uint64_t f)
{
    return f & (VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
                VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |
                VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO));
}

/* The largest frame the tap may give the guest (§5.1.6.3.1). */
static uint32_t net_rx_max(const struct virtio_net *net, uint64_t f)
{
    uint16_t mtu;

    if (net_guest_gso(f))
        return HDR + VIRTIO_NET_FRAME_MAX;
    memcpy(&mtu, net->config + VIRTIO_NET_CFG_MTU, 2);
    mtu = le16toh(mtu);
    return HDR + ETH_VLAN_HLEN + (mtu > 1500 ? mtu : 1500);
}

static int net_activate(void *dev, uint64_t f)
{
    struct virtio_net *net = dev;
    struct tap_offload off = {.csum = f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM),
                              .tso4 = f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4),
                              .tso6 = f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6),
                              .tso_ecn =
                                  f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN)};
    int ret = net->is_tap ? tap_set_offload(net->fd, &off) : 0;

    if (ret < 0) {
        dev_log(net->env, VMRUN_LOG_ERROR, "%s: TUNSETOFFLOAD: %s", net->what,
                strerror(-ret));
        return ret; /* the transport sets DEVICE_NEEDS_RESET */
    }
    pthread_mutex_lock(&net->lock);
    net->features = f;
    net->mrg = f & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
    net->guest_csum = off.csum;
    net->rx_max = net_rx_max(net, f);
    net->active = true; /* the tap is watched from the first rx kick */
    pthread_mutex_unlock(&net->lock);
    return 0;
}

/* The rings are gone: forget the held chains (§2.4). */
static void net_reset(void *dev)
{
    struct virtio_net *net = dev;

    pthread_mutex_lock(&net->lock);
    net->active = false;
    net_tap_watch(net, false);
    net->nr_rx = net->rx_niov = 0;
    net->rx_gap = false;
    net->rx_cap = 0;
    net->features = 0;
    pthread_mutex_unlock(&net->lock);
}

static const struct virtio_device_ops net_ops = {
    .device_id = VIRTIO_ID_NET,
    .num_queues = 2,
    .queue_max = VIRTIO_NET_QUEUE_SIZE,
    .config_len = VIRTIO_NET_CFG_SIZE,
    .features = net_features,
    .config_read = net_config_read,
    .config_write = NULL,
    .activate = net_activate,
    .queue_notify = net_queue_notify,
    .reset = net_reset,
};

/* ---- lifecycle ---- */

static int net_config_init(struct virtio_net *net, const struct net_config *c)
{
    uint8_t *mac = net->config + VIRTIO_NET_CFG_MAC;
    uint16_t status = htole16(VIRTIO_NET_S_LINK_UP), pairs = htole16(1);
    uint16_t mtu = htole16(c->mtu);

    if (c->has_mac) {
        memcpy(mac, c->guest_mac, 6);
    } else {
        if (getrandom(mac, 6, 0) != 6)
            return -EIO;
        mac[0] = (mac[0] & ~1) | 2; /* unicast, locally administered */
    }
    memcpy(net->config + VIRTIO_NET_CFG_STATUS, &status, 2);
    memcpy(net->config + VIRTIO_NET_CFG_MAX_VQ_PAIRS, &pairs, 2);
    memcpy(net->config + VIRTIO_NET_CFG_MTU, &mtu, 2);
    net->offered =
        VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
        VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
        VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
        VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN) |
        VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
        VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
        VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |
        VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN) |
        (c->mtu ? VIRTIO_BIT(VIRTIO_NET_F_MTU) : 0);
    return 0;
}

static int net_init(struct virtio_net *net, const struct net_config *c)
{
    int fd, ret = net_config_init(net, c);

    if (ret < 0)
        return ret;
    net->bounce = malloc(BOUNCE_LEN);
    if (!net->bounce)
        return -ENOMEM;
    net->tx_coalesce_ns = c->tx_coalesce_us * 1000L;
    fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (fd < 0)
        return -errno;
    net->tx_timer = (struct event_source){fd, net_tx_timer, net};
    ret = event_loop_add(net->env->loop, &net->tx_timer, EPOLLIN);
    if (ret < 0) {
        close(fd);
        net->tx_timer.fd = -1;
        return ret;
    }
    net->tap_src = (struct event_source){net->fd, net_tap_event, net};
    return 0;
}

int virtio_net_create_fd(const struct dev_env *env,
                         const struct net_config *cfg, int fd, bool is_tap,
                         gpa_t base, uint32_t irq, struct virtio_net **out)
{
    struct virtio_net *net = calloc(1, sizeof(*net));
    int ret;

    if (!net) {
        close(fd);
        return -ENOMEM;
    }
    net->env = env;
    net->fd = fd;
    net->is_tap = is_tap;
    net->tx_timer.fd = -1;
    snprintf(net->what, sizeof(net->what), "network-interfaces '%s'",
             cfg->iface_id ? cfg->iface_id : "");
    pthread_mutex_init(&net->lock, NULL);
    ret = net_init(net, cfg);
    if (ret == 0)
        ret = virtio_mmio_create(env, base, irq, &net_ops, net, &net->t);
    if (ret < 0) {
        virtio_net_destroy(net);
        return ret;
    }
    *out = net;
    return 0;
}

int virtio_net_create(const struct dev_env *env, const struct net_config *cfg,
                      gpa_t base, uint32_t irq, struct virtio_net **out)
{
    char what[64];
    int fd, ret;

    snprintf(what, sizeof(what), "network-interfaces '%s'",
             cfg->iface_id ? cfg->iface_id : "");
    ret = tap_open(cfg->host_dev_name, what, env->log, &fd);
    if (ret < 0)
        return ret;
    return virtio_net_create_fd(env, cfg, fd, true, base, irq, out);
}

void virtio_net_get_stats(struct virtio_net *net, struct virtio_net_stats *st)
{
    pthread_mutex_lock(&net->lock);
    *st = net->st;
    pthread_mutex_unlock(&net->lock);
}

void virtio_net_get_mac(const struct virtio_net *net, uint8_t mac[6])
{
    memcpy(mac, net->config + VIRTIO_NET_CFG_MAC, 6);
}

void virtio_net_destroy(struct virtio_net *net)
{
    if (!net)
        return;
    net_tap_watch(net, false); /* the loop has stopped: safe here */
    if (net->tx_timer.fd >= 0) {
        event_loop_del(net->env->loop, &net->tx_timer);
        close(net->tx_timer.fd);
    }
    virtio_mmio_destroy(net->t);
    close(net->fd);
    pthread_mutex_destroy(&net->lock);
    free(net->bounce);
    free(net);
}

/* ---- snapshots ---- */

/* The held chains are the last ones popped (net_rx_pop() records where
 * each came from): moving last_avail back to the first of them returns
 * them to the ring unused, which is also right if this VM resumes.  With
 * a chain returned in between (only a driver that posts unusable buffers
 * does that) they stay held and a restored guest loses them. */
static int net_ops_save(void *dev, struct snap_buf *b)
{
    struct virtio_net *net = dev;

    pthread_mutex_lock(&net->lock);
    if (net->nr_rx && !net->rx_gap) {
        net_vq(net, RXQ)->last_avail = net->rx[0].avail;
        net->nr_rx = net->rx_niov = 0;
        net->rx_cap = 0;
    } else if (net->nr_rx) {
        dev_log(net->env, VMRUN_LOG_WARN,
                "%s: %u receive buffers are not in the snapshot", net->what,
                net->nr_rx);
    }
    pthread_mutex_unlock(&net->lock);
    return virtio_mmio_save(net->t, b);
}

static int net_ops_load(void *dev, struct snap_rd *r)
{
    struct virtio_net *net = dev;

    return virtio_mmio_load(net->t, r);
}

/* ---- the VM's view: device_ops ---- */

static void net_ops_metrics(void *dev, const char *id,
                            struct metrics_devices *out)
{
    struct metrics_net *n = metrics_add_net(out, id);
    struct virtio_net_stats st;

    if (!n)
        return;
    virtio_net_get_stats(dev, &st);
    n->rx_bytes = st.rx_bytes;
    n->rx_packets = st.rx_packets;
    n->rx_dropped = st.rx_dropped;
    n->tx_bytes = st.tx_bytes;
    n->tx_packets = st.tx_packets;
    n->tx_dropped = st.tx_dropped;
    n->tx_errors = st.tx_errors;
}

static void net_ops_destroy(void *dev)
{
    virtio_net_destroy(dev);
}

const struct device_ops virtio_net_device_ops = {
    .name = "virtio-net",
    .save = net_ops_save,
    .load = net_ops_load,
    .metrics = net_ops_metrics,
    .destroy = net_ops_destroy,
};
