/* api_doc.c - the API server's config document (see api_doc.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/api_doc.h"
#include "core/config.h"

#define STRING_SOURCE "<string>: " /* vmrun_config_parse_string()'s prefix */

/* In place when (key) exists, so GET answers keep their key order. */
void api_doc_set(cJSON *obj, const char *key, cJSON *val)
{
    if (!cJSON_GetObjectItemCaseSensitive(obj, key) ||
        !cJSON_ReplaceItemInObjectCaseSensitive(obj, key, val))
        cJSON_AddItemToObject(obj, key, val);
}

int api_doc_overlay(cJSON *dst, const cJSON *src)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, src)
    {
        cJSON *dup = cJSON_Duplicate(it, 1);

        if (!dup)
            return -ENOMEM;
        api_doc_set(dst, it->string, dup);
    }
    return 0;
}

int api_doc_put_entry(cJSON *doc, const char *key, const char *id_key,
                      const char *id, cJSON *val)
{
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, key), *it;
    int i = 0;

    if (!arr && !(arr = cJSON_AddArrayToObject(doc, key)))
        return -ENOMEM;
    cJSON_ArrayForEach(it, arr)
    {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, id_key);

        if (cJSON_IsString(k) && strcmp(k->valuestring, id) == 0)
            return cJSON_ReplaceItemInArray(arr, i, val) ? 0 : -ENOMEM;
        i++;
    }
    return cJSON_AddItemToArray(arr, val) ? 0 : -ENOMEM;
}

cJSON *api_doc_machine_config(const cJSON *doc)
{
    cJSON *mc = cJSON_CreateObject();

    if (!mc || !cJSON_AddNumberToObject(mc, "vcpu_count", 1) ||
        !cJSON_AddNumberToObject(mc, "mem_size_mib", 128) ||
        !cJSON_AddFalseToObject(mc, "smt") ||
        !cJSON_AddFalseToObject(mc, "track_dirty_pages") ||
        !cJSON_AddStringToObject(mc, "cpu_template", "None") ||
        !cJSON_AddStringToObject(mc, "huge_pages", "None") ||
        api_doc_overlay(
            mc, cJSON_GetObjectItemCaseSensitive(doc, "machine-config")) < 0) {
        cJSON_Delete(mc);
        return NULL;
    }
    return mc;
}

cJSON *api_doc_view(const cJSON *doc)
{
    cJSON *v = cJSON_Duplicate(doc, 1);
    cJSON *mc = api_doc_machine_config(doc);

    if (!v || !mc) {
        cJSON_Delete(v);
        cJSON_Delete(mc);
        return NULL;
    }
    api_doc_set(v, "machine-config", mc);
    if ((!cJSON_GetObjectItemCaseSensitive(v, "drives") &&
         !cJSON_AddArrayToObject(v, "drives")) ||
        (!cJSON_GetObjectItemCaseSensitive(v, "network-interfaces") &&
         !cJSON_AddArrayToObject(v, "network-interfaces"))) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

/* A copy of (doc) for validation.  Before InstanceStart the boot source
 * may still be missing, so (partial) lends one whose kernel is a file
 * every process can read: the parser only checks that it is a readable,
 * non-empty regular file (/proc/self/exe leads to the running binary). */
static cJSON *doc_for_parse(const cJSON *doc, bool partial)
{
    cJSON *v = cJSON_Duplicate(doc, 1), *bs;

    if (!v || !partial || cJSON_GetObjectItemCaseSensitive(v, "boot-source"))
        return v;
    bs = cJSON_AddObjectToObject(v, "boot-source");
    if (!bs ||
        !cJSON_AddStringToObject(bs, "kernel_image_path", "/proc/self/exe")) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

int api_doc_parse(const cJSON *doc, bool partial, uint64_t host_mem_mib,
                  struct vmrun_config **cfg, char *err, size_t err_len)
{
    cJSON *v = doc_for_parse(doc, partial);
    char *text = v ? cJSON_PrintUnformatted(v) : NULL;
    size_t n = strlen(STRING_SOURCE);
    int rc = -ENOMEM;

    err[0] = '\0';
    if (text)
        rc = config_parse_string(text, NULL, host_mem_mib, cfg, err, err_len);
    free(text);
    cJSON_Delete(v);
    if (rc < 0 && err_len > n && strncmp(err, STRING_SOURCE, n) == 0) {
        size_t len = strnlen(err + n, err_len - n - 1);

        memmove(err, err + n, len);
        err[len] = '\0';
    }
    if (rc < 0 && err[0])
        rc = -EINVAL; /* the parser named the problem */
    return rc;
}
