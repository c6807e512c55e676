/* SIGPIPE on a broken pipe: default action kills the writer; ignored gives EPIPE. */
#include "common.h"

int main(void) {
    setup();
    int p[2];
    CHECK(pipe(p) == 0);
    close(p[0]);
    fflush(stdout);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        signal(SIGPIPE, SIG_DFL);
        sigset_t s;
        sigemptyset(&s);
        sigprocmask(SIG_SETMASK, &s, NULL);
        ssize_t r = write(p[1], "x", 1);
        (void)r;
        _exit(0); /* not reached */
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    print_status("writer to broken pipe", st);

    /* With SIGPIPE ignored the write fails with EPIPE. */
    signal(SIGPIPE, SIG_IGN);
    report("write with SIGPIPE ignored", write(p[1], "x", 1));

    /* With SIGPIPE caught, the handler runs and write returns EPIPE. */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGPIPE);
        sigprocmask(SIG_BLOCK, &s, NULL);
        signal(SIGPIPE, SIG_DFL);
        ssize_t r = write(p[1], "x", 1);
        int e = errno;
        sigset_t pend;
        sigpending(&pend);
        _exit(r < 0 && e == EPIPE && sigismember(&pend, SIGPIPE) ? 33 : 34);
    }
    CHECK(waitpid(c, &st, 0) == c);
    print_status("blocked SIGPIPE, EPIPE and pending", st);

    /* A real pipeline: reader exits early, writer dies of SIGPIPE. */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        signal(SIGPIPE, SIG_DFL);
        execl("/bin/sh", "sh", "-c", "/usr/bin/yes | /usr/bin/head -n 2 >/dev/null", (char *)NULL);
        _exit(127);
    }
    CHECK(waitpid(c, &st, 0) == c);
    print_status("yes | head -n 2", st);
    close(p[1]);
    return 0;
}
