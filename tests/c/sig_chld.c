/* SIGCHLD is delivered to the parent when a child exits, with siginfo. */
#include "common.h"

static volatile sig_atomic_t chld_count, code, status;
static volatile pid_t from;

static void on_chld(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    chld_count++;
    code = si->si_code;
    status = si->si_status;
    from = si->si_pid;
}

int main(void) {
    setup();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGCHLD, &sa, NULL) == 0);

    sigset_t blk, empty;
    sigemptyset(&blk);
    sigaddset(&blk, SIGCHLD);
    sigemptyset(&empty);
    CHECK(sigprocmask(SIG_BLOCK, &blk, NULL) == 0);

    fflush(stdout);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0)
        _exit(23);
    while (chld_count == 0)
        sigsuspend(&empty);
    printf("SIGCHLD count=%d code CLD_EXITED: %s status=%d from child: %s\n", (int)chld_count,
           yesno(code == CLD_EXITED), (int)status, yesno(from == c));
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    print_status("child", st);

    /* Killed child: CLD_KILLED with the signal as status. */
    chld_count = 0;
    fflush(stdout);
    c = fork();
    if (c == 0) {
        for (;;)
            pause();
    }
    kill(c, SIGKILL);
    while (chld_count == 0)
        sigsuspend(&empty);
    printf("killed: code CLD_KILLED: %s status is SIGKILL: %s\n", yesno(code == CLD_KILLED), yesno(status == SIGKILL));
    waitpid(c, &st, 0);

    /* SA_NOCLDWAIT / SIG_IGN for SIGCHLD: children are reaped automatically. */
    signal(SIGCHLD, SIG_IGN);
    CHECK(sigprocmask(SIG_UNBLOCK, &blk, NULL) == 0);
    fflush(stdout);
    c = fork();
    if (c == 0)
        _exit(0);
    int r = waitpid(c, &st, 0);
    printf("wait with SIGCHLD ignored: ret=%d errno=%s\n", r < 0 ? -1 : 0, r < 0 ? errname(errno) : "-");
    return 0;
}
