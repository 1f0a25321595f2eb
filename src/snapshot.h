/* snapshot.h - saving a paused VM to a state file and a memory file, and
 * building a VM from them (docs/snapshot.md).
 *
 * The state file (snapshot_file.h) holds the configuration, every vCPU's
 * state (arch_snapshot_save_vcpu()), the VM's interrupt controllers,
 * timers, clock and platform devices (arch_snapshot_save_vm()) and each
 * virtio device's transport and queues.  The memory file is guest RAM as
 * one flat image (file offset = offset in vm->ram): a Full snapshot
 * writes every non-zero page (a sparse file), a Diff snapshot only the
 * pages written since the last snapshot, at their offsets; merging a Full
 * file and its Diffs (snapshot_merge()) gives a Full file again.
 *
 * All calls run on the caller's thread (the API thread or main thread):
 * never on a vCPU or the event loop. */
#ifndef VMRUN_SNAPSHOT_H
#define VMRUN_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

#include "vmrun.h"

struct vm;

/* Writes the snapshot of (vm), which must be paused (-EINVAL otherwise),
 * to (state_path) and (mem_path) (both created or truncated, mode 0600).
 * (diff): only pages dirtied since the last snapshot or the restore;
 * needs machine-config.track_dirty_pages (-EINVAL otherwise).  An exit
 * request (vmrun stopping) ends the write of RAM between pieces of at most
 * 2 MiB with -EINTR.  On any failure after the files were opened
 * (state_path) is left empty: it never describes a memory file that was
 * not written whole.  Errors are logged; -errno. */
int snapshot_create(struct vm *vm, bool diff, const char *state_path,
                    const char *mem_path) __attribute__((warn_unused_result));

/* Builds (vm) from the snapshot (r), in vmrun_restore()'s order (opens,
 * (opts)->drop_fn, the state file parsed by snap_config_parse() on a
 * SANDBOX_ROLE_RESTORE thread, then, on the calling thread,
 * snap_config_resolve() and the VM).  Its drive images, taps and console
 * output files are (r)'s, never the state file's.  A file that is not a
 * snapshot, corrupted, truncated, of another format version or from
 * another host CPU, a hostile saved configuration, a device without its
 * entry in (r), a bad entry, or a memory file that does not open or is of
 * the wrong size gives -EINVAL (or -ENOENT, -EBUSY, -ENOTSUP) with one
 * line in (err), in that order and before a disk, tap or console is
 * opened.  Other failures are logged and (err) names them too.  On
 * failure (vm) holds nothing (vm_fini() has been called where needed). */
int snapshot_restore(struct vm *vm, const struct vmrun_restore *r,
                     const struct vmrun_create_opts *opts, char *err,
                     size_t err_len) __attribute__((warn_unused_result));

/* Copies (full) to (out) (which may be (full) itself) and lays the data
 * of each of (diffs)[0..n) over it, in order.  Every file must have the
 * same size.  -errno with one line in (err); -EINTR, with nothing left
 * behind, once (stop_fd) (-1: none) is readable. */
int snapshot_merge(const char *full, const char *const *diffs, size_t n,
                   const char *out, int stop_fd, char *err, size_t err_len)
    __attribute__((warn_unused_result));

#endif
