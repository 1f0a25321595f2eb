/* test_metrics.c - the metrics line writer: known counters in, the JSON
 * parsed back with cJSON and every value checked; the counter helpers; the
 * merge of an embedder's members; the metrics file (mode, appending). */
#include <check.h>

#include "check_main.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/metrics.h"

static double num(const cJSON *obj, const char *path)
{
    char buf[128], *save = NULL, *tok;
    const cJSON *v = obj;

    snprintf(buf, sizeof(buf), "%s", path);
    for (tok = strtok_r(buf, ".", &save); tok && v;
         tok = strtok_r(NULL, ".", &save))
        v = cJSON_GetObjectItemCaseSensitive(v, tok);
    ck_assert_msg(cJSON_IsNumber(v), "%s: not a number", path);
    return v->valuedouble;
}

START_TEST(counters_single_writer)
{
    struct vcpu_metrics vm = {0};
    struct blk_metrics bm = {0};
    struct metrics_vcpu v;
    struct metrics_drive d = {0};

    metrics_add(&vm.exits[METRICS_EXIT_MMIO], 1);
    metrics_add(&vm.exits[METRICS_EXIT_MMIO], 2);
    metrics_add(&vm.run_ns, 1000);
    metrics_vcpu_read(&vm, &v);
    ck_assert_uint_eq(v.exits[METRICS_EXIT_MMIO], 3);
    ck_assert_uint_eq(v.exits[METRICS_EXIT_IO], 0);
    ck_assert_uint_eq(v.run_ns, 1000);

    metrics_max(&bm.read_lat_max_us, 7);
    metrics_max(&bm.read_lat_max_us, 3);
    metrics_add(&bm.write_bytes, 4096);
    metrics_blk_read(&bm, &d);
    ck_assert_uint_eq(d.read_lat_max_us, 7);
    ck_assert_uint_eq(d.write_bytes, 4096);
    ck_assert_ptr_null(d.id);
}
END_TEST

START_TEST(exit_kinds)
{
    ck_assert_int_eq(metrics_exit_kind(KVM_EXIT_IO), METRICS_EXIT_IO);
    ck_assert_int_eq(metrics_exit_kind(KVM_EXIT_MMIO), METRICS_EXIT_MMIO);
    ck_assert_int_eq(metrics_exit_kind(KVM_EXIT_HLT), METRICS_EXIT_HLT);
    ck_assert_int_eq(metrics_exit_kind(KVM_EXIT_SHUTDOWN),
                     METRICS_EXIT_SHUTDOWN);
    ck_assert_int_eq(metrics_exit_kind(0xdeadbeef), METRICS_EXIT_OTHER);
}
END_TEST

/* Every field of the schema in docs/api.md, with known values. */
START_TEST(json_has_every_counter)
{
    struct metrics_vcpu vcpus[2] = {
        {.exits = {[METRICS_EXIT_IO] = 5, [METRICS_EXIT_MMIO] = 7},
         .run_ns = 123456789},
        {.exits = {[METRICS_EXIT_HLT] = 1}, .run_ns = 42},
    };
    struct metrics_drive drives[1] = {{.id = "rootfs",
                                       .read_ops = 3,
                                       .read_bytes = 3 * 65536,
                                       .write_ops = 2,
                                       .write_bytes = 8192,
                                       .flush_ops = 1,
                                       .errors = 4,
                                       .read_lat_us = 300,
                                       .read_lat_max_us = 200,
                                       .write_lat_us = 50,
                                       .write_lat_max_us = 30}};
    struct metrics_net nets[1] = {{.id = "eth0",
                                   .rx_bytes = 1500,
                                   .rx_packets = 1,
                                   .rx_dropped = 2,
                                   .tx_bytes = 60,
                                   .tx_packets = 1,
                                   .tx_dropped = 3,
                                   .tx_errors = 4}};
    struct metrics_snapshot s = {.utc_ms = 1764000000123ULL,
                                 .uptime_ms = 2500,
                                 .rss_bytes = 5 << 20,
                                 .nr_vcpus = 2,
                                 .nr_drives = 1,
                                 .nr_nets = 1,
                                 .vcpus = vcpus,
                                 .drives = drives,
                                 .nets = nets};
    cJSON *j = metrics_to_json(&s), *back;
    const cJSON *arr;
    char *text;

    ck_assert_ptr_nonnull(j);
    text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    ck_assert_ptr_null(strchr(text, '\n')); /* one line */
    back = cJSON_Parse(text);
    free(text);
    ck_assert_ptr_nonnull(back);
    ck_assert(num(back, "utc_timestamp_ms") == 1764000000123.0);
    ck_assert(num(back, "uptime_ms") == 2500);
    ck_assert(num(back, "vmm_rss_bytes") == 5 << 20);
    arr = cJSON_GetObjectItemCaseSensitive(back, "vcpus");
    ck_assert_int_eq(cJSON_GetArraySize(arr), 2);
    ck_assert(num(cJSON_GetArrayItem(arr, 0), "exits.io") == 5);
    ck_assert(num(cJSON_GetArrayItem(arr, 0), "exits.mmio") == 7);
    ck_assert(num(cJSON_GetArrayItem(arr, 0), "exits.hlt") == 0);
    ck_assert(num(cJSON_GetArrayItem(arr, 0), "exits_total") == 12);
    ck_assert(num(cJSON_GetArrayItem(arr, 0), "run_ns") == 123456789);
    ck_assert(num(cJSON_GetArrayItem(arr, 1), "exits.hlt") == 1);
    ck_assert(num(cJSON_GetArrayItem(arr, 1), "exits.other") == 0);
    ck_assert(num(back, "drives.rootfs.read_ops") == 3);
    ck_assert(num(back, "drives.rootfs.read_bytes") == 3 * 65536);
    ck_assert(num(back, "drives.rootfs.write_ops") == 2);
    ck_assert(num(back, "drives.rootfs.write_bytes") == 8192);
    ck_assert(num(back, "drives.rootfs.flush_ops") == 1);
    ck_assert(num(back, "drives.rootfs.errors") == 4);
    ck_assert(num(back, "drives.rootfs.read_latency_total_us") == 300);
    ck_assert(num(back, "drives.rootfs.read_latency_max_us") == 200);
    ck_assert(num(back, "drives.rootfs.write_latency_total_us") == 50);
    ck_assert(num(back, "drives.rootfs.write_latency_max_us") == 30);
    ck_assert(num(back, "network-interfaces.eth0.rx_bytes") == 1500);
    ck_assert(num(back, "network-interfaces.eth0.rx_packets") == 1);
    ck_assert(num(back, "network-interfaces.eth0.rx_dropped") == 2);
    ck_assert(num(back, "network-interfaces.eth0.tx_bytes") == 60);
    ck_assert(num(back, "network-interfaces.eth0.tx_packets") == 1);
    ck_assert(num(back, "network-interfaces.eth0.tx_dropped") == 3);
    ck_assert(num(back, "network-interfaces.eth0.tx_errors") == 4);
    cJSON_Delete(back);
}
END_TEST

/* No devices: the objects are still there, empty. */
START_TEST(json_empty_vm)
{
    struct metrics_snapshot s = {0};
    cJSON *j = metrics_to_json(&s);

    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "vcpus")), 0);
    ck_assert(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "drives")));
    ck_assert(cJSON_IsObject(
        cJSON_GetObjectItemCaseSensitive(j, "network-interfaces")));
    cJSON_Delete(j);
}
END_TEST

static uint64_t realtime_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The clock is the wall clock in ms; the RSS this process's.  Bounds from
 * CLOCK_REALTIME itself: time() reads the coarse clock, up to a tick
 * behind, and failed now and then. */
START_TEST(clock_and_rss)
{
    struct metrics_snapshot s = {0};
    uint64_t before = realtime_ms();

    int statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);

    ck_assert_int_ge(statm, 0);
    metrics_snapshot_clock_rss(&s, statm);
    close(statm);
    ck_assert_uint_ge(s.utc_ms, before);
    ck_assert_uint_le(s.utc_ms, realtime_ms());
    ck_assert_uint_gt(s.rss_bytes, 0);
    ck_assert_uint_lt(s.rss_bytes, 1ULL << 40);
}
END_TEST

START_TEST(merge_extra_members)
{
    cJSON *j = cJSON_CreateObject();
    char *text;

    cJSON_AddNumberToObject(j, "a", 1);
    cJSON_AddNumberToObject(j, "b", 2);
    ck_assert_int_eq(metrics_merge(j, NULL), 0);
    ck_assert_int_eq(metrics_merge(j, "not json"), 0);
    ck_assert_int_eq(metrics_merge(j, "[1]"), 0);
    ck_assert_int_eq(metrics_merge(j, "{\"b\": 5, \"api\": {\"n\": 3}}"), 0);
    text = cJSON_PrintUnformatted(j);
    ck_assert_str_eq(text, "{\"a\":1,\"b\":5,\"api\":{\"n\":3}}");
    free(text);
    cJSON_Delete(j);
}
END_TEST

START_TEST(file_appends_lines)
{
    char path[] = "/tmp/vmrun-test-metrics-XXXXXX", buf[128];
    struct metrics_file f = {.fd = -1};
    struct stat st;
    int fd = mkstemp(path);
    ssize_t n;

    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(path);
    ck_assert_int_eq(metrics_file_write(&f, "{}"), -EBADF);
    ck_assert_int_eq(metrics_file_open(&f, path), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_ne(fcntl(f.fd, F_GETFD) & FD_CLOEXEC, 0);
    ck_assert_int_eq(metrics_file_write(&f, "{\"n\":1}"), 0);
    metrics_file_close(&f);
    metrics_file_close(&f); /* idempotent */
    ck_assert_int_eq(metrics_file_open(&f, path), 0);
    ck_assert_int_eq(metrics_file_write(&f, "{\"n\":2}"), 0);
    metrics_file_close(&f);
    fd = open(path, O_RDONLY);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    unlink(path);
    ck_assert_int_ge(n, 0);
    buf[n] = '\0';
    ck_assert_str_eq(buf, "{\"n\":1}\n{\"n\":2}\n");
    ck_assert_int_eq(metrics_file_open(&f, "/nonexistent-dir/m"), -ENOENT);
}
END_TEST

/* The embedder frees its (opaque) as soon as vmrun_set_metrics_extra()
 * has replaced it: a metrics line being written on another thread must
 * not still be inside the old callback then. */
struct slow_extra {
    atomic_int entered, finished;
};

static char *slow_extra_fn(void *opaque)
{
    struct slow_extra *x = opaque;

    atomic_store(&x->entered, 1);
    usleep(200000);
    atomic_store(&x->finished, 1);
    return strdup("{\"slow\": 1}");
}

static void *merge_thread(void *arg)
{
    struct metrics_extra *mx = arg;
    cJSON *j = cJSON_CreateObject();

    ck_assert_int_eq(metrics_extra_merge(mx, j), 0);
    ck_assert_ptr_nonnull(cJSON_GetObjectItem(j, "slow"));
    cJSON_Delete(j);
    return NULL;
}

START_TEST(extra_set_waits_for_call)
{
    struct slow_extra x = {0};
    struct metrics_extra mx;
    pthread_t t;
    cJSON *j;

    metrics_extra_init(&mx);
    metrics_extra_set(&mx, slow_extra_fn, &x);
    ck_assert_int_eq(pthread_create(&t, NULL, merge_thread, &mx), 0);
    while (!atomic_load(&x.entered))
        usleep(1000);
    metrics_extra_set(&mx, NULL, NULL);
    ck_assert_int_eq(atomic_load(&x.finished), 1);
    pthread_join(t, NULL);
    j = cJSON_CreateObject();
    ck_assert_int_eq(metrics_extra_merge(&mx, j), 0);
    ck_assert_ptr_null(j->child); /* removed: no members */
    cJSON_Delete(j);
    metrics_extra_fini(&mx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");

    tcase_add_test(tc, counters_single_writer);
    tcase_add_test(tc, exit_kinds);
    tcase_add_test(tc, json_has_every_counter);
    tcase_add_test(tc, json_empty_vm);
    tcase_add_test(tc, clock_and_rss);
    tcase_add_test(tc, merge_extra_members);
    tcase_add_test(tc, file_appends_lines);
    tcase_add_test(tc, extra_set_waits_for_call);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
