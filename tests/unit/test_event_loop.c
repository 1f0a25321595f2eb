/* test_event_loop.c - starting and stopping the event loop thread: a
 * second start keeps the one thread, and stops from two threads at once
 * (a pause on the API thread racing the teardown in vm_wait()) join it
 * once and leave a loop that starts again. */
#include <check.h>

#include "check_main.h"
#include <pthread.h>
#include <stdatomic.h>

#include "core/event_loop.h"

static atomic_int threads; /* loop threads started */

static int started(void)
{
    return atomic_load(&threads);
}

static int count_thread(void *opaque)
{
    (void)opaque;
    atomic_fetch_add(&threads, 1);
    return 0;
}

static struct event_loop *new_loop(void)
{
    static const struct logger log = {NULL, NULL, VMRUN_LOG_ERROR, false};
    struct event_loop *loop;

    ck_assert_int_eq(event_loop_create(&log, &loop), 0);
    event_loop_set_init(loop, count_thread, NULL);
    atomic_store(&threads, 0);
    return loop;
}

START_TEST(second_start_keeps_one_thread)
{
    struct event_loop *loop = new_loop();

    ck_assert_int_eq(event_loop_start(loop), 0);
    ck_assert_int_eq(event_loop_start(loop), 0);
    event_loop_stop(loop);
    event_loop_stop(loop); /* idempotent */
    ck_assert_int_eq(started(), 1);
    ck_assert_int_eq(event_loop_start(loop), 0); /* starts again */
    event_loop_destroy(loop);
    ck_assert_int_eq(started(), 2);
}
END_TEST

struct racer {
    struct event_loop *loop;
    pthread_barrier_t *go;
};

static void *stop_racer(void *arg)
{
    struct racer *r = arg;

    pthread_barrier_wait(r->go);
    event_loop_stop(r->loop);
    return NULL;
}

START_TEST(concurrent_stops_join_once)
{
    struct event_loop *loop = new_loop();
    pthread_barrier_t go;
    struct racer r = {loop, &go};
    int rounds = 500;

    pthread_barrier_init(&go, NULL, 3);
    for (int i = 0; i < rounds; i++) {
        pthread_t a, b;

        ck_assert_int_eq(event_loop_start(loop), 0);
        ck_assert_int_eq(pthread_create(&a, NULL, stop_racer, &r), 0);
        ck_assert_int_eq(pthread_create(&b, NULL, stop_racer, &r), 0);
        pthread_barrier_wait(&go);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
    }
    pthread_barrier_destroy(&go);
    event_loop_destroy(loop);
    ck_assert_int_eq(started(), rounds);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("event_loop");
    TCase *tc = tcase_create("event_loop");

    tcase_add_test(tc, second_start_keeps_one_thread);
    tcase_add_test(tc, concurrent_stops_join_once);
    suite_add_tcase(s, tc);
    return check_run_suite(s);
}
