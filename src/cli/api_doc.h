/* api_doc.h - the API server's config document: the sections received by
 * PUT/PATCH, kept as JSON in the config-file schema (docs/config.md), the
 * views GET returns, and validation through the config parser.  Internal
 * to src/cli/api_handler.c. */
#ifndef VMRUN_API_DOC_H
#define VMRUN_API_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "vmrun.h"

/* Replaces member (key) of object (obj) with (val), which (obj) then
 * owns. */
void api_doc_set(cJSON *obj, const char *key, cJSON *val);

/* Copies each member of (src) over (dst), replacing same-named ones; 0 or
 * -ENOMEM. */
int api_doc_overlay(cJSON *dst, const cJSON *src)
    __attribute__((warn_unused_result));

/* In array (key) of (doc) (created if absent), replaces the entry whose
 * (id_key) is (id) with (val), or appends (val); (doc) owns (val) on
 * success.  0 or -ENOMEM. */
int api_doc_put_entry(cJSON *doc, const char *key, const char *id_key,
                      const char *id, cJSON *val)
    __attribute__((warn_unused_result));

/* New object: (doc)'s machine-config over Firecracker's defaults (spec:
 * MachineConfiguration); NULL on -ENOMEM. */
cJSON *api_doc_machine_config(const cJSON *doc);

/* New object: GET /vm/config's answer (spec: FullVmConfiguration), the
 * document with the machine defaults and device arrays always present. */
cJSON *api_doc_view(const cJSON *doc);

/* Runs (doc) through config_parse_string() (relative paths against the
 * current directory) with the host's memory (host_mem_mib) (see there).
 * (partial): a document without a boot source is checked with a
 * placeholder kernel.  Returns 0 with (*cfg) set, -EINVAL with the
 * parser's line (minus its "<string>: " source) in (err), or another
 * -errno. */
int api_doc_parse(const cJSON *doc, bool partial, uint64_t host_mem_mib,
                  struct vmrun_config **cfg, char *err, size_t err_len)
    __attribute__((warn_unused_result));

#endif
