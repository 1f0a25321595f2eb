/* event_loop.c - the epoll thread; callbacks run on it one at a time. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/event_loop.h"

struct event_loop {
    const struct logger *log;
    int epfd;
    int stop_fd; /* eventfd written by event_loop_stop() */
    /* Start and stop may come from two threads at once (a pause on the
     * API thread, the teardown in vm_wait()): they take (lock), so one
     * thread joins (thread), once. */
    pthread_mutex_t lock;
    pthread_t thread;
    bool running;
    event_init_fn init; /* run first on each loop thread (seccomp) */
    void *init_opaque;
};

int event_loop_create(const struct logger *log, struct event_loop **out)
{
    struct event_loop *loop = calloc(1, sizeof(*loop));
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    int ret;

    if (!loop)
        return -ENOMEM;
    loop->log = log;
    pthread_mutex_init(&loop->lock, NULL);
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0)
        goto err;
    loop->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->stop_fd < 0)
        goto err_ep;
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->stop_fd, &ev) < 0)
        goto err_fd;
    *out = loop;
    return 0;
err_fd:
    ret = -errno;
    close(loop->stop_fd);
    errno = -ret;
err_ep:
    ret = -errno;
    close(loop->epfd);
    pthread_mutex_destroy(&loop->lock);
    free(loop);
    return ret;
err:
    ret = -errno;
    pthread_mutex_destroy(&loop->lock);
    free(loop);
    return ret;
}

int event_loop_add(struct event_loop *loop, struct event_source *src,
                   uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = src};

    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, src->fd, &ev) < 0)
        return -errno;
    return 0;
}

int event_loop_mod(struct event_loop *loop, struct event_source *src,
                   uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = src};

    if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, src->fd, &ev) < 0)
        return -errno;
    return 0;
}

void event_loop_del(struct event_loop *loop, struct event_source *src)
{
    epoll_ctl(loop->epfd, EPOLL_CTL_DEL, src->fd, NULL);
}

static void *event_loop_thread(void *arg)
{
    struct event_loop *loop = arg;
    struct epoll_event evs[32];

    if (loop->init && loop->init(loop->init_opaque) < 0)
        return NULL;
    for (;;) {
        int n = epoll_wait(loop->epfd, evs, 32, -1);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_msg(loop->log, VMRUN_LOG_ERROR, "event loop: epoll_wait: %d",
                    errno);
            return NULL;
        }
        for (int i = 0; i < n; i++) {
            struct event_source *src = evs[i].data.ptr;

            if (!src)
                return NULL; /* stop_fd */
            src->fn(src->opaque, evs[i].events);
        }
    }
}

void event_loop_set_init(struct event_loop *loop, event_init_fn fn,
                         void *opaque)
{
    loop->init = fn;
    loop->init_opaque = opaque;
}

int event_loop_start(struct event_loop *loop)
{
    int ret = 0;

    pthread_mutex_lock(&loop->lock);
    if (!loop->running) {
        ret = -pthread_create(&loop->thread, NULL, event_loop_thread, loop);
        loop->running = ret == 0;
    }
    pthread_mutex_unlock(&loop->lock);
    return ret;
}

/* The loop thread never takes (lock): joining it under the lock is safe. */
void event_loop_stop(struct event_loop *loop)
{
    uint64_t one = 1;

    pthread_mutex_lock(&loop->lock);
    if (!loop->running) {
        pthread_mutex_unlock(&loop->lock);
        return;
    }
    if (write(loop->stop_fd, &one, sizeof(one)) < 0) {
        /* An eventfd write only fails on counter overflow; ignore. */
    }
    pthread_join(loop->thread, NULL);
    /* Drain the wake-up so a later event_loop_start() runs. */
    if (read(loop->stop_fd, &one, sizeof(one)) < 0) {
        /* EAGAIN: nothing to drain. */
    }
    loop->running = false;
    pthread_mutex_unlock(&loop->lock);
}

void event_loop_destroy(struct event_loop *loop)
{
    if (!loop)
        return;
    event_loop_stop(loop);
    close(loop->stop_fd);
    close(loop->epfd);
    pthread_mutex_destroy(&loop->lock);
    free(loop);
}
