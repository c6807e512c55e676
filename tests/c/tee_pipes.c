/* tee(2) between pipes: data duplicated without being consumed, partial
 * and empty cases, blocking until data arrives, a full output, EPIPE with
 * SIGPIPE, and the argument checks. */
#define _GNU_SOURCE
#include "common.h"
#include <fcntl.h>

static void show(const char *label, ssize_t r) {
    if (r < 0)
        printf("%s: %s\n", label, errname(errno));
    else
        printf("%s: %zd\n", label, r);
}

static const char *drain(int fd) {
    static char b[256];
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    ssize_t n = read(fd, b, sizeof b - 1);
    fcntl(fd, F_SETFL, fl);
    b[n < 0 ? 0 : n] = 0;
    return b;
}

int main(void) {
    setup();
    signal(SIGPIPE, SIG_IGN);
    int a[2], b[2];
    CHECK(pipe(a) == 0 && pipe(b) == 0);
    write_all(a[1], "hello world", 11);
    show("tee 5", tee(a[0], b[1], 5, 0));
    printf("  out has '%s'\n", drain(b[0]));
    show("tee 100", tee(a[0], b[1], 100, 0));
    printf("  out has '%s'\n", drain(b[0]));
    printf("  input still has '%s'\n", drain(a[0]));

    show("empty input, nonblock flag", tee(a[0], b[1], 10, SPLICE_F_NONBLOCK));
    int fl = fcntl(a[0], F_GETFL);
    fcntl(a[0], F_SETFL, fl | O_NONBLOCK);
    show("empty input, O_NONBLOCK", tee(a[0], b[1], 10, 0));
    fcntl(a[0], F_SETFL, fl);

    /* Blocks until a child writes. */
    pid_t c = fork();
    if (c == 0) {
        usleep(100000);
        write_all(a[1], "late", 4);
        _exit(0);
    }
    show("blocking tee", tee(a[0], b[1], 64, 0));
    int st;
    waitpid(c, &st, 0);
    printf("  out has '%s', input has '%s'\n", drain(b[0]), drain(a[0]));

    /* Full output. */
    char page[4096];
    memset(page, 'x', sizeof page);
    int fb = fcntl(b[1], F_GETFL);
    fcntl(b[1], F_SETFL, fb | O_NONBLOCK);
    int pages = 0;
    while (write(b[1], page, sizeof page) == (ssize_t)sizeof page)
        pages++;
    fcntl(b[1], F_SETFL, fb);
    printf("output filled with %d pages\n", pages);
    write_all(a[1], "more", 4);
    show("tee into full pipe", tee(a[0], b[1], 4, SPLICE_F_NONBLOCK));
    char sink[4096];
    CHECK(read(b[0], sink, sizeof sink) == (ssize_t)sizeof sink);
    show("tee after a page was read", tee(a[0], b[1], 4, SPLICE_F_NONBLOCK));
    while (read(b[0], sink, sizeof sink) == (ssize_t)sizeof sink)
        ;
    drain(a[0]);

    /* Errors. */
    show("len 0 with bad fds", tee(99, 98, 0, 0));
    show("bad flags", tee(a[0], b[1], 1, 0x100));
    show("bad fd", tee(99, b[1], 1, 0));
    show("same pipe", tee(a[0], a[1], 1, 0));
    show("input is a write end", tee(a[1], b[1], 1, 0));
    show("output is a read end", tee(a[0], b[0], 1, 0));
    int f = open("/dev/null", O_RDWR);
    show("file as input", tee(f, b[1], 1, 0));
    show("file as output", tee(a[0], f, 1, 0));

    /* Input without writers: 0; output without readers: EPIPE. */
    close(a[1]);
    show("empty input, no writers", tee(a[0], b[1], 1, 0));
    int c2[2];
    CHECK(pipe(c2) == 0);
    write_all(c2[1], "z", 1);
    close(b[0]);
    show("output without readers", tee(c2[0], b[1], 1, 0));
    return 0;
}
