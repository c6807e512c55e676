/* Internet sockets that do not block, and blocking ones that stop:
 * non-blocking connect/accept with poll, select and epoll (level and edge
 * triggered), MSG_DONTWAIT, FIONBIO; SO_RCVTIMEO/SO_SNDTIMEO timeouts
 * (EAGAIN, EINPROGRESS-free), signals interrupting a blocked accept and
 * recv (EINTR without SA_RESTART, restart with it, EINTR with a timeout
 * set even with SA_RESTART). */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/socket.h>

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

static int listener(struct sockaddr_in *a) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CHECK(s >= 0);
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(s, (struct sockaddr *)a, sizeof *a) == 0);
    CHECK(listen(s, 8) == 0);
    socklen_t l = sizeof *a;
    CHECK(getsockname(s, (struct sockaddr *)a, &l) == 0);
    return s;
}

static void set_handler(int restart) {
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
}

static void alarm_in_ms(long ms) {
    struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
}

static void nonblocking(void) {
    struct sockaddr_in la;
    int ls = listener(&la);
    report("accept with nothing queued", accept(ls, NULL, NULL));
    struct pollfd p = {.fd = ls, .events = POLLIN};
    report("poll listener (nothing queued, 0 ms)", poll(&p, 1, 0));

    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int r = connect(c, (struct sockaddr *)&la, sizeof la);
    printf("non-blocking connect: %s\n", r == 0 ? "done at once" : (errno == EINPROGRESS ? "in progress" : errname(errno)));
    struct pollfd cp = {.fd = c, .events = POLLOUT};
    CHECK(poll(&cp, 1, 5000) == 1);
    printf("connecting socket writable: %s\n", yesno(cp.revents & POLLOUT));
    int err = -1;
    socklen_t el = sizeof err;
    CHECK(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el) == 0);
    printf("SO_ERROR after connect: %d\n", err);
    p.revents = 0;
    CHECK(poll(&p, 1, 5000) == 1);
    printf("listener readable: %s\n", yesno(p.revents & POLLIN));
    int a = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
    CHECK(a >= 0);
    printf("accept4 SOCK_NONBLOCK: %s\n", yesno(fcntl(a, F_GETFL) & O_NONBLOCK));
    char buf[64];
    report("recv with nothing to read", recv(a, buf, sizeof buf, 0));

    /* select */
    fd_set rf;
    FD_ZERO(&rf);
    FD_SET(a, &rf);
    struct timeval tv = {0, 50000};
    report("select on a quiet socket (50 ms)", select(a + 1, &rf, NULL, NULL, &tv));
    CHECK(write(c, "ping", 4) == 4);
    FD_ZERO(&rf);
    FD_SET(a, &rf);
    tv.tv_sec = 5;
    report("select after the peer wrote", select(a + 1, &rf, NULL, NULL, &tv));
    int n = -1;
    CHECK(ioctl(a, FIONREAD, &n) == 0);
    printf("FIONREAD: %d\n", n);

    /* epoll, level-triggered then edge-triggered */
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev) == 0);
    struct epoll_event out[4];
    int k = epoll_wait(ep, out, 4, 1000);
    printf("epoll LT: %d event(s), data %u, EPOLLIN %s\n", k, out[0].data.u32, yesno(out[0].events & EPOLLIN));
    k = epoll_wait(ep, out, 4, 0);
    printf("epoll LT again without reading: %d\n", k);
    CHECK(recv(a, buf, sizeof buf, 0) == 4);
    k = epoll_wait(ep, out, 4, 50);
    printf("epoll LT after draining (50 ms): %d\n", k);
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    CHECK(epoll_ctl(ep, EPOLL_CTL_MOD, a, &ev) == 0);
    k = epoll_wait(ep, out, 4, 1000);
    printf("epoll ET: %d event(s), OUT %s, IN %s\n", k, yesno(out[0].events & EPOLLOUT), yesno(out[0].events & EPOLLIN));
    k = epoll_wait(ep, out, 4, 50);
    printf("epoll ET again, nothing new (50 ms): %d\n", k);
    CHECK(write(c, "pong", 4) == 4);
    k = epoll_wait(ep, out, 4, 1000);
    printf("epoll ET after new data: %d event(s), IN %s\n", k, yesno(k > 0 && (out[0].events & EPOLLIN)));
    CHECK(recv(a, buf, sizeof buf, MSG_DONTWAIT) == 4);
    report("MSG_DONTWAIT on a drained socket", recv(a, buf, sizeof buf, MSG_DONTWAIT));
    close(c);
    k = epoll_wait(ep, out, 4, 1000);
    printf("epoll after peer close: %d event(s), IN %s, RDHUP-free HUP %s\n", k,
           yesno(k > 0 && (out[0].events & EPOLLIN)), yesno(k > 0 && (out[0].events & EPOLLHUP)));
    report("recv after peer close", recv(a, buf, sizeof buf, 0));
    close(ep);
    close(a);

    /* FIONBIO makes a blocking socket non-blocking. */
    int b = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    CHECK(ioctl(b, FIONBIO, &on) == 0);
    r = connect(b, (struct sockaddr *)&la, sizeof la);
    printf("FIONBIO connect: %s\n", r == 0 ? "done at once" : (errno == EINPROGRESS ? "in progress" : errname(errno)));
    report("connect again while or after connecting", connect(b, (struct sockaddr *)&la, sizeof la) == 0 || errno == EISCONN || errno == EALREADY ? 0 : -1);
    close(b);
    close(ls);
}

static void timeouts(void) {
    struct sockaddr_in la;
    int ls = listener(&la);
    int fl = fcntl(ls, F_GETFL);
    CHECK(fcntl(ls, F_SETFL, fl & ~O_NONBLOCK) == 0);
    struct timeval tv = {0, 100000};
    CHECK(setsockopt(ls, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    double t0 = mono_now();
    report("accept with SO_RCVTIMEO 100 ms", accept(ls, NULL, NULL));
    printf("waited at least 90 ms: %s\n", yesno(mono_now() - t0 >= 0.09));

    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&la, sizeof la) == 0);
    int a = accept(ls, NULL, NULL);
    CHECK(a >= 0);
    struct timeval got;
    socklen_t gl = sizeof got;
    CHECK(getsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &got, &gl) == 0);
    printf("accepted socket inherits SO_RCVTIMEO: %ld.%06ld\n", (long)got.tv_sec, (long)got.tv_usec);
    CHECK(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    char buf[16];
    t0 = mono_now();
    report("recv with SO_RCVTIMEO 100 ms", recv(c, buf, sizeof buf, 0));
    printf("waited at least 90 ms: %s\n", yesno(mono_now() - t0 >= 0.09));
    report("read with SO_RCVTIMEO 100 ms", read(c, buf, sizeof buf));
    /* A full send buffer with SO_SNDTIMEO: the send stops with the count
     * it moved (or EAGAIN if none). */
    int small = 4096;
    CHECK(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
    CHECK(setsockopt(a, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
    CHECK(setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0);
    static char big[8 << 20];
    ssize_t n = send(c, big, sizeof big, 0);
    printf("send of 8 MiB with SO_SNDTIMEO: partial %s\n", yesno(n > 0 && n < (ssize_t)sizeof big));
    report("next send with a full buffer", send(c, big, sizeof big, 0));

    /* Signals. */
    set_handler(0);
    tv.tv_sec = 0;
    tv.tv_usec = 0;
    CHECK(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    alarm_in_ms(100);
    report("blocked recv, SIGALRM handler without SA_RESTART", recv(c, buf, sizeof buf, 0));
    close(a);
    close(c);
    CHECK(setsockopt(ls, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    alarm_in_ms(100);
    report("blocked accept, SIGALRM handler without SA_RESTART", accept(ls, NULL, NULL));
    printf("alarms: %d\n", (int)alarms);

    /* With SA_RESTART the accept restarts and gets the connection a
     * child makes later. */
    set_handler(1);
    fflush(stdout);
    pid_t k = fork();
    if (k == 0) {
        usleep(300000);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        _exit(connect(s, (struct sockaddr *)&la, sizeof la) == 0 ? 0 : 1);
    }
    alarm_in_ms(100);
    int r = accept(ls, NULL, NULL);
    printf("accept with SA_RESTART: %s, alarms: %d\n", r >= 0 ? "connection" : errname(errno), (int)alarms);
    int st;
    CHECK(waitpid(k, &st, 0) == k);
    close(r);

    /* A timeout makes an interrupted call fail with EINTR even with
     * SA_RESTART (Linux's sock_intr_errno). */
    tv.tv_sec = 5;
    CHECK(setsockopt(ls, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    alarm_in_ms(100);
    report("accept with SO_RCVTIMEO 5 s, SA_RESTART, interrupted", accept(ls, NULL, NULL));
    printf("alarms: %d\n", (int)alarms);
    close(ls);
}

int main(void) {
    setup();
    nonblocking();
    timeouts();
    return 0;
}
