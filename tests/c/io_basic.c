/* write/read/readv/writev on pipes, EOF after the writer closes, stdout writes. */
#include "common.h"
#include <sys/uio.h>

int main(void) {
    setup();
    int p[2];
    CHECK(pipe(p) == 0);

    report("write 5", write(p[1], "hello", 5));
    char buf[64] = {0};
    report("read 64 of 5", read(p[0], buf, sizeof buf));
    printf("data: %s\n", buf);

    struct iovec wv[3] = {{"ab", 2}, {"cde", 3}, {"fghi", 4}};
    report("writev 3 iov", writev(p[1], wv, 3));
    char a[4] = {0}, b[8] = {0};
    struct iovec rv[2] = {{a, 3}, {b, 7}};
    report("readv 2 iov", readv(p[0], rv, 2));
    printf("readv parts: %s|%s\n", a, b);

    /* Short reads: 10 bytes read 3 at a time. */
    write_all(p[1], "0123456789", 10);
    for (int i = 0; i < 4; i++) {
        memset(buf, 0, sizeof buf);
        ssize_t n = read(p[0], buf, 3);
        printf("chunk %d: n=%zd '%s'\n", i, n, buf);
    }

    /* 64 KiB through the pipe with a child as the writer. */
    fflush(stdout);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        close(p[0]);
        char big[4096];
        for (int i = 0; i < 16; i++) {
            memset(big, 'a' + i, sizeof big);
            write_all(p[1], big, sizeof big);
        }
        _exit(0);
    }
    close(p[1]);
    size_t total = 0;
    unsigned long sum = 0;
    for (;;) {
        ssize_t n = read(p[0], buf, sizeof buf);
        CHECK(n >= 0);
        if (n == 0)
            break;
        total += (size_t)n;
        for (ssize_t i = 0; i < n; i++)
            sum += (unsigned char)buf[i];
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    printf("big transfer: %zu bytes, sum %lu\n", total, sum);
    report("read at EOF", read(p[0], buf, 1));
    close(p[0]);

    /* Direct write to stdout. */
    report("write to stdout", write(1, "direct line\n", 12));
    report("zero-length write", write(1, "", 0));
    return 0;
}
