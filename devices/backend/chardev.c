/* chardev.c - console backends: stdio, append-only file, pty, none. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "devices/backend/chardev.h"
#include "core/util.h"

void chardev_init_fds(struct chardev *cd, int in_fd, int out_fd)
{
    *cd = (struct chardev){.in_fd = in_fd, .out_fd = out_fd, .pty_slave = -1};
}

/* Only fds epoll can watch make an input: terminals, pipes, sockets. */
static int chardev_stdin(void)
{
    struct stat st;

    if (isatty(STDIN_FILENO))
        return STDIN_FILENO;
    if (fstat(STDIN_FILENO, &st) == 0 &&
        (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
        return STDIN_FILENO;
    return -1;
}

static int chardev_open_file(struct chardev *cd, const char *path,
                             const struct logger *log, const char *what)
{
    int fd = open_output(path, O_WRONLY | O_CREAT | O_APPEND, 0600,
                         OUTPUT_ALLOW_FIFO);

    if (fd < 0) {
        log_msg(log, VMRUN_LOG_ERROR, "%s.path: cannot open '%s': %s", what,
                path, open_output_strerror(fd));
        return fd;
    }
    cd->out_fd = fd;
    cd->own_out = true;
    return 0;
}

/* Raw mode on the slave: no echo, no line editing, no CR/LF rewriting;
 * the guest's own tty layer does all that. */
static int chardev_pty_raw(int slave)
{
    struct termios t;

    if (tcgetattr(slave, &t) < 0)
        return -errno;
    cfmakeraw(&t);
    return tcsetattr(slave, TCSANOW, &t) < 0 ? -errno : 0;
}

static int chardev_pty_setup(struct chardev *cd, int master)
{
    if (grantpt(master) < 0 || unlockpt(master) < 0 ||
        ptsname_r(master, cd->pty_path, sizeof(cd->pty_path)) != 0)
        return -errno;
    cd->pty_slave = open(cd->pty_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (cd->pty_slave < 0)
        return -errno;
    if (fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK) < 0)
        return -errno;
    return chardev_pty_raw(cd->pty_slave);
}

static int chardev_open_pty(struct chardev *cd, const struct logger *log,
                            const char *what)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    int ret = master < 0 ? -errno : chardev_pty_setup(cd, master);

    if (ret < 0) {
        log_msg(log, VMRUN_LOG_ERROR, "%s: cannot create a pty: %s", what,
                strerror(-ret));
        if (cd->pty_slave >= 0)
            close(cd->pty_slave);
        if (master >= 0)
            close(master);
        cd->pty_slave = -1;
        cd->pty_path[0] = '\0';
        return ret;
    }
    cd->in_fd = cd->out_fd = master;
    cd->own_in = cd->own_out = true;
    return 0;
}

int chardev_open(struct chardev *cd, const struct console_config *cfg,
                 const struct logger *log, const char *what)
{
    chardev_init_fds(cd, -1, -1);
    switch (cfg->kind) {
    case CONSOLE_STDIO:
        cd->out_fd = STDOUT_FILENO;
        cd->in_fd = cfg->want_input ? chardev_stdin() : -1;
        return 0;
    case CONSOLE_FILE:
        return chardev_open_file(cd, cfg->path, log, what);
    case CONSOLE_PTY:
        return chardev_open_pty(cd, log, what);
    case CONSOLE_NONE:
        return 0;
    }
    return -EINVAL;
}

void chardev_close(struct chardev *cd)
{
    if (cd->own_in && cd->in_fd >= 0 && cd->in_fd != cd->out_fd)
        close(cd->in_fd);
    if (cd->own_out && cd->out_fd >= 0)
        close(cd->out_fd);
    if (cd->pty_slave >= 0)
        close(cd->pty_slave);
    chardev_init_fds(cd, -1, -1);
}
