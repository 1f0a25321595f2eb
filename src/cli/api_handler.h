/* api_handler.h - Firecracker's REST API (../shared/specs/firecracker-api.yaml)
 * as a function from (method, path, body) to (status, JSON body), with no
 * HTTP transport in it: src/cli/api_server.c feeds it the requests that
 * libmicrohttpd parsed, unit tests feed it strings.
 *
 * Before the VM starts the handler keeps the config sections it received
 * as one JSON document in the config-file schema (docs/config.md) and
 * validates every change by running the whole document through
 * vmrun_config_parse_string(); InstanceStart hands the parsed config to
 * (ops->start).  Afterwards it translates the runtime calls (pause, resume,
 * Ctrl-Alt-Del) into (ops) calls and refuses the pre-boot-only ones.
 *
 * Not thread-safe: one thread makes every call (the server's polling
 * thread). */
#ifndef VMRUN_API_HANDLER_H
#define VMRUN_API_HANDLER_H

#include <stdbool.h>
#include <stddef.h>

#include <stdatomic.h>

#include <cjson/cJSON.h>

#include "vmrun.h"

/* What the handler asks of the VM.  Each returns 0 or -errno. */
struct api_ops {
    /* Creates the VM from (cfg) (the callee copies what it keeps) and has
     * it started; called at most once successfully. */
    int (*start)(void *opaque, const struct vmrun_config *cfg);
    int (*pause)(void *opaque);  /* -EALREADY when paused */
    int (*resume)(void *opaque); /* -EALREADY when running */
    int (*is_paused)(void *opaque);
    int (*ctrl_alt_del)(void *opaque);
    /* Snapshots (docs/snapshot.md); NULL: not offered.  snapshot_create
     * saves the paused VM; snapshot_load builds and starts the VM from a
     * snapshot instead of (start) and writes a one-line reason into (err)
     * on failure. */
    int (*snapshot_create)(void *opaque, enum vmrun_snapshot_type type,
                           const char *state_path, const char *mem_path);
    int (*snapshot_load)(void *opaque, const struct vmrun_restore *r, char *err,
                         size_t err_len);
    /* Appends a metrics line now; -ENOENT without a "metrics" section. */
    int (*flush_metrics)(void *opaque);
    /* PUT /logger was accepted: the audit trail goes where (cfg)'s
     * "logger" section says from now on. */
    int (*set_logger)(void *opaque, const struct vmrun_config *cfg);
    /* The audit trail: one line per state-changing request. */
    void (*log)(void *opaque, enum vmrun_log_level level, const char *msg);
};

/* Requests counted for the metrics line, by method and outcome. */
enum api_method { API_GET, API_PUT, API_PATCH, API_OTHER, API_NR_METHODS };

struct api_handler {
    const struct api_ops *ops;
    void *opaque;
    cJSON *doc;   /* the config sections received, config-file schema */
    bool started; /* InstanceStart succeeded, or booted from a file */
    /* config_host_mem_mib(), read once by api_handler_init(): every PUT
     * validates the document against it. */
    uint64_t host_mem_mib;
    /* [method][0: 2xx, 1: 4xx]; written by the handler's thread, read by
     * api_handler_metrics() from any. */
    atomic_uint_fast64_t requests[API_NR_METHODS][2];
};

/* One answer: an HTTP status and a JSON body (NULL for 204).  The caller
 * frees (body). */
struct api_response {
    unsigned int status;
    char *body;
};

#define API_BODY_MAX (64 * 1024) /* larger request bodies are refused */

/* (ops) and (opaque) must outlive (h). */
int api_handler_init(struct api_handler *h, const struct api_ops *ops,
                     void *opaque) __attribute__((warn_unused_result));
void api_handler_fini(struct api_handler *h);

/* The VM was booted from a config file whose text is (json) (NULL: not
 * known): GET /vm/config returns it and pre-boot calls are refused. */
int api_handler_set_booted(struct api_handler *h, const char *json)
    __attribute__((warn_unused_result));

/* Handles one request.  (body) is (len) bytes, not necessarily
 * NUL-terminated; (path) is the URL path without the query.  Returns 0
 * with (out) filled, or -ENOMEM. */
int api_handler_request(struct api_handler *h, const char *method,
                        const char *path, const char *body, size_t len,
                        struct api_response *out)
    __attribute__((warn_unused_result));

/* {"api_server": {"GET": {"ok": N, "failed": N}, "PUT": ..., "PATCH":
 * ..., "other": ...}} as a new string (a vmrun_metrics_extra_fn), NULL on
 * ENOMEM.  Any thread. */
char *api_handler_metrics(void *h);

#endif
