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
 * message asking for one.  Reading the file (snap_config_parse()) and
 * looking up the operator's paths (snap_config_resolve()) are two calls:
 * a restore makes them on different threads, with different rights
 * (docs/security.md, "Privilege order").  No KVM in here: the unit tests
 * and tests/fuzz/fuzz_snapshot.c link it. */
#ifndef VMRUN_SNAPSHOT_CONFIG_H
#define VMRUN_SNAPSHOT_CONFIG_H

#include <stddef.h>

#include "core/config.h"
#include "core/snapshot_file.h"

/* Appends the configuration section of (c) to (b). */
void snap_put_config(struct snap_buf *b, const struct vmrun_config *c);

/* The saved configuration of the state file (f) (at (path), for
 * messages), every value checked by config_check() and the
 * config_check_*() rules (the JSON parser's own), the names the file
 * gives host resources included (tap names, absolute paths).  No path is
 * looked up: a restore parses here on its restore thread
 * (SANDBOX_ROLE_RESTORE), which may not open a file, realpath() or
 * access() one.  0 with a new configuration in (*out)
 * (vmrun_config_free()) that still holds the file's names for its host
 * resources, or -EINVAL (-ENOMEM) with one printable line in (err) and
 * (*out) NULL. */
int snap_config_parse(const struct snap_file *f, const char *path,
                      struct vmrun_config **out, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/* The host resources of (c), from snap_config_parse(), taken from the
 * caller's options (ro) instead of the file:
 *  - each drive's path_on_host, each interface's host_dev_name and each
 *    file output's path taken from (ro)'s entries, checked as those
 *    config keys are (config_drive_path(), config_check_tap(),
 *    config_output_path()); an entry naming no such device, given twice
 *    or for a console that writes no file is refused;
 *  - a device without its entry is refused with one line naming it, what
 *    the file names for it and the option that supplies it (in the words
 *    of ro->names);
 *  - config_check() of the whole (two interfaces on one tap);
 *  - ro->track_dirty_pages applied.
 * Nothing is opened, but paths are realpath()ed, stat()ed and access()ed
 * with the caller's rights: a restore calls this after it gave up
 * privileges, once its restore thread has ended, before it creates the
 * VM.  0, or -EINVAL (-ENOMEM) with one printable line in (err); (c) holds
 * none of the file's names for host resources either way, and stays the
 * caller's. */
int snap_config_resolve(struct vmrun_config *c, const struct vmrun_restore *ro,
                        char *err, size_t err_len)
    __attribute__((warn_unused_result));

/* snap_config_parse() then snap_config_resolve(): 0 with the
 * configuration to restore in (*out) (vmrun_config_free()), or the first
 * refusal with (*out) NULL. */
int snap_config_load(const struct snap_file *f, const char *path,
                     const struct vmrun_restore *ro, struct vmrun_config **out,
                     char *err, size_t err_len)
    __attribute__((warn_unused_result));

#endif
