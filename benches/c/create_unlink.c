/* Create/unlink churn: in a fresh directory DIR (argv[1], made and removed
 * here), N (argv[2]) times: open(O_CREAT|O_EXCL|O_WRONLY) a new file,
 * write 4 KiB, close it, unlink it. Prints the mean cost of one
 * create+write+close+unlink, measured with clock_gettime(CLOCK_MONOTONIC):
 *
 *     us_per_file 12.3
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 2 ? atol(argv[2]) : 0;
    if (argc != 3 || n <= 0) {
        fprintf(stderr, "usage: %s DIR N (N > 0)\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    if (mkdir(dir, 0700) != 0) {
        perror(dir);
        return 1;
    }
    static char data[4096];
    memset(data, 'x', sizeof data);
    char path[4096];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/f%ld", dir, i);
        int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0) {
            perror(path);
            return 1;
        }
        if (write(fd, data, sizeof data) != (ssize_t)sizeof data) {
            perror("write");
            return 1;
        }
        if (close(fd) != 0 || unlink(path) != 0) {
            perror(path);
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rmdir(dir) != 0) {
        perror(dir);
        return 1;
    }
    double us = (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
    printf("us_per_file %.2f\n", us / (double)n);
    return 0;
}
