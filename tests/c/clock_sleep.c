/* clock_gettime monotonic increases; nanosleep/clock_nanosleep sleep at least
 * as long as requested; clock_getres; invalid clocks. */
#include "common.h"
#include <sys/time.h>

static double ts2d(struct timespec t) { return (double)t.tv_sec + (double)t.tv_nsec / 1e9; }

int main(void) {
    setup();
    struct timespec a, b;
    int mono_ok = 1;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0);
    for (int i = 0; i < 1000; i++) {
        CHECK(clock_gettime(CLOCK_MONOTONIC, &b) == 0);
        mono_ok &= ts2d(b) >= ts2d(a);
        a = b;
    }
    printf("monotonic never goes backwards: %s\n", yesno(mono_ok));
    printf("tv_nsec in range: %s\n", yesno(b.tv_nsec >= 0 && b.tv_nsec < 1000000000L));

    struct timespec rt;
    CHECK(clock_gettime(CLOCK_REALTIME, &rt) == 0);
    printf("realtime after 2020: %s\n", yesno(rt.tv_sec > 1577836800L));
    struct timeval tv;
    CHECK(gettimeofday(&tv, NULL) == 0);
    printf("gettimeofday within 5s of realtime: %s\n", yesno(labs((long)tv.tv_sec - (long)rt.tv_sec) <= 5));
    time_t t = time(NULL);
    printf("time() within 5s: %s\n", yesno(labs((long)t - (long)rt.tv_sec) <= 5));

    clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_MONOTONIC_RAW,
                          CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID, CLOCK_MONOTONIC_COARSE};
    for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        struct timespec x;
        int r = clock_gettime(clocks[i], &x);
        printf("clock %d gettime ok: %s\n", (int)clocks[i], yesno(r == 0));
    }
    struct timespec res;
    CHECK(clock_getres(CLOCK_MONOTONIC, &res) == 0);
    printf("monotonic resolution <= 1ms: %s\n", yesno(res.tv_sec == 0 && res.tv_nsec <= 1000000));
    report("clock_gettime invalid clock", clock_gettime(12345, &res));
    report("raw clock_gettime bad pointer", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (void *)8));

    /* nanosleep at least the requested time. */
    double durations[] = {0.001, 0.02, 0.1};
    for (size_t i = 0; i < 3; i++) {
        struct timespec req = {0, (long)(durations[i] * 1e9)};
        double t0 = mono_now();
        int r = nanosleep(&req, NULL);
        double dt = mono_now() - t0;
        printf("nanosleep %.3fs: ret=%d slept>=requested: %s slept<requested+2s: %s\n", durations[i], r,
               yesno(dt >= durations[i]), yesno(dt < durations[i] + 2));
    }
    struct timespec badreq = {0, 1000000000L};
    report("nanosleep tv_nsec too big", nanosleep(&badreq, NULL));
    struct timespec negreq = {-1, 0};
    report("nanosleep negative", nanosleep(&negreq, NULL));

    /* Absolute clock_nanosleep. */
    struct timespec now, until;
    clock_gettime(CLOCK_MONOTONIC, &now);
    until = now;
    until.tv_nsec += 30 * 1000 * 1000;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    clock_gettime(CLOCK_MONOTONIC, &now);
    printf("clock_nanosleep TIMER_ABSTIME: ret=%d reached deadline: %s\n", r, yesno(ts2d(now) >= ts2d(until)));
    struct timespec past = {0, 0};
    printf("absolute sleep in the past returns at once: %d\n", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL));

    /* CPU time advances with work. */
    struct timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    volatile unsigned long x = 0;
    for (unsigned long i = 0; i < 50000000UL; i++)
        x += i;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    printf("process cpu time advanced: %s\n", yesno(ts2d(c1) > ts2d(c0)));

    /* Interval timer. */
    struct itimerval it = {{0, 0}, {0, 20000}}, old;
    signal(SIGALRM, SIG_IGN);
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    CHECK(getitimer(ITIMER_REAL, &old) == 0);
    printf("getitimer remaining <= 20ms: %s\n", yesno(old.it_value.tv_sec == 0 && old.it_value.tv_usec <= 20000));
    return 0;
}
