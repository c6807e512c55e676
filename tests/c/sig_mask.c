/* sigprocmask: a blocked signal stays pending and is delivered on unblock. */
#include "common.h"

static volatile sig_atomic_t hits;
static void handler(int sig) { (void)sig; hits++; }

int main(void) {
    setup();
    signal(SIGUSR1, handler);
    signal(SIGUSR2, handler);
    sigset_t set, old, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
    printf("SIGUSR1 was blocked before: %s\n", yesno(sigismember(&old, SIGUSR1)));

    raise(SIGUSR1);
    raise(SIGUSR1); /* standard signals do not queue */
    printf("hits while blocked: %d\n", (int)hits);
    sigpending(&pend);
    printf("pending SIGUSR1: %s, SIGUSR2: %s\n", yesno(sigismember(&pend, SIGUSR1)),
           yesno(sigismember(&pend, SIGUSR2)));

    sigset_t cur;
    CHECK(sigprocmask(SIG_SETMASK, NULL, &cur) == 0);
    printf("current mask has SIGUSR1: %s\n", yesno(sigismember(&cur, SIGUSR1)));

    CHECK(sigprocmask(SIG_UNBLOCK, &set, NULL) == 0);
    printf("hits after unblock: %d\n", (int)hits);
    sigpending(&pend);
    printf("pending SIGUSR1 after unblock: %s\n", yesno(sigismember(&pend, SIGUSR1)));

    /* SIGKILL and SIGSTOP cannot be blocked: silently dropped from the mask. */
    sigset_t ks;
    sigemptyset(&ks);
    sigaddset(&ks, SIGKILL);
    sigaddset(&ks, SIGSTOP);
    sigaddset(&ks, SIGUSR2);
    CHECK(sigprocmask(SIG_SETMASK, &ks, NULL) == 0);
    CHECK(sigprocmask(SIG_SETMASK, NULL, &cur) == 0);
    printf("mask has SIGKILL: %s SIGSTOP: %s SIGUSR2: %s\n", yesno(sigismember(&cur, SIGKILL)),
           yesno(sigismember(&cur, SIGSTOP)), yesno(sigismember(&cur, SIGUSR2)));

    /* Real-time signals queue: three sends, three deliveries. */
    signal(SIGRTMIN + 1, handler);
    sigaddset(&ks, SIGRTMIN + 1);
    CHECK(sigprocmask(SIG_SETMASK, &ks, NULL) == 0);
    hits = 0;
    for (int i = 0; i < 3; i++)
        raise(SIGRTMIN + 1);
    printf("rt hits while blocked: %d\n", (int)hits);
    sigemptyset(&ks);
    CHECK(sigprocmask(SIG_SETMASK, &ks, NULL) == 0);
    printf("rt hits after unblock: %d\n", (int)hits);

    /* The mask is inherited by fork and preserved across exec. */
    sigaddset(&ks, SIGUSR2);
    CHECK(sigprocmask(SIG_SETMASK, &ks, NULL) == 0);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        sigset_t m;
        sigprocmask(SIG_SETMASK, NULL, &m);
        _exit(sigismember(&m, SIGUSR2) ? 0 : 1);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    print_status("child inherits mask", st);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        /* grep itself (not a shell: dash resets its mask) reads its own status. */
        execl("/usr/bin/grep", "grep", "-q", "^SigBlk:.*800$", "/proc/self/status", (char *)NULL);
        _exit(127);
    }
    CHECK(waitpid(c, &st, 0) == c);
    print_status("exec keeps mask (SigBlk of SIGUSR2)", st);

    report("sigprocmask bad how", sigprocmask(12345, &ks, NULL));
    return 0;
}
