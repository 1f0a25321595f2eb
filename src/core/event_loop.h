/* event_loop.h - one epoll thread serving every backend of a VM: virtqueue
 * kicks (ioeventfds), tap and console fds, aio completions, control. */
#ifndef VMRUN_EVENT_LOOP_H
#define VMRUN_EVENT_LOOP_H

#include <stdint.h>

#include "core/log.h"

struct event_loop;

typedef void (*event_fn)(void *opaque, uint32_t events);

/* Embedded in the owner's state; must stay valid while registered. */
struct event_source {
    int fd;
    event_fn fn;
    void *opaque;
};

int event_loop_create(const struct logger *log, struct event_loop **out)
    __attribute__((warn_unused_result));

/* Watches (src->fd) for (events) (EPOLLIN, ...).  Callable from any thread,
 * before or after event_loop_start(). */
int event_loop_add(struct event_loop *loop, struct event_source *src,
                   uint32_t events) __attribute__((warn_unused_result));
int event_loop_mod(struct event_loop *loop, struct event_source *src,
                   uint32_t events) __attribute__((warn_unused_result));

/* Stops watching.  Call it from the loop thread (a callback) or after
 * event_loop_stop(); elsewhere a callback for (src) may still be running. */
void event_loop_del(struct event_loop *loop, struct event_source *src);

/* (fn)(opaque) runs first on every loop thread event_loop_start() starts;
 * when it fails the thread ends at once (fn reports why).  Call before
 * event_loop_start(). */
typedef int (*event_init_fn)(void *opaque);
void event_loop_set_init(struct event_loop *loop, event_init_fn fn,
                         void *opaque);

/* Runs the loop on a new thread until event_loop_stop(); 0 if it runs
 * already.  Start and stop are safe from several threads at once. */
int event_loop_start(struct event_loop *loop)
    __attribute__((warn_unused_result));

/* Makes the thread leave its loop and joins it.  Idempotent. */
void event_loop_stop(struct event_loop *loop);

/* Stops the loop if needed and frees it; fds are not closed. */
void event_loop_destroy(struct event_loop *loop);

#endif
