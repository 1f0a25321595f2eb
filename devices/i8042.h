/* i8042.h - the PS/2 controller, just enough for reset and Ctrl-Alt-Del. */
#ifndef VMRUN_I8042_H
#define VMRUN_I8042_H

struct dev_env;
struct i8042;
struct snap_buf;
struct snap_rd;

/* Registers ports 0x60 and 0x64 on env->pio.  A guest writing the
 * pulse-reset command (0xfe to 0x64) ends the VM with VMRUN_EXIT_REBOOT. */
int i8042_create(const struct dev_env *env, struct i8042 **out)
    __attribute__((warn_unused_result));

/* Queues the make/break scancodes of Ctrl-Alt-Del and raises IRQ 1, so a
 * guest's keyboard driver sees the key combination.  Thread-safe.
 * -EAGAIN when the guest has left earlier bytes unread and they fill the
 * controller's 16-byte queue. */
int i8042_send_ctrl_alt_del(struct i8042 *kbd)
    __attribute__((warn_unused_result));

/* Snapshots: controller configuration, pending command and output queue.
 * Call on a stopped VM. */
int i8042_save(struct i8042 *kbd, struct snap_buf *b)
    __attribute__((warn_unused_result));
int i8042_load(struct i8042 *kbd, struct snap_rd *r)
    __attribute__((warn_unused_result));

void i8042_destroy(struct i8042 *kbd);

#endif
