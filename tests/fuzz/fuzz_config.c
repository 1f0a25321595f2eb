/* fuzz_config.c - libFuzzer harness for the JSON config parser
 * (src/core/config.c, src/core/config_json.c): the input is the config text.
 *
 * Checked beyond the sanitizers: success and failure are exclusive (a
 * config xor a message), a refusal returns -errno with one non-empty line
 * that fits the caller's buffer, exactly the size given (heap-allocated, so
 * ASan sees one byte too many).  Relative paths resolve against "/" so a
 * seed can name files that exist on any Linux host; the parser only reads
 * the file system. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "vmrun.h"

static void parse_one(const char *json, size_t err_len)
{
    struct vmrun_config *cfg = (struct vmrun_config *)&cfg;
    char *err = malloc(err_len);
    int ret;

    if (!err)
        return;
    err[0] = '\0';
    ret = vmrun_config_parse_string(json, "/", &cfg, err, err_len);
    if (ret == 0) {
        FUZZ_CHECK(cfg != NULL);
        vmrun_config_free(cfg);
    } else {
        FUZZ_CHECK(ret < 0 && ret > -4096 && cfg == NULL);
        FUZZ_CHECK(memchr(err, '\0', err_len) != NULL);
        FUZZ_CHECK(err[0] != '\0' || err_len == 1);
        FUZZ_CHECK(strchr(err, '\n') == NULL);
    }
    free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = malloc(size + 1);

    if (!json)
        return 0;
    memcpy(json, data, size);
    json[size] = '\0';
    parse_one(json, 256);
    /* A short buffer: messages are truncated, never overrun. */
    parse_one(json, 1 + size % 24);
    free(json);
    return 0;
}
