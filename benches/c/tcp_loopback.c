/* TCP over 127.0.0.1 between a forked server and its parent, the client:
 *
 *   tcp_loopback stream MIB   the client sends MIB MiB in 64 KiB writes,
 *                             the server reads them (64 KiB reads) and
 *                             answers one byte at the end; prints
 *                                 mb_per_s 1234.5
 *   tcp_loopback rr N         N request/response round trips of 64 bytes
 *                             each way (TCP_NODELAY); prints
 *                                 us_per_rr 12.3
 *
 * Timed with clock_gettime(CLOCK_MONOTONIC) in the client from its first
 * write to the last reply. */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int full(int fd, char *b, size_t n, int rd) {
    size_t d = 0;
    while (d < n) {
        ssize_t k = rd ? read(fd, b + d, n - d) : write(fd, b + d, n - d);
        if (k <= 0) return -1;
        d += (size_t)k;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3 || (strcmp(argv[1], "stream") && strcmp(argv[1], "rr"))) {
        fprintf(stderr, "usage: %s stream MIB | rr N\n", argv[0]);
        return 2;
    }
    int stream = strcmp(argv[1], "stream") == 0;
    long n = atol(argv[2]);
    if (n <= 0) return 2;
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 1) ||
        getsockname(ls, (struct sockaddr *)&a, &al)) {
        perror("listen");
        return 1;
    }
    static char buf[64 << 10];
    pid_t pid = fork();
    if (pid == 0) {
        int c = accept(ls, NULL, NULL);
        int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (stream) {
            long long left = (long long)n << 20;
            while (left > 0) {
                ssize_t k = read(c, buf, sizeof buf);
                if (k <= 0) _exit(1);
                left -= k;
            }
            _exit(write(c, "k", 1) == 1 ? 0 : 1);
        }
        for (long i = 0; i < n; i++)
            if (full(c, buf, 64, 1) || full(c, buf, 64, 0)) _exit(1);
        _exit(0);
    }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof a)) {
        perror("connect");
        return 1;
    }
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    memset(buf, 'x', sizeof buf);
    double t0 = now();
    if (stream) {
        for (long i = 0; i < n * 16; i++)
            if (full(s, buf, sizeof buf, 0)) return 1;
        if (read(s, buf, 1) != 1) return 1;
    } else {
        for (long i = 0; i < n; i++)
            if (full(s, buf, 64, 0) || full(s, buf, 64, 1)) return 1;
    }
    double dt = now() - t0;
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st)) return 1;
    if (stream)
        printf("mb_per_s %.1f\n", n * 1048576.0 / dt / 1e6);
    else
        printf("us_per_rr %.2f\n", dt / n * 1e6);
    return 0;
}
