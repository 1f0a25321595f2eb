/* util.c - small file helpers shared by vmrun's library code (util.h). */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* open()'s errno for (path), or EINVAL when the failure only says that
 * (path) is no regular file: a directory opened for writing (EISDIR), a
 * FIFO without a reader or a socket opened O_NONBLOCK (ENXIO). */
static int open_regular_errno(const char *path, int e)
{
    struct stat st;

    if (e == EISDIR ||
        (e == ENXIO && stat(path, &st) == 0 && !S_ISREG(st.st_mode)))
        return EINVAL;
    return e;
}

int open_regular(const char *path, int flags, mode_t mode)
{
    int fd = open(path, flags | O_NONBLOCK | O_NOCTTY, mode);
    struct stat st;
    int fl, e;

    if (fd < 0)
        return -open_regular_errno(path, errno);
    if (fstat(fd, &st) < 0) {
        e = errno;
        close(fd);
        return -e;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    if (!(flags & O_NONBLOCK) && ((fl = fcntl(fd, F_GETFL)) < 0 ||
                                  fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)) {
        e = errno;
        close(fd);
        return -e;
    }
    return fd;
}
