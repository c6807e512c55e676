/* signalfd: reading blocked signals as records (kill, sigqueue values,
 * SIGCHLD status), non-blocking EAGAIN, poll/epoll readiness, blocking
 * reads woken by another process's kill, mask updates, small buffers. */
#include "common.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

static void show(const struct signalfd_siginfo *s, pid_t me) {
    printf("signo %u code %d from-me %s int %d\n", s->ssi_signo, s->ssi_code,
           yesno(s->ssi_pid == (uint32_t)me), s->ssi_int);
}

int main(void) {
    pid_t me = getpid();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGRTMIN);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    printf("signalfd: %s\n", yesno(fd >= 0));
    struct signalfd_siginfo si;
    ssize_t n = read(fd, &si, sizeof si);
    printf("empty read: %zd %s\n", n, n < 0 ? strerrorname_np(errno) : "");
    struct pollfd p = {fd, POLLIN, 0};
    printf("poll empty: %d\n", poll(&p, 1, 0));

    kill(me, SIGUSR1);
    union sigval v = {.sival_int = 1234};
    sigqueue(me, SIGRTMIN, v);
    sigqueue(me, SIGRTMIN, (union sigval){.sival_int = 5678});
    int pr = poll(&p, 1, 0);
    printf("poll pending: %d revents %#x\n", pr, p.revents);
    struct signalfd_siginfo many[4];
    n = read(fd, many, sizeof many);
    printf("read %zd records\n", n / (ssize_t)sizeof(struct signalfd_siginfo));
    for (int i = 0; i < n / (ssize_t)sizeof many[0]; i++)
        show(&many[i], me);
    n = read(fd, &si, 64);
    printf("small buffer: %zd %s\n", n, n < 0 ? strerrorname_np(errno) : "");

    /* SIGCHLD through the signalfd. */
    pid_t c = fork();
    if (c == 0)
        _exit(7);
    struct pollfd pc = {fd, POLLIN, 0};
    poll(&pc, 1, 5000);
    n = read(fd, &si, sizeof si);
    printf("sigchld: %zd signo %u status %d pid-ok %s\n", n, si.ssi_signo, si.ssi_status,
           yesno(si.ssi_pid == (uint32_t)c));
    waitpid(c, NULL, 0);

    /* Blocking read woken by another process; epoll sees it too. */
    int bfd = signalfd(-1, &set, 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 9};
    epoll_ctl(ep, EPOLL_CTL_ADD, bfd, &ev);
    c = fork();
    if (c == 0) {
        usleep(50000);
        kill(getppid(), SIGUSR2);
        _exit(0);
    }
    struct epoll_event out;
    int er = epoll_wait(ep, &out, 1, 5000);
    printf("epoll_wait: %d data %u\n", er, out.data.u32);
    n = read(bfd, &si, sizeof si);
    printf("blocking read: signo %u\n", si.ssi_signo);
    waitpid(c, NULL, 0);
    /* The child's exit left a SIGCHLD: drop it. */
    read(fd, &si, sizeof si);

    /* Narrowing the mask: SIGUSR1 is no longer read. */
    sigset_t only2;
    sigemptyset(&only2);
    sigaddset(&only2, SIGUSR2);
    printf("update mask: %s\n", yesno(signalfd(fd, &only2, 0) == fd));
    kill(me, SIGUSR1);
    n = read(fd, &si, sizeof si);
    printf("read after narrowing: %zd %s\n", n, n < 0 ? strerrorname_np(errno) : "");
    sigset_t pend;
    sigpending(&pend);
    printf("SIGUSR1 still pending: %s\n", yesno(sigismember(&pend, SIGUSR1)));
    printf("signalfd on a non-signalfd: %s\n",
           signalfd(0, &only2, 0) < 0 ? strerrorname_np(errno) : "ok");
    printf("bad flags: %s\n", signalfd(-1, &only2, 0x1) < 0 ? strerrorname_np(errno) : "ok");
    return 0;
}
