/* log.c - message formatting and delivery to the embedder's callback. */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

void log_msg(const struct logger *log, enum vmrun_log_level level,
             const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    if (!log || !log->fn || level > log->level)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log->fn(log->opaque, level, buf);
}

int log_ratelimit_ok(struct log_ratelimit *rl, uint32_t burst)
{
    uint_fast32_t n =
        atomic_fetch_add_explicit(&rl->count, 1, memory_order_relaxed);

    return n < burst || (n - burst) % 4096 == 0;
}
