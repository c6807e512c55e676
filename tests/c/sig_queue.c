/* sigqueue with a value, checked through SA_SIGINFO fields. */
#include "common.h"

static volatile int got_signo, got_code, got_value, got_pid_self, got_uid_ok, count;

static void handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    count++;
    got_signo = si->si_signo == sig;
    got_code = si->si_code;
    got_value = si->si_value.sival_int;
    got_pid_self = si->si_pid == getpid();
    got_uid_ok = si->si_uid == getuid();
}

int main(void) {
    setup();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    CHECK(sigaction(SIGRTMIN, &sa, NULL) == 0);

    union sigval v = {.sival_int = 1234};
    report("sigqueue SIGUSR1", sigqueue(getpid(), SIGUSR1, v));
    printf("count=%d signo ok=%s si_code SI_QUEUE=%s si_value=%d si_pid self=%s si_uid ok=%s\n", count,
           yesno(got_signo), yesno(got_code == SI_QUEUE), got_value, yesno(got_pid_self), yesno(got_uid_ok));

    /* kill() gives SI_USER. */
    kill(getpid(), SIGUSR1);
    printf("kill: si_code SI_USER=%s\n", yesno(got_code == SI_USER));

    /* Queued RT signals keep their values in order. */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &s, NULL);
    for (int i = 1; i <= 4; i++) {
        union sigval w = {.sival_int = i * 100};
        CHECK(sigqueue(getpid(), SIGRTMIN, w) == 0);
    }
    for (int i = 0; i < 4; i++) {
        siginfo_t si;
        struct timespec ts = {1, 0};
        CHECK(sigtimedwait(&s, &si, &ts) == SIGRTMIN);
        printf("rt queued value %d\n", si.si_value.sival_int);
    }

    /* rt_sigqueueinfo with si_code SI_USER on another process is refused. */
    siginfo_t forged;
    memset(&forged, 0, sizeof forged);
    forged.si_signo = SIGUSR1;
    forged.si_code = SI_KERNEL;
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        pause();
        _exit(0);
    }
    report("rt_sigqueueinfo forged SI_KERNEL to child", syscall(SYS_rt_sigqueueinfo, c, SIGUSR1, &forged));
    kill(c, SIGKILL);
    int st;
    waitpid(c, &st, 0);
    print_status("child", st);
    /* A pid that just exited and was reaped no longer exists. */
    fflush(stdout);
    pid_t gone = fork();
    if (gone == 0)
        _exit(0);
    waitpid(gone, &st, 0);
    report("sigqueue to reaped pid", sigqueue(gone, SIGUSR1, v));
    return 0;
}
