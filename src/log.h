/* log.h - the logger every VM carries: a callback, a level, a rate limit. */
#ifndef VMRUN_LOG_H
#define VMRUN_LOG_H

#include <stdatomic.h>
#include <stdint.h>

#include "vmrun.h"

struct logger {
    vmrun_log_fn fn; /* NULL: drop everything */
    void *opaque;
    enum vmrun_log_level level;
};

/* Formats and delivers one message if (level) is enabled in (log). */
void log_msg(const struct logger *log, enum vmrun_log_level level,
             const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A rate limit for messages a guest can trigger at will: at most (burst)
 * messages, then one in every 4096.  Lock-free; embed one per message site
 * owner (device, bus), never a static. */
struct log_ratelimit {
    atomic_uint_fast32_t count;
};

/* Returns nonzero when the next message under (rl) may be printed. */
int log_ratelimit_ok(struct log_ratelimit *rl, uint32_t burst);

#endif
