/* A blocking pipe read interrupted by alarm(): EINTR without SA_RESTART,
 * transparently restarted with SA_RESTART. */
#include "common.h"

static volatile sig_atomic_t fired;
static int wfd = -1;

static void on_alarm(int sig) {
    (void)sig;
    fired++;
    if (wfd >= 0) {
        /* Feed the restarted read so it can complete. */
        ssize_t r = write(wfd, "R", 1);
        (void)r;
    }
}

static void run(int flags, const char *label) {
    int p[2];
    CHECK(pipe(p) == 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    fired = 0;
    wfd = (flags & SA_RESTART) ? p[1] : -1;
    alarm(1);
    char c = 0;
    errno = 0;
    ssize_t n = read(p[0], &c, 1);
    int e = errno;
    if (n < 0)
        printf("%s: read=-1 errno=%s fired=%d\n", label, errname(e), (int)fired);
    else
        printf("%s: read=%zd byte='%c' fired=%d\n", label, n, c, (int)fired);
    alarm(0);
    close(p[0]);
    close(p[1]);
}

int main(void) {
    setup();
    run(0, "no SA_RESTART");
    run(SA_RESTART, "SA_RESTART");

    /* alarm() returns the seconds left on a previous alarm. */
    signal(SIGALRM, SIG_IGN);
    alarm(100);
    unsigned left = alarm(0);
    printf("alarm remaining in (98,100]: %s\n", yesno(left > 98 && left <= 100));
    printf("alarm(0) with none pending: %u\n", alarm(0));
    return 0;
}
