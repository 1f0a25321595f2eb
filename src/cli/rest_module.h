/* rest_module.h - the vmrun command's handle on its REST server, which
 * lives in the module vmrun-api.so (src/cli/api_server.h) and is loaded by
 * rest_open() only: a VM run without --api-sock maps neither the module
 * nor libmicrohttpd and the TLS libraries it links. */
#ifndef VMRUN_REST_MODULE_H
#define VMRUN_REST_MODULE_H

#include "vmrun.h"

struct rest_server;

/* Loads the module and calls its api_server_open().  The module is
 * vmrun-api.so in the build folder when the running executable lies in
 * it, else in VMRUN_MODULE_DIR (the install's libdir/vmrun); it and its
 * folder must belong to root or this user and be writable by nobody
 * else, and it must come from this version.  -ELIBACC, with a line on
 * stderr naming the module and why, when it cannot be loaded; else what
 * api_server_open() returns. */
int rest_open(const char *path, const struct vmrun_create_opts *opts,
              struct rest_server **out) __attribute__((warn_unused_result));

/* api_server_start(), api_server_wait_vm() and api_server_close() of
 * (s)'s module; rest_close(NULL) is a no-op. */
int rest_start(struct rest_server *s, struct vmrun_vm *vm,
               const struct vmrun_config *cfg, const char *config_path)
    __attribute__((warn_unused_result));
int rest_wait_vm(struct rest_server *s, int wake_fd, struct vmrun_vm **vm)
    __attribute__((warn_unused_result));
void rest_close(struct rest_server *s);

#endif
