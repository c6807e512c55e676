/* sigsuspend: atomically unblock and wait, handler runs, mask restored. */
#include "common.h"

static volatile sig_atomic_t got;
static void handler(int sig) { got = sig; }

int main(void) {
    setup();
    signal(SIGUSR1, handler);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &block, &old) == 0);

    fflush(stdout);
    pid_t parent = getpid();
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        usleep(20000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    sigset_t wait_mask;
    sigemptyset(&wait_mask);
    int r = sigsuspend(&wait_mask);
    int e = errno;
    printf("sigsuspend ret=%d errno=%s handler got %s\n", r, errname(e), got ? sigabbrev_np(got) : "none");

    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    printf("mask restored (SIGUSR1 blocked again): %s\n", yesno(sigismember(&now, SIGUSR1)));
    int st;
    CHECK(waitpid(c, &st, 0) == c);

    /* A signal already pending when sigsuspend is called is delivered at once. */
    got = 0;
    raise(SIGUSR1);
    printf("pending before sigsuspend, handler ran yet: %s\n", yesno(got != 0));
    r = sigsuspend(&wait_mask);
    printf("second sigsuspend ret=%d errno=%s got=%s\n", r, errname(errno), got ? sigabbrev_np(got) : "none");

    /* pause() returns after a handler runs. */
    sigprocmask(SIG_SETMASK, &old, NULL);
    got = 0;
    fflush(stdout);
    c = fork();
    if (c == 0) {
        /* Keep signalling: a single early signal could arrive before the
         * parent reaches pause() and leave it waiting forever. */
        for (;;) {
            usleep(20000);
            kill(parent, SIGUSR1);
        }
    }
    r = pause();
    e = errno;
    kill(c, SIGKILL);
    printf("pause ret=%d errno=%s got=%s\n", r, errname(e), got ? sigabbrev_np(got) : "none");
    waitpid(c, &st, 0);
    return 0;
}
