/* api_server.c - the HTTP transport of the API: a Unix socket served by
 * one API thread that accepts clients, checks each request head
 * (api_http.c) and hands the connection to libmicrohttpd, which parses it
 * and passes the request to api_handler.c; the VM created by
 * InstanceStart is handed to the thread that runs it.
 *
 * Slow clients (docs/api.md, "Limits"): every connection carries one
 * request (answers say "Connection: close") and must have sent it and
 * received its answer within API_REQUEST_S of its accept (the handler's
 * own time excepted), however it trickles its bytes; at API_CONN_MAX open
 * connections, the next ones are answered 503 at once. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cli/api_handler.h"
#include "cli/api_http.h"
#include "cli/api_server.h"
#include "core/log.h"
#include "sandbox.h"

#define CONFIG_TEXT_MAX (1 << 20) /* docs/config.md: a config is <= 1 MiB */
#define SANDBOX_WAIT_S 10         /* see server_poke() */
#define API_CONN_MAX 4096         /* open connections; more are answered 503 */
#define API_REQUEST_S 10          /* to send a request and read its answer */
#define ACCEPT_BATCH 64           /* clients accepted per loop turn */
#define ACCEPT_PAUSE_MS 100       /* no accept() for this long after EMFILE */
#define LOG_BURST 8               /* refusals logged before the rate limit */

/* One client connection, from accept() to close, in (s->conns) by
 * deadline. */
struct api_conn {
    struct api_conn *prev, *next;
    int fd;
    bool mhd;          /* handed to libmicrohttpd, which closes (fd) */
    uint64_t deadline; /* CLOCK_MONOTONIC ms */
    struct sockaddr_un addr;
    socklen_t addr_len;
    struct api_http_scan scan; /* the head checked so far */
};

struct api_server {
    char *path;
    int listen_fd;
    int start_fd;                  /* eventfd: InstanceStart created (vm) */
    struct vmrun_create_opts opts; /* for vmrun_create() */
    struct vmrun_create_opts log;  /* the server's own messages */
    struct MHD_Daemon *mhd;
    struct api_handler handler; /* used by the MHD thread only */
    pthread_mutex_t lock;       /* guards (vm) and (sandboxed) */
    pthread_cond_t cond;        /* (sandboxed) became true */
    struct vmrun_vm *vm;
    bool vm_taken;         /* (vm) is the caller's to stop and destroy */
    bool sandboxed;        /* the MHD thread is under its seccomp filter */
    bool preboot_filtered; /* ... under the pre-boot denylist (MHD thread) */
    /* The API thread's own (from here on: only it touches them). */
    pthread_t thread;
    bool thread_started;
    int stop_fd; /* eventfd: api_server_close() asks the thread to end */
    int poke_fd; /* server_poke()'s connection to the socket, or -1 */
    int ep;      /* epoll: the listening socket, stop_fd, the MHD epoll fd
                    and the connections whose head is still coming */
    struct api_conn conns;   /* list head: oldest deadline first */
    struct api_conn *adding; /* in MHD_add_connection() */
    unsigned int nconns, conn_max;
    uint64_t accept_paused_until; /* 0: accepting */
    struct log_ratelimit refused_rl, busy_rl;
};

/* A request body as it arrives. */
struct upload {
    char *buf;
    size_t len;
};

/* As log_msg(): one printable line, whatever a request put into (msg). */
static void server_log(struct api_server *s, enum vmrun_log_level level,
                       const char *msg)
{
    char line[1024];

    if (!s->log.log_fn || level > s->log.log_level)
        return;
    log_escape(line, sizeof(line), msg);
    s->log.log_fn(s->log.log_opaque, level, line);
}

/* ---- what the handler asks of the VM ---- */

static struct vmrun_vm *server_vm(struct api_server *s)
{
    struct vmrun_vm *vm;

    pthread_mutex_lock(&s->lock);
    vm = s->vm;
    pthread_mutex_unlock(&s->lock);
    return vm;
}

/* The API thread filters itself once the VM exists: before, it may have to
 * create it (InstanceStart opens /dev/kvm, images and taps), so until then,
 * from its first client on, it runs under the pre-boot denylist.  Runs on
 * the MHD thread; a failure (out of memory) stops the VM rather than leave
 * the thread unfiltered, and before boot refuses the connection. */
static int server_sandbox(struct api_server *s)
{
    struct logger log = {.fn = s->opts.log_fn,
                         .opaque = s->opts.log_opaque,
                         .level = s->opts.log_level};
    struct vmrun_vm *vm = server_vm(s);
    int rc;

    if (!vm && !s->preboot_filtered) {
        rc = sandbox_setup(s->opts.seccomp, &log); /* the SIGSYS report */
        if (rc == 0)
            rc = sandbox_enter(s->opts.seccomp, SANDBOX_ROLE_API_PREBOOT, -1,
                               -1, &log);
        s->preboot_filtered = rc == 0;
        return rc;
    }
    if (!vm || s->sandboxed)
        return 0;
    if (sandbox_enter(s->opts.seccomp, SANDBOX_ROLE_API, -1, -1, &log) < 0)
        vmrun_request_stop(vm);
    pthread_mutex_lock(&s->lock);
    s->sandboxed = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/* InstanceStart: the VM is created and its vCPUs started here, so it is
 * running (and a PATCH /vm can pause it) before the 204 goes out; the
 * main thread then only waits for its exit (vmrun_wait()). */
static int server_start(void *opaque, const struct vmrun_config *cfg)
{
    struct api_server *s = opaque;
    struct vmrun_vm *vm;
    uint64_t one = 1;
    int rc = vmrun_create(cfg, &s->opts, &vm);

    if (rc < 0)
        return rc;
    vmrun_set_metrics_extra(vm, api_handler_metrics, &s->handler);
    rc = vmrun_start(vm);
    if (rc < 0) {
        vmrun_destroy(vm);
        return rc;
    }
    pthread_mutex_lock(&s->lock);
    s->vm = vm;
    pthread_mutex_unlock(&s->lock);
    if (write(s->start_fd, &one, sizeof(one)) != sizeof(one))
        return -errno; /* cannot happen: the counter is far from full */
    server_log(s, VMRUN_LOG_INFO, "api: InstanceStart: VM created");
    server_sandbox(s);
    return 0;
}

static int server_pause(void *opaque)
{
    return vmrun_pause(server_vm(opaque));
}

static int server_resume(void *opaque)
{
    return vmrun_resume(server_vm(opaque));
}

static int server_is_paused(void *opaque)
{
    return vmrun_is_paused(server_vm(opaque));
}

static int server_ctrl_alt_del(void *opaque)
{
    return vmrun_send_ctrl_alt_del(server_vm(opaque));
}

static int server_snapshot_create(void *opaque, enum vmrun_snapshot_type type,
                                  const char *state_path, const char *mem_path)
{
    return vmrun_snapshot_create(server_vm(opaque), type, state_path, mem_path);
}

/* Like server_start(), with the VM built from a snapshot. */
static int server_snapshot_load(void *opaque, const struct vmrun_restore *r,
                                char *err, size_t err_len)
{
    struct api_server *s = opaque;
    struct vmrun_vm *vm;
    uint64_t one = 1;
    int rc = vmrun_restore(r, &s->opts, &vm, err, err_len);

    if (rc < 0)
        return rc;
    vmrun_set_metrics_extra(vm, api_handler_metrics, &s->handler);
    rc = vmrun_start(vm);
    if (rc < 0) {
        vmrun_destroy(vm);
        snprintf(err, err_len, "cannot start the restored VM: %s",
                 strerror(-rc));
        return rc;
    }
    pthread_mutex_lock(&s->lock);
    s->vm = vm;
    pthread_mutex_unlock(&s->lock);
    if (write(s->start_fd, &one, sizeof(one)) != sizeof(one))
        return -errno;
    server_log(s, VMRUN_LOG_INFO, "api: snapshot/load: VM restored");
    /* The API allowlist now, as after InstanceStart: the next request on
     * this connection may come without a new connection to apply it. */
    server_sandbox(s);
    return 0;
}

static int server_flush_metrics(void *opaque)
{
    return vmrun_flush_metrics(server_vm(opaque));
}

/* The server's messages follow (cfg)'s "logger" section.  Called on the
 * MHD thread (PUT /logger) or before it starts: server_log() runs on
 * those threads only. */
static int server_set_logger(void *opaque, const struct vmrun_config *cfg)
{
    struct api_server *s = opaque;
    struct vmrun_create_opts log = s->opts;
    int rc = vmrun_log_open(cfg, &log);

    if (rc < 0)
        return rc;
    vmrun_log_close(&s->log);
    s->log = log;
    return 0;
}

static void server_audit(void *opaque, enum vmrun_log_level level,
                         const char *msg)
{
    server_log(opaque, level, msg);
}

static const struct api_ops server_ops = {
    .start = server_start,
    .pause = server_pause,
    .resume = server_resume,
    .is_paused = server_is_paused,
    .ctrl_alt_del = server_ctrl_alt_del,
    .snapshot_create = server_snapshot_create,
    .snapshot_load = server_snapshot_load,
    .flush_metrics = server_flush_metrics,
    .set_logger = server_set_logger,
    .log = server_audit,
};

/* ---- connections and their deadlines ---- */

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void conn_unlink(struct api_conn *c)
{
    c->prev->next = c->next;
    c->next->prev = c->prev;
}

/* (c) gets API_REQUEST_S from now and goes last: deadlines only grow, so
 * the list stays in deadline order. */
static void conn_touch(struct api_server *s, struct api_conn *c)
{
    conn_unlink(c);
    c->deadline = now_ms() + API_REQUEST_S * 1000;
    c->prev = s->conns.prev;
    c->next = &s->conns;
    s->conns.prev->next = c;
    s->conns.prev = c;
}

static void conn_free(struct api_server *s, struct api_conn *c)
{
    conn_unlink(c);
    s->nconns--;
    free(c);
}

/* Answers a client libmicrohttpd never saw and closes it: a short JSON
 * fault, sent without blocking (it fits any socket buffer), then what the
 * client sent is read and dropped so that close() does not turn the
 * answer into a reset. */
static void answer_close(int fd, unsigned int status, const char *reason,
                         const char *extra, const char *msg)
{
    char out[512], sink[4096];
    char body[256];
    int n, m = snprintf(body, sizeof(body), "{\"fault_message\":\"%s\"}", msg);

    n = snprintf(out, sizeof(out),
                 "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\n"
                 "Content-Length: %d\r\n%sConnection: close\r\n\r\n%s",
                 status, reason, m, extra, body);
    if (n > 0 && send(fd, out, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        /* The client is gone or not reading: nothing more to do. */
    }
    for (int i = 0; i < 4; i++)
        if (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) <= 0)
            break;
    shutdown(fd, SHUT_RDWR);
    close(fd);
}

static void conn_refuse(struct api_server *s, struct api_conn *c,
                        const char *why)
{
    char msg[160];

    if (log_ratelimit_ok(&s->refused_rl, LOG_BURST)) {
        snprintf(msg, sizeof(msg), "api: request refused: %s", why);
        server_log(s, VMRUN_LOG_WARN, msg);
    }
    epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
    answer_close(c->fd, 400, "Bad Request", "", why);
    conn_free(s, c);
}

/* ---- HTTP ---- */

static enum MHD_Result reply(struct MHD_Connection *c,
                             const struct api_response *r)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (r->body)
        resp = MHD_create_response_from_buffer(strlen(r->body), r->body,
                                               MHD_RESPMEM_MUST_COPY);
    else
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    /* One request per connection: each one's head is checked before
     * libmicrohttpd reads it (conn_head()). */
    if (MHD_add_response_header(resp, "Connection", "close") == MHD_NO ||
        (r->body && MHD_add_response_header(resp, "Content-Type",
                                            "application/json") == MHD_NO)) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    ret = MHD_queue_response(c, r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Keeps at most API_BODY_MAX + 1 bytes: enough for the handler to refuse
 * a larger body by its length. */
static int upload_append(struct upload *u, const char *data, size_t len)
{
    size_t room = API_BODY_MAX + 1 - u->len, n = len < room ? len : room;
    char *buf;

    if (n == 0)
        return 0;
    buf = realloc(u->buf, u->len + n);
    if (!buf)
        return -ENOMEM;
    memcpy(buf + u->len, data, n);
    u->buf = buf;
    u->len += n;
    return 0;
}

/* libmicrohttpd calls this once with the headers, once per piece of the
 * body, and once more when the body is complete. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *data,
                                  size_t *data_len, void **con_cls)
{
    struct api_server *s = cls;
    struct upload *u = *con_cls;
    struct api_response r;
    enum MHD_Result ret;

    if (!u) {
        *con_cls = calloc(1, sizeof(*u));
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*data_len) {
        int rc = upload_append(u, data, *data_len);

        *data_len = 0;
        return rc < 0 ? MHD_NO : MHD_YES;
    }
    if (api_handler_request(&s->handler, method, url, u->buf, u->len, &r) < 0)
        return MHD_NO; /* out of memory: drop the connection */
    ret = reply(c, &r);
    free(r.body);
    /* The handler's time (InstanceStart, a snapshot) is not the
     * client's: it gets API_REQUEST_S again to read the answer. */
    {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

        if (ci && ci->socket_context)
            conn_touch(s, ci->socket_context);
    }
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
    struct upload *u = *con_cls;

    if (u)
        free(u->buf);
    free(u);
    *con_cls = NULL;
}

/* libmicrohttpd takes a connection in MHD_add_connection() (conn_head())
 * and drops it when it closes the fd. */
static void on_connection(void *cls, struct MHD_Connection *c, void **ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    struct api_server *s = cls;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        *ctx = s->adding;
        if (s->adding)
            s->adding->mhd = true;
        s->adding = NULL; /* taken */
    } else if (*ctx) {
        conn_free(s, *ctx);
        *ctx = NULL;
    }
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap)
{
    char msg[256];
    size_t n;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* Connections come through MHD_add_connection(), so libmicrohttpd
     * does not know they are Unix sockets and tries TCP options on each:
     * those failures mean nothing here. */
    if (strncmp(msg, "Setting TCP_", 12) == 0 ||
        strncmp(msg, "Failed to push the data", 23) == 0)
        return;
    n = strlen(msg);
    if (n && msg[n - 1] == '\n')
        msg[n - 1] = '\0';
    server_log(cls, VMRUN_LOG_WARN, msg);
}

/* ---- socket and lifecycle ---- */

/* The socket file is 0600 from the moment bind() creates it: the umask
 * (process-wide, so this runs before any other thread exists) does it,
 * not a later chmod() that would leave a window. */
static int socket_listen(const char *path, int *out)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    mode_t old;
    int fd, rc, err;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    old = umask(0177);
    rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    err = errno;
    umask(old);
    if (rc < 0) {
        close(fd);
        return err == EADDRINUSE ? -EEXIST : -err;
    }
    if (listen(fd, SOMAXCONN) < 0) {
        err = errno;
        unlink(path);
        close(fd);
        return -err;
    }
    *out = fd;
    return 0;
}

/* A connection to the server's own socket, made by api_server_open():
 * with --uid the socket (0600, root's) could not be reached once vmrun
 * runs as that user, and the connection waits in the backlog until the
 * API thread accepts it. */
static int poke_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

    if (fd < 0)
        return -errno;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

/* API_CONN_MAX, or half the descriptors this process may open (the other
 * half stays for the VM).  The soft limit is raised towards the hard one
 * first, as far as API_CONN_MAX needs: nothing in vmrun uses select(), so
 * descriptors above 1023 are fine.  Runs before any other thread. */
static unsigned int conn_limit(void)
{
    rlim_t want = 2 * API_CONN_MAX + 256;
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 64;
    if (rl.rlim_cur < want && rl.rlim_cur < rl.rlim_max) {
        struct rlimit up = {rl.rlim_max < want ? rl.rlim_max : want,
                            rl.rlim_max};

        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl = up;
    }
    return rl.rlim_cur / 2 < API_CONN_MAX ? (unsigned int)(rl.rlim_cur / 2)
                                          : API_CONN_MAX;
}

int api_server_open(const char *path, const struct vmrun_create_opts *opts,
                    struct api_server **out)
{
    struct api_server *s = calloc(1, sizeof(*s));
    int rc = -ENOMEM;

    if (!s)
        return -ENOMEM;
    s->listen_fd = s->start_fd = s->stop_fd = s->ep = s->poke_fd = -1;
    s->conns.prev = s->conns.next = &s->conns;
    s->conn_max = conn_limit();
    s->opts = s->log = *opts;
    /* The API thread creates its VM after the command gave up its
     * privileges (before that thread started): nothing left to drop. */
    s->opts.drop_fn = NULL;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    if (!(s->path = strdup(path)))
        goto err;
    s->start_fd = eventfd(0, EFD_CLOEXEC);
    s->stop_fd = eventfd(0, EFD_CLOEXEC);
    s->ep = epoll_create1(EPOLL_CLOEXEC);
    if (s->start_fd < 0 || s->stop_fd < 0 || s->ep < 0) {
        rc = -errno;
        goto err;
    }
    /* api_server_close() makes an InstanceStart or snapshot/load in
     * progress give up (it loads large files in pieces). */
    s->opts.stop_fd = s->stop_fd;
    rc = api_handler_init(&s->handler, &server_ops, s);
    if (rc == 0)
        rc = socket_listen(path, &s->listen_fd);
    if (rc == 0 && opts->seccomp != VMRUN_SECCOMP_OFF &&
        (s->poke_fd = poke_connect(path)) < 0)
        rc = s->poke_fd;
    if (rc < 0)
        goto err;
    *out = s;
    return 0;
err:
    api_server_close(s);
    return rc;
}

/* The config file's text, for GET /vm/config; NULL if unreadable (the VM
 * was parsed from it already, so this is only a view). */
static char *config_text(const char *path)
{
    FILE *f = path ? fopen(path, "re") : NULL;
    char *buf = f ? malloc(CONFIG_TEXT_MAX + 1) : NULL;
    size_t n = buf ? fread(buf, 1, CONFIG_TEXT_MAX, f) : 0;

    if (f)
        fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

/* ---- the API thread ---- */

/* The client's head is complete: checked, then libmicrohttpd's.  Not yet:
 * wait for more (edge-triggered: the next bytes wake the thread).  The
 * bytes stay in the socket for libmicrohttpd (MSG_PEEK), so each wake-up
 * sees the head from its start; (c->scan) skips what was checked. */
static void conn_head(struct api_server *s, struct api_conn *c)
{
    char buf[API_HEAD_MAX];
    ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
    const char *why = NULL;
    int rc;

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) { /* gone before its request */
        epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        conn_free(s, c);
        return;
    }
    rc = api_http_check_head_more(&c->scan, buf, (size_t)n, API_BODY_MAX, &why);
    if (rc < 0) {
        conn_refuse(s, c, why);
        return;
    }
    if (rc == 0)
        return;
    epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
    s->adding = c;
    if (MHD_add_connection(s->mhd, c->fd, (struct sockaddr *)&c->addr,
                           c->addr_len) != MHD_YES &&
        s->adding)
        conn_free(s, c); /* not taken; libmicrohttpd closed the fd */
    s->adding = NULL;
}

static void conn_accept(struct api_server *s)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct api_conn *c = calloc(1, sizeof(*c));
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET};
        int fd;

        if (!c)
            return;
        c->addr_len = sizeof(c->addr);
        fd = accept4(s->listen_fd, (struct sockaddr *)&c->addr, &c->addr_len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;

            free(c);
            if (err == EMFILE || err == ENFILE || err == ENOMEM ||
                err == ENOBUFS) { /* the backlog waits meanwhile */
                s->accept_paused_until = now_ms() + ACCEPT_PAUSE_MS;
                ev.events = 0;
                ev.data.ptr = &s->listen_fd;
                epoll_ctl(s->ep, EPOLL_CTL_MOD, s->listen_fd, &ev);
            }
            return;
        }
        /* The pre-boot filter goes on before a byte of the first client
         * is read; without it, no client is served. */
        if (server_sandbox(s) < 0) {
            free(c);
            close(fd);
            continue;
        }
        if (s->nconns >= s->conn_max) {
            free(c);
            if (log_ratelimit_ok(&s->busy_rl, LOG_BURST))
                server_log(s, VMRUN_LOG_WARN,
                           "api: too many connections open: answering 503");
            answer_close(fd, 503, "Service Unavailable", "Retry-After: 1\r\n",
                         "too many connections; retry later");
            continue;
        }
        c->fd = fd;
        c->prev = c->next = c;
        s->nconns++;
        conn_touch(s, c);
        ev.data.ptr = c;
        if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            conn_free(s, c);
            continue;
        }
        conn_head(s, c); /* its head may be there already */
    }
}

/* Connections past their deadline: a head still coming gets 408; one
 * libmicrohttpd holds is shut down, which it sees as the client leaving
 * and closes (its next turn). */
static void conn_expire(struct api_server *s, uint64_t now)
{
    while (s->conns.next != &s->conns && s->conns.next->deadline <= now) {
        struct api_conn *c = s->conns.next;

        if (c->mhd) {
            shutdown(c->fd, SHUT_RDWR);
            conn_touch(s, c);
            continue;
        }
        epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
        answer_close(c->fd, 408, "Request Timeout", "",
                     "request not complete in time");
        conn_free(s, c);
    }
}

/* How long the thread may sleep: until the next deadline, the end of an
 * accept pause, or when libmicrohttpd asks to run. */
static int loop_timeout(struct api_server *s, uint64_t now)
{
    uint64_t until = UINT64_MAX;
    MHD_UNSIGNED_LONG_LONG mhd_ms;

    if (s->conns.next != &s->conns)
        until = s->conns.next->deadline;
    if (s->accept_paused_until && s->accept_paused_until < until)
        until = s->accept_paused_until;
    if (MHD_get_timeout(s->mhd, &mhd_ms) == MHD_YES && now + mhd_ms < until)
        until = now + mhd_ms;
    if (until == UINT64_MAX)
        return -1;
    return until <= now ? 0 : (int)(until - now < 60000 ? until - now : 60000);
}

static void *api_thread(void *opaque)
{
    struct api_server *s = opaque;
    struct epoll_event evs[64];

    for (;;) {
        uint64_t now = now_ms();
        int n = epoll_wait(s->ep, evs, 64, loop_timeout(s, now));

        for (int i = 0; i < n; i++) {
            void *tag = evs[i].data.ptr;

            if (tag == &s->stop_fd)
                goto out;
            if (tag == &s->listen_fd)
                conn_accept(s);
            else if (tag != &s->mhd)
                conn_head(s, tag);
        }
        now = now_ms();
        if (s->accept_paused_until && s->accept_paused_until <= now) {
            struct epoll_event ev = {.events = EPOLLIN,
                                     .data.ptr = &s->listen_fd};

            s->accept_paused_until = 0;
            epoll_ctl(s->ep, EPOLL_CTL_MOD, s->listen_fd, &ev);
        }
        MHD_run(s->mhd);
        conn_expire(s, now_ms());
    }
out:
    /* Here, under this thread's filter: libmicrohttpd closes its
     * connections (on_connection() frees them), then the rest go. */
    MHD_stop_daemon(s->mhd);
    s->mhd = NULL;
    while (s->conns.next != &s->conns) {
        close(s->conns.next->fd);
        conn_free(s, s->conns.next);
    }
    return NULL;
}

static int ep_add(int ep, int fd, void *tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};

    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* libmicrohttpd without its own thread or listening socket: the API thread
 * runs it (MHD_run()) and gives it the connections whose head passed. */
static int mhd_start(struct api_server *s)
{
    unsigned int flags =
        MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info;
    int rc;

    /* The logger option first, or earlier options log to stderr. */
    s->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
        on_mhd_error, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_CONNECTION_LIMIT, s->conn_max + 1,
        /* A head is at most API_HEAD_MAX: the default 32 KiB per
         * connection would be mostly unused. */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(2 * API_HEAD_MAX),
        /* No MHD_OPTION_CONNECTION_TIMEOUT: each byte resets that idle
         * timeout.  conn_expire() cuts every connection at its deadline. */
        MHD_OPTION_END);
    if (!s->mhd)
        return -EIO;
    info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info)
        return -EIO;
    rc = ep_add(s->ep, info->epoll_fd, &s->mhd);
    if (rc == 0)
        rc = ep_add(s->ep, s->listen_fd, &s->listen_fd);
    if (rc == 0)
        rc = ep_add(s->ep, s->stop_fd, &s->stop_fd);
    return rc;
}

/* Termination signals belong to the main thread, which waits for them
 * (src/cli/main.c); the API thread inherits this mask. */
static int thread_start(struct api_server *s)
{
    sigset_t block, old;
    int rc;

    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    rc = -pthread_create(&s->thread, NULL, api_thread, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    s->thread_started = rc == 0;
    return rc;
}

/* With the VM from a config, the API thread filters itself before the
 * guest runs, not at its first client: it does so as it accepts a
 * connection (conn_accept()), so it accepts the one api_server_open()
 * made, and this waits for the filter. */
static int server_poke(struct api_server *s)
{
    struct timespec until;
    int rc = 0;

    if (s->poke_fd < 0)
        return 0;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += SANDBOX_WAIT_S;
    pthread_mutex_lock(&s->lock);
    while (!s->sandboxed && rc == 0)
        rc = -pthread_cond_timedwait(&s->cond, &s->lock, &until);
    pthread_mutex_unlock(&s->lock);
    close(s->poke_fd);
    s->poke_fd = -1;
    return rc;
}

int api_server_start(struct api_server *s, struct vmrun_vm *vm,
                     const struct vmrun_config *cfg, const char *config_path)
{
    int rc;

    if (vm) {
        char *text = config_text(config_path);
        int rc = api_handler_set_booted(&s->handler, text);

        free(text);
        if (rc == 0 && cfg)
            rc = server_set_logger(s, cfg);
        if (rc < 0)
            return rc;
        s->vm = vm; /* no other thread yet */
        s->vm_taken = true;
        vmrun_set_metrics_extra(vm, api_handler_metrics, &s->handler);
    }
    rc = mhd_start(s);
    if (rc == 0)
        rc = thread_start(s);
    if (rc < 0)
        return rc;
    /* Without a VM the thread takes the connection as a client that
     * closes at once (under the pre-boot filter, as for any client). */
    rc = vm ? server_poke(s) : 0;
    if (!vm && s->poke_fd >= 0) {
        close(s->poke_fd);
        s->poke_fd = -1;
    }
    if (rc < 0)
        return rc;
    server_log(s, VMRUN_LOG_INFO,
               vm ? "api: serving; the VM is running"
                  : "api: serving; waiting for "
                    "InstanceStart");
    return 0;
}

int api_server_wait_vm(struct api_server *s, int wake_fd, struct vmrun_vm **vm)
{
    struct pollfd fds[2] = {{.fd = s->start_fd, .events = POLLIN},
                            {.fd = wake_fd, .events = POLLIN}};

    for (;;) {
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            return -errno;
        /* A VM that InstanceStart started just as the signal came is
         * returned anyway: its vCPUs run, and the caller stops it. */
        if (fds[0].revents || fds[1].revents) {
            pthread_mutex_lock(&s->lock);
            *vm = s->vm;
            s->vm_taken = *vm != NULL;
            pthread_mutex_unlock(&s->lock);
            return *vm ? 1 : 0;
        }
    }
}

void api_server_close(struct api_server *s)
{
    if (!s)
        return;
    if (s->thread_started) {
        uint64_t one = 1;

        if (write(s->stop_fd, &one, sizeof(one)) != sizeof(one)) {
            /* cannot happen: the counter is far from full */
        }
        pthread_join(s->thread, NULL);
    }
    if (s->mhd) /* started, but its thread not */
        MHD_stop_daemon(s->mhd);
    /* A VM nobody took: InstanceStart or snapshot/load finished it after
     * api_server_wait_vm() returned for a stop signal, while
     * MHD_stop_daemon() waited for that request.  Stopped and destroyed
     * here like any VM, with its last metrics line and its disks flushed. */
    if (s->vm && !s->vm_taken) {
        server_log(s, VMRUN_LOG_INFO,
                   "api: stopping the VM started while the server closed");
        vmrun_destroy(s->vm);
        s->vm = NULL;
    }
    if (s->vm) /* it may outlive (s): no more counts from here */
        vmrun_set_metrics_extra(s->vm, NULL, NULL);
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        unlink(s->path);
    }
    if (s->start_fd >= 0)
        close(s->start_fd);
    if (s->stop_fd >= 0)
        close(s->stop_fd);
    if (s->poke_fd >= 0)
        close(s->poke_fd);
    if (s->ep >= 0)
        close(s->ep);
    api_handler_fini(&s->handler);
    pthread_cond_destroy(&s->cond);
    vmrun_log_close(&s->log);
    pthread_mutex_destroy(&s->lock);
    free(s->path);
    free(s);
}

__attribute__((visibility("default")))
const struct api_server_fns vmrun_api_server_fns = {
    .version = VMRUN_VERSION,
    .fns_size = sizeof(struct api_server_fns),
    .opts_size = sizeof(struct vmrun_create_opts),
    .open = api_server_open,
    .start = api_server_start,
    .wait_vm = api_server_wait_vm,
    .close = api_server_close,
};
