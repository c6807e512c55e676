/* fork + exec + wait: N times (N = argv[1], default 100), fork a child
 * that execs PROG (argv[2], default /bin/true) and wait for it; prints the
 * mean cost per iteration, measured with clock_gettime(CLOCK_MONOTONIC):
 *
 *     us_per_iter 456.7
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100;
    const char *prog = argc > 2 ? argv[2] : "/bin/true";
    if (n <= 0) {
        fprintf(stderr, "usage: %s N [PROG] (N > 0)\n", argv[0]);
        return 2;
    }
    struct timespec t0, t1;
    if (clock_gettime(CLOCK_MONOTONIC, &t0) != 0) {
        perror("clock_gettime");
        return 1;
    }
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            char *const args[] = {(char *)prog, NULL};
            execv(prog, args);
            _exit(127);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid) {
            perror("waitpid");
            return 1;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "iteration %ld: %s ended with status 0x%x\n", i, prog, status);
            return 1;
        }
    }
    if (clock_gettime(CLOCK_MONOTONIC, &t1) != 0) {
        perror("clock_gettime");
        return 1;
    }
    double us = (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
    printf("us_per_iter %.1f\n", us / (double)n);
    return 0;
}
