/* test_util.c - open_output(), the policy for every file vmrun writes, and
 * check_input(), the config-time check of input files (src/core/util.c). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "check_main.h"
#include "core/util.h"

#define OUT_FLAGS (O_WRONLY | O_CREAT | O_APPEND)

static char dir[64];

static void dir_setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/vmrun-util-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void dir_teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *in_dir(char *buf, const char *name)
{
    snprintf(buf, PATH_MAX, "%s/%s", dir, name);
    return buf;
}

START_TEST(regular_file_created_and_appended)
{
    char p[PATH_MAX], buf[16] = "";
    int fd = open_output(in_dir(p, "log"), OUT_FLAGS, 0600, 0);
    struct stat st;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "ab", 2), 2);
    ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    close(fd);
    fd = open_output(p, OUT_FLAGS, 0600, OUTPUT_ALLOW_FIFO);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "cd", 2), 2);
    close(fd);
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    fd = open(p, O_RDONLY);
    ck_assert_int_eq(read(fd, buf, sizeof(buf) - 1), 4);
    close(fd);
    ck_assert_str_eq(buf, "abcd");
}
END_TEST

/* O_TRUNC truncates an accepted file only. */
START_TEST(truncate_only_when_accepted)
{
    char p[PATH_MAX];
    int fd = open(in_dir(p, "state"), O_WRONLY | O_CREAT, 0600);
    struct stat st;

    ck_assert_int_eq(write(fd, "old data", 8), 8);
    close(fd);
    fd = open_output(p, O_WRONLY | O_TRUNC, 0, 0);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_eq(st.st_size, 0);
}
END_TEST

START_TEST(symlink_refused)
{
    char p[PATH_MAX], t[PATH_MAX];
    struct stat st;

    in_dir(t, "target");
    ck_assert_int_eq(symlink(t, in_dir(p, "link")), 0);
    /* Dangling: O_CREAT must not create the target through the link. */
    ck_assert_int_eq(open_output(p, OUT_FLAGS, 0600, 0), -ELOOP);
    ck_assert_int_ne(stat(t, &st), 0);
    close(open(t, O_WRONLY | O_CREAT, 0600));
    ck_assert_int_eq(open_output(p, OUT_FLAGS, 0600, OUTPUT_ALLOW_FIFO),
                     -ELOOP);
    ck_assert_str_eq(open_output_strerror(-ELOOP), "is a symbolic link");
}
END_TEST

START_TEST(directory_refused)
{
    ck_assert_int_eq(open_output(dir, OUT_FLAGS, 0600, OUTPUT_ALLOW_FIFO),
                     -EINVAL);
    ck_assert_str_eq(open_output_strerror(-EINVAL), "not a regular file");
}
END_TEST

START_TEST(fifo_without_reader)
{
    char p[PATH_MAX];

    ck_assert_int_eq(mkfifo(in_dir(p, "fifo"), 0600), 0);
    /* Without the flag a FIFO is refused, reader or not. */
    ck_assert_int_eq(open_output(p, OUT_FLAGS, 0600, 0), -EINVAL);
    /* With it, no reader answers at once instead of blocking. */
    ck_assert_int_eq(open_output(p, OUT_FLAGS, 0600, OUTPUT_ALLOW_FIFO),
                     -ENXIO);
    ck_assert_str_eq(open_output_strerror(-ENXIO), "no reader on FIFO");
}
END_TEST

START_TEST(fifo_with_reader)
{
    char p[PATH_MAX], buf[8] = "";
    int rd, fd;

    ck_assert_int_eq(mkfifo(in_dir(p, "fifo"), 0600), 0);
    rd = open(p, O_RDONLY | O_NONBLOCK);
    ck_assert_int_ge(rd, 0);
    fd = open_output(p, OUT_FLAGS, 0600, OUTPUT_ALLOW_FIFO);
    ck_assert_int_ge(fd, 0);
    /* Stays non-blocking: a stalled reader never stalls vmrun. */
    ck_assert_int_ne(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    ck_assert_int_eq(write(fd, "hi", 2), 2);
    ck_assert_int_eq(read(rd, buf, sizeof(buf)), 2);
    ck_assert_str_eq(buf, "hi");
    close(fd);
    close(rd);
}
END_TEST

START_TEST(socket_refused)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int s = socket(AF_UNIX, SOCK_STREAM, 0);

    ck_assert_int_ge(s, 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(open_output(sa.sun_path, OUT_FLAGS, 0600, 0), -EINVAL);
    ck_assert_int_eq(
        open_output(sa.sun_path, OUT_FLAGS, 0600, OUTPUT_ALLOW_FIFO), -EINVAL);
    close(s);
}
END_TEST

START_TEST(device_refused)
{
    ck_assert_int_eq(open_output("/dev/null", OUT_FLAGS, 0600, 0), -EINVAL);
    ck_assert_int_eq(
        open_output("/dev/null", OUT_FLAGS, 0600, OUTPUT_ALLOW_FIFO), -EINVAL);
}
END_TEST

/* A regular file on procfs is a kernel knob: refused whether or not the
 * process could write it.  /proc/self/comm is writable by its owner, so
 * the refusal here is the policy's, not a permission error. */
START_TEST(proc_file_refused)
{
    char comm[32] = "", after[32] = "";
    int fd = open("/proc/self/comm", O_RDONLY);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_gt(read(fd, comm, sizeof(comm) - 1), 0);
    close(fd);
    ck_assert_int_eq(open_output("/proc/self/comm", O_WRONLY, 0, 0), -EXDEV);
    ck_assert_int_eq(open_output("/proc/self/comm", O_WRONLY | O_TRUNC, 0, 0),
                     -EXDEV);
    fd = open("/proc/self/comm", O_RDONLY);
    ck_assert_int_gt(read(fd, after, sizeof(after) - 1), 0);
    close(fd);
    ck_assert_str_eq(comm, after);
    ck_assert_ptr_nonnull(strstr(open_output_strerror(-EXDEV), "pseudo"));
}
END_TEST

START_TEST(sysfs_file_refused)
{
    int ret = open_output("/sys/kernel/uevent_helper", O_WRONLY, 0, 0);

    /* -EXDEV when writable (root), else the open's own -EACCES/-ENOENT. */
    ck_assert_int_lt(ret, 0);
}
END_TEST

/* The crash dump's way: the folder opened first, the file in it later,
 * by name, under the same policy, wherever the folder went meanwhile. */
START_TEST(output_in_opened_dir)
{
    char p[PATH_MAX], moved[PATH_MAX], sub[PATH_MAX];
    const char *name = NULL;
    struct stat st, root;
    int dfd, fd;

    ck_assert_int_eq(mkdir(in_dir(sub, "d"), 0700), 0);
    dfd = output_dir_open(in_dir(p, "d/g.core"), &name);
    ck_assert_int_ge(dfd, 0);
    ck_assert_str_eq(name, "g.core");
    ck_assert_int_ne(fcntl(dfd, F_GETFD) & FD_CLOEXEC, 0);
    ck_assert_int_eq(rename(sub, in_dir(moved, "moved")), 0);
    fd = open_output_at(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600, 0);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(stat(in_dir(p, "moved/g.core"), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    /* The same refusals as open_output(). */
    ck_assert_int_eq(symlink("/etc/passwd", in_dir(p, "moved/link")), 0);
    ck_assert_int_eq(open_output_at(dfd, "link", OUT_FLAGS, 0600, 0), -ELOOP);
    ck_assert_int_eq(mkfifo(in_dir(p, "moved/fifo"), 0600), 0);
    ck_assert_int_eq(open_output_at(dfd, "fifo", OUT_FLAGS, 0600, 0), -EINVAL);
    close(dfd);
    /* A bare name is in the working directory; "/x" in "/". */
    dfd = output_dir_open("g.core", &name);
    ck_assert_int_ge(dfd, 0);
    ck_assert_str_eq(name, "g.core");
    close(dfd);
    dfd = output_dir_open("/g.core", &name);
    ck_assert_int_ge(dfd, 0);
    ck_assert_str_eq(name, "g.core");
    ck_assert_int_eq(fstat(dfd, &st), 0);
    ck_assert_int_eq(stat("/", &root), 0);
    ck_assert(st.st_dev == root.st_dev && st.st_ino == root.st_ino);
    close(dfd);
    ck_assert_int_eq(output_dir_open(in_dir(p, "none/g.core"), &name), -ENOENT);
    fd = open(in_dir(p, "file"), O_WRONLY | O_CREAT, 0600);
    close(fd);
    ck_assert_int_eq(output_dir_open(in_dir(p, "file/g.core"), &name),
                     -ENOTDIR);
}
END_TEST

START_TEST(input_checks)
{
    char p[PATH_MAX];
    int fd = open(in_dir(p, "kernel"), O_WRONLY | O_CREAT, 0600);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(check_input(p, false, 1), -ENODATA);
    ck_assert_int_eq(check_input(p, false, 0), 0);
    ck_assert_int_eq(write(fd, "x", 1), 1);
    close(fd);
    ck_assert_int_eq(check_input(p, false, 1), 0);
    ck_assert_int_eq(check_input("/dev/null", false, 0), -EINVAL);
    ck_assert_int_eq(check_input("/dev/null", true, 0), -EINVAL);
    ck_assert_int_eq(check_input(dir, true, 0), -EINVAL);
    ck_assert_int_eq(check_input(in_dir(p, "none"), true, 0), -ENOENT);
    ck_assert_int_eq(mkfifo(in_dir(p, "fifo"), 0600), 0);
    ck_assert_int_eq(check_input(p, true, 0), -EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("open_output");

    tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
    tcase_add_test(tc, regular_file_created_and_appended);
    tcase_add_test(tc, truncate_only_when_accepted);
    tcase_add_test(tc, symlink_refused);
    tcase_add_test(tc, directory_refused);
    tcase_add_test(tc, fifo_without_reader);
    tcase_add_test(tc, fifo_with_reader);
    tcase_add_test(tc, socket_refused);
    tcase_add_test(tc, device_refused);
    tcase_add_test(tc, proc_file_refused);
    tcase_add_test(tc, sysfs_file_refused);
    tcase_add_test(tc, output_in_opened_dir);
    tcase_add_test(tc, input_checks);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
