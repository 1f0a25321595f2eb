/* test_log.c - log lines: the call site with show_log_origin, the level
 * filter, and the log file of the "logger" section (mode, format, one
 * line per message). */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

static char got[1100];
static int calls;

static void capture(void *opaque, enum vmrun_log_level level, const char *msg)
{
    calls++;
    snprintf(got, sizeof(got), "%d %s", (int)level, msg);
}

START_TEST(level_and_origin)
{
    struct logger log = {capture, NULL, VMRUN_LOG_INFO, false};
    int line;

    log_msg(&log, VMRUN_LOG_DEBUG, "hidden %d", 1);
    ck_assert_int_eq(calls, 0);
    log_msg(&log, VMRUN_LOG_INFO, "shown %d", 2);
    ck_assert_str_eq(got, "2 shown 2");
    log.show_origin = true;
    line = __LINE__ + 1;
    log_msg(&log, VMRUN_LOG_WARN, "here");
    snprintf(got + 600, 100, "1 tests/unit/test_log.c:%d: here", line);
    ck_assert_str_eq(got, got + 600);
    log_msg(NULL, VMRUN_LOG_ERROR, "no logger");
    ck_assert_int_eq(calls, 2);
}
END_TEST

/* A config, request or guest cannot start a new log line or steer the
 * terminal: every message is escaped in the formatter. */
START_TEST(messages_are_one_printable_line)
{
    struct logger log = {capture, NULL, VMRUN_LOG_DEBUG, false};

    log_msg(&log, VMRUN_LOG_INFO, "drive '%s': bad",
            "x\n2026-01-01T00:00:00Z [vmrun:Error] forged\r\t\x1b[2J\x7f");
    ck_assert_str_eq(got, "2 drive 'x\\n2026-01-01T00:00:00Z [vmrun:Error] "
                          "forged\\r\\t\\x1b[2J\\x7f': bad");
    /* UTF-8 stays; broken sequences, overlong forms, surrogates and C1
     * controls (U+009B is CSI) are shown as bytes. */
    log_msg(&log, VMRUN_LOG_INFO, "%s",
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    ck_assert_str_eq(got, "2 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    log_msg(
        &log, VMRUN_LOG_INFO, "%s",
        "\xc3 \xc0\xaf \xed\xa0\x80 \xc2\x9b \xf4\x90\x80\x80 \xff\xe2\x82");
    ck_assert_str_eq(got, "2 \\xc3 \\xc0\\xaf \\xed\\xa0\\x80 \\xc2\\x9b "
                          "\\xf4\\x90\\x80\\x80 \\xff\\xe2\\x82");
}
END_TEST

/* log_escape() cuts before an escape that does not fit, never inside. */
START_TEST(escape_truncates_whole)
{
    char buf[8];

    ck_assert_uint_eq(log_escape(buf, sizeof(buf), "abcd\n"), 6);
    ck_assert_str_eq(buf, "abcd\\n");
    ck_assert_uint_eq(log_escape(buf, sizeof(buf), "abcd\x01"), 4);
    ck_assert_str_eq(buf, "abcd");
    ck_assert_uint_eq(log_escape(buf, sizeof(buf), "abcdef\xc3\xa9"), 6);
    ck_assert_str_eq(buf, "abcdef");
    ck_assert_uint_eq(log_escape(buf, 1, "abc"), 0);
    ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(log_file_lines)
{
    char path[] = "/tmp/vmrun-test-log-XXXXXX", buf[512];
    struct log_file *f;
    struct stat st;
    int fd = mkstemp(path);
    ssize_t n;

    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(path);
    ck_assert_int_eq(log_file_open("/nonexistent-dir/x", false, &f), -ENOENT);
    ck_assert_int_eq(log_file_open(path, true, &f), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    log_file_write(f, VMRUN_LOG_INFO, "VM paused");
    log_file_write(f, VMRUN_LOG_ERROR, "two\nlines");
    f->show_level = false;
    log_file_write(f, VMRUN_LOG_DEBUG, "plain");
    log_file_close(f);
    fd = open(path, O_RDONLY);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    unlink(path);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    /* 2026-01-31T12:00:00.000000Z [vmrun:Info] VM paused */
    ck_assert_msg(buf[4] == '-' && buf[10] == 'T' && buf[26] == 'Z', "%s", buf);
    ck_assert_msg(strstr(buf, "Z [vmrun:Info] VM paused\n"), "%s", buf);
    ck_assert_msg(strstr(buf, "Z [vmrun:Error] two lines\n"), "%s", buf);
    ck_assert_msg(strstr(buf, "Z [vmrun] plain\n"), "%s", buf);
    ck_assert_int_eq(log_level_name(VMRUN_LOG_WARN)[0], 'W');
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("log");

    tcase_add_test(tc, level_and_origin);
    tcase_add_test(tc, log_file_lines);
    tcase_add_test(tc, messages_are_one_printable_line);
    tcase_add_test(tc, escape_truncates_whole);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
