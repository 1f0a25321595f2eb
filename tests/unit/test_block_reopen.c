/* test_block_reopen.c - the Async engine's O_DIRECT descriptor is the
 * image that block_open() checked and locked, even when the path names
 * another file by the time it is reopened.  open() and open64() are
 * wrapped at link time (-Wl,--wrap): an O_DIRECT open first renames an
 * impostor over the image's path, the race a local user could win. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/backend/block.h"
#include "check_main.h"
#include "core/config.h"

int __real_open(const char *path, int flags, ...);
int __real_open64(const char *path, int flags, ...);

static char dir[PATH_MAX - 64], image[PATH_MAX], impostor[PATH_MAX];
static int swaps; /* renames done by the wrapper */

/* Before an O_DIRECT open: the impostor takes the image's name. */
static void race(int flags)
{
    if ((flags & O_DIRECT) && impostor[0] && rename(impostor, image) == 0)
        swaps++;
}

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
}

int __wrap_open(const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;

    va_start(ap, flags);
    mode = mode_arg(flags, ap);
    va_end(ap);
    race(flags);
    return __real_open(path, flags, mode);
}

int __wrap_open64(const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;

    va_start(ap, flags);
    mode = mode_arg(flags, ap);
    va_end(ap);
    race(flags);
    return __real_open64(path, flags, mode);
}

static void file_make(const char *path, char fill)
{
    static char block[64 * 1024];
    int fd = __real_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    ck_assert_int_ge(fd, 0);
    memset(block, fill, sizeof(block));
    ck_assert_int_eq(write(fd, block, sizeof(block)), (ssize_t)sizeof(block));
    close(fd);
}

/* Open descriptors of this process on the file (ino). */
static int fds_on(ino_t ino)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    struct stat st;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d) &&
            fstat(atoi(e->d_name), &st) == 0 && st.st_ino == ino)
            n++;
    closedir(d);
    return n;
}

static void setup(void)
{
    const char *base = getenv("VMRUN_BUILDDIR");

    /* tmpfs may lack O_DIRECT: a folder on the build's file system. */
    snprintf(dir, sizeof(dir), "%s/block-reopen-XXXXXX",
             base ? base : "/var/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(image, sizeof(image), "%s/image", dir);
    snprintf(impostor, sizeof(impostor), "%s/impostor", dir);
    file_make(image, 'i');
    file_make(impostor, 'x');
    swaps = 0;
}

static void teardown(void)
{
    unlink(image);
    unlink(impostor);
    rmdir(dir);
}

START_TEST(async_reopen_keeps_the_checked_file)
{
    struct drive_config cfg = {
        .drive_id = "d", .path_on_host = image, .io_engine = IO_ENGINE_ASYNC};
    struct logger log = {0};
    struct block_backend *be = NULL;
    struct stat orig, imp;

    ck_assert_int_eq(stat(image, &orig), 0);
    ck_assert_int_eq(stat(impostor, &imp), 0);
    ck_assert_int_eq(block_open(&cfg, &log, 8, &be), 0);
    if (!be->direct) {
        be->ops->destroy(be);
        return; /* no O_DIRECT on this file system: nothing reopened */
    }
    /* Whether or not the race ran (the /proc/self/fd reopen may not be an
     * open() of the path at all), no descriptor names the impostor. */
    ck_assert_int_eq(fds_on(imp.st_ino), 0);
    ck_assert_int_ge(fds_on(orig.st_ino), 2); /* the checked fd and dfd */
    be->ops->destroy(be);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("block_reopen");
    TCase *tc = tcase_create("block_reopen");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, async_reopen_keeps_the_checked_file);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
