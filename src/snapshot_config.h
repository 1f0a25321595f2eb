/* snapshot_config.h - the configuration section of a snapshot's state
 * file, and the host resources of a restore.
 *
 * A state file is untrusted input, and vmrun usually runs as root: the
 * file describes the VM (vCPUs, RAM, devices, their ids and settings) but
 * never chooses a host resource.  Every drive image, tap and console
 * output file of a restored VM comes from the operator (struct
 * vmrun_restore: --drive-path, --tap, --console-path on the command line,
 * drive_overrides, network_overrides, console_overrides in PUT
 * /snapshot/load); what the file names for them is only shown in the
 * message asking for one.  No KVM in here: the unit tests and
 * tests/fuzz/fuzz_snapshot.c link it. */
#ifndef VMRUN_SNAPSHOT_CONFIG_H
#define VMRUN_SNAPSHOT_CONFIG_H

#include <stddef.h>

#include "config.h"
#include "snapshot_file.h"

/* Appends the configuration section of (c) to (b). */
void snap_put_config(struct snap_buf *b, const struct vmrun_config *c);

/* The configuration to restore from the state file (f) (at (path), for
 * messages) with the caller's options (ro):
 *  - the saved configuration, every value checked by config_check() and
 *    the config_check_*() rules (the JSON parser's own), the names the
 *    file gives host resources included (tap names, absolute paths);
 *  - each drive's path_on_host, each interface's host_dev_name and each
 *    file output's path taken from (ro)'s entries, checked as those
 *    config keys are (config_drive_path(), config_check_tap(),
 *    config_output_path()); an entry naming no such device, given twice
 *    or for a console that writes no file is refused;
 *  - a device without its entry is refused with one line naming it, what
 *    the file names for it and the option that supplies it (in the words
 *    of ro->names);
 *  - ro->track_dirty_pages applied.
 * Nothing is opened (paths are stat()ed and access()ed).  0 with a new
 * configuration in (*out) (vmrun_config_free()), or -EINVAL (-ENOMEM)
 * with one printable line in (err). */
int snap_config_load(const struct snap_file *f, const char *path,
                     const struct vmrun_restore *ro, struct vmrun_config **out,
                     char *err, size_t err_len)
    __attribute__((warn_unused_result));

#endif
