/* chardev.h - the host side of a character device (virtio-console): where
 * guest output goes and where guest input comes from, opened from a
 * struct console_config.
 *
 *   CONSOLE_STDIO  output to stdout; input from stdin when (want_input)
 *                  and stdin is a terminal, pipe or socket (epoll cannot
 *                  watch regular files or /dev/null)
 *   CONSOLE_FILE   output appended to (path), created with mode 0600
 *   CONSOLE_PTY    a new pseudo-terminal in raw mode, both ways; vmrun
 *                  keeps the slave side open too, so the master does not
 *                  report hang-up while no one is attached
 *   CONSOLE_NONE   output dropped, no input
 *
 * The terminal modes of stdin/stdout are left alone: the CLI owns them. */
#ifndef VMRUN_BACKEND_CHARDEV_H
#define VMRUN_BACKEND_CHARDEV_H

#include <stdbool.h>

#include "core/config.h"
#include "core/log.h"

struct chardev {
    int in_fd;            /* -1: no input */
    int out_fd;           /* -1: output dropped */
    bool own_in, own_out; /* closed by chardev_close() */
    int pty_slave;        /* CONSOLE_PTY: kept open; else -1 */
    char pty_path[64];    /* CONSOLE_PTY: "/dev/pts/N"; else "" */
};

/* Opens the fds (cfg) describes into (cd).  (what) names the config key
 * in messages ("vmrun.virtio-console").  -errno, with the reason logged,
 * and nothing left open on failure. */
int chardev_open(struct chardev *cd, const struct console_config *cfg,
                 const struct logger *log, const char *what)
    __attribute__((warn_unused_result));

/* A chardev over fds the caller opened (tests, embedders); the chardev
 * does not own them. */
void chardev_init_fds(struct chardev *cd, int in_fd, int out_fd);

/* Closes what chardev_open() opened.  Idempotent. */
void chardev_close(struct chardev *cd);

#endif
