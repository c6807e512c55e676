/* sigaction handler + raise/kill/tgkill, handler sees the right signal and
 * siginfo, the old action is returned, SIG_IGN discards. */
#include "common.h"

static volatile sig_atomic_t hits, last_sig, last_code_user;

static void handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    hits++;
    last_sig = sig;
    last_code_user = (si->si_code == SI_USER || si->si_code == SI_TKILL);
}

int main(void) {
    setup();
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, &old) == 0);
    printf("old action was default: %s\n", yesno(old.sa_handler == SIG_DFL));

    report("raise SIGUSR1", raise(SIGUSR1));
    printf("hits=%d sig=%s user=%s\n", (int)hits, sigabbrev_np(last_sig), yesno(last_code_user));

    report("kill self SIGUSR1", kill(getpid(), SIGUSR1));
    printf("hits=%d\n", (int)hits);

    report("tgkill self SIGUSR1", syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1));
    printf("hits=%d\n", (int)hits);

    CHECK(sigaction(SIGUSR1, NULL, &old) == 0);
    printf("query returns our handler: %s, SA_SIGINFO set: %s\n",
           yesno(old.sa_sigaction == handler), yesno(old.sa_flags & SA_SIGINFO));

    /* Same handler on several signals. */
    int sigs[] = {SIGUSR2, SIGHUP, SIGTERM, SIGRTMIN, SIGRTMIN + 5};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        CHECK(sigaction(sigs[i], &sa, NULL) == 0);
        raise(sigs[i]);
        printf("after raise %zu: hits=%d last is right: %s\n", i, (int)hits, yesno(last_sig == sigs[i]));
    }

    /* SIG_IGN: the signal is discarded. */
    signal(SIGUSR2, SIG_IGN);
    raise(SIGUSR2);
    printf("after ignored raise: hits=%d\n", (int)hits);

    /* Invalid operations. */
    report("sigaction SIGKILL", sigaction(SIGKILL, &sa, NULL));
    report("sigaction SIGSTOP", sigaction(SIGSTOP, &sa, NULL));
    report("sigaction signal 0", sigaction(0, &sa, NULL));
    report("sigaction signal 65", syscall(SYS_rt_sigaction, 65, NULL, NULL, 8));
    report("kill with signal 0 (probe self)", kill(getpid(), 0));
    report("kill invalid signal", kill(getpid(), 1000));
    return 0;
}
