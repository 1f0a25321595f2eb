/* api_server.c - the HTTP transport of the API: a Unix socket served by
 * libmicrohttpd's internal thread, requests passed to api_handler.c, the
 * VM created by InstanceStart handed to the thread that runs it. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api_handler.h"
#include "api_server.h"
#include "sandbox.h"

#define CONFIG_TEXT_MAX (1 << 20) /* docs/config.md: a config is <= 1 MiB */
#define CONNECTION_IDLE_S 60      /* an idle client is dropped after this */
#define SANDBOX_WAIT_S 10         /* see server_poke() */

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
};

/* A request body as it arrives. */
struct upload {
    char *buf;
    size_t len;
};

static void server_log(struct api_server *s, enum vmrun_log_level level,
                       const char *msg)
{
    if (s->log.log_fn && level <= s->log.log_level)
        s->log.log_fn(s->log.log_opaque, level, msg);
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
                               &log);
        s->preboot_filtered = rc == 0;
        return rc;
    }
    if (!vm || s->sandboxed)
        return 0;
    if (sandbox_enter(s->opts.seccomp, SANDBOX_ROLE_API, -1, &log) < 0)
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
    if (r->body && MHD_add_response_header(resp, "Content-Type",
                                           "application/json") == MHD_NO) {
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

/* Every client is accepted here, on the MHD thread, before a byte of it is
 * read: the thread's pre-boot filter goes on at the first one. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr,
                                 socklen_t addrlen)
{
    (void)addr;
    (void)addrlen;
    return server_sandbox(cls) == 0 ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        server_sandbox(cls);
}

static void on_mhd_error(void *cls, const char *fmt, va_list ap)
{
    char msg[256];
    size_t n;

    vsnprintf(msg, sizeof(msg), fmt, ap);
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
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
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
    if (listen(fd, 16) < 0) {
        err = errno;
        unlink(path);
        close(fd);
        return -err;
    }
    *out = fd;
    return 0;
}

int api_server_open(const char *path, const struct vmrun_create_opts *opts,
                    struct api_server **out)
{
    struct api_server *s = calloc(1, sizeof(*s));
    int rc = -ENOMEM;

    if (!s)
        return -ENOMEM;
    s->listen_fd = s->start_fd = -1;
    s->opts = s->log = *opts;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    if (!(s->path = strdup(path)))
        goto err;
    s->start_fd = eventfd(0, EFD_CLOEXEC);
    if (s->start_fd < 0) {
        rc = -errno;
        goto err;
    }
    rc = api_handler_init(&s->handler, &server_ops, s);
    if (rc == 0)
        rc = socket_listen(path, &s->listen_fd);
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

/* Termination signals belong to the main thread, which waits for them
 * (src/main.c); the server thread inherits this mask. */
static struct MHD_Daemon *mhd_start(struct api_server *s)
{
    unsigned int flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
    sigset_t block, old;
    struct MHD_Daemon *d;

    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    /* The logger option first, or earlier options log to stderr. */
    d = MHD_start_daemon(flags, 0, on_accept, s, on_request, s,
                         MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, s,
                         MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                         MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                         MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned int)CONNECTION_IDLE_S, MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return d;
}

/* With the VM from a config, the API thread filters itself before the
 * guest runs, not at its first client: libmicrohttpd has no other way into
 * its thread than a connection, so make one and wait for the filter. */
static int server_poke(struct api_server *s)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timespec until;
    int fd, rc = 0;

    if (s->opts.seccomp == VMRUN_SECCOMP_OFF)
        return 0;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += SANDBOX_WAIT_S;
    pthread_mutex_lock(&s->lock);
    while (!s->sandboxed && rc == 0)
        rc = -pthread_cond_timedwait(&s->cond, &s->lock, &until);
    pthread_mutex_unlock(&s->lock);
    close(fd);
    return rc;
}

int api_server_start(struct api_server *s, struct vmrun_vm *vm,
                     const struct vmrun_config *cfg, const char *config_path)
{
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
    s->mhd = mhd_start(s);
    if (!s->mhd)
        return -EIO;
    s->listen_fd = -1; /* libmicrohttpd closes it */
    if (vm) {
        int rc = server_poke(s);

        if (rc < 0)
            return rc;
    }
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
    if (s->mhd)
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
    } else if (s->mhd) {
        unlink(s->path);
    }
    if (s->start_fd >= 0)
        close(s->start_fd);
    api_handler_fini(&s->handler);
    pthread_cond_destroy(&s->cond);
    vmrun_log_close(&s->log);
    pthread_mutex_destroy(&s->lock);
    free(s->path);
    free(s);
}
