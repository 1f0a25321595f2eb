/* rest_module.c - loads the REST server module (see rest_module.h). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/api_server.h"
#include "cli/rest_module.h"
#include "cli/rest_paths.h"

#define REST_MODULE_NAME "vmrun-api.so"

struct rest_server {
    const struct api_server_fns *fns;
    void *handle; /* RTLD_NODELETE: closing it never unmaps the module */
    struct api_server *srv;
};

/* (path) = the module's path: in the build folder when the running
 * executable lies in it (a command run from its build), else in the
 * install's module folder.  -errno. */
static int module_path(char *path, size_t size)
{
    char exe[PATH_MAX], build[PATH_MAX];
    const char *dir = VMRUN_MODULE_DIR;
    size_t n;

    if (realpath("/proc/self/exe", exe) && realpath(VMRUN_BUILD_DIR, build)) {
        n = strlen(build);
        if (strncmp(exe, build, n) == 0 && exe[n] == '/')
            dir = VMRUN_BUILD_DIR;
    }
    if ((size_t)snprintf(path, size, "%s/%s", dir, REST_MODULE_NAME) >= size)
        return -ENAMETOOLONG;
    return 0;
}

/* Root's vmrun runs the code it loads as root: the module and its folder
 * must belong to root or to this user and be writable by nobody else.
 * The reason, or NULL. */
static const char *untrusted(const struct stat *st)
{
    if (st->st_uid != 0 && st->st_uid != geteuid())
        return "owned by another user";
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return "writable by group or others";
    return NULL;
}

/* Opens (path) for dlopen() after checking it and its folder; the fd, or
 * -1 with (*why) set. */
static int open_module(const char *path, const char **why)
{
    char dir[PATH_MAX];
    struct stat st;
    char *slash;
    int fd;

    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    if (stat(slash ? dir : ".", &st) < 0)
        return *why = strerror(errno), -1;
    if ((*why = untrusted(&st)) != NULL)
        return -1;
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return *why = strerror(errno), -1;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return *why = "not a regular file", -1;
    }
    if ((*why = untrusted(&st)) != NULL) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The module's table, checked to come from a build like this one; NULL
 * with a line on stderr. */
static const struct api_server_fns *load_module(void **handle)
{
    const struct api_server_fns *fns;
    char path[PATH_MAX], fdpath[64];
    const char *why = NULL;
    int fd;

    if (module_path(path, sizeof(path)) < 0) {
        fprintf(stderr, "vmrun: api-sock: the REST server's path is too "
                        "long\n");
        return NULL;
    }
    fd = open_module(path, &why);
    if (fd < 0) {
        fprintf(stderr, "vmrun: api-sock: cannot load the REST server %s: %s\n",
                path, why);
        return NULL;
    }
    /* The file checked, not whatever the path names by now. */
    snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
    *handle = dlopen(fdpath, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    close(fd);
    if (!*handle) {
        fprintf(stderr, "vmrun: api-sock: cannot load the REST server %s: %s\n",
                path, dlerror());
        return NULL;
    }
    fns = dlsym(*handle, API_SERVER_FNS_SYMBOL);
    if (!fns || strcmp(fns->version, VMRUN_VERSION) != 0 ||
        fns->fns_size != sizeof(*fns) ||
        fns->opts_size != sizeof(struct vmrun_create_opts)) {
        fprintf(stderr,
                "vmrun: api-sock: %s is not the REST server of this vmrun "
                "(%s)\n",
                path, VMRUN_VERSION);
        dlclose(*handle);
        return NULL;
    }
    return fns;
}

int rest_open(const char *path, const struct vmrun_create_opts *opts,
              struct rest_server **out)
{
    struct rest_server *s = calloc(1, sizeof(*s));
    int ret;

    if (!s)
        return -ENOMEM;
    s->fns = load_module(&s->handle);
    if (!s->fns) {
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
