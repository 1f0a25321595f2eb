/* api_server.h - Firecracker's REST API over a Unix socket for the vmrun
 * command (libmicrohttpd with its own polling thread).  The HTTP layer
 * only turns requests into src/cli/api_handler.c calls, which use libvmrun.
 *
 * Order: api_server_open(), then api_server_start() with the VM booted
 * from a config file or NULL; with NULL, api_server_wait_vm() returns the
 * VM InstanceStart created and started (vmrun_start() on the server's
 * thread).  The caller runs the VM (vmrun_run(), or vmrun_wait() for one
 * already started) on its own thread and calls api_server_close() before
 * vmrun_destroy(): the metrics lines read the server's request counts. */
#ifndef VMRUN_API_SERVER_H
#define VMRUN_API_SERVER_H

#include "vmrun.h"

struct api_server;

/* Creates and listens on the Unix socket (path), mode 0600 from creation
 * on; serves nothing yet.  -EEXIST when (path) exists (it is never
 * unlinked here), -ENAMETOOLONG, or the -errno of socket()/bind().  (opts)
 * is copied: its logger gets the audit trail and creates the VM, without
 * its drop_fn (drop privileges before api_server_start()). */
int api_server_open(const char *path, const struct vmrun_create_opts *opts,
                    struct api_server **out)
    __attribute__((warn_unused_result));

/* Starts serving.  (vm): the VM already created from (cfg), read from the
 * file (config_path), whose sections GET /vm/config returns and whose
 * "logger" section the audit trail follows; NULL: the server waits for
 * its configuration and InstanceStart. */
int api_server_start(struct api_server *s, struct vmrun_vm *vm,
                     const struct vmrun_config *cfg, const char *config_path)
    __attribute__((warn_unused_result));

/* Blocks until InstanceStart has created and started the VM (returns 1,
 * (*vm) set; the caller waits for it and destroys it) or (wake_fd) is
 * readable (returns 0, or 1 if a VM exists by then: it must be stopped). */
int api_server_wait_vm(struct api_server *s, int wake_fd, struct vmrun_vm **vm)
    __attribute__((warn_unused_result));

/* Stops serving (waits for the request in progress), removes the socket
 * file and frees (s).  A VM that request created after
 * api_server_wait_vm() returned 0 (a stop signal) is stopped and
 * destroyed here.  NULL is ignored. */
void api_server_close(struct api_server *s);

/* The server is a module of its own, vmrun-api.so (with libmicrohttpd and
 * what it links), that the command loads only for --api-sock
 * (src/cli/rest_module.c): a VM without an API socket maps none of it.
 * The module exports one symbol, API_SERVER_FNS_SYMBOL, this table of the
 * functions above.  The first three members tell a module of another
 * build: the command refuses a table whose version or sizes differ from
 * its own. */
struct api_server_fns {
    const char *version;    /* VMRUN_VERSION of the module's build */
    unsigned int fns_size;  /* sizeof(struct api_server_fns) */
    unsigned int opts_size; /* sizeof(struct vmrun_create_opts) */
    int (*open)(const char *path, const struct vmrun_create_opts *opts,
                struct api_server **out);
    int (*start)(struct api_server *s, struct vmrun_vm *vm,
                 const struct vmrun_config *cfg, const char *config_path);
    int (*wait_vm)(struct api_server *s, int wake_fd, struct vmrun_vm **vm);
    void (*close)(struct api_server *s);
};

#define API_SERVER_FNS_SYMBOL "vmrun_api_server_fns"

#endif
