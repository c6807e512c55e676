/* poll/ppoll, select/pselect and epoll on pipes, with timeouts. */
#include "common.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>

int main(void) {
    setup();
    int p[2];
    CHECK(pipe(p) == 0);

    /* poll: timeout on an empty pipe, writable write end, readable after write. */
    struct pollfd fds[2] = {{.fd = p[0], .events = POLLIN}, {.fd = p[1], .events = POLLOUT}};
    double t0 = mono_now();
    int r = poll(fds, 1, 50);
    double dt = mono_now() - t0;
    printf("poll empty pipe 50ms: ret=%d waited>=45ms: %s\n", r, yesno(dt >= 0.045));
    r = poll(fds, 2, 0);
    printf("poll both, timeout 0: ret=%d read revents=%d write POLLOUT=%s\n", r, fds[0].revents,
           yesno(fds[1].revents & POLLOUT));
    write_all(p[1], "x", 1);
    r = poll(fds, 1, -1);
    printf("poll after write: ret=%d POLLIN=%s\n", r, yesno(fds[0].revents & POLLIN));
    struct pollfd bad = {.fd = 999, .events = POLLIN};
    r = poll(&bad, 1, 0);
    printf("poll bad fd: ret=%d POLLNVAL=%s\n", r, yesno(bad.revents & POLLNVAL));
    struct pollfd neg = {.fd = -1, .events = POLLIN};
    r = poll(&neg, 1, 0);
    printf("poll negative fd ignored: ret=%d revents=%d\n", r, neg.revents);
    struct timespec ts = {0, 10 * 1000 * 1000};
    sigset_t mask;
    sigemptyset(&mask);
    r = ppoll(fds, 1, &ts, &mask);
    printf("ppoll with data: ret=%d\n", r);

    /* select */
    char c;
    CHECK(read(p[0], &c, 1) == 1);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    struct timeval tv = {0, 50 * 1000};
    t0 = mono_now();
    r = select(p[0] + 1, &rs, NULL, NULL, &tv);
    dt = mono_now() - t0;
    printf("select empty 50ms: ret=%d set=%s waited>=45ms: %s timeval consumed: %s\n", r, yesno(FD_ISSET(p[0], &rs)),
           yesno(dt >= 0.045), yesno(tv.tv_sec == 0 && tv.tv_usec == 0));
    write_all(p[1], "y", 1);
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    fd_set ws;
    FD_ZERO(&ws);
    FD_SET(p[1], &ws);
    tv.tv_sec = 1;
    tv.tv_usec = 0;
    r = select(p[1] + 1, &rs, &ws, NULL, &tv);
    printf("select readable+writable: ret=%d r=%s w=%s\n", r, yesno(FD_ISSET(p[0], &rs)), yesno(FD_ISSET(p[1], &ws)));
    /* A closed descriptor (low numbered, so inside the fd table). */
    int closed = dup(0);
    CHECK(closed >= 0);
    close(closed);
    FD_ZERO(&rs);
    FD_SET(closed, &rs);
    tv.tv_sec = 0;
    tv.tv_usec = 0;
    r = select(closed + 1, &rs, NULL, NULL, &tv);
    printf("select bad fd: ret=%d errno=%s\n", r, r < 0 ? errname(errno) : "-");
    struct timespec pts = {0, 0};
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    r = pselect(p[0] + 1, &rs, NULL, NULL, &pts, &mask);
    printf("pselect ready: ret=%d\n", r);
    CHECK(read(p[0], &c, 1) == 1);

    /* epoll */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK(ep >= 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0xabcdef};
    report("epoll_ctl ADD", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    report("epoll_ctl ADD again", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    struct epoll_event out[4];
    t0 = mono_now();
    r = epoll_wait(ep, out, 4, 50);
    dt = mono_now() - t0;
    printf("epoll_wait empty 50ms: ret=%d waited>=45ms: %s\n", r, yesno(dt >= 0.045));
    write_all(p[1], "z", 1);
    r = epoll_wait(ep, out, 4, 1000);
    printf("epoll_wait after write: ret=%d data=%llx EPOLLIN=%s\n", r, (unsigned long long)out[0].data.u64,
           yesno(out[0].events & EPOLLIN));
    /* Level-triggered: still ready; edge-triggered: only once. */
    r = epoll_wait(ep, out, 4, 0);
    printf("level-triggered again: ret=%d\n", r);
    ev.events = EPOLLIN | EPOLLET;
    report("epoll_ctl MOD to ET", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
    r = epoll_wait(ep, out, 4, 0);
    printf("ET first: ret=%d\n", r);
    r = epoll_wait(ep, out, 4, 0);
    printf("ET second: ret=%d\n", r);
    write_all(p[1], "w", 1);
    r = epoll_wait(ep, out, 4, 0);
    printf("ET after new data: ret=%d\n", r);
    /* Hangup when the write end closes. */
    ev.events = EPOLLIN;
    epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev);
    close(p[1]);
    r = epoll_wait(ep, out, 4, 0);
    printf("after writer closed: ret=%d EPOLLHUP=%s\n", r, yesno(out[0].events & EPOLLHUP));
    report("epoll_ctl DEL", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
    report("epoll_ctl DEL missing", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
    int file = open("/etc/passwd", O_RDONLY);
    report("epoll_ctl ADD regular file", epoll_ctl(ep, EPOLL_CTL_ADD, file, &ev));
    report("epoll_ctl ADD itself", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev));
    report("epoll_wait maxevents 0", epoll_wait(ep, out, 0, 0));
    r = epoll_pwait(ep, out, 4, 20, &mask);
    printf("epoll_pwait empty set: ret=%d\n", r);

    /* Wakeup from another process. */
    int q[2];
    CHECK(pipe(q) == 0);
    ev.events = EPOLLIN;
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &ev) == 0);
    fflush(stdout);
    pid_t k = fork();
    if (k == 0) {
        usleep(30000);
        write_all(q[1], "k", 1);
        _exit(0);
    }
    r = epoll_wait(ep, out, 4, 5000);
    printf("woken by child: ret=%d\n", r);
    int st;
    waitpid(k, &st, 0);
    return 0;
}
