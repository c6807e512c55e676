/* fork + wait4 with exit statuses, signals, and rusage. */
#include "common.h"
#include <sys/resource.h>

static pid_t spawn_exit(int code) {
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0)
        _exit(code);
    return c;
}

int main(void) {
    setup();
    int codes[] = {0, 1, 3, 42, 255, 256 + 7};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        pid_t c = spawn_exit(codes[i]);
        int st = 0;
        struct rusage ru;
        pid_t r = wait4(c, &st, 0, &ru);
        printf("wait4 returned child pid: %s\n", yesno(r == c));
        char label[64];
        snprintf(label, sizeof label, "child exit(%d)", codes[i]);
        print_status(label, st);
    }

    /* Children killed by signals. */
    int sigs[] = {SIGKILL, SIGTERM, SIGUSR1, SIGABRT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        fflush(stdout);
        pid_t c = fork();
        CHECK(c >= 0);
        if (c == 0) {
            no_core();
            signal(sigs[i], SIG_DFL);
            raise(sigs[i]);
            _exit(100);
        }
        int st = 0;
        CHECK(wait4(c, &st, 0, NULL) == c);
        print_status("child raise", st);
    }

    /* Parent kills a child blocked in pause(). */
    int p[2];
    CHECK(pipe(p) == 0);
    fflush(stdout);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        close(p[0]);
        write_all(p[1], "r", 1);
        for (;;)
            pause();
    }
    close(p[1]);
    char ch;
    CHECK(read(p[0], &ch, 1) == 1);
    CHECK(kill(c, SIGTERM) == 0);
    int st = 0;
    CHECK(waitpid(c, &st, 0) == c);
    print_status("killed paused child", st);

    /* wait4(-1) collects children in any order: count them. */
    for (int i = 0; i < 5; i++)
        spawn_exit(10 + i);
    int sum = 0, n = 0;
    pid_t r;
    while ((r = wait4(-1, &st, 0, NULL)) > 0) {
        n++;
        sum += WEXITSTATUS(st);
    }
    printf("reaped %d children, status sum %d, final errno %s\n", n, sum, errname(errno));

    /* A grandchild: child forks and waits for its own child. */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        pid_t g = fork();
        if (g == 0)
            _exit(5);
        int gs;
        waitpid(g, &gs, 0);
        _exit(WEXITSTATUS(gs) + 1);
    }
    CHECK(waitpid(c, &st, 0) == c);
    print_status("child of grandchild(5)+1", st);
    return 0;
}
