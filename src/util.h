/* util.h - small file helpers shared by vmrun's library code. */
#ifndef VMRUN_UTIL_H
#define VMRUN_UTIL_H

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

#endif
