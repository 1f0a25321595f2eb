/* embed.c - boots a VM from a config file through libvmrun and exits with
 * the guest's status.  Build against the installed library:
 *   cc embed.c $(pkg-config --cflags --libs vmrun) -o embed */
#include <stdio.h>
#include <vmrun.h>

static void log_line(void *opaque, enum vmrun_log_level level, const char *msg)
{
    fprintf(stderr, "embed: %s\n", msg);
}

int main(int argc, char **argv)
{
    struct vmrun_create_opts opts = {log_line, NULL, VMRUN_LOG_WARN};
    struct vmrun_config *cfg;
    struct vmrun_vm *vm;
    struct vmrun_exit ex = {VMRUN_EXIT_ERROR, 1};
    char err[256];

    if (argc != 2 || vmrun_config_parse_file(argv[1], &cfg, err, sizeof(err)))
        return fprintf(stderr, "usage: embed CONFIG.json (%s)\n", err), 2;
    if (vmrun_create(cfg, &opts, &vm) == 0) {
        vmrun_run(vm, &ex);
        vmrun_destroy(vm);
    }
    vmrun_config_free(cfg);
    printf("guest exit: %s, status %d\n", vmrun_exit_reason_name(ex.reason),
           ex.status);
    return ex.status;
}
