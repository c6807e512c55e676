/* Random 4 KiB reads: opens FILE (argv[1]) read-only and makes N
 * (argv[2]) pread(2) calls of 4096 bytes at pseudo-random 4 KiB-aligned
 * offsets inside it (xorshift, fixed seed), then prints the mean cost per
 * call, measured with clock_gettime(CLOCK_MONOTONIC) around the loop:
 *
 *     us_per_op 1.23
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 2 ? atol(argv[2]) : 0;
    if (argc != 3 || n <= 0) {
        fprintf(stderr, "usage: %s FILE N (N > 0)\n", argv[0]);
        return 2;
    }
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < 4096) {
        fprintf(stderr, "%s: too small\n", argv[1]);
        return 1;
    }
    uint64_t blocks = (uint64_t)st.st_size / 4096, x = 88172645463325252ULL;
    static char buf[4096];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        off_t off = (off_t)((x % blocks) * 4096);
        if (pread(fd, buf, sizeof buf, off) != (ssize_t)sizeof buf) {
            perror("pread");
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us = (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
    printf("us_per_op %.3f\n", us / (double)n);
    return 0;
}
