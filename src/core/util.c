/* util.c - small file helpers shared by vmrun's library code (util.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "core/util.h"

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

/* Kernel pseudo file systems: a "regular file" there is a kernel knob
 * (/proc/sys/kernel/hostname), so vmrun never writes output there.  The
 * magics are 32-bit; f_type is a signed word of either size. */
static bool fs_is_pseudo(__fsword_t f_type)
{
    static const uint32_t pseudo[] = {
        PROC_SUPER_MAGIC,
        SYSFS_MAGIC,
        CGROUP_SUPER_MAGIC,
        CGROUP2_SUPER_MAGIC,
        DEBUGFS_MAGIC,
        TRACEFS_MAGIC,
        SECURITYFS_MAGIC,
        0x62656570 /* configfs */,
        EFIVARFS_MAGIC,
        BPF_FS_MAGIC,
        0x42494e4d /* binfmt_misc */,
        SELINUX_MAGIC,
    };

    for (size_t i = 0; i < sizeof(pseudo) / sizeof(pseudo[0]); i++)
        if ((uint32_t)f_type == pseudo[i])
            return true;
    return false;
}

/* 0 when (mode) is a type open_output() accepts under (policy). */
static int output_type(mode_t mode, unsigned policy)
{
    if (S_ISLNK(mode))
        return -ELOOP;
    if (S_ISREG(mode) || (S_ISFIFO(mode) && (policy & OUTPUT_ALLOW_FIFO)))
        return 0;
    return -EINVAL;
}

/* open()'s (e) for (name) in (dirfd) in open_output()'s words: ENXIO is a
 * FIFO without a reader only when (name) is a FIFO (a socket gives it
 * too). */
static int output_open_errno(int dirfd, const char *name, int e,
                             unsigned policy)
{
    struct stat st;

    if (e == EISDIR)
        return -EINVAL;
    if (e == ENXIO && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        !S_ISFIFO(st.st_mode) && output_type(st.st_mode, policy) < 0)
        return output_type(st.st_mode, policy);
    return -e;
}

/* The checks of open_output() on the open (fd). */
static int output_check_fd(int fd, int flags, unsigned policy)
{
    struct statfs sfs;
    struct stat st;
    int fl, ret;

    if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0)
        return -errno;
    if ((ret = output_type(st.st_mode, policy)) < 0)
        return ret;
    if (fs_is_pseudo(sfs.f_type))
        return -EXDEV;
    if (!S_ISREG(st.st_mode))
        return 0;
    if ((flags & O_TRUNC) && ftruncate(fd, 0) < 0)
        return -errno;
    if (!(flags & O_NONBLOCK) && ((fl = fcntl(fd, F_GETFL)) < 0 ||
                                  fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0))
        return -errno;
    return 0;
}

int open_output(const char *path, int flags, mode_t mode, unsigned policy)
{
    return open_output_at(AT_FDCWD, path, flags, mode, policy);
}

int open_output_at(int dirfd, const char *name, int flags, mode_t mode,
                   unsigned policy)
{
    struct stat st;
    int fd, ret;

    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        (ret = output_type(st.st_mode, policy)) < 0)
        return ret;
    fd = openat(dirfd, name,
                (flags & ~O_TRUNC) | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
                    O_NOCTTY,
                mode);
    if (fd < 0)
        return output_open_errno(dirfd, name, errno, policy);
    ret = output_check_fd(fd, flags, policy);
    if (ret < 0) {
        close(fd);
        return ret;
    }
    return fd;
}

const char *open_output_strerror(int err)
{
    switch (err) {
    case -ELOOP:
        return "is a symbolic link";
    case -EINVAL:
        return "not a regular file";
    case -ENXIO:
        return "no reader on FIFO";
    case -EXDEV:
        return "on a kernel pseudo file system (proc, sysfs, ...)";
    default:
        return strerror(-err);
    }
}

int check_input(const char *path, bool allow_blk, off_t min_size)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return -errno;
    if (S_ISBLK(st.st_mode) && allow_blk)
        return 0;
    if (!S_ISREG(st.st_mode))
        return -EINVAL;
    return st.st_size < min_size ? -ENODATA : 0;
}

int output_dir_open(const char *path, const char **name)
{
    const char *slash = strrchr(path, '/');
    char *dir =
        slash ? strndup(path, slash == path ? 1 : slash - path) : strdup(".");
    int fd, e;

    if (!dir)
        return -ENOMEM;
    fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    e = errno;
    free(dir);
    if (fd < 0)
        return -e;
    *name = slash ? slash + 1 : path;
    return fd;
}

int check_output(const char *path, unsigned policy)
{
    const char *slash = strrchr(path, '/');
    struct statfs sfs;
    struct stat st;
    char *dir;
    int ret;

    if (lstat(path, &st) == 0) {
        if ((ret = output_type(st.st_mode, policy)) < 0)
            return ret;
        ret = statfs(path, &sfs);
    } else {
        /* A new file: the file system is its folder's. */
        dir = slash ? strndup(path, slash == path ? 1 : slash - path)
                    : strdup(".");
        if (!dir)
            return -ENOMEM;
        ret = statfs(dir, &sfs);
        free(dir);
    }
    if (ret < 0)
        return -errno;
    return fs_is_pseudo(sfs.f_type) ? -EXDEV : 0;
}
