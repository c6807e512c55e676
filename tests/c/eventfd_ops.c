/* eventfd counters, semaphore mode, nonblocking, with poll. */
#include "common.h"
#include <poll.h>
#include <sys/eventfd.h>

int main(void) {
    setup();
    int e = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(e >= 0);
    uint64_t v = 0;
    report("read empty nonblocking", read(e, &v, 8));
    v = 3;
    report("write 3", write(e, &v, 8));
    v = 4;
    report("write 4", write(e, &v, 8));
    v = 0;
    report("read", read(e, &v, 8));
    printf("value: %llu\n", (unsigned long long)v);
    report("read small buffer", read(e, &v, 4));
    v = UINT64_MAX;
    report("write UINT64_MAX", write(e, &v, 8));
    v = UINT64_MAX - 1;
    report("write max-1 to empty", write(e, &v, 8));
    v = 1;
    report("write 1 when full (EAGAIN)", write(e, &v, 8));
    struct pollfd pf = {.fd = e, .events = POLLIN | POLLOUT};
    int pr = poll(&pf, 1, 0);
    printf("poll full counter: ret=%d in=%s out=%s\n", pr, yesno(pf.revents & POLLIN),
           yesno(pf.revents & POLLOUT));
    CHECK(read(e, &v, 8) == 8);
    printf("drained value == max-1: %s\n", yesno(v == UINT64_MAX - 1));
    close(e);

    /* Semaphore mode: each read returns 1. */
    int s = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
    CHECK(s >= 0);
    for (int i = 0; i < 4; i++) {
        v = 0;
        ssize_t n = read(s, &v, 8);
        printf("sem read %d: n=%zd value=%llu%s\n", i, n, (unsigned long long)v, n < 0 ? " (EAGAIN)" : "");
    }
    close(s);

    /* Blocking read woken by another process through a shared eventfd. */
    int b = eventfd(0, 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        usleep(20000);
        uint64_t one = 42;
        ssize_t w = write(b, &one, 8);
        _exit(w == 8 ? 0 : 1);
    }
    v = 0;
    report("blocking read", read(b, &v, 8));
    printf("got %llu from child\n", (unsigned long long)v);
    int st;
    waitpid(c, &st, 0);
    report("eventfd bad flags", eventfd(0, 0x12345));
    return 0;
}
