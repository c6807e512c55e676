/* kill(0, sig) signals every process in the caller's process group;
 * kill(-pgid, sig) signals another group. */
#include "common.h"

static int wait_usr1(void) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    struct timespec ts = {10, 0};
    return sigtimedwait(&s, NULL, &ts);
}

int main(void) {
    setup();
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &s, NULL) == 0);

    fflush(stdout);
    pid_t leader = fork();
    CHECK(leader >= 0);
    if (leader == 0) {
        /* New group so that kill(0) never reaches the test harness. */
        CHECK(setpgid(0, 0) == 0);
        pid_t kids[3];
        for (int i = 0; i < 3; i++) {
            kids[i] = fork();
            if (kids[i] == 0)
                _exit(wait_usr1() == SIGUSR1 ? 10 + i : 90);
        }
        /* A child in a different group must not receive it. */
        int p[2];
        CHECK(pipe(p) == 0);
        pid_t outsider = fork();
        if (outsider == 0) {
            setpgid(0, 0);
            close(p[0]);
            write_all(p[1], "x", 1);
            sigset_t t;
            sigemptyset(&t);
            sigaddset(&t, SIGUSR1);
            struct timespec ts = {0, 200 * 1000 * 1000};
            _exit(sigtimedwait(&t, NULL, &ts) < 0 && errno == EAGAIN ? 50 : 51);
        }
        close(p[1]);
        char ch;
        CHECK(read(p[0], &ch, 1) == 1);
        CHECK(kill(0, SIGUSR1) == 0);
        int self = wait_usr1() == SIGUSR1;
        int sum = 0;
        for (int i = 0; i < 3; i++) {
            int st;
            CHECK(waitpid(kids[i], &st, 0) == kids[i]);
            printf("group member %d: exit %d\n", i, WEXITSTATUS(st));
        }
        int st;
        CHECK(waitpid(outsider, &st, 0) == outsider);
        printf("outsider: exit %d\n", WEXITSTATUS(st));
        printf("leader got its own signal: %s\n", yesno(self));
        fflush(stdout);
        _exit(sum);
    }
    int st;
    CHECK(waitpid(leader, &st, 0) == leader);
    print_status("leader", st);

    /* kill(-pgid) from outside the group. */
    fflush(stdout);
    pid_t g = fork();
    if (g == 0) {
        setpgid(0, 0);
        signal(SIGUSR1, SIG_DFL);
        sigprocmask(SIG_UNBLOCK, &s, NULL);
        for (;;)
            pause();
    }
    setpgid(g, g); /* avoid racing the child's own setpgid */
    report("kill(-pgid, SIGUSR1)", kill(-g, SIGUSR1));
    CHECK(waitpid(g, &st, 0) == g);
    print_status("group killed", st);
    report("kill(-pgid) of a vanished group", kill(-g, SIGUSR1));
    return 0;
}
