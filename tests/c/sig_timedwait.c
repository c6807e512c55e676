/* rt_sigtimedwait / sigwaitinfo / sigwait on blocked signals. */
#include "common.h"

int main(void) {
    setup();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGRTMIN + 2);
    CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0);

    raise(SIGUSR2);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    struct timespec ts = {1, 0};
    int s = sigtimedwait(&set, &si, &ts);
    printf("sigtimedwait got: %s, si_signo matches: %s, from self: %s\n", s > 0 ? sigabbrev_np(s) : "none",
           yesno(si.si_signo == s), yesno(si.si_pid == getpid()));

    struct timespec shortt = {0, 20 * 1000 * 1000};
    double t0 = mono_now();
    s = sigtimedwait(&set, &si, &shortt);
    double dt = mono_now() - t0;
    printf("timeout: ret=%d errno=%s waited>=15ms: %s\n", s, s < 0 ? errname(errno) : "-", yesno(dt >= 0.015));

    struct timespec zero = {0, 0};
    s = sigtimedwait(&set, &si, &zero);
    printf("zero timeout poll: ret=%d errno=%s\n", s, s < 0 ? errname(errno) : "-");

    /* Queued real-time signal with a value from another process. */
    fflush(stdout);
    pid_t parent = getpid();
    pid_t c = fork();
    if (c == 0) {
        union sigval v = {.sival_int = 77};
        sigqueue(parent, SIGRTMIN + 2, v);
        _exit(0);
    }
    memset(&si, 0, sizeof si);
    s = sigwaitinfo(&set, &si);
    printf("sigwaitinfo: is SIGRTMIN+2: %s, code SI_QUEUE: %s, value=%d, from child: %s\n",
           yesno(s == SIGRTMIN + 2), yesno(si.si_code == SI_QUEUE), si.si_value.sival_int, yesno(si.si_pid == c));
    int st;
    waitpid(c, &st, 0);

    /* sigwait: the lowest-numbered pending signal first. */
    raise(SIGRTMIN + 2);
    raise(SIGUSR2);
    int got = 0;
    CHECK(sigwait(&set, &got) == 0);
    printf("sigwait first: %s\n", sigabbrev_np(got));
    CHECK(sigwait(&set, &got) == 0);
    printf("sigwait second is SIGRTMIN+2: %s\n", yesno(got == SIGRTMIN + 2));

    /* An invalid timespec. */
    struct timespec bad = {0, 2000000000L};
    s = sigtimedwait(&set, &si, &bad);
    printf("bad timespec: ret=%d errno=%s\n", s, s < 0 ? errname(errno) : "-");
    return 0;
}
