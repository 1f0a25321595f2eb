/* log.h - the logger every VM carries: a callback, a level, a rate limit,
 * and the log file sink of the config's "logger" section. */
#ifndef VMRUN_LOG_H
#define VMRUN_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmrun.h"

struct logger {
    vmrun_log_fn fn; /* NULL: drop everything */
    void *opaque;
    enum vmrun_log_level level;
    bool show_origin; /* prefix "file.c:line: " (logger.show_log_origin) */
};

/* Formats and delivers one message if (level) is enabled in (log); (file)
 * and (line) name the call site.  The message passes log_escape(), so
 * whatever its arguments hold it is one printable line.  Use log_msg(). */
void log_msg_at(const struct logger *log, enum vmrun_log_level level,
                const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Copies (src) into (dst)[len] as printable text: control characters
 * become \n, \r, \t or \xHH, and so does each byte that is not part of
 * well-formed UTF-8 or encodes a C1 control; cut before an escape or
 * character that would not fit.  Returns the length written. */
size_t log_escape(char *dst, size_t len, const char *src);

#define log_msg(log, level, ...)                                               \
    log_msg_at((log), (level), __FILE__, __LINE__, __VA_ARGS__)

/* A rate limit for messages a guest can trigger at will: at most (burst)
 * messages, then one in every 4096.  Lock-free; embed one per message site
 * owner (device, bus), never a static. */
struct log_ratelimit {
    atomic_uint_fast32_t count;
};

/* Returns nonzero when the next message under (rl) may be printed. */
int log_ratelimit_ok(struct log_ratelimit *rl, uint32_t burst);

/* ---- logger.log_path ---- */

/* A file the log goes to instead of the embedder's callback: opened 0600,
 * O_APPEND | O_CLOEXEC; one write() per line, so the VM's threads and
 * another writer of the same file never split a line. */
struct log_file {
    int fd;
    bool show_level; /* logger.show_level */
};

/* -errno of open(). */
int log_file_open(const char *path, bool show_level, struct log_file **out)
    __attribute__((warn_unused_result));

/* A vmrun_log_fn: (opaque) is the struct log_file.  Writes
 * "2026-01-31T12:00:00.000000Z [vmrun:INFO] msg" (the level only with
 * show_level); control characters in (msg) become spaces. */
void log_file_write(void *opaque, enum vmrun_log_level level, const char *msg);

void log_file_close(struct log_file *f);

/* "Error", "Warning", "Info", "Debug". */
const char *log_level_name(enum vmrun_log_level level);

#endif
