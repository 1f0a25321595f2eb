/* two_vms.c - runs two VMs at once in one process through libvmrun and
 * prints each one's exit: the proof that the library keeps no global
 * state.  Usage: two_vms CONFIG_A CONFIG_B; exit 0 when both ran. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <vmrun.h>

struct job {
    const char *path;
    struct vmrun_vm *vm;
    struct vmrun_exit exit;
    int ret;
};

static void log_stderr(void *opaque, enum vmrun_log_level level,
                       const char *msg)
{
    fprintf(stderr, "[%s] %s\n", ((struct job *)opaque)->path, msg);
}

static void *run(void *arg)
{
    struct job *j = arg;

    j->ret = vmrun_run(j->vm, &j->exit);
    return NULL;
}

static int create(struct job *j)
{
    struct vmrun_create_opts opts = {
        .log_fn = log_stderr, .log_opaque = j, .log_level = VMRUN_LOG_WARN};
    struct vmrun_config *cfg;
    char err[256];
    int ret = vmrun_config_parse_file(j->path, &cfg, err, sizeof(err));

    if (ret < 0) {
        fprintf(stderr, "%s\n", err);
        return ret;
    }
    ret = vmrun_create(cfg, &opts, &j->vm);
    vmrun_config_free(cfg);
    return ret;
}

int main(int argc, char **argv)
{
    struct job jobs[2] = {{.path = argc > 1 ? argv[1] : ""},
                          {.path = argc > 2 ? argv[2] : ""}};
    pthread_t t[2];

    if (argc != 3) {
        fprintf(stderr, "usage: two_vms CONFIG_A CONFIG_B\n");
        return 2;
    }
    for (int i = 0; i < 2; i++)
        if (create(&jobs[i]) < 0)
            return 1;
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, run, &jobs[i]);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        printf("vm%d: ret=%d reason=%s status=%d\n", i, jobs[i].ret,
               vmrun_exit_reason_name(jobs[i].exit.reason),
               jobs[i].exit.status);
        vmrun_destroy(jobs[i].vm);
    }
    return jobs[0].ret || jobs[1].ret;
}
