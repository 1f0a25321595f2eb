/* fuzz_loop.c - a thread-free event loop for the fuzz harnesses: it takes
 * the place of src/core/event_loop.c at link time (the harnesses link the core
 * objects from a static archive, which then never pulls event_loop.o) and
 * runs callbacks only when a harness calls fuzz_loop_run(), so one input
 * always takes the same path. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>

#include "fuzz_common.h"

#define LOOP_MAX_SOURCES 32

struct event_loop {
    struct event_source *src[LOOP_MAX_SOURCES];
    uint32_t events[LOOP_MAX_SOURCES];
};

int event_loop_create(const struct logger *log, struct event_loop **out)
{
    (void)log;
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : -ENOMEM;
}

static int loop_find(struct event_loop *loop, const struct event_source *src)
{
    for (int i = 0; i < LOOP_MAX_SOURCES; i++)
        if (loop->src[i] == src)
            return i;
    return -1;
}

int event_loop_add(struct event_loop *loop, struct event_source *src,
                   uint32_t events)
{
    int i = loop_find(loop, NULL);

    if (loop_find(loop, src) >= 0)
        return -EEXIST;
    if (i < 0)
        return -ENOSPC;
    loop->src[i] = src;
    loop->events[i] = events;
    return 0;
}

int event_loop_mod(struct event_loop *loop, struct event_source *src,
                   uint32_t events)
{
    int i = loop_find(loop, src);

    if (i < 0)
        return -ENOENT;
    loop->events[i] = events;
    return 0;
}

void event_loop_del(struct event_loop *loop, struct event_source *src)
{
    int i = loop_find(loop, src);

    if (i >= 0)
        loop->src[i] = NULL;
}

int event_loop_start(struct event_loop *loop)
{
    (void)loop;
    return -ENOTSUP; /* harnesses call fuzz_loop_run() instead */
}

void event_loop_stop(struct event_loop *loop)
{
    (void)loop;
}

void event_loop_destroy(struct event_loop *loop)
{
    free(loop);
}

/* One pass: every source whose fd is ready gets one callback (level
 * triggered, as the epoll loop).  Returns how many ran. */
static int loop_pass(struct event_loop *loop)
{
    struct pollfd pfd[LOOP_MAX_SOURCES];
    struct event_source *snap[LOOP_MAX_SOURCES];
    int ran = 0;

    for (int i = 0; i < LOOP_MAX_SOURCES; i++) {
        snap[i] = loop->src[i];
        pfd[i] = (struct pollfd){snap[i] ? snap[i]->fd : -1,
                                 (short)loop->events[i], 0};
    }
    if (poll(pfd, LOOP_MAX_SOURCES, 0) <= 0)
        return 0;
    for (int i = 0; i < LOOP_MAX_SOURCES; i++) {
        /* A callback may have removed a later source. */
        if (!pfd[i].revents || loop->src[i] != snap[i] || !snap[i])
            continue;
        snap[i]->fn(snap[i]->opaque, (uint32_t)pfd[i].revents);
        ran++;
    }
    return ran;
}

void fuzz_loop_run(struct event_loop *loop, int max_passes)
{
    for (int i = 0; i < max_passes && loop_pass(loop) > 0; i++)
        ;
}
