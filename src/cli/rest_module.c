/* rest_module.c - loads the REST server module (see rest_module.h). */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/api_server.h"
#include "cli/rest_module.h"

#define REST_MODULE_NAME "vmrun-api.so"

struct rest_server {
    const struct api_server_fns *fns;
    void *handle; /* RTLD_NODELETE: closing it never unmaps the module */
    struct api_server *srv;
};

/* (out) = the folder of /proc/self/exe, "/", REST_MODULE_NAME; -errno. */
static int exe_dir_module(char *out, size_t size)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *slash;

    if (n < 0)
        return -errno;
    exe[n] = 0;
    slash = strrchr(exe, '/');
    if (!slash)
        return -ENOENT;
    *slash = 0;
    if ((size_t)snprintf(out, size, "%s/%s", exe, REST_MODULE_NAME) >= size)
        return -ENAMETOOLONG;
    return 0;
}

/* The module's handle, from the executable's folder first, then the
 * install's module folder; NULL with a line on stderr. */
static void *load_module(void)
{
    const int flags = RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE;
    const char *installed = VMRUN_MODULE_DIR "/" REST_MODULE_NAME;
    char local[PATH_MAX];
    void *h = NULL;

    if (exe_dir_module(local, sizeof(local)) == 0 && access(local, F_OK) == 0)
        h = dlopen(local, flags);
    else
        h = dlopen(installed, flags);
    if (!h)
        fprintf(stderr, "vmrun: api-sock: cannot load the REST server: %s\n",
                dlerror());
    return h;
}

int rest_open(const char *path, const struct vmrun_create_opts *opts,
              struct rest_server **out)
{
    struct rest_server *s = calloc(1, sizeof(*s));
    int ret;

    if (!s)
        return -ENOMEM;
    s->handle = load_module();
    if (s->handle)
        s->fns = dlsym(s->handle, API_SERVER_FNS_SYMBOL);
    if (!s->fns) {
        if (s->handle) {
            fprintf(stderr, "vmrun: api-sock: %s has no %s\n", REST_MODULE_NAME,
                    API_SERVER_FNS_SYMBOL);
            dlclose(s->handle);
        }
        free(s);
        return -ELIBACC;
    }
    ret = s->fns->open(path, opts, &s->srv);
    if (ret < 0) {
        dlclose(s->handle);
        free(s);
        return ret;
    }
    *out = s;
    return 0;
}

int rest_start(struct rest_server *s, struct vmrun_vm *vm,
               const struct vmrun_config *cfg, const char *config_path)
{
    return s->fns->start(s->srv, vm, cfg, config_path);
}

int rest_wait_vm(struct rest_server *s, int wake_fd, struct vmrun_vm **vm)
{
    return s->fns->wait_vm(s->srv, wake_fd, vm);
}

void rest_close(struct rest_server *s)
{
    if (!s)
        return;
    s->fns->close(s->srv);
    dlclose(s->handle);
    free(s);
}
