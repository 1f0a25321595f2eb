/* util.h - small file helpers shared by vmrun's library code. */
#ifndef VMRUN_UTIL_H
#define VMRUN_UTIL_H

#include <stdbool.h>
#include <sys/types.h>

/* open(2) of (path) with (flags) and (mode) that never blocks and accepts
 * only a regular file: the open itself is O_NONBLOCK (a FIFO would wait
 * for its other end, a write-only open of one without a reader fails with
 * ENXIO instead) and O_NOCTTY, then the file must be regular, then
 * O_NONBLOCK is cleared again (unless (flags) has it).  Returns the fd, or
 * -EINVAL when (path) is not a regular file (a directory, FIFO, socket or
 * device: say "not a regular file"), or open's -errno.  (flags) with O_TRUNC
 * truncates before the check, as open does: the check cannot undo it. */
int open_regular(const char *path, int flags, mode_t mode)
    __attribute__((warn_unused_result));

/* open_output() (policy): a FIFO is accepted too.  Without it only a
 * regular file is. */
#define OUTPUT_ALLOW_FIFO 0x1u

/* The one policy for every file vmrun creates or appends to (log, metrics,
 * serial output, snapshot outputs, crash dumps): open(2) of (path) with
 * (flags) and (mode), plus O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY.
 * Accepted: a regular file on a file system that is not a kernel pseudo
 * file system (proc, sysfs, cgroup, debugfs, tracefs, securityfs, configfs,
 * efivarfs, bpf, binfmt_misc, selinuxfs), or with OUTPUT_ALLOW_FIFO in
 * (policy) a FIFO that has a reader.  The type is checked by name before
 * the open (a device is never opened) and on the descriptor after it (the
 * name may change in between).  O_TRUNC in (flags) truncates only once the
 * file is accepted.  A regular file's descriptor is blocking again unless
 * (flags) has O_NONBLOCK; a FIFO's stays non-blocking, so a reader that
 * stops reading costs lost writes (EAGAIN), never a stalled vmrun.
 * Returns the fd, or:
 *   -ELOOP   (path) is a symbolic link
 *   -EINVAL  not a regular file (directory, device, socket, or a FIFO
 *            without OUTPUT_ALLOW_FIFO)
 *   -ENXIO   a FIFO without a reader
 *   -EXDEV   a file on a kernel pseudo file system
 *   or open's, fstat's or fstatfs's -errno.
 * open_output_strerror() words each for a message. */
int open_output(const char *path, int flags, mode_t mode, unsigned policy)
    __attribute__((warn_unused_result));

/* open_output() of (name) relative to the folder (dirfd) (AT_FDCWD: the
 * working directory), with openat(2): the same checks and codes. */
int open_output_at(int dirfd, const char *name, int flags, mode_t mode,
                   unsigned policy) __attribute__((warn_unused_result));

/* Opens the folder of (path) (O_PATH | O_CLOEXEC), for open_output_at()
 * once no other file may be opened (a seccomp filter that allows openat
 * in this folder only).  Returns the fd, with (*name) pointing at the
 * last component inside (path); or -errno (-ENOTDIR: not a folder). */
int output_dir_open(const char *path, const char **name)
    __attribute__((warn_unused_result));

/* The words for open_output()'s (err) (a negative errno): "is a symbolic
 * link", "not a regular file", "no reader on FIFO", "on a kernel pseudo
 * file system", else strerror(). */
const char *open_output_strerror(int err);

/* The config-time check of an output (path) under open_output()'s
 * (policy), without opening it (a FIFO's reader would see an EOF): an
 * existing (path) must have an accepted type, and (path), or its folder
 * for a new file, must not be on a kernel pseudo file system.  Returns 0
 * or open_output()'s codes (-ELOOP, -EINVAL, -EXDEV) or stat's -errno.
 * The open repeats every check. */
int check_output(const char *path, unsigned policy)
    __attribute__((warn_unused_result));

/* The config-time check of an input file: (path) must be a regular file
 * (a block device too when (allow_blk)), of at least (min_size) bytes
 * when regular.  Follows symbolic links (inputs may be links to images).
 * Returns 0, -EINVAL when the type is wrong, -ENODATA when the file is
 * shorter than (min_size), or stat's -errno. */
int check_input(const char *path, bool allow_blk, off_t min_size)
    __attribute__((warn_unused_result));

#endif
