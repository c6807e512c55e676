/* getpid round trip: calls syscall(SYS_getpid) N times (N = argv[1],
 * default 100000) and prints the mean cost per call, measured with
 * clock_gettime(CLOCK_MONOTONIC) around the loop:
 *
 *     ns_per_call 123.4
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    if (n <= 0) {
        fprintf(stderr, "usage: %s N (N > 0)\n", argv[0]);
        return 2;
    }
    volatile long sink = 0;
    struct timespec t0, t1;
    if (clock_gettime(CLOCK_MONOTONIC, &t0) != 0) {
        perror("clock_gettime");
        return 1;
    }
    for (long i = 0; i < n; i++)
        sink += syscall(SYS_getpid);
    if (clock_gettime(CLOCK_MONOTONIC, &t1) != 0) {
        perror("clock_gettime");
        return 1;
    }
    if (sink <= 0) {
        fprintf(stderr, "getpid returned %ld\n", sink / n);
        return 1;
    }
    double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    printf("ns_per_call %.1f\n", ns / (double)n);
    return 0;
}
