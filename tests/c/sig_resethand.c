/* SA_RESETHAND: the handler runs once, then the action is SIG_DFL. */
#include "common.h"

static volatile sig_atomic_t hits;
static volatile int blocked_inside;

static void handler(int sig) {
    hits++;
    sigset_t m;
    sigprocmask(SIG_SETMASK, NULL, &m);
    blocked_inside = sigismember(&m, sig);
}

int main(void) {
    setup();
    struct sigaction sa, q;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    raise(SIGUSR1);
    printf("hits=%d, signal blocked inside the handler (Linux does not imply SA_NODEFER): %s\n", (int)hits, yesno(blocked_inside));
    CHECK(sigaction(SIGUSR1, NULL, &q) == 0);
    printf("after delivery action is SIG_DFL: %s\n", yesno(q.sa_handler == SIG_DFL));

    /* A second SIGUSR1 now kills: show it in a child. */
    fflush(stdout);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
        raise(SIGUSR1);
        raise(SIGUSR1);
        _exit(0);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    print_status("child raising twice", st);

    /* SA_RESETHAND on SIGINT in a child: first caught, second default. */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        CHECK(sigaction(SIGINT, &sa, NULL) == 0);
        hits = 0;
        raise(SIGINT);
        if (hits != 1)
            _exit(2);
        raise(SIGINT);
        _exit(3);
    }
    CHECK(waitpid(c, &st, 0) == c);
    print_status("SIGINT child", st);
    return 0;
}
